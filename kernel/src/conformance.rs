//! `scenario=conformance`: how the host handles each channel instruction's
//! operands and error cases. The table of checks (name, rule, expected
//! outcome) is `gate::conformance`; this module executes each check on the
//! real machine, one `match` arm per check, and prints one line per check
//! (as kvm-unit-tests does) and the verdict.
//!
//! Instructions that must take a program interruption run as guarded
//! instructions (`css::insn::*_at`, `*_guarded`) inside
//! `rt::expect_program_interruption`; with I/O interruptions masked
//! throughout, status is collected with TEST SUBCHANNEL, every wait bounded
//! by `io_timeout_ms`.

use crate::css::insn::{self, Scratch};
use crate::css::{self, measurement};
use crate::rt::{self, clock};
use crate::{println, report};
use gate::cmdline::{Config, Host};
use gate::conformance::{Id, Observed, Outcome as Judged, Shown, Tally, CHECKS};
use gate::css::{cmd, Cc, Ccw1, CcwFlags, Irb, Orb, PmcwChars, PmcwFlags, Schib, SCHM_UPDATE};
use gate::kut::Report;
use gate::oracle::Class;
use gate::verdict::{hex, Outcome};
use spin::Mutex;

/// A subchannel number that is valid in form but not provided (QEMU's
/// machines and vfio-ccw guests number their subchannels from 0 up).
const ABSENT: u32 = 0x0001_ffff;
/// Interruption parameter of the scenario's own starts.
const INTPARM: u32 = 0xC0F0_0001;
/// Starts per measurement check.
const STARTS: u32 = 10;
const MM_UPDATE: u16 = gate::css::Pmcw::MM_UPDATE;
/// PMCW word 1 bit 5, which MSCH ignores and STSCH stores as zero.
const PMCW_BIT5: u16 = 0x0400;
/// A value STCRW must overwrite with zeros when it has no report.
const MAGIC: u32 = 0xfeed_c0fe;
/// Channel reports drained before the channel-report checks, at most.
const MAX_DRAIN: u32 = 16;

/// NOP with SLI: the scenario's only channel program.
#[repr(C, align(8))]
struct Program {
    ccw: Ccw1,
    data: [u8; 8],
}

static PROGRAM: Mutex<Program> = Mutex::new(Program {
    ccw: Ccw1::new(cmd::NOP, CcwFlags::SLI, 1, 0),
    data: [0; 8],
});

/// ORB of the NOP program (set up on first use; the statics are below 2 GiB).
fn nop_orb() -> Orb {
    let mut p = PROGRAM.lock();
    p.ccw.cda = p.data.as_ptr() as u32;
    Orb::format1(INTPARM, core::ptr::addr_of!(p.ccw) as u32)
}

/// Bit `n` of a halfword, numbered from the left as in the PoP.
const fn bit16(n: u32) -> u16 {
    0x8000 >> n
}

/// Bit `n` of a word, numbered from the left as in the PoP.
const fn bit32(n: u32) -> u32 {
    0x8000_0000 >> n
}

/// The state checks hand on to the checks after them.
struct Env {
    sid: u32,
    timeout: u64,
    scratch: spin::MutexGuard<'static, Scratch>,
    /// Last SCHIB stored (or written, for the round trip).
    schib: Schib,
    wrote: Schib,
    /// The SCSW TSCH stored without status pending.
    idle_scsw: gate::css::Scsw,
    crw: u32,
    chpid: Option<u8>,
    /// Why the RCHP checks after the first do not run, if they do not.
    rchp_off: &'static str,
    extended_mb: bool,
    /// `host=vfio-ccw`: the channel path is the host's real one, which
    /// RESET CHANNEL PATH must not touch.
    real_paths: bool,
}

/// A guarded instruction's outcome: its condition code, or its program
/// interruption.
fn guarded(f: impl FnOnce() -> Cc) -> Observed {
    match rt::expect_program_interruption(f) {
        Ok(cc) => Observed::Cc(cc.as_u8()),
        Err(pi) => Observed::Program {
            code: pi.code,
            elsewhere: false,
        },
    }
}

/// The same for an instruction that sets no condition code.
fn completes(f: impl FnOnce()) -> Observed {
    match rt::expect_program_interruption(f) {
        Ok(()) => Observed::Completed,
        Err(pi) => Observed::Program {
            code: pi.code,
            elsewhere: false,
        },
    }
}

fn cc(c: Cc) -> Observed {
    Observed::Cc(c.as_u8())
}

impl Env {
    fn place(&mut self, offset: usize, bytes: &[u8]) {
        self.scratch.0[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    fn word_at(&self, offset: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.scratch.0[offset..offset + 4]);
        u32::from_be_bytes(b)
    }

    fn stsch(&mut self) -> Cc {
        insn::stsch(self.sid, &mut self.schib)
    }

    /// The current SCHIB, or the SCHIB last stored if STSCH fails (the
    /// check then shows what came of it).
    fn current(&mut self) -> Schib {
        self.stsch();
        self.schib
    }

    fn deadline(&self) -> u64 {
        clock::tod() + self.timeout
    }

    /// Takes whatever status is pending (after a check that may have
    /// started something on a host that did not refuse it).
    fn settle(&mut self) {
        let mut irb = Irb::ZERO;
        for _ in 0..16 {
            if insn::tsch(self.sid, &mut irb) != Cc::Zero {
                return;
            }
        }
    }

    /// Waits until the subchannel is status pending, without taking it.
    fn wait_status_pending(&mut self) -> bool {
        let deadline = self.deadline();
        loop {
            if self.stsch() == Cc::Zero
                && self
                    .schib
                    .scsw
                    .sc()
                    .contains(gate::css::StatusControl::PENDING)
            {
                return true;
            }
            if clock::tod() >= deadline {
                return false;
            }
        }
    }

    /// One NOP start, its final status taken with TSCH.
    fn start_and_collect(&mut self) -> Result<(), &'static str> {
        if insn::ssch(self.sid, &nop_orb()) != Cc::Zero {
            return Err("ssch-not-accepted");
        }
        let deadline = self.deadline();
        let mut irb = Irb::ZERO;
        loop {
            match insn::tsch(self.sid, &mut irb) {
                Cc::Zero if irb.scsw.sc().contains(gate::css::StatusControl::SECONDARY) => {
                    return Ok(())
                }
                Cc::Zero | Cc::One => {}
                _ => return Err("tsch-not-operational"),
            }
            if clock::tod() >= deadline {
                return Err("no-status");
            }
        }
    }

    fn starts(&mut self, n: u32) -> Result<(), &'static str> {
        (0..n).try_for_each(|_| self.start_and_collect())
    }

    /// MSCH of `schib` (aligned, unguarded), retried while busy.
    fn modify(&mut self, schib: &Schib) -> Cc {
        let mut last = Cc::Two;
        for _ in 0..8 {
            last = insn::msch(self.sid, schib);
            match last {
                Cc::One => self.settle(),
                Cc::Two => clock::spin_until(clock::tod() + clock::us_to_tod(100)),
                _ => return last,
            }
        }
        last
    }

    fn msch_with_flag(&mut self, bit: u16) -> Observed {
        let mut s = self.current();
        s.pmcw.flags |= bit;
        self.place(0, &s.to_bytes());
        let sid = self.sid;
        let scratch = &mut *self.scratch;
        guarded(|| insn::msch_at(sid, scratch, 0))
    }

    fn msch_with_chars(&mut self, bit: u32) -> Observed {
        let mut s = self.current();
        s.pmcw.chars |= bit;
        self.place(0, &s.to_bytes());
        let sid = self.sid;
        let scratch = &mut *self.scratch;
        guarded(|| insn::msch_at(sid, scratch, 0))
    }

    fn flag_stored(&mut self, bit: u16) -> Observed {
        match self.stsch() {
            Cc::Zero => Observed::Value(u64::from(self.schib.pmcw.flags & bit)),
            c => cc(c),
        }
    }

    /// SSCH of the NOP ORB with `word1` ORed into word 1 and `cpa` into
    /// word 2 (not settled: the check after the series looks for status).
    fn ssch_with(&mut self, word1: u32, cpa: u32) -> Observed {
        let mut orb = nop_orb();
        orb.word1 |= word1;
        orb.cpa |= cpa;
        self.place(0, &orb.to_bytes());
        let sid = self.sid;
        let scratch = &mut *self.scratch;
        guarded(|| insn::ssch_at(sid, scratch, 0))
    }

    /// A guarded instruction with the SCHIB (or ORB) it needs at offset 0.
    fn with_schib(&mut self, sid: u32, f: fn(u32, &mut Scratch, usize) -> Cc) -> Observed {
        let s = self.current();
        self.place(0, &s.to_bytes());
        let scratch = &mut *self.scratch;
        guarded(|| f(sid, scratch, 0))
    }

    fn with_orb(&mut self, sid: u32) -> Observed {
        self.place(0, &nop_orb().to_bytes());
        let scratch = &mut *self.scratch;
        let observed = guarded(|| insn::ssch_at(sid, scratch, 0));
        self.settle();
        observed
    }

    fn at(&mut self, sid: u32, offset: usize, f: fn(u32, &mut Scratch, usize) -> Cc) -> Observed {
        let scratch = &mut *self.scratch;
        let observed = guarded(|| f(sid, scratch, offset));
        self.settle();
        observed
    }

    fn stcrw(&mut self) -> (Cc, u32) {
        self.place(0, &MAGIC.to_be_bytes());
        let c = insn::stcrw_at(0, &mut self.scratch, 0);
        (c, self.word_at(0))
    }

    fn measure_fmt0(&mut self, mbi: u16) -> Result<(), &'static str> {
        measurement::clear();
        let mut s = self.current();
        s.pmcw.flags = (s.pmcw.flags & !gate::css::Pmcw::MM_MASK) | MM_UPDATE;
        s.pmcw.mbi = mbi;
        s.pmcw.chars &= !PmcwChars::MBFC.bits();
        if self.modify(&s) != Cc::Zero {
            return Err("msch-not-accepted");
        }
        self.starts(STARTS)
    }

    fn fmt1_schib(&mut self, mba: u64) -> Schib {
        let mut s = self.current();
        s.pmcw.flags = (s.pmcw.flags & !gate::css::Pmcw::MM_MASK) | MM_UPDATE;
        s.pmcw.chars |= PmcwChars::MBFC.bits();
        s.set_mba(mba);
        s
    }

    /// Measurements off again: the subchannel's mode and the monitor.
    fn measurement_off(&mut self) {
        let mut s = self.current();
        s.pmcw.flags &= !gate::css::Pmcw::MM_MASK;
        s.pmcw.chars &= !PmcwChars::MBFC.bits();
        s.set_mba(0);
        self.modify(&s);
        insn::schm_guarded(0, 0);
    }

    fn execute(&mut self, id: Id) -> Observed {
        let sid = self.sid;
        let bad_one = sid & 0x0000_ffff;
        let bad_reserved = sid | 0x8000_0000;
        match id {
            Id::ChscScsc => {
                self.scratch.0[..4096].fill(0);
                // Request: length 16, command 0010 (store channel-subsystem
                // characteristics); the response follows at offset 16.
                self.place(0, &[0x00, 0x10, 0x00, 0x10]);
                let observed = guarded(|| insn::chsc_at(&mut self.scratch, 0));
                if observed != Observed::Cc(0) {
                    return observed;
                }
                // General characteristics start at response offset 8;
                // bit 48: extended measurement block facility.
                self.extended_mb = self.scratch.0[16 + 8 + 6] & 0x80 != 0;
                let code = u16::from_be_bytes([self.scratch.0[18], self.scratch.0[19]]);
                Observed::Value(u64::from(code))
            }
            Id::ChscUnaligned => {
                self.scratch.0[..4096].fill(0);
                // An unassigned command, so that a host that took the
                // request anyway would answer with a short response.
                self.place(8, &[0x00, 0x10, 0x00, 0x00]);
                guarded(|| insn::chsc_at(&mut self.scratch, 8))
            }
            Id::StschUnaligned1 => self.at(sid, 1, insn::stsch_at),
            Id::StschUnaligned2 => self.at(sid, 2, insn::stsch_at),
            Id::MschUnaligned1 | Id::MschUnaligned2 => {
                let offset = if id == Id::MschUnaligned1 { 1 } else { 2 };
                let s = self.current();
                self.place(offset, &s.to_bytes());
                self.at(sid, offset, insn::msch_at)
            }
            Id::SschUnaligned1 | Id::SschUnaligned2 => {
                let offset = if id == Id::SschUnaligned1 { 1 } else { 2 };
                self.place(offset, &nop_orb().to_bytes());
                self.at(sid, offset, insn::ssch_at)
            }
            Id::TschUnaligned1 => self.at(sid, 1, insn::tsch_at),
            Id::TschUnaligned2 => self.at(sid, 2, insn::tsch_at),
            Id::StcrwUnaligned1 => self.at(0, 1, insn::stcrw_at),
            Id::StcrwUnaligned2 => self.at(0, 2, insn::stcrw_at),
            Id::TpiUnaligned1 => self.at(0, 1, insn::tpi_at),
            Id::TpiUnaligned2 => self.at(0, 2, insn::tpi_at),
            Id::TpiNothingPending => self.at(0, 0, insn::tpi_at),
            Id::SchmMboUnaligned => completes(|| insn::schm_guarded(SCHM_UPDATE, 1)),
            Id::SchmReservedFlags => completes(|| insn::schm_guarded(0xffff_fffc, 0)),
            Id::SchmPrivileged => {
                let mut at = 0;
                match rt::expect_program_interruption(|| {
                    at = insn::schm_in_problem_state(SCHM_UPDATE, 0)
                }) {
                    Ok(()) => Observed::Completed,
                    Err(pi) => Observed::Program {
                        code: pi.code,
                        elsewhere: pi.address != at,
                    },
                }
            }
            Id::SchmNormal => {
                let observed = completes(|| insn::schm_guarded(SCHM_UPDATE, 0));
                insn::schm_guarded(0, 0);
                observed
            }
            Id::StschOneBit => self.at(bad_one, 0, insn::stsch_at),
            Id::MschOneBit => self.with_schib(bad_one, insn::msch_at),
            Id::SschOneBit => self.with_orb(bad_one),
            Id::TschOneBit => self.at(bad_one, 0, insn::tsch_at),
            Id::CschOneBit => guarded(|| insn::csch_guarded(bad_one)),
            Id::HschOneBit => guarded(|| insn::hsch_guarded(bad_one)),
            Id::RschOneBit => guarded(|| insn::rsch_guarded(bad_one)),
            Id::XschOneBit => {
                let observed = guarded(|| insn::xsch_guarded(bad_one));
                self.settle();
                observed
            }
            Id::StschReservedSid => self.at(bad_reserved, 0, insn::stsch_at),
            Id::TschReservedSid => self.at(bad_reserved, 0, insn::tsch_at),
            Id::StschAbsent => self.at(ABSENT, 0, insn::stsch_at),
            Id::MschAbsent => self.with_schib(ABSENT, insn::msch_at),
            Id::SschAbsent => self.with_orb(ABSENT),
            Id::TschAbsent => self.at(ABSENT, 0, insn::tsch_at),
            Id::CschAbsent => guarded(|| insn::csch_guarded(ABSENT)),
            Id::HschAbsent => guarded(|| insn::hsch_guarded(ABSENT)),
            Id::RschAbsent => guarded(|| insn::rsch_guarded(ABSENT)),
            Id::XschAbsent => guarded(|| insn::xsch_guarded(ABSENT)),
            Id::OrbAllOnes => {
                self.settle();
                self.place(0, &[0xff; Orb::LEN]);
                let scratch = &mut *self.scratch;
                guarded(|| insn::ssch_at(sid, scratch, 0))
            }
            Id::OrbWord1Bit13 => self.ssch_with(bit32(13), 0),
            Id::OrbWord1Bit26 => self.ssch_with(bit32(26), 0),
            Id::OrbWord1Bit27 => self.ssch_with(bit32(27), 0),
            Id::OrbWord1Bit28 => self.ssch_with(bit32(28), 0),
            Id::OrbWord1Bit29 => self.ssch_with(bit32(29), 0),
            Id::OrbWord1Bit30 => self.ssch_with(bit32(30), 0),
            Id::OrbCpaBit0 => self.ssch_with(0, 0x8000_0000),
            Id::OrbRejectedStartedNothing => {
                let mut irb = Irb::ZERO;
                let observed = cc(insn::tsch(sid, &mut irb));
                self.settle();
                observed
            }
            Id::PmcwBit0 => self.msch_with_flag(bit16(0)),
            Id::PmcwBit0NotStored => self.flag_stored(bit16(0)),
            Id::PmcwBit1 => self.msch_with_flag(bit16(1)),
            Id::PmcwBit1NotStored => self.flag_stored(bit16(1)),
            Id::PmcwBit6 => self.msch_with_flag(bit16(6)),
            Id::PmcwBit6NotStored => self.flag_stored(bit16(6)),
            Id::PmcwBit7 => self.msch_with_flag(bit16(7)),
            Id::PmcwBit7NotStored => self.flag_stored(bit16(7)),
            Id::PmcwWord6Bit0 => self.msch_with_chars(bit32(0)),
            Id::PmcwWord6Bit28 => self.msch_with_chars(bit32(28)),
            Id::Bit5SetMsch => self.msch_with_flag(PMCW_BIT5),
            Id::Bit5SetStsch | Id::Bit5ClearStsch => cc(self.stsch()),
            Id::Bit5SetStored | Id::Bit5ClearStored => {
                Observed::Value(u64::from(self.schib.pmcw.flags & PMCW_BIT5))
            }
            Id::Bit5ClearMsch => {
                let mut s = self.current();
                s.pmcw.flags &= !PMCW_BIT5;
                self.place(0, &s.to_bytes());
                let scratch = &mut *self.scratch;
                guarded(|| insn::msch_at(sid, scratch, 0))
            }
            Id::RoundTripMsch => {
                let mut w = self.current();
                w.pmcw.intparm = 0x5a5a_0001;
                w.pmcw.set_isc(5);
                w.pmcw.set_enabled(false);
                w.pmcw.flags |= PmcwFlags::MULTIPATH.bits();
                w.pmcw.mbi = 0x0042;
                w.pmcw.flags = (w.pmcw.flags & !gate::css::Pmcw::MM_MASK) | MM_UPDATE;
                w.pmcw.chars |= PmcwChars::CSENSE.bits();
                self.wrote = w;
                let observed = cc(self.modify(&w));
                self.stsch();
                observed
            }
            Id::RoundTripIntparm => Observed::Pair {
                wrote: self.wrote.pmcw.intparm.into(),
                read: self.schib.pmcw.intparm.into(),
            },
            Id::RoundTripIsc => Observed::Pair {
                wrote: self.wrote.pmcw.isc().into(),
                read: self.schib.pmcw.isc().into(),
            },
            Id::RoundTripEnable => Observed::Pair {
                wrote: self.wrote.pmcw.is_enabled().into(),
                read: self.schib.pmcw.is_enabled().into(),
            },
            Id::RoundTripMultipath => {
                let bit = PmcwFlags::MULTIPATH.bits();
                Observed::Pair {
                    wrote: (self.wrote.pmcw.flags & bit).into(),
                    read: (self.schib.pmcw.flags & bit).into(),
                }
            }
            Id::RoundTripMbi => Observed::Pair {
                wrote: self.wrote.pmcw.mbi.into(),
                read: self.schib.pmcw.mbi.into(),
            },
            Id::RoundTripMm => {
                let mask = gate::css::Pmcw::MM_MASK;
                Observed::Pair {
                    wrote: (self.wrote.pmcw.flags & mask).into(),
                    read: (self.schib.pmcw.flags & mask).into(),
                }
            }
            Id::RoundTripConcurrentSense => {
                let bit = PmcwChars::CSENSE.bits();
                let observed = Observed::Pair {
                    wrote: (self.wrote.pmcw.chars & bit).into(),
                    read: (self.schib.pmcw.chars & bit).into(),
                };
                // Back to the subchannel as the scenario found it.
                let mut s = self.current();
                s.pmcw.flags &= !(PmcwFlags::MULTIPATH.bits() | gate::css::Pmcw::MM_MASK);
                s.pmcw.chars &= !bit;
                s.pmcw.mbi = 0;
                self.modify(&s);
                if let Err(e) = css::enable(sid) {
                    println!("conformance: re-enabling failed: {}", e.reason());
                }
                observed
            }
            Id::TschIdleCc => {
                self.settle();
                let mut irb = Irb::ZERO;
                irb.scsw = gate::css::Scsw::from_words([u32::MAX; 3]);
                let observed = cc(insn::tsch(sid, &mut irb));
                self.idle_scsw = irb.scsw;
                observed
            }
            Id::TschIdleControls => Observed::Value(u64::from(self.idle_scsw.words()[0] & 0x7fff)),
            Id::PendingSsch => {
                if insn::ssch(sid, &nop_orb()) != Cc::Zero || !self.wait_status_pending() {
                    self.settle();
                    return Observed::Skipped("no-status-pending");
                }
                cc(insn::ssch(sid, &nop_orb()))
            }
            Id::PendingMsch => {
                let s = self.schib;
                cc(insn::msch(sid, &s))
            }
            Id::PendingTsch | Id::PendingCleared => {
                let mut irb = Irb::ZERO;
                cc(insn::tsch(sid, &mut irb))
            }
            Id::StcrwNoneCc => {
                for _ in 0..MAX_DRAIN {
                    match insn::stcrw() {
                        Some(crw) => println!("crw: {crw:#010x} pending before the checks"),
                        None => break,
                    }
                }
                let (c, word) = self.stcrw();
                self.crw = word;
                cc(c)
            }
            Id::RchpNoMoreCc | Id::RchpNoMoreZeros if self.chpid.is_none() => {
                Observed::Skipped(self.rchp_off)
            }
            Id::StcrwNoneZeros | Id::RchpNoMoreZeros => Observed::Value(self.crw.into()),
            Id::RchpReserved => {
                if self.real_paths {
                    // Resetting a passed-through device's real channel
                    // path would disturb the host: the RCHP checks are off.
                    self.rchp_off = "real-channel-path";
                    return Observed::Skipped(self.rchp_off);
                }
                let Some(chpid) = self.installed_chpid() else {
                    return Observed::Skipped("no-installed-chpid");
                };
                guarded(|| insn::rchp_guarded(0x0000_ff00 | u32::from(chpid)))
            }
            Id::RchpCc => match self.chpid {
                Some(chpid) => guarded(|| insn::rchp_guarded(u32::from(chpid))),
                None => Observed::Skipped(self.rchp_off),
            },
            Id::RchpCrwCc => {
                if self.chpid.is_none() {
                    return Observed::Skipped(self.rchp_off);
                }
                let deadline = self.deadline();
                loop {
                    let (c, word) = self.stcrw();
                    self.crw = word;
                    if c == Cc::Zero || clock::tod() >= deadline {
                        return cc(c);
                    }
                }
            }
            Id::RchpCrwRsc => match self.chpid {
                Some(_) => Observed::Value(u64::from((self.crw >> 24) & 0xf)),
                None => Observed::Skipped(self.rchp_off),
            },
            Id::RchpCrwRsid => match self.chpid {
                Some(chpid) => Observed::Pair {
                    wrote: chpid.into(),
                    read: u64::from(self.crw & 0xffff),
                },
                None => Observed::Skipped(self.rchp_off),
            },
            Id::RchpNoMoreCc => {
                let (c, word) = self.stcrw();
                self.crw = word;
                cc(c)
            }
            Id::MbFmt0Index0 => {
                insn::schm_guarded(0, 0);
                insn::schm_guarded(SCHM_UPDATE, measurement::fmt0_origin());
                match self.measure_fmt0(0) {
                    Ok(()) => Observed::Value(measurement::fmt0_count(0).into()),
                    Err(why) => Observed::Skipped(why),
                }
            }
            Id::MbFmt0Index1 => match self.measure_fmt0(1) {
                Ok(()) => Observed::Value(measurement::fmt0_count(1).into()),
                Err(why) => Observed::Skipped(why),
            },
            Id::MbFmt0Index1Only => Observed::Value(measurement::fmt0_count(0).into()),
            Id::MbFmt0Stopped => {
                insn::schm_guarded(0, 0);
                measurement::clear();
                let result = self.starts(STARTS);
                let counts =
                    u64::from(measurement::fmt0_count(0)) + u64::from(measurement::fmt0_count(1));
                self.measurement_off();
                match result {
                    Ok(()) => Observed::Value(counts),
                    Err(why) => Observed::Skipped(why),
                }
            }
            Id::MbFmt1Unaligned => {
                if !self.extended_mb {
                    return Observed::Skipped("no-extended-measurement-block");
                }
                insn::schm_guarded(SCHM_UPDATE, 0);
                let s = self.fmt1_schib(measurement::fmt1_address() + 1);
                self.place(0, &s.to_bytes());
                let scratch = &mut *self.scratch;
                guarded(|| insn::msch_at(sid, scratch, 0))
            }
            Id::MbFmt1Counts => {
                if !self.extended_mb {
                    return Observed::Skipped("no-extended-measurement-block");
                }
                measurement::clear();
                let s = self.fmt1_schib(measurement::fmt1_address());
                let result = match self.modify(&s) {
                    Cc::Zero => self.starts(STARTS),
                    _ => Err("msch-not-accepted"),
                };
                let count = measurement::fmt1_count();
                self.measurement_off();
                match result {
                    Ok(()) => Observed::Value(count.into()),
                    Err(why) => Observed::Skipped(why),
                }
            }
        }
    }

    /// The CHPID of the first installed path (PIM bit), remembered.
    fn installed_chpid(&mut self) -> Option<u8> {
        let s = self.current();
        self.chpid = (0..8)
            .find(|i| s.pmcw.pim & (0x80 >> i) != 0)
            .map(|i| s.pmcw.chpid[i]);
        self.chpid
    }
}

pub fn run(config: &Config) -> ! {
    // The checks run on one subchannel: the first that `devno=` names.
    let found = css::find(&config.devno)
        .unwrap_or_else(|e| crate::scenario::setup_error(e))
        .as_slice()[0];
    println!(
        "conformance: subchannel 0.0.{:04x} devno 0.0.{:04x}, {} checks",
        found.sid & 0xffff,
        found.devno,
        CHECKS.len()
    );
    css::enable(found.sid).unwrap_or_else(|e| crate::scenario::setup_error(e));
    let mut env = Env {
        sid: found.sid,
        timeout: clock::us_to_tod(u64::from(config.io_timeout_ms) * 1000),
        scratch: css::SCRATCH.lock(),
        schib: Schib::ZERO,
        wrote: Schib::ZERO,
        idle_scsw: gate::css::Scsw::ZERO,
        crw: 0,
        chpid: None,
        rchp_off: "no-installed-chpid",
        extended_mb: false,
        real_paths: config.host == Host::VfioCcw,
    };
    let mut tally = Tally::default();
    for (index, check) in CHECKS.iter().enumerate() {
        // The number of the check running: what the fault injector keys on.
        report::progress(index as u32 + 1);
        let observed = env.execute(check.id);
        let shown = Shown::Observed(observed);
        // One kvm-unit-tests report line per check, as its s390x/css.c
        // prints them.
        let n = index + 1;
        match tally.record(index, observed) {
            Judged::Pass => report::unit(
                Report::Pass,
                &["conformance"],
                format_args!("{} check={n} {shown}", check.name),
            ),
            Judged::Skip(why) => report::unit(
                Report::Skip,
                &["conformance"],
                format_args!("{} check={n} ({why})", check.name),
            ),
            Judged::Fail => report::unit(
                Report::Fail,
                &["conformance"],
                format_args!(
                    "{CLASS} {} check={n} expected={} actual={shown} rule: {}",
                    check.name,
                    Shown::Expect(check.expect),
                    check.rule
                ),
            ),
        }
    }
    println!(
        "conformance: {} run, {} passed, {} failed, {} skipped",
        tally.run, tally.passed, tally.failed, tally.skipped
    );
    report::progress(CHECKS.len() as u32);
    let sid = found.sid;
    match tally.first_failure {
        None => report::finish(Outcome::Pass, None, &|line| {
            line.field("checks_run", tally.run)
                .field("passed", tally.passed)
                .field("skipped", tally.skipped);
        }),
        Some((index, observed)) => {
            let check = &CHECKS[index];
            println!(
                "INFO: conformance check={} {}: expected {} actual {}",
                index + 1,
                check.name,
                Shown::Expect(check.expect),
                Shown::Observed(observed)
            );
            println!("INFO: conformance: {}", check.rule);
            report::finish(Outcome::Fail, Some(CLASS), &|line| {
                line.field("class", CLASS)
                    .field("what", check.name)
                    .field("sid", hex(sid))
                    .field("iteration", index + 1)
                    .field("expected", Shown::Expect(check.expect))
                    .field("actual", Shown::Observed(observed))
                    .field("checks_run", tally.run)
                    .field("failed", tally.failed);
            })
        }
    }
}

/// The violation class of a failed check.
const CLASS: &str = Class::Conformance.name();
