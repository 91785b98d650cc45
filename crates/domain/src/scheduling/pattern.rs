//! An appointment's time pattern, as Open Dental has it: one character per time unit, `X` when
//! the dentist (the appointment's provider) is needed and `/` when only the assistant or
//! hygienist is. "//XXXX//" is an 80-minute crown prep in 10-minute units where the dentist is
//! busy for the middle 40 minutes; the same dentist can work another chair meanwhile.

use serde::{Deserialize, Serialize};

use crate::kernel::error::DomainError;

/// The length of one pattern unit, in minutes: 5 or 10 (a setting of the organization).
pub const UNIT_CHOICES: [i64; 2] = [5, 10];

/// The longest appointment: 12 hours. The database relies on it to bound its overlap checks.
pub const MAX_MINUTES: i64 = 12 * 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    units: Vec<bool>,
    unit_minutes: i64,
}

impl Pattern {
    /// Parses `X` and `/` (lower-case `x` too), in units of `unit_minutes`.
    pub fn parse(text: &str, unit_minutes: i64) -> Result<Pattern, DomainError> {
        if !UNIT_CHOICES.contains(&unit_minutes) {
            return Err(DomainError::field(
                "unit_minutes",
                "a pattern unit is 5 or 10 minutes",
            ));
        }
        let mut units = Vec::with_capacity(text.len());
        for c in text.trim().chars() {
            match c {
                'X' | 'x' => units.push(true),
                '/' => units.push(false),
                _ => {
                    return Err(DomainError::field(
                        "pattern",
                        format!(
                            "use X for the provider's time and / for the assistant's (found {c:?})"
                        ),
                    ));
                }
            }
        }
        if units.is_empty() {
            return Err(DomainError::field("pattern", "must not be empty"));
        }
        if units.len() as i64 * unit_minutes > MAX_MINUTES {
            return Err(DomainError::field(
                "pattern",
                format!("an appointment lasts at most {} hours", MAX_MINUTES / 60),
            ));
        }
        Ok(Pattern {
            units,
            unit_minutes,
        })
    }

    /// The whole appointment needs the provider (a pattern of `X`s lasting `minutes`, rounded
    /// up to whole units).
    pub fn provider_throughout(minutes: i64, unit_minutes: i64) -> Result<Pattern, DomainError> {
        if minutes <= 0 {
            return Err(DomainError::field(
                "duration_minutes",
                "must be more than zero",
            ));
        }
        let unit = if UNIT_CHOICES.contains(&unit_minutes) {
            unit_minutes
        } else {
            5
        };
        let n = (minutes + unit - 1) / unit;
        Pattern::parse(&"X".repeat(n.clamp(1, MAX_MINUTES / unit) as usize), unit).and_then(|p| {
            if minutes > MAX_MINUTES {
                Err(DomainError::field(
                    "duration_minutes",
                    format!("an appointment lasts at most {} hours", MAX_MINUTES / 60),
                ))
            } else {
                Ok(p)
            }
        })
    }

    /// This pattern stretched or cut to `minutes` (a resized appointment): units are added
    /// or removed at the end, keeping the last unit's kind.
    pub fn resized(&self, minutes: i64) -> Result<Pattern, DomainError> {
        if minutes <= 0 {
            return Err(DomainError::field(
                "duration_minutes",
                "must be more than zero",
            ));
        }
        if minutes > MAX_MINUTES {
            return Err(DomainError::field(
                "duration_minutes",
                format!("an appointment lasts at most {} hours", MAX_MINUTES / 60),
            ));
        }
        let n = ((minutes + self.unit_minutes - 1) / self.unit_minutes) as usize;
        let last = self.units.last().copied().unwrap_or(true);
        let mut units: Vec<bool> = self.units.iter().copied().take(n).collect();
        units.resize(n, last);
        Ok(Pattern {
            units,
            unit_minutes: self.unit_minutes,
        })
    }

    pub fn unit_minutes(&self) -> i64 {
        self.unit_minutes
    }

    pub fn units(&self) -> usize {
        self.units.len()
    }

    pub fn minutes(&self) -> i64 {
        self.units.len() as i64 * self.unit_minutes
    }

    /// The provider's runs as `(first unit, number of units)`.
    pub fn provider_runs(&self) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < self.units.len() {
            if self.units[i] {
                let start = i;
                while i < self.units.len() && self.units[i] {
                    i += 1;
                }
                runs.push((start, i - start));
            } else {
                i += 1;
            }
        }
        runs
    }

    /// The provider's busy times for an appointment starting at `start_us` (microseconds).
    pub fn provider_spans(&self, start_us: i64) -> Vec<(i64, i64)> {
        let unit = self.unit_minutes * 60_000_000;
        self.provider_runs()
            .into_iter()
            .map(|(s, n)| (start_us + s as i64 * unit, start_us + (s + n) as i64 * unit))
            .collect()
    }

    /// The pattern as text: `X` and `/`.
    pub fn as_text(&self) -> String {
        self.units
            .iter()
            .map(|&p| if p { 'X' } else { '/' })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_and_give_the_providers_time() {
        let p = Pattern::parse("//XXXX//", 10).unwrap();
        assert_eq!((p.units(), p.minutes()), (8, 80));
        assert_eq!(p.provider_runs(), vec![(2, 4)]);
        assert_eq!(p.provider_spans(0), vec![(1_200_000_000, 3_600_000_000)]);
        let q = Pattern::parse("x/xx/", 5).unwrap();
        assert_eq!(q.provider_runs(), vec![(0, 1), (2, 2)]);
        assert_eq!(q.as_text(), "X/XX/");
        assert!(Pattern::parse("", 10).is_err());
        assert!(
            Pattern::parse("XO", 10)
                .unwrap_err()
                .message
                .contains("'O'")
        );
        assert!(Pattern::parse("X", 15).is_err());
        assert!(
            Pattern::parse(&"X".repeat(73), 10).is_err(),
            "over 12 hours"
        );
        assert_eq!(Pattern::parse("////", 10).unwrap().provider_runs(), vec![]);
    }

    #[test]
    fn durations_become_patterns_and_resize() {
        let p = Pattern::provider_throughout(45, 10).unwrap();
        assert_eq!(p.as_text(), "XXXXX");
        assert!(Pattern::provider_throughout(0, 10).is_err());
        assert!(Pattern::provider_throughout(-5, 10).is_err());
        assert!(Pattern::provider_throughout(13 * 60, 10).is_err());
        let crown = Pattern::parse("//XXXX//", 10).unwrap();
        assert_eq!(crown.resized(100).unwrap().as_text(), "//XXXX////");
        assert_eq!(crown.resized(30).unwrap().as_text(), "//X");
        assert!(crown.resized(0).is_err());
    }
}
