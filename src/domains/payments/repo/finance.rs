//! Finance reads of `payments`: the aggregates of the finance page and the keyset pages of the
//! payment list and the CSV export.
//!
//! Invariants: every query is scoped by the tenant and reads only customers' payments (a
//! tenant's own SaaS fees, `PaymentPurpose::SaasFee`, are not its revenue); a report costs a
//! fixed number of statements whatever the number of payments, because every figure is a
//! `GROUP BY` here and only the (few) groups travel.

use chrono::{DateTime, NaiveDate, Utc};
use entity::payments;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, ExprTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, Func, Query},
};
use uuid::Uuid;

use crate::domains::payments::model::{
    Payment, PaymentMethod, PaymentProvider, PaymentPurpose, PaymentStatus,
};
use crate::kernel::{
    error::AppResult,
    ids::{CustomerId, ServiceId, TenantId},
    values::EnumStr,
};

/// Which payments a list reads: reported in `[from, to)`, and when not empty, in one of the
/// statuses, providers and methods given.
#[derive(Clone, Debug, Default)]
pub struct PaymentFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub statuses: Vec<PaymentStatus>,
    pub providers: Vec<PaymentProvider>,
    pub methods: Vec<PaymentMethod>,
    pub customer: Option<CustomerId>,
}

/// The order of a page: the dashboard lists the newest first, exports run in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    NewestFirst,
    OldestFirst,
}

/// Sums over a group of payments, in cents (64-bit sums: one amount is at most R$ 1,000,000.00,
/// so overflowing one would take 92 billion payments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    pub count: u64,
    /// What the provider says was paid (the amount owed when it has not said).
    pub paid: i64,
    /// The provider's fees charged to the business.
    pub fees: i64,
    /// What went back to the customer (`refunded_cents`).
    pub refunded: i64,
    /// What was owed (the price snapshots).
    pub owed: i64,
}

/// The payments of one (status, service, method, provider).
#[derive(Clone, Debug)]
pub struct Group {
    pub status: PaymentStatus,
    pub service: Option<ServiceId>,
    pub method: Option<PaymentMethod>,
    pub provider: PaymentProvider,
    pub sums: Sums,
}

/// The payments of one status reported on one local date.
#[derive(Clone, Debug)]
pub struct DayGroup {
    pub date: NaiveDate,
    pub status: PaymentStatus,
    pub sums: Sums,
}

/// The tenant's customer payments (never its own SaaS fees).
fn customer_payments(tenant: TenantId) -> sea_orm::Select<payments::Entity> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant.0))
        .filter(payments::Column::Purpose.ne(PaymentPurpose::SaasFee.as_str()))
}

fn reported_in(
    query: sea_orm::Select<payments::Entity>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sea_orm::Select<payments::Entity> {
    query
        .filter(payments::Column::ReportedAt.gte(from))
        .filter(payments::Column::ReportedAt.lt(to))
}

fn filtered(tenant: TenantId, filter: &PaymentFilter) -> sea_orm::Select<payments::Entity> {
    let mut query = customer_payments(tenant);
    if let Some(from) = filter.from {
        query = query.filter(payments::Column::ReportedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(payments::Column::ReportedAt.lt(to));
    }
    if !filter.statuses.is_empty() {
        query = query
            .filter(payments::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if !filter.providers.is_empty() {
        query = query
            .filter(payments::Column::Provider.is_in(filter.providers.iter().map(|p| p.as_str())));
    }
    if !filter.methods.is_empty() {
        query =
            query.filter(payments::Column::Method.is_in(filter.methods.iter().map(|m| m.as_str())));
    }
    if let Some(customer) = filter.customer {
        query = query.filter(payments::Column::CustomerId.eq(customer.0));
    }
    query
}

/// Past the keyset cursor `(reported_at, id)` in the page's direction.
fn past((at, id): (DateTime<Utc>, Uuid), direction: Direction) -> Condition {
    let (beyond_at, beyond_id) = match direction {
        Direction::NewestFirst => (
            payments::Column::ReportedAt.lt(at),
            payments::Column::Id.lt(id),
        ),
        Direction::OldestFirst => (
            payments::Column::ReportedAt.gt(at),
            payments::Column::Id.gt(id),
        ),
    };
    Condition::any().add(beyond_at).add(
        Condition::all()
            .add(payments::Column::ReportedAt.eq(at))
            .add(beyond_id),
    )
}

/// A page ordered by `(reported_at, id)` in `direction`, past the keyset cursor `after`; each
/// payment with its `reported_at` (the page's cursor).
pub async fn list_page(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &PaymentFilter,
    direction: Direction,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Vec<(DateTime<Utc>, Payment)>> {
    let mut query = filtered(tenant, filter);
    if let Some(after) = after {
        query = query.filter(past(after, direction));
    }
    let query = match direction {
        Direction::NewestFirst => query
            .order_by_desc(payments::Column::ReportedAt)
            .order_by_desc(payments::Column::Id),
        Direction::OldestFirst => query
            .order_by_asc(payments::Column::ReportedAt)
            .order_by_asc(payments::Column::Id),
    };
    query
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| Ok((row.reported_at, Payment::try_from(row)?)))
        .collect()
}

pub async fn count(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &PaymentFilter,
) -> Result<u64, DbErr> {
    filtered(tenant, filter).count(conn).await
}

/// `SUM(expr)` as a BIGINT on both engines (Postgres sums `bigint` into `numeric`), 0 when the
/// group has no value.
fn total(expr: Expr) -> Expr {
    Func::cast_as(
        Func::coalesce([Func::sum(expr).into(), Expr::val(0)]),
        "BIGINT",
    )
    .into()
}

/// The columns of [`Sums`], in its order, over the columns of `payments` (or of a subquery
/// that selects them under their names).
fn sums() -> [(Expr, &'static str); 5] {
    let paid = Func::coalesce([
        Expr::col(payments::Column::PaidAmountCents),
        Expr::col(payments::Column::AmountCents),
    ]);
    [
        (Expr::cust("COUNT(*)"), "n"),
        (total(paid.into()), "paid"),
        (total(Expr::col(payments::Column::FeeCents)), "fees"),
        (
            total(Expr::col(payments::Column::RefundedCents)),
            "refunded",
        ),
        (total(Expr::col(payments::Column::AmountCents)), "owed"),
    ]
}

fn with_sums(mut query: sea_orm::Select<payments::Entity>) -> sea_orm::Select<payments::Entity> {
    for (expr, alias) in sums() {
        query = query.column_as(expr, alias);
    }
    query
}

#[derive(FromQueryResult)]
struct SumsRow {
    n: i64,
    paid: i64,
    fees: i64,
    refunded: i64,
    owed: i64,
}

impl From<&SumsRow> for Sums {
    fn from(row: &SumsRow) -> Self {
        Self {
            count: u64::try_from(row.n).unwrap_or(0),
            paid: row.paid,
            fees: row.fees,
            refunded: row.refunded,
            owed: row.owed,
        }
    }
}

#[derive(FromQueryResult)]
struct GroupRow {
    status: String,
    service_id: Option<Uuid>,
    method: Option<String>,
    provider: String,
    #[sea_orm(nested)]
    sums: SumsRow,
}

/// The payments reported in `[from, to)` grouped by status, service, method and provider: every
/// total and breakdown of the finance page but the daily series, in one statement.
pub async fn groups(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<Group>> {
    let rows = with_sums(
        reported_in(customer_payments(tenant), from, to)
            .select_only()
            .column(payments::Column::Status)
            .column(payments::Column::ServiceId)
            .column(payments::Column::Method)
            .column(payments::Column::Provider),
    )
    .group_by(payments::Column::Status)
    .group_by(payments::Column::ServiceId)
    .group_by(payments::Column::Method)
    .group_by(payments::Column::Provider)
    .into_model::<GroupRow>()
    .all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Group {
                status: PaymentStatus::parse_stored(&row.status)?,
                service: row.service_id.map(ServiceId),
                method: row
                    .method
                    .as_deref()
                    .map(PaymentMethod::parse_stored)
                    .transpose()?,
                provider: PaymentProvider::parse_stored(&row.provider)?,
                sums: Sums::from(&row.sums),
            })
        })
        .collect()
}

/// The UTC offset (seconds east) in effect from each instant on: the first entry from `from`,
/// each next one from a transition of the zone.
pub type Offsets = [(DateTime<Utc>, i64)];

#[derive(FromQueryResult)]
struct DayRow {
    local_day: i64,
    status: String,
    #[sea_orm(nested)]
    sums: SumsRow,
}

/// The payments reported in `[from, to)` grouped by the local date they were reported on and
/// their status. The date is `(seconds since the epoch + the offset in effect) / 86 400`, the
/// offset chosen among the few `offsets` of the range by a CASE, so the day is the tenant's
/// whatever the engine knows of time zones (SQLite knows none) and across DST changes.
pub async fn by_local_day(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    offsets: &Offsets,
) -> AppResult<Vec<DayGroup>> {
    let epoch = match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            Expr::cust("CAST(FLOOR(EXTRACT(EPOCH FROM reported_at)) AS BIGINT)")
        }
        _ => Expr::cust("unixepoch(reported_at)"),
    };
    let offset = match offsets {
        [] => Expr::val(0_i64),
        [(_, only)] => Expr::val(*only),
        [(_, first), rest @ ..] => {
            // Each offset holds until the next transition.
            let mut case = Expr::case(
                payments::Column::ReportedAt.lt(rest[0].0),
                Expr::val(*first),
            );
            for pair in rest.windows(2) {
                case = case.case(
                    payments::Column::ReportedAt.lt(pair[1].0),
                    Expr::val(pair[0].1),
                );
            }
            let last = rest.last().map_or(*first, |(_, offset)| *offset);
            case.finally(Expr::val(last)).into()
        }
    };
    let local_day = epoch.add(offset).div(Expr::val(86_400_i64));
    let backend = conn.get_database_backend();
    let mut rows = reported_in(customer_payments(tenant), from, to)
        .select_only()
        .column_as(local_day, "local_day")
        .columns([
            payments::Column::Status,
            payments::Column::AmountCents,
            payments::Column::PaidAmountCents,
            payments::Column::FeeCents,
            payments::Column::RefundedCents,
        ])
        .into_query();
    if backend == DatabaseBackend::Postgres {
        // A fence: Postgres then estimates the day's distinct values by default (a few hundred)
        // instead of by `reported_at`'s (one per payment), and aggregates in a hash table
        // instead of sorting every payment of the period.
        rows.offset(0);
    }
    let mut grouped = Query::select();
    grouped
        .column("local_day")
        .column(payments::Column::Status)
        .from_subquery(rows, "reported");
    for (expr, alias) in sums() {
        grouped.expr_as(expr, alias);
    }
    grouped
        .group_by_col("local_day")
        .group_by_col(payments::Column::Status);
    let rows = DayRow::find_by_statement(backend.build(&grouped))
        .all(conn)
        .await?;
    rows.iter()
        .filter_map(|row| {
            let date = DateTime::from_timestamp(row.local_day.checked_mul(86_400)?, 0)?;
            Some((date.date_naive(), row))
        })
        .map(|(date, row)| {
            Ok(DayGroup {
                date,
                status: PaymentStatus::parse_stored(&row.status)?,
                sums: Sums::from(&row.sums),
            })
        })
        .collect()
}
