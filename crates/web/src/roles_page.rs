//! `/settings/roles` (`users.manage`): the whole permission matrix — every permission against
//! the default roles and the organization's own — and the organization's roles: create, change
//! their permissions, give them to people or take them back.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::UserId;
use domain::identity::{Permission, Role};
use store::roles::NOT_FOR_STAFF_ROLES;
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::shell::{Ctx, Shell};

pub struct MatrixRow {
    pub code: &'static str,
    pub description: &'static str,
    pub cells: Vec<bool>,
}

pub struct RoleCard {
    pub id: String,
    pub name: String,
    pub perms: Vec<(&'static str, bool)>,
    pub members: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    shell: Shell,
    columns: Vec<String>,
    rows: Vec<MatrixRow>,
    custom: Vec<RoleCard>,
    people: Vec<(String, String)>,
    staff_perms: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    new_name: String,
}

fn staff_permissions() -> Vec<Permission> {
    Permission::ALL
        .iter()
        .copied()
        .filter(|p| !NOT_FOR_STAFF_ROLES.contains(p))
        .collect()
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    status: StatusCode,
    errors: Vec<String>,
    new_name: String,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let custom = state.store.custom_roles(&scope).await?;
    let mut columns: Vec<String> = Role::ALL
        .iter()
        .map(|r| ctx.lang.t(&format!("role-{}", r.code())))
        .collect();
    columns.extend(custom.iter().map(|c| c.name.clone()));
    let rows = Permission::ALL
        .iter()
        .map(|p| MatrixRow {
            code: p.code(),
            description: p.description(),
            cells: Role::ALL
                .iter()
                .map(|r| r.grants(*p))
                .chain(custom.iter().map(|c| c.permissions.allows(*p)))
                .collect(),
        })
        .collect();
    let people = state
        .store
        .users_of(&scope)
        .await?
        .into_iter()
        .filter(|u| u.active && !u.email.ends_with("@api.cuspid.invalid"))
        .map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.email)))
        .collect();
    let cards = custom
        .iter()
        .map(|c| RoleCard {
            id: c.id.to_string(),
            name: c.name.clone(),
            perms: staff_permissions()
                .into_iter()
                .map(|p| (p.code(), c.permissions.allows(p)))
                .collect(),
            members: c
                .members
                .iter()
                .map(|(id, name, email)| (id.to_string(), format!("{name} ({email})")))
                .collect(),
        })
        .collect();
    let mut r = html(&RolesPage {
        shell: Shell::build(state, ctx).await,
        columns,
        rows,
        custom: cards,
        people,
        staff_perms: staff_permissions()
            .into_iter()
            .map(|p| (p.code(), p.description()))
            .collect(),
        errors,
        new_name,
    })?;
    *r.status_mut() = status;
    if status != StatusCode::OK {
        r.extensions_mut().insert(crate::middleware::KeepBody);
    }
    Ok(r)
}

fn read(body: &[u8]) -> (String, Vec<Permission>, Option<String>) {
    let mut name = String::new();
    let mut perms = Vec::new();
    let mut user = None;
    for (k, v) in form_urlencoded_pairs(body) {
        match k.as_str() {
            "name" => name = v,
            "permission" => {
                if let Ok(p) = v.parse() {
                    perms.push(p);
                }
            }
            "user" => user = Some(v),
            _ => {}
        }
    }
    (name, perms, user)
}

fn messages(e: &domain::DomainError) -> Vec<String> {
    e.fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect()
}

/// `GET /settings/roles`
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
) -> Result<Response, AppError> {
    render(
        &state,
        &ctx,
        &auth,
        StatusCode::OK,
        Vec::new(),
        String::new(),
    )
    .await
}

/// `POST /settings/roles`
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let (name, perms, _) = read(&body);
    match state
        .store
        .create_custom_role(&auth.scope(), &auth.user, &name, &perms)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings/roles").into_response()),
        Err(WriteError::Invalid(e)) => {
            render(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                messages(&e),
                name,
            )
            .await
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

fn role_id(id: &str) -> Result<uuid::Uuid, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

fn not_found_or(e: WriteError) -> Result<Vec<String>, AppError> {
    match e {
        WriteError::Invalid(e) if e.code == domain::ErrorCode::NotFound => Err(AppError::NotFound),
        WriteError::Invalid(e) => Ok(messages(&e)),
        WriteError::Db(e) => Err(e.into()),
    }
}

/// `POST /settings/roles/{id}`: the role's permissions.
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = role_id(&id)?;
    let (_, perms, _) = read(&body);
    match state
        .store
        .set_custom_role_permissions(&auth.scope(), &auth.user, id, &perms)
        .await
    {
        Ok(()) => Ok(Redirect::to("/settings/roles").into_response()),
        Err(e) => {
            let errors = not_found_or(e)?;
            render(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                String::new(),
            )
            .await
        }
    }
}

async fn membership(
    state: &AppState,
    auth: &Auth,
    id: &str,
    body: &[u8],
    member: bool,
) -> Result<Response, AppError> {
    let id = role_id(id)?;
    // The role first: another organization's id is not found, whatever the form holds.
    if !state
        .store
        .custom_roles(&auth.scope())
        .await?
        .iter()
        .any(|r| r.id == id)
    {
        return Err(AppError::NotFound);
    }
    let (_, _, user) = read(body);
    let user: UserId = user
        .unwrap_or_default()
        .parse()
        .map_err(|_| AppError::Domain(domain::DomainError::field("user", "choose a person")))?;
    match state
        .store
        .set_custom_role_member(&auth.scope(), &auth.user, id, user, member)
        .await
    {
        Ok(()) => Ok(Redirect::to("/settings/roles").into_response()),
        Err(e) => {
            not_found_or(e)?;
            Err(AppError::NotFound)
        }
    }
}

/// `POST /settings/roles/{id}/members` (form field `user`)
pub async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    membership(&state, &auth, &id, &body, true).await
}

/// `POST /settings/roles/{id}/members/remove` (form field `user`)
pub async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    membership(&state, &auth, &id, &body, false).await
}
