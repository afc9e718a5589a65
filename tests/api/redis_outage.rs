//! Redis unreachable at runtime must not take down GraphQL: everything degrades to in-process.

use serde_json::json;

use crate::helpers::{TestOptions, spawn_app_with};

#[tokio::test]
async fn graphql_keeps_working_and_readiness_reports_redis_down() {
    let app = spawn_app_with(TestOptions {
        redis: Some(true),
        settings: vec![("REDIS_URL", "redis://127.0.0.1:1".into())],
        ..TestOptions::default()
    })
    .await;
    let (token, _) = app.tenant_owner().await;
    let updated = app
        .gql(
            Some(&token),
            "mutation { updateTenant(input: {aiEnabled: false}) { aiEnabled } }",
            json!({}),
        )
        .await;
    assert_eq!(updated.data()["updateTenant"]["aiEnabled"], false);

    let ready = app
        .http
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    // The app degrades by design without Redis: still ready, and the body says what is down.
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body, json!({"database": "ok", "redis": "down"}));
}

#[tokio::test]
async fn readiness_fails_only_without_the_database() {
    let app = spawn_app_with(TestOptions::default()).await;
    app.state.db.clone().close().await.unwrap();
    let ready = app
        .http
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "down");
}
