//! `/profile`: every signed-in user's own account — who they are, their password, and where
//! they are signed in, with sign-out per session.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::identity::{SessionPolicy, User};
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::middleware::KeepBody;
use crate::session::{client, set_cookie};
use crate::shell::{Ctx, Shell};

pub struct SessionRow {
    pub id: String,
    pub started: String,
    pub last_used: String,
    pub device: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    shell: Shell,
    name: String,
    email: String,
    phone: String,
    roles: String,
    sessions: Vec<SessionRow>,
    errors: Vec<String>,
    notice: Option<String>,
    mfa_enabled: bool,
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    token: &str,
    status: StatusCode,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let scope = user.scope();
    let sessions = state
        .store
        .sessions_of(&scope, user.id, Some(token))
        .await?
        .into_iter()
        .map(|s| SessionRow {
            started: s.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            last_used: s.last_seen_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            device: [s.user_agent.unwrap_or_default(), s.ip.unwrap_or_default()]
                .iter()
                .filter(|x| !x.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" · "),
            current: s.current,
            id: s.id,
        })
        .collect();
    let page = ProfilePage {
        shell: Shell::build(state, ctx).await,
        name: user.name.clone(),
        email: user.email.clone(),
        phone: user.phone.clone().unwrap_or_default(),
        roles: user
            .roles
            .iter()
            .map(|r| r.code())
            .collect::<Vec<_>>()
            .join(", "),
        sessions,
        errors,
        notice,
        mfa_enabled: user.mfa_enabled,
    };
    let html = page
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    let mut r = (status, Html(html)).into_response();
    r.extensions_mut().insert(KeepBody);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    changed: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<Notice>,
) -> Result<Response, AppError> {
    let user = &auth.user;
    let notice = match (q.changed, q.saved) {
        (Some(_), _) => Some(ctx.lang.t("profile-password-changed")),
        (None, Some(_)) => Some(ctx.lang.t("settings-saved")),
        (None, None) => None,
    };
    render(
        &state,
        &ctx,
        user,
        &auth.token,
        StatusCode::OK,
        Vec::new(),
        notice,
    )
    .await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let user = &auth.user;
    match state
        .store
        .change_password(&user.scope(), user, &f.current_password, &f.new_password)
        .await
    {
        Ok(()) => {
            // Every session was revoked; sign this device in again with the new password.
            let (ip, ua) = client(&headers);
            let mut r = Redirect::to("/profile?changed=1").into_response();
            if let Ok(s) = state
                .store
                .sign_in(
                    &user.email,
                    &f.new_password,
                    SessionPolicy::default(),
                    ip.as_deref(),
                    ua.as_deref(),
                )
                .await
            {
                r.headers_mut()
                    .insert(header::SET_COOKIE, set_cookie(&s.token));
            }
            Ok(r)
        }
        Err(WriteError::Invalid(e)) => {
            let errors = e
                .fields
                .iter()
                .map(|f| format!("{}: {}", ctx.lang.t(&field_key(&f.field)), f.message))
                .collect();
            render(
                &state,
                &ctx,
                user,
                &auth.token,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                None,
            )
            .await
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DetailsForm {
    name: String,
    #[serde(default)]
    phone: String,
}

/// `POST /profile/details`: the user's own name and mobile number.
pub async fn change_details(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Form(f): Form<DetailsForm>,
) -> Result<Response, AppError> {
    let user = &auth.user;
    let phone = if f.phone.trim().is_empty() {
        Ok(String::new())
    } else {
        messaging::normalize_phone(&f.phone, crate::phone::DEFAULT_COUNTRY_CODE)
            .map_err(|e| format!("{}: {e}", ctx.lang.t("doctor-phone")))
    };
    let result: Result<(), Vec<String>> = match phone {
        Ok(p) => match state.store.update_own_details(user, &f.name, &p).await {
            Ok(()) => return Ok(Redirect::to("/profile?saved=1").into_response()),
            Err(WriteError::Invalid(e)) => Err(e
                .fields
                .iter()
                .map(|fe| {
                    format!(
                        "{}: {}",
                        ctx.lang.t(&format!("doctor-{}", fe.field)),
                        fe.message
                    )
                })
                .collect()),
            Err(WriteError::Db(e)) => return Err(e.into()),
        },
        Err(msg) => Err(vec![msg]),
    };
    let errors = result.err().unwrap_or_default();
    render(
        &state,
        &ctx,
        user,
        &auth.token,
        StatusCode::UNPROCESSABLE_ENTITY,
        errors,
        None,
    )
    .await
}

fn field_key(field: &str) -> String {
    match field {
        "current_password" => "profile-current-password".into(),
        _ => "profile-new-password".into(),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = &auth.user;
    if !state
        .store
        .revoke_session_id(&user.scope(), user.id, &id)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/profile").into_response())
}
