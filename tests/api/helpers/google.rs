//! A mock of Google's OAuth endpoints (token exchange and JWKS) with a test signing key.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

pub const CLIENT_ID: &str = "test-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "test-client-secret";
const PRIVATE_KEY: &[u8] = include_bytes!("../fixtures/google_test_key.pem");
const JWKS: &str = include_str!("../fixtures/google_jwks.json");

/// The identity Google will assert in the ID token.
#[derive(Clone, Debug)]
pub struct GoogleUser {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

pub async fn start() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/certs"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("cache-control", "public, max-age=3600")
                .set_body_raw(JWKS, "application/json"),
        )
        .mount(&server)
        .await;
    server
}

/// Signs an ID token with the test key.
pub fn id_token(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-1".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(PRIVATE_KEY).unwrap(),
    )
    .unwrap()
}

/// Standard claims for `user` with `nonce`.
pub fn claims_for(user: &GoogleUser, nonce: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": user.sub,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "picture": "https://lh3.googleusercontent.com/a/test",
        "nonce": nonce,
        "iat": now,
        "exp": now + 3600,
    })
}

/// Answers the token exchange for `code` with `id_token`, checking the PKCE verifier against the
/// challenge the server sent in the authorization URL.
pub async fn expect_token_exchange(
    server: &MockServer,
    code: &str,
    code_challenge: &str,
    id_token: String,
) {
    let code = code.to_owned();
    let challenge = code_challenge.to_owned();
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(move |request: &Request| {
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect();
            form.get("code") == Some(&code)
                && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
                && form.get("grant_type").map(String::as_str) == Some("authorization_code")
                && form
                    .get("code_verifier")
                    .is_some_and(|v| waba_bot::kernel::crypto::sha256_base64url(v) == challenge)
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.test",
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "openid email profile",
            "id_token": id_token,
        })))
        .expect(1)
        .mount(server)
        .await;
}
