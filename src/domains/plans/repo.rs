//! Queries for `plans` and `plan_services`, all scoped by tenant; rows go in and out as domain
//! types.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{plan_services, plans};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, Func},
};

use uuid::Uuid;

use super::model::{Plan, PlanUpdate};
use crate::{
    db::set_some,
    domains::services::model::Listing,
    kernel::{
        error::AppResult,
        ids::{PlanId, ServiceId, TenantId},
        values::{BillingInterval, EnumStr},
    },
};

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: PlanId,
) -> AppResult<Option<Plan>> {
    plans::Entity::find()
        .filter(plans::Column::TenantId.eq(tenant.0))
        .filter(plans::Column::Id.eq(id.0))
        .one(conn)
        .await?
        .map(Plan::try_from)
        .transpose()
}

pub async fn covers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    plan: PlanId,
    service: ServiceId,
) -> Result<bool, DbErr> {
    Ok(plan_services::Entity::find()
        .filter(plan_services::Column::TenantId.eq(tenant.0))
        .filter(plan_services::Column::PlanId.eq(plan.0))
        .filter(plan_services::Column::ServiceId.eq(service.0))
        .count(conn)
        .await?
        > 0)
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[PlanId],
) -> AppResult<HashMap<PlanId, Plan>> {
    plans::Entity::find()
        .filter(plans::Column::TenantId.eq(tenant.0))
        .filter(plans::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| Ok((PlanId(m.id), Plan::try_from(m)?)))
        .collect()
}

/// The tenant's plans that are not archived, by name (case-insensitive).
pub async fn list(conn: &impl ConnectionTrait, tenant: TenantId) -> AppResult<Vec<Plan>> {
    plans::Entity::find()
        .filter(plans::Column::TenantId.eq(tenant.0))
        .filter(plans::Column::ArchivedAt.is_null())
        .order_by_asc(Expr::expr(Func::lower(Expr::col(plans::Column::Name))))
        .order_by_asc(plans::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(Plan::try_from)
        .collect()
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    listing: Listing,
    interval: BillingInterval,
    max_appointments_per_cycle: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<Plan> {
    plans::Entity::insert(plans::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        name: Set(listing.name),
        description: Set(listing.description),
        price_cents: Set(listing.price.0),
        interval: Set(interval.as_str().to_owned()),
        max_appointments_per_cycle: Set(max_appointments_per_cycle),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?
    .try_into()
}

/// Writes `changes` to plan `id` of `tenant` and returns the row as stored.
pub async fn update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: PlanId,
    changes: PlanUpdate,
) -> AppResult<Plan> {
    let mut row = plans::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id.0),
        updated_at: Set(changes.updated_at),
        ..Default::default()
    };
    changes.listing.write(
        &mut row,
        [
            plans::Column::Name,
            plans::Column::Description,
            plans::Column::PriceCents,
        ],
    )?;
    set_some(
        &mut row.interval,
        changes
            .interval
            .map(|interval| interval.as_str().to_owned()),
    );
    set_some(
        &mut row.max_appointments_per_cycle,
        changes.max_appointments_per_cycle,
    );
    set_some(&mut row.archived_at, changes.archived_at.map(Some));
    plans::Entity::update(row)
        .validate()?
        .filter(plans::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await?
        .try_into()
}

/// Makes `services` the plan's covered set (call inside a transaction).
pub async fn replace_services(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    plan: PlanId,
    services: &[ServiceId],
) -> Result<(), DbErr> {
    plan_services::Entity::delete_many()
        .filter(plan_services::Column::TenantId.eq(tenant.0))
        .filter(plan_services::Column::PlanId.eq(plan.0))
        .exec(conn)
        .await?;
    if services.is_empty() {
        return Ok(());
    }
    plan_services::Entity::insert_many(services.iter().map(|service| plan_services::ActiveModel {
        plan_id: Set(plan.0),
        service_id: Set(service.0),
        tenant_id: Set(tenant.0),
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The `(plan, service)` coverage pairs of the given plans.
pub async fn list_coverage(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    plans: &[PlanId],
) -> Result<Vec<(PlanId, ServiceId)>, DbErr> {
    Ok(plan_services::Entity::find()
        .filter(plan_services::Column::TenantId.eq(tenant.0))
        .filter(plan_services::Column::PlanId.is_in(plans.iter().map(|p| p.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (PlanId(row.plan_id), ServiceId(row.service_id)))
        .collect())
}
