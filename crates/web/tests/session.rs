#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Sign-in over the JSON API and the /login page, on both databases.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::Scope;
use domain::identity::Role;
use store::identity::NewUser;
use test_support::{TestApp, TestDb, dual_test, seed_org};

const PW: &str = "correct horse battery staple";

async fn app_with_dentist(db: TestDb) -> TestApp {
    let (org, _) = seed_org(&db.store, "signin").await;
    let mut tx = db.store.begin().await.unwrap();
    tx.create_user(
        &db.store,
        &Scope::system(org.id),
        &NewUser {
            email: "dentist@clinic.example".into(),
            name: "Dr. Amélie Tremblay".into(),
            phone: None,
            password: Some(PW.into()),
            roles: vec![Role::Dentist],
            locations: vec![],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    TestApp::new(db).await
}

fn json_post(path: &str, body: serde_json::Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn cookie_of(r: &test_support::TestResponse) -> String {
    let set = r.header("set-cookie").unwrap();
    set.split(';').next().unwrap().to_string()
}

dual_test!(async fn api_sign_in_me_and_sign_out(db) {
    let app = app_with_dentist(db).await;
    let r = app.request(json_post("/api/v1/session", serde_json::json!({"email": "Dentist@Clinic.Example", "password": PW}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let set = r.header("set-cookie").unwrap().to_string();
    for attr in ["__Host-cuspid_session=", "Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let body = r.json();
    assert_eq!(body["user"]["email"], "dentist@clinic.example");
    assert_eq!(body["roles"], serde_json::json!(["dentist"]));
    assert_eq!(body["landing_page"], "/dashboard");
    let cookie = cookie_of(&r);

    let me = app.get_with("/api/v1/me", &[("cookie", &cookie)]).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["user"]["name"], "Dr. Amélie Tremblay");
    let page = app.get_with("/dashboard", &[("cookie", &cookie)]).await;
    assert!(page.body.contains("Dr. Amélie Tremblay"), "the shell shows who is signed in");

    let anon = app.get("/api/v1/me").await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.header("content-type"), Some("application/problem+json"));
    let forged = app.get_with("/api/v1/me", &[("cookie", "__Host-cuspid_session=AAAAforged")]).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let out = app.request(Request::delete("/api/v1/session").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(app.get_with("/api/v1/me", &[("cookie", &cookie)]).await.status, StatusCode::UNAUTHORIZED);
});

dual_test!(async fn wrong_password_and_unknown_email_get_the_same_answer(db) {
    let app = app_with_dentist(db).await;
    let wrong = app.request(json_post("/api/v1/session", serde_json::json!({"email": "dentist@clinic.example", "password": "not the password"}))).await;
    let unknown = app.request(json_post("/api/v1/session", serde_json::json!({"email": "ghost@clinic.example", "password": PW}))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json()["detail"], unknown.json()["detail"]);
    assert!(wrong.header("set-cookie").is_none());
    let malformed = app.request(json_post("/api/v1/session", serde_json::json!({"email": 3}))).await;
    assert!(malformed.status.is_client_error(), "{}", malformed.status);
});

dual_test!(async fn the_login_page_signs_in_and_returns_to_where_you_were(db) {
    let app = app_with_dentist(db).await;
    let page = app.get("/login?next=/appointments").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"name="next" value="/appointments""#));
    let form = |email: &str, pw: &str, next: &str| {
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("email={email}&password={}&next={next}", pw.replace(' ', "+"))))
            .unwrap()
    };
    let ok = app.request(form("dentist%40clinic.example", PW, "%2Fappointments")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.header("location"), Some("/appointments"));
    assert!(ok.header("set-cookie").unwrap().starts_with("__Host-cuspid_session="));
    let evil = app.request(form("dentist%40clinic.example", PW, "%2F%2Fevil.example%2F")).await;
    assert_eq!(evil.header("location"), Some("/dashboard"), "no open redirect; the role's landing page");
    let bad = app.request(form("dentist%40clinic.example", "wrong password!", "")).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.body.contains("not correct"));
    assert!(bad.body.contains(r#"value="dentist@clinic.example""#), "the email is kept");
    let fr = app.get_with("/login", &[("accept-language", "fr")]).await;
    assert!(fr.body.contains("Mot de passe"));
    let cross = app.request(
        Request::post("/login")
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("email=a&password=b"))
            .unwrap(),
    ).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN, "cross-site form posts are refused");
    let cookie = cookie_of(&ok);
    let out = app.request(Request::post("/logout").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_with("/api/v1/me", &[("cookie", &cookie)]).await.status, StatusCode::UNAUTHORIZED);
});

async fn sign_in(app: &TestApp, pw: &str) -> String {
    let r = app
        .request(json_post(
            "/api/v1/session",
            serde_json::json!({"email": "dentist@clinic.example", "password": pw}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    cookie_of(&r)
}

fn form_post(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

dual_test!(async fn profile_shows_the_account_changes_the_password_and_signs_out_other_sessions(db) {
    let app = app_with_dentist(db).await;
    let anon = app.get("/profile").await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.header("location"), Some("/login?next=/profile"));

    let here = sign_in(&app, PW).await;
    let laptop = sign_in(&app, PW).await;
    let page = app.get_with("/profile", &[("cookie", &here)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("dentist@clinic.example") && page.body.contains("Dr. Amélie Tremblay"));
    assert!(page.body.contains("This device"));
    assert_eq!(page.body.matches("/revoke\"").count(), 1, "one other session to sign out");

    // sign the laptop out from here
    let id = page.body.split("/profile/sessions/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let r = app.request(form_post(&format!("/profile/sessions/{id}/revoke"), &here, "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_with("/api/v1/me", &[("cookie", &laptop)]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_with("/api/v1/me", &[("cookie", &here)]).await.status, StatusCode::OK);
    let again = app.request(form_post(&format!("/profile/sessions/{id}/revoke"), &here, "")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // wrong current password, then a too-short new one: 422 with the reason, nothing changed
    let bad = app.request(form_post("/profile/password", &here, "current_password=nope&new_password=a+long+enough+phrase")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("is not correct"), "{}", bad.body);
    let short = app.request(form_post("/profile/password", &here, &format!("current_password={}&new_password=short", PW.replace(' ', "+")))).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("12 characters"));

    // the change signs every session out and this device back in
    let other = sign_in(&app, PW).await;
    let ok = app.request(form_post("/profile/password", &here, &format!("current_password={}&new_password=new+phrase+for+the+spring", PW.replace(' ', "+")))).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.header("location"), Some("/profile?changed=1"));
    let fresh = cookie_of(&ok);
    assert_eq!(app.get_with("/api/v1/me", &[("cookie", &here)]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_with("/api/v1/me", &[("cookie", &other)]).await.status, StatusCode::UNAUTHORIZED);
    let page = app.get_with("/profile?changed=1", &[("cookie", &fresh)]).await;
    assert!(page.body.contains("Your password was changed"));
    assert!(sign_in_fails(&app, PW).await, "the old password no longer works");
});

async fn sign_in_fails(app: &TestApp, pw: &str) -> bool {
    let r = app
        .request(json_post(
            "/api/v1/session",
            serde_json::json!({"email": "dentist@clinic.example", "password": pw}),
        ))
        .await;
    r.status == StatusCode::UNAUTHORIZED
}

dual_test!(async fn people_change_their_own_name_and_mobile_number(db) {
    let (org, _) = test_support::seed_org(&db.store, "me").await;
    test_support::seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let cookie = app.sign_in_as("me", Role::Hygienist).await;
    let post = |body: &str| Request::post("/profile/details")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .body(Body::from(body.to_string()))
        .unwrap();
    let bad = app.request(post("name=Jordan+Lee&phone=call+me")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Mobile number:"), "{}", bad.body);
    let r = app.request(post("name=Jordan+Lee%2C+RDH&phone=%28802%29+555-0177")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let me = app.db.store.user_by_email("hygienist@me.test").await.unwrap().unwrap();
    assert_eq!((me.name.as_str(), me.phone.as_deref()), ("Jordan Lee, RDH", Some("+18025550177")));
    let page = app.get_as("/profile?saved=1", &cookie).await;
    assert!(page.body.contains("value=\"+18025550177\"") && page.body.contains("Saved."));
    // The number is now one to sign in with; nobody else may take it.
    let other = app.sign_in_as("me", Role::Dentist).await;
    let taken = app.request(Request::post("/profile/details")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &other)
        .body(Body::from("name=Dr.+Who&phone=%2B18025550177"))
        .unwrap()).await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("already used"));
});
