use chrono::{DateTime, Duration, Utc, Weekday};
use chrono_tz::America::Sao_Paulo;
use serde_json::{Value, json};

use crate::{
    appointments::{book, salon},
    helpers::{fixtures::next_local, spawn_app},
};

const SLOTS: &str = "query($s: ID!, $from: DateTime!, $to: DateTime!, $c: ID) { availableSlots(serviceId: $s, from: $from, to: $to, customerId: $c) { startsAt endsAt } }";

fn starts(response: &Value) -> Vec<String> {
    response["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["startsAt"].as_str().unwrap().to_owned())
        .collect()
}

fn local_day(at: DateTime<Utc>) -> (String, String) {
    let date = at.with_timezone(&Sao_Paulo).date_naive();
    (
        format!("{date}T00:00:00-03:00"),
        format!("{}T00:00:00-03:00", date.succ_opt().unwrap()),
    )
}

#[tokio::test]
async fn slots_follow_hours_step_duration_and_bookings() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    let tuesday = next_local(&Sao_Paulo, Weekday::Tue, 9, 0);
    book(&app, &salon, tuesday + Duration::hours(1))
        .await
        .data();
    let (from, to) = local_day(tuesday);
    let response = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": from, "to": to}),
        )
        .await;
    let date = tuesday.with_timezone(&Sao_Paulo).date_naive();
    let expected: Vec<String> = [
        "09:00", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30", "14:00", "14:30", "15:00",
        "15:30", "16:00", "16:30", "17:00",
    ]
    .iter()
    .map(|t| format!("{date}T{t}:00-03:00"))
    .collect();
    assert_eq!(starts(response.data()), expected);
    assert!(
        response.data()["availableSlots"][0]["endsAt"]
            .as_str()
            .unwrap()
            .ends_with("T10:00:00-03:00")
    );

    // A closed Sunday has none; a 15-minute step doubles the offer.
    let sunday = local_day(next_local(&Sao_Paulo, Weekday::Sun, 9, 0));
    let closed = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": sunday.0, "to": sunday.1}),
        )
        .await;
    assert!(starts(closed.data()).is_empty());
    app.gql(
        Some(&salon.token),
        "mutation { updateTenant(input: {slotStepMinutes: 15}) { id } }",
        json!({}),
    )
    .await
    .data();
    let finer = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": from, "to": to}),
        )
        .await;
    // 33 quarter-hour starts from 09:00 to 17:00, minus the 7 that overlap the 10:00 booking.
    assert_eq!(starts(finer.data()).len(), 26);
}

#[tokio::test]
async fn notice_horizon_and_window_limits_apply() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    app.gql(
        Some(&salon.token),
        "mutation { updateTenant(input: {bookingHorizonDays: 3, minNoticeMinutes: 0}) { id } }",
        json!({}),
    )
    .await
    .data();
    let from = Utc::now();
    let far = app.gql(Some(&salon.token), SLOTS, json!({"s": salon.service, "from": from.to_rfc3339(), "to": (from + Duration::days(10)).to_rfc3339()})).await;
    let latest = starts(far.data())
        .into_iter()
        .map(|s| DateTime::parse_from_rfc3339(&s).unwrap())
        .max()
        .unwrap();
    assert!(latest.with_timezone(&Utc) <= from + Duration::days(3) + Duration::minutes(1));
    let too_long = app.gql(Some(&salon.token), SLOTS, json!({"s": salon.service, "from": from.to_rfc3339(), "to": (from + Duration::days(63)).to_rfc3339()})).await;
    assert_eq!(too_long.code(), "BAD_USER_INPUT");
    let backwards = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": from.to_rfc3339(), "to": from.to_rfc3339()}),
        )
        .await;
    assert_eq!(backwards.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn subscriber_only_hours_are_offered_to_subscribers() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    app.seed_hours(&salon.tenant, &[5], "18:00", "20:00", true)
        .await;
    let (from, to) = local_day(next_local(&Sao_Paulo, Weekday::Sat, 9, 0));
    let walk_in = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": from, "to": to, "c": salon.customer}),
        )
        .await;
    let anonymous = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": from, "to": to}),
        )
        .await;
    assert_eq!(starts(walk_in.data()), starts(anonymous.data()));
    app.seed_subscription(&salon.tenant, &salon.customer, &[], None)
        .await;
    let subscriber = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": from, "to": to, "c": salon.customer}),
        )
        .await;
    assert_eq!(
        starts(subscriber.data()).len(),
        starts(walk_in.data()).len() + 3
    );
    assert!(
        starts(subscriber.data())
            .last()
            .unwrap()
            .ends_with("T19:00:00-03:00")
    );
}

#[tokio::test]
async fn a_week_across_a_dst_change_is_right_in_a_zone_with_dst() {
    let app = spawn_app().await;
    let salon = salon(&app).await;
    app.gql(
        Some(&salon.token),
        "mutation { updateTenant(input: {timeZone: \"America/New_York\", bookingHorizonDays: 365}) { timeZone } }",
        json!({}),
    )
    .await
    .data();
    // Open 09:00–10:00 every day; New York springs forward on Sunday 2027-03-14.
    app.seed_hours(&salon.tenant, &[6], "09:00", "10:00", false)
        .await;
    let from = "2027-03-08T00:00:00-05:00";
    let to = "2027-03-16T00:00:00-04:00";
    let response = app
        .gql(
            Some(&salon.token),
            SLOTS,
            json!({"s": salon.service, "from": from, "to": to}),
        )
        .await;
    let nine_am: Vec<String> = starts(response.data())
        .into_iter()
        .filter(|s| s.contains("T09:00:00"))
        .collect();
    assert_eq!(
        nine_am,
        [
            "2027-03-08T09:00:00-05:00",
            "2027-03-09T09:00:00-05:00",
            "2027-03-10T09:00:00-05:00",
            "2027-03-11T09:00:00-05:00",
            "2027-03-12T09:00:00-05:00",
            "2027-03-13T09:00:00-05:00",
            "2027-03-14T09:00:00-04:00",
            "2027-03-15T09:00:00-04:00",
        ]
    );
}

#[tokio::test]
async fn another_tenants_service_or_customer_is_not_found() {
    let app = spawn_app().await;
    let a = salon(&app).await;
    let b = salon(&app).await;
    let (from, to) = local_day(next_local(&Sao_Paulo, Weekday::Tue, 9, 0));
    assert_eq!(
        app.gql(
            Some(&b.token),
            SLOTS,
            json!({"s": a.service, "from": from, "to": to})
        )
        .await
        .code(),
        "NOT_FOUND"
    );
    assert_eq!(
        app.gql(
            Some(&b.token),
            SLOTS,
            json!({"s": b.service, "from": from, "to": to, "c": a.customer})
        )
        .await
        .code(),
        "NOT_FOUND"
    );
}
