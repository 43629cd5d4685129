//! Fixtures shared by the driver's unit tests: the subchannel, a scenario's
//! configuration, a run against a host model ([`crate::sim`]), a run that
//! must catch a host bug, and a channel like the kernel's ([`Kernelish`]).

use super::{Channel, DeviceState, Driver, Failure, IoArea, Status, Summary, ENABLE_INTPARM, NOW};
use crate::cmdline::{Config, Scenario};
use crate::css::{Cc, CcwFlags, DeviceStatus, Orb, Scsw, StatusControl};
use crate::oracle::Interruption;
use crate::sim::{HostBug, Sim};
use crate::trace::Event;
use std::vec::Vec;

pub(super) const SID: u32 = 0x0001_0000;

pub(super) fn config(scenario: Scenario, seed: u64, iterations: u32) -> Config {
    Config {
        scenario,
        seed,
        iterations: Some(iterations),
        ..Config::DEFAULT
    }
}

pub(super) fn run(sim: &mut Sim, config: &Config) -> Result<Summary, Failure> {
    Driver::new(sim, config).run(|_| {})
}

/// Unsolicited attention: alert status, no function, the parameter the
/// subchannel was enabled with.
pub(super) fn attention() -> Interruption {
    let ds = u32::from(DeviceStatus::ATTENTION.bits()) << 24;
    let sc = (StatusControl::ALERT | StatusControl::PENDING).bits();
    Interruption {
        sid: SID,
        intparm: ENABLE_INTPARM,
        tsch_cc: Cc::Zero,
        scsw: Scsw::from_words([sc, 0, ds]),
        tod: 0,
    }
}

/// An interruption for which TEST SUBCHANNEL finds no status (cc 1).
pub(super) fn no_status() -> Interruption {
    Interruption {
        tsch_cc: Cc::One,
        scsw: Scsw::ZERO,
        ..attention()
    }
}

pub(super) fn run_kernelish(k: &mut Kernelish, config: &Config) -> Summary {
    Driver::new(k, config).run(|_| {}).unwrap()
}

pub(super) fn detects(bug: HostBug, scenario: Scenario) -> Failure {
    let mut sim = Sim::with_bug(SID, bug, 30);
    let failure = run(&mut sim, &config(scenario, 7, 200)).expect_err("the bug went unnoticed");
    assert!(sim.fired(), "{bug:?} never fired");
    failure
}

/// A channel like the kernel's: [`Sim`] behind what only the kernel's
/// channel overrides, and with what the sim's host never does.
/// - `copies`: the driver's copies of the areas, as the kernel keeps them:
///   the sim's device stores into its own, which reach the copies only by
///   [`Channel::observe`], and the programs reach the device only by
///   [`Channel::publish`];
/// - `handler`: an interruption handler takes status the moment it is
///   pending, handed out by [`Status::collected`];
/// - `reveals`: START reveals pending status ([`Status::start_reveals_pending`]);
/// - `logged`: every event [`Channel::log`] is told of; `programs`: every
///   program started (command, CCWs);
/// - `device`: STORE SUBCHANNEL's answer instead of the sim's;
/// - `nop_stores`: a NOP stores into its data;
/// - `before_sense`: status presented before a SENSE's own;
/// - `refuse`: every START refused with this condition code, leaving this
///   status, if any, pending;
/// - `after_start`: status presented once the sim has none left after the
///   n-th accepted START (counting from 1), with that START's
///   interruption parameter (the subchannel's then);
/// - `start_status_over_clear`: CLEAR leaves the start's pending status,
///   presented before its own (vfio-ccw's 2021 race); `clear_status_lost`:
///   its own then never comes;
/// - `slow_sense`: a SENSE's status is not there at once: a wait whose
///   deadline has passed finds none;
/// - `pace`: an accepted START's status is there only this long (TOD
///   units) after it, unless a CLEAR withdrew it: a slow host;
/// - `busy_after_clear`: for this long after each CLEAR, every START
///   answers busy (vfio-ccw's FSM until its deferred work ran; `u64::MAX`:
///   busy for good);
/// - a START refused 1000 times in a row panics: a driver that hammers a
///   refusing host, or never gives up on it, fails its test at once
///   instead of looping.
pub(super) struct Kernelish {
    pub sim: Sim,
    copies: [IoArea; 2],
    pub handler: bool,
    pub reveals: bool,
    pub logged: Vec<Event>,
    pub programs: Vec<(u8, usize)>,
    pub device: Option<DeviceState>,
    pub nop_stores: bool,
    pub before_sense: Vec<Interruption>,
    pub refuse: Option<(Cc, Option<Interruption>)>,
    pub after_start: Option<(usize, Interruption)>,
    pub start_status_over_clear: bool,
    pub clear_status_lost: bool,
    pub slow_sense: bool,
    pub pace: u64,
    pub busy_after_clear: Option<u64>,
    /// When the start status the sim holds is there (`pace`).
    held_until: Option<u64>,
    /// STARTs answer busy until then (`busy_after_clear`).
    busy_until: u64,
    /// STARTs refused in a row.
    refused: u32,
    start_pending: bool,
    sense_pending: bool,
    queued: Vec<Interruption>,
    later: Vec<Interruption>,
    accepted: usize,
}

impl Kernelish {
    pub(super) fn new(sim: Sim) -> Self {
        Kernelish {
            copies: [IoArea::new(), IoArea::new()],
            sim,
            handler: false,
            reveals: false,
            logged: Vec::new(),
            programs: Vec::new(),
            device: None,
            nop_stores: false,
            before_sense: Vec::new(),
            refuse: None,
            after_start: None,
            start_status_over_clear: false,
            clear_status_lost: false,
            slow_sense: false,
            pace: 0,
            busy_after_clear: None,
            held_until: None,
            busy_until: 0,
            refused: 0,
            start_pending: false,
            sense_pending: false,
            queued: Vec::new(),
            later: Vec::new(),
            accepted: 0,
        }
    }
}

impl Channel for Kernelish {
    fn sid(&self) -> u32 {
        self.sim.sid()
    }
    fn area(&mut self, slot: usize) -> (&mut IoArea, u32) {
        let base = self.sim.area(slot).1;
        (&mut self.copies[slot], base)
    }
    fn publish(&mut self, slot: usize, refilled: Option<usize>) {
        let (copy, device) = (&self.copies[slot], self.sim.area(slot).0);
        device.ccws = copy.ccws;
        match refilled {
            Some(n) => {
                let n = n.min(copy.data.len());
                device.data[..n].copy_from_slice(&copy.data[..n]);
            }
            None => {
                device.front = copy.front;
                device.data = copy.data;
                device.back = copy.back;
            }
        }
    }
    fn observe(&mut self, slot: usize) {
        self.copies[slot] = self.sim.area(slot).0.clone();
    }
    fn ssch(&mut self, orb: &Orb) -> Cc {
        let slot = (0..2).find(|&s| self.sim.area(s).1 == orb.cpa);
        let cmd = slot.map(|s| {
            let area = self.sim.area(s).0;
            let chained = area
                .ccws
                .iter()
                .take_while(|c| c.flags.contains(CcwFlags::CC));
            let n = (chained.count() + 1).min(area.ccws.len());
            self.programs.push((area.ccws[0].cmd, n));
            area.ccws[0].cmd
        });
        self.refused += 1;
        assert!(self.refused <= 1000, "START refused 1000 times in a row");
        if let Some((cc, pending)) = self.refuse {
            self.queued.extend(pending);
            return cc;
        }
        if self.busy_after_clear.is_some() && self.sim.tod() < self.busy_until {
            return Cc::Two;
        }
        let cc = self.sim.ssch(orb);
        if cc == Cc::Zero {
            self.refused = 0;
            if self.pace > 0 {
                self.held_until = Some(self.sim.tod() + self.pace);
            }
            self.start_pending = true;
            self.accepted += 1;
            match self.after_start {
                Some((n, irq)) if n == self.accepted => self.later.push(Interruption {
                    intparm: orb.intparm,
                    ..irq
                }),
                _ => {}
            }
        }
        if let (Some(s), Some(cmd), Cc::Zero) = (slot, cmd, cc) {
            if cmd == crate::css::cmd::NOP && self.nop_stores {
                self.sim.area(s).0.data[0] ^= 0xff;
            }
            if cmd == crate::css::cmd::SENSE {
                self.queued.append(&mut self.before_sense);
                self.sense_pending = self.slow_sense;
            }
        }
        cc
    }
    fn csch(&mut self) -> Cc {
        // The clear's status is there at once, in place of the start's.
        self.held_until = None;
        if let Some(busy) = self.busy_after_clear {
            self.busy_until = self.sim.tod().saturating_add(busy);
        }
        if self.start_status_over_clear && self.start_pending {
            let start = self.sim.next_interruption(NOW);
            self.start_pending = false;
            self.queued.extend(start);
            if self.clear_status_lost {
                return Cc::Zero;
            }
        }
        self.sim.csch()
    }
    fn hsch(&mut self) -> Cc {
        self.sim.hsch()
    }
    fn tod(&self) -> u64 {
        self.sim.tod()
    }
    fn log(&mut self, event: &Event) {
        self.logged.push(*event);
    }
    fn device_state(&mut self) -> DeviceState {
        self.device.unwrap_or_else(|| self.sim.device_state())
    }
}

impl Status for Kernelish {
    fn next_interruption(&mut self, deadline: u64) -> Option<Interruption> {
        if !self.queued.is_empty() {
            return Some(self.queued.remove(0));
        }
        if self.sense_pending && deadline <= self.sim.tod() {
            return None;
        }
        if let Some(ready) = self.held_until {
            if deadline < ready {
                self.sim.run_until(deadline);
                return None;
            }
            self.sim.run_until(ready);
            self.held_until = None;
        }
        let irq = self.sim.next_interruption(deadline);
        self.start_pending &= irq.is_none();
        self.sense_pending &= irq.is_none();
        irq.or_else(|| self.later.pop())
    }
    fn collected(&mut self) -> Option<Interruption> {
        if self.handler && self.held_until.is_none() {
            let irq = self.sim.next_interruption(NOW);
            self.start_pending &= irq.is_none();
            irq
        } else {
            None
        }
    }
    fn start_reveals_pending(&self) -> bool {
        self.reveals
    }
}
