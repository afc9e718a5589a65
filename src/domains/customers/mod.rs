//! Customers of a tenant and their subscriptions to the tenant's plans.
//!
//! Customers are unique per (tenant, E.164 phone), so every way of writing one Brazilian mobile
//! (dashboard, WhatsApp digits, with or without the ninth digit) is one customer. A customer's
//! status is its current subscription, and the two GraphQL types refer to each other, so both
//! live in this domain.
//!
//! Invariants: every query is scoped by `TenantId`; e-mails are stored lower-case; a customer with
//! appointments cannot be deleted (the database refuses it: appointments keep their customer; the
//! appointments domain refuses earlier, with a clearer message, while some are in the future).
//! Subscription cycles are real calendar months (1, 3 or 12) counted in the tenant's time zone
//! from the subscription's start, so a plan started on the 31st renews on the last day of shorter
//! months and DST changes never shift a cycle by an hour; a customer holds at most one ACTIVE or
//! PAST_DUE subscription (subscribing locks the customer's row first, so two concurrent requests
//! cannot both pass the check).
//!
//! Billing: a subscription's `external_id` is reserved for the provider's recurring charge
//! (Mercado Pago preapproval); the payments domain will create and cancel it after these commits.
//! Until then subscriptions are managed by hand and start ACTIVE.
//!
//! Calls: `tenants` (time zone), `plans` (must be on sale).

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;

use crate::{domain::Domain, graphql::loaders::cached};

pub const DOMAIN: Domain = Domain::new("customers").with_loaders(|data, state| {
    data.insert(cached(graphql::CustomerLoader(state.clone())));
    data.insert(cached(graphql::CurrentSubscriptionLoader(state.clone())));
    data.insert(cached(graphql::SubscriptionLoader(state.clone())));
});
