//! `/doctors` (seed 004, administrators only): the providers — dentists and hygienists — with
//! their licence, NPI or national provider number, specialty and agenda colour; add, edit,
//! deactivate and reactivate.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::UserId;
use domain::identity::Role;
use domain::identity::provider::{ProviderProfile, SPECIALTIES};
use store::providers::ProviderInput;
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::shell::{Ctx, Shell};

pub struct Row {
    pub id: String,
    pub name: String,
    pub roles: String,
    pub specialty: String,
    pub licence: String,
    pub npi: String,
    pub color: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "doctors.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
}

fn role_labels(ctx: &Ctx, roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| ctx.lang.t(&format!("role-{}", r.code())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_id(id: &str) -> Result<UserId, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// `GET /doctors`
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
) -> Result<Response, AppError> {
    let rows = state
        .store
        .providers(&auth.scope())
        .await?
        .into_iter()
        .map(|p| Row {
            id: p.user.id.to_string(),
            roles: role_labels(&ctx, &p.user.roles),
            specialty: ctx.lang.t(&format!("spec-{}", p.profile.specialty)),
            licence: p.profile.licence_number,
            npi: p.profile.npi,
            color: p.profile.color,
            active: p.user.active,
            name: p.user.name,
        })
        .collect();
    html(&ListPage {
        shell: Shell::build(&state, &ctx).await,
        rows,
    })
}

pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "doctor_form.html")]
struct FormPage {
    shell: Shell,
    /// Empty for a new provider.
    id: String,
    active: bool,
    name: String,
    email: String,
    phone: String,
    licence: String,
    npi: String,
    color: String,
    roles: Vec<Choice>,
    specialties: Vec<Choice>,
    errors: Vec<String>,
}

const PROVIDER_ROLES: &[Role] = &[Role::Dentist, Role::Hygienist, Role::Admin];

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    id: String,
    active: bool,
    input: &ProviderInput,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let page = FormPage {
        shell: Shell::build(state, ctx).await,
        id,
        active,
        name: input.name.clone(),
        email: input.email.clone(),
        phone: input.phone.clone(),
        licence: input.profile.licence_number.clone(),
        npi: input.profile.npi.clone(),
        color: if input.profile.color.is_empty() {
            "#2a9d8f".into()
        } else {
            input.profile.color.clone()
        },
        roles: PROVIDER_ROLES
            .iter()
            .map(|r| Choice {
                value: r.code(),
                label: ctx.lang.t(&format!("role-{}", r.code())),
                selected: input.roles.contains(r),
            })
            .collect(),
        specialties: SPECIALTIES
            .iter()
            .map(|s| Choice {
                value: s,
                label: ctx.lang.t(&format!("spec-{s}")),
                selected: input.profile.specialty == *s,
            })
            .collect(),
        errors,
    };
    let mut r = html(&page)?;
    *r.status_mut() = status;
    if status != StatusCode::OK {
        r.extensions_mut().insert(crate::middleware::KeepBody);
    }
    Ok(r)
}

/// `GET /doctors/new`
pub async fn new_page(
    State(state): State<AppState>,
    ctx: Ctx,
    _auth: Auth,
) -> Result<Response, AppError> {
    let input = ProviderInput {
        roles: vec![Role::Dentist],
        profile: ProviderProfile {
            specialty: "general_dentistry".into(),
            ..ProviderProfile::default()
        },
        ..ProviderInput::default()
    };
    form_page(
        &state,
        &ctx,
        StatusCode::OK,
        String::new(),
        true,
        &input,
        Vec::new(),
    )
    .await
}

/// Reads the form; a phone number that cannot be normalized is reported with the others.
fn read_form(body: &[u8]) -> (ProviderInput, Option<String>) {
    let mut input = ProviderInput::default();
    let mut phone_error = None;
    for (k, v) in form_urlencoded_pairs(body) {
        match k.as_str() {
            "name" => input.name = v,
            "email" => input.email = v,
            "phone" => {
                if v.trim().is_empty() {
                    input.phone = String::new();
                } else {
                    match messaging::normalize_phone(&v, crate::phone::DEFAULT_COUNTRY_CODE) {
                        Ok(p) => input.phone = p,
                        Err(e) => {
                            phone_error = Some(e.to_string());
                            input.phone = v;
                        }
                    }
                }
            }
            "role" => {
                if let Ok(r) = v.parse::<Role>()
                    && PROVIDER_ROLES.contains(&r)
                {
                    input.roles.push(r);
                }
            }
            "licence_number" => input.profile.licence_number = v,
            "npi" => input.profile.npi = v,
            "specialty" => input.profile.specialty = v,
            "color" => input.profile.color = v,
            _ => {}
        }
    }
    (input, phone_error)
}

fn messages(ctx: &Ctx, e: &domain::DomainError, phone_error: Option<String>) -> Vec<String> {
    let mut out: Vec<String> = e
        .fields
        .iter()
        .filter(|f| !(f.field == "phone" && phone_error.is_some()))
        .map(|f| {
            format!(
                "{}: {}",
                ctx.lang.t(&format!("doctor-{}", f.field)),
                f.message
            )
        })
        .collect();
    if let Some(p) = phone_error {
        out.insert(0, format!("{}: {p}", ctx.lang.t("doctor-phone")));
    }
    out
}

/// `POST /doctors`
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (input, phone_error) = read_form(&body);
    let result = match &phone_error {
        Some(_) => Err(WriteError::Invalid(domain::DomainError::validation(
            Vec::new(),
        ))),
        None => {
            state
                .store
                .create_provider(&auth.scope(), &auth.user, &input)
                .await
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to("/doctors").into_response()),
        Err(WriteError::Invalid(e)) => {
            let errors = messages(&ctx, &e, phone_error);
            form_page(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                true,
                &input,
                errors,
            )
            .await
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

/// `GET /doctors/{id}`
pub async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let p = state
        .store
        .provider(&auth.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = ProviderInput {
        name: p.user.name.clone(),
        email: p.user.email.clone(),
        phone: p.user.phone.clone().unwrap_or_default(),
        roles: p.user.roles.clone(),
        profile: p.profile.clone(),
    };
    form_page(
        &state,
        &ctx,
        StatusCode::OK,
        id.to_string(),
        p.user.active,
        &input,
        Vec::new(),
    )
    .await
}

/// `POST /doctors/{id}`
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let current = state
        .store
        .provider(&auth.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (mut input, phone_error) = read_form(&body);
    input.email = current.user.email.clone();
    let result = match &phone_error {
        Some(_) => Err(WriteError::Invalid(domain::DomainError::validation(
            Vec::new(),
        ))),
        None => {
            state
                .store
                .update_provider(&auth.scope(), &auth.user, id, &input)
                .await
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to("/doctors").into_response()),
        Err(WriteError::Invalid(e)) if e.code == domain::ErrorCode::NotFound => {
            Err(AppError::NotFound)
        }
        Err(WriteError::Invalid(e)) => {
            let errors = messages(&ctx, &e, phone_error);
            form_page(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                id.to_string(),
                current.user.active,
                &input,
                errors,
            )
            .await
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

async fn set_active(
    state: &AppState,
    auth: &Auth,
    id: &str,
    active: bool,
) -> Result<Response, AppError> {
    let id = parse_id(id)?;
    if state.store.provider(&auth.scope(), id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    match state
        .store
        .set_user_active(&auth.scope(), &auth.user, id, active)
        .await
    {
        Ok(()) => Ok(Redirect::to("/doctors").into_response()),
        Err(WriteError::Invalid(e)) => Err(AppError::Domain(e)),
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

/// `POST /doctors/{id}/deactivate`
pub async fn deactivate(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_active(&state, &auth, &id, false).await
}

/// `POST /doctors/{id}/activate`
pub async fn activate(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_active(&state, &auth, &id, true).await
}
