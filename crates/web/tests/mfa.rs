#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Two-step sign-in over HTTP, on both databases: enrolment, sign-in with a TOTP code or a
//! recovery code (each once), the per-role requirement, and lockout on wrong codes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::Clock;
use domain::identity::Role;
use domain::identity::totp::{TotpSecret, code_at};
use jiff::SignedDuration;
use test_support::{
    STAFF_PASSWORD, TestApp, TestResponse, dual_test, seed_org, seed_staff, staff_email,
};

fn form(path: &str, cookie: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

fn api_sign_in(email: &str, totp: Option<&str>) -> Request<Body> {
    let mut body = serde_json::json!({ "email": email, "password": STAFF_PASSWORD });
    if let Some(t) = totp {
        body["totp"] = t.into();
    }
    Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn cookie_of(r: &TestResponse) -> String {
    r.header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let a = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"))
        + start.len();
    let b = text[a..].find(end).unwrap() + a;
    &text[a..b]
}

/// Enrols the user behind `cookie`; returns the secret and the recovery codes.
async fn enrol(app: &TestApp, cookie: &str, now: i64) -> (TotpSecret, Vec<String>) {
    let page = app.get_as("/profile/mfa", cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<svg") && page.body.contains("<path"),
        "a QR code"
    );
    let secret =
        TotpSecret::from_base32(between(&page.body, "id=\"totp-secret\">", "</code>")).unwrap();
    // Reloading shows the same secret (the person may already have scanned it).
    let again = app.get_as("/profile/mfa", cookie).await;
    assert_eq!(
        between(&again.body, "id=\"totp-secret\">", "</code>").replace(' ', ""),
        secret.to_base32()
    );
    let wrong = app
        .request(form("/profile/mfa", Some(cookie), "code=000000"))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("not the current code"),
        "{}",
        wrong.body
    );
    let ok = app
        .request(form(
            "/profile/mfa",
            Some(cookie),
            &format!("code={}", code_at(&secret, now)),
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let list = between(&ok.body, "<ol class=\"recovery-codes\">", "</ol>");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

dual_test!(fixed_clock async fn enrol_then_sign_in_with_a_code_or_a_recovery_code(db, clock) {
    let (org, _) = seed_org(&db.store, "mfa").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let email = staff_email("mfa", Role::Dentist);
    let cookie = app.sign_in(&email, STAFF_PASSWORD).await;
    let now = || clock.now().as_second();
    let (secret, codes) = enrol(&app, &cookie, now()).await;
    // The secret is stored encrypted, never in the clear.
    let raw = app.db.store.db.fetch_one(store::db::Q::new("SELECT totp_secret FROM users WHERE email = $1").bind(email.as_str())).await.unwrap();
    let stored = raw.opt_string("totp_secret").unwrap().unwrap();
    assert!(stored.starts_with("enc:v1:") && !stored.contains(&secret.to_base32()));
    let profile = app.get_as("/profile", &cookie).await;
    assert!(profile.body.contains("badge badge-accent\">On"), "the profile says MFA is on");

    // JSON API: the code is required, must be right, and is accepted once.
    let r = app.request(api_sign_in(&email, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["errors"][0]["field"], "totp");
    assert!(r.header("set-cookie").is_none());
    let r = app.request(api_sign_in(&email, Some("123456"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let used = code_at(&secret, now());
    let r = app.request(api_sign_in(&email, Some(&used))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the code spent on enrolment is not accepted again");
    clock.advance(SignedDuration::from_secs(30));
    let fresh = code_at(&secret, now());
    let r = app.request(api_sign_in(&email, Some(&fresh))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["mfa_enabled"], true);
    let r = app.request(api_sign_in(&email, Some(&fresh))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a code is accepted once");

    // Pages: password, then the code step; the pending session opens nothing.
    let r = app.request(form("/login", None, &format!("email={}&password={}&next=%2Fpatients", email.replace('@', "%40"), STAFF_PASSWORD.replace(' ', "+")))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/login/mfa?next=/patients"));
    let pending = cookie_of(&r);
    assert_eq!(app.get_as("/patients", &pending).await.status, StatusCode::SEE_OTHER, "not signed in yet");
    assert_eq!(app.get_as("/login/mfa?next=/patients", &pending).await.status, StatusCode::OK);
    let wrong = app.request(form("/login/mfa", Some(&pending), "code=999999&next=%2Fpatients")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("not correct"));
    // A recovery code, typed loosely, works once.
    let loose = codes[0].to_uppercase().replace('-', " ");
    let r = app.request(form("/login/mfa", Some(&pending), &format!("code={}&next=%2Fpatients", loose.replace(' ', "+")))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), Some("/patients"));
    let full = cookie_of(&r);
    assert_ne!(full, pending, "a new session id once the second factor passed");
    assert_eq!(app.get_as("/patients", &full).await.status, StatusCode::OK);
    assert_eq!(app.get_as("/patients", &pending).await.status, StatusCode::SEE_OTHER, "the pending session is gone");
    let r = app.request(api_sign_in(&email, Some(&codes[0]))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a recovery code works once");
    let r = app.request(api_sign_in(&email, Some(&codes[1]))).await;
    assert_eq!(r.status, StatusCode::OK);
    let left = app.get_as("/profile/mfa", &full).await;
    assert!(left.body.contains("<dd>8</dd>"), "8 recovery codes left");

    // Turning it off needs a code.
    let r = app.request(form("/profile/mfa/disable", Some(&full), "code=000000")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    clock.advance(SignedDuration::from_secs(30));
    let r = app.request(form("/profile/mfa/disable", Some(&full), &format!("code={}", code_at(&secret, now())))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app.request(api_sign_in(&email, None)).await;
    assert_eq!(r.status, StatusCode::OK, "password alone again");
});

dual_test!(fixed_clock async fn a_role_can_be_required_to_use_two_step_sign_in(db, clock) {
    let (org, _) = seed_org(&db.store, "mfa-role").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("mfa-role", Role::Admin).await;
    let page = app.get_as("/settings/security", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("value=\"hygienist\""));
    let r = app.request(form("/settings/security", Some(&admin), "role=hygienist&role=billing")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get_as("/settings/security?saved=1", &admin).await;
    assert!(page.body.contains("value=\"hygienist\" checked") && page.body.contains("value=\"billing\" checked"));
    assert!(!page.body.contains("value=\"dentist\" checked"));
    assert_eq!(app.db.store.mfa_required_roles(org.id).await.unwrap(), vec![Role::Billing, Role::Hygienist]);

    let hyg = app.sign_in_as("mfa-role", Role::Hygienist).await;
    let r = app.get_as("/appointments", &hyg).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/profile/mfa"));
    let page = app.get_as("/profile/mfa", &hyg).await;
    assert!(page.body.contains("Your role requires two-step sign-in"));
    let me = app.get_as("/api/v1/me", &hyg).await;
    assert_eq!(me.json()["mfa_required"], true);
    let (secret, _) = enrol(&app, &hyg, clock.now().as_second()).await;
    assert_eq!(app.get_as("/appointments", &hyg).await.status, StatusCode::OK, "after enrolment the work pages open");
    clock.advance(SignedDuration::from_secs(30));
    let r = app.request(form("/profile/mfa/disable", Some(&hyg), &format!("code={}", code_at(&secret, clock.now().as_second())))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a required second factor cannot be turned off");
    // Roles not checked are untouched.
    let dentist = app.sign_in_as("mfa-role", Role::Dentist).await;
    assert_eq!(app.get_as("/dashboard", &dentist).await.status, StatusCode::OK);
    // Only administrators manage it.
    let r = app.request(form("/settings/security", Some(&dentist), "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
});

dual_test!(fixed_clock async fn wrong_codes_lock_the_account_like_wrong_passwords(db, clock) {
    let (org, _) = seed_org(&db.store, "mfa-lock").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let email = staff_email("mfa-lock", Role::Receptionist);
    let cookie = app.sign_in(&email, STAFF_PASSWORD).await;
    let (secret, _) = enrol(&app, &cookie, clock.now().as_second()).await;
    for _ in 0..5 {
        let r = app.request(api_sign_in(&email, Some("000000"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    clock.advance(SignedDuration::from_secs(30));
    let r = app.request(api_sign_in(&email, Some(&code_at(&secret, clock.now().as_second())))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "locked: even the right code is refused");
    clock.advance(SignedDuration::from_mins(2));
    let r = app.request(api_sign_in(&email, Some(&code_at(&secret, clock.now().as_second())))).await;
    assert_eq!(r.status, StatusCode::OK, "the lock lifts after its backoff");
});
