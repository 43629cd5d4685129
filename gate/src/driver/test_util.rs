//! Fixtures shared by the driver's unit tests: the subchannel, a scenario's
//! configuration, a run against a host model ([`crate::sim`]), and a run
//! that must catch a host bug.

use super::{Driver, Failure, Summary};
use crate::cmdline::{Config, Scenario};
use crate::sim::{HostBug, Sim};

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

pub(super) fn detects(bug: HostBug, scenario: Scenario) -> Failure {
    let mut sim = Sim::with_bug(SID, bug, 30);
    let failure = run(&mut sim, &config(scenario, 7, 200)).expect_err("the bug went unnoticed");
    assert!(sim.fired(), "{bug:?} never fired");
    failure
}
