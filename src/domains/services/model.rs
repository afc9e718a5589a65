//! Service types.

use chrono::{DateTime, Utc};

use crate::{
    domains::{ids::ServiceId, tenants::model::TenantId},
    values::MoneyCents,
};

/// A service a tenant sells.
#[derive(Clone, Debug)]
pub struct Service {
    pub id: ServiceId,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub duration_minutes: i32,
    pub active: bool,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::services::Model> for Service {
    fn from(m: entity::services::Model) -> Self {
        Self {
            id: ServiceId(m.id),
            tenant_id: TenantId(m.tenant_id),
            name: m.name,
            description: m.description,
            price: MoneyCents(m.price_cents),
            duration_minutes: m.duration_minutes,
            active: m.active,
            archived_at: m.archived_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
