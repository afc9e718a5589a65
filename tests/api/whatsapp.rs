//! The WhatsApp webhook.

use futures_util::{StreamExt, stream};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp,
    meta::{self, change, connected_tenant, post, post_signed, signature, text, webhook},
    spawn_app, spawn_app_with_settings,
};

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

/// A delivery of one text, `wamid.1`, to the connected number.
fn one_message() -> Value {
    webhook(json!([change(
        meta::PHONE_NUMBER_ID,
        json!([]),
        json!([text("5511912345678", "wamid.1", "Oi")]),
    )]))
}

/// The stored messages of `direction`, by `wamid`.
async fn messages_of(app: &TestApp, direction: &str) -> Vec<entity::messages::Model> {
    entity::messages::Entity::find()
        .filter(entity::messages::Column::Direction.eq(direction))
        .order_by_asc(entity::messages::Column::Wamid)
        .all(&app.state.db)
        .await
        .unwrap()
}

/// The customers' messages stored.
async fn stored_messages(app: &TestApp) -> Vec<entity::messages::Model> {
    messages_of(app, "INBOUND").await
}

#[tokio::test]
async fn the_signature_test_vector_is_accepted() {
    let app = spawn_app().await;
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let answer = post(
        &app,
        body,
        Some("sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756"),
    )
    .await;
    assert_eq!(answer.status(), 200);
}

/// Nothing is stored without Meta's signature over the exact bytes received.
#[tokio::test]
async fn unsigned_or_badly_signed_posts_store_nothing() {
    let app = spawn_app().await;
    connected_tenant(&app).await;
    let payload = one_message();
    let body = serde_json::to_vec(&payload).unwrap();
    let reserialized = serde_json::to_vec_pretty(&payload).unwrap();
    for signature in [
        None,
        Some("sha256=".to_owned()),
        Some(format!("sha256={}", "0".repeat(64))),
        Some(signature(b"another body")),
        Some(signature(&body).replace("sha256=", "sha1=")),
    ] {
        let answer = post(&app, &body, signature.as_deref()).await;
        assert_eq!(answer.status(), 401, "{signature:?}");
    }
    // The same JSON re-serialized is not the body that was signed.
    let answer = post(&app, &reserialized, Some(&signature(&body))).await;
    assert_eq!(answer.status(), 401);
    let deliveries = entity::webhook_deliveries::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(deliveries.is_empty());
    app.drain_jobs().await;
    assert!(stored_messages(&app).await.is_empty());
}

#[tokio::test]
async fn foreign_and_oversized_bodies_are_refused() {
    let app = spawn_app().await;
    for body in [&b"not json"[..], br#"{"object":"page","entry":[]}"#, b"[]"] {
        let answer = post(&app, body, Some(&signature(body))).await;
        assert_eq!(answer.status(), 400, "{}", String::from_utf8_lossy(body));
    }
    let huge = vec![b' '; 3 * 1024 * 1024 + 1];
    let answer = post(&app, &huge, Some(&signature(&huge))).await;
    assert_eq!(answer.status(), 413);
}

/// A delivery is kept as received and acknowledged; its job reads every entry, change and
/// message; what cannot be used is skipped with a 200; a message is stored once however often it
/// is delivered; customers are found by phone
/// (a dashboard-typed number included) or created from the WhatsApp profile.
#[tokio::test]
async fn a_batch_stores_every_message_once() {
    let app = spawn_app().await;
    let (token, tenant) = connected_tenant(&app).await;
    let known = app
        .gql(
            Some(&token),
            "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }",
            json!({"i": {"name": "Cliente Antiga", "phone": "(11) 98888-7777"}}),
        )
        .await;
    let known = known.data()["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let button = json!({
        "from": "5521977776666", "id": "wamid.2", "timestamp": "1760000100", "type": "interactive",
        "context": {"from": "15550783881", "id": "wamid.OURS"},
        "interactive": {"type": "button_reply", "button_reply": {"id": "confirm", "title": "Confirmar"}},
    });
    let payload = json!({"object": "whatsapp_business_account", "entry": [
        {"id": meta::WABA_ID, "changes": [
            change(
                meta::PHONE_NUMBER_ID,
                json!([{"profile": {"name": "Maria Souza"}, "wa_id": "5511912345678"}]),
                json!([text("5511912345678", "wamid.1", "Quero agendar"), button]),
            ),
            {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
        ]},
        {"id": meta::WABA_ID, "changes": [
            change(
                meta::PHONE_NUMBER_ID,
                json!([]),
                json!([
                    text("5511988887777", "wamid.3", "Oi de novo"),
                    {"id": "wamid.broken", "type": "text"},
                ]),
            ),
            change("999999", json!([]), json!([text("5511912345678", "wamid.9", "Outro número")])),
        ]},
    ]});
    for _ in 0..2 {
        assert_eq!(post_signed(&app, &payload).await.status(), 200);
    }
    // Each delivery is kept as Meta sent it; a job reads its messages.
    let deliveries = entity::webhook_deliveries::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d.body == serde_json::to_string(&payload).unwrap())
    );
    app.drain_jobs().await;

    let stored = stored_messages(&app).await;
    let summary: Vec<(&str, &str, Option<&str>, Option<&str>)> = stored
        .iter()
        .map(|m| {
            (
                m.wamid.as_deref().unwrap(),
                m.kind.as_str(),
                m.body.as_deref(),
                m.reply_to.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("wamid.1", "TEXT", Some("Quero agendar"), None),
            (
                "wamid.2",
                "BUTTON_REPLY",
                Some("Confirmar"),
                Some("wamid.OURS")
            ),
            ("wamid.3", "TEXT", Some("Oi de novo"), None),
        ]
    );
    assert!(stored.iter().all(|m| m.tenant_id.to_string() == tenant
        && m.direction == "INBOUND"
        && m.status == "RECEIVED"));

    let customers = entity::customers::Entity::find()
        .order_by_asc(entity::customers::Column::Phone)
        .all(&app.state.db)
        .await
        .unwrap();
    let people: Vec<(&str, &str)> = customers
        .iter()
        .map(|c| (c.phone.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        people,
        [
            ("+5511912345678", "Maria Souza"),
            ("+5511988887777", "Cliente Antiga"),
            ("+5521977776666", "+5521977776666"),
        ]
    );
    let conversations = entity::conversations::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(conversations.len(), 3);
    let with_known = conversations
        .iter()
        .find(|c| c.customer_id.to_string() == known)
        .unwrap();
    assert_eq!(
        with_known.last_inbound_at.map(|at| at.timestamp()),
        Some(1_760_000_000)
    );

    // Each stored message is processed once: marked read on WhatsApp with the tenant's token.
    let mut marked = meta::marked_read(&app.meta).await;
    marked.sort();
    assert_eq!(marked, ["wamid.1", "wamid.2", "wamid.3"]);
}

/// Meta's redeliveries arrive concurrently: 200 messages, each posted 3 times at once, are
/// stored and processed exactly once each.
#[tokio::test]
async fn concurrent_duplicates_are_stored_once() {
    let app = spawn_app().await;
    connected_tenant(&app).await;
    meta::accept_sends(&app.meta).await;
    let now = app.state.clock.now().timestamp().to_string();
    let posts = (0..200).flat_map(|n| {
        let mut message = text(
            &format!("55119{:08}", n % 20),
            &format!("wamid.{n:03}"),
            "Oi",
        );
        // Written now, so the replies are within the 24-hour window.
        message["timestamp"] = json!(now);
        let payload = webhook(json!([change(
            meta::PHONE_NUMBER_ID,
            json!([]),
            json!([message]),
        )]));
        [payload.clone(), payload.clone(), payload]
    });
    let statuses: Vec<u16> = stream::iter(posts)
        .map(|payload| {
            let app = &app;
            async move { post_signed(app, &payload).await.status().as_u16() }
        })
        .buffer_unordered(24)
        .collect()
        .await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    app.drain_jobs().await;
    let stored = stored_messages(&app).await;
    assert_eq!(stored.len(), 200);
    let conversations = entity::conversations::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(conversations.len(), 20);
    let mut marked = meta::marked_read(&app.meta).await;
    marked.sort();
    marked.dedup();
    assert_eq!(marked.len(), 200);
    assert_eq!(meta::marked_read(&app.meta).await.len(), 200);
    // Every message is answered once: a turn answers what arrived together with one reply, and
    // no message is answered by two replies.
    assert!(stored.iter().all(|message| message.handled_at.is_some()));
    let outbound = messages_of(&app, "OUTBOUND").await;
    let mut answered: Vec<&str> = outbound
        .iter()
        .map(|reply| {
            reply
                .reply_to
                .as_deref()
                .expect("a reply names what it answers")
        })
        .collect();
    answered.sort_unstable();
    let replies = answered.len();
    answered.dedup();
    assert_eq!(answered.len(), replies, "a message got two replies");
    assert!((20..=200).contains(&replies), "{replies} replies");
    assert!(outbound.iter().all(|reply| reply.status == "SENT"));
    assert_eq!(meta::sent(&app.meta).await.len(), replies);
}

/// Stored deliveries: (ingested, waiting to be ingested).
async fn deliveries(app: &TestApp) -> (usize, usize) {
    let rows = entity::webhook_deliveries::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let ingested = rows.iter().filter(|d| d.processed_at.is_some()).count();
    (ingested, rows.len() - ingested)
}

/// Ingested deliveries are kept 30 days, then purged; one not ingested yet never is.
#[tokio::test]
async fn the_daily_cron_purges_ingested_deliveries_past_their_retention() {
    use sea_orm::ActiveValue::Set;
    use waba_bot::{domains::whatsapp::jobs::PurgeDeliveries, jobs::CronJob};

    let app = spawn_app().await;
    connected_tenant(&app).await;
    let payload = one_message();
    assert_eq!(post_signed(&app, &payload).await.status(), 200);
    app.drain_jobs().await;
    let now = chrono::Utc::now();
    entity::webhook_deliveries::Entity::insert(entity::webhook_deliveries::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        body: Set("{}".into()),
        received_at: Set(now - chrono::Duration::days(90)),
        processed_at: Set(None),
    })
    .exec(&app.state.db)
    .await
    .unwrap();
    assert_eq!(deliveries(&app).await, (1, 1));
    PurgeDeliveries::run(app.state.clone(), now + chrono::Duration::days(29))
        .await
        .unwrap();
    assert_eq!(deliveries(&app).await, (1, 1));
    PurgeDeliveries::run(app.state.clone(), now + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(
        deliveries(&app).await,
        (0, 1),
        "only the ingested one is purged"
    );
    // The messages stay: the delivery was only their envelope.
    assert_eq!(stored_messages(&app).await.len(), 1);
}
