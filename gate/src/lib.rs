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

pub mod cmdline;
pub mod conformance;
pub mod css;
pub mod driver;
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
