//! The verdict line: the one line every run ends with.
//!
//! This is the protocol `run-qemu.sh` and CI parse, so it is exact:
//!
//! ```text
//! VERDICT: PASS scenario=<s> seed=<u64> iterations=<u32> elapsed_us=<u64>[ <key>=<value>]...
//! VERDICT: FAIL scenario=<s> seed=<u64> iterations=<u32> elapsed_us=<u64> reason=<r>[ <key>=<value>]...
//! VERDICT: ERROR scenario=<s> seed=<u64> iterations=<u32> elapsed_us=<u64> reason=<r>[ <key>=<value>]...
//! ```
//!
//! - `FAIL`: the device under test broke a rule the oracle checks.
//!   `ERROR`: the run could not reach a verdict about the device (bad command
//!   line, no device, a failure of ccwgate itself).
//! - The line starts with `VERDICT: `, ends with `\n`, and separates fields
//!   with single spaces.
//! - The four leading keys come first, in this order; `reason` follows them
//!   on `FAIL` and `ERROR` and never appears on `PASS`. Extra fields follow.
//! - Keys match `[a-z0-9_]+` and are unique; there are at most
//!   [`MAX_FIELDS`] fields.
//! - `seed`, `iterations` and `elapsed_us` are decimal.
//! - Values are escaped so that they never contain a space: bytes 0x21..=0x7e
//!   stand for themselves except `\`, which is written `\\`; every other byte
//!   is written `\xNN` with lowercase hex. A value may contain `=`: a field
//!   splits at its first `=`. [`unescape`] recovers the bytes.
//!
//! [`VerdictLine`] writes the line and [`parse`] reads it back. The
//! kernel prints kvm-unit-tests' report lines before it and its
//! `SUMMARY:` and `EXIT: STATUS=` lines after it ([`crate::kut`]); no
//! other line of a run starts with `VERDICT: `.
//!
//! A batch boot (`runs=N`, docs/campaigns.md) prints one run line per run
//! before its one verdict line. A run line is a verdict line with `RUN: `
//! in place of `VERDICT: ` and a final `run=<k>` (1-based) field; its
//! `elapsed_us` counts from the start of that run. [`VerdictLine::start_run`]
//! writes it and [`parse_run`] reads it back: the one parser of run lines.

use core::fmt::{self, Write};

/// Upper bound on fields in one line, leading keys and `reason` included, so
/// that [`parse`] needs no allocation.
pub const MAX_FIELDS: usize = 32;

const PREFIX: &str = "VERDICT: ";
/// What a batch boot's per-run result line starts with.
pub const RUN_PREFIX: &str = "RUN: ";
/// The run line's last field: the run's 1-based place in the batch.
pub const RUN_KEY: &str = "run";
const LEADING: [&str; 4] = ["scenario", "seed", "iterations", "elapsed_us"];
const REASON: &str = "reason";
/// Stands in for a `reason` the caller failed to give, so the line still
/// follows the protocol.
const MISSING_REASON: &str = "unspecified";

named_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Outcome {
        Pass => "PASS",
        Fail => "FAIL",
        Error => "ERROR",
    }
}

impl Outcome {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Displays as `0x` and lowercase hex digits, e.g. `0x1a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hex(pub u64);

pub fn hex(v: impl Into<u64>) -> Hex {
    Hex(v.into())
}

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Writes one verdict line.
///
/// [`start`](Self::start) writes the leading keys; on `FAIL` and `ERROR` call
/// [`reason`](Self::reason) next, then add fields, then
/// [`finish`](Self::finish). Misuse cannot break the format: a missing reason
/// is written as `reason=unspecified`, and a misplaced reason, an invalid,
/// reserved or repeated key, or a field beyond [`MAX_FIELDS`] is dropped.
/// Each of those makes `finish` return `Err`, as does an error from the sink.
#[must_use = "the line is incomplete until finish() is called"]
pub struct VerdictLine<'w, W: fmt::Write> {
    w: &'w mut W,
    keys: [&'static str; MAX_FIELDS],
    /// `Some(k)`: a run line, `run=k` written by `finish`.
    run: Option<u32>,
    fields: usize,
    reason_due: bool,
    result: fmt::Result,
}

impl<'w, W: fmt::Write> VerdictLine<'w, W> {
    pub fn start(
        w: &'w mut W,
        outcome: Outcome,
        scenario: &str,
        seed: u64,
        iterations: u32,
        elapsed_us: u64,
    ) -> Self {
        Self::begin(w, None, outcome, scenario, seed, iterations, elapsed_us)
    }

    /// A batch's run line for run `run` (1-based): as a verdict line, but
    /// starting `RUN: ` and ending with `run=<run>`.
    pub fn start_run(
        w: &'w mut W,
        run: u32,
        outcome: Outcome,
        scenario: &str,
        seed: u64,
        iterations: u32,
        elapsed_us: u64,
    ) -> Self {
        Self::begin(
            w,
            Some(run),
            outcome,
            scenario,
            seed,
            iterations,
            elapsed_us,
        )
    }

    fn begin(
        w: &'w mut W,
        run: Option<u32>,
        outcome: Outcome,
        scenario: &str,
        seed: u64,
        iterations: u32,
        elapsed_us: u64,
    ) -> Self {
        let mut keys = [""; MAX_FIELDS];
        keys[..LEADING.len()].copy_from_slice(&LEADING);
        let mut line = VerdictLine {
            w,
            keys,
            run,
            fields: LEADING.len(),
            reason_due: outcome != Outcome::Pass,
            result: Ok(()),
        };
        let prefix = if run.is_some() { RUN_PREFIX } else { PREFIX };
        let r = write!(line.w, "{prefix}{outcome} scenario=")
            .and_then(|()| escape(line.w, scenario.as_bytes()))
            .and_then(|()| {
                write!(
                    line.w,
                    " seed={seed} iterations={iterations} elapsed_us={elapsed_us}"
                )
            });
        line.note(r);
        line
    }

    /// Only valid once, directly after `start` on `FAIL` or `ERROR`.
    pub fn reason(&mut self, value: impl fmt::Display) -> &mut Self {
        if self.reason_due {
            self.reason_due = false;
            self.put(REASON, |w| write!(Escape(w), "{value}"));
        } else {
            self.misuse();
        }
        self
    }

    pub fn field(&mut self, key: &'static str, value: impl fmt::Display) -> &mut Self {
        self.extra(key, |w| write!(Escape(w), "{value}"))
    }

    /// For raw bytes such as command-line tokens, which need not be UTF-8.
    pub fn bytes_field(&mut self, key: &'static str, value: &[u8]) -> &mut Self {
        self.extra(key, |w| escape(w, value))
    }

    /// Ends the line with `\n`; `Err` if anything went wrong on the way.
    pub fn finish(mut self) -> fmt::Result {
        self.fill_missing_reason();
        if let Some(run) = self.run {
            self.extra(RUN_KEY, |w| write!(w, "{run}"));
        }
        let r = self.w.write_char('\n');
        self.note(r);
        self.result
    }

    fn extra(&mut self, key: &'static str, value: impl FnOnce(&mut W) -> fmt::Result) -> &mut Self {
        self.fill_missing_reason();
        let usable = is_key(key) && key != REASON && !self.keys[..self.fields].contains(&key);
        if usable && self.fields < MAX_FIELDS {
            self.put(key, value);
        } else {
            self.misuse();
        }
        self
    }

    fn fill_missing_reason(&mut self) {
        if self.reason_due {
            self.reason_due = false;
            self.put(REASON, |w| w.write_str(MISSING_REASON));
            self.misuse();
        }
    }

    fn put(&mut self, key: &'static str, value: impl FnOnce(&mut W) -> fmt::Result) {
        self.keys[self.fields] = key;
        self.fields += 1;
        let r = write!(self.w, " {key}=").and_then(|()| value(self.w));
        self.note(r);
    }

    fn misuse(&mut self) {
        self.note(Err(fmt::Error));
    }

    fn note(&mut self, r: fmt::Result) {
        if self.result.is_ok() {
            self.result = r;
        }
    }
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_plain(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b'\\'
}

fn escape<W: fmt::Write + ?Sized>(w: &mut W, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.split_inclusive(|&b| !is_plain(b)) {
        let (plain, special) = match chunk.split_last() {
            Some((&b, head)) if !is_plain(b) => (head, Some(b)),
            _ => (chunk, None),
        };
        // Plain bytes are ASCII, so this never fails.
        w.write_str(core::str::from_utf8(plain).map_err(|_| fmt::Error)?)?;
        match special {
            Some(b'\\') => w.write_str("\\\\")?,
            Some(b) => write!(w, "\\x{b:02x}")?,
            None => {}
        }
    }
    Ok(())
}

/// Escapes everything written through it, so any `Display` value can be
/// formatted straight into the line.
struct Escape<'a, W: ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escape<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape(self.0, s.as_bytes())
    }
}

/// Decodes an escaped value into `buf`. `None` if `buf` is too small or the
/// value is not exactly what the writer would produce (a bare space or
/// non-ASCII byte, a stray `\`, uppercase hex, or `\xNN` for a byte that
/// needs no escaping).
pub fn unescape<'b>(value: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let mut len = 0;
    decode(value, |b| {
        *buf.get_mut(len)? = b;
        len += 1;
        Some(())
    })?;
    Some(&buf[..len])
}

fn decode(value: &str, mut out: impl FnMut(u8) -> Option<()>) -> Option<()> {
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        let decoded = match b {
            b'\\' => match bytes.next()? {
                b'\\' => b'\\',
                b'x' => {
                    let v = (nibble(bytes.next()?)? << 4) | nibble(bytes.next()?)?;
                    if is_plain(v) || v == b'\\' {
                        return None;
                    }
                    v
                }
                _ => return None,
            },
            b if is_plain(b) => b,
            _ => return None,
        };
        out(decoded)?;
    }
    Some(())
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// A verdict line read back by [`parse`]. Values are still escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub outcome: Outcome,
    fields: [(&'a str, &'a str); MAX_FIELDS],
    len: usize,
}

impl<'a> Parsed<'a> {
    /// All fields in line order, leading keys first.
    pub fn fields(&self) -> &[(&'a str, &'a str)] {
        &self.fields[..self.len]
    }

    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.fields()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, v)| v)
    }

    /// A decimal field such as `seed` or `elapsed_us`.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        let v = self.get(key)?;
        // `str::parse` would also take a leading `+`, which no writer emits.
        v.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| v.parse().ok())?
    }
}

/// Reads one line (with or without its `\n` or `\r\n`); `None` unless it
/// follows the format in the module documentation to the letter.
pub fn parse(line: &str) -> Option<Parsed<'_>> {
    parse_with(PREFIX, line)
}

/// Reads one run line of a batch boot: its run number (1-based) and the
/// fields, `run` last among them. `None` unless it is a run line to the
/// letter (a verdict line's format, `RUN: `, `run=<k>` last, `k` >= 1).
pub fn parse_run(line: &str) -> Option<(u32, Parsed<'_>)> {
    let parsed = parse_with(RUN_PREFIX, line)?;
    let &(key, value) = parsed.fields().last()?;
    if key != RUN_KEY || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let run: u32 = value.parse().ok().filter(|&k| k >= 1)?;
    Some((run, parsed))
}

fn parse_with<'l>(prefix: &str, line: &'l str) -> Option<Parsed<'l>> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut words = line.strip_prefix(prefix)?.split(' ');
    let outcome = Outcome::from_name(words.next()?)?;
    let mut parsed = Parsed {
        outcome,
        fields: [("", ""); MAX_FIELDS],
        len: 0,
    };
    for word in words {
        let (key, value) = word.split_once('=')?;
        if !is_key(key) || parsed.get(key).is_some() || decode(value, |_| Some(())).is_none() {
            return None;
        }
        *parsed.fields.get_mut(parsed.len)? = (key, value);
        parsed.len += 1;
    }

    let reason = (outcome != Outcome::Pass).then_some(REASON);
    let head = LEADING.len() + usize::from(reason.is_some());
    let in_order = parsed.len >= head
        && parsed.fields[..head]
            .iter()
            .map(|&(k, _)| k)
            .eq(LEADING.iter().copied().chain(reason));
    let numbers_ok = parsed.get_u64("seed").is_some()
        && parsed.get_u64("elapsed_us").is_some()
        && parsed
            .get_u64("iterations")
            .is_some_and(|n| u32::try_from(n).is_ok());
    let reason_placed = reason.is_some() || parsed.get(REASON).is_none();
    (in_order && numbers_ok && reason_placed).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn line(
        outcome: Outcome,
        build: impl FnOnce(&mut VerdictLine<'_, String>),
    ) -> (String, fmt::Result) {
        let mut s = String::new();
        let mut v = VerdictLine::start(&mut s, outcome, "csch-race", 42, 1000, 123_456);
        build(&mut v);
        let r = v.finish();
        (s, r)
    }

    #[test]
    fn run_lines_round_trip_and_only_parse_as_run_lines() {
        let mut s = String::new();
        let mut v = VerdictLine::start_run(&mut s, 3, Outcome::Fail, "ssch", 9, 17, 500);
        v.reason("bad-status").field("class", "bad-status");
        assert_eq!(v.finish(), Ok(()));
        assert_eq!(
            s,
            "RUN: FAIL scenario=ssch seed=9 iterations=17 elapsed_us=500 reason=bad-status class=bad-status run=3\n"
        );
        let (run, p) = parse_run(&s).expect("a run line");
        assert_eq!(run, 3);
        assert_eq!(p.outcome, Outcome::Fail);
        assert_eq!(
            (p.get("reason"), p.get_u64("seed")),
            (Some("bad-status"), Some(9))
        );
        assert_eq!(parse(&s), None, "a run line is no verdict line");
        let verdict = s.replacen("RUN: ", "VERDICT: ", 1);
        assert_eq!(parse_run(&verdict), None, "a verdict line is no run line");
        // `run` must be last, decimal and at least 1.
        for bad in [
            "RUN: PASS scenario=s seed=1 iterations=1 elapsed_us=1",
            "RUN: PASS scenario=s seed=1 iterations=1 elapsed_us=1 run=0",
            "RUN: PASS scenario=s seed=1 iterations=1 elapsed_us=1 run=x",
            "RUN: PASS scenario=s seed=1 iterations=1 elapsed_us=1 run=1 a=b",
            "RUN: PASS scenario=s seed=1 iterations=1 elapsed_us=1 run=+1",
        ] {
            assert_eq!(parse_run(bad), None, "{bad}");
        }
        // A caller's own `run` field is misuse, like any repeated key.
        let mut s = String::new();
        let mut v = VerdictLine::start_run(&mut s, 1, Outcome::Pass, "ssch", 1, 1, 1);
        v.field("run", 5);
        assert!(v.finish().is_err());
    }

    #[test]
    fn pass() {
        let (s, r) = line(Outcome::Pass, |_| {});
        assert_eq!(r, Ok(()));
        assert_eq!(
            s,
            "VERDICT: PASS scenario=csch-race seed=42 iterations=1000 elapsed_us=123456\n"
        );
    }

    #[test]
    fn pass_with_fields() {
        let (s, r) = line(Outcome::Pass, |v| {
            v.field("irqs", 1000u32).field("devno", hex(0x1234u16));
        });
        assert_eq!(r, Ok(()));
        assert_eq!(
            s,
            "VERDICT: PASS scenario=csch-race seed=42 iterations=1000 elapsed_us=123456 \
             irqs=1000 devno=0x1234\n"
        );
    }

    #[test]
    fn fail() {
        let (s, r) = line(Outcome::Fail, |v| {
            v.reason("cc-mismatch")
                .field("sid", hex(0x0001_0000u32))
                .field("want", format_args!("{}/{}", 0, 1));
        });
        assert_eq!(r, Ok(()));
        assert_eq!(
            s,
            "VERDICT: FAIL scenario=csch-race seed=42 iterations=1000 elapsed_us=123456 \
             reason=cc-mismatch sid=0x10000 want=0/1\n"
        );
    }

    #[test]
    fn error_with_token() {
        let (s, r) = line(Outcome::Error, |v| {
            v.reason("cmdline-bad-value")
                .bytes_field("token", b"seed=1 2\\\xc3\xa9\0\n");
        });
        assert_eq!(r, Ok(()));
        assert_eq!(
            s,
            "VERDICT: ERROR scenario=csch-race seed=42 iterations=1000 elapsed_us=123456 \
             reason=cmdline-bad-value token=seed=1\\x202\\\\\\xc3\\xa9\\x00\\x0a\n"
        );
    }

    #[test]
    fn escaping_display_values() {
        let (s, _) = line(Outcome::Fail, |v| {
            v.reason("a b").field("text", "caf\u{e9} \\ \x7f~");
        });
        assert!(
            s.ends_with(" reason=a\\x20b text=caf\\xc3\\xa9\\x20\\\\\\x20\\x7f~\n"),
            "{s}"
        );
    }

    #[test]
    fn escaped_scenario() {
        let mut s = String::new();
        let v = VerdictLine::start(&mut s, Outcome::Pass, "a b", 0, 0, 0);
        assert_eq!(v.finish(), Ok(()));
        assert_eq!(
            s,
            "VERDICT: PASS scenario=a\\x20b seed=0 iterations=0 elapsed_us=0\n"
        );
    }

    #[test]
    fn missing_reason_is_filled_in() {
        let (s, r) = line(Outcome::Error, |_| {});
        assert_eq!(r, Err(fmt::Error));
        assert!(
            s.ends_with(" elapsed_us=123456 reason=unspecified\n"),
            "{s}"
        );

        let (s, r) = line(Outcome::Fail, |v| {
            v.field("x", 1).reason("late");
        });
        assert_eq!(r, Err(fmt::Error));
        assert!(
            s.ends_with(" elapsed_us=123456 reason=unspecified x=1\n"),
            "{s}"
        );
        assert!(parse(&s).is_some());
    }

    #[test]
    fn misuse_is_dropped_and_reported() {
        type Build = fn(&mut VerdictLine<'_, String>);
        let cases: [(Outcome, Build); 6] = [
            (Outcome::Pass, |v| {
                v.reason("no");
            }),
            (Outcome::Fail, |v| {
                v.reason("r").reason("again");
            }),
            (Outcome::Pass, |v| {
                v.field("seed", 2);
            }),
            (Outcome::Pass, |v| {
                v.field("reason", 2);
            }),
            (Outcome::Pass, |v| {
                v.field("x", 1).field("x", 2);
            }),
            (Outcome::Pass, |v| {
                v.field("Bad", 1)
                    .field("a b", 1)
                    .field("", 1)
                    .field("a=b", 1);
            }),
        ];
        for (outcome, build) in cases {
            let (s, r) = line(outcome, build);
            assert_eq!(r, Err(fmt::Error), "{s}");
            let p = parse(&s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(p.get("seed"), Some("42"));
            assert!(p.fields().len() <= 6, "{s}");
        }
    }

    #[test]
    fn field_limit() {
        const KEYS: [&str; 30] = [
            "k00", "k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09", "k10", "k11",
            "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k20", "k21", "k22", "k23",
            "k24", "k25", "k26", "k27", "k28", "k29",
        ];
        let (s, r) = line(Outcome::Fail, |v| {
            v.reason("r");
            for &k in &KEYS[..MAX_FIELDS - 5] {
                v.field(k, 1);
            }
        });
        assert_eq!(r, Ok(()));
        assert_eq!(parse(&s).unwrap().fields().len(), MAX_FIELDS);

        let (s, r) = line(Outcome::Fail, |v| {
            v.reason("r");
            for k in KEYS {
                v.field(k, 1);
            }
        });
        assert_eq!(r, Err(fmt::Error));
        assert_eq!(parse(&s).unwrap().fields().len(), MAX_FIELDS);
        assert!(!s.contains("k27"));
    }

    #[test]
    fn sink_error_is_returned() {
        struct Full(usize);
        impl fmt::Write for Full {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 = self.0.checked_sub(s.len()).ok_or(fmt::Error)?;
                Ok(())
            }
        }
        let mut w = Full(20);
        let v = VerdictLine::start(&mut w, Outcome::Pass, "smoke", 1, 1, 1);
        assert_eq!(v.finish(), Err(fmt::Error));
        let mut w = Full(1000);
        let v = VerdictLine::start(&mut w, Outcome::Pass, "smoke", 1, 1, 1);
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn round_trip() {
        let raw: &[u8] = b"seed=\xff \\x41\0";
        let (s, r) = line(Outcome::Error, |v| {
            v.reason("cmdline-non-ascii")
                .bytes_field("token", raw)
                .field("n", u64::MAX);
        });
        assert_eq!(r, Ok(()));
        let p = parse(&s).unwrap();
        assert_eq!(p.outcome, Outcome::Error);
        let keys: std::vec::Vec<_> = p.fields().iter().map(|&(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "scenario",
                "seed",
                "iterations",
                "elapsed_us",
                "reason",
                "token",
                "n"
            ]
        );
        assert_eq!(p.get("scenario"), Some("csch-race"));
        assert_eq!(p.get_u64("seed"), Some(42));
        assert_eq!(p.get_u64("iterations"), Some(1000));
        assert_eq!(p.get_u64("elapsed_us"), Some(123_456));
        assert_eq!(p.get_u64("n"), Some(u64::MAX));
        assert_eq!(p.get("reason"), Some("cmdline-non-ascii"));
        assert_eq!(p.get("missing"), None);
        let mut buf = [0u8; 16];
        assert_eq!(unescape(p.get("token").unwrap(), &mut buf), Some(raw));
    }

    #[test]
    fn round_trip_every_byte() {
        let all: [u8; 256] = core::array::from_fn(|i| i as u8);
        let mut s = String::new();
        escape(&mut s, &all).unwrap();
        assert!(s.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        let mut buf = [0u8; 256];
        assert_eq!(unescape(&s, &mut buf), Some(&all[..]));
        assert_eq!(unescape(&s, &mut [0u8; 255]), None);
    }

    #[test]
    fn unescape_rejects_non_canonical() {
        let mut buf = [0u8; 8];
        for bad in [
            "a b", "\\", "\\x", "\\x4", "\\xA9", "\\x41", "\\x5c", "\\n", "\u{e9}",
        ] {
            assert_eq!(unescape(bad, &mut buf), None, "{bad:?}");
        }
        assert_eq!(unescape("", &mut buf), Some(&b""[..]));
        assert_eq!(unescape("=\\\\\\x7f", &mut buf), Some(&b"=\\\x7f"[..]));
    }

    #[test]
    fn parse_accepts_line_endings() {
        let base = "VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3";
        for l in [base, &std::format!("{base}\n"), &std::format!("{base}\r\n")] {
            let p = parse(l).unwrap();
            assert_eq!((p.outcome, p.fields().len()), (Outcome::Pass, 4));
        }
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "",
            "VERDICT: PASS",
            "VERDICT: OK scenario=s seed=1 iterations=2 elapsed_us=3",
            "verdict: PASS scenario=s seed=1 iterations=2 elapsed_us=3",
            " VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3",
            "VERDICT:  PASS scenario=s seed=1 iterations=2 elapsed_us=3",
            "VERDICT: PASS scenario=s  seed=1 iterations=2 elapsed_us=3",
            "VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3 ",
            "VERDICT: PASS seed=1 scenario=s iterations=2 elapsed_us=3",
            "VERDICT: PASS scenario=s seed=1 iterations=2",
            "VERDICT: PASS scenario=s seed=x iterations=2 elapsed_us=3",
            "VERDICT: PASS scenario=s seed=+1 iterations=2 elapsed_us=3",
            "VERDICT: PASS scenario=s seed=1 iterations=4294967296 elapsed_us=3",
            "VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3 reason=x",
            "VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3 a=1 a=2",
            "VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3 a",
            "VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3 A=1",
            "VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3 a=\\q",
            "VERDICT: FAIL scenario=s seed=1 iterations=2 elapsed_us=3",
            "VERDICT: FAIL scenario=s seed=1 iterations=2 elapsed_us=3 x=1 reason=r",
            "VERDICT: ERROR scenario=s seed=1 iterations=2 elapsed_us=3\n\n",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn too_many_fields_do_not_parse() {
        let mut s = String::from("VERDICT: PASS scenario=s seed=1 iterations=2 elapsed_us=3");
        for i in 0..MAX_FIELDS - 4 {
            s += &std::format!(" k{i}=1");
        }
        assert!(parse(&s).is_some());
        s += " one=more";
        assert!(parse(&s).is_none());
    }

    #[test]
    fn names() {
        for (o, n) in [
            (Outcome::Pass, "PASS"),
            (Outcome::Fail, "FAIL"),
            (Outcome::Error, "ERROR"),
        ] {
            assert_eq!((o.name(), Outcome::from_name(n)), (n, Some(o)));
            assert_eq!(std::format!("{o}"), n);
        }
        assert_eq!(Outcome::from_name("pass"), None);
        assert_eq!(
            std::format!("{} {}", hex(0u8), Hex(u64::MAX)),
            "0x0 0xffffffffffffffff"
        );
    }
}
