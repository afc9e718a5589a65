//! waba-bot: the backend of a WhatsApp booking assistant sold to small Brazilian businesses.
//!
//! One binary serves the GraphQL API (HTTP + WebSocket), the webhooks the outside world calls, and
//! an apalis worker for background jobs. The layers, lowest first (each imports only its own and
//! lower ones; `tests/api/architecture.rs` checks it): `kernel`; the infrastructure (`config`,
//! `telemetry`, `db`, `metrics`, `rate_limit`, `clients`, `broker`, `jobs`, `state`, `domain`);
//! the schema toolkit `graphql`; the `domains`; and the wiring (`app`, `schema`, `http`,
//! `startup`, `cli`). See `docs/ARCHITECTURE.md`.

pub mod app;
pub mod broker;
pub mod cli;
pub mod clients;
pub mod config;
pub mod db;
pub mod domain;
pub mod domains;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod kernel;
pub mod metrics;
pub mod rate_limit;
pub mod schema;
pub mod startup;
pub mod state;
pub mod telemetry;
