//! Fixed-window rate limits, shared across instances through Redis when it is configured and
//! connected, otherwise (or while Redis is down) counted in process. A disconnected client is
//! skipped at once rather than waited on, so an outage never slows requests down.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use fred::{
    clients::Client,
    interfaces::{ClientLike, KeysInterface},
};

use crate::kernel::error::AppError;

/// Counts hits per key and refuses them past a limit within a window.
#[derive(Clone)]
pub struct RateLimiter {
    redis: Option<(Client, String)>,
    local: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

impl RateLimiter {
    pub fn new(redis: Option<Client>, prefix: &str) -> Self {
        Self {
            redis: redis.map(|c| (c, format!("{prefix}:rl:"))),
            local: Arc::default(),
        }
    }

    /// Records one hit on `key`; `RATE_LIMITED` once more than `limit` hits fall in `window`.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<(), AppError> {
        if let Some((client, prefix)) = self
            .redis
            .as_ref()
            .filter(|(client, _)| client.is_connected())
        {
            match Self::hit_redis(client, &format!("{prefix}{key}"), window).await {
                Ok((count, ttl)) => return Self::verdict(count, limit, ttl),
                Err(err) => {
                    tracing::warn!(%err, "Redis rate limit unavailable; counting in process")
                }
            }
        }
        let (count, ttl) = self.hit_local(key, window);
        Self::verdict(count, limit, ttl)
    }

    fn verdict(count: u32, limit: u32, retry_after: Duration) -> Result<(), AppError> {
        if count > limit {
            Err(AppError::RateLimited {
                retry_after_secs: retry_after.as_secs().max(1),
            })
        } else {
            Ok(())
        }
    }

    async fn hit_redis(
        client: &Client,
        key: &str,
        window: Duration,
    ) -> Result<(u32, Duration), fred::error::Error> {
        let count: u32 = client.incr(key).await?;
        if count == 1 {
            let secs = i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX);
            client.expire::<(), _>(key, secs, None).await?;
        }
        let ttl: i64 = client.ttl(key).await?;
        if ttl < 0 {
            // A key without expiry (crash between INCR and EXPIRE) would block forever.
            let secs = i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX);
            client.expire::<(), _>(key, secs, None).await?;
            return Ok((count, window));
        }
        Ok((count, Duration::from_secs(u64::try_from(ttl).unwrap_or(0))))
    }

    fn hit_local(&self, key: &str, window: Duration) -> (u32, Duration) {
        let now = Instant::now();
        // A panic elsewhere while holding the lock leaves counts that are still counts.
        let mut map = self
            .local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 10_000 {
            map.retain(|_, (_, start)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= window {
            *entry = (0, now);
        }
        entry.0 += 1;
        (entry.0, window.saturating_sub(now.duration_since(entry.1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_past_the_limit_in_process() {
        let limiter = RateLimiter::new(None, "t");
        for _ in 0..3 {
            limiter
                .hit("login:a", 3, Duration::from_secs(60))
                .await
                .unwrap();
        }
        let err = limiter
            .hit("login:a", 3, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::RateLimited { .. }));
        limiter
            .hit("login:b", 3, Duration::from_secs(60))
            .await
            .unwrap();
    }
}
