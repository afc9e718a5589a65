//! Customer subscriptions to a tenant's plans: status and billing cycles.
//!
//! Invariants: every query is scoped by `TenantId`; cycles are real calendar months (1, 3 or 12)
//! counted in the tenant's time zone from the subscription's start, so a plan started on the 31st
//! renews on the last day of shorter months and DST changes never shift a cycle by an hour.

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;
