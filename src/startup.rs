//! Building and running the application as a value: `Application::build(settings)` wires the
//! database, Redis, clients, schema, router and worker; `run_until_stopped()` serves HTTP and runs
//! the worker and the outbox dispatcher until SIGTERM/SIGINT (or [`Shutdown::trigger`]), then
//! stops accepting, finishes in-flight requests and jobs within the deadline, and returns.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use fred::{
    interfaces::{ClientLike, EventInterface},
    prelude::{Builder, Config as RedisConfig, ReconnectPolicy},
};
use secrecy::ExposeSecret;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    app,
    broker::Broker,
    clients::Clients,
    config::Settings,
    db, http,
    jobs::{
        JobStore, Jobs,
        worker::{WorkerEnv, build_monitor},
    },
    kernel::{clock::Clock, crypto::Cipher, jwt::JwtKeys},
    metrics::Metrics,
    rate_limit::RateLimiter,
    schema,
    state::AppState,
};

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    port: u16,
    /// `/metrics` on its own port (`METRICS_PORT`).
    metrics_listener: Option<TcpListener>,
    state: AppState,
    shutdown: Shutdown,
}

/// Triggers a graceful shutdown from code (tests, embedding).
#[derive(Clone)]
pub struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }

    async fn wait(mut receiver: watch::Receiver<bool>) {
        let _ = receiver.wait_for(|stop| *stop).await;
    }
}

impl Application {
    /// Connects to the database (applying migrations), Redis and the job store, and binds the port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clients(settings, None).await
    }

    /// Like [`Application::build`], with the external clients supplied by the caller.
    pub async fn build_with_clients(
        settings: Settings,
        clients: Option<Clients>,
    ) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let db = db::connect(
            &settings.database,
            &metrics,
            "api",
            settings.database.max_connections,
        )
        .await?;
        db::migrate(&db)
            .await
            .context("database migrations failed")?;
        // Background work gets its own, smaller pool: it never starves requests of connections,
        // and its statements are counted apart from the requests'.
        let worker_connections = u32::try_from(settings.worker.concurrency + 2)
            .unwrap_or(u32::MAX)
            .min(settings.database.max_connections);
        let worker_db =
            db::connect(&settings.database, &metrics, "worker", worker_connections).await?;
        let store = JobStore::setup(&worker_db)
            .await
            .context("job store set-up failed")?;

        let (redis, broker) = match &settings.redis.url {
            Some(url) => {
                let (client, broker) =
                    connect_redis(url.expose_secret(), &settings.redis.prefix).await?;
                (Some(client), broker)
            }
            None => (None, Broker::in_process()),
        };
        let clients = match clients {
            Some(clients) => clients,
            None => Clients::from_settings(&settings)?,
        };
        let clock = Clock::system();
        let state = AppState {
            cipher: Cipher::from_setting(&settings.auth.encryption_key)?,
            jwt: JwtKeys::new(&settings.auth.jwt_secret, settings.auth.access_token_ttl),
            rate_limiter: RateLimiter::new(redis.clone(), &settings.redis.prefix),
            assistant: app::assistant(&clients, &settings.ai),
            jobs: Jobs::new(
                store,
                worker_db,
                settings.worker.max_attempts,
                app::queues(),
                clock.clone(),
            ),
            clock,

            redis,
            broker,
            clients,
            metrics,
            db,
            settings: Arc::new(settings),
        };

        let address = SocketAddr::new(state.settings.http.host, state.settings.http.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match state.settings.metrics.port {
            Some(metrics_port) => {
                let address = SocketAddr::new(state.settings.http.host, metrics_port);
                Some(
                    TcpListener::bind(address)
                        .await
                        .with_context(|| format!("cannot listen on {address} (METRICS_PORT)"))?,
                )
            }
            None => None,
        };
        if !http::metrics_on_main_port_allowed(&state) && metrics_listener.is_none() {
            tracing::warn!("METRICS_PORT and METRICS_TOKEN are unset: /metrics is not served");
        }
        let (sender, _) = watch::channel(false);
        Ok(Self {
            listener,
            port,
            metrics_listener,
            state,
            shutdown: Shutdown(sender),
        })
    }

    /// The port the server listens on (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, with `METRICS_PORT`.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until a shutdown signal, then drains within `SHUTDOWN_TIMEOUT_SECONDS`.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            listener,
            port,
            metrics_listener,
            state,
            shutdown,
        } = self;
        let signal_sender = shutdown.0.clone();
        let os_signal = os_signal()?;
        tokio::spawn(async move {
            os_signal.await;
            tracing::info!("shutdown signal received");
            let _ = signal_sender.send(true);
        });

        let router = http::router(state.clone(), schema::build(&state));
        let timeout = state.settings.http.shutdown_timeout;
        tracing::info!(port, database = ?state.db.get_database_backend(), redis = state.redis.is_some(), "waba-bot is ready");

        let dispatcher = tokio::spawn(state.jobs.clone().run_dispatcher(
            state.settings.worker.poll_interval,
            Shutdown::wait(shutdown.0.subscribe()),
        ));
        let worker_stop = shutdown.0.subscribe();
        let worker_state = state.in_background();
        (state.jobs).run_held_jobs(&state.settings.worker, state.metrics.clone());
        let monitor = build_monitor(
            &WorkerEnv {
                ctx: &worker_state,
                jobs: &worker_state.jobs,
                settings: &worker_state.settings.worker,
                metrics: &worker_state.metrics,
            },
            app::jobs(),
            app::crons(),
        )?
        .shutdown_timeout(timeout);
        let worker = tokio::spawn(async move {
            monitor
                .run_with_signal(async move {
                    Shutdown::wait(worker_stop).await;
                    Ok(())
                })
                .await
        });

        if let Some(metrics_listener) = metrics_listener {
            // The same server loop as the main port: header timeout and graceful drain included.
            tokio::spawn(http::serve::serve(
                metrics_listener,
                http::metrics_router(state.clone()),
                state.settings.http.header_timeout,
                Shutdown::wait(shutdown.0.subscribe()),
            ));
        }
        let server_stop = shutdown.0.subscribe();
        http::serve::serve(
            listener,
            router,
            state.settings.http.header_timeout,
            Shutdown::wait(server_stop),
        )
        .await;
        // The server only returns after shutdown was requested: make sure
        // the worker and dispatcher stop too, then give them the deadline to finish.
        shutdown.trigger();
        let drained = tokio::time::timeout(timeout + Duration::from_secs(1), async {
            let _ = dispatcher.await;
            match worker.await {
                Ok(Err(err)) => tracing::error!(error = %err, "worker stopped with an error"),
                Err(err) => tracing::error!(error = %err, "worker task panicked"),
                Ok(Ok(())) => {}
            }
            state.jobs.finish_held().await;
        })
        .await;
        if drained.is_err() {
            // What did not finish is still in the outbox, held: the workers take it after the hold.
            tracing::warn!("jobs did not finish within the shutdown deadline");
        }
        state.db.clone().close().await.ok();
        tracing::info!("stopped");
        Ok(())
    }
}

pub(crate) async fn connect_redis(
    url: &str,
    prefix: &str,
) -> anyhow::Result<(fred::clients::Client, Broker)> {
    let config = RedisConfig::from_url(url).context("REDIS_URL is invalid")?;
    let mut builder = Builder::from_config(config);
    builder
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(2);
        })
        .with_performance_config(|c| {
            c.default_command_timeout = Duration::from_secs(2);
        });
    let client = builder.build()?;
    let subscriber = builder.build_subscriber_client()?;
    client.on_error(|(err, _)| async move {
        tracing::warn!(%err, "Redis connection error; falling back to in-process until it reconnects");
        Ok(())
    });
    client.connect();
    subscriber.connect();
    let connected = tokio::time::timeout(Duration::from_secs(3), async {
        let (a, b) = tokio::join!(client.wait_for_connect(), subscriber.wait_for_connect());
        a.and(b)
    })
    .await;
    if !matches!(connected, Ok(Ok(()))) {
        tracing::warn!("Redis is not reachable yet; serving without it until it comes back");
    }
    let broker = Broker::with_redis(client.clone(), subscriber, prefix).await;
    Ok((client, broker))
}

/// SIGINT or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled: a signal that arrives once the server has announced it is ready must start a
/// drain, never hit the default action and kill the process.
fn os_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
