//! WhatsApp types: the webhook payload as Meta sends it (protocols.md §1.3), read leniently, and
//! the inbound messages it carries.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::kernel::{
    ids::{MessageId, WebhookDeliveryId},
    values::E164Phone,
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

/// What an inbound message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageKind {
    Text,
    /// A tap on a reply button of an interactive message.
    ButtonReply,
    /// A row chosen in an interactive list.
    ListReply,
    /// A tap on a template's quick-reply button.
    Button,
    Image,
    Audio,
    Video,
    Document,
    Sticker,
    Location,
    Contacts,
    Reaction,
    /// Anything else WhatsApp delivers; stored so the business sees it.
    Unsupported,
}

impl MessageKind {}

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {}

/// An inbound message's state.
pub const RECEIVED: &str = "RECEIVED";

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
