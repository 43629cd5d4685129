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

/// Every check's report line, keyed by its number: outcome and the rest
/// of the line (`PASS: ccwgate: conformance: NAME check=N SHOWN`, `SKIP:
/// ... (why)`, `FAIL: ... expected=... actual=... rule: ...`), and the
/// numbers in the order they ran.
fn per_check(stdout: &str) -> (std::collections::BTreeMap<u32, String>, Vec<u32>) {
    let mut lines = std::collections::BTreeMap::new();
    let mut order = Vec::new();
    for line in stdout.lines() {
        let Some((outcome, rest)) = line.split_once(": ccwgate: conformance: ") else {
            continue;
        };
        let mut number = None;
        let words: Vec<&str> = rest
            .split(' ')
            .filter(|w| match w.strip_prefix("check=") {
                Some(n) => {
                    number = Some(n.parse::<u32>().expect("check number"));
                    false
                }
                None => true,
            })
            .collect();
        let number = number.unwrap_or_else(|| panic!("no check= in {line:?}"));
        let result = format!("{outcome} {}", words.join(" "));
        assert!(
            lines.insert(number, result).is_none(),
            "check {number} twice in:\n{stdout}"
        );
        order.push(number);
    }
    (lines, order)
}

/// The groups of checks set up what they need and leave nothing behind:
/// run reversed and shuffled by two seeds (`conformance_order=`), every
/// check has the same number, outcome and observed value as in table
/// order, and the verdict is the same.
#[test]
fn the_order_of_the_groups_changes_no_result() {
    let boot = |order: &str| {
        let token = format!("conformance_order={order}");
        let run = run_qemu(&[
            "--scenario",
            "conformance",
            "--timeout",
            "60",
            "--append",
            &token,
        ]);
        assert_eq!(run.code, 0, "{order}: {run}");
        run
    };
    let table = boot("table");
    let (want, table_order) = per_check(&table.stdout);
    assert_eq!(want.len(), CHECKS.len(), "{table}");
    assert_eq!(table_order, (1..=CHECKS.len() as u32).collect::<Vec<_>>());
    for order in ["reverse", "seed:1", "seed:0xc0ffee"] {
        let run = boot(order);
        let (got, ran) = per_check(&run.stdout);
        assert_ne!(ran, table_order, "{order} ran in table order:\n{run}");
        for (number, line) in &want {
            assert_eq!(
                got.get(number),
                Some(line),
                "{order}: check {number}:\n{run}"
            );
        }
        assert_eq!(got.len(), want.len(), "{order}:\n{run}");
        let (a, b) = (table.verdict(), run.verdict());
        for key in ["checks_run", "passed", "skipped"] {
            assert_eq!(a.get_u64(key), b.get_u64(key), "{order}: {key}:\n{run}");
        }
        assert_eq!(a.outcome, b.outcome, "{order}:\n{run}");
    }
}
