//! gzip (RFC 1952) member decoding, for `/proc/config.gz` and gzip initrds.
//! The DEFLATE stream itself is miniz_oxide's; this module parses the
//! header and trailer and checks the CRC and size.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GzipError(pub String);

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GzipError {}

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// True when `data` starts with the gzip magic.
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

/// Decodes the first gzip member of `data`, refusing output over `limit` bytes.
pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    let err = |m: &str| GzipError(format!("gzip: {m}"));
    if !is_gzip(data) {
        return Err(err("not gzip data (bad magic)"));
    }
    let (&method, &flags) = (
        data.get(2).ok_or_else(|| err("truncated header"))?,
        data.get(3).ok_or_else(|| err("truncated header"))?,
    );
    if method != 8 {
        return Err(err("unknown compression method"));
    }
    let mut pos = 10usize;
    if data.len() < pos {
        return Err(err("truncated header"));
    }
    if flags & FEXTRA != 0 {
        let lo = *data.get(pos).ok_or_else(|| err("truncated FEXTRA"))?;
        let hi = *data.get(pos + 1).ok_or_else(|| err("truncated FEXTRA"))?;
        pos += 2 + usize::from(u16::from_le_bytes([lo, hi]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = data
                .get(pos..)
                .ok_or_else(|| err("truncated name/comment"))?;
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| err("unterminated name/comment"))?;
            pos += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    let body = data.get(pos..).ok_or_else(|| err("truncated header"))?;
    let (out, used) = inflate(body, limit).map_err(|m| err(&m))?;
    let trailer = body
        .get(used..used + 8)
        .ok_or_else(|| err("truncated trailer"))?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc32(&out) != crc {
        return Err(err("CRC mismatch (corrupt data)"));
    }
    if out.len() as u32 != isize {
        return Err(err("length mismatch (corrupt data)"));
    }
    Ok(out)
}

/// Raw-DEFLATE decode; returns the output and the bytes consumed.
fn inflate(body: &[u8], limit: usize) -> Result<(Vec<u8>, usize), String> {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
    let mut state = DecompressorOxide::new();
    let mut out = vec![0u8; limit.clamp(1, 64 * 1024)];
    let (mut in_pos, mut out_pos) = (0usize, 0usize);
    loop {
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
            | inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
        let input = body.get(in_pos..).unwrap_or(&[]);
        let (status, consumed, written) = decompress(&mut state, input, &mut out, out_pos, flags);
        in_pos += consumed;
        out_pos += written;
        match status {
            TINFLStatus::Done => {
                out.truncate(out_pos);
                return Ok((out, in_pos));
            }
            TINFLStatus::HasMoreOutput => {
                if out.len() >= limit {
                    return Err(format!("output larger than {limit} bytes"));
                }
                let grown = out.len().saturating_mul(2).min(limit);
                out.resize(grown, 0);
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                return Err("truncated data".into());
            }
            _ => return Err("corrupt DEFLATE data".into()),
        }
    }
}

/// CRC-32 (IEEE), bitwise: gzip trailers are small and this runs rarely.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    // `printf 'hello\n' | gzip -n` made with GNU gzip.
    const HELLO: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
        0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn decodes_gnu_gzip() {
        assert_eq!(decompress(HELLO, 1 << 20).unwrap(), b"hello\n");
    }

    #[test]
    fn rejects_corruption() {
        let mut bad = HELLO.to_vec();
        bad[18] ^= 1; // first CRC byte
        assert!(decompress(&bad, 1 << 20).unwrap_err().0.contains("CRC"));
        let mut bad = HELLO.to_vec();
        bad[22] ^= 1; // first ISIZE byte
        assert!(decompress(&bad, 1 << 20).unwrap_err().0.contains("length"));
        assert!(decompress(&HELLO[..12], 1 << 20).is_err());
        assert!(
            decompress(b"BZh9", 1 << 20)
                .unwrap_err()
                .0
                .contains("magic")
        );
        assert!(decompress(HELLO, 3).unwrap_err().0.contains("larger"));
    }

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut d = data.clone();
            if d.len() > 2 { d[0] = 0x1f; d[1] = 0x8b; }
            let _ = decompress(&d, 1 << 16);
        }
    }
}
