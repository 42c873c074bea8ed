//! Keeping a DHCPv6 lease after switch_root, as a sans-IO state machine:
//! the IPv6 side of [`crate::dhcp::renew`], with the same rule that the
//! address is never given up. At T1 it sends RENEW to the server that
//! granted the lease (its DUID in a Server Identifier; to ff02::1:2, as
//! RFC 8415 18.2.4 asks without a Server Unicast option), at T2 REBIND
//! to any server, and follows whichever server answers. When the valid
//! lifetime runs out, or a server says NoBinding, it keeps sending REBIND
//! for the same address on the DHCPv4 keeper's back-off while the caller
//! keeps the address configured and logs loudly. Time (milliseconds, the
//! clock of `bound_at_ms`) and randomness come from the caller.

use std::net::Ipv6Addr;

use super::client::{ClientConfig, Lease};
use super::packet::{IaAddr, IaNa, Message, Options, REBIND, RENEW, REPLY, STATUS_SUCCESS, opt};
use crate::dhcp::renew::{Phase, due_phase, reclaim_at, retransmit_at, sane};
use crate::net::LeaseTimes;

/// The status a server sends when it has no binding for our IA
/// (RFC 8415 21.13): it refuses the lease.
pub const STATUS_NO_BINDING: u16 = 3;

/// What the caller must do or log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send this payload from port 546 to ff02::1:2 port 547.
    Send(Vec<u8>),
    /// The renewal entered this phase.
    Entered(Phase),
    /// A server extended the lease; `moved` when another server than the
    /// one that granted it answered (a REBIND).
    Renewed { times: LeaseTimes, moved: bool },
    /// A server has no binding for the address; it stays configured.
    Refused(String),
    /// A reply for us that was not usable, and why.
    Dropped(String),
}

/// The renewal state of one DHCPv6 lease (one IA_NA, one address).
#[derive(Debug)]
pub struct Renewer6 {
    cfg: ClientConfig,
    address: Ipv6Addr,
    server_duid: Vec<u8>,
    /// `lease_secs` is the address's valid lifetime.
    times: LeaseTimes,
    phase: Phase,
    xid: u32,
    rng: u64,
    started_ms: u64,
    next_tx_ms: u64,
    reclaims: usize,
}

impl Renewer6 {
    /// Starts from the boot's lease: `times.lease_secs` is the valid
    /// lifetime, T1 and T2 the IA's. `seed` feeds xids and jitter.
    pub fn new(
        cfg: ClientConfig,
        address: Ipv6Addr,
        server_duid: Vec<u8>,
        times: LeaseTimes,
        seed: u64,
    ) -> Renewer6 {
        let mut r = Renewer6 {
            cfg,
            address,
            server_duid,
            times: sane(times),
            phase: Phase::Bound,
            xid: 0,
            rng: seed | 1,
            started_ms: 0,
            next_tx_ms: 0,
            reclaims: 0,
        };
        r.xid = r.random() as u32 & 0x00ff_ffff;
        r
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn times(&self) -> LeaseTimes {
        self.times
    }

    pub fn server_duid(&self) -> &[u8] {
        &self.server_duid
    }

    fn random(&mut self) -> u64 {
        crate::dhcp::xorshift64star(&mut self.rng)
    }

    fn at(&self, secs: u32) -> u64 {
        self.times
            .bound_at_ms
            .saturating_add(u64::from(secs).saturating_mul(1000))
    }

    // Like `Renewer`'s methods in dhcp/renew.rs, but over DHCPv6 wire types
    // (24-bit xid, DUIDs, no Destination): the shared rules are functions.
    /// When [`Renewer6::poll`] next has work; `None` for an infinite lease.
    pub fn next_wakeup(&self) -> Option<u64> {
        if self.times.lease_secs == u32::MAX {
            return None;
        }
        Some(match self.phase {
            Phase::Bound => self.at(self.times.t1_secs),
            Phase::Renewing => self.next_tx_ms.min(self.at(self.times.t2_secs)),
            Phase::Rebinding => self.next_tx_ms.min(self.at(self.times.lease_secs)),
            Phase::Expired | Phase::Refused => self.next_tx_ms,
        })
    }

    fn begin(&mut self, now: u64, phase: Phase, out: &mut Vec<Event>) {
        self.phase = phase;
        self.xid = self.random() as u32 & 0x00ff_ffff;
        self.started_ms = now;
        out.push(Event::Entered(phase));
    }

    /// Sends what is due at `now`.
    pub fn poll(&mut self, now: u64) -> Vec<Event> {
        let mut out = Vec::new();
        if self.next_wakeup().is_none_or(|t| now < t) {
            return out;
        }
        let (t2, end) = (self.at(self.times.t2_secs), self.at(self.times.lease_secs));
        if let Some(due) = due_phase(self.phase, now, t2, end) {
            self.begin(now, due, &mut out);
        }
        let lease = self.times.lease_secs;
        let kind = match self.phase {
            Phase::Bound => return out,
            Phase::Renewing => {
                self.next_tx_ms = retransmit_at(lease, now, t2, &mut self.rng);
                RENEW
            }
            Phase::Rebinding => {
                self.next_tx_ms = retransmit_at(lease, now, end, &mut self.rng);
                REBIND
            }
            Phase::Expired | Phase::Refused => {
                self.next_tx_ms = reclaim_at(&mut self.reclaims, now, &mut self.rng);
                REBIND
            }
        };
        // Elapsed time in hundredths of a second, saturating (21.9).
        let elapsed = u16::try_from(now.saturating_sub(self.started_ms) / 10).unwrap_or(u16::MAX);
        out.push(Event::Send(self.message(kind, elapsed).encode()));
        out
    }

    /// RENEW names the server (18.2.4); REBIND asks any (18.2.5). Both
    /// carry our address with zero lifetimes, the server's to choose.
    fn message(&self, kind: u8, elapsed: u16) -> Message {
        let mut m = Message::new(kind, self.xid);
        m.options.push(opt::CLIENTID, &self.cfg.duid());
        if kind == RENEW {
            m.options.push(opt::SERVERID, &self.server_duid);
        }
        let a = IaAddr {
            addr: self.address,
            preferred: 0,
            valid: 0,
            options: Options::default(),
        };
        let ia = IaNa {
            iaid: self.cfg.iaid,
            t1: 0,
            t2: 0,
            options: Options(vec![(opt::IAADDR, a.encode())]),
        };
        m.options.push(opt::IA_NA, &ia.encode());
        m.options.push(opt::ELAPSED_TIME, &elapsed.to_be_bytes());
        m
    }

    /// Handles one UDP payload from `src` port 547.
    pub fn receive(&mut self, now: u64, src: Ipv6Addr, payload: &[u8]) -> Vec<Event> {
        if self.phase == Phase::Bound {
            return Vec::new();
        }
        let Ok(m) = Message::decode(payload) else {
            return vec![Event::Dropped(format!("malformed DHCPv6 from {src}"))];
        };
        // Other clients' exchanges, or an older transaction: not ours.
        if m.kind != REPLY
            || m.xid != self.xid
            || m.options.get(opt::CLIENTID) != Some(&self.cfg.duid()[..])
        {
            return Vec::new();
        }
        let Some(duid) = m.options.get(opt::SERVERID) else {
            return vec![Event::Dropped(format!(
                "REPLY from {src} without a server id"
            ))];
        };
        // A RENEW names its server: only that one may answer it.
        if self.phase == Phase::Renewing && duid != &self.server_duid[..] {
            return vec![Event::Dropped(format!(
                "REPLY from {src}, not the lease's server"
            ))];
        }
        if let Some(why) = no_binding(&m) {
            let mut out = Vec::new();
            if self.phase != Phase::Refused {
                self.begin(now, Phase::Refused, &mut out);
                self.reclaims = 0;
            }
            self.next_tx_ms = reclaim_at(&mut self.reclaims, now, &mut self.rng);
            out.push(Event::Refused(format!("{src}: {why}")));
            return out;
        }
        let lease = match Lease::from_message(&m, src, now) {
            Ok(l) => l,
            Err(e) => return vec![Event::Dropped(format!("REPLY from {src}: {e}"))],
        };
        if lease.address != self.address {
            return vec![Event::Dropped(format!(
                "REPLY from {src} for {}, but we hold {}",
                lease.address, self.address
            ))];
        }
        let moved = lease.server_duid != self.server_duid;
        self.server_duid = lease.server_duid;
        self.times = sane(LeaseTimes {
            lease_secs: lease.valid_secs,
            t1_secs: lease.t1_secs,
            t2_secs: lease.t2_secs,
            bound_at_ms: now,
        });
        self.phase = Phase::Bound;
        self.reclaims = 0;
        vec![Event::Renewed {
            times: self.times,
            moved,
        }]
    }
}

/// NoBinding for our IA, or our address handed back with a valid
/// lifetime of 0: the server no longer gives us the lease.
fn no_binding(m: &Message) -> Option<String> {
    let ia = IaNa::decode(m.options.get(opt::IA_NA)?).ok()?;
    if let Some((code, msg)) = ia.options.status().filter(|(c, _)| *c != STATUS_SUCCESS)
        && code == STATUS_NO_BINDING
    {
        return Some(format!("no binding ({msg})"));
    }
    let zero = ia
        .options
        .all(opt::IAADDR)
        .filter_map(|raw| IaAddr::decode(raw).ok())
        .find(|a| a.valid == 0)?;
    Some(format!("{} given a valid lifetime of 0", zero.addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp6::client::{no_binding_for, reply_for};
    use crate::net::MacAddr;
    use proptest::prelude::*;

    const SRV: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    /// The DUID [`reply_for`] answers with.
    const SRV_DUID: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 1];

    fn addr() -> Ipv6Addr {
        "fd77::150".parse().unwrap()
    }

    fn cfg() -> ClientConfig {
        ClientConfig {
            mac: MacAddr([0x52, 0x54, 0, 0xab, 0xcd, 1]),
            iaid: 2,
            rapid_commit: true,
        }
    }

    /// A 7200 s lease bound at 1000 ms: T1 at 1800 s, T2 at 2880 s.
    fn renewer() -> Renewer6 {
        let times = LeaseTimes {
            lease_secs: 7200,
            t1_secs: 1800,
            t2_secs: 2880,
            bound_at_ms: 1000,
        };
        Renewer6::new(cfg(), addr(), SRV_DUID.to_vec(), times, 7)
    }

    fn sent(events: &[Event]) -> Vec<Message> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Send(p) => Message::decode(p).ok(),
                _ => None,
            })
            .collect()
    }

    fn our_address(m: &Message) -> Option<Ipv6Addr> {
        let ia = IaNa::decode(m.options.get(opt::IA_NA)?).ok()?;
        IaAddr::decode(ia.options.get(opt::IAADDR)?)
            .ok()
            .map(|a| a.addr)
    }

    #[test]
    fn renews_at_t1_to_the_server_and_rebinds_at_t2() {
        let mut r = renewer();
        assert_eq!(r.next_wakeup(), Some(1000 + 1_800_000));
        assert!(r.poll(1_800_999).is_empty(), "nothing before T1");
        let ev = r.poll(1_801_000);
        assert_eq!(ev.first(), Some(&Event::Entered(Phase::Renewing)));
        let m = &sent(&ev)[0];
        assert_eq!(m.kind, RENEW);
        assert_eq!(m.options.get(opt::SERVERID), Some(&SRV_DUID[..]));
        assert_eq!(m.options.get(opt::CLIENTID), Some(&cfg().duid()[..]));
        assert_eq!(our_address(m), Some(addr()));
        // Retransmits stay before T2, where REBIND takes over without a server id.
        let next = r.next_wakeup().unwrap();
        assert!(next > 1_801_000 && next <= 1000 + 2_880_000);
        let ev = r.poll(1000 + 2_880_000);
        assert!(ev.contains(&Event::Entered(Phase::Rebinding)));
        let m = &sent(&ev)[0];
        assert_eq!((m.kind, m.options.get(opt::SERVERID)), (REBIND, None));
        assert_eq!(our_address(m), Some(addr()));
    }

    #[test]
    fn a_reply_extends_the_lease() {
        let mut r = renewer();
        let ev = r.poll(1_801_000);
        let req = Message::decode(match &ev[1] {
            Event::Send(p) => p,
            e => panic!("{e:?}"),
        })
        .unwrap()
        .encode();
        let reply = reply_for(&req, REPLY, addr(), &[]).unwrap();
        let ev = r.receive(1_802_000, SRV, &reply);
        // reply_for grants 3600 s preferred / 7200 s valid, T1/T2 left to us.
        assert_eq!(
            ev,
            [Event::Renewed {
                times: LeaseTimes {
                    lease_secs: 7200,
                    t1_secs: 1800,
                    t2_secs: 2880,
                    bound_at_ms: 1_802_000
                },
                moved: false
            }]
        );
        assert_eq!(r.phase(), Phase::Bound);
        assert_eq!(r.next_wakeup(), Some(1_802_000 + 1_800_000));
    }

    #[test]
    fn replies_that_do_not_extend() {
        let mut r = renewer();
        let ev = r.poll(1_801_000);
        let req = match &ev[1] {
            Event::Send(p) => p.clone(),
            e => panic!("{e:?}"),
        };
        // Another server answering a RENEW: dropped.
        let mut other = Message::decode(&reply_for(&req, REPLY, addr(), &[]).unwrap()).unwrap();
        other.options.0.retain(|(c, _)| *c != opt::SERVERID);
        other
            .options
            .push(opt::SERVERID, &[0, 3, 0, 1, 9, 9, 9, 9, 9, 9]);
        assert!(matches!(
            r.receive(1_802_000, SRV, &other.encode())[..],
            [Event::Dropped(_)]
        ));
        // Another address: dropped; another xid: ignored.
        let wrong = reply_for(&req, REPLY, "fd77::9".parse().unwrap(), &[]).unwrap();
        assert!(matches!(
            r.receive(1_802_000, SRV, &wrong)[..],
            [Event::Dropped(_)]
        ));
        let mut stale = Message::decode(&reply_for(&req, REPLY, addr(), &[]).unwrap()).unwrap();
        stale.xid ^= 1;
        assert!(r.receive(1_802_000, SRV, &stale.encode()).is_empty());
        // NoBinding: refused, the address is kept and asked back by REBIND.
        let nb = no_binding_for(&req).unwrap();
        let ev = r.receive(1_802_000, SRV, &nb);
        assert_eq!(ev[0], Event::Entered(Phase::Refused));
        assert!(matches!(&ev[1], Event::Refused(w) if w.contains("no binding (gone)")));
        let back = r.next_wakeup().unwrap();
        assert!((1_812_000..=1_813_000).contains(&back), "{back}");
        let m = &sent(&r.poll(back))[0];
        assert_eq!((m.kind, our_address(m)), (REBIND, Some(addr())));
        // A REBIND's answer from any server ends it.
        let req = m.encode();
        let ev = r.receive(
            back + 10,
            SRV,
            &reply_for(&req, REPLY, addr(), &[]).unwrap(),
        );
        assert!(matches!(ev[..], [Event::Renewed { moved: false, .. }]));
    }

    #[test]
    fn an_unanswered_lease_expires_and_is_asked_back() {
        let mut r = renewer();
        let end = 1000 + 7_200_000;
        let ev = r.poll(end);
        assert_eq!(ev[0], Event::Entered(Phase::Expired));
        assert_eq!(sent(&ev)[0].kind, REBIND);
        assert!(r.next_wakeup().unwrap() >= end + 10_000);
    }

    #[test]
    fn an_infinite_lease_never_wakes() {
        let times = LeaseTimes {
            lease_secs: u32::MAX,
            t1_secs: u32::MAX,
            t2_secs: u32::MAX,
            bound_at_ms: 0,
        };
        let mut r = Renewer6::new(cfg(), addr(), SRV_DUID.to_vec(), times, 1);
        assert_eq!(r.next_wakeup(), None);
        assert!(r.poll(u64::MAX / 2).is_empty());
    }

    proptest! {
        /// Whatever the lease, the wake-ups and the replies, a poll that
        /// sends leaves the next wake-up in the future (no busy loop), and
        /// at most one message goes out per poll.
        #[test]
        fn never_busy_loops(
            lease in 1u32..100_000,
            t1 in 0u32..100_000,
            t2 in 0u32..100_000,
            steps in proptest::collection::vec((0u64..200_000_000, any::<bool>(), any::<bool>()), 1..40),
            seed: u64,
        ) {
            let times = LeaseTimes { lease_secs: lease, t1_secs: t1, t2_secs: t2, bound_at_ms: 0 };
            let mut r = Renewer6::new(cfg(), addr(), SRV_DUID.to_vec(), times, seed);
            let mut now = 0u64;
            for (jump, answer, late) in steps {
                now = if late { now.saturating_add(jump) } else { r.next_wakeup().unwrap_or(now).max(now) };
                let ev = r.poll(now);
                let out = sent(&ev);
                prop_assert!(out.len() <= 1);
                if !out.is_empty() {
                    prop_assert!(r.next_wakeup().is_some_and(|t| t > now), "{:?} at {}", r.next_wakeup(), now);
                }
                if let (true, Some(m)) = (answer, out.first()) {
                    let reply = reply_for(&m.encode(), REPLY, addr(), &[]).unwrap();
                    let ev = r.receive(now + 1, SRV, &reply);
                    prop_assert!(matches!(ev[..], [Event::Renewed { .. }]), "{:?}", ev);
                    prop_assert!(r.next_wakeup().is_some_and(|t| t > now + 1));
                }
            }
        }

        #[test]
        fn receive_never_panics(data: Vec<u8>, seed: u64) {
            let mut r = renewer();
            let _ = r.poll(1_801_000 + seed % 10_000_000);
            let _ = r.receive(1, SRV, &data);
        }
    }
}
