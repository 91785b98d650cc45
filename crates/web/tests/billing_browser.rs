#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The patient's account in Chromium, on both databases: the work completed at the chair is on
//! the account at its fee; the front desk takes a partial card payment typed with a decimal
//! comma; the same form sent again takes nothing twice; a refused overpayment keeps what was
//! typed; billing reverses a posting with a reason; the assistant has no Account tab.

use domain::clinical::chart::EntryRequest;
use domain::clinical::teeth::Numbering;
use domain::identity::Role;
use store::clinical::ChartPermits;
use store::patients::Actor;
use test_support::{
    Browser, STAFF_PASSWORD, TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff,
    staff_email,
};

dual_test!(system_clock async fn the_front_desk_takes_a_payment_once_and_billing_reverses_one(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "acb").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let dr = Actor::system("dr");
    let p = seed_patient(store, org.id, loc.id, patient_input("Lea", "Brun", "1975-04-02")).await.id;
    // At the chair: a crown on 36 and a filling on 17, completed.
    for (code, tooth, surfaces) in [("CROWN", "36", None), ("COMP", "17", Some("MO"))] {
        store
            .add_chart_entry(&scope, &dr, ChartPermits { may_complete_dentist_only: true }, p, Numbering::Fdi, &EntryRequest {
                code: code.into(),
                tooth: Some(tooth.into()),
                surfaces: surfaces.map(str::to_string),
                status: Some("completed".into()),
                ..Default::default()
            }, None)
            .await
            .unwrap();
    }
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let store = &app.db.store;

    let Some(f) = Browser::start().await else { return };
    f.sign_in(&base, &staff_email("acb", Role::Receptionist), STAFF_PASSWORD).await;
    f.goto(&format!("{base}/patients/{p}")).await;
    f.click(".patient-tabs a[href$='/account']").await;
    assert_eq!(f.text_of("#acct-balance").await, "1260.00 USD");
    let postings = f.text_of("#postings").await;
    assert!(postings.contains("CROWN completed") && postings.contains("COMP completed"), "{postings}");
    // A partial card payment, typed the French way.
    f.fill("pay-amount", "400,50").await;
    f.fill("pay-reference", "visa 4242").await;
    let token: String = serde_json::from_value(f.client.execute("return document.querySelector('#pay-form [name=token]').value", vec![]).await.unwrap()).unwrap();
    f.submit("#pay-submit").await;
    assert_eq!(f.text_of("#notice").await, "The payment is posted.");
    assert_eq!(f.text_of("#acct-balance").await, "859.50 USD");
    assert!(f.text_of("#postings").await.contains("Card · visa 4242"));
    // The same form sent again (a double press, the browser's resend): nothing more.
    f.client.execute(
        "const fm = document.getElementById('pay-form'); fm.querySelector('[name=token]').value = arguments[0]; \
         document.getElementById('pay-amount').value = '400,50'; document.getElementById('pay-reference').value = 'visa 4242'; fm.submit();",
        vec![serde_json::json!(token)],
    ).await.unwrap();
    f.wait_js("document.getElementById('notice') && document.getElementById('notice').textContent.includes('already taken')", "the second send refused", "account-failure").await;
    assert_eq!(f.text_of("#acct-balance").await, "859.50 USD");
    let payments = store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM ledger_postings WHERE org_id = $1 AND kind = 'payment'").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(payments, 1);
    // The walkout receipt: what was paid, for what, what is left.
    let href: String = serde_json::from_value(f.client.execute("return document.querySelector('tr[data-kind=payment] .receipt-link').getAttribute('href')", vec![]).await.unwrap()).unwrap();
    let cookie = app.sign_in(&staff_email("acb", Role::Receptionist), STAFF_PASSWORD).await;
    let r = test_support::http().get(format!("{base}{href}")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("receipt.pdf"), &pdf).unwrap();
    match std::process::Command::new("pdftotext").args(["-layout"]).arg(dir.join("receipt.pdf")).arg("-").output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("Receipt") && text.contains("Brun, Lea") && text.contains("400.50 USD") && text.contains("CROWN completed") && text.contains("859.50 USD"), "{text}");
            let png = std::process::Command::new("pdftoppm").args(["-png", "-r", "80", "-singlefile"]).arg(dir.join("receipt.pdf")).arg(dir.join("receipt")).output().unwrap();
            assert!(png.status.success());
        }
        Err(_) => assert!(std::env::var("CI").as_deref() != Ok("true"), "pdftotext (poppler-utils) is needed under CI"),
    }
    let errors = f.console_errors().await;
    assert!(errors.is_empty(), "{errors:?}");
    // More than owed, without taking the rest as credit: refused (a 422), the amount kept.
    f.fill("pay-amount", "900").await;
    f.submit("#pay-submit").await;
    assert!(f.text_of("#form-errors").await.contains("more than the 859.50 USD owed"));
    let kept: String = serde_json::from_value(f.client.execute("return document.getElementById('pay-amount').value", vec![]).await.unwrap()).unwrap();
    assert_eq!(kept, "900");
    f.screenshot("account-front-desk").await;
    // The front desk may not reverse.
    assert!(f.client.find(fantoccini::Locator::Css(".acct-reverse")).await.is_err());
    f.close().await;

    // Billing reverses the payment: dated today, said why, the balance back.
    let b = Browser::start().await.unwrap();
    b.sign_in(&base, &staff_email("acb", Role::Billing), STAFF_PASSWORD).await;
    b.goto(&format!("{base}/patients/{p}/account")).await;
    b.click("tr[data-kind='payment'] .acct-reverse summary").await;
    b.fill("why-3", "card refused by the bank").await;
    b.submit("tr[data-kind='payment'] .acct-reverse button").await;
    assert_eq!(b.text_of("#notice").await, "The posting is reversed (the reversal is dated today).");
    assert_eq!(b.text_of("#acct-balance").await, "1260.00 USD");
    let rows = b.text_of("#postings").await;
    assert!(rows.contains("reverses #3") && rows.contains("card refused by the bank"), "{rows}");
    // A payment plan for the crown: three months, no interest, on the page.
    b.click(".plan-new summary").await;
    b.fill("plan-principal", "1100").await;
    b.fill("plan-count", "3").await;
    b.submit("#plan-create").await;
    assert_eq!(b.text_of("#notice").await, "The payment plan is made.");
    let plans = b.text_of("#plans").await;
    assert!(plans.contains("PP-000001") && plans.contains("3 monthly installments (no interest)") && plans.contains("1100.00 USD") && plans.contains("366.67 USD"), "{plans}");
    b.screenshot("account-billing").await;
    assert!(store.verify_ledger(org.id).await.unwrap().faults.is_empty());
    b.close().await;

    // The administrator raises the crown's fee from tomorrow in the standard schedule.
    let ad = Browser::start().await.unwrap();
    ad.sign_in(&base, &staff_email("acb", Role::Admin), STAFF_PASSWORD).await;
    ad.goto(&format!("{base}/settings/fees")).await;
    ad.fill("fs-name", "Standard fees").await;
    ad.submit("#fs-create").await;
    assert_eq!(ad.text_of("#notice").await, "The schedule is created.");
    ad.client.execute("document.getElementById('code-1').value = 'CROWN'; document.getElementById('from-1').value = '2026-01-01';", vec![]).await.unwrap();
    ad.fill("fee-1", "1150").await;
    ad.submit(".set-fee button").await;
    assert_eq!(ad.text_of("#notice").await, "The fee is set.");
    let tomorrow = store.now().to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).date().tomorrow().unwrap();
    ad.client.execute("document.getElementById('code-1').value = 'CROWN'; document.getElementById('from-1').value = arguments[0];", vec![serde_json::json!(tomorrow.to_string())]).await.unwrap();
    ad.fill("fee-1", "1 190,00").await;
    ad.submit(".set-fee button").await;
    let fees = ad.text_of(".fees").await;
    assert!(fees.contains("1150.00 USD") && fees.contains("1190.00 USD") && fees.contains("upcoming"), "{fees}");
    ad.screenshot("fee-schedules").await;
    ad.close().await;

    // The assistant has no Account tab, and the page answers 403.
    let a = Browser::start().await.unwrap();
    a.sign_in(&base, &staff_email("acb", Role::Assistant), STAFF_PASSWORD).await;
    a.goto(&format!("{base}/patients/{p}/chart")).await;
    assert!(a.client.find(fantoccini::Locator::Css(".patient-tabs a[href$='/account']")).await.is_err());
    a.close().await;
});
