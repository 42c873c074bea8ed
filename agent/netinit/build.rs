//! Drops the unwind tables from the static /init.
//!
//! The release profile aborts on panic, so nothing ever unwinds, yet the
//! precompiled std still carries ~110 KiB of `.eh_frame`. The linker script
//! discards it (the C runtime objects keep theirs: they reference it by symbol).
//! The panic hook still runs; only `Backtrace` reports "unsupported".
//! Debug and test builds unwind, so they keep the tables.

fn main() {
    println!("cargo:rerun-if-changed=no-unwind-tables.ld");
    let musl = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "musl");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if musl && release {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/no-unwind-tables.ld");
    }
}
