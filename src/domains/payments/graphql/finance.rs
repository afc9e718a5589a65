//! The finance page's GraphQL surface: `financeSummary(from, to)` and the `payments` connection
//! (each node's appointment and customer loaded once for the whole page).

use async_graphql::{Context, ID, InputObject, Object};
use futures_util::TryFutureExt;

use super::PaymentNode;
use crate::{
    domains::{
        appointments::graphql::AppointmentLoader,
        customers::graphql::CustomerLoader,
        payments::{
            finance::{
                self, DayFigures, FinanceSummary, PaymentFilter, Period, Share, StatusFigures,
            },
            model::{PaymentMethod, PaymentProvider, PaymentStatus},
        },
        services::graphql::{ServiceLoader, ServiceNode},
        tenants,
    },
    graphql::{
        loaders::loader,
        pagination::{Cursor, PAGE_SIZE, Page, decode_keyset_cursor, page_with_cursors},
        scalars::{Date, Money},
        viewer::{state, viewer},
    },
    kernel::{
        error::AppError,
        ids::{CustomerId, TypedId},
    },
};

pub struct FinanceSummaryNode(FinanceSummary);

/// The finance figures of a period of the business's local dates. A payment counts on the local
/// date it was approved, or created when it never was. Only customers' payments count (never the
/// business's own platform fees). *Received* payments are those whose money arrived:
/// APPROVED, PARTIALLY_REFUNDED and IN_MEDIATION, and REFUNDED and CHARGED_BACK (received, then
/// returned).
#[Object(name = "FinanceSummary")]
impl FinanceSummaryNode {
    /// The first date of the period.
    async fn from(&self) -> Date {
        Date(self.0.period.from)
    }

    /// The last date of the period (inclusive).
    async fn to(&self) -> Date {
        Date(self.0.period.to)
    }

    /// Money received: the paid amounts of received payments (refunds are not subtracted here;
    /// see `refunded` and `net`).
    async fn gross(&self) -> Money {
        self.0.gross.into()
    }

    /// The providers' fees on received payments.
    async fn fees(&self) -> Money {
        self.0.fees.into()
    }

    /// Money returned to customers: the whole paid amount of REFUNDED and CHARGED_BACK
    /// payments, the refunded part of the others.
    async fn refunded(&self) -> Money {
        self.0.refunded.into()
    }

    /// What the business keeps: `gross − fees − refunded`.
    async fn net(&self) -> Money {
        self.0.net.into()
    }

    /// The amounts of payments still open (PENDING, AUTHORIZED, IN_PROCESS) in the period.
    async fn pending(&self) -> Money {
        self.0.pending.into()
    }

    /// How many payments were received.
    async fn count(&self) -> u64 {
        self.0.count
    }

    /// `gross / count`, to the nearest cent (zero without payments).
    async fn average_ticket(&self) -> Money {
        self.0.average_ticket.into()
    }

    /// Every payment status with its count and the amounts owed, zeros included.
    async fn by_status(&self) -> Vec<FinanceStatusNode> {
        self.0
            .by_status
            .iter()
            .copied()
            .map(FinanceStatusNode)
            .collect()
    }

    /// Every date of the period in order, zeros included.
    async fn by_day(&self) -> Vec<FinanceDayNode> {
        self.0.by_day.iter().copied().map(FinanceDayNode).collect()
    }

    /// Received payments per service (the appointment's service when the payment was made),
    /// largest gross first.
    async fn by_service(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<FinanceServiceNode>> {
        let tenant = viewer(ctx)?.tenant()?;
        let ids = self
            .0
            .by_service
            .iter()
            .filter_map(|(id, _)| Some((tenant, (*id)?)));
        // One batch for every row's service.
        let mut services = loader::<ServiceLoader>(ctx)
            .load_many(ids)
            .await
            .map_err(AppError::from)?;
        Ok(self
            .0
            .by_service
            .iter()
            .map(|(id, share)| FinanceServiceNode {
                service: id
                    .and_then(|id| services.remove(&(tenant, id)))
                    .map(ServiceNode),
                share: *share,
            })
            .collect())
    }

    /// Received payments per method (one the provider did not tell counts as OTHER), largest
    /// gross first.
    async fn by_method(&self) -> Vec<FinanceMethodNode> {
        self.0
            .by_method
            .iter()
            .map(|(method, share)| FinanceMethodNode(*method, *share))
            .collect()
    }

    /// Received payments per provider, largest gross first.
    async fn by_provider(&self) -> Vec<FinanceProviderNode> {
        self.0
            .by_provider
            .iter()
            .map(|(provider, share)| FinanceProviderNode(*provider, *share))
            .collect()
    }
}

pub struct FinanceStatusNode(StatusFigures);

/// The payments of one status in a finance period.
#[Object(name = "FinanceStatus")]
impl FinanceStatusNode {
    /// The status.
    async fn status(&self) -> PaymentStatus {
        self.0.status
    }

    /// How many payments are in it.
    async fn count(&self) -> u64 {
        self.0.count
    }

    /// What these payments owe (their amounts, paid or not).
    async fn amount(&self) -> Money {
        self.0.amount.into()
    }
}

pub struct FinanceDayNode(DayFigures);

/// The figures of one local date of a finance period.
#[Object(name = "FinanceDay")]
impl FinanceDayNode {
    /// The local date.
    async fn date(&self) -> Date {
        Date(self.0.date)
    }

    /// Money received that day.
    async fn gross(&self) -> Money {
        self.0.gross.into()
    }

    /// What the business keeps of it: gross − fees − refunded.
    async fn net(&self) -> Money {
        self.0.net.into()
    }

    /// How many payments were received that day.
    async fn count(&self) -> u64 {
        self.0.count
    }
}

pub struct FinanceServiceNode {
    service: Option<ServiceNode>,
    share: Share,
}

/// Received payments of one service in a finance period.
#[Object(name = "FinanceService")]
impl FinanceServiceNode {
    /// The service; null for payments for no service (plan subscriptions).
    async fn service(&self) -> Option<&ServiceNode> {
        self.service.as_ref()
    }

    /// Money received for it.
    async fn gross(&self) -> Money {
        self.share.gross.into()
    }

    /// How many payments were received for it.
    async fn count(&self) -> u64 {
        self.share.count
    }
}

pub struct FinanceMethodNode(PaymentMethod, Share);

/// Received payments of one method in a finance period.
#[Object(name = "FinanceMethod")]
impl FinanceMethodNode {
    /// How the customers paid.
    async fn method(&self) -> PaymentMethod {
        self.0
    }

    /// Money received this way.
    async fn gross(&self) -> Money {
        self.1.gross.into()
    }

    /// How many payments were received this way.
    async fn count(&self) -> u64 {
        self.1.count
    }
}

pub struct FinanceProviderNode(PaymentProvider, Share);

/// Received payments of one provider in a finance period.
#[Object(name = "FinanceProvider")]
impl FinanceProviderNode {
    /// Who took the payments.
    async fn provider(&self) -> PaymentProvider {
        self.0
    }

    /// Money received through it.
    async fn gross(&self) -> Money {
        self.1.gross.into()
    }

    /// How many payments were received through it.
    async fn count(&self) -> u64 {
        self.1.count
    }
}

/// Filter of `payments`.
#[derive(InputObject, Default)]
#[graphql(name = "PaymentFilter")]
pub struct PaymentFilterInput {
    /// Payments counted on this local date or later (approved, or created when never approved).
    pub from: Option<Date>,
    /// Payments counted on this local date or earlier.
    pub to: Option<Date>,
    /// Only payments in these statuses (at most 100 items).
    #[graphql(validator(max_items = 100))]
    pub statuses: Option<Vec<PaymentStatus>>,
    /// Only payments through these providers (at most 100 items).
    #[graphql(validator(max_items = 100))]
    pub providers: Option<Vec<PaymentProvider>>,
    /// Only payments made these ways (at most 100 items).
    #[graphql(validator(max_items = 100))]
    pub methods: Option<Vec<PaymentMethod>>,
    /// Only this customer's payments.
    pub customer_id: Option<ID>,
}

/// Each value once: a filter becomes one bound parameter per distinct value.
fn distinct<T: PartialEq>(values: Option<Vec<T>>) -> Vec<T> {
    values
        .unwrap_or_default()
        .into_iter()
        .fold(Vec::new(), |mut distinct, value| {
            if !distinct.contains(&value) {
                distinct.push(value);
            }
            distinct
        })
}

#[derive(Default)]
pub struct FinanceQuery;

/// The finance page: its figures and the payment list.
#[Object]
impl FinanceQuery {
    /// The finance figures of the caller's business over the local dates `from` through `to`
    /// (inclusive, the business's time zone, at most 366 days): money received, fees, refunds,
    /// net, pending, counts, the average ticket, a series of every day, and breakdowns by status,
    /// service, method and provider.
    async fn finance_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first local date.")] from: Date,
        #[graphql(desc = "The last local date (inclusive), at most 365 days after `from`.")]
        to: Date,
    ) -> async_graphql::Result<FinanceSummaryNode> {
        let viewer = viewer(ctx)?;
        let period = Period::parse(from.0, to.0)?;
        Ok(FinanceSummaryNode(
            finance::summary(state(ctx), &viewer, period).await?,
        ))
    }

    /// The caller's customers' payments, newest first (by the instant they count on: approved,
    /// or created when never approved), up to 500 per page.
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which payments; all of the business's when omitted.")] filter: Option<
            PaymentFilterInput,
        >,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last payment of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Page<PaymentNode>> {
        let viewer = viewer(ctx)?;
        let filter = filter.unwrap_or_default();
        let zone = tenants::graphql::viewer_tenant(ctx).await?.time_zone;
        let (from, to) =
            finance::date_bounds(zone, filter.from.map(|d| d.0), filter.to.map(|d| d.0));
        let list_filter = PaymentFilter {
            from,
            to,
            statuses: distinct(filter.statuses),
            providers: distinct(filter.providers),
            methods: distinct(filter.methods),
            customer: filter
                .customer_id
                .as_ref()
                .map(|id| CustomerId::parse(id))
                .transpose()?,
        };
        let limit = PAGE_SIZE.parse(first)?;
        let after = after.as_deref().map(decode_keyset_cursor).transpose()?;
        let (payments, has_next, total) =
            finance::list(state(ctx), &viewer, &list_filter, after, limit).await?;
        // The page's appointments and customers in one batch each, so its nodes find them in
        // the loaders' caches: the page costs the same statements whatever its length.
        let appointments = payments
            .iter()
            .filter_map(|(_, p)| Some((p.tenant, p.appointment?)));
        let customers = payments
            .iter()
            .filter_map(|(_, p)| Some((p.tenant, p.customer?)));
        futures_util::try_join!(
            loader::<AppointmentLoader>(ctx)
                .load_many(appointments)
                .map_err(AppError::from),
            loader::<CustomerLoader>(ctx)
                .load_many(customers)
                .map_err(AppError::from),
        )?;
        let items = payments
            .into_iter()
            .map(|(reported_at, payment)| {
                let cursor = Cursor::Keyset(reported_at, payment.id.0);
                (cursor, PaymentNode { payment, zone })
            })
            .collect();
        Ok(page_with_cursors(items, has_next, after.is_some(), total))
    }
}
