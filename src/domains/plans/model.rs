//! Customer plan types.

use chrono::{DateTime, Utc};

use crate::{
    domains::services::model::ListingUpdate,
    kernel::{
        error::AppError,
        ids::{PlanId, TenantId},
        values::{BillingInterval, EnumStr, MoneyCents},
    },
};

/// A plan a tenant sells to its customers.
#[derive(Clone, Debug)]
pub struct Plan {
    pub id: PlanId,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub interval: BillingInterval,
    /// `None`: unlimited.
    pub max_appointments_per_cycle: Option<i32>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<entity::plans::Model> for Plan {
    type Error = AppError;

    fn try_from(m: entity::plans::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: PlanId(m.id),
            tenant_id: TenantId(m.tenant_id),
            name: m.name,
            description: m.description,
            price: MoneyCents(m.price_cents),
            interval: BillingInterval::parse_stored(&m.interval)?,
            max_appointments_per_cycle: m.max_appointments_per_cycle,
            archived_at: m.archived_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A validated change of a plan row; `None` leaves a column as it is.
pub struct PlanUpdate {
    pub listing: ListingUpdate,
    pub interval: Option<BillingInterval>,
    pub max_appointments_per_cycle: Option<Option<i32>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A validated limit of appointments per cycle: `None` (unlimited) or at least 1.
pub fn parse_max_appointments(limit: Option<i32>) -> Result<Option<i32>, AppError> {
    match limit {
        Some(n) if n < 1 => Err(AppError::bad_input(
            "maxAppointmentsPerCycle",
            "maxAppointmentsPerCycle must be at least 1 (null means unlimited)",
        )),
        other => Ok(other),
    }
}
