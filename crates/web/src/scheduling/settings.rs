//! `/settings/scheduling`: the agenda's settings, chairs per location, appointment types,
//! providers' weekly hours and single days, holidays, blockouts, recall types and iCalendar
//! feeds. Administrators only (`settings.manage`). Every form re-shows the page with the
//! problem next to its field and keeps what was typed; nothing is half-saved.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::scheduling::schedule::DayException;
use domain::scheduling::{AppointmentTypeInput, BlockoutRule, OperatoryInput};
use domain::{
    AppointmentTypeId, BlockoutId, CalendarFeedId, DomainError, FieldError, LocationId,
    OpeningHours, OperatoryId, RecallTypeId, UserId,
};
use jiff::civil::{Date, Time};
use serde::Deserialize;
use store::scheduling::recall::RecallType;
use store::scheduling::{Blockout, SchedulingSettings};

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::patients::actor;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct ChairRow {
    pub id: String,
    pub name: String,
    pub short_name: String,
    pub sort_order: i64,
    pub active: bool,
}

pub struct TypeRow {
    pub id: String,
    pub name: String,
    pub colour: String,
    pub colour_class: String,
    pub pattern: String,
    pub unit_minutes: i64,
    pub minutes: i64,
    pub active: bool,
}

pub struct HoursRow {
    pub weekday: i8,
    pub label: String,
    pub value: String,
}

pub struct SimpleRow {
    pub id: String,
    pub cells: Vec<String>,
}

pub struct Choice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "scheduling_settings.html")]
struct SettingsPage {
    shell: Shell,
    notice: String,
    error: String,
    error_field: String,
    settings: SchedulingSettings,
    location_id: String,
    locations: Vec<Choice>,
    chairs: Vec<ChairRow>,
    types: Vec<TypeRow>,
    providers: Vec<Choice>,
    provider_id: String,
    hours: Vec<HoursRow>,
    hours_custom: bool,
    exceptions: Vec<SimpleRow>,
    holidays: Vec<SimpleRow>,
    blockouts: Vec<SimpleRow>,
    recalls: Vec<SimpleRow>,
    feeds: Vec<SimpleRow>,
    new_feed_url: String,
    type_choices: Vec<Choice>,
}

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    location: Option<String>,
    provider: Option<String>,
    saved: Option<String>,
}

/// "08:00-12:00, 13:00-17:00" → intervals; empty is closed.
pub fn parse_hours(s: &str) -> Result<Vec<(Time, Time)>, String> {
    let mut out = Vec::new();
    for part in s.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part
            .split_once(['-', '–'])
            .ok_or_else(|| format!("{part:?}: write hours as 08:00-12:00"))?;
        let a: Time = a
            .trim()
            .parse()
            .map_err(|_| format!("{part:?}: {a:?} is not a time"))?;
        let b: Time = b
            .trim()
            .parse()
            .map_err(|_| format!("{part:?}: {b:?} is not a time"))?;
        if b <= a {
            return Err(format!("{part:?}: the end must be after the start"));
        }
        out.push((a, b));
    }
    Ok(out)
}

fn show_hours(h: &[(Time, Time)]) -> String {
    h.iter()
        .map(|(a, b)| format!("{}-{}", a.strftime("%H:%M"), b.strftime("%H:%M")))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Problem {
    field: String,
    message: String,
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        match e {
            AppError::Domain(d) => {
                let f = d.fields.first();
                Problem {
                    field: f.map(|f| f.field.clone()).unwrap_or_default(),
                    message: f
                        .map(|f| format!("{}: {}", f.field, f.message))
                        .unwrap_or(d.message),
                }
            }
            other => Problem {
                field: String::new(),
                message: other.to_string(),
            },
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    location: Option<LocationId>,
    provider: Option<UserId>,
    notice: String,
    problem: Option<Problem>,
    new_feed_url: String,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let locations = state.store.locations(&scope).await?;
    let loc = location
        .and_then(|l| locations.iter().find(|x| x.id == l))
        .or(locations.first())
        .cloned()
        .ok_or_else(|| DomainError::field("location", "no location"))?;
    let settings = state.store.scheduling_settings(scope.org()).await?;
    let chairs = state.store.operatories(&scope, loc.id, true).await?;
    let types = state.store.appointment_types(&scope, true).await?;
    let providers = state.store.agenda_providers(&scope, loc.id).await?;
    let provider_id = provider
        .filter(|p| providers.iter().any(|x| x.id == *p))
        .or(providers.first().map(|p| p.id));
    let (hours, custom) = match provider_id {
        Some(p) => match state.store.provider_schedule(&scope, p, loc.id).await? {
            Some(h) => (h, true),
            None => (loc.opening_hours.clone(), false),
        },
        None => (loc.opening_hours.clone(), false),
    };
    let today = state.store.now().to_zoned(loc.tz()?).date();
    let until = today
        .checked_add(jiff::Span::new().days(366))
        .unwrap_or(today);
    let exceptions = state
        .store
        .schedule_exceptions(&scope, loc.id, today, until)
        .await?
        .into_iter()
        .map(|(p, x)| SimpleRow {
            id: format!("{p}/{}", x.date),
            cells: vec![
                x.date.to_string(),
                providers
                    .iter()
                    .find(|q| q.id == p)
                    .map(|q| q.name.clone())
                    .unwrap_or_default(),
                if x.hours.is_empty() {
                    lang.t("sched-day-off")
                } else {
                    show_hours(&x.hours)
                },
                x.note,
            ],
        })
        .collect();
    let holidays = state
        .store
        .holidays(&scope, loc.id, today, until)
        .await?
        .into_iter()
        .map(|h| SimpleRow {
            id: h.day.to_string(),
            cells: vec![h.day.to_string(), h.name],
        })
        .collect();
    let blockouts = state
        .store
        .blockouts(&scope, loc.id)
        .await?
        .into_iter()
        .map(|b| {
            let when = match (b.rule.weekday, b.rule.day) {
                (Some(w), _) => lang.t(&format!("weekday-{w}")),
                (None, Some(d)) => d.to_string(),
                _ => String::new(),
            };
            SimpleRow {
                id: b.id.to_string(),
                cells: vec![
                    b.label,
                    format!(
                        "{when} {}-{}",
                        b.rule.start.strftime("%H:%M"),
                        b.rule.end.strftime("%H:%M")
                    ),
                    b.operatory_id
                        .and_then(|o| chairs.iter().find(|c| c.id == o))
                        .map(|c| c.name.clone())
                        .unwrap_or_else(|| lang.t("sched-all-chairs")),
                    b.allowed_types
                        .iter()
                        .filter_map(|t| types.iter().find(|x| x.id == *t))
                        .map(|t| t.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                ],
            }
        })
        .collect();
    let recalls = state
        .store
        .recall_types(&scope)
        .await?
        .into_iter()
        .map(|r| SimpleRow {
            id: r.id.to_string(),
            cells: vec![
                r.name,
                format!("{} {}", r.interval_months, lang.t("sched-months")),
                r.appointment_types
                    .iter()
                    .filter_map(|t| types.iter().find(|x| x.id == *t))
                    .map(|t| t.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ],
        })
        .collect();
    let feeds = state
        .store
        .feeds(&scope)
        .await?
        .into_iter()
        .map(|f| SimpleRow {
            id: f.id.to_string(),
            cells: vec![
                f.label,
                lang.t(&format!("sched-feed-{}", f.kind)),
                if f.show_names {
                    lang.t("sched-feed-names")
                } else {
                    lang.t("sched-feed-initials")
                },
                f.last_used_at
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "—".into()),
                if f.revoked_at.is_some() {
                    lang.t("sched-feed-revoked")
                } else {
                    String::new()
                },
            ],
        })
        .collect();
    let problem = problem.unwrap_or(Problem {
        field: String::new(),
        message: String::new(),
    });
    let status = if problem.message.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut resp = html(&SettingsPage {
        shell: Shell::build(state, ctx).await,
        notice,
        error: problem.message,
        error_field: problem.field,
        settings,
        location_id: loc.id.to_string(),
        locations: locations
            .iter()
            .map(|l| Choice {
                id: l.id.to_string(),
                name: l.name.clone(),
                selected: l.id == loc.id,
            })
            .collect(),
        chairs: chairs
            .iter()
            .map(|c| ChairRow {
                id: c.id.to_string(),
                name: c.name.clone(),
                short_name: c.short_name.clone(),
                sort_order: c.sort_order,
                active: c.active,
            })
            .collect(),
        types: types
            .iter()
            .map(|t| TypeRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                colour: t.colour.clone(),
                colour_class: format!("c-{}", t.colour.trim_start_matches('#')),
                pattern: t.pattern.as_text(),
                unit_minutes: t.pattern.unit_minutes(),
                minutes: t.pattern.minutes(),
                active: t.active,
            })
            .collect(),
        providers: providers
            .iter()
            .map(|p| Choice {
                id: p.id.to_string(),
                name: p.name.clone(),
                selected: Some(p.id) == provider_id,
            })
            .collect(),
        provider_id: provider_id.map(|p| p.to_string()).unwrap_or_default(),
        hours: (0..7)
            .map(|i| HoursRow {
                weekday: i as i8 + 1,
                label: lang.t(&format!("weekday-{}", i + 1)),
                value: show_hours(&hours.days[i].intervals),
            })
            .collect(),
        hours_custom: custom,
        exceptions,
        holidays,
        blockouts,
        recalls,
        feeds,
        new_feed_url,
        type_choices: types
            .iter()
            .filter(|t| t.active)
            .map(|t| Choice {
                id: t.id.to_string(),
                name: t.name.clone(),
                selected: false,
            })
            .collect(),
    })?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// `GET /settings/scheduling`
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, AppError> {
    let notice = if q.saved.is_some() {
        ctx.lang.t("sched-saved")
    } else {
        String::new()
    };
    render(
        &state,
        &ctx,
        &auth,
        q.location.and_then(|l| l.parse().ok()),
        q.provider.and_then(|p| p.parse().ok()),
        notice,
        None,
        String::new(),
    )
    .await
}

type Form = std::collections::HashMap<String, Vec<String>>;

fn read(body: &[u8]) -> Form {
    let mut f: Form = Form::new();
    for (k, v) in form_urlencoded_pairs(body) {
        f.entry(k).or_default().push(v);
    }
    f
}

fn one(f: &Form, k: &str) -> String {
    f.get(k)
        .and_then(|v| v.first())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn back(location: &str, provider: &str) -> Response {
    Redirect::to(&format!(
        "/settings/scheduling?location={location}&provider={provider}&saved=1"
    ))
    .into_response()
}

/// Runs a form's action; a refusal re-renders the page with the message.
async fn act<F>(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    f: &Form,
    action: F,
) -> Result<Response, AppError>
where
    F: std::future::Future<Output = Result<(), AppError>>,
{
    let location = one(f, "location_id");
    let provider = one(f, "provider_id");
    match action.await {
        Ok(()) => Ok(back(&location, &provider)),
        Err(AppError::NotFound) => Err(AppError::NotFound),
        Err(e) => {
            render(
                state,
                ctx,
                auth,
                location.parse().ok(),
                provider.parse().ok(),
                String::new(),
                Some(e.into()),
                String::new(),
            )
            .await
        }
    }
}

fn location_of(f: &Form) -> Result<LocationId, AppError> {
    one(f, "location_id")
        .parse()
        .map_err(|_| DomainError::field("location_id", "choose a location").into())
}

/// `POST /settings/scheduling`: unit, lateness, recall window, names in feeds.
pub async fn save_general(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    let s = SchedulingSettings {
        unit_minutes: one(&f, "unit_minutes").parse().unwrap_or(0),
        late_after_minutes: one(&f, "late_after_minutes").parse().unwrap_or(-1),
        recall_window_days: one(&f, "recall_window_days").parse().unwrap_or(0),
        feeds_show_names: one(&f, "feeds_show_names") == "on",
    };
    act(&state, &ctx, &auth, &f, async {
        state
            .store
            .set_scheduling_settings(&auth.scope(), &actor(&auth, &ctx, &ip), &s)
            .await
            .map_err(AppError::from)
    })
    .await
}

/// `POST /settings/scheduling/chairs`: a new chair.
pub async fn add_chair(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        let l = location_of(&f)?;
        state
            .store
            .create_operatory(
                &auth.scope(),
                &actor(&auth, &ctx, &ip),
                l,
                &OperatoryInput {
                    name: one(&f, "name"),
                    short_name: one(&f, "short_name"),
                },
            )
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/chairs/{id}`: rename, reorder, retire or bring back.
pub async fn update_chair(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id: OperatoryId = id.parse().map_err(|_| AppError::NotFound)?;
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        state
            .store
            .update_operatory(
                &auth.scope(),
                &actor(&auth, &ctx, &ip),
                id,
                &OperatoryInput {
                    name: one(&f, "name"),
                    short_name: one(&f, "short_name"),
                },
                one(&f, "sort_order").parse().unwrap_or(0),
                one(&f, "active") == "on",
            )
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/types`: a new appointment type.
pub async fn add_type(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    save_type(state, ctx, auth, ip, None, body).await
}

/// `POST /settings/scheduling/types/{id}`: a change to one.
pub async fn update_type(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id: AppointmentTypeId = id.parse().map_err(|_| AppError::NotFound)?;
    save_type(state, ctx, auth, ip, Some(id), body).await
}

async fn save_type(
    state: AppState,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    id: Option<AppointmentTypeId>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        let input = AppointmentTypeInput {
            name: one(&f, "name"),
            colour: one(&f, "colour"),
            pattern: one(&f, "pattern"),
            unit_minutes: one(&f, "unit_minutes").parse().unwrap_or(10),
        };
        let active = id.is_none() || one(&f, "active") == "on";
        state
            .store
            .save_appointment_type(&auth.scope(), &actor(&auth, &ctx, &ip), id, &input, active)
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/hours`: a provider's weekly hours at a location.
pub async fn save_hours(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        let l = location_of(&f)?;
        let p: UserId = one(&f, "provider_id")
            .parse()
            .map_err(|_| DomainError::field("provider_id", "choose a provider"))?;
        let mut hours = OpeningHours::default();
        let mut errors = Vec::new();
        for (i, day) in hours.days.iter_mut().enumerate() {
            let key = format!("day{}", i + 1);
            match parse_hours(&one(&f, &key)) {
                Ok(h) => day.intervals = h,
                Err(m) => errors.push(FieldError {
                    field: key,
                    message: m,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors).into());
        }
        state
            .store
            .set_provider_schedule(&auth.scope(), &actor(&auth, &ctx, &ip), p, l, &hours)
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/exceptions`: one day off or different hours (empty `remove`).
pub async fn save_exception(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        let l = location_of(&f)?;
        let p: UserId = one(&f, "provider_id")
            .parse()
            .map_err(|_| DomainError::field("provider_id", "choose a provider"))?;
        let date: Date = one(&f, "date")
            .parse()
            .map_err(|_| DomainError::field("date", "a date as YYYY-MM-DD"))?;
        let x = if one(&f, "remove") == "1" {
            None
        } else {
            Some(DayException {
                date,
                hours: parse_hours(&one(&f, "hours"))
                    .map_err(|m| DomainError::field("hours", m))?,
                note: one(&f, "note"),
            })
        };
        state
            .store
            .set_schedule_exception(
                &auth.scope(),
                &actor(&auth, &ctx, &ip),
                p,
                l,
                date,
                x.as_ref(),
            )
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/holidays`: add (with a name) or remove (`remove=1`).
pub async fn save_holiday(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        let l = location_of(&f)?;
        let date: Date = one(&f, "date")
            .parse()
            .map_err(|_| DomainError::field("date", "a date as YYYY-MM-DD"))?;
        let name = one(&f, "name");
        let remove = one(&f, "remove") == "1";
        state
            .store
            .set_holiday(
                &auth.scope(),
                &actor(&auth, &ctx, &ip),
                l,
                date,
                if remove { None } else { Some(name.as_str()) },
            )
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/blockouts`: a blockout.
pub async fn add_blockout(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        let l = location_of(&f)?;
        let time = |k: &str| -> Result<Time, AppError> {
            one(&f, k)
                .parse()
                .map_err(|_| DomainError::field(k, "a time, e.g. 08:00").into())
        };
        let opt_day = |k: &str| -> Result<Option<Date>, AppError> {
            let s = one(&f, k);
            if s.is_empty() {
                return Ok(None);
            }
            s.parse()
                .map(Some)
                .map_err(|_| DomainError::field(k, "a date as YYYY-MM-DD").into())
        };
        let b = Blockout {
            id: BlockoutId::from_uuid(uuid::Uuid::nil()),
            location_id: l,
            operatory_id: one(&f, "operatory_id").parse().ok(),
            label: one(&f, "label"),
            colour: one(&f, "colour"),
            allowed_types: f
                .get("allowed_types")
                .map(|v| v.iter().filter_map(|s| s.parse().ok()).collect())
                .unwrap_or_default(),
            rule: BlockoutRule {
                weekday: one(&f, "weekday").parse().ok(),
                day: opt_day("day")?,
                start: time("start_time")?,
                end: time("end_time")?,
                valid_from: opt_day("valid_from")?,
                valid_to: opt_day("valid_to")?,
            },
        };
        state
            .store
            .add_blockout(&auth.scope(), &actor(&auth, &ctx, &ip), &b)
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/blockouts/{id}/delete`
pub async fn remove_blockout(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id: BlockoutId = id.parse().map_err(|_| AppError::NotFound)?;
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        state
            .store
            .remove_blockout(&auth.scope(), &actor(&auth, &ctx, &ip), id)
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/recalls`: a recall type.
pub async fn add_recall(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        let types: Vec<AppointmentTypeId> = f
            .get("appointment_types")
            .map(|v| v.iter().filter_map(|s| s.parse().ok()).collect())
            .unwrap_or_default();
        let t = RecallType {
            id: RecallTypeId::from_uuid(uuid::Uuid::nil()),
            name: one(&f, "name"),
            interval_months: one(&f, "interval_months").parse().unwrap_or(0),
            default_type: types.first().copied(),
            appointment_types: types,
            active: true,
        };
        state
            .store
            .save_recall_type(&auth.scope(), &actor(&auth, &ctx, &ip), None, &t)
            .await?;
        Ok(())
    })
    .await
}

/// `POST /settings/scheduling/feeds`: a feed for a provider or the location; its URL is
/// shown once.
pub async fn add_feed(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let f = read(&body);
    let location: Option<LocationId> = one(&f, "location_id").parse().ok();
    let provider: Option<UserId> = one(&f, "provider_id").parse().ok();
    let kind = one(&f, "kind");
    let made = state
        .store
        .create_feed(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            if kind == "provider" { provider } else { None },
            if kind == "provider" { None } else { location },
        )
        .await;
    match made {
        Ok((_, token)) => {
            render(
                &state,
                &ctx,
                &auth,
                location,
                provider,
                ctx.lang.t("sched-feed-created"),
                None,
                format!("/ical/{token}.ics"),
            )
            .await
        }
        Err(e) => {
            render(
                &state,
                &ctx,
                &auth,
                location,
                provider,
                String::new(),
                Some(AppError::from(e).into()),
                String::new(),
            )
            .await
        }
    }
}

/// `POST /settings/scheduling/feeds/{id}/revoke`
pub async fn revoke_feed(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id: CalendarFeedId = id.parse().map_err(|_| AppError::NotFound)?;
    let f = read(&body);
    act(&state, &ctx, &auth, &f, async {
        state
            .store
            .revoke_feed(&auth.scope(), &actor(&auth, &ctx, &ip), id)
            .await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_read_as_people_write_them() {
        let h = parse_hours("08:00-12:00, 13:00–17:30").unwrap();
        assert_eq!(show_hours(&h), "08:00-12:00, 13:00-17:30");
        assert!(parse_hours("").unwrap().is_empty());
        assert!(
            parse_hours("12:00-08:00")
                .unwrap_err()
                .contains("after the start")
        );
        assert!(parse_hours("morning").is_err());
    }
}
