//! Cuspid's pure rules. This crate does no I/O: time comes in through a [`kernel::clock::Clock`],
//! randomness comes in as bytes, and nothing here knows about SQL or HTTP.

pub mod billing;
pub mod clinical;
pub mod identity;
pub mod kernel;
pub mod patients;
pub mod plans;
pub mod scheduling;

pub use kernel::clock::{Clock, FixedClock, SystemClock};
pub use kernel::error::{DomainError, ErrorCode, FieldError};
pub use kernel::ids::*;
pub use kernel::money::{Currency, Money, MoneyError};
pub use kernel::scope::{LocationAccess, Principal, Scope};
pub use kernel::tenancy::{Address, DayHours, Location, OpeningHours, Organization};
