//! Names from one source: scenario, mode, class, deviation and option
//! names are defined once, in gate, and `ccwgate list KIND` prints them.
//! run-qemu.sh (shell) and the injector (gdb Python) cannot link gate, so
//! they keep copies; these tests hold every copy, and README's tables, to
//! what `ccwgate list` prints, and fail naming the copy that differs.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use gate::cmdline::PARM_AREA_LEN;

fn list(kind: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args(["list", kind])
        .output()
        .expect("ccwgate runs");
    assert!(out.status.success(), "ccwgate list {kind}: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn read(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn set<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> BTreeSet<String> {
    names.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

/// `text` from just after `start` up to the first `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
    &text[from..from + len]
}

/// The words of a list like `a | b | c` or `a b\n c`.
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| c == '|' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The double-quoted strings in `s`.
fn quoted(s: &str) -> Vec<&str> {
    s.split('"').skip(1).step_by(2).collect()
}

/// The first column's code spans of the Markdown table whose header row
/// starts with `header`.
fn table_column(md: &str, header: &str) -> Vec<String> {
    let rows = md
        .lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    rows.filter_map(|r| r.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn run_qemu_sh_lists_gates_scenarios_and_modes() {
    let sh = read("run-qemu.sh");
    let scenarios = words(between(&sh, "--scenario NAME", "(default"));
    assert_eq!(
        scenarios,
        list("scenarios"),
        "run-qemu.sh --help: --scenario"
    );
    let modes = words(between(&sh, "--mode MODE", ":"));
    assert_eq!(modes, list("modes"), "run-qemu.sh --help: --mode");
}

#[test]
fn run_qemu_sh_injects_gates_classes() {
    let sh = read("run-qemu.sh");
    let classes = words(between(&sh, "classes=\"", "\""));
    assert_eq!(classes, list("injections"), "run-qemu.sh: classes=");
    // Every name a `case "$inject_class" in` pattern tests is one of them.
    let known = set(list("injections"));
    let mut tested = 0;
    for block in sh.split("case \"$inject_class\" in").skip(1) {
        let block = &block[..block.find("esac").unwrap()];
        let patterns = block
            .lines()
            .filter_map(|l| l.trim().split_once(')'))
            .map(|(p, _)| p)
            .filter(|p| !p.starts_with('#') && !p.contains(char::is_whitespace));
        for pattern in patterns {
            for name in pattern.split('|').filter(|n| *n != "*") {
                assert!(
                    known.contains(name),
                    "run-qemu.sh: case {name}) is no injection"
                );
                tested += 1;
            }
        }
    }
    assert!(
        tested >= 7,
        "run-qemu.sh: {tested} names in inject_class cases"
    );
}

#[test]
fn run_qemu_sh_writes_only_gates_keys_and_knows_the_area() {
    let sh = read("run-qemu.sh");
    let keys = set(list("options"));
    let written: Vec<&str> = sh
        .split("append+=(")
        .skip(1)
        .filter_map(|s| s.trim_start_matches('"').split_once('='))
        .map(|(k, _)| k)
        .collect();
    assert!(written.len() >= 9, "{written:?}");
    for k in written {
        assert!(
            keys.contains(k),
            "run-qemu.sh writes {k}=, which the kernel does not take"
        );
    }
    let limit = format!("-lt {PARM_AREA_LEN} ] || die");
    assert!(
        sh.contains(&limit),
        "run-qemu.sh: the command-line limit is {limit}"
    );
    let said = format!("the limit is {}", PARM_AREA_LEN - 1);
    assert!(sh.contains(&said), "run-qemu.sh: {said}");
    let ld = read("linker.ld");
    assert!(
        ld.contains(&format!("0x10480 + {PARM_AREA_LEN},")),
        "linker.ld: .parm is PARM_AREA_LEN bytes"
    );
}

#[test]
fn the_injector_plays_gates_classes() {
    let py = read("inject/ccwgate_inject.py");
    let classes = quoted(between(&py, "\nCLASSES = (", "\n)"));
    assert_eq!(classes, list("injections"), "ccwgate_inject.py: CLASSES");
    // Each is acted on, by a `CLASS == "name"` or `CLASS in ("a", "b")`.
    let mut acted = BTreeSet::new();
    for part in py.split("CLASS == ").skip(1) {
        acted.extend(quoted(part).into_iter().take(1).map(str::to_owned));
    }
    for part in py.split("CLASS in (").skip(1) {
        acted.extend(
            quoted(&part[..part.find(')').unwrap()])
                .into_iter()
                .map(str::to_owned),
        );
    }
    assert_eq!(
        acted,
        set(list("injections")),
        "ccwgate_inject.py: the CLASS tests"
    );
}

#[test]
fn readme_tables_name_gates_scenarios_classes_and_deviations() {
    let md = read("README.md");
    assert_eq!(
        table_column(&md, "| name |"),
        list("scenarios"),
        "README: Scenarios"
    );
    assert_eq!(
        set(table_column(&md, "| class |")),
        set(list("classes")),
        "README: What ccwgate detects"
    );
    assert_eq!(
        table_column(&md, "| deviation |"),
        list("deviations"),
        "README: Host profiles"
    );
    let limit = format!("over {} bytes", PARM_AREA_LEN - 1);
    assert!(md.contains(&limit), "README: a command line {limit}");
}

#[test]
fn every_kind_lists_something_distinct() {
    for kind in ccwgate_runner::NAME_KINDS {
        let names = list(kind);
        assert!(!names.is_empty(), "{kind}");
        assert_eq!(set(&names).len(), names.len(), "{kind} repeats a name");
    }
    assert_eq!(list("modes"), ccwgate_runner::MODES);
    let scenarios = list("scenarios");
    assert!(ccwgate_runner::SCENARIOS
        .iter()
        .all(|s| scenarios.contains(&s.to_string())));
}
