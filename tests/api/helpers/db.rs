//! Per-test databases. SQLite: a file in a temporary directory. Postgres: a database cloned from
//! a migrated template (built once per migration set, under an advisory lock, so parallel test
//! processes share it safely).

use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash, Hasher},
    path::Path,
};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;
use uuid::Uuid;
use waba_bot::jobs::JobStore;

const TEMPLATE_LOCK: i64 = 0x7761_6261_7465_7374;

pub enum TestDatabase {
    Sqlite { url: String, _dir: TempDir },
    Postgres { url: String },
}

impl TestDatabase {
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url } => url,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        Self::Sqlite { url, _dir: dir }
    }

    pub async fn postgres(server_url: &str) -> Self {
        let admin = Database::connect(server_url)
            .await
            .expect("TEST_DATABASE_URL must be reachable");
        let template = template_name();
        admin
            .execute_unprepared(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
            .await
            .unwrap();
        let exists = admin
            .query_one_raw(sea_orm::Statement::from_string(
                admin.get_database_backend(),
                format!("SELECT 1 AS x FROM pg_database WHERE datname = '{template}'"),
            ))
            .await
            .unwrap()
            .is_some();
        if !exists {
            let building = format!("waba_build_{}", Uuid::now_v7().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {building}"))
                .await
                .unwrap();
            let db = Database::connect(&database_url(server_url, &building))
                .await
                .unwrap();
            migrate(&db).await;
            db.close().await.unwrap();
            admin
                .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {template}"))
                .await
                .unwrap();
        }
        let name = format!("waba_test_{}", Uuid::now_v7().simple());
        let created = admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await;
        admin
            .execute_unprepared(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
            .await
            .unwrap();
        created.expect("cloning the template database");
        admin.close().await.unwrap();
        Self::Postgres {
            url: database_url(server_url, &name),
        }
    }
}

async fn migrate(db: &DatabaseConnection) {
    waba_bot::db::migrate(db).await.expect("migrations apply");
    JobStore::setup(db).await.expect("job tables");
}

/// The server URL with its database name replaced.
fn database_url(server_url: &str, database: &str) -> String {
    let (base, query) = server_url
        .split_once('?')
        .map_or((server_url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    match query {
        Some(query) => format!("{prefix}/{database}?{query}"),
        None => format!("{prefix}/{database}"),
    }
}

/// Template names follow the migration sources, so editing a migration builds a new template.
fn template_name() -> String {
    let mut hasher = DefaultHasher::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migration/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migration sources")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        std::fs::read(&file)
            .expect("migration file")
            .hash(&mut hasher);
    }
    format!("waba_tmpl_{:016x}", hasher.finish())
}
