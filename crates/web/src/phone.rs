//! Sign-in by phone (seed 004): the number, then the 6-digit code sent to it by SMS. The answer
//! to a number is the same whether it has an account or not; requests are limited per number
//! and per client address (see `store::phone`). The code itself leaves through the jobs outbox:
//! [`SignInCodeSender`] is the job handler, with whichever [`SmsSender`] the server was given.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures::future::BoxFuture;
use messaging::{Sms, SmsSender, mask_phone, normalize_phone};
use serde::Deserialize;
use store::Store;
use store::identity::{SessionPolicy, SignInError};
use store::jobs::{Job, JobHandler};
use store::phone::{NewCommunication, PhoneStart};

use crate::AppState;
use crate::error::AppError;
use crate::session::{client, encode_component, safe_next, set_cookie};
use crate::shell::Ctx;

/// The client's address for rate limits: the TCP peer, or, when the peer is a proxy on this
/// machine (loopback), the first `X-Forwarded-For` address it reports.
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let forwarded = client(&parts.headers).0;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientIp(match peer {
            Some(ip) if ip.is_loopback() => forwarded.or(Some(ip.to_string())),
            Some(ip) => Some(ip.to_string()),
            None => forwarded,
        }))
    }
}

#[derive(Template)]
#[template(path = "login_phone.html")]
struct PhonePage {
    lang: &'static str,
    t: crate::i18n::Lang,
    error: Option<String>,
    phone: String,
    /// Set once a code was asked for: the code form is shown.
    challenge: Option<String>,
    masked: String,
    next: String,
    request_id: String,
}

impl PhonePage {
    fn tr(&self, key: &str) -> String {
        self.t.t(key)
    }
}

fn page(ctx: &Ctx, status: StatusCode, p: PhonePage) -> Result<Response, AppError> {
    let _ = ctx;
    let html = p
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    let mut r = (status, axum::response::Html(html)).into_response();
    r.extensions_mut().insert(crate::middleware::KeepBody);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

fn blank(ctx: &Ctx, next: String) -> PhonePage {
    PhonePage {
        lang: ctx.lang.code(),
        t: ctx.lang,
        error: None,
        phone: String::new(),
        challenge: None,
        masked: String::new(),
        next,
        request_id: ctx.request_id.clone(),
    }
}

#[derive(Deserialize, Default)]
pub struct NextOnly {
    #[serde(default)]
    next: String,
}

/// `GET /login/phone`
pub async fn start_page(
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<NextOnly>,
) -> Result<Response, AppError> {
    page(&ctx, StatusCode::OK, blank(&ctx, q.next))
}

#[derive(Deserialize)]
pub struct PhoneForm {
    phone: String,
    #[serde(default)]
    next: String,
}

/// The country calling code assumed for numbers typed without one.
pub const DEFAULT_COUNTRY_CODE: &str = "1";

/// `POST /login/phone`: sends a code (if the number has an account) and shows the code form.
pub async fn request_code(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Form(f): Form<PhoneForm>,
) -> Result<Response, AppError> {
    let phone = match normalize_phone(&f.phone, DEFAULT_COUNTRY_CODE) {
        Ok(p) => p,
        Err(e) => {
            let mut p = blank(&ctx, f.next);
            p.error = Some(format!("{} ({e})", ctx.lang.t("phone-invalid")));
            p.phone = f.phone;
            return page(&ctx, StatusCode::UNPROCESSABLE_ENTITY, p);
        }
    };
    match state
        .store
        .start_phone_sign_in(&phone, ip.as_deref())
        .await?
    {
        PhoneStart::Challenge(challenge) => {
            let mut p = blank(&ctx, f.next);
            p.masked = mask_phone(&phone);
            p.phone = phone;
            p.challenge = Some(challenge);
            page(&ctx, StatusCode::OK, p)
        }
        PhoneStart::RateLimited => {
            let mut p = blank(&ctx, f.next);
            p.error = Some(ctx.lang.t("phone-rate-limited"));
            p.phone = f.phone;
            let mut r = page(&ctx, StatusCode::TOO_MANY_REQUESTS, p)?;
            r.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("900"),
            );
            Ok(r)
        }
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    challenge: String,
    code: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    next: String,
}

/// `POST /login/phone/verify`
pub async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let (_, ua) = client(&headers);
    match state
        .store
        .complete_phone_sign_in(
            &f.challenge,
            &f.code,
            SessionPolicy::default(),
            ip.as_deref(),
            ua.as_deref(),
        )
        .await
    {
        Ok(s) => {
            let to = if s.mfa_pending {
                format!("/login/mfa?next={}", encode_component(&f.next))
            } else {
                safe_next(&f.next)
                    .unwrap_or(crate::pages::landing_page(&s.user))
                    .to_string()
            };
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&s.token));
            Ok(r)
        }
        Err(SignInError::Rejected) => {
            let mut p = blank(&ctx, f.next);
            p.error = Some(ctx.lang.t("phone-code-rejected"));
            p.masked = mask_phone(&f.phone);
            p.phone = f.phone;
            p.challenge = Some(f.challenge);
            page(&ctx, StatusCode::UNAUTHORIZED, p)
        }
        Err(SignInError::Db(e)) => Err(e.into()),
    }
}

/// The job handler that sends sign-in codes, and logs each message.
pub struct SignInCodeSender {
    pub sms: Arc<dyn SmsSender>,
}

impl JobHandler for SignInCodeSender {
    fn run<'a>(&'a self, store: &'a Store, job: &'a Job) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let challenge = job.payload["challenge"].as_str().unwrap_or_default();
            let Some(c) = store
                .code_to_send(challenge)
                .await
                .map_err(|e| e.to_string())?
            else {
                // Used or expired before it could be sent: nothing to do.
                return Ok(());
            };
            let body = format!(
                "{} is your Cuspid sign-in code. It expires in {} minutes. Never share it.",
                c.code,
                store::phone::CODE_TTL_MINUTES
            );
            let sent = self
                .sms
                .send(&Sms {
                    to: c.phone.clone(),
                    body,
                })
                .await;
            let entry = NewCommunication {
                org_id: c.org_id,
                user_id: Some(c.user_id),
                channel: "sms",
                kind: "sign_in_code".into(),
                recipient: mask_phone(&c.phone),
                provider: self.sms.name().into(),
                provider_id: None,
                status: "",
                error: None,
            };
            crate::comms::record_send(store, entry, sent, true).await
        })
    }
}
