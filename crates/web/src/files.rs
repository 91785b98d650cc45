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

/// Types shown in the browser; everything else is served as a download.
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/webp",
    "application/pdf",
    "text/plain",
];

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
    // Only inert types are shown inline; anything else (HTML, SVG, scripts) downloads as an
    // opaque file, so an uploaded file can never run in the application's origin.
    let inline = INLINE_TYPES.contains(&obj.content_type.as_str());
    let content_type = if inline {
        HeaderValue::from_str(&obj.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"))
    } else {
        HeaderValue::from_static("application/octet-stream")
    };
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(if inline { "inline" } else { "attachment" }),
    );
    // Our own pages may frame a file (the document preview); nobody else's may.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; frame-ancestors 'self'"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", obj.sha256)) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
