//! The worker: one apalis worker per job type and per cron, with the same metrics, retries and
//! error logging for both. It imports no domain: the wiring layer hands it the lists.

use std::{
    future::Future,
    pin::Pin,
    str::FromStr,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis::{
    layers::retry::{
        HasherRng, RetryPolicy,
        backoff::{ExponentialBackoffMaker, MakeBackoff},
    },
    prelude::*,
};
use apalis_core::backend::ext::poll_strategy::{PollSnapshot, PollStrategy, PollWith};
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, Utc};
use tokio::sync::{Notify, futures::OwnedNotified};

use super::queue::{Job, JobStore, Jobs, Queue, postgres_storage, sqlite_storage};
use crate::{config::WorkerSettings, metrics::Metrics};

/// Scheduled work: a name, a cron schedule, and what runs at each tick. Every instance runs every
/// cron, so a run must be idempotent and safe alongside the same run elsewhere.
pub trait CronJob: 'static {
    /// Stable name (worker name and metrics label).
    const NAME: &'static str;
    /// Cron expression with seconds (`"0 * * * * *"`: every minute).
    const SCHEDULE: &'static str;
    type Context: Clone + Send + Sync + 'static;

    fn run(
        ctx: Self::Context,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A context that holds the job queue, for the job store's own crons.
pub trait HasJobs {
    fn jobs(&self) -> &Jobs;
}

/// Deletes finished jobs past their retention ([`Jobs::purge_finished`]), hourly. Idempotent:
/// every instance runs it.
pub struct PurgeFinishedJobs<C>(std::marker::PhantomData<C>);

impl<C: HasJobs + Clone + Send + Sync + 'static> CronJob for PurgeFinishedJobs<C> {
    const NAME: &'static str = "purge_finished_jobs";
    const SCHEDULE: &'static str = "0 23 * * * *";
    type Context = C;

    async fn run(ctx: C, now: DateTime<Utc>) -> anyhow::Result<()> {
        let purged = ctx.jobs().purge_finished(now).await?;
        if purged > 0 {
            tracing::info!(purged, "deleted finished jobs past their retention");
        }
        Ok(())
    }
}

/// What the worker needs besides the jobs themselves.
pub struct WorkerEnv<'a, C> {
    pub ctx: &'a C,
    pub jobs: &'a Jobs,
    pub settings: &'a WorkerSettings,
    pub metrics: &'a Metrics,
}

type Register<C> = fn(Monitor, &WorkerEnv<'_, C>) -> anyhow::Result<Monitor>;

/// A job type as the wiring lists it: its queue, and how to start its worker.
pub struct JobKind<C> {
    queue: Queue,
    register: Register<C>,
}

impl<C: Clone + Send + Sync + 'static> JobKind<C> {
    pub const fn of<J: Job<Context = C>>() -> Self {
        Self {
            queue: Queue::of::<J>(),
            register: register_job::<J>,
        }
    }

    pub fn queue(&self) -> Queue {
        self.queue
    }
}

/// A cron as the wiring lists it.
pub struct CronKind<C> {
    pub name: &'static str,
    register: Register<C>,
}

impl<C: Clone + Send + Sync + 'static> CronKind<C> {
    pub const fn of<J: CronJob<Context = C>>() -> Self {
        Self {
            name: J::NAME,
            register: register_cron::<J>,
        }
    }
}

/// Builds the monitor running one worker per job type and one per cron.
pub fn build_monitor<'k, C: 'static>(
    env: &WorkerEnv<'_, C>,
    jobs: impl IntoIterator<Item = &'k JobKind<C>>,
    crons: impl IntoIterator<Item = &'k CronKind<C>>,
) -> anyhow::Result<Monitor> {
    let mut registers = jobs
        .into_iter()
        .map(|j| j.register)
        .chain(crons.into_iter().map(|c| c.register));
    registers.try_fold(Monitor::new(), |monitor, register| register(monitor, env))
}

/// What every job and cron handler gets: the context and the metrics.
struct Env<C> {
    ctx: C,
    metrics: Metrics,
}

impl<C: Clone> Clone for Env<C> {
    fn clone(&self) -> Self {
        Self {
            ctx: self.ctx.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

impl<'a, C: Clone> WorkerEnv<'a, C> {
    fn handler_env(&self) -> Env<C> {
        Env {
            ctx: self.ctx.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// Logs and counts the outcome of a job or cron run; an error (with its cause chain in the log)
/// makes apalis retry a job.
fn finish(
    metrics: &Metrics,
    name: &'static str,
    result: anyhow::Result<()>,
) -> Result<(), BoxDynError> {
    match result {
        Ok(()) => {
            metrics.record_job(name, "ok");
            Ok(())
        }
        Err(err) => {
            tracing::warn!(queue = name, error = ?err, "job failed");
            metrics.record_job(name, "error");
            Err(err.into())
        }
    }
}

async fn run_job<J: Job>(job: J, env: Data<Env<J::Context>>) -> Result<(), BoxDynError> {
    finish(&env.metrics, J::QUEUE, job.run(env.ctx.clone()).await)
}

async fn run_cron<J: CronJob>(_: Tick, env: Data<Env<J::Context>>) -> Result<(), BoxDynError> {
    finish(
        &env.metrics,
        J::NAME,
        J::run(env.ctx.clone(), Utc::now()).await,
    )
}

fn register_job<J: Job>(
    monitor: Monitor,
    env: &WorkerEnv<'_, J::Context>,
) -> anyhow::Result<Monitor> {
    let settings = env.settings.clone();
    let backoff = ExponentialBackoffMaker::new(
        Duration::from_millis(500),
        Duration::from_secs(60),
        0.5,
        HasherRng::default(),
    )?;
    let retries = settings.max_attempts.saturating_sub(1) as usize;
    let every = settings.poll_interval;
    let pushed = env.jobs.pushed(J::QUEUE);
    let name = env.jobs.worker_name(J::QUEUE);
    let concurrency = if J::WAITS_ON_PROVIDERS {
        settings.waiting_concurrency
    } else {
        settings.concurrency
    };
    let data = env.handler_env();
    Ok(match env.jobs.store().clone() {
        JobStore::Sqlite(pool) => monitor.register(move |_| {
            WorkerBuilder::new(name.as_str())
                .backend(PollWith::new(
                    sqlite_storage::<J>(&pool),
                    Ticker::new(every, pushed.clone()),
                ))
                .data(data.clone())
                .concurrency(concurrency)
                .retry(RetryPolicy::retries(retries).with_backoff(backoff.clone().make_backoff()))
                .build(run_job::<J>)
        }),
        JobStore::Postgres(pool) => monitor.register(move |_| {
            WorkerBuilder::new(name.as_str())
                .backend(PollWith::new(
                    postgres_storage::<J>(&pool),
                    Ticker::new(every, pushed.clone()),
                ))
                .data(data.clone())
                .concurrency(concurrency)
                .retry(RetryPolicy::retries(retries).with_backoff(backoff.clone().make_backoff()))
                .build(run_job::<J>)
        }),
    })
}

fn register_cron<J: CronJob>(
    monitor: Monitor,
    env: &WorkerEnv<'_, J::Context>,
) -> anyhow::Result<Monitor> {
    let schedule = cron::Schedule::from_str(J::SCHEDULE)
        .map_err(|err| anyhow::anyhow!("cron {}: bad schedule {}: {err}", J::NAME, J::SCHEDULE))?;
    let data = env.handler_env();
    Ok(monitor.register(move |_| {
        WorkerBuilder::new(J::NAME)
            .backend(CronScheduler::new(schedule.clone()))
            .data(data.clone())
            .build(run_cron::<J>)
    }))
}

/// Wakes a worker every `interval` to look for new jobs (otherwise the storages fetch again only
/// on their 30 s heartbeat), and at once when this instance's dispatcher has pushed some. Unlike
/// apalis's `IntervalStrategy`, it re-arms in the same poll that fires it, so a fetch that
/// completes at once can never leave the worker unwoken.
struct Ticker {
    interval: tokio::time::Interval,
    pushed: Option<(Arc<Notify>, Pin<Box<OwnedNotified>>)>,
}

impl Ticker {
    fn new(every: Duration, pushed: Option<Arc<Notify>>) -> Self {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            interval,
            pushed: pushed.map(|notify| {
                let next = Box::pin(notify.clone().notified_owned());
                (notify, next)
            }),
        }
    }
}

impl PollStrategy for Ticker {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        while self.interval.poll_tick(cx).is_ready() {
            fired = true;
        }
        if let Some((notify, next)) = &mut self.pushed {
            while next.as_mut().poll(cx).is_ready() {
                fired = true;
                *next = Box::pin(notify.clone().notified_owned());
            }
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
