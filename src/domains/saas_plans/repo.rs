//! Queries for `saas_plans` (platform-level rows: no tenant scope).

use std::collections::HashMap;

use entity::saas_plans;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::kernel::ids::SaasPlanId;

pub async fn list_active(conn: &impl ConnectionTrait) -> Result<Vec<saas_plans::Model>, DbErr> {
    saas_plans::Entity::find()
        .filter(saas_plans::Column::ArchivedAt.is_null())
        .order_by_asc(saas_plans::Column::PriceCents)
        .order_by_asc(saas_plans::Column::Id)
        .all(conn)
        .await
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: SaasPlanId,
) -> Result<Option<saas_plans::Model>, DbErr> {
    saas_plans::Entity::find_by_id(id.0).one(conn).await
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[SaasPlanId],
) -> Result<HashMap<SaasPlanId, saas_plans::Model>, DbErr> {
    Ok(saas_plans::Entity::find()
        .filter(saas_plans::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (SaasPlanId(m.id), m))
        .collect())
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    plan: saas_plans::ActiveModel,
) -> Result<saas_plans::Model, DbErr> {
    saas_plans::Entity::insert(plan)
        .exec_with_returning(conn)
        .await
}

pub async fn update(
    conn: &impl ConnectionTrait,
    plan: saas_plans::ActiveModel,
) -> Result<saas_plans::Model, DbErr> {
    saas_plans::Entity::update(plan).exec(conn).await
}
