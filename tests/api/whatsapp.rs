//! The WhatsApp webhook.

use crate::helpers::{TestApp, spawn_app, spawn_app_with_settings};

const VERIFY_TOKEN: &str = "meta-verify-token";

async fn verify(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .get(format!("{}/webhook/whatsapp", app.address))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// Meta verifies the callback URL with the configured token and gets its challenge back as
/// text; anything else is 403.
#[tokio::test]
async fn the_webhook_url_verifies_with_the_configured_token_only() {
    let app = spawn_app_with_settings(&[("WABA_WEBHOOK_VERIFY_TOKEN", VERIFY_TOKEN)]).await;
    let verified = verify(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.challenge", "1158201444"),
            ("hub.verify_token", VERIFY_TOKEN),
        ],
    )
    .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.headers()["content-type"], "text/plain");
    assert_eq!(verified.text().await.unwrap(), "1158201444");

    for query in [
        vec![
            ("hub.mode", "subscribe"),
            ("hub.challenge", "1"),
            ("hub.verify_token", "wrong"),
        ],
        vec![
            ("hub.mode", "unsubscribe"),
            ("hub.challenge", "1"),
            ("hub.verify_token", VERIFY_TOKEN),
        ],
        vec![
            ("hub.mode", "subscribe"),
            ("hub.verify_token", VERIFY_TOKEN),
        ],
        vec![("hub.challenge", "1"), ("hub.verify_token", VERIFY_TOKEN)],
        vec![],
    ] {
        assert_eq!(verify(&app, &query).await.status(), 403, "{query:?}");
    }
}

/// Without a configured token no verification succeeds, whatever is sent.
#[tokio::test]
async fn without_a_verify_token_the_url_cannot_be_verified() {
    let app = spawn_app().await;
    let refused = verify(
        &app,
        &[
            ("hub.mode", "subscribe"),
            ("hub.challenge", "1"),
            ("hub.verify_token", ""),
        ],
    )
    .await;
    assert_eq!(refused.status(), 403);
}
