//! Queries for `tenants`. The tenant row is the scope itself, so every function takes the
//! `TenantId` it acts on. Rows go in and out as domain types.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::tenants;
use sea_orm::{
    ActiveValue::{Set, Unchanged},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Condition, Expr},
};
use uuid::Uuid;

use super::model::{
    BotMode, DEFAULT_HUMAN_TAKEOVER_HOURS, MercadoPagoConnection, MercadoPagoStatus, NewTenantRow,
    SaasStatus, Tenant, TenantUpdate, WhatsAppStatus,
};
use crate::{
    db::set_some,
    kernel::{error::AppResult, ids::TenantId, values::EnumStr},
};

pub async fn find(conn: &impl ConnectionTrait, id: TenantId) -> AppResult<Option<Tenant>> {
    tenants::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(Tenant::try_from)
        .transpose()
}

/// The phone number id and encrypted token (if it has its own) of the tenant's WhatsApp
/// connection, while connected with a token Meta has not refused.
pub async fn find_whatsapp_credentials(
    conn: &impl ConnectionTrait,
    id: TenantId,
) -> Result<Option<(String, Option<String>)>, DbErr> {
    let row = tenants::Entity::find_by_id(id.0)
        .filter(
            Condition::any()
                .add(tenants::Column::WhatsappStatus.eq(WhatsAppStatus::Connected.as_str()))
                // Connected before the status was recorded.
                .add(tenants::Column::WhatsappStatus.is_null()),
        )
        .one(conn)
        .await?;
    Ok(row.and_then(|row| Some((row.phone_number_id?, row.whatsapp_token_enc))))
}

/// Marks a connected tenant's token as refused by Meta; whether it was connected until now.
pub async fn mark_whatsapp_token_invalid(
    conn: &impl ConnectionTrait,
    id: TenantId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    switch_status(
        conn,
        id,
        tenants::Column::WhatsappStatus,
        WhatsAppStatus::Connected.as_str(),
        WhatsAppStatus::TokenInvalid.as_str(),
        now,
    )
    .await
}

/// Sets a provider's status column of tenant `id` from `from` to `to`; whether it was `from`.
async fn switch_status(
    conn: &impl ConnectionTrait,
    id: TenantId,
    column: tenants::Column,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = tenants::Entity::update_many()
        .col_expr(column, Expr::value(to))
        .col_expr(tenants::Column::UpdatedAt, Expr::value(now))
        .filter(tenants::Column::Id.eq(id.0))
        .filter(column.eq(from))
        .exec(conn)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Records that the tenant reached its AI token quota in `month`; whether this is news (the
/// first time for that month).
pub async fn mark_ai_quota_reached(
    conn: &impl ConnectionTrait,
    id: TenantId,
    month: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = tenants::Entity::update_many()
        .col_expr(tenants::Column::AiQuotaReachedMonth, Expr::value(month))
        .col_expr(tenants::Column::UpdatedAt, Expr::value(now))
        .filter(tenants::Column::Id.eq(id.0))
        .filter(
            Condition::any()
                .add(tenants::Column::AiQuotaReachedMonth.is_null())
                .add(tenants::Column::AiQuotaReachedMonth.ne(month)),
        )
        .exec(conn)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// The tenant's Mercado Pago account while it is connected (tokens still encrypted).
pub async fn find_mercado_pago(
    conn: &impl ConnectionTrait,
    id: TenantId,
) -> Result<Option<MercadoPagoConnection>, DbErr> {
    let row = tenants::Entity::find_by_id(id.0)
        .filter(tenants::Column::MpStatus.eq(MercadoPagoStatus::Connected.as_str()))
        .one(conn)
        .await?;
    Ok(row.and_then(|row| {
        Some(MercadoPagoConnection {
            user_id: row.mp_user_id?,
            access_token_enc: row.mp_access_token_enc?,
            refresh_token_enc: row.mp_refresh_token_enc,
            public_key: row.mp_public_key,
            expires_at: row.mp_token_expires_at,
        })
    }))
}

/// The tenant that connected the Mercado Pago account `user_id`.
pub async fn find_by_mercado_pago_user(
    conn: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Option<TenantId>, DbErr> {
    Ok(tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .filter(tenants::Column::MpUserId.eq(user_id))
        .into_tuple::<Uuid>()
        .one(conn)
        .await?
        .map(TenantId))
}

/// Connected tenants whose Mercado Pago token expires before `before`.
pub async fn list_mercado_pago_expiring(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<Vec<TenantId>, DbErr> {
    Ok(tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .filter(tenants::Column::MpStatus.eq(MercadoPagoStatus::Connected.as_str()))
        .filter(tenants::Column::MpRefreshTokenEnc.is_not_null())
        .filter(tenants::Column::MpTokenExpiresAt.lt(before))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .map(TenantId)
        .collect())
}

/// Claims the renewal of a connected tenant's Mercado Pago tokens until `until`, unless another
/// instance holds it; whether this caller holds it now.
pub async fn claim_mercado_pago_refresh(
    conn: &impl ConnectionTrait,
    id: TenantId,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = tenants::Entity::update_many()
        .col_expr(tenants::Column::MpRefreshClaimedUntil, Expr::value(until))
        .filter(tenants::Column::Id.eq(id.0))
        .filter(tenants::Column::MpStatus.eq(MercadoPagoStatus::Connected.as_str()))
        .filter(
            Condition::any()
                .add(tenants::Column::MpRefreshClaimedUntil.is_null())
                .add(tenants::Column::MpRefreshClaimedUntil.lt(now)),
        )
        .exec(conn)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Stores renewed Mercado Pago tokens of a connected tenant; whether it still was connected.
pub async fn renew_mercado_pago(
    conn: &impl ConnectionTrait,
    id: TenantId,
    account: MercadoPagoConnection,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = tenants::Entity::update_many()
        .col_expr(
            tenants::Column::MpAccessTokenEnc,
            Expr::value(account.access_token_enc),
        )
        .col_expr(
            tenants::Column::MpRefreshTokenEnc,
            Expr::value(account.refresh_token_enc),
        )
        .col_expr(
            tenants::Column::MpPublicKey,
            Expr::value(account.public_key),
        )
        .col_expr(
            tenants::Column::MpTokenExpiresAt,
            Expr::value(account.expires_at),
        )
        .col_expr(
            tenants::Column::MpRefreshClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(tenants::Column::UpdatedAt, Expr::value(now))
        .filter(tenants::Column::Id.eq(id.0))
        .filter(tenants::Column::MpUserId.eq(account.user_id))
        .filter(tenants::Column::MpStatus.eq(MercadoPagoStatus::Connected.as_str()))
        .exec(conn)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Marks a connected tenant's Mercado Pago account as refused; whether it was connected until now.
pub async fn mark_mercado_pago_disconnected(
    conn: &impl ConnectionTrait,
    id: TenantId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    switch_status(
        conn,
        id,
        tenants::Column::MpStatus,
        MercadoPagoStatus::Connected.as_str(),
        MercadoPagoStatus::Disconnected.as_str(),
        now,
    )
    .await
}

/// The tenant whose connected WhatsApp number has `phone_number_id`.
pub async fn find_by_phone_number_id(
    conn: &impl ConnectionTrait,
    phone_number_id: &str,
) -> AppResult<Option<Tenant>> {
    tenants::Entity::find()
        .filter(tenants::Column::PhoneNumberId.eq(phone_number_id))
        .one(conn)
        .await?
        .map(Tenant::try_from)
        .transpose()
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[TenantId],
) -> AppResult<HashMap<TenantId, Tenant>> {
    tenants::Entity::find()
        .filter(tenants::Column::Id.is_in(ids.iter().map(|t| t.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| Ok((TenantId(m.id), Tenant::try_from(m)?)))
        .collect()
}

/// One page of tenants ordered by id (creation order, ids are UUID v7), after `after`.
pub async fn list_page(
    conn: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<Tenant>> {
    let mut query = tenants::Entity::find()
        .order_by_asc(tenants::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(tenants::Column::Id.gt(after));
    }
    query
        .all(conn)
        .await?
        .into_iter()
        .map(Tenant::try_from)
        .collect()
}

/// Tenants whose unpaid bookings expire, with their window in minutes.
pub async fn list_unpaid_hold_windows(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(Uuid, i32)>, DbErr> {
    tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .column(tenants::Column::UnpaidHoldMinutes)
        .filter(tenants::Column::UnpaidHoldMinutes.is_not_null())
        .into_tuple::<(Uuid, Option<i32>)>()
        .all(conn)
        .await
        .map(|rows| {
            rows.into_iter()
                .filter_map(|(id, minutes)| Some((id, minutes?)))
                .collect()
        })
}

pub async fn count(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    tenants::Entity::find().count(conn).await
}

pub async fn exists_with_phone(
    conn: &impl ConnectionTrait,
    phone: &str,
    except: Option<TenantId>,
) -> Result<bool, DbErr> {
    let mut query = tenants::Entity::find().filter(tenants::Column::Phone.eq(phone));
    if let Some(except) = except {
        query = query.filter(tenants::Column::Id.ne(except.0));
    }
    Ok(query.count(conn).await? > 0)
}

pub async fn exists_with_email(conn: &impl ConnectionTrait, email: &str) -> Result<bool, DbErr> {
    Ok(tenants::Entity::find()
        .filter(tenants::Column::Email.eq(email))
        .count(conn)
        .await?
        > 0)
}

/// Inserts a PENDING tenant with the default scheduling settings.
pub async fn insert(
    conn: &impl ConnectionTrait,
    tenant: NewTenantRow,
    now: DateTime<Utc>,
) -> AppResult<Tenant> {
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(tenant.name),
        phone: Set(tenant.phone),
        email: Set(tenant.email),
        time_zone: Set(tenant.time_zone.name().to_owned()),
        saas_plan_id: Set(tenant.saas_plan_id.0),
        saas_status: Set(SaasStatus::Pending.as_str().to_owned()),
        saas_next_billing: Set(None),
        ai_enabled: Set(true),
        ai_custom_prompt: Set(None),
        ai_require_email: Set(false),
        ai_quota_reached_month: Set(None),
        preferred_payment_provider: Set(None),
        infinite_pay_tag: Set(None),
        waba_id: Set(None),
        phone_number_id: Set(None),
        whatsapp_token_enc: Set(None),
        whatsapp_display_phone_number: Set(None),
        whatsapp_verified_name: Set(None),
        whatsapp_quality_rating: Set(None),
        whatsapp_status: Set(None),
        mp_access_token_enc: Set(None),
        mp_refresh_token_enc: Set(None),
        mp_public_key: Set(None),
        mp_user_id: Set(None),
        mp_token_expires_at: Set(None),
        mp_refresh_claimed_until: Set(None),
        mp_status: Set(None),
        cancel_on_refund: Set(true),
        slot_step_minutes: Set(30),
        min_notice_minutes: Set(60),
        booking_horizon_days: Set(60),
        unpaid_hold_minutes: Set(Some(60)),
        bot_mode: Set(BotMode::default().as_str().to_owned()),
        human_takeover_hours: Set(DEFAULT_HUMAN_TAKEOVER_HOURS),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?
    .try_into()
}

/// Writes `changes` to tenant `id` and returns the row as stored.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: TenantId,
    changes: TenantUpdate,
) -> AppResult<Tenant> {
    let mut row = tenants::ActiveModel {
        id: Unchanged(id.0),
        updated_at: Set(changes.updated_at),
        ..Default::default()
    };
    set_some(&mut row.name, changes.name);
    set_some(&mut row.phone, changes.phone);
    set_some(
        &mut row.time_zone,
        changes.time_zone.map(|zone| zone.name().to_owned()),
    );
    set_some(&mut row.ai_enabled, changes.ai_enabled);
    set_some(&mut row.ai_custom_prompt, changes.ai_custom_prompt);
    set_some(&mut row.ai_require_email, changes.ai_require_email);
    set_some(
        &mut row.preferred_payment_provider,
        changes
            .preferred_payment_provider
            .map(|provider| provider.map(|p| p.as_str().to_owned())),
    );
    set_some(&mut row.infinite_pay_tag, changes.infinite_pay_tag);
    set_some(&mut row.slot_step_minutes, changes.slot_step_minutes);
    set_some(&mut row.min_notice_minutes, changes.min_notice_minutes);
    set_some(&mut row.booking_horizon_days, changes.booking_horizon_days);
    set_some(&mut row.unpaid_hold_minutes, changes.unpaid_hold_minutes);
    set_some(
        &mut row.bot_mode,
        changes.bot_mode.map(|mode| mode.as_str().to_owned()),
    );
    set_some(&mut row.human_takeover_hours, changes.human_takeover_hours);
    set_some(&mut row.cancel_on_refund, changes.cancel_on_refund);
    if let Some(account) = changes.mercado_pago {
        let a = account.as_ref();
        row.mp_user_id = Set(a.map(|a| a.user_id.clone()));
        row.mp_access_token_enc = Set(a.map(|a| a.access_token_enc.clone()));
        row.mp_refresh_token_enc = Set(a.and_then(|a| a.refresh_token_enc.clone()));
        row.mp_public_key = Set(a.and_then(|a| a.public_key.clone()));
        row.mp_token_expires_at = Set(a.and_then(|a| a.expires_at));
        row.mp_status = Set(a.map(|_| MercadoPagoStatus::Connected.as_str().to_owned()));
    }
    if let Some(whatsapp) = changes.whatsapp {
        let c = whatsapp.as_ref();
        row.waba_id = Set(c.map(|c| c.waba_id.clone()));
        row.phone_number_id = Set(c.map(|c| c.phone_number_id.clone()));
        row.whatsapp_token_enc = Set(c.and_then(|c| c.token_enc.clone()));
        row.whatsapp_display_phone_number = Set(c.and_then(|c| c.display_phone_number.clone()));
        row.whatsapp_verified_name = Set(c.and_then(|c| c.verified_name.clone()));
        row.whatsapp_quality_rating = Set(c.and_then(|c| c.quality_rating.clone()));
        row.whatsapp_status = Set(c.map(|_| WhatsAppStatus::Connected.as_str().to_owned()));
    }
    tenants::Entity::update(row).exec(conn).await?.try_into()
}
