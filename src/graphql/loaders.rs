//! DataLoaders, created per request so their caches never outlive it. Relations resolve through
//! them: a list of N nodes costs one query per relation, not N. List resolvers prime the caches
//! with one `load_many` per relation, so the cost does not depend on how resolution interleaves.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::{
    domains::{
        customers::{self, model::Customer},
        ids::{CustomerId, ServiceId, SubscriptionId},
        saas_plans::{self, model::SaasPlan},
        services::{self, model::Service},
        subscriptions::{self, model::Subscription},
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

/// Loads one tenant-owned entity type by `(TenantId, id)`: the keys of one batch are grouped by
/// tenant (in practice there is one), one query per group, filtered by that tenant.
macro_rules! tenant_loader {
    ($(#[$doc:meta])* $loader:ident, $id:ty, $value:ty, $find_many:path) => {
        $(#[$doc])*
        pub struct $loader(AppState);

        impl Loader<(TenantId, $id)> for $loader {
            type Value = $value;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[(TenantId, $id)]) -> Result<HashMap<(TenantId, $id), $value>, Self::Error> {
                let mut by_tenant: HashMap<TenantId, Vec<$id>> = HashMap::new();
                for (tenant, id) in keys {
                    by_tenant.entry(*tenant).or_default().push(*id);
                }
                let mut out = HashMap::with_capacity(keys.len());
                for (tenant, ids) in by_tenant {
                    let rows = $find_many(&self.0.db, tenant, &ids).await.map_err(Arc::new)?;
                    out.extend(rows.into_iter().filter_map(|(id, m)| <$value>::try_from(m).ok().map(|v| ((tenant, id), v))));
                }
                Ok(out)
            }
        }
    };
}

tenant_loader!(
    /// Customers by `(tenant, id)`.
    CustomerLoader, CustomerId, Customer, customers::repo::find_many
);
tenant_loader!(
    /// Services by `(tenant, id)`.
    ServiceLoader, ServiceId, Service, services::repo::find_many
);
tenant_loader!(
    /// Customer subscriptions by `(tenant, id)`.
    SubscriptionLoader, SubscriptionId, Subscription, subscriptions::repo::find_many
);

/// The request's loader of type `T`.
pub fn loader<'a, T: Send + Sync + 'static>(
    ctx: &async_graphql::Context<'a>,
) -> &'a DataLoader<T, HashMapCache> {
    ctx.data_unchecked::<DataLoader<T, HashMapCache>>()
}

/// Attaches a fresh set of loaders to a request's (or connection's) data.
pub fn attach(data: &mut async_graphql::Data, state: &AppState) {
    data.insert(DataLoader::with_cache(
        SaasPlanLoader(state.clone()),
        tokio::spawn,
        HashMapCache::default(),
    ));
    data.insert(DataLoader::with_cache(
        TenantLoader(state.clone()),
        tokio::spawn,
        HashMapCache::default(),
    ));
    data.insert(DataLoader::with_cache(
        CustomerLoader(state.clone()),
        tokio::spawn,
        HashMapCache::default(),
    ));
    data.insert(DataLoader::with_cache(
        ServiceLoader(state.clone()),
        tokio::spawn,
        HashMapCache::default(),
    ));
    data.insert(DataLoader::with_cache(
        SubscriptionLoader(state.clone()),
        tokio::spawn,
        HashMapCache::default(),
    ));
}
