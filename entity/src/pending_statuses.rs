//! `pending_statuses`: a delivery status Meta reported for a `wamid` no recorded send carries yet
//! (Meta's webhook can overtake our own write); applied and deleted when the send is recorded.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_statuses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub wamid: String,
    pub tenant_id: Uuid,
    /// SENT, DELIVERED, READ or FAILED: the furthest reported.
    pub status: String,
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
