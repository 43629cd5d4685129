//! Rust halves of the interruption stubs and the new-PSW table.

use super::lowcore::{lowcore_read, lowcore_write};
use super::psw::{Psw, PswMask};
use super::{asm, clock, Frame};

/// The words the CPU stores for an I/O interruption.
#[derive(Clone, Copy, Debug)]
pub struct IoInterruption {
    pub sid: u32,
    pub intparm: u32,
    pub word: u32,
}

/// An interruption that ends the run with an ERROR verdict.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Program {
        code: u16,
        ilc: u16,
        tec: u64,
    },
    /// A protection exception with the stack pointer below the stack.
    StackOverflow {
        sp: u64,
    },
    MachineCheck {
        mcic: u64,
    },
    Restart,
    Svc {
        code: u16,
    },
    External {
        code: u16,
    },
}

impl Fault {
    /// Stable name used as the verdict's `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Fault::Program { .. } => "program-check",
            Fault::StackOverflow { .. } => "stack-overflow",
            Fault::MachineCheck { .. } => "machine-check",
            Fault::Restart => "restart-interruption",
            Fault::Svc { .. } => "unexpected-svc",
            Fault::External { .. } => "unexpected-external-interruption",
        }
    }
}

/// Installs the six new PSWs. Every handler runs in 64-bit mode with all
/// interruptions masked, so handlers never nest (a fault inside one is fatal).
pub fn install() {
    let new = |stub: unsafe extern "C" fn()| Psw::new(PswMask::KERNEL, stub as usize as u64);
    lowcore_write!(restart_new_psw: Psw = new(asm::ccwgate_restart_stub));
    lowcore_write!(external_new_psw: Psw = new(asm::ccwgate_external_stub));
    lowcore_write!(svc_new_psw: Psw = new(asm::ccwgate_svc_stub));
    lowcore_write!(program_new_psw: Psw = new(asm::ccwgate_program_stub));
    lowcore_write!(mcck_new_psw: Psw = new(asm::ccwgate_mcck_stub));
    lowcore_write!(io_new_psw: Psw = new(asm::ccwgate_io_stub));
}

/// An interruption that ended an enabled wait resumes the waiter after its
/// LPSWE with interruptions masked again (see [`super::cpu::enabled_wait`]).
fn wake(frame: &mut Frame) {
    let mask = PswMask::from_bits_retain(frame.psw.mask);
    if mask.contains(PswMask::WAIT) {
        frame.psw.mask = (mask - PswMask::WAIT - PswMask::IO - PswMask::EXTERNAL).bits();
    }
}

/// One I/O interruption per opening: the interrupted code resumes with I/O
/// masked, so a host that presents interruptions without end cannot keep the
/// CPU in the handler; the code that opened I/O decides what comes next.
pub(super) extern "C" fn io(frame: &mut Frame) {
    crate::on_io_interruption(IoInterruption {
        sid: lowcore_read!(subchannel_id: u32),
        intparm: lowcore_read!(io_int_parm: u32),
        word: lowcore_read!(io_int_word: u32),
    });
    wake(frame);
    frame.psw.mask &= !PswMask::IO.bits();
}

const EXT_CLOCK_COMPARATOR: u16 = 0x1004;
const EXT_CPU_TIMER: u16 = 0x1005;
const EXT_SERVICE_SIGNAL: u16 = 0x2401;

pub(super) extern "C" fn external(frame: &mut Frame) {
    match lowcore_read!(ext_code: u16) {
        EXT_CLOCK_COMPARATOR => clock::on_clock_comparator(),
        EXT_CPU_TIMER => clock::on_cpu_timer(),
        EXT_SERVICE_SIGNAL => crate::on_service_signal(lowcore_read!(ext_param: u32)),
        code => crate::on_fault(&Fault::External { code }, &frame.psw),
    }
    wake(frame);
}

/// Program-interruption code of a protection exception (low byte).
const PGM_PROTECTION: u16 = 0x04;

/// Returns only for an interruption that [`super::expect`] recovered; every
/// other one ends the run.
pub(super) extern "C" fn program(frame: &mut Frame) {
    let code = lowcore_read!(pgm_code: u16);
    // The ILC sits in bits 13-14 of the halfword, in halfwords: the length
    // in bytes is that field times two, i.e. the halfword masked with 6.
    if super::expect::recover(frame, code, lowcore_read!(pgm_ilc: u16) & 6) {
        return;
    }
    let sp = frame.gprs[15];
    let fault = if code & 0xff == PGM_PROTECTION && sp < super::STACK_BOTTOM {
        Fault::StackOverflow { sp }
    } else {
        Fault::Program {
            code,
            ilc: lowcore_read!(pgm_ilc: u16),
            tec: lowcore_read!(trans_exc_code: u64),
        }
    };
    crate::on_fault(&fault, &frame.psw)
}

pub(super) extern "C" fn machine_check(frame: &mut Frame) {
    crate::on_fault(
        &Fault::MachineCheck {
            mcic: lowcore_read!(mcic: u64),
        },
        &frame.psw,
    )
}

pub(super) extern "C" fn restart(frame: &mut Frame) {
    crate::on_fault(&Fault::Restart, &frame.psw)
}

pub(super) extern "C" fn svc(frame: &mut Frame) {
    crate::on_fault(
        &Fault::Svc {
            code: lowcore_read!(svc_code: u16),
        },
        &frame.psw,
    )
}
