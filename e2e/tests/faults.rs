//! Faults anywhere in the guest end in one ERROR verdict that says what
//! happened, never a hang and never PASS. gdb makes them happen: the kernel
//! has no code to fake them.

use e2e::run_with_gdb;
use gate::verdict::Outcome;

/// Stops in the selftest, after the runtime is up, then runs `then`.
fn fault<S: AsRef<str>>(then: &[S]) -> e2e::Run {
    let mut commands = vec!["break ccwgate::selftest::run", "continue", "set language c"];
    commands.extend(then.iter().map(AsRef::as_ref));
    commands.push("continue");
    let run = run_with_gdb(&["--scenario", "selftest", "--timeout", "60"], &commands);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(run.verdict().outcome, Outcome::Error, "{run}");
    run
}

/// gdb commands that do what the CPU does to present an interruption whose
/// old and new PSWs live at lowcore offsets `old` and `new`.
fn present(old: u32, new: u32) -> Vec<String> {
    vec![
        format!("set {{unsigned long}}{old:#x} = $pswm"),
        format!("set {{unsigned long}}{:#x} = $pswa", old + 8),
        format!("set $pswm = *(unsigned long *){new:#x}"),
        format!("set $pswa = *(unsigned long *){:#x}", new + 8),
    ]
}

#[test]
fn supervisor_call_is_an_error() {
    // SVC 0 written over the next instruction.
    let run = fault(&["set {unsigned short}$pswa = 0x0a00"]);
    assert_eq!(
        run.field("reason").as_deref(),
        Some("unexpected-svc"),
        "{run}"
    );
    assert_eq!(run.field("code").as_deref(), Some("0x0"), "{run}");
}

#[test]
fn restart_interruption_is_an_error() {
    // What the CPU does for a restart (e.g. `virsh inject-nmi`).
    let run = fault(&present(0x120, 0x1a0));
    assert_eq!(
        run.field("reason").as_deref(),
        Some("restart-interruption"),
        "{run}"
    );
    assert!(run.field("psw").is_some(), "{run}");
}

#[test]
fn machine_check_is_an_error_with_its_code() {
    let mut commands = vec!["set {unsigned long}0xe8 = 0x400f1d4000000000".to_owned()];
    commands.extend(present(0x160, 0x1e0));
    let run = fault(&commands);
    assert_eq!(
        run.field("reason").as_deref(),
        Some("machine-check"),
        "{run}"
    );
    assert_eq!(
        run.field("mcic").as_deref(),
        Some("0x400f1d4000000000"),
        "{run}"
    );
}

#[test]
fn unknown_external_interruption_is_an_error() {
    // Emergency signal (0x1201), which ccwgate never asks for.
    let mut commands = vec!["set {unsigned short}0x86 = 0x1201".to_owned()];
    commands.extend(present(0x130, 0x1b0));
    let run = fault(&commands);
    assert_eq!(
        run.field("reason").as_deref(),
        Some("unexpected-external-interruption"),
        "{run}"
    );
    assert_eq!(run.field("code").as_deref(), Some("0x1201"), "{run}");
}

#[test]
fn rust_panic_is_an_error_with_its_location() {
    // A console line length beyond the buffer: the next print panics on the
    // bounds check while it holds the console lock, which the panic path
    // must break to report.
    let run = fault(&["set var 'ccwgate::console::CONSOLE'.inner.data.value.len = 4000"]);
    assert_eq!(run.field("reason").as_deref(), Some("panic"), "{run}");
    assert!(
        run.field("location")
            .is_some_and(|l| l.starts_with("kernel/src/console.rs:")),
        "{run}"
    );
    assert!(run.stdout.contains("panic: index out of bounds"), "{run}");
}

#[test]
fn a_wild_stack_pointer_still_gives_a_verdict() {
    // Far beyond the guest's memory: the next stack access is an addressing
    // exception, and the fault stub must not use that stack.
    let run = fault(&["set $r15 = 0x40000000000"]);
    assert_eq!(
        run.field("reason").as_deref(),
        Some("program-check"),
        "{run}"
    );
    assert_eq!(run.field("code").as_deref(), Some("0x5"), "{run}");
}

#[test]
fn a_broken_console_neither_hangs_nor_passes() {
    // The console marked broken before its first write: the kernel runs to
    // its end without a word, and run-qemu.sh calls the silence an ERROR.
    let run = run_with_gdb(
        &["--scenario", "selftest", "--timeout", "60"],
        &[
            "break ccwgate::rt::rust_start",
            "continue",
            "set language c",
            "set {unsigned char}&'ccwgate::sclp::BROKEN' = 1",
            "continue",
        ],
    );
    assert_eq!(run.code, 2, "{run}");
    assert!(run.verdict_lines().is_empty(), "{run}");
    assert!(
        run.stderr
            .contains("expected exactly one VERDICT line, got 0"),
        "{run}"
    );
}

#[test]
fn a_stack_overflow_hits_the_guard() {
    // A stack pointer just inside the low-address-protected 4 KiB below the
    // stack, as an overflow would leave it: the next store is a protection
    // exception, reported as what it is.
    let run = fault(&["set $r15 = 0x1180"]);
    assert_eq!(
        run.field("reason").as_deref(),
        Some("stack-overflow"),
        "{run}"
    );
    assert!(
        run.field("sp").is_some_and(|sp| sp.starts_with("0x11")),
        "{run}"
    );
}

/// Inside `rt::expect_program_interruption`, only a guarded instruction's
/// program interruption comes back as a value: one in ordinary code (here
/// an invalid opcode at the start of the function the scope runs) is still
/// the ERROR it always was.
#[test]
fn a_program_check_outside_a_guarded_instruction_stays_an_error_inside_a_scope() {
    let run = run_with_gdb(
        &["--scenario", "selftest", "--timeout", "60"],
        &[
            "break ccwgate::css::insn::schm_in_problem_state",
            "continue",
            "set language c",
            "set {unsigned short}$pswa = 0x0000",
            "continue",
        ],
    );
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        run.field("reason").as_deref(),
        Some("program-check"),
        "{run}"
    );
    assert_eq!(run.field("code").as_deref(), Some("0x1"), "{run}");
}

/// `measure=1` on a host that refuses SET CHANNEL MONITOR (gdb sets
/// reserved GR1 bits, so the SCHM takes an operand exception): the run
/// says the host provides no measurement blocks and goes on to PASS.
#[test]
fn measure_goes_on_without_measurement_blocks() {
    let run = run_with_gdb(
        &[
            "--scenario",
            "ssch",
            "--iterations",
            "20",
            "--timeout",
            "60",
            "--append",
            "measure=1",
        ],
        &[
            "break *'ccwgate::css::insn::schm_guarded'",
            "continue",
            "set $r2 = 0xfffffffc",
            "delete",
            "continue",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.field("measure").as_deref(), Some("none"), "{run}");
    assert!(
        run.stdout
            .contains("measure: the host provides no measurement blocks (schm-refused)"),
        "{run}"
    );
}
