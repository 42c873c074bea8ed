//! ARP address conflict detection (RFC 5227): the probe netinit sends
//! before configuring an address, and how a received ARP packet is judged.
//! Payloads are what an AF_PACKET/SOCK_DGRAM socket for ETH_P_ARP carries
//! (the kernel adds and strips the Ethernet header).

use std::net::Ipv4Addr;

use crate::net::MacAddr;

// A table of constants, alike only in shape to netlink.rs's (other numbers).
/// Probes sent, and the gap between them. RFC 5227 spaces three probes
/// 1–2 s apart and waits 2 s more; at boot, on a switched segment where
/// a holder of the address answers in well under a millisecond, netinit
/// spends [`LISTEN_MS`] in all.
pub const PROBES: u32 = 3;
pub const PROBE_INTERVAL_MS: u64 = 100;
/// How long after the first probe an answer still counts.
pub const LISTEN_MS: u64 = 300;

const ARP_LEN: usize = 28;
const OP_REQUEST: u16 = 1;
const OP_REPLY: u16 = 2;

/// An ARP probe for `target`: a request with sender IP 0.0.0.0, so that
/// no host's ARP cache learns a binding we don't have yet.
pub fn probe(mac: MacAddr, target: Ipv4Addr) -> Vec<u8> {
    let mut p = Vec::with_capacity(ARP_LEN);
    p.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    p.extend_from_slice(&OP_REQUEST.to_be_bytes());
    p.extend_from_slice(&mac.0);
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&target.octets());
    p
}

/// The MAC of another host that claims `target`, if this ARP packet
/// shows one: any ARP packet whose sender IP is `target`, or another
/// host's probe for `target` (both probing at once: RFC 5227 2.1.1).
/// Our own packets (looped back) and malformed ones are not conflicts.
pub fn conflict(payload: &[u8], ours: MacAddr, target: Ipv4Addr) -> Option<MacAddr> {
    let p = payload.get(..ARP_LEN)?;
    if p[..6] != [0, 1, 0x08, 0x00, 6, 4] {
        return None;
    }
    let op = u16::from_be_bytes([p[6], p[7]]);
    if op != OP_REQUEST && op != OP_REPLY {
        return None;
    }
    let sha = MacAddr(p[8..14].try_into().ok()?);
    let spa = Ipv4Addr::new(p[14], p[15], p[16], p[17]);
    let tpa = Ipv4Addr::new(p[24], p[25], p[26], p[27]);
    if sha == ours {
        return None;
    }
    let probe_for_it = op == OP_REQUEST && spa.is_unspecified() && tpa == target;
    (spa == target || probe_for_it).then_some(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const THEM: MacAddr = MacAddr([2, 0, 0, 0, 0, 9]);
    const IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);

    fn arp(op: u16, sha: MacAddr, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
        let mut p = probe(sha, tpa);
        p[6..8].copy_from_slice(&op.to_be_bytes());
        p[14..18].copy_from_slice(&spa.octets());
        p
    }

    #[test]
    fn probe_layout() {
        let p = probe(US, IP);
        assert_eq!(p.len(), 28);
        assert_eq!(&p[..8], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&p[8..14], &US.0);
        assert_eq!(&p[14..18], &[0, 0, 0, 0]);
        assert_eq!(&p[24..28], &IP.octets());
    }

    #[test]
    fn what_counts_as_a_conflict() {
        let other = Ipv4Addr::new(10, 77, 0, 7);
        // The holder answers our probe, or announces/uses the address.
        assert_eq!(conflict(&arp(2, THEM, IP, IP), US, IP), Some(THEM));
        assert_eq!(conflict(&arp(1, THEM, IP, other), US, IP), Some(THEM));
        // Another host probing for the same address at the same time.
        assert_eq!(
            conflict(&arp(1, THEM, Ipv4Addr::UNSPECIFIED, IP), US, IP),
            Some(THEM)
        );
        // Not conflicts: our own probe looped back, other hosts' traffic,
        // a request *for* the address from a configured host, garbage.
        assert_eq!(conflict(&probe(US, IP), US, IP), None);
        assert_eq!(conflict(&arp(2, THEM, other, IP), US, IP), None);
        assert_eq!(conflict(&arp(1, THEM, other, IP), US, IP), None);
        assert_eq!(conflict(&arp(3, THEM, IP, IP), US, IP), None);
        assert_eq!(conflict(&arp(2, THEM, IP, IP)[..20], US, IP), None);
        let mut ipv6ish = arp(2, THEM, IP, IP);
        ipv6ish[2] = 0x86;
        assert_eq!(conflict(&ipv6ish, US, IP), None);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = conflict(&data, US, IP);
        }
    }
}
