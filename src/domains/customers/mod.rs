//! Customers of a tenant: unique per (tenant, E.164 phone), so every way of writing one
//! Brazilian mobile (dashboard, WhatsApp digits, with or without the ninth digit) is one customer.
//!
//! Invariants: every query is scoped by `TenantId`; a customer with future active appointments
//! cannot be deleted.

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;
