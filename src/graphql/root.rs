//! The root operation types: every domain's roots merged.

use async_graphql::{MergedObject, MergedSubscription};

use crate::domains::{appointments, auth, saas_plans, tenants};

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    appointments::graphql::AppointmentQuery,
    auth::graphql::AuthQuery,
    saas_plans::graphql::SaasPlanQuery,
    tenants::graphql::TenantQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    appointments::graphql::AppointmentMutation,
    auth::graphql::AuthMutation,
    saas_plans::graphql::SaasPlanMutation,
    tenants::graphql::TenantMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    appointments::graphql::AppointmentSubscription,
    tenants::graphql::TenantSubscription,
);
