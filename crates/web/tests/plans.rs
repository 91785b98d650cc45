#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Treatment plans over HTTP on both databases: the API's plan with its analysis and routing,
//! a missing tooth refused by field; the visit series proposed then booked (a bad wish
//! refused); a template applied in one click; the rules page refusing a cycle with its rules
//! named and keeping the rules; who may see plans.

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

dual_test!(async fn plans_over_http_from_the_api_to_a_booked_series(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "tph").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let dentist_user = store.user_by_email(&staff_email("tph", Role::Dentist)).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.add_provider_profile(store, &scope, dentist_user.id, &domain::identity::provider::ProviderProfile {
        licence_number: "L-1".into(), npi: String::new(), specialty: "general_dentistry".into(), color: "#0d9488".into(),
    }).await.unwrap();
    tx.commit().await.unwrap();
    store.create_operatory(&scope, &actor, loc.id, &domain::scheduling::OperatoryInput { name: "Op 1".into(), short_name: String::new() }).await.unwrap();
    let p = seed_patient(store, org.id, loc.id, patient_input("Noah", "Roy", "1980-01-01")).await;
    store.add_chart_entry(&scope, &actor, store::clinical::ChartPermits { may_complete_dentist_only: true }, p.id, domain::clinical::teeth::Numbering::Fdi,
        &domain::clinical::chart::EntryRequest { code: "EXT".into(), tooth: Some("46".into()), status: Some("completed".into()), ..Default::default() }, None).await.unwrap();
    let app = TestApp::new(db).await;
    let store = &app.db.store;
    let dentist = app.sign_in_as("tph", Role::Dentist).await;
    let desk = app.sign_in_as("tph", Role::Receptionist).await;
    let admin = app.sign_in_as("tph", Role::Admin).await;
    let assistant = app.sign_in_as("tph", Role::Assistant).await;

    // A procedure on the missing 46: refused by field, nothing stored.
    let r = app.request(json_req(&format!("/api/v1/patients/{}/treatment-plans", p.id), &dentist, json!({"procedures": [{"code": "CROWN", "tooth": "46"}, {"code": "SRP", "area": "UR"}]}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("procedures[0].tooth") && r.body.contains("missing"), "{}", r.body);
    // The plan, its analysis and the routing it would get.
    let r = app.request(json_req(&format!("/api/v1/patients/{}/treatment-plans", p.id), &dentist, json!({
        "name": "Upper right",
        "procedures": [{"code": "SRP", "area": "UR"}, {"code": "COMP", "tooth": "16", "surfaces": "MO", "priority": "soon"}]
    }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let plan = r.json();
    assert_eq!(plan["total_value"], 22000 + 16000);
    assert_eq!(plan["urgency"], "soon");
    assert_eq!(plan["complexity_score"], 2 + 2 + 1);
    assert_eq!(plan["routing"]["route"], "checkout");
    let id = plan["id"].as_str().unwrap().to_string();
    // The front desk asks for the series: scaling first, the filling two weeks later.
    let r = app.request(json_req(&format!("/api/v1/treatment-plans/{id}/visit-series"), &desk, json!({"days": ["tue", "thu"]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let series = r.json();
    let visits = series["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 2);
    assert_eq!(visits[0]["procedures"][0]["code"], "SRP");
    assert_eq!(visits[1]["procedures"][0]["code"], "COMP");
    let start = |v: &serde_json::Value| v["slot"]["start"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert!(start(&visits[1]).as_second() - start(&visits[0]).as_second() >= 13 * 86400);
    for v in visits {
        let wd = start(v).to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).weekday();
        assert!(matches!(wd, jiff::civil::Weekday::Tuesday | jiff::civil::Weekday::Thursday), "{wd:?}");
    }
    // A bad wish is refused by field.
    let r = app.request(json_req(&format!("/api/v1/treatment-plans/{id}/visit-series"), &desk, json!({"days": ["someday"]}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("days"));
    // Nothing is booked until accepted; then both visits are.
    assert!(store.patient_appointments(&scope, &actor, p.id, 50).await.unwrap().is_empty());
    let r = app.request(json_req(&format!("/api/v1/treatment-plans/{id}/visit-series/accept"), &desk, json!({"days": ["tue", "thu"]}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["appointment_ids"].as_array().unwrap().len(), 2);
    assert_eq!(store.patient_appointments(&scope, &actor, p.id, 50).await.unwrap().len(), 2);
    let r = app.get_as(&format!("/api/v1/treatment-plans/{id}"), &desk).await;
    assert_eq!(r.json()["status"], "accepted");
    assert!(r.json()["procedures"].as_array().unwrap().iter().all(|i| i["status"] == "scheduled"));

    // A template in one click: the crown on an endodontically treated 36.
    let page = app.get_as(&format!("/patients/{}/plans", p.id), &dentist).await;
    assert!(page.body.contains("Crown on an endodontically treated tooth (*)"), "the template is offered");
    let r = app.request(form(&format!("/patients/{}/plans", p.id), &dentist, "template=0&template_tooth=36")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let plan_page = app.get_as(r.header("location").unwrap(), &dentist).await;
    assert!(plan_page.body.contains("Crown on an endodontically treated tooth"));
    for code in ["RCT", "CORE", "CROWN"] {
        assert!(plan_page.body.contains(&format!("<strong>{code}</strong>")), "{code}");
    }
    // Presented to the patient: a follow-up lands in the coordinators' inbox. The badge's
    // count has no names; the list has, and is audited.
    let crown_plan = r.header("location").unwrap().trim_start_matches("/treatment-plans/").to_string();
    let r = app.request(form(&format!("/treatment-plans/{crown_plan}"), &dentist, "action=present")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let coordinator = app.sign_in_as("tph", Role::TreatmentCoordinator).await;
    let coordinator_user = store.user_by_email(&staff_email("tph", Role::TreatmentCoordinator)).await.unwrap().unwrap();
    let count = app.get_as("/api/v1/tasks/count", &coordinator).await.json();
    assert_eq!(count, json!({"open": 1, "urgent": 0}));
    let listed_before = store.audit_events(org.id, 0, 1_000_000).await.unwrap().iter().filter(|e| e.action == "task.list_read").count();
    let tasks = app.get_as("/api/v1/tasks", &coordinator).await.json();
    assert_eq!(tasks["open"], 1);
    assert_eq!(tasks["items"][0]["kind"], "follow_up");
    assert_eq!(tasks["items"][0]["patient_id"], p.id.to_string());
    let events = store.audit_events(org.id, 0, 1_000_000).await.unwrap();
    let listed: Vec<_> = events.iter().filter(|e| e.action == "task.list_read").collect();
    assert_eq!(listed.len(), listed_before + 1);
    assert!(listed[listed.len() - 1].details.contains(&p.id.to_string()) && listed[listed.len() - 1].actor_id == Some(coordinator_user.id), "{:?}", listed[listed.len() - 1]);
    // Nobody else's: the front desk has none of it.
    assert_eq!(app.get_as("/api/v1/tasks/count", &desk).await.json(), json!({"open": 0, "urgent": 0}));

    // Without the tooth it needs: refused, saying so.
    let r = app.request(form(&format!("/patients/{}/plans", p.id), &dentist, "template=0&template_tooth=")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("needs a tooth"), "{}", r.body);

    // The rules page: a cycle is refused with its rules named, and the rules stay.
    let before = store.plan_settings(&scope).await.unwrap().0;
    let r = app.request(form("/settings/plans", &admin, "action=add_rule&name=Crown+first&before=CROWN&after=RCT&same_site=on&min_days=0")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("these rules go round in a circle") && r.body.contains("Crown first") && r.body.contains("root canal before the crown"), "{}", r.body);
    assert_eq!(store.plan_settings(&scope).await.unwrap().0, before);
    let r = app.request(form("/settings/plans", &admin, "action=routing&coordinator_value=1500.00&coordinator_complexity=9&medium_value=400&follow_up_days=5&max_visit_minutes=90")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (rules, routing) = store.plan_settings(&scope).await.unwrap();
    assert_eq!((routing.coordinator_value_minor, routing.coordinator_complexity, routing.follow_up_days, rules.max_visit_minutes), (150000, 9, 5, 90));
    // Who may see plans: not the assistant; the dentist may not change the rules.
    assert_eq!(app.get_as(&format!("/treatment-plans/{id}"), &assistant).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_as("/settings/plans", &dentist).await.status, StatusCode::FORBIDDEN);
    let _ = desk;
});
