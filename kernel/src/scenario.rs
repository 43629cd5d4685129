//! Channel-I/O scenarios: find and enable the subchannel, hand it to the
//! portable driver, and turn what the driver found into the verdict.

use crate::rt::clock;
use crate::{css, println, report};
use gate::cmdline::{Config, Host};
use gate::driver::{Driver, Failure, Summary};
use gate::measure::{self, Format};
use gate::verdict::{hex, Outcome, VerdictLine};

/// Channel reports printed at the end, at most.
const MAX_CRWS: u32 = 16;

pub fn run(config: &Config) -> ! {
    let found = css::find(config.devno).unwrap_or_else(|e| setup_error(e));
    println!(
        "css: subchannel 0.0.{:04x} devno 0.0.{:04x} mode={}",
        found.sid & 0xffff,
        found.devno,
        config.mode.name()
    );
    css::enable(found.sid).unwrap_or_else(|e| setup_error(e));
    let measuring = config
        .measure
        .then(|| match css::measurement::enable(found.sid) {
            Ok(format) => {
                println!(
                    "measure: {} measurement block, SSCH+RSCH count on",
                    format.name()
                );
                Some(format)
            }
            Err(why) => {
                println!(
                    "measure: the host provides no measurement blocks ({why}); going on without"
                );
                None
            }
        });

    let mut channel = css::Subchannel::new(found.sid, config.mode);
    let mut driver = Driver::new(&mut channel, config);
    let start = clock::tod();
    let result = driver.run(report::progress);
    let ticks = clock::tod().saturating_sub(start);
    if config.verbose >= 2 || result.is_err() {
        for event in driver.trace().iter() {
            println!("trace: {event}");
        }
    }
    if let Some(id) = driver.baseline() {
        println!(
            "css: SENSE ID cu={:04x}/{:02x} dev={:04x}/{:02x}",
            id.cu_type, id.cu_model, id.dev_type, id.dev_model
        );
    }
    // Channel reports still pending (a path or device coming or going) are
    // evidence for whatever the verdict says; at most a bounded few.
    for _ in 0..MAX_CRWS {
        match css::insn::stcrw() {
            Some(crw) => println!("crw: {crw:#010x} pending at the end"),
            None => break,
        }
    }
    if let Err(f) = &result {
        if let Some(reason) = f.environment {
            environment(f, reason, driver.sense());
        }
    }
    let measured = measuring.flatten().map(|format| {
        let count = css::measurement::count(format);
        (format, count)
    });
    if let (Ok(summary), Some((format, count))) = (&result, measured) {
        let allowance = measure::allowance(&summary.landed, &summary.deviations);
        println!(
            "measure: SSCH+RSCH count {count}, starts accepted {}, allowed {allowance} (uncounted-overcounted)",
            summary.starts
        );
        // Judged with checks=none too: the count comparison stands alone.
        if let Err(violation) = measure::compare(format, count, summary.starts, allowance) {
            println!(
                "FAIL: measure: the channel subsystem counted {count} starts, the guest saw {} accepted \
(allowed {allowance}: CLEARs and HALTs that landed on an outstanding start may leave starts \
uncounted, starts refused under ssch-busy-while-idle may be counted)",
                summary.starts
            );
            let failure = Failure {
                violation,
                iteration: summary.iterations,
                delay: 0,
                sid: found.sid,
                deviations: summary.deviations,
                environment: None,
            };
            fail(&failure, config, &[], measured);
        }
    }
    match result {
        Ok(summary) => match driver.missing_race(&summary) {
            Some(missing) => not_exercised(&summary, missing),
            None => pass(&summary, ticks, config, measured),
        },
        Err(failure) => fail(&failure, config, driver.sense(), measured),
    }
}

/// Every interruption was allowed, but the race steps never reached the
/// completion window (or never took a status before the CLEAR/HALT): the
/// run says nothing about the race, so it is no PASS.
fn not_exercised(s: &Summary, missing: &str) -> ! {
    println!(
        "ERROR: the race never reached its {missing}: landed={} with delays {}:{}:{} (TOD units); \
try delay=auto or a sweep up to twice lat_median",
        s.landed, s.sweep.min, s.sweep.max, s.sweep.step
    );
    report::finish(Outcome::Error, Some("race-not-exercised"), &|line| {
        line.field("missing", missing)
            .field("landed", s.landed)
            .field(
                "sweep",
                format_args!("{}:{}:{}", s.sweep.min, s.sweep.max, s.sweep.step),
            );
    })
}

pub(crate) fn setup_error(e: css::SetupError) -> ! {
    report::finish(Outcome::Error, Some(e.reason()), &|line| match e {
        css::SetupError::NoDevice => {}
        css::SetupError::NoSuchDevno(devno) => {
            line.field("devno", format_args!("0.0.{devno:04x}"));
        }
        css::SetupError::EnableFailed { sid, cc } => {
            line.field("sid", hex(sid)).field("cc", cc);
        }
        css::SetupError::NotEnabled { sid } => {
            line.field("sid", hex(sid));
        }
    })
}

/// The `measure=` verdict fields: the block's format and its count, or
/// `none` when the host provided no measurement block.
fn measure_fields(line: &mut VerdictLine<'_, report::LineBuf>, measured: Option<(Format, u32)>) {
    match measured {
        Some((format, count)) => {
            line.field("measure", format.name())
                .field("measured", count);
        }
        None => {
            line.field("measure", "none");
        }
    }
}

fn pass(s: &Summary, ticks: u64, config: &Config, measured: Option<(Format, u32)>) -> ! {
    let per_s = u64::from(s.iterations) * 1_000_000 * clock::TOD_PER_US / ticks.max(1);
    let (min, median, max) = s.latency.summary().unwrap_or((0, 0, 0));
    println!(
        "summary: iterations={} starts={} clears={} halts={} interruptions={} unsolicited={} iter_per_s={per_s}",
        s.iterations, s.starts, s.clears, s.halts, s.interruptions, s.unsolicited
    );
    println!("summary: start latency (TOD units) min={min} median={median} max={max}");
    report::finish(Outcome::Pass, None, &|line| {
        line.field("starts", s.starts)
            .field("clears", s.clears)
            .field("halts", s.halts)
            .field("interruptions", s.interruptions)
            .field("lat_min", min)
            .field("lat_median", median)
            .field("lat_max", max)
            .field("iter_per_s", per_s);
        if config.scenario.races() {
            line.field(
                "sweep",
                format_args!("{}:{}:{}", s.sweep.min, s.sweep.max, s.sweep.step),
            )
            .field("landed", s.landed)
            .field("split", s.split)
            .field("withdrawn", s.withdrawn);
        }
        if config.host == Host::VfioCcw {
            line.field("host", config.host.name())
                .field("deviations", s.deviations);
        }
        if config.wait_owed {
            line.field("wait_owed", 1);
        }
        if !config.checks {
            // A benchmark, not a verdict on the host.
            line.field("checks", "none");
        }
        if config.measure {
            measure_fields(line, measured);
        }
    })
}

/// A violation that was the environment's doing: ERROR with its reason,
/// and what the oracle saw as evidence.
fn environment(f: &Failure, reason: &str, sense: &[u8]) -> ! {
    let v = &f.violation;
    println!(
        "ERROR: {reason} (the host is not to blame): {} sid={:#010x} iteration={} expected={:#x} actual={:#x}",
        v.what, f.sid, f.iteration, v.expected, v.actual
    );
    report::finish(Outcome::Error, Some(reason), &|line| {
        line.field("what", v.what)
            .field("sid", hex(f.sid))
            .field("iteration", f.iteration)
            .field("actual", hex(v.actual));
        if !sense.is_empty() {
            line.field("sense", Bytes(sense));
        }
    })
}

/// Bytes as one hex word for a verdict value.
struct Bytes<'a>(&'a [u8]);

impl core::fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

fn fail(f: &Failure, config: &Config, sense: &[u8], measured: Option<(Format, u32)>) -> ! {
    let v = &f.violation;
    println!(
        "FAIL: {} ({}) sid={:#010x} iteration={} seed={} delay={} expected={:#x} actual={:#x}",
        v.class.name(),
        v.what,
        f.sid,
        f.iteration,
        config.seed,
        f.delay,
        v.expected,
        v.actual
    );
    println!("FAIL: {}: {}", v.class.name(), v.class.summary());
    if !sense.is_empty() {
        println!("FAIL: sense after the unit check: {}", Bytes(sense));
    }
    report::finish(Outcome::Fail, Some(v.class.name()), &|line| {
        line.field("class", v.class.name())
            .field("what", v.what)
            .field("sid", hex(f.sid))
            .field("iteration", f.iteration)
            .field("delay", f.delay)
            .field("expected", hex(v.expected))
            .field("actual", hex(v.actual));
        if config.host == Host::VfioCcw {
            line.field("host", config.host.name())
                .field("deviations", f.deviations);
        }
        if config.wait_owed {
            line.field("wait_owed", 1);
        }
        if config.measure {
            measure_fields(line, measured);
        }
    })
}
