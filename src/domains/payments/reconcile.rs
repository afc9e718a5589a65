//! Reconciliation: what a stored notification means, asked of its provider (the notification's
//! body is never believed), written to the payment and carried out on the booking.
//!
//! Invariants:
//! - A Mercado Pago payment is read with the token of the account the notification names (the
//!   platform's, or a connected tenant's) and may only change payments of that account: a
//!   tenant's own payments for a tenant, SaaS fees for the platform. An InfinitePay webhook counts
//!   only once `payment_check` says `paid` for its `order_nsu` and `transaction_nsu`.
//! - Every read of one checkout runs under the row lock of the payment the checkout was made for
//!   (then of the payment the provider id names), so concurrent notifications of one payment
//!   apply one at a time; a read older than the stored one (`provider_updated_at`) changes
//!   nothing.
//! - Effects follow the transition from the stored status to the read one, in the transaction
//!   that writes it: the booking confirmed and the receipt queued once when it becomes paid; a
//!   booking canceled or expired meanwhile is never taken back (the payment needs a refund); an
//!   amount other than the snapshot never confirms (`review_reason`); a rejection queues the
//!   offer of a new link; a refund or chargeback cancels a future booking when the tenant's
//!   policy says so. Events are published after the commit.
//! - A provider that cannot be reached fails the job (apalis retries it); an answer that settles
//!   the notification (not found, refused, not ours) is recorded as its outcome.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{
    model::{
        NewPaymentNotification, OfferNewPaymentLink, Payment, PaymentEventKind, PaymentMethod,
        PaymentNotification, PaymentProvider, PaymentPurpose, PaymentStatus, ProviderRead,
        ReconcileNotification, ReconciledRow,
    },
    repo, service,
};
use crate::{
    clients::{
        infinite_pay::{InfinitePayError, PaymentCheck},
        mercado_pago::MpError,
    },
    db,
    domains::{
        appointments::{
            self,
            model::{Appointment, AppointmentEventKind, AppointmentStatus},
        },
        customers, services,
        tenants::{self, model::Tenant},
        whatsapp::{self, model::Conversation},
    },
    jobs,
    kernel::{
        crypto,
        error::{AppError, AppResult},
        ids::{AppointmentId, MessageId, PaymentId, PaymentNotificationId, TenantId},
        pt_br,
        values::{EnumStr, MoneyCents},
    },
    state::AppState,
};

/// Whose Mercado Pago account a notification names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// `MP_PLATFORM_ACCESS_TOKEN`'s: the tenants' SaaS fees.
    Platform,
    /// A tenant's own, connected by OAuth: its customers' payments.
    Tenant(TenantId),
}

impl Account {
    fn tenant(self) -> Option<TenantId> {
        match self {
            Self::Platform => None,
            Self::Tenant(tenant) => Some(tenant),
        }
    }

    /// Whether `payment` is one this account's reads may change.
    fn owns(self, payment: &Payment) -> bool {
        match self {
            Self::Platform => payment.purpose == PaymentPurpose::SaasFee,
            Self::Tenant(tenant) => {
                payment.tenant == tenant && payment.purpose != PaymentPurpose::SaasFee
            }
        }
    }
}

/// What reconciling a notification did: recorded on it, with the tenant it concerned.
pub struct Outcome {
    pub tenant: Option<TenantId>,
    pub text: String,
}

impl Outcome {
    fn new(tenant: Option<TenantId>, text: impl Into<String>) -> Self {
        Self {
            tenant,
            text: text.into(),
        }
    }
}

/// Stores a provider's notification with its `ReconcileNotification` job, once per key (one
/// statement on Postgres); false for a duplicate, which queues nothing.
pub async fn accept(state: &AppState, notification: NewPaymentNotification) -> AppResult<bool> {
    let (id, insert) = repo::reconcile::new_notification(notification, state.clock.now());
    let new = jobs::insert_new_with_job(
        &state.db,
        insert,
        &ReconcileNotification { notification: id },
    )
    .await?;
    if new {
        state.jobs.wake();
    }
    Ok(new)
}

/// The `ReconcileNotification` job: notification `id` reconciled with its provider and marked
/// processed with its outcome. One already processed is left alone.
pub async fn reconcile_notification(state: &AppState, id: PaymentNotificationId) -> AppResult<()> {
    let Some(notification) = repo::reconcile::find_unprocessed_notification(&state.db, id).await?
    else {
        return Ok(());
    };
    let outcome = match notification.provider {
        PaymentProvider::MercadoPago => mercado_pago_notification(state, &notification).await?,
        PaymentProvider::InfinitePay => infinite_pay_notification(state, &notification).await?,
    };
    tracing::info!(
        notification = %id,
        provider = notification.provider.as_str(),
        resource = %notification.resource_id,
        outcome = %outcome.text,
        "payment notification reconciled"
    );
    repo::reconcile::mark_notification_processed(
        &state.db,
        id,
        outcome.tenant,
        &outcome.text,
        state.clock.now(),
    )
    .await?;
    Ok(())
}

async fn mercado_pago_notification(
    state: &AppState,
    notification: &PaymentNotification,
) -> AppResult<Outcome> {
    let Some(user) = notification.account_user_id.as_deref() else {
        return Ok(Outcome::new(None, "no user_id: no account to ask"));
    };
    let Some((account, token)) = account_of(state, user).await? else {
        tracing::warn!(
            user,
            "a Mercado Pago notification names an account we do not know"
        );
        return Ok(Outcome::new(
            None,
            format!("unknown Mercado Pago user_id {user}: ignored"),
        ));
    };
    reconcile_mercado_pago(state, account, &token, &notification.resource_id).await
}

/// Mercado Pago user ids of platform tokens, by the token's hash: a token's user never changes,
/// so it is asked once per process (and per token, as tests run several applications).
static PLATFORM_USERS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Mutex::default);

/// The account of Mercado Pago user `user` and its token: the platform's, or a connected
/// tenant's.
async fn account_of(state: &AppState, user: &str) -> AppResult<Option<(Account, SecretString)>> {
    if let Some(token) = &state.settings.payments.mp_platform_access_token
        && platform_user(state, token).await?.as_deref() == Some(user)
    {
        return Ok(Some((Account::Platform, token.clone())));
    }
    let Some(tenant) = tenants::service::find_by_mercado_pago_user(&state.db, user).await? else {
        return Ok(None);
    };
    Ok(
        tenants::service::mercado_pago_account(state, &state.db, tenant)
            .await?
            .map(|account| (Account::Tenant(tenant), account.access_token)),
    )
}

async fn platform_user(state: &AppState, token: &SecretString) -> AppResult<Option<String>> {
    let key = crypto::sha256_hex(token.expose_secret());
    let cached = PLATFORM_USERS
        .lock()
        .ok()
        .and_then(|users| users.get(&key).cloned());
    if cached.is_some() {
        return Ok(cached);
    }
    match state
        .clients
        .mercado_pago
        .user_id(token.expose_secret())
        .await
    {
        Ok(user) => {
            if let Ok(mut users) = PLATFORM_USERS.lock() {
                users.insert(key, user.clone());
            }
            Ok(Some(user))
        }
        Err(MpError::Unavailable(detail)) => Err(AppError::Internal(anyhow::anyhow!(
            "asking Mercado Pago whose MP_PLATFORM_ACCESS_TOKEN it is: {detail}"
        ))),
        Err(err) => {
            tracing::error!(error = %err, "Mercado Pago refused MP_PLATFORM_ACCESS_TOKEN");
            Ok(None)
        }
    }
}

/// Reads Mercado Pago payment `id` with `token` (the account's) and applies it. Also what a
/// refund runs once Mercado Pago accepted it, so the notification that follows changes nothing.
pub async fn reconcile_mercado_pago(
    state: &AppState,
    account: Account,
    token: &SecretString,
    id: &str,
) -> AppResult<Outcome> {
    let tenant = account.tenant();
    let payment = match state
        .clients
        .mercado_pago
        .payment(token.expose_secret(), id)
        .await
    {
        Ok(payment) => payment,
        Err(MpError::Unavailable(detail)) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "reading Mercado Pago payment {id}: {detail}"
            )));
        }
        Err(MpError::InvalidGrant(message)) => {
            if let Some(tenant) = tenant {
                tenants::service::mercado_pago_refused(state, tenant).await?;
            }
            return Ok(Outcome::new(
                tenant,
                format!("the account's token was refused: {message}"),
            ));
        }
        Err(err) => return Ok(Outcome::new(tenant, err.to_string())),
    };
    // A card check before a card is saved moves no money.
    if payment.operation_type.as_deref() == Some("card_validation") {
        return Ok(Outcome::new(tenant, "card_validation: ignored"));
    }
    let reference = payment
        .external_reference
        .as_deref()
        .and_then(|reference| Uuid::parse_str(reference.trim()).ok())
        .map(PaymentId);
    let read = ProviderRead {
        status: PaymentStatus::from_mercado_pago(&payment.status, payment.amount, payment.refunded),
        status_detail: payment.status_detail,
        method: PaymentMethod::from_mercado_pago(
            payment.payment_type_id.as_deref(),
            payment.payment_method_id.as_deref(),
        ),
        paid_amount: payment.amount,
        fee: Some(payment.seller_fee),
        net: payment.net_received,
        refunded: payment.refunded,
        approved_at: payment.date_approved,
        updated_at: payment.date_last_updated,
        external_id: payment.id,
    };
    apply(
        state,
        account,
        PaymentProvider::MercadoPago,
        reference,
        read,
    )
    .await
}

async fn infinite_pay_notification(
    state: &AppState,
    notification: &PaymentNotification,
) -> AppResult<Outcome> {
    let Some(tenant_id) = notification.tenant else {
        return Ok(Outcome::new(None, "no tenant"));
    };
    let tenant = match tenants::service::find(&state.db, tenant_id).await {
        Ok(tenant) => tenant,
        Err(AppError::NotFound(_)) => {
            tracing::warn!(tenant = %tenant_id, "an InfinitePay webhook for an unknown tenant");
            return Ok(Outcome::new(None, "unknown tenant: ignored"));
        }
        Err(err) => return Err(err),
    };
    let here = Some(tenant.id);
    let Some(handle) = tenant.infinite_pay_tag.clone() else {
        return Ok(Outcome::new(here, "the tenant has no InfiniteTag: ignored"));
    };
    let payment = match Uuid::parse_str(&notification.resource_id) {
        Ok(id) => repo::find(&state.db, tenant.id, PaymentId(id)).await?,
        Err(_) => None,
    };
    let Some(payment) = payment.filter(|p| p.provider == PaymentProvider::InfinitePay) else {
        tracing::warn!(tenant = %tenant.id, order_nsu = %notification.resource_id, "an InfinitePay webhook for an unknown order_nsu");
        return Ok(Outcome::new(here, "unknown order_nsu: ignored"));
    };
    let body = serde_json::from_str::<serde_json::Value>(&notification.body).unwrap_or_default();
    let field = |name: &str| body[name].as_str().map(str::to_owned);
    // The webhook stored it only with one.
    let transaction = field("transaction_nsu").unwrap_or_default();
    let check = PaymentCheck {
        handle,
        order_nsu: notification.resource_id.clone(),
        transaction_nsu: transaction.clone(),
        slug: field("invoice_slug")
            .or_else(|| payment.checkout_id.clone())
            .unwrap_or_default(),
    };
    let checked = match state.clients.infinite_pay.payment_check(&check).await {
        Ok(checked) => checked,
        Err(InfinitePayError::Unavailable(detail)) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "checking an InfinitePay payment: {detail}"
            )));
        }
        Err(err) => {
            tracing::warn!(tenant = %tenant.id, error = %err, "payment_check did not confirm an InfinitePay webhook");
            return Ok(Outcome::new(here, format!("{err}: nothing changed")));
        }
    };
    if !checked.paid {
        return Ok(Outcome::new(
            here,
            "payment_check says not paid: nothing changed",
        ));
    }
    let read = ProviderRead {
        external_id: transaction,
        status: PaymentStatus::Approved,
        status_detail: None,
        method: checked
            .capture_method
            .as_deref()
            .map(PaymentMethod::from_infinite_pay),
        // What the buyer paid includes installment interest passed on to them.
        paid_amount: checked
            .paid_amount
            .or(checked.amount)
            .unwrap_or(MoneyCents(0)),
        // InfinitePay tells no fee, so no net either (the gross is not the net).
        fee: None,
        net: None,
        refunded: MoneyCents(0),
        approved_at: Some(state.clock.now()),
        updated_at: None,
    };
    apply(
        state,
        Account::Tenant(tenant.id),
        PaymentProvider::InfinitePay,
        Some(payment.id),
        read,
    )
    .await
}

/// Whether `paid` settles `owed`: Mercado Pago charges exactly the item's price, InfinitePay may
/// add installment interest the buyer pays.
fn covers(provider: PaymentProvider, paid: MoneyCents, owed: MoneyCents) -> bool {
    match provider {
        PaymentProvider::MercadoPago => paid == owed,
        PaymentProvider::InfinitePay => paid.0 >= owed.0,
    }
}

/// What a change does once committed.
#[derive(Default)]
struct AfterCommit {
    payment_events: Vec<PaymentEventKind>,
    appointment_events: Vec<(Appointment, AppointmentEventKind)>,
    messages: Vec<(Conversation, Vec<MessageId>)>,
    wake: bool,
}

/// Writes `read` to the payment it is about (found by the provider's id, else by our
/// `reference`, whose row is claimed, or copied for a second attempt on its checkout), and runs
/// the effects of its transition.
async fn apply(
    state: &AppState,
    account: Account,
    provider: PaymentProvider,
    reference: Option<PaymentId>,
    read: ProviderRead,
) -> AppResult<Outcome> {
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let first = match reference {
        Some(id) => repo::lock(&txn, id)
            .await?
            .filter(|payment| account.owns(payment) && payment.provider == provider),
        None => None,
    };
    let known = repo::reconcile::lock_by_external(&txn, provider, &read.external_id)
        .await?
        .filter(|payment| account.owns(payment));
    // The provider's id names the payment; else our reference does, whose row is claimed or,
    // when it already carries another of the provider's ids, copied for this second attempt.
    let Some(found) = known.or(first) else {
        return Ok(Outcome::new(
            account.tenant(),
            "no payment of this account: ignored",
        ));
    };
    // The zone the rollup's days are keyed in, read under its lock.
    repo::days::hold_zone(&txn, found.tenant).await?;
    let tenant = tenants::service::find(&txn, found.tenant).await?;
    let zone = tenant.time_zone;
    let current = match &found.external_id {
        Some(id) if *id != read.external_id => {
            repo::reconcile::insert_attempt(&txn, &found, &read.external_id, zone, now).await?
        }
        _ => found,
    };
    let outcome_tenant = Some(current.tenant);
    if let (Some(stored), Some(read_at)) = (current.provider_updated_at, read.updated_at)
        && read_at < stored
    {
        return Ok(Outcome::new(
            outcome_tenant,
            "older than the stored read: ignored",
        ));
    }
    let (old, new) = (current.status, read.status);
    let approved_at = current
        .approved_at
        .or(read.approved_at)
        .or_else(|| new.is_paid().then_some(now));
    let mut row = ReconciledRow {
        needs_refund: current.needs_refund,
        review_reason: current.review_reason.clone(),
        approved_at,
        reported_at: approved_at.unwrap_or(current.created_at),
        read,
    };
    let mut after = AfterCommit::default();
    let booking = match (current.purpose, current.appointment) {
        (PaymentPurpose::Appointment, Some(id)) => Some(id),
        _ => None,
    };
    if new.is_paid() && !old.is_paid() && !old.is_returned() {
        after.payment_events.push(PaymentEventKind::Approved);
        if let Some(id) = booking {
            approved(&txn, &tenant, &current, id, &mut row, &mut after, now).await?;
        }
    }
    if new == PaymentStatus::Rejected && old != PaymentStatus::Rejected {
        after.payment_events.push(PaymentEventKind::Rejected);
        if let Some(id) = booking {
            jobs::enqueue(
                &txn,
                &OfferNewPaymentLink {
                    tenant_id: tenant.id,
                    appointment_id: id,
                },
            )
            .await?;
            after.wake = true;
        }
    }
    if new.is_returned() && !old.is_returned() {
        after
            .payment_events
            .push(if new == PaymentStatus::ChargedBack {
                PaymentEventKind::ChargedBack
            } else {
                PaymentEventKind::Refunded
            });
        tracing::warn!(tenant = %tenant.id, payment = %current.id, status = new.as_str(), "a payment went back to the customer");
        if let Some(id) = booking
            && tenant.cancel_on_refund
        {
            let appointment = appointments::service::lock(&txn, tenant.id, id).await?;
            if appointment.status.is_active() && appointment.starts_at > now {
                let reason = if new == PaymentStatus::ChargedBack {
                    "Pagamento contestado no cartão"
                } else {
                    "Pagamento estornado"
                };
                if let Some(canceled) =
                    appointments::service::cancel_in(&txn, tenant.id, id, reason).await?
                {
                    after
                        .appointment_events
                        .push((canceled, AppointmentEventKind::Canceled));
                    after.wake = true;
                }
            }
        }
    } else if new == PaymentStatus::PartiallyRefunded && row.read.refunded.0 > current.refunded.0 {
        after.payment_events.push(PaymentEventKind::Refunded);
    }
    let payment = repo::reconcile::apply_read(&txn, &current, &row, zone, now)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    txn.commit().await?;

    for (conversation, messages) in &after.messages {
        whatsapp::service::queued(state, conversation, messages).await;
    }
    if after.wake {
        state.jobs.wake();
    }
    for kind in &after.payment_events {
        service::publish(state, &payment, *kind).await;
    }
    for (appointment, kind) in &after.appointment_events {
        appointments::service::publish(state, appointment, *kind).await;
    }
    let mut text = format!("{} -> {}", old.as_str(), new.as_str());
    if payment.needs_refund {
        text.push_str("; needs refund");
    }
    if let Some(reason) = &payment.review_reason {
        text.push_str(&format!("; review: {reason}"));
    }
    Ok(Outcome::new(outcome_tenant, text))
}

/// The effects of a payment that became paid for appointment `id`: confirmed (when the amount
/// settles it) with its receipt, or flagged for the tenant.
async fn approved(
    txn: &impl sea_orm::ConnectionTrait,
    tenant: &Tenant,
    payment: &Payment,
    id: AppointmentId,
    row: &mut ReconciledRow,
    after: &mut AfterCommit,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let paid = row.read.paid_amount;
    let appointment = appointments::service::lock(txn, tenant.id, id).await?;
    if matches!(
        appointment.status,
        AppointmentStatus::Canceled | AppointmentStatus::NoShow
    ) {
        // The slot may be someone else's by now: the tenant decides, the money goes back.
        row.needs_refund = true;
        row.review_reason = Some(format!(
            "Pagamento de {} aprovado depois que o agendamento foi cancelado ou expirou: devolva o valor ao cliente",
            pt_br::money(paid)
        ));
        tracing::warn!(tenant = %tenant.id, payment = %payment.id, appointment = %id, "a payment was approved for a booking that is no longer active; it needs a refund");
        return Ok(());
    }
    let settles = covers(payment.provider, paid, payment.amount);
    if !settles {
        row.review_reason = Some(format!(
            "O valor pago ({}) difere do valor do agendamento ({}): confira antes de confirmar",
            pt_br::money(paid),
            pt_br::money(payment.amount)
        ));
        tracing::warn!(tenant = %tenant.id, payment = %payment.id, "a payment's amount differs from its booking's");
    }
    let (before, after_paid) =
        appointments::service::payment_received(txn, tenant.id, id, settles).await?;
    if before.status != after_paid.status {
        after
            .appointment_events
            .push((after_paid.clone(), AppointmentEventKind::Confirmed));
    }
    if settles {
        let text = receipt(txn, tenant, &after_paid, paid).await?;
        let notice = whatsapp::service::Notice {
            text,
            template: None,
        };
        after.messages.push(
            whatsapp::service::notify(txn, tenant.id, after_paid.customer_id, notice, now).await?,
        );
    }
    Ok(())
}

/// The receipt (the previous system's text).
async fn receipt(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: &Tenant,
    appointment: &Appointment,
    paid: MoneyCents,
) -> AppResult<String> {
    let (customer, service) = booking_names(conn, tenant, appointment).await?;
    Ok(format!(
        "✅ *Pagamento confirmado!*\n\nOlá, {customer}! Recebemos seu pagamento de *{}*.\n\nServiço: *{service}*\nData: {}\nStatus: *Confirmado*\n\nObrigado pela preferência!",
        pt_br::money(paid),
        pt_br::long_date_time(&appointment.starts_at.with_timezone(&tenant.time_zone.0)),
    ))
}

/// The customer's and the service's names of `appointment`.
async fn booking_names(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: &Tenant,
    appointment: &Appointment,
) -> AppResult<(String, String)> {
    let customer = customers::service::find(conn, tenant.id, appointment.customer_id).await?;
    let service = services::service::find(conn, tenant.id, appointment.service_id).await?;
    Ok((customer.name, service.name))
}

/// The `OfferNewPaymentLink` job: a payment of appointment `id` was rejected; the customer is
/// told, with a new link. Sent once: the new link's `link_sent_at` is the claim, so a job run
/// again finds it taken. Nothing is sent when the booking no longer needs paying.
pub async fn offer_new_link(
    state: &AppState,
    tenant_id: TenantId,
    id: AppointmentId,
) -> AppResult<()> {
    let link = match service::link_for_appointment(state, tenant_id, id).await {
        Ok(link) => link,
        Err(AppError::BadUserInput { message, .. }) => {
            tracing::info!(appointment = %id, reason = %message, "no new payment link offered");
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    let tenant = tenants::service::find(&state.db, tenant_id).await?;
    let appointment = appointments::service::find_in(state, tenant_id, id).await?;
    let (name, service_name) = booking_names(&state.db, &tenant, &appointment).await?;
    let text = format!(
        "❌ *Pagamento não aprovado*\n\nOlá, {name}. O pagamento de *{}* para *{service_name}* em {} não foi aprovado.\n\nStatus: *Pendente*\n\nVocê pode tentar de novo por este link: {}\n\nSe precisar, responda esta mensagem.",
        pt_br::money(link.payment.amount),
        pt_br::long_date_time(&appointment.starts_at.with_timezone(&tenant.time_zone.0)),
        link.url,
    );
    service::send_on_whatsapp(state, tenant_id, &link, text, service::Resend::Never).await
}
