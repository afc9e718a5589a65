//! Several instances of one deployment on one Postgres and one Redis (run by the Postgres pass).

use chrono::Weekday;
use chrono_tz::America::Sao_Paulo;
use serde_json::json;

use crate::{
    appointments::{book, salon},
    helpers::{Backend, TestApp, TestOptions, fixtures::next_local, spawn_app_with, ws::WsClient},
    websocket::subscribed,
};

/// Two instances sharing the database, Redis and keys; `settings` apply to both.
async fn two_instances(settings: Vec<(&'static str, String)>) -> (TestApp, TestApp) {
    assert_eq!(
        Backend::current(),
        Backend::Postgres,
        "run with TEST_BACKEND=postgres (scripts/test does)"
    );
    let first = spawn_app_with(TestOptions {
        settings: settings.clone(),
        ..TestOptions::default()
    })
    .await;
    let second = spawn_app_with(TestOptions {
        settings,
        ..first.sibling_options()
    })
    .await;
    assert!(first.state.redis.is_some() && second.state.redis.is_some());
    (first, second)
}

/// A graphql-transport-ws client of `app` running `query`, registered before it returns.
async fn subscriber(app: &TestApp, token: &str, query: &str) -> WsClient {
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    client
        .init(json!({"Authorization": format!("Bearer {token}")}))
        .await
        .unwrap();
    client.subscribe("1", query).await;
    subscribed(app, 1).await;
    client
}

#[tokio::test]
async fn an_event_from_one_instance_reaches_a_subscriber_on_another() {
    let (first, second) = two_instances(vec![]).await;
    let (token, tenant_id) = first.tenant_owner().await;
    let mut client = subscriber(
        &second,
        &token,
        "subscription { tenantEvents { ... on TenantUpdated { tenant { id name } } } }",
    )
    .await;

    let rename = "mutation { updateTenant(input: {name: \"Mudou na instância 1\"}) { id } }";
    first.gql(Some(&token), rename, json!({})).await.data();
    let event = client.next().await.unwrap();
    assert_eq!(
        event["payload"]["data"]["tenantEvents"]["tenant"],
        json!({"id": tenant_id, "name": "Mudou na instância 1"})
    );
}

#[tokio::test]
async fn appointment_events_cross_instances() {
    let (first, second) = two_instances(vec![]).await;
    let salon = salon(&first).await;
    let mut client = subscriber(
        &second,
        &salon.token,
        "subscription { appointmentEvents { kind appointment { id } } }",
    )
    .await;

    let created = book(&first, &salon, next_local(&Sao_Paulo, Weekday::Wed, 11, 0)).await;
    let event = client.next().await.unwrap();
    assert_eq!(
        event["payload"]["data"]["appointmentEvents"]["kind"],
        "CREATED"
    );
    assert_eq!(
        event["payload"]["data"]["appointmentEvents"]["appointment"]["id"],
        created.data()["createAppointment"]["id"]
    );
}

#[tokio::test]
async fn rate_limits_are_shared_across_instances() {
    let (first, second) = two_instances(vec![("LOGIN_MAX_ATTEMPTS_PER_EMAIL", "2".into())]).await;
    let query = "mutation { login(email: \"ana@salon.test\", password: \"nope\") { accessToken } }";
    assert_eq!(
        first.gql(None, query, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        second.gql(None, query, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        first.gql(None, query, json!({})).await.code(),
        "RATE_LIMITED"
    );
}

/// Both instances run the reminders cron at the same moment: each reminder is recorded and
/// queued once.
#[tokio::test]
async fn reminders_are_sent_once_across_instances() {
    use chrono_tz::America::Sao_Paulo;
    use sea_orm::EntityTrait;
    use waba_bot::{domains::notifications::jobs::SendReminders, jobs::CronJob};

    let (first, second) = two_instances(Vec::new()).await;
    let shop = crate::notifications::shop(&first).await;
    let at = next_local(&Sao_Paulo, chrono::Weekday::Wed, 10, 0);
    crate::notifications::book(&first, &shop, at).await;
    let now = at - chrono::Duration::hours(23);
    let runs =
        [&first, &second, &first, &second].map(|app| SendReminders::run(app.state.clone(), now));
    for run in futures_util::future::join_all(runs).await {
        run.unwrap();
    }
    let reminders: Vec<_> = entity::notifications::Entity::find()
        .all(&first.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|notice| notice.kind == "REMINDER_24H")
        .collect();
    assert_eq!(reminders.len(), 1);
    let bot_messages = entity::messages::Entity::find()
        .all(&first.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|message| message.sent_by == "BOT")
        .count();
    // The booking's notice and one reminder.
    assert_eq!(bot_messages, 2);
}

/// A message received by one instance reaches the inbox open on another.
#[tokio::test]
async fn conversation_events_cross_instances() {
    let (first, second) = two_instances(Vec::new()).await;
    let (token, _) = crate::helpers::meta::connected_tenant(&first).await;
    crate::helpers::meta::bot_off(&first, &token).await;
    let mut client = subscriber(
        &second,
        &token,
        "subscription { conversationEvents { kind message { text direction } } }",
    )
    .await;
    let customer = "5511912345678";
    let message = crate::helpers::meta::text(customer, "wamid.CROSS", "Oi de longe");
    crate::helpers::meta::deliver_now(&first, customer, message).await;
    let event = client.next().await.unwrap();
    assert_eq!(
        event["payload"]["data"]["conversationEvents"],
        json!({"kind": "MESSAGE_RECEIVED", "message": {"text": "Oi de longe", "direction": "INBOUND"}})
    );
}
