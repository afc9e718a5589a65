//! Jobs of the WhatsApp channel (their payloads are in `model`, which the service enqueues).

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

pub use super::model::{IngestDelivery, ProcessInbound, SendMessages};
use super::{repo, service};
use crate::{
    clients::meta_graph::GraphError,
    domains::tenants,
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

/// Marks the message read on WhatsApp (the customer sees that the business got it). Safe to run
/// again: marking read twice changes nothing.
impl Job for ProcessInbound {
    const QUEUE: &'static str = "whatsapp_process_inbound";
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        let Some((tenant, wamid)) = repo::find_inbound(&state.db, self.message).await? else {
            return Ok(());
        };
        let Some(sender) = tenants::service::whatsapp_sender(&state, tenant).await? else {
            tracing::info!(%tenant, "WhatsApp disconnected since the message arrived; not marking it read");
            return Ok(());
        };
        let marked = state
            .clients
            .meta_graph
            .mark_read(
                sender.token.expose_secret(),
                &sender.phone_number_id,
                &wamid,
            )
            .await;
        match marked {
            Ok(()) => Ok(()),
            // Meta will not change its mind on a retry (a revoked token, an unknown message).
            Err(GraphError::Refused { code, message }) => {
                tracing::warn!(%tenant, ?code, message, "Meta refused to mark a message read");
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// Sends the conversation's queued messages in order. Safe to run again and concurrently: each
/// message is claimed on its row before it is sent.
impl Job for SendMessages {
    const QUEUE: &'static str = "whatsapp_send_messages";
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
