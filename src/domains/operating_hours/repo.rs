//! Queries for `opening_hours` and `date_exceptions`, all scoped by tenant; rows go in and out as
//! domain types.

use chrono::{NaiveDate, Utc};
use entity::{date_exceptions, opening_hours};
use sea_orm::{
    ActiveValue::{NotSet, Set, Unchanged},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, Statement,
};
use uuid::Uuid;

use super::model::{DateException, OpeningRange, TimeRange, WeeklyRange};
use crate::kernel::{
    error::AppResult,
    ids::{DateExceptionId, OpeningRangeId, TenantId},
};

/// Starts a transaction that changes the tenant's hours, serialized with every other such
/// transaction of the same tenant, so a check read inside it still holds at commit. SQLite takes
/// the database write lock at `BEGIN IMMEDIATE`; Postgres takes an advisory lock keyed by the
/// tenant, released at commit or rollback.
pub async fn begin_write(
    db: &DatabaseConnection,
    tenant: TenantId,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("opening_hours:{tenant}").into()],
        ))
        .await?;
    }
    Ok(txn)
}

pub async fn list_ranges(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> AppResult<Vec<OpeningRange>> {
    opening_hours::Entity::find()
        .filter(opening_hours::Column::TenantId.eq(tenant.0))
        .order_by_asc(opening_hours::Column::Weekday)
        .order_by_asc(opening_hours::Column::StartMinute)
        .all(conn)
        .await?
        .into_iter()
        .map(OpeningRange::try_from)
        .collect()
}

pub async fn find_range(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: OpeningRangeId,
) -> AppResult<Option<OpeningRange>> {
    opening_hours::Entity::find_by_id(id.0)
        .filter(opening_hours::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?
        .map(OpeningRange::try_from)
        .transpose()
}

fn range_columns(range: &WeeklyRange) -> opening_hours::ActiveModel {
    opening_hours::ActiveModel {
        id: NotSet,
        tenant_id: NotSet,
        weekday: Set(range.weekday.index()),
        start_minute: Set(range.range.start.minutes()),
        end_minute: Set(range.range.end.minutes()),
        only_for_subscribers: Set(range.only_for_subscribers),
        created_at: NotSet,
    }
}

fn new_range(tenant: TenantId, range: &WeeklyRange) -> opening_hours::ActiveModel {
    opening_hours::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        created_at: Set(Utc::now()),
        ..range_columns(range)
    }
}

pub async fn insert_range(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    range: &WeeklyRange,
) -> AppResult<OpeningRange> {
    opening_hours::Entity::insert(new_range(tenant, range))
        .exec_with_returning(conn)
        .await?
        .try_into()
}

/// Inserts every range of `week` in one statement (none when it is empty).
pub async fn insert_ranges(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    week: &[WeeklyRange],
) -> Result<(), DbErr> {
    if week.is_empty() {
        return Ok(());
    }
    opening_hours::Entity::insert_many(week.iter().map(|range| new_range(tenant, range)))
        .exec(conn)
        .await?;
    Ok(())
}

/// Rewrites the day, hours and subscriber flag of one of the tenant's ranges.
pub async fn update_range(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: OpeningRangeId,
    range: &WeeklyRange,
) -> AppResult<OpeningRange> {
    opening_hours::Entity::update(opening_hours::ActiveModel {
        id: Unchanged(id.0),
        ..range_columns(range)
    })
    .validate()?
    .filter(opening_hours::Column::TenantId.eq(tenant.0))
    .exec(conn)
    .await?
    .try_into()
}

/// Deletes the row `id` of `E` if it belongs to `tenant`; false when there is no such row.
async fn delete_owned<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    (id_column, tenant_column): (E::Column, E::Column),
    tenant: TenantId,
    id: Uuid,
) -> Result<bool, DbErr> {
    Ok(E::delete_many()
        .filter(id_column.eq(id))
        .filter(tenant_column.eq(tenant.0))
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// Deletes one of the tenant's ranges; false when it has no such range.
pub async fn delete_range(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: OpeningRangeId,
) -> Result<bool, DbErr> {
    let columns = (opening_hours::Column::Id, opening_hours::Column::TenantId);
    delete_owned::<opening_hours::Entity>(conn, columns, tenant, id.0).await
}

/// Deletes the tenant's whole week.
pub async fn delete_ranges(conn: &impl ConnectionTrait, tenant: TenantId) -> Result<(), DbErr> {
    opening_hours::Entity::delete_many()
        .filter(opening_hours::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Exceptions on dates in `[from, to]`.
pub async fn list_exceptions(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DateException>, DbErr> {
    Ok(date_exceptions::Entity::find()
        .filter(date_exceptions::Column::TenantId.eq(tenant.0))
        .filter(date_exceptions::Column::Date.gte(from))
        .filter(date_exceptions::Column::Date.lte(to))
        .order_by_asc(date_exceptions::Column::Date)
        .all(conn)
        .await?
        .into_iter()
        .map(DateException::from)
        .collect())
}

/// Inserts a closure (`hours` `None`) or special hours on `date`.
pub async fn insert_exception(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    date: NaiveDate,
    hours: Option<TimeRange>,
    reason: Option<String>,
) -> Result<DateException, DbErr> {
    date_exceptions::Entity::insert(date_exceptions::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        date: Set(date),
        start_minute: Set(hours.map(|h| h.start.minutes())),
        end_minute: Set(hours.map(|h| h.end.minutes())),
        reason: Set(reason),
        created_at: Set(Utc::now()),
    })
    .exec_with_returning(conn)
    .await
    .map(DateException::from)
}

/// Deletes one of the tenant's exceptions; false when it has no such exception.
pub async fn delete_exception(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: DateExceptionId,
) -> Result<bool, DbErr> {
    let columns = (
        date_exceptions::Column::Id,
        date_exceptions::Column::TenantId,
    );
    delete_owned::<date_exceptions::Entity>(conn, columns, tenant, id.0).await
}
