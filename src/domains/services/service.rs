//! Service rules.

use sea_orm::ConnectionTrait;

use super::{model::Service, repo};
use crate::{
    domains::{ids::ServiceId, tenants::model::TenantId},
    error::{AppError, AppResult},
};

/// A service of the tenant, active or not (NOT_FOUND for another tenant's id).
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ServiceId,
) -> AppResult<Service> {
    Ok(repo::find(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("service"))?
        .into())
}

/// A service that can be booked now: it exists for the tenant and is active.
pub async fn find_bookable(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ServiceId,
) -> AppResult<Service> {
    let service = find(conn, tenant, id).await?;
    if !service.active {
        return Err(AppError::bad_input(
            "serviceId",
            "Este serviço não está disponível para agendamento",
        ));
    }
    Ok(service)
}
