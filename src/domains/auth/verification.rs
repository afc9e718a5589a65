//! E-mail verification: a 6-digit code from the CSPRNG, valid 15 minutes, 5 attempts, e-mailed
//! by a job enqueued in the same transaction that stores the code. Messages are the previous
//! system's Portuguese ones.

use chrono::{Duration, Utc};

use super::model::CODE_TTL_MINUTES;
use super::{jobs::SendVerificationEmail, repo};
use crate::kernel::viewer::Viewer;
use crate::{
    jobs,
    kernel::{
        crypto,
        error::{AppError, AppResult},
    },
    state::AppState,
};

pub const MAX_ATTEMPTS: i32 = 5;
/// Codes a user may request per hour (each one is an e-mail we send).
const MAX_SENDS_PER_HOUR: u32 = 5;

/// Outcome of `sendVerificationCode`.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    AlreadyVerified,
    Sent,
}

impl SendOutcome {
    pub fn message(&self) -> &'static str {
        match self {
            Self::AlreadyVerified => "Email já verificado",
            Self::Sent => "Código de verificação enviado",
        }
    }
}

/// Creates a new code (replacing any pending one) and enqueues the e-mail atomically with it.
pub async fn send_code(state: &AppState, viewer: &Viewer) -> AppResult<SendOutcome> {
    let user = repo::find_user(&state.db, viewer.user_id)
        .await?
        .ok_or_else(|| AppError::bad_request("Usuário não encontrado"))?;
    if user.email_verified {
        return Ok(SendOutcome::AlreadyVerified);
    }
    state
        .rate_limiter
        .hit(
            &format!("verify-email:send:{}", viewer.user_id),
            MAX_SENDS_PER_HOUR,
            std::time::Duration::from_secs(3600),
        )
        .await?;
    let code = crypto::random_digits(6);
    let txn = crate::db::begin_write(&state.db).await?;
    let verification_id = repo::replace_email_verification(
        &txn,
        viewer.user_id,
        state.cipher.keyed_hash(&code),
        state.cipher.encrypt(&code)?,
        Utc::now() + Duration::minutes(CODE_TTL_MINUTES),
    )
    .await?;
    jobs::enqueue(&txn, &SendVerificationEmail { verification_id }).await?;
    txn.commit().await?;
    state.jobs.wake();
    Ok(SendOutcome::Sent)
}

/// Checks a code; on success marks the e-mail verified.
pub async fn verify(state: &AppState, viewer: &Viewer, code: &str) -> AppResult<bool> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_input("code", "O código deve ter 6 dígitos"));
    }
    let user = repo::find_user(&state.db, viewer.user_id)
        .await?
        .ok_or_else(|| AppError::bad_request("Usuário não encontrado"))?;
    if user.email_verified {
        return Ok(true);
    }
    let Some(pending) = repo::find_pending_email_verification(&state.db, viewer.user_id).await?
    else {
        return Err(AppError::bad_input(
            "code",
            "Nenhum código de verificação pendente. Solicite um novo código.",
        ));
    };
    if pending.expires_at <= Utc::now() {
        return Err(AppError::bad_input(
            "code",
            "Código expirado. Solicite um novo código.",
        ));
    }
    if !repo::claim_email_verification_attempt(&state.db, pending.id, MAX_ATTEMPTS).await? {
        return Err(AppError::bad_input(
            "code",
            "Muitas tentativas inválidas. Solicite um novo código.",
        ));
    }
    let matches = crypto::constant_time_eq(
        state.cipher.keyed_hash(code).as_bytes(),
        pending.code_hash.as_bytes(),
    );
    if !matches {
        return Err(AppError::bad_input("code", "Código inválido"));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    if !repo::consume_email_verification(&txn, pending.id, MAX_ATTEMPTS).await? {
        return Err(AppError::bad_input(
            "code",
            "Nenhum código de verificação pendente. Solicite um novo código.",
        ));
    }
    repo::mark_email_verified(&txn, viewer.user_id).await?;
    txn.commit().await?;
    Ok(true)
}
