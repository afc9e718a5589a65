//! `payment_days`: the finance rollup. One row per (tenant, local date in the tenant's time zone,
//! status, provider, method, service) of the tenants' customer payments (SaaS fees are not a
//! tenant's revenue), with the count and the cent sums the finance summary adds up, so a year's
//! summary reads a few thousand rows instead of every payment. The key has no NULL, because a
//! unique index never matches one and the application upserts by it: no method is `''`, no
//! service the nil UUID. `local_day` counts days since 1970-01-01.
//!
//! The backfill fills it from the payments already stored, one INSERT…SELECT per time zone in
//! use. SQLite knows no time zones, so the local date is `(seconds since the epoch + the zone's
//! offset then) / 86 400`, the offsets (from chrono-tz, as the application's) chosen by a CASE
//! among the zone's few transitions over the payments' range. A migration is frozen while the
//! application changes, so this one computes the transitions itself instead of calling it.

use chrono::{DateTime, Offset, TimeZone as _, Utc};
use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DatabaseBackend},
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_payment_days"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentDays::Table)
                    .col(uuid(PaymentDays::TenantId))
                    .col(big_integer(PaymentDays::LocalDay))
                    .col(string(PaymentDays::Status))
                    .col(string(PaymentDays::Provider))
                    .col(string(PaymentDays::Method))
                    .col(uuid(PaymentDays::ServiceId))
                    .col(big_integer(PaymentDays::N))
                    .col(big_integer(PaymentDays::Paid))
                    .col(big_integer(PaymentDays::Fees))
                    .col(big_integer(PaymentDays::Refunded))
                    .col(big_integer(PaymentDays::Owed))
                    .primary_key(
                        Index::create()
                            .col(PaymentDays::TenantId)
                            .col(PaymentDays::LocalDay)
                            .col(PaymentDays::Status)
                            .col(PaymentDays::Provider)
                            .col(PaymentDays::Method)
                            .col(PaymentDays::ServiceId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PaymentDays::Table, PaymentDays::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        backfill(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentDays::Table).to_owned())
            .await
    }
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

fn customer_payments() -> Expr {
    Expr::col((Payments::Table, Payments::Purpose)).ne("SAAS_FEE")
}

async fn backfill(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let ranges = Query::select()
        .column((Tenants::Table, Tenants::TimeZone))
        .expr_as(Func::min(epoch(backend)), Alias::new("first"))
        .expr_as(Func::max(epoch(backend)), Alias::new("last"))
        .from(Payments::Table)
        .inner_join(
            Tenants::Table,
            Expr::col((Tenants::Table, Tenants::Id)).equals((Payments::Table, Payments::TenantId)),
        )
        .and_where(customer_payments())
        .group_by_col((Tenants::Table, Tenants::TimeZone))
        .to_owned();
    for row in db.query_all(&ranges).await? {
        let stored: String = row.try_get("", "time_zone")?;
        let (first, last): (i64, i64) = (row.try_get("", "first")?, row.try_get("", "last")?);
        // As the application reads a zone it does not know.
        let zone = stored.parse().unwrap_or(chrono_tz::America::Sao_Paulo);
        let insert = zone_rows(backend, &stored, &offsets(zone, first, last + 1))?;
        db.execute(&insert).await?;
    }
    Ok(())
}

/// The rollup rows of the tenants in zone `stored`, whose offsets over their payments are
/// `offsets`.
fn zone_rows(
    backend: DatabaseBackend,
    stored: &str,
    offsets: &[(i64, i64)],
) -> Result<InsertStatement, DbErr> {
    let epoch = epoch(backend);
    let offset = match offsets {
        [(_, only)] => Expr::val(*only),
        [(_, first), rest @ ..] => {
            let mut case = Expr::case(epoch.clone().lt(rest[0].0), Expr::val(*first));
            for pair in rest.windows(2) {
                case = case.case(epoch.clone().lt(pair[1].0), Expr::val(pair[0].1));
            }
            let last = rest.last().map_or(*first, |(_, offset)| *offset);
            case.finally(Expr::val(last)).into()
        }
        [] => Expr::val(0_i64),
    };
    // Postgres sums `bigint` into `numeric`.
    let sum = |expr: Expr| -> Expr { Func::cast_as(Func::sum(expr), "BIGINT").into() };
    let column = |name: Payments| Expr::col((Payments::Table, name));
    let method: Expr = Func::coalesce([column(Payments::Method), Expr::val("")]).into();
    let service: Expr =
        Func::coalesce([column(Payments::ServiceId), Expr::val(uuid::Uuid::nil())]).into();
    let local_day = epoch.add(offset).div(86_400_i64);
    let select = Query::select()
        .column((Payments::Table, Payments::TenantId))
        .expr_as(local_day, Alias::new("local_day"))
        .column((Payments::Table, Payments::Status))
        .column((Payments::Table, Payments::Provider))
        .expr(method)
        .expr(service)
        .expr(Expr::cust("COUNT(*)"))
        .expr(sum(Func::coalesce([
            column(Payments::PaidAmountCents),
            column(Payments::AmountCents),
        ])
        .into()))
        .expr(sum(Func::coalesce([
            column(Payments::FeeCents),
            Expr::val(0),
        ])
        .into()))
        .expr(sum(column(Payments::RefundedCents)))
        .expr(sum(column(Payments::AmountCents)))
        .from(Payments::Table)
        .inner_join(
            Tenants::Table,
            Expr::col((Tenants::Table, Tenants::Id)).equals((Payments::Table, Payments::TenantId)),
        )
        .and_where(Expr::col((Tenants::Table, Tenants::TimeZone)).eq(stored))
        .and_where(customer_payments())
        // The day by its name (Postgres would not match the expression's bound offsets), method
        // and service by their stored columns (their COALESCE depends on them alone).
        .group_by_col((Payments::Table, Payments::TenantId))
        .group_by_col(Alias::new("local_day"))
        .group_by_columns([
            (Payments::Table, Payments::Status),
            (Payments::Table, Payments::Provider),
            (Payments::Table, Payments::Method),
            (Payments::Table, Payments::ServiceId),
        ])
        .to_owned();
    Query::insert()
        .into_table(PaymentDays::Table)
        .columns([
            PaymentDays::TenantId,
            PaymentDays::LocalDay,
            PaymentDays::Status,
            PaymentDays::Provider,
            PaymentDays::Method,
            PaymentDays::ServiceId,
            PaymentDays::N,
            PaymentDays::Paid,
            PaymentDays::Fees,
            PaymentDays::Refunded,
            PaymentDays::Owed,
        ])
        .select_from(select)
        .map(|insert| insert.to_owned())
        .map_err(|err| DbErr::Custom(err.to_string()))
}

/// The offsets (seconds east) of `zone` in effect in `[from, to)` (seconds since the epoch): the
/// one at `from`, then one per transition, found day by day and bisected to the second.
fn offsets(zone: chrono_tz::Tz, from: i64, to: i64) -> Vec<(i64, i64)> {
    let offset = |second: i64| {
        DateTime::<Utc>::from_timestamp(second, 0).map(|at| {
            i64::from(
                zone.offset_from_utc_datetime(&at.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        })
    };
    let mut found = vec![(from, offset(from).unwrap_or(0))];
    let mut second = from;
    while second < to {
        let next = std::cmp::min(second + 86_400, to);
        let current = found.last().map_or(0, |(_, offset)| *offset);
        if offset(next).is_some_and(|changed| changed != current) {
            let (mut before, mut after) = (second, next);
            while after - before > 1 {
                let middle = before + (after - before) / 2;
                if offset(middle) == Some(current) {
                    before = middle;
                } else {
                    after = middle;
                }
            }
            found.push((after, offset(after).unwrap_or(current)));
        }
        second = next;
    }
    found
}

#[derive(DeriveIden)]
enum PaymentDays {
    Table,
    TenantId,
    LocalDay,
    Status,
    Provider,
    Method,
    ServiceId,
    N,
    Paid,
    Fees,
    Refunded,
    Owed,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    TenantId,
    Purpose,
    ServiceId,
    Provider,
    Status,
    Method,
    AmountCents,
    PaidAmountCents,
    FeeCents,
    RefundedCents,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    TimeZone,
}
