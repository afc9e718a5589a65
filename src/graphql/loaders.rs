//! DataLoaders, created per request so their caches never outlive it. Relations resolve through
//! them: a list of N nodes costs one query per relation, not N.
//!
//! A loader batches the keys that arrive within its window (1 ms), so a long list whose resolution
//! yields midway can split into several batches. Lists of unbounded length (`customers`, `plans`)
//! therefore also load the relations their selection asks for up front with `load_many` and hand
//! them to their nodes: a page costs the same number of statements whatever its length.

use std::{
    collections::{BTreeMap, HashMap},
    hash::Hash,
    sync::Arc,
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::{
    domains::{
        customers::{self, model::Customer},
        ids::{CustomerId, PlanId, ServiceId, SubscriptionId},
        plans::{self, model::Plan},
        saas_plans::{self, model::SaasPlan},
        services::{self, model::Service},
        subscriptions::{self, model::Subscription},
        tenants::{
            self,
            model::{Tenant, TenantId},
        },
    },
    error::{AppError, AppResult},
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

/// Loads tenant-scoped values keyed by `(tenant, id)`: one call of `load` per tenant among the
/// keys (in practice one, the viewer's), so every query stays scoped by its tenant.
async fn load_per_tenant<K, V, F, Fut>(
    keys: &[(TenantId, K)],
    load: F,
) -> Result<HashMap<(TenantId, K), V>, Arc<AppError>>
where
    K: Copy + Eq + Hash,
    F: Fn(TenantId, Vec<K>) -> Fut,
    Fut: Future<Output = AppResult<HashMap<K, V>>>,
{
    let mut by_tenant: BTreeMap<TenantId, Vec<K>> = BTreeMap::new();
    for (tenant, id) in keys {
        by_tenant.entry(*tenant).or_default().push(*id);
    }
    let mut loaded = HashMap::new();
    for (tenant, ids) in by_tenant {
        for (id, value) in load(tenant, ids).await.map_err(Arc::new)? {
            loaded.insert((tenant, id), value);
        }
    }
    Ok(loaded)
}

/// Declares a loader keyed by `(TenantId, id)` over a service function
/// `fn(conn, tenant, &[id]) -> AppResult<HashMap<id, value>>`.
macro_rules! tenant_loader {
    ($(#[$doc:meta])* $name:ident: $key:ty => $value:ty, $load:path) => {
        $(#[$doc])*
        pub struct $name(AppState);

        impl Loader<(TenantId, $key)> for $name {
            type Value = $value;
            type Error = Arc<AppError>;

            async fn load(
                &self,
                keys: &[(TenantId, $key)],
            ) -> Result<HashMap<(TenantId, $key), $value>, Self::Error> {
                load_per_tenant(keys, |tenant, ids| async move {
                    $load(&self.0.db, tenant, &ids).await
                })
                .await
            }
        }
    };
}

tenant_loader!(
    /// Loads customer plans.
    PlanLoader: PlanId => Plan, plans::service::find_many
);
tenant_loader!(
    /// Loads the services each plan covers (an empty list for plans covering none).
    PlanServicesLoader: PlanId => Vec<Service>, plans::service::covered_services
);
tenant_loader!(
    /// Loads customers.
    CustomerLoader: CustomerId => Customer, customers::service::find_many
);
tenant_loader!(
    /// Loads each customer's current subscription (absent: never subscribed); a customer's
    /// `status` and `subscription` share it.
    CurrentSubscriptionLoader: CustomerId => Subscription,
    subscriptions::service::current_for_customers
);

tenant_loader!(
    /// Loads services.
    ServiceLoader: ServiceId => Service, services::service::find_many
);
tenant_loader!(
    /// Loads customer subscriptions by id.
    SubscriptionLoader: SubscriptionId => Subscription, subscriptions::service::find_many
);

/// The request's loader of type `T` (every loader caches within its request).
pub fn loader<'a, T: Send + Sync + 'static>(
    ctx: &async_graphql::Context<'a>,
) -> &'a DataLoader<T, HashMapCache> {
    ctx.data_unchecked::<DataLoader<T, HashMapCache>>()
}

/// Attaches a fresh set of loaders to a request's (or connection's) data.
pub fn attach(data: &mut async_graphql::Data, state: &AppState) {
    fn cached<T: Loader<K>, K: Send + Sync + Clone + Eq + std::hash::Hash + 'static>(
        loader: T,
    ) -> DataLoader<T, HashMapCache> {
        // No batching window: lists prime their relations with one `load_many`, and the nodes of
        // one list register their keys in the same poll anyway; a window only adds latency.
        DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
            .delay(std::time::Duration::ZERO)
    }
    data.insert(cached(SaasPlanLoader(state.clone())));
    data.insert(cached(TenantLoader(state.clone())));
    data.insert(cached(PlanLoader(state.clone())));
    data.insert(cached(PlanServicesLoader(state.clone())));
    data.insert(cached(CustomerLoader(state.clone())));
    data.insert(cached(CurrentSubscriptionLoader(state.clone())));
    data.insert(cached(ServiceLoader(state.clone())));
    data.insert(cached(SubscriptionLoader(state.clone())));
}
