//! The Mercado Pago and InfinitePay clients against mocks of their APIs: what they send, how they
//! read answers, which failures they retry, the webhook signature of protocols.md §2.4, and the
//! payment settings.

use std::{collections::HashMap, time::Duration};

use chrono::{TimeZone, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use waba_bot::{
    clients::{
        http,
        infinite_pay::{
            self, CheckedPayment, CreatedLink, InfinitePay, InfinitePayClient, InfinitePayError,
            NewLink, PaymentCheck,
        },
        mercado_pago::{
            self, BackUrls, CreatedPreference, MercadoPago, MercadoPagoClient, MpError, MpPayment,
            MpRefund, Payer, Preference, PreferenceItem, pkce_pair, verify_webhook_signature,
        },
    },
    config::Settings,
    kernel::values::MoneyCents,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_json, header, method, path},
};

const SELLER_TOKEN: &str = "APP_USR-seller-token";
const CLIENT_ID: &str = "8102341234567890";
const CLIENT_SECRET: &str = "mp-client-secret";
const MAX_RETRIES: u32 = 2;

fn settings_with(overrides: &[(&str, String)]) -> anyhow::Result<Settings> {
    let mut vars: HashMap<&str, String> = HashMap::from([
        // Given secrets: nothing is generated into a data directory.
        ("JWT_SECRET", "j".repeat(40)),
        ("ENCRYPTION_KEY", "00".repeat(32)),
        ("API_URL", "https://api.waba.test".to_owned()),
        ("FRONTEND_URL", "https://app.waba.test/".to_owned()),
        ("MP_CLIENT_ID", CLIENT_ID.to_owned()),
        ("MP_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("PAYMENTS_MAX_RETRIES", MAX_RETRIES.to_string()),
        ("PAYMENTS_RETRY_BASE_MS", "1".to_owned()),
    ]);
    for (key, value) in overrides {
        vars.insert(key, value.clone());
    }
    Settings::from_lookup(|key| vars.get(key).cloned())
}

/// A Mercado Pago client of `server` (API and authorization page), retrying `MAX_RETRIES` times
/// within milliseconds.
fn mp_with(server: &MockServer, overrides: &[(&str, &str)]) -> MercadoPagoClient {
    let mut vars = vec![
        // A trailing slash, as an origin is often written.
        ("MP_API_URL", format!("{}/", server.uri())),
        ("MP_AUTH_URL", server.uri()),
    ];
    vars.extend(overrides.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let settings = settings_with(&vars).unwrap();
    mercado_pago::from_settings(&settings.payments, http::client().unwrap())
}

fn mp(server: &MockServer) -> MercadoPagoClient {
    mp_with(server, &[])
}

fn infinite_pay_with(server: &MockServer, overrides: &[(&str, &str)]) -> InfinitePayClient {
    let mut vars = vec![("INFINITE_PAY_API_URL", format!("{}/", server.uri()))];
    vars.extend(overrides.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let settings = settings_with(&vars).unwrap();
    infinite_pay::from_settings(&settings.payments, http::client().unwrap())
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| request.body_json::<Value>().unwrap())
        .collect()
}

/// The values of header `name` in every request `server` received.
async fn header_values(server: &MockServer, name: &str) -> Vec<Option<String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| {
            request
                .headers
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        })
        .collect()
}

fn mp_error(status: u16, error: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"message": message, "error": error, "status": status, "cause": []}))
}

fn token_answer() -> Value {
    json!({
        "access_token": "APP_USR-new-access", "token_type": "bearer", "expires_in": 15552000,
        "scope": "offline_access read write", "user_id": 241983636,
        "refresh_token": "TG-new-refresh", "public_key": "APP_USR-public", "live_mode": true,
    })
}

fn haircut(success_url: &str) -> Preference {
    Preference {
        external_reference: "0199f0a2-7d4e-7c3b-9a1e-3f5d2c1b0a99".to_owned(),
        item: PreferenceItem {
            id: "svc-1".to_owned(),
            title: "Corte masculino".to_owned(),
            description: Some("Terça 21/10 10:00".to_owned()),
            unit_price: MoneyCents(8050),
        },
        payer: Payer {
            name: Some("Maria Souza".to_owned()),
            email: Some("maria@example.com".to_owned()),
            phone: Some("+5511987654321".to_owned()),
        },
        back_urls: BackUrls {
            success: success_url.to_owned(),
            failure: "https://app.waba.test/pagamento/falha".to_owned(),
            pending: "https://app.waba.test/pagamento/pendente".to_owned(),
        },
        notification_url: "https://api.waba.test/webhooks/mercadopago".to_owned(),
        expires_at: Some(Utc.with_ymd_and_hms(2026, 10, 21, 13, 0, 0).unwrap()),
        statement_descriptor: Some("BARBEARIAZE".to_owned()),
    }
}

fn created_preference() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "id": "1234567890-6a4e2f1c-6c55-4f66-9cb3-2b0e4b6ad7f0",
        "init_point": "https://www.mercadopago.com.br/checkout/v1/redirect?pref_id=123",
        "sandbox_init_point": "https://sandbox.mercadopago.com.br/checkout/v1/redirect?pref_id=123",
        "collector_id": 1234567890, "date_created": "2026-10-20T14:03:11.000-03:00",
    }))
}

// --- Mercado Pago: OAuth ----------------------------------------------------------------------

#[tokio::test]
async fn mercado_pago_authorization_url_carries_the_pkce_challenge_url_encoded() {
    let server = MockServer::start().await;
    let client = mp_with(
        &server,
        &[(
            "MP_REDIRECT_URI",
            "https://api.waba.test/auth/mp/callback?x=1",
        )],
    );
    let (_, challenge) = pkce_pair();
    let state = "st&te=1 +/";

    let url = client.authorization_url(state, &challenge).unwrap();

    let url = url::Url::parse(&url).unwrap();
    assert_eq!(
        format!("{}{}", url.origin().ascii_serialization(), url.path()),
        format!("{}/authorization", server.uri())
    );
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        [
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("platform_id", "mp"),
            ("state", state),
            ("redirect_uri", "https://api.waba.test/auth/mp/callback?x=1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
    );
    // Nothing that names a parameter or ends one is left unescaped.
    let raw = url.query().unwrap();
    assert!(!raw.contains("st&te"), "{raw}");
    assert!(!raw.contains("callback?x"), "{raw}");
}

#[tokio::test]
async fn mercado_pago_has_no_authorization_url_without_a_client_id_or_secret() {
    let server = MockServer::start().await;
    let settings = |vars: &[(&str, String)]| settings_with(vars).unwrap().payments;
    for removed in ["MP_CLIENT_ID", "MP_CLIENT_SECRET"] {
        let mut payments = settings(&[("MP_AUTH_URL", server.uri())]);
        match removed {
            "MP_CLIENT_ID" => payments.mp_client_id = None,
            _ => payments.mp_client_secret = None,
        }
        let client = mercado_pago::from_settings(&payments, http::client().unwrap());
        assert_eq!(client.authorization_url("state", "challenge"), None);
        assert!(matches!(
            client.exchange_code("code", "verifier").await,
            Err(MpError::Refused { status: 0, .. })
        ));
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn mercado_pago_exchanges_a_code_with_its_verifier_and_reads_the_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer()))
        .expect(2)
        .mount(&server)
        .await;

    let tokens = mp(&server)
        .exchange_code("TG-code-123", "the-verifier")
        .await
        .unwrap();
    mp_with(&server, &[("MP_TEST_TOKEN", "true")])
        .exchange_code("TG-code-456", "other-verifier")
        .await
        .unwrap();

    assert_eq!(tokens.access_token.expose_secret(), "APP_USR-new-access");
    assert_eq!(
        tokens
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        Some("TG-new-refresh".to_owned())
    );
    assert_eq!(tokens.user_id, "241983636");
    assert_eq!(tokens.public_key.as_deref(), Some("APP_USR-public"));
    assert_eq!(tokens.expires_in, Some(15_552_000));
    assert_eq!(tokens.scope.as_deref(), Some("offline_access read write"));
    assert_eq!(tokens.live_mode, Some(true));
    let redirect_uri = "https://api.waba.test/auth/mercadopago/callback";
    assert_eq!(
        bodies(&server).await,
        [
            json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "grant_type": "authorization_code", "code": "TG-code-123",
                   "redirect_uri": redirect_uri, "code_verifier": "the-verifier"}),
            json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "grant_type": "authorization_code", "code": "TG-code-456",
                   "redirect_uri": redirect_uri, "code_verifier": "other-verifier",
                   "test_token": true}),
        ]
    );
}

#[tokio::test]
async fn mercado_pago_refreshes_a_token_and_reads_minimal_answers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_json(json!({
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "grant_type": "refresh_token", "refresh_token": "TG-old-refresh",
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "APP_USR-2", "user_id": "241983636"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let tokens = mp(&server).refresh_token("TG-old-refresh").await.unwrap();

    assert_eq!(tokens.access_token.expose_secret(), "APP_USR-2");
    assert_eq!(tokens.user_id, "241983636");
    assert!(tokens.refresh_token.is_none());
    assert_eq!(
        (
            tokens.public_key,
            tokens.expires_in,
            tokens.scope,
            tokens.live_mode
        ),
        (None, None, None, None)
    );
}

#[tokio::test]
async fn mercado_pago_invalid_grant_on_the_token_endpoint_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(mp_error(400, "invalid_grant", "invalid_grant"))
        .expect(2)
        .mount(&server)
        .await;
    let client = mp(&server);

    assert_eq!(
        client
            .exchange_code("used-code", "verifier")
            .await
            .unwrap_err(),
        MpError::InvalidGrant("invalid_grant".to_owned())
    );
    assert!(matches!(
        client.refresh_token("revoked").await,
        Err(MpError::InvalidGrant(_))
    ));
}

// --- Mercado Pago: preferences, payments, refunds ---------------------------------------------

#[tokio::test]
async fn mercado_pago_creates_a_preference_with_a_decimal_price_and_auto_return_for_https() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .and(header(
            "authorization",
            format!("Bearer {SELLER_TOKEN}").as_str(),
        ))
        .and(header("x-idempotency-key", "pref-key-1"))
        .respond_with(created_preference())
        .expect(1)
        .mount(&server)
        .await;

    let created = mp(&server)
        .create_preference(
            SELLER_TOKEN,
            "pref-key-1",
            &haircut("https://app.waba.test/pagamento/sucesso"),
        )
        .await
        .unwrap();

    assert_eq!(
        created,
        CreatedPreference {
            id: "1234567890-6a4e2f1c-6c55-4f66-9cb3-2b0e4b6ad7f0".to_owned(),
            init_point: "https://www.mercadopago.com.br/checkout/v1/redirect?pref_id=123"
                .to_owned(),
            sandbox_init_point: Some(
                "https://sandbox.mercadopago.com.br/checkout/v1/redirect?pref_id=123".to_owned()
            ),
        }
    );
    assert_eq!(
        bodies(&server).await,
        [json!({
            "items": [{"id": "svc-1", "title": "Corte masculino",
                       "description": "Terça 21/10 10:00", "quantity": 1,
                       "currency_id": "BRL", "unit_price": 80.5}],
            "payer": {"name": "Maria Souza", "email": "maria@example.com",
                      "phone": {"area_code": "11", "number": "987654321"}},
            "external_reference": "0199f0a2-7d4e-7c3b-9a1e-3f5d2c1b0a99",
            "notification_url": "https://api.waba.test/webhooks/mercadopago",
            "back_urls": {"success": "https://app.waba.test/pagamento/sucesso",
                          "failure": "https://app.waba.test/pagamento/falha",
                          "pending": "https://app.waba.test/pagamento/pendente"},
            "auto_return": "approved",
            "expires": true,
            "expiration_date_to": "2026-10-21T13:00:00.000+00:00",
            "statement_descriptor": "BARBEARIAZE",
        })]
    );
    // The price is written as the decimal it is, not as a float's expansion.
    let raw = &server.received_requests().await.unwrap()[0].body;
    assert!(
        String::from_utf8_lossy(raw).contains(r#""unit_price":80.5"#),
        "{}",
        String::from_utf8_lossy(raw)
    );
}

#[tokio::test]
async fn mercado_pago_preference_with_http_back_urls_asks_no_auto_return() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(created_preference())
        .expect(1)
        .mount(&server)
        .await;
    let mut preference = haircut("http://localhost:3000/pagamento/sucesso");
    preference.item.description = None;
    preference.item.unit_price = MoneyCents(8010);
    preference.payer = Payer {
        name: None,
        email: None,
        phone: Some("+14155550100".to_owned()),
    };
    preference.expires_at = None;
    preference.statement_descriptor = None;

    mp(&server)
        .create_preference(SELLER_TOKEN, "pref-key-2", &preference)
        .await
        .unwrap();

    let body = &bodies(&server).await[0];
    assert!(body.get("auto_return").is_none(), "{body}");
    assert!(body.get("payer").is_none(), "{body}");
    assert!(body.get("expires").is_none() && body.get("expiration_date_to").is_none());
    assert!(body.get("statement_descriptor").is_none());
    assert_eq!(
        body["items"],
        json!([{"id": "svc-1", "title": "Corte masculino", "quantity": 1,
                "currency_id": "BRL", "unit_price": 80.1}])
    );
}

#[tokio::test]
async fn mercado_pago_retries_a_503_with_the_same_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(mp_error(503, "service_unavailable", "try again"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(created_preference())
        .expect(1)
        .mount(&server)
        .await;

    let created = mp(&server)
        .create_preference(SELLER_TOKEN, "pref-key-3", &haircut("https://x.test/ok"))
        .await
        .unwrap();

    assert_eq!(
        created.init_point,
        "https://www.mercadopago.com.br/checkout/v1/redirect?pref_id=123"
    );
    assert_eq!(
        header_values(&server, "x-idempotency-key").await,
        [Some("pref-key-3".to_owned()), Some("pref-key-3".to_owned())]
    );
    let sent = bodies(&server).await;
    assert_eq!(sent[0], sent[1]);
}

#[tokio::test]
async fn mercado_pago_honours_retry_after_on_429_for_a_refund() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/1325643987/refunds"))
        .respond_with(
            mp_error(429, "too_many_requests", "slow down").insert_header("Retry-After", "0"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/1325643987/refunds"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 1009042015, "payment_id": 1325643987, "amount": 80.5, "status": "approved",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let refund = mp(&server)
        .refund(SELLER_TOKEN, "1325643987", "refund-key-1", None)
        .await
        .unwrap();

    assert_eq!(
        refund,
        MpRefund {
            id: "1009042015".to_owned(),
            amount: MoneyCents(8050),
            status: Some("approved".to_owned()),
        }
    );
    assert_eq!(
        header_values(&server, "x-idempotency-key").await,
        [
            Some("refund-key-1".to_owned()),
            Some("refund-key-1".to_owned())
        ]
    );
    assert_eq!(bodies(&server).await, [json!({}), json!({})]);
}

#[tokio::test]
async fn mercado_pago_partial_refund_sends_the_exact_decimal() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/1325643987/refunds"))
        .and(header(
            "authorization",
            format!("Bearer {SELLER_TOKEN}").as_str(),
        ))
        .and(header("x-idempotency-key", "refund-key-2"))
        .and(body_json(json!({"amount": 12.34})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 1009042016, "amount": 12.34,
        })))
        .expect(1)
        .mount(&server)
        .await;

    let refund = mp(&server)
        .refund(
            SELLER_TOKEN,
            "1325643987",
            "refund-key-2",
            Some(MoneyCents(1234)),
        )
        .await
        .unwrap();

    assert_eq!(refund.amount, MoneyCents(1234));
    assert_eq!(refund.status, None);
    let raw = &server.received_requests().await.unwrap()[0].body;
    assert_eq!(String::from_utf8_lossy(raw), r#"{"amount":12.34}"#);
}

#[tokio::test]
async fn mercado_pago_does_not_retry_a_400_and_gives_up_on_5xx_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(mp_error(
            400,
            "bad_request",
            "items.unit_price must be a number",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/42"))
        .respond_with(ResponseTemplate::new(500))
        .expect(u64::from(MAX_RETRIES) + 1)
        .mount(&server)
        .await;
    let client = mp(&server);

    assert_eq!(
        client
            .create_preference(SELLER_TOKEN, "k", &haircut("https://x.test/ok"))
            .await
            .unwrap_err(),
        MpError::Refused {
            status: 400,
            message: "items.unit_price must be a number".to_owned()
        }
    );
    assert!(matches!(
        client.payment(SELLER_TOKEN, "42").await,
        Err(MpError::Unavailable(detail)) if detail.contains("500")
    ));
    // A request that cannot be built is not tried again (nor sent: the 400 mock expects one).
    assert!(matches!(
        client
            .create_preference(SELLER_TOKEN, "bad\nkey", &haircut("https://x.test/ok"))
            .await,
        Err(MpError::Unavailable(_))
    ));
}

#[tokio::test]
async fn mercado_pago_reads_a_payment_fees_net_and_refunds_exactly() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/1325643987"))
        .and(header(
            "authorization",
            format!("Bearer {SELLER_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 1325643987_u64,
            "status": "approved",
            "status_detail": "partially_refunded",
            "transaction_amount": 80.1,
            "transaction_amount_refunded": 10.005,
            "currency_id": "BRL",
            "date_created": "2026-10-20T14:03:11.000-04:00",
            "date_approved": "2026-10-20T14:03:15.123-04:00",
            "date_last_updated": "2026-10-20T14:04:00.000-04:00",
            "external_reference": "0199f0a2-7d4e-7c3b-9a1e-3f5d2c1b0a99",
            "payment_method_id": "master",
            "payment_type_id": "credit_card",
            "operation_type": "regular_payment",
            "installments": 3,
            "collector_id": 1234567890,
            "fee_details": [
                {"type": "financing_fee", "amount": 7.2, "fee_payer": "payer"},
                {"type": "mercadopago_fee", "amount": 3.98, "fee_payer": "collector"},
                {"type": "application_fee", "amount": 0.8, "fee_payer": "collector"},
            ],
            "transaction_details": {"net_received_amount": 75.32, "total_paid_amount": 87.3,
                                    "installment_amount": 29.1, "overpaid_amount": 0},
            "refunds": [],
        })))
        .expect(1)
        .mount(&server)
        .await;

    let payment = mp(&server)
        .payment(SELLER_TOKEN, "1325643987")
        .await
        .unwrap();

    assert_eq!(
        payment,
        MpPayment {
            id: "1325643987".to_owned(),
            status: "approved".to_owned(),
            status_detail: Some("partially_refunded".to_owned()),
            amount: MoneyCents(8010),
            // 10.005 rounds half-up.
            refunded: MoneyCents(1001),
            currency: Some("BRL".to_owned()),
            date_created: Some(Utc.with_ymd_and_hms(2026, 10, 20, 18, 3, 11).unwrap()),
            date_approved: Some(
                Utc.with_ymd_and_hms(2026, 10, 20, 18, 3, 15).unwrap()
                    + chrono::Duration::milliseconds(123)
            ),
            date_last_updated: Some(Utc.with_ymd_and_hms(2026, 10, 20, 18, 4, 0).unwrap()),
            external_reference: Some("0199f0a2-7d4e-7c3b-9a1e-3f5d2c1b0a99".to_owned()),
            payment_method_id: Some("master".to_owned()),
            payment_type_id: Some("credit_card".to_owned()),
            operation_type: Some("regular_payment".to_owned()),
            collector_id: Some("1234567890".to_owned()),
            // The buyer's financing fee is not the seller's.
            seller_fee: MoneyCents(478),
            net_received: Some(MoneyCents(7532)),
        }
    );
}

#[tokio::test]
async fn mercado_pago_reads_a_payment_without_its_optional_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/77"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 77, "status": "pending", "transaction_amount": 50,
            "date_approved": null, "transaction_amount_refunded": null, "fee_details": [],
        })))
        .expect(1)
        .mount(&server)
        .await;

    let payment = mp(&server).payment(SELLER_TOKEN, "77").await.unwrap();

    assert_eq!(
        payment,
        MpPayment {
            id: "77".to_owned(),
            status: "pending".to_owned(),
            status_detail: None,
            amount: MoneyCents(5000),
            refunded: MoneyCents(0),
            currency: None,
            date_created: None,
            date_approved: None,
            date_last_updated: None,
            external_reference: None,
            payment_method_id: None,
            payment_type_id: None,
            operation_type: None,
            collector_id: None,
            seller_fee: MoneyCents(0),
            net_received: None,
        }
    );
}

#[tokio::test]
async fn mercado_pago_not_found_revoked_tokens_and_unsendable_ids() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/404404"))
        .respond_with(mp_error(404, "not_found", "Payment not found"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .respond_with(mp_error(401, "unauthorized", "invalid access token"))
        .expect(1)
        .mount(&server)
        .await;
    let client = mp(&server);

    assert_eq!(
        client.payment(SELLER_TOKEN, "404404").await.unwrap_err(),
        MpError::NotFound
    );
    assert_eq!(
        client.user_id("APP_USR-revoked").await.unwrap_err(),
        MpError::InvalidGrant("invalid access token".to_owned())
    );
    // An id from a webhook that cannot be Mercado Pago's is not sent anywhere.
    assert_eq!(
        client
            .payment(SELLER_TOKEN, "../users/me")
            .await
            .unwrap_err(),
        MpError::NotFound
    );
}

#[tokio::test]
async fn mercado_pago_reads_the_user_id_of_a_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .and(header("authorization", "Bearer APP_USR-platform"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 1234567890, "nickname": "BARBEARIAZE", "site_id": "MLB",
        })))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        mp(&server).user_id("APP_USR-platform").await.unwrap(),
        "1234567890"
    );
}

#[tokio::test]
async fn mercado_pago_slow_and_oversized_answers_are_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 1, "status": "approved", "transaction_amount": 1}))
                .set_delay(Duration::from_millis(1500)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(2 * 1024 * 1024)))
        .expect(1)
        .mount(&server)
        .await;
    let client = mp_with(
        &server,
        &[
            ("PAYMENTS_TIMEOUT_SECONDS", "1"),
            ("PAYMENTS_MAX_RETRIES", "0"),
        ],
    );

    assert!(matches!(
        client.payment(SELLER_TOKEN, "1").await,
        Err(MpError::Unavailable(_))
    ));
    assert!(matches!(
        mp(&server).payment(SELLER_TOKEN, "2").await,
        Err(MpError::Unavailable(detail)) if detail.contains("larger than")
    ));
}

// --- Mercado Pago: webhook signatures ---------------------------------------------------------

const WEBHOOK_SECRET: &[u8] = b"test_webhook_secret";
const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
const TS_MS: i64 = 1742505638683;
const V1_PAYMENT: &str = "8815a3e9002b2a60eeaa6490db511e8bb5366ca901be2133130ffee91fedf42a";
const V1_ORDER: &str = "bb01c10676e32a242eb2afca1911f90019e286234710129d2139df951ccf7e4e";
const V1_NO_REQUEST_ID: &str = "d649e755c1fdcac2d966379229ab7f5153eebdd713e1b13658fa600a9c06058d";

fn at_ms(millis: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(millis).unwrap()
}

fn signature(ts: &str, v1: &str) -> String {
    format!("ts={ts},v1={v1}")
}

#[test]
fn mercado_pago_signature_test_vectors_verify() {
    let now = at_ms(TS_MS);
    let header = signature(&TS_MS.to_string(), V1_PAYMENT);
    assert!(verify_webhook_signature(
        WEBHOOK_SECRET,
        Some(&header),
        Some(REQUEST_ID),
        Some("123456789"),
        None,
        now
    ));
    // Uppercase ids are signed lowercased.
    let header = signature(&TS_MS.to_string(), V1_ORDER);
    for id in [
        "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3",
        "ord01jq4s4ky8hwq6na5pxb65b3d3",
    ] {
        assert!(
            verify_webhook_signature(
                WEBHOOK_SECRET,
                Some(&header),
                Some(REQUEST_ID),
                Some(id),
                None,
                now
            ),
            "{id}"
        );
    }
    // An absent or empty x-request-id leaves its part out of the manifest; spaces around the
    // header's parts do not matter.
    let header = format!(" ts = {TS_MS} , v1 = {V1_NO_REQUEST_ID} ");
    for request_id in [None, Some("")] {
        assert!(verify_webhook_signature(
            WEBHOOK_SECRET,
            Some(&header),
            request_id,
            Some("123456789"),
            None,
            now
        ));
    }
}

#[test]
fn mercado_pago_signatures_that_do_not_match_are_refused() {
    let now = at_ms(TS_MS);
    let good = signature(&TS_MS.to_string(), V1_PAYMENT);
    let verify = |secret: &[u8], header: Option<&str>, request_id: Option<&str>, id: &str| {
        verify_webhook_signature(secret, header, request_id, Some(id), None, now)
    };
    assert!(verify(
        WEBHOOK_SECRET,
        Some(&good),
        Some(REQUEST_ID),
        "123456789"
    ));
    // Wrong secret, or none.
    assert!(!verify(
        b"another_secret",
        Some(&good),
        Some(REQUEST_ID),
        "123456789"
    ));
    assert!(!verify(b"", Some(&good), Some(REQUEST_ID), "123456789"));
    // No header, no v1, no ts, an empty or garbled one.
    assert!(!verify(WEBHOOK_SECRET, None, Some(REQUEST_ID), "123456789"));
    let ts_only = format!("ts={TS_MS}");
    assert!(!verify(
        WEBHOOK_SECRET,
        Some(&ts_only),
        Some(REQUEST_ID),
        "123456789"
    ));
    let v1_only = format!("v1={V1_PAYMENT}");
    assert!(!verify(
        WEBHOOK_SECRET,
        Some(&v1_only),
        Some(REQUEST_ID),
        "123456789"
    ));
    let garbled = [
        String::new(),
        "garbage".to_owned(),
        format!("ts={TS_MS},v1="),
        format!("ts=,v1={V1_PAYMENT}"),
        format!("ts={TS_MS};v1={V1_PAYMENT}"),
    ];
    for garbled in &garbled {
        assert!(
            !verify(WEBHOOK_SECRET, Some(garbled), Some(REQUEST_ID), "123456789"),
            "{garbled:?}"
        );
    }
    // Tampered data.id, request id, ts or signature.
    assert!(!verify(
        WEBHOOK_SECRET,
        Some(&good),
        Some(REQUEST_ID),
        "123456780"
    ));
    assert!(!verify(
        WEBHOOK_SECRET,
        Some(&good),
        Some("another-request"),
        "123456789"
    ));
    assert!(!verify(WEBHOOK_SECRET, Some(&good), None, "123456789"));
    let later = signature(&(TS_MS + 1).to_string(), V1_PAYMENT);
    assert!(!verify(
        WEBHOOK_SECRET,
        Some(&later),
        Some(REQUEST_ID),
        "123456789"
    ));
    let flipped = format!("ts={TS_MS},v1={}0", &V1_PAYMENT[..63]);
    assert!(!verify(
        WEBHOOK_SECRET,
        Some(&flipped),
        Some(REQUEST_ID),
        "123456789"
    ));
}

#[test]
fn mercado_pago_signature_ts_in_seconds_or_milliseconds_must_be_within_the_tolerance() {
    let tolerance = Some(Duration::from_secs(300));
    let request_id = "req-1";
    let id = "123456789";
    // A signature made here for a timestamp in seconds (the documentation's other example).
    let seconds: i64 = 1_704_908_010;
    let manifest = format!("id:{id};request-id:{request_id};ts:{seconds};");
    let v1 = waba_bot::kernel::crypto::hmac_sha256_hex(WEBHOOK_SECRET, manifest.as_bytes());
    let in_seconds = signature(&seconds.to_string(), &v1);
    let in_millis = signature(&TS_MS.to_string(), V1_PAYMENT);
    let check = |header: &str, request_id: &str, now_ms: i64, tolerance| {
        verify_webhook_signature(
            WEBHOOK_SECRET,
            Some(header),
            Some(request_id),
            Some(id),
            tolerance,
            at_ms(now_ms),
        )
    };

    let seconds_ms = seconds * 1000;
    assert!(check(&in_seconds, request_id, seconds_ms, tolerance));
    assert!(check(
        &in_seconds,
        request_id,
        seconds_ms + 299_000,
        tolerance
    ));
    assert!(check(
        &in_seconds,
        request_id,
        seconds_ms - 300_000,
        tolerance
    ));
    assert!(!check(
        &in_seconds,
        request_id,
        seconds_ms + 301_000,
        tolerance
    ));
    assert!(!check(
        &in_seconds,
        request_id,
        seconds_ms - 301_000,
        tolerance
    ));

    assert!(check(&in_millis, REQUEST_ID, TS_MS + 300_000, tolerance));
    assert!(check(&in_millis, REQUEST_ID, TS_MS - 120_000, tolerance));
    assert!(!check(&in_millis, REQUEST_ID, TS_MS + 300_001, tolerance));
    assert!(!check(&in_millis, REQUEST_ID, TS_MS - 3_600_000, tolerance));
    // Without a tolerance an old notification (Mercado Pago retries for days) still verifies.
    assert!(check(&in_millis, REQUEST_ID, TS_MS + 7 * 86_400_000, None));
}

// --- InfinitePay ------------------------------------------------------------------------------

fn new_link() -> NewLink {
    NewLink {
        handle: "$barbeariadoze".to_owned(),
        description: "Corte masculino".to_owned(),
        price: MoneyCents(8050),
        order_nsu: "c3a1e0f4-2b7d-4c8e-a1f9-0d5e6b7c8a92".to_owned(),
        redirect_url: Some("https://app.waba.test/pagamento/sucesso".to_owned()),
        webhook_url: "https://api.waba.test/webhooks/infinitepay/t1".to_owned(),
        customer_name: Some("Maria Souza".to_owned()),
        customer_email: None,
        customer_phone: Some("+5511987654321".to_owned()),
    }
}

fn payment_check() -> PaymentCheck {
    PaymentCheck {
        handle: "$barbeariadoze".to_owned(),
        order_nsu: "c3a1e0f4-2b7d-4c8e-a1f9-0d5e6b7c8a92".to_owned(),
        transaction_nsu: "5f0b6a52-3c7e-4f1b-9d2a-6e8c1b7a9f30".to_owned(),
        slug: "1RxANX7tdF".to_owned(),
    }
}

#[tokio::test]
async fn infinite_pay_creates_a_link_in_cents_for_the_handle_without_its_dollar_sign() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/links"))
        .and(body_json(json!({
            "handle": "barbeariadoze",
            "items": [{"quantity": 1, "price": 8050, "description": "Corte masculino"}],
            "order_nsu": "c3a1e0f4-2b7d-4c8e-a1f9-0d5e6b7c8a92",
            "redirect_url": "https://app.waba.test/pagamento/sucesso",
            "webhook_url": "https://api.waba.test/webhooks/infinitepay/t1",
            "customer": {"name": "Maria Souza", "phone_number": "+5511987654321"},
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "checkout_url": "https://checkout.infinitepay.io/barbeariadoze/abc123",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let created = infinite_pay_with(&server, &[])
        .create_link(&new_link())
        .await
        .unwrap();

    assert_eq!(
        created,
        CreatedLink {
            url: "https://checkout.infinitepay.io/barbeariadoze/abc123".to_owned(),
            slug: None,
        }
    );
    assert_eq!(header_values(&server, "authorization").await, [None]);
}

#[tokio::test]
async fn infinite_pay_link_url_falls_back_to_link_then_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "link": "https://checkout.infinitepay.io/barbeariadoze/l1", "slug": "1RxANX7tdF",
            "url": "https://elsewhere.test",
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/links"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"url": "https://pay.test/u1"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    let client = infinite_pay_with(&server, &[]);

    assert_eq!(
        client.create_link(&new_link()).await.unwrap(),
        CreatedLink {
            url: "https://checkout.infinitepay.io/barbeariadoze/l1".to_owned(),
            slug: Some("1RxANX7tdF".to_owned()),
        }
    );
    assert_eq!(
        client.create_link(&new_link()).await.unwrap().url,
        "https://pay.test/u1"
    );
    assert!(matches!(
        client.create_link(&new_link()).await,
        Err(InfinitePayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn infinite_pay_paid_is_only_the_paid_field() {
    let server = MockServer::start().await;
    let check_body = json!({
        "handle": "barbeariadoze",
        "order_nsu": "c3a1e0f4-2b7d-4c8e-a1f9-0d5e6b7c8a92",
        "transaction_nsu": "5f0b6a52-3c7e-4f1b-9d2a-6e8c1b7a9f30",
        "slug": "1RxANX7tdF",
    });
    Mock::given(method("POST"))
        .and(path("/payment_check"))
        .and(body_json(check_body.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true, "paid": true, "amount": 1500, "paid_amount": 1510,
            "installments": 1, "capture_method": "pix",
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/payment_check"))
        .and(body_json(check_body))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"success": true, "paid": false})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = infinite_pay_with(&server, &[]);

    assert_eq!(
        client.payment_check(&payment_check()).await.unwrap(),
        CheckedPayment {
            paid: true,
            amount: Some(MoneyCents(1500)),
            paid_amount: Some(MoneyCents(1510)),
            capture_method: Some("pix".to_owned()),
            installments: Some(1),
        }
    );
    assert_eq!(
        client.payment_check(&payment_check()).await.unwrap(),
        CheckedPayment {
            paid: false,
            amount: None,
            paid_amount: None,
            capture_method: None,
            installments: None,
        }
    );
}

#[tokio::test]
async fn infinite_pay_retries_a_502_and_refuses_bad_requests_and_unknown_payments() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/links"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "checkout_url": "https://checkout.infinitepay.io/barbeariadoze/r1",
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/payment_check"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "success": false,
            "message": "param is missing or the value is empty or invalid: handle",
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/payment_check"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"success": false, "message": "Not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = infinite_pay_with(&server, &[]);

    assert_eq!(
        client.create_link(&new_link()).await.unwrap().url,
        "https://checkout.infinitepay.io/barbeariadoze/r1"
    );
    assert_eq!(
        client.payment_check(&payment_check()).await.unwrap_err(),
        InfinitePayError::Refused {
            status: 400,
            message: "param is missing or the value is empty or invalid: handle".to_owned(),
        }
    );
    assert_eq!(
        client.payment_check(&payment_check()).await.unwrap_err(),
        InfinitePayError::NotFound
    );
}

#[tokio::test]
async fn infinite_pay_gives_up_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/payment_check"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .expect(u64::from(MAX_RETRIES) + 1)
        .mount(&server)
        .await;

    assert!(matches!(
        infinite_pay_with(&server, &[])
            .payment_check(&payment_check())
            .await,
        Err(InfinitePayError::Unavailable(detail)) if detail.contains("429")
    ));
}

// --- Settings ---------------------------------------------------------------------------------

#[test]
fn payment_settings_require_the_webhook_secret_in_production() {
    let production = [
        ("APP_ENV", "production".to_owned()),
        ("WABA_APP_SECRET", "meta-app-secret".to_owned()),
    ];
    let err = settings_with(&production).unwrap_err();
    assert!(err.to_string().contains("MP_WEBHOOK_SECRET"), "{err:#}");

    let mut with_secret = production.to_vec();
    with_secret.push(("MP_WEBHOOK_SECRET", "mp-secret".to_owned()));
    let payments = settings_with(&with_secret).unwrap().payments;
    assert_eq!(
        payments.mp_webhook_secret.unwrap().expose_secret(),
        "mp-secret"
    );
}

#[test]
fn payment_settings_have_defaults_and_bounds() {
    let minimal = HashMap::from([
        ("JWT_SECRET", "j".repeat(40)),
        ("ENCRYPTION_KEY", "00".repeat(32)),
        ("API_URL", "https://api.waba.test".to_owned()),
        ("FRONTEND_URL", "https://app.waba.test/".to_owned()),
    ]);
    let payments = Settings::from_lookup(|key| minimal.get(key).cloned())
        .unwrap()
        .payments;
    assert!(payments.mp_client_id.is_none() && payments.mp_client_secret.is_none());
    assert!(payments.mp_platform_access_token.is_none());
    assert!(payments.mp_webhook_secret.is_none());
    assert_eq!(payments.mp_webhook_tolerance, None);
    assert_eq!(
        payments.mp_redirect_uri,
        "https://api.waba.test/auth/mercadopago/callback"
    );
    assert_eq!(
        payments.mp_success_url,
        "https://app.waba.test/pagamento/sucesso"
    );
    assert_eq!(
        payments.mp_failure_url,
        "https://app.waba.test/pagamento/falha"
    );
    assert_eq!(
        payments.mp_pending_url,
        "https://app.waba.test/pagamento/pendente"
    );
    assert_eq!(payments.mp_api_url, "https://api.mercadopago.com");
    assert_eq!(payments.mp_auth_url, "https://auth.mercadopago.com");
    assert!(!payments.mp_test_token);
    assert_eq!(
        payments.infinite_pay_api_url,
        "https://api.checkout.infinitepay.io"
    );
    assert_eq!(payments.timeout, Duration::from_secs(15));
    assert_eq!(payments.max_retries, 2);
    assert_eq!(payments.retry_base, Duration::from_millis(500));

    let custom = settings_with(&[
        ("MP_API_URL", "http://127.0.0.1:9999/".to_owned()),
        ("MP_WEBHOOK_TOLERANCE_SECONDS", "300".to_owned()),
        ("MP_TEST_TOKEN", "yes".to_owned()),
        ("MP_PLATFORM_ACCESS_TOKEN", "APP_USR-platform".to_owned()),
        ("PAYMENTS_TIMEOUT_SECONDS", "60".to_owned()),
        ("PAYMENTS_MAX_RETRIES", "5".to_owned()),
    ])
    .unwrap()
    .payments;
    assert_eq!(custom.mp_api_url, "http://127.0.0.1:9999");
    assert_eq!(custom.mp_webhook_tolerance, Some(Duration::from_secs(300)));
    assert!(custom.mp_test_token);
    assert_eq!(
        custom.mp_platform_access_token.unwrap().expose_secret(),
        "APP_USR-platform"
    );
    assert_eq!(custom.timeout, Duration::from_secs(60));
    assert_eq!(custom.max_retries, 5);
    assert_eq!(custom.retry_base, Duration::from_millis(1));

    for (key, value) in [
        ("PAYMENTS_TIMEOUT_SECONDS", "0"),
        ("PAYMENTS_TIMEOUT_SECONDS", "61"),
        ("PAYMENTS_MAX_RETRIES", "6"),
        ("PAYMENTS_RETRY_BASE_MS", "fast"),
        ("MP_WEBHOOK_TOLERANCE_SECONDS", "0"),
        ("MP_TEST_TOKEN", "maybe"),
    ] {
        let err = settings_with(&[(key, value.to_owned())]).unwrap_err();
        assert!(format!("{err:#}").contains(key), "{key}={value}: {err:#}");
    }
}
