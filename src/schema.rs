//! Schema assembly: every domain's Query/Mutation/Subscription parts merged into the three root
//! types, with the depth/complexity limits and introspection policy from settings. One of the two
//! modules that name every domain (with `app`); no logic here.

use async_graphql::{MergedObject, MergedSubscription, SDLExportOptions, Schema};

use crate::{
    domains::{
        ai, appointments, auth, customers, notifications, operating_hours, payments, plans,
        saas_plans, services, tenants, whatsapp,
    },
    state::AppState,
};

/// All queries.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    appointments::graphql::AppointmentQuery,
    auth::graphql::AuthQuery,
    customers::graphql::CustomerQuery,
    operating_hours::graphql::OperatingHoursQuery,
    plans::graphql::PlanQuery,
    saas_plans::graphql::SaasPlanQuery,
    services::graphql::ServiceQuery,
    customers::graphql::SubscriptionQuery,
    tenants::graphql::TenantQuery,
    whatsapp::graphql::WhatsAppQuery,
    notifications::graphql::NotificationQuery,
    ai::graphql::AiQuery,
    payments::graphql::PaymentQuery,
    payments::graphql::finance::FinanceQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    appointments::graphql::AppointmentMutation,
    auth::graphql::AuthMutation,
    customers::graphql::CustomerMutation,
    operating_hours::graphql::OperatingHoursMutation,
    plans::graphql::PlanMutation,
    saas_plans::graphql::SaasPlanMutation,
    services::graphql::ServiceMutation,
    customers::graphql::SubscriptionMutation,
    tenants::graphql::TenantMutation,
    whatsapp::graphql::WhatsAppMutation,
    notifications::graphql::NotificationMutation,
    payments::graphql::PaymentMutation,
    payments::graphql::refunds::RefundMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(
    appointments::graphql::AppointmentSubscription,
    tenants::graphql::TenantSubscription,
    whatsapp::graphql::WhatsAppSubscription,
    payments::graphql::PaymentSubscription,
);

/// The application's GraphQL schema.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema served by the HTTP layer. It installs no extensions: list nodes resolve
/// through [`Inline`](crate::graphql::inline::Inline), which does not run field-level extension
/// hooks, and any extension would wrap every field resolution.
pub fn build(state: &AppState) -> AppSchema {
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

/// The SDL of the schema, as committed in `schema.graphql` (with `@specifiedBy` on the scalars
/// that have a specification).
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl_with_options(SDLExportOptions::new().include_specified_by())
}
