use reqwest::header::LOCATION;
use serde_json::json;
use url::Url;
use waba_bot::kernel::viewer::Role;

use crate::helpers::{
    TestApp,
    google::{GoogleUser, claims_for, expect_token_exchange, id_token},
    spawn_app,
};

struct Started {
    state: String,
    nonce: String,
    challenge: String,
}

async fn start(app: &TestApp) -> Started {
    let response = app
        .http
        .get(format!("{}/auth/google", app.address))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    let location = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(
        location
            .as_str()
            .starts_with(&format!("{}/auth", app.google.uri()))
    );
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert_eq!(param("client_id"), crate::helpers::google::CLIENT_ID);
    assert_eq!(param("response_type"), "code");
    assert_eq!(param("scope"), "openid email profile");
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(
        param("redirect_uri"),
        "http://api.test/auth/google/callback"
    );
    Started {
        state: param("state"),
        nonce: param("nonce"),
        challenge: param("code_challenge"),
    }
}

/// Follows Google's redirect back; returns the frontend redirect's query parameters.
async fn callback(app: &TestApp, query: &str) -> Vec<(String, String)> {
    let response = app
        .http
        .get(format!("{}/auth/google/callback?{query}", app.address))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    let location = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(
        location.origin().ascii_serialization(),
        "http://dashboard.test"
    );
    assert_eq!(location.path(), "/auth/callback");
    location
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn sign_in(app: &TestApp, user: &GoogleUser) -> Vec<(String, String)> {
    let started = start(app).await;
    expect_token_exchange(
        &app.google,
        "auth-code-1",
        &started.challenge,
        id_token(&claims_for(user, &started.nonce)),
    )
    .await;
    callback(app, &format!("code=auth-code-1&state={}", started.state)).await
}

const EXCHANGE: &str = "mutation($c: String!) { exchangeLoginCode(code: $c) { accessToken user { email name avatarUrl role emailVerified } } }";

fn maria() -> GoogleUser {
    GoogleUser {
        sub: "google-sub-123".into(),
        email: "maria@gmail.test".into(),
        email_verified: true,
        name: "Maria Souza".into(),
    }
}

#[tokio::test]
async fn a_new_google_user_is_created_and_receives_a_one_time_login_code() {
    let app = spawn_app().await;
    let params = sign_in(&app, &maria()).await;
    let code = params
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .expect("login code in redirect");
    assert!(
        !params
            .iter()
            .any(|(k, _)| k == "token" || k == "accessToken")
    );

    let session = app.gql(None, EXCHANGE, json!({"c": code})).await;
    let user = &session.data()["exchangeLoginCode"]["user"];
    assert_eq!(user["email"], "maria@gmail.test");
    assert_eq!(user["name"], "Maria Souza");
    assert_eq!(
        user["avatarUrl"],
        "https://lh3.googleusercontent.com/a/test"
    );
    assert_eq!(user["role"], "TENANT");
    assert_eq!(user["emailVerified"], true);

    // Single use.
    assert_eq!(
        app.gql(None, EXCHANGE, json!({"c": code})).await.code(),
        "UNAUTHENTICATED"
    );
    // The next sign-in links to the same account by `sub`.
    let again = sign_in(
        &app,
        &GoogleUser {
            email: "maria.new@gmail.test".into(),
            ..maria()
        },
    )
    .await;
    let code = again.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    assert_eq!(
        app.gql(None, EXCHANGE, json!({"c": code})).await.data()["exchangeLoginCode"]["user"]["email"],
        "maria@gmail.test"
    );
}

#[tokio::test]
async fn a_verified_google_email_links_the_existing_account() {
    let app = spawn_app().await;
    let existing = app
        .user_session("maria@gmail.test", Role::Tenant, false)
        .await;
    let params = sign_in(&app, &maria()).await;
    let code = params.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let session = app.gql(None, EXCHANGE, json!({"c": code})).await;
    assert_eq!(
        session.data()["exchangeLoginCode"]["user"]["email"],
        "maria@gmail.test"
    );
    let me = app
        .gql(
            session.data()["exchangeLoginCode"]["accessToken"].as_str(),
            "{ me { id } }",
            json!({}),
        )
        .await;
    assert_eq!(me.data()["me"]["id"], existing["user"]["id"]);
}

#[tokio::test]
async fn an_unverified_google_email_never_takes_over_an_account() {
    let app = spawn_app().await;
    app.user_session("maria@gmail.test", Role::Tenant, true)
        .await;
    let params = sign_in(
        &app,
        &GoogleUser {
            email_verified: false,
            ..maria()
        },
    )
    .await;
    assert_eq!(
        params,
        vec![("error".to_owned(), "email_not_verified".to_owned())]
    );
}

#[tokio::test]
async fn forged_or_replayed_state_and_wrong_nonce_are_refused() {
    let app = spawn_app().await;
    assert_eq!(
        callback(&app, "code=x&state=forged").await,
        vec![("error".to_owned(), "invalid_state".to_owned())]
    );
    assert_eq!(
        callback(&app, "error=access_denied&state=x").await,
        vec![("error".to_owned(), "access_denied".to_owned())]
    );

    let started = start(&app).await;
    expect_token_exchange(
        &app.google,
        "code-2",
        &started.challenge,
        id_token(&claims_for(&maria(), "another-nonce")),
    )
    .await;
    let params = callback(&app, &format!("code=code-2&state={}", started.state)).await;
    assert_eq!(
        params,
        vec![("error".to_owned(), "google_error".to_owned())]
    );
    // The state was consumed by the first callback.
    let replay = callback(&app, &format!("code=code-2&state={}", started.state)).await;
    assert_eq!(
        replay,
        vec![("error".to_owned(), "invalid_state".to_owned())]
    );
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    let app = spawn_app().await;
    let started = start(&app).await;
    let mut claims = claims_for(&maria(), &started.nonce);
    claims["aud"] = json!("someone-else.apps.googleusercontent.com");
    expect_token_exchange(&app.google, "code-3", &started.challenge, id_token(&claims)).await;
    let params = callback(&app, &format!("code=code-3&state={}", started.state)).await;
    assert_eq!(
        params,
        vec![("error".to_owned(), "google_error".to_owned())]
    );
}
