//! The end of every run: exactly one verdict line, then the CPU stops.
//!
//! The scenario, seed and progress live in atomics so that the fault and
//! panic paths, which may interrupt anything, can still name the run.

use crate::{console, rt};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use gate::cmdline::{Config, Scenario};
use gate::verdict::{hex, Outcome, VerdictLine};

static SCENARIO: AtomicU8 = AtomicU8::new(u8::MAX);
static SEED: AtomicU64 = AtomicU64::new(0);
static ITERATIONS: AtomicU32 = AtomicU32::new(0);
static FINISHING: AtomicBool = AtomicBool::new(false);

/// Names the run for whatever verdict ends it.
pub fn begin(config: &Config) {
    let index = Scenario::ALL
        .iter()
        .position(|s| *s == config.scenario)
        .unwrap_or(usize::MAX);
    SCENARIO.store(index as u8, Ordering::Relaxed);
    SEED.store(config.seed, Ordering::Relaxed);
}

/// Records how many iterations completed so far.
pub fn progress(iterations: u32) {
    ITERATIONS.store(iterations, Ordering::Relaxed);
}

fn scenario_name() -> &'static str {
    Scenario::ALL
        .get(SCENARIO.load(Ordering::Relaxed) as usize)
        .map_or("none", |s| s.name())
}

/// Collects the verdict line so that it reaches the console in one write.
pub struct LineBuf {
    buf: [u8; 1024],
    len: usize,
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Prints the verdict without extra fields and stops.
pub fn end(outcome: Outcome, reason: Option<&str>) -> ! {
    finish(outcome, reason, &|_| {})
}

/// Prints the verdict (with `extra` fields after the fixed ones) and stops.
pub fn finish(
    outcome: Outcome,
    reason: Option<&str>,
    extra: &dyn Fn(&mut VerdictLine<'_, LineBuf>),
) -> ! {
    if FINISHING.swap(true, Ordering::SeqCst) {
        // A fault while printing a verdict: nothing more can be said.
        rt::cpu::stop();
    }
    // An overflowed second stack may have written anything (CPU 0's
    // lowcore, say): whatever the run saw, it cannot stand as a verdict.
    let overflowed = rt::smp::second_stack_overflowed();
    let second = |line: &mut VerdictLine<'_, LineBuf>| {
        line.field("cpu", rt::smp::SECOND);
    };
    let (outcome, reason, extra) = if overflowed {
        (Outcome::Error, Some("stack-overflow"), &second as _)
    } else {
        (outcome, reason, extra)
    };
    let mut out = LineBuf {
        buf: [0; 1024],
        len: 0,
    };
    let mut line = VerdictLine::start(
        &mut out,
        outcome,
        scenario_name(),
        SEED.load(Ordering::Relaxed),
        ITERATIONS.load(Ordering::Relaxed),
        rt::elapsed_us(),
    );
    if let Some(reason) = reason {
        line.reason(reason);
    }
    extra(&mut line);
    if line.finish().is_err() {
        out.len = 0;
        let _ = writeln!(
            out,
            "VERDICT: ERROR scenario={} reason=verdict-too-long",
            scenario_name()
        );
    }
    let text = core::str::from_utf8(&out.buf[..out.len])
        .unwrap_or("VERDICT: ERROR reason=verdict-not-utf8\n");
    console::emergency(format_args!("{text}"));
    rt::cpu::stop()
}

pub fn fault(fault: &rt::Fault, psw: &rt::Psw) -> ! {
    finish(Outcome::Error, Some(fault.reason()), &|line| {
        line.field("psw", psw);
        match *fault {
            rt::Fault::Program { code, ilc, tec } => {
                line.field("code", hex(u64::from(code)));
                line.field("ilc", ilc);
                // For suppressing and terminating exceptions the old PSW
                // points past the failing instruction, which is ilc bytes long.
                line.field("location", hex(psw.addr.wrapping_sub(u64::from(ilc))));
                if tec != 0 {
                    line.field("tec", hex(tec));
                }
            }
            rt::Fault::StackOverflow { sp } => {
                line.field("sp", hex(sp));
            }
            rt::Fault::MachineCheck { mcic } => {
                line.field("mcic", hex(mcic));
            }
            rt::Fault::Svc { code } | rt::Fault::External { code } => {
                line.field("code", hex(u64::from(code)));
            }
            rt::Fault::Restart => {}
        }
    })
}

pub fn panic(info: &core::panic::PanicInfo) -> ! {
    console::emergency(format_args!("panic: {}\n", info.message()));
    finish(Outcome::Error, Some("panic"), &|line| {
        if let Some(location) = info.location() {
            line.field(
                "location",
                format_args!("{}:{}", location.file(), location.line()),
            );
        }
    })
}
