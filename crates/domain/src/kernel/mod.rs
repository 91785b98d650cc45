//! The kernel every context stands on: ids, money, time, tenancy, scope and the error model.

pub mod clock;
pub mod error;
pub mod ids;
pub mod money;
pub mod phone;
pub mod scope;
pub mod tenancy;
