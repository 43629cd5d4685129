//! The real-host front door: `--vfio-ccw UUID` builds the pass-through
//! device and checks the host before QEMU starts; `--bisect` makes an ERROR
//! a commit `git bisect run` skips.

use e2e::run_qemu;

const UUID: &str = "01234567-89ab-cdef-0123-456789abcdef";

#[test]
fn vfio_ccw_builds_the_pass_through_command() {
    let spec = format!("{UUID},devno=0.0.1234");
    let run = run_qemu(&["--dry-run", "--vfio-ccw", &spec]);
    assert_eq!(run.code, 0, "{run}");
    let cmd = &run.stdout;
    assert!(
        cmd.contains(&format!(
            "-device vfio-ccw\\,sysfsdev=/sys/bus/mdev/devices/{UUID}\\,devno=fe.0.1234"
        )),
        "{run}"
    );
    assert!(cmd.contains("-accel kvm -cpu host"), "{run}");
    assert!(!cmd.contains("virtio-rng-ccw"), "{run}");
    assert!(cmd.contains("host=vfio-ccw"), "{run}");
    // Repeatable, and the profile can still be overridden.
    let run = run_qemu(&[
        "--dry-run",
        "--vfio-ccw",
        UUID,
        "--vfio-ccw",
        "fedcba98-7654-3210-fedc-ba9876543210",
        "--append",
        "host=strict",
    ]);
    assert_eq!(run.stdout.matches("-device vfio-ccw").count(), 2, "{run}");
    assert!(
        run.stdout.contains("host=strict") && !run.stdout.contains("host=vfio-ccw"),
        "{run}"
    );
}

#[test]
fn vfio_ccw_arguments_are_checked() {
    let run = run_qemu(&["--dry-run", "--vfio-ccw", "not-a-uuid"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("not-a-uuid"), "{run}");
    let spec = format!("{UUID},mode=fast");
    let run = run_qemu(&["--dry-run", "--vfio-ccw", &spec]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("mode=fast"), "{run}");
}

/// This machine is no vfio-ccw host: the preflight names each missing
/// piece with its fix, runs nothing, and says ERROR.
#[test]
fn the_preflight_names_what_this_host_lacks() {
    let run = run_qemu(&["--vfio-ccw", UUID, "--timeout", "10"]);
    assert_eq!(run.code, 2, "{run}");
    let arch = std::env::consts::ARCH;
    if arch != "s390x" {
        assert!(run.stderr.contains("not an s390x host"), "{run}");
    }
    assert!(
        run.stderr
            .contains(&format!("no mediated device /sys/bus/mdev/devices/{UUID}")),
        "{run}"
    );
    assert!(run.stderr.contains("fix: "), "{run}");
    assert!(run.stderr.contains("nothing was run"), "{run}");
    assert!(!run.stdout.contains("VERDICT"), "{run}");
}

#[test]
fn bisect_skips_errors_and_keeps_pass_and_fail() {
    let run = run_qemu(&["--bisect", "--vfio-ccw", UUID]);
    assert_eq!(run.code, 125, "{run}");
    // A guest ERROR verdict, a usage error: skip.
    let run = run_qemu(&["--bisect", "--scenario", "crash"]);
    assert_eq!(run.code, 125, "{run}");
    let run = run_qemu(&["--bisect", "--timeout", "soon"]);
    assert_eq!(run.code, 125, "{run}");
    // PASS is good, FAIL is bad.
    let run = run_qemu(&["--bisect", "--scenario", "ssch", "--iterations", "20"]);
    assert_eq!(run.code, 0, "{run}");
    let run = run_qemu(&["--bisect", "--inject", "bad-status@3", "--timeout", "60"]);
    assert_eq!(run.code, 1, "{run}");
}
