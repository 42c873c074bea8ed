#![no_main]
//! Kernel .config parser + requirement check: never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(config) = netinit_core::kconfig::KernelConfig::parse(text)
    {
        let _ = netinit_core::kconfig::check(&config);
    }
});
