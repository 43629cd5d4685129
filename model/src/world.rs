//! The pass-through path, step by step, behind [`gate::driver::Channel`].
//!
//! Five contexts share one subchannel:
//!
//! | # | context | what it runs |
//! |---|---|---|
//! | 0 | device | the real subchannel and device: start, CCW execution, halt, clear (architecture-exact) |
//! | 1 | host interrupt | the host's I/O interruption: cio's `do_cio_interrupt` (TSCH under `sch->lock`), `vfio_ccw_sch_irq`, `fsm_irq` |
//! | 2 | workqueue | `vfio_ccw_sch_io_todo` |
//! | 3 | QEMU I/O thread | `vfio_ccw_io_notifier_handler`: read the I/O region, copy the SCSW, `css_inject_io_interrupt` |
//! | 4 | vCPU | the guest's instruction as QEMU (`css_do_ssch`/`hsch`/`csch`/`tsch`) and the host (`vfio_ccw_mdev_write_io_region`, `fsm_io_request`, `fsm_io_helper`, the async region, `fsm_do_halt`/`fsm_do_clear`) run it; KVM presenting an interruption |
//! | 5 | control unit | unsolicited status ([`Unsolicited`], off by default): attention, a device end after a state change, a unit check (intervention required), busy with status modifier |
//!
//! A step is the code between two points where the real code can be
//! preempted or overtaken by another CPU. Code under `sch->lock` with
//! interrupts off (`fsm_io_helper`, `fsm_do_*`, cio's interrupt handler) is
//! one step. The vCPU holds QEMU's big lock (BQL) for a whole instruction,
//! which keeps the I/O thread out; it holds `io_mutex` from
//! `vfio_ccw_mdev_write_io_region`'s trylock to its return, which makes the
//! work item wait before it copies the IRB.
//!
//! Memory is modelled where a freed program can do harm: the host's shadow
//! CCWs live in a small heap whose chunks are reused by the next `cp_init`
//! (a device still running a freed program reads whatever is there now),
//! `cp_update_scsw` translates the device's CCW address back only while the
//! program is initialized and the address is inside it, and the device
//! stores its data into guest memory through the program's data address.
//!
//! The sources read for this model, in our own words, are Linux
//! `drivers/s390/cio/vfio_ccw_{fsm,drv,ops,async,cp}.c` and `cio.c` at v5.12
//! and after c6c82e0cd812, 6c02ac4c9211 and 2af7a834a435, and QEMU
//! `hw/s390x/css.c` and `hw/vfio/ccw.c` (7.2 and later); for the queue of
//! I/O interruptions, KVM's floating-interrupt list (FIFO; TSCH removes one
//! request for the subchannel before QEMU sees the instruction: Linux
//! `handle_tsch`, `kvm_s390_get_io_int`), or with [`World::tcg`] QEMU's own
//! under TCG (`hw/intc/s390_flic.c`: `qemu_s390_inject_io` puts the newest
//! first, `qemu_s390_flic_dequeue_io` presents the first, and
//! `ioinst_handle_tsch` removes none).

use std::collections::VecDeque;

use gate::cmdline::Collect;
use gate::css::{
    cmd, ActivityControl, Cc, CcwFlags, DeviceStatus, FunctionControl, Orb, Scsw, StatusControl,
};
use gate::driver::{Channel, IoArea, Status, DATA_LEN, GUARD_LEN, MAX_CCWS};
use gate::named_enum;
use gate::oracle::Interruption;
use gate::rng::Rng;

use crate::sched::{Candidate, Sched};
use crate::variant::Variant;

/// The subchannel the guest sees (0.0.0000).
pub const SID: u32 = 0x0001_0000;
/// Guest absolute addresses of the driver's two I/O areas.
pub const BASES: [u32; 2] = [0x0010_0000, 0x0010_1000];
/// Host memory (31-bit, as `cp_init` allocates it) for shadow CCW chains.
const HEAP_BASE: u32 = 0x3f00_0000;
const CHUNK: u32 = 0x100;
/// What the modelled device answers to SENSE ID: a 3990-E9 control unit
/// with a 3390-0C DASD.
pub const DEVICE_ID: [u8; 7] = [0xff, 0x39, 0x90, 0xe9, 0x33, 0x90, 0x0c];

/// TOD-clock units per microsecond.
pub const US: u64 = gate::tod::TOD_PER_US;

/// TEST SUBCHANNEL on a subchannel whose SCSW is `s` (the real one, or
/// QEMU's copy for the guest): the status stored, if status was pending,
/// and the conditions it clears (PoP ch. 14: status control; with more than
/// intermediate status, function control and the pending activities).
fn test_subchannel(s: &mut Scsw) -> Option<Scsw> {
    let stored = *s;
    let status = stored.sc().bits();
    if status & StatusControl::PENDING.bits() == 0 {
        return None;
    }
    s.set_sc(StatusControl::empty());
    if status != (StatusControl::INTERMEDIATE | StatusControl::PENDING).bits() {
        s.set_fc(FunctionControl::empty());
        s.0[0] &= !(ActivityControl::RESUME_PENDING
            | ActivityControl::START_PENDING
            | ActivityControl::HALT_PENDING
            | ActivityControl::CLEAR_PENDING
            | ActivityControl::SUSPENDED)
            .bits();
    }
    Some(stored)
}

/// `vfio_ccw_sch_io_todo`'s `is_final`: neither device nor subchannel
/// active.
fn is_final(s: &Scsw) -> bool {
    s.ac().bits() & (ActivityControl::DEVICE_ACTIVE | ActivityControl::SUBCHANNEL_ACTIVE).bits()
        == 0
}

/// Status with no function and alert status alone: the device's own
/// (unsolicited) status.
fn unsolicited(s: &Scsw) -> bool {
    s.fc().bits() == 0 && s.sc().bits() == (StatusControl::ALERT | StatusControl::PENDING).bits()
}

fn ds_word(ds: DeviceStatus) -> u32 {
    u32::from(ds.bits()) << 24
}

/// A latency, uniformly distributed over `min..=max` TOD units; with a
/// slow mode ([`Range::with_slow`]) a step takes `slow_min..=slow_max`
/// instead in `slow_percent` % of the draws (a TCG vCPU descheduled, a
/// host CPU taken by other work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub min: u64,
    pub max: u64,
    pub slow_min: u64,
    pub slow_max: u64,
    /// 0: no slow mode (the draw consumes what it did without one).
    pub slow_percent: u32,
}

impl Range {
    pub const fn us(min: u64, max: u64) -> Self {
        Range {
            min: min * US,
            max: max * US,
            slow_min: 0,
            slow_max: 0,
            slow_percent: 0,
        }
    }

    /// This range with a slow mode: `slow_min..=slow_max` µs in `percent` %
    /// of the draws.
    pub const fn with_slow(self, slow_min: u64, slow_max: u64, percent: u32) -> Self {
        Range {
            slow_min: slow_min * US,
            slow_max: slow_max * US,
            slow_percent: percent,
            ..self
        }
    }

    fn draw(&self, rng: &mut Rng, timed: bool) -> u64 {
        if !timed {
            return self.min;
        }
        // One number for the mode, only where there is a slow one: a range
        // without keeps its draws (and every later one) as they were.
        let (min, max) = if self.slow_percent > 0 && rng.chance(self.slow_percent) {
            (self.slow_min, self.slow_max)
        } else {
            (self.min, self.max)
        };
        if max <= min {
            return min;
        }
        let span = max - min;
        min + ((u128::from(rng.next_u64()) * u128::from(span + 1)) >> 64) as u64
    }

    /// The expected draw.
    fn mean(&self) -> u64 {
        let fast = (self.min + self.max) / 2;
        if self.slow_percent == 0 {
            return fast;
        }
        let p = u64::from(self.slow_percent.min(100));
        let slow = (self.slow_min + self.slow_max) / 2;
        (fast * (100 - p) + slow * p) / 100
    }
}

/// How long each piece of the path takes. The defaults sketch a DASD
/// passed through to a KVM guest: a few microseconds per intercept and
/// lock, tens for translating a channel program, tens to hundreds for the
/// device, and scheduling delays of tens for the workqueue and QEMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latencies {
    /// Guest instruction intercepted to QEMU's handler.
    pub intercept: Range,
    /// `cp_init` + `cp_prefetch`: copying, translating and pinning.
    pub translate: Range,
    /// Any other short host step (a lock, a copy, a real instruction).
    pub host_step: Range,
    /// SSCH accepted until the device begins.
    pub device_start: Range,
    pub ccw_nop: Range,
    pub ccw_sense_id: Range,
    /// HSCH accepted until its status.
    pub device_halt: Range,
    /// CSCH accepted until its status.
    pub device_clear: Range,
    /// Interruption request until the host takes it.
    pub host_irq: Range,
    /// `queue_work` until the worker runs.
    pub workqueue: Range,
    /// Eventfd signalled until QEMU's I/O thread runs its handler.
    pub eventfd: Range,
    /// Interruption queued until the guest is interrupted (`mode=irq`).
    pub deliver: Range,
    /// Interruption queued until a guest in an enabled wait (`mode=wait`)
    /// runs again: its vCPU woken. Defaults to `deliver`.
    pub enabled_wait: Range,
    /// Status there until the polling guest's next TEST PENDING
    /// INTERRUPTION (`mode=poll`: an interruption queued) or TEST
    /// SUBCHANNEL (`mode=tsch`: status pending in its SCHIB) finds it.
    /// Defaults to `deliver`.
    pub poll: Range,
    /// The guest's own time before each instruction it issues (its
    /// driver, oracle and trace between two instructions; nested TCG makes
    /// it long). Defaults to none.
    pub guest: Range,
    /// Added to `host-irq` and `workqueue` while the guest sits in an
    /// enabled wait (`mode=wait`): the host's CPUs are idle then, and one
    /// is woken first (on the nested box a halted TCG vCPU of the middle
    /// host, woken by the outer emulator). Defaults to none.
    pub idle_wake: Range,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            intercept: Range::us(2, 6),
            translate: Range::us(5, 40),
            host_step: Range::us(1, 2),
            device_start: Range::us(2, 10),
            ccw_nop: Range::us(10, 40),
            ccw_sense_id: Range::us(40, 200),
            device_halt: Range::us(5, 40),
            device_clear: Range::us(3, 30),
            host_irq: Range::us(1, 5),
            workqueue: Range::us(3, 80),
            eventfd: Range::us(5, 60),
            deliver: Range::us(1, 6),
            enabled_wait: Range::us(1, 6),
            poll: Range::us(1, 6),
            guest: Range::us(0, 0),
            idle_wake: Range::us(0, 0),
        }
    }
}

impl Latencies {
    /// A sketch of the nested real stack of docs/nested.md (x86 TCG, a
    /// Linux 6.1 middle host with vfio_ccw, QEMU 7.2 under TCG inside it),
    /// fitted by hand to its `csch-race` FAIL rates in the four modes and
    /// (`idle_wake`) to its `wait` cells (docs/model.md, "The model held to
    /// the real stack"), to be used with [`World::vcpu_spins`]. Not measured step by step: the box reports no
    /// per-step times.
    pub fn nested() -> Self {
        Latencies {
            // The guest's instruction through the inner QEMU's TCG helper.
            intercept: Range::us(100, 500),
            // cp_init and cp_prefetch on a middle host under TCG.
            translate: Range::us(200, 1000),
            host_step: Range::us(20, 100),
            // The outer QEMU's emulated device (virtio-rng-ccw) ends every
            // channel program, halt and clear inside the instruction.
            device_start: Range::us(0, 0),
            ccw_nop: Range::us(0, 0),
            ccw_sense_id: Range::us(0, 0),
            device_halt: Range::us(0, 0),
            device_clear: Range::us(0, 0),
            host_irq: Range::us(20, 100),
            workqueue: Range::us(50, 500),
            // The inner QEMU's main loop woken by the eventfd.
            eventfd: Range::us(100, 1000),
            deliver: Range::us(20, 200),
            // A halted inner vCPU thread woken by the injection.
            enabled_wait: Range::us(100, 1000),
            poll: Range::us(20, 200),
            // The doubly emulated guest's own code between instructions.
            guest: Range::us(50, 500),
            // A guest in an enabled wait leaves the middle host idle: its
            // halted TCG vCPUs are woken by the outer emulator first.
            idle_wake: Range::us(100, 500),
        }
    }

    /// A typical start-to-status time of a one-CCW program: what a delay
    /// sweep must cover for a CLEAR to land before, during and after it.
    pub fn start_to_status(&self) -> u64 {
        [
            self.intercept,
            self.translate,
            self.host_step,
            self.device_start,
            self.ccw_sense_id,
            self.host_irq,
            self.workqueue,
            self.host_step,
            self.eventfd,
            self.deliver,
        ]
        .iter()
        .map(Range::mean)
        .sum()
    }
}

named_enum! {
    /// What a real DASD presents on its own ([`Unsolicited`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum UnsolicitedKind {
        /// Attention (e.g. a shared device's state changed elsewhere).
        Attention => "attention",
        /// A device end alone: the device went from not ready to ready.
        DeviceEnd => "device-end",
        /// A unit check; the sense that follows says intervention required.
        UnitCheck => "unit-check",
        /// Busy with status modifier: the control unit is busy with another
        /// path. Only answers a start the device has not begun.
        Busy => "busy",
    }
}

impl UnsolicitedKind {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    fn device_status(self) -> DeviceStatus {
        match self {
            UnsolicitedKind::Attention => DeviceStatus::ATTENTION,
            UnsolicitedKind::DeviceEnd => DeviceStatus::DEVICE_END,
            UnsolicitedKind::UnitCheck => DeviceStatus::UNIT_CHECK,
            UnsolicitedKind::Busy => DeviceStatus::BUSY | DeviceStatus::STATUS_MODIFIER,
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Status the device presents on its own, as a real DASD can (PoP ch. 16,
/// alert status): while the real subchannel is idle, as unsolicited alert
/// status with no function; while a start is pending that the device has
/// not begun, in place of that start (deferred condition code 1, the start
/// not initiated). Timed runs present it at `percent` % per model
/// start-to-status time on average (exponential intervals and the kind
/// drawn from the seed); exhaustive runs present it once per interleaving,
/// at every point it can happen, of every kind that can come there (the
/// scheduler enumerates the kind). Off (`percent` 0) by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unsolicited {
    pub percent: u32,
    kinds: u8,
}

impl Unsolicited {
    pub const OFF: Unsolicited = Unsolicited {
        percent: 0,
        kinds: 0,
    };

    /// `percent` with `kinds` (none: attention and device end).
    pub fn new(percent: u32, kinds: &[UnsolicitedKind]) -> Self {
        let kinds = if kinds.is_empty() {
            &[UnsolicitedKind::Attention, UnsolicitedKind::DeviceEnd][..]
        } else {
            kinds
        };
        Unsolicited {
            percent,
            kinds: kinds.iter().fold(0, |m, k| m | k.bit()),
        }
    }

    pub fn on(&self) -> bool {
        self.percent > 0 && self.kinds != 0
    }

    pub fn kinds(&self) -> impl Iterator<Item = UnsolicitedKind> + '_ {
        UnsolicitedKind::ALL
            .into_iter()
            .filter(|k| self.kinds & k.bit() != 0)
    }
}

/// Ground truth of the host's mechanism: what happened inside, whether or
/// not the guest noticed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mechanism {
    /// The work item handed over the final status of a halt or clear while
    /// a newer start was in `CP_PROCESSING` or `CP_PENDING`: the 2021
    /// collision.
    pub stale_status_over_start: u64,
    /// `cp_free` of a program the device was still running.
    pub freed_while_running: u64,
    /// The FSM was set to IDLE while a start was being processed or ran.
    pub idle_under_start: u64,
    /// `cp_init` built over a program still initialized (before c6c82e0cd812).
    pub init_over_live: u64,
    /// `fsm_irq` overwrote an IRB the work item had not taken yet.
    pub irb_overwritten: u64,
    /// A write to the I/O region wiped an IRB before QEMU read it.
    pub irb_wiped: u64,
    /// The device stored data through a program that was freed.
    pub store_after_free: u64,
    /// Guest-visible status that QEMU replaced while still pending.
    pub status_replaced: u64,
    /// Unsolicited status the device presented ([`Unsolicited`]).
    pub unsolicited: u64,
}

impl Mechanism {
    /// Names of the counters, as reports print them.
    pub const EVENTS: [&'static str; 9] = [
        "stale-status-over-start",
        "freed-while-running",
        "idle-under-start",
        "init-over-live",
        "irb-overwritten",
        "irb-wiped",
        "store-after-free",
        "status-replaced",
        "unsolicited",
    ];

    /// Every counter with its name.
    pub fn events(&self) -> [(&'static str, u64); 9] {
        let n = [
            self.stale_status_over_start,
            self.freed_while_running,
            self.idle_under_start,
            self.init_over_live,
            self.irb_overwritten,
            self.irb_wiped,
            self.store_after_free,
            self.status_replaced,
            self.unsolicited,
        ];
        core::array::from_fn(|i| (Self::EVENTS[i], n[i]))
    }

    /// Whether anything happened that the guest could be blamed for
    /// missing: the race itself or its consequences.
    pub fn raced(&self) -> bool {
        self.stale_status_over_start + self.freed_while_running + self.idle_under_start > 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsm {
    NotOper,
    Standby,
    Idle,
    CpProcessing,
    CpPending,
}

/// A shadow CCW: the guest's CCW with its data address as the device sees
/// it (the guest page the host pinned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ShadowCcw {
    cmd: u8,
    flags: CcwFlags,
    count: u16,
    cda: u32,
}

#[derive(Clone, Debug)]
struct Chunk {
    ccws: Vec<ShadowCcw>,
    free: bool,
}

/// `struct channel_program`, reduced to what the race touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cp {
    initialized: bool,
    guest_cpa: u32,
    /// Host address of the shadow chain.
    chain: u32,
    len: u32,
}

const NO_CP: Cp = Cp {
    initialized: false,
    guest_cpa: 0,
    chain: 0,
    len: 0,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DevOp {
    Idle,
    Start {
        chain: u32,
        next: u32,
        begun: bool,
    },
    Halt {
        start: Option<(u32, u32)>,
    },
    Clear,
    /// Channel end was presented alone; the device end follows once the
    /// subchannel's status has been taken.
    DeviceEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Insn {
    Ssch(Orb),
    Hsch,
    Csch,
}

/// Where the vCPU is in the instruction it executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vpc {
    Idle,
    Enter(Insn),
    /// `vfio_ccw_mdev_write_io_region`: trylock, copy, FSM event.
    IoWrite,
    /// `fsm_io_request`: `cp_init` and `cp_prefetch`.
    Translate,
    /// `fsm_io_helper` under `sch->lock`.
    Helper,
    /// Back in `write_io_region` with the request's return code.
    IoReturn(i32),
    /// `vfio_ccw_async_region_write` and `fsm_do_halt`/`fsm_do_clear`.
    AsyncWrite {
        clear: bool,
    },
    /// The guest's TEST SUBCHANNEL for it.
    Tsch {
        sid: u32,
        intparm: u32,
    },
    Done(Cc),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wpc {
    Idle,
    /// `k-irb-once`: take the pending IRB's copy under `sch->lock`.
    Take,
    /// Linux 6.1.192: `is_final` read from `private->irb` before the lock.
    Final,
    /// `mutex-2026`, Linux 6.1.192: `mutex_lock(io_mutex)` before the
    /// solicited block.
    Lock,
    Start,
    Free {
        is_final: bool,
        solicited: bool,
    },
    Copy {
        is_final: bool,
        finished: bool,
        ends: bool,
    },
    Reset {
        is_final: bool,
        finished: bool,
        ends: bool,
    },
    Signal,
}

const EAGAIN: i32 = -11;
const EINVAL: i32 = -22;
const EBUSY: i32 = -16;
const ENODEV: i32 = -19;
const EACCES: i32 = -13;
const EIO: i32 = -5;

const DEVICE: usize = 0;
const HOST_IRQ: usize = 1;
const WORK: usize = 2;
const IOTHREAD: usize = 3;
const VCPU: usize = 4;
const CONTROL_UNIT: usize = 5;
const CONTEXTS: usize = 6;
const CONTEXT_NAMES: [&str; CONTEXTS] = ["device", "host-irq", "work", "iothread", "vcpu", "cu"];

/// Contexts that are host software and hold a host CPU while they run.
fn software(ctx: usize) -> bool {
    (WORK..=VCPU).contains(&ctx)
}

pub struct World {
    variant: Variant,
    lat: Latencies,
    pub sched: Sched,
    rng: Rng,
    now: u64,
    /// When the guest's own code resumes.
    guest_at: u64,
    ready: [u64; CONTEXTS],
    /// Host CPUs, as the time each is busy until.
    cpus: Vec<u64>,
    pub mech: Mechanism,
    /// Percent of completions whose device end comes separately.
    pub split_percent: u32,
    /// The guest runs under QEMU's TCG, not KVM: its queue of I/O
    /// interruptions presents the newest first and TEST SUBCHANNEL
    /// withdraws none (see the module doc).
    pub tcg: bool,
    /// How the guest collects status (its `mode=`): `irq` and `wait` take
    /// the interruption KVM or TCG presents and run TEST SUBCHANNEL;
    /// `poll`'s TEST PENDING INTERRUPTION takes the first queued one the
    /// same way; `tsch` keeps interruptions masked and polls TEST
    /// SUBCHANNEL on the subchannel, so none is ever presented and the
    /// status is reported with the last accepted start's parameter
    /// (`kernel/src/css/source.rs`).
    pub mode: Collect,
    /// The guest's vCPU thread holds a host CPU of its own while the guest
    /// runs or polls (`mode=irq`, `poll`, `tsch`: it spins), and lets it go
    /// only in an enabled wait (`mode=wait`); the host's other software
    /// shares the remaining CPUs. Off (the default): the vCPU takes a CPU
    /// only for its instructions' steps, like any other context.
    pub vcpu_spins: bool,
    /// The interruption parameter of the guest's last START that got cc 0
    /// (what `mode=tsch` reports).
    last_intparm: u32,
    unsolicited: Unsolicited,
    /// Timed: when the device next presents unsolicited status (as soon as
    /// it can from then on). Exhaustive: how many it may still present.
    next_unsolicited: u64,
    unsolicited_left: u32,
    /// A unit check's sense (intervention required) awaits a SENSE.
    sense_pending: bool,
    steps: u64,
    /// When set, one line per step: when, which context, what it did.
    pub log: Option<Vec<String>>,

    // Guest memory and QEMU's view of the subchannel.
    areas: [IoArea; 2],
    q_scsw: Scsw,
    q_intparm: u32,
    q_channel_prog: u32,
    q_saved_ctrl: u32,
    /// The reference relay and `q-unsol-hold`: unsolicited status kept
    /// until the guest's subchannel is idle.
    q_held: Option<Scsw>,
    /// The reference relay: a device end held for the halt the device is
    /// still performing.
    q_device_end: Option<Scsw>,
    /// KVM's floating I/O interruptions: (subchannel, parameter).
    flic: VecDeque<(u32, u32)>,
    guest_waiting: bool,
    presented: Option<Interruption>,
    vpc: Vpc,

    // The host driver (`struct vfio_ccw_private`).
    state: Fsm,
    cp: Cp,
    irb: Scsw,
    /// The reference host's own copy of the IRB its work item handles,
    /// and the IRBs queued for it (one work run each); `k-irb-queue`'s
    /// queue too.
    work_irb: Scsw,
    irb_queue: VecDeque<Scsw>,
    /// `k-irb-queue`: the I/O region holds an IRB that QEMU has not read
    /// (set by the work item's copy, cleared by QEMU's region read).
    region_unread: bool,
    irb_taken: bool,
    region_irb: Scsw,
    region_orb: Option<Orb>,
    io_mutex_vcpu: bool,
    /// `mutex-2026`: the work item holds `io_mutex` from before its
    /// solicited block to after its IDLE reset.
    io_mutex_work: bool,
    /// `k-irb-once`: `fsm_irq` marked `private->irb` pending and the work
    /// item has not taken its copy yet.
    irb_pending: bool,
    /// `k-gen`: the start generation (`fsm_io_helper`, SSCH cc 0) and the
    /// one `fsm_do_halt` / `fsm_do_clear` recorded (HSCH/CSCH cc 0).
    start_gen: u64,
    async_gen: u64,
    work_pending: bool,
    wpc: Wpc,
    /// Linux 6.1.192: the `is_final` the work item read before its lock.
    work_final: Option<bool>,
    eventfd: u32,
    heap: Vec<Chunk>,
    host_irq_taken: bool,
    /// Order of host requests: the last HSCH/CSCH issued to the device and
    /// the last start request that entered the FSM.
    seq: u64,
    async_seq: u64,
    start_seq: u64,

    // The real subchannel.
    hw: Scsw,
    hw_irq: bool,
    op: DevOp,
}

impl World {
    pub fn new(
        variant: Variant,
        lat: Latencies,
        host_cpus: usize,
        seed: u64,
        sched: Sched,
    ) -> Self {
        World {
            variant,
            lat,
            sched,
            rng: Rng::new(seed ^ 0x6d6f_6465_6c00_0000),
            now: 1 << 40,
            guest_at: 1 << 40,
            ready: [0; CONTEXTS],
            cpus: vec![0; host_cpus.max(1)],
            mech: Mechanism::default(),
            split_percent: 0,
            tcg: false,
            mode: Collect::Irq,
            vcpu_spins: false,
            last_intparm: 0,
            unsolicited: Unsolicited::OFF,
            next_unsolicited: u64::MAX,
            unsolicited_left: 0,
            sense_pending: false,
            steps: 0,
            log: None,
            areas: [IoArea::new(), IoArea::new()],
            q_scsw: Scsw::ZERO,
            q_intparm: 0,
            q_channel_prog: 0,
            q_saved_ctrl: 0,
            q_held: None,
            q_device_end: None,
            flic: VecDeque::new(),
            guest_waiting: false,
            presented: None,
            vpc: Vpc::Idle,
            // mdev open: the subchannel is enabled and the FSM idle.
            state: Fsm::Idle,
            cp: NO_CP,
            irb: Scsw::ZERO,
            work_irb: Scsw::ZERO,
            irb_queue: VecDeque::new(),
            region_unread: false,
            irb_taken: true,
            region_irb: Scsw::ZERO,
            region_orb: None,
            io_mutex_vcpu: false,
            io_mutex_work: false,
            irb_pending: false,
            start_gen: 0,
            async_gen: 0,
            work_pending: false,
            wpc: Wpc::Idle,
            work_final: None,
            eventfd: 0,
            heap: Vec::new(),
            host_irq_taken: false,
            seq: 0,
            async_seq: 0,
            start_seq: 0,
            hw: Scsw::ZERO,
            hw_irq: false,
            op: DevOp::Idle,
        }
    }

    /// Steps taken so far, all contexts.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Lets the device present unsolicited status ([`Unsolicited`]).
    pub fn set_unsolicited(&mut self, u: Unsolicited) {
        self.unsolicited = u;
        if !u.on() {
            self.next_unsolicited = u64::MAX;
            self.unsolicited_left = 0;
        } else if self.timed() {
            self.next_unsolicited = self.now + self.unsolicited_interval();
        } else {
            self.unsolicited_left = 1;
        }
    }

    /// An exponentially distributed wait with mean `100 / percent` model
    /// start-to-status times.
    fn unsolicited_interval(&mut self) -> u64 {
        let mean = self.lat.start_to_status() as f64 * 100.0 / f64::from(self.unsolicited.percent);
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-(1.0 - u).ln() * mean) as u64
    }

    /// Whether the device could present unsolicited status now: the real
    /// subchannel idle without status pending, or a start pending that the
    /// device has not begun.
    fn unsolicited_possible(&self) -> bool {
        if self.hw.sc().bits() & StatusControl::PENDING.bits() != 0 {
            return false;
        }
        match self.op {
            DevOp::Idle => self.hw.fc().bits() == 0,
            DevOp::Start { begun: false, .. } => true,
            _ => false,
        }
    }

    fn unsolicited_due(&self) -> bool {
        self.unsolicited.on()
            && self.unsolicited_possible()
            && if self.timed() {
                self.next_unsolicited != u64::MAX
            } else {
                self.unsolicited_left > 0
            }
    }

    /// The control unit presents unsolicited status: alert status with no
    /// function on an idle subchannel, or, in place of a start the device
    /// has not begun, the start function with deferred condition code 1.
    fn control_unit_step(&mut self) -> u64 {
        let starting = matches!(self.op, DevOp::Start { begun: false, .. });
        let kinds: Vec<UnsolicitedKind> = self
            .unsolicited
            .kinds()
            .filter(|&k| starting || k != UnsolicitedKind::Busy)
            .collect();
        if self.timed() {
            self.next_unsolicited = self.now + self.unsolicited_interval();
        } else {
            self.unsolicited_left -= 1;
        }
        if kinds.is_empty() {
            return 0; // busy alone, and no start to answer
        }
        // Timed: drawn from the seed; exhaustive: each kind in turn.
        let kind = kinds[self.sched.choose(kinds.len(), &mut self.rng)];
        self.mech.unsolicited += 1;
        if kind == UnsolicitedKind::UnitCheck {
            self.sense_pending = true;
        }
        let alert = (StatusControl::ALERT | StatusControl::PENDING).bits();
        let ds = ds_word(kind.device_status());
        if starting {
            // PoP ch. 16 Deferred Condition Code 1: the start function was
            // not initiated; it stays indicated with start pending.
            let dcc1 = 0x0100_0000;
            self.make_pending([
                dcc1 | FunctionControl::START.bits()
                    | ActivityControl::START_PENDING.bits()
                    | alert,
                0,
                ds,
            ]);
        } else {
            self.make_pending([alert, 0, ds]);
        }
        0
    }

    fn timed(&self) -> bool {
        self.sched.is_timed()
    }

    fn draw(&mut self, r: Range) -> u64 {
        let timed = self.timed();
        r.draw(&mut self.rng, timed)
    }

    // ---- scheduling ----

    fn runnable(&self, ctx: usize) -> bool {
        match ctx {
            DEVICE => match self.op {
                DevOp::Idle => false,
                DevOp::DeviceEnd => self.hw.sc().bits() & StatusControl::PENDING.bits() == 0,
                _ => true,
            },
            HOST_IRQ => self.hw_irq || self.host_irq_taken,
            WORK => match self.wpc {
                Wpc::Idle => self.work_pending,
                // mutex_lock sleeps while the vCPU's write holds io_mutex.
                // The reference host also waits until QEMU has read the
                // IRB it copied last: the region holds one.
                Wpc::Copy { .. } if self.variant.io_mutex_across_todo() => true,
                Wpc::Copy { .. } => {
                    let unread = self.variant.architectural_relay() && self.eventfd > 0;
                    !self.io_mutex_vcpu && !unread
                }
                // mutex-2026: mutex_lock before the solicited block.
                Wpc::Lock => !self.io_mutex_vcpu,
                // k-irb-queue: wait_event until QEMU read the region.
                Wpc::Take if self.variant.k_irb_queue() => !self.region_unread,
                _ => true,
            },
            // Needs the BQL, then sleeps on io_mutex in the region read.
            // The reference relay also holds new status back while the
            // guest's SCHIB still has status pending (upstream replaces it).
            IOTHREAD => {
                let held_back = self.variant.architectural_relay()
                    && self.q_scsw.sc().bits() & StatusControl::PENDING.bits() != 0;
                self.eventfd > 0
                    && !self.bql_held()
                    && !self.io_mutex_vcpu
                    && !self.io_mutex_work
                    && !held_back
            }
            CONTROL_UNIT => self.unsolicited_due(),
            VCPU => match self.vpc {
                // The waiting guest finds status: an interruption queued,
                // or (mode=tsch) status pending in its SCHIB.
                Vpc::Idle => self.guest_waiting && self.status_to_find(),
                Vpc::Done(_) => false,
                // The region writes' mutex_trylock fails while the work
                // item holds io_mutex (mutex-2026), and QEMU writes again
                // on -EAGAIN: the vCPU spins until the work item lets go,
                // modelled as waiting for it.
                Vpc::IoWrite | Vpc::AsyncWrite { .. } => !self.io_mutex_work,
                _ => true,
            },
            _ => false,
        }
    }

    /// The vCPU holds the BQL from QEMU's handler to the end of an
    /// instruction; an interruption is presented by KVM without it, and the
    /// TSCH that follows is a step of its own.
    fn bql_held(&self) -> bool {
        !matches!(self.vpc, Vpc::Idle | Vpc::Tsch { .. } | Vpc::Done(_))
    }

    /// Runs one step of whichever context the scheduler picks among those
    /// ready by `until`; false if none is.
    fn step(&mut self, until: u64) -> bool {
        let timed = self.timed();
        let cands: Vec<Candidate> = (0..CONTEXTS)
            .filter(|&c| self.runnable(c))
            .map(|c| Candidate {
                ctx: c,
                ready_at: self.start_time(c),
            })
            .filter(|c| !timed || c.ready_at <= until)
            .collect();
        if cands.is_empty() {
            return false;
        }
        let pick = cands[self.sched.pick(&cands)];
        if timed {
            self.now = self.now.max(pick.ready_at);
        } else {
            self.now += US;
        }
        self.steps += 1;
        let before = self.log.is_some().then(|| self.describe(pick.ctx));
        let took = self.run(pick.ctx);
        if let Some(before) = before {
            let line = format!(
                "{:>10.3}us {:<8} {before} -> fsm={:?} hw={:08x} guest={:08x} flic={}",
                (self.now - (1 << 40)) as f64 / US as f64,
                CONTEXT_NAMES[pick.ctx],
                self.state,
                self.hw.0[0],
                self.q_scsw.0[0],
                self.flic.len()
            );
            if let Some(log) = self.log.as_mut() {
                log.push(line);
            }
        }
        self.ready[pick.ctx] = self.now + took;
        if software(pick.ctx) {
            // Software contexts hold a host CPU for the step.
            let (from, to) = self.cpu_pool(pick.ctx);
            if let Some(cpu) = self.cpus[from..to].iter_mut().min() {
                *cpu = self.now + took;
            }
        }
        true
    }

    /// The host CPUs software context `c` can run on, as `cpus[from..to]`:
    /// any of them; with [`World::vcpu_spins`] the vCPU thread has CPU 0 to
    /// itself, and the other contexts the rest (all of them while the guest
    /// sits in an enabled wait; CPU 0 too if there is no other).
    fn cpu_pool(&self, c: usize) -> (usize, usize) {
        let n = self.cpus.len();
        if !self.vcpu_spins {
            return (0, n);
        }
        let halted = self.mode == Collect::Wait && self.guest_waiting && self.vpc == Vpc::Idle;
        match c {
            VCPU => (0, 1),
            _ if halted || n == 1 => (0, n),
            _ => (1, n),
        }
    }

    /// When context `c` can start its next step: its own readiness, and for
    /// software a free host CPU.
    fn start_time(&self, c: usize) -> u64 {
        if c == CONTROL_UNIT {
            return self.next_unsolicited;
        }
        let ready = self.ready[c];
        if software(c) {
            let (from, to) = self.cpu_pool(c);
            ready.max(self.cpus[from..to].iter().copied().min().unwrap_or(0))
        } else {
            ready
        }
    }

    fn describe(&self, ctx: usize) -> String {
        match ctx {
            DEVICE => format!("{:?}", self.op),
            HOST_IRQ => {
                if self.host_irq_taken {
                    "tsch+fsm_irq".into()
                } else {
                    "take".into()
                }
            }
            WORK => format!("{:?}", self.wpc),
            IOTHREAD => format!("relay irb={:08x}", self.region_irb.0[0]),
            CONTROL_UNIT => "unsolicited".into(),
            _ => match self.vpc {
                Vpc::Enter(Insn::Ssch(o)) => {
                    format!("SSCH intparm={:x} cpa={:x}", o.intparm, o.cpa)
                }
                Vpc::Idle => "present".into(),
                other => format!("{other:?}"),
            },
        }
    }

    fn wake(&mut self, ctx: usize, after: Range) {
        let d = self.draw(after);
        self.ready[ctx] = self.now + d;
    }

    /// The extra delay of the host's interruption or work item while the
    /// guest sits in an enabled wait (`idle_wake`): nothing else keeps the
    /// host's CPUs busy then, and an idle one is woken first. None (and no
    /// draw) by default.
    fn idle_host(&mut self) -> u64 {
        let idle = self.mode == Collect::Wait && self.guest_waiting && self.vpc == Vpc::Idle;
        if idle && self.lat.idle_wake.max > 0 {
            self.draw(self.lat.idle_wake)
        } else {
            0
        }
    }

    fn run(&mut self, ctx: usize) -> u64 {
        match ctx {
            DEVICE => self.device_step(),
            HOST_IRQ => self.host_irq_step(),
            WORK => self.work_step(),
            IOTHREAD => self.relay_step(),
            CONTROL_UNIT => self.control_unit_step(),
            _ => self.vcpu_step(),
        }
    }

    /// Runs the guest's instruction to its end, other contexts interleaved.
    fn execute(&mut self, insn: Insn) -> Cc {
        debug_assert_eq!(self.vpc, Vpc::Idle);
        // The guest's own code before the instruction (none by default).
        let own = self.draw(self.lat.guest);
        self.guest_at += own;
        self.vpc = Vpc::Enter(insn);
        self.ready[VCPU] = self.guest_at;
        loop {
            if let Vpc::Done(cc) = self.vpc {
                self.vpc = Vpc::Idle;
                self.guest_at = self.guest_at.max(self.ready[VCPU]);
                return cc;
            }
            if !self.step(u64::MAX) {
                unreachable!("the vCPU is always runnable inside an instruction");
            }
        }
    }

    // ---- the real subchannel and device ----

    fn heap_ccw(&self, addr: u32) -> Option<ShadowCcw> {
        let off = addr.checked_sub(HEAP_BASE)?;
        let chunk = self.heap.get((off / CHUNK) as usize)?;
        chunk.ccws.get(((off % CHUNK) / 8) as usize).copied()
    }

    fn chunk_free(&self, addr: u32) -> bool {
        addr.checked_sub(HEAP_BASE)
            .and_then(|off| self.heap.get((off / CHUNK) as usize))
            .is_none_or(|c| c.free)
    }

    fn hw_ssch(&mut self, chain: u32) -> u8 {
        if self.hw.sc().bits() & StatusControl::PENDING.bits() != 0 {
            return 1;
        }
        if self.hw.fc().bits() != 0 {
            return 2;
        }
        self.hw = Scsw::from_words([
            FunctionControl::START.bits() | ActivityControl::START_PENDING.bits(),
            0,
            0,
        ]);
        self.op = DevOp::Start {
            chain,
            next: 0,
            begun: false,
        };
        self.wake(DEVICE, self.lat.device_start);
        0
    }

    fn hw_hsch(&mut self) -> u8 {
        let s = self.hw.sc().bits();
        let intermediate_only = s == (StatusControl::INTERMEDIATE | StatusControl::PENDING).bits();
        if s & StatusControl::PENDING.bits() != 0 && !intermediate_only {
            return 1;
        }
        if self.hw.fc().bits() & (FunctionControl::HALT | FunctionControl::CLEAR).bits() != 0 {
            return 2;
        }
        self.hw.0[0] |= FunctionControl::HALT.bits() | ActivityControl::HALT_PENDING.bits();
        let start = match self.op {
            DevOp::Start { chain, next, .. } => Some((chain, next)),
            _ => None,
        };
        self.op = DevOp::Halt { start };
        self.wake(DEVICE, self.lat.device_halt);
        0
    }

    fn hw_csch(&mut self) -> u8 {
        // The clear function withdraws pending status and the interruption
        // request, and ends whatever the device was doing.
        self.hw = Scsw::from_words([
            FunctionControl::CLEAR.bits() | ActivityControl::CLEAR_PENDING.bits(),
            0,
            0,
        ]);
        self.hw_irq = false;
        self.op = DevOp::Clear;
        self.wake(DEVICE, self.lat.device_clear);
        0
    }

    /// TEST SUBCHANNEL on the real subchannel.
    fn hw_tsch(&mut self) -> Option<Scsw> {
        let s = test_subchannel(&mut self.hw)?;
        self.hw_irq = false;
        Some(s)
    }

    fn make_pending(&mut self, words: [u32; 3]) {
        self.hw = Scsw::from_words(words);
        self.hw_irq = true;
        self.op = DevOp::Idle;
        self.wake(HOST_IRQ, self.lat.host_irq);
        self.ready[HOST_IRQ] += self.idle_host();
    }

    fn device_step(&mut self) -> u64 {
        match self.op {
            DevOp::Idle => 0,
            DevOp::Start {
                chain,
                next,
                begun: false,
            } => {
                self.hw
                    .set_ac(ActivityControl::SUBCHANNEL_ACTIVE | ActivityControl::DEVICE_ACTIVE);
                self.op = DevOp::Start {
                    chain,
                    next,
                    begun: true,
                };
                let ccw = self.heap_ccw(chain);
                self.ccw_time(ccw)
            }
            DevOp::Start { chain, next, .. } => {
                let addr = chain + 8 * next;
                let Some(ccw) = self.heap_ccw(addr) else {
                    // No memory there at all: the channel cannot fetch.
                    self.make_pending([
                        FunctionControl::START.bits()
                            | (StatusControl::PRIMARY
                                | StatusControl::SECONDARY
                                | StatusControl::ALERT
                                | StatusControl::PENDING)
                                .bits(),
                        addr + 8,
                        u32::from(gate::css::SubchannelStatus::PROGRAM_CHECK.bits()) << 16,
                    ]);
                    return 0;
                };
                let mut residual = ccw.count;
                if ccw.cmd == cmd::SENSE {
                    // Sense byte 0 bit 1: intervention required, after the
                    // unit check that left it; zeros otherwise.
                    let mut sense = [0u8; 32];
                    if std::mem::take(&mut self.sense_pending) {
                        sense[0] = 0x40;
                    }
                    let n = usize::from(ccw.count).min(sense.len());
                    self.store(ccw.cda, &sense[..n]);
                    residual = ccw.count - n as u16;
                }
                if ccw.cmd == cmd::SENSE_ID {
                    let n = usize::from(ccw.count).min(DEVICE_ID.len());
                    if self.chunk_free(chain) {
                        self.mech.store_after_free += 1;
                    }
                    self.store(ccw.cda, &DEVICE_ID[..n]);
                    residual = ccw.count - n as u16;
                }
                if ccw.flags.contains(CcwFlags::CC) && (next + 1) < MAX_CCWS as u32 {
                    self.op = DevOp::Start {
                        chain,
                        next: next + 1,
                        begun: true,
                    };
                    let following = self.heap_ccw(addr + 8);
                    return self.ccw_time(following);
                }
                if self.split_percent > 0 && self.timed() && self.rng.chance(self.split_percent) {
                    // Channel end now, device end later (a control unit
                    // that disconnects before it is done).
                    self.make_pending([
                        FunctionControl::START.bits()
                            | ActivityControl::DEVICE_ACTIVE.bits()
                            | (StatusControl::PRIMARY | StatusControl::PENDING).bits(),
                        addr + 8,
                        ds_word(DeviceStatus::CHANNEL_END) | u32::from(residual),
                    ]);
                    self.op = DevOp::DeviceEnd;
                    return self.draw(self.lat.ccw_nop);
                }
                self.make_pending([
                    FunctionControl::START.bits()
                        | (StatusControl::PRIMARY
                            | StatusControl::SECONDARY
                            | StatusControl::PENDING)
                            .bits(),
                    addr + 8,
                    ds_word(DeviceStatus::CHANNEL_END | DeviceStatus::DEVICE_END)
                        | u32::from(residual),
                ]);
                0
            }
            DevOp::DeviceEnd => {
                // Secondary status alone: the start function went with the
                // primary status's TSCH.
                let cpa = self.hw.0[1];
                self.make_pending([
                    (StatusControl::SECONDARY | StatusControl::PENDING).bits(),
                    cpa,
                    ds_word(DeviceStatus::DEVICE_END),
                ]);
                0
            }
            DevOp::Halt {
                start: Some((chain, next)),
            } => {
                // The device stops at the CCW it was on and ends with
                // channel end and device end; start and halt indicated.
                self.make_pending([
                    (FunctionControl::START | FunctionControl::HALT).bits()
                        | (StatusControl::PRIMARY
                            | StatusControl::SECONDARY
                            | StatusControl::PENDING)
                            .bits(),
                    chain + 8 * (next + 1),
                    ds_word(DeviceStatus::CHANNEL_END | DeviceStatus::DEVICE_END),
                ]);
                0
            }
            DevOp::Halt { start: None } => {
                self.make_pending([
                    FunctionControl::HALT.bits() | StatusControl::PENDING.bits(),
                    0,
                    0,
                ]);
                0
            }
            DevOp::Clear => {
                self.make_pending([
                    FunctionControl::CLEAR.bits() | StatusControl::PENDING.bits(),
                    0,
                    0,
                ]);
                0
            }
        }
    }

    fn ccw_time(&mut self, ccw: Option<ShadowCcw>) -> u64 {
        match ccw {
            Some(c) if c.cmd == cmd::SENSE_ID => self.draw(self.lat.ccw_sense_id),
            _ => self.draw(self.lat.ccw_nop),
        }
    }

    /// The device stores `bytes` at guest absolute `addr`.
    fn store(&mut self, addr: u32, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let a = addr + i as u32;
            let Some(slot) = BASES
                .iter()
                .position(|&base| (base..base + 0x1000).contains(&a))
            else {
                continue;
            };
            let front = IoArea::DATA_OFFSET as usize - GUARD_LEN;
            let Some(off) = ((a - BASES[slot]) as usize).checked_sub(front) else {
                continue; // the CCWs: the device stores no data there
            };
            let area = &mut self.areas[slot];
            match off {
                o if o < GUARD_LEN => area.front[o] = b,
                o if o < GUARD_LEN + DATA_LEN => area.data[o - GUARD_LEN] = b,
                o if o < 2 * GUARD_LEN + DATA_LEN => area.back[o - GUARD_LEN - DATA_LEN] = b,
                _ => {}
            }
        }
    }

    // ---- the host: interruption, work item ----

    /// cio's `do_cio_interrupt`: the interruption is taken, then under
    /// `sch->lock` TSCH and, with status, `vfio_ccw_sch_irq` -> `fsm_irq`.
    fn host_irq_step(&mut self) -> u64 {
        if !self.host_irq_taken {
            self.hw_irq = false;
            self.host_irq_taken = true;
            return self.draw(self.lat.host_step);
        }
        self.host_irq_taken = false;
        self.host_takes_status();
        self.draw(self.lat.host_step)
    }

    /// Under `sch->lock`: TSCH on the real subchannel and, with status,
    /// `vfio_ccw_sch_irq` -> `fsm_irq`.
    fn host_takes_status(&mut self) {
        let Some(irb) = self.hw_tsch() else {
            // A CLEAR withdrew the status after the interruption was taken.
            return;
        };
        match self.state {
            Fsm::NotOper => {}
            _ => {
                // fsm_irq: private->irb = the IRB; queue_work.
                if self.variant.architectural_relay() || self.variant.k_irb_queue() {
                    // The reference host and k-irb-queue queue every IRB for
                    // the work item.
                    self.irb_queue.push_back(irb);
                } else {
                    if !self.irb_taken {
                        self.mech.irb_overwritten += 1;
                    }
                    self.irb = irb;
                    // k-irb-once: marked pending, under the same lock.
                    self.irb_pending = true;
                }
                self.irb_taken = false;
                if !self.work_pending {
                    self.work_pending = true;
                    if self.wpc == Wpc::Idle {
                        self.wake(WORK, self.lat.workqueue);
                        self.ready[WORK] += self.idle_host();
                    }
                }
            }
        }
    }

    /// `vfio_ccw_sch_io_todo`, one step per stretch the worker runs without
    /// a lock or a point where another CPU could change what it reads.
    fn work_step(&mut self) -> u64 {
        let t = self.draw(self.lat.host_step);
        let halt_or_clear = (FunctionControl::HALT | FunctionControl::CLEAR).bits();
        match self.wpc {
            Wpc::Idle => {
                self.work_pending = false;
                if self.variant.architectural_relay() {
                    if let Some(irb) = self.irb_queue.pop_front() {
                        self.irb = irb;
                        self.work_pending = !self.irb_queue.is_empty();
                    }
                }
                self.wpc = if self.variant.k_irb_once() || self.variant.k_irb_queue() {
                    Wpc::Take
                } else {
                    self.before_solicited()
                };
                0
            }
            Wpc::Take if self.variant.k_irb_queue() => {
                // k-irb-queue: under sch->lock, the oldest queued IRB off
                // the queue (k-irb-once's mark is the queue not being
                // empty); the work queued again while more remain.
                let Some(irb) = self.irb_queue.pop_front() else {
                    self.wpc = Wpc::Idle;
                    if self.work_pending {
                        self.wake(WORK, self.lat.host_step);
                    }
                    return t;
                };
                self.work_irb = irb;
                if !self.irb_queue.is_empty() {
                    self.work_pending = true;
                }
                self.wpc = self.before_solicited();
                t
            }
            Wpc::Take => {
                // k-irb-once: under sch->lock, the pending IRB's copy and
                // the mark cleared; nothing pending, nothing to do.
                if !self.irb_pending {
                    self.wpc = Wpc::Idle;
                    if self.work_pending {
                        self.wake(WORK, self.lat.host_step);
                    }
                    return t;
                }
                self.irb_pending = false;
                self.irb_taken = true;
                self.work_irb = self.irb;
                self.wpc = self.before_solicited();
                t
            }
            Wpc::Final => {
                // Linux 6.1.192: is_final from private->irb, before the
                // lock; fsm_irq may overwrite the IRB until the next read.
                self.work_final = Some(is_final(&self.work_view()));
                self.wpc = Wpc::Lock;
                t
            }
            Wpc::Lock => {
                // mutex-2026, Linux 6.1.192: io_mutex from here to after
                // the IDLE reset.
                self.io_mutex_work = true;
                self.wpc = Wpc::Start;
                t
            }
            Wpc::Start => {
                if !self.variant.k_irb_once() && !self.variant.k_irb_queue() {
                    self.irb_taken = self.irb_queue.is_empty();
                }
                if self.variant.architectural_relay() {
                    self.work_irb = self.irb;
                }
                let seen = self.work_view();
                // Read here, or (Linux 6.1.192) before the lock.
                let is_final = self.work_final.take().unwrap_or(is_final(&seen));
                // scsw_is_solicited: deferred cc set, or more than alert status.
                let solicited = seen.0[0] & Scsw::CC_MASK != 0
                    || seen.sc().bits() != (StatusControl::ALERT | StatusControl::PENDING).bits();
                if solicited {
                    let mut irb = seen;
                    self.cp_update_scsw(&mut irb);
                    if self.works_on_a_copy() {
                        self.work_irb = irb;
                    } else {
                        // Upstream updates private->irb in place, which the
                        // next fsm_irq may overwrite before the copy.
                        self.irb = irb;
                    }
                }
                self.wpc = Wpc::Free {
                    is_final,
                    solicited,
                };
                t
            }
            Wpc::Free {
                is_final,
                solicited,
            } => {
                let mut finished = false;
                let seen = self.work_view();
                // A halt's or clear's final status while a start the guest
                // issued after that halt or clear is being processed.
                if is_final
                    && matches!(self.state, Fsm::CpProcessing | Fsm::CpPending)
                    && seen.fc().bits() & halt_or_clear != 0
                    && self.start_seq > self.async_seq
                {
                    self.mech.stale_status_over_start += 1;
                }
                // Whether the status can end the current program. The
                // reference host: not a halt's or clear's status whose
                // request came before the program was started; k-gen the
                // same by its generations.
                let ends = if self.variant.architectural_relay() {
                    seen.fc().bits() & halt_or_clear == 0 || self.start_seq < self.async_seq
                } else if self.variant.k_gen() {
                    seen.fc().bits() & halt_or_clear == 0 || self.async_gen >= self.start_gen
                } else {
                    true
                };
                if solicited && is_final && self.state == Fsm::CpPending && ends {
                    self.cp_free();
                    finished = true;
                }
                self.wpc = Wpc::Copy {
                    is_final,
                    finished,
                    ends,
                };
                t
            }
            Wpc::Copy {
                is_final,
                finished,
                ends,
            } => {
                // mutex_lock(io_mutex); memcpy(irb_area, &private->irb). The
                // reference host and k-irb-once copy the IRB taken at the
                // start; under mutex-2026 the lock is already held.
                self.region_irb = self.work_view();
                if self.variant.k_irb_queue() {
                    self.region_unread = true;
                }
                self.wpc = Wpc::Reset {
                    is_final,
                    finished,
                    ends,
                };
                t
            }
            Wpc::Reset {
                is_final,
                finished,
                ends,
            } => {
                let reset = if self.variant.idle_only_when_cp_finished() {
                    finished
                } else {
                    is_final && ends
                };
                if reset {
                    self.set_idle();
                }
                // mutex-2026: mutex_unlock after the IDLE reset.
                self.io_mutex_work = false;
                self.wpc = Wpc::Signal;
                t
            }
            Wpc::Signal => {
                self.eventfd += 1;
                self.wake(IOTHREAD, self.lat.eventfd);
                self.wpc = Wpc::Idle;
                if self.work_pending {
                    self.wake(WORK, self.lat.host_step);
                }
                t
            }
        }
    }

    /// The work item's next step once it has its IRB: the lock first
    /// where it holds `io_mutex` across its solicited block, and before
    /// that (Linux 6.1.192) the `is_final` read.
    fn before_solicited(&self) -> Wpc {
        if self.variant.final_before_lock() {
            Wpc::Final
        } else if self.variant.io_mutex_across_todo() {
            Wpc::Lock
        } else {
            Wpc::Start
        }
    }

    /// Whether the work item works on a copy of the IRB of its own (the
    /// reference host, k-irb-once, k-irb-queue) rather than on
    /// `private->irb`.
    fn works_on_a_copy(&self) -> bool {
        self.variant.architectural_relay()
            || self.variant.k_irb_once()
            || self.variant.k_irb_queue()
    }

    /// The IRB the work item is handling, as it reads it now.
    fn work_view(&self) -> Scsw {
        if self.works_on_a_copy() {
            self.work_irb
        } else {
            self.irb
        }
    }

    /// Status for a function that the host took and that has not reached
    /// the guest's SCHIB yet (the reference host: queued, in the work item,
    /// or in the I/O region unread). Unsolicited status does not count: it
    /// ends no function.
    fn final_status_in_flight(&self) -> bool {
        let for_a_function = |s: &Scsw| s.fc().bits() != 0;
        let in_work = match self.wpc {
            Wpc::Idle => false,
            // Popped from the queue, not copied yet.
            Wpc::Take | Wpc::Final | Wpc::Lock | Wpc::Start => for_a_function(&self.irb),
            _ => for_a_function(&self.work_irb),
        };
        self.irb_queue.iter().any(for_a_function)
            || in_work
            || (self.eventfd > 0 && for_a_function(&self.region_irb))
    }

    fn set_idle(&mut self) {
        let running = matches!(self.op, DevOp::Start { .. });
        if matches!(self.state, Fsm::CpProcessing) || (self.state == Fsm::CpPending && running) {
            self.mech.idle_under_start += 1;
        }
        self.state = Fsm::Idle;
    }

    /// `cp_update_scsw`: the device's CCW address, inside the host's shadow
    /// chain (one CCW past its end included), back to the guest's address.
    fn cp_update_scsw(&self, irb: &mut Scsw) {
        if !self.cp.initialized {
            return;
        }
        let cpa = irb.0[1];
        let head = self.cp.chain;
        if cpa >= head && cpa <= head + 8 * self.cp.len {
            irb.0[1] = self.cp.guest_cpa + (cpa - head);
        }
    }

    fn cp_free(&mut self) {
        if !self.cp.initialized {
            return;
        }
        if matches!(self.op, DevOp::Start { chain, .. } | DevOp::Halt { start: Some((chain, _)) } if chain == self.cp.chain)
        {
            self.mech.freed_while_running += 1;
        }
        let i = ((self.cp.chain - HEAP_BASE) / CHUNK) as usize;
        self.heap[i].free = true;
        self.cp.initialized = false;
    }

    /// `cp_init` + `cp_prefetch`: copy the guest's CCWs into a shadow chain
    /// from the host heap (the lowest free chunk, as a slab reuses a freed
    /// object first), data addresses pinned.
    fn cp_init(&mut self, orb: &Orb) -> i32 {
        if self.cp.initialized {
            if self.variant.cp_init_checks() {
                return EBUSY;
            }
            // Before c6c82e0cd812: the old program is simply forgotten.
            self.mech.init_over_live += 1;
        }
        let Some(slot) = BASES.iter().position(|&b| b == orb.cpa) else {
            return EINVAL; // not a program the model knows
        };
        let mut ccws = Vec::new();
        for ccw in &self.areas[slot].ccws {
            ccws.push(ShadowCcw {
                cmd: ccw.cmd,
                flags: ccw.flags,
                count: ccw.count,
                cda: ccw.cda,
            });
            if !ccw.flags.contains(CcwFlags::CC) || ccws.len() == MAX_CCWS {
                break;
            }
        }
        let len = ccws.len() as u32;
        let i = match self.heap.iter().position(|c| c.free) {
            Some(i) => i,
            None => {
                self.heap.push(Chunk {
                    ccws: Vec::new(),
                    free: true,
                });
                self.heap.len() - 1
            }
        };
        self.heap[i] = Chunk { ccws, free: false };
        self.cp = Cp {
            initialized: true,
            guest_cpa: orb.cpa,
            chain: HEAP_BASE + i as u32 * CHUNK,
            len,
        };
        0
    }

    // ---- QEMU's I/O thread ----

    /// `vfio_ccw_io_notifier_handler`: one read of the I/O region for any
    /// number of signals, then the SCSW into the guest's SCHIB and an
    /// interruption.
    fn relay_step(&mut self) -> u64 {
        self.eventfd = 0;
        let host = self.region_irb;
        // k-irb-queue: vfio_ccw_mdev_read_io_region clears the mark and
        // wakes the work item.
        self.region_unread = false;
        if self.variant.q_unsol_hold() && unsolicited(&host) && self.q_scsw.fc().bits() != 0 {
            // q-unsol-hold: kept while the guest has a function outstanding.
            self.q_held = Some(host);
            return self.draw(self.lat.host_step);
        }
        if self.variant.architectural_relay() {
            if let Some(s) = self.architectural(host) {
                self.present_to_guest(s);
            }
        } else {
            let relayed = if self.variant.q_relay() {
                self.q_relay(host)
            } else {
                // copy_scsw_to_guest: every field, function control included.
                Some(host)
            };
            if let Some(mut s) = relayed {
                if self.variant.q_halt_dcc1()
                    && self.q_scsw.fc().bits() & FunctionControl::HALT.bits() != 0
                {
                    // q-halt-dcc1: the guest's halt ended a start still pending.
                    s.0[0] &=
                        !(ActivityControl::START_PENDING | ActivityControl::RESUME_PENDING).bits();
                }
                self.present_to_guest(s);
            }
        }
        self.draw(self.lat.host_step)
    }

    /// What a relay that follows the architecture presents for `host`:
    /// only status pending, only for a function the guest has outstanding
    /// and that the status can belong to, with the guest's own function
    /// control. Everything else is status of a function the guest has
    /// already seen end (a CLEAR withdrew it, a halt found the device idle
    /// after the start ended, or the work item handed it over twice).
    fn architectural(&mut self, host: Scsw) -> Option<Scsw> {
        if host.sc().bits() & StatusControl::PENDING.bits() == 0 {
            return None;
        }
        let host_fc = host.fc().bits();
        let guest_fc = self.q_scsw.fc().bits();
        if unsolicited(&host) {
            // Unsolicited: presented at once while the guest's subchannel
            // is idle; while the guest has a function outstanding, or a
            // start's device end still due (device active), kept until that
            // status has been taken (the device's status came before the
            // guest's function reached it).
            if guest_fc == 0 && !self.guest_device_active() {
                return Some(host);
            }
            self.q_held = Some(host);
            return None;
        }
        let (start, halt, clear) = (
            FunctionControl::START.bits(),
            FunctionControl::HALT.bits(),
            FunctionControl::CLEAR.bits(),
        );
        let belongs = if guest_fc & clear != 0 {
            host_fc & clear != 0
        } else if host_fc == 0 {
            // A device end after its channel end: the start (or the halt
            // the guest issued since) still awaits it. If the guest's halt
            // reached the device after the host took this device end, the
            // device halts an idle subchannel and presents the halt's own
            // status: the device end waits for it and ends the halt with it.
            if guest_fc & halt != 0 && self.hw.fc().bits() & halt != 0 {
                self.q_device_end = Some(host);
                return None;
            }
            true
        } else if guest_fc & halt != 0 {
            host_fc & clear == 0
        } else if guest_fc & start != 0 {
            host_fc == start
        } else {
            false
        };
        belongs.then(|| {
            let mut s = host;
            if let (Some(de), true) = (self.q_device_end.take(), host_fc & halt != 0) {
                // The halt's status with the device end it waited for.
                s.0[0] |= StatusControl::SECONDARY.bits();
                s.0[2] |= de.0[2] & ds_word(DeviceStatus::DEVICE_END);
            }
            s.set_fc(FunctionControl::from_bits_truncate(guest_fc));
            if guest_fc & halt != 0 {
                // The guest's halt was performed: it ends any start still
                // pending (a start the device never began, deferred cc 1).
                s.0[0] &=
                    !(ActivityControl::START_PENDING | ActivityControl::RESUME_PENDING).bits();
            }
            s
        })
    }

    /// `q-relay`'s `vfio_ccw_io_notifier_handler`: nothing for a region
    /// without status pending, nothing for status of a function the guest
    /// no longer has (it has CLEAR and the IRB lacks it; it is idle and
    /// the IRB has a function; it has START alone and the IRB has HALT or
    /// CLEAR); otherwise the host's SCSW with the guest's function control.
    fn q_relay(&self, host: Scsw) -> Option<Scsw> {
        if host.sc().bits() & StatusControl::PENDING.bits() == 0 {
            return None;
        }
        let (host_fc, guest_fc) = (host.fc().bits(), self.q_scsw.fc().bits());
        let (start, halt, clear) = (
            FunctionControl::START.bits(),
            FunctionControl::HALT.bits(),
            FunctionControl::CLEAR.bits(),
        );
        let gone = (guest_fc & clear != 0 && host_fc & clear == 0)
            || (guest_fc == 0 && host_fc != 0)
            || (guest_fc == start && host_fc & (halt | clear) != 0);
        (!gone).then(|| {
            let mut s = host;
            s.set_fc(FunctionControl::from_bits_truncate(guest_fc));
            s
        })
    }

    /// The guest's subchannel is device active: a start's device end is
    /// still due.
    fn guest_device_active(&self) -> bool {
        self.q_scsw.ac().contains(ActivityControl::DEVICE_ACTIVE)
    }

    fn present_to_guest(&mut self, s: Scsw) {
        if self.q_scsw.sc().bits() & StatusControl::PENDING.bits() != 0 {
            self.mech.status_replaced += 1;
        }
        self.q_scsw = s;
        self.inject();
    }

    /// `css_inject_io_interrupt`: queued with the parameter the SCHIB holds
    /// now.
    fn inject(&mut self) {
        if self.tcg {
            // qemu_s390_inject_io: QLIST_INSERT_HEAD.
            self.flic.push_front((SID, self.q_intparm));
        } else {
            self.flic.push_back((SID, self.q_intparm));
        }
        if self.guest_waiting && self.vpc == Vpc::Idle {
            let d = self.draw(self.notice());
            self.ready[VCPU] = self.ready[VCPU].max(self.now + d);
        }
    }

    /// `sch_gen_unit_exception`, QEMU's answer to a relay error.
    fn unit_exception(&mut self) {
        let s = &mut self.q_scsw;
        s.0[0] &= !(ActivityControl::DEVICE_ACTIVE | ActivityControl::SUBCHANNEL_ACTIVE).bits();
        s.0[0] |= (StatusControl::PRIMARY
            | StatusControl::SECONDARY
            | StatusControl::ALERT
            | StatusControl::PENDING)
            .bits();
        s.0[1] = self.q_channel_prog + 8;
        s.0[2] = ds_word(DeviceStatus::UNIT_EXCEPTION);
        self.inject();
    }

    // ---- the vCPU ----

    fn vcpu_step(&mut self) -> u64 {
        match self.vpc {
            Vpc::Idle if self.mode == Collect::Tsch => {
                // The polling guest's TEST SUBCHANNEL that finds the status
                // (the ones before it found none and changed nothing but,
                // under KVM, the queue: see guest_tsch).
                self.guest_tsch(SID, self.last_intparm)
            }
            Vpc::Idle => {
                // KVM (or TCG) presents the first queued interruption;
                // mode=poll's TEST PENDING INTERRUPTION takes it the same way.
                let (sid, intparm) = self
                    .flic
                    .pop_front()
                    .expect("runnable only with one queued");
                self.vpc = Vpc::Tsch { sid, intparm };
                self.draw(self.lat.intercept)
            }
            Vpc::Enter(insn) => self.qemu_instruction(insn),
            Vpc::IoWrite => {
                // vfio_ccw_mdev_write_io_region: trylock, copy the whole
                // region in (the IRB area with it), FSM event IO_REQ.
                if self.io_mutex_vcpu {
                    unreachable!("the vCPU holds io_mutex only within one instruction");
                }
                self.io_mutex_vcpu = true;
                if self.eventfd > 0 && self.region_irb != Scsw::ZERO {
                    self.mech.irb_wiped += 1;
                }
                self.region_irb = Scsw::ZERO;
                match self.state {
                    Fsm::Idle => {
                        self.seq += 1;
                        self.start_seq = self.seq;
                        self.state = Fsm::CpProcessing;
                        self.vpc = Vpc::Translate;
                    }
                    Fsm::CpPending => self.vpc = Vpc::IoReturn(EBUSY),
                    Fsm::CpProcessing => self.vpc = Vpc::IoReturn(EAGAIN),
                    Fsm::NotOper | Fsm::Standby => self.vpc = Vpc::IoReturn(EIO),
                }
                self.draw(self.lat.host_step)
            }
            Vpc::Translate => {
                let orb = self.region_orb.expect("set by the request");
                let rc = self.cp_init(&orb);
                if rc != 0 {
                    self.request_failed(rc, false);
                } else {
                    self.vpc = Vpc::Helper;
                }
                self.draw(self.lat.translate)
            }
            Vpc::Helper => {
                // fsm_io_helper: under sch->lock, SSCH with the shadow chain.
                let mut cc = self.hw_ssch(self.cp.chain);
                if cc == 1 && self.variant.k_unsol_tsch() && self.hw.fc().bits() == 0 {
                    // k-unsol-tsch: the device's own status pending (stsch
                    // shows no function): tsch, fsm_irq, SSCH again.
                    self.host_takes_status();
                    cc = self.hw_ssch(self.cp.chain);
                }
                if cc == 1 && self.variant.architectural_relay() {
                    // The reference host does not turn status pending into
                    // busy: it takes the status, as its interruption
                    // handler would, and starts again.
                    self.host_takes_status();
                    cc = self.hw_ssch(self.cp.chain);
                }
                match cc {
                    0 => {
                        // k-gen: a new start generation.
                        self.start_gen += 1;
                        self.state = Fsm::CpPending;
                        self.vpc = Vpc::IoReturn(0);
                    }
                    1 | 2 => self.request_failed(EBUSY, true),
                    _ => self.request_failed(ENODEV, true),
                }
                self.draw(self.lat.host_step)
            }
            Vpc::IoReturn(rc) => {
                // Before 6c02ac4c9211 any failed request, whichever FSM
                // handler failed it, returns the FSM to IDLE here.
                if rc != 0 && !self.variant.idle_reset_in_fsm() {
                    self.set_idle();
                }
                self.io_mutex_vcpu = false;
                let cc = match rc {
                    0 => Cc::Zero,
                    // QEMU writes again at once.
                    EAGAIN => {
                        self.vpc = Vpc::IoWrite;
                        return self.draw(self.lat.host_step);
                    }
                    EBUSY => Cc::Two,
                    ENODEV | EACCES => Cc::Three,
                    _ => {
                        self.unit_exception();
                        Cc::Zero
                    }
                };
                self.finish_ssch(cc);
                self.draw(self.lat.intercept)
            }
            Vpc::AsyncWrite { clear } => {
                // vfio_ccw_async_region_write: trylock (the vCPU is the only
                // holder across steps, and it is here), FSM event ASYNC_REQ.
                let rc = match self.state {
                    // The reference host halts only a program still pending
                    // at the host; once its final status is on its way to
                    // the guest, that status ends the halt (start and halt
                    // indicated) and the device is left alone.
                    Fsm::Idle | Fsm::CpPending
                        if !clear
                            && self.variant.architectural_relay()
                            && self.final_status_in_flight() =>
                    {
                        0
                    }
                    Fsm::Idle | Fsm::CpPending => {
                        self.seq += 1;
                        self.async_seq = self.seq;
                        let mut cc = if clear {
                            self.hw_csch()
                        } else {
                            self.hw_hsch()
                        };
                        if cc == 1
                            && !clear
                            && (self.variant.architectural_relay() || self.variant.k_unsol_tsch())
                            && self.hw.fc().bits() == 0
                        {
                            // Unsolicited status pending at the real
                            // subchannel: the reference host and
                            // k-unsol-tsch take it (the interruption
                            // handler's work) and halt again.
                            // A start's status pending ends the halt below.
                            self.host_takes_status();
                            cc = self.hw_hsch();
                        }
                        if cc == 0 {
                            // k-gen: fsm_do_halt / fsm_do_clear record the
                            // generation of the start they act on.
                            self.async_gen = self.start_gen;
                        }
                        match cc {
                            0 => 0,
                            1 | 2 if !clear => EBUSY,
                            3 => ENODEV,
                            other => i32::from(other),
                        }
                    }
                    Fsm::CpProcessing => EAGAIN,
                    Fsm::NotOper | Fsm::Standby => EIO,
                };
                if rc == EAGAIN {
                    return self.draw(self.lat.host_step);
                }
                let cc = if clear {
                    match rc {
                        0 => Cc::Zero,
                        ENODEV | EACCES => Cc::Three,
                        _ => {
                            self.unit_exception();
                            Cc::Zero
                        }
                    }
                } else {
                    match rc {
                        0 => Cc::Zero,
                        // The reference relay lets the pending start status
                        // end the halt, as the architecture has it.
                        EBUSY if self.variant.architectural_relay() => Cc::Zero,
                        EBUSY => Cc::Two,
                        ENODEV | EACCES => Cc::Three,
                        _ => {
                            self.unit_exception();
                            Cc::Zero
                        }
                    }
                };
                if cc != Cc::Zero {
                    self.q_scsw.set_control(self.q_saved_ctrl);
                }
                self.vpc = Vpc::Done(cc);
                self.draw(self.lat.intercept) + self.draw(self.lat.host_step)
            }
            Vpc::Tsch { sid, intparm } => self.guest_tsch(sid, intparm),
            Vpc::Done(_) => 0,
        }
    }

    /// The guest's TEST SUBCHANNEL, for an interruption presented (`sid`,
    /// `intparm` from its code) or polled (`mode=tsch`: the subchannel and
    /// the last accepted start's parameter). Polled, status found not
    /// pending (nothing can withdraw it between the poll's readiness and
    /// this step today, but should something) is not handed to the guest:
    /// its loop goes on.
    fn guest_tsch(&mut self, sid: u32, intparm: u32) -> u64 {
        // KVM's handle_tsch removes one queued request for the
        // subchannel, then QEMU stores the IRB and clears status
        // (under TCG ioinst_handle_tsch alone: nothing removed).
        if !self.tcg {
            if let Some(i) = self.flic.iter().position(|&(s, _)| s == SID) {
                self.flic.remove(i);
            }
        }
        let stored = test_subchannel(&mut self.q_scsw);
        if self.q_scsw.0[0] & (Scsw::FC_MASK | Scsw::SC_MASK) == 0
            && !(self.variant.architectural_relay() && self.guest_device_active())
        {
            if let Some(held) = self.q_held.take() {
                self.present_to_guest(held);
            }
        }
        let pending = stored.is_some();
        let s = stored.unwrap_or(Scsw::ZERO);
        let t = self.draw(self.lat.intercept);
        if pending || self.mode != Collect::Tsch {
            self.presented = Some(Interruption {
                sid,
                intparm,
                tsch_cc: if pending { Cc::Zero } else { Cc::One },
                scsw: s,
                tod: self.now + t,
            });
        }
        self.vpc = Vpc::Idle;
        t
    }

    /// What the waiting guest's collection finds: the first queued
    /// interruption, or (`mode=tsch`) status pending in its SCHIB.
    fn status_to_find(&self) -> bool {
        if self.mode == Collect::Tsch {
            self.q_scsw.sc().bits() & StatusControl::PENDING.bits() != 0
        } else {
            !self.flic.is_empty()
        }
    }

    /// How long status there takes to reach the waiting guest's handler
    /// or poll, by its mode.
    fn notice(&self) -> Range {
        match self.mode {
            Collect::Irq => self.lat.deliver,
            Collect::Wait => self.lat.enabled_wait,
            Collect::Poll | Collect::Tsch => self.lat.poll,
        }
    }

    /// An error in `fsm_io_request` (after the FSM went to CP_PROCESSING):
    /// `cp_free` when the program was built, and from 6c02ac4c9211 on the
    /// return to IDLE here, inside the FSM.
    fn request_failed(&mut self, rc: i32, built: bool) {
        if built {
            self.cp_free();
        }
        if self.variant.idle_reset_in_fsm() {
            self.set_idle();
        }
        self.vpc = Vpc::IoReturn(rc);
    }

    fn finish_ssch(&mut self, cc: Cc) {
        if cc != Cc::Zero {
            // css_do_ssch restores the control bits (not the parameter).
            self.q_scsw.set_control(self.q_saved_ctrl);
        }
        self.vpc = Vpc::Done(cc);
    }

    /// QEMU's `css_do_ssch`/`css_do_hsch`/`css_do_csch` on the guest's
    /// SCHIB, then the pass-through handler.
    fn qemu_instruction(&mut self, insn: Insn) -> u64 {
        let t = self.draw(self.lat.intercept);
        let ctrl = self.q_scsw.control();
        let status = ctrl & Scsw::SC_MASK;
        let pending = status & StatusControl::PENDING.bits() != 0;
        self.q_saved_ctrl = ctrl;
        match insn {
            Insn::Ssch(orb) => {
                if pending {
                    self.vpc = Vpc::Done(Cc::One);
                } else if ctrl & Scsw::FC_MASK != 0 {
                    self.vpc = Vpc::Done(Cc::Two);
                } else {
                    self.q_scsw.0[0] |=
                        FunctionControl::START.bits() | ActivityControl::START_PENDING.bits();
                    self.q_channel_prog = orb.cpa;
                    // sch_handle_start_func_passthrough.
                    self.q_intparm = orb.intparm;
                    self.region_orb = Some(orb);
                    self.vpc = Vpc::IoWrite;
                }
            }
            Insn::Hsch => {
                let busy_status =
                    (StatusControl::PRIMARY | StatusControl::SECONDARY | StatusControl::ALERT)
                        .bits();
                if status == StatusControl::PENDING.bits() || status & busy_status != 0 {
                    self.vpc = Vpc::Done(Cc::One);
                } else if ctrl & (FunctionControl::HALT | FunctionControl::CLEAR).bits() != 0 {
                    self.vpc = Vpc::Done(Cc::Two);
                } else {
                    self.q_scsw.0[0] |= FunctionControl::HALT.bits();
                    if !self.variant.architectural_relay() && !self.variant.q_relay() {
                        // Upstream removes the start function here.
                        self.q_scsw.0[0] &= !FunctionControl::START.bits();
                    }
                    self.q_scsw.0[0] |= ActivityControl::HALT_PENDING.bits();
                    self.vpc = Vpc::AsyncWrite { clear: false };
                }
            }
            Insn::Csch => {
                self.q_scsw.set_fc(FunctionControl::CLEAR);
                self.q_scsw.set_ac(ActivityControl::CLEAR_PENDING);
                if self.variant.architectural_relay() || self.variant.q_relay() {
                    // The clear function withdraws pending status and its
                    // interruption request.
                    self.q_scsw.set_sc(StatusControl::empty());
                    self.flic.retain(|&(s, _)| s != SID);
                }
                self.vpc = Vpc::AsyncWrite { clear: true };
            }
        }
        t
    }

    /// Runs the world until the guest is presented an interruption (and its
    /// TSCH ran) or the guest's clock reaches `deadline`.
    fn wait(&mut self, deadline: u64) -> Option<Interruption> {
        self.guest_waiting = true;
        if self.status_to_find() {
            self.ready[VCPU] = self.ready[VCPU].max(self.guest_at);
        }
        // mode=tsch: a deadline already passed still runs one TEST
        // SUBCHANNEL, at the guest's time, after what happened by then.
        let deadline = if self.mode == Collect::Tsch {
            deadline.max(self.guest_at)
        } else {
            deadline
        };
        let got = loop {
            if let Some(irq) = self.presented.take() {
                break Some(irq);
            }
            // An interruption already presented is handled (its TSCH) even
            // if the deadline passes meanwhile: the handler runs at once.
            let until = if matches!(self.vpc, Vpc::Tsch { .. }) {
                u64::MAX
            } else {
                deadline
            };
            if !self.step(until) {
                break None;
            }
        };
        self.guest_waiting = false;
        match got {
            Some(irq) => {
                self.guest_at = self.guest_at.max(irq.tod);
                Some(irq)
            }
            None => {
                self.guest_at = self.guest_at.max(deadline);
                None
            }
        }
    }
}

impl Channel for World {
    fn sid(&self) -> u32 {
        SID
    }

    fn area(&mut self, slot: usize) -> (&mut IoArea, u32) {
        (&mut self.areas[slot], BASES[slot])
    }

    /// The areas are the device's memory itself.
    fn publish(&mut self, _slot: usize, _refilled: Option<usize>) {}

    fn observe(&mut self, _slot: usize) {}

    fn ssch(&mut self, orb: &Orb) -> Cc {
        let cc = self.execute(Insn::Ssch(*orb));
        if cc == Cc::Zero {
            self.last_intparm = orb.intparm;
        }
        cc
    }

    fn csch(&mut self) -> Cc {
        self.execute(Insn::Csch)
    }

    fn hsch(&mut self) -> Cc {
        self.execute(Insn::Hsch)
    }

    fn tod(&self) -> u64 {
        self.guest_at
    }
}

impl Status for World {
    fn next_interruption(&mut self, deadline: u64) -> Option<Interruption> {
        self.wait(deadline)
    }

    fn collected(&mut self) -> Option<Interruption> {
        None
    }

    /// `mode=tsch` collects with TEST SUBCHANNEL alone, as the kernel's
    /// `Tsch` source does.
    fn start_reveals_pending(&self) -> bool {
        self.mode == Collect::Tsch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slow mode takes its range in about its share of the draws, and a
    /// range without one draws exactly what it drew before slow modes
    /// existed (one number, none for a single value).
    #[test]
    fn slow_modes_draw_their_share() {
        let fast = Range::us(10, 20);
        let slow = fast.with_slow(1000, 2000, 25);
        let mut rng = Rng::new(7);
        let draws: Vec<u64> = (0..4000).map(|_| slow.draw(&mut rng, true)).collect();
        let slow_ones = draws.iter().filter(|&&d| d >= 1000 * US).count();
        assert!((800..1200).contains(&slow_ones), "{slow_ones}");
        assert!(draws
            .iter()
            .all(|&d| (10 * US..=20 * US).contains(&d) || (1000 * US..=2000 * US).contains(&d)));
        let (mut a, mut b) = (Rng::new(3), Rng::new(3));
        for _ in 0..100 {
            let d = fast.draw(&mut a, true);
            let span = fast.max - fast.min;
            assert_eq!(
                d,
                fast.min + ((u128::from(b.next_u64()) * u128::from(span + 1)) >> 64) as u64
            );
        }
        assert_eq!(Range::us(5, 5).draw(&mut a, true), 5 * US);
        assert_eq!(a.next_u64(), b.next_u64(), "a single value draws nothing");
        // Exhaustive runs take the minimum, slow mode or not.
        assert_eq!(slow.draw(&mut a, false), 10 * US);
        assert_eq!(slow.mean(), (15 * US * 75 + 1500 * US * 25) / 100);
        assert_eq!(fast.with_slow(1000, 2000, 0).mean(), fast.mean());
    }

    /// With `vcpu_spins` the vCPU has CPU 0 and the host's other software
    /// the rest, unless the guest sits in an enabled wait; without, every
    /// software context may take any CPU (the model as it was).
    #[test]
    fn a_spinning_vcpu_keeps_its_cpu_until_an_enabled_wait() {
        let mut w = World::new(Variant::Fixed, Latencies::default(), 2, 1, Sched::Timed);
        for c in [WORK, IOTHREAD, VCPU] {
            assert_eq!(w.cpu_pool(c), (0, 2));
        }
        w.vcpu_spins = true;
        w.guest_waiting = true;
        for mode in Collect::ALL {
            w.mode = mode;
            assert_eq!(w.cpu_pool(VCPU), (0, 1));
            let others = if mode == Collect::Wait {
                (0, 2)
            } else {
                (1, 2)
            };
            assert_eq!((w.cpu_pool(WORK), w.cpu_pool(IOTHREAD)), (others, others));
        }
        w.guest_waiting = false;
        assert_eq!(w.cpu_pool(WORK), (1, 2), "a running guest keeps its CPU");
        // idle-wake: only for a guest in an enabled wait, and nothing (no
        // draw) while it is none.
        let mut lat = Latencies::default();
        w.mode = Collect::Wait;
        w.guest_waiting = true;
        assert_eq!(w.idle_host(), 0);
        lat.idle_wake = Range::us(7, 7);
        w.lat = lat;
        assert_eq!(w.idle_host(), 7 * US);
        w.mode = Collect::Irq;
        assert_eq!(w.idle_host(), 0);
        let mut one = World::new(Variant::Fixed, Latencies::default(), 1, 1, Sched::Timed);
        one.vcpu_spins = true;
        assert_eq!(one.cpu_pool(WORK), (0, 1), "one CPU is shared");
    }
}
