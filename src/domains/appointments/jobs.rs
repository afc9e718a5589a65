//! Scheduled work of the appointments domain.

use apalis::prelude::{BoxDynError, Data};
use apalis_cron::Tick;
use chrono::Utc;

use super::service;
use crate::state::AppState;

/// Cron expression (with seconds) of [`expire_unpaid_holds`]: every minute.
pub const EXPIRE_UNPAID_HOLDS_SCHEDULE: &str = "0 * * * * *";

/// Cancels unpaid PENDING bookings past their tenant's hold window. Every instance runs it; the
/// conditional update makes concurrent runs harmless.
pub async fn expire_unpaid_holds(_tick: Tick, state: Data<AppState>) -> Result<(), BoxDynError> {
    let expired = service::expire_unpaid_holds(&state, Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!(e.public_message()))?;
    if expired > 0 {
        tracing::info!(expired, "canceled unpaid bookings past their hold window");
    }
    state.metrics.record_job("expire_unpaid_holds", "ok");
    Ok(())
}
