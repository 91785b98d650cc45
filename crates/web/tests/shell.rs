#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The web shell: pages, errors, headers, health, metrics — on both databases.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use test_support::{TestApp, dual_test, seed_org, seed_staff};

dual_test!(async fn dashboard_shows_the_clinic_from_the_database(db) {
    let (org, loc) = seed_org(&db.store, "shell").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("shell", Role::Admin).await;
    let r = app.get_as("/", &admin).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/dashboard"));
    let r = app.get_as("/dashboard", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&org.name), "org name in the top bar");
    assert!(r.body.contains(&loc.name));
    assert!(r.body.contains("America/New_York"));
    assert!(r.body.contains("Mon–Fri 08:00–17:00"));
    assert!(r.body.contains(app.db.backend().name()));
    assert!(r.body.contains(r#"<html lang="en">"#));
    assert!(!r.body.contains("<script>"), "no inline script");
    let rid = r.header("x-request-id").unwrap().to_string();
    assert!(r.body.contains(&rid), "request id shown in the footer");
});

dual_test!(async fn every_seed_page_renders_in_english_and_french(db) {
    let (org, _) = seed_org(&db.store, "pages").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("pages", Role::Admin).await;
    for (path, _, _) in web::pages::PLANNED {
        let en = app.get_as(path, &admin).await;
        assert_eq!(en.status, StatusCode::OK, "{path}");
        assert!(en.body.contains(r#"aria-current="page""#), "{path} marks its nav item");
        let fr = app.get_with(path, &[("accept-language", "fr-CA,fr;q=0.9"), ("cookie", &admin)]).await;
        assert_eq!(fr.status, StatusCode::OK);
        assert!(fr.body.contains(r#"<html lang="fr">"#));
        assert_ne!(en.body, fr.body);
    }
    let fr = app.get_with("/dashboard", &[("accept-language", "fr"), ("cookie", &admin)]).await;
    assert!(fr.body.contains("Rendez-vous"), "French navigation");
});

dual_test!(async fn unknown_routes_get_the_shells_404_page_or_problem_json(db) {
    let app = TestApp::new(db).await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("Page not found"));
    assert!(r.body.contains(r#"class="sidebar""#), "inside the shell");
    assert!(r.body.contains(r.header("x-request-id").unwrap()));
    let j = app.get("/api/v1/nothing").await;
    assert_eq!(j.status, StatusCode::NOT_FOUND);
    assert_eq!(j.header("content-type"), Some("application/problem+json"));
    let p = j.json();
    assert_eq!(p["status"], 404);
    assert_eq!(p["code"], "not_found");
    assert_eq!(p["instance"], "/api/v1/nothing");
    assert_eq!(p["request_id"], j.header("x-request-id").unwrap());
    let f = app.get_with("/nope", &[("accept-language", "fr")]).await;
    assert!(f.body.contains("Page introuvable") || f.body.contains("introuvable"), "{}", f.body);
});

dual_test!(async fn wrong_method_and_oversized_bodies_are_refused_cleanly(db) {
    let app = TestApp::new(db).await;
    let r = app.request(Request::post("/dashboard").header("content-type", "text/plain").body(Body::from("x")).unwrap()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.body.contains("not allowed"));
    // Past the ordinary limit (2 MB) on a route that reads its body: refused by the extractor.
    let big = vec![b'a'; 3 * 1024 * 1024];
    let r = app.request(Request::post("/login").header("content-type", "application/x-www-form-urlencoded").header("content-length", big.len().to_string()).body(Body::from(big)).unwrap()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body.contains("too large"), "{}", r.body);
    // Past the upload limit anywhere: refused before the body is read.
    let huge = vec![b'a'; 26 * 1024 * 1024];
    let r = app.request(Request::post("/dashboard").header("content-type", "text/plain").header("content-length", huge.len().to_string()).body(Body::from(huge)).unwrap()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body.contains("too large"), "{}", r.body);
});

dual_test!(async fn security_headers_and_cross_site_posts(db) {
    let app = TestApp::new(db).await;
    let r = app.get("/dashboard").await;
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert!(r.header("strict-transport-security").is_none(), "no HSTS without TLS");
    let cross = app.request(
        Request::post("/dashboard")
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .body(Body::empty())
            .unwrap(),
    ).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN, "CSRF layer refuses cross-site unsafe requests");
});

dual_test!(async fn health_readiness_and_metrics(db) {
    let app = TestApp::new(db).await;
    let h = app.get("/healthz").await;
    assert_eq!((h.status, h.body.as_str()), (StatusCode::OK, "ok"));
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["database"], "ok");
    app.get("/dashboard").await;
    let m = app.get("/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.body.contains("cuspid_http_requests_total"));
    assert!(m.body.contains(r#"route="/dashboard""#));
    assert!(m.body.contains("cuspid_http_request_duration_seconds_bucket"));
    assert!(m.body.contains("cuspid_db_pool_connections"));
    assert!(m.body.contains(r#"cuspid_jobs{status="dead"}"#));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_is_gone() {
    let db = test_support::TestDb::sqlite().await;
    let app = TestApp::new(db).await;
    app.db.store.db.close().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(r.json()["database"], "ok");
    let page = app
        .get_as("/dashboard", "__Host-cuspid_session=some-session")
        .await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.body.contains("Something went wrong"));
    assert!(
        !page.body.contains("PoolClosed") && !page.body.contains("pool"),
        "no internals leak"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_assets_are_served_with_etags() {
    let app = TestApp::new(test_support::TestDb::sqlite().await).await;
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let etag = css.header("etag").unwrap().to_string();
    let again = app
        .get_with("/static/app.css", &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        app.get("/static/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/static/app.js").await.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
}

dual_test!(async fn signed_file_links_are_served_and_refused_when_tampered(db) {
    let (org, _) = seed_org(&db.store, "links").await;
    let app = TestApp::new(db).await;
    let scope = domain::Scope::system(org.id);
    let obj = app.state.objects.put(&app.db.store, &scope, None, "text/plain", bytes::Bytes::from_static(b"lab slip")).await.unwrap();
    let url = app.state.objects.signed_url(&app.db.store, &scope, obj.id, std::time::Duration::from_secs(60)).await.unwrap();
    let ok = app.get(&url).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body, "lab slip");
    assert_eq!(ok.header("cache-control"), Some("private, no-store"));
    let bad = app.get(&url.replace("sig=", "sig=x")).await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    assert!(bad.body.contains("not valid"));
    let missing = app.get("/files/not-an-id?exp=1&sig=x").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
});

dual_test!(async fn uploaded_html_is_never_served_inline(db) {
    let (org, _) = seed_org(&db.store, "xss").await;
    let app = TestApp::new(db).await;
    let scope = domain::Scope::system(org.id);
    let obj = app.state.objects.put(&app.db.store, &scope, None, "text/html", bytes::Bytes::from_static(b"<script>alert(1)</script>")).await.unwrap();
    let url = app.state.objects.signed_url(&app.db.store, &scope, obj.id, std::time::Duration::from_secs(60)).await.unwrap();
    let r = app.get(&url).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.header("content-disposition"), Some("attachment"));
    assert!(r.header("content-security-policy").unwrap().starts_with("sandbox"));
});

dual_test!(async fn dead_letters_are_listed_and_retried_from_the_jobs_page(db) {
    let (org, _) = seed_org(&db.store, "jobs").await;
    let (other, _) = seed_org(&db.store, "jobs-other").await;
    seed_staff(&db.store, &org).await;
    let mine = db.store.enqueue(store::jobs::NewJob::new("reminder.send", serde_json::json!({})).org(org.id).attempts(1)).await.unwrap();
    let theirs = db.store.enqueue(store::jobs::NewJob::new("reminder.send", serde_json::json!({})).org(other.id).attempts(1)).await.unwrap();
    let claimed = db.store.claim_jobs("w", 10, std::time::Duration::from_secs(60)).await.unwrap();
    for j in &claimed {
        db.store.fail_job(j, "w", "SMS gateway answered 503", std::time::Duration::ZERO).await.unwrap();
    }
    let app = TestApp::new(db).await;
    let admin = app.sign_in_as("jobs", Role::Admin).await;
    let page = app.get_as("/admin/jobs", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("SMS gateway answered 503"));
    assert!(page.body.contains(&mine.to_string()));
    assert!(!page.body.contains(&theirs.to_string()), "another org's job is not shown");
    let post = |id: domain::JobId| Request::post(format!("/admin/jobs/{id}/retry")).header("cookie", &admin).body(Body::empty()).unwrap();
    let r = app.request(post(theirs)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "cannot retry another org's job");
    let r = app.request(post(mine)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.db.store.job(mine).await.unwrap().unwrap().status, "pending");
    assert_eq!(app.db.store.job(theirs).await.unwrap().unwrap().status, "dead");
    let page = app.get_with("/admin/jobs", &[("accept-language", "fr"), ("cookie", &admin)]).await;
    assert!(page.body.contains("Aucune tâche n’a échoué définitivement."));
});
