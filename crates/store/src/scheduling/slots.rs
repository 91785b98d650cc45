//! The open-slot search over the store: the first day's busy times and the organization's
//! schedule version in one round of concurrent reads; the location's facts (chairs, providers,
//! opening hours, providers' hours, holidays, blockouts) from memory while that version holds;
//! then the pure search in `domain::scheduling::slots` day by day, reading the busy times of
//! longer and longer chunks of days until enough slots are found.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

pub use domain::scheduling::slots::Slot;
use domain::scheduling::slots::{
    BlockoutSpan, ChairDay, DayFacts, ProviderDay, SlotRequest, find_in_day,
};
use domain::scheduling::{IntervalSet, Pattern};
use domain::{
    AppointmentTypeId, DomainError, FieldError, LocationId, OrgId, PatientId, Scope, UserId,
};
use jiff::Timestamp;
use jiff::civil::{Date, Time};

use crate::Store;
use crate::db::{DbError, DbResult, Q, Val};
use crate::scheduling::appointments::MAX_SPAN;
use crate::scheduling::{AppointmentType, Operatory, PlanInputs, SchedulingSettings};
use crate::tenancy::WriteError;

/// What the front desk asks for.
#[derive(Clone, Debug, Default)]
pub struct SlotQuery {
    pub location_id: Option<LocationId>,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub duration_minutes: Option<i64>,
    /// `None`: anyone who works there (or one of `providers`).
    pub provider_id: Option<UserId>,
    /// Without `provider_id`: only these providers, in this order of preference (empty:
    /// anyone).
    pub providers: Vec<UserId>,
    /// Keep clear of this patient's other appointments.
    pub patient_id: Option<PatientId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Local time of day the appointment must fit in (mornings: 00:00–12:00).
    pub window: Option<(Time, Time)>,
    pub limit: usize,
}

const MINUTE: i64 = 60_000_000;
const DAY: i64 = 24 * 60 * MINUTE;
/// The longest range searched at once.
const MAX_DAYS: i64 = 400;

impl Store {
    /// The next `limit` free slots, soonest first, one per start time.
    pub async fn find_slots(&self, scope: &Scope, q: &SlotQuery) -> Result<Vec<Slot>, WriteError> {
        let mut errors = Vec::new();
        let mut err = |f: &str, m: &str| {
            errors.push(FieldError {
                field: f.into(),
                message: m.into(),
            })
        };
        if q.limit == 0 || q.limit > 100 {
            err("limit", "between 1 and 100");
        }
        let from = q.from.unwrap_or_else(|| self.now());
        let to = q.to.unwrap_or_else(|| {
            Timestamp::from_microsecond(from.as_microsecond() + 90 * DAY).unwrap_or(from)
        });
        let range_ok = to > from && to.as_microsecond() - from.as_microsecond() <= MAX_DAYS * DAY;
        if to <= from {
            err("to", "must be after from");
        } else if !range_ok {
            err("to", "search at most 400 days at once");
        }
        // The busy times of the location's chairs and providers (and the patient's) from
        // `from` to a day later, which holds the rest of its local day: the first day is
        // searched alone (a busy clinic usually has the slots asked for that day), then longer
        // and longer chunks of days. Read together with the organization's schedule version,
        // which says whether what an earlier search read about the location still holds.
        let location_id = q.location_id;
        let first_busy_end = from.as_microsecond() + 26 * 60 * MINUTE;
        let first_busy = async {
            match location_id {
                Some(l) if range_ok && scope.allows_location(l) => self
                    .busy_at_location(
                        scope,
                        l,
                        q.patient_id,
                        from.as_microsecond(),
                        first_busy_end,
                    )
                    .await
                    .map(Some),
                _ => Ok(None),
            }
        };
        let (version, mut first_busy) =
            futures::future::try_join(self.schedule_version(scope.org()), first_busy).await?;
        let config = match location_id {
            Some(l) if scope.allows_location(l) => Some(self.slot_config(scope, l, version).await?),
            _ => None,
        };
        let location = config.as_ref().and_then(|c| c.location.clone());
        if location.is_none() {
            err("location_id", "no such location");
        }
        let (settings, ty) = match &config {
            Some(c) => (
                c.settings.clone(),
                q.appointment_type_id
                    .and_then(|t| c.types.iter().find(|x| x.id == t).cloned()),
            ),
            // No such location: the rest is read only to say everything wrong at once.
            None => (
                self.scheduling_settings(scope.org()).await?,
                match q.appointment_type_id {
                    Some(t) => self.appointment_type(scope, t).await?,
                    None => None,
                },
            ),
        };
        let pattern = match (q.appointment_type_id, q.duration_minutes) {
            (Some(t), d) => match ty {
                Some(ty) if ty.active => match d {
                    Some(d) => ty.pattern.resized(d).map(|p| (Some(t), p)),
                    None => Ok((Some(t), ty.pattern)),
                },
                _ => Err(DomainError::field(
                    "appointment_type_id",
                    "no such appointment type",
                )),
            },
            (None, Some(d)) => {
                Pattern::provider_throughout(d, settings.unit_minutes).map(|p| (None, p))
            }
            (None, None) => Err(DomainError::field(
                "duration_minutes",
                "give a length or an appointment type",
            )),
        };
        let (type_id, pattern) = match pattern {
            Ok(p) => (p.0, Some(p.1)),
            Err(e) => {
                errors.extend(e.fields);
                (None, None)
            }
        };
        let Some(location) = location.filter(|_| errors.is_empty()) else {
            return Err(DomainError::validation(errors).into());
        };
        let Some(pattern) = pattern else {
            return Err(DomainError::validation(errors).into());
        };
        let Some(config) = config else {
            return Err(DomainError::validation(errors).into());
        };
        let (inputs, all_providers, chairs) = (&config.inputs, &config.providers, &config.chairs);
        let providers: Vec<UserId> = match q.provider_id {
            Some(p) if all_providers.contains(&p) => vec![p],
            Some(_) => {
                return Err(
                    DomainError::field("provider_id", "no such provider at this location").into(),
                );
            }
            None if q.providers.is_empty() => all_providers.clone(),
            None => q
                .providers
                .iter()
                .filter(|p| all_providers.contains(p))
                .copied()
                .collect(),
        };
        let tz = location.tz()?;
        let req = SlotRequest {
            step_minutes: pattern.unit_minutes(),
            pattern,
            appointment_type: type_id,
            from: from.as_microsecond(),
            to: to.as_microsecond(),
            window: q.window,
            limit: q.limit,
        };
        let mut out = Vec::new();
        let mut day = from.to_zoned(tz.clone()).date();
        let last = to.to_zoned(tz.clone()).date();
        let mut chunk_days = 0;
        let mut resources: Vec<uuid::Uuid> = chairs.iter().map(|c| c.id.as_uuid()).collect();
        resources.extend(providers.iter().map(|p| p.as_uuid()));
        if let Some(p) = q.patient_id {
            resources.push(p.as_uuid());
        }
        while day <= last && out.len() < q.limit && !chairs.is_empty() && !providers.is_empty() {
            let week_end = day
                .checked_add(jiff::Span::new().days(chunk_days))
                .map_err(|e| DomainError::field("to", e.to_string()))?
                .min(last);
            let (from_us, _) = domain::scheduling::time::day_bounds(&tz, day)?;
            let (_, to_us) = domain::scheduling::time::day_bounds(&tz, week_end)?;
            let busy = match first_busy.take() {
                Some(b) if to_us.as_microsecond() <= first_busy_end => b,
                _ => {
                    self.busy_between(&resources, from_us.as_microsecond(), to_us.as_microsecond())
                        .await?
                }
            };
            let plans = inputs.plans(&location, &providers, day, week_end)?;
            let empty = IntervalSet::new();
            for plan in &plans {
                let facts = DayFacts {
                    day_start: plan.day_start,
                    day_end: plan.day_end,
                    chairs: chairs
                        .iter()
                        .map(|c| ChairDay {
                            id: c.id,
                            free: plan.open.minus(busy.get(&c.id.as_uuid()).unwrap_or(&empty)),
                            blockouts: plan
                                .blockouts
                                .iter()
                                .filter(|b| b.operatory.is_none_or(|o| o == c.id))
                                .map(|b| BlockoutSpan {
                                    start: b.start,
                                    end: b.end,
                                    allowed_types: b.allowed_types.clone(),
                                })
                                .collect(),
                        })
                        .collect(),
                    providers: plan
                        .working
                        .iter()
                        .map(|(p, w)| ProviderDay {
                            id: *p,
                            working: w.clone(),
                            busy: busy.get(&p.as_uuid()).cloned().unwrap_or_default(),
                        })
                        .collect(),
                    patient_busy: q
                        .patient_id
                        .and_then(|p| busy.get(&p.as_uuid()).cloned())
                        .unwrap_or_default(),
                };
                find_in_day(&req, &tz, &facts, &mut out);
                if out.len() >= q.limit {
                    break;
                }
            }
            // Then two weeks, each later chunk twice the one before: a one-dentist search in a
            // busy clinic often needs a fortnight, and a read of more days costs less than
            // another wait for the database.
            chunk_days = if chunk_days == 0 {
                12
            } else {
                chunk_days * 2 + 1
            };
            day = match week_end.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        Ok(out)
    }

    /// The organization's schedule version (see migration 0017): 0 before any change.
    async fn schedule_version(&self, org: OrgId) -> DbResult<i64> {
        match self
            .db
            .fetch_optional(
                Q::new("SELECT version FROM schedule_versions WHERE org_id = $1").bind(org),
            )
            .await?
        {
            Some(r) => r.i64("version"),
            None => Ok(0),
        }
    }

    /// What the search needs about a location besides busy times, as of `version`: from
    /// memory when an earlier search read it at that version, else read now (after the version
    /// was read, so a change committed meanwhile shows as a newer version next time).
    async fn slot_config(
        &self,
        scope: &Scope,
        location: LocationId,
        version: i64,
    ) -> Result<Arc<SlotConfig>, WriteError> {
        let key = (scope.org(), location);
        if let Some(c) = self.slot_configs.get(key, version) {
            return Ok(c);
        }
        let reads = futures::future::try_join5(
            self.location(scope, location),
            self.scheduling_settings(scope.org()),
            self.appointment_types(scope, true),
            self.provider_ids_at(scope, location),
            self.operatories(scope, location, false),
        );
        let ((loc, settings, types, providers, chairs), inputs) = futures::future::try_join(
            async { reads.await.map_err(WriteError::from) },
            self.plan_inputs(scope, location, Date::constant(1900, 1, 1), Date::MAX),
        )
        .await?;
        let c = Arc::new(SlotConfig {
            location: loc,
            settings,
            types,
            providers,
            chairs,
            inputs,
        });
        self.slot_configs.put(key, version, c.clone());
        Ok(c)
    }

    /// The busy times of these resources overlapping `[from, to)`, by resource.
    pub(crate) async fn busy_between(
        &self,
        resources: &[uuid::Uuid],
        from: i64,
        to: i64,
    ) -> DbResult<HashMap<uuid::Uuid, IntervalSet>> {
        let mut out: HashMap<uuid::Uuid, IntervalSet> = HashMap::new();
        for chunk in resources.chunks(200) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
            let ids = marks.join(", ");
            let mut q = busy_query(&ids, &ids)
                .bind(to)
                .bind(from)
                .bind(from - MAX_SPAN);
            for r in chunk {
                q = q.bind(Val::from(*r));
            }
            read_busy(self.db.fetch_all(q).await?, &mut out)?;
        }
        Ok(out)
    }

    /// The busy times overlapping `[from, to)` of a location's active chairs and of the
    /// providers who work there (as `operatories` and `provider_ids_at` list them), and of the
    /// patient if given: `busy_between` without waiting for those lists.
    async fn busy_at_location(
        &self,
        scope: &Scope,
        location: LocationId,
        patient: Option<PatientId>,
        from: i64,
        to: i64,
    ) -> DbResult<HashMap<uuid::Uuid, IntervalSet>> {
        let resources = format!(
            "SELECT o.id FROM operatories o WHERE o.org_id = $4 AND o.location_id = $5 AND o.active = TRUE \
             UNION ALL SELECT u.id {}",
            crate::scheduling::providers_at("$4", "$5")
        );
        let q = match patient {
            None => busy_query(&resources, &resources),
            Some(_) => busy_query(
                &format!("{resources} UNION ALL SELECT $6"),
                &format!("{resources} UNION ALL SELECT $6::uuid"),
            ),
        };
        let mut q = q
            .bind(to)
            .bind(from)
            .bind(from - MAX_SPAN)
            .bind(scope.org())
            .bind(location);
        if let Some(p) = patient {
            q = q.bind(p);
        }
        let mut out = HashMap::new();
        read_busy(self.db.fetch_all(q).await?, &mut out)?;
        Ok(out)
    }
}

/// What a slot search reads about a location besides busy times: every day's inputs, since
/// they are kept for later searches.
pub(crate) struct SlotConfig {
    location: Option<domain::Location>,
    settings: SchedulingSettings,
    /// All of the organization's, inactive ones too (the search refuses those).
    types: Vec<AppointmentType>,
    providers: Vec<UserId>,
    chairs: Vec<Operatory>,
    inputs: PlanInputs,
}

/// The slot configurations of the locations searched lately, each with the schedule version it
/// was read at. Bounded: emptied when it would hold more than `MAX_CONFIGS` locations.
#[derive(Default)]
pub(crate) struct SlotConfigs(Mutex<ConfigMap>);

/// By organization and location: the version read at and the configuration.
type ConfigMap = HashMap<(OrgId, LocationId), (i64, Arc<SlotConfig>)>;

const MAX_CONFIGS: usize = 4096;

impl SlotConfigs {
    fn map(&self) -> std::sync::MutexGuard<'_, ConfigMap> {
        // The map holds no invariant a panicking holder could break.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, key: (OrgId, LocationId), version: i64) -> Option<Arc<SlotConfig>> {
        self.map()
            .get(&key)
            .filter(|(v, _)| *v == version)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, key: (OrgId, LocationId), version: i64, config: Arc<SlotConfig>) {
        let mut map = self.map();
        if map.get(&key).is_some_and(|(v, _)| *v > version) {
            return;
        }
        if map.len() >= MAX_CONFIGS && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (version, config));
    }
}

/// Busy times overlapping `[$2, $1)` (starting after `$3`, the longest appointment before
/// `$2`: the index's range) of the resources in `resources` (ids or a subquery): one row per
/// resource with its spans joined (`start,end;start,end…`), since each row costs a hop
/// between the driver's thread and ours and a busy week has hundreds of spans.
fn busy_query(sqlite_resources: &str, pg_resources: &str) -> Q {
    let tail = |resources: &str| {
        format!(
            " AS spans FROM appointment_busy WHERE start_at < $1 AND end_at > $2 \
             AND start_at > $3 AND resource_id IN ({resources}) GROUP BY resource_id"
        )
    };
    Q::generated_fork(
        format!(
            "SELECT resource_id, group_concat(start_at || ',' || end_at, ';'){}",
            tail(sqlite_resources)
        ),
        format!(
            "SELECT resource_id, string_agg(start_at::text || ',' || end_at::text, ';'){}",
            tail(pg_resources)
        ),
    )
}

fn read_busy(
    rows: Vec<crate::db::Row>,
    out: &mut HashMap<uuid::Uuid, IntervalSet>,
) -> DbResult<()> {
    for r in rows {
        let text = r.string("spans")?;
        let mut spans = Vec::new();
        for pair in text.split(';') {
            let parsed = pair
                .split_once(',')
                .and_then(|(s, e)| Some((s.parse().ok()?, e.parse().ok()?)));
            match parsed {
                Some(span) => spans.push(span),
                None => return Err(DbError::Corrupt(format!("busy span {pair:?}"))),
            }
        }
        out.insert(r.uuid("resource_id")?, IntervalSet::from_spans(spans));
    }
    Ok(())
}
