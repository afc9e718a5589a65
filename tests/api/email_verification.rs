use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use waba_bot::{domains::auth::jobs::SendVerificationEmail, jobs::Job, kernel::viewer::Role};

use crate::helpers::{TestApp, spawn_app};

const SEND: &str = "mutation { sendVerificationCode { sent message } }";
const VERIFY: &str =
    "mutation($c: String!) { verifyEmail(code: $c) { verified user { emailVerified } } }";

async fn unverified_user(app: &TestApp) -> String {
    let session = app
        .user_session("ana@salon.test", Role::Tenant, false)
        .await;
    session["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_code_is_emailed_by_a_job_and_verifies_the_address() {
    let app = spawn_app().await;
    let token = unverified_user(&app).await;
    let sent = app.gql(Some(&token), SEND, json!({})).await;
    assert_eq!(
        sent.data()["sendVerificationCode"],
        json!({"sent": true, "message": "Código de verificação enviado"})
    );

    app.drain_jobs().await;
    let mail = app.smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.to, vec!["ana@salon.test"]);
    assert_eq!(mail.from, "bot@waba.test");
    let decoded = mail.decoded();
    assert!(
        decoded.contains("Subject: Verifique seu email - WABA Bot"),
        "{decoded}"
    );
    assert!(decoded.contains("WABA Bot"));
    assert!(decoded.contains("expira em 15 minutos"));
    let code = mail
        .six_digit_code()
        .expect("a six-digit code in the e-mail");

    // The code is stored only as a keyed hash and a ciphertext.
    let stored = entity::email_verifications::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.code_hash.contains(&code) && !stored.code_enc.contains(&code));
    assert!(stored.sent_at.is_some());

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let rejected = app.gql(Some(&token), VERIFY, json!({"c": wrong})).await;
    assert_eq!(rejected.code(), "BAD_USER_INPUT");
    assert_eq!(rejected.message(), "Código inválido");

    let verified = app.gql(Some(&token), VERIFY, json!({"c": code})).await;
    assert_eq!(
        verified.data()["verifyEmail"],
        json!({"verified": true, "user": {"emailVerified": true}})
    );

    let again = app.gql(Some(&token), SEND, json!({})).await;
    assert_eq!(
        again.data()["sendVerificationCode"],
        json!({"sent": false, "message": "Email já verificado"})
    );
    app.drain_jobs().await;
    assert_eq!(app.smtp.messages().len(), 1);
}

#[tokio::test]
async fn five_wrong_attempts_burn_the_code() {
    let app = spawn_app().await;
    let token = unverified_user(&app).await;
    app.gql(Some(&token), SEND, json!({})).await.data();
    app.drain_jobs().await;
    let code = app.smtp.wait_for(1).await[0].six_digit_code().unwrap();
    let wrong = if code == "123456" { "654321" } else { "123456" };
    for _ in 0..5 {
        assert_eq!(
            app.gql(Some(&token), VERIFY, json!({"c": wrong}))
                .await
                .message(),
            "Código inválido"
        );
    }
    let locked = app.gql(Some(&token), VERIFY, json!({"c": code})).await;
    assert_eq!(locked.code(), "BAD_USER_INPUT");
    assert_eq!(
        locked.message(),
        "Muitas tentativas inválidas. Solicite um novo código."
    );
}

#[tokio::test]
async fn expired_missing_and_malformed_codes_have_their_messages() {
    let app = spawn_app().await;
    let token = unverified_user(&app).await;
    let none = app.gql(Some(&token), VERIFY, json!({"c": "123456"})).await;
    assert_eq!(
        none.message(),
        "Nenhum código de verificação pendente. Solicite um novo código."
    );
    for bad in ["12345", "1234567", "abcdef"] {
        let malformed = app.gql(Some(&token), VERIFY, json!({"c": bad})).await;
        assert_eq!(malformed.code(), "BAD_USER_INPUT");
        assert_eq!(malformed.message(), "O código deve ter 6 dígitos");
    }
    app.gql(Some(&token), SEND, json!({})).await.data();
    app.drain_jobs().await;
    assert_eq!(app.smtp.messages().len(), 1);
    // Expired, and looking unsent so that only the expiry can stop a sending job.
    entity::email_verifications::Entity::update_many()
        .col_expr(
            entity::email_verifications::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .col_expr(
            entity::email_verifications::Column::SentAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    let expired = app.gql(Some(&token), VERIFY, json!({"c": "123456"})).await;
    assert_eq!(
        expired.message(),
        "Código expirado. Solicite um novo código."
    );
    // A sending job that runs after the code expired does not e-mail it.
    let verification = entity::email_verifications::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the code is stored");
    SendVerificationEmail {
        verification_id: verification.id,
    }
    .run(app.state.clone())
    .await
    .unwrap();
    assert_eq!(app.smtp.messages().len(), 1);
}

#[tokio::test]
async fn the_email_job_is_enqueued_with_the_code_and_dispatched_exactly_once() {
    let app = spawn_app().await;
    let token = unverified_user(&app).await;
    app.gql(Some(&token), SEND, json!({})).await.data();

    // The job was written with the code, in the outbox until it is pushed (which may already
    // have happened): a crash now would lose nothing.
    let queue = SendVerificationEmail::QUEUE;
    let mut written: std::collections::HashSet<String> = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::Queue.eq(queue))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.id.to_string())
        .collect();
    // Read after the outbox: a row pushed in between is seen here (with its row's id) instead.
    let pushed = app.queued_jobs(queue).await;
    written.extend(pushed.into_iter().filter_map(|job| job.idempotency_key));
    assert_eq!(written.len(), 1, "{written:?}");

    app.drain_jobs().await;
    app.smtp.wait_for(1).await;
    let dispatched = entity::outbox::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(dispatched, 0, "dispatched rows are deleted");
    // A dispatcher that crashed after pushing but before deleting the row pushes it again: the
    // idempotency key keeps it one job, and the job itself would not resend a sent code. The
    // queue's new row, pushed in the same batch, still goes out once.
    let pushed = app.queued_jobs(queue).await;
    let verification = entity::email_verifications::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let job = SendVerificationEmail {
        verification_id: verification.id,
    };
    entity::outbox::Entity::insert(entity::outbox::ActiveModel {
        id: Set(pushed[0]
            .idempotency_key
            .as_deref()
            .unwrap()
            .parse()
            .unwrap()),
        queue: Set(queue.to_owned()),
        payload: Set(serde_json::to_string(&job).unwrap()),
        created_at: Set(chrono::Utc::now()),
        available_at: Set(None),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();
    let other = app
        .user_session("bia@salon.test", Role::Tenant, false)
        .await;
    app.gql(other["accessToken"].as_str(), SEND, json!({}))
        .await
        .data();
    app.drain_jobs().await;
    let pending = entity::outbox::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    app.smtp.wait_for(2).await;
    assert_eq!(app.smtp.messages().len(), 2);
}

#[tokio::test]
async fn a_new_code_replaces_the_previous_one() {
    let app = spawn_app().await;
    let token = unverified_user(&app).await;
    app.gql(Some(&token), SEND, json!({})).await.data();
    app.drain_jobs().await;
    let first = app.smtp.wait_for(1).await[0].six_digit_code().unwrap();
    app.gql(Some(&token), SEND, json!({})).await.data();
    app.drain_jobs().await;
    let second = app.smtp.wait_for(2).await[1].six_digit_code().unwrap();
    if first != second {
        assert_eq!(
            app.gql(Some(&token), VERIFY, json!({"c": first}))
                .await
                .message(),
            "Código inválido"
        );
    }
    assert_eq!(
        app.gql(Some(&token), VERIFY, json!({"c": second}))
            .await
            .data()["verifyEmail"]["verified"],
        true
    );
}

#[tokio::test]
async fn verification_requires_authentication() {
    let app = spawn_app().await;
    assert_eq!(
        app.gql(None, SEND, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.gql(None, VERIFY, json!({"c": "123456"})).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn concurrent_wrong_codes_get_five_evaluations_at_most() {
    let app = spawn_app().await;
    let token = unverified_user(&app).await;
    app.gql(Some(&token), SEND, json!({})).await.data();
    app.drain_jobs().await;
    let code = app.smtp.wait_for(1).await[0].six_digit_code().unwrap();
    let wrong = if code == "123456" { "654321" } else { "123456" };

    let attempts = (0..40).map(|_| app.gql(Some(&token), VERIFY, json!({"c": wrong})));
    let answers = futures_util::future::join_all(attempts).await;
    let evaluated = answers
        .iter()
        .filter(|a| a.message() == "Código inválido")
        .count();
    assert!(evaluated <= 5, "{evaluated} wrong codes were evaluated");
    assert!(answers.iter().all(|a| a.code() == "BAD_USER_INPUT"));

    // The attempts are spent: not even the right code gets through now.
    let late = app.gql(Some(&token), VERIFY, json!({"c": code})).await;
    assert_eq!(
        late.message(),
        "Muitas tentativas inválidas. Solicite um novo código."
    );
}
