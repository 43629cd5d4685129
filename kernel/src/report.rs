//! The end of every run: its kvm-unit-tests report line, exactly one
//! verdict line, the `SUMMARY:` and `EXIT: STATUS=` lines
//! ([`gate::kut`]), then the CPU stops.
//!
//! The scenario, seed and progress live in atomics so that the fault and
//! panic paths, which may interrupt anything, can still name the run.

use crate::{console, rt};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use gate::cmdline::{Config, Scenario};
use gate::kut::{self, Report, Tally};
use gate::verdict::{hex, Outcome, VerdictLine};

static SCENARIO: AtomicU8 = AtomicU8::new(u8::MAX);
static SEED: AtomicU64 = AtomicU64::new(0);
static ITERATIONS: AtomicU32 = AtomicU32::new(0);
static FINISHING: AtomicBool = AtomicBool::new(false);
/// Report lines printed so far ([`unit`]), for the summary.
static TESTS: AtomicU32 = AtomicU32::new(0);
static FAILURES: AtomicU32 = AtomicU32::new(0);
static SKIPPED: AtomicU32 = AtomicU32::new(0);

/// Prints one kvm-unit-tests report line for a judged unit of the run
/// (a conformance check): `WORD: ccwgate: <prefixes>: <message>`.
pub fn unit(r: Report, prefixes: &[&str], message: fmt::Arguments<'_>) {
    let mut out = LineBuf::new();
    if kut::report_line(&mut out, r, prefixes, message).is_err() {
        // Too long for one line: the word and prefixes still count.
        out.len = 0;
        let _ = kut::report_line(&mut out, r, prefixes, format_args!("(line too long)"));
    }
    crate::console::_print(format_args!("{}", out.text()));
    count(r);
}

fn count(r: Report) {
    TESTS.fetch_add(1, Ordering::Relaxed);
    match r {
        Report::Pass => {}
        Report::Fail => {
            FAILURES.fetch_add(1, Ordering::Relaxed);
        }
        Report::Skip => {
            SKIPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn tally() -> Tally {
    Tally {
        tests: TESTS.load(Ordering::Relaxed),
        failures: FAILURES.load(Ordering::Relaxed),
        skipped: SKIPPED.load(Ordering::Relaxed),
    }
}

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

impl LineBuf {
    const fn new() -> Self {
        LineBuf {
            buf: [0; 1024],
            len: 0,
        }
    }

    fn text(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
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

/// The last lines of the run, written at once ([`console::emergency_block`]).
/// Only the one CPU that gets past `FINISHING` takes it.
struct Block {
    buf: [u8; crate::sclp::MAX_TEXT],
    len: usize,
}

static BLOCK: spin::Mutex<Block> = spin::Mutex::new(Block {
    buf: [0; crate::sclp::MAX_TEXT],
    len: 0,
});

impl Block {
    fn text(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for Block {
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
    let mut out = LineBuf::new();
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
    // The run's own report line, unless its units were reported one by
    // one (conformance) and the verdict adds nothing to them.
    let mut run_line = LineBuf::new();
    let parsed = gate::verdict::parse(text);
    let so_far = tally();
    let needed = so_far.tests == 0
        || outcome == Outcome::Error
        || (outcome == Outcome::Fail && so_far.failures == 0);
    let written = match parsed {
        Some(p) if needed => kut::run_report(&mut run_line, &p).ok().or_else(|| {
            // Too long: a partial line must not run into the verdict.
            run_line.len = 0;
            let r = match p.outcome {
                Outcome::Pass => Report::Pass,
                _ if reason.is_some_and(kut::is_environment) => Report::Skip,
                _ => Report::Fail,
            };
            kut::report_line(
                &mut run_line,
                r,
                &[scenario_name()],
                format_args!("(line too long)"),
            )
            .ok()
            .map(|()| r)
        }),
        Some(_) => None,
        // A verdict that does not parse (verdict-too-long) is still a
        // failed run.
        None => kut::report_line(
            &mut run_line,
            Report::Fail,
            &[scenario_name()],
            format_args!("ERROR verdict-unreadable"),
        )
        .ok()
        .map(|()| Report::Fail),
    };
    if let Some(r) = written {
        count(r);
    }
    let reason = parsed.and_then(|p| p.get("reason"));
    let code = kut::exit_code(parsed.map_or(Outcome::Error, |p| p.outcome), reason);
    // Report line, verdict, summary and status in one console write.
    let mut block = BLOCK.lock();
    block.len = 0;
    let _ = block.write_str(run_line.text());
    let _ = block.write_str(text);
    let _ = kut::summary_line(&mut *block, &tally());
    let _ = kut::exit_line(&mut *block, code);
    console::emergency_block(block.text());
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
