//! Treatment cases. `/treatments`: the organization's cases, open ones first (one patient's
//! with `?patient=`, where a new one is opened). `/treatments/{id}`: a case — its title,
//! notes and dentist, its diagnoses and procedures from the chart, its prescriptions and files,
//! each linked or unlinked from what the patient has; close and reopen. And the JSON API.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::clinical::case::{CaseText, ItemKind};
use domain::identity::Permission;
use domain::{ErrorCode, PatientId, UserId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::cases::{CaseDetail, TreatmentCase};
use store::clinical::ChartEntry;
use store::tenancy::WriteError;

use super::show_site;
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html_status;
use crate::patients::{Choice, FieldErrors, actor, parse_patient_id, show_time};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct CaseRow {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub patient_id: String,
    pub patient: String,
    pub opened: String,
    pub open: bool,
    pub counts: String,
}

fn case_row(lang: Lang, c: &TreatmentCase, patient: String) -> CaseRow {
    CaseRow {
        id: c.id.to_string(),
        reference: c.reference(),
        title: c.text.title.clone(),
        patient_id: c.patient_id.to_string(),
        patient,
        opened: show_time(lang, c.opened_at),
        open: c.open,
        counts: format!(
            "{} · {} · {}",
            plural(lang, c.counts[0], "case-count-entries"),
            plural(lang, c.counts[1], "case-count-prescriptions"),
            plural(lang, c.counts[2], "case-count-files")
        ),
    }
}

fn plural(lang: Lang, n: usize, key: &str) -> String {
    format!("{n} {}", lang.t(key))
}

#[derive(Template)]
#[template(path = "treatments.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<CaseRow>,
    /// Filtered to one patient: their id and name, and the new case form.
    patient_id: String,
    patient_name: String,
    dentists: Vec<Choice>,
    title: String,
    notes: String,
    can_write: bool,
    fe: FieldErrors,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    patient: String,
}

#[allow(clippy::too_many_arguments)]
async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    patient: Option<PatientId>,
    typed: CaseText,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let listed = state.store.cases(&scope, &who, patient, 200).await?;
    let (patient_id, patient_name, dentists) = match patient {
        Some(p) => {
            let s = state.store.patient_summary(&scope, p).await?;
            let dentists = std::iter::once(Choice {
                value: String::new(),
                label: "—".into(),
                selected: true,
            })
            .chain(
                state
                    .store
                    .agenda_providers(&scope, s.location_id)
                    .await?
                    .into_iter()
                    .map(|d| Choice {
                        value: d.id.to_string(),
                        label: d.name,
                        selected: false,
                    }),
            )
            .collect();
            (p.to_string(), s.display_name(), dentists)
        }
        None => (String::new(), String::new(), Vec::new()),
    };
    html_status(
        &ListPage {
            shell: Shell::build(state, ctx).await,
            rows: listed
                .iter()
                .map(|l| {
                    case_row(
                        lang,
                        &l.case,
                        format!("{} (#{})", l.patient.display_name(), l.patient.chart_number),
                    )
                })
                .collect(),
            patient_id,
            patient_name,
            dentists,
            title: typed.title,
            notes: typed.notes,
            can_write: auth.can(Permission::TreatmentWrite),
            fe,
        },
        status,
    )
}

/// `GET /treatments[?patient=…]`
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let patient = if q.patient.is_empty() {
        None
    } else {
        Some(parse_patient_id(&q.patient)?)
    };
    list_page(
        &state,
        &ctx,
        &auth,
        &ip,
        patient,
        CaseText::default(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /treatments` with `patient_id`, `title`, `notes`, `dentist_id`: opens a case.
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut text = CaseText::default();
    let mut patient = None;
    let mut dentist: Option<UserId> = None;
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "patient_id" => patient = v.parse::<PatientId>().ok(),
            "title" => text.title = v,
            "notes" => text.notes = v,
            "dentist_id" if !v.is_empty() => dentist = v.parse().ok(),
            _ => {}
        }
    }
    let Some(patient) = patient else {
        return Err(AppError::Domain(domain::DomainError::field(
            "patient_id",
            "open a case from the patient's record",
        )));
    };
    match state
        .store
        .open_case(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            patient,
            &text,
            dentist,
        )
        .await
    {
        Ok(c) => Ok(Redirect::to(&format!("/treatments/{}?notice=opened", c.id)).into_response()),
        Err(WriteError::Invalid(d)) if d.code == ErrorCode::Validation => {
            let fe = FieldErrors::of(&d.fields);
            list_page(
                &state,
                &ctx,
                &auth,
                &ip,
                Some(patient),
                text,
                fe,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct ItemView {
    pub id: String,
    pub label: String,
    pub detail: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "treatment.html")]
struct CasePage {
    shell: Shell,
    c: CaseRow,
    case_id: String,
    version: i64,
    notes: String,
    dentist: String,
    closed: String,
    diagnoses: Vec<ItemView>,
    procedures: Vec<ItemView>,
    prescriptions: Vec<ItemView>,
    documents: Vec<ItemView>,
    add_entries: Vec<Choice>,
    add_prescriptions: Vec<Choice>,
    add_documents: Vec<Choice>,
    can_write: bool,
    fe: FieldErrors,
    error: String,
    notice: String,
}

fn entry_view(
    lang: Lang,
    e: &ChartEntry,
    numbering: domain::clinical::teeth::Numbering,
    patient: &str,
) -> ItemView {
    let (site, surfaces) = show_site(e.site, numbering);
    ItemView {
        id: e.id.to_string(),
        label: format!("{} {}", e.code, e.name),
        detail: [
            site,
            surfaces,
            lang.t(&format!("chart-status-{}", e.status.code())),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · "),
        href: format!("/patients/{patient}/chart"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn case_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: uuid::Uuid,
    fe: FieldErrors,
    error: String,
    notice: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let d: CaseDetail = state
        .store
        .case_detail(&scope, &actor(auth, ctx, ip), id)
        .await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let patient = d.case.patient_id.to_string();
    let dentist = match d.case.dentist_id {
        Some(u) => state
            .store
            .provider(&scope, u)
            .await?
            .map(|p| p.user.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let rx_view = |p: &store::prescriptions::Prescription| ItemView {
        id: p.id.to_string(),
        label: format!("{} · {}", p.reference(), p.medicine.label()),
        detail: format!(
            "{} · {}",
            show_time(lang, p.prescribed_at),
            p.prescriber.name
        ),
        href: format!("/patients/{patient}/prescriptions/{}", p.id),
    };
    let doc_view = |x: &store::patients::documents::Document| ItemView {
        id: x.id.to_string(),
        label: x.title.clone(),
        detail: format!(
            "{} · {}",
            lang.t(&format!("doccat-{}", x.category)),
            show_time(lang, x.uploaded_at)
        ),
        href: format!("/patients/{patient}/documents/{}", x.id),
    };
    let choices = |items: Vec<(String, String)>| -> Vec<Choice> {
        items
            .into_iter()
            .map(|(value, label)| Choice {
                value,
                label,
                selected: false,
            })
            .collect()
    };
    html_status(
        &CasePage {
            shell: Shell::build(state, ctx).await,
            c: case_row(
                lang,
                &d.case,
                format!("{} (#{})", d.patient.display_name(), d.patient.chart_number),
            ),
            case_id: d.case.id.to_string(),
            version: d.case.version,
            notes: d.case.text.notes.clone(),
            dentist,
            closed: d
                .case
                .closed
                .as_ref()
                .map(|(by, at)| format!("{by} · {}", show_time(lang, *at)))
                .unwrap_or_default(),
            diagnoses: d
                .diagnoses
                .iter()
                .map(|e| entry_view(lang, e, numbering, &patient))
                .collect(),
            procedures: d
                .procedures
                .iter()
                .map(|e| entry_view(lang, e, numbering, &patient))
                .collect(),
            prescriptions: d.prescriptions.iter().map(rx_view).collect(),
            documents: d.documents.iter().map(doc_view).collect(),
            add_entries: choices(
                d.unlinked_entries
                    .iter()
                    .map(|e| {
                        let v = entry_view(lang, e, numbering, &patient);
                        (v.id, format!("{} · {}", v.label, v.detail))
                    })
                    .collect(),
            ),
            add_prescriptions: choices(
                d.unlinked_prescriptions
                    .iter()
                    .map(|p| {
                        let v = rx_view(p);
                        (v.id, v.label)
                    })
                    .collect(),
            ),
            add_documents: choices(
                d.unlinked_documents
                    .iter()
                    .map(|x| {
                        let v = doc_view(x);
                        (v.id, v.label)
                    })
                    .collect(),
            ),
            can_write: auth.can(Permission::TreatmentWrite),
            fe,
            error,
            notice,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
pub struct CaseQuery {
    #[serde(default)]
    notice: String,
}

fn parse_case(s: &str) -> Result<uuid::Uuid, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// `GET /treatments/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Result<Response, AppError> {
    let id = parse_case(&id)?;
    let notice = match q.notice.as_str() {
        "opened" | "saved" | "closed" | "reopened" | "linked" | "unlinked" => {
            ctx.lang.t(&format!("case-notice-{}", q.notice))
        }
        _ => String::new(),
    };
    case_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        FieldErrors::default(),
        String::new(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /treatments/{id}`: `action` = `save` (title, notes, base_version), `close`,
/// `reopen`, `link` or `unlink` (kind, item).
pub async fn act(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_case(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let mut action = String::new();
    let mut text = CaseText::default();
    let mut base = None;
    let mut kind = None;
    let mut item = None;
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "action" => action = v,
            "title" => text.title = v,
            "notes" => text.notes = v,
            "base_version" => base = v.trim().parse().ok(),
            "kind" => kind = ItemKind::from_code(&v),
            "item" => item = v.parse::<uuid::Uuid>().ok(),
            _ => {}
        }
    }
    let result = match action.as_str() {
        "save" => state
            .store
            .save_case_text(&scope, &who, id, &text, base)
            .await
            .map(|_| "saved"),
        "close" | "reopen" => state
            .store
            .set_case_open(&scope, &who, id, action == "reopen")
            .await
            .map(|_| {
                if action == "reopen" {
                    "reopened"
                } else {
                    "closed"
                }
            }),
        "link" | "unlink" => match (kind, item) {
            (Some(k), Some(i)) => state
                .store
                .link_case_item(&scope, &who, id, k, i, action == "link")
                .await
                .map(|_| {
                    if action == "link" {
                        "linked"
                    } else {
                        "unlinked"
                    }
                }),
            _ => {
                // Another organization's case is not found, whatever was sent.
                state.store.case_detail(&scope, &who, id).await?;
                Err(WriteError::Invalid(domain::DomainError::field(
                    "item",
                    "choose what to link",
                )))
            }
        },
        _ => {
            state.store.case_detail(&scope, &who, id).await?;
            return Err(AppError::Domain(domain::DomainError::field(
                "action",
                "save, close, reopen, link or unlink",
            )));
        }
    };
    match result {
        Ok(notice) => {
            Ok(Redirect::to(&format!("/treatments/{id}?notice={notice}")).into_response())
        }
        Err(WriteError::Invalid(d)) if d.code != ErrorCode::NotFound => {
            let status = StatusCode::from_u16(d.code.http_status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let fe = FieldErrors::of(&d.fields);
            case_page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                fe,
                d.message,
                String::new(),
                status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// The JSON API.

fn case_json(c: &TreatmentCase) -> Value {
    json!({
        "id": c.id,
        "number": c.number,
        "reference": c.reference(),
        "patient_id": c.patient_id,
        "dentist_id": c.dentist_id,
        "title": c.text.title,
        "notes": c.text.notes,
        "status": if c.open { "open" } else { "closed" },
        "opened_at": c.opened_at.to_string(),
        "opened_by": c.opened_by_name,
        "closed_at": c.closed.as_ref().map(|(_, at)| at.to_string()),
        "version": c.version,
        "counts": { "chart_entries": c.counts[0], "prescriptions": c.counts[1], "documents": c.counts[2] },
    })
}

/// `GET /api/v1/treatments[?patient=…]`
pub async fn api_list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let patient = if q.patient.is_empty() {
        None
    } else {
        Some(parse_patient_id(&q.patient)?)
    };
    let items = state
        .store
        .cases(&auth.scope(), &actor(&auth, &ctx, &ip), patient, 500)
        .await?;
    Ok(
        Json(json!({ "items": items.iter().map(|l| case_json(&l.case)).collect::<Vec<_>>() }))
            .into_response(),
    )
}

/// `GET /api/v1/treatments/{id}`: the case and the ids of what it links.
pub async fn api_get(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_case(&id)?;
    let d = state
        .store
        .case_detail(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    let mut v = case_json(&d.case);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "diagnoses".into(),
            json!(
                d.diagnoses
                    .iter()
                    .map(super::api::entry_json)
                    .collect::<Vec<_>>()
            ),
        );
        m.insert(
            "procedures".into(),
            json!(
                d.procedures
                    .iter()
                    .map(super::api::entry_json)
                    .collect::<Vec<_>>()
            ),
        );
        m.insert(
            "prescriptions".into(),
            json!(d.prescriptions.iter().map(|p| p.id).collect::<Vec<_>>()),
        );
        m.insert(
            "documents".into(),
            json!(d.documents.iter().map(|x| x.id).collect::<Vec<_>>()),
        );
    }
    Ok(Json(v).into_response())
}

#[derive(Deserialize)]
pub struct CaseBody {
    #[serde(default)]
    title: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    dentist_id: Option<UserId>,
}

/// `POST /api/v1/patients/{id}/treatments` → 201 with the case.
pub async fn api_create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(b): Json<CaseBody>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let c = state
        .store
        .open_case(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            id,
            &CaseText {
                title: b.title,
                notes: b.notes,
            },
            b.dentist_id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(case_json(&c))).into_response())
}
