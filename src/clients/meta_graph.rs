//! The Meta Graph API (WhatsApp Cloud API) on `WABA_URL`/`WABA_API_VERSION`, with the token of the
//! tenant it acts for: checking a phone number's credentials, subscribing the app to the
//! business account's webhooks, sending messages (text, interactive buttons and lists,
//! templates) and marking a customer's message read.
//!
//! Meta's answer is classified by its error object, not by HTTP status (protocols.md §1.5): an
//! error Meta explains is [`GraphError::Refused`] with its code and message; a request Meta
//! certainly did not take (no connection, 429, 5xx) is [`GraphError::Unavailable`]; one that may
//! have reached Meta without an answer coming back (a timeout after sending, a cut body) is
//! [`GraphError::Unanswered`], which a sender must not blindly repeat.

use anyhow::anyhow;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::config::WhatsAppSettings;

/// A business phone number as the Graph API describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PhoneNumber {
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    pub quality_rating: Option<String>,
}

/// A message to send, as the application composes it (stored with the message, so a retried
/// send sends exactly what was queued).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outgoing {
    /// Free-form text (≤ 4,096 characters: split before).
    Text { body: String },
    /// Reply buttons (≤ 3, titles ≤ 20 characters).
    Buttons { body: String, buttons: Vec<Choice> },
    /// A list behind a button (≤ 10 rows in all).
    List {
        body: String,
        button: String,
        rows: Vec<Choice>,
    },
    /// An approved template, the only kind Meta delivers outside the 24-hour window.
    Template {
        name: String,
        language: String,
        parameters: Vec<String>,
    },
}

/// A button or a list row: the id comes back in the customer's reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Outgoing {
    /// Whether Meta delivers it only within the 24-hour customer-service window.
    pub fn is_free_form(&self) -> bool {
        !matches!(self, Self::Template { .. })
    }

    /// The body of `POST /{phone_number_id}/messages` for recipient `to` (E.164 with `+`, so Meta
    /// never prepends the business's country code).
    fn request_body(&self, to: &str) -> Value {
        let (kind, part) = match self {
            Self::Text { body } => ("text", json!({"preview_url": true, "body": body})),
            Self::Buttons { body, buttons } => (
                "interactive",
                json!({
                    "type": "button",
                    "body": {"text": body},
                    "action": {"buttons": buttons.iter().map(|choice| json!({
                        "type": "reply",
                        "reply": {"id": choice.id, "title": choice.title},
                    })).collect::<Vec<_>>()},
                }),
            ),
            Self::List { body, button, rows } => (
                "interactive",
                json!({
                    "type": "list",
                    "body": {"text": body},
                    "action": {"button": button, "sections": [{"rows": rows}]},
                }),
            ),
            Self::Template {
                name,
                language,
                parameters,
            } => {
                let mut template = json!({"name": name, "language": {"code": language}});
                if !parameters.is_empty() {
                    template["components"] = json!([{
                        "type": "body",
                        "parameters": parameters.iter()
                            .map(|text| json!({"type": "text", "text": text}))
                            .collect::<Vec<_>>(),
                    }]);
                }
                ("template", template)
            }
        };
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
            kind: part,
        })
    }
}

#[derive(Debug)]
pub enum GraphError {
    /// Meta answered with an error object (an invalid token is code 190).
    Refused { code: Option<i64>, message: String },
    /// Meta did not take the request: no connection, HTTP 429 or 5xx.
    Unavailable(anyhow::Error),
    /// The request may have reached Meta, but no answer came back.
    Unanswered(anyhow::Error),
}

/// Meta's codes that mean "not now": throughput and rate limits, a number in maintenance, a
/// temporary failure (protocols.md §1.5).
const TRANSIENT_CODES: [i64; 7] = [1, 2, 4, 80007, 130429, 131056, 131057];

/// Meta's code of an invalid, expired or revoked access token.
pub const INVALID_TOKEN: i64 = 190;

impl GraphError {
    /// Whether trying the same request later can succeed (Meta did not take it).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Refused { code, .. } => code.is_some_and(|code| TRANSIENT_CODES.contains(&code)),
            Self::Unanswered(_) => false,
        }
    }
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { code, message } => {
                write!(
                    f,
                    "the Graph API refused the request (code {code:?}): {message}"
                )
            }
            Self::Unavailable(err) => write!(f, "the Graph API could not be reached: {err:#}"),
            Self::Unanswered(err) => write!(f, "the Graph API did not answer: {err:#}"),
        }
    }
}

impl std::error::Error for GraphError {}

/// What the application needs from the Graph API.
#[async_trait::async_trait]
pub trait MetaGraph: Send + Sync {
    /// `GET /{phone_number_id}`: the number behind the id, readable with `token`.
    async fn phone_number(
        &self,
        token: &str,
        phone_number_id: &str,
    ) -> Result<PhoneNumber, GraphError>;
    /// `POST /{waba_id}/subscribed_apps`: the app receives the account's webhooks.
    async fn subscribe_app(&self, token: &str, waba_id: &str) -> Result<(), GraphError>;
    /// `POST /{phone_number_id}/messages`: sends `message` to `to` (E.164); the `wamid` Meta gave
    /// it (acceptance, not delivery: statuses follow on the webhook).
    async fn send(
        &self,
        token: &str,
        phone_number_id: &str,
        to: &str,
        message: &Outgoing,
    ) -> Result<String, GraphError>;
    /// `POST /{phone_number_id}/messages` with `status: read`: the customer sees the blue ticks
    /// on message `wamid`.
    async fn mark_read(
        &self,
        token: &str,
        phone_number_id: &str,
        wamid: &str,
    ) -> Result<(), GraphError>;
}

pub fn from_settings(settings: &WhatsAppSettings, http: reqwest::Client) -> GraphClient {
    GraphClient {
        http,
        base: format!(
            "{}/{}",
            settings.graph_url.trim_end_matches('/'),
            settings.api_version
        ),
    }
}

/// The Graph API over reqwest.
pub struct GraphClient {
    http: reqwest::Client,
    /// `WABA_URL/WABA_API_VERSION`
    base: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    message: Option<String>,
    code: Option<i64>,
}

impl GraphClient {
    /// `POST /{phone_number_id}/messages` as `token`: sends, and read receipts.
    fn messages(&self, token: &str, phone_number_id: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/{phone_number_id}/messages", self.base))
            .bearer_auth(token)
    }

    /// Sends `request` and reads a `T`, or classifies the failure. Ids are path segments the
    /// caller has checked to be digits.
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, GraphError> {
        let response = request.send().await.map_err(|err| {
            if err.is_connect() || err.is_builder() {
                GraphError::Unavailable(err.into())
            } else {
                GraphError::Unanswered(err.into())
            }
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|err| GraphError::Unanswered(err.into()))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|err| GraphError::Unanswered(anyhow!(err).context("unreadable answer")));
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(GraphError::Unavailable(anyhow!(
                "HTTP 429 from the Graph API"
            )));
        }
        if status.is_server_error() {
            return Err(GraphError::Unavailable(anyhow!(
                "HTTP {} from the Graph API",
                status.as_u16()
            )));
        }
        let error = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .map(|b| b.error);
        Err(GraphError::Refused {
            code: error.as_ref().and_then(|error| error.code),
            message: error
                .and_then(|error| error.message)
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
        })
    }
}

#[derive(Deserialize)]
struct Success {
    success: bool,
}

#[derive(Deserialize)]
struct Sent {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

#[async_trait::async_trait]
impl MetaGraph for GraphClient {
    async fn phone_number(
        &self,
        token: &str,
        phone_number_id: &str,
    ) -> Result<PhoneNumber, GraphError> {
        let request = self
            .http
            .get(format!("{}/{phone_number_id}", self.base))
            .query(&[(
                "fields",
                "display_phone_number,verified_name,quality_rating",
            )])
            .bearer_auth(token);
        self.call(request).await
    }

    async fn subscribe_app(&self, token: &str, waba_id: &str) -> Result<(), GraphError> {
        let request = self
            .http
            .post(format!("{}/{waba_id}/subscribed_apps", self.base))
            .bearer_auth(token);
        succeeded(
            self.call(request).await?,
            "the app could not be subscribed to the WhatsApp Business Account",
        )
    }

    async fn send(
        &self,
        token: &str,
        phone_number_id: &str,
        to: &str,
        message: &Outgoing,
    ) -> Result<String, GraphError> {
        let request = self
            .messages(token, phone_number_id)
            .json(&message.request_body(to));
        let sent: Sent = self.call(request).await?;
        sent.messages
            .into_iter()
            .next()
            .map(|message| message.id)
            .ok_or_else(|| GraphError::Unanswered(anyhow!("an acceptance without a message id")))
    }

    async fn mark_read(
        &self,
        token: &str,
        phone_number_id: &str,
        wamid: &str,
    ) -> Result<(), GraphError> {
        let request = self
            .messages(token, phone_number_id)
            .json(&serde_json::json!({
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": wamid,
            }));
        succeeded(self.call(request).await?, "the message was not marked read")
    }
}

/// A `{"success": …}` answer as a result.
fn succeeded(answer: Success, refusal: &str) -> Result<(), GraphError> {
    if answer.success {
        Ok(())
    } else {
        Err(GraphError::Refused {
            code: None,
            message: refusal.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(id: &str, title: &str) -> Choice {
        Choice {
            id: id.into(),
            title: title.into(),
            description: None,
        }
    }

    #[test]
    fn messages_are_sent_in_the_graph_api_shape() {
        let to = "+5511912345678";
        let text = Outgoing::Text { body: "Oi".into() }.request_body(to);
        assert_eq!(
            text,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                   "type": "text", "text": {"preview_url": true, "body": "Oi"}})
        );
        let buttons = Outgoing::Buttons {
            body: "Confirma?".into(),
            buttons: vec![choice("yes", "Confirmar")],
        }
        .request_body(to);
        assert_eq!(
            buttons["interactive"],
            json!({"type": "button", "body": {"text": "Confirma?"}, "action": {"buttons": [
                {"type": "reply", "reply": {"id": "yes", "title": "Confirmar"}}]}})
        );
        let list = Outgoing::List {
            body: "Escolha".into(),
            button: "Serviços".into(),
            rows: vec![Choice {
                description: Some("R$ 50,00".into()),
                ..choice("s1", "Corte")
            }],
        }
        .request_body(to);
        assert_eq!(
            list["interactive"]["action"],
            json!({"button": "Serviços", "sections": [{"rows": [
                {"id": "s1", "title": "Corte", "description": "R$ 50,00"}]}]})
        );
        let template = Outgoing::Template {
            name: "lembrete".into(),
            language: "pt_BR".into(),
            parameters: vec!["Ana".into()],
        }
        .request_body(to);
        assert_eq!(
            template["template"],
            json!({"name": "lembrete", "language": {"code": "pt_BR"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]})
        );
    }

    #[test]
    fn only_what_meta_did_not_take_is_transient() {
        let refused = |code| GraphError::Refused {
            code: Some(code),
            message: String::new(),
        };
        assert!(refused(130429).is_transient());
        assert!(refused(131056).is_transient());
        assert!(!refused(131047).is_transient());
        assert!(!refused(INVALID_TOKEN).is_transient());
        assert!(GraphError::Unavailable(anyhow!("503")).is_transient());
        assert!(!GraphError::Unanswered(anyhow!("timeout")).is_transient());
    }
}
