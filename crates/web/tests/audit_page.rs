#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! `/audit` on both databases: filters by user, action, patient and date, the per-patient
//! access report, the CSV export (itself audited) and the chain check; nothing of another
//! organization.

use axum::http::StatusCode;
use domain::identity::Role;
use domain::{PatientId, Scope};
use store::audit::AuditEntry;
use test_support::{TestApp, dual_test, seed_org, seed_staff};

dual_test!(async fn admins_filter_export_and_verify_the_audit_trail(db) {
    let (north, _) = seed_org(&db.store, "north").await;
    let (south, _) = seed_org(&db.store, "south").await;
    seed_staff(&db.store, &north).await;
    seed_staff(&db.store, &south).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("north", Role::Admin).await;
    app.sign_in_as("north", Role::Dentist).await;
    app.sign_in_as("south", Role::Admin).await;
    // Reads of a patient's record by two people (the patients context will write these).
    let patient = PatientId::from_uuid(app.db.store.new_uuid());
    let dentist = app.db.store.user_by_email("dentist@north.test").await.unwrap().unwrap();
    let hyg = app.db.store.user_by_email("hygienist@north.test").await.unwrap().unwrap();
    for (who, action) in [(&dentist, "patient.chart_viewed"), (&dentist, "patient.chart_viewed"), (&hyg, "patient.perio_viewed")] {
        let mut tx = app.db.store.begin().await.unwrap();
        let mut e = AuditEntry::system(action, &format!("patient:{patient}"), serde_json::json!({ "part": "chart" }));
        e.actor_id = Some(who.id);
        e.actor = who.email.clone();
        e.patient_id = Some(patient);
        tx.audit(&app.db.store, north.id, e).await.unwrap();
        tx.commit().await.unwrap();
    }

    let all = app.get_as("/audit", &admin).await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.contains("session.signed_in") && all.body.contains("dentist@north.test"));
    assert!(!all.body.contains("south.test"), "nothing of another organization");

    let by_user = app.get_as(&format!("/audit?user={}", dentist.id), &admin).await;
    assert!(by_user.body.contains("patient.chart_viewed") && !by_user.body.contains("patient.perio_viewed"));
    let by_action = app.get_as("/audit?action=session.", &admin).await;
    assert!(by_action.body.contains("session.signed_in") && !by_action.body.contains("patient.chart_viewed"));

    // The access report for the patient: who, first and last time, how often, what.
    let report = app.get_as(&format!("/audit?patient={patient}"), &admin).await;
    assert!(report.body.contains("Who opened this patient"), "{}", report.body);
    let table = &report.body[report.body.find("id=\"access-report\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(table.contains("dentist@north.test") && table.contains("hygienist@north.test"));
    assert!(table.contains("<td class=\"num\">2</td>"), "the dentist opened it twice: {table}");

    // Dates are days in the practice's time zone; a bad one is explained.
    let future = app.get_as("/audit?from=2099-01-01", &admin).await;
    assert!(future.body.contains("No event matches"));
    let bad = app.get_as("/audit?from=yesterday", &admin).await;
    assert!(bad.body.contains("use a date such as"));

    let csv = app.get_as(&format!("/audit.csv?patient={patient}"), &admin).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").unwrap().starts_with("attachment"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "seq,at_utc,actor,action,subject,patient_id,ip,details,hash");
    assert_eq!(lines.len(), 4, "three events of the patient: {}", csv.body);
    let exported = app.get_as("/audit?action=audit.exported", &admin).await;
    assert!(exported.body.contains("audit.exported"), "the export is itself audited");

    let verified = app.get_as("/audit?verify=1", &admin).await;
    assert!(verified.body.contains("The chain is intact"), "{}", verified.body);

    // Only administrators (audit.view).
    let dentist_cookie = app.sign_in_as("north", Role::Dentist).await;
    assert_eq!(app.get_as("/audit", &dentist_cookie).await.status, StatusCode::FORBIDDEN);
    let _ = Scope::system(south.id);
});
