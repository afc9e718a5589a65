//! Account types and the newtypes that parse user input once.

use std::fmt;

use async_graphql::Enum;
use uuid::Uuid;

use crate::{domains::tenants::model::TenantId, error::AppError};

/// A user's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a user may do.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(name = "UserRole")]
pub enum Role {
    /// Platform operator: manages SaaS plans and sees every tenant.
    Admin,
    /// Member of one tenant (a business).
    Tenant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Tenant => "TENANT",
        }
    }

    pub fn parse(value: &str) -> Result<Self, AppError> {
        match value.trim().to_ascii_uppercase().as_str() {
            "ADMIN" => Ok(Self::Admin),
            "TENANT" => Ok(Self::Tenant),
            _ => Err(AppError::bad_input("role", "role must be ADMIN or TENANT")),
        }
    }
}

/// A normalised (trimmed, lower-case), syntactically valid e-mail address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let value = raw.trim().to_lowercase();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            })
            && value.matches('@').count() == 1
            && !value.chars().any(char::is_whitespace);
        if valid {
            Ok(Self(value))
        } else {
            Err(AppError::bad_input("email", "invalid e-mail address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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

/// Who is asking: the authenticated user behind a request or WebSocket connection.
#[derive(Clone, Copy, Debug)]
pub struct Viewer {
    pub user_id: UserId,
    pub role: Role,
    pub tenant_id: Option<TenantId>,
}

impl Viewer {
    /// The tenant the viewer works for; FORBIDDEN for users without one (e.g. before onboarding).
    pub fn tenant(&self) -> Result<TenantId, AppError> {
        self.tenant_id.ok_or_else(|| {
            AppError::Forbidden("finish onboarding first: this account has no tenant".into())
        })
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
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
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ana@Salon.COM ").unwrap().as_str(),
            "ana@salon.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@salon.com",
            "ana@salon",
            "a b@salon.com",
            "a@@b.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough").is_ok());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
    }
}
