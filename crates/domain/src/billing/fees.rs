//! Which fee applies: an insurance plan's schedule for its members, then the location's, then
//! the clinic's standard schedule, then the catalog's default. Within a schedule the fee in
//! effect is the one with the latest start on or before the day of the work.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    Standard,
    Location,
    Insurance,
}

impl ScheduleKind {
    pub const ALL: [ScheduleKind; 3] = [
        ScheduleKind::Standard,
        ScheduleKind::Location,
        ScheduleKind::Insurance,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ScheduleKind::Standard => "standard",
            ScheduleKind::Location => "location",
            ScheduleKind::Insurance => "insurance",
        }
    }

    pub fn from_code(c: &str) -> Option<ScheduleKind> {
        ScheduleKind::ALL.into_iter().find(|k| k.code() == c)
    }
}

/// Where a fee came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeSource {
    Insurance,
    Location,
    Standard,
    Catalog,
}

/// One fee of one schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeRow {
    pub kind: ScheduleKind,
    pub location: Option<uuid::Uuid>,
    pub payer: Option<String>,
    pub code: String,
    pub effective_from: Date,
    pub fee: i64,
}

/// The fee for `code` done on `on` at `location`, for a member of `payer` (if any).
pub fn pick(
    rows: &[FeeRow],
    code: &str,
    location: uuid::Uuid,
    payer: Option<&str>,
    on: Date,
    catalog: i64,
) -> (i64, FeeSource) {
    let latest = |ok: &dyn Fn(&FeeRow) -> bool| {
        rows.iter()
            .filter(|r| r.code == code && r.effective_from <= on && ok(r))
            .max_by_key(|r| r.effective_from)
            .map(|r| r.fee)
    };
    if let Some(p) = payer
        && let Some(f) = latest(&|r| {
            r.kind == ScheduleKind::Insurance
                && r.payer.as_deref() == Some(p)
                && r.location.is_none_or(|l| l == location)
        })
    {
        return (f, FeeSource::Insurance);
    }
    if let Some(f) = latest(&|r| r.kind == ScheduleKind::Location && r.location == Some(location)) {
        return (f, FeeSource::Location);
    }
    if let Some(f) = latest(&|r| r.kind == ScheduleKind::Standard) {
        return (f, FeeSource::Standard);
    }
    (catalog, FeeSource::Catalog)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use jiff::civil::date;

    fn row(
        kind: ScheduleKind,
        location: Option<u128>,
        payer: Option<&str>,
        from: Date,
        fee: i64,
    ) -> FeeRow {
        FeeRow {
            kind,
            location: location.map(uuid::Uuid::from_u128),
            payer: payer.map(str::to_string),
            code: "CROWN".into(),
            effective_from: from,
            fee,
        }
    }

    #[test]
    fn the_most_specific_schedule_in_effect_wins() {
        let here = uuid::Uuid::from_u128(1);
        let rows = [
            row(
                ScheduleKind::Standard,
                None,
                None,
                date(2026, 1, 1),
                110_000,
            ),
            row(
                ScheduleKind::Standard,
                None,
                None,
                date(2026, 7, 1),
                115_000,
            ),
            row(
                ScheduleKind::Location,
                Some(2),
                None,
                date(2026, 1, 1),
                99_000,
            ),
            row(
                ScheduleKind::Location,
                Some(1),
                None,
                date(2026, 9, 1),
                120_000,
            ),
            row(
                ScheduleKind::Insurance,
                None,
                Some("Delta PPO"),
                date(2026, 1, 1),
                89_000,
            ),
        ];
        let at = |d: Date, payer: Option<&str>| pick(&rows, "CROWN", here, payer, d, 100_000);
        assert_eq!(at(date(2025, 12, 31), None), (100_000, FeeSource::Catalog));
        assert_eq!(at(date(2026, 3, 1), None), (110_000, FeeSource::Standard));
        assert_eq!(at(date(2026, 7, 1), None), (115_000, FeeSource::Standard));
        assert_eq!(at(date(2026, 9, 1), None), (120_000, FeeSource::Location));
        assert_eq!(
            at(date(2026, 9, 1), Some("Delta PPO")),
            (89_000, FeeSource::Insurance)
        );
        assert_eq!(
            at(date(2026, 9, 1), Some("Other plan")),
            (120_000, FeeSource::Location)
        );
        assert_eq!(
            pick(&rows, "EXAM", here, None, date(2026, 9, 1), 6_500),
            (6_500, FeeSource::Catalog)
        );
    }
}
