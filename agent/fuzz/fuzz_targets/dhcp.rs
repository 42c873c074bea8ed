#![no_main]
//! DHCP decoder and client: a hostile server's packet never panics the
//! client, in any state.
use libfuzzer_sys::fuzz_target;
use netinit_core::dhcp::{Client, ClientConfig, packet::{MessageType, opt}};
use netinit_core::net::MacAddr;

fuzz_target!(|data: &[u8]| {
    let _ = netinit_core::dhcp::udp::unwrap(data);
    let mac = MacAddr([0x52, 0x54, 0, 0, 0, 1]);
    let mut c = Client::new(ClientConfig { mac, hostname: None, vendor_class: "netinit".into(), rapid_commit: true }, 7);
    let discover = c.poll(0);
    // Selecting: raw bytes.
    let _ = c.receive(1, [10, 0, 0, 1].into(), data);
    // Requesting: after a valid offer, then the fuzz input as the reply.
    if let Some(netinit_core::dhcp::Action::Send(d)) = discover.first() {
        if let Some(offer) = netinit_core::dhcp::client::reply_for(d, MessageType::Offer, [10, 0, 0, 9].into(), [10, 0, 0, 1].into(), &[(opt::LEASE_TIME, &[0, 0, 1, 0])]) {
            let _ = c.receive(2, [10, 0, 0, 1].into(), &offer);
            // Same xid/chaddr as ours, fuzzed options after the header.
            let mut forged = offer.clone();
            forged.truncate(240);
            forged.extend_from_slice(data);
            let _ = c.receive(3, [10, 0, 0, 1].into(), &forged);
        }
    }
    let _ = netinit_core::dhcp::packet::decode_search(data);
});
