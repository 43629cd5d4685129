//! The real stack in a box (`run-qemu.sh --nested`, nested/README.md): the
//! guest judges Linux's own vfio_ccw and QEMU's own vfio-ccw relay, nested
//! under TCG. The first test to get there builds the middle host's kernel
//! (about 4 min) and initramfs into the cache; the others wait for it
//! (box.sh locks) and reuse it. A deliberately broken vfio_ccw
//! (nested/faults/) is built incrementally from that build.

use e2e::{run_qemu, workspace, Run};
use gate::verdict::Outcome;

fn nested(args: &[&str]) -> Run {
    let mut all = vec!["--nested"];
    all.extend_from_slice(args);
    run_qemu(&all)
}

fn fault(name: &str) -> String {
    workspace()
        .join("nested/faults")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn host_lines(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with("HOST: "))
        .collect()
}

#[test]
fn smoke_passes_through_the_real_vfio_ccw_relay() {
    let run = nested(&["--scenario", "smoke"]);
    assert_eq!(run.code, 0, "{run}");
    let v = run.verdict();
    assert_eq!(v.outcome, Outcome::Pass, "{run}");
    assert_eq!(run.field("host").as_deref(), Some("vfio-ccw"), "{run}");
    // The evidence says which stack gave it, before the guest's output.
    let host = host_lines(&run);
    assert!(host.iter().any(|l| l.starts_with("HOST: middle-host kernel=6.1")), "{run}");
    assert!(host.iter().any(|l| l.contains("vfio_ccw bound") && l.contains("mdev=")), "{run}");
    assert!(host.iter().any(|l| l.contains("-device vfio-ccw,sysfsdev=")), "{run}");
    let first_host = run.stdout.find("HOST: middle-host").unwrap();
    assert!(first_host < run.stdout.find("VERDICT: ").unwrap(), "{run}");
}

#[test]
fn a_race_through_the_real_relay_ends_in_pass_or_a_known_bug() {
    let run = nested(&[
        "--scenario",
        "csch-race",
        "--iterations",
        "300",
        "--known",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let v = run.verdict();
    // The race was run: starts were accepted and clears issued.
    assert!(v.get("clears").is_some_and(|c| c != "0") || v.outcome == Outcome::Fail, "{run}");
    if v.outcome == Outcome::Fail {
        assert!(run.stdout.contains("KNOWN: "), "{run}");
    }
}

#[test]
fn a_vfio_ccw_that_relays_a_wrong_ccw_address_fails_with_its_class() {
    let patch = fault("ccw-address.patch");
    let run = nested(&["--host-patch", &patch, "--scenario", "ssch", "--iterations", "100"]);
    assert_eq!(run.code, 1, "{run}");
    let v = run.verdict();
    assert_eq!(v.outcome, Outcome::Fail, "{run}");
    assert_eq!(run.field("class").as_deref(), Some("ccw-address"), "{run}");
    // The patch moves every 16th start's final status: the 16th start
    // (the baseline SENSE ID is the first) is iteration 15 at the latest.
    let at: u32 = run.field("iteration").unwrap().parse().unwrap();
    assert!(at <= 15, "{run}");
}

#[test]
fn a_subchannel_vfio_ccw_refuses_is_an_error_naming_the_layer() {
    let patch = fault("unbindable.patch");
    let run = nested(&["--host-patch", &patch, "--scenario", "smoke"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.verdict_lines().is_empty(), "{run}");
    assert!(
        run.stderr.contains("ERROR: vfio_ccw: binding 0.0.0000 failed"),
        "{run}"
    );
    // --bisect makes it a skip.
    let run = nested(&["--host-patch", &patch, "--scenario", "smoke", "--bisect"]);
    assert_eq!(run.code, 125, "{run}");
}

#[test]
fn a_missing_host_kernel_is_an_error_naming_it() {
    let run = nested(&["--host-kernel", "/nonexistent/bzImage", "--scenario", "smoke"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("ERROR: middle-host kernel: no such file '/nonexistent/bzImage'"),
        "{run}"
    );
}

#[test]
fn options_that_cannot_reach_the_inner_guest_are_refused() {
    for args in [
        &["--accel", "kvm"][..],
        &["--inject", "intparm"][..],
        &["--vfio-ccw", "c3a5a2b0-6a1d-4f3e-9c2a-000000000001"][..],
        &["--host-smp", "0"][..],
        &["--host-runs", "2", "--known"][..],
    ] {
        let run = nested(args);
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(run.stderr.contains("ERROR: "), "{args:?}: {run}");
    }
    let run = run_qemu(&["--host-qemu", "/bin/true"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("--host-* options are for --nested"), "{run}");
}
