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
