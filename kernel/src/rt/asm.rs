//! All of the runtime's assembly: the entry point and the interruption stubs.
//!
//! Each stub saves the interrupted context (16 GPRs, 16 FPRs and the old PSW)
//! into a [`Frame`](super::Frame) pushed on the current stack, calls its Rust
//! handler with `%r2` pointing at the frame, copies the frame's PSW (which the
//! handler may have changed) to the lowcore return-PSW slot (the old-PSW slots
//! lie under low-address protection), restores the registers and resumes with
//! LPSWE. Handlers run with interruptions masked, so one slot serves all. s390x has no red zone below `%r15`, so the
//! frame can go straight below the interrupted stack pointer.

use super::lowcore;
use super::FRAME_SIZE;

/// Bytes the stub moves `%r15` down: the ABI's 160-byte register save area for
/// the handler's callees, then the frame.
const STUB_STACK: usize = 160 + FRAME_SIZE;

core::arch::global_asm!(
    r#"
    # What every CPU does first: its stack, its fault stack's top in its
    # own lowcore (before anything can fault), and CR0's AFP bit (bit 45),
    # which floating-point registers 1, 3, 5, 7-15 need before any
    # compiled code may touch them.
    .macro  CPU_SETUP stack_top, fault_stack_top
    larl    %r15, \stack_top
    larl    %r1, \fault_stack_top
    stg     %r1, {fault_stack}(%r0)
    aghi    %r15, -160
    xc      0(8,%r15), 0(%r15)
    stctg   %c0, %c0, 8(%r15)
    oi      13(%r15), 0x04
    lctlg   %c0, %c0, 8(%r15)
    .endm

    .section .head.entry,"ax"
    .globl _start
_start:
    CPU_SETUP __stack_top, __fault_stack_top
    larl    %r2, __bss_start
    larl    %r3, __bss_end
0:  clgr    %r2, %r3
    jhe     1f
    mvghi   0(%r2), 0
    la      %r2, 8(%r2)
    j       0b
1:  brasl   %r14, {rust_start}
    # rust_start never returns; if it did, stop in a disabled wait.
    larl    %r1, 2f
    lpswe   0(%r1)
    .balign 8
2:  .quad   0x0002000180000000, 0

    .section .parm,"aw",@progbits
    .globl  __parm_area
__parm_area:
    .fill   {parm_len}, 1, 0

    .text
    # The frame (see Frame) starts 160 bytes above %r15: GPRs, FPRs, PSW.
    .macro  SAVE_FPRS
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    std     %f\n, 160+128+\n*8(%r15)
    .endr
    .endm

    .macro  RESTORE_FPRS
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    ld      %f\n, 160+128+\n*8(%r15)
    .endr
    .endm

    .macro  STUB name, handler, old
    .globl  \name
    .balign 4
\name:
    stmg    %r0, %r15, -{frame}(%r15)
    aghi    %r15, -{stack}
    SAVE_FPRS
    mvc     160+256(16,%r15), \old(%r0)
    xc      0(8,%r15), 0(%r15)
    la      %r2, 160(%r15)
    brasl   %r14, \handler
    mvc     {ret}(16,%r0), 160+256(%r15)
    RESTORE_FPRS
    lmg     %r0, %r15, 160(%r15)
    lpswe   {ret}(%r0)
    .endm

    # A fault never returns and may come from a broken stack pointer (an
    # overflow, say): it gets a stack of its own, and the GPRs go to a
    # lowcore scratch area first because no stack can be trusted to hold them.
    .macro  ON_FAULT_STACK name, handler, old
    .globl  \name
    .balign 4
\name:
    stmg    %r0, %r15, {scratch}(%r0)
    lg      %r15, {fault_stack}(%r0)
    aghi    %r15, -{stack}
    mvc     160(128,%r15), {scratch}(%r0)
    SAVE_FPRS
    mvc     160+256(16,%r15), \old(%r0)
    xc      0(8,%r15), 0(%r15)
    la      %r2, 160(%r15)
    brasl   %r14, \handler
    .endm

    .macro  FATAL name, handler, old
    ON_FAULT_STACK \name, \handler, \old
    j       .
    .endm

    # The second CPU's first instruction (its restart new PSW, see smp):
    # its own stack and fault stack, CR0's AFP bit, then Rust.
    .globl  ccwgate_secondary_entry
    .balign 4
ccwgate_secondary_entry:
    CPU_SETUP __secondary_stack_top, __secondary_fault_stack_top
    brasl   %r14, {secondary_start}
    j       .

    # A program interruption is fatal too, except for one a guarded
    # instruction takes inside expect_program_interruption (see expect.rs):
    # its handler returns, and the stub resumes the frame's PSW as a
    # returning stub does, all registers (the stack pointer too) restored
    # from the frame on the fault stack.
    .macro  RECOVERABLE name, handler, old
    ON_FAULT_STACK \name, \handler, \old
    mvc     {ret}(16,%r0), 160+256(%r15)
    RESTORE_FPRS
    lmg     %r0, %r15, 160(%r15)
    lpswe   {ret}(%r0)
    .endm

    FATAL   ccwgate_restart_stub, {restart}, {restart_old}
    STUB    ccwgate_external_stub, {external}, {external_old}
    FATAL   ccwgate_svc_stub, {svc}, {svc_old}
    RECOVERABLE ccwgate_program_stub, {program}, {program_old}
    FATAL   ccwgate_mcck_stub, {mcck}, {mcck_old}
    STUB    ccwgate_io_stub, {io}, {io_old}
    "#,
    rust_start = sym super::rust_start,
    secondary_start = sym super::smp::rust_secondary_start,
    frame = const FRAME_SIZE,
    stack = const STUB_STACK,
    parm_len = const gate::cmdline::PARM_AREA_LEN,
    restart = sym super::interrupts::restart,
    external = sym super::interrupts::external,
    svc = sym super::interrupts::svc,
    program = sym super::interrupts::program,
    mcck = sym super::interrupts::machine_check,
    io = sym super::interrupts::io,
    restart_old = const lowcore::RESTART_OLD_PSW,
    external_old = const lowcore::EXTERNAL_OLD_PSW,
    svc_old = const lowcore::SVC_OLD_PSW,
    program_old = const lowcore::PROGRAM_OLD_PSW,
    mcck_old = const lowcore::MCCK_OLD_PSW,
    io_old = const lowcore::IO_OLD_PSW,
    scratch = const lowcore::FAULT_SCRATCH,
    fault_stack = const lowcore::FAULT_STACK_TOP,
    ret = const lowcore::RETURN_PSW,
);

unsafe extern "C" {
    pub fn ccwgate_restart_stub();
    pub fn ccwgate_external_stub();
    pub fn ccwgate_svc_stub();
    pub fn ccwgate_program_stub();
    pub fn ccwgate_mcck_stub();
    pub fn ccwgate_io_stub();
    /// Where the second CPU starts (see `smp`).
    pub fn ccwgate_secondary_entry();
    // Memory that is written at run time (by this kernel, the second CPU or
    // QEMU) is declared `static mut`, so that no Rust reference to it ever
    // promises immutability; only the accessors below take its address, and
    // nothing forms a reference to it.
    /// The second CPU's 8 KiB prefix area (linker.ld).
    static mut __secondary_prefix: [u8; 8192];
    /// The 4 KiB just below the second CPU's stack (linker.ld): patterned
    /// before that CPU starts, so that an overflow shows.
    static mut __secondary_stack_guard: [u8; super::smp::GUARD_LEN];
    /// The area QEMU fills with the `-append` string.
    static mut __parm_area: [u8; gate::cmdline::PARM_AREA_LEN];
}

/// The second CPU's prefix area, 8 KiB: written before that CPU starts,
/// then its lowcore. Accesses must be volatile (the CPU stores there).
pub fn secondary_prefix() -> *mut u8 {
    // Only the address is taken (safe for a `static mut`): no reference.
    (&raw mut __secondary_prefix).cast::<u8>()
}

/// The guard below the second CPU's stack, [`super::smp::GUARD_LEN`] bytes.
/// Accesses must be volatile (an overflow of that stack writes it).
pub fn secondary_stack_guard() -> *mut u8 {
    (&raw mut __secondary_stack_guard).cast::<u8>()
}

/// The [`gate::cmdline::PARM_AREA_LEN`]-byte `-append` area, for volatile reads only (QEMU wrote it
/// behind the compiler's back).
pub fn parm_area() -> *const u8 {
    (&raw const __parm_area).cast::<u8>()
}
