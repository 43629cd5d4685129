//! Control registers, interruption masking, waiting and stopping the CPU.

use super::psw::{Psw, PswMask, SYSMASK_EXTERNAL, SYSMASK_IO};
use core::arch::asm;

/// CR0 bits (PoP bit numbers 35-54 of the 64-bit register).
const CR0_LOW_ADDRESS_PROTECTION: u64 = 1 << (63 - 35);
const CR0_SERVICE_SIGNAL: u64 = 1 << (63 - 54);
const CR0_CPU_TIMER: u64 = 1 << (63 - 53);
const CR0_CLOCK_COMPARATOR: u64 = 1 << (63 - 52);

macro_rules! control_register {
    ($read:ident, $write:ident, $n:literal) => {
        fn $read() -> u64 {
            let mut value = 0u64;
            // SAFETY: STCTG stores one doubleword into `value`; privileged,
            // and the kernel always runs in supervisor state.
            unsafe { asm!(concat!("stctg %c", $n, ", %c", $n, ", 0({p})"), p = in(reg_addr) &mut value, options(nostack)) };
            value
        }
        fn $write(value: u64) {
            // SAFETY: LCTLG loads the register from `value`; callers only
            // change bits whose effect the runtime is ready for.
            unsafe { asm!(concat!("lctlg %c", $n, ", %c", $n, ", 0({p})"), p = in(reg_addr) &value, options(nostack)) };
        }
    };
}
control_register!(read_cr0, write_cr0, 0);
control_register!(read_cr6, write_cr6, 6);

/// Lets the runtime's external interruptions through CR0 (they still need
/// the PSW's external mask, which only waits set).
pub(super) fn enable_external_subclasses() {
    write_cr0(read_cr0() | CR0_SERVICE_SIGNAL | CR0_CPU_TIMER | CR0_CLOCK_COMPARATOR);
}

/// Turns on low-address protection: program stores to 0-511 and
/// 4096-4607 become protection exceptions. The first range keeps stray
/// stores off the PSWs; the second is the guard below the stack.
pub(super) fn protect_low_addresses() {
    write_cr0(read_cr0() | CR0_LOW_ADDRESS_PROTECTION);
}

/// Enables I/O interruption subclass `isc` (0-7) in CR6.
pub fn enable_isc(isc: u8) {
    assert!(isc < 8, "ISC out of range");
    write_cr6(read_cr6() | (0x8000_0000u64 >> isc));
}

/// Lets I/O interruptions in (PSW bit 6) until [`mask_io`]. Kept out of
/// line so that the image has a single place where I/O interruptions open,
/// which is where a debugger (or the fault injector) can present one.
#[inline(never)]
pub fn unmask_io() {
    let mut old = 0u8;
    // SAFETY: STOSM only ORs the I/O bit into the PSW; the I/O stub is installed.
    unsafe {
        asm!("stosm 0({p}), {m}", p = in(reg_addr) &mut old, m = const SYSMASK_IO, options(nostack))
    };
}

/// Masks I/O interruptions again.
pub fn mask_io() {
    let mut old = 0u8;
    // SAFETY: STNSM only clears PSW bits (here: I/O and external).
    unsafe {
        asm!("stnsm 0({p}), {m}", p = in(reg_addr) &mut old, m = const !(SYSMASK_IO | SYSMASK_EXTERNAL), options(nostack))
    };
}

/// Waits, with `enable` interruptions unmasked, until one is taken. Returns
/// with all interruptions masked (the stub clears them when it wakes a wait).
pub fn enabled_wait(enable: PswMask) {
    let mut psw = Psw::new(PswMask::KERNEL | PswMask::WAIT | enable, 0);
    // SAFETY: the PSW resumes at label 0 in 64-bit mode; the handlers that can
    // be taken are installed, preserve every register and clear the wait bit.
    unsafe {
        asm!(
            "larl {tmp}, 0f",
            "stg {tmp}, 8({psw})",
            "lpswe 0({psw})",
            "0:",
            psw = in(reg_addr) &mut psw,
            tmp = out(reg_addr) _,
        )
    };
}

/// This CPU's address (STORE CPU ADDRESS).
pub fn address() -> u16 {
    let mut address = 0u16;
    // SAFETY: STAP stores two bytes into `address`.
    unsafe { asm!("stap 0({p})", p = in(reg_addr) &mut address, options(nostack)) };
    address
}

/// A SYSIB: the page STORE SYSTEM INFORMATION stores into, page-aligned
/// as the instruction requires (a specification exception otherwise).
#[repr(C, align(4096))]
struct Sysib([u8; 4096]);

/// The one SYSIB, used at set-up only.
static SYSIB: spin::Mutex<Sysib> = spin::Mutex::new(Sysib([0; 4096]));

/// STORE SYSTEM INFORMATION 1.1.1 (basic-machine configuration): the
/// manufacturer it stores (16 EBCDIC bytes, [`gate::accel`]), or `None`
/// when the configuration level is not available (cc 3).
pub fn stsi_111_manufacturer() -> Option<[u8; gate::accel::MANUFACTURER_LEN]> {
    use gate::accel::{MANUFACTURER_LEN, MANUFACTURER_OFFSET};
    let mut sysib = SYSIB.lock();
    sysib.0.fill(0);
    let cc: u32;
    // SAFETY: STSI with function code 1 (GR0 bits 32-35), selector 1 1
    // (GR0 bits 56-63, GR1 bits 48-63) and every reserved bit zero stores
    // one 4 KiB SYSIB at its operand, which is the page-aligned SYSIB we
    // hold locked, or nothing (cc 3). It changes GR0 only for function
    // code 0; GR0 is declared clobbered anyway. Privileged: the kernel
    // runs in supervisor state.
    unsafe {
        asm!(
            ".insn s,0xb27d0000,0({sysib})",
            "ipm {cc}",
            "srl {cc}, 28",
            sysib = in(reg_addr) sysib.0.as_mut_ptr(),
            inout("r0") (1u64 << 28) | 1 => _,
            in("r1") 1u64,
            cc = out(reg) cc,
            options(nostack),
        )
    };
    let field = &sysib.0[MANUFACTURER_OFFSET..MANUFACTURER_OFFSET + MANUFACTURER_LEN];
    (cc == 0).then(|| field.try_into().expect("16 bytes"))
}

/// Disables I/O interruption subclass `isc` (0-7) in CR6.
pub fn disable_isc(isc: u8) {
    assert!(isc < 8, "ISC out of range");
    write_cr6(read_cr6() & !(0x8000_0000u64 >> isc));
}

/// Stops every CPU, this one last, with SIGNAL PROCESSOR (stop); QEMU exits
/// once no CPU runs. Falls back to a disabled wait, which QEMU also treats
/// as the end.
pub fn stop() -> ! {
    super::smp::stop_others();
    stop_this()
}

/// Stops this CPU alone (SIGP STOP to itself), falling back to a disabled
/// wait. For a CPU that must not stop the others (another one ends the run).
pub fn stop_this() -> ! {
    let address = address();
    // SAFETY: SIGP order 5 (stop) to ourselves.
    unsafe {
        asm!("sigp {st}, {addr}, 5", st = out(reg) _, addr = in(reg) u64::from(address), options(nostack));
    }
    let psw = Psw::new(PswMask::KERNEL | PswMask::WAIT, 0);
    loop {
        // SAFETY: a disabled wait PSW never resumes.
        unsafe { asm!("lpswe 0({p})", p = in(reg_addr) &psw, options(nostack)) };
    }
}
