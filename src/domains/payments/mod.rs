//! Payments of customers to the business, through the business's own Mercado Pago account
//! (connected by OAuth) or its InfinitePay handle: payment links, the providers' notifications
//! and their reconciliation, refunds, and the finance reports. SaaS billing of tenants (the
//! platform's account) shares the `payments` table through `PaymentPurpose::SaasFee`.
//!
//! Invariants:
//! - Amounts are integer cents; a payment's `amount` is the appointment's price when its link
//!   was made, and a payment of another amount never confirms the booking by itself.
//! - A payment row is written PENDING before its link is asked for; its id is the provider's
//!   reference (`external_reference`, `order_nsu`) and the idempotency key, so retries and
//!   concurrent calls share one link.
//! - The provider is re-read before anything changes: a notification is only a hint (Mercado
//!   Pago's is signed, InfinitePay's is not and is checked with `payment_check`).
//! - Effects of a status change (the booking confirmed, the receipt, the events) run once, in the
//!   transaction that changes the status under the payment's row lock.
//! - Mercado Pago tokens are stored encrypted (in `tenants`) and never returned; the OAuth
//!   `state` is stored hashed, bound to the tenant and user, single use, ten minutes, with PKCE.
//!
//! Calls: `tenants` (provider settings and the encrypted account), `appointments` (lock, confirm,
//! cancel), `customers` and `services` (the payer and the item), `whatsapp` (`service::notify`:
//! links and receipts), `auth` (the exports' bearer token).

pub mod exports;
pub mod finance;
pub mod graphql;
pub mod jobs;
pub mod model;
pub mod oauth;
pub mod reconcile;
pub mod refunds;
pub mod repo;
pub mod service;
pub mod webhook;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};

use crate::{
    domain::Domain,
    graphql::loaders::cached,
    jobs::{CronKind, JobKind},
    kernel::events::EventPayload,
    state::AppState,
};

pub const DOMAIN: Domain = Domain::new("payments")
    .with_jobs(&[
        JobKind::of::<jobs::SendPaymentLink>(),
        JobKind::of::<jobs::ReconcileNotification>(),
        JobKind::of::<jobs::OfferNewPaymentLink>(),
    ])
    .with_crons(&[CronKind::of::<jobs::RefreshMercadoPagoTokens>()])
    .with_routes(routes)
    .with_loaders(|data, state| {
        data.insert(cached(graphql::PaymentLoader(state.clone())));
    })
    .with_events(&[model::PaymentChanged::KIND]);

fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/mercadopago/callback", get(oauth::callback))
        .route("/exports/payments.csv", get(exports::payments_csv))
        .route("/exports/appointments.csv", get(exports::appointments_csv))
        .route(
            "/webhooks/mercadopago",
            post(webhook::mercado_pago).layer(DefaultBodyLimit::max(webhook::MAX_BODY_BYTES)),
        )
        .route(
            "/webhooks/infinitepay/{tenant_id}",
            post(webhook::infinite_pay).layer(DefaultBodyLimit::max(webhook::MAX_BODY_BYTES)),
        )
}
