//! The one application error type and its two faces: GraphQL errors with a stable
//! `extensions.code`, and HTTP responses for the REST endpoints.
//!
//! Invariant: internal failures (database, providers, bugs) reach clients only as a generic
//! `INTERNAL` message; the detail is logged with the request's span.

use async_graphql::ErrorExtensions;
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use sea_orm::{DbErr, SqlErr};

/// Stable machine-readable error codes (`extensions.code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Unauthenticated,
    TokenExpired,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    Internal,
}

impl ErrorCode {
    fn status(self) -> StatusCode {
        match self {
            Self::Unauthenticated | Self::TokenExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadUserInput => StatusCode::BAD_REQUEST,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Every failure a request or job can end with.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display` type into
/// an error without an `extensions.code`, so resolvers must go through the `From` impl below.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    TokenExpired,
    Forbidden(String),
    NotFound(&'static str),
    BadUserInput {
        field: Option<&'static str>,
        message: String,
    },
    Conflict(String),
    RateLimited {
        retry_after_secs: u64,
    },
    Db(DbErr),
    Internal(anyhow::Error),
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

impl From<std::sync::Arc<DbErr>> for AppError {
    /// DataLoader errors are shared between the fields that awaited the batch.
    fn from(err: std::sync::Arc<DbErr>) -> Self {
        Self::Internal(anyhow::anyhow!("database error while loading: {err}"))
    }
}

impl From<std::sync::Arc<AppError>> for AppError {
    /// DataLoader errors are shared between the fields that awaited the batch: the last holder
    /// gets the error back, the others an internal error that names it.
    fn from(err: std::sync::Arc<AppError>) -> Self {
        std::sync::Arc::try_unwrap(err)
            .unwrap_or_else(|shared| Self::Internal(anyhow::anyhow!("while loading: {shared:?}")))
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

impl From<AppError> for anyhow::Error {
    /// For jobs and the CLI: keeps the cause chain of internal errors (logged with `{:?}`), and
    /// the public message with its code for the others.
    fn from(err: AppError) -> Self {
        match err {
            AppError::Internal(err) => err,
            AppError::Db(err) => err.into(),
            other => anyhow::anyhow!("{}: {}", <&str>::from(other.code()), other.public_message()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn unauthenticated() -> Self {
        Self::Unauthenticated("authentication required".into())
    }

    pub fn forbidden() -> Self {
        Self::Forbidden("you are not allowed to do this".into())
    }

    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: Some(field),
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: None,
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Db(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a client may see (internal details stay in the logs).
    pub fn public_message(&self) -> String {
        match self {
            Self::Unauthenticated(message) | Self::Forbidden(message) | Self::Conflict(message) => {
                message.clone()
            }
            Self::BadUserInput { message, .. } => message.clone(),
            Self::TokenExpired => "token expired".to_owned(),
            Self::NotFound(entity) => format!("{entity} not found"),
            Self::RateLimited { retry_after_secs } => {
                format!("too many attempts, try again in {retry_after_secs} s")
            }
            Self::Db(_) | Self::Internal(_) => "internal error".to_owned(),
        }
    }

    fn log_if_internal(&self) {
        if self.code() == ErrorCode::Internal {
            tracing::error!(error = ?self, "request failed with an internal error");
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.log_if_internal();
        let code = err.code();
        let field = match &err {
            AppError::BadUserInput { field, .. } => *field,
            _ => None,
        };
        let retry_after = match &err {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        async_graphql::Error::new(err.public_message()).extend_with(|_, ext| {
            ext.set("code", <&str>::from(code));
            if let Some(field) = field {
                ext.set("field", field);
            }
            if let Some(secs) = retry_after {
                ext.set("retryAfter", secs);
            }
        })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log_if_internal();
        let code = self.code();
        let body = serde_json::json!({ "error": { "code": <&str>::from(code), "message": self.public_message() } });
        (code.status(), Json(body)).into_response()
    }
}

/// Maps constraint violations of a write to a `CONFLICT` with a caller-chosen message.
pub trait DbResultExt<T> {
    fn on_unique_violation(self, message: impl FnOnce(&str) -> String) -> AppResult<T>;

    /// For deletes refused by a foreign key (`ON DELETE RESTRICT`): rows elsewhere still
    /// reference the row.
    fn on_foreign_key_violation(self, message: impl FnOnce() -> String) -> AppResult<T>;
}

impl<T> DbResultExt<T> for Result<T, DbErr> {
    fn on_unique_violation(self, message: impl FnOnce(&str) -> String) -> AppResult<T> {
        self.map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => AppError::Conflict(message(&detail)),
            _ => AppError::Db(err),
        })
    }

    fn on_foreign_key_violation(self, message: impl FnOnce() -> String) -> AppResult<T> {
        self.map_err(|err| {
            let violation = matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            )
                // SQLite reports a RESTRICT action as SQLITE_CONSTRAINT_TRIGGER (1811), which
                // sea-orm does not classify; the message is the same.
                || err.to_string().contains("FOREIGN KEY constraint failed");
            if violation {
                AppError::Conflict(message())
            } else {
                AppError::Db(err)
            }
        })
    }
}

impl<T> DbResultExt<T> for AppResult<T> {
    /// For repos that return domain types: the database error inside, mapped the same way.
    fn on_unique_violation(self, message: impl FnOnce(&str) -> String) -> AppResult<T> {
        match self {
            Err(AppError::Db(err)) => Err(err).on_unique_violation(message),
            other => other,
        }
    }

    fn on_foreign_key_violation(self, message: impl FnOnce() -> String) -> AppResult<T> {
        match self {
            Err(AppError::Db(err)) => Err(err).on_foreign_key_violation(message),
            other => other,
        }
    }
}
