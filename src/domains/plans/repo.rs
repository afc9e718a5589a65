//! Queries for `plans` and `plan_services`, all scoped by tenant.

use std::collections::HashMap;

use entity::{plan_services, plans};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, Func},
};

use crate::kernel::ids::{PlanId, ServiceId, TenantId};

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: PlanId,
) -> Result<Option<plans::Model>, DbErr> {
    plans::Entity::find()
        .filter(plans::Column::TenantId.eq(tenant.0))
        .filter(plans::Column::Id.eq(id.0))
        .one(conn)
        .await
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
) -> Result<HashMap<PlanId, plans::Model>, DbErr> {
    Ok(plans::Entity::find()
        .filter(plans::Column::TenantId.eq(tenant.0))
        .filter(plans::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (PlanId(m.id), m))
        .collect())
}

/// The tenant's plans that are not archived, by name (case-insensitive).
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Vec<plans::Model>, DbErr> {
    plans::Entity::find()
        .filter(plans::Column::TenantId.eq(tenant.0))
        .filter(plans::Column::ArchivedAt.is_null())
        .order_by_asc(Expr::expr(Func::lower(Expr::col(plans::Column::Name))))
        .order_by_asc(plans::Column::Id)
        .all(conn)
        .await
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    plan: plans::ActiveModel,
) -> Result<plans::Model, DbErr> {
    plans::Entity::insert(plan).exec_with_returning(conn).await
}

/// Writes the changed columns of `plan`, a row of `tenant`.
pub async fn update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    plan: plans::ActiveModel,
) -> Result<plans::Model, DbErr> {
    plans::Entity::update(plan)
        .validate()?
        .filter(plans::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await
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
