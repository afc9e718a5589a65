//! Opening-hours types.

use std::fmt;

use async_graphql::Enum;
use chrono::{Datelike, NaiveDate, Weekday as ChronoWeekday};

use crate::kernel::{
    error::AppError,
    ids::{DateExceptionId, OpeningRangeId},
};

/// A day of the week.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[graphql(name = "DayOfWeek")]
pub enum Weekday {
    /// Segunda-feira.
    Monday,
    /// Terça-feira.
    Tuesday,
    /// Quarta-feira.
    Wednesday,
    /// Quinta-feira.
    Thursday,
    /// Sexta-feira.
    Friday,
    /// Sábado.
    Saturday,
    /// Domingo.
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

/// Refusal of a range that does not end after it starts.
pub const END_NOT_AFTER_START: &str =
    "O horário de fechamento deve ser posterior ao horário de abertura";
/// Refusal of a range that overlaps another of the same day.
pub const OVERLAPPING_RANGE: &str =
    "Já existe um horário de funcionamento que conflita com este período";
/// Refusal of a second closure on one date.
pub const DATE_ALREADY_CLOSED: &str = "Já existe um fechamento nesta data";
/// Refusal of special hours on a closed date.
pub const SPECIAL_HOURS_ON_CLOSED_DATE: &str =
    "Esta data está fechada: remova o fechamento antes de definir horários especiais";
/// How many ranges one weekday (or one date's special hours) may have.
pub const MAX_RANGES_PER_DAY: usize = 10;

/// A range of one local day that ends after it starts (half-open: `[start, end)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeRange {
    pub start: LocalTime,
    pub end: LocalTime,
}

impl TimeRange {
    /// BAD_USER_INPUT unless `end` is after `start`.
    pub fn new(start: LocalTime, end: LocalTime) -> Result<Self, AppError> {
        if end <= start {
            return Err(AppError::bad_input("end", END_NOT_AFTER_START));
        }
        Ok(Self { start, end })
    }

    /// Whether the two ranges share a minute; touching ranges (`09:00–12:00`, `12:00–18:00`) do
    /// not.
    pub fn overlaps(self, other: Self) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// BAD_USER_INPUT when one day would hold more than [`MAX_RANGES_PER_DAY`] ranges.
pub fn check_day_capacity(ranges_that_day: usize) -> Result<(), AppError> {
    if ranges_that_day > MAX_RANGES_PER_DAY {
        return Err(AppError::bad_input(
            "ranges",
            format!("Cada dia pode ter no máximo {MAX_RANGES_PER_DAY} horários de funcionamento"),
        ));
    }
    Ok(())
}

/// A weekly range to store (validated: it ends after it starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeeklyRange {
    pub weekday: Weekday,
    pub range: TimeRange,
    pub only_for_subscribers: bool,
}

/// Checks a whole week at once: at most [`MAX_RANGES_PER_DAY`] ranges per weekday and no two
/// ranges of one weekday overlapping. An overlap is BAD_USER_INPUT (the input contradicts
/// itself).
pub fn check_week(week: &[WeeklyRange]) -> Result<(), AppError> {
    for weekday in Weekday::ALL {
        let mut day: Vec<TimeRange> = week
            .iter()
            .filter(|r| r.weekday == weekday)
            .map(|r| r.range)
            .collect();
        check_day_capacity(day.len())?;
        day.sort();
        if day.windows(2).any(|pair| pair[0].overlaps(pair[1])) {
            return Err(AppError::bad_input("ranges", OVERLAPPING_RANGE));
        }
    }
    Ok(())
}

/// Checks `candidate` against the other ranges of its day (the stored ones, without the range
/// being edited): CONFLICT on an overlap, BAD_USER_INPUT past the per-day bound.
pub fn check_against_day(
    candidate: TimeRange,
    others: impl IntoIterator<Item = TimeRange>,
) -> Result<(), AppError> {
    let mut count = 1;
    for other in others {
        if candidate.overlaps(other) {
            return Err(AppError::Conflict(OVERLAPPING_RANGE.into()));
        }
        count += 1;
    }
    check_day_capacity(count)
}

/// Checks a new closure (`hours` `None`) or special hours against the exceptions already on its
/// date: one closure per date, no special hours on a closed date, special hours of a date do not
/// overlap (all CONFLICT), at most [`MAX_RANGES_PER_DAY`] special ranges per date.
pub fn check_exception(
    hours: Option<TimeRange>,
    that_day: &[DateException],
) -> Result<(), AppError> {
    let closed = that_day.iter().any(|e| e.hours.is_none());
    match hours {
        None if closed => Err(AppError::Conflict(DATE_ALREADY_CLOSED.into())),
        None => Ok(()),
        Some(_) if closed => Err(AppError::Conflict(SPECIAL_HOURS_ON_CLOSED_DATE.into())),
        Some(hours) => check_against_day(
            hours,
            that_day
                .iter()
                .filter_map(|e| e.hours)
                .map(|(start, end)| TimeRange { start, end }),
        ),
    }
}

/// A free-text reason of a date exception: trimmed, empty means none, at most 200 characters.
pub fn parse_reason(raw: Option<&str>) -> Result<Option<String>, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(reason) if reason.chars().count() > 200 => Err(AppError::bad_input(
            "reason",
            "O motivo deve ter no máximo 200 caracteres",
        )),
        Some(reason) => Ok(Some(reason.to_owned())),
    }
}

/// A date window `[from, to]` to list exceptions in: `to` not before `from`, at most 366 days
/// apart.
pub fn check_date_window(from: NaiveDate, to: NaiveDate) -> Result<(), AppError> {
    if to < from {
        return Err(AppError::bad_input(
            "to",
            "A data final não pode ser anterior à data inicial",
        ));
    }
    if (to - from).num_days() > 366 {
        return Err(AppError::bad_input(
            "to",
            "O período consultado deve ter no máximo 366 dias",
        ));
    }
    Ok(())
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

impl OpeningRange {
    /// The range's hours.
    pub fn hours(&self) -> TimeRange {
        TimeRange {
            start: self.start,
            end: self.end,
        }
    }
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

    fn t(raw: &str) -> LocalTime {
        LocalTime::parse("start", raw).unwrap()
    }

    fn range(start: &str, end: &str) -> TimeRange {
        TimeRange::new(t(start), t(end)).unwrap()
    }

    fn weekly(weekday: Weekday, start: &str, end: &str) -> WeeklyRange {
        WeeklyRange {
            weekday,
            range: range(start, end),
            only_for_subscribers: false,
        }
    }

    fn message(err: AppError) -> (crate::kernel::error::ErrorCode, String) {
        (err.code(), err.public_message())
    }

    #[test]
    fn a_range_must_end_after_it_starts() {
        for (start, end) in [("10:00", "10:00"), ("18:00", "09:00")] {
            let err = TimeRange::new(t(start), t(end)).unwrap_err();
            assert_eq!(
                message(err),
                (
                    crate::kernel::error::ErrorCode::BadUserInput,
                    END_NOT_AFTER_START.to_owned()
                )
            );
        }
        assert_eq!(range("23:00", "24:00").end, LocalTime(1440));
    }

    #[test]
    fn overlap_is_shared_minutes_and_touching_is_allowed() {
        let morning = range("09:00", "12:00");
        assert!(!morning.overlaps(range("12:00", "18:00")));
        assert!(!range("12:00", "18:00").overlaps(morning));
        assert!(!morning.overlaps(range("06:00", "09:00")));
        assert!(morning.overlaps(range("11:59", "13:00")));
        assert!(morning.overlaps(range("08:00", "09:01")));
        assert!(morning.overlaps(range("10:00", "11:00")), "inside");
        assert!(morning.overlaps(range("08:00", "13:00")), "around");
        assert!(morning.overlaps(morning), "equal");
    }

    #[test]
    fn a_week_is_checked_day_by_day() {
        let week = [
            weekly(Weekday::Monday, "12:00", "18:00"),
            weekly(Weekday::Monday, "09:00", "12:00"),
            // The same hours on other days do not conflict.
            weekly(Weekday::Tuesday, "09:00", "18:00"),
            weekly(Weekday::Sunday, "10:00", "14:00"),
        ];
        check_week(&week).unwrap();
        check_week(&[]).unwrap();

        let clash = [
            weekly(Weekday::Friday, "14:00", "20:00"),
            weekly(Weekday::Monday, "09:00", "18:00"),
            weekly(Weekday::Friday, "08:00", "14:30"),
        ];
        assert_eq!(
            message(check_week(&clash).unwrap_err()),
            (
                crate::kernel::error::ErrorCode::BadUserInput,
                OVERLAPPING_RANGE.to_owned()
            )
        );
    }

    #[test]
    fn a_day_holds_at_most_ten_ranges() {
        let hour = |h: i16| LocalTime(h * 60);
        let day = |n: i16| -> Vec<WeeklyRange> {
            (0..n)
                .map(|h| WeeklyRange {
                    weekday: Weekday::Wednesday,
                    range: TimeRange::new(hour(h), hour(h + 1)).unwrap(),
                    only_for_subscribers: false,
                })
                .collect()
        };
        check_week(&day(10)).unwrap();
        let err = check_week(&day(11)).unwrap_err();
        assert_eq!(err.code(), crate::kernel::error::ErrorCode::BadUserInput);

        let stored: Vec<TimeRange> = day(10).iter().map(|r| r.range).collect();
        let err = check_against_day(range("20:00", "21:00"), stored).unwrap_err();
        assert_eq!(err.code(), crate::kernel::error::ErrorCode::BadUserInput);
    }

    #[test]
    fn a_single_range_conflicts_with_the_stored_ones() {
        let stored = [range("09:00", "12:00"), range("14:00", "18:00")];
        check_against_day(range("12:00", "14:00"), stored).unwrap();
        check_against_day(range("18:00", "24:00"), stored).unwrap();
        check_against_day(range("10:00", "11:00"), []).unwrap();
        let err = check_against_day(range("11:00", "15:00"), stored).unwrap_err();
        assert_eq!(
            message(err),
            (
                crate::kernel::error::ErrorCode::Conflict,
                OVERLAPPING_RANGE.to_owned()
            )
        );
    }

    #[test]
    fn a_date_takes_one_closure_and_special_hours_only_while_open() {
        let special = exception("2026-12-24", Some(("08:00", "12:00")));
        let closure = exception("2026-12-24", None);
        check_exception(None, &[]).unwrap();
        check_exception(None, std::slice::from_ref(&special)).unwrap();
        check_exception(
            Some(range("12:00", "14:00")),
            std::slice::from_ref(&special),
        )
        .unwrap();
        let conflicts = [
            (None, vec![closure.clone()], DATE_ALREADY_CLOSED),
            (
                Some(range("12:00", "14:00")),
                vec![special.clone(), closure],
                SPECIAL_HOURS_ON_CLOSED_DATE,
            ),
            (
                Some(range("11:00", "14:00")),
                vec![special],
                OVERLAPPING_RANGE,
            ),
        ];
        for (hours, that_day, expected) in conflicts {
            let err = check_exception(hours, &that_day).unwrap_err();
            assert_eq!(
                message(err),
                (
                    crate::kernel::error::ErrorCode::Conflict,
                    expected.to_owned()
                )
            );
        }
    }

    #[test]
    fn reasons_and_date_windows_are_bounded() {
        assert_eq!(parse_reason(None).unwrap(), None);
        assert_eq!(parse_reason(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_reason(Some(" Feriado ")).unwrap().as_deref(),
            Some("Feriado")
        );
        assert!(parse_reason(Some(&"x".repeat(201))).is_err());

        check_date_window(date("2026-01-01"), date("2026-01-01")).unwrap();
        // 2028 is a leap year: 366 days apart is the longest window.
        check_date_window(date("2028-01-01"), date("2029-01-01")).unwrap();
        assert!(check_date_window(date("2028-01-01"), date("2029-01-02")).is_err());
        assert!(check_date_window(date("2026-01-02"), date("2026-01-01")).is_err());
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn stored(
        weekday: Weekday,
        start: &str,
        end: &str,
        only_for_subscribers: bool,
    ) -> OpeningRange {
        OpeningRange {
            id: OpeningRangeId(uuid::Uuid::now_v7()),
            weekday,
            start: t(start),
            end: t(end),
            only_for_subscribers,
        }
    }

    fn exception(on: &str, hours: Option<(&str, &str)>) -> DateException {
        DateException {
            id: DateExceptionId(uuid::Uuid::now_v7()),
            date: date(on),
            hours: hours.map(|(s, e)| (t(s), t(e))),
            reason: None,
        }
    }

    fn interval(start: &str, end: &str, only_for_subscribers: bool) -> OpenInterval {
        OpenInterval {
            start: t(start),
            end: t(end),
            only_for_subscribers,
        }
    }

    /// 2026-12-21 is a Monday.
    fn schedule(exceptions: Vec<DateException>) -> Schedule {
        Schedule {
            ranges: vec![
                stored(Weekday::Monday, "14:00", "18:00", true),
                stored(Weekday::Monday, "09:00", "12:00", false),
                stored(Weekday::Tuesday, "10:00", "16:00", false),
            ],
            exceptions,
        }
    }

    #[test]
    fn weekly_ranges_apply_by_weekday_in_order_with_the_subscriber_flag() {
        let schedule = schedule(Vec::new());
        assert_eq!(Weekday::of(date("2026-12-21")), Weekday::Monday);
        assert_eq!(
            schedule.open_intervals(date("2026-12-21")),
            [
                interval("09:00", "12:00", false),
                interval("14:00", "18:00", true)
            ]
        );
        assert_eq!(
            schedule.open_intervals(date("2026-12-29")),
            [interval("10:00", "16:00", false)]
        );
        assert!(schedule.open_intervals(date("2026-12-23")).is_empty());
    }

    #[test]
    fn special_hours_replace_the_weekly_ranges_of_their_date_only() {
        let schedule = schedule(vec![
            exception("2026-12-21", Some(("15:00", "17:00"))),
            exception("2026-12-21", Some(("08:00", "10:00"))),
        ]);
        assert_eq!(
            schedule.open_intervals(date("2026-12-21")),
            [
                interval("08:00", "10:00", false),
                interval("15:00", "17:00", false)
            ]
        );
        // The next Monday keeps its weekly ranges.
        assert_eq!(schedule.open_intervals(date("2026-12-28")).len(), 2);
        assert!(!schedule.is_closed_on(date("2026-12-21")));
    }

    #[test]
    fn a_closure_empties_its_date_even_over_special_hours() {
        let schedule = schedule(vec![
            exception("2026-12-22", None),
            exception("2026-12-21", Some(("15:00", "17:00"))),
            exception("2026-12-21", None),
        ]);
        assert!(schedule.open_intervals(date("2026-12-21")).is_empty());
        assert!(schedule.open_intervals(date("2026-12-22")).is_empty());
        assert!(schedule.is_closed_on(date("2026-12-22")));
        assert!(!schedule.is_closed_on(date("2026-12-29")));
        assert_eq!(
            schedule.open_intervals(date("2026-12-29")),
            [interval("10:00", "16:00", false)]
        );
    }
}
