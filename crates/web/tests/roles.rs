#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Custom roles and the permission matrix on both databases.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use test_support::{TestApp, dual_test, seed_org, seed_staff};

fn form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

dual_test!(async fn an_admin_defines_a_role_and_it_grants_its_permissions(db) {
    let (org, _) = seed_org(&db.store, "roles").await;
    let (other, _) = seed_org(&db.store, "roles-other").await;
    seed_staff(&db.store, &org).await;
    seed_staff(&db.store, &other).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("roles", Role::Admin).await;
    let page = app.get_as("/settings/roles", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    let matrix = &page.body[page.body.find("id=\"permission-matrix\"").unwrap()..];
    assert!(matrix.contains("<code>chart.sign</code>") && matrix.contains("Hygienist"), "the whole matrix");

    let bad = app.request(form("/settings/roles", &admin, "name=&permission=portal.self")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("not for staff roles"));
    let r = app.request(form("/settings/roles", &admin, "name=Front+desk+lead&permission=reports.view&permission=billing.adjust")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let dup = app.request(form("/settings/roles", &admin, "name=Front+desk+lead&permission=reports.view")).await;
    assert!(dup.body.contains("another role has this name"));
    let user = app.db.store.user_by_email("admin@roles.test").await.unwrap().unwrap();
    let role = app.db.store.custom_roles(&user.scope()).await.unwrap().remove(0);

    // Before: a receptionist may not open /reports (seed table). After the role: they may.
    let recep = app.sign_in_as("roles", Role::Receptionist).await;
    assert_eq!(app.get_as("/reports", &recep).await.status, StatusCode::FORBIDDEN);
    let receptionist = app.db.store.user_by_email("receptionist@roles.test").await.unwrap().unwrap();
    let r = app.request(form(&format!("/settings/roles/{}/members", role.id), &admin, &format!("user={}", receptionist.id))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_as("/reports", &recep).await.status, StatusCode::OK, "granted at the next request");
    let page = app.get_as("/settings/roles", &admin).await;
    assert!(page.body.contains("Front desk lead") && page.body.contains("receptionist of roles"));
    // Changing the role's permissions changes what its holders may do.
    let r = app.request(form(&format!("/settings/roles/{}", role.id), &admin, "permission=billing.adjust")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_as("/reports", &recep).await.status, StatusCode::FORBIDDEN);
    // Another organization's user cannot be given the role.
    let stranger = app.db.store.user_by_email("dentist@roles-other.test").await.unwrap().unwrap();
    let r = app.request(form(&format!("/settings/roles/{}/members", role.id), &admin, &format!("user={}", stranger.id))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Taking it back.
    let r = app.request(form(&format!("/settings/roles/{}/members/remove", role.id), &admin, &format!("user={}", receptionist.id))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let again = app.db.store.user_by_email("receptionist@roles.test").await.unwrap().unwrap();
    let again = app.db.store.user(&again.scope(), again.id).await.unwrap().unwrap();
    assert!(again.custom_roles.is_empty());
    assert_eq!(again.roles, vec![Role::Receptionist], "the default role stays");
    let events = app.db.store.audit_events(org.id, 0, 10_000).await.unwrap();
    for action in ["role.created", "role.assigned", "role.permissions_changed", "role.unassigned"] {
        assert!(events.iter().any(|e| e.action == action), "{action} audited");
    }
});
