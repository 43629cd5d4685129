//! Boot once, run many: jobs that differ only in their seed go to one
//! batch boot (`run-qemu.sh --runs N --seed-step K`, docs/campaigns.md),
//! and each `RUN:` line it prints becomes that run's [`Record`], the same
//! record a boot of its own would have given.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a batch boot's progress is looked at.
const WATCH: Duration = Duration::from_millis(100);

use crate::exit::Exit;
use crate::{record_from, stop, Job, Record, Setup, ONCE_PER_SEED};

/// Jobs one boot runs: the same scenario, mode, delay and iterations, seeds
/// `first, first + seed_step, ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub jobs: Vec<Job>,
    pub seed_step: u64,
}

impl Batch {
    /// A batch of one job: an ordinary boot.
    pub fn single(job: Job) -> Batch {
        Batch {
            jobs: vec![job],
            seed_step: 1,
        }
    }
}

/// Whether runs of `job` with run-qemu.sh options `extra` may share a boot:
/// the kernel batches the channel-I/O scenarios on one CPU only (not
/// `conformance`, a second CPU, `measure=1`), and an injection or gdb
/// acts on one run.
pub fn batchable(job: &Job, extra: &[String]) -> bool {
    let boot_bound = ["--cpus", "--inject", "--gdb", "--vfio-ccw"];
    !ONCE_PER_SEED.contains(&job.scenario.as_str())
        && job.scenario != "selftest"
        && !extra.iter().any(|a| {
            boot_bound.contains(&a.as_str()) || a.contains("measure=1") || a.contains("cpus=")
        })
}

/// `jobs` in batches of at most `max` runs, in the order of the first job
/// of each: jobs that agree in everything but the seed, with seeds in
/// steps of one distance, go together; the rest boot alone.
pub fn batches(jobs: Vec<Job>, max: usize, extra: &[String]) -> Vec<Batch> {
    let max = max.max(1);
    let mut open: Vec<Batch> = Vec::new();
    let mut done: Vec<(usize, Batch)> = Vec::new();
    let mut order = 0usize;
    let mut firsts: Vec<usize> = Vec::new();
    for job in jobs {
        if max == 1 || !batchable(&job, extra) {
            done.push((order, Batch::single(job)));
            order += 1;
            continue;
        }
        let joins = open.iter().position(|b| {
            let last = b.jobs.last().expect("batches are never empty");
            let same = Job {
                seed: job.seed,
                ..last.clone()
            } == job;
            let step = job.seed.checked_sub(last.seed);
            same && step.is_some_and(|s| s > 0 && (b.jobs.len() == 1 || s == b.seed_step))
        });
        match joins {
            Some(i) => {
                let b = &mut open[i];
                if b.jobs.len() == 1 {
                    b.seed_step = job.seed - b.jobs[0].seed;
                }
                b.jobs.push(job);
                if b.jobs.len() == max {
                    done.push((firsts.remove(i), open.remove(i)));
                }
            }
            None => {
                open.push(Batch::single(job));
                firsts.push(order);
                order += 1;
            }
        }
    }
    done.extend(firsts.into_iter().zip(open));
    done.sort_by_key(|(o, _)| *o);
    done.into_iter().map(|(_, b)| b).collect()
}

/// What one boot of a batch gave: a record per run that ended, and the jobs
/// it did not reach (after a FAIL or ERROR stopped it, or the host side
/// ended it), to run again. A run that was under way when the boot ended
/// without its run line is an ERROR record with what the boot left, unless
/// the boot was stopped by an interruption of the runner: then it is
/// `interrupted`.
#[derive(Debug, Default)]
pub struct Outcome {
    pub records: Vec<Record>,
    pub unrun: Vec<Job>,
    pub interrupted: Option<Job>,
}

/// Reads a batch boot's console: each `RUN:` line ends the run it names
/// (parsed with [`gate::verdict::parse_run`]); the lines since the previous
/// one are its console. `on_record` gets each record as its line arrives.
pub struct Reader<'a> {
    setup: &'a Setup,
    batch: &'a Batch,
    since: Vec<String>,
    pub records: Vec<Record>,
    last: Instant,
}

impl<'a> Reader<'a> {
    pub fn new(setup: &'a Setup, batch: &'a Batch, started: Instant) -> Self {
        Reader {
            setup,
            batch,
            since: Vec::new(),
            records: Vec::new(),
            last: started,
        }
    }

    /// One console line, at `now`; the record it completes, if any.
    pub fn line(&mut self, line: &str, now: Instant) -> Option<Record> {
        let line = line.trim_end_matches(['\r', '\n']);
        let Some((run, parsed)) = gate::verdict::parse_run(line) else {
            self.since.push(line.to_string());
            return None;
        };
        let next = self.records.len();
        let job = self.batch.jobs.get(next)?;
        let wall_ms = now.duration_since(self.last).as_millis() as u64;
        self.last = now;
        let lines: Vec<&str> = self.since.iter().map(String::as_str).collect();
        let matches = run as usize == next + 1
            && parsed.get("scenario") == Some(job.scenario.as_str())
            && parsed.get_u64("seed") == Some(job.seed);
        let r = if matches {
            let exit = Exit::of_run(parsed.outcome).run_code();
            record_from(
                self.setup,
                job,
                Some((line, parsed)),
                exit,
                &lines,
                "",
                wall_ms,
            )
        } else {
            let why = format!("ccwgate: ERROR: batch run line out of order: {line}");
            let exit = Exit::Error.run_code();
            record_from(self.setup, job, None, exit, &lines, &why, wall_ms)
        };
        self.since.clear();
        self.records.push(r.clone());
        Some(r)
    }

    /// The boot ended with `exit` and `stderr`: the records, the run under
    /// way (if any) and the jobs not reached.
    pub fn end(mut self, exit: i32, stderr: &str, stopped: bool, now: Instant) -> Outcome {
        let done = self.records.len();
        let mut rest = self.batch.jobs[done..].iter().cloned();
        let mut out = Outcome::default();
        // The boot's own verdict line: a batch that ended as the kernel
        // meant names its last run (or it stopped before one began).
        let verdict = self
            .since
            .iter()
            .rev()
            .find_map(|l| gate::verdict::parse(l).map(|p| p.get_u64("runs")));
        let clean_end =
            Exit::is_run_outcome(exit) && verdict == Some(Some(done as u64)) && done > 0;
        if !clean_end {
            if let Some(job) = rest.next() {
                if stopped {
                    out.interrupted = Some(job);
                } else {
                    // The boot ended inside this run: an ERROR with what it left.
                    let lines: Vec<&str> = self.since.iter().map(String::as_str).collect();
                    let wall_ms = now.duration_since(self.last).as_millis() as u64;
                    let exit = if Exit::is_judged_run(exit) {
                        Exit::Error.run_code()
                    } else {
                        exit
                    };
                    let verdict_free: Vec<&str> = lines
                        .iter()
                        .copied()
                        .filter(|l| !l.starts_with("VERDICT: "))
                        .collect();
                    let mut why = stderr.to_string();
                    if why.is_empty() {
                        why = "ccwgate: ERROR: the batch boot ended without this run's line".into();
                    }
                    self.records.push(record_from(
                        self.setup,
                        &job,
                        None,
                        exit,
                        &verdict_free,
                        &why,
                        wall_ms,
                    ));
                }
            }
        }
        out.unrun = rest.collect();
        out.records = self.records;
        out
    }
}

/// Runs `batch` in one boot through run-qemu.sh (a batch of one as an
/// ordinary boot), handing each record to `on_record` the moment its run
/// line arrives.
pub fn run_batch(setup: &Setup, batch: &Batch, on_record: &mut dyn FnMut(&Record)) -> Outcome {
    let first = &batch.jobs[0];
    let n = batch.jobs.len();
    let mut cmd = Command::new(setup.workspace.join("run-qemu.sh"));
    cmd.arg("--kernel")
        .arg(&setup.kernel)
        .args([
            "--scenario",
            &first.scenario,
            "--seed",
            &first.seed.to_string(),
        ])
        .args(["--mode", &first.mode, "--delay", &first.delay])
        .args(["--iterations", &first.iterations.to_string()]);
    let timeout = setup.timeout_s.saturating_mul(n as u32);
    cmd.args(["--timeout", &timeout.to_string()]);
    if n > 1 {
        cmd.args(["--runs", &n.to_string()])
            .args(["--seed-step", &batch.seed_step.to_string()]);
    }
    cmd.args(&setup.extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = match stop::spawn(&mut cmd) {
        Ok(c) => c,
        Err(e) => {
            let why = format!("run-qemu.sh did not start: {e}");
            let mut out = Outcome::default();
            if stop::requested() {
                out.interrupted = Some(first.clone());
            } else {
                out.records
                    .push(record_from(setup, first, None, -1, &[], &why, 0));
            }
            out.unrun = batch.jobs[1..].to_vec();
            return out;
        }
    };
    let pid = child.id();
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = Reader::new(setup, batch, started);
    if n == 1 {
        // An ordinary boot: its verdict line makes the record.
        let mut text = Vec::new();
        let _ = BufReader::new(stdout).read_to_end(&mut text);
        let status = child.wait();
        stop::forget(pid);
        let stderr = err_thread.join().unwrap_or_default();
        let wall_ms = started.elapsed().as_millis() as u64;
        let mut out = Outcome::default();
        if stop::requested() {
            out.interrupted = Some(first.clone());
            return out;
        }
        let exit = status.ok().and_then(|s| s.code()).unwrap_or(-1);
        let r = crate::record(
            setup,
            first,
            exit,
            &String::from_utf8_lossy(&text),
            &stderr,
            wall_ms,
        );
        on_record(&r);
        out.records.push(r);
        return out;
    }
    // Each run gets --timeout of its own: a boot whose next run line is
    // that late is ended here, not only at run-qemu.sh's limit for the
    // whole batch.
    let per_run = Duration::from_secs(u64::from(setup.timeout_s));
    let last = Mutex::new(Instant::now());
    let (done, stalled) = (AtomicBool::new(false), AtomicBool::new(false));
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(WATCH);
                let since = last.lock().map(|t| t.elapsed()).unwrap_or_default();
                if since > per_run && !done.load(Ordering::SeqCst) {
                    stalled.store(true, Ordering::SeqCst);
                    stop::end_group(pid);
                    break;
                }
            }
        });
        let mut lines = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match lines.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    if let Some(r) = reader.line(&line, Instant::now()) {
                        if let Ok(mut t) = last.lock() {
                            *t = Instant::now();
                        }
                        on_record(&r);
                    }
                }
            }
        }
        done.store(true, Ordering::SeqCst);
    });
    let status = child.wait();
    stop::forget(pid);
    let mut stderr = err_thread.join().unwrap_or_default();
    if stalled.load(Ordering::SeqCst) {
        stderr.push_str(&format!(
            "ccwgate: ERROR: timeout: no run line within {}s (--timeout, per run of a batch)\n",
            setup.timeout_s
        ));
    }
    let exit = status.ok().and_then(|s| s.code()).unwrap_or(-1);
    let before = reader.records.len();
    let out = reader.end(exit, &stderr, stop::requested(), Instant::now());
    for r in &out.records[before..] {
        on_record(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{campaign_jobs, SWEEPS};

    fn setup() -> Setup {
        crate::test_setup()
    }

    #[test]
    fn campaign_jobs_batch_by_configuration_with_the_sweep_period_as_step() {
        let jobs = campaign_jobs(1..9, 10, &SWEEPS);
        let all = batches(jobs.clone(), 100, &[]);
        // Seeds 1..9 with four sweeps: two seeds per (scenario, mode, sweep),
        // conformance alone each time.
        assert_eq!(all.iter().map(|b| b.jobs.len()).sum::<usize>(), jobs.len());
        for b in &all {
            let j = &b.jobs[0];
            if j.scenario == "conformance" {
                assert_eq!(b.jobs.len(), 1);
                continue;
            }
            assert_eq!(b.jobs.len(), 2, "{b:?}");
            assert_eq!(b.seed_step, 4);
            for (k, x) in b.jobs.iter().enumerate() {
                assert_eq!(x.seed, j.seed + 4 * k as u64);
                assert_eq!(
                    (&x.scenario, &x.mode, &x.delay),
                    (&j.scenario, &j.mode, &j.delay)
                );
            }
        }
        // Every job once.
        let mut flat: Vec<Job> = all.into_iter().flat_map(|b| b.jobs).collect();
        flat.sort_by_key(|j| jobs.iter().position(|x| x == j));
        assert_eq!(flat, jobs);
        // At most `max`, and 1 means the old way: a boot per run.
        assert!(batches(jobs.clone(), 1, &[])
            .iter()
            .all(|b| b.jobs.len() == 1));
        let b = batches(campaign_jobs(1..100, 10, &["auto"]), 7, &[]);
        assert!(b.iter().all(|b| b.jobs.len() <= 7));
        assert!(b.iter().any(|b| b.jobs.len() == 7 && b.seed_step == 1));
        // What boots once per run stays alone.
        let cpus = vec!["--cpus".to_string(), "both".to_string()];
        assert!(batches(jobs, 100, &cpus).iter().all(|b| b.jobs.len() == 1));
    }

    fn batch(seeds: &[u64]) -> Batch {
        Batch {
            jobs: seeds
                .iter()
                .map(|&seed| Job {
                    scenario: "ssch".into(),
                    seed,
                    mode: "irq".into(),
                    delay: "auto".into(),
                    iterations: 10,
                })
                .collect(),
            seed_step: 2,
        }
    }

    fn feed(b: &Batch, console: &str, exit: i32, stderr: &str, stopped: bool) -> Outcome {
        let s = setup();
        let t = Instant::now();
        let mut r = Reader::new(&s, b, t);
        let mut streamed = 0;
        for l in console.lines() {
            streamed += usize::from(r.line(l, t).is_some());
        }
        let out = r.end(exit, stderr, stopped, t);
        assert!(streamed <= out.records.len());
        out
    }

    const RUN1: &str = "RUN: PASS scenario=ssch seed=1 iterations=10 elapsed_us=5 starts=11 run=1";
    const RUN2_FAIL: &str = "RUN: FAIL scenario=ssch seed=3 iterations=4 elapsed_us=5 reason=bad-status class=bad-status what=x run=2";

    #[test]
    fn run_lines_become_the_records_a_boot_of_their_own_gives() {
        let b = batch(&[1, 3, 5]);
        let console = format!(
            "css: x\n{RUN1}\ntrace: #1 SSCH\nFAIL: bad-status (x)\n{RUN2_FAIL}\n\
VERDICT: FAIL scenario=ssch seed=1 iterations=14 elapsed_us=9 reason=bad-status runs=2 planned=3 passed=1 failed=1 errors=0 first_run=2 first_seed=3\n"
        );
        let out = feed(&b, &console, 1, "", false);
        assert_eq!(out.records.len(), 2);
        let (pass, fail) = (&out.records[0], &out.records[1]);
        assert!(pass.passed());
        assert_eq!((pass.job.seed, pass.iterations_done, pass.exit), (1, 10, 0));
        assert!(fail.failed());
        assert_eq!((fail.job.seed, fail.iterations_done, fail.exit), (3, 5, 1));
        assert_eq!(fail.class.as_deref(), Some("bad-status"));
        assert_eq!(fail.evidence[0], RUN2_FAIL);
        assert!(fail.evidence.iter().any(|l| l == "trace: #1 SSCH"));
        assert!(!pass.evidence.iter().any(|l| l.starts_with("trace:")));
        // The same record as a single boot with that verdict line.
        let single = crate::record(
            &setup(),
            &b.jobs[1],
            1,
            &format!(
                "trace: #1 SSCH\nFAIL: bad-status (x)\n{}\n",
                RUN2_FAIL
                    .replace("RUN: ", "VERDICT: ")
                    .replace(" run=2", "")
            ),
            "",
            0,
        );
        assert_eq!(
            (
                &single.verdict,
                &single.reason,
                &single.class,
                &single.what,
                single.iterations_done
            ),
            (
                &fail.verdict,
                &fail.reason,
                &fail.class,
                &fail.what,
                fail.iterations_done
            )
        );
        // Seed 5 was not reached: to run again.
        assert_eq!(out.unrun, b.jobs[2..]);
        assert_eq!(out.interrupted, None);
    }

    #[test]
    fn a_boot_that_ends_inside_a_run_makes_it_an_error_or_interrupted() {
        let b = batch(&[1, 3, 5]);
        let console = format!("{RUN1}\ntrace: #1 SSCH\n");
        let out = feed(
            &b,
            &console,
            2,
            "run-qemu.sh: ERROR: timeout: no end after 3s",
            false,
        );
        assert_eq!(out.records.len(), 2);
        let e = &out.records[1];
        assert_eq!((e.job.seed, e.verdict.as_str(), e.exit), (3, "ERROR", 2));
        assert_eq!(
            e.reason.as_deref(),
            Some("run-qemu.sh: ERROR: timeout: no end after 3s")
        );
        assert_eq!(out.unrun, b.jobs[2..]);
        // Stopped by the runner's interruption: no verdict on that run.
        let out = feed(&b, &console, 2, "", true);
        assert_eq!(out.records.len(), 1);
        assert_eq!(out.interrupted.as_ref().map(|j| j.seed), Some(3));
        assert_eq!(out.unrun, b.jobs[2..]);
        // A run line that names another run is no record of this one.
        let out = feed(&b, &RUN1.replace("seed=1", "seed=9"), 2, "", false);
        assert_eq!(out.records[0].verdict, "ERROR");
    }
}
