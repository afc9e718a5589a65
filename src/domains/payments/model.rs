//! Payment types: the stored enums and their maps from the providers' vocabularies, the payment
//! as the application sees it, and the domain's live event.

use async_graphql::Enum;
use chrono::{DateTime, Utc};

pub use crate::domains::tenants::model::PaymentProvider;
use crate::domains::tenants::model::Tenant;
use crate::kernel::{
    error::{AppError, AppResult},
    events::EventPayload,
    ids::{
        AppointmentId, CustomerId, PaymentId, PaymentNotificationId, ServiceId, SubscriptionId,
        TenantId,
    },
    values::{EnumStr, MoneyCents},
};

/// Where a payment stands, in Mercado Pago's full vocabulary (InfinitePay knows only paid).
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// The link exists; the customer has not paid (yet).
    Pending,
    /// Authorized by the card issuer, not captured.
    Authorized,
    /// Under review by the provider.
    InProcess,
    /// Paid and credited.
    Approved,
    /// Refused; the customer may try again.
    Rejected,
    /// Canceled or expired unpaid.
    Canceled,
    /// Returned in full to the customer.
    Refunded,
    /// Part of it returned to the customer.
    PartiallyRefunded,
    /// The card holder disputed it with the issuer and got it back.
    ChargedBack,
    /// The customer opened a dispute.
    InMediation,
}

impl PaymentStatus {
    /// Mercado Pago's `status`, with the refunded amount telling a partial refund (MP keeps
    /// `approved` for it) from a whole one.
    pub fn from_mercado_pago(status: &str, amount: MoneyCents, refunded: MoneyCents) -> Self {
        match status {
            "approved" if refunded.0 > 0 && refunded.0 < amount.0 => Self::PartiallyRefunded,
            "approved" if refunded.0 > 0 => Self::Refunded,
            "approved" => Self::Approved,
            "authorized" => Self::Authorized,
            "in_process" => Self::InProcess,
            "in_mediation" => Self::InMediation,
            "rejected" => Self::Rejected,
            "cancelled" | "canceled" => Self::Canceled,
            "refunded" if refunded.0 > 0 && refunded.0 < amount.0 => Self::PartiallyRefunded,
            "refunded" => Self::Refunded,
            "charged_back" => Self::ChargedBack,
            // `pending` and anything Mercado Pago adds later: nothing was paid.
            _ => Self::Pending,
        }
    }

    /// Whether the money was received (and may have been partly returned since).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::PartiallyRefunded | Self::InMediation
        )
    }

    /// Whether the customer can still pay through the link.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Authorized | Self::InProcess)
    }

    /// Whether the money went back to the customer.
    pub fn is_returned(self) -> bool {
        matches!(self, Self::Refunded | Self::ChargedBack)
    }
}

/// How the customer paid.
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    /// PIX, Brazil's instant transfer.
    Pix,
    /// A credit card (possibly in installments).
    CreditCard,
    /// A debit or prepaid card.
    DebitCard,
    /// A bank slip (boleto bancário).
    Boleto,
    /// The balance of a Mercado Pago account.
    AccountMoney,
    /// Anything else the provider reports.
    Other,
}

impl PaymentMethod {
    /// From Mercado Pago's `payment_type_id` and `payment_method_id`.
    pub fn from_mercado_pago(type_id: Option<&str>, method_id: Option<&str>) -> Option<Self> {
        if method_id == Some("pix") {
            return Some(Self::Pix);
        }
        Some(match type_id? {
            "credit_card" => Self::CreditCard,
            "debit_card" | "prepaid_card" => Self::DebitCard,
            "ticket" => Self::Boleto,
            "account_money" => Self::AccountMoney,
            "bank_transfer" if method_id.is_none() => Self::Pix,
            _ => Self::Other,
        })
    }

    /// From InfinitePay's `capture_method`.
    pub fn from_infinite_pay(capture_method: &str) -> Self {
        match capture_method {
            "pix" => Self::Pix,
            "credit_card" => Self::CreditCard,
            "debit_card" => Self::DebitCard,
            _ => Self::Other,
        }
    }

    /// Portuguese, for exports and messages.
    pub fn label_pt_br(self) -> &'static str {
        match self {
            Self::Pix => "PIX",
            Self::CreditCard => "Cartão de crédito",
            Self::DebitCard => "Cartão de débito",
            Self::Boleto => "Boleto",
            Self::AccountMoney => "Saldo Mercado Pago",
            Self::Other => "Outro",
        }
    }
}

/// What a payment pays for. SaaS billing of tenants (the platform's account) comes with the next
/// issue; the column is there so its payments share this table and these reports.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentPurpose {
    /// A customer's booking (the tenant's account).
    Appointment,
    /// A customer's plan subscription (the tenant's account).
    Subscription,
    /// The tenant's SaaS plan (the platform's account).
    SaasFee,
}

/// A payment as the rest of the application sees it.
#[derive(Clone, Debug)]
pub struct Payment {
    pub id: PaymentId,
    pub tenant: TenantId,
    pub purpose: PaymentPurpose,
    pub appointment: Option<AppointmentId>,
    pub subscription: Option<SubscriptionId>,
    pub customer: Option<CustomerId>,
    /// The appointment's service when the payment was made.
    pub service: Option<ServiceId>,
    pub provider: PaymentProvider,
    pub status: PaymentStatus,
    pub status_detail: Option<String>,
    pub method: Option<PaymentMethod>,
    /// What is owed (the appointment's price when the link was made).
    pub amount: MoneyCents,
    /// What the provider says was paid.
    pub paid_amount: Option<MoneyCents>,
    pub fee: Option<MoneyCents>,
    pub net: Option<MoneyCents>,
    pub refunded: MoneyCents,
    pub external_id: Option<String>,
    pub checkout_id: Option<String>,
    pub checkout_url: Option<String>,
    pub link_expires_at: Option<DateTime<Utc>>,
    pub provider_updated_at: Option<DateTime<Utc>>,
    /// Paid for a booking that was canceled or expired meanwhile: the tenant must return it.
    pub needs_refund: bool,
    /// Why the payment did not confirm its booking on its own (an amount that differs, …).
    pub review_reason: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// When reports count it: its approval, else its creation.
    pub reported_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// Whether its link can still be handed out at `now`.
    pub fn link_is_usable(&self, now: DateTime<Utc>) -> bool {
        self.status == PaymentStatus::Pending
            && self.external_id.is_none()
            && self.checkout_url.is_some()
            && self.link_expires_at.is_none_or(|at| at > now)
    }
}

impl TryFrom<entity::payments::Model> for Payment {
    type Error = AppError;

    fn try_from(m: entity::payments::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: PaymentId(m.id),
            tenant: TenantId(m.tenant_id),
            purpose: PaymentPurpose::parse_stored(&m.purpose)?,
            appointment: m.appointment_id.map(AppointmentId),
            subscription: m.subscription_id.map(SubscriptionId),
            customer: m.customer_id.map(CustomerId),
            service: m.service_id.map(ServiceId),
            provider: PaymentProvider::parse_stored(&m.provider)?,
            status: PaymentStatus::parse_stored(&m.status)?,
            status_detail: m.status_detail,
            method: m
                .method
                .as_deref()
                .map(PaymentMethod::parse_stored)
                .transpose()?,
            amount: MoneyCents(m.amount_cents),
            paid_amount: m.paid_amount_cents.map(MoneyCents),
            fee: m.fee_cents.map(MoneyCents),
            net: m.net_cents.map(MoneyCents),
            refunded: MoneyCents(m.refunded_cents),
            external_id: m.external_id,
            checkout_id: m.checkout_id,
            checkout_url: m.checkout_url,
            link_expires_at: m.link_expires_at,
            provider_updated_at: m.provider_updated_at,
            needs_refund: m.needs_refund,
            review_reason: m.review_reason,
            approved_at: m.approved_at,
            reported_at: m.reported_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A PENDING payment to write before its link is asked of the provider.
pub struct NewPaymentRow {
    pub tenant: TenantId,
    pub purpose: PaymentPurpose,
    pub appointment: Option<AppointmentId>,
    pub subscription: Option<SubscriptionId>,
    pub customer: Option<CustomerId>,
    pub service: Option<ServiceId>,
    pub provider: PaymentProvider,
    pub amount: MoneyCents,
    pub link_expires_at: Option<DateTime<Utc>>,
}

/// The provider the tenant takes payments with: the preferred one, else the one connected.
pub fn provider_for(tenant: &Tenant) -> AppResult<PaymentProvider> {
    let mercado_pago = tenant.mercado_pago_connected;
    let infinite_pay = tenant.infinite_pay_tag.is_some();
    match tenant.preferred_payment_provider {
        Some(PaymentProvider::MercadoPago) if mercado_pago => Ok(PaymentProvider::MercadoPago),
        Some(PaymentProvider::InfinitePay) if infinite_pay => Ok(PaymentProvider::InfinitePay),
        Some(PaymentProvider::MercadoPago) => Err(AppError::bad_input(
            "appointmentId",
            "Conecte sua conta do Mercado Pago para gerar links de pagamento",
        )),
        Some(PaymentProvider::InfinitePay) => Err(AppError::bad_input(
            "appointmentId",
            "Informe sua InfiniteTag para gerar links da InfinitePay",
        )),
        None if mercado_pago => Ok(PaymentProvider::MercadoPago),
        None if infinite_pay => Ok(PaymentProvider::InfinitePay),
        None => Err(AppError::bad_input(
            "appointmentId",
            "Conecte o Mercado Pago ou informe sua InfiniteTag para receber pagamentos",
        )),
    }
}

/// Whether the tenant asks for payment after a booking on WhatsApp: an unpaid-hold window is
/// set and a provider can take the payment.
pub fn requires_payment(tenant: &Tenant) -> bool {
    tenant.scheduling.unpaid_hold_minutes.is_some() && provider_for(tenant).is_ok()
}

/// What happened to a payment (live dashboard feed).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[graphql(name = "PaymentEventKind")]
pub enum PaymentEventKind {
    /// A payment link was made.
    Created,
    /// The payment was approved.
    Approved,
    /// The payment was refused.
    Rejected,
    /// Money went back to the customer (in full or in part).
    Refunded,
    /// The card holder got the money back through the issuer.
    ChargedBack,
}

/// Live event: a payment was created or changed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentChanged {
    pub kind: PaymentEventKind,
    pub payment_id: PaymentId,
}

impl EventPayload for PaymentChanged {
    const KIND: &'static str = "payment.changed";
}

/// Job payload: send the payment link of a booking the customer just made on WhatsApp (written
/// by the channel with its reply; the job checks whether the tenant asks for payment).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendPaymentLink {
    pub tenant_id: TenantId,
    pub appointment_id: AppointmentId,
}

/// A provider notification as stored (`payment_notifications`), before it is reconciled.
#[derive(Clone, Debug)]
pub struct PaymentNotification {
    pub id: PaymentNotificationId,
    pub provider: PaymentProvider,
    pub topic: String,
    /// Mercado Pago's `data.id`; InfinitePay's `order_nsu`.
    pub resource_id: String,
    /// Mercado Pago's `action` with its notification id; InfinitePay's `{tenant}:{transaction_nsu}`
    /// (the URL's tenant is part of the key).
    pub action: String,
    /// InfinitePay: the tenant of the webhook's URL (not verified until the job checks it).
    pub tenant: Option<TenantId>,
    /// Mercado Pago's `user_id`: the account the notification names.
    pub account_user_id: Option<String>,
    /// The body as received (InfinitePay's `invoice_slug` is read from it).
    pub body: String,
}

/// A notification to store once per (provider, topic, resource id, action).
pub struct NewPaymentNotification {
    pub provider: PaymentProvider,
    pub topic: String,
    pub resource_id: String,
    pub action: String,
    pub tenant: Option<TenantId>,
    pub account_user_id: Option<String>,
    pub body: String,
}

/// What a provider said about a payment when asked (never what a notification claimed).
#[derive(Clone, Debug)]
pub struct ProviderRead {
    pub external_id: String,
    pub status: PaymentStatus,
    pub status_detail: Option<String>,
    pub method: Option<PaymentMethod>,
    pub paid_amount: MoneyCents,
    pub fee: Option<MoneyCents>,
    pub net: Option<MoneyCents>,
    pub refunded: MoneyCents,
    pub approved_at: Option<DateTime<Utc>>,
    /// The provider's last change of the payment: a read older than the stored one is ignored.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A read applied to a payment row, with what reconciliation decided about it.
pub struct ReconciledRow {
    pub read: ProviderRead,
    pub needs_refund: bool,
    pub review_reason: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// When reports count it: its approval, else its creation.
    pub reported_at: DateTime<Utc>,
}

/// Where a refund asked of the provider stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    /// Written before the provider is asked; its id is the idempotency key, reused on a retry.
    Requested,
    Done,
    Failed,
}

/// Job payload: reconcile stored notification `notification` with its provider.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReconcileNotification {
    pub notification: PaymentNotificationId,
}

/// Job payload: a payment of an appointment was refused; tell the customer and offer a new link
/// (written with the rejection, so it is offered once).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OfferNewPaymentLink {
    pub tenant_id: TenantId,
    pub appointment_id: AppointmentId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mercado_pago_statuses_map_in_full() {
        let amount = MoneyCents(8000);
        let none = MoneyCents(0);
        for (status, refunded, expected) in [
            ("pending", none, PaymentStatus::Pending),
            ("authorized", none, PaymentStatus::Authorized),
            ("in_process", none, PaymentStatus::InProcess),
            ("approved", none, PaymentStatus::Approved),
            (
                "approved",
                MoneyCents(1000),
                PaymentStatus::PartiallyRefunded,
            ),
            ("rejected", none, PaymentStatus::Rejected),
            ("cancelled", none, PaymentStatus::Canceled),
            ("refunded", amount, PaymentStatus::Refunded),
            (
                "refunded",
                MoneyCents(500),
                PaymentStatus::PartiallyRefunded,
            ),
            ("charged_back", none, PaymentStatus::ChargedBack),
            ("in_mediation", none, PaymentStatus::InMediation),
            ("something_new", none, PaymentStatus::Pending),
        ] {
            assert_eq!(
                PaymentStatus::from_mercado_pago(status, amount, refunded),
                expected,
                "{status} with {refunded:?} refunded"
            );
        }
    }

    #[test]
    fn mercado_pago_methods_map_by_type_and_method() {
        for (type_id, method_id, expected) in [
            (Some("bank_transfer"), Some("pix"), Some(PaymentMethod::Pix)),
            (
                Some("credit_card"),
                Some("visa"),
                Some(PaymentMethod::CreditCard),
            ),
            (
                Some("debit_card"),
                Some("debelo"),
                Some(PaymentMethod::DebitCard),
            ),
            (
                Some("ticket"),
                Some("bolbradesco"),
                Some(PaymentMethod::Boleto),
            ),
            (
                Some("account_money"),
                Some("account_money"),
                Some(PaymentMethod::AccountMoney),
            ),
            (
                Some("digital_currency"),
                Some("consumer_credits"),
                Some(PaymentMethod::Other),
            ),
            (None, None, None),
        ] {
            assert_eq!(
                PaymentMethod::from_mercado_pago(type_id, method_id),
                expected,
                "{type_id:?}/{method_id:?}"
            );
        }
    }
}
