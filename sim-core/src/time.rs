//! Simulated time: [`Time`] is an instant, [`Duration`] a span, both in nanoseconds.
//!
//! Neither is related to the wall clock. A run starts at [`Time::ZERO`] and only the
//! simulator advances it.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Serialize};

/// An instant of simulated time, in nanoseconds since the start of the run.
///
/// ```
/// use sim_core::{Duration, Time};
/// let t = Time::ZERO + Duration::from_millis(3);
/// assert_eq!(t.as_nanos(), 3_000_000);
/// assert_eq!(t - Time::ZERO, Duration::from_millis(3));
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Time(u64);

/// A span of simulated time, in nanoseconds.
///
/// ```
/// use sim_core::Duration;
/// assert_eq!(Duration::from_secs(1), Duration::from_millis(1_000));
/// assert_eq!(Duration::from_micros(5).as_nanos(), 5_000);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Duration(u64);

impl Time {
    /// The start of every run.
    pub const ZERO: Time = Time(0);
    /// The latest representable instant; used as "never".
    pub const MAX: Time = Time(u64::MAX);

    /// The instant `nanos` nanoseconds after the start of the run.
    pub const fn from_nanos(nanos: u64) -> Time {
        Time(nanos)
    }

    /// Nanoseconds since the start of the run.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Time) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self + span`, saturating at [`Time::MAX`].
    pub const fn saturating_add(self, span: Duration) -> Time {
        Time(self.0.saturating_add(span.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// A span of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Duration {
        Duration(nanos)
    }

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Duration {
        Duration(micros * 1_000)
    }

    /// A span of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Duration {
        Duration(millis * 1_000_000)
    }

    /// A span of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Duration {
        Duration(secs * 1_000_000_000)
    }

    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The span in (fractional) milliseconds, for people.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `self + other`, saturating at the largest span.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, span: Duration) -> Time {
        Time(
            self.0
                .checked_add(span.0)
                .unwrap_or_else(|| panic!("simulated time overflow: {self} + {span}")),
        )
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, span: Duration) {
        *self = *self + span;
    }
}

impl Sub for Time {
    type Output = Duration;
    fn sub(self, earlier: Time) -> Duration {
        assert!(earlier <= self, "time went backwards: {self} - {earlier}");
        Duration(self.0 - earlier.0)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        Duration(self.0 + other.0)
    }
}

fn write_nanos(f: &mut fmt::Formatter<'_>, nanos: u64) -> fmt::Result {
    if nanos == 0 {
        write!(f, "0s")
    } else if nanos % 1_000_000_000 == 0 {
        write!(f, "{}s", nanos / 1_000_000_000)
    } else if nanos >= 1_000_000_000 {
        write!(f, "{:.6}s", nanos as f64 / 1e9)
    } else if nanos % 1_000_000 == 0 {
        write!(f, "{}ms", nanos / 1_000_000)
    } else if nanos >= 1_000_000 {
        write!(f, "{:.3}ms", nanos as f64 / 1e6)
    } else if nanos % 1_000 == 0 {
        write!(f, "{}µs", nanos / 1_000)
    } else {
        write!(f, "{nanos}ns")
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_nanos(f, self.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_nanos(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_picks_the_coarsest_exact_unit() {
        assert_eq!(Time::from_nanos(0).to_string(), "0s");
        assert_eq!(Duration::from_secs(2).to_string(), "2s");
        assert_eq!(Duration::from_millis(1_500).to_string(), "1.500000s");
        assert_eq!(Duration::from_millis(12).to_string(), "12ms");
        assert_eq!(Duration::from_micros(12_300).to_string(), "12.300ms");
        assert_eq!(Duration::from_micros(7).to_string(), "7µs");
        assert_eq!(Duration::from_nanos(7).to_string(), "7ns");
    }

    #[test]
    #[should_panic(expected = "time went backwards")]
    fn subtracting_a_later_time_is_a_bug() {
        let _ = Time::from_nanos(1) - Time::from_nanos(2);
    }
}
