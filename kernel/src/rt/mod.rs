//! ccwgate's s390x runtime: entry, lowcore, PSWs, interruption stubs, clocks
//! and control registers. This is the only place that knows the machine's
//! startup and interruption mechanics; the rest of the kernel sees a handful
//! of safe functions and three fixed-name hooks.
//!
//! # Memory layout (see `linker.ld`)
//!
//! | address            | what                                                    |
//! |--------------------|---------------------------------------------------------|
//! | `0x0000`–`0x01ff`  | lowcore ([`lowcore::Lowcore`]): codes and old/new PSWs |
//! | `0x0200`–`0x0297`  | fault stubs' GPR scratch, returning stubs' PSW, this CPU's fault stack ([`lowcore::FAULT_SCRATCH`], [`lowcore::RETURN_PSW`], [`lowcore::FAULT_STACK_TOP`]) |
//! | `0x2000`–`0xffff`  | the stack, growing down; below it low-address protection guards 0x1000-0x11ff |
//! | `0x10000`          | `_start`, where QEMU's loader starts the CPU (64-bit, DAT off) |
//! | `0x10480`–`0x107ff`| `.parm`: the `-append` string, NUL-terminated ([`command_line`]) |
//! | `0x10800`–         | text, rodata, data, bss (zeroed by `_start`), 16 KiB fault stack, the second CPU's prefix area, stack guard, stack and fault stack ([`smp`]) |
//!
//! # Startup
//!
//! `_start` (in [`asm`]) sets the stack, turns on CR0's AFP bit so compiled
//! code may use every floating-point register, zeroes `.bss` and calls
//! `rust_start`, which reads the TOD clock (the boot timestamp behind every
//! `elapsed_us`), installs all six new PSWs, enables the external subclasses
//! the runtime needs (service signal, clock comparator, CPU timer), turns on
//! low-address protection and calls `crate::main`. From then on a store to
//! the PSW area or a stack overflow is a program check, not silent damage.
//!
//! # Interruptions
//!
//! Every interruption class has a stub that saves the full register state
//! (GPRs, FPRs, old PSW) in a [`Frame`] and calls a Rust handler with every
//! interruption class masked. External and I/O stubs push the frame on the
//! interrupted stack and resume; the fatal ones (program check, machine
//! check, restart, SVC) switch to their CPU's fault stack first, so that even a
//! wild stack pointer ends in a verdict rather than a loop of faults. Handlers are fixed-name functions of the kernel:
//!
//! - `crate::on_io_interruption(IoInterruption)` for I/O interruptions;
//! - `crate::on_service_signal(param)` for SCLP service signals;
//! - `crate::on_fault(&Fault, &Psw) -> !` for everything that must not happen
//!   (program check, machine check, restart, SVC, unknown external code).
//!
//! A second CPU ([`smp::start_second`]) gets its own lowcore through its
//! prefix, its own stack, fault stack and control registers, the same handlers, and runs
//! `crate::secondary_main`; [`cpu::stop`] stops it before the CPU that ends
//! the run stops itself.
//!
//! The one program interruption that does not end the run is the one a
//! test provokes on purpose: a guarded instruction inside
//! [`expect_program_interruption`] gets it back as a value ([`expect`]).
//!
//! Clock-comparator and CPU-timer interruptions are the runtime's own: they
//! end bounded waits ([`clock::wait_until`]). Interruptions are enabled only
//! inside such waits, so everywhere else kernel code runs undisturbed. When an
//! interruption ends an enabled wait, the stub resumes the waiter with
//! interruptions masked again.

pub mod asm;
pub mod clock;
pub mod cpu;
pub mod expect;
pub mod interrupts;
pub mod lowcore;
pub mod psw;
pub mod smp;

pub use expect::expect_program_interruption;
use gate::cmdline::PARM_AREA_LEN;
pub use interrupts::{Fault, IoInterruption};
pub use psw::Psw;

/// Interrupted context as saved by a stub. The layout is shared with `asm`.
#[repr(C)]
pub struct Frame {
    pub gprs: [u64; 16],
    pub fprs: [u64; 16],
    pub psw: Psw,
}

pub const FRAME_SIZE: usize = core::mem::size_of::<Frame>();
const _: () = {
    assert!(FRAME_SIZE == 272);
    assert!(core::mem::offset_of!(Frame, fprs) == 128);
    assert!(core::mem::offset_of!(Frame, psw) == 256);
};

/// Lowest address of the stack (`__stack_bottom` in linker.ld).
pub const STACK_BOTTOM: u64 = 0x2000;

static BOOT_TOD: spin::Once<u64> = spin::Once::new();

/// TOD clock value taken first thing at boot.
pub fn boot_tod() -> u64 {
    BOOT_TOD.get().copied().unwrap_or(0)
}

/// Microseconds since boot, from the TOD clock.
pub fn elapsed_us() -> u64 {
    clock::tod_to_us(clock::tod().wrapping_sub(boot_tod()))
}

/// The `-append` text area, copied out with volatile reads: QEMU wrote it
/// behind the compiler's back, after the image was linked with zeroes there.
pub fn command_line() -> [u8; PARM_AREA_LEN] {
    let mut out = [0u8; PARM_AREA_LEN];
    let base = asm::parm_area();
    for (i, b) in out.iter_mut().enumerate() {
        // SAFETY: i < PARM_AREA_LEN, inside the always-mapped area defined in asm.
        *b = unsafe { core::ptr::read_volatile(base.add(i)) };
    }
    out
}

extern "C" fn rust_start() -> ! {
    BOOT_TOD.call_once(clock::tod);
    interrupts::install();
    cpu::protect_low_addresses();
    cpu::enable_external_subclasses();
    clock::init();
    crate::main()
}
