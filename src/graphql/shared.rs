//! Identical subscriptions run once per instance.
//!
//! Every open dashboard of a tenant subscribes to the same few documents. Executing each copy
//! would resolve, allocate and hold an execution per socket for every event; instead each
//! distinct subscription — the viewer's tenant and role, the document, its variables and its
//! operation name — runs once on the instance (a *hub*), and each socket's operation (a
//! *member*) receives a copy of every response.
//!
//! Invariants:
//! - a subscription's responses depend on the viewer only through its tenant and role: no field
//!   reachable from `Subscription` reads the user, so the members of a hub may share responses;
//! - a member receives every response its hub produces after it joined; a hub still starting
//!   (its execution has not yet waited for an event) also hands a joiner what it produced so far,
//!   so every member of a subscription that fails to start sees the error;
//! - a hub lives while it has members: the last to leave stops the execution;
//! - a member more than [`HUB_BUFFER`] responses behind (a socket that cannot keep up) ends with
//!   an error (RATE_LIMITED) saying how many it missed; its client subscribes again.
//!
//! Queries and mutations over a socket, and viewers without a tenant, run as they would alone.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll, ready},
};

use async_graphql::{
    Data, Executor, Request, Response, ServerError,
    futures_util::stream::BoxStream,
    parser::types::{DocumentOperations, OperationType},
};
use futures_util::{Stream, StreamExt, future::poll_fn};
use tokio::{sync::broadcast, task::AbortHandle};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::viewer::RequestAuth;
use crate::{
    kernel::{
        error::ErrorCode,
        ids::TenantId,
        values::EnumStr,
        viewer::{Role, Viewer},
    },
    metrics::LiveGauges,
};

/// Responses a member may fall behind its hub before it misses some.
pub const HUB_BUFFER: usize = 64;

/// What makes two subscriptions the same.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    tenant: TenantId,
    role: Role,
    operation: Option<String>,
    query: String,
    variables: String,
}

/// The instance's running subscriptions; cheap to clone.
#[derive(Clone)]
pub struct Hubs {
    registry: Arc<Mutex<Registry>>,
    gauges: LiveGauges,
}

#[derive(Default)]
struct Registry {
    hubs: HashMap<Arc<Key>, Hub>,
    next_id: u64,
}

struct Hub {
    key: Arc<Key>,
    /// Tells this hub from a later one of the same key.
    id: u64,
    responses: broadcast::Sender<Arc<Response>>,
    members: usize,
    /// What the execution produced before it first waited for an event; `None` from then on.
    starting: Option<Vec<Arc<Response>>>,
    execution: AbortHandle,
}

impl Hubs {
    /// Hubs that keep `gauges` current: members of started hubs, and hubs.
    pub fn new(gauges: LiveGauges) -> Self {
        Self {
            registry: Arc::default(),
            gauges,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A member of the hub of `key`, started with `execute` when there is none.
    fn join(&self, key: Key, execute: impl FnOnce() -> BoxStream<'static, Response>) -> Member {
        let mut registry = self.lock();
        if let Some(hub) = registry.hubs.get_mut(&key) {
            hub.members += 1;
            let replay = match &hub.starting {
                Some(produced) => produced.clone(),
                None => {
                    self.gauges.subscriptions.inc();
                    Vec::new()
                }
            };
            return Member::new(self, hub, replay);
        }
        let key = Arc::new(key);
        let id = registry.next_id;
        registry.next_id += 1;
        let responses = broadcast::Sender::new(HUB_BUFFER);
        // Spawned under the lock: the execution reports its start through the registry, which
        // must hold the hub by then.
        let execution = tokio::spawn(run(
            self.clone(),
            key.clone(),
            id,
            execute(),
            responses.clone(),
        ))
        .abort_handle();
        let hub = Hub {
            key: key.clone(),
            id,
            responses,
            members: 1,
            starting: Some(Vec::new()),
            execution,
        };
        let member = Member::new(self, &hub, Vec::new());
        registry.hubs.insert(key, hub);
        self.gauges.executions.inc();
        member
    }

    /// The hub `id` of `key`, unless it is gone.
    fn current<'r>(registry: &'r mut Registry, key: &Key, id: u64) -> Option<&'r mut Hub> {
        registry.hubs.get_mut(key).filter(|hub| hub.id == id)
    }

    /// The execution waits for its first event: its members now receive events.
    fn started(&self, key: &Key, id: u64) {
        if let Some(hub) = Self::current(&mut self.lock(), key, id) {
            hub.starting = None;
            self.gauges.subscriptions.inc_by(hub.members as i64);
        }
    }

    /// A response of a starting execution, kept for members that join before it starts.
    fn produced_while_starting(&self, key: &Key, id: u64, response: Arc<Response>) {
        if let Some(hub) = Self::current(&mut self.lock(), key, id) {
            let _ = hub.responses.send(response.clone());
            if let Some(produced) = &mut hub.starting {
                produced.push(response);
            }
        }
    }

    /// The execution is over (it failed to start, or its events ended): its members end after
    /// what they have not read yet, and the next joiner starts a new hub.
    fn ended(&self, key: &Key, id: u64) {
        let mut registry = self.lock();
        if Self::current(&mut registry, key, id).is_some()
            && let Some(hub) = registry.hubs.remove(key)
        {
            self.forget(&hub, hub.members);
        }
    }

    fn leave(&self, key: &Key, id: u64) {
        let mut registry = self.lock();
        let Some(hub) = Self::current(&mut registry, key, id) else {
            return;
        };
        hub.members -= 1;
        if hub.starting.is_none() {
            self.gauges.subscriptions.dec();
        }
        if hub.members == 0
            && let Some(hub) = registry.hubs.remove(key)
        {
            hub.execution.abort();
            self.forget(&hub, 0);
        }
    }

    /// Takes a removed hub, with the `members` it still had, off the gauges.
    fn forget(&self, hub: &Hub, members: usize) {
        if hub.starting.is_none() {
            self.gauges.subscriptions.dec_by(members as i64);
        }
        self.gauges.executions.dec();
    }
}

/// A hub's execution: hands every response to the members.
async fn run(
    hubs: Hubs,
    key: Arc<Key>,
    id: u64,
    mut execution: BoxStream<'static, Response>,
    responses: broadcast::Sender<Arc<Response>>,
) {
    let mut starting = true;
    loop {
        let next = poll_fn(|cx| {
            let polled = execution.poll_next_unpin(cx);
            if starting && polled.is_pending() {
                starting = false;
                hubs.started(&key, id);
            }
            polled
        })
        .await;
        let Some(response) = next else { break };
        let response = Arc::new(response);
        if starting {
            hubs.produced_while_starting(&key, id, response);
        } else {
            // No member listening right now is fine: the last one to leave stops this task.
            let _ = responses.send(response);
        }
    }
    hubs.ended(&key, id);
}

/// A socket's subscription: the responses of its hub.
struct Member {
    hubs: Hubs,
    key: Arc<Key>,
    hub: u64,
    replay: std::vec::IntoIter<Arc<Response>>,
    /// `None` once the member fell behind: it ends.
    responses: Option<BroadcastStream<Arc<Response>>>,
}

impl Member {
    fn new(hubs: &Hubs, hub: &Hub, replay: Vec<Arc<Response>>) -> Self {
        Self {
            hubs: hubs.clone(),
            key: hub.key.clone(),
            hub: hub.id,
            replay: replay.into_iter(),
            responses: Some(BroadcastStream::new(hub.responses.subscribe())),
        }
    }
}

impl Stream for Member {
    type Item = Response;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        if let Some(response) = self.replay.next() {
            return Poll::Ready(Some(copy(&response)));
        }
        let Some(responses) = &mut self.responses else {
            return Poll::Ready(None);
        };
        Poll::Ready(match ready!(responses.poll_next_unpin(cx)) {
            Some(Ok(response)) => Some(copy(&response)),
            Some(Err(BroadcastStreamRecvError::Lagged(missed))) => {
                self.responses = None;
                Some(lagged(missed))
            }
            None => None,
        })
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.hubs.leave(&self.key, self.hub);
    }
}

/// A response for one more member (a response is not `Clone`; a subscription's carries no
/// cache control or headers).
fn copy(response: &Response) -> Response {
    let mut copy = Response::new(response.data.clone());
    copy.errors.clone_from(&response.errors);
    copy.extensions.clone_from(&response.extensions);
    copy
}

/// The last response of a member that fell behind: the client subscribes again and reloads.
fn lagged(missed: u64) -> Response {
    let mut error = ServerError::new(
        format!("this connection fell behind and missed {missed} events; subscribe again"),
        None,
    );
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", ErrorCode::RateLimited.as_str());
    Response::from_errors(vec![error])
}

/// The viewer of a socket's operations, as last authenticated: each operation runs as it.
#[derive(Clone, Default)]
pub struct SocketViewer(Arc<Mutex<Option<Viewer>>>);

impl SocketViewer {
    pub fn set(&self, viewer: Viewer) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(viewer);
    }

    fn get(&self) -> Option<Viewer> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An executor that runs a socket's subscriptions through the instance's [`Hubs`], and every
/// operation as the socket's current viewer.
#[derive(Clone)]
pub struct Shared<E> {
    executor: E,
    hubs: Hubs,
    viewer: SocketViewer,
}

impl<E> Shared<E> {
    pub fn new(executor: E, hubs: Hubs, viewer: SocketViewer) -> Self {
        Self {
            executor,
            hubs,
            viewer,
        }
    }
}

/// The key of `request` when it is a subscription a hub can run.
fn subscription_key(request: &mut Request, viewer: Viewer) -> Option<Key> {
    let tenant = viewer.tenant_id?;
    let operation_name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let operation = match (&document.operations, operation_name.as_deref()) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name)?,
        (DocumentOperations::Multiple(_), None) => return None,
    };
    if operation.node.ty != OperationType::Subscription {
        return None;
    }
    Some(Key {
        tenant,
        role: viewer.role,
        operation: operation_name,
        query: request.query.clone(),
        variables: serde_json::to_string(&request.variables).ok()?,
    })
}

impl<E: Executor> Executor for Shared<E> {
    async fn execute(&self, mut request: Request) -> Response {
        if let Some(viewer) = self.viewer.get() {
            request.data.insert(RequestAuth::Viewer(viewer));
        }
        self.executor.execute(request).await
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let Some(viewer) = self.viewer.get() else {
            return self.executor.execute_stream(request, session_data);
        };
        request.data.insert(RequestAuth::Viewer(viewer));
        match subscription_key(&mut request, viewer) {
            Some(key) => {
                let executor = &self.executor;
                self.hubs
                    .join(key, || executor.execute_stream(request, session_data))
                    .boxed()
            }
            None => self.executor.execute_stream(request, session_data),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_graphql::Value;
    use futures_util::stream;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;
    use uuid::Uuid;

    use super::*;

    fn key(tenant: TenantId) -> Key {
        Key {
            tenant,
            role: Role::Tenant,
            operation: None,
            query: "subscription { tenantEvents { __typename } }".into(),
            variables: "{}".into(),
        }
    }

    fn response(n: i32) -> Response {
        Response::new(Value::from(n))
    }

    /// Hubs, their gauges, and a tenant.
    fn fixture() -> (LiveGauges, Hubs, TenantId) {
        let gauges = LiveGauges::default();
        (gauges.clone(), Hubs::new(gauges), TenantId(Uuid::now_v7()))
    }

    /// Yields until `done` holds: the hubs' tasks run in between.
    async fn until(done: impl Fn() -> bool) {
        while !done() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn identical_subscriptions_share_one_execution_until_the_last_leaves() {
        let (gauges, hubs, tenant) = fixture();
        let (events, execution) = mpsc::channel(8);
        let mut execution = Some(execution);
        let executions = AtomicUsize::new(0);
        let mut execute = || {
            executions.fetch_add(1, Ordering::SeqCst);
            ReceiverStream::new(execution.take().unwrap()).boxed()
        };
        let mut first = hubs.join(key(tenant), &mut execute);
        let mut second = hubs.join(key(tenant), &mut execute);
        until(|| gauges.subscriptions.get() == 2).await;
        assert_eq!(executions.load(Ordering::SeqCst), 1);
        assert_eq!(gauges.executions.get(), 1);

        events.send(response(1)).await.unwrap();
        assert_eq!(first.next().await.unwrap().data, Value::from(1));
        assert_eq!(second.next().await.unwrap().data, Value::from(1));

        // Another tenant is another execution.
        let other = hubs.join(key(TenantId(Uuid::now_v7())), || stream::pending().boxed());
        until(|| gauges.subscriptions.get() == 3).await;
        assert_eq!(gauges.executions.get(), 2);
        drop(other);

        drop(first);
        assert_eq!(
            (gauges.subscriptions.get(), gauges.executions.get()),
            (1, 1)
        );
        assert!(!events.is_closed());
        drop(second);
        assert_eq!(
            (gauges.subscriptions.get(), gauges.executions.get()),
            (0, 0)
        );
        until(|| events.is_closed()).await;
    }

    #[tokio::test]
    async fn a_subscription_that_fails_to_start_answers_every_member() {
        let (gauges, hubs, tenant) = fixture();
        let failing = || stream::once(async { Response::from_errors(Vec::new()) }).boxed();
        let mut first = hubs.join(key(tenant), failing);
        let mut second = hubs.join(key(tenant), failing);
        for member in [&mut first, &mut second] {
            assert!(member.next().await.is_some());
            assert!(member.next().await.is_none());
        }
        assert_eq!(
            (gauges.subscriptions.get(), gauges.executions.get()),
            (0, 0)
        );
        // A later joiner starts afresh, and fails the same way.
        let mut later = hubs.join(key(tenant), failing);
        assert!(later.next().await.is_some());
        assert!(later.next().await.is_none());
    }

    /// A member that joins between a starting execution's first response and its first wait
    /// still receives that response.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_member_joining_a_starting_hub_receives_what_it_produced() {
        let (_, hubs, tenant) = fixture();
        let (joined, wait_for_join) = std::sync::mpsc::channel::<()>();
        let wait_for_join = Mutex::new(wait_for_join);
        let mut polls = 0;
        let execution = stream::poll_fn(move |_| {
            polls += 1;
            match polls {
                1 => Poll::Ready(Some(response(7))),
                // Holds the execution before its first wait until the second member joined.
                2 => {
                    let _ = wait_for_join.lock().unwrap().recv();
                    Poll::Pending
                }
                _ => Poll::Pending,
            }
        });
        let mut first = hubs.join(key(tenant), || execution.boxed());
        assert_eq!(first.next().await.unwrap().data, Value::from(7));
        let mut second = hubs.join(key(tenant), || unreachable!("the hub is running"));
        joined.send(()).unwrap();
        // Without the replay the response would never come: the execution waits for events.
        let replayed = tokio::time::timeout(std::time::Duration::from_secs(10), second.next());
        assert_eq!(replayed.await.unwrap().unwrap().data, Value::from(7));
    }

    #[tokio::test]
    async fn a_member_that_falls_behind_ends_with_rate_limited() {
        let (gauges, hubs, tenant) = fixture();
        let (events, execution) = mpsc::channel(1);
        let mut execution = Some(ReceiverStream::new(execution).boxed());
        let mut slow = hubs.join(key(tenant), || execution.take().unwrap());
        let mut reader = hubs.join(key(tenant), || unreachable!("the hub is running"));
        until(|| gauges.subscriptions.get() == 2).await;
        // One reader keeps up; `slow` reads nothing until one response too many is buffered.
        for n in 0..=HUB_BUFFER {
            events.send(response(n as i32)).await.unwrap();
            assert_eq!(reader.next().await.unwrap().data, Value::from(n as i32));
        }
        let ended = slow.next().await.unwrap();
        assert_eq!(
            ended.errors[0].extensions.as_ref().unwrap().get("code"),
            Some(&Value::from("RATE_LIMITED"))
        );
        assert!(ended.errors[0].message.contains("missed 1 events"));
        assert!(slow.next().await.is_none());
    }
}
