//! The ASAP list: patients who want an earlier appointment, with what they can take. When an
//! appointment is cancelled, the entries that fit the freed time are proposed to the front
//! desk (and, once communications land, offered by SMS).

use domain::scheduling::{DayPart, FreedSlot, WaitlistWish};
use domain::{
    AppointmentId, AppointmentTypeId, DomainError, LocationId, PatientId, Scope, UserId, WaitlistId,
};
use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use serde_json::json;

use super::parse_day;
use crate::Store;
use crate::db::{DbError, DbResult, Q, Row};
use crate::patients::{Actor, visible};
use crate::tenancy::WriteError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitlistEntry {
    pub id: WaitlistId,
    pub location_id: LocationId,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub phone: Option<String>,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub wish: WaitlistWish,
    pub notes: String,
    /// waiting, booked or removed.
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewWaitlistEntry {
    pub location_id: LocationId,
    pub patient_id: PatientId,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub wish: WaitlistWish,
    pub notes: String,
}

fn weekdays_text(days: &[Weekday]) -> String {
    days.iter()
        .map(|d| d.to_monday_one_offset().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn weekdays_of(s: &str) -> Vec<Weekday> {
    s.split(',')
        .filter_map(|d| d.trim().parse::<i8>().ok())
        .filter_map(|d| Weekday::from_monday_one_offset(d).ok())
        .collect()
}

const SELECT: &str = "SELECT w.id, w.location_id, w.patient_id, w.appointment_type_id, w.provider_id, w.duration_minutes, \
     w.earliest, w.latest, w.weekdays, w.day_part, w.notes, w.status, w.created_at, \
     p.given_name, p.family_name, p.preferred_name, p.location_id AS p_location, p.restricted, \
     (SELECT number FROM patient_phones ph WHERE ph.patient_id = w.patient_id ORDER BY position LIMIT 1) AS phone \
     FROM waitlist_entries w JOIN patients p ON p.id = w.patient_id";

fn entry_from(r: &Row) -> DbResult<WaitlistEntry> {
    let opt_day =
        |c: &str| -> DbResult<Option<Date>> { r.opt_string(c)?.map(|s| parse_day(&s)).transpose() };
    Ok(WaitlistEntry {
        id: WaitlistId::from_uuid(r.uuid("id")?),
        location_id: LocationId::from_uuid(r.uuid("location_id")?),
        patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
        patient_name: domain::patients::display_name(
            &r.string("given_name")?,
            &r.string("family_name")?,
            &r.string("preferred_name")?,
        ),
        phone: r.opt_string("phone")?,
        appointment_type_id: r
            .opt_uuid("appointment_type_id")?
            .map(AppointmentTypeId::from_uuid),
        wish: WaitlistWish {
            duration_minutes: r.i64("duration_minutes")?,
            earliest: opt_day("earliest")?,
            latest: opt_day("latest")?,
            weekdays: weekdays_of(&r.string("weekdays")?),
            day_part: DayPart::parse(&r.string("day_part")?)
                .ok_or_else(|| DbError::Corrupt("day_part".into()))?,
            provider: r.opt_uuid("provider_id")?.map(UserId::from_uuid),
        },
        notes: r.string("notes")?,
        status: r.string("status")?,
        created_at: r.ts("created_at")?,
    })
}

impl Store {
    pub async fn add_to_waitlist(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: &NewWaitlistEntry,
    ) -> Result<WaitlistId, WriteError> {
        new.wish.validate()?;
        if self.location(scope, new.location_id).await?.is_none() {
            return Err(DomainError::field("location_id", "no such location").into());
        }
        if let Some(t) = new.appointment_type_id
            && self.appointment_type(scope, t).await?.is_none()
        {
            return Err(
                DomainError::field("appointment_type_id", "no such appointment type").into(),
            );
        }
        if let Some(p) = new.wish.provider
            && !self
                .agenda_providers(scope, new.location_id)
                .await?
                .iter()
                .any(|x| x.id == p)
        {
            return Err(
                DomainError::field("provider_id", "no such provider at this location").into(),
            );
        }
        let id = WaitlistId::from_uuid(self.new_uuid());
        let mut tx = self.begin().await?;
        tx.patient_row(scope, new.patient_id).await?;
        tx.execute(
            Q::new(
                "INSERT INTO waitlist_entries (id, org_id, location_id, patient_id, appointment_type_id, provider_id, \
                 duration_minutes, earliest, latest, weekdays, day_part, notes, status, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'waiting', $13, $14)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(new.location_id)
            .bind(new.patient_id)
            .bind(new.appointment_type_id)
            .bind(new.wish.provider)
            .bind(new.wish.duration_minutes)
            .bind(new.wish.earliest.map(|d| d.to_string()))
            .bind(new.wish.latest.map(|d| d.to_string()))
            .bind(weekdays_text(&new.wish.weekdays))
            .bind(new.wish.day_part.as_str())
            .bind(new.notes.trim())
            .bind(self.now())
            .bind(actor.id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "waitlist.added",
                Some(new.patient_id),
                &format!("waitlist:{id}"),
                json!({ "location_id": new.location_id }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "waitlist.changed",
            json!({ "location_id": new.location_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The entries still waiting at a location, oldest first; audited as a list.
    pub async fn waitlist(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
    ) -> Result<Vec<WaitlistEntry>, WriteError> {
        if self.location(scope, location).await?.is_none() {
            return Err(DomainError::not_found("location").into());
        }
        let mut tx = self.begin().await?;
        let rows = tx
            .fetch_all(
                Q::generated(format!(
                    "{SELECT} WHERE w.org_id = $1 AND w.location_id = $2 AND w.status = 'waiting' ORDER BY w.created_at, w.id"
                ))
                .bind(scope.org())
                .bind(location),
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            if visible(
                scope,
                LocationId::from_uuid(r.uuid("p_location")?),
                r.bool("restricted")?,
            ) {
                out.push(entry_from(r)?);
            }
        }
        if !out.is_empty() {
            tx.audit(
                self,
                scope.org(),
                actor.entry(
                    "waitlist.list",
                    None,
                    &format!("location:{location}"),
                    json!({ "patients": out.iter().map(|e| e.patient_id).collect::<Vec<_>>() }),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Takes an entry off the list: booked (with the appointment) or removed.
    pub async fn resolve_waitlist(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: WaitlistId,
        booked: Option<AppointmentId>,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        let row = tx
            .fetch_optional(
                Q::new("SELECT patient_id, location_id, status FROM waitlist_entries WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("waitlist entry"))?;
        let patient = PatientId::from_uuid(row.uuid("patient_id")?);
        let location = LocationId::from_uuid(row.uuid("location_id")?);
        tx.patient_row(scope, patient).await?;
        if !scope.allows_location(location) {
            return Err(DomainError::not_found("waitlist entry").into());
        }
        if row.string("status")? != "waiting" {
            return Err(DomainError::new(
                domain::ErrorCode::Conflict,
                "this entry is no longer on the list",
            )
            .into());
        }
        tx.execute(
            Q::new(
                "UPDATE waitlist_entries SET status = $1, appointment_id = $2, resolved_at = $3 WHERE id = $4 AND org_id = $5",
            )
            .bind(if booked.is_some() { "booked" } else { "removed" })
            .bind(booked)
            .bind(self.now())
            .bind(id)
            .bind(scope.org()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                if booked.is_some() {
                    "waitlist.booked"
                } else {
                    "waitlist.removed"
                },
                Some(patient),
                &format!("waitlist:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "waitlist.changed",
            json!({ "location_id": location }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The waiting entries that could take the time a cancelled (or no-show, or rescheduled)
    /// appointment freed, if that time is still free and ahead.
    pub async fn waitlist_matches(
        &self,
        scope: &Scope,
        actor: &Actor,
        freed: AppointmentId,
    ) -> Result<Vec<WaitlistEntry>, WriteError> {
        let a = self.peek_appointment(scope, freed).await?;
        if a.status.holds_time() || a.end <= self.now() {
            return Ok(Vec::new());
        }
        let loc = self
            .location(scope, a.location_id)
            .await?
            .ok_or_else(|| DomainError::not_found("location"))?;
        let tz = loc.tz()?;
        // Still free: nothing took the chair since.
        let busy = self
            .busy_between(
                &[a.operatory_id.as_uuid()],
                a.start.as_microsecond(),
                a.end.as_microsecond(),
            )
            .await?;
        if busy.values().any(|s| !s.is_empty()) {
            return Ok(Vec::new());
        }
        let (zs, ze) = (a.start.to_zoned(tz.clone()), a.end.to_zoned(tz.clone()));
        let slot = FreedSlot {
            date: zs.date(),
            start: zs.time(),
            end: if ze.date() == zs.date() {
                ze.time()
            } else {
                jiff::civil::Time::MAX
            },
            minutes: a.minutes(),
            provider: Some(a.provider_id),
        };
        let all = self.waitlist(scope, actor, a.location_id).await?;
        Ok(all
            .into_iter()
            .filter(|e| e.patient_id != a.patient_id && e.wish.fits(&slot))
            .collect())
    }
}
