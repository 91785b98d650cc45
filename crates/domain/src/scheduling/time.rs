//! Wall-clock times at a location and the instants they name. Appointments are stored as UTC
//! instants; the agenda shows them in the location's IANA zone, where a day may last 23 or 25
//! hours and some local times do not exist (the spring gap) or exist twice (the fall-back hour).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::kernel::error::DomainError;

/// The instant a local date and time name at a location. A time in the spring gap is refused
/// with a message that says so; a time in the fall-back hour (which happens twice) is its
/// first occurrence unless `second` asks for the repeat.
pub fn local_instant(
    tz: &TimeZone,
    date: Date,
    time: Time,
    second: bool,
    field: &str,
) -> Result<Timestamp, DomainError> {
    let dt = date.to_datetime(time);
    let amb = tz.to_ambiguous_timestamp(dt);
    if amb.is_ambiguous() {
        if let jiff::tz::AmbiguousOffset::Gap { before, after } = amb.offset() {
            return Err(DomainError::field(
                field,
                format!(
                    "{} does not exist on {} in {}: the clocks go from UTC{} to UTC{} (pick a time after the change)",
                    time.strftime("%H:%M"),
                    date,
                    tz.iana_name().unwrap_or("this time zone"),
                    before,
                    after
                ),
            ));
        }
        let chosen = if second { amb.later() } else { amb.earlier() };
        return chosen.map_err(|e| DomainError::field(field, e.to_string()));
    }
    amb.compatible()
        .map_err(|e| DomainError::field(field, e.to_string()))
}

/// A working-hours boundary on a date: like [`local_instant`], but a time in the gap means the
/// moment the clocks jump (a schedule from 02:00 on the spring-forward day starts at 03:00).
pub fn boundary(tz: &TimeZone, date: Date, time: Time) -> Result<Timestamp, DomainError> {
    let dt: DateTime = date.to_datetime(time);
    tz.to_ambiguous_timestamp(dt)
        .compatible()
        .map_err(|e| DomainError::field("date", e.to_string()))
}

/// The instants a local day runs between: `[start, next day's start)`, 23, 24 or 25 hours.
pub fn day_bounds(tz: &TimeZone, date: Date) -> Result<(Timestamp, Timestamp), DomainError> {
    let fail = |e: jiff::Error| DomainError::field("date", e.to_string());
    let start = date
        .to_zoned(tz.clone())
        .map_err(fail)?
        .start_of_day()
        .map_err(fail)?;
    let next = date
        .tomorrow()
        .map_err(fail)?
        .to_zoned(tz.clone())
        .map_err(fail)?
        .start_of_day()
        .map_err(fail)?;
    Ok((start.timestamp(), next.timestamp()))
}

/// An instant as seen at a location.
pub fn zoned(tz: &TimeZone, t: Timestamp) -> Zoned {
    t.to_zoned(tz.clone())
}

/// Microseconds since the Unix epoch (how the store keeps instants).
pub fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub fn from_us(v: i64) -> Timestamp {
    Timestamp::from_microsecond(v).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn toronto() -> TimeZone {
        TimeZone::get("America/Toronto").unwrap()
    }

    #[test]
    fn the_spring_gap_is_refused_and_the_fall_back_hour_has_two_instants() {
        let tz = toronto();
        // 2027-03-14: 02:00 EST becomes 03:00 EDT.
        let e =
            local_instant(&tz, date(2027, 3, 14), time(2, 30, 0, 0), false, "start").unwrap_err();
        assert_eq!(e.fields[0].field, "start");
        assert!(
            e.message.contains("02:30 does not exist on 2027-03-14"),
            "{}",
            e.message
        );
        let three =
            local_instant(&tz, date(2027, 3, 14), time(3, 0, 0, 0), false, "start").unwrap();
        assert_eq!(three.to_string(), "2027-03-14T07:00:00Z");
        // 2027-11-07: 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
        let first =
            local_instant(&tz, date(2027, 11, 7), time(1, 30, 0, 0), false, "start").unwrap();
        let again =
            local_instant(&tz, date(2027, 11, 7), time(1, 30, 0, 0), true, "start").unwrap();
        assert_eq!(first.to_string(), "2027-11-07T05:30:00Z");
        assert_eq!(again.to_string(), "2027-11-07T06:30:00Z");
        // A schedule boundary in the gap is the jump.
        assert_eq!(
            boundary(&tz, date(2027, 3, 14), time(2, 0, 0, 0))
                .unwrap()
                .to_string(),
            "2027-03-14T07:00:00Z"
        );
    }

    #[test]
    fn days_last_23_24_or_25_hours() {
        let tz = toronto();
        let hours = |d| {
            let (s, e) = day_bounds(&tz, d).unwrap();
            (e.as_second() - s.as_second()) / 3600
        };
        assert_eq!(hours(date(2027, 3, 14)), 23);
        assert_eq!(hours(date(2027, 3, 15)), 24);
        assert_eq!(hours(date(2027, 11, 7)), 25);
    }
}
