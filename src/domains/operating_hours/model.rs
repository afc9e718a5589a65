//! Opening-hours types.

use std::fmt;

use async_graphql::Enum;
use chrono::{Datelike, NaiveDate, Weekday as ChronoWeekday};

use crate::{
    domains::ids::{DateExceptionId, OpeningRangeId},
    error::AppError,
};

/// A day of the week.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[graphql(name = "DayOfWeek")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub const ALL: [Self; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    /// 0 = Monday … 6 = Sunday (the stored form).
    pub fn index(self) -> i16 {
        self as i16
    }

    pub fn from_index(index: i16) -> Result<Self, AppError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .ok_or_else(|| anyhow::anyhow!("weekday index {index} out of range").into())
    }

    pub fn of(date: NaiveDate) -> Self {
        match date.weekday() {
            ChronoWeekday::Mon => Self::Monday,
            ChronoWeekday::Tue => Self::Tuesday,
            ChronoWeekday::Wed => Self::Wednesday,
            ChronoWeekday::Thu => Self::Thursday,
            ChronoWeekday::Fri => Self::Friday,
            ChronoWeekday::Sat => Self::Saturday,
            ChronoWeekday::Sun => Self::Sunday,
        }
    }

    /// Portuguese name, for messages to people.
    pub fn name_pt(self) -> &'static str {
        match self {
            Self::Monday => "segunda-feira",
            Self::Tuesday => "terça-feira",
            Self::Wednesday => "quarta-feira",
            Self::Thursday => "quinta-feira",
            Self::Friday => "sexta-feira",
            Self::Saturday => "sábado",
            Self::Sunday => "domingo",
        }
    }
}

/// A wall-clock time of day, minutes since local midnight (0..=1440; 1440 closes at midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(pub i16);

impl LocalTime {
    /// Parses `"HH:MM"` (`"24:00"` allowed as an end of day).
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, AppError> {
        let invalid =
            || AppError::bad_input(field, format!("{raw:?} is not a time in HH:MM format"));
        let (hours, minutes) = raw.trim().split_once(':').ok_or_else(invalid)?;
        if hours.len() != 2 || minutes.len() != 2 {
            return Err(invalid());
        }
        let hours: i16 = hours.parse().map_err(|_| invalid())?;
        let minutes: i16 = minutes.parse().map_err(|_| invalid())?;
        if !(0..60).contains(&minutes)
            || !(0..=24).contains(&hours)
            || (hours == 24 && minutes != 0)
        {
            return Err(invalid());
        }
        Ok(Self(hours * 60 + minutes))
    }

    pub fn minutes(self) -> i16 {
        self.0
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// One weekly opening range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningRange {
    pub id: OpeningRangeId,
    pub weekday: Weekday,
    pub start: LocalTime,
    pub end: LocalTime,
    pub only_for_subscribers: bool,
}

impl TryFrom<entity::opening_hours::Model> for OpeningRange {
    type Error = AppError;

    fn try_from(m: entity::opening_hours::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: OpeningRangeId(m.id),
            weekday: Weekday::from_index(m.weekday)?,
            start: LocalTime(m.start_minute),
            end: LocalTime(m.end_minute),
            only_for_subscribers: m.only_for_subscribers,
        })
    }
}

/// A closure (no hours) or special hours on one local date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateException {
    pub id: DateExceptionId,
    pub date: NaiveDate,
    /// `None`: closed all day; `Some`: open only in this range that day.
    pub hours: Option<(LocalTime, LocalTime)>,
    pub reason: Option<String>,
}

impl From<entity::date_exceptions::Model> for DateException {
    fn from(m: entity::date_exceptions::Model) -> Self {
        Self {
            id: DateExceptionId(m.id),
            date: m.date,
            hours: m
                .start_minute
                .zip(m.end_minute)
                .map(|(s, e)| (LocalTime(s), LocalTime(e))),
            reason: m.reason,
        }
    }
}

/// An open interval of one local day, as availability and booking see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenInterval {
    pub start: LocalTime,
    pub end: LocalTime,
    pub only_for_subscribers: bool,
}

/// A tenant's hours: the weekly ranges and the exceptions of a date window.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    pub ranges: Vec<OpeningRange>,
    pub exceptions: Vec<DateException>,
}

impl Schedule {
    /// The open intervals of `date`: special hours replace the weekly ranges that day, a closure
    /// removes them.
    pub fn open_intervals(&self, date: NaiveDate) -> Vec<OpenInterval> {
        let exceptions: Vec<&DateException> =
            self.exceptions.iter().filter(|e| e.date == date).collect();
        if !exceptions.is_empty() {
            if exceptions.iter().any(|e| e.hours.is_none()) {
                return Vec::new();
            }
            let mut special: Vec<OpenInterval> = exceptions
                .iter()
                .filter_map(|e| e.hours)
                .map(|(start, end)| OpenInterval {
                    start,
                    end,
                    only_for_subscribers: false,
                })
                .collect();
            special.sort_by_key(|i| i.start);
            return special;
        }
        let weekday = Weekday::of(date);
        let mut weekly: Vec<OpenInterval> = self
            .ranges
            .iter()
            .filter(|r| r.weekday == weekday)
            .map(|r| OpenInterval {
                start: r.start,
                end: r.end,
                only_for_subscribers: r.only_for_subscribers,
            })
            .collect();
        weekly.sort_by_key(|i| i.start);
        weekly
    }

    /// Whether `date` is closed by an exception.
    pub fn is_closed_on(&self, date: NaiveDate) -> bool {
        self.exceptions
            .iter()
            .any(|e| e.date == date && e.hours.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_parse_strictly() {
        assert_eq!(LocalTime::parse("start", "09:30").unwrap(), LocalTime(570));
        assert_eq!(LocalTime::parse("end", "24:00").unwrap(), LocalTime(1440));
        assert_eq!(LocalTime(570).to_string(), "09:30");
        for bad in ["9:30", "09:60", "25:00", "24:30", "0930", "ab:cd", ""] {
            assert!(LocalTime::parse("start", bad).is_err(), "{bad}");
        }
    }
}
