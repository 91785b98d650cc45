#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Treatment cases over HTTP on both databases: opening one from the patient's list (a title
//! is needed), linking the chart's diagnosis and procedure and a prescription, refusing
//! another patient's item, closing (nothing changes) and reopening, the JSON API, and who may
//! see cases.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use serde_json::json;
use test_support::{TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff};

fn form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn json_req(path: &str, cookie: &str, body: serde_json::Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

dual_test!(async fn a_case_from_the_patient_with_its_diagnosis_procedure_and_prescription(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "cases").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let p = seed_patient(store, org.id, loc.id, patient_input("Noah", "Roy", "1980-01-01")).await;
    let q = seed_patient(store, org.id, loc.id, patient_input("Zoé", "Roy", "1982-01-01")).await;
    let permits = store::clinical::ChartPermits { may_complete_dentist_only: true };
    let entry = |code: &str, surfaces: Option<&str>, status: &str| domain::clinical::chart::EntryRequest {
        code: code.into(),
        tooth: Some("16".into()),
        surfaces: surfaces.map(Into::into),
        status: Some(status.into()),
        ..Default::default()
    };
    store.add_chart_entries(&scope, &actor, permits, p.id, domain::clinical::teeth::Numbering::Fdi, &[entry("FRACT", Some("MO"), "condition"), entry("CROWN", None, "planned")]).await.unwrap();
    store.add_chart_entries(&scope, &actor, permits, q.id, domain::clinical::teeth::Numbering::Fdi, &[entry("CROWN", None, "planned")]).await.unwrap();
    let entries = store.chart(&scope, &actor, p.id).await.unwrap().entries;
    let other_entry = store.chart(&scope, &actor, q.id).await.unwrap().entries[0].id;
    let dentist_user = test_support::seed_prescription(store, org.id, p.id, "Ibuprofen", "test fixture").await;
    let app = TestApp::new(db).await;
    let dentist = app.sign_in_as("cases", Role::Dentist).await;

    let page = app.get_as("/treatments", &dentist).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No cases.") && !page.body.contains("id=\"case-form\""));
    let page = app.get_as(&format!("/treatments?patient={}", p.id), &dentist).await;
    assert!(page.body.contains("id=\"case-form\"") && page.body.contains("Roy, Noah"));
    // A title is needed.
    let r = app.request(form("/treatments", &dentist, &format!("patient_id={}&title=+&notes=", p.id))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("data-field=\"title\""));
    let r = app.request(form("/treatments", &dentist, &format!("patient_id={}&title=Fractured+16%3A+crown&notes=Bit+on+a+pit", p.id))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let case_path = r.header("location").unwrap().trim_end_matches("?notice=opened").to_string();
    let page = app.get_as(&case_path, &dentist).await;
    assert!(page.body.contains("TC-000001 · Fractured 16: crown"));
    assert!(page.body.contains("FRACT") && page.body.contains("RX-000001"), "offered to link");

    // Link the diagnosis, the procedure and the prescription.
    for (kind, item) in [("chart_entry", entries[0].id.to_string()), ("chart_entry", entries[1].id.to_string()), ("prescription", dentist_user.to_string())] {
        let r = app.request(form(&case_path, &dentist, &format!("action=link&kind={kind}&item={item}"))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{kind}: {}", r.body);
    }
    let page = app.get_as(&case_path, &dentist).await;
    let section = |id: &str| page.body.split(&format!("id=\"{id}\"")).nth(1).unwrap().split("</section>").next().unwrap().to_string();
    assert!(section("diagnoses").contains("FRACT"));
    assert!(section("procedures").contains("CROWN") && !section("procedures").contains("FRACT"));
    assert!(section("case-prescriptions").contains("RX-000001"));
    // Another patient's entry: refused, said so.
    let r = app.request(form(&case_path, &dentist, &format!("action=link&kind=chart_entry&item={other_entry}"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"item-error\""));
    // Closed: no more forms, and a change sent anyway is a conflict; reopened, it goes on.
    let r = app.request(form(&case_path, &dentist, "action=close")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get_as(&case_path, &dentist).await;
    assert!(page.body.contains("id=\"case-reopen\"") && !page.body.contains("id=\"link-entry\""));
    let r = app.request(form(&case_path, &dentist, &format!("action=unlink&kind=chart_entry&item={}", entries[0].id))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("reopen it"));
    let r = app.request(form(&case_path, &dentist, "action=reopen")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // The API.
    let list = app.get_as(&format!("/api/v1/treatments?patient={}", p.id), &dentist).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["counts"]["chart_entries"], 2);
    let id = case_path.trim_start_matches("/treatments/");
    let one = app.get_as(&format!("/api/v1/treatments/{id}"), &dentist).await.json();
    assert_eq!(one["diagnoses"][0]["code"], "FRACT");
    assert_eq!(one["procedures"][0]["code"], "CROWN");
    assert_eq!(one["prescriptions"].as_array().unwrap().len(), 1);
    let r = app.request(json_req(&format!("/api/v1/patients/{}/treatments", p.id), &dentist, json!({"title": ""}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "title");
    let r = app.request(json_req(&format!("/api/v1/patients/{}/treatments", p.id), &dentist, json!({"title": "Periodontal therapy"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["reference"], "TC-000002");

    // The page table: receptionists do not see cases.
    let receptionist = app.sign_in_as("cases", Role::Receptionist).await;
    assert_eq!(app.get_as("/treatments", &receptionist).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_as(&case_path, &receptionist).await.status, StatusCode::FORBIDDEN);
});
