//! `GET /auth/mercadopago/callback`: where Mercado Pago sends the tenant owner back after they
//! authorized (or refused) the platform on their account. The browser is redirected to
//! `${FRONTEND_URL}/dashboard/settings/finance?mercadoPago=connected`, or `=error&reason=…` with
//! one of `denied`, `invalid_state`, `refused`, `account_in_use`, `unavailable`.

use axum::{
    extract::{Query, State},
    response::Redirect,
};
use serde::Deserialize;

use super::service::{self, ConnectFailure};
use crate::state::AppState;

/// Query of Mercado Pago's redirect back to us.
#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The longest `code` or `state` read; Mercado Pago's are short.
const MAX_PARAM_BYTES: usize = 512;

pub async fn callback(
    State(state): State<AppState>,
    Query(params): Query<CallbackParams>,
) -> Redirect {
    let target = format!(
        "{}/dashboard/settings/finance?mercadoPago=",
        state.settings.frontend_url
    );
    let outcome = match (params.error, params.code, params.state) {
        (None, Some(code), Some(oauth_state))
            if code.len() <= MAX_PARAM_BYTES && oauth_state.len() <= MAX_PARAM_BYTES =>
        {
            service::finish_authorization(&state, &code, &oauth_state).await
        }
        (None, _, Some(_)) | (Some(_), _, _) => Err(ConnectFailure::Denied),
        (None, _, None) => Err(ConnectFailure::InvalidState),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("{target}connected")),
        Err(failure) => Redirect::to(&format!("{target}error&reason={}", failure.reason())),
    }
}
