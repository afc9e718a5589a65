//! Connecting the tenant's Mercado Pago account (OAuth with PKCE, the callback, renewals,
//! disconnecting) and payment links (Mercado Pago preferences on the tenant's token, InfinitePay
//! links in integer cents, reuse, refusals, the link after a WhatsApp booking), checked against
//! mocks that assert what we send.

use chrono::{Duration, Utc, Weekday};
use chrono_tz::America::Sao_Paulo;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;
use waba_bot::{
    domains::{payments, tenants},
    kernel::{crypto, ids::TenantId},
};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_partial_json, header, method, path},
};

use crate::{
    appointments::{Salon, book, salon},
    helpers::{TestApp, fixtures::next_local, spawn_app},
};

const SELLER_TOKEN: &str = "APP_USR-seller-access-token";
const SELLER_USER: &str = "241983636";

fn tenant_id(salon: &Salon) -> TenantId {
    TenantId(salon.tenant.parse().unwrap())
}

/// Connects `salon`'s Mercado Pago account as the OAuth callback would have.
async fn connect(app: &TestApp, salon: &Salon) {
    let tokens = tenants::service::MercadoPagoTokens {
        user_id: SELLER_USER.to_owned(),
        access_token: SELLER_TOKEN.to_owned().into(),
        refresh_token: Some("TG-refresh-1".to_owned().into()),
        public_key: Some("APP_USR-public".to_owned()),
        expires_at: Some(Utc::now() + Duration::days(180)),
    };
    tenants::service::connect_mercado_pago(&app.state, tenant_id(salon), &tokens)
        .await
        .unwrap();
}

/// Connects another account to `salon` (an account has one tenant).
async fn connect_other(app: &TestApp, salon: &Salon) {
    let tokens = tenants::service::MercadoPagoTokens {
        user_id: format!("9{}", &salon.tenant[..8].replace('-', "")),
        access_token: "APP_USR-other-tenant".to_owned().into(),
        refresh_token: None,
        public_key: None,
        expires_at: None,
    };
    tenants::service::connect_mercado_pago(&app.state, tenant_id(salon), &tokens)
        .await
        .unwrap();
}

/// Mercado Pago answers preferences with a checkout URL naming the idempotency key it got.
async fn accept_preferences(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .and(header("authorization", format!("Bearer {SELLER_TOKEN}")))
        .respond_with(|request: &wiremock::Request| {
            let key = request.headers["x-idempotency-key"]
                .to_str()
                .unwrap()
                .to_owned();
            ResponseTemplate::new(201).set_body_json(json!({
                "id": format!("pref-{key}"),
                "init_point": format!("https://mp.test/checkout?pref={key}"),
                "sandbox_init_point": "https://sandbox.mp.test/checkout",
            }))
        })
        .mount(&app.mercado_pago)
        .await;
}

async fn booked(app: &TestApp, salon: &Salon) -> String {
    let at = next_local(&Sao_Paulo, Weekday::Wed, 10, 0);
    book(app, salon, at).await.data()["createAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const CREATE_LINK: &str = "mutation($id: ID!) { createPaymentLink(appointmentId: $id) {
    url payment { id status provider amount { amount currency } } } }";

async fn create_link(
    app: &TestApp,
    salon: &Salon,
    appointment: &str,
) -> crate::helpers::GqlResponse {
    app.gql(Some(&salon.token), CREATE_LINK, json!({"id": appointment}))
        .await
}

fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

async fn authorization_url(app: &TestApp, token: &str) -> String {
    app.gql(
        Some(token),
        "mutation { mercadoPagoAuthorizationUrl }",
        json!({}),
    )
    .await
    .data()["mercadoPagoAuthorizationUrl"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn callback(app: &TestApp, query: &str) -> String {
    let response = app
        .http
        .get(format!("{}/auth/mercadopago/callback?{query}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "a redirect");
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_owner_connects_mercado_pago_with_pkce_and_a_single_use_state() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let url = authorization_url(&app, &salon.token).await;
    assert!(
        url.starts_with(&format!("{}/authorization?", app.mercado_pago.uri())),
        "{url}"
    );
    assert_eq!(query_param(&url, "client_id"), "mp-client-id");
    assert_eq!(query_param(&url, "response_type"), "code");
    assert_eq!(query_param(&url, "platform_id"), "mp");
    assert_eq!(query_param(&url, "code_challenge_method"), "S256");
    assert_eq!(
        query_param(&url, "redirect_uri"),
        "https://api.test/auth/mercadopago/callback"
    );
    let state = query_param(&url, "state");
    let challenge = query_param(&url, "code_challenge");

    // The code is traded with the verifier whose S256 digest is the challenge.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_partial_json(json!({
            "grant_type": "authorization_code",
            "code": "TG-code",
            "client_id": "mp-client-id",
            "client_secret": "mp-client-secret",
        })))
        .respond_with(move |request: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let verifier = body["code_verifier"].as_str().unwrap_or_default();
            if crypto::sha256_base64url(verifier) != challenge {
                return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}));
            }
            ResponseTemplate::new(200).set_body_json(json!({
                "access_token": SELLER_TOKEN, "token_type": "bearer", "expires_in": 15_552_000,
                "scope": "offline_access read write", "user_id": 241_983_636,
                "refresh_token": "TG-refresh-1", "public_key": "APP_USR-public", "live_mode": true,
            }))
        })
        .expect(1)
        .mount(&app.mercado_pago)
        .await;

    let location = callback(&app, &format!("code=TG-code&state={state}")).await;
    assert_eq!(
        location,
        "http://dashboard.test/dashboard/settings/finance?mercadoPago=connected"
    );
    let tenant = app
        .gql(
            Some(&salon.token),
            "{ tenant { mercadoPagoConnected mercadoPagoStatus } }",
            json!({}),
        )
        .await;
    assert_eq!(
        tenant.data()["tenant"],
        json!({"mercadoPagoConnected": true, "mercadoPagoStatus": "CONNECTED"})
    );
    // Encrypted at rest: the stored column is not the token, and decrypts to it.
    let row = entity::tenants::Entity::find_by_id(Uuid::parse_str(&salon.tenant).unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let stored = row.mp_access_token_enc.unwrap();
    assert!(!stored.contains(SELLER_TOKEN));
    assert_eq!(
        app.state.cipher.decrypt(&stored).unwrap().expose_secret(),
        SELLER_TOKEN
    );
    assert_eq!(row.mp_user_id.as_deref(), Some(SELLER_USER));

    // The same state again (a replayed callback) and a made-up one are refused.
    for query in [
        format!("code=TG-code&state={state}"),
        "code=TG-code&state=forged".to_owned(),
    ] {
        assert_eq!(
            callback(&app, &query).await,
            "http://dashboard.test/dashboard/settings/finance?mercadoPago=error&reason=invalid_state"
        );
    }
    // The owner refused on Mercado Pago's page.
    let denied = authorization_url(&app, &salon.token).await;
    let denied_state = query_param(&denied, "state");
    assert_eq!(
        callback(&app, &format!("error=access_denied&state={denied_state}")).await,
        "http://dashboard.test/dashboard/settings/finance?mercadoPago=error&reason=denied"
    );
}

#[tokio::test]
async fn one_mercado_pago_account_cannot_serve_two_tenants() {
    let app = spawn_app().await;
    let first = salon(&app).await;
    let second = salon(&app).await;
    connect(&app, &first).await;
    let tokens = tenants::service::MercadoPagoTokens {
        user_id: SELLER_USER.to_owned(),
        access_token: "APP_USR-other".to_owned().into(),
        refresh_token: None,
        public_key: None,
        expires_at: None,
    };
    let taken =
        tenants::service::connect_mercado_pago(&app.state, tenant_id(&second), &tokens).await;
    assert!(matches!(
        taken,
        Err(waba_bot::kernel::error::AppError::Conflict(_))
    ));
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire_and_a_refused_renewal_disconnects() {
    let app = spawn_app().await;
    let renewed = salon(&app).await;
    let refused = salon(&app).await;
    for (salon, user, refresh) in [
        (&renewed, "1001", "TG-old"),
        (&refused, "1002", "TG-revoked"),
    ] {
        let tokens = tenants::service::MercadoPagoTokens {
            user_id: user.to_owned(),
            access_token: format!("APP_USR-{user}").into(),
            refresh_token: Some(refresh.to_owned().into()),
            public_key: None,
            expires_at: Some(Utc::now() + Duration::days(3)),
        };
        tenants::service::connect_mercado_pago(&app.state, tenant_id(salon), &tokens)
            .await
            .unwrap();
    }
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_partial_json(
            json!({"grant_type": "refresh_token", "refresh_token": "TG-old"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "APP_USR-new", "token_type": "bearer", "expires_in": 15_552_000,
            "user_id": 1001, "refresh_token": "TG-new",
        })))
        .expect(1)
        .mount(&app.mercado_pago)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_partial_json(json!({"refresh_token": "TG-revoked"})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "message": "invalid refresh_token", "status": 400,
        })))
        .expect(1)
        .mount(&app.mercado_pago)
        .await;

    let count = payments::service::refresh_expiring_tokens(&app.state, Utc::now())
        .await
        .unwrap();
    assert_eq!(count, 1);
    // Run again: the renewed account is not due anymore, the refused one is disconnected.
    assert_eq!(
        payments::service::refresh_expiring_tokens(&app.state, Utc::now())
            .await
            .unwrap(),
        0
    );
    let account =
        tenants::service::mercado_pago_account(&app.state, &app.state.db, tenant_id(&renewed))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(account.access_token.expose_secret(), "APP_USR-new");
    assert_eq!(account.refresh_token.unwrap().expose_secret(), "TG-new");
    assert!(account.expires_at.unwrap() > Utc::now() + Duration::days(170));
    let status = app
        .gql(
            Some(&refused.token),
            "{ tenant { mercadoPagoConnected mercadoPagoStatus } }",
            json!({}),
        )
        .await;
    assert_eq!(
        status.data()["tenant"],
        json!({"mercadoPagoConnected": false, "mercadoPagoStatus": "DISCONNECTED"})
    );
}

#[tokio::test]
async fn a_mercado_pago_link_is_a_preference_on_the_tenants_token_and_is_reused() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    connect(&app, &salon).await;
    accept_preferences(&app).await;
    let appointment = booked(&app, &salon).await;

    let first = create_link(&app, &salon, &appointment).await;
    let link = &first.data()["createPaymentLink"];
    let payment = link["payment"]["id"].as_str().unwrap();
    assert_eq!(
        link["payment"],
        json!({"id": payment, "status": "PENDING", "provider": "MERCADO_PAGO",
               "amount": {"amount": "50.00", "currency": "BRL"}})
    );
    assert_eq!(
        link["url"],
        format!("https://mp.test/checkout?pref={payment}")
    );

    let requests = app.mercado_pago.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(requests[0].headers["x-idempotency-key"], payment);
    assert_eq!(sent["external_reference"], payment);
    assert_eq!(sent["items"][0]["id"], appointment);
    assert_eq!(sent["items"][0]["title"], "Corte");
    assert_eq!(sent["items"][0]["unit_price"], json!(50.0));
    assert_eq!(sent["items"][0]["currency_id"], "BRL");
    assert_eq!(sent["payer"]["name"], "João");
    assert!(
        sent["notification_url"]
            .as_str()
            .unwrap()
            .ends_with("/webhooks/mercadopago"),
        "{sent}"
    );
    // The default 60-minute hold: the preference expires with it.
    assert!(sent["expiration_date_to"].is_string(), "{sent}");

    // Asked again while pending: the same link, no second preference.
    let again = create_link(&app, &salon, &appointment).await;
    assert_eq!(again.data()["createPaymentLink"], *link);
    assert_eq!(app.mercado_pago.received_requests().await.unwrap().len(), 1);

    // The appointment shows its payment.
    let shown = app
        .gql(
            Some(&salon.token),
            "query($id: ID!) { appointment(id: $id) { payment { id status provider checkoutUrl } } }",
            json!({"id": appointment}),
        )
        .await;
    assert_eq!(
        shown.data()["appointment"]["payment"],
        json!({"id": payment, "status": "PENDING", "provider": "MERCADO_PAGO", "checkoutUrl": link["url"]})
    );
}

#[tokio::test]
async fn an_infinite_pay_link_sends_integer_cents_under_the_tenants_handle() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    app.gql(
        Some(&salon.token),
        "mutation { updateTenant(input: {infinitePayTag: \"barbearia-ze\", preferredPaymentProvider: INFINITE_PAY}) { id } }",
        json!({}),
    )
    .await
    .data();
    Mock::given(method("POST"))
        .and(path("/links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "checkout_url": "https://checkout.infinitepay.io/barbearia-ze/abc123",
            "slug": "abc123",
        })))
        .expect(1)
        .mount(&app.infinite_pay)
        .await;
    let appointment = booked(&app, &salon).await;
    let created = create_link(&app, &salon, &appointment).await;
    let link = &created.data()["createPaymentLink"];
    assert_eq!(
        link["url"],
        "https://checkout.infinitepay.io/barbearia-ze/abc123"
    );
    assert_eq!(link["payment"]["provider"], "INFINITE_PAY");
    let payment = link["payment"]["id"].as_str().unwrap();

    let requests = app.infinite_pay.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(sent["handle"], "barbearia-ze");
    assert_eq!(sent["order_nsu"], payment);
    assert_eq!(
        sent["items"],
        json!([{"quantity": 1, "price": 5000, "description": "Corte"}])
    );
    assert_eq!(
        sent["webhook_url"],
        format!(
            "{}/webhooks/infinitepay/{}",
            app.state.settings.api_url, salon.tenant
        )
    );
    assert_eq!(sent["customer"]["name"], "João");
}

#[tokio::test]
async fn links_are_refused_for_free_canceled_or_unconnected_bookings() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let appointment = booked(&app, &salon).await;
    let unconnected = create_link(&app, &salon, &appointment).await;
    assert_eq!(unconnected.code(), "BAD_USER_INPUT");
    assert!(
        unconnected.message().contains("Mercado Pago"),
        "{}",
        unconnected.message()
    );

    // Choosing a provider that is not connected says what to connect.
    let preferred = app
        .gql(
            Some(&salon.token),
            "mutation { updateTenant(input: {preferredPaymentProvider: MERCADO_PAGO}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(preferred.code(), "BAD_USER_INPUT");
    assert!(
        preferred.message().contains("Conecte"),
        "{}",
        preferred.message()
    );

    connect(&app, &salon).await;
    accept_preferences(&app).await;
    app.gql(
        Some(&salon.token),
        "mutation($id: ID!) { cancelAppointment(id: $id) { id } }",
        json!({"id": appointment}),
    )
    .await
    .data();
    let canceled = create_link(&app, &salon, &appointment).await;
    assert_eq!(canceled.code(), "BAD_USER_INPUT");

    let free = booked(&app, &salon).await;
    let mut row: entity::appointments::ActiveModel =
        entity::appointments::Entity::find_by_id(Uuid::parse_str(&free).unwrap())
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .into();
    row.price_cents = Set(0);
    row.update(&app.state.db).await.unwrap();
    let free = create_link(&app, &salon, &free).await;
    assert_eq!(free.code(), "BAD_USER_INPUT");
    assert!(
        app.mercado_pago
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );

    // Another tenant's appointment is not found, and nothing is asked of Mercado Pago.
    let other = crate::appointments::salon(&app).await;
    connect_other(&app, &other).await;
    let foreign = create_link(&app, &other, &appointment).await;
    assert_eq!(foreign.code(), "NOT_FOUND", "{}", foreign.body);
    assert!(foreign.read_nothing());
    assert!(
        app.mercado_pago
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn disconnecting_mercado_pago_forgets_the_tokens_and_the_preference() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    connect(&app, &salon).await;
    app.gql(
        Some(&salon.token),
        "mutation { updateTenant(input: {preferredPaymentProvider: MERCADO_PAGO}) { id } }",
        json!({}),
    )
    .await
    .data();
    let disconnected = app
        .gql(
            Some(&salon.token),
            "mutation { disconnectMercadoPago { mercadoPagoConnected mercadoPagoStatus preferredPaymentProvider } }",
            json!({}),
        )
        .await;
    assert_eq!(
        disconnected.data()["disconnectMercadoPago"],
        json!({"mercadoPagoConnected": false, "mercadoPagoStatus": null, "preferredPaymentProvider": null})
    );
    let row = entity::tenants::Entity::find_by_id(Uuid::parse_str(&salon.tenant).unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.mp_access_token_enc.is_none() && row.mp_refresh_token_enc.is_none());
}
