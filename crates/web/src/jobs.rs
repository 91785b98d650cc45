//! `/admin/jobs`: the job queue and its dead letters, with a retry button. Shows the shell's
//! organization's jobs and the installation's own (system) jobs.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Redirect, Response};
use domain::JobId;
use store::jobs::QueueDepth;

use crate::AppState;
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

pub async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let org = state.home_scope().await?.map(|s| s.org());
    let mut dead = state.store.dead_jobs(None, 100).await?;
    if let Some(org) = org {
        dead.extend(state.store.dead_jobs(Some(org), 100).await?);
    }
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
        depth: state.store.queue_depth().await?,
        dead: rows,
    })
}

pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    let id: JobId = id.parse().map_err(|_| AppError::NotFound)?;
    let org = state.home_scope().await?.map(|s| s.org());
    let retried = match org {
        Some(org) => state.store.retry_dead_job(Some(org), id).await?,
        None => false,
    } || state.store.retry_dead_job(None, id).await?;
    if !retried {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/admin/jobs"))
}
