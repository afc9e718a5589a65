//! The guided menu: a deterministic Portuguese flow of WhatsApp interactive messages that books,
//! lists, cancels and reschedules through the appointments service (same rules, same
//! no-double-booking guarantee), or hands the conversation to a person.
//!
//! Invariants:
//! - Each step is one outbound message, its text in the interactive message's body; a list holds
//!   at most 10 rows, navigation rows ("Ver mais", "Voltar") included.
//! - The state (the step and the ids it offered) is stored with the conversation, so the flow
//!   survives restarts and works on every instance.
//! - A reply id is never trusted: it must be one the current step offered, and what it names is
//!   re-read for this tenant and customer (a service still bookable, an appointment still theirs
//!   and upcoming, a slot still free when booking). Anything else shows the current step again.

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    clients::meta_graph::{Choice, Outgoing},
    domains::{
        appointments::{
            self,
            model::{CANCELED_BY_CUSTOMER, Origin, Transition},
        },
        payments, services,
        tenants::model::Tenant,
    },
    jobs,
    kernel::{
        error::{AppError, AppResult},
        ids::{AppointmentId, CustomerId, ServiceId},
        pt_br,
    },
    state::AppState,
};

/// WhatsApp's limit of rows in a list, navigation included.
const MAX_ROWS: usize = 10;
/// Items per page of a list that also shows "Ver mais" and "Voltar".
const PAGE: usize = MAX_ROWS - 2;
const ROW_TITLE_CHARS: usize = 24;
const ROW_DESCRIPTION_CHARS: usize = 72;
/// How far ahead the menu looks for free days (the booking horizon may be shorter).
const SEARCH_DAYS: i64 = 62;

const MORE: &str = "more";
const BACK: &str = "back";

/// Where the customer is in the menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    Home,
    Services {
        page: usize,
    },
    Days {
        service: ServiceId,
        page: usize,
        /// The appointment being moved, when rescheduling.
        moving: Option<AppointmentId>,
    },
    Slots {
        service: ServiceId,
        date: NaiveDate,
        page: usize,
        moving: Option<AppointmentId>,
    },
    Confirm {
        service: ServiceId,
        starts_at: DateTime<Utc>,
        moving: Option<AppointmentId>,
    },
    Bookings,
    Booking {
        appointment: AppointmentId,
    },
}

/// The stored state: the step and the reply ids its message offered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuState {
    pub step: Step,
    pub offered: Vec<String>,
}

impl MenuState {
    /// The stored state; a missing or unreadable one starts over.
    pub fn load(stored: Option<&str>) -> Option<Self> {
        serde_json::from_str(stored?).ok()
    }
}

/// What the customer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// Typed text.
    Text(&'a str),
    /// Tapped a button or list row with this id.
    Choice(&'a str),
}

/// Who the menu talks to.
pub struct Party<'a> {
    pub tenant: &'a Tenant,
    pub customer: CustomerId,
    pub customer_name: &'a str,
}

/// The menu's answer: one message, the new state, and whether the customer asked for a person.
pub struct Answer {
    pub message: Outgoing,
    pub state: MenuState,
    pub needs_attention: bool,
}

/// Answers `input` from the step in `current`.
pub async fn answer(
    state: &AppState,
    party: &Party<'_>,
    current: Option<MenuState>,
    input: Input<'_>,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    let Some(current) = current else {
        return render(state, party, Step::Home, None, now).await;
    };
    let choice = match input {
        Input::Text(text) if is_greeting(text) => {
            return render(state, party, Step::Home, None, now).await;
        }
        Input::Text(text) if normalize(text) == "voltar" => BACK,
        Input::Text(_) => return render(state, party, current.step, None, now).await,
        Input::Choice(id) => id,
    };
    if !current.offered.iter().any(|offered| offered == choice) {
        return render(state, party, current.step, None, now).await;
    }
    choose(state, party, current.step, choice, now).await
}

/// "menu", "oi", "olá" (any case, punctuation ignored) start over.
fn is_greeting(text: &str) -> bool {
    matches!(
        normalize(text).as_str(),
        "menu" | "oi" | "ola" | "olá" | "inicio" | "início" | "bom dia" | "boa tarde" | "boa noite"
    )
}

fn normalize(text: &str) -> String {
    text.trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c == '!')
        .to_lowercase()
}

async fn choose(
    state: &AppState,
    party: &Party<'_>,
    step: Step,
    choice: &str,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    let next = match (&step, choice) {
        (Step::Home, "book") => Step::Services { page: 0 },
        (Step::Home, "mine") => Step::Bookings,
        (Step::Home, "human") => {
            return Ok(Answer {
                message: text(
                    "Certo! Um atendente vai responder você por aqui em breve. 🙂\n\nSe quiser voltar ao menu depois, é só enviar *menu*.",
                ),
                state: home_state(),
                needs_attention: true,
            });
        }
        (Step::Services { page }, MORE) => Step::Services { page: page + 1 },
        (Step::Services { .. }, BACK) | (Step::Bookings, BACK) => Step::Home,
        (Step::Services { .. }, id) => match parse_id(id, "svc:") {
            Some(service) => Step::Days {
                service: ServiceId(service),
                page: 0,
                moving: None,
            },
            None => step.clone(),
        },
        (
            Step::Days {
                service,
                page,
                moving,
            },
            MORE,
        ) => Step::Days {
            service: *service,
            page: page + 1,
            moving: *moving,
        },
        (
            Step::Days {
                moving: Some(appointment),
                ..
            },
            BACK,
        ) => Step::Booking {
            appointment: *appointment,
        },
        (Step::Days { moving: None, .. }, BACK) => Step::Services { page: 0 },
        (
            Step::Days {
                service, moving, ..
            },
            id,
        ) => match id.strip_prefix("day:").and_then(|d| d.parse().ok()) {
            Some(date) => Step::Slots {
                service: *service,
                date,
                page: 0,
                moving: *moving,
            },
            None => step.clone(),
        },
        (
            Step::Slots {
                service,
                date,
                page,
                moving,
            },
            MORE,
        ) => Step::Slots {
            service: *service,
            date: *date,
            page: page + 1,
            moving: *moving,
        },
        (
            Step::Slots {
                service, moving, ..
            },
            BACK,
        ) => Step::Days {
            service: *service,
            page: 0,
            moving: *moving,
        },
        (
            Step::Slots {
                service, moving, ..
            },
            id,
        ) => {
            let starts_at = id
                .strip_prefix("slot:")
                .and_then(|s| s.parse::<i64>().ok())
                .and_then(|s| DateTime::from_timestamp(s, 0));
            match starts_at {
                Some(starts_at) => Step::Confirm {
                    service: *service,
                    starts_at,
                    moving: *moving,
                },
                None => step.clone(),
            }
        }
        (
            Step::Confirm {
                service,
                starts_at,
                moving,
            },
            "confirm",
        ) => {
            return confirm(state, party, *service, *starts_at, *moving, now).await;
        }
        (
            Step::Confirm {
                service,
                starts_at,
                moving,
            },
            BACK,
        ) => Step::Slots {
            service: *service,
            date: local_date(party.tenant, *starts_at),
            page: 0,
            moving: *moving,
        },
        (Step::Bookings, id) => match parse_id(id, "appt:") {
            Some(appointment) => Step::Booking {
                appointment: AppointmentId(appointment),
            },
            None => step.clone(),
        },
        (Step::Booking { appointment }, "cancel") => {
            return cancel(state, party, *appointment, now).await;
        }
        (Step::Booking { appointment }, "reschedule") => {
            match upcoming(state, party, *appointment, now).await? {
                Some(booked) => Step::Days {
                    service: booked.service_id,
                    page: 0,
                    moving: Some(booked.id),
                },
                None => Step::Bookings,
            }
        }
        (Step::Booking { .. }, BACK) => Step::Bookings,
        _ => step.clone(),
    };
    render(state, party, next, None, now).await
}

fn parse_id(id: &str, prefix: &str) -> Option<uuid::Uuid> {
    id.strip_prefix(prefix)?.parse().ok()
}

fn home_state() -> MenuState {
    MenuState {
        step: Step::Home,
        offered: Vec::new(),
    }
}

fn local_date(tenant: &Tenant, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tenant.time_zone.0).date_naive()
}

/// The customer's upcoming appointment `id`, if it is theirs and still active.
async fn upcoming(
    state: &AppState,
    party: &Party<'_>,
    id: AppointmentId,
    now: DateTime<Utc>,
) -> AppResult<Option<appointments::model::Appointment>> {
    let booked = match appointments::service::find_in(state, party.tenant.id, id).await {
        Ok(booked) => booked,
        Err(AppError::NotFound(_)) => return Ok(None),
        Err(err) => return Err(err),
    };
    let theirs = booked.customer_id == party.customer && booked.status.is_active();
    Ok((theirs && booked.starts_at > now).then_some(booked))
}

/// Books (or moves) at `starts_at`; a slot taken meanwhile, or a rule that refuses it, shows the
/// day's slots again with the reason.
async fn confirm(
    state: &AppState,
    party: &Party<'_>,
    service: ServiceId,
    starts_at: DateTime<Utc>,
    moving: Option<AppointmentId>,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    let tenant = party.tenant;
    let booked = match moving {
        None => {
            appointments::service::book_for_customer(
                state,
                tenant.id,
                party.customer,
                service,
                starts_at,
            )
            .await
        }
        Some(id) => match upcoming(state, party, id, now).await? {
            Some(_) => {
                appointments::service::reschedule_in(
                    state,
                    tenant.id,
                    id,
                    starts_at,
                    Origin::Customer,
                )
                .await
            }
            None => return render(state, party, Step::Bookings, None, now).await,
        },
    };
    let booked = match booked {
        Ok(booked) => booked,
        Err(AppError::Conflict(_)) => {
            let slots = Step::Slots {
                service,
                date: local_date(tenant, starts_at),
                page: 0,
                moving,
            };
            let note = "😕 Esse horário acabou de ser reservado.";
            return render(state, party, slots, Some(note), now).await;
        }
        Err(AppError::BadUserInput { message, .. }) => {
            let slots = Step::Slots {
                service,
                date: local_date(tenant, starts_at),
                page: 0,
                moving,
            };
            return render(state, party, slots, Some(&format!("😕 {message}")), now).await;
        }
        Err(err) => return Err(err),
    };
    let name = services::service::find(&state.db, tenant.id, booked.service_id)
        .await?
        .name;
    let when = pt_br::long_date_time(&booked.starts_at.with_timezone(&tenant.time_zone.0));
    let headline = match (moving, booked.status) {
        (Some(_), _) => "✅ Agendamento remarcado!",
        (None, appointments::model::AppointmentStatus::Confirmed) => "✅ Agendamento confirmado!",
        (None, _) => "✅ Horário reservado! Aguardando confirmação.",
    };
    // A re-run of this turn books nothing new and queues the job again, which sends the link
    // once; so the link is not lost to a crash between the booking and this line.
    let payment = moving.is_none()
        && booked.status == appointments::model::AppointmentStatus::Pending
        && booked.price.0 > 0
        && payments::model::requires_payment(tenant);
    if payment {
        let job = payments::model::SendPaymentLink {
            tenant_id: tenant.id,
            appointment_id: booked.id,
        };
        jobs::enqueue(&state.db, &job).await?;
        state.jobs.wake();
    }
    let payment_note = if payment {
        "\n\n💳 Em seguida você recebe o link de pagamento para garantir o horário."
    } else {
        ""
    };
    Ok(Answer {
        message: text(&format!(
            "{headline}\n\n*{name}*\n📅 {when}{payment_note}\n\nPara ver ou alterar seus agendamentos, envie *menu*."
        )),
        state: home_state(),
        needs_attention: false,
    })
}

async fn cancel(
    state: &AppState,
    party: &Party<'_>,
    id: AppointmentId,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    if upcoming(state, party, id, now).await?.is_none() {
        return render(state, party, Step::Bookings, None, now).await;
    }
    let reason = Some(CANCELED_BY_CUSTOMER.to_owned());
    let canceled = match appointments::service::change_status_in(
        state,
        party.tenant.id,
        id,
        Transition::Cancel,
        reason,
        Origin::Customer,
    )
    .await
    {
        Ok(canceled) => canceled,
        // Changed meanwhile (by the business): show what is there now.
        Err(AppError::Conflict(_) | AppError::BadUserInput { .. }) => {
            return render(state, party, Step::Bookings, None, now).await;
        }
        Err(err) => return Err(err),
    };
    let when = pt_br::long_date_time(&canceled.starts_at.with_timezone(&party.tenant.time_zone.0));
    Ok(Answer {
        message: text(&format!(
            "Agendamento de {when} cancelado.\n\nPara agendar outro horário, envie *menu*."
        )),
        state: home_state(),
        needs_attention: false,
    })
}

/// The message of `step`, with `note` before its text; a step with nothing to show falls back
/// to the one before it, saying why.
async fn render(
    state: &AppState,
    party: &Party<'_>,
    step: Step,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Answer> {
    let tenant = party.tenant;
    let zone = tenant.time_zone.0;
    let with_note = |body: String| match note {
        Some(note) => format!("{note}\n\n{body}"),
        None => body,
    };
    // A step that falls back to another keeps the note it was given, then says why.
    let fallback_note = |why: &str| with_note(why.to_owned());
    let (body, button, items, navigation): (String, &str, Vec<Choice>, Nav) = match &step {
        Step::Home => {
            let body = format!(
                "Olá, {}! 👋 Aqui é o atendimento de *{}*. Como posso ajudar?",
                party.customer_name, tenant.name
            );
            let rows = vec![
                row("book", "Agendar horário", None),
                row("mine", "Meus agendamentos", None),
                row("human", "Falar com atendente", None),
            ];
            (with_note(body), "Ver opções", rows, Nav::None)
        }
        Step::Services { page } => {
            let all = services::service::bookable(&state.db, tenant.id).await?;
            if all.is_empty() {
                let note =
                    fallback_note("No momento não há serviços disponíveis para agendamento.");
                return Box::pin(render(state, party, Step::Home, Some(&note), now)).await;
            }
            let rows = all
                .iter()
                .map(|s| {
                    let detail = format!(
                        "{} · {}",
                        pt_br::money(s.price),
                        pt_br::duration(s.duration_minutes)
                    );
                    row(&format!("svc:{}", s.id.0), &s.name, Some(&detail))
                })
                .collect();
            let body = with_note("Qual serviço você deseja agendar?".to_owned());
            (body, "Serviços", rows, Nav::Paged(*page))
        }
        Step::Days { service, page, .. } => {
            let Some(found) = bookable(state, tenant, *service).await? else {
                return Box::pin(render(state, party, Step::Services { page: 0 }, note, now)).await;
            };
            let days = free_days(state, party, *service, now).await?;
            if days.is_empty() {
                let note = fallback_note(&format!(
                    "😕 Não há horários livres para *{}* nos próximos dias.",
                    found.name
                ));
                return Box::pin(render(
                    state,
                    party,
                    Step::Services { page: 0 },
                    Some(&note),
                    now,
                ))
                .await;
            }
            let rows = days
                .iter()
                .map(|(date, count)| {
                    let detail = if *count == 1 {
                        "1 horário livre".to_owned()
                    } else {
                        format!("{count} horários livres")
                    };
                    row(
                        &format!("day:{date}"),
                        &pt_br::short_date(*date),
                        Some(&detail),
                    )
                })
                .collect();
            let body = with_note(format!("Escolha o dia para *{}*:", found.name));
            (body, "Dias", rows, Nav::Paged(*page))
        }
        Step::Slots {
            service,
            date,
            page,
            moving,
        } => {
            let Some(found) = bookable(state, tenant, *service).await? else {
                return Box::pin(render(state, party, Step::Services { page: 0 }, note, now)).await;
            };
            let slots = day_slots(state, party, *service, *date).await?;
            if slots.is_empty() {
                let days = Step::Days {
                    service: *service,
                    page: 0,
                    moving: *moving,
                };
                let note = fallback_note(&format!(
                    "Não há mais horários livres em {}.",
                    pt_br::short_date(*date)
                ));
                return Box::pin(render(state, party, days, Some(&note), now)).await;
            }
            let rows = slots
                .iter()
                .map(|at| {
                    let local = at.with_timezone(&zone);
                    row(
                        &format!("slot:{}", at.timestamp()),
                        &pt_br::time(&local),
                        None,
                    )
                })
                .collect();
            let body = with_note(format!(
                "Horários livres em *{}* para *{}*:",
                pt_br::short_date(*date),
                found.name
            ));
            (body, "Horários", rows, Nav::Paged(*page))
        }
        Step::Confirm {
            service,
            starts_at,
            moving,
        } => {
            let Some(found) = bookable(state, tenant, *service).await? else {
                return Box::pin(render(state, party, Step::Services { page: 0 }, note, now)).await;
            };
            let when = pt_br::long_date_time(&starts_at.with_timezone(&zone));
            let question = if moving.is_some() {
                "Confirma a remarcação para este horário?"
            } else {
                "Confirma o agendamento?"
            };
            let body = with_note(format!(
                "{question}\n\n*{}*\n📅 {when}\n💰 {}",
                found.name,
                pt_br::money(found.price)
            ));
            let buttons = vec![row("confirm", "Confirmar", None), row(BACK, "Voltar", None)];
            return Ok(buttons_answer(step, body, buttons));
        }
        Step::Bookings => {
            let booked = appointments::service::upcoming_for_customer(
                state,
                tenant.id,
                party.customer,
                now,
                (MAX_ROWS - 1) as u64,
            )
            .await?;
            if booked.is_empty() {
                let note = fallback_note("Você não tem agendamentos futuros.");
                return Box::pin(render(state, party, Step::Home, Some(&note), now)).await;
            }
            let ids: Vec<ServiceId> = booked.iter().map(|a| a.service_id).collect();
            let names = services::service::find_many(&state.db, tenant.id, &ids).await?;
            let rows = booked
                .iter()
                .map(|a| {
                    let local = a.starts_at.with_timezone(&zone);
                    let title = format!(
                        "{} {}",
                        pt_br::short_date(local.date_naive()),
                        pt_br::time(&local)
                    );
                    let name = names.get(&a.service_id).map(|s| s.name.as_str());
                    row(&format!("appt:{}", a.id.0), &title, name)
                })
                .collect();
            let body = with_note("Seus próximos agendamentos:".to_owned());
            (body, "Agendamentos", rows, Nav::Back)
        }
        Step::Booking { appointment } => {
            let Some(booked) = upcoming(state, party, *appointment, now).await? else {
                return Box::pin(render(state, party, Step::Bookings, note, now)).await;
            };
            let name = services::service::find(&state.db, tenant.id, booked.service_id)
                .await?
                .name;
            let when = pt_br::long_date_time(&booked.starts_at.with_timezone(&zone));
            let body = with_note(format!("*{name}*\n📅 {when}\n\nO que deseja fazer?"));
            let buttons = vec![
                row("cancel", "Cancelar", None),
                row("reschedule", "Reagendar", None),
                row(BACK, "Voltar", None),
            ];
            return Ok(buttons_answer(step, body, buttons));
        }
    };
    Ok(list_answer(step, body, button, items, navigation))
}

/// The navigation rows a list adds after its items.
enum Nav {
    None,
    Back,
    /// Page `n` of the items, with "Ver mais" when more follow, and "Voltar".
    Paged(usize),
}

fn list_answer(step: Step, body: String, button: &str, items: Vec<Choice>, nav: Nav) -> Answer {
    let mut rows: Vec<Choice> = match nav {
        Nav::None | Nav::Back => items.into_iter().take(MAX_ROWS - 1).collect(),
        Nav::Paged(page) => {
            let more = items.len() > (page + 1) * PAGE;
            let mut rows: Vec<Choice> = items.into_iter().skip(page * PAGE).take(PAGE).collect();
            if more {
                rows.push(row(MORE, "Ver mais", None));
            }
            rows
        }
    };
    if !matches!(nav, Nav::None) {
        rows.push(row(BACK, "Voltar", None));
    }
    let offered = rows.iter().map(|row| row.id.clone()).collect();
    Answer {
        message: Outgoing::List {
            body,
            button: button.to_owned(),
            rows,
        },
        state: MenuState { step, offered },
        needs_attention: false,
    }
}

fn buttons_answer(step: Step, body: String, buttons: Vec<Choice>) -> Answer {
    let offered = buttons.iter().map(|button| button.id.clone()).collect();
    Answer {
        message: Outgoing::Buttons { body, buttons },
        state: MenuState { step, offered },
        needs_attention: false,
    }
}

fn text(body: &str) -> Outgoing {
    Outgoing::Text {
        body: body.to_owned(),
    }
}

fn row(id: &str, title: &str, description: Option<&str>) -> Choice {
    Choice {
        id: id.to_owned(),
        title: shorten(title, ROW_TITLE_CHARS),
        description: description.map(|d| shorten(d, ROW_DESCRIPTION_CHARS)),
    }
}

/// `text` in at most `max` characters, ending in "…" when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

async fn bookable(
    state: &AppState,
    tenant: &Tenant,
    service: ServiceId,
) -> AppResult<Option<services::model::Service>> {
    match services::service::find_bookable(&state.db, tenant.id, service).await {
        Ok(found) => Ok(Some(found)),
        Err(AppError::NotFound(_) | AppError::BadUserInput { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The local dates with free slots for `service` from now on, with how many each has.
async fn free_days(
    state: &AppState,
    party: &Party<'_>,
    service: ServiceId,
    now: DateTime<Utc>,
) -> AppResult<Vec<(NaiveDate, usize)>> {
    let slots = appointments::service::slots_in(
        state,
        party.tenant.id,
        service,
        now,
        now + Duration::days(SEARCH_DAYS),
        Some(party.customer),
    )
    .await?;
    let mut days: Vec<(NaiveDate, usize)> = Vec::new();
    for slot in slots {
        let date = local_date(party.tenant, slot.starts_at);
        match days.last_mut() {
            Some((last, count)) if *last == date => *count += 1,
            _ => days.push((date, 1)),
        }
    }
    Ok(days)
}

/// The free start times of `service` on local `date`.
async fn day_slots(
    state: &AppState,
    party: &Party<'_>,
    service: ServiceId,
    date: NaiveDate,
) -> AppResult<Vec<DateTime<Utc>>> {
    let zone = party.tenant.time_zone.0;
    let start_of = |day: NaiveDate| {
        zone.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|at| at.with_timezone(&Utc))
    };
    let (Some(from), Some(to)) = (start_of(date), date.succ_opt().and_then(start_of)) else {
        return Ok(Vec::new());
    };
    let slots = appointments::service::slots_in(
        state,
        party.tenant.id,
        service,
        from,
        to,
        Some(party.customer),
    )
    .await?;
    Ok(slots.into_iter().map(|slot| slot.starts_at).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Choice> {
        (0..n)
            .map(|i| row(&format!("i{i}"), &format!("Item {i}"), None))
            .collect()
    }

    #[test]
    fn lists_never_exceed_ten_rows_with_their_navigation() {
        for (count, page, expected, more) in [
            (3, 0, 4, false),
            (8, 0, 9, false),
            (9, 0, 10, true),
            (20, 1, 10, true),
            (20, 2, 5, false),
        ] {
            let answer = list_answer(
                Step::Services { page },
                "b".into(),
                "x",
                items(count),
                Nav::Paged(page),
            );
            let Outgoing::List { rows, .. } = &answer.message else {
                panic!("a list")
            };
            assert_eq!(rows.len(), expected, "{count} items, page {page}");
            assert!(rows.len() <= MAX_ROWS);
            assert_eq!(rows.iter().any(|r| r.id == MORE), more);
            assert_eq!(rows.last().map(|r| r.id.as_str()), Some(BACK));
            assert_eq!(answer.state.offered.len(), rows.len());
        }
        let answer = list_answer(Step::Bookings, "b".into(), "x", items(30), Nav::Back);
        let Outgoing::List { rows, .. } = &answer.message else {
            panic!("a list")
        };
        assert_eq!(rows.len(), MAX_ROWS);
    }

    #[test]
    fn long_titles_are_shortened_to_whatsapps_limits() {
        let long = row(
            "x",
            "Corte masculino com barba e sobrancelha",
            Some(&"d".repeat(100)),
        );
        assert_eq!(long.title.chars().count(), ROW_TITLE_CHARS);
        assert!(long.title.ends_with('…'));
        assert_eq!(
            long.description.unwrap().chars().count(),
            ROW_DESCRIPTION_CHARS
        );
    }

    #[test]
    fn greetings_restart_and_other_text_does_not() {
        assert!(is_greeting("Oi!"));
        assert!(is_greeting(" MENU "));
        assert!(is_greeting("Olá"));
        assert!(!is_greeting("oi, tem horário amanhã?"));
    }
}
