//! The end of every run: its kvm-unit-tests report line, exactly one
//! verdict line, the `SUMMARY:` and `EXIT: STATUS=` lines
//! ([`gate::kut`]), then the CPU stops.
//!
//! The scenario, seed and progress live in atomics so that the fault and
//! panic paths, which may interrupt anything, can still name the run.
//!
//! A batch boot (`runs=N`) ends each run with its report line and a run
//! line instead ([`conclude`]) and goes on with the next, and ends the boot
//! with one verdict line for all its runs, the summary and the status
//! ([`end_batch`]). A fault or panic in the middle of a batch ends that run
//! with its run line and the batch with the verdict line, so every run
//! started has exactly one run line.

use crate::{console, rt};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use gate::cmdline::{Config, Scenario};
use gate::kut::{self, Report, Tally};
use gate::verdict::{hex, Outcome, VerdictLine};
use spin::Mutex;

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

/// The batch: its planned runs (0 for an ordinary boot), the 1-based run
/// under way, when it started (guest us since boot), whether it goes on
/// after a FAIL or ERROR, and the first run's seed.
static RUNS: AtomicU32 = AtomicU32::new(0);
static RUN: AtomicU32 = AtomicU32::new(0);
static RUN_START_US: AtomicU64 = AtomicU64::new(0);
static KEEP_GOING: AtomicBool = AtomicBool::new(false);
static FIRST_SEED: AtomicU64 = AtomicU64::new(0);
/// What the finished runs gave, for the batch's verdict line.
static PASSED: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU32 = AtomicU32::new(0);
static ERRORS: AtomicU32 = AtomicU32::new(0);
static TOTAL_ITERATIONS: AtomicU64 = AtomicU64::new(0);
/// The first run that did not pass: its number (0: none yet), seed,
/// outcome and reason.
static FIRST_BAD: AtomicU32 = AtomicU32::new(0);
static FIRST_BAD_SEED: AtomicU64 = AtomicU64::new(0);
static FIRST_BAD_FAILED: AtomicBool = AtomicBool::new(false);
static FIRST_BAD_REASON: Mutex<Reason> = Mutex::new(Reason {
    buf: [0; 48],
    len: 0,
});

/// A copy of a run's reason (they are short class and reason names).
struct Reason {
    buf: [u8; 48],
    len: usize,
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

/// Makes this boot a batch of `config.runs` runs (`runs=`).
pub fn batch(config: &Config) {
    RUNS.store(config.runs, Ordering::Relaxed);
    KEEP_GOING.store(config.keep_going, Ordering::Relaxed);
    FIRST_SEED.store(config.seed, Ordering::Relaxed);
}

/// Starts run `run` (1-based) of the batch with `config` (its own seed):
/// names it, and restarts its progress and its clock.
pub fn begin_run(config: &Config, run: u32) {
    begin(config);
    ITERATIONS.store(0, Ordering::Relaxed);
    RUN.store(run, Ordering::Relaxed);
    RUN_START_US.store(rt::elapsed_us(), Ordering::Relaxed);
}

fn batching() -> bool {
    RUNS.load(Ordering::Relaxed) > 0
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

/// Text collected so that it reaches the console in one write.
pub struct TextBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> TextBuf<N> {
    const fn new() -> Self {
        TextBuf {
            buf: [0; N],
            len: 0,
        }
    }

    fn text(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> Write for TextBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// One verdict, run or report line.
pub type LineBuf = TextBuf<1024>;

/// The last lines of the run, written at once ([`console::emergency_block`]).
/// Only the one CPU that gets past `FINISHING` takes it.
type Block = TextBuf<{ crate::sclp::MAX_TEXT }>;

static BLOCK: spin::Mutex<Block> = spin::Mutex::new(Block::new());

/// Prints the verdict without extra fields and stops.
pub fn end(outcome: Outcome, reason: Option<&str>) -> ! {
    finish(outcome, reason, &|_| {})
}

/// Prints the verdict (with `extra` fields after the fixed ones) and stops.
/// In a batch: the run line of the run under way, then the batch's
/// verdict line.
pub fn finish(
    outcome: Outcome,
    reason: Option<&str>,
    extra: &dyn Fn(&mut VerdictLine<'_, LineBuf>),
) -> ! {
    if FINISHING.swap(true, Ordering::SeqCst) {
        // A fault while printing a verdict: nothing more can be said.
        rt::cpu::stop();
    }
    let outcome = print_line(outcome, reason, extra);
    if batching() {
        counted(outcome, reason);
        batch_verdict()
    }
    rt::cpu::stop()
}

/// The end of one channel-I/O run: [`finish`] for an ordinary boot. In a
/// batch, the run line; returns if the batch goes on with another run,
/// else ends it with its verdict line.
pub fn conclude(
    outcome: Outcome,
    reason: Option<&str>,
    extra: &dyn Fn(&mut VerdictLine<'_, LineBuf>),
) {
    if !batching() {
        finish(outcome, reason, extra)
    }
    let outcome = print_line(outcome, reason, extra);
    counted(outcome, reason);
    let more = RUN.load(Ordering::Relaxed) < RUNS.load(Ordering::Relaxed);
    let go_on = outcome == Outcome::Pass || KEEP_GOING.load(Ordering::Relaxed);
    if !(more && go_on) {
        end_batch()
    }
}

/// Ends a batch with its verdict line and stops (an ordinary boot that
/// gets here ended no run: an ERROR, never a PASS).
pub fn end_batch() -> ! {
    if !batching() {
        finish(Outcome::Error, Some("no-run-ended"), &|_| {})
    }
    if FINISHING.swap(true, Ordering::SeqCst) {
        rt::cpu::stop();
    }
    batch_verdict()
}

/// Writes the verdict line, or in a batch the run line, in one console
/// write; returns the outcome it gave (an overflowed second stack turns
/// any into an ERROR).
fn print_line(
    outcome: Outcome,
    reason: Option<&str>,
    extra: &dyn Fn(&mut VerdictLine<'_, LineBuf>),
) -> Outcome {
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
    let (seed, iterations) = (
        SEED.load(Ordering::Relaxed),
        ITERATIONS.load(Ordering::Relaxed),
    );
    let mut line = if batching() {
        let elapsed = rt::elapsed_us().saturating_sub(RUN_START_US.load(Ordering::Relaxed));
        let run = RUN.load(Ordering::Relaxed);
        VerdictLine::start_run(
            &mut out,
            run,
            outcome,
            scenario_name(),
            seed,
            iterations,
            elapsed,
        )
    } else {
        VerdictLine::start(
            &mut out,
            outcome,
            scenario_name(),
            seed,
            iterations,
            rt::elapsed_us(),
        )
    };
    if let Some(reason) = reason {
        line.reason(reason);
    }
    extra(&mut line);
    if line.finish().is_err() {
        out.len = 0;
        let prefix = if batching() { "RUN" } else { "VERDICT" };
        let _ = write!(
            out,
            "{prefix}: ERROR scenario={} seed={seed} iterations={iterations} elapsed_us=0 reason=verdict-too-long",
            scenario_name()
        );
        if batching() {
            let _ = write!(out, " run={}", RUN.load(Ordering::Relaxed));
        }
        let _ = writeln!(out);
    }
    let text = core::str::from_utf8(&out.buf[..out.len])
        .unwrap_or("VERDICT: ERROR reason=verdict-not-utf8\n");
    let mut block = BLOCK.lock();
    block.len = 0;
    let parsed = if batching() {
        gate::verdict::parse_run(text).map(|(_, p)| p)
    } else {
        gate::verdict::parse(text)
    };
    if let Some(r) = report_run(&mut block, parsed, outcome, reason) {
        count(r);
    }
    let _ = block.write_str(text);
    if !batching() {
        let reason = parsed.and_then(|p| p.get("reason"));
        closing(
            &mut block,
            parsed.map_or(Outcome::Error, |p| p.outcome),
            reason,
        );
    }
    // Report line and verdict or run line (and an ordinary boot's summary
    // and status) in one console write.
    console::emergency_block(block.text());
    outcome
}

/// The run's own kvm-unit-tests report line, unless its units were
/// reported one by one (conformance) and the verdict adds nothing to them;
/// the kind of line written, if one was.
fn report_run(
    block: &mut Block,
    parsed: Option<gate::verdict::Parsed<'_>>,
    outcome: Outcome,
    reason: Option<&str>,
) -> Option<Report> {
    let mut run_line = LineBuf::new();
    let so_far = tally();
    let needed = so_far.tests == 0
        || batching()
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
    let _ = block.write_str(run_line.text());
    written
}

/// The summary of every report line and the status kvm-unit-tests' harness
/// reads, after the boot's verdict line.
fn closing(block: &mut Block, outcome: Outcome, reason: Option<&str>) {
    let _ = kut::summary_line(block, &tally());
    let _ = kut::exit_line(block, kut::exit_code(outcome, reason));
}

/// Adds the run just ended to the batch's counts.
fn counted(outcome: Outcome, reason: Option<&str>) {
    TOTAL_ITERATIONS.fetch_add(
        u64::from(ITERATIONS.load(Ordering::Relaxed)),
        Ordering::Relaxed,
    );
    let count = match outcome {
        Outcome::Pass => &PASSED,
        Outcome::Fail => &FAILED,
        Outcome::Error => &ERRORS,
    };
    count.fetch_add(1, Ordering::Relaxed);
    if outcome != Outcome::Pass && FIRST_BAD.load(Ordering::Relaxed) == 0 {
        FIRST_BAD.store(RUN.load(Ordering::Relaxed), Ordering::Relaxed);
        FIRST_BAD_SEED.store(SEED.load(Ordering::Relaxed), Ordering::Relaxed);
        FIRST_BAD_FAILED.store(outcome == Outcome::Fail, Ordering::Relaxed);
        // The fault path may have interrupted a holder: then no copy.
        if let Some(mut kept) = FIRST_BAD_REASON.try_lock() {
            let r = reason.unwrap_or("unspecified").as_bytes();
            let n = r.len().min(kept.buf.len());
            kept.buf[..n].copy_from_slice(&r[..n]);
            kept.len = n;
        }
    }
}

/// The batch's verdict line: the first run's seed, the iterations of all
/// runs, time since boot, and the counts; a batch with a run that did not
/// pass takes that first run's outcome and reason and names it.
fn batch_verdict() -> ! {
    let first = FIRST_BAD.load(Ordering::Relaxed);
    let outcome = match (first, FIRST_BAD_FAILED.load(Ordering::Relaxed)) {
        (0, _) => Outcome::Pass,
        (_, true) => Outcome::Fail,
        (_, false) => Outcome::Error,
    };
    let (passed, failed, errors) = (
        PASSED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
        ERRORS.load(Ordering::Relaxed),
    );
    let total = TOTAL_ITERATIONS.load(Ordering::Relaxed);
    let mut out = LineBuf::new();
    let mut line = VerdictLine::start(
        &mut out,
        outcome,
        scenario_name(),
        FIRST_SEED.load(Ordering::Relaxed),
        u32::try_from(total).unwrap_or(u32::MAX),
        rt::elapsed_us(),
    );
    if first != 0 {
        let kept = FIRST_BAD_REASON.try_lock();
        let reason = kept
            .as_ref()
            .and_then(|k| core::str::from_utf8(&k.buf[..k.len]).ok())
            .unwrap_or("unspecified");
        line.reason(reason);
    }
    line.field("runs", passed + failed + errors)
        .field("planned", RUNS.load(Ordering::Relaxed))
        .field("passed", passed)
        .field("failed", failed)
        .field("errors", errors);
    if first != 0 {
        line.field("first_run", first)
            .field("first_seed", FIRST_BAD_SEED.load(Ordering::Relaxed));
    }
    let ok = line.finish().is_ok();
    let text = core::str::from_utf8(&out.buf[..out.len])
        .ok()
        .filter(|_| ok)
        .unwrap_or("VERDICT: ERROR reason=verdict-too-long\n");
    let parsed = gate::verdict::parse(text);
    let mut block = BLOCK.lock();
    block.len = 0;
    let _ = block.write_str(text);
    closing(
        &mut block,
        parsed.map_or(Outcome::Error, |p| p.outcome),
        parsed.and_then(|p| p.get("reason")),
    );
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
