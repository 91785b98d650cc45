#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Post-exam checkout in Chromium, on both databases, with cards charged through a local
//! server that speaks Stripe's API: the dentist signs the exam; the front desk opens the
//! checkout from its task, reviews the plan, invoices the day's work, has a card declined
//! (nothing posted), collects a partial card payment, books the next visit the planner
//! proposes, prints the receipt (the PDF rendered to PNG) and finishes: the task is done.
//! Screenshots: target/screenshots/checkout*.png.

use std::process::Command;
use std::sync::Arc;

use domain::clinical::chart::EntryRequest;
use domain::clinical::teeth::Numbering;
use domain::clinical::visit::VisitKind;
use domain::identity::Role;
use store::clinical::ChartPermits;
use store::patients::Actor;
use store::visits::NewVisit;
use test_support::{
    Browser, STAFF_PASSWORD, TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff,
    staff_email,
};

dual_test!(system_clock async fn a_simple_checkout_after_an_exam_from_review_to_receipt(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "cob").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let dr = Actor::system("dr");
    let dentist = store.user_by_email(&staff_email("cob", Role::Dentist)).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.add_provider_profile(store, &scope, dentist.id, &domain::identity::provider::ProviderProfile {
        licence_number: "NY-77".into(),
        npi: String::new(),
        specialty: "general_dentistry".into(),
        color: "#0d9488".into(),
    }).await.unwrap();
    tx.commit().await.unwrap();
    store.create_operatory(&scope, &dr, loc.id, &domain::scheduling::OperatoryInput { name: "Op 1".into(), short_name: String::new() }).await.unwrap();
    // The exam done today (95.00) and a filling on 17 planned.
    let p = seed_patient(store, org.id, loc.id, patient_input("Simon", "Martin", "1979-06-01")).await.id;
    let permits = ChartPermits { may_complete_dentist_only: true };
    store
        .add_chart_entry(&scope, &dr, permits, p, Numbering::Fdi, &EntryRequest { code: "EXAM".into(), status: Some("completed".into()), ..Default::default() }, None)
        .await
        .unwrap();
    store
        .add_chart_entries(&scope, &dr, permits, p, Numbering::Fdi, &[EntryRequest { code: "COMP".into(), tooth: Some("17".into()), surfaces: Some("O".into()), status: Some("planned".into()), ..Default::default() }])
        .await
        .unwrap();
    let visit = store.create_visit(&scope, &dr, p, &NewVisit { kind: Some(VisitKind::Exam), chief_complaint: "check-up".into(), ..Default::default() }).await.unwrap();
    let stripe = test_support::stripe::start().await;
    let gateway = messaging::StripeGateway::new(messaging::StripeSettings {
        base_url: stripe.base_url().to_string(),
        ..messaging::StripeSettings::new(stripe.secret_key())
    })
    .unwrap();
    let app = TestApp::with_state(db, web::WebConfig::default(), |s| s.with_cards(Arc::new(gateway))).await;
    let base = app.serve().await;
    let store = &app.db.store;
    let runner = store::jobs::JobRunner::new(store.clone(), store::jobs::RunnerSettings::default())
        .handle(store::plans::EXAM_ROUTE, web::clinical::plans::ExamRouter { objects: app.state.objects.clone() });

    let Some(b) = Browser::start().await else { return };
    b.sign_in(&base, &staff_email("cob", Role::Dentist), STAFF_PASSWORD).await;
    b.goto(&format!("{base}/patients/{p}/visits/{}", visit.id)).await;
    b.submit("#soap-sign").await;
    assert!(b.text_of("#signed-badge").await.contains("Signed"));
    b.close().await;
    let started = std::time::Instant::now();
    runner.tick().await.unwrap();

    // The front desk opens the checkout from its task.
    let f = Browser::start().await.unwrap();
    f.sign_in(&base, &staff_email("cob", Role::Receptionist), STAFF_PASSWORD).await;
    f.goto(&format!("{base}/tasks")).await;
    f.click("#tasks li[data-kind='Checkout'] .task-title a").await;
    // 1. The plan, with its estimate.
    let plan = f.text_of("#co-plan-items").await;
    assert!(plan.contains("COMP") && plan.contains("17") && plan.contains("160.00 USD"), "{plan}");
    assert_eq!(f.text_of("#co-estimate").await, "160.00 USD");
    assert_eq!(f.text_of("#co-balance").await, "95.00 USD");
    // 2. Today's exam invoiced in one press.
    assert!(f.text_of("#co-uninvoiced").await.contains("EXAM"));
    f.submit("#co-invoice").await;
    assert_eq!(f.text_of("#notice").await, "Today's work is invoiced.");
    let invoices = f.text_of("#co-invoices").await;
    assert!(invoices.contains("INV-000001") && invoices.contains("Issued"), "{invoices}");
    // A declined card: said so, nothing posted, what was typed kept.
    f.fill("co-amount", "50").await;
    f.fill("co-card", "pm_card_chargeDeclinedInsufficientFunds").await;
    f.submit("#co-pay-submit").await;
    let err = f.text_of("#form-errors").await;
    assert!(err.contains("declined") && err.contains("insufficient_funds"), "{err}");
    assert_eq!(f.text_of("#co-balance").await, "95.00 USD");
    // A partial card payment through the gateway.
    f.fill("co-amount", "50,00").await;
    f.fill("co-card", "pm_card_visa").await;
    f.submit("#co-pay-submit").await;
    assert_eq!(f.text_of("#notice").await, "Payment taken.");
    assert_eq!(f.text_of("#co-balance").await, "45.00 USD");
    assert!(f.text_of("#co-invoices").await.contains("Partly paid"));
    let intents = stripe.intents();
    let ok: Vec<_> = intents.iter().filter(|i| i.status == "succeeded").collect();
    assert_eq!(ok.len(), 1, "{intents:?}");
    assert_eq!((ok[0].amount, ok[0].currency.as_str()), (5_000, "usd"));
    let reference = store.db.fetch_one(store::Q::new("SELECT reference FROM ledger_postings WHERE org_id = $1 AND kind = 'payment'").bind(org.id)).await.unwrap().string("reference").unwrap();
    assert!(reference.contains("visa ····4242") && reference.contains(&ok[0].id), "{reference}");
    // 3. The next visit, as the planner proposes it.
    let visits = f.text_of("#co-visits").await;
    assert!(visits.contains("COMP 17") && visits.contains("dentist of cob"), "{visits}");
    f.screenshot("checkout").await;
    f.submit("#co-book-submit").await;
    assert_eq!(f.text_of("#notice").await, "The visits are booked.");
    assert!(!f.text_of("#co-upcoming").await.is_empty());
    // 4. The receipt, printed.
    let href: String = serde_json::from_value(f.client.execute("return document.querySelector('#co-docs .receipt-link').getAttribute('href')", vec![]).await.unwrap()).unwrap();
    let cookie = app.sign_in(&staff_email("cob", Role::Receptionist), STAFF_PASSWORD).await;
    let r = test_support::http().get(format!("{base}{href}")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("checkout-receipt.pdf"), &pdf).unwrap();
    match Command::new("pdftotext").args(["-layout"]).arg(dir.join("checkout-receipt.pdf")).arg("-").output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("Receipt") && text.contains("Martin, Simon") && text.contains("50.00 USD") && text.contains("45.00 USD"), "{text}");
            let png = Command::new("pdftoppm").args(["-png", "-r", "80", "-singlefile"]).arg(dir.join("checkout-receipt.pdf")).arg(dir.join("checkout-receipt")).output().unwrap();
            assert!(png.status.success());
        }
        Err(_) => assert!(std::env::var("CI").as_deref() != Ok("true"), "pdftotext (poppler-utils) is needed under CI"),
    }
    // Finished: the checkout task is done.
    f.submit("#co-finish").await;
    assert_eq!(f.text_of("#notice").await, "Checkout finished: the check-out task is done.");
    eprintln!("checkout: from the routed exam to a finished checkout in {:?} (browser steps included)", started.elapsed());
    let open = store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM staff_tasks WHERE org_id = $1 AND kind = 'route.checkout' AND status = 'open'").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(open, 0);
    // The declined card's page was a 422, as it should be; nothing else went wrong.
    let errors = f.console_errors().await;
    assert!(errors.iter().all(|e| e.contains("/checkout") && e.contains("422")), "{errors:?}");
    f.close().await;

    // Billing sees the invoice: on the list, on its page, and printed.
    let bl = Browser::start().await.unwrap();
    bl.sign_in(&base, &staff_email("cob", Role::Billing), STAFF_PASSWORD).await;
    bl.goto(&format!("{base}/invoices")).await;
    let list = bl.text_of("#invoices").await;
    assert!(list.contains("INV-000001") && list.contains("Martin, Simon") && list.contains("45.00 USD"), "{list}");
    bl.screenshot("invoices").await;
    bl.click("#invoices a[href^='/invoices/']").await;
    assert_eq!(bl.text_of("#inv-due").await, "45.00 USD");
    assert_eq!(bl.text_of("#inv-status").await, "Partly paid");
    bl.screenshot("invoice").await;
    let href: String = serde_json::from_value(bl.client.execute("return document.getElementById('inv-pdf').getAttribute('href')", vec![]).await.unwrap()).unwrap();
    let cookie = app.sign_in(&staff_email("cob", Role::Billing), STAFF_PASSWORD).await;
    let pdf = test_support::http().get(format!("{base}{href}")).header("cookie", cookie).send().await.unwrap().bytes().await.unwrap();
    std::fs::write(dir.join("invoice.pdf"), &pdf).unwrap();
    if let Ok(out) = Command::new("pdftotext").args(["-layout"]).arg(dir.join("invoice.pdf")).arg("-").output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Invoice INV-000001") && text.contains("Comprehensive examination") && text.contains("95.00 USD") && text.contains("45.00 USD"), "{text}");
        assert!(Command::new("pdftoppm").args(["-png", "-r", "80", "-singlefile"]).arg(dir.join("invoice.pdf")).arg(dir.join("invoice-pdf")).output().unwrap().status.success());
    }
    // The day sheet and the financial dashboard.
    bl.goto(&format!("{base}/payments")).await;
    assert_eq!(bl.text_of("#sheet-collected").await, "50.00 USD");
    bl.screenshot("day-sheet").await;
    bl.goto(&format!("{base}/reports")).await;
    assert_eq!(bl.text_of("#rep-receivable").await, "45.00 USD");
    assert_eq!(bl.text_of("#rep-collected-today").await, "50.00 USD");
    bl.screenshot("financial-dashboard").await;
    bl.close().await;
    assert!(store.verify_ledger(org.id).await.unwrap().faults.is_empty());
});
