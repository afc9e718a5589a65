//! Opening hours: weekly ranges in local wall time (several per weekday, optionally only for
//! subscribers) and date exceptions (closures and special hours for one date).
//!
//! Invariants: every query is scoped by `TenantId`; ranges of one weekday never overlap (touching
//! is allowed) and end after they start; times are minutes since local midnight, interpreted in
//! the tenant's time zone by availability and booking.

pub mod model;
pub mod repo;
pub mod service;
