//! Status-word checks shared by start, halt and clear, and status collected
//! while nothing is outstanding.

use super::table::{St, Then};
use super::{
    violation, Claim, Class, Completed, Deviation, Interruption, Op, Oracle, Program, Violation,
};
use crate::css::StatusControl;

impl Oracle {
    pub(super) fn on_idle(&mut self, irq: &Interruption) -> Result<Option<Completed>, Violation> {
        let s = irq.scsw;
        let fc = s.fc();
        if self.owed_device_end(&s)? {
            return Ok(None);
        }
        if let Some(op) = self.owed {
            if Op::of(fc) == Some(op) {
                // The owed status of a halt or clear a deviation ended,
                // judged in full as the host's own halt or clear of a
                // subchannel whose start had ended (PoP ch. 15 Halt
                // Function, Clear Function): not on its function alone.
                self.check_intparm(irq, "owed-status-intparm")?;
                self.judged(self.owed_as, &s, Program::new(0, 0))?;
                self.owed = None;
                self.owed_device_end = false;
                self.claim = Claim::None;
                return Ok(None);
            }
        }
        // PoP ch. 14 TEST SUBCHANNEL: collecting final status clears the
        // function control, so a function's status is presented once. Seen
        // again, with an interruption parameter of an operation already
        // completed, it is a replay.
        if !fc.is_empty() {
            if let Some(v) = self.duplicate(irq, true) {
                return Err(v);
            }
        }
        // PoP ch. 16 Status Control, alert status: a device may present
        // status on its own (e.g. attention) while no function is in
        // progress; it appears as alert status alone with no function
        // indicated. Anything else is the table's FAIL. (A presented word
        // has the same rows in both idle states.)
        let then = self.judged(St::Idle, &s, Program::new(0, 0))?;
        debug_assert_eq!(then, Then::Unsolicited);
        // Its interruption parameter is still the subchannel's current
        // one (PoP ch. 16 interruption code).
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
            // The status that made the host refuse the start, presented
            // with the refused start's parameter.
            self.deviate(Deviation::IntparmOfRefusedStart, v)?;
        }
        self.stats.unsolicited += 1;
        self.claim = Claim::None;
        Ok(None)
    }

    // ---- shared checks ----

    /// PoP ch. 16 I/O Interruptions, interruption code: the parameter
    /// presented is the subchannel's current one (last SSCH or MSCH).
    pub(super) fn check_intparm(
        &mut self,
        irq: &Interruption,
        what: &'static str,
    ) -> Result<(), Violation> {
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
    pub(super) fn duplicate(&self, irq: &Interruption, by_content: bool) -> Option<Violation> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::css::Cc;
    use crate::oracle::test_util::*;
    use crate::oracle::{Outstanding, Program};

    // ---- allowed sequences ----

    #[test]
    fn unsolicited_alert_while_idle() {
        let mut o = oracle();
        assert_eq!(o.interruption(&irq(EN, UNSOLICITED, 5)), Ok(None));
        assert_eq!(o.stats().unsolicited, 1);
        assert_eq!(o.outstanding(), Outstanding::Idle);
    }

    // ---- one violation per class ----

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

    // ---- host profiles: upstream deviations ----

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
}
