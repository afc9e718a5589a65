//! What a domain adds to the application, as one value: each domain's `mod.rs` declares a
//! [`Domain`] constant, and `app` lists those constants once. GraphQL roots are types, not values,
//! so `schema` lists each domain's `Query`/`Mutation`/`Subscription` parts beside it.

use axum::Router;

use crate::{
    jobs::{CronKind, JobKind},
    state::AppState,
};

/// One domain's registrations. Build it with [`Domain::new`] and the `with_*` methods; what a
/// domain leaves out stays empty.
pub struct Domain {
    pub name: &'static str,
    /// Inserts the domain's DataLoaders into an operation's data (fresh per operation).
    pub loaders: fn(&mut async_graphql::Data, &AppState),
    pub jobs: &'static [JobKind<AppState>],
    pub crons: &'static [CronKind<AppState>],
    /// REST endpoints the outside world calls (webhooks, OAuth redirects).
    pub routes: fn() -> Router<AppState>,
    /// The kinds of the live events it publishes (`EventPayload::KIND`), unique across domains.
    pub events: &'static [&'static str],
}

fn no_loaders(_: &mut async_graphql::Data, _: &AppState) {}

fn no_routes() -> Router<AppState> {
    Router::new()
}

impl Domain {
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            loaders: no_loaders,
            jobs: &[],
            crons: &[],
            routes: no_routes,
            events: &[],
        }
    }

    pub const fn with_loaders(self, loaders: fn(&mut async_graphql::Data, &AppState)) -> Self {
        Self { loaders, ..self }
    }

    pub const fn with_jobs(self, jobs: &'static [JobKind<AppState>]) -> Self {
        Self { jobs, ..self }
    }

    pub const fn with_crons(self, crons: &'static [CronKind<AppState>]) -> Self {
        Self { crons, ..self }
    }

    pub const fn with_routes(self, routes: fn() -> Router<AppState>) -> Self {
        Self { routes, ..self }
    }

    pub const fn with_events(self, events: &'static [&'static str]) -> Self {
        Self { events, ..self }
    }
}
