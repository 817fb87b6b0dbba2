//! `consim contention`: Brooker's contention experiment, as a Markdown table.

use std::io::Write;

use models::client::Backoff;
use serde_json::json;

use crate::contention::{contend, table};
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct ContentionArgs {
    /// How many clients contend, comma-separated (one pair of columns each).
    #[arg(long, value_delimiter = ',', default_value = "10,50,100",
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub clients: Vec<u32>,
    /// Seeds per cell (1, 2, …): each cell is the mean over them.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub seeds: u64,
}

pub fn command(args: ContentionArgs, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if !json {
        write!(out, "{}", table(&args.clients, args.seeds))?;
        return Ok(Exit::Consistent);
    }
    for (name, backoff) in Backoff::ALL {
        for &clients in &args.clients {
            for seed in 1..=args.seeds {
                let run = contend(clients, backoff, seed);
                let line = json!({
                    "policy": name,
                    "clients": clients,
                    "seed": seed,
                    "calls": run.calls,
                    "finish_ns": run.finish.as_nanos(),
                });
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(Exit::Consistent)
}
