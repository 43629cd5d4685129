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

use crate::cmdline::Host;
use crate::css::{
    ActivityControl, Cc, DeviceStatus, FunctionControl, Scsw, SenseId, SenseIdError, StatusControl,
};

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

/// Violation classes; [`Class::name`] is the stable name printed in the
/// verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    SidMismatch,
    IntparmMismatch,
    WrongFunction,
    DuplicateStatus,
    LostInterrupt,
    SpuriousInterrupt,
    BadStatus,
    CcwAddress,
    DataCorruption,
    CcAnomaly,
    /// An instruction-level rule (an operand's program exception, a
    /// condition code, a stored field) of `scenario=conformance`; judged by
    /// [`crate::conformance`], not by the oracle.
    Conformance,
}

impl Class {
    pub const ALL: [Class; 11] = [
        Class::SidMismatch,
        Class::IntparmMismatch,
        Class::WrongFunction,
        Class::DuplicateStatus,
        Class::LostInterrupt,
        Class::SpuriousInterrupt,
        Class::BadStatus,
        Class::CcwAddress,
        Class::DataCorruption,
        Class::CcAnomaly,
        Class::Conformance,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Class::SidMismatch => "sid-mismatch",
            Class::IntparmMismatch => "intparm-mismatch",
            Class::WrongFunction => "wrong-function",
            Class::DuplicateStatus => "duplicate-status",
            Class::LostInterrupt => "lost-interrupt",
            Class::SpuriousInterrupt => "spurious-interrupt",
            Class::BadStatus => "bad-status",
            Class::CcwAddress => "ccw-address",
            Class::DataCorruption => "data-corruption",
            Class::CcAnomaly => "cc-anomaly",
            Class::Conformance => "conformance",
        }
    }

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

const fn violation(class: Class, what: &'static str, expected: u32, actual: u32) -> Violation {
    Violation::new(class, what, expected, actual)
}

/// A way upstream vfio-ccw and QEMU depart from the architecture on every
/// version. Under `host=strict` each is a FAIL whose `what` is its
/// [`Deviation::name`]; under `host=vfio-ccw` it is counted and the oracle
/// goes on expecting what the architecture still requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Deviation {
    /// QEMU's `vfio_ccw_io_notifier_handler` copies the host's whole SCSW
    /// (`copy_scsw_to_guest`), function control included, over the guest's:
    /// a start that ended before the host issued the guest's CLEAR shows
    /// the start function alone after CSCH cc 0. The clear's own status
    /// still follows.
    StartStatusAfterClear,
    /// The same for HALT: the host's halt found the subchannel idle, the
    /// start's status arrives with the start function alone, the halt's own
    /// status follows.
    StartStatusAfterHalt,
    /// QEMU's `css_do_csch` does not withdraw status already pending: TSCH
    /// stores it with the clear function and clear pending. The clear's own
    /// status follows.
    ClearPresentsPendingStatus,
    /// Host HSCH cc 1 (the start's status pending at the real subchannel)
    /// becomes -EBUSY in `fsm_do_halt`, which QEMU's
    /// `sch_handle_halt_func_passthrough` returns as cc 2. The start's
    /// status follows.
    HschBusyForPendingStatus,
    /// Host SSCH cc 1 or 2 becomes -EBUSY in `fsm_io_helper` (or the FSM is
    /// still `CP_PENDING`: `fsm_io_busy`), which `vfio_ccw_handle_request`
    /// returns as cc 2 while the guest's subchannel is idle. Nothing was
    /// started; the guest may start again.
    SschBusyWhileIdle,
    /// `sch_handle_start_func_passthrough` puts the ORB's interruption
    /// parameter into the SCHIB before the host is asked, and `css_do_ssch`
    /// does not restore it when the host refuses: status that arrives
    /// afterwards carries the refused start's parameter.
    IntparmOfRefusedStart,
}

impl Deviation {
    pub const ALL: [Deviation; 6] = [
        Deviation::StartStatusAfterClear,
        Deviation::StartStatusAfterHalt,
        Deviation::ClearPresentsPendingStatus,
        Deviation::HschBusyForPendingStatus,
        Deviation::SschBusyWhileIdle,
        Deviation::IntparmOfRefusedStart,
    ];

    /// The stable name, also the `what` of the strict FAIL.
    pub const fn name(self) -> &'static str {
        match self {
            Deviation::StartStatusAfterClear => "start-status-after-clear",
            Deviation::StartStatusAfterHalt => "start-status-after-halt",
            Deviation::ClearPresentsPendingStatus => "clear-presents-pending-status",
            Deviation::HschBusyForPendingStatus => "hsch-busy-for-pending-status",
            Deviation::SschBusyWhileIdle => "ssch-busy-while-idle",
            Deviation::IntparmOfRefusedStart => "intparm-of-refused-start",
        }
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
        /// A start was outstanding when HSCH was accepted.
        with_start: bool,
        due: Due,
    },
    Clear {
        tod: u64,
        /// Something was outstanding when CSCH was accepted.
        withdrew: bool,
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
    /// The parameter of the last start refused with a deviation's cc 2,
    /// which QEMU left in the SCHIB.
    refused_intparm: Option<u32>,
    /// The SCSW of the interruption being judged.
    last_words: [u32; 3],
}

/// At most a start and the clear or halt that ended it can have requests
/// queued at once; the cap keeps a host that does withdraw requests (as the
/// architecture allows) from building up an excuse for spurious ones.
const MAX_REQUESTS: u8 = 2;

/// Device-status bits that mean the start did not end normally. Our
/// programs (NOP, SENSE ID) never legitimately produce them.
const DEVICE_ERRORS: DeviceStatus = DeviceStatus::UNIT_CHECK
    .union(DeviceStatus::UNIT_EXCEPTION)
    .union(DeviceStatus::BUSY);

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
            refused_intparm: None,
            last_words: [0; 3],
        }
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

    /// An operation was accepted and will make an interruption request.
    fn requested(&mut self) {
        self.requests = (self.requests + 1).min(MAX_REQUESTS);
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

    /// START SUBCHANNEL was executed with `intparm` in the ORB.
    pub fn ssch(
        &mut self,
        intparm: u32,
        program: Program,
        cc: Cc,
        tod: u64,
    ) -> Result<(), Violation> {
        self.stats.ssch += 1;
        debug_assert!(
            program.ccw_count >= 1 && program.first_ccw % 8 == 0,
            "channel program must be at least one doubleword-aligned CCW"
        );
        let idle = matches!(self.state, State::Idle);
        debug_assert!(idle, "driver bug: SSCH with an operation outstanding");
        if !idle {
            return Err(violation(
                Class::CcAnomaly,
                "ssch-while-outstanding",
                0,
                cc.as_u8().into(),
            ));
        }
        match cc {
            Cc::Zero => {
                self.claim_must_be_collected()?;
                self.requested();
                self.intparm = intparm;
                self.refused_intparm = None;
                self.state = State::Start {
                    intparm,
                    program,
                    tod,
                    due: Due::First,
                };
                Ok(())
            }
            // PoP ch. 14 START SUBCHANNEL: cc 1 means the subchannel is
            // status pending and nothing else is done. With nothing
            // outstanding the only status that can be pending is unsolicited
            // alert status, which the architecture allows at any time; it
            // must now be presented.
            Cc::One => {
                self.stats.ssch_cc1 += 1;
                self.claim_pending(Claim::Since(tod));
                Ok(())
            }
            // PoP ch. 14 START SUBCHANNEL: cc 2 means a start, halt or clear
            // function is in progress. Once TSCH has cleared the final
            // status of every function the guest issued, none is in
            // progress; a host still busy with an old one says otherwise.
            Cc::Two => {
                self.deviate(
                    Deviation::SschBusyWhileIdle,
                    violation(Class::CcAnomaly, "ssch-busy-while-idle", 0, 2),
                )?;
                self.refused_intparm = Some(intparm);
                Ok(())
            }
            // PoP ch. 14 START SUBCHANNEL: cc 3, not operational. The device
            // was operational when the run began; losing it is a failure.
            Cc::Three => Err(violation(Class::CcAnomaly, "ssch-not-operational", 0, 3)),
        }
    }

    /// CLEAR SUBCHANNEL was executed.
    pub fn csch(&mut self, cc: Cc, tod: u64) -> Result<(), Violation> {
        self.stats.csch += 1;
        match cc {
            // PoP ch. 14 CLEAR SUBCHANNEL / ch. 15 Clear Function: the
            // clear function withdraws any pending status and ends any
            // start or halt in progress; its own completion is the only
            // status that follows. So nothing outstanding before is lost.
            Cc::Zero => {
                let withdrew = !matches!(self.state, State::Idle);
                // A clear's status says nothing of which clear it ends:
                // from now on it is this one's.
                if self.owed == Some(Op::Clear) {
                    self.owed = None;
                }
                self.state = State::Clear { tod, withdrew };
                self.claim = Claim::None;
                self.requested();
                Ok(())
            }
            // PoP ch. 14 CLEAR SUBCHANNEL: for an operational subchannel
            // the only condition code is 0 (3 means not operational).
            other => Err(violation(
                Class::CcAnomaly,
                if other == Cc::Three {
                    "csch-not-operational"
                } else {
                    "csch-cc"
                },
                0,
                other.as_u8().into(),
            )),
        }
    }

    /// HALT SUBCHANNEL was executed.
    pub fn hsch(&mut self, cc: Cc, tod: u64) -> Result<(), Violation> {
        self.stats.hsch += 1;
        let overlap = matches!(self.state, State::Halt { .. } | State::Clear { .. });
        debug_assert!(
            !overlap,
            "driver bug: HSCH with a halt or clear outstanding"
        );
        if overlap {
            return Err(violation(
                Class::CcAnomaly,
                "hsch-while-halt-or-clear-outstanding",
                0,
                cc.as_u8().into(),
            ));
        }
        match cc {
            Cc::Zero => {
                self.claim_must_be_collected()?;
                self.requested();
                if self.owed == Some(Op::Halt) {
                    self.owed = None;
                }
                let with_start = matches!(self.state, State::Start { .. });
                self.state = State::Halt {
                    tod,
                    with_start,
                    due: Due::First,
                };
                Ok(())
            }
            // PoP ch. 14 HALT SUBCHANNEL: cc 1 means status other than
            // intermediate status alone was pending, and the halt is not
            // performed. With a start outstanding that is the start's own
            // status, still to be collected as usual. With nothing
            // outstanding it can only be unsolicited alert status.
            Cc::One => {
                self.stats.hsch_cc1 += 1;
                if matches!(self.state, State::Idle) {
                    self.claim_pending(Claim::Since(tod));
                }
                Ok(())
            }
            // PoP ch. 14 HALT SUBCHANNEL: cc 2 means a halt or clear
            // function is already in progress; the guest has none.
            Cc::Two => {
                let strict = violation(Class::CcAnomaly, "hsch-busy-without-halt-or-clear", 0, 2);
                if matches!(self.state, State::Start { .. }) {
                    // Nothing was halted; the start's own status follows.
                    self.deviate(Deviation::HschBusyForPendingStatus, strict)
                } else {
                    Err(strict)
                }
            }
            Cc::Three => Err(violation(Class::CcAnomaly, "hsch-not-operational", 0, 3)),
        }
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
        // TOD bit 51 is one microsecond: shift out the 12 bits below it.
        let waited_us = u32::try_from(tod.saturating_sub(since) >> 12).unwrap_or(u32::MAX);
        Err(violation(
            Class::LostInterrupt,
            what,
            self.intparm,
            waited_us,
        ))
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
        let waited_us =
            u32::try_from(tod.saturating_sub(self.owed_since) >> 12).unwrap_or(u32::MAX);
        Err(violation(
            Class::LostInterrupt,
            what,
            self.intparm,
            waited_us,
        ))
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
            // guest's own operations can account for it.
            Cc::One if self.requests > 0 => {
                self.requests -= 1;
                self.stats.withdrawn += 1;
                return Ok(None);
            }
            Cc::One => {
                return Err(violation(
                    Class::SpuriousInterrupt,
                    "no-status-pending",
                    0,
                    1,
                ));
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
                with_start,
                due,
            } => self.on_halt(irq, tod, with_start, due),
            State::Clear { tod, withdrew } => self.on_clear(irq, tod, withdrew),
        }
    }

    /// SENSE ID data read by a start must match the baseline read at setup.
    pub fn check_sense_id(&self, data: &[u8], baseline: SenseId) -> Result<(), Violation> {
        // Common I/O-Device Commands, SENSE ID: byte 0 is 0xFF and the
        // type/model bytes identify the device; they cannot change between
        // two reads of the same device.
        let got = match SenseId::parse(data) {
            Ok(id) => id,
            Err(SenseIdError::Short { len }) => {
                return Err(violation(
                    Class::DataCorruption,
                    "sense-id-short",
                    SenseId::MIN_LEN as u32,
                    u32::try_from(len).unwrap_or(u32::MAX),
                ));
            }
            Err(SenseIdError::Marker(b)) => {
                return Err(violation(
                    Class::DataCorruption,
                    "sense-id-marker",
                    SenseId::MARKER.into(),
                    b.into(),
                ));
            }
        };
        let fields = [
            (
                "sense-id-cu-type",
                u32::from(baseline.cu_type),
                u32::from(got.cu_type),
            ),
            (
                "sense-id-cu-model",
                baseline.cu_model.into(),
                got.cu_model.into(),
            ),
            (
                "sense-id-dev-type",
                baseline.dev_type.into(),
                got.dev_type.into(),
            ),
            (
                "sense-id-dev-model",
                baseline.dev_model.into(),
                got.dev_model.into(),
            ),
        ];
        for (what, expected, actual) in fields {
            if expected != actual {
                return Err(violation(Class::DataCorruption, what, expected, actual));
            }
        }
        Ok(())
    }

    /// A guard region the channel program must not touch still holds
    /// `pattern` in every byte. `actual` is the first differing byte.
    pub fn check_canary(&self, region: &[u8], pattern: u8) -> Result<(), Violation> {
        // Word-wise first: this runs after every operation, and byte loops
        // are slow under TCG. Bytes only to name the culprit.
        // No early exit: a branch-free fold the compiler can unroll.
        let word = u64::from_ne_bytes([pattern; 8]);
        let (words, tail) = region.split_at(region.len() & !7);
        let differ = words.chunks_exact(8).fold(0, |acc, c| {
            acc | (u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ word)
        }) | tail.iter().fold(0, |acc, &b| acc | u64::from(b ^ pattern));
        if differ == 0 {
            return Ok(());
        }
        match region.iter().find(|&&b| b != pattern) {
            None => Ok(()),
            Some(&b) => Err(violation(
                Class::DataCorruption,
                "canary-overwritten",
                pattern.into(),
                b.into(),
            )),
        }
    }

    // ---- interruption handling per state ----

    fn on_idle(&mut self, irq: &Interruption) -> Result<Option<Completed>, Violation> {
        let s = irq.scsw;
        let fc = s.fc();
        if let Some(op) = self.owed {
            if Op::of(fc) == Some(op) {
                // The owed status of a halt or clear a deviation ended.
                self.check_intparm(irq, "owed-status-intparm")?;
                self.owed = None;
                self.claim = Claim::None;
                return Ok(None);
            }
        }
        if fc.is_empty() {
            // PoP ch. 16 Status Control, alert status: a device may present
            // status on its own (e.g. attention) while no function is in
            // progress; it appears as alert status alone with no function
            // indicated. Its interruption parameter is still the
            // subchannel's current one (PoP ch. 16 interruption code).
            if s.sc() == StatusControl::ALERT | StatusControl::PENDING {
                if irq.intparm != self.intparm {
                    let v = violation(
                        Class::IntparmMismatch,
                        "unsolicited-intparm",
                        self.intparm,
                        irq.intparm,
                    );
                    if self.refused_intparm != Some(irq.intparm) {
                        return Err(v);
                    }
                    // The status that made the host refuse the start,
                    // presented with the refused start's parameter.
                    self.deviate(Deviation::IntparmOfRefusedStart, v)?;
                }
                self.stats.unsolicited += 1;
                self.claim = Claim::None;
                return Ok(None);
            }
            return Err(violation(
                Class::SpuriousInterrupt,
                "status-while-idle",
                0,
                s.words()[0],
            ));
        }
        // PoP ch. 14 TEST SUBCHANNEL: collecting final status clears the
        // function control, so a function's status is presented once. Seen
        // again, with an interruption parameter of an operation already
        // completed, it is a replay.
        if let Some(v) = self.duplicate(irq, true) {
            return Err(v);
        }
        Err(violation(
            Class::SpuriousInterrupt,
            "status-while-idle",
            0,
            s.words()[0],
        ))
    }

    fn on_start(
        &mut self,
        irq: &Interruption,
        start_intparm: u32,
        program: Program,
        issued: u64,
        due: Due,
    ) -> Result<Option<Completed>, Violation> {
        let s = irq.scsw;
        self.check_intparm(irq, "start-intparm")?;
        // A completion of an earlier start presented again, carrying the
        // current parameter (QEMU fills it in from its SCHIB): recognised
        // by its content, its CCW address in that start's program.
        if s.cpa() != program.end() && self.duplicate(irq, true).is_some() {
            return Err(violation(
                Class::DuplicateStatus,
                Op::Start.repeated(),
                program.end(),
                s.cpa(),
            ));
        }
        let fc = s.fc();
        // PoP ch. 16 Function Control: halt and clear are indicated only
        // when HSCH or CSCH was accepted; the guest issued neither since
        // this start. A clear's status here is the misattribution race.
        // The 2021 race: the status a halt or clear still owed, presented
        // for the start the guest issued once its subchannel was idle.
        let late = match self.owed {
            Some(Op::Clear) if fc.contains(FunctionControl::CLEAR) => {
                Some("late-clear-status-for-next-start")
            }
            Some(Op::Halt) if fc.contains(FunctionControl::HALT) => {
                Some("late-halt-status-for-next-start")
            }
            _ => None,
        };
        if let Some(what) = late {
            return Err(violation(
                Class::WrongFunction,
                what,
                FunctionControl::START.bits(),
                fc.bits(),
            ));
        }
        if fc.contains(FunctionControl::CLEAR) {
            return Err(violation(
                Class::WrongFunction,
                "clear-status-for-start",
                FunctionControl::START.bits(),
                fc.bits(),
            ));
        }
        if fc.contains(FunctionControl::HALT) {
            return Err(violation(
                Class::WrongFunction,
                "halt-status-for-start",
                FunctionControl::START.bits(),
                fc.bits(),
            ));
        }
        if due == Due::Secondary {
            return self.start_secondary(irq, start_intparm, issued);
        }
        // PoP ch. 14 START SUBCHANNEL / ch. 16 Function Control: accepting
        // SSCH (cc 0) indicates the start function, and only TSCH clearing
        // the start's non-intermediate status resets it. Status pending
        // before the SSCH would have made it cc 1. So every status stored
        // while this start is outstanding shows the start function; status
        // with no function (looks unsolicited) cannot belong here.
        if fc.is_empty() {
            return Err(violation(
                Class::WrongFunction,
                "no-function-during-start",
                FunctionControl::START.bits(),
                0,
            ));
        }
        // PoP ch. 16 Deferred Condition Code: 1 means the device presented
        // status when the start was to be initiated and the start was not
        // performed; 3 means no path to the device was operational; 2 is
        // not used for command-mode starts.
        match s.deferred_cc() {
            Cc::Zero | Cc::One => {}
            other => {
                return Err(violation(
                    Class::CcAnomaly,
                    "deferred-cc",
                    0,
                    other.as_u8().into(),
                ));
            }
        }
        let sc = s.sc();
        // PoP ch. 16 Intermediate Status: only PCI, suspension or
        // initial-status interruption produce it, and the guest requests
        // none of them.
        if sc.contains(StatusControl::INTERMEDIATE) {
            return Err(violation(
                Class::BadStatus,
                "intermediate-status",
                0,
                StatusControl::INTERMEDIATE.bits(),
            ));
        }
        // PoP ch. 16 Deferred Condition Code 1 and ch. 14 TEST SUBCHANNEL
        // (conditions cleared): alert status without primary status ends the
        // start function when TSCH collects it; the program never ran.
        if sc == StatusControl::ALERT | StatusControl::PENDING && s.deferred_cc() == Cc::Zero {
            // Alert status alone ends a start before it began only with
            // deferred condition code 1; with 0 the start was initiated
            // and its end is primary status.
            return Err(violation(
                Class::BadStatus,
                "alert-status-without-deferred-cc",
                StatusControl::PRIMARY.bits(),
                sc.bits(),
            ));
        }
        if s.deferred_cc() == Cc::One {
            self.stats.starts_not_initiated += 1;
            return Ok(Some(self.complete(
                Op::Start,
                start_intparm,
                issued,
                irq.tod,
                true,
            )));
        }
        // PoP ch. 16 Secondary Status: the device end of an operation whose
        // channel end has not been reported cannot come first.
        if !sc.contains(StatusControl::PRIMARY) {
            return Err(violation(
                Class::BadStatus,
                "no-primary-status",
                StatusControl::PRIMARY.bits(),
                sc.bits(),
            ));
        }
        // PoP ch. 16 Activity Control: with primary status the subchannel
        // has finished its part, so start pending, resume pending and
        // subchannel active are reset, and no halt/clear/suspend was asked
        // for. Only device active may remain (device end still to come).
        let ac = s.ac();
        let extra = ac.difference(ActivityControl::DEVICE_ACTIVE);
        if !extra.is_empty() {
            return Err(violation(
                Class::BadStatus,
                "activity-with-primary-status",
                ActivityControl::DEVICE_ACTIVE.bits(),
                ac.bits(),
            ));
        }
        Self::check_clean_status(&s)?;
        Self::check_solicited_ending(&s)?;
        // PoP ch. 16 CCW Address: at primary status it designates the CCW
        // after the last one executed. vfio-ccw translates it back from its
        // shadow copy of the program; a wrong translation lies outside the
        // program, and a chain cut short (a CCW lost or a chaining flag
        // dropped on the way) ends before its last CCW. Our programs end
        // cleanly only after their last CCW.
        if !program.ends_in(s.cpa()) {
            return Err(violation(
                Class::CcwAddress,
                "ccw-address-outside-program",
                program.end(),
                s.cpa(),
            ));
        }
        if s.cpa() != program.end() {
            return Err(violation(
                Class::CcwAddress,
                "chain-ended-early",
                program.end(),
                s.cpa(),
            ));
        }
        if sc.contains(StatusControl::SECONDARY) {
            // PoP ch. 16 Device Active: reset once the device end is
            // accepted, and secondary status is that device end.
            if ac.contains(ActivityControl::DEVICE_ACTIVE) {
                return Err(violation(
                    Class::BadStatus,
                    "device-active-with-secondary-status",
                    0,
                    ac.bits(),
                ));
            }
            return Ok(Some(self.complete(
                Op::Start,
                start_intparm,
                issued,
                irq.tod,
                false,
            )));
        }
        if ac.contains(ActivityControl::DEVICE_ACTIVE) {
            // Channel end without device end: the device end follows as
            // secondary status of its own, with an interruption of its own.
            self.requested();
            self.state = State::Start {
                intparm: start_intparm,
                program,
                tod: issued,
                due: Due::Secondary,
            };
            return Ok(None);
        }
        Ok(Some(self.complete(
            Op::Start,
            start_intparm,
            issued,
            irq.tod,
            false,
        )))
    }

    /// The separate secondary status of a start whose primary status was
    /// collected with the subchannel still device active.
    fn start_secondary(
        &mut self,
        irq: &Interruption,
        start_intparm: u32,
        issued: u64,
    ) -> Result<Option<Completed>, Violation> {
        let s = irq.scsw;
        // PoP ch. 14 TEST SUBCHANNEL (conditions cleared): collecting the
        // primary status cleared the start function, so this status may
        // show it or no function at all; halt/clear were rejected above.
        if s.fc().contains(FunctionControl::START) {
            match s.deferred_cc() {
                Cc::Zero => {}
                other => {
                    return Err(violation(
                        Class::CcAnomaly,
                        "deferred-cc",
                        0,
                        other.as_u8().into(),
                    ));
                }
            }
        }
        Self::check_secondary(&s)?;
        Self::check_clean_status(&s)?;
        Self::check_solicited_ending(&s)?;
        self.stats.starts_two_part += 1;
        Ok(Some(self.complete(
            Op::Start,
            start_intparm,
            issued,
            irq.tod,
            false,
        )))
    }

    fn on_halt(
        &mut self,
        irq: &Interruption,
        issued: u64,
        with_start: bool,
        due: Due,
    ) -> Result<Option<Completed>, Violation> {
        let s = irq.scsw;
        self.check_intparm(irq, "halt-intparm")?;
        let fc = s.fc();
        if fc.contains(FunctionControl::CLEAR) {
            return Err(violation(
                Class::WrongFunction,
                "clear-status-for-halt",
                FunctionControl::HALT.bits(),
                fc.bits(),
            ));
        }
        // PoP ch. 16 Function Control: the start function can only be
        // indicated alongside the halt if a start was outstanding.
        if fc.contains(FunctionControl::START) && !with_start {
            return Err(violation(
                Class::WrongFunction,
                "start-function-in-halt-of-idle",
                FunctionControl::HALT.bits(),
                fc.bits(),
            ));
        }
        let sc = s.sc();
        if due == Due::Secondary {
            // Trailing device end after halt status that left the device
            // active; the halt function may already be cleared (as for the
            // start's secondary status above).
            Self::check_secondary(&s)?;
            if !with_start {
                Self::check_clean_status(&s)?;
            }
            return Ok(Some(self.complete(
                Op::Halt,
                self.intparm,
                issued,
                irq.tod,
                false,
            )));
        }
        // Decision on start-only status after HSCH cc 0: PoP ch. 14 HALT
        // SUBCHANNEL sets cc 1 without doing anything if primary, secondary
        // or alert status is pending, and with cc 0 it indicates the halt
        // function, which stays indicated until TSCH clears the resulting
        // status. Every status stored after the cc 0 therefore shows the
        // halt function, even when the start's program finished before the
        // halt signal reached the device (then the status is the start's
        // ending status with start and halt both indicated). Status with the
        // start function alone is a start status that should have made HSCH
        // cc 1, or one the halt withdrew: not accepted.
        if !fc.contains(FunctionControl::HALT) {
            let v = violation(
                Class::WrongFunction,
                if fc.is_empty() {
                    "no-function-during-halt"
                } else {
                    "start-status-after-halt"
                },
                FunctionControl::HALT.bits(),
                fc.bits(),
            );
            if fc == FunctionControl::START && with_start && due == Due::First {
                // The guest's subchannel is idle now; the halt's own status
                // is still to come.
                self.deviate(Deviation::StartStatusAfterHalt, v)?;
                return Ok(Some(self.complete_owing(Op::Halt, issued, irq.tod)));
            }
            return Err(v);
        }
        if fc.contains(FunctionControl::START) {
            match s.deferred_cc() {
                Cc::Zero => {}
                // The halt caught the start before the device accepted it.
                Cc::One => self.stats.starts_not_initiated += 1,
                other => {
                    return Err(violation(
                        Class::CcAnomaly,
                        "deferred-cc",
                        0,
                        other.as_u8().into(),
                    ));
                }
            }
        }
        if sc.contains(StatusControl::INTERMEDIATE) {
            return Err(violation(
                Class::BadStatus,
                "intermediate-status",
                0,
                StatusControl::INTERMEDIATE.bits(),
            ));
        }
        // PoP ch. 15 Halt Function: when the halt completes, halt pending
        // and any start/resume pending and subchannel activity are over.
        let ac = s.ac();
        let extra = ac.difference(ActivityControl::DEVICE_ACTIVE);
        if !extra.is_empty() {
            return Err(violation(
                Class::BadStatus,
                "activity-with-halt-status",
                ActivityControl::DEVICE_ACTIVE.bits(),
                ac.bits(),
            ));
        }
        // A halted channel program may end with any device or channel
        // status, and the CCW address then only says where it stopped; a
        // halt of an idle subchannel has no program to go wrong.
        if !with_start {
            Self::check_clean_status(&s)?;
        }
        if ac.contains(ActivityControl::DEVICE_ACTIVE) && !sc.contains(StatusControl::SECONDARY) {
            self.state = State::Halt {
                tod: issued,
                with_start,
                due: Due::Secondary,
            };
            return Ok(None);
        }
        Ok(Some(self.complete(
            Op::Halt,
            self.intparm,
            issued,
            irq.tod,
            false,
        )))
    }

    fn on_clear(
        &mut self,
        irq: &Interruption,
        issued: u64,
        withdrew: bool,
    ) -> Result<Option<Completed>, Violation> {
        let s = irq.scsw;
        self.check_intparm(irq, "clear-intparm")?;
        // PoP ch. 14 CLEAR SUBCHANNEL: the function control is set to the
        // clear function alone, and the status pending it withdrew is never
        // presented; start or halt in this status is withdrawn status
        // delivered anyway.
        let fc = s.fc();
        if fc != FunctionControl::CLEAR {
            let what = if fc.contains(FunctionControl::START) {
                "start-status-after-clear"
            } else if fc.contains(FunctionControl::HALT) {
                "halt-status-after-clear"
            } else {
                "no-function-during-clear"
            };
            let v = violation(
                Class::WrongFunction,
                what,
                FunctionControl::CLEAR.bits(),
                fc.bits(),
            );
            if fc == FunctionControl::START && withdrew {
                // The guest's subchannel is idle now; the clear's own
                // status is still to come.
                self.deviate(Deviation::StartStatusAfterClear, v)?;
                return Ok(Some(self.complete_owing(Op::Clear, issued, irq.tod)));
            }
            return Err(v);
        }
        // PoP ch. 15 Clear Function: the subchannel's activity is reset
        // entirely before the clear completes.
        let ac = s.ac();
        if !ac.is_empty() {
            let v = violation(Class::BadStatus, "activity-with-clear-status", 0, ac.bits());
            // Status that was pending at CSCH, stored with the clear
            // function QEMU set: clear pending still on, and status bits
            // of the function it ended.
            let earlier = StatusControl::PRIMARY | StatusControl::SECONDARY | StatusControl::ALERT;
            if ac == ActivityControl::CLEAR_PENDING && s.sc().intersects(earlier) {
                self.deviate(Deviation::ClearPresentsPendingStatus, v)?;
                return Ok(Some(self.complete_owing(Op::Clear, issued, irq.tod)));
            }
            return Err(v);
        }
        // PoP ch. 15 Clear Function: the clear signal ends the device's
        // part without status from it, and the channel reports none.
        if s.device_status().bits() != 0 || s.subchannel_status().bits() != 0 {
            return Err(violation(
                Class::BadStatus,
                "status-with-clear",
                0,
                s.words()[2] >> 16,
            ));
        }
        Ok(Some(self.complete(
            Op::Clear,
            self.intparm,
            issued,
            irq.tod,
            false,
        )))
    }

    // ---- shared checks ----

    /// PoP ch. 16 I/O Interruptions, interruption code: the parameter
    /// presented is the subchannel's current one (last SSCH or MSCH).
    fn check_intparm(&mut self, irq: &Interruption, what: &'static str) -> Result<(), Violation> {
        if irq.intparm == self.intparm {
            return Ok(());
        }
        if let Some(v) = self.duplicate(irq, false) {
            return Err(v);
        }
        let v = violation(Class::IntparmMismatch, what, self.intparm, irq.intparm);
        if self.refused_intparm == Some(irq.intparm) {
            return self.deviate(Deviation::IntparmOfRefusedStart, v);
        }
        Err(v)
    }

    /// Status that repeats an already collected completion: same function
    /// and that completion's interruption parameter.
    /// With `by_content`, also status identical to an earlier start's
    /// completion (SCSW words, so its CCW address) under another parameter:
    /// only where the current start, if any, cannot have produced it.
    fn duplicate(&self, irq: &Interruption, by_content: bool) -> Option<Violation> {
        let op = Op::of(irq.scsw.fc())?;
        let words = irq.scsw.words();
        // Only a start's completion names its program (the CCW address);
        // clear, halt and not-initiated status read the same every time.
        let telling = by_content
            && op == Op::Start
            && irq.scsw.cpa() != 0
            && irq.scsw.sc().contains(StatusControl::PRIMARY);
        self.recent
            .iter()
            .flatten()
            .any(|d| d.op == op && (d.intparm == irq.intparm || telling && d.words == words))
            .then(|| {
                violation(
                    Class::DuplicateStatus,
                    op.repeated(),
                    self.intparm,
                    irq.intparm,
                )
            })
    }

    /// Secondary status alone: PoP ch. 16 Secondary Status and Activity
    /// Control. It carries the device end, so device active is reset and
    /// no other activity remains.
    fn check_secondary(s: &Scsw) -> Result<(), Violation> {
        let sc = s.sc();
        if !sc.contains(StatusControl::SECONDARY)
            || sc.intersects(StatusControl::PRIMARY | StatusControl::INTERMEDIATE)
        {
            return Err(violation(
                Class::BadStatus,
                "expected-secondary-status",
                (StatusControl::SECONDARY | StatusControl::PENDING).bits(),
                sc.bits(),
            ));
        }
        let ac = s.ac();
        if !ac.is_empty() {
            return Err(violation(
                Class::BadStatus,
                "activity-with-secondary-status",
                0,
                ac.bits(),
            ));
        }
        Ok(())
    }

    /// PoP ch. 16 Device Status and Subchannel Status: unit check, unit
    /// exception and busy report a device-side failure, and any subchannel
    /// status reports a channel-side one (PCI would be intermediate, which
    /// the guest never requests). NOP and SENSE ID with SLI end cleanly.
    fn check_clean_status(s: &Scsw) -> Result<(), Violation> {
        let ds = s.device_status();
        // QEMU's answer to a failed relay (`sch_gen_unit_exception`): unit
        // exception alone, with alert status. No device made it.
        if ds == DeviceStatus::UNIT_EXCEPTION && s.sc().contains(StatusControl::ALERT) {
            return Err(violation(
                Class::BadStatus,
                "relay-unit-exception",
                0,
                ds.bits().into(),
            ));
        }
        if ds.intersects(DEVICE_ERRORS) {
            return Err(violation(
                Class::BadStatus,
                "device-status-error",
                0,
                ds.bits().into(),
            ));
        }
        let cs = s.subchannel_status();
        if !cs.is_empty() {
            return Err(violation(
                Class::BadStatus,
                "channel-status-error",
                0,
                cs.bits().into(),
            ));
        }
        Ok(())
    }

    /// PoP ch. 16 Device Status: a start that ran to its end presents
    /// channel end with its primary status and device end with its
    /// secondary status; attention, status modifier and control-unit end
    /// belong to no ending of NOP or SENSE ID (the device presents them on
    /// its own, or for commands we never issue).
    fn check_solicited_ending(s: &Scsw) -> Result<(), Violation> {
        let ds = s.device_status();
        let sc = s.sc();
        let mut needed = DeviceStatus::empty();
        if sc.contains(StatusControl::PRIMARY) {
            needed |= DeviceStatus::CHANNEL_END;
        }
        if sc.contains(StatusControl::SECONDARY) {
            needed |= DeviceStatus::DEVICE_END;
        }
        if !ds.contains(needed) {
            return Err(violation(
                Class::BadStatus,
                "ending-without-channel-or-device-end",
                needed.bits().into(),
                ds.bits().into(),
            ));
        }
        let foreign = DeviceStatus::ATTENTION
            | DeviceStatus::STATUS_MODIFIER
            | DeviceStatus::CONTROL_UNIT_END;
        if ds.intersects(foreign) {
            return Err(violation(
                Class::BadStatus,
                "unsolicited-bits-in-completion",
                0,
                ds.bits().into(),
            ));
        }
        Ok(())
    }

    // ---- bookkeeping ----

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

    /// Ends a halt or clear for the guest on status a deviation put in
    /// place of its own, which still follows (with its own interruption).
    fn complete_owing(&mut self, op: Op, issued: u64, tod: u64) -> Completed {
        let done = self.complete(op, self.intparm, issued, tod, false);
        self.owed = Some(op);
        self.owed_since = tod;
        self.requested();
        done
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
                        with_start: true,
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
    use super::*;
    use crate::css::SubchannelId;
    use std::string::ToString;

    const SID: u32 = SubchannelId::ss0(0x0002).raw();
    /// Parameter of the MSCH that enabled the subchannel.
    const EN: u32 = 0xC0DE_0000;
    const P1: u32 = 0x5EED_0001;
    const P2: u32 = 0x5EED_0002;
    /// SENSE ID chained to a NOP at 0x2000: ends at 0x2010.
    const PROG: Program = Program::new(0x2000, 2);

    // SCSW words as real hardware stores them behind vfio-ccw for a
    // format-1 ORB with prefetch (F = 0x0080_0000 and P = 0x0040_0000
    // reflected while the start function is indicated).
    /// Start done: FC start, SC primary+secondary+pending, CE+DE.
    const START_DONE: [u32; 3] = [0x00C0_4007, 0x0000_2010, 0x0C00_0000];
    /// Channel end only: FC start, AC device active, SC primary+pending.
    const START_PRIMARY_DEVACT: [u32; 3] = [0x00C0_4045, 0x0000_2010, 0x0800_0000];
    /// The device end afterwards: TSCH already cleared the start function.
    const SECONDARY_ALONE: [u32; 3] = [0x0000_0003, 0, 0x0400_0000];
    /// Clear done: FC clear, SC status pending alone, everything else zero.
    const CLEAR_DONE: [u32; 3] = [0x0000_1001, 0, 0];
    /// Halt of a running start: FC start+halt, SC primary+secondary+pending,
    /// stopped after the first CCW.
    const HALT_OF_START: [u32; 3] = [0x00C0_6007, 0x0000_2008, 0x0C00_0000];
    /// Halt of an idle subchannel: FC halt, SC status pending alone.
    const HALT_IDLE: [u32; 3] = [0x0000_2001, 0, 0];
    /// Unsolicited attention: no function, SC alert+pending.
    const UNSOLICITED: [u32; 3] = [0x0000_0011, 0, 0x8000_0000];
    /// Deferred cc 1: FC start, AC start pending, SC alert+pending,
    /// device status attention presented when the start was attempted.
    const START_NOT_INITIATED: [u32; 3] = [0x01C0_4411, 0, 0x8000_0000];

    fn irq(intparm: u32, words: [u32; 3], tod: u64) -> Interruption {
        Interruption {
            sid: SID,
            intparm,
            tsch_cc: Cc::Zero,
            scsw: Scsw::from_words(words),
            tod,
        }
    }

    fn oracle() -> Oracle {
        Oracle::new(SID, EN)
    }

    fn started(intparm: u32) -> Oracle {
        let mut o = oracle();
        o.ssch(intparm, PROG, Cc::Zero, 1000).unwrap();
        o
    }

    fn class_of(r: Result<Option<Completed>, Violation>) -> (Class, &'static str) {
        let v = r.unwrap_err();
        (v.class, v.what)
    }

    // ---- allowed sequences ----

    #[test]
    fn start_primary_and_secondary_together() {
        let mut o = started(P1);
        assert_eq!(o.outstanding(), Outstanding::Start);
        let done = o.interruption(&irq(P1, START_DONE, 1500)).unwrap().unwrap();
        assert_eq!(
            done,
            Completed {
                op: Op::Start,
                intparm: P1,
                latency: 500,
                not_initiated: false
            }
        );
        assert!(done.completed_start());
        assert_eq!(o.outstanding(), Outstanding::Idle);
        assert_eq!(o.current_intparm(), P1);
    }

    #[test]
    fn qemu_emulated_start_status_is_accepted() {
        // QEMU's emulated channel subsystem does not reflect the ORB's F and
        // P bits in the SCSW; the oracle does not depend on them.
        let mut o = started(P1);
        let words = [0x0000_4007, 0x0000_2010, 0x0C00_0000];
        assert!(o.interruption(&irq(P1, words, 1100)).unwrap().is_some());
    }

    #[test]
    fn start_primary_with_device_active_then_secondary() {
        let mut o = started(P1);
        assert_eq!(
            o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1200)),
            Ok(None)
        );
        assert_eq!(o.outstanding(), Outstanding::Start);
        let done = o
            .interruption(&irq(P1, SECONDARY_ALONE, 1300))
            .unwrap()
            .unwrap();
        assert_eq!((done.op, done.latency), (Op::Start, 300));
        assert_eq!(o.stats().starts_two_part, 1);
        assert_eq!(o.outstanding(), Outstanding::Idle);
    }

    #[test]
    fn trailing_secondary_may_still_show_start_function() {
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1200))
            .unwrap();
        let sec = [0x00C0_4003, 0, 0x0400_0000];
        assert!(o.interruption(&irq(P1, sec, 1300)).unwrap().is_some());
    }

    #[test]
    fn start_then_clear_gives_clear_status() {
        let mut o = started(P1);
        o.csch(Cc::Zero, 1100).unwrap();
        assert_eq!(o.outstanding(), Outstanding::Clear);
        let done = o.interruption(&irq(P1, CLEAR_DONE, 1150)).unwrap().unwrap();
        assert_eq!((done.op, done.intparm, done.latency), (Op::Clear, P1, 50));
        assert_eq!(o.stats().clears_of_op, 1);
        // The withdrawn start is not owed: nothing is lost afterwards.
        assert_eq!(o.expired(999_999), Ok(()));
    }

    #[test]
    fn clear_withdraws_pending_start_status() {
        // The start finished and its status is pending (the guest had I/O
        // interruptions masked); CSCH withdraws it, only the clear's comes.
        let mut o = started(P1);
        o.csch(Cc::Zero, 1100).unwrap();
        o.interruption(&irq(P1, CLEAR_DONE, 1150)).unwrap().unwrap();
        // And the subchannel is usable again.
        o.ssch(P2, PROG, Cc::Zero, 2000).unwrap();
        o.interruption(&irq(P2, START_DONE, 2100)).unwrap().unwrap();
        assert_eq!(o.stats().starts, 1);
        assert_eq!(o.stats().clears, 1);
    }

    #[test]
    fn halt_while_start_in_progress() {
        let mut o = started(P1);
        o.hsch(Cc::Zero, 1100).unwrap();
        assert_eq!(o.outstanding(), Outstanding::Halt);
        let done = o
            .interruption(&irq(P1, HALT_OF_START, 1180))
            .unwrap()
            .unwrap();
        assert_eq!((done.op, done.intparm, done.latency), (Op::Halt, P1, 80));
        assert!(!done.completed_start());
        assert_eq!(o.stats().halts_of_start, 1);
    }

    #[test]
    fn halt_of_start_skips_error_and_address_checks() {
        // A halted program may end with unit check and anywhere.
        let mut o = started(P1);
        o.hsch(Cc::Zero, 1100).unwrap();
        let words = [0x00C0_6017, 0x0000_9000, 0x0E20_0000];
        assert!(o.interruption(&irq(P1, words, 1180)).unwrap().is_some());
    }

    #[test]
    fn halt_cc1_leaves_start_status_to_collect() {
        let mut o = started(P1);
        o.hsch(Cc::One, 1100).unwrap();
        assert_eq!(o.outstanding(), Outstanding::Start);
        let done = o.interruption(&irq(P1, START_DONE, 1150)).unwrap().unwrap();
        assert_eq!(done.op, Op::Start);
        assert_eq!(o.stats().hsch_cc1, 1);
    }

    #[test]
    fn halt_on_idle_subchannel() {
        let mut o = oracle();
        o.hsch(Cc::Zero, 10).unwrap();
        let done = o.interruption(&irq(EN, HALT_IDLE, 30)).unwrap().unwrap();
        assert_eq!((done.op, done.intparm, done.latency), (Op::Halt, EN, 20));
        assert_eq!(o.stats().halts_of_start, 0);
    }

    #[test]
    fn clear_on_idle_subchannel() {
        let mut o = oracle();
        o.csch(Cc::Zero, 10).unwrap();
        let done = o.interruption(&irq(EN, CLEAR_DONE, 15)).unwrap().unwrap();
        assert_eq!((done.op, done.intparm), (Op::Clear, EN));
        assert_eq!(o.stats().clears_of_op, 0);
    }

    #[test]
    fn unsolicited_alert_while_idle() {
        let mut o = oracle();
        assert_eq!(o.interruption(&irq(EN, UNSOLICITED, 5)), Ok(None));
        assert_eq!(o.stats().unsolicited, 1);
        assert_eq!(o.outstanding(), Outstanding::Idle);
    }

    #[test]
    fn ssch_cc1_while_idle_then_unsolicited_then_retry() {
        let mut o = oracle();
        o.ssch(P1, PROG, Cc::One, 100).unwrap();
        assert_eq!(o.outstanding(), Outstanding::Idle);
        assert!(o.expects_interruption());
        o.ssch(P1, PROG, Cc::One, 110).unwrap();
        o.interruption(&irq(EN, UNSOLICITED, 120)).unwrap();
        assert!(!o.expects_interruption());
        o.ssch(P1, PROG, Cc::Zero, 130).unwrap();
        o.interruption(&irq(P1, START_DONE, 140)).unwrap().unwrap();
        assert_eq!(o.stats().ssch_cc1, 2);
        assert_eq!(o.stats().ssch, 3);
    }

    #[test]
    fn start_not_initiated_deferred_cc1() {
        let mut o = started(P1);
        let done = o
            .interruption(&irq(P1, START_NOT_INITIATED, 1010))
            .unwrap()
            .unwrap();
        assert!(done.not_initiated);
        assert!(!done.completed_start());
        assert_eq!(o.stats().starts_not_initiated, 1);
        assert_eq!(o.outstanding(), Outstanding::Idle);
    }

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

    #[test]
    fn second_clear_before_first_completes() {
        // CSCH may be reissued; the first clear's status is withdrawn.
        let mut o = oracle();
        o.csch(Cc::Zero, 10).unwrap();
        o.csch(Cc::Zero, 20).unwrap();
        let done = o.interruption(&irq(EN, CLEAR_DONE, 25)).unwrap().unwrap();
        assert_eq!(done.latency, 5);
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
    fn intparm_mismatch() {
        let mut o = started(P1);
        let v = o
            .interruption(&irq(0x0BAD_0BAD, START_DONE, 1100))
            .unwrap_err();
        assert_eq!(
            v,
            Violation::new(Class::IntparmMismatch, "start-intparm", P1, 0x0BAD_0BAD)
        );
    }

    #[test]
    fn wrong_function_clear_status_handed_to_next_start() {
        // The seed race: start P1, clear, clear status, start P2, and the
        // host's deferred work presents the clear's IRB for P2.
        let mut o = started(P1);
        o.csch(Cc::Zero, 1100).unwrap();
        o.interruption(&irq(P1, CLEAR_DONE, 1150)).unwrap().unwrap();
        o.ssch(P2, PROG, Cc::Zero, 1200).unwrap();
        let v = o.interruption(&irq(P2, CLEAR_DONE, 1250)).unwrap_err();
        assert_eq!(
            v,
            Violation::new(
                Class::WrongFunction,
                "clear-status-for-start",
                0x4000,
                0x1000
            )
        );
    }

    #[test]
    fn wrong_function_start_status_after_halt_accepted() {
        let mut o = started(P1);
        o.hsch(Cc::Zero, 1100).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P1, START_DONE, 1150))),
            (Class::WrongFunction, "start-status-after-halt")
        );
    }

    #[test]
    fn wrong_function_start_status_after_clear() {
        let mut o = started(P1);
        o.csch(Cc::Zero, 1100).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P1, START_DONE, 1150))),
            (Class::WrongFunction, "start-status-after-clear")
        );
    }

    #[test]
    fn wrong_function_no_function_during_start() {
        let mut o = started(EN);
        assert_eq!(
            class_of(o.interruption(&irq(EN, UNSOLICITED, 1150))),
            (Class::WrongFunction, "no-function-during-start")
        );
    }

    #[test]
    fn wrong_function_start_bit_in_halt_of_idle() {
        let mut o = oracle();
        o.hsch(Cc::Zero, 10).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(EN, HALT_OF_START, 20))),
            (Class::WrongFunction, "start-function-in-halt-of-idle")
        );
    }

    #[test]
    fn duplicate_status_while_idle() {
        let mut o = started(P1);
        o.interruption(&irq(P1, START_DONE, 1100)).unwrap();
        let v = o.interruption(&irq(P1, START_DONE, 1200)).unwrap_err();
        assert_eq!(
            v,
            Violation::new(Class::DuplicateStatus, "start-status-repeated", P1, P1)
        );
    }

    #[test]
    fn duplicate_status_while_next_start_outstanding() {
        let mut o = started(P1);
        o.interruption(&irq(P1, START_DONE, 1100)).unwrap();
        o.ssch(P2, PROG, Cc::Zero, 1200).unwrap();
        let v = o.interruption(&irq(P1, START_DONE, 1300)).unwrap_err();
        assert_eq!(
            v,
            Violation::new(Class::DuplicateStatus, "start-status-repeated", P2, P1)
        );
    }

    #[test]
    fn a_replay_is_recognised_by_its_content_not_its_parameter() {
        // The earlier start's status, presented with the next start's
        // parameter while the next start (another program) is outstanding.
        let next = Program::new(0x3000, 1);
        let mut o = started(P1);
        o.interruption(&irq(P1, START_DONE, 1100)).unwrap();
        o.ssch(P2, next, Cc::Zero, 1200).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P2, START_DONE, 1300))),
            (Class::DuplicateStatus, "start-status-repeated")
        );
        // Idle, with a parameter nobody used: still the same status.
        let mut o = started(P1);
        o.interruption(&irq(P1, START_DONE, 1100)).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(0x0BAD_0001, START_DONE, 1200))),
            (Class::DuplicateStatus, "start-status-repeated")
        );
        // Different words outside the program stay a CCW-address failure.
        let mut o = started(P1);
        o.interruption(&irq(P1, START_DONE, 1100)).unwrap();
        o.ssch(P2, next, Cc::Zero, 1200).unwrap();
        let other = [0x00C0_4007, 0x0000_5008, 0x0C00_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P2, other, 1300))).0,
            Class::CcwAddress
        );
    }

    #[test]
    fn duplicate_clear_status_while_idle() {
        let mut o = oracle();
        o.csch(Cc::Zero, 10).unwrap();
        o.interruption(&irq(EN, CLEAR_DONE, 15)).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(EN, CLEAR_DONE, 16))),
            (Class::DuplicateStatus, "clear-status-repeated")
        );
    }

    #[test]
    fn lost_interrupt_when_wait_expires() {
        let mut o = started(P1);
        // 4096 TOD units are one microsecond.
        let v = o.expired(1000 + 4096 * 250).unwrap_err();
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
        // One request per accepted operation: a start's request may find its
        // status gone once, not twice.
        let mut o = started(P1);
        o.interruption(&i).unwrap();
        assert_eq!(o.stats().withdrawn, 1);
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

    #[test]
    fn spurious_interrupt_while_idle() {
        let mut o = oracle();
        assert_eq!(
            class_of(o.interruption(&irq(P1, START_DONE, 10))),
            (Class::SpuriousInterrupt, "status-while-idle")
        );
        let mut o = oracle();
        assert_eq!(
            class_of(o.interruption(&irq(EN, SECONDARY_ALONE, 10))),
            (Class::SpuriousInterrupt, "status-while-idle")
        );
    }

    #[test]
    fn bad_status_unit_check() {
        let mut o = started(P1);
        // Primary+secondary+alert, CE+DE+unit check (command reject).
        let words = [0x00C0_4017, 0x0000_2008, 0x0E00_0000];
        assert_eq!(
            o.interruption(&irq(P1, words, 1100)).unwrap_err(),
            Violation::new(Class::BadStatus, "device-status-error", 0, 0x0E)
        );
    }

    #[test]
    fn bad_status_channel_program_check() {
        let mut o = started(P1);
        let words = [0x00C0_4017, 0x0000_2008, 0x0020_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, words, 1100))),
            (Class::BadStatus, "channel-status-error")
        );
    }

    #[test]
    fn bad_status_intermediate_and_activity() {
        let mut o = started(P1);
        let pci = [0x00C0_40C9, 0x0000_2008, 0x0080_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, pci, 1100))),
            (Class::BadStatus, "intermediate-status")
        );
        let mut o = started(P1);
        let still_pending = [0x00C0_4407, 0x0000_2010, 0x0C00_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, still_pending, 1100))),
            (Class::BadStatus, "activity-with-primary-status")
        );
        let mut o = oracle();
        o.csch(Cc::Zero, 10).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(EN, [0x0000_1101, 0, 0], 20))),
            (Class::BadStatus, "activity-with-clear-status")
        );
    }

    #[test]
    fn bad_status_secondary_before_primary_and_not_pending() {
        let mut o = started(P1);
        let sec_only = [0x00C0_4003, 0, 0x0400_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, sec_only, 1100))),
            (Class::BadStatus, "no-primary-status")
        );
        let mut o = started(P1);
        let not_pending = [0x00C0_4006, 0x0000_2010, 0x0C00_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, not_pending, 1100))),
            (Class::BadStatus, "status-not-pending")
        );
    }

    #[test]
    fn ccw_address_outside_program() {
        for cpa in [0x2000, 0x2004, 0x2018, 0x0000_0000, 0x7FFF_FFF8] {
            let mut o = started(P1);
            let words = [0x00C0_4007, cpa, 0x0C00_0000];
            assert_eq!(
                o.interruption(&irq(P1, words, 1100)).unwrap_err(),
                Violation::new(
                    Class::CcwAddress,
                    "ccw-address-outside-program",
                    0x2010,
                    cpa
                )
            );
        }
        // A clean ending after the first of two chained CCWs: the chain was
        // cut short.
        let mut o = started(P1);
        let words = [0x00C0_4007, 0x2008, 0x0C00_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, words, 1100))),
            (Class::CcwAddress, "chain-ended-early")
        );
    }

    // ---- tighter completions ----

    #[test]
    fn a_completion_needs_channel_end_and_device_end() {
        for (ds, what) in [
            (0x0000_0000, "ending-without-channel-or-device-end"),
            (0x0800_0000, "ending-without-channel-or-device-end"),
            (0x0400_0000, "ending-without-channel-or-device-end"),
            (0x8C00_0000, "unsolicited-bits-in-completion"),
            (0x4C00_0000, "unsolicited-bits-in-completion"),
            (0x2C00_0000, "unsolicited-bits-in-completion"),
        ] {
            let mut o = started(P1);
            let words = [0x00C0_4007, 0x2010, ds];
            assert_eq!(
                class_of(o.interruption(&irq(P1, words, 1100))),
                (Class::BadStatus, what),
                "{ds:#x}"
            );
        }
        // A separate device end must carry device end.
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100))
            .unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P1, [0x0000_0003, 0, 0], 1200))),
            (Class::BadStatus, "ending-without-channel-or-device-end")
        );
    }

    #[test]
    fn clear_status_carries_no_device_or_channel_status() {
        let mut o = started(P1);
        o.csch(Cc::Zero, 1100).unwrap();
        let words = [0x0000_1001, 0, 0x0C00_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, words, 1200))),
            (Class::BadStatus, "status-with-clear")
        );
    }

    #[test]
    fn alert_status_alone_needs_deferred_cc_1_to_mean_not_begun() {
        let mut o = started(P1);
        let words = [0x00C0_4011, 0, 0x8000_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, words, 1100))),
            (Class::BadStatus, "alert-status-without-deferred-cc")
        );
        let mut o = started(P1);
        let done = o
            .interruption(&irq(P1, START_NOT_INITIATED, 1100))
            .unwrap()
            .unwrap();
        assert!(done.not_initiated);
    }

    #[test]
    fn a_split_completion_makes_two_presentations() {
        let empty = Interruption {
            tsch_cc: Cc::One,
            scsw: Scsw::ZERO,
            ..irq(P1, [0; 3], 1150)
        };
        // The device end is a presentation of its own with its own
        // interruption request, which may be presented before its status
        // is stored: one empty interruption between the two is excused.
        let mut o = started(P1);
        o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100))
            .unwrap();
        assert_eq!(o.interruption(&empty), Ok(None));
        o.interruption(&irq(P1, SECONDARY_ALONE, 1200))
            .unwrap()
            .unwrap();
        // And no more than that.
        assert_eq!(class_of(o.interruption(&empty)).0, Class::SpuriousInterrupt);
    }

    #[test]
    fn data_corruption_sense_id() {
        let o = oracle();
        let base = SenseId {
            cu_type: 0x3990,
            cu_model: 0xE9,
            dev_type: 0x3390,
            dev_model: 0x0A,
        };
        let good = [0xFF, 0x39, 0x90, 0xE9, 0x33, 0x90, 0x0A, 0x00];
        assert_eq!(o.check_sense_id(&good, base), Ok(()));
        let mut bad = good;
        bad[5] = 0x80;
        assert_eq!(
            o.check_sense_id(&bad, base).unwrap_err(),
            Violation::new(Class::DataCorruption, "sense-id-dev-type", 0x3390, 0x3380)
        );
        let mut bad = good;
        bad[0] = 0;
        assert_eq!(
            o.check_sense_id(&bad, base).unwrap_err().what,
            "sense-id-marker"
        );
        assert_eq!(
            o.check_sense_id(&good[..3], base).unwrap_err().what,
            "sense-id-short"
        );
    }

    #[test]
    fn data_corruption_canary() {
        let o = oracle();
        assert_eq!(o.check_canary(&[0xA5; 16], 0xA5), Ok(()));
        let mut r = [0xA5; 16];
        r[9] = 0x00;
        assert_eq!(
            o.check_canary(&r, 0xA5).unwrap_err(),
            Violation::new(Class::DataCorruption, "canary-overwritten", 0xA5, 0)
        );
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

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "driver bug")]
    fn overlapping_ssch_is_a_driver_bug() {
        let mut o = started(P1);
        let _ = o.ssch(P2, PROG, Cc::Two, 1100);
    }

    #[cfg(not(debug_assertions))]
    #[test]
    fn overlapping_ssch_is_a_cc_anomaly() {
        let mut o = started(P1);
        assert_eq!(
            o.ssch(P2, PROG, Cc::Two, 1100).unwrap_err().what,
            "ssch-while-outstanding"
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

    fn vfio(o: Oracle) -> Oracle {
        o.with_host(Host::VfioCcw)
    }

    /// Start status with the start function alone after CLEAR's cc 0.
    const START_AFTER_CLEAR: [u32; 3] = START_DONE;
    /// What QEMU's TSCH stores when CSCH left status pending: clear
    /// function, clear pending, the earlier status's bits.
    const CLEAR_OVER_PENDING: [u32; 3] = [0x0000_1107, 0x0000_2010, 0x0C00_0000];

    fn cleared_start(o: Oracle) -> Oracle {
        let mut o = o;
        o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
        o.csch(Cc::Zero, 1100).unwrap();
        o
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
    fn start_status_after_clear_is_counted_and_the_clears_own_status_owed() {
        let mut o = cleared_start(vfio(oracle()));
        let done = o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        assert_eq!(done.map(|d| d.op), Some(Op::Clear));
        assert_eq!(o.outstanding(), Outstanding::Idle);
        assert_eq!(o.deviations().get(Deviation::StartStatusAfterClear), 1);
        // The clear's own status, later, while idle: accepted once.
        assert_eq!(o.interruption(&irq(P1, CLEAR_DONE, 1300)), Ok(None));
        let (class, _) = class_of(o.interruption(&irq(P1, CLEAR_DONE, 1400)));
        assert_eq!(class, Class::DuplicateStatus);
        assert_eq!(o.deviations().to_string(), "start-status-after-clear:1");
    }

    #[test]
    fn the_owed_clear_status_for_the_next_start_is_the_2021_misattribution() {
        let mut o = cleared_start(vfio(oracle()));
        o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        o.ssch(P2, PROG, Cc::Zero, 1300).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P2, CLEAR_DONE, 1400))),
            (Class::WrongFunction, "late-clear-status-for-next-start")
        );
        // Without the deviation before it, the same status is the plain
        // misattribution.
        let mut o = started(P2);
        assert_eq!(
            class_of(o.interruption(&irq(P2, CLEAR_DONE, 1400))),
            (Class::WrongFunction, "clear-status-for-start")
        );
    }

    #[test]
    fn an_owed_status_that_never_comes_is_lost() {
        let mut o = cleared_start(vfio(oracle()));
        assert_eq!(o.owed_expired(1250), Ok(()));
        o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        assert_eq!(o.owed(), Some(Op::Clear));
        let v = o.owed_expired(1200 + (7 << 12)).unwrap_err();
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
    fn start_status_after_halt_owes_the_halts_status() {
        let mut o = vfio(started(P1));
        o.hsch(Cc::Zero, 1100).unwrap();
        let done = o.interruption(&irq(P1, START_DONE, 1200)).unwrap();
        assert_eq!(done.map(|d| d.op), Some(Op::Halt));
        assert_eq!(o.deviations().get(Deviation::StartStatusAfterHalt), 1);
        o.ssch(P2, PROG, Cc::Zero, 1300).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P2, HALT_IDLE, 1400))),
            (Class::WrongFunction, "late-halt-status-for-next-start")
        );
        // Arriving before the next start, it is simply the halt's own.
        let mut o = vfio(started(P1));
        o.hsch(Cc::Zero, 1100).unwrap();
        o.interruption(&irq(P1, START_DONE, 1200)).unwrap();
        assert_eq!(o.interruption(&irq(P1, HALT_IDLE, 1300)), Ok(None));
    }

    #[test]
    fn clear_over_pending_status_is_counted_and_owes_the_clear() {
        let mut o = cleared_start(vfio(oracle()));
        let done = o.interruption(&irq(P1, CLEAR_OVER_PENDING, 1200)).unwrap();
        assert_eq!(done.map(|d| d.op), Some(Op::Clear));
        assert_eq!(o.deviations().get(Deviation::ClearPresentsPendingStatus), 1);
        assert_eq!(o.interruption(&irq(P1, CLEAR_DONE, 1300)), Ok(None));
        // Activity other than clear pending stays bad status.
        let mut o = cleared_start(vfio(oracle()));
        let active = [0x0000_1087, 0x0000_2010, 0x0C00_0000];
        assert_eq!(
            class_of(o.interruption(&irq(P1, active, 1200))),
            (Class::BadStatus, "activity-with-clear-status")
        );
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
    fn unsolicited_status_after_a_refused_start_carries_its_parameter() {
        let mut o = vfio(oracle());
        o.ssch(P1, PROG, Cc::Two, 1000).unwrap();
        assert_eq!(o.interruption(&irq(P1, UNSOLICITED, 1100)), Ok(None));
        assert_eq!(o.deviations().get(Deviation::IntparmOfRefusedStart), 1);
        let mut o = vfio(oracle());
        o.ssch(P1, PROG, Cc::Two, 1000).unwrap();
        assert_eq!(
            class_of(o.interruption(&irq(P2, UNSOLICITED, 1100))).1,
            "unsolicited-intparm"
        );
    }

    #[test]
    fn an_owed_status_is_forgotten_once_a_new_clear_is_accepted() {
        let mut o = cleared_start(vfio(oracle()));
        o.interruption(&irq(P1, START_AFTER_CLEAR, 1200)).unwrap();
        // The owed status never comes; a new clear and its status.
        o.csch(Cc::Zero, 1300).unwrap();
        assert!(o
            .interruption(&irq(P1, CLEAR_DONE, 1400))
            .unwrap()
            .is_some());
        // Presented again, it is a duplicate, not the old owed status.
        assert_eq!(
            class_of(o.interruption(&irq(P1, CLEAR_DONE, 1500))),
            (Class::DuplicateStatus, "clear-status-repeated")
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
}
