//! DataLoader helpers. Each domain declares its loaders (over its own service) and registers them
//! through its `Domain`; they are created per operation, so their caches never outlive it.
//! Relations resolve through them: a list of N nodes costs one query per relation, not N.
//!
//! A loader batches the keys registered before it runs (no batching window: see [`cached`]), so a
//! long list whose resolution yields midway could split into several batches. Lists of unbounded
//! length (`customers`, `plans`, `appointments`) therefore load the relations their selection asks
//! for up front with `load_many` and hand them to their nodes: a page costs the same number of
//! statements whatever its length.

use std::{
    collections::{BTreeMap, HashMap},
    hash::Hash,
    sync::Arc,
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use crate::kernel::{
    error::{AppError, AppResult},
    ids::TenantId,
};

/// Loads tenant-scoped values keyed by `(tenant, id)`: one call of `load` per tenant among the
/// keys (in practice one, the viewer's), so every query stays scoped by its tenant.
pub async fn load_per_tenant<K, V, F, Fut>(
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

/// Declares a loader keyed by `(TenantId, id)` over a domain function
/// `fn(conn, tenant, &[id]) -> AppResult<HashMap<id, value>>`.
#[macro_export]
macro_rules! tenant_loader {
    ($(#[$doc:meta])* $name:ident: $key:ty => $value:ty, $load:path) => {
        $(#[$doc])*
        pub struct $name(pub $crate::state::AppState);

        impl async_graphql::dataloader::Loader<($crate::kernel::ids::TenantId, $key)> for $name {
            type Value = $value;
            type Error = std::sync::Arc<$crate::kernel::error::AppError>;

            async fn load(
                &self,
                keys: &[($crate::kernel::ids::TenantId, $key)],
            ) -> Result<
                std::collections::HashMap<($crate::kernel::ids::TenantId, $key), $value>,
                Self::Error,
            > {
                $crate::graphql::loaders::load_per_tenant(keys, |tenant, ids| async move {
                    $load(&self.0.db, tenant, &ids).await
                })
                .await
            }
        }
    };
}

/// The request's loader of type `T` (every loader caches within its request).
pub fn loader<'a, T: Send + Sync + 'static>(
    ctx: &async_graphql::Context<'a>,
) -> &'a DataLoader<T, HashMapCache> {
    ctx.data_unchecked::<DataLoader<T, HashMapCache>>()
}

/// Wraps a loader with a per-operation cache and no batching window: lists prime their
/// relations with one `load_many`, and the nodes of one list register their keys in the same poll
/// anyway, so a window only adds latency.
pub fn cached<T: Loader<K>, K: Send + Sync + Clone + Eq + Hash + 'static>(
    loader: T,
) -> DataLoader<T, HashMapCache> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
        .delay(std::time::Duration::ZERO)
}
