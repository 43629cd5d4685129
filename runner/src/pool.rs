//! The thread pool that runs a campaign's, soak's or `bench campaign`'s
//! jobs: workers take [`Batch`]es (runs that share one boot, [`batches`])
//! from one queue, run each with [`run_batch`], and hand every record to
//! the `--json` journal and the [`Reporter`] as its run ends. A stop
//! ([`stop`]) or the caller's `halt` ends it early; the runs a stopped
//! batch did not reach go back to the front of the queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::batch::{batches, run_batch, Batch};
use crate::journal::Journal;
use crate::reporter::Reporter;
use crate::{stop, Job, Record, Setup};

/// How [`run_all`] hands out its jobs.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Jobs taken from the source at a time and grouped into batches (a
    /// finite source: all of them, `usize::MAX`).
    pub chunk: usize,
    /// Runs per boot at most.
    pub batch: usize,
    /// Worker threads, each running one boot at a time.
    pub workers: usize,
    /// Count the jobs a stop left unhanded (only for a finite source: a
    /// soak's may run on for hours).
    pub count_left: bool,
}

/// Worker threads: `jobs`, or the number of CPUs.
pub fn workers(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// Hands out batches: jobs are taken from `source` `chunk` at a time and
/// grouped ([`batches`]); the runs a stopped batch did not reach come back
/// first.
struct Dispatcher<I> {
    source: I,
    chunk: usize,
    batch: usize,
    extra: Vec<String>,
    ready: VecDeque<Batch>,
}

impl<I: Iterator<Item = Job>> Dispatcher<I> {
    fn next(&mut self) -> Option<Batch> {
        if self.ready.is_empty() {
            let jobs: Vec<Job> = self.source.by_ref().take(self.chunk).collect();
            self.ready.extend(batches(jobs, self.batch, &self.extra));
        }
        self.ready.pop_front()
    }

    fn again(&mut self, jobs: Vec<Job>) {
        for b in batches(jobs, self.batch, &self.extra).into_iter().rev() {
            self.ready.push_front(b);
        }
    }

    /// Jobs not handed out (with a finite source).
    fn left(&mut self) -> usize {
        self.ready.iter().map(|b| b.jobs.len()).sum::<usize>() + self.source.by_ref().count()
    }
}

/// What [`run_all`] gave.
#[derive(Debug, Default)]
pub struct Ran {
    /// The finished runs, in the order they ended.
    pub records: Vec<Record>,
    /// Runs under way when a signal stopped the runner.
    pub interrupted: Vec<Job>,
    /// Jobs never handed out because of the stop (`None` unless
    /// [`Shape::count_left`]).
    pub not_run: Option<usize>,
    /// The first failure to write the JSON Lines file.
    pub journal_error: Option<String>,
}

/// Runs the jobs of `source` as `shape` says, each record to `journal` and
/// the reporter as its run ends; `halt` ends it early (soak), as does a
/// signal ([`stop`]).
pub fn run_all(
    setup: &Setup,
    source: impl Iterator<Item = Job> + Send,
    shape: Shape,
    reporter: &Reporter,
    journal: Option<&Journal>,
    halt: impl Fn(&Record) -> bool + Sync,
) -> Ran {
    let queue = Mutex::new(Dispatcher {
        source,
        chunk: shape.chunk.max(1),
        batch: shape.batch,
        extra: setup.extra.clone(),
        ready: VecDeque::new(),
    });
    let out = Mutex::new(Vec::new());
    let interrupted = Mutex::new(Vec::new());
    let journal_error = Mutex::new(None);
    let halted = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..shape.workers.max(1) {
            s.spawn(|| loop {
                if halted.load(Ordering::SeqCst) || stop::requested() {
                    break;
                }
                let Some(b) = queue.lock().expect("queue").next() else {
                    break;
                };
                let ran = run_batch(setup, &b, &mut |r| {
                    if let Some(j) = journal {
                        if let Err(e) = j.record(r) {
                            journal_error
                                .lock()
                                .expect("journal error")
                                .get_or_insert(e.to_string());
                        }
                    }
                    reporter.finished(r);
                    if halt(r) {
                        halted.store(true, Ordering::SeqCst);
                    }
                });
                out.lock().expect("results").extend(ran.records);
                interrupted
                    .lock()
                    .expect("interrupted")
                    .extend(ran.interrupted);
                if !ran.unrun.is_empty() {
                    queue.lock().expect("queue").again(ran.unrun);
                }
            });
        }
    });
    if stop::requested() && !stop::settle() {
        eprintln!("ccwgate: some process of a stopped run did not end after SIGKILL");
    }
    let not_run =
        (shape.count_left && stop::requested()).then(|| queue.lock().expect("queue").left());
    Ran {
        records: out.into_inner().expect("results"),
        interrupted: interrupted.into_inner().expect("interrupted"),
        not_run,
        journal_error: journal_error.into_inner().expect("journal error"),
    }
}
