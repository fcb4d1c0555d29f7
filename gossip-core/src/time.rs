//! Virtual time: the engine never reads a clock; the driver passes [`Time`] in.

use std::ops::{Add, AddAssign};
use std::time::Duration;

/// A point in time, in microseconds since an epoch chosen by the driver.
///
/// The engine only ever compares times and adds durations to them, so any
/// monotonic epoch works: a runtime uses the moment it started, a simulator
/// uses zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

impl Time {
    /// The epoch.
    pub const ZERO: Time = Time(0);

    /// A time `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Time(micros)
    }

    /// A time `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Time(millis.saturating_mul(1000))
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// A time `since` after the epoch (saturating at the largest time).
    pub fn from_duration(since: Duration) -> Self {
        Time(u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Time) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    /// Saturating addition: time never wraps.
    fn add(self, rhs: Duration) -> Time {
        Time(self.0.saturating_add(u64::try_from(rhs.as_micros()).unwrap_or(u64::MAX)))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Time::from_millis(5);
        assert_eq!((t + Duration::from_millis(2)).as_micros(), 7_000);
        assert_eq!(Time::from_micros(3).saturating_duration_since(t), Duration::ZERO);
        assert_eq!((Time::from_micros(u64::MAX) + Duration::from_secs(1)).as_micros(), u64::MAX);
    }
}
