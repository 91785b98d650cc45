//! Tenancy: an `Organization` (the tenant: a practice or a dental group) and its `Location`s
//! (clinics), each with its own IANA time zone, currency, locale, address and opening hours.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, FieldError};
use crate::kernel::ids::{LocationId, OrgId};
use crate::kernel::money::Currency;

/// Locales the user interface is translated into.
pub const SUPPORTED_LOCALES: &[&str] = &["en", "fr"];

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    /// Lower-case, URL-safe, unique across the installation.
    pub slug: String,
}

impl Organization {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(fe("name", "must not be empty"));
        }
        if self.name.chars().count() > 200 {
            errors.push(fe("name", "must be at most 200 characters"));
        }
        if !valid_slug(&self.slug) {
            errors.push(fe(
                "slug",
                "must be 2 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ));
        }
        done(errors)
    }
}

fn valid_slug(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Address {
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

impl Address {
    /// One line for lists: "12 Main St, Springfield, IL 62701, US".
    pub fn one_line(&self) -> String {
        let region_postal = [self.region.as_str(), self.postal_code.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        [
            self.line1.as_str(),
            self.line2.as_str(),
            self.city.as_str(),
            region_postal.as_str(),
            self.country.as_str(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// Opening intervals of one weekday (several, for a lunch break). Empty means closed.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct DayHours {
    pub intervals: Vec<(Time, Time)>,
}

/// Opening hours Monday (index 0) to Sunday (index 6), in the location's wall-clock time.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct OpeningHours {
    pub days: [DayHours; 7],
}

impl OpeningHours {
    /// Weekdays with the same hours, weekends closed.
    pub fn weekdays(intervals: &[(Time, Time)]) -> Self {
        let mut h = OpeningHours::default();
        for d in h.days.iter_mut().take(5) {
            d.intervals = intervals.to_vec();
        }
        h
    }

    pub fn day(&self, wd: Weekday) -> &DayHours {
        let idx = usize::try_from(wd.to_monday_zero_offset()).unwrap_or(0);
        // `days` has 7 entries and the offset is 0..=6.
        &self.days[idx.min(6)]
    }

    pub fn is_open_at(&self, wd: Weekday, t: Time) -> bool {
        self.day(wd)
            .intervals
            .iter()
            .any(|(start, end)| *start <= t && t < *end)
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        for (i, day) in self.days.iter().enumerate() {
            let mut sorted = day.intervals.clone();
            sorted.sort();
            for (s, e) in &sorted {
                if s >= e {
                    errors.push(fe(
                        &format!("opening_hours.{i}"),
                        "an interval must end after it starts",
                    ));
                }
            }
            for w in sorted.windows(2) {
                if let [a, b] = w
                    && b.0 < a.1
                {
                    errors.push(fe(
                        &format!("opening_hours.{i}"),
                        "intervals must not overlap",
                    ));
                }
            }
        }
        done(errors)
    }

    /// Compact text: "Mon–Fri 08:00–12:00, 13:00–17:00; Sat closed".
    pub fn summary(&self) -> String {
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let fmt_day = |d: &DayHours| {
            if d.intervals.is_empty() {
                "closed".to_string()
            } else {
                d.intervals
                    .iter()
                    .map(|(s, e)| format!("{}–{}", s.strftime("%H:%M"), e.strftime("%H:%M")))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut groups: Vec<(usize, usize, String)> = Vec::new();
        for (i, d) in self.days.iter().enumerate() {
            let text = fmt_day(d);
            match groups.last_mut() {
                Some(g) if g.2 == text => g.1 = i,
                _ => groups.push((i, i, text)),
            }
        }
        groups
            .into_iter()
            .map(|(a, b, text)| {
                let from = NAMES.get(a).copied().unwrap_or("");
                let to = NAMES.get(b).copied().unwrap_or("");
                if a == b {
                    format!("{from} {text}")
                } else {
                    format!("{from}–{to} {text}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Location {
    pub id: LocationId,
    pub org_id: OrgId,
    pub name: String,
    /// IANA time zone name, e.g. "America/Toronto".
    pub time_zone: String,
    pub currency: Currency,
    /// UI locale: "en" or "fr".
    pub locale: String,
    pub address: Address,
    pub opening_hours: OpeningHours,
}

impl Location {
    pub fn tz(&self) -> Result<TimeZone, DomainError> {
        TimeZone::get(&self.time_zone).map_err(|_| {
            DomainError::field(
                "time_zone",
                format!("unknown time zone {:?}", self.time_zone),
            )
        })
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(fe("name", "must not be empty"));
        }
        if let Err(e) = self.tz() {
            errors.extend(e.fields);
        }
        if !SUPPORTED_LOCALES.contains(&self.locale.as_str()) {
            errors.push(fe(
                "locale",
                &format!("must be one of {}", SUPPORTED_LOCALES.join(", ")),
            ));
        }
        if !self.address.country.is_empty()
            && (self.address.country.len() != 2
                || !self.address.country.chars().all(|c| c.is_ascii_uppercase()))
        {
            errors.push(fe("address.country", "must be an ISO 3166 two-letter code"));
        }
        if let Err(e) = self.opening_hours.validate() {
            errors.extend(e.fields);
        }
        done(errors)
    }
}

fn fe(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.to_string(),
    }
}

fn done(errors: Vec<FieldError>) -> Result<(), DomainError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;
    use uuid::Uuid;

    fn loc(tz: &str) -> Location {
        Location {
            id: LocationId::from_uuid(Uuid::from_u128(2)),
            org_id: OrgId::from_uuid(Uuid::from_u128(1)),
            name: "Downtown".into(),
            time_zone: tz.into(),
            currency: Currency::CAD,
            locale: "fr".into(),
            address: Address {
                line1: "1200 rue Sainte-Catherine".into(),
                city: "Montréal".into(),
                region: "QC".into(),
                postal_code: "H3B 1K9".into(),
                country: "CA".into(),
                ..Address::default()
            },
            opening_hours: OpeningHours::weekdays(&[
                (time(8, 0, 0, 0), time(12, 0, 0, 0)),
                (time(13, 0, 0, 0), time(17, 0, 0, 0)),
            ]),
        }
    }

    #[test]
    fn valid_location() {
        let l = loc("America/Toronto");
        l.validate().unwrap();
        assert!(
            l.opening_hours
                .is_open_at(Weekday::Monday, time(9, 0, 0, 0))
        );
        assert!(
            !l.opening_hours
                .is_open_at(Weekday::Monday, time(12, 30, 0, 0))
        );
        assert!(
            !l.opening_hours
                .is_open_at(Weekday::Sunday, time(9, 0, 0, 0))
        );
        assert_eq!(
            l.opening_hours.summary(),
            "Mon–Fri 08:00–12:00, 13:00–17:00; Sat–Sun closed"
        );
        assert_eq!(
            l.address.one_line(),
            "1200 rue Sainte-Catherine, Montréal, QC H3B 1K9, CA"
        );
    }

    #[test]
    fn invalid_location_names_each_field() {
        let mut l = loc("Mars/Olympus");
        l.name = " ".into();
        l.locale = "de".into();
        l.opening_hours.days[0].intervals = vec![(time(9, 0, 0, 0), time(8, 0, 0, 0))];
        let err = l.validate().unwrap_err();
        let fields: Vec<_> = err.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["name", "time_zone", "locale", "opening_hours.0"]
        );
    }

    #[test]
    fn slugs() {
        let mut o = Organization {
            id: OrgId::from_uuid(Uuid::from_u128(1)),
            name: "Smile Dental Group".into(),
            slug: "smile-dental".into(),
        };
        o.validate().unwrap();
        o.slug = "-Bad".into();
        assert!(o.validate().is_err());
    }
}
