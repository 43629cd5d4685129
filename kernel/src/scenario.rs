//! Channel-I/O scenarios: find and enable the subchannel, hand it to the
//! portable driver, and turn what the driver found into the verdict.

use crate::rt::{self, clock, smp};
use crate::{css, println, report};
use gate::accel::{self, Accel};
use gate::cmdline::{Config, Cpus, Host, Scenario, MAX_SUBCHANNELS};
use gate::driver::{Driver, Failure, Summary};
use gate::measure::{self, Format};
use gate::oracle::Deviations;
use gate::rng::Rng;
use gate::route::Router;
use gate::verdict::{hex, Outcome, VerdictLine};
use spin::Mutex;

/// Channel reports printed at the end, at most.
const MAX_CRWS: u32 = 16;

/// One driver per subchannel under test; in static storage, as eight of
/// them would crowd the 56 KiB stack.
static DRIVERS: Mutex<[Option<Driver<css::Subchannel>>; MAX_SUBCHANNELS]> =
    Mutex::new([const { None }; MAX_SUBCHANNELS]);

/// Runs the channel-I/O scenario `config` names: once, or in a batch
/// (`runs=N`, docs/campaigns.md) once per seed, each run from a subchannel
/// brought back to a known state and with a fresh driver (oracle, trace,
/// statistics), as if it had booted alone.
pub fn run(config: &Config) -> ! {
    let config = &Config {
        accel: Some(accelerator(config)),
        ..*config
    };
    if config.batch() {
        report::batch(config);
    }
    for k in 0..config.runs {
        let own = Config {
            seed: config.run_seed(k),
            ..*config
        };
        if config.batch() {
            report::begin_run(&own, k + 1);
        }
        run_once(&own, k > 0);
    }
    report::end_batch()
}

/// The accelerator the oracle judges under ([`gate::accel`]): `accel=`,
/// or with `auto` what STORE SYSTEM INFORMATION 1.1.1 says, found once a
/// boot and said on the console either way.
fn accelerator(config: &Config) -> Accel {
    let stored = rt::cpu::stsi_111_manufacturer();
    let found = Accel::from_manufacturer(stored.as_ref());
    let said = match &stored {
        Some(m) => format_args!("manufacturer \"{}\"", accel::ebcdic_text(m)),
        None => format_args!("not available"),
    };
    match config.accel {
        None => {
            println!(
                "accel: {} (STORE SYSTEM INFORMATION 1.1.1: {said})",
                found.name()
            );
            found
        }
        Some(given) => {
            println!(
                "accel: {} (given; STORE SYSTEM INFORMATION 1.1.1 says {}: {said})",
                given.name(),
                found.name()
            );
            given
        }
    }
}

/// One run; returns only when a batch goes on with another.
fn run_once(config: &Config, again: bool) {
    let found = css::find(&config.devno).unwrap_or_else(|e| setup_error(e));
    let found = found.as_slice();
    if again {
        // What the previous run of the batch left: gone before this one.
        css::fresh_state();
        for f in found {
            css::reset(f.sid, config.io_timeout_ms).unwrap_or_else(|e| setup_error(e));
        }
    }
    for f in found {
        println!(
            "css: subchannel 0.0.{:04x} devno 0.0.{:04x} mode={}",
            f.sid & 0xffff,
            f.devno,
            config.mode.name()
        );
        css::enable(f.sid).unwrap_or_else(|e| setup_error(e));
    }
    if config.cpus != Cpus::One {
        css::second::set_role(config.cpus, config.io_timeout_ms);
        if let Err(e) = smp::start_second() {
            report::finish(Outcome::Error, Some(e.reason()), &|line| {
                line.field("cpu", smp::SECOND)
                    .field("cpus", config.cpus.name());
                if let smp::SmpError::StartFailed { order, cc, status } = e {
                    line.field("order", order)
                        .field("cc", cc)
                        .field("status", hex(status));
                }
            });
        }
        println!("smp: CPU {} up, cpus={}", smp::SECOND, config.cpus.name());
    }
    // The channel subsystem's own count of starts, on the first subchannel.
    let measuring = config
        .measure
        .then(|| match css::measurement::enable(found[0].sid) {
            Ok(format) => {
                println!(
                    "measure: {} measurement block on subchannel 0.0.{:04x}, SSCH+RSCH count on",
                    format.name(),
                    found[0].sid & 0xffff
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
    let several = found.len() > 1;
    css::members(found);
    let mut drivers = DRIVERS.lock();
    for (i, f) in found.iter().enumerate() {
        // Each subchannel its own seed, the first the run's own.
        let own = Config {
            seed: config.seed.wrapping_add(i as u64),
            ..*config
        };
        let channel = css::Subchannel::new(i, f.sid, config);
        let driver = Driver::new(channel, &own);
        drivers[i] = Some(if several {
            driver.with_intparm_base(Router::intparm_base(i))
        } else {
            driver
        });
    }
    let drivers = &mut drivers[..found.len()];
    judge(drivers, found, config, measuring);
    // The batch goes on: the drivers (and the I/O areas they hold) go.
    for d in drivers.iter_mut() {
        *d = None;
    }
}

/// Runs the scenario on `drivers` and ends the run with its run or
/// verdict line.
fn judge(
    drivers: &mut [Option<Driver<css::Subchannel>>],
    found: &[css::Found],
    config: &Config,
    measuring: Option<Option<Format>>,
) {
    let start = clock::tod();
    let result = drive(drivers, config);
    let ticks = clock::tod().saturating_sub(start);
    let failed = result.as_ref().err().map(|&(i, _)| i);
    for (i, d) in drivers.iter().enumerate() {
        let d = d.as_ref().expect("a driver per subchannel");
        if config.verbose >= 2 || failed == Some(i) {
            for event in d.trace().iter() {
                println!("trace: {event}");
            }
        }
        if let Some(id) = d.baseline() {
            println!(
                "css: SENSE ID cu={:04x}/{:02x} dev={:04x}/{:02x}",
                id.cu_type, id.cu_model, id.dev_type, id.dev_model
            );
        }
    }
    // Channel reports still pending (a path or device coming or going) are
    // evidence for whatever the verdict says; at most a bounded few.
    for _ in 0..MAX_CRWS {
        match css::insn::stcrw() {
            Some(crw) => println!("crw: {crw:#010x} pending at the end"),
            None => break,
        }
    }
    if let Err((i, f)) = &result {
        if let Some(reason) = f.environment {
            let sense = drivers[*i].as_ref().map_or(&[][..], |d| d.sense());
            return environment(f, reason, sense);
        }
    }
    let measured = measuring.flatten().map(|format| {
        let count = css::measurement::count(format);
        (format, count)
    });
    if let (Ok(_), Some((format, count))) = (&result, measured) {
        // The first subchannel's own starts, not the run's sum.
        let first = drivers[0].as_mut().expect("a driver per subchannel");
        let own = first.finish();
        let allowance = measure::allowance(&own.landed, &own.deviations);
        println!(
            "measure: SSCH+RSCH count {count}, starts accepted {}, allowed {allowance} (uncounted-overcounted)",
            own.starts
        );
        // Judged with checks=none too: the count comparison stands alone.
        if let Err(violation) = measure::compare(format, count, own.starts, allowance) {
            println!(
                "INFO: measure: the channel subsystem counted {count} starts, the guest saw {} accepted \
(allowed {allowance}: CLEARs and HALTs that landed on an outstanding start may leave starts \
uncounted, starts refused under ssch-busy-while-idle may be counted)",
                own.starts
            );
            let failure = Failure {
                violation,
                iteration: own.iterations,
                delay: 0,
                sid: found[0].sid,
                deviations: own.deviations,
                environment: None,
            };
            return fail(&failure, config, &[], measured, found.len());
        }
    }
    match result {
        Ok(summary) => {
            let first = drivers[0].as_ref().expect("a driver per subchannel");
            match first.missing_race(&summary) {
                Some(missing) => not_exercised(&summary, missing),
                None => pass(&summary, ticks, config, found.len(), measured),
            }
        }
        Err((i, failure)) => {
            let sense = drivers[i].as_ref().map_or(&[][..], |d| d.sense());
            fail(&failure, config, sense, measured, found.len())
        }
    }
}

/// Runs the scenario on every subchannel: with several, each iteration
/// runs on one of them (chosen by the seed) while each of the others has a
/// start of its own in flight, so that the host carries status for several
/// subchannels at once and status routed to the wrong one is caught.
/// `Err` names the driver that failed.
fn drive(
    drivers: &mut [Option<Driver<css::Subchannel>>],
    config: &Config,
) -> Result<Summary, (usize, Failure)> {
    fn get(
        drivers: &mut [Option<Driver<css::Subchannel>>],
        i: usize,
    ) -> &mut Driver<css::Subchannel> {
        drivers[i].as_mut().expect("a driver per subchannel")
    }
    let n = drivers.len();
    if n == 1 {
        return get(drivers, 0).run(report::progress).map_err(|f| (0, f));
    }
    for i in 0..n {
        get(drivers, i).prepare().map_err(|f| (i, f))?;
    }
    let iterations = if config.scenario == Scenario::Smoke {
        report::progress(1);
        1
    } else {
        let iterations = get(drivers, 0).iterations();
        // Which subchannel runs each iteration: from the run's seed, apart
        // from every driver's own choices.
        let mut rng = Rng::new(config.seed ^ RACER_SEED);
        for i in 0..iterations {
            let racer = rng.below(n as u32) as usize;
            let others = (0..n).filter(|&j| j != racer);
            for j in others.clone() {
                get(drivers, j).start_background(i).map_err(|f| (j, f))?;
            }
            get(drivers, racer).iterate(i).map_err(|f| (racer, f))?;
            for j in others {
                get(drivers, j).settle_background().map_err(|f| (j, f))?;
            }
            report::progress(i + 1);
        }
        iterations
    };
    let mut summary = get(drivers, 0).finish();
    for j in 1..n {
        summary.absorb(&get(drivers, j).finish());
    }
    summary.iterations = iterations;
    Ok(summary)
}

/// Mixed into the seed for choosing which subchannel runs an iteration.
const RACER_SEED: u64 = 0x5ca1_ab1e_0f5c_a1e5;

/// Every interruption was allowed, but the race steps never reached the
/// completion window (or never took a status before the CLEAR/HALT): the
/// run says nothing about the race, so it is no PASS.
fn not_exercised(s: &Summary, missing: &str) {
    println!(
        "ERROR: the race never reached its {missing}: landed={} with delays {}:{}:{} (TOD units); \
try delay=auto or a sweep up to twice lat_median",
        s.landed, s.sweep.min, s.sweep.max, s.sweep.step
    );
    report::conclude(Outcome::Error, Some("race-not-exercised"), &|line| {
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
        css::SetupError::ResetFailed { sid, step } => {
            line.field("sid", hex(sid)).field("step", step);
        }
    })
}

/// The fields PASS and FAIL share that say how the run was set up: the
/// accelerator judged under, the host profile and its deviations (under
/// `host=strict` only the emulator's, when there were any), `wait_owed`,
/// several subchannels, two CPUs.
fn run_fields(
    line: &mut VerdictLine<'_, report::LineBuf>,
    config: &Config,
    deviations: &Deviations,
    subchannels: usize,
) {
    if let Some(accel) = config.accel {
        line.field("accel", accel.name());
    }
    if config.host == Host::VfioCcw {
        line.field("host", config.host.name())
            .field("deviations", deviations);
    } else if deviations.total() > 0 {
        line.field("deviations", deviations);
    }
    if config.wait_owed {
        line.field("wait_owed", 1);
    }
    if subchannels > 1 {
        line.field("subchannels", subchannels);
    }
    if config.cpus != Cpus::One {
        line.field("cpus", config.cpus.name());
    }
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

fn pass(
    s: &Summary,
    ticks: u64,
    config: &Config,
    subchannels: usize,
    measured: Option<(Format, u32)>,
) {
    let per_s = u64::from(s.iterations) * 1_000_000 * clock::TOD_PER_US / ticks.max(1);
    let (min, median, max) = s.latency.summary().unwrap_or((0, 0, 0));
    println!(
        "summary: iterations={} starts={} clears={} halts={} interruptions={} unsolicited={} iter_per_s={per_s}",
        s.iterations, s.starts, s.clears, s.halts, s.interruptions, s.unsolicited
    );
    println!("summary: start latency (TOD units) min={min} median={median} max={max}");
    report::conclude(Outcome::Pass, None, &|line| {
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
            .field("withdrawn", s.withdrawn)
            .field("halted_starts", s.halted_starts)
            .field("cleared_ops", s.cleared_ops)
            .field("not_initiated", s.not_initiated)
            .field("unsolicited", s.unsolicited);
        }
        run_fields(line, config, &s.deviations, subchannels);
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
fn environment(f: &Failure, reason: &str, sense: &[u8]) {
    let v = &f.violation;
    println!(
        "ERROR: {reason} (the host is not to blame): {} sid={:#010x} iteration={} expected={:#x} actual={:#x}",
        v.what, f.sid, f.iteration, v.expected, v.actual
    );
    let irb = css::unit_check_irb().filter(|_| reason == "device-error");
    if let Some(irb) = irb {
        println!(
            "ERROR: the unit check's extended status {} and extended control {}",
            Words(&irb.esw),
            Words(&irb.ecw)
        );
    }
    report::conclude(Outcome::Error, Some(reason), &|line| {
        line.field("what", v.what)
            .field("sid", hex(f.sid))
            .field("iteration", f.iteration)
            .field("actual", hex(v.actual));
        if !sense.is_empty() {
            line.field("sense", Bytes(sense));
        }
        if let Some(irb) = irb {
            line.field("esw", Words(&irb.esw))
                .field("ecw", Words(&irb.ecw));
        }
    })
}

/// Words as one hex value for a verdict value (or a line).
struct Words<'a>(&'a [u32]);

impl core::fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for w in self.0 {
            write!(f, "{w:08x}")?;
        }
        Ok(())
    }
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

fn fail(
    f: &Failure,
    config: &Config,
    sense: &[u8],
    measured: Option<(Format, u32)>,
    subchannels: usize,
) {
    let v = &f.violation;
    // The `FAIL: ccwgate: <scenario>: <class> <what> ...` report line comes
    // from the verdict (report::finish); these explain it.
    println!("INFO: {}: {}", v.class.name(), v.class.summary());
    if !sense.is_empty() {
        println!("INFO: sense after the unit check: {}", Bytes(sense));
    }
    report::conclude(Outcome::Fail, Some(v.class.name()), &|line| {
        line.field("class", v.class.name())
            .field("what", v.what)
            .field("sid", hex(f.sid))
            .field("iteration", f.iteration)
            .field("delay", f.delay)
            .field("expected", hex(v.expected))
            .field("actual", hex(v.actual));
        run_fields(line, config, &f.deviations, subchannels);
        if config.measure {
            measure_fields(line, measured);
        }
    })
}
