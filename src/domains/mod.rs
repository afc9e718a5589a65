//! Business code, one folder per domain, each with the same files: `model` (types, write types
//! and newtypes that parse input once), `repo` (the only sea-orm queries for its tables, taking
//! and returning domain types), `service` (rules, transactions, jobs, events), `graphql` (thin
//! resolvers, objects and loaders) and `jobs`; `mod.rs` declares the domain's `DOMAIN`.
//!
//! Dependency rule: graphql → service → repo → entity. Another domain is reached through its
//! `service` (and its `model` and `graphql` types), never its `repo`; `tests/api/architecture.rs`
//! checks it, and `docs/ARCHITECTURE.md` explains it.

pub mod ai;
pub mod appointments;
pub mod auth;
pub mod customers;
pub mod notifications;
pub mod operating_hours;
pub mod payments;
pub mod plans;
pub mod saas_plans;
pub mod services;
pub mod tenants;
pub mod whatsapp;
