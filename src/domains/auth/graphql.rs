//! GraphQL surface of accounts and sessions.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::{
    model::{Session, User},
    service, verification,
};
use crate::{
    domains::tenants::graphql::{TenantLoader, TenantNode},
    graphql::{
        loaders::loader,
        scalars::Timestamp,
        viewer::{client_ip, state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{TypedId, UserId},
        viewer::Role,
    },
};

crate::tenant_loader!(
    /// Loads the members of a tenant (staff who write in its conversations, say).
    MemberLoader: UserId => User, service::members
);

/// Whether the user has finished onboarding (created or joined a tenant).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnboardingStatus {
    /// No tenant yet: the dashboard shows the onboarding flow.
    Pending,
    /// The user belongs to a tenant.
    Complete,
}

pub struct UserNode(pub User);

/// A person who signs in to the dashboard.
#[Object(name = "User")]
impl UserNode {
    /// The user's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Sign-in e-mail (lower-case).
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Display name (from Google, when signed in with it).
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// Profile picture URL.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// What the user may do.
    async fn role(&self) -> Role {
        self.0.role
    }

    /// Whether the e-mail address was verified (required before onboarding).
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }

    /// Whether the user can sign in with a password (false for Google-only accounts).
    async fn has_password(&self) -> bool {
        self.0.has_password
    }

    /// Whether the account may sign in (ADMIN `deactivateUser` turns it off).
    async fn is_active(&self) -> bool {
        self.0.is_active
    }

    /// Whether the user has finished onboarding.
    async fn onboarding_status(&self) -> OnboardingStatus {
        if self.0.tenant_id.is_some() {
            OnboardingStatus::Complete
        } else {
            OnboardingStatus::Pending
        }
    }

    /// The tenant the user belongs to, if any.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TenantNode>> {
        let Some(id) = self.0.tenant_id else {
            return Ok(None);
        };
        Ok(loader::<TenantLoader>(ctx)
            .load_one(id)
            .await
            .map_err(AppError::from)?
            .map(TenantNode))
    }
}

/// Tokens of a signed-in session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Bearer token for `Authorization` (HTTP) or `connection_init` (WebSocket); short-lived.
    pub access_token: String,
    /// Single-use token for `refreshSession`; store it securely.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: Timestamp,
    /// The signed-in user.
    pub user: UserNode,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        Self {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: session.expires_at.into(),
            user: UserNode(session.user),
        }
    }
}

/// Result of `sendVerificationCode`.
#[derive(SimpleObject)]
pub struct SendVerificationCodePayload {
    /// True when a new code was sent; false when the e-mail was already verified.
    pub sent: bool,
    /// Message for the user, in Portuguese.
    pub message: String,
}

/// Result of `verifyEmail`.
#[derive(SimpleObject)]
pub struct VerifyEmailPayload {
    /// Whether the e-mail is verified now.
    pub verified: bool,
    /// The user after the verification.
    pub user: UserNode,
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<UserNode> {
        let viewer = viewer(ctx)?;
        Ok(UserNode(service::me(state(ctx), &viewer).await?))
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in with e-mail and password. Wrong e-mail or password give one generic
    /// UNAUTHENTICATED error; repeated attempts are RATE_LIMITED per e-mail and per IP.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's e-mail (any case).")] email: String,
        #[graphql(desc = "The account's password.")] password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let ip = client_ip(ctx);
        Ok(service::login(state(ctx), &email, &password, &ip)
            .await?
            .into())
    }

    /// Trades a refresh token for a new session. Each refresh token works once; reusing one
    /// revokes every session descended from the same sign-in.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the current session.")] refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(service::refresh(state(ctx), &refresh_token).await?.into())
    }

    /// Ends the session the refresh token belongs to.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the session to end.")] refresh_token: String,
    ) -> async_graphql::Result<bool> {
        service::logout(state(ctx), &refresh_token).await?;
        Ok(true)
    }

    /// Trades the one-time code of a Google sign-in redirect for a session (valid 60 s, once).
    async fn exchange_login_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The one-time code from the Google sign-in redirect.")] code: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(service::exchange_login_code(state(ctx), &code)
            .await?
            .into())
    }

    /// E-mails a 6-digit verification code (valid 15 minutes, 5 attempts).
    async fn send_verification_code(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<SendVerificationCodePayload> {
        let viewer = viewer(ctx)?;
        let outcome = verification::send_code(state(ctx), &viewer).await?;
        Ok(SendVerificationCodePayload {
            sent: outcome == verification::SendOutcome::Sent,
            message: outcome.message().to_owned(),
        })
    }

    /// Verifies the e-mail with the code that was sent.
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The 6-digit code from the e-mail.")] code: String,
    ) -> async_graphql::Result<VerifyEmailPayload> {
        let viewer = viewer(ctx)?;
        let state = state(ctx);
        let verified = verification::verify(state, &viewer, &code).await?;
        Ok(VerifyEmailPayload {
            verified,
            user: UserNode(service::me(state, &viewer).await?),
        })
    }

    /// ADMIN: stops a user from signing in and ends their sessions at once.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to deactivate.")] id: ID,
    ) -> async_graphql::Result<UserNode> {
        let viewer = viewer(ctx)?;
        let id = UserId::parse(&id)?;
        Ok(UserNode(
            service::set_active(state(ctx), &viewer, id, false).await?,
        ))
    }

    /// ADMIN: lets a deactivated user sign in again.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to reactivate.")] id: ID,
    ) -> async_graphql::Result<UserNode> {
        let viewer = viewer(ctx)?;
        let id = UserId::parse(&id)?;
        Ok(UserNode(
            service::set_active(state(ctx), &viewer, id, true).await?,
        ))
    }
}
