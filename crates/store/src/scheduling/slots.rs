//! The open-slot search over the store: a week of a location's facts at a time (opening
//! hours, providers' hours, blockouts, busy times in one query), then the pure search in
//! `domain::scheduling::slots` day by day until enough slots are found.

use std::collections::HashMap;

pub use domain::scheduling::slots::Slot;
use domain::scheduling::slots::{
    BlockoutSpan, ChairDay, DayFacts, ProviderDay, SlotRequest, find_in_day,
};
use domain::scheduling::{IntervalSet, Pattern};
use domain::{AppointmentTypeId, DomainError, FieldError, LocationId, PatientId, Scope, UserId};
use jiff::Timestamp;
use jiff::civil::Time;

use crate::Store;
use crate::db::{DbError, DbResult, Q, Val};
use crate::tenancy::WriteError;

/// What the front desk asks for.
#[derive(Clone, Debug, Default)]
pub struct SlotQuery {
    pub location_id: Option<LocationId>,
    pub appointment_type_id: Option<AppointmentTypeId>,
    pub duration_minutes: Option<i64>,
    /// `None`: anyone who works there.
    pub provider_id: Option<UserId>,
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
        if to <= from {
            err("to", "must be after from");
        } else if to.as_microsecond() - from.as_microsecond() > MAX_DAYS * DAY {
            err("to", "search at most 400 days at once");
        }
        // The independent reads at once (one round trip's wait instead of five).
        let location_id = q.location_id;
        let (location, settings, ty, all_providers, chairs) = futures::future::try_join5(
            async {
                match location_id {
                    Some(l) => self.location(scope, l).await,
                    None => Ok(None),
                }
            },
            self.scheduling_settings(scope.org()),
            async {
                match q.appointment_type_id {
                    Some(t) => self.appointment_type(scope, t).await,
                    None => Ok(None),
                }
            },
            async {
                match location_id {
                    Some(l) => self.agenda_providers(scope, l).await,
                    None => Ok(Vec::new()),
                }
            },
            async {
                match location_id {
                    Some(l) => self.operatories(scope, l, false).await,
                    None => Ok(Vec::new()),
                }
            },
        )
        .await?;
        if location.is_none() {
            err("location_id", "no such location");
        }
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
        let providers: Vec<UserId> = {
            let all = all_providers;
            match q.provider_id {
                Some(p) if all.iter().any(|x| x.id == p) => vec![p],
                Some(_) => {
                    return Err(DomainError::field(
                        "provider_id",
                        "no such provider at this location",
                    )
                    .into());
                }
                None => all.iter().map(|p| p.id).collect(),
            }
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
        // The first day alone (a busy clinic usually has the slots asked for that day), then
        // a week at a time.
        let mut chunk_days = 0;
        let mut resources: Vec<uuid::Uuid> = chairs.iter().map(|c| c.id.as_uuid()).collect();
        resources.extend(providers.iter().map(|p| p.as_uuid()));
        if let Some(p) = q.patient_id {
            resources.push(p.as_uuid());
        }
        // Holidays, hours and blockouts for the whole range, read with the first day's busy
        // times; each later week reads only its busy times.
        let mut inputs = None;
        while day <= last && out.len() < q.limit && !chairs.is_empty() && !providers.is_empty() {
            let week_end = day
                .checked_add(jiff::Span::new().days(chunk_days))
                .map_err(|e| DomainError::field("to", e.to_string()))?
                .min(last);
            let (from_us, _) = domain::scheduling::time::day_bounds(&tz, day)?;
            let (_, to_us) = domain::scheduling::time::day_bounds(&tz, week_end)?;
            let busy_q =
                self.busy_between(&resources, from_us.as_microsecond(), to_us.as_microsecond());
            let busy = match &inputs {
                Some(_) => busy_q.await?,
                None => {
                    let (i, b) = futures::future::try_join(
                        self.plan_inputs(scope, &location, &providers, day, last),
                        async { busy_q.await.map_err(WriteError::from) },
                    )
                    .await?;
                    inputs = Some(i);
                    b
                }
            };
            let Some(plan_inputs) = &inputs else {
                break;
            };
            let plans = plan_inputs.plans(&location, day, week_end)?;
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
            chunk_days = 6;
            day = match week_end.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        Ok(out)
    }

    /// The busy times of these resources overlapping `[from, to)`, by resource: one row per
    /// resource with its spans joined (`start,end;start,end…`), since each row costs a hop
    /// between the driver's thread and ours and a busy week has hundreds of spans.
    pub(crate) async fn busy_between(
        &self,
        resources: &[uuid::Uuid],
        from: i64,
        to: i64,
    ) -> DbResult<HashMap<uuid::Uuid, IntervalSet>> {
        let mut out: HashMap<uuid::Uuid, IntervalSet> = HashMap::new();
        for chunk in resources.chunks(200) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
            let tail = format!(
                " AS spans FROM appointment_busy WHERE start_at < $1 AND end_at > $2 \
                 AND start_at > $3 AND resource_id IN ({}) GROUP BY resource_id",
                marks.join(", ")
            );
            let mut q = Q::generated_fork(
                format!("SELECT resource_id, group_concat(start_at || ',' || end_at, ';'){tail}"),
                format!(
                    "SELECT resource_id, string_agg(start_at::text || ',' || end_at::text, ';'){tail}"
                ),
            )
            .bind(to)
            .bind(from)
            .bind(from - 12 * 60 * MINUTE);
            for r in chunk {
                q = q.bind(Val::from(*r));
            }
            for r in self.db.fetch_all(q).await? {
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
        }
        Ok(out)
    }
}
