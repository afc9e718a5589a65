//! The shared outbound HTTP client: rustls, bounded timeouts, one connection pool per process.

use std::time::Duration;

/// A client with connect and request timeouts, so a slow provider never pins a worker.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("waba-bot/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()?)
}
