//! Opening-hours rules.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use super::{
    model::{DateException, OpeningRange, Schedule},
    repo,
};
use crate::{domains::tenants::model::TenantId, error::AppResult};

/// The tenant's weekly ranges and the exceptions on dates in `[from, to]`: what availability and
/// booking need, in two statements.
pub async fn schedule(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Schedule> {
    let ranges = repo::list_ranges(conn, tenant)
        .await?
        .into_iter()
        .map(OpeningRange::try_from)
        .collect::<AppResult<_>>()?;
    let exceptions = repo::list_exceptions(conn, tenant, from, to)
        .await?
        .into_iter()
        .map(DateException::from)
        .collect();
    Ok(Schedule { ranges, exceptions })
}
