//! One wrapper per channel-subsystem instruction, each returning the
//! condition code. The subchannel-identification word goes in general
//! register 1, as the instructions require. Those after which the channel
//! subsystem goes on storing into memory (START SUBCHANNEL, MODIFY
//! SUBCHANNEL and SET CHANNEL MONITOR, guarded or not) are `unsafe fn`, each
//! `# Safety` section saying what is stored where ([`super::dma`]).
//!
//! The wrappers are never inlined: each instruction then has exactly one
//! site in the image, which keeps disassembly and gdb breakpoints (see
//! docs/design.md, "Debugging with gdb") simple, and costs one call per instruction.

use core::arch::asm;
use gate::css::{Cc, Irb, Orb, Schib};

macro_rules! cc_insn {
    ($(#[$doc:meta])* $name:ident, $mnemonic:literal $(, $op:ident: $t:ty)?) => {
        $(#[$doc])*
        #[inline(never)]
        pub fn $name(sid: u32 $(, $op: $t)?) -> Cc {
            // SAFETY: the instruction reads or stores only the operand passed
            // by reference (if any), before it completes, and starts no
            // storing later; a bad SID is a program check, which the
            // runtime turns into an ERROR verdict.
            unsafe { cc_insn!(@asm $mnemonic, sid $(, $op)?) }
        }
    };
    ($(#[$doc:meta])* unsafe $name:ident, $mnemonic:literal $(, $op:ident: $t:ty)?) => {
        $(#[$doc])*
        #[inline(never)]
        pub unsafe fn $name(sid: u32 $(, $op: $t)?) -> Cc {
            // SAFETY: the instruction reads the operand passed by reference
            // before it completes; what the channel subsystem stores later
            // is the caller's to provide for (the `# Safety` section); a bad
            // SID is a program check, which the runtime turns into an ERROR
            // verdict.
            unsafe { cc_insn!(@asm $mnemonic, sid $(, $op)?) }
        }
    };
    (@asm $mnemonic:literal, $sid:ident $(, $op:ident)?) => {{
        let cc: u32;
        asm!(
            concat!($mnemonic $(, " 0({", stringify!($op), "})")?),
            "ipm {cc}",
            "srl {cc}, 28",
            in("r1") u64::from($sid),
            $($op = in(reg_addr) $op,)?
            cc = out(reg) cc,
            options(nostack),
        );
        Cc::from_bits(cc as u8)
    }};
}

cc_insn!(
    /// STORE SUBCHANNEL: cc 3 means no such subchannel.
    stsch, "stsch", schib: &mut Schib
);
cc_insn!(
    /// MODIFY SUBCHANNEL.
    ///
    /// # Safety
    ///
    /// A SCHIB whose measurement mode includes measurement-block update
    /// (PMCW bits 11-12) has the channel subsystem store the subchannel's
    /// measurements after the instruction, for as long as that mode stays
    /// on: 64 bytes at the SCHIB's measurement-block address when its
    /// measurement-block format control is set (format 1), else 32 bytes at
    /// SET CHANNEL MONITOR's origin plus 32 times the SCHIB's
    /// measurement-block index while the monitor's measurement-block-update
    /// control is on (format 0). If `schib` has that mode, the caller
    /// guarantees that each block it designates lies in memory that stays
    /// allocated and that no Rust reference covers (it is read and written
    /// only with volatile or assembly accesses) until the mode is turned
    /// off again ([`super::dma::Dma`]). A SCHIB without it stores nothing
    /// later: any will do.
    unsafe msch, "msch", schib: &Schib
);
cc_insn!(
    /// START SUBCHANNEL.
    ///
    /// # Safety
    ///
    /// The start goes on after the instruction: the channel subsystem
    /// fetches the CCWs from `orb.cpa` on, as far as chaining reaches, and
    /// the device stores the data of each CCW that reads into the storage
    /// its data address and count designate, until the start function ends
    /// (its final status made pending, or a CLEAR ending it). The caller
    /// guarantees, for that whole time, that `orb` designates format-1 CCWs
    /// with no indirect data addressing (no IDAWs, no MIDAWs), and that
    /// every CCW the chain reaches and the data area of each lie in memory
    /// that stays allocated and that no Rust reference covers: it is read
    /// and written only with volatile or assembly accesses, so the device's
    /// stores race with nothing the compiler assumes ([`super::dma`]; the
    /// scenarios' starts go through [`super::dma::check`]). A program that
    /// stores nothing (a NOP alone) needs no more than readable CCWs.
    unsafe ssch, "ssch", orb: &Orb
);
cc_insn!(
    /// TEST SUBCHANNEL: cc 0 stored status and cleared status pending.
    tsch, "tsch", irb: &mut Irb
);
cc_insn!(
    /// CLEAR SUBCHANNEL.
    csch, "csch"
);
cc_insn!(
    /// HALT SUBCHANNEL.
    hsch, "hsch"
);

/// TEST PENDING INTERRUPTION: clears one pending I/O interruption (of an
/// enabled ISC) and returns its subchannel ID and interruption parameter.
#[inline(never)]
pub fn tpi() -> Option<(u32, u32)> {
    let mut code = [0u32; 3];
    let cc: u32;
    // SAFETY: with a nonzero operand address TPI stores the two-word
    // interruption code (SID, parameter) there; 12 bytes are provided.
    unsafe {
        asm!(
            "tpi 0({code})",
            "ipm {cc}",
            "srl {cc}, 28",
            code = in(reg_addr) &mut code,
            cc = out(reg) cc,
            options(nostack),
        )
    };
    (cc == 1).then_some((code[0], code[1]))
}

/// STORE CHANNEL REPORT WORD: the next pending channel report, if any
/// (cc 1: none pending, zeros stored).
#[inline(never)]
pub fn stcrw() -> Option<u32> {
    let mut crw = 0u32;
    let cc: u32;
    // SAFETY: STCRW stores one word at its operand, which is the local,
    // word-aligned `crw`.
    unsafe {
        asm!(
            ".insn s,0xb2390000,0({crw})",
            "ipm {cc}",
            "srl {cc}, 28",
            crw = in(reg_addr) &mut crw,
            cc = out(reg) cc,
            options(nostack),
        )
    };
    (cc == 0).then_some(crw)
}

// ---- Guarded instructions: operands placed where the architecture says
// they must not be, for `scenario=conformance`. Each may take a program
// interruption on purpose; inside `rt::expect_program_interruption` that
// interruption comes back as a value (see `rt::expect`), anywhere else it
// is the ERROR it always was. ----

use crate::rt::expect::guarded_asm;
use crate::rt::psw::PswMask;

/// A page-aligned 8 KiB area for the operands of guarded instructions, so
/// that an operand at any offset in its first page (unaligned on purpose)
/// still lies inside memory the caller owns, whatever the host stores
/// there: at least a page follows every operand, as much as the largest
/// store (a CHSC response, which stays in its request's page) can take.
#[repr(C, align(4096))]
pub struct Scratch(pub [u8; 8192]);

impl Scratch {
    const PAGE: usize = 4096;

    pub const fn new() -> Self {
        Scratch([0; 8192])
    }

    fn operand(&mut self, offset: usize) -> *mut u8 {
        assert!(offset <= Self::PAGE, "operand outside the scratch area");
        self.0[offset..].as_mut_ptr()
    }
}

macro_rules! guarded_operand {
    ($(#[$doc:meta])* $name:ident, $template:expr) => {
        $(#[$doc])*
        #[inline(never)]
        pub fn $name(sid: u32, area: &mut Scratch, offset: usize) -> Cc {
            // SAFETY: the instruction reads or stores at most 96 bytes at
            // the operand, which lies in `area` with a page to spare, before
            // it completes, and starts no storing later; a program
            // interruption resumes at the block's own landing label.
            unsafe { guarded_operand!(@asm $template, sid, area, offset) }
        }
    };
    ($(#[$doc:meta])* unsafe $name:ident, $template:expr) => {
        $(#[$doc])*
        #[inline(never)]
        pub unsafe fn $name(sid: u32, area: &mut Scratch, offset: usize) -> Cc {
            // SAFETY: the instruction reads at most 96 bytes at the operand,
            // which lies in `area` with a page to spare, before it
            // completes; what the channel subsystem stores later is the
            // caller's to provide for (the `# Safety` section); a program
            // interruption resumes at the block's own landing label.
            unsafe { guarded_operand!(@asm $template, sid, area, offset) }
        }
    };
    (@asm $template:expr, $sid:ident, $area:ident, $offset:ident) => {{
        let operand = $area.operand($offset);
        let cc: u32;
        guarded_asm!(
            $template;
            in("r1") u64::from($sid),
            op = in(reg_addr) operand,
            cc = out(reg) cc,
            options(nostack),
        );
        Cc::from_bits(cc as u8)
    }};
}

guarded_operand!(
    /// STORE SUBCHANNEL with its SCHIB at `offset` in `area`.
    stsch_at, "stsch 0({op})"
);
guarded_operand!(
    /// MODIFY SUBCHANNEL from the SCHIB at `offset` in `area`.
    ///
    /// # Safety
    ///
    /// That of [`msch`], for the SCHIB at `offset` in `area`.
    unsafe msch_at, "msch 0({op})"
);
guarded_operand!(
    /// START SUBCHANNEL with the ORB at `offset` in `area`.
    ///
    /// # Safety
    ///
    /// That of [`ssch`], for the ORB at `offset` in `area`, should the
    /// instruction start anything.
    unsafe ssch_at, "ssch 0({op})"
);
guarded_operand!(
    /// TEST SUBCHANNEL storing its IRB at `offset` in `area`.
    tsch_at, "tsch 0({op})"
);
guarded_operand!(
    /// STORE CHANNEL REPORT WORD at `offset` in `area` (GR1 unused).
    stcrw_at, ".insn s,0xb2390000,0({op})"
);
guarded_operand!(
    /// TEST PENDING INTERRUPTION storing the interruption code at `offset`
    /// in `area` (GR1 unused). It clears the interruption it reports.
    tpi_at, "tpi 0({op})"
);

macro_rules! guarded_sid {
    ($(#[$doc:meta])* $name:ident, $template:expr) => {
        $(#[$doc])*
        #[inline(never)]
        pub fn $name(sid: u32) -> Cc {
            let cc: u32;
            // SAFETY: the instruction has no storage operand; a program
            // interruption resumes at the block's own landing label.
            unsafe {
                guarded_asm!(
                    $template;
                    in("r1") u64::from(sid),
                    cc = out(reg) cc,
                    options(nostack),
                )
            };
            Cc::from_bits(cc as u8)
        }
    };
}

guarded_sid!(
    /// CLEAR SUBCHANNEL, guarded.
    csch_guarded, "csch"
);
guarded_sid!(
    /// HALT SUBCHANNEL, guarded.
    hsch_guarded, "hsch"
);
guarded_sid!(
    /// RESUME SUBCHANNEL, guarded.
    rsch_guarded, ".insn s,0xb2380000,0"
);
guarded_sid!(
    /// CANCEL SUBCHANNEL, guarded.
    xsch_guarded, ".insn s,0xb2760000,0"
);
guarded_sid!(
    /// RESET CHANNEL PATH: GR1 holds the CSSID and CHPID (not a SID).
    rchp_guarded, ".insn s,0xb23b0000,0"
);

/// CHANNEL SUBSYSTEM CALL with the command-request block at `offset` in
/// `area` (a 4K boundary when `offset` is 0); the response follows the
/// request in the same area.
#[inline(never)]
pub fn chsc_at(area: &mut Scratch, offset: usize) -> Cc {
    let block = area.operand(offset);
    let cc: u32;
    // SAFETY: CHSC reads the request at `block` and stores its response
    // right after it, within one page of the request (at most 4 KiB in
    // all), which `area` has room for at any offset `operand` allows; a
    // program interruption resumes at the block's own landing label.
    unsafe {
        guarded_asm!(
            ".insn rre,0xb25f0000,{block},0";
            block = in(reg_addr) block,
            cc = out(reg) cc,
            options(nostack),
        )
    };
    Cc::from_bits(cc as u8)
}

/// SET CHANNEL MONITOR with `gr1` (key, update and device-connect-time
/// controls) and `gr2` (measurement-block origin).
///
/// # Safety
///
/// With the measurement-block-update control on in `gr1`, the channel
/// subsystem stores, after the instruction and for as long as the control
/// stays on, the measurements of every subchannel whose measurement mode
/// includes update in format 0: 32 bytes at `gr2` plus 32 times that
/// subchannel's measurement-block index. The caller guarantees that each
/// such block lies in memory that stays allocated and that no Rust
/// reference covers (it is read and written only with volatile or assembly
/// accesses) while it is so stored into ([`super::dma::Dma`]). With the
/// control off (`gr1` 0: measurements off) nothing is stored: any `gr2`
/// will do.
#[inline(never)]
pub unsafe fn schm_guarded(gr1: u64, gr2: u64) {
    // SAFETY: SCHM has no storage operand; the measurement blocks it has the
    // channel subsystem store into later are the caller's to provide for
    // (the `# Safety` section); a program interruption resumes at the
    // block's own landing label.
    unsafe {
        guarded_asm!(
            ".insn s,0xb23c0000,0";
            in("r1") gr1,
            in("r2") gr2,
            cc = out(reg) _,
            options(nostack),
        )
    };
}

/// SET CHANNEL MONITOR tried in the problem state; returns the address of
/// the SCHM instruction. A privileged-operation exception there is the
/// architected outcome. Should SCHM complete, the privileged LPSWE after
/// it takes the exception instead (at another address, which the caller
/// sees in the interruption); either way the landing puts the CPU back in
/// the supervisor state.
///
/// # Safety
///
/// That of [`schm_guarded`], for a host that lets the SCHM complete.
#[inline(never)]
pub unsafe fn schm_in_problem_state(gr1: u64, gr2: u64) -> u64 {
    let mut psws = [
        PswMask::KERNEL.bits() | PswMask::PROBLEM.bits(),
        0,
        PswMask::KERNEL.bits(),
        0,
    ];
    let at: u64;
    // SAFETY: LPSWE loads a problem-state PSW that continues at label 3 with
    // every interruption masked; the instructions from there on are SCHM and
    // LPSWE, both privileged, so one of them takes a privileged-operation
    // exception, whose recovery lands at the block's landing in the
    // supervisor state (rt::expect). The second LPSWE's PSW, should it ever
    // be loaded, is a supervisor PSW continuing at the landing too. A SCHM
    // that completes after all sets the monitor as `schm_guarded` does,
    // which the caller provides for (the `# Safety` section).
    unsafe {
        guarded_asm!(
            "larl {at}, 3f",
            "stg {at}, 8({psws})",
            "larl {at}, 1f",
            "stg {at}, 24({psws})",
            "larl {at}, 2f",
            "lpswe 0({psws})",
            "3:",
            "2: .insn s,0xb23c0000,0",
            "lpswe 16({psws})";
            in("r1") gr1,
            in("r2") gr2,
            psws = in(reg_addr) psws.as_mut_ptr(),
            at = out(reg_addr) at,
            cc = out(reg) _,
            options(nostack),
        )
    };
    at
}
