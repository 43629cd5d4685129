//! Expected program interruptions: the one way a program interruption can
//! end in anything but an ERROR verdict.
//!
//! A test of how the host handles an instruction's operands must provoke
//! program exceptions on purpose (a specification exception for an
//! unaligned SCHIB, an operand exception for a bad subchannel ID) and see
//! which one came. The scope is kept narrow, in the spirit of cortex-m-rt's
//! and riscv-rt's trap handling:
//!
//! - Only a *guarded instruction* can be recovered from: an `asm!` block
//!   built with [`guarded_asm!`], which arms a landing label that lies in
//!   the same block, right after the instruction, and disarms it there.
//!   Compiled Rust code is never resumed half-way.
//! - Only inside [`expect_program_interruption`]: the runtime recovers a
//!   guarded instruction's interruption only while such a scope runs; a
//!   guarded instruction outside one faults like any other.
//! - Only the first one: the landing is disarmed by the interruption that
//!   uses it, so a second program interruption in the same instruction (a
//!   host that nullifies instead of suppressing, say, and so would re-run
//!   the instruction for ever) is unexpected and ends the run with ERROR.
//!
//! Every other program interruption stays the ERROR verdict it always was.
//!
//! # Resuming
//!
//! The channel-subsystem exceptions tested (operand, specification,
//! privileged operation) suppress the instruction: no operand is changed,
//! registers are as before, and the CPU stored the old PSW. The handler
//! resumes at the landing label with the registers of that moment, in the
//! supervisor state (the problem-state bit cleared, so that a privileged
//! instruction tried in the problem state comes back to the kernel) and
//! otherwise with the old PSW's mask, condition code included.

use super::psw::PswMask;
use super::Frame;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What the CPU stored for a program interruption that a guarded
/// instruction took inside an [`expect_program_interruption`] scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramInterruption {
    /// Program-interruption code (lowcore 0x8E), e.g. 0x15 operand.
    pub code: u16,
    /// Instruction-length code in bytes (lowcore 0x8C, bits 13-14, times 2).
    pub ilc: u16,
    /// Address of the instruction that was interrupted: the old PSW
    /// address less the instruction length, as for every suppressing
    /// exception.
    pub address: u64,
}

/// Landing address of the guarded instruction now executing, 0 when none.
/// Written by the guarded `asm!` blocks themselves (see [`guarded_asm!`]).
pub static LANDING: AtomicU64 = AtomicU64::new(0);
/// Whether an [`expect_program_interruption`] scope runs.
static SCOPE: AtomicBool = AtomicBool::new(false);
/// The interruption recovered in the running scope: code << 48 | ilc << 32
/// in `CAUGHT_CODE` (0: none), address in `CAUGHT_ADDRESS`.
static CAUGHT_CODE: AtomicU64 = AtomicU64::new(0);
static CAUGHT_ADDRESS: AtomicU64 = AtomicU64::new(0);
const CAUGHT: u64 = 1;
/// Bytes a guarded block's instructions may span before its landing.
const GUARD_SPAN: u64 = 64;

/// Runs `f`; a program interruption that a guarded instruction in `f`
/// takes comes back as `Err` (the first one; `f` still runs to its end,
/// the guarded instruction suppressed) instead of ending the run.
///
/// Scopes do not nest (a nested one panics): an outer scope would not
/// know whose interruption it saw.
pub fn expect_program_interruption<T>(f: impl FnOnce() -> T) -> Result<T, ProgramInterruption> {
    assert!(
        !SCOPE.swap(true, Ordering::SeqCst),
        "expect_program_interruption scopes do not nest"
    );
    CAUGHT_CODE.store(0, Ordering::SeqCst);
    let value = f();
    SCOPE.store(false, Ordering::SeqCst);
    LANDING.store(0, Ordering::SeqCst);
    let word = CAUGHT_CODE.swap(0, Ordering::SeqCst);
    if word & CAUGHT == 0 {
        return Ok(value);
    }
    Err(ProgramInterruption {
        code: (word >> 48) as u16,
        ilc: (word >> 32) as u16,
        address: CAUGHT_ADDRESS.load(Ordering::SeqCst),
    })
}

/// Called by the program-interruption handler: recovers an expected
/// interruption (resuming `frame` at the armed landing) and says whether it
/// did. Everything else is for the caller to report as a fault.
pub(super) fn recover(frame: &mut Frame, code: u16, ilc: u16) -> bool {
    if !SCOPE.load(Ordering::SeqCst) {
        return false;
    }
    let address = frame.psw.addr.wrapping_sub(u64::from(ilc));
    let landing = LANDING.load(Ordering::SeqCst);
    // Only an instruction of the armed block itself, which lies just
    // before its landing: a fault anywhere else (another CPU's, say) is
    // not this scope's to recover.
    if landing == 0 || address >= landing || landing - address > GUARD_SPAN {
        return false;
    }
    // Disarmed: a second interruption before the landing finds 0 above.
    LANDING.store(0, Ordering::SeqCst);
    if CAUGHT_CODE.load(Ordering::SeqCst) & CAUGHT == 0 {
        CAUGHT_ADDRESS.store(address, Ordering::SeqCst);
        CAUGHT_CODE.store(
            u64::from(code) << 48 | u64::from(ilc) << 32 | CAUGHT,
            Ordering::SeqCst,
        );
    }
    frame.psw.addr = landing;
    frame.psw.mask &= !PswMask::PROBLEM.bits();
    true
}

/// An `asm!` block whose first template line arms the landing, then the
/// guarded instruction(s), then the landing label `1:` that disarms it;
/// `ipm`/`srl` leave the condition code in the operand named `cc`. The
/// labels `1` and `9` are the macro's; the guarded lines must not use them.
///
/// Besides its operands the block uses one scratch register of its own; it
/// may read and write memory (the landing slot and whatever the guarded
/// instruction touches).
macro_rules! guarded_asm {
    ($($line:expr),+ ; $($operands:tt)*) => {
        core::arch::asm!(
            "larl {guard_tmp}, 1f",
            "stg {guard_tmp}, 0({guard_slot})",
            $($line,)+
            "1:",
            "mvghi 0({guard_slot}), 0",
            "ipm {cc}",
            "srl {cc}, 28",
            guard_slot = in(reg_addr) $crate::rt::expect::LANDING.as_ptr(),
            guard_tmp = out(reg_addr) _,
            $($operands)*
        )
    };
}
pub(crate) use guarded_asm;
