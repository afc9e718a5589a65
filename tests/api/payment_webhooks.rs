//! The providers' webhooks: Mercado Pago's signature (protocols.md §2.4's vectors), what is
//! refused before anything is stored, what is acknowledged and ignored, and InfinitePay's intake.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;
use waba_bot::kernel::crypto::hmac_sha256_hex;

use crate::helpers::{TestApp, spawn_app, spawn_app_with_settings};

/// protocols.md §2.4's test vectors (their secret is every test app's `MP_WEBHOOK_SECRET`).
const MP_WEBHOOK_SECRET: &str = "test_webhook_secret";
const TS: &str = "1742505638683";
const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
const VECTOR_DATA_ID: &str = "123456789";
const VECTOR_V1: &str = "8815a3e9002b2a60eeaa6490db511e8bb5366ca901be2133130ffee91fedf42a";
const VECTOR_V1_NO_REQUEST_ID: &str =
    "d649e755c1fdcac2d966379229ab7f5153eebdd713e1b13658fa600a9c06058d";

/// The `x-signature` Mercado Pago sends for `data_id` with [`REQUEST_ID`] and [`TS`].
pub fn mp_signature(data_id: &str) -> String {
    let manifest = format!(
        "id:{};request-id:{REQUEST_ID};ts:{TS};",
        data_id.to_lowercase()
    );
    let v1 = hmac_sha256_hex(MP_WEBHOOK_SECRET.as_bytes(), manifest.as_bytes());
    format!("ts={TS},v1={v1}")
}

/// A `payment` notification body of Mercado Pago account `user_id`.
pub fn mp_notification(
    payment_id: &str,
    user_id: &str,
    action: &str,
    notification_id: u64,
) -> Value {
    json!({
        "id": notification_id, "live_mode": true, "type": "payment",
        "date_created": "2026-10-20T14:03:11.000-03:00", "user_id": user_id.parse::<u64>().unwrap_or(0),
        "api_version": "v1", "action": action, "data": {"id": payment_id},
    })
}

/// POSTs `body` to `/webhooks/mercadopago?{query}` with these headers.
pub async fn post_mp(
    app: &TestApp,
    query: &str,
    signature: Option<&str>,
    request_id: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{}/webhooks/mercadopago?{query}", app.address))
        .json(body);
    if let Some(signature) = signature {
        request = request.header("x-signature", signature);
    }
    if let Some(request_id) = request_id {
        request = request.header("x-request-id", request_id);
    }
    request.send().await.unwrap()
}

/// A correctly signed `payment` notification of Mercado Pago payment `payment_id`.
pub async fn notify_mp(app: &TestApp, payment_id: &str, body: &Value) -> reqwest::StatusCode {
    post_mp(
        app,
        &format!("data.id={payment_id}&type=payment"),
        Some(&mp_signature(payment_id)),
        Some(REQUEST_ID),
        body,
    )
    .await
    .status()
}

pub async fn notifications(app: &TestApp) -> Vec<entity::payment_notifications::Model> {
    entity::payment_notifications::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn stored(app: &TestApp) -> u64 {
    entity::payment_notifications::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn payment_webhooks_signed_with_the_protocol_vectors_are_stored_once() {
    let app = spawn_app().await;
    // The helper signs exactly as the vectors do.
    assert_eq!(
        mp_signature(VECTOR_DATA_ID),
        format!("ts={TS},v1={VECTOR_V1}")
    );
    let body = mp_notification(VECTOR_DATA_ID, "1234567890", "payment.updated", 12345678901);
    let query = format!("data.id={VECTOR_DATA_ID}&type=payment");
    let signature = format!("ts={TS},v1={VECTOR_V1}");
    for _ in 0..2 {
        let response = post_mp(&app, &query, Some(&signature), Some(REQUEST_ID), &body).await;
        assert_eq!(response.status(), 200);
    }
    // The vector without `x-request-id` (its part is dropped from the manifest).
    let other = mp_notification(VECTOR_DATA_ID, "1234567890", "payment.updated", 12345678902);
    let signature = format!("ts={TS},v1={VECTOR_V1_NO_REQUEST_ID}");
    let response = post_mp(&app, &query, Some(&signature), None, &other).await;
    assert_eq!(response.status(), 200);

    let rows = notifications(&app).await;
    assert_eq!(rows.len(), 2, "a duplicate is stored once: {rows:?}");
    assert!(rows.iter().all(|row| row.resource_id == VECTOR_DATA_ID
        && row.account_user_id.as_deref() == Some("1234567890")));

    // Nobody connected account 1234567890: recorded and ignored, never retried.
    app.drain_jobs().await;
    let rows = notifications(&app).await;
    assert!(
        rows.iter().all(|row| row.processed_at.is_some()
            && row
                .outcome
                .as_deref()
                .unwrap_or("")
                .contains("unknown Mercado Pago user_id")),
        "{rows:?}"
    );
    assert!(
        app.mercado_pago
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn payment_webhooks_with_bad_or_missing_signatures_are_401_and_store_nothing() {
    let app = spawn_app().await;
    let body = mp_notification(VECTOR_DATA_ID, "1", "payment.updated", 1);
    let query = format!("data.id={VECTOR_DATA_ID}&type=payment");
    let wrong = format!("ts={TS},v1={}", "0".repeat(64));
    // Signed for another payment id, then sent for this one.
    let replayed = mp_signature("987654321");
    let cases: [(Option<&str>, Option<&str>); 5] = [
        (None, Some(REQUEST_ID)),
        (Some(&wrong), Some(REQUEST_ID)),
        (Some(&replayed), Some(REQUEST_ID)),
        (Some("v1=abc"), Some(REQUEST_ID)),
        // The right signature needs the request id it was made with.
        (Some(VECTOR_V1), Some("another-request")),
    ];
    for (signature, request_id) in cases {
        let response = post_mp(&app, &query, signature, request_id, &body).await;
        assert_eq!(response.status(), 401, "{signature:?}");
    }
    let signature = format!("ts={TS},v1={VECTOR_V1}");
    let response = post_mp(
        &app,
        &query,
        Some(&signature),
        Some("another-request"),
        &body,
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(stored(&app).await, 0);

    // Without a secret nothing can be verified, so nothing is taken.
    let unconfigured = spawn_app_with_settings(&[("MP_WEBHOOK_SECRET", "")]).await;
    let response = post_mp(
        &unconfigured,
        &query,
        Some(&signature),
        Some(REQUEST_ID),
        &body,
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(stored(&unconfigured).await, 0);
}

#[tokio::test]
async fn payment_webhooks_without_a_resource_id_are_400_and_unknown_topics_are_ignored() {
    let app = spawn_app().await;
    // Signed without `data.id` (its part dropped), and no id anywhere in the body.
    let manifest = format!("request-id:{REQUEST_ID};ts:{TS};");
    let v1 = hmac_sha256_hex(MP_WEBHOOK_SECRET.as_bytes(), manifest.as_bytes());
    let response = post_mp(
        &app,
        "type=payment",
        Some(&format!("ts={TS},v1={v1}")),
        Some(REQUEST_ID),
        &json!({"type": "payment", "action": "payment.updated", "user_id": 1, "data": {}}),
    )
    .await;
    assert_eq!(response.status(), 400);

    // A topic we do not reconcile: acknowledged, so Mercado Pago stops, and dropped.
    let response = post_mp(
        &app,
        "data.id=5551&type=topic_merchant_order_wh",
        Some(&mp_signature("5551")),
        Some(REQUEST_ID),
        &json!({"type": "topic_merchant_order_wh", "data": {"id": "5551"}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    // The topic can come in the body only.
    let response = post_mp(
        &app,
        "data.id=5552",
        Some(&mp_signature("5552")),
        Some(REQUEST_ID),
        &json!({"type": "mp-connect", "data": {"id": "5552"}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(stored(&app).await, 0);

    // Too large a body.
    let response = app
        .http
        .post(format!(
            "{}/webhooks/mercadopago?data.id=1&type=payment",
            app.address
        ))
        .header("x-signature", mp_signature("1"))
        .header("x-request-id", REQUEST_ID)
        .header("content-type", "application/json")
        .body(format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(stored(&app).await, 0);
}

#[tokio::test]
async fn payment_webhooks_of_infinitepay_are_stored_per_order_and_transaction() {
    let app = spawn_app().await;
    let url = |tenant: &str| format!("{}/webhooks/infinitepay/{tenant}", app.address);
    let order = Uuid::now_v7().to_string();
    let tenant = Uuid::now_v7().to_string();
    let body = |transaction: &str| {
        json!({"invoice_slug": "1RxANX7tdF", "amount": 5000, "paid_amount": 5000, "installments": 1,
               "capture_method": "pix", "transaction_nsu": transaction, "order_nsu": order})
    };
    // No transaction: nothing a job could check.
    let response = app
        .http
        .post(url(&tenant))
        .json(&json!({"order_nsu": order}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A tenant that is not an id: acknowledged, dropped.
    let response = app
        .http
        .post(url("nope"))
        .json(&body("t-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(stored(&app).await, 0);

    for transaction in ["t-1", "t-1", "t-2"] {
        let response = app
            .http
            .post(url(&tenant))
            .json(&body(transaction))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // One per (order, transaction): a second transaction of the same order is its own.
    assert_eq!(stored(&app).await, 2);
    app.drain_jobs().await;
    let rows = notifications(&app).await;
    assert!(
        rows.iter()
            .all(|row| row.outcome.as_deref() == Some("unknown tenant: ignored")),
        "{rows:?}"
    );
    assert!(
        app.infinite_pay
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
}
