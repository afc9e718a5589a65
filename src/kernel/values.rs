//! Value types shared by several domains, each parsing its input once: money in integer cents,
//! E.164 phone numbers (with the Brazilian normalisation rules), e-mail addresses, IANA time
//! zones, billing intervals and bounded text.

use std::{fmt, str::FromStr};

use super::error::AppError;

/// An exact amount of money in cents (BRL has two decimal places).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MoneyCents(pub i64);

impl MoneyCents {
    /// Parses a decimal string such as `"49"`, `"49.9"` or `"49.90"` (at most two decimals).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let valid = !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= 2
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && !(digits.contains('.') && fraction.is_empty());
        if !valid {
            return Err(format!(
                "{raw:?} is not a decimal amount with at most two decimal places"
            ));
        }
        let whole: i64 = whole.parse().map_err(|_| format!("{raw:?} is too large"))?;
        let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
        let cents = whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(fraction))
            .ok_or_else(|| format!("{raw:?} is too large"))?;
        Ok(Self(if negative { -cents } else { cents }))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for MoneyCents {
    /// Two decimals, dot separator: `4900` → `"49.00"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_cents(f, self.0 < 0, self.0.unsigned_abs())
    }
}

fn write_cents<T>(f: &mut fmt::Formatter<'_>, negative: bool, abs: T) -> fmt::Result
where
    T: fmt::Display + Copy + From<u8> + std::ops::Div<Output = T> + std::ops::Rem<Output = T>,
{
    let sign = if negative { "-" } else { "" };
    let hundred = T::from(100);
    write!(f, "{sign}{}.{:02}", abs / hundred, abs % hundred)
}

/// A sum of stored amounts, in cents: 128 bits, so no number of 64-bit amounts overflows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct MoneySum(pub i128);

impl From<MoneyCents> for MoneySum {
    fn from(cents: MoneyCents) -> Self {
        Self(i128::from(cents.0))
    }
}

impl fmt::Display for MoneySum {
    /// Two decimals, dot separator: `4900` → `"49.00"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        // 128-bit division and formatting cost several times the 64-bit ones, and every amount
        // in a response (500 on a page) is formatted here.
        match u64::try_from(abs) {
            Ok(narrow) => write_cents(f, self.0 < 0, narrow),
            Err(_) => write_cents(f, self.0 < 0, abs),
        }
    }
}

/// The largest amount a client may send: R$ 1,000,000.00, so sums of many amounts stay far
/// inside 64-bit cents.
pub const MAX_MONEY_INPUT: MoneyCents = MoneyCents(100_000_000);

/// A validated price: zero to [`MAX_MONEY_INPUT`].
pub fn parse_price(price: MoneyCents) -> Result<MoneyCents, AppError> {
    if price.is_negative() {
        return Err(AppError::bad_input("price", "price must not be negative"));
    }
    if price > MAX_MONEY_INPUT {
        return Err(AppError::bad_input(
            "price",
            format!("price must be at most {MAX_MONEY_INPUT}"),
        ));
    }
    Ok(price)
}

/// A normalised (trimmed, lower-case), syntactically valid e-mail address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let value = raw.trim().to_lowercase();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            })
            && value.matches('@').count() == 1
            && !value.chars().any(char::is_whitespace);
        if valid {
            Ok(Self(value))
        } else {
            Err(AppError::bad_input("email", "invalid e-mail address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text form of enums stored in the database and shown in the API (`"PAST_DUE"`), derived
/// once with strum (`IntoStaticStr` + `EnumString`, `SCREAMING_SNAKE_CASE`).
pub trait EnumStr: Copy + Into<&'static str> + FromStr {
    fn as_str(self) -> &'static str {
        self.into()
    }

    /// Decodes a stored value; an unknown one is a bug or a newer schema, so INTERNAL.
    fn parse_stored(raw: &str) -> Result<Self, AppError> {
        raw.parse().map_err(|_| {
            anyhow::anyhow!("unknown {} {raw:?}", std::any::type_name::<Self>()).into()
        })
    }
}

impl<T: Copy + Into<&'static str> + FromStr> EnumStr for T {}

/// Billing interval of a plan.
#[derive(
    async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString,
)]
#[graphql(name = "BillingInterval")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum BillingInterval {
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every twelve months.
    Yearly,
}

impl BillingInterval {
    /// Calendar months per cycle.
    pub fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Yearly => 12,
        }
    }
}

/// A phone number in E.164 form (`+5511987654321`).
///
/// Brazilian numbers are accepted with or without `+55`, with or without punctuation, with a
/// leading trunk `0`, and with or without the mobile ninth digit: every form of one mobile maps
/// to the same 13-digit number, so a customer typed in the dashboard and the same customer
/// writing on WhatsApp (digits only, sometimes without the ninth digit) are one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct E164Phone(String);

impl E164Phone {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let invalid = || AppError::bad_input("phone", format!("invalid phone number: {raw:?}"));
        let trimmed = raw.trim();
        if trimmed
            .chars()
            .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)))
        {
            return Err(invalid());
        }
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if trimmed.starts_with("00") {
            digits.drain(..2);
        }
        let national = if international {
            match digits.strip_prefix("55") {
                Some(rest) => rest.to_owned(),
                None if (8..=15).contains(&digits.len()) && !digits.starts_with('0') => {
                    return Ok(Self(format!("+{digits}")));
                }
                None => return Err(invalid()),
            }
        } else if digits.starts_with("55") && (digits.len() == 12 || digits.len() == 13) {
            digits[2..].to_owned()
        } else if let Some(rest) = digits
            .strip_prefix('0')
            .filter(|r| r.len() == 10 || r.len() == 11)
        {
            rest.to_owned()
        } else {
            digits
        };
        Self::brazilian(&national).ok_or_else(invalid)
    }

    fn brazilian(national: &str) -> Option<Self> {
        if national.len() != 10 && national.len() != 11 {
            return None;
        }
        let (ddd, subscriber) = national.split_at(2);
        if ddd.bytes().any(|b| b == b'0') {
            return None;
        }
        let subscriber = match (subscriber.len(), subscriber.as_bytes()[0]) {
            (9, b'9') => subscriber.to_owned(),
            (8, b'6'..=b'9') => format!("9{subscriber}"),
            (8, b'2'..=b'5') => subscriber.to_owned(),
            _ => return None,
        };
        Some(Self(format!("+55{ddd}{subscriber}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for E164Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone (`America/Sao_Paulo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub const DEFAULT: Self = Self(chrono_tz::America::Sao_Paulo);

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        chrono_tz::Tz::from_str(raw.trim()).map(Self).map_err(|_| {
            AppError::bad_input("timeZone", format!("unknown IANA time zone: {raw:?}"))
        })
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// A required single-line text such as a name: trimmed, 1 to `max` characters.
pub fn parse_required_text(field: &'static str, raw: &str, max: usize) -> Result<String, AppError> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} must have between 1 and {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// An optional free-text field: trimmed, empty means none, bounded length.
pub fn parse_optional_text(
    field: &'static str,
    raw: Option<String>,
    max: usize,
) -> Result<Option<String>, AppError> {
    let Some(text) = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} must have at most {max} characters"),
        ));
    }
    Ok(Some(text))
}

/// A whole number within `bounds` (settings, durations).
pub fn parse_in_range(
    field: &'static str,
    value: i32,
    bounds: std::ops::RangeInclusive<i32>,
) -> Result<i32, AppError> {
    if bounds.contains(&value) {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            field,
            format!(
                "{field} must be between {} and {}",
                bounds.start(),
                bounds.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ana@Salon.COM ").unwrap().as_str(),
            "ana@salon.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@salon.com",
            "ana@salon",
            "a b@salon.com",
            "a@@b.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn money_parses_exactly() {
        assert_eq!(MoneyCents::parse("49").unwrap(), MoneyCents(4900));
        assert_eq!(MoneyCents::parse("49.9").unwrap(), MoneyCents(4990));
        assert_eq!(MoneyCents::parse("0.07").unwrap(), MoneyCents(7));
        assert_eq!(MoneyCents::parse("-1.50").unwrap(), MoneyCents(-150));
        for bad in ["", "4.999", "abc", "1,50", "49.", ".5", "1e3", "--1"] {
            assert!(MoneyCents::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(MoneyCents(4900).to_string(), "49.00");
        assert_eq!(MoneyCents(7).to_string(), "0.07");
        assert_eq!(MoneyCents(-150).to_string(), "-1.50");
        assert_eq!(
            MoneySum(i128::from(i64::MAX) * 2).to_string(),
            "184467440737095516.14"
        );
    }

    #[test]
    fn brazilian_mobiles_have_one_form() {
        for raw in [
            "+55 11 98765-4321",
            "5511987654321",
            "11987654321",
            "(11) 98765-4321",
            "551187654321",
            "1187654321",
            "011987654321",
            "+55 (11) 8765-4321",
        ] {
            assert_eq!(
                E164Phone::parse(raw).unwrap().as_str(),
                "+5511987654321",
                "{raw}"
            );
        }
    }

    #[test]
    fn landlines_and_foreign_numbers() {
        assert_eq!(
            E164Phone::parse("(11) 3456-7890").unwrap().as_str(),
            "+551134567890"
        );
        assert_eq!(
            E164Phone::parse("+1 415 555 2671").unwrap().as_str(),
            "+14155552671"
        );
        for bad in [
            "",
            "123",
            "+55 00 98765-4321",
            "11 1234-567",
            "abc",
            "+55 11 18765-4321",
        ] {
            assert!(E164Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            TimeZone::parse("America/Sao_Paulo").unwrap(),
            TimeZone::DEFAULT
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }
}
