//! `conversations`: one per (tenant, customer), the thread of their WhatsApp messages.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    /// The customer's last message: it opens WhatsApp's 24-hour window.
    pub last_inbound_at: Option<DateTimeUtc>,
    pub last_message_at: DateTimeUtc,
    /// The latest message (by when it was written).
    pub last_message_id: Option<Uuid>,
    /// Customer messages the business has not read.
    pub unread_count: i32,
    /// The customer asked for a person, or the bot could not help.
    pub needs_attention: bool,
    /// The bot stays quiet until then (a person of the business took over).
    pub bot_paused_until: Option<DateTimeUtc>,
    /// The customer sent PARAR (or the like): no reminders or notices.
    pub notifications_off: bool,
    /// Where the customer is in the guided menu (JSON).
    pub menu_state: Option<String>,
    /// Set while a turn answers the customer's messages: one turn at a time.
    pub turn_started_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
