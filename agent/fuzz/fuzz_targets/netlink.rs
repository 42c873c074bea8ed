#![no_main]
//! rtnetlink reply decoder: never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = netinit_core::netlink::decode(data);
});
