//! Notices to customers about their appointments on WhatsApp: the booking the business made or
//! confirmed, a reschedule, a cancellation by the business, and reminders 24 hours and 2 hours
//! before the start.
//!
//! Invariants:
//! - A notice of a change is written to the outbox with the change (`appointments` enqueues
//!   `AppointmentNotice` in its transaction), so none is lost and none is sent for a change that
//!   rolled back; changes the customer made on WhatsApp get no notice (they were answered there).
//! - Each notice goes out at most once per (appointment, kind, key): a `notifications` row is
//!   inserted in the transaction that queues the message, and a second insert (another instance,
//!   a retried job, a restart) finds it and sends nothing.
//! - A kind switched off by the tenant sends nothing; a customer who sent PARAR gets none (the
//!   notice is recorded SKIPPED in the conversation); outside the 24-hour window the kind's
//!   template is sent, else the notice is SKIPPED with its reason.
//!
//! Calls: `appointments` (what changed, what is due), `customers`, `services`, `tenants` (names,
//! time zone), `whatsapp` (the conversation and the message).

pub mod graphql;
pub mod jobs;
pub mod model;
pub mod repo;
pub mod service;

use crate::{
    domain::Domain,
    jobs::{CronKind, JobKind},
};

pub const DOMAIN: Domain = Domain::new("notifications")
    .with_jobs(&[JobKind::of::<
        crate::domains::appointments::model::AppointmentNotice,
    >()])
    .with_crons(&[CronKind::of::<jobs::SendReminders>()]);
