//! What the issue asks of the model, as tests: the reference host always
//! passes, the unfixed host is caught, the exhaustive mode finds the race,
//! and the model runs gate's own driver and oracle.

use ccwgate_model::{
    default_sweep, exhaustive, exhaustive_config, run, Bounds, Latencies, Range, Setup, Variant,
    World, IO_SCENARIOS, SID,
};
use gate::cmdline::{Config, Scenario};
use gate::driver::{Channel, Driver};
use gate::oracle::Class;
use gate::trace::EventKind;

fn config(scenario: Scenario, iterations: u32) -> Config {
    Config {
        scenario,
        iterations: Some(iterations),
        delay: default_sweep(&Latencies::default()),
        ..Config::DEFAULT
    }
}

#[test]
fn the_reference_host_passes_1000_seeds_of_every_scenario() {
    for scenario in IO_SCENARIOS {
        let setup = Setup::new(Variant::Reference, config(scenario, 100));
        for seed in 0..1000 {
            let r = run(&setup, seed);
            assert!(
                r.failure().is_none(),
                "{scenario:?} seed {seed}: {:?}",
                r.outcome
            );
            assert_eq!(r.iterations, 100);
        }
    }
}

#[test]
fn the_unfixed_host_is_caught_by_csch_race_promptly() {
    // The default sweep covers the model's start-to-status time.
    let sweep = default_sweep(&Latencies::default());
    assert!(u64::from(sweep.max) >= Latencies::default().start_to_status());
    let setup = Setup::new(Variant::Unfixed, config(Scenario::CschRace, 300));
    for seed in 0..100 {
        let r = run(&setup, seed);
        let f = r.failure().unwrap_or_else(|| panic!("seed {seed} passed"));
        assert!(
            f.iteration < 150,
            "seed {seed}: found only at {}",
            f.iteration
        );
    }
}

#[test]
fn runs_replay_from_their_seed() {
    let setup = Setup::new(Variant::Fixed, config(Scenario::Mixed, 200));
    let key = |seed| {
        let r = run(&setup, seed);
        (format!("{:?}", r.outcome), r.iterations, r.mechanism)
    };
    assert_eq!(key(7), key(7));
    assert_ne!(key(7), key(8));
}

#[test]
fn exhaustive_finds_the_race_in_unfixed_and_nothing_in_reference() {
    let bounds = Bounds {
        preemptions: 2,
        ..Bounds::default()
    };
    let c = exhaustive_config(1);
    let unfixed = exhaustive(Variant::Unfixed, &c, bounds, |_| {});
    assert!(unfixed.complete);
    assert!(unfixed.failing > 0);
    // Among them the 2021 misattribution itself: the clear's status handed
    // to the start that followed it.
    assert!(
        unfixed
            .classes
            .contains_key(&("wrong-function", "clear-status-for-start")),
        "{:?}",
        unfixed.classes
    );
    assert!(unfixed.raced > 0);
    let reference = exhaustive(Variant::Reference, &c, bounds, |_| {});
    assert!(reference.complete && reference.runs > 100);
    assert_eq!(reference.failing, 0, "{:?}", reference.classes);
}

#[test]
fn the_2021_interleaving_frees_a_running_program_in_unfixed() {
    // Walk the interleavings until the work item hands a clear's status to
    // a newer start and frees that start's program under the device.
    let c = exhaustive_config(1);
    let bounds = Bounds {
        preemptions: 3,
        ..Bounds::default()
    };
    let r = exhaustive(Variant::Unfixed, &c, bounds, |_| {});
    let schedule = r.first_failing.expect("a failing interleaving");
    let (res, log) = ccwgate_model::replay(Variant::Unfixed, &c, 3, &schedule);
    assert!(res.failure().is_some());
    assert!(!log.is_empty());
    // Some failing interleaving shows the program freed while it ran.
    assert!(r
        .classes
        .contains_key(&("ccw-address", "ccw-address-outside-program")));
}

fn assert_channel<C: Channel>(_: &C) {}

#[test]
fn the_model_runs_gates_own_driver_and_oracle() {
    let mut world = World::new(
        Variant::Unfixed,
        Latencies::default(),
        2,
        3,
        ccwgate_model::Sched::Timed,
    );
    assert_channel(&world);
    let config = Config {
        seed: 3,
        ..config(Scenario::CschRace, 300)
    };
    let mut driver = Driver::new(&mut world, &config);
    let failure = driver.run(|_| {}).expect_err("unfixed fails");
    // The oracle's verdict, with the driver's evidence of the instructions
    // the world executed.
    assert_eq!(failure.violation.class, Class::WrongFunction);
    assert_eq!(failure.sid, SID);
    let kinds: Vec<EventKind> = driver.trace().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Csch) && kinds.contains(&EventKind::Ssch));
    assert_eq!(
        driver.trace().last().map(|e| e.kind),
        Some(EventKind::Interruption)
    );
    assert!(world.steps() > 0);
}

fn vfio_config(scenario: Scenario, iterations: u32) -> Config {
    Config {
        host: gate::cmdline::Host::VfioCcw,
        ..config(scenario, iterations)
    }
}

/// Under `host=vfio-ccw` the deviations are accepted and the guest starts
/// again as soon as its subchannel is idle, which is how the 2021 window
/// opens: the clear's own status then lands on the next start. The model
/// says the series does not close it: `fixed` ends the same way.
#[test]
fn under_vfio_ccw_the_late_clear_status_lands_on_the_next_start() {
    for variant in [Variant::Unfixed, Variant::Fixed] {
        let setup = Setup::new(variant, vfio_config(Scenario::CschRace, 300));
        let (mut late, mut collided) = (0, 0);
        for seed in 0..100 {
            let r = run(&setup, seed);
            let f = r
                .failure()
                .unwrap_or_else(|| panic!("{variant} seed {seed} passed"));
            if f.violation.what == "late-clear-status-for-next-start" {
                late += 1;
                // It got there past accepted deviations; mostly the host's
                // work item collided with the new start (the rest: QEMU
                // relayed the clear's status after the start was issued).
                assert!(f.deviations.total() > 0);
                if r.mechanism.stale_status_over_start > 0 {
                    collided += 1;
                }
            }
        }
        assert!(late >= 90, "{variant}: {late}");
        assert!(collided * 2 >= late, "{variant}: {collided} of {late}");
    }
}

/// The same hosts with `wait_owed=1`: the guest takes the clear's or
/// halt's own status before its next start, and with the default latencies
/// timed runs then pass and never race (ground truth). That holds for timed
/// runs only: exhaustively the window has other ways in (a host-only path
/// through `fsm_irq` overwriting `private->irb` while `io_todo` runs, and
/// `css_do_csch` not withdrawing pending status), see
/// `tests/candidates.rs`. Deviations are still counted, and the owed status
/// is still demanded.
#[test]
fn with_wait_owed_timed_runs_of_upstream_variants_pass_and_never_race() {
    for variant in [Variant::Unfixed, Variant::Fixed] {
        for scenario in Scenario::RACING {
            let setup = Setup::new(
                variant,
                Config {
                    wait_owed: true,
                    ..vfio_config(scenario, 300)
                },
            );
            let mut deviations = 0;
            for seed in 0..100 {
                let r = run(&setup, seed);
                match &r.outcome {
                    ccwgate_model::Outcome::Pass(s) => deviations += s.deviations.total(),
                    other => panic!("{variant} {scenario:?} seed {seed}: {other:?}"),
                }
                assert_eq!(r.mechanism.stale_status_over_start, 0);
                assert_eq!(r.mechanism.freed_while_running, 0);
            }
            assert!(deviations > 0, "{variant} {scenario:?}");
        }
    }
}

#[test]
fn the_reference_host_passes_under_vfio_ccw_without_deviations() {
    for scenario in IO_SCENARIOS {
        let setup = Setup::new(Variant::Reference, vfio_config(scenario, 100));
        for seed in 0..200 {
            let r = run(&setup, seed);
            match &r.outcome {
                ccwgate_model::Outcome::Pass(s) => assert_eq!(s.deviations.total(), 0),
                other => panic!("{scenario:?} seed {seed}: {other:?}"),
            }
        }
    }
}

/// A halt that takes the device two to four start-to-status times (500 to
/// 1000 µs, where a start takes about 240 µs): the candidate sets' hosts
/// relay the start's status, which ends the guest's halt, while the real
/// subchannel still performs the host's halt, and answer the guest's next
/// SSCH busy (`ssch-busy-while-idle`) until it is done. The driver tries
/// again for 16 times the slowest start-to-status time it measured, so
/// these runs pass; with its old 4 tries 100 µs apart every one of them
/// failed `ssch-busy-forever`. The reference never halts a start whose
/// status is on its way, and is never busy. A halt slower than that bound
/// (5 to 10 ms) still fails `ssch-busy-forever`.
#[test]
fn a_slow_halt_is_waited_for_at_the_hosts_own_pace() {
    let halt = |min, max| Latencies {
        device_halt: Range::us(min, max),
        ..Latencies::default()
    };
    let candidate: Variant = "fixed+q-relay+k-irb-once+k-gen".parse().unwrap();
    let unsolicited_set: Variant =
        "fixed+q-relay+q-unsol-hold+q-halt-dcc1+k-irb-queue+k-gen+k-unsol-tsch"
            .parse()
            .unwrap();
    let busy_while_idle = gate::oracle::Deviation::SschBusyWhileIdle;
    for variant in [candidate, unsolicited_set, Variant::Reference] {
        for scenario in [Scenario::HschRace, Scenario::Mixed] {
            let setup = Setup {
                latencies: halt(500, 1000),
                ..Setup::new(variant, vfio_config(scenario, 300))
            };
            let mut busy = 0;
            for seed in 0..30 {
                match &run(&setup, seed).outcome {
                    ccwgate_model::Outcome::Pass(s) => busy += s.deviations.get(busy_while_idle),
                    other => panic!("{variant} {scenario:?} seed {seed}: {other:?}"),
                }
            }
            if variant == Variant::Reference {
                assert_eq!(busy, 0, "{scenario:?}");
            } else {
                assert!(busy > 30, "{variant} {scenario:?}: {busy}");
            }
        }
    }
    let setup = Setup {
        latencies: halt(5000, 10_000),
        ..Setup::new(candidate, vfio_config(Scenario::HschRace, 300))
    };
    for seed in 0..10 {
        let r = run(&setup, seed);
        let what = r.failure().map(|f| f.violation.what);
        assert_eq!(what, Some("ssch-busy-forever"), "seed {seed}");
    }
}

fn vfio_delay(delay: &str) -> Config {
    let line = format!("scenario=csch-race iterations=200 host=vfio-ccw delay={delay}");
    gate::cmdline::parse(line.as_bytes()).expect("valid")
}

/// A sweep far below the device's start-to-status time never reaches the
/// completion window: under `host=vfio-ccw` that is an ERROR, not a PASS
/// that proves nothing. `delay=auto` reaches it.
#[test]
fn race_not_exercised_fires_for_a_short_sweep_and_not_with_delay_auto() {
    let short = Setup::new(Variant::Reference, vfio_delay("0:8192:64"));
    let auto = Setup::new(Variant::Reference, vfio_delay("auto"));
    for seed in 0..20 {
        match run(&short, seed).outcome {
            ccwgate_model::Outcome::NotExercised(s, missing) => {
                assert_eq!(missing, "window");
                assert_eq!(s.landed.window, 0);
            }
            other => panic!("seed {seed}: {other:?}"),
        }
        match run(&auto, seed).outcome {
            ccwgate_model::Outcome::Pass(s) => {
                assert!(s.landed.window > 0 && s.landed.after > 0, "{:?}", s.landed);
                assert!(u64::from(s.sweep.max) > Latencies::default().start_to_status());
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
}

/// The oracle's rarer branches, reached by a correct host: completions
/// whose device end comes separately, halts that catch a running start,
/// clears and halts landing in the completion window.
#[test]
fn a_correct_host_reaches_the_rare_branches() {
    for scenario in Scenario::RACING {
        let setup = Setup {
            split_percent: 20,
            ..Setup::new(Variant::Reference, vfio_delay("auto"))
        };
        let setup = Setup {
            config: Config {
                scenario,
                ..setup.config
            },
            ..setup
        };
        let (mut split, mut window, mut running) = (0, 0, 0);
        for seed in 0..50 {
            let r = run(&setup, seed);
            let s = r
                .summary()
                .filter(|_| matches!(r.outcome, ccwgate_model::Outcome::Pass(_)))
                .unwrap_or_else(|| panic!("{scenario:?} seed {seed}: {:?}", r.outcome));
            split += s.split;
            window += s.landed.window;
            running += s.landed.running;
        }
        assert!(split > 0 && window > 0 && running > 0, "{scenario:?}");
    }
}

/// Under `host=strict` too, a correct host's split completions pass,
/// halts included (a halt while the device end is due shows the halt
/// function alone, which is right: the start function went with the
/// primary status), and with a device's unsolicited status besides: PASS,
/// or the environment's ERROR for the device's own unit check or busy.
#[test]
fn a_correct_hosts_split_completions_pass_in_both_profiles_with_unsolicited_status_too() {
    let kinds = ccwgate_model::UnsolicitedKind::ALL;
    for scenario in Scenario::RACING {
        for host in [gate::cmdline::Host::Strict, gate::cmdline::Host::VfioCcw] {
            for unsolicited in [0, 20] {
                let base = Setup::new(Variant::Reference, vfio_delay("auto"));
                let setup = Setup {
                    split_percent: 20,
                    unsolicited: ccwgate_model::Unsolicited::new(unsolicited, &kinds),
                    config: Config {
                        scenario,
                        host,
                        ..base.config
                    },
                    ..base
                };
                let mut split = 0;
                for seed in 0..40 {
                    let r = run(&setup, seed);
                    match &r.outcome {
                        ccwgate_model::Outcome::Pass(s) => split += s.split,
                        ccwgate_model::Outcome::Error(f) if f.environment.is_some() => {}
                        other => {
                            panic!("{scenario:?} {host:?} {unsolicited} % seed {seed}: {other:?}")
                        }
                    }
                }
                assert!(split > 0, "{scenario:?} {host:?} {unsolicited} %");
            }
        }
    }
}

/// The guest under QEMU's TCG (`--accel tcg`): its interruption queue
/// presents the newest first and TEST SUBCHANNEL withdraws none, so the
/// relay's second interruption for one status is taken after the next
/// START. Judged as under KVM, upstream FAILs `intparm-mismatch`, the
/// parameter behind; judged under TCG (the guest finds it itself) those go
/// and nothing else changes: every other failure is the KVM world's.
#[test]
fn tcgs_leftover_interruption_is_the_emulators() {
    use ccwgate_model::{exhaustive_setup, Range};
    use gate::accel::Accel;
    use gate::cmdline::Host;
    let vfio = Config {
        host: Host::VfioCcw,
        ..exhaustive_config(1)
    };
    let bounds = Bounds {
        preemptions: 2,
        ..Bounds::default()
    };
    let world = |accel, judged| Setup {
        accel,
        config: Config {
            accel: judged,
            ..vfio
        },
        ..Setup::new(Variant::Fixed, vfio)
    };
    let mismatches = |e: &ccwgate_model::Exhaustive| {
        e.classes
            .get(&("intparm-mismatch", "start-intparm"))
            .copied()
    };
    let as_kvm = exhaustive_setup(&world(Accel::Tcg, Some(Accel::Kvm)), bounds, |_| {});
    let as_tcg = exhaustive_setup(&world(Accel::Tcg, None), bounds, |_| {});
    let kvm = exhaustive_setup(&world(Accel::Kvm, None), bounds, |_| {});
    let behind = mismatches(&as_kvm).expect("the leftover, judged as under KVM");
    assert!(as_kvm.complete && as_tcg.complete && kvm.complete);
    assert_eq!(mismatches(&as_tcg), None);
    assert_eq!(as_kvm.failing, as_tcg.failing + behind);
    assert_eq!(as_tcg.classes, kvm.classes);
    // KVM's world is the model as it was.
    assert_eq!(mismatches(&kvm), None);
    // Timed, with the vCPU slow between an interruption and its TSCH (as
    // nested TCG is): the leftover finds the next start's status at once.
    let timed = |judged| {
        let mut setup = world(Accel::Tcg, judged);
        setup.config = Config {
            iterations: Some(300),
            wait_owed: true,
            delay: default_sweep(&Latencies::default()),
            ..setup.config
        };
        setup.latencies.intercept = Range::us(5, 100);
        (1..21)
            .filter_map(|seed| {
                run(&setup, seed)
                    .failure()
                    .map(|f| (f.violation.class, f.violation.what))
            })
            .collect::<Vec<_>>()
    };
    let judged_as_kvm = timed(Some(Accel::Kvm));
    assert!(judged_as_kvm.len() >= 15, "{judged_as_kvm:?}");
    assert!(judged_as_kvm
        .iter()
        .all(|&f| f == (Class::IntparmMismatch, "start-intparm")));
    assert_eq!(timed(None), []);
}
