//! `--list`: the entries of an initrd, through every segment: plain cpio
//! (early microcode), then gzip/zstd/xz-compressed cpio.

use netinit_core::cpio::{self, Entry, Kind};

use crate::compress::pipe;

/// Which decompressor a segment needs, by magic.
fn decompressor(data: &[u8]) -> Option<(&'static str, &'static str)> {
    if data.starts_with(&[0x1f, 0x8b]) {
        Some(("gzip", "gzip"))
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(("zstd", "zstd"))
    } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(("xz", "xz-utils"))
    } else {
        None
    }
}

/// Every entry of every segment, in order; a later segment's entry wins
/// at boot, as the kernel unpacks in order.
pub fn read_all(mut data: Vec<u8>) -> Result<Vec<(usize, Entry)>, String> {
    let mut out = Vec::new();
    let mut segment = 0;
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        if rest[0] == 0 {
            at += 1;
            continue;
        }
        if cpio::is_cpio(rest) {
            let (entries, used) =
                cpio::read_segment(rest).map_err(|e| format!("segment {segment}: {e}"))?;
            out.extend(entries.into_iter().map(|e| (segment, e)));
            at += used;
            segment += 1;
        } else if let Some((tool, pkg)) = decompressor(rest) {
            // The tool decodes this stream (and any that follow it).
            let plain = pipe(tool, &["-dc"], rest, pkg)?;
            data = plain;
            at = 0;
        } else {
            return Err(format!(
                "segment {segment} at byte {at}: neither cpio nor gzip/zstd/xz"
            ));
        }
    }
    Ok(out)
}

pub fn print(file: &str) -> Result<(), String> {
    let data = std::fs::read(file).map_err(|e| format!("read {file}: {e}"))?;
    let entries = read_all(data)?;
    let mut total = 0u64;
    for (seg, e) in &entries {
        let extra = match &e.kind {
            Kind::Symlink(t) => format!(" -> {t}"),
            Kind::CharDev(ma, mi) => format!(" (char {ma}:{mi})"),
            _ => String::new(),
        };
        total += e.size() as u64;
        println!(
            "{seg} {} {:>10} /{}{extra}",
            e.mode_string(),
            e.size(),
            e.path
        );
    }
    println!(
        "{} entries, {} uncompressed",
        entries.len(),
        netinit_core::size::human_bytes(total)
    );
    Ok(())
}
