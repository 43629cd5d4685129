//! Who runs next: the model's only source of interleaving.
//!
//! Every point where the real code can be preempted or run concurrently is
//! a step boundary in [`crate::world`]; at each boundary the world lists the
//! contexts that could take their next step and asks a [`Sched`] to pick one.
//!
//! - [`Sched::Timed`]: a discrete-event schedule. Each context is ready at a
//!   time drawn from the latency distributions; the earliest goes first, so
//!   which interleavings happen, and how often, follows from the latencies.
//!   Fully determined by the seed.
//! - [`Sched::Dfs`]: stateless depth-first enumeration in the manner of
//!   CHESS and loom. A run replays a recorded prefix of choices and then
//!   takes the first option at every new choice point, recording how many
//!   there were; [`Dfs::advance`] moves to the next unexplored branch. The
//!   number of preemptions (switching away from a context that could have
//!   gone on) per run is bounded, as most concurrency bugs need only one or
//!   two, and so is the number of choice points that may branch.
//!
//! The world's choices of data go through the scheduler too
//! ([`Sched::choose`]): a timed run draws them from the world's seeded
//! generator, an enumeration takes each value in turn, as a choice point
//! of its own that costs no preemption. So "every interleaving" covers,
//! for instance, which kind of unsolicited status the device presents.

use gate::rng::Rng;

/// A context that could take a step, as the world offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the context in the world (stable, for replay).
    pub ctx: usize,
    /// When it is ready to run (timed schedule only).
    pub ready_at: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Choice {
    taken: u16,
    options: u16,
}

/// Depth-first enumeration state, kept across runs.
#[derive(Clone, Debug)]
pub struct Dfs {
    path: Vec<Choice>,
    pos: usize,
    preemptions: u32,
    last: Option<usize>,
    /// Preemptions allowed per run.
    pub preemption_bound: u32,
    /// Choice points per run that may branch; later ones take the first
    /// option.
    pub depth_bound: usize,
    /// Runs that reached the depth bound (their tails were not enumerated).
    pub truncated: u64,
    hit_depth: bool,
}

impl Dfs {
    pub fn new(preemption_bound: u32, depth_bound: usize) -> Self {
        Dfs {
            path: Vec::new(),
            pos: 0,
            preemptions: 0,
            last: None,
            preemption_bound,
            depth_bound,
            truncated: 0,
            hit_depth: false,
        }
    }

    /// A schedule that replays `choices` (from [`Dfs::schedule`]) and takes
    /// the first option after them.
    pub fn replay(choices: &[u16], preemption_bound: u32) -> Self {
        let mut d = Dfs::new(preemption_bound, choices.len());
        d.path = choices
            .iter()
            .map(|&taken| Choice {
                taken,
                options: u16::MAX,
            })
            .collect();
        d
    }

    /// Resets the per-run state before a run replays the current path.
    pub fn begin(&mut self) {
        self.pos = 0;
        self.preemptions = 0;
        self.last = None;
        self.hit_depth = false;
    }

    /// Moves to the next unexplored interleaving; false when all are done.
    pub fn advance(&mut self) -> bool {
        if self.hit_depth {
            self.truncated += 1;
        }
        // A run may end before it consumed the whole recorded path (it
        // cannot, being deterministic, unless the model changed): drop the
        // unreached tail.
        self.path.truncate(self.pos);
        while let Some(last) = self.path.last_mut() {
            if last.taken + 1 < last.options {
                last.taken += 1;
                return true;
            }
            self.path.pop();
        }
        false
    }

    /// The choices of the run in progress, for replaying a failure.
    pub fn schedule(&self) -> Vec<u16> {
        self.path[..self.pos].iter().map(|c| c.taken).collect()
    }

    /// A choice point with `options` branches: the recorded branch while
    /// replaying the path, else the first, recording a new choice point
    /// unless the depth bound is reached. One option is no choice.
    fn branch(&mut self, options: usize) -> usize {
        if options == 1 {
            0
        } else if self.pos < self.path.len() {
            let c = self.path[self.pos];
            debug_assert!(
                c.options == u16::MAX || usize::from(c.options) == options,
                "replay diverged"
            );
            self.pos += 1;
            usize::from(c.taken).min(options - 1)
        } else if self.path.len() >= self.depth_bound {
            self.hit_depth = true;
            0
        } else {
            self.path.push(Choice {
                taken: 0,
                options: options as u16,
            });
            self.pos += 1;
            0
        }
    }

    fn pick(&mut self, cands: &[Candidate]) -> usize {
        // The context that ran last goes first: taking option 0 everywhere
        // is the schedule without preemptions.
        let mut order: Vec<usize> = (0..cands.len()).collect();
        if let Some(i) = cands.iter().position(|c| Some(c.ctx) == self.last) {
            order.remove(i);
            order.insert(0, i);
        }
        let last_runnable = self.last.is_some() && cands.iter().any(|c| Some(c.ctx) == self.last);
        // Over the preemption budget only the running context may go on.
        if last_runnable && self.preemptions >= self.preemption_bound {
            order.truncate(1);
        }
        let chosen = order[self.branch(order.len())];
        if last_runnable && Some(cands[chosen].ctx) != self.last {
            self.preemptions += 1;
        }
        self.last = Some(cands[chosen].ctx);
        chosen
    }
}

/// The scheduler a world runs under.
#[derive(Debug)]
pub enum Sched {
    Timed,
    Dfs(Dfs),
}

impl Sched {
    /// Index into `cands` of the context to run next. `cands` is not empty.
    pub fn pick(&mut self, cands: &[Candidate]) -> usize {
        match self {
            // Earliest ready first; ties go to the lower context index, which
            // the world orders so that hardware and interrupts come first.
            Sched::Timed => cands
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| (c.ready_at, c.ctx))
                .map(|(i, _)| i)
                .unwrap_or(0),
            Sched::Dfs(d) => d.pick(cands),
        }
    }

    /// One of `options` values (at least one) of a choice of data: drawn
    /// from `rng` in a timed run (as the world drew it before the
    /// scheduler made the choice), each in turn in an enumeration.
    pub fn choose(&mut self, options: usize, rng: &mut Rng) -> usize {
        match self {
            Sched::Timed => rng.below(options as u32) as usize,
            Sched::Dfs(d) => d.branch(options),
        }
    }

    pub fn is_timed(&self) -> bool {
        matches!(self, Sched::Timed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(ctx: usize, ready_at: u64) -> Candidate {
        Candidate { ctx, ready_at }
    }

    #[test]
    fn timed_takes_the_earliest() {
        let mut s = Sched::Timed;
        assert_eq!(s.pick(&[c(0, 50), c(1, 10), c(2, 30)]), 1);
        assert_eq!(s.pick(&[c(3, 10), c(1, 10)]), 1, "ties by context");
    }

    /// Two contexts of two steps each interleave in C(4,2) = 6 ways.
    #[test]
    fn dfs_enumerates_every_interleaving_once() {
        let mut dfs = Dfs::new(u32::MAX, 64);
        let mut seen = std::collections::BTreeSet::new();
        loop {
            dfs.begin();
            let mut left = [2, 2];
            let mut order = Vec::new();
            while left.iter().any(|&n| n > 0) {
                let cands: Vec<_> = (0..2).filter(|&i| left[i] > 0).map(|i| c(i, 0)).collect();
                let i = cands[dfs.pick(&cands)].ctx;
                left[i] -= 1;
                order.push(i);
            }
            assert!(seen.insert(order), "an interleaving came twice");
            if !dfs.advance() {
                break;
            }
        }
        assert_eq!(seen.len(), 6);
    }

    /// A choice of data branches the enumeration without a preemption: two
    /// contexts of one step each, with a choice of three values between
    /// them, make 2 x 3 runs with no preemption allowed; a timed run draws
    /// the value from the generator.
    #[test]
    fn a_choice_of_data_is_enumerated_without_preemption() {
        let mut dfs = Dfs::new(0, 64);
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = Rng::new(1);
        loop {
            dfs.begin();
            let mut s = Sched::Dfs(dfs);
            let first = [c(0, 0), c(1, 0)][s.pick(&[c(0, 0), c(1, 0)])].ctx;
            let value = s.choose(3, &mut rng);
            assert_eq!(s.choose(1, &mut rng), 0, "one option is no choice");
            let second = 1 - first;
            assert_eq!(s.pick(&[c(second, 0)]), 0);
            let Sched::Dfs(d) = s else { unreachable!() };
            dfs = d;
            assert!(seen.insert((first, value)), "a run came twice");
            if !dfs.advance() {
                break;
            }
        }
        assert_eq!(seen.len(), 6);
        let mut t = Sched::Timed;
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..20 {
            assert_eq!(t.choose(5, &mut a), b.below(5) as usize);
        }
    }

    #[test]
    fn the_preemption_bound_prunes() {
        let count = |bound| {
            let mut dfs = Dfs::new(bound, 64);
            let mut n = 0;
            loop {
                dfs.begin();
                let mut left = [3, 3];
                while left.iter().any(|&n| n > 0) {
                    let cands: Vec<_> = (0..2).filter(|&i| left[i] > 0).map(|i| c(i, 0)).collect();
                    let i = cands[dfs.pick(&cands)].ctx;
                    left[i] -= 1;
                }
                n += 1;
                if !dfs.advance() {
                    return n;
                }
            }
        };
        // No preemption: one context runs to its end, then the other.
        assert_eq!(count(0), 2);
        assert!(count(1) < count(2));
        assert_eq!(count(u32::MAX), 20, "C(6,3)");
    }
}
