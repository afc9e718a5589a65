//! Payments in the dashboard: the `Payment` type and its loader, connecting Mercado Pago
//! (`mercadoPagoAuthorizationUrl`), payment links (`createPaymentLink`, `sendPaymentLink`),
//! `payment(id)`, and the live `paymentEvents`.

pub mod finance;
pub mod refunds;

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::{
    model::{
        Payment, PaymentChanged, PaymentEventKind, PaymentMethod, PaymentProvider, PaymentPurpose,
        PaymentStatus,
    },
    service::{self, PaymentLink},
};
use crate::{
    domains::{
        appointments::graphql::{AppointmentLoader, AppointmentNode},
        customers::graphql::{CustomerLoader, CustomerNode},
        tenants,
    },
    graphql::{
        loaders::loader,
        scalars::{Money, Timestamp},
        viewer::{state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{AppointmentId, PaymentId, TypedId},
        values::TimeZone,
    },
    tenant_loader,
};

tenant_loader!(
    /// Loads payments by id.
    PaymentLoader: PaymentId => Payment, service::find_many
);

/// A payment with the zone its times are shown in.
pub struct PaymentNode {
    pub payment: Payment,
    pub zone: TimeZone,
}

/// A payment of a customer to the business (or of the business to the platform), in integer
/// cents shown as exact decimals. Its state is what the provider said when asked, never what a
/// notification claimed.
#[Object(name = "Payment")]
impl PaymentNode {
    /// The payment's id: the provider's `external_reference` / `order_nsu`.
    async fn id(&self) -> ID {
        ID(self.payment.id.to_string())
    }

    /// Where the payment stands.
    async fn status(&self) -> PaymentStatus {
        self.payment.status
    }

    /// The provider's detail of the status (e.g. Mercado Pago's `cc_rejected_insufficient_amount`).
    async fn status_detail(&self) -> Option<&str> {
        self.payment.status_detail.as_deref()
    }

    /// Who takes the payment.
    async fn provider(&self) -> PaymentProvider {
        self.payment.provider
    }

    /// How the customer paid (null until they did).
    async fn method(&self) -> Option<PaymentMethod> {
        self.payment.method
    }

    /// What it pays for.
    async fn purpose(&self) -> PaymentPurpose {
        self.payment.purpose
    }

    /// What is owed: the appointment's price when the link was made.
    async fn amount(&self) -> Money {
        self.payment.amount.into()
    }

    /// What the provider says was paid (null until paid).
    async fn paid_amount(&self) -> Option<Money> {
        self.payment.paid_amount.map(Money::from)
    }

    /// The provider's fees charged to the business (null until known).
    async fn fee(&self) -> Option<Money> {
        self.payment.fee.map(Money::from)
    }

    /// What the business receives after fees (null until known).
    async fn net(&self) -> Option<Money> {
        self.payment.net.map(Money::from)
    }

    /// How much went back to the customer.
    async fn refunded(&self) -> Money {
        self.payment.refunded.into()
    }

    /// Where the customer pays (null until the provider made the link).
    async fn checkout_url(&self) -> Option<&str> {
        self.payment.checkout_url.as_deref()
    }

    /// When the link stops being offered (the end of the booking's unpaid hold).
    async fn link_expires_at(&self) -> Option<Timestamp> {
        self.at(self.payment.link_expires_at)
    }

    /// Paid for a booking that was canceled or expired meanwhile: the business should refund it.
    async fn needs_refund(&self) -> bool {
        self.payment.needs_refund
    }

    /// Why the payment did not confirm its booking on its own (an amount that differs, …).
    async fn review_reason(&self) -> Option<&str> {
        self.payment.review_reason.as_deref()
    }

    /// The provider's id of the payment (Mercado Pago's payment id, InfinitePay's
    /// `transaction_nsu`).
    async fn external_id(&self) -> Option<&str> {
        self.payment.external_id.as_deref()
    }

    /// When it was approved.
    async fn approved_at(&self) -> Option<Timestamp> {
        self.at(self.payment.approved_at)
    }

    /// When the payment (its link) was made.
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(
            self.payment
                .created_at
                .with_timezone(&self.zone.0)
                .fixed_offset(),
        )
    }

    /// When it last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp::from(
            self.payment
                .updated_at
                .with_timezone(&self.zone.0)
                .fixed_offset(),
        )
    }

    /// The appointment it pays for.
    async fn appointment(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<AppointmentNode>> {
        let Some(id) = self.payment.appointment else {
            return Ok(None);
        };
        let appointment = loader::<AppointmentLoader>(ctx)
            .load_one((self.payment.tenant, id))
            .await
            .map_err(AppError::from)?;
        Ok(appointment.map(|a| AppointmentNode::new(a, self.zone)))
    }

    /// Who pays.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CustomerNode>> {
        let Some(id) = self.payment.customer else {
            return Ok(None);
        };
        let customer = loader::<CustomerLoader>(ctx)
            .load_one((self.payment.tenant, id))
            .await
            .map_err(AppError::from)?;
        Ok(customer.map(CustomerNode::new))
    }
}

impl PaymentNode {
    fn at(&self, at: Option<chrono::DateTime<chrono::Utc>>) -> Option<Timestamp> {
        at.map(|at| Timestamp::from(at.with_timezone(&self.zone.0).fixed_offset()))
    }
}

/// A payment link: the page where the customer pays, and its payment.
pub struct PaymentLinkNode {
    link: PaymentLink,
    zone: TimeZone,
}

/// A payment link.
#[Object(name = "PaymentLink")]
impl PaymentLinkNode {
    /// Where the customer pays.
    async fn url(&self) -> &str {
        &self.link.url
    }

    /// The payment the link pays (PENDING until the customer pays).
    async fn payment(&self) -> PaymentNode {
        PaymentNode {
            payment: self.link.payment.clone(),
            zone: self.zone,
        }
    }
}

#[derive(Default)]
pub struct PaymentQuery;

/// Payments of the caller's tenant.
#[Object]
impl PaymentQuery {
    /// One payment of the caller's tenant.
    async fn payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment's id.")] id: ID,
    ) -> async_graphql::Result<PaymentNode> {
        let viewer = viewer(ctx)?;
        let id = PaymentId::parse(&id)?;
        let state = state(ctx);
        let payment = service::find(state, &viewer, id).await?;
        let zone = tenants::service::find(&state.db, payment.tenant)
            .await?
            .time_zone;
        Ok(PaymentNode { payment, zone })
    }
}

#[derive(Default)]
pub struct PaymentMutation;

/// Connecting a payment provider and payment links.
#[Object]
impl PaymentMutation {
    /// The Mercado Pago page where the owner authorizes the platform on their account; Mercado
    /// Pago then sends the browser to `GET /auth/mercadopago/callback`, which stores the account
    /// and redirects to the finance settings. The link works once, for ten minutes.
    async fn mercado_pago_authorization_url(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<String> {
        let viewer = viewer(ctx)?;
        Ok(service::authorization_url(state(ctx), &viewer).await?)
    }

    /// The payment link of an appointment: the pending one when there is one, else a new one
    /// on the tenant's provider. BAD_USER_INPUT for a free, canceled, expired or paid booking.
    async fn create_payment_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment to be paid.")] appointment_id: ID,
    ) -> async_graphql::Result<PaymentLinkNode> {
        let viewer = viewer(ctx)?;
        let id = AppointmentId::parse(&appointment_id)?;
        let state = state(ctx);
        let link = service::create_link(state, &viewer, id).await?;
        link_node(state, link).await
    }

    /// [`createPaymentLink`], and the link sent to the customer on WhatsApp (a notice: skipped
    /// outside the 24-hour window or when the customer opted out, as the conversation shows).
    async fn send_payment_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment to be paid.")] appointment_id: ID,
    ) -> async_graphql::Result<PaymentLinkNode> {
        let viewer = viewer(ctx)?;
        let id = AppointmentId::parse(&appointment_id)?;
        let state = state(ctx);
        let link = service::send_link(state, &viewer, id).await?;
        link_node(state, link).await
    }
}

async fn link_node(
    state: &crate::state::AppState,
    link: PaymentLink,
) -> async_graphql::Result<PaymentLinkNode> {
    let zone = tenants::service::find(&state.db, link.payment.tenant)
        .await?
        .time_zone;
    Ok(PaymentLinkNode { link, zone })
}

/// A change of a payment, live.
pub struct PaymentEvent {
    kind: PaymentEventKind,
    payment: PaymentNode,
}

/// What happened to which payment.
#[Object]
impl PaymentEvent {
    /// What happened.
    async fn kind(&self) -> PaymentEventKind {
        self.kind
    }

    /// The payment as it is now.
    async fn payment(&self) -> &PaymentNode {
        &self.payment
    }
}

#[derive(Default)]
pub struct PaymentSubscription;

#[Subscription]
impl PaymentSubscription {
    /// Changes to the caller's payments (links made, approvals, refusals, refunds,
    /// chargebacks), from any instance of the server.
    async fn payment_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = PaymentEvent> + use<>> {
        let viewer = viewer(ctx)?;
        let tenant = viewer.tenant()?;
        let state = state(ctx).clone();
        let zone = tenants::service::find(&state.db, tenant).await?.time_zone;
        let events = BroadcastStream::new(state.broker.subscribe());
        Ok(events.filter_map(move |delivery| {
            let state = state.clone();
            async move {
                let delivery = delivery.ok()?;
                if delivery.event.tenant_id != Some(tenant) {
                    return None;
                }
                let PaymentChanged { kind, payment_id } = delivery.event.payload()?;
                // Loaded once per instance, whatever the number of subscribers.
                let payment = delivery
                    .shared(|| async move {
                        service::find_many(&state.db, tenant, &[payment_id])
                            .await?
                            .remove(&payment_id)
                            .ok_or(AppError::NotFound("payment"))
                    })
                    .await?;
                Some(PaymentEvent {
                    kind,
                    payment: PaymentNode {
                        payment: (*payment).clone(),
                        zone,
                    },
                })
            }
        }))
    }
}
