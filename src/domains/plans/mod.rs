//! Customer plans: recurring packages a tenant sells to its customers (price, interval, the
//! services covered, an optional limit of appointments per billing cycle).
//!
//! Invariants: every query is scoped by `TenantId`; a plan covers only services of its own
//! tenant; plans are archived, never deleted, while subscriptions reference them.

pub mod model;
pub mod repo;
pub mod service;
