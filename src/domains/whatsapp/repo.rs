//! The only queries on `webhook_deliveries`, `conversations`, `messages` and
//! `pending_statuses`.

use chrono::{DateTime, Utc};
use entity::{conversations, messages, pending_statuses, webhook_deliveries};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, TryInsertResult,
    sea_query::{Expr, ExprTrait, InsertStatement},
};
use uuid::Uuid;

use super::model::{
    Conversation, Direction, Inbound, InboxFilter, Message, MessageKind, MessageStatus, Outbound,
    SentBy, StatusReport,
};
use crate::{
    domains::customers,
    kernel::{
        error::AppResult,
        ids::{ConversationId, CustomerId, MessageId, TenantId, UserId, WebhookDeliveryId},
        values::EnumStr,
    },
};

/// The insert of a new delivery of `body`, for the caller to run with its job; its id.
pub fn new_delivery(body: String, now: DateTime<Utc>) -> (WebhookDeliveryId, InsertStatement) {
    let id = Uuid::now_v7();
    let insert = webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
        id: Set(id),
        body: Set(body),
        received_at: Set(now),
        processed_at: Set(None),
    })
    .into_query();
    (WebhookDeliveryId(id), insert)
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
) -> Result<Conversation, DbErr> {
    let existing = || {
        conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(tenant.0))
            .filter(conversations::Column::CustomerId.eq(customer.0))
            .one(conn)
    };
    // Most messages belong to a conversation already open: one statement for them.
    if let Some(open) = existing().await? {
        return Ok(open.into());
    }
    conversations::Entity::insert(conversations::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        customer_id: Set(customer.0),
        last_inbound_at: Set(None),
        last_message_at: Set(now),
        last_message_id: Set(None),
        unread_count: Set(0),
        needs_attention: Set(false),
        bot_paused_until: Set(None),
        notifications_off: Set(false),
        menu_state: Set(None),
        turn_started_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        conversations::Column::TenantId,
        conversations::Column::CustomerId,
    ])
    .exec_without_returning(conn)
    .await?;
    existing()
        .await?
        .map(Conversation::from)
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
        status: Set(MessageStatus::Received.as_str().to_owned()),
        sent_at: Set(message.sent_at),
        created_at: Set(now),
        sent_by: Set(SentBy::Customer.as_str().to_owned()),
        sent_by_user_id: Set(None),
        error_code: Set(None),
        error_message: Set(None),
        attempts: Set(0),
        attempted_at: Set(None),
        handled_at: Set(None),
    })
    .on_conflict_do_nothing_on([messages::Column::Wamid])
    .exec(conn)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(_)).then_some(MessageId(id)))
}

/// The tenant's inbound message `wamid`.
pub async fn find_by_wamid_inbound(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    wamid: &str,
) -> AppResult<Option<Message>> {
    messages::Entity::find()
        .filter(messages::Column::TenantId.eq(tenant.0))
        .filter(messages::Column::Wamid.eq(wamid))
        .filter(messages::Column::Direction.eq(Direction::Inbound.as_str()))
        .one(conn)
        .await?
        .map(Message::try_from)
        .transpose()
}

/// The tenant, conversation and `wamid` of inbound message `id`.
pub async fn find_inbound(
    conn: &impl ConnectionTrait,
    id: MessageId,
) -> Result<Option<(TenantId, ConversationId, String)>, DbErr> {
    let row = messages::Entity::find_by_id(id.0)
        .filter(messages::Column::Direction.eq(Direction::Inbound.as_str()))
        .one(conn)
        .await?;
    Ok(row.and_then(|row| {
        Some((
            TenantId(row.tenant_id),
            ConversationId(row.conversation_id),
            row.wamid?,
        ))
    }))
}

/// A customer's message `message` arrived at `at`: it is unread, it is the conversation's latest
/// activity, and it opens WhatsApp's 24-hour window (never moved back by a late delivery of an
/// older message).
pub async fn record_inbound(
    conn: &impl ConnectionTrait,
    conversation: ConversationId,
    message: MessageId,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // Every SET reads the row as it was before the update.
    let newest = Condition::any()
        .add(conversations::Column::LastMessageId.is_null())
        .add(conversations::Column::LastMessageAt.lte(at));
    let if_newest = |value: Expr, column: conversations::Column| {
        Expr::case(newest.clone(), value).finally(Expr::col(column))
    };
    let later_inbound = Expr::case(
        Condition::any()
            .add(conversations::Column::LastInboundAt.is_null())
            .add(conversations::Column::LastInboundAt.lt(at)),
        at,
    )
    .finally(Expr::col(conversations::Column::LastInboundAt));
    conversations::Entity::update_many()
        .col_expr(
            conversations::Column::LastMessageId,
            if_newest(Expr::value(message.0), conversations::Column::LastMessageId).into(),
        )
        .col_expr(
            conversations::Column::LastMessageAt,
            if_newest(Expr::value(at), conversations::Column::LastMessageAt).into(),
        )
        .col_expr(conversations::Column::LastInboundAt, later_inbound.into())
        .col_expr(
            conversations::Column::UnreadCount,
            Expr::col(conversations::Column::UnreadCount).add(1),
        )
        .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
        .filter(conversations::Column::Id.eq(conversation.0))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn find_conversation(
    conn: &impl ConnectionTrait,
    id: ConversationId,
) -> AppResult<Option<Conversation>> {
    Ok(conversations::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(Conversation::from))
}

/// A new outbound message of `conversation` in state `status`; what went wrong when it is not
/// QUEUED.
pub struct NewOutbound<'a> {
    pub conversation: &'a Conversation,
    pub kind: MessageKind,
    pub body: String,
    pub content: String,
    pub status: MessageStatus,
    pub sent_by: SentBy,
    pub sent_by_user: Option<UserId>,
    /// The customer's message (`wamid`) it answers.
    pub reply_to: Option<String>,
    pub error_message: Option<String>,
}

pub async fn insert_outbound(
    conn: &impl ConnectionTrait,
    message: NewOutbound<'_>,
    now: DateTime<Utc>,
) -> Result<MessageId, DbErr> {
    let id = Uuid::now_v7();
    messages::Entity::insert(messages::ActiveModel {
        id: Set(id),
        tenant_id: Set(message.conversation.tenant_id.0),
        conversation_id: Set(message.conversation.id.0),
        direction: Set(Direction::Outbound.as_str().to_owned()),
        kind: Set(message.kind.as_str().to_owned()),
        wamid: Set(None),
        body: Set(Some(message.body)),
        content: Set(Some(message.content)),
        reply_to: Set(message.reply_to),
        status: Set(message.status.as_str().to_owned()),
        sent_at: Set(now),
        created_at: Set(now),
        sent_by: Set(message.sent_by.as_str().to_owned()),
        sent_by_user_id: Set(message.sent_by_user.map(|user| user.0)),
        error_code: Set(None),
        error_message: Set(message.error_message),
        attempts: Set(0),
        attempted_at: Set(None),
        handled_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    conversations::Entity::update_many()
        .col_expr(conversations::Column::LastMessageAt, Expr::value(now))
        .col_expr(conversations::Column::LastMessageId, Expr::value(id))
        .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
        .filter(conversations::Column::Id.eq(message.conversation.id.0))
        .exec(conn)
        .await?;
    Ok(MessageId(id))
}

/// The conversation's oldest outbound message still QUEUED.
pub async fn next_queued(
    conn: &impl ConnectionTrait,
    conversation: ConversationId,
) -> AppResult<Option<Outbound>> {
    messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(conversation.0))
        .filter(messages::Column::Status.eq(MessageStatus::Queued.as_str()))
        .order_by_asc(messages::Column::CreatedAt)
        .order_by_asc(messages::Column::Id)
        .one(conn)
        .await?
        .map(Outbound::try_from)
        .transpose()
}

/// Claims a QUEUED message for sending: whether this caller got it (no other send is in flight).
pub async fn claim(
    conn: &impl ConnectionTrait,
    id: MessageId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let claimed = messages::Entity::update_many()
        .col_expr(messages::Column::AttemptedAt, Expr::value(now))
        .col_expr(
            messages::Column::Attempts,
            Expr::col(messages::Column::Attempts).add(1),
        )
        .filter(messages::Column::Id.eq(id.0))
        .filter(messages::Column::Status.eq(MessageStatus::Queued.as_str()))
        .filter(messages::Column::AttemptedAt.is_null())
        .exec(conn)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Gives a claimed message back to the queue (Meta did not take it; it is tried again).
pub async fn release(conn: &impl ConnectionTrait, id: MessageId) -> Result<(), DbErr> {
    messages::Entity::update_many()
        .col_expr(
            messages::Column::AttemptedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(messages::Column::Id.eq(id.0))
        .exec(conn)
        .await?;
    Ok(())
}

/// A claimed message Meta accepted as `wamid`.
pub async fn mark_sent(
    conn: &impl ConnectionTrait,
    id: MessageId,
    wamid: &str,
) -> Result<(), DbErr> {
    finish_queued(id)
        .col_expr(messages::Column::Wamid, Expr::value(wamid))
        .col_expr(
            messages::Column::Status,
            Expr::value(MessageStatus::Sent.as_str()),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// The update that ends the send of claimed message `id` (while it is still QUEUED).
fn finish_queued(id: MessageId) -> sea_orm::UpdateMany<messages::Entity> {
    messages::Entity::update_many()
        .col_expr(
            messages::Column::AttemptedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(messages::Column::Id.eq(id.0))
        .filter(messages::Column::Status.eq(MessageStatus::Queued.as_str()))
}

/// A queued message that will not be sent: FAILED or SKIPPED, with why.
pub async fn mark_unsent(
    conn: &impl ConnectionTrait,
    id: MessageId,
    status: MessageStatus,
    error_code: Option<i64>,
    error_message: &str,
) -> Result<(), DbErr> {
    finish_queued(id)
        .col_expr(messages::Column::Status, Expr::value(status.as_str()))
        .col_expr(messages::Column::ErrorCode, Expr::value(error_code))
        .col_expr(messages::Column::ErrorMessage, Expr::value(error_message))
        .exec(conn)
        .await?;
    Ok(())
}

/// The tenant's outbound message Meta knows as `wamid`: its id, conversation and status.
pub async fn find_by_wamid(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    wamid: &str,
) -> AppResult<Option<(MessageId, ConversationId, MessageStatus)>> {
    let row = messages::Entity::find()
        .filter(messages::Column::Wamid.eq(wamid))
        .filter(messages::Column::TenantId.eq(tenant.0))
        .filter(messages::Column::Direction.eq(Direction::Outbound.as_str()))
        .one(conn)
        .await?;
    row.map(|row| {
        let status = MessageStatus::parse_stored(&row.status)?;
        Ok((
            MessageId(row.id),
            ConversationId(row.conversation_id),
            status,
        ))
    })
    .transpose()
}

/// Moves message `id` from `from` to the reported status; false when it is no longer in `from`
/// (another report moved it meanwhile).
pub async fn advance_status(
    conn: &impl ConnectionTrait,
    id: MessageId,
    from: MessageStatus,
    report: &StatusReport,
) -> Result<bool, DbErr> {
    let mut update = messages::Entity::update_many()
        .col_expr(
            messages::Column::Status,
            Expr::value(report.status.as_str()),
        )
        .filter(messages::Column::Id.eq(id.0))
        .filter(messages::Column::Status.eq(from.as_str()));
    if report.status == MessageStatus::Failed {
        update = update
            .col_expr(messages::Column::ErrorCode, Expr::value(report.error_code))
            .col_expr(
                messages::Column::ErrorMessage,
                Expr::value(report.error_message.clone()),
            );
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// A status reported for a `wamid` no recorded send carries yet.
pub async fn find_pending_status(
    conn: &impl ConnectionTrait,
    wamid: &str,
) -> AppResult<Option<(TenantId, StatusReport)>> {
    let row = pending_statuses::Entity::find_by_id(wamid)
        .one(conn)
        .await?;
    row.map(|row| {
        Ok((
            TenantId(row.tenant_id),
            StatusReport {
                status: MessageStatus::parse_stored(&row.status)?,
                wamid: row.wamid,
                error_code: row.error_code,
                error_message: row.error_message,
            },
        ))
    })
    .transpose()
}

/// Keeps `report` for later; false when one is kept already (the caller keeps the furthest).
pub async fn insert_pending_status(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    report: &StatusReport,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = pending_statuses::Entity::insert(pending_statuses::ActiveModel {
        wamid: Set(report.wamid.clone()),
        tenant_id: Set(tenant.0),
        status: Set(report.status.as_str().to_owned()),
        error_code: Set(report.error_code),
        error_message: Set(report.error_message.clone()),
        received_at: Set(now),
    })
    .on_conflict_do_nothing_on([pending_statuses::Column::Wamid])
    .exec(conn)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(_)))
}

/// Replaces the kept status of `report.wamid`, if it is still `from`.
pub async fn replace_pending_status(
    conn: &impl ConnectionTrait,
    from: MessageStatus,
    report: &StatusReport,
) -> Result<(), DbErr> {
    pending_statuses::Entity::update_many()
        .col_expr(
            pending_statuses::Column::Status,
            Expr::value(report.status.as_str()),
        )
        .col_expr(
            pending_statuses::Column::ErrorCode,
            Expr::value(report.error_code),
        )
        .col_expr(
            pending_statuses::Column::ErrorMessage,
            Expr::value(report.error_message.clone()),
        )
        .filter(pending_statuses::Column::Wamid.eq(&report.wamid))
        .filter(pending_statuses::Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn delete_pending_status(conn: &impl ConnectionTrait, wamid: &str) -> Result<(), DbErr> {
    pending_statuses::Entity::delete_by_id(wamid)
        .exec(conn)
        .await?;
    Ok(())
}

/// The tenant's conversations matching `filter`.
fn inbox(tenant: TenantId, filter: &InboxFilter) -> Select<conversations::Entity> {
    let mut query =
        conversations::Entity::find().filter(conversations::Column::TenantId.eq(tenant.0));
    if let Some(needs_attention) = filter.needs_attention {
        query = query.filter(conversations::Column::NeedsAttention.eq(needs_attention));
    }
    if let Some(search) = &filter.search {
        query = query.filter(
            conversations::Column::CustomerId
                .in_subquery(customers::service::matching_ids(tenant, search)),
        );
    }
    query
}

/// A page of the inbox, newest activity first, after the keyset cursor `after`.
pub async fn list_conversations(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &InboxFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Conversation>, DbErr> {
    let mut query = inbox(tenant, filter);
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any()
                .add(conversations::Column::LastMessageAt.lt(at))
                .add(
                    Condition::all()
                        .add(conversations::Column::LastMessageAt.eq(at))
                        .add(conversations::Column::Id.lt(id)),
                ),
        );
    }
    let rows = query
        .order_by_desc(conversations::Column::LastMessageAt)
        .order_by_desc(conversations::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Conversation::from).collect())
}

pub async fn count_conversations(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &InboxFilter,
) -> Result<u64, DbErr> {
    inbox(tenant, filter).count(conn).await
}

/// The tenant's conversation `id`.
pub async fn find_tenant_conversation(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Option<Conversation>, DbErr> {
    Ok(conversations::Entity::find_by_id(id.0)
        .filter(conversations::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?
        .map(Conversation::from))
}

/// The tenant's conversations among `ids`.
pub async fn find_conversations(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[ConversationId],
) -> Result<Vec<Conversation>, DbErr> {
    let rows = conversations::Entity::find()
        .filter(conversations::Column::TenantId.eq(tenant.0))
        .filter(conversations::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Conversation::from).collect())
}

/// The tenant's messages among `ids`.
pub async fn find_messages(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[MessageId],
) -> AppResult<Vec<Message>> {
    messages::Entity::find()
        .filter(messages::Column::TenantId.eq(tenant.0))
        .filter(messages::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(Message::try_from)
        .collect()
}

fn conversation_messages(
    tenant: TenantId,
    conversation: ConversationId,
) -> Select<messages::Entity> {
    messages::Entity::find()
        .filter(messages::Column::TenantId.eq(tenant.0))
        .filter(messages::Column::ConversationId.eq(conversation.0))
}

/// A page of a conversation's messages, newest first, after the keyset cursor `after`.
pub async fn list_messages(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    conversation: ConversationId,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Vec<Message>> {
    let mut query = conversation_messages(tenant, conversation);
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any().add(messages::Column::SentAt.lt(at)).add(
                Condition::all()
                    .add(messages::Column::SentAt.eq(at))
                    .add(messages::Column::Id.lt(id)),
            ),
        );
    }
    let newest_first = query
        .order_by_desc(messages::Column::SentAt)
        .order_by_desc(messages::Column::Id);
    read_messages(conn, newest_first, limit).await
}

/// At most `limit` messages of `query`, decoded.
async fn read_messages(
    conn: &impl ConnectionTrait,
    query: Select<messages::Entity>,
    limit: u64,
) -> AppResult<Vec<Message>> {
    query
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(Message::try_from)
        .collect()
}

pub async fn count_messages(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    conversation: ConversationId,
) -> Result<u64, DbErr> {
    conversation_messages(tenant, conversation)
        .count(conn)
        .await
}

/// What a change of the state of a conversation sets; `None` leaves a column alone.
#[derive(Default)]
pub struct InboxChange {
    pub unread_count: Option<i32>,
    pub needs_attention: Option<bool>,
    pub bot_paused_until: Option<Option<DateTime<Utc>>>,
    pub notifications_off: Option<bool>,
    pub menu_state: Option<Option<String>>,
    /// Ends the turn that held the conversation.
    pub end_turn: bool,
}

/// Applies `change` to the tenant's conversation `id`; whether it exists.
pub async fn change_inbox_state(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ConversationId,
    change: InboxChange,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = conversations::Entity::update_many()
        .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
        .filter(conversations::Column::TenantId.eq(tenant.0))
        .filter(conversations::Column::Id.eq(id.0));
    if let Some(unread) = change.unread_count {
        update = update.col_expr(conversations::Column::UnreadCount, Expr::value(unread));
    }
    if let Some(needs_attention) = change.needs_attention {
        update = update.col_expr(
            conversations::Column::NeedsAttention,
            Expr::value(needs_attention),
        );
    }
    if let Some(paused) = change.bot_paused_until {
        update = update.col_expr(conversations::Column::BotPausedUntil, Expr::value(paused));
    }
    if let Some(off) = change.notifications_off {
        update = update.col_expr(conversations::Column::NotificationsOff, Expr::value(off));
    }
    if let Some(menu) = change.menu_state {
        update = update.col_expr(conversations::Column::MenuState, Expr::value(menu));
    }
    if change.end_turn {
        update = update.col_expr(
            conversations::Column::TurnStartedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// Starts a turn of `conversation` unless one started after `stale_before` holds it; the
/// conversation when this caller holds it now.
pub async fn claim_turn(
    conn: &impl ConnectionTrait,
    conversation: ConversationId,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<Option<Conversation>, DbErr> {
    let claimed = conversations::Entity::update_many()
        .col_expr(conversations::Column::TurnStartedAt, Expr::value(now))
        .filter(conversations::Column::Id.eq(conversation.0))
        .filter(
            Condition::any()
                .add(conversations::Column::TurnStartedAt.is_null())
                .add(conversations::Column::TurnStartedAt.lt(stale_before)),
        )
        .exec_with_returning(conn)
        .await?;
    Ok(claimed.into_iter().next().map(Conversation::from))
}

/// The conversation's inbound messages no turn has handled, in arrival order (at most `limit`).
pub async fn unhandled_inbound(
    conn: &impl ConnectionTrait,
    conversation: ConversationId,
    limit: u64,
) -> AppResult<Vec<Message>> {
    let unhandled = messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(conversation.0))
        .filter(messages::Column::Direction.eq(Direction::Inbound.as_str()))
        .filter(messages::Column::HandledAt.is_null())
        .order_by_asc(messages::Column::SentAt)
        .order_by_asc(messages::Column::Id);
    read_messages(conn, unhandled, limit).await
}

pub async fn mark_handled(
    conn: &impl ConnectionTrait,
    ids: &[MessageId],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    messages::Entity::update_many()
        .col_expr(messages::Column::HandledAt, Expr::value(now))
        .filter(messages::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .exec(conn)
        .await?;
    Ok(())
}
