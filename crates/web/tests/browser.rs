#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The shell in a real headless Chromium: it loads, its live-updates socket connects, and the
//! console stays free of errors. Screenshots go to target/screenshots/.

use std::time::Duration;

use test_support::{Browser, STAFF_PASSWORD, TestApp, TestDb, seed_org, seed_staff, staff_email};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_loads_without_console_errors_and_goes_live() {
    let db = TestDb::sqlite().await;
    let (org, _) = seed_org(&db.store, "browser").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let admin = staff_email("browser", domain::identity::Role::Admin);
    browser.sign_in(&base, &admin, STAFF_PASSWORD).await;
    browser.goto(&format!("{base}/dashboard")).await;
    let title = browser.client.title().await.unwrap();
    assert!(title.contains("Dashboard"), "{title}");
    // the websocket connects: the status dot turns on
    let mut live = false;
    for _ in 0..50 {
        let class = browser
            .client
            .execute(
                "return document.getElementById('live-status').className",
                vec![],
            )
            .await
            .unwrap();
        if class.as_str().unwrap_or("").contains("live-on") {
            live = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(live, "the live-updates socket connected");
    // an event committed for this org arrives in the page
    browser
        .client
        .execute(
            "window.__got = []; document.addEventListener('cuspid:event', e => window.__got.push(e.detail.kind));",
            vec![],
        )
        .await
        .unwrap();
    app.db
        .store
        .publish(Some(org.id), "test.ping", serde_json::json!({}))
        .await
        .unwrap();
    let mut got = false;
    for _ in 0..50 {
        let v = browser
            .client
            .execute("return window.__got.join(',')", vec![])
            .await
            .unwrap();
        if v.as_str().unwrap_or("").contains("test.ping") {
            got = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(got, "the event reached the page");
    browser.screenshot("dashboard").await;
    browser.goto(&format!("{base}/patients")).await;
    browser.screenshot("patients-planned").await;
    let job = app
        .db
        .store
        .enqueue(
            store::jobs::NewJob::new("recall.reminder", serde_json::json!({}))
                .org(org.id)
                .attempts(1),
        )
        .await
        .unwrap();
    for j in app
        .db
        .store
        .claim_jobs("w", 10, Duration::from_secs(60))
        .await
        .unwrap()
    {
        app.db
            .store
            .fail_job(
                &j,
                "w",
                "SMTP server refused the connection",
                Duration::ZERO,
            )
            .await
            .unwrap();
    }
    browser.goto(&format!("{base}/admin/jobs")).await;
    let retry = browser
        .client
        .find(fantoccini::Locator::Css(
            "form[action$=\"/retry\"] button[type=submit]",
        ))
        .await
        .unwrap();
    browser.screenshot("admin-jobs").await;
    retry.click().await.unwrap();
    for _ in 0..50 {
        if app.db.store.job(job).await.unwrap().unwrap().status == "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.db.store.job(job).await.unwrap().unwrap().status,
        "pending",
        "retried from the page"
    );
    browser.goto(&format!("{base}/no-such-page")).await;
    browser.screenshot("not-found").await;
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("404 (Not Found)"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_in_the_browser() {
    let db = TestDb::sqlite().await;
    let (org, _) = seed_org(&db.store, "browser-signin").await;
    let mut tx = db.store.begin().await.unwrap();
    tx.create_user(
        &db.store,
        &domain::Scope::system(org.id),
        &store::identity::NewUser {
            email: "receptionist@clinic.example".into(),
            name: "Chloé Roy".into(),
            phone: None,
            password: Some("front desk all day long".into()),
            roles: vec![domain::identity::Role::Receptionist],
            locations: vec![],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    use fantoccini::Locator;
    browser.goto(&format!("{base}/login")).await;
    browser
        .client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("receptionist@clinic.example")
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("wrong password here")
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let alert = browser
        .client
        .wait()
        .for_element(Locator::Css(".alert-error"))
        .await
        .unwrap();
    assert!(alert.text().await.unwrap().contains("not correct"));
    browser.screenshot("login-wrong-password").await;
    browser
        .client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("front desk all day long")
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let name = browser
        .client
        .wait()
        .for_element(Locator::Css(".user-name"))
        .await
        .unwrap();
    assert_eq!(name.text().await.unwrap(), "Chloé Roy");
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/dashboard")
    );
    browser.screenshot("signed-in-dashboard").await;
    browser.goto(&format!("{base}/profile")).await;
    browser
        .client
        .wait()
        .for_element(Locator::Css(".badge-accent"))
        .await
        .unwrap();
    browser.screenshot("profile").await;
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("401"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
}

/// Idle for longer than the session allows: the next click leads to sign-in, which returns to
/// the page the user was on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_expiry_returns_to_the_page_after_signing_in_again() {
    let clock = std::sync::Arc::new(domain::FixedClock::new(test_support::test_epoch()));
    let db = TestDb::sqlite_with(clock.clone()).await;
    let (org, _) = seed_org(&db.store, "idle").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let email = staff_email("idle", domain::identity::Role::Receptionist);
    browser.sign_in(&base, &email, STAFF_PASSWORD).await;
    browser
        .goto(&format!("{base}/appointments?day=2026-03-02"))
        .await;
    assert_eq!(browser.path().await, "/appointments?day=2026-03-02");
    clock.advance(jiff::SignedDuration::from_mins(31));
    browser
        .goto(&format!("{base}/appointments?day=2026-03-02"))
        .await;
    let notice = browser.text_of(".alert-info").await;
    assert!(notice.contains("session ended"), "{notice}");
    assert!(browser.path().await.starts_with("/login?next="));
    browser.screenshot("login-session-ended").await;
    browser.fill("email", &email).await;
    browser.fill("password", STAFF_PASSWORD).await;
    browser.submit("button[type=submit]").await;
    browser.text_of(".user-name").await;
    assert_eq!(browser.path().await, "/appointments?day=2026-03-02");
    browser.close().await;
}

/// Password and authenticator code in a real browser: enrolment with the QR code, signing out,
/// a wrong code, then the right one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_password_and_authenticator_code() {
    use domain::Clock;
    use domain::identity::totp::{TotpSecret, code_at};
    let clock = std::sync::Arc::new(domain::FixedClock::new(test_support::test_epoch()));
    let db = TestDb::sqlite_with(clock.clone()).await;
    let (org, _) = seed_org(&db.store, "totp").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let email = staff_email("totp", domain::identity::Role::Dentist);
    browser.sign_in(&base, &email, STAFF_PASSWORD).await;
    browser.goto(&format!("{base}/profile/mfa")).await;
    let secret = browser.text_of("#totp-secret").await;
    let secret = TotpSecret::from_base32(&secret).expect("the key shown is base32");
    browser.screenshot("mfa-enrol").await;
    let code = code_at(&secret, clock.now().as_second());
    browser.fill("code", &code).await;
    browser
        .click("form[action=\"/profile/mfa\"] button[type=submit]")
        .await;
    let codes = browser.text_of(".recovery-codes").await;
    assert_eq!(
        codes.lines().filter(|l| !l.trim().is_empty()).count(),
        10,
        "{codes}"
    );
    browser.screenshot("mfa-recovery-codes").await;
    browser.click("form[action=\"/logout\"] button").await;
    browser.text_of("#login-title").await;

    browser.fill("email", &email).await;
    browser.fill("password", STAFF_PASSWORD).await;
    browser.submit("button[type=submit]").await;
    browser.text_of("#code").await;
    assert!(browser.path().await.starts_with("/login/mfa"));
    browser.fill("code", "123456").await;
    browser.submit("button[type=submit]").await;
    let alert = browser.text_of(".alert-error").await;
    assert!(alert.contains("not correct"), "{alert}");
    browser.screenshot("mfa-wrong-code").await;
    clock.advance(jiff::SignedDuration::from_secs(30));
    browser
        .fill("code", &code_at(&secret, clock.now().as_second()))
        .await;
    browser.submit("button[type=submit]").await;
    assert_eq!(
        browser.text_of(".user-name").await,
        format!("dentist of totp")
    );
    assert_eq!(browser.path().await, "/dashboard");
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("401"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
}

/// Sign-in by phone in a real browser: the number, a wrong code, then the texted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_by_phone_code() {
    let db = TestDb::sqlite().await;
    let (org, _) = seed_org(&db.store, "sms").await;
    let mut tx = db.store.begin().await.unwrap();
    tx.create_user(
        &db.store,
        &domain::Scope::system(org.id),
        &store::identity::NewUser {
            email: "hygiene@sms.test".into(),
            name: "Jordan Lee, RDH".into(),
            phone: Some("+15550100888".into()),
            password: None,
            roles: vec![domain::identity::Role::Hygienist],
            locations: vec![],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sms = std::sync::Arc::new(messaging::DevSms::new(10));
    browser.goto(&format!("{base}/login")).await;
    browser.click("#login-phone-link").await;
    browser.fill("phone", "555 010 0888").await;
    browser.screenshot("phone-number").await;
    browser.submit("button[type=submit]").await;
    let sent = browser.text_of("#code-sent").await;
    assert!(sent.contains("0888") && !sent.contains("555 010"), "{sent}");
    let runner =
        store::jobs::JobRunner::new(app.db.store.clone(), store::jobs::RunnerSettings::default())
            .handle(
                store::phone::SMS_SIGN_IN_CODE,
                web::phone::SignInCodeSender { sms: sms.clone() },
            );
    runner.tick().await.unwrap();
    let code = sms
        .last_to("+15550100888")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    browser.fill("code", wrong).await;
    browser.submit("button[type=submit]").await;
    let alert = browser.text_of(".alert-error").await;
    assert!(alert.contains("not correct"), "{alert}");
    browser.screenshot("phone-wrong-code").await;
    browser.fill("code", &code).await;
    browser.submit("button[type=submit]").await;
    assert_eq!(browser.text_of(".user-name").await, "Jordan Lee, RDH");
    assert_eq!(
        browser.path().await,
        "/appointments",
        "a hygienist lands on the agenda"
    );
    browser.close().await;
}

/// An administrator adds a provider through the `/doctors` form in a real browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_provider_in_the_browser() {
    let db = TestDb::sqlite().await;
    let (org, _) = seed_org(&db.store, "providers").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let admin = staff_email("providers", domain::identity::Role::Admin);
    browser.sign_in(&base, &admin, STAFF_PASSWORD).await;
    browser.goto(&format!("{base}/doctors")).await;
    browser.click("#add-provider").await;
    browser.fill("name", "Dr. Ngozi Okafor").await;
    browser.fill("email", "okafor@providers.test").await;
    browser.fill("phone", "802 555 0155").await;
    browser.fill("licence_number", "VT-DDS-0777").await;
    browser.fill("npi", "1234567890").await;
    browser.click("button[type=submit].btn-primary").await;
    let alert = browser.text_of(".alert-error").await;
    assert!(alert.contains("check digit"), "{alert}");
    browser.screenshot("doctors-invalid-npi").await;
    browser.fill("npi", "1234567893").await;
    browser.click("button[type=submit].btn-primary").await;
    let table = browser.text_of("#providers").await;
    assert!(
        table.contains("Dr. Ngozi Okafor") && table.contains("1234567893"),
        "{table}"
    );
    browser.screenshot("doctors").await;
    // The audit trail shows who did it.
    browser.goto(&format!("{base}/audit")).await;
    let events = browser.text_of("#audit-events").await;
    assert!(
        events.contains("provider.created") && events.contains(&admin),
        "{events}"
    );
    browser.click("#audit-verify").await;
    let verified = browser.text_of("#verify-result").await;
    assert!(verified.contains("intact"), "{verified}");
    browser.screenshot("audit").await;
    browser.goto(&format!("{base}/settings/roles")).await;
    let matrix = browser.text_of("#permission-matrix").await;
    assert!(matrix.contains("chart.sign"), "{matrix}");
    browser.screenshot("roles-matrix").await;
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("422"))
        .collect();
    assert!(
        errors.is_empty(),
        "console errors (the 422 is the refused NPI): {errors:?}"
    );
    browser.close().await;
}

/// Five wrong passwords lock the account: even the right one is refused for a while, with the
/// same message, and the lock lifts after its backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_after_repeated_wrong_passwords() {
    let clock = std::sync::Arc::new(domain::FixedClock::new(test_support::test_epoch()));
    let db = TestDb::sqlite_with(clock.clone()).await;
    let (org, _) = seed_org(&db.store, "lock").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let email = staff_email("lock", domain::identity::Role::Billing);
    browser.goto(&format!("{base}/login")).await;
    for _ in 0..5 {
        browser.fill("email", &email).await;
        browser.fill("password", "not the password at all").await;
        browser.submit("button[type=submit]").await;
        browser.text_of(".alert-error").await;
    }
    browser.fill("email", &email).await;
    browser.fill("password", STAFF_PASSWORD).await;
    browser.submit("button[type=submit]").await;
    let alert = browser.text_of(".alert-error").await;
    assert!(alert.contains("locked for a few minutes"), "{alert}");
    assert!(
        browser.path().await.starts_with("/login"),
        "still on the sign-in page"
    );
    browser.screenshot("login-locked").await;
    clock.advance(jiff::SignedDuration::from_mins(2));
    browser.fill("email", &email).await;
    browser.fill("password", STAFF_PASSWORD).await;
    browser.submit("button[type=submit]").await;
    assert_eq!(browser.text_of(".user-name").await, "billing of lock");
    browser.close().await;
}
