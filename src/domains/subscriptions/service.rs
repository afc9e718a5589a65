//! Subscription rules.

use sea_orm::ConnectionTrait;

use super::{model::Subscription, repo};
use crate::{
    domains::{
        ids::{CustomerId, SubscriptionId},
        tenants::model::TenantId,
    },
    error::{AppError, AppResult},
};

/// A subscription of the tenant (NOT_FOUND for another tenant's id).
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    Subscription::try_from(
        repo::find(conn, tenant, id)
            .await?
            .ok_or(AppError::NotFound("subscription"))?,
    )
}

/// The customer's ACTIVE subscription, if any.
pub async fn active_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
) -> AppResult<Option<Subscription>> {
    repo::find_active_for_customer(conn, tenant, customer)
        .await?
        .map(Subscription::try_from)
        .transpose()
}

/// The subscription, locked until the end of the transaction on Postgres so that concurrent
/// bookings count its cycle one at a time (SQLite serializes booking transactions already).
pub async fn lock_for_booking(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    Subscription::try_from(
        repo::find_for_update(conn, tenant, id)
            .await?
            .ok_or(AppError::NotFound("subscription"))?,
    )
}
