//! Scheduling: chairs, appointment types and their time patterns, provider schedules, the
//! patient flow, open-slot search, the ASAP list and recall.

pub mod ics;
pub mod intervals;
pub mod pattern;
pub mod schedule;
pub mod slots;
pub mod status;
pub mod time;

use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, FieldError};

pub use intervals::IntervalSet;
pub use pattern::Pattern;
pub use status::{AppointmentStatus, Confirmation};

fn fe(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

fn done(errors: Vec<FieldError>) -> Result<(), DomainError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::validation(errors))
    }
}

/// A colour as `#rrggbb` (lower case), or an error for the field.
pub fn colour(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    let ok = s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(fe(
            field,
            "a colour is # and six hexadecimal digits, e.g. #3b82f6",
        ))
    }
}

/// An appointment type as entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppointmentTypeInput {
    pub name: String,
    pub colour: String,
    /// `X` and `/`, in units of `unit_minutes`.
    pub pattern: String,
    pub unit_minutes: i64,
}

impl AppointmentTypeInput {
    /// The name trimmed, the colour normalized and the pattern parsed; every problem at once.
    pub fn validate(&self) -> Result<(String, String, Pattern), DomainError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 80 {
            errors.push(fe("name", "between 1 and 80 characters"));
        }
        let colour = colour("colour", &self.colour)
            .map_err(|e| errors.push(e))
            .ok();
        let pattern = Pattern::parse(&self.pattern, self.unit_minutes)
            .map_err(|e| errors.extend(e.fields))
            .ok();
        done(errors)?;
        match (colour, pattern) {
            (Some(c), Some(p)) => Ok((name, c, p)),
            _ => Err(DomainError::field("pattern", "not valid")),
        }
    }
}

/// A chair (operatory) as entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatoryInput {
    pub name: String,
    pub short_name: String,
}

impl OperatoryInput {
    pub fn validate(&self) -> Result<(String, String), DomainError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 60 {
            errors.push(fe("name", "between 1 and 60 characters"));
        }
        let mut short = self.short_name.trim().to_string();
        if short.is_empty() {
            short = name.chars().take(6).collect();
        }
        if short.chars().count() > 12 {
            errors.push(fe("short_name", "at most 12 characters"));
        }
        done(errors)?;
        Ok((name, short))
    }
}

/// Part of the day a patient on the ASAP list can come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayPart {
    Any,
    Morning,
    Afternoon,
}

impl DayPart {
    pub fn as_str(self) -> &'static str {
        match self {
            DayPart::Any => "any",
            DayPart::Morning => "morning",
            DayPart::Afternoon => "afternoon",
        }
    }

    pub fn parse(s: &str) -> Option<DayPart> {
        [DayPart::Any, DayPart::Morning, DayPart::Afternoon]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    /// The local hours this part of the day covers.
    pub fn window(self) -> Option<(Time, Time)> {
        let noon = Time::constant(12, 0, 0, 0);
        match self {
            DayPart::Any => None,
            DayPart::Morning => Some((Time::midnight(), noon)),
            DayPart::Afternoon => Some((noon, Time::MAX)),
        }
    }
}

/// What a patient on the ASAP list can take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitlistWish {
    pub duration_minutes: i64,
    pub earliest: Option<Date>,
    pub latest: Option<Date>,
    /// Empty: any day.
    pub weekdays: Vec<Weekday>,
    pub day_part: DayPart,
    /// Only with this provider (`None`: anyone).
    pub provider: Option<crate::kernel::ids::UserId>,
}

/// A freed slot, in the location's local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreedSlot {
    pub date: Date,
    pub start: Time,
    pub end: Time,
    pub minutes: i64,
    pub provider: Option<crate::kernel::ids::UserId>,
}

impl WaitlistWish {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.duration_minutes <= 0 || self.duration_minutes > pattern::MAX_MINUTES {
            errors.push(fe("duration_minutes", "between 5 minutes and 12 hours"));
        }
        if let (Some(a), Some(b)) = (self.earliest, self.latest)
            && b < a
        {
            errors.push(fe("latest", "must not be before the earliest date"));
        }
        done(errors)
    }

    /// True when the patient could take the freed slot.
    pub fn fits(&self, slot: &FreedSlot) -> bool {
        if self.duration_minutes > slot.minutes {
            return false;
        }
        if self.earliest.is_some_and(|d| slot.date < d)
            || self.latest.is_some_and(|d| slot.date > d)
        {
            return false;
        }
        if !self.weekdays.is_empty() && !self.weekdays.contains(&slot.date.weekday()) {
            return false;
        }
        if let (Some(want), Some(have)) = (self.provider, slot.provider)
            && want != have
        {
            return false;
        }
        match self.day_part.window() {
            None => true,
            // The patient's part of the day must hold an appointment of their length inside
            // the freed time.
            Some((from, to)) => {
                let start = slot.start.max(from);
                let end = slot.end.min(to);
                let mins = |t: Time| i64::from(t.hour()) * 60 + i64::from(t.minute());
                end > start
                    && mins(end) - mins(start) + i64::from(end == Time::MAX)
                        >= self.duration_minutes
            }
        }
    }
}

/// When a recall falls due: the last visit that satisfied it plus the interval (end of month
/// kept: 31 August + 6 months is 28 or 29 February), or `None` when nothing satisfied it yet.
pub fn recall_due(last: Option<Date>, interval_months: i32) -> Option<Date> {
    let last = last?;
    last.checked_add(jiff::Span::new().months(interval_months))
        .ok()
}

/// A recall's state on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallState {
    /// Due later than the window.
    NotDue,
    /// Due within the window (e.g. the next 30 days).
    DueSoon,
    Overdue,
}

pub fn recall_state(due: Date, today: Date, window_days: i32) -> RecallState {
    if due < today {
        RecallState::Overdue
    } else if today
        .checked_add(jiff::Span::new().days(window_days))
        .is_ok_and(|limit| due <= limit)
    {
        RecallState::DueSoon
    } else {
        RecallState::NotDue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn appointment_types_and_chairs_are_checked_field_by_field() {
        let ok = AppointmentTypeInput {
            name: " Crown prep ".into(),
            colour: "#3B82F6".into(),
            pattern: "//XXXX//".into(),
            unit_minutes: 10,
        };
        let (name, colour, p) = ok.validate().unwrap();
        assert_eq!(
            (name.as_str(), colour.as_str(), p.minutes()),
            ("Crown prep", "#3b82f6", 80)
        );
        let bad = AppointmentTypeInput {
            name: "".into(),
            colour: "blue".into(),
            pattern: "XY".into(),
            unit_minutes: 10,
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .fields
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["name", "colour", "pattern"]);
        let (n, s) = OperatoryInput {
            name: "Operatory 1".into(),
            short_name: "".into(),
        }
        .validate()
        .unwrap();
        assert_eq!((n.as_str(), s.as_str()), ("Operatory 1", "Operat"));
    }

    #[test]
    fn asap_wishes_match_freed_slots() {
        let wish = WaitlistWish {
            duration_minutes: 60,
            earliest: Some(date(2027, 5, 1)),
            latest: Some(date(2027, 5, 31)),
            weekdays: vec![Weekday::Tuesday, Weekday::Thursday],
            day_part: DayPart::Morning,
            provider: None,
        };
        let slot = FreedSlot {
            date: date(2027, 5, 4), // a Tuesday
            start: time(10, 0, 0, 0),
            end: time(12, 0, 0, 0),
            minutes: 120,
            provider: None,
        };
        assert!(wish.fits(&slot));
        assert!(
            !wish.fits(&FreedSlot {
                date: date(2027, 5, 5),
                ..slot.clone()
            }),
            "a Wednesday"
        );
        assert!(
            !wish.fits(&FreedSlot {
                start: time(11, 30, 0, 0),
                ..slot.clone()
            }),
            "30 minutes of morning"
        );
        assert!(
            !wish.fits(&FreedSlot {
                date: date(2027, 6, 1),
                ..slot.clone()
            }),
            "after the latest date"
        );
        assert!(!wish.fits(&FreedSlot {
            minutes: 45,
            ..slot.clone()
        }));
        let afternoon = WaitlistWish {
            day_part: DayPart::Afternoon,
            ..wish.clone()
        };
        assert!(afternoon.fits(&FreedSlot {
            start: time(12, 0, 0, 0),
            end: time(13, 0, 0, 0),
            ..slot.clone()
        }));
        assert!(!afternoon.fits(&slot));
        assert!(
            WaitlistWish {
                latest: Some(date(2027, 4, 1)),
                ..wish
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn recalls_fall_due_after_their_interval() {
        assert_eq!(
            recall_due(Some(date(2027, 8, 31)), 6),
            Some(date(2028, 2, 29))
        );
        assert_eq!(
            recall_due(Some(date(2027, 1, 15)), 12),
            Some(date(2028, 1, 15))
        );
        assert_eq!(recall_due(None, 6), None);
        let today = date(2027, 6, 1);
        assert_eq!(
            recall_state(date(2027, 5, 31), today, 30),
            RecallState::Overdue
        );
        assert_eq!(
            recall_state(date(2027, 6, 20), today, 30),
            RecallState::DueSoon
        );
        assert_eq!(
            recall_state(date(2027, 8, 1), today, 30),
            RecallState::NotDue
        );
    }
}

/// When a blockout recurs: every week on a weekday (between optional dates), or on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockoutRule {
    /// Monday = 1 … Sunday = 7.
    pub weekday: Option<i8>,
    pub day: Option<Date>,
    pub start: Time,
    pub end: Time,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
}

impl BlockoutRule {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        match (self.weekday, self.day) {
            (Some(w), None) if (1..=7).contains(&w) => {}
            (None, Some(_)) => {}
            _ => errors.push(fe("weekday", "choose a weekday (every week) or one date")),
        }
        if self.end <= self.start {
            errors.push(fe("end_time", "must be after the start"));
        }
        if let (Some(a), Some(b)) = (self.valid_from, self.valid_to)
            && b < a
        {
            errors.push(fe("valid_to", "must not be before the first date"));
        }
        done(errors)
    }

    pub fn occurs_on(&self, date: Date) -> bool {
        if let Some(d) = self.day {
            return d == date;
        }
        let Some(w) = self.weekday else {
            return false;
        };
        date.weekday().to_monday_one_offset() == w
            && self.valid_from.is_none_or(|f| date >= f)
            && self.valid_to.is_none_or(|t| date <= t)
    }
}

#[cfg(test)]
mod blockout_tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn blockouts_recur_weekly_between_dates_or_once() {
        let tuesdays = BlockoutRule {
            weekday: Some(2),
            day: None,
            start: time(8, 0, 0, 0),
            end: time(12, 0, 0, 0),
            valid_from: Some(date(2027, 1, 1)),
            valid_to: None,
        };
        tuesdays.validate().unwrap();
        assert!(tuesdays.occurs_on(date(2027, 5, 4)));
        assert!(!tuesdays.occurs_on(date(2027, 5, 5)));
        assert!(!tuesdays.occurs_on(date(2026, 12, 29)), "before it starts");
        let once = BlockoutRule {
            weekday: None,
            day: Some(date(2027, 5, 5)),
            ..tuesdays.clone()
        };
        assert!(once.occurs_on(date(2027, 5, 5)) && !once.occurs_on(date(2027, 5, 12)));
        assert!(
            BlockoutRule {
                weekday: Some(9),
                ..tuesdays.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            BlockoutRule {
                end: time(7, 0, 0, 0),
                ..tuesdays
            }
            .validate()
            .is_err()
        );
    }
}
