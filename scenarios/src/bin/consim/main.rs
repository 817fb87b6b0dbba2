//! `consim`: the command line over consim's own models. See `consim --help`, and
//! [`consim::cli`] for the commands.

/// mimalloc rather than the system's allocator: a run allocates and frees many small
/// objects (messages, log entries, history values), and glibc's malloc took about a
/// tenth of a sweep's time, part of it waiting on its arena lock when the main thread
/// frees what a worker thread allocated; mimalloc made a raft sweep about 6% faster.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    consim::harness::Harness::new(models::Builtin)
        .command("cargo run --release --")
        .main()
}
