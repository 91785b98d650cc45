#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Scheduling in the store, on both databases: chairs, types and schedules; booking with the
//! database refusing double bookings (chair, provider in the X units, patient); overrides for
//! outside hours, blockouts and the past; the patient flow; moves, versions and rescheduling;
//! the slot search; the ASAP list; recall; merges; iCalendar feeds.

use std::sync::Arc;

use domain::identity::Role;
use domain::scheduling::status::AppointmentStatus;
use domain::scheduling::{
    AppointmentTypeInput, BlockoutRule, DayPart, OperatoryInput, WaitlistWish,
};
use domain::{ErrorCode, Location, OrgId, Scope, UserId};
use jiff::Timestamp;
use jiff::civil::{date, time};
use store::Store;
use store::patients::Actor;
use store::scheduling::appointments::{AppointmentChange, NewAppointment, Permits};
use store::scheduling::recall::RecallType;
use store::scheduling::slots::SlotQuery;
use store::scheduling::waitlist::NewWaitlistEntry;
use store::scheduling::{AppointmentType, Blockout, Operatory};
use store::tenancy::WriteError;
use test_support::{TestDb, dual_test, patient_input, seed_org, seed_patient, seed_provider};

const MAY: Permits = Permits { may_override: true };
const MAY_NOT: Permits = Permits {
    may_override: false,
};

struct Clinic {
    org: OrgId,
    scope: Scope,
    loc: Location,
    chairs: Vec<Operatory>,
    dentist: UserId,
    hygienist: UserId,
    crown: AppointmentType,
    cleaning: AppointmentType,
}

fn actor() -> Actor {
    Actor::system("front desk")
}

/// New York wall time on a date (2026-03-02 is the Monday the tests start on, 09:00).
fn at(day: u8, hh: i8, mm: i8) -> Timestamp {
    date(2026, 3, day as i8)
        .at(hh, mm, 0, 0)
        .in_tz("America/New_York")
        .unwrap()
        .timestamp()
}

fn us(day: u8, hh: i8, mm: i8) -> i64 {
    at(day, hh, mm).as_microsecond()
}

async fn clinic(store: &Store, slug: &str) -> Clinic {
    let (org, loc) = seed_org(store, slug).await;
    let scope = Scope::system(org.id);
    let mut chairs = Vec::new();
    for n in ["Operatory 1", "Operatory 2", "Hygiene 1"] {
        chairs.push(
            store
                .create_operatory(
                    &scope,
                    &actor(),
                    loc.id,
                    &OperatoryInput {
                        name: n.into(),
                        short_name: String::new(),
                    },
                )
                .await
                .unwrap(),
        );
    }
    let dentist = seed_provider(store, org.id, "Dr Ada Molar", Role::Dentist, "#2563eb").await;
    let hygienist = seed_provider(store, org.id, "Hal Hygienist", Role::Hygienist, "#16a34a").await;
    let ty = |name: &str, pattern: &str| AppointmentTypeInput {
        name: name.into(),
        colour: "#f59e0b".into(),
        pattern: pattern.into(),
        unit_minutes: 10,
    };
    let crown = store
        .save_appointment_type(&scope, &actor(), None, &ty("Crown prep", "//XXXX//"), true)
        .await
        .unwrap();
    let cleaning = store
        .save_appointment_type(&scope, &actor(), None, &ty("Cleaning", "//////"), true)
        .await
        .unwrap();
    Clinic {
        org: org.id,
        scope,
        loc,
        chairs,
        dentist,
        hygienist,
        crown,
        cleaning,
    }
}

async fn patient(store: &Store, c: &Clinic, given: &str) -> domain::PatientId {
    seed_patient(
        store,
        c.org,
        c.loc.id,
        patient_input(given, "Tester", "1980-05-06"),
    )
    .await
    .id
}

fn booking(
    c: &Clinic,
    chair: usize,
    patient: domain::PatientId,
    start: Timestamp,
    minutes: i64,
) -> NewAppointment {
    NewAppointment {
        location_id: Some(c.loc.id),
        operatory_id: Some(c.chairs[chair].id),
        patient_id: Some(patient),
        provider_id: Some(c.dentist),
        start: Some(start),
        duration_minutes: Some(minutes),
        ..Default::default()
    }
}

fn field_error(e: WriteError) -> (String, String) {
    match e {
        WriteError::Invalid(d) => {
            let f = d
                .fields
                .first()
                .cloned()
                .unwrap_or_else(|| panic!("no field in {d:?}"));
            (f.field, f.message)
        }
        other => panic!("not a field error: {other:?}"),
    }
}

fn conflict(e: WriteError) -> (String, String) {
    match e {
        WriteError::Invalid(d) if d.code == ErrorCode::Conflict => {
            let id = d
                .fields
                .iter()
                .find(|f| f.field == "conflicting_appointment_id")
                .map(|f| f.message.clone())
                .unwrap_or_default();
            (d.message, id)
        }
        other => panic!("not a conflict: {other:?}"),
    }
}

dual_test!(async fn chairs_types_and_schedules_are_checked_and_scoped(db) {
    let store = &db.store;
    let c = clinic(store, "sched-a").await;
    let other = clinic(store, "sched-b").await;
    assert_eq!(store.operatories(&c.scope, c.loc.id, false).await.unwrap().len(), 3);
    // Another organization's location has no chairs for us.
    assert!(store.operatories(&c.scope, other.loc.id, false).await.unwrap().is_empty());
    let bad = store
        .save_appointment_type(&c.scope, &actor(), None, &AppointmentTypeInput { name: "".into(), colour: "red".into(), pattern: "XQ".into(), unit_minutes: 10 }, true)
        .await
        .unwrap_err();
    let WriteError::Invalid(d) = bad else { panic!() };
    let fields: Vec<&str> = d.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["name", "colour", "pattern"]);
    assert_eq!(store.appointment_types(&c.scope, false).await.unwrap().len(), 2);
    // Weekly hours: the dentist works Tuesday mornings only at this clinic.
    let mut hours = domain::OpeningHours::default();
    hours.days[1].intervals = vec![(time(8, 0, 0, 0), time(12, 0, 0, 0))];
    store.set_provider_schedule(&c.scope, &actor(), c.dentist, c.loc.id, &hours).await.unwrap();
    assert_eq!(store.provider_schedule(&c.scope, c.dentist, c.loc.id).await.unwrap(), Some(hours.clone()));
    // Not for another organization's provider.
    let (f, _) = field_error(store.set_provider_schedule(&c.scope, &actor(), other.dentist, c.loc.id, &hours).await.unwrap_err());
    assert_eq!(f, "provider_id");
    // A chair with appointments ahead cannot be retired.
    let p = patient(store, &c, "Chair").await;
    let mut b = booking(&c, 0, p, at(3, 9, 0), 30);
    b.provider_id = Some(c.dentist);
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &b).await.unwrap();
    let (f, m) = field_error(
        store.update_operatory(&c.scope, &actor(), c.chairs[0].id, &OperatoryInput { name: "Op 1".into(), short_name: "".into() }, 1, false).await.unwrap_err(),
    );
    assert_eq!(f, "active");
    assert!(m.contains("1 appointments to come"), "{m}");
});

dual_test!(async fn double_bookings_are_refused_naming_the_appointment_in_the_way(db) {
    let store = &db.store;
    let c = clinic(store, "sched-c").await;
    let (ann, bob, cat) = (patient(store, &c, "Ann").await, patient(store, &c, "Bob").await, patient(store, &c, "Cat").await);
    // Ann: a crown prep Tuesday 9:00-10:20 in chair 1; the dentist is needed 9:20-10:00 only.
    let mut b = booking(&c, 0, ann, at(3, 9, 0), 0);
    b.duration_minutes = None;
    b.appointment_type_id = Some(c.crown.id);
    let first = store.book_appointment(&c.scope, &actor(), MAY_NOT, &b).await.unwrap();
    assert_eq!((first.minutes(), first.status, first.version), (80, AppointmentStatus::Scheduled, 1));
    // The chair: taken.
    let (msg, id) = conflict(store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, bob, at(3, 10, 0), 30)).await.unwrap_err());
    assert!(msg.contains("chair is taken from 2026-03-03 09:00 to 2026-03-03 10:20"), "{msg}");
    assert_eq!(id, first.id.to_string());
    // The dentist in another chair at 9:30: busy in the X units.
    let (msg, id) = conflict(store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 1, bob, at(3, 9, 30), 20)).await.unwrap_err());
    assert!(msg.contains("provider is busy from 2026-03-03 09:20 to 2026-03-03 10:00"), "{msg}");
    assert_eq!(id, first.id.to_string());
    // ... but free at 9:00-9:20 and from 10:00, while the assistant finishes Ann's crown.
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 1, bob, at(3, 9, 0), 20)).await.unwrap();
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 1, cat, at(3, 10, 0), 20)).await.unwrap();
    // Ann cannot be in two chairs at once, whoever treats her.
    let mut twice = booking(&c, 2, ann, at(3, 10, 0), 30);
    twice.provider_id = Some(c.hygienist);
    let (msg, _) = conflict(store.book_appointment(&c.scope, &actor(), MAY_NOT, &twice).await.unwrap_err());
    assert!(msg.contains("patient already has an appointment"), "{msg}");
    // Back to back is fine: Ann at 10:20 in chair 3 with the hygienist.
    twice.start = Some(at(3, 10, 20));
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &twice).await.unwrap();
    // A second provider is busy throughout: the hygienist assisting Bob at 11:00 cannot also
    // see Cat at 11:30.
    let mut with_hyg = booking(&c, 0, bob, at(3, 11, 0), 60);
    with_hyg.secondary_id = Some(c.hygienist);
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &with_hyg).await.unwrap();
    let mut hyg = booking(&c, 2, cat, at(3, 11, 30), 30);
    hyg.provider_id = Some(c.hygienist);
    let (msg, _) = conflict(store.book_appointment(&c.scope, &actor(), MAY_NOT, &hyg).await.unwrap_err());
    assert!(msg.contains("provider is busy"), "{msg}");
});

dual_test!(async fn bad_parts_are_field_errors_and_nothing_is_written(db) {
    let store = &db.store;
    let c = clinic(store, "sched-d").await;
    let other = clinic(store, "sched-e").await;
    let p = patient(store, &c, "Dee").await;
    let foreign_patient = patient(store, &other, "Eve").await;
    let cases: Vec<(NewAppointment, &str)> = vec![
        (NewAppointment { operatory_id: Some(other.chairs[0].id), ..booking(&c, 0, p, at(3, 9, 0), 30) }, "operatory_id"),
        (NewAppointment { provider_id: Some(other.dentist), ..booking(&c, 0, p, at(3, 9, 0), 30) }, "provider_id"),
        (booking(&c, 0, foreign_patient, at(3, 9, 0), 30), "patient_id"),
        (NewAppointment { location_id: Some(other.loc.id), ..booking(&c, 0, p, at(3, 9, 0), 30) }, "location_id"),
        (booking(&c, 0, p, at(3, 9, 0), 0), "duration_minutes"),
        (booking(&c, 0, p, at(3, 9, 0), -30), "duration_minutes"),
        (booking(&c, 0, p, at(3, 9, 0), 13 * 60), "duration_minutes"),
        (NewAppointment { start: None, ..booking(&c, 0, p, at(3, 9, 0), 30) }, "start"),
        (NewAppointment { secondary_id: Some(c.dentist), ..booking(&c, 0, p, at(3, 9, 0), 30) }, "secondary_id"),
        (NewAppointment { appointment_type_id: Some(other.crown.id), ..booking(&c, 0, p, at(3, 9, 0), 30) }, "appointment_type_id"),
    ];
    for (b, field) in cases {
        let (f, m) = field_error(store.book_appointment(&c.scope, &actor(), MAY, &b).await.unwrap_err());
        assert_eq!(f, field, "{m}");
    }
    let day = store.agenda(&c.scope, &actor(), c.loc.id, at(2, 0, 0), at(9, 0, 0)).await.unwrap();
    assert!(day.is_empty(), "nothing written: {day:?}");
});

dual_test!(async fn outside_hours_blockouts_and_the_past_need_an_override_with_a_reason(db) {
    let store = &db.store;
    let c = clinic(store, "sched-f").await;
    let p = patient(store, &c, "Flo").await;
    // The clinic opens 8:00-17:00 on weekdays; the dentist has no schedule of their own here.
    let (f, m) = field_error(store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, p, at(3, 17, 0), 30)).await.unwrap_err());
    assert_eq!(f, "override_reason");
    assert!(m.contains("outside Dr Ada Molar's hours that day (08:00–17:00)") && m.contains("only someone allowed"), "{m}");
    let (_, m) = field_error(store.book_appointment(&c.scope, &actor(), MAY, &booking(&c, 0, p, at(3, 17, 0), 30)).await.unwrap_err());
    assert!(m.contains("give a reason"), "{m}");
    let mut late = booking(&c, 0, p, at(3, 17, 0), 30);
    late.override_reason = Some("Dr Molar stays late for this one".into());
    let a = store.book_appointment(&c.scope, &actor(), MAY, &late).await.unwrap();
    assert!(a.override_reason.contains("stays late"), "{}", a.override_reason);
    // Saturday: the dentist does not work.
    let (_, m) = field_error(store.book_appointment(&c.scope, &actor(), MAY, &booking(&c, 0, p, at(7, 10, 0), 30)).await.unwrap_err());
    assert!(m.contains("does not work at"), "{m}");
    // A blockout for crown preps on Wednesday mornings in chair 1: a crown prep may go in,
    // anything else needs an override.
    store
        .add_blockout(&c.scope, &actor(), &Blockout {
            id: domain::BlockoutId::from_uuid(uuid::Uuid::nil()),
            location_id: c.loc.id,
            operatory_id: Some(c.chairs[0].id),
            label: "Crown preps".into(),
            colour: "#fde68a".into(),
            allowed_types: vec![c.crown.id],
            rule: BlockoutRule { weekday: Some(3), day: None, start: time(8, 0, 0, 0), end: time(12, 0, 0, 0), valid_from: None, valid_to: None },
        })
        .await
        .unwrap();
    let (_, m) = field_error(store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, p, at(4, 9, 0), 30)).await.unwrap_err());
    assert!(m.contains("inside the blockout “Crown preps” (08:00–12:00)"), "{m}");
    let mut crown = booking(&c, 0, p, at(4, 9, 0), 0);
    crown.duration_minutes = None;
    crown.appointment_type_id = Some(c.crown.id);
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &crown).await.unwrap();
    // Chair 2 is not blocked.
    let q = patient(store, &c, "Gus").await;
    let mut other_chair = booking(&c, 1, q, at(4, 11, 0), 30);
    other_chair.provider_id = Some(c.hygienist);
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &other_chair).await.unwrap();
    // The past (the clock is Monday 09:00).
    let (_, m) = field_error(store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, q, at(2, 8, 0), 30)).await.unwrap_err());
    assert!(m.contains("in the past"), "{m}");
});

dual_test!(async fn the_patient_flow_frees_and_takes_time_and_satisfies_recall(db) {
    let store = &db.store;
    let c = clinic(store, "sched-g").await;
    let (hal, ivy) = (patient(store, &c, "Hal").await, patient(store, &c, "Ivy").await);
    let recall = store
        .save_recall_type(&c.scope, &actor(), None, &RecallType {
            id: domain::RecallTypeId::from_uuid(uuid::Uuid::nil()),
            name: "6-month hygiene".into(),
            interval_months: 6,
            appointment_types: vec![c.cleaning.id],
            default_type: Some(c.cleaning.id),
            active: true,
        })
        .await
        .unwrap();
    let mut b = booking(&c, 2, hal, at(2, 10, 0), 0);
    b.duration_minutes = None;
    b.appointment_type_id = Some(c.cleaning.id);
    b.provider_id = Some(c.hygienist);
    let a = store.book_appointment(&c.scope, &actor(), MAY_NOT, &b).await.unwrap();
    for to in [AppointmentStatus::Confirmed, AppointmentStatus::Arrived, AppointmentStatus::Seated, AppointmentStatus::Completed] {
        let x = store.set_appointment_status(&c.scope, &actor(), a.id, to, "", None).await.unwrap();
        assert_eq!(x.status, to);
    }
    let done = peek(store, &c, a.id).await;
    assert!(done.confirmed_at.is_some() && done.arrived_at.is_some() && done.seated_at.is_some() && done.completed_at.is_some());
    assert_eq!(done.version, 5);
    // Completed cleaning: the hygiene recall falls due six months after the visit.
    let recalls = store.patient_recalls(&c.scope, hal).await.unwrap();
    assert_eq!(recalls[0].0.id, recall);
    assert_eq!((recalls[0].1, recalls[0].2), (Some(date(2026, 3, 2)), Some(date(2026, 9, 2))));
    let due = store.recalls_due(&c.scope, &actor(), c.loc.id, date(2026, 9, 1), 30, 100).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].patient_id, due[0].due_on), (hal, date(2026, 9, 2)));
    // Not allowed: straight from scheduled to completed; cancelling without a reason.
    let b2 = store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, ivy, at(3, 9, 0), 60)).await.unwrap();
    let e = store.set_appointment_status(&c.scope, &actor(), b2.id, AppointmentStatus::Completed, "", None).await.unwrap_err();
    assert!(matches!(e, WriteError::Invalid(ref d) if d.code == ErrorCode::Conflict), "{e:?}");
    let (f, _) = field_error(store.set_appointment_status(&c.scope, &actor(), b2.id, AppointmentStatus::Cancelled, "  ", None).await.unwrap_err());
    assert_eq!(f, "cancel_reason");
    // Cancelled: its time is free for Hal.
    store.set_appointment_status(&c.scope, &actor(), b2.id, AppointmentStatus::Cancelled, "flu", None).await.unwrap();
    let hal_again = store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, hal, at(3, 9, 0), 60)).await.unwrap();
    // A no-show of Hal's, booked back: the time is still free, so it holds again.
    store.set_appointment_status(&c.scope, &actor(), hal_again.id, AppointmentStatus::NoShow, "", None).await.unwrap();
    store.set_appointment_status(&c.scope, &actor(), hal_again.id, AppointmentStatus::Scheduled, "", None).await.unwrap();
    let (msg, _) = conflict(store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, ivy, at(3, 9, 30), 30)).await.unwrap_err());
    assert!(msg.contains("chair is taken"), "{msg}");
    let history = store.appointment_history(&c.scope, hal_again.id).await.unwrap();
    let changes: Vec<&str> = history.iter().map(|h| h.2.as_str()).collect();
    assert_eq!(changes, ["created", "status", "status"]);
});

async fn peek(
    store: &Store,
    c: &Clinic,
    id: domain::AppointmentId,
) -> store::scheduling::appointments::Appointment {
    store.appointment(&c.scope, &actor(), id).await.unwrap()
}

dual_test!(async fn moves_check_versions_and_conflicts_and_reschedules_keep_history(db) {
    let store = &db.store;
    let c = clinic(store, "sched-h").await;
    let (jo, kim) = (patient(store, &c, "Jo").await, patient(store, &c, "Kim").await);
    let a = store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, jo, at(3, 9, 0), 60)).await.unwrap();
    let k = store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 1, kim, at(3, 13, 0), 30)).await.unwrap();
    // Dragged to chair 2 at 13:15: chair 2 has Kim until 13:30 (and the dentist too).
    let into_kim = AppointmentChange { start: Some(at(3, 13, 15)), operatory_id: Some(c.chairs[1].id), ..Default::default() };
    let (_, id) = conflict(store.change_appointment(&c.scope, &actor(), MAY_NOT, a.id, &into_kim).await.unwrap_err());
    assert_eq!(id, k.id.to_string());
    // To 13:30 it fits, and its old time at 9:00 is free again.
    let moved = store
        .change_appointment(&c.scope, &actor(), MAY_NOT, a.id, &AppointmentChange { start: Some(at(3, 13, 30)), operatory_id: Some(c.chairs[1].id), expected_version: Some(1), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((moved.start, moved.operatory_id, moved.version), (at(3, 13, 30), c.chairs[1].id, 2));
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, kim, at(3, 9, 0), 60)).await.unwrap();
    // Someone who still has version 1 on screen is refused.
    let stale = AppointmentChange { duration_minutes: Some(90), expected_version: Some(1), ..Default::default() };
    let e = store.change_appointment(&c.scope, &actor(), MAY_NOT, a.id, &stale).await.unwrap_err();
    assert!(matches!(e, WriteError::Invalid(ref d) if d.code == ErrorCode::Conflict && d.message.contains("changed this appointment meanwhile")), "{e:?}");
    // Resized to 90 minutes, notes added (kept encrypted).
    let longer = store
        .change_appointment(&c.scope, &actor(), MAY_NOT, a.id, &AppointmentChange { duration_minutes: Some(90), notes: Some("bring the night guard".into()), expected_version: Some(2), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((longer.minutes(), longer.notes.as_str()), (90, "bring the night guard"));
    assert!(!String::from_utf8_lossy(&db.raw_dump()).contains("night guard"), "notes are encrypted at rest");
    // Rescheduled to Thursday: the old one says so and points at the new one.
    let new = store
        .reschedule_appointment(&c.scope, &actor(), MAY_NOT, a.id, &NewAppointment { start: Some(at(5, 10, 0)), ..Default::default() })
        .await
        .unwrap();
    let old = peek(store, &c, a.id).await;
    assert_eq!((old.status, old.rescheduled_to), (AppointmentStatus::Rescheduled, Some(new.id)));
    assert_eq!((new.rescheduled_from, new.minutes(), new.notes.as_str()), (Some(a.id), 90, "bring the night guard"));
    let e = store.change_appointment(&c.scope, &actor(), MAY_NOT, a.id, &AppointmentChange { start: Some(at(6, 10, 0)), ..Default::default() }).await.unwrap_err();
    assert!(matches!(e, WriteError::Invalid(ref d) if d.code == ErrorCode::Conflict), "a rescheduled appointment stays put");
    let changes: Vec<String> = store.appointment_history(&c.scope, a.id).await.unwrap().into_iter().map(|h| h.2).collect();
    assert_eq!(changes, ["created", "moved", "edited", "rescheduled"]);
    // Another organization sees none of it.
    let other = clinic(store, "sched-h2").await;
    assert!(store.appointment(&other.scope, &actor(), a.id).await.is_err());
});

/// Chair 1 only (the others switched off), and a query for three crown preps with the
/// dentist on Tuesday.
async fn chair_one_crown_query(store: &Store, c: &Clinic) -> SlotQuery {
    for ch in &c.chairs[1..] {
        store
            .update_operatory(
                &c.scope,
                &actor(),
                ch.id,
                &OperatoryInput {
                    name: ch.name.clone(),
                    short_name: "".into(),
                },
                ch.sort_order,
                false,
            )
            .await
            .unwrap();
    }
    SlotQuery {
        location_id: Some(c.loc.id),
        appointment_type_id: Some(c.crown.id),
        provider_id: Some(c.dentist),
        from: Some(at(3, 0, 0)),
        to: Some(at(4, 0, 0)),
        limit: 3,
        ..Default::default()
    }
}

dual_test!(async fn slots_honour_hours_patterns_bookings_and_windows(db) {
    let store = &db.store;
    let c = clinic(store, "sched-i").await;
    let p = patient(store, &c, "Lou").await;
    // Only chair 1 is in use; Tuesday 8:00-9:00 is booked.
    let q = chair_one_crown_query(store, &c).await;
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, p, at(3, 8, 0), 60)).await.unwrap();
    let slots = store.find_slots(&c.scope, &q).await.unwrap();
    assert_eq!(slots.iter().map(|s| s.start).collect::<Vec<_>>(), vec![us(3, 9, 0), us(3, 9, 10), us(3, 9, 20)]);
    assert!(slots.iter().all(|s| s.operatory_id == c.chairs[0].id && s.provider_id == c.dentist));
    // Afternoons only, and the last slot ends by 17:00.
    let pm = SlotQuery { window: DayPart::Afternoon.window(), limit: 100, ..q.clone() };
    let slots = store.find_slots(&c.scope, &pm).await.unwrap();
    assert_eq!(slots.first().map(|s| s.start), Some(us(3, 12, 0)));
    assert_eq!(slots.last().map(|s| s.end), Some(us(3, 17, 0)));
    // From Monday 09:00 (now) the search starts at now, and skips the booked hour.
    let soon = SlotQuery { from: None, to: None, limit: 60, window: None, ..q.clone() };
    let slots = store.find_slots(&c.scope, &soon).await.unwrap();
    assert_eq!(slots[0].start, us(2, 9, 0));
    assert!(slots.iter().all(|s| s.end <= us(3, 8, 0) || s.start >= us(3, 9, 0)));
    // Bad requests.
    for (bad, field) in [
        (SlotQuery { location_id: None, ..q.clone() }, "location_id"),
        (SlotQuery { limit: 0, ..q.clone() }, "limit"),
        (SlotQuery { to: Some(at(2, 0, 0)), ..q.clone() }, "to"),
        (SlotQuery { appointment_type_id: None, duration_minutes: None, ..q.clone() }, "duration_minutes"),
    ] {
        let (f, _) = field_error(store.find_slots(&c.scope, &bad).await.unwrap_err());
        assert_eq!(f, field);
    }
});

dual_test!(async fn slot_search_sees_changes_made_by_another_server_or_in_sql(db) {
    let store = &db.store;
    let c = clinic(store, "sched-i2").await;
    let q = chair_one_crown_query(store, &c).await;
    let before = store.find_slots(&c.scope, &q).await.unwrap();
    assert_eq!(before.len(), 3);
    assert_eq!(store.find_slots(&c.scope, &q).await.unwrap(), before, "the same from memory");
    // A second server on the same database (its own memory) makes Tuesday a holiday: this
    // server's next search knows at once.
    let other = Store::new(store.db.clone(), store.clock.clone());
    other.set_holiday(&c.scope, &actor(), c.loc.id, date(2026, 3, 3), Some("Founders' day")).await.unwrap();
    assert!(store.find_slots(&c.scope, &q).await.unwrap().is_empty(), "closed on a holiday");
    other.set_holiday(&c.scope, &actor(), c.loc.id, date(2026, 3, 3), None).await.unwrap();
    assert_eq!(store.find_slots(&c.scope, &q).await.unwrap(), before);
    // Plain SQL counts too: the last chair switched off, then the dentist.
    let chair = store::db::Q::new("UPDATE operatories SET active = $1 WHERE id = $2");
    store.db.execute(chair.clone().bind(false).bind(c.chairs[0].id)).await.unwrap();
    assert!(store.find_slots(&c.scope, &q).await.unwrap().is_empty(), "no chair");
    store.db.execute(chair.bind(true).bind(c.chairs[0].id)).await.unwrap();
    assert_eq!(store.find_slots(&c.scope, &q).await.unwrap(), before);
    let user = store::db::Q::new("UPDATE users SET active = $1 WHERE id = $2");
    store.db.execute(user.clone().bind(false).bind(c.dentist)).await.unwrap();
    let (f, _) = field_error(store.find_slots(&c.scope, &q).await.unwrap_err());
    assert_eq!(f, "provider_id");
    store.db.execute(user.bind(true).bind(c.dentist)).await.unwrap();
    assert_eq!(store.find_slots(&c.scope, &q).await.unwrap(), before);
    // A sign-in's failed-attempt counter is not a schedule change: the version stays.
    let version = || async {
        let q = store::db::Q::new("SELECT version FROM schedule_versions WHERE org_id = $1").bind(c.org);
        store.db.fetch_one(q).await.unwrap().i64("version").unwrap()
    };
    let v = version().await;
    store.db.execute(store::db::Q::new("UPDATE users SET failed_logins = 1 WHERE id = $1").bind(c.dentist)).await.unwrap();
    assert_eq!(version().await, v);
    store.db.execute(store::db::Q::new("UPDATE users SET name = 'Dr Ada Molar-Crown' WHERE id = $1").bind(c.dentist)).await.unwrap();
    assert_eq!(version().await, v + 1, "a provider's name orders the providers");
    // Another organization's changes leave this one's searches alone, and its ids get nothing.
    let o = clinic(store, "sched-i3").await;
    let (f, _) = field_error(store.find_slots(&o.scope, &q).await.unwrap_err());
    assert_eq!(f, "location_id");
});

dual_test!(async fn a_cancellation_proposes_the_asap_list_entries_that_fit(db) {
    let store = &db.store;
    let c = clinic(store, "sched-j").await;
    let (may, ned, ola, pia) = (patient(store, &c, "May").await, patient(store, &c, "Ned").await, patient(store, &c, "Ola").await, patient(store, &c, "Pia").await);
    let a = store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, may, at(4, 9, 0), 60)).await.unwrap();
    let wish = |part: DayPart, minutes: i64| WaitlistWish { duration_minutes: minutes, earliest: None, latest: None, weekdays: vec![], day_part: part, provider: None };
    let add = |p, w| NewWaitlistEntry { location_id: c.loc.id, patient_id: p, appointment_type_id: None, wish: w, notes: "".into() };
    store.add_to_waitlist(&c.scope, &actor(), &add(ned, wish(DayPart::Morning, 45))).await.unwrap();
    store.add_to_waitlist(&c.scope, &actor(), &add(ola, wish(DayPart::Afternoon, 30))).await.unwrap();
    let long = store.add_to_waitlist(&c.scope, &actor(), &add(pia, wish(DayPart::Any, 90))).await.unwrap();
    assert!(store.waitlist_matches(&c.scope, &actor(), a.id).await.unwrap().is_empty(), "not cancelled yet");
    store.set_appointment_status(&c.scope, &actor(), a.id, AppointmentStatus::Cancelled, "moving away", None).await.unwrap();
    let fits: Vec<_> = store.waitlist_matches(&c.scope, &actor(), a.id).await.unwrap().into_iter().map(|e| e.patient_id).collect();
    assert_eq!(fits, vec![ned], "a morning hour: not the afternoon one, not the 90-minute one");
    store.resolve_waitlist(&c.scope, &actor(), long, None).await.unwrap();
    assert_eq!(store.waitlist(&c.scope, &actor(), c.loc.id).await.unwrap().len(), 2);
    // Once the time is taken again, nothing is proposed.
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, ola, at(4, 9, 30), 30)).await.unwrap();
    assert!(store.waitlist_matches(&c.scope, &actor(), a.id).await.unwrap().is_empty());
});

dual_test!(async fn a_merge_moves_appointments_and_their_busy_times_and_undo_moves_them_back(db) {
    let store = &db.store;
    let c = clinic(store, "sched-k").await;
    let (keep, dup) = (patient(store, &c, "Quin").await, patient(store, &c, "Quinn").await);
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 0, keep, at(3, 9, 0), 60)).await.unwrap();
    let moved = store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 1, dup, at(4, 9, 0), 60)).await.unwrap();
    let clash = store.book_appointment(&c.scope, &actor(), MAY_NOT, &booking(&c, 1, dup, at(3, 9, 30), 30)).await;
    // The duplicate record also has an appointment overlapping the survivor's: no merge.
    let mut hyg = booking(&c, 2, dup, at(3, 9, 30), 30);
    hyg.provider_id = Some(c.hygienist);
    assert!(clash.is_err(), "the dentist is busy then");
    let clashing = store.book_appointment(&c.scope, &actor(), MAY_NOT, &hyg).await.unwrap();
    let e = store.merge_patients(&c.scope, &actor(), keep, dup).await.unwrap_err();
    assert!(matches!(e, WriteError::Invalid(ref d) if d.code == ErrorCode::Conflict && d.message.contains("same time")), "{e:?}");
    store.set_appointment_status(&c.scope, &actor(), clashing.id, AppointmentStatus::Cancelled, "duplicate record", None).await.unwrap();
    let m = store.merge_patients(&c.scope, &actor(), keep, dup).await.unwrap();
    let a = peek(store, &c, moved.id).await;
    assert_eq!(a.patient_id, keep);
    // The survivor is now busy at the moved time: booking them then is refused.
    let (msg, _) = conflict(store.book_appointment(&c.scope, &actor(), MAY_NOT, &NewAppointment { provider_id: Some(c.hygienist), ..booking(&c, 2, keep, at(4, 9, 30), 30) }).await.unwrap_err());
    assert!(msg.contains("patient already has"), "{msg}");
    store.undo_merge(&c.scope, &actor(), m).await.unwrap();
    assert_eq!(peek(store, &c, moved.id).await.patient_id, dup);
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &NewAppointment { provider_id: Some(c.hygienist), ..booking(&c, 2, keep, at(4, 9, 30), 30) }).await.unwrap();
});

dual_test!(async fn feeds_serve_initials_at_a_secret_url_until_revoked(db) {
    let store = &db.store;
    let c = clinic(store, "sched-l").await;
    let p = seed_patient(store, c.org, c.loc.id, patient_input("Rosa", "Quartz", "1970-01-02")).await.id;
    store.book_appointment(&c.scope, &actor(), MAY_NOT, &NewAppointment { appointment_type_id: Some(c.crown.id), duration_minutes: None, ..booking(&c, 0, p, at(3, 9, 0), 0) }).await.unwrap();
    let (feed, token) = store.create_feed(&c.scope, &actor(), Some(c.dentist), None).await.unwrap();
    assert_eq!(feed.label, "Dr Ada Molar");
    let ics = store.feed_calendar(&token, None).await.unwrap().unwrap();
    assert!(ics.contains("SUMMARY:R. Q. — Crown prep"), "{ics}");
    assert!(!ics.contains("Rosa") && !ics.contains("Quartz"), "no names unless the organization turns them on");
    assert!(ics.contains("DTSTART;TZID=America/New_York:20260303T090000"));
    assert!(ics.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000"), "the change of 8 March is in the zone");
    assert!(store.feed_calendar("not-the-token", None).await.unwrap().is_none());
    // The location feed too; then revoked, the URL is dead.
    let (_, loc_token) = store.create_feed(&c.scope, &actor(), None, Some(c.loc.id)).await.unwrap();
    assert!(store.feed_calendar(&loc_token, None).await.unwrap().unwrap().contains("R. Q."));
    store.revoke_feed(&c.scope, &actor(), feed.id).await.unwrap();
    assert!(store.feed_calendar(&token, None).await.unwrap().is_none());
    // Every fetch is in the audit chain.
    let events = store.audit_events(c.org, 0, 10_000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "calendar_feed.read").count(), 2);
});

// Many clients booking overlapping times at once: the database lets exactly one booking hold
// each chair-time and refuses the others as conflicts, on both databases.
dual_test!(async fn saved_agenda_views_are_per_user_replaced_by_name_and_checked(db) {
    let store = &db.store;
    let c = clinic(store, "sched-v").await;
    let other = clinic(store, "sched-v2").await;
    let view = |name: &str, colour: &str, loc: domain::LocationId| store::scheduling::AgendaView {
        id: uuid::Uuid::nil(),
        name: name.into(),
        location_id: loc,
        by_provider: false,
        columns: vec![c.chairs[2].id.as_uuid()],
        colour_by: colour.into(),
    };
    let first = store.save_agenda_view(&c.scope, c.dentist, &view("Hygiene", "type", c.loc.id)).await.unwrap();
    let second = store.save_agenda_view(&c.scope, c.dentist, &view(" Hygiene ", "status", c.loc.id)).await.unwrap();
    assert_ne!(first, second);
    let mine = store.agenda_views(&c.scope, c.dentist).await.unwrap();
    assert_eq!(mine.len(), 1, "the same name replaces the view: {mine:?}");
    assert_eq!((mine[0].name.as_str(), mine[0].colour_by.as_str()), ("Hygiene", "status"));
    assert_eq!(mine[0].columns, vec![c.chairs[2].id.as_uuid()]);
    assert!(store.agenda_views(&c.scope, c.hygienist).await.unwrap().is_empty(), "views are the user's own");
    for (bad, field) in [(view("", "type", c.loc.id), "name"), (view("x", "rainbow", c.loc.id), "colour_by"), (view("x", "type", other.loc.id), "location_id")] {
        assert_eq!(field_error(store.save_agenda_view(&c.scope, c.dentist, &bad).await.unwrap_err()).0, field);
    }
    assert!(store.delete_agenda_view(&c.scope, c.hygienist, second).await.is_err(), "not another user's view");
    assert!(store.delete_agenda_view(&other.scope, other.dentist, second).await.is_err(), "nor another organization's");
    store.delete_agenda_view(&c.scope, c.dentist, second).await.unwrap();
    assert!(store.agenda_views(&c.scope, c.dentist).await.unwrap().is_empty());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_bookings_never_double_book() {
    for db in [Some(TestDb::sqlite().await), TestDb::postgres().await]
        .into_iter()
        .flatten()
    {
        let store = Arc::new(db.store.clone());
        let c = Arc::new(clinic(&store, "sched-race").await);
        let mut patients = Vec::new();
        for i in 0..40 {
            patients.push(patient(&store, &c, &format!("Racer{i}")).await);
        }
        let patients = Arc::new(patients);
        let mut tasks = Vec::new();
        for t in 0..40usize {
            let (store, c, patients) = (store.clone(), c.clone(), patients.clone());
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut refused) = (0, 0);
                for i in 0..10usize {
                    // Everyone aims at Tuesday 9:00-10:00 in chairs 1 and 2, 20-minute slots
                    // at 10-minute offsets: they overlap each other.
                    let chair = (t + i) % 2;
                    let offset = ((t * 7 + i * 3) % 5) as i8 * 10;
                    let mut b = booking(&c, chair, patients[t], at(3, 9, offset), 20);
                    b.provider_id = Some(if chair == 0 { c.dentist } else { c.hygienist });
                    match store
                        .book_appointment(&c.scope, &actor(), MAY_NOT, &b)
                        .await
                    {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            let (msg, id) = conflict(e);
                            assert!(
                                msg.contains("taken")
                                    || msg.contains("busy")
                                    || msg.contains("patient"),
                                "{msg}"
                            );
                            assert!(
                                !id.is_empty(),
                                "a refusal names the appointment in the way: {msg}"
                            );
                            refused += 1;
                        }
                    }
                }
                (ok, refused)
            }));
        }
        let mut total_ok = 0;
        for t in tasks {
            let (ok, refused) = t.await.unwrap();
            assert_eq!(ok + refused, 10);
            total_ok += ok;
        }
        let day = store
            .agenda(&c.scope, &actor(), c.loc.id, at(3, 0, 0), at(4, 0, 0))
            .await
            .unwrap();
        assert_eq!(day.len(), total_ok);
        for (i, a) in day.iter().enumerate() {
            for b in &day[i + 1..] {
                let (a, b) = (&a.appointment, &b.appointment);
                let overlap = a.start < b.end && b.start < a.end;
                assert!(
                    !(overlap && a.operatory_id == b.operatory_id),
                    "double-booked chair: {a:?} {b:?}"
                );
                assert!(
                    !(overlap && a.patient_id == b.patient_id),
                    "patient twice: {a:?} {b:?}"
                );
            }
        }
        assert!(total_ok >= 2, "{total_ok}");
    }
}
