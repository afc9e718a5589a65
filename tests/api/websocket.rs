use serde_json::json;

use crate::helpers::{TestApp, spawn_app, ws::WsClient};

const EVENTS: &str =
    "subscription { tenantEvents { __typename ... on TenantUpdated { tenant { id name } } } }";
const RENAME: &str = "mutation($n: String!) { updateTenant(input: {name: $n}) { id } }";

/// Renames the tenant of `token`, which publishes `TenantUpdated`.
async fn rename(app: &TestApp, token: &str, name: &str) {
    app.gql(Some(token), RENAME, json!({"n": name}))
        .await
        .data();
}

/// Waits until `count` subscriptions receive events on the instance, so an event published
/// afterwards is certain to reach them.
pub async fn subscribed(app: &TestApp, count: usize) {
    registered_until(app, |registered| registered >= count).await;
}

/// Waits until exactly `count` subscriptions receive events (after some ended).
async fn receivers(app: &TestApp, count: usize) {
    registered_until(app, |registered| registered == count).await;
}

fn live_subscriptions(app: &TestApp) -> usize {
    app.state.metrics.live.subscriptions.get() as usize
}

async fn registered_until(app: &TestApp, reached: impl Fn(usize) -> bool) {
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while !reached(live_subscriptions(app)) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("live subscriptions never reached the count");
}

#[tokio::test]
async fn graphql_transport_ws_streams_tenant_events_to_the_tenant_only() {
    let app = spawn_app().await;
    let (token_a, tenant_a) = app.tenant_owner().await;
    let (token_b, _) = app.tenant_owner().await;

    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    let ack = client
        .init(json!({"Authorization": format!("Bearer {token_a}")}))
        .await
        .unwrap();
    assert_eq!(ack["type"], "connection_ack");
    client.subscribe("1", EVENTS).await;
    subscribed(&app, 1).await;

    // Tenant B's change first: A's subscriber must never see it.
    rename(&app, &token_b, "Salão B").await;
    rename(&app, &token_a, "Salão A").await;

    let event = client.next().await.unwrap();
    assert_eq!(event["type"], "next");
    assert_eq!(event["id"], "1");
    assert_eq!(
        event["payload"]["data"]["tenantEvents"],
        json!({"__typename": "TenantUpdated", "tenant": {"id": tenant_a, "name": "Salão A"}})
    );

    client.send(json!({"id": "1", "type": "complete"})).await;
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_with_a_token_field() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let mut client = WsClient::connect(&app.address, "graphql-ws").await;
    assert_eq!(
        client.init(json!({"token": token})).await.unwrap()["type"],
        "connection_ack"
    );
    client
        .send(json!({"id": "7", "type": "start", "payload": {"query": EVENTS}}))
        .await;
    subscribed(&app, 1).await;
    rename(&app, &token, "Legado").await;
    let event = client.next().await.unwrap();
    assert_eq!(event["type"], "data");
    assert_eq!(
        event["payload"]["data"]["tenantEvents"]["tenant"]["name"],
        "Legado"
    );
}

#[tokio::test]
async fn bad_or_missing_tokens_close_with_4403() {
    let app = spawn_app().await;
    for payload in [
        json!({}),
        json!({"Authorization": "Bearer not-a-token"}),
        json!({"token": ""}),
    ] {
        let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
        let closed = client.init(payload.clone()).await.unwrap_err();
        assert_eq!(closed.code, 4403, "{payload}: {closed:?}");
    }
}

#[tokio::test]
async fn subscribing_before_the_ack_closes_with_4401() {
    let app = spawn_app().await;
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    client.subscribe("1", EVENTS).await;
    assert_eq!(client.next().await.unwrap_err().code, 4401);
}

#[tokio::test]
async fn a_user_without_a_tenant_gets_an_error_for_tenant_events() {
    let app = spawn_app().await;
    let session = app
        .user_session(
            "new@salon.test",
            waba_bot::kernel::viewer::Role::Tenant,
            true,
        )
        .await;
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    client.init(json!({"Authorization": format!("Bearer {}", session["accessToken"].as_str().unwrap())})).await.unwrap();
    client.subscribe("1", EVENTS).await;
    let error = client.next().await.unwrap();
    assert_eq!(
        error["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{error}"
    );
}

const APPOINTMENT_EVENTS: &str =
    "subscription { appointmentEvents { kind appointment { id status startsAt } } }";

#[tokio::test]
async fn appointment_events_reach_the_tenant_only() {
    use chrono::Weekday;
    use chrono_tz::America::Sao_Paulo;

    use crate::{
        appointments::{book, salon},
        helpers::fixtures::next_local,
    };

    let app = spawn_app().await;
    let a = salon(&app).await;
    let b = salon(&app).await;
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    client
        .init(json!({"Authorization": format!("Bearer {}", a.token)}))
        .await
        .unwrap();
    client.subscribe("1", APPOINTMENT_EVENTS).await;
    subscribed(&app, 1).await;

    let at = next_local(&Sao_Paulo, Weekday::Tue, 10, 0);
    book(&app, &b, at).await.data();
    let created = book(&app, &a, at).await;
    let id = created.data()["createAppointment"]["id"].clone();
    app.gql(
        Some(&a.token),
        "mutation($id: ID!) { confirmAppointment(id: $id) { id } }",
        json!({"id": id}),
    )
    .await
    .data();

    let first = client.next().await.unwrap();
    assert_eq!(
        first["payload"]["data"]["appointmentEvents"]["kind"],
        "CREATED"
    );
    assert_eq!(
        first["payload"]["data"]["appointmentEvents"]["appointment"]["id"],
        id
    );
    assert!(
        first["payload"]["data"]["appointmentEvents"]["appointment"]["startsAt"]
            .as_str()
            .unwrap()
            .ends_with("-03:00")
    );
    let second = client.next().await.unwrap();
    assert_eq!(
        second["payload"]["data"]["appointmentEvents"]["kind"],
        "CONFIRMED"
    );
    assert_eq!(
        second["payload"]["data"]["appointmentEvents"]["appointment"]["status"],
        "CONFIRMED"
    );
}

#[tokio::test]
async fn login_over_a_websocket_counts_against_the_ip_limit() {
    use crate::helpers::spawn_app_with_settings;
    let app = spawn_app_with_settings(&[
        ("LOGIN_MAX_ATTEMPTS_PER_IP", "2"),
        ("LOGIN_MAX_ATTEMPTS_PER_EMAIL", "100"),
    ])
    .await;
    let (token, _) = app.tenant_owner().await;
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    client
        .init(json!({"Authorization": format!("Bearer {token}")}))
        .await
        .unwrap();
    let mut codes = Vec::new();
    for i in 0..3 {
        let id = i.to_string();
        client
            .send(json!({"id": id, "type": "subscribe", "payload": {
                "query": "mutation($e: String!) { login(email: $e, password: \"nope\") { accessToken } }",
                "variables": {"e": format!("user{i}@salon.test")}
            }}))
            .await;
        let answer = loop {
            let message = client.next().await.unwrap();
            if message["type"] == "next" {
                break message;
            }
        };
        assert_eq!(answer["id"], id.as_str());
        codes.push(answer["payload"]["errors"][0]["extensions"]["code"].clone());
    }
    // Signing the owner in over HTTP spent part of the same IP's budget: the socket's logins
    // share it, so it runs out within three.
    assert_eq!(codes[0], "UNAUTHENTICATED");
    assert_eq!(codes[2], "RATE_LIMITED", "{codes:?}");
}

#[tokio::test]
async fn websocket_documents_are_bounded_too() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    client
        .init(json!({"Authorization": format!("Bearer {token}")}))
        .await
        .unwrap();
    let mut fan_out = String::from("query { ...F19 } fragment F0 on Query { __typename }");
    for level in 1..20 {
        let below = level - 1;
        fan_out.push_str(&format!(
            " fragment F{level} on Query {{ ...F{below} ...F{below} }}"
        ));
    }
    client.subscribe("1", &fan_out).await;
    let answer = client.next().await.unwrap();
    assert_eq!(answer["id"], "1");
    let error = &answer["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("GRAPHQL_MAX_EXPANDED_FIELDS")
    );
}

pub async fn connected(app: &TestApp, token: &str) -> WsClient {
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    let ack = client
        .init(json!({"Authorization": format!("Bearer {token}")}))
        .await
        .unwrap();
    assert_eq!(ack["type"], "connection_ack");
    client
}

#[tokio::test]
async fn a_socket_that_never_initialises_closes_with_4408() {
    use crate::helpers::spawn_app_with_settings;
    let app = spawn_app_with_settings(&[("WS_INIT_TIMEOUT_SECONDS", "1")]).await;
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    assert_eq!(client.next().await.unwrap_err().code, 4408);
}

#[tokio::test]
async fn malformed_oversized_and_duplicate_messages_close_with_their_codes() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;

    let mut client = connected(&app, &token).await;
    client.send_text("{not json").await;
    let closed = client.next().await.unwrap_err();
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (4400, "Invalid message received")
    );

    let mut client = connected(&app, &token).await;
    client
        .send_text(&format!(
            r#"{{"type":"ping","payload":"{}"}}"#,
            "x".repeat(70_000)
        ))
        .await;
    assert_eq!(client.next().await.unwrap_err().code, 1009);

    let mut client = connected(&app, &token).await;
    client.subscribe("1", EVENTS).await;
    client.subscribe("1", EVENTS).await;
    let closed = client.next().await.unwrap_err();
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (4409, "Subscriber for 1 already exists")
    );
}

#[tokio::test]
async fn one_socket_runs_a_bounded_number_of_subscriptions() {
    use crate::helpers::spawn_app_with_settings;
    let app = spawn_app_with_settings(&[("WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", "3")]).await;
    let (token, _) = app.tenant_owner().await;
    let mut client = connected(&app, &token).await;
    for id in ["1", "2", "3", "4"] {
        client.subscribe(id, EVENTS).await;
    }
    let refused = client.next().await.unwrap();
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["id"], "4");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    subscribed(&app, 3).await;
    // Completing one frees its place.
    client.send(json!({"id": "2", "type": "complete"})).await;
    receivers(&app, 2).await;
    client.subscribe("5", EVENTS).await;
    subscribed(&app, 3).await;
    rename(&app, &token, "Salão").await;
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 3 {
        let event = client.next().await.unwrap();
        if event["type"] == "complete" {
            continue;
        }
        assert_eq!(event["type"], "next", "{event}");
        seen.insert(event["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["1", "3", "5"].map(str::to_owned).into());
}

/// Runs `customer(id) { name }` over the socket as operation `op`; its `next` or `error` message.
async fn read_customer(
    client: &mut WsClient,
    op: &str,
    id: &serde_json::Value,
) -> serde_json::Value {
    client
        .send(json!({"id": op, "type": "subscribe", "payload": {
            "query": "query($id: ID!) { customer(id: $id) { name } }",
            "variables": {"id": id},
        }}))
        .await;
    loop {
        let message = client.next().await.unwrap();
        if message["type"] == "next" || message["type"] == "error" {
            return message;
        }
    }
}

#[tokio::test]
async fn operations_on_a_socket_reread_the_viewer_and_fresh_data() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let me = app.gql(Some(&token), "{ me { id } }", json!({})).await;
    let user_id = uuid::Uuid::parse_str(me.data()["me"]["id"].as_str().unwrap()).unwrap();
    let customer = app.create_customer(&token, "Ana", "+5511987650001").await;
    let mut client = connected(&app, &token).await;
    assert_eq!(
        read_customer(&mut client, "1", &customer["id"]).await["payload"]["data"]["customer"]["name"],
        "Ana"
    );
    app.gql(
        Some(&token),
        "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Ana Maria\"}) { id } }",
        json!({"id": customer["id"]}),
    )
    .await
    .data();
    // No loader cache outlives its operation.
    assert_eq!(
        read_customer(&mut client, "2", &customer["id"]).await["payload"]["data"]["customer"]["name"],
        "Ana Maria"
    );

    entity::users::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(user_id),
        is_active: Set(false),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    let refused = read_customer(&mut client, "3", &customer["id"]).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn running_subscriptions_end_when_the_viewer_is_gone() {
    use crate::helpers::spawn_app_with_settings;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = spawn_app_with_settings(&[("WS_REVALIDATE_SECONDS", "1")]).await;
    let (token, _) = app.tenant_owner().await;
    let me = app.gql(Some(&token), "{ me { id } }", json!({})).await;
    let user_id = uuid::Uuid::parse_str(me.data()["me"]["id"].as_str().unwrap()).unwrap();
    let mut client = connected(&app, &token).await;
    client.subscribe("1", EVENTS).await;
    subscribed(&app, 1).await;
    entity::users::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(user_id),
        is_active: Set(false),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    let ended = client.next().await.unwrap();
    assert_eq!(ended["type"], "error");
    assert_eq!(ended["id"], "1");
    assert_eq!(ended["payload"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(client.next().await.unwrap_err().code, 4403);
}

#[tokio::test]
async fn the_socket_closes_with_4401_when_its_token_expires() {
    use crate::helpers::spawn_app_with_settings;
    let app = spawn_app_with_settings(&[("ACCESS_TOKEN_TTL_SECONDS", "2")]).await;
    let session = app
        .user_session(
            "ana@salon.test",
            waba_bot::kernel::viewer::Role::Tenant,
            true,
        )
        .await;
    let mut client = connected(&app, session["accessToken"].as_str().unwrap()).await;
    let closed = client.next().await.unwrap_err();
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (4401, "token expired")
    );
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_sockets() {
    use crate::helpers::spawn_app_with_settings;
    let app = spawn_app_with_settings(&[("WS_MAX_CONNECTIONS_PER_USER", "2")]).await;
    let (token, _) = app.tenant_owner().await;
    let (other, _) = app.tenant_owner().await;
    let _first = connected(&app, &token).await;
    let _second = connected(&app, &token).await;
    let mut third = connected(&app, &token).await;
    let closed = third.next().await.unwrap_err();
    assert_eq!(closed.code, 4429);
    // Another user is not affected.
    let mut theirs = connected(&app, &other).await;
    theirs.subscribe("1", EVENTS).await;
    subscribed(&app, 1).await;
}

/// A revoked session ends its sockets at once, on the revocation's event: the periodic
/// re-validation is an hour away here.
#[tokio::test]
async fn revoked_sessions_end_their_sockets_at_once() {
    use crate::helpers::{spawn_app_with_settings, unique_phone};
    let app = spawn_app_with_settings(&[("WS_REVALIDATE_SECONDS", "3600")]).await;
    let email = format!("owner-{}@waba.test", uuid::Uuid::now_v7().simple());
    let session = app
        .user_session(&email, waba_bot::kernel::viewer::Role::Tenant, true)
        .await;
    let token = session["accessToken"].as_str().unwrap();
    app.onboard(token, &unique_phone()).await;

    // Logout ends the running subscription, then the socket.
    let mut client = connected(&app, token).await;
    client.subscribe("1", EVENTS).await;
    subscribed(&app, 1).await;
    assert!(app.logout(&session["refreshToken"]).await);
    let ended = client.next().await.unwrap();
    assert_eq!(
        (&ended["type"], &ended["id"]),
        (&json!("error"), &json!("1"))
    );
    assert_eq!(ended["payload"][0]["message"], "this session has ended");
    assert_eq!(client.next().await.unwrap_err().code, 4403);

    // Deactivation ends an idle socket too.
    let admin = app.admin_token().await;
    let (owner, _) = app.tenant_owner().await;
    let me = app.gql(Some(&owner), "{ me { id } }", json!({})).await;
    let mut idle = connected(&app, &owner).await;
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { deactivateUser(id: $id) { id } }",
        json!({"id": me.data()["me"]["id"]}),
    )
    .await
    .data();
    assert_eq!(idle.next().await.unwrap_err().code, 4403);
}

/// The statements one event costs with 1 and then 10 subscribers of `subscription`: `fire` makes
/// the change of each round and `check` reads what every subscriber received.
async fn event_costs(
    app: &TestApp,
    token: &str,
    subscription: &str,
    fire: impl AsyncFn(usize),
    check: impl Fn(&serde_json::Value, usize),
) -> Vec<u64> {
    let mut clients = Vec::new();
    let mut costs = Vec::new();
    for subscribers in [1, 10] {
        while clients.len() < subscribers {
            let mut client = connected(app, token).await;
            client.subscribe("1", subscription).await;
            clients.push(client);
        }
        subscribed(app, subscribers).await;
        // A first event, not counted, reaches every subscriber only once each subscription has
        // started, its own reads done: those are not the event's cost.
        for round in [subscribers + 1, subscribers] {
            let before = app.db_queries();
            fire(round).await;
            for client in &mut clients {
                check(&client.next().await.unwrap()["payload"]["data"], round);
            }
            if round == subscribers {
                costs.push(app.db_queries() - before);
            }
        }
    }
    costs
}

/// An event is loaded once per instance and fanned out in memory: its cost in statements does
/// not grow with the number of subscribers.
#[tokio::test]
async fn an_event_costs_the_same_statements_for_1_or_10_subscribers() {
    use chrono::{Duration, Weekday};
    use chrono_tz::America::Sao_Paulo;

    use crate::{
        appointments::{book, salon},
        helpers::fixtures::next_local,
    };

    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let name = |round: usize| format!("Salão de {round}");
    let costs = event_costs(
        &app,
        &token,
        EVENTS,
        async |round| {
            let renamed = app.gql(Some(&token), RENAME, json!({"n": name(round)}));
            renamed.await.data();
        },
        |data, round| assert_eq!(data["tenantEvents"]["tenant"]["name"], name(round)),
    )
    .await;
    assert_eq!(costs[0], costs[1], "tenantEvents: {costs:?}");

    // An appointment's event, with the relations its subscribers select.
    let salon = salon(&app).await;
    let monday = next_local(&Sao_Paulo, Weekday::Mon, 9, 0);
    let costs = event_costs(
        &app,
        &salon.token,
        "subscription { appointmentEvents { kind appointment { startsAt customer { name } service { name } } } }",
        async |round| {
            let at = monday + Duration::hours(i64::try_from(round % 7).unwrap());
            book(&app, &salon, at).await.data();
        },
        |data, _| {
            let appointment = &data["appointmentEvents"]["appointment"];
            assert_eq!(appointment["service"]["name"], "Corte");
            assert!(appointment["customer"]["name"].is_string(), "{data}");
        },
    )
    .await;
    assert_eq!(costs[0], costs[1], "appointmentEvents: {costs:?}");
}

fn executions(app: &TestApp) -> i64 {
    app.state.metrics.live.executions.get()
}

/// Identical subscriptions of a tenant run once on the instance, whatever the number of sockets:
/// another tenant's run apart, each socket still receives only its tenant's events, and the
/// execution stops with its last socket.
#[tokio::test]
async fn identical_subscriptions_of_a_tenant_run_once_on_the_instance() {
    let app = spawn_app().await;
    let (token_a, tenant_a) = app.tenant_owner().await;
    let (token_b, tenant_b) = app.tenant_owner().await;
    let mut sockets_a = Vec::new();
    for _ in 0..3 {
        let mut client = connected(&app, &token_a).await;
        client.subscribe("1", EVENTS).await;
        sockets_a.push(client);
    }
    let mut socket_b = connected(&app, &token_b).await;
    socket_b.subscribe("1", EVENTS).await;
    subscribed(&app, 4).await;
    assert_eq!(executions(&app), 2);

    rename(&app, &token_b, "Salão B").await;
    rename(&app, &token_a, "Salão A").await;
    for client in &mut sockets_a {
        let event = client.next().await.unwrap();
        assert_eq!(
            event["payload"]["data"]["tenantEvents"]["tenant"],
            json!({"id": tenant_a, "name": "Salão A"}),
        );
    }
    let event = socket_b.next().await.unwrap();
    assert_eq!(
        event["payload"]["data"]["tenantEvents"]["tenant"],
        json!({"id": tenant_b, "name": "Salão B"}),
    );

    sockets_a.truncate(1);
    receivers(&app, 2).await;
    assert_eq!(executions(&app), 2);
    sockets_a.clear();
    receivers(&app, 1).await;
    assert_eq!(executions(&app), 1);

    // A subscription that cannot start answers every socket that asked for it.
    let invalid = "subscription { tenantEvents { nope } }";
    let mut askers = Vec::new();
    for _ in 0..2 {
        let mut client = connected(&app, &token_b).await;
        client.subscribe("2", invalid).await;
        askers.push(client);
    }
    for client in &mut askers {
        let refused = client.next().await.unwrap();
        assert_eq!(refused["id"], "2", "{refused}");
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{refused}"
        );
    }
}
