//! The channel's work. Intake: a signed delivery is stored as received, with the job that
//! ingests it, and acknowledged; the job reads every entry, change, message and status, stores
//! each inbound message once and applies each status. Outbound: a message is a row first
//! (QUEUED), and a job sends a conversation's queued messages one at a time, in order.
//!
//! Sending never repeats a message Meta may have accepted: a send is claimed on its row before
//! the call (`attempted_at`), given back only when Meta certainly did not take it (no
//! connection, 429, 5xx, throughput codes), and a claim left by a crash or an unanswered call
//! ends the message as FAILED instead of sending it again.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{
    format, menu,
    model::{
        Conversation, ConversationChanged, ConversationEventKind, Envelope, Inbound, InboxFilter,
        IngestDelivery, Message, MessageKind, MessageStatus, MessagesValue, ProcessInbound,
        SendMessages, SentBy, StatusReport,
    },
    repo::{self, NewOutbound},
};
use crate::{
    clients::meta_graph::{GraphError, INVALID_TOKEN, Outgoing},
    db,
    domains::{customers, tenants, tenants::model::BotMode},
    jobs::{self, Held},
    kernel::{
        assistant::{AssistantAnswer, AssistantTurn, NOT_CONFIGURED},
        error::{AppError, AppResult},
        events::Event,
        ids::{ConversationId, CustomerId, MessageId, TenantId, UserId, WebhookDeliveryId},
        values::{E164Phone, parse_optional_text},
        viewer::{Role, Viewer},
    },
    state::AppState,
};

/// What one webhook delivery amounted to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Intake {
    /// New inbound messages stored.
    pub stored: usize,
    /// Messages stored before (Meta redelivers).
    pub duplicates: usize,
    /// Elements that could not be used: malformed, for an unknown number, an unknown field.
    pub skipped: usize,
}

/// Keeps a signed delivery (`body`, checked to be a WhatsApp payload) with the job that ingests
/// it, in one transaction: once this returns, nothing Meta sent can be lost. The job then runs
/// in this process, without waiting for the answer to Meta (its outbox row, held, covers a crash).
pub async fn accept(state: &AppState, body: String) -> AppResult<()> {
    let (delivery, insert) = repo::new_delivery(body, Utc::now());
    let held = state.jobs.hold(delivery.0);
    let job = IngestDelivery { delivery };
    jobs::insert_with_held_job(&state.db, insert, &job, held).await?;
    let ctx = state.in_background();
    state.jobs.spawn_held(&[held], job, ctx).await;
    Ok(())
}

/// Stores the messages of delivery `id` (the job's work); a delivery already ingested is left
/// alone, and one interrupted half-way is ingested again (messages stored before are skipped).
pub async fn ingest(state: &AppState, id: WebhookDeliveryId) -> AppResult<Option<Intake>> {
    let Some(body) = repo::find_unprocessed_delivery(&state.db, id).await? else {
        return Ok(None);
    };
    let intake = match serde_json::from_str::<Envelope>(&body) {
        Ok(envelope) => receive(state, envelope).await?,
        // The webhook checked it; only a change of this code could get here.
        Err(err) => {
            tracing::error!(%err, %id, "a stored WhatsApp delivery does not parse");
            Intake::default()
        }
    };
    repo::mark_delivery_processed(&state.db, id, Utc::now()).await?;
    Ok(Some(intake))
}

/// How long a delivery is kept once its messages are stored (audit, and replaying it by hand).
pub const DELIVERY_RETENTION_DAYS: i64 = 30;

/// Deletes the deliveries ingested more than [`DELIVERY_RETENTION_DAYS`] before `now`; how many.
/// One not ingested yet is never deleted.
pub async fn purge_deliveries(state: &AppState, now: DateTime<Utc>) -> AppResult<u64> {
    let before = now - Duration::days(DELIVERY_RETENTION_DAYS);
    Ok(repo::delete_processed_deliveries(&state.db, before).await?)
}

/// Stores every inbound message of `envelope`. What cannot be used is logged and skipped, never
/// refused: a refusal makes Meta retry the whole batch for days.
async fn receive(state: &AppState, envelope: Envelope) -> AppResult<Intake> {
    let mut intake = Intake::default();
    for change in envelope.entry.into_iter().flat_map(|entry| entry.changes) {
        if change.field != "messages" {
            tracing::warn!(field = %change.field, "ignoring a WhatsApp webhook field");
            intake.skipped += 1;
            continue;
        }
        let value: MessagesValue = match serde_json::from_value(change.value) {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(%err, "ignoring a malformed WhatsApp messages change");
                intake.skipped += 1;
                continue;
            }
        };
        let Some(metadata) = &value.metadata else {
            tracing::warn!("ignoring a WhatsApp messages change without metadata");
            intake.skipped += 1;
            continue;
        };
        let tenant =
            tenants::service::find_by_phone_number_id(&state.db, &metadata.phone_number_id).await?;
        let Some(tenant) = tenant else {
            tracing::warn!(phone_number_id = %metadata.phone_number_id, "ignoring WhatsApp messages to a number no tenant connected");
            intake.skipped += value.messages.len();
            continue;
        };
        for raw in &value.messages {
            let inbound = match Inbound::parse(raw) {
                Ok(inbound) => inbound,
                Err(reason) => {
                    tracing::warn!(reason, "skipping a malformed WhatsApp message");
                    intake.skipped += 1;
                    continue;
                }
            };
            let name = value
                .contacts
                .iter()
                .find(|contact| Some(contact.wa_id.as_str()) == raw["from"].as_str())
                .and_then(|contact| contact.profile.as_ref()?.name.as_deref());
            if store(state, tenant.id, &inbound, name).await? {
                intake.stored += 1;
            } else {
                intake.duplicates += 1;
            }
        }
        for raw in &value.statuses {
            match StatusReport::parse(raw) {
                Ok(report) => apply_status(state, tenant.id, &report).await?,
                Err(reason) => {
                    tracing::warn!(reason, "skipping a malformed WhatsApp status");
                    intake.skipped += 1;
                }
            }
        }
    }
    Ok(intake)
}

/// Stores `inbound` for `tenant` with its customer (found or created by phone, named after the
/// WhatsApp profile) and conversation, with the job that processes it, in one transaction;
/// `false` when it was stored before.
async fn store(
    state: &AppState,
    tenant: TenantId,
    inbound: &Inbound,
    name: Option<&str>,
) -> AppResult<bool> {
    let now = Utc::now();
    let txn = db::begin_write(&state.db).await?;
    let customer =
        customers::service::find_or_create_by_phone(&txn, tenant, &inbound.from, name).await?;
    let conversation = repo::find_or_insert_conversation(&txn, tenant, customer.id, now)
        .await?
        .id;
    let Some(message) = repo::insert_inbound(&txn, tenant, conversation, inbound, now).await?
    else {
        // Stored before (Meta redelivers): its job was written then.
        txn.commit().await?;
        return Ok(false);
    };
    repo::record_inbound(&txn, conversation, message, inbound.sent_at, now).await?;
    let held = state.jobs.hold(message.0);
    jobs::enqueue_held(&txn, &ProcessInbound { message }, held).await?;
    txn.commit().await?;
    // Messages of one delivery (Meta batches them) are answered side by side.
    let ctx = state.in_background();
    (state.jobs)
        .spawn_held(&[held], ProcessInbound { message }, ctx)
        .await;
    publish(
        state,
        tenant,
        ConversationEventKind::MessageReceived,
        conversation,
        Some(message),
    )
    .await;
    Ok(true)
}

async fn publish(
    state: &AppState,
    tenant: TenantId,
    kind: ConversationEventKind,
    conversation: ConversationId,
    message: Option<MessageId>,
) {
    let payload = ConversationChanged {
        kind,
        conversation,
        message,
    };
    state.broker.publish(Event::new(tenant, &payload)).await;
}

/// Applies a status Meta reported to the outbound message it names, only ever forward. A status
/// that overtook the recording of its send is kept, and applied once the send is recorded.
async fn apply_status(state: &AppState, tenant: TenantId, report: &StatusReport) -> AppResult<()> {
    // A concurrent report can move the message between the read and the guarded update.
    for _ in 0..3 {
        let Some((message, conversation, current)) =
            repo::find_by_wamid(&state.db, tenant, &report.wamid).await?
        else {
            keep_pending(state, tenant, report).await?;
            // The send may have been recorded meanwhile, without seeing the kept status.
            return apply_pending(state, &report.wamid).await;
        };
        if !current.advances_to(report.status) {
            return Ok(());
        }
        if repo::advance_status(&state.db, message, current, report).await? {
            publish(
                state,
                tenant,
                ConversationEventKind::MessageStatus,
                conversation,
                Some(message),
            )
            .await;
            return Ok(());
        }
    }
    Ok(())
}

/// Keeps the furthest status reported for a `wamid` that no recorded send carries yet.
async fn keep_pending(state: &AppState, tenant: TenantId, report: &StatusReport) -> AppResult<()> {
    if repo::insert_pending_status(&state.db, tenant, report, Utc::now()).await? {
        return Ok(());
    }
    if let Some((_, kept)) = repo::find_pending_status(&state.db, &report.wamid).await?
        && kept.status.advances_to(report.status)
    {
        repo::replace_pending_status(&state.db, kept.status, report).await?;
    }
    Ok(())
}

/// Applies the kept status of `wamid` to its message, once both exist.
async fn apply_pending(state: &AppState, wamid: &str) -> AppResult<()> {
    let Some((tenant, report)) = repo::find_pending_status(&state.db, wamid).await? else {
        return Ok(());
    };
    if repo::find_by_wamid(&state.db, tenant, wamid)
        .await?
        .is_none()
    {
        return Ok(());
    }
    repo::delete_pending_status(&state.db, wamid).await?;
    Box::pin(apply_status(state, tenant, &report)).await
}

/// Who writes an outbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Author {
    /// The assistant, answering the customer's message with this `wamid` (none for a notice).
    Bot {
        answering: Option<String>,
    },
    Staff(UserId),
}

/// What to do with a free-form message when the 24-hour window is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutsideWindow {
    /// BAD_USER_INPUT naming when the window closed (a person can send a template instead).
    Refuse,
    /// Record it as SKIPPED with the reason, never sent.
    Skip,
}

/// Queues `message` in `conversation` through `conn` (the caller's transaction), with the job
/// that sends it; a long text becomes several messages. Call [`queued`] after the commit.
pub async fn queue(
    conn: &impl sea_orm::ConnectionTrait,
    conversation: &Conversation,
    message: Outgoing,
    author: Author,
    outside: OutsideWindow,
    now: DateTime<Utc>,
) -> AppResult<Vec<MessageId>> {
    let closed = message.is_free_form() && !conversation.window_is_open(now);
    if closed && outside == OutsideWindow::Refuse {
        let detail = match conversation.window_closes_at() {
            Some(at) => format!("a janela de 24 horas fechou em {}", at.to_rfc3339()),
            None => "o cliente ainda não escreveu".to_owned(),
        };
        return Err(AppError::bad_input(
            "conversationId",
            format!(
                "Fora da janela de atendimento do WhatsApp ({detail}); envie um modelo aprovado"
            ),
        ));
    }
    write(
        conn,
        conversation,
        message,
        author,
        closed.then_some(OUTSIDE_WINDOW),
        now,
    )
    .await
}

/// Writes `message` as rows of `conversation`: QUEUED with the job that sends them, or SKIPPED
/// with `skipped`'s reason and never sent. The job's outbox row is held, with the first
/// message's id, for [`queued`] to run it in this process after the commit.
async fn write(
    conn: &impl sea_orm::ConnectionTrait,
    conversation: &Conversation,
    message: Outgoing,
    author: Author,
    skipped: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Vec<MessageId>> {
    let (sent_by, sent_by_user, reply_to) = match author {
        Author::Bot { answering } => (SentBy::Bot, None, answering),
        Author::Staff(user) => (SentBy::Staff, Some(user), None),
    };
    let mut ids = Vec::new();
    for message in compose(message) {
        let (kind, body) = describe(&message);
        let row = NewOutbound {
            conversation,
            kind,
            body,
            content: serde_json::to_string(&message).map_err(anyhow::Error::from)?,
            status: if skipped.is_some() {
                MessageStatus::Skipped
            } else {
                MessageStatus::Queued
            },
            sent_by,
            sent_by_user,
            reply_to: reply_to.clone(),
            error_message: skipped.map(str::to_owned),
        };
        ids.push(repo::insert_outbound(conn, row, now).await?);
    }
    if skipped.is_none()
        && let Some(first) = ids.first()
    {
        let job = SendMessages {
            conversation: conversation.id,
        };
        jobs::enqueue_held(conn, &job, Held::new(first.0, now)).await?;
    }
    Ok(ids)
}

/// A notice to a customer: its text, and the template sent instead outside the 24-hour window.
pub struct Notice {
    pub text: String,
    pub template: Option<Outgoing>,
}

/// Queues `notice` to `customer` of `tenant` through `conn` (the caller's transaction), in their
/// conversation (created if they never wrote): the text within the 24-hour window, else the
/// template, else SKIPPED with the reason; SKIPPED too when the customer opted out of notices.
/// Call [`queued`] with the answer after the commit.
pub async fn notify(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
    notice: Notice,
    now: DateTime<Utc>,
) -> AppResult<(Conversation, Vec<MessageId>)> {
    let conversation = repo::find_or_insert_conversation(conn, tenant, customer, now).await?;
    let author = Author::Bot { answering: None };
    let text = Outgoing::Text { body: notice.text };
    let ids = match notice.template {
        _ if conversation.notifications_off => {
            write(conn, &conversation, text, author, Some(OPTED_OUT), now).await?
        }
        Some(template) if !conversation.window_is_open(now) => {
            write(conn, &conversation, template, author, None, now).await?
        }
        _ => queue(conn, &conversation, text, author, OutsideWindow::Skip, now).await?,
    };
    Ok((conversation, ids))
}

const OPTED_OUT: &str = "the customer opted out of notices (PARAR): not sent";

const OUTSIDE_WINDOW: &str =
    "outside WhatsApp's 24-hour window and no template is configured: not sent";

/// After the commit of [`queue`]: the messages are sent by this process (their job's held rows
/// carry the ids of the first message of each write, see [`write`]) and the inbox hears of them.
pub async fn queued(state: &AppState, conversation: &Conversation, messages: &[MessageId]) {
    let now = state.clock.now();
    let rows: Vec<Held> = messages
        .iter()
        .map(|message| Held::new(message.0, now))
        .collect();
    let job = SendMessages {
        conversation: conversation.id,
    };
    state
        .jobs
        .spawn_held(&rows, job, state.in_background())
        .await;
    for message in messages {
        publish(
            state,
            conversation.tenant_id,
            ConversationEventKind::MessageSent,
            conversation.id,
            Some(*message),
        )
        .await;
    }
}

/// The messages `message` is sent as: a text formatted for WhatsApp and split to its limit, the
/// body of an interactive message formatted.
fn compose(message: Outgoing) -> Vec<Outgoing> {
    let whole = |body: &str| {
        format::for_whatsapp(body, usize::MAX)
            .pop()
            .unwrap_or_default()
    };
    match message {
        Outgoing::Text { body } => format::for_whatsapp(&body, format::MAX_TEXT_CHARS)
            .into_iter()
            .map(|body| Outgoing::Text { body })
            .collect(),
        Outgoing::Buttons { body, buttons } => vec![Outgoing::Buttons {
            body: whole(&body),
            buttons,
        }],
        Outgoing::List { body, button, rows } => vec![Outgoing::List {
            body: whole(&body),
            button,
            rows,
        }],
        template @ Outgoing::Template { .. } => vec![template],
    }
}

/// The stored kind and the text a person reads of `message`.
fn describe(message: &Outgoing) -> (MessageKind, String) {
    match message {
        Outgoing::Text { body } => (MessageKind::Text, body.clone()),
        Outgoing::Buttons { body, .. } | Outgoing::List { body, .. } => {
            (MessageKind::Interactive, body.clone())
        }
        Outgoing::Template {
            name, parameters, ..
        } => {
            let shown = if parameters.is_empty() {
                name.clone()
            } else {
                format!("{name}: {}", parameters.join(", "))
            };
            (MessageKind::Template, shown)
        }
    }
}

/// A send that started this long ago and never finished was cut by a crash (the HTTP client
/// gives up on Meta well before).
const IN_FLIGHT_TIMEOUT: Duration = Duration::seconds(90);

/// Sends the conversation's queued messages, oldest first, one at a time (the job's work). An
/// `Err` means Meta asked to come back later: the job is retried with backoff, and the message
/// waits at the head of the queue.
pub async fn send_queued(state: &AppState, conversation: ConversationId) -> anyhow::Result<()> {
    let Some(conversation) = repo::find_conversation(&state.db, conversation).await? else {
        return Ok(());
    };
    let tenant = conversation.tenant_id;
    let customer = customers::service::find(&state.db, tenant, conversation.customer_id).await?;
    let mut route = None;
    while let Some(next) = repo::next_queued(&state.db, conversation.id).await? {
        let now = state.clock.now();
        if let Some(started) = next.attempted_at {
            if now - started < IN_FLIGHT_TIMEOUT {
                // Another worker is sending it; it goes on with the rest of the queue.
                return Ok(());
            }
            let reason =
                "the send was interrupted; not repeated, since WhatsApp may have delivered it";
            finish_unsent(
                state,
                &conversation,
                next.id,
                MessageStatus::Failed,
                None,
                reason,
            )
            .await?;
            continue;
        }
        if next.message.is_free_form() && !conversation.window_is_open(now) {
            let reason = "WhatsApp's 24-hour window closed before it could be sent";
            finish_unsent(
                state,
                &conversation,
                next.id,
                MessageStatus::Skipped,
                None,
                reason,
            )
            .await?;
            continue;
        }
        if !repo::claim(&state.db, next.id, now).await? {
            return Ok(());
        }
        let current = match route.take() {
            Some(known) => known,
            None => Route::of(state, tenant).await?,
        };
        let sent = match route.insert(current) {
            Route::Graph(sender) => {
                state
                    .clients
                    .meta_graph
                    .send(
                        sender.token.expose_secret(),
                        &sender.phone_number_id,
                        &customer.phone,
                        &next.message,
                    )
                    .await
            }
            Route::DryRun => {
                tracing::info!(%tenant, to = %customer.phone, message = ?next.message, "dry-run: WhatsApp is not configured; message not sent");
                Ok(format!("dryrun.{}", next.id))
            }
            Route::Disconnected => {
                let reason = "WhatsApp is not connected (or Meta refused its token)";
                finish_unsent(
                    state,
                    &conversation,
                    next.id,
                    MessageStatus::Failed,
                    None,
                    reason,
                )
                .await?;
                continue;
            }
        };
        match sent {
            Ok(wamid) => {
                repo::mark_sent(&state.db, next.id, &wamid).await?;
                publish(
                    state,
                    tenant,
                    ConversationEventKind::MessageSent,
                    conversation.id,
                    Some(next.id),
                )
                .await;
                apply_pending(state, &wamid).await?;
            }
            Err(err) if err.is_transient() => {
                if (next.attempts + 1) as u32 >= state.settings.worker.max_attempts {
                    let reason = format!("gave up after {} attempts: {err}", next.attempts + 1);
                    finish_unsent(
                        state,
                        &conversation,
                        next.id,
                        MessageStatus::Failed,
                        None,
                        &reason,
                    )
                    .await?;
                    continue;
                }
                repo::release(&state.db, next.id).await?;
                return Err(anyhow::Error::from(err).context("WhatsApp asked to send later"));
            }
            Err(GraphError::Refused { code, message }) => {
                if code == Some(INVALID_TOKEN) {
                    tenants::service::whatsapp_token_refused(state, tenant).await?;
                    route = Some(Route::Disconnected);
                }
                finish_unsent(
                    state,
                    &conversation,
                    next.id,
                    MessageStatus::Failed,
                    code,
                    &message,
                )
                .await?;
            }
            Err(err) => {
                tracing::warn!(%tenant, message = %next.id, %err, "a WhatsApp send got no answer; not repeating it");
                let reason =
                    "WhatsApp did not answer; not repeated, since it may have delivered it";
                finish_unsent(
                    state,
                    &conversation,
                    next.id,
                    MessageStatus::Failed,
                    None,
                    reason,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// How a tenant's messages go out.
enum Route {
    /// Through the Graph API with the tenant's number and token.
    Graph(tenants::model::WhatsAppSender),
    /// The platform has no WhatsApp configured (the embedded default): logged, recorded as SENT.
    DryRun,
    /// The platform has WhatsApp, but this tenant is not connected (or its token was refused).
    Disconnected,
}

impl Route {
    async fn of(state: &AppState, tenant: TenantId) -> AppResult<Self> {
        if !state.settings.whatsapp.is_configured() {
            return Ok(Self::DryRun);
        }
        Ok(
            match tenants::service::whatsapp_sender(state, tenant).await? {
                Some(sender) => Self::Graph(sender),
                None => Self::Disconnected,
            },
        )
    }
}

async fn finish_unsent(
    state: &AppState,
    conversation: &Conversation,
    message: MessageId,
    status: MessageStatus,
    code: Option<i64>,
    reason: &str,
) -> AppResult<()> {
    repo::mark_unsent(&state.db, message, status, code, reason).await?;
    publish(
        state,
        conversation.tenant_id,
        ConversationEventKind::MessageSent,
        conversation.id,
        Some(message),
    )
    .await;
    Ok(())
}

/// A page of the viewer's inbox, newest activity first: the conversations, whether more follow,
/// and how many match.
pub async fn list_conversations(
    state: &AppState,
    viewer: &Viewer,
    filter: &InboxFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<(Vec<Conversation>, bool, u64)> {
    let tenant = viewer.tenant()?;
    let (rows, total) = futures_util::try_join!(
        repo::list_conversations(&state.db, tenant, filter, after, limit + 1),
        repo::count_conversations(&state.db, tenant, filter),
    )?;
    Ok(page(rows, limit, total))
}

/// A page from `rows` read with one more than `limit`: the page, whether more follow, `total`.
fn page<T>(mut rows: Vec<T>, limit: u64, total: u64) -> (Vec<T>, bool, u64) {
    let has_next = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    (rows, has_next, total)
}

/// The viewer's conversation `id` (NOT_FOUND for another tenant's).
pub async fn find_conversation(
    state: &AppState,
    viewer: &Viewer,
    id: ConversationId,
) -> AppResult<Conversation> {
    repo::find_tenant_conversation(&state.db, viewer.tenant()?, id)
        .await?
        .ok_or(AppError::NotFound("conversation"))
}

/// The tenant's conversations among `ids` (for loaders).
pub async fn find_conversations(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    ids: &[ConversationId],
) -> AppResult<HashMap<ConversationId, Conversation>> {
    let rows = repo::find_conversations(conn, tenant, ids).await?;
    Ok(rows.into_iter().map(|c| (c.id, c)).collect())
}

/// The tenant's messages among `ids` (for loaders).
pub async fn find_messages(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    ids: &[MessageId],
) -> AppResult<HashMap<MessageId, Message>> {
    let rows = repo::find_messages(conn, tenant, ids).await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// A page of a conversation's messages, newest first.
pub async fn list_messages(
    state: &AppState,
    conversation: &Conversation,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<(Vec<Message>, bool, u64)> {
    let (tenant, id) = (conversation.tenant_id, conversation.id);
    let (rows, total) = futures_util::try_join!(
        repo::list_messages(&state.db, tenant, id, after, limit + 1),
        async { Ok(repo::count_messages(&state.db, tenant, id).await?) },
    )?;
    Ok(page(rows, limit, total))
}

/// The business answers in conversation `id` (a text, or a template outside the window): the
/// message is queued, the bot pauses there for the tenant's `humanTakeoverHours`, and the
/// conversation is read and no longer needs attention. The first message queued.
pub async fn send_as_staff(
    state: &AppState,
    viewer: &Viewer,
    id: ConversationId,
    message: Outgoing,
) -> AppResult<Message> {
    let tenant = tenants::service::find(&state.db, viewer.tenant()?).await?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let conversation = repo::find_tenant_conversation(&txn, tenant.id, id)
        .await?
        .ok_or(AppError::NotFound("conversation"))?;
    let author = Author::Staff(viewer.user_id);
    let ids = queue(
        &txn,
        &conversation,
        message,
        author,
        OutsideWindow::Refuse,
        now,
    )
    .await?;
    let change = repo::InboxChange {
        unread_count: Some(0),
        needs_attention: Some(false),
        bot_paused_until: Some(Some(
            now + Duration::hours(tenant.human_takeover_hours.into()),
        )),
        ..Default::default()
    };
    repo::change_inbox_state(&txn, tenant.id, id, change, now).await?;
    let first = ids
        .first()
        .copied()
        .ok_or_else(|| AppError::bad_input("text", "text must not be blank"))?;
    let message = repo::find_messages(&txn, tenant.id, &[first])
        .await?
        .pop()
        .ok_or(AppError::NotFound("message"))?;
    txn.commit().await?;
    queued(state, &conversation, &ids).await;
    Ok(message)
}

/// The bot answers conversation `id` again, at once.
pub async fn resume_bot(
    state: &AppState,
    viewer: &Viewer,
    id: ConversationId,
) -> AppResult<Conversation> {
    let change = repo::InboxChange {
        needs_attention: Some(false),
        bot_paused_until: Some(None),
        ..Default::default()
    };
    let conversation = change_inbox(state, viewer, id, change).await?;
    publish(
        state,
        conversation.tenant_id,
        ConversationEventKind::BotResumed,
        id,
        None,
    )
    .await;
    Ok(conversation)
}

/// The business has read conversation `id`.
pub async fn mark_read(
    state: &AppState,
    viewer: &Viewer,
    id: ConversationId,
) -> AppResult<Conversation> {
    let change = repo::InboxChange {
        unread_count: Some(0),
        ..Default::default()
    };
    change_inbox(state, viewer, id, change).await
}

async fn change_inbox(
    state: &AppState,
    viewer: &Viewer,
    id: ConversationId,
    change: repo::InboxChange,
) -> AppResult<Conversation> {
    let tenant = viewer.tenant()?;
    if !repo::change_inbox_state(&state.db, tenant, id, change, state.clock.now()).await? {
        return Err(AppError::NotFound("conversation"));
    }
    find_conversation(state, viewer, id).await
}

/// A customer's message typed in GraphiQL instead of WhatsApp: what `simulateInboundMessage`
/// feeds into the webhook's pipeline.
pub struct SimulatedInbound {
    pub from: E164Phone,
    pub name: Option<String>,
    pub text: String,
    /// The id of a button or list row the customer "tapped"; `text` is its title.
    pub reply_id: Option<String>,
}

/// Stores `simulated` as a message from a customer of the viewer's tenant, exactly as the
/// webhook would, and returns it. Allowed only while the platform has no WhatsApp configured (the
/// embedded default, where replies are dry-runs) or for ADMIN: it bypasses Meta's signature.
pub async fn simulate_inbound(
    state: &AppState,
    viewer: &Viewer,
    simulated: SimulatedInbound,
) -> AppResult<Message> {
    if state.settings.whatsapp.is_configured() && viewer.role != Role::Admin {
        return Err(AppError::Forbidden(
            "simulated messages are only accepted while WhatsApp is not configured".into(),
        ));
    }
    let tenant = viewer.tenant()?;
    let text = parse_optional_text("text", Some(simulated.text), format::MAX_TEXT_CHARS)?
        .ok_or_else(|| AppError::bad_input("text", "text must not be blank"))?;
    let name = simulated
        .name
        .map(|name| parse_optional_text("name", Some(name), 120))
        .transpose()?
        .flatten();
    let (kind, content) = match simulated.reply_id {
        Some(id) if id.chars().count() <= 256 => (
            MessageKind::ButtonReply,
            Some(serde_json::json!({"id": id, "description": null})),
        ),
        Some(_) => return Err(AppError::bad_input("replyId", "replyId is too long")),
        None => (MessageKind::Text, None),
    };
    let inbound = Inbound {
        wamid: format!("simulated.{}", Uuid::now_v7()),
        from: simulated.from,
        sent_at: state.clock.now(),
        kind,
        body: Some(text),
        content,
        reply_to: None,
    };
    store(state, tenant, &inbound, name.as_deref()).await?;
    let message = repo::find_by_wamid_inbound(&state.db, tenant, &inbound.wamid)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    Ok(message)
}

/// The most a person of the business writes in one `sendMessage` (sent as several messages).
const MAX_STAFF_TEXT_CHARS: usize = 20_000;

/// A text the business sends: not blank, at most [`MAX_STAFF_TEXT_CHARS`].
pub fn parse_staff_text(text: String) -> AppResult<Outgoing> {
    let body = parse_optional_text("text", Some(text), MAX_STAFF_TEXT_CHARS)?
        .ok_or_else(|| AppError::bad_input("text", "text must not be blank"))?;
    Ok(Outgoing::Text { body })
}

/// A template to send: Meta's name rules (lower-case letters, digits, `_`), a language code such
/// as `pt_BR` (the default), and at most 20 body parameters of at most 1,024 characters.
pub fn parse_template(
    name: String,
    language: Option<String>,
    parameters: Vec<String>,
) -> AppResult<Outgoing> {
    let name = parse_template_name(&name)?;
    let language = parse_template_language(language)?;
    if parameters.len() > 20 {
        return Err(AppError::bad_input("parameters", "at most 20 parameters"));
    }
    let parameters = parameters
        .into_iter()
        .map(|parameter| {
            parse_optional_text("parameters", Some(parameter), 1024)?
                .ok_or_else(|| AppError::bad_input("parameters", "parameters must not be blank"))
        })
        .collect::<AppResult<_>>()?;
    Ok(Outgoing::Template {
        name,
        language,
        parameters,
    })
}

/// A template's name as Meta names them: 1 to 512 lower-case letters, digits and `_`.
pub fn parse_template_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let valid = (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(AppError::bad_input(
            "name",
            "name must be the template's name: lower-case letters, digits and _",
        ));
    }
    Ok(name.to_owned())
}

/// A template's language code such as `pt_BR` or `en` ([`DEFAULT_TEMPLATE_LANGUAGE`] when none).
pub fn parse_template_language(language: Option<String>) -> AppResult<String> {
    let language = language.map_or_else(
        || DEFAULT_TEMPLATE_LANGUAGE.to_owned(),
        |l| l.trim().to_owned(),
    );
    let lower =
        |part: &str| (2..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_lowercase());
    let valid = match language.split_once('_') {
        Some((lang, region)) => {
            lower(lang) && region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase())
        }
        None => lower(&language),
    };
    if !valid {
        return Err(AppError::bad_input(
            "language",
            "language must be a code such as pt_BR or en",
        ));
    }
    Ok(language)
}

/// The language of a template when none is given.
pub const DEFAULT_TEMPLATE_LANGUAGE: &str = "pt_BR";

/// Handles a stored inbound message (the job's work): marks it read on WhatsApp (when the tenant
/// is connected), then answers the conversation.
pub async fn process_inbound(state: &AppState, message: MessageId) -> anyhow::Result<()> {
    let Some((tenant, conversation, wamid)) = repo::find_inbound(&state.db, message).await? else {
        return Ok(());
    };
    if let Route::Graph(sender) = Route::of(state, tenant).await? {
        let marked = state
            .clients
            .meta_graph
            .mark_read(
                sender.token.expose_secret(),
                &sender.phone_number_id,
                &wamid,
            )
            .await;
        match marked {
            Ok(()) => {}
            // Meta will not change its mind on a retry (a revoked token, an unknown message).
            Err(GraphError::Refused { code, message }) => {
                tracing::warn!(%tenant, ?code, message, "Meta refused to mark a message read");
            }
            Err(err) => return Err(err.into()),
        }
    }
    answer(state, conversation).await
}

/// How long a turn may hold its conversation before another one takes over (a crash mid-turn).
const TURN_TIMEOUT: Duration = Duration::minutes(2);

/// The most customer messages one turn answers together.
const MAX_TURN_MESSAGES: u64 = 50;

/// Answers the customer's unanswered messages of `conversation`, one turn at a time on every
/// instance: a turn claims the conversation, reads what arrived (messages that came during the
/// previous turn are answered together), and in one transaction queues its replies, stores the
/// menu's state, marks the messages handled and ends the turn, so a turn run again after a crash
/// never replies twice. A caller that finds a turn running leaves its message to it: the running
/// turn looks again after it ends.
pub async fn answer(state: &AppState, id: ConversationId) -> anyhow::Result<()> {
    loop {
        let now = state.clock.now();
        let Some(conversation) = repo::claim_turn(&state.db, id, now, now - TURN_TIMEOUT).await?
        else {
            return Ok(());
        };
        let batch = match repo::unhandled_inbound(&state.db, id, MAX_TURN_MESSAGES).await {
            Ok(batch) => batch,
            Err(err) => {
                end_turn(state, &conversation).await?;
                return Err(err.into());
            }
        };
        if batch.is_empty() {
            end_turn(state, &conversation).await?;
        } else if let Err(err) = take_turn(state, &conversation, &batch, now).await {
            end_turn(state, &conversation).await?;
            return Err(err.into());
        }
        // A message stored meanwhile found the turn taken and left it to this one.
        if repo::unhandled_inbound(&state.db, id, 1).await?.is_empty() {
            return Ok(());
        }
    }
}

async fn end_turn(state: &AppState, conversation: &Conversation) -> AppResult<()> {
    let change = repo::InboxChange {
        end_turn: true,
        ..Default::default()
    };
    let (tenant, id) = (conversation.tenant_id, conversation.id);
    repo::change_inbox_state(&state.db, tenant, id, change, Utc::now()).await?;
    Ok(())
}

/// What a turn decided.
#[derive(Default)]
struct Turn {
    replies: Vec<Outgoing>,
    change: repo::InboxChange,
    needs_attention: bool,
}

impl Turn {
    /// The conversation now needs a person of the business (stored, and told to the dashboard).
    fn hand_to_person(&mut self) {
        self.change.needs_attention = Some(true);
        self.needs_attention = true;
    }
}

async fn take_turn(
    state: &AppState,
    conversation: &Conversation,
    batch: &[Message],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let id = conversation.id;
    let turn = decide(state, conversation, batch, now).await?;
    let txn = db::begin_write(&state.db).await?;
    let mut queued_ids = Vec::new();
    // What the turn answers: the latest message of the batch.
    let answering = batch.last().and_then(|message| message.wamid.clone());
    for reply in turn.replies {
        let author = Author::Bot {
            answering: answering.clone(),
        };
        let ids = queue(&txn, conversation, reply, author, OutsideWindow::Skip, now).await?;
        queued_ids.extend(ids);
    }
    let change = repo::InboxChange {
        end_turn: true,
        ..turn.change
    };
    repo::change_inbox_state(&txn, conversation.tenant_id, id, change, now).await?;
    let handled: Vec<MessageId> = batch.iter().map(|message| message.id).collect();
    repo::mark_handled(&txn, &handled, now).await?;
    txn.commit().await?;
    queued(state, conversation, &queued_ids).await;
    if turn.needs_attention {
        let kind = ConversationEventKind::NeedsAttention;
        publish(state, conversation.tenant_id, kind, id, None).await;
    }
    Ok(())
}

/// A customer's request about notices, typed as a message of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notices {
    Stop,
    Resume,
}

fn notices_request(text: &str) -> Option<Notices> {
    let typed: String = text
        .trim()
        .trim_end_matches(['.', '!'])
        .to_uppercase()
        .replace(['Ç', 'Õ'], "")
        .replace("NOTIFICAES", "NOTIFICACOES");
    match typed.as_str() {
        "PARAR" | "SAIR" | "STOP" | "CANCELAR NOTIFICACOES" | "CANCELAR NOTIFICAOES" => {
            Some(Notices::Stop)
        }
        "VOLTAR" => Some(Notices::Resume),
        _ => None,
    }
}

const NOTICES_STOPPED: &str = "Pronto! Você não vai mais receber lembretes e avisos por aqui. Para voltar a recebê-los, envie *VOLTAR*.";
const NOTICES_RESUMED: &str =
    "Pronto! Você voltará a receber lembretes e avisos dos seus agendamentos.";

/// The assistant's answer to what the customer typed in `batch` (its text, and whether a person
/// is now needed); `None` when it falls back to the menu, which is logged and counted.
async fn assistant_reply(
    state: &AppState,
    conversation: &Conversation,
    batch: &[Message],
    now: DateTime<Utc>,
) -> Option<(String, bool)> {
    let last_message_id = batch.last()?.id;
    let turn = AssistantTurn {
        tenant_id: conversation.tenant_id,
        conversation_id: conversation.id,
        customer_id: conversation.customer_id,
        messages: batch
            .iter()
            .filter(|message| message.kind == MessageKind::Text)
            .filter_map(|message| message.body.clone())
            .collect(),
        last_message_id,
        now,
    };
    match state.assistant.answer(state, &turn).await {
        AssistantAnswer::Reply {
            text,
            needs_attention,
        } => Some((text, needs_attention)),
        AssistantAnswer::Fallback { reason } => {
            if reason == NOT_CONFIGURED {
                tracing::debug!(conversation = %conversation.id, "no AI provider: the menu answers");
            } else {
                tracing::warn!(conversation = %conversation.id, reason, "the menu answers for the assistant");
            }
            state.metrics.record_ai_fallback(reason);
            None
        }
    }
}

const ONLY_TEXT: &str = "Desculpe, por aqui eu entendo apenas mensagens de texto e os botões do menu. 🙏 Pode escrever o que precisa? Para ver as opções, envie *menu*.";

/// Routes a turn: notice requests are honoured whoever answers; then nothing more while a person
/// has the conversation or the bot is OFF; else, in the AI mode, the assistant answers what the
/// customer wrote, and otherwise (or when it cannot) the menu answers the latest message it can
/// read, or a polite note says what it understands.
async fn decide(
    state: &AppState,
    conversation: &Conversation,
    batch: &[Message],
    now: DateTime<Utc>,
) -> AppResult<Turn> {
    let mut turn = Turn::default();
    let mut notices_off = conversation.notifications_off;
    let mut actionable = None;
    let mut unreadable = false;
    for message in batch {
        let typed = (message.kind == MessageKind::Text)
            .then_some(message.body.as_deref())
            .flatten();
        match typed.and_then(notices_request) {
            Some(Notices::Stop) => {
                notices_off = true;
                turn.change.notifications_off = Some(true);
                turn.replies.push(Outgoing::Text {
                    body: NOTICES_STOPPED.to_owned(),
                });
                continue;
            }
            // "VOLTAR" of someone receiving notices is the menu's "Voltar".
            Some(Notices::Resume) if notices_off => {
                notices_off = false;
                turn.change.notifications_off = Some(false);
                turn.replies.push(Outgoing::Text {
                    body: NOTICES_RESUMED.to_owned(),
                });
                continue;
            }
            _ => {}
        }
        match message.kind {
            MessageKind::Text
            | MessageKind::ButtonReply
            | MessageKind::ListReply
            | MessageKind::Button => actionable = Some(message),
            MessageKind::Reaction => {}
            _ => unreadable = true,
        }
    }
    let tenant = tenants::service::find(&state.db, conversation.tenant_id).await?;
    let with_person = conversation.needs_attention
        || conversation
            .bot_paused_until
            .is_some_and(|until| until > now);
    if with_person || tenant.bot_mode == BotMode::Off {
        return Ok(turn);
    }
    let Some(message) = actionable else {
        if unreadable {
            turn.replies.push(Outgoing::Text {
                body: ONLY_TEXT.to_owned(),
            });
        }
        return Ok(turn);
    };
    // A tapped button answers the menu that offered it; what the customer types goes to the AI.
    if tenant.bot_mode == BotMode::Ai
        && message.kind == MessageKind::Text
        && let Some((text, needs_attention)) =
            assistant_reply(state, conversation, batch, now).await
    {
        turn.replies.push(Outgoing::Text { body: text });
        if needs_attention {
            turn.hand_to_person();
        }
        return Ok(turn);
    }
    let customer = customers::service::find(&state.db, tenant.id, conversation.customer_id).await?;
    let reply_id = message
        .content
        .as_ref()
        .and_then(|content| content["id"].as_str().or(content["payload"].as_str()));
    let input = match (message.kind, reply_id) {
        (MessageKind::Text, _) | (_, None) => {
            menu::Input::Text(message.body.as_deref().unwrap_or_default())
        }
        (_, Some(id)) => menu::Input::Choice(id),
    };
    let party = menu::Party {
        tenant: &tenant,
        customer: customer.id,
        customer_name: &customer.name,
    };
    let current = menu::MenuState::load(conversation.menu_state.as_deref());
    let answer = menu::answer(state, &party, current, input, now).await?;
    turn.replies.push(answer.message);
    turn.change.menu_state = Some(Some(
        serde_json::to_string(&answer.state).map_err(anyhow::Error::from)?,
    ));
    if answer.needs_attention {
        turn.hand_to_person();
    }
    Ok(turn)
}
