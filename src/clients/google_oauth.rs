//! Google sign-in (OpenID Connect authorization-code flow with PKCE): building the authorization
//! URL, exchanging the code, and verifying the ID token against Google's JWKS (RS256, issuer,
//! audience, expiry, nonce). Keys are cached for the `max-age` Google sends and refetched when an
//! unknown `kid` shows up (key rotation).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::config::GoogleSettings;

const ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// The verified identity from an ID token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoogleIdentity {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// What the application needs from Google.
#[async_trait::async_trait]
pub trait GoogleOAuth: Send + Sync {
    /// The URL to send the browser to.
    fn authorize_url(&self, state: &str, nonce: &str, code_challenge: &str) -> String;
    /// Exchanges the authorization code and returns the verified identity of its ID token.
    async fn sign_in(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
    ) -> anyhow::Result<GoogleIdentity>;
}

/// The real client, or `None` when Google sign-in is not configured.
pub fn from_settings(
    settings: &GoogleSettings,
    http: reqwest::Client,
) -> Option<Arc<dyn GoogleOAuth>> {
    let (Some(client_id), Some(client_secret)) =
        (settings.client_id.clone(), settings.client_secret.clone())
    else {
        tracing::info!("GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET not set: Google sign-in is disabled");
        return None;
    };
    let auth_url = match url::Url::parse(&settings.auth_url) {
        Ok(url) => url,
        Err(err) => {
            tracing::error!(%err, "GOOGLE_AUTH_URL is not a URL: Google sign-in is disabled");
            return None;
        }
    };
    Some(Arc::new(GoogleClient {
        http,
        auth_url,
        client_id,
        client_secret,
        settings: settings.clone(),
        keys: RwLock::new(None),
    }))
}

struct GoogleClient {
    http: reqwest::Client,
    auth_url: url::Url,
    client_id: String,
    client_secret: SecretString,
    settings: GoogleSettings,
    keys: RwLock<Option<KeySet>>,
}

struct KeySet {
    keys: HashMap<String, DecodingKey>,
    expires: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "bool_or_string")]
    email_verified: bool,
    name: Option<String>,
    picture: Option<String>,
}

/// Old Google samples send `"email_verified": "true"`; accept both forms.
fn bool_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(d)? {
        Some(Flag::Bool(b)) => b,
        Some(Flag::Text(s)) => s.eq_ignore_ascii_case("true"),
        None => false,
    })
}

impl GoogleClient {
    async fn key_for(&self, kid: &str) -> anyhow::Result<DecodingKey> {
        if let Some(set) = self.keys.read().await.as_ref()
            && set.expires > Instant::now()
            && let Some(key) = set.keys.get(kid)
        {
            return Ok(key.clone());
        }
        let set = self.fetch_keys().await?;
        let key = set
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| anyhow!("no Google signing key with kid {kid}"))?;
        *self.keys.write().await = Some(set);
        Ok(key)
    }

    async fn fetch_keys(&self) -> anyhow::Result<KeySet> {
        let response = self
            .http
            .get(&self.settings.jwks_url)
            .send()
            .await?
            .error_for_status()?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .find_map(|part| part.trim().strip_prefix("max-age=")?.parse::<u64>().ok())
            })
            .unwrap_or(300);
        let jwks: Jwks = response.json().await.context("malformed JWKS")?;
        let mut keys = HashMap::new();
        for jwk in jwks.keys.into_iter().filter(|k| k.kty == "RSA") {
            if let (Some(n), Some(e)) = (jwk.n, jwk.e) {
                keys.insert(jwk.kid, DecodingKey::from_rsa_components(&n, &e)?);
            }
        }
        Ok(KeySet {
            keys,
            expires: Instant::now() + Duration::from_secs(max_age),
        })
    }

    async fn verify(&self, id_token: &str, nonce: &str) -> anyhow::Result<GoogleIdentity> {
        let header = decode_header(id_token).context("malformed ID token")?;
        if header.alg != Algorithm::RS256 {
            bail!("ID token must be RS256, got {:?}", header.alg);
        }
        let kid = header.kid.ok_or_else(|| anyhow!("ID token has no kid"))?;
        let key = self.key_for(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.client_id]);
        validation.set_issuer(&ISSUERS);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = decode::<IdClaims>(id_token, &key, &validation)
            .context("ID token rejected")?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            bail!("ID token nonce does not match");
        }
        Ok(GoogleIdentity {
            sub: claims.sub,
            email: claims.email.map(|e| e.trim().to_lowercase()),
            email_verified: claims.email_verified,
            name: claims.name,
            picture: claims.picture,
        })
    }
}

#[async_trait::async_trait]
impl GoogleOAuth for GoogleClient {
    fn authorize_url(&self, state: &str, nonce: &str, code_challenge: &str) -> String {
        let mut url = self.auth_url.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.settings.callback_url)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "select_account");
        url.into()
    }

    async fn sign_in(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
    ) -> anyhow::Result<GoogleIdentity> {
        let response = self
            .http
            .post(&self.settings.token_url)
            .form(&[
                ("code", code),
                ("client_id", &self.client_id),
                ("client_secret", self.client_secret.expose_secret()),
                ("redirect_uri", &self.settings.callback_url),
                ("grant_type", "authorization_code"),
                ("code_verifier", code_verifier),
            ])
            .send()
            .await
            .context("Google token endpoint unreachable")?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            bail!("Google token exchange failed with {status}: {body}");
        }
        let tokens: TokenResponse = response.json().await.context("malformed token response")?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| anyhow!("token response has no id_token"))?;
        self.verify(&id_token, nonce).await
    }
}
