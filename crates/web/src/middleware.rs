//! The layers every request passes: request id, tracing, compression, security headers,
//! metrics, error rendering, panic catching, CSRF protection and body limits.

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::{self, Problem};
use crate::shell::Ctx;

/// Responses a handler rendered itself (a form re-shown with its errors) carry this marker so
/// the error layer leaves their body alone.
#[derive(Clone, Copy, Debug)]
pub struct KeepBody;

#[derive(Clone, Copy, Default)]
struct MakeV7;

impl MakeRequestId for MakeV7 {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The Content-Security-Policy: our own scripts and styles only, no inline code, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn wrap(routes: Router<AppState>, state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let mut csrf = CsrfLayer::new();
    for origin in &state.config.trusted_origins {
        match csrf.clone().add_trusted_origin(origin) {
            Ok(c) => csrf = c,
            Err(e) => tracing::warn!(origin, error = ?e, "ignoring an invalid trusted origin"),
        }
    }
    let max_body = state.config.max_body_bytes;
    // The outer limit lets an upload through (its route reads at most max_upload_bytes and
    // says so); extractors elsewhere stop at max_body.
    let max_request = max_body.max(state.config.max_upload_bytes + 64 * 1024);
    let hsts = state.config.tls;
    let static_header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    let hsts_layer = SetResponseHeaderLayer::if_not_present(
        header::STRICT_TRANSPORT_SECURITY,
        move |_: &Response| {
            hsts.then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains"))
        },
    );
    routes
        .layer(DefaultBodyLimit::max(max_body))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeV7))
                .layer(PropagateRequestIdLayer::new(x_request_id))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(CompressionLayer::new())
                .layer(static_header("content-security-policy", CSP))
                .layer(static_header("x-content-type-options", "nosniff"))
                .layer(static_header("x-frame-options", "DENY"))
                .layer(static_header("referrer-policy", "same-origin"))
                .layer(static_header("cross-origin-opener-policy", "same-origin"))
                .layer(static_header(
                    "permissions-policy",
                    "camera=(), microphone=(), geolocation=(), payment=()",
                ))
                .layer(hsts_layer)
                .layer(from_fn(record_metrics))
                .layer(from_fn_with_state(state.clone(), render_errors))
                .layer(CatchPanicLayer::new())
                .layer(csrf)
                .layer(RequestBodyLimitLayer::new(max_request)),
        )
        .with_state(state)
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "fallback".to_string());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("cuspid_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("cuspid_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = Ctx::from_parts(req.headers(), req.uri().path());
    let mut resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.extensions().get::<KeepBody>().is_some()
    {
        return resp;
    }
    let problem = resp.extensions_mut().remove::<Problem>();
    // Headers that belong to the answer, not to its body.
    let kept: Vec<_> = [
        header::ALLOW,
        header::WWW_AUTHENTICATE,
        header::RETRY_AFTER,
        header::SET_COOKIE,
    ]
    .into_iter()
    .filter_map(|h| resp.headers().get(&h).cloned().map(|v| (h, v)))
    .collect();
    let mut rendered = error::render(Some(&state), &ctx, status, problem).await;
    for (h, v) in kept {
        rendered.headers_mut().insert(h, v);
    }
    rendered
}
