//! A patient's documents: any allowed file up to the configured size, in object storage, with
//! its SHA-256, a category, versions (a new upload can replace an earlier one; both are kept),
//! and soft deletion (audited; only a retention policy removes bytes).
//!
//! The type is read from the file's first bytes, never from the name or the browser's claim,
//! and every upload passes an [`UploadScanner`] before anything is stored. A failed upload
//! leaves no object and no row.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use domain::{DocumentId, DomainError, ObjectId, PatientId, Scope, UserId};
use jiff::Timestamp;

use super::{Actor, status_of};
use crate::Store;
use crate::db::{DbError, Q, Row};
use crate::objects::{ObjectError, ObjectStorage};
use crate::tenancy::WriteError;

/// Document categories.
pub const CATEGORIES: &[&str] = &[
    "consent",
    "referral",
    "lab",
    "id_card",
    "insurance_card",
    "external_xray",
    "photo",
    "correspondence",
    "medical_record",
    "treatment_plan",
    "other",
];

/// A stored document version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub id: DocumentId,
    pub patient_id: PatientId,
    pub series_id: uuid::Uuid,
    pub version: i64,
    pub object_id: ObjectId,
    pub category: String,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: Option<UserId>,
    pub uploaded_by_name: String,
    pub uploaded_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub delete_reason: Option<String>,
}

impl Document {
    /// Whether browsers can show it inline (images and PDFs get a preview).
    pub fn previewable(&self) -> bool {
        matches!(
            self.content_type.as_str(),
            "application/pdf" | "image/png" | "image/jpeg" | "image/webp" | "image/gif"
        )
    }
}

/// An upload.
#[derive(Clone, Debug)]
pub struct Upload {
    pub category: String,
    pub title: String,
    pub file_name: String,
    pub data: Bytes,
    /// A new version of this document.
    pub replaces: Option<DocumentId>,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    Refused(DomainError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Object(#[from] ObjectError),
}

impl From<DbError> for UploadError {
    fn from(e: DbError) -> Self {
        UploadError::Write(WriteError::Db(e))
    }
}

/// A scanner's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// Refused, with a reason the uploader can read.
    Refused(String),
}

/// Checks an upload before it is stored (an antivirus daemon can sit behind it).
pub trait UploadScanner: Send + Sync {
    fn scan<'a>(
        &'a self,
        content_type: &'a str,
        data: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;
}

/// The built-in scanner: refuses PDFs that carry scripts or launch actions (the usual way a
/// PDF attacks whoever opens it). Executables never get this far: their type is not allowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinScanner;

impl UploadScanner for BuiltinScanner {
    fn scan<'a>(
        &'a self,
        content_type: &'a str,
        data: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Verdict> + Send + 'a>> {
        Box::pin(async move {
            if content_type == "application/pdf" {
                for marker in [
                    &b"/JavaScript"[..],
                    b"/JS ",
                    b"/JS(",
                    b"/Launch",
                    b"/EmbeddedFile",
                ] {
                    if data.windows(marker.len()).any(|w| w == marker) {
                        return Verdict::Refused(
                            "this PDF contains scripts or embedded programs; print it to a new PDF and upload that"
                                .into(),
                        );
                    }
                }
            }
            Verdict::Clean
        })
    }
}

/// The file's type from its first bytes, among the allowed ones; `None` for anything else.
pub fn detect_type(data: &[u8], file_name: &str) -> Option<&'static str> {
    let starts = |m: &[u8]| data.starts_with(m);
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"\xFF\xD8\xFF") {
        return Some("image/jpeg");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("image/gif");
    }
    if data.len() >= 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Some("image/tiff");
    }
    if data.len() >= 132 && &data[128..132] == b"DICM" {
        return Some("application/dicom");
    }
    let lower = file_name.to_lowercase();
    if (lower.ends_with(".txt") || lower.ends_with(".csv"))
        && std::str::from_utf8(data).is_ok_and(|t| {
            t.chars()
                .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        })
    {
        return Some("text/plain");
    }
    None
}

fn document_of(r: &Row) -> Result<Document, DbError> {
    Ok(Document {
        id: DocumentId::from_uuid(r.uuid("id")?),
        patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
        series_id: r.uuid("series_id")?,
        version: r.i64("version")?,
        object_id: ObjectId::from_uuid(r.uuid("object_id")?),
        category: r.string("category")?,
        title: r.string("title")?,
        file_name: r.string("file_name")?,
        content_type: r.string("content_type")?,
        size: r.i64("size")?,
        sha256: r.string("sha256")?,
        uploaded_by: r.opt_uuid("uploaded_by")?.map(UserId::from_uuid),
        uploaded_by_name: r.string("uploaded_by_name")?,
        uploaded_at: r.ts("uploaded_at")?,
        deleted_at: r.opt_ts("deleted_at")?,
        delete_reason: r.opt_string("delete_reason")?,
    })
}

fn refused(field: &str, message: impl Into<String>) -> UploadError {
    UploadError::Refused(DomainError::field(field, message))
}

impl Store {
    /// Stores an upload for a patient. Checks, in order: size, category, allowed type (from
    /// the bytes), the scanner, the patient; then the object, then its row in one
    /// transaction with the audit event. If the row cannot be written the object is removed.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_document(
        &self,
        objects: &ObjectStorage,
        scanner: &dyn UploadScanner,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        upload: Upload,
        max_bytes: usize,
    ) -> Result<Document, UploadError> {
        if upload.data.is_empty() {
            return Err(refused("file", "the file is empty"));
        }
        if upload.data.len() > max_bytes {
            return Err(refused(
                "file",
                format!(
                    "the file is {} MB; the limit is {} MB",
                    upload.data.len().div_ceil(1_048_576),
                    max_bytes / 1_048_576
                ),
            ));
        }
        if !CATEGORIES.contains(&upload.category.as_str()) {
            return Err(refused(
                "category",
                format!("must be one of {}", CATEGORIES.join(", ")),
            ));
        }
        let file_name: String = upload
            .file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let Some(content_type) = detect_type(&upload.data, &file_name) else {
            return Err(refused(
                "file",
                "this type of file is not accepted: upload a PDF, an image (PNG, JPEG, WebP, GIF, TIFF), a DICOM file or plain text",
            ));
        };
        if let Verdict::Refused(why) = scanner.scan(content_type, &upload.data).await {
            return Err(refused("file", why));
        }
        let row = self.patient_row(scope, patient).await?;
        if status_of(&row)? == domain::patients::PatientStatus::Merged {
            return Err(refused(
                "patient",
                "this record was merged into another; add documents there",
            ));
        }
        let title = {
            let t = upload
                .title
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if t.is_empty() { file_name.clone() } else { t }
        };
        if title.chars().count() > 200 {
            return Err(refused("title", "must be at most 200 characters"));
        }
        let series = match upload.replaces {
            Some(prev) => {
                let r = self
                    .db
                    .fetch_optional(
                        Q::new("SELECT series_id FROM patient_documents WHERE id = $1 AND patient_id = $2 AND org_id = $3")
                            .bind(prev)
                            .bind(patient)
                            .bind(scope.org()),
                    )
                    .await?
                    .ok_or_else(|| refused("replaces", "the document to replace was not found"))?;
                r.uuid("series_id")?
            }
            None => self.new_uuid(),
        };
        let obj = objects
            .put(self, scope, None, content_type, upload.data)
            .await?;
        match self
            .insert_document(
                scope,
                actor,
                patient,
                series,
                &obj,
                &upload.category,
                &title,
                &file_name,
            )
            .await
        {
            Ok(d) => Ok(d),
            Err(e) => {
                if let Err(cleanup) = objects.discard(self, &obj).await {
                    tracing::error!(object = %obj.id, error = %cleanup, "could not remove the object of a failed upload");
                }
                Err(e.into())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_document(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        series: uuid::Uuid,
        obj: &crate::objects::StoredObject,
        category: &str,
        title: &str,
        file_name: &str,
    ) -> Result<Document, WriteError> {
        let mut tx = self.begin().await?;
        let version = tx
            .fetch_one(
                Q::new("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM patient_documents WHERE series_id = $1")
                    .bind(series),
            )
            .await?
            .i64("v")?;
        let id = DocumentId::from_uuid(self.new_uuid());
        let now = self.now();
        tx.execute(
            Q::new(
                "INSERT INTO patient_documents (id, org_id, patient_id, series_id, version, object_id, category, title, \
                 file_name, content_type, size, sha256, treatment_id, uploaded_by, uploaded_by_name, uploaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $15)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(patient)
            .bind(series)
            .bind(version)
            .bind(obj.id)
            .bind(category)
            .bind(title)
            .bind(file_name)
            .bind(obj.content_type.as_str())
            .bind(obj.size)
            .bind(obj.sha256.as_str())
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(now),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.document_added",
                Some(patient),
                &format!("document:{id}"),
                serde_json::json!({ "category": category, "version": version, "size": obj.size, "sha256": obj.sha256 }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Document {
            id,
            patient_id: patient,
            series_id: series,
            version,
            object_id: obj.id,
            category: category.into(),
            title: title.into(),
            file_name: file_name.into(),
            content_type: obj.content_type.clone(),
            size: obj.size,
            sha256: obj.sha256.clone(),
            uploaded_by: actor.id,
            uploaded_by_name: actor.name.clone(),
            uploaded_at: now,
            deleted_at: None,
            delete_reason: None,
        })
    }

    /// A patient's documents, newest first; deleted ones only when asked.
    pub async fn documents(
        &self,
        scope: &Scope,
        patient: PatientId,
        with_deleted: bool,
    ) -> Result<Vec<Document>, WriteError> {
        self.patient_row(scope, patient).await?;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT * FROM patient_documents WHERE patient_id = $1 AND org_id = $2 \
                     AND (deleted_at IS NULL OR $3) ORDER BY uploaded_at DESC, version DESC",
                )
                .bind(patient)
                .bind(scope.org())
                .bind(with_deleted),
            )
            .await?;
        Ok(rows.iter().map(document_of).collect::<Result<_, _>>()?)
    }

    /// One document of a patient the scope may see, audited as `patient.document_viewed`.
    pub async fn document(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: DocumentId,
    ) -> Result<Document, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM patient_documents WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("document"))?;
        let d = document_of(&r)?;
        self.patient_row(scope, d.patient_id).await?;
        let mut tx = self.begin().await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.document_viewed",
                Some(d.patient_id),
                &format!("document:{id}"),
                serde_json::json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Marks a document deleted (it stays stored and listed under "deleted"), audited with
    /// the reason.
    pub async fn delete_document(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: DocumentId,
        reason: &str,
    ) -> Result<(), WriteError> {
        let reason = reason.trim();
        let mut tx = self.begin().await?;
        let r = tx
            .fetch_optional(
                Q::new("SELECT patient_id FROM patient_documents WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("document"))?;
        let patient = PatientId::from_uuid(r.uuid("patient_id")?);
        tx.patient_row(scope, patient).await?;
        if reason.is_empty() {
            return Err(DomainError::field("reason", "say why the document is removed").into());
        }
        tx.execute(
            Q::new("UPDATE patient_documents SET deleted_at = $1, deleted_by = $2, delete_reason = $3 WHERE id = $4")
                .bind(self.now())
                .bind(actor.id)
                .bind(reason)
                .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.document_deleted",
                Some(patient),
                &format!("document:{id}"),
                serde_json::json!({ "reason": reason }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(detect_type(b"%PDF-1.7\n", "x.exe"), Some("application/pdf"));
        assert_eq!(
            detect_type(b"\x89PNG\r\n\x1a\nrest", "a"),
            Some("image/png")
        );
        assert_eq!(
            detect_type(b"\xFF\xD8\xFF\xE0", "a.pdf"),
            Some("image/jpeg")
        );
        assert_eq!(
            detect_type(b"MZ\x90\x00", "scan.pdf"),
            None,
            "an executable named .pdf"
        );
        assert_eq!(detect_type(b"\x7fELF", "a.txt"), None);
        assert_eq!(detect_type(b"hello", "notes.txt"), Some("text/plain"));
        assert_eq!(detect_type(b"<script>", "page.html"), None);
        let mut dcm = vec![0u8; 128];
        dcm.extend_from_slice(b"DICM");
        assert_eq!(detect_type(&dcm, "x"), Some("application/dicom"));
    }

    #[tokio::test]
    async fn the_builtin_scanner_refuses_scripted_pdfs() {
        let s = BuiltinScanner;
        assert_eq!(
            s.scan("application/pdf", b"%PDF-1.4 plain").await,
            Verdict::Clean
        );
        assert!(matches!(
            s.scan(
                "application/pdf",
                b"%PDF-1.4 << /OpenAction << /S /JavaScript >>"
            )
            .await,
            Verdict::Refused(_)
        ));
        assert_eq!(s.scan("image/png", b"/JavaScript").await, Verdict::Clean);
    }
}
