//! `scenario=conformance`: how the host handles each channel instruction's
//! operands and error cases. The table of checks (name, rule, expected
//! outcome) is `gate::conformance`; this module executes each check on the
//! real machine, one function per [`gate::conformance::Group`] (as
//! kvm-unit-tests' `s390x/css.c` has one per test), and prints one line per
//! check (as kvm-unit-tests does) and the verdict. Each group sets up what
//! it reads and leaves nothing behind for another, so `conformance_order=`
//! (`reverse`, `seed:N`) runs them in another order with the same results.
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
use gate::conformance::{Check, Id, Observed, Outcome as Judged, Shown, Tally, CHECKS, GROUPS};
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
/// I/O interruptions taken with TPI before a group, at most.
const MAX_STALE: u32 = 256;
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

/// What every group works with: the subchannel, the bound on each wait,
/// the guarded instructions' operand area and the profile. No group leaves
/// anything here for another: `schib` is only the buffer STSCH stores
/// into, read by the check that stored it or by later checks of its group.
struct Env {
    sid: u32,
    timeout: u64,
    scratch: spin::MutexGuard<'static, Scratch>,
    /// The buffer of the last STSCH.
    schib: Schib,
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

    /// No status pending on the subchannel, and no I/O interruption pending
    /// (TPI, a bounded number of times). Under QEMU's TCG an interruption
    /// stays queued after TSCH took its status: every start a group made
    /// would otherwise reach the TPI checks of a group after it.
    fn quiesce(&mut self, group: &str) {
        self.settle();
        let mut drained = 0;
        while drained < MAX_STALE {
            let Some((sid, _)) = insn::tpi() else { break };
            drained += 1;
            if sid == self.sid {
                self.settle();
            }
        }
        if drained > 0 {
            println!("conformance: {drained} I/O interruptions pending before group {group}");
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
        // SAFETY: the NOP program stores nothing (a NOP transfers no data);
        // its one CCW is a static.
        if unsafe { insn::ssch(self.sid, &nop_orb()) } != Cc::Zero {
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

    /// MSCH of `schib` (aligned, unguarded), retried while status is
    /// pending or the subchannel busy ([`css::msch_retrying`]).
    ///
    /// # Safety
    ///
    /// That of [`insn::msch`] for `schib`.
    unsafe fn modify(&mut self, schib: &Schib) -> Cc {
        let sid = self.sid;
        let mut last = Cc::Two;
        for _ in 0..8 {
            // SAFETY: the caller provides for the block `schib` designates,
            // if any (the `# Safety` section).
            match unsafe { css::msch_retrying(sid, schib, || self.settle()) } {
                Ok(cc) => return cc,
                Err(cc) => last = cc,
            }
        }
        last
    }

    /// MSCH (guarded) of the subchannel's own SCHIB with `change` made to
    /// it, `change` touching no measurement field (mode, format control,
    /// index, block address).
    fn msch_changed(&mut self, sid: u32, change: impl FnOnce(&mut Schib)) -> Observed {
        let mut s = self.current();
        change(&mut s);
        self.place(0, &s.to_bytes());
        let scratch = &mut *self.scratch;
        // SAFETY: the subchannel's own SCHIB (STSCH), its measurement fields
        // unchanged, keeps the measurement mode and block it has: the MSCH
        // starts no storing that was not going on (ccwgate's only blocks
        // are `measurement`'s, `Dma` memory for the rest of the run).
        guarded(|| unsafe { insn::msch_at(sid, scratch, 0) })
    }

    fn msch_with_flag(&mut self, bit: u16) -> Observed {
        debug_assert!(bit & gate::css::Pmcw::MM_MASK == 0);
        self.msch_changed(self.sid, |s| s.pmcw.flags |= bit)
    }

    fn msch_with_chars(&mut self, bit: u32) -> Observed {
        debug_assert!(bit & PmcwChars::MBFC.bits() == 0);
        self.msch_changed(self.sid, |s| s.pmcw.chars |= bit)
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
        // SAFETY: the program is the NOP program, which stores nothing,
        // whatever the ORB's other bits make of it; with bit 0 of the
        // channel-program address set the address is beyond 2 GiB, where
        // no CCW is fetched (the start ends with a program check).
        guarded(|| unsafe { insn::ssch_at(sid, scratch, 0) })
    }

    /// MSCH (guarded) of the subchannel's own SCHIB, for subchannel `sid`.
    fn with_schib(&mut self, sid: u32) -> Observed {
        self.msch_changed(sid, |_| {})
    }

    /// SSCH (guarded) of the NOP program for subchannel `sid`.
    fn with_orb(&mut self, sid: u32) -> Observed {
        self.place(0, &nop_orb().to_bytes());
        let scratch = &mut *self.scratch;
        // SAFETY: the NOP program stores nothing.
        let observed = guarded(|| unsafe { insn::ssch_at(sid, scratch, 0) });
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

    /// Format-0 measurements into block `mbi` (0 or 1) at the format-0
    /// origin, which the caller has set with SCHM.
    fn measure_fmt0(&mut self, mbi: u16) -> Result<(), &'static str> {
        assert!(mbi < 2, "two format-0 blocks");
        measurement::clear();
        let mut s = self.current();
        s.pmcw.flags = (s.pmcw.flags & !gate::css::Pmcw::MM_MASK) | MM_UPDATE;
        s.pmcw.mbi = mbi;
        s.pmcw.chars &= !PmcwChars::MBFC.bits();
        // SAFETY: format 0, MBI 0 or 1 (asserted): the block is in
        // `BLOCKS.fmt0` at the origin the check set with SCHM, `Dma` memory
        // for the rest of the run.
        if unsafe { self.modify(&s) } != Cc::Zero {
            return Err("msch-not-accepted");
        }
        self.starts(STARTS)
    }

    /// The subchannel's SCHIB with format-1 measurements into the block at
    /// `mba`, MBI 0 (what a format-0 block would be measured into).
    fn fmt1_schib(&mut self, mba: u64) -> Schib {
        let mut s = self.current();
        s.pmcw.mbi = 0;
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
        // SAFETY: measurement mode off: nothing stored later.
        unsafe { self.modify(&s) };
        // SAFETY: measurements off store nothing.
        unsafe { insn::schm_guarded(0, 0) };
    }

    /// CHANNEL SUBSYSTEM CALL store-channel-subsystem-characteristics: its
    /// outcome (the response code when it completed) and whether the
    /// extended measurement block facility is installed.
    fn scsc(&mut self) -> (Observed, bool) {
        self.scratch.0[..4096].fill(0);
        // Request: length 16, command 0010 (store channel-subsystem
        // characteristics); the response follows at offset 16.
        self.place(0, &[0x00, 0x10, 0x00, 0x10]);
        let observed = guarded(|| insn::chsc_at(&mut self.scratch, 0));
        if observed != Observed::Cc(0) {
            return (observed, false);
        }
        // General characteristics start at response offset 8;
        // bit 48: extended measurement block facility.
        let extended_mb = self.scratch.0[16 + 8 + 6] & 0x80 != 0;
        let code = u16::from_be_bytes([self.scratch.0[18], self.scratch.0[19]]);
        (Observed::Value(u64::from(code)), extended_mb)
    }

    /// The CHPID of the first installed path (PIM bit).
    fn installed_chpid(&mut self) -> Option<u8> {
        let s = self.current();
        (0..8)
            .find(|i| s.pmcw.pim & (0x80 >> i) != 0)
            .map(|i| s.pmcw.chpid[i])
    }
}

/// Runs the checks of one group and records each: a group function calls
/// [`Run::check`] once per row of its [`Group`], in table order (checked:
/// a row out of place is a panic, an ERROR verdict).
struct Run {
    tally: Tally,
    /// The row the group must run next.
    next: usize,
}

impl Run {
    /// Runs check `id` (`f` executes it) and records what it saw.
    #[inline(always)]
    fn check(&mut self, env: &mut Env, id: Id, f: impl FnOnce(&mut Env) -> Observed) {
        let index = self.begin(id);
        let observed = f(env);
        self.record(index, observed);
    }

    /// The row of `id`, checked to be the group's next, announced to the
    /// fault injector as the check running.
    #[inline(never)]
    fn begin(&mut self, id: Id) -> usize {
        let index = Check::number(id) as usize - 1;
        assert_eq!(
            index, self.next,
            "conformance group runs a row out of place"
        );
        self.next += 1;
        // The number of the check running: what the fault injector keys on.
        report::progress(index as u32 + 1);
        index
    }

    #[inline(never)]
    fn record(&mut self, index: usize, observed: Observed) {
        let check = &CHECKS[index];
        let shown = Shown::Observed(observed);
        // One kvm-unit-tests report line per check, as its s390x/css.c
        // prints them.
        let n = index + 1;
        match self.tally.record(index, observed) {
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
}

/// One function per [`GROUPS`] entry, in the same order.
const GROUP_FNS: [fn(&mut Env, &mut Run); GROUPS.len()] = [
    chsc,
    alignment,
    schm,
    sid_bits,
    absent,
    orb,
    pmcw_reserved,
    pmcw_bit5,
    round_trip,
    tsch_idle,
    status_pending,
    channel_reports,
    measurement_blocks,
];

fn chsc(env: &mut Env, r: &mut Run) {
    r.check(env, Id::ChscScsc, |e| e.scsc().0);
    r.check(env, Id::ChscUnaligned, |e| {
        e.scratch.0[..4096].fill(0);
        // An unassigned command, so that a host that took the request
        // anyway would answer with a short response.
        e.place(8, &[0x00, 0x10, 0x00, 0x00]);
        guarded(|| insn::chsc_at(&mut e.scratch, 8))
    });
}

fn alignment(env: &mut Env, r: &mut Run) {
    let sid = env.sid;
    r.check(env, Id::StschUnaligned1, |e| e.at(sid, 1, insn::stsch_at));
    r.check(env, Id::StschUnaligned2, |e| e.at(sid, 2, insn::stsch_at));
    for (id, offset) in [(Id::MschUnaligned1, 1), (Id::MschUnaligned2, 2)] {
        r.check(env, id, |e| {
            let s = e.current();
            e.place(offset, &s.to_bytes());
            // SAFETY: the SCHIB at `offset` is the subchannel's own (STSCH):
            // it keeps the measurement mode and block it has, and the MSCH
            // starts no storing that was not going on.
            e.at(sid, offset, |sid, s, o| unsafe { insn::msch_at(sid, s, o) })
        });
    }
    for (id, offset) in [(Id::SschUnaligned1, 1), (Id::SschUnaligned2, 2)] {
        r.check(env, id, |e| {
            e.place(offset, &nop_orb().to_bytes());
            // SAFETY: the ORB at `offset` starts the NOP program, which
            // stores nothing.
            e.at(sid, offset, |sid, s, o| unsafe { insn::ssch_at(sid, s, o) })
        });
    }
    r.check(env, Id::TschUnaligned1, |e| e.at(sid, 1, insn::tsch_at));
    r.check(env, Id::TschUnaligned2, |e| e.at(sid, 2, insn::tsch_at));
    r.check(env, Id::StcrwUnaligned1, |e| e.at(0, 1, insn::stcrw_at));
    r.check(env, Id::StcrwUnaligned2, |e| e.at(0, 2, insn::stcrw_at));
    r.check(env, Id::TpiUnaligned1, |e| e.at(0, 1, insn::tpi_at));
    r.check(env, Id::TpiUnaligned2, |e| e.at(0, 2, insn::tpi_at));
    r.check(env, Id::TpiNothingPending, |e| e.at(0, 0, insn::tpi_at));
}

/// The monitor's origins here designate memory that is not ccwgate's
/// (absolute 0 and 1), which is sound because nothing is measured into
/// format-0 blocks during this group: no subchannel has measurement mode
/// on. It is off at boot, and the groups that turn it on (`round_trip`,
/// `measurement_blocks`) turn it off again before they end, as this one
/// turns the monitor off.
fn schm(env: &mut Env, r: &mut Run) {
    r.check(env, Id::SchmMboUnaligned, |_| {
        // SAFETY: no subchannel in measurement mode (above): the origin
        // designates no block anything is stored into.
        completes(|| unsafe { insn::schm_guarded(SCHM_UPDATE, 1) })
    });
    r.check(env, Id::SchmReservedFlags, |_| {
        // SAFETY: as above.
        completes(|| unsafe { insn::schm_guarded(0xffff_fffc, 0) })
    });
    r.check(env, Id::SchmPrivileged, |_| {
        let mut at = 0;
        // SAFETY: as above, should the host let the SCHM complete.
        let attempt = || at = unsafe { insn::schm_in_problem_state(SCHM_UPDATE, 0) };
        match rt::expect_program_interruption(attempt) {
            Ok(()) => Observed::Completed,
            Err(pi) => Observed::Program {
                code: pi.code,
                elsewhere: pi.address != at,
            },
        }
    });
    r.check(env, Id::SchmNormal, |_| {
        // SAFETY: as above.
        completes(|| unsafe { insn::schm_guarded(SCHM_UPDATE, 0) })
    });
    // Measurements off, whatever the checks left on.
    // SAFETY: measurements off store nothing.
    unsafe { insn::schm_guarded(0, 0) };
}

fn sid_bits(env: &mut Env, r: &mut Run) {
    let bad_one = env.sid & 0x0000_ffff;
    let bad_reserved = env.sid | 0x8000_0000;
    r.check(env, Id::StschOneBit, |e| e.at(bad_one, 0, insn::stsch_at));
    r.check(env, Id::MschOneBit, |e| e.with_schib(bad_one));
    r.check(env, Id::SschOneBit, |e| e.with_orb(bad_one));
    r.check(env, Id::TschOneBit, |e| e.at(bad_one, 0, insn::tsch_at));
    r.check(env, Id::CschOneBit, |_| {
        guarded(|| insn::csch_guarded(bad_one))
    });
    r.check(env, Id::HschOneBit, |_| {
        guarded(|| insn::hsch_guarded(bad_one))
    });
    r.check(env, Id::RschOneBit, |_| {
        guarded(|| insn::rsch_guarded(bad_one))
    });
    r.check(env, Id::XschOneBit, |e| {
        let observed = guarded(|| insn::xsch_guarded(bad_one));
        e.settle();
        observed
    });
    r.check(env, Id::StschReservedSid, |e| {
        e.at(bad_reserved, 0, insn::stsch_at)
    });
    r.check(env, Id::TschReservedSid, |e| {
        e.at(bad_reserved, 0, insn::tsch_at)
    });
}

fn absent(env: &mut Env, r: &mut Run) {
    r.check(env, Id::StschAbsent, |e| e.at(ABSENT, 0, insn::stsch_at));
    r.check(env, Id::MschAbsent, |e| e.with_schib(ABSENT));
    r.check(env, Id::SschAbsent, |e| e.with_orb(ABSENT));
    r.check(env, Id::TschAbsent, |e| e.at(ABSENT, 0, insn::tsch_at));
    r.check(env, Id::CschAbsent, |_| {
        guarded(|| insn::csch_guarded(ABSENT))
    });
    r.check(env, Id::HschAbsent, |_| {
        guarded(|| insn::hsch_guarded(ABSENT))
    });
    r.check(env, Id::RschAbsent, |_| {
        guarded(|| insn::rsch_guarded(ABSENT))
    });
    r.check(env, Id::XschAbsent, |_| {
        guarded(|| insn::xsch_guarded(ABSENT))
    });
}

fn orb(env: &mut Env, r: &mut Run) {
    let sid = env.sid;
    r.check(env, Id::OrbAllOnes, |e| {
        e.settle();
        e.place(0, &[0xff; Orb::LEN]);
        let scratch = &mut *e.scratch;
        // SAFETY: reserved bits set, the ORB must be refused (operand
        // exception); a host that took it would fetch the first CCW at an
        // address that is not a doubleword's and lies beyond 2 GiB, which
        // ends the start with a program check before anything is stored.
        guarded(|| unsafe { insn::ssch_at(sid, scratch, 0) })
    });
    for (id, bit) in [
        (Id::OrbWord1Bit13, 13),
        (Id::OrbWord1Bit26, 26),
        (Id::OrbWord1Bit27, 27),
        (Id::OrbWord1Bit28, 28),
        (Id::OrbWord1Bit29, 29),
        (Id::OrbWord1Bit30, 30),
    ] {
        r.check(env, id, |e| e.ssch_with(bit32(bit), 0));
    }
    r.check(env, Id::OrbCpaBit0, |e| e.ssch_with(0, 0x8000_0000));
    r.check(env, Id::OrbRejectedStartedNothing, |e| {
        let mut irb = Irb::ZERO;
        let observed = cc(insn::tsch(sid, &mut irb));
        e.settle();
        observed
    });
}

fn pmcw_reserved(env: &mut Env, r: &mut Run) {
    for (set, stored, bit) in [
        (Id::PmcwBit0, Id::PmcwBit0NotStored, 0),
        (Id::PmcwBit1, Id::PmcwBit1NotStored, 1),
        (Id::PmcwBit6, Id::PmcwBit6NotStored, 6),
        (Id::PmcwBit7, Id::PmcwBit7NotStored, 7),
    ] {
        r.check(env, set, |e| e.msch_with_flag(bit16(bit)));
        r.check(env, stored, |e| e.flag_stored(bit16(bit)));
    }
    r.check(env, Id::PmcwWord6Bit0, |e| e.msch_with_chars(bit32(0)));
    r.check(env, Id::PmcwWord6Bit28, |e| e.msch_with_chars(bit32(28)));
}

fn pmcw_bit5(env: &mut Env, r: &mut Run) {
    let sid = env.sid;
    let mut stored = Schib::ZERO;
    r.check(env, Id::Bit5SetMsch, |e| e.msch_with_flag(PMCW_BIT5));
    r.check(env, Id::Bit5SetStsch, |e| {
        cc(insn::stsch(e.sid, &mut stored))
    });
    r.check(env, Id::Bit5SetStored, |_| {
        Observed::Value(u64::from(stored.pmcw.flags & PMCW_BIT5))
    });
    r.check(env, Id::Bit5ClearMsch, |e| {
        e.msch_changed(sid, |s| s.pmcw.flags &= !PMCW_BIT5)
    });
    r.check(env, Id::Bit5ClearStsch, |e| {
        cc(insn::stsch(e.sid, &mut stored))
    });
    r.check(env, Id::Bit5ClearStored, |_| {
        Observed::Value(u64::from(stored.pmcw.flags & PMCW_BIT5))
    });
}

fn round_trip(env: &mut Env, r: &mut Run) {
    let mut wrote = Schib::ZERO;
    let mut read = Schib::ZERO;
    r.check(env, Id::RoundTripMsch, |e| {
        let mut w = e.current();
        w.pmcw.intparm = 0x5a5a_0001;
        w.pmcw.set_isc(5);
        w.pmcw.set_enabled(false);
        w.pmcw.flags |= PmcwFlags::MULTIPATH.bits();
        w.pmcw.mbi = 0x0042;
        w.pmcw.flags = (w.pmcw.flags & !gate::css::Pmcw::MM_MASK) | MM_UPDATE;
        w.pmcw.chars |= PmcwChars::CSENSE.bits();
        // Format 0 (no check here reads the format control).
        w.pmcw.chars &= !PmcwChars::MBFC.bits();
        wrote = w;
        // SAFETY: format 0 with MBI 0x42: stored into only while the
        // monitor's measurement-block update is on, which it is not: it is
        // off at boot, and the groups that turn it on (`schm`,
        // `measurement_blocks`) turn it off before they end. The mode goes
        // off again below.
        let observed = cc(unsafe { e.modify(&w) });
        read = e.current();
        observed
    });
    let (w, s) = (&wrote.pmcw, &read.pmcw);
    let pair = |wrote: u64, read: u64| Observed::Pair { wrote, read };
    let multipath = PmcwFlags::MULTIPATH.bits();
    let mm = gate::css::Pmcw::MM_MASK;
    let csense = PmcwChars::CSENSE.bits();
    r.check(env, Id::RoundTripIntparm, |_| {
        pair(w.intparm.into(), s.intparm.into())
    });
    r.check(env, Id::RoundTripIsc, |_| {
        pair(w.isc().into(), s.isc().into())
    });
    r.check(env, Id::RoundTripEnable, |_| {
        pair(w.is_enabled().into(), s.is_enabled().into())
    });
    r.check(env, Id::RoundTripMultipath, |_| {
        pair((w.flags & multipath).into(), (s.flags & multipath).into())
    });
    r.check(env, Id::RoundTripMbi, |_| pair(w.mbi.into(), s.mbi.into()));
    r.check(env, Id::RoundTripMm, |_| {
        pair((w.flags & mm).into(), (s.flags & mm).into())
    });
    r.check(env, Id::RoundTripConcurrentSense, |_| {
        pair((w.chars & csense).into(), (s.chars & csense).into())
    });
    // Back to the subchannel as the scenario found it.
    let mut s = env.current();
    s.pmcw.flags &= !(multipath | mm);
    s.pmcw.chars &= !csense;
    s.pmcw.mbi = 0;
    // SAFETY: measurement mode off: nothing stored later.
    unsafe { env.modify(&s) };
    if let Err(e) = css::enable(env.sid) {
        println!("conformance: re-enabling failed: {}", e.reason());
    }
}

fn tsch_idle(env: &mut Env, r: &mut Run) {
    let mut idle_scsw = gate::css::Scsw::ZERO;
    r.check(env, Id::TschIdleCc, |e| {
        e.settle();
        let mut irb = Irb::ZERO;
        irb.scsw = gate::css::Scsw::from_words([u32::MAX; 3]);
        let observed = cc(insn::tsch(e.sid, &mut irb));
        idle_scsw = irb.scsw;
        observed
    });
    r.check(env, Id::TschIdleControls, |_| {
        Observed::Value(u64::from(idle_scsw.words()[0] & 0x7fff))
    });
}

fn status_pending(env: &mut Env, r: &mut Run) {
    let sid = env.sid;
    r.check(env, Id::PendingSsch, |e| {
        // SAFETY: the NOP program stores nothing.
        if unsafe { insn::ssch(sid, &nop_orb()) } != Cc::Zero || !e.wait_status_pending() {
            e.settle();
            return Observed::Skipped("no-status-pending");
        }
        // SAFETY: as above.
        cc(unsafe { insn::ssch(sid, &nop_orb()) })
    });
    r.check(env, Id::PendingMsch, |e| {
        let s = e.schib;
        // SAFETY: the subchannel's own SCHIB (the STSCH of the wait above)
        // keeps the measurement mode and block it has.
        cc(unsafe { insn::msch(sid, &s) })
    });
    for id in [Id::PendingTsch, Id::PendingCleared] {
        r.check(env, id, |_| {
            let mut irb = Irb::ZERO;
            cc(insn::tsch(sid, &mut irb))
        });
    }
}

fn channel_reports(env: &mut Env, r: &mut Run) {
    let mut crw = 0;
    // The installed CHPID RESET CHANNEL PATH is tried on, or why not.
    let mut chpid: Result<u8, &'static str> = Err("no-installed-chpid");
    r.check(env, Id::StcrwNoneCc, |e| {
        for _ in 0..MAX_DRAIN {
            match insn::stcrw() {
                Some(crw) => println!("crw: {crw:#010x} pending before the checks"),
                None => break,
            }
        }
        let (c, word) = e.stcrw();
        crw = word;
        cc(c)
    });
    r.check(env, Id::StcrwNoneZeros, |_| Observed::Value(crw.into()));
    r.check(env, Id::RchpReserved, |e| {
        if e.real_paths {
            // Resetting a passed-through device's real channel path would
            // disturb the host: the RCHP checks are off.
            chpid = Err("real-channel-path");
            return Observed::Skipped("real-channel-path");
        }
        let Some(installed) = e.installed_chpid() else {
            return Observed::Skipped("no-installed-chpid");
        };
        chpid = Ok(installed);
        guarded(|| insn::rchp_guarded(0x0000_ff00 | u32::from(installed)))
    });
    r.check(env, Id::RchpCc, |_| match chpid {
        Ok(chpid) => guarded(|| insn::rchp_guarded(u32::from(chpid))),
        Err(why) => Observed::Skipped(why),
    });
    r.check(env, Id::RchpCrwCc, |e| {
        if let Err(why) = chpid {
            return Observed::Skipped(why);
        }
        let deadline = e.deadline();
        loop {
            let (c, word) = e.stcrw();
            crw = word;
            if c == Cc::Zero || clock::tod() >= deadline {
                return cc(c);
            }
        }
    });
    r.check(env, Id::RchpCrwRsc, |_| match chpid {
        Ok(_) => Observed::Value(u64::from((crw >> 24) & 0xf)),
        Err(why) => Observed::Skipped(why),
    });
    r.check(env, Id::RchpCrwRsid, |_| match chpid {
        Ok(chpid) => Observed::Pair {
            wrote: chpid.into(),
            read: u64::from(crw & 0xffff),
        },
        Err(why) => Observed::Skipped(why),
    });
    r.check(env, Id::RchpNoMoreCc, |e| match chpid {
        Ok(_) => {
            let (c, word) = e.stcrw();
            crw = word;
            cc(c)
        }
        Err(why) => Observed::Skipped(why),
    });
    r.check(env, Id::RchpNoMoreZeros, |_| match chpid {
        Ok(_) => Observed::Value(crw.into()),
        Err(why) => Observed::Skipped(why),
    });
}

fn measurement_blocks(env: &mut Env, r: &mut Run) {
    let sid = env.sid;
    // Whether format-1 blocks can be tried: the facility, asked here.
    let extended_mb = env.scsc().1;
    r.check(env, Id::MbFmt0Index0, |e| {
        // SAFETY: measurements off store nothing; then the origin is the
        // format-0 area, `Dma` memory for the rest of the run, which holds
        // the blocks of MBI 0 and 1, the only ones this group measures into
        // (`measure_fmt0`); no other subchannel is in measurement mode.
        unsafe {
            insn::schm_guarded(0, 0);
            insn::schm_guarded(SCHM_UPDATE, measurement::fmt0_origin());
        }
        match e.measure_fmt0(0) {
            Ok(()) => Observed::Value(measurement::fmt0_count(0).into()),
            Err(why) => Observed::Skipped(why),
        }
    });
    r.check(env, Id::MbFmt0Index1, |e| match e.measure_fmt0(1) {
        Ok(()) => Observed::Value(measurement::fmt0_count(1).into()),
        Err(why) => Observed::Skipped(why),
    });
    r.check(env, Id::MbFmt0Index1Only, |_| {
        Observed::Value(measurement::fmt0_count(0).into())
    });
    r.check(env, Id::MbFmt0Stopped, |e| {
        // SAFETY: measurements off store nothing.
        unsafe { insn::schm_guarded(0, 0) };
        measurement::clear();
        let result = e.starts(STARTS);
        let counts = u64::from(measurement::fmt0_count(0)) + u64::from(measurement::fmt0_count(1));
        e.measurement_off();
        match result {
            Ok(()) => Observed::Value(counts),
            Err(why) => Observed::Skipped(why),
        }
    });
    r.check(env, Id::MbFmt1Unaligned, |e| {
        if !extended_mb {
            return Observed::Skipped("no-extended-measurement-block");
        }
        // The monitor's origin is the format-0 area: a host that ignored
        // the format control would measure into block 0 there.
        // SAFETY: the origin is `Dma` memory for the rest of the run, holding
        // the block of MBI 0, which `fmt1_schib` sets.
        unsafe { insn::schm_guarded(SCHM_UPDATE, measurement::fmt0_origin()) };
        let s = e.fmt1_schib(measurement::fmt1_address() + 1);
        e.place(0, &s.to_bytes());
        let scratch = &mut *e.scratch;
        // SAFETY: an unaligned block address must be refused (operand
        // exception); a host that took it would store 64 bytes from the
        // format-1 block's address plus one, inside `BLOCKS.fmt1` (128
        // bytes), or, ignoring the format control, into the format-0 block
        // of MBI 0 at the origin above: `Dma` memory for the rest of the run.
        guarded(|| unsafe { insn::msch_at(sid, scratch, 0) })
    });
    r.check(env, Id::MbFmt1Counts, |e| {
        if !extended_mb {
            return Observed::Skipped("no-extended-measurement-block");
        }
        measurement::clear();
        let s = e.fmt1_schib(measurement::fmt1_address());
        // SAFETY: the format-1 block is `BLOCKS.fmt1` (or, for a host that
        // ignored the format control, block 0 at the format-0 origin the
        // check before set): `Dma` memory for the rest of the run.
        let result = match unsafe { e.modify(&s) } {
            Cc::Zero => e.starts(STARTS),
            _ => Err("msch-not-accepted"),
        };
        let count = measurement::fmt1_count();
        e.measurement_off();
        match result {
            Ok(()) => Observed::Value(count.into()),
            Err(why) => Observed::Skipped(why),
        }
    });
    // Measurements off, whatever the checks left on.
    env.measurement_off();
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
        real_paths: config.host == Host::VfioCcw,
    };
    let mut run = Run {
        tally: Tally::default(),
        next: 0,
    };
    for g in config.conformance_order.groups() {
        let group = &GROUPS[g];
        // Each group starts from the same state: no status and no
        // interruption pending, no SCHIB stored, whatever ran before.
        env.quiesce(group.name);
        env.schib = Schib::ZERO;
        run.next = group.range().start;
        GROUP_FNS[g](&mut env, &mut run);
        assert_eq!(
            run.next,
            group.range().end,
            "conformance group {} ran short",
            group.name
        );
    }
    let tally = run.tally;
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
