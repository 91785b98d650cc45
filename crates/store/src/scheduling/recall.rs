//! Recall: kinds of recall (6-month hygiene, 12-month exam, 3-month perio maintenance), each
//! satisfied by completing an appointment of some types; a patient's recall falls due its
//! interval after the last such visit. Due and overdue lists, booked from the list.
//!
//! Until procedures land (the clinical issue), a visit satisfies a recall by its appointment
//! type; procedure codes will be added to what satisfies one.

use domain::scheduling::{RecallState, recall_due, recall_state};
use domain::{
    AppointmentTypeId, DomainError, FieldError, LocationId, PatientId, RecallTypeId, Scope,
};
use jiff::civil::Date;
use serde_json::json;

use super::appointments::Appointment;
use super::parse_day;
use crate::db::{DbResult, Q, Row};
use crate::patients::{Actor, visible};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecallType {
    pub id: RecallTypeId,
    pub name: String,
    pub interval_months: i64,
    /// Completing an appointment of one of these types satisfies the recall.
    pub appointment_types: Vec<AppointmentTypeId>,
    /// The type booked from the recall list.
    pub default_type: Option<AppointmentTypeId>,
    pub active: bool,
}

/// A patient's recall on the due list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueRecall {
    pub patient_id: PatientId,
    pub patient_name: String,
    pub chart_number: i64,
    pub phone: Option<String>,
    pub recall_type_id: RecallTypeId,
    pub recall_name: String,
    pub default_type: Option<AppointmentTypeId>,
    pub last_done: Option<Date>,
    pub due_on: Date,
    pub state: RecallState,
    /// An appointment to come is already booked for the patient.
    pub booked: bool,
}

fn type_from(r: &Row) -> DbResult<RecallType> {
    Ok(RecallType {
        id: RecallTypeId::from_uuid(r.uuid("id")?),
        name: r.string("name")?,
        interval_months: r.i64("interval_months")?,
        appointment_types: r.json("appointment_type_ids")?,
        default_type: r
            .opt_uuid("default_type_id")?
            .map(AppointmentTypeId::from_uuid),
        active: r.bool("active")?,
    })
}

impl Store {
    pub async fn recall_types(&self, scope: &Scope) -> DbResult<Vec<RecallType>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, name, interval_months, appointment_type_ids, default_type_id, active FROM recall_types \
                     WHERE org_id = $1 ORDER BY sort_order, name",
                )
                .bind(scope.org()),
            )
            .await?
            .iter()
            .map(type_from)
            .collect()
    }

    /// Creates a recall type, or changes one when `id` is given.
    pub async fn save_recall_type(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: Option<RecallTypeId>,
        t: &RecallType,
    ) -> Result<RecallTypeId, WriteError> {
        let mut errors = Vec::new();
        if t.name.trim().is_empty() {
            errors.push(FieldError {
                field: "name".into(),
                message: "must not be empty".into(),
            });
        }
        if !(1..=60).contains(&t.interval_months) {
            errors.push(FieldError {
                field: "interval_months".into(),
                message: "between 1 and 60 months".into(),
            });
        }
        let types = self.appointment_types(scope, true).await?;
        if t.appointment_types.is_empty() {
            errors.push(FieldError {
                field: "appointment_types".into(),
                message: "choose the appointment types that satisfy it".into(),
            });
        }
        for a in t.appointment_types.iter().chain(t.default_type.iter()) {
            if !types.iter().any(|x| x.id == *a) {
                errors.push(FieldError {
                    field: "appointment_types".into(),
                    message: format!("no such appointment type {a}"),
                });
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors).into());
        }
        let mut tx = self.begin().await?;
        let rid = match id {
            Some(id) => {
                let n = tx
                    .execute(
                        Q::new(
                            "UPDATE recall_types SET name = $1, interval_months = $2, appointment_type_ids = $3, \
                             default_type_id = $4, active = $5 WHERE id = $6 AND org_id = $7",
                        )
                        .bind(t.name.trim())
                        .bind(t.interval_months)
                        .bind(json!(t.appointment_types).to_string())
                        .bind(t.default_type)
                        .bind(t.active)
                        .bind(id)
                        .bind(scope.org()),
                    )
                    .await?;
                if n == 0 {
                    return Err(DomainError::not_found("recall type").into());
                }
                id
            }
            None => {
                let id = RecallTypeId::from_uuid(self.new_uuid());
                let order = tx
                    .fetch_one(
                        Q::new("SELECT COALESCE(MAX(sort_order), 0) + 1 AS n FROM recall_types WHERE org_id = $1")
                            .bind(scope.org()),
                    )
                    .await?
                    .i64("n")?;
                tx.execute(
                    Q::new(
                        "INSERT INTO recall_types (id, org_id, name, interval_months, appointment_type_ids, default_type_id, \
                         sort_order, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(id)
                    .bind(scope.org())
                    .bind(t.name.trim())
                    .bind(t.interval_months)
                    .bind(json!(t.appointment_types).to_string())
                    .bind(t.default_type)
                    .bind(order)
                    .bind(t.active)
                    .bind(self.now()),
                )
                .await?;
                id
            }
        };
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "recall_type.saved",
                None,
                &format!("recall_type:{rid}"),
                json!({ "name": t.name.trim(), "interval_months": t.interval_months }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(rid)
    }

    /// Recalls due by `today + window` (overdue first) at a location, with whether a visit is
    /// already booked; audited as a list.
    pub async fn recalls_due(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
        today: Date,
        window_days: i64,
        limit: i64,
    ) -> Result<Vec<DueRecall>, WriteError> {
        if self.location(scope, location).await?.is_none() {
            return Err(DomainError::not_found("location").into());
        }
        let horizon = today
            .checked_add(jiff::Span::new().days(window_days))
            .map_err(|e| DomainError::field("window_days", e.to_string()))?;
        let mut tx = self.begin().await?;
        let rows = tx
            .fetch_all(
                Q::new(
                    "SELECT r.patient_id, r.recall_type_id, r.last_done, r.due_on, t.name AS recall_name, t.default_type_id, \
                     p.given_name, p.family_name, p.preferred_name, p.chart_number, p.location_id AS p_location, p.restricted, \
                     (SELECT number FROM patient_phones ph WHERE ph.patient_id = r.patient_id ORDER BY position LIMIT 1) AS phone, \
                     (SELECT COUNT(*) FROM appointments a WHERE a.patient_id = r.patient_id AND a.start_at > $4 \
                        AND a.status IN ('scheduled', 'confirmed')) AS booked \
                     FROM patient_recalls r JOIN recall_types t ON t.id = r.recall_type_id JOIN patients p ON p.id = r.patient_id \
                     WHERE r.org_id = $1 AND r.location_id = $2 AND r.due_on <= $3 AND r.disabled = FALSE AND t.active = TRUE \
                     AND p.status = 'active' ORDER BY r.due_on, p.family_name, p.given_name LIMIT $5",
                )
                .bind(scope.org())
                .bind(location)
                .bind(horizon.to_string())
                .bind(self.now())
                .bind(limit),
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            if !visible(
                scope,
                LocationId::from_uuid(r.uuid("p_location")?),
                r.bool("restricted")?,
            ) {
                continue;
            }
            let due_on = parse_day(&r.string("due_on")?)?;
            out.push(DueRecall {
                patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
                patient_name: domain::patients::display_name(
                    &r.string("given_name")?,
                    &r.string("family_name")?,
                    &r.string("preferred_name")?,
                ),
                chart_number: r.i64("chart_number")?,
                phone: r.opt_string("phone")?,
                recall_type_id: RecallTypeId::from_uuid(r.uuid("recall_type_id")?),
                recall_name: r.string("recall_name")?,
                default_type: r
                    .opt_uuid("default_type_id")?
                    .map(AppointmentTypeId::from_uuid),
                last_done: r
                    .opt_string("last_done")?
                    .map(|s| parse_day(&s))
                    .transpose()?,
                due_on,
                state: recall_state(due_on, today, i32::try_from(window_days).unwrap_or(30)),
                booked: r.i64("booked")? > 0,
            });
        }
        if !out.is_empty() {
            tx.audit(
                self,
                scope.org(),
                actor.entry(
                    "recall.list",
                    None,
                    &format!("location:{location}"),
                    json!({ "patients": out.iter().map(|d| d.patient_id).collect::<Vec<_>>() }),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A patient's recalls (every active type, due or not).
    pub async fn patient_recalls(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Vec<(RecallType, Option<Date>, Option<Date>)>, WriteError> {
        let types = self.recall_types(scope).await?;
        let rows = self
            .db
            .fetch_all(
                Q::new("SELECT recall_type_id, last_done, due_on FROM patient_recalls WHERE patient_id = $1 AND org_id = $2")
                    .bind(patient)
                    .bind(scope.org()),
            )
            .await?;
        let mut out = Vec::new();
        for t in types.into_iter().filter(|t| t.active) {
            let row = rows
                .iter()
                .find(|r| r.uuid("recall_type_id").is_ok_and(|u| u == t.id.as_uuid()));
            let (last, due) = match row {
                Some(r) => (
                    r.opt_string("last_done")?
                        .map(|s| parse_day(&s))
                        .transpose()?,
                    r.opt_string("due_on")?.map(|s| parse_day(&s)).transpose()?,
                ),
                None => (None, None),
            };
            out.push((t, last, due));
        }
        Ok(out)
    }

    /// Sets a patient's due date by hand (a dentist wants a 4-month recall this time).
    pub async fn set_recall_due(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        recall: RecallTypeId,
        due: Date,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        let prow = tx.patient_row(scope, patient).await?;
        let home = LocationId::from_uuid(prow.uuid("location_id")?);
        if !self
            .recall_types(scope)
            .await?
            .iter()
            .any(|t| t.id == recall)
        {
            return Err(DomainError::field("recall_type_id", "no such recall type").into());
        }
        tx.upsert_recall(self, scope, patient, recall, home, None, Some(due), true)
            .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "recall.due_set",
                Some(patient),
                &format!("recall_type:{recall}"),
                json!({ "due_on": due.to_string() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Txn {
    #[allow(clippy::too_many_arguments)]
    async fn upsert_recall(
        &mut self,
        store: &Store,
        scope: &Scope,
        patient: PatientId,
        recall: RecallTypeId,
        location: LocationId,
        last_done: Option<Date>,
        due: Option<Date>,
        by_hand: bool,
    ) -> DbResult<()> {
        let updated = self
            .execute(
                Q::new(
                    "UPDATE patient_recalls SET last_done = COALESCE($1, last_done), due_on = $2, due_set_by_hand = $3, \
                     location_id = $4, updated_at = $5 WHERE patient_id = $6 AND recall_type_id = $7",
                )
                .bind(last_done.map(|d| d.to_string()))
                .bind(due.map(|d| d.to_string()))
                .bind(by_hand)
                .bind(location)
                .bind(store.now())
                .bind(patient)
                .bind(recall),
            )
            .await?;
        if updated == 0 {
            self.execute(
                Q::new(
                    "INSERT INTO patient_recalls (id, org_id, patient_id, recall_type_id, location_id, last_done, due_on, \
                     due_set_by_hand, disabled, note, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, '', $9)",
                )
                .bind(store.new_uuid())
                .bind(scope.org())
                .bind(patient)
                .bind(recall)
                .bind(location)
                .bind(last_done.map(|d| d.to_string()))
                .bind(due.map(|d| d.to_string()))
                .bind(by_hand)
                .bind(store.now()),
            )
            .await?;
        }
        Ok(())
    }

    /// A completed visit satisfies the recalls its type counts for: each falls due its
    /// interval after the visit's local date (a date set by hand gives way to the visit).
    pub(crate) async fn recall_after_visit(
        &mut self,
        store: &Store,
        scope: &Scope,
        a: &Appointment,
        tz: &jiff::tz::TimeZone,
    ) -> Result<(), WriteError> {
        let Some(ty) = a.appointment_type_id else {
            return Ok(());
        };
        let done = a.start.to_zoned(tz.clone()).date();
        let home = self.patient_row(scope, a.patient_id).await?;
        let home = LocationId::from_uuid(home.uuid("location_id")?);
        for t in store.recall_types(scope).await? {
            if !t.active || !t.appointment_types.contains(&ty) {
                continue;
            }
            let due = recall_due(Some(done), i32::try_from(t.interval_months).unwrap_or(6));
            self.upsert_recall(
                store,
                scope,
                a.patient_id,
                t.id,
                home,
                Some(done),
                due,
                false,
            )
            .await?;
        }
        Ok(())
    }

    /// Recomputes a patient's recalls from their completed appointments (after a merge moved
    /// appointments between records). Dates set by hand are kept unless a later visit
    /// satisfied the recall.
    pub(crate) async fn recompute_recalls(
        &mut self,
        store: &Store,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<(), WriteError> {
        let prow = self
            .fetch_optional(
                Q::new("SELECT location_id FROM patients WHERE id = $1 AND org_id = $2")
                    .bind(patient)
                    .bind(scope.org()),
            )
            .await?;
        let Some(prow) = prow else {
            return Ok(());
        };
        let home = LocationId::from_uuid(prow.uuid("location_id")?);
        let visits = self
            .fetch_all(
                Q::new(
                    "SELECT a.appointment_type_id, a.start_at, l.time_zone FROM appointments a JOIN locations l ON l.id = a.location_id \
                     WHERE a.patient_id = $1 AND a.status = 'completed' AND a.appointment_type_id IS NOT NULL",
                )
                .bind(patient),
            )
            .await?;
        let existing = self
            .fetch_all(
                Q::new("SELECT recall_type_id, last_done, due_set_by_hand FROM patient_recalls WHERE patient_id = $1")
                    .bind(patient),
            )
            .await?;
        for t in store.recall_types(scope).await? {
            let mut last: Option<Date> = None;
            for v in &visits {
                let ty = AppointmentTypeId::from_uuid(v.uuid("appointment_type_id")?);
                if !t.appointment_types.contains(&ty) {
                    continue;
                }
                let tz = jiff::tz::TimeZone::get(&v.string("time_zone")?)
                    .map_err(|e| DomainError::field("time_zone", e.to_string()))?;
                let d = v.ts("start_at")?.to_zoned(tz).date();
                last = Some(last.map_or(d, |l: Date| l.max(d)));
            }
            let mine = existing
                .iter()
                .find(|r| r.uuid("recall_type_id").is_ok_and(|u| u == t.id.as_uuid()));
            let by_hand = mine
                .map(|r| r.bool("due_set_by_hand"))
                .transpose()?
                .unwrap_or(false);
            let stored_last = mine
                .map(|r| r.opt_string("last_done"))
                .transpose()?
                .flatten()
                .map(|s| parse_day(&s))
                .transpose()?;
            if by_hand && last <= stored_last {
                continue;
            }
            if let Some(l) = last {
                let due = recall_due(Some(l), i32::try_from(t.interval_months).unwrap_or(6));
                self.execute(
                    Q::new("UPDATE patient_recalls SET last_done = NULL WHERE patient_id = $1 AND recall_type_id = $2")
                        .bind(patient)
                        .bind(t.id),
                )
                .await?;
                self.upsert_recall(store, scope, patient, t.id, home, Some(l), due, false)
                    .await?;
            } else if mine.is_some() && !by_hand {
                self.execute(
                    Q::new(
                        "DELETE FROM patient_recalls WHERE patient_id = $1 AND recall_type_id = $2",
                    )
                    .bind(patient)
                    .bind(t.id),
                )
                .await?;
            }
        }
        Ok(())
    }
}
