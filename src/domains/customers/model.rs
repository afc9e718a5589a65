//! Customer types.

use async_graphql::Enum;
use chrono::{DateTime, Utc};

use crate::{
    domains::{
        auth::model::Email,
        ids::CustomerId,
        subscriptions::model::{Subscription, SubscriptionStatus},
        tenants::model::TenantId,
    },
    error::AppError,
    values::parse_required_text,
};

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

/// Where a customer stands with the business, from their current subscription.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerStatus {
    /// Holds an ACTIVE subscription.
    Subscriber,
    /// The subscription's last charge failed.
    PastDue,
    /// Had a subscription that was canceled or expired.
    Canceled,
    /// Never subscribed: pays per appointment.
    WalkIn,
}

impl CustomerStatus {
    /// The status given by the customer's current subscription (`None`: never subscribed).
    pub fn of(subscription: Option<&Subscription>) -> Self {
        match subscription.map(|s| s.status) {
            Some(SubscriptionStatus::Active) => Self::Subscriber,
            Some(SubscriptionStatus::PastDue) => Self::PastDue,
            Some(SubscriptionStatus::Canceled | SubscriptionStatus::Expired) => Self::Canceled,
            None => Self::WalkIn,
        }
    }
}

/// A validated customer name (1 to 120 characters after trimming).
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    parse_required_text("name", raw, 120)
}

/// An optional e-mail: blank means none, otherwise valid and lower-cased.
pub fn parse_email(raw: Option<String>) -> Result<Option<String>, AppError> {
    raw.filter(|e| !e.trim().is_empty())
        .map(|e| Email::parse(&e).map(|e| e.as_str().to_owned()))
        .transpose()
}

/// A list search: trimmed, lower-cased, at most 100 characters; blank means no filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerSearch {
    /// The text as typed, lower-case (matches names and e-mails).
    pub text: String,
    /// Its digits (match phones), when it has any.
    pub digits: Option<String>,
}

impl CustomerSearch {
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, AppError> {
        let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > 100 {
            return Err(AppError::bad_input(
                "search",
                "search must have at most 100 characters",
            ));
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        Ok(Some(Self {
            text: text.to_lowercase(),
            digits: (!digits.is_empty()).then_some(digits),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_normalised() {
        assert_eq!(CustomerSearch::parse(Some("  ")).unwrap(), None);
        assert_eq!(CustomerSearch::parse(None).unwrap(), None);
        assert_eq!(
            CustomerSearch::parse(Some(" Ana (11) 9876 ")).unwrap(),
            Some(CustomerSearch {
                text: "ana (11) 9876".into(),
                digits: Some("119876".into())
            })
        );
        assert!(CustomerSearch::parse(Some(&"x".repeat(101))).is_err());
    }

    #[test]
    fn e_mails_are_optional_and_lower_case() {
        assert_eq!(parse_email(None).unwrap(), None);
        assert_eq!(parse_email(Some(" ".into())).unwrap(), None);
        assert_eq!(
            parse_email(Some("Ana@Salon.COM".into()))
                .unwrap()
                .as_deref(),
            Some("ana@salon.com")
        );
        assert!(parse_email(Some("ana@".into())).is_err());
    }
}
