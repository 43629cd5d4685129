//! Several subchannels at once (`--devices N --devno all|LIST`): every
//! scenario passes, each iteration running on one subchannel while the
//! others have starts in flight; every violation class is still caught; and
//! status one real subchannel presents under another's ID is a
//! `sid-mismatch` naming both.

use e2e::run_qemu;
use gate::cmdline::{Collect, Scenario};
use gate::oracle::Class;
use gate::verdict::Outcome;

const MEMBERS: [u64; 3] = [0x1_0000, 0x1_0001, 0x1_0002];

fn several(extra: &[&str]) -> e2e::Run {
    let mut args = vec!["--devices", "3", "--devno", "all", "--timeout", "90"];
    args.extend_from_slice(extra);
    run_qemu(&args)
}

#[test]
fn every_scenario_passes_on_three_subchannels() {
    // Smoke and every channel-I/O scenario, the modes taken in turn.
    let scenarios = [Scenario::Smoke].into_iter().chain(Scenario::CHANNEL_IO);
    for (i, scenario) in scenarios.enumerate() {
        let (scenario, mode) = (scenario.name(), Collect::ALL[i % Collect::ALL.len()].name());
        let run = several(&[
            "--scenario",
            scenario,
            "--mode",
            mode,
            "--iterations",
            "150",
        ]);
        assert_eq!(run.code, 0, "{scenario} {mode}:\n{run}");
        let v = run.verdict();
        assert_eq!(v.get("subchannels"), Some("3"), "{run}");
        let found = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("css: subchannel "))
            .count();
        assert_eq!(found, 3, "{run}");
        if scenario != "smoke" {
            // Every subchannel started: the racer's starts and two
            // background starts per iteration, beyond the baselines.
            let starts = v.get_u64("starts").expect("starts");
            assert!(starts >= 3 * 150, "{run}");
        }
    }
}

#[test]
fn a_listed_device_that_is_not_there_is_an_error() {
    let run = run_qemu(&["--devices", "2", "--devno", "1,2,9", "--scenario", "smoke"]);
    assert_eq!(run.code, 2, "{run}");
    let v = run.verdict();
    assert_eq!(v.get("reason"), Some("no-such-devno"), "{run}");
    assert_eq!(v.get("devno"), Some("0.0.0009"), "{run}");
    let listed = run_qemu(&["--devices", "2", "--devno", "2,1", "--scenario", "smoke"]);
    assert_eq!(listed.code, 0, "{listed}");
    assert_eq!(listed.verdict().get("subchannels"), Some("2"), "{listed}");
}

#[test]
fn every_class_is_caught_on_three_subchannels() {
    for class in Class::ALL {
        let spec = format!("{}@5", class.name());
        let run = several(&["--inject", &spec]);
        assert_eq!(run.code, 1, "{spec}:\n{run}");
        let v = run.verdict();
        assert_eq!(v.outcome, Outcome::Fail, "{run}");
        assert_eq!(v.get("class"), Some(class.name()), "{run}");
    }
}

fn hex(v: &gate::verdict::Parsed<'_>, key: &str) -> u64 {
    let s = v.get(key).unwrap_or_else(|| panic!("no {key}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
}

/// The injector rewrites the interruption's subchannel ID to its neighbour
/// (ID ^ 1), another real subchannel here: the status reaches the driver
/// whose start it ends (by its interruption parameter), which fails it.
#[test]
fn status_under_another_real_subchannels_id_is_a_sid_mismatch() {
    let run = several(&["--inject", "sid-mismatch@5", "--scenario", "ssch"]);
    assert_eq!(run.code, 1, "{run}");
    let v = run.verdict();
    assert_eq!(v.get("class"), Some("sid-mismatch"), "{run}");
    let (expected, actual) = (hex(&v, "expected"), hex(&v, "actual"));
    assert!(MEMBERS.contains(&expected), "{run}");
    assert!(MEMBERS.contains(&actual), "{run}");
    assert_ne!(expected, actual, "{run}");
    assert_eq!(hex(&v, "sid"), expected, "{run}");
}
