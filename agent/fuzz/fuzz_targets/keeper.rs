#![no_main]
//! The lease keepers' inputs: their argument words (what `ps` shows, for
//! DHCPv4 and DHCPv6) round trip; /proc/net/udp and udp6 text yields only
//! inodes it contains; and the DHCPv4 renewal machine, fed any replies at
//! any times, always schedules its next wakeup in the future and only
//! ever claims its own address (the DHCPv6 one is driven by `dhcp6`).
use std::net::{Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use netinit_core::dhcp::ClientConfig;
use netinit_core::dhcp::packet::{Packet, opt};
use netinit_core::dhcp::renew::{Event, Renewer};
use netinit_core::keeper::{Held, Held6, dhcp_client_sockets, dhcp6_client_sockets};
use netinit_core::net::Ipv4Cidr;
use netinit_core::net::{LeaseTimes, MacAddr};

const ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let words: Vec<&str> = text.split([' ', '\n']).collect();
    if let Ok(h) = Held::parse(&words) {
        assert_eq!(Held::parse(&h.to_args()), Ok(h));
    }
    if let Ok(h) = Held6::parse(&words) {
        assert!(!h.server_duid.is_empty() && h.server_duid.len() <= 130);
        assert_eq!(Held6::parse(&h.to_args()), Ok(h));
    }
    for inode in dhcp_client_sockets(&text, ADDR) {
        assert!(text.contains(&inode.to_string()));
    }
    for inode in dhcp6_client_sockets(&text, Ipv6Addr::UNSPECIFIED) {
        assert!(inode != 0 && text.contains(&inode.to_string()));
    }

    let mut u = Unstructured::new(data);
    let (Ok(lease), Ok(t1), Ok(t2)) = (
        u.arbitrary::<u32>(),
        u.arbitrary::<u32>(),
        u.arbitrary::<u32>(),
    ) else {
        return;
    };
    let cfg = ClientConfig {
        mac: MacAddr([0x52, 0x54, 0, 0x77, 0, 1]),
        hostname: None,
        vendor_class: "netinit".into(),
        rapid_commit: false,
    };
    let times = LeaseTimes {
        lease_secs: lease,
        t1_secs: t1,
        t2_secs: t2,
        bound_at_ms: 0,
    };
    let cidr = Ipv4Cidr {
        addr: ADDR,
        prefix: 24,
    };
    let mut r = Renewer::new(cfg, cidr, Ipv4Addr::new(10, 77, 0, 1), times, 7);
    let mut now = 0u64;
    // An exhausted Unstructured keeps yielding zeros: bound the events.
    for _ in 0..64 {
        if u.is_empty() {
            break;
        }
        let (Ok(step), Ok(reply)) = (u.arbitrary::<u32>(), u.arbitrary::<Vec<u8>>()) else {
            break;
        };
        now = now.saturating_add(u64::from(step));
        for e in r.poll(now) {
            if let Event::Send { payload, .. } = e {
                let p = Packet::decode(&payload).unwrap_or_else(|e| panic!("{e}"));
                assert!(p.ciaddr == ADDR || p.options.addr(opt::REQUESTED_IP) == Some(ADDR));
            }
        }
        if let Some(next) = r.next_wakeup() {
            assert!(next > now || now == u64::MAX, "wakeup {next} at {now}");
        }
        let _ = r.receive(now, r.server(), &reply);
    }
});
