//! The newc cpio format ("070701"), as the kernel's initramfs unpacker
//! reads it. Writer and reader are pure and deterministic: entries are
//! sorted, parents come before children, owners are root, and every mtime
//! is the one given (SOURCE_DATE_EPOCH).

use std::collections::BTreeMap;
use std::fmt;

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFMT: u32 = 0o170_000;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(String),
    /// Character device (major, minor).
    CharDev(u32, u32),
}

/// One archive member. Paths have no leading `/` (`dev/console`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    /// Permission bits (`0o755`).
    pub perm: u32,
    pub kind: Kind,
}

impl Entry {
    pub fn size(&self) -> usize {
        match &self.kind {
            Kind::File(d) => d.len(),
            Kind::Symlink(t) => t.len(),
            _ => 0,
        }
    }

    fn mode(&self) -> u32 {
        let ty = match self.kind {
            Kind::File(_) => S_IFREG,
            Kind::Dir => S_IFDIR,
            Kind::Symlink(_) => S_IFLNK,
            Kind::CharDev(..) => S_IFCHR,
        };
        ty | (self.perm & 0o7777)
    }

    /// `-rwxr-xr-x`-style type and permissions.
    pub fn mode_string(&self) -> String {
        let t = match self.kind {
            Kind::File(_) => '-',
            Kind::Dir => 'd',
            Kind::Symlink(_) => 'l',
            Kind::CharDev(..) => 'c',
        };
        let mut s = String::from(t);
        for shift in [6, 3, 0] {
            let bits = (self.perm >> shift) & 7;
            s.push(if bits & 4 != 0 { 'r' } else { '-' });
            s.push(if bits & 2 != 0 { 'w' } else { '-' });
            s.push(if bits & 1 != 0 { 'x' } else { '-' });
        }
        s
    }
}

/// A set of entries keyed by path; adding a path twice replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archive {
    entries: BTreeMap<String, Entry>,
}

/// Why `path` is not a plain relative path that stays inside the
/// directory it is joined to: absolute, or with a `..` component.
pub fn escapes(path: &str) -> Option<&'static str> {
    if path.starts_with('/') {
        Some("is absolute")
    } else if path.split('/').any(|c| c == "..") {
        Some("has a '..' component")
    } else {
        None
    }
}

fn clean(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Archive {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry and any missing parent directories (mode 0755).
    /// A `..` component is refused: unpacked, it would land outside the
    /// initramfs root (leading `/` is fine, entries are relative anyway).
    pub fn add(&mut self, path: &str, perm: u32, kind: Kind) -> Result<(), String> {
        if path.split('/').any(|c| c == "..") {
            return Err(format!("cpio entry '{path}' has a '..' component"));
        }
        let path = clean(path);
        if path.is_empty() {
            return Ok(());
        }
        let mut parent = String::new();
        for comp in path
            .split('/')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(comp);
            self.entries.entry(parent.clone()).or_insert_with(|| Entry {
                path: parent.clone(),
                perm: 0o755,
                kind: Kind::Dir,
            });
        }
        self.entries
            .insert(path.clone(), Entry { path, perm, kind });
        Ok(())
    }

    pub fn file(&mut self, path: &str, perm: u32, data: Vec<u8>) -> Result<(), String> {
        self.add(path, perm, Kind::File(data))
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Serializes in path order (parents first), inode numbers from 1,
    /// every mtime `mtime`, owners 0:0, then the trailer, padded to 512.
    pub fn write(&self, mtime: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for (ino, e) in self.entries.values().enumerate() {
            let (data, rdev): (&[u8], (u32, u32)) = match &e.kind {
                Kind::File(d) => (d, (0, 0)),
                Kind::Symlink(t) => (t.as_bytes(), (0, 0)),
                Kind::Dir => (&[], (0, 0)),
                Kind::CharDev(ma, mi) => (&[], (*ma, *mi)),
            };
            let nlink = if matches!(e.kind, Kind::Dir) { 2 } else { 1 };
            // A member named like the trailer would end the archive early;
            // `./` names the same file and reads back the same (`clean`).
            let name = if e.path == TRAILER {
                format!("./{TRAILER}")
            } else {
                e.path.clone()
            };
            header(
                &mut out,
                ino as u32 + 1,
                e.mode(),
                nlink,
                mtime,
                data.len() as u32,
                rdev,
                &name,
            );
            out.extend_from_slice(data);
            pad4(&mut out);
        }
        header(&mut out, 0, 0, 1, 0, 0, (0, 0), TRAILER);
        // The kernel doesn't need it, but tools and concatenation like 512-byte blocks.
        while out.len() % 512 != 0 {
            out.push(0);
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn header(
    out: &mut Vec<u8>,
    ino: u32,
    mode: u32,
    nlink: u32,
    mtime: u32,
    size: u32,
    rdev: (u32, u32),
    name: &str,
) {
    out.extend_from_slice(MAGIC);
    let namesize = name.len() as u32 + 1;
    for v in [
        ino, mode, 0, 0, nlink, mtime, size, 0, 0, rdev.0, rdev.1, namesize, 0,
    ] {
        out.extend_from_slice(format!("{v:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// A malformed archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpio at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ReadError {}

/// True when `data` starts with a newc header.
pub fn is_cpio(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// Reads one archive (up to and including its trailer) starting at the
/// beginning of `data`; returns its entries and the bytes consumed,
/// including zero padding after the trailer. What follows may be another
/// archive, or a compressed one (initrds concatenate them).
pub fn read_segment(data: &[u8]) -> Result<(Vec<Entry>, usize), ReadError> {
    let mut entries = Vec::new();
    let mut at = 0usize;
    loop {
        let err = |reason: &str| ReadError {
            offset: at,
            reason: reason.to_owned(),
        };
        let head = data
            .get(at..at + HEADER_LEN)
            .ok_or_else(|| err("truncated header"))?;
        if &head[..6] != MAGIC {
            return Err(err(if head.starts_with(b"070707") {
                "old binary/odc cpio is not newc"
            } else {
                "bad magic (not newc cpio)"
            }));
        }
        let field = |i: usize| -> Result<u32, ReadError> {
            let hex = std::str::from_utf8(&head[6 + i * 8..14 + i * 8])
                .map_err(|_| err("non-ASCII header"))?;
            u32::from_str_radix(hex, 16).map_err(|_| err("non-hex header field"))
        };
        let mode = field(1)?;
        let size = field(6)? as usize;
        let (rmaj, rmin) = (field(9)?, field(10)?);
        let namesize = field(11)? as usize;
        if namesize == 0 {
            return Err(err("empty name"));
        }
        let name_at = at + HEADER_LEN;
        let name = data
            .get(name_at..name_at + namesize - 1)
            .ok_or_else(|| err("truncated name"))?;
        let name = std::str::from_utf8(name)
            .map_err(|_| err("name is not UTF-8"))?
            .to_owned();
        let data_at = align4(name_at + namesize);
        let body = data
            .get(
                data_at
                    ..data_at
                        .checked_add(size)
                        .ok_or_else(|| err("size overflow"))?,
            )
            .ok_or_else(|| err("truncated data"))?;
        at = align4(data_at + size);
        if name == TRAILER {
            while data.get(at) == Some(&0) {
                at += 1;
            }
            return Ok((entries, at));
        }
        let perm = mode & 0o7777;
        let kind = match mode & S_IFMT {
            S_IFREG => Kind::File(body.to_vec()),
            S_IFDIR => Kind::Dir,
            S_IFLNK => Kind::Symlink(String::from_utf8_lossy(body).into_owned()),
            S_IFCHR => Kind::CharDev(rmaj, rmin),
            other => {
                return Err(ReadError {
                    offset: at,
                    reason: format!("unsupported file type {other:o} for {name}"),
                });
            }
        };
        entries.push(Entry {
            path: clean(&name),
            perm,
            kind,
        });
    }
}

/// How a compressed initrd segment is compressed, by its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
}

impl Compression {
    pub fn of(data: &[u8]) -> Option<Compression> {
        if data.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }
}

/// Compressed streams inside compressed streams before giving up: real
/// initrds have one (after any plain early cpio); a stream that decodes
/// to itself (a compression quine) must not loop forever.
pub const MAX_NESTED_COMPRESSION: usize = 4;

/// Every entry of every segment of an initrd, in order, with its segment
/// number: plain cpio archives (early microcode), then compressed ones.
/// `decompress` decodes a compressed stream and everything after it (as
/// `gzip -dc` does with concatenated members); the walk continues in its
/// output. A later segment's entry wins at boot: the kernel unpacks in order.
pub fn read_initrd(
    mut data: Vec<u8>,
    mut decompress: impl FnMut(Compression, &[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<(usize, Entry)>, String> {
    let mut out = Vec::new();
    let mut segment = 0;
    let mut at = 0;
    let mut nested = 0;
    while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
        if rest[0] == 0 {
            at += 1;
            continue;
        }
        if is_cpio(rest) {
            let (entries, used) =
                read_segment(rest).map_err(|e| format!("segment {segment}: {e}"))?;
            out.extend(entries.into_iter().map(|e| (segment, e)));
            at += used;
            segment += 1;
        } else if let Some(method) = Compression::of(rest) {
            nested += 1;
            if nested > MAX_NESTED_COMPRESSION {
                return Err(format!(
                    "segment {segment} at byte {at}: more than {MAX_NESTED_COMPRESSION} nested compressed streams"
                ));
            }
            data = decompress(method, rest)?;
            at = 0;
        } else {
            return Err(format!(
                "segment {segment} at byte {at}: neither cpio nor gzip/zstd/xz"
            ));
        }
    }
    Ok(out)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Archive {
        let mut a = Archive::new();
        a.file("/init", 0o755, b"#!/bin/sh\necho hi\n".to_vec())
            .unwrap();
        a.add("dev/console", 0o600, Kind::CharDev(5, 1)).unwrap();
        a.file(
            "lib/modules/6.1.0/kernel/fs/nfs/nfs.ko",
            0o644,
            vec![0x7f, b'E', b'L', b'F'],
        )
        .unwrap();
        a.add("bin/sh", 0o777, Kind::Symlink("busybox".into()))
            .unwrap();
        a
    }

    /// Found by the `cpio_roundtrip` fuzz target: a member named
    /// `TRAILER!!!` ended the archive there.
    #[test]
    fn a_member_named_like_the_trailer_round_trips() {
        let mut a = sample();
        a.file("TRAILER!!!", 0o644, b"x".to_vec()).unwrap();
        let bytes = a.write(0);
        let (entries, used) = read_segment(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(entries, a.entries().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn initrd_walks_plain_then_compressed_segments() {
        let early = sample().write(0);
        let mut data = early.clone();
        data.extend_from_slice(&[0x1f, 0x8b, 8, 0]);
        let all = read_initrd(data, |m, _| {
            assert_eq!(m, Compression::Gzip);
            Ok(early.clone())
        })
        .unwrap();
        assert_eq!(all.len(), 2 * sample().len());
        assert_eq!(all.last().map(|(seg, _)| *seg), Some(1));
    }

    /// A compressed stream that decodes to itself (a gzip quine does) made
    /// `--list` loop forever; now the nesting is bounded.
    #[test]
    fn a_stream_that_decodes_to_itself_ends() {
        let mut calls = 0;
        let e = read_initrd(vec![0x28, 0xb5, 0x2f, 0xfd, 1], |_, s| {
            calls += 1;
            Ok(s.to_vec())
        })
        .unwrap_err();
        assert!(e.contains("nested compressed streams"), "{e}");
        assert_eq!(calls, MAX_NESTED_COMPRESSION);
    }

    #[test]
    fn parents_are_added_and_come_first() {
        let a = sample();
        let paths: Vec<&str> = a.entries().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "bin",
                "bin/sh",
                "dev",
                "dev/console",
                "init",
                "lib",
                "lib/modules",
                "lib/modules/6.1.0",
                "lib/modules/6.1.0/kernel",
                "lib/modules/6.1.0/kernel/fs",
                "lib/modules/6.1.0/kernel/fs/nfs",
                "lib/modules/6.1.0/kernel/fs/nfs/nfs.ko"
            ]
        );
    }

    #[test]
    fn round_trip_and_determinism() {
        let bytes = sample().write(1_700_000_000);
        assert_eq!(bytes.len() % 512, 0);
        assert_eq!(bytes, sample().write(1_700_000_000));
        let (entries, used) = read_segment(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(entries, sample().entries().cloned().collect::<Vec<_>>());
        // The first header, exactly: ino 1, dir 040755, nlink 2, mtime.
        let want = format!(
            "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            1, 0o040_755, 0, 0, 2, 1_700_000_000u32
        );
        assert_eq!(&bytes[..54], want.as_bytes());
    }

    #[test]
    fn concatenated_segments() {
        let mut two = sample().write(0);
        let mut b = Archive::new();
        b.file("init", 0o755, b"other".to_vec()).unwrap();
        two.extend(b.write(0));
        let (first, used) = read_segment(&two).unwrap();
        assert_eq!(first.len(), 12);
        let (second, rest) = read_segment(&two[used..]).unwrap();
        assert_eq!(second[0].kind, Kind::File(b"other".to_vec()));
        assert_eq!(used + rest, two.len());
    }

    #[test]
    fn the_writer_refuses_dotdot_entries() {
        let mut a = Archive::new();
        for bad in ["../etc/passwd", "lib/../../x", "a/.."] {
            let e = a.file(bad, 0o644, b"x".to_vec()).unwrap_err();
            assert!(e.contains("'..'"), "{e}");
        }
        assert!(
            a.add("lib/modules/..", 0o777, Kind::Symlink("/".into()))
                .is_err()
        );
        let paths: Vec<&str> = a.entries().map(|e| e.path.as_str()).collect();
        assert!(
            paths.iter().all(|p| !p.split('/').any(|c| c == "..")),
            "{paths:?}"
        );
        let (read, _) = read_segment(&a.write(0)).unwrap();
        assert!(read.iter().all(|e| !e.path.split('/').any(|c| c == "..")));
    }

    #[test]
    fn rejects_damage() {
        let bytes = sample().write(0);
        assert!(
            read_segment(&bytes[..50])
                .unwrap_err()
                .reason
                .contains("truncated header")
        );
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(read_segment(&bad).unwrap_err().reason.contains("bad magic"));
        let mut bad = bytes.clone();
        bad[60] = b'Z';
        assert!(read_segment(&bad).unwrap_err().reason.contains("non-hex"));
        assert!(read_segment(&bytes[..300]).is_err());
        assert_eq!(
            sample()
                .entries()
                .find(|e| e.path == "init")
                .unwrap()
                .mode_string(),
            "-rwxr-xr-x"
        );
    }

    proptest! {
        #[test]
        fn read_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_segment(&data);
            let mut framed = b"070701".to_vec();
            framed.extend(&data);
            let _ = read_segment(&framed);
        }

        #[test]
        fn write_read_round_trips(files in proptest::collection::btree_map("[a-z]{1,6}(/[a-z]{1,6}){0,3}", proptest::collection::vec(any::<u8>(), 0..50), 0..10)) {
            let mut a = Archive::new();
            for (p, d) in &files {
                a.file(p, 0o644, d.clone()).unwrap();
            }
            let (entries, _) = read_segment(&a.write(7)).unwrap();
            prop_assert_eq!(entries, a.entries().cloned().collect::<Vec<_>>());
        }
    }
}
