//! Database connection: Postgres in production, a SQLite file by default.
//!
//! Every statement sent through a connection increments `waba_db_queries_total{source}`: request
//! handling and background work use separate pools, labelled `api` and `worker`. On SQLite the
//! file runs in WAL mode with foreign keys on and a busy timeout, so concurrent writers queue up
//! instead of failing. Migrations run under a Postgres advisory lock so several instances can
//! start at once.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveValue, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait, sqlx,
};
use secrecy::ExposeSecret;

use crate::{config::DatabaseSettings, metrics::Metrics};

/// Arbitrary constant identifying the migration lock among advisory locks.
const MIGRATION_LOCK_KEY: i64 = 0x7761_6261_6d69_6772;

/// Connects a pool of at most `max_connections` whose statements count under `source`.
pub async fn connect(
    settings: &DatabaseSettings,
    metrics: &Metrics,
    source: &'static str,
    max_connections: u32,
) -> anyhow::Result<DatabaseConnection> {
    let url = settings.url.expose_secret();
    if let Some(path) = sqlite_file_path(url)
        && let Some(parent) = std::path::Path::new(&path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).with_context(|| {
            format!("cannot create the database directory {}", parent.display())
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    let mut db = Database::connect(options)
        .await
        .context("cannot connect to the database")?;
    let counter = metrics.db_counter(source);
    db.set_metric_callback(move |_info| {
        counter.inc();
    });
    Ok(db)
}

/// Applies pending migrations (serialized across instances on Postgres).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let pool = db.get_postgres_connection_pool();
        let mut lock = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *lock)
            .await?;
        let result = Migrator::up(db, None).await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *lock)
            .await?;
        result?;
    } else {
        Migrator::up(db, None).await?;
    }
    Ok(())
}

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`
/// (waiting for the busy timeout like any write), so write transactions run one after the other;
/// a deferred transaction that reads first would instead fail with "database is locked" when
/// another connection writes before its own first write. No difference on Postgres.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Checks that the database answers.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// The file behind a `sqlite://` URL, if it names one.
fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// Sets a column of a partial update when its change is given (`None` leaves it as it is).
pub fn set_some<V: Into<sea_orm::Value>>(column: &mut ActiveValue<V>, change: Option<V>) {
    if let Some(value) = change {
        *column = ActiveValue::Set(value);
    }
}
