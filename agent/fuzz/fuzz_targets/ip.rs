#![no_main]
//! Kernel/dracut `ip=` parser: never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = netinit_core::ipconf::parse_ip(text);
    }
});
