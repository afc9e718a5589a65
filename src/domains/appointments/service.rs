//! Booking rules, the status machine, availability and dashboard figures.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::TryFutureExt;
use sea_orm::DbErr;
use uuid::Uuid;

use super::{
    availability::{self, Slot, SlotQuery},
    model::{
        Appointment, AppointmentChanged, AppointmentEventKind, AppointmentNotice,
        AppointmentStatus, ListFilter, NewAppointmentRow, Origin, Transition,
    },
    repo,
};
use crate::{
    db,
    domains::{
        customers::{
            self,
            model::{Subscription, SubscriptionStatus},
        },
        operating_hours,
        plans::{self, model::Plan},
        services,
        tenants::{self, model::Tenant},
    },
    kernel::{
        error::{AppError, AppResult},
        events::Event,
        ids::{AppointmentId, CustomerId, ServiceId, SubscriptionId, TenantId},
        values::{MoneyCents, MoneySum, TimeZone, parse_optional_text},
        viewer::Viewer,
    },
    state::AppState,
};

const HAS_FUTURE_APPOINTMENTS: &str =
    "Este cliente possui agendamentos futuros e não pode ser excluído";

/// Reason recorded on bookings canceled by the unpaid-hold expiry.
pub const UNPAID_REASON: &str = "payment not approved";
/// Longest window `availableSlots` searches at once.
const MAX_SLOT_WINDOW_DAYS: i64 = 62;

/// A booking request (from the dashboard, or the customer on WhatsApp).
#[derive(Clone)]
pub struct NewAppointment {
    pub customer_id: CustomerId,
    pub service_id: ServiceId,
    pub starts_at: DateTime<Utc>,
    pub subscription_id: Option<SubscriptionId>,
    pub notes: Option<String>,
}

/// Books an appointment: checks the start, the customer, the service, the subscription and its
/// cycle limit, the opening hours, then inserts under the no-overlap guarantee.
pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    input: NewAppointment,
) -> AppResult<Appointment> {
    book(state, viewer.tenant()?, input, Origin::Business).await
}

/// Books for a customer of `tenant`, as the customer themself does on WhatsApp: the rules of
/// [`create`], with the customer's active subscription applied when its plan covers the service
/// and its cycle has room (else the booking is paid). Idempotent: when the customer already
/// holds this very slot for this service (a WhatsApp turn that booked, then stopped before its
/// reply was stored, and runs again), that booking is the answer, not a CONFLICT.
pub async fn book_for_customer(
    state: &AppState,
    tenant: TenantId,
    customer: CustomerId,
    service: ServiceId,
    starts_at: DateTime<Utc>,
) -> AppResult<Appointment> {
    match book_with_subscription(state, tenant, customer, service, starts_at).await {
        Err(AppError::Conflict(reason)) => {
            upcoming_for_customer(state, tenant, customer, starts_at, 1)
                .await?
                .into_iter()
                .find(|own| own.service_id == service && own.starts_at == starts_at)
                .ok_or(AppError::Conflict(reason))
        }
        booked => booked,
    }
}

async fn book_with_subscription(
    state: &AppState,
    tenant: TenantId,
    customer: CustomerId,
    service: ServiceId,
    starts_at: DateTime<Utc>,
) -> AppResult<Appointment> {
    let mut input = NewAppointment {
        customer_id: customer,
        service_id: service,
        starts_at,
        subscription_id: None,
        notes: None,
    };
    if let Some(subscription) =
        customers::service::active_for_customer(&state.db, tenant, customer).await?
        && plans::service::covers(&state.db, tenant, subscription.plan_id, service).await?
    {
        let covered = NewAppointment {
            subscription_id: Some(subscription.id),
            ..input.clone()
        };
        match book(state, tenant, covered, Origin::Customer).await {
            // The cycle's limit is reached: the customer pays for this one.
            Err(AppError::BadUserInput {
                field: Some("subscriptionId"),
                ..
            }) => {}
            booked => return booked,
        }
    }
    input.subscription_id = None;
    book(state, tenant, input, Origin::Customer).await
}

async fn book(
    state: &AppState,
    tenant: TenantId,
    input: NewAppointment,
    origin: Origin,
) -> AppResult<Appointment> {
    let tenant = tenants::service::find(&state.db, tenant).await?;
    let now = Utc::now();
    check_start(&tenant, input.starts_at, now)?;
    let notes = parse_optional_text("notes", input.notes, 2000)?;
    let customer = customers::service::find(&state.db, tenant.id, input.customer_id).await?;
    let service = services::service::find_bookable(&state.db, tenant.id, input.service_id).await?;
    let ends_at = input.starts_at + Duration::minutes(i64::from(service.duration_minutes));
    let subscriber = customers::service::active_for_customer(&state.db, tenant.id, customer.id)
        .await?
        .is_some();
    check_hours(
        state,
        &tenant,
        input.starts_at,
        service.duration_minutes,
        subscriber,
    )
    .await?;

    let txn = crate::db::begin_write(&state.db).await?;
    let price = match input.subscription_id {
        None => service.price,
        Some(id) => {
            let subscription = customers::service::lock_for_booking(&txn, tenant.id, id).await?;
            if subscription.customer_id != customer.id {
                return Err(AppError::bad_input(
                    "subscriptionId",
                    "A assinatura não pertence a este cliente.",
                ));
            }
            if subscription.status != SubscriptionStatus::Active {
                return Err(AppError::bad_input(
                    "subscriptionId",
                    "A assinatura não está ativa.",
                ));
            }
            let plan = plans::service::find(&txn, tenant.id, subscription.plan_id).await?;
            if !plans::service::covers(&txn, tenant.id, plan.id, service.id).await? {
                return Err(AppError::bad_input(
                    "subscriptionId",
                    "O plano da assinatura não cobre este serviço.",
                ));
            }
            check_cycle_limit(&txn, &tenant, &subscription, &plan, input.starts_at, None).await?;
            MoneyCents(0)
        }
    };
    if let Some(taken) =
        repo::find_overlapping_active(&txn, tenant.id, input.starts_at, ends_at, None).await?
    {
        return Err(slot_taken(&taken, tenant.time_zone));
    }
    // Nothing to pay (covered by a subscription): the booking is confirmed at once, so the
    // unpaid-hold expiry never cancels it.
    let status = if price.0 == 0 {
        AppointmentStatus::Confirmed
    } else {
        AppointmentStatus::Pending
    };
    let row = NewAppointmentRow {
        tenant_id: tenant.id,
        customer_id: customer.id,
        service_id: service.id,
        subscription_id: input.subscription_id,
        starts_at: input.starts_at,
        ends_at,
        status,
        price,
        notes,
    };
    let appointment = match repo::insert(&txn, row, now).await {
        Ok(appointment) => appointment,
        Err(AppError::Db(err)) => {
            return Err(overlap_or(state, &tenant, input.starts_at, ends_at, None, err).await);
        }
        Err(err) => return Err(err),
    };
    notice(&txn, &appointment, AppointmentEventKind::Created, origin).await?;
    txn.commit().await?;
    after_notice(state, origin);
    publish(state, &appointment, AppointmentEventKind::Created).await;
    Ok(appointment)
}

/// Tells the customer of a change the business made (the notifications domain sends it), in the
/// change's transaction; a change the customer made on WhatsApp was answered there.
async fn notice(
    conn: &impl sea_orm::ConnectionTrait,
    appointment: &Appointment,
    kind: AppointmentEventKind,
    origin: Origin,
) -> AppResult<()> {
    if origin == Origin::Business {
        let notice = AppointmentNotice {
            tenant_id: appointment.tenant_id,
            appointment_id: appointment.id,
            kind,
        };
        crate::jobs::enqueue(conn, &notice).await?;
    }
    Ok(())
}

fn after_notice(state: &AppState, origin: Origin) {
    if origin == Origin::Business {
        state.jobs.wake();
    }
}

/// Moves an active appointment to a new start (same service, same duration).
pub async fn reschedule(
    state: &AppState,
    viewer: &Viewer,
    id: AppointmentId,
    starts_at: DateTime<Utc>,
) -> AppResult<Appointment> {
    reschedule_in(state, viewer.tenant()?, id, starts_at, Origin::Business).await
}

/// [`reschedule`] for a tenant's appointment, without a dashboard user (the customer's own
/// request on WhatsApp; the caller checked it is theirs).
pub async fn reschedule_in(
    state: &AppState,
    tenant: TenantId,
    id: AppointmentId,
    starts_at: DateTime<Utc>,
    origin: Origin,
) -> AppResult<Appointment> {
    let tenant = tenants::service::find(&state.db, tenant).await?;
    let current = find_in(state, tenant.id, id).await?;
    if !current.status.is_active() {
        return Err(AppError::bad_request(
            "Só é possível reagendar agendamentos pendentes ou confirmados",
        ));
    }
    check_start(&tenant, starts_at, Utc::now())?;
    let duration = current.ends_at - current.starts_at;
    let ends_at = starts_at + duration;
    let subscriber =
        customers::service::active_for_customer(&state.db, tenant.id, current.customer_id)
            .await?
            .is_some();
    let minutes = i32::try_from(duration.num_minutes()).unwrap_or(i32::MAX);
    check_hours(state, &tenant, starts_at, minutes, subscriber).await?;

    let txn = crate::db::begin_write(&state.db).await?;
    if let Some(subscription_id) = current.subscription_id {
        // Moving into another cycle must respect that cycle's limit too.
        let subscription =
            customers::service::lock_for_booking(&txn, tenant.id, subscription_id).await?;
        let plan = plans::service::find(&txn, tenant.id, subscription.plan_id).await?;
        check_cycle_limit(&txn, &tenant, &subscription, &plan, starts_at, Some(id)).await?;
    }
    if let Some(taken) =
        repo::find_overlapping_active(&txn, tenant.id, starts_at, ends_at, Some(id)).await?
    {
        return Err(slot_taken(&taken, tenant.time_zone));
    }
    let updated = match repo::update_times(&txn, tenant.id, id, starts_at, ends_at).await {
        Ok(updated) => updated,
        Err(AppError::Db(err)) => {
            return Err(overlap_or(state, &tenant, starts_at, ends_at, Some(id), err).await);
        }
        Err(err) => return Err(err),
    };
    let appointment = updated.ok_or_else(|| {
        AppError::bad_request("Só é possível reagendar agendamentos pendentes ou confirmados")
    })?;
    notice(
        &txn,
        &appointment,
        AppointmentEventKind::Rescheduled,
        origin,
    )
    .await?;
    txn.commit().await?;
    after_notice(state, origin);
    publish(state, &appointment, AppointmentEventKind::Rescheduled).await;
    Ok(appointment)
}

/// Applies a status change allowed by the status machine.
pub async fn change_status(
    state: &AppState,
    viewer: &Viewer,
    id: AppointmentId,
    transition: Transition,
    reason: Option<String>,
) -> AppResult<Appointment> {
    change_status_in(
        state,
        viewer.tenant()?,
        id,
        transition,
        reason,
        Origin::Business,
    )
    .await
}

/// [`change_status`] for a tenant's appointment, without a dashboard user (the customer's own
/// request on WhatsApp; the caller checked it is theirs).
pub async fn change_status_in(
    state: &AppState,
    tenant_id: TenantId,
    id: AppointmentId,
    transition: Transition,
    reason: Option<String>,
    origin: Origin,
) -> AppResult<Appointment> {
    let current = find_in(state, tenant_id, id).await?;
    let target = transition.check(current.status)?;
    let reason = parse_optional_text("reason", reason, 500)?;
    let (allowed, _) = transition.rule();
    let txn = db::begin_write(&state.db).await?;
    let appointment = repo::transition(&txn, tenant_id, id, allowed, target, reason)
        .await?
        // Someone changed it between the read and the write.
        .ok_or_else(|| {
            AppError::Conflict(
                "O agendamento foi alterado por outra pessoa; atualize a página".into(),
            )
        })?;
    let kind = match target {
        AppointmentStatus::Confirmed => AppointmentEventKind::Confirmed,
        AppointmentStatus::Canceled => AppointmentEventKind::Canceled,
        AppointmentStatus::Completed => AppointmentEventKind::Completed,
        AppointmentStatus::NoShow => AppointmentEventKind::NoShow,
        AppointmentStatus::Pending => AppointmentEventKind::Rescheduled,
    };
    if matches!(
        kind,
        AppointmentEventKind::Confirmed | AppointmentEventKind::Canceled
    ) {
        notice(&txn, &appointment, kind, origin).await?;
    }
    txn.commit().await?;
    after_notice(state, origin);
    publish(state, &appointment, kind).await;
    Ok(appointment)
}

/// Appointment `id` of the tenant, locked through `conn` (the caller's write transaction) until it
/// ends, so what the caller decides from it still holds at its commit.
pub async fn lock(
    conn: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    id: AppointmentId,
) -> AppResult<Appointment> {
    repo::lock(conn, tenant_id, id)
        .await?
        .ok_or(AppError::NotFound("appointment"))
}

/// An approved payment arrived for appointment `id`, through `conn` (the payment's transaction):
/// its unpaid hold stops, and when `confirm` and it is PENDING it becomes CONFIRMED. Returns the
/// appointment before and after, so the caller knows whether this call confirmed it (exactly
/// once, under the payment's row lock) and can [`publish`] it after the commit.
pub async fn payment_received(
    conn: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    id: AppointmentId,
    confirm: bool,
) -> AppResult<(Appointment, Appointment)> {
    let before = repo::find(conn, tenant_id, id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    let after = repo::mark_paid(conn, tenant_id, id, confirm, Utc::now())
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    Ok((before, after))
}

/// Cancels an active appointment through `conn` (the caller's transaction) for the system, with
/// `reason`, telling the customer (as a business change); `None` when it was not active. Call
/// [`publish`] with `Canceled` after the commit, and wake the jobs.
pub async fn cancel_in(
    conn: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    id: AppointmentId,
    reason: &str,
) -> AppResult<Option<Appointment>> {
    let (allowed, target) = Transition::Cancel.rule();
    let Some(appointment) = repo::transition(
        conn,
        tenant_id,
        id,
        allowed,
        target,
        Some(reason.to_owned()),
    )
    .await?
    else {
        return Ok(None);
    };
    notice(
        conn,
        &appointment,
        AppointmentEventKind::Canceled,
        Origin::Business,
    )
    .await?;
    Ok(Some(appointment))
}

/// The tenant's appointments among `ids`.
pub async fn find_many(
    conn: &impl sea_orm::ConnectionTrait,
    tenant_id: TenantId,
    ids: &[AppointmentId],
) -> AppResult<std::collections::HashMap<AppointmentId, Appointment>> {
    repo::find_many(conn, tenant_id, ids).await
}

/// An appointment of the viewer's tenant.
pub async fn find(state: &AppState, viewer: &Viewer, id: AppointmentId) -> AppResult<Appointment> {
    find_in(state, viewer.tenant()?, id).await
}

/// The customer's PENDING or CONFIRMED appointments starting after `now`, soonest first (at most
/// `limit`).
pub async fn upcoming_for_customer(
    state: &AppState,
    tenant: TenantId,
    customer: CustomerId,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<Appointment>> {
    let filter = ListFilter {
        from: Some(now),
        to: None,
        statuses: vec![AppointmentStatus::Pending, AppointmentStatus::Confirmed],
        customer: Some(customer),
        service: None,
    };
    repo::list_page(&state.db, tenant, &filter, None, limit).await
}

/// Every tenant's PENDING or CONFIRMED appointments starting in `(from, to]`, by start, in
/// pages of `limit` after `after` (the last one's start and id).
pub async fn active_starting_between(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Vec<Appointment>> {
    repo::list_active_starting_between(&state.db, from, to, after, limit).await
}

/// A tenant's appointment by id.
pub async fn find_in(
    state: &AppState,
    tenant: TenantId,
    id: AppointmentId,
) -> AppResult<Appointment> {
    repo::find(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("appointment"))
}

/// One page of appointments ordered by start, whether there are more, and the total count.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    filter: &ListFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<(Vec<Appointment>, bool, u64)> {
    let tenant = viewer.tenant()?;
    // Independent reads on separate pool connections: the page's latency is the slower of them.
    let (mut rows, total) = futures_util::try_join!(
        repo::list_page(&state.db, tenant, filter, after, limit + 1),
        repo::count(&state.db, tenant, filter).err_into(),
    )?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((rows, has_next, total))
}

/// Free slots for a service in `[from, to)`; subscriber-only hours count when `customer` holds
/// an active subscription.
pub async fn available_slots(
    state: &AppState,
    viewer: &Viewer,
    service_id: ServiceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    customer: Option<CustomerId>,
) -> AppResult<Vec<Slot>> {
    slots_in(state, viewer.tenant()?, service_id, from, to, customer).await
}

/// [`available_slots`] of a tenant, without a dashboard user (the WhatsApp assistant).
pub async fn slots_in(
    state: &AppState,
    tenant: TenantId,
    service_id: ServiceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    customer: Option<CustomerId>,
) -> AppResult<Vec<Slot>> {
    if to <= from {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    if to - from > Duration::days(MAX_SLOT_WINDOW_DAYS) {
        return Err(AppError::bad_input(
            "to",
            format!("search at most {MAX_SLOT_WINDOW_DAYS} days at once"),
        ));
    }
    let tenant = tenants::service::find(&state.db, tenant).await?;
    let service = services::service::find_bookable(&state.db, tenant.id, service_id).await?;
    let subscriber = match customer {
        Some(id) => {
            customers::service::find(&state.db, tenant.id, id).await?;
            customers::service::active_for_customer(&state.db, tenant.id, id)
                .await?
                .is_some()
        }
        None => false,
    };
    let settings = tenant.scheduling;
    let query = SlotQuery {
        zone: tenant.time_zone,
        from,
        to,
        now: Utc::now(),
        duration_minutes: service.duration_minutes,
        step_minutes: settings.slot_step_minutes,
        min_notice_minutes: settings.min_notice_minutes,
        horizon_days: settings.booking_horizon_days,
        subscriber,
    };
    let (first_date, last_date) = query.local_dates();
    let schedule =
        operating_hours::service::schedule(&state.db, tenant.id, first_date, last_date).await?;
    let busy = repo::list_busy(
        &state.db,
        tenant.id,
        from,
        to + Duration::minutes(i64::from(service.duration_minutes)),
    )
    .await?;
    Ok(availability::free_slots(&schedule, &busy, &query))
}

/// Figures for the dashboard, computed in SQL.
#[derive(Clone, Debug)]
pub struct DashboardStats {
    pub appointments_today: u64,
    pub appointments_in_range: u64,
    pub by_status: Vec<(AppointmentStatus, u64)>,
    pub active_subscribers: u64,
    pub total_customers: u64,
    pub expected_revenue: MoneySum,
}

pub async fn dashboard_stats(
    state: &AppState,
    viewer: &Viewer,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<DashboardStats> {
    if to <= from {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    let tenant = tenants::service::find(&state.db, viewer.tenant()?).await?;
    let (today_start, today_end) = local_day(
        tenant.time_zone,
        Utc::now().with_timezone(&tenant.time_zone.0).date_naive(),
    );
    let today = repo::count_by_status(&state.db, tenant.id, today_start, today_end).await?;
    let in_range = repo::count_by_status(&state.db, tenant.id, from, to).await?;
    let not_canceled = |rows: &[(AppointmentStatus, u64)]| -> u64 {
        rows.iter()
            .filter(|(s, _)| *s != AppointmentStatus::Canceled)
            .map(|(_, n)| n)
            .sum()
    };
    let by_status = AppointmentStatus::ALL
        .into_iter()
        .map(|status| {
            let n = in_range
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            (status, n)
        })
        .collect();
    Ok(DashboardStats {
        appointments_today: not_canceled(&today),
        appointments_in_range: not_canceled(&in_range),
        by_status,
        active_subscribers: customers::service::count_active_subscribers(&state.db, tenant.id)
            .await?,
        total_customers: customers::service::count(&state.db, tenant.id).await?,
        expected_revenue: repo::sum_expected_revenue(&state.db, tenant.id, from, to).await?,
    })
}

/// Deletes a customer and their subscriptions (`deleteCustomer`): CONFLICT while they have future
/// active appointments, and (from the database) while any appointment references them. Checked
/// and deleted in one write transaction, so a booking made meanwhile cannot slip in between.
pub async fn delete_customer(
    state: &AppState,
    viewer: &Viewer,
    id: CustomerId,
) -> AppResult<CustomerId> {
    let tenant = viewer.tenant()?;
    let txn = db::begin_write(&state.db).await?;
    customers::service::find(&txn, tenant, id).await?;
    if repo::exists_future_active_for_customer(&txn, tenant, id, Utc::now()).await? {
        return Err(AppError::Conflict(HAS_FUTURE_APPOINTMENTS.into()));
    }
    customers::service::delete(&txn, tenant, id).await?;
    txn.commit().await?;
    Ok(id)
}

/// Cancels PENDING bookings older than their tenant's unpaid-hold window, freeing their slots.
/// Idempotent and safe on several instances at once. Returns how many were canceled.
pub async fn expire_unpaid_holds(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let mut expired = 0;
    for (tenant, window) in tenants::service::unpaid_hold_windows(&state.db).await? {
        let rows =
            repo::expire_pending_created_before(&state.db, tenant, now - window, UNPAID_REASON)
                .await?;
        expired += rows.len();
        for appointment in rows {
            publish(state, &appointment, AppointmentEventKind::Expired).await;
        }
    }
    Ok(expired)
}

/// Refuses a booking under `subscription` at `starts_at` once the plan's limit for that cycle is
/// reached (not counting `except`, the appointment being moved).
async fn check_cycle_limit(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: &Tenant,
    subscription: &Subscription,
    plan: &Plan,
    starts_at: DateTime<Utc>,
    except: Option<AppointmentId>,
) -> AppResult<()> {
    let Some(limit) = plan.max_appointments_per_cycle else {
        return Ok(());
    };
    let cycle = customers::model::cycle_containing(
        subscription.starts_at,
        plan.interval,
        tenant.time_zone,
        starts_at,
    );
    let used =
        repo::count_for_subscription_cycle(conn, tenant.id, subscription.id, cycle, except).await?;
    if used >= u64::try_from(limit).unwrap_or(0) {
        return Err(AppError::bad_input(
            "subscriptionId",
            format!("Você atingiu o limite de {limit} agendamentos deste ciclo."),
        ));
    }
    Ok(())
}

/// `[00:00, next 00:00)` of a local date, as instants.
fn local_day(zone: TimeZone, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = availability::local_instant(zone, date, 0)
        .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN).and_utc());
    let end = date
        .succ_opt()
        .and_then(|next| availability::local_instant(zone, next, 0))
        .unwrap_or(start + Duration::days(1));
    (start, end)
}

async fn check_hours(
    state: &AppState,
    tenant: &Tenant,
    starts_at: DateTime<Utc>,
    minutes: i32,
    subscriber: bool,
) -> AppResult<()> {
    let date = starts_at.with_timezone(&tenant.time_zone.0).date_naive();
    let schedule = operating_hours::service::schedule(&state.db, tenant.id, date, date).await?;
    availability::check_within_hours(&schedule, tenant.time_zone, starts_at, minutes, subscriber)
        .map_err(|outside| AppError::bad_input("startsAt", outside.message()))
}

/// A booking (from the dashboard too) starts in the future and within the tenant's booking
/// horizon; the opening hours are checked separately.
fn check_start(tenant: &Tenant, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
    if starts_at < now {
        return Err(AppError::bad_input(
            "startsAt",
            "Não é possível agendar para datas passadas.",
        ));
    }
    let horizon = tenant.scheduling.booking_horizon_days;
    if starts_at > now + Duration::days(i64::from(horizon)) {
        return Err(AppError::bad_input(
            "startsAt",
            format!("Só é possível agendar com até {horizon} dias de antecedência."),
        ));
    }
    Ok(())
}

fn slot_taken(taken: &Appointment, zone: TimeZone) -> AppError {
    let start = taken.starts_at.with_timezone(&zone.0);
    let end = taken.ends_at.with_timezone(&zone.0);
    AppError::Conflict(format!(
        "Este horário não está disponível. Já existe um agendamento em {} das {} às {}.",
        start.format("%d/%m/%Y"),
        start.format("%H:%M"),
        end.format("%H:%M"),
    ))
}

/// Maps the Postgres exclusion-constraint violation (a concurrent booking won the slot) to the
/// same CONFLICT the pre-check gives, naming the winner's interval.
async fn overlap_or(
    state: &AppState,
    tenant: &Tenant,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<AppointmentId>,
    err: DbErr,
) -> AppError {
    if !err.to_string().contains("appointments_no_overlap") {
        return err.into();
    }
    match repo::find_overlapping_active(&state.db, tenant.id, start, end, except).await {
        Ok(Some(taken)) => slot_taken(&taken, tenant.time_zone),
        _ => AppError::Conflict("Este horário não está disponível.".into()),
    }
}

/// Tells the dashboard of a change, after its commit (also for changes other domains make through
/// the `conn`-taking functions here).
pub async fn publish(state: &AppState, appointment: &Appointment, kind: AppointmentEventKind) {
    state
        .broker
        .publish(Event::new(
            appointment.tenant_id,
            &AppointmentChanged {
                kind,
                appointment_id: appointment.id,
            },
        ))
        .await;
}

/// A page of the tenant's appointments ordered by `(starts_at, id)` past the keyset cursor
/// `after`, without the count `list` adds: exports page through a whole range with it.
pub async fn page_in(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    filter: &ListFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Vec<Appointment>> {
    repo::list_page(conn, tenant, filter, after, limit).await
}
