//! A mock of Meta's Graph API (WhatsApp Cloud API) that answers only requests carrying the
//! expected token, so a test also proves what we send.

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_partial_json, header, method, path, query_param},
};

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
