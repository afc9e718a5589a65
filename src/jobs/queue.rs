//! The queue: the [`Job`] trait, the transactional outbox ([`enqueue`]) and its dispatcher, and the
//! job store. It imports no domain: the wiring layer hands it the list of queues.
//!
//! Invariants:
//! - A job is never pushed straight to the queue by a request. Services write an `outbox` row in
//!   the same transaction as the state that needs the job ([`enqueue`]); the dispatcher pushes
//!   outbox rows to apalis with the row id as idempotency key, then stamps them. A crash anywhere
//!   in between loses nothing and duplicates nothing.
//! - Jobs live in the application database (apalis-sqlite or apalis-postgres), so every instance
//!   claims work from the same table with row locks.
//! - Every job re-reads state and is safe to run again (retries, redelivery after a crash).

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::kernel::error::AppResult;

/// A background job: a serializable value with a stable queue name.
pub trait Job: Clone + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Stable queue name; renaming the Rust type must not orphan queued jobs.
    const QUEUE: &'static str;

    /// What the job runs with (the application state); generic so the queue knows no domain.
    type Context: Clone + Send + Sync + 'static;

    /// Runs the job. An error makes apalis retry it with backoff.
    fn run(self, ctx: Self::Context) -> impl Future<Output = anyhow::Result<()>> + Send;
}

pub(super) type PushFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// One queue the dispatcher can push to: its name and how to push a payload, erased so outbox
/// rows dispatch by name.
#[derive(Clone, Copy)]
pub struct Queue {
    pub name: &'static str,
    push: for<'a> fn(&'a JobStore, &'a str, &'a str, u32) -> PushFuture<'a>,
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
                Self::Postgres(pool)
            }
            other => anyhow::bail!("unsupported database backend {other:?}"),
        })
    }
}

pub(super) fn sqlite_storage<J: Job>(pool: &apalis_sqlite::SqlitePool) -> SqliteStorage<J> {
    SqliteStorage::new(pool).with_config(apalis_sqlite::Config::default().queue(J::QUEUE))
}

pub(super) fn postgres_storage<J: Job>(pool: &apalis_postgres::PgPool) -> PostgresStorage<J> {
    PostgresStorage::new(pool).with_config(apalis_postgres::Config::default().queue(J::QUEUE))
}

fn push<'a, J: Job>(
    store: &'a JobStore,
    payload: &'a str,
    key: &'a str,
    max_attempts: u32,
) -> PushFuture<'a> {
    Box::pin(async move {
        let job: J = serde_json::from_str(payload)?;
        let task = TaskBuilder::new(job)
            .idempotency_key(key)
            .max_attempts(max_attempts as usize)
            .build();
        let pushed = match store {
            JobStore::Sqlite(pool) => sqlite_storage::<J>(pool)
                .push_task(task)
                .await
                .map_err(anyhow::Error::from),
            JobStore::Postgres(pool) => postgres_storage::<J>(pool)
                .push_task(task)
                .await
                .map_err(anyhow::Error::from),
        };
        match pushed {
            // SQLite ignores a duplicate key; Postgres reports it. Either way the job is queued.
            Err(err) if format!("{err:#}").contains("idx_jobs_idempotency_key") => Ok(()),
            other => other,
        }
    })
}

/// Writes `job` to the outbox through `conn` (pass the transaction that writes the state the job
/// needs). Call [`Jobs::wake`] after the commit for prompt delivery.
pub async fn enqueue<C: ConnectionTrait, J: Job>(conn: &C, job: &J) -> AppResult<()> {
    entity::outbox::Entity::insert(entity::outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        queue: Set(J::QUEUE.to_owned()),
        payload: Set(serde_json::to_string(job).map_err(anyhow::Error::from)?),
        created_at: Set(Utc::now()),
        dispatched_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The job queue handle kept in the application state.
#[derive(Clone)]
pub struct Jobs {
    store: JobStore,
    db: DatabaseConnection,
    wake: Arc<Notify>,
    max_attempts: u32,
    queues: Arc<[Queue]>,
}

impl Jobs {
    pub fn new(
        store: JobStore,
        db: DatabaseConnection,
        max_attempts: u32,
        queues: impl IntoIterator<Item = Queue>,
    ) -> Self {
        Self {
            store,
            db,
            wake: Arc::new(Notify::new()),
            max_attempts,
            queues: queues.into_iter().collect(),
        }
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
    /// the same row a no-op.
    pub async fn dispatch_pending(&self) -> anyhow::Result<usize> {
        let mut dispatched = 0;
        loop {
            let rows = entity::outbox::Entity::find()
                .filter(entity::outbox::Column::DispatchedAt.is_null())
                .order_by_asc(entity::outbox::Column::CreatedAt)
                .limit(100)
                .all(&self.db)
                .await?;
            if rows.is_empty() {
                return Ok(dispatched);
            }
            for row in rows {
                let Some(queue) = self.queues.iter().find(|q| q.name == row.queue) else {
                    anyhow::bail!("outbox row {} names unknown queue {}", row.id, row.queue);
                };
                (queue.push)(
                    &self.store,
                    &row.payload,
                    &row.id.to_string(),
                    self.max_attempts,
                )
                .await?;
                entity::outbox::Entity::update_many()
                    .col_expr(entity::outbox::Column::DispatchedAt, Utc::now().into())
                    .filter(entity::outbox::Column::Id.eq(row.id))
                    .exec(&self.db)
                    .await?;
                dispatched += 1;
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

    /// Jobs that are queued, running, or failed with attempts left: what a drain waits for.
    pub async fn unfinished_count(&self) -> anyhow::Result<i64> {
        let (backend, sql) = match self.store {
            JobStore::Sqlite(_) => (
                DatabaseBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM Jobs WHERE status IN ('Pending','Queued','Running') \
                 OR (status = 'Failed' AND attempts < max_attempts)",
            ),
            JobStore::Postgres(_) => (
                DatabaseBackend::Postgres,
                "SELECT COUNT(*) AS n FROM apalis.jobs WHERE status IN ('Pending','Queued','Running') \
                 OR (status = 'Failed' AND attempts < max_attempts)",
            ),
        };
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .ok_or_else(|| anyhow::anyhow!("COUNT returned no row"))?;
        Ok(row.try_get::<i64>("", "n")?)
    }
}
