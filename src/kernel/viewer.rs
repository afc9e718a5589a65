//! Who is asking: the authenticated user behind a request, a WebSocket operation or a job acting
//! for someone. Built by the auth domain from a verified token; every other layer only reads it.

use async_graphql::Enum;

use super::{
    error::AppError,
    ids::{TenantId, UserId},
};

/// What a user may do.
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString,
)]
#[graphql(name = "UserRole")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Platform operator: manages SaaS plans and sees every tenant.
    Admin,
    /// Member of one tenant (a business).
    Tenant,
}

impl Role {
    /// Parses a role typed by a person (any case).
    pub fn parse(value: &str) -> Result<Self, AppError> {
        value
            .trim()
            .to_ascii_uppercase()
            .parse()
            .map_err(|_| AppError::bad_input("role", "role must be ADMIN or TENANT"))
    }
}

/// The authenticated user. The tenant comes from the token, never from input.
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
