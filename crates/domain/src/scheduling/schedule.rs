//! Provider schedules: a weekly template of working hours per location, exceptions for single
//! days (a day off, different hours) and location holidays, turned into the instants a
//! provider works on a given date.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::intervals::IntervalSet;
use super::time::boundary;
use crate::kernel::error::{DomainError, FieldError};
use crate::kernel::tenancy::OpeningHours;

/// One day that differs from the template: no hours at all is a day off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayException {
    pub date: Date,
    pub hours: Vec<(Time, Time)>,
    pub note: String,
}

impl DayException {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        let mut sorted = self.hours.clone();
        sorted.sort();
        if sorted.iter().any(|(s, e)| s >= e) {
            errors.push(FieldError {
                field: "hours".into(),
                message: "an interval must end after it starts".into(),
            });
        }
        if sorted.windows(2).any(|w| w[1].0 < w[0].1) {
            errors.push(FieldError {
                field: "hours".into(),
                message: "intervals must not overlap".into(),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::validation(errors))
        }
    }
}

/// Local `(start, end)` hours as instants on `date` (a boundary in the spring gap is the jump).
pub fn hours_on(
    tz: &TimeZone,
    date: Date,
    hours: &[(Time, Time)],
) -> Result<IntervalSet, DomainError> {
    let mut spans = Vec::with_capacity(hours.len());
    for (s, e) in hours {
        spans.push((
            boundary(tz, date, *s)?.as_microsecond(),
            boundary(tz, date, *e)?.as_microsecond(),
        ));
    }
    Ok(IntervalSet::from_spans(spans))
}

/// When someone on this weekly template works on `date`: the exception's hours if there is
/// one, nothing on a holiday, else the template's day.
pub fn working_on(
    tz: &TimeZone,
    date: Date,
    template: &OpeningHours,
    exception: Option<&DayException>,
    holiday: bool,
) -> Result<IntervalSet, DomainError> {
    if let Some(x) = exception {
        return hours_on(tz, date, &x.hours);
    }
    if holiday {
        return Ok(IntervalSet::new());
    }
    hours_on(tz, date, &template.day(date.weekday()).intervals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn templates_exceptions_and_holidays() {
        let tz = TimeZone::get("America/Toronto").unwrap();
        let week = OpeningHours::weekdays(&[
            (time(8, 0, 0, 0), time(12, 0, 0, 0)),
            (time(13, 0, 0, 0), time(17, 0, 0, 0)),
        ]);
        // Monday 2027-03-15, EDT (UTC-4): 8:00 is 12:00Z.
        let mon = working_on(&tz, date(2027, 3, 15), &week, None, false).unwrap();
        assert_eq!(mon.spans().len(), 2);
        assert_eq!(mon.total(), 8 * 3_600_000_000);
        assert_eq!(
            jiff::Timestamp::from_microsecond(mon.spans()[0].0)
                .unwrap()
                .to_string(),
            "2027-03-15T12:00:00Z"
        );
        // Sunday: nothing. A holiday: nothing. An exception: its own hours.
        assert!(
            working_on(&tz, date(2027, 3, 14), &week, None, false)
                .unwrap()
                .is_empty()
        );
        assert!(
            working_on(&tz, date(2027, 3, 15), &week, None, true)
                .unwrap()
                .is_empty()
        );
        let short = DayException {
            date: date(2027, 3, 15),
            hours: vec![(time(9, 0, 0, 0), time(11, 0, 0, 0))],
            note: "dentist's appointment".into(),
        };
        let x = working_on(&tz, date(2027, 3, 15), &week, Some(&short), true).unwrap();
        assert_eq!(x.total(), 2 * 3_600_000_000);
        let off = DayException {
            hours: vec![],
            ..short.clone()
        };
        assert!(
            working_on(&tz, date(2027, 3, 15), &week, Some(&off), false)
                .unwrap()
                .is_empty()
        );
        let bad = DayException {
            hours: vec![(time(11, 0, 0, 0), time(9, 0, 0, 0))],
            ..short
        };
        assert!(bad.validate().is_err());
    }
}
