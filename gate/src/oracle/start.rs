//! START SUBCHANNEL and the status of a start.

use super::table::{St, Then};
use super::{
    violation, Claim, Class, Completed, Deviation, Due, Interruption, Op, Oracle, Program, State,
    Violation,
};
use crate::accel::Accel;
use crate::css::{Cc, FunctionControl};

impl Oracle {
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
                if self.accel == Accel::Tcg {
                    self.tcg_new_parameter();
                }
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

    pub(super) fn on_start(
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
        // PoP ch. 14 START SUBCHANNEL and ch. 16 (function, activity and
        // status control, deferred cc, device and subchannel status, CCW
        // address): the table's. Collecting the primary status cleared the
        // start function, so a separate secondary status may show it or no
        // function at all.
        let st = if due == Due::Secondary {
            St::SecondaryDue
        } else {
            St::Start
        };
        match self.judged(st, &s, program)? {
            // Unsolicited status the relay copied whole over the start: it
            // came with its own interruption request; the start's is still
            // queued and its status still due.
            Then::StillOutstanding => {
                self.requested();
                Ok(None)
            }
            // Deferred cc 1: the start was not performed.
            Then::NotInitiated => {
                self.stats.starts_not_initiated += 1;
                Ok(Some(self.complete(
                    Op::Start,
                    start_intparm,
                    issued,
                    irq.tod,
                    true,
                )))
            }
            // Channel end without device end: the device end follows as
            // secondary status of its own, with an interruption of its own.
            Then::SecondaryDue => {
                self.requested();
                self.state = State::Start {
                    intparm: start_intparm,
                    program,
                    tod: issued,
                    due: Due::Secondary,
                };
                Ok(None)
            }
            _ => {
                if due == Due::Secondary {
                    self.stats.starts_two_part += 1;
                }
                Ok(Some(self.complete(
                    Op::Start,
                    start_intparm,
                    issued,
                    irq.tod,
                    false,
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::Host;
    use crate::oracle::test_util::*;
    use crate::oracle::Outstanding;

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

    /// Issue 26, area 4. Until then this test pinned the opposite (a
    /// separate secondary status "may still show the start function"),
    /// which no source backs: PoP ch. 14 TEST SUBCHANNEL resets the
    /// function control with any status but intermediate status alone, as
    /// QEMU's css_do_tsch_update_subch does, and no start was issued since.
    #[test]
    fn a_separate_device_end_shows_no_function() {
        for o in [started(P1), vfio(started(P1))] {
            let mut o = o;
            o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1200))
                .unwrap();
            let sec = [0x00C0_4003, 0, 0x0400_0000];
            let e = o.interruption(&irq(P1, sec, 1300)).unwrap_err();
            assert_eq!(
                (e.class, e.what, e.expected, e.actual),
                (
                    Class::WrongFunction,
                    "function-after-status-taken",
                    0,
                    0x4000
                )
            );
            // What else a separate device end may not carry.
            for (words, what) in [
                ([0x0000_0003, 0, 0], "ending-without-channel-or-device-end"),
                ([0x0000_0003, 0, 0x0C00_0000], "channel-end-repeated"),
                (
                    [0x0000_0003, 0, 0x8400_0000],
                    "unsolicited-bits-in-completion",
                ),
                (
                    [0x0000_0013, 0, 0x0400_0000],
                    "alert-status-with-device-end",
                ),
            ] {
                let mut o = started(P1).with_host(o.host);
                o.interruption(&irq(P1, START_PRIMARY_DEVACT, 1200))
                    .unwrap();
                assert_eq!(
                    o.interruption(&irq(P1, words, 1300)).map_err(|v| v.what),
                    Err(what),
                    "{words:x?}"
                );
            }
            assert!(o
                .interruption(&irq(P1, SECONDARY_ALONE, 1300))
                .unwrap()
                .is_some());
        }
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

    // ---- one violation per class ----

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
    fn wrong_function_no_function_during_start() {
        // Primary status with no function: no start's.
        let mut o = started(EN);
        assert_eq!(
            class_of(o.interruption(&irq(EN, [0x0000_0007, 0x2010, 0x0C00_0000], 1150))),
            (Class::WrongFunction, "no-function-during-start")
        );
        // Unsolicited alert status over the start: the relay's whole-SCSW
        // copy, a deviation (before issue 20: no-function-during-start).
        let mut o = started(EN);
        assert_eq!(
            class_of(o.interruption(&irq(EN, UNSOLICITED, 1150))),
            (Class::WrongFunction, "unsolicited-status-over-start")
        );
    }

    #[test]
    fn unsolicited_status_over_a_start_is_counted_and_the_start_goes_on() {
        let mut o = vfio(started(P1));
        assert_eq!(o.interruption(&irq(P1, UNSOLICITED, 1100)), Ok(None));
        assert_eq!(o.outstanding(), Outstanding::Start);
        assert_eq!(o.deviations().get(Deviation::UnsolicitedStatusOverStart), 1);
        // Its own request was not the start's: none is spare.
        let mut empty = irq(P1, [0; 3], 1150);
        empty.tsch_cc = Cc::One;
        assert_eq!(
            class_of(o.interruption(&empty)),
            (Class::SpuriousInterrupt, "no-status-while-outstanding")
        );
        let mut o = vfio(started(P1));
        o.interruption(&irq(P1, UNSOLICITED, 1100)).unwrap();
        assert!(o
            .interruption(&irq(P1, START_DONE, 1200))
            .unwrap()
            .is_some());
        // Only alert status alone is the relay's copy.
        let mut o = vfio(started(P1));
        assert_eq!(
            class_of(o.interruption(&irq(P1, [0x0000_0015, 0x2010, 0x8000_0000], 1100))),
            (Class::WrongFunction, "no-function-during-start")
        );
    }

    #[test]
    fn a_primary_status_without_the_device_end_does_not_end_a_start() {
        // Channel end alone, primary without secondary, not device active:
        // the device end has nowhere to go.
        for o in [started(P1), vfio(started(P1))] {
            let mut o = o;
            let v = o
                .interruption(&irq(P1, [0x00C0_4005, 0x2010, 0x0800_0000], 1100))
                .unwrap_err();
            assert_eq!(
                (v.class, v.what, v.expected, v.actual),
                (
                    Class::BadStatus,
                    "start-ended-without-device-end",
                    0x07,
                    0x05
                )
            );
            assert_eq!(o.outstanding(), Outstanding::Start);
        }
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
            let e = o.interruption(&irq(P1, words, 1100)).unwrap_err();
            assert_eq!((e.class, e.what), (Class::BadStatus, what), "{ds:#x}");
            if what == "ending-without-channel-or-device-end" {
                // Primary and secondary status: both ends expected.
                assert_eq!((e.expected, e.actual), (0x0C, ds >> 24), "{ds:#x}");
            }
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

    /// Issue 26, area 5: deferred cc 1 says the start never began, and
    /// what cannot go with a start that never began is not taken for one.
    #[test]
    fn a_start_not_initiated_began_nothing() {
        for o in [started(P1), vfio(started(P1))] {
            for (words, what) in [
                // Subchannel or device active, suspended.
                (
                    [0x01C0_4491, 0, 0x8000_0000],
                    "activity-with-start-not-initiated",
                ),
                (
                    [0x01C0_4451, 0, 0x8000_0000],
                    "activity-with-start-not-initiated",
                ),
                (
                    [0x01C0_4031, 0, 0x8000_0000],
                    "activity-with-start-not-initiated",
                ),
                // A complete ending, or primary status alone.
                (
                    [0x01C0_4417, 0x2010, 0x0C00_0000],
                    "ending-with-start-not-initiated",
                ),
                (
                    [0x01C0_4415, 0x2010, 0x0800_0000],
                    "ending-with-start-not-initiated",
                ),
                // A channel program check; the relay's unit exception.
                ([0x01C0_4411, 0, 0x0020_0000], "channel-status-error"),
                ([0x01C0_4017, 0x2010, 0x0100_0000], "relay-unit-exception"),
            ] {
                let mut o = o;
                assert_eq!(
                    o.interruption(&irq(P1, words, 1100)).map_err(|v| v.what),
                    Err(what),
                    "{words:x?}"
                );
            }
            // The violation names the status control expected and shown.
            let mut o2 = o;
            let e = o2
                .interruption(&irq(P1, [0x01C0_4417, 0x2010, 0x0C00_0000], 1100))
                .unwrap_err();
            assert_eq!((e.expected, e.actual), (0x11, 0x17));
            // What a start not begun shows: alert status with the status
            // that kept it from beginning, start pending or not.
            for words in [
                START_NOT_INITIATED,
                [0x01C0_4011, 0, 0x5000_0000],
                [0x01C0_4011, 0, 0],
            ] {
                let mut o = o;
                let done = o.interruption(&irq(P1, words, 1100)).unwrap().unwrap();
                assert!(done.not_initiated, "{words:x?}");
            }
        }
    }

    /// Issue 26, area 6: alert status on a clean completion, and
    /// unsolicited status while idle that shows activity or channel end.
    #[test]
    fn alert_status_belongs_to_abnormal_or_unsolicited_status() {
        for host in [Host::Strict, Host::VfioCcw] {
            let mut o = started(P1).with_host(host);
            let e = o
                .interruption(&irq(P1, [0x00C0_4017, 0x2010, 0x0C00_0000], 1100))
                .unwrap_err();
            assert_eq!(
                (e.what, e.expected, e.actual),
                ("alert-status-on-clean-completion", 0x07, 0x17)
            );
            // With the device's own unit check it is the device's error.
            let mut o = started(P1).with_host(host);
            let words = [0x00C0_4017, 0x2010, 0x0E00_0000];
            assert_eq!(
                o.interruption(&irq(P1, words, 1100)).map_err(|v| v.what),
                Err("device-status-error")
            );
            for (words, what) in [
                (
                    [0x0000_0091, 0, 0x8000_0000],
                    "activity-with-unsolicited-status",
                ),
                (
                    [0x0000_0051, 0, 0x0400_0000],
                    "activity-with-unsolicited-status",
                ),
                (
                    [0x0000_0011, 0, 0x0C00_0000],
                    "channel-end-in-unsolicited-status",
                ),
            ] {
                let mut o = oracle().with_host(host);
                assert_eq!(
                    o.interruption(&irq(EN, words, 10)).map_err(|v| v.what),
                    Err(what),
                    "{host:?} {words:x?}"
                );
            }
            // Attention, a device end after a state change, busy: fine.
            for ds in [0x8000_0000, 0x0400_0000, 0x5000_0000] {
                let mut o = oracle().with_host(host);
                assert_eq!(o.interruption(&irq(EN, [0x11, 0, ds], 10)), Ok(None));
            }
        }
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

    // ---- host profiles: upstream deviations ----

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
}
