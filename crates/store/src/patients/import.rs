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
    /// The run recorded in `patient_imports` (see [`Store::start_import`]): its progress and
    /// report are written there as the import goes.
    pub run: Option<uuid::Uuid>,
}

/// A recorded import run, as the import page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportRun {
    pub id: uuid::Uuid,
    pub file_name: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    pub dry_run: bool,
    pub total_rows: i64,
    pub processed: i64,
    pub created: i64,
    pub skipped: i64,
    pub failed: i64,
    pub errors: Vec<RowError>,
    pub started_at: jiff::Timestamp,
    pub finished_at: Option<jiff::Timestamp>,
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
            self.finish_import(opts.run, &report).await?;
            return Ok(report);
        }
        self.import_progress(opts.run, report.skipped + report.failed, report.total_rows)
            .await?;
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
            self.import_progress(opts.run, done, report.total_rows)
                .await?;
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
        self.finish_import(opts.run, &report).await?;
        Ok(report)
    }

    /// Records a run about to start (the page follows it by its id).
    pub async fn start_import(
        &self,
        scope: &Scope,
        actor: &Actor,
        opts: &ImportOptions,
    ) -> Result<uuid::Uuid, WriteError> {
        let id = self.new_uuid();
        self.db
            .execute(
                Q::new(
                    "INSERT INTO patient_imports (id, org_id, location_id, object_id, file_name, mapping, dry_run, status, \
                     total_rows, processed, created, skipped, failed, errors, started_by, started_at) \
                     VALUES ($1, $2, $3, NULL, $4, $5, $6, 'running', 0, 0, 0, 0, 0, '[]', $7, $8)",
                )
                .bind(id)
                .bind(scope.org())
                .bind(opts.location_id)
                .bind(opts.file_name.as_str())
                .bind(serde_json::to_string(&opts.mapping).map_err(|e| DbError::Corrupt(e.to_string()))?)
                .bind(opts.dry_run)
                .bind(actor.id)
                .bind(self.now()),
            )
            .await?;
        Ok(id)
    }

    async fn import_progress(
        &self,
        run: Option<uuid::Uuid>,
        done: u64,
        total: u64,
    ) -> Result<(), DbError> {
        let Some(run) = run else { return Ok(()) };
        self.db
            .execute(
                Q::new("UPDATE patient_imports SET processed = $1, total_rows = $2 WHERE id = $3")
                    .bind(i64::try_from(done).unwrap_or(i64::MAX))
                    .bind(i64::try_from(total).unwrap_or(i64::MAX))
                    .bind(run),
            )
            .await?;
        Ok(())
    }

    async fn finish_import(
        &self,
        run: Option<uuid::Uuid>,
        r: &ImportReport,
    ) -> Result<(), DbError> {
        let Some(run) = run else { return Ok(()) };
        let n = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        self.db
            .execute(
                Q::new(
                    "UPDATE patient_imports SET status = 'done', processed = $1, total_rows = $1, created = $2, skipped = $3, \
                     failed = $4, errors = $5, finished_at = $6 WHERE id = $7",
                )
                .bind(n(r.total_rows))
                .bind(n(r.created))
                .bind(n(r.skipped))
                .bind(n(r.failed))
                .bind(serde_json::to_string(&r.errors).map_err(|e| DbError::Corrupt(e.to_string()))?)
                .bind(self.now())
                .bind(run),
            )
            .await?;
        Ok(())
    }

    /// Marks a run failed with the reason (a refused file or mapping, a database error).
    pub async fn fail_import(&self, run: uuid::Uuid, reason: &str) -> Result<(), DbError> {
        let errors = serde_json::json!([{ "line": 0, "field": "file", "message": reason, "warning": false }]);
        self.db
            .execute(
                Q::new("UPDATE patient_imports SET status = 'failed', errors = $1, finished_at = $2 WHERE id = $3")
                    .bind(errors.to_string())
                    .bind(self.now())
                    .bind(run),
            )
            .await?;
        Ok(())
    }

    /// The organization's runs, newest first.
    pub async fn import_runs(&self, scope: &Scope, limit: i64) -> Result<Vec<ImportRun>, DbError> {
        self.db
            .fetch_all(
                Q::new("SELECT * FROM patient_imports WHERE org_id = $1 ORDER BY started_at DESC LIMIT $2")
                    .bind(scope.org())
                    .bind(limit),
            )
            .await?
            .iter()
            .map(run_of)
            .collect()
    }

    /// One run of the organization.
    pub async fn import_run(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<Option<ImportRun>, DbError> {
        self.db
            .fetch_optional(
                Q::new("SELECT * FROM patient_imports WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .as_ref()
            .map(run_of)
            .transpose()
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

fn run_of(r: &crate::db::Row) -> Result<ImportRun, DbError> {
    Ok(ImportRun {
        id: r.uuid("id")?,
        file_name: r.string("file_name")?,
        status: r.string("status")?,
        dry_run: r.bool("dry_run")?,
        total_rows: r.i64("total_rows")?,
        processed: r.i64("processed")?,
        created: r.i64("created")?,
        skipped: r.i64("skipped")?,
        failed: r.i64("failed")?,
        errors: r.json("errors")?,
        started_at: r.ts("started_at")?,
        finished_at: r.opt_ts("finished_at")?,
    })
}
