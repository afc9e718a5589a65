//! Customer rules: one customer per phone and tenant, searchable pages, deletion only without
//! appointments.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use uuid::Uuid;

use super::{
    model::{Customer, CustomerSearch, parse_email, parse_name},
    repo,
};
use crate::{
    domains::{appointments, auth::model::Viewer, ids::CustomerId, tenants::model::TenantId},
    error::{AppError, AppResult, DbResultExt},
    state::AppState,
    values::E164Phone,
};

const PHONE_TAKEN: &str = "Já existe um cliente com este telefone";
const HAS_FUTURE_APPOINTMENTS: &str =
    "Este cliente possui agendamentos futuros e não pode ser excluído";
const HAS_APPOINTMENT_HISTORY: &str =
    "Este cliente possui histórico de agendamentos e não pode ser excluído";

/// A customer of the tenant (NOT_FOUND for another tenant's id).
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: CustomerId,
) -> AppResult<Customer> {
    Ok(repo::find(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("customer"))?
        .into())
}

/// The tenant's customers among `ids` (unknown ids and other tenants' ids are left out).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[CustomerId],
) -> AppResult<HashMap<CustomerId, Customer>> {
    Ok(repo::find_many(conn, tenant, ids)
        .await?
        .into_iter()
        .map(|(id, m)| (id, m.into()))
        .collect())
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
    Ok((
        rows.into_iter().map(Customer::from).collect(),
        has_next,
        total,
    ))
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
    let now = Utc::now();
    let model = repo::insert(
        &state.db,
        entity::customers::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.0),
            name: Set(name),
            phone: Set(input.phone.as_str().to_owned()),
            email: Set(email),
            created_at: Set(now),
            updated_at: Set(now),
        },
    )
    .await
    // Two requests racing past the check: the unique index decides.
    .on_unique_violation(|_| PHONE_TAKEN.into())?;
    Ok(model.into())
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
    let tenant = viewer.tenant()?;
    let model = repo::find(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("customer"))?;
    let mut active = model.into_active_model();
    if let Some(name) = changes.name {
        active.name = Set(parse_name(&name)?);
    }
    if let Some(email) = changes.email {
        active.email = Set(parse_email(email)?);
    }
    if let Some(phone) = changes.phone {
        if repo::exists_with_phone(&state.db, tenant, phone.as_str(), Some(id)).await? {
            return Err(AppError::Conflict(PHONE_TAKEN.into()));
        }
        active.phone = Set(phone.as_str().to_owned());
    }
    active.updated_at = Set(Utc::now());
    Ok(repo::update(&state.db, tenant, active)
        .await
        .on_unique_violation(|_| PHONE_TAKEN.into())?
        .into())
}

/// Deletes a customer and their subscriptions. Refused (CONFLICT) while they have future active
/// appointments, and when any appointment at all references them (the database keeps history).
pub async fn delete(state: &AppState, viewer: &Viewer, id: CustomerId) -> AppResult<CustomerId> {
    let tenant = viewer.tenant()?;
    find(&state.db, tenant, id).await?;
    if appointments::repo::exists_future_active_for_customer(&state.db, tenant, id, Utc::now())
        .await?
    {
        return Err(AppError::Conflict(HAS_FUTURE_APPOINTMENTS.into()));
    }
    let deleted = repo::delete(&state.db, tenant, id)
        .await
        .on_foreign_key_violation(|| HAS_APPOINTMENT_HISTORY.into())?;
    if deleted {
        Ok(id)
    } else {
        Err(AppError::NotFound("customer"))
    }
}
