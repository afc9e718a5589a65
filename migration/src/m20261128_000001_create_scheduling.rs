//! Scheduling: catalog (services, customer plans), customers and their subscriptions, opening
//! hours and date exceptions, appointments, and the tenant's scheduling settings.
//!
//! On Postgres an exclusion constraint makes the database itself refuse two active (PENDING or
//! CONFIRMED) appointments of one tenant whose `[starts_at, ends_at)` ranges overlap.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_create_scheduling"
    }
}

fn tenant_fk(table: impl IntoIden + Clone, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            integer(Tenants::SlotStepMinutes).default(30),
            integer(Tenants::MinNoticeMinutes).default(60),
            integer(Tenants::BookingHorizonDays).default(60),
            integer_null(Tenants::UnpaidHoldMinutes).default(60),
        ] {
            // SQLite adds one column per ALTER TABLE.
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Services::Table)
                    .col(pk_uuid(Services::Id))
                    .col(uuid(Services::TenantId))
                    .col(string(Services::Name))
                    .col(text_null(Services::Description))
                    .col(big_integer(Services::PriceCents))
                    .col(integer(Services::DurationMinutes))
                    .col(boolean(Services::Active))
                    .col(timestamp_with_time_zone_null(Services::ArchivedAt))
                    .col(timestamp_with_time_zone(Services::CreatedAt))
                    .col(timestamp_with_time_zone(Services::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Services::Table, Services::TenantId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_services_tenant",
            Services::Table,
            [Services::TenantId, Services::Name],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Plans::Table)
                    .col(pk_uuid(Plans::Id))
                    .col(uuid(Plans::TenantId))
                    .col(string(Plans::Name))
                    .col(text_null(Plans::Description))
                    .col(big_integer(Plans::PriceCents))
                    .col(string(Plans::Interval))
                    .col(integer_null(Plans::MaxAppointmentsPerCycle))
                    .col(timestamp_with_time_zone_null(Plans::ArchivedAt))
                    .col(timestamp_with_time_zone(Plans::CreatedAt))
                    .col(timestamp_with_time_zone(Plans::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Plans::Table, Plans::TenantId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_plans_tenant",
            Plans::Table,
            [Plans::TenantId, Plans::Name],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlanServices::Table)
                    .col(uuid(PlanServices::PlanId))
                    .col(uuid(PlanServices::ServiceId))
                    .col(uuid(PlanServices::TenantId))
                    .primary_key(
                        Index::create()
                            .col(PlanServices::PlanId)
                            .col(PlanServices::ServiceId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PlanServices::Table, PlanServices::PlanId)
                            .to(Plans::Table, Plans::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PlanServices::Table, PlanServices::ServiceId)
                            .to(Services::Table, Services::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut tenant_fk(PlanServices::Table, PlanServices::TenantId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_plan_services_service",
            PlanServices::Table,
            [PlanServices::ServiceId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(pk_uuid(Customers::Id))
                    .col(uuid(Customers::TenantId))
                    .col(string(Customers::Name))
                    .col(string(Customers::Phone))
                    .col(string_null(Customers::Email))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Customers::Table, Customers::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_customers_tenant_phone")
                    .table(Customers::Table)
                    .col(Customers::TenantId)
                    .col(Customers::Phone)
                    .unique()
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_customers_tenant_name",
            Customers::Table,
            [Customers::TenantId, Customers::Name],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(pk_uuid(Subscriptions::Id))
                    .col(uuid(Subscriptions::TenantId))
                    .col(uuid(Subscriptions::CustomerId))
                    .col(uuid(Subscriptions::PlanId))
                    .col(string(Subscriptions::Status))
                    .col(timestamp_with_time_zone(Subscriptions::StartsAt))
                    .col(timestamp_with_time_zone(Subscriptions::CurrentPeriodStart))
                    .col(timestamp_with_time_zone(Subscriptions::CurrentPeriodEnd))
                    .col(timestamp_with_time_zone_null(Subscriptions::CanceledAt))
                    .col(string_null(Subscriptions::ExternalId).unique_key())
                    .col(timestamp_with_time_zone(Subscriptions::CreatedAt))
                    .col(timestamp_with_time_zone(Subscriptions::UpdatedAt))
                    .foreign_key(&mut tenant_fk(
                        Subscriptions::Table,
                        Subscriptions::TenantId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Subscriptions::Table, Subscriptions::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Subscriptions::Table, Subscriptions::PlanId)
                            .to(Plans::Table, Plans::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_subscriptions_customer",
            Subscriptions::Table,
            [Subscriptions::TenantId, Subscriptions::CustomerId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(OpeningHours::Table)
                    .col(pk_uuid(OpeningHours::Id))
                    .col(uuid(OpeningHours::TenantId))
                    .col(small_integer(OpeningHours::Weekday))
                    .col(small_integer(OpeningHours::StartMinute))
                    .col(small_integer(OpeningHours::EndMinute))
                    .col(boolean(OpeningHours::OnlyForSubscribers))
                    .col(timestamp_with_time_zone(OpeningHours::CreatedAt))
                    .foreign_key(&mut tenant_fk(OpeningHours::Table, OpeningHours::TenantId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_opening_hours_tenant",
            OpeningHours::Table,
            [OpeningHours::TenantId, OpeningHours::Weekday],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DateExceptions::Table)
                    .col(pk_uuid(DateExceptions::Id))
                    .col(uuid(DateExceptions::TenantId))
                    .col(date(DateExceptions::Date))
                    .col(small_integer_null(DateExceptions::StartMinute))
                    .col(small_integer_null(DateExceptions::EndMinute))
                    .col(text_null(DateExceptions::Reason))
                    .col(timestamp_with_time_zone(DateExceptions::CreatedAt))
                    .foreign_key(&mut tenant_fk(
                        DateExceptions::Table,
                        DateExceptions::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_date_exceptions_tenant",
            DateExceptions::Table,
            [DateExceptions::TenantId, DateExceptions::Date],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Appointments::Table)
                    .col(pk_uuid(Appointments::Id))
                    .col(uuid(Appointments::TenantId))
                    .col(uuid(Appointments::CustomerId))
                    .col(uuid(Appointments::ServiceId))
                    .col(uuid_null(Appointments::SubscriptionId))
                    .col(timestamp_with_time_zone(Appointments::StartsAt))
                    .col(timestamp_with_time_zone(Appointments::EndsAt))
                    .col(string(Appointments::Status))
                    .col(big_integer(Appointments::PriceCents))
                    .col(text_null(Appointments::Notes))
                    .col(timestamp_with_time_zone_null(Appointments::ConfirmedAt))
                    .col(timestamp_with_time_zone_null(Appointments::CanceledAt))
                    .col(text_null(Appointments::CancellationReason))
                    .col(timestamp_with_time_zone(Appointments::CreatedAt))
                    .col(timestamp_with_time_zone(Appointments::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Appointments::Table, Appointments::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appointments::Table, Appointments::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appointments::Table, Appointments::ServiceId)
                            .to(Services::Table, Services::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appointments::Table, Appointments::SubscriptionId)
                            .to(Subscriptions::Table, Subscriptions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_appointments_tenant_start",
            Appointments::Table,
            [Appointments::TenantId, Appointments::StartsAt],
        )
        .await?;
        index(
            manager,
            "idx_appointments_customer",
            Appointments::Table,
            [
                Appointments::TenantId,
                Appointments::CustomerId,
                Appointments::StartsAt,
            ],
        )
        .await?;
        index(
            manager,
            "idx_appointments_status_created",
            Appointments::Table,
            [Appointments::Status, Appointments::CreatedAt],
        )
        .await?;
        index(
            manager,
            "idx_appointments_subscription",
            Appointments::Table,
            [Appointments::SubscriptionId, Appointments::StartsAt],
        )
        .await?;

        if manager.get_database_backend() == DatabaseBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist")
                .await?;
            db.execute_unprepared(
                "ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap \
                 EXCLUDE USING gist (tenant_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) \
                 WHERE (status IN ('PENDING', 'CONFIRMED'))",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Appointments::Table.into_iden(),
            DateExceptions::Table.into_iden(),
            OpeningHours::Table.into_iden(),
            Subscriptions::Table.into_iden(),
            Customers::Table.into_iden(),
            PlanServices::Table.into_iden(),
            Plans::Table.into_iden(),
            Services::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            Tenants::SlotStepMinutes,
            Tenants::MinNoticeMinutes,
            Tenants::BookingHorizonDays,
            Tenants::UnpaidHoldMinutes,
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
        Ok(())
    }
}

async fn index<T: IntoIden + Copy + 'static, C: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    let mut statement = Index::create().name(name).table(table).to_owned();
    for column in columns {
        statement.col(column);
    }
    manager.create_index(statement).await
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    SlotStepMinutes,
    MinNoticeMinutes,
    BookingHorizonDays,
    UnpaidHoldMinutes,
}

#[derive(DeriveIden, Clone, Copy)]
enum Services {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    PriceCents,
    DurationMinutes,
    Active,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Plans {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    PriceCents,
    Interval,
    MaxAppointmentsPerCycle,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PlanServices {
    Table,
    PlanId,
    ServiceId,
    TenantId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Customers {
    Table,
    Id,
    TenantId,
    Name,
    Phone,
    Email,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Subscriptions {
    Table,
    Id,
    TenantId,
    CustomerId,
    PlanId,
    Status,
    StartsAt,
    CurrentPeriodStart,
    CurrentPeriodEnd,
    CanceledAt,
    ExternalId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OpeningHours {
    Table,
    Id,
    TenantId,
    Weekday,
    StartMinute,
    EndMinute,
    OnlyForSubscribers,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum DateExceptions {
    Table,
    Id,
    TenantId,
    Date,
    StartMinute,
    EndMinute,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Appointments {
    Table,
    Id,
    TenantId,
    CustomerId,
    ServiceId,
    SubscriptionId,
    StartsAt,
    EndsAt,
    Status,
    PriceCents,
    Notes,
    ConfirmedAt,
    CanceledAt,
    CancellationReason,
    CreatedAt,
    UpdatedAt,
}
