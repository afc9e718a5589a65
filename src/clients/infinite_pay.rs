//! InfinitePay's Checkout Integrado (protocols.md §3) on `INFINITE_PAY_API_URL`: creating a
//! payment link for a tenant's InfiniteTag (`handle`) and checking whether a link was paid.
//!
//! InfinitePay has no authentication and its webhook no signature: a merchant is only its handle,
//! so a webhook is believed only once [`InfinitePay::payment_check`] confirms it, and only its
//! `paid` field says a payment happened (`success` merely says the check itself worked). Amounts
//! are integer cents both ways.
//!
//! Requests go through the Mercado Pago client's transport: the same timeout, retries of no
//! connection, 429 and 5xx (both calls are safe to repeat: a link is only a checkout page, and a
//! check reads), and the 1 MiB cap on answers.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::http::{Answer, Transport};
use crate::{config::PaymentSettings, kernel::values::MoneyCents};

/// What the application needs from InfinitePay.
#[async_trait::async_trait]
pub trait InfinitePay: Send + Sync {
    /// `POST {INFINITE_PAY_API_URL}/links` `{handle, items: [{quantity: 1, price: <cents>,
    /// description}], order_nsu, redirect_url?, webhook_url, customer?{name?, email?,
    /// phone_number?}}`, without authentication.
    async fn create_link(&self, link: &NewLink) -> Result<CreatedLink, InfinitePayError>;
    /// `POST /payment_check` `{handle, order_nsu, transaction_nsu, slug}`.
    async fn payment_check(&self, check: &PaymentCheck)
    -> Result<CheckedPayment, InfinitePayError>;
}

/// A link that charges one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    /// The tenant's InfiniteTag; a leading `$` is stripped.
    pub handle: String,
    pub description: String,
    pub price: MoneyCents,
    /// Our id of what is paid: InfinitePay echoes it in the webhook and the redirect.
    pub order_nsu: String,
    /// Where the buyer lands after paying.
    pub redirect_url: Option<String>,
    pub webhook_url: String,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedLink {
    /// The checkout page (`checkout_url`, else `link`, else `url`: the documentation shows
    /// several).
    pub url: String,
    /// The link's id (`invoice_slug` in the webhook), when InfinitePay gives one.
    pub slug: Option<String>,
}

/// What identifies a payment to check: the four fields a webhook carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentCheck {
    /// With or without its leading `$`.
    pub handle: String,
    pub order_nsu: String,
    pub transaction_nsu: String,
    pub slug: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedPayment {
    /// Only the `paid` field: `success: true` with `paid: false` is not paid.
    pub paid: bool,
    /// The link's price, in cents.
    pub amount: Option<MoneyCents>,
    /// What the buyer paid, in cents (installment interest passed to the buyer included).
    pub paid_amount: Option<MoneyCents>,
    /// `credit_card` or `pix`.
    pub capture_method: Option<String>,
    pub installments: Option<i64>,
}

/// Why a call to InfinitePay failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InfinitePayError {
    /// InfinitePay refused the request (4xx other than 404): its `message` and the HTTP status.
    Refused { status: u16, message: String },
    /// 404: no such link or payment.
    NotFound,
    /// No connection, a timeout, 429 or 5xx after the retries, or an unreadable answer: safe to
    /// try again later.
    Unavailable(String),
}

impl std::fmt::Display for InfinitePayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { status, message } => {
                write!(
                    f,
                    "InfinitePay refused the request (HTTP {status}): {message}"
                )
            }
            Self::NotFound => write!(f, "InfinitePay has no such payment"),
            Self::Unavailable(detail) => write!(f, "InfinitePay is unavailable: {detail}"),
        }
    }
}

impl std::error::Error for InfinitePayError {}

/// InfinitePay over reqwest.
pub struct InfinitePayClient {
    transport: Transport,
    /// `INFINITE_PAY_API_URL`, no trailing `/`.
    api_url: String,
}

pub fn from_settings(settings: &PaymentSettings, http: reqwest::Client) -> InfinitePayClient {
    InfinitePayClient {
        transport: Transport::new(http, settings, "infinite_pay"),
        api_url: settings.infinite_pay_api_url.clone(),
    }
}

/// The handle as InfinitePay wants it: the InfiniteTag without its `$`.
fn bare_handle(handle: &str) -> &str {
    let handle = handle.trim();
    handle.strip_prefix('$').unwrap_or(handle).trim()
}

/// The `POST /links` body.
fn link_body(link: &NewLink) -> Value {
    let mut body = json!({
        "handle": bare_handle(&link.handle),
        "items": [{
            "quantity": 1,
            "price": link.price.0,
            "description": link.description,
        }],
        "order_nsu": link.order_nsu,
        "webhook_url": link.webhook_url,
    });
    if let Some(redirect_url) = &link.redirect_url {
        body["redirect_url"] = json!(redirect_url);
    }
    let mut customer = Map::new();
    for (key, value) in [
        ("name", &link.customer_name),
        ("email", &link.customer_email),
        ("phone_number", &link.customer_phone),
    ] {
        if let Some(value) = value {
            customer.insert(key.to_owned(), json!(value));
        }
    }
    if !customer.is_empty() {
        body["customer"] = Value::Object(customer);
    }
    body
}

impl InfinitePayClient {
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, InfinitePayError> {
        let url = format!("{}{path}", self.api_url);
        let Answer { status, body } = self
            .transport
            .send(|| self.transport.http.post(&url).json(body))
            .await
            .map_err(InfinitePayError::Unavailable)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|err| InfinitePayError::Unavailable(format!("unreadable answer: {err}")));
        }
        let message = serde_json::from_slice::<ErrorAnswer>(&body)
            .ok()
            .and_then(|error| error.message)
            .filter(|message| !message.trim().is_empty())
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        Err(match status.as_u16() {
            404 => InfinitePayError::NotFound,
            code if code >= 500 => InfinitePayError::Unavailable(format!("HTTP {code}: {message}")),
            code => InfinitePayError::Refused {
                status: code,
                message,
            },
        })
    }
}

#[async_trait::async_trait]
impl InfinitePay for InfinitePayClient {
    async fn create_link(&self, link: &NewLink) -> Result<CreatedLink, InfinitePayError> {
        let created: LinkAnswer = self.post("/links", &link_body(link)).await?;
        let url = [created.checkout_url, created.link, created.url]
            .into_iter()
            .flatten()
            .find(|url| !url.trim().is_empty())
            .ok_or_else(|| {
                InfinitePayError::Unavailable("an answer without a checkout URL".to_owned())
            })?;
        Ok(CreatedLink {
            url,
            slug: created.slug.filter(|slug| !slug.trim().is_empty()),
        })
    }

    async fn payment_check(
        &self,
        check: &PaymentCheck,
    ) -> Result<CheckedPayment, InfinitePayError> {
        let body = json!({
            "handle": bare_handle(&check.handle),
            "order_nsu": check.order_nsu,
            "transaction_nsu": check.transaction_nsu,
            "slug": check.slug,
        });
        let checked: CheckAnswer = self.post("/payment_check", &body).await?;
        Ok(CheckedPayment {
            paid: checked.paid == Some(true),
            amount: checked.amount.map(|cents| cents.0),
            paid_amount: checked.paid_amount.map(|cents| cents.0),
            capture_method: checked.capture_method,
            installments: checked.installments,
        })
    }
}

#[derive(Deserialize)]
struct ErrorAnswer {
    message: Option<String>,
}

#[derive(Deserialize)]
struct LinkAnswer {
    checkout_url: Option<String>,
    link: Option<String>,
    url: Option<String>,
    slug: Option<String>,
}

#[derive(Deserialize)]
struct CheckAnswer {
    paid: Option<bool>,
    amount: Option<Cents>,
    paid_amount: Option<Cents>,
    capture_method: Option<String>,
    installments: Option<i64>,
}

/// An amount InfinitePay writes in integer cents (a number, or seldom its text).
struct Cents(MoneyCents);

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let cents = match &value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        cents
            .map(|cents| Self(MoneyCents(cents)))
            .ok_or_else(|| serde::de::Error::custom(format!("{value} is not an amount in cents")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_lose_their_dollar_sign() {
        assert_eq!(bare_handle("$barbeariadoze"), "barbeariadoze");
        assert_eq!(bare_handle(" barbeariadoze "), "barbeariadoze");
        assert_eq!(bare_handle("$ ze"), "ze");
    }

    #[test]
    fn a_link_without_customer_details_sends_no_customer() {
        let body = link_body(&NewLink {
            handle: "$ze".into(),
            description: "Corte masculino".into(),
            price: MoneyCents(8000),
            order_nsu: "order-1".into(),
            redirect_url: None,
            webhook_url: "https://api.test/webhooks/infinitepay/t1".into(),
            customer_name: None,
            customer_email: None,
            customer_phone: None,
        });
        assert_eq!(
            body,
            json!({
                "handle": "ze",
                "items": [{"quantity": 1, "price": 8000, "description": "Corte masculino"}],
                "order_nsu": "order-1",
                "webhook_url": "https://api.test/webhooks/infinitepay/t1",
            })
        );
    }
}
