//! DataLoaders, created per request so their caches never outlive it. Relations resolve through
//! them: a list of N nodes costs one query per relation, not N.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::{
    domains::{
        saas_plans::{self, model::SaasPlan},
        tenants::{
            self,
            model::{Tenant, TenantId},
        },
    },
    state::AppState,
};

/// Loads SaaS plans (platform rows) by id.
pub struct SaasPlanLoader(AppState);

impl Loader<Uuid> for SaasPlanLoader {
    type Value = SaasPlan;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, SaasPlan>, Self::Error> {
        let rows = saas_plans::repo::find_many(&self.0.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, m)| SaasPlan::try_from(m).ok().map(|p| (id, p)))
            .collect())
    }
}

/// Loads tenants by id. Only reached with ids the viewer may see (its own, or any for ADMIN).
pub struct TenantLoader(AppState);

impl Loader<TenantId> for TenantLoader {
    type Value = Tenant;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[TenantId]) -> Result<HashMap<TenantId, Tenant>, Self::Error> {
        let rows = tenants::repo::find_many(&self.0.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, m)| Tenant::try_from(m).ok().map(|t| (id, t)))
            .collect())
    }
}

/// Attaches a fresh set of loaders to a request's (or connection's) data.
pub fn attach(data: &mut async_graphql::Data, state: &AppState) {
    data.insert(DataLoader::new(SaasPlanLoader(state.clone()), tokio::spawn));
    data.insert(DataLoader::new(TenantLoader(state.clone()), tokio::spawn));
}
