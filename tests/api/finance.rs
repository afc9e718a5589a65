//! Finance for the dashboard: `financeSummary`, the `payments` connection and the CSV exports,
//! over payments written straight to the database (then counted by rebuilding the tenant's
//! rollup, as the migration's backfill does), and the rollup itself: kept exact by every write
//! of the payments domain, rebuilt when the tenant's zone changes, backfilled by its migration.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;
use waba_bot::{
    domains::{payments::finance::rebuild_days, tenants},
    kernel::ids::TenantId,
};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{TestApp, spawn_app},
    payment_reconciliation::{SELLER_TOKEN, booked, mp_payment, mp_shop, notify},
};

const SUMMARY: &str = "query($from: Date!, $to: Date!) { financeSummary(from: $from, to: $to) {
    from to gross { amount currency } fees { amount } net { amount } pending { amount }
    refunded { amount } count averageTicket { amount }
    byStatus { status count amount { amount } }
    byDay { date gross { amount } net { amount } count }
    byService { service { id name } gross { amount } count }
    byMethod { method gross { amount } count }
    byProvider { provider gross { amount } count } } }";

const PAYMENTS: &str = "query($filter: PaymentFilter, $first: Int, $after: String) {
    payments(filter: $filter, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id status provider method amount { amount } fee { amount }
            net { amount } appointment { id } customer { id name } } } } }";

/// A business with two services, two customers and an appointment for each customer.
struct Shop {
    token: String,
    tenant: Uuid,
    cut: Uuid,
    beard: Uuid,
    ana: Uuid,
    bia: Uuid,
    ana_booking: Uuid,
    bia_booking: Uuid,
}

async fn shop(app: &TestApp) -> Shop {
    let (token, tenant) = app.tenant_owner().await;
    let cut = app.seed_service(&tenant, "Corte", 10_000, 30).await;
    let beard = app
        .seed_service(&tenant, "Barba; \"completa\"", 5_000, 30)
        .await;
    let ana = app.seed_customer(&tenant, "Ana; \"Souza\"").await;
    let bia = app.seed_customer(&tenant, "=Bia").await;
    let id = |text: &str| Uuid::parse_str(text).unwrap();
    let tenant = id(&tenant);
    let starts = utc("2026-11-10T13:00:00Z");
    let ana_booking = insert_appointment(app, tenant, id(&ana), id(&cut), starts).await;
    let bia_booking = insert_appointment(
        app,
        tenant,
        id(&bia),
        id(&beard),
        starts + Duration::hours(1),
    )
    .await;
    Shop {
        token,
        tenant,
        cut: id(&cut),
        beard: id(&beard),
        ana: id(&ana),
        bia: id(&bia),
        ana_booking,
        bia_booking,
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn insert_appointment(
    app: &TestApp,
    tenant: Uuid,
    customer: Uuid,
    service: Uuid,
    starts_at: DateTime<Utc>,
) -> Uuid {
    let id = Uuid::now_v7();
    let now = Utc::now();
    entity::appointments::Entity::insert(entity::appointments::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        customer_id: Set(customer),
        service_id: Set(service),
        subscription_id: Set(None),
        starts_at: Set(starts_at),
        ends_at: Set(starts_at + Duration::minutes(30)),
        status: Set("CONFIRMED".into()),
        price_cents: Set(10_000),
        notes: Set(Some("Prefere tesoura;\nsem máquina".into())),
        confirmed_at: Set(Some(now)),
        canceled_at: Set(None),
        cancellation_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        paid_at: Set(None),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();
    id
}

/// A payment as reconciliation leaves it: `at` is when it was approved (received statuses) or
/// created (the others).
#[derive(Clone)]
struct Seed {
    status: &'static str,
    provider: &'static str,
    method: Option<&'static str>,
    purpose: &'static str,
    amount: i64,
    paid: Option<i64>,
    fee: Option<i64>,
    refunded: i64,
    at: DateTime<Utc>,
    service: Option<Uuid>,
    customer: Option<Uuid>,
    appointment: Option<Uuid>,
}

impl Seed {
    fn received(status: &'static str, paid: i64, fee: i64, at: &str) -> Self {
        Self {
            status,
            provider: "MERCADO_PAGO",
            method: Some("PIX"),
            purpose: "APPOINTMENT",
            amount: paid,
            paid: Some(paid),
            fee: Some(fee),
            refunded: 0,
            at: utc(at),
            service: None,
            customer: None,
            appointment: None,
        }
    }

    fn open(status: &'static str, amount: i64, at: &str) -> Self {
        Self {
            method: None,
            paid: None,
            fee: None,
            amount,
            ..Self::received(status, 0, 0, at)
        }
    }

    fn for_booking(self, service: Uuid, customer: Uuid, appointment: Uuid) -> Self {
        Self {
            service: Some(service),
            customer: Some(customer),
            appointment: Some(appointment),
            ..self
        }
    }

    fn row(&self, tenant: Uuid) -> entity::payments::ActiveModel {
        let approved = matches!(
            self.status,
            "APPROVED" | "PARTIALLY_REFUNDED" | "IN_MEDIATION" | "REFUNDED" | "CHARGED_BACK"
        );
        let created = if approved {
            self.at - Duration::hours(2)
        } else {
            self.at
        };
        entity::payments::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            purpose: Set(self.purpose.into()),
            appointment_id: Set(self.appointment),
            subscription_id: Set(None),
            customer_id: Set(self.customer),
            service_id: Set(self.service),
            provider: Set(self.provider.into()),
            status: Set(self.status.into()),
            status_detail: Set(None),
            method: Set(self.method.map(Into::into)),
            amount_cents: Set(self.amount),
            paid_amount_cents: Set(self.paid),
            fee_cents: Set(self.fee),
            net_cents: Set(self.paid.zip(self.fee).map(|(paid, fee)| paid - fee)),
            refunded_cents: Set(self.refunded),
            currency: Set("BRL".into()),
            external_id: Set(approved.then(|| format!("mp-{}", Uuid::now_v7().simple()))),
            checkout_id: Set(None),
            checkout_url: Set(None),
            link_expires_at: Set(None),
            link_sent_at: Set(None),
            provider_updated_at: Set(None),
            needs_refund: Set(false),
            review_reason: Set(None),
            approved_at: Set(approved.then_some(self.at)),
            reported_at: Set(self.at),
            created_at: Set(created),
            updated_at: Set(self.at),
        }
    }
}

/// Writes `seeds` straight to `payments`, then rebuilds the tenant's rollup from them in its
/// zone: rows written around the payments domain count only through a rebuild.
async fn insert(app: &TestApp, tenant: Uuid, seeds: &[Seed]) {
    for chunk in seeds.chunks(500) {
        entity::payments::Entity::insert_many(chunk.iter().map(|seed| seed.row(tenant)))
            .exec_without_returning(&app.state.db)
            .await
            .unwrap();
    }
    let tenant = TenantId(tenant);
    let zone = tenants::service::find(&app.state.db, tenant)
        .await
        .unwrap()
        .time_zone;
    let txn = app.state.db.begin().await.unwrap();
    rebuild_days(&txn, tenant, zone).await.unwrap();
    txn.commit().await.unwrap();
}

/// The payments of [`summary_adds_up_every_figure_on_local_dates`]: the period 2026-11-01 to
/// 2026-11-03 in São Paulo (UTC−3) is `[2026-11-01T03:00Z, 2026-11-04T03:00Z)`.
fn november(shop: &Shop) -> Vec<Seed> {
    let cut = |seed: Seed| seed.for_booking(shop.cut, shop.ana, shop.ana_booking);
    let beard = |seed: Seed| seed.for_booking(shop.beard, shop.bia, shop.bia_booking);
    vec![
        // 23:59:59 local on Nov 1.
        cut(Seed::received(
            "APPROVED",
            10_000,
            499,
            "2026-11-02T02:59:59.999Z",
        )),
        // 00:00 local on Nov 2.
        cut(Seed {
            refunded: 3_000,
            method: Some("CREDIT_CARD"),
            ..Seed::received("PARTIALLY_REFUNDED", 8_000, 300, "2026-11-02T03:00:00Z")
        }),
        beard(Seed {
            refunded: 5_000,
            provider: "INFINITE_PAY",
            ..Seed::received("REFUNDED", 5_000, 200, "2026-11-02T15:00:00Z")
        }),
        // A chargeback returns everything, whatever `refunded` says.
        beard(Seed {
            method: Some("CREDIT_CARD"),
            ..Seed::received("CHARGED_BACK", 7_000, 100, "2026-11-03T12:00:00Z")
        }),
        // 23:59:59 local on Nov 3, the last date; no method told; for no service.
        Seed {
            method: None,
            ..Seed::received("IN_MEDIATION", 2_000, 100, "2026-11-04T02:59:59Z")
        },
        Seed::open("PENDING", 4_500, "2026-11-03T10:00:00Z"),
        Seed::open("IN_PROCESS", 500, "2026-11-01T03:00:00Z"),
        Seed::open("REJECTED", 3_300, "2026-11-02T10:00:00Z"),
        // Outside the period: 00:00 local on Nov 4, and 23:59:59 local on Oct 31.
        cut(Seed::received(
            "APPROVED",
            90_000,
            0,
            "2026-11-04T03:00:00Z",
        )),
        cut(Seed::received(
            "APPROVED",
            80_000,
            0,
            "2026-11-01T02:59:59Z",
        )),
        // The business's own platform fee is not its revenue.
        Seed {
            purpose: "SAAS_FEE",
            ..Seed::received("APPROVED", 9_900, 0, "2026-11-02T12:00:00Z")
        },
    ]
}

async fn summary(app: &TestApp, token: &str, from: &str, to: &str) -> crate::helpers::GqlResponse {
    app.gql(Some(token), SUMMARY, json!({"from": from, "to": to}))
        .await
}

fn amount(value: &Value) -> &str {
    value["amount"].as_str().unwrap()
}

#[tokio::test]
async fn finance_summary_adds_up_every_figure_on_local_dates() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    insert(&app, shop.tenant, &november(&shop)).await;
    // Another business's payments in the same period never count.
    let (other_token, other_tenant) = app.tenant_owner().await;
    let other_tenant = Uuid::parse_str(&other_tenant).unwrap();
    insert(
        &app,
        other_tenant,
        &[Seed::received(
            "APPROVED",
            12_345,
            0,
            "2026-11-02T12:00:00Z",
        )],
    )
    .await;

    let response = summary(&app, &shop.token, "2026-11-01", "2026-11-03").await;
    let s = &response.data()["financeSummary"];
    assert_eq!(
        (s["from"].as_str(), s["to"].as_str()),
        (Some("2026-11-01"), Some("2026-11-03"))
    );
    // 100 + 80 + 50 + 70 + 20 received.
    assert_eq!(s["gross"], json!({"amount": "320.00", "currency": "BRL"}));
    assert_eq!(amount(&s["fees"]), "11.99");
    // 30 of the partial refund, the whole 50 refunded, the whole 70 charged back.
    assert_eq!(amount(&s["refunded"]), "150.00");
    assert_eq!(amount(&s["net"]), "158.01");
    // Open links only (PENDING, IN_PROCESS); REJECTED is not pending.
    assert_eq!(amount(&s["pending"]), "50.00");
    assert_eq!(s["count"], 5);
    assert_eq!(amount(&s["averageTicket"]), "64.00");

    let statuses: Vec<(String, u64, String)> = s["byStatus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["status"].as_str().unwrap().to_owned(),
                row["count"].as_u64().unwrap(),
                amount(&row["amount"]).to_owned(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 10, "every status, zeros included");
    for (status, count, owed) in [
        ("PENDING", 1, "45.00"),
        ("AUTHORIZED", 0, "0.00"),
        ("IN_PROCESS", 1, "5.00"),
        ("APPROVED", 1, "100.00"),
        ("REJECTED", 1, "33.00"),
        ("CANCELED", 0, "0.00"),
        ("REFUNDED", 1, "50.00"),
        ("PARTIALLY_REFUNDED", 1, "80.00"),
        ("CHARGED_BACK", 1, "70.00"),
        ("IN_MEDIATION", 1, "20.00"),
    ] {
        assert!(
            statuses.contains(&(status.to_owned(), count, owed.to_owned())),
            "{status}: {statuses:?}"
        );
    }

    assert_eq!(
        s["byDay"],
        json!([
            {"date": "2026-11-01", "gross": {"amount": "100.00"}, "net": {"amount": "95.01"}, "count": 1},
            {"date": "2026-11-02", "gross": {"amount": "130.00"}, "net": {"amount": "45.00"}, "count": 2},
            {"date": "2026-11-03", "gross": {"amount": "90.00"}, "net": {"amount": "18.00"}, "count": 2},
        ])
    );
    assert_eq!(
        s["byService"],
        json!([
            {"service": {"id": shop.cut.to_string(), "name": "Corte"}, "gross": {"amount": "180.00"}, "count": 2},
            {"service": {"id": shop.beard.to_string(), "name": "Barba; \"completa\""}, "gross": {"amount": "120.00"}, "count": 2},
            {"service": null, "gross": {"amount": "20.00"}, "count": 1},
        ])
    );
    assert_eq!(
        s["byMethod"],
        json!([
            // A tie in money and count goes by name.
            {"method": "CREDIT_CARD", "gross": {"amount": "150.00"}, "count": 2},
            {"method": "PIX", "gross": {"amount": "150.00"}, "count": 2},
            {"method": "OTHER", "gross": {"amount": "20.00"}, "count": 1},
        ])
    );
    assert_eq!(
        s["byProvider"],
        json!([
            {"provider": "MERCADO_PAGO", "gross": {"amount": "270.00"}, "count": 4},
            {"provider": "INFINITE_PAY", "gross": {"amount": "50.00"}, "count": 1},
        ])
    );

    // The other business sees only its own payment.
    let theirs = summary(&app, &other_token, "2026-11-01", "2026-11-03").await;
    let theirs = &theirs.data()["financeSummary"];
    assert_eq!(amount(&theirs["gross"]), "123.45");
    assert_eq!(theirs["count"], 1);
    assert_eq!(
        theirs["byService"],
        json!([{"service": null, "gross": {"amount": "123.45"}, "count": 1}])
    );
}

#[tokio::test]
async fn finance_summary_days_follow_the_zone_across_dst() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    entity::tenants::Entity::update_many()
        .col_expr(
            entity::tenants::Column::TimeZone,
            Expr::value("America/New_York"),
        )
        .filter(entity::tenants::Column::Id.eq(shop.tenant))
        .exec(&app.state.db)
        .await
        .unwrap();
    // New York moves from −05:00 to −04:00 at 2026-03-08 07:00Z.
    insert(
        &app,
        shop.tenant,
        &[
            // 23:59:59 on Mar 7 (EST), then 00:00 on Mar 8 (EST).
            Seed::received("APPROVED", 100, 0, "2026-03-08T04:59:59Z"),
            Seed::received("APPROVED", 200, 0, "2026-03-08T05:00:00Z"),
            // 23:59:59 on Mar 8 (EDT), then 00:00 on Mar 9 (EDT).
            Seed::received("APPROVED", 400, 0, "2026-03-09T03:59:59Z"),
            Seed::received("APPROVED", 800, 0, "2026-03-09T04:00:00Z"),
            // 00:00 on Mar 10: outside.
            Seed::received("APPROVED", 1_600, 0, "2026-03-10T04:00:00Z"),
        ],
    )
    .await;
    let response = summary(&app, &shop.token, "2026-03-07", "2026-03-09").await;
    let days: Vec<(String, String)> = response.data()["financeSummary"]["byDay"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                amount(&d["gross"]).to_owned(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-07".to_owned(), "1.00".to_owned()),
            ("2026-03-08".to_owned(), "6.00".to_owned()),
            ("2026-03-09".to_owned(), "8.00".to_owned()),
        ]
    );
}

#[tokio::test]
async fn finance_summary_refuses_bad_periods_and_strangers() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let full_year = summary(&app, &shop.token, "2028-01-01", "2028-12-31").await;
    assert_eq!(
        full_year.data()["financeSummary"]["byDay"]
            .as_array()
            .unwrap()
            .len(),
        366
    );
    for (from, to) in [("2026-01-01", "2027-01-02"), ("2026-05-02", "2026-05-01")] {
        let refused = summary(&app, &shop.token, from, to).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{from}..{to}");
        assert_eq!(refused.body["errors"][0]["extensions"]["field"], "to");
    }
    let anonymous = app
        .gql(
            None,
            SUMMARY,
            json!({"from": "2026-11-01", "to": "2026-11-03"}),
        )
        .await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
}

async fn summary_statements(payments: usize) -> u64 {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let seeds: Vec<Seed> = (0..payments)
        .map(|i| {
            let at = utc("2026-11-01T12:00:00Z") + Duration::minutes(17 * i as i64);
            let seed = Seed::received("APPROVED", 1_000 + i as i64, 10, &at.to_rfc3339());
            if i % 2 == 0 {
                seed.for_booking(shop.cut, shop.ana, shop.ana_booking)
            } else {
                seed.for_booking(shop.beard, shop.bia, shop.bia_booking)
            }
        })
        .collect();
    insert(&app, shop.tenant, &seeds).await;
    let before = app.db_queries();
    let response = summary(&app, &shop.token, "2026-11-01", "2026-11-30").await;
    assert_eq!(
        response.data()["financeSummary"]["count"].as_u64(),
        Some(payments as u64)
    );
    app.db_queries() - before
}

#[tokio::test]
async fn finance_summary_costs_the_same_statements_for_any_number_of_payments() {
    let few = summary_statements(3).await;
    let many = summary_statements(600).await;
    assert_eq!(few, many);
    // The viewer, the two aggregates, the services.
    assert!(few <= 4, "{few} statements");
}

async fn payments(
    app: &TestApp,
    token: &str,
    filter: Value,
    first: u32,
    after: Option<&str>,
) -> Value {
    app.gql(
        Some(token),
        PAYMENTS,
        json!({"filter": filter, "first": first, "after": after}),
    )
    .await
    .data()["payments"]
        .clone()
}

fn ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn finance_payments_filter_page_and_load_their_relations() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    insert(&app, shop.tenant, &november(&shop)).await;
    let (other_token, other_tenant) = app.tenant_owner().await;
    insert(
        &app,
        Uuid::parse_str(&other_tenant).unwrap(),
        &[Seed::received("APPROVED", 100, 0, "2026-11-02T12:00:00Z")],
    )
    .await;

    // Every customer payment, newest first (the platform fee and the other business's are not).
    let all = payments(&app, &shop.token, json!(null), 50, None).await;
    assert_eq!(all["totalCount"], 10);
    let newest = &all["edges"][0]["node"];
    assert_eq!(newest["status"], "APPROVED");
    assert_eq!(amount(&newest["amount"]), "900.00");
    assert_eq!(newest["appointment"]["id"], shop.ana_booking.to_string());
    assert_eq!(newest["customer"]["id"], shop.ana.to_string());
    assert_eq!(newest["customer"]["name"], "Ana; \"Souza\"");
    assert_eq!(all["edges"][9]["node"]["amount"]["amount"], "800.00");

    // Pages of three follow each other without gaps or repeats.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = payments(&app, &shop.token, json!(null), 3, after.as_deref()).await;
        assert_eq!(page["totalCount"], 10);
        seen.extend(ids(&page));
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ids(&all));

    // The period's local dates, statuses, providers, methods and customer.
    let period = json!({"from": "2026-11-01", "to": "2026-11-03"});
    assert_eq!(
        payments(&app, &shop.token, period.clone(), 50, None).await["totalCount"],
        8
    );
    let refunded = payments(
        &app,
        &shop.token,
        json!({"from": "2026-11-01", "to": "2026-11-03", "statuses": ["REFUNDED", "CHARGED_BACK", "REFUNDED"]}),
        50,
        None,
    )
    .await;
    assert_eq!(refunded["totalCount"], 2);
    let infinite = payments(
        &app,
        &shop.token,
        json!({"providers": ["INFINITE_PAY"]}),
        50,
        None,
    )
    .await;
    assert_eq!(infinite["totalCount"], 1);
    assert_eq!(infinite["edges"][0]["node"]["provider"], "INFINITE_PAY");
    assert_eq!(
        infinite["edges"][0]["node"]["customer"]["id"],
        shop.bia.to_string()
    );
    let cards = payments(
        &app,
        &shop.token,
        json!({"methods": ["CREDIT_CARD"]}),
        50,
        None,
    )
    .await;
    assert_eq!(cards["totalCount"], 2);
    let bia = payments(
        &app,
        &shop.token,
        json!({"customerId": shop.bia.to_string()}),
        50,
        None,
    )
    .await;
    assert_eq!(bia["totalCount"], 2);
    assert!(
        bia["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["appointment"]["id"] == shop.bia_booking.to_string())
    );
    // Fee and net as the provider reported them.
    assert_eq!(amount(&cards["edges"][0]["node"]["fee"]), "1.00");
    assert_eq!(amount(&cards["edges"][0]["node"]["net"]), "69.00");

    // Another business never sees these, even by customer id.
    let theirs = payments(
        &app,
        &other_token,
        json!({"customerId": shop.ana.to_string()}),
        50,
        None,
    )
    .await;
    assert_eq!(theirs["totalCount"], 0);
    assert_eq!(
        payments(&app, &other_token, json!(null), 50, None).await["totalCount"],
        1
    );

    let bad_cursor = app
        .gql(Some(&shop.token), PAYMENTS, json!({"after": "garbage"}))
        .await;
    assert_eq!(bad_cursor.code(), "BAD_USER_INPUT");
}

async fn page_statements(payments: usize) -> u64 {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let seeds: Vec<Seed> = (0..payments)
        .map(|i| {
            let at = utc("2026-11-01T12:00:00Z") + Duration::minutes(i as i64);
            let seed = Seed::received("APPROVED", 1_000, 10, &at.to_rfc3339());
            if i % 2 == 0 {
                seed.for_booking(shop.cut, shop.ana, shop.ana_booking)
            } else {
                seed.for_booking(shop.beard, shop.bia, shop.bia_booking)
            }
        })
        .collect();
    insert(&app, shop.tenant, &seeds).await;
    let before = app.db_queries();
    let response = app
        .gql(Some(&shop.token), PAYMENTS, json!({"first": 500}))
        .await;
    let edges = response.data()["payments"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), payments);
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["customer"]["name"].is_string()
                && e["node"]["appointment"]["id"].is_string())
    );
    app.db_queries() - before
}

#[tokio::test]
async fn finance_payments_page_costs_the_same_statements_whatever_its_length() {
    let few = page_statements(2).await;
    let many = page_statements(500).await;
    assert_eq!(few, many);
    // The viewer, the page, the count, the appointments, the customers.
    assert!(few <= 5, "{few} statements");
}

async fn get_csv(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = app.http.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// The lines of a CSV body after its BOM (fields may hold quoted line breaks: split on CRLF).
fn csv_lines(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a UTF-8 BOM");
    text.split_terminator("\r\n").map(str::to_owned).collect()
}

#[tokio::test]
async fn finance_payments_csv_is_a_pt_br_spreadsheet() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    insert(&app, shop.tenant, &november(&shop)).await;
    let path = "/exports/payments.csv?from=2026-11-01&to=2026-11-03";

    let (status, body) = get_csv(&app, path, Some(&shop.token)).await;
    assert_eq!(status, 200);
    assert!(body.starts_with(&[0xEF, 0xBB, 0xBF]));
    let lines = csv_lines(&body);
    assert_eq!(
        lines[0],
        "Data;Status;Provedor;Forma de pagamento;Valor;Valor pago;Taxas;Líquido;Reembolsado;\
         Cliente;Telefone;Serviço;Agendamento;ID do pagamento;ID no provedor"
    );
    // The 8 payments of the period, oldest first, in local time.
    assert_eq!(lines.len(), 9, "{lines:#?}");
    let first: Vec<&str> = lines[1].split(';').collect();
    assert_eq!(first[0], "01/11/2026 00:00");
    assert_eq!(first[1], "Em análise");
    assert_eq!(first[4], "5,00");
    let approved = &lines[2];
    assert!(
        approved.starts_with(
            "01/11/2026 23:59;Aprovado;Mercado Pago;PIX;100,00;100,00;4,99;95,01;0,00;\"Ana; \"\"Souza\"\"\";'+55"
        ),
        "{approved}"
    );
    assert!(approved.contains(";Corte;10/11/2026 10:00;"), "{approved}");
    let partial = &lines[3];
    assert!(
        partial.starts_with("02/11/2026 00:00;Reembolsado em parte;Mercado Pago;Cartão de crédito;80,00;80,00;3,00;77,00;30,00;"),
        "{partial}"
    );
    let refunded = lines[1..]
        .iter()
        .find(|l| l.contains(";Reembolsado;"))
        .unwrap();
    assert!(refunded.contains(";InfinitePay;PIX;"), "{refunded}");
    assert!(
        refunded.contains(";'=Bia;"),
        "a formula is shown, not run: {refunded}"
    );
    assert!(
        refunded.contains(";\"Barba; \"\"completa\"\"\";"),
        "{refunded}"
    );

    // Without a token, with a bad one, or with a bad period.
    assert_eq!(get_csv(&app, path, None).await.0, 401);
    assert_eq!(get_csv(&app, path, Some("not-a-token")).await.0, 401);
    let (status, body) = get_csv(
        &app,
        "/exports/payments.csv?from=2026-01-01&to=2027-01-02",
        Some(&shop.token),
    )
    .await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("BAD_USER_INPUT"));
    assert_eq!(
        get_csv(
            &app,
            "/exports/payments.csv?from=2026-01-01",
            Some(&shop.token)
        )
        .await
        .0,
        400
    );

    // Another business's export holds none of these.
    let (other_token, _) = app.tenant_owner().await;
    let (status, body) = get_csv(&app, path, Some(&other_token)).await;
    assert_eq!(status, 200);
    assert_eq!(csv_lines(&body).len(), 1);
}

#[tokio::test]
async fn finance_payments_csv_pages_through_many_rows_in_order() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    // More than two chunks, many sharing one instant (the cursor's id breaks the ties).
    let seeds: Vec<Seed> = (0..1_201)
        .map(|i| {
            let at = utc("2026-11-05T12:00:00Z") + Duration::seconds(i / 300);
            Seed::received("APPROVED", 1_000 + i, 0, &at.to_rfc3339())
        })
        .collect();
    insert(&app, shop.tenant, &seeds).await;
    let (status, body) = get_csv(
        &app,
        "/exports/payments.csv?from=2026-11-05&to=2026-11-05",
        Some(&shop.token),
    )
    .await;
    assert_eq!(status, 200);
    let lines = csv_lines(&body);
    assert_eq!(lines.len(), 1_202);
    let ids: std::collections::HashSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(';').nth(13).unwrap())
        .collect();
    assert_eq!(ids.len(), 1_201, "no row twice");
    let amounts: i64 = lines[1..]
        .iter()
        .map(|l| {
            l.split(';')
                .nth(4)
                .unwrap()
                .replace(',', "")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(amounts, (0..1_201).map(|i| 1_000 + i).sum::<i64>());
}

#[tokio::test]
async fn finance_appointments_csv_lists_the_period_in_local_time() {
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let path = "/exports/appointments.csv?from=2026-11-10&to=2026-11-10";
    let (status, body) = get_csv(&app, path, Some(&shop.token)).await;
    assert_eq!(status, 200);
    let text = std::str::from_utf8(&body).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap();
    assert!(text.starts_with(
        "Início;Fim;Status;Cliente;Telefone;Serviço;Preço;Pago em;Observações;Motivo do cancelamento;ID do agendamento\r\n"
    ));
    assert!(
        text.contains("10/11/2026 10:00;10/11/2026 10:30;Confirmado;\"Ana; \"\"Souza\"\"\";'+55"),
        "{text}"
    );
    assert!(
        text.contains(";Corte;100,00;;\"Prefere tesoura;\nsem máquina\";;"),
        "the note keeps its line break, quoted: {text}"
    );
    assert!(text.contains(&shop.bia_booking.to_string()));
    assert_eq!(get_csv(&app, path, None).await.0, 401);
    let (other_token, _) = app.tenant_owner().await;
    let (_, body) = get_csv(&app, path, Some(&other_token)).await;
    assert_eq!(csv_lines(&body).len(), 1);
}

/// The tenant's rollup rows that hold payments, in key order.
async fn rollup(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
) -> Vec<entity::payment_days::Model> {
    use entity::payment_days::Column as C;
    entity::payment_days::Entity::find()
        .filter(C::TenantId.eq(tenant.0))
        .filter(C::N.gt(0))
        .order_by_asc(C::LocalDay)
        .order_by_asc(C::Status)
        .order_by_asc(C::Provider)
        .order_by_asc(C::Method)
        .order_by_asc(C::ServiceId)
        .all(conn)
        .await
        .unwrap()
}

/// The rollup as the writes left it equals the one rebuilt from the payments (rebuilt in a
/// transaction rolled back, so the writes' rollup is what later steps keep adjusting).
pub(crate) async fn assert_rollup_exact(app: &TestApp, tenant: TenantId) {
    let written = rollup(&app.state.db, tenant).await;
    let zone = tenants::service::find(&app.state.db, tenant)
        .await
        .unwrap()
        .time_zone;
    let txn = app.state.db.begin().await.unwrap();
    rebuild_days(&txn, tenant, zone).await.unwrap();
    let rebuilt = rollup(&txn, tenant).await;
    txn.rollback().await.unwrap();
    assert_eq!(written, rebuilt);
}

fn cents(money: &Value) -> i64 {
    money["amount"]
        .as_str()
        .unwrap()
        .replace('.', "")
        .parse()
        .unwrap()
}

/// The summary's totals, count, pending and daily series (days with payments), computed here
/// from the tenant's payment rows by the definitions of `payments::finance`.
fn figures_of(rows: &[entity::payments::Model], zone: Tz, from: NaiveDate, to: NaiveDate) -> Value {
    let (mut gross, mut fees, mut refunded, mut pending, mut count) = (0, 0, 0, 0, 0);
    let mut days = std::collections::BTreeMap::<NaiveDate, (i64, i64, u64)>::new();
    for row in rows.iter().filter(|row| row.purpose != "SAAS_FEE") {
        let date = row.reported_at.with_timezone(&zone).date_naive();
        if date < from || date > to {
            continue;
        }
        let status = row.status.as_str();
        if matches!(status, "PENDING" | "AUTHORIZED" | "IN_PROCESS") {
            pending += row.amount_cents;
        }
        let returned = matches!(status, "REFUNDED" | "CHARGED_BACK");
        if !(returned || matches!(status, "APPROVED" | "PARTIALLY_REFUNDED" | "IN_MEDIATION")) {
            continue;
        }
        let paid = row.paid_amount_cents.unwrap_or(row.amount_cents);
        let fee = row.fee_cents.unwrap_or(0);
        let back = if returned { paid } else { row.refunded_cents };
        gross += paid;
        fees += fee;
        refunded += back;
        count += 1;
        let day = days.entry(date).or_default();
        day.0 += paid;
        day.1 += paid - fee - back;
        day.2 += 1;
    }
    json!({
        "gross": gross, "fees": fees, "refunded": refunded, "net": gross - fees - refunded,
        "pending": pending, "count": count,
        "byDay": days.into_iter().map(|(date, (gross, net, count))| {
            json!({"date": date.to_string(), "gross": gross, "net": net, "count": count})
        }).collect::<Vec<_>>(),
    })
}

/// The summary's figures over `from..=to` equal those computed from the payments themselves.
pub(crate) async fn assert_summary_matches_payments(
    app: &TestApp,
    token: &str,
    tenant: TenantId,
    (from, to): (&str, &str),
) {
    let rows = entity::payments::Entity::find()
        .filter(entity::payments::Column::TenantId.eq(tenant.0))
        .all(&app.state.db)
        .await
        .unwrap();
    let zone = tenants::service::find(&app.state.db, tenant)
        .await
        .unwrap()
        .time_zone
        .0;
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let expected = figures_of(&rows, zone, date(from), date(to));
    let response = summary(app, token, from, to).await;
    let s = &response.data()["financeSummary"];
    let actual = json!({
        "gross": cents(&s["gross"]), "fees": cents(&s["fees"]),
        "refunded": cents(&s["refunded"]), "net": cents(&s["net"]),
        "pending": cents(&s["pending"]), "count": s["count"],
        "byDay": s["byDay"].as_array().unwrap().iter().filter(|day| day["count"] != 0).map(|day| {
            json!({"date": day["date"], "gross": cents(&day["gross"]), "net": cents(&day["net"]), "count": day["count"]})
        }).collect::<Vec<_>>(),
    });
    assert_eq!(actual, expected);
    let by_status: u64 = s["byStatus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["count"].as_u64().unwrap())
        .sum();
    let in_period = rows
        .iter()
        .filter(|row| row.purpose != "SAAS_FEE")
        .map(|row| row.reported_at.with_timezone(&zone).date_naive())
        .filter(|day| *day >= date(from) && *day <= date(to))
        .count();
    assert_eq!(
        by_status, in_period as u64,
        "every payment of the period, by status"
    );
}

/// Oct 20 (the reads' approvals) through the end of the year (the links, made today).
pub(crate) const AUTUMN: (&str, &str) = ("2026-10-01", "2026-12-31");

#[tokio::test]
async fn finance_rollup_follows_every_write_of_a_payment() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let token = shop.shop.token.clone();
    let check = async |app: &TestApp| {
        assert_rollup_exact(app, shop.tenant).await;
        assert_summary_matches_payments(app, &token, shop.tenant, AUTUMN).await;
    };
    // New PENDING links, counted on their creation day.
    let mut links = Vec::new();
    for n in 0..6 {
        links.push(booked(&app, &shop, n).await.1);
    }
    check(&app).await;
    let read = |id: u64, n: usize, status: &str, minute: i64| {
        shop.payments
            .set(SELLER_TOKEN, mp_payment(id, links[n], status, 50.0, minute));
    };
    // Approved: the payment moves from its creation day (today) to its approval (Oct 20).
    read(6000, 0, "approved", 5);
    notify(&app, 6000, 1).await;
    // Rejected.
    read(6001, 1, "rejected", 5);
    notify(&app, 6001, 2).await;
    // Pending at Mercado Pago (its id claimed), then approved.
    read(6002, 2, "pending", 1);
    notify(&app, 6002, 3).await;
    check(&app).await;
    read(6002, 2, "approved", 7);
    notify(&app, 6002, 4).await;
    // Approved, then refunded in full.
    read(6003, 3, "approved", 5);
    notify(&app, 6003, 5).await;
    let mut refunded = mp_payment(6003, links[3], "refunded", 50.0, 9);
    refunded["transaction_amount_refunded"] = json!(50.0);
    shop.payments.set(SELLER_TOKEN, refunded);
    notify(&app, 6003, 6).await;
    check(&app).await;
    // Approved, then partly refunded from the dashboard (`refundPayment`).
    read(6004, 4, "approved", 5);
    notify(&app, 6004, 7).await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/6004/refunds"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 777, "amount": 20.0, "status": "approved"})),
        )
        .mount(&app.mercado_pago)
        .await;
    let mut partly = mp_payment(6004, links[4], "approved", 50.0, 9);
    partly["transaction_amount_refunded"] = json!(20.0);
    shop.payments.set(SELLER_TOKEN, partly);
    let answer = app
        .gql(
            Some(&token),
            "mutation($id: ID!) { refundPayment(id: $id, amount: \"20.00\") { status } }",
            json!({"id": links[4].0.to_string()}),
        )
        .await;
    assert_eq!(
        answer.data()["refundPayment"]["status"],
        "PARTIALLY_REFUNDED"
    );
    // A second attempt on a checkout whose first attempt was rejected: a payment of its own.
    read(6005, 1, "approved", 11);
    notify(&app, 6005, 8).await;
    check(&app).await;

    let s = summary(&app, &token, AUTUMN.0, AUTUMN.1).await;
    let s = &s.data()["financeSummary"];
    // 6000, 6002, 6004 and the second attempt received 50 each; 6003 received and returned 50.
    assert_eq!(
        (amount(&s["gross"]), s["count"].clone()),
        ("250.00", json!(5))
    );
    assert_eq!(amount(&s["refunded"]), "70.00");
    // The last link is still open, and so is the new one offered after the rejection.
    assert_eq!(amount(&s["pending"]), "100.00");
}

#[tokio::test]
async fn finance_rollup_follows_a_change_of_the_tenants_zone() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let token = shop.shop.token.clone();
    let (_, payment) = booked(&app, &shop, 0).await;
    let (_, later) = booked(&app, &shop, 1).await;
    // Approved at 23:30 in São Paulo on Oct 20: 02:30 UTC, 22:30 in New York, on Oct 21 in Tokyo.
    let mut approved = mp_payment(6100, payment, "approved", 50.0, 0);
    approved["date_approved"] = json!("2026-10-20T23:30:00.000-03:00");
    shop.payments.set(SELLER_TOKEN, approved);
    notify(&app, 6100, 1).await;
    let gross_on = async |day: &str| {
        let s = summary(&app, &token, day, day).await;
        amount(&s.data()["financeSummary"]["gross"]).to_owned()
    };
    assert_eq!(gross_on("2026-10-20").await, "50.00");
    for (zone, day) in [
        ("Asia/Tokyo", "2026-10-21"),
        ("America/New_York", "2026-10-20"),
    ] {
        let changed = app
            .gql(
                Some(&token),
                "mutation($i: UpdateTenantInput!) { updateTenant(input: $i) { timeZone } }",
                json!({"i": {"timeZone": zone}}),
            )
            .await;
        assert_eq!(changed.data()["updateTenant"]["timeZone"], zone);
        assert_eq!(gross_on(day).await, "50.00", "{zone}");
        assert_rollup_exact(&app, shop.tenant).await;
        assert_summary_matches_payments(&app, &token, shop.tenant, AUTUMN).await;
    }
    assert_eq!(gross_on("2026-10-21").await, "0.00");
    // Writes after the change key their days in the new zone: 20:30 on Oct 20 in New York is
    // Oct 21 in UTC.
    let mut approved = mp_payment(6101, later, "approved", 50.0, 0);
    approved["date_approved"] = json!("2026-10-20T20:30:00.000-04:00");
    shop.payments.set(SELLER_TOKEN, approved);
    notify(&app, 6101, 2).await;
    assert_eq!(gross_on("2026-10-20").await, "100.00");
    assert_rollup_exact(&app, shop.tenant).await;
    assert_summary_matches_payments(&app, &token, shop.tenant, AUTUMN).await;
}

#[tokio::test]
async fn finance_rollup_migration_backfills_existing_payments() {
    use migration::MigratorTrait;
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let (other_token, other) = app.tenant_owner().await;
    let other = Uuid::parse_str(&other).unwrap();
    entity::tenants::Entity::update_many()
        .col_expr(
            entity::tenants::Column::TimeZone,
            Expr::value("America/New_York"),
        )
        .filter(entity::tenants::Column::Id.eq(other))
        .exec(&app.state.db)
        .await
        .unwrap();
    insert(&app, shop.tenant, &november(&shop)).await;
    insert(
        &app,
        other,
        &[
            Seed::received("APPROVED", 100, 0, "2026-03-08T04:59:59Z"),
            Seed::received("APPROVED", 200, 0, "2026-03-09T03:59:59Z"),
            Seed::received("APPROVED", 400, 0, "2026-11-01T05:30:00Z"),
        ],
    )
    .await;
    let expected = (
        rollup(&app.state.db, TenantId(shop.tenant)).await,
        rollup(&app.state.db, TenantId(other)).await,
    );
    assert!(!expected.0.is_empty() && !expected.1.is_empty());
    // Back to before the rollup's migration (the table dropped), then forward again.
    let migrations = migration::Migrator::migrations();
    let position = migrations
        .iter()
        .position(|m| m.name() == "m20261208_000001_payment_days")
        .unwrap();
    let steps = u32::try_from(migrations.len() - position).unwrap();
    migration::Migrator::down(&app.state.db, Some(steps))
        .await
        .unwrap();
    migration::Migrator::up(&app.state.db, None).await.unwrap();
    assert_eq!(
        (
            rollup(&app.state.db, TenantId(shop.tenant)).await,
            rollup(&app.state.db, TenantId(other)).await,
        ),
        expected
    );
    assert_summary_matches_payments(
        &app,
        &shop.token,
        TenantId(shop.tenant),
        ("2026-11-01", "2026-11-03"),
    )
    .await;
    assert_summary_matches_payments(
        &app,
        &other_token,
        TenantId(other),
        ("2026-03-07", "2026-11-02"),
    )
    .await;
}
