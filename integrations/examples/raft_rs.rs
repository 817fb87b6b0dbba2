//! tikv's raft-rs under consim, with the whole `consim` command line:
//!
//! ```sh
//! cargo run --release -p integrations --example raft_rs -- list
//! cargo run --release -p integrations --example raft_rs -- sweep --scenario swarm --seeds 0..1000
//! cargo run --release -p integrations --example raft_rs -- sweep --scenario leader-churn \
//!     --seeds 0..1000 --bug local-reads --stop-on-failure
//! ```
//!
//! The model is [`integrations::raft_rs`]; the book's chapter *Testing a real library*
//! shows what these commands print, and this file's test checks that it does.

// ANCHOR: main
fn main() -> std::process::ExitCode {
    consim::main(integrations::raft_rs::RAFT_RS)
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    use consim::harness::Harness;

    /// The book's *Testing a real library* chapter shows what this program prints.
    #[test]
    fn the_book_shows_what_the_commands_print() {
        let page = concat!(env!("CARGO_MANIFEST_DIR"), "/../book/src/real-library.md");
        let dir = std::env::temp_dir().join(format!("consim-raft-rs-book-{}", std::process::id()));
        let command = "cargo run --release -p integrations --example raft_rs --";
        let harness = Harness::new(integrations::raft_rs::RAFT_RS)
            .jobs(2)
            .command(command)
            .out(dir);
        let shown = consim::shown::check_page(&harness, page.as_ref(), "raft_rs");
        assert!(shown.unwrap_or_else(|e| panic!("{e}")) >= 7);
    }
}
