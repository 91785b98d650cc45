//! Two-step sign-in with an authenticator app (TOTP): the code step of sign-in
//! (`/login/mfa`), enrolment and removal on `/profile/mfa`, and the roles an organization
//! requires it of (`/settings/security`).

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::identity::Role;
use serde::Deserialize;
use store::identity::{SessionPolicy, SignInError};
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::middleware::KeepBody;
use crate::session::{client, safe_next, set_cookie, token};
use crate::shell::{Ctx, Shell};

fn keep(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    r.extensions_mut().insert(KeepBody);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn render<T: Template>(t: &T, status: StatusCode) -> Result<Response, AppError> {
    let html = t
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok(keep(status, html))
}

#[derive(Template)]
#[template(path = "login_mfa.html")]
struct LoginMfaPage {
    lang: &'static str,
    t: crate::i18n::Lang,
    error: Option<String>,
    next: String,
    request_id: String,
}

impl LoginMfaPage {
    fn tr(&self, key: &str) -> String {
        self.t.t(key)
    }
}

#[derive(Deserialize, Default)]
pub struct NextOnly {
    #[serde(default)]
    next: String,
}

/// `GET /login/mfa`: the code step of sign-in (the cookie holds the pending session).
pub async fn login_page(ctx: Ctx, Query(q): Query<NextOnly>) -> Result<Response, AppError> {
    if ctx.session.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    render(
        &LoginMfaPage {
            lang: ctx.lang.code(),
            t: ctx.lang,
            error: None,
            next: q.next,
            request_id: ctx.request_id.clone(),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    #[serde(default)]
    next: String,
}

/// `POST /login/mfa`
pub async fn login_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let (ip, ua) = client(&headers);
    let pending = token(&headers).unwrap_or_default();
    match state
        .store
        .complete_mfa(
            &pending,
            &f.code,
            SessionPolicy::default(),
            ip.as_deref(),
            ua.as_deref(),
        )
        .await
    {
        Ok(s) => {
            let landing = crate::pages::landing_page(&s.user);
            let to = safe_next(&f.next).unwrap_or(landing).to_string();
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&s.token));
            Ok(r)
        }
        Err(SignInError::Rejected) => render(
            &LoginMfaPage {
                lang: ctx.lang.code(),
                t: ctx.lang,
                error: Some(ctx.lang.t("mfa-rejected")),
                next: f.next,
                request_id: ctx.request_id.clone(),
            },
            StatusCode::UNAUTHORIZED,
        ),
        Err(SignInError::Db(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "profile_mfa.html")]
struct ProfileMfaPage {
    shell: Shell,
    enabled: bool,
    required: bool,
    qr_svg: String,
    secret_groups: String,
    codes_left: i64,
    recovery_codes: Vec<String>,
    errors: Vec<String>,
}

fn field_errors(ctx: &Ctx, e: &domain::DomainError) -> Vec<String> {
    e.fields
        .iter()
        .map(|f| format!("{}: {}", ctx.lang.t("mfa-code"), f.message))
        .collect()
}

async fn mfa_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    status: StatusCode,
    errors: Vec<String>,
    recovery_codes: Vec<String>,
) -> Result<Response, AppError> {
    // The user as stored now (enrolment may just have changed it).
    let user = state
        .store
        .user(&auth.scope(), auth.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (qr_svg, secret_groups) = if user.mfa_enabled {
        (String::new(), String::new())
    } else {
        let secret = state.store.begin_totp_enrolment(&user).await?;
        let issuer = match state.store.org(user.org_id).await? {
            Some(o) => format!("Cuspid ({})", o.name),
            None => "Cuspid".to_string(),
        };
        let uri = domain::identity::totp::otpauth_uri(&secret, &issuer, &user.email);
        let b32 = secret.to_base32();
        let groups = b32
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        (
            crate::qr::svg(&uri, &ctx.lang.t("mfa-qr-label")).unwrap_or_default(),
            groups,
        )
    };
    let codes_left = if user.mfa_enabled {
        state.store.recovery_codes_left(&user).await?
    } else {
        0
    };
    render(
        &ProfileMfaPage {
            shell: Shell::build(state, ctx).await,
            enabled: user.mfa_enabled,
            required: user.mfa_required,
            qr_svg,
            secret_groups,
            codes_left,
            recovery_codes,
            errors,
        },
        status,
    )
}

/// `GET /profile/mfa`
pub async fn profile_page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
) -> Result<Response, AppError> {
    mfa_page(&state, &ctx, &auth, StatusCode::OK, Vec::new(), Vec::new()).await
}

#[derive(Deserialize)]
pub struct EnrolForm {
    code: String,
}

/// `POST /profile/mfa`: confirms enrolment with a code; shows the recovery codes once.
pub async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Form(f): Form<EnrolForm>,
) -> Result<Response, AppError> {
    match state
        .store
        .confirm_totp_enrolment(&auth.user, &f.code)
        .await
    {
        Ok(codes) => mfa_page(&state, &ctx, &auth, StatusCode::OK, Vec::new(), codes).await,
        Err(WriteError::Invalid(e)) => {
            let errors = field_errors(&ctx, &e);
            mfa_page(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                Vec::new(),
            )
            .await
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

/// `POST /profile/mfa/disable`: needs a current code or a recovery code. Refused while one of
/// the user's roles requires a second factor.
pub async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Form(f): Form<EnrolForm>,
) -> Result<Response, AppError> {
    if auth.user.mfa_required {
        let errors = vec![ctx.lang.t("mfa-required-cannot-disable")];
        return mfa_page(
            &state,
            &ctx,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            Vec::new(),
        )
        .await;
    }
    match state.store.disable_totp(&auth.user, &f.code).await {
        Ok(()) => Ok(Redirect::to("/profile/mfa").into_response()),
        Err(WriteError::Invalid(e)) => {
            let errors = field_errors(&ctx, &e);
            mfa_page(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                Vec::new(),
            )
            .await
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

pub struct RoleChoice {
    pub code: &'static str,
    pub label: String,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "settings_security.html")]
struct SecurityPage {
    shell: Shell,
    roles: Vec<RoleChoice>,
    saved: bool,
    settings: store::security::OrgSecurity,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /settings/security`: which roles must use two-step sign-in, session lifetimes and the
/// anomaly alert thresholds.
pub async fn settings_page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<Saved>,
) -> Result<Response, AppError> {
    let settings = state.store.org_security(auth.user.org_id).await?;
    security_page(&state, &ctx, &auth, q.saved.is_some(), settings, Vec::new()).await
}

async fn security_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    saved: bool,
    settings: store::security::OrgSecurity,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let required = state.store.mfa_required_roles(auth.user.org_id).await?;
    let roles = Role::STAFF
        .iter()
        .map(|r| RoleChoice {
            code: r.code(),
            label: ctx.lang.t(&format!("role-{}", r.code())),
            required: required.contains(r),
        })
        .collect();
    render(
        &SecurityPage {
            shell: Shell::build(state, ctx).await,
            roles,
            saved,
            settings,
            errors: errors.clone(),
        },
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
    )
}

/// `POST /settings/security/sessions`: session lifetimes and anomaly thresholds.
pub async fn sessions_save(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut s = store::security::OrgSecurity {
        anomaly_off_hours: false,
        ..store::security::OrgSecurity::default()
    };
    let mut errors = Vec::new();
    for (k, v) in form_urlencoded_pairs(&body) {
        let num = |v: &str, errors: &mut Vec<String>| match v.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                errors.push(format!("{k}: {}", ctx.lang.t("settings-whole-number")));
                0
            }
        };
        match k.as_str() {
            "session_idle_minutes" => s.session_idle_minutes = num(&v, &mut errors),
            "session_absolute_hours" => s.session_absolute_hours = num(&v, &mut errors),
            "anomaly_patients_per_hour" => s.anomaly_patients_per_hour = num(&v, &mut errors),
            "anomaly_off_hours" => s.anomaly_off_hours = true,
            _ => {}
        }
    }
    if errors.is_empty() {
        match state
            .store
            .set_org_security(&auth.scope(), &auth.user, &s)
            .await
        {
            Ok(()) => return Ok(Redirect::to("/settings/security?saved=1").into_response()),
            Err(WriteError::Invalid(e)) => {
                errors = e
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            ctx.lang.t(&format!("security-{}", f.field)),
                            f.message
                        )
                    })
                    .collect()
            }
            Err(WriteError::Db(e)) => return Err(e.into()),
        }
    }
    security_page(&state, &ctx, &auth, false, s, errors).await
}

/// `POST /settings/security` (a form of checkboxes named `role`).
pub async fn settings_save(
    State(state): State<AppState>,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let roles: Vec<Role> = form_urlencoded_pairs(&body)
        .filter(|(k, _)| k == "role")
        .filter_map(|(_, v)| v.parse().ok())
        .filter(|r| Role::STAFF.contains(r))
        .collect();
    state
        .store
        .set_mfa_required_roles(&auth.scope(), &auth.user, &roles)
        .await?;
    Ok(Redirect::to("/settings/security?saved=1").into_response())
}

/// `application/x-www-form-urlencoded` pairs, repeated keys kept (serde's form keeps one).
pub(crate) fn form_urlencoded_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_form_keys_are_all_read() {
        let pairs: Vec<_> = form_urlencoded_pairs(b"role=admin&role=dentist&x=a+b%2Fc").collect();
        assert_eq!(
            pairs,
            vec![
                ("role".to_string(), "admin".to_string()),
                ("role".to_string(), "dentist".to_string()),
                ("x".to_string(), "a b/c".to_string()),
            ]
        );
    }
}
