//! Jobs and crons of the auth domain.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{model::CODE_TTL_MINUTES, repo, service};
use crate::{
    clients::mailer::Email,
    jobs::{CronJob, Job},
    state::AppState,
};

/// E-mails a verification code. Re-reads the code: a superseded, consumed, expired or already
/// sent code is not sent (again).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SendVerificationEmail {
    pub verification_id: Uuid,
}

impl Job for SendVerificationEmail {
    const QUEUE: &'static str = "send_verification_email";
    type Context = AppState;

    async fn run(self, state: AppState) -> anyhow::Result<()> {
        let Some(verification) =
            repo::find_email_verification(&state.db, self.verification_id).await?
        else {
            return Ok(());
        };
        if verification.sent_at.is_some()
            || verification.consumed_at.is_some()
            || verification.expires_at <= Utc::now()
        {
            return Ok(());
        }
        let Some(user) = repo::find_user(&state.db, verification.user_id).await? else {
            return Ok(());
        };
        let code = state.cipher.decrypt(&verification.code_enc)?;
        state
            .clients
            .mailer
            .send(verification_email(
                &user.email,
                user.name.as_deref(),
                code.expose_secret(),
            ))
            .await?;
        repo::mark_email_verification_sent(&state.db, verification.id).await?;
        Ok(())
    }
}

/// Deletes expired refresh tokens, login codes and OAuth states, hourly, so they do not pile up.
/// Idempotent: every instance runs it, and a row deleted elsewhere is simply not counted here.
pub struct PurgeExpiredCredentials;

impl CronJob for PurgeExpiredCredentials {
    const NAME: &'static str = "purge_expired_credentials";
    const SCHEDULE: &'static str = "0 17 * * * *";
    type Context = AppState;

    async fn run(state: AppState, now: DateTime<Utc>) -> anyhow::Result<()> {
        let purged = service::purge_expired(&state.db, now).await?;
        if purged > 0 {
            tracing::info!(purged, "deleted expired credentials");
        }
        Ok(())
    }
}

fn verification_email(to: &str, name: Option<&str>, code: &str) -> Email {
    let greeting = name.map_or_else(
        || "Olá!".to_owned(),
        |n| format!("Olá, {}!", html_escape(n)),
    );
    Email {
        to: to.to_owned(),
        subject: "Verifique seu email - WABA Bot".to_owned(),
        html: format!(
            "<div style=\"font-family: Arial, sans-serif; max-width: 600px; margin: 0 auto;\">\
             <h2>Verificação de Email</h2><p>{greeting}</p>\
             <p>Seu código de verificação é:</p>\
             <p style=\"font-size: 32px; font-weight: bold; letter-spacing: 8px;\">{code}</p>\
             <p>Este código expira em {CODE_TTL_MINUTES} minutos.</p>\
             <p>Se você não solicitou este código, ignore este email.</p></div>"
        ),
        text: format!(
            "{greeting}\n\nSeu código de verificação é: {code}\n\nEste código expira em {CODE_TTL_MINUTES} minutos.\n\
             Se você não solicitou este código, ignore este email.\n"
        ),
    }
}

/// Escapes text interpolated into HTML e-mails (names are user-controlled).
pub fn html_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_in_portuguese_and_escapes_names() {
        let email = verification_email("ana@salon.com", Some("<b>Ana</b>"), "123456");
        assert_eq!(email.subject, "Verifique seu email - WABA Bot");
        assert!(email.html.contains("123456") && email.html.contains("expira em 15 minutos"));
        assert!(email.html.contains("&lt;b&gt;Ana&lt;/b&gt;") && !email.html.contains("<b>Ana"));
    }
}
