//! Open-slot search: the next times an appointment of a given pattern fits, honouring the
//! chairs' free time, blockouts, the providers' schedules and bookings (the provider only in
//! the `X` units of the pattern), the patient's other appointments, a time-of-day window and
//! the search range. Pure: the store gathers each day's facts and calls [`find_in_day`].

use jiff::civil::Time;
use jiff::tz::TimeZone;

use super::intervals::IntervalSet;
use super::pattern::Pattern;
use crate::kernel::ids::{AppointmentTypeId, OperatoryId, UserId};

/// What is being looked for.
#[derive(Clone, Debug)]
pub struct SlotRequest {
    pub pattern: Pattern,
    pub appointment_type: Option<AppointmentTypeId>,
    /// Candidate starts are this far apart, counted from local midnight (the pattern's unit
    /// unless asked otherwise).
    pub step_minutes: i64,
    /// `[from, to)` in microseconds: a slot starts at or after `from` and ends by `to`.
    pub from: i64,
    pub to: i64,
    /// Local time of day the whole appointment must fit in (mornings: 00:00 to 12:00).
    pub window: Option<(Time, Time)>,
    pub limit: usize,
}

/// A blocked-out time on a chair: only the listed appointment types may be booked into it.
#[derive(Clone, Debug)]
pub struct BlockoutSpan {
    pub start: i64,
    pub end: i64,
    pub allowed_types: Vec<AppointmentTypeId>,
}

/// A chair on one day: when the location is open and the chair holds no appointment.
#[derive(Clone, Debug)]
pub struct ChairDay {
    pub id: OperatoryId,
    pub free: IntervalSet,
    pub blockouts: Vec<BlockoutSpan>,
}

/// A provider on one day: when they work at this location, and when they are busy (in the
/// provider units of their appointments, at any location).
#[derive(Clone, Debug)]
pub struct ProviderDay {
    pub id: UserId,
    pub working: IntervalSet,
    pub busy: IntervalSet,
}

/// One day's facts.
#[derive(Clone, Debug)]
pub struct DayFacts {
    /// The local day's first instant (microseconds).
    pub day_start: i64,
    pub day_end: i64,
    pub chairs: Vec<ChairDay>,
    /// In order of preference.
    pub providers: Vec<ProviderDay>,
    /// The patient's appointments (anywhere), when a patient is named.
    pub patient_busy: IntervalSet,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
    pub operatory_id: OperatoryId,
    pub provider_id: UserId,
}

const MINUTE: i64 = 60_000_000;

/// Appends to `out` the day's slots in time order, one per start time (the first provider in
/// preference order and the first chair that fit), until `out` holds `req.limit`.
pub fn find_in_day(req: &SlotRequest, tz: &TimeZone, day: &DayFacts, out: &mut Vec<Slot>) {
    let dur = req.pattern.minutes() * MINUTE;
    let step = req.step_minutes.max(1) * MINUTE;
    // The provider's own units, relative to the start; each provider must be free in them.
    let runs = req.pattern.provider_spans(0);
    // Providers' free time in their working hours.
    let free: Vec<IntervalSet> = day
        .providers
        .iter()
        .map(|p| p.working.minus(&p.busy))
        .collect();
    let mut t = day.day_start;
    if req.from > t {
        // The first step at or after `from`.
        t += (req.from - t + step - 1) / step * step;
    }
    while t + dur <= day.day_end.min(req.to) && out.len() < req.limit {
        let end = t + dur;
        if fits_window(req, tz, t, end) && !day.patient_busy.overlaps(t, end) {
            'providers: for (p, pfree) in day.providers.iter().zip(&free) {
                if !p.working.contains(t, end) {
                    continue;
                }
                if !runs.iter().all(|&(s, e)| pfree.contains(t + s, t + e)) {
                    continue;
                }
                for c in &day.chairs {
                    if c.free.contains(t, end) && blockouts_allow(req, c, t, end) {
                        out.push(Slot {
                            start: t,
                            end,
                            operatory_id: c.id,
                            provider_id: p.id,
                        });
                        break 'providers;
                    }
                }
            }
        }
        t += step;
    }
}

fn blockouts_allow(req: &SlotRequest, c: &ChairDay, start: i64, end: i64) -> bool {
    c.blockouts.iter().all(|b| {
        b.end <= start
            || b.start >= end
            || req
                .appointment_type
                .is_some_and(|ty| b.allowed_types.contains(&ty))
    })
}

fn fits_window(req: &SlotRequest, tz: &TimeZone, start: i64, end: i64) -> bool {
    let Some((from, to)) = req.window else {
        return true;
    };
    let local = |us: i64| {
        jiff::Timestamp::from_microsecond(us)
            .map(|t| t.to_zoned(tz.clone()).time())
            .unwrap_or(Time::midnight())
    };
    let (s, e) = (local(start), local(end - 1));
    // The appointment must start and end on the same side of midnight, inside the window.
    s >= from && e < to && s <= e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::ids::{AppointmentTypeId, OperatoryId, UserId};
    use jiff::civil::time;
    use proptest::prelude::*;
    use uuid::Uuid;

    const H: i64 = 60 * MINUTE;

    fn chair(n: u8) -> OperatoryId {
        OperatoryId::from_uuid(Uuid::from_bytes([n; 16]))
    }
    fn doc(n: u8) -> UserId {
        UserId::from_uuid(Uuid::from_bytes([100 + n; 16]))
    }

    /// A UTC day: open 8:00 to 17:00, two chairs, one dentist working 8 to 12.
    fn day() -> DayFacts {
        DayFacts {
            day_start: 0,
            day_end: 24 * H,
            chairs: vec![
                ChairDay {
                    id: chair(1),
                    free: IntervalSet::from_spans([(8 * H, 17 * H)]),
                    blockouts: vec![],
                },
                ChairDay {
                    id: chair(2),
                    free: IntervalSet::from_spans([(8 * H, 17 * H)]),
                    blockouts: vec![],
                },
            ],
            providers: vec![ProviderDay {
                id: doc(1),
                working: IntervalSet::from_spans([(8 * H, 12 * H)]),
                busy: IntervalSet::new(),
            }],
            patient_busy: IntervalSet::new(),
        }
    }

    fn req(pattern: &str, limit: usize) -> SlotRequest {
        SlotRequest {
            pattern: Pattern::parse(pattern, 10).unwrap(),
            appointment_type: None,
            step_minutes: 10,
            from: 0,
            to: 24 * H,
            window: None,
            limit,
        }
    }

    fn find(r: &SlotRequest, d: &DayFacts) -> Vec<Slot> {
        let mut out = Vec::new();
        find_in_day(r, &TimeZone::UTC, d, &mut out);
        out
    }

    #[test]
    fn the_dentist_is_needed_only_in_the_x_units() {
        let mut d = day();
        // Chair 1 is taken 8:00-9:00, and the dentist is busy 8:00-8:40 in it.
        d.chairs[0].free = IntervalSet::from_spans([(9 * H, 17 * H)]);
        d.providers[0].busy = IntervalSet::from_spans([(8 * H, 8 * H + 40 * MINUTE)]);
        // "//XX//": the dentist is needed from the 20th to the 40th minute.
        let slots = find(&req("//XX//", 3), &d);
        // At 8:00 in chair 2 the dentist would be needed 8:20-8:40: busy. At 8:20 from 8:40.
        assert_eq!(slots[0].start, 8 * H + 20 * MINUTE);
        assert_eq!(slots[0].operatory_id, chair(2));
        assert_eq!(slots.len(), 3);
        // A pattern needing the dentist throughout starts after 8:40.
        assert_eq!(find(&req("XXXXXX", 1), &d)[0].start, 8 * H + 40 * MINUTE);
        // Nothing lasts past the dentist's morning.
        let all = find(&req("XXXXXX", 100), &d);
        assert!(all.iter().all(|s| s.end <= 12 * H), "{all:?}");
    }

    #[test]
    fn blockouts_windows_the_patient_and_the_range() {
        let mut d = day();
        let crown = AppointmentTypeId::from_uuid(Uuid::from_bytes([9; 16]));
        for c in &mut d.chairs {
            c.blockouts.push(BlockoutSpan {
                start: 8 * H,
                end: 10 * H,
                allowed_types: vec![crown],
            });
        }
        assert_eq!(find(&req("XXX", 1), &d)[0].start, 10 * H);
        let mut r = req("XXX", 1);
        r.appointment_type = Some(crown);
        assert_eq!(find(&r, &d)[0].start, 8 * H);
        // Mornings from 10:30, and the patient busy 10:30-11:00.
        let mut r = req("XXX", 10);
        r.window = Some((time(10, 30, 0, 0), time(12, 0, 0, 0)));
        d.patient_busy = IntervalSet::from_spans([(10 * H + 30 * MINUTE, 11 * H)]);
        let slots = find(&r, &d);
        assert_eq!(slots[0].start, 11 * H);
        assert_eq!(slots.last().unwrap().end, 12 * H);
        // Starting from 11:05, the first candidate is 11:10.
        let mut r = req("XXX", 1);
        r.from = 11 * H + 5 * MINUTE;
        assert_eq!(find(&r, &d)[0].start, 11 * H + 10 * MINUTE);
    }

    proptest! {
        // Whatever is booked, a slot found never overlaps a chair's booking, a blockout it is
        // not allowed in, or the dentist's busy time in its X units, and lies in their hours.
        #[test]
        fn slots_never_collide(
            chair_busy in proptest::collection::vec((0i64..54, 1i64..12), 0..10),
            doc_busy in proptest::collection::vec((0i64..54, 1i64..6), 0..10),
            pattern in "[X/]{1,8}",
        ) {
            let unit = 10 * MINUTE;
            let mut d = day();
            let busy = IntervalSet::from_spans(chair_busy.iter().map(|&(s, l)| (8 * H + s * unit, 8 * H + (s + l) * unit)));
            d.chairs[0].free = d.chairs[0].free.minus(&busy);
            d.chairs[1].free = d.chairs[1].free.minus(&IntervalSet::from_spans([(12 * H, 13 * H)]));
            d.providers[0].busy = IntervalSet::from_spans(doc_busy.iter().map(|&(s, l)| (8 * H + s * unit, 8 * H + (s + l) * unit)));
            let r = req(&pattern, 200);
            for s in find(&r, &d) {
                let c = d.chairs.iter().find(|c| c.id == s.operatory_id).unwrap();
                prop_assert!(c.free.contains(s.start, s.end));
                prop_assert!(d.providers[0].working.contains(s.start, s.end));
                for (a, b) in r.pattern.provider_spans(s.start) {
                    prop_assert!(!d.providers[0].busy.overlaps(a, b));
                }
            }
        }
    }
}
