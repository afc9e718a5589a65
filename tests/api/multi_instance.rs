//! Several instances of one deployment on one Postgres and one Redis (run by the Postgres pass).

use serde_json::json;

use crate::{
    helpers::{Backend, spawn_app, spawn_app_with, ws::WsClient},
    websocket::subscribed,
};

#[tokio::test]
async fn an_event_from_one_instance_reaches_a_subscriber_on_another() {
    assert_eq!(
        Backend::current(),
        Backend::Postgres,
        "run with TEST_BACKEND=postgres (scripts/test does)"
    );
    let first = spawn_app().await;
    let second = spawn_app_with(first.sibling_options()).await;
    assert!(first.state.redis.is_some() && second.state.redis.is_some());
    let (token, tenant_id) = first.tenant_owner().await;

    let mut client = WsClient::connect(&second.address, "graphql-transport-ws").await;
    client
        .init(json!({"Authorization": format!("Bearer {token}")}))
        .await
        .unwrap();
    client
        .subscribe(
            "1",
            "subscription { tenantEvents { ... on TenantUpdated { tenant { id name } } } }",
        )
        .await;
    subscribed(&second, 1).await;

    first
        .gql(
            Some(&token),
            "mutation { updateTenant(input: {name: \"Mudou na instância 1\"}) { id } }",
            json!({}),
        )
        .await
        .data();
    let event = client.next().await.unwrap();
    assert_eq!(
        event["payload"]["data"]["tenantEvents"]["tenant"],
        json!({"id": tenant_id, "name": "Mudou na instância 1"})
    );
}

#[tokio::test]
async fn rate_limits_are_shared_across_instances() {
    assert_eq!(
        Backend::current(),
        Backend::Postgres,
        "run with TEST_BACKEND=postgres (scripts/test does)"
    );
    let mut options = crate::helpers::TestOptions {
        settings: vec![("LOGIN_MAX_ATTEMPTS_PER_EMAIL", "2".into())],
        ..Default::default()
    };
    let first = spawn_app_with(options.clone()).await;
    let sibling = first.sibling_options();
    options.database_url = sibling.database_url;
    options.redis = sibling.redis;
    options.redis_prefix = sibling.redis_prefix;
    options.secrets = sibling.secrets;
    let second = spawn_app_with(options).await;
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

#[tokio::test]
async fn appointment_events_cross_instances() {
    use chrono::Weekday;
    use chrono_tz::America::Sao_Paulo;

    use crate::{
        appointments::{book, salon},
        helpers::fixtures::next_local,
    };

    assert_eq!(
        Backend::current(),
        Backend::Postgres,
        "run with TEST_BACKEND=postgres (scripts/test does)"
    );
    let first = spawn_app().await;
    let second = spawn_app_with(first.sibling_options()).await;
    let salon = salon(&first).await;
    let mut client = WsClient::connect(&second.address, "graphql-transport-ws").await;
    client
        .init(json!({"Authorization": format!("Bearer {}", salon.token)}))
        .await
        .unwrap();
    client
        .subscribe(
            "1",
            "subscription { appointmentEvents { kind appointment { id } } }",
        )
        .await;
    subscribed(&second, 1).await;

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
