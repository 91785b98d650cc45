//! The agenda (`/appointments`): the day by chair or by provider, the week, the front desk's
//! board for today, booking, the appointment's page with the patient flow, the printable day
//! sheet, and the iCalendar links. The JSON API is in [`api`], settings in [`settings`], the
//! ASAP and recall lists in [`lists`].
//!
//! The page works without script (forms post to the server); `static/agenda.js` adds booking
//! by clicking an empty slot, drag and drop, the side panel and live updates. Positions and
//! colours are classes (`/static/agenda-grid.css`, `/appointments/colours.css`): the CSP allows
//! no inline style.

pub mod api;
pub mod lists;
pub mod settings;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::identity::Permission;
use domain::scheduling::status::AppointmentStatus;
use domain::scheduling::time::{day_bounds, local_instant};
use domain::{AppointmentId, DomainError, FieldError, LocationId, OperatoryId, UserId};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::Deserialize;
use store::scheduling::appointments::{AgendaItem, NewAppointment};
use store::scheduling::{AgendaProvider, Operatory};

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::patients::actor;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

const MINUTE: i64 = 60_000_000;

/// The time zone of a location the user may see (`None`: not one of theirs).
pub(crate) async fn tz_of(
    state: &AppState,
    auth: &Auth,
    location: LocationId,
) -> Result<Option<TimeZone>, AppError> {
    match state.store.location(&auth.scope(), location).await? {
        Some(l) => Ok(Some(l.tz()?)),
        None => Ok(None),
    }
}

/// A time as a client sends it: RFC 3339 with an offset (an instant), or a local date and
/// time without one (wall-clock time at the location). A wall-clock time in the spring gap is
/// refused, and so is an offset that names such a time at the location (e.g.
/// `2027-03-14T02:30:00-05:00` in Toronto) — the client meant a time that does not exist.
pub(crate) fn parse_when(s: &str, tz: &TimeZone, field: &str) -> Result<Timestamp, FieldError> {
    let s = s.trim();
    let bad = || FieldError {
        field: field.into(),
        message: "a date and time, e.g. 2027-03-15T09:00:00-04:00".into(),
    };
    if let Ok(t) = s.parse::<Timestamp>() {
        // The wall-clock part as written: if it differs from what the location shows at this
        // instant and does not exist there, say so.
        let written = s
            .get(..19)
            .or_else(|| s.get(..16))
            .and_then(|p| p.parse::<jiff::civil::DateTime>().ok());
        if let Some(w) = written
            && t.to_zoned(tz.clone()).datetime() != w
            && tz.to_ambiguous_timestamp(w).is_ambiguous()
            && matches!(
                tz.to_ambiguous_timestamp(w).offset(),
                jiff::tz::AmbiguousOffset::Gap { .. }
            )
        {
            return Err(match local_instant(tz, w.date(), w.time(), false, field) {
                Err(e) => e.fields.into_iter().next().unwrap_or_else(bad),
                Ok(_) => bad(),
            });
        }
        return Ok(t);
    }
    let local: jiff::civil::DateTime = s.parse().map_err(|_| bad())?;
    local_instant(tz, local.date(), local.time(), false, field)
        .map_err(|e| e.fields.into_iter().next().unwrap_or_else(bad))
}

/// A range from the query: instants, or dates at the location (`to` inclusive for dates);
/// one day from now by default.
pub(crate) fn range(
    from: &Option<String>,
    to: &Option<String>,
    tz: &TimeZone,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), AppError> {
    let point = |s: &str, field: &str, end: bool| -> Result<Timestamp, AppError> {
        if let Ok(d) = s.trim().parse::<Date>() {
            let (a, b) = day_bounds(tz, d)?;
            return Ok(if end { b } else { a });
        }
        parse_when(s, tz, field).map_err(|e| DomainError::validation(vec![e]).into())
    };
    let from = match from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => point(s, "from", false)?,
        None => day_bounds(tz, now.to_zoned(tz.clone()).date())?.0,
    };
    let to = match to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => point(s, "to", true)?,
        None => from
            .checked_add(jiff::SignedDuration::from_hours(24))
            .map_err(|e| DomainError::field("to", e.to_string()))?,
    };
    if to <= from {
        return Err(DomainError::field("to", "must be after from").into());
    }
    if to.as_second() - from.as_second() > 62 * 86_400 {
        return Err(DomainError::field("to", "at most 62 days at once").into());
    }
    Ok((from, to))
}

// ---------------------------------------------------------------- dates in two languages

fn weekday_name(lang: Lang, d: Date) -> String {
    lang.t(&format!("weekday-{}", d.weekday().to_monday_one_offset()))
}

fn long_date(lang: Lang, d: Date) -> String {
    let month = lang.t(&format!("month-{}", d.month()));
    match lang {
        Lang::Fr => format!(
            "{} {} {} {}",
            weekday_name(lang, d),
            d.day(),
            month,
            d.year()
        ),
        Lang::En => format!(
            "{} {} {} {}",
            weekday_name(lang, d),
            month,
            d.day(),
            d.year()
        ),
    }
}

fn hhmm(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

/// The colour class of a `#rrggbb` colour (rules in `/appointments/colours.css`).
fn colour_class(c: &str) -> String {
    let hex: String = c
        .trim_start_matches('#')
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    if hex.len() == 6 {
        format!("c-{}", hex.to_ascii_lowercase())
    } else {
        "c-default".into()
    }
}

// ---------------------------------------------------------------- the grid

/// A time label down the side.
pub struct RowLabel {
    pub row: usize,
    pub label: String,
    pub hour: bool,
}

/// Something placed in a column: an appointment, a blockout, closed time.
pub struct Block {
    pub row: usize,
    pub span: usize,
    pub lane: usize,
    pub lanes: usize,
    pub id: String,
    pub version: i64,
    pub time: String,
    pub title: String,
    pub subtitle: String,
    pub colour: String,
    pub status: &'static str,
    pub status_label: String,
    pub late: bool,
    /// Rows of the block where the provider is needed (X units), relative to the block.
    pub stripes: Vec<(usize, usize)>,
    pub start: String,
    pub minutes: i64,
    pub operatory_id: String,
    pub provider_id: String,
    pub restricted: bool,
}

pub struct Shade {
    pub row: usize,
    pub span: usize,
    pub label: String,
    pub colour: String,
}

pub struct Column {
    pub id: String,
    /// "operatory" or "provider" (what a drop onto it changes), or a date in the week view.
    pub kind: &'static str,
    pub name: String,
    pub sub: String,
    pub colour: String,
    pub date: String,
    /// The instant of the column's first row (days of a week differ).
    pub start_us: i64,
    pub lanes: usize,
    pub blocks: Vec<Block>,
    pub closed: Vec<Shade>,
    pub blockouts: Vec<Shade>,
}

pub struct Grid {
    pub rows: usize,
    pub start_us: i64,
    pub unit_minutes: i64,
    pub labels: Vec<RowLabel>,
    pub columns: Vec<Column>,
    /// The row the current time is in, when the grid shows today.
    pub now_row: Option<usize>,
}

/// Assigns overlapping blocks to lanes: each block gets the first lane free at its start;
/// the column is as wide as its busiest moment.
fn lay_out(blocks: &mut [Block]) -> usize {
    blocks.sort_by_key(|b| (b.row, std::cmp::Reverse(b.span)));
    let mut lane_ends: Vec<usize> = Vec::new();
    for b in blocks.iter_mut() {
        match lane_ends.iter().position(|&end| end <= b.row) {
            Some(l) => {
                lane_ends[l] = b.row + b.span;
                b.lane = l;
            }
            None => {
                b.lane = lane_ends.len();
                lane_ends.push(b.row + b.span);
            }
        }
    }
    let lanes = lane_ends.len().max(1);
    for b in blocks.iter_mut() {
        b.lanes = lanes;
    }
    lanes
}

struct GridFrame<'a> {
    tz: &'a TimeZone,
    lang: Lang,
    colour_by: &'a str,
    start_us: i64,
    end_us: i64,
    unit: i64,
    now: Timestamp,
    late_after: i64,
}

impl GridFrame<'_> {
    fn rows(&self) -> usize {
        usize::try_from((self.end_us - self.start_us) / self.unit).unwrap_or(0)
    }

    /// The rows `[s, e)` covers, clipped to the grid: (first row, 1-based; span).
    fn rows_of(&self, s: i64, e: i64) -> Option<(usize, usize)> {
        let s = s.max(self.start_us);
        let e = e.min(self.end_us);
        if e <= s {
            return None;
        }
        let first = (s - self.start_us) / self.unit;
        let last = (e - self.start_us + self.unit - 1) / self.unit;
        Some((
            usize::try_from(first).ok()? + 1,
            usize::try_from(last - first).ok()?.max(1),
        ))
    }

    fn labels(&self) -> Vec<RowLabel> {
        let mut out = Vec::new();
        for i in 0..self.rows() {
            let t = Timestamp::from_microsecond(self.start_us + i as i64 * self.unit)
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .to_zoned(self.tz.clone());
            if t.minute() % 30 == 0 {
                out.push(RowLabel {
                    row: i + 1,
                    label: t.strftime("%H:%M").to_string(),
                    hour: t.minute() == 0,
                });
            }
        }
        out
    }

    fn block(&self, item: &AgendaItem, providers: &[AgendaProvider]) -> Option<Block> {
        let a = &item.appointment;
        // Cancelled and rescheduled appointments left their time: not in the grid (the day
        // sheet and the patient's record list them). A no-show stays, faint, for the desk.
        if matches!(
            a.status,
            AppointmentStatus::Cancelled | AppointmentStatus::Rescheduled
        ) {
            return None;
        }
        let (row, span) = self.rows_of(a.start.as_microsecond(), a.end.as_microsecond())?;
        let unit = self.unit;
        let off = a.start.as_microsecond() - (self.start_us + (row as i64 - 1) * unit);
        let stripes = a
            .pattern
            .provider_spans(a.start.as_microsecond())
            .into_iter()
            .filter_map(|(s, e)| {
                let first = (s - a.start.as_microsecond() + off) / unit;
                let last = (e - a.start.as_microsecond() + off + unit - 1) / unit;
                Some((
                    usize::try_from(first).ok()? + 1,
                    usize::try_from(last - first).ok()?.max(1),
                ))
            })
            .collect();
        let provider = providers.iter().find(|p| p.id == a.provider_id);
        let colour = match self.colour_by {
            "provider" => provider.map(|p| colour_class(&p.colour)),
            "status" => Some(format!("st-{}", a.status.as_str())),
            _ => item
                .type_colour
                .as_deref()
                .or(provider.map(|p| p.colour.as_str()))
                .map(colour_class),
        }
        .unwrap_or_else(|| "c-default".into());
        let (title, restricted) = match &item.patient {
            Some(p) => (p.name.clone(), false),
            None => (self.lang.t("agenda-restricted"), true),
        };
        let mut subtitle = item.type_name.clone().unwrap_or_default();
        if let Some(p) = provider {
            if !subtitle.is_empty() {
                subtitle.push_str(" · ");
            }
            subtitle.push_str(&p.name);
        }
        Some(Block {
            row,
            span,
            lane: 0,
            lanes: 1,
            id: a.id.to_string(),
            version: a.version,
            time: format!("{}–{}", hhmm(a.start, self.tz), hhmm(a.end, self.tz)),
            title,
            subtitle,
            colour,
            status: a.status.as_str(),
            status_label: self.lang.t(&format!("appt-status-{}", a.status.as_str())),
            late: a.is_late(self.now, self.late_after),
            stripes,
            start: api::rfc3339(a.start, self.tz),
            minutes: a.minutes(),
            operatory_id: a.operatory_id.to_string(),
            provider_id: a.provider_id.to_string(),
            restricted,
        })
    }
}

/// What the agenda page asks for.
#[derive(Deserialize, Default, Clone)]
pub struct AgendaQuery {
    location: Option<String>,
    date: Option<String>,
    /// day (default), week or board.
    view: Option<String>,
    /// chairs (default) or providers.
    by: Option<String>,
    /// `grid`: only the grid (the script's refresh).
    fragment: Option<String>,
    /// Only these columns (comma-separated ids; a saved view's).
    cols: Option<String>,
    /// What colours show: type (default), provider or status.
    colour: Option<String>,
}

pub struct Opt {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

pub struct BoardCard {
    pub id: String,
    pub time: String,
    pub name: String,
    pub chart: String,
    pub chair: String,
    pub provider: String,
    pub kind: String,
    pub late: bool,
    pub status: &'static str,
    pub status_label: String,
    /// The next steps: (status code, label).
    pub next: Vec<(&'static str, String)>,
    pub version: i64,
}

pub struct BoardLane {
    pub title: String,
    pub key: &'static str,
    pub cards: Vec<BoardCard>,
}

#[derive(Template)]
#[template(path = "agenda.html")]
struct AgendaPage {
    shell: Shell,
    location_id: String,
    locations: Vec<Opt>,
    date: String,
    date_label: String,
    prev: String,
    next: String,
    today: String,
    is_today: bool,
    view: &'static str,
    by_provider: bool,
    grid: Grid,
    board: Vec<BoardLane>,
    can_write: bool,
    can_override: bool,
    chairs: Vec<Opt>,
    providers: Vec<Opt>,
    types: Vec<TypeOpt>,
    unit_minutes: i64,
    time_zone: String,
    waiting: usize,
    empty_day: bool,
    closed_label: String,
    colour_by: &'static str,
    cols: String,
    /// The query that keeps columns and colours across day links (`&by=…&cols=…&colour=…`).
    keep: String,
    /// `&colour=…` when not the default.
    colour_q: String,
    /// The user's saved views: (name, link, id).
    views: Vec<(String, String, String)>,
    /// The columns the day could show (for choosing a view's): (id, name, shown).
    column_choices: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "agenda_grid.html")]
struct GridFragment {
    shell: Shell,
    grid: Grid,
    view: &'static str,
    can_write: bool,
}

pub struct TypeOpt {
    pub id: String,
    pub name: String,
    pub minutes: i64,
    pub pattern: String,
}

/// The location to show: the one asked for, else the user's first.
async fn pick_location(
    state: &AppState,
    auth: &Auth,
    asked: Option<&str>,
) -> Result<domain::Location, AppError> {
    let all = state.store.locations(&auth.scope()).await?;
    choose_location(auth, &all, asked).cloned()
}

/// [`pick_location`] among locations already read (the agenda lists them too).
fn choose_location<'a>(
    auth: &Auth,
    all: &'a [domain::Location],
    asked: Option<&str>,
) -> Result<&'a domain::Location, AppError> {
    let scope = auth.scope();
    if let Some(id) = asked.and_then(|s| s.parse::<LocationId>().ok()) {
        return all.iter().find(|l| l.id == id).ok_or(AppError::NotFound);
    }
    all.iter()
        .find(|l| scope.allows_location(l.id))
        .ok_or_else(|| DomainError::field("location", "you have no location to show").into())
}

/// `GET /appointments`
pub async fn agenda(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<AgendaQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    // Read once: the page shows them all in its location menu.
    let all_locations = state.store.locations(&scope).await?;
    let loc = choose_location(&auth, &all_locations, q.location.as_deref())?.clone();
    let tz = loc.tz()?;
    let now = state.store.now();
    let today = now.to_zoned(tz.clone()).date();
    let date = match q.date.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse::<Date>()
            .map_err(|_| DomainError::field("date", "a date as YYYY-MM-DD"))?,
        None => today,
    };
    let view: &'static str = match q.view.as_deref() {
        Some("week") => "week",
        Some("board") => "board",
        _ => "day",
    };
    let by_provider = q.by.as_deref() == Some("providers") && view == "day";
    // Independent reads at once: each is a wait for the database, not work.
    let (settings, chairs, providers) = futures::future::try_join3(
        state.store.scheduling_settings(scope.org()),
        state.store.operatories(&scope, loc.id, false),
        state.store.agenda_providers(&scope, loc.id),
    )
    .await?;
    let (first_day, last_day) = match view {
        "week" => {
            let monday = date
                .checked_sub(
                    jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset())),
                )
                .map_err(|e| DomainError::field("date", e.to_string()))?;
            (
                monday,
                monday
                    .checked_add(jiff::Span::new().days(6))
                    .map_err(|e| DomainError::field("date", e.to_string()))?,
            )
        }
        "board" => (today, today),
        _ => (date, date),
    };
    let (range_start, _) = day_bounds(&tz, first_day)?;
    let (_, range_end) = day_bounds(&tz, last_day)?;
    let provider_ids: Vec<UserId> = providers.iter().map(|p| p.id).collect();
    let agenda_actor = actor(&auth, &ctx, &ip);
    let (items, plans) = futures::future::try_join(
        state
            .store
            .agenda(&scope, &agenda_actor, loc.id, range_start, range_end),
        state
            .store
            .day_plans(&scope, &loc, &provider_ids, first_day, last_day),
    )
    .await?;
    let unit = settings.unit_minutes * MINUTE;
    let colour_by: &str = match q.colour.as_deref() {
        Some("provider") => "provider",
        Some("status") => "status",
        _ => "type",
    };
    let wanted: Vec<String> = q
        .cols
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let frame_for = |s: i64, e: i64| GridFrame {
        tz: &tz,
        lang,
        colour_by,
        start_us: s,
        end_us: e,
        unit,
        now,
        late_after: settings.late_after_minutes,
    };
    // The hours shown: the opening hours and every appointment, whole hours, 8 to 17 when the
    // days are closed and empty. Each day's own times, in the week view, at the same rows.
    let mut lo_min = i64::MAX;
    let mut hi_min = i64::MIN;
    let minutes_of_day = |us: i64, day_start: i64| (us - day_start) / MINUTE;
    for p in &plans {
        for &(s, e) in p.open.spans() {
            lo_min = lo_min.min(minutes_of_day(s, p.day_start));
            hi_min = hi_min.max(minutes_of_day(e, p.day_start));
        }
        for i in &items {
            let (s, e) = (
                i.appointment.start.as_microsecond(),
                i.appointment.end.as_microsecond(),
            );
            if s < p.day_end && e > p.day_start {
                lo_min = lo_min.min(minutes_of_day(s.max(p.day_start), p.day_start));
                hi_min = hi_min.max(minutes_of_day(e.min(p.day_end), p.day_start));
            }
        }
    }
    if lo_min == i64::MAX {
        lo_min = 8 * 60;
        hi_min = 17 * 60;
    }
    let lo_min = (lo_min / 60) * 60;
    let hi_min = ((hi_min + 59) / 60 * 60).max(lo_min + 60);
    let empty_day = items.is_empty();
    let type_opts: Vec<TypeOpt> = state
        .store
        .appointment_types(&scope, false)
        .await?
        .into_iter()
        .map(|t| TypeOpt {
            id: t.id.to_string(),
            name: t.name,
            minutes: t.pattern.minutes(),
            pattern: t.pattern.as_text(),
        })
        .collect();

    let mut columns = Vec::new();
    let mut labels = Vec::new();
    let mut grid_start = 0;
    let mut grid_rows = 0;
    let mut now_row = None;
    if view == "board" {
        // No grid.
    } else if view == "week" {
        for p in &plans {
            let f = frame_for(p.day_start + lo_min * MINUTE, p.day_start + hi_min * MINUTE);
            if columns.is_empty() {
                labels = f.labels();
                grid_start = f.start_us;
                grid_rows = f.rows();
            }
            if p.date == today {
                now_row = f
                    .rows_of(now.as_microsecond(), now.as_microsecond() + 1)
                    .map(|r| r.0);
            }
            let mut blocks: Vec<Block> = items
                .iter()
                .filter(|i| {
                    let s = i.appointment.start.as_microsecond();
                    s >= p.day_start && s < p.day_end
                })
                .filter_map(|i| f.block(i, &providers))
                .collect();
            let lanes = lay_out(&mut blocks);
            columns.push(Column {
                id: p.date.to_string(),
                kind: "date",
                name: weekday_name(lang, p.date),
                sub: format!("{}", p.date.day()),
                colour: String::new(),
                date: p.date.to_string(),
                start_us: f.start_us,
                lanes,
                blocks,
                closed: closed_shades(&f, p, &lang),
                blockouts: Vec::new(),
            });
        }
    } else if let Some(p) = plans.first() {
        let f = frame_for(p.day_start + lo_min * MINUTE, p.day_start + hi_min * MINUTE);
        labels = f.labels();
        grid_start = f.start_us;
        grid_rows = f.rows();
        if p.date == today {
            now_row = f
                .rows_of(now.as_microsecond(), now.as_microsecond() + 1)
                .map(|r| r.0);
        }
        if by_provider {
            for prov in &providers {
                let working = p
                    .working
                    .iter()
                    .find(|(id, _)| *id == prov.id)
                    .map(|(_, w)| w.clone())
                    .unwrap_or_default();
                let mut blocks: Vec<Block> = items
                    .iter()
                    .filter(|i| {
                        i.appointment.provider_id == prov.id
                            || i.appointment.secondary_id == Some(prov.id)
                    })
                    .filter_map(|i| f.block(i, &providers))
                    .collect();
                if working.is_empty() && blocks.is_empty() {
                    continue;
                }
                let lanes = lay_out(&mut blocks);
                let off = domain::scheduling::IntervalSet::from_spans([(f.start_us, f.end_us)])
                    .minus(&working);
                columns.push(Column {
                    id: prov.id.to_string(),
                    kind: "provider",
                    name: prov.name.clone(),
                    sub: lang.t(if prov.dentist {
                        "provider-dentist"
                    } else {
                        "provider-hygienist"
                    }),
                    colour: colour_class(&prov.colour),
                    date: p.date.to_string(),
                    start_us: f.start_us,
                    lanes,
                    blocks,
                    closed: off
                        .spans()
                        .iter()
                        .filter_map(|&(s, e)| f.rows_of(s, e))
                        .map(|(row, span)| Shade {
                            row,
                            span,
                            label: String::new(),
                            colour: String::new(),
                        })
                        .collect(),
                    blockouts: Vec::new(),
                });
            }
        } else {
            for ch in &chairs {
                let mut blocks: Vec<Block> = items
                    .iter()
                    .filter(|i| i.appointment.operatory_id == ch.id)
                    .filter_map(|i| f.block(i, &providers))
                    .collect();
                let lanes = lay_out(&mut blocks);
                columns.push(Column {
                    id: ch.id.to_string(),
                    kind: "operatory",
                    name: ch.name.clone(),
                    sub: if ch.name.starts_with(&ch.short_name) {
                        String::new()
                    } else {
                        ch.short_name.clone()
                    },
                    colour: String::new(),
                    date: p.date.to_string(),
                    start_us: f.start_us,
                    lanes,
                    blocks,
                    closed: closed_shades(&f, p, &lang),
                    blockouts: p
                        .blockouts
                        .iter()
                        .filter(|b| b.operatory.is_none_or(|o| o == ch.id))
                        .filter_map(|b| {
                            f.rows_of(b.start, b.end).map(|(row, span)| Shade {
                                row,
                                span,
                                label: b.label.clone(),
                                colour: colour_class(&b.colour),
                            })
                        })
                        .collect(),
                });
            }
        }
    }
    if !wanted.is_empty() && view == "day" {
        columns.retain(|c| wanted.contains(&c.id));
    }
    let grid = Grid {
        rows: grid_rows,
        start_us: grid_start,
        unit_minutes: settings.unit_minutes,
        labels,
        columns,
        now_row,
    };
    let can_write = auth.can(Permission::ScheduleWrite);
    if q.fragment.as_deref() == Some("grid") {
        let mut resp = html(&GridFragment {
            shell: Shell::bare(&ctx),
            grid,
            view,
            can_write,
        })?;
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(resp);
    }
    let board = if view == "board" {
        board_lanes(
            &items,
            &chairs,
            &providers,
            &tz,
            lang,
            now,
            settings.late_after_minutes,
        )
    } else {
        Vec::new()
    };
    let waiting = if can_write {
        state
            .store
            .waitlist(&scope, &actor(&auth, &ctx, &ip), loc.id)
            .await?
            .len()
    } else {
        0
    };
    let step = if view == "week" { 7 } else { 1 };
    let shift = |n: i64| {
        date.checked_add(jiff::Span::new().days(n))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let locations = all_locations
        .into_iter()
        .map(|l| Opt {
            id: l.id.to_string(),
            selected: l.id == loc.id,
            name: l.name,
        })
        .collect();
    let closed_label = plans
        .first()
        .and_then(|p| p.holiday.clone())
        .unwrap_or_default();
    let views = state
        .store
        .agenda_views(&scope, auth.user.id)
        .await?
        .into_iter()
        .map(|v| {
            let cols: Vec<String> = v.columns.iter().map(|c| c.to_string()).collect();
            (
                v.name,
                format!(
                    "/appointments?location={}&date={date}&view=day&by={}&cols={}&colour={}",
                    v.location_id,
                    if v.by_provider { "providers" } else { "chairs" },
                    cols.join(","),
                    v.colour_by
                ),
                v.id.to_string(),
            )
        })
        .collect();
    let column_choices: Vec<(String, String, bool)> = if by_provider {
        providers
            .iter()
            .map(|p| {
                (
                    p.id.to_string(),
                    p.name.clone(),
                    wanted.is_empty() || wanted.contains(&p.id.to_string()),
                )
            })
            .collect()
    } else {
        chairs
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    c.name.clone(),
                    wanted.is_empty() || wanted.contains(&c.id.to_string()),
                )
            })
            .collect()
    };
    let colour_q = if colour_by == "type" {
        String::new()
    } else {
        format!("&colour={colour_by}")
    };
    let mut keep = String::new();
    if by_provider {
        keep.push_str("&by=providers");
    }
    if !wanted.is_empty() && view == "day" {
        keep.push_str("&cols=");
        keep.push_str(&wanted.join(","));
    }
    keep.push_str(&colour_q);
    let page = AgendaPage {
        shell: Shell::build(&state, &ctx).await,
        location_id: loc.id.to_string(),
        locations,
        date: date.to_string(),
        date_label: match view {
            "week" => format!(
                "{} – {}",
                long_date(lang, first_day),
                long_date(lang, last_day)
            ),
            "board" => long_date(lang, today),
            _ => long_date(lang, date),
        },
        prev: shift(-step),
        next: shift(step),
        today: today.to_string(),
        is_today: date == today,
        view,
        by_provider,
        grid,
        board,
        can_write,
        can_override: auth.can(Permission::ScheduleOverride),
        chairs: chairs
            .iter()
            .map(|c| Opt {
                id: c.id.to_string(),
                name: c.name.clone(),
                selected: false,
            })
            .collect(),
        providers: providers
            .iter()
            .map(|p| Opt {
                id: p.id.to_string(),
                name: p.name.clone(),
                selected: false,
            })
            .collect(),
        types: type_opts,
        unit_minutes: settings.unit_minutes,
        time_zone: loc.time_zone.clone(),
        waiting,
        empty_day,
        closed_label,
        colour_by,
        cols: wanted.join(","),
        keep,
        colour_q,
        views,
        column_choices,
    };
    html(&page)
}

fn closed_shades(f: &GridFrame<'_>, p: &store::scheduling::DayPlan, lang: &Lang) -> Vec<Shade> {
    let all = domain::scheduling::IntervalSet::from_spans([(f.start_us, f.end_us)]);
    let label = p.holiday.clone().unwrap_or_else(|| lang.t("agenda-closed"));
    all.minus(&p.open)
        .spans()
        .iter()
        .filter_map(|&(s, e)| f.rows_of(s, e))
        .map(|(row, span)| Shade {
            row,
            span,
            label: label.clone(),
            colour: String::new(),
        })
        .collect()
}

fn next_steps(status: AppointmentStatus, lang: Lang) -> Vec<(&'static str, String)> {
    use AppointmentStatus::*;
    let list: &[AppointmentStatus] = match status {
        Scheduled | Confirmed => &[Arrived, NoShow],
        Arrived => &[Seated],
        Seated => &[Completed],
        _ => &[],
    };
    list.iter()
        .map(|s| (s.as_str(), lang.t(&format!("appt-action-{}", s.as_str()))))
        .collect()
}

fn board_lanes(
    items: &[AgendaItem],
    chairs: &[Operatory],
    providers: &[AgendaProvider],
    tz: &TimeZone,
    lang: Lang,
    now: Timestamp,
    late_after: i64,
) -> Vec<BoardLane> {
    use AppointmentStatus::*;
    let lanes: [(&'static str, &[AppointmentStatus]); 5] = [
        ("expected", &[Scheduled, Confirmed]),
        ("arrived", &[Arrived]),
        ("seated", &[Seated]),
        ("done", &[Completed]),
        ("missed", &[NoShow, Cancelled]),
    ];
    lanes
        .iter()
        .map(|(key, statuses)| BoardLane {
            title: lang.t(&format!("board-{key}")),
            key,
            cards: items
                .iter()
                .filter(|i| statuses.contains(&i.appointment.status))
                .map(|i| {
                    let a = &i.appointment;
                    BoardCard {
                        id: a.id.to_string(),
                        time: format!("{}–{}", hhmm(a.start, tz), hhmm(a.end, tz)),
                        name: i
                            .patient
                            .as_ref()
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| lang.t("agenda-restricted")),
                        chart: i
                            .patient
                            .as_ref()
                            .map(|p| format!("#{}", p.chart_number))
                            .unwrap_or_default(),
                        chair: chairs
                            .iter()
                            .find(|c| c.id == a.operatory_id)
                            .map(|c| c.name.clone())
                            .unwrap_or_default(),
                        provider: providers
                            .iter()
                            .find(|p| p.id == a.provider_id)
                            .map(|p| p.name.clone())
                            .unwrap_or_default(),
                        kind: i.type_name.clone().unwrap_or_default(),
                        late: a.is_late(now, late_after),
                        status: a.status.as_str(),
                        status_label: lang.t(&format!("appt-status-{}", a.status.as_str())),
                        next: next_steps(a.status, lang),
                        version: a.version,
                    }
                })
                .collect(),
        })
        .collect()
}

// ---------------------------------------------------------------- saved views

/// `POST /appointments/views`: saves the columns and colours shown as a named view.
pub async fn save_view(
    State(state): State<AppState>,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut name = String::new();
    let mut location = String::new();
    let mut by_provider = false;
    let mut columns = Vec::new();
    let mut colour_by = "type".to_string();
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "name" => name = v,
            "location_id" => location = v,
            "by" => by_provider = v == "providers",
            "col" => columns.extend(v.parse::<uuid::Uuid>().ok()),
            "colour" => colour_by = v,
            _ => {}
        }
    }
    let location: LocationId = location
        .parse()
        .map_err(|_| DomainError::field("location_id", "choose a location"))?;
    let view = store::scheduling::AgendaView {
        id: uuid::Uuid::nil(),
        name,
        location_id: location,
        by_provider,
        columns,
        colour_by,
    };
    state
        .store
        .save_agenda_view(&auth.scope(), auth.user.id, &view)
        .await?;
    let cols: Vec<String> = view.columns.iter().map(|c| c.to_string()).collect();
    Ok(Redirect::to(&format!(
        "/appointments?location={location}&by={}&cols={}&colour={}",
        if view.by_provider {
            "providers"
        } else {
            "chairs"
        },
        cols.join(","),
        view.colour_by
    ))
    .into_response())
}

/// `POST /appointments/views/{id}/delete`
pub async fn delete_view(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    state
        .store
        .delete_agenda_view(&auth.scope(), auth.user.id, id)
        .await?;
    Ok(Redirect::to("/appointments").into_response())
}

// ---------------------------------------------------------------- booking (the form)

/// `POST /appointments`: the booking form (the script posts JSON to the API instead).
pub async fn book(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut f: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (k, v) in form_urlencoded_pairs(&body) {
        f.insert(k, v);
    }
    let get = |k: &str| {
        f.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let location: Option<LocationId> = get("location_id").and_then(|s| s.parse().ok());
    let loc = pick_location(&state, &auth, get("location_id").as_deref()).await?;
    let tz = loc.tz()?;
    let mut errors = Vec::new();
    let start = match (get("date"), get("time")) {
        (Some(d), Some(t)) => match (d.parse::<Date>(), t.parse::<Time>()) {
            (Ok(d), Ok(t)) => match local_instant(&tz, d, t, false, "time") {
                Ok(s) => Some(s),
                Err(e) => {
                    errors.extend(e.fields);
                    None
                }
            },
            _ => {
                errors.push(FieldError {
                    field: "time".into(),
                    message: "a date and a time, e.g. 09:30".into(),
                });
                None
            }
        },
        _ => {
            errors.push(FieldError {
                field: "time".into(),
                message: "a date and a time, e.g. 09:30".into(),
            });
            None
        }
    };
    if !errors.is_empty() {
        return Err(DomainError::validation(errors).into());
    }
    let new = NewAppointment {
        location_id: location.or(Some(loc.id)),
        operatory_id: get("operatory_id").and_then(|s| s.parse().ok()),
        patient_id: get("patient_id").and_then(|s| s.parse().ok()),
        provider_id: get("provider_id").and_then(|s| s.parse().ok()),
        secondary_id: get("secondary_id").and_then(|s| s.parse().ok()),
        appointment_type_id: get("appointment_type_id").and_then(|s| s.parse().ok()),
        start,
        duration_minutes: get("duration_minutes").and_then(|s| s.parse().ok()),
        pattern: None,
        notes: get("notes").unwrap_or_default(),
        override_reason: get("override_reason"),
    };
    let a = state
        .store
        .book_appointment(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            api::permits(&auth),
            &new,
        )
        .await?;
    let day = a.start.to_zoned(tz).date();
    Ok(Redirect::to(&format!("/appointments?location={}&date={day}", loc.id)).into_response())
}

// ---------------------------------------------------------------- one appointment

#[derive(Template)]
#[template(path = "appointment.html")]
struct AppointmentPage {
    shell: Shell,
    v: AppointmentView,
}

#[derive(Template)]
#[template(path = "appointment_fragment.html")]
struct AppointmentFragment {
    shell: Shell,
    v: AppointmentView,
}

pub struct AppointmentView {
    id: String,
    version: i64,
    title: String,
    when: String,
    chair: String,
    provider: String,
    secondary: String,
    kind: String,
    status: &'static str,
    status_label: String,
    confirmation_label: String,
    notes: String,
    cancel_reason: String,
    override_reason: String,
    patient_href: String,
    agenda_href: String,
    stamps: Vec<(String, String)>,
    history: Vec<(String, String, String)>,
    next: Vec<(&'static str, String)>,
    can_write: bool,
    can_cancel: bool,
    open: bool,
    minutes: i64,
    start_date: String,
    start_time: String,
    chairs: Vec<Opt>,
    matches: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct FragmentQuery {
    fragment: Option<String>,
}

pub(crate) fn parse_appointment_id(s: &str) -> Result<AppointmentId, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// `GET /appointments/{id}`: the appointment, its patient flow and history.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<FragmentQuery>,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(&auth, &ctx, &ip);
    let a = state.store.appointment(&scope, &who, id).await?;
    let loc = state
        .store
        .location(&scope, a.location_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = loc.tz()?;
    let chairs = state.store.operatories(&scope, loc.id, false).await?;
    let providers = state.store.agenda_providers(&scope, loc.id).await?;
    let name_of = |u: UserId| {
        providers
            .iter()
            .find(|p| p.id == u)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let patient = state.store.patient_summary(&scope, a.patient_id).await.ok();
    let kind = match a.appointment_type_id {
        Some(t) => state
            .store
            .appointment_type(&scope, t)
            .await?
            .map(|t| t.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let z = a.start.to_zoned(tz.clone());
    let stamps = [
        ("appt-status-confirmed", a.confirmed_at),
        ("appt-status-arrived", a.arrived_at),
        ("appt-status-seated", a.seated_at),
        ("appt-status-completed", a.completed_at),
        ("appt-status-no_show", a.no_show_at),
        ("appt-status-cancelled", a.cancelled_at),
    ]
    .into_iter()
    .filter_map(|(k, t)| {
        t.map(|t| {
            (
                lang.t(k),
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string(),
            )
        })
    })
    .collect();
    let history = state
        .store
        .appointment_history(&scope, id)
        .await?
        .into_iter()
        .map(|(at, who, change, _)| {
            (
                at.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string(),
                who,
                lang.t(&format!("appt-change-{change}")),
            )
        })
        .collect();
    let matches = if !a.status.holds_time() && auth.can(Permission::ScheduleWrite) {
        state
            .store
            .waitlist_matches(&scope, &who, id)
            .await?
            .into_iter()
            .map(|e| (e.patient_name, e.phone.unwrap_or_default()))
            .collect()
    } else {
        Vec::new()
    };
    let v = AppointmentView {
        id: a.id.to_string(),
        version: a.version,
        title: patient
            .as_ref()
            .map(|p| p.display_name())
            .unwrap_or_else(|| lang.t("agenda-restricted")),
        when: format!(
            "{} · {}–{}",
            long_date(lang, z.date()),
            hhmm(a.start, &tz),
            hhmm(a.end, &tz)
        ),
        chair: chairs
            .iter()
            .find(|c| c.id == a.operatory_id)
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        provider: name_of(a.provider_id),
        secondary: a.secondary_id.map(name_of).unwrap_or_default(),
        kind,
        status: a.status.as_str(),
        status_label: lang.t(&format!("appt-status-{}", a.status.as_str())),
        confirmation_label: lang.t(&format!("appt-confirmation-{}", a.confirmation.as_str())),
        notes: a.notes.clone(),
        cancel_reason: a.cancel_reason.clone(),
        override_reason: a.override_reason.clone(),
        patient_href: patient
            .as_ref()
            .map(|p| format!("/patients/{}", p.id))
            .unwrap_or_default(),
        agenda_href: format!("/appointments?location={}&date={}", loc.id, z.date()),
        stamps,
        history,
        next: next_steps(a.status, lang),
        can_write: auth.can(Permission::ScheduleWrite),
        can_cancel: a.status.next().contains(&AppointmentStatus::Cancelled),
        open: a.status.is_open(),
        minutes: a.minutes(),
        start_date: z.date().to_string(),
        start_time: z.strftime("%H:%M").to_string(),
        chairs: chairs
            .iter()
            .map(|c| Opt {
                id: c.id.to_string(),
                name: c.name.clone(),
                selected: c.id == a.operatory_id,
            })
            .collect(),
        matches,
    };
    if q.fragment.is_some() {
        let mut resp = html(&AppointmentFragment {
            shell: Shell::bare(&ctx),
            v,
        })?;
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(resp);
    }
    html(&AppointmentPage {
        shell: Shell::build(&state, &ctx).await,
        v,
    })
}

/// `POST /appointments/{id}/status`: a step of the patient flow (form).
pub async fn set_status(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let mut status = None;
    let mut reason = String::new();
    let mut version = None;
    let mut back = None;
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "status" => status = AppointmentStatus::parse(&v),
            "cancel_reason" => reason = v,
            "version" => version = v.parse().ok(),
            "back" => back = Some(v),
            _ => {}
        }
    }
    let who = actor(&auth, &ctx, &ip);
    let Some(status) = status else {
        // Another organization's id is not found, whatever the form says.
        state.store.appointment(&auth.scope(), &who, id).await?;
        return Err(DomainError::field("status", "unknown status").into());
    };
    state
        .store
        .set_appointment_status(&auth.scope(), &who, id, status, &reason, version)
        .await?;
    let to = back
        .filter(|b| b.starts_with("/appointments"))
        .unwrap_or_else(|| format!("/appointments/{id}"));
    Ok(Redirect::to(&to).into_response())
}

/// `POST /appointments/{id}/move`: a new time, chair or length (form; the script PATCHes).
pub async fn move_form(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let a = state.store.appointment(&scope, &who, id).await?;
    let tz = tz_of(&state, &auth, a.location_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut ch = store::scheduling::appointments::AppointmentChange::default();
    let (mut date, mut time) = (None, None);
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "date" => date = v.parse::<Date>().ok(),
            "time" => time = v.parse::<Time>().ok(),
            "operatory_id" => ch.operatory_id = v.parse::<OperatoryId>().ok(),
            "duration_minutes" => ch.duration_minutes = v.parse().ok(),
            "version" => ch.expected_version = v.parse().ok(),
            "override_reason" if !v.trim().is_empty() => ch.override_reason = Some(v),
            _ => {}
        }
    }
    if let (Some(d), Some(t)) = (date, time) {
        ch.start = Some(local_instant(&tz, d, t, false, "time")?);
    }
    let a = state
        .store
        .change_appointment(&scope, &who, api::permits(&auth), id, &ch)
        .await?;
    Ok(Redirect::to(&format!("/appointments/{}", a.id)).into_response())
}

/// `GET /appointments/{id}/calendar.ics`: the appointment for the patient's calendar.
pub async fn ics(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let body = state
        .store
        .appointment_ics(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"appointment-{id}.ics\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// `GET /ical/{token}`: a feed; the secret token is the right to read it.
pub async fn feed(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let token = token.trim_end_matches(".ics");
    match state.store.feed_calendar(token, ip.0).await? {
        Some(body) => Ok((
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            body,
        )
            .into_response()),
        None => Err(AppError::NotFound),
    }
}

/// `GET /appointments/colours.css`: a class per colour of the organization's providers,
/// appointment types and blockouts (the CSP allows no inline style).
pub async fn colours(State(state): State<AppState>, auth: Auth) -> Result<Response, AppError> {
    let scope = auth.scope();
    let mut colours: Vec<String> = Vec::new();
    for l in state.store.locations(&scope).await? {
        for p in state.store.agenda_providers(&scope, l.id).await? {
            colours.push(p.colour);
        }
        for b in state.store.blockouts(&scope, l.id).await? {
            colours.push(b.colour);
        }
    }
    for t in state.store.appointment_types(&scope, true).await? {
        colours.push(t.colour);
    }
    colours.sort();
    colours.dedup();
    let mut css =
        String::from("/* colours of this organization's providers, types and blockouts */\n");
    for c in colours {
        let class = colour_class(&c);
        if class != "c-default" {
            css.push_str(&format!(".{class} {{ --c: #{}; }}\n", &class[2..]));
        }
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        css,
    )
        .into_response())
}

// ---------------------------------------------------------------- the day sheet

pub struct SheetRow {
    pub time: String,
    pub chair: String,
    pub patient: String,
    pub chart: String,
    pub phone: String,
    pub kind: String,
    pub provider: String,
    pub status: String,
    pub notes: String,
}

#[derive(Template)]
#[template(path = "agenda_sheet.html")]
struct SheetPage {
    shell: Shell,
    location_name: String,
    date_label: String,
    rows: Vec<SheetRow>,
    back: String,
}

/// `GET /appointments/sheet?location=&date=`: the printable day sheet.
pub async fn sheet(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<AgendaQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let loc = pick_location(&state, &auth, q.location.as_deref()).await?;
    let tz = loc.tz()?;
    let date = match q.date.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse::<Date>()
            .map_err(|_| DomainError::field("date", "a date as YYYY-MM-DD"))?,
        None => state.store.now().to_zoned(tz.clone()).date(),
    };
    let (from, to) = day_bounds(&tz, date)?;
    let items = state
        .store
        .agenda(&scope, &actor(&auth, &ctx, &ip), loc.id, from, to)
        .await?;
    let chairs = state.store.operatories(&scope, loc.id, true).await?;
    let providers = state.store.agenda_providers(&scope, loc.id).await?;
    let mut rows: Vec<(i64, i64, SheetRow)> = items
        .iter()
        .filter(|i| i.appointment.status != AppointmentStatus::Rescheduled)
        .map(|i| {
            let a = &i.appointment;
            let chair = chairs.iter().find(|c| c.id == a.operatory_id);
            (
                chair.map(|c| c.sort_order).unwrap_or(0),
                a.start.as_microsecond(),
                SheetRow {
                    time: format!("{}–{}", hhmm(a.start, &tz), hhmm(a.end, &tz)),
                    chair: chair.map(|c| c.name.clone()).unwrap_or_default(),
                    patient: i
                        .patient
                        .as_ref()
                        .map(|p| p.name.clone())
                        .unwrap_or_else(|| lang.t("agenda-restricted")),
                    chart: i
                        .patient
                        .as_ref()
                        .map(|p| p.chart_number.to_string())
                        .unwrap_or_default(),
                    phone: i
                        .patient
                        .as_ref()
                        .and_then(|p| p.phone.clone())
                        .map(|p| crate::patients::show_phone(&p))
                        .unwrap_or_default(),
                    kind: i.type_name.clone().unwrap_or_default(),
                    provider: providers
                        .iter()
                        .find(|p| p.id == a.provider_id)
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    status: lang.t(&format!("appt-status-{}", a.status.as_str())),
                    notes: a.notes.clone(),
                },
            )
        })
        .collect();
    rows.sort_by_key(|r| (r.0, r.1));
    html(&SheetPage {
        shell: Shell::build(&state, &ctx).await,
        location_name: loc.name.clone(),
        date_label: long_date(lang, date),
        rows: rows.into_iter().map(|r| r.2).collect(),
        back: format!("/appointments?location={}&date={date}", loc.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_and_without_offsets_and_the_spring_gap() {
        let tz = TimeZone::get("America/Toronto").unwrap();
        assert_eq!(
            parse_when("2027-03-15T09:00:00-04:00", &tz, "start")
                .unwrap()
                .to_string(),
            "2027-03-15T13:00:00Z"
        );
        assert_eq!(
            parse_when("2027-03-15T13:00:00Z", &tz, "start")
                .unwrap()
                .to_string(),
            "2027-03-15T13:00:00Z"
        );
        assert_eq!(
            parse_when("2027-03-15T09:00", &tz, "start")
                .unwrap()
                .to_string(),
            "2027-03-15T13:00:00Z"
        );
        let e = parse_when("2027-03-14T02:30:00-05:00", &tz, "start").unwrap_err();
        assert!(
            e.message.contains("02:30 does not exist on 2027-03-14"),
            "{}",
            e.message
        );
        let e = parse_when("2027-03-14T02:30", &tz, "start").unwrap_err();
        assert!(e.message.contains("does not exist"), "{}", e.message);
        assert!(parse_when("tomorrow", &tz, "start").is_err());
    }

    #[test]
    fn overlapping_blocks_get_lanes() {
        let b = |row, span| Block {
            row,
            span,
            lane: 9,
            lanes: 9,
            id: String::new(),
            version: 1,
            time: String::new(),
            title: String::new(),
            subtitle: String::new(),
            colour: String::new(),
            status: "scheduled",
            status_label: String::new(),
            late: false,
            stripes: vec![],
            start: String::new(),
            minutes: 0,
            operatory_id: String::new(),
            provider_id: String::new(),
            restricted: false,
        };
        let mut blocks = vec![b(1, 6), b(3, 2), b(7, 2), b(4, 4)];
        assert_eq!(lay_out(&mut blocks), 3);
        let lanes: Vec<(usize, usize)> = blocks.iter().map(|b| (b.row, b.lane)).collect();
        assert_eq!(lanes, vec![(1, 0), (3, 1), (4, 2), (7, 0)]);
    }
}
