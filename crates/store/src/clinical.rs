//! Clinical charting: the organization's procedure and condition catalog (the starter catalog
//! on first use, edits, a licensed list imported from CSV), its charting settings, and each
//! patient's chart entries with their odontogram.
//!
//! A chart change locks the patient's `charts` row first, so writers to one chart go one at a
//! time on both databases. A writer says which chart version it saw (`base_version`); when the
//! tooth it writes to (or the entry it changes) was changed after that, the write is refused as
//! a conflict naming the change, and nothing is written: no update is lost.

use domain::clinical::catalog::{CatalogEntry, Effect, EntryKind, STARTER, SiteRule};
use domain::clinical::chart::{ChartStatus, EntryRequest, Mark, Site};
use domain::clinical::perio::PerioExam;
use domain::clinical::teeth::{Area, Numbering, Surfaces, Tooth};
use domain::{
    ChartEntryId, DomainError, ErrorCode, LocationId, PatientId, ProcedureCodeId, Scope, UserId,
};
use jiff::Timestamp;
use serde_json::json;

use crate::db::{DbError, DbResult, Q, Row};
use crate::patients::Actor;
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// The encrypted field holding a chart entry's note.
pub const NOTE_FIELD: &str = "chart_entries.note";

/// The encrypted field holding a periodontal exam's readings.
pub const PERIO_FIELD: &str = "perio_exams.data";

/// A stored periodontal exam.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerioRecord {
    pub id: uuid::Uuid,
    /// The patient's exam number (1, 2, ...).
    pub number: i64,
    pub patient_id: PatientId,
    pub exam: PerioExam,
    pub recorded_by_name: String,
    pub recorded_at: Timestamp,
    /// The diagnosis the clinician confirmed (`Case::code`), by whom and when.
    pub confirmed: Option<(String, String, Timestamp)>,
}

/// A code of the organization's catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcedureCode {
    pub id: ProcedureCodeId,
    pub entry: CatalogEntry,
    pub active: bool,
}

/// The organization's charting settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ClinicalSettings {
    pub numbering: Numbering,
}

/// One charted entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartEntry {
    pub id: ChartEntryId,
    pub patient_id: PatientId,
    pub code: String,
    /// The catalog's name for the code.
    pub name: String,
    pub kind: EntryKind,
    pub effect: Effect,
    pub site: Site,
    pub status: ChartStatus,
    pub note: String,
    pub override_reason: Option<String>,
    pub provider_id: Option<UserId>,
    pub recorded_by_name: String,
    pub recorded_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub completed_by_name: Option<String>,
    pub voided_at: Option<Timestamp>,
    pub voided_by_name: Option<String>,
    pub void_reason: Option<String>,
    /// The chart version that last changed this entry.
    pub changed_version: i64,
}

impl ChartEntry {
    pub fn is_void(&self) -> bool {
        self.voided_at.is_some()
    }

    /// When its current status took effect (completion, or charting).
    pub fn effective_at(&self) -> Timestamp {
        self.completed_at.unwrap_or(self.recorded_at)
    }

    pub fn mark(&self) -> Mark {
        Mark {
            site: self.site,
            status: self.status,
            effect: self.effect,
        }
    }
}

/// A patient's chart: every entry (voided ones too, marked), oldest first, and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub patient_id: PatientId,
    pub version: i64,
    pub entries: Vec<ChartEntry>,
}

impl Chart {
    /// The entries in force, in the order their status took effect (what the odontogram draws).
    pub fn marks(&self) -> Vec<Mark> {
        let mut live: Vec<&ChartEntry> = self.entries.iter().filter(|e| !e.is_void()).collect();
        live.sort_by_key(|e| (e.effective_at(), e.changed_version));
        live.iter().map(|e| e.mark()).collect()
    }

    pub fn missing_teeth(&self) -> Vec<Tooth> {
        domain::clinical::chart::missing_teeth(&self.marks())
    }
}

/// What the writer may do beyond charting.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChartPermits {
    /// `chart.sign`: may complete dentist-only procedures.
    pub may_complete_dentist_only: bool,
}

fn invalid(field: &str, message: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, message))
}

fn corrupt(what: &str) -> DbError {
    DbError::Corrupt(format!("chart: {what}"))
}

fn code_from_row(r: &Row) -> DbResult<ProcedureCode> {
    let kind = r.string("kind")?;
    let site = r.string("site")?;
    let effect = r.string("effect")?;
    Ok(ProcedureCode {
        id: ProcedureCodeId::from_uuid(r.uuid("id")?),
        entry: CatalogEntry {
            code: r.string("code")?,
            kind: EntryKind::from_code(&kind).ok_or_else(|| corrupt("kind"))?,
            name: r.string("name")?,
            category: r.string("category")?,
            minutes: u16::try_from(r.i64("minutes")?).map_err(|_| corrupt("minutes"))?,
            site: SiteRule::from_code(&site).ok_or_else(|| corrupt("site"))?,
            dentist_only: r.bool("dentist_only")?,
            fee_minor: r.i64("fee_minor")?,
            icd10: r.opt_string("icd10")?,
            effect: Effect::from_code(&effect).ok_or_else(|| corrupt("effect"))?,
        },
        active: r.bool("active")?,
    })
}

/// A stored site: tooth, surface bits and area code.
fn site_from_row(r: &Row) -> DbResult<Site> {
    if let Some(t) = r.opt_i64("tooth")? {
        let tooth = u8::try_from(t)
            .ok()
            .and_then(Tooth::from_fdi)
            .ok_or_else(|| corrupt("tooth"))?;
        let surfaces = u8::try_from(r.i64("surfaces")?)
            .ok()
            .and_then(Surfaces::from_bits)
            .ok_or_else(|| corrupt("surfaces"))?;
        return Ok(Site::Tooth(tooth, surfaces));
    }
    match r.opt_string("area")? {
        Some(a) => Area::parse(&a)
            .map(Site::Area)
            .ok_or_else(|| corrupt("area")),
        None => Ok(Site::Mouth),
    }
}

fn site_columns(site: Site) -> (Option<i64>, i64, Option<String>) {
    match site {
        Site::Mouth => (None, 0, None),
        Site::Tooth(t, s) => (Some(i64::from(t.fdi())), i64::from(s.bits()), None),
        Site::Area(a) => (None, 0, Some(a.code())),
    }
}

const ENTRY_COLUMNS: &str = "e.id, e.patient_id, e.code, c.name, e.kind, e.effect, e.tooth, e.surfaces, e.area, \
     e.status, e.note_enc, e.override_reason, e.provider_id, e.recorded_by_name, e.recorded_at, \
     e.completed_at, e.completed_by_name, e.voided_at, e.voided_by_name, e.void_reason, e.changed_version";

impl Store {
    /// The organization's charting settings (FDI numbering until changed).
    pub async fn clinical_settings(&self, scope: &Scope) -> DbResult<ClinicalSettings> {
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT numbering FROM clinical_settings WHERE org_id = $1")
                    .bind(scope.org()),
            )
            .await?;
        Ok(match row {
            Some(r) => ClinicalSettings {
                numbering: Numbering::from_code(&r.string("numbering")?)
                    .ok_or_else(|| corrupt("numbering"))?,
            },
            None => ClinicalSettings::default(),
        })
    }

    pub async fn set_clinical_settings(
        &self,
        scope: &Scope,
        actor: &Actor,
        s: ClinicalSettings,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO clinical_settings (org_id, numbering, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (org_id) DO UPDATE SET numbering = $2, updated_at = $3",
            )
            .bind(scope.org())
            .bind(s.numbering.code())
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "clinical.settings_changed",
                None,
                "clinical",
                json!({ "numbering": s.numbering.code() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The catalog, by category and code. An organization's first read stores the starter
    /// catalog in the language of its first location.
    pub async fn procedure_codes(&self, scope: &Scope) -> DbResult<Vec<ProcedureCode>> {
        let q = || {
            Q::new(
                "SELECT * FROM procedure_codes WHERE org_id = $1 ORDER BY kind DESC, category, code",
            )
            .bind(scope.org())
        };
        let rows = self.db.fetch_all(q()).await?;
        if !rows.is_empty() {
            return rows.iter().map(code_from_row).collect();
        }
        self.seed_catalog(scope).await?;
        self.db
            .fetch_all(q())
            .await?
            .iter()
            .map(code_from_row)
            .collect()
    }

    /// Stores the starter catalog; codes already there are kept (two servers may race).
    async fn seed_catalog(&self, scope: &Scope) -> DbResult<()> {
        let locale = self
            .locations(scope)
            .await?
            .first()
            .map(|l| l.locale.clone())
            .unwrap_or_else(|| "en".into());
        let mut tx = self.begin().await?;
        for s in STARTER {
            tx.put_code(self, scope, &s.entry(&locale), true, false)
                .await?;
        }
        tx.commit().await
    }

    /// One code of the catalog by its code (any case).
    pub async fn procedure_code(
        &self,
        scope: &Scope,
        code: &str,
    ) -> DbResult<Option<ProcedureCode>> {
        let code = code.trim().to_ascii_uppercase();
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM procedure_codes WHERE org_id = $1 AND code = $2")
                    .bind(scope.org())
                    .bind(code.as_str()),
            )
            .await?;
        if r.is_none() && self.procedure_codes(scope).await?.is_empty() {
            return Ok(None);
        }
        match r {
            Some(r) => code_from_row(&r).map(Some),
            // The first read seeded the starter catalog: look again.
            None => self
                .db
                .fetch_optional(
                    Q::new("SELECT * FROM procedure_codes WHERE org_id = $1 AND code = $2")
                        .bind(scope.org())
                        .bind(code.as_str()),
                )
                .await?
                .as_ref()
                .map(code_from_row)
                .transpose(),
        }
    }

    /// Adds a code, or changes the one with the same code (entries keep the drawing and kind
    /// they were charted with). Audited.
    pub async fn save_procedure_code(
        &self,
        scope: &Scope,
        actor: &Actor,
        entry: &CatalogEntry,
        active: bool,
    ) -> Result<ProcedureCode, WriteError> {
        let entry = entry
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        self.procedure_codes(scope).await?;
        let mut tx = self.begin().await?;
        tx.put_code(self, scope, &entry, active, true).await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "catalog.code_saved",
                None,
                &format!("procedure_code:{}", entry.code),
                json!({ "active": active }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.procedure_code(scope, &entry.code)
            .await?
            .ok_or_else(|| WriteError::Db(corrupt("saved code not found")))
    }

    /// Imports a licensed code list (see [`domain::clinical::catalog::parse_csv`]): new codes
    /// are added and existing ones updated, in one transaction. Returns (added, updated).
    pub async fn import_procedure_codes(
        &self,
        scope: &Scope,
        actor: &Actor,
        entries: &[CatalogEntry],
    ) -> Result<(u64, u64), WriteError> {
        let mut normalized = Vec::with_capacity(entries.len());
        for e in entries {
            normalized.push(
                e.normalized()
                    .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?,
            );
        }
        let existing: std::collections::HashSet<String> = self
            .procedure_codes(scope)
            .await?
            .into_iter()
            .map(|c| c.entry.code)
            .collect();
        let mut tx = self.begin().await?;
        let (mut added, mut updated) = (0, 0);
        for e in &normalized {
            tx.put_code(self, scope, e, true, true).await?;
            if existing.contains(&e.code) {
                updated += 1;
            } else {
                added += 1;
            }
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "catalog.imported",
                None,
                "procedure_codes",
                json!({ "added": added, "updated": updated }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((added, updated))
    }

    /// The patient's chart, audited as a read of the record.
    pub async fn chart(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Chart, WriteError> {
        self.patient_row(scope, patient).await?;
        let chart = self.chart_unaudited(scope, patient).await?;
        let mut tx = self.begin().await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "chart.read",
                Some(patient),
                &format!("patient:{patient}"),
                json!({ "entries": chart.entries.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(chart)
    }

    pub(crate) async fn chart_unaudited(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Chart, WriteError> {
        let rows = self
            .db
            .fetch_all(
                // On SQLite the unary `+` keeps the planner off the organization's index (all
                // its entries, in date order) for the patient's own: without statistics it
                // preferred the former, a scan of every chart of the organization.
                Q::generated_fork(
                    format!(
                        "SELECT {ENTRY_COLUMNS} FROM chart_entries e JOIN procedure_codes c ON c.id = e.code_id \
                         WHERE e.patient_id = $1 AND +e.org_id = $2 ORDER BY e.recorded_at, e.id"
                    ),
                    format!(
                        "SELECT {ENTRY_COLUMNS} FROM chart_entries e JOIN procedure_codes c ON c.id = e.code_id \
                         WHERE e.patient_id = $1 AND e.org_id = $2 ORDER BY e.recorded_at, e.id"
                    ),
                )
                .bind(patient)
                .bind(scope.org()),
            )
            .await?;
        let stored = self
            .db
            .fetch_optional(
                Q::new("SELECT version FROM charts WHERE patient_id = $1").bind(patient),
            )
            .await?
            .map(|r| r.i64("version"))
            .transpose()?
            .unwrap_or(0);
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            entries.push(self.entry_from_row(scope, r).await?);
        }
        let version = entries
            .iter()
            .map(|e| e.changed_version)
            .max()
            .unwrap_or(0)
            .max(stored);
        Ok(Chart {
            patient_id: patient,
            version,
            entries,
        })
    }

    async fn entry_from_row(&self, scope: &Scope, r: &Row) -> Result<ChartEntry, WriteError> {
        let note = match r.opt_string("note_enc")? {
            Some(enc) => self.decrypt_field(scope.org(), NOTE_FIELD, &enc).await?,
            None => String::new(),
        };
        let kind = r.string("kind")?;
        let effect = r.string("effect")?;
        let status = r.string("status")?;
        Ok(ChartEntry {
            id: ChartEntryId::from_uuid(r.uuid("id")?),
            patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
            code: r.string("code")?,
            name: r.string("name")?,
            kind: EntryKind::from_code(&kind).ok_or_else(|| corrupt("kind"))?,
            effect: Effect::from_code(&effect).ok_or_else(|| corrupt("effect"))?,
            site: site_from_row(r)?,
            status: ChartStatus::from_code(&status).ok_or_else(|| corrupt("status"))?,
            note,
            override_reason: r.opt_string("override_reason")?,
            provider_id: r.opt_uuid("provider_id")?.map(UserId::from_uuid),
            recorded_by_name: r.string("recorded_by_name")?,
            recorded_at: r.ts("recorded_at")?,
            completed_at: r.opt_ts("completed_at")?,
            completed_by_name: r.opt_string("completed_by_name")?,
            voided_at: r.opt_ts("voided_at")?,
            voided_by_name: r.opt_string("voided_by_name")?,
            void_reason: r.opt_string("void_reason")?,
            changed_version: r.i64("changed_version")?,
        })
    }

    /// Charts an entry. `numbering` is how `req.tooth` is written (the API uses FDI);
    /// `base_version` is the chart version the writer saw (`None`: no check, as for an API
    /// client appending). Refused, with nothing written: an invalid request (422 naming the
    /// field), a tooth changed since `base_version` (409), completing a dentist-only
    /// procedure without `chart.sign` (403).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_chart_entry(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: ChartPermits,
        patient: PatientId,
        numbering: Numbering,
        req: &EntryRequest,
        base_version: Option<i64>,
    ) -> Result<ChartEntry, WriteError> {
        let code = self.procedure_code(scope, &req.code).await?;
        let code = code.filter(|c| c.active);
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        let location =
            LocationId::from_uuid(tx.patient_row(scope, patient).await?.uuid("location_id")?);
        let version = tx.lock_chart(self, scope, patient).await?;
        let chart = self.chart_in(&mut tx, scope, patient).await?;
        let missing = chart.missing_teeth();
        let checked = req
            .check(code.as_ref().map(|c| &c.entry), numbering, |t| {
                missing.contains(&t)
            })
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        let code = code.ok_or_else(|| invalid("code", "not in the catalog"))?;
        check_dentist_only(&code, &checked, permits)?;
        if let (Some(base), Some(tooth)) = (base_version, checked.site.tooth()) {
            check_tooth_unchanged(&chart, tooth, base, numbering)?;
        }
        let new_version = version + 1;
        let (tooth, _, area) = site_columns(checked.site);
        let id = tx
            .insert_entry(
                self,
                scope,
                actor,
                &cipher,
                patient,
                &code,
                &checked,
                new_version,
            )
            .await?;
        if checked.status == ChartStatus::Completed && code.entry.kind == EntryKind::Procedure {
            tx.charge_procedure(
                self,
                scope,
                actor,
                patient,
                location,
                id,
                &code.entry.code,
                code.entry.fee_minor,
            )
            .await?;
        }
        tx.finish_chart_change(
            self,
            scope,
            actor,
            patient,
            new_version,
            "chart.entry_added",
            json!({
                "entry": id,
                "code": code.entry.code,
                "tooth": tooth,
                "area": area,
                "status": checked.status.code(),
                "override": checked.override_reason.is_some(),
            }),
            checked.site.tooth(),
        )
        .await?;
        tx.commit().await?;
        let chart = self.chart_unaudited(scope, patient).await?;
        chart
            .entries
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| WriteError::Db(corrupt("new entry not found")))
    }

    /// Charts several entries at once, in order, in one transaction (an existing chart
    /// brought over, or the demo): each is checked like [`Store::add_chart_entry`] against
    /// the chart as the ones before it left it; the first refusal refuses them all, with
    /// nothing written. Returns how many were charted.
    pub async fn add_chart_entries(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: ChartPermits,
        patient: PatientId,
        numbering: Numbering,
        reqs: &[EntryRequest],
    ) -> Result<usize, WriteError> {
        let codes: std::collections::HashMap<String, ProcedureCode> = self
            .procedure_codes(scope)
            .await?
            .into_iter()
            .filter(|c| c.active)
            .map(|c| (c.entry.code.clone(), c))
            .collect();
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let mut version = tx.lock_chart(self, scope, patient).await?;
        let mut marks = self.chart_in(&mut tx, scope, patient).await?.marks();
        let now = self.now();
        for req in reqs {
            let code = codes.get(&req.code.trim().to_ascii_uppercase());
            let missing = domain::clinical::chart::missing_teeth(&marks);
            let checked = req
                .check(code.map(|c| &c.entry), numbering, |t| missing.contains(&t))
                .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
            let code = code.ok_or_else(|| invalid("code", "not in the catalog"))?;
            check_dentist_only(code, &checked, permits)?;
            version += 1;
            let (tooth, _, area) = site_columns(checked.site);
            let id = tx
                .insert_entry(
                    self, scope, actor, &cipher, patient, code, &checked, version,
                )
                .await?;
            tx.audit(
                self,
                scope.org(),
                actor.entry(
                    "chart.entry_added",
                    Some(patient),
                    &format!("patient:{patient}"),
                    json!({ "entry": id, "code": code.entry.code, "tooth": tooth, "area": area, "status": checked.status.code() }),
                ),
            )
            .await?;
            marks.push(Mark {
                site: checked.site,
                status: checked.status,
                effect: code.entry.effect,
            });
        }
        tx.execute(
            Q::new("UPDATE charts SET version = $1, updated_at = $2 WHERE patient_id = $3")
                .bind(version)
                .bind(now)
                .bind(patient),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "chart.changed",
            json!({ "patient_id": patient, "version": version, "tooth": null }),
        )
        .await?;
        tx.commit().await?;
        Ok(reqs.len())
    }

    /// Completes a planned entry, or voids an entry (with a reason). Same conflict rule as
    /// [`Store::add_chart_entry`], on the entry itself.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_chart_entry(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: ChartPermits,
        patient: PatientId,
        entry: ChartEntryId,
        change: EntryChange,
        base_version: Option<i64>,
    ) -> Result<ChartEntry, WriteError> {
        // Loaded before the transaction: a first use writes the data key.
        self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        let location =
            LocationId::from_uuid(tx.patient_row(scope, patient).await?.uuid("location_id")?);
        let version = tx.lock_chart(self, scope, patient).await?;
        let chart = self.chart_in(&mut tx, scope, patient).await?;
        let Some(current) = chart.entries.iter().find(|e| e.id == entry) else {
            return Err(WriteError::Invalid(DomainError::not_found("chart entry")));
        };
        if let Some(base) = base_version
            && current.changed_version > base
        {
            return Err(conflict(current, "this entry"));
        }
        if current.is_void() {
            return Err(invalid("entry", "this entry was voided"));
        }
        let new_version = version + 1;
        let now = self.now();
        let (action, details) = match &change {
            EntryChange::Complete => {
                if current.status != ChartStatus::Planned {
                    return Err(invalid("status", "only planned work can be completed"));
                }
                let catalog = tx
                    .fetch_optional(
                        Q::new("SELECT dentist_only, fee_minor FROM procedure_codes WHERE org_id = $1 AND code = $2")
                            .bind(scope.org())
                            .bind(current.code.as_str()),
                    )
                    .await?;
                let dentist_only = catalog
                    .as_ref()
                    .map(|r| r.bool("dentist_only"))
                    .transpose()?
                    .unwrap_or(false);
                let fee = catalog
                    .as_ref()
                    .map(|r| r.i64("fee_minor"))
                    .transpose()?
                    .unwrap_or(0);
                if dentist_only && !permits.may_complete_dentist_only {
                    return Err(WriteError::Invalid(DomainError::new(
                        ErrorCode::Forbidden,
                        format!(
                            "{} is a dentist-only procedure: a dentist completes it",
                            current.code
                        ),
                    )));
                }
                tx.execute(
                    Q::new(
                        "UPDATE chart_entries SET status = 'completed', completed_at = $1, completed_by_name = $2, \
                         changed_version = $3 WHERE id = $4 AND patient_id = $5",
                    )
                    .bind(now)
                    .bind(actor.name.as_str())
                    .bind(new_version)
                    .bind(entry)
                    .bind(patient),
                )
                .await?;
                if current.kind == EntryKind::Procedure {
                    tx.charge_procedure(
                        self,
                        scope,
                        actor,
                        patient,
                        location,
                        entry,
                        &current.code,
                        fee,
                    )
                    .await?;
                }
                (
                    "chart.entry_completed",
                    json!({ "entry": entry, "code": current.code }),
                )
            }
            EntryChange::Void { reason } => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(invalid("reason", "say why this entry is voided"));
                }
                tx.execute(
                    Q::new(
                        "UPDATE chart_entries SET voided_at = $1, voided_by_name = $2, void_reason = $3, \
                         changed_version = $4 WHERE id = $5 AND patient_id = $6",
                    )
                    .bind(now)
                    .bind(actor.name.as_str())
                    .bind(reason)
                    .bind(new_version)
                    .bind(entry)
                    .bind(patient),
                )
                .await?;
                if current.status == ChartStatus::Completed {
                    tx.reverse_procedure_charge(self, scope, actor, entry, reason)
                        .await?;
                }
                (
                    "chart.entry_voided",
                    json!({ "entry": entry, "code": current.code }),
                )
            }
        };
        let tooth = current.site.tooth();
        tx.finish_chart_change(
            self,
            scope,
            actor,
            patient,
            new_version,
            action,
            details,
            tooth,
        )
        .await?;
        tx.commit().await?;
        let chart = self.chart_unaudited(scope, patient).await?;
        chart
            .entries
            .into_iter()
            .find(|e| e.id == entry)
            .ok_or_else(|| WriteError::Db(corrupt("entry not found")))
    }

    /// The chart read inside a writer's transaction (after its lock).
    async fn chart_in(
        &self,
        tx: &mut Txn,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Chart, WriteError> {
        let rows = tx
            .fetch_all(
                Q::generated(format!(
                    "SELECT {ENTRY_COLUMNS} FROM chart_entries e JOIN procedure_codes c ON c.id = e.code_id \
                     WHERE e.patient_id = $1 AND e.org_id = $2 ORDER BY e.recorded_at, e.id"
                ))
                .bind(patient)
                .bind(scope.org()),
            )
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            entries.push(self.entry_from_row(scope, r).await?);
        }
        Ok(Chart {
            patient_id: patient,
            version: 0,
            entries,
        })
    }
}

/// A change to an existing entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryChange {
    Complete,
    Void { reason: String },
}

fn conflict(changed: &ChartEntry, what: &str) -> WriteError {
    let by = changed
        .voided_by_name
        .as_deref()
        .or(changed.completed_by_name.as_deref())
        .unwrap_or(&changed.recorded_by_name);
    WriteError::Invalid(
        DomainError::new(
            ErrorCode::Conflict,
            format!(
                "{what} was changed by {by} since you opened the chart ({} {}); reload to see it, nothing was saved",
                changed.code,
                changed.status.code()
            ),
        )
        .with_field("entry", changed.id.to_string()),
    )
}

/// Completing a dentist-only procedure needs `chart.sign`.
fn check_dentist_only(
    code: &ProcedureCode,
    checked: &domain::clinical::chart::CheckedEntry,
    permits: ChartPermits,
) -> Result<(), WriteError> {
    if checked.status == ChartStatus::Completed
        && code.entry.dentist_only
        && !permits.may_complete_dentist_only
    {
        return Err(WriteError::Invalid(DomainError::new(
            ErrorCode::Forbidden,
            format!(
                "{} is a dentist-only procedure: chart it as planned, and a dentist completes it",
                code.entry.code
            ),
        )));
    }
    Ok(())
}

fn check_tooth_unchanged(
    chart: &Chart,
    tooth: Tooth,
    base: i64,
    numbering: Numbering,
) -> Result<(), WriteError> {
    let newest = chart
        .entries
        .iter()
        .filter(|e| e.site.tooth() == Some(tooth) && e.changed_version > base)
        .max_by_key(|e| e.changed_version);
    match newest {
        Some(e) => Err(conflict(e, &format!("tooth {}", tooth.show(numbering)))),
        None => Ok(()),
    }
}

impl Txn {
    /// Locks the patient's chart (writers to one chart go one at a time) and returns its
    /// current version: the highest of the stored counter and the entries' versions (entries
    /// moved in by a merge keep theirs).
    async fn lock_chart(
        &mut self,
        store: &Store,
        scope: &Scope,
        patient: PatientId,
    ) -> DbResult<i64> {
        self.execute(
            Q::new(
                "INSERT INTO charts (patient_id, org_id, version, updated_at) VALUES ($1, $2, 0, $3) \
                 ON CONFLICT (patient_id) DO UPDATE SET updated_at = $3",
            )
            .bind(patient)
            .bind(scope.org())
            .bind(store.now()),
        )
        .await?;
        let stored = self
            .fetch_one(Q::new("SELECT version FROM charts WHERE patient_id = $1").bind(patient))
            .await?
            .i64("version")?;
        let entries = self
            .fetch_one(
                Q::new(
                    "SELECT COALESCE(MAX(changed_version), 0) AS v FROM chart_entries WHERE patient_id = $1",
                )
                .bind(patient),
            )
            .await?
            .i64("v")?;
        Ok(stored.max(entries))
    }

    /// Inserts a checked entry as chart version `version`.
    #[allow(clippy::too_many_arguments)]
    async fn insert_entry(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        cipher: &crate::crypto::FieldCipher,
        patient: PatientId,
        code: &ProcedureCode,
        checked: &domain::clinical::chart::CheckedEntry,
        version: i64,
    ) -> DbResult<ChartEntryId> {
        let now = store.now();
        let id = ChartEntryId::from_uuid(store.new_uuid());
        let (tooth, surfaces, area) = site_columns(checked.site);
        let completed = checked.status == ChartStatus::Completed;
        self.execute(
            Q::new(
                "INSERT INTO chart_entries (id, org_id, patient_id, code_id, code, kind, effect, tooth, surfaces, area, \
                 status, note_enc, override_reason, provider_id, recorded_by, recorded_by_name, recorded_at, \
                 completed_at, completed_by_name, changed_version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(patient)
            .bind(code.id)
            .bind(code.entry.code.as_str())
            .bind(code.entry.kind.code())
            .bind(code.entry.effect.code())
            .bind(tooth)
            .bind(surfaces)
            .bind(area)
            .bind(checked.status.code())
            .bind((!checked.note.is_empty()).then(|| cipher.encrypt(NOTE_FIELD, &checked.note)))
            .bind(checked.override_reason.clone())
            // The treating provider comes with visits, not from the charting user.
            .bind(None::<UserId>)
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(now)
            .bind(completed.then_some(now))
            .bind(completed.then(|| actor.name.clone()))
            .bind(version),
        )
        .await?;
        Ok(id)
    }

    /// Stores the new version, audits the change and tells open charts.
    #[allow(clippy::too_many_arguments)]
    async fn finish_chart_change(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        version: i64,
        action: &str,
        details: serde_json::Value,
        tooth: Option<Tooth>,
    ) -> DbResult<()> {
        self.execute(
            Q::new("UPDATE charts SET version = $1, updated_at = $2 WHERE patient_id = $3")
                .bind(version)
                .bind(store.now())
                .bind(patient),
        )
        .await?;
        self.audit(
            store,
            scope.org(),
            actor.entry(
                action,
                Some(patient),
                &format!("patient:{patient}"),
                details,
            ),
        )
        .await?;
        self.publish(
            store,
            Some(scope.org()),
            "chart.changed",
            json!({
                "patient_id": patient,
                "version": version,
                "tooth": tooth.map(|t| t.fdi()),
            }),
        )
        .await?;
        Ok(())
    }

    /// Stores a catalog code; `replace` updates one with the same code, otherwise it is kept.
    async fn put_code(
        &mut self,
        store: &Store,
        scope: &Scope,
        e: &CatalogEntry,
        active: bool,
        replace: bool,
    ) -> DbResult<()> {
        let sql = if replace {
            "INSERT INTO procedure_codes (id, org_id, code, kind, name, category, minutes, site, dentist_only, \
             fee_minor, icd10, effect, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
             ON CONFLICT (org_id, code) DO UPDATE SET kind = $4, name = $5, category = $6, minutes = $7, \
             site = $8, dentist_only = $9, fee_minor = $10, icd10 = $11, effect = $12, active = $13, updated_at = $14"
        } else {
            "INSERT INTO procedure_codes (id, org_id, code, kind, name, category, minutes, site, dentist_only, \
             fee_minor, icd10, effect, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
             ON CONFLICT (org_id, code) DO NOTHING"
        };
        self.execute(
            Q::new(sql)
                .bind(store.new_uuid())
                .bind(scope.org())
                .bind(e.code.as_str())
                .bind(e.kind.code())
                .bind(e.name.as_str())
                .bind(e.category.as_str())
                .bind(i64::from(e.minutes))
                .bind(e.site.code())
                .bind(e.dentist_only)
                .bind(e.fee_minor)
                .bind(e.icd10.clone())
                .bind(e.effect.code())
                .bind(active)
                .bind(store.now()),
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// The patient's periodontal exams, newest first; audited as a read.
    pub async fn perio_exams(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Vec<PerioRecord>, WriteError> {
        self.patient_row(scope, patient).await?;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT * FROM perio_exams WHERE patient_id = $1 AND org_id = $2 ORDER BY recorded_at DESC, exam_no DESC",
                )
                .bind(patient)
                .bind(scope.org()),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let plain = self
                .decrypt_field(scope.org(), PERIO_FIELD, &r.string("data_enc")?)
                .await?;
            let exam: PerioExam = serde_json::from_str(&plain)
                .map_err(|e| DbError::Corrupt(format!("perio exam: {e}")))?;
            let confirmed = match (
                r.opt_string("confirmed_case")?,
                r.opt_string("confirmed_by_name")?,
                r.opt_ts("confirmed_at")?,
            ) {
                (Some(c), Some(by), Some(at)) => Some((c, by, at)),
                _ => None,
            };
            out.push(PerioRecord {
                id: r.uuid("id")?,
                number: r.i64("exam_no")?,
                patient_id: patient,
                exam,
                recorded_by_name: r.string("recorded_by_name")?,
                recorded_at: r.ts("recorded_at")?,
                confirmed,
            });
        }
        let mut tx = self.begin().await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "perio.read",
                Some(patient),
                &format!("patient:{patient}"),
                json!({ "exams": out.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Records a periodontal exam (every out-of-range value refused at once, naming its tooth
    /// and site; nothing stored then).
    pub async fn save_perio_exam(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        exam: &PerioExam,
    ) -> Result<uuid::Uuid, WriteError> {
        let exam = exam
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        if exam.teeth.is_empty() {
            return Err(invalid("teeth", "nothing was probed"));
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let plain = serde_json::to_string(&exam).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let id = self.new_uuid();
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        // Numbered inside the transaction, after the patient's row (a merge may leave two exams
        // with one number; they are told apart by date).
        let no = tx
            .fetch_one(
                Q::new("SELECT COALESCE(MAX(exam_no), 0) + 1 AS n FROM perio_exams WHERE patient_id = $1")
                    .bind(patient),
            )
            .await?
            .i64("n")?;
        tx.execute(
            Q::new(
                "INSERT INTO perio_exams (id, org_id, patient_id, exam_no, data_enc, recorded_by, recorded_by_name, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(patient)
            .bind(no)
            .bind(cipher.encrypt(PERIO_FIELD, &plain))
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(self.now()),
        )
        .await?;
        let summary = exam.summary();
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "perio.recorded",
                Some(patient),
                &format!("patient:{patient}"),
                json!({ "exam": id, "teeth": summary.teeth, "sites": summary.sites }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "perio.recorded",
            json!({ "patient_id": patient, "exam": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The clinician confirms (or corrects) the suggested diagnosis of an exam.
    pub async fn confirm_perio_diagnosis(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        exam: uuid::Uuid,
        case_code: &str,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let valid = ["healthy", "gingivitis"].contains(&case_code)
            || case_code
                .strip_prefix("stage-")
                .and_then(|r| r.split_once('-'))
                .is_some_and(|(stage, extent)| {
                    ["1", "2", "3", "4"].contains(&stage)
                        && ["localized", "generalized", "molar_incisor"].contains(&extent)
                });
        if !valid {
            return Err(invalid("case", "healthy, gingivitis or stage-N-extent"));
        }
        let n = tx
            .execute(
                Q::new(
                    "UPDATE perio_exams SET confirmed_case = $1, confirmed_by_name = $2, confirmed_at = $3 \
                     WHERE id = $4 AND patient_id = $5 AND org_id = $6",
                )
                .bind(case_code)
                .bind(actor.name.as_str())
                .bind(self.now())
                .bind(exam)
                .bind(patient)
                .bind(scope.org()),
            )
            .await?;
        if n == 0 {
            return Err(WriteError::Invalid(DomainError::not_found("perio exam")));
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "perio.diagnosis_confirmed",
                Some(patient),
                &format!("patient:{patient}"),
                json!({ "exam": exam, "case": case_code }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
