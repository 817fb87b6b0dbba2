//! `consim bench kernel`: the kernel's relay benchmark, deliveries per second.

use std::io::Write;

use crate::exit::Exit;
use crate::kernel_bench;
use serde_json::json;

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// The relay benchmark: 5 nodes passing messages on at random; deliveries/s.
    Kernel {
        /// Deliveries per measured run.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
        deliveries: u64,
        /// Measured runs; the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000))]
        repeat: u32,
        /// The seed of every run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub fn command(what: Bench, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let Bench::Kernel {
        deliveries,
        repeat,
        seed,
    } = what;
    let (run, rates, bare_rates) = measure(deliveries, repeat, seed)?;
    let median = rates[rates.len() / 2];
    let (min, max) = (rates[0], rates[rates.len() - 1]);
    let bare = bare_rates[bare_rates.len() / 2];
    if json {
        let line = json!({
            "bench": "kernel-relay",
            "nodes": kernel_bench::RELAY_NODES,
            "seed": seed,
            "deliveries": run.deliveries,
            "repeat": repeat,
            "deliveries_per_s": median,
            "deliveries_per_s_min": min,
            "deliveries_per_s_max": max,
            "simulated_ns": run.simulated.as_nanos(),
            "trace_hash": format!("{:016x}", run.trace_hash),
            "bare_loop_deliveries_per_s": bare,
            "kernel_over_bare_loop": median / bare,
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "kernel relay: {} nodes, {} deliveries, {} simulated, trace_hash={:016x}",
            kernel_bench::RELAY_NODES,
            run.deliveries,
            run.simulated,
            run.trace_hash
        )?;
        writeln!(
            out,
            "deliveries/s: median {:.2}M over {repeat} runs (min {:.2}M, max {:.2}M)",
            median / 1e6,
            min / 1e6,
            max / 1e6
        )?;
        writeln!(
            out,
            "bare loop (BinaryHeap + ChaCha8, the same draws): median {:.2}M/s; kernel/bare loop: {:.2}",
            bare / 1e6,
            median / bare
        )?;
    }
    Ok(Exit::Consistent)
}

/// Times `repeat` runs of the relay benchmark and as many of the bare loop
/// ([`kernel_bench::bare_relay`]), taking turns so that both see the same machine,
/// after one unmeasured run of each; every run must be the same. Returns the last
/// run and the sorted rates of each. The wall clock is read here, outside every run,
/// to measure the runs; nothing it reads reaches a simulation.
#[allow(clippy::disallowed_methods)]
fn measure(
    deliveries: u64,
    repeat: u32,
    seed: u64,
) -> anyhow::Result<(kernel_bench::RelayRun, Vec<f64>, Vec<f64>)> {
    // The unmeasured runs warm caches and the allocator.
    kernel_bench::relay(seed, deliveries.min(100_000))?;
    kernel_bench::bare_relay(seed, deliveries.min(100_000));
    let (mut rates, mut bare_rates) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..repeat {
        let start = std::time::Instant::now();
        let run = kernel_bench::relay(seed, deliveries)?;
        rates.push(run.deliveries as f64 / start.elapsed().as_secs_f64());
        if let Some(previous) = last {
            anyhow::ensure!(previous == run, "nondeterminism: {previous:?} then {run:?}");
        }
        last = Some(run);
        let start = std::time::Instant::now();
        let bare = kernel_bench::bare_relay(seed, deliveries);
        bare_rates.push(bare.deliveries as f64 / start.elapsed().as_secs_f64());
        anyhow::ensure!(
            bare.simulated_ns == run.simulated.as_nanos(),
            "the bare loop ended at {} ns, the kernel at {}",
            bare.simulated_ns,
            run.simulated
        );
    }
    rates.sort_by(f64::total_cmp);
    bare_rates.sort_by(f64::total_cmp);
    Ok((last.expect("repeat is at least 1"), rates, bare_rates))
}
