//! Line-buffered console on top of [`crate::sclp`], and `println!`.

use crate::rt;
use crate::sclp::{self, Sccb};
use core::fmt;
use spin::Mutex;

const LINE: usize = 1024;

pub struct Console {
    sccb: Sccb,
    line: [u8; LINE],
    len: usize,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console {
    sccb: Sccb::new(),
    line: [0; LINE],
    len: 0,
});

impl Console {
    fn flush(&mut self) {
        if self.len > 0 {
            // A failed write already marked the console broken; dropping the
            // text is all that is left to do.
            let _ = sclp::write(&mut self.sccb, &self.line[..self.len]);
            self.len = 0;
        }
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            self.line[self.len] = b;
            self.len += 1;
            if b == b'\n' || self.len == LINE {
                self.flush();
            }
        }
        Ok(())
    }
}

/// Registers with the SCLP. If that fails the console is marked broken and
/// everything printed is dropped: the run goes on and stops as usual, and
/// run-qemu.sh reports the missing verdict line (an ERROR).
pub fn init() {
    let mut console = CONSOLE.lock();
    let _ = sclp::init(&mut console.sccb);
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let _ = fmt::Write::write_fmt(&mut *CONSOLE.lock(), args);
}

/// How long the fatal path waits for a console lock it cannot prove
/// abandoned.
const LOCK_WAIT_US: u64 = 100_000;

/// Console access for the fatal path (and the verdict), which may have
/// interrupted a holder of the lock: that holder never runs again, so its
/// partial line is dropped ([`seize`] says when the lock is taken over).
pub fn emergency(args: fmt::Arguments) {
    if let Some(mut console) = seize() {
        let _ = fmt::Write::write_fmt(&mut *console, args);
    }
}

/// The console for the fatal path, or `None` when it cannot be had within
/// [`LOCK_WAIT_US`] (the text is then dropped).
///
/// The protocol: the first CPU to get here claims the end of the run and
/// stops the other CPU ([`rt::smp::end_alone`]); a CPU that finds the end
/// claimed by another stops itself without printing. Only when no other
/// CPU runs is a held lock taken over; otherwise the lock is waited for, a
/// bounded time.
fn seize() -> Option<spin::MutexGuard<'static, Console>> {
    let ending = rt::smp::end_alone();
    if ending == rt::smp::Ending::Other {
        rt::cpu::stop_this();
    }
    if ending == rt::smp::Ending::Alone && CONSOLE.is_locked() {
        // SAFETY: no other CPU runs (none was started, or SIGP SENSE saw
        // each stopped, and a stopped CPU is never restarted), so the lock's
        // holder is a context of this CPU that the fatal path interrupted,
        // and this path ends in stopping the CPU: the holder is never
        // resumed, and nothing else can touch the console.
        unsafe { CONSOLE.force_unlock() };
        CONSOLE.lock().len = 0;
        // The holder may have left a SERVICE CALL in flight on the SCCB:
        // its late signal must not end the next write's wait.
        sclp::settle_in_flight();
    }
    let deadline = rt::clock::tod() + rt::clock::us_to_tod(LOCK_WAIT_US);
    loop {
        if let Some(console) = CONSOLE.try_lock() {
            return Some(console);
        }
        if rt::clock::tod() >= deadline {
            return None;
        }
    }
}

/// The run's last lines (at most [`sclp::MAX_TEXT`] bytes) as one SCLP
/// event, so that they arrive together: with two CPUs the other one may
/// take the service signal a write waits for, and the console then counts
/// as broken and drops every later write.
pub fn emergency_block(text: &str) {
    if let Some(mut console) = seize() {
        console.flush();
        let _ = sclp::write(&mut console.sccb, text.as_bytes());
    }
}

#[macro_export]
macro_rules! println {
    () => { $crate::console::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}
