//! Load: what the clients offered, what got done in time, what it cost in attempts,
//! and whether the store recovered from an overload trigger.
//!
//! Every measure is defined once, here:
//!
//! - **offered load**: operations that arrived at their clients, per second of the
//!   fault window (arrivals stop at its end);
//! - **goodput**: operations that *succeeded in time*, per second: an `ok` whose
//!   end came within the clients' deadline of the operation's arrival (or within
//!   one client timeout, without a deadline). A late reply to an earlier attempt
//!   still completes an operation in the history (its effect is real, and the
//!   checkers judge it), but if it came after the deadline it is not goodput: the
//!   user had given up. So a collapse in goodput is never hidden by late replies
//!   counting as answers, nor made up by them: see [`Load::late_ok`];
//! - **amplification**: attempts the clients sent per operation they began;
//! - **queue length**: how many requests wait at each replica with a capacity, at
//!   the start of every 100 ms ([`BUCKET`]), and the longest it got;
//! - for a run with an **overload trigger** (a `slowdown` or `surge` spell in the
//!   faults applied): goodput before, during and after it, and the **time to
//!   recover**: from the end of the trigger to the first moment (on the 100 ms grid)
//!   from which goodput over every following 1 s window ([`RECOVERY_SPAN`]) stays at
//!   least 90 % ([`RECOVERED_SHARE`]) of its level before the trigger, until the
//!   fault window ends; none (`null`) if there is no such moment.
//!
//! The per-100 ms series ([`Series`]) are what the run's page draws.

use serde::Serialize;
use sim_core::{Duration, Fault, FaultPlan, Time};

use crate::availability::OpRecord;

/// The width of one step of the series.
pub const BUCKET: Duration = Duration::from_millis(100);
/// The window goodput is averaged over when judging recovery.
pub const RECOVERY_SPAN: Duration = Duration::from_secs(1);
/// The share of its level before the trigger that goodput must keep to count as
/// recovered.
pub const RECOVERED_SHARE: f64 = 0.9;

/// When an overload trigger was on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Trigger {
    /// When the first overload fault struck, in ms from the start.
    pub start_ms: u64,
    /// When the last one ended, in ms from the start.
    pub end_ms: u64,
}

impl Trigger {
    /// The overload spell of `plan`: from the first `slowdown` or `surge` that
    /// multiplies by something other than 1 to the last that sets 1 again; `None`
    /// without one.
    pub fn of(plan: &FaultPlan) -> Option<Trigger> {
        let overload = |f: &Fault| match f {
            Fault::Slowdown { factor, .. } | Fault::Surge { factor } => Some(*factor),
            _ => None,
        };
        let start = plan
            .faults
            .iter()
            .filter(|f| overload(&f.fault).is_some_and(|x| x != 1.0))
            .map(|f| f.at)
            .min()?;
        let end = plan
            .faults
            .iter()
            .filter(|f| f.at >= start && overload(&f.fault) == Some(1.0))
            .map(|f| f.at)
            .max()?;
        Some(Trigger {
            start_ms: start.as_nanos() / 1_000_000,
            end_ms: end.as_nanos() / 1_000_000,
        })
    }
}

/// What a run's load did (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Load {
    /// Operations that arrived per second of the window.
    pub offered_per_s: f64,
    /// Operations that succeeded in time, per second of the window.
    pub goodput_per_s: f64,
    /// The time an operation had to succeed in, from its arrival: the deadline, or
    /// else the client timeout.
    pub in_time_ms: f64,
    /// Operations that succeeded, but too late to count as goodput.
    pub late_ok: u64,
    /// Attempts the clients sent (workload operations only).
    pub attempts: u64,
    /// Operations the clients began (sent at least one attempt, or failed fast).
    pub begun: u64,
    /// Attempts per operation begun; `None` if none began.
    pub amplification: Option<f64>,
    /// The longest each replica's queue got.
    pub longest_queue: Vec<usize>,
    /// The overload trigger, if there was one.
    pub trigger: Option<Trigger>,
    /// Goodput per second before the trigger.
    pub goodput_before: Option<f64>,
    /// Goodput per second while it was on.
    pub goodput_during: Option<f64>,
    /// Goodput per second from its end to the end of the window.
    pub goodput_after: Option<f64>,
    /// How long after the trigger ended goodput recovered for good (see the module
    /// docs); `None` if it did not, or without a trigger.
    pub recovered_after_ms: Option<u64>,
    /// The per-100 ms series.
    #[serde(skip)]
    pub series: Series,
}

/// Per 100 ms step ([`BUCKET`]) from the start of the run, what the page draws.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Series {
    /// Operations that arrived in each step.
    pub offered: Vec<u32>,
    /// Operations that succeeded in time and ended in each step.
    pub goodput: Vec<u32>,
    /// The 99th percentile, from arrival to end, of the operations that succeeded
    /// and ended in each step, in ms (`None`: none did).
    pub p99_ms: Vec<Option<f64>>,
    /// Each replica's queue length at the start of each step (empty without
    /// capacities).
    pub queues: Vec<Vec<u32>>,
}

/// What the run's driver counted, for [`Load::measure`].
#[derive(Clone, Copy, Debug)]
pub struct Counted<'a> {
    /// How each workload operation went.
    pub records: &'a [OpRecord],
    /// Attempts sent, and operations begun.
    pub attempts: u64,
    /// Operations begun.
    pub begun: u64,
    /// Each replica's queue length at the start of each step.
    pub queues: &'a [Vec<u32>],
    /// The longest each replica's queue got (the kernel's count, between samples
    /// too).
    pub longest: &'a [usize],
}

impl Load {
    /// The measures of a run whose fault window ended at `window_end`, whose
    /// operations had `in_time` to succeed in, under the faults of `plan`.
    pub fn measure(
        counted: Counted<'_>,
        plan: &FaultPlan,
        window_end: Time,
        in_time: Duration,
    ) -> Load {
        let good = |r: &OpRecord| r.ok_within(in_time);
        let window_s = window_end.as_nanos() as f64 / 1e9;
        let mut goods: Vec<Time> = counted
            .records
            .iter()
            .filter(|r| good(r))
            .filter_map(|r| r.ended)
            .collect();
        goods.sort_unstable();
        let late_ok = counted.records.iter().filter(|r| r.ok && !good(r)).count();
        let in_window = goods.iter().filter(|&&t| t < window_end).count();
        let trigger = Trigger::of(plan);
        let rate = |from: Time, to: Time| -> Option<f64> {
            let span = to.saturating_since(from).as_nanos() as f64 / 1e9;
            let count = within(&goods, from, to);
            (span > 0.0).then(|| count as f64 / span)
        };
        let at = |ms: u64| Time::ZERO + Duration::from_millis(ms);
        let before = trigger.and_then(|t| rate(Time::ZERO, at(t.start_ms)));
        let recovered = match (trigger, before) {
            (Some(t), Some(level)) => recovery(&goods, at(t.end_ms), window_end, level),
            _ => None,
        };
        Load {
            offered_per_s: counted.records.len() as f64 / window_s,
            goodput_per_s: in_window as f64 / window_s,
            in_time_ms: in_time.as_nanos() as f64 / 1e6,
            late_ok: late_ok as u64,
            attempts: counted.attempts,
            begun: counted.begun,
            amplification: (counted.begun > 0)
                .then(|| counted.attempts as f64 / counted.begun as f64),
            longest_queue: counted.longest.to_vec(),
            trigger,
            goodput_before: before,
            goodput_during: trigger.and_then(|t| rate(at(t.start_ms), at(t.end_ms))),
            goodput_after: trigger.and_then(|t| rate(at(t.end_ms), window_end)),
            recovered_after_ms: recovered,
            series: Series::of(counted, in_time),
        }
    }
}

impl Load {
    /// ` load: offered=…/s goodput=…/s amplification=… [trigger … before=… during=…
    /// after=… recovered_after=…]` for the summary line.
    pub fn text(&self) -> String {
        let mut text = format!(
            " load: offered={:.0}/s goodput={:.0}/s (in {}ms) amplification={}",
            self.offered_per_s,
            self.goodput_per_s,
            self.in_time_ms,
            self.amplification
                .map_or("n/a".to_owned(), |a| format!("{a:.2}"))
        );
        if let Some(t) = self.trigger {
            let per_s = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.0}/s"));
            text += &format!(
                " trigger={}..{}ms goodput_before={} during={} after={} recovered_after={}",
                t.start_ms,
                t.end_ms,
                per_s(self.goodput_before),
                per_s(self.goodput_during),
                per_s(self.goodput_after),
                self.recovered_after_ms
                    .map_or("never".to_owned(), |ms| format!("{ms}ms"))
            );
        }
        text
    }
}

/// How many of the sorted `times` fall in `from..to`.
fn within(times: &[Time], from: Time, to: Time) -> usize {
    times.partition_point(|&t| t < to) - times.partition_point(|&t| t < from)
}

/// How long after `end` goodput (the in-time ends `goods`, sorted) stayed at least
/// [`RECOVERED_SHARE`] of `level` per second over every [`RECOVERY_SPAN`] window
/// starting on the [`BUCKET`] grid from then on, until `window_end`, in ms; `None` if
/// the last such window falls short (or none fits).
///
/// ```
/// use consim::load::recovery;
/// use sim_core::{Duration, Time};
/// let at = |ms: u64| Time::ZERO + Duration::from_millis(ms);
/// // 10 a second from 1.5 s on, none before: the window from 1.4 s already holds
/// // nine (90 %), the one from 1.3 s only eight.
/// let goods: Vec<Time> = (15..50).map(|i| at(i * 100)).collect();
/// assert_eq!(recovery(&goods, at(0), at(5_000), 10.0), Some(1_400));
/// // Stopping before the end is no recovery.
/// let goods: Vec<Time> = (0..30).map(|i| at(i * 100)).collect();
/// assert_eq!(recovery(&goods, at(0), at(5_000), 10.0), None);
/// ```
pub fn recovery(goods: &[Time], end: Time, window_end: Time, level: f64) -> Option<u64> {
    let needed = RECOVERED_SHARE * level * RECOVERY_SPAN.as_nanos() as f64 / 1e9;
    let count = |from: Time| within(goods, from, from + RECOVERY_SPAN) as f64;
    let mut starts = Vec::new();
    let mut t = end;
    while t + RECOVERY_SPAN <= window_end {
        starts.push(t);
        t += BUCKET;
    }
    if starts.last().is_none_or(|&last| count(last) < needed) {
        return None;
    }
    let from = starts
        .iter()
        .rposition(|&s| count(s) < needed)
        .map_or(end, |i| starts[i] + BUCKET);
    Some(from.saturating_since(end).as_nanos() / 1_000_000)
}

impl Series {
    fn of(counted: Counted<'_>, in_time: Duration) -> Series {
        let step = |t: Time| (t.as_nanos() / BUCKET.as_nanos()) as usize;
        let last = counted
            .records
            .iter()
            .map(|r| r.ended.unwrap_or(r.arrival))
            .map(step)
            .max()
            .unwrap_or(0)
            .max(counted.queues.len().saturating_sub(1));
        let mut series = Series {
            offered: vec![0; last + 1],
            goodput: vec![0; last + 1],
            p99_ms: vec![None; last + 1],
            queues: counted.queues.to_vec(),
        };
        let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); last + 1];
        for r in counted.records {
            series.offered[step(r.arrival)] += 1;
            if let (true, Some(ended)) = (r.ok, r.ended) {
                latencies[step(ended)].push(ended.saturating_since(r.arrival).as_nanos());
                if r.ok_within(in_time) {
                    series.goodput[step(ended)] += 1;
                }
            }
        }
        for (p99, mut samples) in series.p99_ms.iter_mut().zip(latencies) {
            *p99 = crate::report::latencies(&mut samples).map(|l| l.p99_ms);
        }
        series
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::ZERO + Duration::from_millis(ms)
    }

    fn op(arrival: u64, ended: Option<u64>, ok: bool) -> OpRecord {
        OpRecord {
            client: 0,
            arrival: at(arrival),
            ended: ended.map(at),
            ok,
        }
    }

    #[test]
    fn goodput_counts_ok_operations_in_time_from_their_arrival() {
        let mut plan = FaultPlan::default();
        plan.push(at(1_000), Fault::Surge { factor: 2.0 });
        plan.push(at(2_000), Fault::Surge { factor: 1.0 });
        let records = [
            op(100, Some(200), true),     // before: in time
            op(300, Some(700), true),     // before: 400 ms, too late
            op(400, Some(450), false),    // before: failed
            op(1_100, Some(1_150), true), // during
            op(2_500, Some(2_600), true), // after
            op(2_700, None, false),       // never ended
        ];
        let counted = Counted {
            records: &records,
            attempts: 9,
            begun: 6,
            queues: &[],
            longest: &[],
        };
        let load = Load::measure(counted, &plan, at(4_000), Duration::from_millis(300));
        assert_eq!(
            load.trigger,
            Some(Trigger {
                start_ms: 1_000,
                end_ms: 2_000
            })
        );
        assert_eq!(load.goodput_before, Some(1.0));
        assert_eq!(load.goodput_during, Some(1.0));
        assert_eq!(load.goodput_after, Some(0.5));
        assert_eq!((load.late_ok, load.amplification), (1, Some(1.5)));
        assert_eq!(load.offered_per_s, 6.0 / 4.0);
        assert_eq!(load.goodput_per_s, 3.0 / 4.0);
        assert_eq!(load.series.goodput[2], 1);
        assert_eq!(load.series.offered[27], 1);
        // One good operation a second after the trigger is not 90 % of one before.
        assert_eq!(load.recovered_after_ms, None);
    }

    #[test]
    fn a_run_without_a_trigger_has_no_recovery_to_measure() {
        let records = [op(100, Some(200), true)];
        let counted = Counted {
            records: &records,
            attempts: 1,
            begun: 1,
            queues: &[vec![0, 3], vec![5, 1]],
            longest: &[6, 3],
        };
        let load = Load::measure(
            counted,
            &FaultPlan::default(),
            at(1_000),
            Duration::from_millis(300),
        );
        assert_eq!(
            (load.trigger, load.goodput_before, load.recovered_after_ms),
            (None, None, None)
        );
        assert_eq!(load.longest_queue, vec![6, 3]);
        assert_eq!(load.series.queues[1], vec![5, 1]);
    }
}
