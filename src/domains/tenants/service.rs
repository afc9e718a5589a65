//! Tenant rules: onboarding, settings, provider credentials.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use uuid::Uuid;

use super::{
    model::{
        PaymentProvider, SaasStatus, Tenant, TenantChanged, parse_infinite_pay_tag, parse_name,
    },
    repo,
};
use crate::{
    db,
    domains::{auth, saas_plans},
    kernel::{
        error::{AppError, AppResult, DbResultExt},
        events::Event,
        ids::{SaasPlanId, TenantId},
        values::{E164Phone, EnumStr, TimeZone, parse_in_range, parse_optional_text},
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
    let user = auth::service::me(state, viewer).await?;
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
    let now = Utc::now();
    let model = repo::insert(
        &txn,
        entity::tenants::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name),
            phone: Set(input.phone.as_str().to_owned()),
            email: Set(user.email.clone()),
            time_zone: Set(input
                .time_zone
                .unwrap_or(TimeZone::DEFAULT)
                .name()
                .to_owned()),
            saas_plan_id: Set(input.saas_plan_id.0),
            saas_status: Set(SaasStatus::Pending.as_str().to_owned()),
            saas_next_billing: Set(None),
            ai_enabled: Set(true),
            ai_custom_prompt: Set(None),
            preferred_payment_provider: Set(None),
            infinite_pay_tag: Set(None),
            waba_id: Set(None),
            phone_number_id: Set(None),
            whatsapp_token_enc: Set(None),
            mp_access_token_enc: Set(None),
            mp_refresh_token_enc: Set(None),
            mp_public_key: Set(None),
            mp_user_id: Set(None),
            slot_step_minutes: Set(30),
            min_notice_minutes: Set(60),
            booking_horizon_days: Set(60),
            unpaid_hold_minutes: Set(Some(60)),
            created_at: Set(now),
            updated_at: Set(now),
        },
    )
    .await
    .on_unique_violation(conflict_message)?;
    if !auth::service::link_user_to_tenant(&txn, viewer.user_id, TenantId(model.id)).await? {
        return Err(AppError::Conflict(
            "Esta conta já possui um estabelecimento".into(),
        ));
    }
    txn.commit().await?;
    Tenant::try_from(model)
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
    Tenant::try_from(
        repo::find(conn, id)
            .await?
            .ok_or(AppError::NotFound("tenant"))?,
    )
}

/// Tenants by id (for loaders).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[TenantId],
) -> AppResult<HashMap<TenantId, Tenant>> {
    repo::find_many(conn, ids)
        .await?
        .into_iter()
        .map(|(id, m)| Ok((id, Tenant::try_from(m)?)))
        .collect()
}

/// Tenants whose unpaid bookings expire, with their window.
pub async fn unpaid_hold_windows(state: &AppState) -> AppResult<Vec<(TenantId, chrono::Duration)>> {
    Ok(repo::list_unpaid_hold_windows(&state.db)
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
    Ok((
        rows.into_iter()
            .map(Tenant::try_from)
            .collect::<AppResult<_>>()?,
        has_next,
        total,
    ))
}

/// Changes to the tenant's settings; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Default)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub phone: Option<E164Phone>,
    pub time_zone: Option<TimeZone>,
    pub ai_enabled: Option<bool>,
    pub ai_custom_prompt: Option<Option<String>>,
    pub preferred_payment_provider: Option<Option<PaymentProvider>>,
    pub infinite_pay_tag: Option<Option<String>>,
    pub slot_step_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub booking_horizon_days: Option<i32>,
    pub unpaid_hold_minutes: Option<Option<i32>>,
}

/// Updates the viewer's tenant and publishes `TenantUpdated` after the commit.
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    changes: TenantChanges,
) -> AppResult<Tenant> {
    let tenant_id = viewer.tenant()?;
    let txn = db::begin_write(&state.db).await?;
    let model = repo::find(&txn, tenant_id)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let mut active = model.into_active_model();
    if let Some(name) = changes.name {
        active.name = Set(parse_name(&name)?);
    }
    if let Some(phone) = changes.phone {
        if repo::exists_with_phone(&txn, phone.as_str(), Some(tenant_id)).await? {
            return Err(AppError::Conflict(PHONE_TAKEN.into()));
        }
        active.phone = Set(phone.as_str().to_owned());
    }
    if let Some(zone) = changes.time_zone {
        active.time_zone = Set(zone.name().to_owned());
    }
    if let Some(enabled) = changes.ai_enabled {
        active.ai_enabled = Set(enabled);
    }
    if let Some(prompt) = changes.ai_custom_prompt {
        active.ai_custom_prompt = Set(parse_optional_text("aiCustomPrompt", prompt, 4000)?);
    }
    if let Some(provider) = changes.preferred_payment_provider {
        active.preferred_payment_provider = Set(provider.map(|p| p.as_str().to_owned()));
    }
    if let Some(tag) = changes.infinite_pay_tag {
        active.infinite_pay_tag = Set(parse_infinite_pay_tag(tag)?);
    }
    if let Some(step) = changes.slot_step_minutes {
        active.slot_step_minutes = Set(parse_in_range("slotStepMinutes", step, 5..=240)?);
    }
    if let Some(notice) = changes.min_notice_minutes {
        active.min_notice_minutes = Set(parse_in_range("minNoticeMinutes", notice, 0..=10_080)?);
    }
    if let Some(horizon) = changes.booking_horizon_days {
        active.booking_horizon_days = Set(parse_in_range("bookingHorizonDays", horizon, 1..=365)?);
    }
    if let Some(hold) = changes.unpaid_hold_minutes {
        active.unpaid_hold_minutes = Set(hold
            .map(|h| parse_in_range("unpaidHoldMinutes", h, 5..=10_080))
            .transpose()?);
    }
    active.updated_at = Set(Utc::now());
    let model = repo::update(&txn, tenant_id, active)
        .await
        .on_unique_violation(conflict_message)?;
    txn.commit().await?;
    publish_updated(state, tenant_id).await;
    Tenant::try_from(model)
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
    pub access_token: String,
}

/// Stores the tenant's WhatsApp credentials, the token encrypted.
pub async fn connect_whatsapp(
    state: &AppState,
    viewer: &Viewer,
    credentials: WhatsAppCredentials,
) -> AppResult<Tenant> {
    let tenant_id = viewer.tenant()?;
    let field = |name: &'static str, value: &str| -> AppResult<String> {
        let value = value.trim();
        if value.is_empty() || value.len() > 512 || value.chars().any(char::is_whitespace) {
            return Err(AppError::bad_input(
                name,
                format!("{name} is required and must not contain spaces"),
            ));
        }
        Ok(value.to_owned())
    };
    let waba_id = field("wabaId", &credentials.waba_id)?;
    let phone_number_id = field("phoneNumberId", &credentials.phone_number_id)?;
    let token = field("accessToken", &credentials.access_token)?;
    let model = repo::find(&state.db, tenant_id)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let mut active = model.into_active_model();
    active.waba_id = Set(Some(waba_id));
    active.phone_number_id = Set(Some(phone_number_id));
    active.whatsapp_token_enc = Set(Some(state.cipher.encrypt(&token)?));
    active.updated_at = Set(Utc::now());
    let model = repo::update(&state.db, tenant_id, active)
        .await
        .on_unique_violation(|_| {
            "Este número do WhatsApp já está conectado a outro estabelecimento".into()
        })?;
    publish_updated(state, tenant_id).await;
    Tenant::try_from(model)
}

/// Forgets the tenant's WhatsApp credentials.
pub async fn disconnect_whatsapp(state: &AppState, viewer: &Viewer) -> AppResult<Tenant> {
    let tenant_id = viewer.tenant()?;
    let model = repo::find(&state.db, tenant_id)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let mut active = model.into_active_model();
    active.waba_id = Set(None);
    active.phone_number_id = Set(None);
    active.whatsapp_token_enc = Set(None);
    active.updated_at = Set(Utc::now());
    let model = repo::update(&state.db, tenant_id, active).await?;
    publish_updated(state, tenant_id).await;
    Tenant::try_from(model)
}
