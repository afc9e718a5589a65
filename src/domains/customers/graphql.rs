//! GraphQL surface of customers and their subscriptions, and their loaders.

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use uuid::Uuid;

use super::{
    model::{Customer, CustomerSearch, CustomerStatus, Subscription, SubscriptionStatus},
    service::{self, CustomerChanges, NewCustomer, NewSubscription},
};
use crate::{
    domains::{
        appointments,
        plans::{
            graphql::{PlanLoader, PlanNode},
            model::Plan,
        },
    },
    graphql::{
        loaders::loader,
        pagination::{Page, PageArgs, page},
        scalars::{Phone, Timestamp},
        viewer::{state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{CustomerId, PlanId, SubscriptionId, TypedId},
        values::E164Phone,
    },
    tenant_loader,
};

tenant_loader!(
    /// Loads customers.
    CustomerLoader: CustomerId => Customer, service::find_many
);
tenant_loader!(
    /// Loads each customer's current subscription (absent: never subscribed); a customer's
    /// `status` and `subscription` share it.
    CurrentSubscriptionLoader: CustomerId => Subscription, service::current_for_customers
);
tenant_loader!(
    /// Loads customer subscriptions by id.
    SubscriptionLoader: SubscriptionId => Subscription, service::find_subscriptions
);

pub struct CustomerNode {
    customer: Customer,
    /// The current subscription when a list loaded it for all its nodes at once (`None`: ask
    /// the loader).
    current: Option<Option<SubscriptionNode>>,
}

impl CustomerNode {
    pub fn new(customer: Customer) -> Self {
        Self {
            customer,
            current: None,
        }
    }

    async fn current_subscription(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<SubscriptionNode>> {
        if let Some(current) = &self.current {
            return Ok(current.clone());
        }
        Ok(loader::<CurrentSubscriptionLoader>(ctx)
            .load_one((self.customer.tenant_id, self.customer.id))
            .await
            .map_err(AppError::from)?
            .map(SubscriptionNode::new))
    }
}

/// Whether the selection under each customer of a connection (`edges.node` or `nodes`) includes
/// `path`.
fn node_selects(ctx: &Context<'_>, path: &[&str]) -> bool {
    let look = ctx.look_ahead();
    [look.field("edges").field("node"), look.field("nodes")]
        .into_iter()
        .any(|node| path.iter().fold(node, |l, name| l.field(name)).exists())
}

/// Nodes for a page of customers. When the selection asks for their status or subscription, the
/// current subscriptions (and their plans, when asked) are loaded here in one batch each, so a
/// page costs the same number of statements whatever its length (a loader's batch window could
/// split a long page into several batches).
async fn page_nodes(
    ctx: &Context<'_>,
    customers: Vec<Customer>,
) -> async_graphql::Result<Vec<(Uuid, CustomerNode)>> {
    if !(node_selects(ctx, &["status"]) || node_selects(ctx, &["subscription"])) {
        return Ok(customers
            .into_iter()
            .map(|c| (c.id.0, CustomerNode::new(c)))
            .collect());
    }
    let mut current = loader::<CurrentSubscriptionLoader>(ctx)
        .load_many(customers.iter().map(|c| (c.tenant_id, c.id)))
        .await
        .map_err(AppError::from)?;
    let plans = if node_selects(ctx, &["subscription", "plan"]) {
        loader::<PlanLoader>(ctx)
            .load_many(current.values().map(|s| (s.tenant_id, s.plan_id)))
            .await
            .map_err(AppError::from)?
    } else {
        HashMap::new()
    };
    Ok(customers
        .into_iter()
        .map(|customer| {
            let subscription = current.remove(&(customer.tenant_id, customer.id)).map(|s| {
                let plan = plans.get(&(s.tenant_id, s.plan_id)).cloned();
                SubscriptionNode::with_plan(s, plan)
            });
            let node = CustomerNode {
                current: Some(subscription),
                customer,
            };
            (node.customer.id.0, node)
        })
        .collect())
}

/// A person who books with the business, identified by their phone.
#[Object(name = "Customer")]
impl CustomerNode {
    /// The customer's id.
    async fn id(&self) -> ID {
        ID(self.customer.id.to_string())
    }

    /// Full name.
    async fn name(&self) -> &str {
        &self.customer.name
    }

    /// Phone in E.164 (`+5511987654321`); unique among the business's customers.
    async fn phone(&self) -> Phone {
        Phone(self.customer.phone.clone())
    }

    /// E-mail, lower-case, when known.
    async fn email(&self) -> Option<&str> {
        self.customer.email.as_deref()
    }

    /// Where the customer stands, from their current subscription.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<CustomerStatus> {
        Ok(CustomerStatus::of(
            self.current_subscription(ctx)
                .await?
                .as_ref()
                .map(SubscriptionNode::subscription),
        ))
    }

    /// The current subscription: the most recent ACTIVE or PAST_DUE one, else the most recent
    /// of any status; null when the customer never subscribed.
    async fn subscription(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<SubscriptionNode>> {
        self.current_subscription(ctx).await
    }

    /// When the customer was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(self.customer.created_at)
    }

    /// When the customer last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp::from(self.customer.updated_at)
    }
}

/// Input of `createCustomer`.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// 1 to 120 characters.
    pub name: String,
    /// Phone; Brazilian numbers in any common format (with or without +55 and the ninth digit).
    pub phone: String,
    /// Optional e-mail.
    pub email: Option<String>,
}

/// Input of `updateCustomer`: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCustomerInput {
    /// 1 to 120 characters.
    pub name: Option<String>,
    /// Phone; Brazilian numbers in any common format.
    pub phone: Option<String>,
    /// Null clears the e-mail.
    pub email: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// The caller's customers in creation order, optionally only those whose name, e-mail or
    /// phone contains `search`.
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Part of a name (any case), an e-mail, or phone digits.")] search: Option<
            String,
        >,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last customer of the previous page.")] after: Option<
            String,
        >,
    ) -> async_graphql::Result<Page<CustomerNode>> {
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        let search = CustomerSearch::parse(search.as_deref())?;
        let (customers, has_next, total) =
            service::list(state(ctx), &viewer, search.as_ref(), args.after, args.first).await?;
        Ok(page(
            page_nodes(ctx, customers).await?,
            has_next,
            args.after.is_some(),
            total,
        ))
    }

    /// One of the caller's customers. Null (with the error) when it does not exist, so one lookup does not null the whole answer.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer's id.")] id: ID,
    ) -> async_graphql::Result<Option<CustomerNode>> {
        let tenant = viewer(ctx)?.tenant()?;
        Ok(Some(CustomerNode::new(
            service::find(&state(ctx).db, tenant, CustomerId::parse(&id)?).await?,
        )))
    }
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer; CONFLICT when one with the same phone exists.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new customer.")] input: CreateCustomerInput,
    ) -> async_graphql::Result<CustomerNode> {
        let viewer = viewer(ctx)?;
        let new = NewCustomer {
            name: input.name,
            phone: E164Phone::parse(&input.phone)?,
            email: input.email,
        };
        Ok(CustomerNode::new(
            service::create(state(ctx), &viewer, new).await?,
        ))
    }

    /// Changes a customer; CONFLICT when the new phone belongs to another customer.
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to change.")] id: ID,
        #[graphql(desc = "The changes; omitted fields stay as they are.")]
        input: UpdateCustomerInput,
    ) -> async_graphql::Result<CustomerNode> {
        let viewer = viewer(ctx)?;
        let changes = CustomerChanges {
            name: input.name,
            phone: input.phone.as_deref().map(E164Phone::parse).transpose()?,
            email: input.email.into(),
        };
        Ok(CustomerNode::new(
            service::update(state(ctx), &viewer, CustomerId::parse(&id)?, changes).await?,
        ))
    }

    /// Deletes a customer and their subscriptions and returns the id; CONFLICT while they have
    /// appointments (future ones, or past ones kept as history).
    async fn delete_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to delete.")] id: ID,
    ) -> async_graphql::Result<ID> {
        let viewer = viewer(ctx)?;
        let deleted =
            appointments::service::delete_customer(state(ctx), &viewer, CustomerId::parse(&id)?)
                .await?;
        Ok(ID(deleted.to_string()))
    }
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
#[Object(name = "CustomerSubscription")]
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
    async fn starts_at(&self) -> Timestamp {
        Timestamp::from(self.subscription.starts_at)
    }

    /// Start of the current billing cycle (inclusive).
    async fn current_period_start(&self) -> Timestamp {
        Timestamp::from(self.subscription.current_period_start)
    }

    /// End of the current billing cycle (exclusive): the next renewal.
    async fn current_period_end(&self) -> Timestamp {
        Timestamp::from(self.subscription.current_period_end)
    }

    /// When it was canceled, if it was.
    async fn canceled_at(&self) -> Option<Timestamp> {
        self.subscription.canceled_at.map(Timestamp::from)
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
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(self.subscription.created_at)
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
    pub starts_at: Option<Timestamp>,
}

#[derive(Default)]
pub struct SubscriptionQuery;

#[Object]
impl SubscriptionQuery {
    /// One of the caller's customer subscriptions. Null (with the error) when it does not exist, so one lookup does not null the whole answer.
    async fn subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subscription's id.")] id: ID,
    ) -> async_graphql::Result<Option<SubscriptionNode>> {
        let tenant = viewer(ctx)?.tenant()?;
        Ok(Some(SubscriptionNode::new(
            service::find_subscription(&state(ctx).db, tenant, SubscriptionId::parse(&id)?).await?,
        )))
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
        #[graphql(desc = "Who subscribes to which plan, and from when.")]
        input: SubscribeCustomerInput,
    ) -> async_graphql::Result<SubscriptionNode> {
        let viewer = viewer(ctx)?;
        let new = NewSubscription {
            customer_id: CustomerId::parse(&input.customer_id)?,
            plan_id: PlanId::parse(&input.plan_id)?,
            starts_at: input.starts_at.map(Timestamp::utc),
        };
        Ok(SubscriptionNode::new(
            service::subscribe(state(ctx), &viewer, new).await?,
        ))
    }

    /// Cancels a subscription now; canceling a subscription that already ended is a no-op.
    async fn cancel_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subscription to cancel.")] id: ID,
    ) -> async_graphql::Result<SubscriptionNode> {
        let viewer = viewer(ctx)?;
        Ok(SubscriptionNode::new(
            service::cancel(state(ctx), &viewer, SubscriptionId::parse(&id)?).await?,
        ))
    }
}
