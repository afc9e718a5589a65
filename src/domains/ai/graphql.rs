//! `aiUsage(month)` for the viewer's tenant and ADMIN `aiUsageByTenant(month)`.

use async_graphql::{Context, Object, SimpleObject};

use super::{model::format_micros, service};
use crate::{
    domains::tenants::graphql::TenantNode,
    graphql::viewer::{state, viewer},
};

/// An estimated cost, from the configured prices per million tokens.
#[derive(SimpleObject)]
pub struct AiCost {
    /// The amount, as an exact decimal string with six places, e.g. `"0.012345"`.
    pub amount: String,
    /// ISO 4217 code of the prices' currency (`AI_PRICE_CURRENCY`, USD by default: Google bills in dollars).
    pub currency: String,
}

pub struct AiUsageNode(service::UsageReport);

/// A tenant's use of the AI assistant in a billing month (the tenant's zone).
#[Object(name = "AiUsage")]
impl AiUsageNode {
    /// `YYYY-MM`.
    async fn month(&self) -> String {
        self.0.month.to_string()
    }

    /// The tenant.
    async fn tenant(&self) -> TenantNode {
        TenantNode(self.0.tenant.clone())
    }

    /// Language-model calls (every round of every turn).
    async fn calls(&self) -> i64 {
        self.0.summary.calls
    }

    /// Input tokens.
    async fn prompt_tokens(&self) -> i64 {
        self.0.summary.prompt_tokens
    }

    /// Output tokens: the answers plus the model's thinking, as Google bills them.
    async fn output_tokens(&self) -> i64 {
        self.0.summary.output_tokens
    }

    /// All tokens, as the monthly quota counts them.
    async fn total_tokens(&self) -> i64 {
        self.0.summary.total_tokens
    }

    /// Conversations the assistant answered.
    async fn conversations(&self) -> i64 {
        self.0.summary.conversations
    }

    /// The estimated cost of the month's calls.
    async fn estimated_cost(&self) -> AiCost {
        AiCost {
            amount: format_micros(self.0.cost_micros),
            currency: self.0.currency.clone(),
        }
    }

    /// The plan's monthly token quota; null: unlimited.
    async fn token_quota(&self) -> Option<i64> {
        self.0.quota
    }

    /// Whether the quota is used up: the guided menu answers until the month ends.
    async fn quota_reached(&self) -> bool {
        self.0
            .quota
            .is_some_and(|quota| self.0.summary.total_tokens >= quota)
    }
}

#[derive(Default)]
pub struct AiQuery;

#[Object]
impl AiQuery {
    /// The viewer's tenant's AI usage in `month`.
    async fn ai_usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`YYYY-MM`; the current month in the tenant's zone when omitted.")]
        month: Option<String>,
    ) -> async_graphql::Result<AiUsageNode> {
        let viewer = viewer(ctx)?;
        Ok(AiUsageNode(
            service::usage(state(ctx), &viewer, month.as_deref()).await?,
        ))
    }

    /// ADMIN: every tenant's AI usage in `month`, most tokens first (tenants without any are
    /// left out).
    async fn ai_usage_by_tenant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`YYYY-MM`; the current month in São Paulo when omitted.")] month: Option<
            String,
        >,
    ) -> async_graphql::Result<Vec<AiUsageNode>> {
        let viewer = viewer(ctx)?;
        Ok(
            service::usage_by_tenant(state(ctx), &viewer, month.as_deref())
                .await?
                .into_iter()
                .map(AiUsageNode)
                .collect(),
        )
    }
}
