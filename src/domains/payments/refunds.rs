//! Refunds a business gives through Mercado Pago (`refundPayment`). InfinitePay has no refund API:
//! its payments are refunded in its app.
//!
//! Invariants: a `refunds` row (REQUESTED) is written before Mercado Pago is asked, and its id is
//! the `X-Idempotency-Key`, so a request that may have reached Mercado Pago is repeated under the
//! same key (the same refund of the same payment reuses a row still REQUESTED) and never refunds
//! twice. Mercado Pago's answer makes it DONE or FAILED; the payment is then re-read through
//! reconciliation, so the notification that follows changes nothing more.

use secrecy::ExposeSecret;

use super::{
    model::{Payment, PaymentProvider, RefundStatus},
    reconcile::{self, Account},
    repo, service,
};
use crate::{
    clients::mercado_pago::MpError,
    db,
    domains::tenants,
    kernel::{
        error::{AppError, AppResult},
        ids::PaymentId,
        pt_br,
        values::MoneyCents,
        viewer::Viewer,
    },
    state::AppState,
};

/// `refundPayment`: returns `amount` (all that is left when `None`) of the viewer's tenant's paid
/// payment `id` to the customer, and the payment as Mercado Pago then describes it.
pub async fn refund(
    state: &AppState,
    viewer: &Viewer,
    id: PaymentId,
    amount: Option<MoneyCents>,
) -> AppResult<Payment> {
    let tenant = viewer.tenant()?;
    let payment = repo::find(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    if payment.provider == PaymentProvider::InfinitePay {
        return Err(AppError::bad_input(
            "id",
            "A InfinitePay não tem API de estorno: faça o estorno pelo app da InfinitePay",
        ));
    }
    let Some(external_id) = payment
        .external_id
        .clone()
        .filter(|_| payment.status.is_paid())
    else {
        return Err(AppError::bad_input(
            "id",
            "Só um pagamento aprovado pode ser estornado",
        ));
    };
    let left = MoneyCents(payment.paid_amount.unwrap_or(payment.amount).0 - payment.refunded.0);
    if let Some(amount) = amount {
        if amount.0 <= 0 {
            return Err(AppError::bad_input(
                "amount",
                "O valor do estorno deve ser maior que zero",
            ));
        }
        if amount.0 > left.0 {
            return Err(AppError::bad_input(
                "amount",
                format!(
                    "O valor do estorno passa do que resta a devolver ({})",
                    pt_br::money(left)
                ),
            ));
        }
    }
    let account = tenants::service::mercado_pago_account(state, &state.db, tenant)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                "id",
                "Conecte sua conta do Mercado Pago para estornar pagamentos",
            )
        })?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    // Under the payment's lock, two requests for the same refund share one row (one key).
    repo::lock(&txn, id).await?;
    let refund = match repo::reconcile::find_requested_refund(&txn, tenant, id, amount).await? {
        Some(refund) => refund,
        None => {
            repo::reconcile::insert_refund(&txn, tenant, id, amount, viewer.user_id, now).await?
        }
    };
    txn.commit().await?;

    let token = account.access_token.expose_secret();
    let answer = state
        .clients
        .mercado_pago
        .refund(token, &external_id, &refund.0.to_string(), amount)
        .await;
    let failed = |message: String| async move {
        repo::reconcile::finish_refund(
            &state.db,
            refund,
            RefundStatus::Failed,
            None,
            Some(message),
            state.clock.now(),
        )
        .await
    };
    match answer {
        Ok(done) => {
            repo::reconcile::finish_refund(
                &state.db,
                refund,
                RefundStatus::Done,
                Some(done.id),
                None,
                state.clock.now(),
            )
            .await?;
        }
        // It may have reached Mercado Pago: the row stays REQUESTED, so asking again reuses its key.
        Err(MpError::Unavailable(detail)) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "refunding Mercado Pago payment {external_id}: {detail}"
            )));
        }
        Err(MpError::InvalidGrant(message)) => {
            failed(message).await?;
            return Err(service::connection_refused(state, tenant, "id").await?);
        }
        Err(MpError::Refused { message, .. }) => {
            failed(message.clone()).await?;
            return Err(AppError::bad_input(
                "id",
                format!("O Mercado Pago recusou o estorno: {message}"),
            ));
        }
        Err(MpError::NotFound) => {
            failed("Mercado Pago has no such payment".to_owned()).await?;
            return Err(AppError::bad_input(
                "id",
                "O Mercado Pago não encontrou este pagamento",
            ));
        }
    }
    // The refund is done; a re-read that fails now is left to the notification that follows.
    if let Err(err) = reconcile::reconcile_mercado_pago(
        state,
        Account::Tenant(tenant),
        &account.access_token,
        &external_id,
    )
    .await
    {
        tracing::warn!(error = ?err, payment = %id, "could not re-read a refunded payment");
    }
    repo::find(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("payment"))
}
