//! Password reset by an emailed single-use link: `/login/forgot` asks for it (the answer never
//! says whether the address has an account), `/login/reset?token=…` sets the new password.
//! The email leaves through the jobs outbox: [`PasswordResetMailer`] is the job handler.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures::future::BoxFuture;
use messaging::{Email, Mailer};
use serde::Deserialize;
use store::Store;
use store::jobs::{Job, JobHandler};
use store::phone::NewCommunication;
use store::tenancy::WriteError;

use crate::AppState;
use crate::error::AppError;
use crate::middleware::KeepBody;
use crate::phone::ClientIp;
use crate::shell::Ctx;

#[derive(Template)]
#[template(path = "login_reset.html")]
struct ResetPage {
    lang: &'static str,
    t: crate::i18n::Lang,
    /// "ask", "sent", "set" or "dead".
    mode: &'static str,
    token: String,
    errors: Vec<String>,
    request_id: String,
}

impl ResetPage {
    fn tr(&self, key: &str) -> String {
        self.t.t(key)
    }
}

fn show(
    ctx: &Ctx,
    status: StatusCode,
    mode: &'static str,
    token: String,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let html = ResetPage {
        lang: ctx.lang.code(),
        t: ctx.lang,
        mode,
        token,
        errors,
        request_id: ctx.request_id.clone(),
    }
    .render()
    .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    let mut r = (status, Html(html)).into_response();
    r.extensions_mut().insert(KeepBody);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `GET /login/forgot`
pub async fn ask_page(ctx: Ctx) -> Result<Response, AppError> {
    show(&ctx, StatusCode::OK, "ask", String::new(), Vec::new())
}

#[derive(Deserialize)]
pub struct AskForm {
    email: String,
}

/// `POST /login/forgot`
pub async fn ask(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Form(f): Form<AskForm>,
) -> Result<Response, AppError> {
    state
        .store
        .request_password_reset(&f.email, ip.as_deref())
        .await?;
    show(&ctx, StatusCode::OK, "sent", String::new(), Vec::new())
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /login/reset?token=…`
pub async fn set_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    if state.store.reset_is_usable(&q.token).await? {
        show(&ctx, StatusCode::OK, "set", q.token, Vec::new())
    } else {
        show(&ctx, StatusCode::GONE, "dead", String::new(), Vec::new())
    }
}

#[derive(Deserialize)]
pub struct SetForm {
    token: String,
    new_password: String,
}

/// `POST /login/reset`
pub async fn set(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<SetForm>,
) -> Result<Response, AppError> {
    match state
        .store
        .complete_password_reset(&f.token, &f.new_password)
        .await
    {
        Ok(()) => Ok(Redirect::to("/login?reset=1").into_response()),
        Err(WriteError::Invalid(e)) if e.fields.iter().any(|f| f.field == "token") => {
            show(&ctx, StatusCode::GONE, "dead", String::new(), Vec::new())
        }
        Err(WriteError::Invalid(e)) => {
            let errors = e.fields.iter().map(|f| f.message.clone()).collect();
            show(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                "set",
                f.token,
                errors,
            )
        }
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

/// Masks an address for logs: `c•••@clinic.example`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// The job handler that emails reset links, and logs each message.
pub struct PasswordResetMailer {
    pub mail: Arc<dyn Mailer>,
    /// The address people reach Cuspid at (`http.public_url`), never the request's `Host`:
    /// a forged `Host` must not turn the link into one to another site.
    pub public_url: String,
}

impl JobHandler for PasswordResetMailer {
    fn run<'a>(&'a self, store: &'a Store, job: &'a Job) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let id = job.payload["reset"].as_str().unwrap_or_default();
            let Some(r) = store.reset_to_send(id).await.map_err(|e| e.to_string())? else {
                return Ok(());
            };
            let link = format!(
                "{}/login/reset?token={}",
                self.public_url.trim_end_matches('/'),
                r.token
            );
            let text = format!(
                "Hello {},\n\nSomeone (we hope you) asked to reset the password of your Cuspid account.\n\
                 Open this link within {} minutes to choose a new one:\n\n{link}\n\n\
                 If you did not ask, ignore this email: your password stays as it is.\n\n\
                 Bonjour {},\n\nPour choisir un nouveau mot de passe Cuspid, ouvrez ce lien dans les {} minutes :\n\n{link}\n\n\
                 Si vous n’avez rien demandé, ignorez ce courriel.\n",
                r.name,
                store::reset::RESET_TTL_MINUTES,
                r.name,
                store::reset::RESET_TTL_MINUTES,
            );
            let sent = self
                .mail
                .send(&Email {
                    to: r.email.clone(),
                    to_name: Some(r.name.clone()),
                    subject: "Reset your Cuspid password / Réinitialisation du mot de passe".into(),
                    text,
                    html: None,
                })
                .await;
            let entry = NewCommunication {
                org_id: r.org_id,
                user_id: Some(r.user_id),
                channel: "email",
                kind: "password_reset".into(),
                recipient: mask_email(&r.email),
                provider: self.mail.name().into(),
                provider_id: None,
                status: "",
                error: None,
            };
            crate::comms::record_send(store, entry, sent, true).await
        })
    }
}
