//! The architecture's rules for one presentation as one table: for every
//! guest-visible operation state, which status words (function, activity
//! and status control, device and subchannel status, deferred condition
//! code, CCW address relative to the program, TEST SUBCHANNEL's condition
//! code) the oracle passes, and what it makes of the rest. Each row cites
//! the Principles of Operation (SA22-7832) rule it rests on; rows are
//! tried in order and the first whose conditions all hold decides.
//!
//! The oracle judges through it: in each state it looks the presented word
//! up ([`decide`]) and acts on the row's verdict, building the violation
//! from the row (class, `what`, and expected and actual as [`Shows`]
//! says). The table leaves out what depends on history rather than on the
//! status word: the interruption parameter, status repeated from an
//! earlier operation, the status a deviation left owed (`status.rs`), and
//! TEST SUBCHANNEL's cc 1 and status pending, which the oracle checks
//! before any state's rows with the interruption requests still queued
//! (those rows are here for the reviewer and the property test). It is
//! data, rendered into `docs/oracle-table.md`; the property test below
//! drives the oracle through every state with every class of status word
//! and requires its verdict to be the table's, in both profiles.
//!
//! The kernel does not scan the rows: they are compiled at build time (all
//! in `const` evaluation) into, for every value of every field, the set of
//! rows that value allows, and [`decide`] ANDs one set per field with the
//! state's and takes the first row left. The rows' conditions and PoP
//! texts stay out of the image; [`judge`], the scan in order, is the
//! reference a test holds the compiled form to on every field value.
//! Measured (`docs/performance.md`): 1-4 % more guest instructions per
//! iteration than the hand-written checks it replaced, 7 KB more rodata.

use super::{Class, Deviation, Program};
use crate::css::{ActivityControl as Ac, DeviceStatus as Ds, FunctionControl as Fc};
use crate::css::{Scsw, StatusControl as Sc};

named_enum! {
    /// A guest-visible operation state: what the guest has outstanding on the
    /// subchannel when a status is presented.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum St {
        /// Nothing outstanding.
        Idle => "idle",
        /// The subchannel answered cc 1 (status pending) while idle and the
        /// status has not been taken.
        StatusPending => "status pending (cc 1 while idle)",
        /// SSCH cc 0: the start pending, or active with the device active (the
        /// guest cannot tell which until status says).
        Start => "start pending or start active / device active",
        /// The start's primary status taken with the subchannel device active:
        /// the device end (secondary status) still due.
        SecondaryDue => "primary status taken, secondary status due",
        /// HSCH cc 0 with nothing outstanding.
        HaltOfIdle => "halt pending on an idle subchannel",
        /// HSCH cc 0 while a start was outstanding, still due its first status.
        HaltOfStart => "halt pending on a running start",
        /// HSCH cc 0 while a start's device end was due (its primary status
        /// taken with the subchannel device active): TEST SUBCHANNEL reset the
        /// start function with the primary status, so the halt function may be
        /// shown alone.
        HaltOfDeviceEnd => "halt pending while a start's device end is due",
        /// CSCH cc 0 with nothing outstanding.
        ClearOfIdle => "clear pending on an idle subchannel",
        /// CSCH cc 0 while a start was outstanding (its status withdrawn).
        ClearOfStart => "clear pending on a running start",
        /// CSCH cc 0 while a start's device end was due (its primary status
        /// taken with the subchannel device active).
        ClearOfDeviceEnd => "clear pending while a start's device end is due",
        /// The halt's status taken with the device active (a halt of a
        /// running start): its device end due as secondary status of its own.
        HaltDeviceEndDue => "halt status taken, its device end due",
        /// Not a state the guest is in: the status a clear did not withdraw
        /// (QEMU's `css_do_csch`), judged here under
        /// [`Deviation::ClearPresentsPendingStatus`] once its function and
        /// activity control, which the clear overwrote, are set aside.
        PendingUnderClear => "status a clear did not withdraw (judged under clear-presents-pending-status)",
    }
}

impl St {
    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of states, as a bit mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct States(u16);

impl States {
    pub const fn contains(self, st: St) -> bool {
        self.0 & st.bit() != 0
    }
}

const fn sts(list: &[St]) -> States {
    let mut m = 0;
    let mut i = 0;
    while i < list.len() {
        m |= list[i].bit();
        i += 1;
    }
    States(m)
}

named_enum! {
    /// The CCW address of a status, relative to the channel program of the
    /// start it concerns (`first_ccw`, `ccw_count` CCWs).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Cpa {
        /// Just past the last CCW.
        End => "end",
        /// Just past a CCW before the last.
        Inside => "inside",
        /// The first CCW itself.
        First => "first CCW",
        /// Anywhere else but zero.
        Outside => "outside",
        /// Zero (not stored).
        Zero => "zero",
    }
}

impl Cpa {
    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// One field of the status word, as the generator and the rows see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    pub tsch_cc: u8,
    pub fc: u32,
    pub ac: u32,
    pub sc: u32,
    pub ds: u8,
    pub cs: u8,
    pub dcc: u8,
    pub cpa: Cpa,
}

impl Word {
    /// The classes of a presented status word's fields, its CCW address
    /// taken relative to `program`.
    pub fn of(s: &Scsw, tsch_cc: u8, program: Program) -> Self {
        let c = s.cpa();
        let cpa = if c == program.end() {
            Cpa::End
        } else if program.ends_in(c) {
            Cpa::Inside
        } else if c == program.first_ccw {
            Cpa::First
        } else if c == 0 {
            Cpa::Zero
        } else {
            Cpa::Outside
        };
        Self {
            tsch_cc,
            fc: s.fc().bits(),
            ac: s.ac().bits(),
            sc: s.sc().bits(),
            ds: s.device_status().bits(),
            cs: s.subchannel_status().bits(),
            dcc: s.deferred_cc().as_u8(),
            cpa,
        }
    }
}

/// What a row's violation reports as expected and actual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shows {
    /// This function control expected; the word's shown.
    Fc(u32),
    /// This activity control expected; the word's shown.
    Ac(u32),
    /// This status control expected; the word's shown.
    Sc(u32),
    /// None expected; the device status shown.
    Ds,
    /// None expected; the subchannel status shown.
    Cs,
    /// None expected; device and subchannel status shown (word 2's upper
    /// half).
    DsCs,
    /// Zero expected; the deferred condition code shown.
    Dcc,
    /// The program's end expected; the CCW address shown.
    Cpa,
    /// Channel end with primary status and device end with secondary
    /// status expected; the device status shown.
    Needed,
    /// Nothing expected; the SCSW's first word shown.
    Word0,
    /// These two values.
    Fixed(u32, u32),
    /// Nothing the row's verdict needs: a PASS, or a TSCH cc / status
    /// pending row whose violation the oracle builds before the lookup.
    InCode,
}

impl Shows {
    /// Expected and actual for a violation on `s` in a start of `program`.
    pub fn evidence(self, s: &Scsw, program: Program) -> (u32, u32) {
        match self {
            Shows::Fc(e) => (e, s.fc().bits()),
            Shows::Ac(e) => (e, s.ac().bits()),
            Shows::Sc(e) => (e, s.sc().bits()),
            Shows::Ds => (0, s.device_status().bits().into()),
            Shows::Cs => (0, s.subchannel_status().bits().into()),
            Shows::DsCs => (0, s.words()[2] >> 16),
            Shows::Dcc => (0, s.deferred_cc().as_u8().into()),
            Shows::Cpa => (program.end(), s.cpa()),
            Shows::Needed => {
                let mut needed = 0;
                if s.sc().contains(Sc::PRIMARY) {
                    needed |= CE;
                }
                if s.sc().contains(Sc::SECONDARY) {
                    needed |= DE;
                }
                (needed.into(), s.device_status().bits().into())
            }
            Shows::Word0 => (0, s.words()[0]),
            Shows::Fixed(e, a) => (e, a),
            Shows::InCode => (0, 0),
        }
    }
}

/// A condition on a status word. Masks are the fields' bits in their
/// SCSW positions (`css`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    TschCc(u8),
    /// The function control has a bit of the mask.
    FcAny(u32),
    FcIs(u32),
    FcIsNot(u32),
    /// The activity control has a bit outside the mask.
    AcBeyond(u32),
    AcAny(u32),
    AcIs(u32),
    ScAny(u32),
    /// The status control lacks a bit of the mask.
    ScLacks(u32),
    ScIs(u32),
    DsAny(u8),
    DsLacks(u8),
    DsIs(u8),
    CsAny(u8),
    /// The deferred condition code is one of those in the mask (bit n for
    /// cc n).
    Dcc(u8),
    /// The CCW address is one of those in the mask ([`Cpa`] bits).
    Cpa(u8),
}

named_enum! {
    /// A field of the status word, as the compiled table indexes it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Field {
        TschCc,
        Fc,
        Ac,
        Sc,
        Ds,
        Cs,
        Dcc,
        Cpa,
    }
}

impl Field {
    /// How many values the field takes: its table's length.
    pub const fn values(self) -> usize {
        match self {
            Field::TschCc | Field::Dcc => 4,
            Field::Fc => 8,
            Field::Ac => 128,
            Field::Sc => 32,
            Field::Ds | Field::Cs => 256,
            Field::Cpa => Cpa::ALL.len(),
        }
    }

    /// Where the field's SCSW bits start (function and activity control
    /// sit above bit 0 of word 0).
    const fn shift(self) -> u32 {
        match self {
            Field::Fc => 12,
            Field::Ac => 5,
            _ => 0,
        }
    }

    /// The field's value in `w`, as an index into its table.
    pub const fn index(self, w: &Word) -> usize {
        (self.raw(w) >> self.shift()) as usize % self.values()
    }

    /// The field's bits in `w`, in their SCSW position (the CCW address as
    /// its [`Cpa`] number).
    pub const fn raw(self, w: &Word) -> u32 {
        match self {
            Field::TschCc => w.tsch_cc as u32,
            Field::Fc => w.fc,
            Field::Ac => w.ac,
            Field::Sc => w.sc,
            Field::Ds => w.ds as u32,
            Field::Cs => w.cs as u32,
            Field::Dcc => w.dcc as u32,
            Field::Cpa => w.cpa as u32,
        }
    }

    /// The field's value in its SCSW position for table index `i`.
    const fn value(self, i: usize) -> u32 {
        (i as u32) << self.shift()
    }
}

impl Cond {
    /// The one field the condition reads.
    pub const fn field(self) -> Field {
        match self {
            Cond::TschCc(_) => Field::TschCc,
            Cond::FcAny(_) | Cond::FcIs(_) | Cond::FcIsNot(_) => Field::Fc,
            Cond::AcBeyond(_) | Cond::AcAny(_) | Cond::AcIs(_) => Field::Ac,
            Cond::ScAny(_) | Cond::ScLacks(_) | Cond::ScIs(_) => Field::Sc,
            Cond::DsAny(_) | Cond::DsLacks(_) | Cond::DsIs(_) => Field::Ds,
            Cond::CsAny(_) => Field::Cs,
            Cond::Dcc(_) => Field::Dcc,
            Cond::Cpa(_) => Field::Cpa,
        }
    }

    /// Whether the condition holds for value `v` of its field (in the
    /// field's SCSW position; the CCW address as its [`Cpa`] number).
    pub const fn holds_for(self, v: u32) -> bool {
        match self {
            Cond::TschCc(cc) => v == cc as u32,
            Cond::FcAny(m) | Cond::AcAny(m) | Cond::ScAny(m) => v & m != 0,
            Cond::FcIs(x) | Cond::AcIs(x) | Cond::ScIs(x) => v == x,
            Cond::FcIsNot(x) => v != x,
            Cond::AcBeyond(m) => v & !m != 0,
            Cond::ScLacks(m) => v & m != m,
            Cond::DsAny(m) | Cond::CsAny(m) => v & m as u32 != 0,
            Cond::DsLacks(m) => v & m as u32 != m as u32,
            Cond::DsIs(x) => v == x as u32,
            Cond::Dcc(m) | Cond::Cpa(m) => m as u32 & (1 << v) != 0,
        }
    }

    /// Whether the condition holds for `w`, on the field's bits as they
    /// are (not through the compiled table's index, which the test of
    /// [`decide`] against [`judge`] thereby checks).
    pub const fn holds(self, w: &Word) -> bool {
        self.holds_for(self.field().raw(w))
    }
}

/// What follows a presentation the oracle passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// The operation ends; the subchannel is idle.
    Ends,
    /// The start ends without having begun (deferred cc 1): the driver
    /// issues it again.
    NotInitiated,
    /// The device end still comes, as secondary status of its own.
    SecondaryDue,
    /// Unsolicited status taken; nothing was outstanding.
    Unsolicited,
    /// An empty TSCH excused: a request whose status is already gone.
    Excused,
    /// The operation is still outstanding, its own status still due.
    StillOutstanding,
    /// The guest's subchannel is idle; the halt's or clear's own status is
    /// still owed (`host=vfio-ccw` only).
    OwesItsOwn,
}

/// A row's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass(Then),
    /// A host FAIL with this class and `what`.
    Fail(Class, &'static str),
    /// The oracle's violation, which the driver makes the environment's
    /// ERROR with this reason (the device's own report).
    Environment(Class, &'static str, &'static str),
    /// A known upstream deviation: under `host=strict` a FAIL of this
    /// class whose `what` is the deviation's name; under `host=vfio-ccw`
    /// counted, and then as given.
    Deviation(Deviation, Class, Then),
}

/// One rule.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub states: States,
    /// All must hold.
    pub when: &'static [Cond],
    pub verdict: Verdict,
    /// The Principles of Operation rule (SA22-7832 chapter and section).
    pub pop: &'static str,
    /// Expected and actual of its violation.
    pub shows: Shows,
}

impl Row {
    const fn shows(self, shows: Shows) -> Row {
        Row { shows, ..self }
    }
}

const ALL_STATES: States = States((1 << St::ALL.len()) - 1);
const IDLE: States = sts(&[St::Idle, St::StatusPending]);
const START: States = sts(&[St::Start, St::SecondaryDue]);
const HALT: States = sts(&[St::HaltOfIdle, St::HaltOfStart, St::HaltOfDeviceEnd]);
const CLEAR: States = sts(&[St::ClearOfIdle, St::ClearOfStart, St::ClearOfDeviceEnd]);
/// A separate device end due: a start's, or a halt's.
const DEVICE_END_DUE: States = sts(&[St::SecondaryDue, St::HaltDeviceEndDue]);

const S: u32 = Fc::START.bits();
const H: u32 = Fc::HALT.bits();
const C: u32 = Fc::CLEAR.bits();
const PEND: u32 = Sc::PENDING.bits();
const ALERT: u32 = Sc::ALERT.bits();
const PRIM: u32 = Sc::PRIMARY.bits();
const SEC: u32 = Sc::SECONDARY.bits();
const INTER: u32 = Sc::INTERMEDIATE.bits();
const DEVACT: u32 = Ac::DEVICE_ACTIVE.bits();
const CLEAR_PEND: u32 = Ac::CLEAR_PENDING.bits();
const START_PEND: u32 = Ac::START_PENDING.bits();
const CE: u8 = Ds::CHANNEL_END.bits();
const DE: u8 = Ds::DEVICE_END.bits();
const UC: u8 = Ds::UNIT_CHECK.bits();
const UE: u8 = Ds::UNIT_EXCEPTION.bits();
const BUSY: u8 = Ds::BUSY.bits();
const FOREIGN: u8 = Ds::ATTENTION
    .union(Ds::STATUS_MODIFIER)
    .union(Ds::CONTROL_UNIT_END)
    .bits();
const ANY_CS: u8 = 0xff;
const ANY_DS: u8 = 0xff;
/// Deferred condition codes other than 0 and 1 (2 and 3).
const DCC_ABOVE_1: u8 = 0b1100;
const NOT_ENDS_IN: u8 = Cpa::First.bit() | Cpa::Outside.bit() | Cpa::Zero.bit();
const NOT_END: u8 = Cpa::Inside.bit();
const HALTED_OUTSIDE: u8 = Cpa::Outside.bit();

const fn row(states: States, when: &'static [Cond], verdict: Verdict, pop: &'static str) -> Row {
    Row {
        states,
        when,
        verdict,
        pop,
        shows: Shows::InCode,
    }
}

use Cond::*;
use Verdict::{Environment as Env, Fail, Pass};

const ENDING_ERRORS: [(&[Cond], Verdict, &str); 5] = [
    (
        &[DsIs(UE), ScAny(ALERT)],
        Fail(Class::BadStatus, "relay-unit-exception"),
        "ch. 16 Device Status: no device made it (QEMU's sch_gen_unit_exception)",
    ),
    (
        &[DsAny(BUSY)],
        Env(Class::BadStatus, "device-status-error", "device-busy"),
        "ch. 16 Device Status, busy: the device's own",
    ),
    (
        &[DsAny(UC)],
        Env(Class::BadStatus, "device-status-error", "device-error"),
        "ch. 16 Device Status, unit check: the device's own (sense read; command reject stays the host's)",
    ),
    (
        &[DsAny(UE)],
        Fail(Class::BadStatus, "device-status-error"),
        "ch. 16 Device Status, unit exception: no ending of NOP or SENSE ID",
    ),
    (
        &[CsAny(ANY_CS)],
        Fail(Class::BadStatus, "channel-status-error"),
        "ch. 16 Subchannel Status: a channel-side failure",
    ),
];

/// The table. Rows for one state are tried in order.
pub const TABLE: &[Row] = &[
    // ---- every state ----
    row(
        sts(&[
            St::HaltOfStart,
            St::HaltOfDeviceEnd,
            St::ClearOfStart,
            St::ClearOfDeviceEnd,
        ]),
        &[TschCc(1)],
        Pass(Then::Excused),
        "ch. 14 TEST SUBCHANNEL cc 1: the start's request outlived its status (halted, its device end taken with the halt's status, or withdrawn)",
    ),
    row(
        sts(&[
            St::Start,
            St::SecondaryDue,
            St::HaltOfIdle,
            St::HaltDeviceEndDue,
            St::ClearOfIdle,
        ]),
        &[TschCc(1)],
        Fail(Class::SpuriousInterrupt, "no-status-while-outstanding"),
        "ch. 16 I/O Interruptions: the request is made with status pending; the outstanding status is still to come",
    ),
    row(
        IDLE,
        &[TschCc(1)],
        Fail(Class::SpuriousInterrupt, "no-status-pending"),
        "ch. 16 I/O Interruptions: no request is queued",
    ),
    row(
        ALL_STATES,
        &[TschCc(3)],
        Fail(Class::CcAnomaly, "tsch-cc"),
        "ch. 14 TEST SUBCHANNEL: cc 3 not operational (cc 2 is never set)",
    ),
    row(
        ALL_STATES,
        &[ScLacks(PEND)],
        Fail(Class::BadStatus, "status-not-pending"),
        "ch. 14 TEST SUBCHANNEL cc 0: status pending is stored",
    ),
    // ---- idle ----
    row(
        IDLE,
        &[FcIs(0), ScIs(ALERT | PEND), AcAny(0xffff)],
        Fail(Class::BadStatus, "activity-with-unsolicited-status"),
        "ch. 16 Activity Control: with no function indicated nothing is active (subchannel and device active belong to a start)",
    )
    .shows(Shows::Ac(0)),
    row(
        IDLE,
        &[FcIs(0), ScIs(ALERT | PEND), DsAny(CE)],
        Fail(Class::BadStatus, "channel-end-in-unsolicited-status"),
        "ch. 16 Device Status, channel end: ends the channel portion of an operation the subchannel started, with primary status; no unsolicited status has it",
    )
    .shows(Shows::Ds),
    row(
        IDLE,
        &[FcIs(0), ScIs(ALERT | PEND)],
        Pass(Then::Unsolicited),
        "ch. 16 Status Control, alert status: unsolicited status, no function",
    ),
    row(
        IDLE,
        &[],
        Fail(Class::SpuriousInterrupt, "status-while-idle"),
        "ch. 16 Function Control: no function was started",
    )
    .shows(Shows::Word0),
    // ---- start ----
    row(
        START,
        &[FcAny(C)],
        Fail(Class::WrongFunction, "clear-status-for-start"),
        "ch. 16 Function Control: clear only after CSCH",
    )
    .shows(Shows::Fc(S)),
    row(
        START,
        &[FcAny(H)],
        Fail(Class::WrongFunction, "halt-status-for-start"),
        "ch. 16 Function Control: halt only after HSCH",
    )
    .shows(Shows::Fc(S)),
];

/// The rows after the function checks of a start still due its first
/// status, of its secondary status, of a halt and of a clear.
pub const START_TABLE: &[Row] = &[
    row(
        sts(&[St::Start]),
        &[FcIs(0), ScIs(ALERT | PEND)],
        Verdict::Deviation(
            Deviation::UnsolicitedStatusOverStart,
            Class::WrongFunction,
            Then::StillOutstanding,
        ),
        "ch. 16 Function Control: the start function stays indicated until its status is taken; unsolicited status during a start pending ends it with deferred cc 1",
    )
    .shows(Shows::Fc(S)),
    row(
        sts(&[St::Start]),
        &[FcIs(0)],
        Fail(Class::WrongFunction, "no-function-during-start"),
        "ch. 14 START SUBCHANNEL cc 0 indicates the start function",
    )
    .shows(Shows::Fc(S)),
    row(
        sts(&[St::Start]),
        &[Dcc(DCC_ABOVE_1)],
        Fail(Class::CcAnomaly, "deferred-cc"),
        "ch. 16 Deferred Condition Code: 2 unused in command mode, 3 no path",
    )
    .shows(Shows::Dcc),
    row(
        sts(&[St::Start]),
        &[ScAny(INTER)],
        Fail(Class::BadStatus, "intermediate-status"),
        "ch. 16 Intermediate Status: only PCI, suspension or initial status, never requested",
    )
    .shows(Shows::Fixed(0, INTER)),
    row(
        sts(&[St::Start]),
        &[ScIs(ALERT | PEND), Dcc(0b0001)],
        Fail(Class::BadStatus, "alert-status-without-deferred-cc"),
        "ch. 16 Deferred Condition Code 1: alert status alone ends a start only before it began",
    )
    .shows(Shows::Sc(PRIM)),
    // A start not initiated began nothing: what it may not show (issue 26).
    row(
        sts(&[St::Start]),
        &[Dcc(0b0010), DsIs(UE), ScAny(ALERT)],
        Fail(Class::BadStatus, "relay-unit-exception"),
        "ch. 16 Device Status: no device made it (QEMU's sch_gen_unit_exception)",
    )
    .shows(Shows::Ds),
    row(
        sts(&[St::Start]),
        &[Dcc(0b0010), ScAny(PRIM | SEC)],
        Fail(Class::BadStatus, "ending-with-start-not-initiated"),
        "ch. 16 Deferred Condition Code 1: the start was not initiated, so nothing ended: alert status, no primary or secondary status (Linux's ccw_device_w4sense takes status pending and alert status alone with cc 1 for a start not begun)",
    )
    .shows(Shows::Sc(ALERT | PEND)),
    row(
        sts(&[St::Start]),
        &[Dcc(0b0010), AcBeyond(START_PEND)],
        Fail(Class::BadStatus, "activity-with-start-not-initiated"),
        "ch. 16 Deferred Condition Code 1 and Activity Control: never subchannel or device active, nor suspended; at most still start pending (Linux's create_fake_irb for cc 1)",
    )
    .shows(Shows::Ac(START_PEND)),
    row(
        sts(&[St::Start]),
        &[Dcc(0b0010), CsAny(ANY_CS)],
        Fail(Class::BadStatus, "channel-status-error"),
        "ch. 16 Subchannel Status: no CCW was fetched (no program check), and a channel-side failure is one",
    )
    .shows(Shows::Cs),
    row(
        sts(&[St::Start]),
        &[Dcc(0b0010)],
        Pass(Then::NotInitiated),
        "ch. 16 Deferred Condition Code 1: status presented when the start was to be initiated; not performed",
    ),
    row(
        sts(&[St::Start]),
        &[ScLacks(PRIM)],
        Fail(Class::BadStatus, "no-primary-status"),
        "ch. 16 Secondary Status: the device end cannot precede the channel end",
    )
    .shows(Shows::Sc(PRIM)),
    row(
        sts(&[St::Start]),
        &[AcBeyond(DEVACT)],
        Fail(Class::BadStatus, "activity-with-primary-status"),
        "ch. 16 Activity Control: with primary status only device active remains",
    )
    .shows(Shows::Ac(DEVACT)),
];

/// Device and subchannel status that no clean ending of NOP or SENSE ID
/// has, halted or not.
const fn clean_rows(states: States) -> [Row; 5] {
    let e = ENDING_ERRORS;
    [
        row(states, e[0].0, e[0].1, e[0].2).shows(Shows::Ds),
        row(states, e[1].0, e[1].1, e[1].2).shows(Shows::Ds),
        row(states, e[2].0, e[2].1, e[2].2).shows(Shows::Ds),
        row(states, e[3].0, e[3].1, e[3].2).shows(Shows::Ds),
        row(states, e[4].0, e[4].1, e[4].2).shows(Shows::Cs),
    ]
}

/// Rows shared by a start's final status and its separate secondary status
/// (device and subchannel status of a clean ending).
const fn ending_rows(states: States) -> [Row; 7] {
    let c = clean_rows(states);
    [
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        row(
            states,
            &[ScAny(PRIM), DsLacks(CE)],
            Fail(Class::BadStatus, "ending-without-channel-or-device-end"),
            "ch. 16 Device Status: primary status carries channel end",
        )
        .shows(Shows::Needed),
        row(
            states,
            &[ScAny(SEC), DsLacks(DE)],
            Fail(Class::BadStatus, "ending-without-channel-or-device-end"),
            "ch. 16 Device Status: secondary status carries device end",
        )
        .shows(Shows::Needed),
    ]
}

const START_ENDING: [Row; 7] = ending_rows(sts(&[St::Start]));
/// A separate secondary status: no primary status to carry channel end.
const SECONDARY_ENDING: [Row; 6] = {
    let e = ending_rows(DEVICE_END_DUE);
    [e[0], e[1], e[2], e[3], e[4], e[6]]
};

const START_TAIL: &[Row] = &[
    row(
        sts(&[St::Start, St::SecondaryDue, St::HaltDeviceEndDue]),
        &[DsAny(FOREIGN)],
        Fail(Class::BadStatus, "unsolicited-bits-in-completion"),
        "ch. 16 Device Status: attention, status modifier, control-unit end end no NOP or SENSE ID",
    )
    .shows(Shows::Ds),
    row(
        sts(&[St::Start]),
        &[ScAny(ALERT)],
        Fail(Class::BadStatus, "alert-status-on-clean-completion"),
        "ch. 16 Status Control, alert status: unsolicited status or an abnormal ending (unit check, unit exception, busy, channel status: judged before); a clean completion has none",
    )
    .shows(Shows::Sc(PRIM | SEC | PEND)),
    row(
        sts(&[St::Start]),
        &[Cpa(NOT_ENDS_IN)],
        Fail(Class::CcwAddress, "ccw-address-outside-program"),
        "ch. 16 CCW Address: 8 past the last CCW executed",
    )
    .shows(Shows::Cpa),
    row(
        sts(&[St::Start]),
        &[Cpa(NOT_END)],
        Fail(Class::CcwAddress, "chain-ended-early"),
        "ch. 16 CCW Address: a clean ending runs the whole chain",
    )
    .shows(Shows::Cpa),
    row(
        sts(&[St::Start]),
        &[ScAny(SEC), AcAny(DEVACT)],
        Fail(Class::BadStatus, "device-active-with-secondary-status"),
        "ch. 16 Device Active: reset when the device end is accepted",
    )
    .shows(Shows::Ac(0)),
    row(
        sts(&[St::Start]),
        &[ScAny(SEC)],
        Pass(Then::Ends),
        "ch. 16 Status Control: primary and secondary status end the start",
    ),
    row(
        sts(&[St::Start]),
        &[AcAny(DEVACT)],
        Pass(Then::SecondaryDue),
        "ch. 16 Device Active: channel end accepted, device end to come",
    ),
    row(
        sts(&[St::Start]),
        &[],
        Fail(Class::BadStatus, "start-ended-without-device-end"),
        "ch. 16 Device Active and Secondary Status: primary status alone leaves the device active",
    )
    .shows(Shows::Sc(PRIM | SEC | PEND)),
    row(
        DEVICE_END_DUE,
        &[DsAny(CE)],
        Fail(Class::BadStatus, "channel-end-repeated"),
        "ch. 16 Device Status, channel end: presented once, with the primary status taken already",
    )
    .shows(Shows::Ds),
    row(
        DEVICE_END_DUE,
        &[ScAny(ALERT)],
        Fail(Class::BadStatus, "alert-status-with-device-end"),
        "ch. 16 Status Control, alert status: a clean device end has none (a unit check, busy or unit exception with it is judged before)",
    )
    .shows(Shows::Sc(SEC | PEND)),
    row(
        DEVICE_END_DUE,
        &[],
        Pass(Then::Ends),
        "ch. 16 Secondary Status: the device end ends the start (or the halt)",
    ),
];

/// The secondary status's own rules, before [`SECONDARY_ENDING`].
const SECONDARY_HEAD: &[Row] = &[
    row(
        DEVICE_END_DUE,
        &[FcAny(S | H | C)],
        Fail(Class::WrongFunction, "function-after-status-taken"),
        "ch. 14 TEST SUBCHANNEL: taking status other than intermediate status alone resets the function control, and nothing was started since (QEMU's css_do_tsch_update_subch clears it)",
    )
    .shows(Shows::Fc(0)),
    row(
        DEVICE_END_DUE,
        &[ScLacks(SEC)],
        Fail(Class::BadStatus, "expected-secondary-status"),
        "ch. 16 Secondary Status: the device end is secondary status",
    )
    .shows(Shows::Sc(SEC | PEND)),
    row(
        DEVICE_END_DUE,
        &[ScAny(PRIM | INTER)],
        Fail(Class::BadStatus, "expected-secondary-status"),
        "ch. 16 Primary Status: presented once, taken already",
    )
    .shows(Shows::Sc(SEC | PEND)),
    row(
        DEVICE_END_DUE,
        &[AcAny(0xffff)],
        Fail(Class::BadStatus, "activity-with-secondary-status"),
        "ch. 16 Activity Control: the device end resets device active",
    )
    .shows(Shows::Ac(0)),
];

const HALT_HEAD: &[Row] = &[
    row(
        HALT,
        &[FcAny(C)],
        Fail(Class::WrongFunction, "clear-status-for-halt"),
        "ch. 16 Function Control: clear only after CSCH",
    )
    .shows(Shows::Fc(H)),
    row(
        sts(&[St::HaltOfIdle]),
        &[FcAny(S)],
        Fail(Class::WrongFunction, "start-function-in-halt-of-idle"),
        "ch. 16 Function Control: no start was outstanding",
    )
    .shows(Shows::Fc(H)),
    row(
        sts(&[St::HaltOfStart]),
        &[FcIs(S)],
        Verdict::Deviation(
            Deviation::StartStatusAfterHalt,
            Class::WrongFunction,
            Then::OwesItsOwn,
        ),
        "ch. 14 HALT SUBCHANNEL: cc 0 indicates the halt function until its status is taken",
    )
    .shows(Shows::Fc(H)),
    row(
        sts(&[St::HaltOfDeviceEnd]),
        &[FcIs(0), ScAny(SEC)],
        Verdict::Deviation(
            Deviation::DeviceEndAfterHaltOrClear,
            Class::WrongFunction,
            Then::StillOutstanding,
        ),
        "ch. 14 HALT SUBCHANNEL: cc 0 indicates the halt function on any status until its own is taken",
    )
    .shows(Shows::Fc(H)),
    row(
        HALT,
        &[FcIs(0)],
        Fail(Class::WrongFunction, "no-function-during-halt"),
        "ch. 14 HALT SUBCHANNEL: cc 0 indicates the halt function",
    )
    .shows(Shows::Fc(H)),
    row(
        sts(&[St::HaltOfStart]),
        &[FcIs(H)],
        Verdict::Deviation(
            Deviation::HaltStatusWithoutStart,
            Class::WrongFunction,
            Then::Ends,
        ),
        "ch. 16 Function Control: the start function stays indicated until the status ending it is taken; a halt adds the halt function",
    )
    .shows(Shows::Fc(S | H)),
    row(
        sts(&[St::HaltOfStart]),
        &[FcAny(S), Dcc(DCC_ABOVE_1)],
        Fail(Class::CcAnomaly, "deferred-cc"),
        "ch. 16 Deferred Condition Code: 2 unused in command mode, 3 no path",
    )
    .shows(Shows::Dcc),
    row(
        HALT,
        &[ScAny(INTER)],
        Fail(Class::BadStatus, "intermediate-status"),
        "ch. 16 Intermediate Status: never requested",
    )
    .shows(Shows::Fixed(0, INTER)),
    row(
        HALT,
        &[ScIs(ALERT | PEND), Dcc(0b0001)],
        Fail(Class::BadStatus, "alert-status-for-halt"),
        "ch. 16 Status Control: alert status alone is unsolicited (or, with deferred cc 1, a start not initiated); a halt ends with status pending alone or the halted operation's status",
    )
    .shows(Shows::Sc(PEND)),
    row(
        sts(&[St::HaltOfIdle]),
        &[ScAny(ALERT)],
        Fail(Class::BadStatus, "alert-status-for-halt"),
        "ch. 15 Halt Function: nothing to halt; status pending alone",
    )
    .shows(Shows::Sc(PEND)),
    row(
        sts(&[St::HaltOfIdle]),
        &[ScAny(PRIM)],
        Fail(Class::BadStatus, "status-with-halt-of-idle"),
        "ch. 15 Halt Function: no operation to end, so no primary status",
    )
    .shows(Shows::Sc(PEND)),
    row(
        sts(&[St::HaltOfIdle]),
        &[AcAny(DEVACT)],
        Fail(Class::BadStatus, "status-with-halt-of-idle"),
        "ch. 16 Device Active: only a start's device portion leaves it",
    )
    .shows(Shows::Ac(0)),
    row(
        HALT,
        &[AcBeyond(DEVACT)],
        Fail(Class::BadStatus, "activity-with-halt-status"),
        "ch. 15 Halt Function: halt, start and subchannel activity are over",
    )
    .shows(Shows::Ac(DEVACT)),
];

const HALT_ENDING: [Row; 5] = clean_rows(HALT);

const HALT_TAIL: &[Row] = &[
    row(
        sts(&[St::HaltOfIdle]),
        &[DsAny(!DE & !BUSY & !UC)],
        Fail(Class::BadStatus, "status-with-halt-of-idle"),
        "ch. 15 Halt Function: no operation to end; at most the device end of the halt signal",
    )
    .shows(Shows::Ds),
    // A halt's ending, of a running start or not: the rules of a start's
    // ending that hold for it (issue 26, area 3). Channel end with primary
    // status is not required of a halt: QEMU's own sch_handle_halt_func
    // stores device end alone for a halted active start, and the halt
    // signal may end the operation before the device's channel end; the
    // reading that cannot fail a correct host.
    row(
        HALT,
        &[ScAny(SEC), AcAny(DEVACT)],
        Fail(Class::BadStatus, "device-active-with-secondary-status"),
        "ch. 16 Device Active: reset when the device end is accepted (secondary status)",
    )
    .shows(Shows::Ac(0)),
    row(
        HALT,
        &[ScAny(PRIM | SEC), DsAny(FOREIGN)],
        Fail(Class::BadStatus, "unsolicited-bits-in-completion"),
        "ch. 16 Device Status: attention, status modifier, control-unit end end no halted NOP or SENSE ID",
    )
    .shows(Shows::Ds),
    row(
        HALT,
        &[ScAny(SEC), DsLacks(DE)],
        Fail(Class::BadStatus, "secondary-status-without-device-end"),
        "ch. 16 Secondary Status: the device end (QEMU's sch_handle_halt_func stores it whenever the halt ends an active operation)",
    )
    .shows(Shows::Ds),
    row(
        sts(&[St::HaltOfStart]),
        &[FcAny(S), ScAny(PRIM), Dcc(0b0001), Cpa(HALTED_OUTSIDE)],
        Fail(Class::CcwAddress, "halted-ccw-address-outside-program"),
        "ch. 16 CCW Address: where the halted program stopped, inside it",
    )
    .shows(Shows::Cpa),
    row(
        HALT,
        &[AcAny(DEVACT), ScLacks(SEC), DsLacks(DE)],
        Pass(Then::SecondaryDue),
        "ch. 16 Device Active: the device end to come (one the status already carries is not awaited again)",
    ),
    row(
        HALT,
        &[],
        Pass(Then::Ends),
        "ch. 15 Halt Function: its status ends it",
    ),
];

/// The status a clear did not withdraw, as the earlier status it was: what
/// no earlier status of the guest's start (or unsolicited status) has.
/// Function and activity control are the clear's (QEMU's `css_do_csch`
/// overwrote them) and status control the earlier status's, so neither
/// says which status it was: the rows keep to what every one of them
/// shares (attention, status modifier and a missing channel or device end
/// are not judged, since an unsolicited status or a separate device end may
/// be what was pending).
const PENDING_UNDER_CLEAR: &[Row] = {
    const ST: States = sts(&[St::PendingUnderClear]);
    let c = clean_rows(ST);
    &[
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        row(
            ST,
            &[ScAny(INTER)],
            Fail(Class::BadStatus, "intermediate-status"),
            "ch. 16 Intermediate Status: never requested",
        )
        .shows(Shows::Fixed(0, INTER)),
        row(
            ST,
            &[Dcc(DCC_ABOVE_1)],
            Fail(Class::CcAnomaly, "deferred-cc"),
            "ch. 16 Deferred Condition Code: 2 unused in command mode, 3 no path",
        )
        .shows(Shows::Dcc),
        row(
            ST,
            &[ScAny(PRIM), Dcc(0b0001), Cpa(NOT_ENDS_IN)],
            Fail(Class::CcwAddress, "ccw-address-outside-program"),
            "ch. 16 CCW Address: a started program's primary status points just past a CCW of it (a clear of an idle subchannel has no program to hold it to: not judged)",
        )
        .shows(Shows::Cpa),
        row(
            ST,
            &[],
            Pass(Then::Ends),
            "ch. 16: what an earlier status of the start (or unsolicited status) may show",
        ),
    ]
};

const CLEAR_TABLE: &[Row] = &[
    row(
        sts(&[St::ClearOfDeviceEnd]),
        &[FcIs(0), ScAny(SEC)],
        Verdict::Deviation(
            Deviation::DeviceEndAfterHaltOrClear,
            Class::WrongFunction,
            Then::StillOutstanding,
        ),
        "ch. 14 CLEAR SUBCHANNEL: cc 0 indicates the clear function on any status until its own is taken",
    )
    .shows(Shows::Fc(C)),
    row(
        sts(&[St::ClearOfStart]),
        &[FcIs(S)],
        Verdict::Deviation(
            Deviation::StartStatusAfterClear,
            Class::WrongFunction,
            Then::OwesItsOwn,
        ),
        "ch. 14 CLEAR SUBCHANNEL: the clear function alone is indicated; withdrawn status is never presented",
    )
    .shows(Shows::Fc(C)),
    row(
        CLEAR,
        &[FcAny(S), FcIsNot(C)],
        Fail(Class::WrongFunction, "start-status-after-clear"),
        "ch. 14 CLEAR SUBCHANNEL: the clear function alone",
    )
    .shows(Shows::Fc(C)),
    row(
        CLEAR,
        &[FcAny(H), FcIsNot(C)],
        Fail(Class::WrongFunction, "halt-status-after-clear"),
        "ch. 14 CLEAR SUBCHANNEL: the clear function alone",
    )
    .shows(Shows::Fc(C)),
    row(
        CLEAR,
        &[FcIsNot(C)],
        Fail(Class::WrongFunction, "no-function-during-clear"),
        "ch. 14 CLEAR SUBCHANNEL: the clear function alone",
    )
    .shows(Shows::Fc(C)),
    row(
        CLEAR,
        &[AcIs(CLEAR_PEND), ScAny(PRIM | SEC | ALERT)],
        Verdict::Deviation(
            Deviation::ClearPresentsPendingStatus,
            Class::BadStatus,
            Then::OwesItsOwn,
        ),
        "ch. 15 Clear Function: pending status is withdrawn, activity reset",
    )
    .shows(Shows::Ac(0)),
    row(
        CLEAR,
        &[AcAny(0xffff)],
        Fail(Class::BadStatus, "activity-with-clear-status"),
        "ch. 15 Clear Function: activity reset entirely",
    )
    .shows(Shows::Ac(0)),
    row(
        CLEAR,
        &[DsAny(ANY_DS)],
        Fail(Class::BadStatus, "status-with-clear"),
        "ch. 15 Clear Function: no device status",
    )
    .shows(Shows::DsCs),
    row(
        CLEAR,
        &[CsAny(ANY_CS)],
        Fail(Class::BadStatus, "status-with-clear"),
        "ch. 15 Clear Function: no subchannel status",
    )
    .shows(Shows::DsCs),
    row(
        CLEAR,
        &[],
        Pass(Then::Ends),
        "ch. 15 Clear Function: its status ends it (status pending alone by the architecture; status control is not checked, because QEMU's own sch_handle_clear_func adds status pending without resetting the withdrawn status's primary and secondary bits, on every version)",
    ),
];

/// Every part of the table, in the order rows are tried.
const PARTS: [&[Row]; 11] = [
    TABLE,
    START_TABLE,
    SECONDARY_HEAD,
    &START_ENDING,
    &SECONDARY_ENDING,
    START_TAIL,
    HALT_HEAD,
    &HALT_ENDING,
    HALT_TAIL,
    CLEAR_TABLE,
    PENDING_UNDER_CLEAR,
];

const N_ROWS: usize = {
    let mut n = 0;
    let mut p = 0;
    while p < PARTS.len() {
        n += PARTS[p].len();
        p += 1;
    }
    n
};

/// Every row, in the order rows are tried.
pub const ROWS: [Row; N_ROWS] = {
    let mut rows = [TABLE[0]; N_ROWS];
    let (mut n, mut p) = (0, 0);
    while p < PARTS.len() {
        let mut i = 0;
        while i < PARTS[p].len() {
            rows[n] = PARTS[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    rows
};

/// A set of rows, bit n for `ROWS[n]`.
type RowSet = u128;
const _: () = assert!(N_ROWS <= RowSet::BITS as usize);

/// Where field `f`'s values start in the compiled table.
const fn at(f: Field) -> usize {
    let mut n = 0;
    let mut i = 0;
    while Field::ALL[i] as u8 != f as u8 {
        n += Field::ALL[i].values();
        i += 1;
    }
    n
}

/// Then the states.
const STATES_AT: usize = at(Field::Cpa) + Field::Cpa.values();
const ENTRIES: usize = STATES_AT + St::ALL.len();

/// For each field and each of its values, the rows whose conditions on
/// that field the value meets (a row without one all do); then for each
/// state, the rows that apply to it. Evaluated at build time only.
const SETS: [RowSet; ENTRIES] = {
    let all: RowSet = RowSet::MAX >> (RowSet::BITS as usize - N_ROWS);
    let mut t = [all; ENTRIES];
    let mut r = 0;
    while r < N_ROWS {
        let bit: RowSet = 1 << r;
        let mut s = 0;
        while s < St::ALL.len() {
            if !ROWS[r].states.contains(St::ALL[s]) {
                t[STATES_AT + s] &= !bit;
            }
            s += 1;
        }
        let mut c = 0;
        while c < ROWS[r].when.len() {
            let cond = ROWS[r].when[c];
            let f = cond.field();
            let mut i = 0;
            while i < f.values() {
                if !cond.holds_for(f.value(i)) {
                    t[at(f) + i] &= !bit;
                }
                i += 1;
            }
            c += 1;
        }
        r += 1;
    }
    t
};

/// Whether `SETS[i]` is the first of its set (none of `SETS[..i]` equal).
const fn first_of_its_set(i: usize) -> bool {
    let mut j = 0;
    while j < i {
        if SETS[j] == SETS[i] {
            return false;
        }
        j += 1;
    }
    true
}

const DISTINCT: usize = {
    let (mut n, mut i) = (0, 0);
    while i < ENTRIES {
        n += first_of_its_set(i) as usize;
        i += 1;
    }
    n
};
const _: () = assert!(DISTINCT <= u8::MAX as usize + 1);
/// The distinct sets' room: a power of two, so that an entry's number
/// masked is in range without a check.
const CLASSES: usize = DISTINCT.next_power_of_two();

/// The table compiled from [`ROWS`] at build time: [`SETS`] with each
/// distinct set stored once and an entry's number of it. A word's
/// candidate rows are the intersection of its state's set and its fields';
/// the first of them decides, as the scan of the rows in order would.
struct Compiled {
    sets: [RowSet; CLASSES],
    entry: [u8; ENTRIES],
}

static COMPILED: Compiled = {
    let mut c = Compiled {
        sets: [0; CLASSES],
        entry: [0; ENTRIES],
    };
    let (mut n, mut i) = (0, 0);
    while i < ENTRIES {
        if first_of_its_set(i) {
            c.sets[n] = SETS[i];
            c.entry[i] = n as u8;
            n += 1;
        } else {
            let mut j = 0;
            while SETS[j] != SETS[i] {
                j += 1;
            }
            c.entry[i] = c.entry[j];
        }
        i += 1;
    }
    c
};

/// What the oracle acts on when a row decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ruling {
    /// The row's number in [`rows`].
    pub row: usize,
    pub verdict: Verdict,
    pub shows: Shows,
}

/// The rows' rulings: all of a row the kernel keeps (not its conditions,
/// already compiled, nor its PoP text, which is for the docs).
static RULINGS: [Ruling; N_ROWS] = {
    let mut out = [Ruling {
        row: 0,
        verdict: ROWS[0].verdict,
        shows: ROWS[0].shows,
    }; N_ROWS];
    let mut r = 0;
    while r < N_ROWS {
        out[r] = Ruling {
            row: r,
            verdict: ROWS[r].verdict,
            shows: ROWS[r].shows,
        };
        r += 1;
    }
    out
};

/// Every row, in the order rows are tried.
pub fn rows() -> impl Iterator<Item = &'static Row> {
    ROWS.iter()
}

/// The first row for `st` whose conditions `w` meets, through the compiled
/// table: a set per field ANDed, no scan, no allocation.
pub fn decide(st: St, w: &Word) -> Option<&'static Ruling> {
    #[inline(always)]
    fn set(f: Field, w: &Word) -> RowSet {
        // Both indices in range by construction (`index` is reduced modulo
        // the field's values); the compiler sees the constants.
        let c = &COMPILED;
        c.sets[usize::from(c.entry[at(f) + f.index(w)]) % CLASSES]
    }
    let c = &COMPILED;
    let m = c.sets[usize::from(c.entry[STATES_AT + st as usize]) % CLASSES]
        & set(Field::TschCc, w)
        & set(Field::Fc, w)
        & set(Field::Ac, w)
        & set(Field::Sc, w)
        & set(Field::Ds, w)
        & set(Field::Cs, w)
        & set(Field::Dcc, w)
        & set(Field::Cpa, w);
    RULINGS.get(m.trailing_zeros() as usize)
}

/// A deviation excuses the fields it is about and no more: where its word
/// is judged again, once those fields are set aside, and the word as judged
/// there. `None` for the deviations that are no row of the table.
///
/// - `start-status-after-clear`, `start-status-after-halt`: the function
///   control (the start function alone, copied whole by the relay) is the
///   deviation; the rest is the start's ending, judged as a start's
///   ([`St::Start`]).
/// - `halt-status-without-start`: the missing start function; the host's
///   halt found its subchannel idle or its device end due, so the rest is
///   judged as a halt of a start whose device end is due
///   ([`St::HaltOfDeviceEnd`], the widest of a halt's states that shows the
///   halt function alone).
/// - `unsolicited-status-over-start`: the missing start function; the rest
///   is unsolicited status, judged as while idle ([`St::Idle`]).
/// - `device-end-after-halt-or-clear`: the missing halt or clear function;
///   the rest is a start's separate device end ([`St::SecondaryDue`]).
/// - `clear-presents-pending-status`: the clear's function and activity
///   control over an earlier status; the rest is that status's: alert
///   status alone is unsolicited status, judged as while idle, anything
///   else in [`St::PendingUnderClear`], its CCW address held to the
///   withdrawn start's program (none after a clear of an idle subchannel:
///   set aside).
pub const fn without(d: Deviation, st: St, w: &Word) -> Option<(St, Word)> {
    let mut w = *w;
    let st = match d {
        Deviation::StartStatusAfterClear | Deviation::StartStatusAfterHalt => St::Start,
        Deviation::HaltStatusWithoutStart => St::HaltOfDeviceEnd,
        Deviation::UnsolicitedStatusOverStart => St::Idle,
        Deviation::DeviceEndAfterHaltOrClear => St::SecondaryDue,
        // Alert status alone: unsolicited status the clear did not
        // withdraw, judged as while idle (where the device's own unit
        // check is no error of the host's either).
        Deviation::ClearPresentsPendingStatus if w.sc & (PRIM | SEC) == 0 => {
            w.fc = 0;
            w.ac = 0;
            St::Idle
        }
        Deviation::ClearPresentsPendingStatus => {
            if !matches!(st, St::ClearOfStart | St::ClearOfDeviceEnd) {
                w.cpa = Cpa::End;
            }
            St::PendingUnderClear
        }
        _ => return None,
    };
    Some((st, w))
}

/// What follows a deviation whose word, judged again ([`without`]), passed
/// with `again`: the deviation's own `then`, except that a halt the
/// deviation ends may leave its device end to come, as the word says.
pub const fn after(then: Then, again: Then) -> Then {
    match (then, again) {
        (Then::Ends, Then::SecondaryDue) => Then::SecondaryDue,
        _ => then,
    }
}

/// The first row for `st` whose conditions `w` meets, and its number in
/// [`rows`]: the rows scanned in order, as the docs read them.
pub fn judge(st: St, w: &Word) -> Option<(usize, &'static Row)> {
    rows()
        .enumerate()
        .find(|(_, r)| r.states.contains(st) && r.when.iter().all(|c| c.holds(w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::Host;
    use crate::css::{Cc, Scsw, SubchannelStatus as Cs};
    use crate::oracle::test_util::*;
    use crate::oracle::{Completed, Oracle, Outstanding, Violation};
    use std::string::String;
    use std::vec::Vec;
    use std::{format, vec};

    const FCS: [u32; 6] = [0, S, H, C, S | H, S | C];
    const ACS: [u32; 8] = [
        0,
        DEVACT,
        Ac::START_PENDING.bits(),
        CLEAR_PEND,
        Ac::SUBCHANNEL_ACTIVE.bits(),
        Ac::RESUME_PENDING.bits(),
        Ac::HALT_PENDING.bits(),
        Ac::SUSPENDED.bits(),
    ];
    const SCS: [u32; 10] = [
        PEND,
        ALERT | SEC | PEND,
        ALERT | PEND,
        PRIM | PEND,
        PRIM | SEC | PEND,
        SEC | PEND,
        ALERT | PRIM | SEC | PEND,
        INTER | PEND,
        PRIM | SEC,
        ALERT | PRIM | INTER | PEND,
    ];
    const DSS: [u8; 12] = [
        0,
        CE,
        DE,
        CE | DE,
        CE | DE | UC,
        Ds::ATTENTION.bits(),
        UE,
        BUSY | Ds::STATUS_MODIFIER.bits(),
        CE | DE | Ds::STATUS_MODIFIER.bits(),
        CE | DE | Ds::CONTROL_UNIT_END.bits(),
        DE | Ds::ATTENTION.bits(),
        UC,
    ];
    const CSS: [u8; 2] = [0, Cs::PROGRAM_CHECK.bits()];
    const TSCH_CCS: [u8; 3] = [0, 1, 3];

    /// Every class of status word: each field's values, crossed.
    fn words() -> Vec<Word> {
        let mut out = Vec::new();
        for tsch_cc in TSCH_CCS {
            for fc in FCS {
                for ac in ACS {
                    for sc in SCS {
                        for ds in DSS {
                            for cs in CSS {
                                for dcc in 0..4 {
                                    for cpa in Cpa::ALL {
                                        out.push(Word {
                                            tsch_cc,
                                            fc,
                                            ac,
                                            sc,
                                            ds,
                                            cs,
                                            dcc,
                                            cpa,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn scsw(w: &Word) -> Scsw {
        let cpa = match w.cpa {
            Cpa::End => PROG.end(),
            Cpa::Inside => PROG.first_ccw + 8,
            Cpa::First => PROG.first_ccw,
            Cpa::Outside => 0x9000,
            Cpa::Zero => 0,
        };
        Scsw::from_words([
            (u32::from(w.dcc) << 24) | w.fc | w.ac | w.sc,
            cpa,
            (u32::from(w.ds) << 24) | (u32::from(w.cs) << 16),
        ])
    }

    /// The oracle in `st`, and the interruption parameter status then
    /// carries; `None` for a state only a deviation's word is judged in
    /// ([`without`]).
    fn in_state(st: St, host: Host) -> Option<(Oracle, u32)> {
        match st {
            St::PendingUnderClear => None,
            st => Some(reach(st, host)),
        }
    }

    fn reach(st: St, host: Host) -> (Oracle, u32) {
        let o = oracle().with_host(host);
        let start = |mut o: Oracle| {
            o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
            o
        };
        match st {
            St::Idle => (o, EN),
            St::StatusPending => {
                let mut o = o;
                o.ssch(P1, PROG, Cc::One, 1000).unwrap();
                (o, EN)
            }
            St::Start => (start(o), P1),
            St::SecondaryDue => {
                let mut o = start(o);
                assert_eq!(
                    o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1100)),
                    Ok(None)
                );
                (o, P1)
            }
            St::HaltOfIdle => {
                let mut o = o;
                o.hsch(Cc::Zero, 1000).unwrap();
                (o, EN)
            }
            St::HaltOfStart => {
                let mut o = start(o);
                o.hsch(Cc::Zero, 1100).unwrap();
                (o, P1)
            }
            St::HaltDeviceEndDue => {
                let mut o = start(o);
                o.hsch(Cc::Zero, 1100).unwrap();
                let words = [0x0000_6045, 0x2008, 0x0800_0000];
                assert_eq!(o.interruption(&irq(P1, words, 1150)), Ok(None));
                (o, P1)
            }
            St::HaltOfDeviceEnd => {
                let (mut o, p) = reach(St::SecondaryDue, host);
                o.hsch(Cc::Zero, 1200).unwrap();
                (o, p)
            }
            St::ClearOfIdle => {
                let mut o = o;
                o.csch(Cc::Zero, 1000).unwrap();
                (o, EN)
            }
            St::ClearOfStart => {
                let mut o = start(o);
                o.csch(Cc::Zero, 1100).unwrap();
                (o, P1)
            }
            St::ClearOfDeviceEnd => {
                let (mut o, p) = reach(St::SecondaryDue, host);
                o.csch(Cc::Zero, 1200).unwrap();
                (o, p)
            }
            St::PendingUnderClear => unreachable!("no state of the guest's"),
        }
    }

    type Outcome = Result<Then, (Class, &'static str)>;

    fn oracle_says(
        o: &mut Oracle,
        got: Result<Option<Completed>, Violation>,
        tsch_cc: u8,
    ) -> Outcome {
        match got {
            Err(v) => Err((v.class, v.what)),
            Ok(Some(c)) if c.not_initiated => Ok(Then::NotInitiated),
            Ok(Some(_)) if o.owed().is_some() => Ok(Then::OwesItsOwn),
            Ok(Some(_)) => Ok(Then::Ends),
            Ok(None) if tsch_cc == 1 => Ok(Then::Excused),
            Ok(None) if o.outstanding() == Outstanding::Idle => Ok(Then::Unsolicited),
            Ok(None) => match o.expired(u64::MAX / 2).map_err(|v| v.what) {
                Err("secondary-status-never-came") => Ok(Then::SecondaryDue),
                _ => Ok(Then::StillOutstanding),
            },
        }
    }

    /// The table's verdict on `w` in `st`, and the rows that decided it (a
    /// deviation's word judged again without what it excuses: two).
    fn table_says(st: St, w: &Word, host: Host) -> (Outcome, Vec<usize>) {
        let (n, row) = judge(st, w).unwrap_or_else(|| panic!("no row for {st:?} {w:?}"));
        let plain = |v: Verdict| match v {
            Verdict::Pass(t) => Ok(t),
            Verdict::Fail(c, w) | Verdict::Environment(c, w, _) => Err((c, w)),
            Verdict::Deviation(..) => panic!("a deviation judged again meets another"),
        };
        let Verdict::Deviation(d, c, t) = row.verdict else {
            return (plain(row.verdict), vec![n]);
        };
        let (again, rows) = match without(d, st, w) {
            Some((st2, w2)) => {
                let (n2, row2) = judge(st2, &w2).unwrap();
                (plain(row2.verdict), vec![n, n2])
            }
            None => (Ok(t), vec![n]),
        };
        let outcome = match (again, host) {
            (Err(e), _) => Err(e),
            (Ok(_), Host::Strict) => Err((c, d.name())),
            (Ok(again), Host::VfioCcw) => Ok(after(t, again)),
        };
        (outcome, rows)
    }

    #[test]
    fn the_oracle_judges_every_state_and_status_word_as_the_table_says() {
        let words = words();
        let mut used = vec![0u32; rows().count()];
        for host in [Host::Strict, Host::VfioCcw] {
            for st in St::ALL {
                let Some((base, intparm)) = in_state(st, host) else {
                    continue;
                };
                for w in &words {
                    let (says, decided) = table_says(st, w, host);
                    for n in decided {
                        used[n] += 1;
                    }
                    let row = judge(st, w).unwrap().1;
                    let mut o = base;
                    let mut i = irq(intparm, scsw(w).words(), 2000);
                    i.tsch_cc = match w.tsch_cc {
                        0 => Cc::Zero,
                        1 => Cc::One,
                        _ => Cc::Three,
                    };
                    let got = o.interruption(&i);
                    let said = oracle_says(&mut o, got, w.tsch_cc);
                    assert_eq!(said, says, "{host:?} {st:?} {w:?}: {}", row.pop);
                    if let (Verdict::Deviation(d, ..), Host::VfioCcw, Ok(_)) =
                        (row.verdict, host, says)
                    {
                        assert_eq!(o.deviations().get(d), 1, "{st:?} {w:?}");
                    }
                }
            }
        }
        // No row the generator cannot reach: a rule that cannot decide is
        // a defect.
        for (row, u) in rows().zip(&used) {
            assert!(*u > 0, "a row never decides: {row:?}");
        }
    }

    /// A deviation excuses the fields it is about, no more: every word a
    /// deviation row takes that the state it is judged again in fails
    /// fails (in both profiles), and every deviation row has such words.
    /// Judged again, no word meets another deviation.
    #[test]
    fn a_deviation_excuses_only_what_it_is_about() {
        let words = words();
        for row in rows() {
            let Verdict::Deviation(d, ..) = row.verdict else {
                continue;
            };
            let mut failing = 0;
            for st in St::ALL.into_iter().filter(|&st| row.states.contains(st)) {
                for w in &words {
                    if !row.when.iter().all(|c| c.holds(w))
                        || judge(st, w).map(|(_, r)| r.pop) != Some(row.pop)
                    {
                        continue;
                    }
                    let (st2, w2) = without(d, st, w).expect("a deviation row judges again");
                    let (_, again) = judge(st2, &w2).unwrap();
                    assert!(
                        !matches!(again.verdict, Verdict::Deviation(..)),
                        "{d:?} {st:?} {w:?}: judged again, another deviation"
                    );
                    if let Verdict::Fail(c, what) | Verdict::Environment(c, what, _) = again.verdict
                    {
                        failing += 1;
                        for host in [Host::Strict, Host::VfioCcw] {
                            assert_eq!(
                                table_says(st, w, host).0,
                                Err((c, what)),
                                "{d:?} {st:?} {w:?}"
                            );
                        }
                    }
                }
            }
            assert!(failing > 0, "{d:?} excuses every word it takes");
        }
    }

    #[test]
    fn every_state_has_a_last_row_that_always_holds() {
        for st in St::ALL {
            let last = rows().filter(|r| r.states.contains(st)).last().unwrap();
            assert!(last.when.is_empty(), "{st:?}: {last:?}");
        }
    }

    #[test]
    fn the_compiled_table_decides_as_the_scan_of_the_rows() {
        let words = words();
        for st in St::ALL {
            for w in &words {
                let a = judge(st, w).map(|(n, _)| n);
                assert_eq!(decide(st, w).map(|r| r.row), a, "{st:?} {w:?}");
            }
        }
        // Every value of every field, beyond the generator's classes, over
        // a spread of the other fields: each field's values from the SCSW's
        // own definitions (`css`), not from the compiled table's index.
        let subsets = |mask: u32| {
            let mut v = vec![0];
            let mut sub = mask;
            while sub != 0 {
                v.push(sub);
                sub = (sub - 1) & mask;
            }
            v
        };
        for st in St::ALL {
            for base in words.iter().step_by(211) {
                for f in Field::ALL {
                    let values = match f {
                        Field::TschCc | Field::Dcc => (0..4).collect(),
                        Field::Fc => subsets(Fc::all().bits()),
                        Field::Ac => subsets(Ac::all().bits()),
                        Field::Sc => subsets(Sc::all().bits()),
                        Field::Ds | Field::Cs => (0..256).collect(),
                        Field::Cpa => (0..Cpa::ALL.len() as u32).collect(),
                    };
                    assert_eq!(values.len(), f.values(), "{f:?}");
                    for v in values {
                        let mut w = *base;
                        match f {
                            Field::TschCc => w.tsch_cc = v as u8,
                            Field::Fc => w.fc = v,
                            Field::Ac => w.ac = v,
                            Field::Sc => w.sc = v,
                            Field::Ds => w.ds = v as u8,
                            Field::Cs => w.cs = v as u8,
                            Field::Dcc => w.dcc = v as u8,
                            Field::Cpa => w.cpa = Cpa::ALL[v as usize],
                        }
                        let a = judge(st, &w).map(|(n, _)| n);
                        assert_eq!(decide(st, &w).map(|r| r.row), a, "{st:?} {w:?}");
                    }
                }
            }
        }
    }

    fn names<const N: usize>(bits: u32, all: [(&str, u32); N]) -> String {
        let v: Vec<&str> = all
            .iter()
            .filter(|(_, b)| bits & b != 0)
            .map(|(n, _)| *n)
            .collect();
        if v.is_empty() {
            String::from("none")
        } else {
            v.join("+")
        }
    }

    fn fc(b: u32) -> String {
        names(b, [("start", S), ("halt", H), ("clear", C)])
    }
    fn ac(b: u32) -> String {
        if b == 0xffff {
            return String::from("any");
        }
        names(
            b,
            [
                ("resume-pending", Ac::RESUME_PENDING.bits()),
                ("start-pending", Ac::START_PENDING.bits()),
                ("halt-pending", Ac::HALT_PENDING.bits()),
                ("clear-pending", CLEAR_PEND),
                ("subchannel-active", Ac::SUBCHANNEL_ACTIVE.bits()),
                ("device-active", DEVACT),
                ("suspended", Ac::SUSPENDED.bits()),
            ],
        )
    }
    fn sc(b: u32) -> String {
        names(
            b,
            [
                ("alert", ALERT),
                ("intermediate", INTER),
                ("primary", PRIM),
                ("secondary", SEC),
                ("pending", PEND),
            ],
        )
    }
    fn ds(b: u8) -> String {
        if b == 0xff {
            return String::from("any");
        }
        names(
            u32::from(b),
            [
                ("attention", 0x80),
                ("status-modifier", 0x40),
                ("control-unit-end", 0x20),
                ("busy", 0x10),
                ("channel-end", 0x08),
                ("device-end", 0x04),
                ("unit-check", 0x02),
                ("unit-exception", 0x01),
            ],
        )
    }

    fn cond(c: &Cond) -> String {
        match *c {
            TschCc(n) => format!("TSCH cc {n}"),
            FcAny(m) => format!("fc has {}", fc(m)),
            FcIs(v) => format!("fc = {}", fc(v)),
            FcIsNot(v) => format!("fc ≠ {}", fc(v)),
            AcBeyond(m) => format!("ac beyond {}", ac(m)),
            AcAny(m) => format!("ac has {}", ac(m)),
            AcIs(v) => format!("ac = {}", ac(v)),
            ScAny(m) => format!("sc has {}", sc(m)),
            ScLacks(m) => format!("sc lacks {}", sc(m)),
            ScIs(v) => format!("sc = {}", sc(v)),
            DsAny(m) => format!("ds has {}", ds(m)),
            DsLacks(m) => format!("ds lacks {}", ds(m)),
            DsIs(v) => format!("ds = {}", ds(v)),
            CsAny(_) => String::from("subchannel status"),
            Dcc(m) => {
                let v: Vec<String> = (0..4)
                    .filter(|n| m & (1 << n) != 0)
                    .map(|n| format!("{n}"))
                    .collect();
                format!("deferred cc {}", v.join(" or "))
            }
            Cpa(m) => {
                let v: Vec<&str> = Cpa::ALL
                    .iter()
                    .filter(|c| m & c.bit() != 0)
                    .map(|c| c.name())
                    .collect();
                format!("CCW address {}", v.join(" or "))
            }
        }
    }

    fn verdict(v: &Verdict) -> String {
        let then = |t: &Then| match t {
            Then::Ends => "PASS, ends",
            Then::NotInitiated => "PASS, not initiated (started again)",
            Then::SecondaryDue => "PASS, device end to come",
            Then::Unsolicited => "PASS, unsolicited",
            Then::Excused => "PASS, excused",
            Then::StillOutstanding => "PASS, still outstanding",
            Then::OwesItsOwn => "PASS, its own status owed",
        };
        match v {
            Verdict::Pass(t) => String::from(then(t)),
            Verdict::Fail(c, w) => format!("FAIL `{}` `{w}`", c.name()),
            Verdict::Environment(c, w, e) => format!("ERROR `{e}` (oracle: `{}` `{w}`)", c.name()),
            Verdict::Deviation(d, c, t) => {
                let w = |sc| Word {
                    tsch_cc: 0,
                    fc: 0,
                    ac: 0,
                    sc,
                    ds: 0,
                    cs: 0,
                    dcc: 0,
                    cpa: Cpa::End,
                };
                let again =
                    |sc| without(*d, St::ClearOfStart, &w(sc)).map_or("-", |(st, _)| st.name());
                let (ending, alert) = (again(PRIM | SEC | PEND), again(ALERT | PEND));
                let again = if ending == alert {
                    format!("\"{ending}\"")
                } else {
                    format!("\"{ending}\" (alert status alone: \"{alert}\")")
                };
                format!(
                    "the rest judged as in {again} (a FAIL there fails in both profiles); then strict: FAIL `{}` `{}`; vfio-ccw: counted, {}",
                    c.name(),
                    d.name(),
                    then(t)
                )
            }
        }
    }

    fn render() -> String {
        let mut out = String::from(
            "# The oracle's table\n\n\
             Generated from `gate/src/oracle/table.rs` by its tests \
             (`CCWGATE_BLESS=1 cargo test -p gate table` rewrites it; a test fails \
             while it is out of step). For each guest-visible operation state: \
             the rows the oracle tries, in order, on a presented status word; \
             the first whose conditions all hold decides, and the oracle acts \
             on its verdict (the TSCH cc and status-pending rows it checks \
             first, in code, with the interruption requests queued). The property test \
             drives the oracle through every state with every class of status \
             word (function, activity and status control, device and subchannel \
             status, deferred cc, CCW address relative to the program, TSCH cc) \
             and requires this verdict in both profiles. A deviation excuses \
             the fields it is about and no more: the rest of its word is judged \
             again in the state its row names, and a FAIL there is a FAIL in \
             both profiles. Not in the table: the \
             interruption parameter (under TCG also an interruption left queued \
             with an earlier parameter, README \"Host profiles\"), repeated \
             status and which status is owed, which \
             depend on history (an owed halt's or clear's status, once it \
             comes, is judged in full in \"halt pending on an idle \
             subchannel\", \"halt pending while a start's device end is due\" \
             or \"clear pending on an idle subchannel\"). PoP is SA22-7832.\n",
        );
        for st in St::ALL {
            out += &format!(
                "\n## {}\n\n| when | verdict | rule |\n|---|---|---|\n",
                st.name()
            );
            for r in rows().filter(|r| r.states.contains(st)) {
                let when: Vec<String> = r.when.iter().map(cond).collect();
                let when = if when.is_empty() {
                    String::from("otherwise")
                } else {
                    when.join(", ")
                };
                out += &format!("| {when} | {} | PoP {} |\n", verdict(&r.verdict), r.pop);
            }
        }
        out
    }

    #[test]
    fn the_table_renders_into_the_docs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/oracle-table.md");
        let now = render();
        if std::env::var_os("CCWGATE_BLESS").is_some() {
            std::fs::write(path, &now).unwrap();
        }
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            doc == now,
            "docs/oracle-table.md is out of step: CCWGATE_BLESS=1 cargo test -p gate table"
        );
    }
}
