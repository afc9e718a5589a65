//! `spawn_app()` and the `TestApp` handle.

use std::{collections::HashMap, time::Duration};

use base64::Engine;
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;
use waba_bot::{
    config::Settings,
    domains::auth::service::provision_user,
    kernel::viewer::Role,
    startup::{Application, Shutdown},
    state::AppState,
};
use wiremock::MockServer;

use super::{db::TestDatabase, google, meta, smtp::MockSmtp};

/// The database engine under test, from `TEST_BACKEND` (default `sqlite`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn current() -> Self {
        match std::env::var("TEST_BACKEND").as_deref() {
            Ok("postgres") => Self::Postgres,
            _ => Self::Sqlite,
        }
    }
}

fn postgres_server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The `MP_WEBHOOK_SECRET` of every test application (the secret of protocols.md §2.4's
/// signature test vectors).
pub const MP_WEBHOOK_SECRET: &str = "test_webhook_secret";

/// Knobs for one test application.
#[derive(Clone, Default)]
pub struct TestOptions {
    /// Extra or overriding settings (environment variable names).
    pub settings: Vec<(&'static str, String)>,
    /// Run on this database (URL) instead of a fresh one: several instances of one deployment.
    pub database_url: Option<String>,
    /// Use Redis (default: with the Postgres backend). The prefix is shared via `redis_prefix`.
    pub redis: Option<bool>,
    pub redis_prefix: Option<String>,
    /// Share secrets with another instance (tokens must verify on both).
    pub secrets: Option<(String, String)>,
}

pub struct TestApp {
    pub address: String,
    /// The separate metrics listener, with `METRICS_PORT`.
    pub metrics_address: Option<String>,
    pub state: AppState,
    pub http: reqwest::Client,
    pub smtp: MockSmtp,
    pub google: MockServer,
    /// Meta's Graph API (`WABA_URL`); tests mount what it answers.
    pub meta: MockServer,
    /// The Gemini API (`GEMINI_API_URL`); used once a test sets `GEMINI_API_KEY`.
    pub gemini: MockServer,
    /// Mercado Pago's API and authorization page (`MP_API_URL`, `MP_AUTH_URL`).
    pub mercado_pago: MockServer,
    /// InfinitePay's checkout API (`INFINITE_PAY_API_URL`).
    pub infinite_pay: MockServer,
    pub database_url: String,
    pub redis_prefix: String,
    pub secrets: (String, String),
    shutdown: Shutdown,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _database: Option<TestDatabase>,
    _data_dir: TempDir,
}

/// A row of apalis's job table.
#[derive(Debug)]
pub struct QueuedJob {
    pub status: String,
    /// The worker holding it.
    pub lock_by: Option<String>,
    /// The id of the outbox row it was pushed from.
    pub idempotency_key: Option<String>,
}

/// A GraphQL response split into what tests look at.
#[derive(Debug)]
pub struct GqlResponse {
    pub body: Value,
}

impl GqlResponse {
    pub fn data(&self) -> &Value {
        assert!(
            self.body["errors"].is_null(),
            "unexpected errors: {}",
            self.body["errors"]
        );
        &self.body["data"]
    }

    /// The `extensions.code` of the first error.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {}", self.body))
    }

    /// Whether the answer read nothing: no data, or only null fields (a nullable lookup that
    /// failed).
    pub fn read_nothing(&self) -> bool {
        self.body["data"]
            .as_object()
            .is_none_or(|fields| fields.values().all(Value::is_null))
    }

    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

/// An app with these settings (environment variable names) on top of the test defaults.
pub async fn spawn_app_with_settings(settings: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(TestOptions {
        settings: settings
            .iter()
            .map(|(key, value)| (*key, (*value).to_owned()))
            .collect(),
        ..TestOptions::default()
    })
    .await
}

pub async fn spawn_app_with(options: TestOptions) -> TestApp {
    let backend = Backend::current();
    let (database, database_url) = match options.database_url.clone() {
        Some(url) => (None, url),
        None => {
            let database = match backend {
                Backend::Sqlite => TestDatabase::sqlite().await,
                Backend::Postgres => TestDatabase::postgres(&postgres_server_url()).await,
            };
            let url = database.url().to_owned();
            (Some(database), url)
        }
    };
    let use_redis = options.redis.unwrap_or(backend == Backend::Postgres);
    let redis_prefix = options
        .redis_prefix
        .clone()
        .unwrap_or_else(|| format!("test-{}", Uuid::now_v7().simple()));
    let secrets = options.secrets.clone().unwrap_or_else(|| {
        let key = base64::engine::general_purpose::STANDARD
            .encode(waba_bot::kernel::crypto::random_bytes::<32>());
        (waba_bot::kernel::crypto::random_token(), key)
    });
    let smtp = MockSmtp::start().await;
    let google = google::start().await;
    let meta = meta::start().await;
    let gemini = MockServer::start().await;
    let mercado_pago = MockServer::start().await;
    let infinite_pay = MockServer::start().await;
    let data_dir = tempfile::tempdir().unwrap();

    let mut vars: HashMap<&'static str, String> = HashMap::from([
        ("APP_ENV", "development".to_owned()),
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "0".to_owned()),
        ("DATA_DIR", data_dir.path().display().to_string()),
        ("DATABASE_URL", database_url.clone()),
        ("DATABASE_MAX_CONNECTIONS", "5".to_owned()),
        ("REDIS_PREFIX", redis_prefix.clone()),
        ("JWT_SECRET", secrets.0.clone()),
        ("ENCRYPTION_KEY", secrets.1.clone()),
        ("FRONTEND_URL", "http://dashboard.test".to_owned()),
        ("EMAIL_USER", "bot@waba.test".to_owned()),
        ("EMAIL_PASSWORD", "smtp-password".to_owned()),
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", smtp.port.to_string()),
        ("SMTP_TLS", "none".to_owned()),
        ("GOOGLE_CLIENT_ID", google::CLIENT_ID.to_owned()),
        ("GOOGLE_CLIENT_SECRET", google::CLIENT_SECRET.to_owned()),
        ("GOOGLE_AUTH_URL", format!("{}/auth", google.uri())),
        ("GOOGLE_TOKEN_URL", format!("{}/token", google.uri())),
        ("GOOGLE_JWKS_URL", format!("{}/certs", google.uri())),
        (
            "GOOGLE_CALLBACK_URL",
            "http://api.test/auth/google/callback".to_owned(),
        ),
        ("WABA_URL", meta.uri()),
        ("WABA_APP_SECRET", meta::APP_SECRET.to_owned()),
        ("WABA_API_VERSION", meta::API_VERSION.to_owned()),
        ("GEMINI_API_URL", gemini.uri()),
        ("AI_RETRY_BASE_MS", "1".to_owned()),
        ("MP_API_URL", mercado_pago.uri()),
        ("MP_CLIENT_ID", "mp-client-id".to_owned()),
        ("MP_CLIENT_SECRET", "mp-client-secret".to_owned()),
        (
            "MP_REDIRECT_URI",
            "https://api.test/auth/mercadopago/callback".to_owned(),
        ),
        ("MP_AUTH_URL", mercado_pago.uri()),
        // The secret of protocols.md §2.4's test vectors; production requires one.
        ("MP_WEBHOOK_SECRET", MP_WEBHOOK_SECRET.to_owned()),
        ("INFINITE_PAY_API_URL", infinite_pay.uri()),
        ("PAYMENTS_RETRY_BASE_MS", "1".to_owned()),
        ("WORKER_POLL_INTERVAL_MS", "50".to_owned()),
        ("SHUTDOWN_TIMEOUT_SECONDS", "5".to_owned()),
        ("LOGIN_MAX_ATTEMPTS_PER_EMAIL", "1000".to_owned()),
        ("LOGIN_MAX_ATTEMPTS_PER_IP", "1000".to_owned()),
    ]);
    if use_redis {
        vars.insert("REDIS_URL", redis_url());
    }
    for (key, value) in options.settings {
        vars.insert(key, value);
    }
    let settings = Settings::from_lookup(|key| vars.get(key).cloned()).expect("test settings");
    if std::env::var_os("TEST_LOG").is_some() {
        waba_bot::telemetry::init(&settings);
    }
    let application = Application::build(settings)
        .await
        .expect("application builds");
    let port = application.port();
    let metrics_address = application
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let state = application.state().clone();
    let shutdown = application.shutdown_handle();
    let server = tokio::spawn(application.run_until_stopped());
    let address = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Answered once the server serves, so the worker side is set up too (it runs the jobs a
    // request holds for this process).
    let health = http.get(format!("{address}/healthz")).send().await;
    assert!(health.is_ok_and(|response| response.status().is_success()));

    TestApp {
        address,
        metrics_address,
        state,
        http,
        smtp,
        google,
        meta,
        gemini,
        mercado_pago,
        infinite_pay,
        database_url,
        redis_prefix,
        secrets,
        shutdown,
        server: Some(server),
        _database: database,
        _data_dir: data_dir,
    }
}

impl TestApp {
    /// Options that make another instance of the same deployment (same database, Redis, keys).
    pub fn sibling_options(&self) -> TestOptions {
        TestOptions {
            database_url: Some(self.database_url.clone()),
            redis: Some(self.state.redis.is_some()),
            redis_prefix: Some(self.redis_prefix.clone()),
            secrets: Some(self.secrets.clone()),
            ..TestOptions::default()
        }
    }

    /// POSTs a GraphQL operation, with a bearer token when given.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> GqlResponse {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches the server");
        GqlResponse {
            body: response.json().await.expect("JSON body"),
        }
    }

    /// Creates a user straight in the database (the `create-user` path) and signs it in.
    pub async fn user_session(&self, email: &str, role: Role, verified: bool) -> Value {
        provision_user(
            &self.state.db,
            email,
            "correct horse battery",
            role,
            verified,
        )
        .await
        .expect("user created");
        self.login(email, "correct horse battery").await
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        let response = self
            .gql(
                None,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken expiresAt user { id email role tenant { id } } } }",
                json!({ "e": email, "p": password }),
            )
            .await;
        response.data()["login"].clone()
    }

    /// Ends the session `refresh_token` belongs to (`logout`); whether it was answered `true`.
    pub async fn logout(&self, refresh_token: &Value) -> bool {
        let response = self
            .gql(
                None,
                "mutation($t: String!) { logout(refreshToken: $t) }",
                json!({ "t": refresh_token }),
            )
            .await;
        response.data()["logout"] == true
    }

    /// An ADMIN's access token.
    pub async fn admin_token(&self) -> String {
        let session = self
            .user_session(
                &format!("admin-{}@waba.test", Uuid::now_v7().simple()),
                Role::Admin,
                true,
            )
            .await;
        session["accessToken"].as_str().unwrap().to_owned()
    }

    /// A verified TENANT user that onboarded a tenant; returns `(access token, tenant id)`.
    pub async fn tenant_owner(&self) -> (String, String) {
        let email = format!("owner-{}@waba.test", Uuid::now_v7().simple());
        let session = self.user_session(&email, Role::Tenant, true).await;
        let token = session["accessToken"].as_str().unwrap().to_owned();
        let tenant = self.onboard(&token, &unique_phone()).await;
        (token, tenant["id"].as_str().unwrap().to_owned())
    }

    pub async fn onboard(&self, token: &str, phone: &str) -> Value {
        let plan = self.saas_plan_id("starter-monthly").await;
        let response = self
            .gql(
                Some(token),
                "mutation($input: OnboardTenantInput!) { onboardTenant(input: $input) { id name phone email timeZone saasStatus } }",
                json!({ "input": { "name": "Barbearia do Zé", "phone": phone, "saasPlanId": plan } }),
            )
            .await;
        response.data()["onboardTenant"].clone()
    }

    pub async fn saas_plan_id(&self, slug: &str) -> String {
        let plans = self.gql(None, "{ saasPlans { id slug } }", json!({})).await;
        plans.data()["saasPlans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["slug"] == slug)
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no plan {slug}"))
    }

    /// Dispatches the outbox and waits until every runnable job has finished.
    pub async fn drain_jobs(&self) {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                self.state
                    .jobs
                    .dispatch_pending()
                    .await
                    .expect("outbox dispatch");
                if self.state.jobs.unfinished_count().await.expect("job count") == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("jobs did not finish");
    }

    /// The jobs of `queue` in apalis's table, whichever the backend.
    pub async fn queued_jobs(&self, queue: &str) -> Vec<QueuedJob> {
        use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
        let backend = self.state.db.get_database_backend();
        let (table, placeholder) = match backend {
            DatabaseBackend::Postgres => ("apalis.jobs", "$1"),
            _ => ("Jobs", "?"),
        };
        let sql = format!(
            "SELECT status, lock_by, idempotency_key FROM {table} WHERE job_type = {placeholder}"
        );
        let rows = self
            .state
            .db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, [queue.into()]))
            .await
            .expect("the job table");
        rows.iter()
            .map(|row| QueuedJob {
                status: row.try_get("", "status").unwrap(),
                lock_by: row.try_get("", "lock_by").unwrap(),
                idempotency_key: row.try_get("", "idempotency_key").unwrap(),
            })
            .collect()
    }

    /// Statements sent while handling requests (`waba_db_queries_total{source="api"}`).
    pub fn db_queries(&self) -> u64 {
        self.state.metrics.db_counter("api").get()
    }

    /// Stops this instance and starts another of the same deployment (database, Redis, keys)
    /// with `settings`: a restart. The new instance has mock servers of its own.
    pub async fn restart(self, settings: Vec<(&'static str, String)>) -> TestApp {
        let mut next = spawn_app_with(TestOptions {
            settings,
            ..self.sibling_options()
        })
        .await;
        self.stop_for(&mut next).await;
        next
    }

    /// Stops this instance, leaving its database to `sibling`, which keeps running on it.
    pub async fn stop_for(mut self, sibling: &mut TestApp) {
        sibling._database = self._database.take().or(sibling._database.take());
        self.stop().await.expect("the server stops cleanly");
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.server.take().unwrap().await.expect("server task")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A Brazilian mobile number no other test uses.
pub fn unique_phone() -> String {
    let n = Uuid::now_v7().as_u128() % 100_000_000;
    format!("+55 11 9{n:08}")
}
