#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Prescriptions over HTTP on both databases: the patient's page (a medicine's defaults, the
//! allergy warning, a refused form keeping what was typed, the override), the prescription
//! page and its PDF, cancelling, the organization's page and its catalog, the JSON API
//! (defaults, 422 with warnings, 201), and who may do what.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use serde_json::json;
use test_support::{
    TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff, staff_email,
};

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

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An organization whose dentist is a provider with a licence number, and a patient allergic
/// to penicillin.
async fn setup(slug: &str, db: test_support::TestDb) -> (TestApp, String) {
    let store = &db.store;
    let (org, loc) = seed_org(store, slug).await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let dentist = store
        .user_by_email(&staff_email(slug, Role::Dentist))
        .await
        .unwrap()
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.add_provider_profile(
        store,
        &scope,
        dentist.id,
        &domain::identity::provider::ProviderProfile {
            licence_number: "QC-12345".into(),
            npi: String::new(),
            specialty: "general_dentistry".into(),
            color: "#0d9488".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let p = seed_patient(
        store,
        org.id,
        loc.id,
        patient_input("Léa", "Gagnon", "1987-02-14"),
    )
    .await;
    store
        .save_medical_history(
            &scope,
            &store::patients::Actor::system("test"),
            p.id,
            &domain::patients::history::MedicalHistory {
                allergies: vec![domain::patients::history::Allergy {
                    substance: "Penicillin".into(),
                    reaction: "hives".into(),
                    severity: "severe".into(),
                }],
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    (TestApp::new(db).await, p.id.to_string())
}

async fn medicine_id(app: &TestApp, cookie: &str, name: &str) -> String {
    let r = app.get_as("/api/v1/medicines", cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

dual_test!(async fn prescribing_from_the_patient_page_with_an_override(db) {
    let (app, id) = setup("rx-web", db).await;
    let dentist = app.sign_in_as("rx-web", Role::Dentist).await;
    let amox = medicine_id(&app, &dentist, "Amoxicillin").await;

    let page = app.get_as(&format!("/patients/{id}/prescriptions"), &dentist).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"rx-choose\""));
    assert!(!page.body.contains("id=\"rx-form\""), "no order before a medicine is chosen");
    assert!(page.body.contains("No prescriptions yet."));

    // Choosing amoxicillin fills its defaults and shows the allergy at once.
    let page = app.get_as(&format!("/patients/{id}/prescriptions?medicine={amox}"), &dentist).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"rx-warnings\""), "{}", page.body);
    assert!(page.body.contains("allergic to Penicillin and Amoxicillin 500 mg capsule is a penicillin"), "{}", page.body);
    assert!(page.body.contains("value=\"1 capsule\"") && page.body.contains("value=\"21\""));
    assert!(page.body.contains("id=\"override_reason\""));

    // Without a reason: 422, what was typed kept, nothing written.
    let body = format!("medicine_id={amox}&visit_id=&dose={}&route=oral&frequency={}&duration_days=10&quantity=30&refills=0&instructions=", enc("1 capsule"), enc("every 8 hours"));
    let r = app.request(form(&format!("/patients/{id}/prescriptions"), &dentist, &body)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"override-error\""));
    assert!(r.body.contains("value=\"30\"") && r.body.contains("value=\"10\""), "typed values kept");
    assert!(r.body.contains("No prescriptions yet."));

    // With a reason: written; the page shows it, the warning and the reason.
    let reason = "Rash in childhood only; amoxicillin tolerated in 2024";
    let r = app.request(form(&format!("/patients/{id}/prescriptions"), &dentist, &format!("{body}&override_reason={}", enc(reason)))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.header("location").unwrap().to_string();
    assert!(to.ends_with("?notice=written"), "{to}");
    let page = app.get_as(&to, &dentist).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("RX-000001 · Amoxicillin 500 mg capsule"));
    assert!(page.body.contains("30 (thirty)"));
    assert!(page.body.contains(reason));
    assert!(page.body.contains("QC-12345"));

    // The PDF.
    let rx_path = to.trim_end_matches("?notice=written").to_string();
    let pdf = app.get_as(&format!("{rx_path}/pdf"), &dentist).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert_eq!(pdf.header("content-disposition"), Some("inline; filename=\"RX-000001.pdf\""));
    assert!(pdf.body.starts_with("%PDF-1.4"));
    assert!(pdf.body.contains("(RX-000001)") && pdf.body.contains("(Licence QC-12345)"));
    assert!(pdf.body.contains("(30 \\(thirty\\))"), "quantity in words");

    // Cancelling: a reason is needed; then it shows cancelled, and so does its PDF.
    let r = app.request(form(&format!("{rx_path}/cancel"), &dentist, "reason=")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.request(form(&format!("{rx_path}/cancel"), &dentist, "reason=Wrong+patient+chart")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get_as(&format!("{rx_path}?notice=cancelled"), &dentist).await;
    assert!(page.body.contains("id=\"rx-cancelled\"") && page.body.contains("Wrong patient chart"));
    assert!(!page.body.contains("id=\"rx-cancel-form\""));
    let r = app.request(form(&format!("{rx_path}/cancel"), &dentist, "reason=again")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let pdf = app.get_as(&format!("{rx_path}/pdf"), &dentist).await;
    assert!(pdf.body.contains("CANCELLED"));

    // The organization's page lists it.
    let org = app.get_as("/prescriptions", &dentist).await;
    assert_eq!(org.status, StatusCode::OK);
    assert!(org.body.contains("RX-000001") && org.body.contains("Gagnon"));
    assert!(org.body.contains("id=\"medicines\""));
});

dual_test!(async fn the_prescriptions_api_and_who_may_prescribe(db) {
    let (app, id) = setup("rx-api", db).await;
    let dentist = app.sign_in_as("rx-api", Role::Dentist).await;
    let admin = app.sign_in_as("rx-api", Role::Admin).await;
    let receptionist = app.sign_in_as("rx-api", Role::Receptionist).await;
    let hygienist = app.sign_in_as("rx-api", Role::Hygienist).await;
    let amox = medicine_id(&app, &dentist, "Amoxicillin").await;
    let clinda = medicine_id(&app, &dentist, "Clindamycin").await;
    let path = format!("/api/v1/patients/{id}/prescriptions");

    // Warnings need a reason: 422 with the warnings.
    let r = app.request(json_req(&path, &dentist, json!({"medicine_id": amox}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let body = r.json();
    assert_eq!(body["errors"][0]["field"], "override_reason");
    assert_eq!(body["warnings"][0]["code"], "allergy:penicillin");
    assert_eq!(body["warnings"][0]["severity"], "major");
    // Bad parts named.
    let r = app.request(json_req(&path, &dentist, json!({"medicine_id": clinda, "refills": 12, "quantity": 0}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["quantity", "refills"]);
    // Defaults from the catalog, the rest as sent.
    let r = app.request(json_req(&path, &dentist, json!({"medicine_id": clinda, "duration_days": 5, "quantity": 15}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let p = r.json();
    assert_eq!((p["reference"].as_str(), p["dose"].as_str(), p["quantity"].as_u64(), p["status"].as_str()), (Some("RX-000001"), Some("1 capsule"), Some(15), Some("active")));
    assert_eq!(p["prescriber"]["licence_number"], "QC-12345");
    let r = app.request(json_req(&path, &dentist, json!({"medicine_id": amox, "override_reason": "Tested negative for penicillin allergy"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["warnings"][0]["code"], "allergy:penicillin");
    let list = app.get_as(&path, &dentist).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let one = app.get_as(&format!("{path}/{}", p["id"].as_str().unwrap()), &dentist).await;
    assert_eq!(one.json()["reference"], "RX-000001");
    let pdf = app.get_as(&format!("{path}/{}/pdf", p["id"].as_str().unwrap()), &dentist).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));

    // An administrator without a provider profile cannot sign a prescription.
    let r = app.request(json_req(&path, &admin, json!({"medicine_id": clinda}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "prescriber");
    let page = app.request(form(&format!("/patients/{id}/prescriptions"), &admin, &format!("medicine_id={clinda}&dose=1&route=oral&frequency=daily&duration_days=1&quantity=1&refills=0"))).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"prescriber-error\"") && page.body.contains("only a provider can prescribe"), "{}", page.body);
    // The page table: receptionists do not see prescriptions; hygienists cannot write them.
    assert_eq!(app.get_as(&format!("/patients/{id}/prescriptions"), &receptionist).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_as("/prescriptions", &receptionist).await.status, StatusCode::FORBIDDEN);
    let r = app.request(json_req(&path, &hygienist, json!({"medicine_id": clinda}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
});

dual_test!(async fn the_medicine_catalog_page(db) {
    let (app, _) = setup("rx-cat", db).await;
    let dentist = app.sign_in_as("rx-cat", Role::Dentist).await;
    let page = app.get_as("/prescriptions", &dentist).await;
    assert!(page.body.contains("Amoxicillin 500 mg capsule"));
    assert!(page.body.contains("No prescriptions written yet."));
    let r = app.request(form("/prescriptions/medicines", &dentist, "id=&name=Ketorolac&strength=10+mg&form=tablet&route=oral&dose=1+tablet&frequency=every+6+hours&duration_days=3&quantity=12&directions=&active=on")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get_as("/prescriptions", &dentist).await;
    assert!(page.body.contains("Ketorolac 10 mg tablet"));
    let row = page.body.split("Ketorolac 10 mg tablet").nth(1).unwrap();
    assert!(row[..row.find("</tr>").unwrap()].contains("NSAID"), "class recognised");
    // Bad input: named, and what was typed kept.
    let r = app.request(form("/prescriptions/medicines", &dentist, "id=&name=&strength=5+mg&route=nasal&duration_days=3&quantity=1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("data-field=\"name\"") && r.body.contains("data-field=\"route\""));
    assert!(r.body.contains("value=\"5 mg\""));
    // Editing one; another organization's id is not found.
    let id = medicine_id(&app, &dentist, "Ketorolac").await;
    let edit = app.get_as(&format!("/prescriptions?edit={id}"), &dentist).await;
    assert!(edit.body.contains("value=\"Ketorolac\""));
    let r = app.request(form("/prescriptions/medicines", &dentist, &format!("id={id}&name=Ketorolac&strength=10+mg&form=tablet&route=oral&dose=1+tablet&frequency=every+6+hours&duration_days=3&quantity=12"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let items = app.get_as("/api/v1/medicines", &dentist).await.json();
    let k = items["items"].as_array().unwrap().iter().find(|m| m["name"] == "Ketorolac").unwrap().clone();
    assert_eq!(k["active"], false, "unchecked: withdrawn");
    assert_eq!(app.get_as(&format!("/prescriptions?edit={}", uuid::Uuid::nil()), &dentist).await.status, StatusCode::NOT_FOUND);
});
