//! Queries for `customers` and `subscriptions`, all scoped by tenant.

use std::collections::HashMap;

use entity::{customers, subscriptions};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use super::model::{CustomerSearch, SubscriptionStatus};
use crate::kernel::{
    ids::{CustomerId, SubscriptionId, TenantId},
    values::EnumStr,
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
) -> Result<Option<customers::Model>, DbErr> {
    customers::Entity::find()
        .filter(one(tenant, id))
        .one(conn)
        .await
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[CustomerId],
) -> Result<HashMap<CustomerId, customers::Model>, DbErr> {
    Ok(customers::Entity::find()
        .filter(customers::Column::TenantId.eq(tenant.0))
        .filter(customers::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (CustomerId(m.id), m))
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

/// One page of matching customers ordered by id (creation order, ids are UUID v7), after `after`.
pub async fn list_page(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    search: Option<&CustomerSearch>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<customers::Model>, DbErr> {
    let mut query = matching(tenant, search)
        .order_by_asc(customers::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(customers::Column::Id.gt(after));
    }
    query.all(conn).await
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

pub async fn insert(
    conn: &impl ConnectionTrait,
    customer: customers::ActiveModel,
) -> Result<customers::Model, DbErr> {
    customers::Entity::insert(customer)
        .exec_with_returning(conn)
        .await
}

/// Writes the changed columns of `customer`, a row of `tenant`.
pub async fn update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: customers::ActiveModel,
) -> Result<customers::Model, DbErr> {
    customers::Entity::update(customer)
        .validate()?
        .filter(customers::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await
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
pub const CURRENT_STATUSES: [&str; 2] = ["ACTIVE", "PAST_DUE"];

pub async fn find_subscription(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<Option<subscriptions::Model>, DbErr> {
    subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::Id.eq(id.0))
        .one(conn)
        .await
}

pub async fn find_subscriptions(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[SubscriptionId],
) -> Result<HashMap<SubscriptionId, subscriptions::Model>, DbErr> {
    Ok(subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (SubscriptionId(m.id), m))
        .collect())
}

/// The customer's active subscription, if any (the most recent one).
pub async fn find_active_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
) -> Result<Option<subscriptions::Model>, DbErr> {
    subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::CustomerId.eq(customer.0))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active.as_str()))
        .order_by_desc(subscriptions::Column::StartsAt)
        .one(conn)
        .await
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
        .filter(subscriptions::Column::Status.eq("ACTIVE"))
        .count(conn)
        .await
}

/// Like [`find`], with `FOR UPDATE` on Postgres.
pub async fn find_for_update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<Option<subscriptions::Model>, DbErr> {
    use sea_orm::{DatabaseBackend, QuerySelect};
    let mut query = subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::Id.eq(id.0));
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(conn).await
}

/// Every subscription of the given customers, in any status.
pub async fn list_for_customers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customers: &[CustomerId],
) -> Result<Vec<subscriptions::Model>, DbErr> {
    subscriptions::Entity::find()
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .filter(subscriptions::Column::CustomerId.is_in(customers.iter().map(|c| c.0)))
        .all(conn)
        .await
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
        .filter(subscriptions::Column::Status.is_in(CURRENT_STATUSES))
        .count(conn)
        .await?
        > 0)
}

pub async fn insert_subscription(
    conn: &impl ConnectionTrait,
    subscription: subscriptions::ActiveModel,
) -> Result<subscriptions::Model, DbErr> {
    subscriptions::Entity::insert(subscription)
        .exec_with_returning(conn)
        .await
}

/// Writes the changed columns of `subscription`, a row of `tenant`.
pub async fn update_subscription(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    subscription: subscriptions::ActiveModel,
) -> Result<subscriptions::Model, DbErr> {
    subscriptions::Entity::update(subscription)
        .validate()?
        .filter(subscriptions::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await
}
