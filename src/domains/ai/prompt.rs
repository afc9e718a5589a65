//! The system instruction, built for every turn in Brazilian Portuguese from what is true now:
//! the business, the local date and time, its services, a week of opening hours (every range of
//! each day, closures and special hours included), the customer (a subscriber or not), their
//! upcoming bookings, the business's own instructions, and the rules of the booking protocol.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::{
    domains::{
        appointments::model::Appointment, customers::model::Customer,
        operating_hours::model::Schedule, services::model::Service, tenants::model::Tenant,
    },
    kernel::pt_br,
};

/// Days of opening hours the prompt shows, today included.
pub const WEEK: i64 = 7;

/// What the prompt is built from.
pub struct Facts<'a> {
    pub tenant: &'a Tenant,
    pub customer: &'a Customer,
    /// The name of the customer's active plan.
    pub plan: Option<&'a str>,
    pub services: &'a [Service],
    /// From today to today + 6, in the tenant's zone.
    pub schedule: &'a Schedule,
    pub upcoming: &'a [Appointment],
    pub now: DateTime<Utc>,
}

/// Today, in the tenant's zone.
pub fn today(tenant: &Tenant, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tenant.time_zone.0).date_naive()
}

const RULES: &str = "\
REGRAS
- Responda em português do Brasil, em mensagens curtas no estilo do WhatsApp, com simpatia.
- Use as ferramentas para consultar e agir; nunca invente preços, horários, serviços ou agendamentos.
- Antes de agendar ou remarcar, verifique os horários livres com check_availability.
- Agende (book_appointment) só depois de o cliente confirmar serviço, dia e horário.
- Use as datas da tabela acima; não calcule dias da semana de cabeça.
- Para cancelar ou remarcar, use os ids de list_my_appointments e confirme com o cliente antes.
- Se uma ferramenta recusar (ok: false), explique o motivo ao cliente e ofereça alternativas.
- Se o cliente pedir uma pessoa, ou você não conseguir ajudar, use talk_to_human.
- Nunca mostre ids ao cliente.";

/// The system instruction for this turn.
pub fn system_instruction(facts: &Facts<'_>) -> String {
    let tenant = facts.tenant;
    let zone = tenant.time_zone.0;
    let local_now = facts.now.with_timezone(&zone);
    let today = local_now.date_naive();
    let mut prompt = String::with_capacity(4096);
    let _ = writeln!(
        prompt,
        "Você é o assistente virtual de \"{}\" no WhatsApp. Seu objetivo é ajudar o cliente a conhecer os serviços e a agendar, remarcar ou cancelar horários.",
        tenant.name
    );
    let _ = writeln!(
        prompt,
        "\nAGORA: {}, {} {} (fuso {}).",
        pt_br::weekday_long(today.weekday()),
        today.format("%d/%m/%Y"),
        pt_br::time(&local_now),
        zone.name()
    );
    let _ = writeln!(prompt, "\nCLIENTE: {}", facts.customer.name);
    match facts.plan {
        Some(plan) => {
            let _ = writeln!(
                prompt,
                "O cliente é assinante do plano \"{plan}\": os serviços cobertos pelo plano saem sem custo, dentro do limite do ciclo."
            );
        }
        None => {
            let _ = writeln!(prompt, "O cliente não é assinante de nenhum plano.");
        }
    }
    if tenant.ai_require_email && facts.customer.email.is_none() {
        let _ = writeln!(
            prompt,
            "O cliente ainda não informou e-mail, obrigatório para agendar: peça e registre com update_customer_profile."
        );
    }

    prompt.push_str("\nSERVIÇOS (id | nome: preço, duração)\n");
    if facts.services.is_empty() {
        prompt.push_str("Nenhum serviço cadastrado ainda.\n");
    }
    for service in facts.services {
        let _ = writeln!(
            prompt,
            "- {} | {}: {}, {}",
            service.id,
            service.name,
            pt_br::money(service.price),
            pt_br::duration(service.duration_minutes)
        );
    }

    prompt.push_str("\nHORÁRIO DE FUNCIONAMENTO (próximos 7 dias)\n");
    if facts.schedule.ranges.is_empty() {
        prompt.push_str(
            "ATENÇÃO: o estabelecimento ainda não configurou o horário de funcionamento. Diga ao cliente que os horários ainda não estão disponíveis, peça desculpas, sugira voltar a falar mais tarde e não tente agendar nem invente horários.\n",
        );
    } else {
        for offset in 0..WEEK {
            let date = today + Duration::days(offset);
            let intervals = facts.schedule.open_intervals(date);
            let hours = if intervals.is_empty() {
                "FECHADO".to_owned()
            } else {
                intervals
                    .iter()
                    .map(|interval| {
                        let only = if interval.only_for_subscribers {
                            " (só assinantes)"
                        } else {
                            ""
                        };
                        format!("{}–{}{only}", interval.start, interval.end)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let marker = if offset == 0 { " ← HOJE" } else { "" };
            let _ = writeln!(
                prompt,
                "- {} {}: {hours}{marker}",
                date.format("%Y-%m-%d"),
                pt_br::weekday_long(date.weekday()),
            );
        }
    }

    prompt.push_str("\nPRÓXIMOS AGENDAMENTOS DO CLIENTE\n");
    if facts.upcoming.is_empty() {
        prompt.push_str("Nenhum.\n");
    }
    for booked in facts.upcoming {
        let name = facts
            .services
            .iter()
            .find(|service| service.id == booked.service_id)
            .map_or("serviço", |service| service.name.as_str());
        let _ = writeln!(
            prompt,
            "- {} | {name}: {} ({})",
            booked.id,
            pt_br::long_date_time(&booked.starts_at.with_timezone(&zone)),
            status_pt(booked)
        );
    }

    prompt.push('\n');
    prompt.push_str(RULES);
    if let Some(custom) = tenant
        .ai_custom_prompt
        .as_deref()
        .map(str::trim)
        .filter(|custom| !custom.is_empty())
    {
        let _ = write!(prompt, "\n\nINSTRUÇÕES DO ESTABELECIMENTO\n{custom}");
    }
    prompt
}

fn status_pt(booked: &Appointment) -> &'static str {
    use crate::domains::appointments::model::AppointmentStatus;
    match booked.status {
        AppointmentStatus::Pending => "aguardando confirmação",
        AppointmentStatus::Confirmed => "confirmado",
        AppointmentStatus::Completed => "concluído",
        AppointmentStatus::NoShow => "não compareceu",
        AppointmentStatus::Canceled => "cancelado",
    }
}
