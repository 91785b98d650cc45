//! Per-organization security settings and the anomaly scan.
//!
//! Settings: session lifetimes (idle and absolute) and the anomaly thresholds. The scan reads
//! the audit trail's patient-data events and raises an alert, once per user and hour, when a
//! user opened more than `anomaly_patients_per_hour` distinct patients within an hour, or opened
//! patient data outside the practice's opening hours. Alerts are audited and kept for the
//! administrators to acknowledge.

use domain::{DomainError, FieldError, OrgId, Scope, UserId};
use jiff::{SignedDuration, Timestamp};

use crate::Store;
use crate::audit::AuditEntry;
use crate::db::{DbResult, Q};
use crate::identity::{SessionPolicy, User};
use crate::tenancy::WriteError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrgSecurity {
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub anomaly_patients_per_hour: i64,
    pub anomaly_off_hours: bool,
}

impl Default for OrgSecurity {
    fn default() -> Self {
        OrgSecurity {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            anomaly_patients_per_hour: 50,
            anomaly_off_hours: true,
        }
    }
}

impl OrgSecurity {
    pub fn policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: SignedDuration::from_mins(self.session_idle_minutes),
            absolute: SignedDuration::from_hours(self.session_absolute_hours),
        }
    }

    fn check(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            })
        };
        if !(5..=480).contains(&self.session_idle_minutes) {
            bad("session_idle_minutes", "between 5 and 480 minutes");
        }
        if !(1..=24).contains(&self.session_absolute_hours) {
            bad("session_absolute_hours", "between 1 and 24 hours");
        }
        if self.session_idle_minutes > self.session_absolute_hours * 60 {
            bad(
                "session_idle_minutes",
                "cannot be longer than the absolute limit",
            );
        }
        if !(5..=10_000).contains(&self.anomaly_patients_per_hour) {
            bad("anomaly_patients_per_hour", "between 5 and 10000");
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::validation(errors))
        }
    }
}

/// An alert for administrators.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityAlert {
    pub id: uuid::Uuid,
    /// `patients_per_hour`, `off_hours` or `break_glass`.
    pub kind: String,
    pub user_id: Option<UserId>,
    pub actor: String,
    pub window_start: Timestamp,
    pub detail: serde_json::Value,
    pub created_at: Timestamp,
    pub acknowledged: bool,
}

fn hour_of(t: Timestamp) -> Timestamp {
    let s = t.as_second();
    Timestamp::from_second(s - s.rem_euclid(3600)).unwrap_or(t)
}

impl Store {
    /// The organization's settings (defaults until an administrator changes them).
    pub async fn org_security(&self, org: OrgId) -> DbResult<OrgSecurity> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT session_idle_minutes, session_absolute_hours, anomaly_patients_per_hour, anomaly_off_hours \
                     FROM org_security WHERE org_id = $1",
                )
                .bind(org),
            )
            .await?;
        Ok(match row {
            Some(r) => OrgSecurity {
                session_idle_minutes: r.i64("session_idle_minutes")?,
                session_absolute_hours: r.i64("session_absolute_hours")?,
                anomaly_patients_per_hour: r.i64("anomaly_patients_per_hour")?,
                anomaly_off_hours: r.bool("anomaly_off_hours")?,
            },
            None => OrgSecurity::default(),
        })
    }

    /// Changes the settings (audited with the values before and after: none is sensitive).
    pub async fn set_org_security(
        &self,
        scope: &Scope,
        actor: &User,
        s: &OrgSecurity,
    ) -> Result<(), WriteError> {
        s.check()?;
        let before = self.org_security(scope.org()).await?;
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.execute(Q::new("DELETE FROM org_security WHERE org_id = $1").bind(scope.org()))
            .await?;
        tx.execute(
            Q::new(
                "INSERT INTO org_security (org_id, session_idle_minutes, session_absolute_hours, anomaly_patients_per_hour, \
                 anomaly_off_hours, scanned_until, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            )
            .bind(scope.org())
            .bind(s.session_idle_minutes)
            .bind(s.session_absolute_hours)
            .bind(s.anomaly_patients_per_hour)
            .bind(s.anomaly_off_hours)
            .bind(now),
        )
        .await?;
        let mut entry = AuditEntry::system(
            "settings.security_changed",
            &format!("org:{}", scope.org()),
            serde_json::json!({
                "before": [before.session_idle_minutes, before.session_absolute_hours, before.anomaly_patients_per_hour, before.anomaly_off_hours],
                "after": [s.session_idle_minutes, s.session_absolute_hours, s.anomaly_patients_per_hour, s.anomaly_off_hours],
            }),
        );
        entry.actor_id = Some(actor.id);
        entry.actor = actor.email.clone();
        tx.audit(self, scope.org(), entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Scans the organization's patient-data events by people since the last scan (at most the
    /// last day; the demo, imports and the system, which have no user, are not counted);
    /// returns the alerts it raised.
    pub async fn scan_anomalies(&self, org: OrgId) -> DbResult<Vec<SecurityAlert>> {
        let settings = self.org_security(org).await?;
        let now = self.now();
        let last = self
            .db
            .fetch_optional(
                Q::new("SELECT scanned_until FROM org_security WHERE org_id = $1").bind(org),
            )
            .await?
            .and_then(|r| r.opt_ts("scanned_until").ok().flatten());
        let day_ago = now
            .checked_sub(SignedDuration::from_hours(24))
            .unwrap_or(now);
        let since = last.map_or(day_ago, |l| l.max(day_ago));
        // An hour of context before the new events, to count distinct patients per hour.
        let from = since
            .checked_sub(SignedDuration::from_hours(1))
            .unwrap_or(since);
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT at, actor_id, actor, patient_id FROM audit_events \
                     WHERE org_id = $1 AND patient_id IS NOT NULL AND actor_id IS NOT NULL AND at > $2 AND at <= $3 ORDER BY at",
                )
                .bind(org)
                .bind(from)
                .bind(now),
            )
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            events.push((
                r.ts("at")?,
                r.opt_uuid("actor_id")?.map(UserId::from_uuid),
                r.string("actor")?,
                r.uuid("patient_id")?,
            ));
        }
        let mut raised: Vec<(String, Option<UserId>, String, Timestamp, serde_json::Value)> =
            Vec::new();
        // Distinct patients within any hour ending at a new event.
        for (i, (at, actor_id, actor, _)) in events.iter().enumerate() {
            if *at <= since {
                continue;
            }
            let start = at.checked_sub(SignedDuration::from_hours(1)).unwrap_or(*at);
            let mut patients: Vec<&uuid::Uuid> = events[..=i]
                .iter()
                .filter(|(t, _, a, _)| *t > start && a == actor)
                .map(|(_, _, _, p)| p)
                .collect();
            patients.sort();
            patients.dedup();
            if patients.len() as i64 > settings.anomaly_patients_per_hour {
                let window = hour_of(*at);
                if !raised
                    .iter()
                    .any(|(k, _, a, w, _)| k == "patients_per_hour" && a == actor && *w == window)
                {
                    raised.push((
                        "patients_per_hour".into(),
                        *actor_id,
                        actor.clone(),
                        window,
                        serde_json::json!({ "patients": patients.len(), "threshold": settings.anomaly_patients_per_hour }),
                    ));
                }
            }
        }
        if settings.anomaly_off_hours {
            let locations = self.locations(&Scope::system(org)).await?;
            if let Some(loc) = locations.first()
                && let Ok(tz) = loc.tz()
            {
                for (at, actor_id, actor, _) in events.iter().filter(|(t, ..)| *t > since) {
                    let local = at.to_zoned(tz.clone());
                    if loc.opening_hours.is_open_at(local.weekday(), local.time()) {
                        continue;
                    }
                    let window = hour_of(*at);
                    match raised
                        .iter_mut()
                        .find(|(k, _, a, w, _)| k == "off_hours" && a == actor && *w == window)
                    {
                        Some((.., d)) => {
                            d["events"] = (d["events"].as_i64().unwrap_or(0) + 1).into();
                        }
                        None => raised.push((
                            "off_hours".into(),
                            *actor_id,
                            actor.clone(),
                            window,
                            serde_json::json!({
                                "events": 1,
                                "local_time": local.strftime("%Y-%m-%d %H:%M").to_string(),
                                "location": loc.name,
                            }),
                        )),
                    }
                }
            }
        }
        let mut out = Vec::new();
        let mut tx = self.begin().await?;
        for (kind, user_id, actor, window, detail) in raised {
            let id = self.new_uuid();
            let n = tx
                .execute(
                    Q::new(
                        "INSERT INTO security_alerts (id, org_id, kind, user_id, actor, window_start, detail, created_at, acknowledged_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(org)
                    .bind(kind.as_str())
                    .bind(user_id)
                    .bind(actor.as_str())
                    .bind(window)
                    .bind(detail.to_string())
                    .bind(now),
                )
                .await?;
            if n == 1 {
                tx.audit(
                    self,
                    org,
                    AuditEntry::system(
                        "security.anomaly",
                        &format!("alert:{id}"),
                        serde_json::json!({ "kind": kind, "actor": actor, "detail": detail }),
                    ),
                )
                .await?;
                out.push(SecurityAlert {
                    id,
                    kind,
                    user_id,
                    actor,
                    window_start: window,
                    detail,
                    created_at: now,
                    acknowledged: false,
                });
            }
        }
        let updated = tx
            .execute(
                Q::new("UPDATE org_security SET scanned_until = $1 WHERE org_id = $2")
                    .bind(now)
                    .bind(org),
            )
            .await?;
        if updated == 0 {
            let d = OrgSecurity::default();
            tx.execute(
                Q::new(
                    "INSERT INTO org_security (org_id, session_idle_minutes, session_absolute_hours, anomaly_patients_per_hour, \
                     anomaly_off_hours, scanned_until, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(org)
                .bind(d.session_idle_minutes)
                .bind(d.session_absolute_hours)
                .bind(d.anomaly_patients_per_hour)
                .bind(d.anomaly_off_hours)
                .bind(now),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The organization's alerts, newest first (the unacknowledged ones, unless `all`).
    pub async fn security_alerts(&self, scope: &Scope, all: bool) -> DbResult<Vec<SecurityAlert>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, kind, user_id, actor, window_start, detail, created_at, acknowledged_at FROM security_alerts \
                     WHERE org_id = $1 AND (acknowledged_at IS NULL OR $2) ORDER BY created_at DESC, window_start DESC LIMIT 200",
                )
                .bind(scope.org())
                .bind(all),
            )
            .await?
            .iter()
            .map(|r| {
                Ok(SecurityAlert {
                    id: r.uuid("id")?,
                    kind: r.string("kind")?,
                    user_id: r.opt_uuid("user_id")?.map(UserId::from_uuid),
                    actor: r.string("actor")?,
                    window_start: r.ts("window_start")?,
                    detail: serde_json::from_str(&r.string("detail")?).unwrap_or_default(),
                    created_at: r.ts("created_at")?,
                    acknowledged: r.opt_i64("acknowledged_at")?.is_some(),
                })
            })
            .collect()
    }

    /// An administrator marks an alert as looked into (audited).
    pub async fn acknowledge_alert(
        &self,
        scope: &Scope,
        actor: &User,
        id: uuid::Uuid,
    ) -> DbResult<bool> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new(
                    "UPDATE security_alerts SET acknowledged_at = $1 WHERE org_id = $2 AND id = $3 AND acknowledged_at IS NULL",
                )
                .bind(self.now())
                .bind(scope.org())
                .bind(id),
            )
            .await?;
        if n == 1 {
            let mut entry = AuditEntry::system(
                "security.alert_acknowledged",
                &format!("alert:{id}"),
                serde_json::json!({}),
            );
            entry.actor_id = Some(actor.id);
            entry.actor = actor.email.clone();
            tx.audit(self, scope.org(), entry).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The active administrators of an organization: id, address and name (alert emails).
    pub async fn admins_of(&self, org: OrgId) -> DbResult<Vec<(UserId, String, String)>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT u.id, u.email, u.name FROM users u JOIN user_roles r ON r.user_id = u.id \
                     WHERE u.org_id = $1 AND r.role = $2 AND u.active = $3 ORDER BY u.email",
                )
                .bind(org)
                .bind("admin")
                .bind(true),
            )
            .await?
            .iter()
            .map(|r| {
                Ok((
                    UserId::from_uuid(r.uuid("id")?),
                    r.string("email")?,
                    r.string("name")?,
                ))
            })
            .collect()
    }
}
