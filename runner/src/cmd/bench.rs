//! `ccwgate bench`: speed and size (iterations per second of ssch and
//! csch-race in every mode, checks on and off, boot to verdict, image
//! sizes; against the C reference loop with `--peer`), and `ccwgate bench
//! campaign`: the same campaign slice a boot per run and in batch boots.
//! Every figure is several runs, interleaved, shown as median and spread.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ccwgate_runner::exit::Exit;
use ccwgate_runner::pool::{self, run_all, Shape};
use ccwgate_runner::reporter::Reporter;
use ccwgate_runner::{
    campaign_jobs, image_size, kilo, peer_rate, run_job, stop, sweeps_for, Job, Record, Results,
    Setup, Spread, MODES,
};
use clap::{Args, Subcommand};
use gate::cmdline::Scenario;

use super::runs::BATCH;
use super::{fatal, workspace};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Bench {
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
pub enum BenchWhat {
    /// The same campaign slice a boot per run (the old way) and in batch
    /// boots (the new way), side by side: runs per second of each, their
    /// ratio, and whether the verdict records are the same.
    Campaign(BenchCampaign),
}

#[derive(Args)]
pub struct BenchCampaign {
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

fn bench_campaign(b: BenchCampaign) -> Exit {
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
    let workers = pool::workers(b.jobs);
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
            let shape = Shape {
                chunk: usize::MAX,
                batch: *batch,
                workers,
                count_left: true,
            };
            let ran = run_all(
                &setup,
                jobs.clone().into_iter(),
                shape,
                &reporter,
                None,
                |_| false,
            );
            secs.push(started.elapsed().as_secs_f64());
            let merged = Results::merge(vec![Results {
                records: ran.records,
            }]);
            not_pass += merged.records.iter().filter(|r| !r.passed()).count();
            round.push(merged.records);
            if stop::requested() {
                return Exit::Interrupted;
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
    if differ > 0 {
        Exit::Error
    } else {
        Exit::Success
    }
}

/// `ccwgate bench` and `ccwgate bench campaign`.
pub fn bench(b: Bench) -> Exit {
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
    Exit::Success
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
