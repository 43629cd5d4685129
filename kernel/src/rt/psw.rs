//! Program-status words and the system-mask bits that gate interruptions.

use bitflags::bitflags;

bitflags! {
    /// PSW mask bits ccwgate uses (bit numbers as in the PoP, bit 0 = MSB).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PswMask: u64 {
        /// Bit 6: I/O interruptions enabled.
        const IO = 1 << (63 - 6);
        /// Bit 7: external interruptions enabled.
        const EXTERNAL = 1 << (63 - 7);
        /// Bit 13: machine-check interruptions enabled.
        const MCHECK = 1 << (63 - 13);
        /// Bit 14: wait state.
        const WAIT = 1 << (63 - 14);
        /// Bit 15: problem state (privileged instructions are exceptions).
        const PROBLEM = 1 << (63 - 15);
        /// Bits 31/32: 64-bit addressing mode.
        const EA = 1 << (63 - 31);
        const BA = 1 << (63 - 32);
        const _ = !0;
    }
}

impl PswMask {
    /// The mask every handler and the kernel run with: 64-bit, all masked.
    pub const KERNEL: PswMask = PswMask::EA.union(PswMask::BA);
}

/// A 16-byte z/Architecture PSW.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Psw {
    pub mask: u64,
    pub addr: u64,
}

impl Psw {
    pub const fn new(mask: PswMask, addr: u64) -> Self {
        Psw {
            mask: mask.bits(),
            addr,
        }
    }
}

impl core::fmt::Display for Psw {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:016x}:{:016x}", self.mask, self.addr)
    }
}

/// System-mask byte (PSW bits 0-7) values for STOSM/STNSM.
pub const SYSMASK_IO: u8 = 0x02;
pub const SYSMASK_EXTERNAL: u8 = 0x01;
