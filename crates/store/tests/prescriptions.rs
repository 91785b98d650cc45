#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Prescriptions in the store, on both databases: the medicine catalog, the allergy and
//! interaction checks with their override, numbering under concurrency, cancelling, expiry,
//! encryption at rest, bad input with nothing written, and tenancy.

use std::sync::Arc;

use domain::clinical::rx::{self, Medicine, Order};
use domain::identity::Role;
use domain::patients::history::{Allergy, Flag, MedicalHistory, Medication};
use domain::{ErrorCode, OrgId, PatientId, Scope, UserId};
use jiff::SignedDuration;
use store::Store;
use store::patients::Actor;
use store::prescriptions::NewPrescription;
use store::tenancy::WriteError;
use store::visits::NewVisit;
use test_support::{dual_test, patient_input, seed_org, seed_patient, seed_provider};

struct Clinic {
    org: OrgId,
    scope: Scope,
    patient: PatientId,
    dentist: Actor,
}

async fn clinic(store: &Store, slug: &str) -> Clinic {
    let (org, loc) = seed_org(store, slug).await;
    let p = seed_patient(
        store,
        org.id,
        loc.id,
        patient_input("Léa", "Gagnon", "1987-02-14"),
    )
    .await;
    let d: UserId = seed_provider(store, org.id, "Dr Élise Côté", Role::Dentist, "#0d9488").await;
    // Allergies asked: none known (each test records what it needs).
    store
        .save_medical_history(
            &Scope::system(org.id),
            &Actor::system("test"),
            p.id,
            &MedicalHistory {
                no_known_allergies: true,
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    Clinic {
        org: org.id,
        scope: Scope::system(org.id),
        patient: p.id,
        dentist: Actor {
            id: Some(d),
            name: "elise@clinic.test".into(),
            ..Default::default()
        },
    }
}

async fn allergic_to(store: &Store, c: &Clinic, allergies: &[&str], meds: &[&str], flags: &[Flag]) {
    store
        .save_medical_history(
            &c.scope,
            &Actor::system("test"),
            c.patient,
            &MedicalHistory {
                allergies: allergies
                    .iter()
                    .map(|a| Allergy {
                        substance: a.to_string(),
                        reaction: "hives".into(),
                        severity: "severe".into(),
                    })
                    .collect(),
                medications: meds
                    .iter()
                    .map(|m| Medication {
                        name: m.to_string(),
                        ..Default::default()
                    })
                    .collect(),
                flags: flags.to_vec(),
                no_known_allergies: allergies.is_empty(),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
}

async fn medicine(store: &Store, c: &Clinic, name: &str) -> (uuid::Uuid, Medicine) {
    let m = store
        .medicines(&c.scope)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.medicine.name == name)
        .unwrap_or_else(|| panic!("{name} not in the catalog"));
    (m.id, m.medicine)
}

fn order_of(m: &Medicine) -> Order {
    Order {
        dose: m.dose.clone(),
        route: m.route.clone(),
        frequency: m.frequency.clone(),
        duration_days: m.duration_days,
        quantity: m.quantity,
        refills: 0,
        instructions: m.directions.clone(),
    }
}

fn rx_of(id: uuid::Uuid, m: &Medicine, reason: &str) -> NewPrescription {
    NewPrescription {
        medicine_id: Some(id),
        order: order_of(m),
        visit_id: None,
        override_reason: reason.into(),
    }
}

fn fields(e: WriteError) -> (ErrorCode, Vec<String>) {
    match e {
        WriteError::Invalid(d) => (d.code, d.fields.into_iter().map(|f| f.field).collect()),
        other => panic!("expected a domain error, got {other}"),
    }
}

dual_test!(async fn the_catalog_is_seeded_once_edited_and_kept_per_organization(db) {
    let store = &db.store;
    let a = clinic(store, "rx-cat-a").await;
    let b = clinic(store, "rx-cat-b").await;
    assert_eq!(store.medicines(&a.scope).await.unwrap().len(), rx::STARTER.len());
    assert_eq!(store.medicines(&a.scope).await.unwrap().len(), rx::STARTER.len());
    let (amox, _) = medicine(store, &a, "Amoxicillin").await;
    let mut m = store.medicine(&a.scope, amox).await.unwrap().unwrap().medicine;
    assert_eq!(m.classes, ["penicillin"]);
    m.quantity = 30;
    let saved = store.save_medicine(&a.scope, &a.dentist, Some(amox), &m, true).await.unwrap();
    assert_eq!(saved.medicine.quantity, 30);
    // A new one; the same label twice is refused; bad values name their field.
    let new = Medicine {
        name: "Ketorolac".into(),
        strength: "10 mg".into(),
        form: "tablet".into(),
        dose: "1 tablet".into(),
        frequency: "every 6 hours".into(),
        duration_days: 3,
        quantity: 12,
        ..Default::default()
    };
    let k = store.save_medicine(&a.scope, &a.dentist, None, &new, true).await.unwrap();
    assert_eq!(k.medicine.classes, ["nsaid"]);
    let (code, f) = fields(store.save_medicine(&a.scope, &a.dentist, None, &new, true).await.unwrap_err());
    assert_eq!((code, f), (ErrorCode::Validation, vec!["name".to_string()]));
    let bad = Medicine { duration_days: 400, route: "nasal".into(), ..new.clone() };
    let (_, f) = fields(store.save_medicine(&a.scope, &a.dentist, Some(k.id), &bad, true).await.unwrap_err());
    assert_eq!(f, ["route", "duration_days"]);
    // The other organization has its own starter list, without the new medicine, and cannot
    // reach this one's.
    assert_eq!(store.medicines(&b.scope).await.unwrap().len(), rx::STARTER.len());
    assert!(store.medicine(&b.scope, k.id).await.unwrap().is_none());
    let (code, _) = fields(store.save_medicine(&b.scope, &b.dentist, Some(k.id), &new, true).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
});

dual_test!(async fn amoxicillin_for_a_penicillin_allergy_needs_an_override_reason(db) {
    let store = &db.store;
    let c = clinic(store, "rx-allergy").await;
    allergic_to(store, &c, &["Penicillin"], &[], &[]).await;
    let (amox, m) = medicine(store, &c, "Amoxicillin").await;
    let warnings = store.prescription_warnings(&c.scope, c.patient, &m).await.unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, "allergy:penicillin");
    // No reason: refused, nothing written.
    let (code, f) = fields(store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(amox, &m, "")).await.unwrap_err());
    assert_eq!((code, f), (ErrorCode::Validation, vec!["override_reason".to_string()]));
    assert!(store.prescriptions(&c.scope, &c.dentist, c.patient).await.unwrap().is_empty());
    // With a reason: written, numbered, the warning and the reason kept.
    let reason = "Childhood rash only; tolerated amoxicillin in 2024";
    let p = store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(amox, &m, reason)).await.unwrap();
    assert_eq!(p.reference(), "RX-000001");
    assert_eq!(p.override_reason, reason);
    assert_eq!(p.warnings, warnings);
    assert_eq!(p.prescriber.name, "Dr Élise Côté");
    assert_eq!(p.prescriber.licence_number, "L-1");
    assert_eq!(p.medicine.name, "Amoxicillin");
    assert_eq!(p.order.quantity, 21);
    // Encrypted at rest: the raw row names neither the medicine nor the reason.
    let raw = db
        .store
        .db
        .fetch_one(store::Q::new("SELECT record_enc, warnings FROM prescriptions WHERE id = $1").bind(p.id))
        .await
        .unwrap();
    let enc = raw.string("record_enc").unwrap();
    assert!(!enc.contains("Amoxicillin") && !enc.contains("rash"), "{enc}");
    assert_eq!(raw.i64("warnings").unwrap(), 1);
    // The read comes back whole.
    let read = store.prescription(&c.scope, &c.dentist, c.patient, p.id, true).await.unwrap();
    assert_eq!(read, p);
    // Clindamycin has no warning and needs no reason.
    let (clinda, cm) = medicine(store, &c, "Clindamycin").await;
    let q = store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(clinda, &cm, "")).await.unwrap();
    assert_eq!(q.number, 2);
    assert!(q.warnings.is_empty());
});

dual_test!(fixed_clock async fn active_prescriptions_count_until_they_end_or_are_cancelled(db, clock) {
    let store = &db.store;
    let c = clinic(store, "rx-active").await;
    let (ibu, im) = medicine(store, &c, "Ibuprofen").await;
    let (nap, nm) = medicine(store, &c, "Naproxen").await;
    let first = store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(ibu, &im, "")).await.unwrap();
    let w = store.prescription_warnings(&c.scope, c.patient, &nm).await.unwrap();
    assert_eq!(w.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["duplicate:nsaid"]);
    // Cancelling needs a reason, happens once, and the cancelled one no longer counts.
    let (_, f) = fields(store.cancel_prescription(&c.scope, &c.dentist, c.patient, first.id, " ").await.unwrap_err());
    assert_eq!(f, ["reason"]);
    let cancelled = store.cancel_prescription(&c.scope, &c.dentist, c.patient, first.id, "Wrong strength").await.unwrap();
    let cancellation = cancelled.cancelled.clone().unwrap();
    assert_eq!(cancellation.reason, "Wrong strength");
    assert_eq!(cancellation.by_name, "elise@clinic.test");
    let (code, _) = fields(store.cancel_prescription(&c.scope, &c.dentist, c.patient, first.id, "again").await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(store.prescription_warnings(&c.scope, c.patient, &nm).await.unwrap().is_empty());
    // A new course of ibuprofen counts for its five days, and no longer after them.
    store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(ibu, &im, "")).await.unwrap();
    assert_eq!(store.prescription_warnings(&c.scope, c.patient, &nm).await.unwrap().len(), 1);
    clock.advance(SignedDuration::from_hours(24 * 5 + 1));
    assert!(store.prescription_warnings(&c.scope, c.patient, &nm).await.unwrap().is_empty());
    store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(nap, &nm, "")).await.unwrap();
    let all = store.prescriptions(&c.scope, &c.dentist, c.patient).await.unwrap();
    assert_eq!(all.iter().map(|p| p.number).collect::<Vec<_>>(), [3, 2, 1]);
});

dual_test!(async fn allergies_never_asked_warn_too(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "rx-unasked").await;
    let scope = Scope::system(org.id);
    let p = seed_patient(store, org.id, loc.id, patient_input("Ana", "Lopes", "1990-03-03")).await;
    let c = Clinic { org: org.id, scope: scope.clone(), patient: p.id, dentist: Actor { id: Some(seed_provider(store, org.id, "Dr A", Role::Dentist, "#111111").await), name: "a".into(), ..Default::default() } };
    let (para, pm) = medicine(store, &c, "Acetaminophen").await;
    let w = store.prescription_warnings(&scope, p.id, &pm).await.unwrap();
    assert_eq!(w.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["history:allergies_unknown"]);
    let (_, f) = fields(store.prescribe(&scope, &c.dentist, p.id, &rx_of(para, &pm, "")).await.unwrap_err());
    assert_eq!(f, ["override_reason"]);
    store.prescribe(&scope, &c.dentist, p.id, &rx_of(para, &pm, "Patient unreachable; acetaminophen only")).await.unwrap();
});

dual_test!(async fn interactions_with_what_the_patient_takes(db) {
    let store = &db.store;
    let c = clinic(store, "rx-interactions").await;
    allergic_to(store, &c, &[], &["Warfarin 5 mg", "Simvastatin 40 mg"], &[Flag::Anticoagulants]).await;
    let codes = |w: Vec<rx::Warning>| w.into_iter().map(|w| w.code).collect::<Vec<_>>();
    let (_, ibu) = medicine(store, &c, "Ibuprofen").await;
    assert_eq!(codes(store.prescription_warnings(&c.scope, c.patient, &ibu).await.unwrap()), ["interaction:nsaid+anticoagulant"]);
    let (_, metro) = medicine(store, &c, "Metronidazole").await;
    assert_eq!(codes(store.prescription_warnings(&c.scope, c.patient, &metro).await.unwrap()), ["interaction:nitroimidazole+vitamin_k_antagonist"]);
    let (_, azi) = medicine(store, &c, "Azithromycin").await;
    let mut got = codes(store.prescription_warnings(&c.scope, c.patient, &azi).await.unwrap());
    got.sort();
    assert_eq!(got, ["interaction:macrolide+statin", "interaction:macrolide+vitamin_k_antagonist"]);
    let (_, para) = medicine(store, &c, "Acetaminophen").await;
    assert!(store.prescription_warnings(&c.scope, c.patient, &para).await.unwrap().is_empty());
});

dual_test!(async fn bad_prescriptions_are_refused_with_nothing_written(db) {
    let store = &db.store;
    let c = clinic(store, "rx-bad").await;
    let other = clinic(store, "rx-bad-other").await;
    let (amox, m) = medicine(store, &c, "Amoxicillin").await;
    // Each bad field named at once.
    let bad = NewPrescription {
        order: Order { dose: String::new(), duration_days: 0, quantity: 10_000, refills: 12, ..order_of(&m) },
        ..rx_of(amox, &m, "")
    };
    let (code, f) = fields(store.prescribe(&c.scope, &c.dentist, c.patient, &bad).await.unwrap_err());
    assert_eq!((code, f), (ErrorCode::Validation, vec!["dose".into(), "duration_days".into(), "quantity".into(), "refills".into()]));
    // No medicine, another organization's medicine, an inactive one.
    let none = NewPrescription { medicine_id: None, ..rx_of(amox, &m, "") };
    assert_eq!(fields(store.prescribe(&c.scope, &c.dentist, c.patient, &none).await.unwrap_err()).1, ["medicine_id"]);
    let (theirs, _) = medicine(store, &other, "Amoxicillin").await;
    assert_eq!(fields(store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(theirs, &m, "")).await.unwrap_err()).1, ["medicine_id"]);
    let (diaz, dm) = medicine(store, &c, "Diazepam").await;
    store.save_medicine(&c.scope, &c.dentist, Some(diaz), &dm, false).await.unwrap();
    assert_eq!(fields(store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(diaz, &dm, "")).await.unwrap_err()).1, ["medicine_id"]);
    // A user who is not a provider cannot prescribe.
    let clerk = Actor::system("front-desk");
    assert_eq!(fields(store.prescribe(&c.scope, &clerk, c.patient, &rx_of(amox, &m, "")).await.unwrap_err()).1, ["prescriber"]);
    // A signed visit is not linked; another patient's visit neither.
    let visit = store
        .create_visit(&c.scope, &c.dentist, c.patient, &NewVisit { kind: Some(domain::clinical::visit::VisitKind::Exam), ..Default::default() })
        .await
        .unwrap();
    let linked = NewPrescription { visit_id: Some(visit.id), ..rx_of(amox, &m, "") };
    let p = store.prescribe(&c.scope, &c.dentist, c.patient, &linked).await.unwrap();
    assert_eq!(p.visit_id, Some(visit.id));
    store.sign_visit(&c.scope, &c.dentist, c.patient, visit.id, None).await.unwrap();
    assert_eq!(fields(store.prescribe(&c.scope, &c.dentist, c.patient, &linked).await.unwrap_err()).1, ["visit_id"]);
    // Another organization reaches neither the patient nor the prescription.
    let (code, _) = fields(store.prescribe(&other.scope, &other.dentist, c.patient, &rx_of(theirs, &m, "")).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    let (code, _) = fields(store.prescription(&other.scope, &other.dentist, c.patient, p.id, false).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    assert_eq!(store.prescriptions(&c.scope, &c.dentist, c.patient).await.unwrap().len(), 1);
    let listed = store.recent_prescriptions(&c.scope, &c.dentist, 50).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].patient.family_name, "Gagnon");
    assert!(store.recent_prescriptions(&other.scope, &other.dentist, 50).await.unwrap().is_empty());
    let _ = other.org;
});

dual_test!(async fn numbers_stay_unique_when_prescribers_write_at_once(db) {
    let store = Arc::new(db.store.clone());
    let c = Arc::new(clinic(&store, "rx-race").await);
    let (para, pm) = medicine(&store, &c, "Acetaminophen").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, c, pm) = (store.clone(), c.clone(), pm.clone());
        tasks.push(tokio::spawn(async move {
            store.prescribe(&c.scope, &c.dentist, c.patient, &rx_of(para, &pm, "")).await
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap().unwrap().number);
    }
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<i64>>());
});
