//! `/settings/api-tokens` (`settings.manage`): API tokens for External clients — create with a
//! name, permissions and a lifetime (the token is shown once), see when each was last used,
//! revoke.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::identity::Permission;
use store::tenancy::WriteError;
use store::tokens::NEVER_FOR_TOKENS;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::shell::{Ctx, Shell};

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub permissions: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub live: bool,
}

pub struct PermChoice {
    pub code: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "api_tokens.html")]
struct TokensPage {
    shell: Shell,
    rows: Vec<TokenRow>,
    perms: Vec<PermChoice>,
    name: String,
    valid_days: String,
    errors: Vec<String>,
    /// The token just created, shown once.
    created: Option<String>,
}

fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    status: StatusCode,
    form: (String, String, Vec<Permission>),
    errors: Vec<String>,
    created: Option<String>,
) -> Result<Response, AppError> {
    let now = state.store.now();
    let rows = state
        .store
        .api_tokens(&auth.scope())
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            permissions: t
                .permissions
                .iter()
                .filter(|p| *p != Permission::ApiAccess)
                .map(|p| p.code())
                .collect::<Vec<_>>()
                .join(", "),
            created: day(t.created_at),
            expires: day(t.expires_at),
            last_used: t
                .last_used_at
                .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| ctx.lang.t("tokens-never")),
            live: !t.revoked && t.expires_at > now,
            name: t.name,
        })
        .collect();
    let perms = Permission::ALL
        .iter()
        .filter(|p| !NEVER_FOR_TOKENS.contains(p) && **p != Permission::ApiAccess)
        .map(|p| PermChoice {
            code: p.code(),
            description: p.description(),
            checked: form.2.contains(p),
        })
        .collect();
    let mut r = html(&TokensPage {
        shell: Shell::build(state, ctx).await,
        rows,
        perms,
        name: form.0,
        valid_days: form.1,
        errors,
        created,
    })?;
    *r.status_mut() = status;
    if status != StatusCode::OK {
        r.extensions_mut().insert(crate::middleware::KeepBody);
    }
    Ok(r)
}

/// `GET /settings/api-tokens`
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
        (String::new(), "90".into(), Vec::new()),
        Vec::new(),
        None,
    )
    .await
}

/// `POST /settings/api-tokens`
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut name = String::new();
    let mut days_text = String::new();
    let mut perms = Vec::new();
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "name" => name = v,
            "valid_days" => days_text = v,
            "permission" => {
                if let Ok(p) = v.parse::<Permission>() {
                    perms.push(p);
                }
            }
            _ => {}
        }
    }
    let days = days_text.trim().parse::<i64>().unwrap_or(0);
    match state
        .store
        .create_api_token(&auth.scope(), &auth.user, &name, &perms, days)
        .await
    {
        Ok(token) => {
            render(
                &state,
                &ctx,
                &auth,
                StatusCode::OK,
                (String::new(), "90".into(), Vec::new()),
                Vec::new(),
                Some(token),
            )
            .await
        }
        Err(WriteError::Invalid(e)) => {
            let errors = e
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            render(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                (name, days_text, perms),
                errors,
                None,
            )
            .await
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

/// `POST /settings/api-tokens/{id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    if !state
        .store
        .revoke_api_token(&auth.scope(), &auth.user, id)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/settings/api-tokens").into_response())
}
