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
//! this process, with [`crate::cli::run`]) and compares; [`check_section`] compares
//! one section with text made some other way (a table assembled from several runs). Run artifacts go to the
//! harness's folder, shown as `consim-out` (and a command's argument under
//! `consim-out/`, such as a shrunk run's plan, is read from there); a sweep summary's speed figures (seeds/s
//! and the rest after the operation counts) vary from machine to machine and are
//! shown as `…`, and so is an exploration's `time:` line. With `CONSIM_BLESS` set in the environment, the page is rewritten
//! with what the commands print instead.

use std::path::{Path, PathBuf};

use models::Catalog;

use crate::harness::Harness;

/// Why a page does not show what its commands print.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A picture the page links differs from what its command draws now.
    #[error(
        "{path} differs from what its command draws now; if the change is deliberate, \
         rerun with CONSIM_BLESS=1 to update it"
    )]
    PictureDiffers {
        /// The picture beside the page.
        path: PathBuf,
    },
    /// The page cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The page.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A section's begin or end marker is missing.
    #[error("{path}: no `<!-- {marker}: begin -->` … `<!-- {marker}: end -->` section")]
    NoSection {
        /// The page.
        path: PathBuf,
        /// The section's marker.
        marker: String,
    },
    /// A section shows something else than what is fresh.
    #[error(
        "{path} no longer shows what `{marker}` prints; if the change is deliberate, \
         rerun with CONSIM_BLESS=1 to update it.\n--- the page:\n{shown}\n--- now:\n{fresh}"
    )]
    Differs {
        /// The page.
        path: PathBuf,
        /// The section's marker: the program and its arguments.
        marker: String,
        /// What the page shows.
        shown: String,
        /// What the program prints now.
        fresh: String,
    },
}

/// Checks each of `page`'s sections for `program` (see the [module docs](self)),
/// running its commands through `harness`; returns how many there were.
pub fn check_page<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    page: &Path,
    program: &str,
) -> Result<usize, PageError> {
    let text = read(page)?;
    let prefix = format!("{program} ");
    let markers: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("<!-- ")?.strip_suffix(": begin -->"))
        .filter(|marker| marker.starts_with(&prefix))
        .collect();
    for marker in &markers {
        let args = &marker[prefix.len()..];
        let fresh = format!("```text\n{}```\n", printed(harness, program, args));
        check_section(page, marker, &fresh)?;
    }
    Ok(markers.len())
}

/// Checks that `page`'s section `<!-- MARKER: begin -->` … `<!-- MARKER: end -->`
/// holds exactly `fresh`; with `CONSIM_BLESS` set, writes `fresh` there instead.
pub fn check_section(page: &Path, marker: &str, fresh: &str) -> Result<(), PageError> {
    let text = read(page)?;
    let (begin, end) = (
        format!("<!-- {marker}: begin -->\n"),
        format!("<!-- {marker}: end -->"),
    );
    let no_section = || PageError::NoSection {
        path: page.to_owned(),
        marker: marker.to_owned(),
    };
    let start = text.find(&begin).ok_or_else(no_section)? + begin.len();
    let stop = start + text[start..].find(&end).ok_or_else(no_section)?;
    if std::env::var_os("CONSIM_BLESS").is_some() {
        let updated = format!("{}{fresh}{}", &text[..start], &text[stop..]);
        return std::fs::write(page, updated).map_err(|source| PageError::Io {
            path: page.to_owned(),
            source,
        });
    }
    if text[start..stop] == *fresh {
        return Ok(());
    }
    Err(PageError::Differs {
        path: page.to_owned(),
        marker: marker.to_owned(),
        shown: text[start..stop].to_owned(),
        fresh: fresh.to_owned(),
    })
}

/// Checks that the picture `name` a page links (`pictures/NAME`, beside the page) is
/// byte for byte the page a command wrote as `consim-out/NAME` into `dir` (the
/// harness's folder); with `CONSIM_BLESS` set, copies it there instead.
pub fn check_picture(page: &Path, dir: &Path, name: &str) -> Result<(), PageError> {
    let drawn = dir.join(name);
    let drawn = std::fs::read_to_string(&drawn).map_err(|source| PageError::Io {
        path: drawn,
        source,
    })?;
    let drawn = match dir.to_str() {
        Some(dir) => drawn.replace(dir, "consim-out"),
        None => drawn,
    };
    let pictures = page.parent().unwrap_or(Path::new(".")).join("pictures");
    let shown = pictures.join(name);
    if std::env::var_os("CONSIM_BLESS").is_some() {
        let io = |source| PageError::Io {
            path: shown.clone(),
            source,
        };
        std::fs::create_dir_all(&pictures).map_err(io)?;
        return std::fs::write(&shown, &drawn).map_err(io);
    }
    if read(&shown)? == drawn {
        return Ok(());
    }
    Err(PageError::PictureDiffers { path: shown })
}

/// Checks every picture `page` links (`(pictures/NAME)`) with [`check_picture`];
/// returns how many there were.
pub fn check_pictures(page: &Path, dir: &Path) -> Result<usize, PageError> {
    let text = read(page)?;
    let names: Vec<&str> = text
        .split("(pictures/")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(name, _)| name))
        .collect();
    for name in &names {
        check_picture(page, dir, name)?;
    }
    Ok(names.len())
}

/// Checks the sections of consim's book page `page` (a file of `book/src`) for the
/// example program `example` of this package (shown as `cargo run --release -p
/// consim --example EXAMPLE --`), running them with `catalog`, and the pictures
/// `pictures` they draw; returns how many sections there were. The example's own test
/// calls it, so the book cannot drift from the example's code.
pub fn check_book_example<C: Catalog + Clone + 'static>(
    catalog: C,
    page: &str,
    example: &str,
    pictures: &[&str],
) -> Result<usize, PageError> {
    let page = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src")
        .join(page);
    let dir = std::env::temp_dir().join(format!("consim-{example}-{}", std::process::id()));
    let command = format!("cargo run --release -p consim --example {example} --");
    let harness = Harness::new(catalog).command(&command).out(&dir);
    let sections = check_page(&harness, &page, example)?;
    for name in pictures {
        check_picture(&page, &dir, name)?;
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(sections)
}

fn read(page: &Path) -> Result<String, PageError> {
    std::fs::read_to_string(page).map_err(|source| PageError::Io {
        path: page.to_owned(),
        source,
    })
}

/// What `program args` prints through `harness`'s command line, as a page shows it.
fn printed<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    program: &str,
    args: &str,
) -> String {
    let dir = harness.out_dir().to_str().filter(|dir| !dir.is_empty());
    // A file under `consim-out/` that a command reads (a plan, a script) is in the
    // harness's folder.
    let argv: Vec<String> = std::iter::once(program)
        .chain(args.split_whitespace())
        .map(|arg| match (dir, arg.strip_prefix("consim-out/")) {
            (Some(dir), Some(rest)) => format!("{dir}/{rest}"),
            _ => arg.to_owned(),
        })
        .collect();
    let mut out = Vec::new();
    crate::cli::run(harness, argv.into_iter().map(Into::into), &mut out);
    let text = String::from_utf8_lossy(&out);
    let text = match dir {
        Some(dir) => text.replace(dir, "consim-out"),
        None => text.into_owned(),
    };
    text.lines()
        .map(|line| match line.split_once(" unfinished; ") {
            Some((kept, _)) if line.starts_with("sweep ") => format!("{kept} unfinished; …\n"),
            // An exploration's wall time and rates.
            _ if line.starts_with("time: ") && line.ends_with(" transitions/s") => {
                "time: …\n".to_owned()
            }
            _ => format!("{line}\n"),
        })
        .collect()
}
