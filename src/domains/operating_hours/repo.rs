//! Queries for `opening_hours` and `date_exceptions`, all scoped by tenant.

use chrono::NaiveDate;
use entity::{date_exceptions, opening_hours};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::domains::tenants::model::TenantId;

pub async fn list_ranges(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Vec<opening_hours::Model>, DbErr> {
    opening_hours::Entity::find()
        .filter(opening_hours::Column::TenantId.eq(tenant.0))
        .order_by_asc(opening_hours::Column::Weekday)
        .order_by_asc(opening_hours::Column::StartMinute)
        .all(conn)
        .await
}

/// Exceptions on dates in `[from, to]`.
pub async fn list_exceptions(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<date_exceptions::Model>, DbErr> {
    date_exceptions::Entity::find()
        .filter(date_exceptions::Column::TenantId.eq(tenant.0))
        .filter(date_exceptions::Column::Date.gte(from))
        .filter(date_exceptions::Column::Date.lte(to))
        .order_by_asc(date_exceptions::Column::Date)
        .all(conn)
        .await
}
