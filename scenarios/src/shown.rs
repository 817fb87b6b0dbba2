//! Pages that show what a program prints, checked against what it prints now.
//!
//! A Markdown page (a chapter of the book) shows a command's output between two
//! markers naming the program and its arguments:
//!
//! ````markdown
//! <!-- primary_backup sweep --seeds 0..500: begin -->
//! ```text
//! sweep primary-backup swarm: 500 seeds, 0 failed, …
//! ```
//! <!-- primary_backup sweep --seeds 0..500: end -->
//! ````
//!
//! [`check_page`] runs each such command through a [`Harness`]'s command line (in
//! this process, with [`crate::cli::run`]) and compares. Run artifacts go to the
//! harness's folder, shown as `consim-out`; a sweep summary's speed figures (seeds/s
//! and the rest after the operation counts) vary from machine to machine and are
//! shown as `…`. With `CONSIM_BLESS` set in the environment, the page is rewritten
//! with what the commands print instead.

use std::path::{Path, PathBuf};

use models::Catalog;

use crate::harness::Harness;

/// Why a page does not show what its commands print.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The page cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The page.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A begin marker without its end marker.
    #[error("{path}: `{marker}` has no end marker")]
    Unclosed {
        /// The page.
        path: PathBuf,
        /// The begin marker.
        marker: String,
    },
    /// A command prints something else than the page shows.
    #[error(
        "{path} no longer shows what `{program} {args}` prints; if the change is \
         deliberate, rerun with CONSIM_BLESS=1 to update it.\n--- the page:\n{shown}\n--- \
         the program now:\n{printed}"
    )]
    Differs {
        /// The page.
        path: PathBuf,
        /// The program.
        program: String,
        /// Its arguments.
        args: String,
        /// What the page shows.
        shown: String,
        /// What the program prints.
        printed: String,
    },
}

/// Checks each of `page`'s blocks for `program` (see the [module docs](self)), running
/// them through `harness`; returns how many there were.
pub fn check_page<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    page: &Path,
    program: &str,
) -> Result<usize, PageError> {
    let io = |source| PageError::Io {
        path: page.to_owned(),
        source,
    };
    let mut text = std::fs::read_to_string(page).map_err(io)?;
    let bless = std::env::var_os("CONSIM_BLESS").is_some();
    let open = format!("<!-- {program} ");
    let (mut at, mut checked) = (0, 0);
    while let Some(found) = text[at..].find(&open) {
        let after = at + found + open.len();
        let Some((args, _)) = text[after..].split_once(": begin -->\n") else {
            break;
        };
        let args = args.to_owned();
        let start = after + args.len() + ": begin -->\n".len();
        let close = format!("<!-- {program} {args}: end -->");
        let end = start
            + text[start..]
                .find(&close)
                .ok_or_else(|| PageError::Unclosed {
                    path: page.to_owned(),
                    marker: format!("{open}{args}: begin -->"),
                })?;
        let printed = format!("```text\n{}```\n", printed(harness, program, &args));
        if bless {
            text.replace_range(start..end, &printed);
        } else if text[start..end] != printed {
            return Err(PageError::Differs {
                path: page.to_owned(),
                program: program.to_owned(),
                args,
                shown: text[start..end].to_owned(),
                printed,
            });
        }
        (at, checked) = (start + printed.len() + close.len(), checked + 1);
    }
    if bless {
        std::fs::write(page, &text).map_err(io)?;
    }
    Ok(checked)
}

/// What `program args` prints through `harness`'s command line, as a page shows it.
fn printed<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    program: &str,
    args: &str,
) -> String {
    let mut out = Vec::new();
    let argv = std::iter::once(program).chain(args.split_whitespace());
    crate::cli::run(harness, argv.map(Into::into), &mut out);
    let text = String::from_utf8_lossy(&out);
    let text = match harness.out_dir().to_str() {
        Some(dir) if !dir.is_empty() => text.replace(dir, "consim-out"),
        _ => text.into_owned(),
    };
    text.lines()
        .map(|line| match line.split_once(" unfinished; ") {
            Some((kept, _)) if line.starts_with("sweep ") => format!("{kept} unfinished; …\n"),
            _ => format!("{line}\n"),
        })
        .collect()
}
