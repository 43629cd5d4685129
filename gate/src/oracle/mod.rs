//! The per-subchannel oracle.
//!
//! The driver feeds it every channel instruction it executed on one
//! subchannel (with the condition code it got) and every status it collected
//! with TEST SUBCHANNEL, in the order they happened. The oracle keeps a model
//! of what the guest has outstanding and checks each event against what the
//! z/Architecture Principles of Operation (SA22-7832; chapter 14 "I/O
//! Instructions", 15 "Basic I/O Functions", 16 "I/O Interruptions") allows
//! for that history. The first event the architecture does not allow is
//! returned as a [`Violation`] with a stable [`Class`] name.
//!
//! Model assumptions (guaranteed by the scenario driver):
//! - at most one of start/halt/clear is outstanding per subchannel, except
//!   that HSCH and CSCH may be issued while a start (or, for CSCH, anything)
//!   is outstanding, which is what they are for;
//! - every SSCH uses a fresh interruption parameter;
//! - the guest never requests intermediate status (no PCI flag, no suspend,
//!   no initial-status interruption), so any intermediate status is foreign.
//!
//! A violating event leaves the model as it was before the event (only the
//! counters moved); the run ends there anyway.
//!
//! The table decides. Where a status word is presented in a guest-visible
//! operation state (idle, a start still due its first status or its
//! separate secondary status, a halt, a clear), the oracle classifies it
//! ([`table::Word`]), looks it up in [`table::decide`] (the rows compiled
//! at build time into one set of rows per field value, ANDed: no scan, no
//! allocation) and acts on the first row that holds: PASS
//! with what follows, FAIL with the row's class and `what` (the row says
//! what goes in expected and actual, [`table::Shows`]), the device's own
//! status that the driver makes an environment ERROR, or a named
//! deviation, a FAIL under `host=strict` and counted under `host=vfio-ccw`.
//! What depends on history rather than the word stays in code, before the
//! lookup: the interruption parameter (with, under QEMU's TCG, the
//! interruption it leaves queued after TEST SUBCHANNEL took its status:
//! [`Deviation::TcgLeftoverInterruption`]), status repeated from an earlier
//! operation, the status a deviation left owed (and a halt's or clear's
//! late status for the next start), TEST SUBCHANNEL's cc 1 against the
//! interruption requests still queued, and a halt's separate device end
//! (no state of the table's). The files:
//! - `table.rs`: the rules as data, each row with its PoP reference,
//!   rendered into `docs/oracle-table.md`;
//! - `start.rs`: START SUBCHANNEL and its condition codes, and what a
//!   start's verdict does (not initiated, device end to come, ended);
//! - `halt_clear.rs`: HALT and CLEAR SUBCHANNEL and their condition codes,
//!   what a halt's or clear's verdict does (with the host deviations that
//!   end one early and leave its own status owed), and a halt's separate
//!   device end;
//! - `data.rs`: what a channel program read (SENSE ID) or must have left
//!   alone (guard regions);
//! - `status.rs`: the history checks (interruption parameter, repeated
//!   status), the secondary and device-status checks of a halt's trailing
//!   device end, and status collected while nothing is outstanding (owed,
//!   unsolicited, repeated or spurious);
//! - this file: the types, the entry points (an interruption, with the TEST
//!   SUBCHANNEL condition code, dispatched by state; the expired waits) and
//!   the bookkeeping all of them share.

use crate::accel::Accel;
use crate::cmdline::Host;
use crate::css::{Cc, FunctionControl, Scsw, StatusControl};
use crate::tod::tod_to_us;

mod data;
mod halt_clear;
mod start;
mod status;
#[cfg(test)]
mod test_util;

/// Completed operations remembered for recognising repeated status.
const RECENT: usize = 4;

/// One I/O interruption as the kernel observed it: the interruption code
/// from the lowcore plus what TEST SUBCHANNEL returned for that subchannel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interruption {
    /// Subsystem-identification word from the interruption code.
    pub sid: u32,
    /// Interruption parameter from the interruption code.
    pub intparm: u32,
    /// Condition code of the TSCH that collected the status.
    pub tsch_cc: Cc,
    /// SCSW from the IRB that TSCH stored.
    pub scsw: Scsw,
    /// TOD clock when the status was collected.
    pub tod: u64,
}

named_enum! {
    /// Violation classes; [`Class::name`] is the stable name printed in the
    /// verdict.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Class {
        SidMismatch => "sid-mismatch",
        IntparmMismatch => "intparm-mismatch",
        WrongFunction => "wrong-function",
        DuplicateStatus => "duplicate-status",
        LostInterrupt => "lost-interrupt",
        SpuriousInterrupt => "spurious-interrupt",
        BadStatus => "bad-status",
        CcwAddress => "ccw-address",
        DataCorruption => "data-corruption",
        CcAnomaly => "cc-anomaly",
        /// An instruction-level rule (an operand's program exception, a
        /// condition code, a stored field) of `scenario=conformance`; judged by
        /// [`crate::conformance`], not by the oracle.
        Conformance => "conformance",
    }
}

impl Class {
    /// One line for the README and `--help`.
    pub const fn summary(self) -> &'static str {
        match self {
            Class::SidMismatch => "an interruption named a subchannel other than the one under test",
            Class::IntparmMismatch => {
                "an interruption carried an interruption parameter of no operation the guest awaits"
            }
            Class::WrongFunction => {
                "status showed a function the guest did not issue (e.g. a clear's status for a start)"
            }
            Class::DuplicateStatus => "status the guest had already collected was presented again",
            Class::LostInterrupt => {
                "the final status of an accepted operation, or of claimed pending status, never came"
            }
            Class::SpuriousInterrupt => {
                "an interruption came with nothing outstanding, or TSCH found no status for it"
            }
            Class::BadStatus => {
                "status, activity or device/channel status not allowed for the operation"
            }
            Class::CcwAddress => "the SCSW CCW address does not point just past a CCW of the program",
            Class::DataCorruption => "SENSE ID data or a guard region differs from what was expected",
            Class::CcAnomaly => {
                "an instruction's (or the deferred) condition code is impossible in the known state"
            }
            Class::Conformance => {
                "an instruction's program exception, condition code or stored result broke its rule"
            }
        }
    }
}

/// The first event the architecture does not allow.
///
/// `expected` and `actual` depend on the check: an interruption parameter,
/// an SCSW field (function, activity or status control bits in their word-0
/// positions, device or subchannel status byte), a CCW address, a condition
/// code, or for [`Class::LostInterrupt`] the expected interruption parameter
/// and the microseconds waited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Violation {
    pub class: Class,
    /// Short kebab-case detail, stable for a given check.
    pub what: &'static str,
    pub expected: u32,
    pub actual: u32,
}

impl Violation {
    pub const fn new(class: Class, what: &'static str, expected: u32, actual: u32) -> Self {
        Self {
            class,
            what,
            expected,
            actual,
        }
    }
}

pub(crate) const fn violation(
    class: Class,
    what: &'static str,
    expected: u32,
    actual: u32,
) -> Violation {
    Violation::new(class, what, expected, actual)
}

named_enum! {
    /// A way upstream vfio-ccw and QEMU depart from the architecture on every
    /// version. Under `host=strict` each is a FAIL whose `what` is its
    /// [`Deviation::name`] (its stable name); under `host=vfio-ccw` it is
    /// counted and the oracle
    /// goes on expecting what the architecture still requires.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Deviation {
        /// QEMU's `vfio_ccw_io_notifier_handler` copies the host's whole SCSW
        /// (`copy_scsw_to_guest`), function control included, over the guest's:
        /// a start that ended before the host issued the guest's CLEAR shows
        /// the start function alone after CSCH cc 0. The clear's own status
        /// still follows.
        StartStatusAfterClear => "start-status-after-clear",
        /// The same for HALT: the host's halt found the subchannel idle, the
        /// start's status arrives with the start function alone, the halt's own
        /// status follows.
        StartStatusAfterHalt => "start-status-after-halt",
        /// QEMU's `css_do_csch` does not withdraw status already pending: TSCH
        /// stores it with the clear function and clear pending. The clear's own
        /// status follows.
        ClearPresentsPendingStatus => "clear-presents-pending-status",
        /// Host HSCH cc 1 (the start's status pending at the real subchannel)
        /// becomes -EBUSY in `fsm_do_halt`, which QEMU's
        /// `sch_handle_halt_func_passthrough` returns as cc 2. The start's
        /// status follows.
        HschBusyForPendingStatus => "hsch-busy-for-pending-status",
        /// Host SSCH cc 1 or 2 becomes -EBUSY in `fsm_io_helper` (or the FSM is
        /// still `CP_PENDING`: `fsm_io_busy`), which `vfio_ccw_handle_request`
        /// returns as cc 2 while the guest's subchannel is idle. Nothing was
        /// started; the guest may start again.
        SschBusyWhileIdle => "ssch-busy-while-idle",
        /// `sch_handle_start_func_passthrough` puts the ORB's interruption
        /// parameter into the SCHIB before the host is asked, and `css_do_ssch`
        /// does not restore it when the host refuses: status that arrives
        /// afterwards carries the refused start's parameter.
        IntparmOfRefusedStart => "intparm-of-refused-start",
        /// QEMU's `vfio_ccw_io_notifier_handler` copies the host's whole SCSW
        /// over the guest's for unsolicited status too: status a device
        /// presented on its own (attention, a device end after a state change)
        /// while the guest's start is outstanding shows no function, where the
        /// architecture has the start function shown (or, while the start is
        /// pending, the start not initiated with deferred cc 1). The start's own
        /// status still follows.
        UnsolicitedStatusOverStart => "unsolicited-status-over-start",
        /// The other order of [`Deviation::StartStatusAfterHalt`]: the host's
        /// HSCH found its subchannel idle (the start had ended there, its IRB
        /// taken by `fsm_irq` into `private->irb` and not yet relayed by
        /// `vfio_ccw_sch_io_todo`), so the halt ended with the halt function
        /// alone, and that IRB is relayed first, or alone when it replaced the
        /// start's in `private->irb`. Through the whole-SCSW copy the guest sees
        /// a halt of its running start end without the start function, which
        /// the architecture keeps shown until the start's status is taken (once
        /// the primary status is taken it is gone, and a halt while the device
        /// end is due rightly shows halt alone). The halt ends there; the start's
        /// status is lost or comes later.
        HaltStatusWithoutStart => "halt-status-without-start",
        /// Channel end and device end presented apart, with the guest's HALT
        /// or CLEAR reaching the host in between: the host's `fsm_irq` had
        /// already taken the device end into `private->irb`, and
        /// `vfio_ccw_sch_io_todo` relays it; QEMU's
        /// `vfio_ccw_io_notifier_handler` copies the host's whole SCSW
        /// (`copy_scsw_to_guest`) over the guest's, so the guest sees
        /// secondary status with no function after HSCH or CSCH cc 0, where
        /// the architecture shows the halt or clear function on any status
        /// presented until its own is taken. Excused: that word (function
        /// control zero, secondary status) while a halt or clear of a start
        /// whose device end is due is outstanding, or once while its own
        /// status is owed after the channel end came with the start
        /// function alone (`start-status-after-halt`/`-clear`, the device
        /// left active); the rest is judged as a separate device end. The
        /// halt's or clear's own status still follows.
        DeviceEndAfterHaltOrClear => "device-end-after-halt-or-clear",
        /// The emulator's, not upstream vfio-ccw's: counted under TCG in both
        /// profiles ([`Deviation::emulator`]), never under KVM, where the same
        /// interruption is the FAIL it always was. QEMU's TCG leaves an I/O
        /// interruption queued when TEST SUBCHANNEL takes its status:
        /// `ioinst_handle_tsch` (target/s390x/ioinst.c) only stores the IRB and
        /// updates the SCHIB (`css_do_tsch_get_irb`, `css_do_tsch_update_subch`),
        /// and the queue `qemu_s390_inject_io` fills (hw/intc/s390_flic.c) is
        /// emptied only by delivery and TEST PENDING INTERRUPTION
        /// (`qemu_s390_flic_dequeue_io`) or a channel report
        /// (`qemu_s390_clear_io_flic`). Under KVM, `handle_tsch`
        /// (arch/s390/kvm/priv.c) withdraws one interruption of the subchannel
        /// (`kvm_s390_get_io_int`) before QEMU runs the instruction. The relay
        /// injects one interruption per host IRB (`vfio_ccw_io_notifier_handler`,
        /// `css_inject_io_interrupt`, with the SCHIB's parameter of that moment):
        /// a start's IRB and a clear's make two for the one status the guest
        /// takes, and the second is taken after the guest's next START with the
        /// old parameter. Its TEST SUBCHANNEL finds the new start's status (it
        /// came between the presentation and the instruction), or nothing
        /// (cc 1, excused in every accelerator by the interruption requests
        /// still queued, as a CLEAR's withdrawn status is). QEMU presents the
        /// newest first (`QLIST_INSERT_HEAD`), so a leftover can wait behind
        /// the next start's own interruption and come two starts behind.
        /// Excused: an interruption with status carrying an earlier parameter
        /// of the subchannel's while a request made under it is still queued
        /// (the guest's operations made more requests under it than
        /// interruptions came with it), at most [`EARLIER`] starts after it;
        /// the status is then judged in full as the outstanding operation's
        /// own (or, idle, as unsolicited).
        TcgLeftoverInterruption => "tcg-leftover-interruption",
    }
}

impl Deviation {
    /// Whether it is the emulator's (QEMU's TCG) rather than the host's:
    /// counted under TCG whatever the profile, and no deviation at all
    /// under KVM.
    pub const fn emulator(self) -> bool {
        matches!(self, Deviation::TcgLeftoverInterruption)
    }
}

/// How often each [`Deviation`] was accepted, indexed like
/// [`Deviation::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deviations(pub [u32; Deviation::ALL.len()]);

impl Deviations {
    pub const ZERO: Self = Self([0; Deviation::ALL.len()]);

    pub fn get(&self, d: Deviation) -> u32 {
        self.0[d as usize]
    }

    pub fn total(&self) -> u32 {
        self.0.iter().sum()
    }

    /// The host's alone, the emulator's ([`Deviation::emulator`]) left out.
    pub fn host_total(&self) -> u32 {
        self.total() - self.get(Deviation::TcgLeftoverInterruption)
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Deviations) {
        for (n, o) in self.0.iter_mut().zip(other.0.iter()) {
            *n = n.saturating_add(*o);
        }
    }

    /// `(name, count)` of every deviation seen at least once.
    pub fn seen(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        Deviation::ALL
            .iter()
            .map(|&d| (d.name(), self.get(d)))
            .filter(|&(_, n)| n > 0)
    }
}

impl core::fmt::Display for Deviations {
    /// `NAME:N,NAME:N` or `none`: a verdict value without spaces.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for (name, n) in self.seen() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{name}:{n}")?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// What the guest is waiting for on the subchannel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outstanding {
    Idle,
    Start,
    Halt,
    Clear,
}

/// Address range of a channel program: `ccw_count` consecutive format-1
/// CCWs starting at `first_ccw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Program {
    pub first_ccw: u32,
    pub ccw_count: u32,
}

impl Program {
    pub const fn new(first_ccw: u32, ccw_count: u32) -> Self {
        Self {
            first_ccw,
            ccw_count,
        }
    }

    /// Address just past the last CCW.
    pub const fn end(&self) -> u32 {
        self.first_ccw.wrapping_add(self.ccw_count.wrapping_mul(8))
    }

    /// Whether `cpa` is `first_ccw + 8k` for some `1 <= k <= ccw_count`,
    /// i.e. it designates the CCW after one that the program contains.
    pub const fn ends_in(&self, cpa: u32) -> bool {
        let first = self.first_ccw as u64;
        let cpa = cpa as u64;
        let end = first + 8 * self.ccw_count as u64;
        cpa > first && cpa <= end && (cpa - first) % 8 == 0
    }
}

/// A basic I/O function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Start,
    Halt,
    Clear,
}

impl Op {
    /// The function a status belongs to: clear supersedes halt supersedes
    /// start, as the clear and halt functions take over the subchannel.
    fn of(fc: FunctionControl) -> Option<Op> {
        if fc.contains(FunctionControl::CLEAR) {
            Some(Op::Clear)
        } else if fc.contains(FunctionControl::HALT) {
            Some(Op::Halt)
        } else if fc.contains(FunctionControl::START) {
            Some(Op::Start)
        } else {
            None
        }
    }

    const fn repeated(self) -> &'static str {
        match self {
            Op::Start => "start-status-repeated",
            Op::Halt => "halt-status-repeated",
            Op::Clear => "clear-status-repeated",
        }
    }
}

/// An operation whose final status the guest has now collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completed {
    pub op: Op,
    /// The start's own interruption parameter, or for halt and clear the
    /// subchannel's current one.
    pub intparm: u32,
    /// TOD units from issuing the instruction to collecting the final
    /// status.
    pub latency: u64,
    /// Start only: the start function ended with alert status before the
    /// device accepted it (deferred condition code 1, or unsolicited status
    /// collected while the start was pending), so no CCW ran and the
    /// driver should issue it again. Always false for halt and clear.
    pub not_initiated: bool,
}

impl Completed {
    /// A start whose channel program ran to its normal end, so its data
    /// areas hold what the program wrote.
    pub const fn completed_start(&self) -> bool {
        matches!(self.op, Op::Start) && !self.not_initiated
    }
}

/// Latency aggregate in TOD units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub sum: u64,
}

impl Latency {
    pub const ZERO: Self = Self {
        count: 0,
        min: 0,
        max: 0,
        sum: 0,
    };

    fn record(&mut self, v: u64) {
        self.min = if self.count == 0 { v } else { self.min.min(v) };
        self.max = self.max.max(v);
        self.sum = self.sum.saturating_add(v);
        self.count += 1;
    }

    pub const fn mean(&self) -> Option<u64> {
        self.sum.checked_div(self.count)
    }
}

/// Counters for the run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub ssch: u64,
    /// SSCH answered "status pending" while idle (unsolicited status).
    pub ssch_cc1: u64,
    pub hsch: u64,
    pub hsch_cc1: u64,
    pub csch: u64,
    pub interruptions: u64,
    /// Unsolicited alert status collected while idle.
    pub unsolicited: u64,
    /// Interruptions that found no status, after a CLEAR withdrew it.
    pub withdrawn: u64,
    pub starts: u64,
    /// Starts that ended with alert status before the device accepted them.
    pub starts_not_initiated: u64,
    /// Starts whose secondary status came separately after the primary.
    pub starts_two_part: u64,
    pub halts: u64,
    /// Halts issued while a start was outstanding.
    pub halts_of_start: u64,
    pub clears: u64,
    /// Clears issued while another operation was outstanding.
    pub clears_of_op: u64,
    pub start_latency: Latency,
    pub halt_latency: Latency,
    pub clear_latency: Latency,
}

impl Stats {
    pub const ZERO: Self = Self {
        ssch: 0,
        ssch_cc1: 0,
        hsch: 0,
        hsch_cc1: 0,
        csch: 0,
        interruptions: 0,
        unsolicited: 0,
        withdrawn: 0,
        starts: 0,
        starts_not_initiated: 0,
        starts_two_part: 0,
        halts: 0,
        halts_of_start: 0,
        clears: 0,
        clears_of_op: 0,
        start_latency: Latency::ZERO,
        halt_latency: Latency::ZERO,
        clear_latency: Latency::ZERO,
    };
}

/// Which status of an outstanding start or halt is still due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    /// The function's first (normally final) status.
    First,
    /// Collected status left the subchannel device active: the device end
    /// still comes as separate secondary status.
    Secondary,
}

/// What HALT SUBCHANNEL cc 0 found outstanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Halted {
    /// Nothing.
    Idle,
    /// A start still due its first status.
    Start,
    /// A start whose primary status was taken with the subchannel device
    /// active: its device end still due, the start function no longer
    /// indicated (TEST SUBCHANNEL reset it with the primary status).
    DeviceEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Start {
        intparm: u32,
        program: Program,
        tod: u64,
        due: Due,
    },
    Halt {
        tod: u64,
        /// What was outstanding when HSCH was accepted.
        halted: Halted,
        /// The halted start's program (meaningful only with a start).
        program: Program,
        due: Due,
    },
    Clear {
        tod: u64,
        /// Something was outstanding when CSCH was accepted.
        withdrew: bool,
        /// It was a start's device end (its primary status taken).
        device_end: bool,
        /// The withdrawn start's program (meaningful only with a start).
        program: Program,
    },
}

/// Status the subchannel claimed pending (cc 1) while the guest had
/// nothing outstanding, and that the guest has not collected yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claim {
    None,
    Since(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Done {
    op: Op,
    intparm: u32,
    /// The SCSW that ended it, to recognise it replayed under another
    /// interruption parameter (QEMU presents the current one).
    words: [u32; 3],
}

/// Model of one subchannel.
#[derive(Clone, Copy, Debug)]
pub struct Oracle {
    sid: u32,
    /// The subchannel's interruption parameter: set by MSCH and by SSCH
    /// when they are accepted (cc 0), untouched by HSCH and CSCH, which
    /// carry none (PoP ch. 14 MODIFY SUBCHANNEL, START SUBCHANNEL).
    intparm: u32,
    state: State,
    recent: [Option<Done>; RECENT],
    recent_next: usize,
    claim: Claim,
    /// Interruption requests the guest's accepted operations may still have
    /// queued (see `interruption`), capped at [`MAX_REQUESTS`].
    requests: u8,
    stats: Stats,
    host: Host,
    deviations: Deviations,
    /// A halt or clear whose own status is still owed after a deviation
    /// already ended it for the guest (`host=vfio-ccw`).
    owed: Option<Op>,
    /// When the deviation that left the status owed was taken.
    owed_since: u64,
    /// The state the owed status is judged in: the host's own HALT or CLEAR
    /// reached a subchannel whose start had ended (or whose device end was
    /// still due, when the status the deviation presented left the device
    /// active).
    owed_as: table::St,
    /// The status the deviation presented left the device active: the
    /// start's device end may still be relayed, with no function, before
    /// the owed status ([`Deviation::DeviceEndAfterHaltOrClear`]).
    owed_device_end: bool,
    /// The parameter of the last start refused with a deviation's cc 2,
    /// which QEMU left in the SCHIB.
    refused_intparm: Option<u32>,
    /// The SCSW of the interruption being judged.
    last_words: [u32; 3],
    /// The accelerator judged under ([`Deviation::TcgLeftoverInterruption`]).
    accel: Accel,
    /// Under TCG, earlier parameters the subchannel had that left requests
    /// over (TCG's leftovers), the last [`EARLIER`] of them: the
    /// parameter, the requests made while it was current and not yet
    /// presented, and `stats.ssch` when the next SSCH made it earlier.
    earlier: [(u32, u8, u64); EARLIER],
    /// The slot of `earlier` filled next.
    earlier_next: usize,
    /// Interruption requests made, ever (wrapping; `requests` is capped).
    made: u8,
    /// Under TCG: requests made less interruptions presented (wrapping)
    /// when the current parameter became current, less one for each
    /// earlier parameter's request presented since: how many the current
    /// one leaves over is how far `made` less presented has grown past it
    /// when the next SSCH comes.
    opened: u8,
}

/// Earlier parameters whose leftover requests the oracle keeps count of
/// under TCG, and how many STARTs later a leftover may still come: it
/// waits behind at most the interruptions of the operations after it
/// (QEMU presents the newest first), and every wait for status takes one;
/// the model's leftovers came at most two starts later.
const EARLIER: usize = 3;

/// At most a start, the clear or halt that ended it and a status a
/// deviation left owed can have requests queued at once; the cap keeps a
/// host that does withdraw requests (as the architecture allows) from
/// building up an excuse for spurious ones.
const MAX_REQUESTS: u8 = 3;

impl Oracle {
    /// `intparm` is the parameter set by the MSCH that enabled the
    /// subchannel.
    pub const fn new(sid: u32, intparm: u32) -> Self {
        Self {
            sid,
            intparm,
            state: State::Idle,
            recent: [None; RECENT],
            recent_next: 0,
            claim: Claim::None,
            requests: 0,
            stats: Stats::ZERO,
            host: Host::Strict,
            deviations: Deviations::ZERO,
            owed: None,
            owed_since: 0,
            owed_as: table::St::Idle,
            owed_device_end: false,
            refused_intparm: None,
            last_words: [0; 3],
            accel: Accel::Kvm,
            earlier: [(0, 0, 0); EARLIER],
            earlier_next: 0,
            made: 0,
            opened: 0,
        }
    }

    /// The same oracle judging under the accelerator `accel` (KVM unless
    /// told).
    pub const fn with_accel(mut self, accel: Accel) -> Self {
        self.accel = accel;
        self
    }

    /// The same oracle judging under the `host` profile.
    pub const fn with_host(mut self, host: Host) -> Self {
        self.host = host;
        self
    }

    /// Deviations accepted so far (always zero under `host=strict`).
    pub const fn deviations(&self) -> &Deviations {
        &self.deviations
    }

    /// A known upstream deviation: a FAIL with `strict` (the violation
    /// given), counted with `vfio-ccw`.
    fn deviate(&mut self, d: Deviation, strict: Violation) -> Result<(), Violation> {
        match self.host {
            // The FAIL names the deviation, in the class of the rule it breaks.
            Host::Strict => Err(Violation {
                what: d.name(),
                ..strict
            }),
            Host::VfioCcw => {
                self.deviations.0[d as usize] += 1;
                Ok(())
            }
        }
    }

    /// Judges a status presented in the guest-visible state `st` through
    /// the table ([`table::decide`]): the row's verdict, its violation built
    /// from the row (class, `what`, and expected and actual as the row
    /// [`table::Shows`]), a deviation counted or failed by the profile.
    fn judged(
        &mut self,
        st: table::St,
        s: &Scsw,
        program: Program,
    ) -> Result<table::Then, Violation> {
        self.judged_word(st, &table::Word::of(s, 0, program), s, program)
    }

    /// [`Oracle::judged`] on the word's classes `w`. A deviation's word is
    /// judged again without the fields the deviation excuses
    /// ([`table::without`]) before it is counted: what fails there fails
    /// in both profiles.
    fn judged_word(
        &mut self,
        st: table::St,
        w: &table::Word,
        s: &Scsw,
        program: Program,
    ) -> Result<table::Then, Violation> {
        let Some(row) = table::decide(st, w) else {
            // Every state's rows end with one that always holds (a test
            // keeps it so).
            return Err(violation(Class::BadStatus, "no-rule", 0, 0));
        };
        let (expected, actual) = row.shows.evidence(s, program);
        match row.verdict {
            table::Verdict::Pass(then) => Ok(then),
            table::Verdict::Fail(class, what) | table::Verdict::Environment(class, what, _) => {
                Err(violation(class, what, expected, actual))
            }
            table::Verdict::Deviation(d, class, then) => {
                // No state a deviation is judged again in has a deviation
                // row of its own (a test keeps it so): no recursion beyond one.
                let again = match table::without(d, st, w) {
                    Some((st, w)) => self.judged_word(st, &w, s, program)?,
                    None => then,
                };
                self.deviate(d, violation(class, d.name(), expected, actual))?;
                Ok(table::after(then, again))
            }
        }
    }

    /// Presentations still to come, each with its own interruption request:
    /// the outstanding operation's status and a status a deviation left
    /// owed.
    fn still_due(&self) -> u8 {
        u8::from(!matches!(self.state, State::Idle)) + u8::from(self.owed.is_some())
    }

    /// An operation was accepted and will make an interruption request.
    fn requested(&mut self) {
        self.requests = (self.requests + 1).min(MAX_REQUESTS);
        self.made = self.made.wrapping_add(1);
    }

    pub const fn sid(&self) -> u32 {
        self.sid
    }

    pub const fn outstanding(&self) -> Outstanding {
        match self.state {
            State::Idle => Outstanding::Idle,
            State::Start { .. } => Outstanding::Start,
            State::Halt { .. } => Outstanding::Halt,
            State::Clear { .. } => Outstanding::Clear,
        }
    }

    /// Whether the driver must wait for an interruption: an operation is
    /// outstanding, or the subchannel answered cc 1 ("status pending")
    /// while idle and that status has not been collected yet.
    pub const fn expects_interruption(&self) -> bool {
        !matches!(self.state, State::Idle) || !matches!(self.claim, Claim::None)
    }

    /// The halt or clear whose own status a deviation left owed.
    pub const fn owed(&self) -> Option<Op> {
        self.owed
    }

    pub const fn current_intparm(&self) -> u32 {
        self.intparm
    }

    pub const fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The bounded wait for an interruption ran out at `tod`.
    pub fn expired(&mut self, tod: u64) -> Result<(), Violation> {
        let (what, since) = match self.state {
            State::Idle => match self.claim {
                Claim::None => return Ok(()),
                Claim::Since(t) => ("claimed-status-never-presented", t),
            },
            State::Start {
                tod,
                due: Due::First,
                ..
            } => ("start-never-completed", tod),
            State::Start {
                tod,
                due: Due::Secondary,
                ..
            } => ("secondary-status-never-came", tod),
            State::Halt {
                tod,
                due: Due::First,
                ..
            } => ("halt-never-completed", tod),
            State::Halt {
                tod,
                due: Due::Secondary,
                ..
            } => ("secondary-status-never-came", tod),
            State::Clear { tod, .. } => ("clear-never-completed", tod),
        };
        Err(self.lost(what, since, tod))
    }

    /// The I/O timeout expired while a halt's or clear's own status was
    /// owed (see [`Oracle::owed`]): PoP ch. 14, HALT and CLEAR SUBCHANNEL,
    /// each function ends with its own status; a deviation may present
    /// other status first, never none.
    pub fn owed_expired(&mut self, tod: u64) -> Result<(), Violation> {
        let what = match self.owed {
            None => return Ok(()),
            Some(Op::Clear) => "owed-clear-status-never-presented",
            Some(_) => "owed-halt-status-never-presented",
        };
        Err(self.lost(what, self.owed_since, tod))
    }

    /// `lost-interrupt` `what`, naming the microseconds waited since `since`.
    fn lost(&self, what: &'static str, since: u64, tod: u64) -> Violation {
        let waited_us = u32::try_from(tod_to_us(tod.saturating_sub(since))).unwrap_or(u32::MAX);
        violation(Class::LostInterrupt, what, self.intparm, waited_us)
    }

    /// An I/O interruption for this subchannel and the status TSCH
    /// collected for it.
    pub fn interruption(&mut self, irq: &Interruption) -> Result<Option<Completed>, Violation> {
        self.stats.interruptions += 1;
        // PoP ch. 16 I/O Interruptions, interruption code: the first word
        // identifies the subchannel whose status is pending. Checked first
        // because nothing else about a foreign subchannel's status means
        // anything for ours.
        if irq.sid != self.sid {
            return Err(violation(
                Class::SidMismatch,
                "foreign-subchannel",
                self.sid,
                irq.sid,
            ));
        }
        match irq.tsch_cc {
            Cc::Zero => self.requests = self.requests.saturating_sub(1),
            // PoP ch. 14 TEST SUBCHANNEL: cc 1 means the subchannel was not
            // status pending. An I/O interruption is only made pending
            // together with status, and stays tied to it until TSCH or CSCH
            // clears both, so an interruption without status was invented.
            //
            // One exception: every accepted SSCH, HSCH or CSCH makes one
            // interruption request, and the status it stands for can be
            // taken by an earlier TSCH (or withdrawn by CSCH) while the
            // request stays queued: QEMU, for emulated and vfio-ccw devices
            // alike, dequeues I/O interruptions only when presenting them or
            // on a channel report. Such a request's TSCH finds no status and
            // the guest learns nothing wrong, so it is excused while the
            // guest's own operations can account for it: requests beyond
            // those whose status is still to come (the outstanding
            // operation's, an owed one's). The outstanding operation's own
            // request cannot be the empty one: its status is stored before
            // its interruption is requested (PoP ch. 16: the interruption
            // condition is made pending together with status pending).
            Cc::One if self.requests > self.still_due() => {
                self.requests -= 1;
                self.stats.withdrawn += 1;
                if irq.intparm != self.intparm && self.accel == Accel::Tcg {
                    // An earlier parameter's leftover, gone now.
                    self.take_earlier(irq.intparm);
                }
                return Ok(None);
            }
            Cc::One => {
                let what = if self.still_due() > 0 {
                    "no-status-while-outstanding"
                } else {
                    "no-status-pending"
                };
                return Err(violation(Class::SpuriousInterrupt, what, 0, 1));
            }
            // PoP ch. 14 TEST SUBCHANNEL: cc 2 is never set; cc 3 means
            // not operational.
            other => {
                return Err(violation(
                    Class::CcAnomaly,
                    "tsch-cc",
                    0,
                    other.as_u8().into(),
                ));
            }
        }
        let s = irq.scsw;
        self.last_words = s.words();
        // PoP ch. 14 TEST SUBCHANNEL: cc 0 means status was pending, and
        // the stored SCSW then shows the status-pending bit.
        if !s.sc().contains(StatusControl::PENDING) {
            return Err(violation(
                Class::BadStatus,
                "status-not-pending",
                StatusControl::PENDING.bits(),
                s.sc().bits(),
            ));
        }
        let own;
        let irq = if irq.intparm != self.intparm
            && self.accel == Accel::Tcg
            && self.tcg_leftover(irq.intparm)
        {
            own = Interruption {
                intparm: self.intparm,
                ..*irq
            };
            &own
        } else {
            irq
        };
        match self.state {
            State::Idle => self.on_idle(irq),
            State::Start {
                intparm,
                program,
                tod,
                due,
            } => self.on_start(irq, intparm, program, tod, due),
            State::Halt {
                tod,
                halted,
                program,
                due,
            } => self.on_halt(irq, tod, halted, program, due),
            State::Clear {
                tod,
                withdrew,
                device_end,
                program,
            } => {
                let st = match (withdrew, device_end) {
                    (_, true) => table::St::ClearOfDeviceEnd,
                    (true, false) => table::St::ClearOfStart,
                    (false, false) => table::St::ClearOfIdle,
                };
                self.on_clear(irq, tod, st, program)
            }
        }
    }

    // ---- bookkeeping ----

    /// Under TCG, whether an interruption with status carrying `intparm`,
    /// not the subchannel's, is one QEMU's TCG left queued after its
    /// status was taken ([`Deviation::TcgLeftoverInterruption`], then
    /// counted): a request made while an earlier parameter was current and
    /// still queued. Its status is then judged as the outstanding
    /// operation's own.
    fn tcg_leftover(&mut self, intparm: u32) -> bool {
        let leftover = self.take_earlier(intparm);
        if leftover {
            let d = Deviation::TcgLeftoverInterruption;
            self.deviations.0[d as usize] += 1;
        }
        leftover
    }

    /// Takes one request still queued from when `intparm` was current, if
    /// there is one.
    fn take_earlier(&mut self, intparm: u32) -> bool {
        let ssch = self.stats.ssch;
        match self.earlier.iter_mut().find(|(p, left, at)| {
            *p == intparm && *left > 0 && ssch.saturating_sub(*at) <= EARLIER as u64
        }) {
            Some((_, left, _)) => {
                *left -= 1;
                // Presented, but not the current parameter's.
                self.opened = self.opened.wrapping_sub(1);
                true
            }
            None => false,
        }
    }

    /// Under TCG, an SSCH cc 0 is about to make `self.intparm` earlier:
    /// the requests made while it was current and not presented are the
    /// requests made since less the interruptions presented since that
    /// were not an earlier parameter's. Almost always none: then nothing
    /// is kept. Status nobody requested (unsolicited), or an earlier
    /// parameter's leftover not counted, makes an underestimate: the
    /// strict side. (A deviation's owed status has no request of its own
    /// here: it comes with the CLEAR's or HALT's.)
    #[inline]
    fn tcg_new_parameter(&mut self) {
        let now = self.made.wrapping_sub(self.stats.interruptions as u8);
        let left = now.wrapping_sub(self.opened) as i8;
        self.opened = now;
        if left > 0 {
            self.keep_earlier(left as u8);
        }
    }

    /// Keeps `left` requests of the parameter about to become earlier.
    #[cold]
    #[inline(never)]
    fn keep_earlier(&mut self, left: u8) {
        self.earlier[self.earlier_next] = (self.intparm, left, self.stats.ssch);
        self.earlier_next = (self.earlier_next + 1) % EARLIER;
    }

    fn claim_pending(&mut self, claim: Claim) {
        if matches!(self.claim, Claim::None) {
            self.claim = claim;
        }
    }

    /// PoP ch. 14 TEST SUBCHANNEL / CLEAR SUBCHANNEL: status pending stays
    /// pending until TSCH collects it or CSCH withdraws it. After the
    /// subchannel claimed pending status (cc 1), an instruction that only a
    /// non-status-pending subchannel accepts means the status vanished.
    fn claim_must_be_collected(&self) -> Result<(), Violation> {
        if matches!(self.claim, Claim::None) {
            Ok(())
        } else {
            Err(violation(
                Class::LostInterrupt,
                "claimed-status-vanished",
                1,
                0,
            ))
        }
    }

    fn complete(
        &mut self,
        op: Op,
        intparm: u32,
        issued: u64,
        tod: u64,
        not_initiated: bool,
    ) -> Completed {
        let latency = tod.saturating_sub(issued);
        let st = &mut self.stats;
        match (op, self.state) {
            (Op::Start, _) => {
                st.starts += 1;
                st.start_latency.record(latency);
            }
            (Op::Halt, state) => {
                st.halts += 1;
                if matches!(
                    state,
                    State::Halt {
                        halted: Halted::Start | Halted::DeviceEnd,
                        ..
                    }
                ) {
                    st.halts_of_start += 1;
                }
                st.halt_latency.record(latency);
            }
            (Op::Clear, state) => {
                st.clears += 1;
                if matches!(state, State::Clear { withdrew: true, .. }) {
                    st.clears_of_op += 1;
                }
                st.clear_latency.record(latency);
            }
        }
        self.recent[self.recent_next] = Some(Done {
            op,
            intparm,
            words: self.last_words,
        });
        self.recent_next = (self.recent_next + 1) % RECENT;
        self.state = State::Idle;
        Completed {
            op,
            intparm,
            latency,
            not_initiated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;
    use crate::css::SubchannelId;
    use std::string::ToString;

    // ---- allowed sequences ----

    #[test]
    fn latency_and_stats_accumulate() {
        let mut o = oracle();
        for (i, lat) in [(0u32, 40u64), (1, 10), (2, 70)] {
            let p = P1 + i;
            let t = 10_000 * u64::from(i);
            o.ssch(p, PROG, Cc::Zero, t).unwrap();
            o.interruption(&irq(p, START_DONE, t + lat)).unwrap();
        }
        let l = o.stats().start_latency;
        assert_eq!(
            (l.count, l.min, l.max, l.sum, l.mean()),
            (3, 10, 70, 120, Some(40))
        );
        assert_eq!(o.stats().interruptions, 3);
        assert_eq!(Latency::ZERO.mean(), None);
    }

    // ---- one violation per class ----

    #[test]
    fn sid_mismatch() {
        let mut o = started(P1);
        let mut i = irq(P1, START_DONE, 1100);
        i.sid = SubchannelId::ss0(0x0003).raw();
        let v = o.interruption(&i).unwrap_err();
        assert_eq!(
            v,
            Violation::new(Class::SidMismatch, "foreign-subchannel", SID, 0x0001_0003)
        );
    }

    #[test]
    fn lost_interrupt_when_wait_expires() {
        let mut o = started(P1);
        let v = o.expired(1000 + crate::tod::us_to_tod(250)).unwrap_err();
        assert_eq!(
            v,
            Violation::new(Class::LostInterrupt, "start-never-completed", P1, 250)
        );
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100))
            .unwrap();
        assert_eq!(
            o.expired(2000).unwrap_err().what,
            "secondary-status-never-came"
        );
        let mut o = oracle();
        assert_eq!(o.expired(5), Ok(()));
        o.csch(Cc::Zero, 10).unwrap();
        assert_eq!(o.expired(20).unwrap_err().what, "clear-never-completed");
    }

    #[test]
    fn lost_interrupt_claimed_status() {
        let mut o = oracle();
        o.ssch(P1, PROG, Cc::One, 100).unwrap();
        assert_eq!(
            o.expired(200).unwrap_err().what,
            "claimed-status-never-presented"
        );
        // Claimed pending, then accepted as if nothing was pending.
        let v = o.ssch(P1, PROG, Cc::Zero, 300).unwrap_err();
        assert_eq!(
            (v.class, v.what),
            (Class::LostInterrupt, "claimed-status-vanished")
        );
        // CSCH legitimately withdraws claimed status.
        let mut o = oracle();
        o.ssch(P1, PROG, Cc::One, 5).unwrap();
        o.csch(Cc::Zero, 10).unwrap();
        o.interruption(&irq(EN, CLEAR_DONE, 15)).unwrap();
        assert!(!o.expects_interruption());
    }

    #[test]
    fn spurious_interrupt_no_status_pending() {
        // Idle, with no operation that could have left a request queued.
        let mut o = oracle();
        let mut i = irq(P1, START_DONE, 1100);
        i.tsch_cc = Cc::One;
        assert_eq!(
            o.interruption(&i).unwrap_err(),
            Violation::new(Class::SpuriousInterrupt, "no-status-pending", 0, 1)
        );
        // The outstanding start's own request cannot be the empty one: its
        // status is stored before its interruption is requested. (Before
        // issue 20 this was excused, counting the start's own request.)
        let mut o = started(P1);
        assert_eq!(
            o.interruption(&i).unwrap_err(),
            Violation::new(
                Class::SpuriousInterrupt,
                "no-status-while-outstanding",
                0,
                1
            )
        );
        // A status a deviation left owed is still to come too.
        let mut o = vfio(cleared_start(oracle()));
        o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        assert_eq!(o.owed(), Some(Op::Clear));
        // The start's request (its status replaced) is spare: one excused.
        assert_eq!(o.interruption(&i), Ok(None));
        assert_eq!(o.stats().withdrawn, 1);
        assert_eq!(
            class_of(o.interruption(&i)),
            (Class::SpuriousInterrupt, "no-status-while-outstanding")
        );
        // A withdrawn status's request is excused once, not twice.
        let mut o = started(P1);
        o.csch(Cc::Zero, 1050).unwrap();
        assert_eq!(o.interruption(&i), Ok(None));
        o.interruption(&irq(P1, CLEAR_DONE, 1200)).unwrap().unwrap();
        assert_eq!(
            class_of(o.interruption(&i)),
            (Class::SpuriousInterrupt, "no-status-pending")
        );
    }

    #[test]
    fn requests_outliving_their_status_are_excused() {
        // What QEMU does with polling: SSCH and CSCH each queue a request;
        // the first request's TSCH takes the clear's status, the second one
        // takes the next start's, the third finds nothing.
        let mut o = started(P1);
        o.csch(Cc::Zero, 200).unwrap();
        assert_eq!(
            o.interruption(&irq(P1, CLEAR_DONE, 300))
                .unwrap()
                .unwrap()
                .op,
            Op::Clear
        );
        o.ssch(P2, PROG, Cc::Zero, 400).unwrap();
        assert_eq!(
            o.interruption(&irq(P2, START_DONE, 500))
                .unwrap()
                .unwrap()
                .op,
            Op::Start
        );
        let mut empty = irq(P2, START_DONE, 600);
        empty.tsch_cc = Cc::One;
        assert_eq!(o.interruption(&empty), Ok(None));
        assert_eq!(
            class_of(o.interruption(&empty)),
            (Class::SpuriousInterrupt, "no-status-pending")
        );
    }

    // ---- tighter completions ----

    #[test]
    fn a_split_completion_makes_two_presentations() {
        let empty = Interruption {
            tsch_cc: Cc::One,
            scsw: Scsw::ZERO,
            ..irq(P1, [0; 3], 1150)
        };
        // The device end is a presentation of its own with its own
        // interruption request, made when its status is stored: an empty
        // interruption between the two has no request to stand for. (Before
        // issue 20 one was excused, counting the device end's own request.)
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100))
            .unwrap();
        assert_eq!(
            class_of(o.interruption(&empty)),
            (Class::SpuriousInterrupt, "no-status-while-outstanding")
        );
        // After the device end, with the start's request spare from a
        // CLEAR, one is.
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100))
            .unwrap();
        o.interruption(&irq(P1, SECONDARY_ALONE, 1200))
            .unwrap()
            .unwrap();
        assert_eq!(class_of(o.interruption(&empty)).0, Class::SpuriousInterrupt);
    }

    #[test]
    fn cc_anomaly_instructions() {
        let mut o = oracle();
        assert_eq!(
            o.ssch(P1, PROG, Cc::Two, 1).unwrap_err(),
            Violation::new(Class::CcAnomaly, "ssch-busy-while-idle", 0, 2)
        );
        assert_eq!(
            o.ssch(P1, PROG, Cc::Three, 1).unwrap_err().what,
            "ssch-not-operational"
        );
        assert_eq!(o.csch(Cc::One, 1).unwrap_err().what, "csch-cc");
        assert_eq!(
            o.csch(Cc::Three, 1).unwrap_err().what,
            "csch-not-operational"
        );
        assert_eq!(
            o.hsch(Cc::Two, 1).unwrap_err().what,
            "hsch-busy-without-halt-or-clear"
        );
    }

    #[test]
    fn cc_anomaly_tsch_and_deferred() {
        let mut o = started(P1);
        let mut i = irq(P1, START_DONE, 1100);
        i.tsch_cc = Cc::Three;
        assert_eq!(
            o.interruption(&i).unwrap_err(),
            Violation::new(Class::CcAnomaly, "tsch-cc", 0, 3)
        );
        // Deferred cc 3: no path to the device was operational.
        let words = [0x0380_4011, 0, 0];
        assert_eq!(
            class_of(o.interruption(&irq(P1, words, 1100))),
            (Class::CcAnomaly, "deferred-cc")
        );
    }

    // ---- class table ----

    #[test]
    fn class_names_are_stable_and_unique() {
        let names: std::vec::Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "sid-mismatch",
                "intparm-mismatch",
                "wrong-function",
                "duplicate-status",
                "lost-interrupt",
                "spurious-interrupt",
                "bad-status",
                "ccw-address",
                "data-corruption",
                "cc-anomaly",
                "conformance"
            ]
        );
        for c in Class::ALL {
            assert!(!c.summary().is_empty() && c.summary().len() <= 100, "{c:?}");
        }
    }

    #[test]
    fn program_range() {
        let p = Program::new(0x7FFF_FFF0, 2);
        assert_eq!(p.end(), 0x8000_0000);
        assert!(p.ends_in(0x7FFF_FFF8) && p.ends_in(0x8000_0000));
        assert!(!p.ends_in(0x7FFF_FFF0));
        let p = Program::new(0xFFFF_FFF8, 1);
        assert!(!p.ends_in(0)); // no wrap-around
    }

    #[test]
    fn oracle_state_is_small_and_copy() {
        let o = started(P1);
        let copy = o;
        assert_eq!(copy.outstanding(), o.outstanding());
        assert!(core::mem::size_of::<Oracle>() <= 512);
    }

    // ---- host profiles: upstream deviations ----

    /// Issue 26, area 1: a deviation excuses the fields it is about; the
    /// rest of the word is judged as if it had not happened, so what is
    /// broken there FAILs in both profiles.
    #[test]
    fn a_deviation_excuses_its_own_fields_and_no_more() {
        // (how the state is reached, the word, the `what` it fails with)
        type Setup = fn(Oracle) -> Oracle;
        let halted: Setup = |mut o| {
            o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
            o.hsch(Cc::Zero, 1100).unwrap();
            o
        };
        let cleared: Setup = cleared_start;
        let started_: Setup = |mut o| {
            o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
            o
        };
        let cases: &[(Setup, Deviation, [u32; 3], &str)] = &[
            // start-status-after-halt and -clear: the start's ending.
            (
                halted,
                Deviation::StartStatusAfterHalt,
                [0x00C0_4007, 0x9000, 0x0C00_0000],
                "ccw-address-outside-program",
            ),
            (
                halted,
                Deviation::StartStatusAfterHalt,
                [0x00C0_4007, 0x2010, 0x0C20_0000],
                "channel-status-error",
            ),
            (
                halted,
                Deviation::StartStatusAfterHalt,
                [0x00C0_4017, 0x2010, 0x0100_0000],
                "relay-unit-exception",
            ),
            (
                halted,
                Deviation::StartStatusAfterHalt,
                [0x00C0_400F, 0x2010, 0x0C00_0000],
                "intermediate-status",
            ),
            (
                halted,
                Deviation::StartStatusAfterHalt,
                [0x03C0_4007, 0x2010, 0x0C00_0000],
                "deferred-cc",
            ),
            (
                cleared,
                Deviation::StartStatusAfterClear,
                [0x00C0_4007, 0x9000, 0x0C00_0000],
                "ccw-address-outside-program",
            ),
            (
                cleared,
                Deviation::StartStatusAfterClear,
                [0x00C0_4007, 0x2010, 0x0C20_0000],
                "channel-status-error",
            ),
            (
                cleared,
                Deviation::StartStatusAfterClear,
                [0x00C0_4017, 0x2010, 0x0100_0000],
                "relay-unit-exception",
            ),
            (
                cleared,
                Deviation::StartStatusAfterClear,
                [0x00C0_400F, 0x2010, 0x0C00_0000],
                "intermediate-status",
            ),
            (
                cleared,
                Deviation::StartStatusAfterClear,
                [0x03C0_4007, 0x2010, 0x0C00_0000],
                "deferred-cc",
            ),
            // halt-status-without-start: a halt's status otherwise.
            (
                halted,
                Deviation::HaltStatusWithoutStart,
                [0x0000_2001, 0, 0x0020_0000],
                "channel-status-error",
            ),
            (
                halted,
                Deviation::HaltStatusWithoutStart,
                [0x0000_2011, 0, 0x0100_0000],
                "alert-status-for-halt",
            ),
            (
                halted,
                Deviation::HaltStatusWithoutStart,
                [0x0000_2013, 0, 0x0100_0000],
                "relay-unit-exception",
            ),
            (
                halted,
                Deviation::HaltStatusWithoutStart,
                [0x0000_2009, 0, 0],
                "intermediate-status",
            ),
            (
                halted,
                Deviation::HaltStatusWithoutStart,
                [0x0000_2081, 0, 0],
                "activity-with-halt-status",
            ),
            // clear-presents-pending-status: the earlier status's fields.
            (
                cleared,
                Deviation::ClearPresentsPendingStatus,
                [0x0000_1107, 0x9000, 0x0C00_0000],
                "ccw-address-outside-program",
            ),
            (
                cleared,
                Deviation::ClearPresentsPendingStatus,
                [0x0000_1107, 0x2010, 0x0C20_0000],
                "channel-status-error",
            ),
            (
                cleared,
                Deviation::ClearPresentsPendingStatus,
                [0x0000_1117, 0x2010, 0x0100_0000],
                "relay-unit-exception",
            ),
            (
                cleared,
                Deviation::ClearPresentsPendingStatus,
                [0x0000_110F, 0x2010, 0x0C00_0000],
                "intermediate-status",
            ),
            (
                cleared,
                Deviation::ClearPresentsPendingStatus,
                [0x0300_1107, 0x2010, 0x0C00_0000],
                "deferred-cc",
            ),
            // unsolicited-status-over-start: unsolicited status otherwise.
            (
                started_,
                Deviation::UnsolicitedStatusOverStart,
                [0x0000_0091, 0, 0x8000_0000],
                "activity-with-unsolicited-status",
            ),
            (
                started_,
                Deviation::UnsolicitedStatusOverStart,
                [0x0000_0011, 0, 0x8800_0000],
                "channel-end-in-unsolicited-status",
            ),
        ];
        for &(setup, d, words, what) in cases {
            for host in [Host::Strict, Host::VfioCcw] {
                let mut o = setup(oracle().with_host(host));
                let got = o.interruption(&irq(P1, words, 1200)).map_err(|v| v.what);
                assert_eq!(got, Err(what), "{d:?} {host:?} {words:x?}");
                assert_eq!(o.deviations().total(), 0, "{d:?} {host:?} {words:x?}");
            }
            // The same deviation with the rest of the word clean: counted.
            let clean = match d {
                Deviation::StartStatusAfterHalt | Deviation::StartStatusAfterClear => START_DONE,
                Deviation::HaltStatusWithoutStart => HALT_IDLE,
                Deviation::ClearPresentsPendingStatus => CLEAR_OVER_PENDING,
                _ => UNSOLICITED,
            };
            let mut o = setup(vfio(oracle()));
            assert!(o.interruption(&irq(P1, clean, 1200)).is_ok(), "{d:?}");
            assert_eq!(o.deviations().get(d), 1, "{d:?}");
        }
    }

    #[test]
    fn each_deviation_fails_strict_naming_it() {
        let mut o = cleared_start(oracle());
        let v = o
            .interruption(&irq(P1, START_AFTER_CLEAR, 1200))
            .unwrap_err();
        assert_eq!(
            (v.class, v.what),
            (Class::WrongFunction, "start-status-after-clear")
        );
        assert_eq!(v.what, Deviation::StartStatusAfterClear.name());

        let mut o = cleared_start(oracle());
        let v = o
            .interruption(&irq(P1, CLEAR_OVER_PENDING, 1200))
            .unwrap_err();
        assert_eq!(
            (v.class, v.what),
            (Class::BadStatus, "clear-presents-pending-status")
        );

        let mut o = started(P1);
        o.hsch(Cc::Zero, 1100).unwrap();
        let v = o.interruption(&irq(P1, START_DONE, 1200)).unwrap_err();
        assert_eq!(v.what, Deviation::StartStatusAfterHalt.name());

        let mut o = started(P1);
        let v = o.hsch(Cc::Two, 1100).unwrap_err();
        assert_eq!(
            (v.class, v.what),
            (Class::CcAnomaly, "hsch-busy-for-pending-status")
        );

        let mut o = oracle();
        let v = o.ssch(P1, PROG, Cc::Two, 1000).unwrap_err();
        assert_eq!(v.what, Deviation::SschBusyWhileIdle.name());
        assert_eq!(o.deviations().total(), 0);
    }

    #[test]
    fn an_owed_status_that_never_comes_is_lost() {
        let mut o = cleared_start(vfio(oracle()));
        assert_eq!(o.owed_expired(1250), Ok(()));
        o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        assert_eq!(o.owed(), Some(Op::Clear));
        let v = o.owed_expired(1200 + crate::tod::us_to_tod(7)).unwrap_err();
        assert_eq!(
            (v.class, v.what, v.actual),
            (Class::LostInterrupt, "owed-clear-status-never-presented", 7)
        );
        // Once presented, nothing is owed.
        o.interruption(&irq(P1, CLEAR_DONE, 1300)).unwrap();
        assert_eq!(o.owed(), None);
        assert_eq!(o.owed_expired(1_000_000), Ok(()));
    }

    #[test]
    fn busy_answers_are_counted_and_change_nothing() {
        let mut o = vfio(started(P1));
        o.hsch(Cc::Two, 1100).unwrap();
        assert_eq!(o.outstanding(), Outstanding::Start);
        assert!(o
            .interruption(&irq(P1, START_DONE, 1200))
            .unwrap()
            .is_some());
        // HSCH cc 2 with nothing outstanding is no known deviation.
        assert_eq!(
            o.hsch(Cc::Two, 1300).unwrap_err().what,
            "hsch-busy-without-halt-or-clear"
        );

        let mut o = vfio(oracle());
        o.ssch(P1, PROG, Cc::Two, 1000).unwrap();
        assert_eq!(o.outstanding(), Outstanding::Idle);
        // Status arriving with the refused start's parameter.
        o.ssch(P2, PROG, Cc::Zero, 1100).unwrap();
        o.csch(Cc::Zero, 1150).unwrap();
        assert!(o
            .interruption(&irq(P2, CLEAR_DONE, 1200))
            .unwrap()
            .is_some());
        let mut o = vfio(oracle());
        o.ssch(P1, PROG, Cc::Two, 1000).unwrap();
        o.csch(Cc::Zero, 1100).unwrap();
        assert!(o
            .interruption(&irq(P1, CLEAR_DONE, 1200))
            .unwrap()
            .is_some());
        assert_eq!(o.deviations().get(Deviation::SschBusyWhileIdle), 1);
        assert_eq!(o.deviations().get(Deviation::IntparmOfRefusedStart), 1);
        // Any other parameter is still a mismatch.
        let mut o = vfio(oracle());
        o.ssch(P1, PROG, Cc::Two, 1000).unwrap();
        o.csch(Cc::Zero, 1100).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P2, CLEAR_DONE, 1200))).0,
            Class::IntparmMismatch
        );
    }

    #[test]
    fn deviations_print_as_a_verdict_value() {
        let mut d = Deviations::ZERO;
        assert_eq!(d.to_string(), "none");
        d.0[Deviation::SschBusyWhileIdle as usize] = 2;
        d.0[Deviation::StartStatusAfterClear as usize] = 5;
        assert_eq!(
            d.to_string(),
            "start-status-after-clear:5,ssch-busy-while-idle:2"
        );
    }

    // ---- the emulator: TCG's leftover interruption ----

    const P3: u32 = 0x5EED_0003;
    /// The other I/O area's program, and its clean completion.
    const PROG2: Program = Program::new(0x3000, 2);
    const START2_DONE: [u32; 3] = [0x00C0_4007, 0x0000_3010, 0x0C00_0000];

    /// Both profiles, each under `accel`.
    fn profiles(accel: Accel) -> [Oracle; 2] {
        [oracle(), vfio(oracle())].map(|o| o.with_accel(accel))
    }

    /// csch-race on the relay: the clear's status taken (the start's
    /// interruption and the clear's both carry P1), then the next start.
    fn cleared_then_started(o: Oracle) -> Oracle {
        let mut o = cleared_start(o);
        o.interruption(&irq(P1, CLEAR_DONE, 1200)).unwrap().unwrap();
        o.ssch(P2, PROG2, Cc::Zero, 1300).unwrap();
        o
    }

    #[test]
    fn tcgs_leftover_interruption_is_counted_in_both_profiles() {
        for o in profiles(Accel::Tcg) {
            let mut o = cleared_then_started(o);
            // The second interruption of the clear's pair, taken after the
            // next START: its parameter P1, the status P2's.
            let done = o
                .interruption(&irq(P1, START2_DONE, 1400))
                .unwrap()
                .unwrap();
            assert_eq!((done.op, done.intparm), (Op::Start, P2));
            let d = Deviation::TcgLeftoverInterruption;
            assert_eq!(o.deviations().get(d), 1);
            assert_eq!(o.deviations().to_string(), "tcg-leftover-interruption:1");
            // P2's own interruption is left over in turn: taken after P3's
            // START it carries P2, the parameter before P3's.
            o.ssch(P3, PROG, Cc::Zero, 1500).unwrap();
            o.interruption(&irq(P2, START_DONE, 1600)).unwrap().unwrap();
            assert_eq!(o.deviations().get(d), 2);
            // P3's own, once idle, finds nothing: a request outliving its
            // status, excused as before (and no deviation).
            let mut empty = irq(P3, [0; 3], 1700);
            empty.tsch_cc = Cc::One;
            assert_eq!(o.interruption(&empty), Ok(None));
            assert_eq!((o.deviations().get(d), o.stats().withdrawn), (2, 1));
        }
    }

    #[test]
    fn the_same_interruption_under_kvm_fails_as_before() {
        for o in profiles(Accel::Kvm) {
            let mut o = cleared_then_started(o);
            assert_eq!(
                o.interruption(&irq(P1, START2_DONE, 1400)).unwrap_err(),
                Violation::new(Class::IntparmMismatch, "start-intparm", P2, P1)
            );
            assert_eq!(o.deviations().total(), 0);
        }
        // After a completed start its parameter names a status already
        // taken: a replay, as it always was.
        for o in profiles(Accel::Kvm) {
            let mut o = o;
            o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
            o.interruption(&irq(P1, START_DONE, 1100)).unwrap().unwrap();
            o.ssch(P2, PROG2, Cc::Zero, 1200).unwrap();
            assert_eq!(
                class_of(o.interruption(&irq(P1, START2_DONE, 1300))),
                (Class::DuplicateStatus, "start-status-repeated")
            );
        }
        // And the oracle judges under KVM unless told.
        let mut o = cleared_then_started(oracle());
        assert_eq!(
            class_of(o.interruption(&irq(P1, START2_DONE, 1400))).0,
            Class::IntparmMismatch
        );
    }

    #[test]
    fn only_a_request_left_over_excuses_an_earlier_parameter() {
        let d = Deviation::TcgLeftoverInterruption;
        let empty = |intparm| Interruption {
            tsch_cc: Cc::One,
            ..irq(intparm, [0; 3], 1450)
        };
        for o in profiles(Accel::Tcg) {
            // QEMU presents the newest first: P1's leftover can wait behind
            // P2's own interruption and come after P3's START, two behind.
            let mut two = cleared_then_started(o);
            two.interruption(&irq(P2, START2_DONE, 1400))
                .unwrap()
                .unwrap();
            two.ssch(P3, PROG, Cc::Zero, 1500).unwrap();
            assert!(two
                .interruption(&irq(P1, START_DONE, 1600))
                .unwrap()
                .is_some());
            assert_eq!(two.deviations().get(d), 1);
            // Once P1's leftover was presented (finding nothing, cc 1),
            // nothing of P1's is left: two behind is a mismatch again.
            let mut gone = cleared_then_started(o);
            assert_eq!(gone.interruption(&empty(P1)), Ok(None));
            gone.interruption(&irq(P2, START2_DONE, 1500))
                .unwrap()
                .unwrap();
            gone.ssch(P3, PROG, Cc::Zero, 1600).unwrap();
            assert_eq!(
                gone.interruption(&irq(P1, START_DONE, 1700)).unwrap_err(),
                Violation::new(Class::IntparmMismatch, "start-intparm", P3, P1)
            );
            // One behind likewise: P2's status taken under P1's leftover,
            // P2's own interruption presented while idle (cc 1), P3
            // started: P2's parameter on P3's status is P2's repeated.
            let mut gone = cleared_then_started(o);
            gone.interruption(&irq(P1, START2_DONE, 1400))
                .unwrap()
                .unwrap();
            assert_eq!(gone.interruption(&empty(P2)), Ok(None));
            gone.ssch(P3, PROG, Cc::Zero, 1500).unwrap();
            assert_eq!(
                class_of(gone.interruption(&irq(P2, START_DONE, 1600))),
                (Class::DuplicateStatus, "start-status-repeated")
            );
            // A start that ended with its own interruption left nothing:
            // its parameter on the next start's status is a replay.
            let mut done = o;
            done.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
            done.interruption(&irq(P1, START_DONE, 1100))
                .unwrap()
                .unwrap();
            done.ssch(P2, PROG2, Cc::Zero, 1200).unwrap();
            assert_eq!(
                class_of(done.interruption(&irq(P1, START2_DONE, 1300))),
                (Class::DuplicateStatus, "start-status-repeated")
            );
            // A parameter never issued.
            let mut never = cleared_then_started(o);
            assert_eq!(
                class_of(never.interruption(&irq(0x0BAD_0BAD, START2_DONE, 1400))),
                (Class::IntparmMismatch, "start-intparm")
            );
            // The next start's own parameter is no leftover.
            let mut own = cleared_then_started(o);
            own.interruption(&irq(P2, START2_DONE, 1400))
                .unwrap()
                .unwrap();
            assert_eq!(own.deviations().total(), 0);
            // While idle, P1's leftover finding unsolicited status (made
            // pending between its presentation and TSCH): excused once.
            let mut idle = cleared_then_started(o);
            idle.interruption(&irq(P2, START2_DONE, 1400))
                .unwrap()
                .unwrap();
            assert_eq!(idle.interruption(&irq(P1, UNSOLICITED, 1500)), Ok(None));
            assert_eq!(idle.deviations().get(d), 1);
            assert_eq!(
                class_of(idle.interruption(&irq(P1, UNSOLICITED, 1600))),
                (Class::IntparmMismatch, "unsolicited-intparm")
            );
            // A clear of the idle subchannel, the leftover finding its
            // status: excused once; again it is the first clear's repeated.
            let mut clear = cleared_then_started(o);
            clear
                .interruption(&irq(P2, START2_DONE, 1400))
                .unwrap()
                .unwrap();
            clear.csch(Cc::Zero, 1500).unwrap();
            let done = clear
                .interruption(&irq(P1, CLEAR_DONE, 1600))
                .unwrap()
                .unwrap();
            assert_eq!((done.op, done.intparm), (Op::Clear, P2));
            assert_eq!(clear.deviations().get(d), 1);
            clear.csch(Cc::Zero, 1700).unwrap();
            assert_eq!(
                class_of(clear.interruption(&irq(P1, CLEAR_DONE, 1800))),
                (Class::DuplicateStatus, "clear-status-repeated")
            );
        }
    }

    #[test]
    fn a_leftover_is_counted_whatever_came_before() {
        // Owed statuses give the oracle a request more than the relay
        // makes (the CLEAR's and the owed status's), and `requests` stops
        // at three: neither may hide a later parameter's leftover.
        let d = Deviation::TcgLeftoverInterruption;
        let mut o = vfio(oracle()).with_accel(Accel::Tcg);
        let mut p = 0x7000_0000;
        for k in 0..6u64 {
            let t = 10_000 * k;
            p += 1;
            o.ssch(p, PROG, Cc::Zero, t).unwrap();
            o.csch(Cc::Zero, t + 100).unwrap();
            o.interruption(&irq(p, START_AFTER_CLEAR, t + 200)).unwrap();
            assert_eq!(o.owed(), Some(Op::Clear));
            assert_eq!(o.interruption(&irq(p, CLEAR_DONE, t + 300)), Ok(None));
        }
        // Then the relay's pair for one status, and the next start.
        let t = 100_000;
        o.ssch(P1, PROG, Cc::Zero, t).unwrap();
        o.csch(Cc::Zero, t + 100).unwrap();
        o.interruption(&irq(P1, CLEAR_DONE, t + 200))
            .unwrap()
            .unwrap();
        o.ssch(P2, PROG2, Cc::Zero, t + 300).unwrap();
        assert!(o
            .interruption(&irq(P1, START2_DONE, t + 400))
            .unwrap()
            .is_some());
        assert_eq!(o.deviations().get(d), 1);
    }

    #[test]
    fn a_leftover_is_excused_for_three_starts_and_not_for_an_owed_status() {
        let d = Deviation::TcgLeftoverInterruption;
        for o in profiles(Accel::Tcg) {
            // P1's leftover waits while P2 and two more starts come and go
            // with their own interruptions: three starts later, excused;
            // four, not.
            for (more, excused) in [(2u32, true), (3, false)] {
                let mut x = cleared_then_started(o);
                x.interruption(&irq(P2, START2_DONE, 1400))
                    .unwrap()
                    .unwrap();
                for k in 0..more {
                    let p = 0x6000_0000 + k;
                    x.ssch(p, PROG, Cc::Zero, 2000).unwrap();
                    x.interruption(&irq(p, START_DONE, 2100)).unwrap().unwrap();
                }
                x.ssch(P3, PROG2, Cc::Zero, 3000).unwrap();
                let got = x.interruption(&irq(P1, START2_DONE, 3100));
                assert_eq!(got.is_ok(), excused, "{more}: {got:?}");
                assert_eq!(x.deviations().get(d), u32::from(excused));
            }
        }
        // A deviation's owed status comes with the CLEAR's own request:
        // once it came, nothing of that parameter's is left over.
        let mut o = cleared_start(vfio(oracle()).with_accel(Accel::Tcg));
        o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        assert_eq!(o.interruption(&irq(P1, CLEAR_DONE, 1300)), Ok(None));
        o.ssch(P2, PROG2, Cc::Zero, 1400).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P1, START2_DONE, 1500))),
            (Class::IntparmMismatch, "start-intparm")
        );
    }

    #[test]
    fn a_leftovers_status_is_judged_in_full() {
        for o in profiles(Accel::Tcg) {
            // What would fail with the start's own interruption fails: the
            // clear's status handed to the next start,
            let mut x = cleared_then_started(o);
            assert_eq!(
                class_of(x.interruption(&irq(P1, CLEAR_DONE, 1400))),
                (Class::WrongFunction, "clear-status-for-start")
            );
            // a CCW address outside the program,
            let mut x = cleared_then_started(o);
            let outside = [0x00C0_4007, 0x0000_9010, 0x0C00_0000];
            assert_eq!(
                class_of(x.interruption(&irq(P1, outside, 1400))).0,
                Class::CcwAddress
            );
            // a channel program check,
            let mut x = cleared_then_started(o);
            let check = [0x00C0_4007, 0x0000_3010, 0x0C20_0000];
            assert_eq!(
                class_of(x.interruption(&irq(P1, check, 1400))),
                (Class::BadStatus, "channel-status-error")
            );
            // and the previous start's completion presented again (its
            // words, its program).
            let mut x = o;
            x.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
            x.interruption(&irq(P1, START_DONE, 1100)).unwrap().unwrap();
            x.ssch(P2, PROG2, Cc::Zero, 1200).unwrap();
            assert_eq!(
                class_of(x.interruption(&irq(P1, START_DONE, 1300))),
                (Class::DuplicateStatus, "start-status-repeated")
            );
        }
    }

    #[test]
    fn a_leftover_finds_whatever_the_outstanding_operation_presents() {
        let d = Deviation::TcgLeftoverInterruption;
        for o in profiles(Accel::Tcg) {
            // The next start not initiated (deferred cc 1, no CCW address):
            // not mistaken for the previous start's status repeated.
            let mut x = cleared_then_started(o);
            let done = x
                .interruption(&irq(P1, START_NOT_INITIATED, 1400))
                .unwrap()
                .unwrap();
            assert!(done.not_initiated);
            // A clear of the next start, the leftover taken after it.
            let mut x = cleared_then_started(o);
            x.csch(Cc::Zero, 1400).unwrap();
            let done = x.interruption(&irq(P1, CLEAR_DONE, 1500)).unwrap().unwrap();
            assert_eq!((done.op, done.intparm), (Op::Clear, P2));
            // A halt of it.
            let mut x = cleared_then_started(o);
            x.hsch(Cc::Zero, 1400).unwrap();
            let halted = [0x00C0_6007, 0x0000_3008, 0x0C00_0000];
            let done = x.interruption(&irq(P1, halted, 1500)).unwrap().unwrap();
            assert_eq!(done.op, Op::Halt);
            assert_eq!(x.deviations().get(d), 1);
            // Its channel end alone, the device end to come with P2's own.
            let mut x = cleared_then_started(o);
            let primary = [0x00C0_4045, 0x0000_3010, 0x0800_0000];
            assert_eq!(x.interruption(&irq(P1, primary, 1400)), Ok(None));
            assert!(x
                .interruption(&irq(P2, SECONDARY_ALONE, 1500))
                .unwrap()
                .is_some());
        }
    }

    // ---- what mutation testing found untested (docs/mutation.md) ----

    #[test]
    fn every_counter_counts() {
        let mut o = oracle();
        assert_eq!(o.sid(), SID);
        o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
        o.interruption(&irq(P1, START_DONE, 1100)).unwrap().unwrap();
        o.ssch(P2, PROG, Cc::Zero, 1200).unwrap();
        o.hsch(Cc::Zero, 1300).unwrap();
        // The halt caught the start before it began: deferred cc 1.
        o.interruption(&irq(P2, [0x01C0_6011, 0, 0x8000_0000], 1400))
            .unwrap()
            .unwrap();
        o.hsch(Cc::Zero, 1500).unwrap();
        o.interruption(&irq(P2, HALT_IDLE, 1600)).unwrap().unwrap();
        o.csch(Cc::Zero, 1700).unwrap();
        o.interruption(&irq(P2, CLEAR_DONE, 1800)).unwrap().unwrap();
        o.ssch(0x5EED_0003, PROG, Cc::Zero, 1900).unwrap();
        o.csch(Cc::Zero, 2000).unwrap();
        o.interruption(&irq(0x5EED_0003, CLEAR_DONE, 2100))
            .unwrap()
            .unwrap();
        let s = o.stats();
        assert_eq!(
            (s.ssch, s.hsch, s.csch, s.interruptions, s.starts),
            (3, 2, 2, 5, 1)
        );
        assert_eq!(
            (s.halts, s.halts_of_start, s.starts_not_initiated),
            (2, 1, 1)
        );
        assert_eq!((s.clears, s.clears_of_op), (2, 1));
    }

    #[test]
    fn a_replay_is_recognised_among_the_last_completions() {
        // The earlier of two completed starts presented again: both are
        // remembered.
        let mut o = oracle();
        o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
        o.interruption(&irq(P1, START_DONE, 1100)).unwrap().unwrap();
        o.ssch(P2, PROG, Cc::Zero, 1200).unwrap();
        o.interruption(&irq(P2, START_DONE, 1300)).unwrap().unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P1, START_DONE, 1400))),
            (Class::DuplicateStatus, "start-status-repeated")
        );
        // And the ring wraps: the fifth completion replaces the first.
        let mut o = oracle();
        for k in 0..5u32 {
            o.ssch(P1 + k, PROG, Cc::Zero, 1000).unwrap();
            o.interruption(&irq(P1 + k, START_DONE, 1100))
                .unwrap()
                .unwrap();
        }
        for k in 1..5u32 {
            o.ssch(0x6000 + k, PROG, Cc::Zero, 2000).unwrap();
            assert_eq!(
                class_of(o.interruption(&irq(P1 + k, START_DONE, 2100))).0,
                Class::DuplicateStatus,
                "{k}"
            );
            o.csch(Cc::Zero, 2200).unwrap();
            o.interruption(&irq(0x6000 + k, CLEAR_DONE, 2300)).unwrap();
        }
    }

    #[test]
    fn the_emulators_deviation_is_not_the_hosts() {
        let emulator: std::vec::Vec<_> = Deviation::ALL
            .into_iter()
            .filter(|d| d.emulator())
            .collect();
        assert_eq!(emulator, [Deviation::TcgLeftoverInterruption]);
        let mut d = Deviations::ZERO;
        d.0[Deviation::TcgLeftoverInterruption as usize] = 3;
        d.0[Deviation::SschBusyWhileIdle as usize] = 2;
        assert_eq!((d.total(), d.host_total()), (5, 2));
    }

    #[test]
    fn deviations_add_up() {
        let mut a = Deviations::ZERO;
        a.0[0] = 2;
        a.0[3] = 1;
        let mut b = a;
        b.add(&a);
        assert_eq!((a.total(), b.total()), (3, 6));
        assert_eq!(b.get(Deviation::ALL[0]), 4);
        b.0[1] = u32::MAX;
        b.add(&a);
        assert_eq!(b.get(Deviation::ALL[1]), u32::MAX);
    }

    #[test]
    fn class_summaries_are_distinct() {
        let mut seen: std::vec::Vec<&str> = Class::ALL.iter().map(|c| c.summary()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), Class::ALL.len());
    }

    #[test]
    fn a_new_halt_takes_over_an_owed_halt_status() {
        let mut o = vfio(started(P1));
        o.hsch(Cc::Zero, 1100).unwrap();
        o.interruption(&irq(P1, START_DONE, 1200)).unwrap().unwrap();
        assert_eq!(o.owed(), Some(Op::Halt));
        o.hsch(Cc::Zero, 1300).unwrap();
        assert_eq!(o.owed(), None);
    }

    #[test]
    fn an_owed_status_does_not_taint_the_next_starts_own() {
        // Owed clear (or halt) status, then the next start's own
        // completion: PASS, the owed one still owed.
        let mut o = cleared_start(vfio(oracle()));
        o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        o.ssch(P2, PROG, Cc::Zero, 1300).unwrap();
        assert!(o
            .interruption(&irq(P2, START_DONE, 1400))
            .unwrap()
            .is_some());
        assert_eq!(o.owed(), Some(Op::Clear));
        let mut o = vfio(started(P1));
        o.hsch(Cc::Zero, 1100).unwrap();
        o.interruption(&irq(P1, START_DONE, 1200)).unwrap().unwrap();
        o.ssch(P2, PROG, Cc::Zero, 1300).unwrap();
        assert!(o
            .interruption(&irq(P2, START_DONE, 1400))
            .unwrap()
            .is_some());
        assert_eq!(o.owed(), Some(Op::Halt));
    }

    #[test]
    fn a_clears_status_with_device_status_names_it() {
        let mut o = oracle();
        o.csch(Cc::Zero, 10).unwrap();
        let v = o
            .interruption(&irq(EN, [0x0000_1001, 0, 0x0C20_0000], 20))
            .unwrap_err();
        assert_eq!(
            (v.what, v.expected, v.actual),
            ("status-with-clear", 0, 0x0C20)
        );
    }

    #[test]
    fn a_second_primary_status_names_the_secondary_status_expected() {
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100))
            .unwrap();
        // Primary status again (with no function: TSCH reset it).
        let v = o
            .interruption(&irq(P1, [0x0000_0045, 0x2010, 0x0800_0000], 1200))
            .unwrap_err();
        assert_eq!(
            (v.what, v.expected, v.actual),
            ("expected-secondary-status", 0x03, 0x05)
        );
        // The device end, but with primary status again.
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100))
            .unwrap();
        let v = o
            .interruption(&irq(P1, [0x0000_0007, 0, 0x0400_0000], 1200))
            .unwrap_err();
        assert_eq!(
            (v.what, v.expected, v.actual),
            ("expected-secondary-status", 0x03, 0x07)
        );
    }

    #[test]
    fn program_ends_in_any_alignment() {
        // The arithmetic holds for a first CCW off a doubleword too.
        let p = Program::new(2, 1);
        assert!(p.ends_in(10) && !p.ends_in(6) && !p.ends_in(14));
    }
}

// Declared last so that mutation testing's names (file:line) of the code
// above stay those of earlier runs (docs/mutation.md).
pub mod table;
