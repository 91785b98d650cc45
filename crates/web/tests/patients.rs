#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Patients over HTTP on both databases: the JSON API the integrations rely on (create, 422
//! per field, search best first, get), the pages (registration with the duplicate warning,
//! a family member as guarantor, the banner, documents, merge and undo), and the audit trail
//! of every read.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use serde_json::json;
use test_support::{TestApp, dual_test, seed_org, seed_staff};

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

fn multipart(path: &str, cookie: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Request<Body> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(b"--BOUNDARY\r\n");
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--BOUNDARY--\r\n");
    Request::post(path)
        .header("content-type", "multipart/form-data; boundary=BOUNDARY")
        .header("cookie", cookie)
        .body(Body::from(body))
        .unwrap()
}

dual_test!(fixed_clock async fn the_api_registers_finds_and_reads_patients(db, clock) {
    let _ = clock;
    let (org, _) = seed_org(&db.store, "api").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let desk = app.sign_in_as("api", Role::Receptionist).await;

    let r = app.request(json_req("POST", "/api/v1/patients", &desk, json!({
        "given_name": "Zoé", "family_name": "Tremblay", "birth_date": "1984-03-27",
        "phone": "(802) 555-0143", "email": "zoe@example.com", "national_id": "123-45-6789",
    }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let zoe = r.json();
    assert_eq!(zoe["chart_number"], 1);
    assert_eq!(zoe["phones"][0]["number"], "+18025550143");
    assert_eq!(zoe["national_id_masked"], "•••••6789", "the identifier is never sent whole");
    let id = zoe["id"].as_str().unwrap().to_string();

    // Every bad field at once, nothing stored.
    let bad = app.request(json_req("POST", "/api/v1/patients", &desk, json!({
        "given_name": "", "family_name": "Roy", "birth_date": "2031-01-01", "phone": "555-CALL", "email": "roy@",
    }))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    let fields: Vec<String> = bad.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    for f in ["given_name", "birth_date", "phone", "email"] {
        assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
    }
    let roys = app.get_as("/api/v1/patients?q=roy", &desk).await.json();
    assert_eq!(roys["items"].as_array().unwrap().len(), 0);

    for (given, family) in [("Jon", "Smithers"), ("Marc", "Trembley")] {
        let r = app.request(json_req("POST", "/api/v1/patients", &desk, json!({"given_name": given, "family_name": family, "birth_date": "1990-01-01"}))).await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    // Best match first: the exact name before the sound-alike.
    let found = app.get_as("/api/v1/patients?q=tremblay&limit=5", &desk).await.json();
    let items = found["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["given_name"], "Zoé");
    assert_eq!(items[0]["birth_date"], "1984-03-27");
    assert!(items.len() >= 2 && items[0]["score"].as_u64() > items[1]["score"].as_u64());
    let by_phone = app.get_as("/api/v1/patients?q=802.555.0143", &desk).await.json();
    assert_eq!(by_phone["items"][0]["id"], id.as_str());

    let one = app.get_as(&format!("/api/v1/patients/{id}"), &desk).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["email"], "zoe@example.com");

    // A history through the API, then its alert on the record.
    let h = app.request(json_req("PUT", &format!("/api/v1/patients/{id}/history"), &desk, json!({
        "history": {"allergies": [{"substance": "Penicillin", "reaction": "hives", "severity": "severe"}]}, "reviewed": true
    }))).await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    assert_eq!(h.json()["version"], 1);
    let one = app.get_as(&format!("/api/v1/patients/{id}"), &desk).await.json();
    assert_eq!(one["alerts"][0]["text"], "Penicillin (hives)");

    // Another organization's patient does not exist; a role without patients.read is refused.
    let (other, _) = seed_org(&app.db.store, "elsewhere").await;
    seed_staff(&app.db.store, &other).await;
    let theirs = app.sign_in_as("elsewhere", Role::Receptionist).await;
    assert_eq!(app.get_as(&format!("/api/v1/patients/{id}"), &theirs).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get_as("/api/v1/patients?q=tremblay", &theirs).await.json()["items"].as_array().unwrap().len(), 0);
    let assistant = app.sign_in_as("api", Role::Assistant).await;
    assert_eq!(app.get_as("/api/v1/patients?q=tremblay", &assistant).await.status, StatusCode::FORBIDDEN);

    // Every read is in the audit chain, with who read it.
    let events = app.db.store.audit_events(org.id, 0, 10_000).await.unwrap();
    let pid: domain::PatientId = id.parse().unwrap();
    let reads: Vec<_> = events.iter().filter(|e| e.action == "patient.read" && e.patient_id == Some(pid)).collect();
    assert!(reads.len() >= 2, "{} reads", reads.len());
    assert!(reads.iter().all(|e| e.actor == "receptionist@api.test" && e.request_id.is_some()));
    let searches = events.iter().filter(|e| e.action == "patient.search").count();
    assert!(searches >= 2);
    assert!(app.db.store.verify_audit(org.id, None).await.unwrap().broken.is_none());
});

dual_test!(fixed_clock async fn the_front_desk_registers_a_family_and_files_a_consent(db, clock) {
    let _ = clock;
    let (org, loc) = seed_org(&db.store, "desk").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let desk = app.sign_in_as("desk", Role::Receptionist).await;
    assert_eq!(app.get_as("/patients", &desk).await.status, StatusCode::OK);
    assert_eq!(app.get_as("/patients/new", &desk).await.status, StatusCode::OK);

    // Bad input: each field named, what was typed kept, nothing stored.
    let bad = app.request(form("/patients", &desk, &format!("given_name=Marie&family_name=Gagnon&birth_date=2030-01-01&phone_mobile=12&email=marie%40&location_id={}&family_mode=own", loc.id))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for msg in ["is in the future", "Mobile phone", "not an email address"] {
        assert!(bad.body.contains(msg), "{msg}: {}", bad.body);
    }
    assert!(bad.body.contains("value=\"Marie\"") && bad.body.contains("value=\"Gagnon\""));

    let mother = app.request(form("/patients", &desk, &format!("given_name=Marie&family_name=Gagnon&birth_date=1980-04-04&phone_mobile=802-555-0100&sms_consent=on&location_id={}&family_mode=own", loc.id))).await;
    assert_eq!(mother.status, StatusCode::SEE_OTHER, "{}", mother.body);
    let mother_path = mother.header("location").unwrap().to_string();
    let mother_id = mother_path.trim_start_matches("/patients/").to_string();

    // The child joins the mother's family (by chart number, as typed without the picker).
    let child = app.request(form("/patients", &desk, &format!("given_name=L%C3%A9a&family_name=Gagnon&birth_date=2015-06-06&location_id={}&family_mode=join&family_member=%231", loc.id))).await;
    assert_eq!(child.status, StatusCode::SEE_OTHER, "{}", child.body);
    let child_page = app.get_as(child.header("location").unwrap(), &desk).await;
    assert!(child_page.body.contains("Gagnon, Marie"), "the guarantor is the mother");

    // The same person again: the duplicate warning, then registered on confirmation.
    let again = app.request(form("/patients", &desk, &format!("given_name=Mary&family_name=Gagnon&birth_date=1980-04-04&location_id={}&family_mode=own", loc.id))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("id=\"duplicates\"") && again.body.contains(&mother_id));
    let confirmed = app.request(form("/patients", &desk, &format!("given_name=Mary&family_name=Gagnon&birth_date=1980-04-04&location_id={}&family_mode=own&confirm_new=on", loc.id))).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);

    // A penicillin allergy: the banner on every patient page.
    let saved = app.request(form(&format!("{mother_path}/history"), &desk, "allergy_substance_0=Penicillin&allergy_reaction_0=anaphylaxis&allergy_severity_0=life_threatening&flag=anticoagulants&reviewed=on")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    for page in [mother_path.clone(), format!("{mother_path}/history"), format!("{mother_path}/merge")] {
        let p = app.get_as(&page, &desk).await;
        assert_eq!(p.status, StatusCode::OK, "{page}");
        assert!(p.body.contains("id=\"medical-alerts\"") && p.body.contains("Penicillin (anaphylaxis)"), "banner on {page}");
    }

    // A consent PDF: uploaded, previewed from a signed link, the bytes served back.
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
    let up = app.request(multipart(&format!("{mother_path}/documents"), &desk, &[("category", None, b"consent"), ("title", None, b"Treatment consent"), ("file", Some("consent.pdf"), pdf)])).await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
    let doc_page = app.get_as(up.header("location").unwrap(), &desk).await;
    assert_eq!(doc_page.status, StatusCode::OK);
    let link = doc_page.body.split("id=\"pdf-frame\"").next().unwrap().rsplit("src=\"").next().unwrap().split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&");
    let file = app.get(&link).await;
    assert_eq!(file.status, StatusCode::OK, "{link}");
    assert_eq!(file.header("content-type"), Some("application/pdf"));
    assert_eq!(file.body.as_bytes(), pdf);
    // Refused uploads: a clear message, nothing stored.
    let exe = app.request(multipart(&format!("{mother_path}/documents"), &desk, &[("category", None, b"consent"), ("file", Some("scan.pdf"), b"MZ\x90\x00 not a pdf")])).await;
    assert_eq!(exe.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(exe.body.contains("not accepted"), "{}", exe.body);
    let big = vec![b'%'; 26 * 1024 * 1024];
    let too_big = app.request(multipart(&format!("{mother_path}/documents"), &desk, &[("category", None, b"consent"), ("file", Some("big.pdf"), &big)])).await;
    assert!(matches!(too_big.status.as_u16(), 413 | 422), "{}", too_big.status);
    let docs = app.get_as(&format!("/api/v1/patients/{mother_id}/documents"), &desk).await.json();
    assert_eq!(docs["items"].as_array().unwrap().len(), 1);

    // Search pages: a misspelled name and a phone in another format.
    for q in ["Gagnnon", "%28802%29+555+0100", "8025550100"] {
        let s = app.get_as(&format!("/patients?q={q}"), &desk).await;
        assert!(s.body.contains(&mother_id), "{q}");
    }
});

dual_test!(fixed_clock async fn merging_from_the_pages_and_undoing_it(db, clock) {
    let _ = clock;
    let (org, loc) = seed_org(&db.store, "mrg").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let desk = app.sign_in_as("mrg", Role::Receptionist).await;
    let a = test_support::seed_patient(&app.db.store, org.id, loc.id, test_support::patient_input("Luc", "Roy", "1970-01-01")).await;
    let b = test_support::seed_patient(&app.db.store, org.id, loc.id, test_support::patient_input("Lucas", "Roy", "1970-01-01")).await;
    let page = app.get_as(&format!("/patients/{}/merge", a.id), &desk).await;
    assert!(page.body.contains(&b.id.to_string()), "the duplicate is proposed");
    let confirm = app.get_as(&format!("/patients/{}/merge?other={}", a.id, b.chart_number), &desk).await;
    assert!(confirm.body.contains("id=\"merge-confirm\""));
    let merged = app.request(form(&format!("/patients/{}/merge", a.id), &desk, &format!("other={}", b.id))).await;
    assert_eq!(merged.status, StatusCode::SEE_OTHER);
    let gone = app.get_as(&format!("/patients/{}", b.id), &desk).await;
    assert!(gone.body.contains("merged into another"));
    let m = app.db.store.merges_of(&domain::Scope::system(org.id), a.id).await.unwrap();
    let undo = app.request(form(&format!("/merges/{}/undo", m[0].id), &desk, &format!("back={}", a.id))).await;
    assert_eq!(undo.status, StatusCode::SEE_OTHER);
    let back = app.get_as(&format!("/api/v1/patients/{}", b.id), &desk).await.json();
    assert_eq!(back["status"], "active");
});

dual_test!(fixed_clock async fn a_practice_adds_its_own_patient_fields(db, clock) {
    let _ = clock;
    let (org, loc) = seed_org(&db.store, "own").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("own", Role::Admin).await;
    let bad = app.request(form("/settings/patient-fields", &admin, "label=School&key=School+Name&kind=choice")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app.request(form("/settings/patient-fields", &admin, "label=School&key=school&kind=choice&choices=North%2C+South&required=on")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = app.get_as("/patients/new", &admin).await;
    assert!(page.body.contains("name=\"custom.school\""));
    let base = format!("given_name=Ann&family_name=Lee&birth_date=2010-01-01&location_id={}&family_mode=own", loc.id);
    let missing = app.request(form("/patients", &admin, &base)).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("school: is required"), "{}", missing.body);
    let wrong = app.request(form("/patients", &admin, &format!("{base}&custom.school=East"))).await;
    assert!(wrong.body.contains("must be one of North, South"));
    let saved = app.request(form("/patients", &admin, &format!("{base}&custom.school=North"))).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let profile = app.get_as(saved.header("location").unwrap(), &admin).await;
    assert!(profile.body.contains("School") && profile.body.contains("North"));
});

dual_test!(fixed_clock async fn breaking_the_glass_from_the_page(db, clock) {
    let _ = clock;
    let (org, loc) = seed_org(&db.store, "bg").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let mut other = loc.clone();
    other.id = domain::LocationId::from_uuid(app.db.store.new_uuid());
    other.name = "Other clinic".into();
    let mut tx = app.db.store.begin().await.unwrap();
    tx.create_location(&app.db.store, &domain::Scope::system(org.id), &other).await.unwrap();
    tx.commit().await.unwrap();
    // The receptionist works at the first clinic only.
    let desk_user = app.db.store.user_by_email(&test_support::staff_email("bg", Role::Receptionist)).await.unwrap().unwrap();
    app.db.store.db.execute(store::Q::new("INSERT INTO user_locations (user_id, location_id, org_id) VALUES ($1, $2, $3)").bind(desk_user.id).bind(loc.id).bind(org.id)).await.unwrap();
    let vip = app.db.store.register_patient(&domain::Scope::system(org.id), &store::patients::Actor::system("t"), store::patients::NewPatient {
        location_id: other.id, restricted: true, input: test_support::patient_input("Vera", "Private", "1980-01-01"),
        family: store::patients::FamilyChoice::Own, status: domain::patients::PatientStatus::Active,
    }).await.unwrap();
    let desk = app.sign_in_as("bg", Role::Receptionist).await;
    assert_eq!(app.get_as(&format!("/patients/{}", vip.id), &desk).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get_as("/patients/emergency", &desk).await.status, StatusCode::OK);
    let short = app.request(form("/patients/emergency", &desk, &format!("chart={}&birth_date=1980-01-01&reason=now", vip.chart_number))).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("at least 10 characters"));
    let ok = app.request(form("/patients/emergency", &desk, &format!("chart={}&birth_date=1980-01-01&reason=walk-in+with+facial+swelling", vip.chart_number))).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = app.get_as(ok.header("location").unwrap(), &desk).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Emergency access granted"));
    let admin = app.sign_in_as("bg", Role::Admin).await;
    let audit = app.get_as("/audit", &admin).await;
    assert!(audit.body.contains("broke the glass"), "the administrators see the alert");
});
