#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The front desk in a real headless Chromium, on both databases: register a patient whose
//! guarantor is a family member (picked by typing a name), add a penicillin allergy and see
//! the banner, upload a consent PDF and preview it, find the patient by a misspelled name and
//! by a phone number typed in another format, open them with the keyboard. Screenshots go to
//! target/screenshots/patient-*.png.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::key::Key;
use test_support::{
    Browser, STAFF_PASSWORD, TestApp, dual_test, seed_org, seed_staff, staff_email,
};

/// A one-page PDF that says `text`, with a correct cross-reference table.
fn pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

async fn set_value(b: &Browser, id: &str, value: &str) {
    b.client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![serde_json::json!(id), serde_json::json!(value)],
        )
        .await
        .unwrap();
}

/// Waits until the element's text contains `needle`.
async fn wait_text(b: &Browser, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(el) = b.client.find(Locator::Css(css)).await {
            last = el.text().await.unwrap_or_default();
            if last.contains(needle) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {needle:?}; last: {last:?}");
}

async fn wait_path(b: &Browser, prefix: &str) -> String {
    for _ in 0..100 {
        let p = b.path().await;
        if p.starts_with(prefix) {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached {prefix}; at {}", b.path().await);
}

dual_test!(system_clock async fn the_front_desk_registers_a_family_files_a_consent_and_finds_them(db) {
    let (org, _) = seed_org(&db.store, "desk").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(b) = Browser::start().await else { return };
    b.sign_in(&base, &staff_email("desk", domain::identity::Role::Receptionist), STAFF_PASSWORD).await;

    // The mother, responsible for her own account.
    b.goto(&format!("{base}/patients/new")).await;
    b.fill("given_name", "Marie").await;
    b.fill("family_name", "Gagnon").await;
    set_value(&b, "birth_date", "1980-04-04").await;
    b.fill("phone_mobile", "(802) 555-0100").await;
    b.click("#sms_consent").await;
    b.fill("email", "marie.gagnon@example.com").await;
    b.click("#save-patient").await;
    let mother = wait_path(&b, "/patients/0").await;
    assert!(b.text_of("h1").await.contains("Gagnon, Marie"));

    // The daughter: her guarantor is her mother, picked by typing the name.
    b.goto(&format!("{base}/patients/new")).await;
    b.fill("given_name", "Léa").await;
    b.fill("family_name", "Gagnon").await;
    set_value(&b, "birth_date", "2015-06-06").await;
    b.fill("family_member_search", "gagnon mar").await;
    let option = b.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(".picker-list li")).await.unwrap();
    assert!(option.text().await.unwrap().contains("Gagnon, Marie"));
    b.screenshot("patient-register-family-member").await;
    // The picker answers to the keyboard.
    let search = b.client.find(Locator::Id("family_member_search")).await.unwrap();
    search.send_keys(&Key::Down.to_string()).await.unwrap();
    search.send_keys(&Key::Enter.to_string()).await.unwrap();
    let join = b.client.find(Locator::Id("family_mode_join")).await.unwrap();
    assert_eq!(join.prop("checked").await.unwrap().as_deref(), Some("true"), "choosing a member picks 'family member'");
    b.click("#save-patient").await;
    let daughter = wait_path(&b, "/patients/0").await;
    assert_ne!(daughter, mother);
    assert_eq!(b.text_of("#guarantor-name").await, "Gagnon, Marie");

    // A penicillin allergy: the banner appears on her pages.
    b.goto(&format!("{base}{daughter}/history")).await;
    b.fill("allergy_substance_0", "Penicillin").await;
    b.client.find(Locator::Css("input[name=allergy_reaction_0]")).await.unwrap().send_keys("hives, swelling").await.unwrap();
    b.client.find(Locator::Css("#allergy_severity_0 option[value=severe]")).await.unwrap().click().await.unwrap();
    b.click("#reviewed").await;
    b.screenshot("patient-history-form").await;
    b.click("#save-history").await;
    wait_path(&b, &daughter).await;
    let banner = wait_text(&b, "#medical-alerts", "Penicillin").await;
    assert!(banner.contains("hives, swelling"), "{banner}");
    let critical = b.client.find(Locator::Css("#medical-alerts li.alert-critical")).await.unwrap();
    assert!(critical.text().await.unwrap().contains("Penicillin"));
    b.screenshot("patient-profile-banner").await;

    // A consent PDF, uploaded and previewed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("consent-lea-gagnon.pdf");
    std::fs::write(&file, pdf("Consent to treatment - Lea Gagnon")).unwrap();
    b.client.find(Locator::Id("doc-file")).await.unwrap().send_keys(&file.display().to_string()).await.unwrap();
    b.fill("doc-title", "Treatment consent").await;
    b.click("#upload-submit").await;
    wait_path(&b, &format!("{daughter}/documents/")).await;
    let frame = b.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("pdf-frame")).await.unwrap();
    let src = frame.attr("src").await.unwrap().unwrap();
    let served = b.client.execute(
        "return fetch(arguments[0]).then(r => r.headers.get('content-type') + ' ' + r.status)",
        vec![serde_json::json!(src)],
    ).await.unwrap();
    assert_eq!(served.as_str(), Some("application/pdf 200"), "the preview's link serves the PDF");
    assert!(b.text_of("#medical-alerts").await.contains("Penicillin"), "the banner on the document page too");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.screenshot("patient-document-preview").await;

    // Found by a misspelled name, as you type, and opened with the keyboard.
    b.goto(&format!("{base}/patients")).await;
    b.fill("global-search", "Gagnnon").await;
    // The live answer (not the recent list shown on arrival).
    wait_text(&b, "#results-caption", "Matches: 2").await;
    wait_text(&b, "#patient-results tbody", "Gagnon, Léa").await;
    let rows = wait_text(&b, "#patient-results tbody", "Gagnon, Marie").await;
    assert!(rows.contains("(802) 555-0100"), "{rows}");
    b.screenshot("patient-search-misspelled").await;
    // By the phone number, typed another way.
    b.fill("global-search", "802.555.0100").await;
    wait_text(&b, "#results-caption", "Matches: 1").await;
    let mut rows = String::new();
    for _ in 0..100 {
        rows = b.text_of("#patient-results tbody").await;
        if rows.contains("Gagnon, Marie") && !rows.contains("Léa") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rows.contains("Gagnon, Marie") && !rows.contains("Léa"), "only the number's owner: {rows}");
    let search = b.client.find(Locator::Id("global-search")).await.unwrap();
    search.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_path(&b, &mother).await;

    // "/" anywhere goes to the search.
    b.goto(&format!("{base}/profile")).await;
    b.client.find(Locator::Css("body")).await.unwrap().send_keys("/").await.unwrap();
    wait_path(&b, "/patients").await;

    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "{errors:?}");
    b.close().await;
});
