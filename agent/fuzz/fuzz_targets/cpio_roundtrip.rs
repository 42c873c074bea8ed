#![no_main]
//! cpio writer → reader: whatever entries go in come back out, in order,
//! and the reader consumes exactly what the writer wrote.
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use netinit_core::cpio::{self, Archive, Kind};

fn kind(u: &mut Unstructured) -> Result<Kind> {
    Ok(match u.int_in_range(0..=3)? {
        0 => Kind::File(u.arbitrary()?),
        1 => Kind::Dir,
        2 => Kind::Symlink(u.arbitrary()?),
        _ => Kind::CharDev(u.arbitrary()?, u.arbitrary()?),
    })
}

fn archive(u: &mut Unstructured) -> Result<Archive> {
    let mut a = Archive::new();
    for _ in 0..u.int_in_range(0..=12)? {
        // File names can't hold NUL; everything else goes.
        let path = u.arbitrary::<String>()?.replace('\0', "");
        let perm = u.int_in_range(0..=0o7777)?;
        // Only a '..' component is refused; it never reaches the archive.
        let dotdot = path.split('/').any(|c| c == "..");
        let before = a.len();
        match a.add(&path, perm, kind(u)?) {
            Ok(()) => assert!(!dotdot, "{path:?} accepted"),
            Err(_) => assert!(dotdot && a.len() == before, "{path:?}"),
        }
    }
    Ok(a)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(a) = archive(&mut u) else { return };
    let mtime = u.arbitrary().unwrap_or(0);
    let bytes = a.write(mtime);
    assert_eq!(bytes.len() % 512, 0);
    let (entries, used) = cpio::read_segment(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(used, bytes.len());
    let want: Vec<_> = a.entries().cloned().collect();
    assert_eq!(entries, want);
    // Parents come before their children (the kernel creates in order).
    for (i, e) in entries.iter().enumerate() {
        assert!(
            !e.path.is_empty() && !e.path.starts_with('/') && !e.path.ends_with('/'),
            "{:?}",
            e.path
        );
        if let Some((parent, _)) = e.path.rsplit_once('/') {
            assert!(
                entries[..i].iter().any(|p| p.path == parent),
                "{:?} before its parent in {entries:?}",
                e.path
            );
        }
    }
    // Concatenated archives read as an initrd: both segments, in order.
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes);
    let all = cpio::read_initrd(twice, |_, _| Err("no compression here".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 2 * want.len());
    assert!(
        all.iter()
            .zip(want.iter().chain(want.iter()))
            .all(|((_, a), b)| a == b)
    );
});
