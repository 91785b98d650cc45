#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Exam completion routed, in a real headless Chromium, on both databases. The dentist signs
//! three exams in the browser: a high-value plan lands in the treatment coordinator's queue, an
//! urgent one at the top of the front desk's inbox, a simple one at checkout — each with its
//! task, the live badge on the Tasks link (the notification) and its PDF (read back by
//! pdftotext). Replaying the exams' routing jobs creates nothing twice. The coordinator then
//! presents the plan on the presentation view and the patient signs on the tablet.
//! Screenshots: target/screenshots/plan-*.png.

use std::process::Command;

use domain::clinical::chart::EntryRequest;
use domain::clinical::teeth::Numbering;
use domain::clinical::visit::VisitKind;
use domain::identity::Role;
use serde_json::json;
use store::clinical::ChartPermits;
use store::patients::Actor;
use store::visits::NewVisit;
use test_support::{
    Browser, STAFF_PASSWORD, TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff,
    staff_email,
};

fn entry(code: &str, tooth: &str, surfaces: Option<&str>) -> EntryRequest {
    EntryRequest {
        code: code.into(),
        tooth: Some(tooth.into()),
        surfaces: surfaces.map(str::to_string),
        status: Some("planned".into()),
        ..Default::default()
    }
}

async fn pdf_text(
    app: &TestApp,
    base: &str,
    email: &str,
    plan: uuid::Uuid,
    name: &str,
) -> Option<String> {
    let cookie = app.sign_in(email, STAFF_PASSWORD).await;
    let r = test_support::http()
        .get(format!("{base}/treatment-plans/{plan}/pdf"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    pdf_to_text(&bytes, name)
}

/// The text of a PDF (kept under target/screenshots), `None` without pdftotext outside CI.
fn pdf_to_text(bytes: &[u8], name: &str) -> Option<String> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join(format!("{name}.pdf"));
    std::fs::write(&pdf, bytes).unwrap();
    if Command::new("pdftotext").arg("-v").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pdftotext (poppler-utils) is needed under CI"
        );
        eprintln!("SKIPPED: pdftotext not installed");
        return None;
    }
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    if name == "plan-high" {
        let png = Command::new("pdftoppm")
            .args(["-png", "-r", "80", "-singlefile"])
            .arg(&pdf)
            .arg(dir.join("plan-pdf"))
            .output()
            .unwrap();
        assert!(png.status.success());
    }
    Some(String::from_utf8(out.stdout).unwrap())
}

dual_test!(system_clock async fn exam_completion_routes_to_the_coordinator_the_urgent_list_and_checkout(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "tpb").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let dr = Actor::system("dr");
    // A dentist with a provider profile and a chair: the urgent extraction can be booked.
    let dentist = store.user_by_email(&staff_email("tpb", Role::Dentist)).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.add_provider_profile(store, &scope, dentist.id, &domain::identity::provider::ProviderProfile {
        licence_number: "QC-555".into(),
        npi: String::new(),
        specialty: "general_dentistry".into(),
        color: "#0d9488".into(),
    }).await.unwrap();
    tx.commit().await.unwrap();
    store.create_operatory(&scope, &dr, loc.id, &domain::scheduling::OperatoryInput { name: "Op 1".into(), short_name: String::new() }).await.unwrap();
    let permits = ChartPermits { may_complete_dentist_only: true };
    let mut exams = Vec::new();
    for (given, kind, work) in [
        ("Hugo", VisitKind::Exam, vec![entry("IMPL", "36", None), entry("CROWN", "37", None)]),
        ("Ursula", VisitKind::Emergency, vec![entry("EXT", "48", None)]),
        ("Simon", VisitKind::Exam, vec![entry("COMP", "17", Some("O"))]),
    ] {
        let p = seed_patient(store, org.id, loc.id, patient_input(given, "Martin", "1979-06-01")).await.id;
        store.add_chart_entries(&scope, &dr, permits, p, Numbering::Fdi, &work).await.unwrap();
        let v = store.create_visit(&scope, &dr, p, &NewVisit { kind: Some(kind), chief_complaint: "exam".into(), ..Default::default() }).await.unwrap();
        exams.push((p, v.id));
    }
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let store = &app.db.store;
    let runner = store::jobs::JobRunner::new(store.clone(), store::jobs::RunnerSettings::default())
        .handle(store::plans::EXAM_ROUTE, web::clinical::plans::ExamRouter { objects: app.state.objects.clone() });

    let Some(b) = Browser::start().await else { return };
    // The dentist signs the three exams.
    b.sign_in(&base, &staff_email("tpb", Role::Dentist), STAFF_PASSWORD).await;
    for (p, v) in &exams {
        b.goto(&format!("{base}/patients/{p}/visits/{v}")).await;
        b.submit("#soap-sign").await;
        assert!(b.text_of("#signed-badge").await.contains("Signed"));
    }
    b.close().await;

    // The coordinator is looking at the inbox when the routing runs: the badge comes live.
    let c = Browser::start().await.unwrap();
    c.sign_in(&base, &staff_email("tpb", Role::TreatmentCoordinator), STAFF_PASSWORD).await;
    c.goto(&format!("{base}/tasks")).await;
    c.text_of("#tasks-empty").await;
    c.wait_js("document.getElementById('live-status').classList.contains('live-on')", "the live connection", "plan-failure").await;
    runner.tick().await.unwrap();
    c.wait_js("document.getElementById('tasks-badge') && document.getElementById('tasks-badge').textContent === '1' && !document.getElementById('tasks-badge').hidden", "the live task badge", "plan-failure").await;
    c.goto(&format!("{base}/tasks")).await;
    let tasks = c.text_of("#tasks").await;
    assert!(tasks.contains("Present TP-") && tasks.contains("Martin, Hugo"), "{tasks}");
    assert!(!tasks.contains("Ursula") && !tasks.contains("Simon"), "{tasks}");
    c.goto(&format!("{base}/coordinator")).await;
    let queue = c.text_of("#coord-queue").await;
    assert!(queue.contains("Martin, Hugo") && queue.contains("3200.00 USD"), "{queue}");
    assert_eq!(c.text_of("#stat-queue").await, "1");
    c.screenshot("plan-coordinator").await;

    // The front desk: the urgent booking first, then the checkout.
    let f = Browser::start().await.unwrap();
    f.sign_in(&base, &staff_email("tpb", Role::Receptionist), STAFF_PASSWORD).await;
    f.goto(&format!("{base}/tasks")).await;
    f.wait_js("document.getElementById('tasks-badge') && document.getElementById('tasks-badge').textContent === '2' && document.getElementById('tasks-badge').classList.contains('nav-badge-urgent')", "the front desk's badge", "plan-failure").await;
    let kinds: serde_json::Value = f.client.execute("return [...document.querySelectorAll('#tasks li')].map(li => li.dataset.kind + ' | ' + li.textContent.replace(/\\s+/g, ' '));", vec![]).await.unwrap();
    let kinds: Vec<String> = serde_json::from_value(kinds).unwrap();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds[0].starts_with("Urgent booking") && kinds[0].contains("Martin, Ursula") && kinds[0].contains("Urgent"), "{kinds:?}");
    assert!(kinds[1].starts_with("Checkout") && kinds[1].contains("Martin, Simon"), "{kinds:?}");
    f.screenshot("plan-front-desk").await;
    // The urgent plan, from its task: the series proposed, then booked.
    f.click("#tasks li[data-kind='Urgent booking'] .task-title a").await;
    assert!(f.text_of("#plan-route").await.contains("Urgent scheduling"));
    f.submit("#series-propose").await;
    let visits = f.text_of("#series-visits").await;
    assert!(visits.contains("EXT 48") && visits.contains("dentist of tpb"), "{visits}");
    f.client.execute("document.getElementById('series').scrollIntoView()", vec![]).await.unwrap();
    f.screenshot("plan-series").await;
    f.submit("#series-accept").await;
    assert_eq!(f.text_of("#notice").await, "The series is booked and linked to the plan.");
    assert_eq!(f.text_of("#plan-status").await, "Accepted");
    assert!(f.text_of("#plan-items").await.contains("Scheduled"));
    // The printed plan is filed in the patient's documents.
    f.goto(&format!("{base}/patients/{}", exams[1].0)).await;
    let docs = f.text_of("#documents").await;
    assert!(docs.contains("Treatment plan TP-") && docs.contains("Plan from the exam"), "{docs}");
    f.close().await;

    // Each plan has its PDF, on demand and filed once in the patient's documents.
    let filed = |p: domain::PatientId| {
        let scope = scope.clone();
        async move { store.documents(&scope, p, false).await.unwrap() }
    };
    let plans = store.plans(&scope, &dr, None, &[], 50).await.unwrap();
    assert_eq!(plans.len(), 3);
    let plan_of = |given: &str| plans.iter().find(|l| l.patient.given_name == given).unwrap().plan.clone();
    for (given, name, want) in [("Hugo", "plan-high", "Implant placement"), ("Ursula", "plan-urgent", "Extraction"), ("Simon", "plan-simple", "Composite filling")] {
        let plan = plan_of(given);
        if let Some(text) = pdf_text(&app, &base, &staff_email("tpb", Role::TreatmentCoordinator), plan.id, name).await {
            assert!(text.contains("Treatment plan") && text.contains(&plan.reference()) && text.contains(want) && text.contains(&format!("Martin, {given}")), "{name}:\n{text}");
        }
        let docs = filed(plan.patient_id).await;
        assert_eq!(docs.len(), 1, "{given}: {docs:?}");
        assert_eq!((docs[0].category.as_str(), docs[0].content_type.as_str()), ("treatment_plan", "application/pdf"));
        assert_eq!(plan.document_id, Some(docs[0].id));
        let (_, bytes) = app.state.objects.get(store, &scope, docs[0].object_id).await.unwrap();
        if let Some(text) = pdf_to_text(&bytes, &format!("{name}-filed")) {
            assert!(text.contains(&plan.reference()) && text.contains(want), "{name} filed:\n{text}");
        }
    }

    // Replaying the exams' routing creates nothing twice.
    for (p, v) in &exams {
        store.enqueue(store::jobs::NewJob::new(store::plans::EXAM_ROUTE, json!({ "patient_id": p, "visit_id": v, "urgent": false })).org(org.id)).await.unwrap();
    }
    runner.tick().await.unwrap();
    assert_eq!(store.plans(&scope, &dr, None, &[], 50).await.unwrap().len(), 3);
    for (p, _) in &exams {
        assert_eq!(filed(*p).await.len(), 1, "the replay files no second document");
    }
    let coordinator = store.user_by_email(&staff_email("tpb", Role::TreatmentCoordinator)).await.unwrap().unwrap();
    assert_eq!(store.inbox(&scope, None, coordinator.id, &["coordinator".into()], false).await.unwrap().len(), 1);
    // The urgent booking is done (its task closed by the booking); the checkout waits.
    let desk = store.inbox(&scope, None, coordinator.id, &["receptionist".into()], false).await.unwrap();
    assert_eq!(desk.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(), vec!["route.checkout"]);

    // The coordinator presents the plan; the patient signs on the tablet.
    let high = plan_of("Hugo");
    c.goto(&format!("{base}/treatment-plans/{}/present", high.id)).await;
    assert!(c.text_of("#present-items").await.contains("Implant placement"));
    assert_eq!(c.text_of("#present-total").await, "3200.00 USD");
    c.screenshot("plan-presentation").await;
    // Without a signature the form does not go.
    c.client.execute("document.getElementById('accept-submit').click();", vec![]).await.unwrap();
    c.wait_js("document.getElementById('signature-pad').classList.contains('signature-missing')", "the missing signature", "plan-failure").await;
    c.client.execute(
        "const p = document.getElementById('signature-pad'); p.scrollIntoView(); const r = p.getBoundingClientRect(); \
         const ev = (t, x, y) => p.dispatchEvent(new PointerEvent(t, { clientX: r.left + x * r.width / 600, clientY: r.top + y * r.height / 200, pointerId: 7, bubbles: true })); \
         ev('pointerdown', 40, 120); for (let i = 1; i <= 40; i++) ev('pointermove', 40 + i * 12, 110 - 50 * Math.sin(i / 4)); ev('pointerup', 520, 100); \
         ev('pointerdown', 300, 150); ev('pointermove', 420, 160); ev('pointerup', 420, 160);",
        vec![],
    ).await.unwrap();
    c.submit("#accept-submit").await;
    assert_eq!(c.text_of("#notice").await, "Accepted and signed.");
    assert!(c.text_of("#present-signed").await.contains("Martin, Hugo"));
    c.wait_js("document.querySelector('.signature-show path') && document.querySelector('.signature-show path').getAttribute('d').split('L').length > 40", "the signature drawn back", "plan-failure").await;
    c.screenshot("plan-signed").await;
    // The presentation's task is done, and the badge says so.
    assert!(store.inbox(&scope, None, coordinator.id, &["coordinator".into()], false).await.unwrap().is_empty());
    c.wait_js("document.getElementById('tasks-badge') && document.getElementById('tasks-badge').hidden", "the badge emptied", "plan-failure").await;
    let accepted = store.plan(&scope, &dr, high.id).await.unwrap();
    assert_eq!(accepted.status, domain::plans::PlanStatus::Accepted);
    assert_eq!(accepted.decision.signed_by.as_deref(), Some("Martin, Hugo"));
    assert!(c.console_errors().await.is_empty());
    c.close().await;
});
