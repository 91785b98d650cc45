//! `/patients/import` (administrators): a CSV export from another system, a preset mapping
//! (Open Dental's, or Cuspid's column names), a dry run, then the import with a progress bar.
//! The run is recorded in the database, so the page (on any server) follows its progress and
//! shows every bad row with its line and reason. The same file imported again adds nothing.

use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::patients::import::{Mapping, preset};
use domain::{DomainError, LocationId, Scope};
use store::patients::import::{ImportOptions, ImportRun};

use super::{Choice, actor, show_time};
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::pages::html;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct RunView {
    pub id: String,
    pub file_name: String,
    pub status: String,
    pub status_code: String,
    pub dry_run: bool,
    pub total: i64,
    pub processed: i64,
    pub created: i64,
    pub skipped: i64,
    pub failed: i64,
    pub started: String,
}

pub struct ErrorRow {
    pub line: u64,
    pub field: String,
    pub message: String,
    pub warning: bool,
}

fn view(ctx: &Ctx, r: &ImportRun) -> RunView {
    RunView {
        id: r.id.to_string(),
        file_name: r.file_name.clone(),
        status: ctx.lang.t(&format!("import-status-{}", r.status)),
        status_code: r.status.clone(),
        dry_run: r.dry_run,
        total: r.total_rows,
        processed: r.processed,
        created: r.created,
        skipped: r.skipped,
        failed: r.failed,
        started: show_time(ctx.lang, r.started_at),
    }
}

#[derive(Template)]
#[template(path = "patient_import.html")]
struct ImportPage {
    shell: Shell,
    locations: Vec<Choice>,
    runs: Vec<RunView>,
    current: Option<RunView>,
    errors: Vec<ErrorRow>,
    more_errors: usize,
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    current: Option<ImportRun>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let locations = state
        .store
        .locations(&scope)
        .await?
        .into_iter()
        .filter(|l| scope.allows_location(l.id))
        .enumerate()
        .map(|(i, l)| Choice {
            value: l.id.to_string(),
            label: l.name,
            selected: i == 0,
        })
        .collect();
    let runs = state
        .store
        .import_runs(&scope, 10)
        .await?
        .iter()
        .map(|r| view(ctx, r))
        .collect();
    const SHOWN: usize = 500;
    let (errors, more_errors) = match &current {
        Some(r) => (
            r.errors
                .iter()
                .take(SHOWN)
                .map(|e| ErrorRow {
                    line: e.line,
                    field: e.field.clone(),
                    message: e.message.clone(),
                    warning: e.warning,
                })
                .collect(),
            r.errors.len().saturating_sub(SHOWN),
        ),
        None => (Vec::new(), 0),
    };
    html(&ImportPage {
        shell: Shell::build(state, ctx).await,
        locations,
        runs,
        current: current.as_ref().map(|r| view(ctx, r)),
        errors,
        more_errors,
    })
}

/// `GET /patients/import`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
) -> Result<Response, AppError> {
    page(&state, &ctx, &auth, None).await
}

fn parse_run(s: &str) -> Result<uuid::Uuid, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// `GET /patients/import/{id}`: a run, its progress and its report.
pub async fn run_page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let run = state
        .store
        .import_run(&auth.scope(), parse_run(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    page(&state, &ctx, &auth, Some(run)).await
}

/// `GET /api/v1/patient-imports/{id}`: progress as JSON (the page polls it).
pub async fn run_json(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let run = state
        .store
        .import_run(&auth.scope(), parse_run(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(run).into_response())
}

/// `POST /patients/import` (multipart: file, preset, location_id, day_first, dry_run)
pub async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    mut mp: Multipart,
) -> Result<Response, AppError> {
    let max = state.config.max_upload_bytes;
    let mut data = bytes::BytesMut::new();
    let mut file_name = String::new();
    let mut preset_name = String::from("auto");
    let mut location = String::new();
    let mut day_first = false;
    let mut dry_run = false;
    let bad = |m: String| AppError::Domain(DomainError::field("file", m));
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| bad(format!("the upload could not be read: {e}")))?
    {
        match field.name().unwrap_or("") {
            "file" => {
                file_name = field.file_name().unwrap_or("import.csv").to_string();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| bad(format!("the upload was cut off: {e}")))?
                {
                    if data.len() + chunk.len() > max {
                        return Err(bad(format!(
                            "the file is larger than the {} MB limit",
                            max / 1_048_576
                        )));
                    }
                    data.extend_from_slice(&chunk);
                }
            }
            "preset" => preset_name = field.text().await.unwrap_or_default(),
            "location_id" => location = field.text().await.unwrap_or_default(),
            "day_first" => day_first = field.text().await.unwrap_or_default() == "on",
            "dry_run" => dry_run = field.text().await.unwrap_or_default() == "on",
            _ => {}
        }
    }
    if data.is_empty() {
        return Err(bad("choose a CSV file".into()));
    }
    let scope = auth.scope();
    let location: LocationId = location.parse().map_err(|_| {
        DomainError::field("location_id", "choose the clinic the patients belong to")
    })?;
    if !scope.allows_location(location) {
        return Err(DomainError::field("location_id", "you do not work at this location").into());
    }
    let data = data.freeze();
    let mut mapping: Mapping = match preset(&preset_name) {
        Some(m) => m,
        None => {
            let headers: Vec<String> = String::from_utf8_lossy(&data)
                .lines()
                .next()
                .unwrap_or("")
                .split([',', ';'])
                .map(|h| h.trim().trim_matches('"').to_string())
                .collect();
            Mapping::detect(&headers)
        }
    };
    mapping.day_first = day_first;
    let who = actor(&auth, &ctx, &ip);
    let mut opts = ImportOptions {
        location_id: location,
        mapping,
        dry_run,
        file_name,
        run: None,
    };
    let run = state.store.start_import(&scope, &who, &opts).await?;
    opts.run = Some(run);
    let store = state.store.clone();
    let task_scope: Scope = scope.clone();
    // The import goes on after this response; the page follows it through the run's row.
    let job = async move {
        if let Err(e) = store
            .import_patients(&task_scope, &who, &data, &opts, &|_, _| {})
            .await
        {
            let reason = match &e {
                store::tenancy::WriteError::Invalid(d) => d.message.clone(),
                store::tenancy::WriteError::Db(_) => "the import stopped on a database error; run it again (rows already in are skipped)".into(),
            };
            tracing::warn!(run = %run, error = %e, "patient import failed");
            if let Err(e) = store.fail_import(run, &reason).await {
                tracing::error!(run = %run, error = %e, "could not record the failed import");
            }
        }
    };
    if dry_run {
        job.await;
    } else {
        tokio::spawn(job);
    }
    Ok(Redirect::to(&format!("/patients/import/{run}")).into_response())
}
