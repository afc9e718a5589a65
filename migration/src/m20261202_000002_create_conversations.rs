//! The WhatsApp inbox: the webhook deliveries as received (Meta offers no way to fetch a past
//! one), one conversation per (tenant, customer), and its messages. An inbound message is unique
//! by its WhatsApp id (`wamid`), so a webhook Meta delivers twice stores one row.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000002_create_conversations"
    }
}

fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(text(WebhookDeliveries::Body))
                    .col(timestamp_with_time_zone(WebhookDeliveries::ReceivedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::ProcessedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(pk_uuid(Conversations::Id))
                    .col(uuid(Conversations::TenantId))
                    .col(uuid(Conversations::CustomerId))
                    .col(timestamp_with_time_zone_null(Conversations::LastInboundAt))
                    .col(timestamp_with_time_zone(Conversations::LastMessageAt))
                    .col(timestamp_with_time_zone(Conversations::CreatedAt))
                    .col(timestamp_with_time_zone(Conversations::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (Conversations::Table, Conversations::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Conversations::Table, Conversations::CustomerId),
                        (Customers::Table, Customers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_conversations_tenant_customer")
                    .table(Conversations::Table)
                    .col(Conversations::TenantId)
                    .col(Conversations::CustomerId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(pk_uuid(Messages::Id))
                    .col(uuid(Messages::TenantId))
                    .col(uuid(Messages::ConversationId))
                    .col(string(Messages::Direction))
                    .col(string(Messages::Kind))
                    .col(string_null(Messages::Wamid).unique_key())
                    .col(text_null(Messages::Body))
                    .col(text_null(Messages::Content))
                    .col(string_null(Messages::ReplyTo))
                    .col(string(Messages::Status))
                    .col(timestamp_with_time_zone(Messages::SentAt))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .foreign_key(&mut cascade(
                        (Messages::Table, Messages::TenantId),
                        (Tenants::Table, Tenants::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Messages::Table, Messages::ConversationId),
                        (Conversations::Table, Conversations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_conversation_sent")
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::SentAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Messages::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Conversations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    Body,
    ReceivedAt,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    TenantId,
    CustomerId,
    LastInboundAt,
    LastMessageAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    TenantId,
    ConversationId,
    Direction,
    Kind,
    Wamid,
    Body,
    Content,
    ReplyTo,
    Status,
    SentAt,
    CreatedAt,
}
