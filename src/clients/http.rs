//! The shared outbound HTTP client (rustls, bounded timeouts, one connection pool per process),
//! the retry [`backoff`] every provider client uses, and the [`Transport`] of the payment
//! providers (retries, a timeout per attempt, capped answers).

use std::time::Duration;

use reqwest::{StatusCode, header};

use crate::config::PaymentSettings;

/// A client with connect and request timeouts, so a slow provider never pins a worker.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("waba-bot/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()?)
}

/// The largest answer read from a payment provider; a larger one is not read at all.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The longest wait before a retry, whatever `Retry-After` asks.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// Statuses of a provider that is busy or briefly broken (502 is what a proxy in front of it
/// answers meanwhile).
const RETRIED_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// An HTTP answer, its body read (at most [`MAX_BODY_BYTES`]).
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// Sends a payment provider's requests: one attempt takes at most the settings' timeout; no
/// connection, 429, 500, 502, 503 and 504 are tried again up to `max_retries` times with
/// [`backoff`] (or the `Retry-After` asked for, at most 30 s); answers are read up to 1 MiB.
pub struct Transport {
    pub http: reqwest::Client,
    timeout: Duration,
    max_retries: u32,
    retry_base: Duration,
    /// Names the provider in logs.
    provider: &'static str,
}

/// How one attempt failed.
enum Failure {
    /// Another attempt may succeed: what happened, and the delay the provider asked for.
    Transient {
        detail: String,
        retry_after: Option<Duration>,
    },
    /// Another attempt would fail the same way.
    Final(String),
}

impl Transport {
    pub fn new(http: reqwest::Client, settings: &PaymentSettings, provider: &'static str) -> Self {
        Self {
            http,
            timeout: settings.timeout,
            max_retries: settings.max_retries,
            retry_base: settings.retry_base,
            provider,
        }
    }

    /// The answer to the request `build` makes, built afresh for every attempt (with the same
    /// headers, so one idempotency key covers them all); any status but a retried one is an
    /// answer. `Err`: why there is none, after the retries.
    pub async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder + Send + Sync,
    ) -> Result<Answer, String> {
        let mut attempt = 0;
        loop {
            let (detail, retry_after) = match self.attempt(build()).await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Final(detail)) => return Err(detail),
                Err(Failure::Transient {
                    detail,
                    retry_after,
                }) => (detail, retry_after),
            };
            if attempt >= self.max_retries {
                return Err(detail);
            }
            let delay = retry_after
                .map(|asked| asked.min(MAX_RETRY_DELAY))
                .unwrap_or_else(|| backoff(self.retry_base, MAX_RETRY_DELAY, attempt));
            attempt += 1;
            tracing::warn!(
                provider = self.provider,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                %detail,
                "the payment provider did not answer; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> Result<Answer, Failure> {
        let response = request
            .timeout(self.timeout)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| {
                // A request that cannot be built (a header value with a line break) never will be.
                if err.is_builder() {
                    Failure::Final(describe(err))
                } else {
                    Failure::Transient {
                        detail: describe(err),
                        retry_after: None,
                    }
                }
            })?;
        let status = response.status();
        if RETRIED_STATUSES.contains(&status.as_u16()) {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(Failure::Transient {
                detail: format!("HTTP {}", status.as_u16()),
                retry_after,
            });
        }
        let body = read_capped(response).await?;
        Ok(Answer { status, body })
    }
}

/// A transport error with its causes (reqwest's own message names only the URL).
fn describe(err: reqwest::Error) -> String {
    format!("{:#}", anyhow::Error::from(err))
}

/// The body, at most [`MAX_BODY_BYTES`]: a provider that sends more is not read further.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let too_large = || Failure::Final(format!("an answer larger than {MAX_BODY_BYTES} bytes"));
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| Failure::Transient {
        detail: describe(err),
        retry_after: None,
    })? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The wait before retry `retry` (0 for the first): `base·2^retry` plus a jitter below `base`, so
/// instances that failed together do not come back together, never more than `max`.
pub fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let exponential = base.saturating_mul(2u32.saturating_pow(retry));
    let jitter = match u64::try_from(base.as_nanos()) {
        Ok(nanos) if nanos > 0 => Duration::from_nanos(rand::random_range(0..nanos)),
        _ => Duration::ZERO,
    };
    exponential.saturating_add(jitter).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_below_the_base_and_is_capped() {
        let base = Duration::from_millis(1000);
        let max = Duration::from_millis(10_000);
        for _ in 0..100 {
            let first = backoff(base, max, 0);
            assert!(first >= base && first < base * 2, "{first:?}");
            let third = backoff(base, max, 2);
            assert!(third >= base * 4 && third < base * 5, "{third:?}");
            assert_eq!(backoff(base, max, 4), max);
            assert_eq!(backoff(base, max, 40), max);
        }
        assert_eq!(backoff(Duration::ZERO, max, 3), Duration::ZERO);
    }
}
