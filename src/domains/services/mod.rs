//! Services: what a tenant sells, with a price (integer cents) and a duration (5–720 minutes).
//!
//! Invariants: every query is scoped by `TenantId`; a service with appointments is archived
//! (inactive, hidden from lists), never deleted; an archived service cannot be reactivated.
//!
//! Calls: nothing (plans and appointments call this domain).

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;

use crate::{domain::Domain, graphql::loaders::cached};

pub const DOMAIN: Domain = Domain::new("services").with_loaders(|data, state| {
    data.insert(cached(graphql::ServiceLoader(state.clone())));
});
