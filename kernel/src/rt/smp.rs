//! The second CPU: brought up with SIGNAL PROCESSOR, stopped at the end.
//!
//! QEMU starts only the IPL CPU; the others wait in the stopped state. To
//! start CPU 1, [`start_second`] gives it a prefix area of its own (an
//! 8 KiB lowcore in `.bss`, holding the same new PSWs, with the restart new
//! PSW pointing at `ccwgate_secondary_entry`), sets its prefix (SIGP SET
//! PREFIX) and restarts it (SIGP RESTART). The entry stub loads the second
//! stack and calls `rust_secondary_start`, which installs the interruption
//! handlers in its own lowcore, says it is alive and runs
//! `crate::secondary_main`. Each CPU has its own lowcore, stack, fault stack
//! and control registers; the first fault ends the run. Below the second
//! stack lies a patterned guard: [`second_stack_overflowed`] tells whether
//! that stack ever reached it.
//!
//! Every CPU that was started is stopped before the run ends
//! ([`stop_others`]), so QEMU exits once the last one stops.

use super::lowcore;
use super::psw::{Psw, PswMask};
use super::{asm, clock, cpu, interrupts};
use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// SIGNAL PROCESSOR orders (PoP ch. 4, "Signal-Processor Orders").
const SIGP_SENSE: u8 = 1;
const SIGP_STOP: u8 = 5;
const SIGP_RESTART: u8 = 6;
const SIGP_SET_PREFIX: u8 = 13;

/// SIGP STOP attempts while the other CPU answers busy.
const STOP_TRIES: u32 = 1000;

/// SIGP SENSE status bit 25: the addressed CPU is in the stopped state.
const STATUS_STOPPED: u32 = 1 << (31 - 25);

/// How long [`end_alone`] waits for the other CPU to be seen stopped.
const STOPPED_WAIT_US: u64 = 100_000;

/// The second CPU's address.
pub const SECOND: u16 = 1;

/// What the guard below the second CPU's stack holds until something
/// writes there.
const GUARD_BYTE: u8 = 0xc5;

/// The guard's size (`.second_cpu` in linker.ld reserves as much).
pub(super) const GUARD_LEN: usize = 4096;

/// Why the second CPU could not be brought up (an ERROR verdict).
#[derive(Clone, Copy, Debug)]
pub enum SmpError {
    /// SIGP SENSE answered "not operational": no such CPU (`--smp 1`).
    Missing,
    /// SET PREFIX or RESTART was refused: condition code and status.
    StartFailed { order: u8, cc: u8, status: u32 },
    /// Restarted, but it never reached its entry within a second.
    Unresponsive,
}

impl SmpError {
    pub fn reason(&self) -> &'static str {
        match self {
            SmpError::Missing => "cpu-missing",
            SmpError::StartFailed { .. } => "cpu-start-failed",
            SmpError::Unresponsive => "cpu-unresponsive",
        }
    }
}

static STARTED: AtomicBool = AtomicBool::new(false);
/// The CPU that is ending the run ([`end_alone`]), plus one; 0 while none is.
static ENDING: AtomicU32 = AtomicU32::new(0);
static ALIVE: AtomicBool = AtomicBool::new(false);

/// SIGNAL PROCESSOR `order` to CPU `address` with `parameter`: the
/// condition code and, for cc 1, the status the CPU stored.
fn sigp(address: u16, order: u8, parameter: u32) -> (u8, u32) {
    let mut status = 0u64;
    let cc: u64;
    // SAFETY: SIGP only signals another CPU; R1 = r2 receives the status
    // (cc 1), the parameter is in r3 (R1 + 1), the order is the second-
    // operand address. Condition code read with IPM.
    unsafe {
        asm!(
            "sigp %r2, {addr}, 0({order})",
            "ipm {cc}",
            "srl {cc}, 28",
            addr = in(reg) u64::from(address),
            order = in(reg_addr) u64::from(order),
            cc = out(reg) cc,
            inout("r2") status,
            in("r3") u64::from(parameter),
            options(nostack),
        )
    };
    (cc as u8, status as u32)
}

/// Brings up CPU [`SECOND`]; it runs `crate::secondary_main` once alive.
/// Call once, from CPU 0, before anything else may use the second CPU.
pub fn start_second() -> Result<(), SmpError> {
    if STARTED.load(Ordering::SeqCst) {
        return Ok(());
    }
    if sigp(SECOND, SIGP_SENSE, 0).0 == 3 {
        return Err(SmpError::Missing);
    }
    fill_guard();
    let prefix = prepare_prefix_area();
    for (order, parameter) in [(SIGP_SET_PREFIX, prefix), (SIGP_RESTART, 0)] {
        let (cc, status) = sigp(SECOND, order, parameter);
        if cc != 0 {
            return Err(SmpError::StartFailed { order, cc, status });
        }
    }
    STARTED.store(true, Ordering::SeqCst);
    let deadline = clock::tod() + clock::us_to_tod(1_000_000);
    while !ALIVE.load(Ordering::SeqCst) {
        if clock::tod() >= deadline {
            return Err(SmpError::Unresponsive);
        }
    }
    Ok(())
}

/// Fills the second CPU's prefix area: this CPU's new PSWs, the restart
/// new PSW pointing at the secondary entry. Its absolute address.
fn prepare_prefix_area() -> u32 {
    let area = asm::secondary_prefix();
    let first = lowcore::RESTART_NEW_PSW;
    for offset in first..first + 6 * core::mem::size_of::<Psw>() {
        // SAFETY: both ranges lie in an 8 KiB lowcore (this CPU's at real 0,
        // the second's in .bss, not yet in use by anyone), read and written
        // byte by byte with volatile accesses.
        unsafe {
            let byte = core::ptr::read_volatile(offset as *const u8);
            core::ptr::write_volatile(area.add(offset), byte);
        }
    }
    let entry = Psw::new(
        PswMask::KERNEL,
        asm::ccwgate_secondary_entry as *const () as u64,
    );
    // SAFETY: the restart new PSW's slot in the second CPU's prefix area.
    unsafe { core::ptr::write_volatile(area.add(first).cast::<Psw>(), entry) };
    let address = area as u64;
    assert!(
        address < 1 << 31 && address % 8192 == 0,
        "prefix area placement"
    );
    address as u32
}

fn guard() -> *mut u8 {
    asm::secondary_stack_guard()
}

fn fill_guard() {
    for i in 0..GUARD_LEN {
        // SAFETY: the 4 KiB guard in .second_cpu, which nothing else uses;
        // the second CPU is not running yet.
        unsafe { core::ptr::write_volatile(guard().add(i), GUARD_BYTE) };
    }
}

/// Whether the second CPU's stack ever grew into the guard below it (it
/// was started and the guard's pattern is gone): then it may have written
/// CPU 0's lowcore too, and nothing the run saw can be trusted.
pub fn second_stack_overflowed() -> bool {
    STARTED.load(Ordering::SeqCst)
        && (0..GUARD_LEN).any(|i| {
            // SAFETY: a volatile read of the guard, which only an overflow
            // of the second stack writes.
            unsafe { core::ptr::read_volatile(guard().add(i)) != GUARD_BYTE }
        })
}

/// Rust entry of the second CPU, from `ccwgate_secondary_entry` on its own
/// stack: its handlers, low-address protection, its clocks disarmed. The
/// service signal stays CPU 0's (its external subclass is left off here).
pub(super) extern "C" fn rust_secondary_start() -> ! {
    interrupts::install();
    cpu::protect_low_addresses();
    clock::init();
    ALIVE.store(true, Ordering::SeqCst);
    crate::secondary_main()
}

/// Stops every other CPU that was started (SIGP STOP), so that the CPU
/// ending the run is the last one running.
pub fn stop_others() {
    if !STARTED.load(Ordering::SeqCst) {
        return;
    }
    let this = cpu::address();
    for address in [0, SECOND] {
        // cc 2: busy with another order; try again, a bounded number of times.
        for _ in 0..STOP_TRIES {
            if address == this || sigp(address, SIGP_STOP, 0).0 != 2 {
                break;
            }
        }
    }
}

/// What [`end_alone`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// This CPU ends the run, and no other CPU runs: either none was
    /// started, or every other one was seen in the stopped state.
    Alone,
    /// This CPU ends the run, but another CPU was not seen stopped in time.
    NotAlone,
    /// Another CPU is already ending the run; this one must only stop.
    Other,
}

/// Claims the end of the run for this CPU and stops every other CPU
/// (SIGP STOP), waiting a bounded time until SIGP SENSE reports each one
/// stopped. The first CPU to call it ends the run; a second caller (both
/// failing at once) gets [`Ending::Other`]. Calling it again on the CPU
/// that claimed the end repeats the check.
pub fn end_alone() -> Ending {
    let this = u32::from(cpu::address()) + 1;
    match ENDING.compare_exchange(0, this, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {}
        Err(owner) if owner == this => {}
        Err(_) => return Ending::Other,
    }
    if !STARTED.load(Ordering::SeqCst) {
        return Ending::Alone;
    }
    stop_others();
    let deadline = clock::tod() + clock::us_to_tod(STOPPED_WAIT_US);
    let me = cpu::address();
    for address in [0, SECOND] {
        if address == me {
            continue;
        }
        loop {
            let (cc, status) = sigp(address, SIGP_SENSE, 0);
            if cc == 1 && status & STATUS_STOPPED != 0 {
                break;
            }
            if clock::tod() >= deadline {
                return Ending::NotAlone;
            }
        }
    }
    Ending::Alone
}
