//! Queries for `services`, all scoped by tenant.

use std::collections::HashMap;

use entity::services;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, Func},
};

use crate::kernel::ids::{ServiceId, TenantId};

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ServiceId,
) -> Result<Option<services::Model>, DbErr> {
    services::Entity::find()
        .filter(services::Column::TenantId.eq(tenant.0))
        .filter(services::Column::Id.eq(id.0))
        .one(conn)
        .await
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[ServiceId],
) -> Result<HashMap<ServiceId, services::Model>, DbErr> {
    Ok(services::Entity::find()
        .filter(services::Column::TenantId.eq(tenant.0))
        .filter(services::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (ServiceId(m.id), m))
        .collect())
}

/// The tenant's services that are not archived, by name (case-insensitive), only the active
/// ones unless `include_inactive`.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    include_inactive: bool,
) -> Result<Vec<services::Model>, DbErr> {
    let mut query = services::Entity::find()
        .filter(services::Column::TenantId.eq(tenant.0))
        .filter(services::Column::ArchivedAt.is_null());
    if !include_inactive {
        query = query.filter(services::Column::Active.eq(true));
    }
    query
        .order_by_asc(Expr::expr(Func::lower(Expr::col(services::Column::Name))))
        .order_by_asc(services::Column::Id)
        .all(conn)
        .await
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    service: services::ActiveModel,
) -> Result<services::Model, DbErr> {
    services::Entity::insert(service)
        .exec_with_returning(conn)
        .await
}

/// Writes the changed columns of `service`, a row of `tenant` read in the same transaction.
pub async fn update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    service: services::ActiveModel,
) -> Result<services::Model, DbErr> {
    services::Entity::update(service)
        .validate()?
        .filter(services::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await
}
