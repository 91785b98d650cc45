//! Families (moving a patient, naming the guarantor) and merging duplicate records.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{DomainError, FamilyId, MergeId, PatientId};
use serde::Deserialize;
use store::patients::NonPatientGuarantor;

use super::{Banner, Head, Row, actor, banner, head, parse_patient_id, row, today};
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::pages::html;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

#[derive(Deserialize)]
pub struct MoveForm {
    /// A family member's chart number or id; empty for a family of the patient's own.
    #[serde(default)]
    member: String,
}

async fn resolve(state: &AppState, auth: &Auth, s: &str) -> Result<Option<PatientId>, AppError> {
    let t = s.trim().trim_start_matches('#');
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(id) = t.parse::<PatientId>() {
        return Ok(Some(id));
    }
    let n: i64 = t
        .parse()
        .map_err(|_| DomainError::field("member", "type the family member's chart number"))?;
    match state.store.patient_by_chart(&auth.scope(), n).await? {
        Some(id) => Ok(Some(id)),
        None => {
            Err(DomainError::field("member", format!("no patient has chart number {n}")).into())
        }
    }
}

/// `POST /patients/{id}/family`: into the family of another patient, or a new one.
pub async fn move_family(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<MoveForm>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let to = match resolve(&state, &auth, &f.member).await? {
        Some(member) => Some(state.store.patient_summary(&scope, member).await?.family_id),
        None => None,
    };
    state
        .store
        .move_to_family(&scope, &actor(&auth, &ctx, &ip), id, to)
        .await?;
    Ok(Redirect::to(&format!("/patients/{id}?notice=family")).into_response())
}

#[derive(Deserialize)]
pub struct GuarantorForm {
    /// A member's id, or empty with a name for someone who is not a patient.
    #[serde(default)]
    patient: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    relationship: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    /// Where to go back to.
    #[serde(default)]
    back: String,
}

/// `POST /families/{id}/guarantor`
pub async fn set_guarantor(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<GuarantorForm>,
) -> Result<Response, AppError> {
    let family: FamilyId = id.parse().map_err(|_| AppError::NotFound)?;
    let who = if f.patient.trim().is_empty() {
        Err(NonPatientGuarantor {
            name: f.name,
            relationship: f.relationship,
            phone: f.phone,
            email: f.email,
        })
    } else {
        Ok(parse_patient_id(&f.patient)?)
    };
    state
        .store
        .set_guarantor(&auth.scope(), &actor(&auth, &ctx, &ip), family, who)
        .await?;
    let back = f
        .back
        .parse::<PatientId>()
        .map(|p| format!("/patients/{p}?notice=guarantor"));
    Ok(Redirect::to(&back.unwrap_or_else(|_| "/patients".into())).into_response())
}

#[derive(Template)]
#[template(path = "patient_merge.html")]
struct MergePage {
    shell: Shell,
    banner: Banner,
    h: Head,
    candidates: Vec<Row>,
    chosen: Option<Row>,
    undo_days: i64,
}

#[derive(Deserialize, Default)]
pub struct MergeQuery {
    #[serde(default)]
    other: String,
}

/// `GET /patients/{id}/merge`: the likely duplicates of this record, and a confirmation for
/// the one chosen (`?other=` an id or chart number).
pub async fn merge_page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<MergeQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let lang = ctx.lang;
    let p = state
        .store
        .patient(&scope, &actor(&auth, &ctx, &ip), id)
        .await?;
    let t = today(&state);
    let candidates = state
        .store
        .likely_duplicates(&scope, &p.details, Some(id))
        .await?
        .iter()
        .map(|s| row(lang, t, s))
        .collect();
    let chosen = match resolve(&state, &auth, &q.other).await? {
        Some(other) if other != id => Some(row(
            lang,
            t,
            &state.store.patient_summary(&scope, other).await?,
        )),
        _ => None,
    };
    html(&MergePage {
        shell: Shell::build(&state, &ctx).await,
        banner: banner(&state, lang, &scope, &p).await?,
        h: head(lang, t, &p),
        candidates,
        chosen,
        undo_days: state
            .store
            .patient_settings(scope.org())
            .await?
            .merge_undo_days,
    })
}

#[derive(Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    other: String,
}

/// `POST /patients/{id}/merge`: merges `other` into this record.
pub async fn merge(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<MergeForm>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    state.store.patient_summary(&auth.scope(), id).await?;
    let other: PatientId = f
        .other
        .parse()
        .map_err(|_| DomainError::field("other", "choose the record to merge into this one"))?;
    state
        .store
        .merge_patients(&auth.scope(), &actor(&auth, &ctx, &ip), id, other)
        .await?;
    Ok(Redirect::to(&format!("/patients/{id}?notice=merged")).into_response())
}

#[derive(Deserialize)]
pub struct UndoForm {
    #[serde(default)]
    back: String,
}

/// `POST /merges/{id}/undo`
pub async fn undo(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<UndoForm>,
) -> Result<Response, AppError> {
    let merge: MergeId = id.parse().map_err(|_| AppError::NotFound)?;
    state
        .store
        .undo_merge(&auth.scope(), &actor(&auth, &ctx, &ip), merge)
        .await?;
    let back = f
        .back
        .parse::<PatientId>()
        .map(|p| format!("/patients/{p}?notice=unmerged"));
    Ok(Redirect::to(&back.unwrap_or_else(|_| "/patients".into())).into_response())
}

#[derive(Template)]
#[template(path = "patient_emergency.html")]
struct EmergencyPage {
    shell: Shell,
    chart: String,
    birth_date: String,
    reason: String,
    error: String,
    minutes: i64,
}

/// `GET /patients/emergency`: the break-the-glass form.
pub async fn emergency_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    html(&EmergencyPage {
        shell: Shell::build(&state, &ctx).await,
        chart: String::new(),
        birth_date: String::new(),
        reason: String::new(),
        error: String::new(),
        minutes: store::patients::BREAK_GLASS_MINUTES,
    })
}

#[derive(Deserialize)]
pub struct EmergencyForm {
    #[serde(default)]
    chart: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    reason: String,
}

/// `POST /patients/emergency`: opens a restricted record for an hour, with a reason.
pub async fn emergency(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    axum::Form(f): axum::Form<EmergencyForm>,
) -> Result<Response, AppError> {
    let chart: Option<i64> = f.chart.trim().trim_start_matches('#').parse().ok();
    let birth = domain::patients::parse_iso_date(f.birth_date.trim());
    let result = match (chart, birth) {
        (Some(c), Some(b)) => state
            .store
            .break_glass(&auth.scope(), &actor(&auth, &ctx, &ip), c, b, &f.reason)
            .await
            .map_err(AppError::from),
        _ => Err(AppError::Domain(DomainError::field(
            "chart_number",
            "type the chart number and the birth date",
        ))),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/patients/{id}?notice=break_glass")).into_response()),
        Err(AppError::Domain(e)) if e.code == domain::ErrorCode::Validation => {
            let mut resp = html(&EmergencyPage {
                shell: Shell::build(&state, &ctx).await,
                chart: f.chart,
                birth_date: f.birth_date,
                reason: f.reason,
                error: e
                    .fields
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                minutes: store::patients::BREAK_GLASS_MINUTES,
            })?;
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            resp.extensions_mut().insert(crate::middleware::KeepBody);
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}
