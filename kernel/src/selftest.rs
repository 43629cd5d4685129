//! `scenario=selftest`: proves the pieces every other scenario relies on
//! (console, TOD clock, external interruptions and their return path) and
//! `scenario=crash`: proves the fault path by taking a program check.

use crate::css::insn;
use crate::report;
use crate::rt::{self, clock, psw::PswMask};
use gate::cmdline::Config;
use gate::verdict::Outcome;

/// Program-interruption code of a privileged-operation exception.
const PRIVILEGED: u16 = 0x0002;

pub fn run(_config: &Config) -> ! {
    let t0 = clock::tod();
    let t1 = clock::tod();
    if t1 <= t0 {
        report::end(Outcome::Error, Some("tod-clock-stopped"));
    }

    // Clock comparator: an external interruption must be taken and must
    // return into the enabled wait's caller.
    let (ckc_before, timer_before) = clock::timer_ticks();
    let deadline = clock::tod() + clock::us_to_tod(1000);
    clock::wait_until(deadline, PswMask::empty(), || {
        clock::timer_ticks().0 > ckc_before
    });
    let ckc_latency = clock::tod().saturating_sub(deadline);
    if clock::timer_ticks().0 == ckc_before {
        report::end(Outcome::Error, Some("no-clock-comparator-interruption"));
    }

    // CPU timer: the second timer source, and a wait ended by something other
    // than its own deadline.
    clock::arm_cpu_timer(500);
    let limit = clock::tod() + clock::us_to_tod(1_000_000);
    let fired = clock::wait_until(limit, PswMask::empty(), || {
        clock::timer_ticks().1 > timer_before
    });
    if !fired {
        report::end(Outcome::Error, Some("no-cpu-timer-interruption"));
    }
    // An expected program interruption: SCHM tried in the problem state
    // comes back as a privileged-operation exception at that SCHM, and the
    // CPU is in the supervisor state again (the mask_io below is privileged:
    // were it not, that would be an unexpected program check, an ERROR).
    let mut at = 0;
    // SAFETY: measurements off (GR1 0), should the SCHM complete: nothing
    // stored.
    let attempt = || at = unsafe { insn::schm_in_problem_state(0, 0) };
    let caught = rt::expect_program_interruption(attempt);
    match caught {
        Err(pi) if pi.code == PRIVILEGED && pi.address == at => {}
        _ => report::end(Outcome::Error, Some("expected-program-interruption-lost")),
    }
    rt::cpu::mask_io();
    report::progress(1);
    crate::println!(
        "selftest: clock-comparator late by {} us; cpu timer fired; expected program interruption recovered",
        clock::tod_to_us(ckc_latency)
    );
    report::end(Outcome::Pass, None)
}

pub fn crash() -> ! {
    crate::println!("crash: executing an invalid instruction on purpose");
    // SAFETY: opcode 0x0000 is not assigned; the resulting operation
    // exception is a program check that the runtime turns into a verdict.
    unsafe { core::arch::asm!(".2byte 0x0000", options(nostack)) };
    report::end(Outcome::Error, Some("crash-survived-program-check"))
}
