//! `/settings/patient-fields` (administrators): the practice's own fields on the patient
//! record (text, number, date or a choice), added, turned off and on again. Answers are kept
//! when a field is turned off.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::patients::CustomField;

use super::actor;
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct Row {
    pub id: String,
    pub key: String,
    pub label: String,
    pub kind: String,
    pub choices: String,
    pub required: bool,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "patient_fields.html")]
struct Page {
    shell: Shell,
    rows: Vec<Row>,
}

/// `GET /settings/patient-fields`
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
) -> Result<Response, AppError> {
    let rows = state
        .store
        .patient_fields(&auth.scope(), true)
        .await?
        .into_iter()
        .map(|d| Row {
            id: d.id.to_string(),
            kind: ctx.lang.t(&format!("field-kind-{}", d.field.kind)),
            choices: d.field.choices.join(", "),
            required: d.field.required,
            active: d.active,
            key: d.field.key,
            label: d.field.label,
        })
        .collect();
    html(&Page {
        shell: Shell::build(&state, &ctx).await,
        rows,
    })
}

/// `POST /settings/patient-fields`
pub async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut f = CustomField {
        key: String::new(),
        label: String::new(),
        kind: "text".into(),
        choices: vec![],
        required: false,
    };
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "key" => f.key = v.trim().to_string(),
            "label" => f.label = v,
            "kind" => f.kind = v,
            "choices" => f.choices = v.split(',').map(str::to_string).collect(),
            "required" => f.required = v == "on",
            _ => {}
        }
    }
    state
        .store
        .add_patient_field(&auth.scope(), &actor(&auth, &ctx, &ip), f)
        .await?;
    Ok(Redirect::to("/settings/patient-fields").into_response())
}

/// `POST /settings/patient-fields/{id}/toggle`
pub async fn toggle(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let scope = auth.scope();
    let current = state
        .store
        .patient_fields(&scope, true)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(AppError::NotFound)?;
    state
        .store
        .set_patient_field_active(&scope, &actor(&auth, &ctx, &ip), id, !current.active)
        .await?;
    Ok(Redirect::to("/settings/patient-fields").into_response())
}
