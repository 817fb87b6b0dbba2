//! Per-process clocks: an offset from true time and a drift rate.
//!
//! A clock is piecewise linear in true (simulated) time. Between faults it advances at
//! `1 + drift_ppm / 1e6` local nanoseconds per true nanosecond, so it is monotone as long
//! as the drift is above −1,000,000 ppm (which [`Clock::set_drift`] enforces). Only a
//! jump ([`Clock::jump`]) moves it backwards.
//!
//! A clock has two readings, as an operating system does. [`Clock::local`] is the wall
//! clock (`SystemTime`, `CLOCK_REALTIME`): it drifts, and jumps when a fault steps it.
//! [`Clock::monotonic`] is the monotonic clock (`Instant`, `CLOCK_MONOTONIC`): it
//! drifts at the same rate but never jumps, so it is the one to measure elapsed time
//! with. A timer's length is measured at the drift rate in force when it is set, and
//! no jump moves it.

use serde::{Deserialize, Serialize};

use crate::{Duration, Time};

/// The largest drift magnitude accepted, in parts per million: half a second per second.
pub const MAX_DRIFT_PPM: i64 = 500_000;

/// A clock as its process reads it.
///
/// ```
/// use sim_core::{Clock, Duration, Time};
/// let mut clock = Clock::new(1_000, 100); // 1µs ahead, 100 ppm fast
/// assert_eq!(clock.local(Time::ZERO), Time::from_nanos(1_000));
/// let t = Time::from_nanos(1_000_000_000);
/// assert_eq!(clock.local(t), Time::from_nanos(1_000_000_000 + 1_000 + 100_000));
/// clock.jump(t, -1_000_000_000);
/// assert!(clock.local(t) < Time::from_nanos(1_000_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// The true time of the last change.
    anchor_true: Time,
    /// The local reading at `anchor_true`, in signed nanoseconds.
    anchor_local: i128,
    /// Drift in parts per million.
    drift_ppm: i64,
    /// The sum of every jump so far, in nanoseconds: the wall clock minus the
    /// monotonic clock.
    jumped_ns: i128,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new(0, 0)
    }
}

impl Clock {
    /// A clock `offset_ns` ahead of true time (behind if negative), drifting `drift_ppm`.
    ///
    /// # Panics
    /// If `drift_ppm` is outside `±MAX_DRIFT_PPM`.
    pub fn new(offset_ns: i64, drift_ppm: i64) -> Clock {
        assert_drift(drift_ppm);
        Clock {
            anchor_true: Time::ZERO,
            anchor_local: i128::from(offset_ns),
            drift_ppm,
            jumped_ns: 0,
        }
    }

    fn local_ns(&self, now: Time) -> i128 {
        let elapsed = i128::from(now.saturating_since(self.anchor_true).as_nanos());
        self.anchor_local + elapsed + elapsed * i128::from(self.drift_ppm) / 1_000_000
    }

    /// The local reading at true time `now`, saturating at zero (a clock set before the
    /// epoch reads zero until it passes it).
    pub fn local(&self, now: Time) -> Time {
        Time::from_nanos(self.local_ns(now).clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The monotonic reading at true time `now`: the wall clock without its jumps. It
    /// drifts as the wall clock does, never goes back, and saturates at zero like
    /// [`Clock::local`].
    ///
    /// ```
    /// use sim_core::{Clock, Time};
    /// let mut clock = Clock::new(0, 0);
    /// let t = Time::from_nanos(5_000);
    /// clock.jump(t, -3_000);
    /// assert_eq!(clock.local(t), Time::from_nanos(2_000));
    /// assert_eq!(clock.monotonic(t), Time::from_nanos(5_000));
    /// ```
    pub fn monotonic(&self, now: Time) -> Time {
        let ns = self.local_ns(now) - self.jumped_ns;
        Time::from_nanos(ns.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The current drift, in parts per million.
    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// The local reading minus true time at `now`, in nanoseconds.
    pub fn offset_ns(&self, now: Time) -> i128 {
        self.local_ns(now) - i128::from(now.as_nanos())
    }

    /// Moves the clock by `delta_ns` at true time `now` (an NTP step, a VM migration).
    pub fn jump(&mut self, now: Time, delta_ns: i64) {
        self.anchor_local = self.local_ns(now) + i128::from(delta_ns);
        self.anchor_true = now;
        self.jumped_ns += i128::from(delta_ns);
    }

    /// Changes the drift rate from true time `now` on.
    ///
    /// # Panics
    /// If `drift_ppm` is outside `±MAX_DRIFT_PPM`.
    pub fn set_drift(&mut self, now: Time, drift_ppm: i64) {
        assert_drift(drift_ppm);
        self.anchor_local = self.local_ns(now);
        self.anchor_true = now;
        self.drift_ppm = drift_ppm;
    }

    /// How much true time passes while this clock measures `local` (used for timers,
    /// which a process sets in its own clock's units). Rounded up, and at least 1ns for a
    /// nonzero span, so a timer never fires early by its own clock.
    pub fn true_span(&self, local: Duration) -> Duration {
        let local = u128::from(local.as_nanos());
        let rate = (1_000_000 + self.drift_ppm) as u128;
        Duration::from_nanos((local * 1_000_000).div_ceil(rate).min(u128::from(u64::MAX)) as u64)
    }
}

fn assert_drift(drift_ppm: i64) {
    assert!(
        drift_ppm.abs() <= MAX_DRIFT_PPM,
        "clock drift {drift_ppm} ppm is outside ±{MAX_DRIFT_PPM} ppm"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn monotone_without_jumps(
            offset in -1_000_000_000i64..1_000_000_000,
            drifts in proptest::collection::vec((1u64..1_000_000_000, -MAX_DRIFT_PPM..=MAX_DRIFT_PPM), 0..8),
        ) {
            let mut clock = Clock::new(offset, 0);
            let mut now = Time::ZERO;
            let mut last = clock.local(now);
            for (step, drift) in drifts {
                for k in 1..=4 {
                    let t = now + Duration::from_nanos(step * k / 4);
                    let reading = clock.local(t);
                    prop_assert!(reading >= last, "{reading} < {last}");
                    last = reading;
                }
                now += Duration::from_nanos(step);
                clock.set_drift(now, drift);
                prop_assert_eq!(clock.local(now), last, "changing drift must not move the clock");
            }
        }

        #[test]
        fn the_monotonic_clock_never_goes_back_and_drifts_with_the_wall_clock(
            offset in -1_000_000_000i64..1_000_000_000,
            steps in proptest::collection::vec(
                (1u64..1_000_000_000, -MAX_DRIFT_PPM..=MAX_DRIFT_PPM, -2_000_000_000i64..2_000_000_000),
                0..8,
            ),
        ) {
            let mut clock = Clock::new(offset, 0);
            let mut now = Time::ZERO;
            let mut last = clock.monotonic(now);
            for (step, drift, jump) in steps {
                let before = now;
                now += Duration::from_nanos(step);
                let reading = clock.monotonic(now);
                prop_assert!(reading >= last, "{reading} < {last}");
                // Between faults both readings advance alike (unless one saturates at 0).
                let (wall_then, mono_then) = (clock.local(before), clock.monotonic(before));
                if wall_then > Time::ZERO && mono_then > Time::ZERO {
                    prop_assert_eq!(reading - mono_then, clock.local(now) - wall_then);
                }
                clock.jump(now, jump);
                prop_assert_eq!(clock.monotonic(now), reading, "a jump must not move the monotonic clock");
                clock.set_drift(now, drift);
                prop_assert_eq!(clock.monotonic(now), reading, "changing drift must not move it");
                last = reading;
            }
        }

        #[test]
        fn timers_do_not_fire_early_by_their_own_clock(
            drift in -MAX_DRIFT_PPM..=MAX_DRIFT_PPM,
            local in 0u64..10_000_000_000,
            start in 0u64..1_000_000_000,
        ) {
            let clock = Clock::new(0, drift);
            let start = Time::from_nanos(start);
            let span = clock.true_span(Duration::from_nanos(local));
            let measured = clock.local(start + span).as_nanos() - clock.local(start).as_nanos();
            // Integer rounding of the reading may lose one nanosecond per read.
            prop_assert!(measured + 1 >= local, "measured {measured} < {local}");
        }
    }

    #[test]
    fn a_backward_jump_moves_the_clock_back() {
        let mut clock = Clock::new(0, 0);
        let t = Time::from_nanos(5_000);
        clock.jump(t, -3_000);
        assert_eq!(clock.local(t), Time::from_nanos(2_000));
        assert_eq!(clock.offset_ns(t), -3_000);
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn absurd_drift_is_a_bug() {
        Clock::new(0, 2_000_000);
    }
}
