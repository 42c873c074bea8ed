#![no_main]
//! DHCPv6 codec, client and renewer: decode → encode is the identity on
//! bytes; a hostile server's message never panics the client or the
//! renewer in any state; a binding is always a unicast address with
//! T1 <= T2; a renewal keeps T1 < T2 < the valid lifetime and never
//! schedules its next send in the past.
use libfuzzer_sys::fuzz_target;
use netinit_core::dhcp6::client::reply_for;
use netinit_core::dhcp6::packet::{ADVERTISE, IaAddr, IaNa, Message, REPLY, opt};
use netinit_core::dhcp6::renew::{Event, Renewer6};
use netinit_core::dhcp6::{Action, Client, ClientConfig};
use netinit_core::net::{LeaseTimes, MacAddr};

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
    renewal(data, srv);
});

/// The renewer in each phase, fed the input as a REPLY to its own
/// message (same xid and client id) and as it is.
fn renewal(data: &[u8], srv: std::net::Ipv6Addr) {
    let cfg = ClientConfig {
        mac: MacAddr([0x52, 0x54, 0, 0, 0, 1]),
        iaid: 1,
        rapid_commit: true,
    };
    let times = LeaseTimes {
        lease_secs: 600,
        t1_secs: 300,
        t2_secs: 480,
        bound_at_ms: 0,
    };
    let duid = [0, 3, 0, 1, 2, 0, 0, 0, 0, 1];
    let mine = "fd00::9".parse().unwrap();
    for now in [300_000u64, 480_000, 600_000] {
        let mut r = Renewer6::new(cfg.clone(), mine, duid.to_vec(), times, now);
        let sent = r.poll(now);
        assert!(r.next_wakeup().is_some_and(|t| t > now));
        let Some(Event::Send(req)) = sent.iter().find(|e| matches!(e, Event::Send(_))) else {
            panic!("nothing sent at {now}")
        };
        let _ = r.receive(now + 1, srv, data);
        let mut forged = req.get(..4).unwrap_or_default().to_vec();
        forged[0] = REPLY;
        if let Some(cid) = Message::decode(req)
            .ok()
            .and_then(|m| m.options.get(opt::CLIENTID).map(<[u8]>::to_vec))
        {
            forged.extend_from_slice(&[0, 1, 0, cid.len() as u8]);
            forged.extend_from_slice(&cid);
        }
        forged.extend_from_slice(data);
        for e in r.receive(now + 2, srv, &forged) {
            if let Event::Renewed { times: t, .. } = e {
                let ordered = t.t1_secs < t.t2_secs && t.t2_secs < t.lease_secs;
                // Under 3 s no whole seconds fit T1 < T2 < lease.
                let tiny = t.lease_secs < 3 && t.t1_secs <= t.t2_secs;
                assert!(ordered || tiny || t.lease_secs == u32::MAX, "{t:?}");
            }
        }
        let later = now + 2;
        if let Some(w) = r.next_wakeup() {
            let _ = r.poll(w.max(later));
            assert!(r.next_wakeup().is_none_or(|t| t > w.max(later)));
        }
    }
}
