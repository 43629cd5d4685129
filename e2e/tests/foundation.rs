//! The foundation's promises, checked on the real kernel under real QEMU.

use e2e::{run_qemu, run_script};

#[test]
fn selftest_passes_with_exit_0() {
    let run = run_qemu(&["--scenario", "selftest", "--timeout", "60"]);
    assert_eq!(run.code, 0, "{run}");
    let v = run.verdict();
    assert_eq!(v.outcome, gate::verdict::Outcome::Pass, "{run}");
    assert_eq!(v.get("scenario"), Some("selftest"));
    assert_eq!(v.get("seed"), Some("1"));
    let elapsed: u64 = v
        .get("elapsed_us")
        .and_then(|s| s.parse().ok())
        .expect("elapsed_us");
    assert!(elapsed > 0 && elapsed < 60_000_000, "{run}");
}

#[test]
fn default_run_is_a_single_verdict() {
    let run = run_qemu(&["--timeout", "120"]);
    assert_eq!(run.verdict_lines().len(), 1, "{run}");
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn program_check_is_an_error_with_its_code() {
    let run = run_qemu(&["--scenario", "crash", "--timeout", "60"]);
    assert_eq!(run.code, 2, "{run}");
    let v = run.verdict();
    assert_eq!(v.outcome, gate::verdict::Outcome::Error, "{run}");
    assert_eq!(v.get("reason"), Some("program-check"), "{run}");
    // Opcode 0x0000 is an operation exception: program-interruption code 1.
    assert_eq!(v.get("code"), Some("0x1"), "{run}");
    assert!(
        v.get("psw").is_some() && v.get("location").is_some(),
        "{run}"
    );
}

#[test]
fn unknown_token_is_an_error_naming_it() {
    let run = run_qemu(&["--append", "bogus=1", "--timeout", "60"]);
    assert_eq!(run.code, 2, "{run}");
    let v = run.verdict();
    assert_eq!(v.outcome, gate::verdict::Outcome::Error);
    assert_eq!(v.get("reason"), Some("bad-cmdline"));
    assert_eq!(v.get("error"), Some("unknown-key"));
    assert_eq!(v.get("token"), Some("bogus=1"));
}

#[test]
fn malformed_value_is_an_error_naming_it() {
    let run = run_qemu(&["--seed", "12x", "--timeout", "60"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(run.field("reason").as_deref(), Some("bad-cmdline"));
    assert_eq!(run.field("error").as_deref(), Some("bad-value"));
    assert_eq!(run.field("token").as_deref(), Some("seed=12x"));
}

#[test]
fn overflowing_value_is_an_error_naming_it() {
    let run = run_qemu(&["--iterations", "4294967296", "--timeout", "60"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(run.field("error").as_deref(), Some("overflow"));
    assert_eq!(run.field("token").as_deref(), Some("iterations=4294967296"));
}

#[test]
fn a_kernel_that_never_finishes_times_out_with_exit_2() {
    // -S keeps the CPU stopped before the first instruction.
    let started = std::time::Instant::now();
    let run = run_qemu(&["--timeout", "2", "--", "-S"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("timeout"), "{run}");
    assert!(run.verdict_lines().is_empty(), "{run}");
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn usage_errors_exit_2() {
    let run = run_script(&["--no-such-option"], &[]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("unknown option '--no-such-option'"),
        "{run}"
    );
    let run = run_script(&["--accel", "hvf", "--dry-run"], &[]);
    assert_eq!(run.code, 2, "{run}");
}

#[test]
fn dry_run_prints_the_qemu_command() {
    let run = run_script(
        &["--dry-run", "--scenario", "ssch", "--seed", "7"],
        &["--", "-d", "int"],
    );
    assert_eq!(run.code, 0, "{run}");
    for part in [
        "qemu-system-s390x",
        "-nodefaults",
        "-kernel",
        "scenario=ssch\\ seed=7",
        "virtio-rng-ccw",
        "-d int",
    ] {
        assert!(run.stdout.contains(part), "missing {part:?} in {run}");
    }
}
