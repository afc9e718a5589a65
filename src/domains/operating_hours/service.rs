//! Opening-hours rules.
//!
//! Every addition or edit runs in one transaction opened by [`repo::begin_write`], which
//! serializes the tenant's hours changes: the overlap and closure checks read inside it, so two
//! concurrent requests cannot both pass a check and then both write. Deletions are single
//! statements: removing a row cannot break an invariant.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr};

use super::{
    model::{
        DateException, LocalTime, OpeningRange, Schedule, TimeRange, Weekday, WeeklyRange,
        check_against_day, check_date_window, check_exception, check_week, parse_reason,
    },
    repo,
};
use crate::{
    kernel::{
        error::{AppError, AppResult},
        ids::{DateExceptionId, OpeningRangeId, TenantId},
        viewer::Viewer,
    },
    state::AppState,
};

/// The tenant's weekly ranges and the exceptions on dates in `[from, to]`: what availability and
/// booking need, in two statements.
pub async fn schedule(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Schedule> {
    let ranges = week(conn, tenant).await?;
    let exceptions = repo::list_exceptions(conn, tenant, from, to).await?;
    Ok(Schedule { ranges, exceptions })
}

async fn week(conn: &impl ConnectionTrait, tenant: TenantId) -> AppResult<Vec<OpeningRange>> {
    repo::list_ranges(conn, tenant).await
}

/// The viewer's weekly ranges, by weekday then start.
pub async fn list_ranges(state: &AppState, viewer: &Viewer) -> AppResult<Vec<OpeningRange>> {
    week(&state.db, viewer.tenant()?).await
}

/// A weekly range as given, before its hours are checked.
#[derive(Clone, Copy, Debug)]
pub struct RangeInput {
    pub weekday: Weekday,
    pub start: LocalTime,
    pub end: LocalTime,
    pub only_for_subscribers: bool,
}

impl RangeInput {
    fn validate(self) -> AppResult<WeeklyRange> {
        Ok(WeeklyRange {
            weekday: self.weekday,
            range: TimeRange::new(self.start, self.end)?,
            only_for_subscribers: self.only_for_subscribers,
        })
    }
}

/// Replaces the viewer's whole week with `ranges` (empty: closed every day), atomically: the
/// whole input is validated first, then the old ranges are deleted and the new ones inserted in
/// one transaction.
pub async fn set_week(
    state: &AppState,
    viewer: &Viewer,
    ranges: Vec<RangeInput>,
) -> AppResult<Vec<OpeningRange>> {
    let tenant = viewer.tenant()?;
    let week_input = ranges
        .into_iter()
        .map(RangeInput::validate)
        .collect::<AppResult<Vec<_>>>()?;
    check_week(&week_input)?;
    let txn = repo::begin_write(&state.db, tenant).await?;
    repo::delete_ranges(&txn, tenant).await?;
    repo::insert_ranges(&txn, tenant, &week_input).await?;
    let stored = week(&txn, tenant).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Checks `range` against the stored ranges of its weekday, leaving `except` out.
async fn check_weekday(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    range: &WeeklyRange,
    except: Option<OpeningRangeId>,
) -> AppResult<()> {
    let stored = week(conn, tenant).await?;
    check_against_day(
        range.range,
        stored
            .iter()
            .filter(|r| r.weekday == range.weekday && Some(r.id) != except)
            .map(OpeningRange::hours),
    )
}

/// Adds one weekly range; an overlap with a stored range of that weekday is a CONFLICT.
pub async fn create_range(
    state: &AppState,
    viewer: &Viewer,
    input: RangeInput,
) -> AppResult<OpeningRange> {
    let tenant = viewer.tenant()?;
    let range = input.validate()?;
    let txn = repo::begin_write(&state.db, tenant).await?;
    check_weekday(&txn, tenant, &range, None).await?;
    let stored = repo::insert_range(&txn, tenant, &range).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Changes to a weekly range; `None` keeps the stored value.
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeChanges {
    pub weekday: Option<Weekday>,
    pub start: Option<LocalTime>,
    pub end: Option<LocalTime>,
    pub only_for_subscribers: Option<bool>,
}

/// Merges `changes` into the stored range, then checks the result like a new range (without
/// comparing it to itself).
pub async fn update_range(
    state: &AppState,
    viewer: &Viewer,
    id: OpeningRangeId,
    changes: RangeChanges,
) -> AppResult<OpeningRange> {
    let tenant = viewer.tenant()?;
    let txn = repo::begin_write(&state.db, tenant).await?;
    let stored = repo::find_range(&txn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("opening range"))?;
    let range = RangeInput {
        weekday: changes.weekday.unwrap_or(stored.weekday),
        start: changes.start.unwrap_or(stored.start),
        end: changes.end.unwrap_or(stored.end),
        only_for_subscribers: changes
            .only_for_subscribers
            .unwrap_or(stored.only_for_subscribers),
    }
    .validate()?;
    check_weekday(&txn, tenant, &range, Some(id)).await?;
    let stored = repo::update_range(&txn, tenant, id, &range)
        .await
        .map_err(|err| match err {
            // Deleted between the read and the write (deletions do not wait for the lock).
            AppError::Db(DbErr::RecordNotUpdated) => AppError::NotFound("opening range"),
            other => other,
        })?;
    txn.commit().await?;
    Ok(stored)
}

/// Deletes one weekly range.
pub async fn delete_range(
    state: &AppState,
    viewer: &Viewer,
    id: OpeningRangeId,
) -> AppResult<OpeningRangeId> {
    if !repo::delete_range(&state.db, viewer.tenant()?, id).await? {
        return Err(AppError::NotFound("opening range"));
    }
    Ok(id)
}

/// The viewer's exceptions on dates in `[from, to]` (at most 366 days apart), by date, a
/// closure before the special hours of its date, special hours by start.
pub async fn list_exceptions(
    state: &AppState,
    viewer: &Viewer,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<DateException>> {
    let tenant = viewer.tenant()?;
    check_date_window(from, to)?;
    let mut exceptions = repo::list_exceptions(&state.db, tenant, from, to).await?;
    exceptions.sort_by_key(|e| (e.date, e.hours));
    Ok(exceptions)
}

/// Closes `date` all day. One closure per date (a second one is a CONFLICT); special hours
/// already set on that date stay stored but have no effect while the closure exists.
pub async fn add_closure(
    state: &AppState,
    viewer: &Viewer,
    date: NaiveDate,
    reason: Option<String>,
) -> AppResult<DateException> {
    add_exception(state, viewer, date, None, reason).await
}

/// Opens `date` only in `[start, end)` (several ranges per date allowed; they replace the weekly
/// ranges that day). CONFLICT when the date is closed or the range overlaps another special
/// range of the date.
pub async fn add_special_hours(
    state: &AppState,
    viewer: &Viewer,
    date: NaiveDate,
    start: LocalTime,
    end: LocalTime,
    reason: Option<String>,
) -> AppResult<DateException> {
    let hours = TimeRange::new(start, end)?;
    add_exception(state, viewer, date, Some(hours), reason).await
}

/// Stores a closure (`hours` `None`) or special hours after checking them against the other
/// exceptions of the date, in one serialized transaction.
async fn add_exception(
    state: &AppState,
    viewer: &Viewer,
    date: NaiveDate,
    hours: Option<TimeRange>,
    reason: Option<String>,
) -> AppResult<DateException> {
    let tenant = viewer.tenant()?;
    let reason = parse_reason(reason.as_deref())?;
    let txn = repo::begin_write(&state.db, tenant).await?;
    let that_day = repo::list_exceptions(&txn, tenant, date, date).await?;
    check_exception(hours, &that_day)?;
    let exception = repo::insert_exception(&txn, tenant, date, hours, reason).await?;
    txn.commit().await?;
    Ok(exception)
}

/// Removes a closure or special hours.
pub async fn remove_exception(
    state: &AppState,
    viewer: &Viewer,
    id: DateExceptionId,
) -> AppResult<DateExceptionId> {
    if !repo::delete_exception(&state.db, viewer.tenant()?, id).await? {
        return Err(AppError::NotFound("date exception"));
    }
    Ok(id)
}
