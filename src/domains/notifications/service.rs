//! Which notice an appointment change or an approaching start calls for, its Portuguese text,
//! and sending it once.

use std::collections::{HashMap, hash_map::Entry};

use chrono::{DateTime, Duration, Utc};

use super::{
    model::{NoticeKind, NoticeSetting},
    repo,
};
use crate::{
    clients::meta_graph::Outgoing,
    db,
    domains::{
        appointments::{
            self,
            model::{Appointment, AppointmentEventKind, AppointmentNotice, AppointmentStatus},
        },
        customers, services,
        tenants::{self, model::Tenant},
        whatsapp,
    },
    kernel::{
        error::{AppError, AppResult},
        ids::TenantId,
        pt_br,
        viewer::Viewer,
    },
    state::AppState,
};

/// Every kind's setting for the viewer's tenant (defaults for kinds never changed).
pub async fn settings(state: &AppState, viewer: &Viewer) -> AppResult<Vec<NoticeSetting>> {
    settings_of(state, viewer.tenant()?).await
}

async fn settings_of(state: &AppState, tenant: TenantId) -> AppResult<Vec<NoticeSetting>> {
    let mut stored = repo::settings(&state.db, tenant).await?;
    Ok(NoticeKind::ALL
        .iter()
        .map(|kind| match stored.iter().position(|s| s.kind == *kind) {
            Some(at) => stored.swap_remove(at),
            None => NoticeSetting::default_for(*kind),
        })
        .collect())
}

/// A change of one kind's setting; `None` leaves a field as it is.
pub struct SettingChange {
    pub kind: NoticeKind,
    pub enabled: Option<bool>,
    /// `Some(None)` clears the template.
    pub template_name: Option<Option<String>>,
    pub template_language: Option<String>,
}

/// Changes one kind's setting of the viewer's tenant; a template name or language WhatsApp would
/// refuse is BAD_USER_INPUT.
pub async fn update_setting(
    state: &AppState,
    viewer: &Viewer,
    change: SettingChange,
) -> AppResult<NoticeSetting> {
    let tenant = viewer.tenant()?;
    let current = settings_of(state, tenant)
        .await?
        .into_iter()
        .find(|setting| setting.kind == change.kind)
        .unwrap_or_else(|| NoticeSetting::default_for(change.kind));
    let template_name = change.template_name.unwrap_or(current.template_name);
    let template_language = change
        .template_language
        .unwrap_or(current.template_language);
    let template_name = template_name
        .as_deref()
        .map(whatsapp::service::parse_template_name)
        .transpose()?;
    let language = whatsapp::service::parse_template_language(Some(template_language))?;
    let setting = NoticeSetting {
        kind: change.kind,
        enabled: change.enabled.unwrap_or(current.enabled),
        template_name,
        template_language: language,
    };
    repo::save_setting(&state.db, tenant, &setting, Utc::now()).await?;
    Ok(setting)
}

/// Tells the customer of a change the business made (the job of `AppointmentNotice`), unless
/// the appointment moved on since (a canceled one is not confirmed to them).
pub async fn appointment_changed(state: &AppState, notice: AppointmentNotice) -> AppResult<()> {
    let appointment = match appointments::service::find_in(
        state,
        notice.tenant_id,
        notice.appointment_id,
    )
    .await
    {
        Ok(appointment) => appointment,
        Err(AppError::NotFound(_)) => return Ok(()),
        Err(err) => return Err(err),
    };
    let (kind, key) = match notice.kind {
        AppointmentEventKind::Created | AppointmentEventKind::Confirmed => {
            (NoticeKind::BookingConfirmed, String::new())
        }
        // Each new time is told once; a later move tells the time it moved to.
        AppointmentEventKind::Rescheduled => (
            NoticeKind::Rescheduled,
            appointment.starts_at.timestamp().to_string(),
        ),
        AppointmentEventKind::Canceled => (NoticeKind::Canceled, String::new()),
        _ => return Ok(()),
    };
    let still_true = match kind {
        NoticeKind::Canceled => appointment.status == AppointmentStatus::Canceled,
        _ => appointment.status.is_active(),
    };
    if !still_true {
        return Ok(());
    }
    let tenant = tenants::service::find(&state.db, notice.tenant_id).await?;
    let settings = settings_of(state, tenant.id).await?;
    send(state, &tenant, &settings, &appointment, kind, &key).await
}

/// Reminders before the start: a day before, for bookings made more than a day ahead; two hours
/// before, for bookings made more than two hours ahead.
const REMINDERS: [(NoticeKind, Duration, Duration); 2] = [
    (
        NoticeKind::Reminder24h,
        Duration::hours(24),
        Duration::hours(2),
    ),
    (NoticeKind::Reminder2h, Duration::hours(2), Duration::zero()),
];

/// Appointments read per page while looking for due reminders.
const REMINDER_PAGE: u64 = 500;

/// Sends the reminders due at `now` that were not sent yet; how many were sent. Safe on every
/// instance at once: each reminder's row is unique.
pub async fn send_reminders(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let mut sent = 0;
    let mut tenants: HashMap<TenantId, (Tenant, Vec<NoticeSetting>)> = HashMap::new();
    for (kind, lead, until) in REMINDERS {
        let mut after = None;
        loop {
            let page = appointments::service::active_starting_between(
                state,
                now + until,
                now + lead,
                after,
                REMINDER_PAGE,
            )
            .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.starts_at, last.id.0));
            let ids: Vec<_> = page.iter().map(|a| a.id).collect();
            let done = repo::sent(&state.db, &ids, kind).await?;
            for appointment in &page {
                let booked_ahead = appointment.created_at <= appointment.starts_at - lead;
                if !booked_ahead || done.contains(&appointment.id) {
                    continue;
                }
                let tenant_id = appointment.tenant_id;
                let (tenant, settings) = match tenants.entry(tenant_id) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(slot) => {
                        let tenant = tenants::service::find(&state.db, tenant_id).await?;
                        slot.insert((tenant, settings_of(state, tenant_id).await?))
                    }
                };
                send(state, tenant, settings, appointment, kind, "").await?;
                sent += 1;
            }
            if (page.len() as u64) < REMINDER_PAGE {
                break;
            }
        }
    }
    Ok(sent)
}

/// Sends notice (`kind`, `key`) about `appointment` once: the notice's row and its message commit
/// together, so a second attempt (another instance, a retry) finds the row and sends nothing.
async fn send(
    state: &AppState,
    tenant: &Tenant,
    settings: &[NoticeSetting],
    appointment: &Appointment,
    kind: NoticeKind,
    key: &str,
) -> AppResult<()> {
    let setting = settings
        .iter()
        .find(|setting| setting.kind == kind)
        .cloned()
        .unwrap_or_else(|| NoticeSetting::default_for(kind));
    if !setting.enabled {
        return Ok(());
    }
    let customer = customers::service::find(&state.db, tenant.id, appointment.customer_id).await?;
    let service = services::service::find(&state.db, tenant.id, appointment.service_id).await?;
    let when = pt_br::long_date_time(&appointment.starts_at.with_timezone(&tenant.time_zone.0));
    let text = notice_text(
        kind,
        appointment,
        &customer.name,
        &service.name,
        &tenant.name,
        &when,
    );
    let template = setting.template_name.map(|name| Outgoing::Template {
        name,
        language: setting.template_language,
        parameters: vec![customer.name.clone(), service.name.clone(), when],
    });
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    if !repo::claim(&txn, tenant.id, appointment.id, kind, key, now).await? {
        return Ok(());
    }
    let notice = whatsapp::service::Notice { text, template };
    let (conversation, messages) =
        whatsapp::service::notify(&txn, tenant.id, customer.id, notice, now).await?;
    txn.commit().await?;
    whatsapp::service::queued(state, &conversation, &messages).await;
    Ok(())
}

fn notice_text(
    kind: NoticeKind,
    appointment: &Appointment,
    customer: &str,
    service: &str,
    tenant: &str,
    when: &str,
) -> String {
    const STOP: &str = "Para não receber mais avisos, envie PARAR.";
    match kind {
        NoticeKind::BookingConfirmed if appointment.status == AppointmentStatus::Confirmed => {
            format!(
                "✅ Olá, {customer}! Seu agendamento de *{service}* em *{tenant}* está confirmado para {when}.\n\n{STOP}"
            )
        }
        NoticeKind::BookingConfirmed => format!(
            "📅 Olá, {customer}! Seu agendamento de *{service}* em *{tenant}* foi registrado para {when}.\n\n{STOP}"
        ),
        NoticeKind::Rescheduled => format!(
            "🔄 Olá, {customer}! Seu agendamento de *{service}* em *{tenant}* foi remarcado para {when}.\n\n{STOP}"
        ),
        NoticeKind::Canceled => {
            let reason = appointment
                .cancellation_reason
                .as_deref()
                .map(|reason| format!("\nMotivo: {reason}"))
                .unwrap_or_default();
            format!(
                "❌ Olá, {customer}. Seu agendamento de *{service}* em *{tenant}* de {when} foi cancelado.{reason}\n\nPara agendar outro horário, envie *menu*."
            )
        }
        NoticeKind::Reminder24h | NoticeKind::Reminder2h => format!(
            "⏰ Lembrete: {customer}, seu horário de *{service}* em *{tenant}* é {when}. Até lá!\n\n{STOP}"
        ),
    }
}
