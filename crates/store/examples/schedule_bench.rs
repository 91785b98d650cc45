//! Scheduling speed on either database:
//!
//!   cargo run --release -p store --example schedule_bench -- URL slots [QUERIES]
//!   cargo run --release -p store --example schedule_bench -- URL book WRITERS ATTEMPTS
//!   cargo run --release -p store --example schedule_bench -- URL series [QUERIES]
//!
//! `slots` builds (once per database) a clinic of 8 chairs and 4 dentists with 90 working days
//! about 80 % booked, then asks `Store::find_slots` for the next 5 slots of a 30-minute
//! appointment (and of a crown prep, whose pattern needs the dentist only in its middle)
//! QUERIES times from random instants of those 90 days, with a given provider or anyone, and
//! prints p50/p99/max. `book` has WRITERS tasks book ATTEMPTS appointments in all, each aimed
//! at one of a few slots per chair so most collide, and prints bookings and refusals a second.
//! `series` uses the same clinic: 20-procedure treatment plans (scaling in four quadrants, a
//! root canal, build-up and crown, an extraction, fillings, a veneer, a night guard, …) are
//! turned into visit series by `Store::propose_series` from random days of the booked 90 days:
//! the planner, then one slot search per visit. It prints p50/p99/max.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark program

use std::sync::Arc;
use std::time::Instant;

use domain::identity::Role;
use domain::scheduling::{AppointmentTypeInput, OperatoryInput};
use domain::{LocationId, OpeningHours, OrgId, Organization, Scope};
use jiff::civil::time;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::patients::Actor;
use store::scheduling::appointments::{NewAppointment, Permits};
use store::scheduling::slots::SlotQuery;
use store::{Db, PoolSettings, Store};

const MINUTE: i64 = 60_000_000;
const DAY: i64 = 24 * 60 * MINUTE;

struct Clinic {
    scope: Scope,
    loc: LocationId,
    chairs: Vec<domain::OperatoryId>,
    dentists: Vec<domain::UserId>,
    patients: Vec<domain::PatientId>,
    quick: domain::AppointmentTypeId,
    crown: domain::AppointmentTypeId,
    start: jiff::Timestamp,
}

async fn clinic(store: &Store, slug: &str, patients: usize) -> (Clinic, bool) {
    let actor = Actor::system("bench");
    if let Some(o) = store.org_by_slug(slug).await.unwrap() {
        let scope = Scope::system(o.id);
        let loc = store.locations(&scope).await.unwrap()[0].id;
        let chairs = store
            .operatories(&scope, loc, false)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let dentists = store
            .agenda_providers(&scope, loc)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        let types = store.appointment_types(&scope, false).await.unwrap();
        let rows = store
            .db
            .fetch_all(
                store::db::Q::new(
                    "SELECT id FROM patients WHERE org_id = $1 ORDER BY chart_number",
                )
                .bind(o.id),
            )
            .await
            .unwrap();
        let patients = rows
            .iter()
            .map(|r| domain::PatientId::from_uuid(r.uuid("id").unwrap()))
            .collect();
        return (
            Clinic {
                scope,
                loc,
                chairs,
                dentists,
                patients,
                quick: types[0].id,
                crown: types[1].id,
                start: start_of(store),
            },
            false,
        );
    }
    let org = Organization {
        id: OrgId::from_uuid(store.new_uuid()),
        name: "Schedule bench".into(),
        slug: slug.into(),
    };
    let loc = domain::Location {
        id: LocationId::from_uuid(store.new_uuid()),
        org_id: org.id,
        name: "Bench clinic".into(),
        time_zone: "America/New_York".into(),
        currency: domain::Currency::USD,
        locale: "en".into(),
        address: domain::Address::default(),
        opening_hours: OpeningHours::weekdays(&[
            (time(8, 0, 0, 0), time(12, 0, 0, 0)),
            (time(13, 0, 0, 0), time(17, 0, 0, 0)),
        ]),
    };
    let mut tx = store.begin().await.unwrap();
    tx.create_org(store, &org).await.unwrap();
    tx.create_location(store, &Scope::system(org.id), &loc)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let scope = Scope::system(org.id);
    let mut chairs = Vec::new();
    for i in 0..8 {
        chairs.push(
            store
                .create_operatory(
                    &scope,
                    &actor,
                    loc.id,
                    &OperatoryInput {
                        name: format!("Op {i}"),
                        short_name: String::new(),
                    },
                )
                .await
                .unwrap()
                .id,
        );
    }
    let mut dentists = Vec::new();
    for i in 0..4 {
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .create_user_prehashed(
                store,
                &scope,
                &store::identity::NewUser {
                    email: format!("d{i}@{slug}.test"),
                    name: format!("Dr {i}"),
                    phone: None,
                    password: None,
                    roles: vec![Role::Dentist],
                    locations: vec![],
                },
                "!".into(),
            )
            .await
            .unwrap();
        tx.add_provider_profile(
            store,
            &scope,
            id,
            &domain::identity::provider::ProviderProfile {
                licence_number: "L".into(),
                npi: String::new(),
                specialty: "general_dentistry".into(),
                color: "#123456".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        dentists.push(id);
    }
    let ty = |n: &str, p: &str| AppointmentTypeInput {
        name: n.into(),
        colour: "#654321".into(),
        pattern: p.into(),
        unit_minutes: 10,
    };
    let quick = store
        .save_appointment_type(&scope, &actor, None, &ty("Exam", "XXX"), true)
        .await
        .unwrap()
        .id;
    let crown = store
        .save_appointment_type(&scope, &actor, None, &ty("Crown prep", "//XXXX//"), true)
        .await
        .unwrap()
        .id;
    let mut ps = Vec::new();
    for i in 0..patients {
        let p = store
            .register_patient(
                &scope,
                &actor,
                store::patients::NewPatient {
                    location_id: loc.id,
                    restricted: false,
                    input: domain::patients::PatientInput {
                        given_name: format!("P{i}"),
                        family_name: "Bench".into(),
                        birth_date: "1980-01-01".into(),
                        ..Default::default()
                    },
                    family: store::patients::FamilyChoice::Own,
                    status: domain::patients::PatientStatus::Active,
                },
            )
            .await
            .unwrap();
        ps.push(p.id);
    }
    (
        Clinic {
            scope,
            loc: loc.id,
            chairs,
            dentists,
            patients: ps,
            quick,
            crown,
            start: start_of(store),
        },
        true,
    )
}

fn start_of(store: &Store) -> jiff::Timestamp {
    let d = store
        .now()
        .to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap())
        .date()
        .tomorrow()
        .unwrap();
    d.to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap())
        .unwrap()
        .timestamp()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = Db::connect(&args[0], &PoolSettings::default())
        .await
        .unwrap();
    // A fixed benchmark key: patient names are encrypted at rest.
    let store = Store::new(db, Arc::new(domain::SystemClock))
        .with_master_key(store::crypto::MasterKey::from_bytes(&[0x42; 32]).unwrap());
    store.migrate().await.unwrap();
    let actor = Actor::system("bench");
    let may = Permits { may_override: true };
    match args[1].as_str() {
        mode @ ("slots" | "series") => {
            let queries: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(2000);
            let (c, fresh) = clinic(&store, "schedule-bench", 400).await;
            let mut rng = StdRng::seed_from_u64(7);
            if fresh {
                // 90 days from tomorrow, weekdays 8-12 and 13-17: each chair filled at about
                // 80 %, with 20- to 90-minute appointments; chair k has dentist k / 2.
                let t0 = Instant::now();
                let mut booked = 0;
                let (mut booked_minutes, mut open_minutes) = (0i64, 0i64);
                let mut p = 0usize;
                for day in 0..90 {
                    let d0 = c.start.as_microsecond() + day * DAY;
                    let wd = jiff::Timestamp::from_microsecond(d0)
                        .unwrap()
                        .to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap())
                        .weekday();
                    if matches!(
                        wd,
                        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
                    ) {
                        continue;
                    }
                    for (k, chair) in c.chairs.iter().enumerate() {
                        for (open, close) in [(8 * 60, 12 * 60), (13 * 60, 17 * 60)] {
                            open_minutes += close - open;
                            let mut t = d0 + open * MINUTE;
                            let end = d0 + close * MINUTE;
                            while t < end {
                                let mut minutes = [20, 30, 40, 60, 90][rng.random_range(0..5)];
                                // A gap now and then: about 80 % of the open time is booked.
                                if rng.random_bool(0.15) {
                                    t += 40 * MINUTE;
                                    continue;
                                }
                                if t + minutes * MINUTE > end {
                                    minutes = (end - t) / MINUTE;
                                    if minutes < 20 {
                                        break;
                                    }
                                }
                                p = (p + 1) % c.patients.len();
                                // One dentist for two chairs, needed ten minutes in each appointment.
                                let new = NewAppointment {
                                    location_id: Some(c.loc),
                                    operatory_id: Some(*chair),
                                    patient_id: Some(c.patients[p]),
                                    provider_id: Some(c.dentists[k / 2]),
                                    start: jiff::Timestamp::from_microsecond(t).ok(),
                                    duration_minutes: Some(minutes),
                                    // The dentist for ten minutes after the first ten.
                                    pattern: Some(format!(
                                        "/X{}",
                                        "/".repeat((minutes / 10 - 2).max(0) as usize)
                                    )),
                                    override_reason: Some("bench".into()),
                                    ..Default::default()
                                };
                                if store
                                    .book_appointment(&c.scope, &actor, may, &new)
                                    .await
                                    .is_ok()
                                {
                                    booked += 1;
                                    booked_minutes += minutes;
                                    t += minutes * MINUTE;
                                } else {
                                    // The dentist is busy in the other chair: ten minutes on.
                                    t += 10 * MINUTE;
                                }
                            }
                        }
                    }
                }
                println!(
                    "built: {booked} appointments ({:.1} % of the chairs' open time) in {:.1} s",
                    100.0 * booked_minutes as f64 / open_minutes as f64,
                    t0.elapsed().as_secs_f64()
                );
            }
            // As autovacuum leaves a table that has been written: with the visibility map set,
            // PostgreSQL answers the busy times from the index alone (without it, a search
            // visits every row's page: a quarter slower at the median here).
            if store.db.backend() == store::db::Backend::Postgres {
                store
                    .db
                    .execute(store::db::Q::new("VACUUM (ANALYZE) appointment_busy"))
                    .await
                    .unwrap();
            }
            if mode == "series" {
                series(&store, &c, queries.min(1000)).await;
                return;
            }
            for (label, ty, anyone) in [
                ("30 min, anyone", c.quick, true),
                ("crown prep, one dentist", c.crown, false),
            ] {
                let mut times = Vec::with_capacity(queries);
                let mut by_reach: [Vec<f64>; 4] = Default::default();
                let mut found = 0;
                // The first 200 are not counted: every pooled connection opens, and PostgreSQL
                // plans each prepared statement afresh for its first five runs, as in a server
                // that has been up a minute.
                let warm_up = 200;
                let mut cpu = cpu_times();
                for i in 0..warm_up + queries {
                    if i == warm_up {
                        times.clear();
                        found = 0;
                        cpu = cpu_times();
                    }
                    let from = c.start.as_microsecond()
                        + rng.random_range(0..85) * DAY
                        + rng.random_range(0..24 * 60) * MINUTE;
                    let q = SlotQuery {
                        location_id: Some(c.loc),
                        appointment_type_id: Some(ty),
                        duration_minutes: if anyone { Some(30) } else { None },
                        provider_id: if anyone {
                            None
                        } else {
                            Some(c.dentists[rng.random_range(0..4)])
                        },
                        providers: Vec::new(),
                        patient_id: None,
                        from: jiff::Timestamp::from_microsecond(from).ok(),
                        to: None,
                        window: None,
                        limit: 5,
                    };
                    let t = Instant::now();
                    let slots = store.find_slots(&c.scope, &q).await.unwrap();
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    times.push(ms);
                    found += slots.len();
                    // How far the search had to look: the chunk its last slot fell in.
                    let reach = slots
                        .last()
                        .map(|s| (s.start - from) / DAY)
                        .unwrap_or(i64::MAX);
                    let bucket = match reach {
                        0 => 0,
                        1..=13 => 1,
                        14..=39 => 2,
                        _ => 3,
                    };
                    if i >= warm_up {
                        by_reach[bucket].push(ms);
                    }
                }
                let (p50, p99, max) = (
                    pct(&mut times, 0.5),
                    pct(&mut times, 0.99),
                    pct(&mut times, 1.0),
                );
                println!(
                    "slots ({label}): {queries} queries, {:.1} slots each; p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms on {} ({})",
                    found as f64 / queries as f64,
                    store.db.backend().name(),
                    steal_since(cpu)
                );
                let reach: Vec<String> = ["within a day", "1-13 days", "14-39 days", "further"]
                    .iter()
                    .zip(by_reach.iter_mut())
                    .filter(|(_, t)| !t.is_empty())
                    .map(|(l, t)| {
                        format!(
                            "{l}: {} queries, p50 {:.2} ms, p99 {:.2} ms",
                            t.len(),
                            pct(t, 0.5),
                            pct(t, 0.99)
                        )
                    })
                    .collect();
                println!("  by how far the last slot was: {}", reach.join("; "));
            }
        }
        "book" => {
            let writers: usize = args[2].parse().unwrap();
            let attempts: usize = args[3].parse().unwrap();
            let (c, _) = clinic(
                &store,
                &format!("book-bench-{}", store.new_uuid().simple()),
                writers,
            )
            .await;
            let c = Arc::new(c);
            let store = Arc::new(store);
            let t0 = Instant::now();
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let (store, c) = (store.clone(), c.clone());
                    tokio::spawn(async move {
                        let (mut ok, mut refused) = (0usize, 0usize);
                        let mut rng = StdRng::seed_from_u64(w as u64);
                        for _ in 0..attempts / writers {
                            // 8 chairs x 200 half-hour slots: about a third of the attempts
                            // meet a slot already taken.
                            let chair = rng.random_range(0..8);
                            let slot = rng.random_range(0..200);
                            let new = NewAppointment {
                                location_id: Some(c.loc),
                                operatory_id: Some(c.chairs[chair]),
                                patient_id: Some(c.patients[w]),
                                provider_id: Some(c.dentists[chair / 2]),
                                start: jiff::Timestamp::from_microsecond(
                                    c.start.as_microsecond() + 200 * DAY + slot * 30 * MINUTE,
                                )
                                .ok(),
                                duration_minutes: Some(30),
                                pattern: Some("/X/".into()),
                                override_reason: Some("bench".into()),
                                ..Default::default()
                            };
                            match store
                                .book_appointment(
                                    &c.scope,
                                    &Actor::system("bench"),
                                    Permits { may_override: true },
                                    &new,
                                )
                                .await
                            {
                                Ok(_) => ok += 1,
                                Err(store::tenancy::WriteError::Invalid(d))
                                    if d.code == domain::ErrorCode::Conflict =>
                                {
                                    refused += 1
                                }
                                Err(e) => panic!("not a conflict: {e:?}"),
                            }
                        }
                        (ok, refused)
                    })
                })
                .collect();
            let (mut ok, mut refused) = (0, 0);
            for t in tasks {
                let (o, r) = t.await.unwrap();
                ok += o;
                refused += r;
            }
            let s = t0.elapsed().as_secs_f64();
            println!(
                "book: {writers} writers, {} attempts in {s:.2} s: {:.0} attempts/s ({ok} booked, {refused} refused) on {}",
                ok + refused,
                (ok + refused) as f64 / s,
                store.db.backend().name()
            );
        }
        other => panic!("unknown mode {other}"),
    }
}

/// The machine's CPU time so far, as `/proc/stat` counts it: (stolen by the hypervisor, all).
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    Some((*n.get(7)?, n.iter().take(8).sum()))
}

/// "CPU stolen by the hypervisor: x %" since `before` (a loaded host slows every figure).
fn steal_since(before: Option<(u64, u64)>) -> String {
    match (before, cpu_times()) {
        (Some((s0, t0)), Some((s1, t1))) if t1 > t0 => format!(
            "CPU stolen by the hypervisor meanwhile: {:.0} %",
            100.0 * (s1 - s0) as f64 / (t1 - t0) as f64
        ),
        _ => "CPU steal unknown".into(),
    }
}

/// `series`: QUERIES proposals of 20-procedure plans into the 80 %-full calendar.
async fn series(store: &Store, c: &Clinic, queries: usize) {
    use store::plans::{NewItem, NewPlan, SeriesPreferences};
    let actor = Actor::system("bench");
    // (code, tooth, surfaces, area)
    type Work<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let work: [Work; 20] = [
        ("EXAM", None, None, None),
        ("BW", None, None, None),
        ("CLEAN", None, None, None),
        ("SRP", None, None, Some("UR")),
        ("SRP", None, None, Some("UL")),
        ("SRP", None, None, Some("LL")),
        ("SRP", None, None, Some("LR")),
        ("COMP", Some("16"), Some("MO"), None),
        ("COMP", Some("15"), Some("O"), None),
        ("COMP", Some("25"), Some("DO"), None),
        ("COMP", Some("26"), Some("MOD"), None),
        ("COMP", Some("45"), Some("O"), None),
        ("RCT", Some("36"), None, None),
        ("CORE", Some("36"), None, None),
        ("CROWN", Some("36"), None, None),
        ("EXT", Some("48"), None, None),
        ("SEAL", Some("17"), Some("O"), None),
        ("FLUOR", None, None, None),
        ("NIGHT", None, None, Some("U")),
        ("VENEER", Some("11"), None, None),
    ];
    // One plan for each of 40 patients (a proposal books nothing: plans are reused).
    let mut plans = Vec::new();
    for p in c.patients.iter().take(40) {
        let items = work
            .iter()
            .map(|(code, tooth, surfaces, area)| NewItem {
                code: code.to_string(),
                tooth: tooth.map(str::to_string),
                surfaces: surfaces.map(str::to_string),
                area: area.map(str::to_string),
                ..NewItem::default()
            })
            .collect();
        let plan = store
            .create_plan(
                &c.scope,
                &actor,
                *p,
                &NewPlan {
                    name: Some("bench".into()),
                    items,
                    alternative_of: None,
                },
            )
            .await
            .unwrap();
        plans.push(plan.id);
    }
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let today = c.start.to_zoned(tz).date();
    let mut rng = StdRng::seed_from_u64(11);
    let mut times = Vec::with_capacity(queries);
    let (mut visits, mut days) = (0usize, 0i64);
    let warm_up = 50;
    let mut cpu = cpu_times();
    for i in 0..warm_up + queries {
        if i == warm_up {
            times.clear();
            visits = 0;
            days = 0;
            cpu = cpu_times();
        }
        let prefs = SeriesPreferences {
            from: today
                .checked_add(jiff::Span::new().days(rng.random_range(0..60)))
                .ok(),
            ..SeriesPreferences::default()
        };
        let plan = plans[i % plans.len()];
        let t = Instant::now();
        let p = store
            .propose_series(&c.scope, &actor, plan, &prefs)
            .await
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        visits += p.visits.len();
        if let (Some(a), Some(b)) = (p.visits.first(), p.visits.last()) {
            days += (b.slot.start.as_second() - a.slot.start.as_second()) / 86400;
        }
    }
    let (p50, p99, max) = (
        pct(&mut times, 0.5),
        pct(&mut times, 0.99),
        pct(&mut times, 1.0),
    );
    println!(
        "series: {queries} proposals of 20 procedures, {:.1} visits over {:.0} days each; p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms on {} ({})",
        visits as f64 / queries as f64,
        days as f64 / queries as f64,
        store.db.backend().name(),
        steal_since(cpu)
    );
}
