//! Outbound e-mail over SMTP (lettre), or a logged dry-run when `EMAIL_USER` is not set.

use std::sync::Arc;

use anyhow::Context;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
};
use secrecy::ExposeSecret;

use crate::config::{MailSettings, SmtpTls};

/// One e-mail, with HTML and plain-text bodies.
#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Sends e-mail.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: Email) -> anyhow::Result<()>;
}

/// Builds the SMTP mailer, or the dry-run when no SMTP user is configured.
pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Arc<dyn Mailer>> {
    let Some(user) = settings.user.clone() else {
        tracing::info!("EMAIL_USER is not set: e-mails are logged, not sent");
        return Ok(Arc::new(DryRunMailer));
    };
    let builder = match settings.smtp_tls {
        SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.smtp_host)?,
        SmtpTls::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.smtp_host)?
        }
        SmtpTls::None => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.smtp_host)
        }
    };
    let password = settings
        .password
        .as_ref()
        .map(|p| p.expose_secret().to_owned())
        .unwrap_or_default();
    let transport = builder
        .port(settings.smtp_port)
        .credentials(Credentials::new(user.clone(), password))
        .timeout(Some(std::time::Duration::from_secs(20)))
        .build();
    let from = Mailbox::new(
        Some(settings.from_name.clone()),
        user.parse()
            .context("EMAIL_USER is not an e-mail address")?,
    );
    Ok(Arc::new(SmtpMailer { transport, from }))
}

struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: Email) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to.parse().context("invalid recipient address")?)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text, email.html))?;
        self.transport
            .send(message)
            .await
            .context("SMTP delivery failed")?;
        Ok(())
    }
}

/// Logs what would be sent. The body is not logged: it may hold a verification code.
struct DryRunMailer;

#[async_trait::async_trait]
impl Mailer for DryRunMailer {
    async fn send(&self, email: Email) -> anyhow::Result<()> {
        tracing::info!(to = %email.to, subject = %email.subject, "dry-run: e-mail not sent (EMAIL_USER unset)");
        Ok(())
    }
}
