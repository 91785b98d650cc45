//! CSV import of patients from another system's export: a column mapping (Open Dental's as a
//! preset), a dry run, every bad row reported with its line and reason, progress, and
//! idempotent re-runs (a row already imported is skipped: by its source id when the file has
//! one, else by the same name and birth date).
//!
//! Good rows are written in chunks of [`CHUNK`], each one transaction with its audit events;
//! then guarantors are linked (a row whose guarantor is another row joins that row's family).

use std::collections::{HashMap, HashSet};

use domain::patients::import::{Mapping, RowExtras};
use domain::patients::search::name_key;
use domain::patients::{PatientDetails, PatientStatus};
use domain::{DomainError, FamilyId, LocationId, PatientId, Scope};
use serde::{Deserialize, Serialize};

use super::{Actor, FamilyChoice, NewPatient, PatientInput};
use crate::Store;
use crate::db::{DbError, Q};
use crate::tenancy::WriteError;

/// Rows written per transaction.
pub const CHUNK: usize = 500;

/// Bad rows reported in full; beyond this only counted.
pub const MAX_REPORTED: usize = 10_000;

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub location_id: LocationId,
    pub mapping: Mapping,
    pub dry_run: bool,
    pub file_name: String,
}

/// A problem with one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub message: String,
    /// A warning did not stop the row (e.g. an unknown guarantor).
    #[serde(default)]
    pub warning: bool,
}

/// What an import did (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub total_rows: u64,
    /// Written (or, dry, would be written).
    pub created: u64,
    /// Already in Cuspid (a re-run), or repeated in the file.
    pub skipped: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
}

struct Good {
    line: u64,
    details: PatientDetails,
    extras: RowExtras,
}

/// A file's data rows with their line numbers.
type Lines = Vec<(u64, Vec<String>)>;

fn read_csv(data: &[u8]) -> Result<(Vec<String>, Lines), WriteError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let text = std::str::from_utf8(data)
        .map(std::borrow::Cow::Borrowed)
        .unwrap_or_else(|_| {
            // Windows exports are often Latin-1 / Windows-1252: read bytes as Latin-1.
            std::borrow::Cow::Owned(data.iter().map(|&b| char::from(b)).collect())
        });
    // Semicolons in European exports.
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            DomainError::field(
                "file",
                format!("the file's first line cannot be read as CSV headers: {e}"),
            )
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec =
            rec.map_err(|e| DomainError::field("file", format!("the file is not valid CSV: {e}")))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows.push((line, rec.iter().map(str::to_string).collect()));
    }
    Ok((headers, rows))
}

impl Store {
    /// Imports (or, with `dry_run`, checks) a CSV export. `progress(done, total)` is called
    /// after each chunk.
    pub async fn import_patients(
        &self,
        scope: &Scope,
        actor: &Actor,
        data: &[u8],
        opts: &ImportOptions,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<ImportReport, WriteError> {
        let (headers, rows) = read_csv(data)?;
        if let Err(problems) = opts.mapping.check(&headers) {
            return Err(DomainError::field("mapping", problems.join("; ")).into());
        }
        let today = self.today(scope, opts.location_id).await?;
        let code = self.calling_code(scope, opts.location_id).await?;
        let indexes = opts.mapping.indexes(&headers);
        let mut report = ImportReport {
            dry_run: opts.dry_run,
            total_rows: rows.len() as u64,
            ..Default::default()
        };
        let push_error = |report: &mut ImportReport, e: RowError| {
            if report.errors.len() < MAX_REPORTED {
                report.errors.push(e);
            }
        };
        let mut good: Vec<Good> = Vec::new();
        let mut seen_ids: HashSet<String> = HashSet::new();
        let mut seen_people: HashSet<(String, String, String)> = HashSet::new();
        for (line, record) in &rows {
            let (input, extras): (PatientInput, RowExtras) = opts.mapping.row(&indexes, record);
            let details = match input.validate(today, code) {
                Ok(d) => d,
                Err(errs) => {
                    report.failed += 1;
                    for e in errs {
                        push_error(
                            &mut report,
                            RowError {
                                line: *line,
                                field: e.field,
                                message: e.message,
                                warning: false,
                            },
                        );
                    }
                    continue;
                }
            };
            let person = (
                name_key(&details.family_name),
                name_key(&details.given_name),
                details.birth_date.to_string(),
            );
            let repeated = if details.external_id.is_empty() {
                !seen_people.insert(person.clone())
            } else {
                !seen_ids.insert(details.external_id.clone())
            };
            if repeated || self.already_imported(scope, &details).await? {
                report.skipped += 1;
                continue;
            }
            good.push(Good {
                line: *line,
                details,
                extras,
            });
        }
        report.created = good.len() as u64;
        if opts.dry_run {
            progress(report.total_rows, report.total_rows);
            return Ok(report);
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let mut by_external: HashMap<String, (PatientId, FamilyId)> = HashMap::new();
        let mut created: Vec<(u64, PatientId, String)> = Vec::new();
        let mut done = report.skipped + report.failed;
        for chunk in good.chunks(CHUNK) {
            let mut tx = self.begin().await?;
            for g in chunk {
                let new = NewPatient {
                    location_id: opts.location_id,
                    restricted: false,
                    input: PatientInput::default(),
                    family: FamilyChoice::Own,
                    status: g.extras.status.unwrap_or(PatientStatus::Active),
                };
                let p = tx
                    .insert_patient(self, scope, actor, &cipher, &new, g.details.clone())
                    .await?;
                if !g.details.external_id.is_empty() {
                    by_external.insert(g.details.external_id.clone(), (p.id, p.family_id));
                }
                created.push((g.line, p.id, g.extras.guarantor_external_id.clone()));
            }
            tx.commit().await?;
            done += chunk.len() as u64;
            progress(done, report.total_rows);
        }
        // Guarantors: join the guarantor's family (the row's own, just created, goes).
        let mut links = Vec::new();
        for (line, id, guarantor) in &created {
            if guarantor.is_empty() {
                continue;
            }
            let own = by_external
                .iter()
                .find(|(_, v)| v.0 == *id)
                .map(|(k, _)| k.clone());
            if own.as_deref() == Some(guarantor.as_str()) {
                continue;
            }
            let target = match by_external.get(guarantor) {
                Some((_, f)) => Some(*f),
                None => self
                    .db
                    .fetch_optional(
                        Q::new(
                            "SELECT family_id FROM patients WHERE org_id = $1 AND external_id = $2",
                        )
                        .bind(scope.org())
                        .bind(guarantor.as_str()),
                    )
                    .await?
                    .map(|r| r.uuid("family_id").map(FamilyId::from_uuid))
                    .transpose()?,
            };
            match target {
                Some(f) => links.push((*id, f)),
                None => push_error(
                    &mut report,
                    RowError {
                        line: *line,
                        field: "guarantor_external_id".into(),
                        message: format!(
                            "guarantor {guarantor} is neither in the file nor in Cuspid; the patient was given a family of their own"
                        ),
                        warning: true,
                    },
                ),
            }
        }
        for chunk in links.chunks(CHUNK) {
            let mut tx = self.begin().await?;
            for (id, family) in chunk {
                let old = tx
                    .fetch_one(Q::new("SELECT family_id FROM patients WHERE id = $1").bind(*id))
                    .await?
                    .uuid("family_id")?;
                tx.execute(
                    Q::new("UPDATE patients SET family_id = $1 WHERE id = $2")
                        .bind(*family)
                        .bind(*id),
                )
                .await?;
                tx.execute(
                    Q::new("DELETE FROM families WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM patients WHERE family_id = $1)")
                        .bind(old),
                )
                .await?;
            }
            tx.commit().await?;
        }
        let mut tx = self.begin().await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.import",
                None,
                "patients",
                serde_json::json!({
                    "file": opts.file_name, "rows": report.total_rows, "created": report.created,
                    "skipped": report.skipped, "failed": report.failed,
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn already_imported(&self, scope: &Scope, d: &PatientDetails) -> Result<bool, DbError> {
        let r = if d.external_id.is_empty() {
            self.db
                .fetch_optional(
                    Q::new(
                        "SELECT id FROM patients WHERE org_id = $1 AND family_key = $2 AND given_key = $3 AND birth_date = $4 LIMIT 1",
                    )
                    .bind(scope.org())
                    .bind(name_key(&d.family_name))
                    .bind(name_key(&d.given_name))
                    .bind(d.birth_date.to_string()),
                )
                .await?
        } else {
            self.db
                .fetch_optional(
                    Q::new("SELECT id FROM patients WHERE org_id = $1 AND external_id = $2")
                        .bind(scope.org())
                        .bind(d.external_id.as_str()),
                )
                .await?
        };
        Ok(r.is_some())
    }
}
