//! `ccwgate`: campaigns, soak runs and A/B comparisons of the guest kernel
//! through run-qemu.sh, with JSON, JUnit and TAP reports.
//!
//! Exit status: 0 every run passed; 1 some run failed (FAIL); 2 an ERROR
//! run, or a usage or setup problem.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ccwgate_runner::{
    campaign_jobs, compare, parse_shard, run_job, shard, Job, Record, Results, Setup, MODES,
    SCENARIOS, SWEEPS,
};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ccwgate",
    about = "Campaigns, soak runs and A/B comparisons of the ccwgate guest kernel",
    after_help = "Exit status: 0 every run passed, 1 some run failed, 2 an ERROR run or a usage/setup problem."
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
    /// Write every run's record here (JSON).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a JUnit report here (one test case per run).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Print TAP on stdout (one line per run) instead of the progress.
    #[arg(long)]
    tap: bool,
    /// Further run-qemu.sh options for every run, after `--`
    /// (e.g. `-- --append host=vfio-ccw`).
    #[arg(last = true)]
    extra: Vec<String>,
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
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct Merge {
    /// The shards' JSON files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    junit: Option<PathBuf>,
    #[arg(long)]
    tap: bool,
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
            let ok = if r.passed() { "ok" } else { "not ok" };
            let note = if r.passed() {
                String::new()
            } else {
                format!(" # {}", r.verdict)
            };
            println!("{ok} {n} - {}{note}", r.job.name());
            if !r.passed() {
                for l in &r.evidence {
                    println!("# {l}");
                }
            }
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

/// Runs `jobs` on `workers` threads; `stop` ends it early (soak).
fn run_all(
    setup: &Setup,
    jobs: impl Iterator<Item = Job> + Send,
    workers: usize,
    reporter: &Reporter,
    stop: impl Fn(&Record) -> bool + Sync,
) -> Vec<Record> {
    let queue = Mutex::new(jobs);
    let out = Mutex::new(Vec::new());
    let halted = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                if halted.load(Ordering::SeqCst) {
                    break;
                }
                let Some(job) = queue.lock().expect("queue").next() else {
                    break;
                };
                let r = run_job(setup, &job);
                reporter.finished(&r);
                if stop(&r) {
                    halted.store(true, Ordering::SeqCst);
                }
                out.lock().expect("results").push(r);
            });
        }
    });
    out.into_inner().expect("results")
}

fn write_reports(
    results: &Results,
    json: &Option<PathBuf>,
    junit: &Option<PathBuf>,
    suite: &str,
) -> Result<(), String> {
    if let Some(p) = json {
        std::fs::write(p, results.to_json())
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = junit {
        std::fs::write(p, results.to_junit(suite))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

fn status(results: &Results) -> ExitCode {
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
    Setup::new(
        &workspace(),
        common.kernel.clone(),
        common.timeout,
        common.extra.clone(),
    )
}

fn workers(common: &Common) -> usize {
    common.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

fn campaign(c: Campaign) -> ExitCode {
    let setup = match setup(&c.common) {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let mut jobs = campaign_jobs(c.first_seed..c.first_seed + c.seeds, c.common.iterations);
    if let Some((i, n)) = c.shard {
        jobs = shard(jobs, i, n);
    }
    if c.common.tap {
        println!("TAP version 13\n1..{}", jobs.len());
    }
    let reporter = Reporter::new(c.common.tap, Some(jobs.len() as u64));
    let started = Instant::now();
    let records = run_all(
        &setup,
        jobs.into_iter(),
        workers(&c.common),
        &reporter,
        |_| false,
    );
    reporter.bar.finish_and_clear();
    let results = Results::merge(vec![Results { records }]);
    if let Err(e) = write_reports(&results, &c.common.json, &c.common.junit, "campaign") {
        return fatal(&e);
    }
    let line = results.counts().campaign_line(started.elapsed().as_secs());
    if c.common.tap {
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
        match Results::from_json(&text) {
            Ok(r) => parts.push(r),
            Err(e) => return fatal(&format!("{}: {e}", p.display())),
        }
    }
    let results = Results::merge(parts);
    if let Err(e) = write_reports(&results, &m.json, &m.junit, "campaign") {
        return fatal(&e);
    }
    if m.tap {
        print!("{}", results.to_tap());
    }
    println!("{}", results.counts().campaign_line(0));
    status(&results)
}

fn soak(s: Soak) -> ExitCode {
    if !SCENARIOS.contains(&s.scenario.as_str()) {
        return fatal(&format!(
            "unknown scenario `{}` (one of: {})",
            s.scenario,
            SCENARIOS.join(", ")
        ));
    }
    if s.runs.is_none() && s.duration.is_none() {
        return fatal("soak needs --runs N or --duration D");
    }
    let setup = match setup(&s.common) {
        Ok(x) => x,
        Err(e) => return fatal(&e),
    };
    let deadline = s.duration.map(|d| Instant::now() + d);
    let limit = s.runs.unwrap_or(u64::MAX);
    let (scenario, iterations, first) = (s.scenario.clone(), s.common.iterations, s.first_seed);
    // Fresh seeds, the modes and sweeps turning with them; the deadline is
    // checked when a run is handed out.
    let jobs = (0..limit)
        .map(move |i| Job {
            scenario: scenario.clone(),
            seed: first + i,
            mode: MODES[(i % MODES.len() as u64) as usize].into(),
            delay: SWEEPS[((first + i) % SWEEPS.len() as u64) as usize].into(),
            iterations,
        })
        .take_while(move |_| deadline.is_none_or(|d| Instant::now() < d));
    if s.common.tap {
        println!("TAP version 13");
    }
    let reporter = Reporter::new(s.common.tap, s.runs);
    let keep_going = s.keep_going;
    let records = run_all(&setup, jobs, workers(&s.common), &reporter, |r| {
        r.failed() && !keep_going
    });
    reporter.bar.finish_and_clear();
    let results = Results::merge(vec![Results { records }]);
    if s.common.tap {
        println!("1..{}", results.records.len());
    }
    if let Err(e) = write_reports(&results, &s.common.json, &s.common.junit, "soak") {
        return fatal(&e);
    }
    let c = results.counts();
    println!("{}", c.soak_line());
    if let Some(f) = results.records.iter().find(|r| r.failed()) {
        println!("first FAIL: {}", f.job.name());
    }
    status(&results)
}

fn compare_cmd(c: CompareArgs) -> ExitCode {
    let load = |p: &PathBuf| -> Result<Results, String> {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        Results::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let (a, b) = match (load(&c.a), load(&c.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fatal(&e),
    };
    let (cmp, line) = compare(&a, &b, c.alpha);
    for (name, set, p) in [("A", &a, cmp.a), ("B", &b, cmp.b)] {
        let (rate, lo, hi) = p.per_million();
        let n = set.counts();
        println!(
            "{name}: {} runs, {} FAIL in {} iterations: {rate:.1} per million [{lo:.1}, {hi:.1}] (95 %)",
            n.runs, n.fail, n.iterations
        );
    }
    println!("p = {:.4}: {line}", cmp.p_value);
    ExitCode::SUCCESS
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
    }
}
