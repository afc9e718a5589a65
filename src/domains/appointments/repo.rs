//! Queries for `appointments`, all scoped by tenant.

use chrono::{DateTime, Utc};
use entity::appointments;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domains::{
    ids::{CustomerId, ServiceId},
    tenants::model::TenantId,
};

/// Statuses that hold a slot.
pub const ACTIVE_STATUSES: [&str; 2] = ["PENDING", "CONFIRMED"];

/// Whether the customer has an active appointment starting after `now`.
pub async fn exists_future_active_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(appointments::Entity::find()
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::CustomerId.eq(customer.0))
        .filter(appointments::Column::Status.is_in(ACTIVE_STATUSES))
        .filter(appointments::Column::StartsAt.gt(now))
        .count(conn)
        .await?
        > 0)
}

/// Whether any appointment (in any status) references the service.
pub async fn exists_for_service(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    service: ServiceId,
) -> Result<bool, DbErr> {
    Ok(appointments::Entity::find()
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::ServiceId.eq(service.0))
        .count(conn)
        .await?
        > 0)
}
