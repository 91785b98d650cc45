//! Appointments: booking, moving and resizing, the patient flow, rescheduling, the agenda's
//! reads, and the busy times that keep chairs, providers and patients from being in two places.
//!
//! A booking is checked in its transaction (the chair, the provider in the `X` units of the
//! pattern, the second provider and the patient must be free) and the database enforces the
//! same on insert (`appointment_busy`, migration 0015): two bookings racing for one slot on
//! PostgreSQL both pass the check, and the exclusion constraint refuses the second, which is
//! answered like the check's refusal, naming the appointment in the way.

use domain::scheduling::status::{AppointmentStatus, Confirmation};
use domain::scheduling::{IntervalSet, Pattern};
use domain::{
    AppointmentId, AppointmentTypeId, DomainError, ErrorCode, FieldError, LocationId, OperatoryId,
    PatientId, Scope, UserId,
};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;

use super::{DayPlan, invalid};
use crate::db::{DbError, DbResult, Q, Row};
use crate::patients::{Actor, visible};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// The encrypted field holding an appointment's notes.
pub const NOTES_FIELD: &str = "appointment.notes";

const MINUTE: i64 = 60_000_000;
const DAY: i64 = 24 * 60 * MINUTE;
/// No appointment lasts longer (the overlap checks rely on it).
pub(crate) const MAX_SPAN: i64 = 12 * 60 * MINUTE;

#[derive(Clone, Debug, PartialEq)]
pub struct Appointment {
    pub id: AppointmentId,
    pub location_id: LocationId,
    pub operatory_id: OperatoryId,
    pub patient_id: PatientId,
    pub provider_id: UserId,
    pub secondary_id: Option<UserId>,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub pattern: Pattern,
    pub status: AppointmentStatus,
    pub confirmation: Confirmation,
    pub reminders_sent: i64,
    pub notes: String,
    pub cancel_reason: String,
    pub override_reason: String,
    pub confirmed_at: Option<Timestamp>,
    pub arrived_at: Option<Timestamp>,
    pub seated_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub no_show_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub rescheduled_from: Option<AppointmentId>,
    pub rescheduled_to: Option<AppointmentId>,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Appointment {
    pub fn minutes(&self) -> i64 {
        (self.end.as_microsecond() - self.start.as_microsecond()) / MINUTE
    }

    /// Not arrived `late_after` minutes after its start (and still expected).
    pub fn is_late(&self, now: Timestamp, late_after_minutes: i64) -> bool {
        matches!(
            self.status,
            AppointmentStatus::Scheduled | AppointmentStatus::Confirmed
        ) && now.as_microsecond() > self.start.as_microsecond() + late_after_minutes * MINUTE
    }
}

/// An appointment with what the agenda shows of its patient and type.
#[derive(Clone, Debug, PartialEq)]
pub struct AgendaItem {
    pub appointment: Appointment,
    /// `None` when the patient is restricted to a location the viewer may not see: the time
    /// shows as taken, without a name.
    pub patient: Option<AgendaPatient>,
    pub type_name: Option<String>,
    pub type_colour: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaPatient {
    pub id: PatientId,
    pub name: String,
    pub chart_number: i64,
    pub birth_date: Date,
    pub phone: Option<String>,
}

/// A booking request.
#[derive(Clone, Debug, Default)]
pub struct NewAppointment {
    pub location_id: Option<LocationId>,
    pub operatory_id: Option<OperatoryId>,
    pub patient_id: Option<PatientId>,
    pub provider_id: Option<UserId>,
    pub secondary_id: Option<UserId>,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub start: Option<Timestamp>,
    /// The length; without it the type's pattern decides.
    pub duration_minutes: Option<i64>,
    /// `X` and `/`; overrides the type's pattern (its length too).
    pub pattern: Option<String>,
    pub notes: String,
    /// Given when the booking is knowingly outside the provider's hours, into a blockout or in
    /// the past (and the user may override).
    pub override_reason: Option<String>,
}

/// A change to an open appointment: every field is optional.
#[derive(Clone, Debug, Default)]
pub struct AppointmentChange {
    pub start: Option<Timestamp>,
    pub operatory_id: Option<OperatoryId>,
    pub provider_id: Option<UserId>,
    /// `Some(None)` removes the second provider.
    pub secondary_id: Option<Option<UserId>>,
    pub duration_minutes: Option<i64>,
    pub appointment_type_id: Option<Option<AppointmentTypeId>>,
    pub notes: Option<String>,
    pub confirmation: Option<Confirmation>,
    /// Refuses the change if the appointment changed since (optimistic concurrency).
    pub expected_version: Option<i64>,
    pub override_reason: Option<String>,
}

/// What may be overridden by this user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permits {
    /// The user holds `schedule.override`.
    pub may_override: bool,
}

fn status_of(s: &str) -> DbResult<AppointmentStatus> {
    AppointmentStatus::parse(s).ok_or_else(|| DbError::Corrupt(format!("status {s:?}")))
}

const COLUMNS: &str = "a.id, a.location_id, a.operatory_id, a.patient_id, a.provider_id, a.secondary_id, \
     a.appointment_type_id, a.start_at, a.end_at, a.pattern, a.unit_minutes, a.status, a.confirmation, \
     a.reminders_sent, a.notes_enc, a.cancel_reason, a.override_reason, a.confirmed_at, a.arrived_at, \
     a.seated_at, a.completed_at, a.no_show_at, a.cancelled_at, a.rescheduled_from, a.rescheduled_to, \
     a.version, a.created_at, a.updated_at";

impl Store {
    async fn appointment_from(
        &self,
        org: domain::OrgId,
        r: &Row,
    ) -> Result<Appointment, WriteError> {
        let notes = match r.opt_string("notes_enc")? {
            Some(enc) => self.decrypt_field(org, NOTES_FIELD, &enc).await?,
            None => String::new(),
        };
        Ok(Appointment {
            id: AppointmentId::from_uuid(r.uuid("id")?),
            location_id: LocationId::from_uuid(r.uuid("location_id")?),
            operatory_id: OperatoryId::from_uuid(r.uuid("operatory_id")?),
            patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
            provider_id: UserId::from_uuid(r.uuid("provider_id")?),
            secondary_id: r.opt_uuid("secondary_id")?.map(UserId::from_uuid),
            appointment_type_id: r
                .opt_uuid("appointment_type_id")?
                .map(AppointmentTypeId::from_uuid),
            start: r.ts("start_at")?,
            end: r.ts("end_at")?,
            pattern: Pattern::parse(&r.string("pattern")?, r.i64("unit_minutes")?)
                .map_err(|e| DbError::Corrupt(e.message))?,
            status: status_of(&r.string("status")?)?,
            confirmation: Confirmation::parse(&r.string("confirmation")?)
                .ok_or_else(|| DbError::Corrupt("confirmation".into()))?,
            reminders_sent: r.i64("reminders_sent")?,
            notes,
            cancel_reason: r.string("cancel_reason")?,
            override_reason: r.string("override_reason")?,
            confirmed_at: r.opt_ts("confirmed_at")?,
            arrived_at: r.opt_ts("arrived_at")?,
            seated_at: r.opt_ts("seated_at")?,
            completed_at: r.opt_ts("completed_at")?,
            no_show_at: r.opt_ts("no_show_at")?,
            cancelled_at: r.opt_ts("cancelled_at")?,
            rescheduled_from: r
                .opt_uuid("rescheduled_from")?
                .map(AppointmentId::from_uuid),
            rescheduled_to: r.opt_uuid("rescheduled_to")?.map(AppointmentId::from_uuid),
            version: r.i64("version")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
        })
    }
}

/// One busy row: (kind, resource, start, end) in microseconds.
type Busy = (&'static str, uuid::Uuid, i64, i64);

/// The busy times an appointment holds: its chair and patient throughout, its provider in the
/// pattern's `X` units, its second provider throughout.
fn busy_of(
    operatory: OperatoryId,
    patient: PatientId,
    provider: UserId,
    secondary: Option<UserId>,
    start: i64,
    pattern: &Pattern,
) -> Vec<Busy> {
    let end = start + pattern.minutes() * MINUTE;
    let mut v: Vec<Busy> = vec![
        ("chair", operatory.as_uuid(), start, end),
        ("patient", patient.as_uuid(), start, end),
    ];
    for (s, e) in pattern.provider_spans(start) {
        v.push(("person", provider.as_uuid(), s, e));
    }
    if let Some(s) = secondary {
        v.push(("person", s.as_uuid(), start, end));
    }
    v
}

/// PostgreSQL checks an exclusion constraint after inserting the row, so two bookings that
/// each insert a busy row overlapping the other's may wait on each other; it breaks the
/// deadlock by aborting one. That one runs again: it then meets the other's committed rows as
/// a plain conflict naming the appointment in the way (or books, if the other gave up).
pub(crate) async fn deadlock_retry<T, F, Fut>(mut f: F) -> Result<T, WriteError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, WriteError>>,
{
    let mut tries = 0;
    loop {
        match f().await {
            Err(WriteError::Db(e)) if tries < 5 && is_deadlock(&e) => tries += 1,
            r => return r,
        }
    }
}

fn is_deadlock(e: &DbError) -> bool {
    matches!(e, DbError::Sqlx(sqlx::Error::Database(d)) if d.code().is_some_and(|c| c == "40P01"))
}

/// The overlap the database refused (PostgreSQL's exclusion constraint, SQLite's trigger).
pub(crate) fn is_overlap(e: &DbError) -> bool {
    match e {
        DbError::Sqlx(sqlx::Error::Database(d)) => {
            d.code().is_some_and(|c| c == "23P01")
                || d.message().contains("appointment_busy_no_overlap")
        }
        _ => false,
    }
}

/// A booking's parts as asked for (from a request, or an appointment and its change).
#[derive(Clone, Copy, Default)]
struct Parts<'a> {
    location: Option<LocationId>,
    operatory: Option<OperatoryId>,
    patient: Option<PatientId>,
    provider: Option<UserId>,
    secondary: Option<UserId>,
    type_id: Option<AppointmentTypeId>,
    start: Option<Timestamp>,
    duration: Option<i64>,
    pattern: Option<&'a str>,
    /// The pattern to keep (or resize) when neither a type nor a pattern says otherwise.
    old_pattern: Option<&'a Pattern>,
}

impl<'a> Parts<'a> {
    fn of(new: &'a NewAppointment) -> Parts<'a> {
        Parts {
            location: new.location_id,
            operatory: new.operatory_id,
            patient: new.patient_id,
            provider: new.provider_id,
            secondary: new.secondary_id,
            type_id: new.appointment_type_id,
            start: new.start,
            duration: new.duration_minutes,
            pattern: new.pattern.as_deref(),
            old_pattern: None,
        }
    }
}

/// Everything a booking needs to know, checked: the resolved resources and the pattern.
struct Checked {
    location: domain::Location,
    operatory: OperatoryId,
    patient: PatientId,
    provider: UserId,
    provider_name: String,
    secondary: Option<UserId>,
    type_id: Option<AppointmentTypeId>,
    start: i64,
    pattern: Pattern,
}

impl Store {
    /// Resolves and checks a booking's parts. Every unknown part (or one of another
    /// organization or clinic) is a field error; nothing is written.
    async fn check_parts(&self, scope: &Scope, parts: Parts<'_>) -> Result<Checked, WriteError> {
        let Parts {
            location,
            operatory,
            patient,
            provider,
            secondary,
            type_id,
            start,
            duration,
            pattern,
            old_pattern,
        } = parts;
        let mut errors: Vec<FieldError> = Vec::new();
        let mut err = |f: &str, m: String| {
            errors.push(FieldError {
                field: f.into(),
                message: m,
            })
        };
        let loc = match location {
            Some(l) => self.location(scope, l).await?,
            None => None,
        };
        if loc.is_none() {
            err("location_id", "no such location".into());
        }
        let op = match operatory {
            Some(o) => self.operatory(scope, o).await?,
            None => None,
        };
        match (&op, &loc) {
            (Some(o), Some(l)) if o.location_id == l.id && o.active => {}
            (Some(o), Some(_)) if !o.active => {
                err("operatory_id", "this chair is not in use".into())
            }
            _ => err("operatory_id", "no such chair at this location".into()),
        }
        let providers = match &loc {
            Some(l) => self.agenda_providers(scope, l.id).await?,
            None => Vec::new(),
        };
        let prov = provider.and_then(|p| providers.iter().find(|x| x.id == p));
        if prov.is_none() {
            err("provider_id", "no such provider at this location".into());
        }
        if let Some(s) = secondary {
            if Some(s) == provider {
                err(
                    "secondary_id",
                    "the second provider must be someone else".into(),
                );
            } else if !providers.iter().any(|x| x.id == s) {
                err("secondary_id", "no such provider at this location".into());
            }
        }
        let ty = match type_id {
            Some(t) => {
                let found = self.appointment_type(scope, t).await?;
                if found.as_ref().is_none_or(|t| !t.active) {
                    err("appointment_type_id", "no such appointment type".into());
                }
                found
            }
            None => None,
        };
        let unit = self.scheduling_settings(scope.org()).await?.unit_minutes;
        let pattern = match (pattern, &ty, duration, old_pattern) {
            (Some(p), _, _, _) if !p.trim().is_empty() => {
                Pattern::parse(p, ty.as_ref().map_or(unit, |t| t.pattern.unit_minutes()))
            }
            (_, Some(t), Some(d), _) => t.pattern.resized(d),
            (_, Some(t), None, _) => Ok(t.pattern.clone()),
            (_, None, Some(d), Some(old)) => old.resized(d),
            (_, None, None, Some(old)) => Ok(old.clone()),
            (_, None, Some(d), None) => Pattern::provider_throughout(d, unit),
            (_, None, None, None) => Err(DomainError::field(
                "duration_minutes",
                "give a length or an appointment type",
            )),
        };
        let pattern = match pattern {
            Ok(p) => Some(p),
            Err(e) => {
                for f in e.fields {
                    err(
                        if f.field == "pattern" {
                            "pattern"
                        } else {
                            "duration_minutes"
                        },
                        f.message,
                    );
                }
                None
            }
        };
        if start.is_none() {
            err(
                "start",
                "give the start as a date and time with its offset".into(),
            );
        }
        // The patient must be one the scope may see, and not merged away or deceased.
        let mut patient_ok = None;
        match patient {
            None => err("patient_id", "choose a patient".into()),
            Some(p) => {
                let row = self
                    .db
                    .fetch_optional(
                        Q::new(
                            "SELECT id, location_id, restricted, status FROM patients WHERE id = $1 AND org_id = $2",
                        )
                        .bind(p)
                        .bind(scope.org()),
                    )
                    .await?;
                match row {
                    Some(r)
                        if visible(
                            scope,
                            LocationId::from_uuid(r.uuid("location_id")?),
                            r.bool("restricted")?,
                        ) =>
                    {
                        match r.string("status")?.as_str() {
                            "merged" => err(
                                "patient_id",
                                "this record was merged into another: book the other".into(),
                            ),
                            "deceased" => err("patient_id", "this patient is deceased".into()),
                            _ => patient_ok = Some(p),
                        }
                    }
                    _ => err("patient_id", "no such patient".into()),
                }
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors).into());
        }
        match (loc, operatory, patient_ok, prov, pattern, start) {
            (
                Some(location),
                Some(operatory),
                Some(patient),
                Some(p),
                Some(pattern),
                Some(start),
            ) => Ok(Checked {
                location,
                operatory,
                patient,
                provider: p.id,
                provider_name: p.name.clone(),
                secondary,
                type_id,
                start: start.as_microsecond(),
                pattern,
            }),
            _ => Err(invalid("start", "incomplete booking")),
        }
    }

    /// What needs an override: outside the provider's hours, into a blockout that does not
    /// take this type, or in the past. Each is a sentence for the front desk.
    async fn warnings(&self, scope: &Scope, c: &Checked) -> Result<Vec<String>, WriteError> {
        let tz = c.location.tz()?;
        let start = c.start;
        let end = start + c.pattern.minutes() * MINUTE;
        let local = |us: i64| {
            Timestamp::from_microsecond(us)
                .map(|t| t.to_zoned(tz.clone()).strftime("%H:%M").to_string())
                .unwrap_or_default()
        };
        let first = Timestamp::from_microsecond(start)
            .map_err(|e| DomainError::field("start", e.to_string()))?
            .to_zoned(tz.clone())
            .date();
        let last = Timestamp::from_microsecond(end - 1)
            .map_err(|e| DomainError::field("start", e.to_string()))?
            .to_zoned(tz.clone())
            .date();
        let plans: Vec<DayPlan> = self
            .day_plans(scope, &c.location, &[c.provider], first, last)
            .await?;
        let mut working = IntervalSet::new();
        let mut out = Vec::new();
        for plan in &plans {
            for (_, w) in &plan.working {
                for &(s, e) in w.spans() {
                    working.add(s, e);
                }
            }
            if let Some(h) = &plan.holiday {
                out.push(format!("{} is a holiday ({h})", plan.date));
            }
            for b in &plan.blockouts {
                let on_chair = b.operatory.is_none_or(|o| o == c.operatory);
                let allowed = c.type_id.is_some_and(|t| b.allowed_types.contains(&t));
                if on_chair && b.start < end && b.end > start && !allowed {
                    out.push(format!(
                        "it is inside the blockout \u{201c}{}\u{201d} ({}\u{2013}{})",
                        b.label,
                        local(b.start),
                        local(b.end)
                    ));
                }
            }
        }
        if !working.contains(start, end) {
            let hours: Vec<String> = working
                .spans()
                .iter()
                .map(|&(s, e)| format!("{}\u{2013}{}", local(s), local(e)))
                .collect();
            out.push(if hours.is_empty() {
                format!(
                    "{} does not work at {} that day",
                    c.provider_name, c.location.name
                )
            } else {
                format!(
                    "it is outside {}'s hours that day ({})",
                    c.provider_name,
                    hours.join(", ")
                )
            });
        }
        if start < self.now().as_microsecond() - 5 * MINUTE {
            out.push("it starts in the past".into());
        }
        Ok(out)
    }

    /// Refuses the booking unless there is nothing to override, or the user may override and
    /// gave a reason. Returns the reason kept with the appointment.
    fn settle_override(
        warnings: &[String],
        permits: Permits,
        reason: Option<&str>,
    ) -> Result<String, WriteError> {
        if warnings.is_empty() {
            return Ok(String::new());
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let what = warnings.join("; ");
        match (permits.may_override, reason) {
            (true, Some(r)) => Ok(format!("{what} \u{2014} {r}")),
            (true, None) => Err(DomainError::field(
                "override_reason",
                format!("{what}: give a reason to book it anyway"),
            )
            .into()),
            (false, _) => Err(DomainError::field(
                "override_reason",
                format!("{what}: only someone allowed to override the schedule can book this"),
            )
            .into()),
        }
    }
}

impl Txn {
    /// On PostgreSQL, waits for the other transactions booking any of these resources on the
    /// same days: a lock per resource and UTC day, taken in one order by everyone, so bookings
    /// that could clash run one after the other and never deadlock (two transactions inserting
    /// overlapping rows under the exclusion constraint would each wait on the other until
    /// PostgreSQL aborted one after a second). The check that follows then sees the other's
    /// committed rows and names them. SQLite transactions already run one at a time.
    async fn lock_resources(&mut self, rows: &[Busy]) -> DbResult<()> {
        if self.backend() != crate::Backend::Postgres {
            return Ok(());
        }
        let mut keys: Vec<i64> = Vec::new();
        for &(_, resource, s, e) in rows {
            let id = resource.as_u128();
            let folded = ((id >> 64) as u64 ^ id as u64) as i64;
            for day in s.div_euclid(DAY)..=(e - 1).max(s).div_euclid(DAY) {
                keys.push(folded ^ day.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            self.execute(Q::fork("SELECT $1 AS k", "SELECT pg_advisory_xact_lock($1)").bind(k))
                .await?;
        }
        Ok(())
    }

    /// The first busy row in the way of `rows`, with its appointment and what it is (after
    /// waiting for any transaction booking the same resources: `lock_resources`).
    async fn first_conflict(
        &mut self,
        rows: &[Busy],
        except: Option<AppointmentId>,
    ) -> DbResult<Option<(AppointmentId, &'static str, i64, i64)>> {
        self.lock_resources(rows).await?;
        for &(kind, resource, s, e) in rows {
            let hit = self
                .fetch_optional(
                    Q::new(
                        "SELECT appointment_id, start_at, end_at FROM appointment_busy WHERE resource_id = $1 \
                         AND start_at < $2 AND end_at > $3 AND start_at > $4 AND appointment_id <> $5 \
                         ORDER BY start_at LIMIT 1",
                    )
                    .bind(resource)
                    .bind(e)
                    .bind(s)
                    .bind(s - MAX_SPAN)
                    .bind(except.map(|a| a.as_uuid()).unwrap_or_default()),
                )
                .await?;
            if let Some(r) = hit {
                return Ok(Some((
                    AppointmentId::from_uuid(r.uuid("appointment_id")?),
                    kind,
                    r.i64("start_at")?,
                    r.i64("end_at")?,
                )));
            }
        }
        Ok(None)
    }

    async fn insert_busy(
        &mut self,
        org: domain::OrgId,
        appt: AppointmentId,
        rows: &[Busy],
    ) -> DbResult<()> {
        // Every caller checks `first_conflict` for the same rows first, which took the locks.
        for &(kind, resource, s, e) in rows {
            self.execute(
                Q::new(
                    "INSERT INTO appointment_busy (appointment_id, org_id, kind, resource_id, start_at, end_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(appt)
                .bind(org)
                .bind(kind)
                .bind(resource)
                .bind(s)
                .bind(e),
            )
            .await?;
        }
        Ok(())
    }

    async fn clear_busy(&mut self, appt: AppointmentId) -> DbResult<()> {
        self.execute(Q::new("DELETE FROM appointment_busy WHERE appointment_id = $1").bind(appt))
            .await?;
        Ok(())
    }

    async fn history(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        appt: AppointmentId,
        change: &str,
        details: serde_json::Value,
    ) -> DbResult<()> {
        self.execute(
            Q::new(
                "INSERT INTO appointment_history (id, org_id, appointment_id, n, at, actor_id, actor, change, details) \
                 VALUES ($1, $2, $3, (SELECT COALESCE(MAX(n), 0) + 1 FROM appointment_history WHERE appointment_id = $3), \
                 $4, $5, $6, $7, $8)",
            )
            .bind(store.new_uuid())
            .bind(scope.org())
            .bind(appt)
            .bind(store.now())
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(change)
            .bind(details.to_string()),
        )
        .await?;
        Ok(())
    }
}

/// A checked booking, ready to be written in a transaction.
pub(crate) struct Booking {
    pub(crate) id: AppointmentId,
    c: Checked,
    override_reason: String,
    notes_enc: Option<String>,
    tz: jiff::tz::TimeZone,
    busy: Vec<Busy>,
}

impl Txn {
    /// Writes a prepared booking: refused with a 409 naming what is in the way (the
    /// transaction is then to be dropped). Audited, with its history and event.
    pub(crate) async fn insert_booking(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        b: &Booking,
    ) -> Result<Appointment, WriteError> {
        let c = &b.c;
        let id = b.id;
        let now = store.now();
        let end = c.start + c.pattern.minutes() * MINUTE;
        if let Some(hit) = self.first_conflict(&b.busy, None).await? {
            return Err(conflict_error(&b.tz, Some(hit)));
        }
        self.execute(
            Q::new(
                "INSERT INTO appointments (id, org_id, location_id, operatory_id, patient_id, provider_id, secondary_id, \
                 appointment_type_id, start_at, end_at, pattern, unit_minutes, status, confirmation, reminders_sent, \
                 notes_enc, cancel_reason, override_reason, version, created_at, created_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'scheduled', 'unconfirmed', 0, $13, '', $14, 1, $15, $16, $15)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(c.location.id)
            .bind(c.operatory)
            .bind(c.patient)
            .bind(c.provider)
            .bind(c.secondary)
            .bind(c.type_id)
            .bind(c.start)
            .bind(end)
            .bind(c.pattern.as_text())
            .bind(c.pattern.unit_minutes())
            .bind(b.notes_enc.clone())
            .bind(b.override_reason.as_str())
            .bind(now)
            .bind(actor.id),
        )
        .await?;
        match self.insert_busy(scope.org(), id, &b.busy).await {
            Ok(()) => {}
            Err(e) if is_overlap(&e) => {
                return Err(store.conflict_after_race(&b.tz, &b.busy, None).await);
            }
            Err(e) => return Err(e.into()),
        }
        self.history(
            store,
            scope,
            actor,
            id,
            "created",
            json!({ "override": b.override_reason }),
        )
        .await?;
        self.audit(
            store,
            scope.org(),
            actor.entry(
                "appointment.created",
                Some(c.patient),
                &format!("appointment:{id}"),
                json!({ "location_id": c.location.id, "overridden": !b.override_reason.is_empty() }),
            ),
        )
        .await?;
        let appt = self.load_appointment(store, scope, id).await?;
        self.publish(
            store,
            Some(scope.org()),
            "appointment.created",
            event_payload(&appt, &b.tz),
        )
        .await?;
        Ok(appt)
    }
}

/// The conflict error: 409, naming the appointment in the way (field `conflict`, and its id in
/// `conflicting_appointment_id`).
fn conflict_error(
    tz: &jiff::tz::TimeZone,
    hit: Option<(AppointmentId, &'static str, i64, i64)>,
) -> WriteError {
    let Some((id, kind, s, e)) = hit else {
        return WriteError::Invalid(DomainError::new(
            ErrorCode::Conflict,
            "another booking took this time a moment ago: look at the agenda again",
        ));
    };
    let t = |us: i64| {
        Timestamp::from_microsecond(us)
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let what = match kind {
        "chair" => "the chair is taken",
        "patient" => "the patient already has an appointment",
        _ => "the provider is busy",
    };
    let message = format!("{what} from {} to {}", t(s), t(e));
    WriteError::Invalid(
        DomainError::new(ErrorCode::Conflict, message.clone())
            .with_field("conflict", message)
            .with_field("conflicting_appointment_id", id.to_string()),
    )
}

fn event_payload(a: &Appointment, tz: &jiff::tz::TimeZone) -> serde_json::Value {
    json!({
        "id": a.id,
        "location_id": a.location_id,
        "operatory_id": a.operatory_id,
        "provider_id": a.provider_id,
        "patient_id": a.patient_id,
        "start": a.start.to_string(),
        "end": a.end.to_string(),
        "day": a.start.to_zoned(tz.clone()).date().to_string(),
        "status": a.status.as_str(),
        "version": a.version,
    })
}

impl Store {
    /// Books an appointment. Bad or unknown parts are field errors; a clash is a 409 naming
    /// the appointment in the way; outside hours, a blockout or the past need an override.
    pub async fn book_appointment(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        new: &NewAppointment,
    ) -> Result<Appointment, WriteError> {
        deadlock_retry(|| self.book_appointment_once(scope, actor, permits, new)).await
    }

    async fn book_appointment_once(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        new: &NewAppointment,
    ) -> Result<Appointment, WriteError> {
        let booking = self.prepare_booking(scope, permits, new).await?;
        let mut tx = self.begin().await?;
        let appt = tx.insert_booking(self, scope, actor, &booking).await?;
        match tx.commit().await {
            Ok(()) => Ok(appt),
            Err(e) if is_overlap(&e) => Err(self
                .conflict_after_race(&booking.tz, &booking.busy, None)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks a booking request and settles its override, before any transaction: what
    /// [`Txn::insert_booking`] writes.
    pub(crate) async fn prepare_booking(
        &self,
        scope: &Scope,
        permits: Permits,
        new: &NewAppointment,
    ) -> Result<Booking, WriteError> {
        let c = self.check_parts(scope, Parts::of(new)).await?;
        let warnings = self.warnings(scope, &c).await?;
        let override_reason =
            Self::settle_override(&warnings, permits, new.override_reason.as_deref())?;
        let notes = new.notes.trim();
        let notes_enc = if notes.is_empty() {
            None
        } else {
            Some(
                self.field_cipher(scope.org())
                    .await?
                    .encrypt(NOTES_FIELD, notes),
            )
        };
        let tz = c.location.tz()?;
        let busy = busy_of(
            c.operatory,
            c.patient,
            c.provider,
            c.secondary,
            c.start,
            &c.pattern,
        );
        Ok(Booking {
            id: AppointmentId::from_uuid(self.new_uuid()),
            c,
            override_reason,
            notes_enc,
            tz,
            busy,
        })
    }

    /// After the database refused an overlap another transaction won: finds what is now in
    /// the way, in a fresh read.
    pub(crate) async fn conflict_after_race_of(&self, b: &Booking) -> WriteError {
        self.conflict_after_race(&b.tz, &b.busy, None).await
    }

    /// After the database refused an overlap another transaction won: finds what is now in
    /// the way, in a fresh read.
    async fn conflict_after_race(
        &self,
        tz: &jiff::tz::TimeZone,
        busy: &[Busy],
        except: Option<AppointmentId>,
    ) -> WriteError {
        let hit = match self.begin().await {
            Ok(mut tx) => tx.first_conflict(busy, except).await.ok().flatten(),
            Err(_) => None,
        };
        conflict_error(tz, hit)
    }

    /// An appointment, audited as read (its patient's record is in it).
    pub async fn appointment(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: AppointmentId,
    ) -> Result<Appointment, WriteError> {
        let mut tx = self.begin().await?;
        let a = tx.load_appointment(self, scope, id).await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "appointment.read",
                Some(a.patient_id),
                &format!("appointment:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Moves, resizes or edits an open appointment; the whole change is checked like a
    /// booking (its own old times aside).
    pub async fn change_appointment(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        id: AppointmentId,
        ch: &AppointmentChange,
    ) -> Result<Appointment, WriteError> {
        deadlock_retry(|| self.change_appointment_once(scope, actor, permits, id, ch)).await
    }

    async fn change_appointment_once(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        id: AppointmentId,
        ch: &AppointmentChange,
    ) -> Result<Appointment, WriteError> {
        let old = self.peek_appointment(scope, id).await?;
        if let Some(v) = ch.expected_version
            && v != old.version
        {
            return Err(WriteError::Invalid(
                DomainError::new(
                    ErrorCode::Conflict,
                    "someone changed this appointment meanwhile: look at it again",
                )
                .with_field("version", format!("it is now at version {}", old.version)),
            ));
        }
        let moves = ch.start.is_some()
            || ch.operatory_id.is_some()
            || ch.provider_id.is_some()
            || ch.secondary_id.is_some()
            || ch.duration_minutes.is_some()
            || ch.appointment_type_id.is_some();
        if moves && !old.status.is_open() {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                format!(
                    "a {} appointment cannot be moved",
                    old.status.as_str().replace('_', " ")
                ),
            )));
        }
        let type_id = ch.appointment_type_id.unwrap_or(old.appointment_type_id);
        // A new type brings its pattern unless a length is given; otherwise the pattern stays.
        let keep_pattern = if ch.appointment_type_id.is_some() {
            None
        } else {
            Some(&old.pattern)
        };
        let c = self
            .check_parts(
                scope,
                Parts {
                    location: Some(old.location_id),
                    operatory: Some(ch.operatory_id.unwrap_or(old.operatory_id)),
                    patient: Some(old.patient_id),
                    provider: Some(ch.provider_id.unwrap_or(old.provider_id)),
                    secondary: ch.secondary_id.unwrap_or(old.secondary_id),
                    type_id,
                    start: Some(ch.start.unwrap_or(old.start)),
                    duration: ch.duration_minutes,
                    pattern: None,
                    old_pattern: keep_pattern,
                },
            )
            .await?;
        let override_reason = if moves {
            let warnings = self.warnings(scope, &c).await?;
            Self::settle_override(&warnings, permits, ch.override_reason.as_deref())?
        } else {
            old.override_reason.clone()
        };
        let tz = c.location.tz()?;
        let busy = busy_of(
            c.operatory,
            c.patient,
            c.provider,
            c.secondary,
            c.start,
            &c.pattern,
        );
        let notes_enc = match &ch.notes {
            Some(n) if n.trim().is_empty() => None,
            Some(n) => Some(
                self.field_cipher(scope.org())
                    .await?
                    .encrypt(NOTES_FIELD, n.trim()),
            ),
            None => None,
        };
        let mut tx = self.begin().await?;
        // The version is checked again under the write lock / row lock.
        let now_version = tx
            .fetch_one(
                Q::fork(
                    "SELECT version FROM appointments WHERE id = $1 AND org_id = $2",
                    "SELECT version FROM appointments WHERE id = $1 AND org_id = $2 FOR UPDATE",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?
            .i64("version")?;
        if now_version != old.version {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "someone changed this appointment meanwhile: look at it again",
            )));
        }
        if moves && old.status.holds_time() {
            if let Some(hit) = tx.first_conflict(&busy, Some(id)).await? {
                return Err(conflict_error(&tz, Some(hit)));
            }
            tx.clear_busy(id).await?;
            match tx.insert_busy(scope.org(), id, &busy).await {
                Ok(()) => {}
                Err(e) if is_overlap(&e) => {
                    drop(tx);
                    return Err(self.conflict_after_race(&tz, &busy, Some(id)).await);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let end = c.start + c.pattern.minutes() * MINUTE;
        let confirmation = ch.confirmation.unwrap_or(old.confirmation);
        tx.execute(
            Q::new(
                "UPDATE appointments SET operatory_id = $1, provider_id = $2, secondary_id = $3, appointment_type_id = $4, \
                 start_at = $5, end_at = $6, pattern = $7, unit_minutes = $8, confirmation = $9, \
                 notes_enc = CASE WHEN $10 THEN $11 ELSE notes_enc END, override_reason = $12, \
                 confirmed_at = CASE WHEN $13 AND confirmed_at IS NULL THEN $14 ELSE confirmed_at END, \
                 version = version + 1, updated_at = $14 WHERE id = $15 AND org_id = $16",
            )
            .bind(c.operatory)
            .bind(c.provider)
            .bind(c.secondary)
            .bind(c.type_id)
            .bind(c.start)
            .bind(end)
            .bind(c.pattern.as_text())
            .bind(c.pattern.unit_minutes())
            .bind(confirmation.as_str())
            .bind(ch.notes.is_some())
            .bind(notes_enc)
            .bind(override_reason.as_str())
            .bind(confirmation == Confirmation::Confirmed)
            .bind(self.now())
            .bind(id)
            .bind(scope.org()),
        )
        .await?;
        let mut changed = Vec::new();
        if c.start != old.start.as_microsecond() {
            changed.push("start");
        }
        if c.operatory != old.operatory_id {
            changed.push("operatory");
        }
        if c.provider != old.provider_id {
            changed.push("provider");
        }
        if c.secondary != old.secondary_id {
            changed.push("secondary");
        }
        if c.pattern != old.pattern {
            changed.push("length");
        }
        if c.type_id != old.appointment_type_id {
            changed.push("type");
        }
        if ch.notes.is_some() {
            changed.push("notes");
        }
        if confirmation != old.confirmation {
            changed.push("confirmation");
        }
        tx.history(
            self,
            scope,
            actor,
            id,
            if changed.contains(&"start") || changed.contains(&"operatory") {
                "moved"
            } else {
                "edited"
            },
            json!({
                "fields": changed,
                "from": { "start": old.start.to_string(), "operatory_id": old.operatory_id, "minutes": old.minutes() },
                "to": { "start": Timestamp::from_microsecond(c.start).map(|t| t.to_string()).unwrap_or_default(), "operatory_id": c.operatory, "minutes": c.pattern.minutes() },
            }),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "appointment.changed",
                Some(old.patient_id),
                &format!("appointment:{id}"),
                json!({ "fields": changed }),
            ),
        )
        .await?;
        let appt = tx.load_appointment(self, scope, id).await?;
        let mut payload = event_payload(&appt, &tz);
        payload["previous_day"] = json!(old.start.to_zoned(tz.clone()).date().to_string());
        tx.publish(self, Some(scope.org()), "appointment.changed", payload)
            .await?;
        match tx.commit().await {
            Ok(()) => Ok(appt),
            Err(e) if is_overlap(&e) => Err(self.conflict_after_race(&tz, &busy, Some(id)).await),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves an appointment along the patient flow (or out of it: no-show, cancelled with a
    /// reason). An appointment that stops holding its time frees it; a no-show booked again
    /// takes it back if it is still free.
    pub async fn set_appointment_status(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: AppointmentId,
        to: AppointmentStatus,
        reason: &str,
        expected_version: Option<i64>,
    ) -> Result<Appointment, WriteError> {
        deadlock_retry(|| {
            self.set_appointment_status_once(scope, actor, id, to, reason, expected_version)
        })
        .await
    }

    async fn set_appointment_status_once(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: AppointmentId,
        to: AppointmentStatus,
        reason: &str,
        expected_version: Option<i64>,
    ) -> Result<Appointment, WriteError> {
        if to == AppointmentStatus::Rescheduled {
            return Err(invalid(
                "status",
                "reschedule by booking the new time (POST …/reschedule)",
            ));
        }
        let reason = reason.trim();
        if to == AppointmentStatus::Cancelled && reason.is_empty() {
            return Err(invalid(
                "cancel_reason",
                "say why the appointment is cancelled",
            ));
        }
        let mut tx = self.begin().await?;
        let old = tx.load_appointment(self, scope, id).await?;
        if let Some(v) = expected_version
            && v != old.version
        {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "someone changed this appointment meanwhile: look at it again",
            )));
        }
        old.status.check_change(to)?;
        let loc = self
            .location(scope, old.location_id)
            .await?
            .ok_or_else(|| DomainError::not_found("appointment"))?;
        let tz = loc.tz()?;
        if old.status.holds_time() && !to.holds_time() {
            tx.clear_busy(id).await?;
        } else if !old.status.holds_time() && to.holds_time() {
            let busy = busy_of(
                old.operatory_id,
                old.patient_id,
                old.provider_id,
                old.secondary_id,
                old.start.as_microsecond(),
                &old.pattern,
            );
            if let Some(hit) = tx.first_conflict(&busy, Some(id)).await? {
                return Err(conflict_error(&tz, Some(hit)));
            }
            if let Err(e) = tx.insert_busy(scope.org(), id, &busy).await {
                return Err(if is_overlap(&e) {
                    drop(tx);
                    self.conflict_after_race(&tz, &busy, Some(id)).await
                } else {
                    e.into()
                });
            }
        }
        let now = self.now();
        let column = match to {
            AppointmentStatus::Confirmed => Some("confirmed_at"),
            AppointmentStatus::Arrived => Some("arrived_at"),
            AppointmentStatus::Seated => Some("seated_at"),
            AppointmentStatus::Completed => Some("completed_at"),
            AppointmentStatus::NoShow => Some("no_show_at"),
            AppointmentStatus::Cancelled => Some("cancelled_at"),
            _ => None,
        };
        // Each step keeps its first time; going back a step leaves the earlier stamps.
        let stamp = match column {
            Some(c) => format!(", {c} = COALESCE({c}, $5)"),
            None => String::new(),
        };
        let confirmation = if to == AppointmentStatus::Confirmed {
            ", confirmation = 'confirmed'"
        } else {
            ""
        };
        tx.execute(
            Q::generated(format!(
                "UPDATE appointments SET status = $1, cancel_reason = CASE WHEN $2 THEN $3 ELSE cancel_reason END, \
                 version = version + 1, updated_at = $5{stamp}{confirmation} WHERE id = $4 AND org_id = $6"
            ))
            .bind(to.as_str())
            .bind(to == AppointmentStatus::Cancelled)
            .bind(reason)
            .bind(id)
            .bind(now)
            .bind(scope.org()),
        )
        .await?;
        tx.history(
            self,
            scope,
            actor,
            id,
            "status",
            json!({ "from": old.status.as_str(), "to": to.as_str(), "reason": reason }),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "appointment.status",
                Some(old.patient_id),
                &format!("appointment:{id}"),
                json!({ "from": old.status.as_str(), "to": to.as_str() }),
            ),
        )
        .await?;
        if to == AppointmentStatus::Completed {
            tx.recall_after_visit(self, scope, &old, &tz).await?;
        }
        let appt = tx.load_appointment(self, scope, id).await?;
        let kind = match to {
            AppointmentStatus::Cancelled => "appointment.cancelled",
            AppointmentStatus::Completed => "appointment.completed",
            _ => "appointment.changed",
        };
        tx.publish(self, Some(scope.org()), kind, event_payload(&appt, &tz))
            .await?;
        tx.commit().await?;
        Ok(appt)
    }

    /// Replaces an appointment by a new one at another time: the old one becomes
    /// `rescheduled` (its time freed) and each points at the other.
    pub async fn reschedule_appointment(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        id: AppointmentId,
        new: &NewAppointment,
    ) -> Result<Appointment, WriteError> {
        deadlock_retry(|| self.reschedule_appointment_once(scope, actor, permits, id, new)).await
    }

    async fn reschedule_appointment_once(
        &self,
        scope: &Scope,
        actor: &Actor,
        permits: Permits,
        id: AppointmentId,
        new: &NewAppointment,
    ) -> Result<Appointment, WriteError> {
        let old = self.peek_appointment(scope, id).await?;
        old.status.check_change(AppointmentStatus::Rescheduled)?;
        let mut booking = new.clone();
        booking.location_id = Some(booking.location_id.unwrap_or(old.location_id));
        booking.operatory_id = Some(booking.operatory_id.unwrap_or(old.operatory_id));
        booking.patient_id = Some(old.patient_id);
        booking.provider_id = Some(booking.provider_id.unwrap_or(old.provider_id));
        if booking.secondary_id.is_none() {
            booking.secondary_id = old.secondary_id;
        }
        if booking.appointment_type_id.is_none() {
            booking.appointment_type_id = old.appointment_type_id;
        }
        if booking.pattern.is_none() && booking.duration_minutes.is_none() {
            booking.pattern = Some(old.pattern.as_text());
        }
        if booking.notes.is_empty() {
            booking.notes = old.notes.clone();
        }
        let c = self.check_parts(scope, Parts::of(&booking)).await?;
        let warnings = self.warnings(scope, &c).await?;
        let override_reason =
            Self::settle_override(&warnings, permits, booking.override_reason.as_deref())?;
        let tz = c.location.tz()?;
        let busy = busy_of(
            c.operatory,
            c.patient,
            c.provider,
            c.secondary,
            c.start,
            &c.pattern,
        );
        let new_id = AppointmentId::from_uuid(self.new_uuid());
        let notes_enc = if booking.notes.trim().is_empty() {
            None
        } else {
            Some(
                self.field_cipher(scope.org())
                    .await?
                    .encrypt(NOTES_FIELD, booking.notes.trim()),
            )
        };
        let now = self.now();
        let mut tx = self.begin().await?;
        let status = tx
            .fetch_one(
                Q::fork(
                    "SELECT status FROM appointments WHERE id = $1 AND org_id = $2",
                    "SELECT status FROM appointments WHERE id = $1 AND org_id = $2 FOR UPDATE",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?
            .string("status")?;
        status_of(&status)?.check_change(AppointmentStatus::Rescheduled)?;
        // The old time is freed first: the new time may overlap it (pushed by 15 minutes).
        tx.clear_busy(id).await?;
        if let Some(hit) = tx.first_conflict(&busy, None).await? {
            return Err(conflict_error(&tz, Some(hit)));
        }
        tx.execute(
            Q::new(
                "INSERT INTO appointments (id, org_id, location_id, operatory_id, patient_id, provider_id, secondary_id, \
                 appointment_type_id, start_at, end_at, pattern, unit_minutes, status, confirmation, reminders_sent, \
                 notes_enc, cancel_reason, override_reason, rescheduled_from, version, created_at, created_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'scheduled', 'unconfirmed', 0, $13, '', $14, $15, 1, $16, $17, $16)",
            )
            .bind(new_id)
            .bind(scope.org())
            .bind(c.location.id)
            .bind(c.operatory)
            .bind(c.patient)
            .bind(c.provider)
            .bind(c.secondary)
            .bind(c.type_id)
            .bind(c.start)
            .bind(c.start + c.pattern.minutes() * MINUTE)
            .bind(c.pattern.as_text())
            .bind(c.pattern.unit_minutes())
            .bind(notes_enc)
            .bind(override_reason.as_str())
            .bind(id)
            .bind(now)
            .bind(actor.id),
        )
        .await?;
        if let Err(e) = tx.insert_busy(scope.org(), new_id, &busy).await {
            return Err(if is_overlap(&e) {
                drop(tx);
                self.conflict_after_race(&tz, &busy, None).await
            } else {
                e.into()
            });
        }
        tx.execute(
            Q::new(
                "UPDATE appointments SET status = 'rescheduled', rescheduled_to = $1, version = version + 1, updated_at = $2 \
                 WHERE id = $3 AND org_id = $4",
            )
            .bind(new_id)
            .bind(now)
            .bind(id)
            .bind(scope.org()),
        )
        .await?;
        tx.history(
            self,
            scope,
            actor,
            id,
            "rescheduled",
            json!({ "to": new_id }),
        )
        .await?;
        tx.history(
            self,
            scope,
            actor,
            new_id,
            "created",
            json!({ "rescheduled_from": id }),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "appointment.rescheduled",
                Some(old.patient_id),
                &format!("appointment:{id}"),
                json!({ "to": new_id }),
            ),
        )
        .await?;
        let old_now = tx.load_appointment(self, scope, id).await?;
        let appt = tx.load_appointment(self, scope, new_id).await?;
        tx.publish(
            self,
            Some(scope.org()),
            "appointment.cancelled",
            event_payload(&old_now, &tz),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "appointment.created",
            event_payload(&appt, &tz),
        )
        .await?;
        tx.commit().await?;
        Ok(appt)
    }

    /// The appointments of a location overlapping `[from, to)`, with their patients, in start
    /// order; one audit event names the patients shown.
    pub async fn agenda(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<AgendaItem>, WriteError> {
        if self.location(scope, location).await?.is_none() {
            return Err(DomainError::not_found("location").into());
        }
        let mut tx = self.begin().await?;
        let rows = tx
            .fetch_all(
                Q::generated(format!(
                    "SELECT {COLUMNS}, p.given_name, p.family_name, p.preferred_name, p.chart_number, p.birth_date, \
                     p.location_id AS p_location, p.restricted, t.name AS type_name, t.colour AS type_colour, \
                     (SELECT number FROM patient_phones ph WHERE ph.patient_id = a.patient_id ORDER BY position LIMIT 1) AS phone \
                     FROM appointments a JOIN patients p ON p.id = a.patient_id \
                     LEFT JOIN appointment_types t ON t.id = a.appointment_type_id \
                     WHERE a.org_id = $1 AND a.location_id = $2 AND a.start_at >= $3 AND a.start_at < $4 AND a.end_at > $5 \
                     ORDER BY a.start_at, a.id"
                ))
                .bind(scope.org())
                .bind(location)
                .bind(from.as_microsecond() - MAX_SPAN)
                .bind(to)
                .bind(from),
            )
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut shown = Vec::new();
        for r in &rows {
            let appointment = self.appointment_from(scope.org(), r).await?;
            let seen = visible(
                scope,
                LocationId::from_uuid(r.uuid("p_location")?),
                r.bool("restricted")?,
            );
            let patient = if seen {
                shown.push(appointment.patient_id);
                Some(AgendaPatient {
                    id: appointment.patient_id,
                    name: domain::patients::display_name(
                        &r.string("given_name")?,
                        &r.string("family_name")?,
                        &r.string("preferred_name")?,
                    ),
                    chart_number: r.i64("chart_number")?,
                    birth_date: super::parse_day(&r.string("birth_date")?)?,
                    phone: r.opt_string("phone")?,
                })
            } else {
                None
            };
            let appointment = if seen {
                appointment
            } else {
                Appointment {
                    notes: String::new(),
                    ..appointment
                }
            };
            items.push(AgendaItem {
                appointment,
                patient,
                type_name: r.opt_string("type_name")?,
                type_colour: r.opt_string("type_colour")?,
            });
        }
        shown.sort();
        shown.dedup();
        if !shown.is_empty() {
            tx.audit(
                self,
                scope.org(),
                actor.entry(
                    "appointment.list",
                    None,
                    &format!("location:{location}"),
                    json!({ "patients": shown, "from": from.to_string(), "to": to.to_string() }),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(items)
    }

    /// A patient's appointments (for the record's panel), newest first; audited.
    pub async fn patient_appointments(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        limit: i64,
    ) -> Result<Vec<AgendaItem>, WriteError> {
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let rows = tx
            .fetch_all(
                Q::generated(format!(
                    "SELECT {COLUMNS}, t.name AS type_name, t.colour AS type_colour FROM appointments a \
                     LEFT JOIN appointment_types t ON t.id = a.appointment_type_id \
                     WHERE a.patient_id = $1 AND a.org_id = $2 ORDER BY a.start_at DESC LIMIT $3"
                ))
                .bind(patient)
                .bind(scope.org())
                .bind(limit),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(AgendaItem {
                appointment: self.appointment_from(scope.org(), r).await?,
                patient: None,
                type_name: r.opt_string("type_name")?,
                type_colour: r.opt_string("type_colour")?,
            });
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "appointment.list",
                Some(patient),
                &format!("patient:{patient}"),
                json!({ "appointments": out.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Who changed an appointment, when and how (oldest first).
    pub async fn appointment_history(
        &self,
        scope: &Scope,
        id: AppointmentId,
    ) -> DbResult<Vec<(Timestamp, String, String, serde_json::Value)>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT at, actor, change, details FROM appointment_history WHERE appointment_id = $1 AND org_id = $2 \
                     ORDER BY n",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.ts("at")?,
                    r.string("actor")?,
                    r.string("change")?,
                    r.json("details")?,
                ))
            })
            .collect()
    }
}

fn load_q(scope: &Scope, id: AppointmentId) -> Q {
    Q::generated(format!(
        "SELECT {COLUMNS}, p.location_id AS p_location, p.restricted FROM appointments a \
         JOIN patients p ON p.id = a.patient_id WHERE a.id = $1 AND a.org_id = $2"
    ))
    .bind(id)
    .bind(scope.org())
}

impl Store {
    /// An appointment the scope may see (of its organization, at a location it may see, for
    /// a patient it may see), from the row `load_q` read.
    async fn loaded(&self, scope: &Scope, r: Option<Row>) -> Result<Appointment, WriteError> {
        let r = r.ok_or_else(|| DomainError::not_found("appointment"))?;
        let at = LocationId::from_uuid(r.uuid("location_id")?);
        if !scope.allows_location(at)
            || !visible(
                scope,
                LocationId::from_uuid(r.uuid("p_location")?),
                r.bool("restricted")?,
            )
        {
            return Err(DomainError::not_found("appointment").into());
        }
        self.appointment_from(scope.org(), &r).await
    }

    /// An appointment read for checks before a change (not audited: the change is).
    pub(crate) async fn peek_appointment(
        &self,
        scope: &Scope,
        id: AppointmentId,
    ) -> Result<Appointment, WriteError> {
        let r = self.db.fetch_optional(load_q(scope, id)).await?;
        self.loaded(scope, r).await
    }
}

impl Txn {
    /// An appointment the scope may see, read in this transaction.
    pub(crate) async fn load_appointment(
        &mut self,
        store: &Store,
        scope: &Scope,
        id: AppointmentId,
    ) -> Result<Appointment, WriteError> {
        let r = self.fetch_optional(load_q(scope, id)).await?;
        store.loaded(scope, r).await
    }

    /// A merge moved appointments to the survivor: their patient busy times follow. An
    /// appointment of each record at the same time refuses the merge (409).
    pub(crate) async fn move_patient_busy(
        &mut self,
        from: PatientId,
        to: PatientId,
        appointments: &[uuid::Uuid],
    ) -> Result<(), WriteError> {
        for a in appointments {
            let rows = self
                .fetch_all(
                    Q::new(
                        "SELECT org_id, start_at, end_at FROM appointment_busy WHERE appointment_id = $1 AND kind = 'patient' \
                         AND resource_id = $2",
                    )
                    .bind(*a)
                    .bind(from),
                )
                .await?;
            self.execute(
                Q::new("DELETE FROM appointment_busy WHERE appointment_id = $1 AND kind = 'patient' AND resource_id = $2")
                    .bind(*a)
                    .bind(from),
            )
            .await?;
            for r in &rows {
                let res = self
                    .execute(
                        Q::new(
                            "INSERT INTO appointment_busy (appointment_id, org_id, kind, resource_id, start_at, end_at) \
                             VALUES ($1, $2, 'patient', $3, $4, $5)",
                        )
                        .bind(*a)
                        .bind(r.uuid("org_id")?)
                        .bind(to)
                        .bind(r.i64("start_at")?)
                        .bind(r.i64("end_at")?),
                    )
                    .await;
                if let Err(e) = res {
                    return Err(if is_overlap(&e) {
                        DomainError::new(
                            ErrorCode::Conflict,
                            "both records have an appointment at the same time: cancel one of them first",
                        )
                        .into()
                    } else {
                        e.into()
                    });
                }
            }
        }
        Ok(())
    }
}
