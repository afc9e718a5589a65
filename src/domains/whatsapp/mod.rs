//! The WhatsApp channel: the webhook Meta calls, and the conversations and messages it brings.
//! The tenant's connection (credentials checked with the Graph API) lives in `tenants`; the Graph
//! API client in `clients::meta_graph`.
//!
//! Invariants:
//! - Nothing is stored from a POST without a valid `X-Hub-Signature-256` (HMAC-SHA256 of the raw
//!   body with `WABA_APP_SECRET`, compared in constant time).
//! - A signed delivery is acknowledged once it is stored as received with its `IngestDelivery`
//!   job (one transaction): the answer waits for no processing, and nothing acknowledged is lost.
//!   It is kept 30 days after its messages are stored, then purged (`PurgeDeliveries`, daily).
//! - An inbound message is stored once, unique by its `wamid`, whatever Meta redelivers or
//!   delivers concurrently; its customer (by E.164 phone) and conversation (per tenant and
//!   customer) are found or created, and its `ProcessInbound` job written (the outbox), in the
//!   same transaction, so each stored message is processed once.
//! - What cannot be used (an unknown number, an unknown field, a malformed element) is logged and
//!   answered 200: a non-2xx makes Meta retry the batch for days.
//! - The verification answer echoes Meta's challenge only for `hub.mode=subscribe` with the
//!   configured `WABA_WEBHOOK_VERIFY_TOKEN` (compared in constant time); anything else is 403,
//!   and with no token configured the URL cannot be verified at all.
//! - A conversation is answered one turn at a time (see `service::answer`), each inbound message
//!   handled by exactly one turn, whose replies commit with the marking.
//!
//! Calls: `tenants` (a number's tenant, sender credentials, bot settings), `customers` (find or
//! create by phone, search), `appointments` and `services` (the menu books through them),
//! `payments` (only its `model`: the menu queues `SendPaymentLink` after a booking that needs
//! payment; the payments service calls back into this domain to send it).

pub mod format;
pub mod graphql;
pub mod jobs;
pub mod menu;
pub mod model;
pub mod repo;
pub mod service;
pub mod webhook;

use axum::{Router, extract::DefaultBodyLimit, routing::get};

use crate::{
    domain::Domain,
    graphql::loaders::cached,
    jobs::{CronKind, JobKind},
    kernel::events::EventPayload,
    state::AppState,
};

pub const DOMAIN: Domain = Domain::new("whatsapp")
    .with_jobs(&[
        JobKind::of::<jobs::IngestDelivery>(),
        JobKind::of::<jobs::ProcessInbound>(),
        JobKind::of::<jobs::SendMessages>(),
    ])
    .with_crons(&[CronKind::of::<jobs::PurgeDeliveries>()])
    .with_routes(routes)
    .with_loaders(|data, state| {
        data.insert(cached(graphql::MessageLoader(state.clone())));
    })
    .with_events(&[model::ConversationChanged::KIND]);

/// The path Meta is configured with (the previous system's).
const WEBHOOK_PATH: &str = "/webhook/whatsapp";

/// Meta's largest webhook payload (protocols.md §1.2); larger bodies are answered 413.
const WEBHOOK_MAX_BYTES: usize = 3 * 1024 * 1024;

fn routes() -> Router<AppState> {
    Router::new().route(
        WEBHOOK_PATH,
        get(webhook::verify)
            .post(webhook::receive)
            .layer(DefaultBodyLimit::max(WEBHOOK_MAX_BYTES)),
    )
}
