//! The broker: tenant-scoped live events ([`Event`] envelopes; each domain owns its payloads)
//! published by services after commit and delivered to GraphQL subscriptions. It knows no domain.
//!
//! With Redis configured, events are published on one Redis channel and every instance (this one
//! included) receives them through its subscriber, so a WebSocket client sees changes made on any
//! instance. Without Redis, or while Redis is unreachable, events are delivered in process only:
//! a Redis outage degrades fan-out, it never fails the mutation that published the event.
//!
//! An event reaches this instance once and is handed to every subscription as one [`Delivery`]:
//! what the subscriptions derive from it (the row it names) is loaded by the first that asks and
//! shared by the rest, so an event costs the same statements with one subscriber or ten thousand.
//! Observers ([`Broker::observe`]) see every event, platform events included, before the
//! subscriptions do.

use std::{
    any::{Any, TypeId},
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use fred::{
    clients::{Client, SubscriberClient},
    interfaces::{ClientLike, EventInterface, PubsubInterface},
};
use tokio::sync::{OnceCell, broadcast};

use crate::kernel::{error::AppResult, events::Event};

/// An event as this instance received it, with the memo its subscriptions share.
pub struct Delivery {
    pub event: Event,
    /// One cell per type derived from the event: `Arc<OnceCell<Option<Arc<T>>>>` under `T`'s id.
    memo: Mutex<Vec<(TypeId, Arc<dyn Any + Send + Sync>)>>,
}

impl Delivery {
    fn new(event: Event) -> Arc<Self> {
        Arc::new(Self {
            event,
            memo: Mutex::default(),
        })
    }

    /// The `T` this event leads to: `load` runs once per instance, for the first subscription
    /// that asks, and every other one waits for and shares its result. A failed load is logged
    /// once and yields `None` to all (they skip the event, as each would have alone).
    pub async fn shared<T, F, Fut>(&self, load: F) -> Option<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        let cell = self.cell::<T>();
        if let Some(loaded) = cell.get() {
            return loaded.clone();
        }
        // Boxed: a subscription's stream holds this future's space for its whole life, and the
        // load (a database query) is large and runs once per event.
        let init = || {
            Box::pin(async {
                match load().await {
                    Ok(value) => Some(Arc::new(value)),
                    Err(err) => {
                        tracing::warn!(error = ?err, kind = self.event.kind, "could not load an event's subject");
                        None
                    }
                }
            })
        };
        cell.get_or_init(init).await.clone()
    }

    fn cell<T: Send + Sync + 'static>(&self) -> Arc<OnceCell<Option<Arc<T>>>> {
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        let found = memo
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, cell)| cell.clone().downcast().ok());
        found.unwrap_or_else(|| {
            let cell = Arc::new(OnceCell::new());
            memo.push((TypeId::of::<T>(), cell.clone()));
            cell
        })
    }
}

/// Publishes and fans out events; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    local: Local,
    redis: Option<RedisFanOut>,
}

type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// This instance's side of the fan-out: its observers, then its subscriptions.
#[derive(Clone)]
struct Local {
    subscriptions: broadcast::Sender<Arc<Delivery>>,
    observers: Arc<RwLock<Vec<Observer>>>,
}

impl Local {
    fn new() -> Self {
        Self {
            subscriptions: broadcast::channel(1024).0,
            observers: Arc::default(),
        }
    }

    fn deliver(&self, event: Event) {
        for observer in self
            .observers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            observer(&event);
        }
        let _ = self.subscriptions.send(Delivery::new(event));
    }
}

#[derive(Clone)]
struct RedisFanOut {
    publisher: Client,
    channel: String,
}

impl Broker {
    /// An in-process broker.
    pub fn in_process() -> Self {
        Self {
            local: Local::new(),
            redis: None,
        }
    }

    /// A broker that fans out through Redis pub/sub on `<prefix>:events`. The subscriber client
    /// re-subscribes by itself after reconnects.
    pub async fn with_redis(publisher: Client, subscriber: SubscriberClient, prefix: &str) -> Self {
        let local = Local::new();
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
                            Ok(event) => forward.deliver(event),
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
        self.local.deliver(event);
    }

    /// Calls `observer` with every event this instance receives, before its subscriptions see
    /// it. It runs inline on the delivery path, so it must be quick (a lookup, a notification).
    pub fn observe(&self, observer: impl Fn(&Event) + Send + Sync + 'static) {
        self.local
            .observers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(observer));
    }

    /// A receiver of every event from now on; subscribers filter by tenant.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Delivery>> {
        self.local.subscriptions.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use uuid::Uuid;

    use super::*;
    use crate::kernel::{error::AppError, ids::TenantId};

    fn delivery() -> Arc<Delivery> {
        Delivery::new(Event {
            tenant_id: Some(TenantId(Uuid::now_v7())),
            kind: "test".into(),
            payload: serde_json::Value::Null,
        })
    }

    #[tokio::test]
    async fn subscribers_share_one_load_per_type() {
        let delivery = delivery();
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(7_u32)
        };
        let results = futures_util::future::join_all((0..100).map(|_| delivery.shared(load))).await;
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        let first = results[0].clone().unwrap();
        assert!(
            results
                .iter()
                .all(|r| Arc::ptr_eq(r.as_ref().unwrap(), &first))
        );
        // Another type is another subject.
        let text = delivery.shared(|| async { Ok("seven".to_owned()) }).await;
        assert_eq!(text.as_deref().map(String::as_str), Some("seven"));
        assert_eq!(delivery.shared(load).await.as_deref(), Some(&7));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_load_is_tried_once_and_skipped_by_all() {
        let delivery = delivery();
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Err::<u32, _>(AppError::NotFound("tenant"))
        };
        assert!(delivery.shared(load).await.is_none());
        assert!(delivery.shared(load).await.is_none());
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }
}
