//! Finance reads of `payments`: the keyset pages of the payment list and the CSV export (the
//! summary's figures come from the rollup, `repo::days`).
//!
//! Invariants: every query is scoped by the tenant and reads only customers' payments (a
//! tenant's own SaaS fees, `PaymentPurpose::SaasFee`, are not its revenue).

use chrono::{DateTime, Utc};
use entity::payments;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::domains::payments::model::{
    Payment, PaymentMethod, PaymentProvider, PaymentPurpose, PaymentStatus,
};
use crate::kernel::{
    error::AppResult,
    ids::{CustomerId, TenantId},
    values::EnumStr,
};

/// Which payments a list reads: reported in `[from, to)`, and when not empty, in one of the
/// statuses, providers and methods given.
#[derive(Clone, Debug, Default)]
pub struct PaymentFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub statuses: Vec<PaymentStatus>,
    pub providers: Vec<PaymentProvider>,
    pub methods: Vec<PaymentMethod>,
    pub customer: Option<CustomerId>,
}

/// The order of a page: the dashboard lists the newest first, exports run in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    NewestFirst,
    OldestFirst,
}

/// The tenant's customer payments (never its own SaaS fees).
pub(super) fn customer_payments(tenant: TenantId) -> sea_orm::Select<payments::Entity> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant.0))
        .filter(payments::Column::Purpose.ne(PaymentPurpose::SaasFee.as_str()))
}

fn filtered(tenant: TenantId, filter: &PaymentFilter) -> sea_orm::Select<payments::Entity> {
    let mut query = customer_payments(tenant);
    if let Some(from) = filter.from {
        query = query.filter(payments::Column::ReportedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(payments::Column::ReportedAt.lt(to));
    }
    if !filter.statuses.is_empty() {
        query = query
            .filter(payments::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if !filter.providers.is_empty() {
        query = query
            .filter(payments::Column::Provider.is_in(filter.providers.iter().map(|p| p.as_str())));
    }
    if !filter.methods.is_empty() {
        query =
            query.filter(payments::Column::Method.is_in(filter.methods.iter().map(|m| m.as_str())));
    }
    if let Some(customer) = filter.customer {
        query = query.filter(payments::Column::CustomerId.eq(customer.0));
    }
    query
}

/// Past the keyset cursor `(reported_at, id)` in the page's direction.
fn past((at, id): (DateTime<Utc>, Uuid), direction: Direction) -> Condition {
    let (beyond_at, beyond_id) = match direction {
        Direction::NewestFirst => (
            payments::Column::ReportedAt.lt(at),
            payments::Column::Id.lt(id),
        ),
        Direction::OldestFirst => (
            payments::Column::ReportedAt.gt(at),
            payments::Column::Id.gt(id),
        ),
    };
    Condition::any().add(beyond_at).add(
        Condition::all()
            .add(payments::Column::ReportedAt.eq(at))
            .add(beyond_id),
    )
}

/// A page ordered by `(reported_at, id)` in `direction`, past the keyset cursor `after`; each
/// payment with its `reported_at` (the page's cursor).
pub async fn list_page(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &PaymentFilter,
    direction: Direction,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Vec<(DateTime<Utc>, Payment)>> {
    let mut query = filtered(tenant, filter);
    if let Some(after) = after {
        query = query.filter(past(after, direction));
    }
    let query = match direction {
        Direction::NewestFirst => query
            .order_by_desc(payments::Column::ReportedAt)
            .order_by_desc(payments::Column::Id),
        Direction::OldestFirst => query
            .order_by_asc(payments::Column::ReportedAt)
            .order_by_asc(payments::Column::Id),
    };
    query
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| Ok((row.reported_at, Payment::try_from(row)?)))
        .collect()
}

pub async fn count(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &PaymentFilter,
) -> Result<u64, DbErr> {
    filtered(tenant, filter).count(conn).await
}
