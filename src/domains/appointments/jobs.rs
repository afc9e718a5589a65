//! Scheduled work of the appointments domain.

use chrono::{DateTime, Utc};

use super::service;
use crate::{jobs::CronJob, state::AppState};

/// Cancels unpaid PENDING bookings past their tenant's hold window, every minute. Every instance
/// runs it; the conditional update makes concurrent runs harmless.
pub struct ExpireUnpaidHolds;

impl CronJob for ExpireUnpaidHolds {
    const NAME: &'static str = "expire_unpaid_holds";
    const SCHEDULE: &'static str = "0 * * * * *";
    type Context = AppState;

    async fn run(state: AppState, now: DateTime<Utc>) -> anyhow::Result<()> {
        let expired = service::expire_unpaid_holds(&state, now).await?;
        if expired > 0 {
            tracing::info!(expired, "canceled unpaid bookings past their hold window");
        }
        Ok(())
    }
}
