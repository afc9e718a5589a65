//! Queries for `payments` and `payment_oauth_states`. Every query of a payment filters by its
//! tenant, except the ones reconciliation runs by our own id or the provider's (a notification
//! names no tenant we could trust before the provider confirmed it). Rows go in and out as domain
//! types. Every write that changes what a payment counts for in the finance summary (its insert,
//! a provider's read) moves it in the rollup (`days::shift`) with the same connection, so the
//! rollup changes in the write's transaction.

pub mod days;
pub mod finance;
pub mod reconcile;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{payment_oauth_states, payments};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use uuid::Uuid;

use super::model::{NewPaymentRow, Payment, PaymentStatus};
use crate::kernel::{
    error::AppResult,
    ids::{AppointmentId, PaymentId, TenantId, UserId},
    values::{EnumStr, TimeZone},
};

/// Inserts a PENDING payment (before its link is asked for, so its id can be the provider's
/// reference and idempotency key), counted in the rollup on its day in the tenant's `zone`.
pub async fn insert(
    conn: &impl ConnectionTrait,
    row: NewPaymentRow,
    zone: TimeZone,
    now: DateTime<Utc>,
) -> AppResult<Payment> {
    insert_pending(conn, row, None, None, zone, now).await
}

/// Inserts a PENDING payment, with the provider's ids when it is already known to the provider,
/// and adds it to the rollup.
async fn insert_pending(
    conn: &impl ConnectionTrait,
    row: NewPaymentRow,
    external_id: Option<String>,
    checkout_id: Option<String>,
    zone: TimeZone,
    now: DateTime<Utc>,
) -> AppResult<Payment> {
    let payment: Payment =
        payments::Entity::insert(pending_row(row, external_id, checkout_id, now))
            .exec_with_returning(conn)
            .await?
            .try_into()?;
    days::shift(conn, zone, None, Some(&payment)).await?;
    Ok(payment)
}

fn pending_row(
    row: NewPaymentRow,
    external_id: Option<String>,
    checkout_id: Option<String>,
    now: DateTime<Utc>,
) -> payments::ActiveModel {
    payments::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(row.tenant.0),
        purpose: Set(row.purpose.as_str().to_owned()),
        appointment_id: Set(row.appointment.map(|id| id.0)),
        subscription_id: Set(row.subscription.map(|id| id.0)),
        customer_id: Set(row.customer.map(|id| id.0)),
        service_id: Set(row.service.map(|id| id.0)),
        provider: Set(row.provider.as_str().to_owned()),
        status: Set(PaymentStatus::Pending.as_str().to_owned()),
        status_detail: Set(None),
        method: Set(None),
        amount_cents: Set(row.amount.0),
        paid_amount_cents: Set(None),
        fee_cents: Set(None),
        net_cents: Set(None),
        refunded_cents: Set(0),
        currency: Set("BRL".to_owned()),
        external_id: Set(external_id),
        checkout_id: Set(checkout_id),
        checkout_url: Set(None),
        link_expires_at: Set(row.link_expires_at),
        link_sent_at: Set(None),
        provider_updated_at: Set(None),
        needs_refund: Set(false),
        review_reason: Set(None),
        approved_at: Set(None),
        reported_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Stores the link the provider made for payment `id`.
pub async fn set_checkout(
    conn: &impl ConnectionTrait,
    id: PaymentId,
    checkout_id: Option<String>,
    url: String,
    now: DateTime<Utc>,
) -> AppResult<Option<Payment>> {
    payments::Entity::update_many()
        .col_expr(payments::Column::CheckoutId, Expr::value(checkout_id))
        .col_expr(payments::Column::CheckoutUrl, Expr::value(url))
        .col_expr(payments::Column::UpdatedAt, Expr::value(now))
        .filter(payments::Column::Id.eq(id.0))
        .exec_with_returning(conn)
        .await?
        .into_iter()
        .next()
        .map(Payment::try_from)
        .transpose()
}

/// Records that the link of payment `id` was sent after its booking; false when it already was.
pub async fn mark_link_sent(
    conn: &impl ConnectionTrait,
    id: PaymentId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = payments::Entity::update_many()
        .col_expr(payments::Column::LinkSentAt, Expr::value(now))
        .filter(payments::Column::Id.eq(id.0))
        .filter(payments::Column::LinkSentAt.is_null())
        .exec(conn)
        .await?;
    Ok(updated.rows_affected > 0)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: PaymentId,
) -> AppResult<Option<Payment>> {
    payments::Entity::find_by_id(id.0)
        .filter(payments::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?
        .map(Payment::try_from)
        .transpose()
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[PaymentId],
) -> AppResult<HashMap<PaymentId, Payment>> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant.0))
        .filter(payments::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| Payment::try_from(row).map(|payment| (payment.id, payment)))
        .collect()
}

/// The payments of the tenant's appointments `ids`, newest first.
pub async fn list_for_appointments(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[AppointmentId],
) -> AppResult<Vec<Payment>> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant.0))
        .filter(payments::Column::AppointmentId.is_in(ids.iter().map(|id| id.0)))
        .order_by_desc(payments::Column::CreatedAt)
        .order_by_desc(payments::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(Payment::try_from)
        .collect()
}

/// Takes the row lock of payment `id` until the end of the transaction (Postgres; SQLite's write
/// transaction holds the whole database), so its changes and their effects run one at a time.
pub async fn lock(conn: &impl ConnectionTrait, id: PaymentId) -> AppResult<Option<Payment>> {
    use sea_orm::QuerySelect;
    payments::Entity::find_by_id(id.0)
        .lock_exclusive()
        .one(conn)
        .await?
        .map(Payment::try_from)
        .transpose()
}

/// Stores a pending Mercado Pago authorization of `tenant` by `user`.
pub async fn insert_oauth_state(
    conn: &impl ConnectionTrait,
    state_hash: String,
    tenant: TenantId,
    user: UserId,
    code_verifier: String,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    payment_oauth_states::Entity::insert(payment_oauth_states::ActiveModel {
        id: Set(Uuid::now_v7()),
        state_hash: Set(state_hash),
        tenant_id: Set(tenant.0),
        user_id: Set(user.0),
        code_verifier: Set(code_verifier),
        expires_at: Set(expires_at),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A pending authorization, taken.
pub struct PendingAuthorization {
    pub tenant: TenantId,
    pub user: UserId,
    pub code_verifier: String,
}

/// Takes (deletes and returns) a live authorization state; `None` when unknown, expired or
/// already taken: the delete is the claim, so two callbacks with one state cannot both succeed.
pub async fn take_oauth_state(
    conn: &impl ConnectionTrait,
    state_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<PendingAuthorization>, DbErr> {
    let Some(row) = payment_oauth_states::Entity::find()
        .filter(payment_oauth_states::Column::StateHash.eq(state_hash))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let deleted = payment_oauth_states::Entity::delete_by_id(row.id)
        .exec(conn)
        .await?;
    Ok(
        (deleted.rows_affected == 1 && row.expires_at > now).then_some(PendingAuthorization {
            tenant: TenantId(row.tenant_id),
            user: UserId(row.user_id),
            code_verifier: row.code_verifier,
        }),
    )
}

/// Deletes authorization states that expired before `now`.
pub async fn delete_expired_oauth_states(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(payment_oauth_states::Entity::delete_many()
        .filter(payment_oauth_states::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?
        .rows_affected)
}
