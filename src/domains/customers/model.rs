//! Customer and subscription types, and billing-cycle arithmetic.

use async_graphql::Enum;
use chrono::{DateTime, LocalResult, Months, TimeZone as _, Utc};

use crate::kernel::{
    error::AppError,
    ids::{CustomerId, PlanId, SubscriptionId, TenantId},
    values::{BillingInterval, Email, EnumStr, TimeZone, parse_required_text},
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

/// A validated change of a customer row; `None` leaves a column as it is.
pub struct CustomerUpdate {
    pub name: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<Option<String>>,
    pub updated_at: DateTime<Utc>,
}

/// State of a customer's subscription.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriptionStatus {
    /// Paid and current: covered services cost nothing.
    Active,
    /// A charge failed; the provider is retrying.
    PastDue,
    /// Canceled by the tenant or the customer.
    Canceled,
    /// Ended without renewal.
    Expired,
}

impl SubscriptionStatus {
    /// Whether a subscription in this status still holds its plan (at most one per customer).
    pub fn is_current(self) -> bool {
        matches!(self, Self::Active | Self::PastDue)
    }
}

/// A new ACTIVE subscription, its first cycle computed.
pub struct NewSubscriptionRow {
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub plan_id: PlanId,
    pub starts_at: DateTime<Utc>,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
}

/// A customer's subscription to a plan.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub plan_id: PlanId,
    pub status: SubscriptionStatus,
    pub starts_at: DateTime<Utc>,
    pub current_period_start: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<entity::subscriptions::Model> for Subscription {
    type Error = AppError;

    fn try_from(m: entity::subscriptions::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: SubscriptionId(m.id),
            tenant_id: TenantId(m.tenant_id),
            customer_id: CustomerId(m.customer_id),
            plan_id: PlanId(m.plan_id),
            status: SubscriptionStatus::parse_stored(&m.status)?,
            starts_at: m.starts_at,
            current_period_start: m.current_period_start,
            current_period_end: m.current_period_end,
            canceled_at: m.canceled_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Of one customer's subscriptions, the one that describes them now: the most recent ACTIVE or
/// PAST_DUE one, else the most recent of any status ("most recent": latest start, then latest
/// created).
pub fn current(subscriptions: impl IntoIterator<Item = Subscription>) -> Option<Subscription> {
    subscriptions
        .into_iter()
        .max_by_key(|s| (s.status.is_current(), s.starts_at, s.id.0))
}

/// `start` plus `cycles` billing intervals, in calendar months of the tenant's zone.
pub fn add_cycles(
    start: DateTime<Utc>,
    interval: BillingInterval,
    cycles: u32,
    zone: TimeZone,
) -> DateTime<Utc> {
    let local = start.with_timezone(&zone.0).naive_local();
    let shifted = local
        .checked_add_months(Months::new(interval.months() * cycles))
        // Far beyond any real subscription (chrono's range ends in year 262143).
        .unwrap_or(chrono::NaiveDateTime::MAX);
    match zone.0.from_local_datetime(&shifted) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        // The wall time does not exist (a DST gap): the instant an hour later does.
        LocalResult::None => zone
            .0
            .from_local_datetime(&(shifted + chrono::Duration::hours(1)))
            .earliest()
            .map_or(start, |t| t.with_timezone(&Utc)),
    }
}

/// The billing cycle `[start, end)` that contains `at` (the first one when `at` is earlier).
pub fn cycle_containing(
    starts_at: DateTime<Utc>,
    interval: BillingInterval,
    zone: TimeZone,
    at: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let mut cycle = 0;
    loop {
        let end = add_cycles(starts_at, interval, cycle + 1, zone);
        if at < end || cycle > 10_000 {
            return (add_cycles(starts_at, interval, cycle, zone), end);
        }
        cycle += 1;
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

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn monthly_cycles_follow_the_calendar_in_the_tenant_zone() {
        let start = utc("2026-01-31T12:00:00-03:00");
        let zone = TimeZone::DEFAULT;
        assert_eq!(
            add_cycles(start, BillingInterval::Monthly, 1, zone),
            utc("2026-02-28T12:00:00-03:00")
        );
        assert_eq!(
            add_cycles(start, BillingInterval::Quarterly, 1, zone),
            utc("2026-04-30T12:00:00-03:00")
        );
        assert_eq!(
            add_cycles(start, BillingInterval::Yearly, 1, zone),
            utc("2027-01-31T12:00:00-03:00")
        );
    }

    #[test]
    fn cycles_keep_local_midnight_across_dst() {
        let zone = TimeZone::parse("America/New_York").unwrap();
        let start = utc("2026-03-01T00:00:00-05:00");
        assert_eq!(
            add_cycles(start, BillingInterval::Monthly, 1, zone),
            utc("2026-04-01T00:00:00-04:00")
        );
    }

    fn subscription(status: SubscriptionStatus, starts_at: &str) -> Subscription {
        let starts_at = utc(starts_at);
        Subscription {
            id: SubscriptionId(uuid::Uuid::now_v7()),
            tenant_id: TenantId(uuid::Uuid::nil()),
            customer_id: CustomerId(uuid::Uuid::nil()),
            plan_id: PlanId(uuid::Uuid::nil()),
            status,
            starts_at,
            current_period_start: starts_at,
            current_period_end: starts_at,
            canceled_at: None,
            created_at: starts_at,
            updated_at: starts_at,
        }
    }

    #[test]
    fn the_current_subscription_prefers_one_that_holds_the_plan() {
        use SubscriptionStatus::*;
        assert!(current(Vec::new()).is_none());
        let canceled = subscription(Canceled, "2026-05-01T00:00:00Z");
        let active = subscription(Active, "2026-01-01T00:00:00Z");
        let picked = current([canceled.clone(), active.clone()]).unwrap();
        assert_eq!(picked.id, active.id);
        let past_due = subscription(PastDue, "2026-02-01T00:00:00Z");
        let picked = current([active.clone(), past_due.clone(), canceled.clone()]).unwrap();
        assert_eq!(picked.id, past_due.id);
        let expired = subscription(Expired, "2026-06-01T00:00:00Z");
        let picked = current([canceled, expired.clone()]).unwrap();
        assert_eq!(picked.id, expired.id);
    }

    #[test]
    fn finds_the_cycle_of_an_instant() {
        let start = utc("2026-01-10T09:00:00-03:00");
        let (from, to) = cycle_containing(
            start,
            BillingInterval::Monthly,
            TimeZone::DEFAULT,
            utc("2026-03-15T10:00:00-03:00"),
        );
        assert_eq!(from, utc("2026-03-10T09:00:00-03:00"));
        assert_eq!(to, utc("2026-04-10T09:00:00-03:00"));
    }
}
