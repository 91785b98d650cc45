#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Scheduling over HTTP on both databases: the JSON API the integrations rely on (resources,
//! booking 201 / 409 naming the conflict / 422 per field, slots, status changes and moves,
//! ranges), daylight saving in Toronto on the agenda and in the API, iCalendar output read by
//! three parsers we did not write, and 200 clients racing for overlapping slots.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use serde_json::{Value, json};
use test_support::{
    TestApp, dual_test, patient_input, seed_org, seed_patient, seed_provider, seed_staff,
};

fn json_req(method: &str, path: &str, cookie: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

struct Setup {
    app: TestApp,
    desk: String,
    loc: String,
    toronto: String,
    chairs: Vec<String>,
    toronto_chair: String,
    dentist: String,
    hygienist: String,
    crown: String,
    patients: Vec<String>,
    other_chair: String,
    other_patient: String,
}

/// An organization with a New York clinic (two chairs) and a Toronto one (one chair), a
/// dentist, a hygienist, a crown prep type and three patients; and another organization.
async fn setup(db: test_support::TestDb) -> Setup {
    let store = db.store.clone();
    let (org, ny) = seed_org(&store, "sch").await;
    seed_staff(&store, &org).await;
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let toronto = domain::Location {
        id: domain::LocationId::from_uuid(store.new_uuid()),
        org_id: org.id,
        name: "Toronto".into(),
        time_zone: "America/Toronto".into(),
        currency: domain::Currency::CAD,
        locale: "en".into(),
        address: domain::Address::default(),
        opening_hours: domain::OpeningHours::weekdays(&[(
            jiff::civil::time(8, 0, 0, 0),
            jiff::civil::time(17, 0, 0, 0),
        )]),
    };
    let mut tx = store.begin().await.unwrap();
    tx.create_location(&store, &scope, &toronto).await.unwrap();
    tx.commit().await.unwrap();
    let mut chairs = Vec::new();
    for n in ["Op 1", "Op 2"] {
        chairs.push(
            store
                .create_operatory(
                    &scope,
                    &actor,
                    ny.id,
                    &domain::scheduling::OperatoryInput {
                        name: n.into(),
                        short_name: "".into(),
                    },
                )
                .await
                .unwrap()
                .id
                .to_string(),
        );
    }
    let toronto_chair = store
        .create_operatory(
            &scope,
            &actor,
            toronto.id,
            &domain::scheduling::OperatoryInput {
                name: "T1".into(),
                short_name: "".into(),
            },
        )
        .await
        .unwrap()
        .id
        .to_string();
    let dentist = seed_provider(&store, org.id, "Dr Dee", Role::Dentist, "#111111")
        .await
        .to_string();
    let hygienist = seed_provider(&store, org.id, "Hy Gene", Role::Hygienist, "#222222")
        .await
        .to_string();
    let crown = store
        .save_appointment_type(
            &scope,
            &actor,
            None,
            &domain::scheduling::AppointmentTypeInput {
                name: "Crown prep".into(),
                colour: "#333333".into(),
                pattern: "//XXXX//".into(),
                unit_minutes: 10,
            },
            true,
        )
        .await
        .unwrap()
        .id
        .to_string();
    let mut patients = Vec::new();
    for g in ["Ann", "Bob", "Cid"] {
        patients.push(
            seed_patient(
                &store,
                org.id,
                ny.id,
                patient_input(g, "Sched", "1980-01-01"),
            )
            .await
            .id
            .to_string(),
        );
    }
    let (other, other_loc) = seed_org(&store, "sch-other").await;
    let other_chair = store
        .create_operatory(
            &domain::Scope::system(other.id),
            &actor,
            other_loc.id,
            &domain::scheduling::OperatoryInput {
                name: "X".into(),
                short_name: "".into(),
            },
        )
        .await
        .unwrap()
        .id
        .to_string();
    let other_patient = seed_patient(
        &store,
        other.id,
        other_loc.id,
        patient_input("Oth", "Er", "1970-01-01"),
    )
    .await
    .id
    .to_string();
    let app = TestApp::new(db).await;
    let desk = app.sign_in_as("sch", Role::Receptionist).await;
    Setup {
        app,
        desk,
        loc: ny.id.to_string(),
        toronto: toronto.id.to_string(),
        chairs,
        toronto_chair,
        dentist,
        hygienist,
        crown,
        patients,
        other_chair,
        other_patient,
    }
}

fn book(s: &Setup, chair: usize, patient: usize, start: &str, minutes: i64) -> Value {
    json!({
        "patient_id": s.patients[patient], "location_id": s.loc, "operatory_id": s.chairs[chair],
        "provider_id": s.dentist, "start": start, "duration_minutes": minutes,
    })
}

fn fields(r: &test_support::TestResponse) -> Vec<(String, String)> {
    r.json()["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap().to_string(),
                        e["message"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

dual_test!(async fn the_api_books_refuses_clashes_with_409_and_bad_input_per_field(db) {
    let s = setup(db).await;
    let app = &s.app;
    // The resources.
    let r = app.get_as("/api/v1/locations", &s.desk).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    let r = app.get_as(&format!("/api/v1/operatories?location_id={}", s.loc), &s.desk).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    let r = app.get_as(&format!("/api/v1/providers?location_id={}", s.loc), &s.desk).await;
    let kinds: Vec<String> = r.json()["items"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"dentist".to_string()) && kinds.contains(&"hygienist".to_string()));
    let r = app.get_as("/api/v1/appointment-types", &s.desk).await;
    assert_eq!(r.json()["items"][0]["duration_minutes"], 80);

    // Booked: 201 with the id and status; times with the location's offset.
    let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, book(&s, 0, 0, "2026-03-03T09:00:00-05:00", 60))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let first = r.json();
    assert_eq!((first["status"].as_str(), first["start"].as_str(), first["end"].as_str()), (Some("scheduled"), Some("2026-03-03T09:00:00-05:00"), Some("2026-03-03T10:00:00-05:00")));
    let id = first["id"].as_str().unwrap().to_string();

    // 409 naming the appointment in the way: the chair, and the dentist in another chair.
    for (chair, patient) in [(0, 1), (1, 1)] {
        let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, book(&s, chair, patient, "2026-03-03T09:30:00-05:00", 30))).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let f = fields(&r);
        assert!(f.contains(&("conflicting_appointment_id".into(), id.clone())), "{f:?}");
    }

    // Bad input: a message per field, nothing written.
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"duration_minutes": 0}), "duration_minutes", "more than zero"),
        (json!({"duration_minutes": -20}), "duration_minutes", "more than zero"),
        (json!({"operatory_id": "not-an-id"}), "operatory_id", "not an id"),
        (json!({"operatory_id": s.other_chair}), "operatory_id", "no such chair"),
        (json!({"patient_id": s.other_patient}), "patient_id", "no such patient"),
        (json!({"provider_id": s.patients[0]}), "provider_id", "no such provider"),
        (json!({"start": "next tuesday"}), "start", "a date and time"),
        (json!({"start": "2026-03-02T08:00:00-05:00"}), "override_reason", "in the past"),
    ];
    for (patch, field, text) in cases {
        let mut b = book(&s, 1, 2, "2026-03-04T09:00:00-05:00", 30);
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, b)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", r.body);
        let f = fields(&r);
        assert!(f.iter().any(|(k, m)| k == field && m.contains(text)), "{field}: {f:?}");
    }
    let list = app.get_as(&format!("/api/v1/appointments?location_id={}&from=2026-03-02&to=2026-03-08", s.loc), &s.desk).await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 1, "only the first booking");
    assert_eq!(list.json()["items"][0]["patient"]["name"], "Sched, Ann");

    // Slots: the next three 30-minute slots for the dentist on Tuesday after 9:00.
    let r = app.get_as(&format!("/api/v1/slots?location_id={}&duration_minutes=30&provider_id={}&from=2026-03-03T09:00:00-05:00&limit=3", s.loc, s.dentist), &s.desk).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let starts: Vec<String> = r.json()["items"].as_array().unwrap().iter().map(|x| x["start"].as_str().unwrap().to_string()).collect();
    assert_eq!(starts, ["2026-03-03T10:00:00-05:00", "2026-03-03T10:10:00-05:00", "2026-03-03T10:20:00-05:00"]);

    // A type brings its pattern: a crown prep is 80 minutes with the dentist in the middle 40,
    // so the dentist can start another patient in chair 1 at 13:00 while chair 2's crown
    // prep started at 12:40 is in its assistant's first 20 minutes... but not at 13:10.
    let mut crown = book(&s, 1, 2, "2026-03-03T12:40:00-05:00", 0);
    crown.as_object_mut().unwrap().remove("duration_minutes");
    crown["appointment_type_id"] = json!(s.crown);
    let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, crown)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.json()["duration_minutes"].as_i64(), r.json()["pattern"].as_str()), (Some(80), Some("//XXXX//")));
    let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, book(&s, 0, 1, "2026-03-03T12:40:00-05:00", 20))).await;
    assert_eq!(r.status, StatusCode::CREATED, "the dentist is free in the crown prep's first 20 minutes: {}", r.body);
    let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, book(&s, 0, 1, "2026-03-03T13:10:00-05:00", 20))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // PATCH: confirmed, then moved to chair 2 at 11:00 with the version, then a stale version.
    let r = app.request(json_req("PATCH", &format!("/api/v1/appointments/{id}"), &s.desk, json!({"status": "confirmed", "version": 1}))).await;
    assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::OK, Some("confirmed")), "{}", r.body);
    let r = app.request(json_req("PATCH", &format!("/api/v1/appointments/{id}"), &s.desk, json!({"start": "2026-03-03T11:00:00-05:00", "operatory_id": s.chairs[1], "version": 2}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.json()["start"].as_str(), r.json()["operatory_id"].as_str(), r.json()["version"].as_i64()), (Some("2026-03-03T11:00:00-05:00"), Some(s.chairs[1].as_str()), Some(3)));
    let r = app.request(json_req("PATCH", &format!("/api/v1/appointments/{id}"), &s.desk, json!({"duration_minutes": 90, "version": 2}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // Cancel without a reason: refused; with one: done, and its time is free again.
    let r = app.request(json_req("PATCH", &format!("/api/v1/appointments/{id}"), &s.desk, json!({"status": "cancelled"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r)[0].0, "cancel_reason");
    let r = app.request(json_req("PATCH", &format!("/api/v1/appointments/{id}"), &s.desk, json!({"status": "cancelled", "cancel_reason": "moved away"}))).await;
    assert_eq!(r.json()["status"], "cancelled");
    let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, book(&s, 1, 1, "2026-03-03T11:00:00-05:00", 60))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Another organization's appointment id: 404.
    let r = app.get_as(&format!("/api/v1/appointments/{}", uuid::Uuid::now_v7()), &s.desk).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Booking needs schedule.write: the hygienist (who reads the agenda) may not.
    let hyg = app.sign_in_as("sch", Role::Hygienist).await;
    let r = app.request(json_req("POST", "/api/v1/appointments", &hyg, book(&s, 0, 2, "2026-03-05T09:00:00-05:00", 30))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The hygienist as the second provider is busy throughout: not bookable elsewhere then.
    let mut with = book(&s, 0, 2, "2026-03-05T13:00:00-05:00", 60);
    with["secondary_id"] = json!(s.hygienist);
    assert_eq!(app.request(json_req("POST", "/api/v1/appointments", &s.desk, with)).await.status, StatusCode::CREATED);
    let mut hyg_elsewhere = book(&s, 1, 1, "2026-03-05T13:30:00-05:00", 30);
    hyg_elsewhere["provider_id"] = json!(s.hygienist);
    let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, hyg_elsewhere)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
});

dual_test!(async fn daylight_saving_days_in_toronto_are_right_and_the_spring_gap_is_refused(db) {
    let s = setup(db).await;
    let app = &s.app;
    let admin = app.sign_in_as("sch", Role::Admin).await;
    let tbook = |start: &str, minutes: i64, patient: usize| json!({
        "patient_id": s.patients[patient], "location_id": s.toronto, "operatory_id": s.toronto_chair,
        "provider_id": s.dentist, "start": start, "duration_minutes": minutes, "override_reason": "Sunday clinic",
    });
    // Sunday 2027-03-14: 02:00 EST becomes 03:00 EDT. 02:30 does not exist, with or without
    // an offset.
    for start in ["2027-03-14T02:30", "2027-03-14T02:30:00-05:00"] {
        let r = app.request(json_req("POST", "/api/v1/appointments", &admin, tbook(start, 30, 0))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let f = fields(&r);
        assert!(f.iter().any(|(k, m)| k == "start" && m.contains("02:30 does not exist on 2027-03-14 in America/Toronto")), "{f:?}");
    }
    // 01:30 for an hour of real time ends at 03:30 local; 09:00 is 09:00 EDT.
    let r = app.request(json_req("POST", "/api/v1/appointments", &admin, tbook("2027-03-14T01:30", 60, 0))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.json()["start"].as_str(), r.json()["end"].as_str()), (Some("2027-03-14T01:30:00-05:00"), Some("2027-03-14T03:30:00-04:00")));
    let r = app.request(json_req("POST", "/api/v1/appointments", &admin, tbook("2027-03-14T09:00", 30, 1))).await;
    assert_eq!(r.json()["start"], "2027-03-14T09:00:00-04:00");
    // Sunday 2027-11-07: 01:30 happens twice; the local time is the first, the second is
    // named by its offset. 09:00 is 09:00 EST.
    let r = app.request(json_req("POST", "/api/v1/appointments", &admin, tbook("2027-11-07T01:30", 30, 0))).await;
    assert_eq!(r.json()["start"], "2027-11-07T01:30:00-04:00");
    let r = app.request(json_req("POST", "/api/v1/appointments", &admin, tbook("2027-11-07T01:30:00-05:00", 30, 1))).await;
    assert_eq!(r.status, StatusCode::CREATED, "the second 01:30 is another hour: {}", r.body);
    assert_eq!(r.json()["start"], "2027-11-07T01:30:00-05:00");
    let r = app.request(json_req("POST", "/api/v1/appointments", &admin, tbook("2027-11-07T09:00", 30, 2))).await;
    assert_eq!(r.json()["start"], "2027-11-07T09:00:00-05:00");

    // The agenda: each block on the row of its local time; the fall-back day has 25 hours of
    // rows, the spring day 23.
    for (date, hours, checks) in [
        ("2027-03-14", 23, vec![("01:30–03:30", "01:30"), ("09:00–09:30", "09:00")]),
        ("2027-11-07", 25, vec![("09:00–09:30", "09:00")]),
    ] {
        let page = app.get_as(&format!("/appointments?location={}&date={date}&fragment=grid", s.toronto), &admin).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.body;
        let rows: usize = attr(&html, "data-rows").parse().unwrap();
        // Whole hours from the first appointment's hour to the last one's end, in real time.
        let want_rows = if hours == 23 { 8 * 6 } else { 10 * 6 };
        assert_eq!(rows, want_rows, "{date}");
        for (time, label) in checks {
            let block_row = block_row(&html, time).unwrap_or_else(|| panic!("{date}: no block {time} in {html}"));
            assert_eq!(Some(block_row), label_row(&html, label), "{date}: the {time} block is on the {label} row");
        }
        // From the first row to the last, the labels of the day: on the spring day 02:00 is
        // missing, on the fall-back day 01:00 shows twice.
        let labels: Vec<String> = labels(&html);
        if hours == 23 {
            assert!(!labels.contains(&"02:00".to_string()) && labels.contains(&"03:00".to_string()), "{labels:?}");
        } else {
            assert_eq!(labels.iter().filter(|l| *l == "01:00").count(), 2, "{labels:?}");
        }
    }
});

dual_test!(async fn a_saved_view_shows_its_chairs_and_colours_and_is_the_users_own(db) {
    let s = setup(db).await;
    let app = &s.app;
    let r = app.request(json_req("POST", "/api/v1/appointments", &s.desk, book(&s, 1, 0, "2027-06-07T10:00:00-04:00", 30))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let form = |cookie: &str, path: &str, body: String| {
        Request::post(path.to_string())
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    // Save "Chair 2" with colours by status.
    let r = app.request(form(&s.desk, "/appointments/views", format!("name=Chair+2&location_id={}&by=chairs&col={}&colour=status", s.loc, s.chairs[1]))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let link = r.header("location").unwrap().to_string();
    assert!(link.contains(&format!("cols={}", s.chairs[1])) && link.contains("colour=status"), "{link}");
    let page = app.get_as(&format!("{link}&date=2027-06-07"), &s.desk).await;
    assert_eq!(page.status, StatusCode::OK);
    let cols: Vec<&str> = page.body.match_indices("class=\"agenda-colhead").map(|(i, _)| &page.body[i..i + 200]).collect();
    assert_eq!(cols.len(), 1, "only the view's chair: {cols:?}");
    assert!(cols[0].contains(&s.chairs[1]));
    assert!(page.body.contains("st-scheduled"), "coloured by status");
    // The views menu lists it, with its link; another user does not see it.
    assert!(page.body.contains(">Chair 2</a>"), "listed in the menu");
    let admin = app.sign_in_as("sch", Role::Admin).await;
    let theirs = app.get_as(&format!("/appointments?location={}&date=2027-06-07", s.loc), &admin).await;
    assert!(!theirs.body.contains(">Chair 2</a>"));
    assert_eq!(theirs.body.matches("class=\"agenda-colhead").count(), 2, "all chairs without a view");
    // Bad input names the field and saves nothing.
    let r = app.request(form(&s.desk, "/appointments/views", format!("name=&location_id={}&colour=status", s.loc))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app.request(form(&s.desk, "/appointments/views", format!("name=X&location_id={}&colour=rainbow", s.loc))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Deleting: not by another user; then by its owner.
    let id = {
        let i = page.body.find("/appointments/views/").unwrap() + "/appointments/views/".len();
        page.body[i..i + 36].to_string()
    };
    let r = app.request(form(&admin, &format!("/appointments/views/{id}/delete"), String::new())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.request(form(&s.desk, &format!("/appointments/views/{id}/delete"), String::new())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get_as(&format!("/appointments?location={}&date=2027-06-07", s.loc), &s.desk).await;
    assert!(!page.body.contains(">Chair 2</a>"));
});

/// The value of the first `name="…"` attribute.
fn attr(html: &str, name: &str) -> String {
    let i = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    html[i..].split('"').next().unwrap().to_string()
}

/// Row classes of the time labels: (label, row).
fn label_rows(html: &str) -> Vec<(String, usize)> {
    html.split("class=\"agenda-time gr")
        .skip(1)
        .filter_map(|part| {
            let row: usize = part
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            let label = part.split('>').nth(1)?.split('<').next()?.to_string();
            Some((label, row))
        })
        .collect()
}

fn labels(html: &str) -> Vec<String> {
    label_rows(html).into_iter().map(|(l, _)| l).collect()
}

fn label_row(html: &str, label: &str) -> Option<usize> {
    label_rows(html)
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, r)| r)
}

/// The row of the block showing `time` ("09:00–09:30").
fn block_row(html: &str, time: &str) -> Option<usize> {
    html.split("<a class=\"appt gr").skip(1).find_map(|part| {
        part.contains(&format!("<span class=\"appt-time\">{time}</span>"))
            .then(|| {
                part.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .flatten()
    })
}

dual_test!(async fn icalendar_feeds_parse_in_three_parsers_we_did_not_write(db) {
    let s = setup(db).await;
    let app = &s.app;
    let admin = app.sign_in_as("sch", Role::Admin).await;
    // Around both changes of 2026 in Toronto, and one on a plain day.
    for (start, p) in [("2026-03-06T09:00", 0), ("2026-03-09T09:00", 1), ("2026-11-02T09:00", 2)] {
        let r = app.request(json_req("POST", "/api/v1/appointments", &admin, json!({
            "patient_id": s.patients[p], "location_id": s.toronto, "operatory_id": s.toronto_chair,
            "provider_id": s.dentist, "start": start, "duration_minutes": 45, "notes": "x",
        }))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let scope_user = app.db.store.user_by_email(&test_support::staff_email("sch", Role::Admin)).await.unwrap().unwrap();
    let (_, token) = app
        .db
        .store
        .create_feed(&scope_user.scope(), &store::patients::Actor::system("test"), None, Some(s.toronto.parse().unwrap()))
        .await
        .unwrap();
    let r = app.get(&format!("/ical/{token}.ics")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("text/calendar; charset=utf-8"));
    let ics = r.body;
    assert!(!ics.contains("Sched") && ics.contains("A. S."), "initials only: {ics}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.ics");
    std::fs::write(&file, &ics).unwrap();
    // Each parser prints every event's start as UTC; 9:00 in Toronto is 14:00Z in EST
    // (6 March, 2 November) and 13:00Z in EDT (9 March).
    let want = "2026-03-06T14:00:00Z 2026-03-09T13:00:00Z 2026-11-02T14:00:00Z";
    let scripts = [
        ("icalendar", "import icalendar", r#"
import sys, icalendar, datetime
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
out = sorted(e.decoded('dtstart').astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ') for e in cal.walk('VEVENT'))
print(' '.join(out))
"#),
        ("vobject", "import vobject", r#"
import sys, vobject, datetime
cal = vobject.readOne(open(sys.argv[1]).read())
out = sorted(e.dtstart.value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ') for e in cal.vevent_list)
print(' '.join(out))
"#),
        ("ical", "from ical.calendar_stream import IcsCalendarStream", r#"
import sys, datetime
from ical.calendar_stream import IcsCalendarStream
cal = IcsCalendarStream.calendar_from_ics(open(sys.argv[1]).read())
out = sorted(e.dtstart.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ') for e in cal.events)
print(' '.join(out))
"#),
    ];
    for (module, import, script) in scripts {
        let have = std::process::Command::new("python3").args(["-c", import]).status().map(|s| s.success()).unwrap_or(false);
        if !have {
            test_support::missing_peer(&format!("the Python {module} package (pip install {module})"));
            continue;
        }
        let out = std::process::Command::new("python3").args(["-c", script, file.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{module}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want, "{module}");
    }
    // One appointment as a file for the patient.
    let list = app.get_as(&format!("/api/v1/appointments?location_id={}&from=2026-03-09&to=2026-03-09", s.toronto), &admin).await;
    let id = list.json()["items"][0]["id"].as_str().unwrap().to_string();
    let r = app.get_as(&format!("/appointments/{id}/calendar.ics"), &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-disposition").unwrap().contains("attachment"));
    assert!(r.body.contains("DTSTART;TZID=America/Toronto:20260309T090000"), "{}", r.body);
});

// 200 clients book at once over HTTP, 30 % of their attempts aimed at slots others want too:
// nothing is ever double-booked, and every refusal is a 409 naming the appointment in the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_racing_never_double_book() {
    for db in [
        Some(test_support::TestDb::sqlite().await),
        test_support::TestDb::postgres().await,
    ]
    .into_iter()
    .flatten()
    {
        race(db).await;
    }
}

async fn race(db: test_support::TestDb) {
    const CLIENTS: usize = 200;
    const ATTEMPTS: usize = 50;
    const CHAIRS: usize = 20;
    let store = db.store.clone();
    let (org, loc) = seed_org(&store, "race").await;
    seed_staff(&store, &org).await;
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let mut chairs = Vec::new();
    let mut providers = Vec::new();
    for i in 0..CHAIRS {
        chairs.push(
            store
                .create_operatory(
                    &scope,
                    &actor,
                    loc.id,
                    &domain::scheduling::OperatoryInput {
                        name: format!("Op {i}"),
                        short_name: String::new(),
                    },
                )
                .await
                .unwrap()
                .id
                .to_string(),
        );
        providers.push(
            seed_provider(&store, org.id, &format!("Dr {i}"), Role::Dentist, "#101010")
                .await
                .to_string(),
        );
    }
    let mut patients = Vec::new();
    for i in 0..CLIENTS {
        patients.push(
            seed_patient(
                &store,
                org.id,
                loc.id,
                patient_input(&format!("P{i}"), "Racer", "1990-01-01"),
            )
            .await
            .id
            .to_string(),
        );
    }
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let cookie = app.sign_in_as("race", Role::Admin).await;
    let (chairs, providers, patients) = (Arc::new(chairs), Arc::new(providers), Arc::new(patients));
    let http = test_support::http();
    // 30-minute slots from 2026-03-10 00:00 UTC: private ones from slot 0, contested ones in a
    // block of 100 (chair, slot) pairs from day 20.
    let slot_start = |slot: usize| {
        let t = jiff::Timestamp::from_second(1_773_100_800 + slot as i64 * 1800).unwrap();
        t.to_string()
    };
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (http, base, cookie) = (http.clone(), base.clone(), cookie.clone());
        let (chairs, providers, patients) = (chairs.clone(), providers.clone(), patients.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut refused) = (0usize, 0usize);
            for a in 0..ATTEMPTS {
                // A cheap, reproducible choice: about 30 % contested.
                let contested = (c * 7 + a * 13) % 10 < 3;
                let (chair, slot) = if contested {
                    let k = (c * 31 + a * 17) % 100;
                    (k % CHAIRS, 20 * 48 + k / CHAIRS)
                } else {
                    (c % CHAIRS, c / CHAIRS + 10 * a)
                };
                let body = json!({
                    "patient_id": patients[c], "location_id": loc.id, "operatory_id": chairs[chair],
                    "provider_id": providers[chair], "start": slot_start(slot), "duration_minutes": 30,
                    "override_reason": "load test",
                });
                let r = http
                    .post(format!("{base}/api/v1/appointments"))
                    .header("cookie", &cookie)
                    .header("origin", &base)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                match status {
                    201 => ok += 1,
                    409 => {
                        let named = v["errors"].as_array().is_some_and(|e| e.iter().any(|f| f["field"] == "conflicting_appointment_id"));
                        assert!(named, "a 409 without the conflict: {v}");
                        assert!(contested, "an uncontested slot was refused: {v}");
                        refused += 1;
                    }
                    other => panic!("{other}: {v}"),
                }
            }
            (ok, refused)
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (o, r) = t.await.unwrap();
        ok += o;
        refused += r;
    }
    assert_eq!(ok + refused, CLIENTS * ATTEMPTS);
    assert!(
        refused > 1000,
        "contention: {refused} refused of {}",
        CLIENTS * ATTEMPTS
    );
    // No chair, provider or patient holds two overlapping appointments.
    let rows = app
        .db
        .store
        .db
        .fetch_all(store::db::Q::new("SELECT operatory_id, provider_id, patient_id, start_at, end_at FROM appointments WHERE org_id = $1 ORDER BY start_at").bind(org.id))
        .await
        .unwrap();
    assert_eq!(rows.len(), ok);
    let mut seen: std::collections::HashMap<(String, i64), usize> =
        std::collections::HashMap::new();
    for r in &rows {
        for col in ["operatory_id", "provider_id", "patient_id"] {
            let key = (
                format!("{col}:{}", r.uuid(col).unwrap()),
                r.i64("start_at").unwrap(),
            );
            *seen.entry(key).or_default() += 1;
        }
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "a resource is booked twice at one time"
    );
    // (Slots are 30 minutes on a 30-minute grid: equal starts are the only way to overlap.)
    println!(
        "{} on {:?}: {ok} booked, {refused} refused as conflicts",
        CLIENTS * ATTEMPTS,
        app.db.backend()
    );
}
