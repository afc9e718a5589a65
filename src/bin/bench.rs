//! Benchmarks against the real application (not run by CI).
//!
//! - `bench availability [APPOINTMENTS] [ITERATIONS]`: seeds a tenant with APPOINTMENTS (default
//!   10 000) bookings and times `availableSlots` over 30 days through the service layer (database
//!   queries included), printing min / median / p95 / p99.
//! - `bench serve [APPOINTMENTS]`: seeds a tenant with APPOINTMENTS (default 500) bookings, prints
//!   `URL`, `TOKEN` and the request body of the 500-row page, then serves until stopped, for an
//!   external load generator (`scripts/bench-page` drives wrk).
//!
//! The database is `DATABASE_URL` when set (use a fresh Postgres database), otherwise a temporary
//! SQLite file.

use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{Duration, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait};
use uuid::Uuid;
use waba_bot::{
    config::Settings,
    domains::appointments::service::available_slots,
    kernel::{
        ids::{ServiceId, TenantId, UserId},
        viewer::{Role, Viewer},
    },
    startup::Application,
    state::AppState,
};

/// mimalloc: faster than the system allocator for the many small allocations of GraphQL responses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let data = tempfile::tempdir()?;
    let mut vars: Vec<(String, String)> = vec![
        ("DATA_DIR".into(), data.path().display().to_string()),
        ("HOST".into(), "127.0.0.1".into()),
        ("RUST_LOG".into(), "warn".into()),
    ];
    if std::env::var("PORT").is_err() {
        vars.push(("PORT".into(), "0".into()));
    }
    let settings = Settings::from_lookup(|key| {
        std::env::var(key)
            .ok()
            .or_else(|| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    })?;
    let app = Application::build(settings).await?;
    match args.first().map(String::as_str) {
        Some("availability") => availability(app.state(), number(1, 10_000), number(2, 200)).await,
        Some("serve") => serve(app, number(1, 500)).await,
        _ => anyhow::bail!(
            "usage: bench availability [APPOINTMENTS] [ITERATIONS] | bench serve [APPOINTMENTS]"
        ),
    }
}

struct Seeded {
    viewer: Viewer,
    service: ServiceId,
}

/// A tenant open every day 08:00–20:00 with a 30-minute service and `appointments` back-to-back
/// bookings from tomorrow on (one in ten canceled), spread over 50 customers.
async fn seed(state: &AppState, appointments: usize) -> anyhow::Result<Seeded> {
    let db = &state.db;
    let now = Utc::now();
    let plan = entity::saas_plans::Entity::find()
        .one(db)
        .await?
        .context("no SaaS plan")?;
    let tenant = Uuid::now_v7();
    entity::tenants::Entity::insert(entity::tenants::ActiveModel {
        id: Set(tenant),
        name: Set("Bench Salon".into()),
        phone: Set(format!("+55119{:08}", tenant.as_u128() % 100_000_000)),
        email: Set(format!("bench-{tenant}@waba.test")),
        time_zone: Set("America/Sao_Paulo".into()),
        saas_plan_id: Set(plan.id),
        saas_status: Set("ACTIVE".into()),
        ai_enabled: Set(true),
        booking_horizon_days: Set(365),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    let user = Uuid::now_v7();
    entity::users::Entity::insert(entity::users::ActiveModel {
        id: Set(user),
        email: Set(format!("owner-{user}@waba.test")),
        password_hash: Set(None),
        role: Set("TENANT".into()),
        email_verified: Set(true),
        is_active: Set(true),
        tenant_id: Set(Some(tenant)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    for weekday in 0..7 {
        entity::opening_hours::Entity::insert(entity::opening_hours::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            weekday: Set(weekday),
            start_minute: Set(8 * 60),
            end_minute: Set(20 * 60),
            only_for_subscribers: Set(false),
            created_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
    }
    let service = Uuid::now_v7();
    entity::services::Entity::insert(entity::services::ActiveModel {
        id: Set(service),
        tenant_id: Set(tenant),
        name: Set("Corte".into()),
        description: Set(None),
        price_cents: Set(5_000),
        duration_minutes: Set(30),
        active: Set(true),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    let customers: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    entity::customers::Entity::insert_many(customers.iter().enumerate().map(|(i, id)| {
        entity::customers::ActiveModel {
            id: Set(*id),
            tenant_id: Set(tenant),
            name: Set(format!("Cliente {i}")),
            phone: Set(format!("+55219{:08}", i)),
            email: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }))
    .exec_without_returning(db)
    .await?;
    let first_day = (now + Duration::days(1)).date_naive();
    let rows: Vec<entity::appointments::ActiveModel> = (0..appointments)
        .map(|i| {
            let day = first_day + Duration::days(i64::try_from(i / 24).unwrap_or(0));
            let minute = 8 * 60 + 30 * i64::try_from(i % 24).unwrap_or(0);
            // 08:00 in São Paulo is 11:00 UTC.
            let starts_at = day.and_time(chrono::NaiveTime::MIN).and_utc()
                + Duration::minutes(11 * 60 + minute - 8 * 60);
            entity::appointments::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant),
                customer_id: Set(customers[i % customers.len()]),
                service_id: Set(service),
                subscription_id: Set(None),
                starts_at: Set(starts_at),
                ends_at: Set(starts_at + Duration::minutes(30)),
                status: Set(if i % 10 == 9 { "CANCELED" } else { "CONFIRMED" }.into()),
                price_cents: Set(5_000),
                notes: Set(None),
                confirmed_at: Set(Some(now)),
                canceled_at: Set(None),
                cancellation_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        entity::appointments::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(Seeded {
        viewer: Viewer {
            user_id: UserId(user),
            role: Role::Tenant,
            tenant_id: Some(TenantId(tenant)),
        },
        service: ServiceId(service),
    })
}

async fn availability(
    state: &AppState,
    appointments: usize,
    iterations: usize,
) -> anyhow::Result<()> {
    let seeded = seed(state, appointments).await?;
    let from = Utc::now();
    let to = from + Duration::days(30);
    let mut timings = Vec::with_capacity(iterations);
    let mut slots = 0;
    for i in 0..iterations + 10 {
        let started = Instant::now();
        let found = available_slots(state, &seeded.viewer, seeded.service, from, to, None)
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
        if i >= 10 {
            timings.push(started.elapsed());
        }
        slots = found.len();
    }
    timings.sort();
    let at = |q: f64| timings[((timings.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "availableSlots, 30 days, {appointments} appointments ({} backend), {iterations} runs: {slots} slots; \
         min {:?}, median {:?}, p95 {:?}, p99 {:?}",
        state.db.get_database_backend().as_str(),
        timings[0],
        at(0.5),
        at(0.95),
        at(0.99),
    );
    Ok(())
}

async fn serve(app: Application, appointments: usize) -> anyhow::Result<()> {
    let seeded = seed(app.state(), appointments).await?;
    // A long-lived token so a benchmark can outlast the normal 15 minutes.
    let keys = waba_bot::kernel::jwt::JwtKeys::new(
        &app.state().settings.auth.jwt_secret,
        StdDuration::from_secs(24 * 3600),
    );
    let (token, _) = keys.issue(
        seeded.viewer.user_id,
        Role::Tenant,
        seeded.viewer.tenant_id,
        None,
    )?;
    println!("URL=http://127.0.0.1:{}/graphql", app.port());
    println!("TOKEN={token}");
    println!(
        "BODY={}",
        serde_json::json!({"query": "query Page { appointments(first: 500) { totalCount edges { node { id startsAt status price { amount } customer { id name phone } service { id name durationMinutes } subscription { id status } } } } }"})
    );
    app.run_until_stopped().await
}
