#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Treatment cases in the store, on both databases: numbering, items of the same patient
//! linked and unlinked (diagnoses apart from procedures), another patient's items refused,
//! closing and reopening, a stale save refused, and tenancy.

use domain::clinical::case::{CaseText, ItemKind};
use domain::clinical::chart::EntryRequest;
use domain::clinical::teeth::Numbering;
use domain::identity::Role;
use domain::{ErrorCode, Scope};
use store::clinical::ChartPermits;
use store::patients::Actor;
use store::tenancy::WriteError;
use test_support::{dual_test, patient_input, seed_org, seed_patient, seed_provider};

fn code_of(e: WriteError) -> (ErrorCode, Vec<String>) {
    match e {
        WriteError::Invalid(d) => (d.code, d.fields.into_iter().map(|f| f.field).collect()),
        other => panic!("expected a domain error, got {other}"),
    }
}

fn text(title: &str) -> CaseText {
    CaseText {
        title: title.into(),
        notes: "Patient bit on a pit.".into(),
    }
}

dual_test!(async fn a_case_groups_a_patients_diagnoses_procedures_and_prescriptions(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "case-a").await;
    let (other_org, other_loc) = seed_org(store, "case-b").await;
    let scope = Scope::system(org.id);
    let other = Scope::system(other_org.id);
    let actor = Actor::system("test");
    let p = seed_patient(store, org.id, loc.id, patient_input("Noah", "Roy", "1980-01-01")).await;
    let q = seed_patient(store, org.id, loc.id, patient_input("Zoé", "Roy", "1982-01-01")).await;
    let x = seed_patient(store, other_org.id, other_loc.id, patient_input("Ali", "Ben", "1990-01-01")).await;
    let dentist = seed_provider(store, org.id, "Dr Case", Role::Dentist, "#123456").await;
    let permits = ChartPermits { may_complete_dentist_only: true };
    let entry = |code: &str, tooth: &str, status: &str| EntryRequest {
        code: code.into(),
        tooth: Some(tooth.into()),
        status: Some(status.into()),
        ..Default::default()
    };
    store
        .add_chart_entries(&scope, &actor, permits, p.id, Numbering::Fdi, &[EntryRequest { surfaces: Some("MO".into()), ..entry("FRACT", "16", "condition") }, entry("CROWN", "16", "planned")])
        .await
        .unwrap();
    store.add_chart_entries(&scope, &actor, permits, q.id, Numbering::Fdi, &[entry("CROWN", "26", "planned")]).await.unwrap();
    let chart = store.chart(&scope, &actor, p.id).await.unwrap();
    let q_chart = store.chart(&scope, &actor, q.id).await.unwrap();
    let (fracture, crown) = (chart.entries[0].id.as_uuid(), chart.entries[1].id.as_uuid());

    // A title is needed; numbers follow each other per organization.
    let (code, f) = code_of(store.open_case(&scope, &actor, p.id, &text(" "), None).await.unwrap_err());
    assert_eq!((code, f), (ErrorCode::Validation, vec!["title".to_string()]));
    let c = store.open_case(&scope, &actor, p.id, &text("Fractured 16: crown"), Some(dentist)).await.unwrap();
    assert_eq!((c.reference(), c.open, c.counts), ("TC-000001".to_string(), true, [0, 0, 0]));
    let c2 = store.open_case(&scope, &actor, q.id, &text("Crown 26"), None).await.unwrap();
    assert_eq!(c2.number, 2);
    // The raw row keeps the title encrypted.
    let raw = store.db.fetch_one(store::Q::new("SELECT record_enc FROM treatment_cases WHERE id = $1").bind(c.id)).await.unwrap();
    assert!(!raw.string("record_enc").unwrap().contains("Fractured"));

    // Linking the patient's own items; a diagnosis is told from a procedure.
    store.link_case_item(&scope, &actor, c.id, ItemKind::ChartEntry, fracture, true).await.unwrap();
    let c = store.link_case_item(&scope, &actor, c.id, ItemKind::ChartEntry, crown, true).await.unwrap();
    assert_eq!(c.counts, [2, 0, 0]);
    // Twice is once.
    let c = store.link_case_item(&scope, &actor, c.id, ItemKind::ChartEntry, crown, true).await.unwrap();
    assert_eq!(c.counts, [2, 0, 0]);
    // Another patient's entry, an unknown id: refused, nothing linked.
    let (code, f) = code_of(store.link_case_item(&scope, &actor, c.id, ItemKind::ChartEntry, q_chart.entries[0].id.as_uuid(), true).await.unwrap_err());
    assert_eq!((code, f), (ErrorCode::Validation, vec!["item".to_string()]));
    let d = store.case_detail(&scope, &actor, c.id).await.unwrap();
    assert_eq!(d.diagnoses.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), ["FRACT"]);
    assert_eq!(d.procedures.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), ["CROWN"]);
    assert!(d.unlinked_entries.is_empty());
    assert_eq!(d.case.text.title, "Fractured 16: crown");
    assert_eq!(d.patient.given_name, "Noah");

    // A stale save is refused; a fresh one goes in.
    let (code, _) = code_of(store.save_case_text(&scope, &actor, c.id, &text("Old view"), Some(c.version - 1)).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    let c = store.save_case_text(&scope, &actor, c.id, &CaseText { title: "Fractured 16: crown, temporary first".into(), notes: String::new() }, Some(c.version)).await.unwrap();
    assert_eq!(c.text.title, "Fractured 16: crown, temporary first");

    // Closed: nothing changes until reopened; unlinking works once reopened.
    let c = store.set_case_open(&scope, &actor, c.id, false).await.unwrap();
    assert!(!c.open && c.closed.is_some());
    let (code, _) = code_of(store.link_case_item(&scope, &actor, c.id, ItemKind::ChartEntry, crown, false).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    let (code, _) = code_of(store.set_case_open(&scope, &actor, c.id, false).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    store.set_case_open(&scope, &actor, c.id, true).await.unwrap();
    let c = store.link_case_item(&scope, &actor, c.id, ItemKind::ChartEntry, crown, false).await.unwrap();
    assert_eq!(c.counts, [1, 0, 0]);
    let (_, f) = code_of(store.link_case_item(&scope, &actor, c.id, ItemKind::ChartEntry, crown, false).await.unwrap_err());
    assert_eq!(f, ["item"]);

    // Lists: the organization's, one patient's; the other organization sees none of it.
    assert_eq!(store.cases(&scope, &actor, None, 50).await.unwrap().len(), 2);
    let mine = store.cases(&scope, &actor, Some(p.id), 50).await.unwrap();
    assert_eq!(mine.iter().map(|l| l.case.number).collect::<Vec<_>>(), [1]);
    assert!(store.cases(&other, &actor, None, 50).await.unwrap().is_empty());
    let (code, _) = code_of(store.case_detail(&other, &actor, c.id).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    let (code, _) = code_of(store.open_case(&other, &actor, p.id, &text("Theirs"), None).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    let _ = x;
});
