//! Medical histories: one encrypted version per change, with who, when and what changed; the
//! newest is the current one. A review without changes is a version too (it records who
//! reviewed, and resets the review prompt).

use domain::patients::history::{Alert, MedicalHistory};
use domain::{DomainError, PatientId, Scope, UserId};
use jiff::Timestamp;

use super::Actor;
use crate::db::{DbResult, Q, Row};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// The encrypted history's field name.
pub const HISTORY_FIELD: &str = "medical_histories.history";

/// The encrypted list of changes' field name (the changes name allergies and conditions).
pub const CHANGES_FIELD: &str = "medical_histories.changes";

/// One version of a patient's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryVersion {
    pub version: i64,
    pub history: MedicalHistory,
    /// What this version changed from the previous one.
    pub changes: Vec<String>,
    /// Saved as reviewed with the patient.
    pub reviewed: bool,
    pub recorded_by: Option<UserId>,
    pub recorded_by_name: String,
    pub recorded_at: Timestamp,
}

impl Store {
    /// The current history (none until one is recorded). Not audited by itself: it is read
    /// with the record, whose read is.
    pub async fn medical_history(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Option<HistoryVersion>, WriteError> {
        self.patient_row(scope, patient).await?;
        let r = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT * FROM medical_histories WHERE patient_id = $1 ORDER BY version DESC LIMIT 1",
                )
                .bind(patient),
            )
            .await?;
        match r {
            Some(r) => Ok(Some(self.version_of(scope, &r).await?)),
            None => Ok(None),
        }
    }

    /// The banner's alerts for a patient.
    pub async fn medical_alerts(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Vec<Alert>, WriteError> {
        Ok(self
            .medical_history(scope, patient)
            .await?
            .map(|v| v.history.alerts())
            .unwrap_or_default())
    }

    /// Every version, newest first (the history of the history), audited as a read.
    pub async fn history_versions(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Vec<HistoryVersion>, WriteError> {
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let rows = tx
            .fetch_all(
                Q::new(
                    "SELECT * FROM medical_histories WHERE patient_id = $1 ORDER BY version DESC",
                )
                .bind(patient),
            )
            .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.history_read",
                Some(patient),
                &format!("patient:{patient}"),
                serde_json::json!({ "versions": rows.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        let mut out = Vec::new();
        for r in &rows {
            out.push(self.version_of(scope, r).await?);
        }
        Ok(out)
    }

    async fn version_of(&self, scope: &Scope, r: &Row) -> Result<HistoryVersion, WriteError> {
        let plain = self
            .decrypt_field(scope.org(), HISTORY_FIELD, &r.string("history_enc")?)
            .await?;
        let history: MedicalHistory = serde_json::from_str(&plain)
            .map_err(|e| crate::DbError::Corrupt(format!("medical history: {e}")))?;
        let changes = self
            .decrypt_field(scope.org(), CHANGES_FIELD, &r.string("changes_enc")?)
            .await?;
        let changes: Vec<String> = serde_json::from_str(&changes)
            .map_err(|e| crate::DbError::Corrupt(format!("medical history changes: {e}")))?;
        Ok(HistoryVersion {
            version: r.i64("version")?,
            history,
            changes,
            reviewed: r.bool("reviewed")?,
            recorded_by: r.opt_uuid("recorded_by")?.map(UserId::from_uuid),
            recorded_by_name: r.string("recorded_by_name")?,
            recorded_at: r.ts("recorded_at")?,
        })
    }

    /// Records a new version when the history changed or was reviewed with the patient, and
    /// returns it; `None` when there was nothing to record. Audited as
    /// `patient.history_changed` with the changes.
    pub async fn save_medical_history(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        history: &MedicalHistory,
        reviewed: bool,
    ) -> Result<Option<HistoryVersion>, WriteError> {
        let history = history
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        let current = self.medical_history(scope, patient).await?;
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        let v = tx
            .record_history(
                self,
                scope,
                actor,
                &cipher,
                patient,
                &history,
                current.as_ref(),
                reviewed,
            )
            .await?;
        tx.commit().await?;
        Ok(v)
    }
}

impl Txn {
    /// Appends a version if anything changed (or `reviewed`); `None` when nothing did.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_history(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        cipher: &crate::crypto::FieldCipher,
        patient: PatientId,
        history: &MedicalHistory,
        current: Option<&HistoryVersion>,
        reviewed: bool,
    ) -> Result<Option<HistoryVersion>, WriteError> {
        let empty = MedicalHistory::default();
        let before = current.map(|c| &c.history).unwrap_or(&empty);
        let changes = history.changes_from(before);
        if changes.is_empty() && !reviewed {
            return Ok(None);
        }
        // The version number comes from the table inside the transaction (a concurrent save
        // gets the next one or fails on the unique index; nothing is overwritten).
        let version = self
            .fetch_one(
                Q::new("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM medical_histories WHERE patient_id = $1")
                    .bind(patient),
            )
            .await?
            .i64("v")?;
        let now = store.now();
        let plain =
            serde_json::to_string(history).map_err(|e| crate::DbError::Corrupt(e.to_string()))?;
        self.execute(
            Q::new(
                "INSERT INTO medical_histories (id, org_id, patient_id, version, history_enc, changes_enc, reviewed, \
                 recorded_by, recorded_by_name, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(store.new_uuid())
            .bind(scope.org())
            .bind(patient)
            .bind(version)
            .bind(cipher.encrypt(HISTORY_FIELD, &plain))
            .bind(cipher.encrypt(CHANGES_FIELD, &serde_json::json!(changes).to_string()))
            .bind(reviewed)
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(now),
        )
        .await?;
        if reviewed {
            self.execute(
                Q::new("UPDATE patients SET history_reviewed_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(patient),
            )
            .await?;
        }
        self.audit(
            store,
            scope.org(),
            actor.entry(
                "patient.history_changed",
                Some(patient),
                &format!("patient:{patient}"),
                serde_json::json!({ "version": version, "changes": changes.len(), "reviewed": reviewed }),
            ),
        )
        .await?;
        Ok(Some(HistoryVersion {
            version,
            history: history.clone(),
            changes,
            reviewed,
            recorded_by: actor.id,
            recorded_by_name: actor.name.clone(),
            recorded_at: now,
        }))
    }
}

/// Reads the newest version row inside a transaction (merge).
pub(crate) async fn current_row(tx: &mut Txn, patient: PatientId) -> DbResult<Option<Row>> {
    tx.fetch_optional(
        Q::new(
            "SELECT * FROM medical_histories WHERE patient_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(patient),
    )
    .await
}
