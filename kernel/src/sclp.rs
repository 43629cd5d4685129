//! The SCLP console: VT220 event writes through SERVICE CALL.
//!
//! Each request is one SCCB (service-call control block) handed to SERVICE
//! CALL; the SCLP signals completion with a service-signal external
//! interruption whose parameter is the SCCB address. Waits for it are bounded,
//! and a console that fails once is marked broken so that later output is
//! dropped instead of hanging the kernel.

use crate::rt::{clock, psw::PswMask};
use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

const CMD_WRITE_EVENT_MASK: u32 = 0x0078_0005;
const CMD_WRITE_EVENT_DATA: u32 = 0x0076_0005;
const EVENT_VT220: u8 = 0x1a;
const RESPONSE_NORMAL_COMPLETION: u16 = 0x0020;
const SCCB_HEADER: usize = 8;
const EVENT_HEADER: usize = 6;
/// The most text one write carries.
pub const MAX_TEXT: usize = SCCB_SIZE - SCCB_HEADER - EVENT_HEADER;
const SCCB_SIZE: usize = 4096;
/// How long the SCLP may take to answer one request.
const ANSWER_TIMEOUT_US: u64 = 2_000_000;

#[derive(Clone, Copy, Debug)]
pub enum SclpError {
    NotOperational,
    Busy,
    Timeout,
    /// The SCLP answered with a response code other than normal completion.
    Response,
}

/// One SCCB: page-aligned so it never crosses a page, and below 2 GiB like
/// the whole kernel image.
#[repr(C, align(4096))]
pub struct Sccb([u8; SCCB_SIZE]);

impl Sccb {
    pub const fn new() -> Self {
        Sccb([0; SCCB_SIZE])
    }

    fn put_u16(&mut self, at: usize, v: u16) {
        self.0[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    fn put_u32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    fn response(&self) -> u16 {
        let p = self.0.as_ptr();
        // SAFETY: offsets 6 and 7 are inside the SCCB; volatile because the
        // SCLP stored them behind the compiler's back.
        let (hi, lo) = unsafe {
            (
                core::ptr::read_volatile(p.add(6)),
                core::ptr::read_volatile(p.add(7)),
            )
        };
        u16::from_be_bytes([hi, lo])
    }

    /// Starts an SCCB of `len` bytes (header included) with a zeroed header.
    fn begin(&mut self, len: usize) {
        self.0[..SCCB_HEADER].fill(0);
        self.put_u16(0, len as u16);
    }
}

impl Default for Sccb {
    fn default() -> Self {
        Self::new()
    }
}

/// Parameter of the last service signal (SCCB address), 0 when none is new.
static SIGNAL: AtomicU32 = AtomicU32::new(0);
/// The SCCB of a request whose service signal [`service_call`] has not
/// seen yet (set before SERVICE CALL, cleared when it refused the request
/// or the signal came), 0 when none: what a takeover must settle
/// ([`settle_in_flight`]).
static IN_FLIGHT: AtomicU32 = AtomicU32::new(0);
static BROKEN: AtomicBool = AtomicBool::new(false);

/// Service-signal handler (called from the runtime).
pub fn on_service_signal(param: u32) {
    // The low three bits carry flags (event pending); the rest is the SCCB.
    SIGNAL.store(param & !7, Ordering::Release);
}

fn service_call(command: u32, sccb: &mut Sccb) -> Result<(), SclpError> {
    let address = core::ptr::addr_of_mut!(*sccb) as u64;
    debug_assert!(address < 1 << 31);
    let deadline = clock::tod() + clock::us_to_tod(ANSWER_TIMEOUT_US);
    SIGNAL.store(0, Ordering::Relaxed);
    IN_FLIGHT.store(address as u32, Ordering::Relaxed);
    loop {
        let cc: u32;
        // SAFETY: SERVICE CALL reads and later writes the SCCB we own
        // exclusively (&mut) until the service signal below says it is done.
        unsafe {
            asm!(
                ".insn rre,0xb2200000,{cmd},{sccb}",
                "ipm {cc}",
                "srl {cc}, 28",
                cmd = in(reg) u64::from(command),
                sccb = in(reg) address,
                cc = out(reg) cc,
                options(nostack),
            )
        };
        match cc {
            0 => break,
            2 if clock::tod() < deadline => clock::spin_until(clock::tod() + clock::us_to_tod(100)),
            2 => {
                IN_FLIGHT.store(0, Ordering::Relaxed);
                return Err(SclpError::Busy);
            }
            _ => {
                IN_FLIGHT.store(0, Ordering::Relaxed);
                return Err(SclpError::NotOperational);
            }
        }
    }
    let answered = clock::wait_until(deadline, PswMask::empty(), || {
        SIGNAL.load(Ordering::Acquire) == address as u32
    });
    if !answered {
        // The request stays in flight; the console counts as broken.
        return Err(SclpError::Timeout);
    }
    IN_FLIGHT.store(0, Ordering::Relaxed);
    match sccb.response() {
        RESPONSE_NORMAL_COMPLETION => Ok(()),
        _ => Err(SclpError::Response),
    }
}

/// For the fatal path's takeover of the console from a holder it
/// interrupted or stopped ([`crate::console`]): that holder may have left
/// a request in flight on the SCCB, whose service signal, coming late,
/// would end the wait of the next write on the same SCCB before its own
/// answer (the parameter is the SCCB's address either way). Waits, as long
/// as a request may take, for that signal, then forgets it and the request.
///
/// After the wait no signal of the old request can come: QEMU, the only
/// SCLP ccwgate runs on (TCG or KVM), carries out a request within its
/// SERVICE CALL and makes the service signal pending before the
/// instruction completes; a signal not there within the answer time means
/// that the holder was stopped before its SERVICE CALL ran (between
/// marking the request and issuing it), so there is none to come. (An SCLP
/// that answered later than that would be one [`service_call`] counts as
/// broken anyway.)
pub fn settle_in_flight() {
    let sccb = IN_FLIGHT.load(Ordering::Relaxed);
    if sccb != 0 {
        let deadline = clock::tod() + clock::us_to_tod(ANSWER_TIMEOUT_US);
        clock::wait_until(deadline, PswMask::empty(), || {
            SIGNAL.load(Ordering::Acquire) == sccb
        });
    }
    SIGNAL.store(0, Ordering::Relaxed);
    IN_FLIGHT.store(0, Ordering::Relaxed);
}

fn mark<T>(result: Result<T, SclpError>) -> Result<T, SclpError> {
    if result.is_err() {
        BROKEN.store(true, Ordering::Relaxed);
    }
    result
}

/// Tells the SCLP that we send VT220 events.
pub fn init(sccb: &mut Sccb) -> Result<(), SclpError> {
    const LEN: usize = 28;
    sccb.0[..LEN].fill(0);
    sccb.begin(LEN);
    sccb.put_u16(10, 4); // mask length
    sccb.put_u32(16, 0x8000_0000 >> (EVENT_VT220 - 1)); // we send VT220
    mark(service_call(CMD_WRITE_EVENT_MASK, sccb))
}

/// Writes `text` (at most [`MAX_TEXT`] bytes) as one VT220 event.
pub fn write(sccb: &mut Sccb, text: &[u8]) -> Result<(), SclpError> {
    if BROKEN.load(Ordering::Relaxed) {
        return Err(SclpError::NotOperational);
    }
    let text = &text[..text.len().min(MAX_TEXT)];
    let len = SCCB_HEADER + EVENT_HEADER + text.len();
    sccb.begin(len);
    sccb.put_u16(SCCB_HEADER, (EVENT_HEADER + text.len()) as u16);
    sccb.0[SCCB_HEADER + 2] = EVENT_VT220;
    sccb.0[SCCB_HEADER + 3..SCCB_HEADER + EVENT_HEADER].fill(0);
    sccb.0[SCCB_HEADER + EVENT_HEADER..len].copy_from_slice(text);
    mark(service_call(CMD_WRITE_EVENT_DATA, sccb))
}
