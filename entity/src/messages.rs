//! `messages`: what a conversation carries, in both directions. `wamid` is WhatsApp's id of the
//! message (unique); `content` holds the JSON of a type's other fields (media, location, a reply).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub conversation_id: Uuid,
    /// INBOUND or OUTBOUND.
    pub direction: String,
    /// TEXT, BUTTON_REPLY, LIST_REPLY, IMAGE, …, UNSUPPORTED.
    pub kind: String,
    #[sea_orm(unique)]
    pub wamid: Option<String>,
    pub body: Option<String>,
    pub content: Option<String>,
    /// The `wamid` this message replies to.
    pub reply_to: Option<String>,
    pub status: String,
    /// When WhatsApp says it was sent.
    pub sent_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
