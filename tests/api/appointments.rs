use chrono::{DateTime, Duration, Utc, Weekday};
use chrono_tz::America::Sao_Paulo;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, fixtures::next_local, spawn_app};

const CREATE: &str = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) {
    id startsAt endsAt status price { amount currency } notes customer { id name } service { id name } subscription { id } } }";

/// A tenant open Monday to Saturday 09:00–18:00 with a 60-minute R$ 50 service and a customer.
pub struct Salon {
    pub token: String,
    pub tenant: String,
    pub service: String,
    pub customer: String,
}

pub async fn salon(app: &TestApp) -> Salon {
    let (token, tenant) = app.tenant_owner().await;
    app.seed_hours(&tenant, &[0, 1, 2, 3, 4, 5], "09:00", "18:00", false)
        .await;
    let service = app.seed_service(&tenant, "Corte", 5_000, 60).await;
    let customer = app.seed_customer(&tenant, "João").await;
    Salon {
        token,
        tenant,
        service,
        customer,
    }
}

pub async fn book(app: &TestApp, salon: &Salon, at: DateTime<Utc>) -> crate::helpers::GqlResponse {
    app.gql(
        Some(&salon.token),
        CREATE,
        json!({"i": {"customerId": salon.customer, "serviceId": salon.service, "startsAt": at.to_rfc3339()}}),
    )
    .await
}

#[tokio::test]
async fn booking_snapshots_the_price_and_shows_local_times() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Tue, 10, 0);
    let created = book(&app, &salon, at).await;
    let appointment = &created.data()["createAppointment"];
    assert_eq!(appointment["status"], "PENDING");
    assert_eq!(
        appointment["price"],
        json!({"amount": "50.00", "currency": "BRL"})
    );
    assert!(
        appointment["startsAt"]
            .as_str()
            .unwrap()
            .ends_with("T10:00:00-03:00"),
        "{appointment}"
    );
    assert!(
        appointment["endsAt"]
            .as_str()
            .unwrap()
            .ends_with("T11:00:00-03:00")
    );
    assert_eq!(appointment["customer"]["name"], "João");
    assert_eq!(appointment["service"]["name"], "Corte");
    assert!(appointment["subscription"].is_null());

    // Later price changes do not touch the snapshot.
    entity::services::Entity::update_many()
        .col_expr(entity::services::Column::PriceCents, Expr::value(9_900))
        .exec(&app.state.db)
        .await
        .unwrap();
    let read = app
        .gql(
            Some(&salon.token),
            "query($id: ID!) { appointment(id: $id) { price { amount } } }",
            json!({"id": appointment["id"]}),
        )
        .await;
    assert_eq!(read.data()["appointment"]["price"]["amount"], "50.00");
}

#[tokio::test]
async fn past_closed_and_out_of_hours_starts_are_refused_in_portuguese() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let past = book(&app, &salon, Utc::now() - Duration::hours(1)).await;
    assert_eq!(past.code(), "BAD_USER_INPUT");
    assert_eq!(
        past.message(),
        "Não é possível agendar para datas passadas."
    );

    let sunday = book(&app, &salon, next_local(&Sao_Paulo, Weekday::Sun, 10, 0)).await;
    assert_eq!(sunday.code(), "BAD_USER_INPUT");
    assert_eq!(sunday.message(), "Não há expediente neste dia (domingo).");

    for (hour, minute) in [(8, 30), (17, 30), (18, 0)] {
        let outside = book(
            &app,
            &salon,
            next_local(&Sao_Paulo, Weekday::Tue, hour, minute),
        )
        .await;
        assert_eq!(
            outside.message(),
            "O horário escolhido está fora do horário de funcionamento.",
            "{hour}:{minute}"
        );
    }
    assert_eq!(
        book(&app, &salon, next_local(&Sao_Paulo, Weekday::Tue, 17, 0))
            .await
            .data()["createAppointment"]["status"],
        "PENDING"
    );

    let holiday = next_local(&Sao_Paulo, Weekday::Wed, 10, 0);
    app.seed_closure(
        &salon.tenant,
        holiday.with_timezone(&Sao_Paulo).date_naive(),
    )
    .await;
    assert_eq!(
        book(&app, &salon, holiday).await.message(),
        "Não há expediente neste dia (quarta-feira)."
    );
}

#[tokio::test]
async fn an_overlap_is_a_conflict_naming_the_taken_interval() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Thu, 10, 0);
    book(&app, &salon, at).await.data();
    let overlapping = book(&app, &salon, at + Duration::minutes(30)).await;
    assert_eq!(overlapping.code(), "CONFLICT");
    let local = at.with_timezone(&Sao_Paulo);
    assert_eq!(
        overlapping.message(),
        format!(
            "Este horário não está disponível. Já existe um agendamento em {} das 10:00 às 11:00.",
            local.format("%d/%m/%Y")
        )
    );
    // Touching intervals are fine.
    assert_eq!(
        book(&app, &salon, at + Duration::hours(1)).await.data()["createAppointment"]["status"],
        "PENDING"
    );
    assert_eq!(
        book(&app, &salon, at - Duration::hours(1)).await.data()["createAppointment"]["status"],
        "PENDING"
    );
}

const RESCHEDULE: &str = "mutation($id: ID!, $at: DateTime!) { rescheduleAppointment(id: $id, startsAt: $at) { startsAt endsAt } }";

#[tokio::test]
async fn rescheduling_checks_hours_and_conflicts_but_not_against_itself() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Fri, 10, 0);
    let first = book(&app, &salon, at).await.data()["createAppointment"]["id"].clone();
    book(&app, &salon, at + Duration::hours(2)).await.data();

    let shifted = app
        .gql(
            Some(&salon.token),
            RESCHEDULE,
            json!({"id": first, "at": (at + Duration::minutes(30)).to_rfc3339()}),
        )
        .await;
    assert!(
        shifted.data()["rescheduleAppointment"]["startsAt"]
            .as_str()
            .unwrap()
            .ends_with("T10:30:00-03:00")
    );
    assert!(
        shifted.data()["rescheduleAppointment"]["endsAt"]
            .as_str()
            .unwrap()
            .ends_with("T11:30:00-03:00")
    );

    let taken = app
        .gql(
            Some(&salon.token),
            RESCHEDULE,
            json!({"id": first, "at": (at + Duration::minutes(90)).to_rfc3339()}),
        )
        .await;
    assert_eq!(taken.code(), "CONFLICT");
    let closed = app
        .gql(
            Some(&salon.token),
            RESCHEDULE,
            json!({"id": first, "at": next_local(&Sao_Paulo, Weekday::Sun, 10, 0).to_rfc3339()}),
        )
        .await;
    assert_eq!(closed.code(), "BAD_USER_INPUT");
}

fn status_mutation(name: &str) -> String {
    format!("mutation($id: ID!) {{ {name}(id: $id) {{ status canceledAt cancellationReason }} }}")
}

#[tokio::test]
async fn the_status_machine_is_enforced() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Mon, 10, 0);
    let id = book(&app, &salon, at).await.data()["createAppointment"]["id"].clone();
    let run = |name: &'static str| {
        let query = status_mutation(name);
        let token = salon.token.clone();
        let id = id.clone();
        let app = &app;
        async move { app.gql(Some(&token), &query, json!({"id": id})).await }
    };
    assert_eq!(
        run("completeAppointment").await.message(),
        "Não é possível concluir um agendamento pendente"
    );
    assert_eq!(run("markNoShow").await.code(), "BAD_USER_INPUT");
    assert_eq!(
        run("confirmAppointment").await.data()["confirmAppointment"]["status"],
        "CONFIRMED"
    );
    assert_eq!(run("confirmAppointment").await.code(), "BAD_USER_INPUT");
    assert_eq!(
        run("completeAppointment").await.data()["completeAppointment"]["status"],
        "COMPLETED"
    );
    let cancel = app
        .gql(
            Some(&salon.token),
            "mutation($id: ID!) { cancelAppointment(id: $id, reason: \"x\") { status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        cancel.message(),
        "Não é possível cancelar um agendamento concluído"
    );
    let move_done = app
        .gql(
            Some(&salon.token),
            RESCHEDULE,
            json!({"id": id, "at": (at + Duration::days(7)).to_rfc3339()}),
        )
        .await;
    assert_eq!(move_done.code(), "BAD_USER_INPUT");

    let second =
        book(&app, &salon, at + Duration::hours(2)).await.data()["createAppointment"]["id"].clone();
    app.gql(
        Some(&salon.token),
        &status_mutation("confirmAppointment"),
        json!({"id": second}),
    )
    .await
    .data();
    let no_show = app
        .gql(
            Some(&salon.token),
            &status_mutation("markNoShow"),
            json!({"id": second}),
        )
        .await;
    assert_eq!(no_show.data()["markNoShow"]["status"], "NO_SHOW");
}

#[tokio::test]
async fn canceling_records_why_and_frees_the_slot() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Tue, 14, 0);
    let id = book(&app, &salon, at).await.data()["createAppointment"]["id"].clone();
    let canceled = app
        .gql(Some(&salon.token), "mutation($id: ID!) { cancelAppointment(id: $id, reason: \"Cliente desmarcou\") { status canceledAt cancellationReason } }", json!({"id": id}))
        .await;
    let canceled = &canceled.data()["cancelAppointment"];
    assert_eq!(canceled["status"], "CANCELED");
    assert_eq!(canceled["cancellationReason"], "Cliente desmarcou");
    assert!(canceled["canceledAt"].is_string());
    assert_eq!(
        book(&app, &salon, at).await.data()["createAppointment"]["status"],
        "PENDING"
    );
}

#[tokio::test]
async fn subscriptions_make_covered_services_free_within_the_cycle_limit() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let beard = app.seed_service(&salon.tenant, "Barba", 2_500, 30).await;
    let subscription = app
        .seed_subscription(&salon.tenant, &salon.customer, &[&salon.service], Some(1))
        .await;
    let at = next_local(&Sao_Paulo, Weekday::Wed, 10, 0);
    let input = |service: &str, at: DateTime<Utc>| json!({"i": {"customerId": salon.customer, "serviceId": service, "startsAt": at.to_rfc3339(), "subscriptionId": subscription}});
    let covered = app
        .gql(Some(&salon.token), CREATE, input(&salon.service, at))
        .await;
    let covered = &covered.data()["createAppointment"];
    assert_eq!(covered["price"]["amount"], "0.00");
    assert_eq!(covered["status"], "CONFIRMED");
    assert_eq!(covered["subscription"]["id"], subscription);

    let over = app
        .gql(
            Some(&salon.token),
            CREATE,
            input(&salon.service, at + Duration::hours(2)),
        )
        .await;
    assert_eq!(over.code(), "BAD_USER_INPUT");
    assert_eq!(
        over.message(),
        "Você atingiu o limite de 1 agendamentos deste ciclo."
    );

    let uncovered = app
        .gql(
            Some(&salon.token),
            CREATE,
            input(&beard, at + Duration::hours(3)),
        )
        .await;
    assert_eq!(
        uncovered.message(),
        "O plano da assinatura não cobre este serviço."
    );

    let other = app.seed_customer(&salon.tenant, "Maria").await;
    let foreign = app
        .gql(Some(&salon.token), CREATE, json!({"i": {"customerId": other, "serviceId": salon.service, "startsAt": (at + Duration::hours(4)).to_rfc3339(), "subscriptionId": subscription}}))
        .await;
    assert_eq!(
        foreign.message(),
        "A assinatura não pertence a este cliente."
    );

    entity::subscriptions::Entity::update_many()
        .col_expr(
            entity::subscriptions::Column::Status,
            Expr::value("PAST_DUE"),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    let inactive = app
        .gql(
            Some(&salon.token),
            CREATE,
            input(&salon.service, at + Duration::days(7)),
        )
        .await;
    assert_eq!(inactive.message(), "A assinatura não está ativa.");
}

#[tokio::test]
async fn subscriber_only_hours_are_for_subscribers() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    app.seed_hours(&salon.tenant, &[5], "18:00", "21:00", true)
        .await;
    let evening = next_local(&Sao_Paulo, Weekday::Sat, 19, 0);
    assert_eq!(
        book(&app, &salon, evening).await.message(),
        "Este horário é exclusivo para assinantes."
    );
    app.seed_subscription(&salon.tenant, &salon.customer, &[], None)
        .await;
    assert_eq!(
        book(&app, &salon, evening).await.data()["createAppointment"]["status"],
        "PENDING"
    );
}

#[tokio::test]
async fn fifty_concurrent_bookings_of_one_slot_yield_exactly_one() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Thu, 15, 0);
    let mut customers = Vec::new();
    for i in 0..50 {
        customers.push(
            app.seed_customer(&salon.tenant, &format!("Cliente {i}"))
                .await,
        );
    }
    let attempts = customers.iter().enumerate().map(|(i, customer)| {
        // Different customers, slightly different starts: every pair overlaps.
        let start = at + Duration::minutes(i64::try_from(i % 3).unwrap() * 10);
        app.gql(Some(&salon.token), CREATE, json!({"i": {"customerId": customer, "serviceId": salon.service, "startsAt": start.to_rfc3339()}}))
    });
    let results = futures_util::future::join_all(attempts).await;
    let codes: Vec<&str> = results
        .iter()
        .map(|r| {
            if r.body["errors"].is_null() {
                "OK"
            } else {
                r.code()
            }
        })
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == "OK").count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == "CONFLICT").count(),
        49,
        "{codes:?}"
    );
    let stored = entity::appointments::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
}

async fn age(app: &TestApp, id: &Value, minutes: i64) {
    entity::appointments::Entity::update_many()
        .col_expr(
            entity::appointments::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::minutes(minutes)),
        )
        .filter(entity::appointments::Column::Id.eq(Uuid::parse_str(id.as_str().unwrap()).unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn unpaid_holds_expire_once_and_free_their_slots() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let at = next_local(&Sao_Paulo, Weekday::Mon, 9, 0);
    let stale = book(&app, &salon, at).await.data()["createAppointment"]["id"].clone();
    let fresh =
        book(&app, &salon, at + Duration::hours(1)).await.data()["createAppointment"]["id"].clone();
    let confirmed =
        book(&app, &salon, at + Duration::hours(2)).await.data()["createAppointment"]["id"].clone();
    app.gql(
        Some(&salon.token),
        &status_mutation("confirmAppointment"),
        json!({"id": confirmed}),
    )
    .await
    .data();
    age(&app, &stale, 61).await;
    age(&app, &fresh, 59).await;
    age(&app, &confirmed, 600).await;

    let expire = waba_bot::domains::appointments::service::expire_unpaid_holds;
    assert_eq!(expire(&app.state, Utc::now()).await.unwrap(), 1);
    assert_eq!(
        expire(&app.state, Utc::now()).await.unwrap(),
        0,
        "idempotent"
    );
    let read = |id: Value| {
        let token = salon.token.clone();
        let app = &app;
        async move {
            app.gql(
                Some(&token),
                "query($id: ID!) { appointment(id: $id) { status cancellationReason } }",
                json!({"id": id}),
            )
            .await
            .data()["appointment"]
                .clone()
        }
    };
    assert_eq!(
        read(stale).await,
        json!({"status": "CANCELED", "cancellationReason": "payment not approved"})
    );
    assert_eq!(read(fresh).await["status"], "PENDING");
    assert_eq!(read(confirmed).await["status"], "CONFIRMED");
    assert_eq!(
        book(&app, &salon, at).await.data()["createAppointment"]["status"],
        "PENDING"
    );

    // A tenant without a hold window never has bookings expired.
    app.gql(
        Some(&salon.token),
        "mutation { updateTenant(input: {unpaidHoldMinutes: null}) { unpaidHoldMinutes } }",
        json!({}),
    )
    .await
    .data();
    entity::appointments::Entity::update_many()
        .col_expr(
            entity::appointments::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::days(3)),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(expire(&app.state, Utc::now()).await.unwrap(), 0);
}

const LIST: &str = "query($f: AppointmentFilter, $first: Int, $after: String) { appointments(filter: $f, first: $first, after: $after) {
    totalCount edges { cursor node { id startsAt status customer { name } service { name } } } pageInfo { hasNextPage endCursor } } }";

#[tokio::test]
async fn the_list_filters_pages_by_start_and_counts() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let other_customer = app.seed_customer(&salon.tenant, "Maria").await;
    let monday = next_local(&Sao_Paulo, Weekday::Mon, 9, 0);
    let mut ids = Vec::new();
    // Booked out of order; listed by start.
    for offset in [3, 0, 2, 1, 4] {
        let customer = if offset == 4 {
            &other_customer
        } else {
            &salon.customer
        };
        let created = app
            .gql(Some(&salon.token), CREATE, json!({"i": {"customerId": customer, "serviceId": salon.service, "startsAt": (monday + Duration::hours(offset)).to_rfc3339()}}))
            .await;
        ids.push((offset, created.data()["createAppointment"]["id"].clone()));
    }
    ids.sort_by_key(|(offset, _)| *offset);
    app.gql(
        Some(&salon.token),
        &status_mutation("confirmAppointment"),
        json!({"id": ids[1].1}),
    )
    .await
    .data();

    let first = app.gql(Some(&salon.token), LIST, json!({"first": 2})).await;
    let first = &first.data()["appointments"];
    assert_eq!(first["totalCount"], 5);
    assert_eq!(first["edges"][0]["node"]["id"], ids[0].1);
    assert_eq!(first["edges"][1]["node"]["id"], ids[1].1);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = app
        .gql(
            Some(&salon.token),
            LIST,
            json!({"first": 10, "after": first["pageInfo"]["endCursor"]}),
        )
        .await;
    let rest: Vec<Value> = rest.data()["appointments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].clone())
        .collect();
    assert_eq!(
        rest,
        ids[2..]
            .iter()
            .map(|(_, id)| id.clone())
            .collect::<Vec<_>>()
    );

    let confirmed = app
        .gql(
            Some(&salon.token),
            LIST,
            json!({"f": {"statuses": ["CONFIRMED"]}}),
        )
        .await;
    assert_eq!(confirmed.data()["appointments"]["totalCount"], 1);
    let by_customer = app
        .gql(
            Some(&salon.token),
            LIST,
            json!({"f": {"customerId": other_customer}}),
        )
        .await;
    assert_eq!(
        by_customer.data()["appointments"]["edges"][0]["node"]["customer"]["name"],
        "Maria"
    );
    let window = json!({"f": {"from": (monday + Duration::hours(1)).to_rfc3339(), "to": (monday + Duration::hours(3)).to_rfc3339()}});
    assert_eq!(
        app.gql(Some(&salon.token), LIST, window).await.data()["appointments"]["totalCount"],
        2
    );
    assert_eq!(
        app.gql(Some(&salon.token), LIST, json!({"first": 501}))
            .await
            .code(),
        "BAD_USER_INPUT"
    );
}

async fn seed_appointments(app: &TestApp, salon: &Salon, count: usize) {
    let services = [
        salon.service.clone(),
        app.seed_service(&salon.tenant, "Barba", 2_000, 30).await,
    ];
    let mut customers = Vec::new();
    for i in 0..20 {
        customers.push(
            app.seed_customer(&salon.tenant, &format!("Cliente {i}"))
                .await,
        );
    }
    let subscription = app
        .seed_subscription(&salon.tenant, &customers[0], &[&salon.service], None)
        .await;
    let start = Utc::now() + Duration::days(1);
    let now = Utc::now();
    let rows: Vec<entity::appointments::ActiveModel> = (0..count)
        .map(|i| {
            let starts_at = start + Duration::minutes(i64::try_from(i).unwrap() * 30);
            entity::appointments::ActiveModel {
                id: sea_orm::ActiveValue::Set(Uuid::now_v7()),
                tenant_id: sea_orm::ActiveValue::Set(Uuid::parse_str(&salon.tenant).unwrap()),
                customer_id: sea_orm::ActiveValue::Set(
                    Uuid::parse_str(&customers[i % 20]).unwrap(),
                ),
                service_id: sea_orm::ActiveValue::Set(Uuid::parse_str(&services[i % 2]).unwrap()),
                subscription_id: sea_orm::ActiveValue::Set(
                    (i % 20 == 0).then(|| Uuid::parse_str(&subscription).unwrap()),
                ),
                starts_at: sea_orm::ActiveValue::Set(starts_at),
                ends_at: sea_orm::ActiveValue::Set(starts_at + Duration::minutes(30)),
                status: sea_orm::ActiveValue::Set(
                    if i % 2 == 0 { "CONFIRMED" } else { "PENDING" }.into(),
                ),
                price_cents: sea_orm::ActiveValue::Set(5_000),
                notes: sea_orm::ActiveValue::Set(None),
                confirmed_at: sea_orm::ActiveValue::Set(None),
                canceled_at: sea_orm::ActiveValue::Set(None),
                cancellation_reason: sea_orm::ActiveValue::Set(None),
                created_at: sea_orm::ActiveValue::Set(now),
                updated_at: sea_orm::ActiveValue::Set(now),
                paid_at: sea_orm::ActiveValue::Set(None),
            }
        })
        .collect();
    for chunk in rows.chunks(100) {
        entity::appointments::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&app.state.db)
            .await
            .unwrap();
    }
}

const PAGE_WITH_RELATIONS: &str = "query { appointments(first: 500) { totalCount edges { node { id startsAt status price { amount }
    customer { id name phone } service { id name durationMinutes } subscription { id status } } } } }";

async fn statements_for_page(count: usize) -> (u64, usize) {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    seed_appointments(&app, &salon, count).await;
    let before = app.db_queries();
    let response = app
        .gql(Some(&salon.token), PAGE_WITH_RELATIONS, json!({}))
        .await;
    let statements = app.db_queries() - before;
    let edges = response.data()["appointments"]["edges"].as_array().unwrap();
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["customer"]["name"].is_string()
                && e["node"]["service"]["name"].is_string())
    );
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["subscription"]["status"] == "ACTIVE")
    );
    (statements, edges.len())
}

#[tokio::test]
async fn a_page_costs_the_same_statements_for_5_or_500_appointments() {
    let (small, small_len) = statements_for_page(5).await;
    let (large, large_len) = statements_for_page(500).await;
    assert_eq!((small_len, large_len), (5, 500));
    assert_eq!(
        small, large,
        "5 rows cost {small} statements, 500 rows cost {large}"
    );
    // The viewer with its tenant, the page, its count, and one per relation.
    assert_eq!(large, 6, "{large} statements for one page");
}

#[tokio::test]
async fn dashboard_stats_are_computed_for_the_range() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let monday = next_local(&Sao_Paulo, Weekday::Mon, 9, 0);
    let mut ids = Vec::new();
    for hour in 0..4 {
        ids.push(
            book(&app, &salon, monday + Duration::hours(hour))
                .await
                .data()["createAppointment"]["id"]
                .clone(),
        );
    }
    app.gql(
        Some(&salon.token),
        &status_mutation("confirmAppointment"),
        json!({"id": ids[0]}),
    )
    .await
    .data();
    app.gql(
        Some(&salon.token),
        &status_mutation("confirmAppointment"),
        json!({"id": ids[1]}),
    )
    .await
    .data();
    app.gql(
        Some(&salon.token),
        "mutation($id: ID!) { cancelAppointment(id: $id) { id } }",
        json!({"id": ids[2]}),
    )
    .await
    .data();
    app.seed_subscription(&salon.tenant, &salon.customer, &[], None)
        .await;

    let stats = app
        .gql(
            Some(&salon.token),
            "query($from: DateTime!, $to: DateTime!) { dashboardStats(from: $from, to: $to) { appointmentsToday appointmentsInRange
                appointmentsByStatus { status count } activeSubscribers totalCustomers expectedRevenue { amount currency } } }",
            json!({"from": (monday - Duration::days(1)).to_rfc3339(), "to": (monday + Duration::days(1)).to_rfc3339()}),
        )
        .await;
    let stats = &stats.data()["dashboardStats"];
    assert_eq!(stats["appointmentsToday"], 0);
    assert_eq!(stats["appointmentsInRange"], 3);
    let by_status: Vec<(String, u64)> = stats["appointmentsByStatus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        by_status.contains(&("CONFIRMED".into(), 2))
            && by_status.contains(&("PENDING".into(), 1))
            && by_status.contains(&("CANCELED".into(), 1))
    );
    assert_eq!(stats["activeSubscribers"], 1);
    assert_eq!(stats["totalCustomers"], 1);
    assert_eq!(
        stats["expectedRevenue"],
        json!({"amount": "100.00", "currency": "BRL"})
    );
}

#[tokio::test]
async fn expected_revenue_sums_past_64_bits() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let monday = next_local(&Sao_Paulo, Weekday::Mon, 9, 0);
    for hour in 0..2 {
        let id = book(&app, &salon, monday + Duration::hours(hour))
            .await
            .data()["createAppointment"]["id"]
            .clone();
        app.gql(
            Some(&salon.token),
            &status_mutation("confirmAppointment"),
            json!({"id": id}),
        )
        .await
        .data();
    }
    // Inputs are bounded, but stored rows are not: two snapshots at the 64-bit maximum.
    entity::appointments::Entity::update_many()
        .col_expr(
            entity::appointments::Column::PriceCents,
            Expr::value(i64::MAX),
        )
        .exec(&app.state.db)
        .await
        .unwrap();

    let stats = app
        .gql(
            Some(&salon.token),
            "query($from: DateTime!, $to: DateTime!) { dashboardStats(from: $from, to: $to) { expectedRevenue { amount } } }",
            json!({"from": (monday - Duration::days(1)).to_rfc3339(), "to": (monday + Duration::days(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(
        stats.data()["dashboardStats"]["expectedRevenue"]["amount"],
        "184467440737095516.14"
    );
}

#[tokio::test]
async fn rescheduling_into_a_full_cycle_is_refused() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let subscription = app
        .seed_subscription(&salon.tenant, &salon.customer, &[&salon.service], Some(1))
        .await;
    let at = next_local(&Sao_Paulo, Weekday::Wed, 10, 0);
    let covered = |start: DateTime<Utc>| json!({"i": {"customerId": salon.customer, "serviceId": salon.service, "startsAt": start.to_rfc3339(), "subscriptionId": subscription}});
    // One booking in this cycle and one in the next (the seeded cycle started yesterday).
    let first = app
        .gql(Some(&salon.token), CREATE, covered(at))
        .await
        .data()["createAppointment"]["id"]
        .clone();
    let next_cycle = at + Duration::days(35);
    app.gql(Some(&salon.token), CREATE, covered(next_cycle))
        .await
        .data();

    // Within its own cycle the booking moves freely (it does not count against itself)...
    let same_cycle = app
        .gql(
            Some(&salon.token),
            RESCHEDULE,
            json!({"id": first, "at": (at + Duration::hours(2)).to_rfc3339()}),
        )
        .await;
    assert!(same_cycle.body["errors"].is_null(), "{}", same_cycle.body);
    // ...but not into the next cycle, which is already full.
    let full = app
        .gql(
            Some(&salon.token),
            RESCHEDULE,
            json!({"id": first, "at": (next_cycle + Duration::hours(2)).to_rfc3339()}),
        )
        .await;
    assert_eq!(full.code(), "BAD_USER_INPUT");
    assert_eq!(
        full.message(),
        "Você atingiu o limite de 1 agendamentos deste ciclo."
    );
}

/// Page nodes resolve their fields in one pass (`graphql::inline`); selections that need
/// async-graphql's general resolution (fragments, directives, a field selected twice) must come
/// out the same.
#[tokio::test]
async fn a_page_reads_the_same_through_fragments_aliases_and_directives() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    // More rows than one chunk of `InlineList`, so the order across chunks is checked too.
    seed_appointments(&app, &salon, 75).await;
    let plain = "query { appointments(first: 75) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { __typename id startsAt status price { amount currency }
        customer { id name } service { id name } subscription { id } } } nodes { id } } }";
    let general = "query($yes: Boolean!) { appointments(first: 75) { totalCount
        pageInfo { ... on PageInfo { hasNextPage } endCursor }
        edges { cursor node { ...Head status @include(if: $yes) price { ... on Money { amount } currency }
        customer { id } customer { name } service { id name @skip(if: $yes) ... on Service { name } }
        subscription { id } } } nodes { id } } }
        fragment Head on Appointment { __typename id startsAt }";
    let plain = app.gql(Some(&salon.token), plain, json!({})).await;
    let general = app
        .gql(Some(&salon.token), general, json!({"yes": true}))
        .await;
    assert_eq!(plain.data(), general.data());

    let page = &plain.data()["appointments"];
    let edges = page["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 75);
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["__typename"] == "Appointment"
                && e["node"]["customer"]["name"].is_string()
                && e["node"]["price"]["currency"] == "BRL")
    );
    let node_ids: Vec<&Value> = page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    let edge_ids: Vec<&Value> = edges.iter().map(|e| &e["node"]["id"]).collect();
    assert_eq!(node_ids, edge_ids);
    let starts: Vec<DateTime<Utc>> = edges
        .iter()
        .map(|e| e["node"]["startsAt"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "edges in start order"
    );
    assert_eq!(page["pageInfo"]["endCursor"], edges[74]["cursor"]);
}

/// The page decodes its rows by position (`appointments::repo::PageRow`); every field, set or
/// null, must read exactly as `appointment(id)` (sea-orm's own decoding) reads it.
#[tokio::test]
async fn page_rows_read_like_single_appointments() {
    const FIELDS: &str = "id startsAt endsAt status price { amount currency } notes confirmedAt
        canceledAt cancellationReason createdAt updatedAt customer { id } service { id } subscription { id }";
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let plain = book(&app, &salon, next_local(&Sao_Paulo, Weekday::Mon, 9, 0)).await;
    let noted = app
        .gql(
            Some(&salon.token),
            CREATE,
            json!({"i": {"customerId": salon.customer, "serviceId": salon.service,
                "startsAt": next_local(&Sao_Paulo, Weekday::Mon, 11, 0).to_rfc3339(), "notes": "Traz o filho"}}),
        )
        .await;
    let canceled = book(&app, &salon, next_local(&Sao_Paulo, Weekday::Mon, 13, 0)).await;
    let confirm = status_mutation("confirmAppointment");
    app.gql(
        Some(&salon.token),
        &confirm,
        json!({"id": noted.data()["createAppointment"]["id"]}),
    )
    .await
    .data();
    app.gql(
        Some(&salon.token),
        "mutation($id: ID!) { cancelAppointment(id: $id, reason: \"Chuva\") { id } }",
        json!({"id": canceled.data()["createAppointment"]["id"]}),
    )
    .await
    .data();
    assert!(plain.data()["createAppointment"]["id"].is_string());

    let page = app
        .gql(
            Some(&salon.token),
            &format!("query {{ appointments(first: 10) {{ nodes {{ {FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    let nodes = page.data()["appointments"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 3);
    for node in &nodes {
        let single = app
            .gql(
                Some(&salon.token),
                &format!("query($id: ID!) {{ appointment(id: $id) {{ {FIELDS} }} }}"),
                json!({"id": node["id"]}),
            )
            .await;
        assert_eq!(&single.data()["appointment"], node);
    }
    assert_eq!(nodes[1]["notes"], "Traz o filho");
    assert!(nodes[1]["confirmedAt"].is_string() && nodes[0]["confirmedAt"].is_null());
    assert_eq!(nodes[2]["cancellationReason"], "Chuva");
    assert!(nodes[2]["canceledAt"].is_string() && nodes[0]["canceledAt"].is_null());
}

#[tokio::test]
async fn bookings_and_reschedules_stay_within_the_booking_horizon() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    // The default horizon is 60 days; ten weeks out is an open Tuesday past it.
    let beyond = next_local(&Sao_Paulo, Weekday::Tue, 10, 0) + Duration::weeks(10);
    let refused = book(&app, &salon, beyond).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert_eq!(
        refused.message(),
        "Só é possível agendar com até 60 dias de antecedência."
    );

    let booked = book(&app, &salon, next_local(&Sao_Paulo, Weekday::Tue, 10, 0)).await;
    let id = booked.data()["createAppointment"]["id"].clone();
    let moved = app
        .gql(
            Some(&salon.token),
            RESCHEDULE,
            json!({"id": id, "at": beyond.to_rfc3339()}),
        )
        .await;
    assert_eq!(moved.code(), "BAD_USER_INPUT");
    assert_eq!(
        moved.message(),
        "Só é possível agendar com até 60 dias de antecedência."
    );

    app.gql(
        Some(&salon.token),
        "mutation { updateTenant(input: {bookingHorizonDays: 120}) { bookingHorizonDays } }",
        json!({}),
    )
    .await
    .data();
    assert_eq!(
        book(&app, &salon, beyond).await.data()["createAppointment"]["status"],
        "PENDING"
    );
}

#[tokio::test]
async fn a_status_filter_of_forty_thousand_items_is_bad_input() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let statuses = vec!["CONFIRMED"; 40_000];
    let long = app
        .gql(
            Some(&salon.token),
            LIST,
            json!({"f": {"statuses": statuses}}),
        )
        .await;
    assert_eq!(long.code(), "BAD_USER_INPUT");
    assert!(long.message().contains("100"), "{}", long.message());
    let repeated = app
        .gql(
            Some(&salon.token),
            LIST,
            json!({"f": {"statuses": vec!["CONFIRMED"; 100]}}),
        )
        .await;
    assert_eq!(repeated.data()["appointments"]["totalCount"], 0);
}

#[tokio::test]
async fn dates_outside_2000_to_2200_are_bad_input_never_a_panic() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let slots = "query($s: ID!, $from: DateTime!, $to: DateTime!) { availableSlots(serviceId: $s, from: $from, to: $to) { startsAt } }";
    let stats = "query($from: DateTime!, $to: DateTime!) { dashboardStats(from: $from, to: $to) { appointmentsInRange } }";
    for (from, to) in [
        ("9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z"),
        ("1999-12-31T00:00:00Z", "2000-01-02T00:00:00Z"),
        ("2200-12-31T00:00:00Z", "2201-01-01T00:00:01Z"),
    ] {
        let answer = app
            .gql(
                Some(&salon.token),
                slots,
                json!({"s": salon.service, "from": from, "to": to}),
            )
            .await;
        assert_eq!(
            answer.code(),
            "BAD_USER_INPUT",
            "{from}..{to}: {:?}",
            answer.body
        );
        let answer = app
            .gql(Some(&salon.token), stats, json!({"from": from, "to": to}))
            .await;
        assert_eq!(
            answer.code(),
            "BAD_USER_INPUT",
            "{from}..{to}: {:?}",
            answer.body
        );
    }
    let far = book(
        &app,
        &salon,
        DateTime::parse_from_rfc3339("9999-12-31T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    )
    .await;
    assert_eq!(far.code(), "BAD_USER_INPUT");
    let closure = app
        .gql(
            Some(&salon.token),
            "mutation { addClosure(input: {date: \"2201-01-01\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(closure.code(), "BAD_USER_INPUT");
}
