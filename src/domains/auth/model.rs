//! Account types and the newtypes that parse user input once.

use crate::kernel::{
    error::AppError,
    ids::{TenantId, UserId},
    viewer::Role,
};

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

/// Tokens handed to a client after a successful sign-in or refresh.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
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
