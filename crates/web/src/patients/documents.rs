//! A patient's documents: upload (multipart, read up to `max_upload_bytes`), the preview page
//! (images inline, PDFs in a frame, both from a short-lived signed link), new versions and
//! soft deletion.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::BytesMut;
use domain::identity::Permission;
use domain::{DocumentId, DomainError};
use serde::Deserialize;
use store::patients::documents::{BuiltinScanner, Upload};

use super::{
    Banner, Choice, Head, actor, banner, head, parse_patient_id, show_time, size_label, today,
};
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::pages::html;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

/// How long a preview or download link lives.
const LINK_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Reads the upload form: the file (stopping past `max` bytes), category, title, and the
/// document it replaces.
async fn read_upload(mut mp: Multipart, max: usize) -> Result<Upload, AppError> {
    let mut upload = Upload {
        category: "other".into(),
        title: String::new(),
        file_name: String::new(),
        data: bytes::Bytes::new(),
        replaces: None,
    };
    let too_big = || {
        AppError::Domain(DomainError::field(
            "file",
            format!("the file is larger than the {} MB limit", max / 1_048_576),
        ))
    };
    while let Some(mut field) = mp.next_field().await.map_err(|e| {
        AppError::Domain(DomainError::field(
            "file",
            format!("the upload could not be read: {e}"),
        ))
    })? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            upload.file_name = field.file_name().unwrap_or("").to_string();
            let mut buf = BytesMut::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| {
                AppError::Domain(DomainError::field(
                    "file",
                    format!("the upload was cut off: {e}"),
                ))
            })? {
                if buf.len() + chunk.len() > max {
                    return Err(too_big());
                }
                buf.extend_from_slice(&chunk);
            }
            upload.data = buf.freeze();
        } else {
            let text = field.text().await.unwrap_or_default();
            match name.as_str() {
                "category" => upload.category = text,
                "title" => upload.title = text,
                "replaces" if !text.is_empty() => {
                    upload.replaces = Some(text.parse().map_err(|_| AppError::NotFound)?)
                }
                _ => {}
            }
        }
    }
    if upload.file_name.is_empty() && upload.data.is_empty() {
        return Err(AppError::Domain(DomainError::field(
            "file",
            "choose a file to upload",
        )));
    }
    Ok(upload)
}

/// `POST /patients/{id}/documents` (multipart)
pub async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    mp: Multipart,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    // The record first: another organization's id is not found, whatever was sent.
    state.store.patient_summary(&auth.scope(), id).await?;
    let max = state.config.max_upload_bytes;
    let upload = read_upload(mp, max).await?;
    let doc = state
        .store
        .add_document(
            &state.objects,
            &BuiltinScanner,
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            id,
            upload,
            max,
        )
        .await?;
    if ctx.wants_json {
        return Ok(axum::Json(super::api::document_json(&doc)).into_response());
    }
    Ok(Redirect::to(&format!("/patients/{id}/documents/{}", doc.id)).into_response())
}

pub struct VersionRow {
    pub id: String,
    pub version: i64,
    pub file_name: String,
    pub size: String,
    pub uploaded: String,
    pub by: String,
    pub current: bool,
    pub deleted: bool,
}

#[derive(Template)]
#[template(path = "patient_document.html")]
struct DocPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    doc_id: String,
    title: String,
    category: String,
    file_name: String,
    content_type: String,
    size: String,
    sha256: String,
    uploaded: String,
    by: String,
    deleted: bool,
    delete_reason: String,
    link: String,
    is_image: bool,
    is_pdf: bool,
    versions: Vec<VersionRow>,
    categories: Vec<Choice>,
    can_write: bool,
    max_upload_mb: usize,
}

fn parse_doc(s: &str) -> Result<DocumentId, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// `GET /patients/{id}/documents/{doc}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let doc = parse_doc(&doc)?;
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(&auth, &ctx, &ip);
    let d = state.store.document(&scope, &who, doc).await?;
    if d.patient_id != id {
        return Err(AppError::NotFound);
    }
    let p = state.store.patient(&scope, &who, id).await?;
    let link = state
        .objects
        .signed_url(&state.store, &scope, d.object_id, LINK_TTL)
        .await?;
    let versions = state
        .store
        .documents(&scope, id, true)
        .await?
        .into_iter()
        .filter(|v| v.series_id == d.series_id)
        .map(|v| VersionRow {
            current: v.id == d.id,
            id: v.id.to_string(),
            version: v.version,
            file_name: v.file_name,
            size: size_label(v.size),
            uploaded: show_time(lang, v.uploaded_at),
            by: v.uploaded_by_name,
            deleted: v.deleted_at.is_some(),
        })
        .collect();
    html(&DocPage {
        shell: Shell::build(&state, &ctx).await,
        banner: banner(&state, lang, &scope, &p).await?,
        h: head(lang, today(&state), &p),
        doc_id: d.id.to_string(),
        category: lang.t(&format!("doccat-{}", d.category)),
        file_name: d.file_name.clone(),
        content_type: d.content_type.clone(),
        size: size_label(d.size),
        sha256: d.sha256.clone(),
        uploaded: show_time(lang, d.uploaded_at),
        by: d.uploaded_by_name.clone(),
        deleted: d.deleted_at.is_some(),
        delete_reason: d.delete_reason.clone().unwrap_or_default(),
        is_image: d.previewable() && d.content_type.starts_with("image/"),
        is_pdf: d.content_type == "application/pdf",
        link,
        versions,
        categories: store::patients::documents::CATEGORIES
            .iter()
            .map(|c| Choice {
                value: c.to_string(),
                label: lang.t(&format!("doccat-{c}")),
                selected: *c == d.category,
            })
            .collect(),
        can_write: auth.can(Permission::PatientsWrite) && d.deleted_at.is_none(),
        max_upload_mb: state.config.max_upload_bytes / 1_048_576,
        title: d.title,
    })
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    reason: String,
}

/// `POST /patients/{id}/documents/{doc}/delete`
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, doc)): Path<(String, String)>,
    axum::Form(f): axum::Form<DeleteForm>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let doc = parse_doc(&doc)?;
    state
        .store
        .delete_document(&auth.scope(), &actor(&auth, &ctx, &ip), doc, &f.reason)
        .await?;
    Ok(Redirect::to(&format!("/patients/{id}?notice=document_deleted")).into_response())
}
