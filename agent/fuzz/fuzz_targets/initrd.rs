#![no_main]
//! `netinit-mkinitrd --list`'s segment walker on hostile initrds: plain
//! cpio segments, zero padding and gzip streams (decoded by the core's own
//! inflater). Never panics, always ends, and segment numbers only grow.
use libfuzzer_sys::fuzz_target;
use netinit_core::cpio::{self, Compression, MAX_NESTED_COMPRESSION};

fuzz_target!(|data: &[u8]| {
    let mut calls = 0;
    let result = cpio::read_initrd(data.to_vec(), |method, stream| {
        calls += 1;
        match method {
            Compression::Gzip => {
                netinit_core::gzip::decompress(stream, 1 << 20).map_err(|e| e.to_string())
            }
            // The other formats decode to themselves: the walk must still end.
            _ => Ok(stream.to_vec()),
        }
    });
    assert!(calls <= MAX_NESTED_COMPRESSION);
    if let Ok(entries) = result {
        assert!(entries.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(entries.iter().all(|(_, e)| !e.path.starts_with('/')));
    }
});
