//! `GET /exports/payments.csv?from=YYYY-MM-DD&to=YYYY-MM-DD` and
//! `GET /exports/appointments.csv?from&to`: the finance page's spreadsheets, for a user of the
//! business (`Authorization: Bearer <access token>`; 401 without a valid one).
//!
//! Invariants:
//! - The period is local dates of the business's zone, inclusive, 1 to 366 days (400 naming
//!   `from` or `to` otherwise). Payments count on the date they count on in the finance summary
//!   (approved, else created); appointments on the date they start.
//! - The body is streamed: rows are read by keyset in chunks of [`CHUNK`], each chunk with one
//!   batched lookup per relation, so memory and statements per chunk stay bounded whatever the
//!   period holds.
//! - The format is what spreadsheets in pt-BR open as they are: UTF-8 with a BOM, `;` between
//!   fields, CRLF lines, amounts with a decimal comma and no thousands separator, local times as
//!   `dd/mm/aaaa hh:mm`, Portuguese headers and labels. A field holding `;`, `"` or a line break
//!   is quoted (RFC 4180), and text typed by people that starts like a formula (`=`, `+`, `-`,
//!   `@`) is prefixed with `'`, so a spreadsheet shows it instead of running it.

use std::{borrow::Cow, collections::HashMap, future::Future};

use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    finance::{self, PaymentFilter, Period},
    model::{Payment, PaymentProvider, PaymentStatus},
};
use crate::{
    domains::{
        appointments::{
            self,
            model::{Appointment, AppointmentStatus, ListFilter},
        },
        auth, customers, services,
    },
    kernel::{
        error::{AppError, AppResult},
        ids::TenantId,
        values::{MoneyCents, TimeZone},
    },
    state::AppState,
};

/// Rows read (and written to the body) at a time.
pub const CHUNK: u64 = 500;

/// The query of an export.
#[derive(Debug, Deserialize)]
pub struct PeriodParams {
    from: Option<String>,
    to: Option<String>,
}

/// Who asks, for which business and period.
struct Export {
    tenant: TenantId,
    zone: TimeZone,
    period: Period,
}

pub async fn payments_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<PeriodParams>,
) -> Response {
    let export = match export(&state, &headers, &params).await {
        Ok(export) => export,
        Err(err) => return err.into_response(),
    };
    let (from, to) = export.period.instants(export.zone);
    let filter = PaymentFilter {
        from: Some(from),
        to: Some(to),
        ..PaymentFilter::default()
    };
    let Export {
        tenant,
        zone,
        period,
    } = export;
    let rows = chunks(move |after| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            let page = finance::export_chunk(&state, tenant, &filter, after, CHUNK).await?;
            let next = next_cursor(&page, |(at, payment)| (*at, payment.id.0));
            Ok((payment_lines(&state, tenant, zone, &page).await?, next))
        }
    });
    csv("pagamentos", period, PAYMENT_HEADER, rows)
}

pub async fn appointments_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<PeriodParams>,
) -> Response {
    let export = match export(&state, &headers, &params).await {
        Ok(export) => export,
        Err(err) => return err.into_response(),
    };
    let (from, to) = export.period.instants(export.zone);
    let filter = ListFilter {
        from: Some(from),
        to: Some(to),
        statuses: Vec::new(),
        customer: None,
        service: None,
    };
    let Export {
        tenant,
        zone,
        period,
    } = export;
    let rows = chunks(move |after| {
        let state = state.clone();
        let filter = filter.clone();
        async move {
            let page =
                appointments::service::page_in(&state.db, tenant, &filter, after, CHUNK).await?;
            let next = next_cursor(&page, |a| (a.starts_at, a.id.0));
            Ok((appointment_lines(&state, tenant, zone, &page).await?, next))
        }
    });
    csv("agendamentos", period, APPOINTMENT_HEADER, rows)
}

/// Authenticates the bearer token and reads the period.
async fn export(state: &AppState, headers: &HeaderMap, params: &PeriodParams) -> AppResult<Export> {
    let token = auth::service::bearer_token(headers).ok_or_else(AppError::unauthenticated)?;
    let (viewer, tenant) = auth::service::authenticate_with_tenant(state, token).await?;
    let tenant_id = viewer.tenant()?;
    let tenant = tenant
        .filter(|tenant| tenant.id == tenant_id)
        .ok_or(AppError::NotFound("tenant"))?;
    let date = |field: &'static str, raw: &Option<String>| {
        let raw = raw.as_deref().ok_or_else(|| {
            AppError::bad_input(field, format!("{field} is required (YYYY-MM-DD)"))
        })?;
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            AppError::bad_input(field, format!("{field} must be a date as YYYY-MM-DD"))
        })
    };
    let period = Period::parse(date("from", &params.from)?, date("to", &params.to)?)?;
    Ok(Export {
        tenant: tenant.id,
        zone: tenant.time_zone,
        period,
    })
}

/// The keyset cursor after a chunk, or `None` when it was the last (shorter than [`CHUNK`]).
fn next_cursor<T>(
    page: &[T],
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> Option<(DateTime<Utc>, Uuid)> {
    page.last().filter(|_| page.len() as u64 == CHUNK).map(key)
}

type Key = (DateTime<Utc>, Uuid);

/// The body after the header: `chunk(after)` renders the rows past `after` and says where the
/// next chunk starts; the stream ends after a chunk with no next cursor. A failure ends the
/// body early (the client sees a cut download), and is logged.
fn chunks<F, Fut>(chunk: F) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>>
where
    F: Fn(Option<Key>) -> Fut + Send + 'static,
    Fut: Future<Output = AppResult<(String, Option<Key>)>> + Send + 'static,
{
    // `None`: the previous chunk was the last.
    stream::try_unfold(Some(None), move |after: Option<Option<Key>>| {
        let next = after.map(&chunk);
        async move {
            let Some(next) = next else {
                return Ok(None);
            };
            match next.await {
                Ok((text, after)) => Ok(Some((Bytes::from(text), after.map(Some)))),
                Err(err) => {
                    tracing::error!(error = ?err, "a CSV export failed midway");
                    Err(std::io::Error::other("export failed"))
                }
            }
        }
    })
}

/// The streamed response: the BOM and the header line, then the rows.
fn csv(
    name: &str,
    period: Period,
    header_line: &[&str],
    rows: impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let mut head = String::from('\u{feff}');
    line(&mut head, header_line.iter().map(|h| Cow::Borrowed(*h)));
    let body = stream::once(async move { Ok(Bytes::from(head)) }).chain(rows);
    let disposition = format!(
        "attachment; filename=\"{name}_{}_{}.csv\"",
        period.from, period.to
    );
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// Appends one CSV line: fields separated by `;`, quoted when they hold `;`, `"` or a line
/// break, ended by CRLF.
fn line<'a>(out: &mut String, fields: impl IntoIterator<Item = Cow<'a, str>>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        if field.contains([';', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
}

/// Text typed by people: one that a spreadsheet would read as a formula gets a leading `'`.
fn typed(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `4990` → `49,90`.
fn amount(cents: MoneyCents) -> Cow<'static, str> {
    Cow::Owned(cents.to_string().replace('.', ","))
}

fn local(zone: TimeZone, at: DateTime<Utc>) -> Cow<'static, str> {
    Cow::Owned(
        at.with_timezone(&zone.0)
            .format("%d/%m/%Y %H:%M")
            .to_string(),
    )
}

fn optional<'a>(value: Option<Cow<'a, str>>) -> Cow<'a, str> {
    value.unwrap_or(Cow::Borrowed(""))
}

const PAYMENT_HEADER: &[&str] = &[
    "Data",
    "Status",
    "Provedor",
    "Forma de pagamento",
    "Valor",
    "Valor pago",
    "Taxas",
    "Líquido",
    "Reembolsado",
    "Cliente",
    "Telefone",
    "Serviço",
    "Agendamento",
    "ID do pagamento",
    "ID no provedor",
];

fn payment_status_pt_br(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Pending => "Pendente",
        PaymentStatus::Authorized => "Autorizado",
        PaymentStatus::InProcess => "Em análise",
        PaymentStatus::Approved => "Aprovado",
        PaymentStatus::Rejected => "Recusado",
        PaymentStatus::Canceled => "Cancelado",
        PaymentStatus::Refunded => "Reembolsado",
        PaymentStatus::PartiallyRefunded => "Reembolsado em parte",
        PaymentStatus::ChargedBack => "Estornado",
        PaymentStatus::InMediation => "Em disputa",
    }
}

fn provider_pt_br(provider: PaymentProvider) -> &'static str {
    match provider {
        PaymentProvider::MercadoPago => "Mercado Pago",
        PaymentProvider::InfinitePay => "InfinitePay",
    }
}

/// The lines of a chunk of payments, with their customers, services and appointments read in
/// one batch each.
async fn payment_lines(
    state: &AppState,
    tenant: TenantId,
    zone: TimeZone,
    page: &[(DateTime<Utc>, Payment)],
) -> AppResult<String> {
    let customer_ids: Vec<_> = page.iter().filter_map(|(_, p)| p.customer).collect();
    let service_ids: Vec<_> = page.iter().filter_map(|(_, p)| p.service).collect();
    let appointment_ids: Vec<_> = page.iter().filter_map(|(_, p)| p.appointment).collect();
    let (customers, services, appointments) = futures_util::try_join!(
        customers::service::find_many(&state.db, tenant, &customer_ids),
        services::service::find_many(&state.db, tenant, &service_ids),
        appointments::service::find_many(&state.db, tenant, &appointment_ids),
    )?;
    let mut out = String::new();
    for (at, payment) in page {
        let customer = payment.customer.and_then(|id| customers.get(&id));
        let service = payment.service.and_then(|id| services.get(&id));
        let appointment = payment.appointment.and_then(|id| appointments.get(&id));
        line(
            &mut out,
            [
                local(zone, *at),
                payment_status_pt_br(payment.status).into(),
                provider_pt_br(payment.provider).into(),
                payment.method.map_or("", |m| m.label_pt_br()).into(),
                amount(payment.amount),
                optional(payment.paid_amount.map(amount)),
                optional(payment.fee.map(amount)),
                optional(payment.net.map(amount)),
                amount(payment.refunded),
                optional(customer.map(|c| typed(&c.name))),
                optional(customer.map(|c| typed(&c.phone))),
                optional(service.map(|s| typed(&s.name))),
                optional(appointment.map(|a| local(zone, a.starts_at))),
                payment.id.to_string().into(),
                optional(payment.external_id.as_deref().map(typed)),
            ],
        );
    }
    Ok(out)
}

const APPOINTMENT_HEADER: &[&str] = &[
    "Início",
    "Fim",
    "Status",
    "Cliente",
    "Telefone",
    "Serviço",
    "Preço",
    "Pago em",
    "Observações",
    "Motivo do cancelamento",
    "ID do agendamento",
];

fn appointment_status_pt_br(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Pending => "Pendente",
        AppointmentStatus::Confirmed => "Confirmado",
        AppointmentStatus::Completed => "Concluído",
        AppointmentStatus::NoShow => "Não compareceu",
        AppointmentStatus::Canceled => "Cancelado",
    }
}

/// The lines of a chunk of appointments, with their customers and services read in one batch
/// each.
async fn appointment_lines(
    state: &AppState,
    tenant: TenantId,
    zone: TimeZone,
    page: &[Appointment],
) -> AppResult<String> {
    let customer_ids: Vec<_> = page.iter().map(|a| a.customer_id).collect();
    let service_ids: Vec<_> = page.iter().map(|a| a.service_id).collect();
    let (customers, services): (HashMap<_, _>, HashMap<_, _>) = futures_util::try_join!(
        customers::service::find_many(&state.db, tenant, &customer_ids),
        services::service::find_many(&state.db, tenant, &service_ids),
    )?;
    let mut out = String::new();
    for appointment in page {
        let customer = customers.get(&appointment.customer_id);
        let service = services.get(&appointment.service_id);
        line(
            &mut out,
            [
                local(zone, appointment.starts_at),
                local(zone, appointment.ends_at),
                appointment_status_pt_br(appointment.status).into(),
                optional(customer.map(|c| typed(&c.name))),
                optional(customer.map(|c| typed(&c.phone))),
                optional(service.map(|s| typed(&s.name))),
                amount(appointment.price),
                optional(appointment.paid_at.map(|at| local(zone, at))),
                optional(appointment.notes.as_deref().map(typed)),
                optional(appointment.cancellation_reason.as_deref().map(typed)),
                appointment.id.to_string().into(),
            ],
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_neutralized() {
        let mut out = String::new();
        line(
            &mut out,
            [
                Cow::Borrowed("plain"),
                Cow::Borrowed("a;b"),
                Cow::Borrowed("say \"hi\""),
                Cow::Borrowed("two\nlines"),
                typed("=HYPERLINK(\"x\")"),
                amount(MoneyCents(-150)),
            ],
        );
        assert_eq!(
            out,
            "plain;\"a;b\";\"say \"\"hi\"\"\";\"two\nlines\";\"'=HYPERLINK(\"\"x\"\")\";-1,50\r\n"
        );
    }
}
