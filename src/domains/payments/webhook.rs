//! Where the payment providers call in: `POST /webhooks/mercadopago` (signed, protocols.md §2.4)
//! and `POST /webhooks/infinitepay/{tenantId}` (unsigned, §3.3). Both only store the notification
//! once per key with its reconciliation job and answer 200 at once; the job asks the provider
//! what happened, so nothing in a body is believed.
//!
//! Answers: 401 for a Mercado Pago notification without a valid `x-signature` (or without
//! `MP_WEBHOOK_SECRET`), nothing stored; 400 for one that names no resource (a job could never
//! succeed); 413 above [`MAX_BODY_BYTES`]; 200 for a topic we do not reconcile (ignored, not
//! stored), a duplicate (nothing more), or an InfinitePay URL whose tenant is not an id; 500 when
//! it cannot be stored, so the provider delivers it again.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::{
    model::{NewPaymentNotification, PaymentProvider},
    reconcile,
};
use crate::{
    clients::mercado_pago::verify_webhook_signature, kernel::ids::TenantId, state::AppState,
};

/// The largest notification body read (theirs are well under 2 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest topic, resource id or action kept: longer is no provider's, and a key must fit
/// the unique index.
const MAX_KEY_CHARS: usize = 200;

/// The only Mercado Pago topic reconciled here (subscriptions come with SaaS billing).
const PAYMENT_TOPIC: &str = "payment";

/// A query or body value as text: ids come as strings or numbers.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn too_long(values: &[&str]) -> bool {
    values
        .iter()
        .any(|value| value.chars().count() > MAX_KEY_CHARS)
}

/// `POST /webhooks/mercadopago?data.id=…&type=…` (or the older `?id=…&topic=…`).
pub async fn mercado_pago(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = &state.settings.payments.mp_webhook_secret else {
        tracing::warn!("MP_WEBHOOK_SECRET is not set: refusing a Mercado Pago webhook");
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let signed_with = |request_id: Option<&str>| {
        verify_webhook_signature(
            secret.expose_secret().as_bytes(),
            header("x-signature"),
            request_id,
            query.get("data.id").map(String::as_str),
            state.settings.payments.mp_webhook_tolerance,
            state.clock.now(),
        )
    };
    // Our HTTP layer gives a request without `x-request-id` one of its own, so a notification
    // Mercado Pago signed without that part is tried without it too (both manifests are signed
    // by the same secret; neither can be made without it).
    let signed = signed_with(header("x-request-id")) || signed_with(None);
    if !signed {
        tracing::warn!(
            signature_present = header("x-signature").is_some(),
            "refused an unsigned or badly signed Mercado Pago webhook"
        );
        return StatusCode::UNAUTHORIZED.into_response();
    }
    // A body that is not JSON still has its query; what it lacks is looked for there.
    let raw = body;
    let body = serde_json::from_slice::<Value>(&raw).unwrap_or(Value::Null);
    let from_query = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|name| query.get(*name).map(|value| value.trim().to_owned()))
            .filter(|value| !value.is_empty())
    };
    let topic = from_query(["type", "topic"])
        .or_else(|| text(&body["type"]))
        .or_else(|| text(&body["topic"]));
    let Some(resource) = from_query(["data.id", "id"]).or_else(|| text(&body["data"]["id"])) else {
        return (StatusCode::BAD_REQUEST, "no resource id (data.id)").into_response();
    };
    if topic.as_deref() != Some(PAYMENT_TOPIC) {
        tracing::debug!(
            ?topic,
            "ignored a Mercado Pago webhook of a topic we do not reconcile"
        );
        return StatusCode::OK.into_response();
    }
    let action = text(&body["action"]).unwrap_or_else(|| PAYMENT_TOPIC.to_owned());
    // Retries of one notification carry its id; each change of the payment is a new
    // notification (`payment.updated` again for a refund), which must not be taken for a
    // duplicate.
    let action = match text(&body["id"]) {
        Some(notification) => format!("{action}#{notification}"),
        None => action,
    };
    if too_long(&[&resource, &action]) {
        return (StatusCode::BAD_REQUEST, "id too long").into_response();
    }
    let notification = NewPaymentNotification {
        provider: PaymentProvider::MercadoPago,
        topic: PAYMENT_TOPIC.to_owned(),
        resource_id: resource,
        action,
        tenant: None,
        account_user_id: text(&body["user_id"]),
        body: String::from_utf8_lossy(&raw).into_owned(),
    };
    accept(&state, notification).await
}

/// `POST /webhooks/infinitepay/{tenantId}`: `{order_nsu, transaction_nsu, invoice_slug, …}`.
pub async fn infinite_pay(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    raw: Bytes,
) -> Response {
    let body = serde_json::from_slice::<Value>(&raw).unwrap_or(Value::Null);
    let (Some(order), Some(transaction)) =
        (text(&body["order_nsu"]), text(&body["transaction_nsu"]))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "order_nsu and transaction_nsu are required",
        )
            .into_response();
    };
    if too_long(&[&order, &transaction]) {
        return (StatusCode::BAD_REQUEST, "id too long").into_response();
    }
    let Ok(tenant) = Uuid::parse_str(&tenant) else {
        tracing::warn!(%tenant, "an InfinitePay webhook for a tenant that is not an id: ignored");
        return StatusCode::OK.into_response();
    };
    let notification = NewPaymentNotification {
        provider: PaymentProvider::InfinitePay,
        topic: PAYMENT_TOPIC.to_owned(),
        resource_id: order,
        // Never the order alone, nor without the tenant of the URL: a forged webhook with a real
        // order and a made-up transaction, or sent to another tenant's URL, must not take the
        // real one's key. The job reads the transaction from the body.
        action: format!("{tenant}:{transaction}"),
        tenant: Some(TenantId(tenant)),
        account_user_id: None,
        body: String::from_utf8_lossy(&raw).into_owned(),
    };
    accept(&state, notification).await
}

async fn accept(state: &AppState, notification: NewPaymentNotification) -> Response {
    match reconcile::accept(state, notification).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "could not store a payment notification; the provider will deliver it again");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
