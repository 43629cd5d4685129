//! The channel subsystem as the scenarios see it: discovery and enabling of
//! the subchannel under test, and [`Subchannel`], the real-hardware
//! implementation of [`gate::driver::Channel`] and [`gate::driver::Status`]:
//! the instructions through an [`issue::Issuer`] (on this CPU, or on either
//! CPU), the status from a [`source::Source`] (how it is collected: see
//! [`source`]), both chosen once, in [`Subchannel::new`]. What the channel
//! subsystem stores into behind the program's back (the I/O areas, the
//! measurement blocks) is [`dma`] memory.

pub mod dma;
pub mod insn;
pub mod issue;
pub mod second;
pub mod source;

use crate::rt::{clock, cpu};
use gate::cmdline::{Collect, Config, Cpus, Devices, MAX_SUBCHANNELS};
use gate::css::{Cc, DeviceStatus, Irb, Orb, Schib, StatusControl, SubchannelId};
use gate::driver::{Channel, DeviceState, IoArea, Status, ENABLE_INTPARM};
use gate::oracle::Interruption;
use gate::rng::Rng;
use issue::Issuer;
use source::{Chosen, Own, Routed, Source};
use spin::Mutex;

pub use source::on_io_interruption;

/// Interruption subclass ccwgate enables its subchannel with.
pub const ISC: u8 = 3;

/// Why the subchannel under test could not be set up (an ERROR verdict).
#[derive(Clone, Copy, Debug)]
pub enum SetupError {
    NoDevice,
    NoSuchDevno(u16),
    EnableFailed {
        sid: u32,
        cc: u8,
    },
    NotEnabled {
        sid: u32,
    },
    /// Between a batch's runs ([`reset`]): the subchannel did not come
    /// back to idle and disabled; `step` says where it stuck.
    ResetFailed {
        sid: u32,
        step: &'static str,
    },
}

impl SetupError {
    pub fn reason(&self) -> &'static str {
        match self {
            SetupError::NoDevice => "no-device",
            SetupError::NoSuchDevno(_) => "no-such-devno",
            SetupError::EnableFailed { .. } => "enable-failed",
            SetupError::NotEnabled { .. } => "enable-not-effective",
            SetupError::ResetFailed { .. } => "reset-failed",
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

/// One MODIFY SUBCHANNEL of `schib`, with the retry policy every caller
/// shares: status pending (cc 1) is taken by `settle`, busy (cc 2) waited
/// out for 100 µs, and either is `Err` for the caller to try again; cc 0
/// and cc 3 are final (`Ok`).
///
/// # Safety
///
/// That of [`insn::msch`] for `schib`.
pub unsafe fn msch_retrying(sid: u32, schib: &Schib, settle: impl FnOnce()) -> Result<Cc, Cc> {
    // SAFETY: the caller provides for the measurement block `schib`
    // designates, if any (the `# Safety` section).
    match unsafe { insn::msch(sid, schib) } {
        Cc::One => {
            settle();
            Err(Cc::One)
        }
        Cc::Two => {
            clock::spin_until(clock::tod() + clock::us_to_tod(100));
            Err(Cc::Two)
        }
        cc => Ok(cc),
    }
}

/// Takes (and drops) the status pending at `sid`.
fn take_status(sid: u32) {
    let mut irb = Irb::ZERO;
    insn::tsch(sid, &mut irb);
}

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
        // SAFETY: the subchannel's own SCHIB (STSCH) with only its
        // interruption parameter, ISC and enable bit changed keeps the
        // measurement mode and block it has: the MSCH starts no storing
        // that was not going on (the only blocks ccwgate ever designates
        // are `measurement`'s, `Dma` memory, for the rest of the run).
        last = match unsafe { msch_retrying(sid, &schib, || take_status(sid)) } {
            Ok(Cc::Three) => return Err(SetupError::EnableFailed { sid, cc: 3 }),
            Ok(cc) | Err(cc) => cc,
        };
    }
    Err(match last {
        Cc::Zero => SetupError::NotEnabled { sid },
        cc => SetupError::EnableFailed {
            sid,
            cc: cc.as_u8(),
        },
    })
}

/// Brings subchannel `sid`, used by a batch's previous run, back to a
/// known state for the next (docs/campaigns.md): CLEAR SUBCHANNEL ends
/// whatever that run left going, its status and any other left pending
/// are collected and dropped, and the subchannel is disabled; [`enable`]
/// then enables it as at boot. Each wait is bounded by `timeout_ms`.
pub fn reset(sid: u32, timeout_ms: u32) -> Result<(), SetupError> {
    let fail = |step| Err(SetupError::ResetFailed { sid, step });
    let deadline = clock::tod() + clock::us_to_tod(u64::from(timeout_ms) * 1000);
    if insn::csch(sid) == Cc::Three {
        return fail("csch");
    }
    let mut schib = Schib::ZERO;
    let mut irb = Irb::ZERO;
    // The clear's own status, then idle: no function, nothing pending.
    loop {
        if insn::tsch(sid, &mut irb) == Cc::Three || insn::stsch(sid, &mut schib) != Cc::Zero {
            return fail("gone");
        }
        let scsw = schib.scsw;
        if scsw.fc().is_empty() && !scsw.sc().contains(StatusControl::PENDING) {
            break;
        }
        if clock::tod() > deadline {
            return fail("clear");
        }
        clock::spin_until(clock::tod() + clock::us_to_tod(10));
    }
    for _ in 0..ENABLE_ATTEMPTS {
        if insn::stsch(sid, &mut schib) != Cc::Zero {
            return fail("gone");
        }
        if !schib.pmcw.is_enabled() {
            return drain(sid);
        }
        schib.pmcw.set_enabled(false);
        // SAFETY: as in `enable`: the subchannel's own SCHIB, only its
        // enable bit changed, designates no block it did not have.
        if unsafe { msch_retrying(sid, &schib, || take_status(sid)) } == Ok(Cc::Three) {
            return fail("gone");
        }
    }
    fail("disable")
}

/// Takes the I/O interruptions still pending after [`reset`]: they belong
/// to the previous run, not to the next. The host may keep an interruption
/// request whose status TEST SUBCHANNEL already took (QEMU does), and
/// `mode=poll`/`tsch` runs leave one per status they polled.
fn drain(sid: u32) -> Result<(), SetupError> {
    let mut irb = Irb::ZERO;
    for _ in 0..DRAIN_LIMIT {
        match insn::tpi() {
            Some((pending, _)) if SubchannelId(pending).is_addressable() => {
                insn::tsch(pending, &mut irb);
            }
            Some(_) => {}
            None => return Ok(()),
        }
    }
    Err(SetupError::ResetFailed { sid, step: "drain" })
}

/// Pending interruptions [`drain`] takes at most: a run leaves at most a
/// few per iteration, so hitting it means the host keeps making them.
const DRAIN_LIMIT: u32 = 1 << 24;

/// Forgets what the collection paths kept from a batch's previous run
/// (the interruption slot, the last unit check's IRB) and gives every
/// member fresh I/O areas, the device's and gate's copies. Called with no
/// [`Subchannel`] alive.
pub fn fresh_state() {
    *source::TAKEN.lock() = None;
    *UNIT_CHECK_IRB.lock() = None;
    for (member, copies) in AREAS.iter().enumerate() {
        *copies.lock() = Areas([IoArea::new(), IoArea::new()]);
        dma::reset(member);
    }
    source::ROUTER.lock().clear();
}

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

pub(crate) fn keep_unit_check(cc: Cc, irb: &Irb) {
    if cc == Cc::Zero && irb.scsw.device_status().contains(DeviceStatus::UNIT_CHECK) {
        *UNIT_CHECK_IRB.lock() = Some(*irb);
    }
}

/// The IRB kept by the last unit check, if any.
pub fn unit_check_irb() -> Option<Irb> {
    *UNIT_CHECK_IRB.lock()
}

#[repr(C, align(8))]
struct Areas([IoArea; 2]);
/// gate's copies of each member's pair of I/O areas, by its index in the
/// run (the device's are [`dma`]'s); the lock makes one [`Subchannel`] per
/// member.
static AREAS: [Mutex<Areas>; MAX_SUBCHANNELS] =
    [const { Mutex::new(Areas([IoArea::new(), IoArea::new()])) }; MAX_SUBCHANNELS];

/// Mixed into the seed for choosing the CPU of each instruction.
const CPU_CHOICE_SEED: u64 = 0xc0c0_0001_5eed_0002;

/// Makes `found` the subchannels of this run, in this order; member `i` is
/// then [`Subchannel::new`]`(i, ..)`, with
/// [`gate::route::Router::intparm_base`]`(i)` for its interruption
/// parameters when there are several.
pub fn members(found: &[Found]) {
    let mut router = source::ROUTER.lock();
    router.clear();
    for f in found {
        router.add(f.sid);
    }
}

/// A subchannel under test, driven by real instructions.
pub struct Subchannel {
    io: Issuer,
    source: Chosen,
    /// Its index in the run: whose I/O areas are its.
    member: usize,
    areas: spin::MutexGuard<'static, Areas>,
}

impl Subchannel {
    /// Member `index` of the run (see [`members`]): the one place that
    /// turns `cpus=` and `mode=` into an issuer and a status source.
    pub fn new(index: usize, sid: u32, config: &Config) -> Self {
        let areas = AREAS[index].try_lock().expect("one Subchannel per member");
        let several = source::ROUTER.lock().len() > 1;
        let choice = Rng::new(config.seed ^ CPU_CHOICE_SEED ^ index as u64);
        let io = match config.cpus {
            Cpus::Both => Issuer::on_either(sid, choice),
            Cpus::One | Cpus::IoElsewhere => Issuer::here(sid),
        };
        let own = match (config.cpus, config.mode) {
            (Cpus::IoElsewhere, _) => Own::Elsewhere(source::Elsewhere),
            (_, Collect::Irq) => Own::Irq(source::Irq),
            (_, Collect::Wait) => Own::Wait(source::Wait),
            (_, Collect::Poll) => Own::Tpi(source::Tpi),
            (_, Collect::Tsch) => Own::Tsch(source::Tsch),
        };
        let source = if several {
            Chosen::Routed(Routed::new(index, own))
        } else {
            own.into()
        };
        Subchannel {
            io,
            source,
            member: index,
            areas,
        }
    }
}

impl Channel for Subchannel {
    fn sid(&self) -> u32 {
        self.io.sid()
    }

    fn area(&mut self, slot: usize) -> (&mut IoArea, u32) {
        (&mut self.areas.0[slot], dma::address(self.member, slot))
    }

    fn publish(&mut self, slot: usize, refilled: Option<usize>) {
        dma::publish(self.member, slot, &self.areas.0[slot], refilled);
    }

    #[inline(always)]
    fn observe(&mut self, slot: usize) {
        dma::observe(self.member, slot, &mut self.areas.0[slot]);
    }

    /// The program must lie in this member's areas ([`dma::check`]): a
    /// driver that built one elsewhere is a bug of ccwgate's, which ends
    /// the run (ERROR) before the start could store anywhere.
    fn ssch(&mut self, orb: &Orb) -> Cc {
        match dma::check(self.member, orb, &self.areas.0) {
            Some(checked) => self.io.ssch(checked),
            None => panic!(
                "a channel program outside the I/O areas of member {} (cpa {:#x})",
                self.member, orb.cpa
            ),
        }
    }

    fn csch(&mut self) -> Cc {
        self.io.csch()
    }

    fn hsch(&mut self) -> Cc {
        self.io.hsch()
    }

    fn tod(&self) -> u64 {
        clock::tod()
    }

    fn log(&mut self, event: &gate::trace::Event) {
        crate::println!("event: {event}");
    }

    fn device_state(&mut self) -> DeviceState {
        let mut schib = Schib::ZERO;
        if insn::stsch(self.io.sid(), &mut schib) != Cc::Zero || !schib.pmcw.device_number_valid() {
            return DeviceState::Gone;
        }
        let p = &schib.pmcw;
        if p.pim & p.pam & p.pom == 0 {
            DeviceState::NoPath
        } else {
            DeviceState::Present
        }
    }
}

impl Status for Subchannel {
    fn next_interruption(&mut self, deadline: u64) -> Option<Interruption> {
        self.source.next(&mut self.io, deadline)
    }

    #[inline(always)]
    fn collected(&mut self) -> Option<Interruption> {
        self.source.collected()
    }

    fn start_reveals_pending(&self) -> bool {
        self.source.start_reveals_pending()
    }
}

/// Measurement blocks the channel subsystem writes behind the program's
/// back (SET CHANNEL MONITOR, PMCW measurement mode): two format-0 blocks
/// (32 bytes each, at the SCHM origin plus 32 times the MBI 0 or 1) and one
/// format-1 block (64 bytes, at the SCHIB's measurement-block address),
/// with 64 bytes more after it, so that the block a host might take at the
/// format-1 address plus one (`scenario=conformance` tries it, expecting
/// an operand exception) still lies inside.
#[repr(C, align(64))]
struct Blocks {
    fmt0: [u8; 64],
    fmt1: [u8; 128],
}

static BLOCKS: dma::Dma<Blocks> = dma::Dma::new(Blocks {
    fmt0: [0; 64],
    fmt1: [0; 128],
});

/// Operands of guarded instructions (`scenario=conformance`, and
/// `measure=1` trying the format-1 measurement block).
pub static SCRATCH: Mutex<insn::Scratch> = Mutex::new(insn::Scratch::new());

/// Safe access to [`BLOCKS`]: addresses to hand to the channel subsystem,
/// counts read with volatile loads, and `measure=1`'s set-up. The blocks
/// are [`dma::Dma`] memory: no reference to them is made, every access is
/// volatile.
pub mod measurement {
    use super::{insn, BLOCKS, SCRATCH};
    use crate::rt;
    use core::ptr::addr_of_mut;
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
            // SAFETY: measurements off stores nothing; then the origin is
            // the format-0 area, `Dma` memory for the rest of the run, which
            // holds the blocks of MBI 0 and 1; the only subchannel ccwgate
            // puts in format-0 update mode has MBI 0 (below).
            unsafe {
                insn::schm_guarded(0, 0);
                insn::schm_guarded(SCHM_UPDATE, fmt0_origin());
            }
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
        // SAFETY: the format-1 block is `BLOCKS.fmt1`, or, should the host
        // ignore the format control, the format-0 block of MBI 0 in
        // `BLOCKS.fmt0` at the origin set above: `Dma` memory for the rest
        // of the run.
        if unsafe { modify(sid, &fmt1) } {
            return Ok(Format::One);
        }
        s.pmcw.chars &= !PmcwChars::MBFC.bits();
        s.set_mba(0);
        // SAFETY: the format-0 block of MBI 0, in `BLOCKS.fmt0`, as above.
        if unsafe { modify(sid, &s) } {
            return Ok(Format::Zero);
        }
        Err("measurement-mode-refused")
    }

    /// MSCH of `want` as a guarded instruction; true when it was accepted
    /// and STSCH shows the measurement fields as written.
    ///
    /// # Safety
    ///
    /// That of [`insn::msch`] for `want`.
    unsafe fn modify(sid: u32, want: &Schib) -> bool {
        let mut scratch = SCRATCH.lock();
        scratch.0[..Schib::LEN].copy_from_slice(&want.to_bytes());
        // SAFETY: the SCHIB placed at offset 0 is `want`, whose block the
        // caller provides for (the `# Safety` section).
        let cc = rt::expect_program_interruption(|| unsafe { insn::msch_at(sid, &mut scratch, 0) });
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

    /// Origin of the format-0 area (32-byte aligned) for SCHM's GR2: the
    /// blocks of MBI 0 and 1.
    pub fn fmt0_origin() -> u64 {
        // SAFETY: a place inside the static, no reference made.
        (unsafe { addr_of_mut!((*BLOCKS.as_ptr()).fmt0) }) as u64
    }

    /// Address of the format-1 block (64-byte aligned) for the SCHIB.
    pub fn fmt1_address() -> u64 {
        // SAFETY: a place inside the static, no reference made.
        (unsafe { addr_of_mut!((*BLOCKS.as_ptr()).fmt1) }) as u64
    }

    /// `n` bytes at `at`, big-endian, read volatile.
    fn read(at: u64, n: usize) -> u32 {
        (0..n).fold(0, |v, i| {
            // SAFETY: every caller's `at..at + n` lies in `BLOCKS`; volatile
            // because the channel subsystem stores there without the
            // compiler's knowledge.
            let byte = unsafe { ((at as usize + i) as *const u8).read_volatile() };
            v << 8 | u32::from(byte)
        })
    }

    /// SSCH+RSCH count of format-0 block `index` (0 or 1): a halfword at
    /// offset 0 of the 32-byte block.
    pub fn fmt0_count(index: usize) -> u16 {
        assert!(index < 2, "two format-0 blocks");
        read(fmt0_origin() + 32 * index as u64, 2) as u16
    }

    /// SSCH+RSCH count of the format-1 block: a word at offset 0.
    pub fn fmt1_count() -> u32 {
        read(fmt1_address(), 4)
    }

    /// Zeroes every block (with measurements off, or the counts race).
    pub fn clear() {
        let start = BLOCKS.as_ptr().cast::<u8>();
        for i in 0..core::mem::size_of::<super::Blocks>() {
            // SAFETY: `i` is inside `BLOCKS`, written volatile as all of it
            // is.
            unsafe { start.add(i).write_volatile(0) };
        }
    }
}
