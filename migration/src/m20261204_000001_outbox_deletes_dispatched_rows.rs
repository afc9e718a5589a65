//! The outbox keeps only rows not pushed yet: the dispatcher deletes a row once its job is in the
//! queue, instead of stamping `dispatched_at` and keeping it. A table of stamped rows grows with
//! every job ever enqueued, and its pending index fills with dead entries between vacuums, so each
//! dispatch read more of them (measured: 11 000 index entries scanned to find 76 pending rows).
//!
//! `dispatched_at` is no longer written but stays, nullable, so instances of the previous version
//! keep working during a rolling deploy (their stamped rows are pushed again as no-ops and
//! deleted); a later migration drops it.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000001_outbox_deletes_dispatched_rows"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_pending")
                    .table(Outbox::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_created_at")
                    .table(Outbox::Table)
                    .col(Outbox::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_created_at")
                    .table(Outbox::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_pending")
                    .table(Outbox::Table)
                    .col(Outbox::DispatchedAt)
                    .col(Outbox::CreatedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    CreatedAt,
    DispatchedAt,
}
