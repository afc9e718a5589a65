//! GraphQL surface of SaaS plans.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::{
    model::SaasPlan,
    service::{self, NewSaasPlan, SaasPlanChanges},
};
use crate::{
    graphql::{
        scalars::Timestamp,
        scalars::{Money, MoneyInput},
        viewer::{state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{SaasPlanId, TypedId},
        values::BillingInterval,
    },
};

/// Loads SaaS plans (platform rows) by id.
pub struct SaasPlanLoader(pub crate::state::AppState);

impl async_graphql::dataloader::Loader<SaasPlanId> for SaasPlanLoader {
    type Value = SaasPlan;
    type Error = std::sync::Arc<AppError>;

    async fn load(
        &self,
        keys: &[SaasPlanId],
    ) -> Result<std::collections::HashMap<SaasPlanId, SaasPlan>, Self::Error> {
        service::find_many(&self.0.db, keys)
            .await
            .map_err(std::sync::Arc::new)
    }
}

pub struct SaasPlanNode(pub SaasPlan);

/// A plan the platform sells to businesses.
#[Object(name = "SaasPlan")]
impl SaasPlanNode {
    /// The plan's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Stable key of the default plans (`starter-monthly`, …); null for plans created later.
    async fn slug(&self) -> Option<&str> {
        self.0.slug.as_deref()
    }

    /// Name shown to businesses.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the plan includes.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Price charged every interval.
    async fn price(&self) -> Money {
        self.0.price.into()
    }

    /// How often the plan is billed.
    async fn interval(&self) -> BillingInterval {
        self.0.interval
    }

    /// AI tokens (prompt plus output) a tenant on this plan may use per month; null: unlimited.
    async fn ai_monthly_token_quota(&self) -> Option<i64> {
        self.0.ai_monthly_token_quota
    }

    /// Whether the plan is off sale (tenants already on it keep it).
    async fn archived(&self) -> bool {
        self.0.archived_at.is_some()
    }

    /// When the plan was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(self.0.created_at)
    }

    /// When the plan last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp::from(self.0.updated_at)
    }
}

/// Input of `createSaasPlan`.
#[derive(InputObject)]
pub struct CreateSaasPlanInput {
    /// 1 to 100 characters.
    pub name: String,
    /// Price per billing interval (zero to 1,000,000.00).
    pub price: MoneyInput,
    /// How often the plan is billed.
    #[graphql(default_with = "BillingInterval::Monthly")]
    pub interval: BillingInterval,
    /// What the plan includes; blank means none.
    pub description: Option<String>,
}

/// Input of `updateSaasPlan`: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateSaasPlanInput {
    /// 1 to 100 characters.
    pub name: Option<String>,
    /// Price per billing interval (zero to 1,000,000.00).
    pub price: Option<MoneyInput>,
    /// How often the plan is billed.
    pub interval: Option<BillingInterval>,
    /// Null clears the description.
    pub description: MaybeUndefined<String>,
    /// AI tokens a tenant on this plan may use per month (0 to 10^12); null: unlimited.
    pub ai_monthly_token_quota: MaybeUndefined<i64>,
}

#[derive(Default)]
pub struct SaasPlanQuery;

#[Object]
impl SaasPlanQuery {
    /// Plans on sale, cheapest first (public: the landing page and onboarding show them).
    async fn saas_plans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SaasPlanNode>> {
        Ok(service::list(state(ctx))
            .await?
            .into_iter()
            .map(SaasPlanNode)
            .collect())
    }
}

#[derive(Default)]
pub struct SaasPlanMutation;

#[Object]
impl SaasPlanMutation {
    /// ADMIN: creates a plan.
    async fn create_saas_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new SaaS plan.")] input: CreateSaasPlanInput,
    ) -> async_graphql::Result<SaasPlanNode> {
        let viewer = viewer(ctx)?;
        let plan = NewSaasPlan {
            name: input.name,
            description: input.description,
            price: input.price.cents(),
            interval: input.interval,
        };
        Ok(SaasPlanNode(
            service::create(state(ctx), &viewer, plan).await?,
        ))
    }

    /// ADMIN: changes a plan.
    async fn update_saas_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SaaS plan to change.")] id: ID,
        #[graphql(desc = "The changes; omitted fields stay as they are.")]
        input: UpdateSaasPlanInput,
    ) -> async_graphql::Result<SaasPlanNode> {
        let viewer = viewer(ctx)?;
        let changes = SaasPlanChanges {
            name: input.name,
            description: input.description.into(),
            price: input.price.map(|p| p.cents()),
            interval: input.interval,
            ai_monthly_token_quota: input.ai_monthly_token_quota.into(),
        };
        Ok(SaasPlanNode(
            service::update(state(ctx), &viewer, SaasPlanId::parse(&id)?, changes).await?,
        ))
    }

    /// ADMIN: takes a plan off sale.
    async fn archive_saas_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SaaS plan to take off sale.")] id: ID,
    ) -> async_graphql::Result<SaasPlanNode> {
        let viewer = viewer(ctx)?;
        Ok(SaasPlanNode(
            service::archive(state(ctx), &viewer, SaasPlanId::parse(&id)?).await?,
        ))
    }
}
