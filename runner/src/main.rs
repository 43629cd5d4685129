//! `ccwgate`: campaigns, soak runs and A/B comparisons of the guest kernel
//! through run-qemu.sh, with JSON, JUnit and TAP reports; `ccwgate list
//! KIND` prints gate's names (scenarios, modes, classes, deviations,
//! options, ...), one per line.
//!
//! Exit status: 0 every run passed; 1 some run failed (FAIL); 2 an ERROR
//! run, or a usage or setup problem.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ccwgate_runner::known::{self, KnownBugs};
use ccwgate_runner::{
    campaign_jobs, compare, image_size, kilo, names, parse_shard, peer_rate, run_job, shard,
    sweeps_for, Job, Record, Results, Setup, Spread, MODES, NAME_KINDS, SCENARIOS,
};
use clap::{Args, Parser, Subcommand};
use gate::cmdline::Scenario;

#[derive(Parser)]
#[command(
    name = "ccwgate",
    about = "Campaigns, soak runs and A/B comparisons of the ccwgate guest kernel",
    after_help = "Exit status: 0 every run passed (or failed only with known open bugs, --known), \
1 some run failed, 2 an ERROR run or a usage/setup problem."
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
struct Bench {
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
    /// Write every run's record here (JSON).
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

fn write_reports(results: &Results, reports: &Reports, suite: &str) -> Result<(), String> {
    if let Some(p) = &reports.json {
        std::fs::write(p, results.to_json())
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = &reports.junit {
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
    let setup = match setup(&c.common) {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let sweeps = sweeps_for(&c.common.extra);
    let mut jobs = campaign_jobs(
        c.first_seed..c.first_seed + c.seeds,
        c.common.iterations,
        sweeps,
    );
    if !c.modes.is_empty() {
        jobs.retain(|j| c.modes.contains(&j.mode));
    }
    if let Some((i, n)) = c.shard {
        jobs = shard(jobs, i, n);
    }
    if c.common.reports.tap {
        println!("TAP version 13\n1..{}", jobs.len());
    }
    let reporter = Reporter::new(c.common.reports.tap, Some(jobs.len() as u64));
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
    if let Err(e) = write_reports(&results, &c.common.reports, "campaign") {
        return fatal(&e);
    }
    let line = results.counts().campaign_line(started.elapsed().as_secs());
    if c.common.reports.tap {
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
    if let Err(e) = write_reports(&results, &m.reports, "campaign") {
        return fatal(&e);
    }
    if m.reports.tap {
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
    let sweeps = sweeps_for(&s.common.extra);
    // Fresh seeds, the modes and sweeps turning with them; the deadline is
    // checked when a run is handed out.
    let jobs = (0..limit)
        .map(move |i| Job {
            scenario: scenario.clone(),
            seed: first + i,
            mode: MODES[(i % MODES.len() as u64) as usize].into(),
            delay: sweeps[((first + i) % sweeps.len() as u64) as usize].into(),
            iterations,
        })
        .take_while(move |_| deadline.is_none_or(|d| Instant::now() < d));
    if s.common.reports.tap {
        println!("TAP version 13");
    }
    let reporter = Reporter::new(s.common.reports.tap, s.runs);
    let keep_going = s.keep_going;
    let records = run_all(&setup, jobs, workers(&s.common), &reporter, |r| {
        r.failed() && !keep_going
    });
    reporter.bar.finish_and_clear();
    let results = Results::merge(vec![Results { records }]);
    if s.common.reports.tap {
        println!("1..{}", results.records.len());
    }
    if let Err(e) = write_reports(&results, &s.common.reports, "soak") {
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

fn bench(b: Bench) -> ExitCode {
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
