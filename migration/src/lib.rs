//! Schema migrations for waba-bot, applied in order at start-up (`Application::build`) or by
//! `waba-bot migrate`. Every migration runs on both PostgreSQL and SQLite; where the engines differ
//! (extensions, exclusion constraints) the migration branches on the backend explicitly.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_accounts;
mod m20261128_000001_create_scheduling;
mod m20261202_000001_whatsapp_profile;
mod m20261202_000002_create_conversations;
mod m20261203_000001_outbound_messages;
mod m20261203_000002_notifications;
mod m20261204_000001_outbox_deletes_dispatched_rows;
mod m20261205_000001_ai_assistant;
mod m20261206_000001_payments;
mod m20261207_000001_outbox_holds;
mod m20261208_000001_payment_days;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_accounts::Migration),
            Box::new(m20261128_000001_create_scheduling::Migration),
            Box::new(m20261202_000001_whatsapp_profile::Migration),
            Box::new(m20261202_000002_create_conversations::Migration),
            Box::new(m20261203_000001_outbound_messages::Migration),
            Box::new(m20261203_000002_notifications::Migration),
            Box::new(m20261204_000001_outbox_deletes_dispatched_rows::Migration),
            Box::new(m20261205_000001_ai_assistant::Migration),
            Box::new(m20261206_000001_payments::Migration),
            Box::new(m20261207_000001_outbox_holds::Migration),
            Box::new(m20261208_000001_payment_days::Migration),
        ]
    }
}
