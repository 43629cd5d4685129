//! `scenario=conformance` on the real kernel under real QEMU: every check of
//! `gate::conformance::CHECKS` runs and passes on a correct host, one line
//! per check, and the verdict counts them.

use e2e::run_qemu;
use gate::conformance::{Check, CHECKS};
use gate::verdict::Outcome;

#[test]
fn every_check_passes_on_qemu() {
    let run = run_qemu(&["--scenario", "conformance", "--timeout", "60"]);
    assert_eq!(run.code, 0, "{run}");
    let v = run.verdict();
    assert_eq!(v.outcome, Outcome::Pass, "{run}");
    // No facility missing on the QEMU here: nothing skipped, all counted.
    assert_eq!(v.get_u64("checks_run"), Some(CHECKS.len() as u64), "{run}");
    assert_eq!(v.get_u64("skipped"), Some(0), "{run}");
    for (i, check) in CHECKS.iter().enumerate() {
        // kvm-unit-tests' report line for the check.
        let line = format!(
            "PASS: ccwgate: conformance: {} check={} ",
            check.name,
            i + 1
        );
        assert!(run.stdout.contains(&line), "no {line:?} in:\n{run}");
    }
}

/// Under `host=vfio-ccw` the channel path is the host's real one: the RESET
/// CHANNEL PATH checks are skipped, said so, and not counted.
#[test]
fn a_passed_through_path_is_never_reset() {
    let run = run_qemu(&[
        "--scenario",
        "conformance",
        "--timeout",
        "60",
        "--append",
        "host=vfio-ccw",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let v = run.verdict();
    let rchp: Vec<_> = CHECKS
        .iter()
        .filter(|c| c.name.starts_with("rchp-"))
        .collect();
    assert_eq!(v.get_u64("skipped"), Some(rchp.len() as u64), "{run}");
    assert_eq!(
        v.get_u64("checks_run"),
        Some((CHECKS.len() - rchp.len()) as u64),
        "{run}"
    );
    for c in rchp {
        let line = format!("SKIP: ccwgate: conformance: {} check=", c.name);
        assert!(run.stdout.contains(&line), "no {line:?} in:\n{run}");
        let line = format!(
            "SKIP: ccwgate: conformance: {} check={} (real-channel-path)",
            c.name,
            Check::number(c.id)
        );
        assert!(run.stdout.contains(&line), "no {line:?} in:\n{run}");
    }
}
