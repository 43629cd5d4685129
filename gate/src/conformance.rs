//! The instruction-level checks of `scenario=conformance`: how the host
//! handles each channel instruction's operands and error cases.
//!
//! The table ([`CHECKS`]) is portable: each check has a stable name, the
//! Principles of Operation rule it rests on (SA22-7832, chapter 14 "I/O
//! Instructions" and chapter 17 "I/O Support Functions" unless said
//! otherwise; CHANNEL SUBSYSTEM CALL is not in the public PoP, and its two
//! checks follow how Linux and QEMU use it) and what the architecture says must come of it. The kernel
//! executes the checks a [`Group`] at a time (one function per group, as
//! kvm-unit-tests' `s390x/css.c` has one per test) and hands back an
//! [`Observed`] for each; [`judge`] decides. A group sets up everything its
//! checks read and leaves nothing another group reads, so the groups may run
//! in any [`Order`] (`conformance_order=`) with the same results. The first failed check becomes the `FAIL conformance`
//! verdict, naming the check with what was expected and what came.
//!
//! Program-interruption codes used: 0x0002 privileged operation, 0x0006
//! specification, 0x0015 operand (PoP chapter 6, "Program-Interruption
//! Conditions").

use core::fmt;

/// Program-interruption code: privileged-operation exception.
pub const PRIVILEGED: u16 = 0x0002;
/// Program-interruption code: specification exception.
pub const SPECIFICATION: u16 = 0x0006;
/// Program-interruption code: operand exception.
pub const OPERAND: u16 = 0x0015;

/// What the architecture says must come of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A program interruption with this code, at the instruction tested.
    Program(u16),
    /// The instruction completes with this condition code.
    Cc(u8),
    /// The instruction completes (it sets no condition code).
    Completes,
    /// A value the check reads back (a stored field, a count) equals this.
    Value(u64),
    /// A value read back equals the value the guest wrote.
    Written,
}

/// What the kernel saw when it executed a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A program interruption; `elsewhere` when it was not the tested
    /// instruction that took it (the instruction itself completed).
    Program { code: u16, elsewhere: bool },
    /// The instruction completed with this condition code.
    Cc(u8),
    /// The instruction completed (no condition code to look at).
    Completed,
    /// A value read back.
    Value(u64),
    /// A value the guest wrote and the value read back.
    Pair { wrote: u64, read: u64 },
    /// The check could not run here (a facility the host does not offer,
    /// or an earlier step it depends on failed); not counted as run.
    Skipped(&'static str),
}

/// One check of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    pub id: Id,
    /// Stable name, used in the verdict's `what=`.
    pub name: &'static str,
    /// The rule, with its place in the Principles of Operation.
    pub rule: &'static str,
    pub expect: Expect,
}

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip(&'static str),
}

/// [`Expect`] and [`Observed`] as verdict values (no spaces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    Expect(Expect),
    Observed(Observed),
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shown::Expect(Expect::Program(code)) => write!(f, "program:{code:#06x}"),
            Shown::Expect(Expect::Cc(cc)) => write!(f, "cc:{cc}"),
            Shown::Expect(Expect::Completes) => f.write_str("completes"),
            Shown::Expect(Expect::Value(v)) => write!(f, "{v:#x}"),
            Shown::Expect(Expect::Written) => f.write_str("as-written"),
            Shown::Observed(Observed::Program { code, elsewhere }) => {
                write!(f, "program:{code:#06x}")?;
                if elsewhere {
                    f.write_str("@after-the-instruction")?;
                }
                Ok(())
            }
            Shown::Observed(Observed::Cc(cc)) => write!(f, "cc:{cc}"),
            Shown::Observed(Observed::Completed) => f.write_str("completed"),
            Shown::Observed(Observed::Value(v)) => write!(f, "{v:#x}"),
            Shown::Observed(Observed::Pair { wrote, read }) => {
                write!(f, "{read:#x}(wrote:{wrote:#x})")
            }
            Shown::Observed(Observed::Skipped(why)) => write!(f, "skipped:{why}"),
        }
    }
}

/// Whether `observed` is what `expect` asks for.
pub fn judge(expect: Expect, observed: Observed) -> Outcome {
    let pass = match (expect, observed) {
        (_, Observed::Skipped(why)) => return Outcome::Skip(why),
        (Expect::Program(want), Observed::Program { code, elsewhere }) => {
            want == code && !elsewhere
        }
        (Expect::Cc(want), Observed::Cc(cc)) => want == cc,
        (Expect::Completes, Observed::Completed) => true,
        (Expect::Value(want), Observed::Value(v)) => want == v,
        (Expect::Written, Observed::Pair { wrote, read }) => wrote == read,
        _ => false,
    };
    if pass {
        Outcome::Pass
    } else {
        Outcome::Fail
    }
}

/// The first failed check and how many ran, as the kernel accumulates them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub run: u32,
    pub passed: u32,
    pub skipped: u32,
    pub failed: u32,
    /// Index in [`CHECKS`] and what was seen, of the first failure.
    pub first_failure: Option<(usize, Observed)>,
}

impl Tally {
    /// Judges check `index` of [`CHECKS`] and records the outcome.
    pub fn record(&mut self, index: usize, observed: Observed) -> Outcome {
        let outcome = judge(CHECKS[index].expect, observed);
        match outcome {
            Outcome::Pass => {
                self.run += 1;
                self.passed += 1;
            }
            Outcome::Fail => {
                self.run += 1;
                self.failed += 1;
                if self.first_failure.is_none() {
                    self.first_failure = Some((index, observed));
                }
            }
            Outcome::Skip(_) => self.skipped += 1,
        }
        outcome
    }
}

macro_rules! checks {
    ($($id:ident $name:literal $expect:expr, $rule:literal;)+) => {
        /// Every check, in the order the kernel runs them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Id { $($id,)+ }

        /// The table, in execution order.
        pub const CHECKS: &[Check] = &[
            $(Check { id: Id::$id, name: $name, rule: $rule, expect: $expect },)+
        ];
    };
}

use Expect::{Cc, Completes, Program, Value, Written};

checks! {
    // ---- channel-subsystem characteristics ----
    ChscScsc "chsc-scsc-response" Value(0x0001),
        "CHANNEL SUBSYSTEM CALL store-channel-subsystem-characteristics answers response code 0001, command executed (CHSC is not in the public PoP: as Linux cio and QEMU use it)";
    ChscUnaligned "chsc-unaligned-block" Program(SPECIFICATION),
        "CHANNEL SUBSYSTEM CALL: the command-request block must start on a 4K boundary, else specification exception (as Linux cio and QEMU use it)";
    // ---- operand alignment: specification exception ----
    StschUnaligned1 "stsch-unaligned-1" Program(SPECIFICATION),
        "STORE SUBCHANNEL: the SCHIB address must be on a word boundary, else specification exception";
    StschUnaligned2 "stsch-unaligned-2" Program(SPECIFICATION),
        "STORE SUBCHANNEL: the SCHIB address must be on a word boundary, else specification exception";
    MschUnaligned1 "msch-unaligned-1" Program(SPECIFICATION),
        "MODIFY SUBCHANNEL: the SCHIB address must be on a word boundary, else specification exception";
    MschUnaligned2 "msch-unaligned-2" Program(SPECIFICATION),
        "MODIFY SUBCHANNEL: the SCHIB address must be on a word boundary, else specification exception";
    SschUnaligned1 "ssch-unaligned-1" Program(SPECIFICATION),
        "START SUBCHANNEL: the ORB address must be on a word boundary, else specification exception";
    SschUnaligned2 "ssch-unaligned-2" Program(SPECIFICATION),
        "START SUBCHANNEL: the ORB address must be on a word boundary, else specification exception";
    TschUnaligned1 "tsch-unaligned-1" Program(SPECIFICATION),
        "TEST SUBCHANNEL: the IRB address must be on a word boundary, else specification exception";
    TschUnaligned2 "tsch-unaligned-2" Program(SPECIFICATION),
        "TEST SUBCHANNEL: the IRB address must be on a word boundary, else specification exception";
    StcrwUnaligned1 "stcrw-unaligned-1" Program(SPECIFICATION),
        "STORE CHANNEL REPORT WORD: the operand must be on a word boundary, else specification exception";
    StcrwUnaligned2 "stcrw-unaligned-2" Program(SPECIFICATION),
        "STORE CHANNEL REPORT WORD: the operand must be on a word boundary, else specification exception";
    TpiUnaligned1 "tpi-unaligned-1" Program(SPECIFICATION),
        "TEST PENDING INTERRUPTION: a nonzero operand address must be on a word boundary, else specification exception";
    TpiUnaligned2 "tpi-unaligned-2" Program(SPECIFICATION),
        "TEST PENDING INTERRUPTION: a nonzero operand address must be on a word boundary, else specification exception";
    TpiNothingPending "tpi-nothing-pending-cc0" Cc(0),
        "TEST PENDING INTERRUPTION: cc 0 when no I/O interruption is pending for an enabled ISC";
    // ---- SET CHANNEL MONITOR ----
    SchmMboUnaligned "schm-mbo-unaligned" Program(OPERAND),
        "SET CHANNEL MONITOR: with measurement-block update, bits 59-63 of GR2 (the origin) must be zeros, else operand exception";
    SchmReservedFlags "schm-reserved-gr1-bits" Program(OPERAND),
        "SET CHANNEL MONITOR: bits 36-61 of GR1 must be zeros, else operand exception";
    SchmPrivileged "schm-privileged" Program(PRIVILEGED),
        "SET CHANNEL MONITOR is privileged: in the problem state, privileged-operation exception";
    SchmNormal "schm-update-no-origin" Completes,
        "SET CHANNEL MONITOR with measurement-block update and a zero origin is a valid request";
    // ---- subsystem-identification word: bit 47 (SID bit 15) must be one ----
    StschOneBit "stsch-sid-one-bit-zero" Program(OPERAND),
        "STORE SUBCHANNEL: bit 47 of GR1, the one bit of the subsystem-identification word, must be one, else operand exception";
    MschOneBit "msch-sid-one-bit-zero" Program(OPERAND),
        "MODIFY SUBCHANNEL: an invalid subsystem-identification word is an operand exception";
    SschOneBit "ssch-sid-one-bit-zero" Program(OPERAND),
        "START SUBCHANNEL: an invalid subsystem-identification word is an operand exception";
    TschOneBit "tsch-sid-one-bit-zero" Program(OPERAND),
        "TEST SUBCHANNEL: an invalid subsystem-identification word is an operand exception";
    CschOneBit "csch-sid-one-bit-zero" Program(OPERAND),
        "CLEAR SUBCHANNEL: an invalid subsystem-identification word is an operand exception";
    HschOneBit "hsch-sid-one-bit-zero" Program(OPERAND),
        "HALT SUBCHANNEL: an invalid subsystem-identification word is an operand exception";
    RschOneBit "rsch-sid-one-bit-zero" Program(OPERAND),
        "RESUME SUBCHANNEL: an invalid subsystem-identification word is an operand exception";
    XschOneBit "xsch-sid-one-bit-zero" Program(OPERAND),
        "CANCEL SUBCHANNEL: an invalid subsystem-identification word is an operand exception";
    StschReservedSid "stsch-sid-reserved-bits" Program(OPERAND),
        "STORE SUBCHANNEL: GR1 bits 32-39 must be zeros while MCSS-E is not enabled (bit 44 zero), else operand exception";
    TschReservedSid "tsch-sid-reserved-bits" Program(OPERAND),
        "TEST SUBCHANNEL: GR1 bits 32-39 must be zeros while MCSS-E is not enabled (bit 44 zero), else operand exception";
    // ---- a valid but absent subchannel: cc 3 ----
    StschAbsent "stsch-absent-cc3" Cc(3),
        "STORE SUBCHANNEL: cc 3, subchannel not operational, for a subchannel number not provided";
    MschAbsent "msch-absent-cc3" Cc(3),
        "MODIFY SUBCHANNEL: cc 3 for a subchannel not provided";
    SschAbsent "ssch-absent-cc3" Cc(3),
        "START SUBCHANNEL: cc 3 for a subchannel not provided";
    TschAbsent "tsch-absent-cc3" Cc(3),
        "TEST SUBCHANNEL: cc 3 for a subchannel not provided";
    CschAbsent "csch-absent-cc3" Cc(3),
        "CLEAR SUBCHANNEL: cc 3 for a subchannel not provided";
    HschAbsent "hsch-absent-cc3" Cc(3),
        "HALT SUBCHANNEL: cc 3 for a subchannel not provided";
    RschAbsent "rsch-absent-cc3" Cc(3),
        "RESUME SUBCHANNEL: cc 3 for a subchannel not provided";
    XschAbsent "xsch-absent-cc3" Cc(3),
        "CANCEL SUBCHANNEL: cc 3 for a subchannel not provided";
    // ---- ORB fields: operand exception ----
    OrbAllOnes "ssch-orb-all-ones" Program(OPERAND),
        "START SUBCHANNEL: an ORB with reserved bits set (all ones) is an operand exception";
    OrbWord1Bit13 "ssch-orb-word1-bit13" Program(OPERAND),
        "START SUBCHANNEL: ORB word 1 bit 13 is reserved and must be zero, else operand exception";
    OrbWord1Bit26 "ssch-orb-word1-bit26" Program(OPERAND),
        "START SUBCHANNEL: ORB word 1 bits 26-30 are reserved and must be zeros, else operand exception";
    OrbWord1Bit27 "ssch-orb-word1-bit27" Program(OPERAND),
        "START SUBCHANNEL: ORB word 1 bits 26-30 are reserved and must be zeros, else operand exception";
    OrbWord1Bit28 "ssch-orb-word1-bit28" Program(OPERAND),
        "START SUBCHANNEL: ORB word 1 bits 26-30 are reserved and must be zeros, else operand exception";
    OrbWord1Bit29 "ssch-orb-word1-bit29" Program(OPERAND),
        "START SUBCHANNEL: ORB word 1 bits 26-30 are reserved and must be zeros, else operand exception";
    OrbWord1Bit30 "ssch-orb-word1-bit30" Program(OPERAND),
        "START SUBCHANNEL: ORB word 1 bits 26-30 are reserved and must be zeros, else operand exception";
    OrbCpaBit0 "ssch-orb-cpa-bit0" Program(OPERAND),
        "START SUBCHANNEL: bit 0 of ORB word 2 (31-bit channel-program address) must be zero, else operand exception";
    OrbRejectedStartedNothing "ssch-rejected-orbs-started-nothing" Cc(1),
        "START SUBCHANNEL: a suppressed SSCH starts nothing, so TEST SUBCHANNEL finds no status pending (cc 1)";
    // ---- SCHIB fields: operand exception ----
    PmcwBit0 "msch-pmcw-word1-bit0" Program(OPERAND),
        "MODIFY SUBCHANNEL: bits 0, 1, 6 and 7 of PMCW word 1 must be zeros, else operand exception";
    PmcwBit0NotStored "msch-pmcw-word1-bit0-not-stored" Value(0),
        "MODIFY SUBCHANNEL is suppressed by the operand exception: STSCH shows the bit zero";
    PmcwBit1 "msch-pmcw-word1-bit1" Program(OPERAND),
        "MODIFY SUBCHANNEL: bits 0, 1, 6 and 7 of PMCW word 1 must be zeros, else operand exception";
    PmcwBit1NotStored "msch-pmcw-word1-bit1-not-stored" Value(0),
        "MODIFY SUBCHANNEL is suppressed by the operand exception: STSCH shows the bit zero";
    PmcwBit6 "msch-pmcw-word1-bit6" Program(OPERAND),
        "MODIFY SUBCHANNEL: bits 0, 1, 6 and 7 of PMCW word 1 must be zeros, else operand exception";
    PmcwBit6NotStored "msch-pmcw-word1-bit6-not-stored" Value(0),
        "MODIFY SUBCHANNEL is suppressed by the operand exception: STSCH shows the bit zero";
    PmcwBit7 "msch-pmcw-word1-bit7" Program(OPERAND),
        "MODIFY SUBCHANNEL: bits 0, 1, 6 and 7 of PMCW word 1 must be zeros, else operand exception";
    PmcwBit7NotStored "msch-pmcw-word1-bit7-not-stored" Value(0),
        "MODIFY SUBCHANNEL is suppressed by the operand exception: STSCH shows the bit zero";
    PmcwWord6Bit0 "msch-pmcw-word6-bit0" Program(OPERAND),
        "MODIFY SUBCHANNEL: the reserved bits of PMCW word 6 (0-7 and 11-28) must be zeros, else operand exception";
    PmcwWord6Bit28 "msch-pmcw-word6-bit28" Program(OPERAND),
        "MODIFY SUBCHANNEL: the reserved bits of PMCW word 6 (0-7 and 11-28) must be zeros, else operand exception";
    // ---- PMCW bit 5 is ignored ----
    Bit5SetMsch "msch-pmcw-bit5-set-cc0" Cc(0),
        "MODIFY SUBCHANNEL ignores PMCW word 1 bit 5: setting it is no error (cc 0)";
    Bit5SetStsch "msch-pmcw-bit5-set-stsch-cc0" Cc(0),
        "STORE SUBCHANNEL of an operational subchannel: cc 0";
    Bit5SetStored "msch-pmcw-bit5-set-stored-zero" Value(0),
        "STORE SUBCHANNEL stores PMCW word 1 bit 5 as zero";
    Bit5ClearMsch "msch-pmcw-bit5-clear-cc0" Cc(0),
        "MODIFY SUBCHANNEL with PMCW word 1 bit 5 zero: cc 0";
    Bit5ClearStsch "msch-pmcw-bit5-clear-stsch-cc0" Cc(0),
        "STORE SUBCHANNEL of an operational subchannel: cc 0";
    Bit5ClearStored "msch-pmcw-bit5-clear-stored-zero" Value(0),
        "STORE SUBCHANNEL stores PMCW word 1 bit 5 as zero";
    // ---- MSCH then STSCH: the fields a program sets ----
    RoundTripMsch "msch-round-trip-cc0" Cc(0),
        "MODIFY SUBCHANNEL of an idle, operational subchannel: cc 0";
    RoundTripIntparm "msch-round-trip-intparm" Written,
        "MODIFY SUBCHANNEL sets the interruption parameter (PMCW word 0); STSCH stores it";
    RoundTripIsc "msch-round-trip-isc" Written,
        "MODIFY SUBCHANNEL sets the ISC (PMCW word 1 bits 2-4); STSCH stores it";
    RoundTripEnable "msch-round-trip-enabled" Written,
        "MODIFY SUBCHANNEL sets E (PMCW word 1 bit 8); STSCH stores it";
    RoundTripMultipath "msch-round-trip-multipath" Written,
        "MODIFY SUBCHANNEL sets D, multipath mode (PMCW word 1 bit 13); STSCH stores it";
    RoundTripMbi "msch-round-trip-mbi" Written,
        "MODIFY SUBCHANNEL sets the measurement-block index (PMCW word 3 bits 0-15); STSCH stores it";
    RoundTripMm "msch-round-trip-measurement-mode" Written,
        "MODIFY SUBCHANNEL sets MM, measurement mode (PMCW word 1 bits 11-12); STSCH stores it";
    RoundTripConcurrentSense "msch-round-trip-concurrent-sense" Written,
        "MODIFY SUBCHANNEL sets S, concurrent sense (PMCW word 6 bit 31); STSCH stores it";
    // ---- TEST SUBCHANNEL without status ----
    TschIdleCc "tsch-idle-cc1" Cc(1),
        "TEST SUBCHANNEL: cc 1 when the subchannel is not status pending";
    TschIdleControls "tsch-idle-scsw-controls-zero" Value(0),
        "TEST SUBCHANNEL cc 1 stores an IRB whose SCSW shows no function, activity or status (word 0 bits 17-31 zero) on an idle subchannel";
    // ---- condition codes with status pending ----
    PendingSsch "ssch-status-pending-cc1" Cc(1),
        "START SUBCHANNEL: cc 1 while the subchannel is status pending";
    PendingMsch "msch-status-pending-cc1" Cc(1),
        "MODIFY SUBCHANNEL: cc 1 while the subchannel is status pending";
    PendingTsch "tsch-status-pending-cc0" Cc(0),
        "TEST SUBCHANNEL: cc 0 when status was pending (and it is cleared)";
    PendingCleared "tsch-after-clearing-cc1" Cc(1),
        "TEST SUBCHANNEL cleared the status: a second TSCH finds none (cc 1)";
    // ---- channel reports ----
    StcrwNoneCc "stcrw-none-pending-cc1" Cc(1),
        "STORE CHANNEL REPORT WORD: cc 1 when no channel report is pending";
    StcrwNoneZeros "stcrw-none-pending-stores-zeros" Value(0),
        "STORE CHANNEL REPORT WORD: with cc 1, zeros are stored at the operand";
    RchpReserved "rchp-reserved-gr1-bits" Program(OPERAND),
        "RESET CHANNEL PATH: bits 32-39 and 48-55 of GR1 must be zeros, else operand exception";
    RchpCc "rchp-cc0" Cc(0),
        "RESET CHANNEL PATH of an installed channel path: cc 0, reset initiated";
    RchpCrwCc "rchp-crw-pending-cc0" Cc(0),
        "RESET CHANNEL PATH ends with a channel report (channel-path reset completion): STCRW cc 0";
    RchpCrwRsc "rchp-crw-rsc-channel-path" Value(4),
        "the channel report of a channel-path reset has reporting-source code 0100 (channel path), CRW bits 4-7";
    RchpCrwRsid "rchp-crw-rsid-chpid" Written,
        "the channel report of a channel-path reset names the CHPID as reporting-source ID (CRW bits 24-31)";
    RchpNoMoreCc "rchp-no-more-crw-cc1" Cc(1),
        "STORE CHANNEL REPORT WORD: the report was removed when stored; cc 1 now";
    RchpNoMoreZeros "rchp-no-more-crw-stores-zeros" Value(0),
        "STORE CHANNEL REPORT WORD: with cc 1, zeros are stored at the operand";
    // ---- measurement blocks ----
    MbFmt0Index0 "mb-fmt0-index0-counts-starts" Value(10),
        "format-0 measurement block (SCHM origin + 32 x MBI): the SSCH+RSCH count counts each start the CSS accepted (10)";
    MbFmt0Index1 "mb-fmt0-index1-counts-starts" Value(10),
        "format-0 measurement block at index 1: the SSCH+RSCH count counts each start (10)";
    MbFmt0Index1Only "mb-fmt0-index1-leaves-index0" Value(0),
        "format-0: a subchannel's measurements go only to the block its MBI selects; block 0 stays zero";
    MbFmt0Stopped "mb-fmt0-schm-off-stops-counting" Value(0),
        "SET CHANNEL MONITOR without measurement-block update stops the updates: further starts change no count";
    MbFmt1Unaligned "mb-fmt1-mba-unaligned" Program(OPERAND),
        "MODIFY SUBCHANNEL: a format-1 measurement-block address must have bits 26-31 of SCHIB word 11 zero, else operand exception";
    MbFmt1Counts "mb-fmt1-counts-starts" Value(10),
        "format-1 measurement block (SCHIB words 10-11): the SSCH+RSCH count counts each start (10)";
}

impl Check {
    /// The check of this id.
    pub fn of(id: Id) -> &'static Check {
        CHECKS
            .iter()
            .find(|c| c.id == id)
            .expect("every Id has a table row")
    }

    /// 1-based position in the run (the number the verdict and the
    /// injector use).
    pub fn number(id: Id) -> u32 {
        CHECKS
            .iter()
            .position(|c| c.id == id)
            .map_or(0, |i| i as u32 + 1)
    }
}

/// Checks that run as a unit, in table order: the rows `first..=last` of
/// [`CHECKS`]. Later checks of a group may read what earlier ones of the
/// same group left (a SCHIB stored, a report word); nothing crosses groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: &'static str,
    pub first: Id,
    pub last: Id,
}

impl Group {
    /// The group's rows as indices into [`CHECKS`].
    pub fn range(&self) -> core::ops::Range<usize> {
        Check::number(self.first) as usize - 1..Check::number(self.last) as usize
    }
}

const fn group(name: &'static str, first: Id, last: Id) -> Group {
    Group { name, first, last }
}

/// Every group, in table order; together they cover [`CHECKS`] once.
pub const GROUPS: [Group; 13] = [
    group("chsc", Id::ChscScsc, Id::ChscUnaligned),
    group("alignment", Id::StschUnaligned1, Id::TpiNothingPending),
    group("schm", Id::SchmMboUnaligned, Id::SchmNormal),
    group("sid-bits", Id::StschOneBit, Id::TschReservedSid),
    group("absent", Id::StschAbsent, Id::XschAbsent),
    group("orb", Id::OrbAllOnes, Id::OrbRejectedStartedNothing),
    group("pmcw-reserved", Id::PmcwBit0, Id::PmcwWord6Bit28),
    group("pmcw-bit5", Id::Bit5SetMsch, Id::Bit5ClearStored),
    group(
        "round-trip",
        Id::RoundTripMsch,
        Id::RoundTripConcurrentSense,
    ),
    group("tsch-idle", Id::TschIdleCc, Id::TschIdleControls),
    group("status-pending", Id::PendingSsch, Id::PendingCleared),
    group("channel-reports", Id::StcrwNoneCc, Id::RchpNoMoreZeros),
    group("measurement", Id::MbFmt0Index0, Id::MbFmt1Counts),
];

/// The order the groups run in (`conformance_order=`): the table's, its
/// reverse, or shuffled by a seed. Within a group the checks keep their
/// order; every check keeps its number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Table,
    Reverse,
    Seed(u64),
}

impl Order {
    /// Indices into [`GROUPS`], in run order.
    pub fn groups(self) -> [usize; GROUPS.len()] {
        let mut order = [0; GROUPS.len()];
        for (i, slot) in order.iter_mut().enumerate() {
            *slot = i;
        }
        match self {
            Order::Table => {}
            Order::Reverse => order.reverse(),
            Order::Seed(seed) => {
                // Fisher-Yates, from the end.
                let mut rng = crate::rng::Rng::new(seed);
                for i in (1..order.len()).rev() {
                    let j = rng.below(i as u32 + 1) as usize;
                    order.swap(i, j);
                }
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::format;

    #[test]
    fn names_are_unique_and_printable() {
        let mut names = HashSet::new();
        for c in CHECKS {
            assert!(names.insert(c.name), "duplicate {}", c.name);
            assert!(c
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert!(!c.rule.is_empty());
            assert_eq!(Check::of(c.id).name, c.name);
        }
    }

    #[test]
    fn groups_tile_the_table_in_order() {
        let mut next = 0;
        for g in GROUPS {
            let r = g.range();
            assert_eq!(r.start, next, "{} does not follow on", g.name);
            assert!(r.end > r.start, "{} is empty", g.name);
            next = r.end;
        }
        assert_eq!(next, CHECKS.len());
    }

    #[test]
    fn every_order_is_a_permutation() {
        let table: std::vec::Vec<usize> = (0..GROUPS.len()).collect();
        assert_eq!(Order::Table.groups().to_vec(), table);
        let mut reverse = table.clone();
        reverse.reverse();
        assert_eq!(Order::Reverse.groups().to_vec(), reverse);
        let mut differ = 0;
        for seed in 0..64 {
            let got = Order::Seed(seed).groups();
            let mut sorted = got.to_vec();
            sorted.sort();
            assert_eq!(sorted, table, "seed {seed}");
            assert_eq!(
                got,
                Order::Seed(seed).groups(),
                "seed {seed} not reproducible"
            );
            differ += usize::from(got.to_vec() != table);
        }
        assert!(differ > 60, "shuffles rarely move anything: {differ}");
    }

    #[test]
    fn at_least_as_many_checks_as_kvm_unit_tests() {
        // kvm-unit-tests s390x/css.c reports 53 checks on QEMU.
        assert!(CHECKS.len() >= 53, "{}", CHECKS.len());
    }

    #[test]
    fn judge_program_checks() {
        let e = Program(OPERAND);
        let hit = Observed::Program {
            code: OPERAND,
            elsewhere: false,
        };
        assert_eq!(judge(e, hit), Outcome::Pass);
        // The wrong exception, none at all, or one from another instruction.
        let spec = Observed::Program {
            code: SPECIFICATION,
            elsewhere: false,
        };
        assert_eq!(judge(e, spec), Outcome::Fail);
        assert_eq!(judge(e, Observed::Cc(0)), Outcome::Fail);
        assert_eq!(judge(e, Observed::Completed), Outcome::Fail);
        let late = Observed::Program {
            code: OPERAND,
            elsewhere: true,
        };
        assert_eq!(judge(e, late), Outcome::Fail);
    }

    #[test]
    fn judge_cc_values_and_round_trips() {
        assert_eq!(judge(Cc(3), Observed::Cc(3)), Outcome::Pass);
        assert_eq!(judge(Cc(3), Observed::Cc(0)), Outcome::Fail);
        let pgm = Observed::Program {
            code: OPERAND,
            elsewhere: false,
        };
        assert_eq!(judge(Cc(3), pgm), Outcome::Fail);
        assert_eq!(judge(Completes, Observed::Completed), Outcome::Pass);
        assert_eq!(judge(Completes, pgm), Outcome::Fail);
        assert_eq!(judge(Value(10), Observed::Value(10)), Outcome::Pass);
        assert_eq!(judge(Value(10), Observed::Value(11)), Outcome::Fail);
        assert_eq!(judge(Value(0), Observed::Cc(0)), Outcome::Fail);
        let same = Observed::Pair { wrote: 5, read: 5 };
        let differ = Observed::Pair { wrote: 5, read: 0 };
        assert_eq!(judge(Written, same), Outcome::Pass);
        assert_eq!(judge(Written, differ), Outcome::Fail);
        assert_eq!(
            judge(Value(0), Observed::Skipped("no-facility")),
            Outcome::Skip("no-facility")
        );
    }

    #[test]
    fn tally_counts_and_keeps_the_first_failure() {
        let mut t = Tally::default();
        let i = |id| Check::number(id) as usize - 1;
        assert_eq!(t.record(i(Id::StschAbsent), Observed::Cc(3)), Outcome::Pass);
        assert_eq!(t.record(i(Id::TschAbsent), Observed::Cc(0)), Outcome::Fail);
        assert_eq!(
            t.record(i(Id::MbFmt1Counts), Observed::Skipped("x")),
            Outcome::Skip("x")
        );
        assert_eq!(t.record(i(Id::CschAbsent), Observed::Cc(1)), Outcome::Fail);
        assert_eq!((t.run, t.passed, t.failed, t.skipped), (3, 1, 2, 1));
        assert_eq!(t.first_failure, Some((i(Id::TschAbsent), Observed::Cc(0))));
    }

    #[test]
    fn shown_values_have_no_spaces() {
        let all = [
            Shown::Expect(Program(OPERAND)),
            Shown::Expect(Cc(1)),
            Shown::Expect(Completes),
            Shown::Expect(Value(10)),
            Shown::Expect(Written),
            Shown::Observed(Observed::Program {
                code: 2,
                elsewhere: true,
            }),
            Shown::Observed(Observed::Pair { wrote: 1, read: 2 }),
            Shown::Observed(Observed::Skipped("no-facility")),
        ];
        for s in all {
            assert!(!format!("{s}").contains(' '), "{s}");
        }
        assert_eq!(
            format!("{}", Shown::Expect(Program(OPERAND))),
            "program:0x0015"
        );
        assert_eq!(
            format!("{}", Shown::Observed(Observed::Pair { wrote: 1, read: 2 })),
            "0x2(wrote:0x1)"
        );
    }
}
