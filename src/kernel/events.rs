//! The envelope of live events. A domain owns its payload types (each with a stable
//! [`EventPayload::KIND`]); the broker carries envelopes and knows no domain. An event is scoped
//! to a tenant, and subscriptions only see their own tenant's; a platform event (no tenant, such
//! as a user's sessions ending) reaches no subscription, only the instance's own observers.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::ids::TenantId;

/// A domain's event payload.
pub trait EventPayload: Serialize + DeserializeOwned {
    /// Stable name, unique across domains; it travels between instances, so renaming the Rust
    /// type must not change it.
    const KIND: &'static str;
}

/// One live event: which tenant (none for a platform event), what kind, and the payload as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub tenant_id: Option<TenantId>,
    pub kind: String,
    pub payload: serde_json::Value,
}

impl Event {
    pub fn new<P: EventPayload>(tenant_id: TenantId, payload: &P) -> Self {
        Self::scoped(Some(tenant_id), payload)
    }

    /// An event of no tenant.
    pub fn platform<P: EventPayload>(payload: &P) -> Self {
        Self::scoped(None, payload)
    }

    fn scoped<P: EventPayload>(tenant_id: Option<TenantId>, payload: &P) -> Self {
        Self {
            tenant_id,
            kind: P::KIND.to_owned(),
            // Payloads are plain data (ids and unit enums): serializing them cannot fail, and a
            // payload that somehow did would arrive as null and be dropped by `payload`.
            payload: serde_json::to_value(payload).unwrap_or_default(),
        }
    }

    /// The payload, when the event is of `P`'s kind (and well-formed).
    pub fn payload<P: EventPayload>(&self) -> Option<P> {
        (self.kind == P::KIND)
            .then(|| P::deserialize(&self.payload).ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Renamed {
        id: u32,
    }
    impl EventPayload for Renamed {
        const KIND: &'static str = "renamed";
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct Other;
    impl EventPayload for Other {
        const KIND: &'static str = "other";
    }

    #[test]
    fn payloads_round_trip_by_kind_only() {
        let event = Event::new(TenantId(Uuid::now_v7()), &Renamed { id: 7 });
        let wire: Event = serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
        assert_eq!(wire.payload::<Renamed>(), Some(Renamed { id: 7 }));
        assert!(wire.payload::<Other>().is_none());
    }
}
