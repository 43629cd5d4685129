//! What a running campaign or soak prints on stdout and stderr: TAP lines
//! as runs end (`--tap`), or a progress bar on a terminal and a line per
//! run that did not pass; then the end of the stream and the summary.
//!
//! The TAP stream (version 13, read the same by version 14 harnesses) is
//! `TAP version 13`, one test line per run as it ends, the runs a stop
//! interrupted as `not ok ... # interrupted`, and the plan `1..N` last,
//! since the number of runs is known only at the end. The TAP 13 and 14
//! specifications allow a plan at the end only as the last non-diagnostic
//! line, and call any line that is not a version, plan, test line, YAML
//! block, diagnostic or bail out incorrect (TAP::Parser's `pragma +strict`
//! fails on one): so every line after the runs, the summary included, is a
//! diagnostic `# ...` ([`after_runs`]). `merge --tap` (plan first, from
//! [`Results::to_tap`](crate::Results::to_tap)) follows the same rule.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Job, Record};

/// The first line of a TAP stream.
pub const TAP_VERSION: &str = "TAP version 13";

/// A line for the reader after the runs (summary, first FAIL): in a TAP
/// stream a diagnostic, so that the plan stays the last non-diagnostic
/// line; elsewhere as it is.
pub fn after_runs(tap: bool, line: &str) -> String {
    if tap {
        format!("# {line}")
    } else {
        line.to_string()
    }
}

/// Where each finished run goes: TAP lines as they come, or a progress bar
/// on a terminal, plain lines in CI.
pub struct Reporter {
    tap: bool,
    bar: indicatif::ProgressBar,
    done: AtomicUsize,
}

impl Reporter {
    /// A reporter for `total` runs (the progress bar's length, where
    /// known); `tap` prints TAP instead of the progress.
    pub fn new(tap: bool, total: Option<u64>) -> Self {
        let bar = match total {
            Some(n) if !tap => indicatif::ProgressBar::new(n),
            _ => indicatif::ProgressBar::hidden(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {msg} eta {eta}")
                .expect("valid template"),
        );
        Reporter {
            tap,
            bar,
            done: AtomicUsize::new(0),
        }
    }

    /// Whether it prints TAP.
    pub fn tap(&self) -> bool {
        self.tap
    }

    /// The start of the stream: TAP's version line.
    pub fn start(&self) {
        if self.tap {
            println!("{TAP_VERSION}");
        }
    }

    /// A run ended: its TAP line, or a line on stderr if it did not pass.
    pub fn finished(&self, r: &Record) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        if self.tap {
            print!("{}", r.tap(n));
        } else if !r.passed() {
            self.bar.suspend(|| {
                eprintln!(
                    "ccwgate: {} {}: {}",
                    r.verdict,
                    r.job.name(),
                    r.evidence
                        .first()
                        .map(String::as_str)
                        .unwrap_or("(no verdict)")
                )
            });
        }
        self.bar.inc(1);
    }

    /// The runs are over: the progress bar goes.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// The end of the TAP stream after `done` finished runs: the runs a
    /// stop interrupted, as failed tests, and the plan; nothing without
    /// `--tap`.
    pub fn tap_end(&self, done: usize, interrupted: &[Job]) -> String {
        if !self.tap {
            return String::new();
        }
        let mut out = String::new();
        for (i, job) in interrupted.iter().enumerate() {
            out.push_str(&format!(
                "not ok {} - {} # interrupted\n",
                done + i + 1,
                job.name()
            ));
        }
        out.push_str(&format!("1..{}\n", done + interrupted.len()));
        out
    }

    /// A line after the runs ([`after_runs`]), with its newline.
    pub fn note(&self, line: &str) -> String {
        after_runs(self.tap, line) + "\n"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The kind of a TAP line as TAP 13/14 define them; `None` for a line
    /// they call incorrect.
    pub(crate) fn tap_kind(line: &str) -> Option<&'static str> {
        let test = |rest: &str| {
            rest.is_empty() || rest.starts_with(' ') || rest.starts_with(char::is_numeric)
        };
        if line == TAP_VERSION {
            Some("version")
        } else if line.starts_with('#') {
            Some("diagnostic")
        } else if let Some(rest) = line.strip_prefix("not ok") {
            test(rest).then_some("test")
        } else if let Some(rest) = line.strip_prefix("ok") {
            test(rest).then_some("test")
        } else if let Some(n) = line.strip_prefix("1..") {
            n.split(' ')
                .next()
                .is_some_and(|n| n.parse::<u64>().is_ok())
                .then_some("plan")
        } else if line.starts_with("Bail out!") {
            Some("bail out")
        } else {
            None
        }
    }

    /// Why `stream` is no valid TAP stream, if it is not: a version first,
    /// every line of a known kind, one plan, first or last but diagnostics,
    /// and as many test lines as it plans.
    pub(crate) fn tap_fault(stream: &str) -> Option<String> {
        let lines: Vec<&str> = stream.lines().collect();
        if lines.first() != Some(&TAP_VERSION) {
            return Some("no version line first".into());
        }
        let mut kinds = Vec::new();
        for l in &lines[1..] {
            match tap_kind(l) {
                Some(k) => kinds.push(k),
                None => return Some(format!("incorrect line: {l:?}")),
            }
        }
        let judged: Vec<&str> = kinds.into_iter().filter(|&k| k != "diagnostic").collect();
        let plans = judged.iter().filter(|&&k| k == "plan").count();
        if plans != 1 || (judged.first() != Some(&"plan") && judged.last() != Some(&"plan")) {
            return Some("the plan is not once, first or last".into());
        }
        let planned: usize = lines
            .iter()
            .find_map(|l| l.strip_prefix("1.."))
            .and_then(|n| n.split(' ').next()?.parse().ok())?;
        let tests = judged.iter().filter(|&&k| k == "test").count();
        (tests != planned).then(|| format!("{tests} tests, {planned} planned"))
    }

    fn record(seed: u64, verdict: &str) -> Record {
        Record {
            job: Job {
                scenario: "csch-race".into(),
                seed,
                mode: "irq".into(),
                delay: "auto".into(),
                iterations: 10,
            },
            verdict: verdict.into(),
            reason: None,
            class: None,
            what: None,
            iterations_done: 10,
            elapsed_us: 1,
            wall_ms: 1,
            exit: 0,
            evidence: vec![format!("VERDICT: {verdict} scenario=csch-race seed={seed}")],
            qemu_version: String::new(),
            kernel_version: String::new(),
            known: None,
        }
    }

    /// A campaign's or soak's whole `--tap` stdout, as their one path
    /// prints it.
    fn stream(records: &[Record], interrupted: &[Job], notes: &[&str]) -> String {
        let rep = Reporter::new(true, None);
        let mut out = format!("{TAP_VERSION}\n");
        for (i, r) in records.iter().enumerate() {
            out.push_str(&r.tap(i + 1));
        }
        out.push_str(&rep.tap_end(records.len(), interrupted));
        for n in notes {
            out.push_str(&rep.note(n));
        }
        out
    }

    #[test]
    fn the_stream_with_its_summary_is_valid_tap() {
        let records = [record(1, "PASS"), record(2, "FAIL"), record(3, "ERROR")];
        let interrupted = [records[0].job.clone()];
        let s = stream(
            &records,
            &interrupted,
            &[
                "2 passed, 1 failed, 1 errors",
                "first FAIL: csch-race seed=2",
            ],
        );
        assert_eq!(tap_fault(&s), None, "{s}");
        assert!(
            s.ends_with("1..4\n# 2 passed, 1 failed, 1 errors\n# first FAIL: csch-race seed=2\n")
        );
        let empty = stream(&[], &[], &["campaign: runs=0"]);
        assert_eq!(tap_fault(&empty), None, "{empty}");
        // Without --tap the same lines are bare and there is no TAP end.
        let plain = Reporter::new(false, None);
        assert_eq!(plain.note("6 passed"), "6 passed\n");
        assert_eq!(plain.tap_end(3, &interrupted), "");
    }

    #[test]
    fn the_check_finds_a_bare_summary_and_a_wrong_plan() {
        // The soak's stream before campaign and soak shared one path.
        let records = [record(1, "PASS")];
        let bare = stream(&records, &[], &[]) + "1 passed, 0 failed, 0 errors\n";
        assert!(tap_fault(&bare).unwrap().contains("incorrect line"));
        let short = format!("{TAP_VERSION}\n1..2\nok 1 - a\n");
        assert_eq!(tap_fault(&short).unwrap(), "1 tests, 2 planned");
        let middle = format!("{TAP_VERSION}\nok 1 - a\n1..2\nok 2 - b\n");
        assert!(tap_fault(&middle).unwrap().contains("plan"));
        assert!(tap_fault("1..0\n").is_some());
    }

    #[test]
    fn merge_tap_with_its_summary_is_valid_tap() {
        let results = crate::Results {
            records: vec![record(1, "PASS"), record(2, "FAIL")],
        };
        let line = results.counts().campaign_line(0);
        let s = results.to_tap() + &after_runs(true, &line) + "\n";
        assert_eq!(tap_fault(&s), None, "{s}");
    }
}
