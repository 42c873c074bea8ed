#![no_main]
//! gzip member decoder (/proc/config.gz, gzip initrds): never panics, bounded output.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = netinit_core::gzip::decompress(data, 1 << 20);
});
