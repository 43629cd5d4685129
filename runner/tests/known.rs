//! Known open bugs end to end: real kernel, real QEMU, the fault injector
//! playing QEMU's relay (`--inject relay-race`) under `host=vfio-ccw`.

use std::path::{Path, PathBuf};
use std::process::Command;

use ccwgate_runner::Results;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccwgate-known-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn out(cmd: &mut Command) -> Out {
    let o = cmd.output().expect("runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// run-qemu.sh with this test's own `ccwgate` answering `known --check`.
fn run_qemu(args: &[&str]) -> Out {
    out(Command::new(workspace().join("run-qemu.sh"))
        .args(args)
        .env("CCWGATE_BIN", env!("CARGO_BIN_EXE_ccwgate")))
}

fn ccwgate(args: &[&str]) -> Out {
    out(Command::new(env!("CARGO_BIN_EXE_ccwgate")).args(args))
}

#[test]
fn run_qemu_known_holds_the_late_clear_status_apart_and_nothing_else() {
    let known = run_qemu(&[
        "--known",
        "--inject",
        "relay-race",
        "--append",
        "host=vfio-ccw",
    ]);
    assert_eq!(known.code, 0, "{known}");
    let lines: Vec<&str> = known.stdout.lines().collect();
    let verdict = lines
        .iter()
        .position(|l| l.starts_with("VERDICT: FAIL "))
        .unwrap_or_else(|| panic!("no FAIL verdict:\n{known}"));
    assert!(
        lines[verdict].contains(" what=late-clear-status-for-next-start "),
        "{known}"
    );
    assert_eq!(
        lines.last(),
        Some(&"KNOWN: vfio-ccw-late-clear-status"),
        "{known}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("VERDICT: ")).count(),
        1
    );

    // The same with --bisect: a known bug is good (0).
    let bisect = run_qemu(&[
        "--bisect",
        "--known",
        "--inject",
        "relay-race",
        "--append",
        "host=vfio-ccw",
    ]);
    assert_eq!(bisect.code, 0, "{bisect}");

    // Without --known: the FAIL it always was.
    let plain = run_qemu(&["--inject", "relay-race", "--append", "host=vfio-ccw"]);
    assert_eq!(plain.code, 1, "{plain}");
    assert!(!plain.stdout.contains("KNOWN:"), "{plain}");

    // Another class is new: still 1, no KNOWN line.
    let new = run_qemu(&[
        "--known",
        "--inject",
        "intparm",
        "--append",
        "host=vfio-ccw",
    ]);
    assert_eq!(new.code, 1, "{new}");
    assert!(new.stdout.contains("class=intparm-mismatch"), "{new}");
    assert!(!new.stdout.contains("KNOWN:"), "{new}");
}

#[test]
fn bisect_what_is_bad_only_for_that_symptom() {
    let base = [
        "--bisect",
        "--inject",
        "relay-race",
        "--append",
        "host=vfio-ccw",
    ];
    let that = run_qemu(&[&base[..], &["--what", "late-clear-status-for-next-start"]].concat());
    assert_eq!(that.code, 1, "{that}");
    let other = run_qemu(&[&base[..], &["--what", "clear-status-for-start"]].concat());
    assert_eq!(other.code, 125, "{other}");
    let error = run_qemu(&["--bisect", "--what", "x", "--append", "bogus=1"]);
    assert_eq!(error.code, 125, "{error}");
    let pass = run_qemu(&["--bisect", "--what", "x", "--iterations", "20"]);
    assert_eq!(pass.code, 0, "{pass}");
}

#[test]
fn a_bad_known_file_is_an_error_before_anything_runs() {
    let bad = tmp("bad.toml");
    std::fs::write(&bad, "[[bug]]\nid = \"x\"\n").unwrap();
    let run = run_qemu(&[&format!("--known={}", bad.display()), "--dry-run"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("not a valid known-bugs file"), "{run}");
    let check = ccwgate(&["known", "--file", bad.to_str().unwrap()]);
    assert_eq!(check.code, 2, "{check}");
}

/// The runner's reports of a known FAIL. On the emulated device the
/// runner's delay sweeps make the injected relay end at
/// `start-status-after-clear` (the clear's status taken as the start's);
/// a known-bugs file of this test's own lists that signature, and the
/// shipped file does not.
#[test]
fn the_runner_shows_a_known_fail_in_junit_tap_and_json() {
    let shipped = std::fs::read_to_string(workspace().join("known-bugs.toml")).unwrap();
    let file = tmp("known.toml");
    let entry = shipped
        .split("[[bug]]")
        .nth(1)
        .unwrap()
        .replace(
            "vfio-ccw-late-clear-status",
            "test-start-status-after-clear",
        )
        .replace(
            "late-clear-status-for-next-start",
            "start-status-after-clear",
        );
    std::fs::write(&file, format!("[[bug]]{entry}")).unwrap();
    let (json, junit) = (tmp("k.json"), tmp("k.xml"));
    let soak = |known: &str| {
        ccwgate(&[
            "soak",
            "--runs",
            "1",
            "--scenario",
            "csch-race",
            "--iterations",
            "30",
            known,
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--",
            "--inject",
            "relay-race",
            "--append",
            "host=vfio-ccw",
        ])
    };
    let run = soak(&format!("--known={}", file.display()));
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("0 passed, 0 failed, 0 errors, 1 known"),
        "{run}"
    );
    let results = Results::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &results.records[0];
    assert_eq!(r.verdict, "FAIL");
    assert_eq!(r.known.as_deref(), Some("test-start-status-after-clear"));
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.contains("\"known\": \"test-start-status-after-clear\""),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<skipped message=\"known: test-start-status-after-clear\">"),
        "{xml}"
    );
    assert!(
        xml.contains("signature: vfio-ccw/wrong-function/start-status-after-clear"),
        "{xml}"
    );
    let tap = ccwgate(&["merge", json.to_str().unwrap(), "--tap"]);
    assert!(
        tap.stdout
            .contains(" FAIL # TODO known: test-start-status-after-clear\n"),
        "{tap}"
    );
    assert_eq!(tap.code, 0, "{tap}");

    // The shipped file does not list it: a FAIL.
    let run = soak("--known");
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("0 passed, 1 failed, 0 errors"), "{run}");
}
