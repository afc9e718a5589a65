//! The integration suite: one binary, one file per area.

// A test that cannot unwrap its setup should stop right there, with the value it got.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod appointments;
mod architecture;
mod assistant;
mod auth;
mod availability;

mod catalog;
mod cli;
mod customers;
mod email_verification;
mod finance;
mod gemini_client;
mod google_sign_in;
mod helpers;
mod http_surface;
mod inbox;
mod jobs;
mod menu;
mod multi_instance;
mod notifications;
mod opening_hours;
mod payment_clients;
mod payment_reconciliation;
mod payment_webhooks;
mod payments;
mod redis_outage;
mod saas_plans;
mod schema;
mod subscriptions;
mod tenancy_isolation;
mod tenants;
mod websocket;
mod whatsapp;
