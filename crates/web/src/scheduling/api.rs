//! The scheduling JSON API: locations, chairs, providers, appointment types, appointments
//! (book, list, read, change, reschedule), open slots, the ASAP list and due recalls. Times
//! are RFC 3339 with the location's offset; a time without an offset is read as the
//! location's wall-clock time (one in the spring gap is refused). A clash is 409 problem JSON
//! naming the appointment in the way; anything needing an override is 422 on
//! `override_reason`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::identity::Permission;
use domain::scheduling::status::{AppointmentStatus, Confirmation};
use domain::scheduling::{DayPart, WaitlistWish};
use domain::{
    AppointmentId, AppointmentTypeId, DomainError, FieldError, LocationId, OperatoryId, PatientId,
    UserId, WaitlistId,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::{Value, json};
use store::scheduling::appointments::{
    AgendaItem, Appointment, AppointmentChange, NewAppointment, Permits,
};
use store::scheduling::slots::SlotQuery;
use store::scheduling::waitlist::{NewWaitlistEntry, WaitlistEntry};

use super::{parse_when, tz_of};
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::patients::actor;
use crate::phone::ClientIp;
use crate::shell::Ctx;

pub(crate) fn permits(auth: &Auth) -> Permits {
    Permits {
        may_override: auth.can(Permission::ScheduleOverride),
    }
}

/// An instant with the location's offset.
pub fn rfc3339(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn opt_time(t: Option<Timestamp>, tz: &TimeZone) -> Value {
    t.map(|t| json!(rfc3339(t, tz))).unwrap_or(Value::Null)
}

pub fn appointment_json(a: &Appointment, tz: &TimeZone, now: Timestamp, late_after: i64) -> Value {
    json!({
        "id": a.id,
        "location_id": a.location_id,
        "operatory_id": a.operatory_id,
        "patient_id": a.patient_id,
        "provider_id": a.provider_id,
        "secondary_id": a.secondary_id,
        "appointment_type_id": a.appointment_type_id,
        "start": rfc3339(a.start, tz),
        "end": rfc3339(a.end, tz),
        "duration_minutes": a.minutes(),
        "pattern": a.pattern.as_text(),
        "unit_minutes": a.pattern.unit_minutes(),
        "status": a.status.as_str(),
        "confirmation": a.confirmation.as_str(),
        "reminders_sent": a.reminders_sent,
        "late": a.is_late(now, late_after),
        "notes": a.notes,
        "cancel_reason": a.cancel_reason,
        "override_reason": a.override_reason,
        "confirmed_at": opt_time(a.confirmed_at, tz),
        "arrived_at": opt_time(a.arrived_at, tz),
        "seated_at": opt_time(a.seated_at, tz),
        "completed_at": opt_time(a.completed_at, tz),
        "no_show_at": opt_time(a.no_show_at, tz),
        "cancelled_at": opt_time(a.cancelled_at, tz),
        "rescheduled_from": a.rescheduled_from,
        "rescheduled_to": a.rescheduled_to,
        "version": a.version,
        "created_at": a.created_at.to_string(),
        "updated_at": a.updated_at.to_string(),
    })
}

fn item_json(i: &AgendaItem, tz: &TimeZone, now: Timestamp, late_after: i64) -> Value {
    let mut v = appointment_json(&i.appointment, tz, now, late_after);
    v["patient"] = match &i.patient {
        Some(p) => json!({
            "id": p.id,
            "name": p.name,
            "chart_number": p.chart_number,
            "birth_date": p.birth_date.to_string(),
            "phone": p.phone,
        }),
        None => Value::Null,
    };
    v["type_name"] = json!(i.type_name);
    v["type_colour"] = json!(i.type_colour);
    v
}

/// An id field: absent is `None`; present but not an id is that field's error.
fn id_field<T: std::str::FromStr>(
    errors: &mut Vec<FieldError>,
    field: &str,
    v: &Option<String>,
) -> Option<T> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match s.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError {
                field: field.into(),
                message: "not an id".into(),
            });
            None
        }
    }
}

fn done(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::validation(errors).into())
    }
}

#[derive(Deserialize, Default)]
pub struct BookingBody {
    patient_id: Option<String>,
    location_id: Option<String>,
    operatory_id: Option<String>,
    provider_id: Option<String>,
    secondary_id: Option<String>,
    appointment_type_id: Option<String>,
    start: Option<String>,
    duration_minutes: Option<i64>,
    pattern: Option<String>,
    #[serde(default)]
    notes: String,
    override_reason: Option<String>,
}

impl BookingBody {
    /// The request as a booking; ids and the start are checked here, the rest by the store.
    async fn into_new(
        self,
        state: &AppState,
        auth: &Auth,
        location_fallback: Option<LocationId>,
    ) -> Result<NewAppointment, AppError> {
        let mut errors = Vec::new();
        let location: Option<LocationId> =
            id_field(&mut errors, "location_id", &self.location_id).or(location_fallback);
        let new = NewAppointment {
            location_id: location,
            operatory_id: id_field::<OperatoryId>(&mut errors, "operatory_id", &self.operatory_id),
            patient_id: id_field::<PatientId>(&mut errors, "patient_id", &self.patient_id),
            provider_id: id_field::<UserId>(&mut errors, "provider_id", &self.provider_id),
            secondary_id: id_field::<UserId>(&mut errors, "secondary_id", &self.secondary_id),
            appointment_type_id: id_field::<AppointmentTypeId>(
                &mut errors,
                "appointment_type_id",
                &self.appointment_type_id,
            ),
            start: None,
            duration_minutes: self.duration_minutes,
            pattern: self.pattern,
            notes: self.notes,
            override_reason: self.override_reason,
        };
        let start = match (&self.start, location) {
            (Some(s), Some(l)) => match tz_of(state, auth, l).await? {
                Some(tz) => match parse_when(s, &tz, "start") {
                    Ok(t) => Some(t),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
                None => None,
            },
            _ => None,
        };
        done(errors)?;
        Ok(NewAppointment { start, ..new })
    }
}

async fn late_after(state: &AppState, auth: &Auth) -> Result<i64, AppError> {
    Ok(state
        .store
        .scheduling_settings(auth.scope().org())
        .await?
        .late_after_minutes)
}

async fn json_of(state: &AppState, auth: &Auth, a: &Appointment) -> Result<Value, AppError> {
    let tz = tz_of(state, auth, a.location_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(appointment_json(
        a,
        &tz,
        state.store.now(),
        late_after(state, auth).await?,
    ))
}

/// `POST /api/v1/appointments` → 201 with the appointment.
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Json(body): Json<BookingBody>,
) -> Result<Response, AppError> {
    let new = body.into_new(&state, &auth, None).await?;
    let a = state
        .store
        .book_appointment(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            permits(&auth),
            &new,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json_of(&state, &auth, &a).await?)).into_response())
}

fn parse_appointment_id(s: &str) -> Result<AppointmentId, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// `GET /api/v1/appointments/{id}` → the appointment and its history.
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let scope = auth.scope();
    let a = state
        .store
        .appointment(&scope, &actor(&auth, &ctx, &ip), id)
        .await?;
    let mut v = json_of(&state, &auth, &a).await?;
    v["history"] = state
        .store
        .appointment_history(&scope, id)
        .await?
        .into_iter()
        .map(|(at, who, change, details)| {
            json!({ "at": at.to_string(), "actor": who, "change": change, "details": details })
        })
        .collect();
    Ok(Json(v).into_response())
}

#[derive(Deserialize, Default)]
pub struct ChangeBody {
    version: Option<i64>,
    status: Option<String>,
    #[serde(default)]
    cancel_reason: String,
    start: Option<String>,
    operatory_id: Option<String>,
    provider_id: Option<String>,
    /// `null` removes the second provider; absent keeps it.
    #[serde(default, deserialize_with = "present")]
    secondary_id: Option<Option<String>>,
    duration_minutes: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    appointment_type_id: Option<Option<String>>,
    notes: Option<String>,
    confirmation: Option<String>,
    override_reason: Option<String>,
}

/// A field given as `null` is `Some(None)`, absent is `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?))
}

/// `PATCH /api/v1/appointments/{id}`: a move, resize or edit, and/or a status change.
pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(body): Json<ChangeBody>,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let current = state.store.appointment(&scope, &who, id).await?;
    let tz = tz_of(&state, &auth, current.location_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = Vec::new();
    let start = match &body.start {
        Some(s) => match parse_when(s, &tz, "start") {
            Ok(t) => Some(t),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        None => None,
    };
    let status = match body.status.as_deref() {
        Some(s) => match AppointmentStatus::parse(s) {
            Some(st) => Some(st),
            None => {
                errors.push(FieldError {
                    field: "status".into(),
                    message: "unknown status".into(),
                });
                None
            }
        },
        None => None,
    };
    let confirmation = match body.confirmation.as_deref() {
        Some(c) => match Confirmation::parse(c) {
            Some(c) => Some(c),
            None => {
                errors.push(FieldError {
                    field: "confirmation".into(),
                    message: "unconfirmed, left_message, confirmed or declined".into(),
                });
                None
            }
        },
        None => None,
    };
    let ch = AppointmentChange {
        start,
        operatory_id: id_field(&mut errors, "operatory_id", &body.operatory_id),
        provider_id: id_field(&mut errors, "provider_id", &body.provider_id),
        secondary_id: body
            .secondary_id
            .as_ref()
            .map(|s| id_field(&mut errors, "secondary_id", s)),
        duration_minutes: body.duration_minutes,
        appointment_type_id: body
            .appointment_type_id
            .as_ref()
            .map(|s| id_field(&mut errors, "appointment_type_id", s)),
        notes: body.notes.clone(),
        confirmation,
        expected_version: body.version,
        override_reason: body.override_reason.clone(),
    };
    done(errors)?;
    let edits = ch.start.is_some()
        || ch.operatory_id.is_some()
        || ch.provider_id.is_some()
        || ch.secondary_id.is_some()
        || ch.duration_minutes.is_some()
        || ch.appointment_type_id.is_some()
        || ch.notes.is_some()
        || ch.confirmation.is_some();
    let mut a = current;
    if edits {
        a = state
            .store
            .change_appointment(&scope, &who, permits(&auth), id, &ch)
            .await?;
    }
    if let Some(st) = status
        && st != a.status
    {
        a = state
            .store
            .set_appointment_status(
                &scope,
                &who,
                id,
                st,
                &body.cancel_reason,
                if edits { Some(a.version) } else { body.version },
            )
            .await?;
    }
    Ok(Json(json_of(&state, &auth, &a).await?).into_response())
}

/// `POST /api/v1/appointments/{id}/reschedule` → 201 with the new appointment.
pub async fn reschedule(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(body): Json<BookingBody>,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let old = state.store.appointment(&scope, &who, id).await?;
    let new = body.into_new(&state, &auth, Some(old.location_id)).await?;
    let a = state
        .store
        .reschedule_appointment(&scope, &who, permits(&auth), id, &new)
        .await?;
    Ok((StatusCode::CREATED, Json(json_of(&state, &auth, &a).await?)).into_response())
}

#[derive(Deserialize, Default)]
pub struct RangeQuery {
    location_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/v1/appointments?location_id=&from=&to=` (instants, or dates at the location).
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<RangeQuery>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let location: Option<LocationId> = id_field(&mut errors, "location_id", &q.location_id);
    done(errors)?;
    let location =
        location.ok_or_else(|| DomainError::field("location_id", "choose a location"))?;
    let tz = tz_of(&state, &auth, location)
        .await?
        .ok_or(AppError::NotFound)?;
    let (from, to) = super::range(&q.from, &q.to, &tz, state.store.now())?;
    let items = state
        .store
        .agenda(&auth.scope(), &actor(&auth, &ctx, &ip), location, from, to)
        .await?;
    let (now, late) = (state.store.now(), late_after(&state, &auth).await?);
    Ok(Json(json!({
        "items": items.iter().map(|i| item_json(i, &tz, now, late)).collect::<Vec<_>>()
    }))
    .into_response())
}

#[derive(Deserialize, Default)]
pub struct SlotsQuery {
    location_id: Option<String>,
    duration_minutes: Option<i64>,
    appointment_type_id: Option<String>,
    provider_id: Option<String>,
    patient_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    /// any, morning or afternoon.
    day_part: Option<String>,
}

/// `GET /api/v1/slots?location_id=&duration_minutes=&from=&to=&limit=[&provider_id=]`.
pub async fn slots(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<SlotsQuery>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let location: Option<LocationId> = id_field(&mut errors, "location_id", &q.location_id);
    let query = SlotQuery {
        location_id: location,
        appointment_type_id: id_field(&mut errors, "appointment_type_id", &q.appointment_type_id),
        duration_minutes: q.duration_minutes,
        provider_id: id_field(&mut errors, "provider_id", &q.provider_id),
        providers: Vec::new(),
        patient_id: id_field(&mut errors, "patient_id", &q.patient_id),
        from: None,
        to: None,
        window: match q.day_part.as_deref() {
            None | Some("") => None,
            Some(p) => match DayPart::parse(p) {
                Some(d) => d.window(),
                None => {
                    errors.push(FieldError {
                        field: "day_part".into(),
                        message: "any, morning or afternoon".into(),
                    });
                    None
                }
            },
        },
        limit: q.limit.unwrap_or(5),
    };
    done(errors)?;
    let location =
        location.ok_or_else(|| DomainError::field("location_id", "choose a location"))?;
    let tz = tz_of(&state, &auth, location)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.store.now();
    let from = match &q.from {
        Some(s) => Some(parse_when(s, &tz, "from").map_err(|e| DomainError::validation(vec![e]))?),
        None => Some(now),
    };
    let to = match &q.to {
        Some(s) => Some(parse_when(s, &tz, "to").map_err(|e| DomainError::validation(vec![e]))?),
        None => None,
    };
    let found = state
        .store
        .find_slots(&auth.scope(), &SlotQuery { from, to, ..query })
        .await?;
    let t = |us: i64| {
        Timestamp::from_microsecond(us)
            .map(|t| rfc3339(t, &tz))
            .unwrap_or_default()
    };
    Ok(Json(json!({
        "items": found.iter().map(|s| json!({
            "start": t(s.start),
            "end": t(s.end),
            "operatory_id": s.operatory_id,
            "provider_id": s.provider_id,
        })).collect::<Vec<_>>()
    }))
    .into_response())
}

/// `GET /api/v1/locations` → the locations the user may see.
pub async fn locations(State(state): State<AppState>, auth: Auth) -> Result<Response, AppError> {
    let items: Vec<Value> = state
        .store
        .locations(&auth.scope())
        .await?
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "name": l.name,
                "time_zone": l.time_zone,
                "currency": l.currency.code(),
                "locale": l.locale,
                "opening_hours": l.opening_hours.summary(),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize, Default)]
pub struct LocationQuery {
    location_id: Option<String>,
}

async fn location_param(
    state: &AppState,
    auth: &Auth,
    q: &LocationQuery,
) -> Result<LocationId, AppError> {
    let mut errors = Vec::new();
    let l: Option<LocationId> = id_field(&mut errors, "location_id", &q.location_id);
    done(errors)?;
    match l {
        Some(l) if state.store.location(&auth.scope(), l).await?.is_some() => Ok(l),
        Some(_) => Err(AppError::NotFound),
        None => Err(DomainError::field("location_id", "choose a location").into()),
    }
}

/// `GET /api/v1/operatories?location_id=`
pub async fn operatories(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<LocationQuery>,
) -> Result<Response, AppError> {
    let l = location_param(&state, &auth, &q).await?;
    let items: Vec<Value> = state
        .store
        .operatories(&auth.scope(), l, false)
        .await?
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "location_id": o.location_id,
                "name": o.name,
                "short_name": o.short_name,
                "sort_order": o.sort_order,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /api/v1/providers?location_id=`
pub async fn providers(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<LocationQuery>,
) -> Result<Response, AppError> {
    let l = location_param(&state, &auth, &q).await?;
    let items: Vec<Value> = state
        .store
        .agenda_providers(&auth.scope(), l)
        .await?
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "colour": p.colour,
                "kind": if p.dentist { "dentist" } else { "hygienist" },
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /api/v1/appointment-types`
pub async fn appointment_types(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Response, AppError> {
    let items: Vec<Value> = state
        .store
        .appointment_types(&auth.scope(), false)
        .await?
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "name": t.name,
                "colour": t.colour,
                "pattern": t.pattern.as_text(),
                "unit_minutes": t.pattern.unit_minutes(),
                "duration_minutes": t.pattern.minutes(),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

pub fn waitlist_json(e: &WaitlistEntry) -> Value {
    json!({
        "id": e.id,
        "location_id": e.location_id,
        "patient_id": e.patient_id,
        "patient_name": e.patient_name,
        "phone": e.phone,
        "appointment_type_id": e.appointment_type_id,
        "provider_id": e.wish.provider,
        "duration_minutes": e.wish.duration_minutes,
        "earliest": e.wish.earliest.map(|d| d.to_string()),
        "latest": e.wish.latest.map(|d| d.to_string()),
        "weekdays": e.wish.weekdays.iter().map(|d| d.to_monday_one_offset()).collect::<Vec<_>>(),
        "day_part": e.wish.day_part.as_str(),
        "notes": e.notes,
        "status": e.status,
        "created_at": e.created_at.to_string(),
    })
}

/// `GET /api/v1/waitlist?location_id=`
pub async fn waitlist(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<LocationQuery>,
) -> Result<Response, AppError> {
    let l = location_param(&state, &auth, &q).await?;
    let items = state
        .store
        .waitlist(&auth.scope(), &actor(&auth, &ctx, &ip), l)
        .await?;
    Ok(
        Json(json!({ "items": items.iter().map(waitlist_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

#[derive(Deserialize, Default)]
pub struct WaitlistBody {
    location_id: Option<String>,
    patient_id: Option<String>,
    appointment_type_id: Option<String>,
    provider_id: Option<String>,
    duration_minutes: Option<i64>,
    earliest: Option<String>,
    latest: Option<String>,
    #[serde(default)]
    weekdays: Vec<i8>,
    day_part: Option<String>,
    #[serde(default)]
    notes: String,
}

/// `POST /api/v1/waitlist` → 201 `{"id"}`.
pub async fn waitlist_add(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Json(b): Json<WaitlistBody>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let location: Option<LocationId> = id_field(&mut errors, "location_id", &b.location_id);
    let patient: Option<PatientId> = id_field(&mut errors, "patient_id", &b.patient_id);
    let day = |f: &str, v: &Option<String>, errors: &mut Vec<FieldError>| {
        let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        match s.parse::<jiff::civil::Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError {
                    field: f.into(),
                    message: "a date as YYYY-MM-DD".into(),
                });
                None
            }
        }
    };
    let earliest = day("earliest", &b.earliest, &mut errors);
    let latest = day("latest", &b.latest, &mut errors);
    let mut weekdays = Vec::new();
    for w in &b.weekdays {
        match jiff::civil::Weekday::from_monday_one_offset(*w) {
            Ok(d) => weekdays.push(d),
            Err(_) => errors.push(FieldError {
                field: "weekdays".into(),
                message: "1 (Monday) to 7 (Sunday)".into(),
            }),
        }
    }
    let day_part = match b.day_part.as_deref() {
        None | Some("") => DayPart::Any,
        Some(p) => DayPart::parse(p).unwrap_or_else(|| {
            errors.push(FieldError {
                field: "day_part".into(),
                message: "any, morning or afternoon".into(),
            });
            DayPart::Any
        }),
    };
    let entry = NewWaitlistEntry {
        location_id: location.unwrap_or_else(|| LocationId::from_uuid(uuid::Uuid::nil())),
        patient_id: patient.unwrap_or_else(|| PatientId::from_uuid(uuid::Uuid::nil())),
        appointment_type_id: id_field(&mut errors, "appointment_type_id", &b.appointment_type_id),
        wish: WaitlistWish {
            duration_minutes: b.duration_minutes.unwrap_or(0),
            earliest,
            latest,
            weekdays,
            day_part,
            provider: id_field(&mut errors, "provider_id", &b.provider_id),
        },
        notes: b.notes,
    };
    if location.is_none() {
        errors.push(FieldError {
            field: "location_id".into(),
            message: "choose a location".into(),
        });
    }
    if patient.is_none() {
        errors.push(FieldError {
            field: "patient_id".into(),
            message: "choose a patient".into(),
        });
    }
    done(errors)?;
    let id = state
        .store
        .add_to_waitlist(&auth.scope(), &actor(&auth, &ctx, &ip), &entry)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `DELETE /api/v1/waitlist/{id}`: off the list.
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
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/appointments/{id}/waitlist-matches`: who on the ASAP list could take the
/// time a cancelled appointment freed.
pub async fn waitlist_matches(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_appointment_id(&id)?;
    let items = state
        .store
        .waitlist_matches(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    Ok(
        Json(json!({ "items": items.iter().map(waitlist_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

/// `GET /api/v1/recalls?location_id=`: recalls overdue or due within the window.
pub async fn recalls(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<LocationQuery>,
) -> Result<Response, AppError> {
    let l = location_param(&state, &auth, &q).await?;
    let tz = tz_of(&state, &auth, l).await?.ok_or(AppError::NotFound)?;
    let today = state.store.now().to_zoned(tz).date();
    let window = state
        .store
        .scheduling_settings(auth.scope().org())
        .await?
        .recall_window_days;
    let items = state
        .store
        .recalls_due(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            l,
            today,
            window,
            500,
        )
        .await?;
    Ok(Json(json!({
        "items": items.iter().map(|r| json!({
            "patient_id": r.patient_id,
            "patient_name": r.patient_name,
            "chart_number": r.chart_number,
            "phone": r.phone,
            "recall_type_id": r.recall_type_id,
            "recall": r.recall_name,
            "last_done": r.last_done.map(|d| d.to_string()),
            "due_on": r.due_on.to_string(),
            "state": r.state,
            "booked": r.booked,
        })).collect::<Vec<_>>()
    }))
    .into_response())
}
