//! IPv4 + UDP framing for DHCP on an AF_PACKET socket: the NIC has no
//! address yet, so we build and parse the IP and UDP headers ourselves.

use std::net::Ipv4Addr;

pub const CLIENT_PORT: u16 = 68;
pub const SERVER_PORT: u16 = 67;
const IPPROTO_UDP: u8 = 17;

/// The Internet checksum over `data`, starting from `sum`.
fn checksum(mut sum: u32, data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_sum(src: Ipv4Addr, dst: Ipv4Addr, udp_len: u16) -> u32 {
    let s = src.octets();
    let d = dst.octets();
    [
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([d[0], d[1]]),
        u16::from_be_bytes([d[2], d[3]]),
        u16::from(IPPROTO_UDP),
        udp_len,
    ]
    .iter()
    .map(|&w| u32::from(w))
    .sum()
}

/// Wraps a DHCP payload in IPv4 and UDP headers (client → server).
pub fn wrap(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    frame(src, dst, CLIENT_PORT, SERVER_PORT, payload)
}

/// A server → client datagram to the broadcast address: what a DHCP
/// server sends. For fakes, tests and the fuzzer (the `test-support`
/// feature), never in /init.
#[cfg(any(test, feature = "test-support"))]
pub fn wrap_reply(src: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    frame(src, Ipv4Addr::BROADCAST, SERVER_PORT, CLIENT_PORT, payload)
}

fn frame(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    // DHCP payloads are well under 64 KiB; saturate rather than wrap.
    let udp_len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX - 20);
    let total = 20 + udp_len;
    let mut p = Vec::with_capacity(usize::from(total));
    p.extend_from_slice(&[0x45, 0x10]); // IPv4, IHL 5; TOS low-delay as dhclient does
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]); // id, flags/fragment
    p.extend_from_slice(&[64, IPPROTO_UDP, 0, 0]); // TTL, protocol, checksum
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let ip_sum = checksum(0, &p[..20]);
    p[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    let mut udp_sum = checksum(pseudo_sum(src, dst, udp_len), &p[20..]);
    if udp_sum == 0 {
        udp_sum = 0xffff;
    }
    p[26..28].copy_from_slice(&udp_sum.to_be_bytes());
    p
}

/// How much of the UDP checksum can be trusted for one received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpChecksum {
    /// The kernel says the checksum field is complete: verify it.
    Verify,
    /// The sender's checksum offload has not filled it in yet (the kernel
    /// flags this with TP_STATUS_CSUMNOTREADY: veth, virtio-net, a server
    /// on the same host), or the kernel could not tell: don't.
    Skip,
}

/// Extracts the DHCP payload of a server → client UDP datagram.
/// `Err` explains why a frame is not for us (most are not: ARP noise,
/// other UDP) — callers log only the interesting ones.
pub fn unwrap(frame: &[u8], udp_checksum: UdpChecksum) -> Result<(Ipv4Addr, &[u8]), &'static str> {
    let (&vihl, _) = frame.split_first().ok_or("empty frame")?;
    if vihl >> 4 != 4 {
        return Err("not IPv4");
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < 20 || frame.len() < ihl + 8 {
        return Err("truncated IP header");
    }
    if frame[9] != IPPROTO_UDP {
        return Err("not UDP");
    }
    let frag = u16::from_be_bytes([frame[6], frame[7]]);
    if frag & 0x3fff != 0 {
        return Err("IP fragment");
    }
    if checksum(0, &frame[..ihl]) != 0 {
        return Err("bad IP checksum");
    }
    let total = usize::from(u16::from_be_bytes([frame[2], frame[3]]));
    if total < ihl + 8 || total > frame.len() {
        return Err("IP length disagrees with the frame");
    }
    let src = Ipv4Addr::new(frame[12], frame[13], frame[14], frame[15]);
    let dst = Ipv4Addr::new(frame[16], frame[17], frame[18], frame[19]);
    let udp = &frame[ihl..total];
    let sport = u16::from_be_bytes([udp[0], udp[1]]);
    let dport = u16::from_be_bytes([udp[2], udp[3]]);
    if dport != CLIENT_PORT {
        return Err("not for the DHCP client port");
    }
    // Any host may send to port 68; servers and relays send from 67.
    if sport != SERVER_PORT {
        return Err("not from the DHCP server port 67");
    }
    let udp_len = u16::from_be_bytes([udp[4], udp[5]]);
    let Some(udp) = udp.get(..usize::from(udp_len)).filter(|_| udp_len >= 8) else {
        return Err("bad UDP length");
    };
    // Zero means "no checksum" in UDP over IPv4.
    let sent = u16::from_be_bytes([udp[6], udp[7]]);
    if udp_checksum == UdpChecksum::Verify
        && sent != 0
        && checksum(pseudo_sum(src, dst, udp_len), udp) != 0
    {
        return Err("bad UDP checksum");
    }
    Ok((src, &udp[8..]))
}

/// One classic-BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

// Opcodes (linux/filter.h) used below.
const LD_B_ABS: u16 = 0x30;
const LD_H_ABS: u16 = 0x28;
const LD_H_IND: u16 = 0x48;
const LDX_B_MSH: u16 = 0xb1;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// A socket filter for a SOCK_DGRAM/ETH_P_IP packet socket (data starts
/// at the IP header): keep unfragmented UDP to port 68, drop the rest in
/// the kernel, so a busy segment doesn't wake the DHCP loop per frame.
/// [`unwrap`] still checks everything: the filter is an optimisation.
pub const CLIENT_FILTER: [BpfInsn; 9] = [
    insn(LD_B_ABS, 0, 0, 9),               // 0: A = IP protocol
    insn(JEQ_K, 0, 6, 17),                 // 1: UDP? else 8
    insn(LD_H_ABS, 0, 0, 6),               // 2: A = flags + fragment offset
    insn(JSET_K, 4, 0, 0x3fff),            // 3: MF or an offset? 8
    insn(LDX_B_MSH, 0, 0, 0),              // 4: X = IP header length
    insn(LD_H_IND, 0, 0, 2),               // 5: A = UDP destination port
    insn(JEQ_K, 0, 1, CLIENT_PORT as u32), // 6: port 68? else 8
    insn(RET_K, 0, 0, 0x0004_0000),        // 7: keep (up to 256 KiB)
    insn(RET_K, 0, 0, 0),                  // 8: drop
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V: UdpChecksum = UdpChecksum::Verify;

    #[test]
    fn known_ip_checksum() {
        // RFC 1071 style example header from Wikipedia's IPv4 checksum article.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(0, &h), 0xb861);
    }

    #[test]
    fn wrap_then_unwrap() {
        let server = Ipv4Addr::new(10, 77, 0, 1);
        let frame = wrap_reply(server, b"hello dhcp");
        assert_eq!(unwrap(&frame, V), Ok((server, &b"hello dhcp"[..])));
        let out = wrap(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, b"x");
        assert_eq!(checksum(0, &out[..20]), 0, "IP header checksum verifies");
        assert_eq!(unwrap(&out, V), Err("not for the DHCP client port"));
    }

    #[test]
    fn rejects_damage() {
        let good = wrap_reply(Ipv4Addr::new(10, 0, 0, 1), b"payload!");
        let mut bad_ip = good.clone();
        bad_ip[8] = 1;
        assert_eq!(unwrap(&bad_ip, V), Err("bad IP checksum"));
        // A damaged payload fails the UDP checksum when the kernel says it is complete...
        let mut flipped = good.clone();
        flipped[30] ^= 0x20;
        assert_eq!(unwrap(&flipped, V), Err("bad UDP checksum"));
        // ...and an unfilled (offloaded) checksum is accepted when it says it isn't.
        let mut offloaded = good.clone();
        offloaded[26..28].copy_from_slice(&[0x16, 0x73]);
        assert_eq!(unwrap(&offloaded, V), Err("bad UDP checksum"));
        assert_eq!(
            unwrap(&offloaded, UdpChecksum::Skip).map(|(_, p)| p),
            Ok(&b"payload!"[..])
        );
        // Zero is "no checksum".
        let mut none = good.clone();
        none[26..28].copy_from_slice(&[0, 0]);
        assert!(unwrap(&none, V).is_ok());
        assert_eq!(unwrap(&good[..25], V), Err("truncated IP header"));
        assert_eq!(
            unwrap(&good[..good.len() - 1], V),
            Err("IP length disagrees with the frame")
        );
        let mut short_udp = good.clone();
        short_udp[24..26].copy_from_slice(&[0, 7]);
        assert_eq!(unwrap(&short_udp, V), Err("bad UDP length"));
        let mut frag = good.clone();
        frag[6] = 0x20; // MF
        assert_eq!(unwrap(&frag, V), Err("IP fragment"));
        assert_eq!(unwrap(&[0x60], V), Err("not IPv4"));
        // Any host on the segment can send to port 68; a DHCP server sends from 67.
        let spoof = frame(
            Ipv4Addr::new(10, 0, 0, 9),
            Ipv4Addr::BROADCAST,
            5353,
            CLIENT_PORT,
            b"payload!",
        );
        assert_eq!(unwrap(&spoof, V), Err("not from the DHCP server port 67"));
        assert_eq!(unwrap(&[], V), Err("empty frame"));
    }

    /// Runs a classic-BPF program the way the kernel does, for the
    /// opcodes `CLIENT_FILTER` uses; `None` on an unknown opcode or an
    /// out-of-bounds load (the kernel drops the packet then).
    fn run_bpf(prog: &[BpfInsn], pkt: &[u8]) -> Option<u32> {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |at: u32| pkt.get(at as usize).map(|&b| u32::from(b));
        let half = |at: u32| Some((byte(at)? << 8) | byte(at + 1)?);
        loop {
            let i = prog.get(pc)?;
            pc += 1;
            match i.code {
                LD_B_ABS => a = byte(i.k)?,
                LD_H_ABS => a = half(i.k)?,
                LD_H_IND => a = half(x + i.k)?,
                LDX_B_MSH => x = (byte(i.k)? & 0xf) * 4,
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JSET_K => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                RET_K => return Some(i.k),
                _ => return None,
            }
        }
    }

    #[test]
    fn filter_keeps_dhcp_replies_only() {
        let keep = |f: &[u8]| run_bpf(&CLIENT_FILTER, f).is_some_and(|n| n > 0);
        let reply = wrap_reply(Ipv4Addr::new(10, 0, 0, 1), b"dhcp");
        assert!(keep(&reply));
        // Our own DISCOVER (to port 67), TCP, fragments, other ports: dropped.
        assert!(!keep(&wrap(
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            b"x"
        )));
        let mut tcp = reply.clone();
        tcp[9] = 6;
        assert!(!keep(&tcp));
        let mut frag = reply.clone();
        frag[7] = 1;
        assert!(!keep(&frag));
        let mut other = reply.clone();
        other[22..24].copy_from_slice(&5353u16.to_be_bytes());
        assert!(!keep(&other));
        // IP options move the UDP header; the filter follows the IHL.
        let mut opts = reply[..20].to_vec();
        opts[0] = 0x46;
        opts.extend_from_slice(&[1, 1, 1, 0]);
        opts.extend_from_slice(&reply[20..]);
        assert!(keep(&opts));
        assert!(!keep(&[0x45]));
    }

    proptest! {
        #[test]
        fn unwrap_never_panics(frame in proptest::collection::vec(any::<u8>(), 0..120), verify in any::<bool>()) {
            let v = if verify { UdpChecksum::Verify } else { UdpChecksum::Skip };
            let _ = unwrap(&frame, v);
        }

        #[test]
        fn round_trips(payload in proptest::collection::vec(any::<u8>(), 0..400), a in any::<[u8; 4]>()) {
            let src = Ipv4Addr::from(a);
            let frame = wrap_reply(src, &payload);
            prop_assert_eq!(unwrap(&frame, V), Ok((src, &payload[..])));
        }

        /// Whatever the filter keeps, and unwrap accepts, agree: the
        /// filter never drops a frame unwrap would take.
        #[test]
        fn filter_never_drops_what_unwrap_takes(frame in proptest::collection::vec(any::<u8>(), 0..80), port68 in any::<bool>()) {
            let mut frame = frame;
            if port68 && frame.len() >= 28 {
                frame[0] = 0x45;
                frame[9] = 17;
                frame[6] &= 0xc0;
                frame[22..24].copy_from_slice(&CLIENT_PORT.to_be_bytes());
            }
            if unwrap(&frame, UdpChecksum::Skip).is_ok() {
                prop_assert!(run_bpf(&CLIENT_FILTER, &frame).is_some_and(|n| n > 0));
            }
        }
    }
}
