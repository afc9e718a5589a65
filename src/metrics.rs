//! Prometheus metrics owned by one application instance (not process-global, so tests can run
//! several instances in one process and read each one's figures).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GraphqlLabels {
    pub operation: String,
    pub outcome: &'static str,
}

/// Who sent a statement: request handling (`api`) or background work (`worker`), so a request's
/// cost can be read without the pollers' statements mixed in.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbLabels {
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub queue: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FallbackLabels {
    pub reason: &'static str,
}

/// How many distinct GraphQL operation names get their own label; later names count as `other`,
/// so clients cannot grow the metrics without bound.
pub const MAX_OPERATION_LABELS: usize = 100;

/// The instance's live GraphQL subscriptions.
#[derive(Clone, Default)]
pub struct LiveGauges {
    /// Subscription operations receiving events.
    pub subscriptions: Gauge,
    /// Executions behind them: identical subscriptions share one.
    pub executions: Gauge,
}

/// The application's metrics and the registry that renders them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    operation_names: Arc<Mutex<HashSet<String>>>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram>,
    pub graphql_operations: Family<GraphqlLabels, Counter>,
    pub jobs: Family<JobLabels, Counter>,
    pub db_queries: Family<DbLabels, Counter>,
    pub ai_fallbacks: Family<FallbackLabels, Counter>,
    pub live: LiveGauges,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        let graphql_operations = Family::<GraphqlLabels, Counter>::default();
        let jobs = Family::<JobLabels, Counter>::default();
        let db_queries = Family::<DbLabels, Counter>::default();
        let ai_fallbacks = Family::<FallbackLabels, Counter>::default();
        registry.register(
            "waba_http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        registry.register(
            "waba_http_request_duration_seconds",
            "HTTP request latency by route",
            http_duration.clone(),
        );
        registry.register(
            "waba_graphql_operations",
            "GraphQL operations by name and outcome",
            graphql_operations.clone(),
        );
        registry.register(
            "waba_jobs",
            "Background jobs by queue and outcome",
            jobs.clone(),
        );
        registry.register(
            "waba_db_queries",
            "SQL statements sent by the application, by source (api, worker)",
            db_queries.clone(),
        );
        registry.register(
            "waba_ai_fallbacks",
            "Turns of AI-mode conversations the guided menu answered, by why the assistant did not",
            ai_fallbacks.clone(),
        );
        let live = LiveGauges::default();
        registry.register(
            "waba_graphql_subscriptions",
            "GraphQL subscriptions receiving events on this instance",
            live.subscriptions.clone(),
        );
        registry.register(
            "waba_graphql_subscription_executions",
            "Executions behind this instance's GraphQL subscriptions (identical ones share one)",
            live.executions.clone(),
        );
        Self {
            registry: Arc::new(registry),
            operation_names: Arc::default(),
            http_requests,
            http_duration,
            graphql_operations,
            jobs,
            db_queries,
            ai_fallbacks,
            live,
        }
    }

    /// The Prometheus text exposition of every metric.
    #[expect(clippy::expect_used, reason = "writing to a String cannot fail")]
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// The statement counter of one source.
    pub fn db_counter(&self, source: &'static str) -> Counter {
        self.db_queries.get_or_create(&DbLabels { source }).clone()
    }

    /// Counts a GraphQL operation under `name` (an operation the executed document defines), or
    /// under `other` once [`MAX_OPERATION_LABELS`] names are in use.
    pub fn record_graphql(&self, name: &str, outcome: &'static str) {
        let operation = {
            let mut names = self
                .operation_names
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if names.contains(name) {
                name.to_owned()
            } else if names.len() < MAX_OPERATION_LABELS {
                names.insert(name.to_owned());
                name.to_owned()
            } else {
                "other".to_owned()
            }
        };
        self.graphql_operations
            .get_or_create(&GraphqlLabels { operation, outcome })
            .inc();
    }

    pub fn record_ai_fallback(&self, reason: &'static str) {
        self.ai_fallbacks
            .get_or_create(&FallbackLabels { reason })
            .inc();
    }

    pub fn record_job(&self, queue: &str, outcome: &'static str) {
        self.jobs
            .get_or_create(&JobLabels {
                queue: queue.to_owned(),
                outcome,
            })
            .inc();
    }
}
