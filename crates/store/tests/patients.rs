#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Patients on both databases: registration and its checks, the audited read, search by
//! misspelled names and phone numbers typed any way, location restriction, families and
//! guarantors, versioned medical histories, documents, merge and undo, encryption at rest.

use bytes::Bytes;
use domain::identity::Role;
use domain::patients::history::{Allergy, Flag, MedicalHistory};
use domain::patients::search::DateOrder;
use domain::patients::{PatientInput, PatientStatus, Phone};
use domain::{LocationAccess, Principal, Scope, UserId};
use store::Store;
use store::identity::NewUser;
use store::patients::documents::{BuiltinScanner, Upload};
use store::patients::{Actor, FamilyChoice, NewPatient, NonPatientGuarantor};
use test_support::{dual_test, local_objects, patient_input, seed_org, seed_patient};

fn actor() -> Actor {
    Actor::system("test")
}

fn with_phone(mut i: PatientInput, number: &str) -> PatientInput {
    i.phones.push(Phone {
        kind: "mobile".into(),
        number: number.into(),
        sms_consent: true,
    });
    i
}

async fn audit_actions(
    store: &Store,
    org: domain::OrgId,
) -> Vec<(String, Option<domain::PatientId>)> {
    store
        .audit_events(org, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.patient_id))
        .collect()
}

dual_test!(fixed_clock async fn registration_checks_every_field_and_numbers_charts(db, clock) {
    let _ = clock;
    let store = &db.store;
    let (org, loc) = seed_org(store, "reg").await;
    let scope = Scope::system(org.id);
    let mut bad = patient_input("", "Tremblay", "2027-01-01");
    bad.email = "nope".into();
    bad.phones.push(Phone { kind: "mobile".into(), number: "12ab".into(), sms_consent: false });
    let err = store
        .register_patient(&scope, &actor(), NewPatient {
            location_id: loc.id, restricted: false, input: bad, family: FamilyChoice::Own, status: PatientStatus::Active,
        })
        .await
        .unwrap_err();
    let msg = err.to_string();
    for f in ["given_name", "birth_date", "email", "phone"] {
        assert!(msg.contains(f), "{f} not in {msg}");
    }
    assert!(store.find_patients(&scope, "tremblay", DateOrder::MonthFirst, 10).await.unwrap().is_empty(), "nothing stored");

    let a = seed_patient(store, org.id, loc.id, with_phone(patient_input("Zoé", "Tremblay", "1984-03-27"), "(802) 555-0143")).await;
    let b = seed_patient(store, org.id, loc.id, patient_input("Luc", "Roy", "1990-01-01")).await;
    assert_eq!((a.chart_number, b.chart_number), (1, 2));
    assert_eq!(a.details.phones[0].number, "+18025550143");

    // The read is audited, in the chain, with the patient.
    let read = store.patient(&scope, &actor(), a.id).await.unwrap();
    assert_eq!(read, a);
    let events = audit_actions(store, org.id).await;
    assert!(events.contains(&("patient.created".into(), Some(a.id))));
    assert!(events.contains(&("patient.read".into(), Some(a.id))));
    assert!(store.verify_audit(org.id, None).await.unwrap().broken.is_none());

    // The same source id twice is refused.
    let mut dup = patient_input("Ann", "Lee", "2000-02-02");
    dup.external_id = "OD-1".into();
    seed_patient(store, org.id, loc.id, dup.clone()).await;
    let err = store
        .register_patient(&scope, &actor(), NewPatient {
            location_id: loc.id, restricted: false, input: dup, family: FamilyChoice::Own, status: PatientStatus::Active,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("external_id"), "{err}");

    // Another organization's patient does not exist here.
    let (other, other_loc) = seed_org(store, "other").await;
    let theirs = seed_patient(store, other.id, other_loc.id, patient_input("Zoé", "Tremblay", "1984-03-27")).await;
    assert!(store.patient(&scope, &actor(), theirs.id).await.is_err());
    let hits = store.find_patients(&scope, "tremblay", DateOrder::MonthFirst, 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].patient.id, a.id);
});

dual_test!(fixed_clock async fn search_finds_misspellings_phones_dates_and_charts(db, clock) {
    let _ = clock;
    let store = &db.store;
    let (org, loc) = seed_org(store, "find").await;
    let scope = Scope::system(org.id);
    let people = [
        ("John", "Johnson", "1970-05-05", "802-555-0101"),
        ("Catherine", "Smith", "1981-02-03", "802 555 0102"),
        ("Hélène", "Côté", "1992-07-08", "+1 (514) 555-0103"),
        ("Marc", "Tremblay", "1965-12-31", "5145550104"),
        ("Anna", "Van der Berg", "2001-01-01", "802.555.0105"),
        ("Jon", "Smithers", "1999-09-09", "802-555-0106"),
    ];
    let mut ids = Vec::new();
    for (g, f, b, p) in people {
        ids.push(seed_patient(store, org.id, loc.id, with_phone(patient_input(g, f, b), p)).await.id);
    }
    // Misspellings, accents, prefixes, "family, given", two words in either order.
    for (q, want) in [
        ("jonhson", 0), ("Jonson", 0), ("johnsen", 0), ("katherine smith", 1), ("smyth", 1),
        ("helene cote", 2), ("Côté", 2), ("cote, hel", 2), ("tremblai", 3), ("trem", 3),
        ("van der berg", 4), ("vanderberg anna", 4), ("Smith, Catherine", 1), ("smithers", 5),
    ] {
        assert_eq!(first(store, &scope, q).await, Some(ids[want]), "{q}");
    }
    // Exact before prefix: "smith" ranks Smith above Smithers.
    let hits = store.find_patients(&scope, "smith", DateOrder::MonthFirst, 10).await.unwrap();
    assert_eq!(hits[0].patient.id, ids[1]);
    assert!(hits.iter().any(|h| h.patient.id == ids[5]));
    assert!(hits[0].score > hits[1].score);
    // Phones in any format, and their last digits.
    for (q, want) in [("(802) 555-0102", 1), ("8025550102", 1), ("+1 802 555 0102", 1), ("555-0103", 2), ("514.555.0104", 3)] {
        assert_eq!(first(store, &scope, q).await, Some(ids[want]), "{q}");
    }
    // Birth date in ISO and as typed in the US; chart number.
    assert_eq!(first(store, &scope, "1992-07-08").await, Some(ids[2]));
    assert_eq!(first(store, &scope, "07/08/1992").await, Some(ids[2]));
    assert_eq!(first(store, &scope, "4").await, Some(ids[3]), "chart number 4");
    // Nothing for a name nobody has.
    assert!(store.find_patients(&scope, "zzyzx", DateOrder::MonthFirst, 10).await.unwrap().is_empty());
    // Results carry the first phone.
    assert_eq!(hits[0].patient.phone.as_deref(), Some("+18025550102"));
});

dual_test!(fixed_clock async fn a_restricted_patient_is_invisible_outside_its_location(db, clock) {
    let store = &db.store;
    let (org, loc_a) = seed_org(store, "two").await;
    let mut loc_b = loc_a.clone();
    loc_b.id = domain::LocationId::from_uuid(store.new_uuid());
    loc_b.name = "Second office".into();
    let mut tx = store.begin().await.unwrap();
    tx.create_location(store, &Scope::system(org.id), &loc_b).await.unwrap();
    tx.commit().await.unwrap();
    let system = Scope::system(org.id);
    let restricted = store
        .register_patient(&system, &actor(), NewPatient {
            location_id: loc_b.id, restricted: true, input: patient_input("Vera", "Private", "1980-01-01"),
            family: FamilyChoice::Own, status: PatientStatus::Active,
        })
        .await
        .unwrap();
    let shared = seed_patient(store, org.id, loc_b.id, patient_input("Sam", "Private", "1981-01-01")).await;
    let mut tx = store.begin().await.unwrap();
    let user = tx.create_user(store, &system, &NewUser {
        email: "a-only@two.test".into(), name: "A only".into(), phone: None, password: None,
        roles: vec![Role::Receptionist], locations: vec![loc_a.id],
    }).await.unwrap();
    tx.commit().await.unwrap();
    let a_only = Scope::new(org.id, Principal::User(user), LocationAccess::Only(vec![loc_a.id]));
    let a_actor = Actor { id: Some(user), name: "a-only@two.test".into(), ..Default::default() };
    // Not readable, not searchable, not a family member, not a duplicate, no documents.
    assert!(store.patient(&a_only, &a_actor, restricted.id).await.is_err());
    let hits = store.find_patients(&a_only, "private", DateOrder::MonthFirst, 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.patient.id).collect::<Vec<_>>(), vec![shared.id], "the shared one only");
    assert!(store.documents(&a_only, restricted.id, false).await.is_err());
    assert!(store.medical_history(&a_only, restricted.id).await.is_err());
    // Users at location B, and users of every location, see it.
    let b_scope = Scope::new(org.id, Principal::User(UserId::from_uuid(store.new_uuid())), LocationAccess::Only(vec![loc_b.id]));
    assert!(store.patient(&b_scope, &actor(), restricted.id).await.is_ok());
    assert_eq!(store.find_patients(&system, "private", DateOrder::MonthFirst, 10).await.unwrap().len(), 2);
    // Break the glass: the chart number and birth date, a reason; an hour of access, audited,
    // and an alert for the administrators.
    let dob = jiff::civil::date(1980, 1, 1);
    let short = store.break_glass(&a_only, &a_actor, restricted.chart_number, dob, "urgent").await.unwrap_err();
    assert!(short.to_string().contains("reason"), "{short}");
    let wrong = store.break_glass(&a_only, &a_actor, restricted.chart_number, jiff::civil::date(1980, 1, 2), "walk-in with facial swelling").await.unwrap_err();
    assert!(wrong.to_string().contains("chart number and birth date"), "{wrong}");
    let id = store.break_glass(&a_only, &a_actor, restricted.chart_number, dob, "walk-in with facial swelling").await.unwrap();
    assert_eq!(id, restricted.id);
    assert_eq!(store.patient(&a_only, &a_actor, restricted.id).await.unwrap().id, restricted.id);
    assert!(store.medical_history(&a_only, restricted.id).await.is_ok());
    let events = audit_actions(store, org.id).await;
    assert!(events.contains(&("patient.break_glass".into(), Some(restricted.id))));
    let alerts = store.security_alerts(&system, true).await.unwrap();
    assert!(alerts.iter().any(|a| a.kind == "break_glass" && a.detail["reason"] == "walk-in with facial swelling"), "an alert for the administrators");
    assert!(store.find_patients(&a_only, "private", DateOrder::MonthFirst, 10).await.unwrap().iter().all(|h| h.patient.id != restricted.id), "still not listed");
    clock.advance(jiff::SignedDuration::from_mins(61));
    assert!(store.patient(&a_only, &a_actor, restricted.id).await.is_err(), "the access ended");

    // A location-A user cannot restrict someone to location B.
    let err = store
        .update_patient(&a_only, &a_actor, shared.id, loc_b.id, true, shared.details.to_input())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("restricted"), "{err}");
});

dual_test!(fixed_clock async fn families_and_guarantors(db, clock) {
    let _ = clock;
    let store = &db.store;
    let (org, loc) = seed_org(store, "fam").await;
    let scope = Scope::system(org.id);
    let mother = seed_patient(store, org.id, loc.id, patient_input("Marie", "Gagnon", "1980-04-04")).await;
    let child = store
        .register_patient(&scope, &actor(), NewPatient {
            location_id: loc.id, restricted: false, input: patient_input("Léa", "Gagnon", "2015-06-06"),
            family: FamilyChoice::JoinFamilyOf(mother.id), status: PatientStatus::Active,
        })
        .await
        .unwrap();
    assert_eq!(child.family_id, mother.family_id);
    let fam = store.family(&scope, mother.family_id).await.unwrap();
    assert_eq!(fam.guarantor_patient, Some(mother.id));
    assert_eq!(fam.members.len(), 2);
    assert_eq!(fam.guarantor_name(), "Gagnon, Marie");

    // The guarantor cannot leave while the child stays; after naming the child... a non-patient.
    let err = store.move_to_family(&scope, &actor(), mother.id, None).await.unwrap_err();
    assert!(err.to_string().contains("guarantor"), "{err}");
    store
        .set_guarantor(&scope, &actor(), fam.id, Err(NonPatientGuarantor { name: "Paul Gagnon".into(), relationship: "father".into(), ..Default::default() }))
        .await
        .unwrap();
    let own = store.move_to_family(&scope, &actor(), mother.id, None).await.unwrap();
    assert_ne!(own, fam.id);
    let fam = store.family(&scope, fam.id).await.unwrap();
    assert_eq!(fam.guarantor_name(), "Paul Gagnon");
    assert_eq!(fam.members.len(), 1);
    // Back in: the emptied family of her own is removed.
    store.move_to_family(&scope, &actor(), mother.id, Some(fam.id)).await.unwrap();
    assert!(store.family(&scope, own).await.is_err());
    // A non-patient guarantor needs a name.
    let err = store
        .register_patient(&scope, &actor(), NewPatient {
            location_id: loc.id, restricted: false, input: patient_input("Max", "Roy", "2010-01-01"),
            family: FamilyChoice::Guarantor(NonPatientGuarantor::default()), status: PatientStatus::Active,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("guarantor_name"), "{err}");
});

dual_test!(fixed_clock async fn histories_are_versioned_and_drive_the_banner(db, clock) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "hist").await;
    let scope = Scope::system(org.id);
    let p = seed_patient(store, org.id, loc.id, patient_input("Zoé", "Tremblay", "1984-03-27")).await;
    assert!(store.medical_alerts(&scope, p.id).await.unwrap().is_empty());
    let h = MedicalHistory {
        allergies: vec![Allergy { substance: "Penicillin".into(), reaction: "hives".into(), severity: "severe".into() }],
        flags: vec![Flag::Anticoagulants],
        ..Default::default()
    };
    let v1 = store.save_medical_history(&scope, &actor(), p.id, &h, true).await.unwrap().unwrap();
    assert_eq!(v1.version, 1);
    clock.advance(jiff::SignedDuration::from_hours(1));
    // Saving the same history unreviewed records nothing.
    let same = store.save_medical_history(&scope, &actor(), p.id, &h, false).await.unwrap();
    assert!(same.is_none(), "nothing to record");
    let mut h2 = h.clone();
    h2.flags.push(Flag::Pregnancy);
    let v2 = store.save_medical_history(&scope, &actor(), p.id, &h2, false).await.unwrap().unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.changes, vec!["flag added: pregnancy".to_string()]);
    let alerts = store.medical_alerts(&scope, p.id).await.unwrap();
    assert_eq!(alerts[0].text, "Penicillin (hives)");
    assert!(alerts.iter().any(|a| a.kind == "pregnancy"));
    let versions = store.history_versions(&scope, &actor(), p.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(versions[1].history.allergies[0].substance, "Penicillin");
    let read = store.patient(&scope, &actor(), p.id).await.unwrap();
    assert_eq!(read.history_reviewed_at, Some(v1.recorded_at), "the reviewed save set the review date");
    // Bad input: nothing stored.
    let bad = MedicalHistory { allergies: vec![Allergy { substance: String::new(), reaction: "rash".into(), severity: String::new() }], ..Default::default() };
    assert!(store.save_medical_history(&scope, &actor(), p.id, &bad, false).await.is_err());
    assert_eq!(store.history_versions(&scope, &actor(), p.id).await.unwrap().len(), 2);
});

dual_test!(fixed_clock async fn documents_are_typed_versioned_and_never_orphaned(db, clock) {
    let _ = clock;
    let store = &db.store;
    let dir = tempfile::tempdir().unwrap();
    let objects = local_objects(dir.path());
    let (org, loc) = seed_org(store, "docs").await;
    let scope = Scope::system(org.id);
    let p = seed_patient(store, org.id, loc.id, patient_input("Zoé", "Tremblay", "1984-03-27")).await;
    let pdf = Bytes::from_static(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n");
    let upload = |data: Bytes, name: &str, replaces| Upload {
        category: "consent".into(), title: String::new(), file_name: name.into(), data, replaces,
    };
    let d1 = store
        .add_document(&objects, &BuiltinScanner, &scope, &actor(), p.id, upload(pdf.clone(), "C:\\scans\\consent.pdf", None), 1 << 20)
        .await
        .unwrap();
    assert_eq!(d1.content_type, "application/pdf");
    assert_eq!(d1.file_name, "consent.pdf");
    assert_eq!(d1.title, "consent.pdf");
    let (_, bytes) = objects.get(store, &scope, d1.object_id).await.unwrap();
    assert_eq!(bytes, pdf);
    let d2 = store
        .add_document(&objects, &BuiltinScanner, &scope, &actor(), p.id, upload(pdf.clone(), "consent-signed.pdf", Some(d1.id)), 1 << 20)
        .await
        .unwrap();
    assert_eq!((d2.series_id, d2.version), (d1.series_id, 2));

    let count_objects = || async {
        store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM objects")).await.unwrap().i64("n").unwrap()
    };
    let before = count_objects().await;
    // Refused: too large, a disguised executable, a scripted PDF, an unknown category.
    for (data, name, cat, max, want) in [
        (pdf.clone(), "big.pdf", "consent", 10, "limit"),
        (Bytes::from_static(b"MZ\x90\0rest"), "scan.pdf", "consent", 1 << 20, "not accepted"),
        (Bytes::from_static(b"%PDF-1.4 /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "x.pdf", "consent", 1 << 20, "scripts"),
        (pdf.clone(), "a.pdf", "selfie", 1 << 20, "category"),
    ] {
        let mut u = upload(data, name, None);
        u.category = cat.into();
        let err = store.add_document(&objects, &BuiltinScanner, &scope, &actor(), p.id, u, max).await.unwrap_err();
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
    assert_eq!(count_objects().await, before, "nothing stored for refused uploads");

    // A failure after the object is stored (the row refused) removes the object again.
    match store.db.backend() {
        store::Backend::Sqlite => {
            store.db.execute(store::Q::generated("CREATE TRIGGER fail_docs BEFORE INSERT ON patient_documents BEGIN SELECT RAISE(ABORT, 'disk full'); END".into())).await.unwrap();
        }
        store::Backend::Postgres => {
            store.db.execute(store::Q::generated("CREATE FUNCTION fail_docs() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql".into())).await.unwrap();
            store.db.execute(store::Q::generated("CREATE TRIGGER fail_docs BEFORE INSERT ON patient_documents FOR EACH ROW EXECUTE FUNCTION fail_docs()".into())).await.unwrap();
        }
    }
    let files_before = walk(dir.path()).len();
    assert!(store.add_document(&objects, &BuiltinScanner, &scope, &actor(), p.id, upload(pdf.clone(), "x.pdf", None), 1 << 20).await.is_err());
    assert_eq!(count_objects().await, before, "no orphan row");
    assert_eq!(walk(dir.path()).len(), files_before, "no orphan file");
    store.db.execute(store::Q::generated("DROP TRIGGER fail_docs ON patient_documents".into())).await.ok();
    store.db.execute(store::Q::generated("DROP TRIGGER fail_docs".into())).await.ok();

    // Soft delete: gone from the list, kept under "deleted", the bytes still there; audited.
    assert!(store.delete_document(&scope, &actor(), d1.id, " ").await.is_err(), "a reason is required");
    store.delete_document(&scope, &actor(), d1.id, "scanned twice").await.unwrap();
    let listed = store.documents(&scope, p.id, false).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![d2.id]);
    let all = store.documents(&scope, p.id, true).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(objects.get(store, &scope, d1.object_id).await.is_ok());
    let events = audit_actions(store, org.id).await;
    assert!(events.contains(&("patient.document_deleted".into(), Some(p.id))));
    assert_eq!(events.iter().filter(|e| e.0 == "patient.document_added").count(), 2);
});

async fn first(store: &Store, scope: &Scope, q: &str) -> Option<domain::PatientId> {
    store
        .find_patients(scope, q, DateOrder::MonthFirst, 10)
        .await
        .unwrap()
        .first()
        .map(|h| h.patient.id)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

dual_test!(fixed_clock async fn merge_moves_everything_and_undo_puts_it_back(db, clock) {
    let store = &db.store;
    let dir = tempfile::tempdir().unwrap();
    let objects = local_objects(dir.path());
    let (org, loc) = seed_org(store, "merge").await;
    let scope = Scope::system(org.id);
    let keep = seed_patient(store, org.id, loc.id, with_phone(patient_input("Zoé", "Tremblay", "1984-03-27"), "802-555-0143")).await;
    let dupe = seed_patient(store, org.id, loc.id, with_phone(patient_input("Zoe", "Tremblay", "1984-03-27"), "802-555-0199")).await;
    // The duplicate is spotted.
    let dups = store.likely_duplicates(&scope, &dupe.details, Some(dupe.id)).await.unwrap();
    assert_eq!(dups.iter().map(|d| d.id).collect::<Vec<_>>(), vec![keep.id]);
    let pdf = Bytes::from_static(b"%PDF-1.4\n%%EOF\n");
    let doc = |name: &str| Upload { category: "referral".into(), title: name.into(), file_name: format!("{name}.pdf"), data: pdf.clone(), replaces: None };
    store.add_document(&objects, &BuiltinScanner, &scope, &actor(), keep.id, doc("mine"), 1 << 20).await.unwrap();
    let moved_doc = store.add_document(&objects, &BuiltinScanner, &scope, &actor(), dupe.id, doc("theirs"), 1 << 20).await.unwrap();
    let pen = MedicalHistory { allergies: vec![Allergy { substance: "Penicillin".into(), ..Default::default() }], ..Default::default() };
    let latex = MedicalHistory { flags: vec![Flag::LatexAllergy], ..Default::default() };
    store.save_medical_history(&scope, &actor(), keep.id, &pen, false).await.unwrap();
    store.save_medical_history(&scope, &actor(), dupe.id, &latex, false).await.unwrap();

    let merge = store.merge_patients(&scope, &actor(), keep.id, dupe.id).await.unwrap();
    let kept = store.patient(&scope, &actor(), keep.id).await.unwrap();
    assert_eq!(kept.details.phones.len(), 2, "the other number joined");
    assert_eq!(store.documents(&scope, keep.id, false).await.unwrap().len(), 2);
    let h = store.medical_history(&scope, keep.id).await.unwrap().unwrap();
    assert_eq!(h.history.allergies.len(), 1);
    assert_eq!(h.history.flags, vec![Flag::LatexAllergy]);
    let gone = store.patient(&scope, &actor(), dupe.id).await.unwrap();
    assert_eq!(gone.status, PatientStatus::Merged);
    assert_eq!(gone.merged_into, Some(keep.id));
    assert!(store.find_patients(&scope, "tremblay", DateOrder::MonthFirst, 10).await.unwrap().iter().all(|h| h.patient.id == keep.id));
    assert!(store.merge_patients(&scope, &actor(), keep.id, dupe.id).await.is_err(), "not twice");

    store.undo_merge(&scope, &actor(), merge).await.unwrap();
    let back = store.patient(&scope, &actor(), dupe.id).await.unwrap();
    assert_eq!(back.status, PatientStatus::Active);
    assert_eq!(back.merged_into, None);
    assert_eq!(back.details.phones, dupe.details.phones);
    assert_eq!(store.documents(&scope, dupe.id, false).await.unwrap().iter().map(|d| d.id).collect::<Vec<_>>(), vec![moved_doc.id]);
    assert_eq!(store.documents(&scope, keep.id, false).await.unwrap().len(), 1);
    assert_eq!(store.medical_history(&scope, keep.id).await.unwrap().unwrap().history, pen.normalized().unwrap());
    assert_eq!(store.medical_history(&scope, dupe.id).await.unwrap().unwrap().history, latex.normalized().unwrap());
    assert!(store.undo_merge(&scope, &actor(), merge).await.is_err(), "not twice");
    let records = store.merges_of(&scope, keep.id).await.unwrap();
    assert!(records[0].undone_at.is_some());
    let events = audit_actions(store, org.id).await;
    for p in [keep.id, dupe.id] {
        assert!(events.contains(&("patient.merged".into(), Some(p))));
        assert!(events.contains(&("patient.merge_undone".into(), Some(p))));
    }
    assert!(store.verify_audit(org.id, None).await.unwrap().broken.is_none());

    // Past the window, an undo is refused.
    let merge = store.merge_patients(&scope, &actor(), keep.id, dupe.id).await.unwrap();
    clock.advance(jiff::SignedDuration::from_hours(24 * 31));
    let err = store.undo_merge(&scope, &actor(), merge).await.unwrap_err();
    assert!(err.to_string().contains("30 days"), "{err}");
});

dual_test!(fixed_clock async fn patient_secrets_never_reach_the_disk_in_clear(db, clock) {
    let _ = clock;
    let store = &db.store;
    let (org, loc) = seed_org(store, "enc").await;
    let scope = Scope::system(org.id);
    let mut input = patient_input("Zoé", "Tremblay", "1984-03-27");
    input.national_id = "123-45-6789".into();
    let p = seed_patient(store, org.id, loc.id, input.clone()).await;
    let h = MedicalHistory {
        allergies: vec![Allergy { substance: "Sulfonamidexyz".into(), ..Default::default() }],
        notes: "seropositive-marker-qq".into(),
        ..Default::default()
    };
    store.save_medical_history(&scope, &actor(), p.id, &h, false).await.unwrap();
    let dump = db.raw_dump();
    let has = |s: &str| dump.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("Tremblay"), "the dump is real");
    for secret in ["123-45-6789", "123456789", "Sulfonamidexyz", "seropositive-marker-qq"] {
        assert!(!has(secret), "{secret} is in the raw dump");
    }
    // Found as a duplicate by the blind index, before and after a key rotation.
    let mut other = patient_input("Zed", "Nobody", "1999-09-09");
    other.national_id = "123 45 6789".into();
    let details = other.validate(jiff::civil::date(2026, 3, 2), "1").unwrap();
    assert_eq!(store.likely_duplicates(&scope, &details, None).await.unwrap().len(), 1);
    store.rotate_data_key(org.id).await.unwrap();
    while store.reencrypt_batch(org.id, 100).await.unwrap() > 0 {}
    assert_eq!(store.values_to_reencrypt(org.id).await.unwrap(), 0);
    assert_eq!(store.likely_duplicates(&scope, &details, None).await.unwrap().len(), 1, "the blind index followed the key");
    assert_eq!(store.patient(&scope, &actor(), p.id).await.unwrap().details.national_id, "123-45-6789");
    assert_eq!(store.medical_history(&scope, p.id).await.unwrap().unwrap().history.notes, "seropositive-marker-qq");
});
