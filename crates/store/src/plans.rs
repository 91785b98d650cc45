//! Treatment plans and the work that follows an exam: plans with their procedures (checked
//! against the catalog and the chart like charted work), analysis and routing; the clinic's
//! planning rules and thresholds; the visit-series proposal and its atomic booking; staff
//! tasks (the inboxes). Every read and change of a plan is audited; diagnoses and decisions
//! (decline reason, signature) are encrypted.

use domain::clinical::catalog::EntryKind;
use domain::clinical::chart::{EntryRequest, Site};
use domain::plans::planner::{self, Part, PlanError, RuleSet, Series};
use domain::plans::{
    Analysis, ItemStatus, Place, PlanStatus, Priority, Procedure, Route, Routing, RoutingSettings,
    analyze, route,
};
use domain::{
    AppointmentId, DocumentId, DomainError, ErrorCode, FieldError, LocationId, OperatoryId,
    PatientId, Scope, UserId,
};
use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::{DbError, DbResult, Q, Row};
use crate::objects::ObjectStorage;
use crate::patients::documents::{BuiltinScanner, Document, Upload, UploadError};
use crate::patients::{Actor, PatientSummary};
use crate::scheduling::appointments::{
    Appointment, NewAppointment, Permits, deadlock_retry, is_overlap,
};
use crate::scheduling::slots::SlotQuery;
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// The encrypted field of a plan's decision (decline reason, signature).
pub const DECISION_FIELD: &str = "treatment_plans.decision";
/// The encrypted field of a planned procedure's diagnosis.
pub const DIAGNOSIS_FIELD: &str = "treatment_plan_items.diagnosis";

/// The job a signed exam enqueues: [`Store::route_exam`].
pub const EXAM_ROUTE: &str = "exam.route";

/// Runs [`EXAM_ROUTE`] jobs.
pub struct ExamRouter;

impl crate::jobs::JobHandler for ExamRouter {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a crate::jobs::Job,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let j = RouteJob::of(job)?;
            store
                .route_exam(&j.scope, j.patient, j.visit, j.urgent)
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"))
        })
    }
}

/// What an [`EXAM_ROUTE`] job asks for.
pub struct RouteJob {
    pub scope: Scope,
    pub patient: PatientId,
    pub visit: uuid::Uuid,
    pub urgent: bool,
}

impl RouteJob {
    pub fn of(job: &crate::jobs::Job) -> Result<RouteJob, String> {
        let org = job.org_id.ok_or("an exam.route job without organization")?;
        let p = &job.payload;
        let id = |k: &str| {
            p.get(k)
                .and_then(|v| v.as_str())
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| format!("exam.route: no {k}"))
        };
        Ok(RouteJob {
            scope: Scope::system(org),
            patient: PatientId::from_uuid(id("patient_id")?),
            visit: id("visit_id")?,
            urgent: p.get("urgent").and_then(|v| v.as_bool()).unwrap_or(false),
        })
    }
}

const MINUTE: i64 = 60_000_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// A procedure as asked for.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewItem {
    #[serde(default)]
    pub code: String,
    /// In the clinic's numbering (the API takes FDI).
    #[serde(default)]
    pub tooth: Option<String>,
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default)]
    pub surfaces: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub phase: Option<u8>,
    #[serde(default)]
    pub diagnosis: Option<String>,
}

/// A plan as asked for.
#[derive(Clone, Debug, Default)]
pub struct NewPlan {
    pub name: Option<String>,
    pub items: Vec<NewItem>,
    /// Option B of another plan of the same patient.
    pub alternative_of: Option<uuid::Uuid>,
}

/// A planned procedure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    pub id: uuid::Uuid,
    pub seq: i64,
    pub code: String,
    pub name: String,
    pub category: String,
    /// FDI.
    pub tooth: Option<u8>,
    pub area: Option<String>,
    pub surfaces: String,
    pub phase: u8,
    pub priority: Priority,
    pub diagnosis: Option<String>,
    pub fee_minor: i64,
    pub minutes: u16,
    pub dentist_only: bool,
    pub status: ItemStatus,
    pub appointment_id: Option<AppointmentId>,
    pub seat_appointment_id: Option<AppointmentId>,
}

impl PlanItem {
    /// The procedure as analysis and the planner see it.
    pub fn procedure(&self) -> Procedure {
        let place = match (
            self.tooth
                .and_then(domain::clinical::teeth::Tooth::from_fdi),
            &self.area,
        ) {
            (Some(t), _) => Place::Tooth(t),
            (None, Some(a)) => domain::clinical::teeth::Area::parse(a)
                .map(Place::Area)
                .unwrap_or(Place::Mouth),
            _ => Place::Mouth,
        };
        Procedure {
            code: self.code.clone(),
            category: self.category.clone(),
            place,
            minutes: self.minutes,
            fee_minor: self.fee_minor,
            dentist_only: self.dentist_only,
            priority: self.priority,
            phase: self.phase,
        }
    }
}

/// What the patient said, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub reason: Option<String>,
    /// Who signed (the patient or their guarantor), as typed.
    pub signed_by: Option<String>,
    /// The signature drawn on the tablet: SVG path data in a 600 × 200 box.
    pub signature: Option<String>,
}

/// A plan with its procedures and figures.
#[derive(Clone, Debug, Serialize)]
pub struct TreatmentPlan {
    pub id: uuid::Uuid,
    pub number: i64,
    pub patient_id: PatientId,
    pub name: String,
    pub status: PlanStatus,
    pub alternative_of: Option<uuid::Uuid>,
    pub visit_id: Option<uuid::Uuid>,
    pub route: Option<Route>,
    pub analysis: Analysis,
    pub routing: Routing,
    pub decision: Decision,
    pub presented_at: Option<Timestamp>,
    pub decided_at: Option<Timestamp>,
    pub created_by_name: String,
    pub created_at: Timestamp,
    pub version: i64,
    pub items: Vec<PlanItem>,
    /// The printed plan filed in the patient's documents (by the exam's routing).
    pub document_id: Option<DocumentId>,
}

impl TreatmentPlan {
    /// "TP-000042".
    pub fn reference(&self) -> String {
        format!("TP-{:06}", self.number)
    }

    /// Accepted work not booked yet, in minor units.
    pub fn unscheduled_value(&self) -> i64 {
        self.items
            .iter()
            .filter(|i| i.status == ItemStatus::Planned)
            .map(|i| i.fee_minor)
            .sum()
    }
}

/// A plan in a list, with its patient.
#[derive(Clone, Debug)]
pub struct ListedPlan {
    pub plan: TreatmentPlan,
    pub patient: PatientSummary,
}

/// The front desk's wishes for a series.
#[derive(Clone, Debug, Default)]
pub struct SeriesPreferences {
    pub location_id: Option<LocationId>,
    /// The dentist for the dentist's visits.
    pub provider_id: Option<UserId>,
    /// The hygienist for hygiene visits.
    pub hygienist_id: Option<UserId>,
    /// Weekdays the patient can come (empty: any).
    pub days: Vec<Weekday>,
    /// Local time of day the visits must fit in.
    pub window: Option<(Time, Time)>,
    /// The first day to look at (default: tomorrow).
    pub from: Option<Date>,
    /// How far to look, in days from `from` (default 180).
    pub horizon_days: Option<i64>,
}

/// A slot for one visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotChoice {
    pub start: Timestamp,
    pub operatory_id: OperatoryId,
    pub provider_id: UserId,
}

/// One proposed visit.
#[derive(Clone, Debug, Serialize)]
pub struct ProposedVisit {
    /// (item, part) in the visit's order.
    pub steps: Vec<(PlanItem, Part)>,
    pub duration_minutes: u16,
    pub dentist: bool,
    pub slot: SlotChoice,
    pub end: Timestamp,
}

/// The proposed series, in visit order.
#[derive(Clone, Debug, Serialize)]
pub struct Proposal {
    pub plan_id: uuid::Uuid,
    pub location_id: LocationId,
    pub visits: Vec<ProposedVisit>,
    /// Why each visit waits (rule names with their days).
    pub constraints: Vec<planner::Constraint>,
}

/// A staff task in an inbox.
#[derive(Clone, Debug, Serialize)]
pub struct Task {
    pub id: uuid::Uuid,
    pub patient_id: Option<PatientId>,
    pub patient_name: Option<String>,
    pub plan_id: Option<uuid::Uuid>,
    pub kind: String,
    pub title: String,
    pub assignee_role: Option<String>,
    pub assignee_id: Option<UserId>,
    pub urgency: Priority,
    pub due_at: Option<Timestamp>,
    pub open: bool,
    pub created_by_name: String,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub done_by_name: Option<String>,
}

/// A task as asked for.
#[derive(Clone, Debug, Default)]
pub struct NewTask {
    pub patient_id: Option<PatientId>,
    pub plan_id: Option<uuid::Uuid>,
    /// `manual`, `route.coordinator`, `route.urgent_scheduling`, `route.checkout`, `follow_up`.
    pub kind: String,
    pub title: String,
    pub assignee_role: Option<String>,
    pub assignee_id: Option<UserId>,
    pub urgency: Priority,
    pub due_at: Option<Timestamp>,
    /// Makes the task idempotent: a second task with the same key is not created.
    pub source_key: Option<String>,
}

/// What an exam's routing produced.
#[derive(Clone, Debug)]
pub struct ExamRouting {
    /// `None`: nothing was planned at the exam.
    pub plan: Option<TreatmentPlan>,
    pub task: Option<Task>,
    /// False when a replay found everything already done.
    pub created: bool,
}

fn invalid(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn plan_error(e: PlanError) -> WriteError {
    let field = match &e {
        PlanError::Cycle(_) => "rules",
        PlanError::PhaseOrder { .. } => "phase",
        PlanError::TooLong { .. } => "procedures",
        PlanError::Invalid(_) => "rules",
    };
    invalid(field, e.to_string())
}

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

impl Store {
    /// The clinic's planning rules and routing thresholds (the starter set until saved).
    pub async fn plan_settings(&self, scope: &Scope) -> DbResult<(RuleSet, RoutingSettings)> {
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT rules, routing FROM plan_settings WHERE org_id = $1")
                    .bind(scope.org()),
            )
            .await?;
        match row {
            None => Ok((RuleSet::starter(), RoutingSettings::default())),
            Some(r) => Ok((
                serde_json::from_str(&r.string("rules")?).map_err(corrupt)?,
                serde_json::from_str(&r.string("routing")?).map_err(corrupt)?,
            )),
        }
    }

    /// Saves the clinic's rules and thresholds: a rule set with a cycle (over the clinic's
    /// catalog) is refused with the cycle named, and nothing changes.
    pub async fn set_plan_settings(
        &self,
        scope: &Scope,
        actor: &Actor,
        rules: &RuleSet,
        routing: &RoutingSettings,
    ) -> Result<(), WriteError> {
        let catalog: Vec<(String, String)> = self
            .procedure_codes(scope)
            .await?
            .into_iter()
            .map(|c| (c.entry.code, c.entry.category))
            .collect();
        rules.check(&catalog).map_err(plan_error)?;
        routing.check().map_err(|m| invalid("routing", m))?;
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO plan_settings (org_id, rules, routing, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id) DO UPDATE SET rules = $2, routing = $3, updated_at = $4",
            )
            .bind(scope.org())
            .bind(serde_json::to_string(rules).map_err(corrupt)?)
            .bind(serde_json::to_string(routing).map_err(corrupt)?)
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "plan.settings_changed",
                None,
                "plan_settings",
                json!({ "rules": rules.rules.len(), "labs": rules.labs.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a plan. Every procedure is checked like charted work (the code in the catalog,
    /// the tooth, surfaces or area it needs, a tooth that is not missing unless the work
    /// replaces it): every problem at once, as `procedures[i].field`, and nothing is stored.
    pub async fn create_plan(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        new: &NewPlan,
    ) -> Result<TreatmentPlan, WriteError> {
        self.create_plan_in(scope, actor, patient, new, None).await
    }

    async fn create_plan_in(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        new: &NewPlan,
        visit: Option<uuid::Uuid>,
    ) -> Result<TreatmentPlan, WriteError> {
        self.patient_row(scope, patient).await?;
        let mut errors: Vec<FieldError> = Vec::new();
        let name = new
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("Treatment plan")
            .to_string();
        if name.chars().count() > 200 {
            errors.push(FieldError {
                field: "name".into(),
                message: "at most 200 characters".into(),
            });
        }
        if new.items.is_empty() {
            errors.push(FieldError {
                field: "procedures".into(),
                message: "a plan needs at least one procedure".into(),
            });
        }
        if new.items.len() > 200 {
            errors.push(FieldError {
                field: "procedures".into(),
                message: "at most 200 procedures in one plan".into(),
            });
        }
        let rows = self
            .check_items(scope, patient, &new.items, 0, &mut errors)
            .await?;
        if let Some(alt) = new.alternative_of {
            let same = self
                .db
                .fetch_optional(
                    Q::new("SELECT patient_id FROM treatment_plans WHERE id = $1 AND org_id = $2")
                        .bind(alt)
                        .bind(scope.org()),
                )
                .await?;
            if same.is_none_or(|r| r.uuid("patient_id").ok() != Some(patient.as_uuid())) {
                errors.push(FieldError {
                    field: "alternative_of".into(),
                    message: "no such plan for this patient".into(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(WriteError::Invalid(DomainError::validation(errors)));
        }
        let (rules, routing) = self.plan_settings(scope).await?;
        let procs: Vec<Procedure> = rows.iter().map(PlanItem::procedure).collect();
        let analysis = analyze(&procs, &rules, &routing);
        let cipher = self.field_cipher(scope.org()).await?;
        let id = self.new_uuid();
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        if let Some(v) = visit {
            // A replayed exam: its plan is already there.
            if let Some(r) = tx
                .fetch_optional(
                    Q::new("SELECT id FROM treatment_plans WHERE visit_id = $1").bind(v),
                )
                .await?
            {
                drop(tx);
                return self.plan_unaudited(scope, r.uuid("id")?).await;
            }
        }
        let number = tx
            .next_number("treatment_plan_counters", scope.org())
            .await?;
        tx.execute(
            Q::new(
                "INSERT INTO treatment_plans (id, org_id, patient_id, number, name, status, alternative_of, visit_id, \
                 route, total_minor, complexity, urgency, created_by_name, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, NULL, $8, $9, $10, $11, $12, $12, 1)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(patient)
            .bind(number)
            .bind(name.as_str())
            .bind(new.alternative_of)
            .bind(visit)
            .bind(analysis.total_value_minor)
            .bind(i64::from(analysis.complexity_score))
            .bind(analysis.urgency.code())
            .bind(actor.name.as_str())
            .bind(now),
        )
        .await?;
        for r in &rows {
            tx.insert_plan_item(scope, id, r, &cipher).await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "plan.created",
                Some(patient),
                &format!("treatment_plan:{id}"),
                json!({ "number": number, "procedures": rows.len(), "visit_id": visit }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "plan.created",
            json!({ "id": id, "patient_id": patient, "total_minor": analysis.total_value_minor }),
        )
        .await?;
        match tx.commit().await {
            Ok(()) => {}
            // Two runs of the same exam's job at once: the other one made it.
            Err(e) if visit.is_some() && e.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
        let id = match visit {
            Some(v) => self
                .db
                .fetch_one(Q::new("SELECT id FROM treatment_plans WHERE visit_id = $1").bind(v))
                .await?
                .uuid("id")?,
            None => id,
        };
        self.plan_unaudited(scope, id).await
    }

    /// Checks procedures like charted work; problems go to `errors` as `procedures[i].field`.
    async fn check_items(
        &self,
        scope: &Scope,
        patient: PatientId,
        items: &[NewItem],
        first_seq: usize,
        errors: &mut Vec<FieldError>,
    ) -> Result<Vec<PlanItem>, WriteError> {
        let codes = self.procedure_codes(scope).await?;
        let numbering = self.clinical_settings(scope).await?.numbering;
        let chart = self.chart_unaudited(scope, patient).await?;
        let missing = chart.missing_teeth();
        // Fees from the clinic's fee schedules in effect today at the patient's location (the
        // catalog's default where none has one).
        let location = self.patient_summary(scope, patient).await?.location_id;
        let today = match self.location(scope, location).await? {
            Some(l) => self.now().to_zoned(l.tz()?).date(),
            None => self.now().to_zoned(jiff::tz::TimeZone::UTC).date(),
        };
        // Read once for every item.
        let fees = self.fee_table(scope, today).await?;
        let mut rows = Vec::new();
        for (n, item) in items.iter().enumerate() {
            let i = n;
            let mut push = |f: &str, m: String| {
                errors.push(FieldError {
                    field: format!("procedures[{i}].{f}"),
                    message: m,
                })
            };
            let code = item.code.trim().to_ascii_uppercase();
            let entry = codes
                .iter()
                .find(|c| c.entry.code == code && c.active && c.entry.kind == EntryKind::Procedure)
                .map(|c| &c.entry);
            let req = EntryRequest {
                code: code.clone(),
                tooth: item.tooth.clone(),
                area: item.area.clone(),
                surfaces: item.surfaces.clone(),
                status: Some("planned".into()),
                note: None,
                override_reason: None,
            };
            let checked = match req.check(entry, numbering, |t| missing.contains(&t)) {
                Ok(c) => c,
                Err(es) => {
                    for e in es {
                        push(&e.field, e.message);
                    }
                    continue;
                }
            };
            let priority = match item.priority.as_deref().map(str::trim) {
                None | Some("") => Priority::Routine,
                Some(p) => match Priority::from_code(p) {
                    Some(p) => p,
                    None => {
                        push("priority", "routine, soon or urgent".into());
                        continue;
                    }
                },
            };
            let phase = item.phase.unwrap_or(1);
            if !(1..=9).contains(&phase) {
                push("phase", "a phase from 1 to 9".into());
                continue;
            }
            let diagnosis = item
                .diagnosis
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string);
            if diagnosis.as_ref().is_some_and(|d| d.chars().count() > 500) {
                push("diagnosis", "at most 500 characters".into());
                continue;
            }
            let Some(entry) = entry else { continue };
            let fee_minor = fees.fee(location, None, &code).0;
            let (tooth, surfaces, area) = match checked.site {
                Site::Mouth => (None, String::new(), None),
                Site::Tooth(t, s) => (Some(t.fdi()), s.show_on(t), None),
                Site::Area(a) => (None, String::new(), Some(a.code())),
            };
            rows.push(PlanItem {
                id: self.new_uuid(),
                seq: (first_seq + n) as i64,
                code,
                name: entry.name.clone(),
                category: entry.category.clone(),
                tooth,
                area,
                surfaces,
                phase,
                priority,
                diagnosis,
                fee_minor,
                minutes: entry.minutes,
                dentist_only: entry.dentist_only,
                status: ItemStatus::Planned,
                appointment_id: None,
                seat_appointment_id: None,
            });
        }
        Ok(rows)
    }

    /// Adds procedures to an open plan (the builder), after the others.
    pub async fn add_plan_items(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        items: &[NewItem],
    ) -> Result<TreatmentPlan, WriteError> {
        let plan = self.plan_unaudited(scope, id).await?;
        if !matches!(
            plan.status,
            PlanStatus::Pending
                | PlanStatus::Presented
                | PlanStatus::Accepted
                | PlanStatus::InProgress
        ) {
            return Err(invalid(
                "status",
                format!(
                    "a {} plan cannot change: reopen it first",
                    plan.status.code()
                ),
            ));
        }
        let mut errors = Vec::new();
        if items.is_empty() {
            errors.push(FieldError {
                field: "procedures".into(),
                message: "choose a procedure".into(),
            });
        }
        let next = plan.items.iter().map(|i| i.seq + 1).max().unwrap_or(0);
        let rows = self
            .check_items(
                scope,
                plan.patient_id,
                items,
                usize::try_from(next).unwrap_or(0),
                &mut errors,
            )
            .await?;
        if !errors.is_empty() {
            return Err(WriteError::Invalid(DomainError::validation(errors)));
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        for r in &rows {
            tx.insert_plan_item(scope, id, r, &cipher).await?;
        }
        tx.execute(
            Q::new(
                "UPDATE treatment_plans SET version = version + 1, updated_at = $1 WHERE id = $2",
            )
            .bind(self.now())
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "plan.items_added",
                Some(plan.patient_id),
                &format!("treatment_plan:{id}"),
                json!({ "procedures": rows.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.refresh_figures(scope, id).await
    }

    /// Removes a procedure not booked yet from a plan.
    pub async fn remove_plan_item(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        item: uuid::Uuid,
    ) -> Result<TreatmentPlan, WriteError> {
        let plan = self.plan_unaudited(scope, id).await?;
        let Some(it) = plan.items.iter().find(|i| i.id == item) else {
            return Err(invalid("item", "no such procedure in this plan"));
        };
        if it.status != ItemStatus::Planned && it.status != ItemStatus::Declined {
            return Err(invalid(
                "item",
                "this procedure is booked: cancel its appointment first",
            ));
        }
        if plan.items.len() == 1 {
            return Err(invalid(
                "item",
                "a plan keeps at least one procedure: decline the plan instead",
            ));
        }
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("DELETE FROM treatment_plan_items WHERE id = $1 AND plan_id = $2")
                .bind(item)
                .bind(id),
        )
        .await?;
        tx.execute(
            Q::new(
                "UPDATE treatment_plans SET version = version + 1, updated_at = $1 WHERE id = $2",
            )
            .bind(self.now())
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "plan.item_removed",
                Some(plan.patient_id),
                &format!("treatment_plan:{id}"),
                json!({ "code": it.code }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.refresh_figures(scope, id).await
    }

    /// Stores the plan's figures again after its procedures changed.
    async fn refresh_figures(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<TreatmentPlan, WriteError> {
        let plan = self.plan_unaudited(scope, id).await?;
        self.db
            .execute(
                Q::new("UPDATE treatment_plans SET total_minor = $1, complexity = $2, urgency = $3 WHERE id = $4")
                    .bind(plan.analysis.total_value_minor)
                    .bind(i64::from(plan.analysis.complexity_score))
                    .bind(plan.analysis.urgency.code())
                    .bind(id),
            )
            .await?;
        Ok(plan)
    }

    async fn plan_row(&self, scope: &Scope, id: uuid::Uuid) -> Result<Row, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM treatment_plans WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("treatment plan")))?;
        self.patient_row(scope, PatientId::from_uuid(r.uuid("patient_id")?))
            .await?;
        Ok(r)
    }

    /// The plan's patient, if the plan is visible in the scope (not audited: no record is
    /// read).
    pub async fn plan_patient(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<PatientId, WriteError> {
        let r = self.plan_row(scope, id).await?;
        Ok(PatientId::from_uuid(r.uuid("patient_id")?))
    }

    pub(crate) async fn plan_unaudited(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<TreatmentPlan, WriteError> {
        let r = self.plan_row(scope, id).await?;
        let settings = self.plan_settings(scope).await?;
        self.plan_from_row(scope, &r, &settings).await
    }

    async fn plan_from_row(
        &self,
        scope: &Scope,
        r: &Row,
        settings: &(RuleSet, RoutingSettings),
    ) -> Result<TreatmentPlan, WriteError> {
        let id = r.uuid("id")?;
        let mut items = Vec::new();
        for i in self
            .db
            .fetch_all(
                Q::new("SELECT * FROM treatment_plan_items WHERE plan_id = $1 ORDER BY seq")
                    .bind(id),
            )
            .await?
        {
            let diagnosis = match i.opt_string("diagnosis_enc")? {
                Some(enc) => Some(
                    self.decrypt_field(scope.org(), DIAGNOSIS_FIELD, &enc)
                        .await?,
                ),
                None => None,
            };
            let status = i.string("status")?;
            let priority = i.string("priority")?;
            items.push(PlanItem {
                id: i.uuid("id")?,
                seq: i.i64("seq")?,
                code: i.string("code")?,
                name: i.string("name")?,
                category: i.string("category")?,
                tooth: i.opt_i64("tooth")?.and_then(|t| u8::try_from(t).ok()),
                area: i.opt_string("area")?,
                surfaces: i.string("surfaces")?,
                phase: u8::try_from(i.i64("phase")?).unwrap_or(1),
                priority: Priority::from_code(&priority).ok_or_else(|| corrupt(&priority))?,
                diagnosis,
                fee_minor: i.i64("fee_minor")?,
                minutes: u16::try_from(i.i64("minutes")?).unwrap_or(0),
                dentist_only: i.bool("dentist_only")?,
                status: ItemStatus::from_code(&status).ok_or_else(|| corrupt(&status))?,
                appointment_id: i.opt_uuid("appointment_id")?.map(AppointmentId::from_uuid),
                seat_appointment_id: i
                    .opt_uuid("seat_appointment_id")?
                    .map(AppointmentId::from_uuid),
            });
        }
        let decision = match r.opt_string("decision_enc")? {
            Some(enc) => serde_json::from_str(
                &self
                    .decrypt_field(scope.org(), DECISION_FIELD, &enc)
                    .await?,
            )
            .map_err(corrupt)?,
            None => Decision::default(),
        };
        let (rules, settings) = settings;
        let live: Vec<Procedure> = items
            .iter()
            .filter(|i| i.status != ItemStatus::Declined)
            .map(PlanItem::procedure)
            .collect();
        let analysis = analyze(&live, rules, settings);
        let routing = route(&analysis, settings);
        let status = r.string("status")?;
        Ok(TreatmentPlan {
            id,
            number: r.i64("number")?,
            patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
            name: r.string("name")?,
            status: PlanStatus::from_code(&status).ok_or_else(|| corrupt(&status))?,
            alternative_of: r.opt_uuid("alternative_of")?,
            visit_id: r.opt_uuid("visit_id")?,
            route: r.opt_string("route")?.as_deref().and_then(Route::from_code),
            analysis,
            routing,
            decision,
            presented_at: r.opt_ts("presented_at")?,
            decided_at: r.opt_ts("decided_at")?,
            created_by_name: r.string("created_by_name")?,
            created_at: r.ts("created_at")?,
            version: r.i64("version")?,
            items,
            document_id: r.opt_uuid("document_id")?.map(DocumentId::from_uuid),
        })
    }

    /// One plan; audited.
    pub async fn plan(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
    ) -> Result<TreatmentPlan, WriteError> {
        let plan = self.plan_unaudited(scope, id).await?;
        self.audit_once(
            scope,
            actor,
            "plan.read",
            Some(plan.patient_id),
            &format!("treatment_plan:{id}"),
            json!({ "number": plan.number }),
        )
        .await?;
        Ok(plan)
    }

    /// Plans: one patient's, or the organization's in some statuses (newest first); audited
    /// as a listing.
    pub async fn plans(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: Option<PatientId>,
        statuses: &[PlanStatus],
        limit: i64,
    ) -> Result<Vec<ListedPlan>, WriteError> {
        let rows = match patient {
            Some(p) => {
                self.patient_row(scope, p).await?;
                self.db
                    .fetch_all(
                        Q::fork(
                            "SELECT * FROM treatment_plans WHERE +org_id = $1 AND patient_id = $2 \
                             ORDER BY created_at DESC, number DESC LIMIT $3",
                            "SELECT * FROM treatment_plans WHERE org_id = $1 AND patient_id = $2 \
                             ORDER BY created_at DESC, number DESC LIMIT $3",
                        )
                        .bind(scope.org())
                        .bind(p)
                        .bind(limit.clamp(1, 500)),
                    )
                    .await?
            }
            None => {
                // The statuses are the enum's own codes, never user text.
                let only = if statuses.is_empty() {
                    String::new()
                } else {
                    let codes: Vec<String> =
                        statuses.iter().map(|s| format!("'{}'", s.code())).collect();
                    format!(" AND status IN ({})", codes.join(", "))
                };
                self.db
                    .fetch_all(
                        Q::generated(format!(
                            "SELECT * FROM treatment_plans WHERE org_id = $1{only} \
                             ORDER BY created_at DESC, number DESC LIMIT $2"
                        ))
                        .bind(scope.org())
                        .bind(limit.clamp(1, 2000)),
                    )
                    .await?
            }
        };
        let settings = self.plan_settings(scope).await?;
        let mut out = Vec::new();
        for r in &rows {
            let status = r.string("status")?;
            if !statuses.is_empty()
                && !PlanStatus::from_code(&status).is_some_and(|s| statuses.contains(&s))
            {
                continue;
            }
            let pid = PatientId::from_uuid(r.uuid("patient_id")?);
            let Some(patient) = self.visible_patient(scope, pid).await? else {
                continue;
            };
            out.push(ListedPlan {
                plan: self.plan_from_row(scope, r, &settings).await?,
                patient,
            });
        }
        let listed: Vec<PatientSummary> = out.iter().map(|l| l.patient.clone()).collect();
        self.audit_listing(
            scope,
            actor,
            "plan.list_read",
            &listed,
            json!({ "plans": out.len() }),
        )
        .await?;
        Ok(out)
    }

    /// Moves a plan: presented, accepted (with the signature captured on the tablet),
    /// declined (with a reason), reopened. A stale version is refused.
    pub async fn set_plan_status(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        to: PlanStatus,
        decision: &Decision,
        base_version: Option<i64>,
    ) -> Result<TreatmentPlan, WriteError> {
        let plan = self.plan_unaudited(scope, id).await?;
        if base_version.is_some_and(|v| v != plan.version) {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "this plan changed since you opened it: reload it",
            )));
        }
        if !plan.status.may_become(to) {
            return Err(invalid(
                "status",
                format!("a {} plan cannot become {}", plan.status.code(), to.code()),
            ));
        }
        let trim = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut d = Decision {
            reason: trim(&decision.reason),
            signed_by: trim(&decision.signed_by),
            signature: trim(&decision.signature),
        };
        match to {
            PlanStatus::Declined => {
                if d.reason.is_none() {
                    return Err(invalid("reason", "say why the patient declined"));
                }
                d.signed_by = None;
                d.signature = None;
            }
            PlanStatus::Accepted => {
                if d.signed_by.is_none() {
                    return Err(invalid("signed_by", "who is signing?"));
                }
                match &d.signature {
                    Some(s) if is_signature(s) => {}
                    _ => return Err(invalid("signature", "the patient signs in the box")),
                }
            }
            PlanStatus::Pending => d = Decision::default(),
            _ => d = plan.decision.clone(),
        }
        if d.reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(invalid("reason", "at most 500 characters"));
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let enc = if d == Decision::default() {
            None
        } else {
            Some(cipher.encrypt(DECISION_FIELD, &serde_json::to_string(&d).map_err(corrupt)?))
        };
        let now = self.now();
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new(
                    "UPDATE treatment_plans SET status = $1, decision_enc = $2, \
                     presented_at = CASE WHEN $1 = 'presented' THEN $3 ELSE presented_at END, \
                     decided_at = CASE WHEN $1 IN ('accepted', 'declined') THEN $3 WHEN $1 = 'pending' THEN NULL ELSE decided_at END, \
                     updated_at = $3, version = version + 1 WHERE id = $4 AND org_id = $5 AND version = $6",
                )
                .bind(to.code())
                .bind(enc)
                .bind(now)
                .bind(id)
                .bind(scope.org())
                .bind(plan.version),
            )
            .await?;
        if n == 0 {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "this plan changed a moment ago: reload it",
            )));
        }
        if to == PlanStatus::Declined {
            tx.execute(
                Q::new(
                    "UPDATE treatment_plan_items SET status = 'declined' WHERE plan_id = $1 AND status = 'planned'",
                )
                .bind(id),
            )
            .await?;
        }
        if to == PlanStatus::Pending {
            tx.execute(
                Q::new(
                    "UPDATE treatment_plan_items SET status = 'planned' WHERE plan_id = $1 AND status = 'declined'",
                )
                .bind(id),
            )
            .await?;
        }
        if to == PlanStatus::Presented {
            // A follow-up if the patient has not answered in N days.
            let (_, settings) = self.plan_settings(scope).await?;
            let due = Timestamp::from_microsecond(
                now.as_microsecond() + i64::from(settings.follow_up_days) * DAY,
            )
            .unwrap_or(now);
            tx.insert_task(
                self,
                scope,
                actor,
                &NewTask {
                    patient_id: Some(plan.patient_id),
                    plan_id: Some(id),
                    kind: "follow_up".into(),
                    title: format!("Follow up on {} ({})", plan.reference(), plan.name),
                    assignee_role: Some("coordinator".into()),
                    urgency: Priority::Routine,
                    due_at: Some(due),
                    source_key: Some(format!("plan:{id}:follow_up:{}", plan.version)),
                    ..NewTask::default()
                },
            )
            .await?;
        }
        let mut closed = 0;
        if matches!(
            to,
            PlanStatus::Presented | PlanStatus::Accepted | PlanStatus::Declined
        ) {
            // Presented: the coordinator's "present this plan" is done.
            closed += tx
                .close_tasks(now, &actor.name, TaskOf::Plan(id), "route.coordinator")
                .await?;
        }
        if matches!(to, PlanStatus::Accepted | PlanStatus::Declined) {
            // The answer came: the follow-ups of this plan are done.
            closed += tx
                .close_tasks(now, &actor.name, TaskOf::Plan(id), "follow_up")
                .await?;
        }
        if closed > 0 {
            tx.publish(
                self,
                Some(scope.org()),
                "task.changed",
                json!({ "plan_id": id, "closed": closed }),
            )
            .await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                &format!("plan.{}", to.code()),
                Some(plan.patient_id),
                &format!("treatment_plan:{id}"),
                json!({ "from": plan.status.code(), "signed": d.signature.is_some() }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "plan.status_changed",
            json!({ "id": id, "patient_id": plan.patient_id, "status": to.code() }),
        )
        .await?;
        tx.commit().await?;
        self.plan_unaudited(scope, id).await
    }

    /// Sets a plan's procedure order (the builder's drag and drop): `order` lists every item id
    /// once.
    pub async fn reorder_plan(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        order: &[uuid::Uuid],
    ) -> Result<TreatmentPlan, WriteError> {
        let plan = self.plan_unaudited(scope, id).await?;
        let mut given = order.to_vec();
        given.sort_unstable();
        given.dedup();
        let mut have: Vec<uuid::Uuid> = plan.items.iter().map(|i| i.id).collect();
        have.sort_unstable();
        if given != have || order.len() != have.len() {
            return Err(invalid("order", "list every procedure of the plan once"));
        }
        let mut tx = self.begin().await?;
        for (n, item) in order.iter().enumerate() {
            tx.execute(
                Q::new("UPDATE treatment_plan_items SET seq = $1 WHERE id = $2 AND plan_id = $3")
                    .bind(n as i64)
                    .bind(*item)
                    .bind(id),
            )
            .await?;
        }
        tx.execute(
            Q::new(
                "UPDATE treatment_plans SET version = version + 1, updated_at = $1 WHERE id = $2",
            )
            .bind(self.now())
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "plan.reordered",
                Some(plan.patient_id),
                &format!("treatment_plan:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        self.plan_unaudited(scope, id).await
    }

    /// The series the planner proposes for a plan's unscheduled work, each visit in the
    /// earliest free slot the rules and the patient's wishes allow. Nothing is booked.
    pub async fn propose_series(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        prefs: &SeriesPreferences,
    ) -> Result<Proposal, WriteError> {
        let plan = self.plan(scope, actor, id).await?;
        self.proposal_for(scope, &plan, prefs).await
    }

    async fn proposal_for(
        &self,
        scope: &Scope,
        plan: &TreatmentPlan,
        prefs: &SeriesPreferences,
    ) -> Result<Proposal, WriteError> {
        if !plan.status.is_open() {
            return Err(invalid(
                "status",
                format!("a {} plan is not scheduled", plan.status.code()),
            ));
        }
        let todo: Vec<PlanItem> = plan
            .items
            .iter()
            .filter(|i| i.status == ItemStatus::Planned)
            .cloned()
            .collect();
        if todo.is_empty() {
            return Err(invalid(
                "procedures",
                "every procedure of this plan is booked or done",
            ));
        }
        let (rules, _) = self.plan_settings(scope).await?;
        let procs: Vec<Procedure> = todo.iter().map(PlanItem::procedure).collect();
        let series: Series = planner::plan(&procs, &rules).map_err(plan_error)?;
        let locations = self.locations(scope).await?;
        let location = match prefs.location_id {
            Some(l) => locations
                .iter()
                .find(|x| x.id == l)
                .ok_or_else(|| invalid("location_id", "no such location"))?,
            None => locations
                .first()
                .ok_or_else(|| invalid("location_id", "no location to book at"))?,
        };
        let tz = location.tz()?;
        let providers = self.agenda_providers(scope, location.id).await?;
        for (field, id, dentist) in [
            ("provider_id", prefs.provider_id, true),
            ("hygienist_id", prefs.hygienist_id, false),
        ] {
            if let Some(id) = id
                && !providers
                    .iter()
                    .any(|p| p.id == id && (p.dentist || !dentist))
            {
                return Err(invalid(
                    field,
                    format!(
                        "not a {} who works at {}",
                        if dentist { "dentist" } else { "provider" },
                        location.name
                    ),
                ));
            }
        }
        let today = self.now().to_zoned(tz.clone()).date();
        // Urgent work is looked for from now; the rest from tomorrow.
        let urgent = plan.analysis.urgency == Priority::Urgent;
        let first = prefs.from.unwrap_or_else(|| {
            if urgent {
                today
            } else {
                today.tomorrow().unwrap_or(today)
            }
        });
        let horizon = prefs.horizon_days.unwrap_or(180).clamp(1, 400);
        let start_of = |d: Date| -> Result<Timestamp, WriteError> {
            Ok(d.to_zoned(tz.clone())
                .map_err(|e| invalid("from", e.to_string()))?
                .timestamp())
        };
        let mut dates: Vec<Date> = Vec::new();
        let mut visits: Vec<ProposedVisit> = Vec::new();
        for (k, v) in series.visits.iter().enumerate() {
            // The earliest day: after the previous visit, and as the rules ask after
            // earlier steps, counted from the days actually found.
            let mut earliest = match dates.last() {
                Some(d) => d.tomorrow().unwrap_or(*d),
                None => first,
            };
            for c in &series.constraints {
                let Some(to) = series.visit_of(c.to.0, c.to.1) else {
                    continue;
                };
                let Some(from) = series.visit_of(c.from.0, c.from.1) else {
                    continue;
                };
                if to == k && from < k {
                    let d = dates[from]
                        .checked_add(jiff::Span::new().days(i64::from(c.min_days)))
                        .unwrap_or(dates[from]);
                    earliest = earliest.max(d);
                }
            }
            let wanted: Vec<UserId> = match (v.dentist, prefs.provider_id, prefs.hygienist_id) {
                (true, Some(p), _) => vec![p],
                (false, _, Some(h)) => vec![h],
                (dentist, _, _) => {
                    let mut ps: Vec<&crate::scheduling::AgendaProvider> =
                        providers.iter().filter(|p| p.dentist == dentist).collect();
                    if !dentist {
                        // A dentist may do hygiene work when no hygienist is free.
                        ps.extend(providers.iter().filter(|p| p.dentist));
                    }
                    ps.into_iter().map(|p| p.id).collect()
                }
            };
            if wanted.is_empty() {
                return Err(invalid(
                    "provider_id",
                    format!(
                        "visit {}: nobody at {} can see this visit (a {} is needed)",
                        k + 1,
                        location.name,
                        if v.dentist {
                            "dentist"
                        } else {
                            "hygienist or dentist"
                        }
                    ),
                ));
            }
            let from_ts = start_of(earliest)?.max(self.now());
            // The horizon counts from the day the visit may first happen (a retainer two
            // years after the braces is looked for around then).
            let to_ts = start_of(
                earliest
                    .checked_add(jiff::Span::new().days(horizon))
                    .unwrap_or(earliest),
            )?;
            // One search over every provider who may see the visit, in order of preference.
            let q = SlotQuery {
                location_id: Some(location.id),
                duration_minutes: Some(i64::from(v.minutes)),
                providers: wanted.clone(),
                patient_id: Some(plan.patient_id),
                from: Some(from_ts),
                to: Some(to_ts),
                window: prefs.window,
                limit: 1,
                ..SlotQuery::default()
            };
            let best = if from_ts < to_ts {
                self.first_slot(scope, &q, &tz, &prefs.days).await?
            } else {
                None
            };
            let Some(slot) = best else {
                let end = earliest
                    .checked_add(jiff::Span::new().days(horizon))
                    .unwrap_or(earliest);
                let at = NoSlot {
                    location: location.id,
                    patient: plan.patient_id,
                    visit: k,
                    minutes: v.minutes,
                    earliest,
                    end,
                };
                return Err(self.no_slot_error(scope, &at, &tz, &wanted, prefs).await);
            };
            let start = Timestamp::from_microsecond(slot.start).map_err(corrupt)?;
            dates.push(start.to_zoned(tz.clone()).date());
            let steps = v
                .steps
                .iter()
                .map(|s| (todo[s.procedure].clone(), s.part))
                .collect();
            visits.push(ProposedVisit {
                steps,
                duration_minutes: v.minutes,
                dentist: v.dentist,
                slot: SlotChoice {
                    start,
                    operatory_id: slot.operatory_id,
                    provider_id: slot.provider_id,
                },
                end: Timestamp::from_microsecond(slot.end).map_err(corrupt)?,
            });
        }
        Ok(Proposal {
            plan_id: plan.id,
            location_id: location.id,
            visits,
            constraints: series.constraints,
        })
    }

    /// The first slot of `q` on one of `days` (any day when empty).
    async fn first_slot(
        &self,
        scope: &Scope,
        q: &SlotQuery,
        tz: &jiff::tz::TimeZone,
        days: &[Weekday],
    ) -> Result<Option<crate::scheduling::slots::Slot>, WriteError> {
        let (Some(from), Some(to)) = (q.from, q.to) else {
            return Ok(None);
        };
        if days.is_empty() {
            return Ok(self.find_slots(scope, q).await?.into_iter().next());
        }
        // Day by day, the wished ones only.
        let mut day = from.to_zoned(tz.clone()).date();
        loop {
            let start = day
                .to_zoned(tz.clone())
                .map_err(corrupt)?
                .timestamp()
                .max(from);
            if start >= to {
                return Ok(None);
            }
            let next = day.tomorrow().map_err(corrupt)?;
            let end = next
                .to_zoned(tz.clone())
                .map_err(corrupt)?
                .timestamp()
                .min(to);
            if days.contains(&day.weekday()) {
                let q = SlotQuery {
                    from: Some(start),
                    to: Some(end),
                    ..q.clone()
                };
                if let Some(s) = self.find_slots(scope, &q).await?.into_iter().next() {
                    return Ok(Some(s));
                }
            }
            day = next;
        }
    }

    /// No slot in the horizon: says so, with the earliest date one exists within the patient's
    /// wishes (looking up to 400 days).
    async fn no_slot_error(
        &self,
        scope: &Scope,
        at: &NoSlot,
        tz: &jiff::tz::TimeZone,
        wanted: &[UserId],
        prefs: &SeriesPreferences,
    ) -> WriteError {
        let NoSlot {
            location,
            patient,
            visit: k,
            minutes,
            earliest,
            end,
        } = *at;
        let from = earliest.to_zoned(tz.clone()).map(|z| z.timestamp()).ok();
        let mut soonest: Option<i64> = None;
        if let Some(from) = from {
            let to = Timestamp::from_microsecond(from.as_microsecond() + 399 * DAY).ok();
            let q = SlotQuery {
                location_id: Some(location),
                duration_minutes: Some(i64::from(minutes)),
                providers: wanted.to_vec(),
                patient_id: Some(patient),
                from: Some(from),
                to,
                window: prefs.window,
                limit: 1,
                ..SlotQuery::default()
            };
            if let Ok(Some(s)) = self.first_slot(scope, &q, tz, &prefs.days).await {
                soonest = Some(s.start);
            }
        }
        let when = soonest
            .and_then(|s| Timestamp::from_microsecond(s).ok())
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            });
        let message = match when {
            Some(w) => format!(
                "visit {} ({minutes} minutes): no free slot from {earliest} to {end}; the earliest possible is {w}",
                k + 1
            ),
            None => format!(
                "visit {} ({minutes} minutes): no free slot from {earliest} in the next 400 days",
                k + 1
            ),
        };
        WriteError::Invalid(
            DomainError::new(ErrorCode::Conflict, message.clone()).with_field("slot", message),
        )
    }

    /// Books the series in one transaction: every visit or none. `slots`, when given, are the
    /// ones the front desk saw (one per visit); otherwise the proposal is made again. The
    /// appointments are linked to the procedures, which become scheduled, and the plan is
    /// accepted if it was not yet; `plan.scheduled` carries the appointments for
    /// confirmations.
    pub async fn accept_series(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        id: uuid::Uuid,
        prefs: &SeriesPreferences,
        slots: Option<&[SlotChoice]>,
    ) -> Result<(Proposal, Vec<Appointment>), WriteError> {
        deadlock_retry(|| self.accept_series_once(scope, actor, permits, id, prefs, slots)).await
    }

    async fn accept_series_once(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        id: uuid::Uuid,
        prefs: &SeriesPreferences,
        slots: Option<&[SlotChoice]>,
    ) -> Result<(Proposal, Vec<Appointment>), WriteError> {
        let plan = self.plan_unaudited(scope, id).await?;
        let mut proposal = self.proposal_for(scope, &plan, prefs).await?;
        if let Some(slots) = slots {
            if slots.len() != proposal.visits.len() {
                return Err(invalid(
                    "slots",
                    format!(
                        "the series has {} visits now, not {}: look at the proposal again",
                        proposal.visits.len(),
                        slots.len()
                    ),
                ));
            }
            for (v, s) in proposal.visits.iter_mut().zip(slots) {
                v.end = Timestamp::from_microsecond(
                    s.start.as_microsecond() + i64::from(v.duration_minutes) * MINUTE,
                )
                .map_err(corrupt)?;
                v.slot = *s;
            }
            for w in proposal.visits.windows(2) {
                if w[1].slot.start <= w[0].end {
                    return Err(invalid("slots", "the visits must follow one another"));
                }
            }
        }
        let mut bookings = Vec::new();
        for (k, v) in proposal.visits.iter().enumerate() {
            let codes: Vec<String> = v
                .steps
                .iter()
                .map(|(i, p)| {
                    let part = match p {
                        Part::Whole => String::new(),
                        Part::Prep => " (prep)".into(),
                        Part::Seat => " (seat)".into(),
                    };
                    match (i.tooth, &i.area) {
                        (Some(t), _) => format!("{} {t}{part}", i.code),
                        (None, Some(a)) => format!("{} {a}{part}", i.code),
                        _ => format!("{}{part}", i.code),
                    }
                })
                .collect();
            let new = NewAppointment {
                location_id: Some(proposal.location_id),
                operatory_id: Some(v.slot.operatory_id),
                patient_id: Some(plan.patient_id),
                provider_id: Some(v.slot.provider_id),
                start: Some(v.slot.start),
                duration_minutes: Some(i64::from(v.duration_minutes)),
                notes: format!(
                    "{} visit {}/{}: {}",
                    plan.reference(),
                    k + 1,
                    proposal.visits.len(),
                    codes.join(", ")
                ),
                ..NewAppointment::default()
            };
            let b = self
                .prepare_booking(scope, permits, &new)
                .await
                .map_err(|e| visit_error(k, e))?;
            bookings.push(b);
        }
        let mut tx = self.begin().await?;
        let mut appts = Vec::new();
        for (k, b) in bookings.iter().enumerate() {
            let a = tx
                .insert_booking(self, scope, actor, b)
                .await
                .map_err(|e| visit_error(k, e))?;
            appts.push(a);
        }
        for (v, a) in proposal.visits.iter().zip(&appts) {
            for (item, part) in &v.steps {
                let col = if *part == Part::Seat {
                    "seat_appointment_id"
                } else {
                    "appointment_id"
                };
                tx.execute(
                    Q::generated(format!(
                        "UPDATE treatment_plan_items SET {col} = $1, status = 'scheduled' WHERE id = $2 AND plan_id = $3"
                    ))
                    .bind(a.id)
                    .bind(item.id)
                    .bind(id),
                )
                .await?;
            }
        }
        let n = tx
            .execute(
                Q::new(
                    "UPDATE treatment_plans SET status = CASE WHEN status IN ('pending', 'presented') THEN 'accepted' ELSE status END, \
                     decided_at = COALESCE(decided_at, $1), updated_at = $1, version = version + 1 \
                     WHERE id = $2 AND version = $3",
                )
                .bind(self.now())
                .bind(id)
                .bind(plan.version),
            )
            .await?;
        if n == 0 {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "this plan changed a moment ago: look at the proposal again",
            )));
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "plan.scheduled",
                Some(plan.patient_id),
                &format!("treatment_plan:{id}"),
                json!({ "appointments": appts.len() }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "plan.scheduled",
            json!({
                "id": id,
                "patient_id": plan.patient_id,
                "appointment_ids": appts.iter().map(|a| a.id).collect::<Vec<_>>(),
            }),
        )
        .await?;
        // Booked: the front desk's "book urgent treatment" is done (a checkout stays: the
        // patient still checks out).
        let closed = tx
            .close_tasks(
                self.now(),
                &actor.name,
                TaskOf::Plan(id),
                "route.urgent_scheduling",
            )
            .await?;
        if closed > 0 {
            tx.publish(
                self,
                Some(scope.org()),
                "task.changed",
                json!({ "plan_id": id, "closed": closed }),
            )
            .await?;
        }
        match tx.commit().await {
            Ok(()) => Ok((proposal, appts)),
            Err(e) if is_overlap(&e) => Err(visit_error(
                0,
                self.conflict_after_race_of(&bookings[0]).await,
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Accepted work that is not booked yet, most valuable first: the pending-treatment report.
    pub async fn pending_treatment(
        &self,
        scope: &Scope,
        actor: &Actor,
    ) -> Result<Vec<ListedPlan>, WriteError> {
        let mut plans = self
            .plans(
                scope,
                actor,
                None,
                &[PlanStatus::Accepted, PlanStatus::InProgress],
                2000,
            )
            .await?;
        plans.retain(|l| l.plan.unscheduled_value() > 0);
        plans.sort_by_key(|l| std::cmp::Reverse(l.plan.unscheduled_value()));
        Ok(plans)
    }

    /// Routes a signed exam (the `exam.route` job): a plan from the work planned on the chart,
    /// its routing, and the task in the right inbox. Idempotent: a replay finds the plan (one
    /// per visit) and the task (one per source key) and creates nothing.
    pub async fn route_exam(
        &self,
        scope: &Scope,
        patient: PatientId,
        visit: uuid::Uuid,
        urgent: bool,
    ) -> Result<ExamRouting, WriteError> {
        let actor = Actor::system("exam routing");
        let existing = self
            .db
            .fetch_optional(
                Q::new("SELECT id FROM treatment_plans WHERE visit_id = $1 AND org_id = $2")
                    .bind(visit)
                    .bind(scope.org()),
            )
            .await?;
        let key = format!("visit:{visit}:route");
        let task_exists = self
            .db
            .fetch_optional(
                Q::new("SELECT id FROM staff_tasks WHERE org_id = $1 AND source_key = $2")
                    .bind(scope.org())
                    .bind(key.as_str()),
            )
            .await?;
        if let (Some(p), Some(t)) = (&existing, &task_exists) {
            return Ok(ExamRouting {
                plan: Some(self.plan_unaudited(scope, p.uuid("id")?).await?),
                task: self.task(scope, t.uuid("id")?).await?,
                created: false,
            });
        }
        let chart = self.chart_unaudited(scope, patient).await?;
        // The plan is asked for in the clinic's numbering, as a person would.
        let numbering = self.clinical_settings(scope).await?.numbering;
        let items: Vec<NewItem> = chart
            .entries
            .iter()
            .filter(|e| {
                !e.is_void()
                    && e.kind == EntryKind::Procedure
                    && e.status == domain::clinical::chart::ChartStatus::Planned
            })
            .map(|e| {
                let (tooth, surfaces, area) = match e.site {
                    Site::Mouth => (None, None, None),
                    Site::Tooth(t, s) => (
                        Some(t.show(numbering)),
                        Some(s.show_on(t)).filter(|s| !s.is_empty()),
                        None,
                    ),
                    Site::Area(a) => (None, None, Some(a.code())),
                };
                NewItem {
                    code: e.code.clone(),
                    tooth,
                    area,
                    surfaces,
                    priority: Some(if urgent { "urgent" } else { "routine" }.into()),
                    phase: Some(1),
                    diagnosis: None,
                }
            })
            .collect();
        if items.is_empty() && existing.is_none() {
            return Ok(ExamRouting {
                plan: None,
                task: None,
                created: false,
            });
        }
        let plan = match existing {
            Some(p) => self.plan_unaudited(scope, p.uuid("id")?).await?,
            None => {
                self.create_plan_in(
                    scope,
                    &actor,
                    patient,
                    &NewPlan {
                        name: Some("Plan from the exam".into()),
                        items,
                        alternative_of: None,
                    },
                    Some(visit),
                )
                .await?
            }
        };
        let routing = plan.routing.clone();
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE treatment_plans SET route = $1 WHERE id = $2")
                .bind(routing.route.code())
                .bind(plan.id),
        )
        .await?;
        let title = match routing.route {
            Route::Coordinator => format!(
                "Present {} to the patient ({})",
                plan.reference(),
                routing.reason
            ),
            Route::UrgentScheduling => format!("Book urgent treatment: {}", plan.reference()),
            Route::Checkout => format!("Check out and book {}", plan.reference()),
        };
        let task = tx
            .insert_task(
                self,
                scope,
                &actor,
                &NewTask {
                    patient_id: Some(patient),
                    plan_id: Some(plan.id),
                    kind: format!("route.{}", routing.route.code()),
                    title,
                    assignee_role: Some(routing.assignee_role.to_string()),
                    urgency: routing.urgency,
                    // Urgent work today (two hours); a checkout before the day is out; a
                    // presentation within two days.
                    due_at: Timestamp::from_microsecond(
                        self.now().as_microsecond()
                            + match routing.route {
                                Route::UrgentScheduling => 2 * 60 * MINUTE,
                                Route::Checkout => 8 * 60 * MINUTE,
                                Route::Coordinator => 2 * DAY,
                            },
                    )
                    .ok(),
                    source_key: Some(key),
                    ..NewTask::default()
                },
            )
            .await?;
        match tx.commit().await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
        let plan = self.plan_unaudited(scope, plan.id).await?;
        let task = match task {
            Some(t) => self.task(scope, t).await?,
            None => None,
        };
        Ok(ExamRouting {
            plan: Some(plan),
            created: task.is_some(),
            task,
        })
    }

    /// Files a plan's printed document in the patient's documents (category
    /// `treatment_plan`), once: the plan keeps the document, and a plan that has one files
    /// nothing (`None`), so a replayed routing job does not file it twice.
    pub async fn file_plan_document(
        &self,
        objects: &ObjectStorage,
        scope: &Scope,
        actor: &Actor,
        plan: uuid::Uuid,
        title: String,
        pdf: Vec<u8>,
    ) -> Result<Option<Document>, UploadError> {
        let r = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT patient_id, number, document_id FROM treatment_plans WHERE id = $1 AND org_id = $2",
                )
                .bind(plan)
                .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| UploadError::Refused(DomainError::not_found("plan")))?;
        if r.opt_uuid("document_id")?.is_some() {
            return Ok(None);
        }
        let patient = PatientId::from_uuid(r.uuid("patient_id")?);
        let size = pdf.len();
        let doc = self
            .add_document(
                objects,
                &BuiltinScanner,
                scope,
                actor,
                patient,
                Upload {
                    category: "treatment_plan".into(),
                    title,
                    file_name: format!("TP-{:06}.pdf", r.i64("number")?),
                    data: bytes::Bytes::from(pdf),
                    replaces: None,
                },
                size.max(1),
            )
            .await?;
        self.db
            .execute(
                Q::new(
                    "UPDATE treatment_plans SET document_id = $1 WHERE id = $2 AND document_id IS NULL",
                )
                .bind(doc.id)
                .bind(plan),
            )
            .await?;
        Ok(Some(doc))
    }

    /// The language a patient reads (for what is printed for them), `en` when unknown.
    pub async fn patient_language(&self, scope: &Scope, patient: PatientId) -> DbResult<String> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT language FROM patients WHERE id = $1 AND org_id = $2")
                    .bind(patient)
                    .bind(scope.org()),
            )
            .await?;
        Ok(match r {
            Some(r) => r.string("language")?,
            None => "en".into(),
        })
    }

    /// Creates a task by hand.
    pub async fn create_task(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: &NewTask,
    ) -> Result<Task, WriteError> {
        let title = new.title.trim();
        if title.is_empty() || title.chars().count() > 300 {
            return Err(invalid("title", "a title of 1 to 300 characters"));
        }
        if new.assignee_role.is_none() && new.assignee_id.is_none() {
            return Err(invalid("assignee", "give the task to someone or to a role"));
        }
        if let Some(p) = new.patient_id {
            self.patient_row(scope, p).await?;
        }
        let mut tx = self.begin().await?;
        let id = tx
            .insert_task(
                self,
                scope,
                actor,
                &NewTask {
                    title: title.to_string(),
                    kind: if new.kind.is_empty() {
                        "manual".into()
                    } else {
                        new.kind.clone()
                    },
                    ..new.clone()
                },
            )
            .await?;
        tx.commit().await?;
        match id {
            Some(id) => self
                .task(scope, id)
                .await?
                .ok_or_else(|| WriteError::Invalid(DomainError::not_found("task"))),
            None => Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "this task exists already",
            ))),
        }
    }

    async fn task(&self, scope: &Scope, id: uuid::Uuid) -> DbResult<Option<Task>> {
        let r = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT t.*, p.given_name, p.family_name FROM staff_tasks t \
                     LEFT JOIN patients p ON p.id = t.patient_id WHERE t.id = $1 AND t.org_id = $2",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?;
        r.as_ref().map(task_from).transpose()
    }

    /// A user's inbox: open tasks given to them or to one of their roles, most urgent and
    /// oldest first (`include_done`: the last 50 done ones after them). Tasks about patients of
    /// locations the scope does not reach are not shown. With an actor, the patients listed are
    /// audited (the names are on the page); the badge asks [`Store::inbox_counts`] instead.
    pub async fn inbox(
        &self,
        scope: &Scope,
        actor: Option<&Actor>,
        user: UserId,
        roles: &[String],
        include_done: bool,
    ) -> DbResult<Vec<Task>> {
        let mut out = self.inbox_rows(scope, user, roles, "open", 1000).await?;
        out.sort_by_key(|t| {
            (
                std::cmp::Reverse(t.urgency),
                t.due_at.unwrap_or(t.created_at),
            )
        });
        if include_done {
            out.extend(self.inbox_rows(scope, user, roles, "done", 50).await?);
        }
        if let Some(actor) = actor {
            let mut ids: Vec<PatientId> = out.iter().filter_map(|t| t.patient_id).collect();
            ids.sort_unstable_by_key(|p| p.as_uuid());
            ids.dedup();
            self.audit_listed_ids(
                scope,
                actor,
                "task.list_read",
                &ids,
                json!({ "tasks": out.len() }),
            )
            .await?;
        }
        Ok(out)
    }

    /// The open tasks of a user's inbox and how many are urgent (no names: the live badge).
    pub async fn inbox_counts(
        &self,
        scope: &Scope,
        user: UserId,
        roles: &[String],
    ) -> DbResult<(usize, usize)> {
        let open = self.inbox_rows(scope, user, roles, "open", 1000).await?;
        let urgent = open
            .iter()
            .filter(|t| t.urgency == Priority::Urgent)
            .count();
        Ok((open.len(), urgent))
    }

    async fn inbox_rows(
        &self,
        scope: &Scope,
        user: UserId,
        roles: &[String],
        status: &str,
        limit: i64,
    ) -> DbResult<Vec<Task>> {
        // Placeholders for the roles (the text is ours; the codes are bound).
        let in_roles = if roles.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..roles.len()).map(|i| format!("${}", i + 5)).collect();
            format!(" OR t.assignee_role IN ({})", marks.join(", "))
        };
        let order = if status == "open" {
            "t.created_at"
        } else {
            "t.done_at DESC"
        };
        let mut q = Q::generated(format!(
            "SELECT t.*, p.given_name, p.family_name, p.location_id FROM staff_tasks t \
             LEFT JOIN patients p ON p.id = t.patient_id \
             WHERE t.org_id = $1 AND t.status = $2 AND (t.assignee_id = $3{in_roles}) \
             ORDER BY {order} LIMIT $4"
        ))
        .bind(scope.org())
        .bind(status)
        .bind(user)
        .bind(limit);
        for r in roles {
            q = q.bind(r.as_str());
        }
        let rows = self.db.fetch_all(q).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(loc) = r.opt_uuid("location_id")?
                && !scope.allows_location(LocationId::from_uuid(loc))
            {
                continue;
            }
            out.push(task_from(r)?);
        }
        Ok(out)
    }

    /// Marks a task done (or open again).
    pub async fn set_task_done(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        done: bool,
    ) -> Result<Task, WriteError> {
        let n = self
            .db
            .execute(
                Q::new(
                    "UPDATE staff_tasks SET status = $1, done_at = $2, done_by_name = $3 WHERE id = $4 AND org_id = $5",
                )
                .bind(if done { "done" } else { "open" })
                .bind(if done { Some(self.now()) } else { None })
                .bind(if done { Some(actor.name.as_str()) } else { None })
                .bind(id)
                .bind(scope.org()),
            )
            .await?;
        if n == 0 {
            return Err(WriteError::Invalid(DomainError::not_found("task")));
        }
        let t = self
            .task(scope, id)
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("task")))?;
        let mut tx = self.begin().await?;
        tx.publish(
            self,
            Some(scope.org()),
            "task.changed",
            json!({ "id": id, "assignee_role": t.assignee_role, "assignee_id": t.assignee_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }
}

/// Where a visit found no slot.
#[derive(Clone, Copy)]
struct NoSlot {
    location: LocationId,
    patient: PatientId,
    visit: usize,
    minutes: u16,
    earliest: Date,
    end: Date,
}

fn visit_error(k: usize, e: WriteError) -> WriteError {
    match e {
        WriteError::Invalid(d) => {
            let message = format!("visit {}: {}", k + 1, d.message);
            let mut out = DomainError::new(d.code, message);
            for f in d.fields {
                out = out.with_field(&f.field, f.message);
            }
            WriteError::Invalid(out)
        }
        other => other,
    }
}

/// Drawn strokes only: SVG path commands and numbers, at least one line.
fn is_signature(s: &str) -> bool {
    s.len() <= 100_000
        && s.contains('L')
        && s.chars()
            .all(|c| matches!(c, 'M' | 'L' | ' ' | ',' | '.' | '-') || c.is_ascii_digit())
}

fn task_from(r: &Row) -> DbResult<Task> {
    let urgency = r.string("urgency")?;
    let name = match (r.opt_string("given_name")?, r.opt_string("family_name")?) {
        (Some(g), Some(f)) => Some(format!("{f}, {g}")),
        _ => None,
    };
    Ok(Task {
        id: r.uuid("id")?,
        patient_id: r.opt_uuid("patient_id")?.map(PatientId::from_uuid),
        patient_name: name,
        plan_id: r.opt_uuid("plan_id")?,
        kind: r.string("kind")?,
        title: r.string("title")?,
        assignee_role: r.opt_string("assignee_role")?,
        assignee_id: r.opt_uuid("assignee_id")?.map(UserId::from_uuid),
        urgency: Priority::from_code(&urgency).ok_or_else(|| corrupt(&urgency))?,
        due_at: r.opt_ts("due_at")?,
        open: r.string("status")? == "open",
        created_by_name: r.string("created_by_name")?,
        created_at: r.ts("created_at")?,
        done_at: r.opt_ts("done_at")?,
        done_by_name: r.opt_string("done_by_name")?,
    })
}

impl crate::Txn {
    async fn insert_plan_item(
        &mut self,
        scope: &Scope,
        plan: uuid::Uuid,
        r: &PlanItem,
        cipher: &crate::crypto::FieldCipher,
    ) -> DbResult<()> {
        self.execute(
                Q::new(
                    "INSERT INTO treatment_plan_items (id, org_id, plan_id, seq, code, name, category, tooth, area, \
                     surfaces, phase, priority, diagnosis_enc, fee_minor, minutes, dentist_only, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'planned')",
                )
                .bind(r.id)
                .bind(scope.org())
                .bind(plan)
                .bind(r.seq)
                .bind(r.code.as_str())
                .bind(r.name.as_str())
                .bind(r.category.as_str())
                .bind(r.tooth.map(i64::from))
                .bind(r.area.clone())
                .bind(r.surfaces.as_str())
                .bind(i64::from(r.phase))
                .bind(r.priority.code())
                .bind(r.diagnosis.as_deref().map(|d| cipher.encrypt(DIAGNOSIS_FIELD, d)))
                .bind(r.fee_minor)
                .bind(i64::from(r.minutes))
                .bind(r.dentist_only),
            )
            .await?;
        Ok(())
    }
    /// Inserts a task unless one with its source key exists (then `None`); publishes
    /// `task.created` for the live badges.
    pub(crate) async fn insert_task(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        t: &NewTask,
    ) -> DbResult<Option<uuid::Uuid>> {
        if let Some(k) = &t.source_key
            && self
                .fetch_optional(
                    Q::new("SELECT id FROM staff_tasks WHERE org_id = $1 AND source_key = $2")
                        .bind(scope.org())
                        .bind(k.as_str()),
                )
                .await?
                .is_some()
        {
            return Ok(None);
        }
        let id = store.new_uuid();
        self.execute(
            Q::new(
                "INSERT INTO staff_tasks (id, org_id, patient_id, plan_id, kind, title, assignee_role, assignee_id, \
                 urgency, due_at, status, source_key, created_by_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $13)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(t.patient_id)
            .bind(t.plan_id)
            .bind(t.kind.as_str())
            .bind(t.title.as_str())
            .bind(t.assignee_role.clone())
            .bind(t.assignee_id)
            .bind(t.urgency.code())
            .bind(t.due_at)
            .bind(t.source_key.clone())
            .bind(actor.name.as_str())
            .bind(store.now()),
        )
        .await?;
        self.publish(
            store,
            Some(scope.org()),
            "task.created",
            json!({
                "id": id,
                "kind": t.kind,
                "assignee_role": t.assignee_role,
                "assignee_id": t.assignee_id,
                "urgency": t.urgency.code(),
                "title": t.title,
            }),
        )
        .await?;
        Ok(Some(id))
    }
}

/// Whose open tasks [`Txn::close_tasks`] closes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TaskOf {
    Plan(uuid::Uuid),
    Patient(PatientId),
}

impl Txn {
    /// Marks done the open tasks of a kind of a plan or a patient (the work they asked for
    /// happened); how many.
    pub(crate) async fn close_tasks(
        &mut self,
        now: Timestamp,
        by: &str,
        of: TaskOf,
        kind: &str,
    ) -> DbResult<u64> {
        let (col, id) = match of {
            TaskOf::Plan(p) => ("plan_id", p),
            TaskOf::Patient(p) => ("patient_id", p.as_uuid()),
        };
        self.execute(
            Q::generated(format!(
                "UPDATE staff_tasks SET status = 'done', done_at = $1, done_by_name = $2 \
                 WHERE {col} = $3 AND kind = $4 AND status = 'open'"
            ))
            .bind(now)
            .bind(by)
            .bind(id)
            .bind(kind),
        )
        .await
    }
}

impl Store {
    /// The patient checked out: their open "check out" tasks are done; audited. How many.
    pub async fn finish_checkout(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<u64, WriteError> {
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let closed = tx
            .close_tasks(
                self.now(),
                &actor.name,
                TaskOf::Patient(patient),
                "route.checkout",
            )
            .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "checkout.finished",
                Some(patient),
                "patients",
                json!({ "tasks_closed": closed }),
            ),
        )
        .await?;
        if closed > 0 {
            tx.publish(
                self,
                Some(scope.org()),
                "task.changed",
                json!({ "patient_id": patient, "closed": closed }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(closed)
    }
}
