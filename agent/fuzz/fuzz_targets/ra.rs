#![no_main]
//! Router advertisements: parsing never panics; what parses re-encodes to
//! an RA that parses to the same prefixes, MTU and flags; SLAAC addresses
//! are inside their /64 and never link-local.
use libfuzzer_sys::fuzz_target;
use netinit_core::dhcp6::ra::{RouterAdvert, Solicitor};
use netinit_core::net::MacAddr;

fuzz_target!(|data: &[u8]| {
    let mac = MacAddr([0x52, 0x54, 0, 0, 0, 1]);
    let mut ra_bytes = vec![134u8, 0];
    ra_bytes.extend_from_slice(data);
    for b in [data, &ra_bytes[..]] {
        if let Ok(ra) = RouterAdvert::parse(b) {
            let again = RouterAdvert::parse(&ra.encode()).expect("re-encoded RA parses");
            assert_eq!(again.prefixes, ra.prefixes);
            assert_eq!(again.mtu, ra.mtu);
            assert_eq!(again.rdnss, ra.rdnss);
            assert_eq!((again.managed, again.other), (ra.managed, ra.other));
            for (addr, p) in ra.slaac(mac) {
                assert_eq!(addr.segments()[..4], p.prefix.segments()[..4]);
                assert_ne!(addr.segments()[0], 0xfe80);
            }
        }
        let mut s = Solicitor::new(mac, true);
        let _ = s.poll(0);
        let _ = s.receive("fe80::1".parse().unwrap(), 255, b);
    }
});
