//! Reconciliation: the provider re-read with the right account's token, every status, effects
//! exactly once in any order (PIX pending → approved, approved before created, duplicates), the
//! amount mismatch, approval after a cancel, rejection with a new link, refunds and the refund
//! policy, InfinitePay's `payment_check`, and the duplicate storm.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::Duration;
use chrono_tz::America::Sao_Paulo;
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;
use waba_bot::{
    domains::{
        payments::service::link_for_appointment,
        tenants::service::{MercadoPagoTokens, connect_mercado_pago},
    },
    kernel::ids::{AppointmentId, PaymentId, TenantId},
};
use wiremock::{
    Mock, Request, Respond, ResponseTemplate,
    matchers::{body_partial_json, header, method, path, path_regex},
};

use crate::{
    finance::{AUTUMN, assert_rollup_exact, assert_summary_matches_payments},
    helpers::{TestApp, fixtures::next_local, meta, spawn_app, spawn_app_with_settings},
    notifications::{Shop, book, shop},
    payment_webhooks::{mp_notification, notifications, notify_mp},
};

const SELLER: &str = "20001";
pub(crate) const SELLER_TOKEN: &str = "APP_USR-seller-token";

/// What Mercado Pago answers for `GET /v1/payments/{id}`: the payment, readable only with the
/// token of its account (another token is a 401, an unknown id a 404).
#[derive(Clone, Default)]
pub(crate) struct MpPayments(Arc<Mutex<HashMap<String, (String, Value)>>>);

impl MpPayments {
    pub(crate) fn set(&self, token: &str, payment: Value) {
        let id = payment["id"].to_string();
        self.0
            .lock()
            .unwrap()
            .insert(id, (token.to_owned(), payment));
    }
}

impl Respond for MpPayments {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().trim_start_matches("/v1/payments/");
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        match self.0.lock().unwrap().get(id) {
            Some((token, payment)) if bearer == format!("Bearer {token}") => {
                ResponseTemplate::new(200).set_body_json(payment)
            }
            Some(_) => ResponseTemplate::new(401)
                .set_body_json(json!({"message": "invalid token", "status": 401})),
            None => ResponseTemplate::new(404)
                .set_body_json(json!({"message": "Payment not found", "error": "not_found"})),
        }
    }
}

/// Checkout Pro: each preference's URL names its idempotency key (our payment id).
struct Preferences;

impl Respond for Preferences {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .headers
            .get("x-idempotency-key")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("pref-{key}"), "init_point": format!("https://mp.test/checkout/{key}"),
        }))
    }
}

pub(crate) struct MpShop {
    pub(crate) shop: Shop,
    pub(crate) tenant: TenantId,
    pub(crate) payments: MpPayments,
}

/// `notifications::shop` with its Mercado Pago account connected and Mercado Pago mocked.
pub(crate) async fn mp_shop(app: &TestApp) -> MpShop {
    let shop = shop(app).await;
    let me = app
        .gql(Some(&shop.token), "{ me { tenant { id } } }", json!({}))
        .await;
    let tenant =
        TenantId(Uuid::parse_str(me.data()["me"]["tenant"]["id"].as_str().unwrap()).unwrap());
    connect_mercado_pago(
        &app.state,
        tenant,
        &MercadoPagoTokens {
            user_id: SELLER.to_owned(),
            access_token: SecretString::from(SELLER_TOKEN),
            refresh_token: None,
            public_key: None,
            expires_at: None,
        },
    )
    .await
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(Preferences)
        .mount(&app.mercado_pago)
        .await;
    let payments = MpPayments::default();
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/payments/[0-9]+$"))
        .respond_with(payments.clone())
        .mount(&app.mercado_pago)
        .await;
    MpShop {
        shop,
        tenant,
        payments,
    }
}

/// Booking number `n` of the shop (hourly from Wednesday 08:00, twelve a day) and its link's
/// payment.
pub(crate) async fn booked(app: &TestApp, shop: &MpShop, n: i64) -> (String, PaymentId) {
    let at = next_local(&Sao_Paulo, chrono::Weekday::Wed, 8, 0)
        + Duration::days(n / 12)
        + Duration::hours(n % 12);
    let appointment = book(app, &shop.shop, at).await;
    let link = link_for_appointment(
        &app.state,
        shop.tenant,
        AppointmentId(Uuid::parse_str(&appointment).unwrap()),
    )
    .await
    .unwrap();
    (appointment, link.payment.id)
}

/// A Mercado Pago payment of `amount` for our payment `reference`, last changed `minute` minutes
/// into the day (orders reads).
pub(crate) fn mp_payment(
    id: u64,
    reference: PaymentId,
    status: &str,
    amount: f64,
    minute: i64,
) -> Value {
    let at = |minute: i64| {
        (chrono::DateTime::parse_from_rfc3339("2026-10-20T14:00:00.000-03:00").unwrap()
            + Duration::minutes(minute))
        .to_rfc3339()
    };
    json!({
        "id": id, "status": status, "status_detail": "accredited",
        "transaction_amount": amount, "transaction_amount_refunded": 0, "currency_id": "BRL",
        "date_created": at(0),
        "date_approved": if status == "approved" { json!(at(minute)) } else { Value::Null },
        "date_last_updated": at(minute),
        "external_reference": reference.0.to_string(),
        "payment_method_id": "pix", "payment_type_id": "bank_transfer",
        "operation_type": "regular_payment",
        "fee_details": [{"type": "mercadopago_fee", "amount": 0.5, "fee_payer": "collector"},
                        {"type": "financing_fee", "amount": 2.0, "fee_payer": "payer"}],
        "transaction_details": {"net_received_amount": amount - 0.5},
    })
}

/// Tells the app of Mercado Pago payment `id` (notification `n`) and runs what follows.
pub(crate) async fn notify(app: &TestApp, id: u64, n: u64) {
    let body = mp_notification(&id.to_string(), SELLER, "payment.updated", n);
    assert_eq!(notify_mp(app, &id.to_string(), &body).await, 200);
    app.drain_jobs().await;
}

async fn appointment_row(app: &TestApp, id: &str) -> entity::appointments::Model {
    entity::appointments::Entity::find_by_id(Uuid::parse_str(id).unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn payment_row(app: &TestApp, id: PaymentId) -> entity::payments::Model {
    entity::payments::Entity::find_by_id(id.0)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// Texts sent on WhatsApp containing `needle`.
async fn sent_with(app: &TestApp, needle: &str) -> Vec<String> {
    meta::sent(&app.meta)
        .await
        .iter()
        .filter_map(|body| body["text"]["body"].as_str().map(str::to_owned))
        .filter(|text| text.contains(needle))
        .collect()
}

const RECEIPT: &str = "✅ *Pagamento confirmado!*";

#[tokio::test]
async fn payment_reconciliation_pix_pending_then_approved_confirms_once() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;

    shop.payments
        .set(SELLER_TOKEN, mp_payment(1001, payment, "pending", 50.0, 1));
    notify(&app, 1001, 1).await;
    let row = payment_row(&app, payment).await;
    assert_eq!(
        (row.status.as_str(), row.external_id.as_deref()),
        ("PENDING", Some("1001"))
    );
    assert_eq!(appointment_row(&app, &appointment).await.status, "PENDING");

    shop.payments
        .set(SELLER_TOKEN, mp_payment(1001, payment, "approved", 50.0, 5));
    for n in [2, 3, 4] {
        notify(&app, 1001, n).await;
    }
    let row = payment_row(&app, payment).await;
    assert_eq!(row.status, "APPROVED");
    assert_eq!(row.method.as_deref(), Some("PIX"));
    // The collector's fee only; the buyer's financing fee is not the business's cost.
    assert_eq!(
        (row.fee_cents, row.net_cents, row.paid_amount_cents),
        (Some(50), Some(4950), Some(5000))
    );
    assert_eq!(row.reported_at, row.approved_at.unwrap());
    let booked = appointment_row(&app, &appointment).await;
    assert_eq!(booked.status, "CONFIRMED");
    assert!(booked.paid_at.is_some());
    let receipts = sent_with(&app, RECEIPT).await;
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert!(
        receipts[0].contains("Olá, Ana!")
            && receipts[0].contains("R$ 50,00")
            && receipts[0].contains("*Corte*")
            && receipts[0].contains("às 08:00")
            && receipts[0].contains("Status: *Confirmado*"),
        "{}",
        receipts[0]
    );
    let rows = notifications(&app).await;
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|row| row.processed_at.is_some() && row.tenant_id == Some(shop.tenant.0))
    );
}

#[tokio::test]
async fn payment_reconciliation_maps_every_status() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    for (n, (status, expected)) in [
        ("pending", "PENDING"),
        ("authorized", "AUTHORIZED"),
        ("in_process", "IN_PROCESS"),
        ("rejected", "REJECTED"),
        ("cancelled", "CANCELED"),
        ("in_mediation", "IN_MEDIATION"),
        ("charged_back", "CHARGED_BACK"),
        ("refunded", "REFUNDED"),
        ("approved", "APPROVED"),
    ]
    .into_iter()
    .enumerate()
    {
        let (_, payment) = booked(&app, &shop, n as i64).await;
        let id = 2000 + n as u64;
        let mut read = mp_payment(id, payment, status, 50.0, 1);
        if status == "refunded" {
            read["transaction_amount_refunded"] = json!(50.0);
        }
        shop.payments.set(SELLER_TOKEN, read);
        notify(&app, id, id).await;
        assert_eq!(
            payment_row(&app, payment).await.status,
            expected,
            "{status}"
        );
    }
    // A partial refund keeps Mercado Pago's `approved`.
    let (_, payment) = booked(&app, &shop, 20).await;
    let mut read = mp_payment(2100, payment, "approved", 50.0, 1);
    read["transaction_amount_refunded"] = json!(10.0);
    shop.payments.set(SELLER_TOKEN, read);
    notify(&app, 2100, 2100).await;
    let row = payment_row(&app, payment).await;
    assert_eq!(
        (row.status.as_str(), row.refunded_cents),
        ("PARTIALLY_REFUNDED", 1000)
    );

    // A card check moves no money and is not a payment of ours.
    let (_, payment) = booked(&app, &shop, 21).await;
    let mut read = mp_payment(2101, payment, "approved", 50.0, 1);
    read["operation_type"] = json!("card_validation");
    shop.payments.set(SELLER_TOKEN, read);
    notify(&app, 2101, 2101).await;
    assert_eq!(payment_row(&app, payment).await.status, "PENDING");
}

#[tokio::test]
async fn payment_reconciliation_ignores_an_older_read_after_the_approval() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;
    // `payment.updated` (approved) arrives before `payment.created`.
    shop.payments
        .set(SELLER_TOKEN, mp_payment(3001, payment, "approved", 50.0, 5));
    notify(&app, 3001, 2).await;
    // What a delayed read answers: the payment as it was, pending.
    shop.payments
        .set(SELLER_TOKEN, mp_payment(3001, payment, "pending", 50.0, 1));
    let body = mp_notification("3001", SELLER, "payment.created", 1);
    assert_eq!(notify_mp(&app, "3001", &body).await, 200);
    app.drain_jobs().await;

    assert_eq!(payment_row(&app, payment).await.status, "APPROVED");
    assert_eq!(
        appointment_row(&app, &appointment).await.status,
        "CONFIRMED"
    );
    assert_eq!(sent_with(&app, RECEIPT).await.len(), 1);
    let outcomes: Vec<_> = notifications(&app)
        .await
        .into_iter()
        .filter_map(|row| row.outcome)
        .collect();
    assert!(
        outcomes.iter().any(|outcome| outcome.contains("older")),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn payment_reconciliation_flags_an_amount_mismatch_without_confirming() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;
    shop.payments
        .set(SELLER_TOKEN, mp_payment(4001, payment, "approved", 40.0, 1));
    notify(&app, 4001, 1).await;

    let row = payment_row(&app, payment).await;
    assert_eq!(row.status, "APPROVED");
    assert!(row.review_reason.unwrap().contains("R$ 40,00"));
    let booked = appointment_row(&app, &appointment).await;
    assert_eq!(booked.status, "PENDING");
    // The hold no longer expires it: the tenant decides.
    assert!(booked.paid_at.is_some());
    assert!(sent_with(&app, RECEIPT).await.is_empty());
}

#[tokio::test]
async fn payment_reconciliation_flags_an_approval_after_the_cancel_for_refund() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;
    app.gql(
        Some(&shop.shop.token),
        "mutation($id: ID!) { cancelAppointment(id: $id, reason: \"Desistiu\") { id } }",
        json!({"id": appointment}),
    )
    .await
    .data();
    app.drain_jobs().await;
    shop.payments
        .set(SELLER_TOKEN, mp_payment(5001, payment, "approved", 50.0, 1));
    notify(&app, 5001, 1).await;

    let row = payment_row(&app, payment).await;
    assert!(row.needs_refund);
    assert!(row.review_reason.is_some());
    assert_eq!(appointment_row(&app, &appointment).await.status, "CANCELED");
    assert!(sent_with(&app, RECEIPT).await.is_empty());
    let listed = app
        .gql(
            Some(&shop.shop.token),
            "query($id: ID!) { payment(id: $id) { status needsRefund reviewReason } }",
            json!({"id": payment.0.to_string()}),
        )
        .await;
    assert_eq!(listed.data()["payment"]["needsRefund"], true);
}

#[tokio::test]
async fn payment_reconciliation_tells_a_rejection_with_a_new_link() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;
    shop.payments
        .set(SELLER_TOKEN, mp_payment(6001, payment, "rejected", 50.0, 1));
    notify(&app, 6001, 1).await;
    notify(&app, 6001, 2).await;

    assert_eq!(payment_row(&app, payment).await.status, "REJECTED");
    let told = sent_with(&app, "❌ *Pagamento não aprovado*").await;
    assert_eq!(told.len(), 1, "{told:?}");
    let newer = entity::payments::Entity::find()
        .filter(entity::payments::Column::AppointmentId.eq(Uuid::parse_str(&appointment).unwrap()))
        .filter(entity::payments::Column::Id.ne(payment.0))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0].status, "PENDING");
    assert!(
        told[0].contains(&format!("https://mp.test/checkout/{}", newer[0].id))
            && told[0].contains("R$ 50,00"),
        "{}",
        told[0]
    );
}

#[tokio::test]
async fn payment_reconciliation_a_second_attempt_on_one_checkout_is_its_own_payment() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;
    shop.payments
        .set(SELLER_TOKEN, mp_payment(6101, payment, "rejected", 50.0, 1));
    notify(&app, 6101, 1).await;
    // The customer tried again on the same checkout page.
    shop.payments
        .set(SELLER_TOKEN, mp_payment(6102, payment, "approved", 50.0, 2));
    notify(&app, 6102, 2).await;

    let rows = entity::payments::Entity::find()
        .filter(entity::payments::Column::AppointmentId.eq(Uuid::parse_str(&appointment).unwrap()))
        .filter(entity::payments::Column::ExternalId.is_not_null())
        .all(&app.state.db)
        .await
        .unwrap();
    let mut statuses: Vec<_> = rows
        .iter()
        .map(|row| (row.external_id.clone().unwrap(), row.status.clone()))
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("6101".to_owned(), "REJECTED".to_owned()),
            ("6102".to_owned(), "APPROVED".to_owned())
        ]
    );
    assert_eq!(
        appointment_row(&app, &appointment).await.status,
        "CONFIRMED"
    );
}

#[tokio::test]
async fn payment_reconciliation_refunded_cancels_the_future_booking() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;
    shop.payments
        .set(SELLER_TOKEN, mp_payment(7001, payment, "approved", 50.0, 1));
    notify(&app, 7001, 1).await;
    assert_eq!(
        appointment_row(&app, &appointment).await.status,
        "CONFIRMED"
    );
    let mut refunded = mp_payment(7001, payment, "refunded", 50.0, 9);
    refunded["transaction_amount_refunded"] = json!(50.0);
    shop.payments.set(SELLER_TOKEN, refunded);
    notify(&app, 7001, 2).await;

    let row = payment_row(&app, payment).await;
    assert_eq!(
        (row.status.as_str(), row.refunded_cents),
        ("REFUNDED", 5000)
    );
    let canceled = appointment_row(&app, &appointment).await;
    assert_eq!(canceled.status, "CANCELED");
    assert_eq!(
        canceled.cancellation_reason.as_deref(),
        Some("Pagamento estornado")
    );
}

#[tokio::test]
async fn payment_reconciliation_routes_by_account_with_its_token() {
    let app =
        spawn_app_with_settings(&[("MP_PLATFORM_ACCESS_TOKEN", "APP_USR-platform-routing")]).await;
    let shop = mp_shop(&app).await;
    let (appointment, payment) = booked(&app, &shop, 0).await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .and(header("authorization", "Bearer APP_USR-platform-routing"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 90001})))
        .expect(1)
        .mount(&app.mercado_pago)
        .await;
    // The platform's account read with the platform's token: it names a tenant's payment as its
    // reference, which the platform's payments cannot change.
    Mock::given(method("GET"))
        .and(path("/v1/payments/8001"))
        .and(header("authorization", "Bearer APP_USR-platform-routing"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(mp_payment(8001, payment, "approved", 50.0, 1)),
        )
        .with_priority(1)
        .expect(2)
        .mount(&app.mercado_pago)
        .await;
    for n in [1, 2] {
        let body = mp_notification("8001", "90001", "payment.updated", n);
        assert_eq!(notify_mp(&app, "8001", &body).await, 200);
        app.drain_jobs().await;
    }
    assert_eq!(payment_row(&app, payment).await.status, "PENDING");
    assert_eq!(appointment_row(&app, &appointment).await.status, "PENDING");

    // The tenant's account read with the tenant's token.
    shop.payments
        .set(SELLER_TOKEN, mp_payment(8002, payment, "approved", 50.0, 1));
    notify(&app, 8002, 3).await;
    assert_eq!(payment_row(&app, payment).await.status, "APPROVED");
    app.mercado_pago.verify().await;
    let tenant_reads: Vec<_> = app
        .mercado_pago
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == "/v1/payments/8002")
        .map(|request| {
            request
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tenant_reads, [format!("Bearer {SELLER_TOKEN}")]);
}

#[tokio::test]
async fn payment_reconciliation_refunds_reuse_the_refund_row_as_idempotency_key() {
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let (_, payment) = booked(&app, &shop, 0).await;
    shop.payments
        .set(SELLER_TOKEN, mp_payment(9001, payment, "approved", 50.0, 1));
    notify(&app, 9001, 1).await;
    let refund = |amount: Value| {
        let token = shop.shop.token.clone();
        let app = &app;
        async move {
            app.gql(
                Some(&token),
                "mutation($id: ID!, $a: Decimal) { refundPayment(id: $id, amount: $a) { status refunded { amount } } }",
                json!({"id": payment.0.to_string(), "a": amount}),
            )
            .await
        }
    };
    assert_eq!(refund(json!("60.00")).await.code(), "BAD_USER_INPUT");

    // Mercado Pago is down: the refund stays REQUESTED and the error says nothing more.
    let down = Mock::given(method("POST"))
        .and(path("/v1/payments/9001/refunds"))
        .respond_with(ResponseTemplate::new(503))
        .mount_as_scoped(&app.mercado_pago)
        .await;
    assert_eq!(refund(json!("20.00")).await.code(), "INTERNAL");
    drop(down);
    let rows = entity::refunds::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "REQUESTED");
    let key = rows[0].id.to_string();

    Mock::given(method("POST"))
        .and(path("/v1/payments/9001/refunds"))
        .and(header("x-idempotency-key", key.as_str()))
        .and(body_partial_json(json!({"amount": 20.0})))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 555, "amount": 20.0, "status": "approved"})),
        )
        .expect(1)
        .mount(&app.mercado_pago)
        .await;
    let mut after = mp_payment(9001, payment, "approved", 50.0, 9);
    after["transaction_amount_refunded"] = json!(20.0);
    shop.payments.set(SELLER_TOKEN, after);
    let answer = refund(json!("20.00")).await;
    assert_eq!(
        answer.data()["refundPayment"]["status"],
        "PARTIALLY_REFUNDED"
    );
    assert_eq!(
        answer.data()["refundPayment"]["refunded"]["amount"],
        "20.00"
    );
    let keys: Vec<_> = app
        .mercado_pago
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path().ends_with("/refunds"))
        .map(|request| {
            request
                .headers
                .get("x-idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        !keys.is_empty() && keys.iter().all(|sent| *sent == key),
        "{keys:?} vs {key}"
    );
    let rows = entity::refunds::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        (
            rows.len(),
            rows[0].status.as_str(),
            rows[0].external_id.as_deref()
        ),
        (1, "DONE", Some("555"))
    );

    // The notification that follows changes nothing more.
    notify(&app, 9001, 2).await;
    let row = payment_row(&app, payment).await;
    assert_eq!(
        (row.status.as_str(), row.refunded_cents),
        ("PARTIALLY_REFUNDED", 2000)
    );
    // 30.00 is left.
    assert_eq!(refund(json!("30.01")).await.code(), "BAD_USER_INPUT");
}

/// `notifications::shop` taking payments with InfinitePay; its tenant id.
async fn infinite_pay_shop(app: &TestApp) -> (Shop, TenantId) {
    let shop = shop(app).await;
    let me = app
        .gql(Some(&shop.token), "{ me { tenant { id } } }", json!({}))
        .await;
    let tenant = Uuid::parse_str(me.data()["me"]["tenant"]["id"].as_str().unwrap()).unwrap();
    entity::tenants::Entity::update_many()
        .col_expr(
            entity::tenants::Column::InfinitePayTag,
            Expr::value("barbeariaze"),
        )
        .filter(entity::tenants::Column::Id.eq(tenant))
        .exec(&app.state.db)
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"checkout_url": "https://checkout.infinitepay.io/barbeariaze/abc", "slug": "abc"}),
        ))
        .mount(&app.infinite_pay)
        .await;
    (shop, TenantId(tenant))
}

#[tokio::test]
async fn payment_reconciliation_believes_infinitepay_only_when_payment_check_says_paid() {
    let app = spawn_app().await;
    let (shop, tenant) = infinite_pay_shop(&app).await;
    let at = next_local(&Sao_Paulo, chrono::Weekday::Wed, 9, 0);
    let appointment = book(&app, &shop, at).await;
    let link = link_for_appointment(
        &app.state,
        tenant,
        AppointmentId(Uuid::parse_str(&appointment).unwrap()),
    )
    .await
    .unwrap();
    let order = link.payment.id.0.to_string();
    let check = |transaction: &str, answer: ResponseTemplate| {
        Mock::given(method("POST"))
            .and(path("/payment_check"))
            .and(body_partial_json(json!({"handle": "barbeariaze", "order_nsu": order, "transaction_nsu": transaction, "slug": "abc"})))
            .respond_with(answer)
    };
    check(
        "forged-1",
        ResponseTemplate::new(404).set_body_json(json!({"success": false, "message": "Not found"})),
    )
    .mount(&app.infinite_pay)
    .await;
    check(
        "unpaid-1",
        ResponseTemplate::new(200)
            .set_body_json(json!({"success": true, "paid": false, "amount": 5000})),
    )
    .mount(&app.infinite_pay)
    .await;
    check("real-1", ResponseTemplate::new(200).set_body_json(json!({"success": true, "paid": true, "amount": 5000, "paid_amount": 5000, "installments": 1, "capture_method": "pix"})))
        .mount(&app.infinite_pay)
        .await;
    let post = |transaction: &'static str, tenant_path: String| {
        let app = &app;
        let order = order.clone();
        async move {
            let body = json!({"invoice_slug": "abc", "amount": 5000, "paid_amount": 5000, "installments": 1,
                              "capture_method": "pix", "transaction_nsu": transaction, "order_nsu": order});
            let response = app
                .http
                .post(format!(
                    "{}/webhooks/infinitepay/{tenant_path}",
                    app.address
                ))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            app.drain_jobs().await;
        }
    };
    // A forged webhook with the real order and a made-up transaction, one that is not paid, and
    // one sent to another tenant's URL: nothing changes.
    post("forged-1", tenant.0.to_string()).await;
    post("unpaid-1", tenant.0.to_string()).await;
    post("real-1", Uuid::now_v7().to_string()).await;
    let row = payment_row(&app, link.payment.id).await;
    assert_eq!(
        (row.status.as_str(), row.external_id.as_deref()),
        ("PENDING", None)
    );
    assert_eq!(appointment_row(&app, &appointment).await.status, "PENDING");

    // The real one still works.
    post("real-1", tenant.0.to_string()).await;
    let row = payment_row(&app, link.payment.id).await;
    assert_eq!(row.status, "APPROVED");
    assert_eq!(row.external_id.as_deref(), Some("real-1"));
    assert_eq!(row.method.as_deref(), Some("PIX"));
    assert_eq!((row.fee_cents, row.net_cents), (None, None));
    assert_eq!(
        appointment_row(&app, &appointment).await.status,
        "CONFIRMED"
    );
    assert_eq!(sent_with(&app, RECEIPT).await.len(), 1);

    // No refund API.
    let answer = app
        .gql(
            Some(&shop.token),
            "mutation($id: ID!) { refundPayment(id: $id) { id } }",
            json!({"id": order}),
        )
        .await;
    assert_eq!(answer.code(), "BAD_USER_INPUT");
    assert!(answer.message().contains("InfinitePay"));
}

#[tokio::test]
async fn payment_reconciliation_survives_the_duplicate_storm() {
    const BOOKINGS: u64 = 100;
    let app = spawn_app().await;
    let shop = mp_shop(&app).await;
    let mut booked_ids = Vec::new();
    for n in 0..BOOKINGS {
        let (appointment, payment) = booked(&app, &shop, n as i64).await;
        shop.payments.set(
            SELLER_TOKEN,
            mp_payment(10_000 + n, payment, "approved", 50.0, 1),
        );
        booked_ids.push(appointment);
    }
    let posts = (0..BOOKINGS).flat_map(|n| {
        let id = (10_000 + n).to_string();
        let app = &app;
        (0..3).map(move |_| {
            let id = id.clone();
            async move {
                let body = mp_notification(&id, SELLER, "payment.updated", 77_000 + n);
                notify_mp(app, &id, &body).await
            }
        })
    });
    let statuses = join_all(posts).await;
    assert!(statuses.iter().all(|status| *status == 200));
    app.drain_jobs().await;

    assert_eq!(notifications(&app).await.len() as u64, BOOKINGS);
    let confirmed = entity::appointments::Entity::find()
        .filter(entity::appointments::Column::Status.eq("CONFIRMED"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(confirmed.len() as u64, BOOKINGS);
    assert_eq!(sent_with(&app, RECEIPT).await.len() as u64, BOOKINGS);
    let approved = entity::payments::Entity::find()
        .filter(entity::payments::Column::Status.eq("APPROVED"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(approved.len() as u64, BOOKINGS);
    assert_rollup_exact(&app, shop.tenant).await;
    assert_summary_matches_payments(&app, &shop.shop.token, shop.tenant, AUTUMN).await;

    // Two notifications of each payment, now partly refunded, reconciled side by side: the
    // rollup still adds up.
    for (n, appointment) in booked_ids.iter().enumerate() {
        let row = entity::payments::Entity::find()
            .filter(
                entity::payments::Column::AppointmentId.eq(Uuid::parse_str(appointment).unwrap()),
            )
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut partly = mp_payment(10_000 + n as u64, PaymentId(row.id), "approved", 50.0, 3);
        partly["transaction_amount_refunded"] = json!(10.0);
        shop.payments.set(SELLER_TOKEN, partly);
    }
    let posts = (0..BOOKINGS).flat_map(|n| {
        let id = (10_000 + n).to_string();
        let app = &app;
        (0..2).map(move |copy| {
            let id = id.clone();
            async move {
                let body = mp_notification(&id, SELLER, "payment.updated", 88_000 + 2 * n + copy);
                notify_mp(app, &id, &body).await
            }
        })
    });
    assert!(join_all(posts).await.iter().all(|status| *status == 200));
    app.drain_jobs().await;
    assert_rollup_exact(&app, shop.tenant).await;
    assert_summary_matches_payments(&app, &shop.shop.token, shop.tenant, AUTUMN).await;
    let s = app
        .gql(
            Some(&shop.shop.token),
            "query($from: Date!, $to: Date!) { financeSummary(from: $from, to: $to) { count refunded { amount } } }",
            json!({"from": AUTUMN.0, "to": AUTUMN.1}),
        )
        .await;
    assert_eq!(s.data()["financeSummary"]["count"], BOOKINGS);
    assert_eq!(s.data()["financeSummary"]["refunded"]["amount"], "1000.00");
}
