//! The front desk's lists: the ASAP list (`/appointments/waitlist`), recalls due and overdue
//! (`/appointments/recall`) and the open-slot finder (`/appointments/slots`), from which a
//! slot is booked for the patient in one click.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::identity::Permission;
use domain::scheduling::{DayPart, WaitlistWish};
use domain::{DomainError, FieldError, PatientId, WaitlistId};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use store::scheduling::slots::SlotQuery;
use store::scheduling::waitlist::NewWaitlistEntry;

use super::{Opt, hhmm, long_date, pick_location};
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::patients::actor;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct WaitRow {
    pub id: String,
    pub patient_id: String,
    pub patient: String,
    pub phone: String,
    pub wish: String,
    pub notes: String,
    pub since: String,
    pub slots_href: String,
}

#[derive(Template)]
#[template(path = "waitlist.html")]
struct WaitlistPage {
    shell: Shell,
    location_id: String,
    rows: Vec<WaitRow>,
    can_write: bool,
    types: Vec<Opt>,
    providers: Vec<Opt>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    location: Option<String>,
}

fn wish_text(ctx: &Ctx, w: &WaitlistWish) -> String {
    let lang = ctx.lang;
    let mut parts = vec![format!("{} min", w.duration_minutes)];
    if w.day_part != DayPart::Any {
        parts.push(lang.t(&format!("daypart-{}", w.day_part.as_str())));
    }
    if !w.weekdays.is_empty() {
        parts.push(
            w.weekdays
                .iter()
                .map(|d| lang.t(&format!("weekday-short-{}", d.to_monday_one_offset())))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    match (w.earliest, w.latest) {
        (Some(a), Some(b)) => parts.push(format!("{a} → {b}")),
        (Some(a), None) => parts.push(format!("≥ {a}")),
        (None, Some(b)) => parts.push(format!("≤ {b}")),
        (None, None) => {}
    }
    parts.join(" · ")
}

/// `GET /appointments/waitlist`
pub async fn waitlist(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let loc = pick_location(&state, &auth, q.location.as_deref()).await?;
    let entries = state
        .store
        .waitlist(&scope, &actor(&auth, &ctx, &ip), loc.id)
        .await?;
    let rows = entries
        .iter()
        .map(|e| WaitRow {
            id: e.id.to_string(),
            patient_id: e.patient_id.to_string(),
            patient: e.patient_name.clone(),
            phone: e
                .phone
                .as_deref()
                .map(crate::patients::show_phone)
                .unwrap_or_default(),
            wish: wish_text(&ctx, &e.wish),
            notes: e.notes.clone(),
            since: e
                .created_at
                .to_zoned(loc.tz().unwrap_or(jiff::tz::TimeZone::UTC))
                .date()
                .to_string(),
            slots_href: format!(
                "/appointments/slots?location={}&patient={}&duration={}&day_part={}{}",
                loc.id,
                e.patient_id,
                e.wish.duration_minutes,
                e.wish.day_part.as_str(),
                e.wish
                    .provider
                    .map(|p| format!("&provider={p}"))
                    .unwrap_or_default()
            ),
        })
        .collect();
    html(&WaitlistPage {
        shell: Shell::build(&state, &ctx).await,
        location_id: loc.id.to_string(),
        rows,
        can_write: auth.can(Permission::ScheduleWrite),
        types: state
            .store
            .appointment_types(&scope, false)
            .await?
            .into_iter()
            .map(|t| Opt {
                id: t.id.to_string(),
                name: t.name,
                selected: false,
            })
            .collect(),
        providers: state
            .store
            .agenda_providers(&scope, loc.id)
            .await?
            .into_iter()
            .map(|p| Opt {
                id: p.id.to_string(),
                name: p.name,
                selected: false,
            })
            .collect(),
    })
}

/// `POST /appointments/waitlist`: a patient onto the list (form).
pub async fn waitlist_add(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut weekdays = Vec::new();
    let mut f = std::collections::HashMap::new();
    for (k, v) in form_urlencoded_pairs(&body) {
        if k == "weekday" {
            if let Ok(w) = v
                .parse::<i8>()
                .map_err(|_| ())
                .and_then(|w| jiff::civil::Weekday::from_monday_one_offset(w).map_err(|_| ()))
            {
                weekdays.push(w);
            }
        } else {
            f.insert(k, v.trim().to_string());
        }
    }
    let get = |k: &str| f.get(k).cloned().filter(|s| !s.is_empty());
    let loc = pick_location(&state, &auth, get("location_id").as_deref()).await?;
    let mut errors = Vec::new();
    let patient: Option<PatientId> = get("patient_id").and_then(|s| s.parse().ok());
    if patient.is_none() {
        errors.push(FieldError {
            field: "patient_id".into(),
            message: "choose a patient".into(),
        });
    }
    let day = |k: &str, errors: &mut Vec<FieldError>| match get(k) {
        None => None,
        Some(s) => match s.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError {
                    field: k.into(),
                    message: "a date as YYYY-MM-DD".into(),
                });
                None
            }
        },
    };
    let earliest = day("earliest", &mut errors);
    let latest = day("latest", &mut errors);
    if !errors.is_empty() {
        return Err(DomainError::validation(errors).into());
    }
    let Some(patient) = patient else {
        return Err(DomainError::field("patient_id", "choose a patient").into());
    };
    state
        .store
        .add_to_waitlist(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            &NewWaitlistEntry {
                location_id: loc.id,
                patient_id: patient,
                appointment_type_id: get("appointment_type_id").and_then(|s| s.parse().ok()),
                wish: WaitlistWish {
                    duration_minutes: get("duration_minutes")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    earliest,
                    latest,
                    weekdays,
                    day_part: get("day_part")
                        .and_then(|s| DayPart::parse(&s))
                        .unwrap_or(DayPart::Any),
                    provider: get("provider_id").and_then(|s| s.parse().ok()),
                },
                notes: get("notes").unwrap_or_default(),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/appointments/waitlist?location={}", loc.id)).into_response())
}

/// `POST /appointments/waitlist/{id}/remove`
pub async fn waitlist_remove(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: WaitlistId = id.parse().map_err(|_| AppError::NotFound)?;
    state
        .store
        .resolve_waitlist(&auth.scope(), &actor(&auth, &ctx, &ip), id, None)
        .await?;
    Ok(Redirect::to("/appointments/waitlist").into_response())
}

pub struct RecallRow {
    pub patient_id: String,
    pub patient: String,
    pub chart: i64,
    pub phone: String,
    pub recall: String,
    pub last_done: String,
    pub due_on: String,
    pub overdue: bool,
    pub booked: bool,
    pub book_href: String,
}

#[derive(Template)]
#[template(path = "recall.html")]
struct RecallPage {
    shell: Shell,
    location_id: String,
    rows: Vec<RecallRow>,
    window_days: i64,
}

/// `GET /appointments/recall`: recalls overdue or due within the window.
pub async fn recall(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let loc = pick_location(&state, &auth, q.location.as_deref()).await?;
    let tz = loc.tz()?;
    let today = state.store.now().to_zoned(tz).date();
    let window = state
        .store
        .scheduling_settings(scope.org())
        .await?
        .recall_window_days;
    let due = state
        .store
        .recalls_due(&scope, &actor(&auth, &ctx, &ip), loc.id, today, window, 500)
        .await?;
    let types = state.store.appointment_types(&scope, false).await?;
    let rows = due
        .iter()
        .map(|r| {
            let minutes = r
                .default_type
                .and_then(|t| types.iter().find(|x| x.id == t))
                .map(|t| t.pattern.minutes())
                .unwrap_or(60);
            RecallRow {
                patient_id: r.patient_id.to_string(),
                patient: r.patient_name.clone(),
                chart: r.chart_number,
                phone: r
                    .phone
                    .as_deref()
                    .map(crate::patients::show_phone)
                    .unwrap_or_default(),
                recall: r.recall_name.clone(),
                last_done: r
                    .last_done
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "—".into()),
                due_on: r.due_on.to_string(),
                overdue: r.due_on < today,
                booked: r.booked,
                book_href: format!(
                    "/appointments/slots?location={}&patient={}&duration={minutes}{}&from={}",
                    loc.id,
                    r.patient_id,
                    r.default_type
                        .map(|t| format!("&type={t}"))
                        .unwrap_or_default(),
                    r.due_on.max(today)
                ),
            }
        })
        .collect();
    html(&RecallPage {
        shell: Shell::build(&state, &ctx).await,
        location_id: loc.id.to_string(),
        rows,
        window_days: window,
    })
}

pub struct SlotRow {
    pub date: String,
    pub day_label: String,
    pub time: String,
    pub chair: String,
    pub provider: String,
    pub operatory_id: String,
    pub provider_id: String,
    pub start_date: String,
    pub start_time: String,
}

#[derive(Template)]
#[template(path = "slots.html")]
struct SlotsPage {
    shell: Shell,
    location_id: String,
    patient_id: String,
    patient_name: String,
    type_id: String,
    duration: String,
    day_part: String,
    from: String,
    types: Vec<Opt>,
    providers: Vec<Opt>,
    rows: Vec<SlotRow>,
    searched: bool,
    error: String,
    can_write: bool,
}

#[derive(Deserialize, Default)]
pub struct SlotsQuery {
    location: Option<String>,
    patient: Option<String>,
    #[serde(rename = "type")]
    type_id: Option<String>,
    duration: Option<String>,
    day_part: Option<String>,
    provider: Option<String>,
    from: Option<String>,
}

/// `GET /appointments/slots`: the next free slots for what is asked.
pub async fn slots(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<SlotsQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let loc = pick_location(&state, &auth, q.location.as_deref()).await?;
    let tz = loc.tz()?;
    let types = state.store.appointment_types(&scope, false).await?;
    let providers = state.store.agenda_providers(&scope, loc.id).await?;
    let chairs = state.store.operatories(&scope, loc.id, false).await?;
    let patient: Option<PatientId> = q.patient.as_deref().and_then(|s| s.parse().ok());
    let patient_name = match patient {
        Some(p) => state
            .store
            .patient_summary(&scope, p)
            .await
            .map(|s| s.display_name())
            .unwrap_or_default(),
        None => String::new(),
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let searched = nonempty(&q.type_id).is_some() || nonempty(&q.duration).is_some();
    let mut rows = Vec::new();
    let mut error = String::new();
    if searched {
        let from = match nonempty(&q.from).and_then(|s| s.parse::<Date>().ok()) {
            Some(d) => Some(
                domain::scheduling::time::day_bounds(&tz, d)?
                    .0
                    .max(state.store.now()),
            ),
            None => None,
        };
        let query = SlotQuery {
            location_id: Some(loc.id),
            appointment_type_id: nonempty(&q.type_id).and_then(|s| s.parse().ok()),
            duration_minutes: nonempty(&q.duration).and_then(|s| s.parse().ok()),
            provider_id: nonempty(&q.provider).and_then(|s| s.parse().ok()),
            providers: Vec::new(),
            patient_id: patient,
            from,
            to: None,
            window: nonempty(&q.day_part)
                .and_then(|s| DayPart::parse(&s))
                .and_then(DayPart::window),
            limit: 10,
        };
        match state.store.find_slots(&scope, &query).await {
            Ok(found) => {
                for s in found {
                    let start =
                        Timestamp::from_microsecond(s.start).unwrap_or(Timestamp::UNIX_EPOCH);
                    let end = Timestamp::from_microsecond(s.end).unwrap_or(Timestamp::UNIX_EPOCH);
                    let z = start.to_zoned(tz.clone());
                    rows.push(SlotRow {
                        date: z.date().to_string(),
                        day_label: long_date(lang, z.date()),
                        time: format!("{}–{}", hhmm(start, &tz), hhmm(end, &tz)),
                        chair: chairs
                            .iter()
                            .find(|c| c.id == s.operatory_id)
                            .map(|c| c.name.clone())
                            .unwrap_or_default(),
                        provider: providers
                            .iter()
                            .find(|p| p.id == s.provider_id)
                            .map(|p| p.name.clone())
                            .unwrap_or_default(),
                        operatory_id: s.operatory_id.to_string(),
                        provider_id: s.provider_id.to_string(),
                        start_date: z.date().to_string(),
                        start_time: z.strftime("%H:%M").to_string(),
                    });
                }
            }
            Err(e) => {
                let e = AppError::from(e);
                error = match e {
                    AppError::Domain(d) => d.message,
                    other => other.to_string(),
                };
            }
        }
    }
    html(&SlotsPage {
        shell: Shell::build(&state, &ctx).await,
        location_id: loc.id.to_string(),
        patient_id: patient.map(|p| p.to_string()).unwrap_or_default(),
        patient_name,
        type_id: nonempty(&q.type_id).unwrap_or_default(),
        duration: nonempty(&q.duration).unwrap_or_default(),
        day_part: nonempty(&q.day_part).unwrap_or_else(|| "any".into()),
        from: nonempty(&q.from).unwrap_or_default(),
        types: types
            .iter()
            .map(|t| Opt {
                id: t.id.to_string(),
                name: format!("{} ({} min)", t.name, t.pattern.minutes()),
                selected: q.type_id.as_deref() == Some(&t.id.to_string()),
            })
            .collect(),
        providers: providers
            .iter()
            .map(|p| Opt {
                id: p.id.to_string(),
                name: p.name.clone(),
                selected: q.provider.as_deref() == Some(&p.id.to_string()),
            })
            .collect(),
        rows,
        searched,
        error,
        can_write: auth.can(Permission::ScheduleWrite),
    })
}
