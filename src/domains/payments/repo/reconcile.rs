//! Queries of reconciliation and refunds: `payment_notifications` (stored once per key, read by
//! id, marked processed), payments found and locked by the provider's id, a provider's read
//! written to its row, a second attempt on one checkout, and `refunds`.
//!
//! Notifications and provider ids name no tenant we could trust, so those queries go by id; the
//! service checks the payment's tenant against the account that answered before it changes
//! anything.

use chrono::{DateTime, Utc};
use entity::{payment_notifications, payments, refunds};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, InsertStatement, OnConflict},
};
use uuid::Uuid;

use super::super::model::{
    NewPaymentNotification, NewPaymentRow, Payment, PaymentNotification, PaymentProvider,
    ReconciledRow, RefundStatus,
};
use crate::kernel::{
    error::AppResult,
    ids::{PaymentId, PaymentNotificationId, RefundId, TenantId, UserId},
    values::{EnumStr, MoneyCents, TimeZone},
};

/// The insert of a notification, doing nothing when its key (provider, topic, resource id,
/// action) is stored already; for `jobs::insert_new_with_job`.
pub fn new_notification(
    notification: NewPaymentNotification,
    now: DateTime<Utc>,
) -> (PaymentNotificationId, InsertStatement) {
    let id = PaymentNotificationId(Uuid::now_v7());
    let insert = payment_notifications::Entity::insert(payment_notifications::ActiveModel {
        id: Set(id.0),
        provider: Set(notification.provider.as_str().to_owned()),
        topic: Set(notification.topic),
        resource_id: Set(notification.resource_id),
        action: Set(notification.action),
        tenant_id: Set(notification.tenant.map(|tenant| tenant.0)),
        account_user_id: Set(notification.account_user_id),
        body: Set(notification.body),
        outcome: Set(None),
        received_at: Set(now),
        processed_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([
            payment_notifications::Column::Provider,
            payment_notifications::Column::Topic,
            payment_notifications::Column::ResourceId,
            payment_notifications::Column::Action,
        ])
        .do_nothing()
        .to_owned(),
    )
    .into_query();
    (id, insert)
}

/// Notification `id` while it is not processed.
pub async fn find_unprocessed_notification(
    conn: &impl ConnectionTrait,
    id: PaymentNotificationId,
) -> AppResult<Option<PaymentNotification>> {
    let Some(row) = payment_notifications::Entity::find_by_id(id.0)
        .filter(payment_notifications::Column::ProcessedAt.is_null())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(PaymentNotification {
        id,
        provider: PaymentProvider::parse_stored(&row.provider)?,
        topic: row.topic,
        resource_id: row.resource_id,
        action: row.action,
        tenant: row.tenant_id.map(TenantId),
        account_user_id: row.account_user_id,
        body: row.body,
    }))
}

/// Records what reconciling notification `id` did, and the tenant it turned out to concern.
pub async fn mark_notification_processed(
    conn: &impl ConnectionTrait,
    id: PaymentNotificationId,
    tenant: Option<TenantId>,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = payment_notifications::Entity::update_many()
        .col_expr(payment_notifications::Column::Outcome, Expr::value(outcome))
        .col_expr(payment_notifications::Column::ProcessedAt, Expr::value(now))
        .filter(payment_notifications::Column::Id.eq(id.0));
    if let Some(tenant) = tenant {
        update = update.col_expr(
            payment_notifications::Column::TenantId,
            Expr::value(tenant.0),
        );
    }
    update.exec(conn).await?;
    Ok(())
}

/// The payment the provider knows as `external_id`, locked until the end of the transaction.
pub async fn lock_by_external(
    conn: &impl ConnectionTrait,
    provider: PaymentProvider,
    external_id: &str,
) -> AppResult<Option<Payment>> {
    payments::Entity::find()
        .filter(payments::Column::Provider.eq(provider.as_str()))
        .filter(payments::Column::ExternalId.eq(external_id))
        .lock_exclusive()
        .one(conn)
        .await?
        .map(Payment::try_from)
        .transpose()
}

/// Writes a provider's read to payment `current` (its external id claimed with it), moves it in
/// the rollup (days in the tenant's `zone`), and returns the row as stored.
pub async fn apply_read(
    conn: &impl ConnectionTrait,
    current: &Payment,
    row: &ReconciledRow,
    zone: TimeZone,
    now: DateTime<Utc>,
) -> AppResult<Option<Payment>> {
    let read = &row.read;
    let stored = payments::Entity::update_many()
        .col_expr(
            payments::Column::ExternalId,
            Expr::value(read.external_id.clone()),
        )
        .col_expr(payments::Column::Status, Expr::value(read.status.as_str()))
        .col_expr(
            payments::Column::StatusDetail,
            Expr::value(read.status_detail.clone()),
        )
        .col_expr(
            payments::Column::Method,
            Expr::value(read.method.map(|method| method.as_str())),
        )
        .col_expr(
            payments::Column::PaidAmountCents,
            Expr::value(read.paid_amount.0),
        )
        .col_expr(
            payments::Column::FeeCents,
            Expr::value(read.fee.map(|fee| fee.0)),
        )
        .col_expr(
            payments::Column::NetCents,
            Expr::value(read.net.map(|net| net.0)),
        )
        .col_expr(
            payments::Column::RefundedCents,
            Expr::value(read.refunded.0),
        )
        .col_expr(
            payments::Column::ProviderUpdatedAt,
            Expr::value(read.updated_at),
        )
        .col_expr(payments::Column::NeedsRefund, Expr::value(row.needs_refund))
        .col_expr(
            payments::Column::ReviewReason,
            Expr::value(row.review_reason.clone()),
        )
        .col_expr(payments::Column::ApprovedAt, Expr::value(row.approved_at))
        .col_expr(payments::Column::ReportedAt, Expr::value(row.reported_at))
        .col_expr(payments::Column::UpdatedAt, Expr::value(now))
        .filter(payments::Column::Id.eq(current.id.0))
        .exec_with_returning(conn)
        .await?
        .into_iter()
        .next()
        .map(Payment::try_from)
        .transpose()?;
    if let Some(stored) = &stored {
        super::days::shift(conn, zone, Some(current), Some(stored)).await?;
    }
    Ok(stored)
}

/// A second attempt on the checkout of `first` (the provider made another payment for it): a
/// PENDING row for the same tenant, purpose, appointment, customer, service, provider and
/// amount, already carrying the attempt's `external_id` (days in the tenant's `zone`).
pub async fn insert_attempt(
    conn: &impl ConnectionTrait,
    first: &Payment,
    external_id: &str,
    zone: TimeZone,
    now: DateTime<Utc>,
) -> AppResult<Payment> {
    let row = NewPaymentRow {
        tenant: first.tenant,
        purpose: first.purpose,
        appointment: first.appointment,
        subscription: first.subscription,
        customer: first.customer,
        service: first.service,
        provider: first.provider,
        amount: first.amount,
        link_expires_at: None,
    };
    super::insert_pending(
        conn,
        row,
        Some(external_id.to_owned()),
        first.checkout_id.clone(),
        zone,
        now,
    )
    .await
}

/// The refund of payment `payment` for `amount` (None: the rest) still REQUESTED: a retry of the
/// same refund reuses its id as the idempotency key.
pub async fn find_requested_refund(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    payment: PaymentId,
    amount: Option<MoneyCents>,
) -> Result<Option<RefundId>, DbErr> {
    let amount_matches = match amount {
        Some(amount) => refunds::Column::AmountCents.eq(amount.0),
        None => refunds::Column::AmountCents.is_null(),
    };
    Ok(refunds::Entity::find()
        .filter(refunds::Column::TenantId.eq(tenant.0))
        .filter(refunds::Column::PaymentId.eq(payment.0))
        .filter(refunds::Column::Status.eq(RefundStatus::Requested.as_str()))
        .filter(amount_matches)
        .one(conn)
        .await?
        .map(|row| RefundId(row.id)))
}

/// Writes a REQUESTED refund (before the provider is asked).
pub async fn insert_refund(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    payment: PaymentId,
    amount: Option<MoneyCents>,
    requested_by: UserId,
    now: DateTime<Utc>,
) -> Result<RefundId, DbErr> {
    let id = RefundId(Uuid::now_v7());
    refunds::Entity::insert(refunds::ActiveModel {
        id: Set(id.0),
        tenant_id: Set(tenant.0),
        payment_id: Set(payment.0),
        amount_cents: Set(amount.map(|amount| amount.0)),
        external_id: Set(None),
        status: Set(RefundStatus::Requested.as_str().to_owned()),
        error_message: Set(None),
        requested_by: Set(Some(requested_by.0)),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

/// Records the provider's answer to refund `id`: DONE with its id, or FAILED with its message.
pub async fn finish_refund(
    conn: &impl ConnectionTrait,
    id: RefundId,
    status: RefundStatus,
    external_id: Option<String>,
    error_message: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    refunds::Entity::update_many()
        .col_expr(refunds::Column::Status, Expr::value(status.as_str()))
        .col_expr(refunds::Column::ExternalId, Expr::value(external_id))
        .col_expr(refunds::Column::ErrorMessage, Expr::value(error_message))
        .col_expr(refunds::Column::UpdatedAt, Expr::value(now))
        .filter(refunds::Column::Id.eq(id.0))
        .exec(conn)
        .await?;
    Ok(())
}
