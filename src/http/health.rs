//! Liveness, readiness and Prometheus metrics.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use fred::interfaces::ClientLike;

use crate::{db, state::AppState};

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

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
