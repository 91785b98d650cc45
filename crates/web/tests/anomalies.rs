#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Per-organization session lifetimes and anomaly alerts, on both databases.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use domain::{OrgId, PatientId};
use jiff::SignedDuration;
use messaging::DevMailer;
use store::audit::AuditEntry;
use store::jobs::{JobRunner, RunnerSettings};
use test_support::{TestApp, dual_test, seed_org, seed_staff};

fn form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn open_patient(app: &TestApp, org: OrgId, email: &str, patient: PatientId) {
    let user = app.db.store.user_by_email(email).await.unwrap().unwrap();
    let mut tx = app.db.store.begin().await.unwrap();
    let mut e = AuditEntry::system(
        "patient.chart_viewed",
        &format!("patient:{patient}"),
        serde_json::json!({}),
    );
    e.actor_id = Some(user.id);
    e.actor = user.email.clone();
    e.patient_id = Some(patient);
    tx.audit(&app.db.store, org, e).await.unwrap();
    tx.commit().await.unwrap();
}

dual_test!(fixed_clock async fn unusual_access_raises_one_alert_per_user_and_hour(db, clock) {
    let (org, _) = seed_org(&db.store, "watch").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("watch", Role::Admin).await;
    let bad = app.request(form("/settings/security/sessions", &admin, "session_idle_minutes=1&session_absolute_hours=12&anomaly_patients_per_hour=abc")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("whole number"), "{}", bad.body);
    let r = app.request(form("/settings/security/sessions", &admin, "session_idle_minutes=30&session_absolute_hours=12&anomaly_patients_per_hour=5&anomaly_off_hours=1")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Monday 9:00 in the clinic: the dentist opens 6 patients within minutes (more than 5).
    for _ in 0..6 {
        open_patient(&app, org.id, "dentist@watch.test", PatientId::from_uuid(app.db.store.new_uuid())).await;
        clock.advance(SignedDuration::from_mins(2));
    }
    // The receptionist opens the same patient 10 times: one patient, no alert.
    let one = PatientId::from_uuid(app.db.store.new_uuid());
    for _ in 0..10 {
        open_patient(&app, org.id, "receptionist@watch.test", one).await;
    }
    let mail = Arc::new(DevMailer::new(10));
    let runner = JobRunner::new(app.db.store.clone(), RunnerSettings::default()).handle(
        web::audit_page::ANOMALY_SCAN,
        web::audit_page::AnomalyScan { mail: mail.clone(), public_url: "https://dental.example".into() },
    );
    app.db.store.enqueue(store::jobs::NewJob::new(web::audit_page::ANOMALY_SCAN, serde_json::json!({}))).await.unwrap();
    runner.tick().await.unwrap();
    let alerts = app.db.store.security_alerts(&domain::Scope::system(org.id), true).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!((alerts[0].kind.as_str(), alerts[0].actor.as_str()), ("patients_per_hour", "dentist@watch.test"));
    assert_eq!(alerts[0].detail["patients"], 6);
    let email = mail.last_to("admin@watch.test").expect("the administrator is emailed");
    assert!(email.text.contains("dentist@watch.test") && email.text.contains("https://dental.example/audit"));

    // Scanning again raises nothing new; the next run is scheduled.
    assert!(app.db.store.scan_anomalies(org.id).await.unwrap().is_empty());
    let pending = app.db.store.db.fetch_one(store::db::Q::new("SELECT COUNT(*) AS n FROM jobs WHERE kind = $1 AND status = 'pending'").bind(web::audit_page::ANOMALY_SCAN)).await.unwrap().i64("n").unwrap();
    assert_eq!(pending, 1);

    // 20:00 on Monday: closed. A hygienist opens a record.
    clock.advance(SignedDuration::from_hours(11));
    open_patient(&app, org.id, "hygienist@watch.test", one).await;
    let new = app.db.store.scan_anomalies(org.id).await.unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!((new[0].kind.as_str(), new[0].actor.as_str()), ("off_hours", "hygienist@watch.test"));

    // Administrators see and acknowledge them on /audit.
    let admin = app.sign_in_as("watch", Role::Admin).await;
    let page = app.get_as("/audit", &admin).await;
    assert!(page.body.contains("opened many patients") && page.body.contains("outside opening hours"), "{}", page.body);
    let r = app.request(form(&format!("/audit/alerts/{}/ack", new[0].id), &admin, "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!app.get_as("/audit", &admin).await.body.contains("outside opening hours"));
    assert_eq!(app.request(form(&format!("/audit/alerts/{}/ack", new[0].id), &admin, "")).await.status, StatusCode::NOT_FOUND);
});

dual_test!(fixed_clock async fn session_lifetimes_are_the_organizations(db, clock) {
    let (org, _) = seed_org(&db.store, "life").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("life", Role::Admin).await;
    let r = app.request(form("/settings/security/sessions", &admin, "session_idle_minutes=15&session_absolute_hours=1&anomaly_patients_per_hour=50")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get_as("/settings/security", &admin).await;
    assert!(page.body.contains("value=\"15\"") && page.body.contains("value=\"1\""));
    assert!(!page.body.contains("name=\"anomaly_off_hours\" value=\"1\" checked"), "unchecked is saved as off");

    let dentist = app.sign_in_as("life", Role::Dentist).await;
    clock.advance(SignedDuration::from_mins(16));
    assert_eq!(app.get_as("/dashboard", &dentist).await.status, StatusCode::SEE_OTHER, "idle 16 minutes > 15");

    let dentist = app.sign_in_as("life", Role::Dentist).await;
    for _ in 0..5 {
        clock.advance(SignedDuration::from_mins(10));
        assert_eq!(app.get_as("/dashboard", &dentist).await.status, StatusCode::OK);
    }
    clock.advance(SignedDuration::from_mins(11));
    assert_eq!(app.get_as("/dashboard", &dentist).await.status, StatusCode::SEE_OTHER, "an hour at most, however active");
    let bad = app.request(form("/settings/security/sessions", &app.sign_in_as("life", Role::Admin).await, "session_idle_minutes=600&session_absolute_hours=1&anomaly_patients_per_hour=50")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("between 5 and 480"));
});

dual_test!(fixed_clock async fn registrations_by_the_demo_or_an_import_raise_no_alert(db, clock) {
    let _ = clock;
    let (org, loc) = seed_org(&db.store, "bulk").await;
    // Sixty patients registered by the system (as the demo and imports do): no person opened them.
    for i in 0..60 {
        test_support::seed_patient(&db.store, org.id, loc.id, test_support::patient_input("Ann", &format!("Bulk{i}"), "1990-01-01")).await;
    }
    assert!(db.store.scan_anomalies(org.id).await.unwrap().is_empty());
});
