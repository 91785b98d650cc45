//! The demo agenda: chairs at both clinics, two more providers at Saint-Laurent, appointment
//! types with their patterns, providers' weekly hours, blockouts, recall types, and two weeks
//! of appointments around today (the past ones completed, a few no-shows and cancellations;
//! today's on the way through the patient flow), plus a few patients on the ASAP list. Booked
//! through the store like the front desk would, so every rule holds.

use domain::identity::Role;
use domain::identity::provider::ProviderProfile;
use domain::scheduling::status::AppointmentStatus;
use domain::scheduling::{
    AppointmentTypeInput, BlockoutRule, DayPart, OperatoryInput, WaitlistWish,
};
use domain::{
    AppointmentTypeId, BlockoutId, LocationId, OpeningHours, PatientId, RecallTypeId, UserId,
};
use futures::future::BoxFuture;
use jiff::civil::{Time, time};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::db::Q;
use store::identity::NewUser;
use store::patients::Actor;
use store::scheduling::appointments::{NewAppointment, Permits};
use store::scheduling::recall::RecallType;
use store::scheduling::waitlist::NewWaitlistEntry;
use store::scheduling::{AppointmentType, Blockout};

use super::DemoCtx;

const MINUTE: i64 = 60_000_000;

/// (name, colour, pattern, for the hygiene chair)
const TYPES: &[(&str, &str, &str, bool)] = &[
    ("Exam & cleaning", "#16a34a", "XXXXXX", true),
    ("Perio maintenance", "#0d9488", "XXXXXX", true),
    ("New patient exam", "#2563eb", "/XXXX/", false),
    ("Filling", "#f59e0b", "/XXX", false),
    ("Crown prep", "#9333ea", "//XXXX//", false),
    ("Crown seat", "#a855f7", "/XX", false),
    ("Root canal", "#dc2626", "/XXXXXXX/", false),
    ("Extraction", "#b45309", "/XXX/", false),
    ("Emergency", "#ef4444", "XXX", false),
];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub fn create<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let store = ctx.store;
        let scope = ctx.scope.clone();
        let actor = Actor::system("demo");
        let [burlington, montreal] = [ctx.locations[0].clone(), ctx.locations[1].clone()];

        // Two more providers, at Saint-Laurent only; they do not sign in.
        let mut tx = store.begin().await.map_err(err)?;
        let mut extra = Vec::new();
        for (name, email, role, colour, specialty) in [
            (
                "Dr. Louis Bergeron",
                "louis.bergeron",
                Role::Dentist,
                "#3d5a80",
                "general_dentistry",
            ),
            (
                "Émilie Fortin, hyg.",
                "emilie.fortin",
                Role::Hygienist,
                "#ee9b00",
                "dental_hygiene",
            ),
        ] {
            let id = tx
                .create_user_prehashed(
                    store,
                    &scope,
                    &NewUser {
                        email: format!("{email}@{}", super::EMAIL_DOMAIN),
                        name: name.into(),
                        phone: None,
                        password: None,
                        roles: vec![role],
                        locations: vec![montreal.id],
                    },
                    "!no-password".into(),
                )
                .await
                .map_err(err)?;
            tx.add_provider_profile(
                store,
                &scope,
                id,
                &ProviderProfile {
                    licence_number: format!("QC-{}", &email[..4].to_uppercase()),
                    npi: String::new(),
                    specialty: specialty.into(),
                    color: colour.into(),
                },
            )
            .await
            .map_err(err)?;
            extra.push(id);
        }
        tx.commit().await.map_err(err)?;
        let providers = store
            .agenda_providers(&scope, burlington.id)
            .await
            .map_err(err)?;
        let dentist = providers
            .iter()
            .find(|p| p.dentist)
            .map(|p| p.id)
            .ok_or("no demo dentist")?;
        let hygienist = providers
            .iter()
            .find(|p| !p.dentist)
            .map(|p| p.id)
            .ok_or("no demo hygienist")?;
        let (dentist2, hygienist2) = (extra[0], extra[1]);

        // Chairs.
        let mut chairs: Vec<(LocationId, store::scheduling::Operatory, bool)> = Vec::new();
        for (loc, names) in [
            (
                burlington.id,
                &["Operatory 1", "Operatory 2", "Operatory 3", "Hygiene 1"][..],
            ),
            (montreal.id, &["Fauteuil 1", "Fauteuil 2", "Hygiène"][..]),
        ] {
            for n in names {
                let op = store
                    .create_operatory(
                        &scope,
                        &actor,
                        loc,
                        &OperatoryInput {
                            name: (*n).into(),
                            short_name: String::new(),
                        },
                    )
                    .await
                    .map_err(err)?;
                chairs.push((loc, op, n.starts_with("Hyg")));
            }
        }

        // Appointment types.
        let mut types: Vec<(AppointmentType, bool)> = Vec::new();
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
                .map_err(err)?;
            types.push((t, *hygiene));
        }
        let type_id = |name: &str| -> Result<AppointmentTypeId, String> {
            types
                .iter()
                .find(|(t, _)| t.name == name)
                .map(|(t, _)| t.id)
                .ok_or_else(|| format!("no type {name}"))
        };

        // Weekly hours: Dr. Tremblay in Burlington Monday to Thursday and at Saint-Laurent on
        // Friday; the hygienist in Burlington all week; the Saint-Laurent pair there.
        let hours = |days: &[usize], spans: &[(Time, Time)]| {
            let mut h = OpeningHours::default();
            for d in days {
                h.days[*d].intervals = spans.to_vec();
            }
            h
        };
        let day = [
            (time(8, 0, 0, 0), time(12, 0, 0, 0)),
            (time(13, 0, 0, 0), time(17, 0, 0, 0)),
        ];
        for (p, loc, days) in [
            (dentist, burlington.id, &[0, 1, 2, 3][..]),
            (dentist, montreal.id, &[4][..]),
            (hygienist, burlington.id, &[0, 1, 2, 3, 4][..]),
            (dentist2, montreal.id, &[0, 1, 2, 3][..]),
            (hygienist2, montreal.id, &[0, 1, 2, 3, 4][..]),
        ] {
            store
                .set_provider_schedule(&scope, &actor, p, loc, &hours(days, &day))
                .await
                .map_err(err)?;
        }

        // Blockouts: crown work on Tuesday mornings in Operatory 1; urgent care after lunch at
        // Saint-Laurent.
        let op1 = chairs
            .iter()
            .find(|c| c.1.name == "Operatory 1")
            .map(|c| c.1.id);
        for (loc, op, label, colour, allowed, weekday, start, end) in [
            (
                burlington.id,
                op1,
                "Crown preps & seats",
                "#e9d5ff",
                vec![type_id("Crown prep")?, type_id("Crown seat")?],
                None::<i8>,
                time(8, 0, 0, 0),
                time(12, 0, 0, 0),
            ),
            (
                montreal.id,
                None,
                "Urgences",
                "#fecaca",
                vec![type_id("Emergency")?],
                Some(0),
                time(13, 0, 0, 0),
                time(14, 0, 0, 0),
            ),
        ] {
            let weekdays: Vec<i8> = match weekday {
                None => vec![2],
                Some(_) => vec![1, 2, 3, 4, 5],
            };
            for w in weekdays {
                store
                    .add_blockout(
                        &scope,
                        &actor,
                        &Blockout {
                            id: BlockoutId::from_uuid(uuid::Uuid::nil()),
                            location_id: loc,
                            operatory_id: op,
                            label: label.into(),
                            colour: colour.into(),
                            allowed_types: allowed.clone(),
                            rule: BlockoutRule {
                                weekday: Some(w),
                                day: None,
                                start,
                                end,
                                valid_from: None,
                                valid_to: None,
                            },
                        },
                    )
                    .await
                    .map_err(err)?;
            }
        }

        // Recall types.
        for (name, months, t) in [
            ("6-month hygiene", 6, "Exam & cleaning"),
            ("Perio maintenance, 3 months", 3, "Perio maintenance"),
        ] {
            store
                .save_recall_type(
                    &scope,
                    &actor,
                    None,
                    &RecallType {
                        id: RecallTypeId::from_uuid(uuid::Uuid::nil()),
                        name: name.into(),
                        interval_months: months,
                        appointment_types: vec![type_id(t)?],
                        default_type: Some(type_id(t)?),
                        active: true,
                    },
                )
                .await
                .map_err(err)?;
        }

        // Two weeks of appointments around today.
        let mut rng = StdRng::seed_from_u64(0xa9e_2026);
        let may = Permits { may_override: true };
        let now = store.now();
        let mut booked = 0usize;
        for loc in [&burlington, &montreal] {
            let tz = loc.tz().map_err(err)?;
            let patients: Vec<PatientId> = store
                .db
                .fetch_all(
                    Q::new("SELECT id FROM patients WHERE org_id = $1 AND location_id = $2 AND status = 'active' ORDER BY chart_number")
                        .bind(scope.org())
                        .bind(loc.id),
                )
                .await
                .map_err(err)?
                .iter()
                .map(|r| r.uuid("id").map(PatientId::from_uuid))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            if patients.is_empty() {
                continue;
            }
            let today = now.to_zoned(tz.clone()).date();
            for offset in -7i64..=7 {
                let date = today
                    .checked_add(jiff::Span::new().days(offset))
                    .map_err(err)?;
                let plans = store
                    .day_plans(
                        &scope,
                        loc,
                        &[dentist, hygienist, dentist2, hygienist2],
                        date,
                        date,
                    )
                    .await
                    .map_err(err)?;
                let Some(plan) = plans.first() else { continue };
                for (_, chair, hygiene_chair) in chairs.iter().filter(|c| c.0 == loc.id) {
                    let provider = match (loc.id == burlington.id, *hygiene_chair) {
                        (true, true) => hygienist,
                        (true, false) => dentist,
                        (false, true) => hygienist2,
                        (false, false) => {
                            if date.weekday() == jiff::civil::Weekday::Friday {
                                dentist
                            } else {
                                dentist2
                            }
                        }
                    };
                    let Some(working) = plan
                        .working
                        .iter()
                        .find(|(p, _)| *p == provider)
                        .map(|(_, w)| w.clone())
                    else {
                        continue;
                    };
                    for &(s, e) in working.spans() {
                        let mut t = s;
                        while t < e {
                            if !rng.random_bool(0.72) {
                                t += [10, 20, 30][rng.random_range(0..3)] * MINUTE;
                                continue;
                            }
                            let choices: Vec<&(AppointmentType, bool)> =
                                types.iter().filter(|(_, h)| h == hygiene_chair).collect();
                            let (ty, _) = choices[rng.random_range(0..choices.len())];
                            let minutes = ty.pattern.minutes();
                            if t + minutes * MINUTE > e {
                                break;
                            }
                            let patient = patients[rng.random_range(0..patients.len())];
                            let new = NewAppointment {
                                location_id: Some(loc.id),
                                operatory_id: Some(chair.id),
                                patient_id: Some(patient),
                                provider_id: Some(provider),
                                appointment_type_id: Some(ty.id),
                                start: jiff::Timestamp::from_microsecond(t).ok(),
                                notes: if rng.random_bool(0.1) {
                                    "Prefers a reminder by text".into()
                                } else {
                                    String::new()
                                },
                                override_reason: Some("demo history".into()),
                                ..Default::default()
                            };
                            t += minutes * MINUTE;
                            let Ok(a) = store.book_appointment(&scope, &actor, may, &new).await
                            else {
                                continue;
                            };
                            booked += 1;
                            let flow: &[AppointmentStatus] = if a.end <= now {
                                match rng.random_range(0..20) {
                                    0 => &[AppointmentStatus::NoShow],
                                    1 => &[AppointmentStatus::Cancelled],
                                    _ => &[
                                        AppointmentStatus::Confirmed,
                                        AppointmentStatus::Arrived,
                                        AppointmentStatus::Seated,
                                        AppointmentStatus::Completed,
                                    ],
                                }
                            } else if a.start <= now {
                                &[
                                    AppointmentStatus::Confirmed,
                                    AppointmentStatus::Arrived,
                                    AppointmentStatus::Seated,
                                ]
                            } else if rng.random_bool(0.5) {
                                &[AppointmentStatus::Confirmed]
                            } else {
                                &[]
                            };
                            for st in flow {
                                let reason = if *st == AppointmentStatus::Cancelled {
                                    "The patient called in sick"
                                } else {
                                    ""
                                };
                                store
                                    .set_appointment_status(&scope, &actor, a.id, *st, reason, None)
                                    .await
                                    .map_err(err)?;
                            }
                        }
                    }
                }
            }
            // A few patients who would come earlier.
            for (i, part) in [DayPart::Morning, DayPart::Afternoon, DayPart::Any]
                .into_iter()
                .enumerate()
            {
                let patient = patients[(i * 37 + 11) % patients.len()];
                store
                    .add_to_waitlist(
                        &scope,
                        &actor,
                        &NewWaitlistEntry {
                            location_id: loc.id,
                            patient_id: patient,
                            appointment_type_id: None,
                            wish: WaitlistWish {
                                duration_minutes: [30, 60, 40][i],
                                earliest: None,
                                latest: None,
                                weekdays: vec![],
                                day_part: part,
                                provider: None::<UserId>,
                            },
                            notes: [
                                "Can come on short notice",
                                "After school",
                                "Retired, any day",
                            ][i]
                                .into(),
                        },
                    )
                    .await
                    .map_err(err)?;
            }
        }
        tracing::info!(appointments = booked, "demo agenda created");
        Ok(())
    })
}
