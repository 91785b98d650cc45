#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The OpenAPI document is served to anyone and passes a real OpenAPI 3.1 validator
//! (openapi-spec-validator, a Python package; installed by .ci/run).

use axum::http::StatusCode;
use test_support::{TestApp, TestDb};

#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_1() {
    let app = TestApp::new(TestDb::sqlite().await).await;
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/patients"]["post"]["requestBody"].is_object());
    let have = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        test_support::missing_peer(
            "openapi-spec-validator (python3 -m pip install openapi-spec-validator)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, &r.body).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
