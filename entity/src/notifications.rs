//! `notifications`: one row per notice sent about an appointment, unique per (appointment, kind,
//! key): the guarantee that each goes out at most once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub appointment_id: Uuid,
    pub kind: String,
    /// Empty for kinds sent once; the new start time (Unix seconds) of a reschedule.
    pub key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
