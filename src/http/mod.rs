//! The HTTP surface: GraphQL (POST/GET `/graphql`, WebSocket `/graphql/ws`), the REST endpoints
//! the outside world calls (OAuth redirects, health, metrics), and the cross-cutting layers
//! (request ids, tracing, metrics, CORS, body limit).

mod client_ip;
mod graphql;
mod health;
mod middleware;
pub mod serve;
mod ws;

use std::time::Duration;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    routing::get,
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::CorsLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{app, graphql::shared::Hubs, schema::AppSchema, state::AppState};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Whether `/metrics` is served on the main port: not when it has its own listener, and in
/// production only behind `METRICS_TOKEN`.
pub fn metrics_on_main_port_allowed(state: &AppState) -> bool {
    let metrics = &state.settings.metrics;
    metrics.port.is_none() && (metrics.token.is_some() || !state.settings.is_production())
}

fn metrics_on_main_port(state: &AppState) -> Router<AppState> {
    if metrics_on_main_port_allowed(state) {
        Router::new().route("/metrics", get(health::metrics))
    } else {
        Router::new()
    }
}

/// The router of the `METRICS_PORT` listener: `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(state)
}

/// Builds the application's router.
pub fn router(state: AppState, schema: AppSchema) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(
            HeaderValue::from_str(&state.settings.frontend_url)
                .unwrap_or_else(|_| HeaderValue::from_static("null")),
        )
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            REQUEST_ID.clone(),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(3600));

    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::websocket))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(metrics_on_main_port(&state))
        .merge(app::routes())
        .layer(axum::Extension(schema))
        .layer(axum::Extension(ws::Connections::watching(&state.broker)))
        .layer(axum::Extension(Hubs::new(state.metrics.live.clone())))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::record_metrics,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        // Slow bodies included: a request that takes longer is answered 408.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.settings.http.request_timeout,
        ))
        // A panicking handler answers 500 instead of dropping the connection.
        .layer(CatchPanicLayer::new())
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(middleware::make_span))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}
