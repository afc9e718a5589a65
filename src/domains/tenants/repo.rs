//! Queries for `tenants`. The tenant row is the scope itself, so every function takes the
//! `TenantId` it acts on.

use std::collections::HashMap;

use entity::tenants;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::kernel::ids::TenantId;

pub async fn find(
    conn: &impl ConnectionTrait,
    id: TenantId,
) -> Result<Option<tenants::Model>, DbErr> {
    tenants::Entity::find_by_id(id.0).one(conn).await
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[TenantId],
) -> Result<HashMap<TenantId, tenants::Model>, DbErr> {
    Ok(tenants::Entity::find()
        .filter(tenants::Column::Id.is_in(ids.iter().map(|t| t.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (TenantId(m.id), m))
        .collect())
}

/// One page of tenants ordered by id (creation order, ids are UUID v7), after `after`.
pub async fn list_page(
    conn: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<tenants::Model>, DbErr> {
    let mut query = tenants::Entity::find()
        .order_by_asc(tenants::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(tenants::Column::Id.gt(after));
    }
    query.all(conn).await
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

pub async fn insert(
    conn: &impl ConnectionTrait,
    tenant: tenants::ActiveModel,
) -> Result<tenants::Model, DbErr> {
    tenants::Entity::insert(tenant)
        .exec_with_returning(conn)
        .await
}

/// Writes the changed columns of `tenant` (whose id must be `id`).
pub async fn update(
    conn: &impl ConnectionTrait,
    id: TenantId,
    mut tenant: tenants::ActiveModel,
) -> Result<tenants::Model, DbErr> {
    tenant.id = sea_orm::ActiveValue::Unchanged(id.0);
    tenants::Entity::update(tenant).exec(conn).await
}
