//! The AI assistant of the `AI` bot mode: a language model (`clients::gemini`) answering a
//! customer's WhatsApp turn with function calling over the scheduling services, behind the
//! channel's seam (`kernel::assistant`). Its memory and its metering live here; the channel
//! sends what it answers, and the menu answers whatever it cannot.
//!
//! Invariants:
//! - Memory is persisted (`ai_turns`, one row per answered turn, unique per conversation and
//!   last inbound message): a restart, another instance or a re-run of the same turn continues
//!   the conversation, and a re-run answers as the first run did without asking the model again.
//! - Tools act only as the conversation's customer of its tenant (see `tools`).
//! - Every model call's tokens are recorded (`ai_usage`), all rounds, failed calls included,
//!   by billing month in the tenant's zone. At the plan's monthly quota the menu answers and a
//!   tenant event is published once that month.
//! - Never silent: every failure is a fallback to the menu, counted in
//!   `waba_ai_fallbacks_total{reason}` by the channel.
//!
//! Calls: `tenants` (settings, the quota event), `saas_plans` (the quota), `customers` (the
//! customer, subscription, profile), `plans` (the plan's name), `services`, `operating_hours`
//! (the week of the prompt), `appointments` (availability, booking, changes), `payments`
//! (`generate_payment_link`, and whether a booking needs payment).

pub mod graphql;
pub mod model;
pub mod prompt;
pub mod repo;
pub mod service;
pub mod tools;

use crate::domain::Domain;

pub const DOMAIN: Domain = Domain::new("ai");
