//! Queries for `customers`, all scoped by tenant.

use std::collections::HashMap;

use entity::customers;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::domains::{ids::CustomerId, tenants::model::TenantId};

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> Result<Option<customers::Model>, DbErr> {
    customers::Entity::find()
        .filter(customers::Column::TenantId.eq(tenant.0))
        .filter(customers::Column::Id.eq(id.0))
        .one(conn)
        .await
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[CustomerId],
) -> Result<HashMap<CustomerId, customers::Model>, DbErr> {
    Ok(customers::Entity::find()
        .filter(customers::Column::TenantId.eq(tenant.0))
        .filter(customers::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (CustomerId(m.id), m))
        .collect())
}

pub async fn count(conn: &impl ConnectionTrait, tenant: TenantId) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    customers::Entity::find()
        .filter(customers::Column::TenantId.eq(tenant.0))
        .count(conn)
        .await
}
