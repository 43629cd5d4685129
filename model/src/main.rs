//! `ccwgate-model`: runs gate's driver and oracle against the mechanism
//! model of the vfio-ccw / QEMU pass-through path and reports what ccwgate
//! would say about each host variant.
//!
//! Exit status: 0 when every run passed, 1 when any failed, 2 for usage
//! errors.

mod report;

use std::collections::BTreeMap;
use std::process::ExitCode;

use ccwgate_model::{
    default_sweep, exhaustive_setup, kernel_config, replay_setup, run, run_logged, Bounds,
    Latencies, RunResult, Setup, Unsolicited, UnsolicitedKind, Variant, IO_SCENARIOS, US,
};
use ccwgate_stats::{compare_rates, Better, Proportion, Quantiles};
use clap::Parser;
use gate::accel::Accel;
use gate::cmdline::{Config, Scenario};

#[derive(Parser, Debug)]
#[command(
    name = "ccwgate-model",
    about = "Run ccwgate's driver and oracle against a model of the vfio-ccw/QEMU pass-through path",
    after_help = after_help(),
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Host to model: BASE[+CHANGE...] (see below), e.g.
    /// `fixed+q-relay+k-irb-once+k-gen`.
    #[arg(long, default_value = "fixed", value_parser = Variant::parse)]
    variant: Variant,
    /// Scenario (a channel-I/O scenario of the kernel, or `all`).
    #[arg(long, default_value = "csch-race")]
    scenario: String,
    /// Number of seeds (runs) per scenario.
    #[arg(long, default_value_t = 200)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Iterations per run (default 300; 1 with --exhaustive).
    #[arg(long)]
    iterations: Option<u32>,
    /// Delay sweep MIN:MAX:STEP in TOD units (4096 = 1 us) or `auto`, as
    /// the kernel's `delay=`. Default: 0 to twice the model's
    /// start-to-status time (timed), 0:0:1 (--exhaustive: the scheduler,
    /// not a delay, decides where a CLEAR or HALT lands).
    #[arg(long)]
    delay: Option<String>,
    /// Delay bands to report detections in.
    #[arg(long, default_value_t = 4)]
    bands: u32,
    /// Further kernel command-line tokens (e.g. `host=vfio-ccw wait_owed=1`),
    /// passed to the driver and oracle through the kernel's own parser, in
    /// timed and exhaustive runs alike.
    #[arg(long, default_value = "")]
    append: String,
    /// Run both variants on the same seeds and say which fails less often.
    #[arg(long, num_args = 2, value_names = ["A", "B"], value_parser = Variant::parse)]
    compare: Option<Vec<Variant>>,
    /// Enumerate every interleaving of --scenario (default csch-race) for
    /// --iterations (default 1) after the baseline SENSE ID, with at most
    /// --preemptions preemptions each (all bases unless --variant is given
    /// explicitly).
    #[arg(long)]
    exhaustive: bool,
    /// Preemptions per interleaving in --exhaustive.
    #[arg(long, default_value_t = 3)]
    preemptions: u32,
    /// Stop --exhaustive after this many interleavings.
    #[arg(long, default_value_t = 2_000_000)]
    max_runs: u64,
    /// Print the step log of one seed's run (the first seed).
    #[arg(long)]
    trace: bool,
    /// Host latency, NAME=MIN:MAX in microseconds (repeatable), or
    /// NAME=MIN:MAX,SMIN:SMAX@PCT: PCT % of the steps take SMIN:SMAX
    /// instead (a TCG vCPU descheduled). Names: intercept, translate,
    /// host-step, device-start, ccw-nop, ccw-sense-id, device-halt,
    /// device-clear, host-irq, workqueue (alias wake: fsm_irq's queue_work
    /// until vfio_ccw_sch_io_todo runs), eventfd, deliver (mode=irq),
    /// enabled-wait (mode=wait), poll (mode=poll, tsch), guest (the
    /// guest's own time before each instruction; default none), idle-wake
    /// (added to host-irq and workqueue while the guest sits in an enabled
    /// wait; default none). The guest's mode= comes with --append.
    #[arg(long = "latency", value_name = "NAME=MIN:MAX[,SMIN:SMAX@PCT]")]
    latencies: Vec<String>,
    /// Percent of completions whose device end comes separately.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    split_percent: u32,
    /// Unsolicited status from the device, on average PERCENT % per model
    /// start-to-status time (timed runs, the kind drawn from the seed;
    /// exhaustive runs: once per interleaving, at every point it can come,
    /// each kind in turn). 0, the default, is off.
    #[arg(long, default_value_t = 0, value_name = "PERCENT")]
    unsolicited: u32,
    /// Which unsolicited status, comma-separated: attention, device-end,
    /// unit-check (sense: intervention required; the kernel's ERROR
    /// device-error), busy (busy + status modifier for a start not yet
    /// begun; ERROR device-busy).
    #[arg(long, default_value = "attention,device-end", value_delimiter = ',', value_parser = parse_kinds)]
    unsolicited_kinds: Vec<UnsolicitedKind>,
    /// Host CPUs for the host's software contexts.
    #[arg(long, default_value_t = ccwgate_model::HOST_CPUS)]
    host_cpus: usize,
    /// The guest's vCPU thread keeps one of the host CPUs while the guest
    /// spins (mode=irq, poll, tsch) and gives it up only in an enabled wait
    /// (mode=wait); the host's work item and QEMU's I/O thread share the
    /// rest. Off: the vCPU takes a CPU only for its instructions.
    #[arg(long)]
    vcpu_spins: bool,
    /// Latencies to start from (--latency changes them further): default
    /// (a DASD passed through to a KVM guest) or nested (a sketch of the
    /// real stack of docs/nested.md, fitted to its csch-race rates; it
    /// implies --vcpu-spins).
    #[arg(long, default_value = "default")]
    profile: String,
    /// The accelerator under the guest: kvm (KVM's interruption list:
    /// the oldest first, TSCH withdraws one of the subchannel's) or tcg
    /// (QEMU's TCG: the newest first, TSCH withdraws none). The oracle
    /// judges under it unless --append accel= says otherwise.
    #[arg(long, default_value = "kvm", value_parser = parse_accel)]
    accel: Accel,
}

fn parse_accel(s: &str) -> Result<Accel, String> {
    Accel::from_name(s.as_bytes()).ok_or_else(|| format!("unknown accelerator `{s}` (kvm or tcg)"))
}

fn parse_kinds(s: &str) -> Result<UnsolicitedKind, String> {
    UnsolicitedKind::from_name(s).ok_or_else(|| {
        let names: Vec<_> = UnsolicitedKind::ALL.iter().map(|k| k.name()).collect();
        format!(
            "unknown unsolicited status `{s}` (one of: {})",
            names.join(", ")
        )
    })
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Run the evidence matrix (hosts x csch-race, hsch-race, mixed x timed,
    /// timed wait_owed=1, exhaustive; all host=vfio-ccw) and write
    /// DIR/index.html and DIR/report.md with their SVG plots.
    Report(report::ReportArgs),
}

fn after_help() -> String {
    format!(
        "{}Scenarios: ssch, csch-race, hsch-race, csch-idle, mixed, or all.\n\
Evidence report: `ccwgate-model report --out DIR` runs the matrix of hosts x race scenarios x modes and \
writes DIR/index.html and DIR/report.md (see `ccwgate-model report --help` and docs/report.md).\n\
Exit status: 0 every run passed, 1 some run failed (or was ERROR race-not-exercised), 2 usage error.",
        ccwgate_model::variant::help()
    )
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("ccwgate-model: {msg}");
    ExitCode::from(2)
}

/// `--latency NAME=MIN:MAX[,SMIN:SMAX@PCT]`: the range in microseconds,
/// and optionally a slow one that PCT % of the draws take instead.
fn set_latency(lat: &mut Latencies, spec: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "bad --latency `{spec}` (NAME=MIN:MAX or NAME=MIN:MAX,SMIN:SMAX@PCT in microseconds)"
        )
    };
    let pair = |text: &str| -> Result<(u64, u64), String> {
        let (min, max) = text.split_once(':').ok_or_else(bad)?;
        let min: u64 = min.parse().map_err(|_| bad())?;
        let max: u64 = max.parse().map_err(|_| bad())?;
        if min > max {
            return Err(bad());
        }
        Ok((min, max))
    };
    let (name, ranges) = spec.split_once('=').ok_or_else(bad)?;
    let (fast, slow) = match ranges.split_once(',') {
        Some((fast, slow)) => (fast, Some(slow)),
        None => (ranges, None),
    };
    let (min, max) = pair(fast)?;
    let mut r = ccwgate_model::Range::us(min, max);
    if let Some(slow) = slow {
        let (range, percent) = slow.split_once('@').ok_or_else(bad)?;
        let (smin, smax) = pair(range)?;
        let percent: u32 = percent.parse().map_err(|_| bad())?;
        if percent > 100 {
            return Err(bad());
        }
        r = r.with_slow(smin, smax, percent);
    }
    let slot = match name {
        "intercept" => &mut lat.intercept,
        "translate" => &mut lat.translate,
        "host-step" => &mut lat.host_step,
        "device-start" => &mut lat.device_start,
        "ccw-nop" => &mut lat.ccw_nop,
        "ccw-sense-id" => &mut lat.ccw_sense_id,
        "device-halt" => &mut lat.device_halt,
        "device-clear" => &mut lat.device_clear,
        "host-irq" => &mut lat.host_irq,
        // `wake`: fsm_irq's queue_work until vfio_ccw_sch_io_todo runs.
        "workqueue" | "wake" => &mut lat.workqueue,
        "eventfd" => &mut lat.eventfd,
        "deliver" => &mut lat.deliver,
        "enabled-wait" => &mut lat.enabled_wait,
        "poll" => &mut lat.poll,
        "guest" => &mut lat.guest,
        "idle-wake" => &mut lat.idle_wake,
        _ => return Err(format!("unknown latency `{name}` in --latency `{spec}`")),
    };
    *slot = r;
    Ok(())
}

/// The kernel's own parser turns the options into the driver's `Config`,
/// for timed and exhaustive runs alike.
fn config(args: &Args, scenario: Scenario, lat: &Latencies) -> Result<Config, String> {
    let sweep = match &args.delay {
        Some(d) => d.clone(),
        None if args.exhaustive => "0:0:1".to_string(),
        None => {
            let s = default_sweep(lat);
            format!("{}:{}:{}", s.min, s.max, s.step)
        }
    };
    let iterations = args
        .iterations
        .unwrap_or(if args.exhaustive { 1 } else { 300 });
    let line = format!(
        "scenario={} iterations={iterations} delay={sweep} {}",
        scenario.name(),
        args.append
    );
    // Timed runs replace the seed per run; an exhaustive one runs the first.
    kernel_config(&line).map(|c| Config {
        seed: args.first_seed,
        ..c
    })
}

/// Results of one variant on one scenario.
struct Cell {
    results: Vec<RunResult>,
}

impl Cell {
    fn failed(&self) -> impl Iterator<Item = &RunResult> {
        self.results.iter().filter(|r| r.failure().is_some())
    }

    fn iterations(&self) -> u64 {
        self.results.iter().map(|r| u64::from(r.iterations)).sum()
    }

    fn proportion(&self) -> Proportion {
        Proportion::new(self.failed().count() as u64, self.iterations())
    }
}

fn run_cell(setup: &Setup, seeds: &[u64], bar: &indicatif::ProgressBar) -> Cell {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(seeds.len().max(1));
    let chunk = seeds.len().div_ceil(threads).max(1);
    let mut results: Vec<RunResult> = Vec::with_capacity(seeds.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|&seed| {
                            let r = run(setup, seed);
                            bar.inc(1);
                            r
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            results.extend(h.join().expect("a model run panicked"));
        }
    });
    Cell { results }
}

fn us(tod: u64) -> f64 {
    tod as f64 / US as f64
}

fn report(variant: Variant, scenario: Scenario, config: &Config, cell: &Cell, bands: u32) {
    let runs = cell.results.len();
    let failed: Vec<&RunResult> = cell.failed().collect();
    let detected = Proportion::new(failed.len() as u64, runs as u64);
    let (lo, hi) = detected.wilson95();
    let to_detection: Vec<u64> = failed.iter().map(|r| u64::from(r.iterations)).collect();
    let q = Quantiles::of(&to_detection);
    let (rate, rlo, rhi) = cell.proportion().per_million();
    let raced = cell.results.iter().filter(|r| r.mechanism.raced()).count();
    print!(
        "{:<13} {:<9} runs={runs} detected={} rate={:.1}% [{:.1}%, {:.1}%]",
        variant.to_string(),
        scenario.name(),
        failed.len(),
        detected.estimate() * 100.0,
        lo * 100.0,
        hi * 100.0
    );
    match q {
        Some(q) => print!(
            " iterations-to-detection median={} p90={} worst={}",
            q.median, q.p90, q.worst
        ),
        None => print!(" iterations-to-detection -"),
    }
    println!(" fails-per-M-iterations={rate:.0} [{rlo:.0}, {rhi:.0}] host-raced={raced}/{runs}");
    let mut landed = gate::driver::Landed::default();
    let mut not_exercised = 0;
    for r in &cell.results {
        if let Some(s) = r.summary() {
            landed.before += s.landed.before;
            landed.running += s.landed.running;
            landed.window += s.landed.window;
            landed.after += s.landed.after;
        }
        if matches!(r.outcome, ccwgate_model::Outcome::NotExercised(..)) {
            not_exercised += 1;
        }
    }
    if landed.total() > 0 {
        println!("    landed (passing runs): {landed}");
    }
    if not_exercised > 0 {
        println!("    {not_exercised} runs: ERROR race-not-exercised");
    }
    let mut errors: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for f in cell.results.iter().filter_map(RunResult::error) {
        *errors
            .entry((f.environment.unwrap_or("environment"), f.violation.what))
            .or_default() += 1;
    }
    for ((reason, what), n) in errors {
        println!("    {n:>6} x ERROR {reason} ({what}): the environment's, not the host's");
    }
    let mut whats: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &failed {
        let v = r.failure().expect("failed").violation;
        *whats.entry((v.class.name(), v.what)).or_default() += 1;
    }
    for ((class, what), n) in whats {
        println!("    {n:>6} x {class} {what}");
    }
    let sweep = config.delay;
    if !failed.is_empty() && bands > 1 && sweep.max > sweep.min {
        let width = (u64::from(sweep.max - sweep.min) + 1).div_ceil(u64::from(bands));
        let mut per = vec![0usize; bands as usize];
        for r in &failed {
            let d = u64::from(r.failure().expect("failed").delay);
            let b = (d.saturating_sub(u64::from(sweep.min)) / width).min(u64::from(bands) - 1);
            per[b as usize] += 1;
        }
        let line: Vec<String> = per
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let a = u64::from(sweep.min) + i as u64 * width;
                format!("{:.0}-{:.0}us:{n}", us(a), us(a + width))
            })
            .collect();
        println!("    detections by delay band: {}", line.join(" "));
    }
}

fn bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs, eta {eta}")
            .expect("valid template"),
    );
    bar
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Some(Command::Report(r)) = &args.command {
        return report::main(r);
    }
    let (mut lat, vcpu_spins) = match args.profile.as_str() {
        "default" => (Latencies::default(), args.vcpu_spins),
        "nested" => (Latencies::nested(), true),
        other => return usage(&format!("unknown --profile `{other}` (default, nested)")),
    };
    for spec in &args.latencies {
        if let Err(e) = set_latency(&mut lat, spec) {
            return usage(&e);
        }
    }
    let scenarios: Vec<Scenario> = if args.scenario == "all" {
        IO_SCENARIOS.to_vec()
    } else {
        match Scenario::from_name(args.scenario.as_bytes()) {
            Some(s) if IO_SCENARIOS.contains(&s) => vec![s],
            _ => {
                return usage(&format!(
                    "unknown or non-I/O scenario `{}` (ssch, csch-race, hsch-race, csch-idle, mixed, all)",
                    args.scenario
                ))
            }
        }
    };
    if args.seeds == 0 {
        return usage("--seeds must be at least 1");
    }
    let unsolicited = Unsolicited::new(args.unsolicited, &args.unsolicited_kinds);

    if args.exhaustive {
        let explicit = std::env::args().any(|a| a == "--variant" || a.starts_with("--variant="));
        let variants = if explicit {
            vec![args.variant]
        } else {
            Variant::ALL.to_vec()
        };
        let mut any_failed = false;
        for &scenario in &scenarios {
            let config = match config(&args, scenario, &lat) {
                Ok(c) => c,
                Err(e) => return usage(&e),
            };
            println!(
                "exhaustive: {} for {} iteration(s) after the baseline SENSE ID, delay {}:{}:{}, \
at most {} preemptions per interleaving, host={} wait_owed={}{}{}",
                scenario.name(),
                config.iterations.unwrap_or(0),
                config.delay.min,
                config.delay.max,
                config.delay.step,
                args.preemptions,
                config.host.name(),
                u8::from(config.wait_owed),
                if args.append.is_empty() {
                    ""
                } else {
                    ", --append "
                },
                args.append
            );
            for &v in &variants {
                let bounds = Bounds {
                    preemptions: args.preemptions,
                    max_runs: args.max_runs,
                    ..Bounds::default()
                };
                let setup = Setup {
                    latencies: lat,
                    host_cpus: args.host_cpus,
                    unsolicited,
                    vcpu_spins,
                    accel: args.accel,
                    ..Setup::new(v, config)
                };
                let spinner = indicatif::ProgressBar::new_spinner();
                let started = std::time::Instant::now();
                let r = exhaustive_setup(&setup, bounds, |n| {
                    if n % 4096 == 0 {
                        spinner.set_message(format!("{} interleavings", n));
                        spinner.tick();
                    }
                });
                spinner.finish_and_clear();
                any_failed |= r.failing > 0;
                println!(
                    "{:<13} {:<9} interleavings={}{} failing={} host-raced={}{}{} ({:.1} s)",
                    v.to_string(),
                    scenario.name(),
                    r.runs,
                    if r.complete {
                        ""
                    } else {
                        " (stopped by --max-runs)"
                    },
                    r.failing,
                    r.raced,
                    if r.errors > 0 {
                        format!(" environment-errors={}", r.errors)
                    } else {
                        String::new()
                    },
                    if r.truncated > 0 {
                        format!(" depth-truncated={}", r.truncated)
                    } else {
                        String::new()
                    },
                    started.elapsed().as_secs_f64()
                );
                for ((class, what), n) in &r.classes {
                    println!("    {n:>8} x {class} {what}");
                }
                let events: Vec<String> = r
                    .events
                    .iter()
                    .map(|(name, n)| format!("{name}:{n}"))
                    .collect();
                if !events.is_empty() {
                    println!("    host events (interleavings): {}", events.join(" "));
                }
                if let Some(s) = &r.first_failing {
                    if args.trace {
                        let (res, log) = replay_setup(&setup, args.preemptions, s);
                        for l in log {
                            println!("    {l}");
                        }
                        println!("    {:?}", res.outcome);
                    }
                }
            }
        }
        return ExitCode::from(u8::from(any_failed));
    }

    let seeds: Vec<u64> = (args.first_seed..args.first_seed + args.seeds).collect();

    if args.trace {
        let scenario = scenarios[0];
        let config = match config(&args, scenario, &lat) {
            Ok(c) => c,
            Err(e) => return usage(&e),
        };
        let setup = Setup {
            latencies: lat,
            host_cpus: args.host_cpus,
            split_percent: args.split_percent,
            unsolicited,
            vcpu_spins,
            accel: args.accel,
            ..Setup::new(args.variant, config)
        };
        let (r, log) = run_logged(&setup, args.first_seed);
        for l in log {
            println!("{l}");
        }
        println!("{:?}", r.outcome);
        println!("{:?}", r.mechanism);
        return ExitCode::from(u8::from(r.failure().is_some()));
    }

    let variants = match &args.compare {
        Some(pair) => pair.clone(),
        None => vec![args.variant],
    };
    let sweep = match config(&args, scenarios[0], &lat) {
        Ok(c) => c.delay,
        Err(e) => return usage(&e),
    };
    let sweep_text = if args.delay.as_deref() == Some("auto") {
        "delay sweep auto (sized per run from a warm-up)".to_string()
    } else {
        format!(
            "delay sweep {:.1}-{:.1} us step {:.2} us",
            us(u64::from(sweep.min)),
            us(u64::from(sweep.max)),
            us(u64::from(sweep.step))
        )
    };
    println!(
        "model: {} seeds from {}, {} iterations each, {sweep_text} \
(model start-to-status ~{:.0} us), {} host CPUs",
        args.seeds,
        args.first_seed,
        args.iterations.unwrap_or(300),
        us(lat.start_to_status()),
        args.host_cpus
    );
    let total = args.seeds * scenarios.len() as u64 * variants.len() as u64;
    let progress = bar(total);
    let mut any_failed = false;
    let started = std::time::Instant::now();
    let mut cells: Vec<(Variant, Scenario, Config, Cell)> = Vec::new();
    for &scenario in &scenarios {
        let config = match config(&args, scenario, &lat) {
            Ok(c) => c,
            Err(e) => return usage(&e),
        };
        for &v in &variants {
            let setup = Setup {
                latencies: lat,
                host_cpus: args.host_cpus,
                split_percent: args.split_percent,
                unsolicited,
                vcpu_spins,
                accel: args.accel,
                ..Setup::new(v, config)
            };
            let cell = run_cell(&setup, &seeds, &progress);
            any_failed |= cell.failed().next().is_some()
                || cell
                    .results
                    .iter()
                    .any(|r| matches!(r.outcome, ccwgate_model::Outcome::NotExercised(..)));
            cells.push((v, scenario, config, cell));
        }
    }
    progress.finish_and_clear();
    for (v, s, c, cell) in &cells {
        report(*v, *s, c, cell, args.bands);
    }
    if let Some(pair) = &args.compare {
        for &scenario in &scenarios {
            let find = |v: Variant| {
                cells
                    .iter()
                    .find(|(cv, cs, _, _)| *cv == v && *cs == scenario)
                    .map(|(_, _, _, c)| c.proportion())
                    .expect("both variants ran")
            };
            let (a, b) = (find(pair[0]), find(pair[1]));
            let c = compare_rates(a, b, 0.05);
            let line = match c.better {
                Better::A => format!("{} fails less often than {}", pair[0], pair[1]),
                Better::B => format!("{} fails less often than {}", pair[1], pair[0]),
                Better::CannotTell => "the data cannot tell which fails less often".to_string(),
            };
            println!(
                "compare {}: {} {:.0}/M vs {} {:.0}/M, p={:.3}: {line}",
                scenario.name(),
                pair[0],
                a.per_million().0,
                pair[1],
                b.per_million().0,
                c.p_value
            );
        }
    }
    eprintln!("{} runs in {:.2} s", total, started.elapsed().as_secs_f64());
    ExitCode::from(u8::from(any_failed))
}
