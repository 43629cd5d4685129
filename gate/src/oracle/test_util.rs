//! Fixtures shared by the oracle's unit tests.

use super::{Class, Completed, Interruption, Oracle, Program, Violation};
use crate::cmdline::Host;
use crate::css::{Cc, Scsw, SubchannelId};

pub(super) const SID: u32 = SubchannelId::ss0(0x0002).raw();
/// Parameter of the MSCH that enabled the subchannel.
pub(super) const EN: u32 = 0xC0DE_0000;
pub(super) const P1: u32 = 0x5EED_0001;
pub(super) const P2: u32 = 0x5EED_0002;
/// SENSE ID chained to a NOP at 0x2000: ends at 0x2010.
pub(super) const PROG: Program = Program::new(0x2000, 2);

// SCSW words as real hardware stores them behind vfio-ccw for a
// format-1 ORB with prefetch (F = 0x0080_0000 and P = 0x0040_0000
// reflected while the start function is indicated).
/// Start done: FC start, SC primary+secondary+pending, CE+DE.
pub(super) const START_DONE: [u32; 3] = [0x00C0_4007, 0x0000_2010, 0x0C00_0000];
/// Channel end only: FC start, AC device active, SC primary+pending.
pub(super) const START_PRIMARY_DEVACT: [u32; 3] = [0x00C0_4045, 0x0000_2010, 0x0800_0000];
/// The device end afterwards: TSCH already cleared the start function.
pub(super) const SECONDARY_ALONE: [u32; 3] = [0x0000_0003, 0, 0x0400_0000];
/// Clear done: FC clear, SC status pending alone, everything else zero.
pub(super) const CLEAR_DONE: [u32; 3] = [0x0000_1001, 0, 0];
/// Halt of a running start: FC start+halt, SC primary+secondary+pending,
/// stopped after the first CCW.
pub(super) const HALT_OF_START: [u32; 3] = [0x00C0_6007, 0x0000_2008, 0x0C00_0000];
/// Halt of an idle subchannel: FC halt, SC status pending alone.
pub(super) const HALT_IDLE: [u32; 3] = [0x0000_2001, 0, 0];
/// Unsolicited attention: no function, SC alert+pending.
pub(super) const UNSOLICITED: [u32; 3] = [0x0000_0011, 0, 0x8000_0000];
/// Deferred cc 1: FC start, AC start pending, SC alert+pending,
/// device status attention presented when the start was attempted.
pub(super) const START_NOT_INITIATED: [u32; 3] = [0x01C0_4411, 0, 0x8000_0000];

pub(super) fn irq(intparm: u32, words: [u32; 3], tod: u64) -> Interruption {
    Interruption {
        sid: SID,
        intparm,
        tsch_cc: Cc::Zero,
        scsw: Scsw::from_words(words),
        tod,
    }
}

pub(super) fn oracle() -> Oracle {
    Oracle::new(SID, EN)
}

pub(super) fn started(intparm: u32) -> Oracle {
    let mut o = oracle();
    o.ssch(intparm, PROG, Cc::Zero, 1000).unwrap();
    o
}

pub(super) fn class_of(r: Result<Option<Completed>, Violation>) -> (Class, &'static str) {
    let v = r.unwrap_err();
    (v.class, v.what)
}

// ---- host profiles: upstream deviations ----

pub(super) fn vfio(o: Oracle) -> Oracle {
    o.with_host(Host::VfioCcw)
}

/// Start status with the start function alone after CLEAR's cc 0.
pub(super) const START_AFTER_CLEAR: [u32; 3] = START_DONE;
/// What QEMU's TSCH stores when CSCH left status pending: clear
/// function, clear pending, the earlier status's bits.
pub(super) const CLEAR_OVER_PENDING: [u32; 3] = [0x0000_1107, 0x0000_2010, 0x0C00_0000];

pub(super) fn cleared_start(o: Oracle) -> Oracle {
    let mut o = o;
    o.ssch(P1, PROG, Cc::Zero, 1000).unwrap();
    o.csch(Cc::Zero, 1100).unwrap();
    o
}
