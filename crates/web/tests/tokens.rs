#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! API tokens on both databases: created on `/settings/api-tokens` and shown once, stored
//! hashed, scoped (403 problem JSON without the permission), expiring, revocable, with their
//! last use recorded.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use jiff::SignedDuration;
use test_support::{TestApp, TestResponse, dual_test, seed_org, seed_staff};

async fn bearer(app: &TestApp, path: &str, token: &str) -> TestResponse {
    app.request(
        Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

dual_test!(fixed_clock async fn tokens_are_scoped_expire_and_can_be_revoked(db, clock) {
    let (org, _) = seed_org(&db.store, "api").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("api", Role::Admin).await;
    let form = |body: &str| Request::post("/settings/api-tokens")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &admin)
        .body(Body::from(body.to_string()))
        .unwrap();
    let bad = app.request(form("name=&valid_days=9999&permission=users.manage")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("not for tokens") && bad.body.contains("between 1 and 730"));
    let r = app.request(form("name=Imaging+bridge&valid_days=30&permission=patients.read&permission=imaging.write")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let a = r.body.find("id=\"new-token\" class=\"secret\">").unwrap() + 30;
    let token = r.body[a..a + r.body[a..].find('<').unwrap()].to_string();
    assert!(token.starts_with("cuspid_") && token.len() > 40, "{token}");
    let stored = app.db.store.db.fetch_one(store::db::Q::new("SELECT token_hash FROM api_tokens WHERE name = $1").bind("Imaging bridge")).await.unwrap();
    assert_ne!(stored.string("token_hash").unwrap(), token, "stored hashed");
    assert!(!app.get_as("/settings/api-tokens", &admin).await.body.contains(&token), "shown once");

    let me = bearer(&app, "/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["roles"], serde_json::json!(["external"]));
    assert_eq!(me.json()["user"]["name"], "API: Imaging bridge");
    // A route needing a permission the token lacks: 403 problem JSON naming it.
    let r = bearer(&app, "/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert!(r.json()["detail"].as_str().unwrap().contains("dashboard.view"));
    assert_eq!(bearer(&app, "/patients", &token).await.status, StatusCode::OK, "patients.read granted");
    let r = bearer(&app, "/api/v1/me", "cuspid_forged").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let list = app.get_as("/settings/api-tokens", &admin).await;
    assert!(list.body.contains("Imaging bridge") && list.body.contains("UTC"), "last use recorded: {}", list.body);

    // Expiry.
    clock.advance(SignedDuration::from_hours(24 * 31));
    assert_eq!(bearer(&app, "/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED, "expired");

    // Revocation.
    let admin = app.sign_in_as("api", Role::Admin).await;
    let form = |body: &str| Request::post("/settings/api-tokens")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &admin)
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = app.request(form("name=Lab+sync&valid_days=90&permission=lab.manage")).await;
    let a = r.body.find("id=\"new-token\" class=\"secret\">").unwrap() + 30;
    let second = r.body[a..a + r.body[a..].find('<').unwrap()].to_string();
    assert_eq!(bearer(&app, "/lab-requests", &second).await.status, StatusCode::OK);
    let user = app.db.store.user_by_email("admin@api.test").await.unwrap().unwrap();
    let id = app.db.store.api_tokens(&user.scope()).await.unwrap().into_iter().find(|t| t.name == "Lab sync").unwrap().id;
    let r = app.request(Request::post(format!("/settings/api-tokens/{id}/revoke")).header("cookie", &admin).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(bearer(&app, "/lab-requests", &second).await.status, StatusCode::UNAUTHORIZED, "revoked");
});
