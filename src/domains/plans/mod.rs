//! Customer plans: recurring packages a tenant sells to its customers (price, interval, the
//! services covered, an optional limit of appointments per billing cycle).
//!
//! Invariants: every query is scoped by `TenantId`; a plan covers only services of its own
//! tenant (`plan_services` rows carry the tenant id), and its covered set is replaced in one
//! transaction; plans are archived, never deleted, while subscriptions reference them.
//!
//! Calls: `services` (the covered services must be the tenant's and not archived).

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;

use crate::{domain::Domain, graphql::loaders::cached};

pub const DOMAIN: Domain = Domain::new("plans").with_loaders(|data, state| {
    data.insert(cached(graphql::PlanLoader(state.clone())));
    data.insert(cached(graphql::PlanServicesLoader(state.clone())));
});
