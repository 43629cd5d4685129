//! Line-buffered console on top of [`crate::sclp`], and `println!`.

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

/// Console access for the fatal path, which may have interrupted a holder of
/// the lock: that holder never runs again, so its partial line is dropped.
pub fn emergency(args: fmt::Arguments) {
    let _ = fmt::Write::write_fmt(&mut *seize(), args);
}

/// The console for the fatal path: its lock, taken from an interrupted
/// holder if need be (whose partial line is dropped).
fn seize() -> spin::MutexGuard<'static, Console> {
    if CONSOLE.is_locked() {
        // SAFETY: only reached on the way to stopping the CPU; the
        // interrupted lock holder is never resumed.
        unsafe { CONSOLE.force_unlock() };
        CONSOLE.lock().len = 0;
    }
    CONSOLE.lock()
}

/// The run's last lines (at most [`sclp::MAX_TEXT`] bytes) as one SCLP
/// event, so that they arrive together: with two CPUs the other one may
/// take the service signal a write waits for, and the console then counts
/// as broken and drops every later write.
pub fn emergency_block(text: &str) {
    let mut console = seize();
    console.flush();
    let _ = sclp::write(&mut console.sccb, text.as_bytes());
}

#[macro_export]
macro_rules! println {
    () => { $crate::console::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}
