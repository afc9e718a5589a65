//! Tenant rules: onboarding, settings, provider credentials.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{
    model::{
        BotMode, MercadoPagoAccount, MercadoPagoConnection, NewTenantRow, PaymentProvider, Tenant,
        TenantChanged, TenantUpdate, WhatsAppConnection, WhatsAppSender, parse_infinite_pay_tag,
        parse_name,
    },
    repo,
};
use crate::{
    clients::meta_graph::GraphError,
    db,
    domains::{auth, payments, saas_plans},
    kernel::{
        error::{AppError, AppResult, DbResultExt},
        events::Event,
        ids::{SaasPlanId, TenantId},
        values::{E164Phone, TimeZone, parse_in_range, parse_optional_text},
        viewer::Viewer,
    },
    state::AppState,
};

const EMAIL_TAKEN: &str = "Este email já está em uso";
const PHONE_TAKEN: &str = "Este telefone já está em uso";

/// Input of onboarding, already parsed.
pub struct Onboarding {
    pub name: String,
    pub phone: E164Phone,
    pub saas_plan_id: SaasPlanId,
    pub time_zone: Option<TimeZone>,
}

/// Creates the caller's tenant and links the caller to it, in one transaction.
///
/// The tenant starts `PENDING`: it becomes `ACTIVE` when the first SaaS payment is confirmed. The
/// payments domain adds the Mercado Pago subscription as the step after the commit (never an
/// external call inside the transaction); a failure there leaves a PENDING tenant that can retry.
pub async fn onboard(state: &AppState, viewer: &Viewer, input: Onboarding) -> AppResult<Tenant> {
    let user = auth::service::find(&state.db, viewer.user_id).await?;
    if !user.email_verified {
        return Err(AppError::bad_request(
            "Email não verificado. Por favor, verifique seu email antes de continuar.",
        ));
    }
    if user.tenant_id.is_some() {
        return Err(AppError::Conflict(
            "Esta conta já possui um estabelecimento".into(),
        ));
    }
    let name = parse_name(&input.name)?;
    saas_plans::service::find_available(&state.db, input.saas_plan_id).await?;

    let txn = db::begin_write(&state.db).await?;
    if repo::exists_with_email(&txn, &user.email).await? {
        return Err(AppError::Conflict(EMAIL_TAKEN.into()));
    }
    if repo::exists_with_phone(&txn, input.phone.as_str(), None).await? {
        return Err(AppError::Conflict(PHONE_TAKEN.into()));
    }
    let row = NewTenantRow {
        name,
        phone: input.phone.as_str().to_owned(),
        email: user.email.clone(),
        time_zone: input.time_zone.unwrap_or(TimeZone::DEFAULT),
        saas_plan_id: input.saas_plan_id,
    };
    let tenant = repo::insert(&txn, row, Utc::now())
        .await
        .on_unique_violation(conflict_message)?;
    if !auth::service::link_user_to_tenant(&txn, viewer.user_id, tenant.id).await? {
        return Err(AppError::Conflict(
            "Esta conta já possui um estabelecimento".into(),
        ));
    }
    txn.commit().await?;
    Ok(tenant)
}

/// Which unique column a violation hit, from the database's message.
fn conflict_message(detail: &str) -> String {
    if detail.contains("phone") {
        PHONE_TAKEN.into()
    } else {
        EMAIL_TAKEN.into()
    }
}

/// The viewer's own tenant.
pub async fn current(state: &AppState, viewer: &Viewer) -> AppResult<Tenant> {
    find(&state.db, viewer.tenant()?).await
}

/// A tenant by id; only for ids the caller may see (its own, or any for ADMIN).
pub async fn find(conn: &impl ConnectionTrait, id: TenantId) -> AppResult<Tenant> {
    repo::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("tenant"))
}

/// The tenant's WhatsApp number and token (its own, else the platform's `WABA_TOKEN`), while it
/// is connected and Meta has not refused its token.
pub async fn whatsapp_sender(
    state: &AppState,
    tenant: TenantId,
) -> AppResult<Option<WhatsAppSender>> {
    let Some((phone_number_id, token_enc)) =
        repo::find_whatsapp_credentials(&state.db, tenant).await?
    else {
        return Ok(None);
    };
    let token = match token_enc {
        Some(token_enc) => state.cipher.decrypt(&token_enc)?,
        None => match &state.settings.whatsapp.platform_token {
            Some(token) => token.clone(),
            None => return Ok(None),
        },
    };
    Ok(Some(WhatsAppSender {
        phone_number_id,
        token,
    }))
}

/// Meta refused the tenant's token (code 190): its status becomes TOKEN_INVALID and a tenant
/// event tells the dashboard to ask the owner to reconnect. Sends stop until it does.
pub async fn whatsapp_token_refused(state: &AppState, tenant: TenantId) -> AppResult<()> {
    if repo::mark_whatsapp_token_invalid(&state.db, tenant, Utc::now()).await? {
        tracing::warn!(%tenant, "Meta refused the tenant's WhatsApp token; it must reconnect");
        publish_updated(state, tenant).await;
    }
    Ok(())
}

/// Tokens Mercado Pago's OAuth gave for a tenant's account.
pub struct MercadoPagoTokens {
    pub user_id: String,
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub public_key: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl MercadoPagoTokens {
    fn encrypt(&self, state: &AppState) -> AppResult<MercadoPagoConnection> {
        Ok(MercadoPagoConnection {
            user_id: self.user_id.clone(),
            access_token_enc: state.cipher.encrypt(self.access_token.expose_secret())?,
            refresh_token_enc: self
                .refresh_token
                .as_ref()
                .map(|token| state.cipher.encrypt(token.expose_secret()))
                .transpose()?,
            public_key: self.public_key.clone(),
            expires_at: self.expires_at,
        })
    }
}

/// Stores the Mercado Pago account `tokens` authorized for `tenant` (encrypted), CONNECTED.
/// An account already connected to another tenant is a CONFLICT: its notifications would have
/// two owners.
pub async fn connect_mercado_pago(
    state: &AppState,
    tenant: TenantId,
    tokens: &MercadoPagoTokens,
) -> AppResult<Tenant> {
    let update = TenantUpdate {
        mercado_pago: Some(Some(tokens.encrypt(state)?)),
        updated_at: Utc::now(),
        ..Default::default()
    };
    let txn = db::begin_write(&state.db).await?;
    if repo::find_by_mercado_pago_user(&txn, &tokens.user_id)
        .await?
        .is_some_and(|owner| owner != tenant)
    {
        return Err(AppError::Conflict(
            "Esta conta do Mercado Pago já está conectada a outro estabelecimento".into(),
        ));
    }
    let tenant_row = repo::update(&txn, tenant, update).await?;
    txn.commit().await?;
    publish_updated(state, tenant).await;
    Ok(tenant_row)
}

/// The tenant's Mercado Pago account, decrypted, while it is connected.
pub async fn mercado_pago_account(
    state: &AppState,
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> AppResult<Option<MercadoPagoAccount>> {
    let Some(stored) = repo::find_mercado_pago(conn, tenant).await? else {
        return Ok(None);
    };
    Ok(Some(MercadoPagoAccount {
        tenant,
        user_id: stored.user_id,
        access_token: state.cipher.decrypt(&stored.access_token_enc)?,
        refresh_token: stored
            .refresh_token_enc
            .map(|token| state.cipher.decrypt(&token))
            .transpose()?,
        expires_at: stored.expires_at,
    }))
}

/// The tenant that connected Mercado Pago account `user_id`, if any.
pub async fn find_by_mercado_pago_user(
    conn: &impl ConnectionTrait,
    user_id: &str,
) -> AppResult<Option<TenantId>> {
    Ok(repo::find_by_mercado_pago_user(conn, user_id).await?)
}

/// Connected tenants whose Mercado Pago token expires before `before` (to renew).
pub async fn mercado_pago_expiring(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> AppResult<Vec<TenantId>> {
    Ok(repo::list_mercado_pago_expiring(conn, before).await?)
}

/// Claims the renewal of the tenant's tokens for `lease` (they rotate, so two instances must never
/// renew at once); false when another instance holds it.
pub async fn claim_mercado_pago_refresh(
    state: &AppState,
    tenant: TenantId,
    lease: chrono::Duration,
) -> AppResult<bool> {
    let now = state.clock.now();
    Ok(repo::claim_mercado_pago_refresh(&state.db, tenant, now, now + lease).await?)
}

/// Stores renewed tokens (the refresh token rotates); false when the account was disconnected
/// or replaced meanwhile, and nothing was written.
pub async fn mercado_pago_renewed(
    state: &AppState,
    tenant: TenantId,
    tokens: &MercadoPagoTokens,
) -> AppResult<bool> {
    Ok(repo::renew_mercado_pago(&state.db, tenant, tokens.encrypt(state)?, Utc::now()).await?)
}

/// Mercado Pago refused to renew the tenant's tokens: the account is DISCONNECTED and a tenant
/// event tells the dashboard to ask the owner to connect again.
pub async fn mercado_pago_refused(state: &AppState, tenant: TenantId) -> AppResult<()> {
    if repo::mark_mercado_pago_disconnected(&state.db, tenant, Utc::now()).await? {
        tracing::warn!(%tenant, "Mercado Pago refused to renew the tenant's tokens; it must reconnect");
        publish_updated(state, tenant).await;
    }
    Ok(())
}

/// Forgets the tenant's Mercado Pago account; a preferred provider that was Mercado Pago is
/// cleared with it, so no link is attempted on an account that is gone.
pub async fn disconnect_mercado_pago(state: &AppState, viewer: &Viewer) -> AppResult<Tenant> {
    let tenant_id = viewer.tenant()?;
    let txn = db::begin_write(&state.db).await?;
    let current = find(&txn, tenant_id).await?;
    let update = TenantUpdate {
        mercado_pago: Some(None),
        preferred_payment_provider: (current.preferred_payment_provider
            == Some(PaymentProvider::MercadoPago))
        .then_some(None),
        updated_at: Utc::now(),
        ..Default::default()
    };
    let tenant = repo::update(&txn, tenant_id, update).await?;
    txn.commit().await?;
    publish_updated(state, tenant_id).await;
    Ok(tenant)
}

/// The tenant used up its plan's AI tokens for `month` (`YYYY-MM`): recorded once, and a tenant
/// event tells the dashboard that the menu answers until the month ends.
pub async fn ai_quota_reached(state: &AppState, tenant: TenantId, month: &str) -> AppResult<()> {
    if repo::mark_ai_quota_reached(&state.db, tenant, month, Utc::now()).await? {
        tracing::warn!(%tenant, month, "the tenant reached its monthly AI token quota");
        publish_updated(state, tenant).await;
    }
    Ok(())
}

/// The tenant WhatsApp messages to `phone_number_id` belong to, if one connected it.
pub async fn find_by_phone_number_id(
    conn: &impl ConnectionTrait,
    phone_number_id: &str,
) -> AppResult<Option<Tenant>> {
    repo::find_by_phone_number_id(conn, phone_number_id).await
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[TenantId],
) -> AppResult<HashMap<TenantId, Tenant>> {
    repo::find_many(conn, ids).await
}

/// Tenants whose unpaid bookings expire, with their window.
pub async fn unpaid_hold_windows(
    conn: &impl ConnectionTrait,
) -> AppResult<Vec<(TenantId, chrono::Duration)>> {
    Ok(repo::list_unpaid_hold_windows(conn)
        .await?
        .into_iter()
        .map(|(id, minutes)| (TenantId(id), chrono::Duration::minutes(i64::from(minutes))))
        .collect())
}

/// ADMIN: any tenant by id.
pub async fn find_for_admin(state: &AppState, viewer: &Viewer, id: TenantId) -> AppResult<Tenant> {
    viewer.require_admin()?;
    find(&state.db, id).await
}

/// ADMIN: a page of tenants and the total count.
pub async fn list_for_admin(
    state: &AppState,
    viewer: &Viewer,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<(Vec<Tenant>, bool, u64)> {
    viewer.require_admin()?;
    let mut rows = repo::list_page(&state.db, after, limit + 1).await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let total = repo::count(&state.db).await?;
    Ok((rows, has_next, total))
}

/// Changes to the tenant's settings; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Default)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub phone: Option<E164Phone>,
    pub time_zone: Option<TimeZone>,
    pub ai_enabled: Option<bool>,
    pub ai_custom_prompt: Option<Option<String>>,
    pub ai_require_email: Option<bool>,
    pub preferred_payment_provider: Option<Option<PaymentProvider>>,
    pub infinite_pay_tag: Option<Option<String>>,
    pub slot_step_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub booking_horizon_days: Option<i32>,
    pub unpaid_hold_minutes: Option<Option<i32>>,
    pub bot_mode: Option<BotMode>,
    pub human_takeover_hours: Option<i32>,
    pub cancel_on_refund: Option<bool>,
}

/// Updates the viewer's tenant and publishes `TenantUpdated` after the commit.
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    changes: TenantChanges,
) -> AppResult<Tenant> {
    let tenant_id = viewer.tenant()?;
    let txn = db::begin_write(&state.db).await?;
    let current = find(&txn, tenant_id).await?;
    let name = changes.name.as_deref().map(parse_name).transpose()?;
    let infinite_pay_tag = changes
        .infinite_pay_tag
        .map(parse_infinite_pay_tag)
        .transpose()?;
    let provider = changes
        .preferred_payment_provider
        .unwrap_or(current.preferred_payment_provider);
    let tag = infinite_pay_tag
        .as_ref()
        .map_or(current.infinite_pay_tag.as_ref(), Option::as_ref);
    match provider {
        Some(PaymentProvider::MercadoPago) if !current.mercado_pago_connected => {
            return Err(AppError::bad_input(
                "preferredPaymentProvider",
                "Conecte sua conta do Mercado Pago antes de escolhê-lo para receber pagamentos",
            ));
        }
        Some(PaymentProvider::InfinitePay) if tag.is_none() => {
            return Err(AppError::bad_input(
                "preferredPaymentProvider",
                "Informe sua InfiniteTag (infinitePayTag) antes de escolher a InfinitePay",
            ));
        }
        _ => {}
    }
    let phone = changes.phone.map(|p| p.as_str().to_owned());
    if let Some(phone) = &phone
        && repo::exists_with_phone(&txn, phone, Some(tenant_id)).await?
    {
        return Err(AppError::Conflict(PHONE_TAKEN.into()));
    }
    let update = TenantUpdate {
        name,
        phone,
        time_zone: changes.time_zone,
        ai_enabled: changes.ai_enabled,
        ai_custom_prompt: changes
            .ai_custom_prompt
            .map(|prompt| parse_optional_text("aiCustomPrompt", prompt, 4000))
            .transpose()?,
        ai_require_email: changes.ai_require_email,
        preferred_payment_provider: changes.preferred_payment_provider,
        infinite_pay_tag,
        slot_step_minutes: changes
            .slot_step_minutes
            .map(|step| parse_in_range("slotStepMinutes", step, 5..=240))
            .transpose()?,
        min_notice_minutes: changes
            .min_notice_minutes
            .map(|notice| parse_in_range("minNoticeMinutes", notice, 0..=10_080))
            .transpose()?,
        booking_horizon_days: changes
            .booking_horizon_days
            .map(|horizon| parse_in_range("bookingHorizonDays", horizon, 1..=365))
            .transpose()?,
        unpaid_hold_minutes: changes
            .unpaid_hold_minutes
            .map(|hold| {
                hold.map(|h| parse_in_range("unpaidHoldMinutes", h, 5..=10_080))
                    .transpose()
            })
            .transpose()?,
        bot_mode: changes.bot_mode,
        human_takeover_hours: changes
            .human_takeover_hours
            .map(|hours| parse_in_range("humanTakeoverHours", hours, 1..=168))
            .transpose()?,
        cancel_on_refund: changes.cancel_on_refund,
        updated_at: Utc::now(),
        ..Default::default()
    };
    let tenant = repo::update(&txn, tenant_id, update)
        .await
        .on_unique_violation(conflict_message)?;
    if tenant.time_zone != current.time_zone {
        // The finance rollup counts payments on the tenant's local dates.
        payments::finance::rebuild_days(&txn, tenant_id, tenant.time_zone).await?;
    }
    txn.commit().await?;
    publish_updated(state, tenant_id).await;
    Ok(tenant)
}

async fn publish_updated(state: &AppState, tenant_id: TenantId) {
    state
        .broker
        .publish(Event::new(tenant_id, &TenantChanged))
        .await;
}

/// WhatsApp Cloud API credentials of a tenant.
pub struct WhatsAppCredentials {
    pub waba_id: String,
    pub phone_number_id: String,
    pub access_token: Option<String>,
}

/// Checks the tenant's WhatsApp credentials with Meta, subscribes the app to the account's
/// webhooks, and stores them (the token encrypted) with the number Meta describes. Credentials
/// Meta refuses are BAD_USER_INPUT carrying Meta's message, and nothing is stored.
pub async fn connect_whatsapp(
    state: &AppState,
    viewer: &Viewer,
    credentials: WhatsAppCredentials,
) -> AppResult<Tenant> {
    let tenant_id = viewer.tenant()?;
    // Meta's ids are numbers; they become URL path segments.
    let id = |name: &'static str, value: &str| -> AppResult<String> {
        let value = value.trim();
        if value.is_empty() || value.len() > 64 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                name,
                format!("{name} is required and must be the digits Meta shows"),
            ));
        }
        Ok(value.to_owned())
    };
    let waba_id = id("wabaId", &credentials.waba_id)?;
    let phone_number_id = id("phoneNumberId", &credentials.phone_number_id)?;
    let own_token = credentials
        .access_token
        .as_deref()
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let token = match (own_token, &state.settings.whatsapp.platform_token) {
        (Some(token), _) if token.len() > 1024 || token.chars().any(char::is_whitespace) => {
            return Err(AppError::bad_input(
                "accessToken",
                "accessToken must not contain spaces",
            ));
        }
        (Some(token), _) => token,
        (None, Some(platform)) => platform.expose_secret(),
        (None, None) => {
            return Err(AppError::bad_input(
                "accessToken",
                "accessToken is required",
            ));
        }
    };
    find(&state.db, tenant_id).await?;
    let graph = &state.clients.meta_graph;
    let number = graph
        .phone_number(token, &phone_number_id)
        .await
        .map_err(|err| refused_by_meta("phoneNumberId", err))?;
    graph
        .subscribe_app(token, &waba_id)
        .await
        .map_err(|err| refused_by_meta("wabaId", err))?;
    let update = TenantUpdate {
        whatsapp: Some(Some(WhatsAppConnection {
            waba_id,
            phone_number_id,
            token_enc: own_token
                .map(|token| state.cipher.encrypt(token))
                .transpose()?,
            display_phone_number: number.display_phone_number,
            verified_name: number.verified_name,
            quality_rating: number.quality_rating,
        })),
        updated_at: Utc::now(),
        ..Default::default()
    };
    let tenant = repo::update(&state.db, tenant_id, update)
        .await
        .on_unique_violation(|_| {
            "Este número do WhatsApp já está conectado a outro estabelecimento".into()
        })?;
    publish_updated(state, tenant_id).await;
    Ok(tenant)
}

/// What the owner sees when Meta refuses the credentials (its message), or cannot be asked.
fn refused_by_meta(field: &'static str, err: GraphError) -> AppError {
    match err {
        GraphError::Refused { message, .. } => {
            AppError::bad_input(field, format!("A Meta recusou as credenciais: {message}"))
        }
        GraphError::Unavailable(err) | GraphError::Unanswered(err) => {
            AppError::Internal(err.context("checking WhatsApp credentials with the Graph API"))
        }
    }
}

/// Forgets the tenant's WhatsApp credentials.
pub async fn disconnect_whatsapp(state: &AppState, viewer: &Viewer) -> AppResult<Tenant> {
    let tenant_id = viewer.tenant()?;
    find(&state.db, tenant_id).await?;
    let update = TenantUpdate {
        whatsapp: Some(None),
        updated_at: Utc::now(),
        ..Default::default()
    };
    let tenant = repo::update(&state.db, tenant_id, update).await?;
    publish_updated(state, tenant_id).await;
    Ok(tenant)
}
