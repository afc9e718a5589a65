//! SaaS plan rules: public listing, admin-only changes.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::ConnectionTrait;

use super::{
    model::{
        NewSaasPlanRow, SaasPlan, SaasPlanUpdate, parse_description, parse_name, parse_token_quota,
    },
    repo,
};
use crate::{
    kernel::{
        error::{AppError, AppResult},
        ids::SaasPlanId,
        values::{BillingInterval, MoneyCents, parse_price},
        viewer::Viewer,
    },
    state::AppState,
};

/// Plans on sale, cheapest first.
pub async fn list(state: &AppState) -> AppResult<Vec<SaasPlan>> {
    repo::list_active(&state.db).await
}

/// Plans by id (archived ones included: tenants keep theirs).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[SaasPlanId],
) -> AppResult<HashMap<SaasPlanId, SaasPlan>> {
    repo::find_many(conn, ids).await
}

/// A plan by id, archived or not (tenants keep theirs).
pub async fn find(conn: &impl ConnectionTrait, id: SaasPlanId) -> AppResult<SaasPlan> {
    repo::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("SaaS plan"))
}

/// A plan that can be subscribed to (exists and is not archived).
pub async fn find_available(conn: &impl ConnectionTrait, id: SaasPlanId) -> AppResult<SaasPlan> {
    let plan = find(conn, id).await?;
    if plan.archived_at.is_some() {
        return Err(AppError::bad_input(
            "saasPlanId",
            "Este plano não está mais disponível",
        ));
    }
    Ok(plan)
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
    let plan = NewSaasPlanRow {
        name: parse_name(&input.name)?,
        description: parse_description(input.description),
        price: parse_price(input.price)?,
        interval: input.interval,
    };
    repo::insert(&state.db, plan, Utc::now()).await
}

/// Changes to a plan; `None` leaves a field as it is.
#[derive(Default)]
pub struct SaasPlanChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<MoneyCents>,
    pub interval: Option<BillingInterval>,
    /// `Some(None)`: unlimited.
    pub ai_monthly_token_quota: Option<Option<i64>>,
}

pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    id: SaasPlanId,
    changes: SaasPlanChanges,
) -> AppResult<SaasPlan> {
    viewer.require_admin()?;
    find(&state.db, id).await?;
    let update = SaasPlanUpdate {
        name: changes.name.as_deref().map(parse_name).transpose()?,
        description: changes.description.map(parse_description),
        price: changes.price.map(parse_price).transpose()?,
        interval: changes.interval,
        ai_monthly_token_quota: changes
            .ai_monthly_token_quota
            .map(|quota| quota.map(parse_token_quota).transpose())
            .transpose()?,
        archived_at: None,
        updated_at: Utc::now(),
    };
    repo::update(&state.db, id, update).await
}

/// Takes a plan off sale; tenants already on it keep it. Archiving twice is a no-op.
pub async fn archive(state: &AppState, viewer: &Viewer, id: SaasPlanId) -> AppResult<SaasPlan> {
    viewer.require_admin()?;
    let plan = find(&state.db, id).await?;
    if plan.archived_at.is_some() {
        return Ok(plan);
    }
    let now = Utc::now();
    let update = SaasPlanUpdate {
        archived_at: Some(now),
        updated_at: now,
        ..Default::default()
    };
    repo::update(&state.db, id, update).await
}
