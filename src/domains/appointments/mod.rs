//! Appointments: booking, the status machine, availability and the dashboard's figures.
//!
//! Invariants:
//! - Instants are stored in UTC; every date rule runs in the tenant's time zone.
//! - No two active (PENDING or CONFIRMED) appointments of a tenant overlap: Postgres refuses it
//!   with an exclusion constraint, and on SQLite booking writes are serialized.
//! - The price is a snapshot taken at booking.
//!
//! Calls: `tenants` (time zone, booking rules), `customers` (the customer, their subscription and
//! its cycle; deleting a customer), `services`, `plans` (what a subscription covers),
//! `operating_hours` (the schedule), `payments` (an appointment's payment, for `Appointment.payment`).

pub mod availability;
pub mod graphql;
pub mod jobs;
pub mod model;
pub mod repo;
pub mod service;

use crate::{
    domain::Domain, graphql::loaders::cached, jobs::CronKind, kernel::events::EventPayload,
};

pub const DOMAIN: Domain = Domain::new("appointments")
    .with_crons(&[CronKind::of::<jobs::ExpireUnpaidHolds>()])
    .with_loaders(|data, state| {
        data.insert(cached(graphql::AppointmentLoader(state.clone())));
        data.insert(cached(graphql::AppointmentPaymentLoader(state.clone())));
    })
    .with_events(&[model::AppointmentChanged::KIND]);
