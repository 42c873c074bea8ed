//! `--list`: the entries of an initrd, through every segment: plain cpio
//! (early microcode), then gzip/zstd/xz-compressed cpio.

use netinit_core::cpio::{self, Compression, Entry, Kind};

use crate::compress::pipe;

/// Every entry of every segment, in order; a later segment's entry wins
/// at boot, as the kernel unpacks in order.
pub fn read_all(data: Vec<u8>) -> Result<Vec<(usize, Entry)>, String> {
    cpio::read_initrd(data, |method, stream| {
        let (tool, pkg) = match method {
            Compression::Gzip => ("gzip", "gzip"),
            Compression::Zstd => ("zstd", "zstd"),
            Compression::Xz => ("xz", "xz-utils"),
        };
        pipe(tool, &["-dc"], stream, pkg)
    })
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
