//! The one authorization chokepoint. Every route is declared here with the access it needs
//! ([`Access`]); the router is built only from these declarations, so a route without one
//! cannot exist, and [`route_table`] lists them all for the route × role × tenant test.
//!
//! For a route that needs a user, the layer resolves the session (from the database, so it
//! holds on every server), checks the permission, and hands the handler an [`Auth`] whose
//! [`Scope`] carries the user's organization and locations. Handlers query the store only
//! through that scope, so an id from another organization is simply not found (404), and a
//! refusal never depends on whether the id exists.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;
use domain::identity::{Permission, PermissionSet};
use domain::{DomainError, ErrorCode, Scope};
use store::identity::{SessionPolicy, User};

use crate::AppState;
use crate::error::AppError;
use crate::shell::Ctx;

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-in, health, static assets, signed file links (the signature is the right).
    Public,
    /// Any signed-in user.
    SignedIn,
    /// A signed-in user holding this permission.
    Perm(Permission),
}

impl Access {
    pub fn describe(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::SignedIn => "signed in".into(),
            Access::Perm(p) => p.code().into(),
        }
    }
}

/// One declared route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteDecl {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// The signed-in user of a request that passed the chokepoint.
#[derive(Clone, Debug)]
pub struct Auth {
    pub user: Arc<User>,
    pub permissions: PermissionSet,
    /// The session token (the current session's identity on `/profile`).
    pub token: String,
}

impl Auth {
    pub fn scope(&self) -> Scope {
        self.user.scope()
    }

    pub fn can(&self, p: Permission) -> bool {
        self.permissions.allows(p)
    }
}

/// What a user may do: the union of their default and custom roles' permissions.
pub fn permissions_of(user: &User) -> PermissionSet {
    let defaults = user
        .roles
        .iter()
        .fold(PermissionSet::default(), |s, r| s.union(r.permissions()));
    user.custom_roles
        .iter()
        .fold(defaults, |s, (_, p)| s.union(*p))
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Auth>().cloned().ok_or_else(|| {
            AppError::Internal(format!(
                "{} needs a signed-in user but is declared public",
                parts.uri.path()
            ))
        })
    }
}

/// Routes with their declared access; turned into the router by [`Routes::into_router`].
#[derive(Default)]
pub struct Routes {
    entries: Vec<(RouteDecl, MethodRouter<AppState>)>,
}

macro_rules! method {
    ($name:ident, $route:path, $m:literal) => {
        pub fn $name<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add($m, path, access, $route(handler))
        }
    };
}

impl Routes {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        mr: MethodRouter<AppState>,
    ) -> Self {
        self.entries.push((
            RouteDecl {
                method,
                path,
                access,
            },
            mr,
        ));
        self
    }

    method!(get, axum::routing::get, "GET");
    method!(post, axum::routing::post, "POST");
    method!(delete, axum::routing::delete, "DELETE");
    method!(put, axum::routing::put, "PUT");
    method!(patch, axum::routing::patch, "PATCH");

    /// A POST that takes a file: the ordinary body limit is lifted (the outer limit and the
    /// handler's own, `max_upload_bytes`, apply).
    pub fn post_upload<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(
            "POST",
            path,
            access,
            axum::routing::post(handler).layer(axum::extract::DefaultBodyLimit::disable()),
        )
    }

    pub fn table(&self) -> Vec<RouteDecl> {
        self.entries.iter().map(|(d, _)| *d).collect()
    }

    /// The router: each method of each path behind its own authorization layer.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        let mut by_path: Vec<(&'static str, Vec<MethodRouter<AppState>>)> = Vec::new();
        for (decl, mr) in self.entries {
            let guarded =
                mr.route_layer(from_fn_with_state((state.clone(), decl.access), authorize));
            match by_path.iter_mut().find(|(p, _)| *p == decl.path) {
                Some((_, list)) => list.push(guarded),
                None => by_path.push((decl.path, vec![guarded])),
            }
        }
        by_path.into_iter().fold(Router::new(), |r, (path, list)| {
            let mut methods = list.into_iter();
            match methods.next() {
                Some(first) => r.route(path, methods.fold(first, |a, b| a.merge(b))),
                None => r,
            }
        })
    }
}

/// Every route of the application with its access (for tests and documentation).
pub fn route_table() -> &'static [RouteDecl] {
    static TABLE: std::sync::OnceLock<Vec<RouteDecl>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| crate::routes().table())
}

fn forbidden() -> AppError {
    AppError::Domain(DomainError::new(
        ErrorCode::Forbidden,
        "your role does not allow this",
    ))
}

/// Where to return after signing in: the page asked for, when it is a page.
fn login_redirect(req: &Request, expired: bool) -> Response {
    let back = if req.method() == Method::GET {
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    } else {
        // A form posted after the session ended: return to the page it came from.
        req.headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.split_once("://"))
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
            .unwrap_or_else(|| "/".into())
    };
    let mut to = format!("/login?next={}", crate::session::encode_component(&back));
    if expired {
        to.push_str("&expired=1");
    }
    Redirect::to(&to).into_response()
}

async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let ctx = Ctx::from_parts(req.headers(), req.uri().path());
    // An API client: `Authorization: Bearer cuspid_…`, scoped to the token's permissions.
    if let Some(bearer) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string())
    {
        let found = match state.store.token_user(&bearer).await {
            Ok(f) => f,
            Err(e) => return AppError::from(e).into_response(),
        };
        let Some((user, permissions)) = found else {
            let mut r = AppError::Domain(DomainError::new(
                ErrorCode::Unauthorized,
                "this API token is not valid, has expired or was revoked",
            ))
            .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        };
        if let Access::Perm(p) = access
            && !permissions.allows(p)
        {
            return AppError::Domain(DomainError::new(
                ErrorCode::Forbidden,
                format!("this API token lacks the permission {}", p.code()),
            ))
            .into_response();
        }
        req.extensions_mut().insert(Auth {
            user: Arc::new(user),
            permissions,
            token: String::new(),
        });
        let mut resp = next.run(req).await;
        resp.headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        return resp;
    }
    let token = crate::session::token(req.headers());
    let user = match &token {
        Some(t) => match state.store.session_user(t, SessionPolicy::default()).await {
            Ok(u) => u,
            Err(e) => return AppError::from(e).into_response(),
        },
        None => None,
    };
    let (Some(user), Some(token)) = (user, token.clone()) else {
        let mut resp = if ctx.wants_json {
            AppError::Domain(DomainError::new(ErrorCode::Unauthorized, "not signed in"))
                .into_response()
        } else {
            login_redirect(&req, token.is_some())
        };
        if token.is_some() {
            // Expired, revoked or forged: the cookie is worthless, drop it.
            resp.headers_mut()
                .append(header::SET_COOKIE, crate::session::clear_cookie());
        }
        return resp;
    };
    // A role that must use a second factor: until the user has one, only their profile (to
    // enrol) and who-am-I answer.
    if user.mfa_required && !user.mfa_enabled {
        let path = req.uri().path();
        if !(path.starts_with("/profile") || path == "/api/v1/me") {
            return if ctx.wants_json {
                AppError::Domain(DomainError::new(
                    ErrorCode::Forbidden,
                    "your role requires two-step sign-in: set it up on /profile/mfa first",
                ))
                .into_response()
            } else {
                Redirect::to("/profile/mfa").into_response()
            };
        }
    }
    let permissions = permissions_of(&user);
    if let Access::Perm(p) = access
        && !permissions.allows(p)
    {
        return forbidden().into_response();
    }
    req.extensions_mut().insert(Auth {
        user: Arc::new(user),
        permissions,
        token,
    });
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

/// The permission matrix and the route table as Markdown (kept in SECURITY.md; a test checks
/// the document matches the code).
pub fn matrix_markdown() -> String {
    use domain::identity::Role;
    let mut out = String::from("| permission | ");
    out.push_str(
        &Role::ALL
            .iter()
            .map(|r| r.code())
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out.push_str(" |\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    out.push('\n');
    for p in Permission::ALL {
        out.push_str(&format!("| `{}` | ", p.code()));
        let cells: Vec<&str> = Role::ALL
            .iter()
            .map(|r| if r.grants(*p) { "✓" } else { "" })
            .collect();
        out.push_str(&cells.join(" | "));
        out.push_str(" |\n");
    }
    out.push_str("\n| method | route | requires |\n|---|---|---|\n");
    for d in route_table() {
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            d.method,
            d.path,
            d.access.describe()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_declared_once_per_method() {
        let table = route_table();
        assert!(table.len() > 20, "{table:?}");
        let mut seen = std::collections::HashSet::new();
        for d in table {
            assert!(seen.insert((d.method, d.path)), "declared twice: {d:?}");
        }
    }

    /// The router is built only through [`Routes`]: no module adds routes behind its back.
    #[test]
    fn no_route_bypasses_the_chokepoint() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("access.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [
                ".route(",
                ".nest(",
                ".merge(",
                ".route_service(",
                ".nest_service(",
            ] {
                if text.contains(needle) {
                    offenders.push(format!("{} uses {needle}", path.display()));
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:?}");
    }

    #[test]
    fn pages_of_the_seed_table_need_its_permissions() {
        let table = route_table();
        for (path, perm) in domain::identity::PAGES {
            let Some(d) = table.iter().find(|d| d.path == *path && d.method == "GET") else {
                // `/patients/{id}` and `/treatments/{id}` arrive with their contexts.
                assert!(path.contains('{'), "{path} has no route");
                continue;
            };
            let want = match perm {
                Some(p) => Access::Perm(*p),
                None => Access::SignedIn,
            };
            assert_eq!(d.access, want, "{path}");
        }
    }
}
