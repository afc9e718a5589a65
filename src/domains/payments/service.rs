//! Payment rules: connecting the tenant's Mercado Pago account (OAuth with PKCE) and keeping its
//! tokens fresh, payment links for appointments, and the reads the dashboard makes.
//! Reconciliation of the providers' notifications is in `reconcile`, the finance reports in
//! `finance`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;
use secrecy::ExposeSecret;

use super::{
    model::{
        NewPaymentRow, Payment, PaymentChanged, PaymentEventKind, PaymentProvider, PaymentPurpose,
        provider_for, requires_payment,
    },
    repo,
};
use crate::{
    clients::{
        infinite_pay::{InfinitePayError, NewLink},
        mercado_pago::{self, BackUrls, MpError, OAuthTokens, Payer, Preference, PreferenceItem},
    },
    db,
    domains::{
        appointments::{self, model::Appointment},
        customers, services,
        tenants::{self, model::Tenant, service::MercadoPagoTokens},
        whatsapp,
    },
    kernel::{
        crypto,
        error::{AppError, AppResult},
        events::Event,
        ids::{AppointmentId, PaymentId, TenantId},
        pt_br,
        viewer::Viewer,
    },
    state::AppState,
};

/// How long an authorization `state` can be used.
const AUTHORIZATION_TTL: Duration = Duration::minutes(10);

/// Tokens are renewed this long before they expire (Mercado Pago's last 180 days).
pub const REFRESH_AHEAD: Duration = Duration::days(30);

/// How long an instance holds the renewal of one account's tokens (a request with retries).
const REFRESH_LEASE: Duration = Duration::minutes(5);

/// The authorization URL a tenant owner opens to connect their Mercado Pago account: a random
/// `state` bound to the tenant and the user (stored hashed; ten minutes; single use) and a PKCE
/// S256 challenge whose verifier never leaves the server.
pub async fn authorization_url(state: &AppState, viewer: &Viewer) -> AppResult<String> {
    let tenant = viewer.tenant()?;
    let oauth_state = crypto::random_token();
    let (verifier, challenge) = mercado_pago::pkce_pair();
    let url = state
        .clients
        .mercado_pago
        .authorization_url(&oauth_state, &challenge)
        .ok_or_else(|| {
            AppError::bad_request(
                "Mercado Pago is not configured on this platform (MP_CLIENT_ID is not set)",
            )
        })?;
    repo::insert_oauth_state(
        &state.db,
        crypto::sha256_hex(&oauth_state),
        tenant,
        viewer.user_id,
        verifier,
        state.clock.now() + AUTHORIZATION_TTL,
    )
    .await?;
    Ok(url)
}

/// Why connecting failed, as the dashboard reads it in `?mercadoPago=error&reason=…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The owner refused, or Mercado Pago answered without a code.
    Denied,
    /// Unknown, expired or already used `state` (a forged or replayed callback).
    InvalidState,
    /// Mercado Pago refused the code.
    Refused,
    /// The account is connected to another tenant.
    AccountInUse,
    /// Mercado Pago or our database could not be reached; trying again may work.
    Unavailable,
}

impl ConnectFailure {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::InvalidState => "invalid_state",
            Self::Refused => "refused",
            Self::AccountInUse => "account_in_use",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Finishes a Mercado Pago authorization: takes the `state` (single use), trades the code with its
/// PKCE verifier, and stores the account's tokens encrypted on the tenant the state was bound to.
pub async fn finish_authorization(
    state: &AppState,
    code: &str,
    oauth_state: &str,
) -> Result<TenantId, ConnectFailure> {
    let pending = repo::take_oauth_state(
        &state.db,
        &crypto::sha256_hex(oauth_state),
        state.clock.now(),
    )
    .await
    .map_err(|err| {
        tracing::error!(error = %err, "could not read a Mercado Pago authorization state");
        ConnectFailure::Unavailable
    })?
    .ok_or(ConnectFailure::InvalidState)?;
    let tokens = state
        .clients
        .mercado_pago
        .exchange_code(code, &pending.code_verifier)
        .await
        .map_err(|err| {
            tracing::warn!(tenant = %pending.tenant, error = %err, "Mercado Pago refused an authorization code");
            match err {
                MpError::Unavailable(_) => ConnectFailure::Unavailable,
                _ => ConnectFailure::Refused,
            }
        })?;
    let tokens = account_tokens(state, tokens);
    match tenants::service::connect_mercado_pago(state, pending.tenant, &tokens).await {
        Ok(_) => {
            tracing::info!(tenant = %pending.tenant, user = %pending.user, "Mercado Pago account connected");
            Ok(pending.tenant)
        }
        Err(AppError::Conflict(_)) => Err(ConnectFailure::AccountInUse),
        Err(err) => {
            tracing::error!(error = ?err, "could not store a Mercado Pago account");
            Err(ConnectFailure::Unavailable)
        }
    }
}

fn account_tokens(state: &AppState, tokens: OAuthTokens) -> MercadoPagoTokens {
    MercadoPagoTokens {
        user_id: tokens.user_id,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        public_key: tokens.public_key,
        expires_at: tokens
            .expires_in
            .map(|seconds| state.clock.now() + Duration::seconds(seconds)),
    }
}

/// Renews the Mercado Pago tokens that expire within [`REFRESH_AHEAD`] of `now`; how many were
/// renewed. Mercado Pago rotates the refresh token, so the new one is stored. A refused refresh
/// disconnects the account (the dashboard is told); an unreachable Mercado Pago is tried again
/// on the next run. Expired authorization states are deleted on the way.
pub async fn refresh_expiring_tokens(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    repo::delete_expired_oauth_states(&state.db, now).await?;
    let mut renewed = 0;
    for tenant in tenants::service::mercado_pago_expiring(&state.db, now + REFRESH_AHEAD).await? {
        let Some(account) =
            tenants::service::mercado_pago_account(state, &state.db, tenant).await?
        else {
            continue;
        };
        let Some(refresh_token) = &account.refresh_token else {
            continue;
        };
        if !tenants::service::claim_mercado_pago_refresh(state, tenant, REFRESH_LEASE).await? {
            continue;
        }
        match state
            .clients
            .mercado_pago
            .refresh_token(refresh_token.expose_secret())
            .await
        {
            Ok(tokens) => {
                let mut tokens = account_tokens(state, tokens);
                // The renewed tokens belong to the account that was connected.
                tokens.user_id = account.user_id;
                if tenants::service::mercado_pago_renewed(state, tenant, &tokens).await? {
                    renewed += 1;
                }
            }
            Err(MpError::Unavailable(err)) => {
                tracing::warn!(%tenant, error = %err, "could not renew Mercado Pago tokens; trying again later");
            }
            Err(err) => {
                tracing::warn!(%tenant, error = %err, "Mercado Pago refused to renew the tokens");
                tenants::service::mercado_pago_refused(state, tenant).await?;
            }
        }
    }
    Ok(renewed)
}

/// A payment and the page where the customer pays it.
pub struct PaymentLink {
    pub payment: Payment,
    pub url: String,
}

/// `createPaymentLink`: the link for an appointment of the viewer's tenant.
pub async fn create_link(
    state: &AppState,
    viewer: &Viewer,
    appointment: AppointmentId,
) -> AppResult<PaymentLink> {
    link_for_appointment(state, viewer.tenant()?, appointment).await
}

/// `sendPaymentLink`: the link, sent to the customer on WhatsApp.
pub async fn send_link(
    state: &AppState,
    viewer: &Viewer,
    appointment: AppointmentId,
) -> AppResult<PaymentLink> {
    let tenant_id = viewer.tenant()?;
    let link = link_for_appointment(state, tenant_id, appointment).await?;
    let tenant = tenants::service::find(&state.db, tenant_id).await?;
    let text = link_message(&tenant, &link);
    send_on_whatsapp(state, tenant_id, &link, text, Resend::Always).await?;
    Ok(link)
}

/// After a booking on WhatsApp (the `SendPaymentLink` job): its link, sent once, when the tenant
/// asks for payment and the booking still needs it (not paid, canceled or free meanwhile).
pub async fn send_link_after_booking(
    state: &AppState,
    tenant_id: TenantId,
    appointment: AppointmentId,
) -> AppResult<()> {
    let tenant = tenants::service::find(&state.db, tenant_id).await?;
    if !requires_payment(&tenant) {
        return Ok(());
    }
    match link_for_appointment(state, tenant_id, appointment).await {
        Ok(link) => {
            let text = link_message(&tenant, &link);
            send_on_whatsapp(state, tenant_id, &link, text, Resend::Never).await
        }
        Err(AppError::BadUserInput { message, .. }) => {
            tracing::info!(%appointment, reason = %message, "no payment link sent after the booking");
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// The payment link of appointment `id`: the one already made while it is pending and not
/// expired, else a new one. The PENDING payment is written first (under the appointment's lock,
/// so concurrent calls share it) and its id is the provider's reference and idempotency key, so
/// a retry after a crash gets the same link from the provider instead of a second one.
///
/// BAD_USER_INPUT for a free booking, a canceled or expired one, one already paid, and a tenant
/// with no provider to take the payment.
pub async fn link_for_appointment(
    state: &AppState,
    tenant_id: TenantId,
    id: AppointmentId,
) -> AppResult<PaymentLink> {
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    // Read under the rollup's lock: a new payment counts on its day in this zone.
    repo::days::hold_zone(&txn, tenant_id).await?;
    let tenant = tenants::service::find(&txn, tenant_id).await?;
    let appointment = appointments::service::lock(&txn, tenant_id, id).await?;
    check_payable(&appointment)?;
    let provider = provider_for(&tenant)?;
    let payments = repo::list_for_appointments(&txn, tenant_id, &[id]).await?;
    if payments.iter().any(|payment| payment.status.is_paid()) {
        return Err(AppError::bad_input(
            "appointmentId",
            "Este agendamento já foi pago",
        ));
    }
    if let Some(payment) = payments
        .iter()
        .find(|payment| payment.link_is_usable(now) && payment.provider == provider)
        && let Some(url) = &payment.checkout_url
    {
        return Ok(PaymentLink {
            url: url.clone(),
            payment: payment.clone(),
        });
    }
    // A payment whose link was never stored (a crash, or a provider that failed) is asked again
    // under its own idempotency key.
    let unfinished = payments.into_iter().find(|payment| {
        payment.checkout_url.is_none()
            && payment.external_id.is_none()
            && payment.provider == provider
            && payment.amount == appointment.price
    });
    let (payment, created) = match unfinished {
        Some(payment) => (payment, false),
        None => {
            let row = NewPaymentRow {
                tenant: tenant_id,
                purpose: PaymentPurpose::Appointment,
                appointment: Some(id),
                subscription: None,
                customer: Some(appointment.customer_id),
                service: Some(appointment.service_id),
                provider,
                amount: appointment.price,
                link_expires_at: hold_ends_at(&tenant, &appointment),
            };
            (repo::insert(&txn, row, tenant.time_zone, now).await?, true)
        }
    };
    txn.commit().await?;
    if created {
        publish(state, &payment, PaymentEventKind::Created).await;
    }
    let (checkout_id, url) = match provider {
        PaymentProvider::MercadoPago => {
            mercado_pago_link(state, &tenant, &appointment, &payment).await?
        }
        PaymentProvider::InfinitePay => {
            infinite_pay_link(state, &tenant, &appointment, &payment).await?
        }
    };
    let payment = repo::set_checkout(&state.db, payment.id, checkout_id, url.clone(), now)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    Ok(PaymentLink { payment, url })
}

fn check_payable(appointment: &Appointment) -> AppResult<()> {
    use appointments::model::AppointmentStatus::*;
    if appointment.price.0 <= 0 {
        return Err(AppError::bad_input(
            "appointmentId",
            "Este agendamento é gratuito: não há o que pagar",
        ));
    }
    if appointment.paid_at.is_some() {
        return Err(AppError::bad_input(
            "appointmentId",
            "Este agendamento já foi pago",
        ));
    }
    match appointment.status {
        Pending | Confirmed | Completed => Ok(()),
        Canceled => Err(AppError::bad_input(
            "appointmentId",
            "Este agendamento foi cancelado ou expirou",
        )),
        NoShow => Err(AppError::bad_input(
            "appointmentId",
            "O cliente não compareceu a este agendamento",
        )),
    }
}

/// The end of the unpaid hold of a PENDING booking (the link expires with it).
fn hold_ends_at(tenant: &Tenant, appointment: &Appointment) -> Option<DateTime<Utc>> {
    let minutes = tenant.scheduling.unpaid_hold_minutes?;
    (appointment.status == appointments::model::AppointmentStatus::Pending)
        .then(|| appointment.created_at + Duration::minutes(i64::from(minutes)))
}

async fn mercado_pago_link(
    state: &AppState,
    tenant: &Tenant,
    appointment: &Appointment,
    payment: &Payment,
) -> AppResult<(Option<String>, String)> {
    let account = tenants::service::mercado_pago_account(state, &state.db, tenant.id)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                "appointmentId",
                "Conecte sua conta do Mercado Pago para gerar links de pagamento",
            )
        })?;
    let service = services::service::find(&state.db, tenant.id, appointment.service_id).await?;
    let customer = customers::service::find(&state.db, tenant.id, appointment.customer_id).await?;
    let settings = &state.settings.payments;
    let local = appointment.starts_at.with_timezone(&tenant.time_zone.0);
    let preference = Preference {
        external_reference: payment.id.0.to_string(),
        item: PreferenceItem {
            id: appointment.id.0.to_string(),
            title: service.name,
            description: Some(format!(
                "{} — {}",
                tenant.name,
                pt_br::long_date_time(&local)
            )),
            unit_price: payment.amount,
        },
        payer: Payer {
            name: Some(customer.name),
            email: customer.email,
            phone: Some(customer.phone),
        },
        back_urls: BackUrls {
            success: settings.mp_success_url.clone(),
            failure: settings.mp_failure_url.clone(),
            pending: settings.mp_pending_url.clone(),
        },
        notification_url: format!("{}/webhooks/mercadopago", state.settings.api_url),
        expires_at: payment.link_expires_at,
        statement_descriptor: None,
    };
    let created = state
        .clients
        .mercado_pago
        .create_preference(
            account.access_token.expose_secret(),
            &payment.id.0.to_string(),
            &preference,
        )
        .await;
    match created {
        Ok(created) => Ok((Some(created.id), created.init_point)),
        Err(MpError::InvalidGrant(_)) => {
            Err(connection_refused(state, tenant.id, "appointmentId").await?)
        }
        Err(MpError::Refused { message, .. }) => Err(AppError::bad_input(
            "appointmentId",
            format!("O Mercado Pago recusou o link: {message}"),
        )),
        Err(err) => Err(AppError::Internal(anyhow::anyhow!(
            "creating a Mercado Pago preference: {err}"
        ))),
    }
}

async fn infinite_pay_link(
    state: &AppState,
    tenant: &Tenant,
    appointment: &Appointment,
    payment: &Payment,
) -> AppResult<(Option<String>, String)> {
    let Some(handle) = tenant.infinite_pay_tag.clone() else {
        return Err(AppError::bad_input(
            "appointmentId",
            "Informe sua InfiniteTag para gerar links da InfinitePay",
        ));
    };
    let service = services::service::find(&state.db, tenant.id, appointment.service_id).await?;
    let customer = customers::service::find(&state.db, tenant.id, appointment.customer_id).await?;
    let link = NewLink {
        handle,
        description: service.name,
        price: payment.amount,
        order_nsu: payment.id.0.to_string(),
        redirect_url: Some(state.settings.payments.mp_success_url.clone()),
        webhook_url: format!(
            "{}/webhooks/infinitepay/{}",
            state.settings.api_url, tenant.id.0
        ),
        customer_name: Some(customer.name),
        customer_email: customer.email,
        customer_phone: Some(customer.phone),
    };
    match state.clients.infinite_pay.create_link(&link).await {
        Ok(created) => Ok((created.slug, created.url)),
        Err(InfinitePayError::Refused { message, .. }) => Err(AppError::bad_input(
            "appointmentId",
            format!("A InfinitePay recusou o link: {message}"),
        )),
        Err(err) => Err(AppError::Internal(anyhow::anyhow!(
            "creating an InfinitePay link: {err}"
        ))),
    }
}

/// Mercado Pago refused the tenant's token while the owner acted: the account is disconnected (the
/// dashboard is told) and the owner gets BAD_USER_INPUT on `field` asking to connect again.
pub(super) async fn connection_refused(
    state: &AppState,
    tenant: TenantId,
    field: &'static str,
) -> AppResult<AppError> {
    tenants::service::mercado_pago_refused(state, tenant).await?;
    Ok(AppError::bad_input(
        field,
        "O Mercado Pago não aceita mais a conexão da sua conta; conecte-a novamente",
    ))
}

/// The WhatsApp message that carries a payment link.
pub fn link_message(tenant: &Tenant, link: &PaymentLink) -> String {
    let mut text = format!(
        "💳 *Link de pagamento*\n\nValor: *{}*\nPague por aqui: {}",
        pt_br::money(link.payment.amount),
        link.url
    );
    if let Some(expires) = link.payment.link_expires_at {
        let local = expires.with_timezone(&tenant.time_zone.0);
        text.push_str(&format!(
            "\n\n⏳ Seu horário fica reservado até {}. Depois disso, sem o pagamento, ele é liberado.",
            pt_br::long_date_time(&local)
        ));
    }
    text
}

/// Whether a link already sent is sent again.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Resend {
    /// The business asked for it.
    Always,
    /// A job that may run again.
    Never,
}

/// Queues `text`, the message carrying `link`, to its payment's customer on WhatsApp (skipped,
/// and shown so in the conversation, outside the 24-hour window or when the customer opted out of
/// notices). With [`Resend::Never`] the link's `link_sent_at` is the claim, in the transaction
/// that queues the message, so a job run again sends nothing.
pub(super) async fn send_on_whatsapp(
    state: &AppState,
    tenant_id: TenantId,
    link: &PaymentLink,
    text: String,
    resend: Resend,
) -> AppResult<()> {
    let Some(customer) = link.payment.customer else {
        return Ok(());
    };
    let notice = whatsapp::service::Notice {
        text,
        template: None,
    };
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    if resend == Resend::Never && !repo::mark_link_sent(&txn, link.payment.id, now).await? {
        return Ok(());
    }
    let (conversation, messages) =
        whatsapp::service::notify(&txn, tenant_id, customer, notice, now).await?;
    txn.commit().await?;
    whatsapp::service::queued(state, &conversation, &messages).await;
    Ok(())
}

/// Payment `id` of the viewer's tenant.
pub async fn find(state: &AppState, viewer: &Viewer, id: PaymentId) -> AppResult<Payment> {
    repo::find(&state.db, viewer.tenant()?, id)
        .await?
        .ok_or(AppError::NotFound("payment"))
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[PaymentId],
) -> AppResult<HashMap<PaymentId, Payment>> {
    repo::find_many(conn, tenant, ids).await
}

/// The payment that stands for each of the appointments `ids`: an approved one, else the newest.
pub async fn for_appointments(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[AppointmentId],
) -> AppResult<HashMap<AppointmentId, Payment>> {
    let mut chosen: HashMap<AppointmentId, Payment> = HashMap::new();
    // Newest first: the first seen stays unless a paid one comes after it.
    for payment in repo::list_for_appointments(conn, tenant, ids).await? {
        let Some(appointment) = payment.appointment else {
            continue;
        };
        match chosen.get(&appointment) {
            Some(current) if current.status.is_paid() || !payment.status.is_paid() => {}
            _ => {
                chosen.insert(appointment, payment);
            }
        }
    }
    Ok(chosen)
}

/// Tells the dashboard of a payment change, after its commit.
pub async fn publish(state: &AppState, payment: &Payment, kind: PaymentEventKind) {
    state
        .broker
        .publish(Event::new(
            payment.tenant,
            &PaymentChanged {
                kind,
                payment_id: payment.id,
            },
        ))
        .await;
}
