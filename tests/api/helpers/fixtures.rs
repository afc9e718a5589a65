//! Rows written straight to the database for tests that need a populated tenant quickly (the
//! GraphQL paths that create them are tested in their own files).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use sea_orm::{ActiveValue::Set, EntityTrait};
use uuid::Uuid;

use super::TestApp;

fn id(tenant: &str) -> Uuid {
    Uuid::parse_str(tenant).expect("tenant id is a UUID")
}

impl TestApp {
    /// A service; returns its id.
    pub async fn seed_service(
        &self,
        tenant: &str,
        name: &str,
        price_cents: i64,
        duration_minutes: i32,
    ) -> String {
        let now = Utc::now();
        let service_id = Uuid::now_v7();
        entity::services::Entity::insert(entity::services::ActiveModel {
            id: Set(service_id),
            tenant_id: Set(id(tenant)),
            name: Set(name.into()),
            description: Set(None),
            price_cents: Set(price_cents),
            duration_minutes: Set(duration_minutes),
            active: Set(true),
            archived_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&self.state.db)
        .await
        .unwrap();
        service_id.to_string()
    }

    /// A customer with a unique phone; returns its id.
    pub async fn seed_customer(&self, tenant: &str, name: &str) -> String {
        let now = Utc::now();
        let customer_id = Uuid::now_v7();
        let phone = format!("+55119{:08}", customer_id.as_u128() % 100_000_000);
        entity::customers::Entity::insert(entity::customers::ActiveModel {
            id: Set(customer_id),
            tenant_id: Set(id(tenant)),
            name: Set(name.into()),
            phone: Set(phone),
            email: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&self.state.db)
        .await
        .unwrap();
        customer_id.to_string()
    }

    /// The same opening range on each of `days` (0 = Monday).
    pub async fn seed_hours(
        &self,
        tenant: &str,
        days: &[i16],
        start: &str,
        end: &str,
        only_for_subscribers: bool,
    ) {
        let minutes = |t: &str| {
            let (h, m) = t.split_once(':').unwrap();
            h.parse::<i16>().unwrap() * 60 + m.parse::<i16>().unwrap()
        };
        for day in days {
            entity::opening_hours::Entity::insert(entity::opening_hours::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(id(tenant)),
                weekday: Set(*day),
                start_minute: Set(minutes(start)),
                end_minute: Set(minutes(end)),
                only_for_subscribers: Set(only_for_subscribers),
                created_at: Set(Utc::now()),
            })
            .exec_without_returning(&self.state.db)
            .await
            .unwrap();
        }
    }

    /// A closure on `date`.
    pub async fn seed_closure(&self, tenant: &str, date: NaiveDate) {
        entity::date_exceptions::Entity::insert(entity::date_exceptions::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(id(tenant)),
            date: Set(date),
            start_minute: Set(None),
            end_minute: Set(None),
            reason: Set(Some("Feriado".into())),
            created_at: Set(Utc::now()),
        })
        .exec_without_returning(&self.state.db)
        .await
        .unwrap();
    }

    /// A plan covering `services` with an optional cycle limit, and an ACTIVE subscription of
    /// `customer` to it starting now; returns the subscription id.
    pub async fn seed_subscription(
        &self,
        tenant: &str,
        customer: &str,
        services: &[&str],
        max_per_cycle: Option<i32>,
    ) -> String {
        let now = Utc::now();
        let plan_id = Uuid::now_v7();
        entity::plans::Entity::insert(entity::plans::ActiveModel {
            id: Set(plan_id),
            tenant_id: Set(id(tenant)),
            name: Set("Plano Mensal".into()),
            description: Set(None),
            price_cents: Set(9_900),
            interval: Set("MONTHLY".into()),
            max_appointments_per_cycle: Set(max_per_cycle),
            archived_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&self.state.db)
        .await
        .unwrap();
        for service in services {
            entity::plan_services::Entity::insert(entity::plan_services::ActiveModel {
                plan_id: Set(plan_id),
                service_id: Set(Uuid::parse_str(service).unwrap()),
                tenant_id: Set(id(tenant)),
            })
            .exec_without_returning(&self.state.db)
            .await
            .unwrap();
        }
        let subscription_id = Uuid::now_v7();
        entity::subscriptions::Entity::insert(entity::subscriptions::ActiveModel {
            id: Set(subscription_id),
            tenant_id: Set(id(tenant)),
            customer_id: Set(Uuid::parse_str(customer).unwrap()),
            plan_id: Set(plan_id),
            status: Set("ACTIVE".into()),
            starts_at: Set(now - Duration::days(1)),
            current_period_start: Set(now - Duration::days(1)),
            current_period_end: Set(now + Duration::days(29)),
            canceled_at: Set(None),
            external_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&self.state.db)
        .await
        .unwrap();
        subscription_id.to_string()
    }
}

/// The next `weekday` at least two days from now, at `hh:mm` in `zone`, as an instant.
pub fn next_local<Tz: TimeZone>(
    zone: &Tz,
    weekday: Weekday,
    hour: u32,
    minute: u32,
) -> DateTime<Utc> {
    let mut date = Utc::now().with_timezone(zone).date_naive() + Duration::days(2);
    while date.weekday() != weekday {
        date += Duration::days(1);
    }
    zone.from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}
