//! The DHCPv4 client for one NIC, as a sans-IO state machine.
//!
//! The caller owns the socket, the clock and the carrier watch. Three
//! inputs: [`Client::carrier`] when the link's carrier changes,
//! [`Client::poll`] when [`Client::next_wakeup`] is due, and
//! [`Client::receive`] for every DHCP payload that arrives. Each returns
//! [`Action`]s to carry out. Time (milliseconds), the xid and randomness
//! come in from outside, so every retransmit schedule is a table test.
//! The overall budget is the caller's: with several NICs racing, it is
//! one budget for all of them.
//!
//! Speed matters at boot: the first DISCOVER goes out the moment carrier
//! comes up (no random 0–4 s start delay), the first OFFER is taken at
//! once, Rapid Commit is offered, and retransmits start fast (250 ms)
//! because some NICs (QEMU's e1000) deliver the first reply late. When
//! carrier drops and returns (a NIC renegotiating, a switch port
//! restarting), the fast schedule starts over instead of sitting out a
//! long back-off that was spent on a dead link.

use std::net::Ipv4Addr;

use super::packet::{BOOTREPLY, MessageType, Options, Packet, decode_search, opt};
use crate::ipconf::{Ipv4Cidr, classful_prefix, prefix_of};
use crate::net::{LeaseTimes, MacAddr, NetState, Proto};

/// Options we ask for (option 55), in the order of issue #4.
pub const REQUESTED: [u8; 16] = [1, 3, 6, 12, 15, 17, 26, 28, 42, 51, 54, 58, 59, 66, 67, 119];

/// Retransmit delays in ms; the last repeats. Jitter is added from 1 s on.
const SCHEDULE_MS: [u64; 7] = [250, 500, 1000, 2000, 4000, 8000, 16000];
/// REQUESTs without an answer before starting over with a DISCOVER.
const MAX_REQUESTS: u32 = 4;
/// Wait before the DISCOVER after the n-th NAK in a row (the last
/// repeats): the first retry is immediate, a server that keeps refusing
/// is not hammered.
/// The smallest MTU taken from DHCP.
pub const MIN_MTU: u16 = 576;

const NAK_BACKOFF_MS: [u64; 6] = [0, 1000, 2000, 4000, 8000, 16000];

/// What the client sends about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub mac: MacAddr,
    pub hostname: Option<String>,
    /// Option 60.
    pub vendor_class: String,
    pub rapid_commit: bool,
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Broadcast this DHCP payload (wrap it in IP/UDP).
    Send(Vec<u8>),
    /// We have a lease.
    Bound(Box<Lease>),
    /// A packet for us was rejected; log the reason.
    Dropped(String),
    /// The server said no; we start over. Log the reason.
    Nak(String),
}

/// A bound (or offered) lease: everything the server told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub address: Ipv4Cidr,
    pub server_id: Ipv4Addr,
    pub next_server: Option<Ipv4Addr>,
    pub router: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    pub search: Vec<String>,
    pub hostname: Option<String>,
    pub root_path: Option<String>,
    pub mtu: Option<u16>,
    pub broadcast: Option<Ipv4Addr>,
    pub ntp: Vec<Ipv4Addr>,
    pub tftp_server: Option<String>,
    pub bootfile: Option<String>,
    /// Seconds; `u32::MAX` is infinite.
    pub lease_secs: u32,
    pub t1_secs: u32,
    pub t2_secs: u32,
    pub bound_at_ms: u64,
    /// Non-fatal problems with the options, for the log.
    pub warnings: Vec<String>,
}

impl Lease {
    /// Builds a lease from an OFFER or ACK. `src` is the IP source, the
    /// fallback when option 54 is missing.
    pub fn from_packet(p: &Packet, src: Ipv4Addr, now_ms: u64) -> Result<Lease, String> {
        let o = &p.options;
        let addr = p.yiaddr;
        if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() || addr.is_loopback()
        {
            return Err(format!("offered address {addr} is not a host address"));
        }
        let mut warnings = Vec::new();
        let prefix = match o.addr(opt::SUBNET_MASK) {
            Some(mask) => prefix_of(mask).unwrap_or_else(|| {
                warnings.push(format!(
                    "subnet mask {mask} is not contiguous; using the class default"
                ));
                classful_prefix(addr)
            }),
            None => classful_prefix(addr),
        };
        let server_id = o.addr(opt::SERVER_ID).unwrap_or(src);
        let lease_secs = o.u32(opt::LEASE_TIME).unwrap_or(u32::MAX);
        let search = match o.get(opt::SEARCH) {
            Some(data) => decode_search(data).unwrap_or_else(|e| {
                warnings.push(e.to_string());
                Vec::new()
            }),
            None => Vec::new(),
        };
        let list = |code: u8, name: &str, warnings: &mut Vec<String>| match o.get(code) {
            None => Vec::new(),
            Some(_) => o.addrs(code).unwrap_or_else(|| {
                warnings.push(format!(
                    "option {code} ({name}) length is not a multiple of 4; ignored"
                ));
                Vec::new()
            }),
        };
        let dns = list(opt::DNS, "DNS", &mut warnings);
        let ntp = list(opt::NTP, "NTP", &mut warnings);
        let routers = list(opt::ROUTER, "router", &mut warnings);
        // RFC 2132 allows 68, but every IPv4 host must take 576-byte
        // datagrams (RFC 1122), and an NFS root over a 68-byte MTU crawls:
        // a smaller value is a broken or hostile server (dhcpcd agrees).
        let mtu = o.u16(opt::MTU).filter(|m| {
            let ok = *m >= MIN_MTU;
            if !ok {
                warnings.push(format!("option 26 (MTU) {m} is below {MIN_MTU}; ignored"));
            }
            ok
        });
        Ok(Lease {
            address: Ipv4Cidr { addr, prefix },
            server_id,
            next_server: Some(p.siaddr).filter(|a| !a.is_unspecified()),
            router: routers.first().copied(),
            dns,
            domain: o.text(opt::DOMAIN),
            search,
            hostname: o.text(opt::HOSTNAME),
            root_path: o.text(opt::ROOT_PATH),
            mtu,
            broadcast: o.addr(opt::BROADCAST),
            ntp,
            tftp_server: o.text(opt::TFTP_SERVER).or_else(|| p.sname.clone()),
            bootfile: o.text(opt::BOOTFILE).or_else(|| p.file.clone()),
            lease_secs,
            t1_secs: o.u32(opt::T1).unwrap_or(lease_secs / 2),
            t2_secs: o
                .u32(opt::T2)
                .unwrap_or((u64::from(lease_secs) * 7 / 8) as u32),
            bound_at_ms: now_ms,
            warnings,
        })
    }

    /// The network state for the hand-off and `netinit net`.
    pub fn to_net_state(&self, interface: &str, ifindex: u32, mac: MacAddr) -> NetState {
        NetState {
            interface: interface.to_owned(),
            ifindex,
            mac,
            proto: Proto::Dhcp,
            address: self.address,
            broadcast: Some(self.broadcast.unwrap_or_else(|| self.address.broadcast())),
            gateway: self.router,
            server_id: Some(self.server_id),
            next_server: self.next_server,
            dns: self.dns.clone(),
            domain: self.domain.clone(),
            search: self.search.clone(),
            hostname: self.hostname.clone(),
            root_path: self.root_path.clone(),
            bootfile: self.bootfile.clone(),
            mtu: self.mtu,
            ntp: self.ntp.clone(),
            lease: Some(LeaseTimes {
                lease_secs: self.lease_secs,
                t1_secs: self.t1_secs,
                t2_secs: self.t2_secs,
                bound_at_ms: self.bound_at_ms,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Selecting,
    Requesting { offer: Box<Lease>, sent: u32 },
    Bound,
}

/// One NIC's DHCP client.
#[derive(Debug)]
pub struct Client {
    cfg: ClientConfig,
    state: State,
    xid: u32,
    rng: u64,
    start_ms: Option<u64>,
    next_tx_ms: Option<u64>,
    attempt: usize,
    offers_seen: u32,
    naks: u32,
    /// Carrier, as last reported by the caller. Nothing is sent without it.
    link_up: bool,
}

impl Client {
    /// `seed` feeds the xid and the jitter (xorshift64*).
    pub fn new(cfg: ClientConfig, seed: u64) -> Client {
        let mut c = Client {
            cfg,
            state: State::Selecting,
            xid: 0,
            rng: seed | 1,
            start_ms: None,
            next_tx_ms: None,
            attempt: 0,
            offers_seen: 0,
            naks: 0,
            link_up: false,
        };
        c.xid = c.random() as u32;
        c
    }

    pub fn xid(&self) -> u32 {
        self.xid
    }

    pub fn offers_seen(&self) -> u32 {
        self.offers_seen
    }

    pub fn is_bound(&self) -> bool {
        self.state == State::Bound
    }

    pub fn naks(&self) -> u32 {
        self.naks
    }

    pub fn has_carrier(&self) -> bool {
        self.link_up
    }

    /// When the next [`Client::poll`] has work; `None` while bound or
    /// without carrier.
    pub fn next_wakeup(&self) -> Option<u64> {
        match self.state {
            State::Bound => None,
            _ if !self.link_up => None,
            _ => Some(self.next_tx_ms.unwrap_or(0)),
        }
    }

    /// The link's carrier changed (or was seen for the first time). Up
    /// sends a DISCOVER at once; down pauses; up again after a loss
    /// starts a new transaction with the fast schedule.
    pub fn carrier(&mut self, now: u64, up: bool) -> Vec<Action> {
        if up == self.link_up {
            return Vec::new();
        }
        self.link_up = up;
        if !up || self.state == State::Bound {
            return Vec::new();
        }
        if self.start_ms.is_some() {
            // An offer made before the loss may be stale, and the old xid's
            // late replies should not count: start clean.
            self.restart();
        }
        self.next_tx_ms = Some(now);
        self.poll(now)
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The delay before retransmit number `attempt`.
    fn delay(&mut self, attempt: usize) -> u64 {
        let base = SCHEDULE_MS
            .get(attempt)
            .or(SCHEDULE_MS.last())
            .copied()
            .unwrap_or(1000);
        self.jitter(base)
    }

    /// ±20 % jitter from 1 s on, so that a rack of machines powered on
    /// together spreads out; below that, speed matters more.
    fn jitter(&mut self, base: u64) -> u64 {
        if base < 1000 {
            return base;
        }
        let spread = base / 5;
        base - spread + self.random() % (2 * spread + 1)
    }

    /// Sends what is due at `now`.
    pub fn poll(&mut self, now: u64) -> Vec<Action> {
        if self.next_wakeup().is_none_or(|t| now < t) {
            return Vec::new();
        }
        let start = *self.start_ms.get_or_insert(now);
        let secs = u16::try_from(now.saturating_sub(start) / 1000).unwrap_or(u16::MAX);
        let packet = match &mut self.state {
            State::Bound => return Vec::new(),
            State::Selecting => self.discover(secs),
            State::Requesting { sent, .. } if *sent >= MAX_REQUESTS => {
                // The server went quiet after offering: start over.
                self.restart();
                self.discover(secs)
            }
            State::Requesting { offer, sent } => {
                *sent += 1;
                let (addr, server) = (offer.address.addr, offer.server_id);
                self.request(secs, addr, server)
            }
        };
        let wait = self.delay(self.attempt);
        self.attempt += 1;
        self.next_tx_ms = Some(now.saturating_add(wait));
        vec![Action::Send(packet.encode())]
    }

    fn restart(&mut self) {
        self.state = State::Selecting;
        self.xid = self.random() as u32;
        self.attempt = 0;
        self.next_tx_ms = None;
    }

    fn base(&self, kind: MessageType, secs: u16) -> Packet {
        let mut p = Packet::request(self.xid, self.cfg.mac.0);
        p.secs = secs;
        p.options.push(opt::MESSAGE_TYPE, &[kind as u8]);
        let mut client_id = vec![1u8];
        client_id.extend_from_slice(&self.cfg.mac.0);
        p.options.push(opt::CLIENT_ID, &client_id);
        p.options
            .push(opt::VENDOR_CLASS, self.cfg.vendor_class.as_bytes());
        if let Some(h) = &self.cfg.hostname {
            p.options.push(opt::HOSTNAME, h.as_bytes());
        }
        p.options.push(opt::MAX_SIZE, &1500u16.to_be_bytes());
        p.options.push(opt::PARAMS, &REQUESTED);
        p
    }

    fn discover(&self, secs: u16) -> Packet {
        let mut p = self.base(MessageType::Discover, secs);
        if self.cfg.rapid_commit {
            p.options.push(opt::RAPID_COMMIT, &[]);
        }
        p
    }

    fn request(&self, secs: u16, addr: Ipv4Addr, server: Ipv4Addr) -> Packet {
        let mut p = self.base(MessageType::Request, secs);
        p.options.push(opt::REQUESTED_IP, &addr.octets());
        p.options.push(opt::SERVER_ID, &server.octets());
        p
    }

    /// Handles one received DHCP payload from IP source `src`.
    pub fn receive(&mut self, now: u64, src: Ipv4Addr, payload: &[u8]) -> Vec<Action> {
        if self.state == State::Bound {
            return Vec::new();
        }
        let p = match Packet::decode(payload) {
            Ok(p) => p,
            Err(e) => {
                return vec![Action::Dropped(format!(
                    "malformed DHCP packet from {src}: {e}"
                ))];
            }
        };
        // Replies to other clients on the segment are normal: ignore quietly.
        if p.op != BOOTREPLY || p.xid != self.xid || p.chaddr != self.cfg.mac.0 {
            return Vec::new();
        }
        let Some(kind) = p.options.message_type() else {
            return vec![Action::Dropped(format!(
                "reply from {src} has no DHCP message type"
            ))];
        };
        match (&self.state, kind) {
            (State::Selecting, MessageType::Offer) => match Lease::from_packet(&p, src, now) {
                Ok(offer) => {
                    self.offers_seen += 1;
                    // Take the first offer: waiting for more costs time at boot.
                    self.state = State::Requesting {
                        offer: Box::new(offer),
                        sent: 0,
                    };
                    self.attempt = 0;
                    self.next_tx_ms = Some(now);
                    self.poll(now)
                }
                Err(e) => vec![Action::Dropped(format!("OFFER from {src}: {e}"))],
            },
            (State::Selecting, MessageType::Ack)
                if self.cfg.rapid_commit && p.options.get(opt::RAPID_COMMIT).is_some() =>
            {
                self.offers_seen += 1;
                self.bind(&p, src, now, None)
            }
            (State::Requesting { offer, .. }, MessageType::Ack) => {
                let offer = offer.as_ref().clone();
                self.bind(&p, src, now, Some(&offer))
            }
            (State::Requesting { offer, .. }, MessageType::Nak) => {
                if p.options
                    .addr(opt::SERVER_ID)
                    .is_some_and(|s| s != offer.server_id)
                {
                    return vec![Action::Dropped(format!(
                        "NAK from {src}, not the server we asked"
                    ))];
                }
                let why = p
                    .options
                    .text(opt::MESSAGE)
                    .unwrap_or_else(|| "no reason given".to_owned());
                self.restart();
                self.naks += 1;
                let n = usize::try_from(self.naks - 1).unwrap_or(usize::MAX);
                let base = NAK_BACKOFF_MS
                    .get(n)
                    .or(NAK_BACKOFF_MS.last())
                    .copied()
                    .unwrap_or(0);
                let wait = self.jitter(base);
                self.next_tx_ms = Some(now.saturating_add(wait));
                let mut out = vec![Action::Nak(format!("DHCPNAK from {src}: {why}"))];
                out.extend(self.poll(now));
                out
            }
            // Late OFFERs from other servers while requesting, stray ACKs: not for now.
            _ => Vec::new(),
        }
    }

    fn bind(&mut self, p: &Packet, src: Ipv4Addr, now: u64, offer: Option<&Lease>) -> Vec<Action> {
        let lease = match Lease::from_packet(p, src, now) {
            Ok(l) => l,
            Err(e) => return vec![Action::Dropped(format!("ACK from {src}: {e}"))],
        };
        if let Some(offer) = offer {
            if lease.server_id != offer.server_id {
                return vec![Action::Dropped(format!(
                    "ACK from server {}, but we asked {}",
                    lease.server_id, offer.server_id
                ))];
            }
            if lease.address.addr != offer.address.addr {
                return vec![Action::Dropped(format!(
                    "ACK for {}, but we asked for {}",
                    lease.address.addr, offer.address.addr
                ))];
            }
        }
        self.state = State::Bound;
        self.next_tx_ms = None;
        vec![Action::Bound(Box::new(lease))]
    }
}

/// Test helper shared with the driver's tests: a server reply.
pub fn reply_for(
    request: &[u8],
    kind: MessageType,
    yiaddr: Ipv4Addr,
    server: Ipv4Addr,
    extra: &[(u8, &[u8])],
) -> Option<Vec<u8>> {
    let req = Packet::decode(request).ok()?;
    let mut p = Packet::request(req.xid, req.chaddr);
    p.op = BOOTREPLY;
    p.yiaddr = yiaddr;
    p.siaddr = server;
    p.options = Options::default();
    p.options.push(opt::MESSAGE_TYPE, &[kind as u8]);
    p.options.push(opt::SERVER_ID, &server.octets());
    for (code, data) in extra {
        p.options.push(*code, data);
    }
    Some(p.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0xab, 0xcd, 1]);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);

    fn client(rapid: bool) -> Client {
        Client::new(
            ClientConfig {
                mac: MAC,
                hostname: Some("node1".into()),
                vendor_class: "netinit".into(),
                rapid_commit: rapid,
            },
            42,
        )
    }

    fn sent(actions: &[Action]) -> Vec<Packet> {
        actions
            .iter()
            .filter_map(|a| {
                if let Action::Send(b) = a {
                    Packet::decode(b).ok()
                } else {
                    None
                }
            })
            .collect()
    }

    fn full_options() -> Vec<(u8, &'static [u8])> {
        vec![
            (opt::SUBNET_MASK, &[255, 255, 255, 0]),
            (opt::ROUTER, &[10, 77, 0, 1]),
            (opt::DNS, &[10, 77, 0, 2, 10, 77, 0, 3]),
            (opt::HOSTNAME, b"client7"),
            (opt::DOMAIN, b"lab.test"),
            (opt::ROOT_PATH, b"10.77.0.1:/export/root"),
            (opt::MTU, &[0x05, 0xdc]),
            (opt::NTP, &[10, 77, 0, 4]),
            (opt::LEASE_TIME, &[0, 0, 0x0e, 0x10]),
            (
                opt::SEARCH,
                &[3, b'l', b'a', b'b', 4, b't', b'e', b's', b't', 0],
            ),
        ]
    }

    #[test]
    fn discover_goes_out_at_once_with_the_right_options() {
        let mut c = client(true);
        // Nothing goes out before carrier; the DISCOVER goes the moment it comes.
        assert_eq!(c.next_wakeup(), None);
        assert!(c.poll(1000).is_empty());
        let out = c.carrier(5000, true);
        let p = &sent(&out)[0];
        assert_eq!(p.options.message_type(), Some(MessageType::Discover));
        assert_eq!(p.options.get(opt::PARAMS), Some(&REQUESTED[..]));
        assert_eq!(
            p.options.get(opt::CLIENT_ID),
            Some(&[1, 0x52, 0x54, 0, 0xab, 0xcd, 1][..])
        );
        assert_eq!(
            p.options.text(opt::VENDOR_CLASS).as_deref(),
            Some("netinit")
        );
        assert_eq!(p.options.text(opt::HOSTNAME).as_deref(), Some("node1"));
        assert_eq!(p.options.get(opt::RAPID_COMMIT), Some(&[][..]));
        assert_eq!(p.chaddr, MAC.0);
        assert_eq!(p.xid, c.xid());
    }

    #[test]
    fn retransmit_schedule_is_fast_then_backs_off_with_jitter() {
        let mut c = client(false);
        let mut now = 0;
        let mut gaps = Vec::new();
        assert_eq!(sent(&c.carrier(0, true)).len(), 1);
        for i in 0..9 {
            if i > 0 {
                assert_eq!(sent(&c.poll(now)).len(), 1);
            }
            // Nothing is sent before the wakeup.
            let next = c.next_wakeup().unwrap();
            assert!(c.poll(next - 1).is_empty());
            gaps.push(next - now);
            now = next;
        }
        assert_eq!(&gaps[..2], &[250, 500]);
        for (gap, base) in gaps[2..]
            .iter()
            .zip([1000u64, 2000, 4000, 8000, 16000, 16000, 16000])
        {
            assert!(
                (base * 4 / 5..=base * 6 / 5).contains(gap),
                "{gap} vs {base}"
            );
        }
        // The secs field counts from the first DISCOVER.
        let last = sent(&c.poll(now));
        assert_eq!(u64::from(last[0].secs), now / 1000);
    }

    #[test]
    fn offer_then_ack_binds_with_every_option() {
        let mut c = client(false);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &full_options()).unwrap();
        let out = c.receive(1100, SERVER, &offer);
        let req = &sent(&out)[0];
        assert_eq!(req.options.message_type(), Some(MessageType::Request));
        assert_eq!(req.options.addr(opt::REQUESTED_IP), Some(ADDR));
        assert_eq!(req.options.addr(opt::SERVER_ID), Some(SERVER));
        let ack = reply_for(
            &req.encode(),
            MessageType::Ack,
            ADDR,
            SERVER,
            &full_options(),
        )
        .unwrap();
        let out = c.receive(1150, SERVER, &ack);
        let Some(Action::Bound(lease)) = out.first() else {
            panic!("{out:?}")
        };
        assert!(c.is_bound());
        assert_eq!(c.next_wakeup(), None);
        assert_eq!(
            lease.address,
            Ipv4Cidr {
                addr: ADDR,
                prefix: 24
            }
        );
        assert_eq!(lease.router, Some(SERVER));
        assert_eq!(lease.dns.len(), 2);
        assert_eq!(lease.hostname.as_deref(), Some("client7"));
        assert_eq!(lease.domain.as_deref(), Some("lab.test"));
        assert_eq!(lease.search, ["lab.test"]);
        assert_eq!(lease.root_path.as_deref(), Some("10.77.0.1:/export/root"));
        assert_eq!(lease.mtu, Some(1500));
        assert_eq!(lease.ntp, [Ipv4Addr::new(10, 77, 0, 4)]);
        assert_eq!(
            (lease.lease_secs, lease.t1_secs, lease.t2_secs),
            (3600, 1800, 3150)
        );
        assert_eq!(lease.next_server, Some(SERVER));
        assert_eq!(lease.bound_at_ms, 1150);
        let state = lease.to_net_state("eth0", 2, MAC);
        assert_eq!(state.broadcast, Some(Ipv4Addr::new(10, 77, 0, 255)));
        assert_eq!(state.lease.map(|l| l.lease_secs), Some(3600));
    }

    #[test]
    fn rapid_commit_binds_from_the_first_reply() {
        let mut c = client(true);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let ack = reply_for(
            &d,
            MessageType::Ack,
            ADDR,
            SERVER,
            &[(opt::RAPID_COMMIT, &[]), (opt::LEASE_TIME, &[0, 0, 0, 60])],
        )
        .unwrap();
        let out = c.receive(20, SERVER, &ack);
        assert!(matches!(out.as_slice(), [Action::Bound(l)] if l.lease_secs == 60));
        // Without rapid commit offered, an unsolicited ACK is ignored.
        let mut c = client(false);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let ack = reply_for(
            &d,
            MessageType::Ack,
            ADDR,
            SERVER,
            &[(opt::RAPID_COMMIT, &[])],
        )
        .unwrap();
        assert!(c.receive(20, SERVER, &ack).is_empty());
    }

    #[test]
    fn nak_restarts_with_a_new_xid() {
        let mut c = client(false);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let old_xid = c.xid();
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let req = sent(&c.receive(10, SERVER, &offer)).remove(0).encode();
        let nak = reply_for(
            &req,
            MessageType::Nak,
            Ipv4Addr::UNSPECIFIED,
            SERVER,
            &[(opt::MESSAGE, b"address in use")],
        )
        .unwrap();
        let out = c.receive(20, SERVER, &nak);
        assert_eq!(
            out[0],
            Action::Nak("DHCPNAK from 10.77.0.1: address in use".into())
        );
        let again = &sent(&out)[0];
        assert_eq!(again.options.message_type(), Some(MessageType::Discover));
        assert_ne!(again.xid, old_xid);
        // The old transaction's packets are now foreign.
        assert!(c.receive(30, SERVER, &offer).is_empty());
    }

    #[test]
    fn repeated_naks_back_off() {
        let mut c = client(false);
        let mut d = sent(&c.carrier(0, true)).remove(0).encode();
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..4 {
            now += 10;
            let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
            let req = sent(&c.receive(now, SERVER, &offer)).remove(0).encode();
            let nak = reply_for(&req, MessageType::Nak, ADDR, SERVER, &[]).unwrap();
            let out = c.receive(now, SERVER, &nak);
            assert!(matches!(out[0], Action::Nak(_)), "{out:?}");
            let again = match sent(&out).pop() {
                Some(p) => p,
                None => {
                    // Not yet: nothing before the wakeup, the DISCOVER at it.
                    let t = c.next_wakeup().unwrap();
                    waits.push(t - now);
                    assert!(c.poll(t - 1).is_empty());
                    now = t;
                    sent(&c.poll(t)).remove(0)
                }
            };
            assert_eq!(again.options.message_type(), Some(MessageType::Discover));
            d = again.encode();
        }
        assert_eq!(c.naks(), 4);
        // The first retry was immediate; then 1 s, 2 s, 4 s, each ±20 %.
        assert_eq!(waits.len(), 3, "{waits:?}");
        for (w, base) in waits.iter().zip([1000u64, 2000, 4000]) {
            assert!((base * 4 / 5..=base * 6 / 5).contains(w), "{w} vs {base}");
        }
    }

    #[test]
    fn carrier_loss_pauses_and_its_return_restarts_the_fast_schedule() {
        let mut c = client(false);
        let mut times = vec![];
        let first = sent(&c.carrier(0, true)).remove(0);
        times.push(0);
        while let Some(t) = c.next_wakeup().filter(|&t| t < 4000) {
            assert_eq!(sent(&c.poll(t)).len(), 1);
            times.push(t);
        }
        assert_eq!(&times[..3], &[0, 250, 750]);
        // Down: nothing is sent, however long it lasts.
        assert!(c.carrier(4000, false).is_empty());
        assert!(!c.has_carrier());
        assert_eq!(c.next_wakeup(), None);
        assert!(c.poll(60_000).is_empty());
        // Up again: a DISCOVER at once, a new transaction, 250 ms next.
        let again = sent(&c.carrier(60_500, true)).remove(0);
        assert_eq!(again.options.message_type(), Some(MessageType::Discover));
        assert_ne!(again.xid, first.xid);
        assert_eq!(c.next_wakeup(), Some(60_750));
        // The same report twice is not a change.
        assert!(c.carrier(60_600, true).is_empty());
        // The secs field still counts from the very first DISCOVER.
        assert_eq!(again.secs, 60);
    }

    #[test]
    fn carrier_loss_while_requesting_goes_back_to_discover() {
        let mut c = client(false);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let req = sent(&c.receive(10, SERVER, &offer)).remove(0);
        assert_eq!(req.options.message_type(), Some(MessageType::Request));
        c.carrier(20, false);
        let out = c.carrier(900, true);
        assert_eq!(
            sent(&out)[0].options.message_type(),
            Some(MessageType::Discover)
        );
        // The old transaction's ACK no longer binds.
        let ack = reply_for(&req.encode(), MessageType::Ack, ADDR, SERVER, &[]).unwrap();
        assert!(c.receive(901, SERVER, &ack).is_empty());
        assert!(!c.is_bound());
    }

    #[test]
    fn carrier_changes_after_binding_send_nothing() {
        let mut c = client(true);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let ack = reply_for(
            &d,
            MessageType::Ack,
            ADDR,
            SERVER,
            &[(opt::RAPID_COMMIT, &[])],
        )
        .unwrap();
        assert!(matches!(c.receive(5, SERVER, &ack)[..], [Action::Bound(_)]));
        assert!(c.carrier(10, false).is_empty());
        assert!(c.carrier(20, true).is_empty());
        assert!(c.is_bound());
    }

    #[test]
    fn silent_server_after_offer_means_start_over() {
        let mut c = client(false);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let mut kinds = vec![];
        kinds.extend(
            sent(&c.receive(10, SERVER, &offer))
                .iter()
                .map(|p| p.options.message_type()),
        );
        for _ in 0..4 {
            let t = c.next_wakeup().unwrap();
            kinds.extend(sent(&c.poll(t)).iter().map(|p| p.options.message_type()));
        }
        use MessageType::*;
        assert_eq!(
            kinds,
            [
                Some(Request),
                Some(Request),
                Some(Request),
                Some(Request),
                Some(Discover)
            ]
        );
    }

    #[test]
    fn foreign_and_hostile_packets() {
        let mut c = client(false);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        // Another client's offer (different xid): ignored quietly.
        let mut other =
            Packet::decode(&reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap()).unwrap();
        other.xid ^= 1;
        assert!(c.receive(5, SERVER, &other.encode()).is_empty());
        // Same xid, other MAC: ignored.
        let mut other =
            Packet::decode(&reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap()).unwrap();
        other.chaddr[5] ^= 1;
        assert!(c.receive(5, SERVER, &other.encode()).is_empty());
        // Truncated: dropped with a reason.
        let good = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        assert!(
            matches!(&c.receive(5, SERVER, &good[..200])[..], [Action::Dropped(r)] if r.contains("shorter than a DHCP header"))
        );
        // Offer of a broadcast address: dropped.
        let bad = reply_for(&d, MessageType::Offer, Ipv4Addr::BROADCAST, SERVER, &[]).unwrap();
        assert!(
            matches!(&c.receive(5, SERVER, &bad)[..], [Action::Dropped(r)] if r.contains("not a host address"))
        );
        // Option with a length past the end: dropped.
        let mut lying = good.clone();
        let at = lying.iter().rposition(|&b| b == 255).unwrap();
        lying.truncate(at);
        lying.extend([17, 250, b'x']);
        assert!(
            matches!(&c.receive(5, SERVER, &lying)[..], [Action::Dropped(r)] if r.contains("claims 250 bytes"))
        );
        // Still selecting: a good offer after all that is taken.
        assert_eq!(sent(&c.receive(6, SERVER, &good)).len(), 1);
        assert_eq!(c.offers_seen(), 1);
    }

    #[test]
    fn ack_from_another_server_is_refused() {
        let mut c = client(false);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let req = sent(&c.receive(10, SERVER, &offer)).remove(0).encode();
        let rogue = Ipv4Addr::new(10, 77, 0, 66);
        let ack = reply_for(&req, MessageType::Ack, ADDR, rogue, &[]).unwrap();
        assert!(
            matches!(&c.receive(11, rogue, &ack)[..], [Action::Dropped(r)] if r.contains("but we asked 10.77.0.1"))
        );
        assert!(!c.is_bound());
    }

    #[test]
    fn weird_options_become_warnings_not_failures() {
        let mut c = client(true);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let ack = reply_for(
            &d,
            MessageType::Ack,
            ADDR,
            SERVER,
            &[
                (opt::RAPID_COMMIT, &[]),
                (opt::SUBNET_MASK, &[255, 0, 255, 0]),
                (opt::DNS, &[1, 2, 3]),
                (opt::MTU, &[0, 10]),
                (opt::SEARCH, &[0xc0, 0]),
            ],
        )
        .unwrap();
        let out = c.receive(1, SERVER, &ack);
        let Some(Action::Bound(l)) = out.first() else {
            panic!("{out:?}")
        };
        assert_eq!(l.address.prefix, 8);
        assert!(l.dns.is_empty() && l.mtu.is_none() && l.search.is_empty());
        assert_eq!(l.warnings.len(), 4, "{:?}", l.warnings);
    }

    /// A rogue server's MTU 68 would make the NFS root crawl; it is ignored.
    #[test]
    fn mtu_below_576_is_ignored() {
        for (mtu, want) in [
            (68u16, None),
            (575, None),
            (576, Some(576)),
            (9000, Some(9000)),
        ] {
            let mut p = Packet::request(1, [2, 0, 0, 0, 0, 1]);
            p.yiaddr = Ipv4Addr::new(10, 0, 0, 5);
            p.options.push(opt::MTU, &mtu.to_be_bytes());
            let l = Lease::from_packet(&p, SERVER, 0).unwrap();
            assert_eq!(l.mtu, want, "{mtu}");
            assert_eq!(
                l.warnings.len(),
                usize::from(want.is_none()),
                "{:?}",
                l.warnings
            );
        }
    }

    #[derive(Debug, Clone)]
    enum Event {
        Carrier(bool),
        Wait(u16),
        Garbage(Vec<u8>),
        Reply(u8, bool),
    }

    fn event() -> impl proptest::strategy::Strategy<Value = Event> {
        use proptest::prelude::*;
        prop_oneof![
            any::<bool>().prop_map(Event::Carrier),
            any::<u16>().prop_map(Event::Wait),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Event::Garbage),
            (1u8..=8, any::<bool>()).prop_map(|(k, rc)| Event::Reply(k, rc)),
        ]
    }

    proptest::proptest! {
        /// Any sequence of carrier changes, time and server replies (for
        /// our last packet, or garbage): no panic, nothing sent without
        /// carrier, nothing sent once bound.
        #[test]
        fn never_panics_or_sends_without_carrier(events in proptest::collection::vec(event(), 0..60)) {
            let mut c = client(true);
            let (mut now, mut last, mut bound) = (0u64, None::<Vec<u8>>, false);
            for e in events {
                let out = match e {
                    Event::Carrier(on) => c.carrier(now, on),
                    Event::Wait(ms) => {
                        now += u64::from(ms);
                        c.poll(now)
                    }
                    Event::Garbage(b) => c.receive(now, SERVER, &b),
                    Event::Reply(kind, rc) => {
                        let kind = MessageType::from_u8(kind).unwrap();
                        let extra: &[(u8, &[u8])] = if rc { &[(opt::RAPID_COMMIT, &[])] } else { &[] };
                        match last.as_deref().and_then(|l| reply_for(l, kind, ADDR, SERVER, extra)) {
                            Some(r) => c.receive(now, SERVER, &r),
                            None => Vec::new(),
                        }
                    }
                };
                for a in &out {
                    match a {
                        Action::Send(p) => {
                            proptest::prop_assert!(c.has_carrier(), "sent without carrier");
                            proptest::prop_assert!(!bound, "sent after binding");
                            last = Some(p.clone());
                        }
                        Action::Bound(_) => bound = true,
                        _ => {}
                    }
                }
                proptest::prop_assert_eq!(c.is_bound(), bound);
            }
        }
    }
}
