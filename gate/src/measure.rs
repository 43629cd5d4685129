//! `measure=1`: the channel subsystem's own count of the starts it
//! performed, against the starts the guest saw accepted.
//!
//! With channel-subsystem monitoring on (SET CHANNEL MONITOR with
//! measurement-block update, and the subchannel's PMCW measurement mode
//! set by MODIFY SUBCHANNEL), the channel subsystem keeps an SSCH+RSCH
//! count in the subchannel's measurement block (PoP SA22-7832 ch. 17,
//! "Channel-Subsystem Monitoring", "Measurement-Block Update"): a halfword
//! at offset 0 of a format-0 block, a word at offset 0 of a format-1 block
//! (extended measurement block facility). It is an independent witness: a
//! start the guest saw accepted (SSCH cc 0) but the host never performed,
//! or a start performed twice, shows in the count even when no status
//! ever says so.
//!
//! The comparison:
//!
//! - The count may never exceed the starts accepted: ccwgate issues no
//!   RESUME SUBCHANNEL, so every count above that is a start performed that
//!   the guest did not issue (or issued once): `duplicate-status`
//!   `measured-more-starts`.
//! - It may fall short only by the starts a CLEAR or HALT ended while they
//!   were outstanding ([`allowance`]): a clear or halt that reaches a start
//!   still start pending ends it before the channel subsystem performed it,
//!   and so, where the count follows the start function being performed,
//!   before it was counted. Hosts that count at acceptance (QEMU counts in
//!   `css_do_ssch`) come out exact. Falling shorter is a start accepted and
//!   never performed: `lost-interrupt` `measured-fewer-starts`.
//!
//! - Under `host=vfio-ccw`, the count may exceed the starts accepted by the
//!   starts the relay refused with cc 2 while the guest's subchannel was
//!   idle (the `ssch-busy-while-idle` deviation): QEMU's `css_do_ssch`
//!   updates the count before `do_subchannel_work` asks the host, and when
//!   the host refuses it restores the SCSW but not the count.
//!
//! Counts compare modulo the counter's width (16 bits for format 0), so a
//! long run whose halfword wrapped is still judged exactly.

use crate::driver::Landed;
use crate::oracle::{Class, Deviation, Deviations, Violation};

named_enum! {
    /// Which measurement block the run got; its name is the verdict's
    /// `measure=` value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Format {
        /// 32-byte block at the SCHM origin plus 32 times the MBI; the count is
        /// a halfword.
        Zero => "fmt0",
        /// 64-byte block at the SCHIB's measurement-block address; the count is
        /// a word.
        One => "fmt1",
    }
}

impl Format {
    /// Bits of the SSCH+RSCH count.
    pub const fn width(self) -> u32 {
        match self {
            Format::Zero => 16,
            Format::One => 32,
        }
    }
}

/// How far the count may stray from the starts accepted, each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowance {
    /// Starts a CLEAR or HALT may have ended before they were counted.
    pub uncounted: u32,
    /// Refused starts a host deviation counts all the same.
    pub overcounted: u32,
}

impl core::fmt::Display for Allowance {
    /// `-N+M`: a verdict value.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "-{}+{}", self.uncounted, self.overcounted)
    }
}

/// Starts that a CLEAR or HALT may have ended before the channel subsystem
/// counted them: those of the race steps' clears and halts that landed
/// while the start was outstanding (before it began, while it ran, or in
/// its completion window). None for a clear or halt issued after the
/// start's status was taken. And the starts counted though refused, under
/// the `ssch-busy-while-idle` deviation (counted only under
/// `host=vfio-ccw`; under `host=strict` it is a FAIL of its own).
pub fn allowance(landed: &Landed, deviations: &Deviations) -> Allowance {
    Allowance {
        uncounted: landed.before + landed.running + landed.window,
        overcounted: deviations.get(Deviation::SschBusyWhileIdle),
    }
}

/// Compares the measured SSCH+RSCH count with `accepted` starts (SSCH
/// cc 0), within `allowance`.
pub fn compare(
    format: Format,
    measured: u32,
    accepted: u32,
    allowance: Allowance,
) -> Result<(), Violation> {
    let mask = if format.width() == 32 {
        u32::MAX
    } else {
        (1u32 << format.width()) - 1
    };
    let short = accepted.wrapping_sub(measured) & mask;
    let over = measured.wrapping_sub(accepted) & mask;
    if short <= allowance.uncounted || over <= allowance.overcounted {
        return Ok(());
    }
    // More than half the counter's range short is the count running ahead.
    let half = mask / 2 + 1;
    let class = if short >= half {
        Violation::new(
            Class::DuplicateStatus,
            "measured-more-starts",
            accepted,
            measured,
        )
    } else {
        Violation::new(
            Class::LostInterrupt,
            "measured-fewer-starts",
            accepted,
            measured,
        )
    };
    Err(class)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::{Config, Scenario};
    use crate::driver::Driver;
    use crate::sim::{HostBug, Sim};

    const SID: u32 = 0x0001_0000;
    const EXACT: Allowance = Allowance {
        uncounted: 0,
        overcounted: 0,
    };

    fn below(uncounted: u32) -> Allowance {
        Allowance {
            uncounted,
            overcounted: 0,
        }
    }

    #[test]
    fn exact_when_nothing_could_end_a_start_early() {
        assert_eq!(compare(Format::One, 2017, 2017, EXACT), Ok(()));
        let lost = compare(Format::One, 2016, 2017, EXACT).unwrap_err();
        assert_eq!(
            (lost.class, lost.what, lost.expected, lost.actual),
            (Class::LostInterrupt, "measured-fewer-starts", 2017, 2016)
        );
        let doubled = compare(Format::One, 2018, 2017, EXACT).unwrap_err();
        assert_eq!(
            (
                doubled.class,
                doubled.what,
                doubled.expected,
                doubled.actual
            ),
            (Class::DuplicateStatus, "measured-more-starts", 2017, 2018)
        );
    }

    #[test]
    fn clears_and_halts_may_leave_starts_uncounted_but_never_add_any() {
        assert_eq!(compare(Format::Zero, 95, 100, below(5)), Ok(()));
        assert!(compare(Format::Zero, 94, 100, below(5)).is_err());
        // The allowance never excuses a count above the starts issued.
        assert_eq!(
            compare(Format::Zero, 101, 100, below(5)).unwrap_err().class,
            Class::DuplicateStatus
        );
        let landed = Landed {
            before: 1,
            running: 2,
            window: 3,
            after: 40,
        };
        assert_eq!(allowance(&landed, &Deviations::ZERO), below(6));
        // Refused starts a deviation counted excuse an excess, never a lack.
        let mut deviations = Deviations::ZERO;
        deviations.0[Deviation::SschBusyWhileIdle as usize] = 2;
        let a = allowance(&Landed::default(), &deviations);
        assert_eq!(std::format!("{a}"), "-0+2");
        assert_eq!(compare(Format::One, 102, 100, a), Ok(()));
        assert!(compare(Format::One, 103, 100, a).is_err());
        assert!(compare(Format::One, 99, 100, a).is_err());
    }

    #[test]
    fn a_format0_halfword_compares_modulo_its_width() {
        // 70 000 starts: the halfword shows 70 000 - 65 536 = 4464.
        assert_eq!(compare(Format::Zero, 4464, 70_000, EXACT), Ok(()));
        assert_eq!(
            compare(Format::Zero, 4465, 70_000, EXACT)
                .unwrap_err()
                .class,
            Class::DuplicateStatus
        );
        assert_eq!(
            compare(Format::Zero, 4463, 70_000, EXACT)
                .unwrap_err()
                .class,
            Class::LostInterrupt
        );
        // The word of format 1 does not wrap that soon.
        assert!(compare(Format::One, 4464, 70_000, EXACT).is_err());
        assert_eq!(compare(Format::One, u32::MAX, u32::MAX, EXACT), Ok(()));
    }

    /// The count comparison alone, with every per-interruption check off
    /// (`checks=none`): the driver judges nothing, and still starts the
    /// host accepted and never performed, or a start performed twice, are
    /// caught. (A single lost start is caught exactly where no CLEAR or
    /// HALT landed on an outstanding start, as in `ssch`; in the race
    /// scenarios the allowance can cover a few, and a lost start's missing
    /// status is `lost-interrupt` by the per-interruption checks anyway.)
    #[test]
    fn injected_lost_and_doubled_starts_are_caught_by_the_count_alone() {
        for scenario in [
            Scenario::Ssch,
            Scenario::CschRace,
            Scenario::HschRace,
            Scenario::Mixed,
        ] {
            let config = Config {
                scenario,
                seed: 3,
                iterations: Some(200),
                checks: false,
                ..Config::DEFAULT
            };
            let judge = |bug: Option<HostBug>| {
                let mut sim = match bug {
                    Some(bug) => Sim::with_bug(SID, bug, 40),
                    None => Sim::new(SID),
                };
                let summary = Driver::new(&mut sim, &config)
                    .run(|_| {})
                    .expect("checks=none judges nothing");
                if bug.is_some() {
                    assert!(sim.fired(), "{bug:?} {scenario:?}");
                }
                compare(
                    Format::Zero,
                    sim.measured(),
                    summary.starts,
                    allowance(&summary.landed, &summary.deviations),
                )
            };
            assert_eq!(judge(None), Ok(()), "{scenario:?}");
            if scenario == Scenario::Ssch {
                // One lost start, exactly: the sim drops every start from
                // the 40th, so stop after the first of them.
                let mut sim = Sim::with_bug(SID, HostBug::DropStart, 40);
                let one = Config {
                    iterations: Some(39),
                    ..config
                };
                let summary = Driver::new(&mut sim, &one).run(|_| {}).unwrap();
                let lost = compare(Format::One, sim.measured(), summary.starts, EXACT).unwrap_err();
                assert_eq!(
                    (lost.expected, lost.actual),
                    (lost.actual + 1, sim.measured())
                );
            }
            assert_eq!(
                judge(Some(HostBug::DropStart)).unwrap_err().class,
                Class::LostInterrupt,
                "{scenario:?}"
            );
            assert_eq!(
                judge(Some(HostBug::RepeatStart)).unwrap_err().class,
                Class::DuplicateStatus,
                "{scenario:?}"
            );
        }
    }
}
