//! An appointment's status and the patient flow: scheduled → confirmed → arrived → seated →
//! completed, or no-show, cancelled (with a reason) and rescheduled (replaced by another
//! appointment, which keeps the link).

use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, ErrorCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Scheduled,
    Confirmed,
    Arrived,
    Seated,
    Completed,
    NoShow,
    Cancelled,
    Rescheduled,
}

pub const ALL_STATUSES: [AppointmentStatus; 8] = [
    AppointmentStatus::Scheduled,
    AppointmentStatus::Confirmed,
    AppointmentStatus::Arrived,
    AppointmentStatus::Seated,
    AppointmentStatus::Completed,
    AppointmentStatus::NoShow,
    AppointmentStatus::Cancelled,
    AppointmentStatus::Rescheduled,
];

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Scheduled => "scheduled",
            AppointmentStatus::Confirmed => "confirmed",
            AppointmentStatus::Arrived => "arrived",
            AppointmentStatus::Seated => "seated",
            AppointmentStatus::Completed => "completed",
            AppointmentStatus::NoShow => "no_show",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::Rescheduled => "rescheduled",
        }
    }

    pub fn parse(s: &str) -> Option<AppointmentStatus> {
        ALL_STATUSES.into_iter().find(|st| st.as_str() == s)
    }

    /// Holds its chair, provider and patient: the database refuses an overlapping one. A
    /// no-show, a cancellation or a rescheduled appointment frees its time.
    pub fn holds_time(self) -> bool {
        matches!(
            self,
            AppointmentStatus::Scheduled
                | AppointmentStatus::Confirmed
                | AppointmentStatus::Arrived
                | AppointmentStatus::Seated
                | AppointmentStatus::Completed
        )
    }

    /// Still to happen or happening: it can be moved, resized or edited.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            AppointmentStatus::Scheduled
                | AppointmentStatus::Confirmed
                | AppointmentStatus::Arrived
                | AppointmentStatus::Seated
        )
    }

    /// The statuses this one may change to. Going back one step is allowed (a patient marked
    /// arrived by mistake), so is undoing a no-show or a cancellation by booking again
    /// (which is a new appointment, not a transition).
    pub fn next(self) -> &'static [AppointmentStatus] {
        use AppointmentStatus::*;
        match self {
            Scheduled => &[Confirmed, Arrived, NoShow, Cancelled, Rescheduled],
            Confirmed => &[Scheduled, Arrived, NoShow, Cancelled, Rescheduled],
            Arrived => &[Confirmed, Seated, Completed, Cancelled],
            Seated => &[Arrived, Completed],
            Completed => &[Seated],
            NoShow => &[Scheduled],
            Cancelled | Rescheduled => &[],
        }
    }

    /// Checks a change of status.
    pub fn check_change(self, to: AppointmentStatus) -> Result<(), DomainError> {
        if self == to || self.next().contains(&to) {
            Ok(())
        } else {
            Err(DomainError::new(
                ErrorCode::Conflict,
                format!(
                    "an appointment that is {} cannot become {}",
                    self.as_str().replace('_', " "),
                    to.as_str().replace('_', " ")
                ),
            )
            .with_field("status", "not allowed from the current status"))
        }
    }
}

/// What the office knows of the patient's confirmation (the communications issue sends the
/// reminders and records the answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    Unconfirmed,
    LeftMessage,
    Confirmed,
    Declined,
}

impl Confirmation {
    pub fn as_str(self) -> &'static str {
        match self {
            Confirmation::Unconfirmed => "unconfirmed",
            Confirmation::LeftMessage => "left_message",
            Confirmation::Confirmed => "confirmed",
            Confirmation::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Confirmation> {
        [
            Confirmation::Unconfirmed,
            Confirmation::LeftMessage,
            Confirmation::Confirmed,
            Confirmation::Declined,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppointmentStatus::*;

    #[test]
    fn the_patient_flow_and_its_exits() {
        for (from, to) in [
            (Scheduled, Confirmed),
            (Confirmed, Arrived),
            (Arrived, Seated),
            (Seated, Completed),
            (Scheduled, NoShow),
            (Confirmed, Cancelled),
            (Arrived, Confirmed),
            (NoShow, Scheduled),
            (Scheduled, Scheduled),
        ] {
            assert!(from.check_change(to).is_ok(), "{from:?} → {to:?}");
        }
        for (from, to) in [
            (Scheduled, Completed),
            (Cancelled, Scheduled),
            (Completed, Cancelled),
            (Seated, NoShow),
            (Rescheduled, Confirmed),
        ] {
            let e = from.check_change(to).unwrap_err();
            assert_eq!(e.code, ErrorCode::Conflict, "{from:?} → {to:?}");
        }
        for s in ALL_STATUSES {
            assert_eq!(AppointmentStatus::parse(s.as_str()), Some(s));
        }
        assert!(Completed.holds_time() && !NoShow.holds_time() && !Cancelled.holds_time());
        assert!(Seated.is_open() && !Completed.is_open());
    }
}
