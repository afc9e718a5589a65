use serde_json::json;
use waba_bot::kernel::viewer::Role;

use crate::helpers::spawn_app;

const CREATE: &str = "mutation($i: CreateSaasPlanInput!) { createSaasPlan(input: $i) { id name description price { amount currency } interval archived } }";

#[tokio::test]
async fn a_fresh_database_has_the_nine_default_plans() {
    let app = spawn_app().await;
    let plans = app
        .gql(
            None,
            "{ saasPlans { slug name interval price { amount currency } } }",
            json!({}),
        )
        .await;
    let mut plans: Vec<(String, String, String, String)> = plans.data()["saasPlans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["price"]["currency"], "BRL");
            (
                p["slug"].as_str().unwrap().into(),
                p["name"].as_str().unwrap().into(),
                p["interval"].as_str().unwrap().into(),
                p["price"]["amount"].as_str().unwrap().into(),
            )
        })
        .collect();
    plans.sort();
    let expected = [
        ("enterprise-monthly", "Enterprise", "MONTHLY", "199.00"),
        ("enterprise-quarterly", "Enterprise", "QUARTERLY", "549.00"),
        ("enterprise-yearly", "Enterprise", "YEARLY", "1899.00"),
        ("professional-monthly", "Professional", "MONTHLY", "99.00"),
        (
            "professional-quarterly",
            "Professional",
            "QUARTERLY",
            "269.00",
        ),
        ("professional-yearly", "Professional", "YEARLY", "949.00"),
        ("starter-monthly", "Starter", "MONTHLY", "49.00"),
        ("starter-quarterly", "Starter", "QUARTERLY", "129.00"),
        ("starter-yearly", "Starter", "YEARLY", "469.00"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(plans, expected);
}

#[tokio::test]
async fn admins_create_update_and_archive_plans_with_exact_prices() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .gql(Some(&admin), CREATE, json!({"i": {"name": "Premium", "price": {"amount": "99.99", "currency": "BRL"}, "interval": "QUARTERLY", "description": "Tudo incluso"}}))
        .await;
    let plan = created.data()["createSaasPlan"].clone();
    assert_eq!(plan["price"], json!({"amount": "99.99", "currency": "BRL"}));
    assert_eq!(plan["interval"], "QUARTERLY");

    let defaulted = app
        .gql(
            Some(&admin),
            CREATE,
            json!({"i": {"name": "Mini", "price": {"amount": "10"}}}),
        )
        .await;
    assert_eq!(
        defaulted.data()["createSaasPlan"]["price"]["amount"],
        "10.00"
    );
    assert_eq!(defaulted.data()["createSaasPlan"]["interval"], "MONTHLY");

    let updated = app
        .gql(
            Some(&admin),
            "mutation($id: ID!, $i: UpdateSaasPlanInput!) { updateSaasPlan(id: $id, input: $i) { name description price { amount } } }",
            json!({"id": plan["id"], "i": {"price": {"amount": "0.1"}, "description": null}}),
        )
        .await;
    assert_eq!(
        updated.data()["updateSaasPlan"],
        json!({"name": "Premium", "description": null, "price": {"amount": "0.10"}})
    );

    let archived = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { archiveSaasPlan(id: $id) { archived } }",
            json!({"id": plan["id"]}),
        )
        .await;
    assert_eq!(archived.data()["archiveSaasPlan"]["archived"], true);
    let listed = app.gql(None, "{ saasPlans { id } }", json!({})).await;
    assert!(
        !listed.data()["saasPlans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == plan["id"])
    );
}

#[tokio::test]
async fn money_input_must_be_exact() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for amount in [json!(49.9), json!("49.999"), json!("49,90"), json!("-1")] {
        let response = app
            .gql(
                Some(&admin),
                CREATE,
                json!({"i": {"name": "X", "price": {"amount": amount}}}),
            )
            .await;
        assert_eq!(
            response.code(),
            "BAD_USER_INPUT",
            "{amount}: {}",
            response.body
        );
    }
}

#[tokio::test]
async fn only_admins_manage_plans() {
    let app = spawn_app().await;
    let tenant = app
        .user_session("owner@salon.test", Role::Tenant, true)
        .await;
    let input = json!({"i": {"name": "Hack", "price": {"amount": "1.00"}}});
    assert_eq!(
        app.gql(tenant["accessToken"].as_str(), CREATE, input.clone())
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(app.gql(None, CREATE, input).await.code(), "UNAUTHENTICATED");
    let plan = app.saas_plan_id("starter-monthly").await;
    let archive = app
        .gql(
            tenant["accessToken"].as_str(),
            "mutation($id: ID!) { archiveSaasPlan(id: $id) { id } }",
            json!({"id": plan}),
        )
        .await;
    assert_eq!(archive.code(), "FORBIDDEN");
}
