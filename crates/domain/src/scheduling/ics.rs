//! iCalendar (RFC 5545) output: agenda feeds and a patient's appointment. Times are written in
//! the location's zone with a VTIMEZONE built from the time zone database's own transitions
//! for the calendar's span, so a client needs no zone rules of its own to place them right on
//! DST days.

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

/// One event of a calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcsEvent {
    /// Stable across versions of the event (`app-<id>@cuspid`).
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub location: String,
    pub description: String,
    /// CONFIRMED, TENTATIVE or CANCELLED.
    pub status: &'static str,
    /// Grows with each change (the appointment's version).
    pub sequence: i64,
    pub updated: Timestamp,
}

/// A whole VCALENDAR, CRLF line endings, lines folded at 75 octets. The VTIMEZONE covers
/// `span` (the feed's window) and every event.
pub fn calendar(
    name: &str,
    tz: &TimeZone,
    events: &[IcsEvent],
    now: Timestamp,
    span: (Timestamp, Timestamp),
) -> Result<String, String> {
    let tzid = tz
        .iana_name()
        .ok_or_else(|| "the location's time zone has no IANA name".to_string())?;
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Cuspid//Agenda//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", text(name)),
        format!("X-WR-TIMEZONE:{tzid}"),
    ];
    let from = events
        .iter()
        .map(|e| e.start)
        .min()
        .unwrap_or(span.0)
        .min(span.0);
    let to = events
        .iter()
        .map(|e| e.end)
        .max()
        .unwrap_or(span.1)
        .max(span.1);
    lines.extend(vtimezone(tz, tzid, from, to));
    for e in events {
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!("UID:{}", text(&e.uid)));
        lines.push(format!("DTSTAMP:{}", utc(now)));
        lines.push(format!("LAST-MODIFIED:{}", utc(e.updated)));
        lines.push(format!("DTSTART;TZID={tzid}:{}", local(tz, e.start)));
        lines.push(format!("DTEND;TZID={tzid}:{}", local(tz, e.end)));
        lines.push(format!("SUMMARY:{}", text(&e.summary)));
        if !e.location.is_empty() {
            lines.push(format!("LOCATION:{}", text(&e.location)));
        }
        if !e.description.is_empty() {
            lines.push(format!("DESCRIPTION:{}", text(&e.description)));
        }
        lines.push(format!("STATUS:{}", e.status));
        lines.push(format!("SEQUENCE:{}", e.sequence.max(0)));
        lines.push("TRANSP:OPAQUE".into());
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for l in lines {
        fold(&l, &mut out);
    }
    Ok(out)
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn local(tz: &TimeZone, t: Timestamp) -> String {
    t.to_zoned(tz.clone()).strftime("%Y%m%dT%H%M%S").to_string()
}

fn offset(o: Offset) -> String {
    let secs = o.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    if a.is_multiple_of(60) {
        format!("{sign}{:02}{:02}", a / 3600, a / 60 % 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", a / 3600, a / 60 % 60, a % 60)
    }
}

/// The zone's transitions that matter for `[from, to]`: the last one before `from` (so the
/// offset in force is known) and every one up to `to`, each as a STANDARD or DAYLIGHT part.
fn vtimezone(tz: &TimeZone, tzid: &str, from: Timestamp, to: Timestamp) -> Vec<String> {
    let mut out = vec!["BEGIN:VTIMEZONE".to_string(), format!("TZID:{tzid}")];
    let mut transitions: Vec<(Timestamp, Offset, String, bool)> = Vec::new();
    if let Some(t) = tz.preceding(from).next() {
        transitions.push((
            t.timestamp(),
            t.offset(),
            t.abbreviation().to_string(),
            t.dst().is_dst(),
        ));
    }
    for t in tz.following(from) {
        if t.timestamp() > to {
            break;
        }
        transitions.push((
            t.timestamp(),
            t.offset(),
            t.abbreviation().to_string(),
            t.dst().is_dst(),
        ));
    }
    if transitions.is_empty() {
        // A zone without changes: one STANDARD part from the epoch.
        let info = tz.to_offset_info(from);
        let o = offset(info.offset());
        out.extend([
            "BEGIN:STANDARD".to_string(),
            "DTSTART:19700101T000000".to_string(),
            format!("TZOFFSETFROM:{o}"),
            format!("TZOFFSETTO:{o}"),
            format!("TZNAME:{}", text(info.abbreviation())),
            "END:STANDARD".to_string(),
        ]);
    }
    for (at, to_offset, abbr, dst) in transitions {
        // The offset just before the change; DTSTART is the local time in it.
        let before = tz.to_offset(Timestamp::from_second(at.as_second() - 1).unwrap_or(at));
        let start = at
            .to_zoned(TimeZone::fixed(before))
            .strftime("%Y%m%dT%H%M%S")
            .to_string();
        let part = if dst { "DAYLIGHT" } else { "STANDARD" };
        out.extend([
            format!("BEGIN:{part}"),
            format!("DTSTART:{start}"),
            format!("TZOFFSETFROM:{}", offset(before)),
            format!("TZOFFSETTO:{}", offset(to_offset)),
            format!("TZNAME:{}", text(&abbr)),
            format!("END:{part}"),
        ]);
    }
    out.push("END:VTIMEZONE".into());
    out
}

/// TEXT escaping: backslash, semicolon, comma and line breaks.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line folded at 75 octets (never inside a UTF-8 sequence), CRLF ended.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calendar_across_both_changes_of_2027_in_toronto() {
        let tz = TimeZone::get("America/Toronto").unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let events = vec![
            IcsEvent {
                uid: "app-1@cuspid".into(),
                start: at("2027-03-12T14:00:00Z"),
                end: at("2027-03-12T15:00:00Z"),
                summary: "J. S. \u{2014} Crown prep; upper right, #16".into(),
                location: "Burlington, Operatory 1".into(),
                description: "".into(),
                status: "CONFIRMED",
                sequence: 2,
                updated: at("2027-03-01T10:00:00Z"),
            },
            IcsEvent {
                uid: "app-2@cuspid".into(),
                start: at("2027-11-08T14:00:00Z"),
                end: at("2027-11-08T14:30:00Z"),
                summary: "Recall".into(),
                location: "".into(),
                description: "a very long line ".repeat(10),
                status: "TENTATIVE",
                sequence: 1,
                updated: at("2027-03-01T10:00:00Z"),
            },
        ];
        let now = at("2027-03-01T12:00:00Z");
        let ics = calendar("Dr Ada Lovelace", &tz, &events, now, (now, now)).unwrap();
        assert!(ics.lines().all(|l| l.len() <= 76), "folded");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        // 9:00 EST on 12 March, 9:00 EST again on 8 November (after the fall back).
        assert!(ics.contains("DTSTART;TZID=America/Toronto:20270312T090000\r\n"));
        assert!(ics.contains("DTSTART;TZID=America/Toronto:20271108T090000\r\n"));
        // The changes of 2027, and the one in force before the first event.
        assert!(ics.contains("BEGIN:DAYLIGHT\r\nDTSTART:20270314T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nEND:DAYLIGHT"));
        assert!(ics.contains("BEGIN:STANDARD\r\nDTSTART:20271107T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nEND:STANDARD"));
        assert!(ics.contains("DTSTART:20261101T020000"));
        assert!(ics.contains("SUMMARY:J. S. \u{2014} Crown prep\\; upper right\\, #16"));
        // A zone that never changes still has a STANDARD part.
        let kolkata = TimeZone::get("Asia/Kolkata").unwrap();
        let ics = calendar("x", &kolkata, &events[..1], now, (now, now)).unwrap();
        assert!(ics.contains("TZOFFSETTO:+0530"), "{ics}");
    }
}
