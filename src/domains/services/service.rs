//! Service rules: validation, listing, archiving instead of deleting.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::ConnectionTrait;

use super::{
    model::{Listing, ListingChanges, Service, ServiceUpdate, parse_duration},
    repo,
};
use crate::{
    kernel::{
        error::{AppError, AppResult},
        ids::{ServiceId, TenantId},
        values::MoneyCents,
        viewer::Viewer,
    },
    state::AppState,
};

/// A service of the tenant, active or not (NOT_FOUND for another tenant's id).
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ServiceId,
) -> AppResult<Service> {
    repo::find(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("service"))
}

/// A service that can be booked now: it exists for the tenant and is active.
pub async fn find_bookable(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ServiceId,
) -> AppResult<Service> {
    let service = find(conn, tenant, id).await?;
    if !service.active {
        return Err(AppError::bad_input(
            "serviceId",
            "Este serviço não está disponível para agendamento",
        ));
    }
    Ok(service)
}

/// The tenant's services among `ids` (unknown ids and other tenants' ids are left out).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[ServiceId],
) -> AppResult<HashMap<ServiceId, Service>> {
    Ok(repo::find_many(conn, tenant, ids).await?)
}

/// The tenant's services customers can book now (active, not archived), by name.
pub async fn bookable(conn: &impl ConnectionTrait, tenant: TenantId) -> AppResult<Vec<Service>> {
    Ok(repo::list(conn, tenant, false).await?)
}

/// The viewer's services that are not archived, by name; inactive ones only when asked.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    include_inactive: bool,
) -> AppResult<Vec<Service>> {
    Ok(repo::list(&state.db, viewer.tenant()?, include_inactive).await?)
}

/// Fields of a new service.
pub struct NewService {
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub duration_minutes: i32,
}

/// Creates an active service for the viewer's tenant.
pub async fn create(state: &AppState, viewer: &Viewer, input: NewService) -> AppResult<Service> {
    let tenant = viewer.tenant()?;
    let listing = Listing::parse(&input.name, input.description, input.price)?;
    let duration = parse_duration(input.duration_minutes)?;
    Ok(repo::insert(&state.db, tenant, listing, duration, Utc::now()).await?)
}

/// Changes to a service; `None` leaves a field as it is.
#[derive(Default)]
pub struct ServiceChanges {
    pub listing: ListingChanges,
    pub duration_minutes: Option<i32>,
    pub active: Option<bool>,
}

/// Updates a service of the viewer's tenant. An archived service stays inactive.
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    id: ServiceId,
    changes: ServiceChanges,
) -> AppResult<Service> {
    let tenant = viewer.tenant()?;
    let current = find(&state.db, tenant, id).await?;
    if changes.active == Some(true) && current.archived_at.is_some() {
        return Err(AppError::bad_input(
            "active",
            "Um serviço arquivado não pode ser reativado",
        ));
    }
    let update = ServiceUpdate {
        listing: changes.listing.validate()?,
        duration_minutes: changes.duration_minutes.map(parse_duration).transpose()?,
        active: changes.active,
        archived_at: None,
        updated_at: Utc::now(),
    };
    Ok(repo::update(&state.db, tenant, id, update).await?)
}

/// Archives a service: inactive and hidden from lists, kept for the appointments and plans that
/// reference it. Archiving twice is a no-op.
pub async fn archive(state: &AppState, viewer: &Viewer, id: ServiceId) -> AppResult<Service> {
    let tenant = viewer.tenant()?;
    let current = find(&state.db, tenant, id).await?;
    if current.archived_at.is_some() {
        return Ok(current);
    }
    let now = Utc::now();
    let update = ServiceUpdate {
        listing: Default::default(),
        duration_minutes: None,
        active: Some(false),
        archived_at: Some(now),
        updated_at: now,
    };
    Ok(repo::update(&state.db, tenant, id, update).await?)
}
