//! Customer types.

use chrono::{DateTime, Utc};

use crate::domains::{ids::CustomerId, tenants::model::TenantId};

/// A customer of a tenant.
#[derive(Clone, Debug)]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::customers::Model> for Customer {
    fn from(m: entity::customers::Model) -> Self {
        Self {
            id: CustomerId(m.id),
            tenant_id: TenantId(m.tenant_id),
            name: m.name,
            phone: m.phone,
            email: m.email,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
