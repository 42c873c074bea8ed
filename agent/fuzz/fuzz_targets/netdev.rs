#![no_main]
//! dracut's `vlan=`, `bond=`, `rd.route=`: never panic; whatever parses
//! is well-formed (ids in range, canonical routes that read back the
//! same, bond options that print and parse back to the same bond, and
//! link messages whose lengths add up).
use libfuzzer_sys::fuzz_target;
use netinit_core::netdev::{parse_bond, parse_route, parse_vlan};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = parse_vlan(text) {
        assert!((1..=4094).contains(&v.id));
        let m = netinit_core::netlink::new_vlan(1, &v.name, 2, v.id);
        assert_eq!(m.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize,
            m.len()
        );
    }
    if let Ok(r) = parse_route(text) {
        assert_eq!(r.dest.network(), r.dest.addr);
        assert!(r.gateway.is_some() || r.device.is_some());
        let again = format!(
            "{}/{}:{}:{}",
            r.dest.addr,
            r.dest.prefix,
            r.gateway.map(|g| g.to_string()).unwrap_or_default(),
            r.device.clone().unwrap_or_default()
        );
        assert_eq!(parse_route(&again).as_ref(), Ok(&r));
    }
    if let Ok(b) = parse_bond(Some(text)) {
        assert!(!b.slaves.is_empty());
        let again = format!(
            "{}:{}:{}:{}",
            b.name,
            b.slaves.join(","),
            b.option_words().join(","),
            b.mtu.map(|m| m.to_string()).unwrap_or_default()
        );
        assert_eq!(parse_bond(Some(&again)).as_ref(), Ok(&b));
        let m = netinit_core::netlink::new_bond(1, &b, Some(3));
        assert_eq!(
            u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize,
            m.len()
        );
    }
});
