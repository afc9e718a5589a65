//! The plans the platform sells to tenants (Starter, Professional, Enterprise × intervals).
//!
//! Invariants: prices are integer cents in BRL; plans are archived, never deleted, because
//! tenants reference them; the public list shows only plans that are not archived.

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;
