//! The plans the platform sells to tenants (Starter, Professional, Enterprise × intervals).
//!
//! Invariants: prices are integer cents in BRL; plans are archived, never deleted, because
//! tenants reference them; the public list shows only plans that are not archived.
//!
//! Calls: nothing (tenants call this domain).

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;

use crate::{domain::Domain, graphql::loaders::cached};

pub const DOMAIN: Domain = Domain::new("saas_plans").with_loaders(|data, state| {
    data.insert(cached(graphql::SaasPlanLoader(state.clone())));
});
