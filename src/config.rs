//! Settings, read once from the environment (and `.env` in development).
//!
//! Invariants: secrets are `SecretString`s and never logged; in production a missing `JWT_SECRET`
//! or `ENCRYPTION_KEY` is a start-up error naming the variable, while in development they are
//! generated once into `DATA_DIR` so the embedded default needs no configuration.

use std::{env, fs, net::IpAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// The runtime environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Every setting of the application.
#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub google: GoogleSettings,
    pub mail: MailSettings,
    pub graphql: GraphqlSettings,
    pub worker: WorkerSettings,
    pub metrics: MetricsSettings,
    pub ws: WsSettings,
    pub whatsapp: WhatsAppSettings,
    pub ai: AiSettings,
    pub payments: PaymentSettings,
    /// Base URL of the dashboard: CORS origin and target of OAuth redirects.
    pub frontend_url: String,
    /// Public base URL of this server.
    pub api_url: String,
    pub data_dir: PathBuf,
}

#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub host: IpAddr,
    pub port: u16,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`); empty: the header is
    /// ignored and the client is the TCP peer.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub shutdown_timeout: Duration,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a request may take, body included, before it is answered 408.
    pub request_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Clone, Debug)]
pub struct RedisSettings {
    /// `None`: pub/sub, rate limits and caches stay in process.
    pub url: Option<SecretString>,
    /// Prefix of every key and channel, so several deployments (or tests) can share one Redis.
    pub prefix: String,
}

#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    /// 32-byte AES-256-GCM key for provider secrets and e-mail codes.
    pub encryption_key: SecretString,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long after its rotation a refresh token may be presented again without revoking its
    /// family (concurrent tabs, retried requests); zero is strict rotation.
    pub refresh_reuse_grace: Duration,
    pub login_max_attempts_per_email: u32,
    pub login_max_attempts_per_ip: u32,
    pub login_rate_window: Duration,
}

#[derive(Clone, Debug)]
pub struct GoogleSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub callback_url: String,
    pub auth_url: String,
    pub token_url: String,
    pub jwks_url: String,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    Implicit,
    StartTls,
    None,
}

#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `None`: e-mails are logged instead of sent (dry-run).
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub from_name: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
}

/// The WhatsApp Cloud API (Meta's Graph API).
#[derive(Clone, Debug)]
pub struct WhatsAppSettings {
    /// `WABA_URL`: the Graph API origin (tests point it at a mock).
    pub graph_url: String,
    /// `WABA_API_VERSION`, e.g. `v24.0`.
    pub api_version: String,
    /// `WABA_WEBHOOK_VERIFY_TOKEN`: what Meta must echo to verify the webhook URL; without it the
    /// URL cannot be verified.
    pub verify_token: Option<SecretString>,
    /// `WABA_APP_SECRET`: the Meta app secret that signs webhooks (required in production;
    /// without it every webhook is refused).
    pub app_secret: Option<SecretString>,
    /// `WABA_TOKEN`: the previous system's platform token, used only for a tenant connected
    /// without a token of its own.
    pub platform_token: Option<SecretString>,
}

impl WhatsAppSettings {
    /// Whether this platform talks to WhatsApp at all. Without an app secret no webhook is
    /// accepted, so nothing is sent either: messages are dry-runs (logged, recorded as SENT).
    pub fn is_configured(&self) -> bool {
        self.app_secret.is_some()
    }
}

/// The AI assistant's language model (Google Gemini).
#[derive(Clone, Debug)]
pub struct AiSettings {
    /// `GEMINI_API_KEY`; without it the AI bot mode answers through the guided menu.
    pub api_key: Option<SecretString>,
    /// `GEMINI_API_URL`: the Gemini API origin (tests point it at a mock).
    pub api_url: String,
    /// `AI_DEFAULT_MODEL`, e.g. `gemini-2.5-flash`.
    pub model: String,
    /// `AI_MAX_RETRIES`: retries after the first attempt (at most 10).
    pub max_retries: u32,
    /// `AI_TIMEOUT_SECONDS`: how long one attempt may take (1 to 120 seconds).
    pub timeout: Duration,
    /// `AI_RETRY_BASE_MS`: the first retry's backoff, doubled for each further one.
    pub retry_base: Duration,
    /// `AI_RETRY_MAX_DELAY_MS`: the longest wait before a retry; a quota asking for longer is
    /// treated as exhausted.
    pub retry_max_delay: Duration,
    /// `AI_MAX_OUTPUT_TOKENS`: the longest answer the model may write.
    pub max_output_tokens: u32,
    /// `AI_HISTORY_TOKEN_BUDGET`: the most recent turns are sent within this estimate.
    pub history_token_budget: u32,
    /// Estimated cost prices, in millionths of a currency unit per million tokens, parsed from
    /// decimal strings: `AI_PRICE_INPUT_PER_MILLION` (prompt tokens)…
    pub input_price_micros: i64,
    /// …and `AI_PRICE_OUTPUT_PER_MILLION` (answer and thought tokens).
    pub output_price_micros: i64,
    /// `AI_PRICE_CURRENCY`: the ISO 4217 code of both prices.
    pub price_currency: String,
}

/// The payment providers: Mercado Pago (OAuth-connected sellers, Checkout Pro, webhooks) and
/// InfinitePay (payment links by a tenant's handle). Each tenant pays into its own account, so
/// only the OAuth application and the webhook secret are the platform's.
#[derive(Clone, Debug)]
pub struct PaymentSettings {
    /// `MP_CLIENT_ID`: the Mercado Pago application's id; without it (or without the secret)
    /// sellers cannot connect (no authorization URL).
    pub mp_client_id: Option<String>,
    /// `MP_CLIENT_SECRET`: the application's secret, sent only to the token endpoint.
    pub mp_client_secret: Option<SecretString>,
    /// `MP_REDIRECT_URI`: where Mercado Pago sends the seller back (registered with the
    /// application); default `{API_URL}/auth/mercadopago/callback`.
    pub mp_redirect_uri: String,
    /// `MP_PLATFORM_ACCESS_TOKEN`: the platform's own account (SaaS billing).
    pub mp_platform_access_token: Option<SecretString>,
    /// `MP_WEBHOOK_SECRET`: the application's webhook signature secret (`x-signature`); required
    /// in production, since an unsigned notification would be taken on trust.
    pub mp_webhook_secret: Option<SecretString>,
    /// `MP_WEBHOOK_TOLERANCE_SECONDS`: how far a notification's `ts` may be from now; `None`: no
    /// replay window (Mercado Pago retries old notifications for days, signed with their first
    /// `ts`).
    pub mp_webhook_tolerance: Option<Duration>,
    /// `MP_SUCCESS_URL`, `MP_FAILURE_URL`, `MP_PENDING_URL`: the checkout's back URLs (default
    /// `{FRONTEND_URL}/pagamento/sucesso`, `/falha`, `/pendente`).
    pub mp_success_url: String,
    pub mp_failure_url: String,
    pub mp_pending_url: String,
    /// `MP_API_URL`: the API origin (tests point it at a mock), no trailing `/`.
    pub mp_api_url: String,
    /// `MP_AUTH_URL`: the origin of the authorization page, no trailing `/`.
    pub mp_auth_url: String,
    /// `MP_TEST_TOKEN`: asks for test credentials on the code exchange (`test_token: true`).
    pub mp_test_token: bool,
    /// `INFINITE_PAY_API_URL`: the InfinitePay checkout API origin, no trailing `/`.
    pub infinite_pay_api_url: String,
    /// `PAYMENTS_TIMEOUT_SECONDS`: how long one request to a provider may take (1 to 60).
    pub timeout: Duration,
    /// `PAYMENTS_MAX_RETRIES`: retries after the first attempt while a provider is busy (at most 5).
    pub max_retries: u32,
    /// `PAYMENTS_RETRY_BASE_MS`: the first retry's backoff, doubled for each further one.
    pub retry_base: Duration,
}

#[derive(Clone, Debug)]
pub struct GraphqlSettings {
    /// Introspection and GraphiQL; off in production unless `GRAPHQL_INTROSPECTION=true`.
    pub introspection: bool,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub document: DocumentLimits,
}

/// Limits of GraphQL WebSocket connections (`http::ws`).
#[derive(Clone, Debug)]
pub struct WsSettings {
    pub init_timeout: Duration,
    pub max_message_bytes: usize,
    pub max_subscriptions_per_connection: usize,
    pub max_connections_per_user: usize,
    pub revalidate_every: Duration,
}

/// Where `/metrics` is served. With `port`, on its own listener only; with `token`, only to
/// `Authorization: Bearer <token>`; with neither, production serves no metrics (development does,
/// on the main port).
#[derive(Clone, Debug)]
pub struct MetricsSettings {
    pub port: Option<u16>,
    pub token: Option<SecretString>,
}

/// Bounds on a GraphQL document, checked before validation (`graphql::limits`).
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    pub max_bytes: usize,
    pub max_tokens: usize,
    pub max_expanded_fields: u64,
}

#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Jobs of one queue an instance runs at once.
    pub concurrency: usize,
    /// The same for queues whose jobs mostly wait on a provider (the language model, Meta):
    /// unrelated conversations are answered side by side, not four at a time.
    pub waiting_concurrency: usize,
    pub max_attempts: u32,
    /// How often workers poll the job table and the outbox dispatcher sweeps.
    pub poll_interval: Duration,
}

impl Settings {
    /// Reads the settings from the process environment (after loading `.env` if present).
    pub fn from_env() -> anyhow::Result<Self> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads the settings through `lookup`, so tests can build settings without touching the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let parse = |key: &str, default: &str| -> anyhow::Result<String> {
            Ok(get(key).unwrap_or_else(|| default.to_owned()))
        };
        let number = |key: &str, default: u64| -> anyhow::Result<u64> {
            match get(key) {
                Some(v) => v
                    .trim()
                    .parse()
                    .with_context(|| format!("{key} must be a whole number")),
                None => Ok(default),
            }
        };
        let flag = |key: &str| -> anyhow::Result<Option<bool>> {
            get(key)
                .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" => Ok(false),
                    _ => bail!("{key} must be true or false"),
                })
                .transpose()
        };

        let environment = match parse("APP_ENV", "development")?
            .to_ascii_lowercase()
            .as_str()
        {
            "production" | "prod" => Environment::Production,
            "development" | "dev" | "test" => Environment::Development,
            other => bail!("APP_ENV must be development or production, got {other:?}"),
        };
        let data_dir = PathBuf::from(parse("DATA_DIR", "data")?);
        let port = number("PORT", 8081)?;

        let secret = |key: &str, generate: fn() -> String| -> anyhow::Result<SecretString> {
            if let Some(value) = get(key) {
                return Ok(SecretString::from(value));
            }
            if environment == Environment::Production {
                bail!("{key} must be set when APP_ENV=production");
            }
            load_or_generate_secret(&data_dir, key, generate).map(SecretString::from)
        };
        let jwt_secret = secret("JWT_SECRET", random_secret)?;
        let encryption_key = secret("ENCRYPTION_KEY", random_secret)?;
        crate::kernel::crypto::Cipher::from_setting(&encryption_key)
            .context("ENCRYPTION_KEY is invalid")?;
        if jwt_secret.expose_secret().len() < 32 {
            tracing::warn!("JWT_SECRET is shorter than 32 bytes; use a longer random value");
        }

        let ai = {
            let max_retries = number("AI_MAX_RETRIES", 3)?;
            if max_retries > 10 {
                bail!("AI_MAX_RETRIES must be at most 10, got {max_retries}");
            }
            let timeout = number("AI_TIMEOUT_SECONDS", 30)?;
            if !(1..=120).contains(&timeout) {
                bail!("AI_TIMEOUT_SECONDS must be between 1 and 120, got {timeout}");
            }
            // The model is a path segment of every request.
            let model = parse("AI_DEFAULT_MODEL", "gemini-2.5-flash")?
                .trim()
                .to_owned();
            if !model
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-._".contains(&byte))
            {
                bail!(
                    "AI_DEFAULT_MODEL must be a model name such as gemini-2.5-flash, got {model:?}"
                );
            }
            let price_currency = parse("AI_PRICE_CURRENCY", "USD")?
                .trim()
                .to_ascii_uppercase();
            if price_currency.len() != 3 || !price_currency.bytes().all(|b| b.is_ascii_alphabetic())
            {
                bail!(
                    "AI_PRICE_CURRENCY must be a three-letter currency code, got {price_currency:?}"
                );
            }
            AiSettings {
                api_key: get("GEMINI_API_KEY").map(|key| SecretString::from(key.trim().to_owned())),
                api_url: parse(
                    "GEMINI_API_URL",
                    "https://generativelanguage.googleapis.com",
                )?
                .trim()
                .trim_end_matches('/')
                .to_owned(),
                model,
                max_retries: u32::try_from(max_retries)?,
                timeout: Duration::from_secs(timeout),
                retry_base: Duration::from_millis(number("AI_RETRY_BASE_MS", 1000)?),
                retry_max_delay: Duration::from_millis(number("AI_RETRY_MAX_DELAY_MS", 10_000)?),
                max_output_tokens: u32::try_from(number("AI_MAX_OUTPUT_TOKENS", 1024)?)
                    .context("AI_MAX_OUTPUT_TOKENS is out of range")?
                    .max(1),
                history_token_budget: u32::try_from(number("AI_HISTORY_TOKEN_BUDGET", 8000)?)
                    .context("AI_HISTORY_TOKEN_BUDGET is out of range")?,
                input_price_micros: parse_millionths(
                    "AI_PRICE_INPUT_PER_MILLION",
                    &parse("AI_PRICE_INPUT_PER_MILLION", "0.30")?,
                )?,
                output_price_micros: parse_millionths(
                    "AI_PRICE_OUTPUT_PER_MILLION",
                    &parse("AI_PRICE_OUTPUT_PER_MILLION", "2.50")?,
                )?,
                price_currency,
            }
        };

        let frontend_url = parse("FRONTEND_URL", "http://localhost:3000")?
            .trim_end_matches('/')
            .to_owned();
        let api_url = parse("API_URL", &format!("http://localhost:{port}"))?
            .trim_end_matches('/')
            .to_owned();

        let smtp_tls = match parse("SMTP_TLS", "implicit")?.to_ascii_lowercase().as_str() {
            "implicit" | "tls" | "ssl" => SmtpTls::Implicit,
            "starttls" => SmtpTls::StartTls,
            "none" | "plain" => SmtpTls::None,
            other => bail!("SMTP_TLS must be implicit, starttls or none, got {other:?}"),
        };

        Ok(Self {
            environment,
            http: HttpSettings {
                host: parse("HOST", "0.0.0.0")?
                    .parse()
                    .context("HOST must be an IP address")?,
                port: u16::try_from(port).context("PORT is out of range")?,
                trusted_proxies: match get("TRUSTED_PROXIES") {
                    Some(list) => parse_networks(&list).context("TRUSTED_PROXIES")?,
                    // The previous setting: a proxy on this machine.
                    None if flag("TRUST_PROXY")?.unwrap_or(false) => {
                        parse_networks("127.0.0.0/8, ::1")?
                    }
                    None => Vec::new(),
                },
                shutdown_timeout: Duration::from_secs(number("SHUTDOWN_TIMEOUT_SECONDS", 30)?),
                header_timeout: Duration::from_secs(
                    number("HTTP_HEADER_TIMEOUT_SECONDS", 10)?.max(1),
                ),
                request_timeout: Duration::from_secs(
                    number("HTTP_REQUEST_TIMEOUT_SECONDS", 30)?.max(1),
                ),
            },
            database: DatabaseSettings {
                url: SecretString::from(parse(
                    "DATABASE_URL",
                    &format!("sqlite://{}/waba-bot.db?mode=rwc", data_dir.display()),
                )?),
                max_connections: u32::try_from(number("DATABASE_MAX_CONNECTIONS", 10)?)?,
            },
            redis: RedisSettings {
                url: get("REDIS_URL").map(SecretString::from),
                prefix: parse("REDIS_PREFIX", "waba")?,
            },
            auth: AuthSettings {
                jwt_secret,
                encryption_key,
                access_token_ttl: Duration::from_secs(number("ACCESS_TOKEN_TTL_SECONDS", 900)?),
                refresh_reuse_grace: Duration::from_secs(number(
                    "REFRESH_REUSE_GRACE_SECONDS",
                    30,
                )?),
                refresh_token_ttl: Duration::from_secs(
                    number("REFRESH_TOKEN_TTL_DAYS", 30)? * 24 * 3600,
                ),
                login_max_attempts_per_email: u32::try_from(number(
                    "LOGIN_MAX_ATTEMPTS_PER_EMAIL",
                    10,
                )?)?,
                login_max_attempts_per_ip: u32::try_from(number("LOGIN_MAX_ATTEMPTS_PER_IP", 50)?)?,
                login_rate_window: Duration::from_secs(number("LOGIN_RATE_WINDOW_SECONDS", 900)?),
            },
            google: GoogleSettings {
                client_id: get("GOOGLE_CLIENT_ID"),
                client_secret: get("GOOGLE_CLIENT_SECRET").map(SecretString::from),
                callback_url: parse(
                    "GOOGLE_CALLBACK_URL",
                    &format!("http://localhost:{port}/auth/google/callback"),
                )?,
                auth_url: parse(
                    "GOOGLE_AUTH_URL",
                    "https://accounts.google.com/o/oauth2/v2/auth",
                )?,
                token_url: parse("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token")?,
                jwks_url: parse(
                    "GOOGLE_JWKS_URL",
                    "https://www.googleapis.com/oauth2/v3/certs",
                )?,
            },
            mail: MailSettings {
                user: get("EMAIL_USER"),
                password: get("EMAIL_PASSWORD").map(SecretString::from),
                from_name: parse("EMAIL_FROM_NAME", "WABA Bot")?,
                smtp_host: parse("SMTP_HOST", "smtp.gmail.com")?,
                smtp_port: u16::try_from(number("SMTP_PORT", 465)?)?,
                smtp_tls,
            },
            graphql: GraphqlSettings {
                introspection: flag("GRAPHQL_INTROSPECTION")?
                    .unwrap_or(environment == Environment::Development),
                max_depth: usize::try_from(number("GRAPHQL_MAX_DEPTH", 12)?)?,
                max_complexity: usize::try_from(number("GRAPHQL_MAX_COMPLEXITY", 2000)?)?,
                document: DocumentLimits {
                    max_bytes: usize::try_from(number("GRAPHQL_MAX_DOCUMENT_BYTES", 32 * 1024)?)?,
                    max_tokens: usize::try_from(number("GRAPHQL_MAX_TOKENS", 5_000)?)?,
                    max_expanded_fields: number("GRAPHQL_MAX_EXPANDED_FIELDS", 5_000)?,
                },
            },
            ws: WsSettings {
                init_timeout: Duration::from_secs(number("WS_INIT_TIMEOUT_SECONDS", 10)?.max(1)),
                max_message_bytes: usize::try_from(number("WS_MAX_MESSAGE_BYTES", 64 * 1024)?)?,
                max_subscriptions_per_connection: usize::try_from(number(
                    "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
                    50,
                )?)?,
                max_connections_per_user: usize::try_from(number(
                    "WS_MAX_CONNECTIONS_PER_USER",
                    20,
                )?)?,
                revalidate_every: Duration::from_secs(number("WS_REVALIDATE_SECONDS", 30)?.max(1)),
            },
            whatsapp: WhatsAppSettings {
                graph_url: parse("WABA_URL", "https://graph.facebook.com")?
                    .trim_end_matches('/')
                    .to_owned(),
                api_version: parse("WABA_API_VERSION", "v24.0")?,
                verify_token: get("WABA_WEBHOOK_VERIFY_TOKEN").map(SecretString::from),
                app_secret: match get("WABA_APP_SECRET") {
                    Some(secret) => Some(SecretString::from(secret)),
                    None if environment == Environment::Production => {
                        bail!("WABA_APP_SECRET must be set when APP_ENV=production")
                    }
                    None => None,
                },
                platform_token: get("WABA_TOKEN").map(SecretString::from),
            },
            ai,
            // After `whatsapp`, so a production environment missing both secrets names
            // WABA_APP_SECRET first, as it did before payments existed.
            payments: payment_settings(environment, &get, &number, &flag, &api_url, &frontend_url)?,
            metrics: MetricsSettings {
                port: get("METRICS_PORT")
                    .map(|port| port.trim().parse::<u16>())
                    .transpose()
                    .context("METRICS_PORT must be a port number")?,
                token: get("METRICS_TOKEN").map(SecretString::from),
            },
            worker: WorkerSettings {
                concurrency: usize::try_from(number("WORKER_CONCURRENCY", 4)?)?.max(1),
                waiting_concurrency: usize::try_from(number("WORKER_WAITING_CONCURRENCY", 512)?)?
                    .clamp(1, 4096),
                max_attempts: u32::try_from(number("JOB_MAX_ATTEMPTS", 5)?)?.max(1),
                poll_interval: Duration::from_millis(number("WORKER_POLL_INTERVAL_MS", 500)?),
            },
            frontend_url,
            api_url,
            data_dir,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

/// The `PAYMENTS_*`, `MP_*` and `INFINITE_PAY_*` settings, read with `from_lookup`'s readers.
fn payment_settings(
    environment: Environment,
    get: &dyn Fn(&str) -> Option<String>,
    number: &dyn Fn(&str, u64) -> anyhow::Result<u64>,
    flag: &dyn Fn(&str) -> anyhow::Result<Option<bool>>,
    api_url: &str,
    frontend_url: &str,
) -> anyhow::Result<PaymentSettings> {
    let text = |key: &str, default: String| get(key).map_or(default, |v| v.trim().to_owned());
    let origin = |key: &str, default: &str| {
        text(key, default.to_owned())
            .trim_end_matches('/')
            .to_owned()
    };
    let timeout = number("PAYMENTS_TIMEOUT_SECONDS", 15)?;
    if !(1..=60).contains(&timeout) {
        bail!("PAYMENTS_TIMEOUT_SECONDS must be between 1 and 60, got {timeout}");
    }
    let max_retries = number("PAYMENTS_MAX_RETRIES", 2)?;
    if max_retries > 5 {
        bail!("PAYMENTS_MAX_RETRIES must be at most 5, got {max_retries}");
    }
    let mp_webhook_tolerance = match get("MP_WEBHOOK_TOLERANCE_SECONDS") {
        None => None,
        Some(_) => match number("MP_WEBHOOK_TOLERANCE_SECONDS", 0)? {
            0 => bail!(
                "MP_WEBHOOK_TOLERANCE_SECONDS must be at least 1 (leave it unset for no replay window)"
            ),
            seconds => Some(Duration::from_secs(seconds)),
        },
    };
    let mp_webhook_secret = match get("MP_WEBHOOK_SECRET") {
        Some(secret) => Some(SecretString::from(secret.trim().to_owned())),
        None if environment == Environment::Production => {
            bail!("MP_WEBHOOK_SECRET must be set when APP_ENV=production")
        }
        None => None,
    };
    Ok(PaymentSettings {
        mp_client_id: get("MP_CLIENT_ID").map(|id| id.trim().to_owned()),
        mp_client_secret: get("MP_CLIENT_SECRET")
            .map(|secret| SecretString::from(secret.trim().to_owned())),
        mp_redirect_uri: text(
            "MP_REDIRECT_URI",
            format!("{api_url}/auth/mercadopago/callback"),
        ),
        mp_platform_access_token: get("MP_PLATFORM_ACCESS_TOKEN")
            .map(|token| SecretString::from(token.trim().to_owned())),
        mp_webhook_secret,
        mp_webhook_tolerance,
        mp_success_url: text(
            "MP_SUCCESS_URL",
            format!("{frontend_url}/pagamento/sucesso"),
        ),
        mp_failure_url: text("MP_FAILURE_URL", format!("{frontend_url}/pagamento/falha")),
        mp_pending_url: text(
            "MP_PENDING_URL",
            format!("{frontend_url}/pagamento/pendente"),
        ),
        mp_api_url: origin("MP_API_URL", "https://api.mercadopago.com"),
        mp_auth_url: origin("MP_AUTH_URL", "https://auth.mercadopago.com"),
        mp_test_token: flag("MP_TEST_TOKEN")?.unwrap_or(false),
        infinite_pay_api_url: origin(
            "INFINITE_PAY_API_URL",
            "https://api.checkout.infinitepay.io",
        ),
        timeout: Duration::from_secs(timeout),
        max_retries: u32::try_from(max_retries)?,
        retry_base: Duration::from_millis(number("PAYMENTS_RETRY_BASE_MS", 500)?),
    })
}

/// A comma-separated list of networks (`10.0.0.0/8`) or single addresses (`::1`).
fn parse_networks(list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("{entry:?} is not a network (CIDR) or an IP address"))
        })
        .collect()
}

/// A non-negative decimal ("0.30", "2.5", "1") in millionths, exactly: prices are money, so no
/// float ever rounds them.
fn parse_millionths(key: &str, value: &str) -> anyhow::Result<i64> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || (value.contains('.') && fraction.is_empty())
    {
        bail!("{key} must be a non-negative decimal number such as 0.30, got {value:?}");
    }
    if fraction.len() > 6 {
        bail!("{key} has more than 6 decimal places: {value:?}");
    }
    let too_large = || anyhow::anyhow!("{key} is too large: {value:?}");
    let whole = whole
        .parse::<i64>()
        .ok()
        .and_then(|whole| whole.checked_mul(1_000_000))
        .ok_or_else(too_large)?;
    let fraction = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<6}")
            .parse::<i64>()
            .map_err(|_| too_large())?
    };
    whole.checked_add(fraction).ok_or_else(too_large)
}

fn random_secret() -> String {
    base64::engine::general_purpose::STANDARD.encode(crate::kernel::crypto::random_bytes::<32>())
}

/// Development convenience: keep generated secrets in `DATA_DIR` so tokens and ciphertexts survive
/// restarts of the embedded default.
fn load_or_generate_secret(
    data_dir: &std::path::Path,
    key: &str,
    generate: fn() -> String,
) -> anyhow::Result<String> {
    let path = data_dir.join(key.to_ascii_lowercase());
    if let Ok(existing) = fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let value = generate();
    write_private(&path, &value).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(
        variable = key,
        path = %path.display(),
        "{key} is not set: generated one for development; set it explicitly in production"
    );
    Ok(value)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, value: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(value.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, value: &str) -> std::io::Result<()> {
    fs::write(path, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn trusted_proxies_are_networks_and_trust_proxy_means_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let proxies = |vars: &[(&str, &str)]| {
            let mut vars = vars.to_vec();
            vars.push(("DATA_DIR", data));
            settings(&vars).map(|s| s.http.trusted_proxies)
        };
        assert!(proxies(&[]).unwrap().is_empty());
        assert_eq!(
            proxies(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7 ,::1")]).unwrap(),
            ["10.0.0.0/8", "192.168.1.7/32", "::1/128"].map(|n| n.parse::<ipnet::IpNet>().unwrap())
        );
        assert_eq!(
            proxies(&[("TRUST_PROXY", "true")]).unwrap(),
            ["127.0.0.0/8", "::1/128"].map(|n| n.parse::<ipnet::IpNet>().unwrap())
        );
        let err = proxies(&[("TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err();
        assert!(format!("{err:#}").contains("TRUSTED_PROXIES"), "{err:#}");
    }

    #[test]
    fn production_requires_jwt_secret_by_name() {
        let err = settings(&[
            ("APP_ENV", "production"),
            ("ENCRYPTION_KEY", &random_secret()),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    }

    #[test]
    fn production_requires_encryption_key_by_name() {
        let err =
            settings(&[("APP_ENV", "production"), ("JWT_SECRET", &random_secret())]).unwrap_err();
        assert!(err.to_string().contains("ENCRYPTION_KEY"), "{err}");
    }

    #[test]
    fn production_requires_the_webhook_secret_by_name() {
        let err = settings(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &random_secret()),
            ("ENCRYPTION_KEY", &random_secret()),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("WABA_APP_SECRET"), "{err}");
    }

    #[test]
    fn development_generates_and_keeps_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let dir_str = dir.path().to_str().unwrap();
        let first = settings(&[("DATA_DIR", dir_str)]).unwrap();
        let second = settings(&[("DATA_DIR", dir_str)]).unwrap();
        assert_eq!(
            first.auth.jwt_secret.expose_secret(),
            second.auth.jwt_secret.expose_secret()
        );
        assert!(first.database.url.expose_secret().starts_with("sqlite://"));
        assert_eq!(first.http.port, 8081);
        assert!(first.graphql.introspection);
    }

    #[test]
    fn ai_settings_default_to_gemini_flash_without_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let ai = settings(&[("DATA_DIR", dir.path().to_str().unwrap())])
            .unwrap()
            .ai;
        assert!(ai.api_key.is_none());
        assert_eq!(ai.api_url, "https://generativelanguage.googleapis.com");
        assert_eq!(ai.model, "gemini-2.5-flash");
        assert_eq!(ai.max_retries, 3);
        assert_eq!(ai.timeout, Duration::from_secs(30));
        assert_eq!(ai.retry_base, Duration::from_millis(1000));
        assert_eq!(ai.retry_max_delay, Duration::from_millis(10_000));
        assert_eq!(ai.max_output_tokens, 1024);
        assert_eq!(ai.history_token_budget, 8000);
        assert_eq!(ai.input_price_micros, 300_000);
        assert_eq!(ai.output_price_micros, 2_500_000);
        assert_eq!(ai.price_currency, "USD");
    }

    #[test]
    fn ai_settings_are_read_and_bounded_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let ai = |vars: &[(&str, &str)]| {
            let mut vars = vars.to_vec();
            vars.push(("DATA_DIR", data));
            settings(&vars).map(|s| s.ai)
        };
        let custom = ai(&[
            ("GEMINI_API_KEY", " key-123 "),
            ("GEMINI_API_URL", "http://127.0.0.1:9999/"),
            ("AI_DEFAULT_MODEL", "gemini-3-flash-preview"),
            ("AI_MAX_RETRIES", "10"),
            ("AI_TIMEOUT_SECONDS", "120"),
            ("AI_PRICE_INPUT_PER_MILLION", "1"),
            ("AI_PRICE_CURRENCY", "brl"),
        ])
        .unwrap();
        assert_eq!(custom.api_key.unwrap().expose_secret(), "key-123");
        assert_eq!(custom.api_url, "http://127.0.0.1:9999");
        assert_eq!(custom.model, "gemini-3-flash-preview");
        assert_eq!(custom.max_retries, 10);
        assert_eq!(custom.timeout, Duration::from_secs(120));
        assert_eq!(custom.input_price_micros, 1_000_000);
        assert_eq!(custom.price_currency, "BRL");
        for (key, value) in [
            ("AI_MAX_RETRIES", "11"),
            ("AI_TIMEOUT_SECONDS", "0"),
            ("AI_TIMEOUT_SECONDS", "121"),
            ("AI_DEFAULT_MODEL", "../other"),
            ("AI_PRICE_CURRENCY", "dollars"),
            ("AI_PRICE_INPUT_PER_MILLION", "-0.30"),
            ("AI_PRICE_OUTPUT_PER_MILLION", "2,50"),
        ] {
            let err = ai(&[(key, value)]).unwrap_err();
            assert!(format!("{err:#}").contains(key), "{key}={value}: {err:#}");
        }
    }

    #[test]
    fn prices_are_exact_decimals_and_junk_is_refused() {
        let micros = |value: &str| parse_millionths("AI_PRICE_INPUT_PER_MILLION", value);
        assert_eq!(micros("0.30").unwrap(), 300_000);
        assert_eq!(micros("2.5").unwrap(), 2_500_000);
        assert_eq!(micros("1").unwrap(), 1_000_000);
        assert_eq!(micros(" 0.075 ").unwrap(), 75_000);
        assert_eq!(micros("0.000001").unwrap(), 1);
        assert_eq!(micros("0").unwrap(), 0);
        assert_eq!(micros("12.345678").unwrap(), 12_345_678);
        for junk in [
            "",
            "-1",
            "+1",
            ".5",
            "1.",
            "1.2.3",
            "0.1234567",
            "1e3",
            "abc",
            "1,5",
            "0x10",
            "99999999999999999999",
        ] {
            let err = micros(junk).unwrap_err();
            assert!(
                err.to_string().contains("AI_PRICE_INPUT_PER_MILLION"),
                "{junk:?}: {err}"
            );
        }
    }

    #[test]
    fn production_disables_introspection_unless_asked() {
        let base = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", "x".repeat(40).leak() as &str),
            ("ENCRYPTION_KEY", random_secret().leak() as &str),
            ("WABA_APP_SECRET", "meta-app-secret"),
            ("MP_WEBHOOK_SECRET", "mp-webhook-secret"),
        ];
        assert!(!settings(&base).unwrap().graphql.introspection);
        let mut with_flag = base.to_vec();
        with_flag.push(("GRAPHQL_INTROSPECTION", "true"));
        assert!(settings(&with_flag).unwrap().graphql.introspection);
    }
}
