//! An outbox row may be held: `available_at` set, the dispatcher leaves it until then. A job the
//! process that wrote it runs itself right after the commit is written held, and its row deleted
//! when that run succeeds; only a crash in between leaves it to the workers, once the hold ends.
//!
//! Also drops `dispatched_at`, unused since `m20261204_000001_outbox_deletes_dispatched_rows`
//! (no running version writes it any more).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_outbox_holds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        swap(manager, Outbox::AvailableAt, Outbox::DispatchedAt).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        swap(manager, Outbox::DispatchedAt, Outbox::AvailableAt).await
    }
}

/// Adds the nullable timestamp `added` to the outbox, then drops `dropped` (one change per
/// statement: SQLite alters nothing more at once).
async fn swap(manager: &SchemaManager<'_>, added: Outbox, dropped: Outbox) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Outbox::Table)
                .add_column(timestamp_with_time_zone_null(added))
                .to_owned(),
        )
        .await?;
    manager
        .alter_table(
            Table::alter()
                .table(Outbox::Table)
                .drop_column(dropped)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    AvailableAt,
    DispatchedAt,
}
