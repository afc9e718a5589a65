//! Tracing set-up: human-readable logs in development, JSON lines in production. `RUST_LOG`
//! overrides the default filter.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::Settings;

/// Installs the global subscriber; later calls (tests starting several apps) are no-ops.
pub fn init(settings: &Settings) {
    install(settings.is_production());
}

/// Like [`init`], deciding the format from `APP_ENV` alone (before the settings are read).
pub fn init_from_env() {
    let _ = dotenvy::dotenv();
    let production = std::env::var("APP_ENV").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "production" | "prod"
        )
    });
    install(production);
}

/// The filter without `RUST_LOG`: INFO in production (one line per request, warnings, errors),
/// our debug lines too in development.
fn default_filter(production: bool) -> &'static str {
    if production {
        "info,sqlx=warn,sea_orm=warn"
    } else {
        "info,waba_bot=debug,sqlx=warn,sea_orm=warn"
    }
}

fn install(production: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_filter(production)));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if production {
        registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init()
    } else {
        // Colours only on a terminal: piped or redirected logs stay plain text.
        let ansi = std::io::stdout().is_terminal();
        registry
            .with(fmt::layer().compact().with_ansi(ansi))
            .try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_logs_at_info_by_default() {
        assert!(default_filter(true).starts_with("info,"));
        assert!(!default_filter(true).contains("debug"));
        assert!(default_filter(false).contains("waba_bot=debug"));
    }
}
