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

/// Tries of a start that each answered cc 1 (status pending, taken before
/// the next try) before it fails `ssch-status-pending-forever`.
/// The wait for owed status: the configured `io_timeout` (TOD units), or
/// [`SLOW_HOST_FACTOR`] times the slowest start-to-status time measured so
/// far where that is longer, never more than [`MAX_STATUS_WAIT`]. A fixed
/// bound is wrong where the host decides the time: on the nested real stack
/// under load a start's status took 1.1 s and a CLEAR's status waited for
/// 1 s was judged lost (`clear-never-completed`). A truly lost status is
/// still found, later by as much as the host is slow.
pub(super) fn status_wait(io_timeout: u64, slowest: Option<u64>) -> u64 {
    let paced = slowest.map_or(0, |s| s.saturating_mul(SLOW_HOST_FACTOR));
    io_timeout.max(paced.min(MAX_STATUS_WAIT))
}
/// See [`status_wait`].
const SLOW_HOST_FACTOR: u64 = 4;
/// See [`status_wait`]: 60 s.
const MAX_STATUS_WAIT: u64 = us_to_tod(60_000_000);

const SSCH_RETRIES: u32 = 4;

// Busy (cc 2) on a subchannel the guest sees idle is the `host=vfio-ccw`
// deviation `ssch-busy-while-idle`: the host is still busy with the last
// CLEAR or HALT until its deferred work for it ran (vfio_ccw's FSM leaves
// CP_PENDING in `vfio_ccw_sch_io_todo`, a work item). Every start's status
// reaches the guest through that same work item, so how long the host stays
// busy scales with its start-to-status time, not with a constant: nested
// under TCG it takes milliseconds, and a fixed 400 µs (4 tries 100 µs apart)
// failed almost every race run there (`ssch-busy-forever`) that a thousand
// tries passed. So a start answered busy is tried again for
// BUSY_LATENCIES times the slowest start-to-final-status time measured so
// far (`Summary::latency`: every completed start, the baseline and the
// warm-up of `delay=auto` included), at least BUSY_FLOOR (more than the old
// 400 µs), at most the I/O timeout; before any start completed, for the I/O
// timeout. Only a host still busy then fails `ssch-busy-forever`. The wait
// between tries (status arriving meanwhile is taken) starts at
// BUSY_BACKOFF_FIRST and doubles up to a BUSY_STEPS-th of that bound: a host
// busy for a moment is tried again within microseconds, a slow one is not
// hammered, and one that never goes idle is tried about BUSY_STEPS +
// log2(bound / BUSY_BACKOFF_FIRST) times (31 for the default 1 s), leaving
// trace room for what came before. All of it runs only once a start was
// answered busy: an accepted start pays nothing for it.

/// A start is tried again for this many times the slowest start-to-status
/// time measured.
const BUSY_LATENCIES: u64 = 16;
/// ... but for no less than 1 ms (the I/O timeout permitting).
const BUSY_FLOOR: u64 = us_to_tod(1000);
/// The first wait after a busy answer: 2 µs.
const BUSY_BACKOFF_FIRST: u64 = us_to_tod(2);
/// The wait doubles up to this fraction of the bound.
const BUSY_STEPS: u64 = 16;

/// The busy retry of one start: until when it may still be tried, and the
/// wait before its next try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BusyRetry {
    deadline: u64,
    wait: u64,
    longest: u64,
}

impl BusyRetry {
    /// At the first busy answer, at `tod`, with the slowest start-to-status
    /// time measured (`None`: nothing measured yet) and the I/O timeout.
    fn new(tod: u64, slowest: Option<u64>, io_timeout: u64) -> Self {
        let bound = match slowest {
            Some(max) => max
                .saturating_mul(BUSY_LATENCIES)
                .max(BUSY_FLOOR)
                .min(io_timeout),
            None => io_timeout,
        };
        BusyRetry {
            deadline: tod.saturating_add(bound),
            wait: BUSY_BACKOFF_FIRST,
            longest: (bound / BUSY_STEPS).max(BUSY_BACKOFF_FIRST),
        }
    }

    /// After a busy answer at `tod`: until when to wait before trying
    /// again (never past the bound), or `None` once the bound has passed.
    fn next_try(&mut self, tod: u64) -> Option<u64> {
        if tod >= self.deadline {
            return None;
        }
        let until = tod.saturating_add(self.wait).min(self.deadline);
        self.wait = self.wait.saturating_mul(2).min(self.longest);
        Some(until)
    }
}

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
        let mut busy = None;
        let mut pending = 0;
        loop {
            self.catch_up()?;
            let cc = self.chan.ssch(&self.orb);
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
                self.busy_wait(&mut busy, tod)?;
                continue;
            }
            // Status was pending: take it, then try again.
            let deadline = tod + self.status_timeout();
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
            pending += 1;
            if pending == SSCH_RETRIES {
                // Status pending at every try: the device's doing (ERROR
                // `device-busy`, see environment.rs).
                let v = violation(Class::CcAnomaly, "ssch-status-pending-forever", 0, 1);
                return Err(self.fail(v));
            }
        }
    }

    /// A start answered busy at `tod` on a subchannel the guest sees idle:
    /// waits before its next try (see [`BusyRetry`]), taking any status
    /// that comes; `ssch-busy-forever` once the host's pace allows no
    /// more. Out of line: an accepted start never comes here.
    #[inline(never)]
    fn busy_wait(&mut self, busy: &mut Option<BusyRetry>, tod: u64) -> Result<(), Failure> {
        let (slowest, io_timeout) = (self.summary.latency.max(), self.io_timeout());
        let retry = busy.get_or_insert_with(|| BusyRetry::new(tod, slowest, io_timeout));
        let Some(until) = retry.next_try(tod) else {
            // The host's doing: the guest's subchannel is idle.
            let v = violation(Class::CcAnomaly, "ssch-busy-forever", 0, 2);
            return Err(self.fail(v));
        };
        while let Some(irq) = self.chan.next_interruption(until) {
            self.feed(&irq)?;
        }
        Ok(())
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

    /// How long status that is owed may take: `io_timeout_ms`, or longer
    /// on a host measured slower than that ([`status_wait`]).
    pub(super) fn status_timeout(&self) -> u64 {
        status_wait(self.io_timeout(), self.summary.latency.max())
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
            let deadline = self.chan.tod() + self.status_timeout();
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
                None if deadline == NOW => deadline = self.chan.tod() + self.status_timeout(),
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
            // cc 1 without status waits the I/O timeout for it; so does
            // busy under vfio-ccw, since no start ever completed to
            // measure the host's pace by.
            if refuse == (Cc::One, None) || what == "ssch-busy-forever" {
                assert!(
                    (us_to_tod(5_000)..us_to_tod(5_100)).contains(&waited),
                    "{what}: waited {waited}"
                );
            } else {
                assert!(waited < us_to_tod(1_000), "{what}: waited {waited}");
            }
        }
    }

    /// The busy retry's bound: BUSY_LATENCIES times the slowest
    /// start-to-status time, no less than BUSY_FLOOR, no more than the I/O
    /// timeout, which is the bound while nothing is measured; its waits
    /// double from BUSY_BACKOFF_FIRST up to a BUSY_STEPS-th of the bound
    /// and never reach past it.
    #[test]
    fn the_busy_retry_is_bounded_by_the_measured_pace() {
        let second = us_to_tod(1_000_000);
        let at = 1 << 40;
        for (slowest, timeout, bound) in [
            (None, second, second),
            (None, us_to_tod(5_000), us_to_tod(5_000)),
            (Some(us_to_tod(1_000)), second, us_to_tod(16_000)),
            (Some(us_to_tod(200)), second, us_to_tod(3_200)),
            (Some(us_to_tod(10)), second, BUSY_FLOOR),
            (Some(0), second, BUSY_FLOOR),
            (Some(us_to_tod(100_000)), second, second),
            (Some(us_to_tod(10)), us_to_tod(500), us_to_tod(500)),
            (Some(u64::MAX), second, second),
        ] {
            let r = BusyRetry::new(at, slowest, timeout);
            let longest = (bound / BUSY_STEPS).max(BUSY_BACKOFF_FIRST);
            let expected = BusyRetry {
                deadline: at + bound,
                wait: BUSY_BACKOFF_FIRST,
                longest,
            };
            assert_eq!(r, expected, "{slowest:?} {timeout}");
        }
        // Each try at once when its wait is over: the waits, and when the
        // last try was (no more than 100 tries).
        let tries = |mut r: BusyRetry| {
            let (mut tod, mut waits) = (at, Vec::new());
            while let Some(until) = r.next_try(tod).filter(|_| waits.len() < 100) {
                waits.push(until - tod);
                tod = until;
            }
            (waits, tod)
        };
        // 16 ms: waits of 2, 4, 8 ... µs up to 1 ms, the last one cut at
        // the bound; a try at or past it is the last.
        let mut r = BusyRetry::new(at, Some(us_to_tod(1_000)), second);
        let (waits, tod) = tries(r);
        assert_eq!(tod, at + us_to_tod(16_000));
        let doubling: Vec<u64> = (1..=9).map(|n| us_to_tod(1 << n)).collect();
        assert_eq!(waits[..9], doubling[..]);
        let tail = &waits[9..];
        assert!(tail[..tail.len() - 1]
            .iter()
            .all(|&w| w == us_to_tod(1_000)));
        assert!(tail[tail.len() - 1] <= us_to_tod(1_000));
        assert_eq!(waits.len(), 9 + 14 + 1, "{waits:?}");
        assert_eq!(r.next_try(at + us_to_tod(16_000)), None);
        assert_eq!(r.next_try(at + us_to_tod(17_000)), None);
        // A host that never goes idle is tried 31 times in the default
        // I/O timeout's second: 15 waits doubling to 32 ms, 15 of 62.5 ms.
        let (waits, tod) = tries(BusyRetry::new(at, None, second));
        assert_eq!((tod, waits.len() + 1), (at + second, 31));
        // A try just before the bound waits only up to it.
        let mut r = BusyRetry::new(at, None, us_to_tod(5_000));
        assert_eq!(
            r.next_try(at + us_to_tod(4_999)),
            Some(at + us_to_tod(5_000))
        );
        // The wait never falls below the first one, however short the bound.
        let r = BusyRetry::new(at, None, us_to_tod(16));
        assert_eq!(r.longest, BUSY_BACKOFF_FIRST);
    }

    /// On a fast host, busy on an idle subchannel (vfio-ccw) is tried
    /// again within microseconds ([`BUSY_BACKOFF_FIRST`]), not at once.
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
            (BUSY_BACKOFF_FIRST..BUSY_BACKOFF_FIRST + us_to_tod(10)).contains(&gap),
            "tried again after {gap}"
        );
    }

    /// The busy STARTs of a run's trace, in episodes (a try accepted ends
    /// one): each episode's busy tries' times and the accepted one's.
    fn busy_episodes(logged: &[Event]) -> Vec<(Vec<u64>, Option<u64>)> {
        let mut episodes = Vec::new();
        let mut busy = Vec::new();
        for e in logged.iter().filter(|e| e.kind == EventKind::Ssch) {
            if e.cc == 2 {
                busy.push(e.tod);
            } else if !busy.is_empty() {
                episodes.push((core::mem::take(&mut busy), Some(e.tod)));
            }
        }
        if !busy.is_empty() {
            episodes.push((busy, None));
        }
        episodes
    }

    /// A host that stays busy 3 ms after each CLEAR while a start takes it
    /// about 1 ms (vfio-ccw nested under TCG, in small) passes: its STARTs
    /// are tried again, with waits doubling up to about the start-to-status
    /// time, until it is idle. Under `host=strict` the first busy fails.
    #[test]
    fn a_host_busy_longer_than_a_start_takes_is_tried_until_idle() {
        let c = |host| Config {
            host,
            verbose: 3,
            ..config(Scenario::CschIdle, 3, 20)
        };
        let slow = || {
            let mut k = Kernelish::new(Sim::new(SID));
            k.pace = us_to_tod(1_000);
            k.busy_after_clear = Some(us_to_tod(3_000));
            k
        };
        let mut k = slow();
        let s = run_kernelish(&mut k, &c(crate::cmdline::Host::VfioCcw));
        assert_eq!(s.iterations, 20);
        let slowest = s.latency.max().unwrap();
        assert!(
            (us_to_tod(1_000)..us_to_tod(1_020)).contains(&slowest),
            "{slowest}"
        );
        let clears: Vec<u64> = k
            .logged
            .iter()
            .filter(|e| e.kind == EventKind::Csch)
            .map(|e| e.tod)
            .collect();
        let episodes = busy_episodes(&k.logged);
        assert_eq!(episodes.len(), 20, "one after each clear");
        let mut tries = 0;
        for ((busy, accepted), clear) in episodes.iter().zip(&clears) {
            let accepted = accepted.expect("accepted in the end");
            // Not before the host is idle, and at most a wait of about the
            // start-to-status time after.
            let idle = clear + us_to_tod(3_000);
            assert!(accepted >= idle && accepted < idle + slowest + us_to_tod(20));
            assert!(busy[0] - clear < us_to_tod(50), "the start right after");
            let gaps: Vec<u64> = busy
                .windows(2)
                .map(|w| w[1] - w[0])
                .chain([accepted - busy[busy.len() - 1]])
                .collect();
            assert!(gaps[0] < us_to_tod(10), "{gaps:?}");
            assert!(gaps.windows(2).all(|g| g[0] <= g[1]), "{gaps:?}");
            assert!(
                gaps.iter().all(|&g| g < slowest + us_to_tod(10)),
                "{gaps:?}"
            );
            tries += busy.len();
        }
        let d = crate::oracle::Deviation::SschBusyWhileIdle;
        assert_eq!(s.deviations.get(d) as usize, tries);
        // Doubling from 2 µs reaches 3 ms in 11 waits, and does not hammer.
        assert!((11 * 20..=12 * 20).contains(&tries), "{tries}");
        let mut k = slow();
        let f = Driver::new(&mut k, &c(crate::cmdline::Host::Strict))
            .run(|_| {})
            .unwrap_err();
        assert_eq!(f.violation.what, "ssch-busy-while-idle");
        assert_eq!(busy_episodes(&k.logged)[0].0.len(), 1, "not tried again");
    }

    /// A host busy for good fails `ssch-busy-forever` once the bound its
    /// measured pace sets has passed: 16 times its slowest start, no less
    /// than 1 ms, no more than the I/O timeout.
    #[test]
    fn a_host_busy_for_good_fails_within_the_bound_of_its_pace() {
        for (pace, bound) in [
            (us_to_tod(1_000), us_to_tod(16_000)),
            (us_to_tod(20), us_to_tod(1_000)),
            (us_to_tod(100_000), us_to_tod(1_000_000)),
        ] {
            let c = Config {
                host: crate::cmdline::Host::VfioCcw,
                verbose: 3,
                ..config(Scenario::CschIdle, 3, 20)
            };
            let mut k = Kernelish::new(Sim::new(SID));
            k.pace = pace;
            k.busy_after_clear = Some(u64::MAX);
            let mut d = Driver::new(&mut k, &c);
            let f = d.run(|_| {}).unwrap_err();
            assert_eq!((f.violation.what, f.iteration), ("ssch-busy-forever", 0));
            let slowest = d.summary.latency.max().unwrap();
            let expected = (slowest * 16).clamp(us_to_tod(1_000), us_to_tod(1_000_000));
            assert!(
                (bound..bound + us_to_tod(50)).contains(&expected),
                "pace {pace}: {slowest}"
            );
            let episodes = busy_episodes(&k.logged);
            let [(busy, None)] = &episodes[..] else {
                panic!("{episodes:?}")
            };
            let tried = busy[busy.len() - 1] - busy[0];
            assert!(
                (expected..expected + us_to_tod(10)).contains(&tried),
                "pace {pace}: tried for {tried}, bound {expected}"
            );
            assert!(busy.len() <= 32, "pace {pace}: {} tries", busy.len());
        }
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
    fn the_wait_for_status_follows_a_host_measured_slower_than_the_io_timeout() {
        let second = us_to_tod(1_000_000);
        // Nothing measured, or a fast host: the configured bound.
        assert_eq!(status_wait(second, None), second);
        assert_eq!(status_wait(second, Some(us_to_tod(1_000))), second);
        assert_eq!(status_wait(second, Some(second / 4)), second);
        // A host whose slowest start took 1.1 s: four times that.
        let slow = us_to_tod(1_100_000);
        assert_eq!(status_wait(second, Some(slow)), 4 * slow);
        // Never beyond 60 s, and never below the configured bound.
        assert_eq!(status_wait(second, Some(u64::MAX)), us_to_tod(60_000_000));
        let long = us_to_tod(90_000_000);
        assert_eq!(status_wait(long, Some(slow)), long);
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
