//! Queries for `appointments`, all scoped by tenant; rows go in and out as domain types.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::appointments;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ExprTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    sea_query::{Expr, Func},
};
use sqlx::{ColumnIndex, Decode, Row, Type};
use uuid::Uuid;

use super::model::{Appointment, AppointmentStatus, ListFilter, NewAppointmentRow};
use crate::kernel::{
    error::AppResult,
    ids::{AppointmentId, CustomerId, SubscriptionId, TenantId},
    values::{EnumStr, MoneySum},
};

/// Statuses that hold a slot.
const ACTIVE_STATUSES: [AppointmentStatus; 2] =
    [AppointmentStatus::Pending, AppointmentStatus::Confirmed];

fn is_active() -> sea_orm::sea_query::SimpleExpr {
    appointments::Column::Status.is_in(ACTIVE_STATUSES.map(EnumStr::as_str))
}

fn first_appointment(rows: Vec<appointments::Model>) -> AppResult<Option<Appointment>> {
    rows.into_iter()
        .next()
        .map(Appointment::try_from)
        .transpose()
}

/// Whether the customer has an active appointment starting after `now`.
pub async fn exists_future_active_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(appointments::Entity::find()
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::CustomerId.eq(customer.0))
        .filter(is_active())
        .filter(appointments::Column::StartsAt.gt(now))
        .count(conn)
        .await?
        > 0)
}

/// Inserts a booking. A Postgres exclusion violation (`appointments_no_overlap`) comes back as
/// the database error, for the caller to name the booking that won.
pub async fn insert(
    conn: &impl ConnectionTrait,
    row: NewAppointmentRow,
    now: DateTime<Utc>,
) -> AppResult<Appointment> {
    appointments::Entity::insert(appointments::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(row.tenant_id.0),
        customer_id: Set(row.customer_id.0),
        service_id: Set(row.service_id.0),
        subscription_id: Set(row.subscription_id.map(|s| s.0)),
        starts_at: Set(row.starts_at),
        ends_at: Set(row.ends_at),
        status: Set(row.status.as_str().to_owned()),
        price_cents: Set(row.price.0),
        notes: Set(row.notes),
        confirmed_at: Set((row.status == AppointmentStatus::Confirmed).then_some(now)),
        canceled_at: Set(None),
        cancellation_reason: Set(None),
        paid_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?
    .try_into()
}

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AppointmentId,
) -> AppResult<Option<Appointment>> {
    appointments::Entity::find()
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::Id.eq(id.0))
        .one(conn)
        .await?
        .map(Appointment::try_from)
        .transpose()
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[AppointmentId],
) -> AppResult<HashMap<AppointmentId, Appointment>> {
    appointments::Entity::find()
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| Appointment::try_from(row).map(|a| (a.id, a)))
        .collect()
}

/// The first active appointment overlapping `[start, end)`, other than `except`.
pub async fn find_overlapping_active(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<AppointmentId>,
) -> AppResult<Option<Appointment>> {
    let mut query = appointments::Entity::find()
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(is_active())
        .filter(appointments::Column::StartsAt.lt(end))
        .filter(appointments::Column::EndsAt.gt(start));
    if let Some(except) = except {
        query = query.filter(appointments::Column::Id.ne(except.0));
    }
    query
        .order_by_asc(appointments::Column::StartsAt)
        .one(conn)
        .await?
        .map(Appointment::try_from)
        .transpose()
}

/// `[start, end)` of the active appointments overlapping the window, sorted by start.
pub async fn list_busy(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, DbErr> {
    appointments::Entity::find()
        .select_only()
        .column(appointments::Column::StartsAt)
        .column(appointments::Column::EndsAt)
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(is_active())
        .filter(appointments::Column::StartsAt.lt(to))
        .filter(appointments::Column::EndsAt.gt(from))
        .order_by_asc(appointments::Column::StartsAt)
        .into_tuple()
        .all(conn)
        .await
}

/// Appointments of a subscription that count against its cycle `[from, to)` (not canceled),
/// other than `except`.
pub async fn count_for_subscription_cycle(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    subscription: SubscriptionId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    except: Option<AppointmentId>,
) -> Result<u64, DbErr> {
    let mut query = appointments::Entity::find()
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::SubscriptionId.eq(subscription.0))
        .filter(appointments::Column::Status.ne(AppointmentStatus::Canceled.as_str()))
        .filter(appointments::Column::StartsAt.gte(from))
        .filter(appointments::Column::StartsAt.lt(to));
    if let Some(except) = except {
        query = query.filter(appointments::Column::Id.ne(except.0));
    }
    query.count(conn).await
}

/// Moves an active appointment; `None` when it is no longer active (lost a race).
pub async fn update_times(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AppointmentId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Option<Appointment>> {
    let rows = appointments::Entity::update_many()
        .col_expr(appointments::Column::StartsAt, Expr::value(start))
        .col_expr(appointments::Column::EndsAt, Expr::value(end))
        .col_expr(appointments::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::Id.eq(id.0))
        .filter(is_active())
        .exec_with_returning(conn)
        .await?;
    first_appointment(rows)
}

/// Applies a status change only if the appointment is still in one of `from` (so concurrent
/// transitions cannot both win); `None` when it was not.
pub async fn transition(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AppointmentId,
    from: &[AppointmentStatus],
    to: AppointmentStatus,
    reason: Option<String>,
) -> AppResult<Option<Appointment>> {
    let now = Utc::now();
    let mut update = appointments::Entity::update_many()
        .col_expr(appointments::Column::Status, Expr::value(to.as_str()))
        .col_expr(appointments::Column::UpdatedAt, Expr::value(now));
    match to {
        AppointmentStatus::Confirmed => {
            update = update.col_expr(appointments::Column::ConfirmedAt, Expr::value(now))
        }
        AppointmentStatus::Canceled => {
            update = update
                .col_expr(appointments::Column::CanceledAt, Expr::value(now))
                .col_expr(
                    appointments::Column::CancellationReason,
                    Expr::value(reason),
                );
        }
        _ => {}
    }
    let rows = update
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::Id.eq(id.0))
        .filter(appointments::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec_with_returning(conn)
        .await?;
    first_appointment(rows)
}

/// Appointment `id` of the tenant, its row locked until the end of the transaction (Postgres;
/// SQLite's write transaction holds the whole database).
pub async fn lock(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AppointmentId,
) -> AppResult<Option<Appointment>> {
    appointments::Entity::find_by_id(id.0)
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .lock_exclusive()
        .one(conn)
        .await?
        .map(Appointment::try_from)
        .transpose()
}

/// Records that an approved payment arrived for the appointment (its hold no longer expires) and
/// confirms it when it is PENDING; the row as stored, or `None` when it is not the tenant's.
pub async fn mark_paid(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AppointmentId,
    confirm: bool,
    now: DateTime<Utc>,
) -> AppResult<Option<Appointment>> {
    let pending = AppointmentStatus::Pending.as_str();
    let mut update = appointments::Entity::update_many()
        .col_expr(
            appointments::Column::PaidAt,
            Expr::col(appointments::Column::PaidAt).if_null(now),
        )
        .col_expr(appointments::Column::UpdatedAt, Expr::value(now));
    if confirm {
        let confirms = Expr::col(appointments::Column::Status).eq(pending);
        update = update
            .col_expr(
                appointments::Column::Status,
                Expr::case(confirms.clone(), AppointmentStatus::Confirmed.as_str())
                    .finally(Expr::col(appointments::Column::Status))
                    .into(),
            )
            .col_expr(
                appointments::Column::ConfirmedAt,
                Expr::case(confirms, now)
                    .finally(Expr::col(appointments::Column::ConfirmedAt))
                    .into(),
            );
    }
    let rows = update
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::Id.eq(id.0))
        .exec_with_returning(conn)
        .await?;
    first_appointment(rows)
}

fn filtered(tenant: TenantId, filter: &ListFilter) -> sea_orm::Select<appointments::Entity> {
    let mut query =
        appointments::Entity::find().filter(appointments::Column::TenantId.eq(tenant.0));
    if let Some(from) = filter.from {
        query = query.filter(appointments::Column::StartsAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(appointments::Column::StartsAt.lt(to));
    }
    if !filter.statuses.is_empty() {
        query = query
            .filter(appointments::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(customer) = filter.customer {
        query = query.filter(appointments::Column::CustomerId.eq(customer.0));
    }
    if let Some(service) = filter.service {
        query = query.filter(appointments::Column::ServiceId.eq(service.0));
    }
    query
}

/// After the keyset cursor `(starts_at, id)`.
fn starting_after((at, id): (DateTime<Utc>, uuid::Uuid)) -> Condition {
    Condition::any()
        .add(appointments::Column::StartsAt.gt(at))
        .add(
            Condition::all()
                .add(appointments::Column::StartsAt.eq(at))
                .add(appointments::Column::Id.gt(id)),
        )
}

/// PENDING or CONFIRMED appointments of every tenant starting in `(from, to]`, ordered by
/// `(starts_at, id)` after the keyset cursor `after`.
pub async fn list_active_starting_between(
    conn: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<(DateTime<Utc>, uuid::Uuid)>,
    limit: u64,
) -> AppResult<Vec<Appointment>> {
    let mut query = appointments::Entity::find()
        .filter(appointments::Column::StartsAt.gt(from))
        .filter(appointments::Column::StartsAt.lte(to))
        .filter(appointments::Column::Status.is_in(ACTIVE_STATUSES.iter().map(|s| s.as_str())));
    if let Some(after) = after {
        query = query.filter(starting_after(after));
    }
    query
        .order_by_asc(appointments::Column::StartsAt)
        .order_by_asc(appointments::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(Appointment::try_from)
        .collect()
}

/// A page ordered by `(starts_at, id)`, after the keyset cursor `after`.
pub async fn list_page(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &ListFilter,
    after: Option<(DateTime<Utc>, uuid::Uuid)>,
    limit: u64,
) -> AppResult<Vec<Appointment>> {
    let mut query = filtered(tenant, filter);
    if let Some(after) = after {
        query = query.filter(starting_after(after));
    }
    let rows = query
        .order_by_asc(appointments::Column::StartsAt)
        .order_by_asc(appointments::Column::Id)
        .limit(limit)
        .into_model::<PageRow>()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|row| Appointment::try_from(row.0))
        .collect()
}

/// A row of the appointment page, decoded by position from the driver's row.
///
/// The page is the largest read the dashboard makes (up to 500 rows). sea-orm's derived decoding
/// looks every column up by name and builds an error string for each NULL it meets; for this page
/// that was a sixth of the request's CPU. The select lists the columns in `Column` order, which a
/// debug assertion checks on every row the tests read.
struct PageRow(appointments::Model);

impl FromQueryResult for PageRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let decoded = match (pre.is_empty(), res.try_as_pg_row(), res.try_as_sqlite_row()) {
            (true, Some(row), _) => decode_in_column_order(row),
            (true, None, Some(row)) => decode_in_column_order(row),
            _ => return appointments::Model::from_query_result(res, pre).map(Self),
        };
        decoded
            .map(Self)
            .map_err(|err| DbErr::Type(format!("appointment row: {err}")))
    }
}

fn decode_in_column_order<'r, R>(row: &'r R) -> Result<appointments::Model, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    Uuid: Decode<'r, R::Database> + Type<R::Database>,
    DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    debug_assert!(
        <appointments::Column as sea_orm::Iterable>::iter()
            .map(|c| sea_orm::IdenStatic::as_str(&c))
            .eq(sqlx::Row::columns(row).iter().map(sqlx::Column::name)),
        "the page selects the appointment columns in declaration order"
    );
    Ok(appointments::Model {
        id: row.try_get(0)?,
        tenant_id: row.try_get(1)?,
        customer_id: row.try_get(2)?,
        service_id: row.try_get(3)?,
        subscription_id: row.try_get(4)?,
        starts_at: row.try_get(5)?,
        ends_at: row.try_get(6)?,
        status: row.try_get(7)?,
        price_cents: row.try_get(8)?,
        notes: row.try_get(9)?,
        confirmed_at: row.try_get(10)?,
        canceled_at: row.try_get(11)?,
        cancellation_reason: row.try_get(12)?,
        created_at: row.try_get(13)?,
        updated_at: row.try_get(14)?,
        paid_at: row.try_get(15)?,
    })
}

pub async fn count(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &ListFilter,
) -> Result<u64, DbErr> {
    filtered(tenant, filter).count(conn).await
}

/// Count per status of the appointments starting in `[from, to)`.
pub async fn count_by_status(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<(AppointmentStatus, u64)>> {
    let rows: Vec<(String, i64)> = appointments::Entity::find()
        .select_only()
        .column(appointments::Column::Status)
        .column_as(appointments::Column::Id.count(), "n")
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::StartsAt.gte(from))
        .filter(appointments::Column::StartsAt.lt(to))
        .group_by(appointments::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|(status, n)| {
            Ok((
                AppointmentStatus::parse_stored(&status)?,
                u64::try_from(n).unwrap_or(0),
            ))
        })
        .collect()
}

/// Sum of the price snapshots of confirmed and completed appointments starting in `[from, to)`.
///
/// SQLite's SUM fails on 64-bit overflow and Postgres's is NUMERIC, so the prices are summed in
/// two 32-bit halves, each of which fits a BIGINT for any realistic number of rows, and joined
/// into 128 bits here.
pub async fn sum_expected_revenue(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MoneySum, DbErr> {
    let half = |expr: Expr| Expr::from(Func::cast_as(Func::sum(expr), "BIGINT"));
    let price = || Expr::col(appointments::Column::PriceCents);
    let halves: Option<(Option<i64>, Option<i64>)> = appointments::Entity::find()
        .select_only()
        .column_as(half(price().right_shift(32)), "high")
        .column_as(half(price().bit_and(0xFFFF_FFFF_i64)), "low")
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::Status.is_in(
            [AppointmentStatus::Confirmed, AppointmentStatus::Completed].map(EnumStr::as_str),
        ))
        .filter(appointments::Column::StartsAt.gte(from))
        .filter(appointments::Column::StartsAt.lt(to))
        .into_tuple()
        .one(conn)
        .await?;
    let (high, low) = halves.unwrap_or_default();
    Ok(MoneySum(
        (i128::from(high.unwrap_or(0)) << 32) + i128::from(low.unwrap_or(0)),
    ))
}

/// Cancels the tenant's PENDING appointments created before `cutoff`, returning their ids.
/// Conditional on the status, so instances running it at once never cancel a row twice.
pub async fn expire_pending_created_before(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    cutoff: DateTime<Utc>,
    reason: &str,
) -> AppResult<Vec<Appointment>> {
    let now = Utc::now();
    appointments::Entity::update_many()
        .col_expr(
            appointments::Column::Status,
            Expr::value(AppointmentStatus::Canceled.as_str()),
        )
        .col_expr(appointments::Column::CanceledAt, Expr::value(now))
        .col_expr(
            appointments::Column::CancellationReason,
            Expr::value(reason),
        )
        .col_expr(appointments::Column::UpdatedAt, Expr::value(now))
        .filter(appointments::Column::TenantId.eq(tenant.0))
        .filter(appointments::Column::Status.eq(AppointmentStatus::Pending.as_str()))
        .filter(appointments::Column::CreatedAt.lt(cutoff))
        .filter(appointments::Column::PaidAt.is_null())
        .exec_with_returning(conn)
        .await?
        .into_iter()
        .map(Appointment::try_from)
        .collect()
}
