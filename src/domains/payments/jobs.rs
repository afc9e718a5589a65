//! Jobs of the payments domain (payloads in `model`).

use chrono::{DateTime, Utc};

pub use super::model::SendPaymentLink;
use super::service;
use crate::{
    jobs::{CronJob, Job},
    state::AppState,
};

/// Sends the payment link of a booking the customer made on WhatsApp, when the tenant asks for
/// payment. Safe to run again: the link is reused while pending, and a booking that no longer
/// needs paying (paid, canceled, free) is skipped.
impl Job for SendPaymentLink {
    const QUEUE: &'static str = "payments_send_link";
    const WAITS_ON_PROVIDERS: bool = true;
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        service::send_link_after_booking(&state, self.tenant_id, self.appointment_id).await?;
        Ok(())
    }
}

/// Renews Mercado Pago tokens before they expire, hourly. Every instance runs it; a renewal
/// another instance made first is seen as not expiring anymore.
pub struct RefreshMercadoPagoTokens;

impl CronJob for RefreshMercadoPagoTokens {
    const NAME: &'static str = "payments_refresh_mercado_pago_tokens";
    const SCHEDULE: &'static str = "0 17 * * * *";
    type Context = AppState;

    async fn run(state: AppState, now: DateTime<Utc>) -> anyhow::Result<()> {
        let renewed = service::refresh_expiring_tokens(&state, now).await?;
        if renewed > 0 {
            tracing::info!(renewed, "renewed Mercado Pago tokens");
        }
        Ok(())
    }
}

pub use super::model::{OfferNewPaymentLink, ReconcileNotification};

/// Reconciles a stored provider notification: the provider is asked, the payment and its booking
/// follow. Safe to run again: a processed notification is skipped and every effect follows a
/// status transition under the payment's lock. Fails (and is retried) while the provider is
/// unreachable.
impl Job for ReconcileNotification {
    const QUEUE: &'static str = "payments_reconcile_notification";
    const WAITS_ON_PROVIDERS: bool = true;
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        super::reconcile::reconcile_notification(&state, self.notification).await?;
        Ok(())
    }
}

/// Tells the customer a payment was refused and offers a new link, once.
impl Job for OfferNewPaymentLink {
    const QUEUE: &'static str = "payments_offer_new_link";
    const WAITS_ON_PROVIDERS: bool = true;
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        super::reconcile::offer_new_link(&state, self.tenant_id, self.appointment_id).await?;
        Ok(())
    }
}
