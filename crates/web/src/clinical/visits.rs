//! `/patients/{id}/visits`: a patient's visits and a new one (kind, chief complaint, dentist,
//! a note template); `/patients/{id}/visits/{visit}`: the SOAP notes while the visit is open,
//! signing (`chart.sign`), and after that the signed record, read-only, with the odontogram as
//! it stood when signed and the addenda.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::clinical::catalog::Effect;
use domain::clinical::chart::{ChartStatus, Mark, Site, odontogram};
use domain::clinical::teeth::{Area, Dentition, Surfaces, Tooth};
use domain::clinical::visit::{Soap, TEMPLATES, VisitKind};
use domain::identity::Permission;
use domain::{ErrorCode, PatientId, UserId};
use serde::Deserialize;
use store::tenancy::WriteError;
use store::visits::{NewVisit, SnapshotEntry, Visit};

use super::svg;
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

pub struct VisitRow {
    pub id: String,
    pub when: String,
    pub kind: String,
    pub complaint: String,
    pub by: String,
    pub signed: String,
}

fn row(lang: Lang, v: &Visit) -> VisitRow {
    VisitRow {
        id: v.id.to_string(),
        when: show_time(lang, v.created_at),
        kind: lang.t(&format!("visit-kind-{}", v.kind.code())),
        complaint: v.chief_complaint.clone(),
        by: v.created_by_name.clone(),
        signed: v
            .signed
            .as_ref()
            .map(|(by, at)| format!("{by} · {}", show_time(lang, *at)))
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "patient_visits.html")]
struct ListPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    rows: Vec<VisitRow>,
    kinds: Vec<Choice>,
    templates: Vec<Choice>,
    dentists: Vec<Choice>,
    /// The patient's appointments around today (the one under way chosen), when the user may
    /// see the schedule.
    appointments: Vec<Choice>,
    can_write: bool,
    fe: FieldErrors,
    signed_count: usize,
}

/// What the clinician reviews before the exam (the medical alerts are in the banner).
pub struct Review {
    pub last_visit: Option<(String, String)>,
    pub planned: Vec<String>,
    pub planned_more: usize,
    pub cases: Vec<(String, String)>,
    pub prescriptions: Vec<(String, String)>,
}

/// The last visit before this one, the work planned on the chart, the open treatment cases
/// and the active prescriptions (each only for a user who may see it).
async fn review(
    state: &AppState,
    auth: &Auth,
    who: &store::patients::Actor,
    lang: Lang,
    id: PatientId,
    v: &Visit,
) -> Result<Review, AppError> {
    let scope = auth.scope();
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let last_visit = state
        .store
        .visits(&scope, who, id)
        .await?
        .into_iter()
        .find(|x| x.id != v.id && x.created_at <= v.created_at)
        .map(|x| {
            let r = row(lang, &x);
            (
                format!("/patients/{id}/visits/{}", x.id),
                [r.kind, r.when, r.complaint]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" · "),
            )
        });
    let planned: Vec<String> = state
        .store
        .chart(&scope, who, id)
        .await?
        .entries
        .iter()
        .filter(|e| !e.is_void() && e.status == ChartStatus::Planned)
        .map(|e| {
            let (site, surfaces) = super::show_site(e.site, numbering);
            [format!("{} {}", e.code, e.name), site, surfaces]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .collect();
    let cases = if auth.can(Permission::TreatmentRead) {
        state
            .store
            .cases(&scope, who, Some(id), 20)
            .await?
            .into_iter()
            .filter(|l| l.case.open)
            .map(|l| {
                (
                    format!("/treatments/{}", l.case.id),
                    format!("{} · {}", l.case.reference(), l.case.text.title),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let now = state.store.now();
    let prescriptions = if auth.can(Permission::PrescriptionsRead) {
        state
            .store
            .prescriptions(&scope, who, id)
            .await?
            .into_iter()
            .filter(|p| p.active_at(now))
            .map(|p| {
                (
                    format!("/patients/{id}/prescriptions/{}", p.id),
                    format!("{} · {}", p.reference(), p.medicine.label()),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    const SHOWN: usize = 12;
    Ok(Review {
        last_visit,
        planned_more: planned.len().saturating_sub(SHOWN),
        planned: planned.into_iter().take(SHOWN).collect(),
        cases,
        prescriptions,
    })
}

pub struct AddendumView {
    pub text: String,
    pub by: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "patient_visit.html")]
struct VisitPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    v: VisitRow,
    visit_id: String,
    version: i64,
    complaint: String,
    soap: Soap,
    signed: bool,
    /// The pre-exam review of an open visit.
    review: Option<Review>,
    appointment_id: String,
    snapshot_svg: String,
    snapshot_lines: Vec<String>,
    addenda: Vec<AddendumView>,
    can_write: bool,
    can_sign: bool,
    fe: FieldErrors,
    error: String,
    notice: String,
}

/// The providers who may work at the patient's clinic.
async fn dentists(
    state: &AppState,
    auth: &Auth,
    location: domain::LocationId,
) -> Result<Vec<(UserId, String)>, AppError> {
    Ok(state
        .store
        .agenda_providers(&auth.scope(), location)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: PatientId,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let p = state.store.patient(&scope, &who, id).await?;
    let visits = state.store.visits(&scope, &who, id).await?;
    let appointments = if auth.can(Permission::ScheduleRead) {
        appointment_choices(state, &scope, &who, lang, id).await?
    } else {
        Vec::new()
    };
    html_status(
        &ListPage {
            shell: Shell::build(state, ctx).await,
            banner: banner(state, lang, &scope, &p).await?,
            h: Head {
                chart_tab: true,
                ..head(lang, today(state), &p)
            },
            rows: visits.iter().map(|v| row(lang, v)).collect(),
            kinds: VisitKind::ALL
                .iter()
                .map(|k| Choice {
                    value: k.code().into(),
                    label: lang.t(&format!("visit-kind-{}", k.code())),
                    selected: *k == VisitKind::Exam,
                })
                .collect(),
            templates: std::iter::once(Choice {
                value: String::new(),
                label: lang.t("visit-no-template"),
                selected: false,
            })
            .chain(TEMPLATES.iter().map(|t| Choice {
                value: t.code.into(),
                label: if lang == Lang::Fr { t.fr } else { t.en }.into(),
                selected: t.code == "comprehensive",
            }))
            .collect(),
            dentists: std::iter::once(Choice {
                value: String::new(),
                label: "—".into(),
                selected: true,
            })
            .chain(
                dentists(state, auth, p.location_id)
                    .await?
                    .into_iter()
                    .map(|(id, name)| Choice {
                        value: id.to_string(),
                        label: name,
                        selected: false,
                    }),
            )
            .collect(),
            can_write: auth.can(Permission::ChartWrite),
            fe,
            signed_count: visits.iter().filter(|v| v.signed.is_some()).count(),
            appointments,
        },
        status,
    )
}

/// The patient's appointments from a month ago to tomorrow that took or will take place, for
/// a visit to link; the one closest to now is chosen when it is today.
async fn appointment_choices(
    state: &AppState,
    scope: &domain::Scope,
    who: &store::patients::Actor,
    lang: Lang,
    id: PatientId,
) -> Result<Vec<Choice>, AppError> {
    use domain::scheduling::AppointmentStatus as S;
    let now = state.store.now();
    let day = jiff::SignedDuration::from_hours(24);
    let items: Vec<_> = state
        .store
        .patient_appointments(scope, who, id, 50)
        .await?
        .into_iter()
        .filter(|i| {
            let a = &i.appointment;
            !matches!(a.status, S::Cancelled | S::NoShow | S::Rescheduled)
                && a.start > now - day * 30
                && a.start < now + day
        })
        .collect();
    let closest = items
        .iter()
        .min_by_key(|i| now.duration_until(i.appointment.start).abs())
        .filter(|i| {
            now.duration_until(i.appointment.start).abs() < jiff::SignedDuration::from_hours(12)
        })
        .map(|i| i.appointment.id);
    if items.is_empty() {
        return Ok(Vec::new());
    }
    Ok(std::iter::once(Choice {
        value: String::new(),
        label: lang.t("visit-no-appointment"),
        selected: closest.is_none(),
    })
    .chain(items.iter().map(|i| Choice {
        value: i.appointment.id.to_string(),
        label: format!(
            "{}{}",
            show_time(lang, i.appointment.start),
            i.type_name
                .as_ref()
                .map(|t| format!(" · {t}"))
                .unwrap_or_default()
        ),
        selected: Some(i.appointment.id) == closest,
    }))
    .collect())
}

/// `GET /patients/{id}/visits`
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    list_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /patients/{id}/visits`: opens a visit and goes to its notes.
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let mut v = NewVisit::default();
    for (k, val) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "kind" => v.kind = VisitKind::from_code(&val),
            "chief_complaint" => v.chief_complaint = val,
            "dentist_id" if !val.is_empty() => v.dentist_id = val.parse().ok(),
            "template" if !val.is_empty() => v.template = Some((val, ctx.lang.code().to_string())),
            "appointment_id" if !val.is_empty() => v.appointment_id = val.parse().ok(),
            _ => {}
        }
    }
    match state
        .store
        .create_visit(&auth.scope(), &actor(&auth, &ctx, &ip), id, &v)
        .await
    {
        Ok(visit) => {
            Ok(Redirect::to(&format!("/patients/{id}/visits/{}", visit.id)).into_response())
        }
        Err(WriteError::Invalid(d)) if d.code == ErrorCode::Validation => {
            let fe = FieldErrors::of(&d.fields);
            list_page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                fe,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The snapshot drawn as the odontogram was, and listed.
fn snapshot_view(
    lang: Lang,
    numbering: domain::clinical::teeth::Numbering,
    s: &[SnapshotEntry],
) -> (String, Vec<String>) {
    let mut marks = Vec::new();
    let mut lines = Vec::new();
    for e in s {
        let site = match (
            e.tooth.and_then(Tooth::from_fdi),
            e.area.as_deref().and_then(Area::parse),
        ) {
            (Some(t), _) => Site::Tooth(t, Surfaces::from_bits(e.surfaces).unwrap_or_default()),
            (None, Some(a)) => Site::Area(a),
            _ => Site::Mouth,
        };
        let status = ChartStatus::from_code(&e.status).unwrap_or(ChartStatus::Existing);
        if let Some(effect) = Effect::from_code(&e.effect) {
            marks.push(Mark {
                site,
                status,
                effect,
            });
        }
        let (where_, surfaces) = super::show_site(site, numbering);
        lines.push(
            [
                where_,
                surfaces,
                format!("{} {}", e.code, e.name),
                lang.t(&format!("chart-status-{}", e.status)),
            ]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
        );
    }
    let view = odontogram(&marks);
    let describe = |t: Tooth| format!("{} {}", lang.t("chart-tooth"), t.show(numbering));
    let svg = svg::odontogram(&svg::Drawing {
        view: &view,
        numbering,
        dentition: Dentition::Permanent,
        selected: None,
        link_base: "",
        describe: &describe,
    });
    (svg, lines)
}

#[allow(clippy::too_many_arguments)]
async fn visit_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: PatientId,
    visit: uuid::Uuid,
    typed: Option<(String, Soap)>,
    fe: FieldErrors,
    error: String,
    notice: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let p = state.store.patient(&scope, &who, id).await?;
    let v = state.store.visit(&scope, &who, id, visit).await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let (snapshot_svg, snapshot_lines) = match &v.snapshot {
        Some(s) => snapshot_view(lang, numbering, s),
        None => (String::new(), Vec::new()),
    };
    // A signed record always shows what was signed, never what a refused form sent.
    let (complaint, soap) = typed
        .filter(|_| v.signed.is_none())
        .unwrap_or_else(|| (v.chief_complaint.clone(), v.soap.clone()));
    let review = match v.signed {
        None => Some(review(state, auth, &who, lang, id, &v).await?),
        Some(_) => None,
    };
    html_status(
        &VisitPage {
            shell: Shell::build(state, ctx).await,
            banner: banner(state, lang, &scope, &p).await?,
            h: Head {
                chart_tab: true,
                ..head(lang, today(state), &p)
            },
            v: row(lang, &v),
            visit_id: v.id.to_string(),
            version: v.version,
            complaint,
            soap,
            signed: v.signed.is_some(),
            review,
            appointment_id: v.appointment_id.map(|a| a.to_string()).unwrap_or_default(),
            snapshot_svg,
            snapshot_lines,
            addenda: v
                .addenda
                .iter()
                .map(|a| AddendumView {
                    text: a.text.clone(),
                    by: a.signed_by_name.clone(),
                    at: show_time(lang, a.signed_at),
                })
                .collect(),
            can_write: auth.can(Permission::ChartWrite),
            can_sign: auth.can(Permission::ChartSign),
            fe,
            error,
            notice,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
pub struct VisitQuery {
    #[serde(default)]
    notice: String,
}

/// `GET /patients/{id}/visits/{visit}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, visit)): Path<(String, String)>,
    Query(q): Query<VisitQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let visit: uuid::Uuid = visit.parse().map_err(|_| AppError::NotFound)?;
    let notice = match q.notice.as_str() {
        "saved" | "signed" | "addendum" => ctx.lang.t(&format!("visit-notice-{}", q.notice)),
        _ => String::new(),
    };
    visit_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        visit,
        None,
        FieldErrors::default(),
        String::new(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /patients/{id}/visits/{visit}`: `action=save` (notes), `action=sign`, or
/// `action=addendum`.
pub async fn act(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, visit)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let visit: uuid::Uuid = visit.parse().map_err(|_| AppError::NotFound)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let mut action = String::new();
    let mut complaint = String::new();
    let mut soap = Soap::default();
    let mut addendum = String::new();
    let mut base = None;
    let mut has_notes = false;
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "action" => action = v,
            "chief_complaint" => complaint = v,
            "subjective" => {
                has_notes = true;
                soap.subjective = v;
            }
            "objective" => soap.objective = v,
            "assessment" => soap.assessment = v,
            "plan" => soap.plan = v,
            "addendum" => addendum = v,
            "base_version" => base = v.trim().parse().ok(),
            _ => {}
        }
    }
    let result = match action.as_str() {
        "save" => state
            .store
            .save_visit_notes(&scope, &who, id, visit, &complaint, &soap, base)
            .await
            .map(|_| "saved"),
        "sign" if auth.can(Permission::ChartSign) => {
            // Sign what is on the screen: save the notes first when they were sent.
            let saved = if has_notes {
                state
                    .store
                    .save_visit_notes(&scope, &who, id, visit, &complaint, &soap, base)
                    .await
                    .map(|v| Some(v.version))
            } else {
                Ok(base)
            };
            match saved {
                Ok(b) => state
                    .store
                    .sign_visit(&scope, &who, id, visit, b)
                    .await
                    .map(|_| "signed"),
                Err(e) => Err(e),
            }
        }
        "sign" => {
            return Err(AppError::Domain(domain::DomainError::new(
                ErrorCode::Forbidden,
                "signing needs the chart.sign permission (a dentist)",
            )));
        }
        "addendum" => state
            .store
            .add_addendum(&scope, &who, id, visit, &addendum)
            .await
            .map(|_| "addendum"),
        _ => {
            state.store.patient_summary(&scope, id).await?;
            return Err(AppError::Domain(domain::DomainError::field(
                "action",
                "save, sign or addendum",
            )));
        }
    };
    match result {
        Ok(notice) => Ok(
            Redirect::to(&format!("/patients/{id}/visits/{visit}?notice={notice}")).into_response(),
        ),
        Err(WriteError::Invalid(d)) if d.code != ErrorCode::NotFound => {
            let status = StatusCode::from_u16(d.code.http_status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let fe = FieldErrors::of(&d.fields);
            let typed = (action != "addendum").then(|| (complaint.clone(), soap.clone()));
            visit_page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                visit,
                typed,
                fe,
                d.message,
                String::new(),
                status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// One side of the comparison.
pub struct CompareSide {
    pub title: String,
    pub svg: String,
    /// (line, changed: not on the other side).
    pub lines: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "patient_visits_compare.html")]
struct ComparePage {
    shell: Shell,
    banner: Banner,
    h: Head,
    signed: Vec<Choice>,
    signed_b: Vec<Choice>,
    sides: Vec<CompareSide>,
    error: String,
}

#[derive(Deserialize, Default)]
pub struct CompareQuery {
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
}

/// `GET /patients/{id}/visits/compare?a=…&b=…`: two signed visits' odontograms side by side,
/// what differs marked on each side.
pub async fn compare(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<CompareQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(&auth, &ctx, &ip);
    let p = state.store.patient(&scope, &who, id).await?;
    let visits: Vec<Visit> = state
        .store
        .visits(&scope, &who, id)
        .await?
        .into_iter()
        .filter(|v| v.snapshot.is_some())
        .collect();
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let a: Option<uuid::Uuid> = q.a.parse().ok();
    let b: Option<uuid::Uuid> = q.b.parse().ok();
    // By default the two latest signed visits: the older on the left.
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (Some(a), Some(b)),
        _ => (visits.get(1).map(|v| v.id), visits.first().map(|v| v.id)),
    };
    let choice = |sel: Option<uuid::Uuid>| -> Vec<Choice> {
        visits
            .iter()
            .map(|v| Choice {
                value: v.id.to_string(),
                label: format!(
                    "{} · {}",
                    show_time(lang, v.created_at),
                    lang.t(&format!("visit-kind-{}", v.kind.code()))
                ),
                selected: Some(v.id) == sel,
            })
            .collect()
    };
    let find = |x: Option<uuid::Uuid>| x.and_then(|x| visits.iter().find(|v| v.id == x));
    let mut error = String::new();
    let mut sides = Vec::new();
    match (find(a), find(b)) {
        (Some(va), Some(vb)) => {
            let view = |v: &Visit| {
                snapshot_view(lang, numbering, v.snapshot.as_deref().unwrap_or_default())
            };
            let (svg_a, lines_a) = view(va);
            let (svg_b, lines_b) = view(vb);
            let mark = |mine: &[String], other: &[String]| {
                mine.iter()
                    .map(|l| (l.clone(), !other.contains(l)))
                    .collect::<Vec<_>>()
            };
            let title = |v: &Visit| {
                format!(
                    "{} · {} · {}",
                    lang.t(&format!("visit-kind-{}", v.kind.code())),
                    show_time(lang, v.created_at),
                    v.signed.as_ref().map(|(by, _)| by.as_str()).unwrap_or("")
                )
            };
            sides.push(CompareSide {
                title: title(va),
                svg: svg_a,
                lines: mark(&lines_a, &lines_b),
            });
            sides.push(CompareSide {
                title: title(vb),
                svg: svg_b,
                lines: mark(&lines_b, &lines_a),
            });
        }
        _ if visits.len() < 2 => error = lang.t("visit-compare-need-two"),
        // Ids that are not this patient's signed visits.
        _ => return Err(AppError::NotFound),
    }
    html(&ComparePage {
        shell: Shell::build(&state, &ctx).await,
        banner: banner(&state, lang, &scope, &p).await?,
        h: Head {
            chart_tab: true,
            ..head(lang, today(&state), &p)
        },
        signed: choice(a),
        signed_b: choice(b),
        sides,
        error,
    })
}
