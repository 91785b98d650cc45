#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Password reset by an emailed link, on both databases: the same answer for any address, a
//! link that works once and for an hour, built on the configured public URL (not the request's
//! `Host`), and every session signed out.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use jiff::SignedDuration;
use messaging::DevMailer;
use store::jobs::{JobRunner, RunnerSettings};
use test_support::{STAFF_PASSWORD, TestApp, dual_test, seed_org, seed_staff, staff_email};

fn post(path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "evil.example")
        .body(Body::from(body))
        .unwrap()
}

async fn send_queued(app: &TestApp, mail: &Arc<DevMailer>) {
    let runner = JobRunner::new(app.db.store.clone(), RunnerSettings::default()).handle(
        store::reset::EMAIL_PASSWORD_RESET,
        web::reset::PasswordResetMailer {
            mail: mail.clone(),
            public_url: "https://dental.example/".into(),
        },
    );
    while runner.tick().await.unwrap() > 0 {}
}

fn token_in(mail: &DevMailer, to: &str) -> String {
    let email = mail.last_to(to).expect("an email was sent");
    let a = email
        .text
        .find("https://dental.example/login/reset?token=")
        .expect("the link uses the public URL")
        + 41;
    email.text[a..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

dual_test!(fixed_clock async fn a_reset_link_works_once_and_signs_everything_out(db, clock) {
    let (org, _) = seed_org(&db.store, "reset").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let mail = Arc::new(DevMailer::new(10));
    let email = staff_email("reset", Role::Billing);
    let old_session = app.sign_in(&email, STAFF_PASSWORD).await;

    assert!(app.get("/login").await.body.contains("href=\"/login/forgot\""));
    let known = app.request(post("/login/forgot", format!("email={}", email.replace('@', "%40")))).await;
    let unknown = app.request(post("/login/forgot", "email=nobody%40reset.test".into())).await;
    assert_eq!(known.status, StatusCode::OK);
    let strip = |b: &str| b.lines().filter(|l| !l.contains("request-id")).collect::<Vec<_>>().join("\n");
    assert_eq!(strip(&known.body), strip(&unknown.body), "the same answer for an unknown address");
    assert!(known.body.contains("If an account uses this address"));
    send_queued(&app, &mail).await;
    assert_eq!(mail.messages().len(), 1, "only the real account got an email");
    let token = token_in(&mail, &email);
    assert!(!mail.messages()[0].text.contains("evil.example"), "never the request's Host");
    let user = app.db.store.user_by_email(&email).await.unwrap().unwrap();
    let log = app.db.store.communications_of_user(&user.scope(), user.id).await.unwrap();
    assert_eq!((log[0].channel.as_str(), log[0].kind.as_str(), log[0].status.as_str()), ("email", "password_reset", "sent"));
    assert_eq!(log[0].recipient, "b•••@reset.test");

    let form = app.get(&format!("/login/reset?token={token}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"new_password\""));
    let weak = app.request(post("/login/reset", format!("token={token}&new_password=password1234"))).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY, "NIST rules apply");
    let r = app.request(post("/login/reset", format!("token={token}&new_password=molar+canine+premolar+incisor"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), Some("/login?reset=1"));
    assert!(app.get("/login?reset=1").await.body.contains("Your password was changed"));
    assert_eq!(app.get_as("/patients", &old_session).await.status, StatusCode::SEE_OTHER, "old sessions are signed out");
    app.sign_in(&email, "molar canine premolar incisor").await;
    let again = app.request(post("/login/reset", format!("token={token}&new_password=another+long+passphrase+here"))).await;
    assert_eq!(again.status, StatusCode::GONE, "a link works once");
    assert_eq!(app.get(&format!("/login/reset?token={token}")).await.status, StatusCode::GONE);
    assert_eq!(app.get("/login/reset?token=forged").await.status, StatusCode::GONE);

    // A link older than an hour is dead.
    app.request(post("/login/forgot", format!("email={}", email.replace('@', "%40")))).await;
    send_queued(&app, &mail).await;
    let late = token_in(&mail, &email);
    clock.advance(SignedDuration::from_mins(61));
    let r = app.request(post("/login/reset", format!("token={late}&new_password=another+long+passphrase+here"))).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("expired or was already used"));

    // At most 3 links an hour per account.
    for _ in 0..5 {
        app.request(post("/login/forgot", format!("email={}", email.replace('@', "%40")))).await;
    }
    let before = mail.messages().len();
    send_queued(&app, &mail).await;
    assert_eq!(mail.messages().len() - before, 3);
});
