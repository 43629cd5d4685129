//! The runner end to end: real kernel, real QEMU, through run-qemu.sh.

use std::path::PathBuf;
use std::process::Command;

use ccwgate_runner::{Record, Results};

fn ccwgate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args(args)
        .output()
        .expect("ccwgate runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccwgate-runner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A `--json` file's records in campaign order (the file holds them in
/// the order the runs ended).
fn load(p: &PathBuf) -> Results {
    Results::merge(vec![
        Results::load(&std::fs::read_to_string(p).unwrap()).unwrap()
    ])
}

/// Test cases and failures of a JUnit file, read with an XML reader.
fn junit_counts(p: &PathBuf) -> (usize, usize, Vec<String>) {
    use quick_xml::events::Event;
    let xml = std::fs::read_to_string(p).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut messages) = (0, 0, Vec::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testcase" => cases += 1,
                b"failure" => {
                    failures += 1;
                    for a in e.attributes().flatten() {
                        if a.key.as_ref() == b"message" {
                            messages.push(String::from_utf8_lossy(&a.value).into_owned());
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    (cases, failures, messages)
}

#[test]
fn a_campaign_passes_and_reports_in_json_junit_and_tap() {
    // The bounded false-positive campaign: every scenario, mode and sweep.
    let (json, junit) = (tmp("c.json"), tmp("c.xml"));
    let (rc, out, err) = ccwgate(&[
        "campaign",
        "--seeds",
        "30",
        "--iterations",
        "200",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{out}\n{err}");
    assert!(
        out.contains("campaign: runs=750 pass=750 fail=0 error=0 "),
        "{out}"
    );
    let results = load(&json);
    assert_eq!(results.records.len(), 750);
    assert!(results.records.iter().all(Record::passed));
    let r = &results.records[0];
    assert!(r.qemu_version.starts_with("QEMU emulator version"), "{r:?}");
    assert!(r.kernel_version.starts_with("ccwgate "), "{r:?}");
    assert_eq!(junit_counts(&junit), (750, 0, vec![]));
    // TAP through Perl's harness, summary line and all.
    let (_, tap, _) = ccwgate(&["merge", json.to_str().unwrap(), "--tap"]);
    let (ok, prove_out) = prove_strict(&tap, "c.tap");
    assert!(ok, "{prove_out}");
    assert!(prove_out.contains("Tests=750"), "{prove_out}");
}

/// Perl's harness over `tap` (saved as `name`) with `pragma +strict`, under
/// which a line that is no TAP is a parse error: whether it passed, and
/// what it said.
fn prove_strict(tap: &str, name: &str) -> (bool, String) {
    let strict = tap.replacen("TAP version 13\n", "TAP version 13\npragma +strict\n", 1);
    assert_ne!(strict, tap, "no version line first: {tap}");
    let tap_file = tmp(name);
    std::fs::write(&tap_file, strict).unwrap();
    let prove = Command::new("prove")
        .args(["-e", "cat"])
        .arg(&tap_file)
        .output()
        .expect("prove runs (Debian package perl)");
    let out = String::from_utf8_lossy(&prove.stdout).into_owned();
    (prove.status.success() && !out.contains("Parse errors"), out)
}

#[test]
fn campaign_soak_and_merge_print_strict_tap_with_the_summary_as_a_diagnostic() {
    let json = tmp("tap.json");
    let (rc, campaign, _) = ccwgate(&[
        "campaign",
        "--seeds",
        "1",
        "--iterations",
        "20",
        "--modes",
        "irq",
        "--tap",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{campaign}");
    let (rc, soak, _) = ccwgate(&[
        "soak",
        "--runs",
        "2",
        "--scenario",
        "ssch",
        "--iterations",
        "20",
        "--tap",
    ]);
    assert_eq!(rc, 0, "{soak}");
    let (rc, merge, _) = ccwgate(&["merge", json.to_str().unwrap(), "--tap"]);
    assert_eq!(rc, 0, "{merge}");
    for (name, tap, summary) in [
        ("campaign", &campaign, "# campaign: runs=7 pass=7 "),
        ("soak", &soak, "# 2 passed, 0 failed, 0 errors"),
        ("merge", &merge, "# campaign: runs=7 pass=7 "),
    ] {
        assert!(tap.lines().last().unwrap().starts_with(summary), "{tap}");
        let (ok, out) = prove_strict(tap, &format!("{name}.tap"));
        assert!(ok, "{name}: {out}\n{tap}");
    }
    // The check fails on a bare summary line, as soak printed it before.
    let bare = soak.replace("# 2 passed", "2 passed");
    let (ok, out) = prove_strict(&bare, "bare.tap");
    assert!(!ok && out.contains("Unknown TAP token"), "{out}");
}

#[test]
fn a_broken_host_fails_with_its_evidence() {
    let (json, junit) = (tmp("b.json"), tmp("b.xml"));
    let (rc, out, _) = ccwgate(&[
        "campaign",
        "--seeds",
        "1",
        "--iterations",
        "30",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--",
        "--inject",
        "bad-status@3",
    ]);
    // smoke runs one iteration, so its injection cannot fire: ERROR.
    // conformance does not judge its starts' status (that is the oracle's
    // job in the other scenarios): it passes.
    assert_eq!(rc, 2, "{out}");
    assert!(
        out.contains("campaign: runs=25 pass=1 fail=20 error=4 "),
        "{out}"
    );
    let (cases, failures, messages) = junit_counts(&junit);
    assert_eq!((cases, failures), (25, 20));
    assert!(
        messages.iter().all(|m| m.contains("FAIL bad-status")),
        "{messages:?}"
    );
    let failed = load(&json);
    let f = failed.records.iter().find(|r| r.failed()).unwrap();
    assert!(f.evidence.iter().any(|l| l.starts_with("FAIL:")), "{f:?}");
    // TAP counts the failures too.
    let (_, tap, _) = ccwgate(&["merge", json.to_str().unwrap(), "--tap"]);
    assert_eq!(tap.lines().filter(|l| l.starts_with("not ok")).count(), 24);
}

#[test]
fn merged_shards_equal_the_unsharded_campaign() {
    let key = |r: &Record| (r.job.clone(), r.verdict.clone(), r.iterations_done);
    let mut parts = Vec::new();
    for i in 1..=3 {
        let p = tmp(&format!("s{i}.json"));
        let shard = format!("{i}/3");
        let (rc, out, _) = ccwgate(&[
            "campaign",
            "--seeds",
            "2",
            "--iterations",
            "40",
            "--shard",
            &shard,
            "--json",
            p.to_str().unwrap(),
        ]);
        assert_eq!(rc, 0, "{out}");
        // 2 seeds x 25 runs over 3 shards.
        assert!(
            out.contains("runs=17 ") || out.contains("runs=16 "),
            "{out}"
        );
        parts.push(p);
    }
    let merged = tmp("merged.json");
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--json", merged.to_str().unwrap()]);
    let (rc, out, _) = ccwgate(&args);
    assert_eq!(rc, 0);
    assert!(out.contains("campaign: runs=50 pass=50 "), "{out}");
    let whole = tmp("whole.json");
    let (rc, _, _) = ccwgate(&[
        "campaign",
        "--seeds",
        "2",
        "--iterations",
        "40",
        "--json",
        whole.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0);
    let a: Vec<_> = load(&merged).records.iter().map(key).collect();
    let b: Vec<_> = load(&whole).records.iter().map(key).collect();
    assert_eq!(a, b);
}

/// A campaign on two CPUs with I/O taken on the second, in the modes that
/// allow it, over three subchannels.
#[test]
fn a_campaign_runs_the_chosen_modes_with_extra_options() {
    let p = tmp("cpus.json");
    let (rc, out, err) = ccwgate(&[
        "campaign",
        "--seeds",
        "1",
        "--iterations",
        "40",
        "--modes",
        "irq,wait",
        "--json",
        p.to_str().unwrap(),
        "--",
        "--cpus",
        "io-elsewhere",
        "--devices",
        "3",
        "--devno",
        "all",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    // Six scenarios in two modes, and the conformance checks once.
    assert!(out.contains("campaign: runs=13 pass=13 "), "{out}");
    let r = load(&p);
    assert!(r
        .records
        .iter()
        .all(|r| ["irq", "wait"].contains(&r.job.mode.as_str())));
    let (rc, _, err) = ccwgate(&["campaign", "--modes", "irq,often"]);
    assert_eq!(rc, 2, "{err}");
}

#[test]
fn soak_stops_at_the_first_fail() {
    let (rc, out, _) = ccwgate(&[
        "soak",
        "--runs",
        "40",
        "--scenario",
        "ssch",
        "--iterations",
        "30",
        "--jobs",
        "1",
        "--",
        "--inject",
        "bad-status@3",
    ]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("0 passed, 1 failed, 0 errors"), "{out}");
    assert!(out.contains("first FAIL: ssch seed=1"), "{out}");
    // Without a fault it runs to its limit.
    let (rc, out, _) = ccwgate(&[
        "soak",
        "--runs",
        "6",
        "--scenario",
        "csch-race",
        "--iterations",
        "50",
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("6 passed, 0 failed, 0 errors"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let (rc, _, err) = ccwgate(&["campaign", "--shard", "4/3"]);
    assert_eq!(rc, 2);
    assert!(err.contains("4/3"), "{err}");
    let (rc, _, err) = ccwgate(&["soak", "--scenario", "ssch"]);
    assert_eq!(rc, 2);
    assert!(err.contains("--runs"), "{err}");
    let (rc, _, err) = ccwgate(&["soak", "--duration", "soon", "--runs", "1"]);
    assert_eq!(rc, 2);
    assert!(err.contains("soon"), "{err}");
}

fn hand_made(fails: usize, runs: usize, iterations: u64) -> PathBuf {
    let records = (0..runs)
        .map(|i| {
            let failed = i < fails;
            serde_json::json!({
                "scenario": "csch-race", "seed": i, "mode": "irq", "delay": "auto",
                "iterations": iterations, "verdict": if failed { "FAIL" } else { "PASS" },
                "reason": null, "class": null, "what": null,
                "iterations_done": iterations, "elapsed_us": 0, "wall_ms": 0, "exit": i32::from(failed),
                "evidence": [], "qemu_version": "q", "kernel_version": "k"
            })
        })
        .collect::<Vec<_>>();
    let p = tmp(&format!("h-{fails}-{runs}-{iterations}.json"));
    std::fs::write(&p, serde_json::json!({ "records": records }).to_string()).unwrap();
    p
}

#[test]
fn compare_says_which_host_is_better_or_that_it_cannot_tell() {
    let old = hand_made(40, 200, 1000);
    let new = hand_made(1, 200, 1000);
    let (rc, out, _) = ccwgate(&["compare", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(rc, 0);
    assert!(out.contains("B fails less often than A"), "{out}");
    assert!(out.contains("per million"), "{out}");
    let (_, out, _) = ccwgate(&["compare", new.to_str().unwrap(), old.to_str().unwrap()]);
    assert!(out.contains("A fails less often than B"), "{out}");
    let few_a = hand_made(1, 10, 100);
    let few_b = hand_made(2, 10, 100);
    let (_, out, _) = ccwgate(&["compare", few_a.to_str().unwrap(), few_b.to_str().unwrap()]);
    assert!(out.contains("the data cannot tell"), "{out}");
}

#[test]
fn bench_prints_rates_checks_on_and_off_and_sizes() {
    let json = tmp("bench.json");
    let (rc, out, err) = ccwgate(&[
        "bench",
        "--iterations",
        "2000",
        "--repeats",
        "1",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{out}\n{err}");
    for mode in ["irq", "wait", "poll", "tsch"] {
        assert!(out.contains(&format!("ssch       {mode}")), "{out}");
        assert!(out.contains(&format!("csch-race  {mode}")), "{out}");
    }
    assert!(out.contains("boot to verdict (selftest)"), "{out}");
    assert!(out.contains("bytes text+data"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 16);
    assert!(cells
        .iter()
        .all(|c| c["guest"]["median"].as_f64().unwrap() > 0.0));
    assert!(report["size"]["loaded"].as_u64().unwrap() > 10_000);
    // The C loop must exist if named.
    let (rc, _, err) = ccwgate(&["bench", "--peer", "/nonexistent/ssch-loop.elf"]);
    assert_eq!(rc, 2);
    assert!(err.contains("/nonexistent/ssch-loop.elf"), "{err}");
}

#[test]
fn checks_none_is_refused_outside_bench() {
    for cmd in [
        &["campaign", "--seeds", "1"][..],
        &["soak", "--runs", "1"][..],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--", "--append", "checks=none"]);
        let (rc, _, err) = ccwgate(&args);
        assert_eq!(rc, 2, "{cmd:?}");
        assert!(err.contains("checks=none"), "{err}");
    }
}
