//! The assistant's tools: what the model may do, declared to it with their parameters, and run
//! through the same domain services and rules as the dashboard and the menu.
//!
//! Invariants:
//! - A tool acts as the conversation's customer of the conversation's tenant, never as anyone
//!   the model names: ids it sends are parsed and re-checked (another customer's booking, another
//!   tenant's service or a made-up id are all NOT_FOUND, and nothing changes).
//! - A refusal is a result, not a failure: the model gets `{"ok": false, "error": {code,
//!   message}}` (Portuguese) and can explain it or try something else. Only a failure of ours
//!   (the database) ends the turn.

mod bookings;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::{
    clients::gemini::{FunctionCall, FunctionDeclaration},
    domains::tenants::model::Tenant,
    kernel::{
        error::{AppError, AppResult, ErrorCode},
        ids::{CustomerId, TypedId},
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
            "generate_payment_link",
            "Gera (ou reenvia) o link de pagamento de um agendamento do cliente. Use quando book_appointment indicar paymentRequired, ou quando o cliente pedir para pagar.",
            object(
                json!({"appointmentId": string("Id do agendamento")}),
                &["appointmentId"],
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

/// Why a tool did not do what the model asked.
enum ToolError {
    /// A refusal the model reads and can act on: a stable code and a Portuguese message.
    Refused { code: ErrorCode, message: String },
    /// A failure of ours (the database): the turn ends and the menu answers.
    Failed(AppError),
}

impl ToolError {
    fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    fn bad_input(message: impl Into<String>) -> Self {
        Self::refused(ErrorCode::BadUserInput, message)
    }
}

/// What the domain refused, as the model should read it; internal failures stay failures.
impl From<AppError> for ToolError {
    fn from(err: AppError) -> Self {
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
            | AppError::Internal(_) => return Self::Failed(err),
        };
        Self::refused(err.code(), message)
    }
}

type ToolResult = Result<Value, ToolError>;

fn entity_pt(entity: &str) -> &'static str {
    match entity {
        "appointment" => "Agendamento",
        "service" => "Serviço",
        "customer" => "Cliente",
        "payment" => "Pagamento",
        _ => "Registro",
    }
}

/// Runs one call. An unknown tool or a missing argument is a refusal the model can correct.
pub async fn run(party: &Party<'_>, call: &FunctionCall) -> AppResult<ToolOutcome> {
    let args = &call.args;
    let result = match call.name.as_str() {
        "list_services" => bookings::list_services(party).await,
        "check_availability" => bookings::check_availability(party, args).await,
        "book_appointment" => bookings::book(party, args).await,
        "list_my_appointments" => bookings::list_mine(party).await,
        "cancel_appointment" => bookings::cancel(party, args).await,
        "reschedule_appointment" => bookings::reschedule(party, args).await,
        "update_customer_profile" => bookings::update_profile(party, args).await,
        "generate_payment_link" => bookings::payment_link(party, args).await,
        "talk_to_human" => {
            return Ok(ToolOutcome {
                response: json!({
                    "ok": true,
                    "message": "Uma pessoa da equipe foi avisada e vai continuar o atendimento por aqui.",
                }),
                talk_to_human: true,
            });
        }
        other => Err(ToolError::refused(
            ErrorCode::NotFound,
            format!("Ferramenta desconhecida: {other}"),
        )),
    };
    let response = match result {
        Ok(value) => value,
        Err(ToolError::Refused { code, message }) => {
            let code: &'static str = code.into();
            json!({"ok": false, "error": {"code": code, "message": message}})
        }
        Err(ToolError::Failed(err)) => return Err(err),
    };
    Ok(ToolOutcome {
        response,
        talk_to_human: false,
    })
}

fn text_arg<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn required<'a>(args: &'a Value, name: &str) -> Result<&'a str, ToolError> {
    text_arg(args, name).ok_or_else(|| ToolError::bad_input(format!("Informe {name}.")))
}

fn date_arg(args: &Value, name: &str) -> Result<Option<NaiveDate>, ToolError> {
    text_arg(args, name)
        .map(|raw| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
                ToolError::bad_input(format!("Data inválida em {name}: use YYYY-MM-DD."))
            })
        })
        .transpose()
}

/// An id the model sent: one that does not parse is as unknown as another customer's.
fn id_arg<T: TypedId>(args: &Value, name: &str) -> Result<T, ToolError> {
    T::parse(required(args, name)?).map_err(|_| {
        ToolError::refused(
            ErrorCode::NotFound,
            format!("{} não encontrado.", entity_pt(T::ENTITY)),
        )
    })
}
