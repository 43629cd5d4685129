//! A mechanism model of the vfio-ccw / QEMU pass-through path, driven by
//! ccwgate's own scenario driver and oracle.
//!
//! No machine here can run vfio-ccw, yet that is where the race ccwgate
//! exists for lives. This crate models the path as the real code runs it
//! ([`world`]: the device, the host's interruption handler and work item,
//! QEMU's I/O thread and vCPU, interleaved by a seeded scheduler), puts it
//! behind [`gate::driver::Channel`], and runs [`gate::driver::Driver`] with
//! [`gate::oracle::Oracle`] against it unchanged: the very code that runs in
//! the guest kernel. What the guest sees emerges from the mechanism; the
//! [`Variant`]s differ only where the upstream commits differ.
//!
//! Two ways to run it:
//! - [`run`]: one timed run per seed (latencies drawn from [`Latencies`]);
//!   many seeds give detection rates and iterations to detection.
//! - [`exhaustive`] / [`exhaustive_setup`]: every interleaving of a short
//!   run (any channel-I/O scenario, a few iterations), depth-first with a
//!   preemption bound, counting the ones that FAIL.
//!
//! Both take the kernel's [`Config`], best built by the kernel's own
//! command-line parser ([`kernel_config`]), so that every token means in
//! the model what it means in the guest.

pub mod sched;
pub mod variant;
pub mod world;

use std::collections::BTreeMap;

use gate::accel::Accel;
use gate::cmdline::{Config, Scenario};
use gate::driver::{Driver, Failure, Summary};

pub use sched::{Dfs, Sched};
pub use variant::{Base, Change, Variant};
pub use world::{Latencies, Mechanism, Range, Unsolicited, UnsolicitedKind, World, SID, US};

/// The kernel's channel-I/O scenarios, which the model runs: gate's
/// [`Scenario::CHANNEL_IO`].
pub const IO_SCENARIOS: [Scenario; Scenario::CHANNEL_IO.len()] = Scenario::CHANNEL_IO;

/// Host CPUs the model gives the host's contexts.
pub const HOST_CPUS: usize = 2;

/// Everything one run needs besides its seed.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub variant: Variant,
    pub latencies: Latencies,
    pub host_cpus: usize,
    /// Percent of completions whose device end the device presents
    /// separately (timed runs only).
    pub split_percent: u32,
    /// Status the device presents on its own (off by default).
    pub unsolicited: Unsolicited,
    /// What the kernel's command line would say; `seed` is replaced per run
    /// (timed runs).
    pub config: Config,
    /// The guest's vCPU keeps a host CPU while it spins ([`World::vcpu_spins`]).
    pub vcpu_spins: bool,
    /// The accelerator under the guest ([`World::tcg`]); the oracle judges
    /// under it unless the command line says otherwise (`accel=`), as the
    /// kernel finds it itself.
    pub accel: Accel,
}

impl Setup {
    pub fn new(variant: Variant, config: Config) -> Self {
        Setup {
            variant,
            latencies: Latencies::default(),
            host_cpus: HOST_CPUS,
            split_percent: 0,
            unsolicited: Unsolicited::OFF,
            config,
            vcpu_spins: false,
            accel: Accel::Kvm,
        }
    }

    /// The kernel's configuration for a run with `seed`: `accel=auto`
    /// found to be the world's accelerator.
    pub fn guest_config(&self, seed: u64) -> Config {
        Config {
            seed,
            accel: self.config.accel.or(Some(self.accel)),
            ..self.config
        }
    }

    /// A world for this setup, its seed and scheduler.
    fn world(&self, seed: u64, sched: Sched) -> World {
        let mut world = World::new(self.variant, self.latencies, self.host_cpus, seed, sched);
        world.tcg = self.accel == Accel::Tcg;
        world.mode = self.config.mode;
        world.vcpu_spins = self.vcpu_spins;
        world.set_unsolicited(self.unsolicited);
        world
    }
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Boxed: a summary carries the latency histogram.
    Pass(Box<Summary>),
    Fail(Failure),
    /// The kernel's ERROR: the violation is the environment's doing
    /// ([`Failure::environment`]: a device busy, a unit check of the
    /// device's own), not the host's.
    Error(Failure),
    /// Every interruption was allowed, but `require_race` is in force and
    /// the race steps never reached what is named (the kernel's ERROR
    /// `race-not-exercised`).
    NotExercised(Box<Summary>, &'static str),
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub seed: u64,
    pub outcome: Outcome,
    /// Iterations run, the failing one included.
    pub iterations: u32,
    /// What happened inside the host, seen or not.
    pub mechanism: Mechanism,
}

impl RunResult {
    pub fn failure(&self) -> Option<&Failure> {
        match &self.outcome {
            Outcome::Fail(f) => Some(f),
            _ => None,
        }
    }

    /// The summary of a run that ended without a violation.
    pub fn summary(&self) -> Option<&Summary> {
        match &self.outcome {
            Outcome::Pass(s) | Outcome::NotExercised(s, _) => Some(s),
            Outcome::Fail(_) | Outcome::Error(_) => None,
        }
    }

    /// The environment's ERROR that ended the run, if any.
    pub fn error(&self) -> Option<&Failure> {
        match &self.outcome {
            Outcome::Error(f) => Some(f),
            _ => None,
        }
    }
}

/// Default delay sweep for the model: CLEAR or HALT from 0 to twice the
/// device's typical start-to-status time, in 128 steps.
pub fn default_sweep(lat: &Latencies) -> gate::cmdline::DelaySweep {
    gate::cmdline::DelaySweep::up_to(2 * lat.start_to_status(), 128)
}

/// One timed run of `setup` with `seed`.
pub fn run(setup: &Setup, seed: u64) -> RunResult {
    timed(setup, seed, false).0
}

/// One timed run with the world's step log (for `--trace`).
pub fn run_logged(setup: &Setup, seed: u64) -> (RunResult, Vec<String>) {
    timed(setup, seed, true)
}

fn timed(setup: &Setup, seed: u64, log: bool) -> (RunResult, Vec<String>) {
    let config = setup.guest_config(seed);
    let mut world = setup.world(seed, Sched::Timed);
    world.split_percent = setup.split_percent;
    logged(world, &config, log)
}

/// Drives `world` with `config`, keeping its step log if `log`.
fn logged(mut world: World, config: &Config, log: bool) -> (RunResult, Vec<String>) {
    if log {
        world.log = Some(Vec::new());
    }
    let r = drive(&mut world, config, config.seed);
    (r, world.log.take().unwrap_or_default())
}

fn drive(world: &mut World, config: &Config, seed: u64) -> RunResult {
    let outcome = {
        let mut driver = Driver::new(&mut *world, config);
        match driver.run(|_| {}) {
            Ok(summary) => match driver.missing_race(&summary) {
                Some(missing) => Outcome::NotExercised(Box::new(summary), missing),
                None => Outcome::Pass(Box::new(summary)),
            },
            Err(failure) if failure.environment.is_some() => Outcome::Error(failure),
            Err(failure) => Outcome::Fail(failure),
        }
    };
    let iterations = match &outcome {
        Outcome::Pass(s) | Outcome::NotExercised(s, _) => s.iterations,
        Outcome::Fail(f) | Outcome::Error(f) => f.iteration + 1,
    };
    RunResult {
        seed,
        outcome,
        iterations,
        mechanism: world.mech,
    }
}

/// What [`exhaustive`] found.
#[derive(Clone, Debug, Default)]
pub struct Exhaustive {
    /// Interleavings run.
    pub runs: u64,
    pub failing: u64,
    /// Failing interleavings per `(class, what)`.
    pub classes: BTreeMap<(&'static str, &'static str), u64>,
    /// Interleavings in which the host raced ([`Mechanism::raced`]).
    pub raced: u64,
    /// Interleavings in which each host-internal event happened at least
    /// once, by [`Mechanism::EVENTS`] name.
    pub events: BTreeMap<&'static str, u64>,
    /// Interleavings that ended in the environment's ERROR (not failing).
    pub errors: u64,
    /// Runs that hit the depth bound.
    pub truncated: u64,
    /// False when `max_runs` stopped the enumeration early.
    pub complete: bool,
    /// The scheduler's choices of the first failing interleaving.
    pub first_failing: Option<Vec<u16>>,
    /// The failing interleaving with the fewest steps (the first of them
    /// in enumeration order): its step count and the scheduler's choices,
    /// for [`replay`].
    pub shortest_failing: Option<(u64, Vec<u16>)>,
}

/// Bounds of [`exhaustive`].
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub preemptions: u32,
    pub depth: usize,
    pub max_runs: u64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            preemptions: 2,
            depth: 400,
            max_runs: 2_000_000,
        }
    }
}

/// The kernel's command-line parser (`gate::cmdline::parse`) on `line`, its
/// rejection as the message the kernel's ERROR verdict would name.
pub fn kernel_config(line: &str) -> Result<Config, String> {
    gate::cmdline::parse(line.as_bytes()).map_err(|e| {
        format!(
            "kernel option `{}` rejected: {:?}",
            String::from_utf8_lossy(e.token),
            e.kind
        )
    })
}

/// The default exhaustive scenario: `csch-race` for one iteration at delay 0 (after
/// the baseline SENSE ID, START, CLEAR, START), in which the scheduler, not
/// a delay, decides where the CLEAR lands relative to the start's completion.
pub fn exhaustive_config(seed: u64) -> Config {
    Config {
        scenario: Scenario::CschRace,
        seed,
        iterations: Some(1),
        delay: gate::cmdline::DelaySweep::new(0, 0, 1).expect("valid"),
        ..Config::DEFAULT
    }
}

/// Runs every interleaving of `config` on `variant` within `bounds`,
/// calling `progress` with the number of runs so far. The same as
/// [`exhaustive_setup`] with [`Setup::new`]`(variant, *config)`.
pub fn exhaustive(
    variant: Variant,
    config: &Config,
    bounds: Bounds,
    progress: impl FnMut(u64),
) -> Exhaustive {
    exhaustive_setup(&Setup::new(variant, *config), bounds, progress)
}

/// The world of one interleaving of `setup` under `sched`.
fn dfs_world(setup: &Setup, sched: Sched) -> World {
    setup.world(setup.config.seed, sched)
}

/// Runs every interleaving of `setup` (its variant, its config: scenario,
/// iterations, every kernel token; its seed is `setup.config.seed`) within
/// `bounds`, calling `progress` with the number of runs so far. Latencies
/// only order nothing here: every step takes its minimum.
pub fn exhaustive_setup(
    setup: &Setup,
    bounds: Bounds,
    mut progress: impl FnMut(u64),
) -> Exhaustive {
    let config = &setup.guest_config(setup.config.seed);
    let mut report = Exhaustive::default();
    let mut dfs = Dfs::new(bounds.preemptions, bounds.depth);
    loop {
        dfs.begin();
        let mut world = dfs_world(setup, Sched::Dfs(dfs));
        let result = drive(&mut world, config, config.seed);
        let steps = world.steps();
        let Sched::Dfs(d) = std::mem::replace(&mut world.sched, Sched::Timed) else {
            unreachable!("the world keeps its scheduler");
        };
        dfs = d;
        report.runs += 1;
        if result.mechanism.raced() {
            report.raced += 1;
        }
        for (name, n) in result.mechanism.events() {
            if n > 0 {
                *report.events.entry(name).or_default() += 1;
            }
        }
        if result.error().is_some() {
            report.errors += 1;
        }
        if let Some(f) = result.failure() {
            report.failing += 1;
            *report
                .classes
                .entry((f.violation.class.name(), f.violation.what))
                .or_default() += 1;
            if report.first_failing.is_none() {
                report.first_failing = Some(dfs.schedule());
            }
            if report
                .shortest_failing
                .as_ref()
                .is_none_or(|(fewest, _)| steps < *fewest)
            {
                report.shortest_failing = Some((steps, dfs.schedule()));
            }
        }
        progress(report.runs);
        if report.runs >= bounds.max_runs {
            report.complete = false;
            break;
        }
        if !dfs.advance() {
            report.complete = true;
            break;
        }
    }
    report.truncated = dfs.truncated;
    report
}

/// Replays one interleaving of [`exhaustive`] (its `first_failing`
/// schedule) with the world's step log.
pub fn replay(
    variant: Variant,
    config: &Config,
    preemptions: u32,
    schedule: &[u16],
) -> (RunResult, Vec<String>) {
    replay_setup(&Setup::new(variant, *config), preemptions, schedule)
}

/// [`replay`] for an interleaving of [`exhaustive_setup`].
pub fn replay_setup(setup: &Setup, preemptions: u32, schedule: &[u16]) -> (RunResult, Vec<String>) {
    let world = dfs_world(setup, Sched::Dfs(Dfs::replay(schedule, preemptions)));
    logged(world, &setup.guest_config(setup.config.seed), true)
}
