//! The worker and the process lifecycle.

use sea_orm::{ActiveValue::Set, EntityTrait};
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

/// An outbox row of a queue this version does not know (a newer version's, during a rolling
/// deploy) is left to the instances that know it; it neither fails nor blocks the dispatcher.
#[tokio::test]
async fn rows_of_queues_this_version_does_not_know_are_left_alone() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    entity::outbox::Entity::insert(entity::outbox::ActiveModel {
        id: Set(id),
        queue: Set("from_a_newer_version".into()),
        payload: Set("{}".into()),
        created_at: Set(chrono::Utc::now()),
        dispatched_at: Set(None),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();
    assert_eq!(app.state.jobs.dispatch_pending().await.unwrap(), 0);
    app.drain_jobs().await;
    let row = entity::outbox::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.dispatched_at, None);
}
