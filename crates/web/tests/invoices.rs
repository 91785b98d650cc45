#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Invoices over HTTP on both databases: made and issued over the API (a discount needs
//! billing.adjust), paid with a payment naming the invoice, listed by status; the front desk's
//! form (a procedure and a product, tax, issue), a payment taken once from the invoice's page
//! even when the form is sent twice, bad input refused with what was typed kept, void only
//! with billing.void, the PDF.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::billing::Entry;
use domain::identity::Role;
use serde_json::json;
use store::ledger::NewPosting;
use test_support::{TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff};

fn post_json(path: &str, cookie: &str, body: serde_json::Value) -> Request<Body> {
    Request::post(path)
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

fn token_of(page: &str) -> String {
    let i = page
        .find(r#"name="token" value=""#)
        .unwrap_or_else(|| panic!("no token: {page}"));
    let rest = &page[i + r#"name="token" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

dual_test!(async fn invoices_are_made_issued_paid_and_voided_over_the_api_and_the_pages(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "invw").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let sys = store::patients::Actor::system("test");
    let p = seed_patient(store, org.id, loc.id, patient_input("Noah", "Roy", "1980-01-01")).await.id;
    let crown = store
        .post(&scope, &sys, &NewPosting { reference: "D2740".into(), ..NewPosting::new(p, Entry::Charge { amount: 120_000 }, "D2740 completed") })
        .await
        .unwrap()
        .remove(0);
    let exam = store
        .post(&scope, &sys, &NewPosting { reference: "D0150".into(), ..NewPosting::new(p, Entry::Charge { amount: 9_000 }, "D0150 completed") })
        .await
        .unwrap()
        .remove(0);
    let app = TestApp::new(db).await;
    let billing = app.sign_in_as("invw", Role::Billing).await;
    let desk = app.sign_in_as("invw", Role::Receptionist).await;
    let assistant = app.sign_in_as("invw", Role::Assistant).await;

    // The API: the front desk may not give a discount; billing may, with a reason.
    let body = json!({
        "patient_id": p.to_string(),
        "lines": [
            {"kind": "procedure", "charge_id": crown.id.to_string(), "discount": {"kind": "percent", "value": 500}, "discount_reason": "senior"},
            {"kind": "product", "description": "Floss picks", "quantity": 3, "unit": 450, "tax_bp": 1300}
        ],
        "issue": true
    });
    let r = app.request(post_json("/api/v1/invoices", &desk, body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("billing.adjust"), "{}", r.body);
    let r = app.request(post_json("/api/v1/invoices", &billing, body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let inv = r.json();
    assert_eq!((inv["label"].as_str(), inv["status"].as_str()), (Some("INV-000001"), Some("issued")));
    // 1 200.00 less 5 %, and 3 × 4.50 with 13 % tax (1.755 rounds to 1.76).
    assert_eq!(inv["subtotal"], 121_350);
    assert_eq!(inv["discount_amount"], 6_000);
    assert_eq!(inv["tax"], 176);
    assert_eq!(inv["total"], 121_350 - 6_000 + 176);
    let id = inv["id"].as_str().unwrap().to_string();
    // A payment naming it.
    let r = app
        .request(
            Request::post("/api/v1/payments")
                .header("content-type", "application/json")
                .header("cookie", &billing)
                .header("idempotency-key", "inv-pay-1")
                .body(Body::from(json!({"patient_id": p.to_string(), "amount": 50_000, "currency": "USD", "method": "card", "invoice_id": id}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let now = app.get_as(&format!("/api/v1/invoices/{id}"), &billing).await.json();
    assert_eq!((now["status"].as_str(), now["paid"].as_i64(), now["due"].as_i64()), (Some("partly_paid"), Some(50_000), Some(115_526 - 50_000)));
    let listed = app.get_as("/api/v1/invoices?status=partly_paid", &billing).await.json();
    assert_eq!(listed["invoices"].as_array().unwrap().len(), 1);
    assert_eq!(app.get_as("/api/v1/invoices?status=paid", &billing).await.json()["invoices"].as_array().unwrap().len(), 0);
    // Voiding a paid invoice is refused; the API's void needs billing.void.
    let r = app.request(post_json(&format!("/api/v1/invoices/{id}/void"), &billing, json!({"reason": "mistake"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(app.request(post_json(&format!("/api/v1/invoices/{id}/void"), &desk, json!({"reason": "mistake"}))).await.status, StatusCode::FORBIDDEN);

    // The front desk's form: the exam (the crown is on an invoice already) and a toothbrush.
    let page = app.get_as(&format!("/patients/{p}/invoices/new"), &desk).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&format!(r#"value="{}""#, exam.id)) && !page.body.contains(&format!(r#"value="{}""#, crown.id)), "only the exam is offered");
    assert!(page.body.contains("Discounts need the billing.adjust permission"), "no discount fields for the desk");
    // Bad input: a price not understood; what was typed stays.
    let r = app.request(form(&format!("/patients/{p}/invoices"), &desk, &format!("charge={}&item_kind_0=product&item_description_0=Toothbrush&item_quantity_0=1&item_unit_0=abc&item_tax_0=13&action=issue", exam.id))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"data-field="lines[1].unit""#) && r.body.contains(r#"value="Toothbrush""#), "{}", r.body);
    let r = app.request(form(&format!("/patients/{p}/invoices"), &desk, &format!("charge={}&item_kind_0=product&item_description_0=Toothbrush&item_quantity_0=2&item_unit_0=4%2C50&item_tax_0=13&action=issue&notes=Merci", exam.id))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let at = r.header("location").unwrap().to_string();
    assert!(at.ends_with("?notice=issued"), "{at}");
    let second = at.trim_start_matches("/invoices/").split('?').next().unwrap().to_string();
    let page = app.get_as(&at, &desk).await;
    assert_eq!(page.status, StatusCode::OK);
    // 90.00 + 2 × 4.50 + 13 % of 9.00 (1.17) = 100.17.
    assert!(page.body.contains(r#"<span id="inv-label">INV-000002</span>"#), "{}", page.body);
    assert!(page.body.contains(r#"<strong id="inv-total">100.17 USD</strong>"#), "{}", page.body);
    assert!(page.body.contains(r#"<strong id="inv-due">100.17 USD</strong>"#), "{}", page.body);
    // A payment from the page, sent twice with its token: taken once.
    let token = token_of(&page.body);
    let pay = format!("action=pay&token={token}&amount=100.17&method=cash&reference=");
    let r = app.request(form(&format!("/invoices/{second}"), &desk, &pay)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.request(form(&format!("/invoices/{second}"), &desk, &pay)).await;
    assert_eq!(r.header("location"), Some(format!("/invoices/{second}?notice=again").as_str()));
    let now = app.get_as(&format!("/api/v1/invoices/{second}"), &desk).await.json();
    assert_eq!((now["status"].as_str(), now["due"].as_i64()), (Some("paid"), Some(0)));
    let cash = app.db.store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM ledger_postings WHERE org_id = $1 AND kind = 'payment' AND method = 'cash'").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(cash, 1);

    // A draft from the form, then changed, then discarded by billing (void needs billing.void).
    let r = app.request(form(&format!("/patients/{p}/invoices"), &desk, "item_kind_0=service&item_description_0=Records+copy&item_quantity_0=1&item_unit_0=25&action=save")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let draft = r.header("location").unwrap().trim_start_matches("/invoices/").split('?').next().unwrap().to_string();
    let edit = app.get_as(&format!("/invoices/{draft}/edit"), &desk).await;
    assert!(edit.body.contains(r#"value="Records copy""#), "{}", edit.body);
    let r = app.request(form(&format!("/invoices/{draft}/edit"), &desk, "item_kind_0=service&item_description_0=Records+copy+(2)&item_quantity_0=2&item_unit_0=25&action=save")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let d = app.get_as(&format!("/api/v1/invoices/{draft}"), &desk).await.json();
    assert_eq!((d["status"].as_str(), d["total"].as_i64(), d["label"].as_str()), (Some("draft"), Some(5_000), None));
    let r = app.request(form(&format!("/invoices/{draft}"), &desk, "action=void&reason=not+needed")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.request(form(&format!("/invoices/{draft}"), &billing, "action=void&reason=not+needed")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The list and the account page show them; the PDF renders; the assistant sees none.
    let list = app.get_as("/invoices", &desk).await;
    assert_eq!(list.status, StatusCode::OK);
    for label in ["INV-000001", "INV-000002"] {
        assert!(list.body.contains(label), "{label}: {}", list.body);
    }
    assert!(list.body.contains(r#"<strong id="inv-due-total">655.26 USD</strong>"#), "{}", list.body);
    let acct = app.get_as(&format!("/patients/{p}/account"), &desk).await;
    assert!(acct.body.contains(r#"id="acct-invoices""#) && acct.body.contains("INV-000002"), "{}", acct.body);
    let pdf = app.get_as(&format!("/invoices/{id}/pdf"), &desk).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.body.starts_with("%PDF-"));
    assert_eq!(app.get_as("/invoices", &assistant).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_as(&format!("/invoices/{id}"), &assistant).await.status, StatusCode::FORBIDDEN);
    let report = app.db.store.verify_ledger(org.id).await.unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults);
});

dual_test!(fixed_clock async fn the_day_sheet_closes_days_and_the_dashboard_adds_up(db, clock) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "dash").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let sys = store::patients::Actor::system("test");
    let p = seed_patient(store, org.id, loc.id, patient_input("Ida", "Moss", "1980-01-01")).await.id;
    store.post(&scope, &sys, &NewPosting::new(p, Entry::Charge { amount: 30_000 }, "D2391 completed")).await.unwrap();
    store.post(&scope, &sys, &NewPosting::new(p, Entry::Payment { amount: 10_000, method: domain::billing::Method::Cheque }, "payment")).await.unwrap();
    let yesterday = store.now().to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).date();
    clock.advance(jiff::SignedDuration::from_hours(24));
    store.post(&scope, &sys, &NewPosting::new(p, Entry::Payment { amount: 2_500, method: domain::billing::Method::Cash }, "payment")).await.unwrap();
    let app = TestApp::new(db).await;
    let billing = app.sign_in_as("dash", Role::Billing).await;
    let desk = app.sign_in_as("dash", Role::Receptionist).await;
    let admin = app.sign_in_as("dash", Role::Admin).await;
    // Yesterday's sheet: the crown and the cheque; still open.
    let page = app.get_as(&format!("/payments?day={yesterday}"), &desk).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(r#"<p class="stat-value" id="sheet-production">300.00 USD</p>"#), "{}", page.body);
    assert!(page.body.contains(r#"<p class="stat-value" id="sheet-collected">100.00 USD</p>"#), "{}", page.body);
    assert!(!page.body.contains(r#"id="close-day""#), "the desk may not close the day");
    // Billing closes it; a posting dated on it is then refused; the desk may not close.
    let body = format!("action=close&location={}&day={yesterday}", loc.id);
    assert_eq!(app.request(form("/payments", &desk, &body)).await.status, StatusCode::FORBIDDEN);
    let r = app.request(form("/payments", &billing, &body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get_as(r.header("location").unwrap(), &billing).await;
    assert!(page.body.contains(r#"id="sheet-closed""#) && page.body.contains("The day is closed."), "{}", page.body);
    let late = app.db.store.post(&scope, &sys, &NewPosting { on: Some(yesterday), ..NewPosting::new(p, Entry::Charge { amount: 100 }, "late") }).await;
    assert!(late.is_err());
    // Today cannot be closed.
    let today = yesterday.tomorrow().unwrap();
    let r = app.request(form("/payments", &billing, &format!("action=close&location={}&day={today}", loc.id))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("once it is over"), "{}", r.body);
    // The dashboard: today's 25.00 in cash, 175.00 owed (current), in numbers and in SVG.
    let page = app.get_as("/reports", &billing).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(r#"id="rep-collected-today">25.00 USD<"#), "{}", page.body);
    assert!(page.body.contains(r#"id="rep-receivable">175.00 USD<"#), "{}", page.body);
    assert!(page.body.contains(r#"id="rep-production-today">0.00 USD<"#), "{}", page.body);
    assert!(page.body.contains("<svg class=\"chart\"") && page.body.contains("bar-collections"), "{}", page.body);
    assert_eq!(app.get_as("/reports", &admin).await.status, StatusCode::OK);
    assert_eq!(app.get_as("/reports", &desk).await.status, StatusCode::FORBIDDEN);
});

dual_test!(async fn a_family_statement_prints_and_goes_out_by_email_in_the_guarantors_language(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "stmt").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let sys = store::patients::Actor::system("test");
    let input = domain::patients::PatientInput {
        email: "claire@example.org".into(),
        email_consent: true,
        language: "fr".into(),
        ..patient_input("Claire", "Roy", "1980-01-01")
    };
    let mum = seed_patient(store, org.id, loc.id, input).await.id;
    let kid = store
        .register_patient(&scope, &sys, store::patients::NewPatient {
            location_id: loc.id,
            restricted: false,
            input: patient_input("Lou", "Roy", "2015-05-05"),
            family: store::patients::FamilyChoice::JoinFamilyOf(mum),
            status: domain::patients::PatientStatus::Active,
        })
        .await
        .unwrap()
        .id;
    store.post(&scope, &sys, &NewPosting::new(mum, Entry::Charge { amount: 12_000 }, "D1110 completed")).await.unwrap();
    store.post(&scope, &sys, &NewPosting::new(kid, Entry::Charge { amount: 8_000 }, "D1120 completed")).await.unwrap();
    store.post(&scope, &sys, &NewPosting::new(mum, Entry::Payment { amount: 2_000, method: domain::billing::Method::Cash }, "payment")).await.unwrap();
    let mail = std::sync::Arc::new(messaging::DevMailer::default());
    let app = TestApp::new(db).await;
    let desk = app.sign_in_as("stmt", Role::Receptionist).await;
    // The PDF, in French: both members, what is due.
    let pdf = app.get_as(&format!("/patients/{kid}/statement"), &desk).await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    // By email: queued, then sent by the job to the guarantor, in French.
    let r = app.request(form(&format!("/patients/{kid}/statement"), &desk, "action=email")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let runner = store::jobs::JobRunner::new(app.db.store.clone(), store::jobs::RunnerSettings::default())
        .handle(web::statements::STATEMENT_EMAIL, web::statements::StatementMailer { mail: mail.clone() });
    runner.tick().await.unwrap();
    let sent = mail.last_to("claire@example.org").expect("the statement was emailed");
    assert!(sent.subject.starts_with("Relevé de compte"), "{}", sent.subject);
    assert!(sent.text.contains("Roy, Claire") && sent.text.contains("Roy, Lou"), "{}", sent.text);
    assert!(sent.text.contains("Montant dû 180.00 USD"), "{}", sent.text);
    let logged = app.db.store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM communications WHERE org_id = $1 AND kind = 'statement' AND status = 'sent'").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(logged, 1);
    // Without an address (or consent), refused: print it instead.
    let other = seed_patient(&app.db.store, org.id, loc.id, patient_input("Max", "Bell", "1970-01-01")).await.id;
    let r = app.request(form(&format!("/patients/{other}/statement"), &desk, "action=email")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("no email address"), "{}", r.body);
});
