//! Queries for `subscriptions`, all scoped by tenant.

use std::collections::HashMap;

use entity::subscriptions;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::domains::{
    ids::{CustomerId, SubscriptionId},
    tenants::model::TenantId,
};

/// Statuses in which a subscription holds its plan (at most one per customer).
pub const CURRENT_STATUSES: [&str; 2] = ["ACTIVE", "PAST_DUE"];

pub async fn find(
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

pub async fn find_many(
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
        .filter(subscriptions::Column::Status.eq("ACTIVE"))
        .order_by_desc(subscriptions::Column::StartsAt)
        .one(conn)
        .await
}

/// Customers holding an ACTIVE subscription.
pub async fn count_active_subscribers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<u64, DbErr> {
    use sea_orm::{PaginatorTrait, QuerySelect};
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

pub async fn insert(
    conn: &impl ConnectionTrait,
    subscription: subscriptions::ActiveModel,
) -> Result<subscriptions::Model, DbErr> {
    subscriptions::Entity::insert(subscription)
        .exec_with_returning(conn)
        .await
}

/// Writes the changed columns of `subscription`, a row of `tenant`.
pub async fn update(
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
