//! Shortcuts for the catalog, customer and subscription tests: create rows through the API, and
//! put rows the API cannot make yet (appointments, past-due subscriptions) straight in the
//! database.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{GqlResponse, TestApp};

/// Asserts that of two concurrent requests exactly one succeeded and the other was a CONFLICT.
pub fn assert_one_wins(first: &GqlResponse, second: &GqlResponse) {
    let mut codes: Vec<Option<&str>> = [first, second]
        .iter()
        .map(|r| r.body["errors"][0]["extensions"]["code"].as_str())
        .collect();
    codes.sort();
    assert_eq!(codes, [None, Some("CONFLICT")], "{first:?} {second:?}");
}

impl TestApp {
    /// A service costing 50.00 for 30 minutes.
    pub async fn create_service(&self, token: &str, name: &str) -> Value {
        self.gql(
            Some(token),
            "mutation($i: CreateServiceInput!) { createService(input: $i) { id name active archived } }",
            json!({"i": {"name": name, "price": {"amount": "50.00"}, "durationMinutes": 30}}),
        )
        .await
        .data()["createService"]
            .clone()
    }

    /// A monthly plan covering `services` (ids).
    pub async fn create_plan(&self, token: &str, name: &str, services: &[&Value]) -> Value {
        self.gql(
            Some(token),
            "mutation($i: CreatePlanInput!) { createPlan(input: $i) { id name services { id } } }",
            json!({"i": {"name": name, "price": {"amount": "99.90"}, "serviceIds": services}}),
        )
        .await
        .data()["createPlan"]
            .clone()
    }

    pub async fn create_customer(&self, token: &str, name: &str, phone: &str) -> Value {
        self.gql(
            Some(token),
            "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id name phone email status } }",
            json!({"i": {"name": name, "phone": phone}}),
        )
        .await
        .data()["createCustomer"]
            .clone()
    }

    /// Subscribes the customer to the plan now.
    pub async fn subscribe(&self, token: &str, customer: &Value, plan: &Value) -> Value {
        self.gql(
            Some(token),
            "mutation($i: SubscribeCustomerInput!) { subscribeCustomer(input: $i) { id status } }",
            json!({"i": {"customerId": customer, "planId": plan}}),
        )
        .await
        .data()["subscribeCustomer"]
            .clone()
    }

    /// Sets a subscription's status directly (what the payments domain will do).
    pub async fn set_subscription_status(&self, id: &Value, status: &str) {
        entity::subscriptions::Entity::update_many()
            .col_expr(entity::subscriptions::Column::Status, Expr::value(status))
            .filter(entity::subscriptions::Column::Id.eq(uuid(id)))
            .exec(&self.state.db)
            .await
            .unwrap();
    }

    /// Books an appointment directly in the database.
    pub async fn insert_appointment(
        &self,
        tenant: &str,
        customer: &Value,
        service: &Value,
        starts_at: DateTime<Utc>,
        status: &str,
    ) {
        let now = Utc::now();
        entity::appointments::Entity::insert(entity::appointments::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(Uuid::parse_str(tenant).unwrap()),
            customer_id: Set(uuid(customer)),
            service_id: Set(uuid(service)),
            subscription_id: Set(None),
            starts_at: Set(starts_at),
            ends_at: Set(starts_at + Duration::minutes(30)),
            status: Set(status.to_owned()),
            price_cents: Set(5000),
            notes: Set(None),
            confirmed_at: Set(None),
            canceled_at: Set(None),
            cancellation_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            paid_at: Set(None),
        })
        .exec_without_returning(&self.state.db)
        .await
        .unwrap();
    }
}

fn uuid(id: &Value) -> Uuid {
    Uuid::parse_str(id.as_str().expect("an id string")).unwrap()
}
