//! The only queries on `webhook_deliveries`, `conversations` and `messages`.

use chrono::{DateTime, Utc};
use entity::{conversations, messages, webhook_deliveries};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TryInsertResult,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::model::{Direction, Inbound, RECEIVED};
use crate::kernel::{
    ids::{ConversationId, CustomerId, MessageId, TenantId, WebhookDeliveryId},
    values::EnumStr,
};

pub async fn insert_delivery(
    conn: &impl ConnectionTrait,
    body: String,
    now: DateTime<Utc>,
) -> Result<WebhookDeliveryId, DbErr> {
    let id = Uuid::now_v7();
    webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
        id: Set(id),
        body: Set(body),
        received_at: Set(now),
        processed_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(WebhookDeliveryId(id))
}

/// The body of delivery `id` while its messages are not stored yet.
pub async fn find_unprocessed_delivery(
    conn: &impl ConnectionTrait,
    id: WebhookDeliveryId,
) -> Result<Option<String>, DbErr> {
    let row = webhook_deliveries::Entity::find_by_id(id.0)
        .filter(webhook_deliveries::Column::ProcessedAt.is_null())
        .one(conn)
        .await?;
    Ok(row.map(|row| row.body))
}

pub async fn mark_delivery_processed(
    conn: &impl ConnectionTrait,
    id: WebhookDeliveryId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::ProcessedAt, Expr::value(now))
        .filter(webhook_deliveries::Column::Id.eq(id.0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes deliveries ingested before `before`; how many.
pub async fn delete_processed_deliveries(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let deleted = webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::ProcessedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected)
}

/// The conversation of (`tenant`, `customer`), created when there is none; a concurrent creation
/// is found, never duplicated.
pub async fn find_or_insert_conversation(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<ConversationId, DbErr> {
    conversations::Entity::insert(conversations::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        customer_id: Set(customer.0),
        last_inbound_at: Set(None),
        last_message_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        conversations::Column::TenantId,
        conversations::Column::CustomerId,
    ])
    .exec(conn)
    .await?;
    conversations::Entity::find()
        .filter(conversations::Column::TenantId.eq(tenant.0))
        .filter(conversations::Column::CustomerId.eq(customer.0))
        .one(conn)
        .await?
        .map(|row| ConversationId(row.id))
        .ok_or_else(|| DbErr::RecordNotFound("the conversation just upserted".into()))
}

/// Stores `message` in `conversation` unless its `wamid` is stored already: the id of the new
/// row, or `None` for a message seen before.
pub async fn insert_inbound(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    conversation: ConversationId,
    message: &Inbound,
    now: DateTime<Utc>,
) -> Result<Option<MessageId>, DbErr> {
    let id = Uuid::now_v7();
    let inserted = messages::Entity::insert(messages::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant.0),
        conversation_id: Set(conversation.0),
        direction: Set(Direction::Inbound.as_str().to_owned()),
        kind: Set(message.kind.as_str().to_owned()),
        wamid: Set(Some(message.wamid.clone())),
        body: Set(message.body.clone()),
        content: Set(message.content.as_ref().map(ToString::to_string)),
        reply_to: Set(message.reply_to.clone()),
        status: Set(RECEIVED.to_owned()),
        sent_at: Set(message.sent_at),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([messages::Column::Wamid])
    .exec(conn)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(_)).then_some(MessageId(id)))
}

/// The tenant and `wamid` of inbound message `id`.
pub async fn find_inbound(
    conn: &impl ConnectionTrait,
    id: MessageId,
) -> Result<Option<(TenantId, String)>, DbErr> {
    let row = messages::Entity::find_by_id(id.0)
        .filter(messages::Column::Direction.eq(Direction::Inbound.as_str()))
        .one(conn)
        .await?;
    Ok(row.and_then(|row| Some((TenantId(row.tenant_id), row.wamid?))))
}

/// A customer's message arrived at `at`: it is the conversation's latest activity, and it opens
/// WhatsApp's 24-hour window (never moved back by a late delivery of an older message).
pub async fn record_inbound(
    conn: &impl ConnectionTrait,
    conversation: ConversationId,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let later = |column: conversations::Column| {
        Expr::case(Expr::col(column).lt(at), at)
            .case(Expr::col(column).is_null(), at)
            .finally(Expr::col(column))
    };
    conversations::Entity::update_many()
        .col_expr(
            conversations::Column::LastInboundAt,
            later(conversations::Column::LastInboundAt).into(),
        )
        .col_expr(
            conversations::Column::LastMessageAt,
            later(conversations::Column::LastMessageAt).into(),
        )
        .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
        .filter(conversations::Column::Id.eq(conversation.0))
        .exec(conn)
        .await?;
    Ok(())
}
