//! `notification_settings`: a tenant's switch and template for one kind of customer notice; a
//! kind without a row is on, without a template.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// BOOKING_CONFIRMED, RESCHEDULED, CANCELED, REMINDER_24H or REMINDER_2H.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    pub enabled: bool,
    /// The approved template sent outside WhatsApp's 24-hour window.
    pub template_name: Option<String>,
    pub template_language: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
