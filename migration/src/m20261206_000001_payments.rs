//! Payments and finance.
//!
//! - `payments`: one row per payment of the provider (a Mercado Pago payment, an InfinitePay
//!   transaction), created PENDING with the link it pays (its id is the provider's
//!   `external_reference` / `order_nsu` and the idempotency key of the link). Amounts in integer
//!   cents. A payment belongs to an appointment, a customer subscription or the platform
//!   (`purpose`). Unique per (provider, external id): reconciliation upserts by it.
//!   `service_id` is the appointment's service when the link was made (what finance groups by).
//!   `reported_at` is the instant a report counts it on (approval, else creation), indexed with
//!   the tenant for the finance page.
//! - `payment_notifications`: every provider notification, stored once per (provider, topic,
//!   resource id, action), with the job that reconciles it written in the same transaction.
//! - `payment_oauth_states`: pending Mercado Pago authorizations (the hashed `state`, the PKCE
//!   verifier, the tenant and user it binds; ten minutes, single use).
//! - `refunds`: refunds asked of the provider; the row's id is the idempotency key.
//! - `appointments.paid_at`: an approved payment arrived, so the unpaid hold never expires it
//!   (even when the payment could not confirm it on its own).
//! - `tenants.mp_token_expires_at`, `tenants.mp_refresh_claimed_until` (the instance renewing the
//!   tokens, which rotate, so two never renew at once), `tenants.mp_status` (CONNECTED, DISCONNECTED when a refresh was
//!   refused), `tenants.cancel_on_refund` (a refunded or charged-back payment cancels its future
//!   booking; on by default).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(pk_uuid(Payments::Id))
                    .col(uuid(Payments::TenantId))
                    .col(string(Payments::Purpose))
                    .col(uuid_null(Payments::AppointmentId))
                    .col(uuid_null(Payments::SubscriptionId))
                    .col(uuid_null(Payments::CustomerId))
                    .col(uuid_null(Payments::ServiceId))
                    .col(string(Payments::Provider))
                    .col(string(Payments::Status))
                    .col(string_null(Payments::StatusDetail))
                    .col(string_null(Payments::Method))
                    .col(big_integer(Payments::AmountCents))
                    .col(big_integer_null(Payments::PaidAmountCents))
                    .col(big_integer_null(Payments::FeeCents))
                    .col(big_integer_null(Payments::NetCents))
                    .col(big_integer(Payments::RefundedCents).default(0))
                    .col(string(Payments::Currency))
                    .col(string_null(Payments::ExternalId))
                    .col(string_null(Payments::CheckoutId))
                    .col(string_null(Payments::CheckoutUrl))
                    .col(timestamp_with_time_zone_null(Payments::LinkExpiresAt))
                    .col(timestamp_with_time_zone_null(Payments::LinkSentAt))
                    .col(timestamp_with_time_zone_null(Payments::ProviderUpdatedAt))
                    .col(boolean(Payments::NeedsRefund).default(false))
                    .col(string_null(Payments::ReviewReason))
                    .col(timestamp_with_time_zone_null(Payments::ApprovedAt))
                    .col(timestamp_with_time_zone(Payments::ReportedAt))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .col(timestamp_with_time_zone(Payments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::AppointmentId)
                            .to(Appointments::Table, Appointments::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "uq_payments_provider_external",
                vec![Payments::Provider, Payments::ExternalId],
                true,
            ),
            (
                "idx_payments_tenant_reported",
                vec![Payments::TenantId, Payments::ReportedAt],
                false,
            ),
            (
                "idx_payments_appointment",
                vec![Payments::AppointmentId],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Payments::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(PaymentNotifications::Table)
                    .col(pk_uuid(PaymentNotifications::Id))
                    .col(string(PaymentNotifications::Provider))
                    .col(string(PaymentNotifications::Topic))
                    .col(string(PaymentNotifications::ResourceId))
                    .col(string(PaymentNotifications::Action))
                    .col(uuid_null(PaymentNotifications::TenantId))
                    .col(string_null(PaymentNotifications::AccountUserId))
                    .col(text(PaymentNotifications::Body))
                    .col(string_null(PaymentNotifications::Outcome))
                    .col(timestamp_with_time_zone(PaymentNotifications::ReceivedAt))
                    .col(timestamp_with_time_zone_null(
                        PaymentNotifications::ProcessedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_payment_notifications_key")
                    .table(PaymentNotifications::Table)
                    .col(PaymentNotifications::Provider)
                    .col(PaymentNotifications::Topic)
                    .col(PaymentNotifications::ResourceId)
                    .col(PaymentNotifications::Action)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PaymentOauthStates::Table)
                    .col(pk_uuid(PaymentOauthStates::Id))
                    .col(string_uniq(PaymentOauthStates::StateHash))
                    .col(uuid(PaymentOauthStates::TenantId))
                    .col(uuid(PaymentOauthStates::UserId))
                    .col(string(PaymentOauthStates::CodeVerifier))
                    .col(timestamp_with_time_zone(PaymentOauthStates::ExpiresAt))
                    .col(timestamp_with_time_zone(PaymentOauthStates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PaymentOauthStates::Table, PaymentOauthStates::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    .col(pk_uuid(Refunds::Id))
                    .col(uuid(Refunds::TenantId))
                    .col(uuid(Refunds::PaymentId))
                    .col(big_integer_null(Refunds::AmountCents))
                    .col(string_null(Refunds::ExternalId))
                    .col(string(Refunds::Status))
                    .col(string_null(Refunds::ErrorMessage))
                    .col(uuid_null(Refunds::RequestedBy))
                    .col(timestamp_with_time_zone(Refunds::CreatedAt))
                    .col(timestamp_with_time_zone(Refunds::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Refunds::Table, Refunds::PaymentId)
                            .to(Payments::Table, Payments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refunds_payment")
                    .table(Refunds::Table)
                    .col(Refunds::PaymentId)
                    .to_owned(),
            )
            .await?;

        // A Mercado Pago account has one owner: its notifications are routed by `user_id`.
        manager
            .create_index(
                Index::create()
                    .name("uq_tenants_mp_user_id")
                    .table(Tenants::Table)
                    .col(Tenants::MpUserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Appointments::Table)
                    .add_column(timestamp_with_time_zone_null(Appointments::PaidAt))
                    .to_owned(),
            )
            .await?;
        // One column per ALTER TABLE: SQLite alters no more at once.
        for column in [
            timestamp_with_time_zone_null(Tenants::MpTokenExpiresAt),
            timestamp_with_time_zone_null(Tenants::MpRefreshClaimedUntil),
            string_null(Tenants::MpStatus),
            boolean(Tenants::CancelOnRefund).default(true).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Appointments::Table)
                    .drop_column(Appointments::PaidAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("uq_tenants_mp_user_id")
                    .table(Tenants::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Tenants::CancelOnRefund,
            Tenants::MpStatus,
            Tenants::MpRefreshClaimedUntil,
            Tenants::MpTokenExpiresAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            Refunds::Table.into_iden(),
            PaymentOauthStates::Table.into_iden(),
            PaymentNotifications::Table.into_iden(),
            Payments::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Payments {
    Table,
    Id,
    TenantId,
    Purpose,
    AppointmentId,
    SubscriptionId,
    CustomerId,
    ServiceId,
    Provider,
    Status,
    StatusDetail,
    Method,
    AmountCents,
    PaidAmountCents,
    FeeCents,
    NetCents,
    RefundedCents,
    Currency,
    ExternalId,
    CheckoutId,
    CheckoutUrl,
    LinkExpiresAt,
    LinkSentAt,
    ProviderUpdatedAt,
    NeedsRefund,
    ReviewReason,
    ApprovedAt,
    ReportedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentNotifications {
    Table,
    Id,
    Provider,
    Topic,
    ResourceId,
    Action,
    TenantId,
    AccountUserId,
    Body,
    Outcome,
    ReceivedAt,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum PaymentOauthStates {
    Table,
    Id,
    StateHash,
    TenantId,
    UserId,
    CodeVerifier,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    TenantId,
    PaymentId,
    AmountCents,
    ExternalId,
    Status,
    ErrorMessage,
    RequestedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    MpUserId,
    MpTokenExpiresAt,
    MpRefreshClaimedUntil,
    MpStatus,
    CancelOnRefund,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
    PaidAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}
