//! ccwgate: a bare-metal s390x guest kernel that checks every channel-I/O
//! interruption its host delivers and ends with one `VERDICT:` line.
//!
//! Boot flow: [`rt`] starts the CPU and calls [`main`], which brings up the
//! console, parses the command line (`-append`), runs the chosen scenario and
//! prints the verdict, then stops the CPU so that QEMU exits. Anything that
//! goes wrong on the way (a program check, an unexpected interruption, a
//! panic) ends in [`on_fault`] or the panic handler with an ERROR verdict.
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

mod conformance;
mod console;
mod css;
mod report;
mod rt;
mod scenario;
mod sclp;
mod selftest;

use gate::cmdline::{self, Scenario};
use gate::verdict::Outcome;

pub use rt::{Fault, IoInterruption, Psw};

fn main() -> ! {
    console::init();
    println!(
        "ccwgate {}: s390x channel-I/O gate",
        env!("CARGO_PKG_VERSION")
    );
    let raw = rt::command_line();
    let config = match cmdline::parse(&raw) {
        Ok(config) => config,
        Err(e) => report::finish(Outcome::Error, Some("bad-cmdline"), &|line| {
            line.field("error", e.kind.name());
            line.bytes_field("token", e.token);
        }),
    };
    report::begin(&config);
    match config.scenario {
        Scenario::Selftest => selftest::run(&config),
        Scenario::Crash => selftest::crash(),
        Scenario::Conformance => conformance::run(&config),
        Scenario::Smoke
        | Scenario::Ssch
        | Scenario::CschRace
        | Scenario::HschRace
        | Scenario::CschIdle
        | Scenario::Mixed => scenario::run(&config),
    }
}

/// I/O-interruption hook of the runtime.
pub fn on_io_interruption(irq: IoInterruption) {
    css::on_io_interruption(irq.sid, irq.intparm);
}

/// Where the second CPU goes once the runtime brought it up.
pub fn secondary_main() -> ! {
    css::second::main()
}

/// Service-signal hook of the runtime.
pub fn on_service_signal(param: u32) {
    sclp::on_service_signal(param);
}

/// Fault hook of the runtime: every interruption that must not happen.
pub fn on_fault(fault: &Fault, psw: &Psw) -> ! {
    report::fault(fault, psw)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    report::panic(info)
}

/// The prebuilt `core` refers to this symbol even with `panic = "abort"`.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
