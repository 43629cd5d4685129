//! `ccwgate`: campaigns, soak runs and A/B comparisons of the guest kernel
//! through run-qemu.sh, with JSON, JUnit and TAP reports; `ccwgate list
//! KIND` prints gate's names (scenarios, modes, classes, deviations,
//! options, ...), one per line.
//!
//! Exit status: 0 every run passed; 1 some run failed (FAIL); 2 an ERROR
//! run, or a usage or setup problem; 3 stopped by SIGINT, SIGTERM or SIGHUP
//! (the finished runs are in `--json`, `--resume` completes it).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ccwgate_runner::batch::{batches, run_batch, Batch};
use ccwgate_runner::journal::{self, Journal, Plan};
use ccwgate_runner::known::{self, KnownBugs};
use ccwgate_runner::{
    campaign_jobs, compare, image_size, kilo, names, parse_shard, peer_rate, run_job, shard, stop,
    sweeps_for, Counts, Job, Record, Results, Setup, Spread, MODES, NAME_KINDS, SCENARIOS,
};
use std::collections::VecDeque;

/// Exit status of a campaign or soak stopped by a signal.
const INTERRUPTED: u8 = 3;
/// Runs per batch boot by default.
const BATCH: usize = 32;
use clap::{Args, Parser, Subcommand};
use gate::cmdline::Scenario;

#[derive(Parser)]
#[command(
    name = "ccwgate",
    about = "Campaigns, soak runs and A/B comparisons of the ccwgate guest kernel",
    after_help = "Exit status: 0 every run passed (or failed only with known open bugs, --known), \
1 some run failed, 2 an ERROR run or a usage/setup problem, 3 stopped by SIGINT/SIGTERM/SIGHUP \
(finished runs kept in --json; --resume FILE completes it)."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The false-positive campaign: every scenario in every mode for each
    /// seed, each seed with one delay sweep; a correct host passes it all.
    Campaign(Campaign),
    /// Combine the JSON results of a campaign's shards.
    Merge(Merge),
    /// Fresh seeds until the first FAIL (or all of them with --keep-going),
    /// within --runs or --duration.
    Soak(Soak),
    /// Which of two result sets fails less often (per million iterations).
    Compare(CompareArgs),
    /// Known open upstream bugs (known-bugs.toml): list them, or tell
    /// whether a run's verdict is one (for run-qemu.sh --known).
    Known(KnownArgs),
    /// Speed and size: iterations per second of ssch and csch-race in every
    /// mode, checks on and off, boot to verdict, image sizes; against the C
    /// reference loop with --peer.
    Bench(Bench),
    /// The names of one kind, one per line, from their one definition in
    /// gate: what run-qemu.sh and the injector accept and the verdict says.
    List(List),
}

#[derive(Args)]
struct List {
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(NAME_KINDS))]
    kind: String,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct Bench {
    #[command(subcommand)]
    what: Option<BenchWhat>,
    /// Iterations per run.
    #[arg(long, default_value_t = 100_000)]
    iterations: u32,
    /// Runs per cell (median and spread over them), interleaved.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// The C reference loop (../shared/peer/build.sh builds ssch-loop.elf).
    #[arg(long)]
    peer: Option<PathBuf>,
    /// Boot this kernel instead of building one.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Write the figures here (JSON).
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// The same campaign slice a boot per run (the old way) and in batch
    /// boots (the new way), side by side: runs per second of each, their
    /// ratio, and whether the verdict records are the same.
    Campaign(BenchCampaign),
}

#[derive(Args)]
struct BenchCampaign {
    /// Seeds in the slice (each runs every scenario in every mode).
    #[arg(long, default_value_t = 32)]
    seeds: u64,
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Iterations per run.
    #[arg(long, default_value_t = 300)]
    iterations: u32,
    /// Runs in parallel (default: the number of CPUs).
    #[arg(long)]
    jobs: Option<usize>,
    /// Runs per batch boot, the new way.
    #[arg(long, default_value_t = BATCH)]
    batch: usize,
    /// Rounds of old-then-new.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Boot this kernel instead of building one.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Write the figures here (JSON).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Further run-qemu.sh options for every run, after `--`.
    #[arg(last = true)]
    extra: Vec<String>,
}

#[derive(Args)]
struct KnownArgs {
    /// The known-bugs file (default: the workspace's known-bugs.toml).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Read a run's console (FILE, or - for stdin) and print the id of
    /// the known bug its one FAIL verdict is; exit 0 if it is one, 1 if
    /// not, 2 if the file is bad.
    #[arg(long, value_name = "CONSOLE")]
    check: Option<PathBuf>,
}

/// `--known[=FILE]`.
#[derive(Args)]
struct KnownOpt {
    /// Hold FAILs whose signature is a known open bug apart (default file:
    /// the workspace's known-bugs.toml): JUnit skipped, TAP TODO, JSON
    /// "known", counted as known, exit 0.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    known: Option<String>,
}

impl KnownOpt {
    fn load(&self) -> Result<Option<KnownBugs>, String> {
        self.known
            .as_deref()
            .map(|f| KnownBugs::load(&known::path(Some(f), &workspace())))
            .transpose()
    }
}

#[derive(Args)]
struct Common {
    /// Runs in parallel (default: the number of CPUs).
    #[arg(long)]
    jobs: Option<usize>,
    /// Boot this kernel instead of building one.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Host-side limit per run, seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u32,
    /// Iterations per run.
    #[arg(long, default_value_t = 300)]
    iterations: u32,
    /// Runs per boot: runs that differ only in their seed share one batch
    /// boot (docs/campaigns.md); 1 boots once per run.
    #[arg(long, default_value_t = BATCH)]
    batch: usize,
    #[command(flatten)]
    reports: Reports,
    #[command(flatten)]
    known: KnownOpt,
    /// Further run-qemu.sh options for every run, after `--`
    /// (e.g. `-- --append host=vfio-ccw`).
    #[arg(last = true)]
    extra: Vec<String>,
}

/// Where the records go.
#[derive(Args)]
struct Reports {
    /// Write every run's record here as it ends (JSON Lines, the plan first).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a JUnit report here (one test case per run).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Print TAP on stdout (one line per run) instead of the progress.
    #[arg(long)]
    tap: bool,
}

#[derive(Args)]
struct Campaign {
    /// Seeds per scenario and mode.
    #[arg(long, default_value_t = 30)]
    seeds: u64,
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Run only slice I of N (1-based), e.g. one CI job's share.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Only these collection modes, e.g. `irq,wait` for
    /// `-- --cpus io-elsewhere` (default: all four).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(MODES))]
    modes: Vec<String>,
    /// Go on with the campaign a stopped run left in FILE (its --json):
    /// the same jobs, the finished ones not run again; appends to FILE.
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct Merge {
    /// The shards' JSON files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    reports: Reports,
    #[command(flatten)]
    known: KnownOpt,
}

#[derive(Args)]
struct Soak {
    /// Stop after this many runs.
    #[arg(long)]
    runs: Option<u64>,
    /// Stop after this long (e.g. 90s, 30m, 8h).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Count every FAIL instead of stopping at the first.
    #[arg(long)]
    keep_going: bool,
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Scenario (default: mixed).
    #[arg(long, default_value = "mixed")]
    scenario: String,
    /// Go on with the soak a stopped run left in FILE (its --json): the
    /// same seeds, the finished ones not run again; appends to FILE. A
    /// --duration starts afresh.
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct CompareArgs {
    /// Result set A (e.g. the old host).
    a: PathBuf,
    /// Result set B (e.g. the patched host).
    b: PathBuf,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[command(flatten)]
    known: KnownOpt,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is no duration (e.g. 90s, 30m, 8h)");
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runner/ lives in the workspace")
        .to_path_buf()
}

fn fatal(msg: &str) -> ExitCode {
    eprintln!("ccwgate: {msg}");
    ExitCode::from(2)
}

/// Where each finished run goes: TAP lines as they come, or a progress bar
/// on a terminal, plain lines in CI.
struct Reporter {
    tap: bool,
    bar: indicatif::ProgressBar,
    done: AtomicUsize,
}

impl Reporter {
    fn new(tap: bool, total: Option<u64>) -> Self {
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

    fn finished(&self, r: &Record) {
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
}

/// Hands out batches: jobs are taken from `source` `chunk` at a time and
/// grouped ([`batches`]); the runs a stopped batch did not reach come back
/// first.
struct Dispatcher<I> {
    source: I,
    chunk: usize,
    batch: usize,
    extra: Vec<String>,
    ready: VecDeque<Batch>,
}

impl<I: Iterator<Item = Job>> Dispatcher<I> {
    fn next(&mut self) -> Option<Batch> {
        if self.ready.is_empty() {
            let jobs: Vec<Job> = self.source.by_ref().take(self.chunk).collect();
            self.ready.extend(batches(jobs, self.batch, &self.extra));
        }
        self.ready.pop_front()
    }

    fn again(&mut self, jobs: Vec<Job>) {
        for b in batches(jobs, self.batch, &self.extra).into_iter().rev() {
            self.ready.push_front(b);
        }
    }

    /// Jobs not handed out (with a finite source).
    fn left(&mut self) -> usize {
        self.ready.iter().map(|b| b.jobs.len()).sum::<usize>() + self.source.by_ref().count()
    }
}

/// What [`run_all`] gave.
struct Ran {
    records: Vec<Record>,
    /// Runs under way when a signal stopped the runner.
    interrupted: Vec<Job>,
    /// Jobs never handed out because of the stop (`None` unless the
    /// source was finite and counted: a soak's may run on for hours).
    not_run: Option<usize>,
    /// The first failure to write the JSON Lines file.
    journal_error: Option<String>,
}

/// Runs the jobs of `source` on `workers` threads, `batch` per boot at
/// most, each record to `journal` and the reporter as its run ends;
/// `halt` ends it early (soak), as does a signal ([`stop`]).
#[allow(clippy::too_many_arguments)]
fn run_all(
    setup: &Setup,
    source: impl Iterator<Item = Job> + Send,
    chunk: usize,
    batch: usize,
    workers: usize,
    reporter: &Reporter,
    journal: Option<&Journal>,
    count_left: bool,
    halt: impl Fn(&Record) -> bool + Sync,
) -> Ran {
    let queue = Mutex::new(Dispatcher {
        source,
        chunk: chunk.max(1),
        batch,
        extra: setup.extra.clone(),
        ready: VecDeque::new(),
    });
    let out = Mutex::new(Vec::new());
    let interrupted = Mutex::new(Vec::new());
    let journal_error = Mutex::new(None);
    let halted = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                if halted.load(Ordering::SeqCst) || stop::requested() {
                    break;
                }
                let Some(b) = queue.lock().expect("queue").next() else {
                    break;
                };
                let ran = run_batch(setup, &b, &mut |r| {
                    if let Some(j) = journal {
                        if let Err(e) = j.record(r) {
                            journal_error
                                .lock()
                                .expect("journal error")
                                .get_or_insert(e.to_string());
                        }
                    }
                    reporter.finished(r);
                    if halt(r) {
                        halted.store(true, Ordering::SeqCst);
                    }
                });
                out.lock().expect("results").extend(ran.records);
                interrupted
                    .lock()
                    .expect("interrupted")
                    .extend(ran.interrupted);
                if !ran.unrun.is_empty() {
                    queue.lock().expect("queue").again(ran.unrun);
                }
            });
        }
    });
    if stop::requested() && !stop::settle() {
        eprintln!("ccwgate: some process of a stopped run did not end after SIGKILL");
    }
    let not_run = (count_left && stop::requested()).then(|| queue.lock().expect("queue").left());
    Ran {
        records: out.into_inner().expect("results"),
        interrupted: interrupted.into_inner().expect("interrupted"),
        not_run,
        journal_error: journal_error.into_inner().expect("journal error"),
    }
}

fn write_junit(
    results: &Results,
    interrupted: &[Job],
    path: Option<&Path>,
    suite: &str,
) -> Result<(), String> {
    if let Some(p) = path {
        std::fs::write(p, results.to_junit_with(suite, interrupted))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

/// Where `--json` goes: a fresh file with `plan` first, or with `--resume`
/// the file being resumed, appended to.
fn journal_for(
    resume: Option<&Path>,
    json: Option<&Path>,
    plan: &Plan,
) -> Result<Option<Journal>, String> {
    match (resume, json) {
        (Some(r), Some(j)) if r != j => Err(format!(
            "--resume appends to {}; --json {} would be another file",
            r.display(),
            j.display()
        )),
        (Some(r), _) => Journal::append(r).map(Some),
        (None, Some(j)) => Journal::create(j, plan).map(Some),
        (None, None) => Ok(None),
    }
}

/// The plan and records of a result file to resume.
fn resumed(path: &Path) -> Result<(Plan, Results), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let loaded = journal::load(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let plan = loaded.plan.ok_or_else(|| {
        format!(
            "{}: no plan line (written by an older ccwgate?): cannot resume it",
            path.display()
        )
    })?;
    Ok((plan, loaded.results))
}

/// The plan to run: `fresh`, or with `--resume FILE` the plan and the
/// results that file holds, which must be of the same command.
fn planned(resume: Option<&Path>, fresh: Plan) -> Result<(Plan, Results), String> {
    let Some(f) = resume else {
        return Ok((fresh, Results::default()));
    };
    let (plan, done) = resumed(f)?;
    if plan.command() != fresh.command() {
        return Err(format!(
            "{}: a {}'s results, not a {}'s",
            f.display(),
            plan.command(),
            fresh.command()
        ));
    }
    Ok((plan, done))
}

/// The end of a campaign or soak: TAP's interrupted lines and plan, the
/// JUnit file, a note on a stop; `Err` for a file that could not be written.
fn report_end(
    results: &Results,
    ran: &Ran,
    reports: &Reports,
    suite: &str,
    resume_hint: Option<&Path>,
) -> Result<(), String> {
    if reports.tap {
        let done = ran.records.len();
        for (i, job) in ran.interrupted.iter().enumerate() {
            println!("not ok {} - {} # interrupted", done + i + 1, job.name());
        }
        println!("1..{}", done + ran.interrupted.len());
    }
    write_junit(results, &ran.interrupted, reports.junit.as_deref(), suite)?;
    if let Some(e) = &ran.journal_error {
        return Err(format!("writing the --json file failed: {e}"));
    }
    if stop::requested() {
        let how = match resume_hint {
            Some(p) => format!("; resume with --resume {}", p.display()),
            None => " (no --json: nothing to resume from)".into(),
        };
        let not_run = ran
            .not_run
            .map(|n| format!(", {n} not run"))
            .unwrap_or_default();
        eprintln!(
            "ccwgate: stopped by a signal: {} runs interrupted{not_run}{how}",
            ran.interrupted.len(),
        );
    }
    Ok(())
}

fn status(results: &Results) -> ExitCode {
    if stop::requested() {
        return ExitCode::from(INTERRUPTED);
    }
    let c = results.counts();
    ExitCode::from(if c.error > 0 {
        2
    } else if c.fail > 0 {
        1
    } else {
        0
    })
}

fn setup(common: &Common) -> Result<Setup, String> {
    if common.extra.iter().any(|a| a.contains("checks=none")) {
        return Err("checks=none judges nothing: it is for `ccwgate bench` only".into());
    }
    let mut setup = Setup::new(
        &workspace(),
        common.kernel.clone(),
        common.timeout,
        common.extra.clone(),
    )?;
    setup.known = common.known.load()?;
    Ok(setup)
}

fn workers(common: &Common) -> usize {
    common.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

fn campaign(c: Campaign) -> ExitCode {
    let fresh = Plan::Campaign {
        seeds: c.seeds,
        first_seed: c.first_seed,
        shard: c.shard,
        modes: c.modes.clone(),
        iterations: c.common.iterations,
        extra: c.common.extra.clone(),
    };
    let (plan, done) = match planned(c.resume.as_deref(), fresh) {
        Ok(p) => p,
        Err(e) => return fatal(&e),
    };
    let Plan::Campaign {
        seeds,
        first_seed,
        shard: slice,
        modes,
        iterations,
        extra,
    } = plan.clone()
    else {
        unreachable!("a campaign plan");
    };
    let mut common = c.common;
    common.iterations = iterations;
    common.extra = extra;
    let setup = match setup(&common) {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let sweeps = sweeps_for(&common.extra);
    let mut jobs = campaign_jobs(first_seed..first_seed + seeds, iterations, sweeps);
    if !modes.is_empty() {
        jobs.retain(|j| modes.contains(&j.mode));
    }
    if let Some((i, n)) = slice {
        jobs = shard(jobs, i, n);
    }
    let todo = journal::remaining(jobs, &done);
    if c.resume.is_some() {
        eprintln!(
            "ccwgate: resuming: {} runs done, {} to run",
            done.records.len(),
            todo.len()
        );
    }
    let journal = match journal_for(c.resume.as_deref(), common.reports.json.as_deref(), &plan) {
        Ok(j) => j,
        Err(e) => return fatal(&e),
    };
    if let Err(e) = stop::install() {
        return fatal(&e);
    }
    if common.reports.tap {
        println!("TAP version 13");
    }
    let reporter = Reporter::new(common.reports.tap, Some(todo.len() as u64));
    let started = Instant::now();
    let ran = run_all(
        &setup,
        todo.into_iter(),
        usize::MAX,
        common.batch,
        workers(&common),
        &reporter,
        journal.as_ref(),
        true,
        |_| false,
    );
    reporter.bar.finish_and_clear();
    let results = Results::merge(vec![
        done,
        Results {
            records: ran.records.clone(),
        },
    ]);
    let hint = c.resume.as_deref().or(common.reports.json.as_deref());
    if let Err(e) = report_end(&results, &ran, &common.reports, "campaign", hint) {
        return fatal(&e);
    }
    let mut line = results.counts().campaign_line(started.elapsed().as_secs());
    if stop::requested() {
        line.push_str(&Counts::stopped_suffix(
            ran.interrupted.len(),
            ran.not_run.unwrap_or(0),
        ));
    }
    if common.reports.tap {
        println!("# {line}");
    } else {
        println!("{line}");
    }
    status(&results)
}

fn merge(m: Merge) -> ExitCode {
    let mut parts = Vec::new();
    for p in &m.inputs {
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => return fatal(&format!("cannot read {}: {e}", p.display())),
        };
        match Results::load(&text) {
            Ok(r) => parts.push(r),
            Err(e) => return fatal(&format!("{}: {e}", p.display())),
        }
    }
    let mut results = Results::merge(parts);
    match m.known.load() {
        Ok(Some(k)) => {
            for r in &mut results.records {
                if r.known.is_none() {
                    known::mark(r, &k);
                }
            }
        }
        Ok(None) => {}
        Err(e) => return fatal(&e),
    }
    if let Some(p) = &m.reports.json {
        if let Err(e) = std::fs::write(p, results.to_jsonl()) {
            return fatal(&format!("cannot write {}: {e}", p.display()));
        }
    }
    if let Err(e) = write_junit(&results, &[], m.reports.junit.as_deref(), "campaign") {
        return fatal(&e);
    }
    if m.reports.tap {
        print!("{}", results.to_tap());
    }
    println!("{}", results.counts().campaign_line(0));
    status(&results)
}

fn soak(s: Soak) -> ExitCode {
    let fresh = Plan::Soak {
        runs: s.runs,
        duration_s: s.duration.map(|d| d.as_secs()),
        keep_going: s.keep_going,
        first_seed: s.first_seed,
        scenario: s.scenario.clone(),
        iterations: s.common.iterations,
        extra: s.common.extra.clone(),
    };
    let (plan, done) = match planned(s.resume.as_deref(), fresh) {
        Ok(p) => p,
        Err(e) => return fatal(&e),
    };
    let Plan::Soak {
        runs,
        duration_s,
        keep_going,
        first_seed: first,
        scenario,
        iterations,
        extra,
    } = plan.clone()
    else {
        unreachable!("a soak plan");
    };
    if !SCENARIOS.contains(&scenario.as_str()) {
        return fatal(&format!(
            "unknown scenario `{}` (one of: {})",
            scenario,
            SCENARIOS.join(", ")
        ));
    }
    if runs.is_none() && duration_s.is_none() {
        return fatal("soak needs --runs N or --duration D");
    }
    let mut common = s.common;
    common.iterations = iterations;
    common.extra = extra;
    let setup = match setup(&common) {
        Ok(x) => x,
        Err(e) => return fatal(&e),
    };
    let deadline = duration_s.map(|d| Instant::now() + Duration::from_secs(d));
    let limit = runs.unwrap_or(u64::MAX);
    let sweeps = sweeps_for(&common.extra);
    let seen: std::collections::HashSet<u64> = done.records.iter().map(|r| r.job.seed).collect();
    // A soak that already stopped at its first FAIL has nothing left.
    let over = !keep_going && done.records.iter().any(Record::failed);
    // Fresh seeds, the modes and sweeps turning with them; the deadline is
    // checked when a run is handed out (a chunk of runs at a time).
    let jobs = (0..limit)
        .map(move |i| Job {
            scenario: scenario.clone(),
            seed: first + i,
            mode: MODES[(i % MODES.len() as u64) as usize].into(),
            delay: sweeps[((first + i) % sweeps.len() as u64) as usize].into(),
            iterations,
        })
        .filter(move |j| !over && !seen.contains(&j.seed))
        .take_while(move |_| deadline.is_none_or(|d| Instant::now() < d));
    let journal = match journal_for(s.resume.as_deref(), common.reports.json.as_deref(), &plan) {
        Ok(j) => j,
        Err(e) => return fatal(&e),
    };
    if let Err(e) = stop::install() {
        return fatal(&e);
    }
    if common.reports.tap {
        println!("TAP version 13");
    }
    let total = runs.map(|n| n.saturating_sub(done.records.len() as u64));
    let reporter = Reporter::new(common.reports.tap, total);
    // Soak seeds turn through modes and sweeps with a period of four: a
    // chunk of 16 batches' worth makes full batches.
    let chunk = common.batch.saturating_mul(16);
    let ran = run_all(
        &setup,
        jobs,
        chunk,
        common.batch,
        workers(&common),
        &reporter,
        journal.as_ref(),
        false,
        |r| r.failed() && !keep_going,
    );
    reporter.bar.finish_and_clear();
    let results = Results::merge(vec![
        done,
        Results {
            records: ran.records.clone(),
        },
    ]);
    let hint = s.resume.as_deref().or(common.reports.json.as_deref());
    if let Err(e) = report_end(&results, &ran, &common.reports, "soak", hint) {
        return fatal(&e);
    }
    let c = results.counts();
    let mut line = c.soak_line();
    if stop::requested() {
        line.push_str(&format!(", {} interrupted", ran.interrupted.len()));
    }
    println!("{line}");
    if let Some(f) = results.records.iter().find(|r| r.failed()) {
        println!("first FAIL: {}", f.job.name());
    }
    status(&results)
}

fn compare_cmd(c: CompareArgs) -> ExitCode {
    let load = |p: &PathBuf| -> Result<Results, String> {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        Results::load(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let (a, b) = match (load(&c.a), load(&c.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fatal(&e),
    };
    let (cmp, line) = compare(&a, &b, c.alpha);
    for (name, set, p) in [("A", &a, cmp.a), ("B", &b, cmp.b)] {
        let (rate, lo, hi) = p.per_million();
        let n = set.counts();
        let known = if n.known > 0 {
            format!(" ({} of them known)", n.known)
        } else {
            String::new()
        };
        println!(
            "{name}: {} runs, {} FAIL{known} in {} iterations: {rate:.1} per million [{lo:.1}, {hi:.1}] (95 %)",
            n.runs,
            n.fail + n.known,
            n.iterations
        );
    }
    println!("p = {:.4}: {line}", cmp.p_value);
    let bugs = match c.known.load() {
        Ok(k) => k,
        Err(e) => return fatal(&e),
    };
    // Per signature: "better" is a known bug's rate falling and nothing
    // new appearing.
    let rates = known::per_signature(&a, &b, bugs.as_ref(), c.alpha);
    for s in &rates {
        println!("{}", s.line());
    }
    let new: Vec<&str> = rates
        .iter()
        .filter(|s| s.known.is_none() && s.a.k == 0 && s.b.k > 0)
        .map(|s| s.signature.as_str())
        .collect();
    if new.is_empty() {
        println!("new in B: none");
    } else {
        println!("new in B: {}", new.join(", "));
    }
    ExitCode::SUCCESS
}

fn known_cmd(k: KnownArgs) -> ExitCode {
    let path = k
        .file
        .clone()
        .unwrap_or_else(|| workspace().join(known::FILE));
    let bugs = match KnownBugs::load(&path) {
        Ok(b) => b,
        Err(e) => return fatal(&e),
    };
    let Some(console) = k.check else {
        for b in &bugs.bugs {
            println!("{}\n", b.describe());
        }
        return ExitCode::SUCCESS;
    };
    let text = if console.as_os_str() == "-" {
        let mut t = String::new();
        match std::io::Read::read_to_string(&mut std::io::stdin(), &mut t) {
            Ok(_) => t,
            Err(e) => return fatal(&format!("cannot read stdin: {e}")),
        }
    } else {
        match std::fs::read(&console) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return fatal(&format!("cannot read {}: {e}", console.display())),
        }
    };
    match bugs.check_console(&text) {
        Some(b) => {
            println!("{}", b.id);
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Cmd::Campaign(c) => campaign(c),
        Cmd::Merge(m) => merge(m),
        Cmd::Soak(s) => soak(s),
        Cmd::Compare(c) => compare_cmd(c),
        Cmd::Known(k) => known_cmd(k),
        Cmd::Bench(b) => bench(b),
        Cmd::List(l) => {
            for name in names(&l.kind).unwrap_or_default() {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
    }
}

/// One bench cell: a scenario in a mode, with or without checks.
#[derive(serde::Serialize)]
struct Cell {
    scenario: &'static str,
    mode: &'static str,
    checks: bool,
    /// Iterations per second by the guest's TOD clock.
    guest: Option<Spread>,
    /// Iterations per second by the wall clock around the whole run.
    wall: Option<Spread>,
    #[serde(skip)]
    guest_runs: Vec<f64>,
    #[serde(skip)]
    wall_runs: Vec<f64>,
}

#[derive(serde::Serialize)]
struct BenchReport {
    iterations: u32,
    repeats: usize,
    qemu_version: String,
    kernel_version: String,
    cells: Vec<Cell>,
    boot_guest_us: Option<Spread>,
    boot_wall_ms: Option<Spread>,
    size: ccwgate_runner::ImageSize,
    /// Stack below the image (0x2000-0xffff) plus the image in memory.
    footprint: u64,
    peer: Vec<(String, Option<Spread>)>,
}

/// The C loop's modes and the ccwgate modes they stand beside.
/// The C loop's modes and the ccwgate modes compared with each: both
/// polling modes against its TSCH polling.
const PEER_MODES: [(&str, &[&str]); 3] = [
    ("wait", &["wait"]),
    ("enabled", &["irq"]),
    ("poll", &["tsch", "poll"]),
];
const STACK_BYTES: u64 = 0x10000 - 0x2000;

fn one_run(
    setup: &Setup,
    scenario: &str,
    mode: &str,
    checks: bool,
    iterations: u32,
) -> Result<(f64, f64), String> {
    let job = Job {
        scenario: scenario.into(),
        seed: 1,
        mode: mode.into(),
        delay: "0".into(),
        iterations,
    };
    let mut s = setup.clone();
    if !checks {
        s.extra.extend(["--append".into(), "checks=none".into()]);
    }
    let r = run_job(&s, &job);
    if !r.passed() {
        return Err(format!(
            "{scenario} {mode}: {} {}",
            r.verdict,
            r.evidence.join(" | ")
        ));
    }
    let line = r.evidence.first().cloned().unwrap_or_default();
    let guest = gate::verdict::parse(&line)
        .and_then(|p| p.get_u64("iter_per_s"))
        .ok_or("no iter_per_s in the verdict")? as f64;
    let wall = f64::from(iterations) / (r.wall_ms.max(1) as f64 / 1000.0);
    Ok((guest, wall))
}

fn peer_run(peer: &Path, mode: &str, iterations: u32, timeout: u32) -> Result<f64, String> {
    let out = Command::new("timeout")
        .args(["-k", "5", &timeout.to_string(), "qemu-system-s390x"])
        .args(["-nodefaults", "-nographic", "-machine", "s390-ccw-virtio"])
        .args([
            "-accel", "tcg", "-cpu", "max", "-m", "128", "-serial", "stdio",
        ])
        .args(["-device", "virtio-net-ccw", "-kernel"])
        .arg(peer)
        .args(["-append", &format!("{iterations} {mode}")])
        .output()
        .map_err(|e| format!("cannot run qemu-system-s390x: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    peer_rate(&text).ok_or_else(|| format!("the peer printed no rate in mode {mode}:\n{text}"))
}

/// One way's figures in `bench campaign`.
#[derive(serde::Serialize)]
struct Way {
    batch: usize,
    runs: usize,
    seconds: Vec<f64>,
    runs_per_s: Option<Spread>,
}

fn bench_campaign(b: BenchCampaign) -> ExitCode {
    if b.repeats == 0 || b.seeds == 0 || b.batch < 2 {
        return fatal("--repeats and --seeds must be at least 1, --batch at least 2");
    }
    let setup = match Setup::new(&workspace(), b.kernel.clone(), 120, b.extra.clone()) {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let jobs = campaign_jobs(
        b.first_seed..b.first_seed + b.seeds,
        b.iterations,
        sweeps_for(&b.extra),
    );
    // Its boots lead process groups of their own: a Ctrl-C must end them.
    if let Err(e) = stop::install() {
        return fatal(&e);
    }
    let workers = b.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    println!(
        "campaign slice: seeds {}..={}, {} runs of {} iterations, {workers} jobs, {} round(s) of old then new",
        b.first_seed,
        b.first_seed + b.seeds - 1,
        jobs.len(),
        b.iterations,
        b.repeats
    );
    let key = |r: &Record| {
        (
            r.job.clone(),
            r.verdict.clone(),
            r.reason.clone(),
            r.class.clone(),
            r.what.clone(),
            r.iterations_done,
        )
    };
    let mut ways = [(1usize, Vec::new()), (b.batch, Vec::new())];
    let mut differ = 0;
    let mut not_pass = 0;
    for _ in 0..b.repeats {
        let mut round: Vec<Vec<Record>> = Vec::new();
        for (batch, secs) in ways.iter_mut() {
            let reporter = Reporter::new(false, None);
            let started = Instant::now();
            let ran = run_all(
                &setup,
                jobs.clone().into_iter(),
                usize::MAX,
                *batch,
                workers,
                &reporter,
                None,
                true,
                |_| false,
            );
            secs.push(started.elapsed().as_secs_f64());
            let merged = Results::merge(vec![Results {
                records: ran.records,
            }]);
            not_pass += merged.records.iter().filter(|r| !r.passed()).count();
            round.push(merged.records);
            if stop::requested() {
                return ExitCode::from(INTERRUPTED);
            }
        }
        let (old, new) = (&round[0], &round[1]);
        differ += old.len().abs_diff(new.len())
            + old
                .iter()
                .zip(new)
                .filter(|(a, b)| key(a) != key(b))
                .count();
    }
    let report: Vec<Way> = ways
        .iter()
        .map(|(batch, secs)| Way {
            batch: *batch,
            runs: jobs.len(),
            runs_per_s: Spread::of(
                &secs
                    .iter()
                    .map(|s| jobs.len() as f64 / s.max(1e-9))
                    .collect::<Vec<_>>(),
            ),
            seconds: secs.clone(),
        })
        .collect();
    for (w, name) in report
        .iter()
        .zip(["old: a boot per run", "new: batch boots"])
    {
        let r = w.runs_per_s.expect("at least one round");
        println!(
            "{name:<22} (--batch {:>3}): {} runs in {:.1} s median: {:.1} runs/s ({:.1} … {:.1})",
            w.batch,
            w.runs,
            w.runs as f64 / r.median,
            r.median,
            r.min,
            r.max
        );
    }
    let (old, new) = (report[0].runs_per_s.unwrap(), report[1].runs_per_s.unwrap());
    println!("ratio new/old: {:.2}x runs/s", new.median / old.median);
    if differ == 0 {
        println!(
            "verdict records (job, verdict, reason, class, what, iterations): identical, {} runs each way; {not_pass} not PASS",
            jobs.len()
        );
    } else {
        println!("verdict records: {differ} differ between the two ways");
    }
    if let Some(p) = &b.json {
        let text = serde_json::to_string_pretty(&report).expect("figures serialise");
        if let Err(e) = std::fs::write(p, text) {
            return fatal(&format!("cannot write {}: {e}", p.display()));
        }
    }
    ExitCode::from(if differ > 0 { 2 } else { 0 })
}

fn bench(b: Bench) -> ExitCode {
    if let Some(BenchWhat::Campaign(c)) = b.what {
        return bench_campaign(c);
    }
    if b.repeats == 0 || b.iterations == 0 {
        return fatal("--repeats and --iterations must be at least 1");
    }
    if let Some(p) = &b.peer {
        if !p.is_file() {
            return fatal(&format!(
                "no peer ELF at {} (../shared/peer/build.sh builds it)",
                p.display()
            ));
        }
    }
    let setup = match Setup::new(&workspace(), b.kernel.clone(), 600, vec![]) {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let mut cells: Vec<Cell> = Vec::new();
    for scenario in [Scenario::Ssch, Scenario::CschRace].map(Scenario::name) {
        for mode in MODES {
            for checks in [true, false] {
                cells.push(Cell {
                    scenario,
                    mode,
                    checks,
                    guest: None,
                    wall: None,
                    guest_runs: vec![],
                    wall_runs: vec![],
                });
            }
        }
    }
    let mut peer_runs: Vec<Vec<f64>> = vec![vec![]; PEER_MODES.len()];
    let (mut boot_guest, mut boot_wall) = (vec![], vec![]);
    let peers = if b.peer.is_some() {
        PEER_MODES.len()
    } else {
        0
    };
    let bar = indicatif::ProgressBar::new((b.repeats * (cells.len() + 1 + peers)) as u64);
    // Round by round, every cell once per round: a machine that slows down
    // halfway slows every cell alike.
    for _ in 0..b.repeats {
        for c in cells.iter_mut() {
            match one_run(&setup, c.scenario, c.mode, c.checks, b.iterations) {
                Ok((g, w)) => {
                    c.guest_runs.push(g);
                    c.wall_runs.push(w);
                }
                Err(e) => {
                    bar.finish_and_clear();
                    return fatal(&e);
                }
            }
            bar.inc(1);
        }
        let started = Instant::now();
        let selftest = Job {
            scenario: "selftest".into(),
            seed: 1,
            mode: "irq".into(),
            delay: "0".into(),
            iterations: 1,
        };
        let r = run_job(&setup, &selftest);
        boot_wall.push(started.elapsed().as_secs_f64() * 1000.0);
        boot_guest.push(r.elapsed_us as f64);
        bar.inc(1);
        if let Some(p) = &b.peer {
            for (i, (mode, _)) in PEER_MODES.iter().enumerate() {
                match peer_run(p, mode, b.iterations, 600) {
                    Ok(rate) => peer_runs[i].push(rate),
                    Err(e) => {
                        bar.finish_and_clear();
                        return fatal(&e);
                    }
                }
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    for c in cells.iter_mut() {
        c.guest = Spread::of(&c.guest_runs);
        c.wall = Spread::of(&c.wall_runs);
    }
    let size = match std::fs::read(&setup.kernel)
        .map_err(|e| format!("cannot read {}: {e}", setup.kernel.display()))
        .and_then(|elf| image_size(&elf))
    {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let report = BenchReport {
        iterations: b.iterations,
        repeats: b.repeats,
        qemu_version: setup.qemu_version.clone(),
        kernel_version: setup.kernel_version.clone(),
        boot_guest_us: Spread::of(&boot_guest),
        boot_wall_ms: Spread::of(&boot_wall),
        footprint: size.loaded + size.zeroed + STACK_BYTES,
        size,
        peer: PEER_MODES
            .iter()
            .zip(&peer_runs)
            .map(|((m, _), runs)| (m.to_string(), Spread::of(runs)))
            .collect(),
        cells,
    };
    print_bench(&report);
    if let Some(p) = &b.json {
        let text = serde_json::to_string_pretty(&report).expect("bench serialises");
        if let Err(e) = std::fs::write(p, text) {
            return fatal(&format!("cannot write {}: {e}", p.display()));
        }
    }
    ExitCode::SUCCESS
}

fn print_bench(report: &BenchReport) {
    println!(
        "{} runs of {} iterations per cell, delay 0, interleaved; iterations/s median (min … max)",
        report.repeats, report.iterations
    );
    println!(
        "{:<10} {:<5} {:>22} {:>22} {:>22} {:>7}",
        "scenario", "mode", "guest, checks on", "guest, checks off", "wall, checks on", "on/off"
    );
    let fmt = |s: &Option<Spread>| s.as_ref().map(kilo).unwrap_or_default();
    for pair in report.cells.chunks(2) {
        let (on, off) = (&pair[0], &pair[1]);
        let ratio = match (on.guest, off.guest) {
            (Some(a), Some(b)) if b.median > 0.0 => format!("{:.2}", a.median / b.median),
            _ => "-".into(),
        };
        println!(
            "{:<10} {:<5} {:>22} {:>22} {:>22} {:>7}",
            on.scenario,
            on.mode,
            fmt(&on.guest),
            fmt(&off.guest),
            fmt(&on.wall),
            ratio
        );
    }
    for ((pmode, gmodes), (_, spread)) in PEER_MODES.iter().zip(&report.peer) {
        let Some(p) = spread else { continue };
        for gmode in gmodes.iter() {
            let ours = |checks: bool| {
                report
                    .cells
                    .iter()
                    .find(|c| c.scenario == "ssch" && c.mode == *gmode && c.checks == checks)
                    .and_then(|c| c.guest)
                    .map(|s| format!("{:.2}x", s.median / p.median))
                    .unwrap_or_default()
            };
            println!(
                "peer {pmode:<8} {}; ccwgate ssch {gmode} against it: checks on {}, checks off {}",
                kilo(p),
                ours(true),
                ours(false)
            );
        }
    }
    if let (Some(g), Some(w)) = (report.boot_guest_us, report.boot_wall_ms) {
        println!(
            "boot to verdict (selftest): guest {:.0} us ({:.0} … {:.0}), wall {:.0} ms ({:.0} … {:.0})",
            g.median, g.min, g.max, w.median, w.min, w.max
        );
    }
    let s = report.size;
    println!(
        "kernel: {} bytes text+data, {} bytes bss; ELF {} bytes stripped, {} with debug info; \
fixed memory {} bytes (image and {} bytes of stack)",
        s.loaded, s.zeroed, s.stripped, s.file, report.footprint, STACK_BYTES
    );
}
