//! ccwgate under kvm-unit-tests' own harness, as s390 maintainers run it:
//! the shipped kvm-unit-tests tarball (a test fixture, unmodified) unpacked
//! and configured for s390x, the kernel copied in as `s390x/ccwgate.elf`,
//! `contrib/kvm-unit-tests/unittests.cfg` appended to its stanzas, then
//! `run_tests.sh -g ccwgate` plain and with `-t`. The harness must show
//! PASS for the passing entries, FAIL for a host fault played by the
//! injector (`contrib/kvm-unit-tests/qemu-inject` as its QEMU), SKIP for an
//! entry without a device, and its TAP must pass `prove` with one line per
//! report line.
//!
//! The tarball is looked for as `shared/kvm-unit-tests-1da1819e.tar.gz` in
//! an ancestor of the workspace (or `CCWGATE_KUT_TARBALL`).

use e2e::{kernel, workspace};
use gate::conformance::CHECKS;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TARBALL: &str = "kvm-unit-tests-1da1819e.tar.gz";

/// Entries only this test adds: a host fault and a run without a device.
const TEST_STANZAS: &str = "
[ccwgate-inject-wrong-function]
file = ccwgate.elf
qemu_params = -device virtio-net-ccw
test_args = 'scenario=csch-race iterations=30 io_timeout_ms=300'
groups = ccwgate

[ccwgate-no-device]
file = ccwgate.elf
test_args = 'scenario=mixed'
groups = ccwgate
";

const INJECTED: &str = "ccwgate-inject-wrong-function";

fn tarball() -> PathBuf {
    if let Some(p) = std::env::var_os("CCWGATE_KUT_TARBALL") {
        return PathBuf::from(p);
    }
    workspace()
        .ancestors()
        .map(|d| d.join("shared").join(TARBALL))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the kvm-unit-tests fixture {TARBALL} was not found in shared/ next to any \
                 ancestor of {}; set CCWGATE_KUT_TARBALL to its path",
                workspace().display()
            )
        })
}

/// Every tool the harness and this test need, each missing one named with
/// the package that provides it (./run-tests.sh installs them as root).
fn require_tools() {
    let tools = [
        ("tar", "tar"),
        ("getopt", "util-linux"),
        ("s390x-linux-gnu-gcc", "gcc-s390x-linux-gnu"),
        ("qemu-system-s390x", "qemu-system-misc"),
        ("gdb-multiarch", "gdb-multiarch"),
        ("prove", "perl"),
    ];
    let missing: Vec<String> = tools
        .iter()
        .filter(|(tool, _)| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|(tool, pkg)| format!("{tool} (apt-get install {pkg})"))
        .collect();
    assert!(
        missing.is_empty(),
        "kvm-unit-tests e2e test: missing {}; ./run-tests.sh as root installs them",
        missing.join(", ")
    );
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{cmd:?} exited {:?}:\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An unpacked, configured tree with ccwgate's kernel and stanzas in it.
fn tree(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(tarball())
        .arg("-C")
        .arg(dir));
    let root = dir.join("kvm-unit-tests");
    let configure = run(Command::new("./configure")
        .current_dir(&root)
        .args(["--arch=s390x", "--cross-prefix=s390x-linux-gnu-"]));
    assert!(
        configure.status.success() && root.join("config.mak").is_file(),
        "configure failed:\n{}",
        String::from_utf8_lossy(&configure.stderr)
    );
    std::fs::copy(kernel(), root.join("s390x/ccwgate.elf")).unwrap();
    let cfg = root.join("s390x/unittests.cfg");
    let mut stanzas = std::fs::read_to_string(&cfg).unwrap();
    stanzas.push('\n');
    stanzas.push_str(
        &std::fs::read_to_string(workspace().join("contrib/kvm-unit-tests/unittests.cfg")).unwrap(),
    );
    stanzas.push_str(TEST_STANZAS);
    std::fs::write(&cfg, stanzas).unwrap();
    root
}

/// `run_tests.sh ARGS` in `root`, with the injector as QEMU for the one
/// injected entry; its stdout.
fn run_tests(root: &Path, args: &[&str]) -> String {
    let out = Command::new("./run_tests.sh")
        .current_dir(root)
        .args(args)
        .env(
            "QEMU",
            workspace().join("contrib/kvm-unit-tests/qemu-inject"),
        )
        .env("CCWGATE_INJECT", "wrong-function@10")
        .env("CCWGATE_INJECT_TEST", INJECTED)
        .env("ACCEL", "tcg")
        .env_remove("TIMEOUT")
        .output()
        .expect("run_tests.sh starts");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Colours off: the word after the escape sequence.
    text.replace("\x1b[32m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[0m", "")
}

/// The harness's result word for test `name` in plain output.
fn result_of<'a>(plain: &'a str, name: &str) -> &'a str {
    plain
        .lines()
        .find_map(|l| {
            let (word, rest) = l.split_once(' ')?;
            (rest == name || rest.starts_with(&format!("{name} "))).then_some(word)
        })
        .unwrap_or_else(|| panic!("no result for {name} in:\n{plain}"))
}

#[test]
fn run_tests_sh_shows_pass_fail_and_skip_and_its_tap_passes_prove() {
    require_tools();
    let dir = workspace().join(format!("target/e2e/kut-{}", std::process::id()));
    let root = tree(&dir);

    let plain = run_tests(&root, &["-g", "ccwgate"]);
    for name in [
        "ccwgate-mixed",
        "ccwgate-conformance",
        "ccwgate-csch-race",
        "ccwgate-hsch-race",
    ] {
        assert_eq!(result_of(&plain, name), "PASS", "{name}:\n{plain}");
    }
    assert!(
        plain.contains(&format!(
            "PASS ccwgate-conformance ({} tests)",
            CHECKS.len()
        )),
        "the summary counts every conformance check:\n{plain}"
    );
    assert_eq!(result_of(&plain, INJECTED), "FAIL", "{plain}");
    assert_eq!(result_of(&plain, "ccwgate-no-device"), "SKIP", "{plain}");
    assert!(
        plain.contains("SKIP ccwgate-no-device (1 tests, 1 skipped)"),
        "{plain}"
    );
    let log = std::fs::read_to_string(root.join(format!("logs/{INJECTED}.log"))).unwrap();
    assert!(log.contains("qemu-inject: inject: marker="), "{log}");
    assert!(log.contains("EXIT: STATUS=3"), "{log}");
    // ACCEL=tcg: the vfio-ccw entries (accel = kvm) are the harness's SKIP.
    for name in [
        "ccwgate-vfio-mixed",
        "ccwgate-vfio-csch-race",
        "ccwgate-vfio-hsch-race",
        "ccwgate-vfio-conformance",
    ] {
        assert_eq!(result_of(&plain, name), "SKIP", "{name}:\n{plain}");
    }

    let tap = run_tests(&root, &["-t", "-g", "ccwgate"]);
    let tests: Vec<&str> = tap
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .collect();
    // One TAP line per report line: mixed, csch-race, hsch-race, the
    // injected and the device-less run one each, conformance one per check.
    assert_eq!(tests.len(), 3 + CHECKS.len() + 2, "{tap}");
    assert!(tap.starts_with("TAP version 13\n"), "{tap}");
    assert!(tap.contains(&format!("\n1..{}\n", tests.len())), "{tap}");
    let not_ok: Vec<&&str> = tests.iter().filter(|l| l.starts_with("not ok")).collect();
    assert_eq!(not_ok.len(), 1, "{tap}");
    assert!(
        not_ok[0].contains(&format!(
            "{INJECTED}: ccwgate: csch-race: wrong-function clear-status-for-start"
        )),
        "{tap}"
    );
    assert!(
        tests.iter().any(
            |l| l.contains("ccwgate-no-device: ccwgate: mixed: no-device") && l.ends_with("# skip")
        ),
        "{tap}"
    );

    // prove reads it: every line parsed, the plan kept, the one injected
    // failure its only failure.
    let file = dir.join("ccwgate.tap");
    std::fs::write(&file, &tap).unwrap();
    let prove = Command::new("prove")
        .args(["-v", "-e", "cat"])
        .arg(&file)
        .output()
        .expect("prove runs");
    let said = String::from_utf8_lossy(&prove.stdout).into_owned()
        + &String::from_utf8_lossy(&prove.stderr);
    assert!(!said.contains("Parse errors"), "{said}");
    assert!(
        said.contains(&format!("Tests: {} Failed: 1", tests.len())),
        "{said}"
    );
    // Without the injected entry the same TAP passes.
    let passing: String = tap
        .lines()
        .filter(|l| !l.starts_with("not ok"))
        .map(|l| {
            if l.starts_with("1..") {
                format!("1..{}\n", tests.len() - 1)
            } else {
                format!("{l}\n")
            }
        })
        .collect::<String>();
    let renumbered = renumber(&passing);
    std::fs::write(&file, renumbered).unwrap();
    let prove = Command::new("prove")
        .args(["-e", "cat"])
        .arg(&file)
        .output()
        .expect("prove runs");
    let said = String::from_utf8_lossy(&prove.stdout).into_owned();
    assert!(
        prove.status.success() && said.contains("Result: PASS"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// TAP test lines numbered 1, 2, ... again.
fn renumber(tap: &str) -> String {
    let mut n = 0;
    tap.lines()
        .map(|l| {
            if let Some(rest) = l.strip_prefix("ok ") {
                n += 1;
                let (_, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                format!("ok {n} {tail}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}
