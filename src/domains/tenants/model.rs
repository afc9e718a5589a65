//! Tenant types.

use async_graphql::Enum;
use chrono::{DateTime, Utc};

use crate::kernel::{
    error::AppError,
    events::EventPayload,
    ids::{SaasPlanId, TenantId},
    values::{EnumStr, TimeZone},
};

/// State of the tenant's SaaS subscription.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum SaasStatus {
    /// Onboarded, first payment not confirmed yet.
    Pending,
    /// Paid and current.
    Active,
    /// A charge failed; the provider is retrying.
    PastDue,
    /// Subscription canceled.
    Canceled,
}

impl SaasStatus {}

/// Provider used for customers' appointment payments.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentProvider {
    /// Mercado Pago (the tenant's own account, connected by OAuth).
    MercadoPago,
    /// InfinitePay (checkout links under the tenant's InfiniteTag).
    InfinitePay,
}

impl PaymentProvider {}

/// Where the tenant's WhatsApp connection stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[graphql(name = "WhatsAppStatus")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum WhatsAppStatus {
    /// Credentials checked with Meta and in use.
    Connected,
    /// Meta refused the stored token (code 190): the owner must connect again.
    TokenInvalid,
    /// No credentials stored.
    Disconnected,
}

/// Where the tenant's Mercado Pago connection stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum MercadoPagoStatus {
    /// Authorized by OAuth; its tokens are in use and renewed before they expire.
    Connected,
    /// Mercado Pago refused to renew the tokens: the owner must connect again.
    Disconnected,
}

/// Who answers the tenant's customers on WhatsApp.
#[derive(
    Enum, Clone, Copy, Debug, Default, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString,
)]
#[graphql(name = "BotMode")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum BotMode {
    /// The AI assistant; the guided menu answers whatever it cannot (no `GEMINI_API_KEY`, the
    /// model unavailable, the plan's monthly quota used up).
    #[default]
    Ai,
    /// The guided menu.
    Menu,
    /// Nobody: messages are only stored for the business to answer.
    Off,
}

/// How long the bot stays quiet in a conversation after a person of the business writes in it.
pub const DEFAULT_HUMAN_TAKEOVER_HOURS: i32 = 12;

/// Live event: the tenant's profile or settings changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantChanged;

impl EventPayload for TenantChanged {
    const KIND: &'static str = "tenant.changed";
}

/// A new tenant, validated.
pub struct NewTenantRow {
    pub name: String,
    /// E.164.
    pub phone: String,
    pub email: String,
    pub time_zone: TimeZone,
    pub saas_plan_id: SaasPlanId,
}

/// The WhatsApp Cloud API connection of a tenant, its token encrypted (none: the platform's
/// `WABA_TOKEN` speaks for it), with the number as the Graph API described it when the
/// credentials were checked.
pub struct WhatsAppConnection {
    pub waba_id: String,
    pub phone_number_id: String,
    pub token_enc: Option<String>,
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    pub quality_rating: Option<String>,
}

/// The tenant's Mercado Pago account as OAuth gave it, tokens encrypted.
pub struct MercadoPagoConnection {
    pub user_id: String,
    pub access_token_enc: String,
    pub refresh_token_enc: Option<String>,
    pub public_key: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What acting on the tenant's Mercado Pago account takes: the decrypted tokens. They never leave
/// the server.
pub struct MercadoPagoAccount {
    pub tenant: TenantId,
    /// Mercado Pago's id of the account (the `user_id` of its notifications).
    pub user_id: String,
    pub access_token: secrecy::SecretString,
    pub refresh_token: Option<secrecy::SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What acting on the tenant's WhatsApp number takes: its id and the decrypted token. It never
/// leaves the server.
pub struct WhatsAppSender {
    pub phone_number_id: String,
    pub token: secrecy::SecretString,
}

/// A validated change of a tenant row; `None` leaves a column as it is, `Some(None)` clears it.
#[derive(Default)]
pub struct TenantUpdate {
    pub name: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub time_zone: Option<TimeZone>,
    pub ai_enabled: Option<bool>,
    pub ai_custom_prompt: Option<Option<String>>,
    pub ai_require_email: Option<bool>,
    pub preferred_payment_provider: Option<Option<PaymentProvider>>,
    pub infinite_pay_tag: Option<Option<String>>,
    pub slot_step_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub booking_horizon_days: Option<i32>,
    pub unpaid_hold_minutes: Option<Option<i32>>,
    pub bot_mode: Option<BotMode>,
    pub human_takeover_hours: Option<i32>,
    pub whatsapp: Option<Option<WhatsAppConnection>>,
    pub mercado_pago: Option<Option<MercadoPagoConnection>>,
    pub cancel_on_refund: Option<bool>,
    pub updated_at: DateTime<Utc>,
}

/// A tenant as the rest of the application sees it (no secrets, only whether they exist).
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub time_zone: TimeZone,
    pub saas_plan_id: SaasPlanId,
    pub saas_status: SaasStatus,
    pub saas_next_billing: Option<DateTime<Utc>>,
    pub ai_enabled: bool,
    pub ai_custom_prompt: Option<String>,
    /// The AI books only for customers with an e-mail.
    pub ai_require_email: bool,
    /// The billing month (`YYYY-MM`) in which the AI token quota was reached.
    pub ai_quota_reached_month: Option<String>,
    pub preferred_payment_provider: Option<PaymentProvider>,
    pub infinite_pay_tag: Option<String>,
    pub whatsapp_phone_number_id: Option<String>,
    pub whatsapp_connected: bool,
    pub whatsapp_status: WhatsAppStatus,
    pub whatsapp_display_phone_number: Option<String>,
    pub whatsapp_verified_name: Option<String>,
    pub whatsapp_quality_rating: Option<String>,
    /// Connected and not refused (its tokens can be used).
    pub mercado_pago_connected: bool,
    /// `None` when never connected.
    pub mercado_pago_status: Option<MercadoPagoStatus>,
    /// A refunded or charged-back payment cancels its future booking.
    pub cancel_on_refund: bool,
    pub scheduling: SchedulingSettings,
    pub bot_mode: BotMode,
    /// 1 to 168.
    pub human_takeover_hours: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<entity::tenants::Model> for Tenant {
    type Error = AppError;

    fn try_from(m: entity::tenants::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: TenantId(m.id),
            time_zone: TimeZone::parse(&m.time_zone).unwrap_or(TimeZone::DEFAULT),
            saas_status: SaasStatus::parse_stored(&m.saas_status)?,
            preferred_payment_provider: m
                .preferred_payment_provider
                .as_deref()
                .map(PaymentProvider::parse_stored)
                .transpose()?,
            whatsapp_connected: m.phone_number_id.is_some(),
            whatsapp_status: match (&m.phone_number_id, m.whatsapp_status.as_deref()) {
                (None, _) => WhatsAppStatus::Disconnected,
                (Some(_), Some(stored)) => WhatsAppStatus::parse_stored(stored)?,
                // Connected before the status was recorded.
                (Some(_), None) => WhatsAppStatus::Connected,
            },
            bot_mode: BotMode::parse_stored(&m.bot_mode)?,
            human_takeover_hours: m.human_takeover_hours,
            whatsapp_display_phone_number: m.whatsapp_display_phone_number,
            whatsapp_verified_name: m.whatsapp_verified_name,
            whatsapp_quality_rating: m.whatsapp_quality_rating,
            mercado_pago_status: match (&m.mp_access_token_enc, m.mp_status.as_deref()) {
                (None, _) => None,
                (Some(_), Some(stored)) => Some(MercadoPagoStatus::parse_stored(stored)?),
                (Some(_), None) => Some(MercadoPagoStatus::Connected),
            },
            mercado_pago_connected: m.mp_access_token_enc.is_some()
                && m.mp_status.as_deref() != Some(MercadoPagoStatus::Disconnected.as_str()),
            cancel_on_refund: m.cancel_on_refund,
            name: m.name,
            phone: m.phone,
            email: m.email,
            saas_plan_id: SaasPlanId(m.saas_plan_id),
            saas_next_billing: m.saas_next_billing,
            ai_enabled: m.ai_enabled,
            ai_custom_prompt: m.ai_custom_prompt,
            ai_require_email: m.ai_require_email,
            ai_quota_reached_month: m.ai_quota_reached_month,
            infinite_pay_tag: m.infinite_pay_tag,
            whatsapp_phone_number_id: m.phone_number_id,
            scheduling: SchedulingSettings {
                slot_step_minutes: m.slot_step_minutes,
                min_notice_minutes: m.min_notice_minutes,
                booking_horizon_days: m.booking_horizon_days,
                unpaid_hold_minutes: m.unpaid_hold_minutes,
            },
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// How a tenant's calendar takes bookings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedulingSettings {
    /// Distance between offered start times.
    pub slot_step_minutes: i32,
    /// How long before a start time booking closes.
    pub min_notice_minutes: i32,
    /// How far ahead customers may book.
    pub booking_horizon_days: i32,
    /// How long an unpaid PENDING booking holds its slot; `None`: bookings do not wait for payment.
    pub unpaid_hold_minutes: Option<i32>,
}

/// A business name: 2 to 120 characters after trimming.
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let length = name.chars().count();
    if !(2..=120).contains(&length) {
        return Err(AppError::bad_input(
            "name",
            "O nome deve ter entre 2 e 120 caracteres",
        ));
    }
    Ok(name.to_owned())
}

/// An InfinitePay handle (InfiniteTag): letters, digits, `_`, `-`, `.`, optional leading `$`.
pub fn parse_infinite_pay_tag(raw: Option<String>) -> Result<Option<String>, AppError> {
    let Some(tag) = raw
        .map(|t| t.trim().trim_start_matches('$').to_owned())
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let valid = tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !valid {
        return Err(AppError::bad_input(
            "infinitePayTag",
            "invalid InfinitePay handle",
        ));
    }
    Ok(Some(tag))
}
