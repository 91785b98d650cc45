//! `/healthz` (the process runs), `/readyz` (database and storage answer) and `/metrics`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::middleware::KeepBody;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(2);
    let db = match tokio::time::timeout(limit, state.store.db.ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database");
            "unavailable".to_string()
        }
        Err(_) => "timed out".to_string(),
    };
    let storage = match tokio::time::timeout(limit, state.objects.ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: storage");
            "unavailable".to_string()
        }
        Err(_) => "timed out".to_string(),
    };
    let ready = db == "ok" && storage == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut resp = (
        status,
        Json(json!({ "ready": ready, "database": db, "storage": storage })),
    )
        .into_response();
    resp.extensions_mut().insert(KeepBody);
    resp
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let (size, idle) = state.store.db.pool_stats();
    metrics::gauge!("cuspid_db_pool_connections").set(f64::from(size));
    metrics::gauge!("cuspid_db_pool_idle_connections").set(idle as f64);
    if let Ok(d) = state.store.queue_depth().await {
        for (status, n) in [
            ("pending", d.pending),
            ("running", d.running),
            ("dead", d.dead),
        ] {
            metrics::gauge!("cuspid_jobs", "status" => status).set(n as f64);
        }
    }
    let mut resp = state.metrics.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
