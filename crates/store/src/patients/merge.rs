//! Merging two records of one person, and undoing it within the organization's window.
//!
//! The merged record is kept (status `merged`, pointing at the survivor) and everything that
//! hangs on it moves to the survivor: documents, every table in [`PATIENT_LINKS`], the phone
//! numbers the survivor lacks, and the medical history (the survivor gets a new version
//! holding both). The merge record lists every row moved, so an undo moves exactly those
//! back. The audit trail is never rewritten: events stay on the record they were written for.

use domain::patients::PatientStatus;
use domain::patients::history::MedicalHistory;
use domain::{DomainError, ErrorCode, MergeId, PatientId, Scope, UserId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::history::{HISTORY_FIELD, current_row};
use super::{Actor, status_of};
use crate::db::{DbError, Q};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// Tables (other than phones and histories, which merge by their own rules) whose rows follow
/// a patient into a merge, as (table, patient column). Each later context adds its tables
/// here; `crates/store/tests/schema.rs` fails when a table with a `patient_id` column is in
/// neither this list nor [`NOT_MOVED`].
pub const PATIENT_LINKS: &[(&str, &str)] = &[
    ("patient_documents", "patient_id"),
    ("communications", "patient_id"),
    ("appointments", "patient_id"),
    ("waitlist_entries", "patient_id"),
    ("chart_entries", "patient_id"),
    ("perio_exams", "patient_id"),
    ("visits", "patient_id"),
    ("visit_addenda", "patient_id"),
    ("prescriptions", "patient_id"),
    ("treatment_cases", "patient_id"),
    ("treatment_plans", "patient_id"),
    ("staff_tasks", "patient_id"),
];

/// Tables with a `patient_id` column that a merge does not move, and why: the audit trail is
/// never rewritten; phones and histories merge by their own rules; an emergency-access grant
/// names the record it was given for; recalls are recomputed for both records from their
/// appointments after the move (`Txn::recompute_recalls`); a chart's version counter belongs to
/// its record (the survivor's next change counts past the entries moved in, see
/// `crate::clinical`); the books are never rewritten (a record with postings, or with an
/// invoice that is not void, is not merged away, see `merge_patients`).
pub const NOT_MOVED: &[&str] = &[
    "charts",
    "audit_events",
    "patient_phones",
    "medical_histories",
    "break_glass",
    "patient_recalls",
    "ledger_postings",
    "payment_plans",
    "invoices",
];

/// What a merge moved, to move it back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// Table → ids of the rows moved to the survivor.
    pub rows: std::collections::BTreeMap<String, Vec<uuid::Uuid>>,
    pub phones: Vec<uuid::Uuid>,
    /// The survivor's history version before the merge (0: none) and the merge's version
    /// (0: the merged record had no history).
    pub history_before: i64,
    pub history_merged: i64,
    /// The merged record's status before.
    pub merged_status: String,
}

/// A merge as listed on the records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeRecord {
    pub id: MergeId,
    pub survivor_id: PatientId,
    pub merged_id: PatientId,
    pub moved: Moved,
    pub merged_by: Option<UserId>,
    pub merged_by_name: String,
    pub merged_at: Timestamp,
    pub undone_at: Option<Timestamp>,
    /// The last moment it can be undone.
    pub undo_until: Timestamp,
}

fn conflict(msg: &str) -> WriteError {
    WriteError::Invalid(DomainError::new(ErrorCode::Conflict, msg))
}

impl Store {
    /// Merges `merged` into `survivor`. Both must be visible to the scope, distinct, and not
    /// merged already.
    pub async fn merge_patients(
        &self,
        scope: &Scope,
        actor: &Actor,
        survivor: PatientId,
        merged: PatientId,
    ) -> Result<MergeId, WriteError> {
        if survivor == merged {
            return Err(
                DomainError::field("merged", "a record cannot be merged into itself").into(),
            );
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let s_hist = self.medical_history(scope, survivor).await?;
        let m_hist = self.medical_history(scope, merged).await?;
        let mut tx = self.begin().await?;
        let s = tx.patient_row(scope, survivor).await?;
        let m = tx.patient_row(scope, merged).await?;
        if status_of(&s)? == PatientStatus::Merged || status_of(&m)? == PatientStatus::Merged {
            return Err(conflict("one of these records was already merged"));
        }
        // The books are never rewritten: a duplicate with postings keeps them, so it is not
        // merged until its balance is moved by a transfer and the record is left with none.
        let posted = tx
            .fetch_one(
                Q::new(
                    "SELECT (SELECT COUNT(*) FROM ledger_postings WHERE patient_id = $1 AND org_id = $2) \
                     + (SELECT COUNT(*) FROM invoices WHERE patient_id = $1 AND org_id = $2 AND status <> 'void') AS n",
                )
                .bind(merged)
                .bind(scope.org()),
            )
            .await?
            .i64("n")?;
        if posted > 0 {
            return Err(conflict(
                "this record has postings in the books or invoices; they are never rewritten, so keep it as the surviving record (or merge the other way)",
            ));
        }
        // A guarantor with other members in the family cannot disappear from it.
        let m_family = m.uuid("family_id")?;
        let fam = tx
            .fetch_one(
                Q::new("SELECT guarantor_patient_id FROM families WHERE id = $1").bind(m_family),
            )
            .await?;
        if fam.opt_uuid("guarantor_patient_id")? == Some(merged.as_uuid()) {
            let others = tx
                .fetch_one(
                    Q::new("SELECT COUNT(*) AS n FROM patients WHERE family_id = $1 AND id <> $2 AND status <> 'merged'")
                        .bind(m_family)
                        .bind(merged),
                )
                .await?
                .i64("n")?;
            if others > 0 && s.uuid("family_id")? != m_family {
                return Err(DomainError::field(
                    "merged",
                    "the record to merge is its family's guarantor: make another member the guarantor first",
                )
                .into());
            }
            if others > 0 {
                tx.execute(
                    Q::new("UPDATE families SET guarantor_patient_id = $1, updated_at = $2 WHERE id = $3")
                        .bind(survivor)
                        .bind(self.now())
                        .bind(m_family),
                )
                .await?;
            }
        }
        let mut moved = Moved {
            merged_status: status_of(&m)?.code().to_string(),
            ..Default::default()
        };
        for (table, column) in PATIENT_LINKS {
            let ids: Vec<uuid::Uuid> = tx
                .fetch_all(
                    Q::generated(format!("SELECT id FROM {table} WHERE {column} = $1"))
                        .bind(merged),
                )
                .await?
                .iter()
                .map(|r| r.uuid("id"))
                .collect::<Result<_, _>>()?;
            tx.execute(
                Q::generated(format!(
                    "UPDATE {table} SET {column} = $1 WHERE {column} = $2"
                ))
                .bind(survivor)
                .bind(merged),
            )
            .await?;
            moved.rows.insert(table.to_string(), ids);
        }
        // The moved appointments' patient busy times follow them (a clash refuses the merge);
        // both records' recalls are recomputed from their appointments.
        if let Some(appts) = moved.rows.get("appointments") {
            tx.move_patient_busy(merged, survivor, appts).await?;
        }
        tx.recompute_recalls(self, scope, survivor).await?;
        tx.recompute_recalls(self, scope, merged).await?;
        // Phone numbers the survivor lacks, after the survivor's own.
        let s_numbers: Vec<String> = tx
            .fetch_all(
                Q::new("SELECT number FROM patient_phones WHERE patient_id = $1").bind(survivor),
            )
            .await?
            .iter()
            .map(|r| r.string("number"))
            .collect::<Result<_, _>>()?;
        let m_phones = tx
            .fetch_all(
                Q::new(
                    "SELECT id, number FROM patient_phones WHERE patient_id = $1 ORDER BY position",
                )
                .bind(merged),
            )
            .await?;
        let mut position = i64::try_from(s_numbers.len()).unwrap_or(0);
        for p in &m_phones {
            if s_numbers.contains(&p.string("number")?) {
                continue;
            }
            let id = p.uuid("id")?;
            tx.execute(
                Q::new("UPDATE patient_phones SET patient_id = $1, position = $2 WHERE id = $3")
                    .bind(survivor)
                    .bind(position)
                    .bind(id),
            )
            .await?;
            position += 1;
            moved.phones.push(id);
        }
        moved.history_before = s_hist.as_ref().map(|v| v.version).unwrap_or(0);
        if let Some(mh) = &m_hist {
            let base = s_hist
                .as_ref()
                .map(|v| v.history.clone())
                .unwrap_or_default();
            let union = base.union(&mh.history);
            if let Some(v) = tx
                .record_history(
                    self,
                    scope,
                    actor,
                    &cipher,
                    survivor,
                    &union,
                    s_hist.as_ref(),
                    false,
                )
                .await?
            {
                moved.history_merged = v.version;
            }
        }
        let now = self.now();
        tx.execute(
            Q::new("UPDATE patients SET status = 'merged', merged_into = $1, updated_at = $2 WHERE id = $3")
                .bind(survivor)
                .bind(now)
                .bind(merged),
        )
        .await?;
        let id = MergeId::from_uuid(self.new_uuid());
        tx.execute(
            Q::new(
                "INSERT INTO patient_merges (id, org_id, survivor_id, merged_id, moved, merged_by, merged_by_name, merged_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(survivor)
            .bind(merged)
            .bind(serde_json::to_string(&moved).map_err(|e| DbError::Corrupt(e.to_string()))?)
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(now),
        )
        .await?;
        let counts = serde_json::json!({
            "merge": id,
            "survivor": survivor,
            "merged": merged,
            "documents": moved.rows.get("patient_documents").map(Vec::len).unwrap_or(0),
            "phones": moved.phones.len(),
            "history_version": moved.history_merged,
        });
        for p in [survivor, merged] {
            tx.audit(
                self,
                scope.org(),
                actor.entry(
                    "patient.merged",
                    Some(p),
                    &format!("merge:{id}"),
                    counts.clone(),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The merges a record took part in, newest first.
    pub async fn merges_of(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Vec<MergeRecord>, WriteError> {
        self.patient_row(scope, patient).await?;
        let days = self.patient_settings(scope.org()).await?.merge_undo_days;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT * FROM patient_merges WHERE org_id = $1 AND (survivor_id = $2 OR merged_id = $2) ORDER BY merged_at DESC",
                )
                .bind(scope.org())
                .bind(patient),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let merged_at = r.ts("merged_at")?;
                Ok(MergeRecord {
                    id: MergeId::from_uuid(r.uuid("id")?),
                    survivor_id: PatientId::from_uuid(r.uuid("survivor_id")?),
                    merged_id: PatientId::from_uuid(r.uuid("merged_id")?),
                    moved: r.json("moved")?,
                    merged_by: r.opt_uuid("merged_by")?.map(UserId::from_uuid),
                    merged_by_name: r.string("merged_by_name")?,
                    merged_at,
                    undone_at: r.opt_ts("undone_at")?,
                    undo_until: undo_deadline(merged_at, days),
                })
            })
            .collect::<Result<_, DbError>>()
            .map_err(WriteError::from)
    }

    /// Undoes a merge within the window: the moved rows go back, the merged record gets its
    /// status back, and the survivor's history returns to its version before the merge unless
    /// someone changed it since (then it stays, and the audit event says so).
    pub async fn undo_merge(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: MergeId,
    ) -> Result<(), WriteError> {
        let days = self.patient_settings(scope.org()).await?.merge_undo_days;
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        let r = tx
            .fetch_optional(
                Q::new("SELECT * FROM patient_merges WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("merge"))?;
        let survivor = PatientId::from_uuid(r.uuid("survivor_id")?);
        let merged = PatientId::from_uuid(r.uuid("merged_id")?);
        tx.patient_row(scope, survivor).await?;
        tx.patient_row(scope, merged).await?;
        if r.opt_ts("undone_at")?.is_some() {
            return Err(conflict("this merge was already undone"));
        }
        let now = self.now();
        if now > undo_deadline(r.ts("merged_at")?, days) {
            return Err(conflict(&format!(
                "merges can be undone for {days} days; this one is older"
            )));
        }
        let s = tx.patient_row(scope, survivor).await?;
        if status_of(&s)? == PatientStatus::Merged {
            return Err(conflict(
                "the surviving record was merged since: undo that merge first",
            ));
        }
        let moved: Moved = r.json("moved")?;
        for (table, column) in PATIENT_LINKS {
            for row_id in moved.rows.get(*table).into_iter().flatten() {
                tx.execute(
                    Q::generated(format!(
                        "UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3"
                    ))
                    .bind(merged)
                    .bind(*row_id)
                    .bind(survivor),
                )
                .await?;
            }
        }
        if let Some(appts) = moved.rows.get("appointments") {
            tx.move_patient_busy(survivor, merged, appts).await?;
        }
        tx.recompute_recalls(self, scope, survivor).await?;
        tx.recompute_recalls(self, scope, merged).await?;
        for p in &moved.phones {
            tx.execute(
                Q::new(
                    "UPDATE patient_phones SET patient_id = $1 WHERE id = $2 AND patient_id = $3",
                )
                .bind(merged)
                .bind(*p)
                .bind(survivor),
            )
            .await?;
        }
        let mut history = "unchanged";
        if moved.history_merged > 0 {
            let current = current_row(&mut tx, survivor).await?;
            let current_version = match &current {
                Some(c) => c.i64("version")?,
                None => 0,
            };
            if current_version == moved.history_merged {
                let before: MedicalHistory = if moved.history_before == 0 {
                    MedicalHistory::default()
                } else {
                    let row = tx
                        .fetch_one(
                            Q::new("SELECT history_enc FROM medical_histories WHERE patient_id = $1 AND version = $2")
                                .bind(survivor)
                                .bind(moved.history_before),
                        )
                        .await?;
                    let plain = cipher.decrypt(HISTORY_FIELD, &row.string("history_enc")?)?;
                    serde_json::from_str(&plain).map_err(|e| DbError::Corrupt(e.to_string()))?
                };
                let merged_version = self.version_from_row(scope, current.as_ref()).await?;
                tx.record_history(
                    self,
                    scope,
                    actor,
                    &cipher,
                    survivor,
                    &before,
                    merged_version.as_ref(),
                    false,
                )
                .await?;
                history = "restored";
            } else {
                history = "kept: changed since the merge";
            }
        }
        tx.execute(
            Q::new("UPDATE patients SET status = $1, merged_into = NULL, updated_at = $2 WHERE id = $3")
                .bind(moved.merged_status.as_str())
                .bind(now)
                .bind(merged),
        )
        .await?;
        tx.execute(
            Q::new("UPDATE patient_merges SET undone_at = $1, undone_by = $2 WHERE id = $3")
                .bind(now)
                .bind(actor.id)
                .bind(id),
        )
        .await?;
        let details = serde_json::json!({ "merge": id, "survivor": survivor, "merged": merged, "history": history });
        for p in [survivor, merged] {
            tx.audit(
                self,
                scope.org(),
                actor.entry(
                    "patient.merge_undone",
                    Some(p),
                    &format!("merge:{id}"),
                    details.clone(),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn version_from_row(
        &self,
        scope: &Scope,
        r: Option<&crate::db::Row>,
    ) -> Result<Option<super::history::HistoryVersion>, WriteError> {
        match r {
            None => Ok(None),
            Some(r) => {
                let plain = self
                    .decrypt_field(scope.org(), HISTORY_FIELD, &r.string("history_enc")?)
                    .await?;
                Ok(Some(super::history::HistoryVersion {
                    version: r.i64("version")?,
                    history: serde_json::from_str(&plain)
                        .map_err(|e| DbError::Corrupt(e.to_string()))?,
                    changes: Vec::new(),
                    reviewed: false,
                    recorded_by: None,
                    recorded_by_name: String::new(),
                    recorded_at: r.ts("recorded_at")?,
                }))
            }
        }
    }
}

fn undo_deadline(merged_at: Timestamp, days: i64) -> Timestamp {
    merged_at
        .checked_add(jiff::SignedDuration::from_hours(days.saturating_mul(24)))
        .unwrap_or(merged_at)
}

impl Txn {}
