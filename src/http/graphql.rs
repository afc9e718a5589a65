//! GraphQL over HTTP and over WebSocket.
//!
//! - `POST /graphql`: JSON in; `application/graphql-response+json` out when the client accepts
//!   it (request errors then answer 400), `application/json` otherwise (always 200).
//! - `GET /graphql`: GraphiQL for browsers (`Accept: text/html`, when introspection is on);
//!   otherwise runs a query from the URL parameters. Mutations over GET answer 405.
//! - `GET /graphql/ws`: see `http::ws`.

use std::net::SocketAddr;

use async_graphql::parser::types::DocumentOperations;
use async_graphql::{http::GraphiQLSource, parser::types::OperationType};
use axum::{
    Extension,
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::{
    app,
    domains::{
        auth::service::{authenticate_with_tenant, bearer_token},
        tenants::graphql::ViewerTenant,
    },
    graphql::{
        errors, limits,
        viewer::{ClientIp, RequestAuth},
    },
    schema::AppSchema,
    state::AppState,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// `POST /graphql`
pub async fn post(
    State(state): State<AppState>,
    Extension(schema): Extension<AppSchema>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                &format!("invalid GraphQL request body: {err}"),
            );
        }
    };
    execute(&state, &schema, request, &headers, peer).await
}

/// `GET /graphql`
pub async fn get(
    State(state): State<AppState>,
    Extension(schema): Extension<AppSchema>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wants_html = accepts(&headers, "text/html");
    if wants_html {
        if !state.settings.graphql.introspection {
            return StatusCode::NOT_FOUND.into_response();
        }
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .finish(),
        )
        .into_response();
    }
    let request =
        match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
            Ok(request) => request,
            Err(err) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    &format!("invalid GraphQL request: {err}"),
                );
            }
        };
    if is_mutation(&request) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &schema, request, &headers, peer).await
}

async fn execute(
    state: &AppState,
    schema: &AppSchema,
    mut request: async_graphql::Request,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response {
    let auth = match bearer_token(headers) {
        Some(token) => {
            let authenticated = authenticate_with_tenant(state, token).await;
            RequestAuth::from_result(authenticated.map(|(viewer, tenant)| {
                if let Some(tenant) = tenant {
                    request.data.insert(ViewerTenant(tenant));
                }
                viewer
            }))
        }
        None => RequestAuth::Anonymous,
    };
    request.data.insert(auth);
    request.data.insert(ClientIp(super::client_ip::client_ip(
        &state.settings.http.trusted_proxies,
        headers,
        peer.ip(),
    )));
    app::attach_loaders(&mut request.data, state);
    let (operation, mut response) =
        match limits::check(&mut request, state.settings.graphql.document) {
            Ok(()) => (operation_name(&mut request), schema.execute(request).await),
            Err(refused) => (None, async_graphql::Response::from_errors(vec![refused])),
        };
    errors::classify(&mut response);

    let outcome = if response.errors.is_empty() {
        "ok"
    } else {
        "error"
    };
    state
        .metrics
        .record_graphql(operation.as_deref().unwrap_or("anonymous"), outcome);
    let request_failed = !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty());
    let (content_type, status) = if accepts(headers, GRAPHQL_RESPONSE_JSON) {
        (
            GRAPHQL_RESPONSE_JSON,
            if request_failed {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            },
        )
    } else {
        ("application/json", StatusCode::OK)
    };
    let body = serde_json::to_vec(&response)
        .unwrap_or_else(|_| b"{\"errors\":[{\"message\":\"internal error\"}]}".to_vec());
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A response for a request that never reached execution (not a GraphQL response).
pub(super) fn request_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] });
    (status, axum::Json(body)).into_response()
}

fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            part.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(media_type))
        })
}

fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let operation = match &request.operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            .map(|(_, op)| op),
        None => document.operations.iter().next().map(|(_, op)| op),
    };
    operation.is_some_and(|op| op.node.ty == OperationType::Mutation)
}

/// The name of the document's first operation (`query Name { … }`), read without a full parse.
/// The name of the operation that runs, when the document defines it: a name the client merely
/// claims in `operationName` is not trusted as a metrics label.
fn operation_name(request: &mut async_graphql::Request) -> Option<String> {
    let wanted = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return None;
    };
    match &document.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(operations) => match wanted {
            Some(name) => operations
                .keys()
                .find(|defined| defined.as_str() == name)
                .map(|defined| defined.to_string()),
            None if operations.len() == 1 => operations.keys().next().map(|n| n.to_string()),
            None => None,
        },
    }
}
