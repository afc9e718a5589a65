use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::json;
use uuid::Uuid;
use waba_bot::kernel::viewer::Role;

use crate::helpers::{meta, spawn_app, unique_phone};

const TENANT: &str = "{ tenant { id name phone email timeZone saasStatus aiEnabled aiCustomPrompt preferredPaymentProvider infinitePayTag whatsappConnected mercadoPagoConnected saasPlan { slug price { amount currency } } } }";

#[tokio::test]
async fn onboarding_creates_the_tenant_and_links_the_user() {
    let app = spawn_app().await;
    let session = app
        .user_session("owner@salon.test", Role::Tenant, true)
        .await;
    let token = session["accessToken"].as_str().unwrap();
    let tenant = app.onboard(token, "(11) 98765-4321").await;
    assert_eq!(tenant["name"], "Barbearia do Zé");
    assert_eq!(tenant["phone"], "+5511987654321");
    assert_eq!(tenant["email"], "owner@salon.test");
    assert_eq!(tenant["timeZone"], "America/Sao_Paulo");
    assert_eq!(tenant["saasStatus"], "PENDING");

    let me = app
        .gql(
            Some(token),
            "{ me { onboardingStatus tenant { id name } } }",
            json!({}),
        )
        .await;
    assert_eq!(me.data()["me"]["onboardingStatus"], "COMPLETE");
    assert_eq!(me.data()["me"]["tenant"]["id"], tenant["id"]);

    let mine = app.gql(Some(token), TENANT, json!({})).await;
    let mine = &mine.data()["tenant"];
    assert_eq!(
        mine["saasPlan"],
        json!({"slug": "starter-monthly", "price": {"amount": "49.00", "currency": "BRL"}})
    );
    assert_eq!(mine["aiEnabled"], true);
    assert_eq!(mine["whatsappConnected"], false);
    assert_eq!(mine["mercadoPagoConnected"], false);

    let twice = app
        .gql(
            Some(token),
            "mutation($i: OnboardTenantInput!) { onboardTenant(input: $i) { id } }",
            json!({"i": {"name": "Outra", "phone": unique_phone(), "saasPlanId": app.saas_plan_id("starter-yearly").await}}),
        )
        .await;
    assert_eq!(twice.code(), "CONFLICT");
}

#[tokio::test]
async fn onboarding_requires_a_verified_email() {
    let app = spawn_app().await;
    let session = app
        .user_session("owner@salon.test", Role::Tenant, false)
        .await;
    let response = app
        .gql(
            session["accessToken"].as_str(),
            "mutation($i: OnboardTenantInput!) { onboardTenant(input: $i) { id } }",
            json!({"i": {"name": "Salão", "phone": unique_phone(), "saasPlanId": app.saas_plan_id("starter-monthly").await}}),
        )
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
    assert_eq!(
        response.message(),
        "Email não verificado. Por favor, verifique seu email antes de continuar."
    );
}

#[tokio::test]
async fn onboarding_validates_its_input() {
    let app = spawn_app().await;
    let session = app
        .user_session("owner@salon.test", Role::Tenant, true)
        .await;
    let token = session["accessToken"].as_str();
    let plan = app.saas_plan_id("starter-monthly").await;
    let query = "mutation($i: OnboardTenantInput!) { onboardTenant(input: $i) { id } }";
    let cases = [
        (
            json!({"name": "Salão", "phone": "12", "saasPlanId": plan}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"name": "Salão", "phone": unique_phone(), "saasPlanId": plan, "timeZone": "Mars/Base"}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"name": " ", "phone": unique_phone(), "saasPlanId": plan}),
            "BAD_USER_INPUT",
        ),
        (
            json!({"name": "Salão", "phone": unique_phone(), "saasPlanId": Uuid::now_v7().to_string()}),
            "NOT_FOUND",
        ),
        (
            json!({"name": "Salão", "phone": unique_phone(), "saasPlanId": "starter-monthly"}),
            "NOT_FOUND",
        ),
    ];
    for (input, code) in cases {
        assert_eq!(
            app.gql(token, query, json!({"i": input})).await.code(),
            code,
            "{input}"
        );
    }
    let custom_zone = app
        .gql(token, "mutation($i: OnboardTenantInput!) { onboardTenant(input: $i) { timeZone } }", json!({"i": {"name": "Salão", "phone": unique_phone(), "saasPlanId": plan, "timeZone": "America/Manaus"}}))
        .await;
    assert_eq!(
        custom_zone.data()["onboardTenant"]["timeZone"],
        "America/Manaus"
    );
}

#[tokio::test]
async fn duplicate_phone_or_email_is_a_conflict_with_the_portuguese_message() {
    let app = spawn_app().await;
    let first = app
        .user_session("first@salon.test", Role::Tenant, true)
        .await;
    app.onboard(first["accessToken"].as_str().unwrap(), "+55 11 98765-4321")
        .await;

    let second = app
        .user_session("second@salon.test", Role::Tenant, true)
        .await;
    let query = "mutation($i: OnboardTenantInput!) { onboardTenant(input: $i) { id } }";
    let plan = app.saas_plan_id("starter-monthly").await;
    // Same mobile written the way WhatsApp sends it, without the ninth digit.
    let phone = app
        .gql(
            second["accessToken"].as_str(),
            query,
            json!({"i": {"name": "Salão", "phone": "551187654321", "saasPlanId": plan}}),
        )
        .await;
    assert_eq!(phone.code(), "CONFLICT");
    assert_eq!(phone.message(), "Este telefone já está em uso");

    // A tenant already registered with the second user's e-mail (e.g. created by an admin).
    let now = chrono::Utc::now();
    entity::tenants::Entity::insert(entity::tenants::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set("Existente".into()),
        phone: Set("+5521988887777".into()),
        email: Set("second@salon.test".into()),
        time_zone: Set("America/Sao_Paulo".into()),
        saas_plan_id: Set(Uuid::parse_str(&plan).unwrap()),
        saas_status: Set("ACTIVE".into()),
        ai_enabled: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .unwrap();
    let email = app
        .gql(
            second["accessToken"].as_str(),
            query,
            json!({"i": {"name": "Salão", "phone": unique_phone(), "saasPlanId": plan}}),
        )
        .await;
    assert_eq!(email.code(), "CONFLICT");
    assert_eq!(email.message(), "Este email já está em uso");
}

#[tokio::test]
async fn update_tenant_changes_settings_and_clears_nullable_ones() {
    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let query = "mutation($i: UpdateTenantInput!) { updateTenant(input: $i) { name phone timeZone aiEnabled aiCustomPrompt preferredPaymentProvider infinitePayTag } }";
    let updated = app
        .gql(
            Some(&token),
            query,
            json!({"i": {"name": "  Salão da Ana ", "phone": "(21) 99876-5432", "timeZone": "America/Recife", "aiEnabled": false,
                          "aiCustomPrompt": "Seja breve.", "preferredPaymentProvider": "INFINITE_PAY", "infinitePayTag": "$salao_ana"}}),
        )
        .await;
    assert_eq!(
        updated.data()["updateTenant"],
        json!({"name": "Salão da Ana", "phone": "+5521998765432", "timeZone": "America/Recife", "aiEnabled": false,
               "aiCustomPrompt": "Seja breve.", "preferredPaymentProvider": "INFINITE_PAY", "infinitePayTag": "salao_ana"})
    );
    let cleared = app
        .gql(
            Some(&token),
            query,
            json!({"i": {"preferredPaymentProvider": null, "infinitePayTag": null}}),
        )
        .await;
    let cleared = &cleared.data()["updateTenant"];
    assert!(cleared["preferredPaymentProvider"].is_null() && cleared["infinitePayTag"].is_null());
    assert_eq!(cleared["name"], "Salão da Ana");
    assert_eq!(cleared["aiCustomPrompt"], "Seja breve.");

    for bad in [
        json!({"timeZone": "Nowhere"}),
        json!({"phone": "abc"}),
        json!({"infinitePayTag": "has space"}),
        json!({"name": "x"}),
    ] {
        assert_eq!(
            app.gql(Some(&token), query, json!({"i": bad})).await.code(),
            "BAD_USER_INPUT",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn whatsapp_credentials_are_encrypted_and_only_exposed_as_a_flag() {
    let app = spawn_app().await;
    meta::accept_credentials(&app.meta).await;
    let (token, tenant_id) = app.tenant_owner().await;
    let connected = app
        .gql(
            Some(&token),
            "mutation($i: ConnectWhatsAppInput!) { connectWhatsApp(input: $i) { whatsappConnected whatsappPhoneNumberId } }",
            json!({"i": {"wabaId": meta::WABA_ID, "phoneNumberId": meta::PHONE_NUMBER_ID, "accessToken": meta::TOKEN}}),
        )
        .await;
    assert_eq!(
        connected.data()["connectWhatsApp"],
        json!({"whatsappConnected": true, "whatsappPhoneNumberId": meta::PHONE_NUMBER_ID})
    );

    let row = entity::tenants::Entity::find_by_id(Uuid::parse_str(&tenant_id).unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let stored = row.whatsapp_token_enc.unwrap();
    assert!(!stored.contains("EAAG") && !stored.contains("token"));
    use secrecy::ExposeSecret;
    assert_eq!(
        app.state.cipher.decrypt(&stored).unwrap().expose_secret(),
        meta::TOKEN
    );

    let schema = waba_bot::schema::sdl();
    let tenant_type = schema
        .split("type Tenant {")
        .nth(1)
        .unwrap()
        .split("\n}")
        .next()
        .unwrap();
    let fields: Vec<&str> = tenant_type
        .lines()
        .filter(|l| l.contains(':') && !l.trim_start().starts_with('"'))
        .collect();
    assert!(
        fields
            .iter()
            .any(|f| f.trim_start().starts_with("whatsappConnected"))
    );
    assert!(
        !fields
            .iter()
            .any(|f| f.to_lowercase().contains("token") || f.contains("Enc")),
        "{fields:?}"
    );

    let disconnected = app
        .gql(
            Some(&token),
            "mutation { disconnectWhatsApp { whatsappConnected } }",
            json!({}),
        )
        .await;
    assert_eq!(
        disconnected.data()["disconnectWhatsApp"]["whatsappConnected"],
        false
    );
}

const CONNECT: &str = "mutation($i: ConnectWhatsAppInput!) { connectWhatsApp(input: $i) { whatsappConnected whatsappStatus whatsappDisplayPhoneNumber whatsappVerifiedName whatsappQualityRating } }";

fn credentials(token: &str) -> serde_json::Value {
    json!({"i": {"wabaId": meta::WABA_ID, "phoneNumberId": meta::PHONE_NUMBER_ID, "accessToken": token}})
}

/// Connecting checks the credentials with Meta (the number behind the id, then the webhook
/// subscription, both with the tenant's token) and keeps what Meta says about the number.
#[tokio::test]
async fn connecting_whatsapp_checks_the_credentials_with_meta() {
    let app = spawn_app().await;
    meta::accept_credentials(&app.meta).await;
    let (token, _) = app.tenant_owner().await;
    let connected = app
        .gql(Some(&token), CONNECT, credentials(meta::TOKEN))
        .await;
    assert_eq!(
        connected.data()["connectWhatsApp"],
        json!({
            "whatsappConnected": true,
            "whatsappStatus": "CONNECTED",
            "whatsappDisplayPhoneNumber": "+55 11 91234-5678",
            "whatsappVerifiedName": "Salão da Maria",
            "whatsappQualityRating": "GREEN",
        })
    );
    let paths: Vec<String> = app
        .meta
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        paths,
        [
            format!("GET /v24.0/{}", meta::PHONE_NUMBER_ID),
            format!("POST /v24.0/{}/subscribed_apps", meta::WABA_ID),
        ]
    );

    let disconnected = app
        .gql(
            Some(&token),
            "mutation { disconnectWhatsApp { whatsappStatus whatsappDisplayPhoneNumber } }",
            json!({}),
        )
        .await;
    assert_eq!(
        disconnected.data()["disconnectWhatsApp"],
        json!({"whatsappStatus": "DISCONNECTED", "whatsappDisplayPhoneNumber": null})
    );
}

/// With the platform's own token (`WABA_TOKEN`) a tenant may connect without one: the platform's
/// speaks for it to Meta, and none is stored for the tenant. Without either, a token is required.
#[tokio::test]
async fn the_platform_token_speaks_for_a_tenant_connected_without_its_own() {
    let without_token =
        |i: &mut serde_json::Value| i["i"].as_object_mut().unwrap().remove("accessToken");
    let app = crate::helpers::spawn_app_with_settings(&[("WABA_TOKEN", meta::TOKEN)]).await;
    meta::accept_credentials(&app.meta).await;
    let (token, tenant) = app.tenant_owner().await;
    let mut input = credentials("");
    without_token(&mut input);
    let connected = app.gql(Some(&token), CONNECT, input).await;
    assert_eq!(
        connected.data()["connectWhatsApp"]["whatsappStatus"],
        "CONNECTED"
    );
    let row = entity::tenants::Entity::find_by_id(tenant.parse::<uuid::Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.phone_number_id.as_deref(), Some(meta::PHONE_NUMBER_ID));
    assert_eq!(row.whatsapp_token_enc, None);

    let app = spawn_app().await;
    let (token, _) = app.tenant_owner().await;
    let mut input = credentials("");
    without_token(&mut input);
    let refused = app.gql(Some(&token), CONNECT, input).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(app.meta.received_requests().await.unwrap().is_empty());
}

/// A token Meta refuses is the owner's input error, with Meta's reason, and nothing is stored;
/// ids that are not Meta's digits never reach Meta.
#[tokio::test]
async fn credentials_meta_refuses_are_not_stored() {
    let app = spawn_app().await;
    meta::refuse_tokens(&app.meta).await;
    let (token, _) = app.tenant_owner().await;
    let refused = app
        .gql(Some(&token), CONNECT, credentials("EAAG-expired"))
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(
        refused.message().contains("Session has expired"),
        "{}",
        refused.message()
    );
    let tenant = app
        .gql(
            Some(&token),
            "{ tenant { whatsappConnected whatsappStatus } }",
            json!({}),
        )
        .await;
    assert_eq!(
        tenant.data()["tenant"],
        json!({"whatsappConnected": false, "whatsappStatus": "DISCONNECTED"})
    );

    let asked = app.meta.received_requests().await.unwrap().len();
    let mut input = credentials(meta::TOKEN);
    input["i"]["phoneNumberId"] = json!("../../me");
    let refused = app.gql(Some(&token), CONNECT, input).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert_eq!(app.meta.received_requests().await.unwrap().len(), asked);
}

#[tokio::test]
async fn admins_list_and_read_tenants_others_cannot() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.tenant_owner().await.1);
    }
    let admin = app.admin_token().await;
    let page = "query($f: Int, $a: String) { tenants(first: $f, after: $a) { totalCount edges { cursor node { id saasPlan { slug } } } pageInfo { hasNextPage endCursor } } }";
    let first = app.gql(Some(&admin), page, json!({"f": 2})).await;
    let first = &first.data()["tenants"];
    assert_eq!(first["totalCount"], 3);
    assert_eq!(first["edges"].as_array().unwrap().len(), 2);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["edges"][0]["node"]["id"], ids[0]);
    assert_eq!(
        first["edges"][0]["node"]["saasPlan"]["slug"],
        "starter-monthly"
    );
    let second = app
        .gql(
            Some(&admin),
            page,
            json!({"f": 2, "a": first["pageInfo"]["endCursor"]}),
        )
        .await;
    let second = &second.data()["tenants"];
    assert_eq!(second["edges"].as_array().unwrap().len(), 1);
    assert_eq!(second["edges"][0]["node"]["id"], ids[2]);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    let by_id = app
        .gql(
            Some(&admin),
            "query($id: ID!) { tenantById(id: $id) { id } }",
            json!({"id": ids[1]}),
        )
        .await;
    assert_eq!(by_id.data()["tenantById"]["id"], ids[1]);
    let missing = app
        .gql(
            Some(&admin),
            "query($id: ID!) { tenantById(id: $id) { id } }",
            json!({"id": Uuid::now_v7()}),
        )
        .await;
    assert_eq!(missing.code(), "NOT_FOUND");
    assert_eq!(
        app.gql(Some(&admin), page, json!({"f": 0})).await.code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.gql(Some(&admin), page, json!({"a": "garbage"}))
            .await
            .code(),
        "BAD_USER_INPUT"
    );

    let (owner, _) = app.tenant_owner().await;
    assert_eq!(
        app.gql(Some(&owner), page, json!({})).await.code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.gql(None, page, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn users_without_a_tenant_are_forbidden_tenant_operations() {
    let app = spawn_app().await;
    let session = app.user_session("new@salon.test", Role::Tenant, true).await;
    let token = session["accessToken"].as_str();
    assert_eq!(app.gql(token, TENANT, json!({})).await.code(), "FORBIDDEN");
    let update = app
        .gql(
            token,
            "mutation { updateTenant(input: {name: \"Nome\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(update.code(), "FORBIDDEN");
}
