#![no_main]
//! `nfsroot=`, `BOOTIF=`, module lists and sizes: never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = netinit_core::config::parse_nfsroot(text);
        let _ = netinit_core::config::parse_bootif(text);
        let _ = netinit_core::config::parse_module_list(text);
        let _ = netinit_core::size::parse_size(text);
    }
});
