//! Access tokens: HS256 JWTs keyed with the bytes of `JWT_SECRET`, short-lived (15 minutes by
//! default), with claims `sub`, `role`, `tid`, `iat`, `exp`, `jti`. Only HS256 is accepted, so
//! `none` and algorithm-confusion tokens fail.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    error::AppError,
    ids::{TenantId, UserId},
    values::EnumStr,
    viewer::Role,
};

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Uuid>,
    /// The session (refresh-token family) the token belongs to: revoking the family ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// Signs and verifies access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &SecretString, ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            ttl,
        }
    }

    /// Issues a token for the user; returns it with its expiry.
    pub fn issue(
        &self,
        user: UserId,
        role: Role,
        tenant: Option<TenantId>,
        session: Option<Uuid>,
    ) -> anyhow::Result<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(self.ttl)?;
        let claims = Claims {
            sub: user.0,
            role: role.as_str().to_owned(),
            tid: tenant.map(|t| t.0),
            sid: session,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::now_v7(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, expires_at))
    }

    /// Verifies signature, algorithm and expiry (no leeway: an expired token is expired).
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => AppError::TokenExpired,
                _ => AppError::Unauthenticated("invalid token".into()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(
            &SecretString::from(secret.to_owned()),
            Duration::from_secs(900),
        )
    }

    #[test]
    fn issues_and_verifies() {
        let keys = keys("a-secret-that-is-long-enough-for-hs256");
        let user = UserId(Uuid::now_v7());
        let (token, _) = keys.issue(user, Role::Tenant, None, None).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.sub, user.0);
        assert_eq!(claims.role, "TENANT");
    }

    #[test]
    fn rejects_other_keys_and_none() {
        let (token, _) = keys("key-one-key-one-key-one-key-one!")
            .issue(UserId(Uuid::now_v7()), Role::Admin, None, None)
            .unwrap();
        assert!(matches!(
            keys("key-two-key-two-key-two-key-two!").verify(&token),
            Err(AppError::Unauthenticated(_))
        ));
        let payload = token.split('.').nth(1).unwrap();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(matches!(
            keys("key-one-key-one-key-one-key-one!").verify(&unsigned),
            Err(AppError::Unauthenticated(_))
        ));
    }
}
