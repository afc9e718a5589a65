//! The AI assistant: its memory and its metering.
//!
//! - `ai_turns`: one row per answered turn of a conversation: the turn's contents as the model saw
//!   them (the customer's text, every model turn verbatim, every function response), so a restart
//!   or another instance continues the conversation. Unique per (conversation, last inbound
//!   message): a turn re-run after a crash finds its answer instead of asking the model again.
//! - `ai_usage`: one row per `generateContent` call (every round of a turn), with the billing month
//!   in the tenant's zone, summed for reports and for the plan's monthly token quota.
//! - `tenants.ai_require_email` (a customer must have an e-mail before the AI books) and
//!   `tenants.ai_quota_reached_month` (the month whose quota was announced, so it is announced once);
//!   `saas_plans.ai_monthly_token_quota` (NULL: unlimited).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000001_ai_assistant"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AiTurns::Table)
                    .col(pk_uuid(AiTurns::Id))
                    .col(uuid(AiTurns::TenantId))
                    .col(uuid(AiTurns::ConversationId))
                    .col(uuid(AiTurns::InboundMessageId))
                    .col(text(AiTurns::Contents))
                    .col(text(AiTurns::Reply))
                    .col(boolean(AiTurns::NeedsAttention))
                    .col(integer(AiTurns::EstimatedTokens))
                    .col(timestamp_with_time_zone(AiTurns::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AiTurns::Table, AiTurns::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AiTurns::Table, AiTurns::ConversationId)
                            .to(Conversations::Table, Conversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_ai_turns_conversation_inbound")
                    .table(AiTurns::Table)
                    .col(AiTurns::ConversationId)
                    .col(AiTurns::InboundMessageId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ai_turns_conversation_created")
                    .table(AiTurns::Table)
                    .col(AiTurns::ConversationId)
                    .col(AiTurns::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AiUsage::Table)
                    .col(pk_uuid(AiUsage::Id))
                    .col(uuid(AiUsage::TenantId))
                    .col(uuid(AiUsage::ConversationId))
                    .col(string(AiUsage::BillingMonth))
                    .col(string(AiUsage::Model))
                    .col(big_integer(AiUsage::PromptTokens))
                    .col(big_integer(AiUsage::CandidatesTokens))
                    .col(big_integer(AiUsage::ThoughtsTokens))
                    .col(big_integer(AiUsage::CachedTokens))
                    .col(big_integer(AiUsage::TotalTokens))
                    .col(timestamp_with_time_zone(AiUsage::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AiUsage::Table, AiUsage::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ai_usage_tenant_month")
                    .table(AiUsage::Table)
                    .col(AiUsage::TenantId)
                    .col(AiUsage::BillingMonth)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ai_usage_month")
                    .table(AiUsage::Table)
                    .col(AiUsage::BillingMonth)
                    .to_owned(),
            )
            .await?;
        // One column per ALTER TABLE: SQLite alters no more at once.
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(boolean(Tenants::AiRequireEmail).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(string_null(Tenants::AiQuotaReachedMonth))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SaasPlans::Table)
                    .add_column(big_integer_null(SaasPlans::AiMonthlyTokenQuota))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SaasPlans::Table)
                    .drop_column(SaasPlans::AiMonthlyTokenQuota)
                    .to_owned(),
            )
            .await?;
        for column in [Tenants::AiQuotaReachedMonth, Tenants::AiRequireEmail] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AiUsage::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AiTurns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AiTurns {
    Table,
    Id,
    TenantId,
    ConversationId,
    InboundMessageId,
    Contents,
    Reply,
    NeedsAttention,
    EstimatedTokens,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AiUsage {
    Table,
    Id,
    TenantId,
    ConversationId,
    BillingMonth,
    Model,
    PromptTokens,
    CandidatesTokens,
    ThoughtsTokens,
    CachedTokens,
    TotalTokens,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
    AiRequireEmail,
    AiQuotaReachedMonth,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SaasPlans {
    Table,
    AiMonthlyTokenQuota,
}
