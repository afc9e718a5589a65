//! The queue: the [`Job`] trait, the transactional outbox ([`enqueue`]) and its dispatcher, and the
//! job store. It imports no domain: the wiring layer hands it the list of queues.
//!
//! Invariants:
//! - A job is never pushed straight to the queue by a request. Services write an `outbox` row in
//!   the same transaction as the state that needs the job ([`enqueue`]); the dispatcher pushes
//!   outbox rows to apalis with the row id as idempotency key, then deletes them. A crash anywhere
//!   in between loses nothing and duplicates nothing.
//! - Jobs live in the application database (apalis-sqlite or apalis-postgres), so every instance
//!   claims work from the same table with row locks.
//! - Every job re-reads state and is safe to run again (retries, redelivery after a crash).
//! - A job the writing process runs itself right after the commit ([`Jobs::hold`],
//!   [`Jobs::run_held`]) still has its outbox row, held for [`HOLD`]: deleted when that run
//!   succeeds, released to the workers at once when it fails, and left to them once the hold
//!   ends after a crash. A shutdown waits for these runs as for the workers' jobs. The hot path (a WhatsApp message, its turn, its
//!   reply) thus skips three queue round trips without losing anything a crash interrupts.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, OnceLock},
    time::Duration,
};

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Statement,
    sea_query::{CommonTableExpression, InsertStatement, WithClause},
};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::{Notify, Semaphore};
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::{
    config::WorkerSettings,
    db::begin_write,
    kernel::{clock::Clock, error::AppResult},
    metrics::Metrics,
};

/// A background job: a serializable value with a stable queue name.
pub trait Job: Clone + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Stable queue name; renaming the Rust type must not orphan queued jobs.
    const QUEUE: &'static str;

    /// Whether the job spends its time waiting on an external provider rather than on the CPU
    /// or the database: its queue runs `WORKER_WAITING_CONCURRENCY` jobs at once, not
    /// `WORKER_CONCURRENCY`.
    const WAITS_ON_PROVIDERS: bool = false;

    /// What the job runs with (the application state); generic so the queue knows no domain.
    type Context: Clone + Send + Sync + 'static;

    /// Runs the job. An error makes apalis retry it with backoff.
    fn run(self, ctx: Self::Context) -> impl Future<Output = anyhow::Result<()>> + Send;
}

pub(super) type PushFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// An outbox row on its way to its queue: the job's payload, and the row id as the
/// idempotency key.
pub(super) struct Pending<'a> {
    payload: &'a str,
    key: String,
}

/// One queue the dispatcher can push to: its name and how to push payloads, erased so outbox
/// rows dispatch by name.
#[derive(Clone, Copy)]
pub struct Queue {
    pub name: &'static str,
    push: for<'a> fn(&'a JobStore, &'a [Pending<'a>], u32) -> PushFuture<'a>,
}

impl Queue {
    pub const fn of<J: Job>() -> Self {
        Self {
            name: J::QUEUE,
            push: push::<J>,
        }
    }
}

/// The job table's database (the application's own pool).
#[derive(Clone, Debug)]
pub enum JobStore {
    Sqlite(apalis_sqlite::SqlitePool),
    Postgres(apalis_postgres::PgPool),
}

impl JobStore {
    /// Uses the sea-orm connection's pool and creates apalis's tables if needed.
    pub async fn setup(db: &DatabaseConnection) -> anyhow::Result<Self> {
        Ok(match db.get_database_backend() {
            DatabaseBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool().clone();
                SqliteStorage::setup(&pool).await?;
                Self::Sqlite(pool)
            }
            DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool().clone();
                PostgresStorage::setup(&pool).await?;
                tune_postgres_store(&pool).await?;
                Self::Postgres(pool)
            }
            other => anyhow::bail!("unsupported database backend {other:?}"),
        })
    }

    /// The backend and the name of apalis's job table.
    fn table(&self) -> (DatabaseBackend, &'static str) {
        match self {
            Self::Sqlite(_) => (DatabaseBackend::Sqlite, "Jobs"),
            Self::Postgres(_) => (DatabaseBackend::Postgres, "apalis.jobs"),
        }
    }

    /// apalis's table of registered workers.
    fn workers_table(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "Workers",
            Self::Postgres(_) => "apalis.workers",
        }
    }
}

/// The `n`th (from 1) bind parameter of a raw statement on `backend`.
fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Arbitrary constant identifying the job store's tuning among advisory locks.
const TUNING_LOCK_KEY: i64 = 0x7761_6261_6a6f_6273;

/// Adjusts apalis-postgres's table for a queue that runs for years, after its own migrations and
/// idempotently on every start-up (so a new apalis version that recreates an index is corrected),
/// serialized across instances:
/// - apalis acknowledges a job with a join on `lock_by`, the worker's name, which every finished job
///   keeps; the planner then reads all the jobs that worker ever finished on every
///   acknowledgement (measured: 4 ms per ack with 4 000 finished jobs, growing with each). A
///   finished job gives its `lock_by` up, so only jobs in flight carry one.
///   (apalis's `task-tracking` heartbeat, which counts a worker's jobs by lock, is not enabled.)
/// - Two of its indexes duplicate others (`lidx` is `idx_apalis_jobs_lock_by`, `unique_job_id`
///   the primary key) and cost a write on each of a job's four updates.
async fn tune_postgres_store(pool: &apalis_postgres::PgPool) -> anyhow::Result<()> {
    const TUNING: &[&str] = &[
        "CREATE OR REPLACE FUNCTION apalis.release_finished_job_lock() RETURNS trigger \
         LANGUAGE plpgsql AS $$ BEGIN NEW.lock_by := NULL; RETURN NEW; END $$",
        "CREATE OR REPLACE TRIGGER release_finished_job_lock BEFORE UPDATE ON apalis.jobs \
         FOR EACH ROW WHEN (NEW.status = 'Done' AND NEW.lock_by IS NOT NULL) \
         EXECUTE FUNCTION apalis.release_finished_job_lock()",
        "DROP INDEX IF EXISTS apalis.lidx",
        "DROP INDEX IF EXISTS apalis.unique_job_id",
    ];
    let mut txn = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(TUNING_LOCK_KEY)
        .execute(&mut *txn)
        .await?;
    for &statement in TUNING {
        sqlx::query(statement).execute(&mut *txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Jobs a worker fetches at once: apalis's default, or more for a queue whose many jobs in
/// flight mostly wait.
fn batch_size<J: Job>() -> usize {
    if J::WAITS_ON_PROVIDERS { 50 } else { 10 }
}

pub(super) fn sqlite_storage<J: Job>(pool: &apalis_sqlite::SqlitePool) -> SqliteStorage<J> {
    let config = apalis_sqlite::Config::default()
        .queue(J::QUEUE)
        .batch_size(batch_size::<J>());
    SqliteStorage::new(pool).with_config(config)
}

pub(super) fn postgres_storage<J: Job>(pool: &apalis_postgres::PgPool) -> PostgresStorage<J> {
    let config = apalis_postgres::Config::default()
        .queue(J::QUEUE)
        .batch_size(batch_size::<J>());
    PostgresStorage::new(pool).with_config(config)
}

/// Pushes `rows` in one insert; when one of them was pushed before (a crash between a push and
/// its delete, or another instance's dispatcher), the insert fails whole and they are pushed one by
/// one, each duplicate a no-op.
fn push<'a, J: Job>(
    store: &'a JobStore,
    rows: &'a [Pending<'a>],
    max_attempts: u32,
) -> PushFuture<'a> {
    Box::pin(async move {
        let tasks = |rows: &'a [Pending<'a>]| -> anyhow::Result<Vec<Task<J>>> {
            rows.iter()
                .map(|row| {
                    Ok(TaskBuilder::new(serde_json::from_str::<J>(row.payload)?)
                        .idempotency_key(row.key.as_str())
                        .max_attempts(max_attempts as usize)
                        .build())
                })
                .collect()
        };
        if push_tasks(store, tasks(rows)?).await.is_ok() {
            return Ok(());
        }
        for row in rows {
            match push_tasks(store, tasks(std::slice::from_ref(row))?).await {
                // SQLite ignores a duplicate key; Postgres reports it. Either way it is queued.
                Err(err) if format!("{err:#}").contains("idx_jobs_idempotency_key") => {}
                other => other?,
            }
        }
        Ok(())
    })
}

async fn push_tasks<J: Job>(store: &JobStore, tasks: Vec<Task<J>>) -> anyhow::Result<()> {
    let tasks = futures_util::stream::iter(tasks);
    match store {
        JobStore::Sqlite(pool) => sqlite_storage::<J>(pool).push_all(tasks).await?,
        JobStore::Postgres(pool) => postgres_storage::<J>(pool).push_all(tasks).await?,
    }
    Ok(())
}

/// Writes `job` to the outbox through `conn` (pass the transaction that writes the state the job
/// needs). Call [`Jobs::wake`] after the commit for prompt delivery.
pub async fn enqueue<C: ConnectionTrait, J: Job>(conn: &C, job: &J) -> AppResult<()> {
    outbox_row(job, Held::due())?
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// [`enqueue`] for a job this process runs itself after the commit: pass `held` (from
/// [`Jobs::hold`]) to [`Jobs::run_held`] or [`Jobs::spawn_held`] then, instead of waking.
pub async fn enqueue_held<C: ConnectionTrait, J: Job>(
    conn: &C,
    job: &J,
    held: Held,
) -> AppResult<()> {
    outbox_row(job, held)?.exec_without_returning(conn).await?;
    Ok(())
}

/// Runs `insert` (one row) and writes `job` to the outbox atomically: in one statement on
/// Postgres (the insert as a data-modifying CTE of the outbox's), in a write transaction on
/// SQLite, which has none. For a request whose whole write is a row and its job (a webhook), that
/// is one round trip instead of four. Call [`Jobs::wake`] after it.
pub async fn insert_with_job<J: Job>(
    db: &DatabaseConnection,
    insert: InsertStatement,
    job: &J,
) -> AppResult<()> {
    insert_with_held_job(db, insert, job, Held::due()).await
}

/// [`insert_with_job`] for a job this process runs itself after it (see [`enqueue_held`]).
pub async fn insert_with_held_job<J: Job>(
    db: &DatabaseConnection,
    insert: InsertStatement,
    job: &J,
    held: Held,
) -> AppResult<()> {
    let outbox = outbox_row(job, held)?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let row = CommonTableExpression::new()
            .query(insert)
            .table_name("inserted")
            .to_owned();
        let mut both = outbox.into_query();
        both.with_cte(WithClause::new().cte(row).to_owned());
        db.execute(&both).await?;
    } else {
        let txn = begin_write(db).await?;
        txn.execute(&insert).await?;
        outbox.exec_without_returning(&txn).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// [`insert_with_job`] for a row that may already exist: `insert` must carry `ON CONFLICT DO
/// NOTHING` on the row's unique key, and the job is written only with a new row, so a delivery
/// received twice (even concurrently) queues one job. One statement on Postgres (the outbox row
/// selected from the CTE's `RETURNING`), a write transaction on SQLite. Whether the row was new.
pub async fn insert_new_with_job<J: Job>(
    db: &DatabaseConnection,
    mut insert: InsertStatement,
    job: &J,
) -> AppResult<bool> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        use entity::outbox::Column;
        use sea_orm::sea_query::{Alias, Expr, Query};
        insert.returning_all();
        let inserted = CommonTableExpression::new()
            .query(insert)
            .table_name("inserted")
            .to_owned();
        let (id, payload) = (
            Uuid::now_v7(),
            serde_json::to_string(job).map_err(anyhow::Error::from)?,
        );
        let mut values = Query::select();
        values
            .exprs([
                Expr::val(id),
                Expr::val(J::QUEUE),
                Expr::val(payload),
                Expr::val(Utc::now()),
            ])
            .from(Alias::new("inserted"));
        let mut both = Query::insert();
        both.into_table(entity::outbox::Entity)
            .columns([
                Column::Id,
                Column::Queue,
                Column::Payload,
                Column::CreatedAt,
            ])
            .select_from(values)
            .map_err(|err| anyhow::anyhow!("the outbox insert: {err}"))?;
        both.with_cte(WithClause::new().cte(inserted).to_owned());
        return Ok(db.execute(&both).await?.rows_affected() == 1);
    }
    let txn = begin_write(db).await?;
    let new = txn.execute(&insert).await?.rows_affected() == 1;
    if new {
        outbox_row(job, Held::due())?
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(new)
}

fn outbox_row<J: Job>(
    job: &J,
    held: Held,
) -> AppResult<sea_orm::Insert<entity::outbox::ActiveModel>> {
    Ok(entity::outbox::Entity::insert(
        entity::outbox::ActiveModel {
            id: Set(held.id),
            queue: Set(J::QUEUE.to_owned()),
            payload: Set(serde_json::to_string(job).map_err(anyhow::Error::from)?),
            created_at: Set(Utc::now()),
            available_at: Set(held.until),
        },
    ))
}

/// How long the dispatcher leaves a held outbox row to the process that wrote it: well past a
/// normal run of the job there (a turn waits on Meta and the language model for seconds), so the
/// workers take it over only after a crash; and past the claims such a run takes (a
/// conversation's turn, 2 minutes; a send in flight, 90 seconds), so the worker that takes over
/// finds them expired and finishes the work. A run that outlasts it is repeated by a worker,
/// which every job allows.
pub const HOLD: chrono::Duration = chrono::Duration::minutes(5);

/// An outbox row's id and until when the dispatcher leaves it (`None`: due at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub id: Uuid,
    until: Option<DateTime<Utc>>,
}

impl Held {
    /// Row `id`, held for [`HOLD`] from `now`: for a writer without the [`Jobs`] handle, whose
    /// caller runs the job with [`Jobs::run_held`] or [`Jobs::spawn_held`] after the commit.
    pub fn new(id: Uuid, now: DateTime<Utc>) -> Self {
        Self {
            id,
            until: Some(now + HOLD),
        }
    }

    fn due() -> Self {
        Self {
            id: Uuid::now_v7(),
            until: None,
        }
    }
}

/// What lets this process run held jobs: a permit per run in a task of its own, as many as its
/// workers run of such jobs at once, and those tasks (a shutdown waits for them).
struct HeldRuns {
    /// For jobs that work the CPU and the database (`WORKER_CONCURRENCY`): more of them at once
    /// would only slow the requests down, the webhook's acknowledgement first.
    busy: Arc<Semaphore>,
    /// For jobs that mostly wait on a provider (`WORKER_WAITING_CONCURRENCY`).
    waiting: Arc<Semaphore>,
    tasks: TaskTracker,
    /// Held runs are counted with the workers' (`waba_jobs_total`).
    metrics: Metrics,
}

/// How long a job that succeeded stays in the job table: long past any push of its outbox row again
/// after a crash, which its idempotency key must find.
pub const DONE_RETENTION: chrono::Duration = chrono::Duration::days(1);

/// How long a dead job (out of attempts, or killed) stays, to be looked into.
pub const DEAD_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// The job queue handle kept in the application state.
#[derive(Clone)]
pub struct Jobs {
    store: JobStore,
    db: DatabaseConnection,
    wake: Arc<Notify>,
    max_attempts: u32,
    /// Each queue with what tells this instance's worker of that queue that jobs were pushed.
    queues: Arc<[(Queue, Arc<Notify>)]>,
    /// This process among the workers of the store (random per start).
    instance: Arc<str>,
    /// What outbox holds are measured against (tests move it).
    clock: Clock,
    /// Set once this process runs the worker ([`Jobs::run_held_jobs`]); until then a hold is due at once.
    held: Arc<OnceLock<HeldRuns>>,
}

impl Jobs {
    pub fn new(
        store: JobStore,
        db: DatabaseConnection,
        max_attempts: u32,
        queues: impl IntoIterator<Item = Queue>,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            db,
            wake: Arc::new(Notify::new()),
            max_attempts,
            queues: queues
                .into_iter()
                .map(|queue| (queue, Arc::new(Notify::new())))
                .collect(),
            instance: hex::encode(crate::kernel::crypto::random_bytes::<6>()).into(),
            clock,
            held: Arc::default(),
        }
    }

    /// Lets this process run the jobs it holds, at most as many at once as its workers run (more
    /// are released to the workers). Called where the worker runs: a process without one (a
    /// web-only instance) writes every job due at once.
    pub fn run_held_jobs(&self, settings: &WorkerSettings, metrics: Metrics) {
        let permits = |n: usize| Arc::new(Semaphore::new(n.max(1)));
        let _ = self.held.set(HeldRuns {
            busy: permits(settings.concurrency),
            waiting: permits(settings.waiting_concurrency),
            tasks: TaskTracker::new(),
            metrics,
        });
    }

    /// An outbox row `id` for a job this process runs itself after the commit: held for [`HOLD`]
    /// when it runs held jobs, else due at once. Write it with [`enqueue_held`].
    pub fn hold(&self, id: Uuid) -> Held {
        match self.held.get() {
            Some(_) => Held::new(id, self.clock.now()),
            None => Held { id, until: None },
        }
    }

    /// Runs `job`, whose outbox rows are `rows`, here and now (what a worker would run), then
    /// deletes the rows; when it fails they are released to the workers at once, which retry it
    /// with backoff. Rows written due are simply the workers' (woken); held rows in a process
    /// that runs no held jobs are released to them.
    pub async fn run_held<J: Job>(&self, rows: &[Held], job: J, ctx: J::Context) {
        if let Some((runs, ids)) = self.claim_held(rows).await {
            self.run_claimed(&runs.metrics, &ids, job, ctx).await;
        }
    }

    /// [`Jobs::run_held`] in a task of its own, when a permit of its kind is free; else the rows
    /// are released to the workers, also in a task of its own: the caller (a webhook's answer)
    /// never waits on it.
    pub async fn spawn_held<J: Job>(&self, rows: &[Held], job: J, ctx: J::Context) {
        let Some((runs, ids)) = self.claim_held(rows).await else {
            return;
        };
        let permits = if J::WAITS_ON_PROVIDERS {
            &runs.waiting
        } else {
            &runs.busy
        };
        let jobs = self.clone();
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let metrics = runs.metrics.clone();
                runs.tasks.spawn(async move {
                    jobs.run_claimed(&metrics, &ids, job, ctx).await;
                    drop(permit);
                })
            }
            Err(_) => runs.tasks.spawn(async move {
                jobs.settle(&ids, Err(anyhow::anyhow!("no permit free")))
                    .await;
            }),
        };
    }

    /// The held runs and the ids of the held `rows`, for this process to run now; `None` when
    /// they are the workers' (written due, or held by a process that runs no held jobs:
    /// released to them).
    async fn claim_held(&self, rows: &[Held]) -> Option<(&HeldRuns, Vec<Uuid>)> {
        let ids: Vec<Uuid> = rows
            .iter()
            .filter(|row| row.until.is_some())
            .map(|row| row.id)
            .collect();
        if ids.is_empty() {
            self.wake();
            return None;
        }
        let Some(runs) = self.held.get() else {
            self.settle(&ids, Err(anyhow::anyhow!("this process runs no held jobs")))
                .await;
            return None;
        };
        Some((runs, ids))
    }

    async fn run_claimed<J: Job>(&self, metrics: &Metrics, ids: &[Uuid], job: J, ctx: J::Context) {
        let outcome = job.run(ctx).await;
        let label = match &outcome {
            Ok(()) => "ok",
            Err(err) => {
                tracing::warn!(queue = J::QUEUE, error = ?err, "a job run right after its commit failed; the workers retry it");
                "error"
            }
        };
        metrics.record_job(J::QUEUE, label);
        self.settle(ids, outcome).await;
    }

    /// Deletes the rows `ids` of a job that ran, or releases them to the workers when it did not.
    async fn settle(&self, ids: &[Uuid], outcome: anyhow::Result<()>) {
        let settled = match outcome {
            Ok(()) => self.delete_outbox(ids).await,
            Err(_) => self.release(ids).await,
        };
        if let Err(err) = settled {
            // The hold ends on its own: the workers then run the job (again).
            tracing::warn!(error = ?err, "could not settle held outbox rows; the workers take them after their hold");
        }
    }

    /// Waits for the held runs in tasks of their own (at shutdown, as for the workers' jobs).
    pub async fn finish_held(&self) {
        if let Some(runs) = self.held.get() {
            runs.tasks.close();
            runs.tasks.wait().await;
        }
    }

    /// Makes the outbox rows `ids` due at once and wakes the dispatcher.
    async fn release(&self, ids: &[Uuid]) -> anyhow::Result<()> {
        use entity::outbox::Column;
        entity::outbox::Entity::update_many()
            .col_expr(
                Column::AvailableAt,
                sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(Column::Id.is_in(ids.iter().copied()))
            .exec(&self.db)
            .await?;
        self.wake();
        Ok(())
    }

    async fn delete_outbox(&self, ids: &[Uuid]) -> anyhow::Result<()> {
        entity::outbox::Entity::delete_many()
            .filter(entity::outbox::Column::Id.is_in(ids.iter().copied()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The name this process's worker of `queue` registers under. apalis refuses a second live
    /// worker of one name (on Postgres while the first holds its advisory lock, on SQLite within
    /// the heartbeat), so every instance, and every start of one, has its own; the name also
    /// lets apalis hand the jobs a dead process held to the live ones.
    pub fn worker_name(&self, queue: &str) -> String {
        format!("{queue}@{}", self.instance)
    }

    /// What is notified when the dispatcher has pushed jobs to `queue`, so this instance's
    /// worker fetches them now rather than at its next poll.
    pub fn pushed(&self, queue: &str) -> Option<Arc<Notify>> {
        self.queues
            .iter()
            .find(|(known, _)| known.name == queue)
            .map(|(_, pushed)| pushed.clone())
    }

    /// The store the workers claim jobs from.
    pub fn store(&self) -> &JobStore {
        &self.store
    }

    /// The background pool the dispatcher and the jobs use.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Wakes the outbox dispatcher (after a commit that enqueued jobs).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Pushes every undispatched outbox row to its queue; returns how many were dispatched.
    /// Safe to run concurrently on several instances: the idempotency key makes a second push of
    /// the same row a no-op. Rows of a queue this instance does not know (a newer version's,
    /// during a rolling deploy) are left to the instances that do.
    pub async fn dispatch_pending(&self) -> anyhow::Result<usize> {
        let mut dispatched = 0;
        loop {
            use entity::outbox::Column;
            let rows = entity::outbox::Entity::find()
                .filter(Column::Queue.is_in(self.queues.iter().map(|(q, _)| q.name)))
                .filter(
                    sea_orm::Condition::any()
                        .add(Column::AvailableAt.is_null())
                        .add(Column::AvailableAt.lte(self.clock.now())),
                )
                .order_by_asc(entity::outbox::Column::CreatedAt)
                .limit(100)
                .all(&self.db)
                .await?;
            if rows.is_empty() {
                return Ok(dispatched);
            }
            // Each queue's rows in one push, then all deleted together: rows pushed before a
            // failure are pushed again next time, which their idempotency key makes a no-op.
            let mut pushed = Vec::new();
            for (queue, notify) in self.queues.iter() {
                let batch: Vec<_> = rows
                    .iter()
                    .filter(|row| row.queue == queue.name)
                    .map(|row| Pending {
                        payload: &row.payload,
                        key: row.id.to_string(),
                    })
                    .collect();
                if !batch.is_empty() {
                    (queue.push)(&self.store, &batch, self.max_attempts).await?;
                    pushed.push(notify);
                }
            }
            self.delete_outbox(&rows.iter().map(|row| row.id).collect::<Vec<_>>())
                .await?;
            dispatched += rows.len();
            for notify in pushed {
                notify.notify_one();
            }
        }
    }

    /// Runs the dispatcher until `shutdown` resolves: on every wake-up and every `interval`.
    pub async fn run_dispatcher(self, interval: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(err) = self.dispatch_pending().await {
                tracing::error!(error = ?err, "outbox dispatch failed; will retry");
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Deletes the jobs that finished before `now` minus their retention: [`DONE_RETENTION`] for
    /// the succeeded, [`DEAD_RETENTION`] for the dead (out of attempts, or killed), kept longer
    /// to be looked into; and the workers of processes gone for [`DEAD_RETENTION`] that hold no
    /// job (each start registers its own, see [`Jobs::worker_name`]). Idempotent, so every
    /// instance runs it. Returns how many jobs.
    pub async fn purge_finished(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let jobs = self.purge_finished_jobs(now).await?;
        self.purge_gone_workers(now - DEAD_RETENTION).await?;
        Ok(jobs)
    }

    async fn purge_gone_workers(&self, seen_before: DateTime<Utc>) -> anyhow::Result<()> {
        let (backend, jobs) = self.store.table();
        let workers = self.store.workers_table();
        let sql = format!(
            "DELETE FROM {workers} WHERE last_seen < {} AND NOT EXISTS (SELECT 1 FROM {jobs} \
             WHERE {jobs}.lock_by = {workers}.id)",
            placeholder(backend, 1),
        );
        let value: sea_orm::Value = match self.store {
            // apalis-sqlite keeps `last_seen` as Unix seconds.
            JobStore::Sqlite(_) => seen_before.timestamp().into(),
            JobStore::Postgres(_) => seen_before.into(),
        };
        self.db
            .execute_raw(Statement::from_sql_and_values(backend, sql, [value]))
            .await?;
        Ok(())
    }

    async fn purge_finished_jobs(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let (done, dead) = (now - DONE_RETENTION, now - DEAD_RETENTION);
        let (backend, jobs) = self.store.table();
        let sql = format!(
            "DELETE FROM {jobs} WHERE (status = 'Done' AND done_at < {}) OR ((status = 'Killed' \
             OR (status = 'Failed' AND attempts >= max_attempts)) AND done_at < {})",
            placeholder(backend, 1),
            placeholder(backend, 2),
        );
        let values: [sea_orm::Value; 2] = match self.store {
            // apalis-sqlite keeps `done_at` as Unix seconds.
            JobStore::Sqlite(_) => [done.timestamp().into(), dead.timestamp().into()],
            JobStore::Postgres(_) => [done.into(), dead.into()],
        };
        let result = self
            .db
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        Ok(result.rows_affected())
    }

    /// Jobs that are queued, running, or failed with attempts left, and outbox rows of this
    /// instance's queues not pushed yet: what a drain waits for. One statement, so one snapshot:
    /// a job that wrote an outbox row and finished since, or a row pushed but not yet deleted, is
    /// counted either way.
    pub async fn unfinished_count(&self) -> anyhow::Result<i64> {
        let (backend, jobs) = self.store.table();
        let placeholders: Vec<String> = (1..=self.queues.len())
            .map(|n| placeholder(backend, n))
            .collect();
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM {jobs} WHERE status IN ('Pending','Queued','Running') \
             OR (status = 'Failed' AND attempts < max_attempts)) \
             + (SELECT COUNT(*) FROM outbox WHERE queue IN ({})) AS n",
            placeholders.join(", ")
        );
        let names = self.queues.iter().map(|(queue, _)| queue.name.into());
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, names))
            .await?
            .ok_or_else(|| anyhow::anyhow!("COUNT returned no row"))?;
        Ok(row.try_get::<i64>("", "n")?)
    }
}
