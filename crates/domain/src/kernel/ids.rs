//! Typed UUIDv7 identifiers, parsed once at the edge.
//!
//! Generation takes its time and random bits from the caller so the domain stays pure:
//! `PatientId::generate(clock.now(), rand_bytes)`.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use uuid::Uuid;

/// Builds a UUIDv7 from a timestamp and ten random bytes.
pub fn uuid_v7(at: Timestamp, random: [u8; 10]) -> Uuid {
    let millis = u64::try_from(at.as_millisecond()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Short human prefix used in logs ("org", "loc", ...).
            pub const PREFIX: &'static str = $prefix;

            pub const fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
            pub fn generate(at: Timestamp, random: [u8; 10]) -> Self {
                Self(uuid_v7(at, random))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}:{}", $prefix, self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

define_id!(
    /// An organization: the tenant (a practice or a dental group).
    OrgId,
    "org"
);
define_id!(
    /// A location: one clinic of an organization.
    LocationId,
    "loc"
);
define_id!(
    /// A staff user or a portal patient account.
    UserId,
    "usr"
);
define_id!(
    /// A durable job in the jobs/outbox table.
    JobId,
    "job"
);
define_id!(
    /// A domain event written to the outbox.
    EventId,
    "evt"
);
define_id!(
    /// A stored object (file) in object storage.
    ObjectId,
    "obj"
);
define_id!(
    /// A patient.
    PatientId,
    "pat"
);
define_id!(
    /// A family: patients sharing a guarantor (the responsible party).
    FamilyId,
    "fam"
);
define_id!(
    /// A patient's document (consent, referral, ID card, ...), one version of it.
    DocumentId,
    "doc"
);
define_id!(
    /// A merge of two patient records (kept so it can be undone).
    MergeId,
    "mrg"
);
define_id!(
    /// A chair (operatory) of a location.
    OperatoryId,
    "opr"
);
define_id!(
    /// A kind of appointment: name, colour and time pattern.
    AppointmentTypeId,
    "apt"
);
define_id!(
    /// An appointment.
    AppointmentId,
    "app"
);
define_id!(
    /// Time on the agenda reserved for some kinds of work.
    BlockoutId,
    "blk"
);
define_id!(
    /// A patient on the ASAP list.
    WaitlistId,
    "wai"
);
define_id!(
    /// A kind of recall (6-month hygiene, 12-month exam, ...).
    RecallTypeId,
    "rct"
);
define_id!(
    /// A secret iCalendar feed URL.
    CalendarFeedId,
    "cal"
);
define_id!(
    /// An entry of an organization's procedure and condition catalog.
    ProcedureCodeId,
    "prc"
);
define_id!(
    /// A charted procedure or condition.
    ChartEntryId,
    "chr"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_ids_sort_by_time_and_round_trip() {
        let a = OrgId::generate(Timestamp::from_second(1_700_000_000).unwrap(), [1; 10]);
        let b = OrgId::generate(Timestamp::from_second(1_700_000_001).unwrap(), [0; 10]);
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        let parsed: OrgId = a.to_string().parse().unwrap();
        assert_eq!(parsed, a);
        assert!("not-a-uuid".parse::<OrgId>().is_err());
        assert_eq!(format!("{a:?}"), format!("org:{a}"));
    }
}
