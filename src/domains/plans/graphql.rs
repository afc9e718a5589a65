//! GraphQL surface of customer plans.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::{
    model::Plan,
    service::{self, NewPlan, PlanChanges},
};
use crate::{
    domains::services::{
        graphql::ServiceNode,
        model::{ListingChanges, Service},
    },
    graphql::{
        loaders::loader,
        scalars::Timestamp,
        scalars::{Money, MoneyInput},
        viewer::{state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{PlanId, ServiceId, TypedId},
        values::BillingInterval,
    },
    tenant_loader,
};

tenant_loader!(
    /// Loads customer plans.
    PlanLoader: PlanId => Plan, service::find_many
);
tenant_loader!(
    /// Loads the services each plan covers (an empty list for plans covering none).
    PlanServicesLoader: PlanId => Vec<Service>, service::covered_services
);

fn parse_service_ids(ids: &[ID]) -> Result<Vec<ServiceId>, AppError> {
    ids.iter().map(|id| ServiceId::parse(id)).collect()
}

pub struct PlanNode {
    plan: Plan,
    /// The covered services when a list loaded them for all its nodes at once (`None`: ask the
    /// loader).
    services: Option<Vec<Service>>,
}

impl PlanNode {
    pub fn new(plan: Plan) -> Self {
        Self {
            plan,
            services: None,
        }
    }
}

/// A recurring package the business sells to its customers: a price every interval covering
/// some of its services, optionally up to a number of appointments per cycle.
#[Object(name = "Plan")]
impl PlanNode {
    /// The plan's id.
    async fn id(&self) -> ID {
        ID(self.plan.id.to_string())
    }

    /// Name shown to customers.
    async fn name(&self) -> &str {
        &self.plan.name
    }

    /// Optional longer text shown to customers.
    async fn description(&self) -> Option<&str> {
        self.plan.description.as_deref()
    }

    /// Price charged every interval.
    async fn price(&self) -> Money {
        self.plan.price.into()
    }

    /// How often the plan is charged and its appointment allowance renews.
    async fn interval(&self) -> BillingInterval {
        self.plan.interval
    }

    /// Appointments a subscriber may book per billing cycle; null: unlimited.
    async fn max_appointments_per_cycle(&self) -> Option<i32> {
        self.plan.max_appointments_per_cycle
    }

    /// The services the plan covers, by name.
    async fn services(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ServiceNode>> {
        let services = match &self.services {
            Some(services) => services.clone(),
            None => loader::<PlanServicesLoader>(ctx)
                .load_one((self.plan.tenant_id, self.plan.id))
                .await
                .map_err(AppError::from)?
                .unwrap_or_default(),
        };
        Ok(services.into_iter().map(ServiceNode).collect())
    }

    /// Whether the plan is off sale (current subscribers keep it).
    async fn archived(&self) -> bool {
        self.plan.archived_at.is_some()
    }

    /// When the plan was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(self.plan.created_at)
    }

    /// When the plan last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp::from(self.plan.updated_at)
    }
}

/// Input of `createPlan`.
#[derive(InputObject)]
pub struct CreatePlanInput {
    /// 1 to 120 characters.
    pub name: String,
    /// Optional longer text, up to 2000 characters.
    pub description: Option<String>,
    /// Price charged every interval, zero or more.
    pub price: MoneyInput,
    /// Billing interval; MONTHLY when omitted.
    #[graphql(default_with = "BillingInterval::Monthly")]
    pub interval: BillingInterval,
    /// Appointments per cycle, at least 1; null or omitted: unlimited.
    pub max_appointments_per_cycle: Option<i32>,
    /// The covered services: the caller's own, not archived.
    #[graphql(validator(max_items = 100))]
    pub service_ids: Vec<ID>,
}

/// Input of `updatePlan`: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdatePlanInput {
    /// 1 to 120 characters.
    pub name: Option<String>,
    /// Null clears the description.
    pub description: MaybeUndefined<String>,
    /// Zero or more.
    pub price: Option<MoneyInput>,
    /// Billing interval.
    pub interval: Option<BillingInterval>,
    /// At least 1; null: unlimited.
    pub max_appointments_per_cycle: MaybeUndefined<i32>,
    /// When given, replaces the covered services.
    #[graphql(validator(max_items = 100))]
    pub service_ids: Option<Vec<ID>>,
}

#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// The caller's plans that are not archived, by name.
    async fn plans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PlanNode>> {
        let viewer = viewer(ctx)?;
        let plans = service::list(state(ctx), &viewer).await?;
        if !ctx.look_ahead().field("services").exists() {
            return Ok(plans.into_iter().map(PlanNode::new).collect());
        }
        // The covered services of every plan in one batch, whatever the number of plans.
        let mut services = loader::<PlanServicesLoader>(ctx)
            .load_many(plans.iter().map(|p| (p.tenant_id, p.id)))
            .await
            .map_err(AppError::from)?;
        Ok(plans
            .into_iter()
            .map(|plan| PlanNode {
                services: Some(
                    services
                        .remove(&(plan.tenant_id, plan.id))
                        .unwrap_or_default(),
                ),
                plan,
            })
            .collect())
    }

    /// One of the caller's plans, archived or not. Null (with the error) when it does not exist, so one lookup does not null the whole answer.
    async fn plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan's id.")] id: ID,
    ) -> async_graphql::Result<Option<PlanNode>> {
        let tenant = viewer(ctx)?.tenant()?;
        Ok(Some(PlanNode::new(
            service::find(&state(ctx).db, tenant, PlanId::parse(&id)?).await?,
        )))
    }
}

#[derive(Default)]
pub struct PlanMutation;

#[Object]
impl PlanMutation {
    /// Creates a plan covering some of the caller's services.
    async fn create_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new plan and the services it covers.")] input: CreatePlanInput,
    ) -> async_graphql::Result<PlanNode> {
        let viewer = viewer(ctx)?;
        let new = NewPlan {
            name: input.name,
            description: input.description,
            price: input.price.cents(),
            interval: input.interval,
            max_appointments_per_cycle: input.max_appointments_per_cycle,
            service_ids: parse_service_ids(&input.service_ids)?,
        };
        Ok(PlanNode::new(
            service::create(state(ctx), &viewer, new).await?,
        ))
    }

    /// Changes a plan; `serviceIds` replaces the covered set in the same transaction.
    async fn update_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan to change.")] id: ID,
        #[graphql(desc = "The changes; omitted fields stay as they are.")] input: UpdatePlanInput,
    ) -> async_graphql::Result<PlanNode> {
        let viewer = viewer(ctx)?;
        let changes = PlanChanges {
            listing: ListingChanges {
                name: input.name,
                description: input.description.into(),
                price: input.price.map(|p| p.cents()),
            },
            interval: input.interval,
            max_appointments_per_cycle: input.max_appointments_per_cycle.into(),
            service_ids: input
                .service_ids
                .as_deref()
                .map(parse_service_ids)
                .transpose()?,
        };
        Ok(PlanNode::new(
            service::update(state(ctx), &viewer, PlanId::parse(&id)?, changes).await?,
        ))
    }

    /// Takes a plan off sale (never deleted: subscriptions reference it). Archiving twice is a
    /// no-op.
    async fn archive_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan to take off sale.")] id: ID,
    ) -> async_graphql::Result<PlanNode> {
        let viewer = viewer(ctx)?;
        Ok(PlanNode::new(
            service::archive(state(ctx), &viewer, PlanId::parse(&id)?).await?,
        ))
    }
}
