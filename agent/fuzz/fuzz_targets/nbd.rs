#![no_main]
//! NBD: `root=nbd:` never panics and keeps what it promised (a port, a
//! bounded export name); the handshake, fed any server bytes in the sizes
//! it asks for, asks for at most 64 KiB at a time, sends only well-formed
//! option requests, ends only with an export whose kernel block size the
//! kernel takes, and stops asking once done; a CONNECT request decodes
//! back as one message with its four attributes; the genetlink decoder
//! and the superblock sniffer never panic.
use libfuzzer_sys::fuzz_target;
use netinit_core::nbd::{self, Export, Handshake, Reply};

const IHAVEOPT: &[u8] = b"IHAVEOPT";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = nbd::parse_nbd_root(&text) {
        assert_ne!(s.port, 0);
        assert!(s.export.len() <= 4096);
        assert!(text.starts_with(&s.server.to_string()));
    }
    let _ = nbd::decode(data);
    let _ = nbd::sniff_fstype(data);

    let (name, stream) = data.split_at(data.len().min(8));
    let name = String::from_utf8_lossy(name);
    let Ok(mut h) = Handshake::new(&name) else {
        return;
    };
    let mut rest = stream;
    let mut sent_any = false;
    loop {
        if let Some(e) = h.export() {
            assert_eq!(h.need(), 0);
            let b = e.kernel_block_size();
            assert!(b.is_power_of_two() && (512..=4096).contains(&b));
            break;
        }
        let need = h.need();
        assert!(need > 0 && need <= 64 * 1024);
        if rest.len() < need {
            break;
        }
        let (chunk, tail) = rest.split_at(need);
        rest = tail;
        match h.feed(chunk) {
            Ok(out) if out.is_empty() => {}
            Ok(out) => {
                // The first send is the client flags, then an option; later
                // sends are options only.
                let opt = if sent_any { &out[..] } else { &out[4..] };
                assert!(opt.starts_with(IHAVEOPT));
                let len = u32::from_be_bytes([opt[12], opt[13], opt[14], opt[15]]) as usize;
                assert_eq!(opt.len(), 16 + len);
                sent_any = true;
            }
            Err(_) => break,
        }
    }

    if data.len() >= 14 {
        let e = Export {
            size: u64::from_le_bytes([
                data[0], data[1], data[2], data[3], data[4], data[5], data[6], data[7],
            ]),
            flags: u16::from_le_bytes([data[8], data[9]]),
            min_block: Some(u32::from_le_bytes([data[10], data[11], data[12], data[13]])),
        };
        let msg = nbd::connect(30, 9, 5, &e);
        match nbd::decode(&msg).as_deref() {
            Ok([Reply::Attrs { seq: 9, attrs }]) => assert_eq!(attrs.len(), 4),
            other => panic!("CONNECT does not decode back: {other:?}"),
        }
    }
});
