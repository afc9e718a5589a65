//! Typed ids of tenant-owned rows, so a customer id can never be passed where a service id is
//! expected.

use std::fmt;

use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

typed_id!(
    /// A service's id.
    ServiceId,
    /// A customer plan's id.
    PlanId,
    /// A customer's id.
    CustomerId,
    /// A customer subscription's id.
    SubscriptionId,
    /// An appointment's id.
    AppointmentId,
    /// An opening range's id.
    OpeningRangeId,
    /// A date exception's (closure or special hours) id.
    DateExceptionId,
);
