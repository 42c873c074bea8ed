#![no_main]
//! newc cpio reader (initrd --list, hooks) and ELF section reader: never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = netinit_core::cpio::read_segment(data);
    let mut framed = b"070701".to_vec();
    framed.extend_from_slice(data);
    let _ = netinit_core::cpio::read_segment(&framed);
    let _ = netinit_core::elf::modinfo(data, "firmware");
    let _ = netinit_core::elf::has_interpreter(data);
});
