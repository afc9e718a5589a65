//! Customers of a tenant: unique per (tenant, E.164 phone), so every way of writing one
//! Brazilian mobile (dashboard, WhatsApp digits, with or without the ninth digit) is one customer.
//!
//! Invariants: every query is scoped by `TenantId`; e-mails are stored lower-case; a customer with
//! future active appointments cannot be deleted, and one with past appointments neither (the
//! database refuses it: appointments keep their customer).
//!
//! Calls: `appointments` (future bookings block deletion). The customer's status comes from the
//! `subscriptions` domain, resolved in the GraphQL layer.

pub mod graphql;
pub mod model;
pub mod repo;
pub mod service;
