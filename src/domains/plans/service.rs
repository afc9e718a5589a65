//! Customer plan rules.

use sea_orm::ConnectionTrait;

use super::{model::Plan, repo};
use crate::{
    domains::{
        ids::{PlanId, ServiceId},
        tenants::model::TenantId,
    },
    error::{AppError, AppResult},
};

/// A plan of the tenant (NOT_FOUND for another tenant's id).
pub async fn find(conn: &impl ConnectionTrait, tenant: TenantId, id: PlanId) -> AppResult<Plan> {
    Plan::try_from(
        repo::find(conn, tenant, id)
            .await?
            .ok_or(AppError::NotFound("plan"))?,
    )
}

/// Whether the plan covers the service.
pub async fn covers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    plan: PlanId,
    service: ServiceId,
) -> AppResult<bool> {
    Ok(repo::covers(conn, tenant, plan, service).await?)
}
