//! Notices to customers about their appointments: each tenant's switch and template per kind
//! (absent rows mean on, without a template), and one row per notice sent, unique per
//! (appointment, kind, key), so a reminder or a notice goes out at most once whatever the number
//! of instances, retries or restarts.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000002_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationSettings::Table)
                    .col(uuid(NotificationSettings::TenantId))
                    .col(string(NotificationSettings::Kind))
                    .col(boolean(NotificationSettings::Enabled))
                    .col(string_null(NotificationSettings::TemplateName))
                    .col(string(NotificationSettings::TemplateLanguage))
                    .col(timestamp_with_time_zone(NotificationSettings::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(NotificationSettings::TenantId)
                            .col(NotificationSettings::Kind),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationSettings::Table, NotificationSettings::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::TenantId))
                    .col(uuid(Notifications::AppointmentId))
                    .col(string(Notifications::Kind))
                    .col(string(Notifications::Key))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::AppointmentId)
                            .to(Appointments::Table, Appointments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_notifications_appointment_kind_key")
                    .table(Notifications::Table)
                    .col(Notifications::AppointmentId)
                    .col(Notifications::Kind)
                    .col(Notifications::Key)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(NotificationSettings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum NotificationSettings {
    Table,
    TenantId,
    Kind,
    Enabled,
    TemplateName,
    TemplateLanguage,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    TenantId,
    AppointmentId,
    Kind,
    Key,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
}
