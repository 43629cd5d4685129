//! The lowcore: the first 8 KiB of absolute storage, where the CPU stores
//! interruption codes and swaps PSWs (z/Architecture PoP, "Assigned Storage
//! Locations"). The layout is declared once as a struct so that the offsets
//! are checked at compile time; fields are reached through fixed addresses
//! because the struct itself starts at address 0, which Rust reserves for null.

use super::psw::Psw;
use core::mem::offset_of;
use core::ptr::NonNull;
use volatile::VolatilePtr;

/// The architected part of the lowcore that ccwgate uses.
#[repr(C)]
pub struct Lowcore {
    _reserved_000: [u8; 0x80],
    pub ext_param: u32,
    pub cpu_address: u16,
    pub ext_code: u16,
    pub svc_ilc: u16,
    pub svc_code: u16,
    pub pgm_ilc: u16,
    pub pgm_code: u16,
    pub data_exc_code: u32,
    _reserved_094: [u8; 0xa8 - 0x94],
    pub trans_exc_code: u64,
    _reserved_0b0: [u8; 0xb8 - 0xb0],
    pub subchannel_id: u32,
    pub io_int_parm: u32,
    pub io_int_word: u32,
    _reserved_0c4: [u8; 0xe8 - 0xc4],
    pub mcic: u64,
    _reserved_0f0: [u8; 0x120 - 0xf0],
    pub restart_old_psw: Psw,
    pub external_old_psw: Psw,
    pub svc_old_psw: Psw,
    pub program_old_psw: Psw,
    pub mcck_old_psw: Psw,
    pub io_old_psw: Psw,
    _reserved_180: [u8; 0x1a0 - 0x180],
    pub restart_new_psw: Psw,
    pub external_new_psw: Psw,
    pub svc_new_psw: Psw,
    pub program_new_psw: Psw,
    pub mcck_new_psw: Psw,
    pub io_new_psw: Psw,
}

const _: () = {
    assert!(offset_of!(Lowcore, ext_param) == 0x80);
    assert!(offset_of!(Lowcore, ext_code) == 0x86);
    assert!(offset_of!(Lowcore, pgm_ilc) == 0x8c);
    assert!(offset_of!(Lowcore, pgm_code) == 0x8e);
    assert!(offset_of!(Lowcore, trans_exc_code) == 0xa8);
    assert!(offset_of!(Lowcore, subchannel_id) == 0xb8);
    assert!(offset_of!(Lowcore, io_int_parm) == 0xbc);
    assert!(offset_of!(Lowcore, io_int_word) == 0xc0);
    assert!(offset_of!(Lowcore, mcic) == 0xe8);
    assert!(offset_of!(Lowcore, restart_old_psw) == 0x120);
    assert!(offset_of!(Lowcore, io_old_psw) == 0x170);
    assert!(offset_of!(Lowcore, restart_new_psw) == 0x1a0);
    assert!(offset_of!(Lowcore, io_new_psw) == 0x1f0);
    assert!(core::mem::size_of::<Lowcore>() == 0x200);
};

/// Offsets used by the interruption stubs (assembly cannot use `offset_of!`).
pub const RESTART_OLD_PSW: usize = offset_of!(Lowcore, restart_old_psw);
pub const EXTERNAL_OLD_PSW: usize = offset_of!(Lowcore, external_old_psw);
pub const SVC_OLD_PSW: usize = offset_of!(Lowcore, svc_old_psw);
pub const PROGRAM_OLD_PSW: usize = offset_of!(Lowcore, program_old_psw);
pub const MCCK_OLD_PSW: usize = offset_of!(Lowcore, mcck_old_psw);
pub const IO_OLD_PSW: usize = offset_of!(Lowcore, io_old_psw);
/// The first of the six new PSWs (restart, external, SVC, program, machine
/// check, I/O), which lie back to back.
pub const RESTART_NEW_PSW: usize = offset_of!(Lowcore, restart_new_psw);

/// 128 bytes where fault stubs park the GPRs before switching stacks: the
/// architecture assigns nothing at 0x200-0x11af (operating systems keep their
/// own per-CPU data there), and each CPU reaches its own through its prefix.
pub const FAULT_SCRATCH: usize = 0x200;
/// The PSW a returning interruption stub loads: outside the 512 bytes that
/// low-address protection covers, so that the stub may store it.
pub const RETURN_PSW: usize = 0x280;
/// The top of this CPU's fault stack, stored by its entry code before
/// anything can fault: each CPU faults onto a stack of its own.
pub const FAULT_STACK_TOP: usize = 0x290;
const _: () = assert!(FAULT_SCRATCH >= core::mem::size_of::<Lowcore>());
const _: () = assert!(RETURN_PSW >= FAULT_SCRATCH + 128);
const _: () = assert!(FAULT_STACK_TOP >= RETURN_PSW + 16 && FAULT_STACK_TOP + 8 <= 0x11b0);

/// A volatile view of one lowcore field, given its offset.
///
/// # Safety
/// `offset` must be the offset of a field of type `T` in [`Lowcore`] (use
/// `offset_of!`), so the address is non-null, aligned and always mapped.
pub unsafe fn field<T>(offset: usize) -> VolatilePtr<'static, T> {
    // SAFETY: the caller guarantees a valid field offset; offsets used are all
    // >= 0x80, so the pointer is not null, and the lowcore is never unmapped.
    unsafe { VolatilePtr::new(NonNull::new_unchecked(offset as *mut T)) }
}

macro_rules! lowcore_read {
    ($field:ident: $t:ty) => {
        // SAFETY: the offset comes from offset_of! on the declared layout.
        unsafe {
            $crate::rt::lowcore::field::<$t>(core::mem::offset_of!(
                $crate::rt::lowcore::Lowcore,
                $field
            ))
            .read()
        }
    };
}
pub(crate) use lowcore_read;

macro_rules! lowcore_write {
    ($field:ident: $t:ty = $value:expr) => {
        // SAFETY: the offset comes from offset_of! on the declared layout.
        unsafe {
            $crate::rt::lowcore::field::<$t>(core::mem::offset_of!(
                $crate::rt::lowcore::Lowcore,
                $field
            ))
            .write($value)
        }
    };
}
pub(crate) use lowcore_write;
