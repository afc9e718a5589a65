//! Service rules: validation, listing, archiving instead of deleting.

use std::collections::HashMap;

use chrono::Utc;
use entity::services;
use sea_orm::{ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use uuid::Uuid;

use super::{
    model::{Listing, ListingChanges, Service, parse_duration},
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
    Ok(repo::find(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound("service"))?
        .into())
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
    Ok(repo::find_many(conn, tenant, ids)
        .await?
        .into_iter()
        .map(|(id, m)| (id, m.into()))
        .collect())
}

/// The viewer's services that are not archived, by name; inactive ones only when asked.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    include_inactive: bool,
) -> AppResult<Vec<Service>> {
    Ok(repo::list(&state.db, viewer.tenant()?, include_inactive)
        .await?
        .into_iter()
        .map(Service::from)
        .collect())
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
    let now = Utc::now();
    let model = repo::insert(
        &state.db,
        services::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.0),
            name: Set(listing.name),
            description: Set(listing.description),
            price_cents: Set(listing.price.0),
            duration_minutes: Set(parse_duration(input.duration_minutes)?),
            active: Set(true),
            archived_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        },
    )
    .await?;
    Ok(model.into())
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
    let model = repo::find(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("service"))?;
    if changes.active == Some(true) && model.archived_at.is_some() {
        return Err(AppError::bad_input(
            "active",
            "Um serviço arquivado não pode ser reativado",
        ));
    }
    let mut active = model.into_active_model();
    changes.listing.apply(
        &mut active,
        [
            services::Column::Name,
            services::Column::Description,
            services::Column::PriceCents,
        ],
    )?;
    if let Some(minutes) = changes.duration_minutes {
        active.duration_minutes = Set(parse_duration(minutes)?);
    }
    if let Some(is_active) = changes.active {
        active.active = Set(is_active);
    }
    active.updated_at = Set(Utc::now());
    Ok(repo::update(&state.db, tenant, active).await?.into())
}

/// Archives a service: inactive and hidden from lists, kept for the appointments and plans that
/// reference it. Archiving twice is a no-op.
pub async fn archive(state: &AppState, viewer: &Viewer, id: ServiceId) -> AppResult<Service> {
    let tenant = viewer.tenant()?;
    let model = repo::find(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("service"))?;
    if model.archived_at.is_some() {
        return Ok(model.into());
    }
    let now = Utc::now();
    let mut active = model.into_active_model();
    active.active = Set(false);
    active.archived_at = Set(Some(now));
    active.updated_at = Set(now);
    Ok(repo::update(&state.db, tenant, active).await?.into())
}
