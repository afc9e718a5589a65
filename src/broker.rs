//! The broker: tenant-scoped live events ([`Event`] envelopes; each domain owns its payloads)
//! published by services after commit and delivered to GraphQL subscriptions. It knows no domain.
//!
//! With Redis configured, events are published on one Redis channel and every instance (this one
//! included) receives them through its subscriber, so a WebSocket client sees changes made on any
//! instance. Without Redis, or while Redis is unreachable, events are delivered in process only:
//! a Redis outage degrades fan-out, it never fails the mutation that published the event.

use std::sync::Arc;

use fred::{
    clients::{Client, SubscriberClient},
    interfaces::{ClientLike, EventInterface, PubsubInterface},
};
use tokio::sync::broadcast;

use crate::kernel::events::Event;

/// Publishes and fans out events; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    local: broadcast::Sender<Arc<Event>>,
    redis: Option<RedisFanOut>,
}

#[derive(Clone)]
struct RedisFanOut {
    publisher: Client,
    channel: String,
}

impl Broker {
    /// An in-process broker.
    pub fn in_process() -> Self {
        let (local, _) = broadcast::channel(1024);
        Self { local, redis: None }
    }

    /// A broker that fans out through Redis pub/sub on `<prefix>:events`. The subscriber client
    /// re-subscribes by itself after reconnects.
    pub async fn with_redis(publisher: Client, subscriber: SubscriberClient, prefix: &str) -> Self {
        let (local, _) = broadcast::channel(1024);
        let channel = format!("{prefix}:events");
        let mut messages = subscriber.message_rx();
        let forward = local.clone();
        tokio::spawn(async move {
            loop {
                match messages.recv().await {
                    Ok(message) => {
                        let Some(text) = message.value.as_str() else {
                            continue;
                        };
                        match serde_json::from_str::<Event>(&text) {
                            Ok(event) => {
                                let _ = forward.send(Arc::new(event));
                            }
                            Err(err) => tracing::warn!(%err, "ignoring malformed event from Redis"),
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "event subscriber lagged behind Redis");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        let _resubscribe = subscriber.manage_subscriptions();
        subscriber.on_error(|(err, _)| async move {
            tracing::warn!(%err, "Redis subscriber error; events stay local until it reconnects");
            Ok(())
        });
        if let Err(err) = subscriber.subscribe(channel.clone()).await {
            tracing::warn!(%err, "could not subscribe to Redis events yet; will retry on reconnect");
        }
        Self {
            local,
            redis: Some(RedisFanOut { publisher, channel }),
        }
    }

    /// Publishes `event`. Call it after the transaction that caused it has committed.
    pub async fn publish(&self, event: Event) {
        if let Some(redis) = self.redis.as_ref().filter(|r| r.publisher.is_connected()) {
            let payload = match serde_json::to_string(&event) {
                Ok(payload) => payload,
                Err(err) => {
                    tracing::error!(%err, kind = event.kind, "event does not serialize; dropped");
                    return;
                }
            };
            match redis
                .publisher
                .publish::<(), _, _>(&redis.channel, payload)
                .await
            {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(%err, "Redis publish failed; delivering the event locally")
                }
            }
        }
        let _ = self.local.send(Arc::new(event));
    }

    /// A receiver of every event from now on; subscribers filter by tenant.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    /// How many live subscriptions this instance is feeding.
    pub fn receiver_count(&self) -> usize {
        self.local.receiver_count()
    }
}
