//! The Meta Graph API (WhatsApp Cloud API) on `WABA_URL`/`WABA_API_VERSION`, with the token of the
//! tenant it acts for: checking a phone number's credentials, subscribing the app to the
//! business account's webhooks, and marking a customer's message read.
//!
//! Meta's answer is classified by its error object, not by HTTP status (protocols.md §1.5): an
//! error Meta explains is [`GraphError::Refused`] with its code and message; a failure to get an
//! answer (network, timeout, 5xx, an unreadable body) is [`GraphError::Unavailable`].

use anyhow::anyhow;
use serde::{Deserialize, de::DeserializeOwned};

use crate::config::WhatsAppSettings;

/// A business phone number as the Graph API describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PhoneNumber {
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    pub quality_rating: Option<String>,
}

#[derive(Debug)]
pub enum GraphError {
    /// Meta answered with an error object (an invalid token is code 190).
    Refused { code: Option<i64>, message: String },
    /// No answer to act on.
    Unavailable(anyhow::Error),
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
    /// Sends `request` and reads a `T`, or classifies the failure. Ids are path segments the
    /// caller has checked to be digits.
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, GraphError> {
        let unavailable = |err: reqwest::Error| GraphError::Unavailable(err.into());
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|err| GraphError::Unavailable(anyhow!(err).context("unreadable answer")));
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { error }) if !status.is_server_error() => Err(GraphError::Refused {
                code: error.code,
                message: error
                    .message
                    .unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
            }),
            _ => Err(GraphError::Unavailable(anyhow!(
                "HTTP {} from the Graph API",
                status.as_u16()
            ))),
        }
    }
}

#[derive(Deserialize)]
struct Success {
    success: bool,
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

    async fn mark_read(
        &self,
        token: &str,
        phone_number_id: &str,
        wamid: &str,
    ) -> Result<(), GraphError> {
        let request = self
            .http
            .post(format!("{}/{phone_number_id}/messages", self.base))
            .bearer_auth(token)
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
