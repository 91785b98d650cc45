#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Charting in the store, on both databases: the catalog (starter, edits, CSV import), entries
//! checked against the catalog and the teeth, dentist-only completion, missing teeth, voiding,
//! tenancy, merges, and two writers on one chart (a stale writer gets a conflict; nothing is
//! lost).

use std::sync::Arc;

use domain::clinical::catalog::{self, CatalogEntry, Effect, EntryKind, SiteRule};
use domain::clinical::chart::{ChartStatus, EntryRequest, Site, odontogram};
use domain::clinical::teeth::{Numbering, Surface, Surfaces, Tooth};
use domain::{ErrorCode, OrgId, PatientId, Scope};
use store::Store;
use store::clinical::{ChartPermits, ClinicalSettings, EntryChange};
use store::patients::Actor;
use store::tenancy::WriteError;
use test_support::{dual_test, patient_input, seed_org, seed_patient};

const DENTIST: ChartPermits = ChartPermits {
    may_complete_dentist_only: true,
};
const HYGIENIST: ChartPermits = ChartPermits {
    may_complete_dentist_only: false,
};

fn actor(name: &str) -> Actor {
    Actor::system(name)
}

async fn clinic(store: &Store, slug: &str) -> (OrgId, Scope, PatientId) {
    let (org, loc) = seed_org(store, slug).await;
    let p = seed_patient(
        store,
        org.id,
        loc.id,
        patient_input("Chloé", "Tremblay", "1984-05-02"),
    )
    .await;
    (org.id, Scope::system(org.id), p.id)
}

fn req(
    code: &str,
    tooth: Option<&str>,
    surfaces: Option<&str>,
    status: Option<&str>,
) -> EntryRequest {
    EntryRequest {
        code: code.into(),
        tooth: tooth.map(Into::into),
        surfaces: surfaces.map(Into::into),
        status: status.map(Into::into),
        ..Default::default()
    }
}

fn tooth(n: u8) -> Tooth {
    Tooth::from_fdi(n).unwrap()
}

fn code_of(e: WriteError) -> (ErrorCode, String, Vec<String>) {
    match e {
        WriteError::Invalid(d) => (
            d.code,
            d.message,
            d.fields.into_iter().map(|f| f.field).collect(),
        ),
        other => panic!("expected a domain error, got {other}"),
    }
}

dual_test!(async fn the_starter_catalog_appears_once_and_codes_are_checked(db) {
    let store = &db.store;
    let (_, scope, _) = clinic(store, "cat-a").await;
    let (_, other, _) = clinic(store, "cat-b").await;
    let codes = store.procedure_codes(&scope).await.unwrap();
    assert_eq!(codes.len(), catalog::STARTER.len());
    // A second read (and a racing server) does not add them again.
    assert_eq!(store.procedure_codes(&scope).await.unwrap().len(), catalog::STARTER.len());
    let comp = store.procedure_code(&scope, "comp").await.unwrap().unwrap();
    assert_eq!((comp.entry.site, comp.entry.effect, comp.entry.dentist_only), (SiteRule::Surfaces, Effect::Restoration, true));

    // A clinic's own code, then an edit of it; bad input names each field and writes nothing.
    let mut mine = CatalogEntry {
        code: "whiten".into(),
        kind: EntryKind::Procedure,
        name: "Whitening".into(),
        category: "other".into(),
        minutes: 60,
        site: SiteRule::Mouth,
        dentist_only: false,
        fee_minor: 35000,
        icd10: None,
        effect: Effect::None,
    };
    let saved = store.save_procedure_code(&scope, &actor("admin"), &mine, true).await.unwrap();
    assert_eq!(saved.entry.code, "WHITEN");
    mine.fee_minor = 40000;
    store.save_procedure_code(&scope, &actor("admin"), &mine, true).await.unwrap();
    assert_eq!(store.procedure_code(&scope, "WHITEN").await.unwrap().unwrap().entry.fee_minor, 40000);
    let mut bad = mine.clone();
    bad.code = "no spaces".into();
    bad.fee_minor = -5;
    let (code, _, fields) = code_of(store.save_procedure_code(&scope, &actor("admin"), &bad, true).await.unwrap_err());
    assert_eq!((code, fields), (ErrorCode::Validation, vec!["code".to_string(), "fee".to_string()]));
    assert_eq!(store.procedure_codes(&scope).await.unwrap().len(), catalog::STARTER.len() + 1);

    // A licensed list: one new code, one update of a starter code.
    let list = catalog::parse_csv("code,name,category,minutes,site,fee,effect\nD2391,Resin one surface posterior,restorative,40,surfaces,150.00,restoration\nCOMP,Composite (our fee),restorative,45,surfaces,170.00,restoration\n", 2).unwrap();
    assert_eq!(store.import_procedure_codes(&scope, &actor("admin"), &list).await.unwrap(), (1, 1));
    assert_eq!(store.procedure_code(&scope, "COMP").await.unwrap().unwrap().entry.fee_minor, 17000);
    // Another organization's catalog is its own.
    assert!(store.procedure_code(&other, "WHITEN").await.unwrap().is_none());
    assert!(store.procedure_code(&other, "D2391").await.unwrap().is_none());

    // Numbering is an org setting, FDI by default.
    assert_eq!(store.clinical_settings(&scope).await.unwrap().numbering, Numbering::Fdi);
    store.set_clinical_settings(&scope, &actor("admin"), ClinicalSettings { numbering: Numbering::Universal }).await.unwrap();
    assert_eq!(store.clinical_settings(&scope).await.unwrap().numbering, Numbering::Universal);
    assert_eq!(store.clinical_settings(&other).await.unwrap().numbering, Numbering::Fdi);
});

dual_test!(async fn a_mod_composite_on_16_and_what_is_refused(db) {
    let store = &db.store;
    let (_, scope, p) = clinic(store, "chart-a").await;
    let a = actor("dr");
    let e = store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &req("COMP", Some("16"), Some("MOD"), None), Some(0)).await.unwrap();
    assert_eq!((e.status, e.site), (ChartStatus::Planned, Site::Tooth(tooth(16), Surfaces::parse_for("MOD", tooth(16)).unwrap())));
    assert_eq!(e.name, "Composite filling");
    // The same tooth typed in Universal numbering is 3.
    store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Universal, &req("CARIES", Some("3"), Some("B"), None), None).await.unwrap();
    let chart = store.chart(&scope, &a, p).await.unwrap();
    assert_eq!((chart.entries.len(), chart.version), (2, 2));
    let view = odontogram(&chart.marks());
    assert_eq!(view[&tooth(16)].surfaces.get(&Surface::Occlusal), Some(&ChartStatus::Planned));
    assert_eq!(view[&tooth(16)].surfaces.get(&Surface::Buccal), Some(&ChartStatus::Condition));

    // Refused, each naming its part, and nothing written.
    for (r, field) in [
        (req("COMP", Some("11"), Some("MOD"), None), "surfaces"),
        (req("COMP", Some("19"), Some("O"), None), "tooth"),
        (req("CROWN", Some("16"), Some("O"), None), "surfaces"),
        (req("NOPE", Some("16"), None, None), "code"),
        (req("CARIES", Some("16"), Some("O"), Some("completed")), "status"),
        (req("SRP", Some("16"), None, None), "tooth"),
    ] {
        let (code, msg, fields) = code_of(store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &r, None).await.unwrap_err());
        assert_eq!(code, ErrorCode::Validation, "{msg}");
        assert!(fields.contains(&field.to_string()), "{field}: {fields:?} {msg}");
    }
    // A hygienist may plan a dentist-only procedure, not complete it.
    let (code, msg, _) = code_of(store.add_chart_entry(&scope, &a, HYGIENIST, p, Numbering::Fdi, &req("CROWN", Some("26"), None, Some("completed")), None).await.unwrap_err());
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    let planned = store.add_chart_entry(&scope, &a, HYGIENIST, p, Numbering::Fdi, &req("CROWN", Some("26"), None, None), None).await.unwrap();
    let (code, ..) = code_of(store.change_chart_entry(&scope, &a, HYGIENIST, p, planned.id, EntryChange::Complete, None).await.unwrap_err());
    assert_eq!(code, ErrorCode::Forbidden);
    // A hygienist completes hygiene work.
    store.add_chart_entry(&scope, &a, HYGIENIST, p, Numbering::Fdi, &req("CLEAN", None, None, Some("completed")), None).await.unwrap();
    assert_eq!(store.chart(&scope, &a, p).await.unwrap().entries.len(), 4);

    // The dentist completes the crown; completing it twice is refused.
    let done = store.change_chart_entry(&scope, &a, DENTIST, p, planned.id, EntryChange::Complete, None).await.unwrap();
    assert_eq!(done.status, ChartStatus::Completed);
    assert!(done.completed_at.is_some());
    assert!(store.change_chart_entry(&scope, &a, DENTIST, p, planned.id, EntryChange::Complete, None).await.is_err());
});

dual_test!(async fn missing_teeth_need_a_reason_and_voids_keep_the_entry(db) {
    let store = &db.store;
    let (_, scope, p) = clinic(store, "chart-b").await;
    let a = actor("dr");
    store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &req("EXT", Some("36"), None, Some("completed")), None).await.unwrap();
    assert_eq!(store.chart(&scope, &a, p).await.unwrap().missing_teeth(), vec![tooth(36)]);
    let (code, msg, fields) = code_of(store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &req("COMP", Some("36"), Some("O"), None), None).await.unwrap_err());
    assert_eq!((code, fields), (ErrorCode::Validation, vec!["tooth".to_string()]));
    assert!(msg.contains("missing"), "{msg}");
    // An implant fits the gap; so does work with a reason.
    store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &req("IMPL", Some("36"), None, None), None).await.unwrap();
    let mut crown = req("CROWN", Some("36"), None, None);
    crown.override_reason = Some("crown on the implant".into());
    crown.note = Some("shade A2, screw-retained".into());
    let c = store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &crown, None).await.unwrap();
    assert_eq!((c.override_reason.as_deref(), c.note.as_str()), (Some("crown on the implant"), "shade A2, screw-retained"));

    // A mistaken entry is voided with a reason, never deleted, and stops counting.
    let wrong = store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &req("MISSING", Some("18"), None, None), None).await.unwrap();
    assert!(store.chart(&scope, &a, p).await.unwrap().missing_teeth().contains(&tooth(18)));
    let (_, _, fields) = code_of(store.change_chart_entry(&scope, &a, DENTIST, p, wrong.id, EntryChange::Void { reason: " ".into() }, None).await.unwrap_err());
    assert_eq!(fields, vec!["reason".to_string()]);
    let void = store.change_chart_entry(&scope, &a, DENTIST, p, wrong.id, EntryChange::Void { reason: "wrong side".into() }, None).await.unwrap();
    assert_eq!(void.void_reason.as_deref(), Some("wrong side"));
    let chart = store.chart(&scope, &a, p).await.unwrap();
    assert_eq!(chart.entries.len(), 4);
    assert_eq!(chart.missing_teeth(), vec![tooth(36)]);
    assert!(store.change_chart_entry(&scope, &a, DENTIST, p, wrong.id, EntryChange::Void { reason: "again".into() }, None).await.is_err());

    // The note is encrypted at rest.
    let raw = store.db.fetch_all(store::db::Q::new("SELECT note_enc FROM chart_entries WHERE note_enc IS NOT NULL")).await.unwrap();
    assert_eq!(raw.len(), 1);
    assert!(!raw[0].string("note_enc").unwrap().contains("shade"));
});

dual_test!(async fn another_organization_sees_no_chart_and_writes_none(db) {
    let store = &db.store;
    let (_, scope, p) = clinic(store, "chart-c").await;
    let (_, other, _) = clinic(store, "chart-d").await;
    let a = actor("dr");
    let e = store.add_chart_entry(&scope, &a, DENTIST, p, Numbering::Fdi, &req("COMP", Some("16"), Some("O"), None), None).await.unwrap();
    let (code, ..) = code_of(store.chart(&other, &a, p).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    let (code, ..) = code_of(store.add_chart_entry(&other, &a, DENTIST, p, Numbering::Fdi, &req("COMP", Some("16"), Some("O"), None), None).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    let (code, ..) = code_of(store.change_chart_entry(&other, &a, DENTIST, p, e.id, EntryChange::Void { reason: "x".into() }, None).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    assert_eq!(store.chart(&scope, &a, p).await.unwrap().entries.len(), 1);
});

dual_test!(async fn two_writers_on_one_tooth_the_second_gets_a_conflict(db) {
    let store = &db.store;
    let (_, scope, p) = clinic(store, "chart-e").await;
    let (ann, bob) = (actor("ann@clinic"), actor("bob@clinic"));
    // Both open the chart at the same version.
    let seen = store.chart(&scope, &ann, p).await.unwrap().version;
    store.add_chart_entry(&scope, &ann, DENTIST, p, Numbering::Fdi, &req("COMP", Some("16"), Some("MO"), None), Some(seen)).await.unwrap();
    let (code, msg, fields) = code_of(store.add_chart_entry(&scope, &bob, DENTIST, p, Numbering::Fdi, &req("AMAL", Some("16"), Some("MO"), None), Some(seen)).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(msg.contains("tooth 16") && msg.contains("ann@clinic") && msg.contains("COMP"), "{msg}");
    assert_eq!(fields, vec!["entry".to_string()]);
    // Another tooth is not a conflict; after a reload the same tooth is fine.
    store.add_chart_entry(&scope, &bob, DENTIST, p, Numbering::Fdi, &req("SEAL", Some("26"), Some("O"), None), Some(seen)).await.unwrap();
    let now = store.chart(&scope, &bob, p).await.unwrap();
    let amal = store.add_chart_entry(&scope, &bob, DENTIST, p, Numbering::Fdi, &req("AMAL", Some("16"), Some("D"), None), Some(now.version)).await.unwrap();
    // A change to an entry someone else changed meanwhile is refused too.
    store.change_chart_entry(&scope, &ann, DENTIST, p, amal.id, EntryChange::Complete, Some(now.version + 1)).await.unwrap();
    let (code, ..) = code_of(store.change_chart_entry(&scope, &bob, DENTIST, p, amal.id, EntryChange::Void { reason: "dup".into() }, Some(now.version + 1)).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    let chart = store.chart(&scope, &ann, p).await.unwrap();
    assert_eq!(chart.entries.len(), 3);
    assert!(chart.entries.iter().all(|e| !e.is_void()));

    // At once: twelve writers on tooth 11 from the same version; exactly one gets in, and
    // every other one is told of the conflict. Nothing is lost or doubled.
    let base = chart.version;
    let store = Arc::new(store.clone());
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = store.clone();
        let scope = scope.clone();
        tasks.push(tokio::spawn(async move {
            store.add_chart_entry(&scope, &actor(&format!("writer{i}")), DENTIST, p, Numbering::Fdi, &req("COMP", Some("11"), Some("M"), None), Some(base)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(code_of(e).0, ErrorCode::Conflict),
        }
    }
    assert_eq!(ok, 1);
    let chart = store.chart(&scope, &actor("x"), p).await.unwrap();
    assert_eq!(chart.entries.iter().filter(|e| e.site.tooth() == Some(tooth(11))).count(), 1);
    assert_eq!(chart.version, base + 1);
});

dual_test!(async fn a_merge_brings_the_chart_along_and_keeps_it_writable(db) {
    let store = &db.store;
    let (org, scope, keep) = clinic(store, "chart-f").await;
    let loc = store.locations(&scope).await.unwrap()[0].id;
    let dupe = seed_patient(store, org, loc, patient_input("Chloe", "Tremblay", "1984-05-02")).await.id;
    let a = actor("dr");
    store.add_chart_entry(&scope, &a, DENTIST, keep, Numbering::Fdi, &req("COMP", Some("16"), Some("O"), None), None).await.unwrap();
    for t in ["21", "22", "23"] {
        store.add_chart_entry(&scope, &a, DENTIST, dupe, Numbering::Fdi, &req("CROWN", Some(t), None, None), None).await.unwrap();
    }
    let mut exam = domain::clinical::perio::PerioExam::default();
    exam.teeth.insert(tooth(16), domain::clinical::perio::ToothReading { mobility: Some(1), ..Default::default() });
    store.save_perio_exam(&scope, &a, keep, &exam).await.unwrap();
    store.save_perio_exam(&scope, &a, dupe, &exam).await.unwrap();
    let merge = store.merge_patients(&scope, &a, keep, dupe).await.unwrap();
    assert_eq!(store.perio_exams(&scope, &a, keep).await.unwrap().len(), 2, "both exams number 1, both kept");
    let chart = store.chart(&scope, &a, keep).await.unwrap();
    assert_eq!(chart.entries.len(), 4);
    // The version counts past the entries moved in, so a writer with it is not refused.
    assert!(chart.version >= 3);
    store.add_chart_entry(&scope, &a, DENTIST, keep, Numbering::Fdi, &req("RCT", Some("21"), None, None), Some(chart.version)).await.unwrap();
    // Undone: the moved entries go back.
    store.undo_merge(&scope, &a, merge).await.unwrap();
    assert_eq!(store.chart(&scope, &a, keep).await.unwrap().entries.len(), 2);
    assert_eq!(store.chart(&scope, &a, dupe).await.unwrap().entries.len(), 3);
    assert_eq!(store.perio_exams(&scope, &a, dupe).await.unwrap().len(), 1);
});

dual_test!(async fn perio_exams_are_checked_stored_encrypted_and_confirmed(db) {
    use domain::clinical::perio::{PerioExam, SiteReading, ToothReading};
    let store = &db.store;
    let (_, scope, p) = clinic(store, "perio-a").await;
    let (_, other, _) = clinic(store, "perio-b").await;
    let a = actor("hyg");
    let mut exam = PerioExam::default();
    for t in Tooth::all().filter(|t| !t.is_primary()) {
        let site = SiteReading { pd: Some(3), gm: Some(1), ..Default::default() };
        exam.teeth.insert(t, ToothReading { sites: [site; 6], ..Default::default() });
    }
    let mut bad = exam.clone();
    bad.teeth.get_mut(&tooth(16)).unwrap().sites[2].pd = Some(17);
    bad.teeth.get_mut(&tooth(21)).unwrap().mobility = Some(5);
    let (code, msg, fields) = code_of(store.save_perio_exam(&scope, &a, p, &bad).await.unwrap_err());
    assert_eq!(code, ErrorCode::Validation);
    assert_eq!(fields, vec!["16 MB".to_string(), "21 mobility".to_string()], "{msg}");
    assert!(store.perio_exams(&scope, &a, p).await.unwrap().is_empty());

    let first = store.save_perio_exam(&scope, &a, p, &exam).await.unwrap();
    exam.teeth.get_mut(&tooth(46)).unwrap().sites[5] = SiteReading { pd: Some(7), gm: Some(2), bleeding: true, ..Default::default() };
    let second = store.save_perio_exam(&scope, &a, p, &exam).await.unwrap();
    let list = store.perio_exams(&scope, &a, p).await.unwrap();
    assert_eq!(list.iter().map(|r| r.id).collect::<Vec<_>>(), vec![second, first]);
    let changes = list[0].exam.changes_from(&list[1].exam);
    assert_eq!(changes.len(), 1);
    let suggestion = list[0].exam.suggestion();
    assert!(suggestion.case.code().starts_with("stage-3"), "{suggestion:?}");

    store.confirm_perio_diagnosis(&scope, &a, p, second, &suggestion.case.code()).await.unwrap();
    let list = store.perio_exams(&scope, &a, p).await.unwrap();
    assert_eq!(list[0].confirmed.as_ref().map(|c| c.0.clone()), Some(suggestion.case.code()));
    assert!(store.confirm_perio_diagnosis(&scope, &a, p, second, "stage-9-everywhere").await.is_err());
    // Another organization sees nothing and confirms nothing.
    assert_eq!(code_of(store.perio_exams(&other, &a, p).await.unwrap_err()).0, ErrorCode::NotFound);
    assert_eq!(code_of(store.confirm_perio_diagnosis(&other, &a, p, second, "healthy").await.unwrap_err()).0, ErrorCode::NotFound);
    // The readings are encrypted at rest.
    let raw = store.db.fetch_all(store::db::Q::new("SELECT data_enc FROM perio_exams")).await.unwrap();
    assert!(raw.iter().all(|r| !r.string("data_enc").unwrap().contains("\"pd\"")));
});

dual_test!(async fn several_entries_at_once_follow_the_same_rules(db) {
    let store = &db.store;
    let (_, scope, p) = clinic(store, "bulk-a").await;
    let a = actor("import");
    let ok = [
        req("EXT", Some("36"), None, Some("existing")),
        req("IMPL", Some("36"), None, Some("existing")),
        req("COMP", Some("16"), Some("MOD"), Some("existing")),
    ];
    assert_eq!(store.add_chart_entries(&scope, &a, DENTIST, p, Numbering::Fdi, &ok).await.unwrap(), 3);
    let chart = store.chart(&scope, &a, p).await.unwrap();
    assert_eq!((chart.entries.len(), chart.version), (3, 3));
    // A crown on 36 after its extraction needs a reason: the whole batch is refused.
    let bad = [req("SEAL", Some("26"), Some("O"), None), req("CROWN", Some("36"), None, None)];
    let (code, _, fields) = code_of(store.add_chart_entries(&scope, &a, DENTIST, p, Numbering::Fdi, &bad).await.unwrap_err());
    assert_eq!((code, fields), (ErrorCode::Validation, vec!["tooth".to_string()]));
    assert_eq!(store.chart(&scope, &a, p).await.unwrap().entries.len(), 3, "nothing of the batch");
});

dual_test!(async fn a_signed_visit_is_read_only_and_takes_addenda(db) {
    use domain::clinical::visit::{Soap, VisitKind};
    use store::visits::NewVisit;
    let store = &db.store;
    let (_, scope, p) = clinic(store, "visit-a").await;
    let (_, other, _) = clinic(store, "visit-b").await;
    let dr = actor("dr@clinic");
    let (code, _, fields) = code_of(store.create_visit(&scope, &dr, p, &NewVisit::default()).await.unwrap_err());
    assert_eq!((code, fields), (ErrorCode::Validation, vec!["kind".to_string()]));
    let v = store
        .create_visit(&scope, &dr, p, &NewVisit { kind: Some(VisitKind::Emergency), chief_complaint: "pain upper left".into(), template: Some(("emergency".into(), "en".into())), ..Default::default() })
        .await
        .unwrap();
    assert!(v.soap.subjective.starts_with("Pain:"));
    let soap = Soap { subjective: "Throbbing since Friday".into(), objective: "26 percussion ++".into(), assessment: "Irreversible pulpitis 26".into(), plan: "Pulpectomy".into() };
    let v = store.save_visit_notes(&scope, &dr, p, v.id, "pain 26", &soap, Some(v.version)).await.unwrap();
    assert_eq!(v.soap, soap);
    // A stale save is refused.
    let (code, ..) = code_of(store.save_visit_notes(&scope, &dr, p, v.id, "pain 26", &Soap::default(), Some(1)).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    store.add_chart_entry(&scope, &dr, DENTIST, p, Numbering::Fdi, &req("PULP", Some("26"), None, None), None).await.unwrap();
    store.add_chart_entry(&scope, &dr, DENTIST, p, Numbering::Fdi, &req("RCT", Some("26"), None, None), None).await.unwrap();
    // An addendum before signing is refused: the notes are still editable.
    assert!(store.add_addendum(&scope, &dr, p, v.id, "more").await.is_err());

    let mut events = store.bus.subscribe();
    let signed = store.sign_visit(&scope, &dr, p, v.id, Some(v.version)).await.unwrap();
    assert_eq!(signed.signed.as_ref().map(|s| s.0.as_str()), Some("dr@clinic"));
    let snap = signed.snapshot.clone().unwrap();
    assert_eq!(snap.len(), 2);
    let e = loop {
        let e = events.recv().await.unwrap();
        if e.kind == "exam.completed" { break e; }
    };
    assert_eq!((e.payload["planned_procedures"].as_u64(), e.payload["urgent"].as_bool()), (Some(1), Some(true)));
    assert_eq!(e.payload["planned_fee_minor"], 90000);

    // Read-only now: notes and a second signature are refused, nothing changes.
    let (code, msg, _) = code_of(store.save_visit_notes(&scope, &dr, p, v.id, "edited", &Soap::default(), None).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(msg.contains("addendum"), "{msg}");
    assert!(store.sign_visit(&scope, &dr, p, v.id, None).await.is_err());
    // Later charting does not touch the snapshot.
    store.add_chart_entry(&scope, &dr, DENTIST, p, Numbering::Fdi, &req("CROWN", Some("26"), None, None), None).await.unwrap();
    let v2 = store.add_addendum(&scope, &dr, p, v.id, "Patient called: pain gone after pulpectomy.").await.unwrap();
    assert_eq!(v2.soap, soap);
    assert_eq!(v2.snapshot.unwrap().len(), 2);
    assert_eq!(v2.addenda.len(), 1);
    assert_eq!(v2.addenda[0].signed_by_name, "dr@clinic");
    assert_eq!(store.visits(&scope, &dr, p).await.unwrap().len(), 1);
    // Another organization sees nothing.
    assert_eq!(code_of(store.visit(&other, &dr, p, v.id).await.unwrap_err()).0, ErrorCode::NotFound);
    assert_eq!(code_of(store.add_addendum(&other, &dr, p, v.id, "x").await.unwrap_err()).0, ErrorCode::NotFound);
    // Notes are encrypted at rest.
    let raw = store.db.fetch_all(store::db::Q::new("SELECT record_enc FROM visits")).await.unwrap();
    assert!(raw.iter().all(|r| !r.string("record_enc").unwrap().contains("pulpitis")));
});
