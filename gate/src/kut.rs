//! kvm-unit-tests' report protocol, which its `run_tests.sh` reads.
//!
//! Every run prints, besides its one verdict line:
//!
//! ```text
//! PASS: ccwgate: <scenario> seed=<n> iterations=<n>          one per judged unit
//! FAIL: ccwgate: <scenario>: <class> <what> [key=value ...]
//! SKIP: ccwgate: <scenario>: <reason> [key=value ...]         an environment ERROR
//! VERDICT: ...                                                unchanged
//! SUMMARY: <n> tests[, <n> unexpected failures][, <n> skipped]
//!
//! EXIT: STATUS=<(code << 1) | 1>
//! ```
//!
//! - The report lines are what kvm-unit-tests' `report()` prints: the word,
//!   `: `, the prefixes each followed by `: `, the message. `run_tests.sh -t`
//!   turns every line starting with `PASS`, `FAIL` or `SKIP` into one TAP
//!   test line, so no other line may start so.
//! - `scenario=conformance` reports one line per check (`PASS: ccwgate:
//!   conformance: <check> ...`), as kvm-unit-tests' `s390x/css.c` does; the
//!   other scenarios one line for the run.
//! - The summary line is `report_summary()`'s; `run_tests.sh` shows it in
//!   parentheses after the test's name (it looks for it in the last five
//!   lines of the output).
//! - The status is what the s390x library's `exit()` prints and what
//!   `run_tests.sh` turns into the test's result: `STATUS=1` (code 0) PASS,
//!   `STATUS=3` (code 1) FAIL, `STATUS=77` (code 38, `77 >> 1` as
//!   `report_summary()` returns for an all-skipped test) SKIP. The code comes
//!   from the verdict ([`exit_code`]): PASS 0, FAIL 1, an ERROR the
//!   environment caused ([`is_environment`]) 38, any other ERROR 1.

use crate::verdict::{Outcome, Parsed};
use core::fmt::{self, Write};

/// The first prefix of every report line.
pub const PREFIX: &str = "ccwgate";

/// The result of one judged unit, as kvm-unit-tests names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    Pass,
    Fail,
    Skip,
}

impl Report {
    pub const fn word(self) -> &'static str {
        match self {
            Report::Pass => "PASS",
            Report::Fail => "FAIL",
            Report::Skip => "SKIP",
        }
    }
}

/// ERROR reasons that are the environment's doing, not the host's nor
/// ccwgate's: kvm-unit-tests shows them as SKIP.
pub const ENVIRONMENT: [&str; 6] = [
    "no-device",
    "no-such-devno",
    "device-gone",
    "device-busy",
    "device-error",
    "race-not-exercised",
];

pub fn is_environment(reason: &str) -> bool {
    ENVIRONMENT.contains(&reason)
}

/// The code kvm-unit-tests' `exit()` takes for a run with this verdict.
pub fn exit_code(outcome: Outcome, reason: Option<&str>) -> u32 {
    match outcome {
        Outcome::Pass => 0,
        Outcome::Fail => 1,
        Outcome::Error if reason.is_some_and(is_environment) => SKIP_CODE,
        Outcome::Error => 1,
    }
}

/// `77 >> 1`: the code whose status, `(code << 1) | 1`, is 77.
pub const SKIP_CODE: u32 = 77 >> 1;

/// The `EXIT: STATUS=` value for `code`.
pub const fn exit_status(code: u32) -> u32 {
    (code << 1) | 1
}

/// Report lines counted as `report_summary()` counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub tests: u32,
    pub failures: u32,
    pub skipped: u32,
}

impl Tally {
    pub fn count(&mut self, r: Report) {
        self.tests += 1;
        match r {
            Report::Pass => {}
            Report::Fail => self.failures += 1,
            Report::Skip => self.skipped += 1,
        }
    }
}

/// Writes one report line: `WORD: ccwgate: <prefixes>: <message>\n`.
/// Newlines in the message become spaces, so it stays one line.
pub fn report_line<W: Write + ?Sized>(
    w: &mut W,
    r: Report,
    prefixes: &[&str],
    message: fmt::Arguments<'_>,
) -> fmt::Result {
    write!(w, "{}: {PREFIX}: ", r.word())?;
    for p in prefixes {
        write!(OneLine(w), "{p}")?;
        w.write_str(": ")?;
    }
    write!(OneLine(w), "{message}")?;
    w.write_char('\n')
}

/// Keeps a line one line.
struct OneLine<'a, W: ?Sized>(&'a mut W);

impl<W: Write + ?Sized> Write for OneLine<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, part) in s.split(['\n', '\r']).enumerate() {
            if i > 0 {
                self.0.write_char(' ')?;
            }
            self.0.write_str(part)?;
        }
        Ok(())
    }
}

/// Fields of a FAIL or SKIP verdict repeated on its report line, in this
/// order, when present.
const EVIDENCE: [&str; 10] = [
    "sid",
    "iteration",
    "seed",
    "delay",
    "expected",
    "actual",
    "host",
    "missing",
    "error",
    "token",
];

/// The report line for a whole run, from its verdict line: PASS with seed
/// and iterations; FAIL with class and `what` (an ERROR that is not the
/// environment's as class `ERROR` and its reason); SKIP (an environment
/// ERROR) with its reason and `what`. Returns the kind written.
pub fn run_report<W: Write + ?Sized>(
    w: &mut W,
    verdict: &Parsed<'_>,
) -> Result<Report, fmt::Error> {
    let scenario = verdict.get("scenario").unwrap_or("none");
    let reason = verdict.get("reason");
    let seed = verdict.get("seed").unwrap_or("0");
    let iterations = verdict.get("iterations").unwrap_or("0");
    let kind = match verdict.outcome {
        Outcome::Pass => Report::Pass,
        Outcome::Fail => Report::Fail,
        Outcome::Error if reason.is_some_and(is_environment) => Report::Skip,
        Outcome::Error => Report::Fail,
    };
    let details = Details(verdict);
    match (verdict.outcome, kind) {
        (Outcome::Pass, _) => report_line(
            w,
            kind,
            &[],
            format_args!("{scenario} seed={seed} iterations={iterations}"),
        )?,
        (Outcome::Fail, _) => report_line(
            w,
            kind,
            &[scenario],
            format_args!(
                "{} {}{details}",
                verdict.get("class").or(reason).unwrap_or("unspecified"),
                verdict.get("what").unwrap_or("-"),
            ),
        )?,
        (Outcome::Error, Report::Skip) => report_line(
            w,
            kind,
            &[scenario],
            format_args!(
                "{}{}{details} (the environment, not the host)",
                reason.unwrap_or("unspecified"),
                What(verdict.get("what")),
            ),
        )?,
        (Outcome::Error, _) => report_line(
            w,
            kind,
            &[scenario],
            format_args!("ERROR {}{details}", reason.unwrap_or("unspecified")),
        )?,
    }
    Ok(kind)
}

/// ` <what>` when there is one.
struct What<'a>(Option<&'a str>);

impl fmt::Display for What<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(w) => write!(f, " {w}"),
            None => Ok(()),
        }
    }
}

/// ` key=value` for each [`EVIDENCE`] field the verdict has.
struct Details<'a, 'b>(&'a Parsed<'b>);

impl fmt::Display for Details<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for key in EVIDENCE {
            if let Some(v) = self.0.get(key) {
                write!(f, " {key}={v}")?;
            }
        }
        Ok(())
    }
}

/// `report_summary()`'s line.
pub fn summary_line<W: Write + ?Sized>(w: &mut W, t: &Tally) -> fmt::Result {
    write!(w, "SUMMARY: {} tests", t.tests)?;
    if t.failures > 0 {
        write!(w, ", {} unexpected failures", t.failures)?;
    }
    if t.skipped > 0 {
        write!(w, ", {} skipped", t.skipped)?;
    }
    w.write_char('\n')
}

/// The s390x library's `exit()` line, with the blank line it prints first.
pub fn exit_line<W: Write + ?Sized>(w: &mut W, code: u32) -> fmt::Result {
    write!(w, "\nEXIT: STATUS={}\n", exit_status(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::parse;
    use std::string::String;

    fn run(line: &str) -> (String, Report) {
        let mut s = String::new();
        let r = run_report(&mut s, &parse(line).expect("a verdict")).unwrap();
        (s, r)
    }

    #[test]
    fn statuses_are_what_run_tests_sh_reads() {
        // arch-run.bash: STATUS=1 is success, 77 a skip, anything else odd
        // below 128 a failure.
        assert_eq!(exit_status(exit_code(Outcome::Pass, None)), 1);
        assert_eq!(
            exit_status(exit_code(Outcome::Fail, Some("wrong-function"))),
            3
        );
        for reason in ENVIRONMENT {
            assert_eq!(exit_status(exit_code(Outcome::Error, Some(reason))), 77);
        }
        for reason in [
            "bad-cmdline",
            "program-check",
            "stack-overflow",
            "panic",
            "enable-failed",
        ] {
            assert_eq!(
                exit_status(exit_code(Outcome::Error, Some(reason))),
                3,
                "{reason}"
            );
        }
        assert_eq!(exit_status(exit_code(Outcome::Error, None)), 3);
        let mut s = String::new();
        exit_line(&mut s, SKIP_CODE).unwrap();
        assert_eq!(s, "\nEXIT: STATUS=77\n");
    }

    #[test]
    fn pass_line() {
        let (s, r) =
            run("VERDICT: PASS scenario=mixed seed=7 iterations=2000 elapsed_us=5 starts=9");
        assert_eq!(r, Report::Pass);
        assert_eq!(s, "PASS: ccwgate: mixed seed=7 iterations=2000\n");
    }

    #[test]
    fn fail_line_names_class_and_what() {
        let (s, r) = run(
            "VERDICT: FAIL scenario=csch-race seed=1 iterations=12 elapsed_us=5 reason=wrong-function \
             class=wrong-function what=clear-status-for-start sid=0x10000 iteration=12 delay=0 \
             expected=0x4 actual=0x2 host=vfio-ccw deviations=none",
        );
        assert_eq!(r, Report::Fail);
        assert_eq!(
            s,
            "FAIL: ccwgate: csch-race: wrong-function clear-status-for-start sid=0x10000 \
             iteration=12 seed=1 delay=0 expected=0x4 actual=0x2 host=vfio-ccw\n"
        );
    }

    #[test]
    fn environment_errors_skip_and_others_fail() {
        let (s, r) =
            run("VERDICT: ERROR scenario=mixed seed=1 iterations=0 elapsed_us=5 reason=no-device");
        assert_eq!(r, Report::Skip);
        assert_eq!(
            s,
            "SKIP: ccwgate: mixed: no-device seed=1 (the environment, not the host)\n"
        );
        let (s, r) = run(
            "VERDICT: ERROR scenario=ssch seed=1 iterations=3 elapsed_us=5 reason=program-check psw=0 code=0x6",
        );
        assert_eq!(r, Report::Fail);
        assert_eq!(s, "FAIL: ccwgate: ssch: ERROR program-check seed=1\n");
    }

    #[test]
    fn report_lines_stay_one_line() {
        let mut s = String::new();
        report_line(
            &mut s,
            Report::Skip,
            &["conformance", "a\nb"],
            format_args!("x\r\ny"),
        )
        .unwrap();
        assert_eq!(s, "SKIP: ccwgate: conformance: a b: x  y\n");
        assert_eq!(s.lines().count(), 1);
    }

    #[test]
    fn summary_as_report_summary_prints_it() {
        let mut t = Tally::default();
        let mut s = String::new();
        t.count(Report::Pass);
        summary_line(&mut s, &t).unwrap();
        assert_eq!(s, "SUMMARY: 1 tests\n");
        t.count(Report::Fail);
        t.count(Report::Skip);
        s.clear();
        summary_line(&mut s, &t).unwrap();
        assert_eq!(s, "SUMMARY: 3 tests, 1 unexpected failures, 1 skipped\n");
    }
}
