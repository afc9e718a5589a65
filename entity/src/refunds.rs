//! `refunds`: refunds asked of the provider; the id is the idempotency key sent with the request.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub payment_id: Uuid,
    /// NULL: the whole payment.
    pub amount_cents: Option<i64>,
    pub external_id: Option<String>,
    /// REQUESTED, DONE or FAILED.
    pub status: String,
    pub error_message: Option<String>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
