//! Customer subscriptions to a tenant's plans: status and billing cycles.
//!
//! Invariants: every query is scoped by `TenantId`; cycles are real calendar months (1, 3 or 12)
//! counted in the tenant's time zone from the subscription's start, so a plan started on the 31st
//! renews on the last day of shorter months and DST changes never shift a cycle by an hour; a
//! customer holds at most one ACTIVE or PAST_DUE subscription (subscribing locks the customer's
//! row first, so two concurrent requests cannot both pass the check).
//!
//! Billing: `external_id` is reserved for the provider's recurring charge (Mercado Pago
//! preapproval); the payments domain will create and cancel it after these commits. Until then
//! subscriptions are managed by hand and start ACTIVE.
//!
//! Calls: `tenants` (time zone), `customers` (existence, row lock), `plans` (must be on sale).

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;
