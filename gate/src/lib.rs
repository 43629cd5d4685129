//! ccwgate's portable core.
//!
//! Everything here is plain `no_std` Rust without `unsafe`: it is linked into
//! the s390x guest kernel and unit-tested on the build host with `cargo test`.
//! Nothing in this crate touches hardware; the kernel supplies the real
//! channel instructions through [`driver::Channel`].
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

/// The names of `$all` (a constant array of values with a `const fn
/// name(self) -> &'static str`), as a constant array in the same order:
/// `gate::names_of!(Collect::ALL)`.
#[macro_export]
macro_rules! names_of {
    ($all:expr) => {{
        let mut names = [""; $all.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = $all[i].name();
            i += 1;
        }
        names
    }};
}

pub mod accel;
pub mod cmdline;
pub mod conformance;
pub mod css;
pub mod driver;
pub mod kut;
pub mod measure;
pub mod oracle;
pub mod ring;
pub mod rng;
pub mod route;
pub mod sim;
pub mod stats;
pub mod tod;
pub mod trace;
pub mod verdict;
