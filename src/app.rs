//! The wiring: the one list of domains, and what the rest of the application derives from it
//! (the worker's jobs and crons, the outbox's queues, the DataLoaders of an operation, the REST
//! routes), the crons the job store itself needs, and the assistant of the AI bot mode. Adding a
//! domain means adding its `DOMAIN` here and its GraphQL parts in `schema`.

use std::sync::Arc;

use axum::Router;

use crate::{
    clients::Clients,
    config::AiSettings,
    domain::Domain,
    domains::{
        ai, appointments, auth, customers, notifications, operating_hours, payments, plans,
        saas_plans, services, tenants, whatsapp,
    },
    jobs::{CronKind, JobKind, PurgeFinishedJobs, queue::Queue},
    kernel::assistant::{Assistant, NoAssistant},
    state::AppState,
};

/// Every domain, once.
pub const DOMAINS: &[&Domain] = &[
    &saas_plans::DOMAIN,
    &tenants::DOMAIN,
    &auth::DOMAIN,
    &services::DOMAIN,
    &plans::DOMAIN,
    &customers::DOMAIN,
    &operating_hours::DOMAIN,
    &appointments::DOMAIN,
    &whatsapp::DOMAIN,
    &notifications::DOMAIN,
    &payments::DOMAIN,
    &ai::DOMAIN,
];

/// The assistant of tenants in the `AI` bot mode: the language model's when one is configured;
/// else every turn goes to the guided menu, which is said once here.
pub fn assistant(clients: &Clients, settings: &AiSettings) -> Arc<dyn Assistant<AppState>> {
    match &clients.language_model {
        Some(model) => Arc::new(ai::service::AiAssistant::new(
            model.clone(),
            settings.history_token_budget,
        )),
        None => {
            tracing::info!(
                "GEMINI_API_KEY is not set: tenants in the AI mode are answered by the menu"
            );
            Arc::new(NoAssistant)
        }
    }
}

/// Every job type the worker runs.
pub fn jobs() -> impl Iterator<Item = &'static JobKind<AppState>> {
    DOMAINS.iter().flat_map(|d| d.jobs)
}

/// The job store's own upkeep, which belongs to no domain.
const JOB_STORE_CRONS: &[CronKind<AppState>] = &[CronKind::of::<PurgeFinishedJobs<AppState>>()];

/// Every cron the worker schedules.
pub fn crons() -> impl Iterator<Item = &'static CronKind<AppState>> {
    DOMAINS.iter().flat_map(|d| d.crons).chain(JOB_STORE_CRONS)
}

/// The queues the outbox dispatches to.
pub fn queues() -> impl Iterator<Item = Queue> {
    jobs().map(JobKind::queue)
}

/// Inserts a fresh set of every domain's loaders into an operation's data.
pub fn attach_loaders(data: &mut async_graphql::Data, state: &AppState) {
    for domain in DOMAINS {
        (domain.loaders)(data, state);
    }
}

/// The REST routes of every domain.
pub fn routes() -> Router<AppState> {
    DOMAINS.iter().fold(Router::new(), |router, domain| {
        router.merge((domain.routes)())
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for name in DOMAINS.iter().map(|d| d.name) {
            assert!(seen.insert(name), "domain {name} is listed twice");
        }
        let mut seen = HashSet::new();
        for queue in queues().map(|q| q.name).chain(crons().map(|c| c.name)) {
            assert!(seen.insert(queue), "two jobs or crons are named {queue}");
        }
        let mut seen = HashSet::new();
        for kind in DOMAINS.iter().flat_map(|d| d.events) {
            assert!(
                seen.insert(kind),
                "two domains publish events of kind {kind}"
            );
        }
    }
}
