#![no_main]
//! rtnetlink: the reply decoder never panics, decodes a datagram of two
//! messages as the two decoded one after the other, and reads back the
//! address and MTU requests netinit encodes.
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use netinit_core::net::Ipv4Cidr;
use netinit_core::netlink::{self, Addr, Message};

fuzz_target!(|data: &[u8]| {
    let decoded = netlink::decode(data);

    let mut u = Unstructured::new(data);
    let (Ok(seq), Ok(index), Ok(addr), Ok(prefix), Ok(brd), Ok(mtu)) = (
        u.arbitrary::<u32>(),
        u.arbitrary::<u32>(),
        u.arbitrary::<[u8; 4]>(),
        u.int_in_range(0..=32u8),
        u.arbitrary::<Option<[u8; 4]>>(),
        u.arbitrary::<u32>(),
    ) else {
        return;
    };
    let cidr = Ipv4Cidr {
        addr: addr.into(),
        prefix,
    };
    let req = netlink::add_address(seq, index, cidr, brd.map(Into::into));
    assert_eq!(
        netlink::decode(&req),
        // No IFA_CACHEINFO in what we send: the address never expires.
        Ok(vec![Message::Addr(Addr {
            index,
            cidr,
            valid_secs: netlink::INFINITY_LIFE_TIME
        })])
    );
    match netlink::decode(&netlink::set_mtu(seq, index, mtu)).as_deref() {
        Ok([Message::Link(l)]) => assert!(l.index == index && l.mtu == mtu && l.name.is_empty()),
        other => panic!("set_mtu decodes as {other:?}"),
    }
    // Framing: a valid message followed by the input decodes as both.
    let mut both = req.clone();
    both.extend_from_slice(data);
    match (netlink::decode(&both), decoded) {
        (Ok(all), Ok(rest)) => {
            assert_eq!(
                all[0],
                Message::Addr(Addr {
                    index,
                    cidr,
                    valid_secs: netlink::INFINITY_LIFE_TIME
                })
            );
            assert_eq!(&all[1..], &rest[..]);
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("prefixing a valid message changed the verdict: {a:?} vs {b:?}"),
    }
});
