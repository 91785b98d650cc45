//! `/files/{id}?exp=…&sig=…`: signed, expiring download links for the local object store.
//! The signature is the authorization (like a presigned S3 URL); it names one object and
//! expires.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use domain::ObjectId;
use serde::Deserialize;

use crate::AppState;
use crate::error::AppError;

#[derive(Deserialize)]
pub struct LinkParams {
    exp: i64,
    sig: String,
}

pub async fn open_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<LinkParams>,
) -> Result<Response, AppError> {
    let id: ObjectId = id.parse().map_err(|_| AppError::NotFound)?;
    let (obj, data) = state
        .objects
        .open_link(&state.store, id, p.exp, &p.sig)
        .await?;
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&obj.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", obj.sha256)) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
