//! The root operation types: every domain's roots merged.

use async_graphql::{MergedObject, MergedSubscription};

use crate::domains::{auth, customers, plans, saas_plans, services, subscriptions, tenants};

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    auth::graphql::AuthQuery,
    saas_plans::graphql::SaasPlanQuery,
    tenants::graphql::TenantQuery,
    services::graphql::ServiceQuery,
    plans::graphql::PlanQuery,
    customers::graphql::CustomerQuery,
    subscriptions::graphql::SubscriptionQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    auth::graphql::AuthMutation,
    saas_plans::graphql::SaasPlanMutation,
    tenants::graphql::TenantMutation,
    services::graphql::ServiceMutation,
    plans::graphql::PlanMutation,
    customers::graphql::CustomerMutation,
    subscriptions::graphql::SubscriptionMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(tenants::graphql::TenantSubscription);
