//! The worker and the process lifecycle.

use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::json;
use waba_bot::{
    domains::whatsapp::jobs::SendMessages,
    jobs::{self, HOLD},
    kernel::{ids::ConversationId, viewer::Role},
};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// A user asks for a verification code: one `send_verification_email` job runs, and its email
/// is out.
async fn run_one_email_job(app: &TestApp) {
    let session = app
        .user_session(
            &format!("ana-{}@salon.test", uuid::Uuid::now_v7().simple()),
            Role::Tenant,
            false,
        )
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
}

#[tokio::test]
async fn jobs_run_on_the_worker_and_are_counted() {
    let app = spawn_app().await;
    run_one_email_job(&app).await;
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"waba_jobs_total{queue="send_verification_email",outcome="ok"} 1"#),
        "{metrics}"
    );
}

/// Every process registers workers of its own: apalis refuses a second live worker of one name
/// (SQLite within the 30-second heartbeat, Postgres while the first holds its advisory lock), so
/// an instance beside another, or restarted at once, would run no job at all.
#[tokio::test]
async fn a_second_instance_and_a_restarted_one_run_jobs() {
    let first = spawn_app().await;
    run_one_email_job(&first).await;
    let mut second = spawn_app_with(first.sibling_options()).await;
    // Its workers registered while the first's were alive; the first stops, so only the second's
    // can run the next job.
    first.stop_for(&mut second).await;
    run_one_email_job(&second).await;
    let restarted = second.restart(Vec::new()).await;
    run_one_email_job(&restarted).await;
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
        available_at: Set(None),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();
    assert_eq!(app.state.jobs.dispatch_pending().await.unwrap(), 0);
    app.drain_jobs().await;
    let row = entity::outbox::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap();
    assert!(
        row.is_some(),
        "the row was taken by a version that cannot run it"
    );
}

/// A finished job gives up its worker's lock on Postgres (so apalis's acknowledgement of the next
/// job reads only the jobs in flight), and is deleted once past its retention, on both backends.
#[tokio::test]
async fn finished_jobs_release_their_lock_and_are_purged_after_their_retention() {
    use sea_orm::DatabaseBackend;
    use waba_bot::jobs::queue::DONE_RETENTION;

    let app = spawn_app().await;
    run_one_email_job(&app).await;

    let finished = || app.queued_jobs("send_verification_email");
    let jobs = finished().await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].status, "Done");
    if app.state.db.get_database_backend() == DatabaseBackend::Postgres {
        assert_eq!(
            jobs[0].lock_by, None,
            "a finished job keeps its worker's lock"
        );
    }

    let now = chrono::Utc::now();
    assert_eq!(app.state.jobs.purge_finished(now).await.unwrap(), 0);
    assert_eq!(finished().await.len(), 1, "purged within its retention");
    let later = now + DONE_RETENTION + chrono::Duration::minutes(1);
    assert_eq!(app.state.jobs.purge_finished(later).await.unwrap(), 1);
    assert!(finished().await.is_empty());
}

/// A job its writer runs itself right after the commit (a WhatsApp message's, its turn's, its
/// reply's) leaves nothing in the queue. One whose writer died before running it is left alone
/// for the hold, then pushed and run by the workers. (A held run that fails is released to the
/// workers at once: `inbox::throttled_sends_are_retried_and_long_texts_are_split_in_order`.)
#[tokio::test]
async fn a_held_job_runs_in_its_writer_or_after_its_hold_on_the_workers() {
    let app = spawn_app().await;
    let queue = "whatsapp_send_messages";
    let job = || SendMessages {
        conversation: ConversationId(uuid::Uuid::now_v7()),
    };
    let row = |held: jobs::Held| entity::outbox::Entity::find_by_id(held.id).one(&app.state.db);

    let held = app.state.jobs.hold(uuid::Uuid::now_v7());
    jobs::enqueue_held(&app.state.db, &job(), held)
        .await
        .unwrap();
    app.state
        .jobs
        .run_held(&[held], job(), app.state.clone())
        .await;
    assert_eq!(row(held).await.unwrap(), None);
    assert!(app.queued_jobs(queue).await.is_empty());
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"waba_jobs_total{queue="whatsapp_send_messages",outcome="ok"} 1"#),
        "{metrics}"
    );

    let orphan = app.state.jobs.hold(uuid::Uuid::now_v7());
    jobs::enqueue_held(&app.state.db, &job(), orphan)
        .await
        .unwrap();
    app.state.clock.advance(HOLD - chrono::Duration::seconds(1));
    app.state.jobs.dispatch_pending().await.unwrap();
    assert!(
        row(orphan).await.unwrap().is_some(),
        "dispatched while held"
    );
    app.state.clock.advance(chrono::Duration::seconds(2));
    app.drain_jobs().await;
    assert_eq!(row(orphan).await.unwrap(), None);
    let pushed = app.queued_jobs(queue).await;
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0].idempotency_key, Some(orphan.id.to_string()));
    assert_eq!(pushed[0].status, "Done");
}
