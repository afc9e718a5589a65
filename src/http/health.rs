//! Liveness, readiness and Prometheus metrics.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use fred::interfaces::ClientLike;
use secrecy::ExposeSecret;

use crate::{db, kernel::crypto, state::AppState};

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 503 only when the database does not answer. Without Redis the application
/// degrades by design (in-process events and limits), so it stays ready; the body says which:
/// `{"database":"ok","redis":"down"}` (`redis` is `"not configured"` without `REDIS_URL`).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = db::ping(&state.db).await;
    let redis = match &state.redis {
        Some(client) if client.is_connected() && client.ping::<String>(None).await.is_ok() => "ok",
        Some(_) => "down",
        None => "not configured",
    };
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "database": if database { "ok" } else { "down" },
        "redis": redis,
    });
    (status, axum::Json(body))
}

/// `GET /metrics`: Prometheus text exposition; with `METRICS_TOKEN`, only to that bearer token.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.settings.metrics.token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crypto::constant_time_eq(presented.as_bytes(), token.expose_secret().as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
