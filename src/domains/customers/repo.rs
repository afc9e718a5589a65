//! Queries for `customers` and `subscriptions`, all scoped by tenant; rows go in and out as
//! domain types.

use std::collections::HashMap;

use entity::{customers, subscriptions};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{Set, Unchanged};

use super::model::{
    Customer, CustomerSearch, CustomerUpdate, NewSubscriptionRow, Subscription, SubscriptionStatus,
};
use crate::{
    db::set_some,
    kernel::{
        error::AppResult,
        ids::{CustomerId, SubscriptionId, TenantId},
        values::EnumStr,
    },
};

/// The row `id` of `tenant`.
fn one(tenant: TenantId, id: CustomerId) -> Condition {
    Condition::all()
        .add(customers::Column::TenantId.eq(tenant.0))
        .add(customers::Column::Id.eq(id.0))
}

pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> Result<Option<Customer>, DbErr> {
    Ok(customers::Entity::find()
        .filter(one(tenant, id))
        .one(conn)
        .await?
        .map(Customer::from))
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[CustomerId],
) -> Result<HashMap<CustomerId, Customer>, DbErr> {
    Ok(customers::Entity::find()
        .filter(customers::Column::TenantId.eq(tenant.0))
        .filter(customers::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (CustomerId(m.id), m.into()))
        .collect())
}

/// `%text%` for LIKE, with `%`, `_` and the escape character `!` taken literally.
fn contains_pattern(text: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape('!')
}

/// The tenant's customers matching `search`: name (case-insensitive), e-mail (stored lower-case)
/// or phone digits contain it. Plain LIKE on LOWER(...) so SQLite and Postgres agree.
fn matching(tenant: TenantId, search: Option<&CustomerSearch>) -> Select<customers::Entity> {
    let query = customers::Entity::find().filter(customers::Column::TenantId.eq(tenant.0));
    let Some(search) = search else {
        return query;
    };
    let mut any = Condition::any()
        .add(
            Expr::expr(Func::lower(Expr::col((
                customers::Entity,
                customers::Column::Name,
            ))))
            .like(contains_pattern(&search.text)),
        )
        .add(
            Expr::col((customers::Entity, customers::Column::Email))
                .like(contains_pattern(&search.text)),
        );
    if let Some(digits) = &search.digits {
        any = any.add(
            Expr::col((customers::Entity, customers::Column::Phone)).like(contains_pattern(digits)),
        );
    }
    query.filter(any)
}

/// The ids of the tenant's customers matching `search`, as a subquery for another list.
pub fn matching_ids(
    tenant: TenantId,
    search: &CustomerSearch,
) -> sea_orm::sea_query::SelectStatement {
    matching(tenant, Some(search))
        .select_only()
        .column(customers::Column::Id)
        .into_query()
}

/// One page of matching customers ordered by id (creation order, ids are UUID v7), after `after`.
pub async fn list_page(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    search: Option<&CustomerSearch>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Customer>, DbErr> {
    let mut query = matching(tenant, search)
        .order_by_asc(customers::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(customers::Column::Id.gt(after));
    }
    Ok(query
        .all(conn)
        .await?
        .into_iter()
        .map(Customer::from)
        .collect())
}

pub async fn count(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    search: Option<&CustomerSearch>,
) -> Result<u64, DbErr> {
    matching(tenant, search).count(conn).await
}

/// Whether another customer of the tenant has this phone.
pub async fn exists_with_phone(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    phone: &str,
    except: Option<CustomerId>,
) -> Result<bool, DbErr> {
    let mut query = customers::Entity::find()
        .filter(customers::Column::TenantId.eq(tenant.0))
        .filter(customers::Column::Phone.eq(phone));
    if let Some(except) = except {
        query = query.filter(customers::Column::Id.ne(except.0));
    }
    Ok(query.count(conn).await? > 0)
}

fn new_row(
    tenant: TenantId,
    name: String,
    phone: &str,
    email: Option<String>,
    now: DateTime<Utc>,
) -> customers::ActiveModel {
    customers::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        name: Set(name),
        phone: Set(phone.to_owned()),
        email: Set(email),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    name: String,
    phone: &str,
    email: Option<String>,
    now: DateTime<Utc>,
) -> Result<Customer, DbErr> {
    customers::Entity::insert(new_row(tenant, name, phone, email, now))
        .exec_with_returning(conn)
        .await
        .map(Customer::from)
}

/// The tenant's customer with `phone`, inserted as `name` when there is none; a concurrent insert
/// of the same phone is found, never duplicated.
pub async fn find_or_insert_by_phone(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    name: String,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<Customer, DbErr> {
    let by_phone = || {
        customers::Entity::find()
            .filter(customers::Column::TenantId.eq(tenant.0))
            .filter(customers::Column::Phone.eq(phone))
            .one(conn)
    };
    // Most messages come from customers already known: one statement for them.
    if let Some(known) = by_phone().await? {
        return Ok(known.into());
    }
    customers::Entity::insert(new_row(tenant, name, phone, None, now))
        .on_conflict_do_nothing_on([customers::Column::TenantId, customers::Column::Phone])
        .exec_without_returning(conn)
        .await?;
    by_phone()
        .await?
        .map(Customer::from)
        .ok_or_else(|| DbErr::RecordNotFound("the customer just upserted".into()))
}

/// Writes `changes` to customer `id` of `tenant` and returns the row as stored.
pub async fn update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
    changes: CustomerUpdate,
) -> Result<Customer, DbErr> {
    let mut row = customers::ActiveModel {
        id: Unchanged(id.0),
        updated_at: Set(changes.updated_at),
        ..Default::default()
    };
    set_some(&mut row.name, changes.name);
    set_some(&mut row.phone, changes.phone);
    set_some(&mut row.email, changes.email);
    customers::Entity::update(row)
        .validate()?
        .filter(customers::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await
        .map(Customer::from)
}

/// Deletes the customer; whether a row was deleted.
pub async fn delete(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> Result<bool, DbErr> {
    Ok(customers::Entity::delete_many()
        .filter(one(tenant, id))
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// Writes the customer's row without changing it, so the rest of the transaction runs alone for
/// this customer: Postgres holds the row lock until the end of the transaction (SQLite serializes
/// write transactions anyway, see `db::begin_write`). Call it first in the transaction. Whether
/// the customer exists.
pub async fn lock(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> Result<bool, DbErr> {
    Ok(customers::Entity::update_many()
        .col_expr(
            customers::Column::UpdatedAt,
            Expr::col(customers::Column::UpdatedAt),
        )
        .filter(one(tenant, id))
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// Statuses in which a subscription holds its plan (at most one per customer).
const CURRENT_STATUSES: [SubscriptionStatus; 2] =
    [SubscriptionStatus::Active, SubscriptionStatus::PastDue];

pub async fn find_subscription(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Option<Subscription>> {
    subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::Id.eq(id.0))
        .one(conn)
        .await?
        .map(Subscription::try_from)
        .transpose()
}

pub async fn find_subscriptions(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[SubscriptionId],
) -> AppResult<HashMap<SubscriptionId, Subscription>> {
    subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| Ok((SubscriptionId(m.id), Subscription::try_from(m)?)))
        .collect()
}

/// The customer's active subscription, if any (the most recent one).
pub async fn find_active_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
) -> AppResult<Option<Subscription>> {
    subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::CustomerId.eq(customer.0))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active.as_str()))
        .order_by_desc(subscriptions::Column::StartsAt)
        .one(conn)
        .await?
        .map(Subscription::try_from)
        .transpose()
}

/// Customers holding an ACTIVE subscription.
pub async fn count_active_subscribers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<u64, DbErr> {
    subscriptions::Entity::find()
        .select_only()
        .column(subscriptions::Column::CustomerId)
        .distinct()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active.as_str()))
        .count(conn)
        .await
}

/// Like [`find`], with `FOR UPDATE` on Postgres.
pub async fn find_for_update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Option<Subscription>> {
    use sea_orm::{DatabaseBackend, QuerySelect};
    let mut query = subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::Id.eq(id.0));
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(conn)
        .await?
        .map(Subscription::try_from)
        .transpose()
}

/// Every subscription of the given customers, in any status.
pub async fn list_for_customers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customers: &[CustomerId],
) -> AppResult<Vec<Subscription>> {
    subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::CustomerId.is_in(customers.iter().map(|c| c.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(Subscription::try_from)
        .collect()
}

/// Whether the customer holds an ACTIVE or PAST_DUE subscription.
pub async fn exists_current_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
) -> Result<bool, DbErr> {
    Ok(subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::CustomerId.eq(customer.0))
        .filter(subscriptions::Column::Status.is_in(CURRENT_STATUSES.map(EnumStr::as_str)))
        .count(conn)
        .await?
        > 0)
}

pub async fn insert_subscription(
    conn: &impl ConnectionTrait,
    subscription: NewSubscriptionRow,
    now: DateTime<Utc>,
) -> AppResult<Subscription> {
    subscriptions::Entity::insert(subscriptions::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(subscription.tenant_id.0),
        customer_id: Set(subscription.customer_id.0),
        plan_id: Set(subscription.plan_id.0),
        status: Set(SubscriptionStatus::Active.as_str().to_owned()),
        starts_at: Set(subscription.starts_at),
        current_period_start: Set(subscription.period_start),
        current_period_end: Set(subscription.period_end),
        canceled_at: Set(None),
        external_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?
    .try_into()
}

/// Marks subscription `id` of `tenant` CANCELED at `now` and returns the row as stored.
pub async fn cancel_subscription(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
    now: DateTime<Utc>,
) -> AppResult<Subscription> {
    subscriptions::Entity::update(subscriptions::ActiveModel {
        id: Unchanged(id.0),
        status: Set(SubscriptionStatus::Canceled.as_str().to_owned()),
        canceled_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    })
    .validate()?
    .filter(subscriptions::Column::TenantId.eq(tenant.0))
    .exec(conn)
    .await?
    .try_into()
}
