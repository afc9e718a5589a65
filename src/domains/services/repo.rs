//! Queries for `services`, all scoped by tenant; rows go in and out as domain types.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::services;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, Func},
};
use uuid::Uuid;

use super::model::{Listing, Service, ServiceUpdate};
use crate::{
    db::set_some,
    kernel::ids::{ServiceId, TenantId},
};

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ServiceId,
) -> Result<Option<Service>, DbErr> {
    Ok(services::Entity::find()
        .filter(services::Column::TenantId.eq(tenant.0))
        .filter(services::Column::Id.eq(id.0))
        .one(conn)
        .await?
        .map(Service::from))
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[ServiceId],
) -> Result<HashMap<ServiceId, Service>, DbErr> {
    Ok(services::Entity::find()
        .filter(services::Column::TenantId.eq(tenant.0))
        .filter(services::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (ServiceId(m.id), m.into()))
        .collect())
}

/// The tenant's services that are not archived, by name (case-insensitive), only the active
/// ones unless `include_inactive`.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    include_inactive: bool,
) -> Result<Vec<Service>, DbErr> {
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
        .map(|rows| rows.into_iter().map(Service::from).collect())
}

/// Inserts an active service.
pub async fn insert(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    listing: Listing,
    duration_minutes: i32,
    now: DateTime<Utc>,
) -> Result<Service, DbErr> {
    services::Entity::insert(services::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        name: Set(listing.name),
        description: Set(listing.description),
        price_cents: Set(listing.price.0),
        duration_minutes: Set(duration_minutes),
        active: Set(true),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map(Service::from)
}

/// Writes `changes` to service `id` of `tenant` and returns the row as stored.
pub async fn update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ServiceId,
    changes: ServiceUpdate,
) -> Result<Service, DbErr> {
    let mut row = services::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id.0),
        updated_at: Set(changes.updated_at),
        ..Default::default()
    };
    changes.listing.write(
        &mut row,
        [
            services::Column::Name,
            services::Column::Description,
            services::Column::PriceCents,
        ],
    )?;
    set_some(&mut row.duration_minutes, changes.duration_minutes);
    set_some(&mut row.active, changes.active);
    set_some(&mut row.archived_at, changes.archived_at.map(Some));
    services::Entity::update(row)
        .validate()?
        .filter(services::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await
        .map(Service::from)
}
