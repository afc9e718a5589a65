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
    assert!(by_id.body["data"].is_null());

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
