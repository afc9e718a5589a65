//! SaaS plan types.

use chrono::{DateTime, Utc};

use crate::kernel::{
    error::AppError,
    ids::SaasPlanId,
    values::{BillingInterval, EnumStr, MoneyCents, parse_required_text},
};

/// A SaaS plan.
#[derive(Clone, Debug)]
pub struct SaasPlan {
    pub id: SaasPlanId,
    pub slug: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub interval: BillingInterval,
    /// AI tokens a tenant on this plan may use per month; `None`: unlimited.
    pub ai_monthly_token_quota: Option<i64>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<entity::saas_plans::Model> for SaasPlan {
    type Error = AppError;

    fn try_from(m: entity::saas_plans::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: SaasPlanId(m.id),
            slug: m.slug,
            name: m.name,
            description: m.description,
            price: MoneyCents(m.price_cents),
            interval: BillingInterval::parse_stored(&m.interval)?,
            ai_monthly_token_quota: m.ai_monthly_token_quota,
            archived_at: m.archived_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A validated new plan.
pub struct NewSaasPlanRow {
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub interval: BillingInterval,
}

/// A validated change of a plan row; `None` leaves a column as it is.
#[derive(Default)]
pub struct SaasPlanUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<MoneyCents>,
    pub interval: Option<BillingInterval>,
    pub ai_monthly_token_quota: Option<Option<i64>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A plan description: trimmed, blank means none.
pub fn parse_description(raw: Option<String>) -> Option<String> {
    raw.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())
}

/// A validated plan name (1 to 100 characters after trimming).
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    parse_required_text("name", raw, 100)
}

/// The most tokens a monthly AI quota can grant (a trillion: beyond any plan, within `i64`).
const MAX_TOKEN_QUOTA: i64 = 1_000_000_000_000;

/// A validated monthly AI token quota (0 to 10^12).
pub fn parse_token_quota(quota: i64) -> Result<i64, AppError> {
    if (0..=MAX_TOKEN_QUOTA).contains(&quota) {
        Ok(quota)
    } else {
        Err(AppError::bad_input(
            "aiMonthlyTokenQuota",
            format!("aiMonthlyTokenQuota must be between 0 and {MAX_TOKEN_QUOTA}"),
        ))
    }
}
