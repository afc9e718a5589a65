//! Tenant B tries tenant A's data: nothing is read, nothing changes.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_tenant_cannot_reach_another_tenant() {
    let app = spawn_app().await;
    let (token_a, tenant_a) = app.tenant_owner().await;
    let (token_b, tenant_b) = app.tenant_owner().await;

    let by_id = app
        .gql(
            Some(&token_b),
            "query($id: ID!) { tenantById(id: $id) { id name } }",
            json!({"id": tenant_a}),
        )
        .await;
    assert_eq!(by_id.code(), "FORBIDDEN");
    assert!(by_id.read_nothing());

    let own = app
        .gql(Some(&token_b), "{ tenant { id } }", json!({}))
        .await;
    assert_eq!(own.data()["tenant"]["id"], tenant_b);

    // There is no argument that names a tenant on tenant-scoped mutations: B's update is B's.
    app.gql(
        Some(&token_b),
        "mutation { updateTenant(input: {name: \"Invasor\"}) { id } }",
        json!({}),
    )
    .await
    .data();
    let a = app
        .gql(Some(&token_a), "{ tenant { id name } }", json!({}))
        .await;
    assert_eq!(
        a.data()["tenant"],
        json!({"id": tenant_a, "name": "Barbearia do Zé"})
    );

    let listing = app
        .gql(Some(&token_b), "{ tenants { totalCount } }", json!({}))
        .await;
    assert_eq!(listing.code(), "FORBIDDEN");
}

#[tokio::test]
async fn appointments_are_invisible_and_untouchable_across_tenants() {
    use chrono::{Duration, Weekday};
    use chrono_tz::America::Sao_Paulo;

    use crate::{
        appointments::{book, salon},
        helpers::fixtures::next_local,
    };

    let app = spawn_app().await;
    let a = salon(&app).await;
    let b = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Tue, 10, 0);
    let id = book(&app, &a, at).await.data()["createAppointment"]["id"].clone();
    let later = (at + Duration::hours(2)).to_rfc3339();

    for (query, vars) in [
        (
            "query($id: ID!) { appointment(id: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { confirmAppointment(id: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { cancelAppointment(id: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { completeAppointment(id: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { markNoShow(id: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!, $at: DateTime!) { rescheduleAppointment(id: $id, startsAt: $at) { id } }",
            json!({"id": id, "at": later}),
        ),
        (
            "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }",
            json!({"i": {"customerId": a.customer, "serviceId": b.service, "startsAt": later}}),
        ),
        (
            "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }",
            json!({"i": {"customerId": b.customer, "serviceId": a.service, "startsAt": later}}),
        ),
    ] {
        let response = app.gql(Some(&b.token), query, vars).await;
        assert_eq!(response.code(), "NOT_FOUND", "{query}: {}", response.body);
    }
    let listed = app
        .gql(Some(&b.token), "{ appointments { totalCount } }", json!({}))
        .await;
    assert_eq!(listed.data()["appointments"]["totalCount"], 0);
    let filtered = app
        .gql(
            Some(&b.token),
            "query($c: ID!) { appointments(filter: {customerId: $c}) { totalCount } }",
            json!({"c": a.customer}),
        )
        .await;
    assert_eq!(filtered.data()["appointments"]["totalCount"], 0);

    // B's booking at the same time is independent of A's calendar, and A's is untouched.
    assert!(book(&app, &b, at).await.data()["createAppointment"]["id"].is_string());
    let untouched = app
        .gql(
            Some(&a.token),
            "query($id: ID!) { appointment(id: $id) { status startsAt } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(untouched.data()["appointment"]["status"], "PENDING");
}

#[tokio::test]
async fn payments_are_invisible_and_untouchable_across_tenants() {
    use chrono::Weekday;
    use chrono_tz::America::Sao_Paulo;
    use waba_bot::{domains::tenants::service::MercadoPagoTokens, kernel::ids::TenantId};
    use wiremock::{
        Mock, ResponseTemplate,
        matchers::{method, path},
    };

    use crate::{
        appointments::{book, salon},
        helpers::fixtures::next_local,
    };

    let app = spawn_app().await;
    let a = salon(&app).await;
    let b = salon(&app).await;
    for (salon, user) in [(&a, "7001"), (&b, "7002")] {
        let tokens = MercadoPagoTokens {
            user_id: user.to_owned(),
            access_token: format!("APP_USR-{user}").into(),
            refresh_token: None,
            public_key: None,
            expires_at: None,
        };
        let tenant = TenantId(salon.tenant.parse().unwrap());
        waba_bot::domains::tenants::service::connect_mercado_pago(&app.state, tenant, &tokens)
            .await
            .unwrap();
    }
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "pref-a", "init_point": "https://mp.test/checkout/pref-a",
        })))
        .expect(1)
        .mount(&app.mercado_pago)
        .await;
    let at = next_local(&Sao_Paulo, Weekday::Thu, 10, 0);
    let appointment = book(&app, &a, at).await.data()["createAppointment"]["id"].clone();
    let payment = app
        .gql(
            Some(&a.token),
            "mutation($id: ID!) { createPaymentLink(appointmentId: $id) { payment { id } } }",
            json!({"id": appointment}),
        )
        .await
        .data()["createPaymentLink"]["payment"]["id"]
        .clone();

    for (query, vars) in [
        (
            "query($id: ID!) { payment(id: $id) { id } }",
            json!({"id": payment}),
        ),
        (
            "mutation($id: ID!) { createPaymentLink(appointmentId: $id) { url } }",
            json!({"id": appointment}),
        ),
        (
            "mutation($id: ID!) { sendPaymentLink(appointmentId: $id) { url } }",
            json!({"id": appointment}),
        ),
        (
            "mutation($id: ID!) { refundPayment(id: $id) { id } }",
            json!({"id": payment}),
        ),
    ] {
        let response = app.gql(Some(&b.token), query, vars).await;
        assert_eq!(response.code(), "NOT_FOUND", "{query}: {}", response.body);
        assert!(response.read_nothing());
    }
    // B's lists and figures hold nothing of A's, even filtered by A's customer.
    let today = chrono::Utc::now().date_naive();
    let listed = app
        .gql(
            Some(&b.token),
            "query($c: ID!) { all: payments { totalCount } theirs: payments(filter: {customerId: $c}) { totalCount } }",
            json!({"c": a.customer}),
        )
        .await;
    assert_eq!(listed.data()["all"]["totalCount"], 0);
    assert_eq!(listed.data()["theirs"]["totalCount"], 0);
    let summary = app
        .gql(
            Some(&b.token),
            "query($f: Date!, $t: Date!) { financeSummary(from: $f, to: $t) { count pending { amount } } }",
            json!({"f": (today - chrono::Duration::days(2)).to_string(), "t": (today + chrono::Duration::days(2)).to_string()}),
        )
        .await;
    assert_eq!(
        summary.data()["financeSummary"],
        json!({"count": 0, "pending": {"amount": "0.00"}})
    );
    // One preference only (A's): nothing was asked of Mercado Pago for B.
    assert_eq!(app.mercado_pago.received_requests().await.unwrap().len(), 1);
}
