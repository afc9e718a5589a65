//! GraphQL surface of appointments, availability and the dashboard's figures.

use std::{collections::HashMap, hash::Hash, sync::Arc};

use async_graphql::{
    Context, ID, InputObject, Object, SimpleObject, Subscription, dataloader::Loader,
};
use chrono::{DateTime, FixedOffset, Utc};
use futures_util::{Stream, StreamExt, TryFutureExt};
use tokio::sync::OnceCell;
use tokio_stream::wrappers::BroadcastStream;

use super::{
    availability::Slot,
    model::{
        Appointment, AppointmentChanged, AppointmentEventKind, AppointmentStatus, ListFilter,
        Transition,
    },
    service::{self, DashboardStats, NewAppointment},
};
use crate::{
    domains::{
        customers::graphql::{CustomerLoader, CustomerNode, SubscriptionLoader, SubscriptionNode},
        payments::{
            self,
            model::{Payment, PaymentMethod, PaymentProvider, PaymentStatus},
        },
        services::graphql::{ServiceLoader, ServiceNode},
        tenants,
    },
    graphql::{
        inline::Inline,
        loaders::loader,
        pagination::{Cursor, PAGE_SIZE, Page, decode_keyset_cursor, page_with_cursors},
        scalars::{Money, Timestamp},
        viewer::{state, viewer},
    },
    kernel::{
        error::{AppError, AppResult},
        ids::{AppointmentId, CustomerId, ServiceId, SubscriptionId, TypedId},
        values::TimeZone,
        viewer::Viewer,
    },
    state::AppState,
    tenant_loader,
};

tenant_loader!(
    /// Loads appointments by id.
    AppointmentLoader: AppointmentId => Appointment, service::find_many
);

tenant_loader!(
    /// Loads the payment that stands for each appointment (an approved one, else the newest).
    AppointmentPaymentLoader: AppointmentId => Payment, payments::service::for_appointments
);

/// An appointment with the zone its times are shown in.
pub struct AppointmentNode {
    appointment: Appointment,
    zone: TimeZone,
    relations: Relations,
}

/// Where a node's relations come from.
enum Relations {
    /// The operation's loaders (a node on its own).
    Loaders,
    /// Loaded with the node's list, for all its nodes at once.
    Loaded(Related),
    /// Loaded on first use by any subscriber to the node's event, and shared by all of them.
    Event(Arc<EventAppointment>),
}

/// An appointment's relations, shared between the nodes of a page that point at the same row.
struct Related {
    customer: Option<Arc<Inline<CustomerNode>>>,
    service: Option<Arc<Inline<ServiceNode>>>,
    subscription: Option<Arc<Inline<SubscriptionNode>>>,
}

impl AppointmentNode {
    /// A node on its own (its relations from the operation's loaders).
    pub fn new(appointment: Appointment, zone: TimeZone) -> Self {
        Self {
            appointment,
            zone,
            relations: Relations::Loaders,
        }
    }

    fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.zone.0).fixed_offset()
    }

    /// One relation, from wherever this node's relations come from: its page, its event, or
    /// the operation's loader.
    async fn related<L, K, N>(
        &self,
        ctx: &Context<'_>,
        key: K,
        on_page: impl FnOnce(&Related) -> Option<Arc<Inline<N>>>,
        on_event: impl FnOnce(&EventAppointment) -> &OnceCell<Option<Arc<Inline<N>>>>,
        loader: impl FnOnce(AppState) -> L,
        node: impl FnOnce(L::Value) -> N,
    ) -> async_graphql::Result<Option<Arc<Inline<N>>>>
    where
        L: Loader<K, Error = Arc<AppError>>,
        K: Send + Sync + Clone + Eq + Hash + 'static,
    {
        match &self.relations {
            Relations::Loaded(related) => Ok(on_page(related)),
            Relations::Event(event) => {
                let cell = on_event(event);
                // Every subscriber but the first finds it loaded.
                if let Some(loaded) = cell.get() {
                    return Ok(loaded.clone());
                }
                // Boxed for the reason `load_related` is.
                Box::pin(shared_relation(cell, &event.state, loader, key, node)).await
            }
            Relations::Loaders => load_related::<L, _, _>(ctx, key, node).await,
        }
    }
}

/// A booking in the tenant's calendar. Times are RFC 3339 with the tenant's UTC offset.
#[Object(name = "Appointment")]
impl AppointmentNode {
    /// The appointment's id.
    async fn id(&self) -> ID {
        ID(self.appointment.id.to_string())
    }

    /// Start, RFC 3339 with the tenant's UTC offset.
    async fn starts_at(&self) -> Timestamp {
        Timestamp::from(self.local(self.appointment.starts_at))
    }

    /// Start plus the service's duration at booking time.
    async fn ends_at(&self) -> Timestamp {
        Timestamp::from(self.local(self.appointment.ends_at))
    }

    /// Where the appointment stands.
    async fn status(&self) -> AppointmentStatus {
        self.appointment.status
    }

    /// Price at booking time (zero when a subscription covers the service).
    async fn price(&self) -> Inline<Money> {
        Inline(self.appointment.price.into())
    }

    /// Who booked.
    async fn customer(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Arc<Inline<CustomerNode>>>> {
        let key = (self.appointment.tenant_id, self.appointment.customer_id);
        let on_page = |r: &Related| r.customer.clone();
        self.related(
            ctx,
            key,
            on_page,
            |e| &e.customer,
            CustomerLoader,
            CustomerNode::new,
        )
        .await
    }

    /// What was booked.
    async fn service(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Arc<Inline<ServiceNode>>>> {
        let key = (self.appointment.tenant_id, self.appointment.service_id);
        let on_page = |r: &Related| r.service.clone();
        self.related(
            ctx,
            key,
            on_page,
            |e| &e.service,
            ServiceLoader,
            ServiceNode,
        )
        .await
    }

    /// The subscription the booking used, if any.
    async fn subscription(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Arc<Inline<SubscriptionNode>>>> {
        let Some(id) = self.appointment.subscription_id else {
            return Ok(None);
        };
        let key = (self.appointment.tenant_id, id);
        let on_page = |r: &Related| r.subscription.clone();
        let node = SubscriptionNode::new;
        self.related(
            ctx,
            key,
            on_page,
            |e| &e.subscription,
            SubscriptionLoader,
            node,
        )
        .await
    }

    /// Notes for the business.
    async fn notes(&self) -> Option<&str> {
        self.appointment.notes.as_deref()
    }

    /// When it was confirmed, if it was.
    async fn confirmed_at(&self) -> Option<Timestamp> {
        self.appointment
            .confirmed_at
            .map(|t| self.local(t))
            .map(Timestamp::from)
    }

    /// When it was canceled, if it was.
    async fn canceled_at(&self) -> Option<Timestamp> {
        self.appointment
            .canceled_at
            .map(|t| self.local(t))
            .map(Timestamp::from)
    }

    /// Why it was canceled, when a reason was given.
    async fn cancellation_reason(&self) -> Option<&str> {
        self.appointment.cancellation_reason.as_deref()
    }

    /// When it was booked.
    async fn created_at(&self) -> Timestamp {
        Timestamp::from(self.local(self.appointment.created_at))
    }

    /// When it last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp::from(self.local(self.appointment.updated_at))
    }

    /// Its payment: an approved one, else the newest link (null: none was asked for). The full
    /// record, with fees and refunds, is `payment(id)`.
    async fn payment(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<AppointmentPayment>> {
        let key = (self.appointment.tenant_id, self.appointment.id);
        Ok(loader::<AppointmentPaymentLoader>(ctx)
            .load_one(key)
            .await
            .map_err(AppError::from)?
            .map(AppointmentPayment))
    }
}

/// The payment of an appointment, as the appointment book shows it.
pub struct AppointmentPayment(Payment);

/// The payment of an appointment.
#[Object]
impl AppointmentPayment {
    /// The payment's id (`payment(id)` has the full record).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Where the payment stands.
    async fn status(&self) -> PaymentStatus {
        self.0.status
    }

    /// Who takes it.
    async fn provider(&self) -> PaymentProvider {
        self.0.provider
    }

    /// How the customer paid (null until they did).
    async fn method(&self) -> Option<PaymentMethod> {
        self.0.method
    }

    /// What is owed.
    async fn amount(&self) -> Money {
        self.0.amount.into()
    }

    /// Where the customer pays, while the link is open.
    async fn checkout_url(&self) -> Option<&str> {
        self.0
            .status
            .is_open()
            .then_some(self.0.checkout_url.as_deref())
            .flatten()
    }

    /// Paid after the booking was canceled or expired: the business should refund it.
    async fn needs_refund(&self) -> bool {
        self.0.needs_refund
    }
}

/// A free interval for a service.
#[derive(SimpleObject)]
#[graphql(name = "Slot")]
pub struct SlotNode {
    /// Start, RFC 3339 with the tenant's UTC offset.
    pub starts_at: Timestamp,
    /// End (start plus the service's duration).
    pub ends_at: Timestamp,
}

impl SlotNode {
    fn new(slot: Slot, zone: TimeZone) -> Self {
        Self {
            starts_at: slot.starts_at.with_timezone(&zone.0).fixed_offset().into(),
            ends_at: slot.ends_at.with_timezone(&zone.0).fixed_offset().into(),
        }
    }
}

/// How many appointments have one status.
#[derive(SimpleObject)]
pub struct StatusCount {
    /// A status.
    pub status: AppointmentStatus,
    /// How many appointments in the range have it.
    pub count: u64,
}

/// Figures for the dashboard's home page.
#[derive(SimpleObject)]
#[graphql(name = "DashboardStats")]
pub struct DashboardStatsNode {
    /// Appointments today (tenant's zone), canceled ones excluded.
    pub appointments_today: u64,
    /// Appointments starting in the requested range, canceled ones excluded.
    pub appointments_in_range: u64,
    /// Appointments starting in the requested range, per status.
    pub appointments_by_status: Vec<StatusCount>,
    /// Customers holding an active subscription.
    pub active_subscribers: u64,
    /// All customers of the tenant.
    pub total_customers: u64,
    /// Sum of the prices of confirmed and completed appointments in the range.
    pub expected_revenue: Money,
}

impl From<DashboardStats> for DashboardStatsNode {
    fn from(stats: DashboardStats) -> Self {
        Self {
            appointments_today: stats.appointments_today,
            appointments_in_range: stats.appointments_in_range,
            appointments_by_status: stats
                .by_status
                .into_iter()
                .map(|(status, count)| StatusCount { status, count })
                .collect(),
            active_subscribers: stats.active_subscribers,
            total_customers: stats.total_customers,
            expected_revenue: stats.expected_revenue.into(),
        }
    }
}

/// Input of `createAppointment`.
#[derive(InputObject)]
pub struct CreateAppointmentInput {
    /// Who books.
    pub customer_id: ID,
    /// What is booked; it must be active.
    pub service_id: ID,
    /// RFC 3339 instant (any offset).
    pub starts_at: Timestamp,
    /// Book under this subscription: free when its plan covers the service, counted against the
    /// cycle's limit.
    pub subscription_id: Option<ID>,
    /// Notes for the business (up to 2000 characters).
    pub notes: Option<String>,
}

/// Filter of `appointments`.
#[derive(InputObject, Default)]
pub struct AppointmentFilter {
    /// Appointments starting at or after this instant.
    pub from: Option<Timestamp>,
    /// Appointments starting before this instant.
    pub to: Option<Timestamp>,
    /// Only appointments in these statuses (at most 100 items).
    #[graphql(validator(max_items = 100))]
    pub statuses: Option<Vec<AppointmentStatus>>,
    /// Only this customer's appointments.
    pub customer_id: Option<ID>,
    /// Only appointments of this service.
    pub service_id: Option<ID>,
}

/// A relation of a node outside a list, from its loader. The load is boxed: inline, its future
/// would size the walk of every `AppointmentNode`, which a page allocates for each row (see
/// `Inline`) although its rows never load a relation this way.
async fn load_related<L, K, N>(
    ctx: &Context<'_>,
    key: K,
    node: impl FnOnce(L::Value) -> N,
) -> async_graphql::Result<Option<Arc<Inline<N>>>>
where
    L: Loader<K, Error = Arc<AppError>>,
    K: Send + Sync + Clone + Eq + Hash + 'static,
{
    Ok(Box::pin(loader::<L>(ctx).load_one(key))
        .await
        .map_err(AppError::from)?
        .map(|value| Arc::new(Inline(node(value)))))
}

/// Nodes for a page: its customers, services and subscriptions are loaded in one batch each and
/// shared by the nodes that point at them, so a page costs the same statements whatever its length.
async fn page_nodes(
    ctx: &Context<'_>,
    appointments: Vec<Appointment>,
    zone: TimeZone,
) -> async_graphql::Result<Vec<(Cursor, AppointmentNode)>> {
    let customers = appointments.iter().map(|a| (a.tenant_id, a.customer_id));
    let services = appointments.iter().map(|a| (a.tenant_id, a.service_id));
    let subscriptions = appointments
        .iter()
        .filter_map(|a| Some((a.tenant_id, a.subscription_id?)));
    let (customers, services, subscriptions) = futures_util::join!(
        loader::<CustomerLoader>(ctx).load_many(customers),
        loader::<ServiceLoader>(ctx).load_many(services),
        loader::<SubscriptionLoader>(ctx).load_many(subscriptions),
    );
    let customers = shared(customers.map_err(AppError::from)?, |c| {
        Inline(CustomerNode::new(c))
    });
    let services = shared(services.map_err(AppError::from)?, |s| {
        Inline(ServiceNode(s))
    });
    let subscriptions = shared(subscriptions.map_err(AppError::from)?, |s| {
        Inline(SubscriptionNode::new(s))
    });
    Ok(appointments
        .into_iter()
        .map(|a| {
            let related = Related {
                customer: customers.get(&(a.tenant_id, a.customer_id)).cloned(),
                service: services.get(&(a.tenant_id, a.service_id)).cloned(),
                subscription: a
                    .subscription_id
                    .and_then(|id| subscriptions.get(&(a.tenant_id, id)).cloned()),
            };
            let cursor = Cursor::Keyset(a.starts_at, a.id.0);
            let node = AppointmentNode {
                appointment: a,
                zone,
                relations: Relations::Loaded(related),
            };
            (cursor, node)
        })
        .collect())
}

/// Wraps each loaded value into the node every row pointing at it shares.
fn shared<K: Eq + Hash, V, N>(loaded: HashMap<K, V>, node: impl Fn(V) -> N) -> HashMap<K, Arc<N>> {
    loaded
        .into_iter()
        .map(|(key, value)| (key, Arc::new(node(value))))
        .collect()
}

async fn tenant_zone(ctx: &Context<'_>) -> async_graphql::Result<TimeZone> {
    Ok(tenants::graphql::viewer_tenant(ctx).await?.time_zone)
}

#[derive(Default)]
pub struct AppointmentQuery;

#[Object]
impl AppointmentQuery {
    /// One appointment of the caller's tenant. Null (with the error) when it does not exist, so one lookup does not null the whole answer.
    async fn appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment's id.")] id: ID,
    ) -> async_graphql::Result<Option<AppointmentNode>> {
        let viewer = viewer(ctx)?;
        let appointment = service::find(state(ctx), &viewer, AppointmentId::parse(&id)?).await?;
        Ok(Some(AppointmentNode::new(
            appointment,
            tenant_zone(ctx).await?,
        )))
    }

    /// The caller's appointments ordered by start (up to 500 per page).
    async fn appointments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which appointments; all of the tenant's when omitted.")] filter: Option<
            AppointmentFilter,
        >,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last appointment of the previous page.")] after: Option<
            String,
        >,
    ) -> async_graphql::Result<Page<AppointmentNode>> {
        let viewer = viewer(ctx)?;
        let filter = filter.unwrap_or_default();
        let list_filter = ListFilter {
            from: filter.from.map(Timestamp::utc),
            to: filter.to.map(Timestamp::utc),
            // Each status once: the filter becomes one bound parameter per distinct status.
            statuses: filter.statuses.unwrap_or_default().into_iter().fold(
                Vec::new(),
                |mut distinct, status| {
                    if !distinct.contains(&status) {
                        distinct.push(status);
                    }
                    distinct
                },
            ),
            customer: filter
                .customer_id
                .as_ref()
                .map(|id| CustomerId::parse(id))
                .transpose()?,
            service: filter
                .service_id
                .as_ref()
                .map(|id| ServiceId::parse(id))
                .transpose()?,
        };
        let limit = PAGE_SIZE.parse(first)?;
        let after = after.as_deref().map(decode_keyset_cursor).transpose()?;
        let ((appointments, has_next, total), zone) = futures_util::try_join!(
            service::list(state(ctx), &viewer, &list_filter, after, limit)
                .err_into::<async_graphql::Error>(),
            tenant_zone(ctx),
        )?;
        let items = page_nodes(ctx, appointments, zone).await?;
        Ok(page_with_cursors(items, has_next, after.is_some(), total))
    }

    /// Free start times for a service in `[from, to)` (at most 62 days), honouring opening hours,
    /// closures, minimum notice, booking horizon and existing bookings. With `customerId`,
    /// subscriber-only hours are offered when that customer has an active subscription.
    async fn available_slots(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service to book (its duration sizes the slots).")] service_id: ID,
        #[graphql(desc = "Start of the window (inclusive).")] from: Timestamp,
        #[graphql(desc = "End of the window (exclusive); at most 62 days after `from`.")]
        to: Timestamp,
        #[graphql(
            desc = "The customer who books: subscriber-only hours count when they hold an active subscription."
        )]
        customer_id: Option<ID>,
    ) -> async_graphql::Result<Vec<SlotNode>> {
        let viewer = viewer(ctx)?;
        let customer = customer_id
            .as_ref()
            .map(|id| CustomerId::parse(id))
            .transpose()?;
        let service_id = ServiceId::parse(&service_id)?;
        let slots = service::available_slots(
            state(ctx),
            &viewer,
            service_id,
            from.utc(),
            to.utc(),
            customer,
        )
        .await?;
        let zone = tenant_zone(ctx).await?;
        Ok(slots.into_iter().map(|s| SlotNode::new(s, zone)).collect())
    }

    /// Figures for the dashboard over `[from, to)`.
    async fn dashboard_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the range (inclusive).")] from: Timestamp,
        #[graphql(desc = "End of the range (exclusive).")] to: Timestamp,
    ) -> async_graphql::Result<DashboardStatsNode> {
        let viewer = viewer(ctx)?;
        Ok(
            service::dashboard_stats(state(ctx), &viewer, from.utc(), to.utc())
                .await?
                .into(),
        )
    }
}

#[derive(Default)]
pub struct AppointmentMutation;

impl AppointmentMutation {
    async fn change(
        ctx: &Context<'_>,
        id: &ID,
        transition: Transition,
        reason: Option<String>,
    ) -> async_graphql::Result<AppointmentNode> {
        let viewer = viewer(ctx)?;
        let id = AppointmentId::parse(id)?;
        let appointment =
            service::change_status(state(ctx), &viewer, id, transition, reason).await?;
        Ok(AppointmentNode::new(appointment, tenant_zone(ctx).await?))
    }
}

#[Object]
impl AppointmentMutation {
    /// Books an appointment. A start in the past or outside opening hours is BAD_USER_INPUT; a
    /// taken interval is CONFLICT naming it in local time.
    async fn create_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The booking: customer, service, start and optional subscription.")] input: CreateAppointmentInput,
    ) -> async_graphql::Result<AppointmentNode> {
        let viewer = viewer(ctx)?;
        let request = NewAppointment {
            customer_id: CustomerId::parse(&input.customer_id)?,
            service_id: ServiceId::parse(&input.service_id)?,
            starts_at: input.starts_at.utc(),
            subscription_id: input
                .subscription_id
                .as_ref()
                .map(|id| SubscriptionId::parse(id))
                .transpose()?,
            notes: input.notes,
        };
        let appointment = service::create(state(ctx), &viewer, request).await?;
        Ok(AppointmentNode::new(appointment, tenant_zone(ctx).await?))
    }

    /// Moves a pending or confirmed appointment, keeping its duration.
    async fn reschedule_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment to move.")] id: ID,
        #[graphql(desc = "The new start; the duration stays the same.")] starts_at: Timestamp,
    ) -> async_graphql::Result<AppointmentNode> {
        let viewer = viewer(ctx)?;
        let id = AppointmentId::parse(&id)?;
        let appointment = service::reschedule(state(ctx), &viewer, id, starts_at.utc()).await?;
        Ok(AppointmentNode::new(appointment, tenant_zone(ctx).await?))
    }

    /// PENDING → CONFIRMED.
    async fn confirm_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment to confirm.")] id: ID,
    ) -> async_graphql::Result<AppointmentNode> {
        Self::change(ctx, &id, Transition::Confirm, None).await
    }

    /// PENDING or CONFIRMED → CANCELED, freeing the slot.
    async fn cancel_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment to cancel.")] id: ID,
        #[graphql(desc = "Why, as told by the business (up to 500 characters).")] reason: Option<
            String,
        >,
    ) -> async_graphql::Result<AppointmentNode> {
        Self::change(ctx, &id, Transition::Cancel, reason).await
    }

    /// CONFIRMED → COMPLETED.
    async fn complete_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment that took place.")] id: ID,
    ) -> async_graphql::Result<AppointmentNode> {
        Self::change(ctx, &id, Transition::Complete, None).await
    }

    /// CONFIRMED → NO_SHOW.
    async fn mark_no_show(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment the customer missed.")] id: ID,
    ) -> async_graphql::Result<AppointmentNode> {
        Self::change(ctx, &id, Transition::MarkNoShow, None).await
    }
}

/// A change in the caller's appointment book.
#[derive(SimpleObject)]
pub struct AppointmentEvent {
    /// What happened.
    pub kind: AppointmentEventKind,
    /// The appointment after the change.
    pub appointment: AppointmentNode,
}

#[derive(Default)]
pub struct AppointmentSubscription;

#[Subscription]
impl AppointmentSubscription {
    /// Changes to the caller's appointments, from any instance of the server.
    async fn appointment_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = AppointmentEvent> + use<>> {
        let viewer = viewer(ctx)?;
        let tenant_id = viewer.tenant()?;
        let state = state(ctx).clone();
        let zone = tenants::service::find(&state.db, tenant_id)
            .await?
            .time_zone;
        let events = BroadcastStream::new(state.broker.subscribe());
        Ok(events.filter_map(move |delivery| {
            let state = state.clone();
            async move {
                let delivery = delivery.ok()?;
                if delivery.event.tenant_id != Some(tenant_id) {
                    return None;
                }
                let AppointmentChanged {
                    kind,
                    appointment_id,
                } = delivery.event.payload()?;
                // Loaded once per instance, whatever the number of subscribers.
                let changed = delivery
                    .shared(|| event_appointment(&state, &viewer, appointment_id))
                    .await?;
                Some(AppointmentEvent {
                    kind,
                    appointment: AppointmentNode {
                        appointment: changed.appointment.clone(),
                        zone,
                        relations: Relations::Event(changed),
                    },
                })
            }
        }))
    }
}

/// The appointment an event names, shared by every subscriber on the instance, with the
/// relations any of them selects loaded once on first use.
struct EventAppointment {
    state: AppState,
    appointment: Appointment,
    customer: OnceCell<Option<Arc<Inline<CustomerNode>>>>,
    service: OnceCell<Option<Arc<Inline<ServiceNode>>>>,
    subscription: OnceCell<Option<Arc<Inline<SubscriptionNode>>>>,
}

async fn event_appointment(
    state: &AppState,
    viewer: &Viewer,
    id: AppointmentId,
) -> AppResult<EventAppointment> {
    Ok(EventAppointment {
        state: state.clone(),
        appointment: service::find(state, viewer, id).await?,
        customer: OnceCell::new(),
        service: OnceCell::new(),
        subscription: OnceCell::new(),
    })
}

/// An event's relation: the first subscriber to select it loads it, straight from the loader's
/// batch function (there is no request to cache it in), and the others share it.
async fn shared_relation<L, K, N>(
    cell: &OnceCell<Option<Arc<Inline<N>>>>,
    state: &AppState,
    loader: impl FnOnce(AppState) -> L,
    key: K,
    node: impl FnOnce(L::Value) -> N,
) -> async_graphql::Result<Option<Arc<Inline<N>>>>
where
    L: Loader<K, Error = Arc<AppError>>,
    K: Send + Sync + Clone + Eq + Hash + 'static,
{
    let load = async {
        let mut loaded = loader(state.clone())
            .load(std::slice::from_ref(&key))
            .await
            .map_err(AppError::from)?;
        Ok::<_, AppError>(
            loaded
                .remove(&key)
                .map(|value| Arc::new(Inline(node(value)))),
        )
    };
    Ok(cell.get_or_try_init(|| load).await?.clone())
}
