//! GraphQL surface of customers.

use async_graphql::{ID, Object};

use super::model::Customer;

pub struct CustomerNode(pub Customer);

/// A customer of the tenant.
#[Object(name = "Customer")]
impl CustomerNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Full name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Phone in E.164.
    async fn phone(&self) -> &str {
        &self.0.phone
    }

    /// E-mail, lower-case.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
}
