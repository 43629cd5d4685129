//! Hands the workspace's linker.ld to rust-lld for the kernel binary only.
use std::path::PathBuf;

fn main() {
    let script = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("..")
        .join("linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("s390x") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    }
}
