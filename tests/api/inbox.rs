//! The WhatsApp inbox: the business reads conversations and answers; outbound messages are rows
//! first and are sent by a job against the mock Graph API, which checks what we send.

use chrono::Duration;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    helpers::{
        TestApp,
        meta::{self, connected_tenant, post_signed, status, statuses, text, webhook},
        spawn_app, spawn_app_with, spawn_app_with_settings,
        ws::WsClient,
    },
    websocket::subscribed,
};

const CUSTOMER: &str = "5511912345678";

/// A connected tenant whose bot is OFF (only people answer), with a conversation opened by the
/// customer's "Oi" just now.
async fn conversation(app: &TestApp) -> (String, String) {
    let (token, _) = connected_tenant(app).await;
    meta::accept_sends(&app.meta).await;
    meta::bot_off(app, &token).await;
    receive(app, "wamid.IN-1", "Oi").await;
    let inbox = app
        .gql(
            Some(&token),
            "{ conversations { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    let id = inbox.data()["conversations"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, id)
}

/// The customer writes `body` now.
async fn receive(app: &TestApp, wamid: &str, body: &str) {
    meta::deliver_now(app, CUSTOMER, text(CUSTOMER, wamid, body)).await;
}

async fn send(app: &TestApp, token: &str, conversation: &str, text: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id direction type text status sentBy sentByUser { id email } } }",
        json!({"i": {"conversationId": conversation, "text": text}}),
    )
    .await
    .data()["sendMessage"]
        .clone()
}

const MESSAGES: &str = "query($id: ID!) { conversation(id: $id) {
    unreadCount needsAttention botPausedUntil windowExpiresAt lastMessage { text }
    messages(first: 100) { totalCount edges { node { id direction type text status error errorCode sentBy sentByUser { id } } } } } }";

async fn messages(app: &TestApp, token: &str, conversation: &str) -> Value {
    app.gql(Some(token), MESSAGES, json!({"id": conversation}))
        .await
        .data()["conversation"]
        .clone()
}

#[tokio::test]
async fn the_business_answers_and_the_message_is_sent_once_then_tracked_forward_only() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    let inbox = app
        .gql(
            Some(&token),
            "{ conversations(filter: { search: \"ana\" }) { totalCount edges { node {
                customer { name phone } lastMessage { text } unreadCount needsAttention windowExpiresAt } } } }",
            json!({}),
        )
        .await;
    let node = &inbox.data()["conversations"]["edges"][0]["node"];
    assert_eq!(node["customer"]["phone"], "+5511912345678");
    assert_eq!(node["customer"]["name"], "Ana");
    assert_eq!(node["lastMessage"]["text"], "Oi");
    assert_eq!(node["unreadCount"], 1);
    assert!(node["windowExpiresAt"].is_string());

    let sent = send(
        &app,
        &token,
        &id,
        "Olá, **Ana**! Veja [o site](https://salao.test).",
    )
    .await;
    assert_eq!(sent["status"], "QUEUED");
    assert_eq!(sent["sentBy"], "STAFF");
    let me = app
        .gql(Some(&token), "{ me { id email } }", json!({}))
        .await;
    assert_eq!(sent["sentByUser"], me.data()["me"]);
    assert_eq!(sent["direction"], "OUTBOUND");
    app.drain_jobs().await;

    let requests = meta::sent(&app.meta).await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        requests[0],
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+5511912345678",
               "type": "text", "text": {"preview_url": true, "body": "Olá, *Ana*! Veja o site (https://salao.test)."}})
    );
    let conversation = messages(&app, &token, &id).await;
    assert_eq!(conversation["unreadCount"], 0);
    assert!(conversation["botPausedUntil"].is_string());
    let newest = &conversation["messages"]["edges"][0]["node"];
    assert_eq!(newest["status"], "SENT");
    assert_eq!(newest["sentByUser"]["id"], me.data()["me"]["id"]);
    let first = &conversation["messages"]["edges"][1]["node"];
    assert_eq!(
        (&first["sentBy"], &first["sentByUser"]),
        (&json!("CUSTOMER"), &Value::Null)
    );
    assert_eq!(conversation["lastMessage"]["text"], newest["text"]);

    // Meta's statuses arrive out of order: read, then delivered, then a late sent.
    for state in ["read", "delivered", "sent"] {
        let delivery = webhook(json!([statuses(
            meta::PHONE_NUMBER_ID,
            json!([status("wamid.OUT-1", state)])
        )]));
        assert_eq!(post_signed(&app, &delivery).await.status(), 200);
        app.drain_jobs().await;
    }
    let conversation = messages(&app, &token, &id).await;
    assert_eq!(
        conversation["messages"]["edges"][0]["node"]["status"],
        "READ"
    );
    assert_eq!(meta::sent(&app.meta).await.len(), 1);
}

#[tokio::test]
async fn a_status_that_overtakes_its_send_is_applied_when_the_send_is_recorded() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    // Meta reports wamid.OUT-1 delivered before our send of it is recorded.
    let early = webhook(json!([statuses(
        meta::PHONE_NUMBER_ID,
        json!([status("wamid.OUT-1", "delivered")])
    )]));
    assert_eq!(post_signed(&app, &early).await.status(), 200);
    app.drain_jobs().await;
    send(&app, &token, &id, "Oi!").await;
    app.drain_jobs().await;
    let conversation = messages(&app, &token, &id).await;
    assert_eq!(
        conversation["messages"]["edges"][0]["node"]["status"],
        "DELIVERED"
    );
    let kept = entity::pending_statuses::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(kept.is_empty(), "{kept:?}");
}

#[tokio::test]
async fn a_failed_status_keeps_metas_code_and_title() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    send(&app, &token, &id, "Oi!").await;
    app.drain_jobs().await;
    let mut failed = status("wamid.OUT-1", "failed");
    failed["errors"] = json!([{"code": 131047, "title": "Re-engagement message"}]);
    let delivery = webhook(json!([statuses(meta::PHONE_NUMBER_ID, json!([failed]))]));
    post_signed(&app, &delivery).await;
    app.drain_jobs().await;
    let node = &messages(&app, &token, &id).await["messages"]["edges"][0]["node"];
    assert_eq!(node["status"], "FAILED");
    assert_eq!(node["errorCode"], 131047);
    assert_eq!(node["error"], "Re-engagement message");
}

/// Throttling and server errors are retried with backoff until Meta accepts, and the message is
/// sent once; a long text goes out as several messages, in order.
#[tokio::test]
async fn throttled_sends_are_retried_and_long_texts_are_split_in_order() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    meta::fail_sends(
        &app.meta,
        1,
        400,
        meta::graph_error(130429, "(#130429) Rate limit hit"),
    )
    .await;
    meta::fail_sends(&app.meta, 1, 503, json!({})).await;
    let long = format!("{}\n\n{}", "a ".repeat(2000), "b ".repeat(2000));
    send(&app, &token, &id, &long).await;
    app.drain_jobs().await;
    let accepted: Vec<Value> = meta::sent(&app.meta).await.into_iter().skip(2).collect();
    assert_eq!(accepted.len(), 2, "{accepted:?}");
    assert!(
        accepted[0]["text"]["body"]
            .as_str()
            .unwrap()
            .starts_with('a')
    );
    assert!(
        accepted[1]["text"]["body"]
            .as_str()
            .unwrap()
            .starts_with('b')
    );
    let conversation = messages(&app, &token, &id).await;
    let outbound: Vec<&Value> = conversation["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .filter(|node| node["direction"] == "OUTBOUND")
        .collect();
    assert_eq!(outbound.len(), 2);
    assert!(outbound.iter().all(|node| node["status"] == "SENT"));
}

/// A reply is sent by the process that wrote it, right after its commit; a graceful stop waits for
/// a send in flight as for the workers' jobs, so the message is SENT when the process is gone
/// (not left to another instance after its hold).
#[tokio::test]
async fn a_stop_waits_for_a_send_in_flight() {
    use wiremock::{
        Mock, ResponseTemplate,
        matchers::{method, path},
    };
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/{}/{}/messages",
            meta::API_VERSION,
            meta::PHONE_NUMBER_ID
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messages": [{"id": "wamid.SLOW"}]}))
                .set_delay(std::time::Duration::from_millis(300)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.meta)
        .await;
    send(&app, &token, &id, "Já volto").await;
    let mut sibling = spawn_app_with(app.sibling_options()).await;
    app.stop_for(&mut sibling).await;
    let node = &messages(&sibling, &token, &id).await["messages"]["edges"][0]["node"];
    assert_eq!(node["text"], "Já volto");
    assert_eq!(node["status"], "SENT");
}

/// Permanent refusals fail at once with Meta's reason; a refused token also marks the tenant's
/// connection TOKEN_INVALID, and nothing more is tried with it.
#[tokio::test]
async fn permanent_refusals_fail_at_once_and_a_refused_token_needs_reconnecting() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    meta::fail_sends(
        &app.meta,
        1,
        400,
        meta::graph_error(131026, "Message Undeliverable"),
    )
    .await;
    send(&app, &token, &id, "Primeira").await;
    app.drain_jobs().await;
    let node = &messages(&app, &token, &id).await["messages"]["edges"][0]["node"];
    assert_eq!(node["status"], "FAILED");
    assert_eq!(node["errorCode"], 131026);
    assert_eq!(node["error"], "Message Undeliverable");

    meta::fail_sends(
        &app.meta,
        1,
        401,
        meta::graph_error(190, "Session has expired"),
    )
    .await;
    send(&app, &token, &id, "Segunda").await;
    app.drain_jobs().await;
    send(&app, &token, &id, "Terceira").await;
    app.drain_jobs().await;
    let conversation = messages(&app, &token, &id).await;
    let edges = conversation["messages"]["edges"].as_array().unwrap();
    assert_eq!(edges[1]["node"]["errorCode"], 190);
    assert_eq!(edges[0]["node"]["status"], "FAILED");
    assert_eq!(
        meta::sent(&app.meta).await.len(),
        2,
        "the third is not tried"
    );
    let tenant = app
        .gql(Some(&token), "{ tenant { whatsappStatus } }", json!({}))
        .await;
    assert_eq!(tenant.data()["tenant"]["whatsappStatus"], "TOKEN_INVALID");
}

/// Free-form messages go out only within 24 hours of the customer's last message; after it the
/// business sends a template.
#[tokio::test]
async fn outside_the_24_hour_window_only_templates_go_out() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    app.state.clock.advance(Duration::hours(25));
    let refused = app
        .gql(
            Some(&token),
            "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
            json!({"i": {"conversationId": id, "text": "Oi"}}),
        )
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(
        refused.message().contains("24 horas"),
        "{}",
        refused.message()
    );

    let template = app
        .gql(
            Some(&token),
            "mutation($i: SendTemplateInput!) { sendTemplate(input: $i) { type text status } }",
            json!({"i": {"conversationId": id, "name": "retorno_cliente", "parameters": ["Ana"]}}),
        )
        .await;
    assert_eq!(template.data()["sendTemplate"]["type"], "TEMPLATE");
    app.drain_jobs().await;
    let requests = meta::sent(&app.meta).await;
    assert_eq!(
        requests[0]["template"],
        json!({"name": "retorno_cliente", "language": {"code": "pt_BR"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]})
    );
    for bad in [
        json!({"conversationId": id, "name": "Não vale"}),
        json!({"conversationId": id, "name": "ok", "language": "portuguese"}),
    ] {
        let refused = app
            .gql(
                Some(&token),
                "mutation($i: SendTemplateInput!) { sendTemplate(input: $i) { id } }",
                json!({"i": bad}),
            )
            .await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{bad}");
    }
}

#[tokio::test]
async fn the_bot_resumes_and_conversations_are_read_on_request() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    send(&app, &token, &id, "Já te respondo").await;
    receive(&app, "wamid.IN-2", "Ok").await;
    let read = app
        .gql(
            Some(&token),
            "mutation($id: ID!) { markConversationRead(conversationId: $id) { unreadCount } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(read.data()["markConversationRead"]["unreadCount"], 0);
    let resumed = app
        .gql(
            Some(&token),
            "mutation($id: ID!) { resumeBot(conversationId: $id) { botPausedUntil needsAttention } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(resumed.data()["resumeBot"]["botPausedUntil"], Value::Null);
}

/// With no WhatsApp configured (the embedded default) a newcomer talks to the bot from GraphiQL:
/// simulated messages feed the webhook's pipeline, and replies are dry-runs recorded as SENT.
#[tokio::test]
async fn without_whatsapp_configured_messages_are_simulated_and_replies_are_dry_runs() {
    let app = spawn_app_with_settings(&[("WABA_APP_SECRET", "")]).await;
    let (token, _) = app.tenant_owner().await;
    let simulated = app
        .gql(
            Some(&token),
            "mutation($i: SimulateInboundMessageInput!) { simulateInboundMessage(input: $i) { id direction text status sentBy } }",
            json!({"i": {"from": "(11) 91234-5678", "name": "Ana", "text": "Oi"}}),
        )
        .await;
    let message = &simulated.data()["simulateInboundMessage"];
    assert_eq!(message["direction"], "INBOUND");
    assert_eq!(message["sentBy"], "CUSTOMER");
    app.drain_jobs().await;
    let inbox = app
        .gql(
            Some(&token),
            "{ conversations { edges { node { id customer { phone } } } } }",
            json!({}),
        )
        .await;
    let node = &inbox.data()["conversations"]["edges"][0]["node"];
    assert_eq!(node["customer"]["phone"], "+5511912345678");
    let id = node["id"].as_str().unwrap().to_owned();
    send(&app, &token, &id, "Oi, Ana").await;
    app.drain_jobs().await;
    let conversation = messages(&app, &token, &id).await;
    assert_eq!(
        conversation["messages"]["edges"][0]["node"]["status"],
        "SENT"
    );
    assert!(
        app.meta
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn simulated_messages_are_refused_where_whatsapp_is_real() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let refused = app
        .gql(
            Some(&token),
            "mutation($i: SimulateInboundMessageInput!) { simulateInboundMessage(input: $i) { id } }",
            json!({"i": {"from": "11912345678", "text": "Oi"}}),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
}

#[tokio::test]
async fn conversation_events_stream_the_tenants_messages_live() {
    let app = spawn_app().await;
    let (token, id) = conversation(&app).await;
    let mut client = WsClient::connect(&app.address, "graphql-transport-ws").await;
    client
        .init(json!({"Authorization": format!("Bearer {token}")}))
        .await
        .unwrap();
    client
        .subscribe(
            "1",
            "subscription { conversationEvents { kind conversation { id unreadCount } message { id text direction } } }",
        )
        .await;
    subscribed(&app, 1).await;
    receive(&app, "wamid.IN-2", "Tem horário amanhã?").await;
    let event = client.next().await.unwrap();
    let event = &event["payload"]["data"]["conversationEvents"];
    assert_eq!(event["kind"], "MESSAGE_RECEIVED");
    assert_eq!(event["conversation"]["id"], id.as_str());
    assert_eq!(event["message"]["text"], "Tem horário amanhã?");
    assert_eq!(event["message"]["direction"], "INBOUND");

    send(&app, &token, &id, "Tem sim").await;
    let queued = client.next().await.unwrap();
    let queued = &queued["payload"]["data"]["conversationEvents"];
    assert_eq!(queued["kind"], "MESSAGE_SENT");
    assert_eq!(queued["message"]["direction"], "OUTBOUND");
    client.send(json!({"id": "1", "type": "complete"})).await;
}

/// Tenant B names tenant A's conversation: nothing is read, nothing changes.
#[tokio::test]
async fn another_tenants_conversations_are_out_of_reach() {
    let app = spawn_app().await;
    let (token_a, id) = conversation(&app).await;
    let (token_b, _) = app.tenant_owner().await;
    let inbox = app
        .gql(
            Some(&token_b),
            "{ conversations { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(inbox.data()["conversations"]["totalCount"], 0);
    for (query, variables) in [
        (
            "query($id: ID!) { conversation(id: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { sendMessage(input: {conversationId: $id, text: \"Oi\"}) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { sendTemplate(input: {conversationId: $id, name: \"oi\"}) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { resumeBot(conversationId: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { markConversationRead(conversationId: $id) { id } }",
            json!({"id": id}),
        ),
    ] {
        let answer = app.gql(Some(&token_b), query, variables).await;
        assert_eq!(answer.code(), "NOT_FOUND", "{query}");
        assert!(answer.read_nothing(), "{query}");
    }
    let conversation = messages(&app, &token_a, &id).await;
    assert_eq!(conversation["unreadCount"], 1);
    assert_eq!(conversation["messages"]["totalCount"], 1);

    // Notification settings name no tenant: B's switch is B's.
    let switched = app
        .gql(
            Some(&token_b),
            "mutation { updateNotificationSetting(input: {kind: REMINDER_24H, enabled: false}) { kind enabled } }",
            json!({}),
        )
        .await;
    assert_eq!(
        switched.data()["updateNotificationSetting"]["enabled"],
        false
    );
    let settings = "{ notificationSettings { kind enabled } }";
    let of_a = app.gql(Some(&token_a), settings, json!({})).await;
    let reminder = of_a.data()["notificationSettings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|setting| setting["kind"] == "REMINDER_24H")
        .cloned()
        .unwrap();
    assert_eq!(reminder["enabled"], true);
}

/// The inbox and a conversation's messages cost the same statements whatever their length.
#[tokio::test]
async fn inbox_pages_cost_the_same_statements_for_2_or_12_rows() {
    let app = spawn_app().await;
    let (token, _) = connected_tenant(&app).await;
    meta::accept_sends(&app.meta).await;
    meta::bot_off(&app, &token).await;
    let inbox = "{ conversations(first: 50) { totalCount edges { node { id
        customer { id name phone } lastMessage { text } unreadCount needsAttention
        botPausedUntil windowExpiresAt } } } }";
    let mut costs = Vec::new();
    let mut written = 0;
    for more in [2, 10] {
        for n in written..written + more {
            let customer = format!("55119{n:08}");
            meta::deliver_now(
                &app,
                &customer,
                text(&customer, &format!("wamid.P{n}"), "Oi"),
            )
            .await;
            receive(&app, &format!("wamid.Q{n}"), &format!("mensagem {n}")).await;
        }
        written += more;
        let before = app.db_queries();
        let page = app.gql(Some(&token), inbox, json!({})).await.data().clone();
        let listed = app.db_queries() - before;
        let edges = page["conversations"]["edges"].as_array().unwrap();
        let id = edges
            .iter()
            .find(|edge| {
                edge["node"]["customer"]["phone"]
                    .as_str()
                    .unwrap()
                    .ends_with(CUSTOMER)
            })
            .map(|edge| edge["node"]["id"].clone())
            .unwrap();
        let before = app.db_queries();
        let thread = messages(&app, &token, id.as_str().unwrap()).await;
        costs.push((listed, app.db_queries() - before));
        assert_eq!(page["conversations"]["totalCount"], json!(written + 1));
        assert!(
            edges
                .iter()
                .all(|edge| edge["node"]["lastMessage"]["text"].is_string())
        );
        assert_eq!(thread["messages"]["totalCount"], json!(written));
    }
    assert_eq!(
        costs[0], costs[1],
        "statements (inbox, one conversation) for 2 vs 12 rows: {costs:?}"
    );
}
