//! `ai_usage`: one row per language-model call, with its token counts and the billing month
//! (`YYYY-MM` in the tenant's zone).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_usage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub conversation_id: Uuid,
    pub billing_month: String,
    pub model: String,
    pub prompt_tokens: i64,
    pub candidates_tokens: i64,
    pub thoughts_tokens: i64,
    pub cached_tokens: i64,
    pub total_tokens: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
