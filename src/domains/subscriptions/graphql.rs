//! GraphQL surface of customer subscriptions.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use super::{
    model::{Subscription, SubscriptionStatus},
    service::{self, NewSubscription},
};
use crate::{
    domains::{
        customers::graphql::{CustomerNode, parse_customer_id},
        ids::SubscriptionId,
        plans::{
            graphql::{PlanNode, parse_plan_id},
            model::Plan,
        },
    },
    error::AppError,
    graphql::{
        loaders::{CustomerLoader, PlanLoader, loader},
        scalars::parse_id,
        viewer::{state, viewer},
    },
};

fn parse_subscription_id(id: &ID) -> Result<SubscriptionId, AppError> {
    Ok(SubscriptionId(parse_id(id, "subscription")?))
}

#[derive(Clone)]
pub struct SubscriptionNode {
    subscription: Subscription,
    /// The plan when a list loaded it for all its nodes at once (`None`: ask the loader).
    plan: Option<Plan>,
}

impl SubscriptionNode {
    pub fn new(subscription: Subscription) -> Self {
        Self {
            subscription,
            plan: None,
        }
    }

    pub fn subscription(&self) -> &Subscription {
        &self.subscription
    }

    /// A node whose plan was already loaded.
    pub fn with_plan(subscription: Subscription, plan: Option<Plan>) -> Self {
        Self { subscription, plan }
    }
}

/// A customer's subscription to one of the business's plans.
#[Object(name = "Subscription")]
impl SubscriptionNode {
    /// The subscription's id.
    async fn id(&self) -> ID {
        ID(self.subscription.id.to_string())
    }

    /// Where the subscription stands.
    async fn status(&self) -> SubscriptionStatus {
        self.subscription.status
    }

    /// When the first billing cycle starts.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.subscription.starts_at
    }

    /// Start of the current billing cycle (inclusive).
    async fn current_period_start(&self) -> DateTime<Utc> {
        self.subscription.current_period_start
    }

    /// End of the current billing cycle (exclusive): the next renewal.
    async fn current_period_end(&self) -> DateTime<Utc> {
        self.subscription.current_period_end
    }

    /// When it was canceled, if it was.
    async fn canceled_at(&self) -> Option<DateTime<Utc>> {
        self.subscription.canceled_at
    }

    /// The subscriber.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CustomerNode>> {
        Ok(loader::<CustomerLoader>(ctx)
            .load_one((self.subscription.tenant_id, self.subscription.customer_id))
            .await
            .map_err(AppError::from)?
            .map(CustomerNode::new))
    }

    /// The plan subscribed to.
    async fn plan(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PlanNode>> {
        if let Some(plan) = &self.plan {
            return Ok(Some(PlanNode::new(plan.clone())));
        }
        Ok(loader::<PlanLoader>(ctx)
            .load_one((self.subscription.tenant_id, self.subscription.plan_id))
            .await
            .map_err(AppError::from)?
            .map(PlanNode::new))
    }

    /// When the subscription was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.subscription.created_at
    }
}

/// Input of `subscribeCustomer`.
#[derive(InputObject)]
pub struct SubscribeCustomerInput {
    /// The subscriber: one of the caller's customers without an ACTIVE or PAST_DUE subscription.
    pub customer_id: ID,
    /// One of the caller's plans that is not archived.
    pub plan_id: ID,
    /// When the first cycle starts; now when omitted. At most a year ahead and ten years back.
    pub starts_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct SubscriptionQuery;

#[Object]
impl SubscriptionQuery {
    /// One of the caller's customer subscriptions.
    async fn subscription(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<SubscriptionNode> {
        let tenant = viewer(ctx)?.tenant()?;
        Ok(SubscriptionNode::new(
            service::find(&state(ctx).db, tenant, parse_subscription_id(&id)?).await?,
        ))
    }
}

#[derive(Default)]
pub struct SubscriptionMutation;

#[Object]
impl SubscriptionMutation {
    /// Subscribes a customer to a plan (ACTIVE at once); CONFLICT when the customer already holds
    /// an ACTIVE or PAST_DUE subscription.
    async fn subscribe_customer(
        &self,
        ctx: &Context<'_>,
        input: SubscribeCustomerInput,
    ) -> async_graphql::Result<SubscriptionNode> {
        let viewer = viewer(ctx)?;
        let new = NewSubscription {
            customer_id: parse_customer_id(&input.customer_id)?,
            plan_id: parse_plan_id(&input.plan_id)?,
            starts_at: input.starts_at,
        };
        Ok(SubscriptionNode::new(
            service::subscribe(state(ctx), &viewer, new).await?,
        ))
    }

    /// Cancels a subscription now; canceling a subscription that already ended is a no-op.
    async fn cancel_subscription(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<SubscriptionNode> {
        let viewer = viewer(ctx)?;
        Ok(SubscriptionNode::new(
            service::cancel(state(ctx), &viewer, parse_subscription_id(&id)?).await?,
        ))
    }
}
