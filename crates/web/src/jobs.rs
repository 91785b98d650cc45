//! `/admin/jobs`: the job queue and its dead letters, with a retry button. An organization's
//! administrators see and retry their organization's jobs only; the installation's own
//! (system) jobs are the operator's, seen in the logs and metrics.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Redirect, Response};
use domain::JobId;
use store::jobs::QueueDepth;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::pages::html;
use crate::shell::{Ctx, Shell};

pub struct DeadRow {
    pub id: String,
    pub kind: String,
    pub attempts: i64,
    pub last_error: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    shell: Shell,
    depth: QueueDepth,
    dead: Vec<DeadRow>,
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
) -> Result<Response, AppError> {
    let mut dead = state.store.dead_jobs(Some(auth.user.org_id), 100).await?;
    dead.sort_by_key(|j| std::cmp::Reverse(j.created_at));
    let rows = dead
        .into_iter()
        .map(|j| DeadRow {
            id: j.id.to_string(),
            kind: j.kind,
            attempts: j.attempts,
            last_error: j.last_error.unwrap_or_default(),
            created: j.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    html(&JobsPage {
        shell: Shell::build(&state, &ctx).await,
        depth: state.store.org_queue_depth(auth.user.org_id).await?,
        dead: rows,
    })
}

pub async fn retry(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    let id: JobId = id.parse().map_err(|_| AppError::NotFound)?;
    if !state
        .store
        .retry_dead_job(Some(auth.user.org_id), id)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/admin/jobs"))
}
