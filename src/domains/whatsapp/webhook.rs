//! `GET /webhook/whatsapp`: Meta's verification of the callback URL (protocols.md §1.1).

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use secrecy::ExposeSecret;

use crate::{kernel::crypto::constant_time_eq, state::AppState};

/// The longest challenge echoed; Meta's are short numbers.
const MAX_CHALLENGE_BYTES: usize = 256;

/// 200 with `hub.challenge` as `text/plain` when `hub.mode` is `subscribe` and
/// `hub.verify_token` is the configured one; 403 otherwise.
pub async fn verify(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let configured = state.settings.whatsapp.verify_token.as_ref();
    let param = |name: &str| query.get(name).map(String::as_str);
    let verified = param("hub.mode") == Some("subscribe")
        && configured
            .zip(param("hub.verify_token"))
            .is_some_and(|(expected, given)| {
                constant_time_eq(expected.expose_secret().as_bytes(), given.as_bytes())
            });
    match param("hub.challenge") {
        Some(challenge) if verified && challenge.len() <= MAX_CHALLENGE_BYTES => {
            ([(header::CONTENT_TYPE, "text/plain")], challenge.to_owned()).into_response()
        }
        _ => {
            tracing::warn!(
                verify_token_configured = configured.is_some(),
                "refused a WhatsApp webhook verification"
            );
            StatusCode::FORBIDDEN.into_response()
        }
    }
}
