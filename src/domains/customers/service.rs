//! Customer rules (one customer per phone and tenant, searchable pages, deletion only without
//! appointments) and subscription rules (one current subscription per customer, canceling, the
//! current subscription of customers).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{
    model::{
        Customer, CustomerSearch, CustomerUpdate, NewSubscriptionRow, Subscription, current,
        cycle_containing, parse_email, parse_name,
    },
    repo,
};
use crate::{
    db,
    domains::{plans, tenants},
    kernel::{
        error::{AppError, AppResult, DbResultExt},
        ids::{CustomerId, PlanId, SubscriptionId, TenantId},
        values::E164Phone,
        viewer::Viewer,
    },
    state::AppState,
};

const PHONE_TAKEN: &str = "Já existe um cliente com este telefone";
const HAS_APPOINTMENT_HISTORY: &str =
    "Este cliente possui histórico de agendamentos e não pode ser excluído";

/// A customer of the tenant (NOT_FOUND for another tenant's id).
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> AppResult<Customer> {
    repo::find(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("customer"))
}

/// The tenant's customers among `ids` (unknown ids and other tenants' ids are left out).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[CustomerId],
) -> AppResult<HashMap<CustomerId, Customer>> {
    Ok(repo::find_many(conn, tenant, ids).await?)
}

/// The ids of the tenant's customers matching `search` (name, e-mail, phone digits), as a
/// subquery: another domain's list filters by customer in the same statement.
pub fn matching_ids(
    tenant: TenantId,
    search: &CustomerSearch,
) -> sea_orm::sea_query::SelectStatement {
    repo::matching_ids(tenant, search)
}

/// Serializes the rest of the transaction `conn` for this customer (call it first in the
/// transaction); NOT_FOUND for another tenant's id.
pub async fn lock(conn: &impl ConnectionTrait, tenant: TenantId, id: CustomerId) -> AppResult<()> {
    if repo::lock(conn, tenant, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("customer"))
    }
}

/// One page of the viewer's customers matching `search`, in creation order: the customers,
/// whether more follow, and how many match in all.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    search: Option<&CustomerSearch>,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<(Vec<Customer>, bool, u64)> {
    let tenant = viewer.tenant()?;
    let mut rows = repo::list_page(&state.db, tenant, search, after, limit + 1).await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let total = repo::count(&state.db, tenant, search).await?;
    Ok((rows, has_next, total))
}

/// Fields of a new customer.
pub struct NewCustomer {
    pub name: String,
    pub phone: E164Phone,
    pub email: Option<String>,
}

/// Creates a customer; CONFLICT when the tenant already has one with this phone.
pub async fn create(state: &AppState, viewer: &Viewer, input: NewCustomer) -> AppResult<Customer> {
    let tenant = viewer.tenant()?;
    let name = parse_name(&input.name)?;
    let email = parse_email(input.email)?;
    if repo::exists_with_phone(&state.db, tenant, input.phone.as_str(), None).await? {
        return Err(AppError::Conflict(PHONE_TAKEN.into()));
    }
    repo::insert(
        &state.db,
        tenant,
        name,
        input.phone.as_str(),
        email,
        Utc::now(),
    )
    .await
    // Two requests racing past the check: the unique index decides.
    .on_unique_violation(|_| PHONE_TAKEN.into())
}

/// The tenant's customer with `phone`, created when there is none (a WhatsApp contact): named
/// `name` when it is a usable name, else after the phone. Runs in the caller's transaction.
pub async fn find_or_create_by_phone(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    phone: &E164Phone,
    name: Option<&str>,
) -> AppResult<Customer> {
    let name = name
        .and_then(|name| parse_name(name).ok())
        .unwrap_or_else(|| phone.as_str().to_owned());
    Ok(repo::find_or_insert_by_phone(conn, tenant, name, phone.as_str(), Utc::now()).await?)
}

/// Changes to a customer; `None` leaves a field as it is, `Some(None)` clears the e-mail.
#[derive(Default)]
pub struct CustomerChanges {
    pub name: Option<String>,
    pub phone: Option<E164Phone>,
    pub email: Option<Option<String>>,
}

/// Updates a customer; CONFLICT when the new phone belongs to another customer of the tenant.
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    id: CustomerId,
    changes: CustomerChanges,
) -> AppResult<Customer> {
    update_in(state, viewer.tenant()?, id, changes).await
}

/// [`update`] of a tenant's customer without a dashboard user (the customer's own request on
/// WhatsApp).
pub async fn update_in(
    state: &AppState,
    tenant: TenantId,
    id: CustomerId,
    changes: CustomerChanges,
) -> AppResult<Customer> {
    find(&state.db, tenant, id).await?;
    let update = CustomerUpdate {
        name: changes.name.as_deref().map(parse_name).transpose()?,
        email: changes.email.map(parse_email).transpose()?,
        phone: changes.phone.map(|p| p.as_str().to_owned()),
        updated_at: Utc::now(),
    };
    if let Some(phone) = &update.phone
        && repo::exists_with_phone(&state.db, tenant, phone, Some(id)).await?
    {
        return Err(AppError::Conflict(PHONE_TAKEN.into()));
    }
    repo::update(&state.db, tenant, id, update)
        .await
        .on_unique_violation(|_| PHONE_TAKEN.into())
}

/// Deletes a customer and their subscriptions. Refused (CONFLICT) when any appointment references
/// them: the database keeps history. The use case (`deleteCustomer`) is
/// `appointments::service::delete_customer`, which refuses earlier while bookings are ahead.
pub async fn delete(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> AppResult<()> {
    let deleted = repo::delete(conn, tenant, id)
        .await
        .on_foreign_key_violation(|| HAS_APPOINTMENT_HISTORY.into())?;
    if deleted {
        Ok(())
    } else {
        Err(AppError::NotFound("customer"))
    }
}

/// How many customers the tenant has.
pub async fn count(conn: &impl ConnectionTrait, tenant: TenantId) -> AppResult<u64> {
    Ok(repo::count(conn, tenant, None).await?)
}

/// How many customers hold an ACTIVE subscription.
pub async fn count_active_subscribers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> AppResult<u64> {
    Ok(repo::count_active_subscribers(conn, tenant).await?)
}

/// A subscription of the tenant (NOT_FOUND for another tenant's id).
pub async fn find_subscription(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    repo::find_subscription(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("subscription"))
}

/// The customer's ACTIVE subscription, if any.
pub async fn active_for_customer(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customer: CustomerId,
) -> AppResult<Option<Subscription>> {
    repo::find_active_for_customer(conn, tenant, customer).await
}

/// The subscription, locked until the end of the transaction on Postgres so that concurrent
/// bookings count its cycle one at a time (SQLite serializes booking transactions already).
pub async fn lock_for_booking(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    repo::find_for_update(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("subscription"))
}

/// The current subscription of each of `customers` that ever subscribed (see
/// [`current`]): one statement whatever the number of customers.
pub async fn current_for_customers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    customers: &[CustomerId],
) -> AppResult<HashMap<CustomerId, Subscription>> {
    let mut by_customer: HashMap<CustomerId, Vec<Subscription>> = HashMap::new();
    for subscription in repo::list_for_customers(conn, tenant, customers).await? {
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
    let tenant = tenants::service::find(&state.db, viewer.tenant()?).await?;
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
    lock(&txn, tenant.id, input.customer_id).await?;
    let plan = plans::service::find_available(&txn, tenant.id, input.plan_id).await?;
    if repo::exists_current_for_customer(&txn, tenant.id, input.customer_id).await? {
        return Err(AppError::Conflict(
            "O cliente já possui uma assinatura ativa".into(),
        ));
    }
    let (period_start, period_end) =
        cycle_containing(starts_at, plan.interval, tenant.time_zone, now);
    let row = NewSubscriptionRow {
        tenant_id: tenant.id,
        customer_id: input.customer_id,
        plan_id: plan.id,
        starts_at,
        period_start,
        period_end,
    };
    let subscription = repo::insert_subscription(&txn, row, now).await?;
    txn.commit().await?;
    Ok(subscription)
}

/// Cancels a subscription now. A subscription that no longer holds its plan (already CANCELED,
/// or EXPIRED) is returned unchanged.
pub async fn cancel(
    state: &AppState,
    viewer: &Viewer,
    id: SubscriptionId,
) -> AppResult<Subscription> {
    let tenant = viewer.tenant()?;
    let subscription = find_subscription(&state.db, tenant, id).await?;
    if !subscription.status.is_current() {
        return Ok(subscription);
    }
    repo::cancel_subscription(&state.db, tenant, id, Utc::now()).await
}

/// Subscriptions of the tenant by id (the ones that exist).
pub async fn find_subscriptions(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[SubscriptionId],
) -> AppResult<HashMap<SubscriptionId, Subscription>> {
    repo::find_subscriptions(conn, tenant, ids).await
}
