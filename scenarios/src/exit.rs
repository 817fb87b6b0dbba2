//! Exit codes, for every command (DESIGN.md): **0** all consistent, **1** a violation
//! was found, **2** usage or input error, **3** inconclusive (a budget ran out).

/// How a command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything judged held.
    Consistent = 0,
    /// A violation was found.
    Violation = 1,
    /// The command line or an input was wrong.
    Usage = 2,
    /// A verdict was left undecided: a budget ran out.
    Inconclusive = 3,
}

impl Exit {
    /// The code of a set of runs or checks: a violation if any failed, else
    /// inconclusive if any was undecided, else consistent.
    ///
    /// ```
    /// use consim::exit::Exit;
    /// assert_eq!(Exit::of(0, 0), Exit::Consistent);
    /// assert_eq!(Exit::of(2, 5), Exit::Violation);
    /// assert_eq!(Exit::of(0, 1), Exit::Inconclusive);
    /// ```
    pub fn of(failures: u64, inconclusive: u64) -> Exit {
        if failures > 0 {
            Exit::Violation
        } else if inconclusive > 0 {
            Exit::Inconclusive
        } else {
            Exit::Consistent
        }
    }

    /// The process's exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}
