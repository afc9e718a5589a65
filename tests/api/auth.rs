use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use waba_bot::kernel::viewer::Role;

use crate::helpers::{spawn_app, spawn_app_with_settings};

const ME: &str = "{ me { id email role emailVerified onboardingStatus tenant { id } } }";

#[tokio::test]
async fn login_returns_a_session_that_authenticates_me() {
    let app = spawn_app().await;
    let session = app
        .user_session("Ana@Salon.test", Role::Tenant, false)
        .await;
    assert_eq!(session["user"]["email"], "ana@salon.test");
    assert!(session["refreshToken"].as_str().unwrap().len() >= 40);
    let me = app
        .gql(session["accessToken"].as_str(), ME, json!({}))
        .await;
    let me = &me.data()["me"];
    assert_eq!(me["email"], "ana@salon.test");
    assert_eq!(me["role"], "TENANT");
    assert_eq!(me["emailVerified"], false);
    assert_eq!(me["onboardingStatus"], "PENDING");
    assert!(me["tenant"].is_null());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_generic_error() {
    let app = spawn_app().await;
    app.user_session("ana@salon.test", Role::Tenant, true).await;
    let query =
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    let wrong = app
        .gql(
            None,
            query,
            json!({"e": "ana@salon.test", "p": "wrong password"}),
        )
        .await;
    let unknown = app
        .gql(
            None,
            query,
            json!({"e": "nobody@salon.test", "p": "correct horse battery"}),
        )
        .await;
    let malformed = app
        .gql(None, query, json!({"e": "not-an-email", "p": "x"}))
        .await;
    for response in [&wrong, &unknown, &malformed] {
        assert_eq!(response.code(), "UNAUTHENTICATED");
        assert_eq!(response.message(), "Invalid credentials");
    }
}

#[tokio::test]
async fn bcrypt_hashes_from_the_previous_system_log_in_and_are_upgraded() {
    let app = spawn_app().await;
    let now = chrono::Utc::now();
    entity::users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set("legacy@salon.test".into()),
        password_hash: Set(Some(bcrypt::hash("senha-antiga-123", 10).unwrap())),
        role: Set("TENANT".into()),
        name: Set(Some("Legado".into())),
        avatar_url: Set(None),
        google_sub: Set(None),
        email_verified: Set(true),
        is_active: Set(true),
        tenant_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let session = app.login("legacy@salon.test", "senha-antiga-123").await;
    assert_eq!(session["user"]["email"], "legacy@salon.test");
    let stored = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq("legacy@salon.test"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.unwrap().starts_with("$argon2id$"));
    app.login("legacy@salon.test", "senha-antiga-123").await;
}

fn forge(secret: &[u8], algorithm: Algorithm, sub: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": sub, "role": "ADMIN", "iat": now - 10, "exp": now + exp_offset, "jti": Uuid::now_v7()});
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn every_access_token_failure_mode_is_rejected_with_its_code() {
    let app = spawn_app().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let user_id = session["user"]["id"].as_str().unwrap();
    let secret = app.secrets.0.as_bytes();

    let missing = app.gql(None, ME, json!({})).await;
    assert_eq!(missing.code(), "UNAUTHENTICATED");
    let garbage = app.gql(Some("not.a.jwt"), ME, json!({})).await;
    assert_eq!(garbage.code(), "UNAUTHENTICATED");
    let other_key = app
        .gql(
            Some(&forge(
                b"another-secret-another-secret-123",
                Algorithm::HS256,
                user_id,
                600,
            )),
            ME,
            json!({}),
        )
        .await;
    assert_eq!(other_key.code(), "UNAUTHENTICATED");
    let other_alg = app
        .gql(
            Some(&forge(secret, Algorithm::HS512, user_id, 600)),
            ME,
            json!({}),
        )
        .await;
    assert_eq!(other_alg.code(), "UNAUTHENTICATED");
    let valid = forge(secret, Algorithm::HS256, user_id, 600);
    let payload = valid.split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert_eq!(
        app.gql(Some(&none), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    let expired = app
        .gql(
            Some(&forge(secret, Algorithm::HS256, user_id, -5)),
            ME,
            json!({}),
        )
        .await;
    assert_eq!(expired.code(), "TOKEN_EXPIRED");
    let unknown_user = app
        .gql(
            Some(&forge(
                secret,
                Algorithm::HS256,
                &Uuid::now_v7().to_string(),
                600,
            )),
            ME,
            json!({}),
        )
        .await;
    assert_eq!(unknown_user.code(), "UNAUTHENTICATED");
    // A correctly forged token (same key) is accepted: the checks above failed for their reason.
    assert_eq!(
        app.gql(Some(&valid), ME, json!({})).await.data()["me"]["id"],
        user_id
    );
    // Public operations still run when the token is bad.
    let plans = app
        .gql(
            Some(&forge(secret, Algorithm::HS256, user_id, -5)),
            "{ saasPlans { id } }",
            json!({}),
        )
        .await;
    assert_eq!(plans.data()["saasPlans"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn access_tokens_carry_the_documented_claims() {
    let app = spawn_app().await;
    let (token, tenant_id) = app.tenant_owner().await;
    let session = app.gql(Some(&token), ME, json!({})).await;
    let user_id = session.data()["me"]["id"].as_str().unwrap().to_owned();
    // The onboarding token predates the tenant; a fresh login carries `tid`.
    let email = session.data()["me"]["email"].as_str().unwrap().to_owned();
    let fresh = app.login(&email, "correct horse battery").await;
    let access = fresh["accessToken"].as_str().unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        access,
        &jsonwebtoken::DecodingKey::from_secret(app.secrets.0.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["role"], "TENANT");
    assert_eq!(claims["tid"], tenant_id);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert!(claims["jti"].is_string());
}

#[tokio::test]
async fn a_deactivated_users_tokens_stop_working() {
    let app = spawn_app().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let token = session["accessToken"].as_str().unwrap();
    assert!(app.gql(Some(token), ME, json!({})).await.body["errors"].is_null());
    let id = Uuid::parse_str(session["user"]["id"].as_str().unwrap()).unwrap();
    entity::users::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        is_active: Set(false),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    assert_eq!(
        app.gql(Some(token), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    let refresh = app
        .gql(
            None,
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({"t": session["refreshToken"]}),
        )
        .await;
    assert_eq!(refresh.code(), "UNAUTHENTICATED");
}

const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { email } } }";

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = spawn_app().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let first = session["refreshToken"].as_str().unwrap();

    let rotated = app.gql(None, REFRESH, json!({"t": first})).await;
    let second = rotated.data()["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first);
    assert!(
        app.gql(
            rotated.data()["refreshSession"]["accessToken"].as_str(),
            ME,
            json!({})
        )
        .await
        .body["errors"]
            .is_null()
    );

    // Replaying the first token after the grace window (as a thief would) fails and burns the
    // family...
    app.state.clock.advance(chrono::Duration::seconds(31));
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": first})).await.code(),
        "UNAUTHENTICATED"
    );
    // ...so the legitimate holder's newer token is revoked too.
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": second})).await.code(),
        "UNAUTHENTICATED"
    );

    // Other sign-ins are unaffected.
    let other = app.login("ana@salon.test", "correct horse battery").await;
    assert!(
        app.gql(None, REFRESH, json!({"t": other["refreshToken"]}))
            .await
            .body["errors"]
            .is_null()
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_all_get_a_working_session() {
    let app = spawn_app().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let token = session["refreshToken"].as_str().unwrap().to_owned();
    let attempts = (0..20).map(|_| app.gql(None, REFRESH, json!({"t": token})));
    let results = futures_util::future::join_all(attempts).await;
    // Twenty tabs refreshing at once are one client racing itself: nobody is logged out.
    for result in &results {
        let access = result.data()["refreshSession"]["accessToken"].as_str();
        assert!(app.gql(access, ME, json!({})).await.body["errors"].is_null());
    }
    let successor = results[7].data()["refreshSession"]["refreshToken"].clone();
    assert!(app.gql(None, REFRESH, json!({"t": successor})).await.body["errors"].is_null());
}

#[tokio::test]
async fn a_zero_grace_restores_strict_rotation() {
    let app = spawn_app_with_settings(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let first = session["refreshToken"].clone();
    let rotated = app.gql(None, REFRESH, json!({"t": first})).await;
    let second = rotated.data()["refreshSession"]["refreshToken"].clone();
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": first})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": second})).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    assert!(app.logout(&session["refreshToken"]).await);
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": session["refreshToken"]}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_email() {
    let app = spawn_app_with_settings(&[("LOGIN_MAX_ATTEMPTS_PER_EMAIL", "3")]).await;
    app.user_session("ana@salon.test", Role::Tenant, true).await; // attempt 1 (success)
    let query =
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    for _ in 0..2 {
        assert_eq!(
            app.gql(None, query, json!({"e": "ana@salon.test", "p": "nope"}))
                .await
                .code(),
            "UNAUTHENTICATED"
        );
    }
    let limited = app
        .gql(
            None,
            query,
            json!({"e": "ANA@salon.test", "p": "correct horse battery"}),
        )
        .await;
    assert_eq!(limited.code(), "RATE_LIMITED");
    assert!(
        limited.body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // Another e-mail is not affected.
    app.user_session("bia@salon.test", Role::Tenant, true).await;
}

#[tokio::test]
async fn login_is_rate_limited_per_ip() {
    let app = spawn_app_with_settings(&[("LOGIN_MAX_ATTEMPTS_PER_IP", "4")]).await;
    let query =
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    for i in 0..4 {
        let response = app
            .gql(
                None,
                query,
                json!({"e": format!("user{i}@salon.test"), "p": "nope"}),
            )
            .await;
        assert_eq!(response.code(), "UNAUTHENTICATED");
    }
    assert_eq!(
        app.gql(None, query, json!({"e": "fresh@salon.test", "p": "nope"}))
            .await
            .code(),
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn the_hourly_cron_purges_expired_credentials_only() {
    use waba_bot::{domains::auth::jobs::PurgeExpiredCredentials, jobs::CronJob};
    let app = spawn_app().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let live = app.login("ana@salon.test", "correct horse battery").await;

    // An hour from now nothing has expired: both sessions still refresh.
    PurgeExpiredCredentials::run(
        app.state.clone(),
        chrono::Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(
        app.gql(None, REFRESH, json!({"t": live["refreshToken"]}))
            .await
            .body["errors"]
            .is_null()
    );

    // Past the refresh-token lifetime the rows are gone, so even a token that was still unused
    // cannot be presented any more.
    let ttl = app.state.settings.auth.refresh_token_ttl;
    let later =
        chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap() + chrono::Duration::hours(1);
    PurgeExpiredCredentials::run(app.state.clone(), later)
        .await
        .unwrap();
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": session["refreshToken"]}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
    let remaining = entity::refresh_tokens::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        remaining.is_empty(),
        "{} refresh tokens survived",
        remaining.len()
    );
}

/// Logs in with a wrong password through "a proxy" that forwards `forwarded_for`.
async fn login_via(app: &crate::helpers::TestApp, forwarded_for: &str) -> serde_json::Value {
    app.http
        .post(format!("{}/graphql", app.address))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({
            "query": "mutation { login(email: \"x@salon.test\", password: \"nope\") { accessToken } }"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_client_ip_is_the_right_most_address_no_trusted_proxy_added() {
    // The test client connects from 127.0.0.1, the trusted proxy.
    let app = spawn_app_with_settings(&[
        ("LOGIN_MAX_ATTEMPTS_PER_IP", "3"),
        ("LOGIN_MAX_ATTEMPTS_PER_EMAIL", "100"),
        ("TRUSTED_PROXIES", "127.0.0.0/8, ::1"),
    ])
    .await;
    // A client forging the left of the header changes nothing: the proxy appended its address.
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let answer = login_via(&app, &format!("{forged}, 203.0.113.7")).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let limited = login_via(&app, "4.4.4.4, 203.0.113.7").await;
    assert_eq!(limited["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // Another client behind the same proxy has its own budget.
    let other = login_via(&app, "203.0.113.8").await;
    assert_eq!(other["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn without_trusted_proxies_forwarded_for_is_ignored() {
    let app = spawn_app_with_settings(&[
        ("LOGIN_MAX_ATTEMPTS_PER_IP", "2"),
        ("LOGIN_MAX_ATTEMPTS_PER_EMAIL", "100"),
    ])
    .await;
    for forged in ["1.1.1.1", "2.2.2.2"] {
        let answer = login_via(&app, forged).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let limited = login_via(&app, "3.3.3.3").await;
    assert_eq!(limited["errors"][0]["extensions"]["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn logout_ends_the_access_token_of_that_session_only() {
    let app = spawn_app().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let other = app.login("ana@salon.test", "correct horse battery").await;
    let access = session["accessToken"].as_str();
    assert!(app.gql(access, ME, json!({})).await.body["errors"].is_null());

    assert!(app.logout(&session["refreshToken"]).await);
    let after = app.gql(access, ME, json!({})).await;
    assert_eq!(after.code(), "UNAUTHENTICATED");
    assert_eq!(after.message(), "this session has ended");
    // The other sign-in is another session.
    assert!(
        app.gql(other["accessToken"].as_str(), ME, json!({}))
            .await
            .body["errors"]
            .is_null()
    );
}

const DEACTIVATE: &str = "mutation($id: ID!) { deactivateUser(id: $id) { id isActive } }";
const REACTIVATE: &str = "mutation($id: ID!) { reactivateUser(id: $id) { id isActive } }";

#[tokio::test]
async fn admins_deactivate_and_reactivate_users_whose_sessions_end() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.user_session("ana@salon.test", Role::Tenant, true).await;
    let id = session["user"]["id"].clone();
    let access = session["accessToken"].as_str();

    let tenant_try = app.gql(access, DEACTIVATE, json!({"id": id})).await;
    assert_eq!(tenant_try.code(), "FORBIDDEN");
    assert_eq!(
        app.gql(Some(&admin), DEACTIVATE, json!({"id": Uuid::now_v7()}))
            .await
            .code(),
        "NOT_FOUND"
    );

    let deactivated = app.gql(Some(&admin), DEACTIVATE, json!({"id": id})).await;
    assert_eq!(deactivated.data()["deactivateUser"]["isActive"], false);
    assert_eq!(
        app.gql(access, ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": session["refreshToken"]}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
    let login = app
        .gql(
            None,
            "mutation { login(email: \"ana@salon.test\", password: \"correct horse battery\") { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(login.code(), "UNAUTHENTICATED");

    let reactivated = app.gql(Some(&admin), REACTIVATE, json!({"id": id})).await;
    assert_eq!(reactivated.data()["reactivateUser"]["isActive"], true);
    let again = app.login("ana@salon.test", "correct horse battery").await;
    assert!(
        app.gql(again["accessToken"].as_str(), ME, json!({}))
            .await
            .body["errors"]
            .is_null()
    );
    // An admin cannot lock themselves out.
    let me = app.gql(Some(&admin), "{ me { id } }", json!({})).await;
    let own = app
        .gql(
            Some(&admin),
            DEACTIVATE,
            json!({"id": me.data()["me"]["id"]}),
        )
        .await;
    assert_eq!(own.code(), "BAD_USER_INPUT");
}
