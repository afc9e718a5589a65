//! The root operation types: every domain's roots merged.

use async_graphql::{MergedObject, MergedSubscription};

use crate::domains::{
    appointments, auth, customers, operating_hours, plans, saas_plans, services, subscriptions,
    tenants,
};

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    appointments::graphql::AppointmentQuery,
    auth::graphql::AuthQuery,
    customers::graphql::CustomerQuery,
    operating_hours::graphql::OperatingHoursQuery,
    plans::graphql::PlanQuery,
    saas_plans::graphql::SaasPlanQuery,
    services::graphql::ServiceQuery,
    subscriptions::graphql::SubscriptionQuery,
    tenants::graphql::TenantQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    appointments::graphql::AppointmentMutation,
    auth::graphql::AuthMutation,
    customers::graphql::CustomerMutation,
    operating_hours::graphql::OperatingHoursMutation,
    plans::graphql::PlanMutation,
    saas_plans::graphql::SaasPlanMutation,
    services::graphql::ServiceMutation,
    subscriptions::graphql::SubscriptionMutation,
    tenants::graphql::TenantMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    appointments::graphql::AppointmentSubscription,
    tenants::graphql::TenantSubscription,
);
