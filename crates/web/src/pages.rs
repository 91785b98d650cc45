//! The staff pages. Each context adds its real pages here as its issue lands; until then a
//! page of the seed's table shows what it will hold, with no invented data.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::AppState;
use crate::access::{Access, Auth, Routes};
use crate::error::AppError;
use crate::shell::{Ctx, Shell};

/// The seed's pages not built yet: (path, heading key, blurb key).
pub const PLANNED: &[(&str, &str, &str)] = &[
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
];

/// The seed's pages, each behind the permission the page table gives it.
pub fn routes(mut r: Routes) -> Routes {
    r = r.get("/dashboard", page_access("/dashboard"), dashboard);
    for (path, _, _) in PLANNED {
        r = r.get(path, page_access(path), planned);
    }
    r
}

/// The access of a page of the seed's table ([`domain::identity::PAGES`]).
fn page_access(path: &str) -> Access {
    match domain::identity::PAGES.iter().find(|(p, _)| *p == path) {
        Some((_, Some(p))) => Access::Perm(*p),
        Some((_, None)) => Access::SignedIn,
        // Not in the table: only an administrator (tested: every PLANNED page is in it).
        None => Access::Perm(domain::identity::Permission::SettingsManage),
    }
}

/// `/`: the signed-in user's landing page.
pub async fn root(auth: Auth) -> Redirect {
    Redirect::to(landing_page(&auth.user))
}

/// The first page of the seed's table the user may open.
pub fn landing_page(user: &store::identity::User) -> &'static str {
    let perms = crate::access::permissions_of(user);
    domain::identity::PAGES
        .iter()
        .find(|(path, p)| !path.contains('{') && p.is_none_or(|p| perms.allows(p)))
        .map(|(path, _)| *path)
        .unwrap_or("/profile")
}

/// A page with its own status (a refused form's 422, a conflict's 409), kept as rendered by
/// the error middleware.
pub(crate) fn html_status<T: Template>(
    t: &T,
    status: axum::http::StatusCode,
) -> Result<Response, AppError> {
    html(t).map(|mut r| {
        *r.status_mut() = status;
        r.extensions_mut().insert(crate::middleware::KeepBody);
        r
    })
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

async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let locations: Vec<_> = state
        .store
        .locations(&scope)
        .await?
        .into_iter()
        .filter(|l| scope.allows_location(l.id))
        .collect();
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
