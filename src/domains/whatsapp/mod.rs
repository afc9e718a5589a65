//! The WhatsApp channel: the webhook Meta calls. The tenant's connection (credentials checked
//! with the Graph API) lives in `tenants`; the Graph API client in `clients::meta_graph`.
//!
//! Invariants:
//! - The verification answer echoes Meta's challenge only for `hub.mode=subscribe` with the
//!   configured `WABA_WEBHOOK_VERIFY_TOKEN` (compared in constant time); anything else is 403,
//!   and with no token configured the URL cannot be verified at all.
//!
//! Calls: nothing.

pub mod webhook;

use axum::{Router, routing::get};

use crate::{domain::Domain, state::AppState};

pub const DOMAIN: Domain = Domain::new("whatsapp").with_routes(routes);

/// The path Meta is configured with (the previous system's).
const WEBHOOK_PATH: &str = "/webhook/whatsapp";

fn routes() -> Router<AppState> {
    Router::new().route(WEBHOOK_PATH, get(webhook::verify))
}
