//! Channel-I/O scenarios on the real kernel against QEMU's emulated device:
//! a correct host must always PASS, and setup problems must be ERRORs that
//! say what is wrong.

use e2e::run_qemu;
use gate::cmdline::Scenario;
use gate::verdict::Outcome;

const SEEDS: u64 = 20;

/// Runs `scenario` for every seed, cycling through the collection modes, and
/// expects PASS with sensible counts each time.
fn passes_for_every_seed(scenario: &str) {
    passes_for_seeds(scenario, SEEDS, &[]);
}

/// Runs `scenario` for `seeds` seeds with `extra` options; returns the
/// verdicts' `host=` and `deviations=` fields.
fn passes_for_seeds(
    scenario: &str,
    seeds: u64,
    extra: &[&str],
) -> Vec<(Option<String>, Option<String>)> {
    let mut seen = Vec::new();
    for seed in 0..seeds {
        let mode = ["irq", "wait", "poll", "tsch"][seed as usize % 4];
        let seed = seed.to_string();
        let mut args = vec![
            "--scenario",
            scenario,
            "--seed",
            &seed,
            "--mode",
            mode,
            "--iterations",
            "300",
            "--timeout",
            "60",
        ];
        args.extend_from_slice(extra);
        let run = run_qemu(&args);
        assert_eq!(run.code, 0, "{scenario} seed {seed} mode {mode}:\n{run}");
        let v = run.verdict();
        seen.push((
            v.get("host").map(str::to_string),
            v.get("deviations").map(str::to_string),
        ));
        assert_eq!(v.outcome, Outcome::Pass);
        assert_eq!(v.get("scenario"), Some(scenario));
        assert_eq!(v.get("seed"), Some(seed.as_str()));
        let expected = if scenario == "smoke" { 1 } else { 300 };
        assert_eq!(v.get_u64("iterations"), Some(expected), "{run}");
        let starts = v.get_u64("starts").unwrap();
        let interruptions = v.get_u64("interruptions").unwrap();
        assert!(starts > u64::from(expected > 1) * 300, "{run}");
        assert!(interruptions >= starts, "{run}");
    }
    seen
}

#[test]
fn smoke_passes() {
    passes_for_every_seed("smoke");
}

#[test]
fn ssch_passes() {
    passes_for_every_seed("ssch");
}

#[test]
fn csch_race_passes() {
    passes_for_every_seed("csch-race");
}

#[test]
fn hsch_race_passes() {
    passes_for_every_seed("hsch-race");
}

#[test]
fn csch_idle_passes() {
    passes_for_every_seed("csch-idle");
}

#[test]
fn mixed_passes() {
    passes_for_every_seed("mixed");
}

#[test]
fn scenarios_issue_the_instructions_they_name() {
    // The baseline SENSE ID, the 16 of delay=auto's warm-up, two per
    // iteration.
    let run = run_qemu(&["--scenario", "csch-race", "--iterations", "50"]);
    let v = run.verdict();
    assert_eq!(
        (v.get("starts"), v.get("clears"), v.get("halts")),
        (Some("117"), Some("50"), Some("0")),
        "{run}"
    );
    // An explicit sweep needs no warm-up.
    let run = run_qemu(&[
        "--scenario",
        "hsch-race",
        "--iterations",
        "50",
        "--delay",
        "0:8192:64",
    ]);
    let v = run.verdict();
    assert_eq!(
        (v.get("starts"), v.get("clears"), v.get("halts")),
        (Some("101"), Some("0"), Some("50")),
        "{run}"
    );
    assert_eq!(v.get("sweep"), Some("0:8192:64"), "{run}");
}

#[test]
fn no_device_is_an_error() {
    let run = run_qemu(&["--no-default-device", "--scenario", "smoke"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(run.verdict().outcome, Outcome::Error);
    assert_eq!(run.field("reason").as_deref(), Some("no-device"), "{run}");
}

#[test]
fn a_devno_that_does_not_exist_is_an_error_naming_it() {
    let run = run_qemu(&["--devno", "0.0.4242", "--scenario", "smoke"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        run.field("reason").as_deref(),
        Some("no-such-devno"),
        "{run}"
    );
    assert_eq!(run.field("devno").as_deref(), Some("0.0.4242"), "{run}");
}

#[test]
fn devno_picks_the_device() {
    let run = run_qemu(&[
        "--device",
        "virtio-rng-ccw,devno=fe.0.0002",
        "--devno",
        "0002",
        "--scenario",
        "smoke",
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .contains("css: subchannel 0.0.0001 devno 0.0.0002"),
        "{run}"
    );
    // virtio-rng-ccw identifies as control unit 3832 model 04.
    assert!(run.stdout.contains("css: SENSE ID cu=3832/04"), "{run}");
}

#[test]
fn a_bad_delay_is_an_error_naming_it() {
    for delay in ["10:5:1", "0:100:0", "1:x:1", "0:99999999999:1"] {
        let run = run_qemu(&["--delay", delay]);
        assert_eq!(run.code, 2, "{run}");
        assert_eq!(run.field("reason").as_deref(), Some("bad-cmdline"), "{run}");
        assert_eq!(run.field("token"), Some(format!("delay={delay}")), "{run}");
    }
}

#[test]
fn the_same_seed_replays_the_same_instructions() {
    let trace = |seed: &str| {
        let run = run_qemu(&[
            "--scenario",
            "mixed",
            "--seed",
            seed,
            "--iterations",
            "40",
            "--verbose",
            "2",
        ]);
        assert_eq!(run.code, 0, "{run}");
        // Keep what the guest did, drop when it did it.
        run.stdout
            .lines()
            .filter(|l| l.starts_with("trace: "))
            .map(|l| {
                let kind = l.split_whitespace().nth(4).unwrap_or("").to_owned();
                let rest: Vec<&str> = l.split_whitespace().skip(5).collect();
                format!("{kind} {}", rest.join(" "))
            })
            .collect::<Vec<_>>()
    };
    let a = trace("7");
    assert!(!a.is_empty());
    assert_eq!(a, trace("7"));
    assert_ne!(a, trace("8"));
}

#[test]
fn a_second_cpu_changes_nothing() {
    // The other CPU stays stopped; stopping ours still ends QEMU.
    let run = run_qemu(&["--smp", "2", "--scenario", "mixed", "--iterations", "300"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.verdict().outcome, Outcome::Pass, "{run}");
}

/// The vfio-ccw profile on QEMU's emulated device: nothing to accept, every
/// scenario passes, and the verdict says which profile judged it.
#[test]
fn every_scenario_passes_under_the_vfio_ccw_profile() {
    for scenario in Scenario::CHANNEL_IO.map(Scenario::name) {
        for (host, deviations) in passes_for_seeds(scenario, 5, &["--append", "host=vfio-ccw"]) {
            assert_eq!(host.as_deref(), Some("vfio-ccw"), "{scenario}");
            assert_eq!(deviations.as_deref(), Some("none"), "{scenario}");
        }
    }
    // The strict profile keeps its verdict as it was.
    let run = run_qemu(&["--scenario", "ssch", "--iterations", "10"]);
    assert_eq!(run.verdict().get("host"), None, "{run}");
}

#[test]
fn a_vfio_ccw_device_selects_the_vfio_ccw_profile() {
    let dry = |extra: &[&str]| {
        let mut args = vec![
            "--dry-run",
            "--no-default-device",
            "--device",
            "vfio-ccw,sysfsdev=/sys/bus/mdev/devices/0000",
        ];
        args.extend_from_slice(extra);
        run_qemu(&args)
    };
    let run = dry(&[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("host=vfio-ccw"), "{run}");
    let run = dry(&["--append", "host=strict"]);
    assert!(
        run.stdout.contains("host=strict") && !run.stdout.contains("host=vfio-ccw"),
        "{run}"
    );
    let run = run_qemu(&["--dry-run"]);
    assert!(!run.stdout.contains("host="), "{run}");
}

/// QEMU's emulated device ends every program inside SSCH, so a race never
/// reaches the completion window: asked to require one, the run is an
/// ERROR that names what was missing, never a PASS that proves nothing.
#[test]
fn a_race_that_never_happened_is_an_error_when_required() {
    let run = run_qemu(&[
        "--scenario",
        "csch-race",
        "--iterations",
        "100",
        "--append",
        "host=vfio-ccw require_race=1",
    ]);
    assert_eq!(run.code, 2, "{run}");
    let v = run.verdict();
    assert_eq!(v.outcome, Outcome::Error, "{run}");
    assert_eq!(v.get("reason"), Some("race-not-exercised"), "{run}");
    assert_eq!(v.get("missing"), Some("window"), "{run}");
    // Reported, not required: the same run passes and shows its mix and
    // the sweep delay=auto measured.
    let run = run_qemu(&["--scenario", "csch-race", "--iterations", "100"]);
    assert_eq!(run.code, 0, "{run}");
    let v = run.verdict();
    let landed = v.get("landed").expect("landed");
    assert!(landed.starts_with("before:"), "{run}");
    let sweep = v.get("sweep").expect("sweep");
    assert!(sweep.starts_with("0:") && sweep != "0:8192:64", "{run}");
}

/// `measure=1`: the channel subsystem's SSCH+RSCH count agrees with the
/// starts the guest saw accepted. QEMU counts each start when it accepts
/// it, so on the QEMU here the count is exact in every scenario, races
/// included (the allowance for CLEARs and HALTs goes unused).
#[test]
fn measure_counts_every_accepted_start() {
    for scenario in ["ssch", "csch-race", "hsch-race", "mixed"] {
        for seed in 0..3u64 {
            let mode = ["irq", "wait", "poll", "tsch"][seed as usize % 4];
            let seed = seed.to_string();
            let run = run_qemu(&[
                "--scenario",
                scenario,
                "--seed",
                &seed,
                "--mode",
                mode,
                "--iterations",
                "300",
                "--timeout",
                "60",
                "--append",
                "measure=1",
            ]);
            assert_eq!(run.code, 0, "{scenario} seed {seed}:\n{run}");
            let v = run.verdict();
            assert_eq!(v.get("measure"), Some("fmt1"), "{run}");
            assert_eq!(v.get_u64("measured"), v.get_u64("starts"), "{run}");
        }
    }
}

/// With every per-interruption check off, the count alone catches a start
/// the host answered cc 0 and never performed.
#[test]
fn measure_alone_catches_a_start_never_performed() {
    let run = run_qemu(&[
        "--inject",
        "lost-interrupt@5",
        "--timeout",
        "60",
        "--append",
        "checks=none measure=1",
    ]);
    assert_eq!(run.code, 1, "{run}");
    let v = run.verdict();
    assert_eq!(v.get("class"), Some("lost-interrupt"), "{run}");
    assert_eq!(v.get("what"), Some("measured-fewer-starts"), "{run}");
    let (expected, actual) = (v.get("expected").unwrap(), v.get("actual").unwrap());
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    assert_eq!(hex(expected), hex(actual) + 1, "{run}");
    assert_eq!(v.get_u64("measured"), Some(hex(actual)), "{run}");
}
