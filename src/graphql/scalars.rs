//! Shared GraphQL scalars and value objects: `DateTime` ([`Timestamp`]), `Date`, `Decimal` (exact
//! amounts as strings), `E164Phone` ([`Phone`]), `TimeZone` ([`Zone`]), `LocalTime`
//! ([`WallTime`]), and `Money`, `MoneyInput`, `CurrencyCode`. Each scalar carries its own
//! description, and `@specifiedBy` where a specification exists.

use async_graphql::{
    Enum, InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::kernel::values::{E164Phone, MoneyCents, MoneySum, TimeZone};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal(pub MoneySum);

/// An exact decimal amount, serialized as a string with two decimals (`"49.00"`). Inputs accept
/// strings with at most two decimals (`"49"`, `"49.9"`, `"49.90"`) or integers; floats are
/// refused because they cannot represent money exactly.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => MoneyCents::parse(text)
                .map(|cents| Decimal(cents.into()))
                .map_err(InputValueError::custom),
            Value::Number(n) if n.is_i64() => n
                .as_i64()
                .and_then(|v| v.checked_mul(100))
                .map(|c| Decimal(MoneyCents(c).into()))
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

/// An instant: what the `DateTime` scalar carries. Outputs keep their offset (appointments are
/// shown in the tenant's zone); inputs are read with any offset and bounded to
/// [`EARLIEST_DATE`]..=[`LATEST_DATE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<FixedOffset>);

impl Timestamp {
    pub fn utc(self) -> DateTime<Utc> {
        self.0.with_timezone(&Utc)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Self(at.fixed_offset())
    }
}

impl From<DateTime<FixedOffset>> for Timestamp {
    fn from(at: DateTime<FixedOffset>) -> Self {
        Self(at)
    }
}

/// An instant in RFC 3339 form with its offset, e.g. `"2026-12-25T10:00:00-03:00"` (a tenant's
/// appointments are shown in the tenant's zone). Inputs accept any offset, from 2000-01-01
/// through 2200-12-31.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        let at = text
            .parse::<DateTime<FixedOffset>>()
            .map_err(|_| InputValueError::custom("expected an RFC 3339 instant"))?;
        if (EARLIEST_DATE..=LATEST_DATE).contains(&at.with_timezone(&Utc).date_naive()) {
            Ok(Self(at))
        } else {
            Err(InputValueError::custom(OUT_OF_RANGE))
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

/// What the `E164Phone` scalar carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(pub String);

/// A phone number in E.164 form, e.g. `"+5511987654321"`: how the server stores and shows every
/// phone (inputs take any common Brazilian spelling as a `String` and are normalised to it).
#[Scalar(
    name = "E164Phone",
    specified_by_url = "https://www.itu.int/rec/T-REC-E.164"
)]
impl ScalarType for Phone {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => E164Phone::parse(&text)
                .map(|phone| Self(phone.as_str().to_owned()))
                .map_err(|err| InputValueError::custom(err.public_message())),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// What the `TimeZone` scalar carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone(pub TimeZone);

/// An IANA time zone name, e.g. `"America/Sao_Paulo"`.
#[Scalar(
    name = "TimeZone",
    specified_by_url = "https://www.iana.org/time-zones"
)]
impl ScalarType for Zone {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => TimeZone::parse(&text)
                .map(Self)
                .map_err(|err| InputValueError::custom(err.public_message())),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.name().to_owned())
    }
}

/// What the `LocalTime` scalar carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WallTime(pub String);

/// A wall-clock time of day in the tenant's zone, `HH:MM` on a 24-hour clock; `24:00` (only as
/// an end) is midnight at the end of the day.
#[Scalar(name = "LocalTime")]
impl ScalarType for WallTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Self(text)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time or zone, `YYYY-MM-DD` (`"2026-12-25"`); dates of a tenant are
/// read in the tenant's time zone.
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
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
        MoneySum::from(cents).into()
    }
}

impl From<MoneySum> for Money {
    fn from(sum: MoneySum) -> Self {
        Self {
            amount: Decimal(sum),
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
        // A parsed `Decimal` always fits 64 bits; were it not to, the largest amount is refused
        // by every bound on money input.
        MoneyCents(i64::try_from(self.amount.0.0).unwrap_or(i64::MAX))
    }
}
