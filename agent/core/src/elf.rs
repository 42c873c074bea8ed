//! Just enough ELF64 (little-endian) to read a kernel module's `.modinfo`
//! section and to tell whether a binary is static (no PT_INTERP), plus
//! what an init needs to be executable (its PT_INTERP or `#!` line).

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

fn is_elf64_le(b: &[u8]) -> bool {
    b.get(..6) == Some(&[0x7f, b'E', b'L', b'F', 2, 1][..])
}

/// The bytes of section `name`, if `data` is ELF64 LE and has it.
pub fn section<'a>(data: &'a [u8], name: &str) -> Option<&'a [u8]> {
    if !is_elf64_le(data) {
        return None;
    }
    let shoff = usize::try_from(u64_at(data, 0x28)?).ok()?;
    let shentsize = usize::from(u16_at(data, 0x3a)?);
    let shnum = usize::from(u16_at(data, 0x3c)?);
    let shstrndx = usize::from(u16_at(data, 0x3e)?);
    if shentsize < 0x40 {
        return None;
    }
    let sh = |i: usize| -> Option<(u32, usize, usize)> {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let name = u32_at(data, at)?;
        let off = usize::try_from(u64_at(data, at.checked_add(0x18)?)?).ok()?;
        let size = usize::try_from(u64_at(data, at.checked_add(0x20)?)?).ok()?;
        Some((name, off, size))
    };
    let (_, stroff, strsize) = sh(shstrndx)?;
    let strtab = data.get(stroff..stroff.checked_add(strsize)?)?;
    for i in 0..shnum {
        let (n, off, size) = sh(i)?;
        let sname = strtab.get(n as usize..)?.split(|&b| b == 0).next()?;
        if sname == name.as_bytes() {
            return data.get(off..off.checked_add(size)?);
        }
    }
    None
}

/// `key=value` entries of a module's `.modinfo` for `key` (e.g. `firmware`).
pub fn modinfo(module: &[u8], key: &str) -> Vec<String> {
    let Some(info) = section(module, ".modinfo") else {
        return Vec::new();
    };
    info.split(|&b| b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .filter_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

/// `Some(true)` for an ELF with a PT_INTERP (dynamically linked),
/// `Some(false)` for a static one, `None` if not ELF64 LE.
pub fn has_interpreter(data: &[u8]) -> Option<bool> {
    interp_header(data).map(|h| h.is_some())
}

/// The program interpreter (PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`)
/// of a dynamically linked ELF64; `None` for a static one or non-ELF data.
pub fn interpreter(data: &[u8]) -> Option<&str> {
    let at = interp_header(data)??;
    let off = usize::try_from(u64_at(data, at.checked_add(8)?)?).ok()?;
    let size = usize::try_from(u64_at(data, at.checked_add(32)?)?).ok()?;
    let path = data.get(off..off.checked_add(size)?)?;
    let path = path.split(|&b| b == 0).next()?;
    std::str::from_utf8(path).ok().filter(|p| !p.is_empty())
}

/// Where the PT_INTERP program header starts: `Some(None)` for an ELF64
/// without one (static), `None` if not ELF64 LE or its headers are cut.
fn interp_header(data: &[u8]) -> Option<Option<usize>> {
    if !is_elf64_le(data) {
        return None;
    }
    let phoff = usize::try_from(u64_at(data, 0x20)?).ok()?;
    let phentsize = usize::from(u16_at(data, 0x36)?);
    let phnum = usize::from(u16_at(data, 0x38)?);
    const PT_INTERP: u32 = 3;
    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(data, at)? == PT_INTERP {
            return Some(Some(at));
        }
    }
    Some(None)
}

/// The interpreter named by a script's `#!` line, as the kernel reads it
/// (first word after `#!`, up to the end of the first line).
pub fn shebang(head: &[u8]) -> Option<&str> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    line.split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_offsets_do_not_overflow() {
        // Found by the fuzzer: a section header offset near usize::MAX.
        let mut d = vec![0u8; 64];
        d[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        d[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
        d[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        d[0x3c..0x3e].copy_from_slice(&1u16.to_le_bytes());
        d[0x20..0x28].copy_from_slice(&(u64::MAX - 1).to_le_bytes());
        d[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(section(&d, ".modinfo"), None);
        assert_eq!(has_interpreter(&d), None);
    }

    #[test]
    fn reads_a_real_binary() {
        // The test binary itself is a dynamic ELF64 on the gnu target.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(has_interpreter(&me), Some(true));
        assert!(section(&me, ".text").is_some_and(|t| !t.is_empty()));
        assert!(section(&me, ".nope").is_none());
        assert_eq!(has_interpreter(b"#!/bin/sh"), None);
        let interp = interpreter(&me).unwrap();
        assert!(
            interp.starts_with('/') && interp.contains("ld-"),
            "{interp}"
        );
        assert_eq!(interpreter(b"#!/bin/sh"), None);
    }

    #[test]
    fn shebang_lines() {
        assert_eq!(shebang(b"#!/bin/sh -e\necho"), Some("/bin/sh"));
        assert_eq!(shebang(b"#! /usr/bin/env python3\n"), Some("/usr/bin/env"));
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"\x7fELF"), None);
    }

    proptest! {
        #[test]
        fn never_panics(mut data in proptest::collection::vec(any::<u8>(), 0..300)) {
            if data.len() > 6 {
                data[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
            }
            let _ = section(&data, ".modinfo");
            let _ = modinfo(&data, "firmware");
            let _ = has_interpreter(&data);
            let _ = interpreter(&data);
            let _ = shebang(&data);
        }
    }
}
