//! SaaS plan types.

use async_graphql::Enum;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    error::AppError,
    values::{MoneyCents, parse_required_text},
};

/// Billing interval of a plan.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(name = "BillingInterval")]
pub enum BillingInterval {
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every twelve months.
    Yearly,
}

impl BillingInterval {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "MONTHLY",
            Self::Quarterly => "QUARTERLY",
            Self::Yearly => "YEARLY",
        }
    }

    /// Calendar months per cycle.
    pub fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Yearly => 12,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match raw {
            "MONTHLY" => Ok(Self::Monthly),
            "QUARTERLY" => Ok(Self::Quarterly),
            "YEARLY" => Ok(Self::Yearly),
            other => Err(anyhow::anyhow!("unknown billing interval {other}").into()),
        }
    }
}

/// A SaaS plan.
#[derive(Clone, Debug)]
pub struct SaasPlan {
    pub id: Uuid,
    pub slug: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub interval: BillingInterval,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<entity::saas_plans::Model> for SaasPlan {
    type Error = AppError;

    fn try_from(m: entity::saas_plans::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: m.id,
            slug: m.slug,
            name: m.name,
            description: m.description,
            price: MoneyCents(m.price_cents),
            interval: BillingInterval::parse(&m.interval)?,
            archived_at: m.archived_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A validated plan name (1 to 100 characters after trimming).
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    parse_required_text("name", raw, 100)
}

/// A validated price (zero or more).
pub fn parse_price(price: MoneyCents) -> Result<MoneyCents, AppError> {
    if price.is_negative() {
        return Err(AppError::bad_input("price", "price must not be negative"));
    }
    Ok(price)
}
