//! GraphQL over WebSocket: `graphql-transport-ws` (and the legacy `graphql-ws`) at `/graphql/ws`.
//!
//! async-graphql speaks the protocol; this module stands between it and the socket and enforces
//! what the protocol leaves to the server:
//! - the token travels in `connection_init` (`{"Authorization": "Bearer …"}` or `{"token": …}`);
//!   a missing or bad token closes with 4403, a `subscribe` before the ack with 4401, no
//!   `connection_init` within `WS_INIT_TIMEOUT_SECONDS` with 4408;
//! - every operation re-reads the viewer as an HTTP request does, runs as that viewer, and gets
//!   fresh DataLoaders; identical subscriptions of a tenant run once on the instance
//!   ([`crate::graphql::shared`]);
//!   running subscriptions are re-validated every `WS_REVALIDATE_SECONDS`, and at once when the
//!   user's sessions are revoked on any instance (logout, refresh-token reuse, deactivation), and
//!   end with an error when the viewer is gone; when the token expires the socket closes with
//!   4401 `token expired`;
//! - at most `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION` operations at once (one more gets an `error`
//!   with RATE_LIMITED), a duplicate id closes with 4409, malformed JSON with 4400, a message over
//!   `WS_MAX_MESSAGE_BYTES` with 1009;
//! - at most `WS_MAX_CONNECTIONS_PER_USER` sockets per user on an instance (one more closes with
//!   4429);
//! - close reasons are cut to the 123 bytes a close frame can carry.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as GraphqlWebSocket, WebSocketProtocols, WsMessage},
};
use axum::{
    Extension,
    body::Bytes,
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt, stream::SplitSink};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::graphql::request_error;
use crate::{
    app,
    broker::Broker,
    domains::auth::{model::SessionRevoked, service::authenticate},
    graphql::{
        errors::CodedSchema,
        shared::{Hubs, Shared, SocketViewer},
        viewer::ClientIp,
    },
    kernel::{error::AppError, ids::UserId},
    schema::AppSchema,
    state::AppState,
};

/// The read chunk of a socket.
const SOCKET_READ_BUFFER_BYTES: usize = 4 * 1024;

/// Open sockets per user on this instance, and the signal that re-checks them when the user's
/// sessions are revoked on any instance.
#[derive(Clone, Default)]
pub struct Connections(Arc<Mutex<HashMap<UserId, UserSockets>>>);

struct UserSockets {
    open: usize,
    /// Bumped on [`SessionRevoked`]: each of the user's sockets re-authenticates.
    revoked: watch::Sender<()>,
}

/// One counted socket; uncounted when dropped, however the socket ends.
struct Counted {
    connections: Connections,
    user: UserId,
    revoked: watch::Receiver<()>,
}

impl Connections {
    /// Sockets that re-check their session when `broker` carries a [`SessionRevoked`] for their
    /// user: one lookup per such event, however many sockets are open.
    pub fn watching(broker: &Broker) -> Self {
        let connections = Self::default();
        let observed = connections.clone();
        broker.observe(move |event| {
            if let Some(SessionRevoked { user_id }) = event.payload() {
                observed.revoke(user_id);
            }
        });
        connections
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, UserSockets>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a socket of `user`, unless the user already has `max` open.
    fn open(&self, user: UserId, max: usize) -> Option<Counted> {
        let mut open = self.lock();
        let sockets = open.entry(user).or_insert_with(|| UserSockets {
            open: 0,
            revoked: watch::Sender::new(()),
        });
        if sockets.open >= max {
            return None;
        }
        sockets.open += 1;
        Some(Counted {
            connections: self.clone(),
            user,
            revoked: sockets.revoked.subscribe(),
        })
    }

    fn revoke(&self, user: UserId) {
        if let Some(sockets) = self.lock().get(&user) {
            sockets.revoked.send_replace(());
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.connections.lock();
        if let Some(sockets) = open.get_mut(&self.user) {
            sockets.open -= 1;
            if sockets.open == 0 {
                open.remove(&self.user);
            }
        }
    }
}

/// Resolves when the socket's user had sessions revoked (never before the socket is counted).
async fn revoked(counted: &mut Option<Counted>) {
    if let Some(counted) = counted
        && counted.revoked.changed().await.is_ok()
    {
        return;
    }
    // Not counted yet, or the sender is gone (it lives as long as the count): never.
    std::future::pending().await
}

/// `GET /graphql/ws`
pub async fn websocket(
    State(state): State<AppState>,
    Extension(schema): Extension<AppSchema>,
    Extension(connections): Extension<Connections>,
    Extension(hubs): Extension<Hubs>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        });
    let Some(protocol) = protocol else {
        return request_error(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
        );
    };
    let max = state.settings.ws.max_message_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        // tungstenite reserves 128 KiB per socket for reads by default; a dashboard's socket is
        // idle nearly always and its messages are small, so it reads in small chunks (a larger
        // message still arrives whole) and writes each message as it is sent.
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            let ip = super::client_ip::client_ip(
                &state.settings.http.trusted_proxies,
                &headers,
                peer.ip(),
            );
            let live = Live { connections, hubs };
            serve(socket, schema, state, protocol, ClientIp(ip), live)
        })
}

/// The authenticated session of a socket: what every operation re-checks.
#[derive(Clone)]
struct Session {
    token: String,
    user: UserId,
    expires_at: DateTime<Utc>,
}

/// The instance's registries a socket takes part in.
struct Live {
    connections: Connections,
    hubs: Hubs,
}

/// A close the server decides on.
struct Close(u16, String);

async fn serve(
    socket: WebSocket,
    schema: AppSchema,
    state: AppState,
    protocol: WebSocketProtocols,
    client_ip: ClientIp,
    Live { connections, hubs }: Live,
) {
    let settings = state.settings.ws.clone();
    let mut counted: Option<Counted> = None;
    let (mut sink, mut stream) = socket.split();
    // What passes the gate is fed to async-graphql's protocol handler through this channel.
    let (to_protocol, protocol_input) = mpsc::channel::<Bytes>(16);
    let (session_tx, mut session_rx) = mpsc::channel::<(Session, Option<Counted>)>(1);
    let operation_state = state.clone();
    let viewer = SocketViewer::default();
    let shared = Shared::new(schema, hubs, viewer.clone());
    let executor = CodedSchema::new(shared, state.settings.graphql.document).on_operation(
        Arc::new(move |data: &mut Data| app::attach_loaders(data, &operation_state)),
    );
    let init_state = state.clone();
    let init_viewer = viewer.clone();
    let mut connection =
        GraphqlWebSocket::new(executor, ReceiverStream::new(protocol_input), protocol)
            .on_connection_init(move |payload| {
                let state = init_state.clone();
                let client_ip = client_ip.clone();
                let session_tx = session_tx.clone();
                let connections = connections.clone();
                let viewer = init_viewer.clone();
                async move {
                    let session = authenticate_init(&state, &payload, &viewer)
                        .await
                        .map_err(|err| async_graphql::Error::new(err.public_message()))?;
                    // The viewer goes into each operation's data (`Shared`), as it is re-read.
                    let mut data = Data::default();
                    data.insert(client_ip);
                    // Counted before the ack, so a revocation from then on reaches this socket.
                    let counted =
                        connections.open(session.user, state.settings.ws.max_connections_per_user);
                    let _ = session_tx.send((session, counted)).await;
                    Ok(data)
                }
            });

    let mut session: Option<Session> = None;
    let mut active: HashSet<String> = HashSet::new();
    let init_deadline = tokio::time::sleep(settings.init_timeout);
    tokio::pin!(init_deadline);
    let mut revalidate = tokio::time::interval(settings.revalidate_every);
    revalidate.tick().await;
    // Armed with the token's expiry once the connection is initialised.
    let expiry = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(expiry);

    let close = loop {
        tokio::select! {
            incoming = stream.next() => {
                let bytes = match incoming {
                    Some(Ok(Message::Text(text))) => Bytes::from(text),
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Ok(_)) => continue,
                    Some(Err(err)) if is_too_big(&err) => {
                        break Some(Close(1009, "Message too big".into()));
                    }
                    Some(Err(_)) => break None,
                };
                // Boxed, as the re-validations below: their database futures would otherwise size
                // every socket's task, idle ones included.
                let checked = Socket { session: session.as_ref(), viewer: &viewer };
                match Box::pin(gate(&bytes, &mut active, &settings, checked, &state)).await {
                    Gate::Forward => {
                        if to_protocol.send(bytes).await.is_err() {
                            break None;
                        }
                    }
                    Gate::Answer(message) => {
                        if sink.send(Message::Text(message.to_string().into())).await.is_err() {
                            break None;
                        }
                    }
                    Gate::Close(close) => break Some(close),
                }
            }
            outgoing = connection.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    track_finished(&text, &mut active);
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break None;
                    }
                }
                Some(WsMessage::Close(code, reason)) => break Some(protocol_close(code, reason)),
                None => break None,
            },
            Some((started, opened)) = session_rx.recv() => {
                if opened.is_none() {
                    break Some(Close(4429, "Too many connections for this user".into()));
                }
                counted = opened;
                let left = (started.expires_at - Utc::now()).to_std().unwrap_or_default();
                expiry.as_mut().reset(tokio::time::Instant::now() + left);
                session = Some(started);
            }
            () = &mut init_deadline, if session.is_none() => {
                break Some(Close(4408, "Connection initialisation timeout".into()));
            }
            () = &mut expiry, if session.is_some() => {
                break Some(Close(4401, "token expired".into()));
            }
            _ = revalidate.tick(), if session.is_some() && !active.is_empty() => {
                if let Some(close) = Box::pin(revalidate_session(&state, session.as_ref(), &mut active, &mut sink)).await {
                    break Some(close);
                }
            }
            () = revoked(&mut counted) => {
                if let Some(close) = Box::pin(revalidate_session(&state, session.as_ref(), &mut active, &mut sink)).await {
                    break Some(close);
                }
            }
        }
    };
    if let Some(Close(code, reason)) = close {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: close_reason(&reason).into(),
            })))
            .await;
    }
}

/// Re-reads the socket's viewer. When it is gone, every running operation ends with the reason
/// and the socket is to close (the client reconnects with fresh credentials, or not).
async fn revalidate_session(
    state: &AppState,
    session: Option<&Session>,
    active: &mut HashSet<String>,
    sink: &mut SplitSink<WebSocket, Message>,
) -> Option<Close> {
    let err = authenticate(state, &session?.token).await.err()?;
    for id in active.drain() {
        let ended = error_message(&id, &err);
        if sink
            .send(Message::Text(ended.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    Some(Close(4403, format!("Forbidden: {}", err.public_message())))
}

enum Gate {
    Forward,
    Answer(Value),
    Close(Close),
}

/// What the gate checks operations against: the socket's session (none before the ack) and the
/// viewer its operations run as.
struct Socket<'a> {
    session: Option<&'a Session>,
    viewer: &'a SocketViewer,
}

/// Looks at a client message before async-graphql does.
async fn gate(
    bytes: &[u8],
    active: &mut HashSet<String>,
    settings: &crate::config::WsSettings,
    socket: Socket<'_>,
    state: &AppState,
) -> Gate {
    let Ok(message) = serde_json::from_slice::<Value>(bytes) else {
        return Gate::Close(Close(4400, "Invalid message received".into()));
    };
    let id = message["id"].as_str().unwrap_or_default().to_owned();
    match message["type"].as_str() {
        Some("subscribe" | "start") => {
            if active.contains(&id) {
                return Gate::Close(Close(4409, format!("Subscriber for {id} already exists")));
            }
            if active.len() >= settings.max_subscriptions_per_connection {
                let limit = settings.max_subscriptions_per_connection;
                return Gate::Answer(json!({
                    "type": "error",
                    "id": id,
                    "payload": [{
                        "message": format!("at most {limit} operations at once on one connection"),
                        "extensions": {"code": "RATE_LIMITED"},
                    }],
                }));
            }
            // Every operation re-reads the viewer, as an HTTP request does, and runs as it.
            if let Some(session) = socket.session {
                match authenticate(state, &session.token).await {
                    Ok(viewer) => socket.viewer.set(viewer),
                    Err(err) => return Gate::Answer(error_message(&id, &err)),
                }
            }
            active.insert(id);
            Gate::Forward
        }
        Some("complete" | "stop") => {
            active.remove(&id);
            Gate::Forward
        }
        _ => Gate::Forward,
    }
}

/// An operation's end with `err`, in the protocol's `error` message.
fn error_message(id: &str, err: &AppError) -> Value {
    let code: &str = err.code().into();
    json!({
        "type": "error",
        "id": id,
        "payload": [{"message": err.public_message(), "extensions": {"code": code}}],
    })
}

/// Forgets operations the server finished (`complete` or `error`), so their ids can be reused.
fn track_finished(text: &str, active: &mut HashSet<String>) {
    // async-graphql writes the tag first; only the rare finishing messages are parsed.
    if (text.starts_with(r#"{"type":"complete""#) || text.starts_with(r#"{"type":"error""#))
        && let Ok(message) = serde_json::from_str::<Value>(text)
        && let Some(id) = message["id"].as_str()
    {
        active.remove(id);
    }
}

fn is_too_big(err: &axum::Error) -> bool {
    let text = err.to_string();
    text.contains("Space limit exceeded")
        || text.contains("too long")
        || text.contains("Message too big")
}

/// async-graphql closes a rejected `connection_init` with 1002 and a `subscribe` before the ack
/// with 1011; graphql-transport-ws specifies 4403 and 4401.
fn protocol_close(code: u16, reason: String) -> Close {
    match code {
        1002 => Close(4403, format!("Forbidden: {reason}")),
        1011 => Close(4401, "Unauthorized".to_owned()),
        other => Close(other, reason),
    }
}

/// A close frame carries at most 123 bytes of reason (RFC 6455 §5.5): cut at a character boundary.
fn close_reason(reason: &str) -> &str {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason;
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Authenticates `connection_init`: the socket's session, and the viewer its operations run as.
async fn authenticate_init(
    state: &AppState,
    payload: &Value,
    socket_viewer: &SocketViewer,
) -> Result<Session, AppError> {
    let token = ["Authorization", "authorization", "token"]
        .iter()
        .find_map(|key| payload.get(key)?.as_str())
        .map(|value| {
            value
                .trim()
                .strip_prefix("Bearer ")
                .unwrap_or(value.trim())
                .trim()
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| AppError::Unauthenticated("missing token in connection_init".into()))?;
    let viewer = authenticate(state, token).await?;
    socket_viewer.set(viewer);
    let expires_at = state
        .jwt
        .verify(token)
        .ok()
        .and_then(|claims| DateTime::from_timestamp(claims.exp, 0))
        .unwrap_or_else(Utc::now);
    Ok(Session {
        token: token.to_owned(),
        user: viewer.user_id,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_frame_and_stay_utf8() {
        assert_eq!(close_reason("short"), "short");
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(cut.len() <= 123 && cut.len() >= 121, "{}", cut.len());
        assert!(long.starts_with(cut));
    }

    #[test]
    fn finished_operations_free_their_ids() {
        let mut active: HashSet<String> = ["1".to_owned(), "2".to_owned()].into();
        track_finished(r#"{"type":"next","id":"1","payload":{}}"#, &mut active);
        assert!(active.contains("1"));
        track_finished(r#"{"type":"complete","id":"1"}"#, &mut active);
        track_finished(r#"{"type":"error","id":"2","payload":[]}"#, &mut active);
        assert!(active.is_empty());
    }
}
