//! Mercado Pago (protocols.md §2) on `MP_API_URL`, acting with a seller's own access token:
//! connecting a seller (the OAuth authorization URL with PKCE, the code exchange and the token
//! refresh on `/oauth/token`), Checkout Pro preferences, reading a payment, refunds, and the id of
//! a token's user. Also the two pure pieces the webhook needs: [`verify_webhook_signature`] and
//! [`pkce_pair`].
//!
//! Amounts cross this boundary as exact cents ([`MoneyCents`]): Mercado Pago speaks decimal
//! numbers, which are written from cents and read back through their shortest decimal text, so no
//! float arithmetic ever touches an amount.
//!
//! Every request goes through `http::Transport` (shared with `infinite_pay`): one attempt takes at
//! most `PAYMENTS_TIMEOUT_SECONDS`; no connection, 429, 500, 502, 503 and 504 are tried again up
//! to `PAYMENTS_MAX_RETRIES` times with exponential backoff and jitter (or the `Retry-After` asked
//! for, at most 30 s); answers are read up to 1 MiB. A create (preference, refund) carries one
//! `X-Idempotency-Key` across all its attempts, so a retry never charges or refunds twice. Tokens
//! travel only in headers and bodies and are never logged. Failures are [`MpError`]s; none panics.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::{Map, Value, json};

use super::http::{Answer, Transport};
use crate::{
    config::PaymentSettings,
    kernel::{
        crypto::{self, constant_time_eq, hmac_sha256_hex},
        values::MoneyCents,
    },
};

/// What the application needs from Mercado Pago.
#[async_trait::async_trait]
pub trait MercadoPago: Send + Sync {
    /// The authorization URL a seller opens (None without MP_CLIENT_ID): `{MP_AUTH_URL}/authorization?client_id=..&response_type=code&platform_id=mp&state=..&redirect_uri=..&code_challenge=..&code_challenge_method=S256`
    /// (URL-encoded). Also `None` without `MP_CLIENT_SECRET`: a seller could start a connection
    /// that no code exchange can finish.
    fn authorization_url(&self, state: &str, code_challenge: &str) -> Option<String>;
    /// `POST /oauth/token` with `grant_type=authorization_code` (JSON body: client_id,
    /// client_secret, grant_type, code, redirect_uri, code_verifier, and `test_token: true` with
    /// `MP_TEST_TOKEN`).
    async fn exchange_code(&self, code: &str, code_verifier: &str) -> Result<OAuthTokens, MpError>;
    /// `POST /oauth/token` with `grant_type=refresh_token`. The refresh token rotates: store the
    /// new one.
    async fn refresh_token(&self, refresh_token: &str) -> Result<OAuthTokens, MpError>;
    /// `POST /checkout/preferences` with `Authorization: Bearer {access_token}` and
    /// `X-Idempotency-Key: {idempotency_key}`.
    async fn create_preference(
        &self,
        access_token: &str,
        idempotency_key: &str,
        preference: &Preference,
    ) -> Result<CreatedPreference, MpError>;
    /// `GET /v1/payments/{id}`.
    async fn payment(&self, access_token: &str, id: &str) -> Result<MpPayment, MpError>;
    /// `POST /v1/payments/{payment_id}/refunds` with `X-Idempotency-Key`: body `{}` for a full
    /// refund, `{"amount": 12.34}` for a partial one.
    async fn refund(
        &self,
        access_token: &str,
        payment_id: &str,
        idempotency_key: &str,
        amount: Option<MoneyCents>,
    ) -> Result<MpRefund, MpError>;
    /// `GET /users/me`: the Mercado Pago user id of a token (the platform token's routes
    /// webhooks).
    async fn user_id(&self, access_token: &str) -> Result<String, MpError>;
}

/// A seller's credentials from `/oauth/token`.
#[derive(Clone, Debug)]
pub struct OAuthTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub public_key: Option<String>,
    /// The seller's user id (a number in Mercado Pago's JSON), as its decimal text.
    pub user_id: String,
    /// Seconds until the access token expires (180 days when issued).
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
    pub live_mode: Option<bool>,
}

/// A Checkout Pro preference: one item, paid in BRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preference {
    /// Our id of what is paid (≤ 64 characters: letters, digits, `-`, `_`).
    pub external_reference: String,
    pub item: PreferenceItem,
    pub payer: Payer,
    pub back_urls: BackUrls,
    pub notification_url: String,
    /// The checkout stops accepting payments at this instant.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the buyer's card statement shows.
    pub statement_descriptor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreferenceItem {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Sent as a decimal number (`80.5`), quantity 1.
    pub unit_price: MoneyCents,
}

/// What the checkout pre-fills about the buyer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payer {
    pub name: Option<String>,
    pub email: Option<String>,
    /// E.164 (`+5511987654321`): a Brazilian number is sent as `{area_code: "11", number:
    /// "987654321"}`; any other is left out.
    pub phone: Option<String>,
}

/// Where the buyer lands after the checkout. Mercado Pago discards `http` URLs, and refuses
/// `auto_return` with them, so `auto_return` is only asked for with an `https` success URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackUrls {
    pub success: String,
    pub failure: String,
    pub pending: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedPreference {
    pub id: String,
    /// The checkout URL.
    pub init_point: String,
    pub sandbox_init_point: Option<String>,
}

/// A payment as `GET /v1/payments/{id}` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpPayment {
    /// Mercado Pago's number, as text.
    pub id: String,
    pub status: String,
    pub status_detail: Option<String>,
    /// `transaction_amount`, exact (more than two decimals round half-up to cents).
    pub amount: MoneyCents,
    /// `transaction_amount_refunded` (zero when absent).
    pub refunded: MoneyCents,
    pub currency: Option<String>,
    pub date_created: Option<DateTime<Utc>>,
    pub date_approved: Option<DateTime<Utc>>,
    /// `date_last_updated`: orders reads of one payment (an older read never overwrites a newer).
    pub date_last_updated: Option<DateTime<Utc>>,
    pub external_reference: Option<String>,
    pub payment_method_id: Option<String>,
    pub payment_type_id: Option<String>,
    pub operation_type: Option<String>,
    pub collector_id: Option<String>,
    /// The sum of `fee_details[].amount` the collector pays (a `financing_fee` the buyer pays is
    /// not the seller's cost).
    pub seller_fee: MoneyCents,
    /// `transaction_details.net_received_amount`.
    pub net_received: Option<MoneyCents>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpRefund {
    pub id: String,
    pub amount: MoneyCents,
    pub status: Option<String>,
}

/// Why a call to Mercado Pago failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MpError {
    /// Mercado Pago refused the request (4xx other than those below): its message (`message`,
    /// else `error`) and the HTTP status. Status 0: no request was made (the OAuth application is
    /// not configured).
    Refused { status: u16, message: String },
    /// The code or token is not valid anymore: `invalid_grant` (or a 400) on the token endpoint,
    /// 401 from the API. The seller must connect again.
    InvalidGrant(String),
    /// 404, or an id Mercado Pago cannot have.
    NotFound,
    /// No connection, a timeout, 429 or 5xx after the retries, or an unreadable answer: safe to
    /// try again later.
    Unavailable(String),
}

impl std::fmt::Display for MpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { status, message } => {
                write!(
                    f,
                    "Mercado Pago refused the request (HTTP {status}): {message}"
                )
            }
            Self::InvalidGrant(message) => {
                write!(
                    f,
                    "the Mercado Pago credentials are not valid anymore: {message}"
                )
            }
            Self::NotFound => write!(f, "Mercado Pago has no such resource"),
            Self::Unavailable(detail) => write!(f, "Mercado Pago is unavailable: {detail}"),
        }
    }
}

impl std::error::Error for MpError {}

/// Mercado Pago over reqwest.
pub struct MercadoPagoClient {
    transport: Transport,
    /// `MP_API_URL`, no trailing `/`.
    api_url: String,
    /// `{MP_AUTH_URL}/authorization`, when sellers can connect (client id and secret set).
    authorize: Option<url::Url>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    redirect_uri: String,
    test_token: bool,
}

pub fn from_settings(settings: &PaymentSettings, http: reqwest::Client) -> MercadoPagoClient {
    let configured = settings.mp_client_id.is_some() && settings.mp_client_secret.is_some();
    if settings.mp_client_id.is_some() != settings.mp_client_secret.is_some() {
        tracing::warn!(
            "only one of MP_CLIENT_ID and MP_CLIENT_SECRET is set: sellers cannot connect Mercado Pago"
        );
    }
    let authorize = if configured {
        match url::Url::parse(&format!("{}/authorization", settings.mp_auth_url)) {
            Ok(url) => Some(url),
            Err(err) => {
                tracing::error!(%err, "MP_AUTH_URL is not a URL: sellers cannot connect Mercado Pago");
                None
            }
        }
    } else {
        None
    };
    MercadoPagoClient {
        transport: Transport::new(http, settings, "mercado_pago"),
        api_url: settings.mp_api_url.clone(),
        authorize,
        client_id: settings.mp_client_id.clone(),
        client_secret: settings.mp_client_secret.clone(),
        redirect_uri: settings.mp_redirect_uri.clone(),
        test_token: settings.mp_test_token,
    }
}

/// Which endpoint answered: the token endpoint speaks OAuth errors, the API speaks its own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Token,
    Api,
}

/// OAuth error codes that blame this application's configuration, not the seller's grant.
const CLIENT_ERRORS: [&str; 4] = [
    "invalid_client",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

impl MercadoPagoClient {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    /// A create on the API (a preference, a refund): every attempt carries the same
    /// `X-Idempotency-Key`, so a retry never creates twice.
    async fn create<T: DeserializeOwned>(
        &self,
        url: &str,
        access_token: &str,
        idempotency_key: &str,
        body: &Value,
    ) -> Result<T, MpError> {
        self.call(Endpoint::Api, || {
            self.transport
                .http
                .post(url)
                .bearer_auth(access_token)
                .header("X-Idempotency-Key", idempotency_key)
                .json(body)
        })
        .await
    }

    /// Sends what `build` makes (once per attempt) and reads a `T`, or classifies the failure.
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        build: impl Fn() -> reqwest::RequestBuilder + Send + Sync,
    ) -> Result<T, MpError> {
        let Answer { status, body } = self
            .transport
            .send(build)
            .await
            .map_err(MpError::Unavailable)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|err| MpError::Unavailable(format!("unreadable answer: {err}")));
        }
        Err(classify(endpoint, status, &body))
    }

    async fn token(&self, grant: Map<String, Value>) -> Result<OAuthTokens, MpError> {
        let (Some(client_id), Some(client_secret)) = (&self.client_id, &self.client_secret) else {
            return Err(MpError::Refused {
                status: 0,
                message: "MP_CLIENT_ID and MP_CLIENT_SECRET are not set".to_owned(),
            });
        };
        let mut body = grant;
        body.insert("client_id".to_owned(), json!(client_id));
        body.insert(
            "client_secret".to_owned(),
            json!(client_secret.expose_secret()),
        );
        let body = Value::Object(body);
        let url = self.url("/oauth/token");
        let tokens: TokenAnswer = self
            .call(Endpoint::Token, || {
                self.transport.http.post(&url).json(&body)
            })
            .await?;
        Ok(OAuthTokens {
            access_token: SecretString::from(tokens.access_token),
            refresh_token: tokens.refresh_token.map(SecretString::from),
            public_key: tokens.public_key,
            user_id: tokens.user_id.0,
            expires_in: tokens.expires_in,
            scope: tokens.scope,
            live_mode: tokens.live_mode,
        })
    }
}

#[async_trait::async_trait]
impl MercadoPago for MercadoPagoClient {
    fn authorization_url(&self, state: &str, code_challenge: &str) -> Option<String> {
        let mut url = self.authorize.clone()?;
        let client_id = self.client_id.as_deref()?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("platform_id", "mp")
            .append_pair("state", state)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        Some(url.into())
    }

    async fn exchange_code(&self, code: &str, code_verifier: &str) -> Result<OAuthTokens, MpError> {
        let mut grant = Map::new();
        grant.insert("grant_type".to_owned(), json!("authorization_code"));
        grant.insert("code".to_owned(), json!(code));
        grant.insert("redirect_uri".to_owned(), json!(self.redirect_uri));
        grant.insert("code_verifier".to_owned(), json!(code_verifier));
        if self.test_token {
            grant.insert("test_token".to_owned(), json!(true));
        }
        self.token(grant).await
    }

    async fn refresh_token(&self, refresh_token: &str) -> Result<OAuthTokens, MpError> {
        let mut grant = Map::new();
        grant.insert("grant_type".to_owned(), json!("refresh_token"));
        grant.insert("refresh_token".to_owned(), json!(refresh_token));
        self.token(grant).await
    }

    async fn create_preference(
        &self,
        access_token: &str,
        idempotency_key: &str,
        preference: &Preference,
    ) -> Result<CreatedPreference, MpError> {
        let body = preference_body(preference);
        let url = self.url("/checkout/preferences");
        let created: PreferenceAnswer = self
            .create(&url, access_token, idempotency_key, &body)
            .await?;
        Ok(CreatedPreference {
            id: created.id.0,
            init_point: created.init_point,
            sandbox_init_point: created.sandbox_init_point,
        })
    }

    async fn payment(&self, access_token: &str, id: &str) -> Result<MpPayment, MpError> {
        let url = self.url(&format!("/v1/payments/{}", path_id(id)?));
        let payment: PaymentAnswer = self
            .call(Endpoint::Api, || {
                self.transport.http.get(&url).bearer_auth(access_token)
            })
            .await?;
        Ok(payment.into())
    }

    async fn refund(
        &self,
        access_token: &str,
        payment_id: &str,
        idempotency_key: &str,
        amount: Option<MoneyCents>,
    ) -> Result<MpRefund, MpError> {
        let url = self.url(&format!("/v1/payments/{}/refunds", path_id(payment_id)?));
        let body = match amount {
            Some(amount) => json!({ "amount": decimal(amount) }),
            None => json!({}),
        };
        let refund: RefundAnswer = self
            .create(&url, access_token, idempotency_key, &body)
            .await?;
        Ok(MpRefund {
            id: refund.id.0,
            amount: refund.amount.0,
            status: refund.status,
        })
    }

    async fn user_id(&self, access_token: &str) -> Result<String, MpError> {
        let url = self.url("/users/me");
        let user: UserAnswer = self
            .call(Endpoint::Api, || {
                self.transport.http.get(&url).bearer_auth(access_token)
            })
            .await?;
        Ok(user.id.0)
    }
}

/// An id that goes into a path. Mercado Pago's ids are digits (payments) or letters, digits and
/// dashes; anything else (a `/`, a `..`, a query) cannot name one of its resources, so it is not
/// sent at all.
fn path_id(id: &str) -> Result<&str, MpError> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if valid {
        Ok(id)
    } else {
        Err(MpError::NotFound)
    }
}

/// An error status as an [`MpError`].
fn classify(endpoint: Endpoint, status: StatusCode, body: &[u8]) -> MpError {
    let error = serde_json::from_slice::<ErrorAnswer>(body).unwrap_or_default();
    let message = error
        .message
        .clone()
        .or_else(|| error.error.clone())
        .filter(|message| !message.trim().is_empty())
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    let code = error.error.as_deref().unwrap_or("");
    match (endpoint, status.as_u16()) {
        (_, 404) => MpError::NotFound,
        // RFC 6749 §5.2: a code or refresh token that is expired, used or revoked is
        // `invalid_grant`; Mercado Pago answers 400 for it. A client error is our configuration.
        (Endpoint::Token, 400 | 401) if code == "invalid_grant" || message == "invalid_grant" => {
            MpError::InvalidGrant(message)
        }
        (Endpoint::Token, 400) if !CLIENT_ERRORS.contains(&code) => MpError::InvalidGrant(message),
        (Endpoint::Api, 401) => MpError::InvalidGrant(message),
        (_, code) if (400..500).contains(&code) => MpError::Refused {
            status: code,
            message,
        },
        // A 5xx the transport does not retry (501, 505…), or a redirect it did not follow.
        (_, code) if code >= 500 => MpError::Unavailable(format!("HTTP {code}: {message}")),
        (_, code) => MpError::Refused {
            status: code,
            message,
        },
    }
}

/// `cents` as the decimal number Mercado Pago reads (`8050` → `80.5`). Cents divided by 100 is
/// the double nearest the decimal, which serde_json writes as its shortest text: exactly the
/// decimal, for any amount below 2^53 cents.
#[expect(
    clippy::cast_precision_loss,
    reason = "amounts are far below 2^53 cents, where every integer is exact in a double"
)]
fn decimal(cents: MoneyCents) -> Value {
    json!(cents.0 as f64 / 100.0)
}

/// The `POST /checkout/preferences` body.
fn preference_body(preference: &Preference) -> Value {
    let item = &preference.item;
    let mut item_json = json!({
        "id": item.id,
        "title": item.title,
        "quantity": 1,
        "currency_id": "BRL",
        "unit_price": decimal(item.unit_price),
    });
    if let Some(description) = &item.description {
        item_json["description"] = json!(description);
    }
    let mut body = json!({
        "items": [item_json],
        "external_reference": preference.external_reference,
        "notification_url": preference.notification_url,
        "back_urls": {
            "success": preference.back_urls.success,
            "failure": preference.back_urls.failure,
            "pending": preference.back_urls.pending,
        },
    });
    let mut payer = Map::new();
    if let Some(name) = &preference.payer.name {
        payer.insert("name".to_owned(), json!(name));
    }
    if let Some(email) = &preference.payer.email {
        payer.insert("email".to_owned(), json!(email));
    }
    if let Some((area_code, number)) = preference.payer.phone.as_deref().and_then(brazilian_phone) {
        payer.insert(
            "phone".to_owned(),
            json!({ "area_code": area_code, "number": number }),
        );
    }
    if !payer.is_empty() {
        body["payer"] = Value::Object(payer);
    }
    let success = preference.back_urls.success.trim();
    if success
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    {
        body["auto_return"] = json!("approved");
    }
    if let Some(expires_at) = preference.expires_at {
        body["expires"] = json!(true);
        body["expiration_date_to"] =
            json!(expires_at.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string());
    }
    if let Some(descriptor) = &preference.statement_descriptor {
        body["statement_descriptor"] = json!(descriptor);
    }
    body
}

/// `+55` + a two-digit area code + an 8- or 9-digit number → (area code, number).
fn brazilian_phone(e164: &str) -> Option<(&str, &str)> {
    let national = e164.trim().strip_prefix("+55")?;
    let valid = matches!(national.len(), 10 | 11) && national.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| national.split_at(2))
}

/// Verifies a webhook's `x-signature` (protocols.md §2.4): `ts` and `v1` from the header (split on
/// `,`, each part on its first `=`, trimmed), the manifest
/// `id:{data_id lowercased};request-id:{x_request_id};ts:{ts};` without the parts whose value is
/// absent or empty, its HMAC-SHA256 under `secret` in hex, compared in constant time. With a
/// `tolerance`, `ts` (seconds, or milliseconds when above 10^12, as both are seen) must also be
/// that close to `now`. No header, no `ts` or `v1`, or an empty secret: false.
pub fn verify_webhook_signature(
    secret: &[u8],
    x_signature: Option<&str>,
    x_request_id: Option<&str>,
    data_id: Option<&str>,
    tolerance: Option<Duration>,
    now: DateTime<Utc>,
) -> bool {
    let Some(header) = x_signature else {
        return false;
    };
    if secret.is_empty() {
        return false;
    }
    let mut ts = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            "ts" if ts.is_none() => ts = Some(value.trim()),
            "v1" => signatures.push(value.trim()),
            _ => {}
        }
    }
    let Some(ts) = ts.filter(|ts| !ts.is_empty()) else {
        return false;
    };
    let mut manifest = String::new();
    if let Some(id) = present(data_id) {
        manifest.push_str(&format!("id:{};", id.to_ascii_lowercase()));
    }
    if let Some(request_id) = present(x_request_id) {
        manifest.push_str(&format!("request-id:{request_id};"));
    }
    manifest.push_str(&format!("ts:{ts};"));
    let expected = hmac_sha256_hex(secret, manifest.as_bytes());
    // Every candidate is compared, so the time taken does not tell which one matched.
    let signed = signatures.iter().fold(false, |matched, signature| {
        let candidate = signature.to_ascii_lowercase();
        constant_time_eq(expected.as_bytes(), candidate.as_bytes()) | matched
    });
    signed && tolerance.is_none_or(|tolerance| within(ts, tolerance, now))
}

/// A header or query value, trimmed; empty counts as absent.
fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// Whether the header's `ts` is within `tolerance` of `now`.
fn within(ts: &str, tolerance: Duration, now: DateTime<Utc>) -> bool {
    let Ok(ts) = ts.parse::<i64>() else {
        return false;
    };
    let millis = if ts > 1_000_000_000_000 {
        ts
    } else {
        ts.saturating_mul(1000)
    };
    let distance = now.timestamp_millis().abs_diff(millis);
    u128::from(distance) <= tolerance.as_millis()
}

/// A PKCE pair (RFC 7636): a random verifier of 64 characters of the unreserved set (48 random
/// bytes, base64url) and its `S256` challenge (base64url without padding of its SHA-256).
pub fn pkce_pair() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(crypto::random_bytes::<48>());
    let challenge = crypto::sha256_base64url(&verifier);
    (verifier, challenge)
}

// --- Reading answers ---------------------------------------------------------------------------

/// An id Mercado Pago writes as a number or a string, kept as text.
#[derive(Debug)]
struct IdText(String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) if !text.trim().is_empty() => Ok(Self(text.trim().to_owned())),
            Value::Number(number) if number.is_u64() || number.is_i64() => {
                Ok(Self(number.to_string()))
            }
            other => Err(serde::de::Error::custom(format!("{other} is not an id"))),
        }
    }
}

/// A decimal amount Mercado Pago writes as a number (or, seldom, a string), in exact cents.
#[derive(Debug)]
struct Amount(MoneyCents);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let cents = match &value {
            Value::Number(number) => amount_of_number(number),
            Value::String(text) => amount_of_text(text),
            _ => None,
        };
        cents
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom(format!("{value} is not an amount")))
    }
}

/// A JSON number in cents: an integer exactly, a decimal through its shortest text (what the
/// JSON said, for any amount with up to 15 significant digits).
fn amount_of_number(number: &serde_json::Number) -> Option<MoneyCents> {
    if let Some(whole) = number.as_i64() {
        return whole.checked_mul(100).map(MoneyCents);
    }
    let float = number.as_f64()?;
    // Rust writes a double's shortest round-trip digits, never in exponent form.
    amount_of_text(&float.to_string())
}

/// A decimal text in cents: up to two decimals as `MoneyCents::parse` reads them, more rounded
/// half-up (half away from zero) to the cent.
fn amount_of_text(text: &str) -> Option<MoneyCents> {
    let text = text.trim();
    if let Ok(cents) = MoneyCents::parse(text) {
        return Some(cents);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.')?;
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if fraction.len() <= 2 || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let (kept, dropped) = fraction.split_at(2);
    let MoneyCents(truncated) = MoneyCents::parse(&format!("{whole}.{kept}")).ok()?;
    let round_up = dropped
        .as_bytes()
        .first()
        .is_some_and(|digit| *digit >= b'5');
    let cents = truncated.checked_add(i64::from(round_up))?;
    Some(MoneyCents(if negative { -cents } else { cents }))
}

/// A date-time with its offset (`2026-10-20T14:03:11.000-03:00`) in UTC; anything else is none.
fn instant(text: Option<String>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?.trim())
        .ok()
        .map(|instant| instant.with_timezone(&Utc))
}

#[derive(Default, Deserialize)]
struct ErrorAnswer {
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    public_key: Option<String>,
    user_id: IdText,
    expires_in: Option<i64>,
    scope: Option<String>,
    live_mode: Option<bool>,
}

#[derive(Deserialize)]
struct PreferenceAnswer {
    id: IdText,
    init_point: String,
    sandbox_init_point: Option<String>,
}

#[derive(Deserialize)]
struct PaymentAnswer {
    id: IdText,
    status: String,
    status_detail: Option<String>,
    transaction_amount: Amount,
    transaction_amount_refunded: Option<Amount>,
    currency_id: Option<String>,
    date_created: Option<String>,
    date_approved: Option<String>,
    date_last_updated: Option<String>,
    external_reference: Option<String>,
    payment_method_id: Option<String>,
    payment_type_id: Option<String>,
    operation_type: Option<String>,
    collector_id: Option<IdText>,
    collector: Option<Collector>,
    fee_details: Option<Vec<FeeDetail>>,
    transaction_details: Option<TransactionDetails>,
}

#[derive(Deserialize)]
struct Collector {
    id: Option<IdText>,
}

#[derive(Deserialize)]
struct FeeDetail {
    amount: Option<Amount>,
    fee_payer: Option<String>,
}

#[derive(Deserialize)]
struct TransactionDetails {
    net_received_amount: Option<Amount>,
}

impl From<PaymentAnswer> for MpPayment {
    fn from(payment: PaymentAnswer) -> Self {
        let seller_fee = payment
            .fee_details
            .unwrap_or_default()
            .into_iter()
            .filter(|fee| fee.fee_payer.as_deref() == Some("collector"))
            .filter_map(|fee| fee.amount)
            .fold(MoneyCents(0), |sum, fee| {
                MoneyCents(sum.0.saturating_add(fee.0.0))
            });
        Self {
            id: payment.id.0,
            status: payment.status,
            status_detail: payment.status_detail,
            amount: payment.transaction_amount.0,
            refunded: payment
                .transaction_amount_refunded
                .map_or(MoneyCents(0), |amount| amount.0),
            currency: payment.currency_id,
            date_created: instant(payment.date_created),
            date_approved: instant(payment.date_approved),
            date_last_updated: instant(payment.date_last_updated),
            external_reference: payment.external_reference,
            payment_method_id: payment.payment_method_id,
            payment_type_id: payment.payment_type_id,
            operation_type: payment.operation_type,
            collector_id: payment
                .collector_id
                .or_else(|| payment.collector.and_then(|collector| collector.id))
                .map(|id| id.0),
            seller_fee,
            net_received: payment
                .transaction_details
                .and_then(|details| details.net_received_amount)
                .map(|amount| amount.0),
        }
    }
}

#[derive(Deserialize)]
struct RefundAnswer {
    id: IdText,
    amount: Amount,
    status: Option<String>,
}

#[derive(Deserialize)]
struct UserAnswer {
    id: IdText,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_cents_and_extra_decimals_round_half_up() {
        let number = |text: &str| {
            amount_of_number(&serde_json::from_str::<serde_json::Number>(text).unwrap())
        };
        assert_eq!(number("80"), Some(MoneyCents(8000)));
        assert_eq!(number("80.5"), Some(MoneyCents(8050)));
        assert_eq!(number("80.1"), Some(MoneyCents(8010)));
        assert_eq!(number("0.07"), Some(MoneyCents(7)));
        assert_eq!(number("12.345"), Some(MoneyCents(1235)));
        assert_eq!(number("12.344"), Some(MoneyCents(1234)));
        assert_eq!(number("0.005"), Some(MoneyCents(1)));
        assert_eq!(number("-1.5"), Some(MoneyCents(-150)));
        assert_eq!(number("1e2"), Some(MoneyCents(10_000)));
        assert_eq!(number("99999999999999999999"), None);
        assert_eq!(amount_of_text(" 49.90 "), Some(MoneyCents(4990)));
        assert_eq!(amount_of_text("49.999"), Some(MoneyCents(5000)));
        assert_eq!(amount_of_text("-0.125"), Some(MoneyCents(-13)));
        for junk in [
            "", "abc", "1,50", "1.2.3", ".555", "1.x55", "--1.555", "-.555",
        ] {
            assert_eq!(amount_of_text(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn cents_are_written_as_the_decimal_they_are() {
        for (cents, text) in [
            (8050, "80.5"),
            (8010, "80.1"),
            (1234, "12.34"),
            (7, "0.07"),
            (8000, "80.0"),
            (123_456_789, "1234567.89"),
        ] {
            assert_eq!(decimal(MoneyCents(cents)).to_string(), text);
        }
    }

    #[test]
    fn only_brazilian_numbers_become_area_code_and_number() {
        assert_eq!(brazilian_phone("+5511987654321"), Some(("11", "987654321")));
        assert_eq!(brazilian_phone("+551187654321"), Some(("11", "87654321")));
        assert_eq!(brazilian_phone("+14155550100"), None);
        assert_eq!(brazilian_phone("5511987654321"), None);
        assert_eq!(brazilian_phone("+55 11 98765-4321"), None);
    }

    #[test]
    fn errors_are_classified_by_endpoint_and_status() {
        let body = |error: &str, message: &str| {
            json!({"error": error, "message": message, "status": 400}).to_string()
        };
        let token = |status: u16, body: &str| {
            classify(
                Endpoint::Token,
                StatusCode::from_u16(status).unwrap(),
                body.as_bytes(),
            )
        };
        let api = |status: u16, body: &str| {
            classify(
                Endpoint::Api,
                StatusCode::from_u16(status).unwrap(),
                body.as_bytes(),
            )
        };
        assert_eq!(
            token(400, &body("invalid_grant", "invalid_grant")),
            MpError::InvalidGrant("invalid_grant".into())
        );
        assert_eq!(
            token(400, &body("invalid_client", "invalid client_id")),
            MpError::Refused {
                status: 400,
                message: "invalid client_id".into()
            }
        );
        assert_eq!(
            token(401, &body("invalid_client", "bad secret")),
            MpError::Refused {
                status: 401,
                message: "bad secret".into()
            }
        );
        assert_eq!(
            api(401, &body("unauthorized", "invalid access token")),
            MpError::InvalidGrant("invalid access token".into())
        );
        assert_eq!(
            api(403, ""),
            MpError::Refused {
                status: 403,
                message: "HTTP 403".into()
            }
        );
        assert_eq!(
            api(400, r#"{"error": "bad_request"}"#),
            MpError::Refused {
                status: 400,
                message: "bad_request".into()
            }
        );
        assert_eq!(api(404, ""), MpError::NotFound);
        assert!(matches!(api(501, ""), MpError::Unavailable(_)));
    }

    #[test]
    fn ids_that_cannot_be_mercado_pagos_are_not_sent() {
        assert_eq!(path_id("1325643987"), Ok("1325643987"));
        assert_eq!(path_id("2c93808-4_8f"), Ok("2c93808-4_8f"));
        for bad in [
            "",
            "../users/me",
            "1?x=1",
            "1/refunds",
            "1 2",
            &"9".repeat(65),
        ] {
            assert_eq!(path_id(bad), Err(MpError::NotFound), "{bad:?}");
        }
    }

    #[test]
    fn pkce_verifiers_are_unreserved_and_challenges_are_their_s256() {
        let (verifier, challenge) = pkce_pair();
        assert!((43..=128).contains(&verifier.len()), "{verifier}");
        assert!(
            verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        );
        assert_eq!(challenge, crypto::sha256_base64url(&verifier));
        assert_ne!(pkce_pair().0, verifier);
        // RFC 7636 appendix B.
        assert_eq!(
            crypto::sha256_base64url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
