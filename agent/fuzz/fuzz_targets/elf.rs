#![no_main]
//! ELF interpreter and `#!` readers (the pre-switch_root check of init):
//! never panic, and what they return is really in the file.
use libfuzzer_sys::fuzz_target;
use netinit_core::elf;

fuzz_target!(|data: &[u8]| {
    let interp = elf::interpreter(data);
    if let Some(path) = interp {
        assert!(!path.is_empty() && !path.contains('\0'));
        assert_eq!(elf::has_interpreter(data), Some(true));
        let at = path.as_ptr() as usize - data.as_ptr() as usize;
        assert!(at + path.len() <= data.len());
    }
    if elf::has_interpreter(data).is_none() {
        assert_eq!(interp, None);
    }
    if let Some(word) = elf::shebang(data) {
        assert!(data.starts_with(b"#!"));
        assert!(!word.is_empty() && !word.contains(char::is_whitespace));
        let first_line = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let at = word.as_ptr() as usize - data.as_ptr() as usize;
        assert!(at + word.len() <= first_line.len());
    }
    let _ = elf::modinfo(data, "firmware");
});
