#![no_main]
//! DHCPv6 codec and client: decode → encode is the identity on bytes; a
//! hostile server's message never panics the client in any state, and a
//! binding is always a unicast address with T1 <= T2.
use libfuzzer_sys::fuzz_target;
use netinit_core::dhcp6::client::reply_for;
use netinit_core::dhcp6::packet::{ADVERTISE, IaAddr, IaNa, Message, REPLY, opt};
use netinit_core::dhcp6::{Action, Client, ClientConfig};
use netinit_core::net::MacAddr;

fn check(actions: &[Action]) {
    for a in actions {
        if let Action::Bound(l) = a {
            assert!(!l.address.is_multicast() && !l.address.is_unspecified());
            assert!(l.t1_secs <= l.t2_secs, "{l:?}");
            assert!(l.preferred_secs <= l.valid_secs && l.valid_secs > 0);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(m.encode(), data, "decode → encode is not the identity");
    }
    if let Ok(ia) = IaNa::decode(data) {
        assert_eq!(ia.encode(), data);
    }
    if let Ok(a) = IaAddr::decode(data) {
        assert_eq!(a.encode(), data);
    }
    let srv = "fe80::1".parse().unwrap();
    for rapid in [false, true] {
        let mut c = Client::new(
            ClientConfig {
                mac: MacAddr([0x52, 0x54, 0, 0, 0, 1]),
                iaid: 1,
                rapid_commit: rapid,
            },
            7,
        );
        let sol = c.carrier(0, true);
        check(&c.receive(1, srv, data));
        let Some(Action::Send(sol)) = sol.first() else {
            panic!("no SOLICIT on carrier")
        };
        // Same xid and client id as ours, fuzzed options after them.
        let mut forged = Message::decode(sol).map(|m| m.encode()).unwrap_or_default();
        forged.truncate(4);
        forged[0] = if rapid { REPLY } else { ADVERTISE };
        let Ok(orig) = Message::decode(sol) else {
            return;
        };
        if let Some(cid) = orig.options.get(opt::CLIENTID) {
            forged.extend_from_slice(&[0, 1, 0, cid.len() as u8]);
            forged.extend_from_slice(cid);
        }
        forged.extend_from_slice(data);
        check(&c.receive(2, srv, &forged));
        // Requesting after a valid ADVERTISE, then the fuzz input as REPLY.
        if let Some(adv) = reply_for(sol, ADVERTISE, "fd00::9".parse().unwrap(), &[]) {
            check(&c.receive(3, srv, &adv));
            forged[0] = REPLY;
            check(&c.receive(4, srv, &forged));
        }
        let _ = c.carrier(5, false);
        let _ = c.carrier(6, true);
        let _ = c.poll(1_000_000);
    }
});
