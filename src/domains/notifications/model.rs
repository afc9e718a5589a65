//! Kinds of customer notices and a tenant's setting for each.

use async_graphql::Enum;

/// What a customer is told about.
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString,
)]
#[graphql(name = "NotificationKind")]
pub enum NoticeKind {
    /// The business booked (or confirmed) an appointment for the customer.
    #[strum(serialize = "BOOKING_CONFIRMED")]
    #[graphql(name = "BOOKING_CONFIRMED")]
    BookingConfirmed,
    /// The business moved the appointment.
    #[strum(serialize = "RESCHEDULED")]
    #[graphql(name = "RESCHEDULED")]
    Rescheduled,
    /// The business canceled the appointment.
    #[strum(serialize = "CANCELED")]
    #[graphql(name = "CANCELED")]
    Canceled,
    /// A reminder a day before the start (for bookings made more than a day ahead).
    #[strum(serialize = "REMINDER_24H")]
    #[graphql(name = "REMINDER_24H")]
    Reminder24h,
    /// A reminder two hours before the start (for bookings made more than two hours ahead).
    #[strum(serialize = "REMINDER_2H")]
    #[graphql(name = "REMINDER_2H")]
    Reminder2h,
}

impl NoticeKind {
    pub const ALL: [Self; 5] = [
        Self::BookingConfirmed,
        Self::Rescheduled,
        Self::Canceled,
        Self::Reminder24h,
        Self::Reminder2h,
    ];
}

/// A tenant's setting for one kind: on unless switched off; the template (with its language)
/// sent outside WhatsApp's 24-hour window, with the customer's name, the service and the date
/// and time as its three body parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeSetting {
    pub kind: NoticeKind,
    pub enabled: bool,
    pub template_name: Option<String>,
    pub template_language: String,
}

impl NoticeSetting {
    /// The setting of a kind the tenant never changed.
    pub fn default_for(kind: NoticeKind) -> Self {
        Self {
            kind,
            enabled: true,
            template_name: None,
            template_language: crate::domains::whatsapp::service::DEFAULT_TEMPLATE_LANGUAGE
                .to_owned(),
        }
    }
}
