//! Errors rendered one way: handlers and layers return a status (and for our own errors a
//! [`Problem`] in the response extensions); the error middleware turns every 4xx/5xx into the
//! shell's HTML error page with the request id, or into JSON problem details (RFC 9457).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use domain::{DomainError, ErrorCode, FieldError};
use serde::Serialize;

use crate::AppState;
use crate::shell::{Ctx, Shell};

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Db(#[from] store::DbError),
    #[error("{0}")]
    Internal(String),
}

impl From<store::tenancy::WriteError> for AppError {
    fn from(e: store::tenancy::WriteError) -> AppError {
        match e {
            store::tenancy::WriteError::Invalid(d) if d.code == ErrorCode::NotFound => {
                AppError::NotFound
            }
            store::tenancy::WriteError::Invalid(d) => AppError::Domain(d),
            store::tenancy::WriteError::Db(e) => AppError::Db(e),
        }
    }
}

impl From<store::patients::documents::UploadError> for AppError {
    fn from(e: store::patients::documents::UploadError) -> AppError {
        use store::patients::documents::UploadError as U;
        match e {
            U::Refused(d) => AppError::Domain(d),
            U::Write(w) => w.into(),
            U::Object(o) => o.into(),
        }
    }
}

impl From<store::objects::ObjectError> for AppError {
    fn from(e: store::objects::ObjectError) -> AppError {
        use store::objects::ObjectError as E;
        match e {
            E::NotFound => AppError::NotFound,
            E::Expired => AppError::Domain(DomainError::new(
                ErrorCode::Forbidden,
                "this link has expired; ask for a new one",
            )),
            E::BadSignature => AppError::Domain(DomainError::new(
                ErrorCode::Forbidden,
                "this link is not valid",
            )),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// The problem a response carries to the error middleware.
#[derive(Clone, Debug)]
pub struct Problem {
    pub code: ErrorCode,
    /// Safe to show: never internal details.
    pub detail: Option<String>,
    pub fields: Vec<FieldError>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let problem = match self {
            AppError::NotFound => Problem {
                code: ErrorCode::NotFound,
                detail: None,
                fields: vec![],
            },
            AppError::Domain(e) => Problem {
                code: e.code,
                detail: Some(e.message),
                fields: e.fields,
            },
            AppError::Db(e) => {
                tracing::error!(error = %e, "database error");
                Problem {
                    code: ErrorCode::Internal,
                    detail: None,
                    fields: vec![],
                }
            }
            AppError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                Problem {
                    code: ErrorCode::Internal,
                    detail: None,
                    fields: vec![],
                }
            }
        };
        let status = StatusCode::from_u16(problem.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = status.into_response();
        resp.extensions_mut().insert(problem);
        resp
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// RFC 9457 problem details, plus our stable code, the request id and per-field errors.
#[derive(Serialize)]
struct ProblemJson<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: String,
    status: u16,
    detail: String,
    instance: &'a str,
    code: &'static str,
    request_id: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    title: String,
    detail: String,
}

/// Renders the final error body for a 4xx/5xx response.
pub async fn render(
    state: Option<&AppState>,
    ctx: &Ctx,
    status: StatusCode,
    problem: Option<Problem>,
) -> Response {
    let code = problem
        .as_ref()
        .map(|p| p.code)
        .unwrap_or_else(|| ErrorCode::from_status(status.as_u16()));
    let key = code.message_key();
    let title = ctx.lang.t(&format!("{key}-title"));
    let detail = problem
        .as_ref()
        .and_then(|p| p.detail.clone())
        .unwrap_or_else(|| ctx.lang.t(&format!("{key}-detail")));
    let fields = problem.map(|p| p.fields).unwrap_or_default();
    let mut resp = if ctx.wants_json {
        let body = ProblemJson {
            type_: format!("/problems/{}", code.as_str()),
            title,
            status: status.as_u16(),
            detail,
            instance: &ctx.path,
            code: code.as_str(),
            request_id: &ctx.request_id,
            errors: &fields,
        };
        let mut r = Json(body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    } else {
        let shell = match state {
            // A 5xx may be the database failing: do not ask it for the shell.
            Some(s) if !status.is_server_error() => Shell::build(s, ctx).await,
            _ => Shell::bare(ctx),
        };
        let page = ErrorPage {
            shell,
            status: status.as_u16(),
            title,
            detail,
        };
        match askama::Template::render(&page) {
            Ok(html) => Html(html).into_response(),
            Err(_) => status.canonical_reason().unwrap_or("error").into_response(),
        }
    };
    *resp.status_mut() = status;
    resp
}
