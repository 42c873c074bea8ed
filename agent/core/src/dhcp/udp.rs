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
    let udp_len = (8 + payload.len()) as u16;
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
    p.extend_from_slice(&CLIENT_PORT.to_be_bytes());
    p.extend_from_slice(&SERVER_PORT.to_be_bytes());
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

/// Extracts the DHCP payload of a server → client UDP datagram.
/// `Err` explains why a frame is not for us (most are not: ARP noise,
/// other UDP) — callers log only the interesting ones.
pub fn unwrap(frame: &[u8]) -> Result<(Ipv4Addr, &[u8]), &'static str> {
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
    let dport = u16::from_be_bytes([udp[2], udp[3]]);
    if dport != CLIENT_PORT {
        return Err("not for the DHCP client port");
    }
    let udp_len = u16::from_be_bytes([udp[4], udp[5]]);
    if usize::from(udp_len) < 8 || usize::from(udp_len) > udp.len() {
        return Err("bad UDP length");
    }
    // The UDP checksum is not verified: with TX checksum offload (veth,
    // virtio-net, most NICs) a packet socket on the same host or VM sees
    // the datagram before the checksum is filled in. The IP header checksum
    // is never offloaded, the Ethernet CRC covers the wire, and the DHCP
    // decoder validates every length and field.
    let _ = dst;
    Ok((src, &udp[8..usize::from(udp_len)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Mirrors `wrap` for server → client, to test `unwrap`.
    fn reply(src: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
        let mut p = wrap(src, Ipv4Addr::BROADCAST, payload);
        p[20..22].copy_from_slice(&SERVER_PORT.to_be_bytes());
        p[22..24].copy_from_slice(&CLIENT_PORT.to_be_bytes());
        p[26..28].copy_from_slice(&[0, 0]);
        let s = checksum(
            pseudo_sum(src, Ipv4Addr::BROADCAST, (8 + payload.len()) as u16),
            &p[20..],
        );
        p[26..28].copy_from_slice(&s.to_be_bytes());
        p
    }

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
        let frame = reply(server, b"hello dhcp");
        assert_eq!(unwrap(&frame), Ok((server, &b"hello dhcp"[..])));
        let out = wrap(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, b"x");
        assert_eq!(checksum(0, &out[..20]), 0, "IP header checksum verifies");
        assert_eq!(unwrap(&out), Err("not for the DHCP client port"));
    }

    #[test]
    fn rejects_damage() {
        let good = reply(Ipv4Addr::new(10, 0, 0, 1), b"payload!");
        let mut bad_ip = good.clone();
        bad_ip[8] = 1;
        assert_eq!(unwrap(&bad_ip), Err("bad IP checksum"));
        // An unfilled (offloaded) UDP checksum is accepted.
        let mut offloaded = good.clone();
        offloaded[26..28].copy_from_slice(&[0x16, 0x73]);
        assert_eq!(unwrap(&offloaded).map(|(_, p)| p), Ok(&b"payload!"[..]));
        assert_eq!(unwrap(&good[..25]), Err("truncated IP header"));
        assert_eq!(
            unwrap(&good[..good.len() - 1]),
            Err("IP length disagrees with the frame")
        );
        assert_eq!(unwrap(&[0x60]), Err("not IPv4"));
    }

    proptest! {
        #[test]
        fn unwrap_never_panics(frame in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = unwrap(&frame);
        }

        #[test]
        fn round_trips(payload in proptest::collection::vec(any::<u8>(), 0..400), a in any::<[u8; 4]>()) {
            let src = Ipv4Addr::from(a);
            let frame = reply(src, &payload);
            prop_assert_eq!(unwrap(&frame), Ok((src, &payload[..])));
        }
    }
}
