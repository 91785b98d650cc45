#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! `/doctors` on both databases: an administrator adds, edits, deactivates and reactivates a
//! provider; bad input is refused field by field with nothing lost; every change is audited.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use test_support::{TestApp, dual_test, seed_org, seed_staff};

fn form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

dual_test!(async fn an_admin_manages_providers(db) {
    let (org, _) = seed_org(&db.store, "docs").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("docs", Role::Admin).await;
    let empty = app.get_as("/doctors", &admin).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("No provider yet"));
    assert_eq!(app.get_as("/doctors/new", &admin).await.status, StatusCode::OK);

    // Everything wrong at once: every field named, the input kept.
    let bad = app.request(form("/doctors", &admin, "name=Dr.+Okafor&email=okafor%40docs.test&phone=&npi=1234567890&specialty=astrology&color=teal&licence_number=VT-0421")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for msg in ["Roles: a provider is a dentist or a hygienist", "check digit", "choose a specialty", "must be a colour"] {
        assert!(bad.body.contains(msg), "{msg}: {}", bad.body);
    }
    assert!(bad.body.contains("value=\"Dr. Okafor\"") && bad.body.contains("value=\"VT-0421\""), "nothing typed is lost");
    let bad_phone = app.request(form("/doctors", &admin, "name=Dr.+Okafor&email=okafor%40docs.test&phone=call+me&role=dentist&specialty=endodontics&color=%23aa3300")).await;
    assert_eq!(bad_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_phone.body.contains("Mobile number:"), "{}", bad_phone.body);

    let ok = app.request(form("/doctors", &admin, "name=Dr.+Ngozi+Okafor&email=okafor%40docs.test&phone=%28802%29+555-0155&role=dentist&specialty=endodontics&color=%23AA3300&licence_number=VT-0421&npi=1234567893")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let list = app.get_as("/doctors", &admin).await;
    assert!(list.body.contains("Dr. Ngozi Okafor") && list.body.contains("Endodontics") && list.body.contains("1234567893") && list.body.contains("fill=\"#aa3300\""), "{}", list.body);
    let dup = app.request(form("/doctors", &admin, "name=Someone&email=okafor%40docs.test&role=hygienist&specialty=dental_hygiene&color=%23000000")).await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body.contains("already used"));
    let dup_phone = app.request(form("/doctors", &admin, "name=Someone&email=someone%40docs.test&phone=%2B18025550155&role=hygienist&specialty=dental_hygiene&color=%23000000")).await;
    assert!(dup_phone.body.contains("Mobile number: is already used"), "{}", dup_phone.body);

    let okafor = app.db.store.user_by_email("okafor@docs.test").await.unwrap().unwrap();
    assert_eq!(okafor.phone.as_deref(), Some("+18025550155"));
    let edit = app.get_as(&format!("/doctors/{}", okafor.id), &admin).await;
    assert!(edit.body.contains("value=\"endodontics\" selected"));
    let r = app.request(form(&format!("/doctors/{}", okafor.id), &admin, "name=Dr.+Ngozi+Okafor&phone=%2B18025550155&role=dentist&role=admin&specialty=periodontics&color=%23aa3300&licence_number=VT-0421&npi=1234567893")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = app.db.store.provider(&okafor.scope(), okafor.id).await.unwrap().unwrap();
    assert_eq!(p.profile.specialty, "periodontics");
    assert_eq!(p.user.roles, vec![Role::Admin, Role::Dentist]);

    // The audit names the fields and the roles, and who did it.
    let events = app.db.store.audit_events(org.id, 0, 1000).await.unwrap();
    let upd = events.iter().rev().find(|e| e.action == "provider.updated").unwrap();
    let detail: serde_json::Value = serde_json::from_str(&upd.details).unwrap();
    assert_eq!(detail["fields"], serde_json::json!(["specialty"]));
    assert_eq!(detail["roles_after"], serde_json::json!(["admin", "dentist"]));
    assert_eq!(upd.actor, "admin@docs.test");

    // Deactivated: their sessions end and sign-in is refused; reactivated: back.
    let theirs = app.sign_in_as("docs", Role::Dentist).await;
    let dentist = app.db.store.user_by_email("dentist@docs.test").await.unwrap().unwrap();
    assert_eq!(app.request(form(&format!("/doctors/{}/deactivate", dentist.id), &admin, "")).await.status, StatusCode::NOT_FOUND, "not a provider");
    app.request(form(&format!("/doctors/{}/deactivate", okafor.id), &admin, "")).await;
    assert!(app.get_as("/doctors", &admin).await.body.contains("Inactive"));
    assert!(!app.db.store.user_by_email("okafor@docs.test").await.unwrap().unwrap().active);
    let r = app.request(form(&format!("/doctors/{}/activate", okafor.id), &admin, "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(app.db.store.user_by_email("okafor@docs.test").await.unwrap().unwrap().active);
    assert_eq!(app.get_as("/dashboard", &theirs).await.status, StatusCode::OK, "other users untouched");
    assert!(events.iter().any(|e| e.action == "provider.created"));
});
