//! `payment_days`: the finance rollup, one row per (tenant, local date, status, provider, method,
//! service) of the tenant's customer payments, with their count and cent sums. `payments` is the
//! source of truth; the payments domain adjusts these rows in the transaction of every payment
//! write. The key has no NULL (a unique index would never match one): no method is `''`, no
//! service is the nil UUID.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// The local date in the tenant's time zone, as days since 1970-01-01.
    #[sea_orm(primary_key, auto_increment = false)]
    pub local_day: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider: String,
    /// `''` when the provider told no method.
    #[sea_orm(primary_key, auto_increment = false)]
    pub method: String,
    /// The nil UUID for payments of no service.
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: Uuid,
    /// How many payments.
    pub n: i64,
    /// Paid amounts (the amount owed where the provider told none).
    pub paid: i64,
    pub fees: i64,
    pub refunded: i64,
    /// Amounts owed (the price snapshots).
    pub owed: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
