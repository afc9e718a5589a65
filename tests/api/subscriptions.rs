//! Customer subscriptions: one current subscription per customer, billing cycles in the tenant's
//! time zone, the customer's status.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{GqlResponse, TestApp, assert_one_wins, spawn_app};

const SUBSCRIPTION: &str = "id status startsAt currentPeriodStart currentPeriodEnd canceledAt createdAt customer { id name status } plan { id name }";
const ALREADY_SUBSCRIBED: &str = "O cliente já possui uma assinatura ativa";

async fn subscribe(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("mutation($i: SubscribeCustomerInput!) {{ subscribeCustomer(input: $i) {{ {SUBSCRIPTION} }} }}"),
        json!({ "i": input }),
    )
    .await
}

async fn cancel(app: &TestApp, token: &str, id: &Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("mutation($id: ID!) {{ cancelSubscription(id: $id) {{ {SUBSCRIPTION} }} }}"),
        json!({ "id": id }),
    )
    .await
}

async fn read(app: &TestApp, token: &str, id: &Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("query($id: ID!) {{ subscription(id: $id) {{ {SUBSCRIPTION} }} }}"),
        json!({ "id": id }),
    )
    .await
}

async fn customer_status(app: &TestApp, token: &str, id: &Value) -> (String, Value) {
    let response = app
        .gql(
            Some(token),
            "query($id: ID!) { customer(id: $id) { status subscription { id status } } }",
            json!({ "id": id }),
        )
        .await;
    let customer = &response.data()["customer"];
    (
        customer["status"].as_str().unwrap().to_owned(),
        customer["subscription"].clone(),
    )
}

/// A plan with one service, and a customer.
async fn plan_and_customer(app: &TestApp, token: &str, interval: &str) -> (Value, Value) {
    let service = app.create_service(token, "Corte").await;
    let plan = app
        .gql(
            Some(token),
            "mutation($i: CreatePlanInput!) { createPlan(input: $i) { id name } }",
            json!({"i": {"name": format!("Plano {interval}"), "price": {"amount": "89.90"}, "interval": interval, "serviceIds": [service["id"]]}}),
        )
        .await
        .data()["createPlan"]
        .clone();
    let customer = app
        .create_customer(token, "Ana", &crate::helpers::unique_phone())
        .await;
    (plan, customer)
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// `months` calendar months after `at`, on the wall clock of `zone`.
fn months_later(at: DateTime<Utc>, months: u32, zone: Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&zone).naive_local() + Months::new(months);
    zone.from_local_datetime(&local)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// The next `month`/`day` after today, at `hour` local time in `zone`.
fn next_local(month: u32, day: u32, hour: u32, zone: Tz) -> DateTime<Utc> {
    let today = Utc::now().with_timezone(&zone).date_naive();
    let mut date = NaiveDate::from_ymd_opt(today.year(), month, day).unwrap();
    if date <= today {
        date = NaiveDate::from_ymd_opt(today.year() + 1, month, day).unwrap();
    }
    zone.from_local_datetime(&date.and_hms_opt(hour, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn subscribing_starts_an_active_cycle_now() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let (plan, customer) = plan_and_customer(&app, &token, "MONTHLY").await;
    let before = Utc::now();
    let created = subscribe(
        &app,
        &token,
        json!({"customerId": customer["id"], "planId": plan["id"]}),
    )
    .await;
    let after = Utc::now();
    let subscription = created.data()["subscribeCustomer"].clone();
    assert_eq!(subscription["status"], "ACTIVE");
    assert!(subscription["canceledAt"].is_null());
    assert_eq!(
        subscription["customer"],
        json!({"id": customer["id"], "name": "Ana", "status": "SUBSCRIBER"})
    );
    assert_eq!(subscription["plan"], plan);
    let starts_at = instant(&subscription["startsAt"]);
    assert!(before - Duration::seconds(1) <= starts_at && starts_at <= after);
    assert_eq!(instant(&subscription["currentPeriodStart"]), starts_at);
    assert_eq!(
        instant(&subscription["currentPeriodEnd"]),
        months_later(starts_at, 1, chrono_tz::America::Sao_Paulo)
    );
    assert_eq!(
        read(&app, &token, &subscription["id"]).await.data()["subscription"],
        subscription
    );

    let (status, current) = customer_status(&app, &token, &customer["id"]).await;
    assert_eq!(status, "SUBSCRIBER");
    assert_eq!(
        current,
        json!({"id": subscription["id"], "status": "ACTIVE"})
    );
}

#[tokio::test]
async fn cycles_are_calendar_months_in_the_tenants_time_zone() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let sao_paulo = chrono_tz::America::Sao_Paulo;

    // Started on the 31st: the cycle ends on the last day of the shorter month.
    let jan_31 = next_local(1, 31, 12, sao_paulo);
    for (interval, months) in [("MONTHLY", 1), ("QUARTERLY", 3), ("YEARLY", 12)] {
        let (plan, customer) = plan_and_customer(&app, &token, interval).await;
        let created = subscribe(
            &app,
            &token,
            json!({"customerId": customer["id"], "planId": plan["id"], "startsAt": jan_31.to_rfc3339()}),
        )
        .await;
        let subscription = &created.data()["subscribeCustomer"];
        assert_eq!(instant(&subscription["startsAt"]), jan_31);
        assert_eq!(
            instant(&subscription["currentPeriodStart"]),
            jan_31,
            "{interval}"
        );
        let end = instant(&subscription["currentPeriodEnd"]);
        assert_eq!(end, months_later(jan_31, months, sao_paulo), "{interval}");
        let local_end = end.with_timezone(&sao_paulo);
        let expected_day = match months {
            1 => NaiveDate::from_ymd_opt(jan_31.year(), 3, 1)
                .unwrap()
                .pred_opt()
                .unwrap()
                .day(),
            3 => 30,
            _ => 31,
        };
        assert_eq!(
            (local_end.day(), local_end.format("%H:%M").to_string()),
            (expected_day, "12:00".to_owned()),
            "{interval}"
        );
    }

    // Started in the past: the current cycle is the one containing now.
    let (plan, customer) = plan_and_customer(&app, &token, "MONTHLY").await;
    let started = Utc::now() - Duration::days(45);
    let created = subscribe(
        &app,
        &token,
        json!({"customerId": customer["id"], "planId": plan["id"], "startsAt": started.to_rfc3339()}),
    )
    .await;
    let subscription = &created.data()["subscribeCustomer"];
    let period_start = instant(&subscription["currentPeriodStart"]);
    let period_end = instant(&subscription["currentPeriodEnd"]);
    let starts_at = instant(&subscription["startsAt"]);
    assert_eq!(period_start, months_later(starts_at, 1, sao_paulo));
    assert_eq!(period_end, months_later(starts_at, 2, sao_paulo));
    assert!(period_start <= Utc::now() && Utc::now() < period_end);

    // A zone with daylight saving time: local midnight stays local midnight.
    app.gql(
        Some(&token),
        "mutation { updateTenant(input: {timeZone: \"America/New_York\"}) { timeZone } }",
        json!({}),
    )
    .await
    .data();
    let new_york = chrono_tz::America::New_York;
    let march_1 = next_local(3, 1, 0, new_york);
    let (plan, customer) = plan_and_customer(&app, &token, "MONTHLY").await;
    let created = subscribe(
        &app,
        &token,
        json!({"customerId": customer["id"], "planId": plan["id"], "startsAt": march_1.to_rfc3339()}),
    )
    .await;
    let end = instant(&created.data()["subscribeCustomer"]["currentPeriodEnd"]);
    assert_eq!(
        end.with_timezone(&new_york)
            .format("%m-%d %H:%M")
            .to_string(),
        "04-01 00:00"
    );
    assert_eq!(end - march_1, Duration::days(31) - Duration::hours(1));
}

#[tokio::test]
async fn a_customer_holds_one_subscription_at_a_time() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let (plan, customer) = plan_and_customer(&app, &token, "MONTHLY").await;
    let input = json!({"customerId": customer["id"], "planId": plan["id"]});
    let first = subscribe(&app, &token, input.clone()).await.data()["subscribeCustomer"].clone();

    let twice = subscribe(&app, &token, input.clone()).await;
    assert_eq!(twice.code(), "CONFLICT");
    assert_eq!(twice.message(), ALREADY_SUBSCRIBED);

    app.set_subscription_status(&first["id"], "PAST_DUE").await;
    let past_due = subscribe(&app, &token, input.clone()).await;
    assert_eq!(past_due.code(), "CONFLICT");
    assert_eq!(past_due.message(), ALREADY_SUBSCRIBED);

    let canceled = cancel(&app, &token, &first["id"]).await;
    let canceled = canceled.data()["cancelSubscription"].clone();
    assert_eq!(canceled["status"], "CANCELED");
    let canceled_at = instant(&canceled["canceledAt"]);
    assert!(Utc::now() - canceled_at < Duration::minutes(5));
    assert_eq!(canceled["customer"]["status"], "CANCELED");
    let again = cancel(&app, &token, &first["id"]).await;
    assert_eq!(
        again.data()["cancelSubscription"],
        canceled,
        "canceling twice is a no-op"
    );

    let second = subscribe(&app, &token, input).await.data()["subscribeCustomer"].clone();
    assert_eq!(second["status"], "ACTIVE");
    let (status, current) = customer_status(&app, &token, &customer["id"]).await;
    assert_eq!(status, "SUBSCRIBER");
    assert_eq!(current["id"], second["id"]);
    assert_eq!(
        read(&app, &token, &first["id"]).await.data()["subscription"]["status"],
        "CANCELED"
    );
}

#[tokio::test]
async fn concurrent_subscriptions_of_one_customer_make_one() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let (plan, customer) = plan_and_customer(&app, &token, "MONTHLY").await;
    let input = json!({"customerId": customer["id"], "planId": plan["id"]});
    let (first, second) = tokio::join!(
        subscribe(&app, &token, input.clone()),
        subscribe(&app, &token, input.clone())
    );
    assert_one_wins(&first, &second);
    let count = entity::subscriptions::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn subscribing_checks_the_customer_plan_and_start() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let (plan, customer) = plan_and_customer(&app, &token, "MONTHLY").await;
    let (archived, _) = plan_and_customer(&app, &token, "YEARLY").await;
    app.gql(
        Some(&token),
        "mutation($id: ID!) { archivePlan(id: $id) { id } }",
        json!({"id": archived["id"]}),
    )
    .await
    .data();
    let unknown = Uuid::now_v7().to_string();
    for (input, code) in [
        (
            json!({"customerId": customer["id"], "planId": archived["id"]}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"customerId": customer["id"], "planId": unknown}),
            "NOT_FOUND",
        ),
        (
            json!({"customerId": unknown, "planId": plan["id"]}),
            "NOT_FOUND",
        ),
        (
            json!({"customerId": "nope", "planId": plan["id"]}),
            "NOT_FOUND",
        ),
        (
            json!({"customerId": customer["id"], "planId": plan["id"], "startsAt": (Utc::now() + Duration::days(400)).to_rfc3339()}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"customerId": customer["id"], "planId": plan["id"], "startsAt": "2001-01-01T00:00:00Z"}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"customerId": customer["id"], "planId": plan["id"], "startsAt": "amanhã"}),
            "BAD_USER_INPUT",
        ),
    ] {
        let response = subscribe(&app, &token, input.clone()).await;
        assert_eq!(response.code(), code, "{input}");
    }
    let (status, current) = customer_status(&app, &token, &customer["id"]).await;
    assert_eq!(status, "WALK_IN", "nothing was created");
    assert!(current.is_null());
    assert_eq!(
        cancel(&app, &token, &json!(Uuid::now_v7().to_string()))
            .await
            .code(),
        "NOT_FOUND"
    );

    // Archiving a plan does not end its subscriptions.
    let subscription = app.subscribe(&token, &customer["id"], &plan["id"]).await;
    app.gql(
        Some(&token),
        "mutation($id: ID!) { archivePlan(id: $id) { id } }",
        json!({"id": plan["id"]}),
    )
    .await
    .data();
    let kept = read(&app, &token, &subscription["id"]).await;
    assert_eq!(kept.data()["subscription"]["status"], "ACTIVE");
    assert_eq!(kept.data()["subscription"]["plan"], plan);
}

#[tokio::test]
async fn customer_status_follows_the_current_subscription() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let (plan, customer) = plan_and_customer(&app, &token, "MONTHLY").await;
    assert_eq!(
        customer_status(&app, &token, &customer["id"]).await.0,
        "WALK_IN"
    );

    let subscription = app.subscribe(&token, &customer["id"], &plan["id"]).await;
    assert_eq!(
        customer_status(&app, &token, &customer["id"]).await.0,
        "SUBSCRIBER"
    );
    app.set_subscription_status(&subscription["id"], "PAST_DUE")
        .await;
    assert_eq!(
        customer_status(&app, &token, &customer["id"]).await.0,
        "PAST_DUE"
    );
    cancel(&app, &token, &subscription["id"]).await.data();
    let (status, current) = customer_status(&app, &token, &customer["id"]).await;
    assert_eq!(status, "CANCELED");
    assert_eq!(
        current,
        json!({"id": subscription["id"], "status": "CANCELED"})
    );
    app.set_subscription_status(&subscription["id"], "EXPIRED")
        .await;
    assert_eq!(
        customer_status(&app, &token, &customer["id"]).await.0,
        "CANCELED"
    );

    // An ACTIVE subscription wins over a more recent ended one.
    let next = app.subscribe(&token, &customer["id"], &plan["id"]).await;
    let later = (Utc::now() + Duration::days(30)).to_rfc3339();
    cancel(&app, &token, &next["id"]).await.data();
    let future = subscribe(
        &app,
        &token,
        json!({"customerId": customer["id"], "planId": plan["id"], "startsAt": later}),
    )
    .await;
    let future = future.data()["subscribeCustomer"].clone();
    app.set_subscription_status(&future["id"], "CANCELED").await;
    let active = app.subscribe(&token, &customer["id"], &plan["id"]).await;
    let (status, current) = customer_status(&app, &token, &customer["id"]).await;
    assert_eq!(status, "SUBSCRIBER");
    assert_eq!(current["id"], active["id"]);
}

#[tokio::test]
async fn another_tenant_cannot_reach_subscriptions() {
    let app = spawn_app().await;
    let (token_a, _) = app.tenant_owner().await;
    let (token_b, _) = app.tenant_owner().await;
    let (plan_a, customer_a) = plan_and_customer(&app, &token_a, "MONTHLY").await;
    let (plan_b, customer_b) = plan_and_customer(&app, &token_b, "MONTHLY").await;
    let subscription = app
        .subscribe(&token_a, &customer_a["id"], &plan_a["id"])
        .await;

    for response in [
        read(&app, &token_b, &subscription["id"]).await,
        cancel(&app, &token_b, &subscription["id"]).await,
        subscribe(
            &app,
            &token_b,
            json!({"customerId": customer_a["id"], "planId": plan_b["id"]}),
        )
        .await,
        subscribe(
            &app,
            &token_b,
            json!({"customerId": customer_b["id"], "planId": plan_a["id"]}),
        )
        .await,
    ] {
        assert_eq!(response.code(), "NOT_FOUND", "{}", response.body);
        assert!(response.read_nothing(), "{}", response.body);
    }
    let (status, current) = customer_status(&app, &token_b, &customer_b["id"]).await;
    assert_eq!((status.as_str(), current), ("WALK_IN", Value::Null));
    let a = read(&app, &token_a, &subscription["id"]).await;
    let a = &a.data()["subscription"];
    assert_eq!(a["status"], "ACTIVE");
    assert!(a["canceledAt"].is_null());
    assert_eq!(a["customer"]["id"], customer_a["id"]);
}
