//! Treatment cases: one patient's problem, numbered per organization, with its title and notes
//! (encrypted), its dentist, and links to chart entries (diagnoses and procedures),
//! prescriptions and documents of the same patient. A closed case refuses changes until it is
//! reopened. Every read and change is audited.

use domain::clinical::case::{CaseText, ItemKind};
use domain::{DomainError, ErrorCode, PatientId, Scope, UserId};
use jiff::Timestamp;
use serde_json::json;

use crate::Store;
use crate::clinical::ChartEntry;
use crate::db::{DbError, Q, Row};
use crate::patients::documents::Document;
use crate::patients::{Actor, PatientSummary};
use crate::prescriptions::Prescription;
use crate::tenancy::WriteError;

/// The encrypted field holding a case's title and notes.
pub const RECORD_FIELD: &str = "treatment_cases.record";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreatmentCase {
    pub id: uuid::Uuid,
    pub number: i64,
    pub patient_id: PatientId,
    pub dentist_id: Option<UserId>,
    pub text: CaseText,
    pub open: bool,
    pub opened_by_name: String,
    pub opened_at: Timestamp,
    pub closed: Option<(String, Timestamp)>,
    pub version: i64,
    /// How many items of each kind are linked: chart entries, prescriptions, documents.
    pub counts: [usize; 3],
}

impl TreatmentCase {
    /// "TC-000042".
    pub fn reference(&self) -> String {
        format!("TC-{:06}", self.number)
    }
}

/// A case with what it links, resolved.
#[derive(Clone, Debug)]
pub struct CaseDetail {
    pub case: TreatmentCase,
    pub patient: PatientSummary,
    /// Chart entries of kind condition.
    pub diagnoses: Vec<ChartEntry>,
    pub procedures: Vec<ChartEntry>,
    pub prescriptions: Vec<Prescription>,
    pub documents: Vec<Document>,
    /// The patient's items not linked yet, to offer.
    pub unlinked_entries: Vec<ChartEntry>,
    pub unlinked_prescriptions: Vec<Prescription>,
    pub unlinked_documents: Vec<Document>,
}

/// A line of a list of cases.
#[derive(Clone, Debug)]
pub struct ListedCase {
    pub case: TreatmentCase,
    pub patient: PatientSummary,
}

fn invalid(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn closed_case() -> WriteError {
    WriteError::Invalid(DomainError::new(
        ErrorCode::Conflict,
        "this case is closed: reopen it to change it",
    ))
}

impl Store {
    /// Opens a case for a patient.
    pub async fn open_case(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        text: &CaseText,
        dentist: Option<UserId>,
    ) -> Result<TreatmentCase, WriteError> {
        self.patient_row(scope, patient).await?;
        let text = text
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        if let Some(d) = dentist
            && self.provider(scope, d).await?.is_none()
        {
            return Err(invalid("dentist_id", "no such provider"));
        }
        let plain = serde_json::to_string(&text).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let cipher = self.field_cipher(scope.org()).await?;
        let id = self.new_uuid();
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let number = tx
            .next_number("treatment_case_counters", scope.org())
            .await?;
        tx.execute(
            Q::new(
                "INSERT INTO treatment_cases (id, org_id, patient_id, number, dentist_id, record_enc, status, \
                 opened_by_name, opened_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $8, 1)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(patient)
            .bind(number)
            .bind(dentist)
            .bind(cipher.encrypt(RECORD_FIELD, &plain))
            .bind(actor.name.as_str())
            .bind(now),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "case.opened",
                Some(patient),
                &format!("treatment_case:{id}"),
                json!({ "number": number }),
            ),
        )
        .await?;
        tx.commit().await?;
        let r = self.case_row(scope, id).await?;
        self.case_from_row(scope, &r).await
    }

    async fn case_row(&self, scope: &Scope, id: uuid::Uuid) -> Result<Row, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM treatment_cases WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("treatment case")))?;
        // A patient of a clinic the user does not work at: not found either.
        self.patient_row(scope, PatientId::from_uuid(r.uuid("patient_id")?))
            .await?;
        Ok(r)
    }

    async fn case_from_row(&self, scope: &Scope, r: &Row) -> Result<TreatmentCase, WriteError> {
        let id = r.uuid("id")?;
        let plain = self
            .decrypt_field(scope.org(), RECORD_FIELD, &r.string("record_enc")?)
            .await?;
        let text: CaseText =
            serde_json::from_str(&plain).map_err(|e| DbError::Corrupt(format!("case: {e}")))?;
        let mut counts = [0usize; 3];
        for row in self
            .db
            .fetch_all(
                Q::new("SELECT kind, COUNT(*) AS n FROM treatment_case_items WHERE case_id = $1 GROUP BY kind")
                    .bind(id),
            )
            .await?
        {
            let n = usize::try_from(row.i64("n")?).unwrap_or(0);
            match ItemKind::from_code(&row.string("kind")?) {
                Some(ItemKind::ChartEntry) => counts[0] = n,
                Some(ItemKind::Prescription) => counts[1] = n,
                Some(ItemKind::Document) => counts[2] = n,
                None => {}
            }
        }
        Ok(TreatmentCase {
            id,
            number: r.i64("number")?,
            patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
            dentist_id: r.opt_uuid("dentist_id")?.map(UserId::from_uuid),
            text,
            open: r.string("status")? == "open",
            opened_by_name: r.string("opened_by_name")?,
            opened_at: r.ts("opened_at")?,
            closed: match (r.opt_string("closed_by_name")?, r.opt_ts("closed_at")?) {
                (Some(by), Some(at)) => Some((by, at)),
                _ => None,
            },
            version: r.i64("version")?,
            counts,
        })
    }

    /// The organization's cases (one patient's when given), open ones first, newest first;
    /// audited as a listing.
    pub async fn cases(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: Option<PatientId>,
        limit: i64,
    ) -> Result<Vec<ListedCase>, WriteError> {
        let rows = match patient {
            Some(p) => {
                self.patient_row(scope, p).await?;
                self.db
                    .fetch_all(
                        // `+org_id` on SQLite: the patient's index, not the organization's.
                        Q::fork(
                            "SELECT * FROM treatment_cases WHERE +org_id = $1 AND patient_id = $2 \
                             ORDER BY status DESC, opened_at DESC, number DESC LIMIT $3",
                            "SELECT * FROM treatment_cases WHERE org_id = $1 AND patient_id = $2 \
                             ORDER BY status DESC, opened_at DESC, number DESC LIMIT $3",
                        )
                        .bind(scope.org())
                        .bind(p)
                        .bind(limit.clamp(1, 500)),
                    )
                    .await?
            }
            None => {
                self.db
                    .fetch_all(
                        Q::new(
                            "SELECT * FROM treatment_cases WHERE org_id = $1 \
                             ORDER BY status DESC, opened_at DESC, number DESC LIMIT $2",
                        )
                        .bind(scope.org())
                        .bind(limit.clamp(1, 500)),
                    )
                    .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let pid = PatientId::from_uuid(r.uuid("patient_id")?);
            let Some(patient) = self.visible_patient(scope, pid).await? else {
                continue;
            };
            out.push(ListedCase {
                case: self.case_from_row(scope, r).await?,
                patient,
            });
        }
        let listed: Vec<PatientSummary> = out.iter().map(|l| l.patient.clone()).collect();
        self.audit_listing(
            scope,
            actor,
            "case.list_read",
            &listed,
            json!({ "cases": out.len() }),
        )
        .await?;
        Ok(out)
    }

    /// One case with its items resolved (and the patient's items not linked yet); audited.
    pub async fn case_detail(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
    ) -> Result<CaseDetail, WriteError> {
        let r = self.case_row(scope, id).await?;
        let case = self.case_from_row(scope, &r).await?;
        let patient = self.patient_summary(scope, case.patient_id).await?;
        let mut linked: Vec<(ItemKind, uuid::Uuid)> = Vec::new();
        for row in self
            .db
            .fetch_all(
                Q::new("SELECT kind, item_id FROM treatment_case_items WHERE case_id = $1 ORDER BY added_at")
                    .bind(id),
            )
            .await?
        {
            if let Some(k) = ItemKind::from_code(&row.string("kind")?) {
                linked.push((k, row.uuid("item_id")?));
            }
        }
        let has = |k: ItemKind, i: uuid::Uuid| linked.contains(&(k, i));
        let chart = self.chart_unaudited(scope, case.patient_id).await?;
        let (mut diagnoses, mut procedures, mut unlinked_entries) = (vec![], vec![], vec![]);
        for e in chart.entries {
            if has(ItemKind::ChartEntry, e.id.as_uuid()) {
                if e.kind == domain::clinical::catalog::EntryKind::Condition {
                    diagnoses.push(e);
                } else {
                    procedures.push(e);
                }
            } else if !e.is_void() {
                unlinked_entries.push(e);
            }
        }
        let (prescriptions, unlinked_prescriptions): (Vec<_>, Vec<_>) = self
            .prescriptions_unaudited(scope, case.patient_id)
            .await?
            .into_iter()
            .partition(|p| has(ItemKind::Prescription, p.id));
        let (documents, unlinked_documents): (Vec<_>, Vec<_>) = self
            .documents(scope, case.patient_id, false)
            .await?
            .into_iter()
            .partition(|d| has(ItemKind::Document, d.id.as_uuid()));
        self.audit_once(
            scope,
            actor,
            "case.read",
            Some(case.patient_id),
            &format!("treatment_case:{id}"),
            json!({ "number": case.number }),
        )
        .await?;
        Ok(CaseDetail {
            case,
            patient,
            diagnoses,
            procedures,
            prescriptions,
            documents,
            unlinked_entries,
            unlinked_prescriptions,
            unlinked_documents,
        })
    }

    /// Locks the case row (PostgreSQL; SQLite has one writer) and refuses a closed one.
    async fn open_case_row(
        tx: &mut crate::Txn,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<Row, WriteError> {
        let r = tx
            .fetch_optional(
                Q::fork(
                    "SELECT * FROM treatment_cases WHERE id = $1 AND org_id = $2",
                    "SELECT * FROM treatment_cases WHERE id = $1 AND org_id = $2 FOR UPDATE",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("treatment case")))?;
        if r.string("status")? != "open" {
            return Err(closed_case());
        }
        Ok(r)
    }

    /// Changes the title and notes; a stale `base_version` is a conflict, nothing written.
    pub async fn save_case_text(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        text: &CaseText,
        base_version: Option<i64>,
    ) -> Result<TreatmentCase, WriteError> {
        let r = self.case_row(scope, id).await?;
        let text = text
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        let plain = serde_json::to_string(&text).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        let row = Self::open_case_row(&mut tx, scope, id).await?;
        if let Some(b) = base_version
            && b != row.i64("version")?
        {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "someone changed this case since you opened it: reload to see their change",
            )));
        }
        tx.execute(
            Q::new(
                "UPDATE treatment_cases SET record_enc = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            )
            .bind(cipher.encrypt(RECORD_FIELD, &plain))
            .bind(self.now())
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "case.saved",
                Some(PatientId::from_uuid(r.uuid("patient_id")?)),
                &format!("treatment_case:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        let r = self.case_row(scope, id).await?;
        self.case_from_row(scope, &r).await
    }

    /// Closes (`open` false) or reopens a case.
    pub async fn set_case_open(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        open: bool,
    ) -> Result<TreatmentCase, WriteError> {
        let r = self.case_row(scope, id).await?;
        let is_open = r.string("status")? == "open";
        if is_open == open {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                if open {
                    "this case is already open"
                } else {
                    "this case is already closed"
                },
            )));
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let n = if open {
            tx.execute(
                Q::new(
                    "UPDATE treatment_cases SET status = 'open', closed_at = NULL, closed_by_name = NULL, \
                     updated_at = $1, version = version + 1 WHERE id = $2 AND status = 'closed'",
                )
                .bind(now)
                .bind(id),
            )
            .await?
        } else {
            tx.execute(
                Q::new(
                    "UPDATE treatment_cases SET status = 'closed', closed_at = $1, closed_by_name = $2, \
                     updated_at = $1, version = version + 1 WHERE id = $3 AND status = 'open'",
                )
                .bind(now)
                .bind(actor.name.as_str())
                .bind(id),
            )
            .await?
        };
        if n == 0 {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "someone changed this case at the same time: reload",
            )));
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                if open { "case.reopened" } else { "case.closed" },
                Some(PatientId::from_uuid(r.uuid("patient_id")?)),
                &format!("treatment_case:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        let r = self.case_row(scope, id).await?;
        self.case_from_row(scope, &r).await
    }

    /// Links (or, `link` false, unlinks) an item of the case's patient.
    pub async fn link_case_item(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        kind: ItemKind,
        item: uuid::Uuid,
        link: bool,
    ) -> Result<TreatmentCase, WriteError> {
        let r = self.case_row(scope, id).await?;
        let patient = PatientId::from_uuid(r.uuid("patient_id")?);
        let mut tx = self.begin().await?;
        Self::open_case_row(&mut tx, scope, id).await?;
        if link {
            let q = match kind {
                ItemKind::ChartEntry => Q::new(
                    "SELECT id FROM chart_entries WHERE id = $1 AND patient_id = $2 AND org_id = $3 AND voided_at IS NULL",
                ),
                ItemKind::Prescription => Q::new(
                    "SELECT id FROM prescriptions WHERE id = $1 AND patient_id = $2 AND org_id = $3",
                ),
                ItemKind::Document => Q::new(
                    "SELECT id FROM patient_documents WHERE id = $1 AND patient_id = $2 AND org_id = $3 AND deleted_at IS NULL",
                ),
            };
            if tx
                .fetch_optional(q.bind(item).bind(patient).bind(scope.org()))
                .await?
                .is_none()
            {
                return Err(invalid("item", "no such item of this case's patient"));
            }
            tx.execute(
                Q::new(
                    "INSERT INTO treatment_case_items (case_id, org_id, kind, item_id, added_by_name, added_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, kind, item_id) DO NOTHING",
                )
                .bind(id)
                .bind(scope.org())
                .bind(kind.code())
                .bind(item)
                .bind(actor.name.as_str())
                .bind(self.now()),
            )
            .await?;
        } else {
            let n = tx
                .execute(
                    Q::new(
                        "DELETE FROM treatment_case_items WHERE case_id = $1 AND kind = $2 AND item_id = $3",
                    )
                    .bind(id)
                    .bind(kind.code())
                    .bind(item),
                )
                .await?;
            if n == 0 {
                return Err(invalid("item", "not linked to this case"));
            }
        }
        tx.execute(
            Q::new(
                "UPDATE treatment_cases SET updated_at = $1, version = version + 1 WHERE id = $2",
            )
            .bind(self.now())
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                if link {
                    "case.item_linked"
                } else {
                    "case.item_unlinked"
                },
                Some(patient),
                &format!("treatment_case:{id}"),
                json!({ "kind": kind.code(), "item": item }),
            ),
        )
        .await?;
        tx.commit().await?;
        let r = self.case_row(scope, id).await?;
        self.case_from_row(scope, &r).await
    }
}
