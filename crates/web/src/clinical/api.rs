//! The charting API: the catalog, a patient's chart (odontogram state and entries), charting
//! a procedure or condition, completing and voiding. Teeth are FDI numbers here whatever the
//! clinic displays.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::ChartEntryId;
use domain::clinical::chart::{EntryRequest, Site, ToothView, odontogram};
use domain::clinical::teeth::{Numbering, Surface};
use serde::Deserialize;
use serde_json::{Value, json};
use store::clinical::{ChartEntry, EntryChange, ProcedureCode};

use super::permits;
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::patients::{actor, parse_patient_id};
use crate::phone::ClientIp;
use crate::shell::Ctx;

fn code_json(c: &ProcedureCode) -> Value {
    let e = &c.entry;
    json!({
        "code": e.code,
        "name": e.name,
        "kind": e.kind.code(),
        "category": e.category,
        "minutes": e.minutes,
        "site": e.site.code(),
        "dentist_only": e.dentist_only,
        "fee_minor": e.fee_minor,
        "icd10": e.icd10,
        "effect": e.effect.code(),
        "active": c.active,
    })
}

/// `GET /api/v1/procedure-codes`
pub async fn codes(State(state): State<AppState>, auth: Auth) -> Result<Response, AppError> {
    let codes = state.store.procedure_codes(&auth.scope()).await?;
    Ok(Json(json!({ "items": codes.iter().map(code_json).collect::<Vec<_>>() })).into_response())
}

pub fn entry_json(e: &ChartEntry) -> Value {
    let (tooth, surfaces, area) = match e.site {
        Site::Mouth => (None, None, None),
        Site::Tooth(t, s) => (Some(t.fdi()), (!s.is_empty()).then(|| s.show_on(t)), None),
        Site::Area(a) => (None, None, Some(a.code())),
    };
    json!({
        "id": e.id,
        "code": e.code,
        "name": e.name,
        "kind": e.kind.code(),
        "tooth": tooth,
        "surfaces": surfaces,
        "area": area,
        "status": e.status.code(),
        "note": e.note,
        "override_reason": e.override_reason,
        "recorded_by": e.recorded_by_name,
        "recorded_at": e.recorded_at.to_string(),
        "completed_at": e.completed_at.map(|t| t.to_string()),
        "voided_at": e.voided_at.map(|t| t.to_string()),
        "void_reason": e.void_reason,
        "version": e.changed_version,
    })
}

fn tooth_json(t: domain::clinical::teeth::Tooth, v: &ToothView, numbering: Numbering) -> Value {
    let surfaces: serde_json::Map<String, Value> = v
        .surfaces
        .iter()
        .map(|(s, st): (&Surface, _)| (s.letter_on(t).to_string(), json!(st.code())))
        .collect();
    let st = |s: Option<domain::clinical::chart::ChartStatus>| s.map(|s| s.code());
    json!({
        "tooth": t.fdi(),
        "label": t.show(numbering),
        "missing": v.missing,
        "surfaces": surfaces,
        "crown": st(v.crown),
        "veneer": st(v.veneer),
        "root_canal": st(v.root_canal),
        "implant": st(v.implant),
        "pontic": st(v.pontic),
        "sealant": st(v.sealant),
        "extraction_planned": v.extraction_planned,
        "condition": v.condition,
    })
}

/// `GET /api/v1/patients/{id}/chart`: the odontogram (teeth with anything charted) and every
/// entry, oldest first.
pub async fn chart(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let chart = state
        .store
        .chart(&scope, &actor(&auth, &ctx, &ip), id)
        .await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let view = odontogram(&chart.marks());
    Ok(Json(json!({
        "patient_id": id,
        "version": chart.version,
        "numbering": numbering.code(),
        "teeth": view.iter().map(|(t, v)| tooth_json(*t, v, numbering)).collect::<Vec<_>>(),
        "entries": chart.entries.iter().map(entry_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize)]
pub struct ProcedureBody {
    #[serde(flatten)]
    entry: EntryRequest,
    /// The chart version the client saw: a change to the same tooth since then is a 409.
    #[serde(default)]
    base_version: Option<i64>,
    /// The API takes FDI numbers; a tooth given as a JSON number is read as one.
    #[serde(default)]
    tooth: Option<Value>,
}

/// `POST /api/v1/patients/{id}/procedures` → 201 with the entry; 422 naming the invalid part;
/// 409 when the tooth changed since `base_version`.
pub async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(mut b): Json<ProcedureBody>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    b.entry.tooth = match b.tooth {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    };
    let e = state
        .store
        .add_chart_entry(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            permits(&auth),
            id,
            Numbering::Fdi,
            &b.entry,
            b.base_version,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(entry_json(&e))).into_response())
}

#[derive(Deserialize)]
pub struct ChangeBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    base_version: Option<i64>,
}

/// `PATCH /api/v1/patients/{id}/procedures/{entry}` with `{"action": "complete"}` or
/// `{"action": "void", "reason": "…"}`.
pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, entry)): Path<(String, String)>,
    Json(b): Json<ChangeBody>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let entry: ChartEntryId = entry.parse().map_err(|_| AppError::NotFound)?;
    let change = match b.action.as_str() {
        "complete" => EntryChange::Complete,
        "void" => EntryChange::Void { reason: b.reason },
        _ => {
            // Another organization's record is not found, whatever was asked.
            state.store.patient_summary(&auth.scope(), id).await?;
            return Err(AppError::Domain(domain::DomainError::field(
                "action",
                "complete or void",
            )));
        }
    };
    let e = state
        .store
        .change_chart_entry(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            permits(&auth),
            id,
            entry,
            change,
            b.base_version,
        )
        .await?;
    Ok(Json(entry_json(&e)).into_response())
}
