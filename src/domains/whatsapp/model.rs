//! WhatsApp types: the webhook payload as Meta sends it (protocols.md §1.3), read leniently, the
//! inbound messages and delivery statuses it carries, and the states of a message.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    clients::meta_graph::Outgoing,
    kernel::{
        error::AppError,
        events::EventPayload,
        ids::{ConversationId, CustomerId, MessageId, TenantId, UserId, WebhookDeliveryId},
        values::E164Phone,
    },
};

/// Job: store the messages of a received webhook delivery, each once.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
pub struct IngestDelivery {
    pub delivery: WebhookDeliveryId,
}

/// Job: handle an inbound message after it is stored.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
pub struct ProcessInbound {
    pub message: MessageId,
}

/// Job: send the conversation's queued messages, oldest first, one at a time.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
pub struct SendMessages {
    pub conversation: ConversationId,
}

/// WhatsApp's customer-service window: free-form messages reach a customer only this long
/// after their last message; outside it only templates do.
pub const WINDOW: Duration = Duration::hours(24);

/// A conversation: one per (tenant, customer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    /// The customer's last message: it opens the 24-hour window.
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub last_message_at: DateTime<Utc>,
    pub last_message_id: Option<MessageId>,
    pub unread_count: i32,
    pub needs_attention: bool,
    pub bot_paused_until: Option<DateTime<Utc>>,
    pub notifications_off: bool,
    /// The guided menu's state, as stored (the menu reads it).
    pub menu_state: Option<String>,
}

impl Conversation {
    /// When the 24-hour window closes (closed already when it is in the past; none before the
    /// customer ever wrote).
    pub fn window_closes_at(&self) -> Option<DateTime<Utc>> {
        self.last_inbound_at.map(|at| at + WINDOW)
    }

    pub fn window_is_open(&self, now: DateTime<Utc>) -> bool {
        self.window_closes_at().is_some_and(|closes| now < closes)
    }
}

impl From<entity::conversations::Model> for Conversation {
    fn from(row: entity::conversations::Model) -> Self {
        Self {
            id: ConversationId(row.id),
            tenant_id: TenantId(row.tenant_id),
            customer_id: CustomerId(row.customer_id),
            last_inbound_at: row.last_inbound_at,
            last_message_at: row.last_message_at,
            last_message_id: row.last_message_id.map(MessageId),
            unread_count: row.unread_count,
            needs_attention: row.needs_attention,
            bot_paused_until: row.bot_paused_until,
            notifications_off: row.notifications_off,
            menu_state: row.menu_state,
        }
    }
}

/// A message of a conversation, as the inbox shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub kind: MessageKind,
    /// WhatsApp's id (an outbound message has one once Meta accepted it).
    pub wamid: Option<String>,
    pub body: Option<String>,
    /// Media, location, a reply's id, or what an outbound message sends.
    pub content: Option<Value>,
    pub reply_to: Option<String>,
    pub status: MessageStatus,
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
    pub sent_by: SentBy,
    pub sent_by_user: Option<UserId>,
    pub sent_at: DateTime<Utc>,
}

impl TryFrom<entity::messages::Model> for Message {
    type Error = AppError;

    fn try_from(row: entity::messages::Model) -> Result<Self, AppError> {
        use crate::kernel::values::EnumStr;
        Ok(Self {
            id: MessageId(row.id),
            tenant_id: TenantId(row.tenant_id),
            conversation_id: ConversationId(row.conversation_id),
            direction: Direction::parse_stored(&row.direction)?,
            kind: MessageKind::parse_stored(&row.kind)?,
            wamid: row.wamid,
            body: row.body,
            content: row
                .content
                .as_deref()
                .and_then(|raw| serde_json::from_str(raw).ok()),
            reply_to: row.reply_to,
            status: MessageStatus::parse_stored(&row.status)?,
            error_code: row.error_code,
            error_message: row.error_message,
            sent_by: SentBy::parse_stored(&row.sent_by)?,
            sent_by_user: row.sent_by_user_id.map(UserId),
            sent_at: row.sent_at,
        })
    }
}

/// The inbox's filter.
#[derive(Clone, Debug, Default)]
pub struct InboxFilter {
    pub needs_attention: Option<bool>,
    pub search: Option<crate::domains::customers::model::CustomerSearch>,
}

/// An outbound message waiting to be sent: exactly what was queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    pub id: MessageId,
    pub message: Outgoing,
    pub attempts: i32,
    /// When a send of it started that has not finished (or was cut by a crash).
    pub attempted_at: Option<DateTime<Utc>>,
}

impl TryFrom<entity::messages::Model> for Outbound {
    type Error = AppError;

    fn try_from(row: entity::messages::Model) -> Result<Self, AppError> {
        let message = serde_json::from_str(row.content.as_deref().unwrap_or_default())
            .map_err(|err| anyhow::anyhow!(err).context(format!("outbound message {}", row.id)))?;
        Ok(Self {
            id: MessageId(row.id),
            message,
            attempts: row.attempts,
            attempted_at: row.attempted_at,
        })
    }
}

/// Live event of a conversation (what the inbox shows).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ConversationChanged {
    pub kind: ConversationEventKind,
    pub conversation: ConversationId,
    pub message: Option<MessageId>,
}

impl EventPayload for ConversationChanged {
    const KIND: &'static str = "whatsapp.conversation_changed";
}

/// What happened in a conversation.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConversationEventKind {
    /// A customer's message was stored (before it is processed).
    MessageReceived,
    /// An outbound message was queued, sent, or failed to be.
    MessageSent,
    /// Meta reported a delivery status of an outbound message.
    MessageStatus,
    /// The customer asked for a person, or the bot could not help.
    NeedsAttention,
    /// The bot answers the conversation again.
    BotResumed,
}

/// Where a message is. Outbound: QUEUED → SENT → DELIVERED → READ, or FAILED, or SKIPPED (never
/// sent, with its reason); inbound: RECEIVED.
#[derive(
    async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    /// Waiting to be sent.
    Queued,
    /// WhatsApp accepted it.
    Sent,
    /// It reached the customer's phone.
    Delivered,
    /// The customer read it.
    Read,
    /// It could not be sent or delivered (see `error`).
    Failed,
    /// Not sent, on purpose (see `error`): outside the 24-hour window without a template.
    Skipped,
    /// A customer's message, stored.
    Received,
}

impl MessageStatus {
    /// Whether a message in this state moves to `next` when Meta reports it: statuses only move
    /// forward (Meta's webhooks arrive out of order), and a failure ends a message that was not
    /// delivered yet.
    pub fn advances_to(self, next: Self) -> bool {
        use MessageStatus::*;
        match next {
            Sent => self == Queued,
            Delivered => matches!(self, Queued | Sent),
            Read => matches!(self, Queued | Sent | Delivered),
            Failed => matches!(self, Queued | Sent),
            Queued | Skipped | Received => false,
        }
    }
}

/// Who wrote a message.
#[derive(
    async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString,
)]
#[graphql(name = "MessageAuthor")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum SentBy {
    /// The customer, on WhatsApp.
    Customer,
    /// The assistant (menu or AI) or a notification.
    Bot,
    /// A person of the business, from the dashboard.
    Staff,
}

/// A delivery status of an outbound message, read from one element of `statuses`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    pub wamid: String,
    pub status: MessageStatus,
    /// Meta's error of a failure: its code and title.
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
}

impl StatusReport {
    /// Reads one element of `statuses`; `Err` names what is unusable.
    pub fn parse(status: &Value) -> Result<Self, String> {
        let wamid = status["id"]
            .as_str()
            .filter(|id| !id.is_empty() && id.chars().count() <= MAX_WAMID_CHARS)
            .ok_or("no usable id")?;
        let state = match status["status"].as_str() {
            Some("sent") => MessageStatus::Sent,
            Some("delivered") => MessageStatus::Delivered,
            Some("read") => MessageStatus::Read,
            Some("failed") => MessageStatus::Failed,
            other => return Err(format!("unknown status {other:?}")),
        };
        let error = &status["errors"][0];
        let error_message = error["title"]
            .as_str()
            .or(error["message"].as_str())
            .map(|title| title.chars().take(MAX_ERROR_CHARS).collect());
        Ok(Self {
            wamid: wamid.to_owned(),
            status: state,
            error_code: error["code"].as_i64(),
            error_message,
        })
    }
}

/// The longest error text kept from Meta.
const MAX_ERROR_CHARS: usize = 1000;

/// The webhook body: `object` names the product, every `entry` batches `changes`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change; only `messages` carries what the channel handles, the rest is logged.
#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: Value,
}

/// The `value` of a `messages` change. Elements stay raw so a malformed one is skipped alone.
#[derive(Debug, Default, Deserialize)]
pub struct MessagesValue {
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub messages: Vec<Value>,
    #[serde(default)]
    pub statuses: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub phone_number_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Contact {
    pub wa_id: String,
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
}

/// What a message is.
#[derive(
    async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString,
)]
#[graphql(name = "MessageType")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageKind {
    /// Text.
    Text,
    /// A tap on a reply button of an interactive message.
    ButtonReply,
    /// A row chosen in an interactive list.
    ListReply,
    /// A tap on a template's quick-reply button.
    Button,
    /// A picture (not downloaded: its media id is kept).
    Image,
    /// A voice note or audio file.
    Audio,
    /// A video.
    Video,
    /// A file.
    Document,
    /// A sticker.
    Sticker,
    /// A shared location.
    Location,
    /// Shared contact cards.
    Contacts,
    /// An emoji reaction to a message.
    Reaction,
    /// Anything else WhatsApp delivers; stored so the business sees it.
    Unsupported,
    /// Outbound reply buttons or a list.
    Interactive,
    /// Outbound template.
    Template,
}

/// Which way a message went.
#[derive(
    async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString,
)]
#[graphql(name = "MessageDirection")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// To the customer.
    Outbound,
}

/// The longest WhatsApp id kept (Meta's are about 60 characters).
const MAX_WAMID_CHARS: usize = 256;

/// An inbound message, read from one element of `messages`.
#[derive(Clone, Debug, PartialEq)]
pub struct Inbound {
    pub wamid: String,
    pub from: E164Phone,
    pub sent_at: DateTime<Utc>,
    pub kind: MessageKind,
    /// The text a person reads: the message, the caption, the tapped title, the reaction.
    pub body: Option<String>,
    /// The type's other fields (a button's id, a media id and type, a location).
    pub content: Option<Value>,
    /// The `wamid` this message replies to (`context.id`).
    pub reply_to: Option<String>,
}

impl Inbound {
    /// Reads one element of `messages`; `Err` names what is malformed.
    pub fn parse(message: &Value) -> Result<Self, String> {
        let text = |pointer: &str| message.pointer(pointer).and_then(Value::as_str);
        let wamid = text("/id")
            .filter(|id| !id.is_empty() && id.chars().count() <= MAX_WAMID_CHARS)
            .ok_or("no usable id")?;
        let from = text("/from")
            .filter(|from| from.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|from| E164Phone::parse(&format!("+{from}")).ok())
            .ok_or("no usable from")?;
        let sent_at = text("/timestamp")
            .and_then(|seconds| seconds.parse::<i64>().ok())
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .ok_or("no usable timestamp")?;
        let kind_name = text("/type").unwrap_or_default();
        let (kind, body, content) = read_type(message, kind_name);
        Ok(Self {
            wamid: wamid.to_owned(),
            from,
            sent_at,
            kind,
            body,
            content,
            reply_to: text("/context/id").map(str::to_owned),
        })
    }
}

/// The kind, the readable text and the other fields of a message of type `name`.
fn read_type(message: &Value, name: &str) -> (MessageKind, Option<String>, Option<Value>) {
    let part = &message[name];
    let text = |value: &Value| value.as_str().map(str::to_owned);
    match name {
        "text" => (MessageKind::Text, text(&part["body"]), None),
        "interactive" => {
            let reply = |kind, reply: &Value| {
                let content = json!({"id": reply["id"], "description": reply["description"]});
                (kind, text(&reply["title"]), Some(content))
            };
            match part["type"].as_str() {
                Some("button_reply") => reply(MessageKind::ButtonReply, &part["button_reply"]),
                Some("list_reply") => reply(MessageKind::ListReply, &part["list_reply"]),
                _ => (MessageKind::Unsupported, None, Some(json!({"type": name}))),
            }
        }
        "button" => (
            MessageKind::Button,
            text(&part["text"]),
            Some(json!({"payload": part["payload"]})),
        ),
        "image" | "audio" | "video" | "document" | "sticker" => {
            let kind = match name {
                "image" => MessageKind::Image,
                "audio" => MessageKind::Audio,
                "video" => MessageKind::Video,
                "document" => MessageKind::Document,
                _ => MessageKind::Sticker,
            };
            let content = json!({
                "mediaId": part["id"],
                "mimeType": part["mime_type"],
                "filename": part["filename"],
            });
            (kind, text(&part["caption"]), Some(content))
        }
        "location" => (
            MessageKind::Location,
            text(&part["name"]),
            Some(json!({
                "latitude": part["latitude"],
                "longitude": part["longitude"],
                "name": part["name"],
                "address": part["address"],
            })),
        ),
        "contacts" => (MessageKind::Contacts, None, Some(json!({"contacts": part}))),
        "reaction" => (
            MessageKind::Reaction,
            text(&part["emoji"]),
            Some(json!({"messageId": part["message_id"]})),
        ),
        other => (MessageKind::Unsupported, None, Some(json!({"type": other}))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str, part: Value) -> Value {
        json!({
            "from": "5511912345678",
            "id": "wamid.ABC",
            "timestamp": "1760000000",
            "type": kind,
            kind: part,
            "context": {"from": "15550783881", "id": "wamid.PREV"},
        })
    }

    #[test]
    fn every_inbound_type_is_read() {
        let cases = [
            (
                message("text", json!({"body": "Oi"})),
                MessageKind::Text,
                Some("Oi"),
            ),
            (
                message(
                    "interactive",
                    json!({"type": "button_reply", "button_reply": {"id": "confirm", "title": "Confirmar"}}),
                ),
                MessageKind::ButtonReply,
                Some("Confirmar"),
            ),
            (
                message(
                    "interactive",
                    json!({"type": "list_reply", "list_reply": {"id": "slot", "title": "Ter 10:00", "description": "Corte"}}),
                ),
                MessageKind::ListReply,
                Some("Ter 10:00"),
            ),
            (
                message("button", json!({"text": "Sim", "payload": "yes"})),
                MessageKind::Button,
                Some("Sim"),
            ),
            (
                message(
                    "image",
                    json!({"id": "media-1", "mime_type": "image/jpeg", "caption": "Meu cabelo"}),
                ),
                MessageKind::Image,
                Some("Meu cabelo"),
            ),
            (
                message("audio", json!({"id": "media-2", "mime_type": "audio/ogg"})),
                MessageKind::Audio,
                None,
            ),
            (
                message(
                    "location",
                    json!({"latitude": -23.5, "longitude": -46.6, "name": "Casa"}),
                ),
                MessageKind::Location,
                Some("Casa"),
            ),
            (
                message("contacts", json!([{"name": {"formatted_name": "Ana"}}])),
                MessageKind::Contacts,
                None,
            ),
            (
                message(
                    "reaction",
                    json!({"message_id": "wamid.PREV", "emoji": "👍"}),
                ),
                MessageKind::Reaction,
                Some("👍"),
            ),
            (
                message("unsupported", json!({})),
                MessageKind::Unsupported,
                None,
            ),
            (message("order", json!({})), MessageKind::Unsupported, None),
        ];
        for (raw, kind, body) in cases {
            let inbound = Inbound::parse(&raw).unwrap();
            assert_eq!(inbound.kind, kind, "{raw}");
            assert_eq!(inbound.body.as_deref(), body, "{raw}");
            assert_eq!(inbound.from.as_str(), "+5511912345678");
            assert_eq!(inbound.reply_to.as_deref(), Some("wamid.PREV"));
            assert_eq!(inbound.sent_at.timestamp(), 1_760_000_000);
        }
        let image = Inbound::parse(&message(
            "image",
            json!({"id": "media-1", "mime_type": "image/jpeg"}),
        ))
        .unwrap();
        assert_eq!(image.content.unwrap()["mediaId"], "media-1");
    }

    #[test]
    fn statuses_only_move_forward() {
        use MessageStatus::*;
        assert!(Sent.advances_to(Delivered));
        assert!(Delivered.advances_to(Read));
        assert!(Queued.advances_to(Read));
        assert!(!Read.advances_to(Delivered));
        assert!(!Delivered.advances_to(Sent));
        assert!(!Delivered.advances_to(Failed));
        assert!(Sent.advances_to(Failed));
        assert!(!Failed.advances_to(Read));
        assert!(!Skipped.advances_to(Sent));
    }

    #[test]
    fn a_failed_status_keeps_metas_code_and_title() {
        let report = StatusReport::parse(&json!({
            "id": "wamid.X", "status": "failed", "timestamp": "1760000300",
            "errors": [{"code": 131047, "title": "Re-engagement message"}],
        }))
        .unwrap();
        assert_eq!(report.status, MessageStatus::Failed);
        assert_eq!(report.error_code, Some(131047));
        assert_eq!(
            report.error_message.as_deref(),
            Some("Re-engagement message")
        );
        assert!(StatusReport::parse(&json!({"id": "wamid.X", "status": "deleted"})).is_err());
        assert!(StatusReport::parse(&json!({"status": "read"})).is_err());
    }

    #[test]
    fn malformed_elements_name_what_is_missing() {
        for (broken, reason) in [
            (json!({"from": "5511912345678", "timestamp": "1"}), "id"),
            (
                json!({"id": "w", "from": "55abc", "timestamp": "1"}),
                "from",
            ),
            (
                json!({"id": "w", "from": "5511912345678", "timestamp": "soon"}),
                "timestamp",
            ),
        ] {
            let err = Inbound::parse(&broken).unwrap_err();
            assert!(err.contains(reason), "{err}");
        }
    }
}
