//! `ccwgate campaign`, `ccwgate soak` and `ccwgate merge`.
//!
//! A campaign and a soak go one path, [`run`]: a plan (fresh, or the one a
//! stopped run left in its `--json` file, [`planned`]), the setup with the
//! plan's options ([`Common::setup`]), then the journal, the thread pool,
//! the TAP stream, JUnit, the stop note, the summary lines and the exit
//! status. They differ only in their jobs and how those are handed out
//! ([`Runs`]) and in the words of their summary.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ccwgate_runner::exit::Exit;
use ccwgate_runner::journal::{self, Journal, Plan};
use ccwgate_runner::known;
use ccwgate_runner::pool::{self, run_all, Ran, Shape};
use ccwgate_runner::reporter::{after_runs, Reporter};
use ccwgate_runner::{
    campaign_jobs, parse_shard, shard, stop, sweeps_for, Counts, Job, Record, Results, Setup,
    MODES, SCENARIOS,
};
use clap::Args;

use super::{fatal, workspace, KnownOpt};

/// Runs per batch boot by default.
pub const BATCH: usize = 32;

#[derive(Args)]
pub struct Common {
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
pub struct Reports {
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
pub struct Campaign {
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
pub struct Merge {
    /// The shards' JSON files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    reports: Reports,
    #[command(flatten)]
    known: KnownOpt,
}

#[derive(Args)]
pub struct Soak {
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

impl Common {
    /// The runs' setup, with the plan's iterations and run-qemu.sh options
    /// (a resumed plan's, not this command line's).
    fn setup(&mut self, plan: &Plan) -> Result<Setup, String> {
        let (iterations, extra) = plan.run_options();
        self.iterations = iterations;
        self.extra = extra.to_vec();
        if self.extra.iter().any(|a| a.contains("checks=none")) {
            return Err("checks=none judges nothing: it is for `ccwgate bench` only".into());
        }
        let mut setup = Setup::new(
            &workspace(),
            self.kernel.clone(),
            self.timeout,
            self.extra.clone(),
        )?;
        setup.known = self.known.load()?;
        Ok(setup)
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

/// The status of a finished set of runs, or [`Exit::Interrupted`] after a
/// signal.
fn status(results: &Results) -> Exit {
    if stop::requested() {
        return Exit::Interrupted;
    }
    Exit::of_counts(&results.counts())
}

/// What a campaign or soak runs, once its plan is made.
struct Runs<I> {
    /// The jobs still to run, in order.
    jobs: I,
    /// How many, for the progress bar, where known.
    total: Option<u64>,
    /// Jobs taken at a time, and whether a stop counts those left.
    chunk: usize,
    count_left: bool,
    /// End at the first FAIL (a soak without `--keep-going`).
    stop_at_fail: bool,
}

/// A campaign or soak from its plan on: the `--json` journal, the runs on
/// the thread pool, the TAP stream (or progress), JUnit, a note on a stop,
/// the lines `summary` makes of the results (TAP diagnostics under
/// `--tap`), and the exit status.
fn run(
    common: &Common,
    setup: &Setup,
    plan: &Plan,
    resume: Option<&Path>,
    done: Results,
    runs: Runs<impl Iterator<Item = Job> + Send>,
    summary: impl FnOnce(&Results, &Ran, Duration) -> Vec<String>,
) -> Result<Exit, String> {
    let reports = &common.reports;
    let journal = journal_for(resume, reports.json.as_deref(), plan)?;
    stop::install()?;
    let reporter = Reporter::new(reports.tap, runs.total);
    reporter.start();
    let started = Instant::now();
    let shape = Shape {
        chunk: runs.chunk,
        batch: common.batch,
        workers: pool::workers(common.jobs),
        count_left: runs.count_left,
    };
    let stop_at_fail = runs.stop_at_fail;
    let ran = run_all(setup, runs.jobs, shape, &reporter, journal.as_ref(), |r| {
        stop_at_fail && r.failed()
    });
    reporter.finish();
    let results = Results::merge(vec![
        done,
        Results {
            records: ran.records.clone(),
        },
    ]);
    print!("{}", reporter.tap_end(ran.records.len(), &ran.interrupted));
    let suite = plan.command();
    write_junit(&results, &ran.interrupted, reports.junit.as_deref(), suite)?;
    if let Some(e) = &ran.journal_error {
        return Err(format!("writing the --json file failed: {e}"));
    }
    if stop::requested() {
        let how = match resume.or(reports.json.as_deref()) {
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
    for line in summary(&results, &ran, started.elapsed()) {
        print!("{}", reporter.note(&line));
    }
    Ok(status(&results))
}

/// `ccwgate campaign`.
pub fn campaign(c: Campaign) -> Exit {
    campaign_or(c).unwrap_or_else(|e| fatal(&e))
}

fn campaign_or(c: Campaign) -> Result<Exit, String> {
    let fresh = Plan::Campaign {
        seeds: c.seeds,
        first_seed: c.first_seed,
        shard: c.shard,
        modes: c.modes.clone(),
        iterations: c.common.iterations,
        extra: c.common.extra.clone(),
    };
    let (plan, done) = planned(c.resume.as_deref(), fresh)?;
    let Plan::Campaign {
        seeds,
        first_seed,
        shard: slice,
        ref modes,
        iterations,
        ..
    } = plan
    else {
        unreachable!("a campaign plan");
    };
    let mut common = c.common;
    let setup = common.setup(&plan)?;
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
    let runs = Runs {
        total: Some(todo.len() as u64),
        jobs: todo.into_iter(),
        chunk: usize::MAX,
        count_left: true,
        stop_at_fail: false,
    };
    run(
        &common,
        &setup,
        &plan,
        c.resume.as_deref(),
        done,
        runs,
        |results, ran, elapsed| {
            let mut line = results.counts().campaign_line(elapsed.as_secs());
            if stop::requested() {
                line.push_str(&Counts::stopped_suffix(
                    ran.interrupted.len(),
                    ran.not_run.unwrap_or(0),
                ));
            }
            vec![line]
        },
    )
}

/// `ccwgate soak`.
pub fn soak(s: Soak) -> Exit {
    soak_or(s).unwrap_or_else(|e| fatal(&e))
}

fn soak_or(s: Soak) -> Result<Exit, String> {
    let fresh = Plan::Soak {
        runs: s.runs,
        duration_s: s.duration.map(|d| d.as_secs()),
        keep_going: s.keep_going,
        first_seed: s.first_seed,
        scenario: s.scenario.clone(),
        iterations: s.common.iterations,
        extra: s.common.extra.clone(),
    };
    let (plan, done) = planned(s.resume.as_deref(), fresh)?;
    let Plan::Soak {
        runs,
        duration_s,
        keep_going,
        first_seed: first,
        ref scenario,
        iterations,
        ..
    } = plan
    else {
        unreachable!("a soak plan");
    };
    if !SCENARIOS.contains(&scenario.as_str()) {
        return Err(format!(
            "unknown scenario `{}` (one of: {})",
            scenario,
            SCENARIOS.join(", ")
        ));
    }
    if runs.is_none() && duration_s.is_none() {
        return Err("soak needs --runs N or --duration D".into());
    }
    let mut common = s.common;
    let setup = common.setup(&plan)?;
    let deadline = duration_s.map(|d| Instant::now() + Duration::from_secs(d));
    let limit = runs.unwrap_or(u64::MAX);
    let sweeps = sweeps_for(&common.extra);
    let seen: std::collections::HashSet<u64> = done.records.iter().map(|r| r.job.seed).collect();
    // A soak that already stopped at its first FAIL has nothing left.
    let over = !keep_going && done.records.iter().any(Record::failed);
    // Fresh seeds, the modes and sweeps turning with them; the deadline is
    // checked when a run is handed out (a chunk of runs at a time).
    let scenario = scenario.clone();
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
    let runs = Runs {
        jobs,
        total: runs.map(|n| n.saturating_sub(done.records.len() as u64)),
        // Soak seeds turn through modes and sweeps with a period of four: a
        // chunk of 16 batches' worth makes full batches.
        chunk: common.batch.saturating_mul(16),
        count_left: false,
        stop_at_fail: !keep_going,
    };
    run(
        &common,
        &setup,
        &plan,
        s.resume.as_deref(),
        done,
        runs,
        |results, ran, _| {
            let mut line = results.counts().soak_line();
            if stop::requested() {
                line.push_str(&format!(", {} interrupted", ran.interrupted.len()));
            }
            let first_fail = results.records.iter().find(|r| r.failed());
            std::iter::once(line)
                .chain(first_fail.map(|f| format!("first FAIL: {}", f.job.name())))
                .collect()
        },
    )
}

/// `ccwgate merge`: shards' results as one campaign.
pub fn merge(m: Merge) -> Exit {
    merge_or(m).unwrap_or_else(|e| fatal(&e))
}

fn merge_or(m: Merge) -> Result<Exit, String> {
    let mut parts = Vec::new();
    for p in &m.inputs {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        parts.push(Results::load(&text).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    let mut results = Results::merge(parts);
    if let Some(k) = m.known.load()? {
        for r in &mut results.records {
            if r.known.is_none() {
                known::mark(r, &k);
            }
        }
    }
    if let Some(p) = &m.reports.json {
        std::fs::write(p, results.to_jsonl())
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    write_junit(&results, &[], m.reports.junit.as_deref(), "campaign")?;
    if m.reports.tap {
        print!("{}", results.to_tap());
    }
    let line = results.counts().campaign_line(0);
    println!("{}", after_runs(m.reports.tap, &line));
    Ok(status(&results))
}
