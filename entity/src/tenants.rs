//! `tenants`: the businesses using the product. `*_enc` columns hold AES-256-GCM ciphertexts.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(unique)]
    pub phone: String,
    #[sea_orm(unique)]
    pub email: String,
    pub time_zone: String,
    pub saas_plan_id: Uuid,
    pub saas_status: String,
    pub saas_next_billing: Option<DateTimeUtc>,
    pub ai_enabled: bool,
    pub ai_custom_prompt: Option<String>,
    /// The AI books only for a customer with an e-mail.
    pub ai_require_email: bool,
    /// The billing month (`YYYY-MM`) whose AI token quota was reached and announced.
    pub ai_quota_reached_month: Option<String>,
    pub preferred_payment_provider: Option<String>,
    pub infinite_pay_tag: Option<String>,
    #[sea_orm(unique)]
    pub waba_id: Option<String>,
    #[sea_orm(unique)]
    pub phone_number_id: Option<String>,
    pub whatsapp_token_enc: Option<String>,
    pub whatsapp_display_phone_number: Option<String>,
    pub whatsapp_verified_name: Option<String>,
    pub whatsapp_quality_rating: Option<String>,
    /// CONNECTED or TOKEN_INVALID; NULL while disconnected.
    pub whatsapp_status: Option<String>,
    pub mp_access_token_enc: Option<String>,
    pub mp_refresh_token_enc: Option<String>,
    pub mp_public_key: Option<String>,
    pub mp_user_id: Option<String>,
    pub mp_token_expires_at: Option<DateTimeUtc>,
    /// An instance is renewing the tokens until then (the refresh token rotates: one at a time).
    pub mp_refresh_claimed_until: Option<DateTimeUtc>,
    /// CONNECTED, or DISCONNECTED once a refresh was refused; NULL when never connected.
    pub mp_status: Option<String>,
    /// A refunded or charged-back payment cancels its future booking.
    pub cancel_on_refund: bool,
    pub slot_step_minutes: i32,
    pub min_notice_minutes: i32,
    pub booking_horizon_days: i32,
    pub unpaid_hold_minutes: Option<i32>,
    /// AI, MENU or OFF.
    pub bot_mode: String,
    pub human_takeover_hours: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
