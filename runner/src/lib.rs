//! ccwgate's host runner: many runs of the guest kernel through
//! `run-qemu.sh` (the single-run front door), one [`Record`] per run, and
//! the reports CI systems read.
//!
//! - [`campaign_jobs`]: the false-positive campaign's runs (seeds x
//!   scenarios x modes x delay sweeps), in a fixed order so that
//!   [`shard`] can split it over CI jobs and [`Results::merge`] can put the
//!   pieces back together exactly.
//! - [`run_job`]: one run, its verdict line parsed with the kernel's own
//!   [`gate::verdict::parse`].
//! - [`names`]: the scenario, mode, class, deviation and option names, from
//!   their one definition in gate (`ccwgate list KIND`).
//! - [`Results`]: JSON (one record per run), JUnit (one test case per run,
//!   FAIL evidence in the failure message), TAP, the summary line, and the
//!   failure rate per million iterations that `compare` weighs with
//!   [`ccwgate_stats::compare_rates`].

pub mod known;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ccwgate_stats::{compare_rates, Better, Comparison, Proportion};
use gate::cmdline::{Collect, Cpus, Host, Scenario, KEYS};
use gate::oracle::{Class, Deviation};
use serde::{Deserialize, Serialize};

pub mod batch;
pub mod exit;
pub mod journal;
pub mod pool;
pub mod reporter;
pub mod stop;

/// The scenarios that drive a device, in gate's order: gate's
/// [`Scenario::DEVICE`] by name ([`Scenario::name`]).
pub const SCENARIOS: [&str; Scenario::DEVICE.len()] = gate::names_of!(Scenario::DEVICE);
/// Scenarios that neither collect status in a mode nor take a delay: one
/// run per seed is all there is to run.
pub const ONCE_PER_SEED: [&str; 1] = [Scenario::Conformance.name()];
/// The ways of collecting status, gate's [`Collect`] names.
pub const MODES: [&str; Collect::ALL.len()] = gate::names_of!(Collect::ALL);

/// What `run-qemu.sh --inject` (the injector, `inject/ccwgate_inject.py`)
/// plays beyond the classes: QEMU's relay racing a CLEAR, the device's own
/// unit check, a NOP's residual above its count, a halt's status with a
/// CCW address outside the program, a start ended without its device end,
/// an empty TSCH while a start is outstanding, a halt of a running start
/// ending with the halt function alone (a deviation), a halt of a running
/// start ended by alert status alone, a halt of an idle subchannel ending
/// with primary status, the emulator's leftover interruption (QEMU's
/// TCG: the next start's interruption with the previous parameter), and
/// issue 26's: a completion marked not initiated, alert status on a clean
/// completion, a halted start's status with attention.
pub const INJECTIONS_BEYOND_CLASSES: [&str; 13] = [
    "relay-race",
    "unit-check",
    "nop-residual",
    "halt-ccw-address",
    "no-device-end",
    "empty-tsch",
    "halt-without-start",
    "halt-alert",
    "halt-idle-status",
    "tcg-leftover",
    "not-initiated-ending",
    "alert-completion",
    "halt-attention",
];

/// The kinds of names `ccwgate list KIND` prints.
pub const NAME_KINDS: [&str; 8] = [
    "scenarios",
    "modes",
    "classes",
    "deviations",
    "options",
    "hosts",
    "cpus",
    "injections",
];

/// The names of one kind, in gate's order, from their one definition in
/// gate: `scenarios` as the front doors list them (`crash`, for the
/// end-to-end tests, left out), `options` the command-line keys, and
/// `injections` the classes followed by [`INJECTIONS_BEYOND_CLASSES`].
/// `run-qemu.sh` and the injector keep copies; `runner/tests/names.rs`
/// holds them to these.
pub fn names(kind: &str) -> Option<Vec<&'static str>> {
    let classes = || Class::ALL.into_iter().map(Class::name);
    Some(match kind {
        "scenarios" => Scenario::ALL
            .into_iter()
            .filter(|s| s.listed())
            .map(Scenario::name)
            .collect(),
        "modes" => MODES.to_vec(),
        "classes" => classes().collect(),
        "deviations" => Deviation::ALL.into_iter().map(Deviation::name).collect(),
        "options" => KEYS.to_vec(),
        "hosts" => Host::ALL.into_iter().map(Host::name).collect(),
        "cpus" => Cpus::ALL.into_iter().map(Cpus::name).collect(),
        "injections" => classes().chain(INJECTIONS_BEYOND_CLASSES).collect(),
        _ => return None,
    })
}
/// Each seed takes one sweep, so narrow and wide windows are both covered.
pub const SWEEPS: [&str; 4] = ["0:256:1", "0:8192:64", "0:65536:512", "auto"];

/// One run to make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub scenario: String,
    pub seed: u64,
    pub mode: String,
    pub delay: String,
    pub iterations: u32,
}

impl Job {
    /// A stable name, the JUnit test case's and TAP line's.
    pub fn name(&self) -> String {
        format!(
            "{} seed={} mode={} delay={}",
            self.scenario, self.seed, self.mode, self.delay
        )
    }
}

/// What one run gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub job: Job,
    /// `PASS`, `FAIL` or `ERROR`.
    pub verdict: String,
    pub reason: Option<String>,
    pub class: Option<String>,
    pub what: Option<String>,
    /// Iterations completed (the failing one included for a FAIL).
    pub iterations_done: u64,
    /// Guest time from boot to verdict.
    pub elapsed_us: u64,
    pub wall_ms: u64,
    /// run-qemu.sh's exit status: 0 PASS, 1 FAIL, 2 ERROR
    /// ([`exit::Exit::of_run`]); any other (-1 for a signal) is an ERROR too.
    pub exit: i32,
    /// The verdict line, and for a FAIL the `FAIL:` lines and the trace.
    pub evidence: Vec<String>,
    pub qemu_version: String,
    pub kernel_version: String,
    /// The id of the known open bug (`--known`) this FAIL's signature is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
}

impl Record {
    pub fn passed(&self) -> bool {
        self.verdict == "PASS"
    }

    /// A FAIL that is no known open bug.
    pub fn failed(&self) -> bool {
        self.verdict == "FAIL" && self.known.is_none()
    }

    /// Its TAP test line as test `n`, and for a run that did not pass its
    /// evidence as diagnostics.
    pub fn tap(&self, n: usize) -> String {
        if self.passed() {
            return format!("ok {n} - {}\n", self.job.name());
        }
        let mut out = match &self.known {
            // TAP's TODO: a failure that is expected for now.
            Some(id) => format!("not ok {n} - {} FAIL # TODO known: {id}\n", self.job.name()),
            None => format!("not ok {n} - {} # {}\n", self.job.name(), self.verdict),
        };
        for l in &self.evidence {
            out.push_str(&format!("# {l}\n"));
        }
        out
    }
}

/// The sweeps for runs with run-qemu.sh options `extra`: a passed-through
/// device (`--vfio-ccw`) gets `auto` only, as a fixed sweep far below its
/// start-to-status time cannot reach the race window (and `require_race`
/// makes that an ERROR).
pub fn sweeps_for(extra: &[String]) -> &'static [&'static str] {
    if extra.iter().any(|a| a.starts_with("--vfio-ccw")) {
        &SWEEPS[SWEEPS.len() - 1..]
    } else {
        &SWEEPS
    }
}

/// The campaign's runs for `seeds`, in their fixed order, each seed with
/// one of `sweeps`.
pub fn campaign_jobs(seeds: std::ops::Range<u64>, iterations: u32, sweeps: &[&str]) -> Vec<Job> {
    let mut jobs = Vec::new();
    for seed in seeds {
        for scenario in SCENARIOS {
            let modes = if ONCE_PER_SEED.contains(&scenario) {
                &MODES[..1]
            } else {
                &MODES[..]
            };
            for mode in modes {
                jobs.push(Job {
                    scenario: scenario.into(),
                    seed,
                    mode: (*mode).into(),
                    delay: sweeps[(seed % sweeps.len() as u64) as usize].into(),
                    iterations,
                });
            }
        }
    }
    jobs
}

/// Shard `index` (1-based) of `count`: every `count`-th job, so shards are
/// alike in length and mix.
pub fn shard(jobs: Vec<Job>, index: usize, count: usize) -> Vec<Job> {
    jobs.into_iter()
        .enumerate()
        .filter(|(i, _)| i % count == index - 1)
        .map(|(_, j)| j)
        .collect()
}

/// `I/N` as given to `--shard`.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard wants I/N with 1 <= I <= N, got `{s}`");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Where run-qemu.sh and the kernel are, and what every run shares.
#[derive(Clone, Debug)]
pub struct Setup {
    pub workspace: PathBuf,
    pub kernel: PathBuf,
    pub timeout_s: u32,
    /// Further run-qemu.sh options for every run (e.g. `--append host=...`).
    pub extra: Vec<String>,
    pub qemu_version: String,
    pub kernel_version: String,
    /// Known open bugs (`--known`): their FAILs are held apart.
    pub known: Option<known::KnownBugs>,
    /// The private copy `kernel` names when [`Setup::new`] made one; it is
    /// removed when the last clone of the setup goes.
    pub kernel_copy: Option<std::sync::Arc<tempfile::TempPath>>,
}

impl Setup {
    /// Builds the kernel unless `kernel` is given, and learns the versions
    /// that go into every record.
    pub fn new(
        workspace: &Path,
        kernel: Option<PathBuf>,
        timeout_s: u32,
        extra: Vec<String>,
    ) -> Result<Self, String> {
        let kernel = match kernel {
            Some(k) => k,
            None => {
                let target = std::env::var_os("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| workspace.join("target"));
                build_kernel(workspace, &target)?
            }
        };
        if !kernel.is_file() {
            return Err(format!("no kernel at {}", kernel.display()));
        }
        // Every run boots a private copy: a kernel rebuilt while a campaign
        // or soak runs (cargo writes the same path) never reaches a boot
        // half-written, and the runs all judge one kernel.
        let copy = tempfile::Builder::new()
            .prefix("ccwgate-kernel-")
            .suffix(".elf")
            .tempfile()
            .map_err(|e| format!("cannot make a private copy of the kernel: {e}"))?
            .into_temp_path();
        std::fs::copy(&kernel, &copy).map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                kernel.display(),
                copy.display()
            )
        })?;
        let kernel = copy.to_path_buf();
        let first_line = |cmd: &mut Command| {
            cmd.output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|s| s.lines().next().map(str::to_string))
        };
        let qemu_version = first_line(Command::new("qemu-system-s390x").arg("--version")).ok_or(
            "qemu-system-s390x not found; install it with: sudo apt-get install qemu-system-misc",
        )?;
        let kernel_version = first_line(
            Command::new("git")
                .current_dir(workspace)
                .args(["describe", "--always", "--dirty"]),
        )
        .map(|d| format!("ccwgate {} ({d})", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| format!("ccwgate {}", env!("CARGO_PKG_VERSION")));
        Ok(Setup {
            workspace: workspace.to_path_buf(),
            kernel,
            timeout_s,
            extra,
            qemu_version,
            kernel_version,
            known: None,
            kernel_copy: Some(std::sync::Arc::new(copy)),
        })
    }
}

/// Builds the guest kernel of `workspace` into `target_dir` and returns
/// the ELF's path (for the runner and for the end-to-end tests alike).
pub fn build_kernel(workspace: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace)
        .args(["build", "-q", "-p", "ccwgate-kernel", "--release"])
        .args(["--target", "s390x-unknown-linux-gnu", "--target-dir"])
        .arg(target_dir)
        .status()
        .map_err(|e| format!("cannot run cargo to build the kernel: {e}"))?;
    if !status.success() {
        return Err("the kernel build failed".into());
    }
    Ok(target_dir.join("s390x-unknown-linux-gnu/release/ccwgate"))
}

/// Lines of evidence kept from a failing run's console.
const EVIDENCE_LINES: usize = 60;

/// Runs `job` through run-qemu.sh.
pub fn run_job(setup: &Setup, job: &Job) -> Record {
    let started = Instant::now();
    let out = Command::new(setup.workspace.join("run-qemu.sh"))
        .arg("--kernel")
        .arg(&setup.kernel)
        .args(["--scenario", &job.scenario, "--seed", &job.seed.to_string()])
        .args(["--mode", &job.mode, "--delay", &job.delay])
        .args(["--iterations", &job.iterations.to_string()])
        .args(["--timeout", &setup.timeout_s.to_string()])
        .args(&setup.extra)
        .output();
    let wall_ms = started.elapsed().as_millis() as u64;
    let (exit, stdout, stderr) = match out {
        Ok(o) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (-1, String::new(), format!("run-qemu.sh did not start: {e}")),
    };
    record(setup, job, exit, &stdout, &stderr, wall_ms)
}

/// The record of a run that printed `stdout` and `stderr` and exited `exit`.
pub fn record(
    setup: &Setup,
    job: &Job,
    exit: i32,
    stdout: &str,
    stderr: &str,
    wall_ms: u64,
) -> Record {
    let lines: Vec<&str> = stdout.lines().map(|l| l.trim_end_matches('\r')).collect();
    let line = lines.iter().copied().find(|l| l.starts_with("VERDICT: "));
    let parsed = line.and_then(|l| gate::verdict::parse(l).map(|p| (l, p)));
    let mut r = record_from(setup, job, parsed, exit, &lines, stderr, wall_ms);
    if let (Some(l), None) = (line, parsed) {
        // A verdict line that does not parse is evidence too.
        r.evidence.insert(0, l.to_string());
    }
    r
}

/// The record of a run whose result line (a boot's verdict line or a
/// batch's run line) is `line`, parsed, with `lines` of console before it,
/// `stderr` from run-qemu.sh, and exit status `exit`.
pub fn record_from(
    setup: &Setup,
    job: &Job,
    line: Option<(&str, gate::verdict::Parsed<'_>)>,
    exit: i32,
    lines: &[&str],
    stderr: &str,
    wall_ms: u64,
) -> Record {
    let parsed = line.map(|(_, p)| p);
    let field = |k: &str| parsed.as_ref().and_then(|p| p.get(k)).map(str::to_string);
    let num = |k: &str| parsed.as_ref().and_then(|p| p.get_u64(k)).unwrap_or(0);
    let mut verdict = parsed
        .as_ref()
        .map(|p| p.outcome.name().to_string())
        .unwrap_or_else(|| "ERROR".into());
    // run-qemu.sh has the last word: no verdict, a timeout, a failed
    // injection or QEMU failure are ERRORs whatever the guest printed.
    if !exit::Exit::is_judged_run(exit) {
        verdict = "ERROR".into();
    }
    let mut evidence: Vec<String> = Vec::new();
    if let Some((l, _)) = line {
        evidence.push(l.to_string());
    }
    if verdict != "PASS" {
        let kept: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| {
                l.starts_with("FAIL:")
                    || l.starts_with("SKIP:")
                    || l.starts_with("INFO:")
                    || l.starts_with("ERROR:")
                    || l.starts_with("trace:")
            })
            .chain(stderr.lines().filter(|l| l.contains("ERROR")))
            .collect();
        let skip = kept.len().saturating_sub(EVIDENCE_LINES);
        evidence.extend(kept[skip..].iter().map(|l| l.to_string()));
    }
    let reason = field("reason").or_else(|| {
        (parsed.is_none())
            .then(|| {
                stderr
                    .lines()
                    .rev()
                    .find(|l| l.contains("ERROR"))
                    .map(str::to_string)
            })
            .flatten()
    });
    let mut r = Record {
        job: job.clone(),
        verdict,
        reason,
        class: field("class"),
        what: field("what"),
        iterations_done: num("iterations") + u64::from(field("class").is_some()),
        elapsed_us: num("elapsed_us"),
        wall_ms,
        exit,
        evidence,
        qemu_version: setup.qemu_version.clone(),
        kernel_version: setup.kernel_version.clone(),
        known: None,
    };
    // Known open bugs are marked where every record is made, a boot's or
    // a batch's run alike.
    if let Some(k) = &setup.known {
        known::mark(&mut r, k);
    }
    r
}

/// A set of records, as written to and read from `--json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub records: Vec<Record>,
}

/// Counts over a result set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub runs: u64,
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    /// FAILs that are known open bugs, not counted in `fail`.
    pub known: u64,
    pub iterations: u64,
}

impl Results {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.records {
            c.runs += 1;
            c.iterations += r.iterations_done;
            match r.verdict.as_str() {
                "PASS" => c.pass += 1,
                "FAIL" if r.known.is_some() => c.known += 1,
                "FAIL" => c.fail += 1,
                _ => c.error += 1,
            }
        }
        c
    }

    /// Shards' results as one set, in the campaign's own order.
    pub fn merge(parts: Vec<Results>) -> Results {
        let mut records: Vec<Record> = parts.into_iter().flat_map(|p| p.records).collect();
        let order = |r: &Record| {
            let s = SCENARIOS
                .iter()
                .position(|&x| x == r.job.scenario)
                .unwrap_or(usize::MAX);
            let m = MODES
                .iter()
                .position(|&x| x == r.job.mode)
                .unwrap_or(usize::MAX);
            (r.job.seed, s, m)
        };
        records.sort_by_key(order);
        Results { records }
    }

    /// FAILs per iteration run: the failure rate `compare` weighs.
    pub fn failure_rate(&self) -> Proportion {
        let c = self.counts();
        // Known open bugs fail too: compare weighs every FAIL (per signature
        // with `known::per_signature`).
        let fails = c.fail + c.known;
        Proportion::new(fails.min(c.iterations), c.iterations)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("records serialise")
    }

    pub fn from_json(text: &str) -> Result<Results, String> {
        serde_json::from_str(text).map_err(|e| format!("not a ccwgate result file: {e}"))
    }

    /// One record per line (JSON Lines), as `--json` writes them.
    pub fn to_jsonl(&self) -> String {
        self.records
            .iter()
            .map(|r| serde_json::to_string(r).expect("records serialise") + "\n")
            .collect()
    }

    /// Reads `--json` output: JSON Lines or the older whole-file JSON.
    pub fn load(text: &str) -> Result<Results, String> {
        journal::load(text).map(|l| l.results)
    }

    /// One JUnit test case per run; a FAIL is a failure with its evidence,
    /// an ERROR an error.
    pub fn to_junit(&self, name: &str) -> String {
        self.to_junit_with(name, &[])
    }

    /// As [`Results::to_junit`], with `interrupted`, the runs a stop cut
    /// short, as skipped test cases whose message says so.
    pub fn to_junit_with(&self, name: &str, interrupted: &[Job]) -> String {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new(name);
        for r in &self.records {
            let status = match (r.verdict.as_str(), &r.known) {
                ("PASS", _) => TestCaseStatus::success(),
                ("FAIL", Some(id)) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!("known: {id}"));
                    s.set_description(r.evidence.join("\n"));
                    s
                }
                (v, _) => {
                    let kind = if v == "FAIL" {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    let what = [r.class.as_deref(), r.what.as_deref(), r.reason.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    s.set_message(format!("{v} {what}"));
                    s.set_type(r.class.clone().unwrap_or_else(|| v.to_lowercase()));
                    s.set_description(r.evidence.join("\n"));
                    s
                }
            };
            let mut case = TestCase::new(r.job.name(), status);
            case.set_classname(format!("ccwgate.{}", r.job.scenario));
            case.set_time(std::time::Duration::from_millis(r.wall_ms));
            suite.add_test_case(case);
        }
        for job in interrupted {
            let mut status = TestCaseStatus::skipped();
            status.set_message("interrupted: the runner was stopped during this run");
            let mut case = TestCase::new(job.name(), status);
            case.set_classname(format!("ccwgate.{}", job.scenario));
            suite.add_test_case(case);
        }
        let mut report = Report::new("ccwgate");
        report.add_test_suite(suite);
        report.to_string().expect("JUnit serialises")
    }

    /// TAP version 13: a plan, one line per run, the evidence of a
    /// non-passing run as diagnostics.
    pub fn to_tap(&self) -> String {
        let mut out = format!("TAP version 13\n1..{}\n", self.records.len());
        for (i, r) in self.records.iter().enumerate() {
            out.push_str(&r.tap(i + 1));
        }
        out
    }
}

impl Counts {
    /// The campaign's summary line.
    pub fn campaign_line(&self, seconds: u64) -> String {
        let known = if self.known > 0 {
            format!(" known={}", self.known)
        } else {
            String::new()
        };
        format!(
            "campaign: runs={} pass={} fail={} error={}{known} iterations={} seconds={seconds}",
            self.runs, self.pass, self.fail, self.error, self.iterations
        )
    }

    /// What a stop left out, appended to a summary line.
    pub fn stopped_suffix(interrupted: usize, not_run: usize) -> String {
        format!(" interrupted={interrupted} not_run={not_run}")
    }

    /// The soak's summary line.
    pub fn soak_line(&self) -> String {
        let known = if self.known > 0 {
            format!(", {} known", self.known)
        } else {
            String::new()
        };
        format!(
            "{} passed, {} failed, {} errors{known}",
            self.pass, self.fail, self.error
        )
    }
}

/// `compare`'s verdict on two result sets (A, then B), in one line.
pub fn compare(a: &Results, b: &Results, alpha: f64) -> (Comparison, String) {
    let c = compare_rates(a.failure_rate(), b.failure_rate(), alpha);
    let line = match c.better {
        Better::A => "A fails less often than B".to_string(),
        Better::B => "B fails less often than A".to_string(),
        Better::CannotTell => "the data cannot tell which fails less often".to_string(),
    };
    (c, line)
}

/// A setup for the crate's unit tests: nothing is run with it.
#[cfg(test)]
pub(crate) fn test_setup() -> Setup {
    Setup {
        workspace: PathBuf::from("."),
        kernel: PathBuf::from("k"),
        timeout_s: 1,
        extra: vec![],
        qemu_version: "QEMU emulator version 7.2.0".into(),
        kernel_version: "ccwgate 0.1.0 (abc)".into(),
        known: None,
        kernel_copy: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        test_setup()
    }

    fn job(seed: u64) -> Job {
        Job {
            scenario: "ssch".into(),
            seed,
            mode: "irq".into(),
            delay: "auto".into(),
            iterations: 100,
        }
    }

    const PASS: &str =
        "VERDICT: PASS scenario=ssch seed=1 iterations=100 elapsed_us=5000 starts=101\n";
    const FAIL: &str = "trace: #1 SSCH\nFAIL: bad-status (x)\nVERDICT: FAIL scenario=ssch seed=1 iterations=9 elapsed_us=900 reason=bad-status class=bad-status what=relay-unit-exception\n";

    #[test]
    fn records_read_the_verdict_line() {
        let r = record(&setup(), &job(1), 0, PASS, "", 10);
        assert!(r.passed());
        assert_eq!((r.iterations_done, r.elapsed_us), (100, 5000));
        let r = record(&setup(), &job(1), 1, FAIL, "", 10);
        assert!(r.failed());
        assert_eq!(r.class.as_deref(), Some("bad-status"));
        assert_eq!(r.what.as_deref(), Some("relay-unit-exception"));
        assert_eq!(r.iterations_done, 10, "the failing iteration counts");
        assert!(r.evidence.iter().any(|l| l.starts_with("FAIL:")));
        // No verdict, or run-qemu.sh's own ERROR: an ERROR.
        let r = record(&setup(), &job(1), 2, "", "run-qemu.sh: ERROR: timeout", 10);
        assert_eq!(r.verdict, "ERROR");
        assert_eq!(r.reason.as_deref(), Some("run-qemu.sh: ERROR: timeout"));
        let r = record(
            &setup(),
            &job(1),
            2,
            PASS,
            "run-qemu.sh: ERROR: never fired",
            10,
        );
        assert_eq!(r.verdict, "ERROR");
    }

    #[test]
    fn shards_partition_the_campaign() {
        let all = campaign_jobs(1..4, 10, &SWEEPS);
        assert_eq!(all.len(), 3 * (6 * 4 + 1));
        let parts: Vec<Vec<Job>> = (1..=5).map(|i| shard(all.clone(), i, 5)).collect();
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), all.len());
        let mut joined: Vec<Job> = parts.concat();
        joined.sort_by_key(|j| all.iter().position(|x| x == j));
        assert_eq!(joined, all);
        assert_eq!(parse_shard("2/5"), Ok((2, 5)));
        for bad in ["0/5", "6/5", "x", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_passed_through_device_gets_only_the_measured_sweep() {
        assert_eq!(sweeps_for(&[]), &SWEEPS);
        let vfio = vec!["--vfio-ccw".to_string(), "0123".to_string()];
        assert_eq!(sweeps_for(&vfio), &["auto"]);
        assert!(campaign_jobs(1..3, 10, sweeps_for(&vfio))
            .iter()
            .all(|j| j.delay == "auto"));
    }

    #[test]
    fn merged_shards_equal_the_whole() {
        let s = setup();
        let jobs = campaign_jobs(1..3, 10, &SWEEPS);
        let whole = Results {
            records: jobs.iter().map(|j| record(&s, j, 0, PASS, "", 1)).collect(),
        };
        let parts = (1..=3)
            .map(|i| Results {
                records: shard(jobs.clone(), i, 3)
                    .iter()
                    .map(|j| record(&s, j, 0, PASS, "", 1))
                    .collect(),
            })
            .map(|r| Results::from_json(&r.to_json()).unwrap())
            .collect();
        assert_eq!(Results::merge(parts), whole);
    }

    #[test]
    fn compare_tells_better_worse_and_too_little() {
        let s = setup();
        let set = |fails: usize, runs: usize| Results {
            records: (0..runs)
                .map(|i| {
                    let out = if i < fails { FAIL } else { PASS };
                    record(&s, &job(i as u64), i32::from(i < fails), out, "", 1)
                })
                .collect(),
        };
        let good = set(0, 200);
        let bad = set(30, 200);
        assert_eq!(compare(&good, &bad, 0.05).0.better, Better::A);
        assert_eq!(compare(&bad, &good, 0.05).0.better, Better::B);
        assert_eq!(
            compare(&set(1, 5), &set(0, 5), 0.05).0.better,
            Better::CannotTell
        );
    }
}

/// Sizes of a kernel image, from its ELF program headers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    /// The ELF file, debug information included.
    pub file: u64,
    /// Bytes loaded from the file (text and data).
    pub loaded: u64,
    /// Zeroed at load (bss).
    pub zeroed: u64,
    /// Bytes a stripped ELF needs: headers and loaded segments.
    pub stripped: u64,
}

/// Reads the sizes of a 64-bit big-endian ELF (the s390x kernel).
pub fn image_size(elf: &[u8]) -> Result<ImageSize, String> {
    let be = |at: usize, n: usize| -> Result<u64, String> {
        let b = elf.get(at..at + n).ok_or("truncated ELF")?;
        Ok(b.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
    };
    if elf.get(..4) != Some(b"\x7fELF") || elf.get(4) != Some(&2) || elf.get(5) != Some(&2) {
        return Err("not a 64-bit big-endian ELF".into());
    }
    let (phoff, phentsize, phnum) = (be(0x20, 8)? as usize, be(0x36, 2)? as usize, be(0x38, 2)?);
    let mut size = ImageSize {
        file: elf.len() as u64,
        stripped: (phoff + phentsize * phnum as usize) as u64,
        ..ImageSize::default()
    };
    for i in 0..phnum as usize {
        let ph = phoff + i * phentsize;
        if be(ph, 4)? != 1 {
            continue; // PT_LOAD only
        }
        let (offset, filesz, memsz) = (be(ph + 8, 8)?, be(ph + 32, 8)?, be(ph + 40, 8)?);
        size.loaded += filesz;
        size.zeroed += memsz.saturating_sub(filesz);
        size.stripped = size.stripped.max(offset + filesz);
    }
    Ok(size)
}

/// Median and spread of a sample, hyperfine style.
pub use ccwgate_stats::Spread;

/// A spread of rates in thousands: `median K (min … max)`.
pub fn kilo(s: &Spread) -> String {
    let k = |v: f64| v / 1000.0;
    format!("{:.0} K ({:.0} … {:.0})", k(s.median), k(s.min), k(s.max))
}

/// The rate the C reference loop printed: `... N cycles in T us: R cycles/s`.
pub fn peer_rate(console: &str) -> Option<f64> {
    let line = console.lines().find(|l| l.contains("cycles/s"))?;
    let before = line.rsplit_once("cycles/s")?.0.trim_end();
    before.rsplit([' ', ':']).next()?.parse().ok()
}

#[cfg(test)]
mod bench_tests {
    use super::*;

    #[test]
    fn image_sizes_come_from_the_program_headers() {
        // A minimal ELF64 big-endian header with two program headers.
        let mut elf = vec![0u8; 0x40 + 2 * 0x38];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2;
        elf[5] = 2;
        elf[0x20..0x28].copy_from_slice(&0x40u64.to_be_bytes());
        elf[0x36..0x38].copy_from_slice(&0x38u16.to_be_bytes());
        elf[0x38..0x3a].copy_from_slice(&2u16.to_be_bytes());
        let ph = |elf: &mut Vec<u8>, i: usize, ty: u32, off: u64, filesz: u64, memsz: u64| {
            let at = 0x40 + i * 0x38;
            elf[at..at + 4].copy_from_slice(&ty.to_be_bytes());
            elf[at + 8..at + 16].copy_from_slice(&off.to_be_bytes());
            elf[at + 32..at + 40].copy_from_slice(&filesz.to_be_bytes());
            elf[at + 40..at + 48].copy_from_slice(&memsz.to_be_bytes());
        };
        ph(&mut elf, 0, 1, 0x1000, 0x3000, 0x5000);
        ph(&mut elf, 1, 4, 0x9000, 0x10, 0x10); // a note: not loaded
        elf.resize(0x8000, 0);
        let s = image_size(&elf).unwrap();
        assert_eq!(
            s,
            ImageSize {
                file: 0x8000,
                loaded: 0x3000,
                zeroed: 0x2000,
                stripped: 0x4000
            }
        );
        assert!(image_size(b"\x7fELF\x01").is_err());
    }

    #[test]
    fn spread_and_peer_rate() {
        let s = Spread::of(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!(kilo(&s), "0 K (0 … 0)");
        assert_eq!(kilo(&Spread::of(&[1500.0, 2400.0]).unwrap()), "2 K (2 … 2)");
        let line = "PASS: ssch-loop poll: 100000 cycles in 69444 us: 1440000 cycles/s";
        assert_eq!(peer_rate(line), Some(1_440_000.0));
        assert_eq!(peer_rate("nothing"), None);
    }
}
