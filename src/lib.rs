//! waba-bot: the backend of a WhatsApp booking assistant sold to small Brazilian businesses.
//!
//! One binary serves the GraphQL API (HTTP + WebSocket), the webhooks the outside world calls, and
//! an apalis worker for background jobs. See `startup::Application` for how the pieces are wired.

pub mod cli;
pub mod clients;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domains;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod rate_limit;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod values;
