//! Appointment types and the status machine.

use async_graphql::Enum;
use chrono::{DateTime, Utc};

use crate::kernel::{
    error::AppError,
    events::EventPayload,
    ids::{AppointmentId, CustomerId, ServiceId, SubscriptionId, TenantId},
    values::{EnumStr, MoneyCents},
};

/// Where an appointment stands.
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum AppointmentStatus {
    /// Booked, waiting for payment or confirmation; holds its slot.
    Pending,
    /// Confirmed; holds its slot.
    Confirmed,
    /// The customer was served.
    Completed,
    /// The customer did not come.
    NoShow,
    /// Canceled (by the business, the customer, or because payment did not arrive in time).
    Canceled,
}

/// A change of status asked for by someone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Confirm,
    Cancel,
    Complete,
    MarkNoShow,
}

impl AppointmentStatus {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Confirmed,
        Self::Completed,
        Self::NoShow,
        Self::Canceled,
    ];

    /// Active appointments hold their slot.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }

    fn label_pt(self) -> &'static str {
        match self {
            Self::Pending => "pendente",
            Self::Confirmed => "confirmado",
            Self::Completed => "concluído",
            Self::NoShow => "marcado como não comparecimento",
            Self::Canceled => "cancelado",
        }
    }
}

impl Transition {
    /// The statuses the transition may start from, and where it leads.
    pub fn rule(self) -> (&'static [AppointmentStatus], AppointmentStatus) {
        use AppointmentStatus::*;
        match self {
            Self::Confirm => (&[Pending], Confirmed),
            Self::Cancel => (&[Pending, Confirmed], Canceled),
            Self::Complete => (&[Confirmed], Completed),
            Self::MarkNoShow => (&[Confirmed], NoShow),
        }
    }

    /// Refuses a transition that the status machine does not allow.
    pub fn check(self, from: AppointmentStatus) -> Result<AppointmentStatus, AppError> {
        let (allowed, to) = self.rule();
        if allowed.contains(&from) {
            return Ok(to);
        }
        let action = match self {
            Self::Confirm => "confirmar",
            Self::Cancel => "cancelar",
            Self::Complete => "concluir",
            Self::MarkNoShow => "marcar falta em",
        };
        Err(AppError::bad_request(format!(
            "Não é possível {action} um agendamento {}",
            from.label_pt()
        )))
    }
}

/// A booking.
#[derive(Clone, Debug)]
pub struct Appointment {
    pub id: AppointmentId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub service_id: ServiceId,
    pub subscription_id: Option<SubscriptionId>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub price: MoneyCents,
    pub notes: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When an approved payment for it arrived (its unpaid hold no longer expires).
    pub paid_at: Option<DateTime<Utc>>,
}

impl TryFrom<entity::appointments::Model> for Appointment {
    type Error = AppError;

    fn try_from(m: entity::appointments::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: AppointmentId(m.id),
            tenant_id: TenantId(m.tenant_id),
            customer_id: CustomerId(m.customer_id),
            service_id: ServiceId(m.service_id),
            subscription_id: m.subscription_id.map(SubscriptionId),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            status: AppointmentStatus::parse_stored(&m.status)?,
            price: MoneyCents(m.price_cents),
            notes: m.notes,
            confirmed_at: m.confirmed_at,
            canceled_at: m.canceled_at,
            cancellation_reason: m.cancellation_reason,
            created_at: m.created_at,
            updated_at: m.updated_at,
            paid_at: m.paid_at,
        })
    }
}

/// A booking to insert, checked by the service.
pub struct NewAppointmentRow {
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub service_id: ServiceId,
    pub subscription_id: Option<SubscriptionId>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub price: MoneyCents,
    pub notes: Option<String>,
}

/// Filter of the appointment list.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub statuses: Vec<AppointmentStatus>,
    pub customer: Option<CustomerId>,
    pub service: Option<ServiceId>,
}

/// What happened to an appointment (live dashboard feed).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AppointmentEventKind {
    /// A booking was made.
    Created,
    /// A booking moved to another time.
    Rescheduled,
    /// A booking was confirmed.
    Confirmed,
    /// A booking was canceled by the business or the customer.
    Canceled,
    /// The appointment took place.
    Completed,
    /// The customer did not show up.
    NoShow,
    /// Canceled by the system because payment did not arrive within the unpaid-hold window.
    Expired,
}

/// Live event: an appointment was created or changed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppointmentChanged {
    pub kind: AppointmentEventKind,
    pub appointment_id: AppointmentId,
}

impl EventPayload for AppointmentChanged {
    const KIND: &'static str = "appointment.changed";
}

/// Who changed an appointment: the customer is told about the business's changes only (their
/// own were answered where they made them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The dashboard (or the platform).
    Business,
    /// The customer, on WhatsApp.
    Customer,
}

/// The reason recorded when customers cancel their own booking on WhatsApp (menu or AI).
pub const CANCELED_BY_CUSTOMER: &str = "Cancelado pelo cliente no WhatsApp";

/// Job payload, written with the change it tells of: the customer is to be told (the
/// notifications domain runs it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppointmentNotice {
    pub tenant_id: TenantId,
    pub appointment_id: AppointmentId,
    pub kind: AppointmentEventKind,
}

#[cfg(test)]
mod tests {
    use super::{AppointmentStatus::*, *};

    #[test]
    fn the_status_machine_allows_only_its_edges() {
        assert_eq!(Transition::Confirm.check(Pending).unwrap(), Confirmed);
        assert_eq!(Transition::Cancel.check(Pending).unwrap(), Canceled);
        assert_eq!(Transition::Cancel.check(Confirmed).unwrap(), Canceled);
        assert_eq!(Transition::Complete.check(Confirmed).unwrap(), Completed);
        assert_eq!(Transition::MarkNoShow.check(Confirmed).unwrap(), NoShow);
        for (transition, from) in [
            (Transition::Confirm, Confirmed),
            (Transition::Confirm, Canceled),
            (Transition::Complete, Pending),
            (Transition::Complete, Completed),
            (Transition::MarkNoShow, Pending),
            (Transition::Cancel, Completed),
            (Transition::Cancel, Canceled),
            (Transition::Cancel, NoShow),
        ] {
            assert!(
                transition.check(from).is_err(),
                "{transition:?} from {from:?}"
            );
        }
    }
}
