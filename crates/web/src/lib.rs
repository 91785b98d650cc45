//! Cuspid's HTTP surface: the axum router, the staff shell (server-rendered HTML with our own
//! CSS and JS embedded), health and metrics endpoints, the live-events websocket and signed
//! file links.

pub mod access;
pub mod assets;
pub mod audit_page;
pub mod autopay;
pub mod billing;
pub mod checkout;
pub mod clinical;
pub mod comms;
pub mod doctors;
pub mod error;
pub mod files;
pub mod health;
pub mod i18n;
pub mod invoices;
pub mod jobs;
pub mod mfa;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod patients;
pub mod phone;
pub mod profile;
pub mod qr;
pub mod reports;
pub mod reset;
pub mod roles_page;
pub mod scheduling;
pub mod session;
pub mod shell;
pub mod statements;
pub mod tokens;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use store::Store;
use store::objects::ObjectStorage;

pub use access::{Access, Auth, RouteDecl, Routes};
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
    /// Largest uploaded document, in bytes (upload routes only).
    pub max_upload_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            max_body_bytes: 2 * 1024 * 1024,
            tls: false,
            trusted_origins: Vec::new(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            max_upload_bytes: 25 * 1024 * 1024,
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
    /// How card payments are taken (a stand-alone terminal unless configured).
    pub cards: Arc<dyn messaging::CardGateway>,
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
            cards: Arc::new(messaging::ManualTerminal),
            shutdown: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// The same state taking card payments through `cards`.
    pub fn with_cards(mut self, cards: Arc<dyn messaging::CardGateway>) -> AppState {
        self.cards = cards;
        self
    }

    /// Fires when the server begins a graceful shutdown (long-lived websockets close on it).
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
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

/// Every route of the application, each with the access it needs (see [`access`]).
pub fn routes() -> Routes {
    use Access::{Perm, Public, SignedIn};
    use domain::identity::Permission as P;
    let r = Routes::default()
        .get("/", SignedIn, pages::root)
        .get("/healthz", Public, health::healthz)
        .get("/readyz", Public, health::readyz)
        .get("/metrics", Public, health::metrics)
        .get("/ws", SignedIn, ws::upgrade)
        .get("/static/{file}", Public, assets::serve)
        .get("/favicon.ico", Public, assets::favicon)
        .get("/files/{id}", Public, files::open_link)
        .get("/login", Public, session::login_page)
        .post("/login", Public, session::login_submit)
        .get("/login/phone", Public, phone::start_page)
        .post("/login/phone", Public, phone::request_code)
        .post("/login/phone/verify", Public, phone::verify)
        .get("/login/forgot", Public, reset::ask_page)
        .post("/login/forgot", Public, reset::ask)
        .get("/login/reset", Public, reset::set_page)
        .post("/login/reset", Public, reset::set)
        .get("/login/mfa", Public, mfa::login_page)
        .post("/login/mfa", Public, mfa::login_submit)
        .post("/logout", Public, session::logout)
        .post("/api/v1/session", Public, session::api_sign_in)
        .delete("/api/v1/session", Public, session::api_sign_out)
        .get("/api/v1/me", SignedIn, session::api_me)
        .get("/api/v1/openapi.json", Public, openapi::serve)
        .get("/profile", SignedIn, profile::page)
        .post("/profile/password", SignedIn, profile::change_password)
        .post("/profile/details", SignedIn, profile::change_details)
        .get("/profile/mfa", SignedIn, mfa::profile_page)
        .post("/profile/mfa", SignedIn, mfa::confirm)
        .post("/profile/mfa/disable", SignedIn, mfa::disable)
        .post("/profile/sessions/{id}/revoke", SignedIn, profile::revoke)
        .get(
            "/settings/api-tokens",
            Perm(P::SettingsManage),
            tokens::page,
        )
        .post(
            "/settings/api-tokens",
            Perm(P::SettingsManage),
            tokens::create,
        )
        .post(
            "/settings/api-tokens/{id}/revoke",
            Perm(P::SettingsManage),
            tokens::revoke,
        )
        .post(
            "/settings/security/sessions",
            Perm(P::SettingsManage),
            mfa::sessions_save,
        )
        .post(
            "/audit/alerts/{id}/ack",
            Perm(P::AuditView),
            audit_page::acknowledge,
        )
        .get("/settings/roles", Perm(P::UsersManage), roles_page::page)
        .post("/settings/roles", Perm(P::UsersManage), roles_page::create)
        .post(
            "/settings/roles/{id}",
            Perm(P::UsersManage),
            roles_page::update,
        )
        .post(
            "/settings/roles/{id}/members",
            Perm(P::UsersManage),
            roles_page::add_member,
        )
        .post(
            "/settings/roles/{id}/members/remove",
            Perm(P::UsersManage),
            roles_page::remove_member,
        )
        .get("/audit", Perm(P::AuditView), audit_page::page)
        .get("/audit.csv", Perm(P::AuditView), audit_page::export)
        .get("/doctors", Perm(P::UsersManage), doctors::list)
        .get("/doctors/new", Perm(P::UsersManage), doctors::new_page)
        .post("/doctors", Perm(P::UsersManage), doctors::create)
        .get("/doctors/{id}", Perm(P::UsersManage), doctors::edit_page)
        .post("/doctors/{id}", Perm(P::UsersManage), doctors::update)
        .post(
            "/doctors/{id}/deactivate",
            Perm(P::UsersManage),
            doctors::deactivate,
        )
        .post(
            "/doctors/{id}/activate",
            Perm(P::UsersManage),
            doctors::activate,
        )
        .get(
            "/settings/security",
            Perm(P::SettingsManage),
            mfa::settings_page,
        )
        .post(
            "/settings/security",
            Perm(P::SettingsManage),
            mfa::settings_save,
        )
        .get("/patients", Perm(P::PatientsRead), patients::list)
        .get("/patients/new", Perm(P::PatientsWrite), patients::new_page)
        .post("/patients", Perm(P::PatientsWrite), patients::create)
        .get(
            "/patients/import",
            Perm(P::SettingsManage),
            patients::import::show,
        )
        .post_upload(
            "/patients/import",
            Perm(P::SettingsManage),
            patients::import::start,
        )
        .get(
            "/patients/import/{id}",
            Perm(P::SettingsManage),
            patients::import::run_page,
        )
        .get(
            "/patients/emergency",
            Perm(P::PatientsRead),
            patients::family::emergency_page,
        )
        .post(
            "/patients/emergency",
            Perm(P::PatientsRead),
            patients::family::emergency,
        )
        .get("/patients/{id}", Perm(P::PatientsRead), patients::show)
        .post("/patients/{id}", Perm(P::PatientsWrite), patients::update)
        .get(
            "/patients/{id}/edit",
            Perm(P::PatientsWrite),
            patients::edit_page,
        )
        .post(
            "/patients/{id}/status",
            Perm(P::PatientsWrite),
            patients::set_status,
        )
        .get(
            "/patients/{id}/history",
            Perm(P::PatientsRead),
            patients::history::show,
        )
        .post(
            "/patients/{id}/history",
            Perm(P::PatientsWrite),
            patients::history::save,
        )
        .post_upload(
            "/patients/{id}/documents",
            Perm(P::PatientsWrite),
            patients::documents::upload,
        )
        .get(
            "/patients/{id}/documents/{doc}",
            Perm(P::PatientsRead),
            patients::documents::show,
        )
        .post(
            "/patients/{id}/documents/{doc}/delete",
            Perm(P::PatientsWrite),
            patients::documents::delete,
        )
        .post(
            "/patients/{id}/family",
            Perm(P::PatientsWrite),
            patients::family::move_family,
        )
        .post(
            "/families/{id}/guarantor",
            Perm(P::PatientsWrite),
            patients::family::set_guarantor,
        )
        .get(
            "/patients/{id}/merge",
            Perm(P::PatientsWrite),
            patients::family::merge_page,
        )
        .post(
            "/patients/{id}/merge",
            Perm(P::PatientsWrite),
            patients::family::merge,
        )
        .post(
            "/merges/{id}/undo",
            Perm(P::PatientsWrite),
            patients::family::undo,
        )
        .get(
            "/api/v1/patients",
            Perm(P::PatientsRead),
            patients::api::search,
        )
        .post(
            "/api/v1/patients",
            Perm(P::PatientsWrite),
            patients::api::create,
        )
        .get(
            "/api/v1/patients/{id}",
            Perm(P::PatientsRead),
            patients::api::get,
        )
        .put(
            "/api/v1/patients/{id}",
            Perm(P::PatientsWrite),
            patients::api::update,
        )
        .post(
            "/api/v1/patients/{id}/status",
            Perm(P::PatientsWrite),
            patients::api::set_status,
        )
        .get(
            "/api/v1/patients/{id}/history",
            Perm(P::PatientsRead),
            patients::api::history,
        )
        .put(
            "/api/v1/patients/{id}/history",
            Perm(P::PatientsWrite),
            patients::api::save_history,
        )
        .get(
            "/api/v1/patients/{id}/documents",
            Perm(P::PatientsRead),
            patients::api::documents,
        )
        .post_upload(
            "/api/v1/patients/{id}/documents",
            Perm(P::PatientsWrite),
            patients::documents::upload,
        )
        .get(
            "/api/v1/patients/{id}/duplicates",
            Perm(P::PatientsRead),
            patients::api::duplicates,
        )
        .post(
            "/api/v1/patients/{id}/merge",
            Perm(P::PatientsWrite),
            patients::api::merge,
        )
        .post(
            "/api/v1/merges/{id}/undo",
            Perm(P::PatientsWrite),
            patients::api::undo_merge,
        )
        .get(
            "/api/v1/families/{id}",
            Perm(P::PatientsRead),
            patients::api::family,
        )
        .get(
            "/api/v1/patient-imports/{id}",
            Perm(P::SettingsManage),
            patients::import::run_json,
        )
        .get(
            "/settings/patient-fields",
            Perm(P::SettingsManage),
            patients::fields::page,
        )
        .post(
            "/settings/patient-fields",
            Perm(P::SettingsManage),
            patients::fields::add,
        )
        .post(
            "/settings/patient-fields/{id}/toggle",
            Perm(P::SettingsManage),
            patients::fields::toggle,
        )
        .get("/patients/{id}/chart", Perm(P::ChartRead), clinical::show)
        .post("/patients/{id}/chart", Perm(P::ChartWrite), clinical::add)
        .post(
            "/patients/{id}/chart/{entry}",
            Perm(P::ChartWrite),
            clinical::change,
        )
        .get(
            "/patients/{id}/perio",
            Perm(P::ChartRead),
            clinical::perio::show,
        )
        .post(
            "/patients/{id}/perio",
            Perm(P::PerioWrite),
            clinical::perio::save,
        )
        .post(
            "/patients/{id}/perio/{exam}/confirm",
            Perm(P::ChartSign),
            clinical::perio::confirm,
        )
        .get(
            "/patients/{id}/visits",
            Perm(P::ChartRead),
            clinical::visits::list,
        )
        .post(
            "/patients/{id}/visits",
            Perm(P::ChartWrite),
            clinical::visits::create,
        )
        .get(
            "/patients/{id}/visits/compare",
            Perm(P::ChartRead),
            clinical::visits::compare,
        )
        .get(
            "/patients/{id}/visits/{visit}",
            Perm(P::ChartRead),
            clinical::visits::show,
        )
        .post(
            "/patients/{id}/visits/{visit}",
            Perm(P::ChartWrite),
            clinical::visits::act,
        )
        .get(
            "/patients/{id}/prescriptions",
            Perm(P::PrescriptionsRead),
            clinical::rx::list,
        )
        .post(
            "/patients/{id}/prescriptions",
            Perm(P::PrescriptionsWrite),
            clinical::rx::create,
        )
        .get(
            "/patients/{id}/prescriptions/{rx}",
            Perm(P::PrescriptionsRead),
            clinical::rx::show,
        )
        .get(
            "/patients/{id}/prescriptions/{rx}/pdf",
            Perm(P::PrescriptionsRead),
            clinical::rx::pdf,
        )
        .post(
            "/patients/{id}/prescriptions/{rx}/cancel",
            Perm(P::PrescriptionsWrite),
            clinical::rx::cancel,
        )
        .get("/treatments", Perm(P::TreatmentRead), clinical::cases::list)
        .post(
            "/treatments",
            Perm(P::TreatmentWrite),
            clinical::cases::create,
        )
        .get(
            "/treatments/{id}",
            Perm(P::TreatmentRead),
            clinical::cases::show,
        )
        .post(
            "/treatments/{id}",
            Perm(P::TreatmentWrite),
            clinical::cases::act,
        )
        .get(
            "/api/v1/treatments",
            Perm(P::TreatmentRead),
            clinical::cases::api_list,
        )
        .get(
            "/api/v1/treatments/{id}",
            Perm(P::TreatmentRead),
            clinical::cases::api_get,
        )
        .post(
            "/api/v1/patients/{id}/treatments",
            Perm(P::TreatmentWrite),
            clinical::cases::api_create,
        )
        .get(
            "/patients/{id}/plans",
            Perm(P::ScheduleRead),
            clinical::plans::patient_plans,
        )
        .post(
            "/patients/{id}/plans",
            Perm(P::TreatmentWrite),
            clinical::plans::create_plan,
        )
        .get(
            "/treatment-plans/pending",
            Perm(P::ScheduleRead),
            clinical::plans::pending,
        )
        .get(
            "/treatment-plans/{id}",
            Perm(P::ScheduleRead),
            clinical::plans::show,
        )
        .post(
            "/treatment-plans/{id}",
            Perm(P::ScheduleRead),
            clinical::plans::act,
        )
        .get(
            "/treatment-plans/{id}/present",
            Perm(P::ScheduleRead),
            clinical::plans::present,
        )
        .get(
            "/treatment-plans/{id}/pdf",
            Perm(P::ScheduleRead),
            clinical::plans::pdf,
        )
        .get("/settings/fees", Perm(P::SettingsManage), billing::fees)
        .post(
            "/settings/fees",
            Perm(P::SettingsManage),
            billing::save_fees,
        )
        .get(
            "/settings/plans",
            Perm(P::SettingsManage),
            clinical::plans::settings,
        )
        .post(
            "/settings/plans",
            Perm(P::SettingsManage),
            clinical::plans::save_settings,
        )
        .get(
            "/coordinator",
            Perm(P::EstimatesView),
            clinical::plans::coordinator,
        )
        .get("/tasks", SignedIn, clinical::plans::tasks)
        .post("/tasks", SignedIn, clinical::plans::tasks_act)
        .get("/api/v1/tasks", SignedIn, clinical::plans::api_tasks)
        .get(
            "/api/v1/tasks/count",
            SignedIn,
            clinical::plans::api_task_count,
        )
        .get(
            "/patients/{id}/account",
            Perm(P::BillingRead),
            billing::account,
        )
        .post(
            "/patients/{id}/account",
            Perm(P::BillingPost),
            billing::account_act,
        )
        .get(
            "/patients/{id}/payments/{posting}/receipt",
            Perm(P::BillingRead),
            billing::receipt,
        )
        .post("/api/v1/payments", Perm(P::BillingPost), billing::api_pay)
        .get(
            "/patients/{id}/checkout",
            Perm(P::BillingPost),
            checkout::show,
        )
        .post(
            "/patients/{id}/checkout",
            Perm(P::BillingPost),
            checkout::act,
        )
        .get(
            "/patients/{id}/statement",
            Perm(P::BillingRead),
            statements::pdf,
        )
        .post(
            "/patients/{id}/statement",
            Perm(P::BillingPost),
            statements::email,
        )
        .get("/invoices", Perm(P::BillingRead), invoices::index)
        .get("/payments", Perm(P::BillingRead), reports::payments)
        .post("/payments", Perm(P::BillingAdjust), reports::close)
        .get("/reports", Perm(P::ReportsView), reports::reports)
        .get(
            "/patients/{id}/invoices/new",
            Perm(P::BillingPost),
            invoices::new_form,
        )
        .post(
            "/patients/{id}/invoices",
            Perm(P::BillingPost),
            invoices::create,
        )
        .get("/invoices/{id}", Perm(P::BillingRead), invoices::show)
        .post("/invoices/{id}", Perm(P::BillingPost), invoices::act)
        .get(
            "/invoices/{id}/edit",
            Perm(P::BillingPost),
            invoices::edit_form,
        )
        .post(
            "/invoices/{id}/edit",
            Perm(P::BillingPost),
            invoices::update,
        )
        .get("/invoices/{id}/pdf", Perm(P::BillingRead), invoices::pdf)
        .post(
            "/api/v1/invoices",
            Perm(P::BillingPost),
            invoices::api_create,
        )
        .get("/api/v1/invoices", Perm(P::BillingRead), invoices::api_list)
        .get(
            "/api/v1/invoices/{id}",
            Perm(P::BillingRead),
            invoices::api_get,
        )
        .post(
            "/api/v1/invoices/{id}/issue",
            Perm(P::BillingPost),
            invoices::api_issue,
        )
        .post(
            "/api/v1/invoices/{id}/void",
            Perm(P::BillingVoid),
            invoices::api_void,
        )
        .post(
            "/api/v1/patients/{id}/payment-plans",
            Perm(P::BillingPost),
            billing::api_create_plan,
        )
        .get(
            "/api/v1/payment-plans/{id}",
            Perm(P::BillingRead),
            billing::api_plan,
        )
        .get(
            "/api/v1/patients/{id}/account",
            Perm(P::BillingRead),
            billing::api_account,
        )
        .post(
            "/api/v1/patients/{id}/treatment-plans",
            Perm(P::TreatmentWrite),
            clinical::plans::api_create,
        )
        .get(
            "/api/v1/treatment-plans/{id}",
            Perm(P::ScheduleRead),
            clinical::plans::api_get,
        )
        .post(
            "/api/v1/treatment-plans/{id}/visit-series",
            Perm(P::ScheduleWrite),
            clinical::plans::api_series,
        )
        .post(
            "/api/v1/treatment-plans/{id}/visit-series/accept",
            Perm(P::ScheduleWrite),
            clinical::plans::api_accept,
        )
        .get(
            "/prescriptions",
            Perm(P::PrescriptionsRead),
            clinical::rx::org_list,
        )
        .post(
            "/prescriptions/medicines",
            Perm(P::PrescriptionsWrite),
            clinical::rx::save_medicine,
        )
        .get(
            "/api/v1/medicines",
            Perm(P::PrescriptionsRead),
            clinical::rx::api_medicines,
        )
        .get(
            "/api/v1/patients/{id}/prescriptions",
            Perm(P::PrescriptionsRead),
            clinical::rx::api_list,
        )
        .post(
            "/api/v1/patients/{id}/prescriptions",
            Perm(P::PrescriptionsWrite),
            clinical::rx::api_create,
        )
        .get(
            "/api/v1/patients/{id}/prescriptions/{rx}",
            Perm(P::PrescriptionsRead),
            clinical::rx::api_get,
        )
        .get(
            "/api/v1/patients/{id}/prescriptions/{rx}/pdf",
            Perm(P::PrescriptionsRead),
            clinical::rx::pdf,
        )
        .get(
            "/api/v1/procedure-codes",
            Perm(P::ChartRead),
            clinical::api::codes,
        )
        .get(
            "/api/v1/patients/{id}/chart",
            Perm(P::ChartRead),
            clinical::api::chart,
        )
        .post(
            "/api/v1/patients/{id}/procedures",
            Perm(P::ChartWrite),
            clinical::api::add,
        )
        .patch(
            "/api/v1/patients/{id}/procedures/{entry}",
            Perm(P::ChartWrite),
            clinical::api::change,
        )
        .get(
            "/settings/clinical",
            Perm(P::SettingsManage),
            clinical::settings::show,
        )
        .post(
            "/settings/clinical",
            Perm(P::SettingsManage),
            clinical::settings::save,
        )
        .post(
            "/settings/clinical/codes",
            Perm(P::SettingsManage),
            clinical::settings::save_code,
        )
        .post_upload(
            "/settings/clinical/import",
            Perm(P::SettingsManage),
            clinical::settings::import,
        )
        .get("/appointments", Perm(P::ScheduleRead), scheduling::agenda)
        .post("/appointments", Perm(P::ScheduleWrite), scheduling::book)
        .get(
            "/appointments/sheet",
            Perm(P::ScheduleRead),
            scheduling::sheet,
        )
        .get(
            "/appointments/colours.css",
            Perm(P::ScheduleRead),
            scheduling::colours,
        )
        .get(
            "/appointments/slots",
            Perm(P::ScheduleRead),
            scheduling::lists::slots,
        )
        .get(
            "/appointments/recall",
            Perm(P::ScheduleRead),
            scheduling::lists::recall,
        )
        .get(
            "/appointments/waitlist",
            Perm(P::ScheduleRead),
            scheduling::lists::waitlist,
        )
        .post(
            "/appointments/waitlist",
            Perm(P::ScheduleWrite),
            scheduling::lists::waitlist_add,
        )
        .post(
            "/appointments/waitlist/{id}/remove",
            Perm(P::ScheduleWrite),
            scheduling::lists::waitlist_remove,
        )
        .post(
            "/appointments/views",
            Perm(P::ScheduleRead),
            scheduling::save_view,
        )
        .post(
            "/appointments/views/{id}/delete",
            Perm(P::ScheduleRead),
            scheduling::delete_view,
        )
        .get(
            "/appointments/{id}",
            Perm(P::ScheduleRead),
            scheduling::show,
        )
        .post(
            "/appointments/{id}/status",
            Perm(P::ScheduleWrite),
            scheduling::set_status,
        )
        .post(
            "/appointments/{id}/move",
            Perm(P::ScheduleWrite),
            scheduling::move_form,
        )
        .get(
            "/appointments/{id}/calendar.ics",
            Perm(P::ScheduleRead),
            scheduling::ics,
        )
        .get("/ical/{token}", Public, scheduling::feed)
        .get(
            "/settings/scheduling",
            Perm(P::SettingsManage),
            scheduling::settings::page,
        )
        .post(
            "/settings/scheduling",
            Perm(P::SettingsManage),
            scheduling::settings::save_general,
        )
        .post(
            "/settings/scheduling/chairs",
            Perm(P::SettingsManage),
            scheduling::settings::add_chair,
        )
        .post(
            "/settings/scheduling/chairs/{id}",
            Perm(P::SettingsManage),
            scheduling::settings::update_chair,
        )
        .post(
            "/settings/scheduling/types",
            Perm(P::SettingsManage),
            scheduling::settings::add_type,
        )
        .post(
            "/settings/scheduling/types/{id}",
            Perm(P::SettingsManage),
            scheduling::settings::update_type,
        )
        .post(
            "/settings/scheduling/hours",
            Perm(P::SettingsManage),
            scheduling::settings::save_hours,
        )
        .post(
            "/settings/scheduling/exceptions",
            Perm(P::SettingsManage),
            scheduling::settings::save_exception,
        )
        .post(
            "/settings/scheduling/holidays",
            Perm(P::SettingsManage),
            scheduling::settings::save_holiday,
        )
        .post(
            "/settings/scheduling/blockouts",
            Perm(P::SettingsManage),
            scheduling::settings::add_blockout,
        )
        .post(
            "/settings/scheduling/blockouts/{id}/delete",
            Perm(P::SettingsManage),
            scheduling::settings::remove_blockout,
        )
        .post(
            "/settings/scheduling/recalls",
            Perm(P::SettingsManage),
            scheduling::settings::add_recall,
        )
        .post(
            "/settings/scheduling/feeds",
            Perm(P::SettingsManage),
            scheduling::settings::add_feed,
        )
        .post(
            "/settings/scheduling/feeds/{id}/revoke",
            Perm(P::SettingsManage),
            scheduling::settings::revoke_feed,
        )
        .get(
            "/api/v1/locations",
            Perm(P::ScheduleRead),
            scheduling::api::locations,
        )
        .get(
            "/api/v1/operatories",
            Perm(P::ScheduleRead),
            scheduling::api::operatories,
        )
        .get(
            "/api/v1/providers",
            Perm(P::ScheduleRead),
            scheduling::api::providers,
        )
        .get(
            "/api/v1/appointment-types",
            Perm(P::ScheduleRead),
            scheduling::api::appointment_types,
        )
        .get(
            "/api/v1/appointments",
            Perm(P::ScheduleRead),
            scheduling::api::list,
        )
        .post(
            "/api/v1/appointments",
            Perm(P::ScheduleWrite),
            scheduling::api::create,
        )
        .get(
            "/api/v1/appointments/{id}",
            Perm(P::ScheduleRead),
            scheduling::api::get,
        )
        .patch(
            "/api/v1/appointments/{id}",
            Perm(P::ScheduleWrite),
            scheduling::api::change,
        )
        .post(
            "/api/v1/appointments/{id}/reschedule",
            Perm(P::ScheduleWrite),
            scheduling::api::reschedule,
        )
        .get(
            "/api/v1/appointments/{id}/waitlist-matches",
            Perm(P::ScheduleWrite),
            scheduling::api::waitlist_matches,
        )
        .get(
            "/api/v1/slots",
            Perm(P::ScheduleRead),
            scheduling::api::slots,
        )
        .get(
            "/api/v1/waitlist",
            Perm(P::ScheduleRead),
            scheduling::api::waitlist,
        )
        .post(
            "/api/v1/waitlist",
            Perm(P::ScheduleWrite),
            scheduling::api::waitlist_add,
        )
        .delete(
            "/api/v1/waitlist/{id}",
            Perm(P::ScheduleWrite),
            scheduling::api::waitlist_remove,
        )
        .get(
            "/api/v1/recalls",
            Perm(P::ScheduleRead),
            scheduling::api::recalls,
        )
        .get("/admin/jobs", Perm(P::SettingsManage), jobs::page)
        .post(
            "/admin/jobs/{id}/retry",
            Perm(P::SettingsManage),
            jobs::retry,
        );
    pages::routes(r)
}

/// The whole application router with its middleware.
pub fn router(state: AppState) -> Router {
    let routes = routes().into_router(&state).fallback(error::not_found);
    middleware::wrap(routes, state)
}
