//! Google sign-in over REST (the browser is redirected here, so these are not GraphQL):
//! `GET /auth/google` starts the flow with a random `state`, an OIDC `nonce` and a PKCE verifier;
//! `GET /auth/google/callback` finishes it and redirects to
//! `${FRONTEND_URL}/auth/callback?code=…` with a one-time login code (60 s, single use), which the
//! frontend trades for tokens with `exchangeLoginCode`. Tokens never travel in URLs.
//!
//! Accounts are linked by Google `sub`; by e-mail only when Google says the e-mail is verified;
//! otherwise a new TENANT user is created.

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{
    model::{NewUser, UserUpdate},
    repo, service,
};
use crate::{
    clients::google_oauth::GoogleIdentity,
    kernel::{
        crypto,
        error::{AppError, AppResult},
        ids::UserId,
        viewer::Role,
    },
    state::AppState,
};

const STATE_TTL_MINUTES: i64 = 10;

/// `GET /auth/google`
pub async fn start(State(state): State<AppState>) -> Response {
    match begin(&state).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn begin(state: &AppState) -> AppResult<String> {
    let google = state
        .clients
        .google
        .as_ref()
        .ok_or_else(|| AppError::bad_request("Google sign-in is not configured"))?;
    let oauth_state = crypto::random_token();
    let nonce = crypto::random_token();
    let verifier = crypto::random_token();
    repo::insert_oauth_state(
        &state.db,
        crypto::sha256_hex(&oauth_state),
        nonce.clone(),
        verifier.clone(),
        Utc::now() + Duration::minutes(STATE_TTL_MINUTES),
    )
    .await?;
    Ok(google.authorize_url(&oauth_state, &nonce, &crypto::sha256_base64url(&verifier)))
}

/// Query of Google's redirect back to us.
#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/google/callback`
pub async fn callback(
    State(state): State<AppState>,
    Query(params): Query<CallbackParams>,
) -> Redirect {
    let target = format!("{}/auth/callback", state.settings.frontend_url);
    match finish(&state, params).await {
        Ok(code) => Redirect::to(&format!("{target}?code={code}")),
        Err(reason) => Redirect::to(&format!("{target}?error={reason}")),
    }
}

/// Returns the one-time login code, or a short machine-readable reason for the frontend.
async fn finish(state: &AppState, params: CallbackParams) -> Result<String, &'static str> {
    if params.error.is_some() {
        return Err("access_denied");
    }
    let (Some(code), Some(oauth_state)) = (params.code, params.state) else {
        return Err("invalid_request");
    };
    let google = state.clients.google.as_ref().ok_or("not_configured")?;
    let pending = repo::take_oauth_state(&state.db, &crypto::sha256_hex(&oauth_state))
        .await
        .map_err(|err| internal(err.into()))?
        .ok_or("invalid_state")?;
    let identity = google
        .sign_in(&code, &pending.code_verifier, &pending.nonce)
        .await
        .map_err(|err| {
            tracing::warn!(error = ?err, "Google sign-in failed");
            "google_error"
        })?;
    let user = link_or_create(state, identity).await?;
    service::create_login_code(&state.db, user)
        .await
        .map_err(internal)
}

fn internal(err: AppError) -> &'static str {
    tracing::error!(error = ?err, "Google callback failed");
    "server_error"
}

async fn link_or_create(
    state: &AppState,
    identity: GoogleIdentity,
) -> Result<UserId, &'static str> {
    let txn = crate::db::begin_write(&state.db)
        .await
        .map_err(|e| internal(e.into()))?;
    let now = Utc::now();
    let existing = match repo::find_user_by_google_sub(&txn, &identity.sub)
        .await
        .map_err(internal)?
    {
        Some(user) => Some(user),
        None => match identity.email.as_deref() {
            Some(email) => {
                let by_email = repo::find_user_by_email(&txn, email)
                    .await
                    .map_err(internal)?
                    .map(|(user, _)| user);
                if by_email.is_some() && !identity.email_verified {
                    return Err("email_not_verified");
                }
                by_email
            }
            None => return Err("email_required"),
        },
    };
    let user_id = if let Some(user) = existing {
        if !user.is_active {
            return Err("account_disabled");
        }
        let update = UserUpdate {
            google_sub: Some(identity.sub.clone()),
            name: user.name.is_none().then(|| identity.name.clone()),
            avatar_url: user.avatar_url.is_none().then(|| identity.picture.clone()),
            email_verified: (identity.email_verified
                && identity.email.as_deref() == Some(user.email.as_str()))
            .then_some(true),
            updated_at: now,
            ..Default::default()
        };
        repo::update_user(&txn, user.id, update)
            .await
            .map_err(internal)?;
        user.id
    } else {
        let user = NewUser {
            email: identity.email.clone().unwrap_or_default(),
            password_hash: None,
            role: Role::Tenant,
            name: identity.name.clone(),
            avatar_url: identity.picture.clone(),
            google_sub: Some(identity.sub.clone()),
            email_verified: identity.email_verified,
        };
        repo::insert_user(&txn, user, now)
            .await
            .map_err(internal)?
            .id
    };
    txn.commit().await.map_err(|e| internal(e.into()))?;
    Ok(user_id)
}
