//! The AI assistant's tables: `ai_turns` (its memory) and `ai_usage` (one row per model call).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{ai_turns, ai_usage};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::model::{
    BillingMonth, NewTurn, NewUsage, RememberedTurn, UsageSummary, estimate_tokens,
};
use crate::kernel::{
    error::{AppError, AppResult},
    ids::{ConversationId, MessageId, TenantId},
};

fn remembered(row: ai_turns::Model) -> AppResult<RememberedTurn> {
    Ok(RememberedTurn {
        contents: serde_json::from_str(&row.contents).map_err(|err| {
            AppError::Internal(anyhow::anyhow!("stored AI turn {}: {err}", row.id))
        })?,
        reply: row.reply,
        needs_attention: row.needs_attention,
        estimated_tokens: row.estimated_tokens,
    })
}

/// The turn that answered the conversation's messages up to `inbound`, if one did.
pub async fn find_turn(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    conversation: ConversationId,
    inbound: MessageId,
) -> AppResult<Option<RememberedTurn>> {
    ai_turns::Entity::find()
        .filter(ai_turns::Column::TenantId.eq(tenant.0))
        .filter(ai_turns::Column::ConversationId.eq(conversation.0))
        .filter(ai_turns::Column::InboundMessageId.eq(inbound.0))
        .one(conn)
        .await?
        .map(remembered)
        .transpose()
}

/// The conversation's latest `limit` turns, newest first.
pub async fn recent_turns(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    conversation: ConversationId,
    limit: u64,
) -> AppResult<Vec<RememberedTurn>> {
    ai_turns::Entity::find()
        .filter(ai_turns::Column::TenantId.eq(tenant.0))
        .filter(ai_turns::Column::ConversationId.eq(conversation.0))
        .order_by_desc(ai_turns::Column::CreatedAt)
        .order_by_desc(ai_turns::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(remembered)
        .collect()
}

/// Remembers a turn; a turn already remembered for the same messages (a re-run) is kept.
pub async fn insert_turn(
    conn: &impl ConnectionTrait,
    turn: NewTurn,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let contents = serde_json::to_string(&turn.contents).map_err(anyhow::Error::from)?;
    ai_turns::Entity::insert(ai_turns::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(turn.tenant_id.0),
        conversation_id: Set(turn.conversation_id.0),
        inbound_message_id: Set(turn.inbound_message_id.0),
        estimated_tokens: Set(estimate_tokens(&contents)),
        contents: Set(contents),
        reply: Set(turn.reply),
        needs_attention: Set(turn.needs_attention),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        ai_turns::Column::ConversationId,
        ai_turns::Column::InboundMessageId,
    ])
    .exec(conn)
    .await?;
    Ok(())
}

/// Records model calls, in one statement.
pub async fn insert_usage(
    conn: &impl ConnectionTrait,
    calls: &[NewUsage],
    now: DateTime<Utc>,
) -> AppResult<()> {
    if calls.is_empty() {
        return Ok(());
    }
    let rows = calls.iter().map(|call| ai_usage::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(call.tenant_id.0),
        conversation_id: Set(call.conversation_id.0),
        billing_month: Set(call.month.to_string()),
        model: Set(call.model.clone()),
        prompt_tokens: Set(call.usage.prompt_tokens),
        candidates_tokens: Set(call.usage.candidates_tokens),
        thoughts_tokens: Set(call.usage.thoughts_tokens),
        cached_tokens: Set(call.usage.cached_tokens),
        total_tokens: Set(call.usage.total_tokens),
        created_at: Set(now),
    });
    ai_usage::Entity::insert_many(rows).exec(conn).await?;
    Ok(())
}

/// `SUM(column)` as a 64-bit integer on both engines (Postgres sums `bigint` into `numeric`).
fn sum(column: &str) -> Expr {
    Expr::cust(format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

type SummaryRow = (i64, i64, i64, i64, i64, i64);

fn summary_columns<E: EntityTrait>(select: sea_orm::Select<E>) -> sea_orm::Select<E> {
    select
        .column_as(Expr::cust("COUNT(*)"), "calls")
        .column_as(sum("prompt_tokens"), "prompt_tokens")
        .column_as(sum("candidates_tokens"), "candidates_tokens")
        .column_as(sum("thoughts_tokens"), "thoughts_tokens")
        .column_as(sum("total_tokens"), "total_tokens")
        .column_as(
            Expr::cust("COUNT(DISTINCT conversation_id)"),
            "conversations",
        )
}

fn summary(
    (calls, prompt, candidates, thoughts, total, conversations): SummaryRow,
) -> UsageSummary {
    UsageSummary {
        calls,
        prompt_tokens: prompt,
        output_tokens: candidates + thoughts,
        total_tokens: total,
        conversations,
    }
}

/// The tenant's usage in `month`, in one statement.
pub async fn month_summary(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    month: BillingMonth,
) -> Result<UsageSummary, DbErr> {
    let row: Option<SummaryRow> = summary_columns(ai_usage::Entity::find().select_only())
        .filter(ai_usage::Column::TenantId.eq(tenant.0))
        .filter(ai_usage::Column::BillingMonth.eq(month.to_string()))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(row.map(summary).unwrap_or_default())
}

/// Every tenant's usage in `month` (tenants without any are absent), in one statement.
pub async fn month_summary_by_tenant(
    conn: &impl ConnectionTrait,
    month: BillingMonth,
) -> Result<HashMap<TenantId, UsageSummary>, DbErr> {
    let rows: Vec<(Uuid, i64, i64, i64, i64, i64, i64)> = summary_columns(
        ai_usage::Entity::find()
            .select_only()
            .column(ai_usage::Column::TenantId),
    )
    .filter(ai_usage::Column::BillingMonth.eq(month.to_string()))
    .group_by(ai_usage::Column::TenantId)
    .into_tuple()
    .all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(tenant, calls, prompt, candidates, thoughts, total, conversations)| {
                (
                    TenantId(tenant),
                    summary((calls, prompt, candidates, thoughts, total, conversations)),
                )
            },
        )
        .collect())
}

/// The tokens the tenant used in `month`: what its quota counts.
pub async fn month_tokens(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    month: BillingMonth,
) -> Result<i64, DbErr> {
    let total: Option<i64> = ai_usage::Entity::find()
        .select_only()
        .column_as(sum("total_tokens"), "total")
        .filter(ai_usage::Column::TenantId.eq(tenant.0))
        .filter(ai_usage::Column::BillingMonth.eq(month.to_string()))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(total.unwrap_or(0))
}
