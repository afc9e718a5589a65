//! Tenants: the businesses using the product, their onboarding, settings and provider
//! credentials.
//!
//! Invariants:
//! - A TENANT user belongs to at most one tenant; the tenant of a request always comes from the
//!   authenticated user, never from arguments (only ADMIN reads tenants by id).
//! - Phone (E.164) and e-mail are unique across tenants.
//! - Provider secrets (WhatsApp token, Mercado Pago tokens) are stored AES-256-GCM encrypted and
//!   leave this module only as booleans (`whatsappConnected`, `mercadoPagoConnected`).
//! - `TenantUpdated` is published after the change commits.
//!
//! Calls: `auth` (link the onboarding user), `saas_plans` (plan must be on sale), `payments`
//! (its finance rollup is rebuilt in the transaction that changes the time zone).

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;

use crate::{domain::Domain, graphql::loaders::cached, kernel::events::EventPayload};

pub const DOMAIN: Domain = Domain::new("tenants")
    .with_loaders(|data, state| {
        data.insert(cached(graphql::TenantLoader(state.clone())));
    })
    .with_events(&[model::TenantChanged::KIND]);
