//! Customers: one per phone and tenant, searchable pages, deletion rules.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use waba_bot::graphql::pagination::encode_cursor;

use crate::helpers::{GqlResponse, TestApp, assert_one_wins, spawn_app};

const CUSTOMER: &str = "id name phone email status subscription { id } createdAt updatedAt";
const PAGE: &str = "query($s: String, $first: Int, $after: String) { customers(search: $s, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { name } } } }";
const PHONE_TAKEN: &str = "Já existe um cliente com este telefone";

async fn create(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!(
            "mutation($i: CreateCustomerInput!) {{ createCustomer(input: $i) {{ {CUSTOMER} }} }}"
        ),
        json!({ "i": input }),
    )
    .await
}

async fn update(app: &TestApp, token: &str, id: &Value, input: Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("mutation($id: ID!, $i: UpdateCustomerInput!) {{ updateCustomer(id: $id, input: $i) {{ {CUSTOMER} }} }}"),
        json!({ "id": id, "i": input }),
    )
    .await
}

async fn delete(app: &TestApp, token: &str, id: &Value) -> GqlResponse {
    app.gql(
        Some(token),
        "mutation($id: ID!) { deleteCustomer(id: $id) }",
        json!({ "id": id }),
    )
    .await
}

async fn read(app: &TestApp, token: &str, id: &Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER} }} }}"),
        json!({ "id": id }),
    )
    .await
}

/// Names on the page and the connection's figures.
async fn page(app: &TestApp, token: &str, vars: Value) -> (Vec<String>, Value) {
    let response = app.gql(Some(token), PAGE, vars).await;
    let connection = response.data()["customers"].clone();
    let names = connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect();
    (names, connection)
}

#[tokio::test]
async fn customers_are_created_read_and_updated() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let created = create(
        &app,
        &token,
        json!({"name": "  Ana Souza ", "phone": "(11) 98765-4321", "email": " Ana@Salon.COM "}),
    )
    .await;
    let customer = created.data()["createCustomer"].clone();
    assert_eq!(customer["name"], "Ana Souza");
    assert_eq!(customer["phone"], "+5511987654321");
    assert_eq!(customer["email"], "ana@salon.com");
    assert_eq!(customer["status"], "WALK_IN");
    assert!(customer["subscription"].is_null());
    assert_eq!(
        read(&app, &token, &customer["id"]).await.data()["customer"],
        customer
    );

    let updated = update(
        &app,
        &token,
        &customer["id"],
        json!({"name": "Ana S.", "phone": "+55 21 3456-7890", "email": null}),
    )
    .await;
    let updated = &updated.data()["updateCustomer"];
    assert_eq!(updated["name"], "Ana S.");
    assert_eq!(updated["phone"], "+552134567890");
    assert!(updated["email"].is_null());

    let kept = update(
        &app,
        &token,
        &customer["id"],
        json!({"email": "ana@novo.com"}),
    )
    .await;
    let kept = &kept.data()["updateCustomer"];
    assert_eq!(kept["name"], "Ana S.");
    assert_eq!(kept["phone"], "+552134567890");
    assert_eq!(kept["email"], "ana@novo.com");
    // Keeping one's own phone is not a conflict.
    update(
        &app,
        &token,
        &customer["id"],
        json!({"phone": "(21) 3456-7890"}),
    )
    .await
    .data();

    let no_email = create(
        &app,
        &token,
        json!({"name": "Bruno", "phone": "21 99999-0000"}),
    )
    .await;
    assert!(no_email.data()["createCustomer"]["email"].is_null());
}

#[tokio::test]
async fn one_mobile_written_any_way_is_one_customer() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    create(
        &app,
        &token,
        json!({"name": "Ana", "phone": "+55 11 98765-4321"}),
    )
    .await
    .data();
    for phone in [
        "11987654321",
        "5511987654321",
        "+5511987654321",
        "(11) 98765-4321",
        // WhatsApp's form, without the ninth digit.
        "551187654321",
        "1187654321",
        "+55 (11) 8765-4321",
    ] {
        let response = create(&app, &token, json!({"name": "Outra", "phone": phone})).await;
        assert_eq!(response.code(), "CONFLICT", "{phone}");
        assert_eq!(response.message(), PHONE_TAKEN, "{phone}");
    }
    let other = create(
        &app,
        &token,
        json!({"name": "Bia", "phone": "11 91234-5678"}),
    )
    .await;
    let other = other.data()["createCustomer"].clone();
    let moved = update(&app, &token, &other["id"], json!({"phone": "551187654321"})).await;
    assert_eq!(moved.code(), "CONFLICT");
    assert_eq!(moved.message(), PHONE_TAKEN);
    assert_eq!(
        read(&app, &token, &other["id"]).await.data()["customer"]["phone"],
        "+5511912345678"
    );

    // Unique per tenant only: another business may have the same customer.
    let (token_b, _) = app.tenant_owner().await;
    create(
        &app,
        &token_b,
        json!({"name": "Ana", "phone": "11987654321"}),
    )
    .await
    .data();
}

#[tokio::test]
async fn concurrent_creations_of_one_phone_make_one_customer() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let input = json!({"name": "Ana", "phone": "11987654321"});
    let (first, second) = tokio::join!(
        create(&app, &token, input.clone()),
        create(
            &app,
            &token,
            json!({"name": "Ana", "phone": "551187654321"})
        )
    );
    assert_one_wins(&first, &second);
    let (_, connection) = page(&app, &token, json!({})).await;
    assert_eq!(connection["totalCount"], 1);
}

#[tokio::test]
async fn customer_input_is_validated() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    for input in [
        json!({"name": "Ana", "phone": "123"}),
        json!({"name": "Ana", "phone": "abc"}),
        json!({"name": "Ana", "phone": "+55 11 18765-4321"}),
        json!({"name": "Ana", "phone": "11987654321", "email": "ana@"}),
        json!({"name": "Ana", "phone": "11987654321", "email": "ana salon@x.com"}),
        json!({"name": " ", "phone": "11987654321"}),
        json!({"name": "x".repeat(121), "phone": "11987654321"}),
    ] {
        let response = create(&app, &token, input.clone()).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{input}");
    }
    let (_, connection) = page(&app, &token, json!({})).await;
    assert_eq!(connection["totalCount"], 0, "nothing was created");

    let customer = app.create_customer(&token, "Ana", "11987654321").await;
    for input in [
        json!({"phone": "12"}),
        json!({"email": "nope"}),
        json!({"name": ""}),
    ] {
        let response = update(&app, &token, &customer["id"], input.clone()).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{input}");
    }
    let unchanged = read(&app, &token, &customer["id"]).await;
    assert_eq!(unchanged.data()["customer"]["name"], "Ana");
    assert_eq!(unchanged.data()["customer"]["phone"], "+5511987654321");

    for vars in [
        json!({"first": 0}),
        json!({"first": 501}),
        json!({"after": "%%%"}),
    ] {
        let response = app.gql(Some(&token), PAGE, vars.clone()).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{vars}");
    }
}

#[tokio::test]
async fn customers_page_in_creation_order_with_a_total() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let names = ["Zé", "Ana", "Maria", "Bruno", "Carla"];
    for (i, name) in names.iter().enumerate() {
        app.create_customer(&token, name, &format!("11 9000-000{i}"))
            .await;
    }
    let (first, connection) = page(&app, &token, json!({"first": 2})).await;
    assert_eq!(first, ["Zé", "Ana"]);
    assert_eq!(connection["totalCount"], 5);
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    assert_eq!(connection["pageInfo"]["hasPreviousPage"], false);

    let after = connection["pageInfo"]["endCursor"].clone();
    let (second, connection) = page(&app, &token, json!({"first": 2, "after": after})).await;
    assert_eq!(second, ["Maria", "Bruno"]);
    assert_eq!(connection["totalCount"], 5);
    assert_eq!(connection["pageInfo"]["hasPreviousPage"], true);

    let after = connection["pageInfo"]["endCursor"].clone();
    let (last, connection) = page(&app, &token, json!({"first": 2, "after": after})).await;
    assert_eq!(last, ["Carla"]);
    assert_eq!(connection["pageInfo"]["hasNextPage"], false);

    let (all, _) = page(&app, &token, json!({})).await;
    assert_eq!(all, names);
}

#[tokio::test]
async fn search_matches_name_email_or_phone_digits() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    for (name, phone, email) in [
        ("Ana Souza", "11 98765-4321", Some("ana@salon.com")),
        ("Mariana", "21 99876-1111", None),
        ("Bruno", "31 97777-2222", Some("b.runo@mail.com")),
        ("100% Barba", "41 96666-3333", None),
        ("Zé_Silva", "51 95555-4444", Some("ze@mail.com")),
        ("ZéXSilva", "61 94444-5555", None),
    ] {
        create(
            &app,
            &token,
            json!({"name": name, "phone": phone, "email": email}),
        )
        .await
        .data();
    }
    for (search, expected) in [
        ("ana", vec!["Ana Souza", "Mariana"]),
        ("ANA", vec!["Ana Souza", "Mariana"]),
        ("  souza ", vec!["Ana Souza"]),
        ("salon.com", vec!["Ana Souza"]),
        ("B.RUNO@", vec!["Bruno"]),
        ("98765", vec!["Ana Souza"]),
        ("(21) 99876", vec!["Mariana"]),
        ("+55 31", vec!["Bruno"]),
        ("%", vec!["100% Barba"]),
        ("_", vec!["Zé_Silva"]),
        ("é_s", vec!["Zé_Silva"]),
        ("nobody", vec![]),
        (
            "",
            vec![
                "Ana Souza",
                "Mariana",
                "Bruno",
                "100% Barba",
                "Zé_Silva",
                "ZéXSilva",
            ],
        ),
    ] {
        let (names, connection) = page(&app, &token, json!({"s": search})).await;
        assert_eq!(names, expected, "search {search:?}");
        assert_eq!(
            connection["totalCount"],
            expected.len(),
            "search {search:?}"
        );
    }
    let (names, connection) = page(&app, &token, json!({"s": "a", "first": 1})).await;
    assert_eq!(names, ["Ana Souza"]);
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    assert!(connection["totalCount"].as_u64().unwrap() > 1);
}

#[tokio::test]
async fn deleting_customers_keeps_appointment_history() {
    let app = spawn_app().await;
    let (token, tenant) = app.tenant_owner().await;
    let service = app.create_service(&token, "Corte").await;
    let now = Utc::now();

    let walk_in = app.create_customer(&token, "Ana", "11 91111-1111").await;
    let deleted = delete(&app, &token, &walk_in["id"]).await;
    assert_eq!(deleted.data()["deleteCustomer"], walk_in["id"]);
    assert_eq!(read(&app, &token, &walk_in["id"]).await.code(), "NOT_FOUND");
    assert_eq!(
        delete(&app, &token, &walk_in["id"]).await.code(),
        "NOT_FOUND"
    );

    let booked = app.create_customer(&token, "Bia", "11 92222-2222").await;
    app.insert_appointment(
        &tenant,
        &booked["id"],
        &service["id"],
        now + Duration::days(2),
        "CONFIRMED",
    )
    .await;
    let refused = delete(&app, &token, &booked["id"]).await;
    assert_eq!(refused.code(), "CONFLICT");
    assert_eq!(
        refused.message(),
        "Este cliente possui agendamentos futuros e não pode ser excluído"
    );
    read(&app, &token, &booked["id"]).await.data();

    let pending = app.create_customer(&token, "Caio", "11 93333-3333").await;
    app.insert_appointment(
        &tenant,
        &pending["id"],
        &service["id"],
        now + Duration::hours(3),
        "PENDING",
    )
    .await;
    assert_eq!(
        delete(&app, &token, &pending["id"]).await.code(),
        "CONFLICT"
    );

    // Past or canceled appointments: not blocking by the rule, but the database keeps them and
    // their customer.
    for (name, phone, starts_at, status) in [
        (
            "Dora",
            "11 94444-4444",
            now - Duration::days(3),
            "COMPLETED",
        ),
        ("Edu", "11 95555-5555", now + Duration::days(3), "CANCELED"),
    ] {
        let customer = app.create_customer(&token, name, phone).await;
        app.insert_appointment(&tenant, &customer["id"], &service["id"], starts_at, status)
            .await;
        let refused = delete(&app, &token, &customer["id"]).await;
        assert_eq!(refused.code(), "CONFLICT", "{name}");
        assert_eq!(
            refused.message(),
            "Este cliente possui histórico de agendamentos e não pode ser excluído"
        );
        read(&app, &token, &customer["id"]).await.data();
    }

    // A subscriber without appointments goes with their subscriptions.
    let plan = app.create_plan(&token, "Clube", &[&service["id"]]).await;
    let subscriber = app.create_customer(&token, "Fábio", "11 96666-6666").await;
    let subscription = app.subscribe(&token, &subscriber["id"], &plan["id"]).await;
    delete(&app, &token, &subscriber["id"]).await.data();
    let gone = app
        .gql(
            Some(&token),
            "query($id: ID!) { subscription(id: $id) { id } }",
            json!({"id": subscription["id"]}),
        )
        .await;
    assert_eq!(gone.code(), "NOT_FOUND");
}

/// A page of customers with their status, subscription and plan costs the same number of SQL
/// statements whatever its length.
#[tokio::test]
async fn a_page_of_customers_costs_a_constant_number_of_queries() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let service = app.create_service(&token, "Corte").await;
    let plans = [
        app.create_plan(&token, "Mensal", &[&service["id"]]).await,
        app.create_plan(&token, "Premium", &[&service["id"]]).await,
    ];
    let query = "{ customers(first: 100) { totalCount edges { node { status subscription { id plan { name } } } } } }";
    let mut costs = Vec::new();
    let mut created = 0;
    for target in [5, 60] {
        while created < target {
            let customer = app
                .create_customer(
                    &token,
                    &format!("Cliente {created}"),
                    &format!("11 9{created:04}-0000"),
                )
                .await;
            if created % 3 != 2 {
                let subscription = app
                    .subscribe(&token, &customer["id"], &plans[created % 2]["id"])
                    .await;
                if created % 3 == 1 {
                    app.set_subscription_status(&subscription["id"], "PAST_DUE")
                        .await;
                }
            }
            created += 1;
        }
        let before = app.db_queries();
        let response = app.gql(Some(&token), query, json!({})).await;
        costs.push(app.db_queries() - before);
        let connection = &response.data()["customers"];
        assert_eq!(connection["totalCount"], target);
        let edges = connection["edges"].as_array().unwrap();
        assert_eq!(edges.len(), target);
        for (i, edge) in edges.iter().enumerate() {
            let node = &edge["node"];
            let (status, plan) = match i % 3 {
                0 => ("SUBSCRIBER", Some(["Mensal", "Premium"][i % 2])),
                1 => ("PAST_DUE", Some(["Mensal", "Premium"][i % 2])),
                _ => ("WALK_IN", None),
            };
            assert_eq!(node["status"], status, "customer {i}");
            assert_eq!(
                node["subscription"]["plan"]["name"].as_str(),
                plan,
                "customer {i}"
            );
        }
    }
    eprintln!("statements for a page of 5 and of 60 customers: {costs:?}");
    assert_eq!(
        costs[0], costs[1],
        "statements for 5 vs 60 customers: {costs:?}"
    );
}

#[tokio::test]
async fn another_tenant_cannot_reach_customers() {
    let app = spawn_app().await;
    let (token_a, _) = app.tenant_owner().await;
    let (token_b, _) = app.tenant_owner().await;
    let customer = create(
        &app,
        &token_a,
        json!({"name": "Ana", "phone": "11987654321", "email": "ana@salon.com"}),
    )
    .await
    .data()["createCustomer"]
        .clone();
    app.create_customer(&token_b, "Bia", "21 99999-8888").await;

    let id = json!({"id": customer["id"]});
    for query in [
        "query($id: ID!) { customer(id: $id) { id } }",
        "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Invasor\", email: null}) { id } }",
        "mutation($id: ID!) { deleteCustomer(id: $id) }",
    ] {
        let response = app.gql(Some(&token_b), query, id.clone()).await;
        assert_eq!(response.code(), "NOT_FOUND", "{query}");
        assert!(response.read_nothing(), "{query}: {}", response.body);
    }
    for search in [None, Some("ana"), Some("98765"), Some("salon")] {
        let (names, connection) = page(&app, &token_b, json!({"s": search})).await;
        assert!(!names.contains(&"Ana".to_owned()), "{search:?}");
        assert_eq!(connection["totalCount"], names.len(), "{search:?}");
    }
    // A's customer as a cursor only positions B's own list.
    let cursor = encode_cursor(uuid::Uuid::parse_str(customer["id"].as_str().unwrap()).unwrap());
    let (names, _) = page(&app, &token_b, json!({"after": cursor})).await;
    assert_eq!(names, ["Bia"]);

    let a = read(&app, &token_a, &customer["id"]).await;
    let a = &a.data()["customer"];
    assert_eq!(a["name"], "Ana");
    assert_eq!(a["email"], "ana@salon.com");
    assert_eq!(a["updatedAt"], customer["updatedAt"]);
}

#[tokio::test]
async fn a_failed_lookup_nulls_only_its_field() {
    let app = spawn_app().await;
    let (token, tenant) = app.tenant_owner().await;
    let answer = app
        .gql(
            Some(&token),
            "query($id: ID!) { customer(id: $id) { id } service(id: $id) { id } tenant { id } }",
            json!({"id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(answer.code(), "NOT_FOUND");
    assert!(answer.body["data"]["customer"].is_null());
    assert!(answer.body["data"]["service"].is_null());
    assert_eq!(answer.body["data"]["tenant"]["id"], tenant);
    // The schema's roots and the subscription object have the names frontend tools expect.
    let names = app
        .gql(
            None,
            "{ __schema { queryType { name } mutationType { name } subscriptionType { name } } s: __type(name: \"CustomerSubscription\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        names.data(),
        &json!({"__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}, "subscriptionType": {"name": "Subscription"}}, "s": {"name": "CustomerSubscription"}})
    );
}
