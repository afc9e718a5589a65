//! The WhatsApp number a tenant connected, as the Graph API reported it when the credentials were
//! checked, and the connection's state (CONNECTED, TOKEN_INVALID; NULL while disconnected).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000001_whatsapp_profile"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Tenants::WhatsappDisplayPhoneNumber,
            Tenants::WhatsappVerifiedName,
            Tenants::WhatsappQualityRating,
            Tenants::WhatsappStatus,
        ] {
            // SQLite adds one column per ALTER TABLE.
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Tenants::WhatsappDisplayPhoneNumber,
            Tenants::WhatsappVerifiedName,
            Tenants::WhatsappQualityRating,
            Tenants::WhatsappStatus,
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

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    WhatsappDisplayPhoneNumber,
    WhatsappVerifiedName,
    WhatsappQualityRating,
    WhatsappStatus,
}
