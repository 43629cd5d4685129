//! The channel subsystem as the scenarios see it: discovery and enabling of
//! the subchannel under test, and [`Subchannel`], the real-hardware
//! implementation of [`gate::driver::Channel`].
//!
//! Status reaches the driver in one of four ways (`mode=` on the command line):
//! - `irq`: the I/O-interruption handler runs TEST SUBCHANNEL and leaves the
//!   result in a slot; the driver unmasks I/O interruptions only while it
//!   waits in [`Channel::next_interruption`], one interruption per opening,
//!   so it sees instructions and status in their true order.
//! - `wait`: as `irq`, but the CPU waits for the interruption in an enabled
//!   wait state instead of spinning.
//! - `poll`: I/O interruptions stay masked; TEST PENDING INTERRUPTION is
//!   polled and TEST SUBCHANNEL run for what it returns.
//! - `tsch`: I/O interruptions stay masked; TEST SUBCHANNEL is polled on the
//!   subchannel itself. No interruption code is ever stored, so the
//!   interruption parameter is taken to be the subchannel's current one
//!   (the last accepted SSCH's) and cannot be checked.

pub mod insn;
pub mod second;

use crate::rt::psw::PswMask;
use crate::rt::{clock, cpu};
use gate::cmdline::{Collect, Config, Cpus, Devices, MAX_SUBCHANNELS};
use gate::css::{Cc, DeviceStatus, Irb, Orb, Schib, Scsw, SubchannelId};
use gate::driver::{Channel, DeviceState, IoArea, ENABLE_INTPARM, NOW};
use gate::oracle::Interruption;
use gate::rng::Rng;
use gate::route::Router;
use spin::Mutex;

/// Interruption subclass ccwgate enables its subchannel with.
pub const ISC: u8 = 3;

/// Why the subchannel under test could not be set up (an ERROR verdict).
#[derive(Clone, Copy, Debug)]
pub enum SetupError {
    NoDevice,
    NoSuchDevno(u16),
    EnableFailed { sid: u32, cc: u8 },
    NotEnabled { sid: u32 },
}

impl SetupError {
    pub fn reason(&self) -> &'static str {
        match self {
            SetupError::NoDevice => "no-device",
            SetupError::NoSuchDevno(_) => "no-such-devno",
            SetupError::EnableFailed { .. } => "enable-failed",
            SetupError::NotEnabled { .. } => "enable-not-effective",
        }
    }
}

/// A subchannel found by [`find`].
#[derive(Clone, Copy, Debug)]
pub struct Found {
    pub sid: u32,
    pub devno: u16,
}

/// The subchannels [`find`] chose, in the order `devno=` named them (or
/// in subchannel-number order).
#[derive(Clone, Copy, Debug)]
pub struct FoundSet {
    items: [Found; MAX_SUBCHANNELS],
    len: usize,
}

impl FoundSet {
    const EMPTY: Self = FoundSet {
        items: [Found { sid: 0, devno: 0 }; MAX_SUBCHANNELS],
        len: 0,
    };

    fn push(&mut self, found: Found) {
        self.items[self.len] = found;
        self.len += 1;
    }

    pub fn as_slice(&self) -> &[Found] {
        &self.items[..self.len]
    }
}

/// Scans subchannel set 0 for valid I/O subchannels: the first, those with
/// the listed device numbers, or all of them (up to [`MAX_SUBCHANNELS`]).
/// STSCH answers cc 3 for numbers with no subchannel behind them; those may
/// be sparse (vfio-ccw keeps the host's numbers), so the whole set is
/// scanned when looking for particular devices.
pub fn find(devices: &Devices) -> Result<FoundSet, SetupError> {
    let mut set = FoundSet::EMPTY;
    let listed = devices.listed();
    let mut by_devno = [None; MAX_SUBCHANNELS];
    let mut schib = Schib::ZERO;
    for number in 0..=u16::MAX {
        let sid = SubchannelId::ss0(number).0;
        if insn::stsch(sid, &mut schib) != Cc::Zero || !schib.pmcw.device_number_valid() {
            continue;
        }
        let found = Found {
            sid,
            devno: schib.pmcw.devno,
        };
        match devices {
            Devices::First => {
                set.push(found);
                return Ok(set);
            }
            Devices::All => {
                set.push(found);
                if set.len == MAX_SUBCHANNELS {
                    return Ok(set);
                }
            }
            Devices::List { .. } => {
                if let Some(i) = listed.iter().position(|&d| d == found.devno) {
                    by_devno[i] = Some(found);
                }
            }
        }
    }
    for (i, &devno) in listed.iter().enumerate() {
        set.push(by_devno[i].ok_or(SetupError::NoSuchDevno(devno))?);
    }
    if set.len == 0 {
        return Err(SetupError::NoDevice);
    }
    Ok(set)
}

const ENABLE_ATTEMPTS: u32 = 8;

/// Enables the subchannel with ccwgate's ISC and interruption parameter and
/// unmasks that ISC in CR6. Status left pending from before is collected and
/// dropped: it belongs to nobody the oracle knows.
pub fn enable(sid: u32) -> Result<(), SetupError> {
    let mut schib = Schib::ZERO;
    let mut last = Cc::Zero;
    for _ in 0..ENABLE_ATTEMPTS {
        if insn::stsch(sid, &mut schib) != Cc::Zero {
            return Err(SetupError::EnableFailed { sid, cc: 3 });
        }
        if schib.pmcw.is_enabled()
            && schib.pmcw.isc() == ISC
            && schib.pmcw.intparm == ENABLE_INTPARM
        {
            cpu::enable_isc(ISC);
            return Ok(());
        }
        schib.pmcw.intparm = ENABLE_INTPARM;
        schib.pmcw.set_isc(ISC);
        schib.pmcw.set_enabled(true);
        last = insn::msch(sid, &schib);
        match last {
            Cc::Zero => {}
            Cc::One => {
                let mut irb = Irb::ZERO;
                insn::tsch(sid, &mut irb);
            }
            Cc::Two => clock::spin_until(clock::tod() + clock::us_to_tod(100)),
            Cc::Three => return Err(SetupError::EnableFailed { sid, cc: 3 }),
        }
    }
    Err(match last {
        Cc::Zero => SetupError::NotEnabled { sid },
        cc => SetupError::EnableFailed {
            sid,
            cc: cc.as_u8(),
        },
    })
}

/// Status the I/O-interruption handler collected and the driver has not
/// taken yet. One slot is enough: the handler returns with I/O masked, so
/// each opening of I/O ([`Subchannel::interrupted`]) admits one interruption,
/// and the slot is emptied right after. The driver takes the lock only with
/// I/O masked, so it never spins against the handler.
static TAKEN: Mutex<Option<Interruption>> = Mutex::new(None);

/// Collects the status for an interruption code (from the lowcore or TPI).
/// A subchannel ID no subchannel instruction accepts is passed on unasked
/// (as TSCH cc 3, "not operational"), for the oracle to call it what it is:
/// TSCH on it would be a program check in the guest, not a verdict on the host.
fn collect(sid: u32, intparm: u32) -> Interruption {
    let tod = clock::tod();
    let mut irb = Irb::ZERO;
    let tsch_cc = if SubchannelId(sid).is_addressable() {
        insn::tsch(sid, &mut irb)
    } else {
        Cc::Three
    };
    keep_unit_check(tsch_cc, &irb);
    Interruption {
        sid,
        intparm,
        tsch_cc,
        scsw: irb.scsw,
        tod,
    }
}

/// The whole IRB of the last status with a unit check: its extended-status
/// and extended-control words are evidence when the run ends as the
/// device's own error (`device-error`).
static UNIT_CHECK_IRB: Mutex<Option<Irb>> = Mutex::new(None);

fn keep_unit_check(cc: Cc, irb: &Irb) {
    if cc == Cc::Zero && irb.scsw.device_status().contains(DeviceStatus::UNIT_CHECK) {
        *UNIT_CHECK_IRB.lock() = Some(*irb);
    }
}

/// The IRB kept by the last unit check, if any.
pub fn unit_check_irb() -> Option<Irb> {
    *UNIT_CHECK_IRB.lock()
}

/// The I/O-interruption path: collect the status of the interrupting
/// subchannel at once, as an operating system would.
pub fn on_io_interruption(sid: u32, intparm: u32) {
    if cpu::address() != 0 {
        return second::on_io_interruption(sid, intparm);
    }
    let irq = collect(sid, intparm);
    if TAKEN.lock().replace(irq).is_some() {
        // The handler masks I/O on return, so this is a ccwgate bug, and
        // losing status silently would hide host bugs: say so loudly.
        panic!("two I/O interruptions in one opening");
    }
}

fn take() -> Option<Interruption> {
    let mut slot = TAKEN.lock();
    // Copy out only what is there (under TCG a block copy is a helper call).
    if slot.is_none() {
        return None;
    }
    slot.take()
}

#[repr(C, align(8))]
struct Areas([IoArea; 2]);
/// Each subchannel's pair of I/O areas, by its index in the run.
static AREAS: [Mutex<Areas>; MAX_SUBCHANNELS] =
    [const { Mutex::new(Areas([IoArea::new(), IoArea::new()])) }; MAX_SUBCHANNELS];

/// The subchannels under test and the status collected for one of them
/// while another's driver waited ([`gate::route`]). Taken only by drivers,
/// never by the interruption handler.
static ROUTER: Mutex<Router> = Mutex::new(Router::new());

/// Mixed into the seed for choosing the CPU of each instruction.
const CPU_CHOICE_SEED: u64 = 0xc0c0_0001_5eed_0002;

/// Makes `found` the subchannels of this run, in this order; member `i` is
/// then [`Subchannel::new`]`(i, ..)`, with [`Router::intparm_base`]`(i)`
/// for its interruption parameters when there are several.
pub fn members(found: &[Found]) {
    let mut router = ROUTER.lock();
    router.clear();
    for f in found {
        router.add(f.sid);
    }
}

/// A subchannel under test, driven by real instructions.
pub struct Subchannel {
    index: usize,
    sid: u32,
    mode: Collect,
    cpus: Cpus,
    /// Which CPU runs each instruction under `cpus=both`.
    rng: Rng,
    /// Interruption parameter of the last accepted SSCH (or of enabling).
    intparm: u32,
    /// Several subchannels under test: status goes through the [`ROUTER`].
    /// With one, everything collected is this one's to judge.
    several: bool,
    /// Where this CPU's TEST SUBCHANNEL stores for the driver. TSCH stores
    /// the IRB with cc 0 and 1 and only then is its SCSW read, so the
    /// buffer is not cleared before each TSCH.
    irb: Irb,
    areas: spin::MutexGuard<'static, Areas>,
}

impl Subchannel {
    /// Member `index` of the run (see [`members`]).
    pub fn new(index: usize, sid: u32, config: &Config) -> Self {
        let areas = AREAS[index].try_lock().expect("one Subchannel per member");
        let several = ROUTER.lock().len() > 1;
        Subchannel {
            index,
            sid,
            mode: config.mode,
            cpus: config.cpus,
            rng: Rng::new(config.seed ^ CPU_CHOICE_SEED ^ index as u64),
            intparm: ENABLE_INTPARM,
            several,
            irb: Irb::ZERO,
            areas,
        }
    }

    /// Keeps `irq` for the member it belongs to, or hands it back.
    fn mine(&self, irq: Interruption) -> Option<Interruption> {
        if !self.several {
            return Some(irq);
        }
        ROUTER.lock().route(self.index, irq)
    }

    fn kept(&self) -> Option<Interruption> {
        if !self.several {
            return None;
        }
        ROUTER.lock().take(self.index)
    }

    /// Whether CPU 1 runs the next instruction (`cpus=both`, by the seed).
    fn on_second(&mut self) -> bool {
        self.cpus == Cpus::Both && self.rng.below(2) == 1
    }

    /// TEST SUBCHANNEL on this CPU or (`cpus=both`) the other.
    #[inline(always)]
    fn collect(&mut self, sid: u32, intparm: u32) -> Interruption {
        let second = self.on_second();
        // Both paths end in registers, and the status is built once from
        // them: block copies are MVC, a helper call under TCG.
        let (tsch_cc, [w0, w1, w2], tod) = if second || !SubchannelId(sid).is_addressable() {
            self.collect_elsewhere(second, sid, intparm)
        } else {
            let tod = clock::tod();
            let tsch_cc = insn::tsch(sid, &mut self.irb);
            keep_unit_check(tsch_cc, &self.irb);
            // TSCH stores the IRB with cc 0 and 1 only.
            let stored = u32::from(matches!(tsch_cc, Cc::Zero | Cc::One)).wrapping_neg();
            let [w0, w1, w2] = self.irb.scsw.words();
            (tsch_cc, [w0 & stored, w1 & stored, w2 & stored], tod)
        };
        Interruption {
            sid,
            intparm,
            tsch_cc,
            scsw: Scsw::from_words([w0, w1, w2]),
            tod,
        }
    }

    /// [`Subchannel::collect`] off the usual path: on the other CPU, or for
    /// a subchannel ID no instruction accepts.
    #[cold]
    #[inline(never)]
    fn collect_elsewhere(&mut self, second: bool, sid: u32, intparm: u32) -> (Cc, [u32; 3], u64) {
        if !second || !SubchannelId(sid).is_addressable() {
            let irq = collect(sid, intparm);
            return (irq.tsch_cc, irq.scsw.words(), irq.tod);
        }
        let tod = clock::tod();
        let (tsch_cc, irb) = second::on_second(second::Work::Tsch { sid });
        keep_unit_check(tsch_cc, &irb);
        (tsch_cc, irb.scsw.words(), tod)
    }

    /// Status kept for this subchannel by the router, or taken by an
    /// interruption handler and not handed out yet.
    #[inline(never)]
    fn collected_ahead(&mut self) -> Option<Interruption> {
        if let Some(irq) = self.kept() {
            return Some(irq);
        }
        loop {
            let taken = match (self.cpus, self.mode) {
                // CPU 1's queue may hold several, another member's ahead
                // of this one's: route those on until this one's or none.
                (Cpus::IoElsewhere, _) => second::take()?,
                (_, Collect::Irq | Collect::Wait) => return take().and_then(|irq| self.mine(irq)),
                // The polling modes keep I/O masked: no handler collects.
                (_, Collect::Poll | Collect::Tsch) => return None,
            };
            if let Some(irq) = self.mine(taken) {
                return Some(irq);
            }
        }
    }

    /// START SUBCHANNEL issued by CPU 1 (`cpus=both`).
    #[cold]
    #[inline(never)]
    fn ssch_on_second(&self, orb: &Orb) -> Cc {
        second::on_second(second::Work::Ssch {
            sid: self.sid,
            orb: *orb,
        })
        .0
    }

    /// Status from the machine in the run's mode, for any subchannel.
    #[inline(always)]
    fn raw(&mut self, deadline: u64) -> Option<Interruption> {
        if self.cpus == Cpus::IoElsewhere {
            return second::wait(deadline);
        }
        match self.mode {
            Collect::Poll => self.poll(deadline),
            Collect::Tsch => self.poll_tsch(deadline),
            Collect::Irq => self.interrupted(deadline),
            Collect::Wait => self.waited(deadline),
        }
    }

    #[inline(never)]
    fn poll(&mut self, deadline: u64) -> Option<Interruption> {
        loop {
            if let Some((sid, intparm)) = insn::tpi() {
                return Some(self.collect(sid, intparm));
            }
            if passed(deadline) {
                return None;
            }
        }
    }

    #[inline(always)]
    fn poll_tsch(&mut self, deadline: u64) -> Option<Interruption> {
        loop {
            let irq = self.collect(self.sid, self.intparm);
            if irq.tsch_cc != Cc::One || irq.tod >= deadline {
                return (irq.tsch_cc != Cc::One).then_some(irq);
            }
        }
    }

    #[inline(never)]
    fn waited(&mut self, deadline: u64) -> Option<Interruption> {
        // What is already pending comes in the moment I/O opens; only then
        // idle, until an interruption or the clock comparator at the deadline.
        take().or_else(open_once).or_else(|| {
            clock::wait_until(deadline, PswMask::IO, || TAKEN.lock().is_some());
            take()
        })
    }

    #[inline(never)]
    fn interrupted(&mut self, deadline: u64) -> Option<Interruption> {
        take().or_else(|| loop {
            if let Some(irq) = open_once() {
                return Some(irq);
            }
            if passed(deadline) {
                return None;
            }
        })
    }
}

/// Whether `deadline` has passed; [`NOW`] has without reading the clock
/// (the drain between iterations asks for what is there, nothing more).
#[inline(always)]
fn passed(deadline: u64) -> bool {
    deadline == NOW || clock::tod() >= deadline
}

/// Opens I/O for a moment: an interruption already pending is taken then.
fn open_once() -> Option<Interruption> {
    cpu::unmask_io();
    cpu::mask_io();
    take()
}

impl Channel for Subchannel {
    fn sid(&self) -> u32 {
        self.sid
    }

    fn area(&mut self, slot: usize) -> (&mut IoArea, u32) {
        let area = &mut self.areas.0[slot];
        let address = core::ptr::addr_of!(*area) as u64;
        debug_assert!(address < 1 << 31, "I/O areas must be below 2 GiB");
        (area, address as u32)
    }

    fn ssch(&mut self, orb: &Orb) -> Cc {
        let cc = if self.on_second() {
            self.ssch_on_second(orb)
        } else {
            insn::ssch(self.sid, orb)
        };
        // Only mode=tsch, which sees no interruption code, needs it.
        if cc == Cc::Zero && self.mode == Collect::Tsch {
            self.intparm = orb.intparm;
        }
        cc
    }

    fn csch(&mut self) -> Cc {
        if self.on_second() {
            return second::on_second(second::Work::Csch { sid: self.sid }).0;
        }
        insn::csch(self.sid)
    }

    fn hsch(&mut self) -> Cc {
        if self.on_second() {
            return second::on_second(second::Work::Hsch { sid: self.sid }).0;
        }
        insn::hsch(self.sid)
    }

    fn tod(&self) -> u64 {
        clock::tod()
    }

    #[inline(always)]
    fn collected(&mut self) -> Option<Interruption> {
        // One subchannel polled: nothing is ever collected ahead.
        let polled = matches!(self.mode, Collect::Poll | Collect::Tsch);
        if !self.several && polled && self.cpus != Cpus::IoElsewhere {
            return None;
        }
        self.collected_ahead()
    }

    fn start_reveals_pending(&self) -> bool {
        // TSCH on this subchannel is the only collection: no interruption,
        // no other subchannel's status, is ever seen between iterations.
        self.mode == Collect::Tsch && self.cpus != Cpus::IoElsewhere
    }

    fn log(&mut self, event: &gate::trace::Event) {
        crate::println!("event: {event}");
    }

    fn device_state(&mut self) -> DeviceState {
        let mut schib = Schib::ZERO;
        if insn::stsch(self.sid, &mut schib) != Cc::Zero || !schib.pmcw.device_number_valid() {
            return DeviceState::Gone;
        }
        let p = &schib.pmcw;
        if p.pim & p.pam & p.pom == 0 {
            DeviceState::NoPath
        } else {
            DeviceState::Present
        }
    }

    fn next_interruption(&mut self, deadline: u64) -> Option<Interruption> {
        if !self.several {
            return self.raw(deadline);
        }
        loop {
            if let Some(irq) = self.kept() {
                return Some(irq);
            }
            let irq = self.raw(deadline)?;
            if let Some(irq) = self.mine(irq) {
                return Some(irq);
            }
        }
    }
}

/// Measurement blocks the channel subsystem writes behind the program's
/// back (SET CHANNEL MONITOR, PMCW measurement mode): two format-0 blocks
/// (32 bytes each, at the SCHM origin plus 32 times the MBI) and one
/// format-1 block (64 bytes, at the SCHIB's measurement-block address).
#[repr(C, align(64))]
struct Blocks {
    fmt0: [u8; 64],
    fmt1: [u8; 64],
}

static BLOCKS: Mutex<Blocks> = Mutex::new(Blocks {
    fmt0: [0; 64],
    fmt1: [0; 64],
});

/// Operands of guarded instructions (`scenario=conformance`, and
/// `measure=1` trying the format-1 measurement block).
pub static SCRATCH: Mutex<insn::Scratch> = Mutex::new(insn::Scratch::new());

/// Safe access to [`BLOCKS`]: addresses to hand to the channel subsystem,
/// counts read with volatile loads, and `measure=1`'s set-up.
pub mod measurement {
    use super::{insn, BLOCKS, SCRATCH};
    use crate::rt;
    use gate::css::{Cc, Pmcw, PmcwChars, Schib, SCHM_UPDATE};
    use gate::measure::Format;

    /// Turns measurement on for subchannel `sid`: SET CHANNEL MONITOR with
    /// measurement-block update (origin: the format-0 area), then MODIFY
    /// SUBCHANNEL with the measurement mode set and a format-1 block, or,
    /// where the host refuses that (no extended measurement block
    /// facility: operand exception, or the fields not kept), the format-0
    /// block at index 0. Every step that a host without measurement blocks
    /// may refuse is a guarded instruction; `Err` says which refused.
    pub fn enable(sid: u32) -> Result<Format, &'static str> {
        clear();
        let on = rt::expect_program_interruption(|| {
            insn::schm_guarded(0, 0);
            insn::schm_guarded(SCHM_UPDATE, fmt0_origin());
        });
        if on.is_err() {
            return Err("schm-refused");
        }
        let mut s = Schib::ZERO;
        if insn::stsch(sid, &mut s) != Cc::Zero {
            return Err("stsch-failed");
        }
        s.pmcw.flags = (s.pmcw.flags & !Pmcw::MM_MASK) | Pmcw::MM_UPDATE;
        s.pmcw.mbi = 0;
        let mut fmt1 = s;
        fmt1.pmcw.chars |= PmcwChars::MBFC.bits();
        fmt1.set_mba(fmt1_address());
        if modify(sid, &fmt1) {
            return Ok(Format::One);
        }
        s.pmcw.chars &= !PmcwChars::MBFC.bits();
        s.set_mba(0);
        if modify(sid, &s) {
            return Ok(Format::Zero);
        }
        Err("measurement-mode-refused")
    }

    /// MSCH of `want` as a guarded instruction; true when it was accepted
    /// and STSCH shows the measurement fields as written.
    fn modify(sid: u32, want: &Schib) -> bool {
        let mut scratch = SCRATCH.lock();
        scratch.0[..Schib::LEN].copy_from_slice(&want.to_bytes());
        let cc = rt::expect_program_interruption(|| insn::msch_at(sid, &mut scratch, 0));
        if cc != Ok(Cc::Zero) {
            return false;
        }
        let mut got = Schib::ZERO;
        insn::stsch(sid, &mut got) == Cc::Zero
            && got.pmcw.flags & Pmcw::MM_MASK == want.pmcw.flags & Pmcw::MM_MASK
            && got.pmcw.chars & PmcwChars::MBFC.bits() == want.pmcw.chars & PmcwChars::MBFC.bits()
            && got.pmcw.mbi == want.pmcw.mbi
            // Words 10-11 hold the address only for a format-1 block.
            && (want.pmcw.chars & PmcwChars::MBFC.bits() == 0 || got.mba() == want.mba())
    }

    /// The SSCH+RSCH count of the block `enable` chose.
    pub fn count(format: Format) -> u32 {
        match format {
            Format::Zero => u32::from(fmt0_count(0)),
            Format::One => fmt1_count(),
        }
    }

    /// Origin of the format-0 area (32-byte aligned) for SCHM's GR2.
    pub fn fmt0_origin() -> u64 {
        BLOCKS.lock().fmt0.as_ptr() as u64
    }

    /// Address of the format-1 block (64-byte aligned) for the SCHIB.
    pub fn fmt1_address() -> u64 {
        BLOCKS.lock().fmt1.as_ptr() as u64
    }

    /// SSCH+RSCH count of format-0 block `index` (0 or 1): a halfword at
    /// offset 0 of the 32-byte block.
    pub fn fmt0_count(index: usize) -> u16 {
        let blocks = BLOCKS.lock();
        let p = blocks.fmt0[index * 32..index * 32 + 2].as_ptr();
        let mut b = [0u8; 2];
        for (i, byte) in b.iter_mut().enumerate() {
            // SAFETY: p..p+2 lies in the locked static; volatile because
            // the channel subsystem stores there without the compiler's
            // knowledge.
            *byte = unsafe { core::ptr::read_volatile(p.add(i)) };
        }
        u16::from_be_bytes(b)
    }

    /// SSCH+RSCH count of the format-1 block: a word at offset 0.
    pub fn fmt1_count() -> u32 {
        let blocks = BLOCKS.lock();
        let p = blocks.fmt1.as_ptr();
        let mut b = [0u8; 4];
        for (i, byte) in b.iter_mut().enumerate() {
            // SAFETY: as in fmt0_count.
            *byte = unsafe { core::ptr::read_volatile(p.add(i)) };
        }
        u32::from_be_bytes(b)
    }

    /// Zeroes every block (with measurements off, or the counts race).
    pub fn clear() {
        let mut guard = BLOCKS.lock();
        let blocks = &mut *guard;
        for byte in blocks.fmt0.iter_mut().chain(blocks.fmt1.iter_mut()) {
            let p: *mut u8 = byte;
            // SAFETY: p points into the locked static.
            unsafe { core::ptr::write_volatile(p, 0) };
        }
    }
}
