//! `payment_notifications`: provider webhooks, each stored once per (provider, topic, resource id,
//! action) with the job that reconciles it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub topic: String,
    pub resource_id: String,
    /// Mercado Pago's `action` (or `type` when absent); InfinitePay's `transaction_nsu`.
    pub action: String,
    /// The tenant whose account it names, when known.
    pub tenant_id: Option<Uuid>,
    /// Mercado Pago's `user_id` (the collector).
    pub account_user_id: Option<String>,
    pub body: String,
    pub outcome: Option<String>,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
