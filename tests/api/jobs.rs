//! The worker and the process lifecycle.

use serde_json::json;
use waba_bot::kernel::viewer::Role;

use crate::helpers::spawn_app;

#[tokio::test]
async fn jobs_run_on_the_worker_and_are_counted() {
    let app = spawn_app().await;
    let session = app
        .user_session("ana@salon.test", Role::Tenant, false)
        .await;
    app.gql(
        session["accessToken"].as_str(),
        "mutation { sendVerificationCode { sent } }",
        json!({}),
    )
    .await
    .data();
    app.drain_jobs().await;
    app.smtp.wait_for(1).await;
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"waba_jobs_total{queue="send_verification_email",outcome="ok"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn graceful_shutdown_finishes_and_returns_ok() {
    let app = spawn_app().await;
    let address = app.address.clone();
    let http = app.http.clone();
    app.gql(None, "{ saasPlans { id } }", json!({}))
        .await
        .data();
    app.stop().await.expect("clean shutdown");
    assert!(
        http.get(format!("{address}/healthz")).send().await.is_err(),
        "the server still accepts connections"
    );
}
