#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The chart in a real headless Chromium, on both databases: a dentist charts a MOD composite
//! on tooth 16 by clicking the tooth's surfaces, then another by typing `26 MOD comp`; a
//! second browser (the hygienist's) sees the odontogram change without reloading; the
//! hygienist's stale save on the same tooth is refused with the reason. A hygienist enters a
//! full-mouth perio chart by keyboard alone: one keystroke a site (192) plus one per bleeding
//! site, the cursor following the probing order. Screenshots go to
//! target/screenshots/chart-*.png and perio-*.png.

use fantoccini::key::Key;
use serde_json::json;
use test_support::{
    Browser, STAFF_PASSWORD, TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff,
    staff_email,
};

async fn wait_js(b: &Browser, script: &str, what: &str) {
    b.wait_js(script, what, "chart-failure").await;
}

/// Surfaces of a tooth drawn as planned, in the order the drawing has them.
async fn planned_surfaces(b: &Browser, tooth: u8) -> String {
    let v = b
        .client
        .execute(
            "return [...document.querySelectorAll(`a.tooth-link[data-tooth=\"${arguments[0]}\"] .srf.st-plan`)].map(e => e.dataset.surface).sort().join('');",
            vec![json!(tooth)],
        )
        .await
        .unwrap();
    v.as_str().unwrap().to_string()
}

dual_test!(system_clock async fn a_dentist_charts_by_click_and_by_keyboard_and_a_colleague_sees_it(db) {
    let (org, loc) = seed_org(&db.store, "chartb").await;
    seed_staff(&db.store, &org).await;
    let p = seed_patient(&db.store, org.id, loc.id, patient_input("Léa", "Bouchard", "1990-06-14")).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let chart = format!("{base}/patients/{}/chart", p.id);

    let Some(a) = Browser::start().await else { return };
    let Some(b) = Browser::start().await else { return };
    a.sign_in(&base, &staff_email("chartb", domain::identity::Role::Dentist), STAFF_PASSWORD).await;
    b.sign_in(&base, &staff_email("chartb", domain::identity::Role::Hygienist), STAFF_PASSWORD).await;
    a.goto(&chart).await;
    b.goto(&chart).await;
    wait_js(&b, "document.getElementById('live-status').dataset.state === 'on'", "B live").await;
    a.screenshot("chart-empty").await;

    // By clicking: tooth 16's mesial, occlusal and distal surfaces, then the code.
    for s in ["M", "O", "D"] {
        a.click(&format!("a.tooth-link[data-tooth=\"16\"] [data-surface=\"{s}\"]")).await;
    }
    wait_js(&a, "document.getElementById('tooth').value === '16' && document.getElementById('surfaces').value === 'MOD'", "the form holds 16 MOD").await;
    a.client
        .execute("const c = document.getElementById('code'); c.value = 'COMP'; c.dispatchEvent(new Event('change'));", vec![])
        .await
        .unwrap();
    a.submit("#chart-submit").await;
    assert_eq!(a.text_of("#notice").await, "Charted.");
    assert_eq!(planned_surfaces(&a, 16).await, "DMO");
    // B sees it without reloading.
    wait_js(&b, "document.querySelectorAll('a.tooth-link[data-tooth=\"16\"] .srf.st-plan').length === 3", "B sees 16 MOD").await;
    assert_eq!(b.text_of("#chart-live-note").await, "Updated: someone else just charted this patient.");

    // By keyboard: the line and Enter.
    a.fill("command", "26 MOD comp").await;
    let cmd = a.client.find(fantoccini::Locator::Id("command")).await.unwrap();
    a.client.execute("window.__cuspidPageBeforeSubmit = true;", vec![]).await.unwrap();
    cmd.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_js(&a, "window.__cuspidPageBeforeSubmit === undefined && document.readyState === 'complete'", "the keyboard line submitted").await;
    assert_eq!(planned_surfaces(&a, 26).await, "DMO");
    assert!(a.text_of("#chart-entries").await.contains("Composite filling"));
    wait_js(&b, "document.querySelectorAll('a.tooth-link[data-tooth=\"26\"] .srf.st-plan').length === 3", "B sees 26 MOD").await;
    a.client.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    a.screenshot("chart-odontogram").await;

    // B's form was opened before both: its save on tooth 16 is refused, and says why.
    b.fill("command", "16 O seal").await;
    b.submit("#chart-submit").await;
    let err = b.text_of("#chart-error").await;
    assert!(err.contains("tooth 16") && err.contains("changed by"), "{err}");
    b.screenshot("chart-conflict").await;
    // After the refusal the page is fresh: the same save goes in.
    b.fill("command", "16 O seal").await;
    b.submit("#chart-submit").await;
    assert_eq!(b.text_of("#notice").await, "Charted.");

    assert!(a.console_errors().await.is_empty());
    // The refused save's page came with its 409, which the console reports; nothing else.
    let errors: Vec<String> = b.console_errors().await.into_iter().filter(|e| !e.contains("409 (Conflict)")).collect();
    assert!(errors.is_empty(), "{errors:?}");
    a.close().await;
    b.close().await;
});

dual_test!(system_clock async fn a_hygienist_enters_a_full_mouth_perio_chart_by_keyboard(db) {
    let (org, loc) = seed_org(&db.store, "periob").await;
    seed_staff(&db.store, &org).await;
    let p = seed_patient(&db.store, org.id, loc.id, patient_input("Omar", "Said", "1968-02-21")).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(b) = Browser::start().await else { return };
    b.sign_in(&base, &staff_email("periob", domain::identity::Role::Hygienist), STAFF_PASSWORD).await;
    b.goto(&format!("{base}/patients/{}/perio", p.id)).await;
    // 192 sites: depths 2, 3, 4 in turn; every tenth site bleeds. Then Enter saves.
    let mut keys = String::new();
    for i in 0..192 {
        keys.push(char::from(b'2' + (i % 3) as u8));
        if i % 10 == 9 {
            keys.push('b');
        }
    }
    let first = b.client.find(fantoccini::Locator::Css("input.pd[data-seq=\"0\"]")).await.unwrap();
    first.click().await.unwrap();
    first.send_keys(&keys).await.unwrap();
    // The cursor followed the probing order to the last site (38 distobuccal).
    wait_js(&b, "document.activeElement && document.activeElement.id === 'pd_38_DB'", "the last site has the cursor").await;
    wait_js(&b, "document.getElementById('pd_21_MB').value === String(2 + (24 % 3))", "21 MB is the 25th site").await;
    b.client.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    b.screenshot("perio-entry").await;
    b.client.execute("window.__cuspidPageBeforeSubmit = true;", vec![]).await.unwrap();
    let last = b.client.find(fantoccini::Locator::Id("pd_38_DB")).await.unwrap();
    last.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_js(&b, "window.__cuspidPageBeforeSubmit === undefined && document.readyState === 'complete'", "saved").await;
    assert_eq!(b.text_of("#notice").await, "Exam saved.");
    assert_eq!(b.text_of("#sum-4").await, "64", "every third site is 4 mm");
    assert_eq!(b.text_of("#sum-bop").await, "10 %", "19 of 192 sites bleed");
    b.screenshot("perio-chart").await;
    assert!(b.console_errors().await.is_empty());
    b.close().await;
});

dual_test!(system_clock async fn a_signed_exam_can_only_take_an_addendum(db) {
    let (org, loc) = seed_org(&db.store, "visitb").await;
    seed_staff(&db.store, &org).await;
    let p = seed_patient(&db.store, org.id, loc.id, patient_input("Inès", "Roy", "1985-09-09")).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(b) = Browser::start().await else { return };
    b.sign_in(&base, &staff_email("visitb", domain::identity::Role::Dentist), STAFF_PASSWORD).await;
    // Chart a finding and its planned work first: the signed record keeps them.
    b.goto(&format!("{base}/patients/{}/chart", p.id)).await;
    b.fill("command", "26 O caries").await;
    b.submit("#chart-submit").await;
    b.fill("command", "26 O comp").await;
    b.submit("#chart-submit").await;
    // Open an exam from the template, write the notes, sign.
    b.goto(&format!("{base}/patients/{}/visits", p.id)).await;
    b.fill("chief_complaint", "Sensitive to cold, upper left").await;
    b.submit("#visit-open").await;
    let subjective = b.client.find(fantoccini::Locator::Id("subjective")).await.unwrap();
    assert!(subjective.prop("value").await.unwrap().unwrap().starts_with("Chief complaint:"), "the template filled the notes");
    b.fill("assessment", "Caries 26 occlusal, reversible pulpitis").await;
    b.fill("plan", "Composite 26 O next visit").await;
    b.submit("#soap-sign").await;
    assert_eq!(b.text_of("#notice").await, "Visit signed; the record is locked.");
    assert!(b.text_of("#signed-record").await.contains("Caries 26 occlusal, reversible pulpitis"));
    // Nothing to edit any more: no note fields, no save button; only the addendum form.
    assert!(b.client.find(fantoccini::Locator::Id("soap-form")).await.is_err());
    assert!(b.client.find(fantoccini::Locator::Id("assessment")).await.is_err());
    // The snapshot shows 26 as it was: its occlusal surface planned.
    wait_js(&b, "document.querySelectorAll('.snapshot a.tooth-link[data-tooth=\"26\"] .srf.st-plan').length === 1", "the snapshot's 26 O").await;
    // An edit sent anyway (an old tab) is refused, and says to add an addendum.
    let path = b.path().await;
    b.client
        .execute(
            "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0]; \
             for (const [k, v] of [['action', 'save'], ['chief_complaint', 'x'], ['subjective', 'changed'], ['objective', ''], ['assessment', 'changed'], ['plan', '']]) { \
               const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); } \
             document.body.appendChild(f); window.__cuspidPageBeforeSubmit = true; f.submit();",
            vec![json!(path)],
        )
        .await
        .unwrap();
    wait_js(&b, "window.__cuspidPageBeforeSubmit === undefined && document.readyState === 'complete'", "the refusal").await;
    assert!(b.text_of("#visit-error").await.contains("add an addendum"));
    assert!(b.text_of("#signed-record").await.contains("Caries 26 occlusal, reversible pulpitis"), "unchanged");
    // The addendum.
    b.fill("addendum", "Patient reports the sensitivity began after whitening.").await;
    b.submit("#addendum-save").await;
    assert!(b.text_of("#addenda").await.contains("after whitening"));
    assert!(b.text_of("#addenda").await.contains("dentist@visitb.test"));
    b.screenshot("visit-signed").await;
    let errors: Vec<String> = b.console_errors().await.into_iter().filter(|e| !e.contains("409 (Conflict)")).collect();
    assert!(errors.is_empty(), "{errors:?}");
    b.close().await;
});
