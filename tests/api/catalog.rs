//! Services and customer plans: the tenant's catalog.

use serde_json::{Value, json};
use uuid::Uuid;
use waba_bot::kernel::viewer::Role;

use crate::helpers::{GqlResponse, TestApp, spawn_app};

const SERVICE: &str = "id name description price { amount currency } durationMinutes active archived createdAt updatedAt";
const PLAN: &str = "id name description price { amount currency } interval maxAppointmentsPerCycle services { id name } archived createdAt updatedAt";

async fn create_service(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!(
            "mutation($i: CreateServiceInput!) {{ createService(input: $i) {{ {SERVICE} }} }}"
        ),
        json!({ "i": input }),
    )
    .await
}

async fn update_service(app: &TestApp, token: &str, id: &Value, input: Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("mutation($id: ID!, $i: UpdateServiceInput!) {{ updateService(id: $id, input: $i) {{ {SERVICE} }} }}"),
        json!({ "id": id, "i": input }),
    )
    .await
}

async fn service_names(app: &TestApp, token: &str, include_inactive: bool) -> Vec<String> {
    app.gql(
        Some(token),
        "query($all: Boolean!) { services(includeInactive: $all) { name } }",
        json!({ "all": include_inactive }),
    )
    .await
    .data()["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn create_plan(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("mutation($i: CreatePlanInput!) {{ createPlan(input: $i) {{ {PLAN} }} }}"),
        json!({ "i": input }),
    )
    .await
}

async fn update_plan(app: &TestApp, token: &str, id: &Value, input: Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("mutation($id: ID!, $i: UpdatePlanInput!) {{ updatePlan(id: $id, input: $i) {{ {PLAN} }} }}"),
        json!({ "id": id, "i": input }),
    )
    .await
}

async fn plan(app: &TestApp, token: &str, id: &Value) -> GqlResponse {
    app.gql(
        Some(token),
        &format!("query($id: ID!) {{ plan(id: $id) {{ {PLAN} }} }}"),
        json!({ "id": id }),
    )
    .await
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn services_are_created_listed_updated_and_archived() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let created = create_service(
        &app,
        &token,
        json!({"name": "  Corte masculino ", "description": "Tesoura e máquina", "price": {"amount": "49.9", "currency": "BRL"}, "durationMinutes": 45}),
    )
    .await;
    let service = created.data()["createService"].clone();
    assert_eq!(service["name"], "Corte masculino");
    assert_eq!(service["description"], "Tesoura e máquina");
    assert_eq!(
        service["price"],
        json!({"amount": "49.90", "currency": "BRL"})
    );
    assert_eq!(service["durationMinutes"], 45);
    assert_eq!(
        (service["active"].clone(), service["archived"].clone()),
        (json!(true), json!(false))
    );

    app.create_service(&token, "barba").await;
    app.create_service(&token, "Alisamento").await;
    assert_eq!(
        service_names(&app, &token, false).await,
        ["Alisamento", "barba", "Corte masculino"]
    );

    let updated = update_service(
        &app,
        &token,
        &service["id"],
        json!({"name": "Corte", "description": null, "price": {"amount": "0"}, "durationMinutes": 720, "active": false}),
    )
    .await;
    let updated = &updated.data()["updateService"];
    assert_eq!(updated["name"], "Corte");
    assert!(updated["description"].is_null());
    assert_eq!(updated["price"]["amount"], "0.00");
    assert_eq!(updated["durationMinutes"], 720);
    assert_eq!(updated["active"], false);
    assert_eq!(
        service_names(&app, &token, false).await,
        ["Alisamento", "barba"]
    );
    assert_eq!(
        service_names(&app, &token, true).await,
        ["Alisamento", "barba", "Corte"]
    );
    // Omitted fields stay.
    let renamed = update_service(&app, &token, &service["id"], json!({"active": true})).await;
    assert_eq!(renamed.data()["updateService"]["name"], "Corte");
    assert_eq!(renamed.data()["updateService"]["durationMinutes"], 720);

    let archive = format!("mutation($id: ID!) {{ archiveService(id: $id) {{ {SERVICE} }} }}");
    let archived = app
        .gql(Some(&token), &archive, json!({"id": service["id"]}))
        .await;
    let archived = archived.data()["archiveService"].clone();
    assert_eq!(
        (archived["active"].clone(), archived["archived"].clone()),
        (json!(false), json!(true))
    );
    let again = app
        .gql(Some(&token), &archive, json!({"id": service["id"]}))
        .await;
    assert_eq!(
        again.data()["archiveService"],
        archived,
        "archiving twice changes nothing"
    );
    assert_eq!(
        service_names(&app, &token, true).await,
        ["Alisamento", "barba"]
    );

    // Still readable by id (appointments show it), but it cannot come back.
    let read = app
        .gql(
            Some(&token),
            "query($id: ID!) { service(id: $id) { name archived } }",
            json!({"id": service["id"]}),
        )
        .await;
    assert_eq!(
        read.data()["service"],
        json!({"name": "Corte", "archived": true})
    );
    let reactivate = update_service(&app, &token, &service["id"], json!({"active": true})).await;
    assert_eq!(reactivate.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn service_input_is_validated() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let valid = json!({"name": "Corte", "price": {"amount": "30"}, "durationMinutes": 30});
    let with = |field: &str, value: Value| {
        let mut input = valid.clone();
        input[field] = value;
        input
    };
    for input in [
        with("name", json!("")),
        with("name", json!("   ")),
        with("name", json!("x".repeat(121))),
        with("price", json!({"amount": "-0.01"})),
        with("price", json!({"amount": 49.9})),
        with("price", json!({"amount": "49.999"})),
        with("durationMinutes", json!(4)),
        with("durationMinutes", json!(721)),
        with("durationMinutes", json!(0)),
    ] {
        let response = create_service(&app, &token, input.clone()).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{input}");
    }
    assert!(service_names(&app, &token, true).await.is_empty());

    for input in [
        with("name", json!("x".repeat(120))),
        with("durationMinutes", json!(5)),
        with("durationMinutes", json!(720)),
        with("price", json!({"amount": "0"})),
    ] {
        create_service(&app, &token, input).await.data();
    }

    let service = app.create_service(&token, "Barba").await;
    for input in [
        json!({"durationMinutes": 721}),
        json!({"name": " "}),
        json!({"price": {"amount": "-1"}}),
    ] {
        let response = update_service(&app, &token, &service["id"], input.clone()).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{input}");
    }
    let unchanged = update_service(&app, &token, &service["id"], json!({})).await;
    let unchanged = &unchanged.data()["updateService"];
    assert_eq!(unchanged["name"], "Barba");
    assert_eq!(unchanged["durationMinutes"], 30);
    assert_eq!(unchanged["price"]["amount"], "50.00");
}

#[tokio::test]
async fn plans_cover_the_tenants_services_and_replace_them_as_a_whole() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let corte = app.create_service(&token, "Corte").await;
    let barba = app.create_service(&token, "Barba").await;
    let sobrancelha = app.create_service(&token, "Sobrancelha").await;

    let created = create_plan(
        &app,
        &token,
        json!({"name": " Clube da barba ", "description": "Barba e corte", "price": {"amount": "120.50"}, "interval": "QUARTERLY",
               "serviceIds": [corte["id"], barba["id"], corte["id"]]}),
    )
    .await;
    let plan_value = created.data()["createPlan"].clone();
    assert_eq!(plan_value["name"], "Clube da barba");
    assert_eq!(plan_value["description"], "Barba e corte");
    assert_eq!(
        plan_value["price"],
        json!({"amount": "120.50", "currency": "BRL"})
    );
    assert_eq!(plan_value["interval"], "QUARTERLY");
    assert!(
        plan_value["maxAppointmentsPerCycle"].is_null(),
        "unlimited by default"
    );
    assert_eq!(names(&plan_value["services"]), ["Barba", "Corte"]);
    assert_eq!(plan_value["archived"], false);

    let defaults = create_plan(
        &app,
        &token,
        json!({"name": "Avulso", "price": {"amount": "10"}, "maxAppointmentsPerCycle": 1, "serviceIds": []}),
    )
    .await;
    let defaults = &defaults.data()["createPlan"];
    assert_eq!(defaults["interval"], "MONTHLY");
    assert_eq!(defaults["maxAppointmentsPerCycle"], 1);
    assert_eq!(defaults["services"], json!([]));

    let listed = app
        .gql(
            Some(&token),
            "{ plans { name services { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.data()["plans"],
        json!([
            {"name": "Avulso", "services": []},
            {"name": "Clube da barba", "services": [{"name": "Barba"}, {"name": "Corte"}]},
        ])
    );

    let id = &plan_value["id"];
    let replaced = update_plan(
        &app,
        &token,
        id,
        json!({"serviceIds": [sobrancelha["id"]], "maxAppointmentsPerCycle": 4, "interval": "YEARLY", "description": null}),
    )
    .await;
    let replaced = &replaced.data()["updatePlan"];
    assert_eq!(names(&replaced["services"]), ["Sobrancelha"]);
    assert_eq!(replaced["maxAppointmentsPerCycle"], 4);
    assert_eq!(replaced["interval"], "YEARLY");
    assert!(replaced["description"].is_null());
    assert_eq!(replaced["name"], "Clube da barba");

    let kept = update_plan(
        &app,
        &token,
        id,
        json!({"name": "Clube", "maxAppointmentsPerCycle": null, "price": {"amount": "99"}}),
    )
    .await;
    let kept = &kept.data()["updatePlan"];
    assert_eq!(
        names(&kept["services"]),
        ["Sobrancelha"],
        "services stay when not given"
    );
    assert!(kept["maxAppointmentsPerCycle"].is_null());
    assert_eq!(kept["price"]["amount"], "99.00");

    let emptied = update_plan(&app, &token, id, json!({"serviceIds": []})).await;
    assert_eq!(emptied.data()["updatePlan"]["services"], json!([]));

    let archive = "mutation($id: ID!) { archivePlan(id: $id) { archived updatedAt } }";
    let archived = app.gql(Some(&token), archive, json!({"id": id})).await;
    let archived = archived.data()["archivePlan"].clone();
    assert_eq!(archived["archived"], true);
    let again = app.gql(Some(&token), archive, json!({"id": id})).await;
    assert_eq!(
        again.data()["archivePlan"],
        archived,
        "archiving twice changes nothing"
    );
    let listed = app.gql(Some(&token), "{ plans { name } }", json!({})).await;
    assert_eq!(listed.data()["plans"], json!([{"name": "Avulso"}]));
    assert_eq!(
        plan(&app, &token, id).await.data()["plan"]["archived"],
        true
    );
}

#[tokio::test]
async fn plan_input_is_validated_and_nothing_is_written_on_error() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let corte = app.create_service(&token, "Corte").await;
    let old = app.create_service(&token, "Antigo").await;
    app.gql(
        Some(&token),
        "mutation($id: ID!) { archiveService(id: $id) { id } }",
        json!({"id": old["id"]}),
    )
    .await
    .data();
    let valid = json!({"name": "Plano", "price": {"amount": "80"}, "serviceIds": [corte["id"]]});
    let with = |field: &str, value: Value| {
        let mut input = valid.clone();
        input[field] = value;
        input
    };
    for (input, code) in [
        (with("name", json!(" ")), "BAD_USER_INPUT"),
        (with("name", json!("x".repeat(121))), "BAD_USER_INPUT"),
        (with("price", json!({"amount": "-5"})), "BAD_USER_INPUT"),
        (with("maxAppointmentsPerCycle", json!(0)), "BAD_USER_INPUT"),
        (with("maxAppointmentsPerCycle", json!(-1)), "BAD_USER_INPUT"),
        (with("interval", json!("WEEKLY")), "BAD_USER_INPUT"),
        (
            with("serviceIds", json!([corte["id"], old["id"]])),
            "BAD_USER_INPUT",
        ),
        (
            with(
                "serviceIds",
                json!([corte["id"], Uuid::now_v7().to_string()]),
            ),
            "NOT_FOUND",
        ),
        (with("serviceIds", json!(["not-an-id"])), "NOT_FOUND"),
    ] {
        let response = create_plan(&app, &token, input.clone()).await;
        assert_eq!(response.code(), code, "{input}");
    }
    let plans = app.gql(Some(&token), "{ plans { id } }", json!({})).await;
    assert_eq!(plans.data()["plans"], json!([]), "no plan was created");

    let plan_value = create_plan(&app, &token, valid.clone()).await.data()["createPlan"].clone();
    for (input, code) in [
        (
            json!({"name": "Novo", "maxAppointmentsPerCycle": 0}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"name": "Novo", "serviceIds": [old["id"]]}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"name": "Novo", "serviceIds": [Uuid::now_v7().to_string()]}),
            "NOT_FOUND",
        ),
    ] {
        let response = update_plan(&app, &token, &plan_value["id"], input.clone()).await;
        assert_eq!(response.code(), code, "{input}");
    }
    let unchanged = plan(&app, &token, &plan_value["id"]).await;
    assert_eq!(unchanged.data()["plan"]["name"], "Plano");
    assert_eq!(names(&unchanged.data()["plan"]["services"]), ["Corte"]);
}

#[tokio::test]
async fn plan_services_load_in_a_constant_number_of_queries() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let a = app.create_service(&token, "A").await;
    let b = app.create_service(&token, "B").await;
    let query = "{ plans { name services { name } } }";
    let mut costs = Vec::new();
    let mut count = 0;
    for more in [2, 38] {
        for _ in 0..more {
            app.create_plan(&token, "Plano", &[&a["id"], &b["id"]])
                .await;
        }
        count += more;
        let before = app.db_queries();
        let plans = app.gql(Some(&token), query, json!({})).await;
        costs.push(app.db_queries() - before);
        let plans = plans.data()["plans"].as_array().unwrap().clone();
        assert_eq!(plans.len(), count);
        assert!(plans.iter().all(|p| names(&p["services"]) == ["A", "B"]));
    }
    assert_eq!(
        costs[0], costs[1],
        "statements for 2 plans vs 40 plans: {costs:?}"
    );
}

#[tokio::test]
async fn the_catalog_needs_a_tenant() {
    let app = spawn_app().await;
    assert_eq!(
        app.gql(None, "{ services { id } }", json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    let session = app.user_session("new@salon.test", Role::Tenant, true).await;
    let token = session["accessToken"].as_str();
    assert_eq!(
        app.gql(token, "{ plans { id } }", json!({})).await.code(),
        "FORBIDDEN"
    );
    let create = app
        .gql(
            token,
            "mutation { createService(input: {name: \"X\", price: {amount: \"1\"}, durationMinutes: 30}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(create.code(), "FORBIDDEN");
}

#[tokio::test]
async fn another_tenant_cannot_reach_the_catalog() {
    let app = spawn_app().await;
    let (token_a, _) = app.tenant_owner().await;
    let (token_b, _) = app.tenant_owner().await;
    let service = app.create_service(&token_a, "Corte").await;
    let plan_value = app.create_plan(&token_a, "Clube", &[&service["id"]]).await;
    let own = app.create_service(&token_b, "Barba").await;
    let id = json!({"id": service["id"]});
    let plan_id = json!({"id": plan_value["id"]});

    for (query, vars) in [
        ("query($id: ID!) { service(id: $id) { id } }", id.clone()),
        (
            "mutation($id: ID!) { updateService(id: $id, input: {name: \"Invasor\", active: false}) { id } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { archiveService(id: $id) { id } }",
            id.clone(),
        ),
        ("query($id: ID!) { plan(id: $id) { id } }", plan_id.clone()),
        (
            "mutation($id: ID!) { updatePlan(id: $id, input: {name: \"Invasor\", serviceIds: []}) { id } }",
            plan_id.clone(),
        ),
        (
            "mutation($id: ID!) { archivePlan(id: $id) { id } }",
            plan_id.clone(),
        ),
        (
            "mutation($s: ID!) { createPlan(input: {name: \"Roubado\", price: {amount: \"1\"}, serviceIds: [$s]}) { id } }",
            json!({"s": service["id"]}),
        ),
        (
            "mutation($id: ID!, $s: ID!) { updatePlan(id: $id, input: {serviceIds: [$s]}) { id } }",
            json!({"id": plan_value["id"], "s": own["id"]}),
        ),
    ] {
        let response = app.gql(Some(&token_b), query, vars).await;
        assert_eq!(response.code(), "NOT_FOUND", "{query}");
        assert!(response.read_nothing(), "{query}: {}", response.body);
    }
    // B's own plan cannot cover A's service either.
    let own_plan = app.create_plan(&token_b, "Meu", &[&own["id"]]).await;
    let stolen = update_plan(
        &app,
        &token_b,
        &own_plan["id"],
        json!({"serviceIds": [service["id"]]}),
    )
    .await;
    assert_eq!(stolen.code(), "NOT_FOUND");
    assert_eq!(
        names(&plan(&app, &token_b, &own_plan["id"]).await.data()["plan"]["services"]),
        ["Barba"]
    );

    assert_eq!(service_names(&app, &token_b, true).await, ["Barba"]);
    let plans_b = app
        .gql(Some(&token_b), "{ plans { name } }", json!({}))
        .await;
    assert_eq!(plans_b.data()["plans"], json!([{"name": "Meu"}]));

    // A's rows are as they were.
    assert_eq!(service_names(&app, &token_a, false).await, ["Corte"]);
    let a_plan = plan(&app, &token_a, &plan_value["id"]).await;
    let a_plan = &a_plan.data()["plan"];
    assert_eq!(a_plan["name"], "Clube");
    assert_eq!(a_plan["archived"], false);
    assert_eq!(names(&a_plan["services"]), ["Corte"]);
}

#[tokio::test]
async fn prices_are_bounded_and_list_arguments_are_short() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let priced =
        |amount: &str| json!({"name": "Corte", "price": {"amount": amount}, "durationMinutes": 30});
    let refused = create_service(&app, &token, priced("1000000.01")).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert_eq!(refused.message(), "price must be at most 1000000.00");
    // An amount that does not fit in 64-bit cents is refused the same way, not an INTERNAL.
    let huge = create_service(&app, &token, priced("92233720368547758.07")).await;
    assert_eq!(huge.code(), "BAD_USER_INPUT");
    let top = create_service(&app, &token, priced("1000000.00")).await;
    assert_eq!(top.data()["createService"]["price"]["amount"], "1000000.00");

    let ids: Vec<String> = (0..101).map(|_| Uuid::now_v7().to_string()).collect();
    let long = create_plan(
        &app,
        &token,
        json!({"name": "Mensal", "price": {"amount": "99"}, "interval": "MONTHLY", "serviceIds": ids}),
    )
    .await;
    assert_eq!(long.code(), "BAD_USER_INPUT");
    assert!(long.message().contains("100"), "{}", long.message());
}
