//! GraphQL surface of opening hours: the weekly ranges and the date exceptions of the viewer's
//! tenant.

use async_graphql::{Context, ID, InputObject, Object};

use super::{
    model::{DateException, LocalTime, OpeningRange, Weekday},
    service::{self, RangeChanges, RangeInput},
};
use crate::{
    graphql::{
        scalars::{Date, WallTime},
        viewer::{state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{DateExceptionId, OpeningRangeId, TypedId},
    },
};

pub struct OpeningRangeNode(pub OpeningRange);

/// A weekly opening range in the tenant's local wall time: open from `start` until `end` every
/// `day`.
#[Object(name = "OpeningRange")]
impl OpeningRangeNode {
    /// The range's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The day of the week the range applies to.
    async fn day(&self) -> Weekday {
        self.0.weekday
    }

    /// Opening time, `HH:MM`.
    async fn start(&self) -> WallTime {
        WallTime(self.0.start.to_string())
    }

    /// Closing time, `HH:MM` (`24:00`: until midnight); after `start`.
    async fn end(&self) -> WallTime {
        WallTime(self.0.end.to_string())
    }

    /// Whether only customers with an active subscription may book in this range.
    async fn only_for_subscribers(&self) -> bool {
        self.0.only_for_subscribers
    }
}

pub struct DateExceptionNode(pub DateException);

/// An exception to the weekly hours on one date: a closure (closed all day), or special hours
/// that replace the weekly ranges that day.
#[Object(name = "DateException")]
impl DateExceptionNode {
    /// The exception's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The local date the exception applies to.
    async fn date(&self) -> Date {
        Date(self.0.date)
    }

    /// Why, as told by the business (e.g. "Feriado").
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// True for a closure (closed all day; a closure also hides special hours of its date).
    async fn closed(&self) -> bool {
        self.0.hours.is_none()
    }

    /// Opening time of special hours, `HH:MM`; null for a closure.
    async fn start(&self) -> Option<WallTime> {
        self.0.hours.map(|(start, _)| WallTime(start.to_string()))
    }

    /// Closing time of special hours, `HH:MM`; null for a closure.
    async fn end(&self) -> Option<WallTime> {
        self.0.hours.map(|(_, end)| WallTime(end.to_string()))
    }
}

/// A weekly range: the input of `createOpeningRange` and an item of `setOpeningHours`.
#[derive(InputObject)]
pub struct OpeningRangeInput {
    /// The day of the week.
    pub day: Weekday,
    /// Opening time, `HH:MM`.
    pub start: String,
    /// Closing time, `HH:MM` (up to `24:00`), after `start`.
    pub end: String,
    /// Whether only subscribers may book in this range (default false).
    #[graphql(default)]
    pub only_for_subscribers: bool,
}

impl OpeningRangeInput {
    fn parse(&self) -> Result<RangeInput, AppError> {
        Ok(RangeInput {
            weekday: self.day,
            start: LocalTime::parse("start", &self.start)?,
            end: LocalTime::parse("end", &self.end)?,
            only_for_subscribers: self.only_for_subscribers,
        })
    }
}

/// Input of `setOpeningHours`: the whole week.
#[derive(InputObject)]
pub struct SetOpeningHoursInput {
    /// Every range of the week (at most 10 per day, no overlaps within a day; touching ranges
    /// are fine). Empty: closed every day.
    #[graphql(validator(max_items = 100))]
    pub ranges: Vec<OpeningRangeInput>,
}

/// Input of `updateOpeningRange`: omitted fields keep their stored values.
#[derive(InputObject)]
pub struct UpdateOpeningRangeInput {
    /// Moves the range to another day of the week.
    pub day: Option<Weekday>,
    /// New opening time, `HH:MM`.
    pub start: Option<String>,
    /// New closing time, `HH:MM`.
    pub end: Option<String>,
    /// Whether only subscribers may book in this range.
    pub only_for_subscribers: Option<bool>,
}

/// Input of `addClosure`.
#[derive(InputObject)]
pub struct AddClosureInput {
    /// The date closed all day.
    pub date: Date,
    /// Why (at most 200 characters), e.g. "Feriado".
    pub reason: Option<String>,
}

/// Input of `addSpecialHours`.
#[derive(InputObject)]
pub struct AddSpecialHoursInput {
    /// The date whose weekly ranges these hours replace.
    pub date: Date,
    /// Opening time, `HH:MM`.
    pub start: String,
    /// Closing time, `HH:MM` (up to `24:00`), after `start`.
    pub end: String,
    /// Why (at most 200 characters), e.g. "Véspera de Natal".
    pub reason: Option<String>,
}

fn parse_time(field: &'static str, raw: Option<&str>) -> Result<Option<LocalTime>, AppError> {
    raw.map(|raw| LocalTime::parse(field, raw)).transpose()
}

/// The most ranges `setOpeningHours` accepts (10 per day).
const MAX_WEEK_RANGES: usize = 70;

#[derive(Default)]
pub struct OperatingHoursQuery;

#[Object]
impl OperatingHoursQuery {
    /// The tenant's weekly opening ranges, by day (Monday first) then opening time.
    async fn opening_hours(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<OpeningRangeNode>> {
        let viewer = viewer(ctx)?;
        Ok(service::list_ranges(state(ctx), &viewer)
            .await?
            .into_iter()
            .map(OpeningRangeNode)
            .collect())
    }

    /// The tenant's closures and special hours on dates from `from` to `to` (both included, at
    /// most 366 days apart), by date.
    async fn date_exceptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First date (inclusive).")] from: Date,
        #[graphql(desc = "Last date (inclusive); at most 366 days after `from`.")] to: Date,
    ) -> async_graphql::Result<Vec<DateExceptionNode>> {
        let viewer = viewer(ctx)?;
        Ok(service::list_exceptions(state(ctx), &viewer, from.0, to.0)
            .await?
            .into_iter()
            .map(DateExceptionNode)
            .collect())
    }
}

#[derive(Default)]
pub struct OperatingHoursMutation;

#[Object]
impl OperatingHoursMutation {
    /// Replaces the whole week at once and returns it; nothing changes when any range is
    /// invalid or two ranges of a day overlap (BAD_USER_INPUT).
    async fn set_opening_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The whole week, replacing the stored ranges.")]
        input: SetOpeningHoursInput,
    ) -> async_graphql::Result<Vec<OpeningRangeNode>> {
        let viewer = viewer(ctx)?;
        if input.ranges.len() > MAX_WEEK_RANGES {
            return Err(AppError::bad_input(
                "ranges",
                format!("A semana pode ter no máximo {MAX_WEEK_RANGES} horários de funcionamento"),
            )
            .into());
        }
        let ranges = input
            .ranges
            .iter()
            .map(OpeningRangeInput::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(service::set_week(state(ctx), &viewer, ranges)
            .await?
            .into_iter()
            .map(OpeningRangeNode)
            .collect())
    }

    /// Adds one weekly range; overlapping another range of its day is a CONFLICT.
    async fn create_opening_range(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new weekly range.")] input: OpeningRangeInput,
    ) -> async_graphql::Result<OpeningRangeNode> {
        let viewer = viewer(ctx)?;
        let range = input.parse()?;
        Ok(OpeningRangeNode(
            service::create_range(state(ctx), &viewer, range).await?,
        ))
    }

    /// Changes one weekly range (merged with its stored values, then checked like a new one).
    async fn update_opening_range(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The range to change.")] id: ID,
        #[graphql(desc = "The changes; omitted fields keep their stored values.")]
        input: UpdateOpeningRangeInput,
    ) -> async_graphql::Result<OpeningRangeNode> {
        let viewer = viewer(ctx)?;
        let id = OpeningRangeId::parse(&id)?;
        let changes = RangeChanges {
            weekday: input.day,
            start: parse_time("start", input.start.as_deref())?,
            end: parse_time("end", input.end.as_deref())?,
            only_for_subscribers: input.only_for_subscribers,
        };
        Ok(OpeningRangeNode(
            service::update_range(state(ctx), &viewer, id, changes).await?,
        ))
    }

    /// Deletes one weekly range; returns its id.
    async fn delete_opening_range(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The range to delete.")] id: ID,
    ) -> async_graphql::Result<ID> {
        let viewer = viewer(ctx)?;
        let id = OpeningRangeId::parse(&id)?;
        let deleted = service::delete_range(state(ctx), &viewer, id).await?;
        Ok(ID(deleted.to_string()))
    }

    /// Closes a date all day (one closure per date: a second is a CONFLICT).
    async fn add_closure(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The date to close and why.")] input: AddClosureInput,
    ) -> async_graphql::Result<DateExceptionNode> {
        let viewer = viewer(ctx)?;
        Ok(DateExceptionNode(
            service::add_closure(state(ctx), &viewer, input.date.0, input.reason).await?,
        ))
    }

    /// Adds special hours on a date, replacing its weekly ranges; several ranges per date are
    /// allowed. CONFLICT when the date is closed or the range overlaps another of that date.
    async fn add_special_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The date, its hours and why.")] input: AddSpecialHoursInput,
    ) -> async_graphql::Result<DateExceptionNode> {
        let viewer = viewer(ctx)?;
        let start = LocalTime::parse("start", &input.start)?;
        let end = LocalTime::parse("end", &input.end)?;
        Ok(DateExceptionNode(
            service::add_special_hours(state(ctx), &viewer, input.date.0, start, end, input.reason)
                .await?,
        ))
    }

    /// Removes a closure or special hours; returns its id.
    async fn remove_date_exception(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The closure or special hours to remove.")] id: ID,
    ) -> async_graphql::Result<ID> {
        let viewer = viewer(ctx)?;
        let id = DateExceptionId::parse(&id)?;
        let removed = service::remove_exception(state(ctx), &viewer, id).await?;
        Ok(ID(removed.to_string()))
    }
}
