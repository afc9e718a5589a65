//! Service types.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait};

use crate::kernel::{
    error::AppError,
    ids::{ServiceId, TenantId},
    values::{MoneyCents, parse_in_range, parse_optional_text, parse_price, parse_required_text},
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

/// A validated service name (1 to 120 characters after trimming).
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    parse_required_text("name", raw, 120)
}

/// A validated duration: 5 to 720 minutes.
pub fn parse_duration(minutes: i32) -> Result<i32, AppError> {
    parse_in_range("durationMinutes", minutes, 5..=720)
}

/// A validated optional description (at most 2000 characters; blank means none).
pub fn parse_description(raw: Option<String>) -> Result<Option<String>, AppError> {
    parse_optional_text("description", raw, 2000)
}

/// What customers see of a service or a plan, validated: name (1 to 120 characters), optional
/// description (up to 2000), price (zero or more).
pub struct Listing {
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
}

impl Listing {
    pub fn parse(
        name: &str,
        description: Option<String>,
        price: MoneyCents,
    ) -> Result<Self, AppError> {
        Ok(Self {
            name: parse_name(name)?,
            description: parse_description(description)?,
            price: parse_price(price)?,
        })
    }
}

/// Changes to what customers see of a service or a plan: name, description and price. `None`
/// leaves a field as it is; `Some(None)` clears the description.
#[derive(Default)]
pub struct ListingChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<MoneyCents>,
}

impl ListingChanges {
    /// Validates the changes (the same rules as [`Listing::parse`]).
    pub fn validate(self) -> Result<ListingUpdate, AppError> {
        Ok(ListingUpdate {
            name: self.name.as_deref().map(parse_name).transpose()?,
            description: self.description.map(parse_description).transpose()?,
            price: self.price.map(parse_price).transpose()?,
        })
    }
}

/// Validated [`ListingChanges`], ready to be written.
#[derive(Default)]
pub struct ListingUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<MoneyCents>,
}

impl ListingUpdate {
    /// Sets the changed columns on `row` (for the repos of services and plans, whose name,
    /// description and price columns are `columns`).
    pub fn write<A: ActiveModelTrait>(
        self,
        row: &mut A,
        columns: [<A::Entity as EntityTrait>::Column; 3],
    ) -> Result<(), sea_orm::DbErr> {
        let [name_column, description_column, price_column] = columns;
        if let Some(name) = self.name {
            row.try_set(name_column, name.into())?;
        }
        if let Some(description) = self.description {
            row.try_set(description_column, description.into())?;
        }
        if let Some(price) = self.price {
            row.try_set(price_column, price.0.into())?;
        }
        Ok(())
    }
}

/// A validated change of a service row; `None` leaves a column as it is.
pub struct ServiceUpdate {
    pub listing: ListingUpdate,
    pub duration_minutes: Option<i32>,
    pub active: Option<bool>,
    pub archived_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}
