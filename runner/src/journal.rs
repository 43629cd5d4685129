//! `--json FILE` as JSON Lines, written as the runs end: nothing finished
//! is lost when a campaign or soak is stopped, and `--resume FILE` goes on
//! from it.
//!
//! The first line is the plan, `{"ccwgate_plan":{...}}`: what made the
//! jobs (command, seeds, modes, iterations, run-qemu.sh options), so a
//! resumed run makes the same ones. Every further line is one [`Record`],
//! appended and flushed when its run ends. [`load`] reads such a file (a
//! last line cut short by a kill is dropped) and the whole-file JSON of
//! earlier versions (`{"records":[...]}`).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{Job, Record, Results};

/// What made a result file's jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "lowercase")]
pub enum Plan {
    Campaign {
        seeds: u64,
        first_seed: u64,
        shard: Option<(usize, usize)>,
        modes: Vec<String>,
        iterations: u32,
        extra: Vec<String>,
    },
    Soak {
        runs: Option<u64>,
        duration_s: Option<u64>,
        keep_going: bool,
        first_seed: u64,
        scenario: String,
        iterations: u32,
        extra: Vec<String>,
    },
}

impl Plan {
    /// The command that makes such a plan: `campaign` or `soak`.
    pub const fn command(&self) -> &'static str {
        match self {
            Plan::Campaign { .. } => "campaign",
            Plan::Soak { .. } => "soak",
        }
    }

    /// What every run of the plan gets: its iterations and the further
    /// run-qemu.sh options.
    pub fn run_options(&self) -> (u32, &[String]) {
        match self {
            Plan::Campaign {
                iterations, extra, ..
            }
            | Plan::Soak {
                iterations, extra, ..
            } => (*iterations, extra),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    ccwgate_plan: Plan,
}

/// A result file being written.
pub struct Journal {
    file: Mutex<File>,
}

impl Journal {
    /// A new file with `plan` as its first line.
    pub fn create(path: &Path, plan: &Plan) -> Result<Journal, String> {
        let file =
            File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let j = Journal {
            file: Mutex::new(file),
        };
        let header = Header {
            ccwgate_plan: plan.clone(),
        };
        j.line(&serde_json::to_string(&header).expect("plan serialises"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(j)
    }

    /// An existing file, to append to (`--resume`). A last line cut short
    /// by a kill is cut off, so the next record starts a line of its own.
    pub fn append(path: &Path) -> Result<Journal, String> {
        let err = |e: std::io::Error| format!("cannot append to {}: {e}", path.display());
        let text = std::fs::read(path).map_err(err)?;
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let file = OpenOptions::new().append(true).open(path).map_err(err)?;
        if whole < text.len() {
            file.set_len(whole as u64).map_err(err)?;
        }
        Ok(Journal {
            file: Mutex::new(file),
        })
    }

    /// Appends `r` as one line and flushes it.
    pub fn record(&self, r: &Record) -> std::io::Result<()> {
        self.line(&serde_json::to_string(r).expect("records serialise"))
    }

    fn line(&self, text: &str) -> std::io::Result<()> {
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = Vec::with_capacity(text.len() + 1);
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        // One write per line, so a kill leaves whole lines and at most a
        // cut last one.
        f.write_all(&buf)?;
        f.flush()
    }
}

/// A result file read back.
#[derive(Debug, Default)]
pub struct Loaded {
    pub plan: Option<Plan>,
    pub results: Results,
    /// A last line cut short (the writer was killed) was dropped.
    pub cut_short: bool,
}

/// Reads a JSON Lines result file, or the whole-file JSON of earlier
/// versions. A job recorded twice keeps its first record.
pub fn load(text: &str) -> Result<Loaded, String> {
    if let Ok(r) = serde_json::from_str::<Results>(text) {
        return Ok(Loaded {
            plan: None,
            results: r,
            cut_short: false,
        });
    }
    let mut out = Loaded::default();
    let mut seen: HashSet<String> = HashSet::new();
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if let Ok(r) = serde_json::from_str::<Record>(line) {
            if seen.insert(key(&r.job)) {
                out.results.records.push(r);
            }
            continue;
        }
        if let Ok(h) = serde_json::from_str::<Header>(line) {
            if i == 0 {
                out.plan = Some(h.ccwgate_plan);
                continue;
            }
        }
        // Only a last line without its newline may be cut short.
        if i + 1 == lines.len() {
            out.cut_short = true;
            continue;
        }
        return Err(format!(
            "not a ccwgate result file: line {} is no record",
            i + 1
        ));
    }
    if out.plan.is_none() && out.results.records.is_empty() {
        return Err("not a ccwgate result file: no plan and no records".into());
    }
    Ok(out)
}

fn key(j: &Job) -> String {
    format!("{}|{}", j.name(), j.iterations)
}

/// `jobs` less those `done` has records of, in their order.
pub fn remaining(jobs: Vec<Job>, done: &Results) -> Vec<Job> {
    let have: HashSet<String> = done.records.iter().map(|r| key(&r.job)).collect();
    jobs.into_iter()
        .filter(|j| !have.contains(&key(j)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{campaign_jobs, record, Setup, SWEEPS};

    fn setup() -> Setup {
        crate::test_setup()
    }

    const PASS: &str = "VERDICT: PASS scenario=ssch seed=1 iterations=10 elapsed_us=5\n";

    fn plan() -> Plan {
        Plan::Campaign {
            seeds: 2,
            first_seed: 1,
            shard: None,
            modes: vec![],
            iterations: 10,
            extra: vec!["--append".into(), "host=vfio-ccw".into()],
        }
    }

    #[test]
    fn records_are_on_disk_as_each_is_written_and_read_back() {
        let dir = std::env::temp_dir().join(format!("ccwgate-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.jsonl");
        let jobs = campaign_jobs(1..3, 10, &SWEEPS);
        let recs: Vec<Record> = jobs
            .iter()
            .map(|j| record(&setup(), j, 0, PASS, "", 1))
            .collect();
        let j = Journal::create(&path, &plan()).unwrap();
        j.record(&recs[0]).unwrap();
        // On disk at once, while the journal is still open.
        let l = load(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(l.plan, Some(plan()));
        assert_eq!(l.results.records, recs[..1]);
        j.record(&recs[1]).unwrap();
        drop(j);
        // A kill in the middle of a line: that line is dropped, the rest
        // stands, and appending goes on on a line of its own.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&serde_json::to_string(&recs[2]).unwrap()[..40]);
        std::fs::write(&path, &text).unwrap();
        let l = load(&text).unwrap();
        assert!(l.cut_short);
        assert_eq!(l.results.records, recs[..2]);
        let j = Journal::append(&path).unwrap();
        j.record(&recs[2]).unwrap();
        j.record(&recs[0]).unwrap(); // twice: the first one stays
        let l = load(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(l.results.records, recs[..3]);
        assert_eq!(remaining(jobs.clone(), &l.results), jobs[3..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_old_whole_file_json_still_reads() {
        let jobs = campaign_jobs(1..2, 10, &SWEEPS);
        let old = Results {
            records: jobs
                .iter()
                .map(|j| record(&setup(), j, 0, PASS, "", 1))
                .collect(),
        };
        let l = load(&old.to_json()).unwrap();
        assert_eq!((l.plan, l.results), (None, old));
        assert!(load("garbage\n{}\n").is_err());
        assert!(load("").is_err());
    }
}
