//! A violation made a [`Failure`], and whose doing it was: the host's, or
//! the environment's (a device gone, busy, or reporting a unit check of its
//! own, whose sense bytes are then read).

use super::area::build;
use super::{
    device_kind, race_not_exercised, Channel, DeviceKind, DeviceState, Driver, Failure,
    ProgramKind, Status, Summary, SENSE_COUNT,
};
use crate::css::{Cc, DeviceStatus, Orb, StatusControl};
use crate::oracle::{Class, Violation};

/// Sense byte 0: command reject.
const SENSE_COMMAND_REJECT: u8 = 0x80;

impl<C: Channel + Status> Driver<C> {
    pub(super) fn fail(&mut self, violation: Violation) -> Failure {
        let environment = self.environment(&violation);
        Failure {
            violation,
            iteration: self.iteration,
            delay: self.delay,
            sid: self.chan.sid(),
            deviations: *self.oracle.deviations(),
            environment,
        }
    }

    /// Whether `v` is the environment's doing rather than the host's:
    /// "not operational" while STORE SUBCHANNEL shows the device gone or
    /// pathless; device busy, or a device that never lets a start begin;
    /// a unit check, the device's own report, whose sense bytes are read.
    fn environment(&mut self, v: &Violation) -> Option<&'static str> {
        let not_operational = v.class == Class::CcAnomaly && v.actual == 3;
        if not_operational {
            return match self.chan.device_state() {
                DeviceState::Present => None,
                DeviceState::Gone | DeviceState::NoPath => Some("device-gone"),
            };
        }
        let device_status = |bits: DeviceStatus| {
            v.what == "device-status-error" && v.actual & u32::from(bits.bits()) != 0
        };
        if device_status(DeviceStatus::BUSY)
            || matches!(
                v.what,
                "starts-never-initiated" | "ssch-status-pending-forever"
            )
        {
            return Some("device-busy");
        }
        if device_status(DeviceStatus::UNIT_CHECK) {
            let mut sense = [0; SENSE_COUNT as usize];
            if let Some(n) = self.read_sense(&mut sense) {
                self.sense = (sense, n);
            }
            // Command reject (sense byte 0, bit 0): the device got a
            // command ccwgate never issues (NOP, SENSE ID and SENSE suit
            // any device), so the relay changed the program. The host's.
            if self
                .sense()
                .first()
                .is_some_and(|b| b & SENSE_COMMAND_REJECT != 0)
            {
                return None;
            }
            return Some("device-error");
        }
        None
    }

    /// What a run that ended with `summary` did not exercise, when
    /// `require_race` is in force ([`race_not_exercised`], the device's
    /// kind told by its SENSE ID; without one, a real device).
    pub fn missing_race(&self, summary: &Summary) -> Option<&'static str> {
        let kind = self
            .baseline
            .map_or(DeviceKind::Real, |id| device_kind(&id));
        race_not_exercised(&self.config, summary, kind)
    }

    /// The sense bytes read after a device's unit check (`device-error`).
    pub fn sense(&self) -> &[u8] {
        &self.sense.0[..usize::from(self.sense.1)]
    }

    /// Reads the sense bytes after a unit check, outside the oracle (the
    /// run is over): SENSE into the next area, its status within the I/O
    /// timeout. `None` when the device would not say.
    fn read_sense(&mut self, into: &mut [u8; SENSE_COUNT as usize]) -> Option<u8> {
        self.slot ^= 1;
        let (area, base) = self.chan.area(self.slot);
        let program = build(area, base, ProgramKind::Sense, None);
        self.chan.publish(self.slot, None);
        let orb = Orb::format1(self.next_intparm, program.first_ccw);
        if self.chan.ssch(&orb) != Cc::Zero {
            return None;
        }
        let deadline = self.chan.tod() + self.status_timeout();
        while let Some(irq) = self.chan.next_interruption(deadline) {
            let sc = irq.scsw.sc();
            if irq.tsch_cc != Cc::Zero || !sc.contains(StatusControl::PRIMARY) {
                continue;
            }
            let stored = SENSE_COUNT.saturating_sub(irq.scsw.count());
            let n = usize::from(stored).min(into.len());
            self.chan.observe(self.slot);
            into[..n].copy_from_slice(&self.chan.area(self.slot).0.data[..n]);
            return u8::try_from(n).ok();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::{Config, Scenario};
    use crate::css::cmd;
    use crate::driver::test_util::*;
    use crate::sim::{HostBug, Sim};

    /// Only "not operational" is excused by a device gone or pathless:
    /// another condition-code anomaly stays the host's.
    #[test]
    fn a_gone_device_excuses_only_not_operational() {
        for (device, reason) in [
            (DeviceState::Gone, Some("device-gone")),
            (DeviceState::NoPath, Some("device-gone")),
            (DeviceState::Present, None),
        ] {
            let mut k = Kernelish::new(Sim::with_bug(SID, HostBug::DeviceGone, 30));
            k.device = Some(device);
            let f = Driver::new(&mut k, &config(Scenario::Ssch, 7, 200))
                .run(|_| {})
                .unwrap_err();
            assert_eq!(f.violation.what, "ssch-not-operational");
            assert_eq!(f.environment, reason, "{device:?}");
            let mut k = Kernelish::new(Sim::with_bug(SID, HostBug::BusyAfterIdle, 30));
            k.device = Some(device);
            let f = Driver::new(&mut k, &config(Scenario::Ssch, 7, 200))
                .run(|_| {})
                .unwrap_err();
            assert_eq!(f.violation.what, "ssch-busy-while-idle");
            assert_eq!(f.environment, None, "{device:?}");
        }
    }

    /// `require_race` judged by the device's SENSE ID: under vfio-ccw a
    /// device the baseline shows emulated is not required to race.
    #[test]
    fn the_race_is_required_unless_the_baseline_shows_an_emulated_device() {
        let c = config(Scenario::CschRace, 3, 50);
        let strict = Config {
            require_race: Some(true),
            ..c
        };
        let vfio = Config {
            host: crate::cmdline::Host::VfioCcw,
            ..c
        };
        for (c, missing) in [(strict, Some("window")), (vfio, None)] {
            let mut sim = Sim::new(SID);
            let mut d = Driver::new(&mut sim, &c);
            let s = d.run(|_| {}).unwrap();
            assert_eq!(d.missing_race(&s), missing);
        }
    }

    /// The sense bytes are read into the other area, so the program that
    /// got the unit check stays as the device left it; only the SENSE's
    /// own primary status is taken for its count, status presented
    /// before it (unsolicited, or none for TEST SUBCHANNEL to find) is
    /// passed over, and a device slow to answer is waited for.
    #[test]
    fn sense_is_read_into_the_other_area_from_its_own_status() {
        for at in [29, 30] {
            let mut k = Kernelish::new(Sim::with_bug(SID, HostBug::UnitCheck, at));
            k.before_sense = std::vec![no_status(), attention()];
            let mut d = Driver::new(&mut k, &config(Scenario::Ssch, 7, 200));
            let f = d.run(|_| {}).unwrap_err();
            assert_eq!(f.environment, Some("device-error"));
            assert_eq!(d.sense(), &[0x10, 0, 0, 0], "unit check at start {at}");
            let failed = d.slot ^ 1;
            assert_eq!(failed, (at % 2) as usize, "the area of start {at}");
            let cmds = [k.sim.area(0).0.ccws[0].cmd, k.sim.area(1).0.ccws[0].cmd];
            assert_ne!(cmds[failed], cmd::SENSE, "start {at}'s program kept");
            assert_eq!(cmds[failed ^ 1], cmd::SENSE);
        }
        // A device that takes a while to answer the SENSE is waited for.
        let mut k = Kernelish::new(Sim::with_bug(SID, HostBug::UnitCheck, 30));
        k.slow_sense = true;
        let mut d = Driver::new(&mut k, &config(Scenario::Ssch, 7, 200));
        let f = d.run(|_| {}).unwrap_err();
        assert_eq!(f.environment, Some("device-error"));
        assert_eq!(d.sense(), &[0x10, 0, 0, 0], "a slow SENSE");
    }

    #[test]
    fn the_environment_is_told_from_the_host() {
        // The device's own unit check: ERROR device-error with its sense.
        let mut sim = Sim::with_bug(SID, HostBug::UnitCheck, 30);
        let mut d = Driver::new(&mut sim, &config(Scenario::Ssch, 7, 200));
        let f = d.run(|_| {}).unwrap_err();
        assert_eq!(f.environment, Some("device-error"));
        assert_eq!(d.sense(), &[0x10, 0, 0, 0]);
        // The relay's made-up unit exception stays the host's fault.
        let f = detects(HostBug::UnitException, Scenario::Ssch);
        assert_eq!(f.violation.what, "relay-unit-exception");
        assert_eq!(f.environment, None);
        // Not operational with the device gone: ERROR device-gone.
        let f = detects(HostBug::DeviceGone, Scenario::Ssch);
        assert_eq!(f.violation.what, "ssch-not-operational");
        assert_eq!(f.environment, Some("device-gone"));
        // A command reject: the device got a command ccwgate never sends,
        // so the host changed the program: a FAIL, with the sense kept.
        let mut sim = Sim::with_bug(SID, HostBug::CommandReject, 30);
        let mut d = Driver::new(&mut sim, &config(Scenario::Ssch, 7, 200));
        let f = d.run(|_| {}).unwrap_err();
        assert_eq!(f.violation.what, "device-status-error");
        assert_eq!(f.environment, None);
        assert_eq!(d.sense().first(), Some(&0x80));
        // A device that never lets a program begin: ERROR device-busy.
        let f = detects(HostBug::NeverInitiate, Scenario::Ssch);
        assert_eq!(f.environment, Some("device-busy"));
        // Everything else stays a FAIL.
        for bug in [
            HostBug::MisattributeClear,
            HostBug::BusyAfterIdle,
            HostBug::LoseStatus,
        ] {
            let scenario = if bug == HostBug::MisattributeClear {
                Scenario::CschRace
            } else {
                Scenario::Ssch
            };
            assert_eq!(detects(bug, scenario).environment, None, "{bug:?}");
        }
    }
}
