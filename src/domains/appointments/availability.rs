//! The availability engine: pure functions over a tenant's schedule, its active appointments and
//! the clock. No I/O, so it is unit-tested directly and benchmarked.
//!
//! All date logic happens in the tenant's zone: a slot is a wall-clock start inside an open range
//! of a local date, converted to an instant. Wall times that do not exist (a DST gap) are not
//! offered; ambiguous ones (the repeated hour) take their first occurrence.

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc,
};

use crate::{
    domains::operating_hours::model::{OpenInterval, Schedule, Weekday},
    kernel::values::TimeZone,
};

/// A bookable interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// What a slot search looks for.
#[derive(Clone, Copy, Debug)]
pub struct SlotQuery {
    pub zone: TimeZone,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub duration_minutes: i32,
    pub step_minutes: i32,
    pub min_notice_minutes: i32,
    pub horizon_days: i32,
    /// Whether subscriber-only ranges are open to this customer.
    pub subscriber: bool,
}

impl SlotQuery {
    /// The local dates the search touches (their exceptions must be loaded).
    pub fn local_dates(&self) -> (NaiveDate, NaiveDate) {
        (
            self.from.with_timezone(&self.zone.0).date_naive(),
            self.to.with_timezone(&self.zone.0).date_naive(),
        )
    }
}

/// The instant of a wall-clock time on a local date, or `None` inside a DST gap.
pub fn local_instant(zone: TimeZone, date: NaiveDate, minute_of_day: i32) -> Option<DateTime<Utc>> {
    let naive = if minute_of_day >= 24 * 60 {
        NaiveDateTime::new(date.succ_opt()?, NaiveTime::MIN)
            + Duration::minutes(i64::from(minute_of_day - 24 * 60))
    } else {
        NaiveDateTime::new(date, NaiveTime::MIN) + Duration::minutes(i64::from(minute_of_day))
    };
    match zone.0.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// Free slots in `[query.from, query.to)`. `busy` are the active appointments overlapping the
/// window, sorted by start; active appointments never overlap, so they are sorted by end too.
pub fn free_slots(
    schedule: &Schedule,
    busy: &[(DateTime<Utc>, DateTime<Utc>)],
    query: &SlotQuery,
) -> Vec<Slot> {
    let duration = Duration::minutes(i64::from(query.duration_minutes));
    let step = query.step_minutes.max(1);
    let earliest = query
        .from
        .max(query.now + Duration::minutes(i64::from(query.min_notice_minutes)));
    let latest = query
        .to
        .min(query.now + Duration::days(i64::from(query.horizon_days)));
    let (first_date, last_date) = query.local_dates();
    let mut slots = Vec::new();
    let mut next_busy = 0;
    let mut date = first_date;
    while date <= last_date {
        for interval in schedule.open_intervals(date) {
            if interval.only_for_subscribers && !query.subscriber {
                continue;
            }
            let (open, close) = (
                i32::from(interval.start.minutes()),
                i32::from(interval.end.minutes()),
            );
            let mut minute = open;
            while minute + query.duration_minutes <= close {
                if let Some(starts_at) = local_instant(query.zone, date, minute) {
                    let ends_at = starts_at + duration;
                    if starts_at >= earliest && starts_at < latest {
                        while next_busy < busy.len() && busy[next_busy].1 <= starts_at {
                            next_busy += 1;
                        }
                        let taken = busy.get(next_busy).is_some_and(|b| b.0 < ends_at);
                        if !taken {
                            slots.push(Slot { starts_at, ends_at });
                        }
                    }
                }
                minute += step;
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    slots
}

/// Why a booking falls outside the tenant's hours (messages in Portuguese, for people).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutsideHours {
    ClosedDay(Weekday),
    OutsideRanges,
    SubscribersOnly,
}

impl OutsideHours {
    pub fn message(&self) -> String {
        match self {
            Self::ClosedDay(day) => format!("Não há expediente neste dia ({}).", day.name_pt()),
            Self::OutsideRanges => {
                "O horário escolhido está fora do horário de funcionamento.".to_owned()
            }
            Self::SubscribersOnly => "Este horário é exclusivo para assinantes.".to_owned(),
        }
    }
}

/// Whether `[starts_at, starts_at + duration)` lies inside one open range of its local day.
pub fn check_within_hours(
    schedule: &Schedule,
    zone: TimeZone,
    starts_at: DateTime<Utc>,
    duration_minutes: i32,
    subscriber: bool,
) -> Result<(), OutsideHours> {
    let local = starts_at.with_timezone(&zone.0);
    let date = local.date_naive();
    let intervals = schedule.open_intervals(date);
    if intervals.is_empty() {
        return Err(OutsideHours::ClosedDay(Weekday::of(date)));
    }
    let ends_at = starts_at + Duration::minutes(i64::from(duration_minutes));
    let fits = |interval: &OpenInterval| {
        let open = local_instant(zone, date, i32::from(interval.start.minutes()));
        let close = local_instant(zone, date, i32::from(interval.end.minutes()));
        matches!((open, close), (Some(open), Some(close)) if open <= starts_at && ends_at <= close)
    };
    match intervals.iter().find(|i| fits(i)) {
        Some(interval) if interval.only_for_subscribers && !subscriber => {
            if intervals.iter().any(|i| !i.only_for_subscribers && fits(i)) {
                Ok(())
            } else {
                Err(OutsideHours::SubscribersOnly)
            }
        }
        Some(_) => Ok(()),
        None => Err(OutsideHours::OutsideRanges),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domains::operating_hours::model::{DateException, LocalTime, OpeningRange},
        kernel::ids::{DateExceptionId, OpeningRangeId},
    };
    use uuid::Uuid;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn range(weekday: Weekday, start: &str, end: &str, only_for_subscribers: bool) -> OpeningRange {
        OpeningRange {
            id: OpeningRangeId(Uuid::now_v7()),
            weekday,
            start: LocalTime::parse("start", start).unwrap(),
            end: LocalTime::parse("end", end).unwrap(),
            only_for_subscribers,
        }
    }

    fn every_day(start: &str, end: &str) -> Schedule {
        Schedule {
            ranges: Weekday::ALL
                .iter()
                .map(|d| range(*d, start, end, false))
                .collect(),
            exceptions: vec![],
        }
    }

    fn query(zone: &str, from: &str, to: &str, now: &str) -> SlotQuery {
        SlotQuery {
            zone: TimeZone::parse(zone).unwrap(),
            from: utc(from),
            to: utc(to),
            now: utc(now),
            duration_minutes: 60,
            step_minutes: 30,
            min_notice_minutes: 0,
            horizon_days: 60,
            subscriber: false,
        }
    }

    fn starts(slots: &[Slot]) -> Vec<String> {
        slots.iter().map(|s| s.starts_at.to_rfc3339()).collect()
    }

    #[test]
    fn slots_fit_the_duration_and_skip_busy_time() {
        let schedule = every_day("09:00", "12:00");
        let q = query(
            "America/Sao_Paulo",
            "2026-12-01T00:00:00-03:00",
            "2026-12-02T00:00:00-03:00",
            "2026-11-30T12:00:00-03:00",
        );
        let busy = [(
            utc("2026-12-01T10:00:00-03:00"),
            utc("2026-12-01T10:30:00-03:00"),
        )];
        assert_eq!(
            starts(&free_slots(&schedule, &busy, &q)),
            [
                "2026-12-01T12:00:00+00:00",
                "2026-12-01T13:30:00+00:00",
                "2026-12-01T14:00:00+00:00"
            ]
        );
    }

    #[test]
    fn notice_horizon_and_window_bound_the_slots() {
        let schedule = every_day("09:00", "12:00");
        let mut q = query(
            "America/Sao_Paulo",
            "2026-12-01T00:00:00-03:00",
            "2026-12-03T00:00:00-03:00",
            "2026-12-01T09:10:00-03:00",
        );
        q.min_notice_minutes = 60;
        q.horizon_days = 1;
        let slots = starts(&free_slots(&schedule, &[], &q));
        assert_eq!(slots.first().unwrap(), "2026-12-01T13:30:00+00:00");
        assert_eq!(slots.last().unwrap(), "2026-12-02T12:00:00+00:00");
    }

    #[test]
    fn a_week_across_a_dst_change_keeps_wall_clock_hours() {
        // New York springs forward on 2026-03-08 at 02:00.
        let schedule = every_day("01:00", "04:00");
        let mut q = query(
            "America/New_York",
            "2026-03-07T00:00:00-05:00",
            "2026-03-09T00:00:00-04:00",
            "2026-03-01T00:00:00-05:00",
        );
        q.duration_minutes = 30;
        q.step_minutes = 60;
        let slots = starts(&free_slots(&schedule, &[], &q));
        assert_eq!(
            slots,
            [
                "2026-03-07T06:00:00+00:00",
                "2026-03-07T07:00:00+00:00",
                "2026-03-07T08:00:00+00:00",
                // 02:00 does not exist on the 8th; 01:00 is still EST, 03:00 is EDT.
                "2026-03-08T06:00:00+00:00",
                "2026-03-08T07:00:00+00:00",
            ]
        );
    }

    #[test]
    fn late_evening_local_slots_fall_on_the_next_utc_day() {
        let schedule = every_day("20:00", "24:00");
        let q = query(
            "America/Sao_Paulo",
            "2026-12-01T00:00:00-03:00",
            "2026-12-02T00:00:00-03:00",
            "2026-11-30T00:00:00-03:00",
        );
        let slots = starts(&free_slots(&schedule, &[], &q));
        assert_eq!(slots.first().unwrap(), "2026-12-01T23:00:00+00:00");
        assert_eq!(slots.last().unwrap(), "2026-12-02T02:00:00+00:00");
        assert_eq!(slots.len(), 7);
    }

    #[test]
    fn subscriber_only_ranges_and_exceptions() {
        let mut schedule = Schedule {
            ranges: vec![
                range(Weekday::Tuesday, "09:00", "10:00", false),
                range(Weekday::Tuesday, "10:00", "11:00", true),
            ],
            exceptions: vec![],
        };
        let mut q = query(
            "America/Sao_Paulo",
            "2026-12-01T00:00:00-03:00",
            "2026-12-02T00:00:00-03:00",
            "2026-11-30T00:00:00-03:00",
        );
        assert_eq!(free_slots(&schedule, &[], &q).len(), 1);
        q.subscriber = true;
        assert_eq!(free_slots(&schedule, &[], &q).len(), 2);

        let tuesday = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        schedule.exceptions.push(DateException {
            id: DateExceptionId(Uuid::now_v7()),
            date: tuesday,
            hours: None,
            reason: None,
        });
        assert!(free_slots(&schedule, &[], &q).is_empty());
        let at = utc("2026-12-01T09:00:00-03:00");
        assert_eq!(
            check_within_hours(&schedule, q.zone, at, 60, true),
            Err(OutsideHours::ClosedDay(Weekday::Tuesday))
        );
    }

    #[test]
    fn bookings_must_fit_one_open_range() {
        let schedule = Schedule {
            ranges: vec![
                range(Weekday::Tuesday, "09:00", "12:00", false),
                range(Weekday::Tuesday, "14:00", "18:00", true),
            ],
            exceptions: vec![],
        };
        let zone = TimeZone::DEFAULT;
        assert_eq!(
            check_within_hours(&schedule, zone, utc("2026-12-01T11:00:00-03:00"), 60, false),
            Ok(())
        );
        assert_eq!(
            check_within_hours(&schedule, zone, utc("2026-12-01T11:30:00-03:00"), 60, false),
            Err(OutsideHours::OutsideRanges)
        );
        assert_eq!(
            check_within_hours(&schedule, zone, utc("2026-12-01T15:00:00-03:00"), 60, false),
            Err(OutsideHours::SubscribersOnly)
        );
        assert_eq!(
            check_within_hours(&schedule, zone, utc("2026-12-01T15:00:00-03:00"), 60, true),
            Ok(())
        );
        assert_eq!(
            check_within_hours(&schedule, zone, utc("2026-12-02T10:00:00-03:00"), 60, true),
            Err(OutsideHours::ClosedDay(Weekday::Wednesday))
        );
    }
}
