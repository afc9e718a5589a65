//! The finance rollup `payment_days`: per tenant, local date (the tenant's zone), status,
//! provider, method and service, the count and cent sums of its customer payments. The finance
//! summary reads only these rows.
//!
//! Invariants:
//! - The rows equal the aggregate of `payments` at every commit: each write of a payment calls
//!   [`shift`] in its transaction with the row before and after it (the one place that adjusts
//!   the rollup; atomic upserts, so concurrent writes add up), and [`rebuild`] recomputes a
//!   tenant's rows from its payments when its time zone changes.
//! - A write reads the tenant's zone after [`hold_zone`], and a rebuild runs under the exclusive
//!   form of that lock, so no write keys a day by a zone a rebuild has already replaced (SQLite's
//!   `BEGIN IMMEDIATE` serializes them anyway; Postgres takes a per-tenant advisory lock).
//! - A row whose payments all moved elsewhere stays with zeros; reads skip it (`n > 0`).

use chrono::{DateTime, NaiveDate, Utc};
use entity::{payment_days, payments};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, ExprTrait, FromQueryResult,
    IdenStatic, QueryFilter, QuerySelect, QueryTrait, Statement,
    sea_query::{Expr, Func, OnConflict, Query},
};
use uuid::Uuid;

use super::finance::customer_payments;
use crate::domains::payments::model::{
    Payment, PaymentMethod, PaymentProvider, PaymentPurpose, PaymentStatus,
};
use crate::kernel::{
    error::AppResult,
    ids::{ServiceId, TenantId},
    values::{EnumStr, TimeZone},
};

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

/// The stored form of "no method" in the key.
const NO_METHOD: &str = "";

/// Days since 1970-01-01 of a local date.
pub fn day_number(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}

fn date_of(day: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(chrono::Duration::try_days(day)?)
}

/// A row's key and what one payment adds to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    tenant: Uuid,
    local_day: i64,
    status: &'static str,
    provider: &'static str,
    method: &'static str,
    service: Uuid,
}

/// `[n, paid, fees, refunded, owed]`.
type Amounts = [i64; 5];

/// Where `payment` counts in `zone` and what it adds; `None` for a SaaS fee, which is not the
/// tenant's revenue. The same figures as [`rebuild`]'s SQL.
fn contribution(payment: &Payment, zone: TimeZone) -> Option<(Key, Amounts)> {
    if payment.purpose == PaymentPurpose::SaasFee {
        return None;
    }
    let local = payment.reported_at.with_timezone(&zone.0).date_naive();
    let key = Key {
        tenant: payment.tenant.0,
        local_day: day_number(local),
        status: payment.status.as_str(),
        provider: payment.provider.as_str(),
        method: payment.method.map_or(NO_METHOD, |method| method.as_str()),
        service: payment.service.map_or(Uuid::nil(), |service| service.0),
    };
    let amounts = [
        1,
        payment.paid_amount.unwrap_or(payment.amount).0,
        payment.fee.map_or(0, |fee| fee.0),
        payment.refunded.0,
        payment.amount.0,
    ];
    Some((key, amounts))
}

/// Moves a payment's contribution from `old` (the row before the write; `None` for an insert)
/// to `new` (the row as written), both keyed in the tenant's `zone` (read after
/// [`hold_zone`]). One upsert, nothing when the figures did not change. Rows are written in key
/// order, so two writes never wait on each other's rows in opposite orders.
pub async fn shift(
    conn: &impl ConnectionTrait,
    zone: TimeZone,
    old: Option<&Payment>,
    new: Option<&Payment>,
) -> Result<(), DbErr> {
    let old = old.and_then(|payment| contribution(payment, zone));
    let new = new.and_then(|payment| contribution(payment, zone));
    let mut rows: Vec<(Key, Amounts)> = match (old, new) {
        (Some((was, before)), Some((is, after))) if was == is => {
            let delta: Amounts = std::array::from_fn(|i| after[i] - before[i]);
            vec![(is, delta)]
        }
        (old, new) => old
            .map(|(key, amounts)| (key, amounts.map(|amount| -amount)))
            .into_iter()
            .chain(new)
            .collect(),
    };
    rows.retain(|(_, amounts)| amounts.iter().any(|amount| *amount != 0));
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort();
    use payment_days::Column as C;
    let added = |column: C| {
        let name = column.as_str();
        (
            column,
            Expr::cust(format!("payment_days.{name} + excluded.{name}")),
        )
    };
    payment_days::Entity::insert_many(rows.into_iter().map(
        |(key, [n, paid, fees, refunded, owed])| payment_days::ActiveModel {
            tenant_id: Set(key.tenant),
            local_day: Set(key.local_day),
            status: Set(key.status.to_owned()),
            provider: Set(key.provider.to_owned()),
            method: Set(key.method.to_owned()),
            service_id: Set(key.service),
            n: Set(n),
            paid: Set(paid),
            fees: Set(fees),
            refunded: Set(refunded),
            owed: Set(owed),
        },
    ))
    .on_conflict(
        OnConflict::columns([
            C::TenantId,
            C::LocalDay,
            C::Status,
            C::Provider,
            C::Method,
            C::ServiceId,
        ])
        .values([
            added(C::N),
            added(C::Paid),
            added(C::Fees),
            added(C::Refunded),
            added(C::Owed),
        ])
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The advisory lock of the tenant's rollup, until the end of the transaction (Postgres only).
async fn zone_lock(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    shared: bool,
) -> Result<(), DbErr> {
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let function = if shared {
        "pg_advisory_xact_lock_shared"
    } else {
        "pg_advisory_xact_lock"
    };
    conn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        format!("SELECT {function}(hashtextextended($1, 0))"),
        [format!("payment_days:{tenant}").into()],
    ))
    .await?;
    Ok(())
}

/// Keeps the tenant's rollup in its zone until the end of the transaction: call it before
/// reading the zone a write passes to [`shift`]. Writes share it; a rebuild waits for them.
pub async fn hold_zone(conn: &impl ConnectionTrait, tenant: TenantId) -> Result<(), DbErr> {
    zone_lock(conn, tenant, true).await
}

/// `payments.reported_at` in whole seconds since the epoch.
fn epoch(backend: DatabaseBackend) -> Expr {
    match backend {
        DatabaseBackend::Postgres => {
            Expr::cust("CAST(FLOOR(EXTRACT(EPOCH FROM payments.reported_at)) AS BIGINT)")
        }
        _ => Expr::cust("unixepoch(payments.reported_at)"),
    }
}

#[derive(FromQueryResult)]
struct Range {
    first: Option<i64>,
    last: Option<i64>,
}

/// Recomputes the tenant's rollup from its payments, their days in the zone whose offsets
/// `offsets_over(first, last)` gives between its first and last `reported_at`: under the
/// exclusive form of [`hold_zone`], the rows deleted, then one INSERT…SELECT whose local date
/// is `(seconds since the epoch + the offset in effect) / 86 400`, the offset chosen by a CASE
/// among the few of the range, so the day is the tenant's whatever the engine knows of time
/// zones (SQLite knows none) and across DST changes.
pub async fn rebuild(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    offsets_over: impl FnOnce(DateTime<Utc>, DateTime<Utc>) -> Vec<(DateTime<Utc>, i64)>,
) -> Result<(), DbErr> {
    zone_lock(conn, tenant, false).await?;
    payment_days::Entity::delete_many()
        .filter(payment_days::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await?;
    let backend = conn.get_database_backend();
    let range = customer_payments(tenant)
        .select_only()
        .column_as(Expr::from(Func::min(epoch(backend))), "first")
        .column_as(Expr::from(Func::max(epoch(backend))), "last")
        .into_model::<Range>()
        .one(conn)
        .await?;
    let Some((first, last)) = range
        .and_then(|range| range.first.zip(range.last))
        .and_then(|(first, last)| {
            DateTime::from_timestamp(first, 0).zip(DateTime::from_timestamp(last + 1, 0))
        })
    else {
        return Ok(());
    };
    let offsets = offsets_over(first, last);
    let offset = match offsets.as_slice() {
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
    let local_day = epoch(backend).add(offset).div(Expr::val(86_400_i64));
    let method: Expr =
        Func::coalesce([Expr::col(payments::Column::Method), Expr::val(NO_METHOD)]).into();
    let service: Expr = Func::coalesce([
        Expr::col(payments::Column::ServiceId),
        Expr::val(Uuid::nil()),
    ])
    .into();
    let mut select = customer_payments(tenant)
        .select_only()
        .column(payments::Column::TenantId)
        .column_as(local_day, "local_day")
        .column(payments::Column::Status)
        .column(payments::Column::Provider)
        .column_as(method, "method")
        .column_as(service, "service_id");
    for (expr, alias) in sums_of_payments() {
        select = select.column_as(expr, alias);
    }
    let select = select
        .group_by(payments::Column::TenantId)
        .group_by(Expr::col("local_day"))
        .group_by(payments::Column::Status)
        .group_by(payments::Column::Provider)
        // The stored columns: their COALESCE in the selection depends on them alone.
        .group_by(payments::Column::Method)
        .group_by(payments::Column::ServiceId)
        .into_query();
    use payment_days::Column as C;
    let insert = Query::insert()
        .into_table(payment_days::Entity)
        .columns([
            C::TenantId,
            C::LocalDay,
            C::Status,
            C::Provider,
            C::Method,
            C::ServiceId,
            C::N,
            C::Paid,
            C::Fees,
            C::Refunded,
            C::Owed,
        ])
        .select_from(select)
        .map_err(|err| DbErr::Custom(err.to_string()))?
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
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

/// The rollup's sums over the columns of `payments`, in [`Sums`]' order under the rollup's
/// names: what [`contribution`] adds per payment.
fn sums_of_payments() -> [(Expr, &'static str); 5] {
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

/// The sums of rollup rows, in [`Sums`]' order.
fn sums_of_days() -> [(Expr, &'static str); 5] {
    use payment_days::Column as C;
    [C::N, C::Paid, C::Fees, C::Refunded, C::Owed]
        .map(|column| (total(Expr::col(column)), column.as_str()))
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

/// The tenant's rows of local days `from..=to` (days since 1970-01-01) that hold payments.
fn days_in(tenant: TenantId, from: i64, to: i64) -> sea_orm::Select<payment_days::Entity> {
    let mut query = payment_days::Entity::find()
        .select_only()
        .filter(payment_days::Column::TenantId.eq(tenant.0))
        .filter(payment_days::Column::LocalDay.between(from, to))
        .filter(payment_days::Column::N.gt(0));
    for (expr, alias) in sums_of_days() {
        query = query.column_as(expr, alias);
    }
    query
}

#[derive(FromQueryResult)]
struct GroupRow {
    status: String,
    service_id: Uuid,
    method: String,
    provider: String,
    #[sea_orm(nested)]
    sums: SumsRow,
}

/// The payments of local days `from..=to` grouped by status, service, method and provider: every
/// total and breakdown of the finance page but the daily series, in one statement.
pub async fn groups(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: i64,
    to: i64,
) -> AppResult<Vec<Group>> {
    use payment_days::Column as C;
    let rows = days_in(tenant, from, to)
        .columns([C::Status, C::ServiceId, C::Method, C::Provider])
        .group_by(C::Status)
        .group_by(C::ServiceId)
        .group_by(C::Method)
        .group_by(C::Provider)
        .into_model::<GroupRow>()
        .all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Group {
                status: PaymentStatus::parse_stored(&row.status)?,
                service: Some(row.service_id)
                    .filter(|id| !id.is_nil())
                    .map(ServiceId),
                method: Some(row.method.as_str())
                    .filter(|method| *method != NO_METHOD)
                    .map(PaymentMethod::parse_stored)
                    .transpose()?,
                provider: PaymentProvider::parse_stored(&row.provider)?,
                sums: Sums::from(&row.sums),
            })
        })
        .collect()
}

#[derive(FromQueryResult)]
struct DayRow {
    local_day: i64,
    status: String,
    #[sea_orm(nested)]
    sums: SumsRow,
}

/// The payments of local days `from..=to` grouped by local day and status.
pub async fn by_local_day(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: i64,
    to: i64,
) -> AppResult<Vec<DayGroup>> {
    use payment_days::Column as C;
    let rows = days_in(tenant, from, to)
        .columns([C::LocalDay, C::Status])
        .group_by(C::LocalDay)
        .group_by(C::Status)
        .into_model::<DayRow>()
        .all(conn)
        .await?;
    rows.iter()
        .filter_map(|row| Some((date_of(row.local_day)?, row)))
        .map(|(date, row)| {
            Ok(DayGroup {
                date,
                status: PaymentStatus::parse_stored(&row.status)?,
                sums: Sums::from(&row.sums),
            })
        })
        .collect()
}
