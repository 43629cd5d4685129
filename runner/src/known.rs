//! Known open upstream bugs (`known-bugs.toml`): FAILs whose signature is
//! listed are held apart from new ones.
//!
//! A signature is the verdict's profile (its `host=` field, `strict` when
//! absent), `class` and `what`; a FAIL matches an entry when all three are
//! equal. `run-qemu.sh --known` asks [`KnownBugs::check_console`] through
//! `ccwgate known --check`, the runner's `--known` asks
//! [`KnownBugs::matching`] for each record.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Record, Results};
use ccwgate_stats::{compare_rates, Better, Proportion};

/// The file's name in the workspace, the default of every `--known`.
pub const FILE: &str = "known-bugs.toml";

/// One known bug.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownBug {
    pub id: String,
    pub summary: String,
    pub profile: String,
    pub class: String,
    pub what: String,
    /// The upstream functions involved.
    pub functions: Vec<String>,
    /// Since which version it is open.
    pub since: String,
    /// The command that shows it (the model's), and what it gave.
    pub evidence: String,
    pub rate: String,
    /// The real stack's command that shows it (`run-qemu.sh --nested`,
    /// nested/README.md) and what it gave; absent where the real stack has
    /// not shown it.
    #[serde(default)]
    pub real_evidence: Option<String>,
    #[serde(default)]
    pub real_rate: Option<String>,
    /// Where it is explained.
    pub docs: String,
}

impl KnownBug {
    /// `profile/class/what`.
    pub fn signature(&self) -> String {
        signature(&self.profile, &self.class, &self.what)
    }

    /// The evidence as one text: for JUnit and `--list`.
    pub fn describe(&self) -> String {
        let real = match (&self.real_evidence, &self.real_rate) {
            (Some(e), Some(r)) => format!("\nreal stack: {e} -> {r}"),
            (Some(e), None) => format!("\nreal stack: {e}"),
            _ => String::new(),
        };
        format!(
            "known: {} ({})\nsignature: {}\nsince: {}\nupstream: {}\nevidence: {} -> {}{real}\ndocs: {}",
            self.id,
            self.summary,
            self.signature(),
            self.since,
            self.functions.join("; "),
            self.evidence,
            self.rate,
            self.docs
        )
    }
}

pub fn signature(profile: &str, class: &str, what: &str) -> String {
    format!("{profile}/{class}/{what}")
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownBugs {
    #[serde(default, rename = "bug")]
    pub bugs: Vec<KnownBug>,
}

impl KnownBugs {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bugs: KnownBugs = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, b) in bugs.bugs.iter().enumerate() {
            for (field, v) in [
                ("id", &b.id),
                ("profile", &b.profile),
                ("class", &b.class),
                ("what", &b.what),
            ] {
                if v.is_empty() || v.contains(char::is_whitespace) {
                    return Err(format!("entry {}: {field} must be one word", i + 1));
                }
            }
            if bugs.bugs[..i].iter().any(|o| o.id == b.id) {
                return Err(format!("entry {}: id {} is listed twice", i + 1, b.id));
            }
            if bugs.bugs[..i]
                .iter()
                .any(|o| o.signature() == b.signature())
            {
                return Err(format!(
                    "entry {}: signature {} is listed twice",
                    i + 1,
                    b.signature()
                ));
            }
        }
        Ok(bugs)
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The entry whose signature a FAIL with these fields has.
    pub fn matching(&self, profile: &str, class: &str, what: &str) -> Option<&KnownBug> {
        self.bugs
            .iter()
            .find(|b| b.profile == profile && b.class == class && b.what == what)
    }

    /// The entry a verdict line matches: only a FAIL with class and what.
    pub fn matching_verdict(&self, line: &str) -> Option<&KnownBug> {
        let v = gate::verdict::parse(line)?;
        if v.outcome != gate::verdict::Outcome::Fail {
            return None;
        }
        self.matching(
            v.get("host").unwrap_or("strict"),
            v.get("class")?,
            v.get("what")?,
        )
    }

    /// The entry the one verdict line of a run's console matches (none if
    /// the console has no verdict line or several).
    pub fn check_console(&self, console: &str) -> Option<&KnownBug> {
        let mut verdicts = console
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| l.starts_with("VERDICT: "));
        let line = verdicts.next()?;
        if verdicts.next().is_some() {
            return None;
        }
        self.matching_verdict(line)
    }
}

/// The signature (`profile/class/what`) of a FAIL record, from its
/// verdict line (the first line of its evidence).
pub fn record_signature(r: &Record) -> Option<String> {
    if r.verdict != "FAIL" {
        return None;
    }
    let line = r.evidence.first()?;
    let v = gate::verdict::parse(line)?;
    Some(signature(
        v.get("host").unwrap_or("strict"),
        r.class.as_deref()?,
        r.what.as_deref()?,
    ))
}

/// Marks `r` as the known bug its FAIL's signature is, if any, and adds the
/// bug's evidence to its own.
pub fn mark(r: &mut Record, bugs: &KnownBugs) {
    let Some(line) = r.evidence.first().filter(|_| r.verdict == "FAIL") else {
        return;
    };
    if let Some(b) = bugs.matching_verdict(line) {
        r.known = Some(b.id.clone());
        r.evidence.extend(b.describe().lines().map(str::to_string));
    }
}

/// One signature's FAILs in two result sets.
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureRates {
    pub signature: String,
    pub known: Option<String>,
    pub a: Proportion,
    pub b: Proportion,
    pub better: Better,
}

/// FAILs per iteration of each signature in `a` and `b`, in signature
/// order, each marked with its known bug's id when `bugs` lists it.
pub fn per_signature(
    a: &Results,
    b: &Results,
    bugs: Option<&KnownBugs>,
    alpha: f64,
) -> Vec<SignatureRates> {
    let count = |set: &Results| {
        let mut m = std::collections::BTreeMap::<String, u64>::new();
        for r in &set.records {
            if let Some(s) = record_signature(r) {
                *m.entry(s).or_default() += 1;
            }
        }
        m
    };
    let (ca, cb) = (count(a), count(b));
    let (na, nb) = (a.counts().iterations, b.counts().iterations);
    let mut signatures: Vec<&String> = ca.keys().chain(cb.keys()).collect();
    signatures.sort();
    signatures.dedup();
    signatures
        .into_iter()
        .map(|s| {
            let pa = Proportion::new(ca.get(s).copied().unwrap_or(0).min(na), na);
            let pb = Proportion::new(cb.get(s).copied().unwrap_or(0).min(nb), nb);
            let mut parts = s.splitn(3, '/');
            let (p, c, w) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            SignatureRates {
                signature: s.clone(),
                known: bugs.and_then(|k| k.matching(p, c, w)).map(|b| b.id.clone()),
                a: pa,
                b: pb,
                better: compare_rates(pa, pb, alpha).better,
            }
        })
        .collect()
}

impl SignatureRates {
    /// `compare`'s line for it.
    pub fn line(&self) -> String {
        let rate = |p: &Proportion| {
            let (r, lo, hi) = p.per_million();
            format!("{} ({r:.1} per million [{lo:.1}, {hi:.1}])", p.k)
        };
        let label = match &self.known {
            Some(id) => format!(" known: {id}"),
            None if self.a.k == 0 => " NEW in B".to_string(),
            None => String::new(),
        };
        let verdict = match self.better {
            Better::A => "A fails less often",
            Better::B => "B fails less often",
            Better::CannotTell => "cannot tell",
        };
        format!(
            "signature {}: A {} B {}: {verdict}{label}",
            self.signature,
            rate(&self.a),
            rate(&self.b)
        )
    }
}

/// `--known[=FILE]`: the file given, or the workspace's.
pub fn path(arg: Option<&str>, workspace: &Path) -> PathBuf {
    match arg {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace.join(FILE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> KnownBugs {
        KnownBugs::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(FILE))
            .expect("the shipped known-bugs.toml parses")
    }

    #[test]
    fn the_shipped_file_lists_the_models_findings_under_vfio_ccw() {
        let k = shipped();
        for (class, what) in [
            ("wrong-function", "late-clear-status-for-next-start"),
            ("wrong-function", "late-halt-status-for-next-start"),
            ("ccw-address", "ccw-address-outside-program"),
        ] {
            let b = k.matching("vfio-ccw", class, what).expect(what);
            assert!(!b.functions.is_empty() && !b.since.is_empty() && !b.rate.is_empty());
            assert!(b.evidence.contains("ccwgate-model"), "{b:?}");
            assert!(b.docs.starts_with("docs/known-bugs.md#"), "{b:?}");
            // Where the real stack showed it, its command is the box's.
            if let Some(e) = &b.real_evidence {
                assert!(e.contains("run-qemu.sh --nested"), "{b:?}");
                assert!(b.real_rate.is_some(), "{b:?}");
                assert!(b.describe().contains("\nreal stack: "), "{b:?}");
            }
            // Under host=strict the same FAIL is new.
            assert!(k.matching("strict", class, what).is_none());
        }
    }

    #[test]
    fn the_classes_and_whats_are_the_oracles() {
        let k = shipped();
        for b in &k.bugs {
            assert!(
                gate::oracle::Class::ALL.iter().any(|c| c.name() == b.class),
                "{} is no oracle class",
                b.class
            );
        }
    }

    #[test]
    fn a_fail_verdict_matches_by_profile_class_and_what() {
        let k = shipped();
        let fail = "VERDICT: FAIL scenario=csch-race seed=1 iterations=12 elapsed_us=5 \
                    reason=wrong-function class=wrong-function \
                    what=late-clear-status-for-next-start sid=0x10000 host=vfio-ccw deviations=none";
        assert_eq!(
            k.matching_verdict(fail).map(|b| b.id.as_str()),
            Some("vfio-ccw-late-clear-status")
        );
        let strict = fail.replace(" host=vfio-ccw deviations=none", "");
        assert!(k.matching_verdict(&strict).is_none());
        let other = fail.replace("late-clear-status-for-next-start", "clear-status-for-start");
        assert!(k.matching_verdict(&other).is_none());
        let error =
            "VERDICT: ERROR scenario=csch-race seed=1 iterations=0 elapsed_us=5 reason=no-device";
        assert!(k.matching_verdict(error).is_none());
        let console = format!("log\r\n{fail}\r\nSUMMARY: 1 tests\n");
        assert!(k.check_console(&console).is_some());
        assert!(k.check_console(&format!("{console}{fail}\n")).is_none());
        assert!(k.check_console("no verdict\n").is_none());
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        assert!(KnownBugs::parse("").unwrap().bugs.is_empty());
        let one = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../known-bugs.toml"),
        )
        .unwrap();
        let twice = format!("{one}\n{one}");
        assert!(KnownBugs::parse(&twice)
            .unwrap_err()
            .contains("listed twice"));
        assert!(KnownBugs::parse("[[bug]]\nid = \"x\"\n").is_err());
        let unknown = one.replacen("[[bug]]\n", "[[bug]]\ncolour = \"red\"\n", 1);
        assert!(KnownBugs::parse(&unknown).is_err());
        let spaced = one.replacen("id = \"vfio-ccw-late-clear-status\"", "id = \"a b\"", 1);
        assert!(KnownBugs::parse(&spaced).unwrap_err().contains("one word"));
    }

    fn record(verdict_line: &str, class: Option<&str>, what: Option<&str>) -> Record {
        let v = gate::verdict::parse(verdict_line).unwrap();
        Record {
            job: crate::Job {
                scenario: "csch-race".into(),
                seed: 1,
                mode: "irq".into(),
                delay: "auto".into(),
                iterations: 100,
            },
            verdict: v.outcome.name().into(),
            reason: v.get("reason").map(Into::into),
            class: class.map(Into::into),
            what: what.map(Into::into),
            iterations_done: 100,
            elapsed_us: 1,
            wall_ms: 1,
            exit: crate::exit::Exit::of_run(v.outcome).run_code(),
            evidence: vec![verdict_line.into()],
            qemu_version: String::new(),
            kernel_version: String::new(),
            known: None,
        }
    }

    const LATE: &str = "VERDICT: FAIL scenario=csch-race seed=1 iterations=99 elapsed_us=5 \
        reason=wrong-function class=wrong-function what=late-clear-status-for-next-start \
        host=vfio-ccw deviations=none";
    const NEW: &str = "VERDICT: FAIL scenario=csch-race seed=1 iterations=99 elapsed_us=5 \
        reason=intparm-mismatch class=intparm-mismatch what=intparm-of-other-request \
        host=vfio-ccw deviations=none";
    const PASS: &str = "VERDICT: PASS scenario=csch-race seed=1 iterations=100 elapsed_us=5";

    #[test]
    fn marking_holds_known_fails_apart() {
        let k = shipped();
        let mut late = record(
            LATE,
            Some("wrong-function"),
            Some("late-clear-status-for-next-start"),
        );
        mark(&mut late, &k);
        assert_eq!(late.known.as_deref(), Some("vfio-ccw-late-clear-status"));
        assert!(!late.failed());
        assert!(late.evidence.iter().any(|l| l.starts_with("since: ")));
        let mut new = record(
            NEW,
            Some("intparm-mismatch"),
            Some("intparm-of-other-request"),
        );
        mark(&mut new, &k);
        assert_eq!(new.known, None);
        assert!(new.failed());
        let mut pass = record(PASS, None, None);
        mark(&mut pass, &k);
        assert_eq!(pass.known, None);
        let results = Results {
            records: vec![late.clone(), new, pass],
        };
        let c = results.counts();
        assert_eq!((c.pass, c.fail, c.known, c.error), (1, 1, 1, 0));
        assert!(c.soak_line().ends_with(", 1 known"), "{}", c.soak_line());
        assert!(c.campaign_line(0).contains(" known=1 "));
        // TAP: a TODO; JSON: the id; JUnit: skipped with the evidence.
        assert_eq!(
            late.tap(3).lines().next(),
            Some("not ok 3 - csch-race seed=1 mode=irq delay=auto FAIL # TODO known: vfio-ccw-late-clear-status")
        );
        let json = results.to_json();
        assert!(
            json.contains("\"known\": \"vfio-ccw-late-clear-status\""),
            "{json}"
        );
        assert_eq!(Results::from_json(&json).unwrap(), results);
        let junit = results.to_junit("t");
        assert!(
            junit.contains("<skipped message=\"known: vfio-ccw-late-clear-status\">"),
            "{junit}"
        );
        assert!(junit.contains("since: Linux 5.13"), "{junit}");
    }

    #[test]
    fn compare_rates_each_signature_and_names_new_ones() {
        let k = shipped();
        let late = record(
            LATE,
            Some("wrong-function"),
            Some("late-clear-status-for-next-start"),
        );
        let new = record(
            NEW,
            Some("intparm-mismatch"),
            Some("intparm-of-other-request"),
        );
        let pass = record(PASS, None, None);
        let a = Results {
            records: [vec![late.clone(); 30], vec![pass.clone(); 70]].concat(),
        };
        let b = Results {
            records: [vec![late; 2], vec![new], vec![pass; 97]].concat(),
        };
        let rates = per_signature(&a, &b, Some(&k), 0.05);
        assert_eq!(rates.len(), 2);
        let known = &rates[1];
        assert_eq!(
            known.signature,
            "vfio-ccw/wrong-function/late-clear-status-for-next-start"
        );
        assert_eq!(known.known.as_deref(), Some("vfio-ccw-late-clear-status"));
        assert_eq!((known.a.k, known.b.k), (30, 2));
        assert_eq!(known.better, Better::B);
        assert!(
            known
                .line()
                .ends_with("B fails less often known: vfio-ccw-late-clear-status"),
            "{}",
            known.line()
        );
        let fresh = &rates[0];
        assert_eq!(fresh.known, None);
        assert!(fresh.line().ends_with(" NEW in B"), "{}", fresh.line());
    }

    #[test]
    fn the_default_file_is_the_workspaces() {
        let ws = Path::new("/w");
        assert_eq!(path(None, ws), ws.join(FILE));
        assert_eq!(path(Some(""), ws), ws.join(FILE));
        assert_eq!(path(Some("/x.toml"), ws), PathBuf::from("/x.toml"));
    }
}
