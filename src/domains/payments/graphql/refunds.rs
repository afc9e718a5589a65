//! `refundPayment`: money of a paid Mercado Pago payment returned to the customer.

use async_graphql::{Context, ID, Object};

use super::PaymentNode;
use crate::{
    domains::{payments::refunds, tenants},
    graphql::{
        scalars::Decimal,
        viewer::{state, viewer},
    },
    kernel::{
        ids::{PaymentId, TypedId},
        values::MoneyCents,
    },
};

#[derive(Default)]
pub struct RefundMutation;

/// Refunds.
#[Object]
impl RefundMutation {
    /// Returns `amount` of a paid Mercado Pago payment to the customer (all that is left when
    /// null), and the payment as Mercado Pago then describes it. Asking again after a failure
    /// repeats the same request, never a second refund. BAD_USER_INPUT for an unpaid payment, an
    /// amount above what is left, and InfinitePay (refund in the InfinitePay app).
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment to refund.")] id: ID,
        #[graphql(desc = "How much to return; null: all that is left.")] amount: Option<Decimal>,
    ) -> async_graphql::Result<PaymentNode> {
        let viewer = viewer(ctx)?;
        let id = PaymentId::parse(&id)?;
        // A parsed `Decimal` fits 64 bits; the largest amount is refused as above what is left.
        let amount = amount.map(|amount| MoneyCents(i64::try_from(amount.0.0).unwrap_or(i64::MAX)));
        let state = state(ctx);
        let payment = refunds::refund(state, &viewer, id, amount).await?;
        let zone = tenants::service::find(&state.db, payment.tenant)
            .await?
            .time_zone;
        Ok(PaymentNode { payment, zone })
    }
}
