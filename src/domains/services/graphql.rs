//! GraphQL surface of services.

use async_graphql::{ID, Object};

use super::model::Service;
use crate::graphql::scalars::Money;

pub struct ServiceNode(pub Service);

/// A service the tenant sells.
#[Object(name = "Service")]
impl ServiceNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name shown to customers.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Current price.
    async fn price(&self) -> Money {
        self.0.price.into()
    }

    /// Duration in minutes.
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }

    /// Whether it can be booked.
    async fn active(&self) -> bool {
        self.0.active
    }
}
