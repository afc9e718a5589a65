//! GraphQL surface of the WhatsApp inbox: conversations and their messages, the business's
//! replies, taking over from the bot and giving it back, live conversation events, and simulated
//! customer messages for trying the bot without WhatsApp.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::{
    model::{
        Conversation, ConversationChanged, ConversationEventKind, Direction, InboxFilter, Message,
        MessageKind, MessageStatus, SentBy,
    },
    service::{self, SimulatedInbound},
};
use crate::{
    domains::{
        auth::graphql::{MemberLoader, UserNode},
        customers::{
            graphql::{CustomerLoader, CustomerNode},
            model::CustomerSearch,
        },
    },
    graphql::{
        loaders::loader,
        pagination::{CHAT_PAGE_SIZE, Cursor, Page, decode_keyset_cursor, page_with_cursors},
        scalars::Timestamp,
        viewer::{state, viewer},
    },
    kernel::{
        error::{AppError, AppResult},
        ids::{ConversationId, MessageId, TenantId, TypedId},
        values::E164Phone,
    },
    state::AppState,
    tenant_loader,
};

tenant_loader!(
    /// Loads messages (a conversation's latest).
    MessageLoader: MessageId => Message, service::find_messages
);

pub struct ConversationNode(pub Conversation);

/// The WhatsApp conversation of the business with one customer.
#[Object(name = "Conversation")]
impl ConversationNode {
    /// The conversation's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The customer on the other side.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CustomerNode>> {
        Ok(loader::<CustomerLoader>(ctx)
            .load_one((self.0.tenant_id, self.0.customer_id))
            .await
            .map_err(AppError::from)?
            .map(CustomerNode::new))
    }

    /// The latest message, either way.
    async fn last_message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<MessageNode>> {
        let Some(id) = self.0.last_message_id else {
            return Ok(None);
        };
        Ok(loader::<MessageLoader>(ctx)
            .load_one((self.0.tenant_id, id))
            .await
            .map_err(AppError::from)?
            .map(MessageNode))
    }

    /// When the latest message was written.
    async fn last_message_at(&self) -> Timestamp {
        Timestamp::from(self.0.last_message_at)
    }

    /// Customer messages the business has not read.
    async fn unread_count(&self) -> i32 {
        self.0.unread_count
    }

    /// The customer asked for a person (or the bot could not help), and nobody answered yet.
    async fn needs_attention(&self) -> bool {
        self.0.needs_attention
    }

    /// The bot stays quiet here until then, because a person of the business answered.
    async fn bot_paused_until(&self) -> Option<Timestamp> {
        self.0.bot_paused_until.map(Timestamp::from)
    }

    /// When WhatsApp's 24-hour window closes (past: closed): until then free-form messages can be
    /// sent; after it, only templates. Null before the customer ever wrote.
    async fn window_expires_at(&self) -> Option<Timestamp> {
        self.0.window_closes_at().map(Timestamp::from)
    }

    /// The messages, newest first.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Page<MessageNode>> {
        let limit = CHAT_PAGE_SIZE.parse(first)?;
        let after = after.as_deref().map(decode_keyset_cursor).transpose()?;
        let (messages, has_next, total) =
            service::list_messages(state(ctx), &self.0, after, limit).await?;
        let items = messages
            .into_iter()
            .map(|m| (Cursor::Keyset(m.sent_at, m.id.0), MessageNode(m)))
            .collect();
        Ok(page_with_cursors(items, has_next, after.is_some(), total))
    }
}

pub struct MessageNode(pub Message);

/// A message of a conversation.
#[Object(name = "Message")]
impl MessageNode {
    /// The message's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// From the customer, or to them.
    async fn direction(&self) -> Direction {
        self.0.direction
    }

    /// What kind of message it is.
    #[graphql(name = "type")]
    async fn kind(&self) -> MessageKind {
        self.0.kind
    }

    /// The text a person reads: the message, a caption, a tapped button's title, a reaction.
    async fn text(&self) -> Option<&str> {
        self.0.body.as_deref()
    }

    /// The media of an image, audio, video, document or sticker (not downloaded).
    async fn media(&self) -> Option<MessageMedia> {
        let content = self.0.content.as_ref()?;
        let id = content["mediaId"].as_str()?.to_owned();
        Some(MessageMedia {
            id,
            mime_type: content["mimeType"].as_str().map(str::to_owned),
            filename: content["filename"].as_str().map(str::to_owned),
        })
    }

    /// Where it is: QUEUED, SENT, DELIVERED, READ, FAILED or SKIPPED when outbound; RECEIVED
    /// when inbound.
    async fn status(&self) -> MessageStatus {
        self.0.status
    }

    /// Why it FAILED or was SKIPPED.
    async fn error(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }

    /// Meta's error code of a failure, when Meta gave one.
    async fn error_code(&self) -> Option<i32> {
        self.0.error_code.and_then(|code| i32::try_from(code).ok())
    }

    /// Who wrote it.
    async fn sent_by(&self) -> SentBy {
        self.0.sent_by
    }

    /// The member of the business who wrote it (STAFF), while they belong to it.
    async fn sent_by_user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserNode>> {
        let Some(user) = self.0.sent_by_user else {
            return Ok(None);
        };
        Ok(loader::<MemberLoader>(ctx)
            .load_one((self.0.tenant_id, user))
            .await
            .map_err(AppError::from)?
            .map(UserNode))
    }

    /// When it was written (by the customer, per WhatsApp) or queued (outbound).
    async fn sent_at(&self) -> Timestamp {
        Timestamp::from(self.0.sent_at)
    }
}

/// The media of a message, as WhatsApp identifies it.
#[derive(SimpleObject)]
pub struct MessageMedia {
    /// WhatsApp's media id (downloadable from the Graph API for 30 days).
    pub id: String,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// A document's file name.
    pub filename: Option<String>,
}

/// Filter of `conversations`.
#[derive(InputObject, Default)]
pub struct ConversationFilter {
    /// Only conversations that need (true) or do not need (false) a person.
    pub needs_attention: Option<bool>,
    /// Matches the customer's name, e-mail or phone digits.
    pub search: Option<String>,
}

#[derive(Default)]
pub struct WhatsAppQuery;

#[Object]
impl WhatsAppQuery {
    /// The caller's WhatsApp conversations, newest activity first.
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which conversations; all when omitted.")] filter: Option<
            ConversationFilter,
        >,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Page<ConversationNode>> {
        let viewer = viewer(ctx)?;
        let filter = filter.unwrap_or_default();
        let filter = InboxFilter {
            needs_attention: filter.needs_attention,
            search: CustomerSearch::parse(filter.search.as_deref())?,
        };
        let limit = CHAT_PAGE_SIZE.parse(first)?;
        let after = after.as_deref().map(decode_keyset_cursor).transpose()?;
        let (conversations, has_next, total) =
            service::list_conversations(state(ctx), &viewer, &filter, after, limit).await?;
        let items = conversations
            .into_iter()
            .map(|c| {
                (
                    Cursor::Keyset(c.last_message_at, c.id.0),
                    ConversationNode(c),
                )
            })
            .collect();
        Ok(page_with_cursors(items, has_next, after.is_some(), total))
    }

    /// One of the caller's conversations.
    async fn conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation's id.")] id: ID,
    ) -> async_graphql::Result<ConversationNode> {
        let viewer = viewer(ctx)?;
        let id = ConversationId::parse(&id)?;
        Ok(ConversationNode(
            service::find_conversation(state(ctx), &viewer, id).await?,
        ))
    }
}

/// Input of `sendMessage`.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// The conversation to answer in.
    pub conversation_id: ID,
    /// The text (up to 20,000 characters; long texts go out as several messages).
    pub text: String,
}

/// Input of `sendTemplate`.
#[derive(InputObject)]
pub struct SendTemplateInput {
    /// The conversation to write in.
    pub conversation_id: ID,
    /// The name of a template approved by Meta for the tenant's account.
    pub name: String,
    /// Its language code (default `pt_BR`).
    pub language: Option<String>,
    /// The values of its body parameters, in order.
    #[graphql(default)]
    pub parameters: Vec<String>,
}

/// Input of `simulateInboundMessage`.
#[derive(InputObject)]
pub struct SimulateInboundMessageInput {
    /// The customer's phone; Brazilian numbers in any common format.
    pub from: String,
    /// The customer's WhatsApp profile name.
    pub name: Option<String>,
    /// What the customer wrote (or the title of the button they tapped).
    pub text: String,
    /// The id of the button or list row tapped, to answer an interactive message.
    pub reply_id: Option<String>,
}

#[derive(Default)]
pub struct WhatsAppMutation;

#[Object]
impl WhatsAppMutation {
    /// The business answers a customer: the bot pauses in this conversation for the tenant's
    /// `humanTakeoverHours`, and the conversation no longer needs attention. Outside WhatsApp's
    /// 24-hour window → BAD_USER_INPUT naming when it closed (send a template instead).
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation and the text.")] input: SendMessageInput,
    ) -> async_graphql::Result<MessageNode> {
        let viewer = viewer(ctx)?;
        let id = ConversationId::parse(&input.conversation_id)?;
        let message = service::parse_staff_text(input.text)?;
        Ok(MessageNode(
            service::send_as_staff(state(ctx), &viewer, id, message).await?,
        ))
    }

    /// Sends an approved template (the only kind WhatsApp delivers outside the 24-hour window);
    /// pauses the bot as `sendMessage` does.
    async fn send_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation, the template and its parameters.")]
        input: SendTemplateInput,
    ) -> async_graphql::Result<MessageNode> {
        let viewer = viewer(ctx)?;
        let id = ConversationId::parse(&input.conversation_id)?;
        let message = service::parse_template(input.name, input.language, input.parameters)?;
        Ok(MessageNode(
            service::send_as_staff(state(ctx), &viewer, id, message).await?,
        ))
    }

    /// The bot answers this conversation again, at once.
    async fn resume_bot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation.")] conversation_id: ID,
    ) -> async_graphql::Result<ConversationNode> {
        let viewer = viewer(ctx)?;
        let id = ConversationId::parse(&conversation_id)?;
        Ok(ConversationNode(
            service::resume_bot(state(ctx), &viewer, id).await?,
        ))
    }

    /// The business has read the conversation: its unread count drops to 0.
    async fn mark_conversation_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conversation.")] conversation_id: ID,
    ) -> async_graphql::Result<ConversationNode> {
        let viewer = viewer(ctx)?;
        let id = ConversationId::parse(&conversation_id)?;
        Ok(ConversationNode(
            service::mark_read(state(ctx), &viewer, id).await?,
        ))
    }

    /// A customer's message typed here instead of on WhatsApp, handled exactly as one from the
    /// webhook (the bot answers; read its replies in `conversation`). Only while the platform has
    /// no WhatsApp configured (replies are then dry-runs), or for ADMIN.
    async fn simulate_inbound_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who writes, and what.")] input: SimulateInboundMessageInput,
    ) -> async_graphql::Result<MessageNode> {
        let viewer = viewer(ctx)?;
        let simulated = SimulatedInbound {
            from: E164Phone::parse(&input.from)?,
            name: input.name,
            text: input.text,
            reply_id: input.reply_id,
        };
        Ok(MessageNode(
            service::simulate_inbound(state(ctx), &viewer, simulated).await?,
        ))
    }
}

/// A change in one of the caller's conversations.
#[derive(SimpleObject)]
pub struct ConversationEvent {
    /// What happened.
    pub kind: ConversationEventKind,
    /// The conversation after the change.
    pub conversation: ConversationNode,
    /// The message it is about, if any.
    pub message: Option<MessageNode>,
}

#[derive(Default)]
pub struct WhatsAppSubscription;

#[Subscription]
impl WhatsAppSubscription {
    /// Changes in the caller's conversations (messages received, sent, their statuses, a
    /// conversation needing a person, the bot resumed), from any instance of the server.
    async fn conversation_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = ConversationEvent> + use<>> {
        let tenant = viewer(ctx)?.tenant()?;
        let state = state(ctx).clone();
        let events = BroadcastStream::new(state.broker.subscribe());
        Ok(events.filter_map(move |delivery| {
            let state = state.clone();
            async move {
                let delivery = delivery.ok()?;
                if delivery.event.tenant_id != Some(tenant) {
                    return None;
                }
                let changed: ConversationChanged = delivery.event.payload()?;
                // Loaded once per instance, whatever the number of subscribers.
                let (conversation, message) = &*delivery
                    .shared(|| event_rows(state, tenant, changed.clone()))
                    .await?;
                Some(ConversationEvent {
                    kind: changed.kind,
                    conversation: ConversationNode(conversation.clone()),
                    message: message.clone().map(MessageNode),
                })
            }
        }))
    }
}

/// The conversation and message an event names.
async fn event_rows(
    state: AppState,
    tenant: TenantId,
    changed: ConversationChanged,
) -> AppResult<(Conversation, Option<Message>)> {
    let ids = [changed.conversation];
    let (mut conversations, mut messages) = futures_util::try_join!(
        service::find_conversations(&state.db, tenant, &ids),
        service::find_messages(&state.db, tenant, changed.message.as_slice()),
    )?;
    let conversation = conversations
        .remove(&changed.conversation)
        .ok_or(AppError::NotFound("conversation"))?;
    let message = changed.message.and_then(|id| messages.remove(&id));
    Ok((conversation, message))
}
