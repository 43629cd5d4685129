//! The scenario driver: turns a [`Config`] into channel instructions, feeds
//! every instruction and interruption to the [`Oracle`] in the order they
//! happened, checks the data the device wrote, and keeps the evidence.
//!
//! It reaches the machine only through [`Channel`], so the very same code runs
//! in the guest kernel against real instructions and on the host against the
//! models in [`crate::sim`].

use crate::cmdline::{Config, DelaySweep, Scenario};
use crate::css::{cmd, Cc, Ccw1, CcwFlags, DeviceStatus, Orb, SenseId, StatusControl};
use crate::oracle::{
    Class, Completed, Deviations, Interruption, Op, Oracle, Outstanding, Program, Violation,
};
use crate::rng::Rng;
use crate::stats::Latency;
use crate::trace::{Event, EventKind, Ring};

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
/// A deadline that has always passed: [`Channel::next_interruption`] then
/// hands out what is there and does not wait.
pub const NOW: u64 = 0;

/// Memory for one channel program and its data, addressed by the device.
/// The kernel keeps two, below 2 GiB, and alternates between them so that an
/// area can be checked for late writes while the other one is in use.
#[repr(C, align(8))]
#[derive(Clone)]
pub struct IoArea {
    pub ccws: [Ccw1; MAX_CCWS],
    pub front: [u8; GUARD_LEN],
    pub data: [u8; DATA_LEN],
    pub back: [u8; GUARD_LEN],
}

impl IoArea {
    pub const DATA_OFFSET: u32 = core::mem::offset_of!(IoArea, data) as u32;

    pub const fn new() -> Self {
        IoArea {
            ccws: [Ccw1::new(0, CcwFlags::empty(), 0, 0); MAX_CCWS],
            front: [GUARD_BYTE; GUARD_LEN],
            data: [DATA_FILL; DATA_LEN],
            back: [GUARD_BYTE; GUARD_LEN],
        }
    }

    /// A cheap fingerprint of CCWs, guards and data (FNV-1a over 64-bit
    /// words: it runs after every operation). The words go in a fixed
    /// order given `fill_word` (see [`IoArea::hash`]); an area is compared
    /// only with a fingerprint taken with the same `fill_word`.
    fn fingerprint(&self, fill_word: usize) -> u64 {
        self.hash(fill_word).1
    }

    /// The fingerprint and, in the same pass, whether the guards still hold
    /// [`GUARD_BYTE`] and `data[fill_from..]` [`DATA_FILL`]: an area whose
    /// operation just ended is read once, not once per check. Returns the
    /// fingerprint's `fill_word` too.
    fn scan(&self, fill_from: usize) -> (u64, bool, usize) {
        const FILL: u64 = u64::from_be_bytes([DATA_FILL; 8]);
        let fill_from = fill_from.min(DATA_LEN);
        let fill_word = fill_from.div_ceil(8);
        let (patterned, h) = self.hash(fill_word);
        let mut clean = patterned == PRISTINE[fill_word];
        if fill_from % 8 != 0 {
            // The word `fill_from` falls in: the device's bytes, then fill.
            let w = word(&self.data[(fill_word - 1) * 8..fill_word * 8]);
            clean &= (w ^ FILL) & (u64::MAX >> ((fill_from % 8) * 8)) == 0;
        }
        (h, clean, fill_word)
    }

    /// FNV-1a over the guards, `data[fill_word * 8..]`, the CCWs and
    /// `data[..fill_word * 8]`, in this order: the parts that must hold
    /// their patterns come first, so the state after them (the first value)
    /// equals [`PRISTINE`]`[fill_word]` exactly when they do (but for a
    /// 64-bit hash collision), and checking them costs no pass of its own.
    fn hash(&self, fill_word: usize) -> (u64, u64) {
        let mut h = FNV_BASIS;
        let (stored, fill) = self.data.split_at(fill_word.min(DATA_LEN / 8) * 8);
        for part in [&self.front[..], &self.back[..], fill] {
            for c in part.chunks_exact(8) {
                h = fnv(h, word(c));
            }
        }
        let patterned = h;
        h = self.ccw_hash(h);
        for c in stored.chunks_exact(8) {
            h = fnv(h, word(c));
        }
        (patterned, h)
    }

    fn ccw_hash(&self, mut h: u64) -> u64 {
        for ccw in &self.ccws {
            let w = u64::from(ccw.cmd) << 56
                | u64::from(ccw.flags.bits()) << 48
                | u64::from(ccw.count) << 32
                | u64::from(ccw.cda);
            h = fnv(h, w);
        }
        h
    }
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// [`IoArea::hash`]'s state after the patterned words of an untouched
/// area, for each `fill_word`: both guards, then `32 - fill_word` words of
/// fill.
const PRISTINE: [u64; DATA_LEN / 8 + 1] = {
    let guard = u64::from_be_bytes([GUARD_BYTE; 8]);
    let fill = u64::from_be_bytes([DATA_FILL; 8]);
    let mut table = [0; DATA_LEN / 8 + 1];
    let mut w = 0;
    while w <= DATA_LEN / 8 {
        let mut h = FNV_BASIS;
        let mut i = 0;
        while i < 2 * GUARD_LEN / 8 {
            h = fnv(h, guard);
            i += 1;
        }
        let mut i = w;
        while i < DATA_LEN / 8 {
            h = fnv(h, fill);
            i += 1;
        }
        table[w] = h;
        w += 1;
    }
    table
};

#[inline(always)]
const fn fnv(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x100_0000_01b3)
}

/// Eight bytes as one big-endian word (on s390x a plain load).
#[inline(always)]
fn word(c: &[u8]) -> u64 {
    u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}

impl Default for IoArea {
    fn default() -> Self {
        Self::new()
    }
}

/// The channel programs ccwgate issues: safe on any device and acceptable to
/// vfio-ccw (format-1 CCWs, prefetch allowed, no TIC, no IDAWs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramKind {
    SenseId,
    Nop,
    /// `n` NOPs chained by command chaining (2..=MAX_CCWS).
    NopChain(u8),
    /// SENSE, only after a unit check, to read why.
    Sense,
}

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
/// Sense byte 0: command reject.
const SENSE_COMMAND_REJECT: u8 = 0x80;

/// What the driver needs from the machine.
pub trait Channel {
    /// The subchannel ID under test.
    fn sid(&self) -> u32;
    /// I/O area `slot` (0 or 1) and the absolute address the device sees.
    fn area(&mut self, slot: usize) -> (&mut IoArea, u32);
    fn ssch(&mut self, orb: &Orb) -> Cc;
    fn csch(&mut self) -> Cc;
    fn hsch(&mut self) -> Cc;
    /// The TOD clock.
    fn tod(&self) -> u64;
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
    /// would collect before it: the mode sees no status but this
    /// subchannel's own, and that only through TEST SUBCHANNEL (`mode=tsch`:
    /// no interruptions), so status left pending makes the next START cc 1,
    /// and the driver takes and judges it then. The drain between
    /// iterations is then left to the next START (CLEAR, which would
    /// withdraw the status unseen, and HALT, and the end of the run still
    /// drain first).
    fn start_reveals_pending(&self) -> bool {
        false
    }
    /// Hears every event as it is recorded, when `verbose=3` asks for it.
    fn log(&mut self, _event: &Event) {}
    /// STORE SUBCHANNEL's view of the device, asked when an instruction or
    /// a status says "not operational".
    fn device_state(&mut self) -> DeviceState {
        DeviceState::Present
    }
}

impl<T: Channel + ?Sized> Channel for &mut T {
    fn sid(&self) -> u32 {
        (**self).sid()
    }
    fn area(&mut self, slot: usize) -> (&mut IoArea, u32) {
        (**self).area(slot)
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
    fn next_interruption(&mut self, deadline: u64) -> Option<Interruption> {
        (**self).next_interruption(deadline)
    }
    fn collected(&mut self) -> Option<Interruption> {
        (**self).collected()
    }
    fn start_reveals_pending(&self) -> bool {
        (**self).start_reveals_pending()
    }
    fn log(&mut self, event: &Event) {
        (**self).log(event)
    }
    fn device_state(&mut self) -> DeviceState {
        (**self).device_state()
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
    emulated: bool,
) -> Option<&'static str> {
    let required = config
        .require_race
        .unwrap_or(config.host == crate::cmdline::Host::VfioCcw && !emulated);
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

/// Whether `id` is one of QEMU's emulated CCW devices (virtio-ccw answers
/// SENSE ID with control-unit type 0x3832), which run each channel program
/// inside SSCH and so never race.
pub fn is_emulated(id: &SenseId) -> bool {
    id.cu_type == 0x3832
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

fn violation(class: Class, what: &'static str, expected: u32, actual: u32) -> Violation {
    Violation {
        class,
        what,
        expected,
        actual,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Landing {
    Before,
    Running,
    Window,
    After,
}

/// `checks=none`: what the driver must know to issue the same instructions
/// (is an operation outstanding, since when a start has been), without
/// judging anything.
#[derive(Clone, Copy, Debug, Default)]
struct Tracker {
    outstanding: bool,
    /// When the outstanding start was issued (for `delay=auto`'s latency).
    start: Option<u64>,
}

impl Tracker {
    fn instruction(&mut self, cc: Cc, start_at: Option<u64>) {
        if cc == Cc::Zero {
            self.outstanding = true;
            // A clear or halt takes over the start: its end is theirs.
            self.start = start_at;
        }
    }

    /// `Some(start issue time or None)` when `irq` ended what was
    /// outstanding.
    fn interruption(&mut self, irq: &Interruption) -> Option<Option<u64>> {
        let device_active = irq
            .scsw
            .ac()
            .contains(crate::css::ActivityControl::DEVICE_ACTIVE);
        if irq.tsch_cc != Cc::Zero || !self.outstanding || device_active {
            return None;
        }
        self.outstanding = false;
        Some(self.start.take())
    }
}

/// Starts that measure the latency for `delay=auto`.
const WARM_UP: u32 = 16;

/// One step of a scenario, as chosen for an iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Ssch,
    CschRace,
    HschRace,
    CschIdle,
}

/// Iterations a scenario runs when the command line does not say.
pub fn default_iterations(scenario: Scenario) -> u32 {
    match scenario {
        Scenario::Selftest | Scenario::Crash | Scenario::Smoke | Scenario::Conformance => 1,
        _ => 2000,
    }
}

const SSCH_RETRIES: u32 = 4;
/// How long a start answered "busy" on an idle subchannel (a `host=vfio-ccw`
/// deviation) waits before trying again: 100 µs.
const BUSY_BACKOFF: u64 = 100 * 4096;
/// Starts in a row that may end without their program beginning (each is
/// allowed: status was pending when the start was to begin).
const MAX_NOT_INITIATED: u32 = 8;

pub struct Driver<C: Channel> {
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
    /// ([`Channel::start_reveals_pending`]).
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

impl<C: Channel> Driver<C> {
    /// A driver for `chan`: a [`Channel`] it owns, or `&mut` one.
    pub fn new(chan: C, config: &Config) -> Self {
        let sid = chan.sid();
        let t0 = chan.tod();
        Driver {
            chan,
            config: *config,
            oracle: Oracle::new(sid, ENABLE_INTPARM).with_host(config.host),
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
        let step = match self.config.scenario {
            Scenario::Ssch => Step::Ssch,
            Scenario::CschRace => Step::CschRace,
            Scenario::HschRace => Step::HschRace,
            Scenario::CschIdle => Step::CschIdle,
            Scenario::Mixed => [Step::Ssch, Step::CschRace, Step::HschRace, Step::CschIdle]
                [self.rng.below(4) as usize],
            _ => return Ok(()),
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

    /// Whether an operation is outstanding.
    fn outstanding(&self) -> bool {
        if self.config.checks {
            self.oracle.outstanding() != Outstanding::Idle
        } else {
            self.tracker.outstanding
        }
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
                    *self.oracle.deviations(),
                    self.oracle.stats().starts_not_initiated,
                );
                if step == Step::CschRace {
                    self.clear()?;
                } else {
                    self.halt()?;
                }
                self.settle()?;
                // What the host showed refines the guess: a deviation only
                // a status taken after completion produces, or a start
                // that never began.
                let landing = if self.oracle.stats().starts_not_initiated > before.1 {
                    Landing::Before
                } else if self.oracle.deviations().total() > before.0.total() {
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

    fn fail(&mut self, violation: Violation) -> Failure {
        let environment = self.environment(&violation);
        Failure {
            violation,
            iteration: self.iteration,
            delay: self.delay,
            sid: self.chan.sid(),
            deviations: *self.oracle.deviations(),
            environment,
        }
    }

    /// Whether `v` is the environment's doing rather than the host's:
    /// "not operational" while STORE SUBCHANNEL shows the device gone or
    /// pathless; device busy, or a device that never lets a start begin;
    /// a unit check, the device's own report, whose sense bytes are read.
    fn environment(&mut self, v: &Violation) -> Option<&'static str> {
        let not_operational = v.class == Class::CcAnomaly && v.actual == 3;
        if not_operational {
            return match self.chan.device_state() {
                DeviceState::Present => None,
                DeviceState::Gone | DeviceState::NoPath => Some("device-gone"),
            };
        }
        let device_status = |bits: DeviceStatus| {
            v.what == "device-status-error" && v.actual & u32::from(bits.bits()) != 0
        };
        if device_status(DeviceStatus::BUSY)
            || matches!(
                v.what,
                "starts-never-initiated" | "ssch-status-pending-forever"
            )
        {
            return Some("device-busy");
        }
        if device_status(DeviceStatus::UNIT_CHECK) {
            let mut sense = [0; SENSE_COUNT as usize];
            if let Some(n) = self.read_sense(&mut sense) {
                self.sense = (sense, n);
            }
            // Command reject (sense byte 0, bit 0): the device got a
            // command ccwgate never issues (NOP, SENSE ID and SENSE suit
            // any device), so the relay changed the program. The host's.
            if self
                .sense()
                .first()
                .is_some_and(|b| b & SENSE_COMMAND_REJECT != 0)
            {
                return None;
            }
            return Some("device-error");
        }
        None
    }

    /// What a run that ended with `summary` did not exercise, when
    /// `require_race` is in force ([`race_not_exercised`], the device
    /// judged emulated or not by its SENSE ID).
    pub fn missing_race(&self, summary: &Summary) -> Option<&'static str> {
        let emulated = self.baseline.is_some_and(|id| is_emulated(&id));
        race_not_exercised(&self.config, summary, emulated)
    }

    /// The sense bytes read after a device's unit check (`device-error`).
    pub fn sense(&self) -> &[u8] {
        &self.sense.0[..usize::from(self.sense.1)]
    }

    /// Reads the sense bytes after a unit check, outside the oracle (the
    /// run is over): SENSE into the next area, its status within the I/O
    /// timeout. `None` when the device would not say.
    fn read_sense(&mut self, into: &mut [u8; SENSE_COUNT as usize]) -> Option<u8> {
        self.slot ^= 1;
        let (area, base) = self.chan.area(self.slot);
        let program = build(area, base, ProgramKind::Sense, None);
        let orb = Orb::format1(self.next_intparm, program.first_ccw);
        if self.chan.ssch(&orb) != Cc::Zero {
            return None;
        }
        let deadline = self.chan.tod() + self.io_timeout();
        while let Some(irq) = self.chan.next_interruption(deadline) {
            let sc = irq.scsw.sc();
            if irq.tsch_cc != Cc::Zero || !sc.contains(StatusControl::PRIMARY) {
                continue;
            }
            let stored = SENSE_COUNT.saturating_sub(irq.scsw.count());
            let n = usize::from(stored).min(into.len());
            into[..n].copy_from_slice(&self.chan.area(self.slot).0.data[..n]);
            return u8::try_from(n).ok();
        }
        None
    }

    fn record(
        &mut self,
        kind: EventKind,
        sid: u32,
        cc: u8,
        intparm: u32,
        scsw: [u32; 3],
        tod: u64,
    ) {
        if !self.config.checks {
            return;
        }
        let (t0, iteration) = (self.t0, self.iteration);
        self.trace.push_with(|seq| Event {
            seq,
            tod: tod.wrapping_sub(t0),
            iteration,
            kind,
            sid,
            cc,
            intparm,
            scsw,
        });
        if self.config.verbose >= 3 {
            if let Some(event) = self.trace.last() {
                self.chan.log(event);
            }
        }
    }

    /// Builds `kind` in the next area and starts it, collecting any status
    /// that was pending (cc 1) before trying again.
    fn start(&mut self, kind: ProgramKind) -> Result<(), Failure> {
        // Status left pending since the last iteration makes this START
        // cc 1, and is taken and judged below.
        self.drain_owed = false;
        self.slot ^= 1;
        // With checks=none nothing looks at the data after the baseline.
        let clean_from = if self.config.checks || self.baseline.is_none() {
            self.clean_from[self.slot].take()
        } else {
            Some(0)
        };
        let intparm = self.next_intparm;
        self.next_intparm = if self.intparm_base == 0 {
            intparm.wrapping_add(1).max(1)
        } else {
            self.intparm_base | (intparm.wrapping_add(1) & 0x00ff_ffff).max(1)
        };
        // Only the parameter and the program differ from start to start.
        self.orb.intparm = intparm;
        let (area, base) = self.chan.area(self.slot);
        let program = build(area, base, kind, clean_from);
        self.orb.cpa = program.first_ccw;
        let mut last_cc = Cc::Zero;
        for _ in 0..SSCH_RETRIES {
            self.catch_up()?;
            let cc = self.chan.ssch(&self.orb);
            last_cc = cc;
            let tod = self.chan.tod();
            self.record(
                EventKind::Ssch,
                self.chan.sid(),
                cc.as_u8(),
                intparm,
                [0; 3],
                tod,
            );
            if self.config.checks {
                self.oracle
                    .ssch(intparm, program, cc, tod)
                    .map_err(|v| self.fail(v))?;
            } else {
                self.tracker.instruction(cc, Some(tod));
            }
            if cc == Cc::Zero {
                self.summary.starts += 1;
                self.in_flight = Some(kind);
                return Ok(());
            }
            if cc == Cc::Two {
                // Busy while idle, accepted as a host deviation: nothing was
                // started. Take what status comes meanwhile, then again.
                let deadline = self.chan.tod() + BUSY_BACKOFF;
                while let Some(irq) = self.chan.next_interruption(deadline) {
                    self.feed(&irq)?;
                }
                continue;
            }
            // Status was pending: take it, then try again.
            let deadline = tod + self.io_timeout();
            match self.chan.next_interruption(deadline) {
                Some(irq) => self.feed(&irq)?,
                None => {
                    return Err(self.fail(violation(
                        Class::CcAnomaly,
                        "ssch-cc1-without-status",
                        0,
                        1,
                    )))
                }
            }
        }
        // Every try refused: busy each time (the host stack's doing: the
        // guest's subchannel is idle), or status pending each time.
        let v = if last_cc == Cc::Two {
            violation(Class::CcAnomaly, "ssch-busy-forever", 0, 2)
        } else {
            violation(Class::CcAnomaly, "ssch-status-pending-forever", 0, 1)
        };
        Err(self.fail(v))
    }

    fn clear(&mut self) -> Result<(), Failure> {
        self.end_function(EventKind::Csch)
    }

    fn halt(&mut self) -> Result<(), Failure> {
        self.end_function(EventKind::Hsch)
    }

    /// CLEAR or HALT SUBCHANNEL: no operand, the subchannel's current
    /// interruption parameter in the trace.
    fn end_function(&mut self, kind: EventKind) -> Result<(), Failure> {
        if self.drain_owed {
            // A CLEAR would withdraw what the drain is to judge.
            self.drain_now()?;
        }
        self.catch_up()?;
        let clear = kind == EventKind::Csch;
        let cc = if clear {
            self.chan.csch()
        } else {
            self.chan.hsch()
        };
        let tod = self.chan.tod();
        let intparm = self.oracle.current_intparm();
        self.record(kind, self.chan.sid(), cc.as_u8(), intparm, [0; 3], tod);
        if clear {
            self.summary.clears += 1;
        } else {
            self.summary.halts += 1;
        }
        if !self.config.checks {
            self.tracker.instruction(cc, None);
            return Ok(());
        }
        let checked = if clear {
            self.oracle.csch(cc, tod)
        } else {
            self.oracle.hsch(cc, tod)
        };
        checked.map_err(|v| self.fail(v))
    }

    fn io_timeout(&self) -> u64 {
        u64::from(self.config.io_timeout_ms) * 1000 * 4096
    }

    /// The race window after a start: status that arrives within the
    /// configured delay is collected, then the next instruction goes out.
    fn window(&mut self) -> Result<(), Failure> {
        if self.delay == 0 {
            return Ok(());
        }
        let deadline = self.chan.tod() + u64::from(self.delay);
        while let Some(irq) = self.chan.next_interruption(deadline) {
            self.feed(&irq)?;
        }
        Ok(())
    }

    /// Collects status until nothing is outstanding, within the I/O timeout;
    /// then, with `wait_owed`, the status a deviation left owed.
    fn settle(&mut self) -> Result<(), Failure> {
        self.settle_by()?;
        if self.config.checks && self.config.wait_owed && self.oracle.owed().is_some() {
            let deadline = self.chan.tod() + self.io_timeout();
            while self.oracle.owed().is_some() {
                match self.chan.next_interruption(deadline) {
                    Some(irq) => self.feed(&irq)?,
                    None => {
                        let tod = self.chan.tod();
                        self.oracle.owed_expired(tod).map_err(|v| self.fail(v))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn settle_by(&mut self) -> Result<(), Failure> {
        // Status that is there at once (an emulated device's always is)
        // needs no clock reading for a deadline.
        let mut deadline = NOW;
        while self.outstanding() {
            match self.chan.next_interruption(deadline) {
                Some(irq) => self.feed(&irq)?,
                None if deadline == NOW => deadline = self.chan.tod() + self.io_timeout(),
                None if !self.config.checks => break,
                None => {
                    let tod = self.chan.tod();
                    self.record(
                        EventKind::Expired,
                        self.chan.sid(),
                        0,
                        self.oracle.current_intparm(),
                        [0; 3],
                        tod,
                    );
                    self.oracle.expired(tod).map_err(|v| self.fail(v))?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Feeds status that was collected before the instruction about to go out.
    #[inline(always)]
    fn catch_up(&mut self) -> Result<(), Failure> {
        match self.chan.collected() {
            None => Ok(()),
            Some(irq) => self.catch_up_from(&irq),
        }
    }

    #[inline(never)]
    fn catch_up_from(&mut self, first: &Interruption) -> Result<(), Failure> {
        self.feed(first)?;
        while let Some(irq) = self.chan.collected() {
            self.feed(&irq)?;
        }
        Ok(())
    }

    /// Between iterations nothing is outstanding: whatever status is pending
    /// now was not asked for (or was presented twice). Where the next
    /// START's condition code tells the same ([`Channel::start_reveals_pending`]),
    /// that START takes it; after the last iteration nothing follows, so
    /// the drain runs then.
    #[inline(always)]
    fn drain(&mut self) -> Result<(), Failure> {
        if self.chan.start_reveals_pending() && self.iteration + 1 < self.iterations() {
            self.drain_owed = true;
            return Ok(());
        }
        self.drain_now()
    }

    #[inline(never)]
    fn drain_now(&mut self) -> Result<(), Failure> {
        self.drain_owed = false;
        while let Some(irq) = self.chan.next_interruption(NOW) {
            self.feed(&irq)?;
        }
        Ok(())
    }

    fn feed(&mut self, irq: &Interruption) -> Result<(), Failure> {
        self.record(
            EventKind::Interruption,
            irq.sid,
            irq.tsch_cc.as_u8(),
            irq.intparm,
            irq.scsw.words(),
            irq.tod,
        );
        self.summary.interruptions += 1;
        if !self.config.checks {
            if let Some(start) = self.tracker.interruption(irq) {
                if let Some(issued) = start {
                    self.summary.latency.record(irq.tod.saturating_sub(issued));
                }
                if self.baseline.is_none() {
                    // The only look at the data: the baseline ends the set-up.
                    self.baseline = SenseId::parse(&self.chan.area(self.slot).0.data).ok();
                }
            }
            return Ok(());
        }
        let done = self.oracle.interruption(irq).map_err(|v| self.fail(v))?;
        if let Some(done) = done {
            // PoP ch. 16 Count: with primary status the residual count of
            // the last CCW is exact; a separate device end carries none.
            let residual = irq
                .scsw
                .sc()
                .contains(StatusControl::PRIMARY)
                .then(|| irq.scsw.count());
            self.operation_ended(done, residual)?;
        }
        Ok(())
    }

    /// Checks the I/O areas when an operation ends: the area its program
    /// used (guards; data of a start that completed, or that never began and
    /// so must not have touched it), then that every area whose operation
    /// ended earlier is exactly as it was then: a device may not write into
    /// a channel program after its end.
    fn operation_ended(&mut self, done: Completed, residual: Option<u16>) -> Result<(), Failure> {
        let slot = self.slot;
        // Some: this operation ran (or was to run) a program in `slot`.
        // None: a CLEAR or HALT of an idle subchannel, whose area still
        // belongs to an operation that ended before.
        let ran = self.in_flight.take();
        if let Some(kind) = ran {
            let settled = self.settle_area(slot, kind, done, residual);
            self.settled[slot] = Some(settled.map_err(|v| self.fail(v))?);
        }
        for earlier in 0..2 {
            if ran.is_some() && earlier == slot {
                continue;
            }
            if let Some((expected, fill_word)) = self.settled[earlier] {
                if self.chan.area(earlier).0.fingerprint(fill_word) != expected {
                    let v = violation(
                        Class::DataCorruption,
                        "write-after-completion",
                        0,
                        earlier as u32,
                    );
                    return Err(self.fail(v));
                }
            }
        }
        if done.op == Op::Start {
            self.starts_not_initiated = if done.not_initiated {
                self.starts_not_initiated + 1
            } else {
                0
            };
            if self.starts_not_initiated >= MAX_NOT_INITIATED {
                // Each one is allowed (status was pending when the start was
                // to begin), but a device that never lets a program run is
                // not one a gate can pass.
                let v = violation(
                    Class::BadStatus,
                    "starts-never-initiated",
                    0,
                    self.starts_not_initiated,
                );
                return Err(self.fail(v));
            }
            if !done.not_initiated {
                self.summary.latency.record(done.latency);
            }
        }
        Ok(())
    }

    /// [`Driver::check_area`] and the fingerprint in one pass over the
    /// area on the usual path (guards, data and SENSE ID as they must be);
    /// anything else is judged by `check_area` itself, so the violations
    /// stay exactly its. Also notes how much of the area the next build
    /// must refill.
    fn settle_area(
        &mut self,
        slot: usize,
        kind: ProgramKind,
        done: Completed,
        residual: Option<u16>,
    ) -> Result<(u64, usize), Violation> {
        let sense_id = done.op == Op::Start && !done.not_initiated && kind == ProgramKind::SenseId;
        // Where the data must still hold DATA_FILL (DATA_LEN: nowhere).
        let fill_from = match (done.op, done.not_initiated, kind) {
            (Op::Start, false, ProgramKind::SenseId) => match residual {
                None => Some(DATA_LEN),
                Some(residual) => SENSE_ID_COUNT
                    .checked_sub(residual)
                    .map(usize::from)
                    .filter(|&stored| stored >= SenseId::MIN_LEN),
            },
            // A NOP residual above its count: check_area names it.
            (Op::Start, false, ProgramKind::Nop | ProgramKind::NopChain(_))
                if residual.is_some_and(|r| r > NOP_COUNT) =>
            {
                None
            }
            (Op::Start, _, _) => Some(0),
            _ => Some(DATA_LEN),
        };
        if let Some(fill_from) = fill_from {
            let baseline = self.baseline;
            let (area, _) = self.chan.area(slot);
            let (fingerprint, clean, fill_word) = area.scan(fill_from);
            // The baseline after this operation, if its SENSE ID is good.
            let identified = match (sense_id, baseline) {
                (false, _) => Some(baseline),
                (true, Some(b)) => self
                    .oracle
                    .check_sense_id(&area.data, b)
                    .ok()
                    .map(|()| baseline),
                (true, None) => SenseId::parse(&area.data).ok().map(Some),
            };
            if let (true, Some(id)) = (clean, identified) {
                self.baseline = id;
                self.clean_from[slot] = Some(fill_from);
                return Ok((fingerprint, fill_word));
            }
        }
        self.check_area(slot, kind, done, residual)?;
        let fill_word = DATA_LEN / 8;
        Ok((self.chan.area(slot).0.fingerprint(fill_word), fill_word))
    }

    fn check_area(
        &mut self,
        slot: usize,
        kind: ProgramKind,
        done: Completed,
        residual: Option<u16>,
    ) -> Result<(), Violation> {
        let baseline = self.baseline;
        let (area, _) = self.chan.area(slot);
        self.oracle.check_canary(&area.front, GUARD_BYTE)?;
        self.oracle.check_canary(&area.back, GUARD_BYTE)?;
        match (done.op, done.not_initiated, kind) {
            (Op::Start, false, ProgramKind::SenseId) => {
                match baseline {
                    Some(b) => self.oracle.check_sense_id(&area.data, b)?,
                    None => match SenseId::parse(&area.data) {
                        Ok(id) => self.baseline = Some(id),
                        Err(_) => {
                            let byte0 = u32::from(area.data[0]);
                            return Err(violation(
                                Class::DataCorruption,
                                "sense-id-without-0xff",
                                0xff,
                                byte0,
                            ));
                        }
                    },
                }
                let Some(residual) = residual else {
                    return Ok(());
                };
                // The device stored exactly count - residual bytes, at least
                // the identification, and not one byte more.
                let stored = SENSE_ID_COUNT.checked_sub(residual).map_or(0, usize::from);
                if stored < SenseId::MIN_LEN {
                    let v = violation(
                        Class::BadStatus,
                        "sense-id-residual",
                        u32::from(SENSE_ID_COUNT),
                        u32::from(residual),
                    );
                    return Err(v);
                }
                self.oracle.check_canary(&area.data[stored..], DATA_FILL)
            }
            // PoP ch. 16 Count: the residual is the last CCW's count less
            // what it transferred, so never above its count (1 for ccwgate's
            // NOPs). The architecture has 1 for a NOP, which transfers
            // nothing; QEMU's emulated devices store 0: both pass.
            (Op::Start, false, ProgramKind::Nop | ProgramKind::NopChain(_))
                if residual.is_some_and(|r| r > NOP_COUNT) =>
            {
                Err(violation(
                    Class::BadStatus,
                    "nop-residual-above-count",
                    u32::from(NOP_COUNT),
                    u32::from(residual.unwrap_or(0)),
                ))
            }
            // NOP transfers nothing, and a start that never began ran nothing.
            (Op::Start, _, _) => self.oracle.check_canary(&area.data, DATA_FILL),
            // A halted or cleared program may have stored part of its data.
            _ => Ok(()),
        }
    }
}

/// Count of each NOP CCW (nonzero, as every CCW's must be).
const NOP_COUNT: u16 = 1;

/// Writes the channel program for `kind` into `area` (at absolute `base`),
/// refilling its data and guards.
/// `clean_from`: the guards are intact and `data[n..]` holds DATA_FILL
/// (checked when the area's last operation ended), so only `data[..n]` is
/// refilled; `None` refills everything.
fn build(area: &mut IoArea, base: u32, kind: ProgramKind, clean_from: Option<usize>) -> Program {
    match clean_from {
        Some(n) => area.data[..n.min(DATA_LEN)].fill(DATA_FILL),
        None => {
            area.front = [GUARD_BYTE; GUARD_LEN];
            area.data = [DATA_FILL; DATA_LEN];
            area.back = [GUARD_BYTE; GUARD_LEN];
        }
    }
    let data = base + IoArea::DATA_OFFSET;
    let (cmd, count, n) = match kind {
        ProgramKind::SenseId => (cmd::SENSE_ID, SENSE_ID_COUNT, 1),
        ProgramKind::Nop => (cmd::NOP, NOP_COUNT, 1),
        ProgramKind::NopChain(n) => (cmd::NOP, NOP_COUNT, usize::from(n).clamp(1, MAX_CCWS)),
        ProgramKind::Sense => (cmd::SENSE, SENSE_COUNT, 1),
    };
    for (i, ccw) in area.ccws.iter_mut().enumerate().take(n) {
        let chain = if i + 1 < n {
            CcwFlags::CC
        } else {
            CcwFlags::empty()
        };
        *ccw = Ccw1::new(cmd, CcwFlags::SLI | chain, count, data);
    }
    Program::new(base, n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{HostBug, Sim};
    use std::vec::Vec;

    const SID: u32 = 0x0001_0000;

    fn config(scenario: Scenario, seed: u64, iterations: u32) -> Config {
        Config {
            scenario,
            seed,
            iterations: Some(iterations),
            ..Config::DEFAULT
        }
    }

    fn run(sim: &mut Sim, config: &Config) -> Result<Summary, Failure> {
        Driver::new(sim, config).run(|_| {})
    }

    /// Every scenario that does channel I/O.
    fn io_scenarios() -> impl Iterator<Item = Scenario> {
        Scenario::ALL.into_iter().filter(|s| {
            !matches!(
                s,
                Scenario::Selftest | Scenario::Crash | Scenario::Conformance
            )
        })
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

    fn detects(bug: HostBug, scenario: Scenario) -> Failure {
        let mut sim = Sim::with_bug(SID, bug, 30);
        let failure = run(&mut sim, &config(scenario, 7, 200)).expect_err("the bug went unnoticed");
        assert!(sim.fired(), "{bug:?} never fired");
        failure
    }

    #[test]
    fn a_nop_residual_above_its_count_is_bad_status() {
        let f = detects(HostBug::NopResidual, Scenario::Ssch);
        let v = f.violation;
        assert_eq!(
            (v.class, v.what, v.expected, v.actual),
            (Class::BadStatus, "nop-residual-above-count", 1, 0x100)
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
    fn busy_on_an_idle_subchannel_is_retried_under_vfio_ccw() {
        let c = Config {
            host: crate::cmdline::Host::VfioCcw,
            ..config(Scenario::Ssch, 7, 200)
        };
        let mut sim = Sim::with_bug(SID, HostBug::BusyAfterIdle, 30);
        let s = run(&mut sim, &c).expect("accepted and retried");
        assert!(sim.fired());
        assert_eq!(
            s.deviations
                .get(crate::oracle::Deviation::SschBusyWhileIdle),
            1
        );
        assert_eq!(s.iterations, 200);
        // The same host under the strict profile fails.
        let mut sim = Sim::with_bug(SID, HostBug::BusyAfterIdle, 30);
        let f = run(&mut sim, &config(Scenario::Ssch, 7, 200)).unwrap_err();
        assert_eq!(f.violation.what, "ssch-busy-while-idle");
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
        assert_eq!(race_not_exercised(&c, &s, false), Some("window"));
        // Off unless asked for: strict, or vfio-ccw on an emulated device.
        let off = Config {
            require_race: None,
            ..c
        };
        assert_eq!(race_not_exercised(&off, &s, false), None);
        let vfio = Config {
            host: crate::cmdline::Host::VfioCcw,
            ..off
        };
        assert_eq!(race_not_exercised(&vfio, &s, false), Some("window"));
        assert_eq!(race_not_exercised(&vfio, &s, true), None);
        // Scenarios without a race never need one.
        let ssch = Config {
            scenario: Scenario::Ssch,
            ..c
        };
        let s = run(&mut Sim::new(SID), &ssch).unwrap();
        assert_eq!(race_not_exercised(&ssch, &s, false), None);
    }

    #[test]
    fn virtio_devices_are_recognised_as_emulated() {
        let virtio = SenseId::parse(&[0xff, 0x38, 0x32, 0x04, 0x00, 0x00, 0x00]).unwrap();
        assert!(is_emulated(&virtio));
        let dasd = SenseId::parse(&[0xff, 0x39, 0x90, 0xe9, 0x33, 0x90, 0x0c]).unwrap();
        assert!(!is_emulated(&dasd));
    }

    #[test]
    fn the_environment_is_told_from_the_host() {
        // The device's own unit check: ERROR device-error with its sense.
        let mut sim = Sim::with_bug(SID, HostBug::UnitCheck, 30);
        let mut d = Driver::new(&mut sim, &config(Scenario::Ssch, 7, 200));
        let f = d.run(|_| {}).unwrap_err();
        assert_eq!(f.environment, Some("device-error"));
        assert_eq!(d.sense(), &[0x10, 0, 0, 0]);
        // The relay's made-up unit exception stays the host's fault.
        let f = detects(HostBug::UnitException, Scenario::Ssch);
        assert_eq!(f.violation.what, "relay-unit-exception");
        assert_eq!(f.environment, None);
        // Not operational with the device gone: ERROR device-gone.
        let f = detects(HostBug::DeviceGone, Scenario::Ssch);
        assert_eq!(f.violation.what, "ssch-not-operational");
        assert_eq!(f.environment, Some("device-gone"));
        // A command reject: the device got a command ccwgate never sends,
        // so the host changed the program: a FAIL, with the sense kept.
        let mut sim = Sim::with_bug(SID, HostBug::CommandReject, 30);
        let mut d = Driver::new(&mut sim, &config(Scenario::Ssch, 7, 200));
        let f = d.run(|_| {}).unwrap_err();
        assert_eq!(f.violation.what, "device-status-error");
        assert_eq!(f.environment, None);
        assert_eq!(d.sense().first(), Some(&0x80));
        // A device that never lets a program begin: ERROR device-busy.
        let f = detects(HostBug::NeverInitiate, Scenario::Ssch);
        assert_eq!(f.environment, Some("device-busy"));
        // Everything else stays a FAIL.
        for bug in [
            HostBug::MisattributeClear,
            HostBug::BusyAfterIdle,
            HostBug::LoseStatus,
        ] {
            let scenario = if bug == HostBug::MisattributeClear {
                Scenario::CschRace
            } else {
                Scenario::Ssch
            };
            assert_eq!(detects(bug, scenario).environment, None, "{bug:?}");
        }
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
            assert_eq!(race_not_exercised(&required, &b, false), None);
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
    fn a_device_that_never_begins_a_program_fails() {
        let f = detects(HostBug::NeverInitiate, Scenario::Ssch);
        assert_eq!(
            (f.violation.what, f.violation.actual),
            ("starts-never-initiated", MAX_NOT_INITIATED)
        );
        // One start that does not begin is allowed, and is not a completion.
        let mut sim = Sim::with_bug(SID, HostBug::NeverInitiate, 1);
        let f = run(&mut sim, &config(Scenario::Smoke, 1, 1)).unwrap_err();
        assert_eq!(f.violation.what, "starts-never-initiated");
    }

    #[test]
    fn a_write_into_a_finished_program_at_clear_time_is_caught() {
        let f = detects(HostBug::LateWriteAtClear, Scenario::CschIdle);
        assert_eq!(f.violation.what, "write-after-completion");
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
    fn lost_status_waits_no_longer_than_the_io_timeout() {
        let mut sim = Sim::with_bug(SID, HostBug::LoseStatus, 1);
        let c = Config {
            io_timeout_ms: 5,
            ..config(Scenario::Ssch, 1, 10)
        };
        let before = sim.tod();
        let f = run(&mut sim, &c).unwrap_err();
        assert_eq!(f.violation.class, Class::LostInterrupt);
        let waited = sim.tod() - before;
        assert!(
            (5 * 1000 * 4096..6 * 1000 * 4096).contains(&waited),
            "waited {waited}"
        );
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

    #[test]
    fn programs_are_format1_with_suppressed_length_checks() {
        let mut area = IoArea::new();
        let p = build(&mut area, 0x2000, ProgramKind::NopChain(3), None);
        assert_eq!((p.first_ccw, p.ccw_count), (0x2000, 3));
        assert!(area.ccws[0].flags.contains(CcwFlags::CC | CcwFlags::SLI));
        assert!(!area.ccws[2].flags.contains(CcwFlags::CC));
        assert_eq!(area.ccws[1].cda, 0x2000 + IoArea::DATA_OFFSET);
        let p = build(&mut area, 0x2000, ProgramKind::SenseId, None);
        assert_eq!(p.ccw_count, 1);
        assert_eq!(
            (area.ccws[0].cmd, area.ccws[0].count),
            (cmd::SENSE_ID, SENSE_ID_COUNT)
        );
    }

    /// The one-pass scan sees every byte that must keep its pattern, and
    /// only those; the fingerprint sees every byte.
    #[test]
    fn the_scan_checks_exactly_the_patterned_bytes() {
        let mut area = IoArea::new();
        build(&mut area, 0x2000, ProgramKind::SenseId, None);
        area.data[..12].copy_from_slice(&[0xff, 0x38, 0x32, 4, 0, 0, 0, 0, 9, 9, 9, 9]);
        for fill_from in [12, 16, 0x20, DATA_LEN] {
            assert!(
                area.scan(fill_from).1,
                "pristine with fill from {fill_from}"
            );
        }
        assert!(!area.scan(11).1, "a device byte where fill must be");
        assert!(!area.scan(0).1);
        let (fingerprint, _, fill_word) = area.scan(12);
        assert_eq!((fill_word, area.fingerprint(fill_word)), (2, fingerprint));
        let regions = [
            (IoArea::DATA_OFFSET as usize - GUARD_LEN, true),
            (IoArea::DATA_OFFSET as usize + 12, true),
            (IoArea::DATA_OFFSET as usize + 15, true),
            (IoArea::DATA_OFFSET as usize + DATA_LEN - 1, true),
            (
                IoArea::DATA_OFFSET as usize + DATA_LEN + GUARD_LEN - 1,
                true,
            ),
            // The device's own bytes and the CCWs hold no pattern.
            (IoArea::DATA_OFFSET as usize + 11, false),
            (3, false),
        ];
        let d = IoArea::DATA_OFFSET as usize;
        for (o, patterned) in regions {
            let mut hit = area.clone();
            match o {
                o if o < d - GUARD_LEN => hit.ccws[o / 8].count ^= 1,
                o if o < d => hit.front[o - (d - GUARD_LEN)] ^= 0x40,
                o if o < d + DATA_LEN => hit.data[o - d] ^= 0x40,
                o => hit.back[o - d - DATA_LEN] ^= 0x40,
            }
            let (f, clean, _) = hit.scan(12);
            assert_eq!(clean, !patterned, "offset {o}");
            assert_ne!(f, fingerprint, "offset {o}");
        }
    }
}
