//! The staff pages. Each context adds its real pages here as its issue lands; until then a
//! page of the seed's table shows what it will hold, with no invented data.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::AppError;
use crate::shell::{Ctx, Shell};

/// The seed's pages not built yet: (path, heading key, blurb key).
pub const PLANNED: &[(&str, &str, &str)] = &[
    ("/patients", "nav-patients", "page-patients-blurb"),
    ("/doctors", "nav-doctors", "page-doctors-blurb"),
    (
        "/appointments",
        "nav-appointments",
        "page-appointments-blurb",
    ),
    ("/treatments", "nav-treatments", "page-treatments-blurb"),
    (
        "/prescriptions",
        "nav-prescriptions",
        "page-prescriptions-blurb",
    ),
    ("/invoices", "nav-invoices", "page-invoices-blurb"),
    ("/payments", "nav-payments", "page-payments-blurb"),
    (
        "/lab-requests",
        "nav-lab-requests",
        "page-lab-requests-blurb",
    ),
    ("/inventory", "nav-inventory", "page-inventory-blurb"),
    (
        "/inventory/logs",
        "nav-inventory-logs",
        "page-inventory-logs-blurb",
    ),
    ("/expenses", "nav-expenses", "page-expenses-blurb"),
    ("/reports", "nav-reports", "page-reports-blurb"),
];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/dashboard", get(dashboard))
        .route("/admin/jobs", get(crate::jobs::page))
        .route(
            "/admin/jobs/{id}/retry",
            axum::routing::post(crate::jobs::retry),
        );
    for (path, _, _) in PLANNED {
        r = r.route(path, get(planned));
    }
    r
}

pub async fn root() -> Redirect {
    Redirect::to("/dashboard")
}

pub(crate) fn html<T: Template>(t: &T) -> Result<Response, AppError> {
    t.render()
        .map(|s| Html(s).into_response())
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

#[derive(Template)]
#[template(path = "page.html")]
struct PlannedPage {
    shell: Shell,
    heading: String,
    blurb: String,
}

async fn planned(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, heading, blurb) = PLANNED
        .iter()
        .find(|(p, _, _)| *p == ctx.path)
        .ok_or(AppError::NotFound)?;
    html(&PlannedPage {
        heading: ctx.lang.t(heading),
        blurb: ctx.lang.t(blurb),
        shell: Shell::build(&state, &ctx).await,
    })
}

pub struct LocationCard {
    pub name: String,
    pub address: String,
    pub time_zone: String,
    pub currency: String,
    pub hours: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    locations: Vec<LocationCard>,
    version: String,
    database: String,
}

async fn dashboard(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let locations = match state.home_scope().await? {
        Some(scope) => state.store.locations(&scope).await?,
        None => Vec::new(),
    };
    let cards = locations
        .into_iter()
        .map(|l| LocationCard {
            address: l.address.one_line(),
            hours: l.opening_hours.summary().replace("; ", "\n"),
            time_zone: l.time_zone,
            currency: l.currency.code().to_string(),
            name: l.name,
        })
        .collect();
    html(&DashboardPage {
        shell: Shell::build(&state, &ctx).await,
        locations: cards,
        version: state.config.version.clone(),
        database: state.store.db.backend().name().to_string(),
    })
}
