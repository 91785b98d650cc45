//! Time comes in through a `Clock`. Timestamps are truncated to microseconds, the precision
//! PostgreSQL keeps, so a value read back equals the value written on both databases.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// Truncates a timestamp to whole microseconds.
pub fn truncate_micros(t: Timestamp) -> Timestamp {
    let micros = t.as_microsecond();
    Timestamp::from_microsecond(micros).unwrap_or(t)
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_micros(Timestamp::now())
    }
}

/// A clock that only moves when told to: for tests and reproducible generation.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<Timestamp>,
}

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        Self {
            now: Mutex::new(truncate_micros(at)),
        }
    }

    pub fn set(&self, at: Timestamp) {
        if let Ok(mut g) = self.now.lock() {
            *g = truncate_micros(at);
        }
    }

    pub fn advance(&self, by: SignedDuration) {
        if let Ok(mut g) = self.now.lock() {
            *g = g.checked_add(by).unwrap_or(*g);
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.now.lock().map(|g| *g).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let t0: Timestamp = "2026-03-08T06:59:59.123456789Z".parse().unwrap();
        let c = FixedClock::new(t0);
        assert_eq!(c.now().to_string(), "2026-03-08T06:59:59.123456Z");
        c.advance(SignedDuration::from_secs(2));
        assert_eq!(c.now().to_string(), "2026-03-08T07:00:01.123456Z");
    }

    #[test]
    fn system_clock_is_microsecond_precise() {
        let n = SystemClock.now();
        assert_eq!(n.subsec_nanosecond() % 1000, 0);
    }
}
