//! Business code, one folder per domain, each with the same files: `model` (types and newtypes
//! that parse input once), `repo` (the only sea-orm queries for its tables), `service` (rules,
//! transactions, jobs, events), `graphql` (thin resolvers) and `jobs`.
//!
//! Dependency rule: graphql → service → repo → entity; domains call each other only through
//! `service`.

pub mod appointments;
pub mod auth;
pub mod customers;
pub mod operating_hours;
pub mod plans;
pub mod saas_plans;
pub mod services;
pub mod tenants;
