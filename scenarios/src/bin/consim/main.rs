//! `consim`: the command line over consim's own models. See `consim --help`, and
//! [`consim::cli`] for the commands.

fn main() -> std::process::ExitCode {
    consim::harness::Harness::new(models::Builtin)
        .command("cargo run --release --")
        .main()
}
