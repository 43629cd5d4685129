//! TOD clock, clock comparator and CPU timer: the basis of every bounded wait.
//!
//! TOD-clock bit 51 ticks once per microsecond, so one microsecond is 4096
//! TOD units. All deadlines in ccwgate are absolute TOD values.

use super::cpu;
use super::psw::PswMask;
use core::arch::asm;
use core::sync::atomic::{AtomicU32, Ordering};

pub const TOD_PER_US: u64 = gate::tod::TOD_PER_US;

pub const fn tod_to_us(tod: u64) -> u64 {
    tod / TOD_PER_US
}

pub const fn us_to_tod(us: u64) -> u64 {
    us.saturating_mul(TOD_PER_US)
}

static CLOCK_COMPARATOR_TICKS: AtomicU32 = AtomicU32::new(0);
static CPU_TIMER_TICKS: AtomicU32 = AtomicU32::new(0);

/// Reads the TOD clock.
#[inline]
pub fn tod() -> u64 {
    let mut value = 0u64;
    // SAFETY: STCK stores eight bytes into `value`.
    unsafe { asm!("stck 0({p})", p = in(reg_addr) &mut value, options(nostack)) };
    value
}

fn set_clock_comparator(value: u64) {
    // SAFETY: SCKC loads the comparator from `value`; its interruption is handled.
    unsafe { asm!("sckc 0({p})", p = in(reg_addr) &value, options(nostack)) };
}

fn set_cpu_timer(value: u64) {
    // SAFETY: SPT loads the CPU timer from `value`; its interruption is handled.
    unsafe { asm!("spt 0({p})", p = in(reg_addr) &value, options(nostack)) };
}

const NEVER: u64 = u64::MAX;
const CPU_TIMER_IDLE: u64 = i64::MAX as u64;

pub(super) fn init() {
    set_clock_comparator(NEVER);
    set_cpu_timer(CPU_TIMER_IDLE);
}

pub(super) fn on_clock_comparator() {
    // The condition stays pending while TOD > comparator; disarm it.
    set_clock_comparator(NEVER);
    CLOCK_COMPARATOR_TICKS.fetch_add(1, Ordering::Relaxed);
}

pub(super) fn on_cpu_timer() {
    set_cpu_timer(CPU_TIMER_IDLE);
    CPU_TIMER_TICKS.fetch_add(1, Ordering::Relaxed);
}

/// Clock-comparator and CPU-timer interruptions taken since boot.
pub fn timer_ticks() -> (u32, u32) {
    (
        CLOCK_COMPARATOR_TICKS.load(Ordering::Relaxed),
        CPU_TIMER_TICKS.load(Ordering::Relaxed),
    )
}

/// Arms the CPU timer to interrupt after `us` microseconds of CPU time.
pub fn arm_cpu_timer(us: u64) {
    set_cpu_timer(us_to_tod(us));
}

/// Waits in an enabled wait (external interruptions plus `also`) until
/// `done()` holds or the TOD clock passes `deadline`; true if `done()` held.
/// The clock comparator guarantees the wait ends even if nothing else comes.
pub fn wait_until(deadline: u64, also: PswMask, mut done: impl FnMut() -> bool) -> bool {
    let met = loop {
        if done() {
            break true;
        }
        if tod() >= deadline {
            break false;
        }
        set_clock_comparator(deadline);
        cpu::enabled_wait(PswMask::EXTERNAL | also);
    };
    set_clock_comparator(NEVER);
    met
}

/// Busy-waits until the TOD clock reaches `deadline`, interruptions masked.
#[inline]
pub fn spin_until(deadline: u64) {
    while tod() < deadline {}
}
