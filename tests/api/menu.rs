//! The guided menu end to end: a customer on WhatsApp (the signed webhook) books, finds a slot
//! taken meanwhile, reschedules, cancels and asks for a person; every reply is checked as the
//! mock Graph API received it.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp,
    meta::{self, connected_tenant, text},
    spawn_app,
};

const CUSTOMER: &str = "5511912345678";

struct Shop {
    token: String,
    tenant: String,
    service: String,
}

/// A connected tenant open Monday to Saturday 09:00–18:00 with one service, "Corte" (R$ 50, 1 h).
async fn shop(app: &TestApp) -> Shop {
    let (token, tenant) = connected_tenant(app).await;
    meta::accept_sends(&app.meta).await;
    app.seed_hours(&tenant, &[1, 2, 3, 4, 5, 6], "09:00", "18:00", false)
        .await;
    let service = app.seed_service(&tenant, "Corte", 5_000, 60).await;
    Shop {
        token,
        tenant,
        service,
    }
}

static SEQUENCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Delivers `message` from the customer, written now, and waits for the bot.
async fn deliver(app: &TestApp, mut message: Value) {
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    message["id"] = json!(format!("wamid.MENU-{n}-{}", uuid::Uuid::now_v7()));
    meta::deliver_now(app, CUSTOMER, message).await;
}

async fn say(app: &TestApp, body: &str) -> Value {
    deliver(app, text(CUSTOMER, "wamid.x", body)).await;
    last_reply(app).await
}

/// Taps the row or button `id` of the last interactive message.
async fn tap(app: &TestApp, id: &str) -> Value {
    let reply = json!({"id": id, "title": id});
    let message = json!({"from": CUSTOMER, "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": reply}});
    deliver(app, message).await;
    last_reply(app).await
}

async fn last_reply(app: &TestApp) -> Value {
    meta::sent(&app.meta).await.pop().expect("a reply")
}

/// The ids a reply offers: its list rows or its buttons.
fn options(reply: &Value) -> Vec<String> {
    let action = &reply["interactive"]["action"];
    let rows = action["sections"][0]["rows"].as_array();
    let buttons = action["buttons"].as_array();
    rows.into_iter()
        .flatten()
        .map(|row| row["id"].as_str().unwrap().to_owned())
        .chain(
            buttons
                .into_iter()
                .flatten()
                .map(|button| button["reply"]["id"].as_str().unwrap().to_owned()),
        )
        .collect()
}

fn body(reply: &Value) -> &str {
    reply["interactive"]["body"]["text"]
        .as_str()
        .or(reply["text"]["body"].as_str())
        .unwrap_or_default()
}

/// The first day offered that is at least two days ahead, so all its hours are still free
/// whatever the time the test runs.
fn full_day(reply: &Value) -> String {
    let soonest = (chrono::Utc::now().with_timezone(&chrono_tz::America::Sao_Paulo)
        + chrono::Duration::days(2))
    .date_naive();
    options(reply)
        .into_iter()
        .find(|id| {
            id.strip_prefix("day:")
                .and_then(|day| day.parse::<chrono::NaiveDate>().ok())
                .is_some_and(|day| day >= soonest)
        })
        .unwrap_or_else(|| panic!("no day two days ahead in {reply}"))
}

fn first_with(reply: &Value, prefix: &str) -> String {
    options(reply)
        .into_iter()
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} option in {reply}"))
}

/// Walks to the confirmation of the first free slot of the first free day; its id.
async fn choose_first_slot(app: &TestApp, shop: &Shop) -> String {
    let home = say(app, "Oi").await;
    assert_eq!(options(&home), ["book", "mine", "human"]);
    let services = tap(app, "book").await;
    assert_eq!(
        options(&services),
        [format!("svc:{}", shop.service), "back".into()]
    );
    let days = tap(app, &format!("svc:{}", shop.service)).await;
    let slots = tap(app, &full_day(&days)).await;
    let slot = first_with(&slots, "slot:");
    let confirm = tap(app, &slot).await;
    assert_eq!(options(&confirm), ["confirm", "back"]);
    assert!(body(&confirm).contains("*Corte*"), "{confirm}");
    assert!(body(&confirm).contains("R$ 50,00"), "{confirm}");
    slot
}

fn slot_start(slot: &str) -> chrono::DateTime<chrono::Utc> {
    let seconds: i64 = slot.trim_start_matches("slot:").parse().unwrap();
    chrono::DateTime::from_timestamp(seconds, 0).unwrap()
}

async fn appointments_of(app: &TestApp, tenant: &str) -> Vec<entity::appointments::Model> {
    entity::appointments::Entity::find()
        .filter(entity::appointments::Column::TenantId.eq(tenant.parse::<uuid::Uuid>().unwrap()))
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_customer_books_through_the_menu() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let home = say(&app, "Oi").await;
    assert_eq!(home["type"], "interactive");
    assert_eq!(home["to"], "+5511912345678");
    assert!(body(&home).contains("Ana"), "{home}");
    let services = tap(&app, "book").await;
    let rows = &services["interactive"]["action"]["sections"][0]["rows"];
    assert_eq!(rows[0]["title"], "Corte");
    assert_eq!(rows[0]["description"], "R$ 50,00 · 1h");
    let days = tap(&app, &format!("svc:{}", shop.service)).await;
    let day_rows = options(&days);
    assert!(
        day_rows.len() <= 10 && day_rows.contains(&"more".to_owned()),
        "{days}"
    );
    let slots = tap(&app, &full_day(&days)).await;
    // Nine hourly starts with 30-minute steps: more than a page, so "Ver mais" and "Voltar".
    let slot_rows = options(&slots);
    assert_eq!(slot_rows.len(), 10, "{slots}");
    assert_eq!(slot_rows[8..], ["more", "back"]);
    let more = tap(&app, "more").await;
    assert!(options(&more).iter().all(|id| !slot_rows[..8].contains(id)));
    let slot = first_with(&more, "slot:");
    tap(&app, &slot).await;
    let booked = tap(&app, "confirm").await;
    assert!(
        body(&booked).starts_with("✅ Horário reservado!"),
        "{booked}"
    );
    let appointments = appointments_of(&app, &shop.tenant).await;
    assert_eq!(appointments.len(), 1);
    assert_eq!(appointments[0].starts_at, slot_start(&slot));
    assert_eq!(appointments[0].status, "PENDING");
    assert_eq!(appointments[0].price_cents, 5_000);
    // Booked by the customer on WhatsApp: answered there, no separate notice.
    app.drain_jobs().await;
    let notices = entity::notifications::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(notices.is_empty(), "{notices:?}");
}

#[tokio::test]
async fn a_booking_that_needs_payment_is_followed_by_its_link_once() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let tokens = waba_bot::domains::tenants::service::MercadoPagoTokens {
        user_id: "5550001".to_owned(),
        access_token: "APP_USR-shop".to_owned().into(),
        refresh_token: None,
        public_key: None,
        expires_at: None,
    };
    let tenant = waba_bot::kernel::ids::TenantId(shop.tenant.parse().unwrap());
    waba_bot::domains::tenants::service::connect_mercado_pago(&app.state, tenant, &tokens)
        .await
        .unwrap();
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/checkout/preferences"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer APP_USR-shop",
        ))
        .respond_with(wiremock::ResponseTemplate::new(201).set_body_json(json!({
            "id": "pref-1", "init_point": "https://mp.test/checkout/pref-1",
        })))
        .expect(1)
        .mount(&app.mercado_pago)
        .await;
    choose_first_slot(&app, &shop).await;
    tap(&app, "confirm").await;
    app.drain_jobs().await;
    // The confirmation and the link, in that order (the link's job runs after the turn).
    let sent = meta::sent(&app.meta).await;
    let texts: Vec<&str> = sent.iter().map(body).collect();
    let confirmation = texts
        .iter()
        .position(|text| text.starts_with("✅ Horário reservado!"))
        .expect("the confirmation");
    assert!(
        texts[confirmation].contains("link de pagamento"),
        "{texts:?}"
    );
    let links: Vec<&&str> = texts.iter().filter(|text| text.starts_with("💳")).collect();
    assert_eq!(links.len(), 1, "{texts:?}");
    assert!(texts[confirmation + 1..].contains(links[0]), "{texts:?}");
    let text = links[0];
    assert!(text.starts_with("💳 *Link de pagamento*"), "{text}");
    assert!(
        text.contains("R$ 50,00") && text.contains("https://mp.test/checkout/pref-1"),
        "{text}"
    );
    assert!(text.contains("reservado até"), "{text}");
    // The job run again (a retry after a crash) sends nothing more.
    let appointment = appointments_of(&app, &shop.tenant).await.remove(0);
    let sends = meta::sent(&app.meta).await.len();
    waba_bot::domains::payments::service::send_link_after_booking(
        &app.state,
        tenant,
        waba_bot::kernel::ids::AppointmentId(appointment.id),
    )
    .await
    .unwrap();
    app.drain_jobs().await;
    assert_eq!(meta::sent(&app.meta).await.len(), sends);
}

#[tokio::test]
async fn a_slot_taken_meanwhile_shows_the_days_slots_again() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let slot = choose_first_slot(&app, &shop).await;
    // The business books that very slot from the dashboard before the customer confirms.
    let someone = app.seed_customer(&shop.tenant, "João").await;
    app.gql(
        Some(&shop.token),
        "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }",
        json!({"i": {"customerId": someone, "serviceId": shop.service, "startsAt": slot_start(&slot).to_rfc3339()}}),
    )
    .await
    .data();
    let again = tap(&app, "confirm").await;
    assert!(
        body(&again).starts_with("😕 Esse horário acabou de ser reservado."),
        "{again}"
    );
    assert!(!options(&again).contains(&slot), "{again}");
    assert_eq!(appointments_of(&app, &shop.tenant).await.len(), 1);
}

/// A turn that booked and crashed before its reply was committed runs again: the slot is the
/// customer's own by then, so the answer is the confirmation, not "slot taken", and nothing more
/// is booked.
#[tokio::test]
async fn confirming_a_slot_the_customer_already_holds_answers_the_confirmation() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let slot = choose_first_slot(&app, &shop).await;
    let inbox = app
        .gql(
            Some(&shop.token),
            "{ conversations { edges { node { customer { id } } } } }",
            json!({}),
        )
        .await;
    let customer = inbox.data()["conversations"]["edges"][0]["node"]["customer"]["id"].clone();
    app.gql(
        Some(&shop.token),
        "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }",
        json!({"i": {"customerId": customer, "serviceId": shop.service, "startsAt": slot_start(&slot).to_rfc3339()}}),
    )
    .await
    .data();
    // The business's booking is told to the customer first, so the reply checked is the menu's.
    app.drain_jobs().await;
    let again = tap(&app, "confirm").await;
    assert!(body(&again).starts_with("✅ Horário reservado!"), "{again}");
    assert_eq!(appointments_of(&app, &shop.tenant).await.len(), 1);
}

#[tokio::test]
async fn a_customer_reschedules_and_cancels_through_the_menu() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    choose_first_slot(&app, &shop).await;
    tap(&app, "confirm").await;
    let booked = appointments_of(&app, &shop.tenant).await.remove(0);

    say(&app, "menu").await;
    let mine = tap(&app, "mine").await;
    let appointment = format!("appt:{}", booked.id);
    assert_eq!(options(&mine), [appointment.clone(), "back".into()]);
    let actions = tap(&app, &appointment).await;
    assert_eq!(options(&actions), ["cancel", "reschedule", "back"]);
    let days = tap(&app, "reschedule").await;
    let slots = tap(&app, &full_day(&days)).await;
    // Its own time is taken by itself; another one.
    let other = options(&slots)
        .into_iter()
        .find(|id| id.starts_with("slot:") && slot_start(id) != booked.starts_at)
        .unwrap();
    let confirm = tap(&app, &other).await;
    assert!(body(&confirm).contains("remarcação"), "{confirm}");
    let moved = tap(&app, "confirm").await;
    assert!(
        body(&moved).starts_with("✅ Agendamento remarcado!"),
        "{moved}"
    );
    let now = appointments_of(&app, &shop.tenant).await.remove(0);
    assert_eq!(now.starts_at, slot_start(&other));

    say(&app, "menu").await;
    tap(&app, "mine").await;
    tap(&app, &appointment).await;
    let canceled = tap(&app, "cancel").await;
    assert!(body(&canceled).contains("cancelado"), "{canceled}");
    let now = appointments_of(&app, &shop.tenant).await.remove(0);
    assert_eq!(now.status, "CANCELED");
    let none = tap(&app, "mine").await;
    assert!(body(&none).contains("Olá"), "{none}");
}

/// Ids are never trusted: one the current step did not offer, or another tenant's, shows the
/// current step again; free text does too, and "menu" starts over.
#[tokio::test]
async fn stale_or_forged_replies_show_the_current_step_again() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    say(&app, "Oi").await;
    let services = tap(&app, "book").await;
    let forged = tap(&app, &format!("svc:{}", uuid::Uuid::now_v7())).await;
    assert_eq!(options(&forged), options(&services));
    let stale = tap(&app, "human").await;
    assert_eq!(options(&stale), options(&services));
    let typed = say(&app, "quero cortar o cabelo").await;
    assert_eq!(options(&typed), options(&services));
    let home = say(&app, "menu").await;
    assert_eq!(options(&home), ["book", "mine", "human"]);
    let conversation = entity::conversations::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!conversation.needs_attention);
    let _ = shop;
}

#[tokio::test]
async fn talking_to_a_person_quiets_the_bot_until_it_is_resumed() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    say(&app, "Oi").await;
    let handed = tap(&app, "human").await;
    assert!(body(&handed).contains("atendente"), "{handed}");
    let replies = meta::sent(&app.meta).await.len();
    say(&app, "alô?").await;
    assert_eq!(
        meta::sent(&app.meta).await.len(),
        replies,
        "the bot stays quiet"
    );
    let inbox = app
        .gql(
            Some(&shop.token),
            "{ conversations(filter: {needsAttention: true}) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(inbox.data()["conversations"]["totalCount"], 1);
    let id = inbox.data()["conversations"]["edges"][0]["node"]["id"].clone();

    // The business answers: the bot stays paused for humanTakeoverHours.
    app.gql(
        Some(&shop.token),
        "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
        json!({"i": {"conversationId": id, "text": "Oi Ana, aqui é a Maria"}}),
    )
    .await
    .data();
    app.drain_jobs().await;
    let replies = meta::sent(&app.meta).await.len();
    say(&app, "Oi Maria").await;
    assert_eq!(meta::sent(&app.meta).await.len(), replies);

    app.gql(
        Some(&shop.token),
        "mutation($id: ID!) { resumeBot(conversationId: $id) { id } }",
        json!({"id": id}),
    )
    .await
    .data();
    let home = say(&app, "menu").await;
    assert_eq!(options(&home), ["book", "mine", "human"]);
}

#[tokio::test]
async fn customers_opt_out_of_notices_and_back_in() {
    let app = spawn_app().await;
    shop(&app).await;
    let stopped = say(&app, "PARAR").await;
    assert!(body(&stopped).contains("VOLTAR"), "{stopped}");
    let opted_out = || async {
        entity::conversations::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .notifications_off
    };
    assert!(opted_out().await);
    let resumed = say(&app, "voltar").await;
    assert!(body(&resumed).contains("voltará a receber"), "{resumed}");
    assert!(!opted_out().await);
}

/// Media gets one polite answer saying what the bot understands; the business sees it.
#[tokio::test]
async fn media_gets_a_polite_answer() {
    let app = spawn_app().await;
    shop(&app).await;
    let audio = json!({"from": CUSTOMER, "type": "audio", "audio": {"id": "media-1", "mime_type": "audio/ogg"}});
    deliver(&app, audio).await;
    let reply = last_reply(&app).await;
    assert!(body(&reply).contains("texto"), "{reply}");
    assert_eq!(meta::sent(&app.meta).await.len(), 1);
}

/// With the bot OFF messages are stored (and marked read), and nobody but a person answers.
#[tokio::test]
async fn with_the_bot_off_nothing_answers() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    meta::bot_off(&app, &shop.token).await;
    deliver(&app, text(CUSTOMER, "wamid.x", "Oi")).await;
    assert!(meta::sent(&app.meta).await.is_empty());
    assert_eq!(meta::marked_read(&app.meta).await.len(), 1);
}

/// Until an AI provider is configured, the AI mode is answered by the menu (counted as a fallback),
/// and the menu's buttons go on with the menu.
#[tokio::test]
async fn the_ai_mode_without_a_provider_is_answered_by_the_menu() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    app.gql(
        Some(&shop.token),
        "mutation { updateTenant(input: {botMode: AI}) { botMode } }",
        json!({}),
    )
    .await
    .data();
    let home = say(&app, "tem horário sexta de tarde pra corte?").await;
    assert_eq!(options(&home), ["book", "mine", "human"]);
    let services = tap(&app, "book").await;
    assert_eq!(options(&services)[0], format!("svc:{}", shop.service));
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"waba_ai_fallbacks_total{reason="not_configured"} 1"#),
        "{metrics}"
    );
}
