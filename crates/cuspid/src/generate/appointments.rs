//! The generator's agenda: at each clinic three chairs, each with its own provider (two
//! dentists and a hygienist), five appointment types, and `years` of weekdays (ten by default,
//! up to the end of 2026) filled from 8:00 to 17:30 at about 75 % (less where a clinic has too
//! few patients for that: about 2.5 visits a patient a year): past appointments mostly
//! completed, a few no-shows and cancellations, future ones scheduled or confirmed. Each
//! appointment that holds its time gets its busy rows (chair, patient, the provider in the
//! pattern's X units), so the generated agenda is one the database would have accepted: a
//! patient is booked at most once a day, each chair holds one appointment at a time.
//!
//! Each completed appointment also charts what was done at it, two to four completed procedures
//! of the organization's catalog fitting its type (an exam's radiographs, a filling's
//! composite on a posterior tooth, a root canal and its periapicals), about three a visit:
//! the procedure history the chart opens with. They come from a random source of their own,
//! so the agenda is the same with or without them.

use std::collections::HashSet;
use std::time::Instant;

use domain::identity::Role;
use domain::identity::provider::ProviderProfile;
use domain::scheduling::{AppointmentTypeInput, OperatoryInput, Pattern};
use domain::{LocationId, PatientId, Scope, UserId};
use futures::future::BoxFuture;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use rand::Rng;
use store::Store;
use store::batch::BatchInsert;
use store::db::{Q, Val};
use store::patients::Actor;

use super::Gen;

const MINUTE: i64 = 60_000_000;

/// Appointments per transaction.
const CHUNK: usize = 20_000;

const APPOINTMENT_COLUMNS: &[&str] = &[
    "id",
    "org_id",
    "location_id",
    "operatory_id",
    "patient_id",
    "provider_id",
    "secondary_id",
    "appointment_type_id",
    "start_at",
    "end_at",
    "pattern",
    "unit_minutes",
    "status",
    "confirmation",
    "reminders_sent",
    "notes_enc",
    "cancel_reason",
    "override_reason",
    "confirmed_at",
    "arrived_at",
    "seated_at",
    "completed_at",
    "no_show_at",
    "cancelled_at",
    "rescheduled_from",
    "rescheduled_to",
    "version",
    "created_at",
    "created_by",
    "updated_at",
];

const ENTRY_COLUMNS: &[&str] = &[
    "id",
    "org_id",
    "patient_id",
    "code_id",
    "code",
    "kind",
    "effect",
    "tooth",
    "surfaces",
    "area",
    "status",
    "provider_id",
    "recorded_by_name",
    "recorded_at",
    "completed_at",
    "completed_by_name",
    "changed_version",
];

const CHART_COLUMNS: &[&str] = &["patient_id", "org_id", "version", "updated_at"];

/// What each appointment type (in [`TYPES`] order) charts: (code, chance out of 100).
const DONE: &[&[(&str, u32)]] = &[
    &[
        ("RECALL", 100),
        ("CLEAN", 100),
        ("BW", 50),
        ("FLUOR", 30),
        ("PA", 20),
    ],
    &[("COMP", 100), ("COMP", 40), ("PA", 60), ("EXAM", 30)],
    &[("CROWN", 100), ("PA", 100), ("EXAM", 30)],
    &[("RCT", 100), ("PA", 100), ("PA", 70), ("EXAM", 30)],
    &[("EXAM", 100), ("PA", 80), ("PANO", 40), ("BW", 60)],
];

const POSTERIOR: &[u8] = &[
    14, 15, 16, 17, 24, 25, 26, 27, 34, 35, 36, 37, 44, 45, 46, 47,
];
const SURFACES: &[&str] = &["O", "MO", "DO", "MOD", "OB", "OL"];

const BUSY_COLUMNS: &[&str] = &[
    "appointment_id",
    "org_id",
    "kind",
    "resource_id",
    "start_at",
    "end_at",
];

/// (name, colour, pattern, hygiene chair)
const TYPES: &[(&str, &str, &str, bool)] = &[
    ("Exam & cleaning", "#16a34a", "XXXXXX", true),
    ("Filling", "#f59e0b", "/XXX", false),
    ("Crown prep", "#9333ea", "//XXXX//", false),
    ("Root canal", "#dc2626", "/XXXXXXX/", false),
    ("Exam", "#2563eb", "/XX/", false),
];

struct Chair {
    id: uuid::Uuid,
    provider: UserId,
    hygiene: bool,
}

pub fn appointments<'a>(store: &'a Store, g: &'a mut Gen) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        if g.years == 0 || g.locations.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let scope = Scope::system(g.org);
        let actor = Actor::system("generate");
        // Types.
        let mut types = Vec::new();
        for (name, colour, pattern, hygiene) in TYPES {
            let t = store
                .save_appointment_type(
                    &scope,
                    &actor,
                    None,
                    &AppointmentTypeInput {
                        name: (*name).into(),
                        colour: (*colour).into(),
                        pattern: (*pattern).into(),
                        unit_minutes: 10,
                    },
                    true,
                )
                .await
                .map_err(|e| e.to_string())?;
            types.push((t.id, t.pattern, *hygiene));
        }
        // Chairs and providers, clinic by clinic (a transaction each).
        let mut clinics: Vec<(LocationId, TimeZone, Vec<Chair>)> = Vec::new();
        for (i, loc) in g.locations.clone().into_iter().enumerate() {
            let mut chairs = Vec::new();
            let mut tx = store.begin().await.map_err(|e| e.to_string())?;
            for (k, (role, specialty, colour)) in [
                (Role::Dentist, "general_dentistry", "#3d5a80"),
                (Role::Dentist, "general_dentistry", "#2a9d8f"),
                (Role::Hygienist, "dental_hygiene", "#e76f51"),
            ]
            .into_iter()
            .enumerate()
            {
                let user = tx
                    .create_user_prehashed(
                        store,
                        &scope,
                        &store::identity::NewUser {
                            email: format!("provider-{i}-{k}@{}.cuspid.test", g.slug),
                            name: format!(
                                "{} {i}-{k}",
                                if role == Role::Hygienist {
                                    "Hygienist"
                                } else {
                                    "Dr."
                                }
                            ),
                            phone: None,
                            password: None,
                            roles: vec![role],
                            locations: vec![loc],
                        },
                        "!no-password".into(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                tx.add_provider_profile(
                    store,
                    &scope,
                    user,
                    &ProviderProfile {
                        licence_number: format!("L-{i}-{k}"),
                        npi: String::new(),
                        specialty: specialty.into(),
                        color: colour.into(),
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
                chairs.push(Chair {
                    id: uuid::Uuid::nil(),
                    provider: user,
                    hygiene: role == Role::Hygienist,
                });
            }
            tx.commit().await.map_err(|e| e.to_string())?;
            for (k, c) in chairs.iter_mut().enumerate() {
                let name = if c.hygiene {
                    "Hygiene".to_string()
                } else {
                    format!("Operatory {}", k + 1)
                };
                c.id = store
                    .create_operatory(
                        &scope,
                        &actor,
                        loc,
                        &OperatoryInput {
                            name,
                            short_name: String::new(),
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?
                    .id
                    .as_uuid();
            }
            let l = store
                .location(&scope, loc)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("a generated clinic is missing")?;
            clinics.push((loc, l.tz().map_err(|e| e.to_string())?, chairs));
        }
        // Each clinic's patients (their home clinic).
        let mut patients: std::collections::HashMap<LocationId, Vec<PatientId>> =
            std::collections::HashMap::new();
        for r in store
            .db
            .fetch_all(Q::new("SELECT id, location_id FROM patients WHERE org_id = $1").bind(g.org))
            .await
            .map_err(|e| e.to_string())?
        {
            patients
                .entry(LocationId::from_uuid(
                    r.uuid("location_id").map_err(|e| e.to_string())?,
                ))
                .or_default()
                .push(PatientId::from_uuid(
                    r.uuid("id").map_err(|e| e.to_string())?,
                ));
        }
        // The catalog (stored on first read) and a random source of the procedures' own.
        let catalog: std::collections::HashMap<String, store::clinical::ProcedureCode> = store
            .procedure_codes(&Scope::system(g.org))
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| (c.entry.code.clone(), c))
            .collect();
        let mut prng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(
            0x0d07_0c0d ^ (g.org.as_uuid().as_u128() as u64),
        );
        let mut versions: std::collections::HashMap<PatientId, i64> =
            std::collections::HashMap::new();
        let mut entries = BatchInsert::new("chart_entries", ENTRY_COLUMNS);
        let mut pending_entries: Vec<Vec<Val>> = Vec::new();
        let mut entry_rows = 0u64;
        let first = Date::new(2027 - g.years as i16, 1, 1).map_err(|e| e.to_string())?;
        let last = Date::new(2026, 12, 31).map_err(|e| e.to_string())?;
        let now = jiff::Timestamp::from_second(1_796_169_600).map_err(|e| e.to_string())?; // 2026-12-02
        let mut appts = BatchInsert::new("appointments", APPOINTMENT_COLUMNS);
        let mut busy = BatchInsert::new("appointment_busy", BUSY_COLUMNS);
        let mut tx = store.db.begin().await.map_err(|e| e.to_string())?;
        let (mut in_tx, mut total, mut busy_rows) = (0usize, 0u64, 0u64);
        let mut pending_busy: Vec<Vec<Val>> = Vec::new();
        g.progress.set_length(clinics.len() as u64);
        g.progress.set_position(0);
        for (loc, tz, chairs) in &clinics {
            let Some(pool) = patients.get(loc).filter(|p| !p.is_empty()) else {
                g.progress.inc(1);
                continue;
            };
            // A patient comes about 2.5 times a year; a clinic with fewer patients than its
            // chairs could see at 75 % is that much emptier (a small --patients run stays small).
            // When sparse, each 20-minute step of a chair's 261 weekdays starts one visit with
            // probability `fill`.
            let steps = chairs.len() as f64 * 261.0 * 28.5;
            let fill = (pool.len() as f64 * 2.5 / steps).min(0.75);
            let mut day = first;
            while day <= last {
                if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                    day = day.tomorrow().map_err(|e| e.to_string())?;
                    continue;
                }
                let open = day
                    .to_zoned(tz.clone())
                    .map_err(|e| e.to_string())?
                    .start_of_day()
                    .map_err(|e| e.to_string())?
                    .timestamp()
                    .as_microsecond()
                    + 8 * 60 * MINUTE;
                let close = open + (9 * 60 + 30) * MINUTE;
                let mut today: HashSet<PatientId> = HashSet::new();
                for c in chairs {
                    let mut t = open;
                    loop {
                        if !g.rng.random_bool(fill) {
                            t += 20 * MINUTE;
                            if t >= close {
                                break;
                            }
                            continue;
                        }
                        let choices: Vec<&(domain::AppointmentTypeId, Pattern, bool)> =
                            types.iter().filter(|x| x.2 == c.hygiene).collect();
                        let (ty, pattern, _) = choices[g.rng.random_range(0..choices.len())];
                        let end = t + pattern.minutes() * MINUTE;
                        if end > close {
                            break;
                        }
                        // A patient once a day at most.
                        let mut patient = pool[g.rng.random_range(0..pool.len())];
                        let mut tries = 0;
                        while today.contains(&patient) && tries < 20 {
                            patient = pool[g.rng.random_range(0..pool.len())];
                            tries += 1;
                        }
                        if today.contains(&patient) {
                            t = end;
                            continue;
                        }
                        today.insert(patient);
                        let id = g.uuid();
                        let past = end <= now.as_microsecond();
                        let roll = g.rng.random_range(0..100);
                        let status = match (past, roll) {
                            (true, 0..=3) => "no_show",
                            (true, 4..=9) => "cancelled",
                            (true, _) => "completed",
                            (false, 0..=49) => "confirmed",
                            (false, _) => "scheduled",
                        };
                        let ts = |us: i64| Val::I64(Some(us));
                        let none = Val::I64(None);
                        let booked = t - g.rng.random_range(1..60) * 24 * 60 * MINUTE;
                        appts
                            .push(
                                &mut tx,
                                vec![
                                    id.into(),
                                    g.org.into(),
                                    (*loc).into(),
                                    c.id.into(),
                                    patient.into(),
                                    c.provider.into(),
                                    Option::<uuid::Uuid>::None.into(),
                                    (*ty).into(),
                                    ts(t),
                                    ts(end),
                                    pattern.as_text().into(),
                                    pattern.unit_minutes().into(),
                                    status.into(),
                                    if status == "scheduled" {
                                        "unconfirmed"
                                    } else {
                                        "confirmed"
                                    }
                                    .into(),
                                    0i64.into(),
                                    Option::<String>::None.into(),
                                    if status == "cancelled" {
                                        "The patient called to cancel"
                                    } else {
                                        ""
                                    }
                                    .into(),
                                    "".into(),
                                    if status == "scheduled" {
                                        none.clone()
                                    } else {
                                        ts(booked)
                                    },
                                    if status == "completed" {
                                        ts(t - 5 * MINUTE)
                                    } else {
                                        none.clone()
                                    },
                                    if status == "completed" {
                                        ts(t)
                                    } else {
                                        none.clone()
                                    },
                                    if status == "completed" {
                                        ts(end)
                                    } else {
                                        none.clone()
                                    },
                                    if status == "no_show" {
                                        ts(t + 15 * MINUTE)
                                    } else {
                                        none.clone()
                                    },
                                    if status == "cancelled" {
                                        ts(booked)
                                    } else {
                                        none.clone()
                                    },
                                    Option::<uuid::Uuid>::None.into(),
                                    Option::<uuid::Uuid>::None.into(),
                                    1i64.into(),
                                    ts(booked),
                                    Option::<uuid::Uuid>::None.into(),
                                    ts(booked),
                                ],
                            )
                            .await
                            .map_err(|e| e.to_string())?;
                        if status == "completed" {
                            let kind = types.iter().position(|x| x.0 == *ty).unwrap_or(0);
                            let mut tooth: u8 = POSTERIOR[prng.random_range(0..POSTERIOR.len())];
                            for (code, chance) in DONE.get(kind).copied().unwrap_or_default() {
                                if prng.random_range(0..100) >= *chance {
                                    continue;
                                }
                                let Some(pc) = catalog.get(*code) else {
                                    continue;
                                };
                                let (t_val, srf, area) = match pc.entry.site {
                                    domain::clinical::catalog::SiteRule::Mouth => (None, 0u8, None),
                                    domain::clinical::catalog::SiteRule::Tooth => {
                                        (Some(tooth), 0, None)
                                    }
                                    domain::clinical::catalog::SiteRule::Surfaces => {
                                        // A second filling goes on another tooth.
                                        if *code == "COMP" && prng.random_bool(0.5) {
                                            tooth =
                                                POSTERIOR[prng.random_range(0..POSTERIOR.len())];
                                        }
                                        let bits = domain::clinical::teeth::Tooth::from_fdi(tooth)
                                            .and_then(|t| {
                                                domain::clinical::teeth::Surfaces::parse_for(
                                                    SURFACES[prng.random_range(0..SURFACES.len())],
                                                    t,
                                                )
                                                .ok()
                                            })
                                            .map(|x| x.bits())
                                            .unwrap_or(0);
                                        (Some(tooth), bits, None)
                                    }
                                    domain::clinical::catalog::SiteRule::Area => {
                                        (None, 0, Some("UR"))
                                    }
                                };
                                let v = versions.entry(patient).or_insert(0);
                                *v += 1;
                                // A UUIDv7 of the visit's time, from the procedures' own source.
                                let id = uuid::Builder::from_unix_timestamp_millis(
                                    u64::try_from(t / 1000).unwrap_or(0),
                                    &prng.random::<[u8; 10]>(),
                                )
                                .into_uuid();
                                pending_entries.push(vec![
                                    id.into(),
                                    g.org.into(),
                                    patient.into(),
                                    pc.id.as_uuid().into(),
                                    pc.entry.code.as_str().into(),
                                    pc.entry.kind.code().into(),
                                    pc.entry.effect.code().into(),
                                    Val::I64(t_val.map(i64::from)),
                                    i64::from(srf).into(),
                                    area.map(str::to_string).into(),
                                    "completed".into(),
                                    c.provider.into(),
                                    "generate".into(),
                                    ts(t),
                                    ts(end),
                                    "generate".into(),
                                    (*v).into(),
                                ]);
                                entry_rows += 1;
                            }
                        }
                        if matches!(status, "completed" | "confirmed" | "scheduled") {
                            let mut rows = vec![
                                ("chair", c.id, t, end),
                                ("patient", patient.as_uuid(), t, end),
                            ];
                            for (s, e) in pattern.provider_spans(t) {
                                rows.push(("person", c.provider.as_uuid(), s, e));
                            }
                            for (kind, resource, s, e) in rows {
                                pending_busy.push(vec![
                                    id.into(),
                                    g.org.into(),
                                    kind.into(),
                                    resource.into(),
                                    ts(s),
                                    ts(e),
                                ]);
                                busy_rows += 1;
                            }
                        }
                        total += 1;
                        in_tx += 1;
                        t = end
                            + if g.rng.random_bool(0.3) {
                                10 * MINUTE
                            } else {
                                0
                            };
                        if in_tx >= CHUNK {
                            // Busy rows after their appointments (a foreign key).
                            appts.flush(&mut tx).await.map_err(|e| e.to_string())?;
                            for row in pending_busy.drain(..) {
                                busy.push(&mut tx, row).await.map_err(|e| e.to_string())?;
                            }
                            busy.flush(&mut tx).await.map_err(|e| e.to_string())?;
                            for row in pending_entries.drain(..) {
                                entries
                                    .push(&mut tx, row)
                                    .await
                                    .map_err(|e| e.to_string())?;
                            }
                            entries.flush(&mut tx).await.map_err(|e| e.to_string())?;
                            tx.commit().await.map_err(|e| e.to_string())?;
                            tx = store.db.begin().await.map_err(|e| e.to_string())?;
                            in_tx = 0;
                        }
                        if t >= close {
                            break;
                        }
                    }
                }
                day = day.tomorrow().map_err(|e| e.to_string())?;
            }
            g.progress.inc(1);
            let line = format!(
                "appointments: {total} at {} clinics in {:.1} s ({:.0}/s)",
                g.progress.position(),
                started.elapsed().as_secs_f64(),
                total as f64 / started.elapsed().as_secs_f64().max(1e-9)
            );
            if g.progress.position().is_multiple_of(20) {
                if g.progress.is_hidden() {
                    eprintln!("{line}");
                } else {
                    g.progress.println(line);
                }
            }
        }
        appts.flush(&mut tx).await.map_err(|e| e.to_string())?;
        for row in pending_busy.drain(..) {
            busy.push(&mut tx, row).await.map_err(|e| e.to_string())?;
        }
        busy.flush(&mut tx).await.map_err(|e| e.to_string())?;
        for row in pending_entries.drain(..) {
            entries
                .push(&mut tx, row)
                .await
                .map_err(|e| e.to_string())?;
        }
        entries.flush(&mut tx).await.map_err(|e| e.to_string())?;
        // Each charted patient's chart version: the number of entries charted.
        let mut charts = BatchInsert::new("charts", CHART_COLUMNS);
        let mut charted: Vec<(PatientId, i64)> = versions.into_iter().collect();
        charted.sort();
        for (patient, version) in &charted {
            charts
                .push(
                    &mut tx,
                    vec![
                        (*patient).into(),
                        g.org.into(),
                        (*version).into(),
                        Val::I64(Some(now.as_microsecond())),
                    ],
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        charts.flush(&mut tx).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        let line = format!(
            "appointments done: {total} with {busy_rows} busy rows and {entry_rows} charted procedures in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        if g.progress.is_hidden() {
            eprintln!("{line}");
        } else {
            g.progress.println(line);
        }
        g.rows += total + busy_rows + entry_rows + charted.len() as u64;
        Ok(())
    })
}
