//! The runner's exit status, named once: every command of `ccwgate`
//! returns one of these, its `--help` lists them from here ([`Exit::help`]),
//! and the single-run front door `run-qemu.sh` gives a run's outcome with
//! the same first three numbers ([`Record::exit`](crate::Record::exit),
//! read back with [`Exit::of_run`]).

use std::process::ExitCode;

use gate::verdict::Outcome;

/// What `ccwgate` (and, for 0 to 2, one `run-qemu.sh` run) exits with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 0: every run passed (or failed only with known open bugs, `--known`);
    /// a command that runs nothing did what it was asked.
    Success = 0,
    /// 1: some run failed; for `known --check`, the verdict is no known bug.
    Fail = 1,
    /// 2: an ERROR run, or a usage or setup problem (also `bench campaign`
    /// finding the two ways' verdict records differ).
    Error = 2,
    /// 3: stopped by SIGINT, SIGTERM or SIGHUP; the finished runs are in
    /// `--json`, and `--resume FILE` completes it.
    Interrupted = 3,
}

impl Exit {
    /// Every status, in numeric order.
    pub const ALL: [Exit; 4] = [Exit::Success, Exit::Fail, Exit::Error, Exit::Interrupted];

    /// The number the process exits with.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The status `code` names, if it is one of these.
    pub fn from_code(code: i32) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| i32::from(e.code()) == code)
    }

    /// What the status means, as `--help` says it.
    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "every run passed (or failed only with known open bugs, --known)",
            Exit::Fail => "some run failed",
            Exit::Error => "an ERROR run or a usage/setup problem",
            Exit::Interrupted => {
                "stopped by SIGINT/SIGTERM/SIGHUP (finished runs kept in --json; \
--resume FILE completes it)"
            }
        }
    }

    /// `--help`'s closing paragraph: every status and its meaning.
    pub fn help() -> String {
        let each: Vec<String> = Exit::ALL
            .iter()
            .map(|e| format!("{} {}", e.code(), e.meaning()))
            .collect();
        format!("Exit status: {}.", each.join(", "))
    }

    /// The status of a set of runs: [`Exit::Error`] if any run was an
    /// ERROR, else [`Exit::Fail`] if any failed (known open bugs apart),
    /// else [`Exit::Success`].
    pub fn of_counts(c: &crate::Counts) -> Exit {
        if c.error > 0 {
            Exit::Error
        } else if c.fail > 0 {
            Exit::Fail
        } else {
            Exit::Success
        }
    }

    /// Whether `run-qemu.sh` exiting with `code` gave a judged run, PASS or
    /// FAIL: anything else (no verdict, a timeout, QEMU or build failure)
    /// makes the run an ERROR whatever the guest printed.
    pub fn is_judged_run(code: i32) -> bool {
        matches!(Exit::from_code(code), Some(Exit::Success | Exit::Fail))
    }

    /// Whether `code` is one of a run's outcomes (0 to 2): `run-qemu.sh`
    /// ended as it means to, not by a signal or an unexpected status.
    pub fn is_run_outcome(code: i32) -> bool {
        matches!(
            Exit::from_code(code),
            Some(Exit::Success | Exit::Fail | Exit::Error)
        )
    }

    /// The status one run with this verdict outcome exits `run-qemu.sh`
    /// with (without `--known`).
    pub const fn of_run(outcome: Outcome) -> Exit {
        match outcome {
            Outcome::Pass => Exit::Success,
            Outcome::Fail => Exit::Fail,
            Outcome::Error => Exit::Error,
        }
    }

    /// [`Exit::code`] as a [`Record::exit`](crate::Record::exit) holds it.
    pub const fn run_code(self) -> i32 {
        self as i32
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_their_position_and_round_trip() {
        for (i, e) in Exit::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(e.code()), i);
            assert_eq!(Exit::from_code(e.run_code()), Some(e));
        }
        assert_eq!(Exit::from_code(4), None);
        assert_eq!(Exit::from_code(-1), None);
    }

    #[test]
    fn help_names_every_status_as_before() {
        // The text `ccwgate --help` printed when it was a literal.
        assert_eq!(
            Exit::help(),
            "Exit status: 0 every run passed (or failed only with known open bugs, --known), \
1 some run failed, 2 an ERROR run or a usage/setup problem, 3 stopped by SIGINT/SIGTERM/SIGHUP \
(finished runs kept in --json; --resume FILE completes it)."
        );
    }

    #[test]
    fn a_run_is_judged_only_on_pass_or_fail() {
        assert!(Exit::is_judged_run(0) && Exit::is_judged_run(1));
        assert!(!Exit::is_judged_run(2) && !Exit::is_judged_run(124));
        assert!(Exit::is_run_outcome(2) && !Exit::is_run_outcome(3));
        assert!(!Exit::is_run_outcome(-1));
    }

    #[test]
    fn counts_give_the_worst_status() {
        let mut c = crate::Counts::default();
        assert_eq!(Exit::of_counts(&c), Exit::Success);
        c.known = 2;
        assert_eq!(Exit::of_counts(&c), Exit::Success);
        c.fail = 1;
        assert_eq!(Exit::of_counts(&c), Exit::Fail);
        c.error = 1;
        assert_eq!(Exit::of_counts(&c), Exit::Error);
    }
}
