//! A graphql-transport-ws (or legacy graphql-ws) client over tokio-tungstenite.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

const WAIT: Duration = Duration::from_secs(20);

impl WsClient {
    pub async fn connect(address: &str, protocol: &str) -> Self {
        let mut request = format!("{}/graphql/ws", address.replacen("http", "ws", 1))
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (socket, response) = connect_async(request).await.expect("WebSocket handshake");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            protocol
        );
        Self { socket }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// Sends raw text (malformed messages).
    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// The next JSON message (pings answered and skipped), or the close frame.
    pub async fn next(&mut self) -> Result<Value, Closed> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("no WebSocket message in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({"type": "pong"})).await;
                        continue;
                    }
                    if value["type"] == "ka" {
                        continue;
                    }
                    return Ok(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or(
                        Closed {
                            code: 1005,
                            reason: String::new(),
                        },
                        |f| Closed {
                            code: u16::from(f.code),
                            reason: f.reason.to_string(),
                        },
                    ));
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("WebSocket error: {err}"),
                None => {
                    return Err(Closed {
                        code: u16::from(CloseCode::Abnormal),
                        reason: "stream ended".into(),
                    });
                }
            }
        }
    }

    /// `connection_init` with `payload`; returns the server's answer.
    pub async fn init(&mut self, payload: Value) -> Result<Value, Closed> {
        self.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        self.next().await
    }

    /// Starts a subscription (graphql-transport-ws `subscribe`).
    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query}}))
            .await;
    }
}
