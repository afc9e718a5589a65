//! The root operation types: every domain's roots merged.

use async_graphql::{MergedObject, MergedSubscription};

use crate::domains::{appointments, auth, operating_hours, saas_plans, tenants};

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    appointments::graphql::AppointmentQuery,
    auth::graphql::AuthQuery,
    operating_hours::graphql::OperatingHoursQuery,
    saas_plans::graphql::SaasPlanQuery,
    tenants::graphql::TenantQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    appointments::graphql::AppointmentMutation,
    auth::graphql::AuthMutation,
    operating_hours::graphql::OperatingHoursMutation,
    saas_plans::graphql::SaasPlanMutation,
    tenants::graphql::TenantMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    appointments::graphql::AppointmentSubscription,
    tenants::graphql::TenantSubscription,
);
