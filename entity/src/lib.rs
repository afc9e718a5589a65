//! sea-orm entities, one module per table. Plain data: no GraphQL derives and no behaviour; the
//! domains in the application crate own the rules and convert these models into their own types.

pub mod ai_turns;
pub mod ai_usage;
pub mod appointments;
pub mod conversations;
pub mod customers;
pub mod date_exceptions;
pub mod email_verifications;
pub mod login_codes;
pub mod messages;
pub mod notification_settings;
pub mod notifications;
pub mod oauth_states;
pub mod opening_hours;
pub mod outbox;
pub mod payment_days;
pub mod payment_notifications;
pub mod payment_oauth_states;
pub mod payments;
pub mod pending_statuses;
pub mod plan_services;
pub mod plans;
pub mod refresh_tokens;
pub mod refunds;
pub mod saas_plans;
pub mod services;
pub mod subscriptions;
pub mod tenants;
pub mod users;
pub mod webhook_deliveries;
