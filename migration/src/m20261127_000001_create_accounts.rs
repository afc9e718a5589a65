//! Accounts, tenants, SaaS plans, sessions and the transactional outbox.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000001_create_accounts"
    }
}

/// The nine plans the previous system seeded: (slug, name, interval, price in cents, description).
const DEFAULT_SAAS_PLANS: [(&str, &str, &str, i64, &str); 9] = [
    (
        "starter-monthly",
        "Starter",
        "MONTHLY",
        4_900,
        "Ideal para começar: até 100 agendamentos por mês",
    ),
    (
        "professional-monthly",
        "Professional",
        "MONTHLY",
        9_900,
        "Para negócios em crescimento: até 500 agendamentos por mês",
    ),
    (
        "enterprise-monthly",
        "Enterprise",
        "MONTHLY",
        19_900,
        "Para grandes operações: agendamentos ilimitados",
    ),
    (
        "starter-quarterly",
        "Starter",
        "QUARTERLY",
        12_900,
        "Ideal para começar: até 100 agendamentos por mês",
    ),
    (
        "professional-quarterly",
        "Professional",
        "QUARTERLY",
        26_900,
        "Para negócios em crescimento: até 500 agendamentos por mês",
    ),
    (
        "enterprise-quarterly",
        "Enterprise",
        "QUARTERLY",
        54_900,
        "Para grandes operações: agendamentos ilimitados",
    ),
    (
        "starter-yearly",
        "Starter",
        "YEARLY",
        46_900,
        "Ideal para começar: até 100 agendamentos por mês",
    ),
    (
        "professional-yearly",
        "Professional",
        "YEARLY",
        94_900,
        "Para negócios em crescimento: até 500 agendamentos por mês",
    ),
    (
        "enterprise-yearly",
        "Enterprise",
        "YEARLY",
        189_900,
        "Para grandes operações: agendamentos ilimitados",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SaasPlans::Table)
                    .col(pk_uuid(SaasPlans::Id))
                    .col(string_null(SaasPlans::Slug).unique_key())
                    .col(string(SaasPlans::Name))
                    .col(text_null(SaasPlans::Description))
                    .col(big_integer(SaasPlans::PriceCents))
                    .col(string(SaasPlans::Currency))
                    .col(string(SaasPlans::Interval))
                    .col(timestamp_with_time_zone_null(SaasPlans::ArchivedAt))
                    .col(timestamp_with_time_zone(SaasPlans::CreatedAt))
                    .col(timestamp_with_time_zone(SaasPlans::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(pk_uuid(Tenants::Id))
                    .col(string(Tenants::Name))
                    .col(string_uniq(Tenants::Phone))
                    .col(string_uniq(Tenants::Email))
                    .col(string(Tenants::TimeZone))
                    .col(uuid(Tenants::SaasPlanId))
                    .col(string(Tenants::SaasStatus))
                    .col(timestamp_with_time_zone_null(Tenants::SaasNextBilling))
                    .col(boolean(Tenants::AiEnabled))
                    .col(text_null(Tenants::AiCustomPrompt))
                    .col(string_null(Tenants::PreferredPaymentProvider))
                    .col(string_null(Tenants::InfinitePayTag))
                    .col(string_null(Tenants::WabaId).unique_key())
                    .col(string_null(Tenants::PhoneNumberId).unique_key())
                    .col(text_null(Tenants::WhatsappTokenEnc))
                    .col(text_null(Tenants::MpAccessTokenEnc))
                    .col(text_null(Tenants::MpRefreshTokenEnc))
                    .col(string_null(Tenants::MpPublicKey))
                    .col(string_null(Tenants::MpUserId))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tenants::Table, Tenants::SaasPlanId)
                            .to(SaasPlans::Table, SaasPlans::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(string_null(Users::PasswordHash))
                    .col(string(Users::Role))
                    .col(string_null(Users::Name))
                    .col(string_null(Users::AvatarUrl))
                    .col(string_null(Users::GoogleSub).unique_key())
                    .col(boolean(Users::EmailVerified))
                    .col(boolean(Users::IsActive))
                    .col(uuid_null(Users::TenantId))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_tenant")
                    .table(Users::Table)
                    .col(Users::TenantId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::UserId))
                    .col(uuid(RefreshTokens::FamilyId))
                    .col(string_uniq(RefreshTokens::TokenHash))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginCodes::Table)
                    .col(pk_uuid(LoginCodes::Id))
                    .col(uuid(LoginCodes::UserId))
                    .col(string_uniq(LoginCodes::CodeHash))
                    .col(timestamp_with_time_zone(LoginCodes::ExpiresAt))
                    .col(timestamp_with_time_zone_null(LoginCodes::UsedAt))
                    .col(timestamp_with_time_zone(LoginCodes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LoginCodes::Table, LoginCodes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OauthStates::Table)
                    .col(pk_uuid(OauthStates::Id))
                    .col(string_uniq(OauthStates::StateHash))
                    .col(string(OauthStates::Nonce))
                    .col(string(OauthStates::CodeVerifier))
                    .col(timestamp_with_time_zone(OauthStates::ExpiresAt))
                    .col(timestamp_with_time_zone(OauthStates::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailVerifications::Table)
                    .col(pk_uuid(EmailVerifications::Id))
                    .col(uuid(EmailVerifications::UserId))
                    .col(string(EmailVerifications::CodeHash))
                    .col(text(EmailVerifications::CodeEnc))
                    .col(integer(EmailVerifications::Attempts))
                    .col(timestamp_with_time_zone(EmailVerifications::ExpiresAt))
                    .col(timestamp_with_time_zone_null(
                        EmailVerifications::ConsumedAt,
                    ))
                    .col(timestamp_with_time_zone_null(EmailVerifications::SentAt))
                    .col(timestamp_with_time_zone(EmailVerifications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailVerifications::Table, EmailVerifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_verifications_user")
                    .table(EmailVerifications::Table)
                    .col(EmailVerifications::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(pk_uuid(Outbox::Id))
                    .col(string(Outbox::Queue))
                    .col(text(Outbox::Payload))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::DispatchedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_pending")
                    .table(Outbox::Table)
                    .col(Outbox::DispatchedAt)
                    .col(Outbox::CreatedAt)
                    .to_owned(),
            )
            .await?;

        seed_saas_plans(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Outbox::Table.into_iden(),
            EmailVerifications::Table.into_iden(),
            OauthStates::Table.into_iden(),
            LoginCodes::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
            SaasPlans::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn seed_saas_plans(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let now = chrono::Utc::now();
    let mut insert = Query::insert()
        .into_table(SaasPlans::Table)
        .columns([
            SaasPlans::Id,
            SaasPlans::Slug,
            SaasPlans::Name,
            SaasPlans::Description,
            SaasPlans::PriceCents,
            SaasPlans::Currency,
            SaasPlans::Interval,
            SaasPlans::CreatedAt,
            SaasPlans::UpdatedAt,
        ])
        .to_owned();
    for (slug, name, interval, cents, description) in DEFAULT_SAAS_PLANS {
        insert.values_panic([
            uuid::Uuid::now_v7().into(),
            slug.into(),
            name.into(),
            description.into(),
            cents.into(),
            "BRL".into(),
            interval.into(),
            now.into(),
            now.into(),
        ]);
    }
    manager.exec_stmt(insert).await
}

#[derive(DeriveIden)]
enum SaasPlans {
    Table,
    Id,
    Slug,
    Name,
    Description,
    PriceCents,
    Currency,
    Interval,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Phone,
    Email,
    TimeZone,
    SaasPlanId,
    SaasStatus,
    SaasNextBilling,
    AiEnabled,
    AiCustomPrompt,
    PreferredPaymentProvider,
    InfinitePayTag,
    WabaId,
    PhoneNumberId,
    WhatsappTokenEnc,
    MpAccessTokenEnc,
    MpRefreshTokenEnc,
    MpPublicKey,
    MpUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    Name,
    AvatarUrl,
    GoogleSub,
    EmailVerified,
    IsActive,
    TenantId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Id,
    StateHash,
    Nonce,
    CodeVerifier,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EmailVerifications {
    Table,
    Id,
    UserId,
    CodeHash,
    CodeEnc,
    Attempts,
    ExpiresAt,
    ConsumedAt,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Queue,
    Payload,
    CreatedAt,
    DispatchedAt,
}
