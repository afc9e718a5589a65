//! Appointments: booking, the status machine, availability and the dashboard's figures.
//!
//! Invariants:
//! - Instants are stored in UTC; every date rule runs in the tenant's time zone.
//! - No two active (PENDING or CONFIRMED) appointments of a tenant overlap: Postgres refuses it
//!   with an exclusion constraint, and on SQLite booking writes are serialized.
//! - The price is a snapshot taken at booking.

pub mod availability;
pub mod graphql;
pub mod jobs;
pub mod model;
pub mod repo;
pub mod service;
