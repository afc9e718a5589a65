//! The webhook Meta calls: `GET /webhook/whatsapp` verifies the callback URL (protocols.md §1.1),
//! `POST /webhook/whatsapp` delivers messages (§1.2).

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use secrecy::ExposeSecret;

use super::{model::Envelope, service};
use crate::{
    kernel::crypto::{constant_time_eq, hmac_sha256_hex},
    state::AppState,
};

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

/// Keeps what Meta delivers and answers 200 once it is stored (its messages are read by a job).
/// 401 without a valid `X-Hub-Signature-256` over the raw body; 400 for a body that is not a
/// WhatsApp payload; 500 when it cannot be stored, so Meta delivers it again.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.settings.whatsapp.app_secret else {
        tracing::warn!("WABA_APP_SECRET is not set: refusing a WhatsApp webhook");
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("sha256="));
    let expected = hmac_sha256_hex(secret.expose_secret().as_bytes(), &body);
    let signed = signature.is_some_and(|given| {
        constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes())
    });
    if !signed {
        tracing::warn!(
            signature_present = signature.is_some(),
            "refused an unsigned or badly signed WhatsApp webhook"
        );
        return StatusCode::UNAUTHORIZED.into_response();
    }
    // Moving the bytes into the string copies nothing; the job parses the text again.
    let text = String::from_utf8(Vec::from(body)).ok().filter(|text| {
        serde_json::from_str::<Envelope>(text)
            .is_ok_and(|envelope| envelope.object == "whatsapp_business_account")
    });
    let Some(text) = text else {
        return (StatusCode::BAD_REQUEST, "not a WhatsApp webhook payload").into_response();
    };
    match service::accept(&state, text).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "could not store a WhatsApp webhook; Meta will deliver it again");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
