//! The scenario driver: turns a [`Config`] into channel instructions, feeds
//! every instruction and interruption to the [`Oracle`] in the order they
//! happened, checks the data the device wrote, and keeps the evidence.
//!
//! It reaches the machine only through [`Channel`] (the instructions) and
//! [`Status`] (where status comes from), so the very same code runs
//! in the guest kernel against real instructions and on the host against the
//! models in [`crate::sim`].
//!
//! The driver is split by what each part does, each file adding the
//! `impl Driver` methods for its part:
//! - `io.rs`: issuing and collecting: START, CLEAR and HALT SUBCHANNEL (with
//!   the retries of a start), the waits for status (the race window,
//!   settling, draining), and feeding every instruction and interruption to
//!   the oracle, or with `checks=none` to the tracker that stands in for it,
//!   in the order they happened, recorded in the trace;
//! - `area.rs`: the I/O areas, the channel programs built into them, and
//!   what is checked in them when an operation ends (guards, data, SENSE ID,
//!   residual counts, writes into a program that already ended, starts that
//!   never begin);
//! - `environment.rs`: a violation made a [`Failure`], and whether it was
//!   the environment's doing (a device gone, busy or reporting its own unit
//!   check, whose sense bytes are read) rather than the host's;
//! - this file: the constants, the [`Channel`] and [`Status`] the driver reaches the
//!   machine through, the results ([`Summary`], [`Landed`], [`Failure`]),
//!   the [`Driver`] itself with its entry points, and the scenario steps.

use crate::cmdline::{Config, DelaySweep, Scenario};
use crate::css::{Cc, Orb, SenseId};
use crate::oracle::{violation, Deviations, Interruption, Oracle, Violation};
use crate::rng::Rng;
use crate::stats::Latency;
use crate::trace::{Event, Ring};
use io::Tracker;

mod area;
mod environment;
mod io;
#[cfg(test)]
mod test_util;

pub use area::{IoArea, ProgramKind};

pub const MAX_CCWS: usize = 8;
pub const DATA_LEN: usize = 256;
pub const GUARD_LEN: usize = 64;
/// Canary around the data buffer: a device never writes outside its count.
pub const GUARD_BYTE: u8 = 0xa5;
/// Data-buffer contents before an operation; NOP must leave them alone.
pub const DATA_FILL: u8 = 0x5a;
/// Bytes SENSE ID asks for: enough for the identification proper, and the
/// suppress-length flag makes shorter answers fine.
pub const SENSE_ID_COUNT: u16 = 32;
/// Interruption parameter the kernel enables the subchannel with.
pub const ENABLE_INTPARM: u32 = 0xccc0_0000;
pub const TRACE_LEN: usize = 48;
/// A deadline that has always passed: [`Status::next_interruption`] then
/// hands out what is there and does not wait.
pub const NOW: u64 = 0;

/// What STORE SUBCHANNEL says of the device under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceState {
    Present,
    /// cc 3, or no valid device number: the device went away.
    Gone,
    /// The device is there, but no channel path to it is installed,
    /// available and operational.
    NoPath,
}

/// Bytes a SENSE after a unit check asks for (basic sense is 24 or 32).
pub const SENSE_COUNT: u16 = 32;

/// What the driver needs from the machine: the instructions. Where status
/// comes from is the other half, [`Status`]; the driver takes one value
/// implementing both.
pub trait Channel {
    /// The subchannel ID under test.
    fn sid(&self) -> u32;
    /// Gate's copy of I/O area `slot` (0 or 1), where the driver builds
    /// each program and reads what its operation left, and the absolute
    /// address of the area the device sees. Where the device's memory is
    /// not this copy (the kernel's: a host may store into it at any time,
    /// so it is never behind a reference), [`Channel::publish`] and
    /// [`Channel::observe`] carry the copy there and back.
    fn area(&mut self, slot: usize) -> (&mut IoArea, u32);
    /// The driver built a program into `area(slot)`: its CCWs, and of the
    /// data `data[..n]` for `refilled` `Some(n)` or, for `None`, all of it
    /// and both guards. Copies those to the device's memory before the
    /// start (the kernel copies the CCWs in [`Channel::ssch`], as it
    /// checks them), and nothing else: what the device
    /// stored elsewhere in the area stays, for the end of the operation to
    /// find. Nothing to do where `area` is the device's memory itself.
    fn publish(&mut self, slot: usize, refilled: Option<usize>);
    /// The driver is about to read `area(slot)`, in which a program ran or
    /// may have run: copies the device's memory into it. Nothing to do
    /// where `area` is the device's memory itself.
    fn observe(&mut self, slot: usize);
    fn ssch(&mut self, orb: &Orb) -> Cc;
    fn csch(&mut self) -> Cc;
    fn hsch(&mut self) -> Cc;
    /// The TOD clock.
    fn tod(&self) -> u64;
    /// Hears every event as it is recorded, when `verbose=3` asks for it.
    fn log(&mut self, _event: &Event) {}
    /// STORE SUBCHANNEL's view of the device, asked when an instruction or
    /// a status says "not operational".
    fn device_state(&mut self) -> DeviceState {
        DeviceState::Present
    }
}

/// Where the driver's status comes from: how it is collected is the
/// implementation's business, chosen once when it is made.
pub trait Status {
    /// The next interruption for any subchannel, in the order the status was
    /// collected, or `None` once the TOD clock passes `deadline`. Status must
    /// not be collected outside this call, so that the oracle sees
    /// instructions and interruptions in their true order.
    /// A deadline already passed ([`NOW`]) still takes what is there.
    fn next_interruption(&mut self, deadline: u64) -> Option<Interruption>;
    /// An interruption whose status was already collected (by an
    /// interruption handler) but not yet handed out, without waiting or
    /// unmasking anything. The driver empties these before every
    /// instruction, so that status taken before an instruction is never
    /// judged as if it came after it.
    fn collected(&mut self) -> Option<Interruption>;
    /// Whether START SUBCHANNEL's condition code tells everything a drain
    /// would collect before it: the source sees no status but this
    /// subchannel's own, and that only through TEST SUBCHANNEL (no
    /// interruptions), so status left pending makes the next START cc 1,
    /// and the driver takes and judges it then. The drain between
    /// iterations is then left to the next START (CLEAR, which would
    /// withdraw the status unseen, and HALT, and the end of the run still
    /// drain first).
    fn start_reveals_pending(&self) -> bool {
        false
    }
}

impl<T: Channel + ?Sized> Channel for &mut T {
    fn sid(&self) -> u32 {
        (**self).sid()
    }
    fn area(&mut self, slot: usize) -> (&mut IoArea, u32) {
        (**self).area(slot)
    }
    fn publish(&mut self, slot: usize, refilled: Option<usize>) {
        (**self).publish(slot, refilled)
    }
    fn observe(&mut self, slot: usize) {
        (**self).observe(slot)
    }
    fn ssch(&mut self, orb: &Orb) -> Cc {
        (**self).ssch(orb)
    }
    fn csch(&mut self) -> Cc {
        (**self).csch()
    }
    fn hsch(&mut self) -> Cc {
        (**self).hsch()
    }
    fn tod(&self) -> u64 {
        (**self).tod()
    }
    fn log(&mut self, event: &Event) {
        (**self).log(event)
    }
    fn device_state(&mut self) -> DeviceState {
        (**self).device_state()
    }
}

impl<T: Status + ?Sized> Status for &mut T {
    fn next_interruption(&mut self, deadline: u64) -> Option<Interruption> {
        (**self).next_interruption(deadline)
    }
    fn collected(&mut self) -> Option<Interruption> {
        (**self).collected()
    }
    fn start_reveals_pending(&self) -> bool {
        (**self).start_reveals_pending()
    }
}

/// Counts and latencies of a run that ended without a violation.
#[derive(Clone, Debug)]
pub struct Summary {
    pub iterations: u32,
    pub starts: u32,
    pub clears: u32,
    pub halts: u32,
    pub interruptions: u32,
    pub unsolicited: u32,
    /// Known upstream deviations accepted under `host=vfio-ccw`.
    pub deviations: Deviations,
    /// Where the race steps' CLEARs and HALTs landed.
    pub landed: Landed,
    /// Starts whose channel end and device end came separately.
    pub split: u32,
    /// Interruptions excused because their status was already taken.
    pub withdrawn: u32,
    /// HALTs issued while a start was outstanding (the oracle's halt of a
    /// start: its status may end the start, or leave its device end due).
    pub halted_starts: u32,
    /// CLEARs issued while another operation was outstanding (its status
    /// withdrawn).
    pub cleared_ops: u32,
    /// Starts that ended with alert status and deferred cc 1 before the
    /// device accepted them.
    pub not_initiated: u32,
    /// The delay sweep the race steps used (measured with `delay=auto`).
    pub sweep: crate::cmdline::DelaySweep,
    /// Start-to-final-status latency of completed starts, TOD units.
    pub latency: Latency,
}

impl Summary {
    /// Adds what another subchannel's driver counted (several subchannels:
    /// one verdict). The sweep stays this one's.
    pub fn absorb(&mut self, other: &Summary) {
        self.iterations += other.iterations;
        self.starts += other.starts;
        self.clears += other.clears;
        self.halts += other.halts;
        self.interruptions += other.interruptions;
        self.unsolicited += other.unsolicited;
        self.deviations.add(&other.deviations);
        let (l, o) = (&mut self.landed, &other.landed);
        l.before += o.before;
        l.running += o.running;
        l.window += o.window;
        l.after += o.after;
        self.split += other.split;
        self.withdrawn += other.withdrawn;
        self.halted_starts += other.halted_starts;
        self.cleared_ops += other.cleared_ops;
        self.not_initiated += other.not_initiated;
        self.latency.merge(&other.latency);
    }
}

/// Where a race step's CLEAR or HALT landed relative to the start it
/// raced, as far as the guest can tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Landed {
    /// Before the start began (a halt ending it with deferred cc 1).
    pub before: u32,
    /// While it ran: issued earlier after the start than any start has
    /// ever completed.
    pub running: u32,
    /// In the completion window: the start still outstanding, but issued
    /// at least as late as the fastest start-to-status time measured, or
    /// the host showed a deviation that only this window produces.
    pub window: u32,
    /// After the start's status was taken.
    pub after: u32,
}

impl Landed {
    pub fn total(&self) -> u32 {
        self.before + self.running + self.window + self.after
    }
}

impl core::fmt::Display for Landed {
    /// `before:N,running:N,window:N,after:N`: a verdict value.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "before:{},running:{},window:{},after:{}",
            self.before, self.running, self.window, self.after
        )
    }
}

/// Why a run whose every interruption was allowed still proves nothing
/// about the race: `Some(what was missing)` when `require_race` is in
/// force for this run and its race steps never reached the completion
/// window.
pub fn race_not_exercised(
    config: &Config,
    summary: &Summary,
    kind: DeviceKind,
) -> Option<&'static str> {
    let required = config.require_race.unwrap_or(match kind {
        DeviceKind::Emulated => false,
        DeviceKind::AsyncTestdev => true,
        DeviceKind::Real => config.host == crate::cmdline::Host::VfioCcw,
    });
    // Without checks nothing is judged, the race included.
    if !required || !config.checks || !config.scenario.races() || summary.landed.total() == 0 {
        return None;
    }
    if summary.landed.window == 0 {
        Some("window")
    } else if summary.landed.after == 0 {
        Some("after")
    } else {
        None
    }
}

/// What a device is, by its SENSE ID: whether its runs must reach the
/// race (`require_race`'s default, [`race_not_exercised`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// One of QEMU's emulated CCW devices (virtio-ccw answers SENSE ID with
    /// control-unit type 0x3832), which run each channel program inside
    /// SSCH and so never race.
    Emulated,
    /// ccwgate's own QEMU device, `ccwgate-testdev` (control-unit type
    /// [`ASYNC_TESTDEV_CU_TYPE`], patches/qemu-testdev/,
    /// docs/async-device.md): it runs each channel program after a latency,
    /// so a race scenario reaches the race on it in every profile.
    AsyncTestdev,
    /// Any other: a real device behind the host.
    Real,
}

/// `ccwgate-testdev`'s control-unit type (its `cu-type` property's
/// default; no IBM control unit has it).
pub const ASYNC_TESTDEV_CU_TYPE: u16 = 0xcc90;

/// The kind of device that answered SENSE ID with `id`.
pub fn device_kind(id: &SenseId) -> DeviceKind {
    match id.cu_type {
        0x3832 => DeviceKind::Emulated,
        ASYNC_TESTDEV_CU_TYPE => DeviceKind::AsyncTestdev,
        _ => DeviceKind::Real,
    }
}

/// Whether `id` is one of QEMU's emulated CCW devices
/// ([`DeviceKind::Emulated`]).
pub fn is_emulated(id: &SenseId) -> bool {
    device_kind(id) == DeviceKind::Emulated
}

/// The first violation, with where in the run it happened.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    pub violation: Violation,
    pub iteration: u32,
    pub delay: u32,
    pub sid: u32,
    /// Deviations accepted before the failure (`host=vfio-ccw`).
    pub deviations: Deviations,
    /// Set when the violation was the environment's doing, an ERROR with
    /// this reason: `device-gone` (not operational, and STORE SUBCHANNEL
    /// shows the device gone or pathless), `device-busy` (busy, or never
    /// lets a start begin) or `device-error` (the device's own unit check;
    /// [`Driver::sense`] has its sense bytes).
    pub environment: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Landing {
    Before,
    Running,
    Window,
    After,
}

/// Starts that measure the latency for `delay=auto`.
const WARM_UP: u32 = 16;

named_enum! {
    /// One step of a scenario, as chosen for an iteration (`mixed` picks
    /// one of all).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Step {
        Ssch,
        CschRace,
        HschRace,
        CschIdle,
    }
}

/// Iterations a scenario runs when the command line does not say.
pub fn default_iterations(scenario: Scenario) -> u32 {
    match scenario {
        Scenario::Selftest | Scenario::Crash | Scenario::Smoke | Scenario::Conformance => 1,
        Scenario::Ssch
        | Scenario::CschRace
        | Scenario::HschRace
        | Scenario::CschIdle
        | Scenario::Mixed => 2000,
    }
}

pub struct Driver<C: Channel + Status> {
    chan: C,
    config: Config,
    oracle: Oracle,
    rng: Rng,
    trace: Ring<Event, TRACE_LEN>,
    t0: u64,
    iteration: u32,
    delay: u32,
    next_intparm: u32,
    /// Top byte of every start's interruption parameter (0: the full range).
    intparm_base: u32,
    slot: usize,
    /// Program and fingerprint of each area once its operation has ended.
    /// (fingerprint, its `fill_word`).
    settled: [Option<(u64, usize)>; 2],
    /// Per area: the checks at its operation's end found its guards intact
    /// and `data[n..]` still [`DATA_FILL`] (`None`: not known), so the next
    /// build refills only `data[..n]`.
    clean_from: [Option<usize>; 2],
    /// The drain after the last iteration is left to the next START
    /// ([`Status::start_reveals_pending`]).
    drain_owed: bool,
    /// The ORB of every start ([`Orb::format1`]), kept rather than built
    /// for each.
    orb: Orb,
    in_flight: Option<ProgramKind>,
    /// Starts in a row that ended before their program began.
    starts_not_initiated: u32,
    baseline: Option<SenseId>,
    /// The state `checks=none` keeps instead of the oracle's.
    tracker: Tracker,
    /// Sense bytes after a unit check, and how many.
    sense: ([u8; SENSE_COUNT as usize], u8),
    summary: Summary,
}

impl<C: Channel + Status> Driver<C> {
    /// A driver for `chan`: a [`Channel`] and [`Status`] it owns, or `&mut` one.
    pub fn new(chan: C, config: &Config) -> Self {
        let sid = chan.sid();
        let t0 = chan.tod();
        Driver {
            chan,
            config: *config,
            oracle: Oracle::new(sid, ENABLE_INTPARM)
                .with_host(config.host)
                .with_accel(config.accel.unwrap_or_default()),
            rng: Rng::new(config.seed),
            trace: Ring::new(Event::EMPTY),
            t0,
            iteration: 0,
            delay: 0,
            next_intparm: 1,
            intparm_base: 0,
            slot: 0,
            settled: [None; 2],
            clean_from: [None; 2],
            drain_owed: false,
            orb: Orb::format1(0, 0),
            in_flight: None,
            starts_not_initiated: 0,
            baseline: None,
            tracker: Tracker::default(),
            sense: ([0; SENSE_COUNT as usize], 0),
            summary: Summary {
                iterations: 0,
                starts: 0,
                clears: 0,
                halts: 0,
                interruptions: 0,
                unsolicited: 0,
                deviations: Deviations::ZERO,
                landed: Landed {
                    before: 0,
                    running: 0,
                    window: 0,
                    after: 0,
                },
                split: 0,
                withdrawn: 0,
                halted_starts: 0,
                cleared_ops: 0,
                not_initiated: 0,
                sweep: config.delay,
                latency: Latency::new(),
            },
        }
    }

    /// The most recent events, oldest first: the evidence of a failure.
    pub fn trace(&self) -> &Ring<Event, TRACE_LEN> {
        &self.trace
    }

    pub fn baseline(&self) -> Option<SenseId> {
        self.baseline
    }

    /// Interruption parameters of this driver's starts carry `base` in
    /// their top byte (several subchannels: each driver its own, so that
    /// status presented for the wrong subchannel can be told by its
    /// parameter). `base` must not be [`ENABLE_INTPARM`]'s top byte.
    pub fn with_intparm_base(mut self, base: u8) -> Self {
        self.intparm_base = u32::from(base) << 24;
        self.next_intparm = self.intparm_base | 1;
        self
    }

    /// Runs the configured scenario; `progress` hears each finished iteration.
    pub fn run(&mut self, mut progress: impl FnMut(u32)) -> Result<Summary, Failure> {
        self.prepare()?;
        if self.config.scenario == Scenario::Smoke {
            progress(1);
        } else {
            for i in 0..self.iterations() {
                self.iterate(i)?;
                progress(i + 1);
            }
        }
        Ok(self.finish())
    }

    /// Iterations the configured scenario runs.
    pub fn iterations(&self) -> u32 {
        self.config
            .iterations
            .unwrap_or(default_iterations(self.config.scenario))
    }

    /// What every scenario does first: learn what the device says it is
    /// (a start that does not begin is tried again, at most
    /// MAX_NOT_INITIATED times in a row, then operation_ended fails), and
    /// with `delay=auto` size the race sweep.
    pub fn prepare(&mut self) -> Result<(), Failure> {
        while self.baseline.is_none() {
            self.start(ProgramKind::SenseId)?;
            self.settle()?;
        }
        if self.config.delay_auto && self.config.scenario.races() {
            self.size_the_sweep()?;
        }
        self.summary.sweep = self.config.delay;
        Ok(())
    }

    /// Iteration `i` of the scenario: one step, then whatever status is
    /// still pending is judged.
    pub fn iterate(&mut self, i: u32) -> Result<(), Failure> {
        self.iteration = i;
        // Every scenario named: a new one does not compile until it is
        // given its steps here (and a place in `Scenario::channel_io`).
        let step = match self.config.scenario {
            Scenario::Ssch => Step::Ssch,
            Scenario::CschRace => Step::CschRace,
            Scenario::HschRace => Step::HschRace,
            Scenario::CschIdle => Step::CschIdle,
            Scenario::Mixed => Step::ALL[self.rng.below(Step::ALL.len() as u32) as usize],
            // `smoke` is the set-up's SENSE ID alone; the others do not run
            // the driver's iterations (the kernel sends them elsewhere).
            Scenario::Smoke | Scenario::Selftest | Scenario::Crash | Scenario::Conformance => {
                return Ok(())
            }
        };
        // Only the race steps have a window for the delay to size.
        self.delay = match (step, self.config.scenario) {
            (Step::Ssch | Step::CschIdle, _) => 0,
            (_, Scenario::Mixed) => {
                let sweep = self.config.delay;
                sweep.nth(self.rng.below(sweep.len()))
            }
            _ => self.config.delay.nth(i),
        };
        self.step(step)?;
        self.drain()?;
        self.summary.iterations += 1;
        Ok(())
    }

    /// Several subchannels: a start left running on this one while another
    /// subchannel runs iteration `i`; [`Driver::settle_background`] ends it.
    pub fn start_background(&mut self, i: u32) -> Result<(), Failure> {
        self.iteration = i;
        self.delay = 0;
        let program = self.pick_program();
        self.start(program)
    }

    /// Takes the status of a [`Driver::start_background`] start.
    pub fn settle_background(&mut self) -> Result<(), Failure> {
        self.settle()?;
        self.drain()
    }

    /// The summary of what ran, with the oracle's counters.
    pub fn finish(&mut self) -> Summary {
        if self.config.scenario == Scenario::Smoke {
            self.summary.iterations = 1;
        }
        let stats = self.oracle.stats();
        self.summary.unsolicited = stats.unsolicited as u32;
        self.summary.split = stats.starts_two_part as u32;
        self.summary.withdrawn = stats.withdrawn as u32;
        self.summary.halted_starts = stats.halts_of_start as u32;
        self.summary.cleared_ops = stats.clears_of_op as u32;
        self.summary.not_initiated = stats.starts_not_initiated as u32;
        self.summary.deviations = *self.oracle.deviations();
        self.summary.clone()
    }

    /// `delay=auto`: a short warm-up of SENSE IDs measures the
    /// start-to-status latency, and the sweep runs from 0 to twice its
    /// median in 64 steps, so CLEAR and HALT land before, during and just
    /// after completion.
    fn size_the_sweep(&mut self) -> Result<(), Failure> {
        for _ in 0..WARM_UP {
            self.start(ProgramKind::SenseId)?;
            self.settle()?;
        }
        if let Some((_, median, _)) = self.summary.latency.summary() {
            self.config.delay = DelaySweep::up_to(median.saturating_mul(2), 64);
        }
        Ok(())
    }

    /// Where a race step's CLEAR or HALT is about to land.
    fn landing(&self) -> Landing {
        if !self.outstanding() {
            return Landing::After;
        }
        let fastest = self.summary.latency.min();
        if fastest.is_some_and(|min| u64::from(self.delay) >= min) {
            Landing::Window
        } else {
            Landing::Running
        }
    }

    fn step(&mut self, step: Step) -> Result<(), Failure> {
        let program = self.pick_program();
        match step {
            Step::Ssch => {
                self.start(program)?;
                self.settle()
            }
            Step::CschRace | Step::HschRace => {
                self.start(program)?;
                self.window()?;
                let landing = self.landing();
                let before = (
                    self.oracle.deviations().host_total(),
                    self.oracle.stats().starts_not_initiated,
                );
                if step == Step::CschRace {
                    self.clear()?;
                } else {
                    self.halt()?;
                }
                self.settle()?;
                // What the host showed refines the guess: a deviation only
                // a status taken after completion produces (the host's; the
                // emulator's says nothing of the race), or a start that
                // never began.
                let landing = if self.oracle.stats().starts_not_initiated > before.1 {
                    Landing::Before
                } else if self.oracle.deviations().host_total() > before.0 {
                    Landing::Window
                } else {
                    landing
                };
                let l = &mut self.summary.landed;
                match landing {
                    Landing::Before => l.before += 1,
                    Landing::Running => l.running += 1,
                    Landing::Window => l.window += 1,
                    Landing::After => l.after += 1,
                }
                // The racy moment: a new start right after the previous
                // operation's final status was taken.
                let next = self.pick_program();
                self.start(next)?;
                self.settle()
            }
            Step::CschIdle => {
                self.clear()?;
                self.settle()?;
                self.start(program)?;
                self.settle()
            }
        }
    }

    fn pick_program(&mut self) -> ProgramKind {
        match self.rng.below(4) {
            0 | 1 => ProgramKind::SenseId,
            2 => ProgramKind::Nop,
            _ => ProgramKind::NopChain(2 + self.rng.below(MAX_CCWS as u32 - 1) as u8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;
    use crate::oracle::Class;
    use crate::sim::{DeviceEvent, HostBug, Sim};
    use crate::trace::EventKind;
    use std::vec::Vec;

    /// Every scenario that does channel I/O.
    fn io_scenarios() -> impl Iterator<Item = Scenario> {
        Scenario::ALL.into_iter().filter(|s| {
            !matches!(
                s,
                Scenario::Selftest | Scenario::Crash | Scenario::Conformance
            )
        })
    }

    /// The iterations start something in exactly the channel-I/O
    /// scenarios, the list the model, the end-to-end tests and the runner
    /// take from gate; the others end after the set-up.
    #[test]
    fn iterations_run_steps_in_exactly_the_channel_io_scenarios() {
        for s in Scenario::ALL.into_iter().filter(|s| s.needs_device()) {
            let starts = |n| run(&mut Sim::new(SID), &config(s, 3, n)).unwrap().starts;
            assert_eq!(starts(20) > starts(1), s.channel_io(), "{}", s.name());
        }
    }

    #[test]
    fn summaries_absorb_every_count() {
        let mut sim = Sim::with_device_event(SID, crate::sim::DeviceEvent::SplitEnding, 2);
        let one = run(&mut sim, &config(Scenario::Mixed, 2, 200)).unwrap();
        let mut two = one.clone();
        two.absorb(&one);
        let pairs = [
            (one.iterations, two.iterations),
            (one.starts, two.starts),
            (one.clears, two.clears),
            (one.halts, two.halts),
            (one.interruptions, two.interruptions),
            (one.split, two.split),
            (one.landed.total(), two.landed.total()),
        ];
        for (n, (a, b)) in pairs.into_iter().enumerate() {
            assert!(a > 1 && b == 2 * a, "count {n}: {a} then {b}");
        }
        let mut d = one.clone();
        d.unsolicited = 3;
        d.withdrawn = 4;
        d.halted_starts = 5;
        d.cleared_ops = 6;
        d.not_initiated = 7;
        d.landed = Landed {
            before: 1,
            running: 3,
            window: 5,
            after: 7,
        };
        let mut e = d.clone();
        e.absorb(&d);
        assert_eq!((e.unsolicited, e.withdrawn), (6, 8));
        assert_eq!(
            (e.halted_starts, e.cleared_ops, e.not_initiated),
            (10, 12, 14)
        );
        let landed = Landed {
            before: 2,
            running: 6,
            window: 10,
            after: 14,
        };
        assert_eq!(e.landed, landed);
        assert_eq!(e.latency.count(), 2 * one.latency.count());
        // The default channel hides nothing a START would not reveal.
        assert!(!Status::start_reveals_pending(&Sim::new(SID)));
    }

    /// `verbose=3`: the channel hears every event the trace records, as it
    /// is recorded; below that, none.
    #[test]
    fn verbose_3_logs_every_recorded_event_to_the_channel() {
        let c = Config {
            verbose: 3,
            ..config(Scenario::Mixed, 4, 30)
        };
        let mut k = Kernelish::new(Sim::new(SID));
        let mut d = Driver::new(&mut k, &c);
        d.run(|_| {}).unwrap();
        let trace: Vec<Event> = d.trace().iter().copied().collect();
        let total = d.trace().total();
        assert_eq!(k.logged.len() as u64, total);
        assert!(k.logged.ends_with(&trace), "the log ends as the trace");
        let mut k = Kernelish::new(Sim::new(SID));
        let c = Config { verbose: 2, ..c };
        Driver::new(&mut k, &c).run(|_| {}).unwrap();
        assert!(k.logged.is_empty());
    }

    /// Status an interruption handler took before an instruction is fed
    /// to the oracle before that instruction goes out: a race step's CLEAR
    /// at delay 0 follows the start's status, not the start.
    #[test]
    fn status_a_handler_collected_is_judged_before_the_next_instruction() {
        let c = Config {
            delay: crate::cmdline::DelaySweep::new(0, 0, 1).unwrap(),
            ..config(Scenario::CschRace, 2, 20)
        };
        let before_csch = |handler: bool| {
            let mut k = Kernelish::new(Sim::new(SID));
            k.handler = handler;
            let mut d = Driver::new(&mut k, &c);
            let s = d.run(|_| {}).unwrap();
            assert_eq!(s.clears, 20);
            let kinds: Vec<EventKind> = d.trace().iter().map(|e| e.kind).collect();
            let before: Vec<EventKind> = kinds
                .windows(2)
                .filter(|w| w[1] == EventKind::Csch)
                .map(|w| w[0])
                .collect();
            assert!(!before.is_empty());
            before
        };
        let handled = before_csch(true);
        assert!(
            handled.iter().all(|&k| k == EventKind::Interruption),
            "{handled:?}"
        );
        let unhandled = before_csch(false);
        assert!(
            unhandled.iter().all(|&k| k == EventKind::Ssch),
            "{unhandled:?}"
        );
    }

    /// A source whose START reveals pending status is not drained between
    /// iterations: unsolicited status left pending is taken when the next
    /// START answers cc 1, and judged then; the last iteration still drains.
    #[test]
    fn a_start_that_reveals_pending_status_takes_the_place_of_the_drain() {
        let cc1_starts = |reveals: bool| {
            let c = Config {
                verbose: 3,
                ..config(Scenario::Ssch, 1, 100)
            };
            let mut k = Kernelish::new(Sim::with_device_event(SID, DeviceEvent::Attention, 1));
            k.reveals = reveals;
            let s = Driver::new(&mut k, &c).run(|_| {}).unwrap();
            assert!(k.sim.events() > 1);
            assert_eq!(s.unsolicited, k.sim.events(), "every attention judged");
            k.logged
                .iter()
                .filter(|e| e.kind == EventKind::Ssch && e.cc == 1)
                .count()
        };
        assert_eq!(cc1_starts(false), 0, "drained before each START");
        assert!(cc1_starts(true) > 0, "taken at a START's cc 1");
    }

    #[test]
    fn landings_add_up_and_print_as_a_verdict_value() {
        let l = Landed {
            before: 1,
            running: 20,
            window: 300,
            after: 4000,
        };
        assert_eq!(l.total(), 4321);
        assert_eq!(
            std::format!("{l}"),
            "before:1,running:20,window:300,after:4000"
        );
    }

    /// `require_race`: a race scenario whose race steps landed proves the
    /// race only with landings both in the completion window and after it;
    /// one with no landings at all has nothing to judge.
    #[test]
    fn a_race_is_missed_without_landings_in_the_window_or_after() {
        let c = Config {
            require_race: Some(true),
            ..config(Scenario::CschRace, 1, 10)
        };
        let mut s = run(&mut Sim::new(SID), &c).unwrap();
        let at = |before, running, window, after| Landed {
            before,
            running,
            window,
            after,
        };
        for (landed, missing) in [
            (at(0, 0, 0, 0), None),
            (at(1, 1, 0, 1), Some("window")),
            (at(0, 0, 1, 0), Some("after")),
            (at(0, 2, 1, 0), Some("after")),
            (at(0, 0, 1, 1), None),
            (at(1, 0, 2, 3), None),
        ] {
            s.landed = landed;
            assert_eq!(
                race_not_exercised(&c, &s, DeviceKind::Real),
                missing,
                "{landed}"
            );
        }
    }

    #[test]
    fn one_shot_scenarios_run_once_and_io_scenarios_2000_times() {
        for scenario in Scenario::ALL {
            let once = matches!(
                scenario,
                Scenario::Selftest | Scenario::Crash | Scenario::Smoke | Scenario::Conformance
            );
            let n = if once { 1 } else { 2000 };
            assert_eq!(default_iterations(scenario), n, "{scenario:?}");
            let c = Config {
                iterations: None,
                ..config(scenario, 1, 1)
            };
            assert_eq!(Driver::new(Sim::new(SID), &c).iterations(), n);
        }
    }

    #[test]
    fn the_baseline_is_what_the_device_said_it_is() {
        let mut sim = Sim::new(SID);
        let mut d = Driver::new(&mut sim, &config(Scenario::Ssch, 1, 3));
        assert_eq!(d.baseline(), None, "not asked yet");
        d.run(|_| {}).unwrap();
        let virtio = SenseId::parse(&[0xff, 0x38, 0x32, 0x04, 0x00, 0x00, 0x00]).unwrap();
        assert_eq!(d.baseline(), Some(virtio));
    }

    /// From the very first start on, every start's interruption parameter
    /// carries the driver's base in its top byte, and a nonzero rest.
    #[test]
    fn every_start_carries_the_intparm_base() {
        let c = Config {
            verbose: 3,
            ..config(Scenario::CschRace, 1, 10)
        };
        let mut k = Kernelish::new(Sim::new(SID));
        Driver::new(&mut k, &c)
            .with_intparm_base(7)
            .run(|_| {})
            .unwrap();
        let starts: Vec<u32> = k
            .logged
            .iter()
            .filter(|e| e.kind == EventKind::Ssch)
            .map(|e| e.intparm)
            .collect();
        assert_eq!(starts.len(), 21);
        assert_eq!(starts[..3], [0x0700_0001, 0x0700_0002, 0x0700_0003]);
        assert!(starts.iter().all(|p| p >> 24 == 7 && p & 0x00ff_ffff != 0));
    }

    /// Interruption parameters count up and never take 0: without a base
    /// through all 32 bits, with one through the low 24 under the base.
    #[test]
    fn intparms_wrap_within_their_range_and_skip_zero() {
        for (base, first, expected) in [
            (0, 0x00ff_fffe, [0x00ff_fffe, 0x00ff_ffff, 0x0100_0000]),
            (0, 0xffff_fffe, [0xffff_fffe, 0xffff_ffff, 0x0000_0001]),
            (7, 0x07ff_fffe, [0x07ff_fffe, 0x07ff_ffff, 0x0700_0001]),
        ] {
            let c = Config {
                verbose: 3,
                ..config(Scenario::Ssch, 1, 2)
            };
            let mut k = Kernelish::new(Sim::new(SID));
            let mut d = Driver::new(&mut k, &c);
            if base != 0 {
                d = d.with_intparm_base(base);
            }
            d.next_intparm = first;
            d.run(|_| {}).unwrap();
            let starts: Vec<u32> = k
                .logged
                .iter()
                .filter(|e| e.kind == EventKind::Ssch)
                .map(|e| e.intparm)
                .collect();
            assert_eq!(starts, expected, "base {base}");
        }
    }

    #[test]
    fn progress_hears_each_finished_iteration() {
        let mut heard = Vec::new();
        let mut sim = Sim::new(SID);
        Driver::new(&mut sim, &config(Scenario::Mixed, 1, 5))
            .run(|i| heard.push(i))
            .unwrap();
        assert_eq!(heard, [1, 2, 3, 4, 5]);
        let mut heard = Vec::new();
        let mut sim = Sim::new(SID);
        Driver::new(&mut sim, &config(Scenario::Smoke, 1, 5))
            .run(|i| heard.push(i))
            .unwrap();
        assert_eq!(heard, [1], "smoke: one iteration");
    }

    /// Only a race step has a delay (a failure elsewhere reports 0); the
    /// race scenarios go through the sweep in order, `mixed` picks each
    /// race step's delay from it at random.
    #[test]
    fn only_race_steps_have_a_delay_and_mixed_picks_it_at_random() {
        let sweep = crate::cmdline::DelaySweep::new(0, 700, 100).unwrap();
        let delays = |scenario: Scenario| {
            let c = Config {
                delay: sweep,
                ..config(scenario, 3, 200)
            };
            let mut sim = Sim::new(SID);
            let mut d = Driver::new(&mut sim, &c);
            d.prepare().unwrap();
            let mut steps = Vec::new();
            for i in 0..200 {
                let (starts, clears, halts) = (d.summary.starts, d.summary.clears, d.summary.halts);
                d.iterate(i).unwrap();
                let raced = d.summary.starts - starts == 2;
                assert!(d.summary.clears - clears + d.summary.halts - halts <= 1);
                steps.push((raced, d.delay));
            }
            steps
        };
        for scenario in [Scenario::Ssch, Scenario::CschIdle] {
            assert!(
                delays(scenario).iter().all(|&s| s == (false, 0)),
                "{scenario:?}"
            );
        }
        for scenario in [Scenario::CschRace, Scenario::HschRace] {
            for (i, (raced, delay)) in delays(scenario).into_iter().enumerate() {
                assert!(raced);
                assert_eq!(delay, sweep.nth(i as u32), "{scenario:?} iteration {i}");
            }
        }
        let mixed = delays(Scenario::Mixed);
        assert!(mixed.iter().all(|&(raced, d)| raced || d == 0));
        let raced: Vec<(usize, u32)> = mixed
            .iter()
            .enumerate()
            .filter(|(_, s)| s.0)
            .map(|(i, s)| (i, s.1))
            .collect();
        assert!(raced.len() > 50);
        assert!(
            raced.iter().any(|&(i, d)| d != sweep.nth(i as u32)),
            "not in order"
        );
        assert!(
            (0..8).all(|n| raced.iter().any(|&(_, d)| d == sweep.nth(n))),
            "all of the sweep"
        );
    }

    /// A race step whose start had not begun when its HALT came (the
    /// control unit busy: deferred cc 1) landed before the start; one whose
    /// status shows a deviation only the completion window produces landed
    /// in the window.
    #[test]
    fn what_the_host_shows_refines_where_a_race_step_landed() {
        let c = |host| Config {
            host,
            delay: crate::cmdline::DelaySweep::new(0, 0, 1).unwrap(),
            ..config(Scenario::HschRace, 2, 200)
        };
        let mut sim = Sim::with_device_event(SID, DeviceEvent::ControlUnitBusy, 2);
        let s = run(&mut sim, &c(crate::cmdline::Host::Strict)).unwrap();
        assert!(
            s.landed.before > 0 && s.landed.before <= sim.events(),
            "{}",
            s.landed
        );
        let mut sim = Sim::with_device_event(SID, DeviceEvent::AttentionOverStart, 2);
        let s = run(&mut sim, &c(crate::cmdline::Host::VfioCcw)).unwrap();
        assert!(
            s.landed.window > 0 && s.landed.window <= sim.events(),
            "{}",
            s.landed
        );
        assert_eq!(s.landed.total(), 200);
    }

    /// The programs a scenario starts: SENSE ID half the time, a single
    /// NOP a quarter, a chain of 2 to MAX_CCWS NOPs the rest, each length
    /// about as often.
    #[test]
    fn every_program_kind_is_started_and_chain_lengths_are_uniform() {
        let mut k = Kernelish::new(Sim::new(SID));
        run_kernelish(&mut k, &config(Scenario::Ssch, 9, 4000));
        let count = |cmd: u8, n: usize| k.programs.iter().filter(|&&p| p == (cmd, n)).count();
        let total = k.programs.len();
        let sense_id = count(crate::css::cmd::SENSE_ID, 1);
        let nop = count(crate::css::cmd::NOP, 1);
        assert!(
            (total * 45 / 100..total * 55 / 100).contains(&sense_id),
            "{sense_id} of {total}"
        );
        assert!(
            (total * 20 / 100..total * 30 / 100).contains(&nop),
            "{nop} of {total}"
        );
        let chains: Vec<usize> = (2..=MAX_CCWS)
            .map(|n| count(crate::css::cmd::NOP, n))
            .collect();
        assert_eq!(sense_id + nop + chains.iter().sum::<usize>(), total);
        let (min, max) = (chains.iter().min().unwrap(), chains.iter().max().unwrap());
        assert!(*min > 0 && max * 2 < min * 3, "lengths 2..=8: {chains:?}");
    }

    #[test]
    fn a_correct_host_passes_every_scenario_and_seed() {
        for scenario in io_scenarios() {
            for seed in 0..20 {
                let mut sim = Sim::new(SID);
                let summary = run(&mut sim, &config(scenario, seed, 200))
                    .unwrap_or_else(|f| panic!("{scenario:?} seed {seed}: {f:?}"));
                let expected = if scenario == Scenario::Smoke { 1 } else { 200 };
                assert_eq!(summary.iterations, expected);
                assert!(summary.latency.count() > 0);
            }
        }
    }

    #[test]
    fn race_scenarios_issue_what_they_say() {
        let mut sim = Sim::new(SID);
        let s = run(&mut sim, &config(Scenario::CschRace, 1, 50)).unwrap();
        assert_eq!((s.starts, s.clears, s.halts), (101, 50, 0));
        let mut sim = Sim::new(SID);
        let s = run(&mut sim, &config(Scenario::HschRace, 1, 50)).unwrap();
        assert_eq!((s.starts, s.clears, s.halts), (101, 0, 50));
        let mut sim = Sim::new(SID);
        let s = run(&mut sim, &config(Scenario::CschIdle, 1, 50)).unwrap();
        assert_eq!((s.starts, s.clears, s.halts), (51, 50, 0));
    }

    /// Several subchannels as the kernel drives them: each iteration on
    /// one, a start of its own in flight on each other, one summary.
    #[test]
    fn drivers_share_iterations_with_background_starts() {
        let (mut a, mut b) = (Sim::new(SID), Sim::new(SID + 1));
        let c = config(Scenario::CschRace, 3, 40);
        let mut da = Driver::new(&mut a, &c).with_intparm_base(1);
        let mut db = Driver::new(&mut b, &c).with_intparm_base(2);
        da.prepare().unwrap();
        db.prepare().unwrap();
        for i in 0..40 {
            let (racer, other) = if i % 3 == 0 {
                (&mut db, &mut da)
            } else {
                (&mut da, &mut db)
            };
            other.start_background(i).unwrap();
            racer.iterate(i).unwrap();
            other.settle_background().unwrap();
        }
        let mut s = da.finish();
        let sb = db.finish();
        assert_eq!((s.iterations, sb.iterations), (26, 14));
        // Two starts per race step, one per background start, and each
        // driver's baseline (a fixed sweep: no warm-up).
        assert_eq!(s.clears + sb.clears, 40);
        s.absorb(&sb);
        assert_eq!(s.iterations, 40);
        assert_eq!(s.clears, 40);
        assert_eq!(s.starts, 2 * 40 + 40 + 2);
        // Each driver's parameters carry its own top byte.
        assert!(da.trace().iter().all(|e| e.intparm >> 24 == 1));
        assert!(db.trace().iter().all(|e| e.intparm >> 24 == 2));
    }

    fn kinds(sim: &mut Sim, config: &Config) -> Vec<(EventKind, u32)> {
        let mut d = Driver::new(sim, config);
        d.run(|_| {}).unwrap();
        d.trace().iter().map(|e| (e.kind, e.intparm)).collect()
    }

    #[test]
    fn a_seed_replays_the_same_instructions() {
        let c = config(Scenario::Mixed, 42, 300);
        assert_eq!(kinds(&mut Sim::new(SID), &c), kinds(&mut Sim::new(SID), &c));
        let other = config(Scenario::Mixed, 43, 300);
        assert_ne!(
            kinds(&mut Sim::new(SID), &c),
            kinds(&mut Sim::new(SID), &other)
        );
    }

    #[test]
    fn every_host_bug_is_caught_as_its_class() {
        let cases = [
            (
                HostBug::MisattributeClear,
                Scenario::CschRace,
                Class::WrongFunction,
            ),
            (
                HostBug::WrongIntparm,
                Scenario::Ssch,
                Class::IntparmMismatch,
            ),
            (HostBug::WrongSid, Scenario::Ssch, Class::SidMismatch),
            (
                HostBug::DuplicateStatus,
                Scenario::Ssch,
                Class::DuplicateStatus,
            ),
            (HostBug::LoseStatus, Scenario::Ssch, Class::LostInterrupt),
            (HostBug::Spurious, Scenario::Ssch, Class::SpuriousInterrupt),
            (HostBug::UnitCheck, Scenario::Ssch, Class::BadStatus),
            (HostBug::UnitException, Scenario::Ssch, Class::BadStatus),
            (HostBug::DeviceGone, Scenario::Ssch, Class::CcAnomaly),
            (HostBug::BadCcwAddress, Scenario::Ssch, Class::CcwAddress),
            (HostBug::CorruptData, Scenario::Ssch, Class::DataCorruption),
            (HostBug::LateWrite, Scenario::Ssch, Class::DataCorruption),
            (HostBug::BusyAfterIdle, Scenario::Ssch, Class::CcAnomaly),
            (HostBug::NeverInitiate, Scenario::Ssch, Class::BadStatus),
            (
                HostBug::LateWriteAtClear,
                Scenario::CschIdle,
                Class::DataCorruption,
            ),
            (
                HostBug::LateWriteAtClear,
                Scenario::Mixed,
                Class::DataCorruption,
            ),
            (HostBug::ShortResidual, Scenario::Ssch, Class::BadStatus),
            (
                HostBug::WriteBeyondResidual,
                Scenario::Ssch,
                Class::DataCorruption,
            ),
            (HostBug::NopResidual, Scenario::Ssch, Class::BadStatus),
        ];
        for (bug, scenario, class) in cases {
            let f = detects(bug, scenario);
            assert_eq!(f.violation.class, class, "{bug:?}: {f:?}");
            assert_eq!(f.sid, SID);
        }
    }

    #[test]
    fn delay_auto_sizes_the_sweep_from_a_warm_up() {
        let c = Config {
            delay_auto: true,
            ..config(Scenario::CschRace, 3, 50)
        };
        let mut sim = Sim::new(SID);
        let s = run(&mut sim, &c).unwrap();
        let (_, median, _) = s.latency.summary().unwrap();
        assert_eq!(s.sweep.min, 0);
        assert!(u64::from(s.sweep.max) <= 2 * median && u64::from(s.sweep.max) > median);
        assert_eq!(s.sweep.len(), 65);
        // Warm-up starts come on top of the scenario's own.
        assert_eq!(s.starts, 1 + WARM_UP + 100);
        // Without auto the configured sweep stays.
        let s = run(&mut Sim::new(SID), &config(Scenario::CschRace, 3, 50)).unwrap();
        assert_eq!(s.sweep, Config::DEFAULT.delay);
    }

    #[test]
    fn the_summary_counts_halts_and_clears_of_an_outstanding_operation() {
        // Every CLEAR that did not land after its start's status was taken
        // withdrew the start (the oracle's clear of an operation). A HALT
        // there may find the status pending instead (cc 1, no halt): the
        // sim ends every program inside SSCH, so none halts a start; the
        // e2e tests on ccwgate-testdev see them.
        for scenario in [Scenario::CschRace, Scenario::HschRace] {
            let c = Config {
                delay_auto: true,
                ..config(scenario, 3, 200)
            };
            let s = run(&mut Sim::new(SID), &c).unwrap();
            let outstanding = s.landed.total() - s.landed.after;
            assert!(outstanding > 0, "{scenario:?}: {:?}", s.landed);
            if scenario == Scenario::CschRace {
                assert_eq!((s.cleared_ops, s.halted_starts), (outstanding, 0));
            } else {
                assert_eq!((s.cleared_ops, s.halted_starts), (0, 0));
            }
            assert_eq!(s.not_initiated, 0);
        }
    }

    #[test]
    fn a_host_that_completes_inside_ssch_never_reaches_the_window() {
        // The sim, like QEMU's emulated devices, ends every program before
        // SSCH returns: a CLEAR lands on pending status (delay 0) or after
        // it was taken.
        let c = Config {
            delay_auto: true,
            require_race: Some(true),
            ..config(Scenario::CschRace, 3, 100)
        };
        let s = run(&mut Sim::new(SID), &c).unwrap();
        assert_eq!(s.landed.total(), 100);
        assert_eq!(s.landed.window, 0);
        assert!(s.landed.running > 0 && s.landed.after > 0, "{:?}", s.landed);
        assert_eq!(race_not_exercised(&c, &s, DeviceKind::Real), Some("window"));
        // Off unless asked for: strict, or vfio-ccw on an emulated device.
        let off = Config {
            require_race: None,
            ..c
        };
        assert_eq!(race_not_exercised(&off, &s, DeviceKind::Real), None);
        assert_eq!(race_not_exercised(&off, &s, DeviceKind::Emulated), None);
        let vfio = Config {
            host: crate::cmdline::Host::VfioCcw,
            ..off
        };
        assert_eq!(
            race_not_exercised(&vfio, &s, DeviceKind::Real),
            Some("window")
        );
        assert_eq!(race_not_exercised(&vfio, &s, DeviceKind::Emulated), None);
        // ccwgate-testdev races on every run: required in both profiles.
        for c in [off, vfio] {
            assert_eq!(
                race_not_exercised(&c, &s, DeviceKind::AsyncTestdev),
                Some("window"),
                "{:?}",
                c.host
            );
        }
        // Unless the command line says otherwise.
        let not_required = Config {
            require_race: Some(false),
            ..off
        };
        assert_eq!(
            race_not_exercised(&not_required, &s, DeviceKind::AsyncTestdev),
            None
        );
        // Scenarios without a race never need one.
        let ssch = Config {
            scenario: Scenario::Ssch,
            ..c
        };
        let s = run(&mut Sim::new(SID), &ssch).unwrap();
        assert_eq!(
            race_not_exercised(&ssch, &s, DeviceKind::AsyncTestdev),
            None
        );
    }

    #[test]
    fn devices_are_told_apart_by_their_control_unit_type() {
        let virtio = SenseId::parse(&[0xff, 0x38, 0x32, 0x04, 0x00, 0x00, 0x00]).unwrap();
        assert!(is_emulated(&virtio));
        let dasd = SenseId::parse(&[0xff, 0x39, 0x90, 0xe9, 0x33, 0x90, 0x0c]).unwrap();
        assert!(!is_emulated(&dasd));
        assert_eq!(device_kind(&dasd), DeviceKind::Real);
        // ccwgate-testdev's default identity (patches/qemu-testdev/).
        let testdev = SenseId::parse(&[0xff, 0xcc, 0x90, 0x01, 0xcc, 0x33, 0x01]).unwrap();
        assert_eq!(device_kind(&testdev), DeviceKind::AsyncTestdev);
        assert!(!is_emulated(&testdev));
        assert_eq!(device_kind(&virtio), DeviceKind::Emulated);
    }

    #[test]
    fn checks_none_issues_the_same_instructions_and_judges_nothing() {
        for scenario in io_scenarios() {
            let on = config(scenario, 5, 100);
            let off = Config {
                checks: false,
                ..on
            };
            let a = run(&mut Sim::new(SID), &on).unwrap();
            let mut sim = Sim::new(SID);
            let mut d = Driver::new(&mut sim, &off);
            let b = d.run(|_| {}).unwrap();
            assert_eq!(
                (a.iterations, a.starts, a.clears, a.halts, a.interruptions),
                (b.iterations, b.starts, b.clears, b.halts, b.interruptions),
                "{scenario:?}"
            );
            assert!(d.trace().is_empty(), "no trace without checks");
        }
        // With delay=auto too: the warm-up measures the same latency.
        for scenario in [Scenario::CschRace, Scenario::HschRace, Scenario::Mixed] {
            let on = Config {
                delay_auto: true,
                ..config(scenario, 5, 200)
            };
            let off = Config {
                checks: false,
                ..on
            };
            let a = run(&mut Sim::new(SID), &on).unwrap();
            let b = run(&mut Sim::new(SID), &off).unwrap();
            assert_eq!(a.sweep, b.sweep, "{scenario:?}");
            assert_eq!(
                (a.starts, a.clears, a.halts, a.interruptions),
                (b.starts, b.clears, b.halts, b.interruptions),
                "{scenario:?}"
            );
            // And a run without checks never claims the race was missed.
            let required = Config {
                require_race: Some(true),
                ..off
            };
            assert_eq!(race_not_exercised(&required, &b, DeviceKind::Real), None);
        }
        // A broken host passes unnoticed: nothing is judged.
        let off = Config {
            checks: false,
            ..config(Scenario::Ssch, 7, 200)
        };
        let mut sim = Sim::with_bug(SID, HostBug::BadCcwAddress, 30);
        assert!(run(&mut sim, &off).is_ok());
        assert!(sim.fired());
    }

    #[test]
    fn detection_is_prompt() {
        // The bug shows at the 30th start; ssch has one start per iteration
        // after the baseline SENSE ID.
        let f = detects(HostBug::UnitCheck, Scenario::Ssch);
        assert_eq!(f.iteration, 28);
        let f = detects(HostBug::MisattributeClear, Scenario::Mixed);
        assert_eq!(f.violation.class, Class::WrongFunction);
    }

    #[test]
    fn delays_follow_the_sweep() {
        let c = Config {
            delay: crate::cmdline::DelaySweep::new(100, 300, 100).unwrap(),
            ..config(Scenario::CschRace, 1, 5)
        };
        let mut sim = Sim::with_bug(SID, HostBug::UnitCheck, 6);
        let f = run(&mut sim, &c).unwrap_err();
        // Starts: baseline, then two per iteration; the 6th is iteration 2's first.
        assert_eq!((f.iteration, f.delay), (2, 300));
    }
}
