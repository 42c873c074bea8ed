//! Keeping the boot lease after switch_root, as a sans-IO state machine.
//!
//! The root filesystem rides on the address, so this client differs from
//! a general one in one rule: it never gives the address up. It renews at
//! T1 by unicast to the server that granted the lease, rebinds at T2 by
//! broadcast (and follows whichever server answers), and when the lease
//! runs out or a server refuses it, it keeps asking for the same address
//! back (an INIT-REBOOT REQUEST) on a back-off, while the caller keeps the
//! address configured and logs loudly. Time (milliseconds on one clock,
//! the same clock as `bound_at_ms`) and randomness come from the caller.

use std::net::Ipv4Addr;

use super::client::{ClientConfig, Lease, base_packet, lease_timers};
use super::packet::{BOOTREPLY, MessageType, Packet, opt};
use crate::net::Ipv4Cidr;
use crate::net::LeaseTimes;

/// Waits between INIT-REBOOT REQUESTs once the lease is lost (the last
/// repeats): quick at first, since a restarted server often answers at
/// once, then patient, so a refusing server is not hammered.
const RECLAIM_BACKOFF_MS: [u64; 6] = [10_000, 20_000, 40_000, 80_000, 160_000, 300_000];
/// RFC 2131 4.4.5's minimum wait between retransmissions, and the floor
/// we use for short leases (a 2-minute lease can't wait 60 s per try).
const MAX_RETRANSMIT_FLOOR_MS: u64 = 60_000;
const MIN_RETRANSMIT_FLOOR_MS: u64 = 4_000;

/// Where a renewal state stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Holding a valid lease; nothing to send until T1.
    Bound,
    /// Past T1: unicast REQUESTs to the server that granted the lease.
    Renewing,
    /// Past T2: broadcast REQUESTs; any server may answer.
    Rebinding,
    /// Past the lease's end without an answer; the address stays.
    Expired,
    /// A server refused the lease (DHCPNAK); the address stays.
    Refused,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Bound => "bound",
            Phase::Renewing => "renewing",
            Phase::Rebinding => "rebinding",
            Phase::Expired => "expired",
            Phase::Refused => "refused",
        }
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Unicast to this server's port 67.
    Server(Ipv4Addr),
    /// To 255.255.255.255:67 on the interface.
    Broadcast,
}

/// What the caller must do or log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Send {
        to: Destination,
        payload: Vec<u8>,
    },
    /// The renewal entered this phase.
    Entered(Phase),
    /// A server extended the lease.
    Renewed {
        server: Ipv4Addr,
        /// The server that held the lease before, when another answered.
        moved_from: Option<Ipv4Addr>,
        times: LeaseTimes,
    },
    /// A server refused the lease; the address stays configured.
    Refused {
        from: Ipv4Addr,
        why: String,
    },
    /// A reply for us that was not usable, and why.
    Dropped(String),
}

/// The renewal state for one interface's lease.
#[derive(Debug)]
pub struct Renewer {
    cfg: ClientConfig,
    address: Ipv4Cidr,
    server: Ipv4Addr,
    times: LeaseTimes,
    phase: Phase,
    xid: u32,
    rng: u64,
    /// When the current transaction started (for the `secs` field).
    started_ms: u64,
    next_tx_ms: u64,
    /// INIT-REBOOT attempts since the lease was lost.
    reclaims: usize,
}

impl Renewer {
    /// Starts from a bound lease. `seed` feeds xids and jitter.
    pub fn new(
        cfg: ClientConfig,
        address: Ipv4Cidr,
        server: Ipv4Addr,
        times: LeaseTimes,
        seed: u64,
    ) -> Renewer {
        let mut r = Renewer {
            cfg,
            address,
            server,
            times: sane(times),
            phase: Phase::Bound,
            xid: 0,
            rng: seed | 1,
            started_ms: 0,
            next_tx_ms: 0,
            reclaims: 0,
        };
        r.xid = r.random() as u32;
        r
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn server(&self) -> Ipv4Addr {
        self.server
    }

    pub fn times(&self) -> LeaseTimes {
        self.times
    }

    fn at(&self, secs: u32) -> u64 {
        self.times
            .bound_at_ms
            .saturating_add(u64::from(secs).saturating_mul(1000))
    }

    fn infinite(&self) -> bool {
        self.times.lease_secs == u32::MAX
    }

    /// When [`Renewer::poll`] next has work; `None` for an infinite lease.
    pub fn next_wakeup(&self) -> Option<u64> {
        if self.infinite() {
            return None;
        }
        Some(match self.phase {
            Phase::Bound => self.at(self.times.t1_secs),
            Phase::Renewing => self.next_tx_ms.min(self.at(self.times.t2_secs)),
            Phase::Rebinding => self.next_tx_ms.min(self.at(self.times.lease_secs)),
            Phase::Expired | Phase::Refused => self.next_tx_ms,
        })
    }

    fn random(&mut self) -> u64 {
        super::xorshift64star(&mut self.rng)
    }

    fn retransmit_at(&mut self, now: u64, until: u64) -> u64 {
        retransmit_at(self.times.lease_secs, now, until, &mut self.rng)
    }

    fn reclaim_at(&mut self, now: u64) -> u64 {
        reclaim_at(&mut self.reclaims, now, &mut self.rng)
    }

    fn begin(&mut self, now: u64, phase: Phase, out: &mut Vec<Event>) {
        self.phase = phase;
        self.xid = self.random() as u32;
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
        let secs = u16::try_from(now.saturating_sub(self.started_ms) / 1000).unwrap_or(u16::MAX);
        let (to, payload) = match self.phase {
            Phase::Bound => return out,
            Phase::Renewing => {
                self.next_tx_ms = self.retransmit_at(now, t2);
                (Destination::Server(self.server), self.extend(secs))
            }
            Phase::Rebinding => {
                self.next_tx_ms = self.retransmit_at(now, end);
                (Destination::Broadcast, self.extend(secs))
            }
            Phase::Expired | Phase::Refused => {
                self.next_tx_ms = self.reclaim_at(now);
                (Destination::Broadcast, self.reclaim(secs))
            }
        };
        out.push(Event::Send { to, payload });
        out
    }

    /// RENEWING/REBINDING REQUEST: `ciaddr` is ours, no requested address
    /// or server id (RFC 2131 4.3.2).
    fn extend(&self, secs: u16) -> Vec<u8> {
        let mut p = base_packet(&self.cfg, self.xid, MessageType::Request, secs);
        p.ciaddr = self.address.addr;
        p.encode()
    }

    /// INIT-REBOOT REQUEST: asks for our address by option 50.
    fn reclaim(&self, secs: u16) -> Vec<u8> {
        let mut p = base_packet(&self.cfg, self.xid, MessageType::Request, secs);
        p.options
            .push(opt::REQUESTED_IP, &self.address.addr.octets());
        p.encode()
    }

    /// Handles one DHCP payload from IP source `src`.
    pub fn receive(&mut self, now: u64, src: Ipv4Addr, payload: &[u8]) -> Vec<Event> {
        if self.phase == Phase::Bound {
            return Vec::new();
        }
        let Ok(p) = Packet::decode(payload) else {
            return vec![Event::Dropped(format!("malformed DHCP packet from {src}"))];
        };
        // Replies to other clients, or to an older transaction: not ours.
        if p.op != BOOTREPLY || p.xid != self.xid || p.chaddr != self.cfg.mac.0 {
            return Vec::new();
        }
        match p.options.message_type() {
            Some(MessageType::Ack) => self.acked(now, src, &p),
            Some(MessageType::Nak) => self.refused(now, src, &p),
            _ => Vec::new(),
        }
    }

    fn acked(&mut self, now: u64, src: Ipv4Addr, p: &Packet) -> Vec<Event> {
        let lease = match Lease::from_packet(p, src, now) {
            Ok(l) => l,
            Err(e) => return vec![Event::Dropped(format!("ACK from {src}: {e}"))],
        };
        if lease.address.addr != self.address.addr {
            return vec![Event::Dropped(format!(
                "ACK from {} for {}, but we hold {}",
                lease.server_id, lease.address.addr, self.address.addr
            ))];
        }
        // While renewing, only the lease's own server may answer a unicast.
        if self.phase == Phase::Renewing && lease.server_id != self.server {
            return vec![Event::Dropped(format!(
                "ACK from server {}, but the lease is {}'s",
                lease.server_id, self.server
            ))];
        }
        let moved_from = Some(self.server).filter(|s| *s != lease.server_id);
        self.server = lease.server_id;
        self.times = sane(LeaseTimes {
            lease_secs: lease.lease_secs,
            t1_secs: lease.t1_secs,
            t2_secs: lease.t2_secs,
            bound_at_ms: now,
        });
        self.phase = Phase::Bound;
        self.reclaims = 0;
        vec![Event::Renewed {
            server: self.server,
            moved_from,
            times: self.times,
        }]
    }

    fn refused(&mut self, now: u64, src: Ipv4Addr, p: &Packet) -> Vec<Event> {
        let from = p.options.addr(opt::SERVER_ID).unwrap_or(src);
        // A unicast renewal can only be refused by the server we asked; a
        // broadcast one by any server on the segment (RFC 2131 4.4.5).
        if self.phase == Phase::Renewing && from != self.server {
            return vec![Event::Dropped(format!(
                "NAK from {from}, not the lease's server {}",
                self.server
            ))];
        }
        let why = p
            .options
            .text(opt::MESSAGE)
            .unwrap_or_else(|| "no reason given".to_owned());
        let mut out = Vec::new();
        if self.phase != Phase::Refused {
            self.begin(now, Phase::Refused, &mut out);
            self.reclaims = 0;
        }
        self.next_tx_ms = self.reclaim_at(now);
        out.push(Event::Refused { from, why });
        out
    }
}

/// The phase a keeper should be in at `now` when that differs from
/// `phase` (the DHCPv6 keeper shares the rule). Phases can be skipped when
/// the process was not scheduled for a while (suspend, a stalled VM): go
/// straight to the one `now` is in. Expired and Refused are left only by a
/// reply.
pub(crate) fn due_phase(phase: Phase, now: u64, t2: u64, end: u64) -> Option<Phase> {
    if !matches!(phase, Phase::Bound | Phase::Renewing | Phase::Rebinding) {
        return None;
    }
    let due = if now >= end {
        Phase::Expired
    } else if now >= t2 {
        Phase::Rebinding
    } else {
        Phase::Renewing
    };
    (due != phase).then_some(due)
}

/// RFC 2131 4.4.5 (and RFC 8415's spirit for DHCPv6): wait half the time
/// left until `until`, but not less than a floor, and never past `until`
/// (the next phase starts there), and always past `now`. Up to 10 %
/// jitter, so clients booted together drift apart.
pub(crate) fn retransmit_at(lease_secs: u32, now: u64, until: u64, rng: &mut u64) -> u64 {
    let lease_ms = u64::from(lease_secs).saturating_mul(1000);
    let floor = (lease_ms / 16).clamp(MIN_RETRANSMIT_FLOOR_MS, MAX_RETRANSMIT_FLOOR_MS);
    let wait = (until.saturating_sub(now) / 2).max(floor);
    let jitter = super::xorshift64star(rng) % (wait / 10 + 1);
    now.saturating_add(wait + jitter).min(until.max(now + 1))
}

/// When to ask for a lost lease back: the `reclaims`-th step of the
/// back-off (counted up here), with up to 10 % jitter.
pub(crate) fn reclaim_at(reclaims: &mut usize, now: u64, rng: &mut u64) -> u64 {
    let base = RECLAIM_BACKOFF_MS
        .get(*reclaims)
        .or(RECLAIM_BACKOFF_MS.last())
        .copied()
        .unwrap_or(60_000);
    *reclaims = reclaims.saturating_add(1);
    let jitter = super::xorshift64star(rng) % (base / 10 + 1);
    now.saturating_add(base + jitter)
}

/// T1 < T2 < lease, by the same rule the boot client applies to a
/// server's timers, so the keeper can't renew in a tight loop or never.
pub(crate) fn sane(t: LeaseTimes) -> LeaseTimes {
    let (t1_secs, t2_secs) = lease_timers(
        t.lease_secs,
        Some(t.t1_secs),
        Some(t.t2_secs),
        &mut Vec::new(),
    );
    LeaseTimes {
        t1_secs,
        t2_secs,
        ..t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::client::reply_for;
    use crate::net::MacAddr;
    use proptest::prelude::*;

    const MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0x77, 0, 1]);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const OTHER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
    const ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);

    fn times(lease: u32, t1: u32, t2: u32, at: u64) -> LeaseTimes {
        LeaseTimes {
            lease_secs: lease,
            t1_secs: t1,
            t2_secs: t2,
            bound_at_ms: at,
        }
    }

    fn renewer(t: LeaseTimes) -> Renewer {
        Renewer::new(
            ClientConfig {
                mac: MAC,
                hostname: Some("node1".into()),
                vendor_class: "netinit".into(),
                rapid_commit: false,
            },
            Ipv4Cidr {
                addr: ADDR,
                prefix: 24,
            },
            SERVER,
            t,
            7,
        )
    }

    fn sends(events: &[Event]) -> Vec<(Destination, Packet)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Send { to, payload } => Packet::decode(payload).ok().map(|p| (*to, p)),
                _ => None,
            })
            .collect()
    }

    fn lease_opts(lease: u32) -> Vec<(u8, Vec<u8>)> {
        vec![
            (opt::SUBNET_MASK, vec![255, 255, 255, 0]),
            (opt::LEASE_TIME, lease.to_be_bytes().to_vec()),
        ]
    }

    fn reply(
        req: &Packet,
        kind: MessageType,
        server: Ipv4Addr,
        extra: &[(u8, Vec<u8>)],
    ) -> Vec<u8> {
        let extra: Vec<(u8, &[u8])> = extra.iter().map(|(c, d)| (*c, d.as_slice())).collect();
        let yiaddr = if kind == MessageType::Ack {
            ADDR
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        reply_for(&req.encode(), kind, yiaddr, server, &extra).unwrap_or_default()
    }

    #[test]
    fn renews_at_t1_by_unicast_with_the_same_client_id() {
        let mut r = renewer(times(120, 60, 105, 1_000));
        assert_eq!(r.next_wakeup(), Some(61_000));
        assert!(r.poll(60_999).is_empty());
        let out = r.poll(61_000);
        assert_eq!(out.first(), Some(&Event::Entered(Phase::Renewing)));
        let (to, p) = sends(&out).remove(0);
        assert_eq!(to, Destination::Server(SERVER));
        assert_eq!(p.options.message_type(), Some(MessageType::Request));
        assert_eq!(p.ciaddr, ADDR);
        // RFC 2131 4.3.2: no requested address, no server id while renewing.
        assert_eq!(p.options.get(opt::REQUESTED_IP), None);
        assert_eq!(p.options.get(opt::SERVER_ID), None);
        assert_eq!(
            p.options.get(opt::CLIENT_ID),
            Some(&[1, 0x52, 0x54, 0, 0x77, 0, 1][..])
        );
        let ack = reply(&p, MessageType::Ack, SERVER, &lease_opts(120));
        let out = r.receive(61_050, SERVER, &ack);
        assert_eq!(
            out,
            vec![Event::Renewed {
                server: SERVER,
                moved_from: None,
                times: times(120, 60, 105, 61_050),
            }]
        );
        assert_eq!(r.phase(), Phase::Bound);
        assert_eq!(r.next_wakeup(), Some(121_050));
    }

    #[test]
    fn retransmits_at_half_the_time_left_then_rebinds_at_t2_by_broadcast() {
        let mut r = renewer(times(3600, 1800, 3150, 0));
        let out = r.poll(1_800_000);
        assert_eq!(sends(&out).len(), 1);
        // Half of the 1350 s left until T2, plus at most 10 % jitter.
        let next = r.next_wakeup().unwrap();
        assert!((2_475_000..=2_475_000 + 67_500).contains(&next), "{next}");
        assert_eq!(sends(&r.poll(next)).len(), 1);
        // Retransmissions never run past T2; at T2 the broadcast starts.
        loop {
            let now = r.next_wakeup().unwrap();
            let out = r.poll(now);
            if r.phase() == Phase::Rebinding {
                assert_eq!(now, 3_150_000);
                assert_eq!(out.first(), Some(&Event::Entered(Phase::Rebinding)));
                let (to, p) = sends(&out).remove(0);
                assert_eq!(to, Destination::Broadcast);
                assert_eq!(p.ciaddr, ADDR);
                break;
            }
            assert!(now < 3_150_000);
        }
        // A new server answers the broadcast: the lease follows it.
        let (_, req) = sends(&r.poll(r.next_wakeup().unwrap())).remove(0);
        let ack = reply(&req, MessageType::Ack, OTHER, &lease_opts(3600));
        let out = r.receive(3_300_000, OTHER, &ack);
        assert!(matches!(
            out.as_slice(),
            [Event::Renewed {
                server: OTHER,
                moved_from: Some(SERVER),
                ..
            }]
        ));
        assert_eq!(r.server(), OTHER);
    }

    #[test]
    fn short_leases_retransmit_on_a_floor_not_in_a_tight_loop() {
        let mut r = renewer(times(120, 10, 20, 0));
        r.poll(10_000);
        // 10 s left until T2: half of it is below the floor (lease/16 = 7.5 s).
        let next = r.next_wakeup().unwrap();
        assert!((17_500..=18_250).contains(&next), "{next}");
        r.poll(20_000);
        let next = r.next_wakeup().unwrap();
        // Half of the 100 s left, with jitter, and never at `now`.
        assert!((70_000..=75_000).contains(&next), "{next}");
    }

    #[test]
    fn expiry_keeps_asking_for_the_same_address() {
        let mut r = renewer(times(120, 60, 105, 0));
        let mut now = 0;
        while r.phase() != Phase::Expired {
            now = r.next_wakeup().unwrap();
            r.poll(now);
        }
        assert_eq!(now, 120_000);
        let next = r.next_wakeup().unwrap();
        assert!((130_000..=131_000).contains(&next));
        let (to, p) = sends(&r.poll(next)).remove(0);
        assert_eq!(to, Destination::Broadcast);
        // INIT-REBOOT: the address is asked for by option 50.
        assert_eq!(p.ciaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(p.options.addr(opt::REQUESTED_IP), Some(ADDR));
        let ack = reply(&p, MessageType::Ack, SERVER, &lease_opts(120));
        r.receive(next + 5, SERVER, &ack);
        assert_eq!(r.phase(), Phase::Bound);
    }

    #[test]
    fn a_stalled_process_jumps_to_the_phase_it_is_in() {
        let mut r = renewer(times(120, 60, 105, 0));
        let out = r.poll(110_000);
        assert_eq!(out.first(), Some(&Event::Entered(Phase::Rebinding)));
        let mut r = renewer(times(120, 60, 105, 0));
        let out = r.poll(500_000);
        assert_eq!(out.first(), Some(&Event::Entered(Phase::Expired)));
    }

    #[test]
    fn nak_is_reported_and_the_address_is_asked_for_again_with_backoff() {
        let mut r = renewer(times(120, 60, 105, 0));
        let (_, req) = sends(&r.poll(60_000)).remove(0);
        // While renewing, a NAK from another server is not believed.
        let nak = reply(
            &req,
            MessageType::Nak,
            OTHER,
            &[(opt::MESSAGE, b"wrong network".to_vec())],
        );
        assert!(matches!(
            r.receive(60_010, OTHER, &nak).as_slice(),
            [Event::Dropped(_)]
        ));
        let nak = reply(
            &req,
            MessageType::Nak,
            SERVER,
            &[(opt::MESSAGE, b"wrong network".to_vec())],
        );
        let out = r.receive(60_020, SERVER, &nak);
        assert_eq!(
            out,
            vec![
                Event::Entered(Phase::Refused),
                Event::Refused {
                    from: SERVER,
                    why: "wrong network".into()
                }
            ]
        );
        let mut now = 60_020;
        for base in [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000] {
            let next = r.next_wakeup().unwrap();
            assert!((base..=base + base / 10).contains(&(next - now)), "{base}");
            now = next;
            let (to, p) = sends(&r.poll(now)).remove(0);
            assert_eq!(to, Destination::Broadcast);
            assert_eq!(p.options.addr(opt::REQUESTED_IP), Some(ADDR));
        }
    }

    #[test]
    fn acks_for_another_address_or_stale_xids_are_not_taken() {
        let mut r = renewer(times(120, 60, 105, 0));
        let (_, req) = sends(&r.poll(60_000)).remove(0);
        let extra = lease_opts(120);
        let extra: Vec<(u8, &[u8])> = extra.iter().map(|(c, d)| (*c, d.as_slice())).collect();
        let other = reply_for(
            &req.encode(),
            MessageType::Ack,
            Ipv4Addr::new(10, 77, 0, 150),
            SERVER,
            &extra,
        )
        .unwrap();
        assert!(matches!(
            r.receive(60_010, SERVER, &other).as_slice(),
            [Event::Dropped(_)]
        ));
        let mut stale = req.clone();
        stale.xid ^= 1;
        let ack = reply(&stale, MessageType::Ack, SERVER, &lease_opts(120));
        assert!(r.receive(60_020, SERVER, &ack).is_empty());
        assert_eq!(r.phase(), Phase::Renewing);
    }

    #[test]
    fn odd_timers_fall_back_to_the_rfc_defaults() {
        assert_eq!(sane(times(100, 90, 80, 0)), times(100, 50, 80, 0));
        assert_eq!(sane(times(100, 60, 120, 5)), times(100, 60, 87, 5));
        assert_eq!(sane(times(100, 10, 20, 0)), times(100, 10, 20, 0));
        let r = renewer(times(u32::MAX, 0, 0, 0));
        assert_eq!(r.next_wakeup(), None);
    }

    proptest! {
        /// Whatever arrives and whenever it is polled, the renewer always
        /// schedules its next wakeup in the future (no busy loop), and
        /// every message it sends claims only our address.
        #[test]
        fn always_progresses_and_only_claims_our_address(
            lease in 1u32..100_000,
            t1 in 0u32..100_000,
            t2 in 0u32..100_000,
            steps in proptest::collection::vec((0u64..400_000, any::<bool>(), 0u8..3), 1..40),
        ) {
            let mut r = renewer(times(lease, t1, t2, 0));
            let mut now = 0u64;
            for (advance, answer, kind) in steps {
                now = now.saturating_add(advance);
                let out = r.poll(now);
                if let Some(next) = r.next_wakeup() {
                    prop_assert!(next > now);
                }
                for (_, p) in sends(&out) {
                    prop_assert!(p.ciaddr == ADDR || p.options.addr(opt::REQUESTED_IP) == Some(ADDR));
                    if answer {
                        let kind = [MessageType::Ack, MessageType::Nak, MessageType::Offer][usize::from(kind)];
                        let server = r.server();
                        let _ = r.receive(now, server, &reply(&p, kind, server, &lease_opts(lease)));
                    }
                }
            }
        }
    }
}
