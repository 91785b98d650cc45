//! Treatment plans and the work after an exam. `/patients/{id}/plans`: a patient's plans and
//! the form that starts one (from the work planned on the chart, or the catalog).
//! `/treatment-plans/{id}`: the builder (procedures added and removed, reordered by dragging),
//! the analysis and routing, the decisions, and the visit series proposed and booked.
//! `/treatment-plans/{id}/present`: the patient-facing view with the odontogram, the costs and
//! the signature box. `/treatment-plans/{id}/pdf`. `/coordinator`: the treatment
//! coordinator's queue, follow-ups and acceptance rate. `/treatment-plans/pending`: accepted
//! work not booked. `/tasks`: the inbox. And the JSON API.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use documents::pdf::{Info, pdf_date};
use documents::{Align, Block, Column, Document};
use domain::clinical::chart::{ChartStatus, Mark, Site, odontogram};
use domain::clinical::teeth::{Dentition, Numbering, Tooth};
use domain::identity::Permission;
use domain::plans::planner::Part;
use domain::plans::{PlanStatus, Priority};
use domain::{Currency, Money, PatientId, Scope, UserId};
use jiff::civil::{Date, Time, Weekday};
use serde::Deserialize;
use serde_json::{Value, json};
use store::plans::{
    Decision, NewItem, NewPlan, NewTask, PlanItem, Proposal, SeriesPreferences, SlotChoice, Task,
    TreatmentPlan,
};
use store::scheduling::appointments::Permits;

use super::svg;
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html_status;
use crate::patients::{Choice, FieldErrors, actor, parse_patient_id, show_time};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

fn parse_plan(s: &str) -> Result<uuid::Uuid, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// The organization's currency: its first clinic's (fees are kept in one currency).
pub(crate) async fn currency(state: &AppState, scope: &Scope) -> Result<Currency, AppError> {
    currency_of(&state.store, scope).await
}

async fn currency_of(store: &store::Store, scope: &Scope) -> Result<Currency, AppError> {
    Ok(store
        .locations(scope)
        .await?
        .first()
        .map(|l| l.currency)
        .unwrap_or(Currency::USD))
}

fn money(minor: i64, cur: Currency) -> String {
    Money::from_minor(minor, cur).to_string()
}

fn site_of(i: &PlanItem, numbering: Numbering) -> String {
    match (i.tooth.and_then(Tooth::from_fdi), &i.area) {
        (Some(t), _) => {
            let s = if i.surfaces.is_empty() {
                String::new()
            } else {
                format!(" {}", i.surfaces)
            };
            format!("{}{s}", t.show(numbering))
        }
        (None, Some(a)) => a.clone(),
        _ => String::new(),
    }
}

// ---------- JSON ----------

fn item_json(i: &PlanItem) -> Value {
    json!({
        "id": i.id,
        "code": i.code,
        "name": i.name,
        "category": i.category,
        "tooth": i.tooth.map(|t| t.to_string()),
        "area": i.area,
        "surfaces": if i.surfaces.is_empty() { None } else { Some(&i.surfaces) },
        "phase": i.phase,
        "priority": i.priority.code(),
        "diagnosis": i.diagnosis,
        "fee_minor": i.fee_minor,
        "minutes": i.minutes,
        "status": i.status.code(),
        "appointment_id": i.appointment_id,
        "seat_appointment_id": i.seat_appointment_id,
    })
}

fn plan_json(p: &TreatmentPlan) -> Value {
    let a = &p.analysis;
    json!({
        "id": p.id,
        "reference": p.reference(),
        "patient_id": p.patient_id,
        "name": p.name,
        "status": p.status.code(),
        "alternative_of": p.alternative_of,
        "visit_id": p.visit_id,
        "procedures": p.items.iter().map(item_json).collect::<Vec<_>>(),
        "total_value": a.total_value_minor,
        "complexity_score": a.complexity_score,
        "urgency": a.urgency.code(),
        "analysis": a,
        "routing": {
            "route": p.routing.route.code(),
            "assignee_role": p.routing.assignee_role,
            "urgency": p.routing.urgency.code(),
            "reason": p.routing.reason,
        },
        "routed": p.route.map(|r| r.code()),
        "decision": {
            "reason": p.decision.reason,
            "signed_by": p.decision.signed_by,
            "signed": p.decision.signature.is_some(),
        },
        "presented_at": p.presented_at.map(|t| t.to_string()),
        "decided_at": p.decided_at.map(|t| t.to_string()),
        "created_at": p.created_at.to_string(),
        "version": p.version,
    })
}

fn proposal_json(p: &Proposal) -> Value {
    json!({
        "plan_id": p.plan_id,
        "location_id": p.location_id,
        "visits": p.visits.iter().map(|v| json!({
            "procedures": v.steps.iter().map(|(i, part)| json!({
                "id": i.id,
                "code": i.code,
                "tooth": i.tooth.map(|t| t.to_string()),
                "area": i.area,
                "surfaces": if i.surfaces.is_empty() { None } else { Some(&i.surfaces) },
                "part": part.code(),
            })).collect::<Vec<_>>(),
            "duration_minutes": v.duration_minutes,
            "provider_kind": if v.dentist { "dentist" } else { "hygienist" },
            "slot": {
                "start": v.slot.start.to_string(),
                "end": v.end.to_string(),
                "operatory_id": v.slot.operatory_id,
                "provider_id": v.slot.provider_id,
            },
        })).collect::<Vec<_>>(),
        "constraints": p.constraints.iter().map(|c| json!({
            "before": { "index": c.from.0, "part": c.from.1.code() },
            "after": { "index": c.to.0, "part": c.to.1.code() },
            "min_days": c.min_days,
            "why": c.why,
        })).collect::<Vec<_>>(),
    })
}

fn task_json(t: &Task) -> Value {
    json!({
        "id": t.id,
        "kind": t.kind,
        "title": t.title,
        "patient_id": t.patient_id,
        "plan_id": t.plan_id,
        "assignee_role": t.assignee_role,
        "assignee_id": t.assignee_id,
        "urgency": t.urgency.code(),
        "due_at": t.due_at.map(|d| d.to_string()),
        "status": if t.open { "open" } else { "done" },
        "created_at": t.created_at.to_string(),
    })
}

#[derive(Deserialize)]
pub struct PlanBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    procedures: Vec<NewItem>,
    #[serde(default)]
    alternative_of: Option<uuid::Uuid>,
}

/// `POST /api/v1/patients/{id}/treatment-plans` → 201 with the plan, its analysis and the
/// routing it would get. The API's teeth are FDI.
pub async fn api_create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(b): Json<PlanBody>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let procedures = b
        .procedures
        .into_iter()
        .map(|mut i| {
            // FDI in, the clinic's numbering for the check.
            if let Some(t) = i
                .tooth
                .as_deref()
                .and_then(|t| Tooth::parse(t, Numbering::Fdi))
            {
                i.tooth = Some(t.show(numbering));
            }
            i
        })
        .collect();
    let plan = state
        .store
        .create_plan(
            &scope,
            &actor(&auth, &ctx, &ip),
            id,
            &NewPlan {
                name: b.name,
                items: procedures,
                alternative_of: b.alternative_of,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(plan_json(&plan))).into_response())
}

/// `GET /api/v1/treatment-plans/{id}`
pub async fn api_get(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let plan = state
        .store
        .plan(&auth.scope(), &actor(&auth, &ctx, &ip), parse_plan(&id)?)
        .await?;
    Ok(Json(plan_json(&plan)).into_response())
}

/// The front desk's wishes, as the API and the form give them.
#[derive(Deserialize, Default, Clone)]
pub struct PrefsBody {
    #[serde(default)]
    location_id: Option<String>,
    #[serde(default)]
    provider_id: Option<String>,
    #[serde(default)]
    hygienist_id: Option<String>,
    /// `mon` … `sun`.
    #[serde(default)]
    days: Vec<String>,
    /// `HH:MM`.
    #[serde(default)]
    earliest: Option<String>,
    #[serde(default)]
    latest: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    horizon_days: Option<i64>,
    /// For `accept`: the slots shown, one per visit.
    #[serde(default)]
    slots: Option<Vec<SlotChoice>>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn field_err(field: &str, m: &str) -> AppError {
    AppError::Domain(domain::DomainError::field(field, m))
}

impl PrefsBody {
    fn parse(&self) -> Result<SeriesPreferences, AppError> {
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let id = |s: &Option<String>, f: &str| -> Result<Option<String>, AppError> {
            Ok(blank(s)).and_then(|v| match v {
                Some(v) if uuid::Uuid::parse_str(&v).is_err() => Err(field_err(f, "not an id")),
                other => Ok(other),
            })
        };
        let time = |s: &Option<String>, f: &str| -> Result<Option<Time>, AppError> {
            match blank(s) {
                None => Ok(None),
                Some(v) => v
                    .parse::<Time>()
                    .map(Some)
                    .map_err(|_| field_err(f, "a time as HH:MM")),
            }
        };
        let mut days = Vec::new();
        for d in &self.days {
            days.push(
                weekday(d)
                    .ok_or_else(|| field_err("days", "mon, tue, wed, thu, fri, sat or sun"))?,
            );
        }
        let window = match (
            time(&self.earliest, "earliest")?,
            time(&self.latest, "latest")?,
        ) {
            (None, None) => None,
            (a, b) => {
                let a = a.unwrap_or(Time::midnight());
                let b = b.unwrap_or(Time::MAX);
                if b <= a {
                    return Err(field_err("latest", "must be after the earliest time"));
                }
                Some((a, b))
            }
        };
        let from = match blank(&self.from) {
            None => None,
            Some(v) => Some(
                v.parse::<Date>()
                    .map_err(|_| field_err("from", "a date as YYYY-MM-DD"))?,
            ),
        };
        if self.horizon_days.is_some_and(|h| !(1..=400).contains(&h)) {
            return Err(field_err("horizon_days", "between 1 and 400 days"));
        }
        Ok(SeriesPreferences {
            location_id: id(&self.location_id, "location_id")?.and_then(|v| v.parse().ok()),
            provider_id: id(&self.provider_id, "provider_id")?
                .and_then(|v| v.parse::<UserId>().ok()),
            hygienist_id: id(&self.hygienist_id, "hygienist_id")?
                .and_then(|v| v.parse::<UserId>().ok()),
            days,
            window,
            from,
            horizon_days: self.horizon_days,
        })
    }
}

fn permits(auth: &Auth) -> Permits {
    Permits {
        may_override: auth.can(Permission::ScheduleOverride),
    }
}

/// `POST /api/v1/treatment-plans/{id}/visit-series` → 200 with the proposed visits in order;
/// nothing is booked.
pub async fn api_series(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Option<Json<PrefsBody>>,
) -> Result<Response, AppError> {
    let prefs = body.map(|Json(b)| b).unwrap_or_default().parse()?;
    let p = state
        .store
        .propose_series(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            parse_plan(&id)?,
            &prefs,
        )
        .await?;
    Ok(Json(proposal_json(&p)).into_response())
}

/// `POST /api/v1/treatment-plans/{id}/visit-series/accept` → 201 with the visits and their
/// appointments: every visit booked, or none.
pub async fn api_accept(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Option<Json<PrefsBody>>,
) -> Result<Response, AppError> {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let prefs = b.parse()?;
    let (p, appts) = state
        .store
        .accept_series(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            permits(&auth),
            parse_plan(&id)?,
            &prefs,
            b.slots.as_deref(),
        )
        .await?;
    let mut v = proposal_json(&p);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "appointment_ids".into(),
            json!(appts.iter().map(|a| a.id).collect::<Vec<_>>()),
        );
    }
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn role_codes(auth: &Auth) -> Vec<String> {
    auth.user
        .roles
        .iter()
        .map(|r| r.code().to_string())
        .collect()
}

/// `GET /api/v1/tasks/count`: how many open tasks the signed-in user has, and how many are
/// urgent (the live badge: no names, so nothing to audit).
pub async fn api_task_count(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Response, AppError> {
    let (open, urgent) = state
        .store
        .inbox_counts(&auth.scope(), auth.user.id, &role_codes(&auth))
        .await?;
    Ok(Json(json!({ "open": open, "urgent": urgent })).into_response())
}

/// `GET /api/v1/tasks`: the signed-in user's open tasks (the patients listed are audited).
pub async fn api_tasks(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
) -> Result<Response, AppError> {
    let tasks = state
        .store
        .inbox(
            &auth.scope(),
            Some(&actor(&auth, &ctx, &ip)),
            auth.user.id,
            &role_codes(&auth),
            false,
        )
        .await?;
    Ok(Json(json!({
        "open": tasks.len(),
        "urgent": tasks.iter().filter(|t| t.urgency == Priority::Urgent).count(),
        "items": tasks.iter().map(task_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

// ---------- pages ----------

pub struct PlanRow {
    pub id: String,
    pub reference: String,
    pub name: String,
    pub patient_id: String,
    pub patient: String,
    pub status: String,
    pub status_code: &'static str,
    pub total: String,
    pub complexity: u32,
    pub urgency: String,
    pub urgency_code: &'static str,
    pub route: String,
    pub created: String,
    pub procedures: usize,
    pub unscheduled: String,
}

fn plan_row(lang: Lang, p: &TreatmentPlan, patient: String, cur: Currency) -> PlanRow {
    PlanRow {
        id: p.id.to_string(),
        reference: p.reference(),
        name: p.name.clone(),
        patient_id: p.patient_id.to_string(),
        patient,
        status: lang.t(&format!("plan-status-{}", p.status.code())),
        status_code: p.status.code(),
        total: money(p.analysis.total_value_minor, cur),
        complexity: p.analysis.complexity_score,
        urgency: lang.t(&format!("plan-priority-{}", p.analysis.urgency.code())),
        urgency_code: p.analysis.urgency.code(),
        route: lang.t(&format!("plan-route-{}", p.routing.route.code())),
        created: show_time(lang, p.created_at),
        procedures: p.items.len(),
        unscheduled: money(p.unscheduled_value(), cur),
    }
}

#[derive(Template)]
#[template(path = "patient_plans.html")]
struct PatientPlansPage {
    shell: Shell,
    patient_id: String,
    patient_name: String,
    rows: Vec<PlanRow>,
    /// Work planned on the chart: (value, label), offered to the new plan.
    planned: Vec<Choice>,
    codes: Vec<Choice>,
    templates: Vec<Choice>,
    can_write: bool,
    fe: FieldErrors,
    name: String,
}

#[allow(clippy::too_many_arguments)]
async fn patient_plans_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    patient: PatientId,
    fe: FieldErrors,
    name: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let cur = currency(state, &scope).await?;
    let summary = state.store.patient_summary(&scope, patient).await?;
    let listed = state
        .store
        .plans(&scope, &who, Some(patient), &[], 200)
        .await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let chart = state.store.chart(&scope, &who, patient).await?;
    let planned = chart
        .entries
        .iter()
        .filter(|e| !e.is_void() && e.status == ChartStatus::Planned)
        .map(|e| {
            let (site, surfaces) = super::show_site(e.site, numbering);
            Choice {
                value: e.id.to_string(),
                label: [e.code.clone(), e.name.clone(), site, surfaces]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" · "),
                selected: true,
            }
        })
        .collect();
    html_status(
        &PatientPlansPage {
            shell: Shell::build(state, ctx).await,
            patient_id: patient.to_string(),
            patient_name: summary.display_name(),
            rows: listed
                .iter()
                .map(|l| plan_row(lang, &l.plan, l.patient.display_name(), cur))
                .collect(),
            planned,
            codes: code_choices(state, &scope).await?,
            templates: state
                .store
                .plan_settings(&scope)
                .await?
                .0
                .templates
                .iter()
                .enumerate()
                .map(|(n, t)| Choice {
                    value: n.to_string(),
                    label: if t.needs_tooth() {
                        format!("{} (*)", t.name)
                    } else {
                        t.name.clone()
                    },
                    selected: false,
                })
                .collect(),
            can_write: auth.can(Permission::TreatmentWrite),
            fe,
            name,
        },
        status,
    )
}

async fn code_choices(state: &AppState, scope: &Scope) -> Result<Vec<Choice>, AppError> {
    Ok(state
        .store
        .procedure_codes(scope)
        .await?
        .into_iter()
        .filter(|c| c.active && c.entry.kind == domain::clinical::catalog::EntryKind::Procedure)
        .map(|c| Choice {
            label: format!("{} · {}", c.entry.code, c.entry.name),
            value: c.entry.code,
            selected: false,
        })
        .collect())
}

/// `GET /patients/{id}/plans`
pub async fn patient_plans(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    patient_plans_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        FieldErrors::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /patients/{id}/plans` with `name`, the chart entries to take (`entry`, repeated) and
/// optionally one catalog procedure (`code`, `tooth`, `area`, `surfaces`): a new plan.
pub async fn create_plan(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let patient = parse_patient_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let mut name = String::new();
    let mut entries: Vec<String> = Vec::new();
    let mut extra = NewItem::default();
    let mut template: Option<usize> = None;
    let mut template_tooth = String::new();
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "template" => template = v.parse().ok(),
            "template_tooth" => template_tooth = v,
            "name" => name = v,
            "entry" => entries.push(v),
            "code" => extra.code = v,
            "tooth" => extra.tooth = Some(v),
            "area" => extra.area = Some(v),
            "surfaces" => extra.surfaces = Some(v),
            "priority" => extra.priority = Some(v),
            _ => {}
        }
    }
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let chart = state.store.chart(&scope, &who, patient).await?;
    let mut items: Vec<NewItem> = chart
        .entries
        .iter()
        .filter(|e| entries.contains(&e.id.to_string()) && e.status == ChartStatus::Planned)
        .map(|e| chart_item(e.site, &e.code, numbering))
        .collect();
    if !extra.code.trim().is_empty() {
        items.push(extra);
    }
    if let Some(n) = template {
        let (rules, _) = state.store.plan_settings(&scope).await?;
        let t = rules.templates.get(n).ok_or(AppError::NotFound)?;
        if name.trim().is_empty() {
            name = t.name.clone();
        }
        let tooth = Some(template_tooth.trim().to_string()).filter(|t| !t.is_empty());
        items.extend(t.items.iter().map(|i| NewItem {
            code: i.code.clone(),
            tooth: if i.on_tooth {
                tooth.clone().or(Some(String::new()))
            } else {
                None
            },
            area: i.area.clone(),
            phase: Some(i.phase),
            ..NewItem::default()
        }));
    }
    match state
        .store
        .create_plan(
            &scope,
            &who,
            patient,
            &NewPlan {
                name: Some(name.clone()),
                items,
                alternative_of: None,
            },
        )
        .await
    {
        Ok(p) => Ok(Redirect::to(&format!("/treatment-plans/{}", p.id)).into_response()),
        Err(store::tenancy::WriteError::Invalid(d)) if !d.fields.is_empty() => {
            patient_plans_page(
                &state,
                &ctx,
                &auth,
                &ip,
                patient,
                FieldErrors::of(&d.fields),
                name,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn chart_item(site: Site, code: &str, numbering: Numbering) -> NewItem {
    let (tooth, surfaces, area) = match site {
        Site::Mouth => (None, None, None),
        Site::Tooth(t, s) => (
            Some(t.show(numbering)),
            Some(s.show_on(t)).filter(|s| !s.is_empty()),
            None,
        ),
        Site::Area(a) => (None, None, Some(a.code())),
    };
    NewItem {
        code: code.to_string(),
        tooth,
        area,
        surfaces,
        ..NewItem::default()
    }
}

pub struct ItemRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub site: String,
    pub phase: u8,
    pub priority: String,
    pub priority_code: &'static str,
    pub diagnosis: String,
    pub fee: String,
    pub minutes: u16,
    pub status: String,
    pub status_code: &'static str,
    pub removable: bool,
}

/// The rows of a proposed series, as the front desk reads them.
pub(crate) fn visit_rows(
    lang: crate::i18n::Lang,
    tz: &jiff::tz::TimeZone,
    provider_list: &[store::scheduling::AgendaProvider],
    chairs: &[store::scheduling::Operatory],
    numbering: Numbering,
    p: &store::plans::Proposal,
) -> Vec<VisitRow> {
    p.visits
        .iter()
        .enumerate()
        .map(|(k, v)| VisitRow {
            n: k + 1,
            when: format!(
                "{} – {}",
                v.slot
                    .start
                    .to_zoned(tz.clone())
                    .strftime("%a %Y-%m-%d %H:%M"),
                v.end.to_zoned(tz.clone()).strftime("%H:%M")
            ),
            provider: provider_list
                .iter()
                .find(|x| x.id == v.slot.provider_id)
                .map(|x| x.name.clone())
                .unwrap_or_default(),
            chair: chairs
                .iter()
                .find(|c| c.id == v.slot.operatory_id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            minutes: v.duration_minutes,
            work: v
                .steps
                .iter()
                .map(|(i, part)| {
                    let site = site_of(i, numbering);
                    let part = match part {
                        Part::Whole => String::new(),
                        Part::Prep => format!(" ({})", lang.t("plan-part-prep")),
                        Part::Seat => format!(" ({})", lang.t("plan-part-seat")),
                    };
                    format!("{} {site}{part}", i.code).replace("  ", " ")
                })
                .collect::<Vec<_>>()
                .join(", "),
            start: v.slot.start.to_string(),
            operatory_id: v.slot.operatory_id.to_string(),
            provider_id: v.slot.provider_id.to_string(),
        })
        .collect()
}

pub struct VisitRow {
    pub n: usize,
    pub when: String,
    pub provider: String,
    pub chair: String,
    pub minutes: u16,
    pub work: String,
    pub start: String,
    pub operatory_id: String,
    pub provider_id: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    shell: Shell,
    plan_id: String,
    p: PlanRow,
    version: i64,
    alternative_of: String,
    items: Vec<ItemRow>,
    analysis: Vec<(String, String)>,
    routing_reason: String,
    decision: Vec<(String, String)>,
    codes: Vec<Choice>,
    providers: Vec<Choice>,
    hygienists: Vec<Choice>,
    proposal: Vec<VisitRow>,
    proposal_notes: Vec<String>,
    prefs: PrefsBody,
    day_picks: Vec<Choice>,
    odontogram: String,
    timeline: String,
    can_write: bool,
    can_decide: bool,
    can_book: bool,
    fe: FieldErrors,
    error: String,
    notice: String,
}

fn item_rows(
    lang: Lang,
    plan: &TreatmentPlan,
    numbering: Numbering,
    cur: Currency,
) -> Vec<ItemRow> {
    plan.items
        .iter()
        .map(|i| ItemRow {
            id: i.id.to_string(),
            code: i.code.clone(),
            name: i.name.clone(),
            site: site_of(i, numbering),
            phase: i.phase,
            priority: lang.t(&format!("plan-priority-{}", i.priority.code())),
            priority_code: i.priority.code(),
            diagnosis: i.diagnosis.clone().unwrap_or_default(),
            fee: money(i.fee_minor, cur),
            minutes: i.minutes,
            status: lang.t(&format!("plan-item-{}", i.status.code())),
            status_code: i.status.code(),
            removable: matches!(
                i.status,
                domain::plans::ItemStatus::Planned | domain::plans::ItemStatus::Declined
            ),
        })
        .collect()
}

/// The planner's series for the plan's remaining work, as a timeline: one row per visit, placed
/// by its earliest day (counted from the first visit), with its work and length.
fn plan_timeline(
    lang: Lang,
    plan: &TreatmentPlan,
    rules: &domain::plans::planner::RuleSet,
    numbering: Numbering,
) -> String {
    let todo: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| {
            !matches!(
                i.status,
                domain::plans::ItemStatus::Declined | domain::plans::ItemStatus::Completed
            )
        })
        .collect();
    if todo.is_empty() {
        return String::new();
    }
    let procs: Vec<domain::plans::Procedure> = todo.iter().map(|i| i.procedure()).collect();
    let series = match domain::plans::planner::plan(&procs, rules) {
        Ok(s) => s,
        Err(e) => {
            return format!(
                "<p class=\"hint\" id=\"timeline-error\">{}</p>",
                svg::esc(&e.to_string())
            );
        }
    };
    let last = series
        .visits
        .last()
        .map(|v| v.earliest_day)
        .unwrap_or(0)
        .max(1) as f32;
    let (w, left, usable) = (900.0_f32, 70.0_f32, 300.0_f32);
    let h = 34.0 + 30.0 * series.visits.len() as f32;
    let mut out = format!(
        "<svg class=\"plan-timeline\" id=\"plan-timeline\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
        svg::esc(&lang.t("plan-timeline"))
    );
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"18\" x2=\"{}\" y2=\"18\" class=\"tl-axis\"/>",
        left + usable
    ));
    for (d, anchor) in [(0.0, "start"), (last, "end")] {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"12\" text-anchor=\"{anchor}\" class=\"tl-tick\">{} {}</text>",
            left + d / last * usable,
            svg::esc(&lang.t("plan-day")),
            d as u32
        ));
    }
    for (k, v) in series.visits.iter().enumerate() {
        let y = 34.0 + 30.0 * k as f32;
        let x = left + v.earliest_day as f32 / last * usable;
        let work: Vec<String> = v
            .steps
            .iter()
            .map(|st| {
                let i = todo[st.procedure];
                let site = site_of(i, numbering);
                let part = match st.part {
                    Part::Whole => String::new(),
                    Part::Prep => format!(" ({})", lang.t("plan-part-prep")),
                    Part::Seat => format!(" ({})", lang.t("plan-part-seat")),
                };
                format!("{} {site}{part}", i.code).replace("  ", " ")
            })
            .collect();
        out.push_str(&format!(
            "<text x=\"0\" y=\"{}\" class=\"tl-visit\">{} {}</text><line x1=\"{left}\" y1=\"{y}\" x2=\"{x}\" y2=\"{y}\" class=\"tl-wait\"/><rect x=\"{}\" y=\"{}\" width=\"12\" height=\"16\" rx=\"3\" class=\"{}\"/><text x=\"{}\" y=\"{}\" class=\"tl-work\">{} · {} min · {}</text>",
            y + 5.0,
            svg::esc(&lang.t("plan-visit")),
            k + 1,
            x - 6.0,
            y - 8.0,
            if v.dentist { "tl-box tl-dentist" } else { "tl-box tl-hygiene" },
            left + usable + 24.0,
            y + 5.0,
            svg::esc(&format!("{} {}", lang.t("plan-day"), v.earliest_day)),
            v.minutes,
            svg::esc(&work.join(", "))
        ));
    }
    out.push_str("</svg>");
    out
}

/// The plan's work drawn as planned on the odontogram.
fn plan_odontogram(lang: Lang, plan: &TreatmentPlan, numbering: Numbering) -> String {
    let effects: std::collections::HashMap<&str, domain::clinical::catalog::Effect> =
        domain::clinical::catalog::STARTER
            .iter()
            .map(|s| (s.code, s.effect))
            .collect();
    let mut marks = Vec::new();
    for i in &plan.items {
        let Some(t) = i.tooth.and_then(Tooth::from_fdi) else {
            continue;
        };
        let Some(effect) = effects.get(i.code.as_str()).copied() else {
            continue;
        };
        let surfaces =
            domain::clinical::teeth::Surfaces::parse_for(&i.surfaces, t).unwrap_or_default();
        marks.push(Mark {
            site: Site::Tooth(t, surfaces),
            status: ChartStatus::Planned,
            effect,
        });
    }
    let view = odontogram(&marks);
    let describe = |t: Tooth| {
        let work: Vec<String> = plan
            .items
            .iter()
            .filter(|i| i.tooth == Some(t.fdi()))
            .map(|i| i.name.clone())
            .collect();
        format!(
            "{} {} {}",
            lang.t("chart-tooth"),
            t.show(numbering),
            work.join(", ")
        )
    };
    svg::odontogram(&svg::Drawing {
        view: &view,
        numbering,
        dentition: Dentition::Permanent,
        selected: None,
        link_base: "",
        describe: &describe,
    })
}

#[derive(Default)]
struct PageExtras {
    fe: FieldErrors,
    error: String,
    notice: String,
    proposal: Option<Proposal>,
    prefs: PrefsBody,
}

async fn plan_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: uuid::Uuid,
    x: PageExtras,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let plan = state.store.plan(&scope, &who, id).await?;
    let summary = state.store.patient_summary(&scope, plan.patient_id).await?;
    let cur = currency(state, &scope).await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let a = &plan.analysis;
    let analysis = vec![
        (lang.t("plan-total"), money(a.total_value_minor, cur)),
        (
            lang.t("plan-complexity"),
            format!(
                "{} ({} {} · {} {} · {} {} · {} {})",
                a.complexity_score,
                a.procedures,
                lang.t("plan-n-procedures"),
                a.specialties,
                lang.t("plan-n-specialties"),
                a.surgical,
                lang.t("plan-n-surgical"),
                a.lab_work,
                lang.t("plan-n-lab"),
            ),
        ),
        (
            lang.t("plan-urgency"),
            lang.t(&format!("plan-priority-{}", a.urgency.code())),
        ),
        (
            lang.t("plan-value-category"),
            lang.t(&format!("plan-value-{}", a.value_category.code())),
        ),
        (
            lang.t("plan-chair-time"),
            format!("{} min", a.chair_minutes),
        ),
    ];
    let mut decision = Vec::new();
    if let Some(t) = plan.presented_at {
        decision.push((lang.t("plan-presented-at"), show_time(lang, t)));
    }
    if let Some(t) = plan.decided_at {
        decision.push((lang.t("plan-decided-at"), show_time(lang, t)));
    }
    if let Some(s) = &plan.decision.signed_by {
        decision.push((lang.t("plan-signed-by"), s.clone()));
    }
    if let Some(r) = &plan.decision.reason {
        decision.push((lang.t("plan-decline-reason"), r.clone()));
    }
    let provider_list = state
        .store
        .agenda_providers(&scope, summary.location_id)
        .await?;
    let choose = |dentist: bool| -> Vec<Choice> {
        std::iter::once(Choice {
            value: String::new(),
            label: lang.t("plan-anyone"),
            selected: true,
        })
        .chain(
            provider_list
                .iter()
                .filter(|p| p.dentist == dentist)
                .map(|p| Choice {
                    value: p.id.to_string(),
                    label: p.name.clone(),
                    selected: false,
                }),
        )
        .collect()
    };
    let chairs = state
        .store
        .operatories(&scope, summary.location_id, true)
        .await?;
    let tz = state
        .store
        .location(&scope, summary.location_id)
        .await?
        .and_then(|l| l.tz().ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let (proposal, proposal_notes) = match &x.proposal {
        None => (Vec::new(), Vec::new()),
        Some(p) => {
            let rows = visit_rows(lang, &tz, &provider_list, &chairs, numbering, p);
            let mut notes: Vec<String> = p
                .constraints
                .iter()
                .filter(|c| c.min_days > 0)
                .map(|c| format!("{} ({} {})", c.why, c.min_days, lang.t("plan-days")))
                .collect();
            notes.sort();
            notes.dedup();
            (rows, notes)
        }
    };
    html_status(
        &PlanPage {
            shell: Shell::build(state, ctx).await,
            plan_id: plan.id.to_string(),
            p: plan_row(lang, &plan, summary.display_name(), cur),
            version: plan.version,
            alternative_of: plan
                .alternative_of
                .map(|a| a.to_string())
                .unwrap_or_default(),
            items: item_rows(lang, &plan, numbering, cur),
            analysis,
            routing_reason: plan.routing.reason.clone(),
            decision,
            codes: code_choices(state, &scope).await?,
            providers: choose(true),
            hygienists: choose(false),
            proposal,
            proposal_notes,
            day_picks: ["mon", "tue", "wed", "thu", "fri", "sat"]
                .iter()
                .enumerate()
                .map(|(n, d)| Choice {
                    value: d.to_string(),
                    label: lang.t(&format!("weekday-short-{}", n + 1)),
                    selected: x.prefs.days.iter().any(|x| x == d),
                })
                .collect(),
            prefs: x.prefs,
            odontogram: plan_odontogram(lang, &plan, numbering),
            timeline: plan_timeline(
                lang,
                &plan,
                &state.store.plan_settings(&scope).await?.0,
                numbering,
            ),
            can_write: auth.can(Permission::TreatmentWrite) && plan.status.is_open(),
            can_decide: (auth.can(Permission::TreatmentWrite)
                || auth.can(Permission::EstimatesView)),
            can_book: auth.can(Permission::ScheduleWrite) && plan.status.is_open(),
            fe: x.fe,
            error: x.error,
            notice: x.notice,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

/// `GET /treatment-plans/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let notice = match q.notice.as_str() {
        "" => String::new(),
        k => ctx.lang.t(&format!("plan-notice-{k}")),
    };
    plan_page(
        &state,
        &ctx,
        &auth,
        &ip,
        parse_plan(&id)?,
        PageExtras {
            notice,
            ..PageExtras::default()
        },
        StatusCode::OK,
    )
    .await
}

/// `POST /treatment-plans/{id}` with `action`: `add`, `remove`, `reorder`, `present`,
/// `accept`, `decline`, `reopen`, `propose`, `book`.
pub async fn act(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_plan(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    // Another organization's plan (or one of a clinic the user does not work at): not found,
    // whatever was asked.
    state.store.plan_patient(&scope, id).await?;
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(&body).collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let all = |k: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let opt = |k: &str| Some(get(k)).filter(|v| !v.trim().is_empty());
    let base_version = get("base_version").parse::<i64>().ok();
    let prefs = PrefsBody {
        location_id: None,
        provider_id: opt("provider_id"),
        hygienist_id: opt("hygienist_id"),
        days: all("days"),
        earliest: opt("earliest"),
        latest: opt("latest"),
        from: opt("from"),
        horizon_days: get("horizon_days").parse().ok(),
        slots: None,
    };
    let action = get("action");
    let need = |p: bool| {
        if p {
            Ok(())
        } else {
            Err(AppError::Domain(domain::DomainError::new(
                domain::ErrorCode::Forbidden,
                "you may not do this",
            )))
        }
    };
    let decision = Decision {
        reason: opt("reason"),
        signed_by: opt("signed_by"),
        signature: opt("signature"),
    };
    let done = |notice: &str| {
        Ok(Redirect::to(&format!("/treatment-plans/{id}?notice={notice}")).into_response())
    };
    let result: Result<Response, store::tenancy::WriteError> = match action.as_str() {
        "add" => {
            need(auth.can(Permission::TreatmentWrite))?;
            let item = NewItem {
                code: get("code"),
                tooth: opt("tooth"),
                area: opt("area"),
                surfaces: opt("surfaces"),
                priority: opt("priority"),
                phase: get("phase").parse().ok(),
                diagnosis: opt("diagnosis"),
            };
            state
                .store
                .add_plan_items(&scope, &who, id, &[item])
                .await
                .and_then(|_| done("added"))
        }
        "alternative" => {
            // Option B: a copy of this plan to change, linked to it.
            need(auth.can(Permission::TreatmentWrite))?;
            let plan = state.store.plan(&scope, &who, id).await?;
            let numbering = state.store.clinical_settings(&scope).await?.numbering;
            let items = plan
                .items
                .iter()
                .map(|i| NewItem {
                    code: i.code.clone(),
                    tooth: i.tooth.and_then(Tooth::from_fdi).map(|t| t.show(numbering)),
                    area: i.area.clone(),
                    surfaces: Some(i.surfaces.clone()).filter(|s| !s.is_empty()),
                    priority: Some(i.priority.code().to_string()),
                    phase: Some(i.phase),
                    diagnosis: i.diagnosis.clone(),
                })
                .collect();
            let b = state
                .store
                .create_plan(
                    &scope,
                    &who,
                    plan.patient_id,
                    &NewPlan {
                        name: Some(format!("{} ({})", plan.name, ctx.lang.t("plan-option-b"))),
                        items,
                        alternative_of: Some(plan.alternative_of.unwrap_or(plan.id)),
                    },
                )
                .await;
            b.map(|b| {
                Redirect::to(&format!("/treatment-plans/{}?notice=alternative", b.id))
                    .into_response()
            })
        }
        "remove" => {
            need(auth.can(Permission::TreatmentWrite))?;
            let item = get("item").parse().map_err(|_| AppError::NotFound)?;
            state
                .store
                .remove_plan_item(&scope, &who, id, item)
                .await
                .and_then(|_| done("removed"))
        }
        "reorder" => {
            need(auth.can(Permission::TreatmentWrite))?;
            let order: Vec<uuid::Uuid> = get("order")
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            state
                .store
                .reorder_plan(&scope, &who, id, &order)
                .await
                .and_then(|_| done("reordered"))
        }
        "present" | "accept" | "decline" | "reopen" => {
            need(auth.can(Permission::TreatmentWrite) || auth.can(Permission::EstimatesView))?;
            let to = match action.as_str() {
                "present" => PlanStatus::Presented,
                "accept" => PlanStatus::Accepted,
                "decline" => PlanStatus::Declined,
                _ => PlanStatus::Pending,
            };
            let back = get("back");
            state
                .store
                .set_plan_status(&scope, &who, id, to, &decision, base_version)
                .await
                .and_then(|_| {
                    if back == "present" && to == PlanStatus::Accepted {
                        Ok(
                            Redirect::to(&format!("/treatment-plans/{id}/present?notice=accepted"))
                                .into_response(),
                        )
                    } else {
                        done(to.code())
                    }
                })
        }
        "propose" | "book" => {
            need(auth.can(Permission::ScheduleWrite))?;
            let parsed = match prefs.parse() {
                Ok(p) => p,
                Err(AppError::Domain(d)) => {
                    return plan_page(
                        &state,
                        &ctx,
                        &auth,
                        &ip,
                        id,
                        PageExtras {
                            fe: FieldErrors::of(&d.fields),
                            prefs,
                            ..PageExtras::default()
                        },
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
                Err(e) => return Err(e),
            };
            if action == "propose" {
                match state.store.propose_series(&scope, &who, id, &parsed).await {
                    Ok(p) => {
                        return plan_page(
                            &state,
                            &ctx,
                            &auth,
                            &ip,
                            id,
                            PageExtras {
                                proposal: Some(p),
                                prefs,
                                ..PageExtras::default()
                            },
                            StatusCode::OK,
                        )
                        .await;
                    }
                    Err(e) => Err(e),
                }
            } else {
                let starts = all("slot_start");
                let chairs = all("slot_operatory");
                let provs = all("slot_provider");
                let slots: Option<Vec<SlotChoice>> = starts
                    .iter()
                    .zip(&chairs)
                    .zip(&provs)
                    .map(|((s, c), p)| {
                        Some(SlotChoice {
                            start: s.parse().ok()?,
                            operatory_id: c.parse().ok()?,
                            provider_id: p.parse().ok()?,
                        })
                    })
                    .collect();
                state
                    .store
                    .accept_series(
                        &scope,
                        &who,
                        permits(&auth),
                        id,
                        &parsed,
                        slots.as_deref().filter(|s| !s.is_empty()),
                    )
                    .await
                    .and_then(|_| done("booked"))
            }
        }
        _ => return Err(field_err("action", "unknown action")),
    };
    match result {
        Ok(r) => Ok(r),
        Err(store::tenancy::WriteError::Invalid(d)) => {
            let fe = FieldErrors::of(&d.fields);
            plan_page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                PageExtras {
                    fe,
                    error: d.message,
                    prefs,
                    ..PageExtras::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "plan_present.html")]
struct PresentPage {
    shell: Shell,
    plan_id: String,
    p: PlanRow,
    version: i64,
    items: Vec<ItemRow>,
    odontogram: String,
    clinic: String,
    signed_by: String,
    signature: String,
    accepted: bool,
    can_decide: bool,
    notice: String,
}

/// `GET /treatment-plans/{id}/present`: for the patient, on a screen or a tablet.
pub async fn present(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let plan = state
        .store
        .plan(&scope, &actor(&auth, &ctx, &ip), parse_plan(&id)?)
        .await?;
    let summary = state.store.patient_summary(&scope, plan.patient_id).await?;
    let cur = currency(&state, &scope).await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let org = state
        .store
        .org(scope.org())
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    html_status(
        &PresentPage {
            shell: Shell::build(&state, &ctx).await,
            plan_id: plan.id.to_string(),
            p: plan_row(lang, &plan, summary.display_name(), cur),
            version: plan.version,
            items: item_rows(lang, &plan, numbering, cur),
            odontogram: plan_odontogram(lang, &plan, numbering),
            clinic: org,
            signed_by: plan.decision.signed_by.clone().unwrap_or_default(),
            signature: plan.decision.signature.clone().unwrap_or_default(),
            accepted: matches!(
                plan.status,
                PlanStatus::Accepted | PlanStatus::InProgress | PlanStatus::Completed
            ),
            can_decide: (auth.can(Permission::TreatmentWrite)
                || auth.can(Permission::EstimatesView))
                && matches!(plan.status, PlanStatus::Pending | PlanStatus::Presented),
            notice: if q.notice.is_empty() {
                String::new()
            } else {
                lang.t(&format!("plan-notice-{}", q.notice))
            },
        },
        StatusCode::OK,
    )
}

/// `GET /treatment-plans/{id}/pdf`: the plan to hand or send to the patient.
pub async fn pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let plan = state
        .store
        .plan(&scope, &actor(&auth, &ctx, &ip), parse_plan(&id)?)
        .await?;
    let bytes = plan_pdf(&state.store, &scope, ctx.lang, &plan).await?;
    Ok(super::rx::pdf_response(bytes, &plan.reference()))
}

/// Runs [`store::plans::EXAM_ROUTE`] jobs: the exam's routing (the plan, its task in the right
/// inbox, the live notification), then the printed plan filed in the patient's documents in the
/// patient's language. A replay finds everything done and does nothing.
pub struct ExamRouter {
    pub objects: std::sync::Arc<store::objects::ObjectStorage>,
}

impl store::jobs::JobHandler for ExamRouter {
    fn run<'a>(
        &'a self,
        store: &'a store::Store,
        job: &'a store::jobs::Job,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let j = store::plans::RouteJob::of(job)?;
            let routed = store
                .route_exam(&j.scope, j.patient, j.visit, j.urgent)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let Some(plan) = routed.plan else {
                return Ok(());
            };
            if plan.document_id.is_some() {
                return Ok(());
            }
            let code = store
                .patient_language(&j.scope, plan.patient_id)
                .await
                .map_err(|e| e.to_string())?;
            let lang = Lang::from_code(&code).unwrap_or(Lang::En);
            let pdf = plan_pdf(store, &j.scope, lang, &plan)
                .await
                .map_err(|e| format!("the plan's document: {e:?}"))?;
            let title = format!(
                "{} {} · {}",
                lang.t("plan-pdf-title"),
                plan.reference(),
                plan.name
            );
            store
                .file_plan_document(
                    &self.objects,
                    &j.scope,
                    &store::patients::Actor::system("exam routing"),
                    plan.id,
                    title,
                    pdf,
                )
                .await
                .map(|_| ())
                .map_err(|e| format!("filing the plan's document: {e}"))
        })
    }
}

/// The printed plan: its procedures by phase with fees and totals, the estimate note, and the
/// patient's signature (or who signed it, when).
pub async fn plan_pdf(
    store: &store::Store,
    scope: &Scope,
    lang: Lang,
    plan: &store::plans::TreatmentPlan,
) -> Result<Vec<u8>, AppError> {
    let summary = store.patient_summary(scope, plan.patient_id).await?;
    let cur = currency_of(store, scope).await?;
    let numbering = store.clinical_settings(scope).await?.numbering;
    let super::rx::Letterhead {
        org_name,
        from,
        paper,
        tz,
    } = super::rx::letterhead(store, scope, summary.location_id).await?;
    let date = plan.created_at.to_zoned(tz.clone()).date().to_string();
    let col = |t: &str, share: f32, align: Align| Column {
        title: t.to_string(),
        share,
        align,
    };
    let mut phases: Vec<u8> = plan.items.iter().map(|i| i.phase).collect();
    phases.sort_unstable();
    phases.dedup();
    let mut blocks = vec![
        Block::Title(format!("{} · {}", lang.t("plan-pdf-title"), plan.name)),
        Block::Fields(vec![
            (lang.t("rx-patient"), summary.display_name()),
            (lang.t("rx-chart"), summary.chart_number.to_string()),
            (
                lang.t("plan-status"),
                lang.t(&format!("plan-status-{}", plan.status.code())),
            ),
        ]),
        Block::Rule,
    ];
    for (n, ph) in phases.iter().enumerate() {
        if phases.len() > 1 {
            blocks.push(Block::Heading(format!("{} {ph}", lang.t("plan-phase"))));
        }
        let live =
            |i: &&PlanItem| i.phase == *ph && i.status != domain::plans::ItemStatus::Declined;
        let subtotal: i64 = plan.items.iter().filter(live).map(|i| i.fee_minor).sum();
        let mut totals = Vec::new();
        if phases.len() > 1 {
            totals.push(vec![
                format!("{} {ph}", lang.t("plan-phase")),
                String::new(),
                String::new(),
                money(subtotal, cur),
            ]);
        }
        if n + 1 == phases.len() {
            totals.push(vec![
                lang.t("plan-total"),
                String::new(),
                String::new(),
                money(plan.analysis.total_value_minor, cur),
            ]);
        }
        blocks.push(Block::Table {
            columns: vec![
                col(&lang.t("plan-procedure"), 4.0, Align::Left),
                col(&lang.t("plan-site"), 1.5, Align::Left),
                col(&lang.t("plan-priority"), 1.5, Align::Left),
                col(&lang.t("plan-fee"), 1.6, Align::Right),
            ],
            rows: plan
                .items
                .iter()
                .filter(|i| i.phase == *ph)
                .map(|i| {
                    let name = match &i.diagnosis {
                        Some(d) => format!("{} {} — {d}", i.code, i.name),
                        None => format!("{} {}", i.code, i.name),
                    };
                    vec![
                        name,
                        site_of(i, numbering),
                        lang.t(&format!("plan-priority-{}", i.priority.code())),
                        if i.status == domain::plans::ItemStatus::Declined {
                            lang.t("plan-item-declined")
                        } else {
                            money(i.fee_minor, cur)
                        },
                    ]
                })
                .collect(),
            totals,
        });
    }
    blocks.push(Block::Note(lang.t("plan-pdf-estimate")));
    if let (Some(by), Some(at)) = (&plan.decision.signed_by, plan.decided_at) {
        blocks.push(Block::Paragraph(format!(
            "{} {by}, {}",
            lang.t("plan-pdf-accepted-by"),
            at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M")
        )));
    } else {
        blocks.push(Block::Signature {
            label: lang.t("plan-pdf-signature"),
            lines: vec![summary.display_name(), lang.t("plan-pdf-date")],
        });
    }
    let z = plan.created_at.to_zoned(jiff::tz::TimeZone::UTC);
    let doc = Document {
        paper,
        info: Info {
            title: format!("{} {}", lang.t("plan-pdf-title"), plan.reference()),
            author: org_name.clone(),
            created: pdf_date(
                z.year(),
                z.month(),
                z.day(),
                z.hour(),
                z.minute(),
                z.second(),
            ),
        },
        from,
        reference: vec![plan.reference(), date],
        blocks,
        footer: format!("{} · {}", org_name, plan.reference()),
        page_label: lang.t("doc-page-label"),
    };
    Ok(doc.render())
}

pub struct TaskRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    /// `route.checkout`, `follow_up`, …
    pub kind_code: String,
    pub patient_id: String,
    pub patient: String,
    pub plan_id: String,
    pub urgency: String,
    pub urgency_code: &'static str,
    pub due: String,
    pub overdue: bool,
    pub open: bool,
    pub done: String,
}

fn task_rows(lang: Lang, tasks: &[Task], now: jiff::Timestamp) -> Vec<TaskRow> {
    tasks
        .iter()
        .map(|t| TaskRow {
            id: t.id.to_string(),
            title: t.title.clone(),
            kind: lang.t(&format!("task-kind-{}", t.kind.replace('.', "-"))),
            kind_code: t.kind.clone(),
            patient_id: t.patient_id.map(|p| p.to_string()).unwrap_or_default(),
            patient: t.patient_name.clone().unwrap_or_default(),
            plan_id: t.plan_id.map(|p| p.to_string()).unwrap_or_default(),
            urgency: lang.t(&format!("plan-priority-{}", t.urgency.code())),
            urgency_code: t.urgency.code(),
            due: t.due_at.map(|d| show_time(lang, d)).unwrap_or_default(),
            overdue: t.open && t.due_at.is_some_and(|d| d < now),
            open: t.open,
            done: match (&t.done_by_name, t.done_at) {
                (Some(b), Some(at)) => format!("{b} · {}", show_time(lang, at)),
                _ => String::new(),
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    shell: Shell,
    rows: Vec<TaskRow>,
    roles: Vec<Choice>,
    fe: FieldErrors,
    show_done: bool,
}

#[derive(Deserialize, Default)]
pub struct TasksQuery {
    #[serde(default)]
    done: String,
}

async fn tasks_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    who: &store::patients::Actor,
    show_done: bool,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let tasks = state
        .store
        .inbox(
            &scope,
            Some(who),
            auth.user.id,
            &role_codes(auth),
            show_done,
        )
        .await?;
    let roles = domain::identity::Role::STAFF
        .iter()
        .map(|r| Choice {
            value: r.code().to_string(),
            label: ctx.lang.t(&format!("role-{}", r.code())),
            selected: false,
        })
        .collect();
    html_status(
        &TasksPage {
            shell: Shell::build(state, ctx).await,
            rows: task_rows(ctx.lang, &tasks, state.store.now()),
            roles,
            fe,
            show_done,
        },
        status,
    )
}

/// `GET /tasks[?done=1]`: the signed-in user's inbox (theirs and their roles').
pub async fn tasks(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<TasksQuery>,
) -> Result<Response, AppError> {
    tasks_page(
        &state,
        &ctx,
        &auth,
        &actor(&auth, &ctx, &ip),
        !q.done.is_empty(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /tasks` with `action`: `done`/`reopen` (`task`), or `create` (`title`, `role`,
/// `due`).
pub async fn tasks_act(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(&body).collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    match get("action").as_str() {
        "done" | "reopen" => {
            let t: uuid::Uuid = get("task").parse().map_err(|_| AppError::NotFound)?;
            state
                .store
                .set_task_done(&scope, &who, t, get("action") == "done")
                .await?;
            Ok(Redirect::to("/tasks").into_response())
        }
        "create" => {
            let role = get("role");
            let due = match get("due").trim() {
                "" => None,
                d => match d.parse::<Date>() {
                    Ok(d) => d
                        .at(17, 0, 0, 0)
                        .to_zoned(jiff::tz::TimeZone::UTC)
                        .ok()
                        .map(|z| z.timestamp()),
                    Err(_) => {
                        return tasks_page(
                            &state,
                            &ctx,
                            &auth,
                            &who,
                            false,
                            FieldErrors(vec![("due".into(), ctx.lang.t("task-due-invalid"))]),
                            StatusCode::UNPROCESSABLE_ENTITY,
                        )
                        .await;
                    }
                },
            };
            let new = NewTask {
                title: get("title"),
                kind: "manual".into(),
                assignee_role: Some(role.clone()).filter(|r| !r.is_empty()),
                assignee_id: if role.is_empty() {
                    Some(auth.user.id)
                } else {
                    None
                },
                urgency: Priority::from_code(&get("urgency")).unwrap_or_default(),
                due_at: due,
                ..NewTask::default()
            };
            match state.store.create_task(&scope, &who, &new).await {
                Ok(_) => Ok(Redirect::to("/tasks").into_response()),
                Err(store::tenancy::WriteError::Invalid(d)) => {
                    tasks_page(
                        &state,
                        &ctx,
                        &auth,
                        &who,
                        false,
                        FieldErrors::of(&d.fields),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            }
        }
        _ => Err(field_err("action", "unknown action")),
    }
}

#[derive(Template)]
#[template(path = "coordinator.html")]
struct CoordinatorPage {
    shell: Shell,
    queue: Vec<PlanRow>,
    waiting: Vec<PlanRow>,
    decided: Vec<PlanRow>,
    follow_ups: Vec<TaskRow>,
    rate: String,
    rate_detail: String,
}

/// `GET /coordinator`: plans to present (routed to the coordinator, not presented yet),
/// plans presented and waiting for an answer, follow-ups, the acceptance rate of the last 90
/// days.
pub async fn coordinator(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let cur = currency(&state, &scope).await?;
    let all = state
        .store
        .plans(&scope, &actor(&auth, &ctx, &ip), None, &[], 2000)
        .await?;
    let now = state.store.now();
    let since = now.as_second() - 90 * 86400;
    let row = |l: &store::plans::ListedPlan| plan_row(lang, &l.plan, l.patient.display_name(), cur);
    let mut queue: Vec<&store::plans::ListedPlan> = all
        .iter()
        .filter(|l| {
            l.plan.status == PlanStatus::Pending
                && l.plan.routing.route == domain::plans::Route::Coordinator
        })
        .collect();
    queue.sort_by_key(|l| {
        (
            std::cmp::Reverse(l.plan.analysis.urgency),
            std::cmp::Reverse(l.plan.analysis.total_value_minor),
        )
    });
    let waiting: Vec<PlanRow> = all
        .iter()
        .filter(|l| l.plan.status == PlanStatus::Presented)
        .map(row)
        .collect();
    let recent: Vec<&store::plans::ListedPlan> = all
        .iter()
        .filter(|l| l.plan.decided_at.is_some_and(|d| d.as_second() >= since))
        .collect();
    let accepted = recent
        .iter()
        .filter(|l| {
            !matches!(
                l.plan.status,
                PlanStatus::Declined | PlanStatus::Pending | PlanStatus::Presented
            )
        })
        .count();
    let declined = recent
        .iter()
        .filter(|l| l.plan.status == PlanStatus::Declined)
        .count();
    let decided = accepted + declined;
    let rate = match (accepted * 100 + decided / 2).checked_div(decided) {
        None => "—".to_string(),
        Some(r) => format!("{r} %"),
    };
    let tasks = state
        .store
        .inbox(
            &scope,
            Some(&actor(&auth, &ctx, &ip)),
            auth.user.id,
            &["coordinator".to_string()],
            false,
        )
        .await?;
    let follow: Vec<Task> = tasks
        .into_iter()
        .filter(|t| t.kind == "follow_up")
        .collect();
    html_status(
        &CoordinatorPage {
            shell: Shell::build(&state, &ctx).await,
            queue: queue.into_iter().map(row).collect(),
            waiting,
            decided: recent.iter().take(20).map(|l| row(l)).collect(),
            follow_ups: task_rows(lang, &follow, now),
            rate,
            rate_detail: format!(
                "{accepted} {}, {declined} {}",
                lang.t("coord-accepted"),
                lang.t("coord-declined")
            ),
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "pending_treatment.html")]
struct PendingPage {
    shell: Shell,
    rows: Vec<PlanRow>,
    total: String,
}

/// `GET /treatment-plans/pending`: accepted work not booked, most valuable first.
pub async fn pending(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let cur = currency(&state, &scope).await?;
    let list = state
        .store
        .pending_treatment(&scope, &actor(&auth, &ctx, &ip))
        .await?;
    let total: i64 = list.iter().map(|l| l.plan.unscheduled_value()).sum();
    html_status(
        &PendingPage {
            shell: Shell::build(&state, &ctx).await,
            rows: list
                .iter()
                .map(|l| plan_row(ctx.lang, &l.plan, l.patient.display_name(), cur))
                .collect(),
            total: money(total, cur),
        },
        StatusCode::OK,
    )
}

// ---------- settings ----------

pub struct RuleRow {
    pub n: usize,
    pub name: String,
    pub before: String,
    pub after: String,
    pub same_site: bool,
    pub min_days: u16,
}

pub struct TemplateRow {
    pub n: usize,
    pub name: String,
    pub items: String,
}

#[derive(Template)]
#[template(path = "settings_plans.html")]
struct SettingsPage {
    shell: Shell,
    routing: domain::plans::RoutingSettings,
    max_visit: u16,
    coordinator_value: String,
    medium_value: String,
    currency: String,
    rules: Vec<RuleRow>,
    labs: Vec<RuleRow>,
    templates: Vec<TemplateRow>,
    fe: FieldErrors,
    notice: String,
}

fn matcher_text(m: &domain::plans::planner::Matcher) -> String {
    m.codes
        .iter()
        .cloned()
        .chain(m.categories.iter().map(|c| format!("[{c}]")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `CODE CODE [category]` → a matcher.
fn parse_matcher(s: &str) -> domain::plans::planner::Matcher {
    let mut m = domain::plans::planner::Matcher::default();
    for w in s.split([' ', ',']).map(str::trim).filter(|w| !w.is_empty()) {
        match w.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
            Some(c) => m.categories.push(c.to_string()),
            None => m.codes.push(w.to_ascii_uppercase()),
        }
    }
    m
}

fn template_text(t: &domain::plans::planner::PlanTemplate) -> String {
    t.items
        .iter()
        .map(|i| {
            let mut s = i.code.clone();
            if i.on_tooth {
                s.push_str(" *");
            }
            if let Some(a) = &i.area {
                s.push(' ');
                s.push_str(a);
            }
            if i.phase != 1 {
                s.push_str(&format!(" p{}", i.phase));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn settings_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    fe: FieldErrors,
    notice: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let (rules, routing) = state.store.plan_settings(&scope).await?;
    let cur = currency(state, &scope).await?;
    html_status(
        &SettingsPage {
            shell: Shell::build(state, ctx).await,
            max_visit: rules.max_visit_minutes,
            coordinator_value: Money::from_minor(routing.coordinator_value_minor, cur)
                .to_string()
                .trim_end_matches(&format!(" {cur}"))
                .to_string(),
            medium_value: Money::from_minor(routing.medium_value_minor, cur)
                .to_string()
                .trim_end_matches(&format!(" {cur}"))
                .to_string(),
            currency: cur.to_string(),
            rules: rules
                .rules
                .iter()
                .enumerate()
                .map(|(n, r)| RuleRow {
                    n,
                    name: r.name.clone(),
                    before: matcher_text(&r.before),
                    after: matcher_text(&r.after),
                    same_site: r.same_site,
                    min_days: r.min_days,
                })
                .collect(),
            labs: rules
                .labs
                .iter()
                .enumerate()
                .map(|(n, l)| RuleRow {
                    n,
                    name: matcher_text(&l.matcher),
                    before: String::new(),
                    after: format!("{} min", l.seat_minutes),
                    same_site: false,
                    min_days: l.lead_days,
                })
                .collect(),
            templates: rules
                .templates
                .iter()
                .enumerate()
                .map(|(n, t)| TemplateRow {
                    n,
                    name: t.name.clone(),
                    items: template_text(t),
                })
                .collect(),
            routing,
            fe,
            notice,
        },
        status,
    )
}

/// `GET /settings/plans`: the routing thresholds, the planner's rules, laboratory times and
/// templates.
pub async fn settings(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let notice = if q.notice.is_empty() {
        String::new()
    } else {
        ctx.lang.t("plan-settings-saved")
    };
    settings_page(
        &state,
        &ctx,
        &auth,
        FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /settings/plans` with `action`: `routing`, `add_rule`, `remove_rule`, `add_lab`,
/// `remove_lab`, `add_template`, `remove_template`. Every change is checked as a whole (a
/// cycle is refused with its rules named) and nothing is saved when refused.
pub async fn save_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    use domain::plans::planner::{LabRule, PlanTemplate, Rule, TemplateItem};
    let scope = auth.scope();
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(&body).collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let (mut rules, mut routing) = state.store.plan_settings(&scope).await?;
    let bad = |f: &str, m: &str| FieldErrors(vec![(f.to_string(), m.to_string())]);
    let number = |k: &str| get(k).parse::<i64>().ok();
    let index = get("n").parse::<usize>().ok();
    let problem: Option<FieldErrors> = match get("action").as_str() {
        "routing" => {
            let cur = currency(&state, &scope).await?;
            let money_of = |k: &str| Money::parse(&get(k), cur).ok().map(|m| m.minor());
            match (
                money_of("coordinator_value"),
                number("coordinator_complexity"),
                money_of("medium_value"),
                number("follow_up_days"),
                number("max_visit_minutes"),
            ) {
                (Some(cv), Some(cc), Some(mv), Some(fd), Some(mx)) => {
                    routing.coordinator_value_minor = cv;
                    routing.coordinator_complexity = u32::try_from(cc).unwrap_or(0);
                    routing.medium_value_minor = mv;
                    routing.follow_up_days = u16::try_from(fd).unwrap_or(0);
                    rules.max_visit_minutes = u16::try_from(mx).unwrap_or(0);
                    None
                }
                _ => Some(bad("routing", &ctx.lang.t("plan-settings-numbers"))),
            }
        }
        "add_rule" => {
            rules.rules.push(Rule {
                name: get("name"),
                before: parse_matcher(&get("before")),
                after: parse_matcher(&get("after")),
                same_site: get("same_site") == "on",
                min_days: u16::try_from(number("min_days").unwrap_or(0)).unwrap_or(u16::MAX),
            });
            None
        }
        "remove_rule" => match index {
            Some(n) if n < rules.rules.len() => {
                rules.rules.remove(n);
                None
            }
            _ => Some(bad("n", "no such rule")),
        },
        "add_lab" => {
            rules.labs.push(LabRule {
                matcher: parse_matcher(&get("codes")),
                lead_days: u16::try_from(number("lead_days").unwrap_or(0)).unwrap_or(0),
                seat_minutes: u16::try_from(number("seat_minutes").unwrap_or(0)).unwrap_or(0),
            });
            None
        }
        "remove_lab" => match index {
            Some(n) if n < rules.labs.len() => {
                rules.labs.remove(n);
                None
            }
            _ => Some(bad("n", "no such laboratory time")),
        },
        "add_template" => {
            let items: Vec<TemplateItem> = get("items")
                .split([',', '\n'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let mut words = l.split_whitespace();
                    let code = words.next().unwrap_or_default().to_ascii_uppercase();
                    let mut item = TemplateItem {
                        code,
                        on_tooth: false,
                        area: None,
                        phase: 1,
                    };
                    for w in words {
                        if w == "*" {
                            item.on_tooth = true;
                        } else if let Some(p) = w.strip_prefix('p').and_then(|p| p.parse().ok()) {
                            item.phase = p;
                        } else {
                            item.area = Some(w.to_ascii_uppercase());
                        }
                    }
                    item
                })
                .collect();
            rules.templates.push(PlanTemplate {
                name: get("name"),
                items,
            });
            None
        }
        "remove_template" => match index {
            Some(n) if n < rules.templates.len() => {
                rules.templates.remove(n);
                None
            }
            _ => Some(bad("n", "no such template")),
        },
        _ => Some(bad("action", "unknown action")),
    };
    if let Some(fe) = problem {
        return settings_page(
            &state,
            &ctx,
            &auth,
            fe,
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match state
        .store
        .set_plan_settings(&scope, &actor(&auth, &ctx, &ip), &rules, &routing)
        .await
    {
        Ok(()) => Ok(Redirect::to("/settings/plans?notice=saved").into_response()),
        Err(store::tenancy::WriteError::Invalid(d)) => {
            let fe = if d.fields.is_empty() {
                FieldErrors(vec![("settings".into(), d.message)])
            } else {
                FieldErrors::of(&d.fields)
            };
            settings_page(
                &state,
                &ctx,
                &auth,
                fe,
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
