//! Schema assembly: every domain's Query/Mutation/Subscription merged into one schema, with the
//! depth/complexity limits and introspection policy from settings. No business logic here.

pub mod errors;
pub mod inline;
pub mod loaders;
pub mod pagination;
pub mod root;
pub mod scalars;
pub mod viewer;

use async_graphql::Schema;

use crate::state::AppState;
pub use root::{MutationRoot, QueryRoot, SubscriptionRoot};

/// The application's GraphQL schema.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema served by the HTTP layer. It installs no extensions: list nodes resolve
/// through [`inline::Inline`], which does not run field-level extension hooks.
pub fn build_schema(state: &AppState) -> AppSchema {
    let settings = &state.settings.graphql;
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .data(state.clone())
    .limit_depth(settings.max_depth)
    .limit_complexity(settings.max_complexity);
    if !settings.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}
