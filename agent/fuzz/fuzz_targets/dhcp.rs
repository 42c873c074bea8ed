#![no_main]
//! DHCP decoder, IP/UDP framing, client and ARP conflict check: a hostile
//! server's (or neighbour's) packet never panics the client, in any state;
//! decode → encode → decode is the identity; IP/UDP wrapping round-trips.
use libfuzzer_sys::fuzz_target;
use netinit_core::dhcp::client::reply_for;
use netinit_core::dhcp::packet::{MessageType, Packet, opt};
use netinit_core::dhcp::udp::{self, UdpChecksum};
use netinit_core::dhcp::{Action, Client, ClientConfig};
use netinit_core::net::MacAddr;

fuzz_target!(|data: &[u8]| {
    // Decoding is a fixed point: what decodes re-encodes to the same packet.
    if let Ok(p) = Packet::decode(data) {
        let again = Packet::decode(&p.encode())
            .unwrap_or_else(|e| panic!("re-encoded packet does not decode: {e}"));
        assert_eq!(p, again);
    }
    if let Ok(names) = netinit_core::dhcp::packet::decode_search(data) {
        assert!(names.iter().all(|n| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        }));
    }
    // IP/UDP framing round trip.
    assert_eq!(
        udp::unwrap(
            &udp::wrap_reply([10, 0, 0, 1].into(), data),
            UdpChecksum::Verify
        ),
        Ok(([10, 0, 0, 1].into(), data))
    );
    let _ = udp::unwrap(data, UdpChecksum::Verify);
    let _ = udp::unwrap(data, UdpChecksum::Skip);
    let _ = netinit_core::dhcp::packet::decode_search(data);
    let mac = MacAddr([0x52, 0x54, 0, 0, 0, 1]);
    let server = [10, 0, 0, 1].into();
    let _ = netinit_core::arp::conflict(data, mac, server);
    let mut c = Client::new(
        ClientConfig {
            mac,
            hostname: None,
            vendor_class: "netinit".into(),
            rapid_commit: true,
        },
        7,
    );
    let discover = c.carrier(0, true);
    // Selecting: raw bytes, and the same wrapped in IP/UDP as the driver sees them.
    let _ = c.receive(1, server, data);
    if let Ok((src, payload)) = udp::unwrap(&udp::wrap_reply(server, data), UdpChecksum::Verify) {
        let _ = c.receive(1, src, payload);
    }
    // Requesting: after a valid offer, then the fuzz input as the reply.
    if let Some(Action::Send(d)) = discover.first() {
        let lease: &[u8] = &[0, 0, 1, 0];
        if let Some(offer) = reply_for(
            d,
            MessageType::Offer,
            [10, 0, 0, 9].into(),
            server,
            &[(opt::LEASE_TIME, lease)],
        ) {
            let _ = c.receive(2, server, &offer);
            // Same xid/chaddr as ours, fuzzed options after the header.
            let mut forged = offer.clone();
            forged.truncate(240);
            forged.extend_from_slice(data);
            let _ = c.receive(3, server, &forged);
            // Whatever state that left: a carrier flap and time passing.
            let _ = c.carrier(4, false);
            let _ = c.carrier(5, true);
            let _ = c.poll(100_000);
        }
    }
});
