//! Customer rules.

use sea_orm::ConnectionTrait;

use super::{model::Customer, repo};
use crate::{
    domains::{ids::CustomerId, tenants::model::TenantId},
    error::{AppError, AppResult},
};

/// A customer of the tenant (NOT_FOUND for another tenant's id).
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> AppResult<Customer> {
    Ok(repo::find(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("customer"))?
        .into())
}
