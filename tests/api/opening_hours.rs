//! Opening hours: the weekly ranges (whole-week replacement and single-range edits) and the date
//! exceptions (closures and special hours), each scoped to the viewer's tenant.

use chrono::NaiveDate;
use serde_json::{Value, json};
use uuid::Uuid;
use waba_bot::{
    domains::operating_hours::{
        model::{LocalTime, OpenInterval},
        service,
    },
    kernel::{ids::TenantId, viewer::Role},
};

use crate::helpers::{GqlResponse, TestApp, spawn_app};

const OVERLAP: &str = "Já existe um horário de funcionamento que conflita com este período";
const END_BEFORE_START: &str = "O horário de fechamento deve ser posterior ao horário de abertura";
const ALREADY_CLOSED: &str = "Já existe um fechamento nesta data";

const WEEK: &str = "{ openingHours { id day start end onlyForSubscribers } }";
const SET: &str = "mutation($i: SetOpeningHoursInput!) { setOpeningHours(input: $i) { id day start end onlyForSubscribers } }";
const CREATE: &str = "mutation($i: OpeningRangeInput!) { createOpeningRange(input: $i) { id day start end onlyForSubscribers } }";
const UPDATE: &str = "mutation($id: ID!, $i: UpdateOpeningRangeInput!) { updateOpeningRange(id: $id, input: $i) { id day start end onlyForSubscribers } }";
const DELETE: &str = "mutation($id: ID!) { deleteOpeningRange(id: $id) }";
const CLOSE: &str =
    "mutation($i: AddClosureInput!) { addClosure(input: $i) { id date reason closed start end } }";
const SPECIAL: &str = "mutation($i: AddSpecialHoursInput!) { addSpecialHours(input: $i) { id date reason closed start end } }";
const REMOVE: &str = "mutation($id: ID!) { removeDateException(id: $id) }";
const EXCEPTIONS: &str = "query($from: Date!, $to: Date!) { dateExceptions(from: $from, to: $to) { id date reason closed start end } }";

/// A signed-in tenant owner.
struct Owner<'a> {
    app: &'a TestApp,
    token: String,
    tenant: TenantId,
}

impl<'a> Owner<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let (token, tenant) = app.tenant_owner().await;
        Self {
            app,
            token,
            tenant: TenantId(Uuid::parse_str(&tenant).unwrap()),
        }
    }

    async fn send(&self, query: &str, variables: Value) -> GqlResponse {
        self.app.gql(Some(&self.token), query, variables).await
    }

    /// Sends `query` with `$i` = `input`; the error it fails with.
    async fn refused(&self, query: &str, input: Value) -> (String, String) {
        let response = self.send(query, json!({"i": input})).await;
        (response.code().to_owned(), response.message().to_owned())
    }

    /// Sends `query` with `$i` = `input` and returns the first field of its data.
    async fn ok(&self, query: &str, input: Value) -> Value {
        first_field(self.send(query, json!({"i": input})).await.data())
    }

    async fn week(&self) -> Value {
        first_field(self.send(WEEK, json!({})).await.data())
    }

    async fn set_week(&self, ranges: Value) -> Value {
        self.ok(SET, json!({"ranges": ranges})).await
    }

    async fn exceptions(&self, from: &str, to: &str) -> Value {
        let response = self.send(EXCEPTIONS, json!({"from": from, "to": to})).await;
        first_field(response.data())
    }

    /// Sends a mutation taking only `$id`.
    async fn by_id(&self, query: &str, id: &Value) -> GqlResponse {
        self.send(query, json!({"id": id})).await
    }

    async fn update(&self, id: &Value, input: Value) -> GqlResponse {
        self.send(UPDATE, json!({"id": id, "i": input})).await
    }
}

fn first_field(data: &Value) -> Value {
    data.as_object()
        .and_then(|fields| fields.values().next())
        .cloned()
        .expect("one field")
}

fn refusal(code: &str, message: &str) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

/// A range input.
fn range(day: &str, start: &str, end: &str) -> Value {
    json!({"day": day, "start": start, "end": end})
}

/// `(day, start, end, onlyForSubscribers)` of listed ranges, ids left out.
fn shape(ranges: &Value) -> Vec<(String, String, String, bool)> {
    let ranges = match ranges {
        Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    ranges
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap().to_owned(),
                r["start"].as_str().unwrap().to_owned(),
                r["end"].as_str().unwrap().to_owned(),
                r["onlyForSubscribers"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn row(day: &str, start: &str, end: &str, subscribers: bool) -> (String, String, String, bool) {
    (day.into(), start.into(), end.into(), subscribers)
}

/// Half-hour ranges starting at midnight, one an hour.
fn half_hours(day: &str, count: usize) -> Value {
    (0..count)
        .map(|h| range(day, &format!("{h:02}:00"), &format!("{h:02}:30")))
        .collect()
}

fn date(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
}

fn len(list: &Value) -> usize {
    list.as_array().expect("a list").len()
}

#[tokio::test]
async fn set_opening_hours_replaces_the_week_and_lists_it_by_day_then_start() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    assert_eq!(owner.week().await, json!([]));

    let set = owner
        .set_week(json!([
            range("SATURDAY", "08:00", "12:00"),
            range("MONDAY", "12:00", "18:00"),
            // Touching the range above is allowed.
            {"day": "MONDAY", "start": "09:00", "end": "12:00", "onlyForSubscribers": true},
            range("SUNDAY", "20:00", "24:00"),
        ]))
        .await;
    assert_eq!(
        shape(&set),
        [
            row("MONDAY", "09:00", "12:00", true),
            row("MONDAY", "12:00", "18:00", false),
            row("SATURDAY", "08:00", "12:00", false),
            row("SUNDAY", "20:00", "24:00", false),
        ]
    );
    assert_eq!(
        owner.week().await,
        set,
        "the mutation returns the stored week"
    );

    let replaced = owner
        .set_week(json!([range("TUESDAY", "10:00", "16:00")]))
        .await;
    assert_eq!(shape(&replaced), [row("TUESDAY", "10:00", "16:00", false)]);
    assert_eq!(owner.week().await, replaced);

    assert_eq!(owner.set_week(json!([])).await, json!([]));
    assert_eq!(owner.week().await, json!([]), "closed all week");
}

#[tokio::test]
async fn an_invalid_week_is_refused_whole_and_the_previous_week_stays() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    let before = owner
        .set_week(json!([
            range("MONDAY", "09:00", "12:00"),
            range("MONDAY", "13:00", "18:00"),
            range("FRIDAY", "09:00", "18:00"),
        ]))
        .await;

    let cases = [
        (
            json!([
                range("TUESDAY", "08:00", "10:00"),
                range("TUESDAY", "09:30", "12:00")
            ]),
            Some(OVERLAP),
        ),
        (
            json!([
                range("TUESDAY", "08:00", "10:00"),
                range("WEDNESDAY", "18:00", "09:00")
            ]),
            Some(END_BEFORE_START),
        ),
        (
            json!([range("TUESDAY", "08:00", "08:00")]),
            Some(END_BEFORE_START),
        ),
        (json!([range("TUESDAY", "8:00", "10:00")]), None),
        (json!([range("TUESDAY", "08:00", "24:30")]), None),
        (json!([range("TUESDAY", "08:00", "10h")]), None),
        (json!([range("FUNDAY", "08:00", "10:00")]), None),
        (half_hours("SUNDAY", 11), None),
        (
            json!(
                (0..71)
                    .map(|_| range("SUNDAY", "00:00", "01:00"))
                    .collect::<Vec<_>>()
            ),
            None,
        ),
    ];
    for (ranges, message) in cases {
        let (code, refused) = owner.refused(SET, json!({"ranges": ranges})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{ranges}");
        if let Some(message) = message {
            assert_eq!(refused, message, "{ranges}");
        }
        assert_eq!(owner.week().await, before, "{ranges}");
    }
}

#[tokio::test]
async fn single_ranges_are_created_checked_against_their_day_updated_and_deleted() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    let morning = owner.ok(CREATE, range("MONDAY", "09:00", "12:00")).await;
    assert_eq!(shape(&morning), [row("MONDAY", "09:00", "12:00", false)]);
    let afternoon = owner
        .ok(
            CREATE,
            json!({"day": "MONDAY", "start": "12:00", "end": "18:00", "onlyForSubscribers": true}),
        )
        .await;
    // The same hours on another day are no conflict.
    owner.ok(CREATE, range("TUESDAY", "09:00", "18:00")).await;

    assert_eq!(
        owner
            .refused(CREATE, range("MONDAY", "11:00", "13:00"))
            .await,
        refusal("CONFLICT", OVERLAP)
    );
    assert_eq!(
        owner
            .refused(CREATE, range("MONDAY", "20:00", "19:00"))
            .await,
        refusal("BAD_USER_INPUT", END_BEFORE_START)
    );
    let (code, _) = owner
        .refused(CREATE, range("MONDAY", "19:00", "25:00"))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");

    // Only the end changes; the merged range is checked without comparing it to itself.
    let longer = owner
        .update(&afternoon["id"], json!({"end": "19:00"}))
        .await;
    assert_eq!(
        shape(&longer.data()["updateOpeningRange"]),
        [row("MONDAY", "12:00", "19:00", true)]
    );
    let into_morning = owner
        .update(&afternoon["id"], json!({"start": "11:30"}))
        .await;
    assert_eq!(
        (into_morning.code(), into_morning.message()),
        ("CONFLICT", OVERLAP)
    );
    let backwards = owner.update(&morning["id"], json!({"end": "08:00"})).await;
    assert_eq!(
        (backwards.code(), backwards.message()),
        ("BAD_USER_INPUT", END_BEFORE_START)
    );
    let onto_tuesday = owner
        .update(&morning["id"], json!({"day": "TUESDAY"}))
        .await;
    assert_eq!(onto_tuesday.code(), "CONFLICT");
    let moved = owner
        .update(
            &morning["id"],
            json!({"day": "WEDNESDAY", "start": "08:00", "onlyForSubscribers": true}),
        )
        .await;
    assert_eq!(
        moved.data()["updateOpeningRange"],
        json!({"id": morning["id"], "day": "WEDNESDAY", "start": "08:00", "end": "12:00", "onlyForSubscribers": true})
    );
    assert_eq!(
        shape(&owner.week().await),
        [
            row("MONDAY", "12:00", "19:00", true),
            row("TUESDAY", "09:00", "18:00", false),
            row("WEDNESDAY", "08:00", "12:00", true),
        ]
    );

    let deleted = owner.by_id(DELETE, &morning["id"]).await;
    assert_eq!(deleted.data()["deleteOpeningRange"], morning["id"]);
    for id in [morning["id"].clone(), json!(Uuid::now_v7()), json!("nine")] {
        assert_eq!(owner.by_id(DELETE, &id).await.code(), "NOT_FOUND", "{id}");
        let update = owner.update(&id, json!({"end": "20:00"})).await;
        assert_eq!(update.code(), "NOT_FOUND", "{id}");
    }
    assert_eq!(len(&owner.week().await), 2);
}

#[tokio::test]
async fn a_day_takes_at_most_ten_ranges() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    owner.set_week(half_hours("SUNDAY", 10)).await;
    let monday = owner.ok(CREATE, range("MONDAY", "20:00", "21:00")).await;

    let (code, _) = owner
        .refused(CREATE, range("SUNDAY", "20:00", "21:00"))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let moved = owner.update(&monday["id"], json!({"day": "SUNDAY"})).await;
    assert_eq!(moved.code(), "BAD_USER_INPUT");
    assert_eq!(len(&owner.week().await), 11);
}

#[tokio::test]
async fn concurrent_overlapping_creates_store_exactly_one_range() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    let attempts = (0..6).map(|i| {
        let owner = &owner;
        async move {
            let input = range("THURSDAY", &format!("09:0{i}"), "12:00");
            owner.send(CREATE, json!({"i": input})).await
        }
    });
    let responses = futures_util::future::join_all(attempts).await;
    let (created, refused): (Vec<_>, Vec<_>) =
        responses.iter().partition(|r| r.body["errors"].is_null());
    assert_eq!(created.len(), 1, "{responses:#?}");
    assert!(
        refused.iter().all(|r| r.code() == "CONFLICT"),
        "{responses:#?}"
    );
    assert_eq!(len(&owner.week().await), 1);
}

#[tokio::test]
async fn a_date_takes_one_closure() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    let christmas = owner
        .ok(CLOSE, json!({"date": "2026-12-25", "reason": " Natal "}))
        .await;
    assert_eq!(
        christmas,
        json!({"id": christmas["id"], "date": "2026-12-25", "reason": "Natal", "closed": true, "start": null, "end": null})
    );
    assert_eq!(
        owner.refused(CLOSE, json!({"date": "2026-12-25"})).await,
        refusal("CONFLICT", ALREADY_CLOSED)
    );
    let new_year = owner
        .ok(CLOSE, json!({"date": "2027-01-01", "reason": "  "}))
        .await;
    assert_eq!(new_year["reason"], Value::Null);

    for input in [
        json!({"date": "2026-13-01"}),
        json!({"date": "25/12/2026"}),
        json!({"date": "2026-2-01"}),
        json!({"date": "2026-12-26", "reason": "x".repeat(201)}),
    ] {
        let (code, _) = owner.refused(CLOSE, input.clone()).await;
        assert_eq!(code, "BAD_USER_INPUT", "{input}");
    }
    assert_eq!(len(&owner.exceptions("2026-12-01", "2027-01-31").await), 2);
}

#[tokio::test]
async fn special_hours_follow_the_range_rules_and_respect_closures() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    let special =
        |start: &str, end: &str| json!({"date": "2026-12-24", "start": start, "end": end});
    let morning = owner
        .ok(
            SPECIAL,
            json!({"date": "2026-12-24", "start": "08:00", "end": "12:00", "reason": "Véspera de Natal"}),
        )
        .await;
    assert_eq!(
        morning,
        json!({"id": morning["id"], "date": "2026-12-24", "reason": "Véspera de Natal", "closed": false, "start": "08:00", "end": "12:00"})
    );
    // Touching is allowed; several ranges per date.
    owner.ok(SPECIAL, special("12:00", "14:00")).await;

    assert_eq!(
        owner.refused(SPECIAL, special("13:00", "15:00")).await,
        refusal("CONFLICT", OVERLAP)
    );
    assert_eq!(
        owner.refused(SPECIAL, special("16:00", "15:00")).await,
        refusal("BAD_USER_INPUT", END_BEFORE_START)
    );
    let (code, _) = owner.refused(SPECIAL, special("16:00", "1600")).await;
    assert_eq!(code, "BAD_USER_INPUT");

    owner.ok(CLOSE, json!({"date": "2026-12-31"})).await;
    let on_closed = json!({"date": "2026-12-31", "start": "08:00", "end": "12:00"});
    let (code, _) = owner.refused(SPECIAL, on_closed).await;
    assert_eq!(code, "CONFLICT");

    // The weekly range of Thursdays (2026-12-24 is one) gives way to the special hours that day.
    owner
        .set_week(json!([range("THURSDAY", "09:00", "18:00")]))
        .await;
    let schedule = |to: &'static str| {
        service::schedule(&app.state.db, owner.tenant, date("2026-12-24"), date(to))
    };
    let open = |start: i16, end: i16| OpenInterval {
        start: LocalTime(start),
        end: LocalTime(end),
        only_for_subscribers: false,
    };
    let january = schedule("2027-01-31").await.expect("schedule");
    assert_eq!(
        january.open_intervals(date("2026-12-24")),
        [open(480, 720), open(720, 840)]
    );
    assert_eq!(
        january.open_intervals(date("2027-01-07")),
        [open(540, 1080)]
    );
    assert!(january.open_intervals(date("2026-12-31")).is_empty());

    // A closure over special hours closes the date; removing it brings them back.
    let closure = owner.ok(CLOSE, json!({"date": "2026-12-24"})).await;
    let listed: Vec<(bool, Value)> = owner
        .exceptions("2026-12-24", "2026-12-24")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["closed"].as_bool().unwrap(), e["start"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (true, Value::Null),
            (false, json!("08:00")),
            (false, json!("12:00"))
        ]
    );
    let closed = schedule("2026-12-24").await.unwrap();
    assert!(closed.open_intervals(date("2026-12-24")).is_empty());

    let removed = owner.by_id(REMOVE, &closure["id"]).await;
    assert_eq!(removed.data()["removeDateException"], closure["id"]);
    let again = owner.by_id(REMOVE, &closure["id"]).await;
    assert_eq!(again.code(), "NOT_FOUND");
    assert_eq!(len(&owner.exceptions("2026-12-24", "2026-12-24").await), 2);
}

#[tokio::test]
async fn date_exceptions_are_listed_in_an_inclusive_bounded_window() {
    let app = spawn_app().await;
    let owner = Owner::new(&app).await;
    for day in [
        "2026-03-10",
        "2026-03-01",
        "2026-02-28",
        "2026-03-31",
        "2026-04-01",
    ] {
        owner.ok(CLOSE, json!({"date": day})).await;
    }
    owner
        .ok(
            SPECIAL,
            json!({"date": "2026-03-05", "start": "10:00", "end": "14:00"}),
        )
        .await;

    let march = owner.exceptions("2026-03-01", "2026-03-31").await;
    let dates: Vec<&str> = march
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2026-03-01", "2026-03-05", "2026-03-10", "2026-03-31"]
    );
    assert_eq!(
        owner.exceptions("2026-03-02", "2026-03-04").await,
        json!([])
    );
    // 366 days is the longest window.
    assert_eq!(len(&owner.exceptions("2026-01-01", "2027-01-02").await), 6);

    for (from, to) in [
        ("2026-01-01", "2027-01-03"),
        ("2026-03-02", "2026-03-01"),
        ("2026-03-01", "março"),
    ] {
        let response = owner
            .send(EXCEPTIONS, json!({"from": from, "to": to}))
            .await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{from} {to}");
    }
}

#[tokio::test]
async fn another_tenant_can_neither_see_nor_change_the_hours() {
    let app = spawn_app().await;
    let a = Owner::new(&app).await;
    let b = Owner::new(&app).await;
    let week_a = a
        .set_week(json!([
            range("MONDAY", "09:00", "18:00"),
            range("FRIDAY", "09:00", "12:00")
        ]))
        .await;
    let closure = a
        .ok(CLOSE, json!({"date": "2026-12-25", "reason": "Natal"}))
        .await;
    let special = a
        .ok(
            SPECIAL,
            json!({"date": "2026-12-24", "start": "08:00", "end": "12:00"}),
        )
        .await;
    let exceptions_a = a.exceptions("2026-12-01", "2026-12-31").await;

    assert_eq!(b.week().await, json!([]));
    assert_eq!(b.exceptions("2026-12-01", "2026-12-31").await, json!([]));
    let range_id = &week_a[0]["id"];
    let update = b.update(range_id, json!({"start": "10:00"})).await;
    assert_eq!(update.code(), "NOT_FOUND");
    assert_eq!(b.by_id(DELETE, range_id).await.code(), "NOT_FOUND");
    for id in [&closure["id"], &special["id"]] {
        assert_eq!(b.by_id(REMOVE, id).await.code(), "NOT_FOUND");
    }
    // B's own hours neither see nor touch A's: the same hours and dates are no conflict.
    b.set_week(json!([range("MONDAY", "08:00", "20:00")])).await;
    b.ok(CREATE, range("FRIDAY", "10:00", "11:00")).await;
    b.ok(CLOSE, json!({"date": "2026-12-25"})).await;
    b.set_week(json!([])).await;

    assert_eq!(a.week().await, week_a);
    assert_eq!(a.exceptions("2026-12-01", "2026-12-31").await, exceptions_a);
}

#[tokio::test]
async fn opening_hours_need_a_signed_in_user_with_a_tenant() {
    let app = spawn_app().await;
    let anonymous = app.gql(None, WEEK, json!({})).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");

    let session = app
        .user_session("no-tenant@salon.test", Role::Tenant, true)
        .await;
    let token = session["accessToken"].as_str();
    for (query, variables) in [
        (WEEK, json!({})),
        (SET, json!({"i": {"ranges": []}})),
        (CLOSE, json!({"i": {"date": "2026-12-25"}})),
        (
            EXCEPTIONS,
            json!({"from": "2026-12-01", "to": "2026-12-31"}),
        ),
    ] {
        let response = app.gql(token, query, variables).await;
        assert_eq!(response.code(), "FORBIDDEN", "{query}");
    }
}
