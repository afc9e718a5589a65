//! Finance for the dashboard: the summary of a period of the tenant's local dates, and the
//! payment list and export pages.
//!
//! Definitions (the GraphQL docs state them too):
//! - A payment counts on the local date (the tenant's zone) of its `reported_at`: when it was
//!   approved, or created when it never was.
//! - *Received*: paid at some point: APPROVED, PARTIALLY_REFUNDED, IN_MEDIATION, and REFUNDED and
//!   CHARGED_BACK (received, then returned).
//! - gross = the paid amounts of received payments; fees = their providers' fees; refunded = what
//!   went back: the whole paid amount of REFUNDED and CHARGED_BACK payments, `refunded` of the
//!   others; net = gross − fees − refunded; pending = the amounts of payments still open
//!   (PENDING, AUTHORIZED, IN_PROCESS); count = received payments; average ticket = gross / count.
//!
//! Invariants: a period is 1 to [`Period::MAX_DAYS`] local dates; a summary costs the same
//! statements whatever the number of payments: two aggregates of the rollup (`repo::days`, one
//! row per local date and group, kept exact by every payment write), run side by side. The
//! rollup's dates are the tenant's zone's, so a change of zone rebuilds it ([`rebuild_days`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone as _, Utc};
use futures_util::TryFutureExt;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

pub use super::repo::finance::{Direction, PaymentFilter};
use super::{
    model::{Payment, PaymentMethod, PaymentProvider, PaymentStatus},
    repo::{
        days::{self, Sums},
        finance as repo,
    },
};
use crate::{
    kernel::{
        error::{AppError, AppResult},
        ids::{ServiceId, TenantId},
        values::{MoneySum, TimeZone},
        viewer::Viewer,
    },
    state::AppState,
};

/// Every payment status, in the order reports list them.
pub const STATUSES: [PaymentStatus; 10] = [
    PaymentStatus::Pending,
    PaymentStatus::Authorized,
    PaymentStatus::InProcess,
    PaymentStatus::Approved,
    PaymentStatus::Rejected,
    PaymentStatus::Canceled,
    PaymentStatus::Refunded,
    PaymentStatus::PartiallyRefunded,
    PaymentStatus::ChargedBack,
    PaymentStatus::InMediation,
];

/// Whether the money of a payment in `status` was received (and may have gone back since).
pub fn received(status: PaymentStatus) -> bool {
    status.is_paid() || status.is_returned()
}

/// An inclusive range of local dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The longest period a report or an export covers: a year, leap day included.
    pub const MAX_DAYS: i64 = 366;

    /// `to` on or after `from`, at most [`Self::MAX_DAYS`] dates (BAD_USER_INPUT on `to`).
    pub fn parse(from: NaiveDate, to: NaiveDate) -> AppResult<Self> {
        if to < from {
            return Err(AppError::bad_input("to", "to must not be before from"));
        }
        if (to - from).num_days() >= Self::MAX_DAYS {
            return Err(AppError::bad_input(
                "to",
                format!("a period covers at most {} days", Self::MAX_DAYS),
            ));
        }
        Ok(Self { from, to })
    }

    /// Its dates, in order.
    pub fn dates(self) -> impl Iterator<Item = NaiveDate> {
        self.from
            .iter_days()
            .take_while(move |date| *date <= self.to)
    }

    /// `[start of from, start of the day after to)` in `zone`.
    pub fn instants(self, zone: TimeZone) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            start_of_day(zone, self.from),
            start_of_day(zone, self.to + Duration::days(1)),
        )
    }
}

/// The first instant of a local date. Where a DST change skips midnight, the day starts when
/// the clocks jump (the first wall time that exists that day, probed every 15 minutes, the
/// granularity of every zone's offsets).
pub fn start_of_day(zone: TimeZone, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..=24 * 4)
        .find_map(|quarter| {
            zone.0
                .from_local_datetime(&(midnight + Duration::minutes(15 * quarter)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

fn offset_at(zone: TimeZone, at: DateTime<Utc>) -> i64 {
    i64::from(
        zone.0
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The offsets of `zone` in `[from, to)`: the one at `from`, then one per transition, found by
/// comparing day to day and bisecting to the second (a zone changes at most a few times a year,
/// never twice in a day, and always on a whole second).
fn offsets(zone: TimeZone, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, i64)> {
    let offset_at_second =
        |second: i64| DateTime::from_timestamp(second, 0).map(|at| offset_at(zone, at));
    let mut found = vec![(from, offset_at(zone, from))];
    let (mut second, end) = (from.timestamp(), to.timestamp());
    while second < end {
        let next = (second + 86_400).min(end);
        let current = found.last().map_or(0, |(_, offset)| *offset);
        if let Some(changed) = offset_at_second(next).filter(|offset| *offset != current) {
            let (mut before, mut after) = (second, next);
            while after - before > 1 {
                let middle = before + (after - before) / 2;
                if offset_at_second(middle) == Some(current) {
                    before = middle;
                } else {
                    after = middle;
                }
            }
            let at = DateTime::from_timestamp(after, 0).unwrap_or(to);
            found.push((at, offset_at_second(after).unwrap_or(changed)));
        }
        second = next;
    }
    found
}

/// Money and count of a part of the payments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Share {
    pub gross: MoneySum,
    pub count: u64,
}

/// The figures of one local date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayFigures {
    pub date: NaiveDate,
    pub gross: MoneySum,
    pub net: MoneySum,
    pub count: u64,
}

/// The payments of one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusFigures {
    pub status: PaymentStatus,
    pub count: u64,
    /// What these payments owe (the price snapshots).
    pub amount: MoneySum,
}

/// The finance page's figures over a period (see the module's definitions).
#[derive(Clone, Debug)]
pub struct FinanceSummary {
    pub period: Period,
    pub gross: MoneySum,
    pub fees: MoneySum,
    pub refunded: MoneySum,
    pub net: MoneySum,
    pub pending: MoneySum,
    pub count: u64,
    pub average_ticket: MoneySum,
    /// Every status, in [`STATUSES`] order (zeros included).
    pub by_status: Vec<StatusFigures>,
    /// Every date of the period, in order (zeros included).
    pub by_day: Vec<DayFigures>,
    /// Received payments per service (`None`: payments for no service), largest gross first.
    pub by_service: Vec<(Option<ServiceId>, Share)>,
    /// Received payments per method (a method the provider did not tell is OTHER), largest first.
    pub by_method: Vec<(PaymentMethod, Share)>,
    /// Received payments per provider, largest first.
    pub by_provider: Vec<(PaymentProvider, Share)>,
}

/// Money figures of received payments, in cents.
#[derive(Clone, Copy, Debug, Default)]
struct Received {
    count: u64,
    gross: i128,
    fees: i128,
    refunded: i128,
}

impl Received {
    fn add(&mut self, status: PaymentStatus, sums: &Sums) {
        if !received(status) {
            return;
        }
        self.count += sums.count;
        self.gross += i128::from(sums.paid);
        self.fees += i128::from(sums.fees);
        // A whole refund or a chargeback returns everything paid, whatever was recorded as
        // refunded before it.
        self.refunded += i128::from(if status.is_returned() {
            sums.paid
        } else {
            sums.refunded
        });
    }

    fn net(self) -> MoneySum {
        MoneySum(self.gross - self.fees - self.refunded)
    }

    fn share(self) -> Share {
        Share {
            gross: MoneySum(self.gross),
            count: self.count,
        }
    }
}

/// Received payments per key, in the order keys were met (a handful: linear lookups).
struct Tally<K>(Vec<(K, Received)>);

impl<K: PartialEq> Tally<K> {
    fn add(&mut self, key: K, status: PaymentStatus, sums: &Sums) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, part)) => part.add(status, sums),
            None => {
                let mut part = Received::default();
                part.add(status, sums);
                self.0.push((key, part));
            }
        }
    }

    /// Largest gross first, then most payments, then by `tie`, so the answer is stable.
    fn ranked<T: Ord>(self, tie: impl Fn(&K) -> T) -> Vec<(K, Share)> {
        let mut ranked: Vec<(K, Share)> = self
            .0
            .into_iter()
            .map(|(key, part)| (key, part.share()))
            .collect();
        ranked.sort_by(|(ka, a), (kb, b)| {
            b.gross
                .0
                .cmp(&a.gross.0)
                .then(b.count.cmp(&a.count))
                .then_with(|| tie(ka).cmp(&tie(kb)))
        });
        ranked
    }
}

/// `gross / count` to the nearest cent (halves away from zero), 0 without payments.
fn average(gross: i128, count: u64) -> MoneySum {
    let count = i128::from(count);
    if count == 0 {
        return MoneySum(0);
    }
    let (quotient, remainder) = (gross / count, gross % count);
    MoneySum(quotient + i128::from(2 * remainder.abs() >= count) * gross.signum())
}

/// The finance summary of the viewer's tenant over `period` of local dates in its zone (the
/// rollup's).
pub async fn summary(
    state: &AppState,
    viewer: &Viewer,
    period: Period,
) -> AppResult<FinanceSummary> {
    let tenant = viewer.tenant()?;
    let (from, to) = (days::day_number(period.from), days::day_number(period.to));
    // Independent reads on separate pool connections: the summary waits for the slower one.
    let (groups, by_day) = futures_util::try_join!(
        days::groups(&state.db, tenant, from, to),
        days::by_local_day(&state.db, tenant, from, to),
    )?;
    Ok(summarize(period, &groups, &by_day))
}

/// Recomputes the tenant's finance rollup from its payments with their days in `zone`, in the
/// caller's transaction `conn`: what a change of the tenant's zone runs in its own (and what rows
/// written around the payments repo, as by a bulk load, need).
pub async fn rebuild_days(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    zone: TimeZone,
) -> AppResult<()> {
    days::rebuild(conn, tenant, |from, to| offsets(zone, from, to)).await?;
    Ok(())
}

fn summarize(period: Period, groups: &[days::Group], by_day: &[days::DayGroup]) -> FinanceSummary {
    let mut total = Received::default();
    let mut pending = 0_i128;
    let mut by_status = [(0_u64, 0_i128); STATUSES.len()];
    let mut by_service = Tally(Vec::new());
    let mut by_method = Tally(Vec::new());
    let mut by_provider = Tally(Vec::new());
    for group in groups {
        if let Some(index) = STATUSES.iter().position(|status| *status == group.status) {
            by_status[index].0 += group.sums.count;
            by_status[index].1 += i128::from(group.sums.owed);
        }
        if group.status.is_open() {
            pending += i128::from(group.sums.owed);
        }
        total.add(group.status, &group.sums);
        if received(group.status) {
            let method = group.method.unwrap_or(PaymentMethod::Other);
            by_service.add(group.service, group.status, &group.sums);
            by_method.add(method, group.status, &group.sums);
            by_provider.add(group.provider, group.status, &group.sums);
        }
    }
    let mut per_day: HashMap<NaiveDate, Received> = HashMap::new();
    for day in by_day {
        per_day
            .entry(day.date)
            .or_default()
            .add(day.status, &day.sums);
    }
    FinanceSummary {
        period,
        gross: MoneySum(total.gross),
        fees: MoneySum(total.fees),
        refunded: MoneySum(total.refunded),
        net: total.net(),
        pending: MoneySum(pending),
        count: total.count,
        average_ticket: average(total.gross, total.count),
        by_status: STATUSES
            .into_iter()
            .zip(by_status)
            .map(|(status, (count, amount))| StatusFigures {
                status,
                count,
                amount: MoneySum(amount),
            })
            .collect(),
        by_day: period
            .dates()
            .map(|date| {
                let day = per_day.get(&date).copied().unwrap_or_default();
                DayFigures {
                    date,
                    gross: MoneySum(day.gross),
                    net: day.net(),
                    count: day.count,
                }
            })
            .collect(),
        by_service: by_service.ranked(|service| service.map(|id| id.0)),
        by_method: by_method.ranked(|method| <&str>::from(*method)),
        by_provider: by_provider.ranked(|provider| <&str>::from(*provider)),
    }
}

/// The UTC bounds of a filter's optional local dates `from` and `to` (inclusive).
pub fn date_bounds(
    zone: TimeZone,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    (
        from.map(|date| start_of_day(zone, date)),
        to.map(|date| start_of_day(zone, date + Duration::days(1))),
    )
}

/// A page of the viewer's payments (each with the instant it counts on, its cursor), newest
/// first past the keyset cursor `after`, whether more follow, and how many match in all.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    filter: &PaymentFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<(Vec<(DateTime<Utc>, Payment)>, bool, u64)> {
    let tenant = viewer.tenant()?;
    // Independent reads on separate pool connections: the page's latency is the slower of them.
    let (mut rows, total) = futures_util::try_join!(
        repo::list_page(
            &state.db,
            tenant,
            filter,
            Direction::NewestFirst,
            after,
            limit + 1
        ),
        repo::count(&state.db, tenant, filter).err_into(),
    )?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((rows, has_next, total))
}

/// The next chunk of an export: the tenant's payments (each with the instant it counts on) in
/// time order past `after`, without a count.
pub async fn export_chunk(
    state: &AppState,
    tenant: TenantId,
    filter: &PaymentFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Vec<(DateTime<Utc>, Payment)>> {
    repo::list_page(
        &state.db,
        tenant,
        filter,
        Direction::OldestFirst,
        after,
        limit,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_are_bounded() {
        assert!(Period::parse(date("2026-01-01"), date("2026-12-31")).is_ok());
        assert!(Period::parse(date("2028-01-01"), date("2028-12-31")).is_ok());
        assert!(Period::parse(date("2026-01-01"), date("2027-01-01")).is_ok());
        assert!(Period::parse(date("2026-01-01"), date("2027-01-02")).is_err());
        assert!(Period::parse(date("2026-01-02"), date("2026-01-01")).is_err());
        let period = Period::parse(date("2026-02-27"), date("2026-03-02")).unwrap();
        assert_eq!(period.dates().count(), 4);
    }

    #[test]
    fn days_start_at_local_midnight_or_when_a_dst_gap_ends() {
        let sao_paulo = zone("America/Sao_Paulo");
        assert_eq!(
            start_of_day(sao_paulo, date("2026-12-04")).to_rfc3339(),
            "2026-12-04T03:00:00+00:00"
        );
        // Brazil's DST (until 2019) skipped midnight: 2018-11-04 began at 01:00 (-02:00).
        assert_eq!(
            start_of_day(sao_paulo, date("2018-11-04")).to_rfc3339(),
            "2018-11-04T03:00:00+00:00"
        );
        let new_york = zone("America/New_York");
        let (from, to) = Period::parse(date("2026-03-08"), date("2026-03-08"))
            .unwrap()
            .instants(new_york);
        assert_eq!((to - from).num_hours(), 23);
    }

    #[test]
    fn offsets_change_at_transitions() {
        let new_york = zone("America/New_York");
        let (from, to) = Period::parse(date("2026-01-01"), date("2026-12-31"))
            .unwrap()
            .instants(new_york);
        let found = offsets(new_york, from, to);
        let text: Vec<(String, i64)> = found
            .iter()
            .map(|(at, offset)| (at.to_rfc3339(), *offset))
            .collect();
        assert_eq!(
            text,
            [
                ("2026-01-01T05:00:00+00:00".to_owned(), -5 * 3600),
                ("2026-03-08T07:00:00+00:00".to_owned(), -4 * 3600),
                ("2026-11-01T06:00:00+00:00".to_owned(), -5 * 3600),
            ]
        );
        let sao_paulo = zone("America/Sao_Paulo");
        let (from, to) = Period::parse(date("2026-01-01"), date("2026-12-31"))
            .unwrap()
            .instants(sao_paulo);
        assert_eq!(offsets(sao_paulo, from, to).len(), 1);
    }

    #[test]
    fn averages_round_to_the_nearest_cent() {
        assert_eq!(average(1000, 3), MoneySum(333));
        assert_eq!(average(1001, 2), MoneySum(501));
        assert_eq!(average(-1001, 2), MoneySum(-501));
        assert_eq!(average(5, 0), MoneySum(0));
    }
}
