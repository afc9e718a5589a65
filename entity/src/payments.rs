//! `payments`: one row per provider payment (amounts in integer cents); see the payments domain.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// APPOINTMENT, SUBSCRIPTION or SAAS_FEE.
    pub purpose: String,
    pub appointment_id: Option<Uuid>,
    pub subscription_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    /// The appointment's service when the payment was made (finance groups by it).
    pub service_id: Option<Uuid>,
    /// MERCADO_PAGO or INFINITE_PAY.
    pub provider: String,
    pub status: String,
    pub status_detail: Option<String>,
    pub method: Option<String>,
    /// What is owed: the appointment's price snapshot.
    pub amount_cents: i64,
    /// What the provider says was paid.
    pub paid_amount_cents: Option<i64>,
    /// The seller's fees.
    pub fee_cents: Option<i64>,
    pub net_cents: Option<i64>,
    pub refunded_cents: i64,
    pub currency: String,
    /// Mercado Pago's payment id, or InfinitePay's `transaction_nsu`.
    pub external_id: Option<String>,
    /// Mercado Pago's preference id, or InfinitePay's link slug.
    pub checkout_id: Option<String>,
    pub checkout_url: Option<String>,
    pub link_expires_at: Option<DateTimeUtc>,
    /// When the link was sent after a WhatsApp booking (sent once, however often the job runs).
    pub link_sent_at: Option<DateTimeUtc>,
    /// The provider's last-update time of the state stored (a stale read never overwrites a newer).
    pub provider_updated_at: Option<DateTimeUtc>,
    pub needs_refund: bool,
    pub review_reason: Option<String>,
    pub approved_at: Option<DateTimeUtc>,
    /// When reports count it: `approved_at`, else `created_at`.
    pub reported_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
