//! The assistant's tools: what the model may do, declared to it with their parameters, and run
//! through the same domain services and rules as the dashboard and the menu.
//!
//! Invariants:
//! - A tool acts as the conversation's customer of the conversation's tenant, never as anyone
//!   the model names: ids it sends are parsed and re-checked (another customer's booking, another
//!   tenant's service or a made-up id are all NOT_FOUND, and nothing changes).
//! - A refusal is a result, not a failure: the model gets `{"ok": false, "error": {code,
//!   message}}` (Portuguese) and can explain it or try something else. Only an internal failure
//!   (the database) ends the turn.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use serde_json::{Value, json};

use crate::{
    clients::gemini::{FunctionCall, FunctionDeclaration},
    domains::{
        appointments::{
            self,
            model::{Appointment, Origin, Transition},
        },
        customers::{self, service::CustomerChanges},
        services,
        tenants::model::Tenant,
    },
    kernel::{
        error::{AppError, AppResult, ErrorCode},
        ids::{AppointmentId, CustomerId, ServiceId, TypedId},
        pt_br,
        values::EnumStr,
    },
    state::AppState,
};

/// Who a tool acts for, and when.
pub struct Party<'a> {
    pub state: &'a AppState,
    pub tenant: &'a Tenant,
    pub customer: CustomerId,
    pub now: DateTime<Utc>,
}

/// What a tool answered, and whether the customer asked for a person.
pub struct ToolOutcome {
    pub response: Value,
    pub talk_to_human: bool,
}

/// The longest span `check_availability` searches at once.
const MAX_SEARCH_DAYS: i64 = 7;

/// Bookings `list_my_appointments` shows at most.
const MAX_LISTED: u64 = 20;

const CANCELED_BY_CUSTOMER: &str = "Cancelado pelo cliente no WhatsApp";

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "OBJECT", "properties": properties, "required": required})
}

fn string(description: &str) -> Value {
    json!({"type": "STRING", "description": description})
}

fn declaration(name: &str, description: &str, parameters: Value) -> FunctionDeclaration {
    FunctionDeclaration {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
    }
}

/// The tools as the model sees them.
pub fn declarations() -> Vec<FunctionDeclaration> {
    let date = "Data no formato YYYY-MM-DD (fuso do estabelecimento)";
    let time = "Horário no formato HH:MM (24 horas, fuso do estabelecimento)";
    vec![
        declaration(
            "list_services",
            "Lista os serviços do estabelecimento com id, preço e duração.",
            object(json!({}), &[]),
        ),
        declaration(
            "check_availability",
            "Horários livres de um serviço em um dia (date) ou num intervalo de até 7 dias (from/to). Sem datas: os próximos 7 dias.",
            object(
                json!({
                    "serviceId": string("Id do serviço (de list_services)"),
                    "date": string(date),
                    "from": string("Primeiro dia do intervalo, YYYY-MM-DD"),
                    "to": string("Último dia do intervalo, YYYY-MM-DD"),
                }),
                &["serviceId"],
            ),
        ),
        declaration(
            "book_appointment",
            "Agenda o serviço para o cliente no dia e horário dados. Só use depois de verificar a disponibilidade e de o cliente confirmar serviço, dia e horário.",
            object(
                json!({
                    "serviceId": string("Id do serviço"),
                    "date": string(date),
                    "time": string(time),
                }),
                &["serviceId", "date", "time"],
            ),
        ),
        declaration(
            "list_my_appointments",
            "Lista os próximos agendamentos do cliente, com seus ids.",
            object(json!({}), &[]),
        ),
        declaration(
            "cancel_appointment",
            "Cancela um agendamento futuro do cliente. Confirme com o cliente antes.",
            object(
                json!({
                    "appointmentId": string("Id do agendamento (de list_my_appointments)"),
                    "reason": string("Motivo informado pelo cliente"),
                }),
                &["appointmentId"],
            ),
        ),
        declaration(
            "reschedule_appointment",
            "Remarca um agendamento futuro do cliente para outro dia e horário livre.",
            object(
                json!({
                    "appointmentId": string("Id do agendamento"),
                    "date": string(date),
                    "time": string(time),
                }),
                &["appointmentId", "date", "time"],
            ),
        ),
        declaration(
            "update_customer_profile",
            "Atualiza o nome e/ou o e-mail do cliente.",
            object(
                json!({
                    "name": string("Nome do cliente"),
                    "email": string("E-mail do cliente"),
                }),
                &[],
            ),
        ),
        declaration(
            "talk_to_human",
            "Chama uma pessoa da equipe para continuar o atendimento (o cliente pediu, ou você não consegue ajudar).",
            object(
                json!({"reason": string("Por que o cliente precisa de uma pessoa")}),
                &["reason"],
            ),
        ),
    ]
}

/// A refusal the model reads: a stable code and a Portuguese message.
struct Refusal {
    code: ErrorCode,
    message: String,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadUserInput, message)
    }

    fn response(&self) -> Value {
        let code: &'static str = self.code.into();
        json!({"ok": false, "error": {"code": code, "message": self.message}})
    }
}

/// A tool's own result: a value for the model, a refusal, or a failure that ends the turn.
type ToolResult = Result<Result<Value, Refusal>, AppError>;

/// What the domain refused, as the model should read it; internal failures stay failures.
fn refused(err: AppError) -> ToolResult {
    let message = match &err {
        AppError::NotFound(what) => format!("{} não encontrado.", entity_pt(what)),
        AppError::Conflict(message) => {
            format!("Não foi possível: este horário não está disponível ({message}).")
        }
        AppError::BadUserInput { message, .. } => format!("Não foi possível: {message}"),
        AppError::Forbidden(message) => format!("Não permitido: {message}"),
        AppError::RateLimited { .. } => "Muitas tentativas; tente mais tarde.".to_owned(),
        AppError::Unauthenticated(_)
        | AppError::TokenExpired
        | AppError::Db(_)
        | AppError::Internal(_) => return Err(err),
    };
    Ok(Err(Refusal::new(err.code(), message)))
}

fn entity_pt(entity: &str) -> &'static str {
    match entity {
        "appointment" => "Agendamento",
        "service" => "Serviço",
        "customer" => "Cliente",
        _ => "Registro",
    }
}

/// Runs one call. An unknown tool or a missing argument is a refusal the model can correct.
pub async fn run(party: &Party<'_>, call: &FunctionCall) -> AppResult<ToolOutcome> {
    let args = &call.args;
    let result = match call.name.as_str() {
        "list_services" => list_services(party).await,
        "check_availability" => check_availability(party, args).await,
        "book_appointment" => book(party, args).await,
        "list_my_appointments" => list_mine(party).await,
        "cancel_appointment" => cancel(party, args).await,
        "reschedule_appointment" => reschedule(party, args).await,
        "update_customer_profile" => update_profile(party, args).await,
        "talk_to_human" => {
            return Ok(ToolOutcome {
                response: json!({
                    "ok": true,
                    "message": "Uma pessoa da equipe foi avisada e vai continuar o atendimento por aqui.",
                }),
                talk_to_human: true,
            });
        }
        other => Ok(Err(Refusal::new(
            ErrorCode::NotFound,
            format!("Ferramenta desconhecida: {other}"),
        ))),
    }?;
    Ok(ToolOutcome {
        response: match result {
            Ok(value) => value,
            Err(refusal) => refusal.response(),
        },
        talk_to_human: false,
    })
}

fn text_arg<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn required<'a>(args: &'a Value, name: &str) -> Result<&'a str, Refusal> {
    text_arg(args, name).ok_or_else(|| Refusal::bad_input(format!("Informe {name}.")))
}

fn date_arg(args: &Value, name: &str) -> Result<Option<NaiveDate>, Refusal> {
    text_arg(args, name)
        .map(|raw| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
                Refusal::bad_input(format!("Data inválida em {name}: use YYYY-MM-DD."))
            })
        })
        .transpose()
}

fn id_arg<T: TypedId>(args: &Value, name: &str) -> Result<T, Refusal> {
    let raw = required(args, name)?;
    T::parse(raw).map_err(|_| {
        Refusal::new(
            ErrorCode::NotFound,
            format!("{} não encontrado.", entity_pt(T::ENTITY)),
        )
    })
}

impl Party<'_> {
    fn local(&self, at: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
        at.with_timezone(&self.tenant.time_zone.0)
    }

    fn today(&self) -> NaiveDate {
        self.local(self.now).date_naive()
    }

    /// The instant local midnight starts `date` in the tenant's zone.
    fn start_of(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.tenant
            .time_zone
            .0
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
    }

    /// The instant of `date` `time` in the tenant's zone, which must be ahead.
    fn starts_at(&self, args: &Value) -> Result<DateTime<Utc>, Refusal> {
        let date = date_arg(args, "date")?.ok_or_else(|| Refusal::bad_input("Informe date."))?;
        let time = NaiveTime::parse_from_str(required(args, "time")?, "%H:%M")
            .map_err(|_| Refusal::bad_input("Horário inválido: use HH:MM."))?;
        let at = self
            .tenant
            .time_zone
            .0
            .from_local_datetime(&date.and_time(time))
            .earliest()
            .ok_or_else(|| Refusal::bad_input("Esse horário não existe neste fuso."))?
            .with_timezone(&Utc);
        if at <= self.now {
            return Err(Refusal::bad_input("Esse horário já passou."));
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

    /// The customer's upcoming active booking `id`: another customer's, a past or a canceled one
    /// is NOT_FOUND to the model.
    async fn own_upcoming(&self, id: AppointmentId) -> AppResult<Option<Appointment>> {
        match appointments::service::find_in(self.state, self.tenant.id, id).await {
            Ok(booked) => Ok((booked.customer_id == self.customer
                && booked.status.is_active()
                && booked.starts_at > self.now)
                .then_some(booked)),
            Err(AppError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn service_name(&self, id: ServiceId) -> AppResult<String> {
        Ok(services::service::find(&self.state.db, self.tenant.id, id)
            .await?
            .name)
    }
}

fn not_found_appointment() -> Refusal {
    Refusal::new(ErrorCode::NotFound, "Agendamento não encontrado.")
}

async fn list_services(party: &Party<'_>) -> ToolResult {
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
    Ok(Ok(answer))
}

async fn check_availability(party: &Party<'_>, args: &Value) -> ToolResult {
    let service = match id_arg::<ServiceId>(args, "serviceId") {
        Ok(id) => id,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let window = (|| {
        let today = party.today();
        let (first, last) = match (
            date_arg(args, "date")?,
            date_arg(args, "from")?,
            date_arg(args, "to")?,
        ) {
            (Some(date), _, _) => (date, date),
            (None, Some(from), to) => (
                from,
                to.unwrap_or(from + Duration::days(MAX_SEARCH_DAYS - 1)),
            ),
            (None, None, Some(to)) => (today, to),
            (None, None, None) => (today, today + Duration::days(MAX_SEARCH_DAYS - 1)),
        };
        if last < today {
            return Err(Refusal::bad_input(
                "Não é possível agendar para datas passadas.",
            ));
        }
        if last < first {
            return Err(Refusal::bad_input("O último dia vem antes do primeiro."));
        }
        if (last - first).num_days() >= MAX_SEARCH_DAYS {
            return Err(Refusal::bad_input("Consulte no máximo 7 dias por vez."));
        }
        Ok((first.max(today), last))
    })();
    let (first, last) = match window {
        Ok(window) => window,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let (Some(from), Some(to)) = (
        party.start_of(first),
        party.start_of(last + Duration::days(1)),
    ) else {
        return Ok(Err(Refusal::bad_input("Datas fora do calendário.")));
    };
    let from = from.max(party.now);
    let found =
        match services::service::find_bookable(&party.state.db, party.tenant.id, service).await {
            Ok(found) => found,
            Err(err) => return refused(err),
        };
    let slots = match appointments::service::slots_in(
        party.state,
        party.tenant.id,
        service,
        from,
        to,
        Some(party.customer),
    )
    .await
    {
        Ok(slots) => slots,
        Err(err) => return refused(err),
    };
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
    Ok(Ok(answer))
}

async fn book(party: &Party<'_>, args: &Value) -> ToolResult {
    let (service, starts_at) = match id_arg::<ServiceId>(args, "serviceId")
        .and_then(|service| Ok((service, party.starts_at(args)?)))
    {
        Ok(parsed) => parsed,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if party.tenant.ai_require_email {
        let customer =
            customers::service::find(&party.state.db, party.tenant.id, party.customer).await?;
        if customer.email.is_none() {
            return Ok(Err(Refusal::bad_input(
                "Antes de agendar, peça o e-mail do cliente e registre com update_customer_profile.",
            )));
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
            // The customer's own booking of this very slot: an earlier run of this turn booked it
            // and stopped before answering (a crash); it answers as it would have.
            let own = appointments::service::upcoming_for_customer(
                party.state,
                party.tenant.id,
                party.customer,
                starts_at - Duration::seconds(1),
                1,
            )
            .await?
            .into_iter()
            .find(|own| own.service_id == service && own.starts_at == starts_at);
            match own {
                Some(own) => own,
                None => {
                    return Ok(Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!(
                            "Este horário acabou de ser reservado ({reason}). Ofereça outros horários livres."
                        ),
                    )));
                }
            }
        }
        Err(err) => return refused(err),
    };
    let name = party.service_name(booked.service_id).await?;
    let mut answer = json!({"ok": true, "appointment": party.describe(&booked, &name)});
    answer["message"] = json!("Agendamento realizado.");
    Ok(Ok(answer))
}

async fn list_mine(party: &Party<'_>) -> ToolResult {
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
    Ok(Ok(answer))
}

async fn cancel(party: &Party<'_>, args: &Value) -> ToolResult {
    let id = match id_arg::<AppointmentId>(args, "appointmentId") {
        Ok(id) => id,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if party.own_upcoming(id).await?.is_none() {
        return Ok(Err(not_found_appointment()));
    }
    let reason = text_arg(args, "reason")
        .map(|reason| format!("{CANCELED_BY_CUSTOMER}: {reason}"))
        .unwrap_or_else(|| CANCELED_BY_CUSTOMER.to_owned());
    let reason: String = reason.chars().take(500).collect();
    let canceled = match appointments::service::change_status_in(
        party.state,
        party.tenant.id,
        id,
        Transition::Cancel,
        Some(reason),
        Origin::Customer,
    )
    .await
    {
        Ok(canceled) => canceled,
        Err(err) => return refused(err),
    };
    let name = party.service_name(canceled.service_id).await?;
    Ok(Ok(
        json!({"ok": true, "appointment": party.describe(&canceled, &name), "message": "Agendamento cancelado."}),
    ))
}

async fn reschedule(party: &Party<'_>, args: &Value) -> ToolResult {
    let (id, starts_at) = match id_arg::<AppointmentId>(args, "appointmentId")
        .and_then(|id| Ok((id, party.starts_at(args)?)))
    {
        Ok(parsed) => parsed,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let Some(current) = party.own_upcoming(id).await? else {
        return Ok(Err(not_found_appointment()));
    };
    let moved = if current.starts_at == starts_at {
        // Already there: a re-run of this turn after a crash, or the model asking twice.
        current
    } else {
        match appointments::service::reschedule_in(
            party.state,
            party.tenant.id,
            id,
            starts_at,
            Origin::Customer,
        )
        .await
        {
            Ok(moved) => moved,
            Err(err) => return refused(err),
        }
    };
    let name = party.service_name(moved.service_id).await?;
    Ok(Ok(
        json!({"ok": true, "appointment": party.describe(&moved, &name), "message": "Agendamento remarcado."}),
    ))
}

async fn update_profile(party: &Party<'_>, args: &Value) -> ToolResult {
    let name = text_arg(args, "name").map(str::to_owned);
    let email = text_arg(args, "email").map(|email| Some(email.to_owned()));
    if name.is_none() && email.is_none() {
        return Ok(Err(Refusal::bad_input("Informe name ou email.")));
    }
    let changes = CustomerChanges {
        name,
        email,
        ..CustomerChanges::default()
    };
    match customers::service::update_in(party.state, party.tenant.id, party.customer, changes).await
    {
        Ok(customer) => Ok(Ok(json!({
            "ok": true,
            "name": customer.name,
            "email": customer.email,
            "message": "Dados do cliente atualizados.",
        }))),
        Err(err) => refused(err),
    }
}
