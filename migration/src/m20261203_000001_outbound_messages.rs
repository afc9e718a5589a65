//! Outbound messages and the inbox: who wrote a message (CUSTOMER, BOT, STAFF and which user), how
//! its sending went (Meta's error code and message when it failed or was skipped), and the claim
//! of a send in flight (`attempted_at`, `attempts`). Statuses Meta reports before the send that
//! produced their `wamid` is recorded wait in `pending_statuses`, one row per `wamid` (the
//! furthest state). A conversation keeps its latest message, its unread count, whether it needs
//! a person, until when the bot is paused, whether the customer opted out of notices, the guided
//! menu's state (JSON), and the claim of the turn being answered (`turn_started_at`); an inbound
//! message, when a turn handled it. A tenant keeps who answers (`bot_mode`) and how long a
//! person's reply pauses the bot.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000001_outbound_messages"
    }
}

/// One column per ALTER TABLE: SQLite alters no more at once.
fn columns() -> Vec<ColumnDef> {
    vec![
        string(Messages::SentBy).default("CUSTOMER").take(),
        uuid_null(Messages::SentByUserId).take(),
        big_integer_null(Messages::ErrorCode).take(),
        text_null(Messages::ErrorMessage).take(),
        integer(Messages::Attempts).default(0).take(),
        timestamp_with_time_zone_null(Messages::AttemptedAt).take(),
        timestamp_with_time_zone_null(Messages::HandledAt).take(),
    ]
}

fn conversation_columns() -> Vec<ColumnDef> {
    vec![
        uuid_null(Conversations::LastMessageId).take(),
        integer(Conversations::UnreadCount).default(0).take(),
        boolean(Conversations::NeedsAttention).default(false).take(),
        timestamp_with_time_zone_null(Conversations::BotPausedUntil).take(),
        boolean(Conversations::NotificationsOff)
            .default(false)
            .take(),
        text_null(Conversations::MenuState).take(),
        timestamp_with_time_zone_null(Conversations::TurnStartedAt).take(),
    ]
}

fn tenant_columns() -> Vec<ColumnDef> {
    vec![
        string(Tenants::BotMode).default("MENU").take(),
        integer(Tenants::HumanTakeoverHours).default(12).take(),
    ]
}

fn tables() -> [(DynIden, Vec<ColumnDef>); 3] {
    [
        (Messages::Table.into_iden(), columns()),
        (Conversations::Table.into_iden(), conversation_columns()),
        (Tenants::Table.into_iden(), tenant_columns()),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in tables() {
            for mut column in columns {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .add_column(&mut column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_conversation_status")
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PendingStatuses::Table)
                    .col(string(PendingStatuses::Wamid).primary_key())
                    .col(uuid(PendingStatuses::TenantId))
                    .col(string(PendingStatuses::Status))
                    .col(big_integer_null(PendingStatuses::ErrorCode))
                    .col(text_null(PendingStatuses::ErrorMessage))
                    .col(timestamp_with_time_zone(PendingStatuses::ReceivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PendingStatuses::Table, PendingStatuses::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PendingStatuses::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_messages_conversation_status")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await?;
        for (table, columns) in tables() {
            for column in columns {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .drop_column(column.get_column_name())
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    ConversationId,
    Status,
    SentBy,
    SentByUserId,
    ErrorCode,
    ErrorMessage,
    Attempts,
    AttemptedAt,
    HandledAt,
}

#[derive(DeriveIden)]
enum PendingStatuses {
    Table,
    Wamid,
    TenantId,
    Status,
    ErrorCode,
    ErrorMessage,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    BotMode,
    HumanTakeoverHours,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    LastMessageId,
    UnreadCount,
    NeedsAttention,
    BotPausedUntil,
    NotificationsOff,
    MenuState,
    TurnStartedAt,
}
