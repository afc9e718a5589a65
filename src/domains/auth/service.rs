//! Sign-in, sessions and viewer resolution.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{
    model::{NewPassword, NewUser, Session, SessionRevoked, User, UserUpdate},
    password, repo,
};
use crate::{
    broker::Broker,
    domains::tenants::model::Tenant,
    kernel::{
        crypto,
        error::{AppError, AppResult},
        events::Event,
        ids::{TenantId, UserId},
        values::Email,
        viewer::{Role, Viewer},
    },
    state::AppState,
};

/// Lifetime of the one-time code that hands a Google sign-in to the frontend.
pub const LOGIN_CODE_TTL_SECONDS: i64 = 60;

/// Links a user without a tenant to `tenant` (onboarding, in the caller's transaction); false
/// when the user already had one.
pub async fn link_user_to_tenant(
    conn: &impl ConnectionTrait,
    user: UserId,
    tenant: TenantId,
) -> AppResult<bool> {
    Ok(repo::link_user_to_tenant(conn, user, tenant).await?)
}

/// Deletes refresh tokens, login codes and OAuth states past their expiry; returns how many.
pub async fn purge_expired(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(repo::delete_expired(conn, now).await?)
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated("Invalid credentials".into())
}

/// Resolves a bearer token into the viewer, re-checking the user on every request so a
/// deactivated user (or one moved to another tenant) loses access at once.
/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then_some(token)
}

pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Viewer> {
    Ok(authenticate_with_tenant(state, token).await?.0)
}

/// [`authenticate`], and the viewer's tenant read in the same statement (HTTP requests hand it
/// to their resolvers, which then need not read it again).
pub async fn authenticate_with_tenant(
    state: &AppState,
    token: &str,
) -> AppResult<(Viewer, Option<Tenant>)> {
    let claims = state.jwt.verify(token)?;
    let signed_in = repo::find_signed_in(&state.db, UserId(claims.sub), claims.sid)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("invalid token".into()))?;
    let user = signed_in.user;
    if signed_in.session_revoked {
        return Err(AppError::Unauthenticated("this session has ended".into()));
    }
    if !user.is_active {
        return Err(AppError::Unauthenticated(
            "this account is deactivated".into(),
        ));
    }
    if claims.tid.is_some() && claims.tid != user.tenant_id.map(|t| t.0) {
        return Err(AppError::Unauthenticated(
            "invalid token: the account's tenant changed".into(),
        ));
    }
    let viewer = Viewer {
        user_id: user.id,
        role: user.role,
        tenant_id: user.tenant_id,
    };
    Ok((viewer, signed_in.tenant))
}

/// Email and password sign-in, rate-limited per e-mail and per client IP.
pub async fn login(
    state: &AppState,
    email: &str,
    password_input: &str,
    client_ip: &str,
) -> AppResult<Session> {
    let auth = &state.settings.auth;
    let email_key = email.trim().to_lowercase();
    state
        .rate_limiter
        .hit(
            &format!("login:ip:{client_ip}"),
            auth.login_max_attempts_per_ip,
            auth.login_rate_window,
        )
        .await?;
    state
        .rate_limiter
        .hit(
            &format!("login:email:{email_key}"),
            auth.login_max_attempts_per_email,
            auth.login_rate_window,
        )
        .await?;

    let Ok(email) = Email::parse(email) else {
        return Err(invalid_credentials());
    };
    let (user, stored) = repo::find_user_by_email(&state.db, email.as_str())
        .await?
        .map_or((None, None), |(user, hash)| (Some(user), hash));
    let candidate = password_input.to_owned();
    let hash = stored
        .clone()
        .unwrap_or_else(|| password::dummy_hash().to_owned());
    // Hashing is CPU-heavy: keep it off the async executor threads.
    let matches = tokio::task::spawn_blocking(move || password::verify(&candidate, &hash))
        .await
        .map_err(anyhow::Error::from)?;
    let (Some(user), Some(stored), true) = (user, stored, matches) else {
        return Err(invalid_credentials());
    };
    if !user.is_active {
        return Err(invalid_credentials());
    }
    let user = if password::needs_rehash(&stored) {
        let rehashed = password::hash(password_input)?;
        let update = UserUpdate {
            password_hash: Some(rehashed),
            updated_at: Utc::now(),
            ..Default::default()
        };
        repo::update_user(&state.db, user.id, update).await?
    } else {
        user
    };
    start_session(state, &state.db, user).await
}

/// Issues an access token and the first refresh token of a new family.
pub async fn start_session(
    state: &AppState,
    conn: &impl ConnectionTrait,
    user: User,
) -> AppResult<Session> {
    issue_session(state, conn, user, Uuid::now_v7()).await
}

async fn issue_session(
    state: &AppState,
    conn: &impl ConnectionTrait,
    user: User,
    family: Uuid,
) -> AppResult<Session> {
    let (access_token, expires_at) =
        state
            .jwt
            .issue(user.id, user.role, user.tenant_id, Some(family))?;
    let refresh_token = crypto::random_token();
    let refresh_ttl =
        Duration::from_std(state.settings.auth.refresh_token_ttl).map_err(anyhow::Error::from)?;
    repo::insert_refresh_token(
        conn,
        user.id,
        family,
        crypto::sha256_hex(&refresh_token),
        Utc::now() + refresh_ttl,
    )
    .await?;
    Ok(Session {
        access_token,
        refresh_token,
        expires_at,
        user,
    })
}

/// Rotates a refresh token. Presented again within `REFRESH_REUSE_GRACE_SECONDS` of its rotation
/// (two tabs refreshing at once, a retried request) it yields another successor in the same
/// family; presented again later, it leaked, and its whole family is revoked.
pub async fn refresh(state: &AppState, refresh_token: &str) -> AppResult<Session> {
    let rejected = || AppError::Unauthenticated("invalid refresh token".into());
    let hash = crypto::sha256_hex(refresh_token);
    let Some(mut token) = repo::find_refresh_token(&state.db, &hash).await? else {
        return Err(rejected());
    };
    if token.revoked_at.is_some() {
        return Err(rejected());
    }
    let now = state.clock.now();
    let first_use =
        token.used_at.is_none() && repo::use_refresh_token(&state.db, token.id, now).await?;
    if !first_use {
        if token.used_at.is_none() {
            // Used (or revoked) between the read and the update: read what happened.
            token = repo::find_refresh_token(&state.db, &hash)
                .await?
                .filter(|t| t.revoked_at.is_none())
                .ok_or_else(rejected)?;
        }
        let rotated_at = token.used_at.unwrap_or(now);
        let grace = state.settings.auth.refresh_reuse_grace;
        // A concurrent winner may have stamped its rotation a moment after our `now`: that is
        // no time since, not a negative one.
        let since = (now - rotated_at).to_std().unwrap_or_default();
        let within_grace = !grace.is_zero() && since <= grace;
        if !within_grace {
            tracing::warn!(user = %token.user_id, family = %token.family_id, "refresh token reuse: revoking the family");
            repo::revoke_refresh_family(&state.db, token.family_id).await?;
            announce_sessions_revoked(&state.broker, token.user_id).await;
            return Err(rejected());
        }
    }
    if token.expires_at <= now {
        return Err(rejected());
    }
    let user = repo::find_user(&state.db, token.user_id)
        .await?
        .ok_or_else(rejected)?;
    if !user.is_active {
        repo::revoke_refresh_family(&state.db, token.family_id).await?;
        announce_sessions_revoked(&state.broker, user.id).await;
        return Err(rejected());
    }
    issue_session(state, &state.db, user, token.family_id).await
}

/// Revokes the session the refresh token belongs to. Unknown tokens are ignored (idempotent).
pub async fn logout(state: &AppState, refresh_token: &str) -> AppResult<()> {
    if let Some(token) =
        repo::find_refresh_token(&state.db, &crypto::sha256_hex(refresh_token)).await?
    {
        repo::revoke_refresh_family(&state.db, token.family_id).await?;
        announce_sessions_revoked(&state.broker, token.user_id).await;
    }
    Ok(())
}

/// Tells every instance that `user_id`'s sessions changed, so their open sockets re-check now.
/// Called after the revocation is stored.
pub async fn announce_sessions_revoked(broker: &Broker, user_id: UserId) {
    broker
        .publish(Event::platform(&SessionRevoked { user_id }))
        .await;
}

/// Trades a one-time login code (from the Google redirect) for a session.
pub async fn exchange_login_code(state: &AppState, code: &str) -> AppResult<Session> {
    let rejected = || AppError::Unauthenticated("invalid or expired login code".into());
    let txn = crate::db::begin_write(&state.db).await?;
    let user_id = repo::consume_login_code(&txn, &crypto::sha256_hex(code))
        .await?
        .ok_or_else(rejected)?;
    let user = repo::find_user(&txn, user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(rejected)?;
    let session = start_session(state, &txn, user).await?;
    txn.commit().await?;
    Ok(session)
}

/// Creates a one-time login code for `user`; returns the code to put in the redirect.
pub async fn create_login_code(conn: &impl ConnectionTrait, user: UserId) -> AppResult<String> {
    let code = crypto::random_token();
    repo::insert_login_code(
        conn,
        user,
        crypto::sha256_hex(&code),
        Utc::now() + Duration::seconds(LOGIN_CODE_TTL_SECONDS),
    )
    .await?;
    Ok(code)
}

/// The current user.
pub async fn me(state: &AppState, viewer: &Viewer) -> AppResult<User> {
    find(&state.db, viewer.user_id).await
}

/// A user by id.
pub async fn find(conn: &impl ConnectionTrait, id: UserId) -> AppResult<User> {
    repo::find_user(conn, id)
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// The members of `tenant` among `ids` (a user who left it is not one).
pub async fn members(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[UserId],
) -> AppResult<HashMap<UserId, User>> {
    repo::find_members(conn, tenant, ids).await
}

/// ADMIN: lets a user sign in again, or stops them: a deactivated user's sessions end at once
/// (refresh tokens revoked; access tokens fail the per-request check; open sockets are re-checked
/// at once through [`SessionRevoked`]). An admin cannot deactivate themselves.
pub async fn set_active(
    state: &AppState,
    viewer: &Viewer,
    id: UserId,
    active: bool,
) -> AppResult<User> {
    viewer.require_admin()?;
    if !active && id == viewer.user_id {
        return Err(AppError::bad_input(
            "id",
            "you cannot deactivate your own account",
        ));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let user = switch_active(&txn, id, active).await?;
    txn.commit().await?;
    if !active {
        announce_sessions_revoked(&state.broker, id).await;
    }
    Ok(user)
}

/// Deactivates the user with this e-mail (`waba-bot deactivate-user`).
pub async fn deactivate_by_email(conn: &impl ConnectionTrait, email: &str) -> AppResult<User> {
    let email = Email::parse(email)?;
    let (user, _) = repo::find_user_by_email(conn, email.as_str())
        .await?
        .ok_or(AppError::NotFound("user"))?;
    switch_active(conn, user.id, false).await
}

async fn switch_active(conn: &impl ConnectionTrait, id: UserId, active: bool) -> AppResult<User> {
    find(conn, id).await?;
    let update = UserUpdate {
        is_active: Some(active),
        updated_at: Utc::now(),
        ..Default::default()
    };
    let user = repo::update_user(conn, id, update).await?;
    if !active {
        repo::revoke_user_sessions(conn, id).await?;
    }
    Ok(user)
}

/// Whether a user was created or an existing one had its password reset.
#[derive(Debug, PartialEq, Eq)]
pub enum Provisioned {
    Created(UserId),
    PasswordReset(UserId),
}

/// Creates a user, or resets the password (and role and verification) of an existing one: the
/// bootstrap path of a fresh installation (`waba-bot create-user`).
pub async fn provision_user(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
    role: Role,
    verified: bool,
) -> AppResult<Provisioned> {
    let email = Email::parse(email)?;
    let password = NewPassword::parse(password)?;
    let hash = password::hash(password.expose())?;
    let now = Utc::now();
    if let Some((existing, _)) = repo::find_user_by_email(db, email.as_str()).await? {
        let update = UserUpdate {
            password_hash: Some(hash),
            role: Some(role),
            email_verified: Some(verified || existing.email_verified),
            is_active: Some(true),
            updated_at: now,
            ..Default::default()
        };
        repo::update_user(db, existing.id, update).await?;
        return Ok(Provisioned::PasswordReset(existing.id));
    }
    let user = NewUser {
        email: email.as_str().to_owned(),
        password_hash: Some(hash),
        role,
        name: None,
        avatar_url: None,
        google_sub: None,
        email_verified: verified,
    };
    let created = repo::insert_user(db, user, now).await?;
    Ok(Provisioned::Created(created.id))
}
