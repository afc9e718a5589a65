//! `ai_turns`: the AI assistant's memory, one row per answered turn: the turn's contents as the
//! model saw them (JSON array of Gemini `Content`s: the customer's text, each model turn verbatim,
//! each function response), and the reply it produced. Unique per (conversation, the turn's last
//! inbound message).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_turns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub conversation_id: Uuid,
    pub inbound_message_id: Uuid,
    pub contents: String,
    pub reply: String,
    pub needs_attention: bool,
    /// A size estimate of `contents` in tokens, for the history budget.
    pub estimated_tokens: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
