//! Sign-in and sessions over HTTP: `POST /api/v1/session` (JSON), `DELETE /api/v1/session`,
//! `GET /api/v1/me`, and the `/login` and `/logout` pages. The session lives in the database
//! (valid on every server); the browser holds only a random token in a `__Host-` cookie
//! (Secure, HttpOnly, SameSite=Lax).
//!
//! Which routes need a session is decided in one place, [`crate::access`].

use askama::Template;
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::{DomainError, ErrorCode};
use serde::Deserialize;
use serde_json::json;
use store::identity::{SessionPolicy, SignInError, User};

use crate::AppState;
use crate::error::AppError;
use crate::middleware::KeepBody;
use crate::shell::Ctx;

pub const COOKIE: &str = "__Host-cuspid_session";

/// The session token from the request's cookies, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

pub(crate) fn set_cookie(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Lax"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

pub(crate) fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-cuspid_session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
    )
}

pub(crate) fn client(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let ip = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string());
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (ip, ua)
}

fn user_json(u: &User) -> serde_json::Value {
    json!({
        "user": {
            "id": u.id,
            "org_id": u.org_id,
            "email": u.email,
            "name": u.name,
            "locations": u.locations,
        },
        "roles": u.roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
        "landing_page": crate::pages::landing_page(u),
        "mfa_enabled": u.mfa_enabled,
        "mfa_required": u.mfa_required,
    })
}

fn unauthorized(message: &str) -> AppError {
    AppError::Domain(DomainError::new(ErrorCode::Unauthorized, message))
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /api/v1/session`
pub async fn api_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(c): Json<Credentials>,
) -> Result<Response, AppError> {
    let (ip, ua) = client(&headers);
    match state
        .store
        .sign_in(
            &c.email,
            &c.password,
            SessionPolicy::default(),
            ip.as_deref(),
            ua.as_deref(),
        )
        .await
    {
        Ok(s) => {
            let s = if s.mfa_pending {
                let Some(code) = c.totp.as_deref().filter(|c| !c.trim().is_empty()) else {
                    state.store.revoke_session(&s.token).await?;
                    return Err(AppError::Domain(
                        DomainError::new(
                            ErrorCode::Unauthorized,
                            "a one-time code from the authenticator app is required",
                        )
                        .with_field("totp", "required"),
                    ));
                };
                match state
                    .store
                    .complete_mfa(
                        &s.token,
                        code,
                        SessionPolicy::default(),
                        ip.as_deref(),
                        ua.as_deref(),
                    )
                    .await
                {
                    Ok(full) => full,
                    Err(SignInError::Rejected) => {
                        return Err(unauthorized(
                            "the email, password or one-time code is not correct",
                        ));
                    }
                    Err(SignInError::Db(e)) => return Err(e.into()),
                }
            } else {
                s
            };
            let mut r = Json(user_json(&s.user)).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&s.token));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(r)
        }
        Err(SignInError::Rejected) => Err(unauthorized("the email or password is not correct")),
        Err(SignInError::Db(e)) => Err(e.into()),
    }
}

/// `DELETE /api/v1/session`
pub async fn api_sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(t) = token(&headers) {
        state.store.revoke_session(&t).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    Ok(r)
}

/// `GET /api/v1/me`
pub async fn api_me(auth: crate::access::Auth) -> Response {
    Json(user_json(&auth.user)).into_response()
}

/// Percent-encodes a query component (the `next` path after sign-in).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: &'static str,
    t: crate::i18n::Lang,
    error: Option<String>,
    notice: Option<String>,
    email: String,
    next: String,
    request_id: String,
}

impl LoginPage {
    fn tr(&self, key: &str) -> String {
        self.t.t(key)
    }

    fn next_q(&self) -> String {
        encode_component(&self.next)
    }
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    #[serde(default)]
    next: String,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    reset: Option<String>,
}

/// Only local paths: never redirect to another site after sign-in.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

fn render_login(
    ctx: &Ctx,
    status: StatusCode,
    error: Option<String>,
    email: String,
    next: String,
) -> Result<Response, AppError> {
    let page = LoginPage {
        lang: ctx.lang.code(),
        t: ctx.lang,
        error,
        notice: None,
        email,
        next,
        request_id: ctx.request_id.clone(),
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

/// `GET /login`
pub async fn login_page(ctx: Ctx, Query(q): Query<NextParam>) -> Result<Response, AppError> {
    let page = LoginPage {
        lang: ctx.lang.code(),
        t: ctx.lang,
        error: None,
        notice: match (q.expired, q.reset) {
            (_, Some(_)) => Some(ctx.lang.t("login-reset-done")),
            (Some(_), None) => Some(ctx.lang.t("login-expired")),
            (None, None) => None,
        },
        email: String::new(),
        next: q.next,
        request_id: ctx.request_id.clone(),
    };
    let html = page
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    let mut r = Html(html).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`
pub async fn login_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let (ip, ua) = client(&headers);
    match state
        .store
        .sign_in(
            &f.email,
            &f.password,
            SessionPolicy::default(),
            ip.as_deref(),
            ua.as_deref(),
        )
        .await
    {
        Ok(s) => {
            let landing = crate::pages::landing_page(&s.user);
            let to = if s.mfa_pending {
                format!("/login/mfa?next={}", encode_component(&f.next))
            } else {
                safe_next(&f.next).unwrap_or(landing).to_string()
            };
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&s.token));
            Ok(r)
        }
        Err(SignInError::Rejected) => render_login(
            &ctx,
            StatusCode::UNAUTHORIZED,
            Some(ctx.lang.t("login-rejected")),
            f.email,
            f.next,
        ),
        Err(SignInError::Db(e)) => Err(e.into()),
    }
}

/// `POST /logout`
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(t) = token(&headers) {
        state.store.revoke_session(&t).await?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_redirects() {
        assert_eq!(
            safe_next("/appointments?day=2026-03-02"),
            Some("/appointments?day=2026-03-02")
        );
        assert_eq!(safe_next("//evil.example/"), None);
        assert_eq!(safe_next("https://evil.example/"), None);
        assert_eq!(safe_next(""), None);
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; __Host-cuspid_session=tok123; b=2".parse().unwrap(),
        );
        assert_eq!(token(&h).as_deref(), Some("tok123"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "__Host-cuspid_session=".parse().unwrap());
        assert_eq!(token(&h), None);
    }
}
