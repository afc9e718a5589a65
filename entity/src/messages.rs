//! `messages`: what a conversation carries, in both directions. `wamid` is WhatsApp's id of the
//! message (unique); `content` holds the JSON of a type's other fields (media, location, a reply;
//! for an outbound message, what is sent).

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
    /// When WhatsApp says it was sent (inbound), or when it was queued (outbound).
    pub sent_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// CUSTOMER, BOT or STAFF.
    pub sent_by: String,
    /// The user who wrote a STAFF message.
    pub sent_by_user_id: Option<Uuid>,
    /// Meta's error code of a FAILED message (none for our own reasons, such as SKIPPED).
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
    /// Send attempts so far (outbound).
    pub attempts: i32,
    /// Set while a send is in flight: the claim that keeps a message from being sent twice.
    pub attempted_at: Option<DateTimeUtc>,
    /// When a turn answered this inbound message (or decided it needs no answer).
    pub handled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
