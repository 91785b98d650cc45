//! Scheduling's resources: settings, chairs (operatories), appointment types, provider
//! schedules with their exceptions, location holidays and blockouts. Appointments are in
//! [`appointments`], the open-slot search in [`slots`], the ASAP list in [`waitlist`], recall
//! in [`recall`] and iCalendar feeds in [`feeds`].
//!
//! Every function takes a `Scope`; ids of another organization, or of a location the scope may
//! not see, are not found.

pub mod appointments;
pub mod feeds;
pub mod recall;
pub mod slots;
pub mod waitlist;

use std::collections::HashMap;

use domain::scheduling::schedule::DayException;
use domain::scheduling::{
    AppointmentTypeInput, BlockoutRule, IntervalSet, OperatoryInput, Pattern, colour,
};
use domain::{
    AppointmentTypeId, BlockoutId, DomainError, FieldError, LocationId, OpeningHours, OperatoryId,
    OrgId, Scope, UserId,
};
use jiff::civil::{Date, Time};
use serde_json::json;

use crate::Store;
use crate::db::{DbError, DbResult, Q, Row};
use crate::patients::Actor;
use crate::tenancy::WriteError;

/// The `FROM … WHERE` of the active providers of the org (placeholder `org`) who work at a
/// location (placeholder `location`): those limited to it and those not limited to any.
pub(crate) fn providers_at(org: &str, location: &str) -> String {
    format!(
        "FROM users u JOIN provider_profiles p ON p.user_id = u.id \
         WHERE u.org_id = {org} AND u.active = TRUE \
         AND (EXISTS (SELECT 1 FROM user_locations l WHERE l.location_id = {location} AND l.user_id = u.id) \
              OR NOT EXISTS (SELECT 1 FROM user_locations l WHERE l.user_id = u.id))"
    )
}

/// The organization's scheduling settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulingSettings {
    /// Pattern unit and agenda row: 5 or 10 minutes.
    pub unit_minutes: i64,
    /// A patient not arrived this long after the start is shown late.
    pub late_after_minutes: i64,
    /// Recalls due within this many days are listed as due.
    pub recall_window_days: i64,
    /// iCalendar feeds show patients' names (otherwise initials only).
    pub feeds_show_names: bool,
}

impl Default for SchedulingSettings {
    fn default() -> Self {
        SchedulingSettings {
            unit_minutes: 10,
            late_after_minutes: 10,
            recall_window_days: 30,
            feeds_show_names: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operatory {
    pub id: OperatoryId,
    pub location_id: LocationId,
    pub name: String,
    pub short_name: String,
    pub sort_order: i64,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppointmentType {
    pub id: AppointmentTypeId,
    pub name: String,
    pub colour: String,
    pub pattern: Pattern,
    pub sort_order: i64,
    pub active: bool,
}

/// A provider as the agenda shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaProvider {
    pub id: UserId,
    pub name: String,
    pub colour: String,
    /// Dentist (true) or hygienist.
    pub dentist: bool,
    /// Locations the provider is limited to (empty: all).
    pub locations: Vec<LocationId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blockout {
    pub id: BlockoutId,
    pub location_id: LocationId,
    /// `None`: every chair of the location.
    pub operatory_id: Option<OperatoryId>,
    pub label: String,
    pub colour: String,
    pub allowed_types: Vec<AppointmentTypeId>,
    pub rule: BlockoutRule,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holiday {
    pub day: Date,
    pub name: String,
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, message))
}

fn not_found(what: &str) -> WriteError {
    WriteError::Invalid(DomainError::not_found(what))
}

pub(crate) fn parse_day(s: &str) -> DbResult<Date> {
    s.parse()
        .map_err(|e| DbError::Corrupt(format!("date {s:?}: {e}")))
}

fn parse_time(s: &str) -> DbResult<Time> {
    s.parse()
        .map_err(|e| DbError::Corrupt(format!("time {s:?}: {e}")))
}

fn hhmm(t: Time) -> String {
    t.strftime("%H:%M").to_string()
}

fn operatory_from(r: &Row) -> DbResult<Operatory> {
    Ok(Operatory {
        id: OperatoryId::from_uuid(r.uuid("id")?),
        location_id: LocationId::from_uuid(r.uuid("location_id")?),
        name: r.string("name")?,
        short_name: r.string("short_name")?,
        sort_order: r.i64("sort_order")?,
        active: r.bool("active")?,
    })
}

fn type_from(r: &Row) -> DbResult<AppointmentType> {
    Ok(AppointmentType {
        id: AppointmentTypeId::from_uuid(r.uuid("id")?),
        name: r.string("name")?,
        colour: r.string("colour")?,
        pattern: Pattern::parse(&r.string("pattern")?, r.i64("unit_minutes")?)
            .map_err(|e| DbError::Corrupt(e.message))?,
        sort_order: r.i64("sort_order")?,
        active: r.bool("active")?,
    })
}

fn blockout_from(r: &Row) -> DbResult<Blockout> {
    let opt_day = |c: &str| r.opt_string(c)?.map(|s| parse_day(&s)).transpose();
    Ok(Blockout {
        id: BlockoutId::from_uuid(r.uuid("id")?),
        location_id: LocationId::from_uuid(r.uuid("location_id")?),
        operatory_id: r.opt_uuid("operatory_id")?.map(OperatoryId::from_uuid),
        label: r.string("label")?,
        colour: r.string("colour")?,
        allowed_types: r.json("allowed_types")?,
        rule: BlockoutRule {
            weekday: r.opt_i64("weekday")?.map(|w| i8::try_from(w).unwrap_or(0)),
            day: opt_day("day")?,
            start: parse_time(&r.string("start_time")?)?,
            end: parse_time(&r.string("end_time")?)?,
            valid_from: opt_day("valid_from")?,
            valid_to: opt_day("valid_to")?,
        },
    })
}

impl Store {
    pub async fn scheduling_settings(&self, org: OrgId) -> DbResult<SchedulingSettings> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT unit_minutes, late_after_minutes, recall_window_days, feeds_show_names \
                     FROM scheduling_settings WHERE org_id = $1",
                )
                .bind(org),
            )
            .await?;
        Ok(match row {
            Some(r) => SchedulingSettings {
                unit_minutes: r.i64("unit_minutes")?,
                late_after_minutes: r.i64("late_after_minutes")?,
                recall_window_days: r.i64("recall_window_days")?,
                feeds_show_names: r.bool("feeds_show_names")?,
            },
            None => SchedulingSettings::default(),
        })
    }

    pub async fn set_scheduling_settings(
        &self,
        scope: &Scope,
        actor: &Actor,
        s: &SchedulingSettings,
    ) -> Result<(), WriteError> {
        let mut errors = Vec::new();
        if !domain::scheduling::pattern::UNIT_CHOICES.contains(&s.unit_minutes) {
            errors.push(FieldError {
                field: "unit_minutes".into(),
                message: "5 or 10 minutes".into(),
            });
        }
        if !(0..=120).contains(&s.late_after_minutes) {
            errors.push(FieldError {
                field: "late_after_minutes".into(),
                message: "between 0 and 120 minutes".into(),
            });
        }
        if !(1..=365).contains(&s.recall_window_days) {
            errors.push(FieldError {
                field: "recall_window_days".into(),
                message: "between 1 and 365 days".into(),
            });
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors).into());
        }
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO scheduling_settings (org_id, unit_minutes, late_after_minutes, recall_window_days, feeds_show_names, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id) DO UPDATE SET unit_minutes = $2, \
                 late_after_minutes = $3, recall_window_days = $4, feeds_show_names = $5, updated_at = $6",
            )
            .bind(scope.org())
            .bind(s.unit_minutes)
            .bind(s.late_after_minutes)
            .bind(s.recall_window_days)
            .bind(s.feeds_show_names)
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry("scheduling.settings_changed", None, "scheduling", json!({})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The chairs of a location in their order (inactive ones too when asked).
    pub async fn operatories(
        &self,
        scope: &Scope,
        location: LocationId,
        with_inactive: bool,
    ) -> DbResult<Vec<Operatory>> {
        if !scope.allows_location(location) {
            return Ok(Vec::new());
        }
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, location_id, name, short_name, sort_order, active FROM operatories \
                     WHERE org_id = $1 AND location_id = $2 AND (active = TRUE OR $3) ORDER BY sort_order, name",
                )
                .bind(scope.org())
                .bind(location)
                .bind(with_inactive),
            )
            .await?
            .iter()
            .map(operatory_from)
            .collect()
    }

    pub async fn operatory(&self, scope: &Scope, id: OperatoryId) -> DbResult<Option<Operatory>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id, location_id, name, short_name, sort_order, active FROM operatories \
                     WHERE org_id = $1 AND id = $2",
                )
                .bind(scope.org())
                .bind(id),
            )
            .await?;
        Ok(row
            .as_ref()
            .map(operatory_from)
            .transpose()?
            .filter(|o| scope.allows_location(o.location_id)))
    }

    pub async fn create_operatory(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
        input: &OperatoryInput,
    ) -> Result<Operatory, WriteError> {
        let (name, short) = input.validate()?;
        if self.location(scope, location).await?.is_none() {
            return Err(invalid("location_id", "no such location"));
        }
        let mut tx = self.begin().await?;
        let order = tx
            .fetch_one(
                Q::new(
                    "SELECT COALESCE(MAX(sort_order), 0) + 1 AS n FROM operatories WHERE org_id = $1 AND location_id = $2",
                )
                .bind(scope.org())
                .bind(location),
            )
            .await?
            .i64("n")?;
        let op = Operatory {
            id: OperatoryId::from_uuid(self.new_uuid()),
            location_id: location,
            name,
            short_name: short,
            sort_order: order,
            active: true,
        };
        tx.execute(
            Q::new(
                "INSERT INTO operatories (id, org_id, location_id, name, short_name, sort_order, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $7)",
            )
            .bind(op.id)
            .bind(scope.org())
            .bind(location)
            .bind(op.name.as_str())
            .bind(op.short_name.as_str())
            .bind(order)
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "operatory.created",
                None,
                &format!("operatory:{}", op.id),
                json!({ "location_id": location }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(op)
    }

    /// Renames, reorders, deactivates or reactivates a chair. A chair with appointments to
    /// come cannot be deactivated.
    pub async fn update_operatory(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: OperatoryId,
        input: &OperatoryInput,
        sort_order: i64,
        active: bool,
    ) -> Result<Operatory, WriteError> {
        let Some(old) = self.operatory(scope, id).await? else {
            return Err(not_found("operatory"));
        };
        let (name, short) = input.validate()?;
        let mut tx = self.begin().await?;
        if old.active && !active {
            let ahead = tx
                .fetch_one(
                    Q::new(
                        "SELECT COUNT(*) AS n FROM appointments a WHERE a.operatory_id = $1 AND a.end_at > $2 \
                         AND a.status IN ('scheduled', 'confirmed', 'arrived', 'seated')",
                    )
                    .bind(id)
                    .bind(self.now()),
                )
                .await?
                .i64("n")?;
            if ahead > 0 {
                return Err(invalid(
                    "active",
                    format!(
                        "{ahead} appointments to come are booked in this chair: move them first"
                    ),
                ));
            }
        }
        tx.execute(
            Q::new(
                "UPDATE operatories SET name = $1, short_name = $2, sort_order = $3, active = $4, updated_at = $5 \
                 WHERE id = $6 AND org_id = $7",
            )
            .bind(name.as_str())
            .bind(short.as_str())
            .bind(sort_order)
            .bind(active)
            .bind(self.now())
            .bind(id)
            .bind(scope.org()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "operatory.changed",
                None,
                &format!("operatory:{id}"),
                json!({ "active": active }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Operatory {
            name,
            short_name: short,
            sort_order,
            active,
            ..old
        })
    }

    pub async fn appointment_types(
        &self,
        scope: &Scope,
        with_inactive: bool,
    ) -> DbResult<Vec<AppointmentType>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, name, colour, pattern, unit_minutes, sort_order, active FROM appointment_types \
                     WHERE org_id = $1 AND (active = TRUE OR $2) ORDER BY sort_order, name",
                )
                .bind(scope.org())
                .bind(with_inactive),
            )
            .await?
            .iter()
            .map(type_from)
            .collect()
    }

    pub async fn appointment_type(
        &self,
        scope: &Scope,
        id: AppointmentTypeId,
    ) -> DbResult<Option<AppointmentType>> {
        self.db
            .fetch_optional(
                Q::new(
                    "SELECT id, name, colour, pattern, unit_minutes, sort_order, active FROM appointment_types \
                     WHERE org_id = $1 AND id = $2",
                )
                .bind(scope.org())
                .bind(id),
            )
            .await?
            .as_ref()
            .map(type_from)
            .transpose()
    }

    /// Creates a type, or changes one when `id` is given.
    pub async fn save_appointment_type(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: Option<AppointmentTypeId>,
        input: &AppointmentTypeInput,
        active: bool,
    ) -> Result<AppointmentType, WriteError> {
        if let Some(id) = id
            && self.appointment_type(scope, id).await?.is_none()
        {
            return Err(not_found("appointment type"));
        }
        let (name, colour, pattern) = input.validate()?;
        let mut tx = self.begin().await?;
        let now = self.now();
        let t = match id {
            Some(id) => {
                let old = tx
                    .fetch_optional(
                        Q::new("SELECT sort_order FROM appointment_types WHERE org_id = $1 AND id = $2")
                            .bind(scope.org())
                            .bind(id),
                    )
                    .await?
                    .ok_or_else(|| not_found("appointment type"))?;
                tx.execute(
                    Q::new(
                        "UPDATE appointment_types SET name = $1, colour = $2, pattern = $3, unit_minutes = $4, active = $5, \
                         updated_at = $6 WHERE id = $7 AND org_id = $8",
                    )
                    .bind(name.as_str())
                    .bind(colour.as_str())
                    .bind(pattern.as_text())
                    .bind(pattern.unit_minutes())
                    .bind(active)
                    .bind(now)
                    .bind(id)
                    .bind(scope.org()),
                )
                .await?;
                AppointmentType {
                    id,
                    name,
                    colour,
                    pattern,
                    sort_order: old.i64("sort_order")?,
                    active,
                }
            }
            None => {
                let order = tx
                    .fetch_one(
                        Q::new(
                            "SELECT COALESCE(MAX(sort_order), 0) + 1 AS n FROM appointment_types WHERE org_id = $1",
                        )
                        .bind(scope.org()),
                    )
                    .await?
                    .i64("n")?;
                let t = AppointmentType {
                    id: AppointmentTypeId::from_uuid(self.new_uuid()),
                    name,
                    colour,
                    pattern,
                    sort_order: order,
                    active,
                };
                tx.execute(
                    Q::new(
                        "INSERT INTO appointment_types (id, org_id, name, colour, pattern, unit_minutes, sort_order, active, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                    )
                    .bind(t.id)
                    .bind(scope.org())
                    .bind(t.name.as_str())
                    .bind(t.colour.as_str())
                    .bind(t.pattern.as_text())
                    .bind(t.pattern.unit_minutes())
                    .bind(order)
                    .bind(active)
                    .bind(now),
                )
                .await?;
                t
            }
        };
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                if id.is_some() {
                    "appointment_type.changed"
                } else {
                    "appointment_type.created"
                },
                None,
                &format!("appointment_type:{}", t.id),
                json!({ "name": t.name, "pattern": t.pattern.as_text() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    /// The ids of the providers who work at a location, as `agenda_providers` lists them (one
    /// query, for the slot search).
    pub(crate) async fn provider_ids_at(
        &self,
        scope: &Scope,
        location: LocationId,
    ) -> DbResult<Vec<UserId>> {
        if !scope.allows_location(location) {
            return Ok(Vec::new());
        }
        self.db
            .fetch_all(
                Q::generated(format!(
                    "SELECT u.id {} ORDER BY u.name, u.id",
                    providers_at("$1", "$2")
                ))
                .bind(scope.org())
                .bind(location),
            )
            .await?
            .iter()
            .map(|r| Ok(UserId::from_uuid(r.uuid("id")?)))
            .collect()
    }

    /// The providers (dentists and hygienists with a provider profile, active) who may work at
    /// a location.
    pub async fn agenda_providers(
        &self,
        scope: &Scope,
        location: LocationId,
    ) -> DbResult<Vec<AgendaProvider>> {
        if !scope.allows_location(location) {
            return Ok(Vec::new());
        }
        let (rows, limits) = futures::future::try_join(
            self.db.fetch_all(
                Q::generated(format!(
                    "SELECT u.id, u.name, p.color, \
                     (SELECT COUNT(*) FROM user_roles r WHERE r.user_id = u.id AND r.role = 'dentist') AS dentist \
                     {} ORDER BY u.name, u.id",
                    providers_at("$1", "$2")
                ))
                .bind(scope.org())
                .bind(location),
            ),
            // The other locations of those limited to this one (the agenda's "also works at").
            self.db.fetch_all(
                Q::new(
                    "SELECT l.user_id, l.location_id FROM user_locations l \
                     WHERE l.org_id = $1 AND l.user_id IN (SELECT x.user_id FROM user_locations x WHERE x.location_id = $2)",
                )
                .bind(scope.org())
                .bind(location),
            ),
        )
        .await?;
        let mut by_user: HashMap<uuid::Uuid, Vec<LocationId>> = HashMap::new();
        for l in &limits {
            by_user
                .entry(l.uuid("user_id")?)
                .or_default()
                .push(LocationId::from_uuid(l.uuid("location_id")?));
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = UserId::from_uuid(r.uuid("id")?);
            let locations = by_user.remove(&id.as_uuid()).unwrap_or_default();
            out.push(AgendaProvider {
                id,
                name: r.string("name")?,
                colour: r.string("color")?,
                dentist: r.i64("dentist")? > 0,
                locations,
            });
        }
        Ok(out)
    }

    /// A provider's weekly hours at a location (`None`: never set, the location's opening
    /// hours apply).
    pub async fn provider_schedule(
        &self,
        scope: &Scope,
        provider: UserId,
        location: LocationId,
    ) -> DbResult<Option<OpeningHours>> {
        self.db
            .fetch_optional(
                Q::new(
                    "SELECT hours FROM provider_schedules WHERE org_id = $1 AND provider_id = $2 AND location_id = $3",
                )
                .bind(scope.org())
                .bind(provider)
                .bind(location),
            )
            .await?
            .map(|r| r.json::<OpeningHours>("hours"))
            .transpose()
    }

    pub async fn set_provider_schedule(
        &self,
        scope: &Scope,
        actor: &Actor,
        provider: UserId,
        location: LocationId,
        hours: &OpeningHours,
    ) -> Result<(), WriteError> {
        hours.validate()?;
        if self.location(scope, location).await?.is_none() {
            return Err(invalid("location_id", "no such location"));
        }
        if !self
            .agenda_providers(scope, location)
            .await?
            .iter()
            .any(|p| p.id == provider)
        {
            return Err(invalid("provider_id", "no such provider at this location"));
        }
        let text = serde_json::to_string(hours).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO provider_schedules (provider_id, location_id, org_id, hours, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (provider_id, location_id) DO UPDATE SET hours = $4, updated_at = $5",
            )
            .bind(provider)
            .bind(location)
            .bind(scope.org())
            .bind(text)
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "schedule.changed",
                None,
                &format!("user:{provider}"),
                json!({ "location_id": location, "hours": hours.summary() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Single-day exceptions at a location between two dates (inclusive).
    pub async fn schedule_exceptions(
        &self,
        scope: &Scope,
        location: LocationId,
        from: Date,
        to: Date,
    ) -> DbResult<Vec<(UserId, DayException)>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT provider_id, day, hours, note FROM schedule_exceptions \
                     WHERE org_id = $1 AND location_id = $2 AND day >= $3 AND day <= $4 ORDER BY day",
                )
                .bind(scope.org())
                .bind(location)
                .bind(from.to_string())
                .bind(to.to_string()),
            )
            .await?
            .iter()
            .map(|r| {
                let hours: Vec<(String, String)> = r.json("hours")?;
                Ok((
                    UserId::from_uuid(r.uuid("provider_id")?),
                    DayException {
                        date: parse_day(&r.string("day")?)?,
                        hours: hours
                            .iter()
                            .map(|(a, b)| Ok((parse_time(a)?, parse_time(b)?)))
                            .collect::<DbResult<_>>()?,
                        note: r.string("note")?,
                    },
                ))
            })
            .collect()
    }

    /// Sets (or replaces) a provider's hours on one day: no hours is a day off. `None` removes
    /// the exception (the weekly hours apply again).
    pub async fn set_schedule_exception(
        &self,
        scope: &Scope,
        actor: &Actor,
        provider: UserId,
        location: LocationId,
        date: Date,
        exception: Option<&DayException>,
    ) -> Result<(), WriteError> {
        if let Some(x) = exception {
            x.validate()?;
        }
        if self.location(scope, location).await?.is_none() {
            return Err(invalid("location_id", "no such location"));
        }
        if !self
            .agenda_providers(scope, location)
            .await?
            .iter()
            .any(|p| p.id == provider)
        {
            return Err(invalid("provider_id", "no such provider at this location"));
        }
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "DELETE FROM schedule_exceptions WHERE org_id = $1 AND provider_id = $2 AND location_id = $3 AND day = $4",
            )
            .bind(scope.org())
            .bind(provider)
            .bind(location)
            .bind(date.to_string()),
        )
        .await?;
        if let Some(x) = exception {
            let hours: Vec<(String, String)> =
                x.hours.iter().map(|(a, b)| (hhmm(*a), hhmm(*b))).collect();
            tx.execute(
                Q::new(
                    "INSERT INTO schedule_exceptions (id, org_id, provider_id, location_id, day, hours, note, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(self.new_uuid())
                .bind(scope.org())
                .bind(provider)
                .bind(location)
                .bind(date.to_string())
                .bind(json!(hours).to_string())
                .bind(x.note.trim())
                .bind(self.now()),
            )
            .await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "schedule.exception",
                None,
                &format!("user:{provider}"),
                json!({ "location_id": location, "day": date.to_string(), "removed": exception.is_none() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn holidays(
        &self,
        scope: &Scope,
        location: LocationId,
        from: Date,
        to: Date,
    ) -> DbResult<Vec<Holiday>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT day, name FROM location_holidays WHERE org_id = $1 AND location_id = $2 \
                     AND day >= $3 AND day <= $4 ORDER BY day",
                )
                .bind(scope.org())
                .bind(location)
                .bind(from.to_string())
                .bind(to.to_string()),
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Holiday {
                    day: parse_day(&r.string("day")?)?,
                    name: r.string("name")?,
                })
            })
            .collect()
    }

    /// Adds a holiday (`name` given) or removes one (`None`).
    pub async fn set_holiday(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
        day: Date,
        name: Option<&str>,
    ) -> Result<(), WriteError> {
        if self.location(scope, location).await?.is_none() {
            return Err(invalid("location_id", "no such location"));
        }
        if let Some(n) = name
            && n.trim().is_empty()
        {
            return Err(invalid("name", "must not be empty"));
        }
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "DELETE FROM location_holidays WHERE org_id = $1 AND location_id = $2 AND day = $3",
            )
            .bind(scope.org())
            .bind(location)
            .bind(day.to_string()),
        )
        .await?;
        if let Some(n) = name {
            tx.execute(
                Q::new(
                    "INSERT INTO location_holidays (id, org_id, location_id, day, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(self.new_uuid())
                .bind(scope.org())
                .bind(location)
                .bind(day.to_string())
                .bind(n.trim())
                .bind(self.now()),
            )
            .await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "schedule.holiday",
                None,
                &format!("location:{location}"),
                json!({ "day": day.to_string(), "removed": name.is_none() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn blockouts(&self, scope: &Scope, location: LocationId) -> DbResult<Vec<Blockout>> {
        if !scope.allows_location(location) {
            return Ok(Vec::new());
        }
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, location_id, operatory_id, label, colour, allowed_types, weekday, day, start_time, \
                     end_time, valid_from, valid_to FROM blockouts WHERE org_id = $1 AND location_id = $2 \
                     ORDER BY weekday, day, start_time",
                )
                .bind(scope.org())
                .bind(location),
            )
            .await?
            .iter()
            .map(blockout_from)
            .collect()
    }

    pub async fn add_blockout(
        &self,
        scope: &Scope,
        actor: &Actor,
        b: &Blockout,
    ) -> Result<Blockout, WriteError> {
        b.rule.validate()?;
        let mut errors = Vec::new();
        if b.label.trim().is_empty() {
            errors.push(FieldError {
                field: "label".into(),
                message: "say what the time is for, e.g. Crown seats".into(),
            });
        }
        let colour = colour("colour", &b.colour).map_err(|e| errors.push(e)).ok();
        if !errors.is_empty() {
            return Err(DomainError::validation(errors).into());
        }
        if self.location(scope, b.location_id).await?.is_none() {
            return Err(invalid("location_id", "no such location"));
        }
        if let Some(op) = b.operatory_id
            && self
                .operatory(scope, op)
                .await?
                .is_none_or(|o| o.location_id != b.location_id)
        {
            return Err(invalid("operatory_id", "no such chair at this location"));
        }
        let types = self.appointment_types(scope, true).await?;
        if let Some(bad) = b
            .allowed_types
            .iter()
            .find(|t| !types.iter().any(|x| x.id == **t))
        {
            return Err(invalid(
                "allowed_types",
                format!("no such appointment type {bad}"),
            ));
        }
        let saved = Blockout {
            id: BlockoutId::from_uuid(self.new_uuid()),
            label: b.label.trim().to_string(),
            colour: colour.unwrap_or_default(),
            ..b.clone()
        };
        let r = &saved.rule;
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO blockouts (id, org_id, location_id, operatory_id, label, colour, allowed_types, weekday, day, \
                 start_time, end_time, valid_from, valid_to, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(saved.id)
            .bind(scope.org())
            .bind(saved.location_id)
            .bind(saved.operatory_id)
            .bind(saved.label.as_str())
            .bind(saved.colour.as_str())
            .bind(json!(saved.allowed_types).to_string())
            .bind(r.weekday.map(i64::from))
            .bind(r.day.map(|d| d.to_string()))
            .bind(hhmm(r.start))
            .bind(hhmm(r.end))
            .bind(r.valid_from.map(|d| d.to_string()))
            .bind(r.valid_to.map(|d| d.to_string()))
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "blockout.created",
                None,
                &format!("blockout:{}", saved.id),
                json!({ "location_id": saved.location_id, "label": saved.label }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn remove_blockout(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: BlockoutId,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new("DELETE FROM blockouts WHERE org_id = $1 AND id = $2")
                    .bind(scope.org())
                    .bind(id),
            )
            .await?;
        if n == 0 {
            return Err(not_found("blockout"));
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "blockout.removed",
                None,
                &format!("blockout:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What a location's day holds for booking and the slot search: who works when, the blockouts.
#[derive(Clone, Debug)]
pub struct DayPlan {
    pub date: Date,
    pub day_start: i64,
    pub day_end: i64,
    /// When the location is open (the chairs' hours).
    pub open: IntervalSet,
    pub holiday: Option<String>,
    /// Providers' working hours at this location.
    pub working: Vec<(UserId, IntervalSet)>,
    pub blockouts: Vec<DayBlockout>,
}

/// A blockout on one day.
#[derive(Clone, Debug)]
pub struct DayBlockout {
    /// `None`: every chair.
    pub operatory: Option<OperatoryId>,
    pub start: i64,
    pub end: i64,
    pub allowed_types: Vec<AppointmentTypeId>,
    pub label: String,
    pub colour: String,
}

impl Store {
    /// Plans for the location's days `from..=to`: opening hours, holidays, each provider's
    /// hours (template, exception, holiday; the opening hours when a provider has no schedule
    /// there) and blockouts. Four queries for the whole range, run at once.
    pub async fn day_plans(
        &self,
        scope: &Scope,
        location: &domain::Location,
        providers: &[UserId],
        from: Date,
        to: Date,
    ) -> Result<Vec<DayPlan>, WriteError> {
        self.plan_inputs(scope, location.id, from, to)
            .await?
            .plans(location, providers, from, to)
    }

    /// What `day_plans` reads, for days within `from..=to`.
    pub(crate) async fn plan_inputs(
        &self,
        scope: &Scope,
        location: LocationId,
        from: Date,
        to: Date,
    ) -> Result<PlanInputs, WriteError> {
        let templates = async {
            self.db
                .fetch_all(
                    Q::new("SELECT provider_id, hours FROM provider_schedules WHERE org_id = $1 AND location_id = $2")
                        .bind(scope.org())
                        .bind(location),
                )
                .await
        };
        let (holidays, exceptions, blockouts, rows) = futures::future::try_join4(
            self.holidays(scope, location, from, to),
            self.schedule_exceptions(scope, location, from, to),
            self.blockouts(scope, location),
            templates,
        )
        .await?;
        let mut templates = Vec::with_capacity(rows.len());
        for r in &rows {
            templates.push((
                UserId::from_uuid(r.uuid("provider_id")?),
                r.json::<OpeningHours>("hours")?,
            ));
        }
        // By day: the slot search keeps every day's inputs of a location (`SlotConfig`).
        let mut holidays_by_day = HashMap::with_capacity(holidays.len());
        for h in holidays {
            holidays_by_day.entry(h.day).or_insert(h.name);
        }
        let mut exceptions_by_day = HashMap::with_capacity(exceptions.len());
        for (p, x) in exceptions {
            exceptions_by_day.entry((p, x.date)).or_insert(x);
        }
        Ok(PlanInputs {
            holidays: holidays_by_day,
            exceptions: exceptions_by_day,
            blockouts,
            templates,
        })
    }
}

/// A location's holidays, providers' exceptions and templates and blockouts, read once for a
/// range of days (they need neither the location's time zone nor its providers, so they can be
/// read together with them) and turned into each day's plan without another query.
pub(crate) struct PlanInputs {
    /// Holiday names by day.
    holidays: HashMap<Date, String>,
    /// By provider and day.
    exceptions: HashMap<(UserId, Date), DayException>,
    blockouts: Vec<Blockout>,
    /// The weekly hours set at the location, by provider.
    templates: Vec<(UserId, OpeningHours)>,
}

impl PlanInputs {
    /// The plans of days `from..=to` (within the range the inputs were read for), with the
    /// working hours of these providers.
    pub(crate) fn plans(
        &self,
        location: &domain::Location,
        providers: &[UserId],
        from: Date,
        to: Date,
    ) -> Result<Vec<DayPlan>, WriteError> {
        use domain::scheduling::schedule::{hours_on, working_on};
        let tz = location.tz()?;
        let (holidays, exceptions, blockouts, templates) = (
            &self.holidays,
            &self.exceptions,
            &self.blockouts,
            &self.templates,
        );
        let mut plans = Vec::new();
        let mut date = from;
        while date <= to {
            let (start, end) = domain::scheduling::time::day_bounds(&tz, date)?;
            let holiday = holidays.get(&date).cloned();
            let open = if holiday.is_some() {
                IntervalSet::new()
            } else {
                hours_on(
                    &tz,
                    date,
                    &location.opening_hours.day(date.weekday()).intervals,
                )?
            };
            let mut working = Vec::with_capacity(providers.len());
            for p in providers {
                let template = templates.iter().find(|(id, _)| id == p).map(|(_, h)| h);
                let exception = exceptions.get(&(*p, date));
                let hours = working_on(
                    &tz,
                    date,
                    template.unwrap_or(&location.opening_hours),
                    exception,
                    holiday.is_some(),
                )?;
                working.push((*p, hours));
            }
            let mut day_blockouts = Vec::new();
            for b in blockouts.iter().filter(|b| b.rule.occurs_on(date)) {
                let span = hours_on(&tz, date, &[(b.rule.start, b.rule.end)])?;
                for &(s, e) in span.spans() {
                    day_blockouts.push(DayBlockout {
                        operatory: b.operatory_id,
                        start: s,
                        end: e,
                        allowed_types: b.allowed_types.clone(),
                        label: b.label.clone(),
                        colour: b.colour.clone(),
                    });
                }
            }
            plans.push(DayPlan {
                date,
                day_start: start.as_microsecond(),
                day_end: end.as_microsecond(),
                open,
                holiday,
                working,
                blockouts: day_blockouts,
            });
            date = date
                .tomorrow()
                .map_err(|e| DomainError::field("to", e.to_string()))?;
        }
        Ok(plans)
    }
}

/// A user's saved agenda view: which location, columns by chair or by provider, which of them
/// (empty: all), and what the colours show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaView {
    pub id: uuid::Uuid,
    pub name: String,
    pub location_id: LocationId,
    pub by_provider: bool,
    pub columns: Vec<uuid::Uuid>,
    /// type, provider or status.
    pub colour_by: String,
}

pub const COLOUR_MODES: [&str; 3] = ["type", "provider", "status"];

impl Store {
    /// The signed-in user's saved views, by name.
    pub async fn agenda_views(&self, scope: &Scope, user: UserId) -> DbResult<Vec<AgendaView>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, name, location_id, by_provider, columns, colour_by FROM agenda_views \
                     WHERE org_id = $1 AND user_id = $2 ORDER BY name",
                )
                .bind(scope.org())
                .bind(user),
            )
            .await?
            .iter()
            .map(|r| {
                Ok(AgendaView {
                    id: r.uuid("id")?,
                    name: r.string("name")?,
                    location_id: LocationId::from_uuid(r.uuid("location_id")?),
                    by_provider: r.bool("by_provider")?,
                    columns: r.json("columns")?,
                    colour_by: r.string("colour_by")?,
                })
            })
            .collect()
    }

    /// Saves a view under a name (replacing the user's view of that name).
    pub async fn save_agenda_view(
        &self,
        scope: &Scope,
        user: UserId,
        view: &AgendaView,
    ) -> Result<uuid::Uuid, WriteError> {
        let name = view.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(invalid("name", "between 1 and 60 characters"));
        }
        if !COLOUR_MODES.contains(&view.colour_by.as_str()) {
            return Err(invalid("colour_by", "type, provider or status"));
        }
        if self.location(scope, view.location_id).await?.is_none() {
            return Err(invalid("location_id", "no such location"));
        }
        let id = self.new_uuid();
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("DELETE FROM agenda_views WHERE org_id = $1 AND user_id = $2 AND name = $3")
                .bind(scope.org())
                .bind(user)
                .bind(name),
        )
        .await?;
        tx.execute(
            Q::new(
                "INSERT INTO agenda_views (id, org_id, user_id, name, location_id, by_provider, columns, colour_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(user)
            .bind(name)
            .bind(view.location_id)
            .bind(view.by_provider)
            .bind(json!(view.columns).to_string())
            .bind(view.colour_by.as_str())
            .bind(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn delete_agenda_view(
        &self,
        scope: &Scope,
        user: UserId,
        id: uuid::Uuid,
    ) -> Result<(), WriteError> {
        let n = self
            .db
            .execute(
                Q::new("DELETE FROM agenda_views WHERE org_id = $1 AND user_id = $2 AND id = $3")
                    .bind(scope.org())
                    .bind(user)
                    .bind(id),
            )
            .await?;
        if n == 0 {
            return Err(not_found("view"));
        }
        Ok(())
    }
}
