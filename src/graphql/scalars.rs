//! Shared GraphQL scalars and value objects: `Decimal` (exact amounts as strings), `Money`,
//! `MoneyInput`, `CurrencyCode` and `Date` (a calendar date).

use async_graphql::CustomValidator;
use async_graphql::{
    Enum, InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::kernel::values::MoneyCents;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal(pub MoneyCents);

/// An exact decimal amount, serialized as a string with two decimals (`"49.00"`). Inputs accept
/// strings with at most two decimals (`"49"`, `"49.9"`, `"49.90"`) or integers; floats are
/// refused because they cannot represent money exactly.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => MoneyCents::parse(text)
                .map(Decimal)
                .map_err(InputValueError::custom),
            Value::Number(n) if n.is_i64() => n
                .as_i64()
                .and_then(|v| v.checked_mul(100))
                .map(|c| Decimal(MoneyCents(c)))
                .ok_or_else(|| InputValueError::custom("amount is too large")),
            Value::Number(_) => Err(InputValueError::custom(
                "send decimal amounts as strings, e.g. \"49.90\"",
            )),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// The first and last calendar days a client may send (dates and instants alike): no rule of this
/// product reaches beyond them, and date arithmetic near chrono's limits would overflow.
pub const EARLIEST_DATE: NaiveDate = date(2000, 1, 1);
pub const LATEST_DATE: NaiveDate = date(2200, 12, 31);

/// A constant date (an invalid one fails the build, not a request).
const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid constant date"),
    }
}

const OUT_OF_RANGE: &str = "dates must be from 2000-01-01 through 2200-12-31";

/// Validates `DateTime` inputs (`#[graphql(validator(custom = "InstantRange"))]`): the instant's
/// UTC date is within [`EARLIEST_DATE`]..=[`LATEST_DATE`].
pub struct InstantRange;

impl CustomValidator<DateTime<Utc>> for InstantRange {
    fn check(&self, value: &DateTime<Utc>) -> Result<(), InputValueError<DateTime<Utc>>> {
        if (EARLIEST_DATE..=LATEST_DATE).contains(&value.date_naive()) {
            Ok(())
        } else {
            Err(InputValueError::custom(OUT_OF_RANGE))
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time or zone, `YYYY-MM-DD` (`"2026-12-25"`); dates of a tenant are
/// read in the tenant's time zone.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) if text.len() == 10 => {
                let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD"))?;
                if (EARLIEST_DATE..=LATEST_DATE).contains(&date) {
                    Ok(Date(date))
                } else {
                    Err(InputValueError::custom(OUT_OF_RANGE))
                }
            }
            Value::String(_) => Err(InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// ISO 4217 currency code. Only the Brazilian real is supported.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CurrencyCode {
    /// Brazilian real.
    #[default]
    Brl,
}

/// An amount of money in a currency.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    /// The amount, exact, as a decimal string such as `"49.00"`.
    pub amount: Decimal,
    /// The currency of the amount.
    pub currency: CurrencyCode,
}

impl From<MoneyCents> for Money {
    fn from(cents: MoneyCents) -> Self {
        Self {
            amount: Decimal(cents),
            currency: CurrencyCode::Brl,
        }
    }
}

/// An amount of money sent by a client.
#[derive(InputObject, Clone, Debug)]
pub struct MoneyInput {
    /// The amount as a decimal string such as `"49.90"`.
    pub amount: Decimal,
    /// The currency; BRL when omitted.
    #[graphql(default)]
    pub currency: CurrencyCode,
}

impl MoneyInput {
    pub fn cents(&self) -> MoneyCents {
        self.amount.0
    }
}
