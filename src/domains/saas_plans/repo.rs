//! Queries for `saas_plans` (platform-level rows: no tenant scope); rows go in and out as domain
//! types.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::saas_plans;
use sea_orm::{
    ActiveValue::{Set, Unchanged},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::model::{NewSaasPlanRow, SaasPlan, SaasPlanUpdate};
use crate::{
    db::set_some,
    kernel::{error::AppResult, ids::SaasPlanId, values::EnumStr},
};

pub async fn list_active(conn: &impl ConnectionTrait) -> AppResult<Vec<SaasPlan>> {
    saas_plans::Entity::find()
        .filter(saas_plans::Column::ArchivedAt.is_null())
        .order_by_asc(saas_plans::Column::PriceCents)
        .order_by_asc(saas_plans::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(SaasPlan::try_from)
        .collect()
}

pub async fn find(conn: &impl ConnectionTrait, id: SaasPlanId) -> AppResult<Option<SaasPlan>> {
    saas_plans::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(SaasPlan::try_from)
        .transpose()
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[SaasPlanId],
) -> AppResult<HashMap<SaasPlanId, SaasPlan>> {
    saas_plans::Entity::find()
        .filter(saas_plans::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| Ok((SaasPlanId(m.id), SaasPlan::try_from(m)?)))
        .collect()
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    plan: NewSaasPlanRow,
    now: DateTime<Utc>,
) -> AppResult<SaasPlan> {
    saas_plans::Entity::insert(saas_plans::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(None),
        name: Set(plan.name),
        description: Set(plan.description),
        price_cents: Set(plan.price.0),
        currency: Set("BRL".to_owned()),
        interval: Set(plan.interval.as_str().to_owned()),
        ai_monthly_token_quota: Set(None),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?
    .try_into()
}

/// Writes `changes` to plan `id` and returns the row as stored.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: SaasPlanId,
    changes: SaasPlanUpdate,
) -> AppResult<SaasPlan> {
    let mut row = saas_plans::ActiveModel {
        id: Unchanged(id.0),
        updated_at: Set(changes.updated_at),
        ..Default::default()
    };
    set_some(&mut row.name, changes.name);
    set_some(&mut row.description, changes.description);
    set_some(&mut row.price_cents, changes.price.map(|price| price.0));
    set_some(
        &mut row.interval,
        changes
            .interval
            .map(|interval| interval.as_str().to_owned()),
    );
    set_some(
        &mut row.ai_monthly_token_quota,
        changes.ai_monthly_token_quota,
    );
    set_some(&mut row.archived_at, changes.archived_at.map(Some));
    saas_plans::Entity::update(row).exec(conn).await?.try_into()
}
