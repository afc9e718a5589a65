//! The integration suite: one binary, one file per area.

mod auth;
mod catalog;
mod cli;
mod customers;
mod email_verification;
mod google_sign_in;
mod helpers;
mod http_surface;
mod jobs;
mod multi_instance;
mod redis_outage;
mod saas_plans;
mod schema;
mod subscriptions;
mod tenancy_isolation;
mod tenants;
mod websocket;
