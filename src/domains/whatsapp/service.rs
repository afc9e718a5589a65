//! Intake of what Meta delivers. A signed delivery is stored as received, with the job that
//! ingests it, and acknowledged; the job reads every entry, change and message and stores each
//! inbound message once.

use chrono::{DateTime, Duration, Utc};

use super::{
    model::{Envelope, Inbound, IngestDelivery, MessagesValue, ProcessInbound},
    repo,
};
use crate::{
    db,
    domains::{customers, tenants},
    jobs,
    kernel::{
        error::AppResult,
        ids::{TenantId, WebhookDeliveryId},
    },
    state::AppState,
};

/// What one webhook delivery amounted to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Intake {
    /// New inbound messages stored.
    pub stored: usize,
    /// Messages stored before (Meta redelivers).
    pub duplicates: usize,
    /// Elements that could not be used: malformed, for an unknown number, an unknown field.
    pub skipped: usize,
}

/// Keeps a signed delivery (`body`, checked to be a WhatsApp payload) with the job that ingests
/// it, in one transaction: once this returns, nothing Meta sent can be lost.
pub async fn accept(state: &AppState, body: String) -> AppResult<()> {
    let txn = db::begin_write(&state.db).await?;
    let delivery = repo::insert_delivery(&txn, body, Utc::now()).await?;
    jobs::enqueue(&txn, &IngestDelivery { delivery }).await?;
    txn.commit().await?;
    state.jobs.wake();
    Ok(())
}

/// Stores the messages of delivery `id` (the job's work); a delivery already ingested is left
/// alone, and one interrupted half-way is ingested again (messages stored before are skipped).
pub async fn ingest(state: &AppState, id: WebhookDeliveryId) -> AppResult<Option<Intake>> {
    let Some(body) = repo::find_unprocessed_delivery(&state.db, id).await? else {
        return Ok(None);
    };
    let intake = match serde_json::from_str::<Envelope>(&body) {
        Ok(envelope) => receive(state, envelope).await?,
        // The webhook checked it; only a change of this code could get here.
        Err(err) => {
            tracing::error!(%err, %id, "a stored WhatsApp delivery does not parse");
            Intake::default()
        }
    };
    repo::mark_delivery_processed(&state.db, id, Utc::now()).await?;
    Ok(Some(intake))
}

/// How long a delivery is kept once its messages are stored (audit, and replaying it by hand).
pub const DELIVERY_RETENTION_DAYS: i64 = 30;

/// Deletes the deliveries ingested more than [`DELIVERY_RETENTION_DAYS`] before `now`; how many.
/// One not ingested yet is never deleted.
pub async fn purge_deliveries(state: &AppState, now: DateTime<Utc>) -> AppResult<u64> {
    let before = now - Duration::days(DELIVERY_RETENTION_DAYS);
    Ok(repo::delete_processed_deliveries(&state.db, before).await?)
}

/// Stores every inbound message of `envelope`. What cannot be used is logged and skipped, never
/// refused: a refusal makes Meta retry the whole batch for days.
async fn receive(state: &AppState, envelope: Envelope) -> AppResult<Intake> {
    let mut intake = Intake::default();
    for change in envelope.entry.into_iter().flat_map(|entry| entry.changes) {
        if change.field != "messages" {
            tracing::warn!(field = %change.field, "ignoring a WhatsApp webhook field");
            intake.skipped += 1;
            continue;
        }
        let value: MessagesValue = match serde_json::from_value(change.value) {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(%err, "ignoring a malformed WhatsApp messages change");
                intake.skipped += 1;
                continue;
            }
        };
        let Some(metadata) = &value.metadata else {
            tracing::warn!("ignoring a WhatsApp messages change without metadata");
            intake.skipped += 1;
            continue;
        };
        let tenant =
            tenants::service::find_by_phone_number_id(&state.db, &metadata.phone_number_id).await?;
        let Some(tenant) = tenant else {
            tracing::warn!(phone_number_id = %metadata.phone_number_id, "ignoring WhatsApp messages to a number no tenant connected");
            intake.skipped += value.messages.len();
            continue;
        };
        for raw in &value.messages {
            let inbound = match Inbound::parse(raw) {
                Ok(inbound) => inbound,
                Err(reason) => {
                    tracing::warn!(reason, "skipping a malformed WhatsApp message");
                    intake.skipped += 1;
                    continue;
                }
            };
            let name = value
                .contacts
                .iter()
                .find(|contact| Some(contact.wa_id.as_str()) == raw["from"].as_str())
                .and_then(|contact| contact.profile.as_ref()?.name.as_deref());
            if store(state, tenant.id, &inbound, name).await? {
                intake.stored += 1;
            } else {
                intake.duplicates += 1;
            }
        }
        if !value.statuses.is_empty() {
            // Statuses describe outbound messages, which land with sending.
            tracing::debug!(count = value.statuses.len(), "WhatsApp statuses received");
        }
    }
    Ok(intake)
}

/// Stores `inbound` for `tenant` with its customer (found or created by phone, named after the
/// WhatsApp profile) and conversation, with the job that processes it, in one transaction;
/// `false` when it was stored before.
async fn store(
    state: &AppState,
    tenant: TenantId,
    inbound: &Inbound,
    name: Option<&str>,
) -> AppResult<bool> {
    let now = Utc::now();
    let txn = db::begin_write(&state.db).await?;
    let customer =
        customers::service::find_or_create_by_phone(&txn, tenant, &inbound.from, name).await?;
    let conversation = repo::find_or_insert_conversation(&txn, tenant, customer.id, now).await?;
    let stored = repo::insert_inbound(&txn, tenant, conversation, inbound, now).await?;
    if let Some(message) = stored {
        repo::record_inbound(&txn, conversation, inbound.sent_at, now).await?;
        jobs::enqueue(&txn, &ProcessInbound { message }).await?;
    }
    txn.commit().await?;
    if stored.is_some() {
        state.jobs.wake();
    }
    Ok(stored.is_some())
}
