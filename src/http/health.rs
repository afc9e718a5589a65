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

/// `GET /readyz`: the database (and Redis, when configured) answer; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = db::ping(&state.db).await;
    let redis = match &state.redis {
        Some(client) => Some(client.is_connected() && client.ping::<String>(None).await.is_ok()),
        None => None,
    };
    let ready = database && redis.unwrap_or(true);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "down" },
        "redis": match redis { Some(true) => "ok", Some(false) => "down", None => "not configured" },
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
