//! Notices to customers: the business's bookings, moves and cancellations, and reminders, each
//! sent once, within the 24-hour window or by template, never to a customer who opted out.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::America::Sao_Paulo;
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use waba_bot::{domains::notifications::jobs::SendReminders, jobs::CronJob};

use crate::helpers::{
    TestApp,
    fixtures::next_local,
    meta::{self, connected_tenant, text},
    spawn_app,
};

const CUSTOMER: &str = "5511912345678";

pub struct Shop {
    pub token: String,
    pub service: String,
    /// The customer who wrote on WhatsApp.
    pub customer: String,
}

/// A connected tenant (bot OFF, so only notices are sent), open every day, with "Corte" and a
/// customer who wrote "Oi" just now.
pub async fn shop(app: &TestApp) -> Shop {
    let (token, tenant) = connected_tenant(app).await;
    meta::accept_sends(&app.meta).await;
    meta::bot_off(app, &token).await;
    app.seed_hours(&tenant, &[0, 1, 2, 3, 4, 5, 6], "08:00", "20:00", false)
        .await;
    let service = app.seed_service(&tenant, "Corte", 5_000, 60).await;
    meta::deliver_now(app, CUSTOMER, text(CUSTOMER, "wamid.HELLO", "Oi")).await;
    let inbox = app
        .gql(
            Some(&token),
            "{ conversations { edges { node { customer { id } } } } }",
            json!({}),
        )
        .await;
    let customer = inbox.data()["conversations"]["edges"][0]["node"]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Shop {
        token,
        service,
        customer,
    }
}

pub async fn book(app: &TestApp, shop: &Shop, at: DateTime<Utc>) -> String {
    let booked = app
        .gql(
            Some(&shop.token),
            "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }",
            json!({"i": {"customerId": shop.customer, "serviceId": shop.service, "startsAt": at.to_rfc3339()}}),
        )
        .await;
    let id = booked.data()["createAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain_jobs().await;
    id
}

async fn set(app: &TestApp, shop: &Shop, input: Value) {
    app.gql(
        Some(&shop.token),
        "mutation($i: UpdateNotificationSettingInput!) { updateNotificationSetting(input: $i) { kind } }",
        json!({"i": input}),
    )
    .await
    .data();
}

fn texts(sent: &[Value]) -> Vec<String> {
    sent.iter()
        .filter_map(|body| body["text"]["body"].as_str().map(str::to_owned))
        .collect()
}

/// The bot's notices recorded in the conversation, newest first: (status, text, error).
async fn notices(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    let mut rows = entity::messages::Entity::find()
        .filter(entity::messages::Column::SentBy.eq("BOT"))
        .all(&app.state.db)
        .await
        .unwrap();
    rows.sort_by_key(|row| std::cmp::Reverse(row.created_at));
    rows.into_iter()
        .map(|row| (row.status, row.body.unwrap_or_default(), row.error_message))
        .collect()
}

#[tokio::test]
async fn the_businesss_changes_are_told_to_the_customer_once_each() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let at = next_local(&Sao_Paulo, chrono::Weekday::Wed, 10, 0);
    let id = book(&app, &shop, at).await;
    let sent = texts(&meta::sent(&app.meta).await);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains("*Corte*") && sent[0].contains("foi registrado para"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("às 10:00"), "{}", sent[0]);

    app.gql(
        Some(&shop.token),
        "mutation($id: ID!) { confirmAppointment(id: $id) { id } }",
        json!({"id": id}),
    )
    .await
    .data();
    app.drain_jobs().await;
    // Already told when it was booked.
    assert_eq!(texts(&meta::sent(&app.meta).await).len(), 1);

    let later = at + Duration::hours(2);
    app.gql(
        Some(&shop.token),
        "mutation($id: ID!, $at: DateTime!) { rescheduleAppointment(id: $id, startsAt: $at) { id } }",
        json!({"id": id, "at": later.to_rfc3339()}),
    )
    .await
    .data();
    app.drain_jobs().await;
    app.gql(
        Some(&shop.token),
        "mutation($id: ID!) { cancelAppointment(id: $id, reason: \"Imprevisto\") { id } }",
        json!({"id": id}),
    )
    .await
    .data();
    app.drain_jobs().await;
    let sent = texts(&meta::sent(&app.meta).await);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[1].contains("remarcado para") && sent[1].contains("às 12:00"),
        "{}",
        sent[1]
    );
    assert!(
        sent[2].contains("cancelado") && sent[2].contains("Motivo: Imprevisto"),
        "{}",
        sent[2]
    );
}

#[tokio::test]
async fn outside_the_window_the_template_goes_out_or_the_notice_is_skipped() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    app.state.clock.advance(Duration::hours(25));
    book(
        &app,
        &shop,
        next_local(&Sao_Paulo, chrono::Weekday::Wed, 10, 0),
    )
    .await;
    let (status, _, error) = notices(&app).await.remove(0);
    assert_eq!(status, "SKIPPED");
    assert!(error.unwrap().contains("24-hour"));
    assert!(meta::sent(&app.meta).await.is_empty());

    set(
        &app,
        &shop,
        json!({"kind": "BOOKING_CONFIRMED", "templateName": "agendamento_registrado"}),
    )
    .await;
    book(
        &app,
        &shop,
        next_local(&Sao_Paulo, chrono::Weekday::Thu, 10, 0),
    )
    .await;
    let sent = meta::sent(&app.meta).await;
    assert_eq!(sent.len(), 1);
    let template = &sent[0]["template"];
    assert_eq!(template["name"], "agendamento_registrado");
    assert_eq!(template["language"]["code"], "pt_BR");
    let parameters = &template["components"][0]["parameters"];
    assert_eq!(parameters[0]["text"], "Ana");
    assert_eq!(parameters[1]["text"], "Corte");
    assert!(
        parameters[2]["text"]
            .as_str()
            .unwrap()
            .ends_with("às 10:00")
    );
}

#[tokio::test]
async fn opted_out_customers_and_switched_off_kinds_get_nothing() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    meta::deliver_now(&app, CUSTOMER, text(CUSTOMER, "wamid.STOP", "PARAR")).await;
    let confirmations = meta::sent(&app.meta).await.len();
    book(
        &app,
        &shop,
        next_local(&Sao_Paulo, chrono::Weekday::Wed, 10, 0),
    )
    .await;
    assert_eq!(meta::sent(&app.meta).await.len(), confirmations);
    let (status, _, error) = notices(&app).await.remove(0);
    assert_eq!(status, "SKIPPED");
    assert!(error.unwrap().contains("opted out"));

    meta::deliver_now(&app, CUSTOMER, text(CUSTOMER, "wamid.BACK", "VOLTAR")).await;
    let before = notices(&app).await.len();
    set(
        &app,
        &shop,
        json!({"kind": "BOOKING_CONFIRMED", "enabled": false}),
    )
    .await;
    book(
        &app,
        &shop,
        next_local(&Sao_Paulo, chrono::Weekday::Thu, 10, 0),
    )
    .await;
    assert_eq!(notices(&app).await.len(), before);
    let settings = app
        .gql(
            Some(&shop.token),
            "{ notificationSettings { kind enabled templateLanguage } }",
            json!({}),
        )
        .await;
    let settings = settings.data()["notificationSettings"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(settings.len(), 5);
    assert_eq!(
        settings[0],
        json!({"kind": "BOOKING_CONFIRMED", "enabled": false, "templateLanguage": "pt_BR"})
    );

    let refused = app
        .gql(
            Some(&shop.token),
            "mutation { updateNotificationSetting(input: {kind: REMINDER_2H, templateName: \"Não vale\"}) { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
}

/// The reminders cron, run concurrently and again, sends each reminder once.
#[tokio::test]
async fn each_reminder_is_sent_once() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let at = next_local(&Sao_Paulo, chrono::Weekday::Wed, 10, 0);
    book(&app, &shop, at).await;
    set(
        &app,
        &shop,
        json!({"kind": "REMINDER_24H", "templateName": "lembrete_dia"}),
    )
    .await;
    set(
        &app,
        &shop,
        json!({"kind": "REMINDER_2H", "templateName": "lembrete_hora"}),
    )
    .await;

    for before in [
        Duration::hours(25),
        Duration::hours(23),
        Duration::minutes(90),
    ] {
        let now = at - before;
        app.state.clock.advance(now - app.state.clock.now());
        join_all((0..3).map(|_| SendReminders::run(app.state.clone(), now))).await;
        SendReminders::run(app.state.clone(), now).await.unwrap();
        app.drain_jobs().await;
    }
    let templates: Vec<String> = meta::sent(&app.meta)
        .await
        .iter()
        .filter_map(|body| body["template"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(templates, ["lembrete_dia", "lembrete_hora"]);
}
