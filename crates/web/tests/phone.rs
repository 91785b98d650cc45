#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Sign-in by phone code over HTTP, on both databases: the code goes out through the jobs
//! outbox and the SMS provider, works once, within 5 minutes and 5 attempts; unknown numbers get
//! the same answer; requests are limited per number and per address.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use domain::{Clock, Scope};
use jiff::SignedDuration;
use messaging::DevSms;
use store::jobs::{JobRunner, RunnerSettings};
use test_support::{TestApp, TestResponse, dual_test, seed_org};

const PHONE: &str = "+15550100777";

fn post(path: &str, body: String, ip: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", ip)
        .body(Body::from(body))
        .unwrap()
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B")
        .replace(' ', "+")
        .replace('(', "%28")
        .replace(')', "%29")
}

fn challenge_of(r: &TestResponse) -> String {
    let a = r
        .body
        .find("name=\"challenge\" value=\"")
        .unwrap_or_else(|| panic!("no challenge: {}", r.body))
        + 24;
    r.body[a..a + r.body[a..].find('"').unwrap()].to_string()
}

async fn send_queued(app: &TestApp, sms: &Arc<DevSms>) {
    let runner = JobRunner::new(app.db.store.clone(), RunnerSettings::default()).handle(
        store::phone::SMS_SIGN_IN_CODE,
        web::phone::SignInCodeSender { sms: sms.clone() },
    );
    while runner.tick().await.unwrap() > 0 {}
}

fn code_in(sms: &DevSms) -> String {
    let body = sms.last_to(PHONE).expect("a text was sent");
    body.split_whitespace().next().unwrap().to_string()
}

async fn app_with_phone_user(db: test_support::TestDb) -> TestApp {
    let (org, _) = seed_org(&db.store, "phone").await;
    let mut tx = db.store.begin().await.unwrap();
    tx.create_user(
        &db.store,
        &Scope::system(org.id),
        &store::identity::NewUser {
            email: "frontdesk@phone.test".into(),
            name: "Chloé Roy".into(),
            phone: Some(PHONE.into()),
            password: None,
            roles: vec![Role::Receptionist],
            locations: vec![],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    TestApp::new(db).await
}

dual_test!(fixed_clock async fn a_texted_code_signs_in_once(db, clock) {
    let app = app_with_phone_user(db).await;
    let sms = Arc::new(DevSms::new(10));
    let page = app.get("/login/phone?next=%2Fappointments").await;
    assert_eq!(page.status, StatusCode::OK);
    // Typed the way people type it.
    let r = app.request(post("/login/phone", format!("phone={}&next=%2Fappointments", enc("(555) 010-0777")), "10.0.0.1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("+1 ••• ••• 0777"), "the number is shown masked");
    let challenge = challenge_of(&r);
    assert!(sms.last_to(PHONE).is_none(), "sent by the outbox, not in the request");
    send_queued(&app, &sms).await;
    let code = code_in(&sms);
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    // The log says what was sent, to whom (masked), by which provider, never the code.
    let user = app.db.store.user_by_email("frontdesk@phone.test").await.unwrap().unwrap();
    let log = app.db.store.communications_of_user(&user.scope(), user.id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].channel.as_str(), log[0].kind.as_str(), log[0].status.as_str(), log[0].provider.as_str()), ("sms", "sign_in_code", "sent", "dev"));
    assert_eq!(log[0].recipient, "+1 ••• ••• 0777");
    // The stored challenge holds the code only encrypted and hashed.
    let raw = app.db.store.db.fetch_one(store::db::Q::new("SELECT code_hash, code_enc FROM phone_challenges WHERE id = $1").bind(challenge.as_str())).await.unwrap();
    assert!(!raw.string("code_hash").unwrap().contains(&code) && raw.opt_string("code_enc").unwrap().unwrap().starts_with("enc:v1:"));

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = app.request(post("/login/phone/verify", format!("challenge={challenge}&code={wrong}&phone={}&next=%2Fappointments", enc(PHONE)), "10.0.0.1")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("not correct"));
    let r = app.request(post("/login/phone/verify", format!("challenge={challenge}&code={code}&next=%2Fappointments"), "10.0.0.1")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), Some("/appointments"));
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    assert!(app.get_as("/appointments", &cookie).await.body.contains("Chloé Roy"));
    let again = app.request(post("/login/phone/verify", format!("challenge={challenge}&code={code}"), "10.0.0.1")).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a code works once");

    // Expired after 5 minutes.
    let r = app.request(post("/login/phone", format!("phone={}", enc(PHONE)), "10.0.0.1")).await;
    let challenge = challenge_of(&r);
    send_queued(&app, &sms).await;
    let code = code_in(&sms);
    clock.advance(SignedDuration::from_mins(6));
    let r = app.request(post("/login/phone/verify", format!("challenge={challenge}&code={code}"), "10.0.0.1")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "expired");

    // Five attempts, then even the right code is refused.
    let r = app.request(post("/login/phone", format!("phone={}", enc(PHONE)), "10.0.0.1")).await;
    let challenge = challenge_of(&r);
    send_queued(&app, &sms).await;
    let code = code_in(&sms);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        app.request(post("/login/phone/verify", format!("challenge={challenge}&code={wrong}"), "10.0.0.1")).await;
    }
    let r = app.request(post("/login/phone/verify", format!("challenge={challenge}&code={code}"), "10.0.0.1")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempts used up");
    let _ = clock.now();
});

dual_test!(fixed_clock async fn unknown_numbers_get_the_same_answer_and_requests_are_limited(db, clock) {
    let app = app_with_phone_user(db).await;
    let sms = Arc::new(DevSms::new(10));
    let known = app.request(post("/login/phone", format!("phone={}", enc(PHONE)), "10.0.0.2")).await;
    let unknown = app.request(post("/login/phone", format!("phone={}", enc("+15550100999")), "10.0.0.2")).await;
    assert_eq!(known.status, unknown.status);
    let strip = |r: &TestResponse| {
        let c = challenge_of(r);
        r.body.replace(&c, "").replace("0777", "").replace("0999", "").replace("+15550100777", "").replace("+15550100999", "")
            .lines().filter(|l| !l.contains("request-id")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(strip(&known), strip(&unknown), "the same page for a number without an account");
    send_queued(&app, &sms).await;
    assert_eq!(sms.messages().len(), 1, "only the real account got a text");
    let r = app.request(post("/login/phone/verify", format!("challenge={}&code=123456", challenge_of(&unknown)), "10.0.0.2")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Not a phone number: a clear message, the input kept.
    let r = app.request(post("/login/phone", "phone=call+me".into(), "10.0.0.2")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("not a phone number") && r.body.contains("value=\"call me\""), "{}", r.body);

    // Per number: 3 codes in 15 minutes.
    for _ in 0..2 {
        assert_eq!(app.request(post("/login/phone", format!("phone={}", enc(PHONE)), "10.0.0.3")).await.status, StatusCode::OK);
    }
    let r = app.request(post("/login/phone", format!("phone={}", enc(PHONE)), "10.0.0.4")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many codes"));
    assert_eq!(r.header("retry-after"), Some("900"));
    // Per address: 10 codes in 15 minutes, whatever the numbers.
    for i in 0..8 {
        let r = app.request(post("/login/phone", format!("phone=%2B1555020{i:04}"), "10.0.0.2")).await;
        assert_eq!(r.status, StatusCode::OK, "request {i} from the address");
    }
    let r = app.request(post("/login/phone", format!("phone={}", enc("+15550301234")), "10.0.0.2")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the 11th from one address");
    clock.advance(SignedDuration::from_mins(16));
    let r = app.request(post("/login/phone", format!("phone={}", enc(PHONE)), "10.0.0.2")).await;
    assert_eq!(r.status, StatusCode::OK, "the window passed");
});
