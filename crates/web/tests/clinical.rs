#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Charting over HTTP on both databases: the API the integrations rely on (catalog, chart,
//! procedures: 201, 422 naming the part, 409 on a stale tooth, 403 for a dentist-only
//! completion), the chart page and its form (keyboard line, fields, errors kept), the live
//! fragment, the numbering setting, and the catalog's CSV import.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use serde_json::json;
use test_support::{TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff};

fn json_req(method: &str, path: &str, cookie: &str, body: serde_json::Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn setup(slug: &str, app_db: test_support::TestDb) -> (TestApp, String) {
    let (org, loc) = seed_org(&app_db.store, slug).await;
    seed_staff(&app_db.store, &org).await;
    let p = seed_patient(
        &app_db.store,
        org.id,
        loc.id,
        patient_input("Noah", "Gagnon", "1979-11-30"),
    )
    .await;
    (TestApp::new(app_db).await, p.id.to_string())
}

dual_test!(async fn the_charting_api(db) {
    let (app, id) = setup("chart-api", db).await;
    let dentist = app.sign_in_as("chart-api", Role::Dentist).await;
    let hygienist = app.sign_in_as("chart-api", Role::Hygienist).await;

    let codes = app.get_as("/api/v1/procedure-codes", &dentist).await;
    assert_eq!(codes.status, StatusCode::OK);
    let items = codes.json()["items"].as_array().unwrap().clone();
    assert!(items.iter().any(|c| c["code"] == "COMP" && c["site"] == "surfaces"));

    // A MOD composite on 16 (FDI), then the chart shows it.
    let r = app.request(json_req("POST", &format!("/api/v1/patients/{id}/procedures"), &dentist, json!({"code": "COMP", "tooth": 16, "surfaces": "MOD"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let e = r.json();
    assert_eq!((e["tooth"].as_u64(), e["surfaces"].as_str(), e["status"].as_str()), (Some(16), Some("MOD"), Some("planned")));
    let chart = app.get_as(&format!("/api/v1/patients/{id}/chart"), &dentist).await.json();
    assert_eq!(chart["version"], 1);
    assert_eq!(chart["teeth"][0]["tooth"], 16);
    assert_eq!(chart["teeth"][0]["surfaces"]["O"], "planned");
    assert_eq!(chart["entries"].as_array().unwrap().len(), 1);

    // 422 naming the invalid part, nothing written.
    for (body, field) in [
        (json!({"code": "COMP", "tooth": 11, "surfaces": "MOD"}), "surfaces"),
        (json!({"code": "COMP", "tooth": 19, "surfaces": "O"}), "tooth"),
        (json!({"code": "ZZZ", "tooth": 16}), "code"),
        (json!({"code": "SRP", "area": "XX"}), "area"),
        (json!({"code": "CROWN", "tooth": "16", "status": "done-ish"}), "status"),
    ] {
        let r = app.request(json_req("POST", &format!("/api/v1/patients/{id}/procedures"), &dentist, body.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let fields: Vec<String> = r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
        assert!(fields.contains(&field.to_string()), "{body}: {fields:?}");
    }
    // 409: someone charted tooth 16 after version 0.
    let r = app.request(json_req("POST", &format!("/api/v1/patients/{id}/procedures"), &hygienist, json!({"code": "SEAL", "tooth": 16, "surfaces": "O", "base_version": 0}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.json()["detail"].as_str().unwrap().contains("tooth 16"), "{}", r.body);
    // 403: a hygienist does not complete a dentist-only procedure.
    let r = app.request(json_req("POST", &format!("/api/v1/patients/{id}/procedures"), &hygienist, json!({"code": "CROWN", "tooth": 26, "status": "completed"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.get_as(&format!("/api/v1/patients/{id}/chart"), &dentist).await.json()["entries"].as_array().unwrap().len(), 1);

    // Complete, then void with a reason.
    let entry = e["id"].as_str().unwrap().to_string();
    let r = app.request(json_req("PATCH", &format!("/api/v1/patients/{id}/procedures/{entry}"), &dentist, json!({"action": "complete"}))).await;
    assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::OK, Some("completed")), "{}", r.body);
    let r = app.request(json_req("PATCH", &format!("/api/v1/patients/{id}/procedures/{entry}"), &dentist, json!({"action": "void"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.request(json_req("PATCH", &format!("/api/v1/patients/{id}/procedures/{entry}"), &dentist, json!({"action": "void", "reason": "wrong tooth"}))).await;
    assert_eq!(r.json()["void_reason"], "wrong tooth");
    let chart = app.get_as(&format!("/api/v1/patients/{id}/chart"), &dentist).await.json();
    assert_eq!(chart["teeth"].as_array().unwrap().len(), 0, "a voided entry draws nothing");
    assert_eq!(chart["entries"].as_array().unwrap().len(), 1, "and stays in the list");

    // A receptionist does not read charts.
    let desk = app.sign_in_as("chart-api", Role::Receptionist).await;
    assert_eq!(app.get_as(&format!("/api/v1/patients/{id}/chart"), &desk).await.status, StatusCode::FORBIDDEN);
});

dual_test!(async fn the_chart_page_and_its_form(db) {
    let (app, id) = setup("chart-page", db).await;
    let dentist = app.sign_in_as("chart-page", Role::Dentist).await;
    let page = app.get_as(&format!("/patients/{id}/chart"), &dentist).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"odontogram\""));
    assert_eq!(page.body.matches("class=\"tooth-link\"").count(), 32, "an adult: the permanent teeth");
    assert!(page.body.contains("id=\"no-entries\""));
    // The profile links to the chart for those who may read it.
    assert!(app.get_as(&format!("/patients/{id}"), &dentist).await.body.contains(&format!("/patients/{id}/chart")));
    let desk = app.sign_in_as("chart-page", Role::Receptionist).await;
    assert!(!app.get_as(&format!("/patients/{id}"), &desk).await.body.contains(&format!("/patients/{id}/chart")));

    // The keyboard line.
    let r = app.request(form(&format!("/patients/{id}/chart"), &dentist, "command=16+MOD+comp&base_version=0&dentition=permanent")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("location").unwrap().contains("tooth=16"));
    let page = app.get_as(&format!("/patients/{id}/chart?tooth=16"), &dentist).await;
    assert_eq!(page.body.matches("srf st-plan").count(), 3, "M, O and D of 16");
    assert!(page.body.contains("id=\"tooth-history\""));
    // The fields, with a mistake: the form comes back with what was typed and the reason.
    let r = app.request(form(&format!("/patients/{id}/chart"), &dentist, "tooth=11&surfaces=MOD&code=COMP&note=deep+caries&base_version=1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("not an occlusal surface"), "{}", r.body);
    assert!(r.body.contains("value=\"deep caries\""));
    // A bad keyboard line says how to write one.
    let r = app.request(form(&format!("/patients/{id}/chart"), &dentist, "command=16&base_version=1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("16 MOD comp"));
    // A stale form on the same tooth: a conflict, nothing charted over it.
    let r = app.request(form(&format!("/patients/{id}/chart"), &dentist, "command=16+O+amal&base_version=0")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("id=\"chart-error\""));
    // The live fragment is only the odontogram and the list.
    let frag = app.get_as(&format!("/patients/{id}/chart?fragment=1"), &dentist).await;
    assert!(frag.body.contains("id=\"odontogram\"") && !frag.body.contains("<html"));
    // Universal numbering: 16 is shown as 3 and typed as 3.
    let admin = app.sign_in_as("chart-page", Role::Admin).await;
    let r = app.request(form("/settings/clinical", &admin, "numbering=universal")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app.request(form(&format!("/patients/{id}/chart"), &dentist, "command=3+B+caries&base_version=1")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart = app.get_as(&format!("/api/v1/patients/{id}/chart"), &dentist).await.json();
    assert_eq!(chart["teeth"][0]["tooth"], 16);
    assert_eq!(chart["teeth"][0]["label"], "3");
    assert_eq!(chart["teeth"][0]["surfaces"]["B"], "condition");
});

dual_test!(async fn the_catalog_settings_and_csv_import(db) {
    let (app, _) = setup("chart-cat", db).await;
    let admin = app.sign_in_as("chart-cat", Role::Admin).await;
    let page = app.get_as("/settings/clinical", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Composite filling"));
    let r = app.request(form("/settings/clinical/codes", &admin, "code=whiten&name=Whitening&category=other&site=mouth&effect=none&minutes=60&fee=350.00")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.request(form("/settings/clinical/codes", &admin, "code=bad+code&name=&category=other&site=mouth&effect=none&fee=abc")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("data-field=\"fee\"") && r.body.contains("data-field=\"code\""), "{}", r.body);
    let csv = "code,name,category,minutes,site,fee,effect\r\nD2391,Resin one surface,restorative,40,surfaces,150.00,restoration\r\n";
    let upload = |body: &str| {
        let mut b = Vec::new();
        b.extend_from_slice(b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"codes.csv\"\r\nContent-Type: text/csv\r\n\r\n");
        b.extend_from_slice(body.as_bytes());
        b.extend_from_slice(b"\r\n--B--\r\n");
        Request::post("/settings/clinical/import")
            .header("content-type", "multipart/form-data; boundary=B")
            .header("cookie", admin.as_str())
            .body(Body::from(b))
            .unwrap()
    };
    let r = app.request(upload(csv)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("D2391"));
    let r = app.request(upload("code,name,site\nX1,,elbow\n")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"import-problems\"") && r.body.contains("row 2"), "{}", r.body);
    let codes = app.get_as("/api/v1/procedure-codes", &admin).await.json();
    let items = codes["items"].as_array().unwrap();
    assert!(items.iter().any(|c| c["code"] == "WHITEN" && c["fee_minor"] == 35000));
    assert!(!items.iter().any(|c| c["code"] == "X1"), "a refused file stores nothing");
});

dual_test!(async fn the_perio_chart_over_http(db) {
    let (app, id) = setup("perio-http", db).await;
    let hyg = app.sign_in_as("perio-http", Role::Hygienist).await;
    let dentist = app.sign_in_as("perio-http", Role::Dentist).await;
    let page = app.get_as(&format!("/patients/{id}/perio"), &hyg).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("class=\"pd\"").count(), 192, "six sites on 32 teeth");
    // Out of range and not a number: refused, each by tooth and site, with what was typed kept.
    let r = app.request(form(&format!("/patients/{id}/perio"), &hyg, "pd_16_MB=16&pd_16_B=x&mob_11=4&pd_17_DB=5")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["16 MB", "16 B", "11 mobility"] {
        assert!(r.body.contains(&format!("data-field=\"{f}\"")), "{f}: {}", r.body);
    }
    assert!(r.body.contains("name=\"pd_17_DB\" id=\"pd_17_DB\" value=\"5\""));
    // A mouth of 3 mm with 1 mm recession, two deep bleeding pockets.
    let mut body = String::new();
    for t in (11..=18).chain(21..=28).chain(31..=38).chain(41..=48) {
        for s in ["DB", "B", "MB", "DL", "L", "ML"] {
            body.push_str(&format!("pd_{t}_{s}=3&gm_{t}_{s}=1&"));
        }
    }
    body.push_str("pd_46_ML=7&bop_46_ML=on&pd_36_DB=6&bop_36_DB=on&fur_46=2&mob_46=1");
    let r = app.request(form(&format!("/patients/{id}/perio"), &hyg, &body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get_as(&format!("/patients/{id}/perio"), &dentist).await;
    assert!(page.body.contains("id=\"sum-6\">2<"), "two sites of 6 mm or more");
    assert!(page.body.contains("Periodontitis stage III"), "the suggestion");
    // The hygienist may record, not confirm; the dentist confirms.
    let exam = page.body.split("/perio/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let r = app.request(form(&format!("/patients/{id}/perio/{exam}/confirm"), &hyg, "case=stage-3-localized")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.request(form(&format!("/patients/{id}/perio/{exam}/confirm"), &dentist, "case=stage-3-localized")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get_as(&format!("/patients/{id}/perio"), &dentist).await;
    assert!(page.body.contains("id=\"confirmed-case\""));
    // A second exam: 46 ML got better, the page lists the change.
    let better = body.replace("pd_46_ML=7", "pd_46_ML=4");
    app.request(form(&format!("/patients/{id}/perio"), &hyg, &better)).await;
    let page = app.get_as(&format!("/patients/{id}/perio"), &dentist).await;
    assert!(page.body.contains("46 ML: PD -3 mm"), "{}", page.body);
    assert!(page.body.contains(" better"));
});

dual_test!(fixed_clock async fn two_signed_odontograms_side_by_side(db, clock) {
    let (app, id) = setup("compare", db).await;
    let dentist = app.sign_in_as("compare", Role::Dentist).await;
    let store = &app.db.store;
    let org = store.org_by_slug("compare").await.unwrap().unwrap();
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let pid: domain::PatientId = id.parse().unwrap();
    // Fewer than two signed visits: said so.
    let page = app.get_as(&format!("/patients/{id}/visits/compare"), &dentist).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"compare-empty\""));
    let permits = store::clinical::ChartPermits { may_complete_dentist_only: true };
    let chart = |code: &str, tooth: &str, surfaces: &str| domain::clinical::chart::EntryRequest {
        code: code.into(),
        tooth: Some(tooth.into()),
        surfaces: (!surfaces.is_empty()).then(|| surfaces.into()),
        status: Some("existing".into()),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for (code, tooth, surfaces) in [("COMP", "16", "MOD"), ("CROWN", "26", "")] {
        store.add_chart_entries(&scope, &actor, permits, pid, domain::clinical::teeth::Numbering::Fdi, &[chart(code, tooth, surfaces)]).await.unwrap();
        let v = store.create_visit(&scope, &actor, pid, &store::visits::NewVisit { kind: Some(domain::clinical::visit::VisitKind::Exam), ..Default::default() }).await.unwrap();
        store.sign_visit(&scope, &actor, pid, v.id, None).await.unwrap();
        ids.push(v.id);
        clock.advance(jiff::SignedDuration::from_hours(24 * 180));
    }
    // Months went by: a new sign-in.
    let dentist = app.sign_in_as("compare", Role::Dentist).await;
    let list = app.get_as(&format!("/patients/{id}/visits"), &dentist).await;
    assert!(list.body.contains("id=\"compare-link\""));
    // By default the two latest, the older first; the crown is what the later one adds.
    let page = app.get_as(&format!("/patients/{id}/visits/compare"), &dentist).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let sides: Vec<&str> = page.body.split("class=\"card compare-side\"").skip(1).collect();
    assert_eq!(sides.len(), 2);
    assert!(sides[0].contains("COMP") && !sides[0].contains("CROWN"));
    assert!(sides[1].contains("CROWN"));
    let changed = |s: &str| s.split("<li class=\"changed\">").skip(1).map(|l| l.split("</li>").next().unwrap().to_string()).collect::<Vec<_>>();
    assert!(changed(sides[0]).is_empty(), "{:?}", changed(sides[0]));
    assert_eq!(changed(sides[1]).len(), 1);
    assert!(changed(sides[1])[0].contains("CROWN"));
    assert_eq!(sides.iter().filter(|s| s.contains("<svg")).count(), 2);
    // Chosen explicitly, the other way round; another patient's or an unknown visit is not found.
    let page = app.get_as(&format!("/patients/{id}/visits/compare?a={}&b={}", ids[1], ids[0]), &dentist).await;
    let sides: Vec<&str> = page.body.split("class=\"card compare-side\"").skip(1).collect();
    assert!(sides[0].contains("CROWN") && changed(sides[0]).len() == 1);
    let r = app.get_as(&format!("/patients/{id}/visits/compare?a={}&b={}", ids[0], uuid::Uuid::nil()), &dentist).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
});

dual_test!(async fn a_visit_links_todays_appointment(db) {
    let (app, id) = setup("visit-appt", db).await;
    let store = &app.db.store;
    let org = store.org_by_slug("visit-appt").await.unwrap().unwrap();
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let pid: domain::PatientId = id.parse().unwrap();
    let loc = store.locations(&scope).await.unwrap()[0].id;
    let chair = store.create_operatory(&scope, &actor, loc, &domain::scheduling::OperatoryInput { name: "Op 1".into(), short_name: String::new() }).await.unwrap();
    let ty = store.save_appointment_type(&scope, &actor, None, &domain::scheduling::AppointmentTypeInput { name: "Exam".into(), colour: "#123456".into(), pattern: "XXX".into(), unit_minutes: 10 }, true).await.unwrap();
    let dentist_id = test_support::seed_provider(store, org.id, "Dr Visit", Role::Dentist, "#654321").await;
    let a = store
        .book_appointment(&scope, &actor, store::scheduling::appointments::Permits { may_override: true }, &store::scheduling::appointments::NewAppointment {
            location_id: Some(loc),
            operatory_id: Some(chair.id),
            patient_id: Some(pid),
            provider_id: Some(dentist_id),
            appointment_type_id: Some(ty.id),
            start: Some(store.now().checked_add(jiff::SignedDuration::from_mins(30)).unwrap()),
            override_reason: Some("test".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .add_chart_entries(&scope, &actor, store::clinical::ChartPermits { may_complete_dentist_only: true }, pid, domain::clinical::teeth::Numbering::Fdi, &[domain::clinical::chart::EntryRequest { code: "CROWN".into(), tooth: Some("36".into()), status: Some("planned".into()), ..Default::default() }])
        .await
        .unwrap();
    let dentist = app.sign_in_as("visit-appt", Role::Dentist).await;
    let page = app.get_as(&format!("/patients/{id}/visits"), &dentist).await;
    assert!(page.body.contains(&format!("<option value=\"{}\" selected>", a.id)), "today's appointment chosen: {}", page.body);
    let r = app.request(form(&format!("/patients/{id}/visits"), &dentist, &format!("kind=exam&chief_complaint=Check-up&dentist_id=&template=&appointment_id={}", a.id))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let visit = app.get_as(r.header("location").unwrap(), &dentist).await;
    assert!(visit.body.contains(&format!("href=\"/appointments/{}\" id=\"visit-appointment\"", a.id)));
    assert!(visit.body.contains("id=\"visit-prescribe\""));
    // The pre-exam review: no earlier visit, the crown planned on 36.
    let review = visit.body.split("id=\"pre-exam\"").nth(1).expect("a pre-exam review").split("</section>").next().unwrap();
    assert!(review.contains("First visit here."));
    assert!(review.contains("CROWN") && review.contains("36"), "{review}");
    // Another patient's appointment is refused by name.
    let other = seed_patient(store, org.id, loc, patient_input("Ana", "Other", "1990-01-01")).await;
    let r = app.request(form(&format!("/patients/{}/visits", other.id), &dentist, &format!("kind=exam&chief_complaint=&appointment_id={}", a.id))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("data-field=\"appointment_id\""));
});
