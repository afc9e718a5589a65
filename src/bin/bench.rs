//! Benchmarks against the real application (not run by CI).
//!
//! - `bench availability [APPOINTMENTS] [ITERATIONS]`: seeds a tenant with APPOINTMENTS (default
//!   10 000) bookings and times `availableSlots` over 30 days through the service layer (database
//!   queries included), printing min / median / p95 / p99.
//! - `bench serve [APPOINTMENTS]`: seeds a tenant with APPOINTMENTS (default 500) bookings, prints
//!   `URL`, `TOKEN` and the request body of the 500-row page, then serves until stopped, for an
//!   external load generator (`scripts/bench-page` drives wrk).
//! - `bench fanout [SUBSCRIBERS] [EVENTS]`: starts the server as a second process (each side needs
//!   a file descriptor per socket), opens SUBSCRIBERS (default 10 000) `graphql-transport-ws`
//!   sockets subscribed to `tenantEvents`, fires EVENTS (default 20) `updateTenant` mutations one
//!   at a time and prints the delivery latency (min / p50 / p99 / max), the SQL statements each
//!   event costs beyond the mutation itself, and the server's memory per socket
//!   (`scripts/bench-fanout` runs it on Postgres and Redis).
//! - `bench webhook [REQUESTS] [CONNECTIONS]`: a tenant connected to WhatsApp (its Graph API is a
//!   local stub), then REQUESTS (default 20 000) signed `POST /webhook/whatsapp` deliveries of one
//!   new message each from CONNECTIONS (default 16) concurrent clients; prints requests/s, latency
//!   (p50 / p99 / max) and SQL statements per request (`scripts/bench-webhook` runs it on
//!   Postgres): first on a web-only instance (the router without the worker), then, once the
//!   worker has drained that backlog (its rate is printed too), on the whole instance with the
//!   processing jobs alongside.
//! - `bench conversation [CUSTOMERS] [CONNECTIONS]`: the same tenant with the guided menu on:
//!   CUSTOMERS (default 2 000) customers write "Oi", then tap "Agendar horário", then the service,
//!   round after round; prints per round the messages per second from the first post until every
//!   message is handled and every reply recorded as SENT by the stub (`scripts/bench-conversation`).
//! - `bench assistant [CUSTOMERS] [CONNECTIONS] [LATENCY_MS]`: the same tenant in the AI mode,
//!   against a local stub of Gemini answering after LATENCY_MS (default 0): CUSTOMERS (default
//!   2 000) customers each ask for the services; the model calls `list_services`, then answers
//!   with text (one tool round, two model calls). Prints the messages per second until every reply
//!   is SENT and the most model calls the stub had in flight at once (`scripts/bench-assistant`).
//!
//! - `bench finance [PAYMENTS] [RUNS]`: a tenant with PAYMENTS (default 100 000) payments over
//!   400 days; times `financeSummary` over 30 and 365 days through HTTP, RUNS (default 50) times
//!   each, printing min / p50 / p99 / max (`scripts/bench-finance` runs it on Postgres).
//!
//! The database is `DATABASE_URL` when set (use a fresh Postgres database), otherwise a temporary
//! SQLite file.

use std::{
    collections::HashMap,
    path::Path,
    process::Stdio,
    time::{Duration as StdDuration, Instant},
};

use anyhow::Context;
use chrono::{Duration, Utc};
use futures_util::{SinkExt, StreamExt, stream};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpStream,
    process::{Child, Command},
    sync::mpsc,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async_with_config,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        handshake::client::Request,
        http::{HeaderValue, header::SEC_WEBSOCKET_PROTOCOL},
        protocol::WebSocketConfig,
    },
};
use uuid::Uuid;
use waba_bot::{
    config::Settings,
    domains::appointments::service::available_slots,
    kernel::{
        ids::{ServiceId, TenantId, UserId},
        jwt::JwtKeys,
        viewer::{Role, Viewer},
    },
    startup::Application,
    state::AppState,
};

/// mimalloc: faster than the system allocator for the many small allocations of GraphQL responses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let command = args.first().map(String::as_str);
    if command == Some("fanout") {
        return fanout(number(1, 10_000), number(2, 20)).await;
    }
    // `bench fanout` hands its server a data directory of its own, which it removes once it has
    // killed the server.
    let data = match std::env::var_os("DATA_DIR") {
        Some(_) => None,
        None => Some(tempfile::tempdir()?),
    };
    let mut vars: Vec<(String, String)> = vec![
        ("HOST".into(), "127.0.0.1".into()),
        ("RUST_LOG".into(), "warn".into()),
    ];
    if let Some(data) = &data {
        vars.push(("DATA_DIR".into(), data.path().display().to_string()));
    }
    if std::env::var("PORT").is_err() {
        vars.push(("PORT".into(), "0".into()));
    }
    if matches!(command, Some("webhook" | "conversation" | "assistant")) {
        vars.push(("WABA_URL".into(), graph_stub().await?));
        vars.push(("WABA_APP_SECRET".into(), WEBHOOK_SECRET.into()));
    }
    let model = if command == Some("assistant") {
        let latency = StdDuration::from_millis(number(3, 0) as u64);
        let (url, in_flight) = gemini_stub(latency).await?;
        vars.push(("GEMINI_API_URL".into(), url));
        vars.push(("GEMINI_API_KEY".into(), "bench-key".into()));
        Some((latency, in_flight))
    } else {
        None
    };
    let settings = Settings::from_lookup(|key| {
        std::env::var(key)
            .ok()
            .or_else(|| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    })?;
    // Logs only when asked for: they cost the CPU being measured.
    if std::env::var_os("RUST_LOG").is_some() {
        waba_bot::telemetry::init(&settings);
    }
    let app = Application::build(settings).await?;
    match command {
        Some("availability") => availability(app.state(), number(1, 10_000), number(2, 200)).await,
        Some("serve") => serve(app, number(1, 500)).await,
        Some("finance") => finance(app, number(1, 100_000), number(2, 50)).await,
        Some("fanout-server") => fanout_server(app).await,
        Some("webhook") => webhook(app, number(1, 20_000), number(2, 16)).await,
        Some("mp-webhook") => mp_webhook(app, number(1, 20_000), number(2, 16)).await,
        Some("conversation") => conversation(app, number(1, 2_000), number(2, 16)).await,
        Some("assistant") => {
            let (latency, in_flight) = model.context("the model stub runs")?;
            assistant(app, number(1, 2_000), number(2, 16), latency, &in_flight).await
        }
        _ => anyhow::bail!(
            "usage: bench availability [APPOINTMENTS] [ITERATIONS] | bench serve [APPOINTMENTS] \
             | bench fanout [SUBSCRIBERS] [EVENTS] | bench webhook [REQUESTS] [CONNECTIONS] \
             | bench conversation [CUSTOMERS] [CONNECTIONS] \
             | bench assistant [CUSTOMERS] [CONNECTIONS] [LATENCY_MS] \
             | bench finance [PAYMENTS] [RUNS] | bench mp-webhook [REQUESTS] [CONNECTIONS]"
        ),
    }
}

struct Seeded {
    viewer: Viewer,
    service: ServiceId,
}

/// A tenant open every day 08:00–20:00 with a 30-minute service and `appointments` back-to-back
/// bookings from tomorrow on (one in ten canceled), spread over 50 customers.
async fn seed(state: &AppState, appointments: usize) -> anyhow::Result<Seeded> {
    let db = &state.db;
    let now = Utc::now();
    let plan = entity::saas_plans::Entity::find()
        .one(db)
        .await?
        .context("no SaaS plan")?;
    let tenant = Uuid::now_v7();
    entity::tenants::Entity::insert(entity::tenants::ActiveModel {
        id: Set(tenant),
        name: Set("Bench Salon".into()),
        phone: Set(format!("+55119{:08}", tenant.as_u128() % 100_000_000)),
        email: Set(format!("bench-{tenant}@waba.test")),
        time_zone: Set("America/Sao_Paulo".into()),
        saas_plan_id: Set(plan.id),
        saas_status: Set("ACTIVE".into()),
        ai_enabled: Set(true),
        booking_horizon_days: Set(365),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    let user = Uuid::now_v7();
    entity::users::Entity::insert(entity::users::ActiveModel {
        id: Set(user),
        email: Set(format!("owner-{user}@waba.test")),
        password_hash: Set(None),
        role: Set("TENANT".into()),
        email_verified: Set(true),
        is_active: Set(true),
        tenant_id: Set(Some(tenant)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    for weekday in 0..7 {
        entity::opening_hours::Entity::insert(entity::opening_hours::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            weekday: Set(weekday),
            start_minute: Set(8 * 60),
            end_minute: Set(20 * 60),
            only_for_subscribers: Set(false),
            created_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
    }
    let service = Uuid::now_v7();
    entity::services::Entity::insert(entity::services::ActiveModel {
        id: Set(service),
        tenant_id: Set(tenant),
        name: Set("Corte".into()),
        description: Set(None),
        price_cents: Set(5_000),
        duration_minutes: Set(30),
        active: Set(true),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    let customers: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    entity::customers::Entity::insert_many(customers.iter().enumerate().map(|(i, id)| {
        entity::customers::ActiveModel {
            id: Set(*id),
            tenant_id: Set(tenant),
            name: Set(format!("Cliente {i}")),
            phone: Set(format!("+55219{:08}", i)),
            email: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }))
    .exec_without_returning(db)
    .await?;
    let first_day = (now + Duration::days(1)).date_naive();
    let rows: Vec<entity::appointments::ActiveModel> = (0..appointments)
        .map(|i| {
            let day = first_day + Duration::days(i64::try_from(i / 24).unwrap_or(0));
            let minute = 8 * 60 + 30 * i64::try_from(i % 24).unwrap_or(0);
            // 08:00 in São Paulo is 11:00 UTC.
            let starts_at = day.and_time(chrono::NaiveTime::MIN).and_utc()
                + Duration::minutes(11 * 60 + minute - 8 * 60);
            entity::appointments::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant),
                customer_id: Set(customers[i % customers.len()]),
                service_id: Set(service),
                subscription_id: Set(None),
                starts_at: Set(starts_at),
                ends_at: Set(starts_at + Duration::minutes(30)),
                status: Set(if i % 10 == 9 { "CANCELED" } else { "CONFIRMED" }.into()),
                price_cents: Set(5_000),
                notes: Set(None),
                confirmed_at: Set(Some(now)),
                canceled_at: Set(None),
                cancellation_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                paid_at: Set(None),
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        entity::appointments::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(Seeded {
        viewer: Viewer {
            user_id: UserId(user),
            role: Role::Tenant,
            tenant_id: Some(TenantId(tenant)),
        },
        service: ServiceId(service),
    })
}

async fn availability(
    state: &AppState,
    appointments: usize,
    iterations: usize,
) -> anyhow::Result<()> {
    let seeded = seed(state, appointments).await?;
    let from = Utc::now();
    let to = from + Duration::days(30);
    let mut timings = Vec::with_capacity(iterations);
    let mut slots = 0;
    for i in 0..iterations + 10 {
        let started = Instant::now();
        let found = available_slots(state, &seeded.viewer, seeded.service, from, to, None)
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
        if i >= 10 {
            timings.push(started.elapsed());
        }
        slots = found.len();
    }
    timings.sort();
    let at = |q: f64| timings[((timings.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "availableSlots, 30 days, {appointments} appointments ({} backend), {iterations} runs: {slots} slots; \
         min {:?}, median {:?}, p95 {:?}, p99 {:?}",
        state.db.get_database_backend().as_str(),
        timings[0],
        at(0.5),
        at(0.95),
        at(0.99),
    );
    Ok(())
}

/// A token for the seeded owner that outlasts a benchmark (the normal one lasts 15 minutes).
fn long_lived_token(state: &AppState, viewer: &Viewer) -> anyhow::Result<String> {
    let keys = JwtKeys::new(
        &state.settings.auth.jwt_secret,
        StdDuration::from_secs(24 * 3600),
    );
    let (token, _) = keys.issue(viewer.user_id, Role::Tenant, viewer.tenant_id, None)?;
    Ok(token)
}

async fn serve(app: Application, appointments: usize) -> anyhow::Result<()> {
    let seeded = seed(app.state(), appointments).await?;
    let token = long_lived_token(app.state(), &seeded.viewer)?;
    println!("URL=http://127.0.0.1:{}/graphql", app.port());
    println!("TOKEN={token}");
    println!(
        "BODY={}",
        serde_json::json!({"query": "query Page { appointments(first: 500) { totalCount edges { node { id startsAt status price { amount } customer { id name phone } service { id name durationMinutes } subscription { id status } } } } }"})
    );
    app.run_until_stopped().await
}

/// Sockets `bench fanout` opens at once, well within the server's listen backlog.
const CONNECT_CONCURRENCY: usize = 200;
/// How long the server may take to migrate, seed and listen.
const READY_TIMEOUT: StdDuration = StdDuration::from_secs(120);
/// How long a socket may take from connecting to sending its `subscribe`.
const OPEN_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// How long the warm-up may take to reach every socket.
const WARMUP_TIMEOUT: StdDuration = StdDuration::from_secs(60);
/// A pause in deliveries after which the last warm-up round has reached every socket it will.
const WARMUP_QUIET: StdDuration = StdDuration::from_secs(1);
/// How long an event may take to reach every socket.
const EVENT_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// The read chunk of each client socket.
const CLIENT_READ_BUFFER_BYTES: usize = 4 * 1024;
/// Socket errors printed; the rest are only counted.
const PRINTED_ERRORS: usize = 10;
const SUBSCRIPTION: &str = "subscription { tenantEvents { __typename ... on TenantUpdated { tenant { id name updatedAt } } } }";

/// `bench fanout-server`: the server of `bench fanout`, with a tenant to update and its owner's
/// token; serves until killed.
async fn fanout_server(app: Application) -> anyhow::Result<()> {
    let state = app.state();
    let seeded = seed(state, 0).await?;
    let token = long_lived_token(state, &seeded.viewer)?;
    println!("URL=http://127.0.0.1:{}", app.port());
    println!(
        "BACKEND={} database, {} broker",
        state.db.get_database_backend().as_str(),
        if state.redis.is_some() {
            "Redis"
        } else {
            "in-process"
        }
    );
    // Last: `bench fanout` reads up to this line.
    println!("TOKEN={token}");
    app.run_until_stopped().await
}

async fn fanout(subscribers: usize, events: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        subscribers > 0 && events > 0,
        "SUBSCRIBERS and EVENTS must be at least 1"
    );
    // Declared first so it is removed after the server is gone.
    let data = tempfile::tempdir()?;
    let server = FanoutServer::start(subscribers, data.path()).await?;
    let api = Api {
        http: reqwest::Client::builder().build()?,
        url: server.url.clone(),
        token: server.token.clone(),
    };
    let memory_before = server.memory()?;
    let baseline = api.mutation_statements().await?;

    let started = Instant::now();
    let mut deliveries = open_sockets(&server, subscribers, events).await?;
    let opened = started.elapsed();
    let rounds = warm_up(&api, &mut deliveries, subscribers).await?;
    let memory_idle = server.memory()?;

    let mut sent = Vec::with_capacity(events);
    let mut statements = Vec::with_capacity(events);
    for event in 0..events {
        let before = api.statements().await?;
        let t0 = Instant::now();
        api.update_tenant(&Label::Event(event).name()).await?;
        let complete = deliveries
            .until(t0 + EVENT_TIMEOUT, |d| d.events[event].len() >= subscribers)
            .await?;
        let cost = api.statements().await? - before - baseline;
        let arrivals = &deliveries.events[event];
        let last = arrivals
            .iter()
            .max()
            .map_or(StdDuration::ZERO, |at| *at - t0);
        println!(
            "event {event}: {}/{subscribers} deliveries{}, the last after {}; statements: {cost}",
            arrivals.len(),
            if complete { "" } else { " (timed out)" },
            ms(last),
        );
        sent.push(t0);
        statements.push(cost);
    }
    let memory_after = server.memory()?;

    // Deliveries that came late, while a later event was awaited, count too.
    let mut latencies: Vec<StdDuration> = deliveries
        .events
        .iter()
        .zip(&sent)
        .flat_map(|(arrivals, t0)| arrivals.iter().map(move |at| *at - *t0))
        .collect();
    latencies.sort();
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\nfan-out over WebSockets: {subscribers} subscribers, {events} events, {}",
        server.backend
    );
    println!(
        "sockets opened and subscribed in {:.1} s; warm-up reached all of them in {rounds} round(s)",
        opened.as_secs_f64()
    );
    println!(
        "deliveries {}/{}, socket errors {}",
        latencies.len(),
        subscribers * events,
        deliveries.errors
    );
    println!(
        "latency from sending the mutation to receiving the event (an upper bound of commit to \
         delivery: it includes the mutation): {}",
        percentiles(&latencies)
    );
    println!(
        "SQL statements per event beyond the mutation's own {baseline}: min {}, max {} \
         (WS_REVALIDATE_SECONDS=3600, so no timed re-validation falls in)",
        statements.iter().min().copied().unwrap_or_default(),
        statements.iter().max().copied().unwrap_or_default(),
    );
    println!(
        "server RSS: {:.1} MiB before the sockets, {:.1} MiB idle with them subscribed ({:.1} KiB \
         per socket), {:.1} MiB after the events; peak {:.1} MiB",
        mib(memory_before.rss),
        mib(memory_idle.rss),
        (memory_idle.rss as f64 - memory_before.rss as f64) / subscribers as f64,
        mib(memory_after.rss),
        mib(memory_after.peak),
    );
    server.stop().await
}

/// `bench fanout-server` as a child process; killed when dropped, however `bench fanout` ends.
struct FanoutServer {
    process: Child,
    pid: u32,
    /// `http://127.0.0.1:PORT`
    url: String,
    token: String,
    backend: String,
}

impl FanoutServer {
    /// Starts the server, with room for `subscribers` sockets of one user, and waits until it is
    /// ready; the rest of its output (logs) goes to stderr.
    async fn start(subscribers: usize, data_dir: &Path) -> anyhow::Result<Self> {
        let mut process = Command::new(std::env::current_exe()?)
            .arg("fanout-server")
            .env("DATA_DIR", data_dir)
            .env(
                "WS_MAX_CONNECTIONS_PER_USER",
                (subscribers + 10).to_string(),
            )
            .env("WS_REVALIDATE_SECONDS", "3600")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the server process")?;
        let pid = process.id().context("the server process exited at once")?;
        let stdout = process.stdout.take().context("no stdout from the server")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut ready = HashMap::new();
        tokio::time::timeout(READY_TIMEOUT, async {
            while !ready.contains_key("TOKEN") {
                let line = lines
                    .next_line()
                    .await?
                    .context("the server exited before it was ready")?;
                match line.split_once('=') {
                    Some((key @ ("URL" | "BACKEND" | "TOKEN"), value)) => {
                        ready.insert(key.to_owned(), value.to_owned());
                    }
                    _ => eprintln!("server: {line}"),
                }
            }
            anyhow::Ok(())
        })
        .await
        .context("the server was not ready in time")??;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("server: {line}");
            }
        });
        let mut take = |key: &str| ready.remove(key).with_context(|| format!("no {key}= line"));
        Ok(Self {
            url: take("URL")?,
            token: take("TOKEN")?,
            backend: take("BACKEND")?,
            process,
            pid,
        })
    }

    /// The server's memory, from `/proc/PID/status`.
    fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.pid);
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {field} in {path}"))
        };
        Ok(Memory {
            rss: kib("VmRSS:")?,
            peak: kib("VmHWM:")?,
        })
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        self.process
            .kill()
            .await
            .context("cannot stop the server process")
    }
}

/// Memory of a process, in KiB.
struct Memory {
    /// Resident now (`VmRSS`).
    rss: u64,
    /// The most ever resident (`VmHWM`).
    peak: u64,
}

/// The server's HTTP side: the mutation that publishes the events, and the statement counter.
struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    /// Renames the tenant, which publishes `TenantUpdated`.
    async fn update_tenant(&self, name: &str) -> anyhow::Result<()> {
        let response: Value = self
            .http
            .post(format!("{}/graphql", self.url))
            .bearer_auth(&self.token)
            .json(&json!({
                "query": "mutation Fanout($name: String!) { updateTenant(input: {name: $name}) { id } }",
                "variables": {"name": name},
            }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("POST /graphql")?
            .json()
            .await
            .context("reading the updateTenant response")?;
        if let Some(errors) = response.get("errors") {
            anyhow::bail!("updateTenant failed: {errors}");
        }
        Ok(())
    }

    /// SQL statements the server has sent for requests and subscriptions: the sum of
    /// `waba_db_queries_total{source="api"}`.
    async fn statements(&self) -> anyhow::Result<i64> {
        let metrics = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("GET /metrics (open on the main port in development, without METRICS_TOKEN)")?
            .text()
            .await?;
        let samples: Vec<i64> = metrics
            .lines()
            .filter(|line| {
                line.starts_with("waba_db_queries_total{") && line.contains(r#"source="api""#)
            })
            .map(|line| {
                line.rsplit(' ')
                    .next()
                    .and_then(|value| value.parse().ok())
                    .with_context(|| format!("unreadable sample {line:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        anyhow::ensure!(
            !samples.is_empty(),
            r#"no waba_db_queries_total{{source="api"}} in /metrics"#
        );
        Ok(samples.iter().sum())
    }

    /// The statements of one `updateTenant` without subscribers: the least of three.
    async fn mutation_statements(&self) -> anyhow::Result<i64> {
        let mut least = i64::MAX;
        for i in 0..3 {
            let before = self.statements().await?;
            self.update_tenant(&format!("Fanout baseline {i}")).await?;
            least = least.min(self.statements().await? - before);
        }
        Ok(least)
    }
}

/// The mutation an event comes from, known by the tenant name it set.
#[derive(Clone, Copy)]
enum Label {
    Warmup(usize),
    Event(usize),
}

impl Label {
    fn name(self) -> String {
        match self {
            Self::Warmup(round) => format!("Fanout warmup {round}"),
            Self::Event(event) => format!("Fanout {event}"),
        }
    }

    /// The label of a `next` message, from the tenant name in its payload.
    fn of(next: &Value) -> Option<Self> {
        let name = next["payload"]["data"]["tenantEvents"]["tenant"]["name"]
            .as_str()?
            .strip_prefix("Fanout ")?;
        match name.strip_prefix("warmup ") {
            Some(round) => round.parse().ok().map(Self::Warmup),
            None => name.parse().ok().map(Self::Event),
        }
    }
}

/// What a socket's task reports.
enum Report {
    Delivery(Label, Instant),
    /// The socket is done: an `error`, a close, anything unexpected.
    Failure {
        socket: usize,
        message: String,
    },
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What every socket sends, and where its task reports.
#[derive(Clone)]
struct Subscriber {
    request: Request,
    init: Message,
    subscribe: Message,
    reports: mpsc::UnboundedSender<Report>,
}

impl Subscriber {
    /// Opens socket `index`, subscribes and leaves a task reporting what it receives.
    async fn open(self, index: usize) -> anyhow::Result<()> {
        let socket = tokio::time::timeout(OPEN_TIMEOUT, self.connect())
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after {OPEN_TIMEOUT:?}")))
            .with_context(|| format!("socket {index} could not subscribe"))?;
        tokio::spawn(listen(socket, index, self.reports));
        Ok(())
    }

    async fn connect(&self) -> anyhow::Result<Socket> {
        // tungstenite zeroes its whole read buffer (128 KiB by default) before every read: with
        // ten thousand sockets that would be the client's main cost, and it shares the cores
        // with the server it measures. The events are small.
        let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER_BYTES);
        let (mut socket, _) =
            connect_async_with_config(self.request.clone(), Some(config), true).await?;
        socket.send(self.init.clone()).await?;
        let reply = socket
            .next()
            .await
            .context("closed before connection_ack")??;
        let acked = reply
            .to_text()
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .is_some_and(|message| message["type"] == "connection_ack");
        anyhow::ensure!(acked, "expected connection_ack, got {reply:?}");
        socket.send(self.subscribe.clone()).await?;
        Ok(socket)
    }
}

/// Opens `subscribers` sockets, `CONNECT_CONCURRENCY` at a time, each subscribed to
/// `tenantEvents`.
async fn open_sockets(
    server: &FanoutServer,
    subscribers: usize,
    events: usize,
) -> anyhow::Result<Deliveries> {
    let mut request = format!("{}/graphql/ws", server.url.replacen("http://", "ws://", 1))
        .into_client_request()?;
    request.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (reports, receiver) = mpsc::unbounded_channel();
    let subscriber = Subscriber {
        request,
        init: Message::text(
            json!({
                "type": "connection_init",
                "payload": {"Authorization": format!("Bearer {}", server.token)},
            })
            .to_string(),
        ),
        subscribe: Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}).to_string(),
        ),
        reports,
    };
    let mut opened = stream::iter(0..subscribers)
        .map(|index| tokio::spawn(subscriber.clone().open(index)))
        .buffer_unordered(CONNECT_CONCURRENCY);
    while let Some(joined) = opened.next().await {
        joined.context("a socket task panicked")??;
    }
    Ok(Deliveries {
        reports: receiver,
        warmups: HashMap::new(),
        events: vec![Vec::new(); events],
        errors: 0,
    })
}

/// Reports every event the socket receives, until it fails; then the failure.
async fn listen(mut socket: Socket, index: usize, reports: mpsc::UnboundedSender<Report>) {
    let failure = loop {
        let text = match socket.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                break frame.map_or_else(|| "closed".to_owned(), |f| format!("closed: {f}"));
            }
            // WebSocket pings, which tungstenite answers.
            Some(Ok(_)) => continue,
            Some(Err(err)) => break format!("read failed: {err}"),
            None => break "closed".to_owned(),
        };
        let arrived = Instant::now();
        let message: Value = serde_json::from_str(&text).unwrap_or_default();
        match message["type"].as_str() {
            Some("next") => match Label::of(&message) {
                Some(label) => {
                    if reports.send(Report::Delivery(label, arrived)).is_err() {
                        return;
                    }
                }
                None => break format!("unexpected event: {text}"),
            },
            Some("ping") => {
                if let Err(err) = socket.send(Message::text(r#"{"type":"pong"}"#)).await {
                    break format!("answering a ping failed: {err}");
                }
            }
            _ => break format!("unexpected message: {text}"),
        }
    };
    let _ = reports.send(Report::Failure {
        socket: index,
        message: failure,
    });
}

/// What the sockets reported.
struct Deliveries {
    reports: mpsc::UnboundedReceiver<Report>,
    /// Sockets each warm-up round reached.
    warmups: HashMap<usize, usize>,
    /// Arrival times of each event's deliveries.
    events: Vec<Vec<Instant>>,
    errors: usize,
}

impl Deliveries {
    /// Records the next report; `false` when none came within `wait`.
    async fn take(&mut self, wait: StdDuration) -> anyhow::Result<bool> {
        let report = match tokio::time::timeout(wait, self.reports.recv()).await {
            Ok(report) => report.context("every socket has closed")?,
            Err(_) => return Ok(false),
        };
        match report {
            Report::Delivery(Label::Warmup(round), _) => {
                *self.warmups.entry(round).or_default() += 1;
            }
            Report::Delivery(Label::Event(event), at) => {
                if let Some(arrivals) = self.events.get_mut(event) {
                    arrivals.push(at);
                }
            }
            Report::Failure { socket, message } => {
                self.errors += 1;
                if self.errors <= PRINTED_ERRORS {
                    eprintln!("socket {socket}: {message}");
                }
            }
        }
        Ok(true)
    }

    /// Records reports until `done` holds (`true`) or `deadline` passes (`false`).
    async fn until(
        &mut self,
        deadline: Instant,
        done: impl Fn(&Self) -> bool,
    ) -> anyhow::Result<bool> {
        while !done(self) {
            if !self
                .take(deadline.saturating_duration_since(Instant::now()))
                .await?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The most sockets one warm-up round reached.
    fn warmed_up(&self) -> usize {
        self.warmups.values().copied().max().unwrap_or_default()
    }
}

/// Fires warm-up events until one reaches every socket, which proves that every subscription is
/// registered and delivery works. A socket whose `subscribe` was still on its way misses a round,
/// so another one is fired whenever deliveries pause; events reach each subscription in order, so
/// once a round has reached every socket no earlier one is still being delivered. Returns the
/// rounds fired.
async fn warm_up(
    api: &Api,
    deliveries: &mut Deliveries,
    subscribers: usize,
) -> anyhow::Result<usize> {
    let deadline = Instant::now() + WARMUP_TIMEOUT;
    let mut rounds = 0;
    while deliveries.warmed_up() < subscribers {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {subscribers} sockets received a warm-up event within {WARMUP_TIMEOUT:?} \
             ({} socket errors)",
            deliveries.warmed_up(),
            deliveries.errors,
        );
        if rounds == 0 || !deliveries.take(WARMUP_QUIET).await? {
            api.update_tenant(&Label::Warmup(rounds).name()).await?;
            rounds += 1;
        }
    }
    Ok(rounds)
}

/// min / p50 / p99 / max of sorted latencies.
fn percentiles(sorted: &[StdDuration]) -> String {
    if sorted.is_empty() {
        return "no deliveries".into();
    }
    let at = |q: f64| ms(sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]);
    format!(
        "min {}, p50 {}, p99 {}, max {}",
        at(0.0),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

fn ms(duration: StdDuration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

/// The Meta app secret `bench webhook` signs with.
const WEBHOOK_SECRET: &str = "bench-app-secret";
/// The seeded tenant's WhatsApp number id.
const WEBHOOK_PHONE_NUMBER_ID: &str = "106540352242922";
/// Deliveries before the measured ones (connections, caches, the job tables).
const WEBHOOK_WARMUP: usize = 1_000;
/// Distinct customers the messages come from.
const WEBHOOK_CUSTOMERS: usize = 1_000;

/// Runs the application until the process ends; if it stops first, says why and ends the process
/// (the measurement would only wait on closed pools).
fn run_in_background(app: Application) {
    tokio::spawn(async move {
        let stopped = app.run_until_stopped().await;
        eprintln!("the application stopped: {stopped:?}");
        std::process::exit(1);
    });
}

/// A stand-in for the Graph API on loopback: every call succeeds, and every send is accepted
/// with a new `wamid`.
async fn graph_stub() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stub = axum::Router::new().fallback(move || {
        let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            axum::Json(json!({"success": true, "messages": [{"id": format!("wamid.stub.{n}")}]}))
        }
    });
    tokio::spawn(async move { axum::serve(listener, stub).await });
    Ok(url)
}

/// Seeds a tenant connected to WhatsApp (the stub) whose bot answers in `bot_mode`; its id and
/// its service.
async fn whatsapp_tenant(
    state: &AppState,
    bot_mode: &str,
) -> anyhow::Result<(TenantId, ServiceId)> {
    let seeded = seed(state, 0).await?;
    let tenant = seeded
        .viewer
        .tenant_id
        .context("the seeded owner has a tenant")?;
    entity::tenants::Entity::update(entity::tenants::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(tenant.0),
        waba_id: Set(Some("102290129340398".into())),
        phone_number_id: Set(Some(WEBHOOK_PHONE_NUMBER_ID.into())),
        whatsapp_token_enc: Set(Some(state.cipher.encrypt("bench-token")?)),
        bot_mode: Set(bot_mode.into()),
        ..Default::default()
    })
    .exec(&state.db)
    .await?;
    Ok((tenant, seeded.service))
}

async fn webhook(app: Application, requests: usize, connections: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        requests > 0 && connections > 0,
        "REQUESTS and CONNECTIONS must be at least 1"
    );
    let state = app.state().clone();
    // The figure is intake: nobody answers.
    whatsapp_tenant(&state, "OFF").await?;
    let text = |n: usize| {
        let from = format!("55119{:08}", n % WEBHOOK_CUSTOMERS);
        Delivery::of(
            &from,
            n,
            text_message("Quero agendar um corte amanhã às 10h"),
        )
    };
    let round = |r: usize| {
        (WEBHOOK_WARMUP + r * requests..WEBHOOK_WARMUP + (r + 1) * requests)
            .map(text)
            .collect::<Vec<_>>()
    };
    println!(
        "webhook intake: {requests} signed single-message deliveries per run, {connections} \
         connections, {} database",
        state.db.get_database_backend().as_str()
    );

    let warmup = (0..WEBHOOK_WARMUP).map(text).collect();
    web_only_run(&state, connections, warmup, round(0)).await?;

    // The whole instance: the backlog drains, then intake runs with the worker alongside.
    let client = WebhookClient::new(&app, connections)?;
    let started = Instant::now();
    run_in_background(app);
    let backlog = WEBHOOK_WARMUP + requests;
    ingested(&state, backlog).await?;
    println!(
        "the worker stored the backlog of {backlog} deliveries' messages at {:.0} messages/s",
        backlog as f64 / started.elapsed().as_secs_f64()
    );
    intake_run(&state, &client, round(1), "with the worker alongside").await?;
    Ok(())
}

/// Warms up with `warmup`, then posts `deliveries` to a web-only instance (the router without the
/// worker and the outbox dispatcher) and prints the figures: intake alone.
async fn web_only_run(
    state: &AppState,
    connections: usize,
    warmup: Vec<Delivery>,
    deliveries: Vec<Delivery>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let web_only = WebhookClient::at(listener.local_addr()?.port(), connections)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(waba_bot::http::serve::serve(
        listener,
        waba_bot::http::router(state.clone(), waba_bot::schema::build(state)),
        state.settings.http.header_timeout,
        async move {
            let _ = stopped.await;
        },
    ));
    web_only.deliver(warmup).await?;
    intake_run(state, &web_only, deliveries, "web only (no worker)").await?;
    let _ = stop.send(());
    server.await?;
    Ok(())
}

/// Posts `deliveries` and prints the rate, the latencies and the statements per request.
async fn intake_run(
    state: &AppState,
    client: &WebhookClient,
    deliveries: Vec<Delivery>,
    name: &str,
) -> anyhow::Result<()> {
    let requests = deliveries.len();
    let statements = state.metrics.db_counter("api");
    let before = statements.get();
    let started = Instant::now();
    let mut latencies = client.deliver(deliveries).await?;
    let elapsed = started.elapsed();
    let spent = statements.get() - before;
    latencies.sort();
    println!(
        "{name}: {:.0} requests/s; latency {}; {:.2} SQL statements per request",
        requests as f64 / elapsed.as_secs_f64(),
        percentiles(&latencies),
        spent as f64 / requests as f64
    );
    Ok(())
}

/// Waits until `deliveries` webhook deliveries are ingested (their messages stored).
async fn ingested(state: &AppState, deliveries: usize) -> anyhow::Result<()> {
    use entity::webhook_deliveries::{Column, Entity};
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let deadline = Instant::now() + StdDuration::from_secs(600);
    loop {
        let done = Entity::find()
            .filter(Column::ProcessedAt.is_not_null())
            .count(&state.db)
            .await?;
        if done as usize >= deliveries {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{done} of {deliveries} deliveries ingested after 10 minutes"
        );
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// How often the bench looks whether the worker is done: often enough to add little to a round of
/// seconds, rarely enough that counting rows does not take much from the worker it waits for.
const SETTLE_POLL: StdDuration = StdDuration::from_millis(50);

/// The guided menu end to end: CUSTOMERS customers each write "Oi" (the greeting list answers),
/// then tap "Agendar horário" (the services), then the service (the days with free slots), one
/// round after the other; each round ends once every message is handled and every reply is SENT
/// to the stub.
async fn conversation(
    app: Application,
    customers: usize,
    connections: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        customers > 0 && connections > 0,
        "CUSTOMERS and CONNECTIONS must be at least 1"
    );
    let state = app.state().clone();
    let (tenant, service) = whatsapp_tenant(&state, "MENU").await?;
    let client = WebhookClient::new(&app, connections)?;
    run_in_background(app);
    println!(
        "menu end to end: {customers} customers, {connections} connections, {} database",
        state.db.get_database_backend().as_str()
    );
    let rounds = [
        ("Oi → greeting", text_message("Oi")),
        ("Agendar → services", tap_message("book")),
        ("service → days", tap_message(&format!("svc:{service}"))),
    ];
    for (round, (name, message)) in rounds.into_iter().enumerate() {
        let deliveries = (0..customers)
            .map(|n| {
                let from = format!("55119{n:08}");
                Delivery::of(&from, round * customers + n, message.clone())
            })
            .collect();
        measure_round(
            &state,
            &client,
            tenant,
            name,
            deliveries,
            (round + 1) * customers,
        )
        .await?;
    }
    Ok(())
}

/// Posts one round of `deliveries` (one message each) and waits until `handled` messages of
/// `tenant` in all are answered and every reply is SENT; prints the round's rate.
async fn measure_round(
    state: &AppState,
    client: &WebhookClient,
    tenant: TenantId,
    name: &str,
    deliveries: Vec<Delivery>,
    handled: usize,
) -> anyhow::Result<()> {
    let messages = deliveries.len();
    let statements =
        || state.metrics.db_counter("api").get() + state.metrics.db_counter("worker").get();
    let before = statements();
    let started = Instant::now();
    client.deliver(deliveries).await?;
    let acknowledged = started.elapsed();
    let replies = settle(state, tenant, handled).await?;
    let elapsed = started.elapsed();
    println!(
        "{name}: {:.0} messages/s answered and SENT ({replies} replies in all; all acknowledged \
         after {}, all answered after {}; {:.1} SQL statements per message, the bench's polling \
         included)",
        messages as f64 / elapsed.as_secs_f64(),
        ms(acknowledged),
        ms(elapsed),
        (statements() - before) as f64 / messages as f64,
    );
    Ok(())
}

/// The AI mode end to end: CUSTOMERS customers each ask for the services; the model stub (after
/// `latency`) calls `list_services`, then answers with text. A warm-up round of a tenth of them
/// first; then the measured round, and the most model calls in flight at once during it.
async fn assistant(
    app: Application,
    customers: usize,
    connections: usize,
    latency: StdDuration,
    in_flight: &ModelInFlight,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        customers > 0 && connections > 0,
        "CUSTOMERS and CONNECTIONS must be at least 1"
    );
    let state = app.state().clone();
    let (tenant, _) = whatsapp_tenant(&state, "AI").await?;
    let client = WebhookClient::new(&app, connections)?;
    run_in_background(app);
    println!(
        "AI turn end to end (one tool round): {customers} customers, {connections} connections, \
         model answering after {} ms, {} database",
        latency.as_millis(),
        state.db.get_database_backend().as_str()
    );
    let ask = text_message("Quais serviços vocês têm?");
    let warm_up = (customers / 10).max(1);
    let deliveries = (0..warm_up)
        .map(|n| Delivery::of(&format!("55119{n:08}"), n, ask.clone()))
        .collect();
    measure_round(&state, &client, tenant, "warm-up", deliveries, warm_up).await?;
    in_flight.reset();
    let deliveries = (0..customers)
        .map(|n| {
            Delivery::of(
                &format!("55119{:08}", warm_up + n),
                warm_up + n,
                ask.clone(),
            )
        })
        .collect();
    measure_round(
        &state,
        &client,
        tenant,
        "question → list_services → answer",
        deliveries,
        warm_up + customers,
    )
    .await?;
    println!(
        "model calls in flight at once: at most {} ({} calls in all)",
        in_flight.most(),
        in_flight.calls()
    );
    Ok(())
}

/// What the model stub counts: calls in flight now, the most at once, and all calls.
#[derive(Default)]
struct ModelInFlight {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    calls: std::sync::atomic::AtomicUsize,
}

impl ModelInFlight {
    fn enter(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let now = self.now.fetch_add(1, Relaxed) + 1;
        self.most.fetch_max(now, Relaxed);
        self.calls.fetch_add(1, Relaxed);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn reset(&self) {
        self.most.store(0, std::sync::atomic::Ordering::Relaxed);
        self.calls.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    fn most(&self) -> usize {
        self.most.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A stand-in for Gemini's `generateContent` on loopback, answering after `latency`: a customer's
/// text gets a call of `list_services`, the function's response gets the final text.
async fn gemini_stub(
    latency: StdDuration,
) -> anyhow::Result<(String, std::sync::Arc<ModelInFlight>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let in_flight = std::sync::Arc::new(ModelInFlight::default());
    let counter = in_flight.clone();
    let stub = axum::Router::new().fallback(move |axum::Json(request): axum::Json<Value>| {
        let counter = counter.clone();
        async move {
            counter.enter();
            tokio::time::sleep(latency).await;
            counter.leave();
            let answered_tool = request["contents"]
                .as_array()
                .and_then(|contents| contents.last())
                .is_some_and(|last| last["parts"][0].get("functionResponse").is_some());
            let part = if answered_tool {
                json!({"text": "Temos Corte por R$ 50,00 (1h). Quer agendar?"})
            } else {
                json!({"functionCall": {"name": "list_services", "args": {}}})
            };
            axum::Json(json!({
                "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 900, "candidatesTokenCount": 20, "totalTokenCount": 920},
                "modelVersion": "gemini-2.5-flash",
            }))
        }
    });
    tokio::spawn(async move { axum::serve(listener, stub).await });
    Ok((url, in_flight))
}

/// Waits until `inbound` messages of `tenant` are handled and none of its replies is waiting to
/// be sent; how many replies were SENT.
async fn settle(state: &AppState, tenant: TenantId, inbound: usize) -> anyhow::Result<u64> {
    use entity::messages::{Column, Entity};
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let count = |filter: sea_orm::Condition| {
        Entity::find()
            .filter(Column::TenantId.eq(tenant.0))
            .filter(filter)
            .count(&state.db)
    };
    let deadline = Instant::now() + StdDuration::from_secs(600);
    loop {
        let handled = count(
            sea_orm::Condition::all()
                .add(Column::Direction.eq("INBOUND"))
                .add(Column::HandledAt.is_not_null()),
        )
        .await?;
        // Replies are counted only once every message is handled: the poll itself costs the
        // database it measures.
        if handled as usize >= inbound && count(Column::Status.eq("QUEUED").into()).await? == 0 {
            return Ok(count(Column::Status.eq("SENT").into()).await?);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{handled} of {inbound} messages handled (or replies still queued) after 10 minutes"
        );
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// A customer's typed text, as the webhook carries it.
fn text_message(body: &str) -> Value {
    json!({"type": "text", "text": {"body": body}})
}

/// A customer's tap on list row `id`.
fn tap_message(id: &str) -> Value {
    json!({"type": "interactive", "interactive": {"type": "list_reply",
        "list_reply": {"id": id, "title": id}}})
}

/// A signed webhook delivery of one message, built before the clock starts.
/// A webhook request: where it goes (path and query), its headers (the signature) and its body.
struct Delivery {
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Delivery {
    /// Message number `n` (its `wamid` is new) from customer `from`.
    fn of(from: &str, n: usize, mut message: Value) -> Self {
        message["from"] = json!(from);
        message["id"] = json!(format!("wamid.bench.{}.{n}", std::process::id()));
        message["timestamp"] = json!(Utc::now().timestamp().to_string());
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": WEBHOOK_PHONE_NUMBER_ID},
                "contacts": [{"profile": {"name": format!("Cliente {from}")}, "wa_id": from}],
                "messages": [message],
            }}]}],
        })
        .to_string()
        .into_bytes();
        let signature = format!(
            "sha256={}",
            waba_bot::kernel::crypto::hmac_sha256_hex(WEBHOOK_SECRET.as_bytes(), &body)
        );
        Self {
            path: "/webhook/whatsapp".to_owned(),
            headers: vec![("x-hub-signature-256", signature)],
            body,
        }
    }

    /// Mercado Pago's notification number `n` of payment `data_id`, signed with `secret` as
    /// protocols.md §2.4 describes.
    fn mercado_pago(secret: &[u8], n: usize, data_id: &str) -> Self {
        let request_id = Uuid::now_v7().to_string();
        let ts = Utc::now().timestamp_millis();
        let manifest = format!("id:{data_id};request-id:{request_id};ts:{ts};");
        let v1 = waba_bot::kernel::crypto::hmac_sha256_hex(secret, manifest.as_bytes());
        let body = json!({"id": n, "live_mode": true, "type": "payment", "user_id": 1_234_567_890_u64,
                          "api_version": "v1", "action": "payment.updated", "data": {"id": data_id}});
        Self {
            path: format!("/webhooks/mercadopago?data.id={data_id}&type=payment"),
            headers: vec![
                ("x-signature", format!("ts={ts},v1={v1}")),
                ("x-request-id", request_id),
            ],
            body: body.to_string().into_bytes(),
        }
    }
}

struct WebhookClient {
    http: reqwest::Client,
    /// `http://127.0.0.1:{port}`
    origin: String,
    connections: usize,
}

impl WebhookClient {
    fn new(app: &Application, connections: usize) -> anyhow::Result<Self> {
        Self::at(app.port(), connections)
    }

    fn at(port: u16, connections: usize) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(connections)
                .build()?,
            origin: format!("http://127.0.0.1:{port}"),
            connections,
        })
    }

    /// Posts `deliveries` from the client's concurrent connections; the latency of each, which
    /// must be answered 200.
    async fn deliver(&self, deliveries: Vec<Delivery>) -> anyhow::Result<Vec<StdDuration>> {
        stream::iter(deliveries)
            .map(|delivery| self.post(delivery))
            .buffer_unordered(self.connections)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    async fn post(&self, delivery: Delivery) -> anyhow::Result<StdDuration> {
        let started = Instant::now();
        let mut request = self
            .http
            .post(format!("{}{}", self.origin, delivery.path))
            .header("content-type", "application/json");
        for (name, value) in delivery.headers {
            request = request.header(name, value);
        }
        let answer = request.body(delivery.body).send().await?;
        let latency = started.elapsed();
        anyhow::ensure!(
            answer.status() == reqwest::StatusCode::OK,
            "a delivery was answered {}",
            answer.status()
        );
        Ok(latency)
    }
}

/// The finance page's summary with every breakdown the dashboard shows.
const FINANCE_SUMMARY: &str = "query Finance($from: Date!, $to: Date!) { financeSummary(from: $from, to: $to) { gross { amount } fees { amount } net { amount } pending { amount } refunded { amount } count averageTicket { amount } byStatus { status count } byDay { date gross { amount } net { amount } count } byService { service { id name } gross { amount } count } byMethod { method gross { amount } count } byProvider { provider gross { amount } count } } }";

/// `bench finance [PAYMENTS] [RUNS]`: a tenant with PAYMENTS (default 100 000) payments spread
/// evenly over the last 400 days (five services, four methods, both providers, statuses mixed as
/// a business sees them), then RUNS (default 50) `financeSummary` requests over the last 30 and
/// the last 365 local days through the HTTP GraphQL endpoint, one at a time; prints min / p50 /
/// p99 / max and the SQL statements per request (`scripts/bench-finance`).
async fn finance(app: Application, payments: usize, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(runs > 0, "RUNS must be at least 1");
    let state = app.state().clone();
    let seeded = seed(&state, 0).await?;
    let tenant = seeded
        .viewer
        .tenant_id
        .context("the seeded owner has a tenant")?;
    let now = Utc::now();
    let mut services = vec![seeded.service.0];
    for name in ["Barba", "Coloração", "Manicure", "Sobrancelha"] {
        let id = Uuid::now_v7();
        entity::services::Entity::insert(entity::services::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant.0),
            name: Set(name.into()),
            description: Set(None),
            price_cents: Set(4_000),
            duration_minutes: Set(30),
            active: Set(true),
            archived_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&state.db)
        .await?;
        services.push(id);
    }
    // Out of 100: 80 approved, 5 pending, 4 rejected, 5 refunded, 3 partly refunded, 2 charged
    // back, 1 in mediation.
    let status = |i: usize| match i % 100 {
        0..80 => "APPROVED",
        80..85 => "PENDING",
        85..89 => "REJECTED",
        89..94 => "REFUNDED",
        94..97 => "PARTIALLY_REFUNDED",
        97..99 => "CHARGED_BACK",
        _ => "IN_MEDIATION",
    };
    let span = Duration::days(400).num_seconds();
    let started = Instant::now();
    let rows = (0..payments).map(|i| {
        let status = status(i);
        let paid = !matches!(status, "PENDING" | "REJECTED");
        let at = now - Duration::seconds(span * i as i64 / payments.max(1) as i64);
        let amount = 3_000 + 500 * (i % 13) as i64;
        let fee = amount * 499 / 10_000;
        entity::payments::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.0),
            purpose: Set("APPOINTMENT".into()),
            appointment_id: Set(None),
            subscription_id: Set(None),
            customer_id: Set(None),
            service_id: Set(Some(services[i % services.len()])),
            provider: Set(if i % 10 < 7 {
                "MERCADO_PAGO"
            } else {
                "INFINITE_PAY"
            }
            .into()),
            status: Set(status.into()),
            status_detail: Set(None),
            method: Set(paid.then(|| ["PIX", "CREDIT_CARD", "DEBIT_CARD", "BOLETO"][i % 4].into())),
            amount_cents: Set(amount),
            paid_amount_cents: Set(paid.then_some(amount)),
            fee_cents: Set(paid.then_some(fee)),
            net_cents: Set(paid.then_some(amount - fee)),
            refunded_cents: Set(match status {
                "REFUNDED" => amount,
                "PARTIALLY_REFUNDED" => amount / 2,
                _ => 0,
            }),
            currency: Set("BRL".into()),
            external_id: Set(paid.then(|| format!("bench-{i}"))),
            checkout_id: Set(None),
            checkout_url: Set(None),
            link_expires_at: Set(None),
            link_sent_at: Set(None),
            provider_updated_at: Set(None),
            needs_refund: Set(false),
            review_reason: Set(None),
            approved_at: Set(paid.then_some(at)),
            reported_at: Set(at),
            created_at: Set(at),
            updated_at: Set(at),
        }
    });
    let rows: Vec<_> = rows.collect();
    // Within both engines' limits on bound parameters per statement.
    for chunk in rows.chunks(1_000) {
        entity::payments::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&state.db)
            .await?;
    }
    // Rows inserted behind the payments service's back: the finance rollup is built from them
    // as the migration's backfill would.
    let zone = waba_bot::domains::tenants::service::find(&state.db, tenant)
        .await
        .map_err(|err| anyhow::anyhow!("{err:?}"))?
        .time_zone;
    let txn = waba_bot::db::begin_write(&state.db).await?;
    waba_bot::domains::payments::finance::rebuild_days(&txn, tenant, zone)
        .await
        .map_err(|err| anyhow::anyhow!("{err:?}"))?;
    txn.commit().await?;
    let backend = state.db.get_database_backend();
    if backend == sea_orm::DatabaseBackend::Postgres {
        // What autovacuum does soon after a bulk load: statistics and the visibility map.
        sea_orm::ConnectionTrait::execute_unprepared(
            &state.db,
            "VACUUM ANALYZE payments, payment_days",
        )
        .await?;
    }
    println!(
        "financeSummary: {payments} payments seeded in {:.1} s ({} database), {runs} runs per range",
        started.elapsed().as_secs_f64(),
        backend.as_str()
    );

    let url = format!("http://127.0.0.1:{}/graphql", app.port());
    let token = long_lived_token(&state, &seeded.viewer)?;
    run_in_background(app);
    let http = reqwest::Client::new();
    let today = now
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    let statements = state.metrics.db_counter("api");
    for days in [30, 365] {
        let from = today - Duration::days(days - 1);
        let body = json!({
            "query": FINANCE_SUMMARY,
            "variables": {"from": from.to_string(), "to": today.to_string()},
        });
        let mut timings = Vec::with_capacity(runs);
        let mut counted = 0;
        let before = statements.get();
        for run in 0..runs + 5 {
            let started = Instant::now();
            let answer: Value = http
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let elapsed = started.elapsed();
            anyhow::ensure!(
                answer["errors"].is_null(),
                "financeSummary failed: {answer}"
            );
            counted = answer["data"]["financeSummary"]["count"]
                .as_u64()
                .unwrap_or(0);
            // The first few warm connections and plans.
            if run >= 5 {
                timings.push(elapsed);
            }
        }
        let spent = statements.get() - before;
        timings.sort();
        println!(
            "{days} days ({counted} payments received): {}; {:.1} SQL statements per request",
            percentiles(&timings),
            spent as f64 / (runs + 5) as f64
        );
    }
    Ok(())
}

/// `bench mp-webhook [REQUESTS] [CONNECTIONS]`: signed Mercado Pago `payment` notifications (a new
/// `data.id` each, `MP_WEBHOOK_SECRET` from the environment) from CONNECTIONS concurrent clients
/// to the whole instance (the worker reconciles them alongside); after a warm-up of 1 000, prints
/// requests/s, latency and SQL statements per request (`scripts/bench-mp-webhook`).
async fn mp_webhook(app: Application, requests: usize, connections: usize) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    anyhow::ensure!(
        requests > 0 && connections > 0,
        "REQUESTS and CONNECTIONS must be at least 1"
    );
    let state = app.state().clone();
    let secret = state
        .settings
        .payments
        .mp_webhook_secret
        .clone()
        .context("set MP_WEBHOOK_SECRET")?;
    let run = std::process::id();
    let notification = |n: usize| {
        Delivery::mercado_pago(
            secret.expose_secret().as_bytes(),
            n,
            &format!("{run}{n:09}"),
        )
    };
    let round = |r: usize| {
        (WEBHOOK_WARMUP + r * requests..WEBHOOK_WARMUP + (r + 1) * requests)
            .map(notification)
            .collect::<Vec<_>>()
    };
    println!(
        "Mercado Pago webhook acknowledgement: {requests} signed notifications per run, \
         {connections} connections, {} database",
        state.db.get_database_backend().as_str()
    );
    let warmup = (0..WEBHOOK_WARMUP).map(notification).collect();
    web_only_run(&state, connections, warmup, round(0)).await?;
    // The whole instance: the worker reconciles what was stored while intake goes on.
    let client = WebhookClient::new(&app, connections)?;
    run_in_background(app);
    intake_run(&state, &client, round(1), "with the worker alongside").await?;
    Ok(())
}
