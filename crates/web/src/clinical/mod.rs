//! `/patients/{id}/chart`: the odontogram, the entry form (clicks on teeth and surfaces, or a
//! keyboard line such as `16 MOD comp`), the entries with their history per tooth, and the
//! live update when someone else charts the same patient. `/settings/clinical`: numbering and
//! the catalog, with a licensed list's CSV import.

pub mod api;
pub mod cases;
pub mod perio;
pub mod plans;
pub mod rx;
pub mod settings;
pub mod svg;
pub mod visits;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::clinical::catalog::CATEGORIES;
use domain::clinical::chart::{
    ChartStatus, EntryRequest, Site, ToothView, odontogram, parse_command,
};
use domain::clinical::teeth::{Area, Dentition, Numbering, Tooth};
use domain::identity::Permission;
use domain::{ChartEntryId, ErrorCode, PatientId};
use serde::Deserialize;
use store::clinical::{Chart, ChartEntry, ChartPermits, EntryChange, ProcedureCode};
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::{html, html_status};
use crate::patients::{
    Banner, Choice, FieldErrors, Head, actor, banner, head, parse_patient_id, show_time, today,
};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub fn permits(auth: &Auth) -> ChartPermits {
    ChartPermits {
        may_complete_dentist_only: auth.can(Permission::ChartSign),
    }
}

/// A site as the clinic writes it: `16 MOD`, `UR`, or empty for the whole mouth.
pub fn show_site(site: Site, numbering: Numbering) -> (String, String) {
    match site {
        Site::Mouth => (String::new(), String::new()),
        Site::Tooth(t, s) => (t.show(numbering), s.show_on(t)),
        Site::Area(a) => (a.code(), String::new()),
    }
}

pub struct EntryRow {
    pub id: String,
    pub when: String,
    pub tooth: String,
    pub surfaces: String,
    pub code: String,
    pub name: String,
    pub status: String,
    pub status_code: &'static str,
    pub by: String,
    pub note: String,
    pub void: bool,
    pub void_line: String,
    pub can_complete: bool,
    pub override_reason: String,
}

fn entry_row(lang: Lang, numbering: Numbering, e: &ChartEntry, can_write: bool) -> EntryRow {
    let (tooth, surfaces) = show_site(e.site, numbering);
    EntryRow {
        id: e.id.to_string(),
        when: show_time(lang, e.effective_at()),
        tooth,
        surfaces,
        code: e.code.clone(),
        name: e.name.clone(),
        status: lang.t(&format!("chart-status-{}", e.status.code())),
        status_code: e.status.code(),
        by: e
            .completed_by_name
            .clone()
            .unwrap_or_else(|| e.recorded_by_name.clone()),
        note: e.note.clone(),
        void: e.is_void(),
        void_line: match (&e.voided_at, &e.voided_by_name, &e.void_reason) {
            (Some(at), by, reason) => format!(
                "{} {} · {} · {}",
                lang.t("chart-voided"),
                show_time(lang, *at),
                by.clone().unwrap_or_default(),
                reason.clone().unwrap_or_default()
            ),
            _ => String::new(),
        },
        can_complete: can_write && !e.is_void() && e.status == ChartStatus::Planned,
        override_reason: e.override_reason.clone().unwrap_or_default(),
    }
}

pub struct CodeOption {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

pub struct CodeGroup {
    pub label: String,
    pub codes: Vec<CodeOption>,
}

/// The form as typed, kept when it comes back with errors.
#[derive(Clone, Debug, Default)]
pub struct FormValues {
    pub command: String,
    pub tooth: String,
    pub surfaces: String,
    pub code: String,
    pub area: String,
    pub status: String,
    pub note: String,
    pub override_reason: String,
}

/// The part of the page a live update replaces.
pub struct Live {
    pub patient_id: String,
    pub version: i64,
    pub svg: String,
    pub entries: Vec<EntryRow>,
    pub selected: String,
    pub selected_fdi: String,
    pub tooth_history: Vec<EntryRow>,
    pub can_write: bool,
    pub dentition: &'static str,
    pub missing_count: usize,
    pub planned_count: usize,
}

#[derive(Template)]
#[template(path = "patient_chart.html")]
struct ChartPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    live: Live,
    dentitions: Vec<Choice>,
    numbering: String,
    groups: Vec<CodeGroup>,
    areas: Vec<Choice>,
    statuses: Vec<Choice>,
    form: FormValues,
    fe: FieldErrors,
    error: String,
    notice: String,
}

#[derive(Template)]
#[template(path = "chart_live.html")]
struct LiveFragment {
    shell: Shell,
    live: Live,
}

#[derive(Deserialize, Default)]
pub struct ChartQuery {
    #[serde(default)]
    tooth: String,
    #[serde(default)]
    dentition: String,
    #[serde(default)]
    notice: String,
    #[serde(default)]
    fragment: String,
}

/// A tooth's title in the drawing: its number and what is charted on it.
fn describe(
    lang: Lang,
    numbering: Numbering,
    chart: &Chart,
    view: Option<&ToothView>,
    t: Tooth,
) -> String {
    let mut parts = vec![format!("{} {}", lang.t("chart-tooth"), t.show(numbering))];
    if view.is_some_and(|v| v.missing) {
        parts.push(lang.t("chart-missing"));
    }
    for e in chart
        .entries
        .iter()
        .filter(|e| !e.is_void() && e.site.tooth() == Some(t))
    {
        let (_, surfaces) = show_site(e.site, numbering);
        parts.push(format!(
            "{} {} {}",
            e.name,
            surfaces,
            lang.t(&format!("chart-status-{}", e.status.code()))
        ));
    }
    parts.join(" · ")
}

#[allow(clippy::too_many_arguments)]
async fn live(
    state: &AppState,
    lang: Lang,
    auth: &Auth,
    p: &store::patients::Patient,
    chart: &Chart,
    numbering: Numbering,
    q: &ChartQuery,
) -> Live {
    let can_write = auth.can(Permission::ChartWrite);
    let dentition = Dentition::from_code(&q.dentition)
        .unwrap_or_else(|| Dentition::for_age(p.details.age_on(today(state))));
    let selected = Tooth::parse(&q.tooth, Numbering::Fdi);
    let view = odontogram(&chart.marks());
    let link_base = format!("dentition={}&", dentition.code());
    let describe = |t: Tooth| describe(lang, numbering, chart, view.get(&t), t);
    let svg = svg::odontogram(&svg::Drawing {
        view: &view,
        numbering,
        dentition,
        selected,
        link_base: &link_base,
        describe: &describe,
    });
    let mut entries: Vec<EntryRow> = chart
        .entries
        .iter()
        .rev()
        .map(|e| entry_row(lang, numbering, e, can_write))
        .collect();
    entries.truncate(500);
    let tooth_history = match selected {
        Some(t) => chart
            .entries
            .iter()
            .filter(|e| e.site.tooth() == Some(t))
            .rev()
            .map(|e| entry_row(lang, numbering, e, can_write))
            .collect(),
        None => Vec::new(),
    };
    Live {
        patient_id: p.id.to_string(),
        version: chart.version,
        svg,
        entries,
        selected: selected.map(|t| t.show(numbering)).unwrap_or_default(),
        selected_fdi: selected.map(|t| t.fdi().to_string()).unwrap_or_default(),
        tooth_history,
        can_write,
        dentition: dentition.code(),
        missing_count: view.values().filter(|v| v.missing).count(),
        planned_count: chart
            .entries
            .iter()
            .filter(|e| !e.is_void() && e.status == ChartStatus::Planned)
            .count(),
    }
}

fn code_groups(lang: Lang, codes: &[ProcedureCode], selected: &str) -> Vec<CodeGroup> {
    CATEGORIES
        .iter()
        .filter_map(|cat| {
            let codes: Vec<CodeOption> = codes
                .iter()
                .filter(|c| c.active && c.entry.category == *cat)
                .map(|c| CodeOption {
                    code: c.entry.code.clone(),
                    label: format!("{} · {}", c.entry.code, c.entry.name),
                    selected: c.entry.code.eq_ignore_ascii_case(selected),
                })
                .collect();
            (!codes.is_empty()).then(|| CodeGroup {
                label: lang.t(&format!("category-{cat}")),
                codes,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: PatientId,
    q: ChartQuery,
    form: FormValues,
    fe: FieldErrors,
    error: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let p = state.store.patient(&scope, &who, id).await?;
    let chart = state.store.chart(&scope, &who, id).await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let live = live(state, lang, auth, &p, &chart, numbering, &q).await;
    if q.fragment == "1" {
        return html(&LiveFragment {
            shell: Shell::bare(ctx),
            live,
        });
    }
    let codes = state.store.procedure_codes(&scope).await?;
    let dentitions = Dentition::ALL
        .iter()
        .map(|d| Choice {
            value: d.code().into(),
            label: lang.t(&format!("chart-dentition-{}", d.code())),
            selected: d.code() == live.dentition,
        })
        .collect();
    let mut form = form;
    if form.tooth.is_empty() && !live.selected.is_empty() {
        form.tooth = live.selected.clone();
    }
    let areas = std::iter::once(Choice {
        value: String::new(),
        label: "—".into(),
        selected: form.area.is_empty(),
    })
    .chain(Area::all().into_iter().map(|a| Choice {
        value: a.code(),
        label: lang.t(&format!("chart-area-{}", a.code().to_lowercase())),
        selected: form.area.eq_ignore_ascii_case(&a.code()),
    }))
    .collect();
    let statuses = std::iter::once(Choice {
        value: String::new(),
        label: lang.t("chart-status-auto"),
        selected: form.status.is_empty(),
    })
    .chain(ChartStatus::ALL.iter().map(|s| Choice {
        value: s.code().into(),
        label: lang.t(&format!("chart-status-{}", s.code())),
        selected: form.status == s.code(),
    }))
    .collect();
    html_status(
        &ChartPage {
            shell: Shell::build(state, ctx).await,
            banner: banner(state, lang, &scope, &p).await?,
            h: {
                let mut h = head(lang, today(state), &p);
                h.chart_tab = true;
                h
            },
            live,
            dentitions,
            numbering: lang.t(&format!("numbering-{}", numbering.code())),
            groups: code_groups(lang, &codes, &form.code),
            areas,
            statuses,
            form,
            fe,
            error,
            notice: match q.notice.as_str() {
                "" => String::new(),
                k => lang.t(&format!("chart-notice-{k}")),
            },
        },
        status,
    )
}

/// `GET /patients/{id}/chart` (`?fragment=1`: only the live part, for the update script).
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<ChartQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        q,
        FormValues::default(),
        FieldErrors::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

fn read_form(body: &[u8]) -> (FormValues, Option<i64>, String) {
    let mut f = FormValues::default();
    let mut base = None;
    let mut dentition = String::new();
    for (k, v) in form_urlencoded_pairs(body) {
        match k.as_str() {
            "command" => f.command = v,
            "tooth" => f.tooth = v,
            "surfaces" => f.surfaces = v,
            "code" => f.code = v,
            "area" => f.area = v,
            "status" => f.status = v,
            "note" => f.note = v,
            "override_reason" => f.override_reason = v,
            "base_version" => base = v.trim().parse().ok(),
            "dentition" => dentition = v,
            _ => {}
        }
    }
    (f, base, dentition)
}

/// The request a form describes: the keyboard line when one was typed, else the fields.
fn request_of(f: &FormValues, numbering: Numbering) -> Result<EntryRequest, String> {
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let mut req = if f.command.trim().is_empty() {
        EntryRequest {
            code: f.code.trim().to_string(),
            tooth: opt(&f.tooth),
            area: opt(&f.area),
            surfaces: opt(&f.surfaces),
            status: opt(&f.status),
            ..Default::default()
        }
    } else {
        parse_command(&f.command, numbering)?
    };
    req.note = opt(&f.note);
    req.override_reason = opt(&f.override_reason);
    Ok(req)
}

/// `POST /patients/{id}/chart`: charts one entry.
pub async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let (form, base, dentition) = read_form(&body);
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let back = |tooth: String, form: FormValues, fe: FieldErrors, error: String, status| {
        let q = ChartQuery {
            tooth,
            dentition: dentition.clone(),
            ..Default::default()
        };
        (q, form, fe, error, status)
    };
    let (q, form, fe, error, status) = match request_of(&form, numbering) {
        Err(m) => back(
            String::new(),
            form,
            FieldErrors(vec![("command".into(), m)]),
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(req) => {
            match state
                .store
                .add_chart_entry(
                    &scope,
                    &actor(&auth, &ctx, &ip),
                    permits(&auth),
                    id,
                    numbering,
                    &req,
                    base,
                )
                .await
            {
                Ok(e) => {
                    let tooth = e
                        .site
                        .tooth()
                        .map(|t| t.fdi().to_string())
                        .unwrap_or_default();
                    return Ok(Redirect::to(&format!(
                        "/patients/{id}/chart?tooth={tooth}&dentition={dentition}&notice=added"
                    ))
                    .into_response());
                }
                Err(WriteError::Invalid(d)) if d.code == ErrorCode::Validation => {
                    let fe = FieldErrors::of(&d.fields);
                    let tooth = req
                        .tooth
                        .as_deref()
                        .and_then(|t| Tooth::parse(t, numbering))
                        .map(|t| t.fdi().to_string())
                        .unwrap_or_default();
                    back(
                        tooth,
                        form,
                        fe,
                        String::new(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                }
                Err(WriteError::Invalid(d))
                    if matches!(d.code, ErrorCode::Conflict | ErrorCode::Forbidden) =>
                {
                    let status =
                        StatusCode::from_u16(d.code.http_status()).unwrap_or(StatusCode::CONFLICT);
                    back(
                        String::new(),
                        form,
                        FieldErrors::default(),
                        d.message,
                        status,
                    )
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    page(&state, &ctx, &auth, &ip, id, q, form, fe, error, status).await
}

/// `POST /patients/{id}/chart/{entry}`: `action=complete`, or `action=void` with a reason.
pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, entry)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let entry: ChartEntryId = entry.parse().map_err(|_| AppError::NotFound)?;
    let mut action = String::new();
    let mut reason = String::new();
    let mut base = None;
    let mut dentition = String::new();
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "action" => action = v,
            "reason" => reason = v,
            "base_version" => base = v.trim().parse().ok(),
            "dentition" => dentition = v,
            _ => {}
        }
    }
    let change = match action.as_str() {
        "complete" => EntryChange::Complete,
        "void" => EntryChange::Void { reason },
        _ => {
            // Another organization's record is not found, whatever was asked.
            state.store.patient_summary(&auth.scope(), id).await?;
            return Err(AppError::Domain(domain::DomainError::field(
                "action",
                "complete or void",
            )));
        }
    };
    match state
        .store
        .change_chart_entry(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            permits(&auth),
            id,
            entry,
            change,
            base,
        )
        .await
    {
        Ok(e) => {
            let tooth = e
                .site
                .tooth()
                .map(|t| t.fdi().to_string())
                .unwrap_or_default();
            Ok(Redirect::to(&format!(
                "/patients/{id}/chart?tooth={tooth}&dentition={dentition}&notice={}",
                if action == "void" {
                    "voided"
                } else {
                    "completed"
                }
            ))
            .into_response())
        }
        Err(WriteError::Invalid(d)) if d.code != ErrorCode::NotFound => {
            let status = StatusCode::from_u16(d.code.http_status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let q = ChartQuery {
                dentition,
                ..Default::default()
            };
            page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                q,
                FormValues::default(),
                FieldErrors::default(),
                d.message,
                status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_a_line_uses_the_line() {
        let (f, base, dentition) = read_form(
            b"command=16+MOD+comp&code=CROWN&tooth=11&base_version=7&dentition=mixed&note=deep",
        );
        assert_eq!((base, dentition.as_str()), (Some(7), "mixed"));
        let r = request_of(&f, Numbering::Fdi).unwrap();
        assert_eq!(
            (
                r.code.as_str(),
                r.tooth.as_deref(),
                r.surfaces.as_deref(),
                r.note.as_deref()
            ),
            ("COMP", Some("16"), Some("MOD"), Some("deep"))
        );
        let (f, ..) = read_form(b"code=CROWN&tooth=11&surfaces=&status=completed");
        let r = request_of(&f, Numbering::Fdi).unwrap();
        assert_eq!(
            (
                r.code.as_str(),
                r.tooth.as_deref(),
                r.surfaces,
                r.status.as_deref()
            ),
            ("CROWN", Some("11"), None, Some("completed"))
        );
        let (f, ..) = read_form(b"command=16");
        assert!(request_of(&f, Numbering::Fdi).is_err());
    }
}
