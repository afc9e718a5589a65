//! Customer plan rules: validation, the covered services (the tenant's own, replaced atomically),
//! archiving instead of deleting.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use sea_orm::ConnectionTrait;

use super::{
    model::{Plan, PlanUpdate, parse_max_appointments},
    repo,
};
use crate::{
    db,
    domains::services::{
        self,
        model::{Listing, ListingChanges, Service},
    },
    kernel::{
        error::{AppError, AppResult},
        ids::{PlanId, ServiceId, TenantId},
        values::{BillingInterval, MoneyCents},
        viewer::Viewer,
    },
    state::AppState,
};

/// A plan of the tenant (NOT_FOUND for another tenant's id).
pub async fn find(conn: &impl ConnectionTrait, tenant: TenantId, id: PlanId) -> AppResult<Plan> {
    repo::find(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("plan"))
}

/// Whether the plan covers the service.
pub async fn covers(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    plan: PlanId,
    service: ServiceId,
) -> AppResult<bool> {
    Ok(repo::covers(conn, tenant, plan, service).await?)
}

/// The tenant's plans among `ids` (unknown ids and other tenants' ids are left out).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[PlanId],
) -> AppResult<HashMap<PlanId, Plan>> {
    repo::find_many(conn, tenant, ids).await
}

/// A plan customers can subscribe to now: it exists for the tenant and is not archived.
pub async fn find_available(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: PlanId,
) -> AppResult<Plan> {
    let plan = find(conn, tenant, id).await?;
    if plan.archived_at.is_some() {
        return Err(AppError::bad_input(
            "planId",
            "Este plano não está mais disponível",
        ));
    }
    Ok(plan)
}

/// The services each of `plans` covers, by name (plans covering nothing map to an empty list):
/// two statements whatever the number of plans.
pub async fn covered_services(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    plans: &[PlanId],
) -> AppResult<HashMap<PlanId, Vec<Service>>> {
    let coverage = repo::list_coverage(conn, tenant, plans).await?;
    let ids: Vec<ServiceId> = coverage
        .iter()
        .map(|(_, s)| *s)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let services = services::service::find_many(conn, tenant, &ids).await?;
    let mut covered: HashMap<PlanId, Vec<Service>> =
        plans.iter().map(|p| (*p, Vec::new())).collect();
    for (plan, service) in coverage {
        if let (Some(list), Some(service)) = (covered.get_mut(&plan), services.get(&service)) {
            list.push(service.clone());
        }
    }
    for list in covered.values_mut() {
        list.sort_by_key(|s| s.name.to_lowercase());
    }
    Ok(covered)
}

/// The viewer's plans that are not archived, by name.
pub async fn list(state: &AppState, viewer: &Viewer) -> AppResult<Vec<Plan>> {
    repo::list(&state.db, viewer.tenant()?).await
}

/// Fields of a new plan.
pub struct NewPlan {
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub interval: BillingInterval,
    /// `None`: unlimited.
    pub max_appointments_per_cycle: Option<i32>,
    pub service_ids: Vec<ServiceId>,
}

/// Creates a plan and its covered services in one transaction.
pub async fn create(state: &AppState, viewer: &Viewer, input: NewPlan) -> AppResult<Plan> {
    let tenant = viewer.tenant()?;
    let listing = Listing::parse(&input.name, input.description, input.price)?;
    let max = parse_max_appointments(input.max_appointments_per_cycle)?;
    let txn = db::begin_write(&state.db).await?;
    let services = coverable_services(&txn, tenant, &input.service_ids).await?;
    let plan = repo::insert(&txn, tenant, listing, input.interval, max, Utc::now()).await?;
    repo::replace_services(&txn, tenant, plan.id, &services).await?;
    txn.commit().await?;
    Ok(plan)
}

/// Changes to a plan; `None` leaves a field as it is, `Some(None)` clears a nullable one.
#[derive(Default)]
pub struct PlanChanges {
    pub listing: ListingChanges,
    pub interval: Option<BillingInterval>,
    pub max_appointments_per_cycle: Option<Option<i32>>,
    /// Replaces the covered set when given.
    pub service_ids: Option<Vec<ServiceId>>,
}

/// Updates a plan; a new covered set replaces the old one in the same transaction.
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    id: PlanId,
    changes: PlanChanges,
) -> AppResult<Plan> {
    let tenant = viewer.tenant()?;
    let txn = db::begin_write(&state.db).await?;
    find(&txn, tenant, id).await?;
    let update = PlanUpdate {
        listing: changes.listing.validate()?,
        interval: changes.interval,
        max_appointments_per_cycle: changes
            .max_appointments_per_cycle
            .map(parse_max_appointments)
            .transpose()?,
        archived_at: None,
        updated_at: Utc::now(),
    };
    if let Some(ids) = changes.service_ids {
        let services = coverable_services(&txn, tenant, &ids).await?;
        repo::replace_services(&txn, tenant, id, &services).await?;
    }
    let plan = repo::update(&txn, tenant, id, update).await?;
    txn.commit().await?;
    Ok(plan)
}

/// Takes a plan off sale; current subscriptions keep it. Archiving twice is a no-op.
pub async fn archive(state: &AppState, viewer: &Viewer, id: PlanId) -> AppResult<Plan> {
    let tenant = viewer.tenant()?;
    let current = find(&state.db, tenant, id).await?;
    if current.archived_at.is_some() {
        return Ok(current);
    }
    let now = Utc::now();
    let update = PlanUpdate {
        listing: Default::default(),
        interval: None,
        max_appointments_per_cycle: None,
        archived_at: Some(now),
        updated_at: now,
    };
    repo::update(&state.db, tenant, id, update).await
}

/// The distinct ids, checked: each must be a service of the tenant (NOT_FOUND otherwise) that is
/// not archived.
async fn coverable_services(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[ServiceId],
) -> AppResult<Vec<ServiceId>> {
    let ids: Vec<ServiceId> = ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = services::service::find_many(conn, tenant, &ids).await?;
    for id in &ids {
        match found.get(id) {
            None => return Err(AppError::NotFound("service")),
            Some(service) if service.archived_at.is_some() => {
                return Err(AppError::bad_input(
                    "serviceIds",
                    format!("O serviço {} está arquivado", service.name),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(ids)
}
