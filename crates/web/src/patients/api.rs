//! The patients JSON API (`/api/v1/patients…`), under the same permissions as the pages and
//! audited the same way. Errors are RFC 9457 problem JSON with per-field `errors`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::patients::history::MedicalHistory;
use domain::patients::{PatientInput, PatientStatus, Phone};
use domain::{DomainError, FamilyId, LocationId, MergeId, PatientId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::patients::documents::Document;
use store::patients::{FamilyChoice, NewPatient, NonPatientGuarantor, Patient, PatientSummary};

use super::{actor, date_order, parse_patient_id};
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::phone::ClientIp;
use crate::shell::Ctx;

/// The last four characters of an identifier, the rest masked (minimum necessary).
fn masked(s: &str) -> String {
    let chars: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
    let keep = chars.len().saturating_sub(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep { '•' } else { *c })
        .collect()
}

pub fn patient_json(p: &Patient) -> Value {
    let d = &p.details;
    json!({
        "id": p.id,
        "chart_number": p.chart_number,
        "status": p.status.code(),
        "location_id": p.location_id,
        "restricted": p.restricted,
        "family_id": p.family_id,
        "merged_into": p.merged_into,
        "given_name": d.given_name,
        "family_name": d.family_name,
        "middle_name": d.middle_name,
        "preferred_name": d.preferred_name,
        "birth_date": d.birth_date.to_string(),
        "sex": d.sex,
        "gender_identity": d.gender_identity,
        "pronouns": d.pronouns,
        "language": d.language,
        "phones": d.phones,
        "email": d.email,
        "email_consent": d.email_consent,
        "address": d.address,
        "emergency_contact": d.emergency_contact,
        "referral_source": d.referral_source,
        "referral_detail": d.referral_detail,
        "national_id_masked": masked(&d.national_id),
        "external_id": d.external_id,
        "custom": d.custom,
        "history_reviewed_at": p.history_reviewed_at.map(|t| t.to_string()),
        "created_at": p.created_at.to_string(),
        "updated_at": p.updated_at.to_string(),
    })
}

pub fn summary_json(p: &PatientSummary) -> Value {
    json!({
        "id": p.id,
        "chart_number": p.chart_number,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "preferred_name": p.preferred_name,
        "display_name": p.display_name(),
        "birth_date": p.birth_date.to_string(),
        "status": p.status.code(),
        "phone": p.phone,
        "location_id": p.location_id,
        "family_id": p.family_id,
    })
}

pub fn document_json(d: &Document) -> Value {
    json!({
        "id": d.id,
        "patient_id": d.patient_id,
        "series_id": d.series_id,
        "version": d.version,
        "category": d.category,
        "title": d.title,
        "file_name": d.file_name,
        "content_type": d.content_type,
        "size": d.size,
        "sha256": d.sha256,
        "uploaded_by": d.uploaded_by_name,
        "uploaded_at": d.uploaded_at.to_string(),
        "deleted_at": d.deleted_at.map(|t| t.to_string()),
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApiFamily {
    #[default]
    Own,
    /// The family of this patient.
    Join(PatientId),
    Guarantor {
        name: String,
        #[serde(default)]
        relationship: String,
        #[serde(default)]
        phone: String,
        #[serde(default)]
        email: String,
    },
}

#[derive(Deserialize)]
pub struct ApiPatient {
    #[serde(flatten)]
    input: PatientInput,
    /// A mobile number, for clients that send one phone.
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    location_id: Option<LocationId>,
    #[serde(default)]
    restricted: bool,
    #[serde(default)]
    family: ApiFamily,
}

impl ApiPatient {
    fn into_input(self) -> (PatientInput, Option<LocationId>, bool, ApiFamily) {
        let mut input = self.input;
        if let Some(p) = self.phone.filter(|p| !p.trim().is_empty()) {
            input.phones.insert(
                0,
                Phone {
                    kind: "mobile".into(),
                    number: p,
                    sms_consent: false,
                },
            );
        }
        (input, self.location_id, self.restricted, self.family)
    }
}

async fn default_location(state: &AppState, auth: &Auth) -> Result<LocationId, AppError> {
    let scope = auth.scope();
    state
        .store
        .locations(&scope)
        .await?
        .into_iter()
        .find(|l| scope.allows_location(l.id))
        .map(|l| l.id)
        .ok_or_else(|| {
            DomainError::field("location_id", "no location to register the patient at").into()
        })
}

/// `POST /api/v1/patients` → 201 with the patient.
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Json(body): Json<ApiPatient>,
) -> Result<Response, AppError> {
    let (input, location, restricted, family) = body.into_input();
    let location = match location {
        Some(l) => l,
        None => default_location(&state, &auth).await?,
    };
    let family = match family {
        ApiFamily::Own => FamilyChoice::Own,
        ApiFamily::Join(p) => FamilyChoice::JoinFamilyOf(p),
        ApiFamily::Guarantor {
            name,
            relationship,
            phone,
            email,
        } => FamilyChoice::Guarantor(NonPatientGuarantor {
            name,
            relationship,
            phone,
            email,
        }),
    };
    let p = state
        .store
        .register_patient(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            NewPatient {
                location_id: location,
                restricted,
                input,
                family,
                status: PatientStatus::Active,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(patient_json(&p))).into_response())
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/v1/patients?q=&limit=` → `{"items": [...]}`, best match first (recent patients
/// without `q`).
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let items: Vec<Value> = if q.q.trim().is_empty() {
        state
            .store
            .recent_patients(&scope, &who, i64::try_from(limit).unwrap_or(20))
            .await?
            .iter()
            .map(summary_json)
            .collect()
    } else {
        state
            .store
            .search_patients(&scope, &who, &q.q, date_order(ctx.lang), limit)
            .await?
            .iter()
            .map(|h| {
                let mut v = summary_json(&h.patient);
                v["score"] = json!(h.score);
                v
            })
            .collect()
    };
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /api/v1/patients/{id}`
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let p = state
        .store
        .patient(&scope, &actor(&auth, &ctx, &ip), id)
        .await?;
    let mut v = patient_json(&p);
    v["alerts"] = json!(state.store.medical_alerts(&scope, id).await?);
    Ok(Json(v).into_response())
}

/// `PUT /api/v1/patients/{id}`: the whole record as registration takes it.
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(body): Json<ApiPatient>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let current = state.store.patient(&scope, &who, id).await?;
    let (input, location, restricted, _) = body.into_input();
    let p = state
        .store
        .update_patient(
            &scope,
            &who,
            id,
            location.unwrap_or(current.location_id),
            restricted,
            input,
        )
        .await?;
    Ok(Json(patient_json(&p)).into_response())
}

#[derive(Deserialize)]
pub struct ApiStatus {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/patients/{id}/status`
pub async fn set_status(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(b): Json<ApiStatus>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    state.store.patient_summary(&auth.scope(), id).await?;
    let status = PatientStatus::from_code(&b.status).ok_or_else(|| {
        DomainError::field("status", "must be active, inactive, archived or deceased")
    })?;
    state
        .store
        .set_patient_status(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            id,
            status,
            &b.reason,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn version_json(v: &store::patients::history::HistoryVersion) -> Value {
    json!({
        "version": v.version,
        "history": v.history,
        "alerts": v.history.alerts(),
        "changes": v.changes,
        "reviewed": v.reviewed,
        "recorded_by": v.recorded_by_name,
        "recorded_at": v.recorded_at.to_string(),
    })
}

/// `GET /api/v1/patients/{id}/history`: every version, newest first.
pub async fn history(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let versions = state
        .store
        .history_versions(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    Ok(
        Json(json!({ "items": versions.iter().map(version_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

#[derive(Deserialize)]
pub struct ApiHistory {
    #[serde(default)]
    history: MedicalHistory,
    #[serde(default)]
    reviewed: bool,
}

/// `PUT /api/v1/patients/{id}/history`: a new version when anything changed.
pub async fn save_history(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(b): Json<ApiHistory>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    match state
        .store
        .save_medical_history(&scope, &who, id, &b.history, b.reviewed)
        .await?
    {
        Some(v) => Ok(Json(version_json(&v)).into_response()),
        // Nothing changed: the current version as it stands.
        None => match state.store.medical_history(&scope, id).await? {
            Some(v) => Ok(Json(version_json(&v)).into_response()),
            None => Ok(StatusCode::NO_CONTENT.into_response()),
        },
    }
}

/// `GET /api/v1/patients/{id}/documents`
pub async fn documents(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let docs = state.store.documents(&auth.scope(), id, false).await?;
    Ok(
        Json(json!({ "items": docs.iter().map(document_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

/// `GET /api/v1/patients/{id}/duplicates`
pub async fn duplicates(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let p = state
        .store
        .patient(&scope, &actor(&auth, &ctx, &ip), id)
        .await?;
    let d = state
        .store
        .likely_duplicates(&scope, &p.details, Some(id))
        .await?;
    Ok(Json(json!({ "items": d.iter().map(summary_json).collect::<Vec<_>>() })).into_response())
}

/// `GET /api/v1/families/{id}`
pub async fn family(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: FamilyId = id.parse().map_err(|_| AppError::NotFound)?;
    let f = state.store.family(&auth.scope(), id).await?;
    if f.members.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(Json(json!({
        "id": f.id,
        "guarantor_patient_id": f.guarantor_patient,
        "guarantor_name": f.guarantor_name(),
        "members": f.members.iter().map(summary_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize)]
pub struct ApiMerge {
    /// The record merged into this one.
    #[serde(default)]
    merged: Option<PatientId>,
}

/// `POST /api/v1/patients/{id}/merge` → `{"merge_id": …}`
pub async fn merge(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(b): Json<ApiMerge>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    state.store.patient_summary(&scope, id).await?;
    let merged = b.merged.ok_or_else(|| {
        DomainError::field("merged", "the id of the record to merge into this one")
    })?;
    let m = state
        .store
        .merge_patients(&scope, &actor(&auth, &ctx, &ip), id, merged)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "merge_id": m }))).into_response())
}

/// `POST /api/v1/merges/{id}/undo`
pub async fn undo_merge(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let m: MergeId = id.parse().map_err(|_| AppError::NotFound)?;
    state
        .store
        .undo_merge(&auth.scope(), &actor(&auth, &ctx, &ip), m)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
