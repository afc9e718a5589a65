//! The AI assistant's types: a billing month, the usage of a call and its sums, and a remembered
//! turn.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::{
    clients::gemini::{Content, Usage},
    kernel::{
        error::AppError,
        ids::{ConversationId, MessageId, TenantId},
        values::TimeZone,
    },
};

/// A calendar month, `YYYY-MM`: usage is billed by the month of the tenant's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillingMonth {
    year: i32,
    month: u32,
}

impl BillingMonth {
    /// `"2026-12"`: four-digit year, two-digit month.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let invalid = || AppError::bad_input("month", "month must be YYYY-MM, e.g. 2026-12");
        let (year, month) = raw.trim().split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u32 = month.parse().map_err(|_| invalid())?;
        NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(invalid)?;
        Ok(Self { year, month })
    }

    /// The month `at` falls in, in `zone`.
    pub fn of(at: DateTime<Utc>, zone: &TimeZone) -> Self {
        let local = at.with_timezone(&zone.0);
        Self {
            year: local.year(),
            month: local.month(),
        }
    }
}

impl std::fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One language-model call to record.
#[derive(Clone, Debug)]
pub struct NewUsage {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub month: BillingMonth,
    pub model: String,
    pub usage: Usage,
}

/// The usage of a tenant (or of every tenant) in a month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageSummary {
    pub calls: i64,
    pub prompt_tokens: i64,
    /// Candidates plus thoughts, as Google bills them.
    pub output_tokens: i64,
    pub total_tokens: i64,
    /// Distinct conversations the assistant answered.
    pub conversations: i64,
}

impl UsageSummary {
    /// The estimated cost in millionths of the price currency, from prices per million tokens
    /// given in the same millionths.
    pub fn cost_micros(&self, input_price_micros: i64, output_price_micros: i64) -> i128 {
        let input = i128::from(self.prompt_tokens) * i128::from(input_price_micros);
        let output = i128::from(self.output_tokens) * i128::from(output_price_micros);
        (input + output) / 1_000_000
    }
}

/// A remembered turn: what the model saw and said, and the reply it produced.
#[derive(Clone, Debug)]
pub struct RememberedTurn {
    pub contents: Vec<Content>,
    pub reply: String,
    pub needs_attention: bool,
    pub estimated_tokens: i32,
}

/// A turn to remember, keyed by its conversation and the last customer message it answered.
pub struct NewTurn {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub inbound_message_id: MessageId,
    pub contents: Vec<Content>,
    pub reply: String,
    pub needs_attention: bool,
}

/// The size in tokens of contents stored as `json`, roughly (four characters a token): enough
/// to keep a history budget.
pub fn estimate_tokens(json: &str) -> i32 {
    i32::try_from(json.len().div_ceil(4)).unwrap_or(i32::MAX)
}

/// `12.345678` from millionths.
pub fn format_micros(micros: i128) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_billing_month_is_read_in_the_tenants_zone() {
        let zone = TimeZone::DEFAULT;
        // 02:00 UTC on 1 December is still November in São Paulo (UTC-3).
        let at = DateTime::parse_from_rfc3339("2026-12-01T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(BillingMonth::of(at, &zone).to_string(), "2026-11");
        assert_eq!(
            BillingMonth::parse("2026-12").unwrap().to_string(),
            "2026-12"
        );
        for bad in ["2026-13", "2026-1", "26-12", "2026/12", "", "2026-00"] {
            assert!(BillingMonth::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn costs_are_exact_in_millionths() {
        let usage = UsageSummary {
            prompt_tokens: 1_000_000,
            output_tokens: 200_000,
            ..UsageSummary::default()
        };
        // 1M prompt tokens at 0.30 and 0.2M output tokens at 2.50: 0.30 + 0.50.
        let cost = usage.cost_micros(300_000, 2_500_000);
        assert_eq!(format_micros(cost), "0.800000");
        assert_eq!(format_micros(1), "0.000001");
    }
}
