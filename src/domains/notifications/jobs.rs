//! Jobs of customer notices: the notice of an appointment change (its payload is the
//! appointments domain's, written with the change) and the reminders cron.

use chrono::{DateTime, Utc};

use super::service;
use crate::{
    domains::appointments::model::AppointmentNotice,
    jobs::{CronJob, Job},
    state::AppState,
};

/// Safe to run again: the notice's unique row sends it once.
impl Job for AppointmentNotice {
    const QUEUE: &'static str = "notifications_appointment_notice";
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        Ok(service::appointment_changed(&state, self).await?)
    }
}

/// Sends due reminders every five minutes, on every instance (each reminder's row is unique).
pub struct SendReminders;

impl CronJob for SendReminders {
    const NAME: &'static str = "notifications_send_reminders";
    const SCHEDULE: &'static str = "0 */5 * * * *";
    type Context = AppState;

    async fn run(state: AppState, now: DateTime<Utc>) -> anyhow::Result<()> {
        let sent = service::send_reminders(&state, now).await?;
        if sent > 0 {
            tracing::info!(sent, "sent appointment reminders");
        }
        Ok(())
    }
}
