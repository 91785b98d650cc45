//! iCalendar feeds at secret, revocable URLs: a provider's appointments (as provider or second
//! provider) or a location's. The token is shown once and stored as its SHA-256. Feeds show
//! patients' initials only unless the organization turns names on; every fetch is audited.

use domain::scheduling::ics::{IcsEvent, calendar};
use domain::scheduling::status::AppointmentStatus;
use domain::{CalendarFeedId, DomainError, LocationId, OrgId, Scope, UserId};
use jiff::Timestamp;
use serde_json::json;

use crate::Store;
use crate::db::{DbResult, Q, Row};
use crate::patients::Actor;
use crate::tenancy::WriteError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarFeed {
    pub id: CalendarFeedId,
    pub org_id: OrgId,
    /// provider or location.
    pub kind: String,
    pub target_id: uuid::Uuid,
    pub label: String,
    pub show_names: bool,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

fn feed_from(r: &Row) -> DbResult<CalendarFeed> {
    Ok(CalendarFeed {
        id: CalendarFeedId::from_uuid(r.uuid("id")?),
        org_id: OrgId::from_uuid(r.uuid("org_id")?),
        kind: r.string("kind")?,
        target_id: r.uuid("target_id")?,
        label: r.string("label")?,
        show_names: r.bool("show_names")?,
        created_at: r.ts("created_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
        last_used_at: r.opt_ts("last_used_at")?,
    })
}

fn token_hash(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

const DAY: i64 = 86_400_000_000;

impl Store {
    /// Creates a feed and returns it with its token (shown once).
    pub async fn create_feed(
        &self,
        scope: &Scope,
        actor: &Actor,
        provider: Option<UserId>,
        location: Option<LocationId>,
    ) -> Result<(CalendarFeed, String), WriteError> {
        let settings = self.scheduling_settings(scope.org()).await?;
        let (kind, target, label) = match (provider, location) {
            (Some(p), None) => {
                let locs = self.locations(scope).await?;
                let mut name = None;
                for l in &locs {
                    if let Some(x) = self
                        .agenda_providers(scope, l.id)
                        .await?
                        .into_iter()
                        .find(|x| x.id == p)
                    {
                        name = Some(x.name);
                        break;
                    }
                }
                let name =
                    name.ok_or_else(|| DomainError::field("provider_id", "no such provider"))?;
                ("provider", p.as_uuid(), name)
            }
            (None, Some(l)) => {
                let loc = self
                    .location(scope, l)
                    .await?
                    .ok_or_else(|| DomainError::field("location_id", "no such location"))?;
                ("location", l.as_uuid(), loc.name)
            }
            _ => {
                return Err(
                    DomainError::field("provider_id", "choose a provider or a location").into(),
                );
            }
        };
        let mut raw = [0u8; 24];
        self.fill_random(&mut raw);
        let token = hex::encode(raw);
        let feed = CalendarFeed {
            id: CalendarFeedId::from_uuid(self.new_uuid()),
            org_id: scope.org(),
            kind: kind.into(),
            target_id: target,
            label,
            show_names: settings.feeds_show_names,
            created_at: self.now(),
            revoked_at: None,
            last_used_at: None,
        };
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO calendar_feeds (id, org_id, kind, target_id, token_hash, label, show_names, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(feed.id)
            .bind(scope.org())
            .bind(kind)
            .bind(target)
            .bind(token_hash(&token))
            .bind(feed.label.as_str())
            .bind(feed.show_names)
            .bind(actor.id)
            .bind(feed.created_at),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "calendar_feed.created",
                None,
                &format!("calendar_feed:{}", feed.id),
                json!({ "kind": kind, "show_names": feed.show_names }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((feed, token))
    }

    pub async fn feeds(&self, scope: &Scope) -> DbResult<Vec<CalendarFeed>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, org_id, kind, target_id, label, show_names, created_at, revoked_at, last_used_at \
                     FROM calendar_feeds WHERE org_id = $1 ORDER BY created_at DESC",
                )
                .bind(scope.org()),
            )
            .await?
            .iter()
            .map(feed_from)
            .collect()
    }

    pub async fn revoke_feed(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: CalendarFeedId,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new(
                    "UPDATE calendar_feeds SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL",
                )
                .bind(self.now())
                .bind(id)
                .bind(scope.org()),
            )
            .await?;
        if n == 0 {
            return Err(DomainError::not_found("calendar feed").into());
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "calendar_feed.revoked",
                None,
                &format!("calendar_feed:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The feed's calendar for its token (`None`: unknown or revoked), from 30 days back to
    /// 366 days ahead. Each fetch is audited, naming the patients it disclosed.
    pub async fn feed_calendar(
        &self,
        token: &str,
        ip: Option<String>,
    ) -> Result<Option<String>, WriteError> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id, org_id, kind, target_id, label, show_names, created_at, revoked_at, last_used_at \
                     FROM calendar_feeds WHERE token_hash = $1",
                )
                .bind(token_hash(token)),
            )
            .await?;
        let Some(feed) = row.as_ref().map(feed_from).transpose()? else {
            return Ok(None);
        };
        if feed.revoked_at.is_some() {
            return Ok(None);
        }
        let now = self.now();
        let from = now.as_microsecond() - 30 * DAY;
        let to = now.as_microsecond() + 366 * DAY;
        let filter = if feed.kind == "provider" {
            "(a.provider_id = $2 OR a.secondary_id = $2)"
        } else {
            "a.location_id = $2"
        };
        let rows = self
            .db
            .fetch_all(
                Q::generated(format!(
                    "SELECT a.id, a.patient_id, a.start_at, a.end_at, a.status, a.version, a.updated_at, a.location_id, \
                     p.given_name, p.family_name, p.preferred_name, o.name AS chair, l.name AS location, l.time_zone, \
                     t.name AS type_name FROM appointments a JOIN patients p ON p.id = a.patient_id \
                     JOIN operatories o ON o.id = a.operatory_id JOIN locations l ON l.id = a.location_id \
                     LEFT JOIN appointment_types t ON t.id = a.appointment_type_id \
                     WHERE a.org_id = $1 AND {filter} AND a.start_at >= $3 AND a.start_at < $4 \
                     AND a.status NOT IN ('rescheduled') ORDER BY a.start_at"
                ))
                .bind(feed.org_id)
                .bind(feed.target_id)
                .bind(from)
                .bind(to),
            )
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        let mut patients = Vec::new();
        let mut tz_name = None;
        for r in &rows {
            let (given, family) = (r.string("given_name")?, r.string("family_name")?);
            let who = if feed.show_names {
                domain::patients::display_name(&given, &family, &r.string("preferred_name")?)
            } else {
                let i = |s: &str| {
                    s.chars()
                        .next()
                        .map(|c| format!("{}.", c.to_uppercase()))
                        .unwrap_or_default()
                };
                format!("{} {}", i(&given), i(&family))
            };
            patients.push(r.uuid("patient_id")?);
            let status = AppointmentStatus::parse(&r.string("status")?);
            let what = r
                .opt_string("type_name")?
                .unwrap_or_else(|| "Appointment".into());
            tz_name.get_or_insert(r.string("time_zone")?);
            events.push(IcsEvent {
                uid: format!("app-{}@cuspid", r.uuid("id")?),
                start: r.ts("start_at")?,
                end: r.ts("end_at")?,
                summary: format!("{who} \u{2014} {what}"),
                location: format!("{}, {}", r.string("location")?, r.string("chair")?),
                description: String::new(),
                status: match status {
                    Some(AppointmentStatus::Cancelled | AppointmentStatus::NoShow) => "CANCELLED",
                    Some(AppointmentStatus::Scheduled) => "TENTATIVE",
                    _ => "CONFIRMED",
                },
                sequence: r.i64("version")?,
                updated: r.ts("updated_at")?,
            });
        }
        // The feed's zone: a location's own, or the provider's first location's.
        let tz_name = match (tz_name, feed.kind.as_str()) {
            (Some(t), _) => t,
            (None, "location") => self
                .db
                .fetch_optional(
                    Q::new("SELECT time_zone FROM locations WHERE id = $1").bind(feed.target_id),
                )
                .await?
                .map(|r| r.string("time_zone"))
                .transpose()?
                .unwrap_or_else(|| "UTC".into()),
            _ => "UTC".into(),
        };
        let tz = jiff::tz::TimeZone::get(&tz_name)
            .map_err(|e| DomainError::field("time_zone", e.to_string()))?;
        let span = (
            Timestamp::from_microsecond(from).unwrap_or(now),
            Timestamp::from_microsecond(to).unwrap_or(now),
        );
        let ics = calendar(&feed.label, &tz, &events, now, span)
            .map_err(|e| DomainError::field("time_zone", e))?;
        patients.sort();
        patients.dedup();
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE calendar_feeds SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(feed.id),
        )
        .await?;
        let mut entry = crate::audit::AuditEntry::system(
            "calendar_feed.read",
            &format!("calendar_feed:{}", feed.id),
            json!({ "patients": patients, "names": feed.show_names }),
        );
        entry.actor = format!("calendar feed {}", feed.label);
        entry.ip = ip;
        tx.audit(self, feed.org_id, entry).await?;
        tx.commit().await?;
        Ok(Some(ics))
    }

    /// One appointment as a calendar, for the patient (their own name, the clinic and chair).
    pub async fn appointment_ics(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: domain::AppointmentId,
    ) -> Result<String, WriteError> {
        let a = self.appointment(scope, actor, id).await?;
        let loc = self
            .location(scope, a.location_id)
            .await?
            .ok_or_else(|| DomainError::not_found("appointment"))?;
        let tz = loc.tz()?;
        let what = match a.appointment_type_id {
            Some(t) => self.appointment_type(scope, t).await?.map(|t| t.name),
            None => None,
        }
        .unwrap_or_else(|| "Dental appointment".into());
        let address = [loc.address.line1.as_str(), loc.address.city.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let ev = IcsEvent {
            uid: format!("app-{}@cuspid", a.id),
            start: a.start,
            end: a.end,
            summary: format!("{what} \u{2014} {}", loc.name),
            location: if address.is_empty() {
                loc.name.clone()
            } else {
                format!("{}, {address}", loc.name)
            },
            description: String::new(),
            status: match a.status {
                AppointmentStatus::Cancelled
                | AppointmentStatus::NoShow
                | AppointmentStatus::Rescheduled => "CANCELLED",
                _ => "CONFIRMED",
            },
            sequence: a.version,
            updated: a.updated_at,
        };
        let span = (ev.start, ev.end);
        calendar(&loc.name, &tz, &[ev], self.now(), span)
            .map_err(|e| DomainError::field("time_zone", e).into())
    }
}
