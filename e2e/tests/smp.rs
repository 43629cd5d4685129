//! Two CPUs (`--cpus io-elsewhere|both`, multi-threaded TCG): the second
//! CPU comes up through SIGNAL PROCESSOR, every channel-I/O scenario
//! passes, the injected host faults are still caught with their class, and
//! a missing CPU is an ERROR naming it.

use e2e::{run_qemu, run_with_gdb};
use gate::cmdline::Scenario;
use gate::oracle::Class;
use gate::verdict::Outcome;

const SCENARIOS: [&str; Scenario::CHANNEL_IO.len()] = gate::names_of!(Scenario::CHANNEL_IO);

fn two(cpus: &str, extra: &[&str]) -> e2e::Run {
    let mut args = vec!["--cpus", cpus, "--timeout", "90"];
    args.extend_from_slice(extra);
    run_qemu(&args)
}

fn passes_every_scenario(cpus: &str, modes: &[&str]) {
    for (i, scenario) in SCENARIOS.iter().enumerate() {
        let mode = modes[i % modes.len()];
        let run = two(
            cpus,
            &[
                "--scenario",
                scenario,
                "--mode",
                mode,
                "--iterations",
                "200",
            ],
        );
        assert_eq!(run.code, 0, "{cpus} {scenario} {mode}:\n{run}");
        assert_eq!(run.verdict().get("cpus"), Some(cpus), "{run}");
        assert!(run.stdout.contains("smp: CPU 1 up"), "{run}");
    }
}

#[test]
fn io_taken_on_the_other_cpu_passes_every_scenario() {
    passes_every_scenario("io-elsewhere", &["irq", "wait"]);
}

/// The campaign's counterexample: if CPU 1 did not open at least once per
/// drain, requests whose status a CLEAR withdrew would pile up undelivered
/// (beyond what the oracle excuses) and later arrive as spurious.
#[test]
fn io_elsewhere_drains_pending_requests_as_one_cpu_does() {
    let run = two(
        "io-elsewhere",
        &[
            "--scenario",
            "csch-race",
            "--seed",
            "10101",
            "--delay",
            "0:8192:64",
            "--iterations",
            "300",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.verdict().get_u64("withdrawn").unwrap_or(0) > 0, "{run}");
}

#[test]
fn instructions_from_both_cpus_pass_every_scenario() {
    passes_every_scenario("both", &["irq", "wait", "poll", "tsch"]);
}

#[test]
fn injected_faults_keep_their_class_on_two_cpus() {
    for (cpus, class) in [
        ("io-elsewhere", Class::WrongFunction),
        ("io-elsewhere", Class::DuplicateStatus),
        ("io-elsewhere", Class::SpuriousInterrupt),
        ("io-elsewhere", Class::IntparmMismatch),
        ("both", Class::CcAnomaly),
        ("both", Class::LostInterrupt),
        ("both", Class::SidMismatch),
        ("both", Class::CcwAddress),
    ] {
        let spec = format!("{}@5", class.name());
        let run = two(cpus, &["--inject", &spec]);
        assert_eq!(run.code, 1, "{cpus} {spec}:\n{run}");
        let v = run.verdict();
        assert_eq!(v.outcome, Outcome::Fail, "{run}");
        assert_eq!(v.get("class"), Some(class.name()), "{cpus}:\n{run}");
    }
}

#[test]
fn a_missing_cpu_or_a_polling_mode_elsewhere_is_an_error() {
    let run = run_qemu(&["--smp", "1", "--append", "cpus=both", "--scenario", "smoke"]);
    assert_eq!(run.code, 2, "{run}");
    let v = run.verdict();
    assert_eq!(v.get("reason"), Some("cpu-missing"), "{run}");
    assert_eq!(v.get("cpu"), Some("1"), "{run}");
    let run = two("io-elsewhere", &["--mode", "tsch", "--scenario", "smoke"]);
    assert_eq!(run.code, 2, "{run}");
    let v = run.verdict();
    assert_eq!(v.get("reason"), Some("bad-cmdline"), "{run}");
    assert_eq!(v.get("error"), Some("conflict"), "{run}");
}

/// Two CPUs and three subchannels at once.
#[test]
fn two_cpus_drive_three_subchannels() {
    let run = two(
        "both",
        &[
            "--devices",
            "3",
            "--devno",
            "all",
            "--scenario",
            "mixed",
            "--iterations",
            "200",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let v = run.verdict();
    assert_eq!(
        (v.get("cpus"), v.get("subchannels")),
        (Some("both"), Some("3")),
        "{run}"
    );
}

/// Stops CPU 1 where it starts its work (gdb's current thread is then
/// CPU 1), runs `then` and lets the run go on. The breakpoint goes first:
/// gdb would otherwise step CPU 1 over it alone before resuming both, and
/// a CPU that `then` put in a wait never finishes that step.
fn on_the_second_cpu(then: &[&str]) -> e2e::Run {
    let mut commands = vec![
        "break ccwgate::css::second::main",
        "continue",
        "delete",
        "set language c",
    ];
    commands.extend_from_slice(then);
    commands.push("continue");
    let run = run_with_gdb(
        &[
            "--cpus",
            "both",
            "--scenario",
            "ssch",
            "--iterations",
            "100",
            "--timeout",
            "60",
        ],
        &commands,
    );
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(run.verdict().outcome, Outcome::Error, "{run}");
    run
}

/// Each CPU keeps its fault stack's top in its own lowcore (0x290, which
/// gdb reads through the stopped CPU's prefix), and a wild stack pointer
/// on CPU 1 still ends in a verdict.
#[test]
fn each_cpu_faults_onto_a_stack_of_its_own() {
    let run = on_the_second_cpu(&[
        r#"printf "cpu1 own fault stack: %d\n", *(unsigned long *)0x290 == (unsigned long)&__secondary_fault_stack_top"#,
        "thread 1",
        r#"printf "cpu0 own fault stack: %d\n", *(unsigned long *)0x290 == (unsigned long)&__fault_stack_top"#,
        "thread 2",
        "set $r15 = 0x40000000000",
    ]);
    assert!(run.stderr.contains("cpu1 own fault stack: 1"), "{run}");
    assert!(run.stderr.contains("cpu0 own fault stack: 1"), "{run}");
    assert_eq!(
        run.field("reason").as_deref(),
        Some("program-check"),
        "{run}"
    );
    assert_eq!(run.field("code").as_deref(), Some("0x5"), "{run}");
}

/// A write into the guard below CPU 1's stack, as an overflow would make:
/// whatever the run saw, it ends as an ERROR naming the CPU.
#[test]
fn an_overflow_of_the_second_stack_is_an_error() {
    let run = on_the_second_cpu(&[
        "set {unsigned char}((unsigned long)&__secondary_stack_guard + 4000) = 0",
    ]);
    let v = run.verdict();
    assert_eq!(v.get("reason"), Some("stack-overflow"), "{run}");
    assert_eq!(v.get("cpu"), Some("1"), "{run}");
}

/// CPU 1 put in a disabled wait (as a host that never schedules its
/// thread again would leave it): CPU 0's next posted instruction goes
/// unanswered, and the run ends as an ERROR naming the CPU, not a hang.
#[test]
fn a_second_cpu_that_stops_answering_is_an_error() {
    let run = on_the_second_cpu(&["set $pswm = 0x0002000180000000"]);
    let v = run.verdict();
    assert_eq!(v.get("reason"), Some("cpu-unresponsive"), "{run}");
    assert_eq!(v.get("cpu"), Some("1"), "{run}");
}
