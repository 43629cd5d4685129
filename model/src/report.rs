//! `ccwgate-model report --out DIR`: the evidence report of issue 17.
//!
//! Runs one matrix, hosts x race scenarios x modes, all under
//! `host=vfio-ccw`, and writes `DIR/index.html` (self-contained, plots
//! inline) and `DIR/report.md` (the same text, plots linked as the SVG files
//! beside it). The matrix is data ([`HOSTS`], [`SCENARIOS`], [`MODES`]); a
//! host name becomes something the model runs in one place, [`resolve`], and
//! a name it does not know yet is reported as not available in this build.
//!
//! Statistics come from `ccwgate-stats` (Wilson bounds, rates, quantiles),
//! the plots from `plotters`' SVG backend.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ccwgate_model::variant::{Base, Change};
use ccwgate_model::{
    default_sweep, exhaustive, kernel_config, replay, run_logged, Bounds, Exhaustive, Latencies,
    Outcome, Setup, Unsolicited, Variant, US,
};
use ccwgate_stats::{Proportion, Quantiles};
use gate::cmdline::{Config, DelaySweep, Scenario};
use plotters::prelude::*;

// ---- the matrix, as data ----

/// The hosts of the matrix, by name: the upstream variants, the 2026
/// locking change, the candidate sets of issue 17, the set that also
/// survives a device's unsolicited status and the architecture's bound.
/// Names go through [`resolve`].
pub const HOSTS: [&str; 11] = [
    "unfixed",
    "cp-init-check",
    "idle-in-fsm",
    "fixed",
    "fixed+mutex-2026",
    "fixed+k-irb-once+k-gen",
    "fixed+q-relay",
    "fixed+q-relay+k-irb-once",
    "fixed+q-relay+k-irb-once+k-gen",
    UNSOLICITED_SET,
    "reference",
];

/// The candidate set that passes with unsolicited status too
/// (docs/model.md, "Unsolicited status").
pub const UNSOLICITED_SET: &str =
    "fixed+q-relay+q-unsol-hold+q-halt-dcc1+k-irb-queue+k-gen+k-unsol-tsch";

/// The upstream variants, for which the report shows the shortest failing
/// interleaving.
pub const UPSTREAM: [&str; 4] = ["unfixed", "cp-init-check", "idle-in-fsm", "fixed"];

/// The scenarios that reach the race window.
pub const SCENARIOS: [Scenario; Scenario::RACING.len()] = Scenario::RACING;

/// One column group of the matrix: how a cell is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// As the report prints it.
    pub label: &'static str,
    /// File-name part of its plots.
    pub slug: &'static str,
    /// Kernel tokens, through the kernel's own parser.
    pub tokens: &'static str,
    /// Enumerate interleavings instead of timed runs over seeds.
    pub exhaustive: bool,
    /// A timed mode's device presents unsolicited status (`--unsolicited
    /// PERCENT`, the default kinds); 0: none.
    pub unsolicited: u32,
}

impl Mode {
    /// How a timed cell of this mode runs `host` with `config`.
    fn setup(&self, host: Host, config: Config) -> Setup {
        let unsolicited = match self.unsolicited {
            0 => Unsolicited::OFF,
            percent => Unsolicited::new(percent, &[]),
        };
        Setup {
            unsolicited,
            ..Setup::new(host, config)
        }
    }
}

pub const MODES: [Mode; 4] = [
    Mode {
        label: "timed",
        slug: "timed",
        tokens: "host=vfio-ccw",
        exhaustive: false,
        unsolicited: 0,
    },
    Mode {
        label: "timed wait_owed=1",
        slug: "timed-wait-owed",
        tokens: "host=vfio-ccw wait_owed=1",
        exhaustive: false,
        unsolicited: 0,
    },
    Mode {
        label: "timed unsolicited 20 %",
        slug: "timed-unsolicited",
        tokens: "host=vfio-ccw",
        exhaustive: false,
        unsolicited: 20,
    },
    Mode {
        label: "exhaustive",
        slug: "exhaustive",
        tokens: "host=vfio-ccw",
        exhaustive: true,
        unsolicited: 0,
    },
];

/// Iterations each exhaustive interleaving runs, where the exhaustive API
/// takes a count.
pub const EXHAUSTIVE_ITERATIONS: u32 = 1;

/// Defaults, chosen so that the whole matrix finishes well inside five
/// minutes on two shared cores (docs/report.md has the measured time).
pub const DEFAULT_SEEDS: u64 = 1000;
pub const DEFAULT_ITERATIONS: u32 = 300;
pub const DEFAULT_PREEMPTIONS: u32 = 3;

/// The host a name stands for, as the model runs it.
pub type Host = Variant;

/// The one place a host name is resolved. `None`: this build does not know
/// the name (the report says "not available in this build").
pub fn resolve(name: &str) -> Option<Host> {
    Variant::parse(name).ok()
}

// ---- what the changes are ----

/// What the base or change `name` does, as the change to the upstream
/// function: the model's own text ([`Base::title`], [`Change::patch`]),
/// the same that `--help` prints. `None` for a name that is neither.
pub fn describe(name: &str) -> Option<&'static str> {
    Base::ALL
        .into_iter()
        .find(|b| b.name() == name)
        .map(Base::title)
        .or_else(|| {
            Change::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .map(Change::patch)
        })
}

// ---- options ----

#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "The matrix: unfixed, cp-init-check, idle-in-fsm, fixed, fixed+mutex-2026, \
fixed+k-irb-once+k-gen, fixed+q-relay, fixed+q-relay+k-irb-once, fixed+q-relay+k-irb-once+k-gen, \
fixed+q-relay+q-unsol-hold+q-halt-dcc1+k-irb-queue+k-gen+k-unsol-tsch, reference x csch-race, \
hsch-race, mixed x {timed, timed wait_owed=1, timed with unsolicited status 20 %, exhaustive}, \
all host=vfio-ccw. \
Hosts this build does not know are listed as not available. How to read it: docs/report.md.\n\
Exit status: 0 when the report was written, 2 for usage or write errors."
)]
pub struct ReportArgs {
    /// Directory to write index.html, report.md and the SVG plots into
    /// (created if missing; files of the same names are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seeds (timed runs) per timed cell.
    #[arg(long, default_value_t = DEFAULT_SEEDS)]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Iterations per timed run.
    #[arg(long, default_value_t = DEFAULT_ITERATIONS)]
    pub iterations: u32,
    /// Preemptions per interleaving in the exhaustive cells.
    #[arg(long, default_value_t = DEFAULT_PREEMPTIONS)]
    pub preemptions: u32,
    /// Stop each exhaustive enumeration after this many interleavings.
    #[arg(long, default_value_t = 2_000_000)]
    pub max_runs: u64,
    /// Delay bands of the detections-by-delay plot.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub bands: u32,
}

/// Entry point of the subcommand.
pub fn main(args: &ReportArgs) -> ExitCode {
    if args.seeds == 0 || args.iterations == 0 {
        eprintln!("ccwgate-model report: --seeds and --iterations must be at least 1");
        return ExitCode::from(2);
    }
    let plan = Plan::standard(args);
    let report = match run(&plan, true) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ccwgate-model report: {e}");
            return ExitCode::from(2);
        }
    };
    match write(&report, &args.out) {
        Ok(()) => {
            eprintln!(
                "ccwgate-model report: {} cells in {:.1} s, wrote {} and {}",
                report.cells.len(),
                report.seconds,
                args.out.join("index.html").display(),
                args.out.join("report.md").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ccwgate-model report: writing {}: {e}", args.out.display());
            ExitCode::from(2)
        }
    }
}

// ---- running the matrix ----

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub hosts: Vec<String>,
    pub scenarios: Vec<Scenario>,
    pub modes: Vec<Mode>,
    pub seeds: u64,
    pub first_seed: u64,
    pub iterations: u32,
    pub bounds: Bounds,
    pub bands: u32,
}

impl Plan {
    pub fn standard(args: &ReportArgs) -> Self {
        Plan {
            hosts: HOSTS.iter().map(|h| h.to_string()).collect(),
            scenarios: SCENARIOS.to_vec(),
            modes: MODES.to_vec(),
            seeds: args.seeds,
            first_seed: args.first_seed,
            iterations: args.iterations,
            bounds: Bounds {
                preemptions: args.preemptions,
                max_runs: args.max_runs,
                ..Bounds::default()
            },
            bands: args.bands,
        }
    }

    fn sweep(&self) -> DelaySweep {
        default_sweep(&Latencies::default())
    }
}

/// One timed cell, reduced to what the report shows.
#[derive(Clone, Debug)]
pub struct Timed {
    pub config: Config,
    pub runs: u64,
    /// Iterations run, all runs (the exposure of the rate).
    pub iterations: u64,
    /// Iterations to detection of each failing run.
    pub to_detection: Vec<u64>,
    /// Delay (TOD units) of each failing run's failing iteration.
    pub delays: Vec<u32>,
    pub classes: BTreeMap<(&'static str, &'static str), u64>,
    /// Runs in which the host raced (ground truth).
    pub raced: u64,
    /// Runs that were ERROR race-not-exercised.
    pub not_exercised: u64,
    /// The failing run with the fewest iterations: its seed.
    pub earliest: Option<u64>,
}

impl Timed {
    fn failed(&self) -> u64 {
        self.to_detection.len() as u64
    }
}

/// One exhaustive enumeration; cells that asked for what this build
/// enumerates the same way share it.
#[derive(Debug)]
pub struct ExhaustiveRun {
    /// What was enumerated (the config the exhaustive API was given).
    pub config: Config,
    pub result: Exhaustive,
    pub seconds: f64,
}

#[derive(Debug)]
pub enum CellResult {
    /// The host name does not resolve in this build.
    Unavailable,
    Timed(Box<Timed>),
    /// The enumeration the cell asked for (shared by cells asking for the
    /// same host and config).
    Exhaustive(Arc<ExhaustiveRun>),
}

#[derive(Debug)]
pub struct Cell {
    pub host: String,
    pub scenario: Scenario,
    pub mode: Mode,
    pub result: CellResult,
}

/// A failing interleaving as a step log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interleaving {
    /// Where it came from.
    pub source: String,
    /// How it ended.
    pub verdict: String,
    /// One line per step.
    pub steps: Vec<String>,
}

/// The interleaving with the fewest steps; the first of them among ties.
pub fn shortest(candidates: Vec<Interleaving>) -> Option<Interleaving> {
    let mut best: Option<Interleaving> = None;
    for c in candidates {
        if best.as_ref().is_none_or(|b| c.steps.len() < b.steps.len()) {
            best = Some(c);
        }
    }
    best
}

#[derive(Debug)]
pub struct Report {
    pub plan: Plan,
    pub cells: Vec<Cell>,
    /// Per upstream variant of the plan: its shortest failing interleaving.
    pub shortest: Vec<(String, Option<Interleaving>)>,
    pub seconds: f64,
    pub threads: usize,
}

/// The config a timed cell runs.
fn timed_config(plan: &Plan, scenario: Scenario, mode: &Mode) -> Result<Config, String> {
    let s = plan.sweep();
    kernel_config(&format!(
        "scenario={} iterations={} delay={}:{}:{} {}",
        scenario.name(),
        plan.iterations,
        s.min,
        s.max,
        s.step,
        mode.tokens
    ))
}

/// The config an exhaustive cell asks for: its scenario, every token of its
/// mode, [`EXHAUSTIVE_ITERATIONS`] and delay 0 (the scheduler, not a delay,
/// decides where the CLEAR or HALT lands).
fn requested_exhaustive(plan: &Plan, scenario: Scenario, mode: &Mode) -> Result<Config, String> {
    let c = kernel_config(&format!(
        "scenario={} iterations={EXHAUSTIVE_ITERATIONS} delay=0:0:1 {}",
        scenario.name(),
        mode.tokens
    ))?;
    Ok(Config {
        seed: plan.first_seed,
        ..c
    })
}

/// `enumerated` as a short phrase.
fn enumerated_text(c: &Config) -> String {
    let mut s = format!(
        "{} x {} iteration(s), host={}",
        c.scenario.name(),
        c.iterations
            .map_or("the scenario's".to_string(), |n| n.to_string()),
        c.host.name()
    );
    if c.wait_owed {
        s.push_str(" wait_owed=1");
    }
    s
}

fn reduce_timed(config: Config, results: &[ccwgate_model::RunResult]) -> Timed {
    let mut t = Timed {
        config,
        runs: results.len() as u64,
        iterations: 0,
        to_detection: Vec::new(),
        delays: Vec::new(),
        classes: BTreeMap::new(),
        raced: 0,
        not_exercised: 0,
        earliest: None,
    };
    let mut fewest = u32::MAX;
    for r in results {
        t.iterations += u64::from(r.iterations);
        if r.mechanism.raced() {
            t.raced += 1;
        }
        if matches!(r.outcome, Outcome::NotExercised(..)) {
            t.not_exercised += 1;
        }
        if let Some(f) = r.failure() {
            t.to_detection.push(u64::from(r.iterations));
            t.delays.push(f.delay);
            *t.classes
                .entry((f.violation.class.name(), f.violation.what))
                .or_default() += 1;
            if r.iterations < fewest {
                fewest = r.iterations;
                t.earliest = Some(r.seed);
            }
        }
    }
    t
}

fn verdict_text(r: &ccwgate_model::RunResult) -> String {
    match &r.outcome {
        Outcome::Fail(f) => format!(
            "FAIL {} {} expected={:#x} actual={:#x} iteration={} delay={:.1}us",
            f.violation.class.name(),
            f.violation.what,
            f.violation.expected,
            f.violation.actual,
            f.iteration,
            f.delay as f64 / US as f64
        ),
        Outcome::Pass(_) => "PASS".to_string(),
        Outcome::NotExercised(_, what) => format!("ERROR race-not-exercised {what}"),
        Outcome::Error(f) => format!(
            "ERROR {} {} iteration={}",
            f.violation.class.name(),
            f.violation.what,
            f.iteration
        ),
    }
}

/// Runs every exhaustive enumeration in `jobs`, on up to `threads` threads.
fn run_exhaustive_jobs(
    jobs: &[(Host, Config)],
    bounds: Bounds,
    threads: usize,
    bar: &indicatif::ProgressBar,
) -> Vec<Arc<ExhaustiveRun>> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Arc<ExhaustiveRun>>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((host, config)) = jobs.get(i) else {
                    break;
                };
                let started = Instant::now();
                let result = exhaustive(*host, config, bounds, |_| {});
                let run = ExhaustiveRun {
                    config: *config,
                    result,
                    seconds: started.elapsed().as_secs_f64(),
                };
                done.lock().expect("no panics")[i] = Some(Arc::new(run));
                bar.inc(1);
            });
        }
    });
    done.into_inner()
        .expect("no panics")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Runs the plan. `progress`: a progress bar on stderr (when it is a
/// terminal).
pub fn run(plan: &Plan, progress: bool) -> Result<Report, String> {
    let started = Instant::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let seeds: Vec<u64> = (plan.first_seed..plan.first_seed + plan.seeds).collect();

    // The cells' configs first (a bad token fails before anything runs),
    // and the distinct exhaustive enumerations they need.
    let mut jobs: Vec<(Host, Config)> = Vec::new();
    // Per cell: host name, scenario, mode, host, config, exhaustive job.
    type Planned = (String, Scenario, Mode, Option<Host>, Config, Option<usize>);
    let mut layout: Vec<Planned> = Vec::new();
    for name in &plan.hosts {
        let host = resolve(name);
        for &scenario in &plan.scenarios {
            for mode in &plan.modes {
                let (config, job) = if mode.exhaustive {
                    let requested = requested_exhaustive(plan, scenario, mode)?;
                    let job = host.map(|h| {
                        let key = (h, requested);
                        match jobs.iter().position(|j| *j == key) {
                            Some(i) => i,
                            None => {
                                jobs.push(key);
                                jobs.len() - 1
                            }
                        }
                    });
                    (requested, job)
                } else {
                    (timed_config(plan, scenario, mode)?, None)
                };
                layout.push((name.clone(), scenario, *mode, host, config, job));
            }
        }
    }

    let timed_cells = layout
        .iter()
        .filter(|l| l.3.is_some() && !l.2.exhaustive)
        .count();
    let bar = if progress {
        indicatif::ProgressBar::new((timed_cells + jobs.len()) as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("report {bar:40} {pos}/{len} cells, eta {eta}")
            .expect("valid template"),
    );
    let exhaustive_runs = run_exhaustive_jobs(&jobs, plan.bounds, threads, &bar);
    let hidden = indicatif::ProgressBar::hidden();
    let mut cells = Vec::with_capacity(layout.len());
    for (name, scenario, mode, host, config, job) in layout {
        let result = match (host, job) {
            (None, _) => CellResult::Unavailable,
            (Some(_), Some(j)) => CellResult::Exhaustive(exhaustive_runs[j].clone()),
            (Some(h), None) => {
                let setup = mode.setup(h, config);
                let cell = crate::run_cell(&setup, &seeds, &hidden);
                bar.inc(1);
                CellResult::Timed(Box::new(reduce_timed(config, &cell.results)))
            }
        };
        cells.push(Cell {
            host: name,
            scenario,
            mode,
            result,
        });
    }
    bar.finish_and_clear();

    let shortest = plan
        .hosts
        .iter()
        .filter(|h| UPSTREAM.contains(&h.as_str()))
        .map(|h| (h.clone(), shortest_for(plan, h, &cells)))
        .collect();
    Ok(Report {
        plan: plan.clone(),
        cells,
        shortest,
        seconds: started.elapsed().as_secs_f64(),
        threads,
    })
}

/// The shortest failing interleaving of `host` among its cells: each
/// exhaustive enumeration's shortest failing interleaving, and each timed
/// cell's failing run with the fewest iterations, replayed with the step
/// log.
fn shortest_for(plan: &Plan, name: &str, cells: &[Cell]) -> Option<Interleaving> {
    let host = resolve(name)?;
    let mut candidates = Vec::new();
    let mut seen: Vec<*const ExhaustiveRun> = Vec::new();
    for c in cells.iter().filter(|c| c.host == name) {
        match &c.result {
            CellResult::Exhaustive(run) => {
                if seen.contains(&Arc::as_ptr(run)) {
                    continue;
                }
                seen.push(Arc::as_ptr(run));
                if let Some((_, schedule)) = &run.result.shortest_failing {
                    let (r, steps) = replay(host, &run.config, plan.bounds.preemptions, schedule);
                    candidates.push(Interleaving {
                        source: format!(
                            "exhaustive ({}, at most {} preemptions): the failing interleaving \
                             with the fewest steps of {}",
                            enumerated_text(&run.config),
                            plan.bounds.preemptions,
                            run.result.failing
                        ),
                        verdict: verdict_text(&r),
                        steps,
                    });
                }
            }
            CellResult::Timed(t) => {
                if let Some(seed) = t.earliest {
                    let (r, steps) = run_logged(&c.mode.setup(host, t.config), seed);
                    candidates.push(Interleaving {
                        source: format!(
                            "timed {} ({}), seed {seed}: the failing run with the fewest \
                             iterations",
                            c.scenario.name(),
                            c.mode.label
                        ),
                        verdict: verdict_text(&r),
                        steps,
                    });
                }
            }
            CellResult::Unavailable => {}
        }
    }
    shortest(candidates)
}

// ---- text ----

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p == 0.0 || p == 100.0 {
        format!("{p:.0} %")
    } else if !(1.0..=99.0).contains(&p) {
        format!("{p:.2} %")
    } else {
        format!("{p:.1} %")
    }
}

fn classes_text(classes: &BTreeMap<(&'static str, &'static str), u64>) -> String {
    if classes.is_empty() {
        return "-".to_string();
    }
    let mut v: Vec<_> = classes.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|((class, what), n)| format!("{class} {what} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of the detailed table, as plain cell texts.
struct Row {
    host: String,
    scenario: &'static str,
    mode: &'static str,
    runs: String,
    fail: String,
    bounds: String,
    to_detection: String,
    per_million: String,
    classes: String,
    raced: String,
    /// pass, fail or na: how the page colours the FAIL cell.
    class: &'static str,
}

const HEADER: [&str; 10] = [
    "host",
    "scenario",
    "mode",
    "runs",
    "FAIL",
    "95 % bounds",
    "iterations to detection (median / p90 / worst)",
    "FAIL per M iterations [95 %]",
    "classes and whats (FAIL runs)",
    "host raced",
];

impl Row {
    fn cells(&self) -> [&str; 10] {
        [
            &self.host,
            self.scenario,
            self.mode,
            &self.runs,
            &self.fail,
            &self.bounds,
            &self.to_detection,
            &self.per_million,
            &self.classes,
            &self.raced,
        ]
    }
}

fn row(cell: &Cell) -> Row {
    let base = |runs: String| Row {
        host: cell.host.clone(),
        scenario: cell.scenario.name(),
        mode: cell.mode.label,
        runs,
        fail: "-".into(),
        bounds: "-".into(),
        to_detection: "-".into(),
        per_million: "-".into(),
        classes: "-".into(),
        raced: "-".into(),
        class: "na",
    };
    match &cell.result {
        CellResult::Unavailable => Row {
            fail: "not available in this build".into(),
            ..base("-".into())
        },
        CellResult::Timed(t) => {
            let p = Proportion::new(t.failed(), t.runs);
            let (lo, hi) = p.wilson95();
            let (rate, rlo, rhi) = Proportion::new(t.failed(), t.iterations).per_million();
            let mut fail = format!("{}/{} = {}", t.failed(), t.runs, pct(p.estimate()));
            if t.not_exercised > 0 {
                let _ = write!(fail, "; ERROR race-not-exercised {}", t.not_exercised);
            }
            Row {
                fail,
                class: if t.failed() + t.not_exercised == 0 {
                    "pass"
                } else {
                    "fail"
                },
                bounds: format!("[{}, {}]", pct(lo), pct(hi)),
                to_detection: match Quantiles::of(&t.to_detection) {
                    Some(q) => format!("{} / {} / {}", q.median, q.p90, q.worst),
                    None => "-".into(),
                },
                per_million: format!("{rate:.0} [{rlo:.0}, {rhi:.0}]"),
                classes: classes_text(&t.classes),
                raced: format!("{}/{}", t.raced, t.runs),
                ..base(format!(
                    "{} seeds x {}",
                    t.runs,
                    t.config.iterations.unwrap_or(0)
                ))
            }
        }
        CellResult::Exhaustive(run) => {
            let r = &run.result;
            let p = Proportion::new(r.failing, r.runs);
            let mut runs = format!(
                "{} interleavings{}",
                r.runs,
                if r.complete {
                    ""
                } else {
                    " (stopped by --max-runs)"
                }
            );
            let _ = write!(runs, " of {}", enumerated_text(&run.config));
            Row {
                fail: format!("{}/{} = {}", r.failing, r.runs, pct(p.estimate())),
                class: if r.failing == 0 { "pass" } else { "fail" },
                bounds: "exact (enumerated)".into(),
                classes: classes_text(&r.classes),
                raced: format!("{}/{}", r.raced, r.runs),
                ..base(runs)
            }
        }
    }
}

/// The detailed table: a row per cell, one row for all cells of a host
/// this build does not know.
fn rows(report: &Report) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for c in &report.cells {
        if let CellResult::Unavailable = c.result {
            if out.iter().any(|r| r.host == c.host) {
                continue;
            }
            out.push(Row {
                scenario: "all",
                mode: "all",
                ..row(c)
            });
        } else {
            out.push(row(c));
        }
    }
    out
}

/// The short verdict of a cell for the overview matrix.
fn overview(cell: &Cell) -> String {
    match &cell.result {
        CellResult::Unavailable => "not available in this build".into(),
        CellResult::Timed(t) => {
            let p = Proportion::new(t.failed(), t.runs);
            if t.failed() == 0 && t.not_exercised == 0 {
                format!("PASS 0/{}", t.runs)
            } else if t.failed() == 0 {
                format!("ERROR {}/{}", t.not_exercised, t.runs)
            } else {
                format!("FAIL {}", pct(p.estimate()))
            }
        }
        CellResult::Exhaustive(run) => {
            let r = &run.result;
            if r.failing == 0 {
                format!("PASS 0/{}", r.runs)
            } else {
                format!("FAIL {}/{}", r.failing, r.runs)
            }
        }
    }
}

fn header_lines(report: &Report) -> Vec<String> {
    let p = &report.plan;
    let s = p.sweep();
    vec![
        format!(
            "Timed cells: {} seeds from {}, {} iterations each, delay sweep {:.1}-{:.1} us \
             (the model's default), host=vfio-ccw.",
            p.seeds,
            p.first_seed,
            p.iterations,
            s.min as f64 / US as f64,
            s.max as f64 / US as f64
        ),
        format!(
            "Exhaustive cells: at most {} preemptions, depth {}, at most {} interleavings each.",
            p.bounds.preemptions, p.bounds.depth, p.bounds.max_runs
        ),
        format!(
            "Generated by `ccwgate-model report` (ccwgate-model {}) in {:.1} s on {} threads; \
             override with --seeds, --iterations, --preemptions.",
            env!("CARGO_PKG_VERSION"),
            report.seconds,
            report.threads
        ),
    ]
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The hosts' names with the names of their parts.
fn changes(report: &Report) -> Vec<(String, Vec<String>)> {
    report
        .plan
        .hosts
        .iter()
        .map(|h| (h.clone(), h.split('+').map(str::to_string).collect()))
        .collect()
}

/// Every part name in the plan's hosts, once, in order of first use.
fn parts(report: &Report) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for h in &report.plan.hosts {
        for p in h.split('+') {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

// ---- plots ----

/// A plot: file name, title, SVG text.
pub struct Plot {
    pub file: String,
    pub title: String,
    pub svg: String,
}

fn timed_of<'a>(report: &'a Report, mode: &Mode, scenario: Scenario) -> Vec<(&'a str, &'a Timed)> {
    report
        .cells
        .iter()
        .filter(|c| c.mode == *mode && c.scenario == scenario)
        .filter_map(|c| match &c.result {
            CellResult::Timed(t) => Some((c.host.as_str(), &**t)),
            _ => None,
        })
        .collect()
}

fn color(i: usize) -> RGBColor {
    // Well-separated colours (Okabe-Ito and Tableau), then plotters' palette.
    const C: [RGBColor; 10] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
        RGBColor(120, 120, 120),
        RGBColor(240, 200, 0),
        RGBColor(148, 103, 189),
        RGBColor(0, 0, 0),
    ];
    C.get(i).copied().unwrap_or_else(|| {
        let c = Palette99::pick(i).to_rgba();
        RGBColor(c.0, c.1, c.2)
    })
}

fn plot_err<E: std::fmt::Debug>(e: E) -> String {
    format!("plotting: {e:?}")
}

/// The series' legend, in one style for every plot, at `at`.
fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(plot_err)
}

/// Cumulative detections against iterations, one panel per scenario, one
/// line per host.
fn detections_plot(report: &Report, mode: &Mode) -> Result<Plot, String> {
    let scenarios = &report.plan.scenarios;
    let width = 380 * scenarios.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let panels = root.split_evenly((1, scenarios.len().max(1)));
        for (panel, &scenario) in panels.iter().zip(scenarios) {
            let cells = timed_of(report, mode, scenario);
            let max_x = cells
                .iter()
                .map(|(_, t)| t.config.iterations.unwrap_or(1))
                .max()
                .unwrap_or(1);
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!("{} ({})", scenario.name(), mode.label),
                    ("sans-serif", 16),
                )
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(0u32..max_x, 0f64..100f64)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc("iterations")
                .y_desc("runs detected (%)")
                .y_label_formatter(&|y| format!("{y:.0}"))
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(plot_err)?;
            for (i, (host, t)) in cells.iter().enumerate() {
                let idx = report
                    .plan
                    .hosts
                    .iter()
                    .position(|h| h == host)
                    .unwrap_or(i);
                let c = color(idx);
                let mut sorted = t.to_detection.clone();
                sorted.sort_unstable();
                let runs = t.runs.max(1) as f64;
                let mut points = vec![(0u32, 0f64)];
                for (k, &it) in sorted.iter().enumerate() {
                    let x = it.min(u64::from(max_x)) as u32;
                    points.push((x, 100.0 * k as f64 / runs));
                    points.push((x, 100.0 * (k + 1) as f64 / runs));
                }
                let last = points.last().map_or(0.0, |p| p.1);
                points.push((max_x, last));
                // Hosts that fail alike draw the same line: earlier ones
                // wider, so that each stays visible under the next.
                let w = 2 + (cells.len() - 1 - i) as u32;
                chart
                    .draw_series(LineSeries::new(points, c.stroke_width(w)))
                    .map_err(plot_err)?
                    .label(host.to_string())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
            }
            if !cells.is_empty() {
                legend(&mut chart, SeriesLabelPosition::LowerRight)?;
            }
        }
        root.present().map_err(plot_err)?;
    }
    Ok(Plot {
        file: format!("detections-{}.svg", mode.slug),
        title: format!(
            "Runs detected by iteration, cumulative, per host ({}; coinciding lines are \
             drawn wider for the earlier host)",
            mode.label
        ),
        svg,
    })
}

/// Detections by delay band, one panel per scenario, one bar per host and
/// band (hosts without detections left out).
fn bands_plot(report: &Report, mode: &Mode) -> Result<Plot, String> {
    let scenarios = &report.plan.scenarios;
    let sweep = report.plan.sweep();
    let bands = report.plan.bands.max(1);
    let lo = f64::from(sweep.min) / US as f64;
    let hi = (f64::from(sweep.max) / US as f64).max(lo + 1.0);
    let band_w = (hi - lo) / f64::from(bands);
    let width = 380 * scenarios.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let panels = root.split_evenly((1, scenarios.len().max(1)));
        for (panel, &scenario) in panels.iter().zip(scenarios) {
            let cells: Vec<_> = timed_of(report, mode, scenario)
                .into_iter()
                .filter(|(_, t)| !t.delays.is_empty())
                .collect();
            let counts: Vec<Vec<u64>> = cells
                .iter()
                .map(|(_, t)| {
                    let mut per = vec![0u64; bands as usize];
                    for &d in &t.delays {
                        let us = f64::from(d) / US as f64;
                        let b = (((us - lo) / band_w).floor().max(0.0) as usize)
                            .min(bands as usize - 1);
                        per[b] += 1;
                    }
                    per
                })
                .collect();
            let max_y = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
            let caption = if cells.is_empty() {
                format!("{} ({}): no detections", scenario.name(), mode.label)
            } else {
                format!("{} ({})", scenario.name(), mode.label)
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(lo..hi, 0u64..(max_y + max_y / 10 + 1))
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc("delay START to CLEAR/HALT (us)")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_desc("detections")
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(plot_err)?;
            let n = cells.len().max(1) as f64;
            for (i, ((host, _), per)) in cells.iter().zip(&counts).enumerate() {
                let idx = report
                    .plan
                    .hosts
                    .iter()
                    .position(|h| h == host)
                    .unwrap_or(i);
                let c = color(idx);
                let bars = per.iter().enumerate().map(move |(b, &k)| {
                    let x0 = lo + b as f64 * band_w + band_w * 0.1 + band_w * 0.8 * i as f64 / n;
                    let x1 = x0 + band_w * 0.8 / n;
                    Rectangle::new([(x0, 0), (x1, k)], c.filled())
                });
                chart
                    .draw_series(bars)
                    .map_err(plot_err)?
                    .label(host.to_string())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled())
                    });
            }
            if !cells.is_empty() {
                legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }
        root.present().map_err(plot_err)?;
    }
    Ok(Plot {
        file: format!("bands-{}.svg", mode.slug),
        title: format!(
            "Detections by delay band ({} bands of {:.0} us; {})",
            bands, band_w, mode.label
        ),
        svg,
    })
}

/// Every plot of the report: two per timed mode.
pub fn plots(report: &Report) -> Result<Vec<Plot>, String> {
    let mut out = Vec::new();
    for mode in report.plan.modes.iter().filter(|m| !m.exhaustive) {
        out.push(detections_plot(report, mode)?);
        out.push(bands_plot(report, mode)?);
    }
    Ok(out)
}

// ---- the two documents ----

const TITLE: &str = "ccwgate model: which patch stops the bleeding?";

const READING: &str = "Each timed cell runs gate's own driver and oracle against the model \
    for the given seeds; a run stops at its first FAIL. FAIL is the share of runs that failed, \
    with its 95 % Wilson bounds; iterations to detection are those of the failing runs; the \
    rate per million iterations divides FAILs by all iterations run. Exhaustive cells enumerate \
    every interleaving within the preemption bound: their FAIL share is exact. Host raced is \
    ground truth inside the host (stale status over a start, a program freed under the device, \
    IDLE under a start), which the guest cannot see; it counts stale IRBs on the host, not \
    harm.";

/// A table cell: its text, whether it is code, and a class for the page.
#[derive(Clone, Debug)]
struct Td {
    text: String,
    code: bool,
    class: Option<&'static str>,
}

fn td(text: impl Into<String>) -> Td {
    Td {
        text: text.into(),
        code: false,
        class: None,
    }
}

/// The documents' content, rendered once as markdown and once as HTML.
#[derive(Clone, Debug)]
enum Block {
    H2(String),
    H3(String),
    Para(String),
    List(Vec<String>),
    Table(Vec<String>, Vec<Vec<Td>>),
    /// A plot, by index.
    Figure(usize),
    Pre(Vec<String>),
}

fn blocks(report: &Report, plots: &[Plot]) -> Vec<Block> {
    let mut b = Vec::new();
    for l in header_lines(report) {
        b.push(Block::Para(l));
    }
    b.push(Block::Para(READING.to_string()));

    b.push(Block::H2("Overview".into()));
    let cols: Vec<(Scenario, Mode)> = report
        .plan
        .scenarios
        .iter()
        .flat_map(|&s| report.plan.modes.iter().map(move |&m| (s, m)))
        .collect();
    let mut header = vec!["host".to_string()];
    header.extend(
        cols.iter()
            .map(|(s, m)| format!("{} {}", s.name(), m.label)),
    );
    let table = report
        .plan
        .hosts
        .iter()
        .map(|h| {
            let mut row = vec![Td {
                code: true,
                ..td(h.as_str())
            }];
            for (s, m) in &cols {
                let text = report
                    .cells
                    .iter()
                    .find(|c| &c.host == h && c.scenario == *s && c.mode == *m)
                    .map_or("-".to_string(), overview);
                row.push(Td {
                    class: Some(class_of(&text)),
                    ..td(text)
                });
            }
            row
        })
        .collect();
    b.push(Block::Table(header, table));
    b.push(Block::Para("Exhaustive enumerations run:".into()));
    b.push(Block::List(enumerations(report)));

    b.push(Block::H2("The candidate changes".into()));
    let table = parts(report)
        .into_iter()
        .map(|p| {
            vec![
                Td {
                    code: true,
                    ..td(p)
                },
                td(describe(p).unwrap_or("(no description)")),
            ]
        })
        .collect();
    b.push(Block::Table(
        vec!["name".into(), "the change to upstream".into()],
        table,
    ));
    b.push(Block::Para(
        "A host is a base followed by changes joined with +:".into(),
    ));
    b.push(Block::List(
        changes(report)
            .into_iter()
            .map(|(h, ps)| {
                let avail = if resolve(&h).is_some() {
                    ""
                } else {
                    " (not available in this build)"
                };
                format!("{h}{avail}: {}", ps.join(" + "))
            })
            .collect(),
    ));

    b.push(Block::H2("Plots".into()));
    for i in 0..plots.len() {
        b.push(Block::Figure(i));
    }

    b.push(Block::H2("The table".into()));
    let table = rows(report)
        .iter()
        .map(|r| {
            r.cells()
                .iter()
                .enumerate()
                .map(|(i, text)| Td {
                    class: (i == 4).then_some(r.class),
                    ..td(*text)
                })
                .collect()
        })
        .collect();
    b.push(Block::Table(
        HEADER.iter().map(|h| h.to_string()).collect(),
        table,
    ));

    b.push(Block::H2(
        "Shortest failing interleavings of the upstream variants".into(),
    ));
    for (h, i) in &report.shortest {
        b.push(Block::H3(h.clone()));
        match i {
            None => b.push(Block::Para(
                "No failing run or interleaving in this report.".into(),
            )),
            Some(i) => {
                b.push(Block::Para(format!(
                    "{} steps; {}. Verdict: {}",
                    i.steps.len(),
                    i.source,
                    i.verdict
                )));
                b.push(Block::Pre(i.steps.clone()));
            }
        }
    }
    b
}

/// Each distinct exhaustive enumeration: host, what, how many, how long.
fn enumerations(report: &Report) -> Vec<String> {
    let mut seen: Vec<*const ExhaustiveRun> = Vec::new();
    let mut out = Vec::new();
    for c in &report.cells {
        if let CellResult::Exhaustive(run) = &c.result {
            if seen.contains(&Arc::as_ptr(run)) {
                continue;
            }
            seen.push(Arc::as_ptr(run));
            let r = &run.result;
            out.push(format!(
                "{}: {}, {} interleavings{}, {} failing, {} truncated by the depth bound, {:.1} s",
                c.host,
                enumerated_text(&run.config),
                r.runs,
                if r.complete {
                    ""
                } else {
                    " (stopped by --max-runs)"
                },
                r.failing,
                r.truncated,
                run.seconds
            ));
        }
    }
    if out.is_empty() {
        out.push("none".into());
    }
    out
}

fn class_of(text: &str) -> &'static str {
    if text.starts_with("FAIL") || text.starts_with("ERROR") {
        "fail"
    } else if text.starts_with("PASS") {
        "pass"
    } else {
        "na"
    }
}

/// `report.md`: the text, the table, plots linked by file name.
pub fn markdown(report: &Report, plots: &[Plot]) -> String {
    let mut md = format!("# {TITLE}\n\n");
    for block in blocks(report, plots) {
        match block {
            Block::H2(t) => {
                let _ = writeln!(md, "## {t}\n");
            }
            Block::H3(t) => {
                let _ = writeln!(md, "### {t}\n");
            }
            Block::Para(t) => {
                let _ = writeln!(md, "{}\n", t.replace('*', "\\*"));
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(md, "- {}", i.replace('*', "\\*"));
                }
                md.push('\n');
            }
            Block::Table(header, rows) => {
                let _ = writeln!(md, "| {} |", header.join(" | "));
                let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
                for r in rows {
                    let cells: Vec<String> = r
                        .iter()
                        .map(|c| {
                            let t = md_cell(&c.text);
                            if c.code {
                                format!("`{t}`")
                            } else {
                                t.replace('*', "\\*")
                            }
                        })
                        .collect();
                    let _ = writeln!(md, "| {} |", cells.join(" | "));
                }
                md.push('\n');
            }
            Block::Figure(i) => {
                let _ = writeln!(md, "![{}]({})\n", plots[i].title, plots[i].file);
            }
            Block::Pre(lines) => {
                let _ = writeln!(md, "```text");
                for l in lines {
                    let _ = writeln!(md, "{l}");
                }
                let _ = writeln!(md, "```\n");
            }
        }
    }
    md
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}\
table{border-collapse:collapse;font-size:13px;margin:1em 0}\
th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top;text-align:left}\
th{background:#eee}td.fail{background:#fde2e2}td.pass{background:#e2f5e2}\
td.na{color:#888;background:#f4f4f4}pre{background:#f6f6f6;padding:8px;font-size:12px;\
overflow-x:auto}figure{margin:1em 0}figcaption{font-weight:bold}code{background:#f2f2f2}";

/// plotters' SVG as an inline element: from `<svg` on (no XML prolog).
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

/// `index.html`: self-contained, the plots inline.
pub fn html(report: &Report, plots: &[Plot]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(TITLE),
        escape(TITLE)
    );
    for block in blocks(report, plots) {
        match block {
            Block::H2(t) => {
                let _ = writeln!(h, "<h2>{}</h2>", escape(&t));
            }
            Block::H3(t) => {
                let _ = writeln!(h, "<h3><code>{}</code></h3>", escape(&t));
            }
            Block::Para(t) => {
                let _ = writeln!(h, "<p>{}</p>", escape(&t));
            }
            Block::List(items) => {
                let _ = writeln!(h, "<ul>");
                for i in items {
                    let _ = writeln!(h, "<li>{}</li>", escape(&i));
                }
                let _ = writeln!(h, "</ul>");
            }
            Block::Table(header, rows) => {
                let _ = write!(h, "<table>\n<tr>");
                for c in header {
                    let _ = write!(h, "<th>{}</th>", escape(&c));
                }
                let _ = writeln!(h, "</tr>");
                for r in rows {
                    let _ = write!(h, "<tr>");
                    for c in r {
                        let class = c.class.map_or(String::new(), |k| format!(" class=\"{k}\""));
                        if c.code {
                            let _ = write!(h, "<td{class}><code>{}</code></td>", escape(&c.text));
                        } else {
                            let _ = write!(h, "<td{class}>{}</td>", escape(&c.text));
                        }
                    }
                    let _ = writeln!(h, "</tr>");
                }
                let _ = writeln!(h, "</table>");
            }
            Block::Figure(i) => {
                let _ = writeln!(
                    h,
                    "<figure>\n<figcaption>{}</figcaption>\n{}\n</figure>",
                    escape(&plots[i].title),
                    inline_svg(&plots[i].svg)
                );
            }
            Block::Pre(lines) => {
                let _ = writeln!(h, "<pre>");
                for l in lines {
                    let _ = writeln!(h, "{}", escape(&l));
                }
                let _ = writeln!(h, "</pre>");
            }
        }
    }
    let _ = writeln!(h, "</body>\n</html>");
    h
}

/// Writes `index.html`, `report.md` and the plots' SVG files into `dir`.
pub fn write(report: &Report, dir: &Path) -> Result<(), String> {
    let plots = plots(report)?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for p in &plots {
        std::fs::write(dir.join(&p.file), &p.svg).map_err(|e| format!("{}: {e}", p.file))?;
    }
    std::fs::write(dir.join("report.md"), markdown(report, &plots))
        .map_err(|e| format!("report.md: {e}"))?;
    std::fs::write(dir.join("index.html"), html(report, &plots))
        .map_err(|e| format!("index.html: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccwgate_model::exhaustive_config;

    fn tiny(hosts: &[&str]) -> Plan {
        Plan {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            scenarios: SCENARIOS.to_vec(),
            modes: MODES.to_vec(),
            seeds: 4,
            first_seed: 1,
            iterations: 60,
            bounds: Bounds {
                preemptions: 1,
                ..Bounds::default()
            },
            bands: 4,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ccwgate-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_bounded_report_writes_the_page_the_markdown_and_the_plots() {
        let report = run(&tiny(&["unfixed", "reference"]), false).expect("runs");
        let dir = scratch("bounded");
        write(&report, &dir).expect("writes");
        let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(page.matches("<svg").count() >= 2, "inline SVG plots");
        assert!(!page.contains("<?xml"), "no XML prolog inline");
        assert!(md.contains(&format!("| {} |", HEADER.join(" | "))), "{md}");
        assert!(md.contains("| unfixed | csch-race | timed |"), "{md}");
        assert!(md.contains("![Runs detected by iteration"), "{md}");
        assert!(md.contains("detections-timed.svg") && md.contains("bands-timed.svg"));
        for f in [
            "detections-timed.svg",
            "bands-timed-wait-owed.svg",
            "detections-timed-unsolicited.svg",
        ] {
            let svg = std::fs::read_to_string(dir.join(f)).unwrap();
            assert!(svg.contains("<svg") && svg.contains("</svg>"), "{f}");
        }
        // unfixed fails csch-race within 60 iterations in every seed, and
        // has a shortest failing interleaving; reference passes.
        assert!(md.contains("| `unfixed` | FAIL 100 %"), "{md}");
        assert!(md.contains("| `reference` | PASS"), "{md}");
        let (_, i) = &report.shortest[0];
        let i = i.as_ref().expect("unfixed fails");
        assert!(i.verdict.starts_with("FAIL"), "{}", i.verdict);
        assert!(i.source.starts_with("exhaustive"), "{}", i.source);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_this_build_does_not_know_are_reported_not_failed() {
        let plan = Plan {
            scenarios: vec![Scenario::CschRace],
            seeds: 2,
            ..tiny(&["fixed", "no-such-base+no-such-change"])
        };
        let report = run(&plan, false).expect("an unknown host is no error");
        let unknown: Vec<_> = report
            .cells
            .iter()
            .filter(|c| c.host == "no-such-base+no-such-change")
            .collect();
        assert_eq!(unknown.len(), MODES.len());
        assert!(unknown
            .iter()
            .all(|c| matches!(c.result, CellResult::Unavailable)));
        let plots = plots(&report).unwrap();
        let md = markdown(&report, &plots);
        assert!(
            md.contains(
                "| no-such-base+no-such-change | all | all | - | not available in this build |"
            ),
            "{md}"
        );
        assert!(md.contains("- no-such-base+no-such-change (not available in this build)"));
        assert!(html(&report, &plots).contains("not available in this build"));
    }

    fn il(source: &str, n: usize) -> Interleaving {
        Interleaving {
            source: source.into(),
            verdict: "FAIL".into(),
            steps: (0..n).map(|i| format!("step {i}")).collect(),
        }
    }

    #[test]
    fn the_shortest_interleaving_is_the_one_with_fewest_steps_first_among_ties() {
        assert_eq!(shortest(vec![]), None);
        let s = shortest(vec![il("a", 9), il("b", 4), il("c", 7), il("d", 4)]).unwrap();
        assert_eq!((s.source.as_str(), s.steps.len()), ("b", 4));
    }

    #[test]
    fn exhaustive_keeps_its_shortest_failing_interleaving_and_it_replays() {
        let config = Config {
            host: gate::cmdline::Host::VfioCcw,
            ..exhaustive_config(1)
        };
        let bounds = Bounds {
            preemptions: 1,
            ..Bounds::default()
        };
        let r = exhaustive(Variant::Unfixed, &config, bounds, |_| {});
        let (steps, schedule) = r.shortest_failing.clone().expect("unfixed fails");
        let (res, log) = replay(Variant::Unfixed, &config, 1, &schedule);
        assert!(res.failure().is_some());
        assert_eq!(log.len() as u64, steps);
        let first = r.first_failing.unwrap();
        let (_, first_log) = replay(Variant::Unfixed, &config, 1, &first);
        assert!(log.len() <= first_log.len());
    }

    #[test]
    fn every_change_in_the_matrix_is_described_and_text_is_escaped() {
        for h in HOSTS {
            for p in h.split('+') {
                assert!(describe(p).is_some(), "{p}");
            }
        }
        assert_eq!(describe("nonsense"), None);
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
