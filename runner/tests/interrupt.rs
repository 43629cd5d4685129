//! A campaign stopped by SIGTERM keeps every finished run on disk, leaves
//! no QEMU behind and, resumed, ends as the same campaign run in one go.
//! Real kernel, real QEMU.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ccwgate_runner::journal;
use ccwgate_runner::{Record, Results};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccwgate-interrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const CAMPAIGN: [&str; 7] = [
    "campaign",
    "--seeds",
    "24",
    "--iterations",
    "200",
    "--jobs",
    "2",
];

/// Parent of process `pid`, from /proc.
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces, so after the `)`.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn is_qemu(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().starts_with("qemu-system-s39"))
        .unwrap_or(false)
}

/// A process by id and start time (field 22 of /proc/PID/stat), so that
/// another engineer's QEMU that gets a reused id is not taken for ours;
/// `None` for a zombie, which runs nothing.
fn identity(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After `)`: state is field 3, starttime field 22.
    if rest.first() == Some(&"Z") {
        return None;
    }
    Some((pid, rest.get(19)?.parse().ok()?))
}

/// The QEMU processes descended from `root`.
fn qemus_under(root: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if !is_qemu(pid) {
            continue;
        }
        let mut p = pid;
        for _ in 0..16 {
            match parent(p) {
                Some(q) if q == root => {
                    out.push(pid);
                    break;
                }
                Some(q) if q > 1 => p = q,
                _ => break,
            }
        }
    }
    out
}

fn records(p: &Path) -> usize {
    std::fs::read_to_string(p)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

fn key(r: &Record) -> (ccwgate_runner::Job, String, u64) {
    (r.job.clone(), r.verdict.clone(), r.iterations_done)
}

#[test]
fn sigterm_keeps_the_finished_runs_ends_every_qemu_and_resume_completes_it() {
    let (json, junit) = (tmp("c.jsonl"), tmp("c.xml"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args(CAMPAIGN)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ccwgate runs");
    let pid = child.id();
    // Once some runs are on disk and QEMUs are running: SIGTERM.
    let deadline = Instant::now() + Duration::from_secs(300);
    let qemus = loop {
        let q: Vec<(u32, u64)> = qemus_under(pid).into_iter().filter_map(identity).collect();
        if records(&json) >= 30 && !q.is_empty() {
            break q;
        }
        assert!(Instant::now() < deadline, "the campaign never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the campaign ended before the signal"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Bounded wait for the runner to end.
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            Instant::now() < deadline,
            "ccwgate did not end after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    // Every QEMU it ran is gone, and none is left under it.
    for &(q, started) in &qemus {
        let alive = is_qemu(q) && identity(q) == Some((q, started));
        assert!(!alive, "QEMU {q} outlived the runner");
    }
    // The records so far: whole, parsable, a summary that counts them and
    // says what was interrupted.
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.ends_with('\n'));
    let partial = journal::load(&text).unwrap();
    assert!(!partial.cut_short);
    assert!(partial.plan.is_some());
    let done = partial.results.records.len();
    assert!((30..600).contains(&done), "{done} runs");
    assert!(partial.results.records.iter().all(Record::passed));
    assert!(
        stdout.contains(&format!(
            "campaign: runs={done} pass={done} fail=0 error=0 "
        )),
        "{stdout}"
    );
    assert!(stdout.contains(" interrupted="), "{stdout}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        xml.matches("<testcase").count() - xml.matches("interrupted:").count(),
        done
    );

    // Resumed: the rest, and the file then holds the whole campaign.
    let resumed = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args(["campaign", "--jobs", "2", "--resume"])
        .arg(&json)
        .output()
        .unwrap();
    let rout = String::from_utf8_lossy(&resumed.stdout);
    assert_eq!(resumed.status.code(), Some(0), "{rout}");
    assert!(
        rout.contains("campaign: runs=600 pass=600 fail=0 error=0 "),
        "{rout}"
    );
    let merged = Results::merge(vec![Results::load(
        &std::fs::read_to_string(&json).unwrap(),
    )
    .unwrap()]);
    assert_eq!(merged.records.len(), 600);

    // The same campaign in one go gives the same records.
    let whole = tmp("whole.jsonl");
    let one = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args(CAMPAIGN)
        .arg("--json")
        .arg(&whole)
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(0));
    // (The file holds records as runs ended; merge puts them in order.)
    let whole = Results::merge(vec![Results::load(
        &std::fs::read_to_string(&whole).unwrap(),
    )
    .unwrap()]);
    let a: Vec<_> = merged.records.iter().map(key).collect();
    let b: Vec<_> = whole.records.iter().map(key).collect();
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert_eq!((a.len(), differ), (b.len(), 0), "resumed and whole differ");
}

#[test]
fn a_soak_stopped_by_sigterm_keeps_its_runs_and_resumes() {
    let json = tmp("soak.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args([
            "soak",
            "--runs",
            "400",
            "--scenario",
            "ssch",
            "--iterations",
            "100",
            "--jobs",
            "2",
        ])
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while records(&json) < 20 {
        assert!(Instant::now() < deadline, "the soak never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the soak ended before the signal"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let done = journal::load(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let n = done.results.records.len();
    assert!(
        stdout.contains(&format!("{n} passed, 0 failed, 0 errors")),
        "{stdout}"
    );
    let resumed = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args(["soak", "--resume"])
        .arg(&json)
        .output()
        .unwrap();
    let rout = String::from_utf8_lossy(&resumed.stdout);
    assert_eq!(resumed.status.code(), Some(0), "{rout}");
    assert!(rout.contains("400 passed, 0 failed, 0 errors"), "{rout}");
    let all = Results::load(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut seeds: Vec<u64> = all.records.iter().map(|r| r.job.seed).collect();
    seeds.sort();
    assert_eq!(seeds, (1..=400).collect::<Vec<_>>());
    // A soak's file does not resume a campaign.
    let wrong = Command::new(env!("CARGO_BIN_EXE_ccwgate"))
        .args(["campaign", "--resume"])
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(2), "{err}");
    assert!(err.contains("a soak's results, not a campaign's"), "{err}");
}

#[test]
fn a_stalled_batch_boot_is_ended_after_one_run_timeout() {
    use ccwgate_runner::batch::{run_batch, Batch};
    use ccwgate_runner::{Job, Setup};
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // QEMU started stopped (-S): the guest never prints a run line.
    let setup = Setup::new(workspace, None, 2, vec!["--".into(), "-S".into()]).unwrap();
    let jobs: Vec<Job> = (1..=3)
        .map(|seed| Job {
            scenario: "ssch".into(),
            seed,
            mode: "irq".into(),
            delay: "auto".into(),
            iterations: 10,
        })
        .collect();
    let batch = Batch {
        jobs: jobs.clone(),
        seed_step: 1,
    };
    let mut streamed = Vec::new();
    let out = run_batch(&setup, &batch, &mut |r| streamed.push(r.clone()));
    // Ended by the per-run limit (2 s), not run-qemu.sh's for the batch (6 s).
    assert_eq!(out.records.len(), 1, "{:?}", out.records);
    let r = &out.records[0];
    assert_eq!((r.job.seed, r.verdict.as_str()), (1, "ERROR"));
    assert!(
        r.reason
            .as_deref()
            .is_some_and(|w| w.contains("no run line within 2s")),
        "{r:?}"
    );
    assert_eq!(out.unrun, jobs[1..]);
    assert_eq!(streamed, out.records);
}
