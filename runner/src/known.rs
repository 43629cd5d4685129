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
        format!(
            "known: {} ({})\nsignature: {}\nsince: {}\nupstream: {}\nevidence: {} -> {}\ndocs: {}",
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

    #[test]
    fn the_default_file_is_the_workspaces() {
        let ws = Path::new("/w");
        assert_eq!(path(None, ws), ws.join(FILE));
        assert_eq!(path(Some(""), ws), ws.join(FILE));
        assert_eq!(path(Some("/x.toml"), ws), PathBuf::from("/x.toml"));
    }
}
