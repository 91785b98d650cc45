//! Clinical records: teeth and surfaces, the procedure and condition catalog, and charting.

pub mod case;
pub mod catalog;
pub mod chart;
pub mod perio;
pub mod rx;
pub mod teeth;
pub mod visit;
