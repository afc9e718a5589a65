//! Jobs of the WhatsApp channel (their payloads are in `model`, which the service enqueues).

use chrono::{DateTime, Utc};

pub use super::model::{IngestDelivery, ProcessInbound, SendMessages};
use super::service;
use crate::{
    jobs::{CronJob, Job},
    state::AppState,
};

impl Job for IngestDelivery {
    const QUEUE: &'static str = "whatsapp_ingest_delivery";
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        if let Some(intake) = service::ingest(&state, self.delivery).await? {
            tracing::debug!(delivery = %self.delivery, ?intake, "WhatsApp delivery ingested");
        }
        Ok(())
    }
}

/// Marks the message read on WhatsApp, then answers the conversation. Safe to run again:
/// marking read twice changes nothing, and a turn answers each message once. It waits on Meta
/// and, in the AI mode, on the language model (seconds): many run at once.
impl Job for ProcessInbound {
    const QUEUE: &'static str = "whatsapp_process_inbound";
    const WAITS_ON_PROVIDERS: bool = true;
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        service::process_inbound(&state, self.message).await
    }
}

/// Sends the conversation's queued messages in order. Safe to run again and concurrently: each
/// message is claimed on its row before it is sent.
impl Job for SendMessages {
    const QUEUE: &'static str = "whatsapp_send_messages";
    const WAITS_ON_PROVIDERS: bool = true;
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        service::send_queued(&state, self.conversation).await
    }
}

/// Deletes ingested webhook deliveries past their retention, daily, so they do not pile up.
/// Idempotent: every instance runs it, and a row deleted elsewhere is simply not counted here.
pub struct PurgeDeliveries;

impl CronJob for PurgeDeliveries {
    const NAME: &'static str = "whatsapp_purge_deliveries";
    const SCHEDULE: &'static str = "0 41 3 * * *";
    type Context = AppState;

    async fn run(state: AppState, now: DateTime<Utc>) -> anyhow::Result<()> {
        let purged = service::purge_deliveries(&state, now).await?;
        if purged > 0 {
            tracing::info!(purged, "deleted ingested WhatsApp webhook deliveries");
        }
        Ok(())
    }
}
