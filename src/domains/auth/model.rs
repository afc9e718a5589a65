//! Account types and the newtypes that parse user input once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::kernel::{
    error::AppError,
    events::EventPayload,
    ids::{TenantId, UserId},
    viewer::Role,
};

/// How long an e-mail verification code is valid.
pub const CODE_TTL_MINUTES: i64 = 15;

/// A password accepted for new accounts: 8 to 128 characters.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let length = raw.chars().count();
        if !(8..=128).contains(&length) {
            return Err(AppError::bad_input(
                "password",
                "password must have between 8 and 128 characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A user as the rest of the application sees it.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: Role,
    pub email_verified: bool,
    pub is_active: bool,
    pub tenant_id: Option<TenantId>,
    pub has_password: bool,
}

impl TryFrom<entity::users::Model> for User {
    type Error = AppError;

    fn try_from(model: entity::users::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: UserId(model.id),
            role: Role::parse(&model.role).map_err(|_| {
                anyhow::anyhow!("user {} has unknown role {}", model.id, model.role)
            })?,
            email: model.email,
            name: model.name,
            avatar_url: model.avatar_url,
            email_verified: model.email_verified,
            is_active: model.is_active,
            tenant_id: model.tenant_id.map(TenantId),
            has_password: model.password_hash.is_some(),
        })
    }
}

/// A user to insert.
pub struct NewUser {
    pub email: String,
    pub password_hash: Option<String>,
    pub role: Role,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub google_sub: Option<String>,
    pub email_verified: bool,
}

/// A change of a user row; `None` leaves a column as it is.
#[derive(Default)]
pub struct UserUpdate {
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub name: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub google_sub: Option<String>,
    pub email_verified: Option<bool>,
    pub is_active: Option<bool>,
    pub updated_at: DateTime<Utc>,
}

/// A refresh token as stored (only its hash is kept).
pub struct RefreshToken {
    pub id: Uuid,
    pub user_id: UserId,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<entity::refresh_tokens::Model> for RefreshToken {
    fn from(m: entity::refresh_tokens::Model) -> Self {
        Self {
            id: m.id,
            user_id: UserId(m.user_id),
            family_id: m.family_id,
            expires_at: m.expires_at,
            used_at: m.used_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// What a Google sign-in in progress keeps between the redirect and the callback.
pub struct PendingSignIn {
    pub nonce: String,
    pub code_verifier: String,
}

/// An e-mail verification code as stored: a keyed hash to check, and a ciphertext for the job
/// that sends it.
pub struct EmailVerification {
    pub id: Uuid,
    pub user_id: UserId,
    pub code_hash: String,
    pub code_enc: String,
    pub expires_at: DateTime<Utc>,
    pub consumed_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<entity::email_verifications::Model> for EmailVerification {
    fn from(m: entity::email_verifications::Model) -> Self {
        Self {
            id: m.id,
            user_id: UserId(m.user_id),
            code_hash: m.code_hash,
            code_enc: m.code_enc,
            expires_at: m.expires_at,
            consumed_at: m.consumed_at,
            sent_at: m.sent_at,
        }
    }
}

/// Tokens handed to a client after a successful sign-in or refresh.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_have_bounds() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough").is_ok());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
    }
}

/// Platform event: some or all of a user's sessions ended (logout, refresh-token reuse,
/// deactivation). Instances re-check that user's open sockets at once instead of at their next
/// periodic re-validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionRevoked {
    pub user_id: UserId,
}

impl EventPayload for SessionRevoked {
    const KIND: &'static str = "auth.session_revoked";
}
