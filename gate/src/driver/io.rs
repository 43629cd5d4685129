//! Issuing and collecting: START, CLEAR and HALT SUBCHANNEL, the waits for
//! status, and every instruction and interruption fed to the oracle (or,
//! with `checks=none`, to the [`Tracker`]) in the order they happened.

use super::area::build;
use super::{violation, Channel, Driver, Failure, ProgramKind, Status, NOW};
use crate::css::{Cc, SenseId, StatusControl};
use crate::oracle::{Class, Interruption, Outstanding};
use crate::tod::us_to_tod;
use crate::trace::{Event, EventKind};

/// `checks=none`: what the driver must know to issue the same instructions
/// (is an operation outstanding, since when a start has been), without
/// judging anything.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Tracker {
    outstanding: bool,
    /// When the outstanding start was issued (for `delay=auto`'s latency).
    start: Option<u64>,
}

impl Tracker {
    fn instruction(&mut self, cc: Cc, start_at: Option<u64>) {
        if cc == Cc::Zero {
            self.outstanding = true;
            // A clear or halt takes over the start: its end is theirs.
            self.start = start_at;
        }
    }

    /// `Some(start issue time or None)` when `irq` ended what was
    /// outstanding.
    fn interruption(&mut self, irq: &Interruption) -> Option<Option<u64>> {
        let device_active = irq
            .scsw
            .ac()
            .contains(crate::css::ActivityControl::DEVICE_ACTIVE);
        if irq.tsch_cc != Cc::Zero || !self.outstanding || device_active {
            return None;
        }
        self.outstanding = false;
        Some(self.start.take())
    }
}

const SSCH_RETRIES: u32 = 4;
/// How long a start answered "busy" on an idle subchannel (a `host=vfio-ccw`
/// deviation) waits before trying again: 100 µs.
const BUSY_BACKOFF: u64 = us_to_tod(100);

impl<C: Channel + Status> Driver<C> {
    /// Whether an operation is outstanding.
    pub(super) fn outstanding(&self) -> bool {
        if self.config.checks {
            self.oracle.outstanding() != Outstanding::Idle
        } else {
            self.tracker.outstanding
        }
    }

    fn record(
        &mut self,
        kind: EventKind,
        sid: u32,
        cc: u8,
        intparm: u32,
        scsw: [u32; 3],
        tod: u64,
    ) {
        if !self.config.checks {
            return;
        }
        let (t0, iteration) = (self.t0, self.iteration);
        self.trace.push_with(|seq| Event {
            seq,
            tod: tod.wrapping_sub(t0),
            iteration,
            kind,
            sid,
            cc,
            intparm,
            scsw,
        });
        if self.config.verbose >= 3 {
            if let Some(event) = self.trace.last() {
                self.chan.log(event);
            }
        }
    }

    /// Builds `kind` in the next area and starts it, collecting any status
    /// that was pending (cc 1) before trying again.
    pub(super) fn start(&mut self, kind: ProgramKind) -> Result<(), Failure> {
        // Status left pending since the last iteration makes this START
        // cc 1, and is taken and judged below.
        self.drain_owed = false;
        self.slot ^= 1;
        // With checks=none nothing looks at the data after the baseline.
        let clean_from = if self.config.checks || self.baseline.is_none() {
            self.clean_from[self.slot].take()
        } else {
            Some(0)
        };
        let intparm = self.next_intparm;
        self.next_intparm = if self.intparm_base == 0 {
            intparm.wrapping_add(1).max(1)
        } else {
            self.intparm_base | (intparm.wrapping_add(1) & 0x00ff_ffff).max(1)
        };
        // Only the parameter and the program differ from start to start.
        self.orb.intparm = intparm;
        let (area, base) = self.chan.area(self.slot);
        let program = build(area, base, kind, clean_from);
        self.chan.publish(self.slot, clean_from);
        self.orb.cpa = program.first_ccw;
        let mut last_cc = Cc::Zero;
        for _ in 0..SSCH_RETRIES {
            self.catch_up()?;
            let cc = self.chan.ssch(&self.orb);
            last_cc = cc;
            let tod = self.chan.tod();
            self.record(
                EventKind::Ssch,
                self.chan.sid(),
                cc.as_u8(),
                intparm,
                [0; 3],
                tod,
            );
            if self.config.checks {
                self.oracle
                    .ssch(intparm, program, cc, tod)
                    .map_err(|v| self.fail(v))?;
            } else {
                self.tracker.instruction(cc, Some(tod));
            }
            if cc == Cc::Zero {
                self.summary.starts += 1;
                self.in_flight = Some(kind);
                return Ok(());
            }
            if cc == Cc::Two {
                // Busy while idle, accepted as a host deviation: nothing was
                // started. Take what status comes meanwhile, then again.
                let deadline = self.chan.tod() + BUSY_BACKOFF;
                while let Some(irq) = self.chan.next_interruption(deadline) {
                    self.feed(&irq)?;
                }
                continue;
            }
            // Status was pending: take it, then try again.
            let deadline = tod + self.io_timeout();
            match self.chan.next_interruption(deadline) {
                Some(irq) => self.feed(&irq)?,
                None => {
                    return Err(self.fail(violation(
                        Class::CcAnomaly,
                        "ssch-cc1-without-status",
                        0,
                        1,
                    )))
                }
            }
        }
        // Every try refused: busy each time (the host stack's doing: the
        // guest's subchannel is idle), or status pending each time.
        let v = if last_cc == Cc::Two {
            violation(Class::CcAnomaly, "ssch-busy-forever", 0, 2)
        } else {
            violation(Class::CcAnomaly, "ssch-status-pending-forever", 0, 1)
        };
        Err(self.fail(v))
    }

    pub(super) fn clear(&mut self) -> Result<(), Failure> {
        self.end_function(EventKind::Csch)
    }

    pub(super) fn halt(&mut self) -> Result<(), Failure> {
        self.end_function(EventKind::Hsch)
    }

    /// CLEAR or HALT SUBCHANNEL: no operand, the subchannel's current
    /// interruption parameter in the trace.
    fn end_function(&mut self, kind: EventKind) -> Result<(), Failure> {
        if self.drain_owed {
            // A CLEAR would withdraw what the drain is to judge.
            self.drain_now()?;
        }
        self.catch_up()?;
        let clear = kind == EventKind::Csch;
        let cc = if clear {
            self.chan.csch()
        } else {
            self.chan.hsch()
        };
        let tod = self.chan.tod();
        let intparm = self.oracle.current_intparm();
        self.record(kind, self.chan.sid(), cc.as_u8(), intparm, [0; 3], tod);
        if clear {
            self.summary.clears += 1;
        } else {
            self.summary.halts += 1;
        }
        if !self.config.checks {
            self.tracker.instruction(cc, None);
            return Ok(());
        }
        let checked = if clear {
            self.oracle.csch(cc, tod)
        } else {
            self.oracle.hsch(cc, tod)
        };
        checked.map_err(|v| self.fail(v))
    }

    pub(super) fn io_timeout(&self) -> u64 {
        us_to_tod(u64::from(self.config.io_timeout_ms) * 1000)
    }

    /// The race window after a start: status that arrives within the
    /// configured delay is collected, then the next instruction goes out.
    pub(super) fn window(&mut self) -> Result<(), Failure> {
        if self.delay == 0 {
            return Ok(());
        }
        let deadline = self.chan.tod() + u64::from(self.delay);
        while let Some(irq) = self.chan.next_interruption(deadline) {
            self.feed(&irq)?;
        }
        Ok(())
    }

    /// Collects status until nothing is outstanding, within the I/O timeout;
    /// then, with `wait_owed`, the status a deviation left owed.
    pub(super) fn settle(&mut self) -> Result<(), Failure> {
        self.settle_by()?;
        if self.config.checks && self.config.wait_owed && self.oracle.owed().is_some() {
            let deadline = self.chan.tod() + self.io_timeout();
            while self.oracle.owed().is_some() {
                match self.chan.next_interruption(deadline) {
                    Some(irq) => self.feed(&irq)?,
                    None => {
                        let tod = self.chan.tod();
                        self.oracle.owed_expired(tod).map_err(|v| self.fail(v))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn settle_by(&mut self) -> Result<(), Failure> {
        // Status that is there at once (an emulated device's always is)
        // needs no clock reading for a deadline.
        let mut deadline = NOW;
        while self.outstanding() {
            match self.chan.next_interruption(deadline) {
                Some(irq) => self.feed(&irq)?,
                None if deadline == NOW => deadline = self.chan.tod() + self.io_timeout(),
                None if !self.config.checks => break,
                None => {
                    let tod = self.chan.tod();
                    self.record(
                        EventKind::Expired,
                        self.chan.sid(),
                        0,
                        self.oracle.current_intparm(),
                        [0; 3],
                        tod,
                    );
                    self.oracle.expired(tod).map_err(|v| self.fail(v))?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Feeds status that was collected before the instruction about to go out.
    #[inline(always)]
    fn catch_up(&mut self) -> Result<(), Failure> {
        match self.chan.collected() {
            None => Ok(()),
            Some(irq) => self.catch_up_from(&irq),
        }
    }

    #[inline(never)]
    fn catch_up_from(&mut self, first: &Interruption) -> Result<(), Failure> {
        self.feed(first)?;
        while let Some(irq) = self.chan.collected() {
            self.feed(&irq)?;
        }
        Ok(())
    }

    /// Between iterations nothing is outstanding: whatever status is pending
    /// now was not asked for (or was presented twice). Where the next
    /// START's condition code tells the same ([`Status::start_reveals_pending`]),
    /// that START takes it; after the last iteration nothing follows, so
    /// the drain runs then.
    #[inline(always)]
    pub(super) fn drain(&mut self) -> Result<(), Failure> {
        if self.chan.start_reveals_pending() && self.iteration + 1 < self.iterations() {
            self.drain_owed = true;
            return Ok(());
        }
        self.drain_now()
    }

    #[inline(never)]
    fn drain_now(&mut self) -> Result<(), Failure> {
        self.drain_owed = false;
        while let Some(irq) = self.chan.next_interruption(NOW) {
            self.feed(&irq)?;
        }
        Ok(())
    }

    fn feed(&mut self, irq: &Interruption) -> Result<(), Failure> {
        self.record(
            EventKind::Interruption,
            irq.sid,
            irq.tsch_cc.as_u8(),
            irq.intparm,
            irq.scsw.words(),
            irq.tod,
        );
        self.summary.interruptions += 1;
        if !self.config.checks {
            if let Some(start) = self.tracker.interruption(irq) {
                if let Some(issued) = start {
                    self.summary.latency.record(irq.tod.saturating_sub(issued));
                }
                if self.baseline.is_none() {
                    // The only look at the data: the baseline ends the set-up.
                    self.chan.observe(self.slot);
                    self.baseline = SenseId::parse(&self.chan.area(self.slot).0.data).ok();
                }
            }
            return Ok(());
        }
        let done = self.oracle.interruption(irq).map_err(|v| self.fail(v))?;
        if let Some(done) = done {
            // PoP ch. 16 Count: with primary status the residual count of
            // the last CCW is exact; a separate device end carries none.
            let residual = irq
                .scsw
                .sc()
                .contains(StatusControl::PRIMARY)
                .then(|| irq.scsw.count());
            self.operation_ended(done, residual)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::{Config, Scenario};
    use crate::driver::test_util::*;
    use crate::sim::{HostBug, Sim};
    use std::vec::Vec;

    /// `checks=none`: an operation is outstanding from an accepted
    /// instruction until status that ends it: not TEST SUBCHANNEL finding
    /// nothing, not channel end with the device still active; status
    /// while nothing is outstanding ends nothing. A clear or halt takes
    /// the start over, and with it the latency.
    #[test]
    fn the_tracker_ends_an_operation_only_with_its_final_status() {
        use crate::css::{ActivityControl, Scsw};
        let irq = |tsch_cc, w0: u32| Interruption {
            sid: SID,
            intparm: 1,
            tsch_cc,
            scsw: Scsw::from_words([w0 | StatusControl::PENDING.bits(), 0, 0]),
            tod: 0,
        };
        let primary = StatusControl::PRIMARY.bits();
        let final_status = irq(Cc::Zero, primary | StatusControl::SECONDARY.bits());
        let mut t = Tracker::default();
        assert_eq!(t.interruption(&final_status), None, "nothing outstanding");
        t.instruction(Cc::One, Some(4));
        assert_eq!(t.interruption(&final_status), None, "cc 1 starts nothing");
        t.instruction(Cc::Zero, Some(5));
        assert_eq!(t.interruption(&irq(Cc::One, 0)), None, "no status");
        let channel_end = irq(Cc::Zero, primary | ActivityControl::DEVICE_ACTIVE.bits());
        assert_eq!(t.interruption(&channel_end), None, "device still active");
        assert_eq!(t.interruption(&final_status), Some(Some(5)));
        assert_eq!(t.interruption(&final_status), None, "ended once");
        t.instruction(Cc::Zero, Some(6));
        t.instruction(Cc::Zero, None);
        assert_eq!(t.interruption(&final_status), Some(None), "the clear's");
    }

    #[test]
    fn busy_on_an_idle_subchannel_is_retried_under_vfio_ccw() {
        let c = Config {
            host: crate::cmdline::Host::VfioCcw,
            ..config(Scenario::Ssch, 7, 200)
        };
        let mut sim = Sim::with_bug(SID, HostBug::BusyAfterIdle, 30);
        let s = run(&mut sim, &c).expect("accepted and retried");
        assert!(sim.fired());
        assert_eq!(
            s.deviations
                .get(crate::oracle::Deviation::SschBusyWhileIdle),
            1
        );
        assert_eq!(s.iterations, 200);
        // The same host under the strict profile fails.
        let mut sim = Sim::with_bug(SID, HostBug::BusyAfterIdle, 30);
        let f = run(&mut sim, &config(Scenario::Ssch, 7, 200)).unwrap_err();
        assert_eq!(f.violation.what, "ssch-busy-while-idle");
    }

    /// A START refused on every try fails with what it was refused for:
    /// busy each time (vfio-ccw, where busy on an idle subchannel is
    /// retried), status pending each time (the device's doing), or cc 1
    /// with no status to take, after waiting the I/O timeout for it.
    #[test]
    fn a_start_refused_every_time_fails_with_why() {
        let vfio = Config {
            host: crate::cmdline::Host::VfioCcw,
            io_timeout_ms: 5,
            ..config(Scenario::Ssch, 1, 10)
        };
        let strict = Config {
            host: crate::cmdline::Host::Strict,
            ..vfio
        };
        for (c, refuse, what, environment) in [
            (vfio, (Cc::Two, None), "ssch-busy-forever", None),
            (strict, (Cc::Two, None), "ssch-busy-while-idle", None),
            (
                vfio,
                (Cc::One, Some(attention())),
                "ssch-status-pending-forever",
                Some("device-busy"),
            ),
            (vfio, (Cc::One, None), "ssch-cc1-without-status", None),
        ] {
            let mut k = Kernelish::new(Sim::new(SID));
            k.refuse = Some(refuse);
            let before = k.sim.tod();
            let f = Driver::new(&mut k, &c).run(|_| {}).unwrap_err();
            assert_eq!((f.violation.what, f.environment), (what, environment));
            let waited = k.sim.tod() - before;
            if refuse == (Cc::One, None) {
                assert!(
                    (us_to_tod(5_000)..us_to_tod(5_100)).contains(&waited),
                    "waited {waited}"
                );
            } else {
                assert!(waited < us_to_tod(1_000), "{what}: waited {waited}");
            }
        }
    }

    /// Busy on an idle subchannel (vfio-ccw) is tried again after
    /// [`BUSY_BACKOFF`], not at once.
    #[test]
    fn busy_is_tried_again_after_the_backoff() {
        let c = Config {
            host: crate::cmdline::Host::VfioCcw,
            verbose: 3,
            ..config(Scenario::Ssch, 7, 40)
        };
        let mut k = Kernelish::new(Sim::with_bug(SID, HostBug::BusyAfterIdle, 30));
        run_kernelish(&mut k, &c);
        let starts: Vec<&Event> = k
            .logged
            .iter()
            .filter(|e| e.kind == EventKind::Ssch)
            .collect();
        let busy = starts.iter().position(|e| e.cc == 2).expect("busy once");
        let gap = starts[busy + 1].tod - starts[busy].tod;
        assert!(
            (BUSY_BACKOFF..BUSY_BACKOFF + us_to_tod(10)).contains(&gap),
            "tried again after {gap}"
        );
    }

    /// A race step's CLEAR or HALT goes out the configured delay after its
    /// start, status arriving meanwhile taken; at delay 0 at once.
    #[test]
    fn the_race_window_lasts_the_delay() {
        for (delay, scenario) in [
            (us_to_tod(100), Scenario::CschRace),
            (0, Scenario::HschRace),
        ] {
            let c = Config {
                delay: crate::cmdline::DelaySweep::new(delay as u32, delay as u32, 1).unwrap(),
                verbose: 3,
                ..config(scenario, 2, 10)
            };
            let mut k = Kernelish::new(Sim::new(SID));
            run_kernelish(&mut k, &c);
            let mut gaps = 0;
            for w in k.logged.windows(3) {
                if w[0].kind != EventKind::Ssch
                    || !matches!(w[2].kind, EventKind::Csch | EventKind::Hsch)
                {
                    continue;
                }
                // The start's status within the window; at delay 0 after.
                assert_eq!(w[1].kind == EventKind::Interruption, delay > 0);
                let gap = w[2].tod - w[0].tod;
                assert!(
                    (delay..delay + us_to_tod(10)).contains(&gap),
                    "delay {delay}: {gap}"
                );
                gaps += 1;
            }
            if delay == 0 {
                // Ssch, Hsch back to back: no window of three.
                let back_to_back = k
                    .logged
                    .windows(2)
                    .filter(|w| w[0].kind == EventKind::Ssch && w[1].kind == EventKind::Hsch);
                gaps += back_to_back.count();
            }
            assert_eq!(gaps, 10, "delay {delay}");
        }
    }

    /// Where the next START reveals pending status, the drain after the
    /// last iteration still runs: nothing follows to take it.
    #[test]
    fn the_last_iteration_is_drained_even_where_a_start_would_reveal() {
        for (reveals, at) in [(true, 11), (false, 11), (false, 6)] {
            let mut k = Kernelish::new(Sim::new(SID));
            k.reveals = reveals;
            // The baseline's start, then one per iteration.
            k.after_start = Some((at, attention()));
            let s = run_kernelish(&mut k, &config(Scenario::Ssch, 1, 10));
            assert_eq!(s.unsolicited, 1, "reveals {reveals}, after start {at}");
        }
    }

    /// vfio-ccw's start status after a CLEAR ends the clear early and owes
    /// its own status: by default the next START goes out at once (and
    /// finds the owed status pending, cc 1); with `wait_owed=1` it is
    /// taken first, waited for no longer than the I/O timeout.
    #[test]
    fn wait_owed_takes_the_owed_status_before_the_next_start() {
        let c = |wait_owed| Config {
            host: crate::cmdline::Host::VfioCcw,
            delay: crate::cmdline::DelaySweep::new(0, 0, 1).unwrap(),
            io_timeout_ms: 5,
            verbose: 3,
            wait_owed,
            ..config(Scenario::CschRace, 1, 20)
        };
        for wait_owed in [false, true] {
            let mut k = Kernelish::new(Sim::new(SID));
            k.start_status_over_clear = true;
            let s = run_kernelish(&mut k, &c(wait_owed));
            let d = crate::oracle::Deviation::StartStatusAfterClear;
            assert_eq!(s.deviations.get(d), 20);
            let cc1 = k
                .logged
                .iter()
                .filter(|e| e.kind == EventKind::Ssch && e.cc == 1);
            assert_eq!(cc1.count(), if wait_owed { 0 } else { 20 });
        }
        let mut k = Kernelish::new(Sim::new(SID));
        k.start_status_over_clear = true;
        k.clear_status_lost = true;
        let before = k.sim.tod();
        let f = Driver::new(&mut k, &c(true)).run(|_| {}).unwrap_err();
        assert_eq!(f.violation.what, "owed-clear-status-never-presented");
        let waited = k.sim.tod() - before;
        assert!(
            (us_to_tod(5_000)..us_to_tod(5_100)).contains(&waited),
            "waited {waited}"
        );
    }

    #[test]
    fn lost_status_waits_no_longer_than_the_io_timeout() {
        let mut sim = Sim::with_bug(SID, HostBug::LoseStatus, 1);
        let c = Config {
            io_timeout_ms: 5,
            ..config(Scenario::Ssch, 1, 10)
        };
        let before = sim.tod();
        let f = run(&mut sim, &c).unwrap_err();
        assert_eq!(f.violation.class, Class::LostInterrupt);
        let waited = sim.tod() - before;
        assert!(
            (us_to_tod(5_000)..us_to_tod(6_000)).contains(&waited),
            "waited {waited}"
        );
    }
}
