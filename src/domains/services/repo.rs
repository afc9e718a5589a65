//! Queries for `services`, all scoped by tenant.

use std::collections::HashMap;

use entity::services;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::domains::{ids::ServiceId, tenants::model::TenantId};

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
