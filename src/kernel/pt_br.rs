//! How customers read money and dates: Brazilian Portuguese (`R$ 1.234,50`, `ter, 03/12`,
//! `terça-feira, 03/12 às 10:00`). Times are formatted in the zone they are given in (the
//! tenant's).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Weekday};

use super::values::MoneyCents;

/// `R$ 1.234,50`.
pub fn money(amount: MoneyCents) -> String {
    let sign = if amount.is_negative() { "-" } else { "" };
    let cents = amount.0.unsigned_abs();
    let reais = (cents / 100).to_string();
    let mut grouped = String::with_capacity(reais.len() + reais.len() / 3);
    for (i, digit) in reais.chars().enumerate() {
        if i > 0 && (reais.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("{sign}R$ {grouped},{:02}", cents % 100)
}

fn weekday_short(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "seg",
        Weekday::Tue => "ter",
        Weekday::Wed => "qua",
        Weekday::Thu => "qui",
        Weekday::Fri => "sex",
        Weekday::Sat => "sáb",
        Weekday::Sun => "dom",
    }
}

/// `terça-feira`.
pub fn weekday_long(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "segunda-feira",
        Weekday::Tue => "terça-feira",
        Weekday::Wed => "quarta-feira",
        Weekday::Thu => "quinta-feira",
        Weekday::Fri => "sexta-feira",
        Weekday::Sat => "sábado",
        Weekday::Sun => "domingo",
    }
}

/// `ter, 03/12`.
pub fn short_date(date: NaiveDate) -> String {
    format!(
        "{}, {}",
        weekday_short(date.weekday()),
        date.format("%d/%m")
    )
}

/// `10:00`.
pub fn time<Tz: TimeZone>(at: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    at.format("%H:%M").to_string()
}

/// `terça-feira, 03/12 às 10:00`.
pub fn long_date_time<Tz: TimeZone>(at: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    format!(
        "{}, {} às {}",
        weekday_long(at.weekday()),
        at.format("%d/%m"),
        time(at)
    )
}

/// `30 min`, `1h`, `1h30`.
pub fn duration(minutes: i32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}"),
    }
}

#[cfg(test)]
mod tests {
    use chrono_tz::America::Sao_Paulo;

    use super::*;

    #[test]
    fn money_and_dates_read_as_in_brazil() {
        assert_eq!(money(MoneyCents(123_450)), "R$ 1.234,50");
        assert_eq!(money(MoneyCents(5)), "R$ 0,05");
        assert_eq!(money(MoneyCents(100_000_000)), "R$ 1.000.000,00");
        assert_eq!(money(MoneyCents(-4_900)), "-R$ 49,00");
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(short_date(date), "ter, 01/12");
        let at = Sao_Paulo.with_ymd_and_hms(2026, 12, 5, 9, 5, 0).unwrap();
        assert_eq!(long_date_time(&at), "sábado, 05/12 às 09:05");
        assert_eq!(duration(30), "30 min");
        assert_eq!(duration(60), "1h");
        assert_eq!(duration(90), "1h30");
    }
}
