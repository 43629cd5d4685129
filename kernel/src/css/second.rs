//! What the second CPU does for the channel subsystem (`cpus=`).
//!
//! - `cpus=io-elsewhere`: CPU 1 enables the I/O subclass (CPU 0 masks it)
//!   and opens its PSW's I/O mask, taking interruptions and collecting
//!   their status, only while CPU 0 waits for status in
//!   [`Channel::next_interruption`](gate::driver::Channel): the gate below.
//!   An interruption is thus never taken, nor its status collected, between
//!   CPU 0's instructions, and the oracle sees instructions and status in
//!   their true order, as with one CPU. (Taking an interruption while
//!   closed and collecting later would pair an old interruption code with
//!   newer status.)
//! - `cpus=both`: CPU 1 runs the instructions CPU 0 posts to it, one at a
//!   time, and posts back the condition code (and a TSCH's IRB). CPU 0
//!   waits for the answer (bounded), so the order stays exact while the
//!   host sees the instructions come from two CPUs.

use super::dma::Checked;
use super::{collect, ISC};
use crate::report;
use crate::rt::clock;
use crate::rt::cpu;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use gate::cmdline::Cpus;
use gate::css::{Cc, Irb};
use gate::oracle::Interruption;
use gate::ring::Ring;
use gate::verdict::Outcome;
use spin::Mutex;

/// How long CPU 0 waits for CPU 1 to answer one instruction, in TOD
/// units: the run's `io_timeout_ms` (at least a second), so a host slow
/// enough to need a longer I/O allowance gives its second CPU's thread one
/// too. Set by [`set_role`].
static ANSWER_TOD: AtomicU64 = AtomicU64::new(0);

/// The shortest allowance for CPU 1's answer.
const MIN_ANSWER_MS: u32 = 1000;

static ROLE: AtomicU8 = AtomicU8::new(0);

fn role() -> Cpus {
    Cpus::ALL[usize::from(ROLE.load(Ordering::SeqCst))]
}

/// Sets what CPU 1 will do and how long it may take to answer; before it
/// is started.
pub fn set_role(cpus: Cpus, io_timeout_ms: u32) {
    let ms = io_timeout_ms.max(MIN_ANSWER_MS);
    ANSWER_TOD.store(clock::us_to_tod(u64::from(ms) * 1000), Ordering::SeqCst);
    let index = Cpus::ALL.iter().position(|&c| c == cpus).unwrap_or(0);
    ROLE.store(index as u8, Ordering::SeqCst);
    if cpus == Cpus::IoElsewhere {
        // Floating I/O interruptions go to a CPU whose CR6 enables them.
        cpu::disable_isc(ISC);
    }
}

/// CPU 1's life after start-up.
pub fn main() -> ! {
    match role() {
        Cpus::IoElsewhere => {
            cpu::enable_isc(ISC);
            loop {
                if OPEN.load(Ordering::SeqCst) {
                    let _gate = GATE.lock();
                    if OPEN.load(Ordering::SeqCst) {
                        cpu::unmask_io();
                        cpu::mask_io();
                        OPENINGS.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
        Cpus::Both | Cpus::One => serve(),
    }
}

// ---- cpus=io-elsewhere ----

/// Whether CPU 0 is waiting for status (CPU 1 may open I/O).
static OPEN: AtomicBool = AtomicBool::new(false);
/// Openings of CPU 1's I/O mask so far.
static OPENINGS: AtomicU32 = AtomicU32::new(0);
/// Held by CPU 1 across each opening of its I/O mask; CPU 0 takes it after
/// clearing OPEN, to know that no opening is still under way.
static GATE: Mutex<()> = Mutex::new(());

/// Status CPU 1 collected, oldest first: a ring of QUEUE entries.
const QUEUE: usize = 16;
static COLLECTED: Mutex<Ring<Interruption, QUEUE>> = Mutex::new(Ring::new());

/// CPU 1's I/O interruption (taken only inside an opening, the gate
/// held): collect the status and queue it for CPU 0.
pub fn on_io_interruption(sid: u32, intparm: u32) {
    let irq = collect(sid, intparm);
    let mut q = COLLECTED.lock();
    if q.push(irq).is_err() {
        drop(q);
        panic!("CPU 1 collected {QUEUE} interruptions CPU 0 never took");
    }
    QUEUED.fetch_add(1, Ordering::AcqRel);
}

/// Entries in COLLECTED, for polling without the lock.
static QUEUED: AtomicU8 = AtomicU8::new(0);

/// The oldest status CPU 1 collected and CPU 0 has not taken.
pub fn take() -> Option<Interruption> {
    if QUEUED.load(Ordering::Acquire) == 0 {
        return None;
    }
    let mut q = COLLECTED.lock();
    let irq = q.pop()?;
    QUEUED.fetch_sub(1, Ordering::AcqRel);
    Some(irq)
}

/// CPU 0 waits for status from CPU 1 until `deadline`.
///
/// As with one CPU, where each wait opens I/O at least once, the wait does
/// not end empty before CPU 1 completed one opening that began after CPU 0
/// opened the gate: an interruption already pending is always taken, even
/// by a wait whose deadline has passed (the drain between iterations).
pub fn wait(deadline: u64) -> Option<Interruption> {
    if let Some(irq) = take() {
        return Some(irq);
    }
    let before = OPENINGS.load(Ordering::SeqCst);
    OPEN.store(true, Ordering::SeqCst);
    let unresponsive = deadline.max(clock::tod()) + ANSWER_TOD.load(Ordering::Relaxed);
    let got = loop {
        if let Some(irq) = take() {
            break Some(irq);
        }
        let now = clock::tod();
        if now >= deadline && OPENINGS.load(Ordering::SeqCst) != before {
            break None;
        }
        if now >= unresponsive {
            unresponsive_cpu();
        }
    };
    OPEN.store(false, Ordering::SeqCst);
    drop(GATE.lock());
    // Status CPU 1 collected in its last opening is queued by now.
    got.or_else(take)
}

// ---- cpus=both ----

#[derive(Clone, Copy)]
pub enum Work {
    Ssch { sid: u32, orb: Checked },
    Csch { sid: u32 },
    Hsch { sid: u32 },
    Tsch { sid: u32 },
}

/// The mailbox between the CPUs: [`STATE`] says whose turn it is, and
/// only that CPU touches the contents, so each side polls one byte with
/// plain loads instead of contending for a lock.
static STATE: AtomicU8 = AtomicU8::new(EMPTY);
const EMPTY: u8 = 0;
const REQUEST: u8 = 1;
const DONE: u8 = 2;
static WORK: Mutex<Option<Work>> = Mutex::new(None);
static ANSWER: Mutex<(Cc, Irb)> = Mutex::new((Cc::Zero, Irb::ZERO));

/// CPU 1 under `cpus=both`: run each posted instruction, post the answer.
fn serve() -> ! {
    loop {
        if STATE.load(Ordering::Acquire) != REQUEST {
            core::hint::spin_loop();
            continue;
        }
        let Some(work) = WORK.lock().take() else {
            continue;
        };
        let mut irb = Irb::ZERO;
        let cc = match work {
            // SAFETY: as in `Issuer::ssch`: a `Checked` ORB's program and
            // data lie in the member's I/O areas, `Dma` memory for the rest
            // of the run.
            Work::Ssch { sid, orb } => unsafe { super::insn::ssch(sid, orb.orb()) },
            Work::Csch { sid } => super::insn::csch(sid),
            Work::Hsch { sid } => super::insn::hsch(sid),
            Work::Tsch { sid } => super::insn::tsch(sid, &mut irb),
        };
        *ANSWER.lock() = (cc, irb);
        STATE.store(DONE, Ordering::Release);
    }
}

/// Has CPU 1 run `work`: its condition code and (TSCH) IRB. A CPU 1 that
/// does not answer within its allowance ([`set_role`]) ends the run: ERROR
/// `cpu-unresponsive`.
pub fn on_second(work: Work) -> (Cc, Irb) {
    *WORK.lock() = Some(work);
    STATE.store(REQUEST, Ordering::Release);
    let deadline = clock::tod() + ANSWER_TOD.load(Ordering::Relaxed);
    loop {
        if STATE.load(Ordering::Acquire) == DONE {
            STATE.store(EMPTY, Ordering::Relaxed);
            return *ANSWER.lock();
        }
        if clock::tod() >= deadline {
            unresponsive_cpu();
        }
    }
}

/// CPU 1 stopped answering: ERROR `cpu-unresponsive`, naming it.
fn unresponsive_cpu() -> ! {
    report::finish(Outcome::Error, Some("cpu-unresponsive"), &|line| {
        line.field("cpu", crate::rt::smp::SECOND);
    })
}
