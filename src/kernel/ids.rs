//! Typed ids, so a customer id can never be passed where a service id is expected. Every id
//! parses from its API form once, with [`TypedId::parse`]: an id that is not a UUID names no row,
//! so it is NOT_FOUND (never a hint that the row exists elsewhere).

use std::fmt;

use uuid::Uuid;

use super::error::AppError;

/// What every typed id offers.
pub trait TypedId: Copy + From<Uuid> {
    /// The entity's name in NOT_FOUND messages ("customer not found").
    const ENTITY: &'static str;

    /// Parses an id from the API (a UUID string); anything else is NOT_FOUND.
    fn parse(raw: &str) -> Result<Self, AppError> {
        Uuid::parse_str(raw)
            .map(Self::from)
            .map_err(|_| AppError::NotFound(Self::ENTITY))
    }
}

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident => $entity:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl TypedId for $name {
            const ENTITY: &'static str = $entity;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

typed_id!(
    /// A tenant's (business's) id.
    TenantId => "tenant",
    /// A user's (dashboard account's) id.
    UserId => "user",
    /// A SaaS plan's id (platform rows, not tenant-owned).
    SaasPlanId => "SaaS plan",
    /// A service's id.
    ServiceId => "service",
    /// A customer plan's id.
    PlanId => "plan",
    /// A customer's id.
    CustomerId => "customer",
    /// A customer subscription's id.
    SubscriptionId => "subscription",
    /// An appointment's id.
    AppointmentId => "appointment",
    /// An opening range's id.
    OpeningRangeId => "opening range",
    /// A date exception's (closure or special hours) id.
    DateExceptionId => "date exception",
    /// A WhatsApp conversation's id (one per tenant and customer).
    ConversationId => "conversation",
    /// A WhatsApp message's id (ours, not WhatsApp's `wamid`).
    MessageId => "message",
    /// A received WhatsApp webhook delivery's id.
    WebhookDeliveryId => "webhook delivery",
    /// A payment's id (ours: the provider's `external_reference` / `order_nsu`).
    PaymentId => "payment",
    /// A stored payment-provider notification's id.
    PaymentNotificationId => "payment notification",
    /// A refund's id (the idempotency key sent with it).
    RefundId => "refund",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_once_and_name_their_entity() {
        let id = Uuid::now_v7();
        assert_eq!(CustomerId::parse(&id.to_string()).unwrap(), CustomerId(id));
        assert!(matches!(
            ServiceId::parse("not-a-uuid"),
            Err(AppError::NotFound("service"))
        ));
    }
}
