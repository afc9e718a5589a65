//! `AppState`: everything a request handler, resolver or job needs, cheap to clone.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    broker::Broker,
    clients::Clients,
    config::Settings,
    jobs::Jobs,
    kernel::{assistant::Assistant, clock::Clock, crypto::Cipher, jwt::JwtKeys},
    metrics::Metrics,
    rate_limit::RateLimiter,
};

/// Shared application state (also the context of every job).
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub metrics: Metrics,
    pub broker: Broker,
    pub rate_limiter: RateLimiter,
    /// Present when `REDIS_URL` is configured; readiness checks it.
    pub redis: Option<fred::clients::Client>,
    pub cipher: Cipher,
    pub jwt: JwtKeys,
    pub clients: Clients,
    pub jobs: Jobs,
    /// What time-dependent rules read as now (tests move it forward).
    pub clock: Clock,
    /// Answers the customers of tenants in the `AI` bot mode.
    pub assistant: Arc<dyn Assistant<AppState>>,
}

impl crate::jobs::HasJobs for AppState {
    fn jobs(&self) -> &Jobs {
        &self.jobs
    }
}

impl AppState {
    /// This state for background work (jobs, and what runs right after a commit): on the
    /// worker's pool, so it never starves requests of connections.
    pub fn in_background(&self) -> Self {
        Self {
            db: self.jobs.db().clone(),
            ..self.clone()
        }
    }
}
