#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Prescribing in a real headless Chromium, on both databases: a dentist prescribes
//! amoxicillin to a patient allergic to penicillin. Choosing the medicine shows the warning at
//! once; the form will not go without an override reason (the browser says so, and the
//! server refuses it too when the browser is bypassed); with a reason it is written and the
//! reason kept. The PDF is fetched as the browser would, read back by poppler's pdftotext and
//! rendered to PNG by pdftoppm. Screenshots: target/screenshots/rx-*.png.

use std::process::Command;
use std::time::Duration;

use domain::identity::Role;
use serde_json::json;
use test_support::{
    Browser, STAFF_PASSWORD, TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff,
    staff_email,
};

async fn wait_js(b: &Browser, script: &str, what: &str) {
    b.wait_js(script, what, "rx-failure").await;
}

fn poppler(tool: &str) -> bool {
    let found = Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} (poppler-utils) is needed under CI"
        );
        eprintln!("SKIPPED: {tool} not installed (apt-get install poppler-utils)");
    }
    found
}

dual_test!(system_clock async fn amoxicillin_for_a_penicillin_allergy_is_warned_then_overridden(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "rxb").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let dentist = store.user_by_email(&staff_email("rxb", Role::Dentist)).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.add_provider_profile(store, &scope, dentist.id, &domain::identity::provider::ProviderProfile {
        licence_number: "QC-12345".into(),
        npi: String::new(),
        specialty: "general_dentistry".into(),
        color: "#0d9488".into(),
    }).await.unwrap();
    tx.commit().await.unwrap();
    let p = seed_patient(store, org.id, loc.id, patient_input("Léa", "Gagnon", "1987-02-14")).await;
    store.save_medical_history(&scope, &store::patients::Actor::system("test"), p.id, &domain::patients::history::MedicalHistory {
        allergies: vec![domain::patients::history::Allergy { substance: "Penicillin".into(), reaction: "hives".into(), severity: "severe".into() }],
        ..Default::default()
    }, true).await.unwrap();
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let amox = app
        .db
        .store
        .medicines(&scope)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.medicine.name == "Amoxicillin")
        .unwrap()
        .id;

    let Some(b) = Browser::start().await else { return };
    b.sign_in(&base, &staff_email("rxb", Role::Dentist), STAFF_PASSWORD).await;
    b.goto(&format!("{base}/patients/{}/prescriptions", p.id)).await;
    // Choosing the medicine loads its defaults and the checks.
    b.client
        .execute(
            "const s = document.getElementById('medicine'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
            vec![json!(amox.to_string())],
        )
        .await
        .unwrap();
    wait_js(&b, "document.getElementById('rx-warnings')", "the allergy warning").await;
    let warning = b.text_of("#rx-warnings").await;
    assert!(warning.contains("allergic to Penicillin") && warning.contains("is a penicillin"), "{warning}");
    assert_eq!(b.client.execute("return document.getElementById('dose').value;", vec![]).await.unwrap(), json!("1 capsule"));
    wait_js(&b, "document.activeElement && document.activeElement.id === 'override_reason'", "the reason has the focus").await;
    b.client.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    b.screenshot("rx-warning").await;

    // The browser will not send it without a reason…
    b.client.execute("document.getElementById('rx-write').click();", vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.client.execute("return document.getElementById('override_reason').validity.valueMissing;", vec![]).await.unwrap(), json!(true));
    assert!(b.path().await.ends_with(&format!("?medicine={amox}&visit=")), "{}", b.path().await);
    // …and the server refuses it when the browser is bypassed, keeping what was typed.
    b.client
        .execute("const r = document.getElementById('override_reason'); r.removeAttribute('required'); document.getElementById('quantity').value = '28';", vec![])
        .await
        .unwrap();
    b.submit("#rx-write").await;
    assert!(b.text_of("#override-error").await.contains("need a reason"));
    assert_eq!(b.client.execute("return document.getElementById('quantity').value;", vec![]).await.unwrap(), json!("28"));

    // With the reason it is written, and the reason kept with it.
    b.fill("override_reason", "Rash in childhood only; amoxicillin tolerated in 2024").await;
    b.submit("#rx-write").await;
    assert_eq!(b.text_of("#notice").await, "Prescription written.");
    assert!(b.text_of("#rx-reference").await.starts_with("RX-000001"));
    assert_eq!(b.text_of("#rx-override-text").await, "Rash in childhood only; amoxicillin tolerated in 2024");
    assert!(b.text_of("#rx-overridden").await.contains("penicillin"));
    b.client.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    b.screenshot("rx-written").await;
    let pdf_href = b
        .client
        .execute("return document.getElementById('rx-pdf').getAttribute('href');", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert!(b.console_errors().await.iter().all(|e| e.contains("422")), "only the refused form's 422");
    b.close().await;

    // The PDF, as the browser's link serves it.
    let cookie = app.sign_in(&staff_email("rxb", Role::Dentist), STAFF_PASSWORD).await;
    let r = test_support::http()
        .get(format!("{base}{pdf_href}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join("rx.pdf");
    std::fs::write(&pdf, &bytes).unwrap();
    if !poppler("pdftotext") || !poppler("pdftoppm") {
        return;
    }
    let text = Command::new("pdftotext").arg("-layout").arg(&pdf).arg("-").output().unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    for want in ["Prescription", "RX-000001", "Léa Gagnon", "14 February 1987", "Amoxicillin 500 mg capsule", "1 capsule", "every 8 hours", "28 (twenty-eight)", "0 (zero)", "Licence QC-12345", "Prescriber's signature", "Page 1 of 1"] {
        assert!(text.contains(want), "{want:?} not in the PDF:\n{text}");
    }
    let png = Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-singlefile"])
        .arg(&pdf)
        .arg(dir.join("rx-pdf"))
        .output()
        .unwrap();
    assert!(png.status.success(), "{}", String::from_utf8_lossy(&png.stderr));
    let size = std::fs::metadata(dir.join("rx-pdf.png")).unwrap().len();
    assert!(size > 10_000, "a rendered page, not a blank one: {size} bytes");
});
