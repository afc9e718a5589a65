//! GraphQL surface of customer subscriptions.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::model::{Subscription, SubscriptionStatus};

pub struct SubscriptionNode(pub Subscription);

/// A customer's subscription to one of the tenant's plans.
#[Object(name = "Subscription")]
impl SubscriptionNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn status(&self) -> SubscriptionStatus {
        self.0.status
    }

    /// Start of the current billing cycle.
    async fn current_period_start(&self) -> DateTime<Utc> {
        self.0.current_period_start
    }

    /// End of the current billing cycle.
    async fn current_period_end(&self) -> DateTime<Utc> {
        self.0.current_period_end
    }
}
