//! Opening hours: weekly ranges in local wall time (several per weekday, optionally only for
//! subscribers) and date exceptions (closures and special hours for one date).
//!
//! Invariants: every query is scoped by `TenantId`; ranges of one weekday never overlap (touching
//! is allowed) and end after they start; times are minutes since local midnight, interpreted in
//! the tenant's time zone by availability and booking. A date has at most one closure; special
//! hours of one date never overlap and cannot be added to a closed date; a closure added over
//! special hours hides them while it exists. Every addition or edit runs in a transaction
//! serialized per tenant (see `repo::begin_write`), so checks and writes cannot interleave.
//!
//! Calls no other domain; availability and booking call `service::schedule`.

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;

use crate::domain::Domain;

pub const DOMAIN: Domain = Domain::new("operating_hours");
