//! The AI assistant end to end: a customer on WhatsApp (the signed webhook), a scripted Gemini
//! (wiremock) whose every request is checked, the tools acting through the domain services, and
//! the reply as the mock Graph API received it. Each scripted answer is what the model would say;
//! what is checked is what we sent it and what we did.

use std::{collections::VecDeque, sync::Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::America::Sao_Paulo;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use wiremock::{
    Mock, Request, Respond, ResponseTemplate,
    matchers::{header, method, path},
};

use crate::{
    helpers::{
        TestApp, TestOptions,
        meta::{self, connected_tenant, text},
        spawn_app_with,
        ws::WsClient,
    },
    websocket::subscribed,
};

const CUSTOMER: &str = "5511912345678";
const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const KEY: &str = "test-gemini-key";

fn ai_options() -> TestOptions {
    TestOptions {
        settings: vec![
            ("GEMINI_API_KEY", KEY.to_owned()),
            ("AI_MAX_RETRIES", "2".to_owned()),
        ],
        ..TestOptions::default()
    }
}

/// Gemini answers with these bodies in order (HTTP 200 unless a body says `{"status": n}`);
/// once they run out, 500.
struct Script(Mutex<VecDeque<Value>>);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.0.lock().unwrap().pop_front() {
            Some(body) => match body["status"].as_u64() {
                Some(status) => ResponseTemplate::new(u16::try_from(status).unwrap())
                    .set_body_json(&body["body"]),
                None => ResponseTemplate::new(200).set_body_json(body),
            },
            None => ResponseTemplate::new(500),
        }
    }
}

async fn script(app: &TestApp, answers: Vec<Value>) {
    app.gemini.reset().await;
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .and(header("x-goog-api-key", KEY))
        .respond_with(Script(Mutex::new(answers.into())))
        .mount(&app.gemini)
        .await;
}

/// The bodies Gemini received, in order.
async fn asked(app: &TestApp) -> Vec<Value> {
    app.gemini
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

fn usage(prompt: i64, candidates: i64, thoughts: i64) -> Value {
    json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates,
        "thoughtsTokenCount": thoughts, "totalTokenCount": prompt + candidates + thoughts})
}

/// A model turn calling `name` (with a call id and a thought signature to echo).
fn calls(name: &str, args: Value, id: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"id": id, "name": name, "args": args}, "thoughtSignature": format!("sig-{id}")}
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage(100, 10, 5),
        "modelVersion": "gemini-2.5-flash",
    })
}

fn says(text: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage(200, 20, 0),
        "modelVersion": "gemini-2.5-flash",
    })
}

struct Shop {
    token: String,
    tenant: String,
    service: String,
}

/// A connected tenant in the AI mode, open every day 08:00–20:00, with "Corte" (R$ 50, 1 h).
async fn shop(app: &TestApp) -> Shop {
    let (token, tenant) = connected_tenant(app).await;
    meta::accept_sends(&app.meta).await;
    app.seed_hours(&tenant, &[0, 1, 2, 3, 4, 5, 6], "08:00", "20:00", false)
        .await;
    let service = app.seed_service(&tenant, "Corte", 5_000, 60).await;
    app.gql(
        Some(&token),
        "mutation { updateTenant(input: {botMode: AI}) { botMode } }",
        json!({}),
    )
    .await
    .data();
    Shop {
        token,
        tenant,
        service,
    }
}

static SEQUENCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The customer writes `body`; the bot's last reply.
async fn say(app: &TestApp, body: &str) -> Value {
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let wamid = format!("wamid.AI-{n}-{}", uuid::Uuid::now_v7());
    meta::deliver_now(app, CUSTOMER, text(CUSTOMER, &wamid, body)).await;
    meta::sent(&app.meta).await.pop().expect("a reply")
}

fn reply_text(reply: &Value) -> &str {
    reply["text"]["body"]
        .as_str()
        .or_else(|| reply["interactive"]["body"]["text"].as_str())
        .unwrap_or_default()
}

fn tomorrow(app: &TestApp) -> NaiveDate {
    app.state.clock.now().with_timezone(&Sao_Paulo).date_naive() + Duration::days(1)
}

fn local(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    Sao_Paulo
        .from_local_datetime(&date.and_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

async fn customer_id(app: &TestApp) -> uuid::Uuid {
    entity::customers::Entity::find()
        .filter(entity::customers::Column::Phone.eq(format!("+{CUSTOMER}")))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the customer")
        .id
}

async fn appointments_of(app: &TestApp, customer: uuid::Uuid) -> Vec<entity::appointments::Model> {
    entity::appointments::Entity::find()
        .filter(entity::appointments::Column::CustomerId.eq(customer))
        .all(&app.state.db)
        .await
        .unwrap()
}

/// The `functionResponse` parts of a request's last content.
fn responses(request: &Value) -> Vec<Value> {
    let contents = request["contents"].as_array().unwrap();
    contents.last().unwrap()["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|part| part["functionResponse"].clone())
        .collect()
}

#[tokio::test]
async fn books_in_three_rounds_at_the_right_local_time() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let date = tomorrow(&app);
    let day = date.format("%Y-%m-%d").to_string();
    script(
        &app,
        vec![
            calls("list_services", json!({}), "c1"),
            calls(
                "check_availability",
                json!({"serviceId": shop.service, "date": day}),
                "c2",
            ),
            calls(
                "book_appointment",
                json!({"serviceId": shop.service, "date": day, "time": "10:00"}),
                "c3",
            ),
            says("Pronto, Ana! Seu corte está agendado para amanhã às 10:00. ✂️"),
        ],
    )
    .await;

    let reply = say(&app, "tem horário amanhã às 10h pra corte?").await;

    assert_eq!(
        reply_text(&reply),
        "Pronto, Ana! Seu corte está agendado para amanhã às 10:00. ✂️"
    );
    let booked = appointments_of(&app, customer_id(&app).await).await;
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].starts_at, local(date, 10));
    assert_eq!(booked[0].service_id.to_string(), shop.service);

    let requests = asked(&app).await;
    assert_eq!(requests.len(), 4);
    let first = &requests[0];
    let instruction = first["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(instruction.contains("Barbearia do Zé"), "{instruction}");
    assert!(instruction.contains(&format!("{} | Corte: R$ 50,00, 1h", shop.service)));
    assert!(instruction.contains("← HOJE"), "{instruction}");
    assert!(instruction.contains("08:00–20:00"), "{instruction}");
    assert!(instruction.contains("CLIENTE: Ana"), "{instruction}");
    let tools: Vec<&str> = first["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "list_services",
            "check_availability",
            "book_appointment",
            "list_my_appointments",
            "cancel_appointment",
            "reschedule_appointment",
            "generate_payment_link",
            "update_customer_profile",
            "talk_to_human"
        ]
    );
    assert_eq!(
        first["contents"],
        json!([{"role": "user", "parts": [{"text": "tem horário amanhã às 10h pra corte?"}]}])
    );
    // The model's turn goes back verbatim (its thought signature too), then its answer, with the
    // call's id.
    let second = &requests[1];
    assert_eq!(
        second["contents"][1],
        json!({"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "list_services", "args": {}},
            "thoughtSignature": "sig-c1"}]})
    );
    let listed = &responses(second)[0];
    assert_eq!(listed["id"], "c1");
    assert_eq!(listed["name"], "list_services");
    assert_eq!(
        listed["response"]["services"][0]["id"],
        shop.service.as_str()
    );
    assert_eq!(listed["response"]["services"][0]["price"], "R$ 50,00");
    let slots = &responses(&requests[2])[0]["response"];
    assert_eq!(slots["days"][0]["date"], day.as_str());
    assert!(
        slots["days"][0]["times"]
            .as_array()
            .unwrap()
            .contains(&json!("10:00")),
        "{slots}"
    );
    let booking = &responses(&requests[3])[0]["response"];
    assert_eq!(booking["ok"], true, "{booking}");
    assert_eq!(booking["appointment"]["time"], "10:00");
    assert_eq!(booking["appointment"]["date"], day.as_str());

    // Every round counts: three tool rounds and the answer.
    let usage = app
        .gql(
            Some(&shop.token),
            "{ aiUsage { calls promptTokens outputTokens totalTokens conversations estimatedCost { amount currency } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        usage.data()["aiUsage"],
        json!({"calls": 4, "promptTokens": 500, "outputTokens": 65, "totalTokens": 565,
            "conversations": 1,
            // 500 × 0.30 + 65 × 2.50 per million.
            "estimatedCost": {"amount": "0.000312", "currency": "USD"}})
    );
    // Another tenant sees none of it.
    let (other, _) = app.tenant_owner().await;
    let theirs = app
        .gql(Some(&other), "{ aiUsage { calls totalTokens } }", json!({}))
        .await;
    assert_eq!(
        theirs.data()["aiUsage"],
        json!({"calls": 0, "totalTokens": 0})
    );
}

#[tokio::test]
async fn a_slot_taken_meanwhile_goes_back_to_the_model_as_a_conflict() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let date = tomorrow(&app);
    let other = app.seed_customer(&shop.tenant, "Outro").await;
    app.insert_appointment(
        &shop.tenant,
        &json!(other),
        &json!(shop.service),
        local(date, 10),
        "CONFIRMED",
    )
    .await;
    let day = date.format("%Y-%m-%d").to_string();
    script(
        &app,
        vec![
            calls(
                "book_appointment",
                json!({"serviceId": shop.service, "date": day, "time": "10:00"}),
                "c1",
            ),
            says("Que pena, as 10:00 acabaram de ser reservadas. Posso marcar às 11:00?"),
        ],
    )
    .await;

    let reply = say(&app, "marca corte amanhã 10h").await;

    assert_eq!(
        reply_text(&reply),
        "Que pena, as 10:00 acabaram de ser reservadas. Posso marcar às 11:00?"
    );
    let requests = asked(&app).await;
    let refusal = &responses(&requests[1])[0]["response"];
    assert_eq!(refusal["ok"], false);
    assert_eq!(refusal["error"]["code"], "CONFLICT", "{refusal}");
    assert!(
        appointments_of(&app, customer_id(&app).await)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn lists_reschedules_and_cancels_remembering_each_turn() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let date = tomorrow(&app);
    let day = date.format("%Y-%m-%d").to_string();
    // The customer exists once they wrote; their booking is at 09:00 tomorrow.
    script(&app, vec![says("Olá! Como posso ajudar?")]).await;
    say(&app, "oi").await;
    let customer = customer_id(&app).await;
    app.insert_appointment(
        &shop.tenant,
        &json!(customer.to_string()),
        &json!(shop.service),
        local(date, 9),
        "CONFIRMED",
    )
    .await;
    let booking = appointments_of(&app, customer).await[0].id.to_string();

    script(
        &app,
        vec![
            calls("list_my_appointments", json!({}), "l1"),
            says("Você tem um corte amanhã às 09:00."),
        ],
    )
    .await;
    assert_eq!(
        reply_text(&say(&app, "quais meus horários?").await),
        "Você tem um corte amanhã às 09:00."
    );
    let listed = &responses(&asked(&app).await[1])[0]["response"];
    assert_eq!(listed["appointments"][0]["appointmentId"], booking.as_str());
    assert_eq!(listed["appointments"][0]["time"], "09:00");

    script(
        &app,
        vec![
            calls(
                "reschedule_appointment",
                json!({"appointmentId": booking, "date": day, "time": "15:00"}),
                "r1",
            ),
            says("Remarquei para amanhã às 15:00."),
        ],
    )
    .await;
    assert_eq!(
        reply_text(&say(&app, "passa pras 15h").await),
        "Remarquei para amanhã às 15:00."
    );
    let requests = asked(&app).await;
    // The history holds the earlier turns whole: each call next to its response.
    let history = requests[0]["contents"].as_array().unwrap();
    let texts: Vec<String> = history.iter().map(|content| content.to_string()).collect();
    let call = texts
        .iter()
        .position(|c| c.contains("\"functionCall\"") && c.contains("list_my_appointments"))
        .expect("the earlier call");
    assert!(texts[call].contains("sig-l1"), "{}", texts[call]);
    assert!(texts[call + 1].contains("\"functionResponse\""));
    assert_eq!(history[0]["parts"][0]["text"], "oi");
    assert_eq!(
        history.last().unwrap()["parts"][0]["text"],
        "passa pras 15h"
    );
    assert_eq!(
        appointments_of(&app, customer).await[0].starts_at,
        local(date, 15)
    );

    script(
        &app,
        vec![
            calls(
                "cancel_appointment",
                json!({"appointmentId": booking, "reason": "viagem"}),
                "x1",
            ),
            says("Cancelado. Até a próxima!"),
        ],
    )
    .await;
    assert_eq!(
        reply_text(&say(&app, "na verdade cancela").await),
        "Cancelado. Até a próxima!"
    );
    let canceled = &appointments_of(&app, customer).await[0];
    assert_eq!(canceled.status, "CANCELED");
    assert_eq!(
        canceled.cancellation_reason.as_deref(),
        Some("Cancelado pelo cliente no WhatsApp: viagem")
    );
}

#[tokio::test]
async fn another_customers_booking_is_not_found_and_nothing_changes() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let other = app.seed_customer(&shop.tenant, "Outro").await;
    app.insert_appointment(
        &shop.tenant,
        &json!(other),
        &json!(shop.service),
        local(tomorrow(&app), 11),
        "CONFIRMED",
    )
    .await;
    let theirs = entity::appointments::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    script(
        &app,
        vec![
            calls(
                "cancel_appointment",
                json!({"appointmentId": theirs.id.to_string()}),
                "x1",
            ),
            calls(
                "cancel_appointment",
                json!({"appointmentId": "not-an-id"}),
                "x2",
            ),
            says("Não encontrei esse agendamento."),
        ],
    )
    .await;

    say(&app, "cancela o horário das 11h").await;

    let requests = asked(&app).await;
    for request in &requests[1..3] {
        let refusal = &responses(request)[0]["response"];
        assert_eq!(refusal["error"]["code"], "NOT_FOUND", "{refusal}");
    }
    let after = entity::appointments::Entity::find_by_id(theirs.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status, "CONFIRMED");
    assert_eq!(after.updated_at, theirs.updated_at);
}

#[tokio::test]
async fn talk_to_human_hands_the_conversation_to_the_team() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    script(
        &app,
        vec![
            calls("talk_to_human", json!({"reason": "reclamação"}), "h1"),
            says("Já chamei alguém da equipe para falar com você."),
        ],
    )
    .await;

    let reply = say(&app, "quero falar com uma pessoa").await;

    assert_eq!(
        reply_text(&reply),
        "Já chamei alguém da equipe para falar com você."
    );
    let inbox = app
        .gql(
            Some(&shop.token),
            "{ conversations(first: 5) { edges { node { needsAttention } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        inbox.data()["conversations"]["edges"][0]["node"]["needsAttention"],
        true
    );
    // A person has the conversation now: the assistant is not asked again.
    let before = asked(&app).await.len();
    meta::deliver_now(
        &app,
        CUSTOMER,
        text(CUSTOMER, "wamid.AI-after-human", "alô?"),
    )
    .await;
    assert_eq!(asked(&app).await.len(), before);
}

#[tokio::test]
async fn the_custom_prompt_and_an_unconfigured_week_reach_the_instruction() {
    let app = spawn_app_with(ai_options()).await;
    let (token, _tenant) = connected_tenant(&app).await;
    meta::accept_sends(&app.meta).await;
    let updated = app
        .gql(
            Some(&token),
            "mutation { updateTenant(input: {botMode: AI, aiCustomPrompt: \"Ofereça café a quem chegar cedo.\", aiRequireEmail: true}) { botMode aiCustomPrompt aiRequireEmail } }",
            json!({}),
        )
        .await;
    assert_eq!(updated.data()["updateTenant"]["aiRequireEmail"], true);
    script(&app, vec![says("Olá!")]).await;

    say(&app, "oi").await;

    let requests = asked(&app).await;
    let instruction = requests[0]["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        instruction.contains("INSTRUÇÕES DO ESTABELECIMENTO\nOfereça café a quem chegar cedo.")
    );
    assert!(instruction.contains("ainda não configurou o horário de funcionamento"));
    assert!(instruction.contains("Nenhum serviço cadastrado ainda."));
    assert!(instruction.contains("ainda não informou e-mail"));
}

#[tokio::test]
async fn an_email_is_asked_before_booking_when_the_tenant_requires_it() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    app.gql(
        Some(&shop.token),
        "mutation { updateTenant(input: {aiRequireEmail: true}) { aiRequireEmail } }",
        json!({}),
    )
    .await
    .data();
    let day = tomorrow(&app).format("%Y-%m-%d").to_string();
    let book = json!({"serviceId": shop.service, "date": day, "time": "10:00"});
    script(
        &app,
        vec![
            calls("book_appointment", book.clone(), "b1"),
            calls(
                "update_customer_profile",
                json!({"email": "Ana@Example.com"}),
                "p1",
            ),
            calls("book_appointment", book, "b2"),
            says("Agendado!"),
        ],
    )
    .await;

    say(&app, "agenda amanhã 10h, meu e-mail é Ana@Example.com").await;

    let requests = asked(&app).await;
    assert_eq!(
        responses(&requests[1])[0]["response"]["error"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(
        responses(&requests[2])[0]["response"]["email"],
        "ana@example.com"
    );
    assert_eq!(responses(&requests[3])[0]["response"]["ok"], true);
    assert_eq!(
        appointments_of(&app, customer_id(&app).await).await.len(),
        1
    );
}

async fn fallbacks(app: &TestApp, reason: &str) -> u64 {
    let metrics = app
        .http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("waba_ai_fallbacks_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |count| count.trim().parse().unwrap())
}

#[tokio::test]
async fn gemini_down_after_its_retries_the_menu_answers() {
    let app = spawn_app_with(ai_options()).await;
    shop(&app).await;
    let unavailable = json!({"status": 503, "body": {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}});
    script(
        &app,
        vec![unavailable.clone(), unavailable.clone(), unavailable],
    )
    .await;

    let reply = say(&app, "oi, tem horário?").await;

    // The first attempt and AI_MAX_RETRIES=2 retries, then the menu's greeting.
    assert_eq!(asked(&app).await.len(), 3);
    assert_eq!(reply["type"], "interactive", "{reply}");
    assert_eq!(fallbacks(&app, "unavailable").await, 1);
}

#[tokio::test]
async fn at_the_monthly_quota_the_menu_answers_and_the_dashboard_is_told() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let admin = app.admin_token().await;
    let plan = app.saas_plan_id("starter-monthly").await;
    let quota = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { updateSaasPlan(id: $id, input: {aiMonthlyTokenQuota: 300}) { aiMonthlyTokenQuota } }",
            json!({"id": plan}),
        )
        .await;
    assert_eq!(quota.data()["updateSaasPlan"]["aiMonthlyTokenQuota"], 300);
    let mut dashboard = WsClient::connect(&app.address, "graphql-transport-ws").await;
    dashboard
        .init(json!({"Authorization": format!("Bearer {}", shop.token)}))
        .await
        .unwrap();
    dashboard
        .subscribe(
            "1",
            "subscription { tenantEvents { ... on TenantUpdated { tenant { aiQuotaReachedMonth } } } }",
        )
        .await;
    subscribed(&app, 1).await;
    // 115 + 220 tokens: the first turn goes over the quota.
    script(
        &app,
        vec![
            calls("list_services", json!({}), "s1"),
            says("Temos Corte por R$ 50,00."),
        ],
    )
    .await;
    assert_eq!(
        reply_text(&say(&app, "quais serviços?").await),
        "Temos Corte por R$ 50,00."
    );
    let month = app
        .state
        .clock
        .now()
        .with_timezone(&Sao_Paulo)
        .format("%Y-%m")
        .to_string();
    let tenant = app
        .gql(
            Some(&shop.token),
            "{ tenant { aiQuotaReachedMonth } }",
            json!({}),
        )
        .await;
    assert_eq!(
        tenant.data()["tenant"]["aiQuotaReachedMonth"],
        month.as_str()
    );
    let event = dashboard.next().await.unwrap();
    assert_eq!(
        event["payload"]["data"]["tenantEvents"]["tenant"]["aiQuotaReachedMonth"],
        month.as_str()
    );

    let reply = say(&app, "e amanhã?").await;

    assert_eq!(asked(&app).await.len(), 2, "the model is not asked again");
    assert_eq!(reply["type"], "interactive", "{reply}");
    assert_eq!(fallbacks(&app, "quota").await, 1);
    let usage = app
        .gql(
            Some(&shop.token),
            "{ aiUsage { totalTokens tokenQuota quotaReached } }",
            json!({}),
        )
        .await;
    assert_eq!(
        usage.data()["aiUsage"],
        json!({"totalTokens": 335, "tokenQuota": 300, "quotaReached": true})
    );
    let by_tenant = app
        .gql(
            Some(&admin),
            "query($m: String) { aiUsageByTenant(month: $m) { tenant { id } calls totalTokens } }",
            json!({"m": month}),
        )
        .await;
    assert_eq!(
        by_tenant.data()["aiUsageByTenant"],
        json!([{"tenant": {"id": shop.tenant}, "calls": 2, "totalTokens": 335}])
    );
    let refused = app
        .gql(
            Some(&shop.token),
            "{ aiUsageByTenant { calls } }",
            json!({}),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
}

#[tokio::test]
async fn memory_survives_a_restart_between_two_messages() {
    let first = spawn_app_with(ai_options()).await;
    shop(&first).await;
    script(&first, vec![says("Oi Ana! Temos corte por R$ 50,00.")]).await;
    say(&first, "quanto custa o corte?").await;

    let second = first.restart(ai_options().settings).await;
    meta::accept_mark_read(&second.meta).await;
    meta::accept_sends(&second.meta).await;
    script(&second, vec![says("Pode ser amanhã às 10:00?")]).await;
    say(&second, "quero marcar").await;

    let contents = asked(&second).await[0]["contents"].clone();
    assert_eq!(
        contents,
        json!([
            {"role": "user", "parts": [{"text": "quanto custa o corte?"}]},
            {"role": "model", "parts": [{"text": "Oi Ana! Temos corte por R$ 50,00."}]},
            {"role": "user", "parts": [{"text": "quero marcar"}]},
        ])
    );
}

/// A turn run again (its job retried after a crash before the reply was stored) answers what the
/// first run answered, without asking the model again or booking twice.
#[tokio::test]
async fn a_turn_run_again_answers_as_before_without_asking_the_model() {
    use waba_bot::kernel::{
        assistant::{AssistantAnswer, AssistantTurn},
        ids::{ConversationId, CustomerId, MessageId, TenantId},
    };
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let day = tomorrow(&app).format("%Y-%m-%d").to_string();
    script(
        &app,
        vec![
            calls(
                "book_appointment",
                json!({"serviceId": shop.service, "date": day, "time": "10:00"}),
                "b1",
            ),
            says("Agendado!"),
        ],
    )
    .await;
    say(&app, "marca amanhã 10h").await;
    let inbound = entity::messages::Entity::find()
        .filter(entity::messages::Column::Direction.eq("INBOUND"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let conversation = entity::conversations::Entity::find_by_id(inbound.conversation_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let turn = AssistantTurn {
        tenant_id: TenantId(conversation.tenant_id),
        conversation_id: ConversationId(conversation.id),
        customer_id: CustomerId(conversation.customer_id),
        messages: vec!["marca amanhã 10h".to_owned()],
        last_message_id: MessageId(inbound.id),
        now: app.state.clock.now(),
    };

    let again = app.state.assistant.answer(&app.state, &turn).await;

    assert_eq!(
        again,
        AssistantAnswer::Reply {
            text: "Agendado!".to_owned(),
            needs_attention: false
        }
    );
    assert_eq!(asked(&app).await.len(), 2);
    assert_eq!(
        appointments_of(&app, conversation.customer_id).await.len(),
        1
    );
}

/// A crash after the booking but before the turn was stored: asked again, the model books the
/// same slot, which is the customer's own booking, and is told it is booked.
#[tokio::test]
async fn booking_a_slot_the_customer_already_holds_answers_as_booked() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let date = tomorrow(&app);
    script(&app, vec![says("Oi!")]).await;
    say(&app, "oi").await;
    let customer = customer_id(&app).await;
    let day = date.format("%Y-%m-%d").to_string();
    let booked = json!({"serviceId": shop.service, "date": day, "time": "10:00"});
    script(
        &app,
        vec![calls("book_appointment", booked, "b1"), says("Agendado!")],
    )
    .await;
    // The first run's booking, made through the same service before the crash.
    waba_bot::domains::appointments::service::book_for_customer(
        &app.state,
        waba_bot::kernel::ids::TenantId(uuid::Uuid::parse_str(&shop.tenant).unwrap()),
        waba_bot::kernel::ids::CustomerId(customer),
        waba_bot::kernel::ids::ServiceId(uuid::Uuid::parse_str(&shop.service).unwrap()),
        local(date, 10),
    )
    .await
    .unwrap();

    say(&app, "marca amanhã 10h").await;

    let answer = &responses(&asked(&app).await[1])[0]["response"];
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(appointments_of(&app, customer).await.len(), 1);
}

#[tokio::test]
async fn a_booking_that_needs_payment_tells_the_model_and_it_gets_the_link() {
    let app = spawn_app_with(ai_options()).await;
    let shop = shop(&app).await;
    let tokens = waba_bot::domains::tenants::service::MercadoPagoTokens {
        user_id: "5550002".to_owned(),
        access_token: "APP_USR-ai-shop".to_owned().into(),
        refresh_token: None,
        public_key: None,
        expires_at: None,
    };
    let tenant = waba_bot::kernel::ids::TenantId(uuid::Uuid::parse_str(&shop.tenant).unwrap());
    waba_bot::domains::tenants::service::connect_mercado_pago(&app.state, tenant, &tokens)
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .and(header("authorization", "Bearer APP_USR-ai-shop"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "pref-ai", "init_point": "https://mp.test/checkout/pref-ai",
        })))
        .expect(1)
        .mount(&app.mercado_pago)
        .await;
    let day = tomorrow(&app).format("%Y-%m-%d").to_string();
    let book = json!({"serviceId": shop.service, "date": day, "time": "10:00"});
    script(
        &app,
        vec![calls("book_appointment", book, "b1"), says("Agendado!")],
    )
    .await;
    say(&app, "marca amanhã 10h").await;
    let booked = &responses(&asked(&app).await[1])[0]["response"];
    assert_eq!(booked["paymentRequired"], true, "{booked}");
    let appointment = booked["appointment"]["appointmentId"]
        .as_str()
        .unwrap()
        .to_owned();

    script(
        &app,
        vec![
            calls(
                "generate_payment_link",
                json!({"appointmentId": appointment}),
                "l1",
            ),
            says("Pague aqui: https://mp.test/checkout/pref-ai"),
        ],
    )
    .await;
    let reply = say(&app, "como eu pago?").await;
    let link = &responses(&asked(&app).await[1])[0]["response"];
    assert_eq!(link["ok"], true, "{link}");
    assert_eq!(link["paymentUrl"], "https://mp.test/checkout/pref-ai");
    assert_eq!(link["amount"], "R$ 50,00");
    assert!(link["payBefore"].is_string(), "{link}");
    assert!(reply_text(&reply).contains("https://mp.test/checkout/pref-ai"));
}

/// The history sent is the most recent whole turns within `AI_HISTORY_TOKEN_BUDGET`.
#[tokio::test]
async fn only_the_latest_turns_within_the_budget_are_sent() {
    let mut options = ai_options();
    // A short turn is about 25 estimated tokens: one fits, two do not.
    options
        .settings
        .push(("AI_HISTORY_TOKEN_BUDGET", "40".to_owned()));
    let app = spawn_app_with(options).await;
    shop(&app).await;
    script(&app, vec![says("Um.")]).await;
    say(&app, "primeira").await;
    script(&app, vec![says("Dois.")]).await;
    say(&app, "segunda").await;
    script(&app, vec![says("Três.")]).await;
    say(&app, "terceira").await;

    assert_eq!(
        asked(&app).await[0]["contents"],
        json!([
            {"role": "user", "parts": [{"text": "segunda"}]},
            {"role": "model", "parts": [{"text": "Dois."}]},
            {"role": "user", "parts": [{"text": "terceira"}]},
        ])
    );
}
