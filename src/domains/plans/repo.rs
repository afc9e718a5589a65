//! Queries for `plans` and `plan_services`, all scoped by tenant.

use entity::{plan_services, plans};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domains::{
    ids::{PlanId, ServiceId},
    tenants::model::TenantId,
};

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
