//! Subscription rules: subscribing (one current subscription per customer), canceling, and the
//! current subscription of customers.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use uuid::Uuid;

use super::{
    model::{Subscription, SubscriptionStatus, current, cycle_containing},
    repo,
};
use crate::{
    db,
    domains::{
        auth::model::Viewer,
        customers,
        ids::{CustomerId, PlanId, SubscriptionId},
        plans, tenants,
        tenants::model::TenantId,
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// A subscription of the tenant (NOT_FOUND for another tenant's id).
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    Subscription::try_from(
        repo::find(conn, tenant, id)
            .await?
            .ok_or(AppError::NotFound("subscription"))?,
    )
}

/// The customer's ACTIVE subscription, if any.
pub async fn active_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
) -> AppResult<Option<Subscription>> {
    repo::find_active_for_customer(conn, tenant, customer)
        .await?
        .map(Subscription::try_from)
        .transpose()
}

/// The subscription, locked until the end of the transaction on Postgres so that concurrent
/// bookings count its cycle one at a time (SQLite serializes booking transactions already).
pub async fn lock_for_booking(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    Subscription::try_from(
        repo::find_for_update(conn, tenant, id)
            .await?
            .ok_or(AppError::NotFound("subscription"))?,
    )
}

/// The current subscription of each of `customers` that ever subscribed (see
/// [`current`]): one statement whatever the number of customers.
pub async fn current_for_customers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customers: &[CustomerId],
) -> AppResult<HashMap<CustomerId, Subscription>> {
    let mut by_customer: HashMap<CustomerId, Vec<Subscription>> = HashMap::new();
    for model in repo::list_for_customers(conn, tenant, customers).await? {
        let subscription = Subscription::try_from(model)?;
        by_customer
            .entry(subscription.customer_id)
            .or_default()
            .push(subscription);
    }
    Ok(by_customer
        .into_iter()
        .filter_map(|(customer, all)| current(all).map(|s| (customer, s)))
        .collect())
}

/// A subscription to create.
pub struct NewSubscription {
    pub customer_id: CustomerId,
    pub plan_id: PlanId,
    /// `None`: now.
    pub starts_at: Option<DateTime<Utc>>,
}

/// How far ahead a subscription may start.
const MAX_START_AHEAD_DAYS: i64 = 366;
/// How far back a subscription may start (bringing existing subscribers over).
const MAX_START_BACK_DAYS: i64 = 3660;

/// Subscribes a customer to a plan on sale: ACTIVE, with the billing cycle that contains now
/// (the first one when it starts later), counted in the tenant's time zone. CONFLICT when the
/// customer already holds an ACTIVE or PAST_DUE subscription.
pub async fn subscribe(
    state: &AppState,
    viewer: &Viewer,
    input: NewSubscription,
) -> AppResult<Subscription> {
    let tenant = tenants::service::find(state, viewer.tenant()?).await?;
    let now = Utc::now();
    let starts_at = input.starts_at.unwrap_or(now);
    if starts_at > now + Duration::days(MAX_START_AHEAD_DAYS)
        || starts_at < now - Duration::days(MAX_START_BACK_DAYS)
    {
        return Err(AppError::bad_input(
            "startsAt",
            "startsAt must be within a year from now and at most ten years ago",
        ));
    }
    let txn = db::begin_write(&state.db).await?;
    customers::service::lock(&txn, tenant.id, input.customer_id).await?;
    let plan = plans::service::find_available(&txn, tenant.id, input.plan_id).await?;
    if repo::exists_current_for_customer(&txn, tenant.id, input.customer_id).await? {
        return Err(AppError::Conflict(
            "O cliente já possui uma assinatura ativa".into(),
        ));
    }
    let (period_start, period_end) =
        cycle_containing(starts_at, plan.interval, tenant.time_zone, now);
    let model = repo::insert(
        &txn,
        entity::subscriptions::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.id.0),
            customer_id: Set(input.customer_id.0),
            plan_id: Set(plan.id.0),
            status: Set(SubscriptionStatus::Active.as_str().to_owned()),
            starts_at: Set(starts_at),
            current_period_start: Set(period_start),
            current_period_end: Set(period_end),
            canceled_at: Set(None),
            external_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        },
    )
    .await?;
    txn.commit().await?;
    Subscription::try_from(model)
}

/// Cancels a subscription now. A subscription that no longer holds its plan (already CANCELED,
/// or EXPIRED) is returned unchanged.
pub async fn cancel(
    state: &AppState,
    viewer: &Viewer,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    let tenant = viewer.tenant()?;
    let model = repo::find(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("subscription"))?;
    if !SubscriptionStatus::parse(&model.status)?.is_current() {
        return Subscription::try_from(model);
    }
    let now = Utc::now();
    let mut active = model.into_active_model();
    active.status = Set(SubscriptionStatus::Canceled.as_str().to_owned());
    active.canceled_at = Set(Some(now));
    active.updated_at = Set(now);
    Subscription::try_from(repo::update(&state.db, tenant, active).await?)
}

/// Subscriptions of the tenant by id (the ones that exist).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[SubscriptionId],
) -> AppResult<HashMap<SubscriptionId, Subscription>> {
    repo::find_many(conn, tenant, ids)
        .await?
        .into_iter()
        .map(|(id, model)| Ok((id, Subscription::try_from(model)?)))
        .collect()
}
