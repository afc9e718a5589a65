//! The tools themselves: each reads or changes the customer's bookings, or the customer, through
//! the domain services.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use serde_json::{Value, json};

use super::{
    MAX_LISTED, MAX_SEARCH_DAYS, Party, ToolError, ToolResult, date_arg, id_arg, required, text_arg,
};
use crate::{
    domains::{
        appointments::{
            self,
            model::{Appointment, AppointmentStatus, CANCELED_BY_CUSTOMER, Origin, Transition},
        },
        customers::{self, service::CustomerChanges},
        payments, services,
    },
    kernel::{
        error::{AppError, ErrorCode},
        ids::{AppointmentId, ServiceId},
        pt_br,
        values::EnumStr,
    },
};

fn not_found_appointment() -> ToolError {
    ToolError::refused(ErrorCode::NotFound, "Agendamento não encontrado.")
}

impl Party<'_> {
    fn local(&self, at: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
        at.with_timezone(&self.tenant.time_zone.0)
    }

    fn today(&self) -> NaiveDate {
        self.local(self.now).date_naive()
    }

    /// The instant local midnight starts `date` in the tenant's zone.
    fn start_of(&self, date: NaiveDate) -> Result<DateTime<Utc>, ToolError> {
        self.tenant
            .time_zone
            .0
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| ToolError::bad_input("Datas fora do calendário."))
    }

    /// The instant of `date` `time` in the tenant's zone, which must be ahead.
    fn starts_at(&self, args: &Value) -> Result<DateTime<Utc>, ToolError> {
        let date = date_arg(args, "date")?.ok_or_else(|| ToolError::bad_input("Informe date."))?;
        let time = NaiveTime::parse_from_str(required(args, "time")?, "%H:%M")
            .map_err(|_| ToolError::bad_input("Horário inválido: use HH:MM."))?;
        let at = self
            .tenant
            .time_zone
            .0
            .from_local_datetime(&date.and_time(time))
            .earliest()
            .ok_or_else(|| ToolError::bad_input("Esse horário não existe neste fuso."))?
            .with_timezone(&Utc);
        if at <= self.now {
            return Err(ToolError::bad_input("Esse horário já passou."));
        }
        Ok(at)
    }

    fn describe(&self, booked: &Appointment, service: &str) -> Value {
        let local = self.local(booked.starts_at);
        json!({
            "appointmentId": booked.id.to_string(),
            "service": service,
            "date": local.format("%Y-%m-%d").to_string(),
            "weekday": pt_br::weekday_long(chrono::Datelike::weekday(&local)),
            "time": pt_br::time(&local),
            "status": booked.status.as_str(),
            "price": pt_br::money(booked.price),
            "coveredBySubscription": booked.subscription_id.is_some(),
        })
    }

    /// The booking a change left, as the model reads it.
    async fn changed(&self, booked: Appointment, message: &str) -> ToolResult {
        let service = services::service::find(&self.state.db, self.tenant.id, booked.service_id)
            .await?
            .name;
        Ok(json!({"ok": true, "appointment": self.describe(&booked, &service), "message": message}))
    }

    /// The customer's upcoming active booking named in `args`: another customer's, a past, a
    /// canceled or a made-up one is NOT_FOUND to the model.
    async fn own_upcoming(&self, args: &Value) -> Result<Appointment, ToolError> {
        let id = id_arg::<AppointmentId>(args, "appointmentId")?;
        let booked = match appointments::service::find_in(self.state, self.tenant.id, id).await {
            Ok(booked) => booked,
            Err(AppError::NotFound(_)) => return Err(not_found_appointment()),
            Err(err) => return Err(ToolError::Failed(err)),
        };
        let theirs = booked.customer_id == self.customer
            && booked.status.is_active()
            && booked.starts_at > self.now;
        if theirs {
            Ok(booked)
        } else {
            Err(not_found_appointment())
        }
    }
}

pub(super) async fn list_services(party: &Party<'_>) -> ToolResult {
    let all = services::service::bookable(&party.state.db, party.tenant.id).await?;
    let listed: Vec<Value> = all
        .iter()
        .map(|service| {
            json!({
                "id": service.id.to_string(),
                "name": service.name,
                "price": pt_br::money(service.price),
                "durationMinutes": service.duration_minutes,
            })
        })
        .collect();
    let mut answer = json!({"ok": true, "services": listed});
    if all.is_empty() {
        answer["message"] = json!("Nenhum serviço cadastrado ainda.");
    }
    Ok(answer)
}

/// The local days `check_availability` searches: one `date`, `from`–`to` (at most a week), or
/// the coming week; never before today.
fn search_window(party: &Party<'_>, args: &Value) -> Result<(NaiveDate, NaiveDate), ToolError> {
    let today = party.today();
    let week = Duration::days(MAX_SEARCH_DAYS - 1);
    let (first, last) = match (
        date_arg(args, "date")?,
        date_arg(args, "from")?,
        date_arg(args, "to")?,
    ) {
        (Some(date), _, _) => (date, date),
        (None, Some(from), to) => (from, to.unwrap_or(from + week)),
        (None, None, Some(to)) => (today, to),
        (None, None, None) => (today, today + week),
    };
    if last < today {
        return Err(ToolError::bad_input(
            "Não é possível agendar para datas passadas.",
        ));
    }
    if last < first {
        return Err(ToolError::bad_input("O último dia vem antes do primeiro."));
    }
    if (last - first).num_days() >= MAX_SEARCH_DAYS {
        return Err(ToolError::bad_input("Consulte no máximo 7 dias por vez."));
    }
    Ok((first.max(today), last))
}

pub(super) async fn check_availability(party: &Party<'_>, args: &Value) -> ToolResult {
    let service = id_arg::<ServiceId>(args, "serviceId")?;
    let (first, last) = search_window(party, args)?;
    let from = party.start_of(first)?.max(party.now);
    let to = party.start_of(last + Duration::days(1))?;
    let found = services::service::find_bookable(&party.state.db, party.tenant.id, service).await?;
    let slots = appointments::service::slots_in(
        party.state,
        party.tenant.id,
        service,
        from,
        to,
        Some(party.customer),
    )
    .await?;
    let mut days: Vec<(NaiveDate, Vec<String>)> = Vec::new();
    for slot in &slots {
        let local = party.local(slot.starts_at);
        let time = pt_br::time(&local);
        match days.last_mut() {
            Some((date, times)) if *date == local.date_naive() => times.push(time),
            _ => days.push((local.date_naive(), vec![time])),
        }
    }
    let days: Vec<Value> = days
        .into_iter()
        .map(|(date, times)| {
            json!({
                "date": date.format("%Y-%m-%d").to_string(),
                "weekday": pt_br::weekday_long(chrono::Datelike::weekday(&date)),
                "times": times,
            })
        })
        .collect();
    let mut answer = json!({
        "ok": true,
        "service": found.name,
        "durationMinutes": found.duration_minutes,
        "from": first.format("%Y-%m-%d").to_string(),
        "to": last.format("%Y-%m-%d").to_string(),
        "days": days,
    });
    if slots.is_empty() {
        answer["message"] = json!("Não há horários livres nesse período.");
    }
    Ok(answer)
}

pub(super) async fn book(party: &Party<'_>, args: &Value) -> ToolResult {
    let service = id_arg::<ServiceId>(args, "serviceId")?;
    let starts_at = party.starts_at(args)?;
    if party.tenant.ai_require_email {
        let customer =
            customers::service::find(&party.state.db, party.tenant.id, party.customer).await?;
        if customer.email.is_none() {
            return Err(ToolError::bad_input(
                "Antes de agendar, peça o e-mail do cliente e registre com update_customer_profile.",
            ));
        }
    }
    let booked = match appointments::service::book_for_customer(
        party.state,
        party.tenant.id,
        party.customer,
        service,
        starts_at,
    )
    .await
    {
        Ok(booked) => booked,
        Err(AppError::Conflict(reason)) => {
            return Err(ToolError::refused(
                ErrorCode::Conflict,
                format!(
                    "Este horário acabou de ser reservado ({reason}). Ofereça outros horários livres."
                ),
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let payment_required = booked.status == AppointmentStatus::Pending
        && booked.price.0 > 0
        && payments::model::requires_payment(party.tenant);
    let mut answer = party.changed(booked, "Agendamento realizado.").await?;
    if payment_required {
        answer["paymentRequired"] = json!(true);
        answer["message"] = json!(
            "Agendamento realizado. O estabelecimento pede pagamento para garantir o horário: gere o link com generate_payment_link e envie ao cliente."
        );
    }
    Ok(answer)
}

/// The payment link of one of the customer's bookings (the pending one when it exists).
pub(super) async fn payment_link(party: &Party<'_>, args: &Value) -> ToolResult {
    let booked = party.own_upcoming(args).await?;
    let link =
        payments::service::link_for_appointment(party.state, party.tenant.id, booked.id).await?;
    let mut answer = json!({
        "ok": true,
        "paymentUrl": link.url,
        "amount": pt_br::money(link.payment.amount),
        "message": "💳 Link de pagamento gerado! Envie o link ao cliente exatamente como está.",
    });
    if let Some(expires) = link.payment.link_expires_at {
        answer["payBefore"] = json!(pt_br::long_date_time(&party.local(expires)));
    }
    Ok(answer)
}

pub(super) async fn list_mine(party: &Party<'_>) -> ToolResult {
    let booked = appointments::service::upcoming_for_customer(
        party.state,
        party.tenant.id,
        party.customer,
        party.now,
        MAX_LISTED,
    )
    .await?;
    let ids: Vec<ServiceId> = booked.iter().map(|b| b.service_id).collect();
    let names = services::service::find_many(&party.state.db, party.tenant.id, &ids).await?;
    let listed: Vec<Value> = booked
        .iter()
        .map(|b| {
            let name = names.get(&b.service_id).map_or("", |s| s.name.as_str());
            party.describe(b, name)
        })
        .collect();
    let mut answer = json!({"ok": true, "appointments": listed});
    if booked.is_empty() {
        answer["message"] = json!("O cliente não tem agendamentos futuros.");
    }
    Ok(answer)
}

pub(super) async fn cancel(party: &Party<'_>, args: &Value) -> ToolResult {
    let booked = party.own_upcoming(args).await?;
    let reason = text_arg(args, "reason")
        .map(|reason| format!("{CANCELED_BY_CUSTOMER}: {reason}"))
        .unwrap_or_else(|| CANCELED_BY_CUSTOMER.to_owned());
    let canceled = appointments::service::change_status_in(
        party.state,
        party.tenant.id,
        booked.id,
        Transition::Cancel,
        Some(reason.chars().take(500).collect()),
        Origin::Customer,
    )
    .await?;
    party.changed(canceled, "Agendamento cancelado.").await
}

pub(super) async fn reschedule(party: &Party<'_>, args: &Value) -> ToolResult {
    let current = party.own_upcoming(args).await?;
    let starts_at = party.starts_at(args)?;
    // Already there: a re-run of this turn after a crash, or the model asking twice.
    let moved = if current.starts_at == starts_at {
        current
    } else {
        appointments::service::reschedule_in(
            party.state,
            party.tenant.id,
            current.id,
            starts_at,
            Origin::Customer,
        )
        .await?
    };
    party.changed(moved, "Agendamento remarcado.").await
}

pub(super) async fn update_profile(party: &Party<'_>, args: &Value) -> ToolResult {
    let name = text_arg(args, "name").map(str::to_owned);
    let email = text_arg(args, "email").map(|email| Some(email.to_owned()));
    if name.is_none() && email.is_none() {
        return Err(ToolError::bad_input("Informe name ou email."));
    }
    let changes = CustomerChanges {
        name,
        email,
        ..CustomerChanges::default()
    };
    let customer =
        customers::service::update_in(party.state, party.tenant.id, party.customer, changes)
            .await?;
    Ok(json!({
        "ok": true,
        "name": customer.name,
        "email": customer.email,
        "message": "Dados do cliente atualizados.",
    }))
}
