//! SaaS plan rules: public listing, admin-only changes.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use uuid::Uuid;

use std::collections::HashMap;

use super::{
    model::{SaasPlan, parse_name},
    repo,
};
use crate::{
    kernel::{
        error::{AppError, AppResult},
        ids::SaasPlanId,
        values::{BillingInterval, EnumStr, MoneyCents, parse_price},
        viewer::Viewer,
    },
    state::AppState,
};

/// Plans on sale, cheapest first.
pub async fn list(state: &AppState) -> AppResult<Vec<SaasPlan>> {
    repo::list_active(&state.db)
        .await?
        .into_iter()
        .map(SaasPlan::try_from)
        .collect()
}

/// Plans by id (archived ones included: tenants keep theirs).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[SaasPlanId],
) -> AppResult<HashMap<SaasPlanId, SaasPlan>> {
    repo::find_many(conn, ids)
        .await?
        .into_iter()
        .map(|(id, m)| Ok((id, SaasPlan::try_from(m)?)))
        .collect()
}

/// A plan that can be subscribed to (exists and is not archived).
pub async fn find_available(conn: &impl ConnectionTrait, id: SaasPlanId) -> AppResult<SaasPlan> {
    let plan = repo::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("SaaS plan"))?;
    if plan.archived_at.is_some() {
        return Err(AppError::bad_input(
            "saasPlanId",
            "Este plano não está mais disponível",
        ));
    }
    SaasPlan::try_from(plan)
}

/// Fields of a new plan.
pub struct NewSaasPlan {
    pub name: String,
    pub description: Option<String>,
    pub price: MoneyCents,
    pub interval: BillingInterval,
}

pub async fn create(state: &AppState, viewer: &Viewer, input: NewSaasPlan) -> AppResult<SaasPlan> {
    viewer.require_admin()?;
    let now = Utc::now();
    let model = repo::insert(
        &state.db,
        entity::saas_plans::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(None),
            name: Set(parse_name(&input.name)?),
            description: Set(input
                .description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())),
            price_cents: Set(parse_price(input.price)?.0),
            currency: Set("BRL".to_owned()),
            interval: Set(input.interval.as_str().to_owned()),
            archived_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        },
    )
    .await?;
    SaasPlan::try_from(model)
}

/// Changes to a plan; `None` leaves a field as it is.
#[derive(Default)]
pub struct SaasPlanChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<MoneyCents>,
    pub interval: Option<BillingInterval>,
}

pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    id: SaasPlanId,
    changes: SaasPlanChanges,
) -> AppResult<SaasPlan> {
    viewer.require_admin()?;
    let plan = repo::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound("SaaS plan"))?;
    let mut active = plan.into_active_model();
    if let Some(name) = changes.name {
        active.name = Set(parse_name(&name)?);
    }
    if let Some(description) = changes.description {
        active.description = Set(description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()));
    }
    if let Some(price) = changes.price {
        active.price_cents = Set(parse_price(price)?.0);
    }
    if let Some(interval) = changes.interval {
        active.interval = Set(interval.as_str().to_owned());
    }
    active.updated_at = Set(Utc::now());
    SaasPlan::try_from(repo::update(&state.db, active).await?)
}

/// Takes a plan off sale; tenants already on it keep it. Archiving twice is a no-op.
pub async fn archive(state: &AppState, viewer: &Viewer, id: SaasPlanId) -> AppResult<SaasPlan> {
    viewer.require_admin()?;
    let plan = repo::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound("SaaS plan"))?;
    if plan.archived_at.is_some() {
        return SaasPlan::try_from(plan);
    }
    let now = Utc::now();
    let mut active = plan.into_active_model();
    active.archived_at = Set(Some(now));
    active.updated_at = Set(now);
    SaasPlan::try_from(repo::update(&state.db, active).await?)
}
