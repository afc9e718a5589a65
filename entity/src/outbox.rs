//! `outbox`: jobs written in the same transaction as the state that needs them, not pushed to the
//! job queue yet; the dispatcher deletes a row once it has pushed it. A row with `available_at`
//! is held until then: the process that wrote it runs the job itself and deletes the row.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub queue: String,
    pub payload: String,
    pub created_at: DateTimeUtc,
    pub available_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
