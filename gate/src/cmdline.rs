//! The kernel command line.
//!
//! QEMU copies `-append "..."` to guest address 0x10480 as a NUL-terminated
//! string inside an area of [`PARM_AREA_LEN`] bytes; the kernel hands
//! [`parse`] that area.
//!
//! The text is a list of `key=value` tokens separated by runs of spaces, tabs,
//! CRs or newlines. Every key is optional and may appear at most once:
//!
//! | key             | value                                    | default        |
//! |-----------------|------------------------------------------|----------------|
//! | `scenario`      | a [`Scenario`] name                      | `selftest`     |
//! | `seed`          | u64                                      | `1`            |
//! | `iterations`    | u32, at least 1                          | scenario's own |
//! | `verbose`       | 0..=3                                    | `0`            |
//! | `devno`         | `CSSID.SSID.DEVNO` (hex, SSID 0) or hex; a comma-separated list of up to 8; `all` | first device |
//! | `delay`         | `MIN:MAX:STEP` or `N` (u32 TOD units), or `auto` | `auto` ([`Config::delay_auto`]) |
//! | `mode`          | a [`Collect`] name: `irq`, `wait`, `poll`, `tsch` | `irq`   |
//! | `io_timeout_ms` | 1..=600000                               | `1000`         |
//! | `host`          | a [`Host`] name: `strict`, `vfio-ccw`    | `strict`       |
//! | `accel`         | `auto`, or an [`Accel`] name: `tcg`, `kvm` (see [`Config::accel`]) | `auto` |
//! | `require_race`  | `0` or `1` (see [`Config::require_race`]) | the profile's |
//! | `checks`        | `all` or `none` (see [`Config::checks`]) | `all`          |
//! | `wait_owed`     | `0` or `1` (see [`Config::wait_owed`])   | `0`            |
//! | `cpus`          | a [`Cpus`] name: `one`, `io-elsewhere`, `both` | `one`    |
//! | `measure`       | `0` or `1` (see [`Config::measure`])     | `0`            |
//! | `conformance_order` | `table`, `reverse` or `seed:N` (see [`Config::conformance_order`]) | `table` |
//! | `runs`          | u32, at least 1: a batch boot (see [`Config::runs`]) | `1`  |
//! | `seed_step`     | u64: the seed distance of a batch's runs | `1`            |
//! | `keep_going`    | `0` or `1`: a batch goes on after a FAIL or ERROR | `0`   |
//!
//! [`KEYS`] lists the keys; a test holds this table and README's "Options"
//! to it.
//!
//! Numbers are decimal, or hex after `0x`; `devno` is always hex.
//!
//! Anything unexpected is an error rather than ignored: a typo that silently
//! fell back to a default would make a run look reproducible when it is not.

pub use crate::accel::Accel;
pub use crate::conformance::Order;

/// Size of the parameter area QEMU fills, NUL terminator included.
pub const PARM_AREA_LEN: usize = 896;

/// How much of an overlong command line an error quotes.
const TOO_LONG_QUOTE: usize = 32;

named_enum! {
    /// What the kernel runs.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Scenario {
        #[default]
        Selftest => "selftest",
        Crash => "crash",
        Smoke => "smoke",
        Ssch => "ssch",
        CschRace => "csch-race",
        HschRace => "hsch-race",
        CschIdle => "csch-idle",
        Mixed => "mixed",
        /// Instruction-level checks of how the host handles each channel
        /// instruction's operands and error cases ([`crate::conformance`]).
        Conformance => "conformance",
    }
}

/// Which of [`Scenario`]'s lists (a `const fn` cannot call a function
/// pointer, so the filter is named).
#[derive(Clone, Copy)]
enum Kept {
    ChannelIo,
    Racing,
    Device,
}

impl Scenario {
    /// The channel-I/O scenarios, in [`Scenario::ALL`]'s order: those whose
    /// iterations START, CLEAR and HALT ([`Scenario::channel_io`]). The
    /// model runs these, and the end-to-end tests take them from here.
    pub const CHANNEL_IO: [Scenario; Self::count(Kept::ChannelIo)] = Self::those(Kept::ChannelIo);
    /// The channel-I/O scenarios that race CLEAR or HALT against starts
    /// ([`Scenario::races`]).
    pub const RACING: [Scenario; Self::count(Kept::Racing)] = Self::those(Kept::Racing);
    /// The scenarios that drive a device ([`Scenario::needs_device`]): the
    /// channel-I/O scenarios with `smoke` and `conformance`, the runner's
    /// campaign.
    pub const DEVICE: [Scenario; Self::count(Kept::Device)] = Self::those(Kept::Device);

    const fn kept(self, which: Kept) -> bool {
        match which {
            Kept::ChannelIo => self.channel_io(),
            Kept::Racing => self.races(),
            Kept::Device => self.needs_device(),
        }
    }

    /// How many of [`Scenario::ALL`] are kept.
    const fn count(which: Kept) -> usize {
        let mut n = 0;
        let mut i = 0;
        while i < Self::ALL.len() {
            if Self::ALL[i].kept(which) {
                n += 1;
            }
            i += 1;
        }
        n
    }

    /// Those of [`Scenario::ALL`] that are kept, in its order (`N`: their
    /// [`Scenario::count`]).
    const fn those<const N: usize>(which: Kept) -> [Scenario; N] {
        let mut out = [Scenario::Selftest; N];
        let (mut i, mut n) = (0, 0);
        while i < Self::ALL.len() {
            if Self::ALL[i].kept(which) {
                out[n] = Self::ALL[i];
                n += 1;
            }
            i += 1;
        }
        out
    }

    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name().as_bytes() == name)
    }

    /// `crash` exists for the end-to-end tests (a guest panic's ERROR
    /// verdict) and is left out of what the front doors list.
    pub const fn listed(self) -> bool {
        !matches!(self, Scenario::Crash)
    }

    /// Whether it drives a device (every listed scenario but `selftest`).
    pub const fn needs_device(self) -> bool {
        !matches!(self, Scenario::Selftest | Scenario::Crash)
    }

    /// Whether its iterations issue channel instructions (START, CLEAR,
    /// HALT) and judge their status: the driver's iterations
    /// (`gate::driver`) run a step for each of these and nothing for the
    /// others. Every scenario is named, so a new one is placed here
    /// before it compiles.
    pub const fn channel_io(self) -> bool {
        match self {
            Scenario::Ssch
            | Scenario::CschRace
            | Scenario::HschRace
            | Scenario::CschIdle
            | Scenario::Mixed => true,
            Scenario::Selftest | Scenario::Crash | Scenario::Smoke | Scenario::Conformance => false,
        }
    }

    /// Whether it races CLEAR or HALT against starts (and so has a delay
    /// sweep and a race outcome to report).
    pub const fn races(self) -> bool {
        match self {
            Scenario::CschRace | Scenario::HschRace | Scenario::Mixed => true,
            Scenario::Selftest
            | Scenario::Crash
            | Scenario::Smoke
            | Scenario::Ssch
            | Scenario::CschIdle
            | Scenario::Conformance => false,
        }
    }
}

named_enum! {
    /// How the kernel learns that an I/O operation has ended.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Collect {
        /// Enable I/O interruptions and spin until one is taken.
        #[default]
        Irq => "irq",
        /// Enable I/O interruptions in an enabled wait state (the CPU idles
        /// until one comes; under KVM the vCPU halts, which changes the
        /// host's timing).
        Wait => "wait",
        /// Keep interruptions disabled and poll with TEST PENDING
        /// INTERRUPTION.
        Poll => "poll",
        /// Keep interruptions disabled and poll TEST SUBCHANNEL on the
        /// subchannel itself: the fastest way, but the interruption
        /// parameter is never presented, so it is taken to be the current
        /// one.
        Tsch => "tsch",
    }
}

named_enum! {
    /// Which CPUs do what (`cpus=`); the second CPU is brought up with SIGNAL
    /// PROCESSOR and needs `--smp 2` or more.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Cpus {
        /// One CPU does everything.
        #[default]
        One => "one",
        /// CPU 0 issues every instruction with its I/O subclass masked in
        /// CR6; the floating I/O interruptions are taken on CPU 1, which
        /// collects the status (TSCH) and hands it over. Status comes only
        /// this way, so `mode=` must be `irq` or `wait`.
        IoElsewhere => "io-elsewhere",
        /// SSCH, CSCH, HSCH and (in `mode=poll`/`tsch`) TSCH are each issued
        /// by CPU 0 or CPU 1, chosen by the seed; CPU 0 waits for CPU 1's
        /// condition code, so the oracle sees every instruction in its
        /// order.
        Both => "both",
    }
}

impl Cpus {
    fn from_name(name: &[u8]) -> Option<Self> {
        Cpus::ALL.into_iter().find(|c| c.name().as_bytes() == name)
    }
}

named_enum! {
    /// How the oracle judges what the host relays (`host=`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Host {
        /// Architecture-exact: every deviation from the Principles of
        /// Operation is a FAIL. The default, and right for emulated devices.
        #[default]
        Strict => "strict",
        /// Upstream vfio-ccw with QEMU's relay: the deviations that these
        /// show on every version (see `oracle::Deviation`) are counted, not
        /// failed, and the run goes on expecting what the architecture still
        /// requires.
        VfioCcw => "vfio-ccw",
    }
}

impl Host {
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name().as_bytes() == name)
    }
}

/// The delays, in TOD-clock units, that race scenarios step through.
///
/// [`parse`] only produces sweeps with `min <= max` and `step >= 1`; the fields
/// are public for reading, and [`len`](Self::len) and [`nth`](Self::nth) stay
/// panic-free on hand-built sweeps that break those rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelaySweep {
    pub min: u32,
    pub max: u32,
    pub step: u32,
}

impl DelaySweep {
    pub const DEFAULT: DelaySweep = DelaySweep {
        min: 0,
        max: 8192,
        step: 64,
    };

    /// `None` unless `min <= max` and `step >= 1`.
    pub const fn new(min: u32, max: u32, step: u32) -> Option<Self> {
        if min <= max && step >= 1 {
            Some(DelaySweep { min, max, step })
        } else {
            None
        }
    }

    /// From 0 to about `max` (TOD units, clamped to `u32`) in `steps`
    /// equal steps: the sweep `delay=auto` and the model size from a
    /// start-to-status time.
    pub fn up_to(max: u64, steps: u32) -> Self {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        let step = (max / steps.max(1)).max(1);
        DelaySweep {
            min: 0,
            max: max - max % step,
            step,
        }
    }

    /// Number of distinct delays in the sweep, saturated at `u32::MAX`: only
    /// `0:4294967295:1` has more (2^32), and [`nth`](Self::nth) still reaches
    /// all of those.
    // A sweep always holds at least one delay, so an `is_empty` would be noise.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u32 {
        u32::try_from(self.len_u64()).unwrap_or(u32::MAX)
    }

    /// The `i`-th delay, wrapping around after the last one.
    pub fn nth(&self, i: u32) -> u32 {
        // In u64 because (max - min) / step + 1 can be 2^32 and the product
        // can exceed u32; the sum never exceeds max, so the cast is lossless.
        let offset = (u64::from(i) % self.len_u64()) * u64::from(self.step);
        self.min + offset as u32
    }

    fn len_u64(&self) -> u64 {
        u64::from(self.max.saturating_sub(self.min) / self.step.max(1)) + 1
    }
}

impl Default for DelaySweep {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Subchannels one run drives at most (`devno=` list or `all`).
pub const MAX_SUBCHANNELS: usize = 8;

/// Which subchannels a run drives (`devno=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Devices {
    /// The first I/O subchannel found.
    #[default]
    First,
    /// These device numbers, in this order.
    List {
        devnos: [u16; MAX_SUBCHANNELS],
        len: u8,
    },
    /// Every valid I/O subchannel, up to [`MAX_SUBCHANNELS`].
    All,
}

impl Devices {
    /// Exactly one device number.
    pub fn one(devno: u16) -> Self {
        let mut devnos = [0; MAX_SUBCHANNELS];
        devnos[0] = devno;
        Devices::List { devnos, len: 1 }
    }

    /// The device numbers asked for by name (empty for `First` and `All`).
    pub fn listed(&self) -> &[u16] {
        match self {
            Devices::List { devnos, len } => &devnos[..usize::from(*len)],
            _ => &[],
        }
    }
}

/// The most runs one batch boot makes (`runs=`).
pub const MAX_RUNS: u32 = 100_000;

/// Everything the command line can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub scenario: Scenario,
    pub seed: u64,
    /// `None`: the scenario picks its own count.
    pub iterations: Option<u32>,
    pub verbose: u8,
    /// The subchannels under test, by device number.
    pub devno: Devices,
    pub delay: DelaySweep,
    pub mode: Collect,
    pub io_timeout_ms: u32,
    pub host: Host,
    /// `accel=`: the accelerator the oracle judges under, or `None`
    /// (`auto`, the default) for the one the kernel finds itself
    /// ([`crate::accel`]) before it makes the drivers. A driver given
    /// `None` judges as under KVM, as ccwgate always did.
    pub accel: Option<Accel>,
    /// `delay=auto` (the kernel's default without `delay=`): the race
    /// scenarios size their sweep to the start-to-status latency they
    /// measure; `delay` is then only the fallback.
    pub delay_auto: bool,
    /// `require_race=`: `None` leaves it to the profile (on for
    /// `host=vfio-ccw` with a real device).
    pub require_race: Option<bool>,
    /// `checks=none` (benchmarks only): the same instructions with no
    /// oracle, no trace and no data checks, to measure what they cost.
    pub checks: bool,
    /// `wait_owed=1`: after a deviation ended a halt or clear early (start
    /// status in its place), take the halt's or clear's own status before
    /// starting again. By default the next start goes out at once, as
    /// after any final status: the widest way into the 2021 race, opened
    /// by QEMU's whole-SCSW copy. It is not the only way in: the model's
    /// exhaustive runs still fail upstream with `wait_owed=1` (the host
    /// relaying an IRB twice when `fsm_irq` overwrites it under a running
    /// work item; QEMU's CSCH not withdrawing pending status). A host
    /// that fails by default and passes with `wait_owed=1` has closed none
    /// of those for certain (see docs/model.md).
    pub wait_owed: bool,
    pub cpus: Cpus,
    /// `measure=1`: the channel subsystem's own count of the starts it
    /// performed (a measurement block) is compared with the starts the
    /// guest saw accepted at the end of a channel-I/O run
    /// ([`crate::measure`]).
    pub measure: bool,
    /// `conformance_order=`: the order `scenario=conformance` runs its
    /// groups of checks in; the results must not depend on it.
    pub conformance_order: Order,
    /// `runs=N` (docs/campaigns.md): one boot runs the configuration for N
    /// seeds, `seed`, `seed + seed_step`, ..., one run line each, then one
    /// verdict line for all of them. 1 (the default) is an ordinary boot.
    pub runs: u32,
    /// `seed_step=K`: the seed distance between a batch's runs (default 1).
    pub seed_step: u64,
    /// `keep_going=1`: a batch goes on after a FAIL or ERROR run instead
    /// of stopping there.
    pub keep_going: bool,
}

impl Config {
    pub const DEFAULT: Config = Config {
        scenario: Scenario::Selftest,
        seed: 1,
        iterations: None,
        verbose: 0,
        devno: Devices::First,
        delay: DelaySweep::DEFAULT,
        mode: Collect::Irq,
        io_timeout_ms: 1000,
        host: Host::Strict,
        accel: None,
        delay_auto: false,
        require_race: None,
        checks: true,
        wait_owed: false,
        cpus: Cpus::One,
        measure: false,
        conformance_order: Order::Table,
        runs: 1,
        seed_step: 1,
        keep_going: false,
    };

    /// Whether this boot runs a batch (`runs=` above 1).
    pub fn batch(&self) -> bool {
        self.runs > 1
    }

    /// The seed of the batch's run `k` (0-based).
    pub fn run_seed(&self, k: u32) -> u64 {
        self.seed
            .wrapping_add(u64::from(k).wrapping_mul(self.seed_step))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

named_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ErrorKind {
        /// No NUL within [`PARM_AREA_LEN`] bytes.
        TooLong => "too-long",
        /// A token without `=`, or with nothing before it.
        NotKeyValue => "not-key-value",
        UnknownKey => "unknown-key",
        /// Empty, malformed or out-of-range value.
        BadValue => "bad-value",
        /// A number too big for its type.
        Overflow => "overflow",
        Duplicate => "duplicate-key",
        /// A byte outside printable ASCII in a token.
        NonAscii => "non-ascii",
        /// A value other tokens rule out (`cpus=io-elsewhere` with a polling
        /// `mode=`); the token is the one named.
        Conflict => "conflict",
    }
}

/// The first problem found, with the whole offending token so the verdict
/// can quote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdlineError<'a> {
    /// The token as it appeared; for `TooLong`, the first 32 bytes of input.
    pub token: &'a [u8],
    pub kind: ErrorKind,
}

/// Parses the parameter area (or, on the host, any shorter slice, which
/// counts as terminated at its end).
pub fn parse(raw: &[u8]) -> Result<Config, CmdlineError<'_>> {
    let area = &raw[..raw.len().min(PARM_AREA_LEN)];
    let text = match area.iter().position(|&b| b == 0) {
        Some(end) => &area[..end],
        None if raw.len() < PARM_AREA_LEN => raw,
        None => {
            return Err(CmdlineError {
                token: &raw[..TOO_LONG_QUOTE],
                kind: ErrorKind::TooLong,
            })
        }
    };

    let mut config = Config::DEFAULT;
    let mut seen = 0u32;
    let mut cpus_token: &[u8] = &[];
    let mut runs_token: &[u8] = &[];
    for token in text.split(|&b| is_separator(b)).filter(|t| !t.is_empty()) {
        let fail = |kind| CmdlineError { token, kind };
        if !token.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(fail(ErrorKind::NonAscii));
        }
        let (key, value) = match token.iter().position(|&b| b == b'=') {
            Some(0) | None => return Err(fail(ErrorKind::NotKeyValue)),
            Some(eq) => (&token[..eq], &token[eq + 1..]),
        };
        let key = Key::ALL
            .into_iter()
            .find(|k| k.name().as_bytes() == key)
            .ok_or_else(|| fail(ErrorKind::UnknownKey))?;
        let bit = 1u32 << key as u32;
        if seen & bit != 0 {
            return Err(fail(ErrorKind::Duplicate));
        }
        seen |= bit;
        apply(&mut config, key, value).map_err(fail)?;
        if matches!(key, Key::Cpus) {
            cpus_token = token;
        }
        if matches!(key, Key::Runs) {
            runs_token = token;
        }
    }
    // A batch re-runs the channel-I/O scenarios on one CPU: the second
    // CPU, the measurement block and the other scenarios boot once a run.
    let batchable = !matches!(
        config.scenario,
        Scenario::Selftest | Scenario::Crash | Scenario::Conformance
    ) && config.cpus == Cpus::One
        && !config.measure;
    if config.batch() && !batchable {
        return Err(CmdlineError {
            token: runs_token,
            kind: ErrorKind::Conflict,
        });
    }
    // Status taken on the other CPU comes only by interruption.
    if config.cpus == Cpus::IoElsewhere && matches!(config.mode, Collect::Poll | Collect::Tsch) {
        return Err(CmdlineError {
            token: cpus_token,
            kind: ErrorKind::Conflict,
        });
    }
    // Without delay= the race scenarios size their own sweep.
    if seen & (1 << Key::Delay as u32) == 0 {
        config.delay_auto = true;
    }
    Ok(config)
}

fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

named_enum! {
    #[derive(Clone, Copy)]
    enum Key {
        Scenario => "scenario",
        Seed => "seed",
        Iterations => "iterations",
        Verbose => "verbose",
        Devno => "devno",
        Delay => "delay",
        Mode => "mode",
        IoTimeoutMs => "io_timeout_ms",
        Host => "host",
        Accel => "accel",
        RequireRace => "require_race",
        Checks => "checks",
        WaitOwed => "wait_owed",
        Cpus => "cpus",
        Measure => "measure",
        ConformanceOrder => "conformance_order",
        Runs => "runs",
        SeedStep => "seed_step",
        KeepGoing => "keep_going",
    }
}

/// Every key [`parse`] takes, in its order: the options' one list (the
/// host programs print it, and tests hold the documentation to it).
pub const KEYS: [&str; Key::ALL.len()] = crate::names_of!(Key::ALL);

fn apply(config: &mut Config, key: Key, value: &[u8]) -> Result<(), ErrorKind> {
    match key {
        Key::Scenario => config.scenario = Scenario::from_name(value).ok_or(ErrorKind::BadValue)?,
        Key::Seed => config.seed = number(value)?,
        Key::Iterations => config.iterations = Some(within(number(value)?, 1, u32::MAX)?),
        Key::Verbose => config.verbose = within(number(value)?, 0, 3)?,
        Key::Devno => config.devno = devices(value)?,
        Key::Delay if value == b"auto" => config.delay_auto = true,
        Key::Delay => config.delay = delay(value)?,
        Key::RequireRace => config.require_race = Some(within(number::<u8>(value)?, 0, 1)? == 1),
        Key::Cpus => config.cpus = Cpus::from_name(value).ok_or(ErrorKind::BadValue)?,
        Key::WaitOwed => config.wait_owed = within(number::<u8>(value)?, 0, 1)? == 1,
        Key::Measure => config.measure = within(number::<u8>(value)?, 0, 1)? == 1,
        Key::Runs => config.runs = within(number(value)?, 1, MAX_RUNS)?,
        Key::SeedStep => config.seed_step = within(number(value)?, 1, u64::MAX)?,
        Key::KeepGoing => config.keep_going = within(number::<u8>(value)?, 0, 1)? == 1,
        Key::Checks => {
            config.checks = match value {
                b"all" => true,
                b"none" => false,
                _ => return Err(ErrorKind::BadValue),
            }
        }
        Key::Host => config.host = Host::from_name(value).ok_or(ErrorKind::BadValue)?,
        Key::Accel if value == b"auto" => config.accel = None,
        Key::Accel => config.accel = Some(Accel::from_name(value).ok_or(ErrorKind::BadValue)?),
        Key::Mode => {
            config.mode = Collect::ALL
                .into_iter()
                .find(|c| c.name().as_bytes() == value)
                .ok_or(ErrorKind::BadValue)?
        }
        Key::IoTimeoutMs => config.io_timeout_ms = within(number(value)?, 1, 600_000)?,
        Key::ConformanceOrder => {
            config.conformance_order = match value {
                b"table" => Order::Table,
                b"reverse" => Order::Reverse,
                [b's', b'e', b'e', b'd', b':', seed @ ..] => Order::Seed(number(seed)?),
                _ => return Err(ErrorKind::BadValue),
            }
        }
    }
    Ok(())
}

fn within<T: PartialOrd>(v: T, min: T, max: T) -> Result<T, ErrorKind> {
    if min <= v && v <= max {
        Ok(v)
    } else {
        Err(ErrorKind::BadValue)
    }
}

/// Decimal, or hex after `0x`.
fn number<T: TryFrom<u64>>(s: &[u8]) -> Result<T, ErrorKind> {
    match s {
        [b'0', b'x' | b'X', hex @ ..] => digits(hex, 16),
        _ => digits(s, 10),
    }
}

/// `all`, or one device number, or several separated by commas (no
/// repeats, at most [`MAX_SUBCHANNELS`]).
fn devices(s: &[u8]) -> Result<Devices, ErrorKind> {
    if s == b"all" {
        return Ok(Devices::All);
    }
    let mut devnos = [0; MAX_SUBCHANNELS];
    let mut len = 0;
    for part in s.split(|&b| b == b',') {
        let d = devno(part)?;
        if len == MAX_SUBCHANNELS || devnos[..len].contains(&d) {
            return Err(ErrorKind::BadValue);
        }
        devnos[len] = d;
        len += 1;
    }
    Ok(Devices::List {
        devnos,
        len: len as u8,
    })
}

/// `CSSID.SSID.DEVNO`, or a bare devno, all hex.
fn devno(s: &[u8]) -> Result<u16, ErrorKind> {
    let mut parts = s.split(|&b| b == b'.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some([b'0', b'x' | b'X', hex @ ..]), None, None, None) => digits(hex, 16),
        (Some(bare), None, None, None) => digits(bare, 16),
        (Some(cssid), Some(ssid), Some(devno), None) => {
            digits::<u8>(cssid, 16)?;
            // Only subchannel set 0 is reachable without enabling MSS.
            if digits::<u64>(ssid, 16)? != 0 {
                return Err(ErrorKind::BadValue);
            }
            digits(devno, 16)
        }
        _ => Err(ErrorKind::BadValue),
    }
}

fn delay(s: &[u8]) -> Result<DelaySweep, ErrorKind> {
    let mut parts = s.split(|&b| b == b':');
    let sweep = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(n), None, None, None) => {
            let n = number(n)?;
            DelaySweep::new(n, n, 1)
        }
        (Some(min), Some(max), Some(step), None) => {
            DelaySweep::new(number(min)?, number(max)?, number(step)?)
        }
        _ => None,
    };
    sweep.ok_or(ErrorKind::BadValue)
}

/// Malformed input wins over overflow, so `99999999999999999999x` is a
/// bad value, not a big number.
fn digits<T: TryFrom<u64>>(s: &[u8], radix: u32) -> Result<T, ErrorKind> {
    if s.is_empty() {
        return Err(ErrorKind::BadValue);
    }
    let mut acc = Some(0u64);
    for &b in s {
        let d = char::from(b).to_digit(radix).ok_or(ErrorKind::BadValue)?;
        acc = acc.and_then(|a| a.checked_mul(u64::from(radix))?.checked_add(u64::from(d)));
    }
    acc.and_then(|v| T::try_from(v).ok())
        .ok_or(ErrorKind::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::ToOwned;
    use std::string::String;
    use std::vec::Vec;

    fn ok(s: &str) -> Config {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }

    fn err(s: &str) -> (ErrorKind, &[u8]) {
        let e = parse(s.as_bytes()).expect_err(s);
        (e.kind, e.token)
    }

    fn sorted<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Vec<String> {
        let mut v: Vec<String> = names.into_iter().map(|s| s.as_ref().into()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The key each row of a Markdown table (its lines starting with
    /// `prefix`) names in `column` (0-based): the cell's first code span,
    /// `key` or `key=...`, where it is one.
    fn table_keys(text: &str, prefix: &str, column: usize) -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|row| {
                let row = row.replace("\\|", "");
                let cell = row.split('|').nth(column + 1)?.to_owned();
                let code = cell.split('`').nth(1)?;
                let key = code.split('=').next()?;
                let is_key =
                    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                is_key.then(|| key.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_module_docs_table_has_every_key_once() {
        let doc = table_keys(include_str!("cmdline.rs"), "//! ", 0);
        assert_eq!(sorted(doc), sorted(KEYS), "cmdline.rs's table of keys");
    }

    #[test]
    fn the_readme_options_table_has_every_key() {
        let readme = include_str!("../../README.md");
        let options = readme
            .split("\n## Options\n")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("README has an Options section");
        let tokens = table_keys(options, "", 1);
        assert_eq!(
            sorted(tokens),
            sorted(KEYS),
            "README's Options table, token column"
        );
    }

    #[test]
    fn every_key_parses() {
        assert_eq!(KEYS.len(), Key::ALL.len());
        for key in KEYS {
            let value = match key {
                "scenario" => "ssch",
                "devno" => "1234",
                "delay" => "auto",
                "mode" => "irq",
                "host" => "strict",
                "accel" => "auto",
                "checks" => "all",
                "cpus" => "one",
                "conformance_order" => "reverse",
                _ => "1",
            };
            ok(&std::format!("{key}={value}"));
        }
    }

    /// The command line as the kernel sees it: NUL-padded parameter area.
    fn area(s: &[u8]) -> [u8; PARM_AREA_LEN] {
        let mut a = [0u8; PARM_AREA_LEN];
        a[..s.len()].copy_from_slice(s);
        a
    }

    #[test]
    fn empty_is_default() {
        // The default, except that a command line without delay= asks the
        // race scenarios to size their own sweep.
        let parsed = Config {
            delay_auto: true,
            ..Config::DEFAULT
        };
        assert_eq!(ok(""), parsed);
        assert_eq!(parse(&area(b"")), Ok(parsed));
        assert_eq!(ok("  \t\n "), parsed);
        assert_eq!(Config::DEFAULT.delay, DelaySweep::default());
        assert_eq!(Config::DEFAULT.scenario, Scenario::default());
        assert_eq!(Config::DEFAULT.mode, Collect::default());
    }

    #[test]
    fn all_keys() {
        let c = ok(
            "scenario=csch-race seed=0xdeadbeef iterations=500 verbose=3 \
                    devno=fe.0.1a2b delay=10:1000:7 mode=poll io_timeout_ms=600000 host=vfio-ccw \
                    accel=tcg require_race=0 wait_owed=1 cpus=both measure=1 runs=1 seed_step=3 keep_going=1",
        );
        assert_eq!(
            c,
            Config {
                scenario: Scenario::CschRace,
                seed: 0xdead_beef,
                iterations: Some(500),
                verbose: 3,
                devno: Devices::one(0x1a2b),
                delay: DelaySweep {
                    min: 10,
                    max: 1000,
                    step: 7
                },
                mode: Collect::Poll,
                io_timeout_ms: 600_000,
                host: Host::VfioCcw,
                accel: Some(Accel::Tcg),
                delay_auto: false,
                require_race: Some(false),
                checks: true,
                wait_owed: true,
                cpus: Cpus::Both,
                measure: true,
                conformance_order: Order::Table,
                runs: 1,
                seed_step: 3,
                keep_going: true,
            }
        );
        assert_eq!(
            ok("conformance_order=reverse").conformance_order,
            Order::Reverse
        );
        assert_eq!(
            ok("conformance_order=seed:0x2a").conformance_order,
            Order::Seed(42)
        );
        assert_eq!(
            ok("conformance_order=table").conformance_order,
            Order::Table
        );
        for bad in [
            "conformance_order=up",
            "conformance_order=seed:",
            "conformance_order=seed:x",
        ] {
            assert_eq!(
                parse(bad.as_bytes()).unwrap_err().kind,
                ErrorKind::BadValue,
                "{bad}"
            );
        }
        assert!(!ok("measure=0").measure);
        assert_eq!(parse(b"measure=2").unwrap_err().kind, ErrorKind::BadValue);
        assert!(!ok("checks=none").checks);
        assert!(ok("checks=all").checks);
        assert_eq!(parse(b"checks=some").unwrap_err().kind, ErrorKind::BadValue);
    }

    #[test]
    fn sweeps_up_to_a_time() {
        let s = DelaySweep::up_to(1000, 64);
        assert_eq!((s.min, s.max, s.step), (0, 990, 15));
        assert_eq!(s.len(), 67);
        let tiny = DelaySweep::up_to(10, 64);
        assert_eq!((tiny.min, tiny.max, tiny.step), (0, 10, 1));
        let zero = DelaySweep::up_to(0, 64);
        assert_eq!((zero.max, zero.step), (0, 1));
        assert_eq!(
            DelaySweep::up_to(u64::MAX, 64).max,
            u32::MAX - u32::MAX % (u32::MAX / 64)
        );
    }

    #[test]
    fn delay_is_auto_unless_given() {
        let c = ok("scenario=csch-race");
        assert!(c.delay_auto);
        assert_eq!(c.delay, DelaySweep::DEFAULT, "the fallback");
        assert!(ok("delay=auto").delay_auto);
        assert!(!ok("delay=0:100:1").delay_auto);
        assert_eq!(ok("").require_race, None);
        assert_eq!(ok("require_race=1").require_race, Some(true));
        let e = parse(b"require_race=2").unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadValue);
    }

    #[test]
    fn host_profiles() {
        assert_eq!(ok("").host, Host::Strict);
        assert_eq!(ok("host=strict").host, Host::Strict);
        assert_eq!(ok("host=vfio-ccw").host, Host::VfioCcw);
        let e = parse(b"host=kvm").unwrap_err();
        assert_eq!((e.token, e.kind), (&b"host=kvm"[..], ErrorKind::BadValue));
    }

    #[test]
    fn accelerators() {
        // auto (the default): the kernel finds out itself.
        assert_eq!(ok("").accel, None);
        assert_eq!(ok("accel=auto").accel, None);
        assert_eq!(ok("accel=tcg").accel, Some(Accel::Tcg));
        assert_eq!(ok("accel=kvm").accel, Some(Accel::Kvm));
        for bad in ["accel=", "accel=TCG", "accel=hvf", "accel=kvm,tcg"] {
            let e = parse(bad.as_bytes()).unwrap_err();
            assert_eq!((e.token, e.kind), (bad.as_bytes(), ErrorKind::BadValue));
        }
        assert_eq!(
            err("accel=tcg accel=auto"),
            (ErrorKind::Duplicate, &b"accel=auto"[..])
        );
    }

    #[test]
    fn text_ends_at_first_nul() {
        let a = area(b"seed=5\0seed=6 junk");
        assert_eq!(parse(&a).unwrap().seed, 5);
    }

    #[test]
    fn separators() {
        let c = ok("\tseed=2\t\tverbose=1 \n\r mode=poll   ");
        assert_eq!((c.seed, c.verbose, c.mode), (2, 1, Collect::Poll));
    }

    #[test]
    fn length_limit() {
        // 895 bytes of text plus the NUL fill the area exactly.
        let mut text = Vec::from(*b"seed=");
        text.resize(PARM_AREA_LEN - 2, b'0');
        text.push(b'7');
        assert_eq!(text.len(), PARM_AREA_LEN - 1);
        assert_eq!(parse(&area(&text)).unwrap().seed, 7);

        text.push(b' ');
        assert_eq!(text.len(), PARM_AREA_LEN);
        let e = parse(&text).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLong);
        assert_eq!(e.token, &text[..32]);

        // A NUL past the area does not count.
        let mut longer = text.clone();
        longer.extend_from_slice(b"\0");
        assert_eq!(parse(&longer).unwrap_err().kind, ErrorKind::TooLong);

        // Bytes after an in-area NUL are ignored, however many there are.
        let mut padded = Vec::from(*b"seed=3\0");
        padded.resize(2 * PARM_AREA_LEN, b'x');
        assert_eq!(parse(&padded).unwrap().seed, 3);
    }

    #[test]
    fn error_tokens() {
        let cases: [(&str, ErrorKind, &str); 12] = [
            ("seed=1 verbose", ErrorKind::NotKeyValue, "verbose"),
            ("=5", ErrorKind::NotKeyValue, "=5"),
            ("seed=1 colour=red", ErrorKind::UnknownKey, "colour=red"),
            ("SEED=1", ErrorKind::UnknownKey, "SEED=1"),
            ("scenario=nope", ErrorKind::BadValue, "scenario=nope"),
            ("seed=", ErrorKind::BadValue, "seed="),
            ("mode=IRQ", ErrorKind::BadValue, "mode=IRQ"),
            ("verbose=300", ErrorKind::Overflow, "verbose=300"),
            ("seed=1 mode=irq seed=2", ErrorKind::Duplicate, "seed=2"),
            ("seed=1\x01", ErrorKind::NonAscii, "seed=1\x01"),
            ("a=\x7f", ErrorKind::NonAscii, "a=\x7f"),
            (
                "scenario=caf\u{e9}",
                ErrorKind::NonAscii,
                "scenario=caf\u{e9}",
            ),
        ];
        for (input, kind, token) in cases {
            assert_eq!(err(input), (kind, token.as_bytes()), "{input:?}");
        }
    }

    #[test]
    fn first_error_wins() {
        assert_eq!(err("x y=\u{e9}").0, ErrorKind::NotKeyValue);
        // Duplicate is reported even when the repeated value is also bad.
        assert_eq!(err("seed=1 seed=x"), (ErrorKind::Duplicate, &b"seed=x"[..]));
    }

    #[test]
    fn value_may_contain_equals() {
        assert_eq!(
            err("scenario=a=b"),
            (ErrorKind::BadValue, &b"scenario=a=b"[..])
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(ok("seed=0").seed, 0);
        assert_eq!(ok("seed=0x10").seed, 16);
        assert_eq!(ok("seed=0X1f").seed, 31);
        assert_eq!(ok("seed=010").seed, 10);
        assert_eq!(ok("seed=18446744073709551615").seed, u64::MAX);
        assert_eq!(ok("seed=0xffffffffffffffff").seed, u64::MAX);
        assert_eq!(err("seed=18446744073709551616").0, ErrorKind::Overflow);
        assert_eq!(err("seed=0x10000000000000000").0, ErrorKind::Overflow);
        assert_eq!(err("seed=99999999999999999999x").0, ErrorKind::BadValue);
        for bad in [
            "seed=0x",
            "seed=-1",
            "seed=+1",
            "seed=1_000",
            "seed=12a",
            "seed=0b1",
        ] {
            assert_eq!(err(bad).0, ErrorKind::BadValue, "{bad}");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(ok("iterations=1").iterations, Some(1));
        assert_eq!(ok("iterations=4294967295").iterations, Some(u32::MAX));
        assert_eq!(err("iterations=0").0, ErrorKind::BadValue);
        assert_eq!(err("iterations=4294967296").0, ErrorKind::Overflow);
        assert_eq!(ok("verbose=0").verbose, 0);
        assert_eq!(err("verbose=4").0, ErrorKind::BadValue);
        assert_eq!(err("verbose=256").0, ErrorKind::Overflow);
        assert_eq!(ok("io_timeout_ms=1").io_timeout_ms, 1);
        assert_eq!(err("io_timeout_ms=0").0, ErrorKind::BadValue);
        assert_eq!(err("io_timeout_ms=600001").0, ErrorKind::BadValue);
    }

    #[test]
    fn scenarios() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.name().as_bytes()), Some(s));
            assert_eq!(ok(&std::format!("scenario={}", s.name())).scenario, s);
        }
        let mut names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Scenario::ALL.len());
        assert_eq!(Scenario::from_name(b""), None);
        assert_eq!(Scenario::from_name(b"Smoke"), None);
        let io: Vec<_> = Scenario::ALL
            .into_iter()
            .filter(|s| s.channel_io())
            .collect();
        assert_eq!(Scenario::CHANNEL_IO[..], io[..]);
        assert_eq!(
            Scenario::CHANNEL_IO.map(Scenario::name),
            ["ssch", "csch-race", "hsch-race", "csch-idle", "mixed"]
        );
        let racing: Vec<_> = io.into_iter().filter(|s| s.races()).collect();
        assert_eq!(Scenario::RACING[..], racing[..]);
        assert_eq!(
            Scenario::RACING,
            [Scenario::CschRace, Scenario::HschRace, Scenario::Mixed]
        );
        let device: Vec<_> = Scenario::ALL
            .into_iter()
            .filter(|s| s.needs_device())
            .collect();
        assert_eq!(Scenario::DEVICE[..], device[..]);
    }

    #[test]
    fn devno_forms() {
        for (s, want) in [
            ("0.0.1234", 0x1234),
            ("fe.0.1234", 0x1234),
            ("FE.0.ABCD", 0xabcd),
            ("0.0.0", 0),
            ("ff.0.ffff", 0xffff),
            ("1234", 0x1234),
            ("0x1234", 0x1234),
            ("0XbEeF", 0xbeef),
        ] {
            assert_eq!(
                ok(&std::format!("devno={s}")).devno,
                Devices::one(want),
                "{s}"
            );
        }
        for (s, kind) in [
            ("0.1.1234", ErrorKind::BadValue),
            ("0.0.12345", ErrorKind::Overflow),
            ("100.0.1", ErrorKind::Overflow),
            ("10000", ErrorKind::Overflow),
            ("0..1234", ErrorKind::BadValue),
            ("0.0", ErrorKind::BadValue),
            ("0.0.0.1", ErrorKind::BadValue),
            ("0.0.0x12", ErrorKind::BadValue),
            ("0x", ErrorKind::BadValue),
            ("xyz", ErrorKind::BadValue),
            ("", ErrorKind::BadValue),
        ] {
            assert_eq!(err(&std::format!("devno={s}")).0, kind, "{s}");
        }
    }

    #[test]
    fn cpus_choices() {
        assert_eq!(ok("").cpus, Cpus::One);
        for c in Cpus::ALL {
            assert_eq!(ok(&std::format!("cpus={}", c.name())).cpus, c);
        }
        assert_eq!(err("cpus=two").0, ErrorKind::BadValue);
        assert_eq!(ok("cpus=io-elsewhere mode=wait").mode, Collect::Wait);
        for mode in ["poll", "tsch"] {
            let line = std::format!("mode={mode} cpus=io-elsewhere");
            let e = parse(line.as_bytes()).unwrap_err();
            assert_eq!(
                (e.kind, e.token),
                (ErrorKind::Conflict, &b"cpus=io-elsewhere"[..])
            );
        }
        assert_eq!(ok("cpus=both mode=tsch").cpus, Cpus::Both);
    }

    #[test]
    fn batch_tokens() {
        let c = ok("");
        assert_eq!(
            (c.runs, c.seed_step, c.keep_going, c.batch()),
            (1, 1, false, false)
        );
        let c = ok("scenario=ssch seed=7 runs=5 seed_step=4 keep_going=1");
        assert_eq!(
            (c.runs, c.seed_step, c.keep_going, c.batch()),
            (5, 4, true, true)
        );
        assert_eq!(
            (0..5).map(|k| c.run_seed(k)).collect::<std::vec::Vec<_>>(),
            [7, 11, 15, 19, 23]
        );
        assert!(!ok("runs=1").batch());
        for bad in ["runs=0", "runs=100001", "seed_step=0", "keep_going=2"] {
            assert_eq!(err(bad).0, ErrorKind::BadValue, "{bad}");
        }
        assert_eq!(err("runs=2 runs=3").0, ErrorKind::Duplicate);
        // What boots once per run cannot batch: named by the runs= token.
        for other in [
            "scenario=selftest",
            "scenario=conformance",
            "scenario=crash",
            "scenario=ssch cpus=both",
            "scenario=ssch measure=1",
        ] {
            let line = std::format!("{other} runs=2");
            let e = parse(line.as_bytes()).unwrap_err();
            assert_eq!(
                (e.kind, e.token),
                (ErrorKind::Conflict, &b"runs=2"[..]),
                "{other}"
            );
            assert!(parse(std::format!("{other} runs=1").as_bytes()).is_ok());
        }
    }

    #[test]
    fn devno_lists_and_all() {
        assert_eq!(ok("").devno, Devices::First);
        assert_eq!(ok("devno=all").devno, Devices::All);
        let c = ok("devno=1,fe.0.0002,0x3");
        assert_eq!(c.devno.listed(), &[1, 2, 3]);
        assert_eq!(ok("devno=all").devno.listed(), &[] as &[u16]);
        assert_eq!(ok("devno=1,2,3,4,5,6,7,8").devno.listed().len(), 8);
        for bad in ["1,2,3,4,5,6,7,8,9", "1,1", "1,", ",1", "all,1", "1,,2"] {
            assert_eq!(
                err(&std::format!("devno={bad}")).0,
                ErrorKind::BadValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn delay_forms() {
        let d = |s: &str| ok(&std::format!("delay={s}")).delay;
        assert_eq!(d("5"), DelaySweep::new(5, 5, 1).unwrap());
        assert_eq!(d("0x10:0x20:2"), DelaySweep::new(16, 32, 2).unwrap());
        assert_eq!(d("7:7:100"), DelaySweep::new(7, 7, 100).unwrap());
        for bad in ["10:5:1", "1:5:0", "1:5", "1:2:3:4", "", ":", "1::1", "a"] {
            assert_eq!(
                err(&std::format!("delay={bad}")).0,
                ErrorKind::BadValue,
                "{bad}"
            );
        }
        assert_eq!(err("delay=0:4294967296:1").0, ErrorKind::Overflow);
    }

    #[test]
    fn delay_sweep_len_and_nth() {
        let d = DelaySweep::DEFAULT;
        assert_eq!(d.len(), 129);
        assert_eq!((d.nth(0), d.nth(1), d.nth(128)), (0, 64, 8192));
        assert_eq!((d.nth(129), d.nth(130)), (0, 64));

        // A step that does not divide the range never overshoots max.
        let d = DelaySweep::new(3, 10, 4).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!([d.nth(0), d.nth(1), d.nth(2)], [3, 7, 3]);

        let one = DelaySweep::new(5, 5, 1).unwrap();
        assert_eq!((one.len(), one.nth(0), one.nth(u32::MAX)), (1, 5, 5));

        let full = DelaySweep::new(0, u32::MAX, 1).unwrap();
        assert_eq!(full.len(), u32::MAX);
        assert_eq!(full.nth(u32::MAX), u32::MAX);

        let wide = DelaySweep::new(1, u32::MAX, u32::MAX).unwrap();
        assert_eq!((wide.len(), wide.nth(1), wide.nth(2)), (1, 1, 1));
        let wide = DelaySweep::new(0, u32::MAX, u32::MAX).unwrap();
        assert_eq!((wide.len(), wide.nth(1), wide.nth(2)), (2, u32::MAX, 0));

        let top = DelaySweep::new(u32::MAX, u32::MAX, 3).unwrap();
        assert_eq!((top.len(), top.nth(9)), (1, u32::MAX));
    }

    #[test]
    fn hand_built_bad_sweep_does_not_panic() {
        let d = DelaySweep {
            min: 9,
            max: 3,
            step: 0,
        };
        assert_eq!((d.len(), d.nth(5)), (1, 9));
        assert_eq!(DelaySweep::new(9, 3, 1), None);
        assert_eq!(DelaySweep::new(1, 3, 0), None);
    }

    #[test]
    fn error_names() {
        let kinds = [
            (ErrorKind::TooLong, "too-long"),
            (ErrorKind::NotKeyValue, "not-key-value"),
            (ErrorKind::UnknownKey, "unknown-key"),
            (ErrorKind::BadValue, "bad-value"),
            (ErrorKind::Overflow, "overflow"),
            (ErrorKind::Duplicate, "duplicate-key"),
            (ErrorKind::NonAscii, "non-ascii"),
        ];
        for (k, name) in kinds {
            assert_eq!(k.name(), name);
        }
        assert_eq!((Collect::Irq.name(), Collect::Poll.name()), ("irq", "poll"));
        assert_eq!(parse(b"mode=tsch").unwrap().mode, Collect::Tsch);
        assert_eq!(parse(b"mode=wait").unwrap().mode, Collect::Wait);
    }
}
