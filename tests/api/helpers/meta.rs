//! A mock of Meta's Graph API (WhatsApp Cloud API) that answers only requests carrying the
//! expected token, so a test also proves what we send.

use serde_json::{Value, json};
use waba_bot::kernel::crypto::hmac_sha256_hex;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_partial_json, header, method, path, query_param},
};

use super::TestApp;

pub const API_VERSION: &str = "v24.0";
pub const WABA_ID: &str = "102290129340398";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const TOKEN: &str = "EAAG-tenant-token";
/// The app secret of protocols.md §1.3's signature test vector.
pub const APP_SECRET: &str = "test_app_secret";

pub async fn start() -> MockServer {
    MockServer::start().await
}

/// Meta accepts `TOKEN` for `PHONE_NUMBER_ID` and `WABA_ID`; any other request gets wiremock's 404.
pub async fn accept_credentials(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/{API_VERSION}/{PHONE_NUMBER_ID}")))
        .and(query_param(
            "fields",
            "display_phone_number,verified_name,quality_rating",
        ))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "display_phone_number": "+55 11 91234-5678",
            "verified_name": "Salão da Maria",
            "quality_rating": "GREEN",
            "id": PHONE_NUMBER_ID,
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{API_VERSION}/{WABA_ID}/subscribed_apps")))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(server)
        .await;
}

/// Meta marks messages of `PHONE_NUMBER_ID` read for `TOKEN`.
pub async fn accept_mark_read(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/{API_VERSION}/{PHONE_NUMBER_ID}/messages")))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .and(body_partial_json(
            json!({"messaging_product": "whatsapp", "status": "read"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(server)
        .await;
}

/// The `wamid`s Meta was asked to mark read, in the order asked.
pub async fn marked_read(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|request| request.url.path().ends_with("/messages"))
        .filter_map(|request| {
            let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
            Some(body["message_id"].as_str()?.to_owned())
        })
        .collect()
}

/// Meta refuses every token, as it does an expired or revoked one (code 190).
pub async fn refuse_tokens(server: &MockServer) {
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired",
            "type": "OAuthException",
            "code": 190,
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }})))
        .mount(server)
        .await;
}

/// A tenant whose WhatsApp number is `PHONE_NUMBER_ID`: its owner's token and its id.
pub async fn connected_tenant(app: &TestApp) -> (String, String) {
    accept_credentials(&app.meta).await;
    accept_mark_read(&app.meta).await;
    let (token, tenant) = app.tenant_owner().await;
    app.gql(
        Some(&token),
        "mutation($i: ConnectWhatsAppInput!) { connectWhatsApp(input: $i) { id } }",
        json!({"i": {"wabaId": WABA_ID, "phoneNumberId": PHONE_NUMBER_ID, "accessToken": TOKEN}}),
    )
    .await
    .data();
    (token, tenant)
}

pub fn signature(body: &[u8]) -> String {
    format!("sha256={}", hmac_sha256_hex(APP_SECRET.as_bytes(), body))
}

pub async fn post(app: &TestApp, body: &[u8], signature: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{}/webhook/whatsapp", app.address))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.send().await.unwrap()
}

pub async fn post_signed(app: &TestApp, payload: &Value) -> reqwest::Response {
    let body = serde_json::to_vec(payload).unwrap();
    post(app, &body, Some(&signature(&body))).await
}

/// A `messages` change to `phone_number_id` carrying `messages` (and the contacts' profiles).
pub fn change(phone_number_id: &str, contacts: Value, messages: Value) -> Value {
    json!({"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "contacts": contacts,
        "messages": messages,
    }})
}

pub fn webhook(changes: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": changes}]})
}

pub fn text(from: &str, wamid: &str, body: &str) -> Value {
    json!({"from": from, "id": wamid, "timestamp": "1760000000", "type": "text", "text": {"body": body}})
}

/// Delivers `message` from `customer` (named Ana on WhatsApp), written now by `app`'s clock, and
/// waits for what it sets off.
pub async fn deliver_now(app: &TestApp, customer: &str, mut message: Value) {
    message["timestamp"] = json!(app.state.clock.now().timestamp().to_string());
    let delivery = webhook(json!([change(
        PHONE_NUMBER_ID,
        json!([{"wa_id": customer, "profile": {"name": "Ana"}}]),
        json!([message]),
    )]));
    assert_eq!(post_signed(app, &delivery).await.status(), 200);
    app.drain_jobs().await;
}

/// The tenant of `token` turns its bot OFF: only people answer.
pub async fn bot_off(app: &TestApp, token: &str) {
    app.gql(
        Some(token),
        "mutation { updateTenant(input: {botMode: OFF}) { botMode } }",
        json!({}),
    )
    .await
    .data();
}

/// A `messages` change to `phone_number_id` carrying delivery `statuses`.
pub fn statuses(phone_number_id: &str, statuses: Value) -> Value {
    json!({"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "statuses": statuses,
    }})
}

/// One status element, as Meta reports it.
pub fn status(wamid: &str, status: &str) -> Value {
    json!({"id": wamid, "status": status, "timestamp": "1760000300", "recipient_id": "5511912345678"})
}

/// Meta accepts every message sent from `PHONE_NUMBER_ID` with `TOKEN`, naming them
/// `wamid.OUT-1`, `wamid.OUT-2`, … in the order received.
pub async fn accept_sends(server: &MockServer) {
    struct Numbered(std::sync::atomic::AtomicUsize);
    impl wiremock::Respond for Numbered {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "+5511912345678", "wa_id": "5511912345678"}],
                "messages": [{"id": format!("wamid.OUT-{n}")}],
            }))
        }
    }
    Mock::given(method("POST"))
        .and(path(format!("/{API_VERSION}/{PHONE_NUMBER_ID}/messages")))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .and(body_partial_json(
            json!({"messaging_product": "whatsapp", "recipient_type": "individual"}),
        ))
        .respond_with(Numbered(0.into()))
        .mount(server)
        .await;
}

/// Meta answers the next `times` sends with `status` and `body` (then the mocks mounted before
/// answer again).
pub async fn fail_sends(server: &MockServer, times: u64, status: u16, body: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/{API_VERSION}/{PHONE_NUMBER_ID}/messages")))
        .and(body_partial_json(json!({"recipient_type": "individual"})))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
}

/// Meta's error object with `code`.
pub fn graph_error(code: i64, message: &str) -> Value {
    json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})
}

/// The bodies of the messages Meta was asked to send (not the read receipts), in order.
pub async fn sent(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|request| request.url.path().ends_with("/messages"))
        .filter_map(|request| serde_json::from_slice::<Value>(&request.body).ok())
        .filter(|body| body.get("status").is_none())
        .collect()
}
