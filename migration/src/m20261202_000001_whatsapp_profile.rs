//! The WhatsApp number a tenant connected, as the Graph API reported it when the credentials were
//! checked, and the connection's state (CONNECTED, TOKEN_INVALID; NULL while disconnected).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000001_whatsapp_profile"
    }
}

const COLUMNS: [Tenants; 4] = [
    Tenants::WhatsappDisplayPhoneNumber,
    Tenants::WhatsappVerifiedName,
    Tenants::WhatsappQualityRating,
    Tenants::WhatsappStatus,
];

/// One column per ALTER TABLE: SQLite alters no more at once.
async fn alter_each(
    manager: &SchemaManager<'_>,
    change: impl Fn(&mut TableAlterStatement, Tenants) -> &mut TableAlterStatement,
) -> Result<(), DbErr> {
    for column in COLUMNS {
        let mut statement = Table::alter();
        statement.table(Tenants::Table);
        manager
            .alter_table(change(&mut statement, column).to_owned())
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter_each(manager, |table, column| {
            table.add_column(string_null(column))
        })
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter_each(manager, |table, column| table.drop_column(column)).await
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
