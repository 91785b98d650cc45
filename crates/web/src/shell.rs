//! The staff shell every page sits in: language, organization and location, navigation and the
//! request id.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::AppState;
use crate::access::{Access, Auth};
use crate::i18n::Lang;

/// Per-request facts pages and errors need, read once from the request.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub lang: Lang,
    pub request_id: String,
    pub path: String,
    pub wants_json: bool,
    /// The session token from the cookie, if any (checked when needed).
    pub session: Option<String>,
    /// The signed-in user, when the route's access layer resolved one.
    pub auth: Option<Auth>,
}

impl Ctx {
    pub fn from_parts(headers: &HeaderMap, path: &str) -> Ctx {
        let lang = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::En);
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer "));
        let wants_json = bearer
            || path.starts_with("/api/")
            || (accept.contains("json") && !accept.contains("text/html"));
        Ctx {
            lang,
            request_id,
            path: path.to_string(),
            wants_json,
            session: crate::session::token(headers),
            auth: None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut ctx = Ctx::from_parts(&parts.headers, parts.uri.path());
        ctx.auth = parts.extensions.get::<Auth>().cloned();
        Ok(ctx)
    }
}

#[derive(Clone, Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub active: bool,
}

/// The pages of the navigation, in order, with their message keys. Each shows only to the
/// users its route admits (tested against the route table).
pub const NAV: &[(&str, &str)] = &[
    ("/dashboard", "nav-dashboard"),
    ("/tasks", "nav-tasks"),
    ("/patients", "nav-patients"),
    ("/appointments", "nav-appointments"),
    ("/treatments", "nav-treatments"),
    ("/coordinator", "nav-coordinator"),
    ("/prescriptions", "nav-prescriptions"),
    ("/invoices", "nav-invoices"),
    ("/payments", "nav-payments"),
    ("/lab-requests", "nav-lab-requests"),
    ("/inventory", "nav-inventory"),
    ("/inventory/logs", "nav-inventory-logs"),
    ("/expenses", "nav-expenses"),
    ("/reports", "nav-reports"),
    ("/doctors", "nav-doctors"),
    ("/audit", "nav-audit"),
    ("/settings/roles", "nav-roles"),
    ("/settings/scheduling", "nav-scheduling"),
    ("/settings/clinical", "nav-clinical"),
    ("/settings/plans", "nav-plan-settings"),
    ("/settings/fees", "nav-fees"),
    ("/settings/security", "nav-security"),
    ("/settings/api-tokens", "nav-api-tokens"),
    ("/admin/jobs", "nav-jobs"),
    ("/profile", "nav-profile"),
];

#[derive(Clone, Debug)]
pub struct Shell {
    pub lang: &'static str,
    lang_id: Lang,
    pub org_name: String,
    pub location_name: String,
    pub request_id: String,
    pub nav: Vec<NavItem>,
    /// The signed-in user's name; empty when nobody is signed in.
    pub user_name: String,
}

impl Shell {
    /// A shell that needs no database and shows no navigation (error pages when the database
    /// is the problem, pages seen by nobody signed in).
    pub fn bare(ctx: &Ctx) -> Shell {
        Shell {
            lang: ctx.lang.code(),
            lang_id: ctx.lang,
            org_name: ctx.lang.t("app-name"),
            location_name: String::new(),
            request_id: ctx.request_id.clone(),
            nav: Vec::new(),
            user_name: String::new(),
        }
    }

    /// The shell of the signed-in user: their organization, locations and the pages they may
    /// open. Nobody signed in: the bare shell, with nothing of any organization.
    pub async fn build(state: &AppState, ctx: &Ctx) -> Shell {
        let mut shell = Shell::bare(ctx);
        let auth = match &ctx.auth {
            Some(a) => Some(a.clone()),
            None => match &ctx.session {
                Some(token) => match state
                    .store
                    .session_user(token, store::identity::SessionPolicy::default())
                    .await
                {
                    Ok(Some(user)) => Some(Auth {
                        permissions: crate::access::permissions_of(&user),
                        user: std::sync::Arc::new(user),
                        token: token.clone(),
                    }),
                    _ => None,
                },
                None => None,
            },
        };
        let Some(auth) = auth else { return shell };
        shell.user_name = auth.user.name.clone();
        let table = crate::access::route_table();
        shell.nav = NAV
            .iter()
            .filter(|(href, _)| {
                table
                    .iter()
                    .find(|d| d.method == "GET" && d.path == *href)
                    .is_some_and(|d| match d.access {
                        Access::Public | Access::SignedIn => true,
                        Access::Perm(p) => auth.can(p),
                    })
            })
            .map(|(href, key)| NavItem {
                href,
                label: ctx.lang.t(key),
                active: ctx.path == *href,
            })
            .collect();
        let scope = auth.scope();
        if let Ok(Some(org)) = state.store.org(scope.org()).await {
            shell.org_name = org.name;
        }
        if let Ok(locs) = state.store.locations(&scope).await {
            let locs: Vec<_> = locs
                .into_iter()
                .filter(|l| scope.allows_location(l.id))
                .collect();
            shell.location_name = match locs.as_slice() {
                [] => String::new(),
                [one] => one.name.clone(),
                [first, rest @ ..] => format!("{} (+{})", first.name, rest.len()),
            };
        }
        shell
    }

    pub fn t(&self, key: &str) -> String {
        self.lang_id.t(key)
    }

    /// The message of a key made of a prefix and a name (a form field's label).
    pub fn tk(&self, prefix: &str, name: &str) -> String {
        self.lang_id.t(&format!("{prefix}{name}"))
    }

    /// The user may open this page of the navigation.
    pub fn may(&self, href: &str) -> bool {
        self.nav.iter().any(|n| n.href == href)
    }
}
