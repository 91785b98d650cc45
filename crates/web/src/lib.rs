//! Cuspid's HTTP surface: the axum router, the staff shell (server-rendered HTML with our own
//! CSS and JS embedded), health and metrics endpoints, the live-events websocket and signed
//! file links.

pub mod assets;
pub mod error;
pub mod files;
pub mod health;
pub mod i18n;
pub mod jobs;
pub mod middleware;
pub mod pages;
pub mod profile;
pub mod session;
pub mod shell;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use domain::{OrgId, Scope};
use metrics_exporter_prometheus::PrometheusHandle;
use store::Store;
use store::objects::ObjectStorage;
use tokio::sync::RwLock;

pub use error::AppError;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Largest request body accepted on ordinary routes, in bytes.
    pub max_body_bytes: usize,
    /// Whether the server terminates TLS itself (turns on HSTS).
    pub tls: bool,
    /// Origins allowed to send unsafe requests besides the server's own (CSRF).
    pub trusted_origins: Vec<String>,
    /// Shown on the dashboard.
    pub version: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            max_body_bytes: 2 * 1024 * 1024,
            tls: false,
            trusted_origins: Vec::new(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub objects: Arc<ObjectStorage>,
    pub config: Arc<WebConfig>,
    pub metrics: PrometheusHandle,
    home_org: Arc<RwLock<Option<OrgId>>>,
    shutdown: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    pub fn new(
        store: Store,
        objects: Arc<ObjectStorage>,
        config: WebConfig,
        metrics: PrometheusHandle,
    ) -> AppState {
        AppState {
            store,
            objects,
            config: Arc::new(config),
            metrics,
            home_org: Arc::new(RwLock::new(None)),
            shutdown: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// Fires when the server begins a graceful shutdown (long-lived websockets close on it).
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// The organization the shell shows. Until sign-in exists (the identity issue), that is
    /// the installation's first organization; afterwards it comes from the session.
    pub async fn home_scope(&self) -> Result<Option<Scope>, AppError> {
        if let Some(org) = *self.home_org.read().await {
            return Ok(Some(Scope::system(org)));
        }
        let first = self.store.first_org().await?;
        if let Some(o) = &first {
            *self.home_org.write().await = Some(o.id);
        }
        Ok(first.map(|o| Scope::system(o.id)))
    }

    /// Forgets the cached organization (after `demo --reset` in the same process, in tests).
    pub async fn forget_home(&self) {
        *self.home_org.write().await = None;
    }
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn metrics_handle() -> PrometheusHandle {
    use std::sync::OnceLock;
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new();
            let builder = builder
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".to_string()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .unwrap_or_else(|_| metrics_exporter_prometheus::PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The whole application router with its middleware.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/", get(pages::root))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/ws", get(ws::upgrade))
        .route("/static/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/files/{id}", get(files::open_link))
        .route(
            "/login",
            get(session::login_page).post(session::login_submit),
        )
        .route("/logout", axum::routing::post(session::logout))
        .route(
            "/api/v1/session",
            axum::routing::post(session::api_sign_in).delete(session::api_sign_out),
        )
        .route("/api/v1/me", get(session::api_me))
        .route("/profile", get(profile::page))
        .route(
            "/profile/password",
            axum::routing::post(profile::change_password),
        )
        .route(
            "/profile/sessions/{id}/revoke",
            axum::routing::post(profile::revoke),
        )
        .merge(pages::routes())
        .fallback(error::not_found);
    middleware::wrap(routes, state)
}
