//! Memory the channel subsystem stores into behind the program's back: the
//! members' I/O areas (two [`IoArea`]s each) and, in [`super::measurement`],
//! the measurement blocks.
//!
//! A host may store into an I/O area at any time, also after the operation
//! that addressed it ended: those late writes are what the driver looks for.
//! So the areas are [`Dma`] memory, never behind a Rust reference, read and
//! written only through raw pointers with volatile accesses or inline
//! assembly, about which the compiler assumes nothing. gate works on copies
//! ([`gate::driver::Channel::area`]): [`publish`] copies what it built into
//! an area before the start, [`observe`] copies an area out before gate
//! reads it.
//!
//! A [`Checked`] ORB is the only one the scenarios' START SUBCHANNEL takes
//! ([`super::issue::Issuer::ssch`]), and [`check`] the only way to one: it
//! copies the channel program's CCWs to where the device will fetch them,
//! checking that each CCW, and the data it addresses, lies inside the
//! member's area.

use core::arch::asm;
use core::cell::UnsafeCell;
use core::mem::{offset_of, size_of};
use gate::cmdline::MAX_SUBCHANNELS;
use gate::css::{CcwFlags, Orb, OrbFlags};
use gate::driver::{IoArea, DATA_LEN, GUARD_LEN, MAX_CCWS};

/// Memory the channel subsystem may store into at any time. Nothing makes
/// a reference to its contents: [`Dma::as_ptr`] is the only way in, and
/// every access through it is volatile or inline assembly.
#[repr(transparent)]
pub struct Dma<T>(UnsafeCell<T>);

// SAFETY: the contents are reached only through `as_ptr`, and every access
// through it (this module's and `super::measurement`'s) is volatile or
// inline assembly, never a reference, so sharing the static makes no
// reference that another CPU's access or the device's store could
// invalidate. Each member's areas are accessed by the one CPU that holds
// that member's `Subchannel` (CPU 1 under `cpus=both` only issues the
// START whose ORB CPU 0 checked), and the measurement blocks by CPU 0.
unsafe impl<T> Sync for Dma<T> {}

impl<T> Dma<T> {
    pub const fn new(value: T) -> Self {
        Dma(UnsafeCell::new(value))
    }

    /// Where the contents are; accesses through it must be volatile or
    /// assembly.
    pub const fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

/// 64-bit words in an [`IoArea`]: CCWs, guards and data, none of them with
/// padding (a [`gate::css::Ccw1`] is eight bytes, every other field a byte
/// array), so the area is its words and any words are a valid area.
const WORDS: usize = size_of::<IoArea>() / 8;
const CCW_WORDS: usize = MAX_CCWS;
const FRONT: usize = offset_of!(IoArea, front) / 8;
const DATA: usize = offset_of!(IoArea, data) / 8;
const BACK: usize = offset_of!(IoArea, back) / 8;
const _: () = assert!(
    size_of::<IoArea>() == MAX_CCWS * 8 + 2 * GUARD_LEN + DATA_LEN
        && offset_of!(IoArea, ccws) == 0
        && FRONT == CCW_WORDS
        && DATA == FRONT + GUARD_LEN / 8
        && BACK == DATA + DATA_LEN / 8
        && BACK + GUARD_LEN / 8 == WORDS
        && core::mem::align_of::<IoArea>() == 8,
    "an IoArea is its 64-bit words: CCWs, front guard, data, back guard"
);
/// [`observe`] copies an area with two MVCs (at most 256 bytes each).
const REST: usize = size_of::<IoArea>() - 256;
const _: () = assert!(REST > 0 && REST <= 256, "two MVCs copy an IoArea");

/// Each member's pair of I/O areas as the device addresses them.
static AREAS: Dma<[[IoArea; 2]; MAX_SUBCHANNELS]> =
    Dma::new([const { [IoArea::new(), IoArea::new()] }; MAX_SUBCHANNELS]);

/// Area `slot` (0 or 1) of member `member`.
fn area(member: usize, slot: usize) -> *mut IoArea {
    assert!(member < MAX_SUBCHANNELS && slot < 2, "no such I/O area");
    // SAFETY: `member * 2 + slot` is in bounds of the static array of
    // `MAX_SUBCHANNELS` pairs (checked above), so the offset pointer stays
    // inside it; no reference is made.
    unsafe { AREAS.as_ptr().cast::<IoArea>().add(member * 2 + slot) }
}

/// The absolute address of area `slot` of member `member`, as the device
/// sees it (the image is below 2 GiB).
pub fn address(member: usize, slot: usize) -> u32 {
    let a = area(member, slot) as usize;
    debug_assert!(a < 1 << 31, "I/O areas must be below 2 GiB");
    a as u32
}

/// Copies what gate built into `copy` to area `slot` of member `member`,
/// but for the CCWs, which [`check`] copies as it checks them: of the data
/// `data[..n]` (rounded up to whole words) for `refilled` `Some(n)`, or all
/// of it and both guards for `None` ([`gate::driver::Channel::publish`]).
/// The rest of the area keeps what the device stored there.
#[inline]
pub fn publish(member: usize, slot: usize, copy: &IoArea, refilled: Option<usize>) {
    let words = match refilled {
        Some(n) => DATA..DATA + n.min(DATA_LEN).div_ceil(8),
        None => FRONT..WORDS,
    };
    let (src, dst) = (
        core::ptr::from_ref(copy).cast::<u64>(),
        area(member, slot).cast::<u64>(),
    );
    for i in words {
        // SAFETY: `i` is below `WORDS`: word `i` of `copy`, an `IoArea`,
        // which is its words (the assertion above), is initialised and
        // aligned, and so is the area's, written volatile as all of it is.
        unsafe { dst.add(i).write_volatile(src.add(i).read()) };
    }
}

/// Copies area `slot` of member `member`, as the device left it, into
/// `into` ([`gate::driver::Channel::observe`]).
#[inline]
pub fn observe(member: usize, slot: usize, into: &mut IoArea) {
    let src = area(member, slot);
    // SAFETY: two MVCs copy the `size_of::<IoArea>()` bytes at `src` (an
    // area, read only by assembly: nothing the compiler assumes) to `into`,
    // which is exclusively ours and as large; any bytes are a valid
    // `IoArea` (it is its words, the assertion above). MVC changes no
    // condition code.
    unsafe {
        asm!(
            "mvc 0(256,{dst}),0({src})",
            "mvc 256({rest},{dst}),256({src})",
            dst = in(reg_addr) core::ptr::from_mut(into),
            src = in(reg_addr) src,
            rest = const REST,
            options(nostack, preserves_flags),
        )
    };
}

/// Puts both areas of member `member` back as new (between a batch's
/// runs).
pub fn reset(member: usize) {
    let fresh = IoArea::new();
    let src = core::ptr::from_ref(&fresh).cast::<u64>();
    for slot in 0..2 {
        let dst = area(member, slot).cast::<u64>();
        for i in 0..WORDS {
            // SAFETY: `i` is below `WORDS`: word `i` of `fresh` (an `IoArea`
            // is its words) and of the area, written volatile as all of it
            // is.
            unsafe { dst.add(i).write_volatile(src.add(i).read()) };
        }
    }
}

/// An ORB whose channel program [`check`] put, where the device fetches
/// it, inside one of its member's I/O areas. Only [`check`] makes one (a
/// reference to one: the ORB is not copied on the way to the START).
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Checked(Orb);

impl Checked {
    pub fn orb(&self) -> &Orb {
        &self.0
    }
}

/// CCW flags a scenario's program may carry: chaining, suppressing
/// incorrect length, skipping, PCI. Not IDA (the data address would name
/// an IDAW list) nor MIDA or suspend.
const CCW_FLAGS: u8 = CcwFlags::CD.bits()
    | CcwFlags::CC.bits()
    | CcwFlags::SLI.bits()
    | CcwFlags::SKP.bits()
    | CcwFlags::PCI.bits();
/// ORB controls that change how the CCWs are read: format-0 CCWs (F clear)
/// lay out their address elsewhere, MIDAWs and the ORB extension are not
/// the scenarios'.
const ORB_FORBIDDEN: u32 = OrbFlags::MIDAW.bits() | OrbFlags::EXTENSION.bits();
/// TRANSFER IN CHANNEL: a command code whose low four bits are 8.
const TIC: u8 = 0x08;

/// Copies `orb`'s channel program from gate's `copies` to member
/// `member`'s area it designates, where the device will fetch it, CCW by
/// CCW as far as chaining goes, after checking each: format-1 CCWs from
/// `orb.cpa` on (the start of one of the member's areas' CCWs, or a CCW
/// further on), each with no indirect addressing and no TIC, its data
/// (`cda`, `count` bytes) inside that area's data, the chain ending within
/// the area's CCWs. `None` for anything else, with the chain copied up to
/// the CCW that failed: a start the kernel must not issue.
pub fn check<'a>(member: usize, orb: &'a Orb, copies: &[IoArea; 2]) -> Option<&'a Checked> {
    if orb.word1 & OrbFlags::FORMAT1.bits() == 0 || orb.word1 & ORB_FORBIDDEN != 0 {
        return None;
    }
    // The CCWs are the first `CCW_WORDS` words of each area.
    let in_ccws = |slot| {
        let at = orb.cpa.wrapping_sub(address(member, slot)) as usize;
        (at < CCW_WORDS * 8 && at % 8 == 0).then_some((slot, at / 8))
    };
    let (slot, first) = in_ccws(0).or_else(|| in_ccws(1))?;
    let data = address(member, slot) + (DATA * 8) as u32;
    let data_end = u64::from(data) + DATA_LEN as u64;
    let dst = area(member, slot).cast::<u64>();
    for (i, ccw) in copies[slot].ccws.iter().enumerate().skip(first) {
        let flags = ccw.flags.bits();
        if ccw.cmd & 0x0f == TIC
            || flags & !CCW_FLAGS != 0
            || ccw.cda < data
            || u64::from(ccw.cda) + u64::from(ccw.count) > data_end
        {
            return None;
        }
        // SAFETY: `i` is below `CCW_WORDS`: the CCW is a word of `copies`
        // (an `IoArea` is its words) and word `i` of the area, written
        // volatile as all of it is.
        unsafe {
            dst.add(i)
                .write_volatile(core::ptr::from_ref(ccw).cast::<u64>().read())
        };
        if flags & (CcwFlags::CD.bits() | CcwFlags::CC.bits()) == 0 {
            // SAFETY: `Checked` is a transparent `Orb`: the same layout and
            // validity, so the reference may be one to it.
            return Some(unsafe { &*core::ptr::from_ref(orb).cast::<Checked>() });
        }
    }
    None
}
