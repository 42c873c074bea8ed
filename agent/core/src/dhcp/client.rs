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
//! because some NICs (QEMU's e1000) deliver the first reply late. From
//! there the delay doubles, as RFC 2131 4.1 asks, up to 16 s (not 64 s:
//! a boot has a budget), each randomised by ±20 %. When
//! carrier drops and returns (a NIC renegotiating, a switch port
//! restarting), the fast schedule starts over instead of sitting out a
//! long back-off that was spent on a dead link.

use std::net::Ipv4Addr;

use super::packet::{BOOTREPLY, MessageType, Packet, decode_search, opt};
use crate::ipconf::{classful_prefix, prefix_of};
use crate::net::Ipv4Cidr;
use crate::net::{LeaseTimes, MacAddr, NetState, Proto, Route};

/// Options we ask for (option 55). 121 comes before 3, as RFC 3442 asks.
pub const REQUESTED: [u8; 17] = [
    1, 121, 3, 6, 12, 15, 17, 26, 28, 42, 51, 54, 58, 59, 66, 67, 119,
];

/// Retransmit delays in ms; the last repeats. Each gets ±20 % jitter.
const SCHEDULE_MS: [u64; 7] = [250, 500, 1000, 2000, 4000, 8000, 16000];
/// REQUESTs without an answer before starting over with a DISCOVER.
const MAX_REQUESTS: u32 = 4;
/// Wait before the DISCOVER after the n-th NAK in a row (the last
/// repeats): the first retry is immediate, a server that keeps refusing
/// is not hammered.
const NAK_BACKOFF_MS: [u64; 6] = [0, 1000, 2000, 4000, 8000, 16000];
/// After a DHCPDECLINE, the wait before starting over (RFC 2131 3.1.5
/// asks for at least ten seconds, so a conflict can't become a storm).
pub const DECLINE_WAIT_MS: u64 = 10_000;

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
    /// Option 121 routes other than the default one.
    pub routes: Vec<Route>,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    pub search: Vec<String>,
    pub hostname: Option<String>,
    pub root_path: Option<String>,
    pub mtu: Option<u16>,
    pub broadcast: Option<Ipv4Addr>,
    pub ntp: Vec<Ipv4Addr>,
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
        // Present but not 4 bytes: refusing is safer than guessing "infinite".
        let timer = |code: u8| match o.get(code) {
            None => Ok(None),
            Some(v) => o
                .u32(code)
                .map(Some)
                .ok_or_else(|| format!("option {code} (lease timer) is {} bytes, not 4", v.len())),
        };
        let lease_secs = timer(opt::LEASE_TIME)?.unwrap_or(u32::MAX);
        let (t1_secs, t2_secs) =
            lease_timers(lease_secs, timer(opt::T1)?, timer(opt::T2)?, &mut warnings);
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
        let (router, routes) = routes_of(o, &routers, &mut warnings);
        let mtu = mtu_of(o, &mut warnings);
        Ok(Lease {
            address: Ipv4Cidr { addr, prefix },
            server_id,
            next_server: Some(p.siaddr).filter(|a| !a.is_unspecified()),
            router,
            routes,
            dns,
            domain: o.text(opt::DOMAIN),
            search,
            hostname: o.text(opt::HOSTNAME),
            root_path: o.text(opt::ROOT_PATH),
            mtu,
            broadcast: o.addr(opt::BROADCAST),
            ntp,
            bootfile: o.text(opt::BOOTFILE).or_else(|| p.file.clone()),
            lease_secs,
            t1_secs,
            t2_secs,
            bound_at_ms: now_ms,
            warnings,
        })
    }

    /// The network state for the hand-off and `netinit net`.
    pub fn to_net_state(&self, interface: &str, ifindex: u32, mac: MacAddr) -> NetState {
        NetState {
            ipv6: None,
            interface: interface.to_owned(),
            ifindex,
            mac,
            proto: Proto::Dhcp,
            address: self.address,
            broadcast: Some(self.broadcast.unwrap_or_else(|| self.address.broadcast())),
            gateway: self.router,
            routes: self.routes.clone(),
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

/// The options every message from this client carries. The client id is
/// the MAC (type 1), the same at boot and at every renewal after it, so
/// the server keeps one lease for the machine.
pub(crate) fn base_packet(cfg: &ClientConfig, xid: u32, kind: MessageType, secs: u16) -> Packet {
    let mut p = Packet::request(xid, cfg.mac.0);
    p.secs = secs;
    p.options.push(opt::MESSAGE_TYPE, &[kind as u8]);
    let mut client_id = vec![1u8];
    client_id.extend_from_slice(&cfg.mac.0);
    p.options.push(opt::CLIENT_ID, &client_id);
    p.options
        .push(opt::VENDOR_CLASS, cfg.vendor_class.as_bytes());
    if let Some(h) = &cfg.hostname {
        p.options.push(opt::HOSTNAME, h.as_bytes());
    }
    p.options.push(opt::MAX_SIZE, &1500u16.to_be_bytes());
    p.options.push(opt::PARAMS, &REQUESTED);
    p
}

/// Decodes option 121 (RFC 3442): each route is a prefix length, the
/// significant octets of the destination, then a router (0.0.0.0 means
/// on-link).
fn classless_routes(mut data: &[u8]) -> Result<Vec<Route>, String> {
    let mut out = Vec::new();
    while let Some((&prefix, rest)) = data.split_first() {
        if prefix > 32 {
            return Err(format!("prefix length {prefix} is over 32"));
        }
        let n = usize::from(prefix).div_ceil(8);
        let (dest, rest) = (rest.get(..n), rest.get(n..));
        let (Some(dest), Some(rest)) = (dest, rest) else {
            return Err("truncated destination".to_owned());
        };
        let Some(gw) = rest.get(..4).and_then(|g| <[u8; 4]>::try_from(g).ok()) else {
            return Err("truncated router".to_owned());
        };
        let mut octets = [0u8; 4];
        octets[..n].copy_from_slice(dest);
        let gw = Ipv4Addr::from(gw);
        out.push(Route {
            dest: Ipv4Cidr {
                addr: Ipv4Addr::from(octets),
                prefix,
            },
            gateway: Some(gw).filter(|g| !g.is_unspecified()),
        });
        data = &rest[4..];
    }
    Ok(out)
}

/// T1 and T2 with RFC 2131's defaults (0.5 and 0.875 of the lease), and
/// T1 < T2 < lease enforced: a value out of order is replaced by its
/// default, with a warning.
pub(crate) fn lease_timers(
    lease: u32,
    t1: Option<u32>,
    t2: Option<u32>,
    warnings: &mut Vec<String>,
) -> (u32, u32) {
    let d1 = lease / 2;
    let d2 = u32::try_from(u64::from(lease) * 7 / 8).unwrap_or(u32::MAX);
    if lease == u32::MAX {
        // Infinite: there is nothing to renew.
        return (u32::MAX, u32::MAX);
    }
    // A timer of 0 would renew at once after every reply, a loop with
    // the server; it is taken as absent.
    let t2 = match t2 {
        Some(0) => {
            warnings.push(format!("option 59 (T2) is 0 s; using {d2} s"));
            d2
        }
        Some(t) if t >= lease => {
            warnings.push(format!(
                "option 59 (T2) {t} s is not below the lease time {lease} s; using {d2} s"
            ));
            d2
        }
        Some(t) => t,
        None => d2,
    };
    let d1 = d1.min(t2.saturating_sub(1));
    let t1 = match t1 {
        Some(0) => {
            warnings.push(format!("option 58 (T1) is 0 s; using {d1} s"));
            d1
        }
        Some(t) if t >= t2 => {
            warnings.push(format!(
                "option 58 (T1) {t} s is not below T2 {t2} s; using {d1} s"
            ));
            d1
        }
        Some(t) => t,
        None => d1,
    };
    (t1, t2)
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
    declines: u32,
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
            declines: 0,
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
        super::xorshift64star(&mut self.rng)
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

    /// ±20 % jitter on every delay (RFC 2131 4.1 randomises its 4 s by
    /// ±1 s), so that a rack of machines powered on together does not
    /// retransmit in step, not even in the fast first rounds.
    fn jitter(&mut self, base: u64) -> u64 {
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
                *sent = sent.saturating_add(1);
                let (addr, server) = (offer.address.addr, offer.server_id);
                self.request(secs, addr, server)
            }
        };
        let wait = self.delay(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        self.next_tx_ms = Some(now.saturating_add(wait));
        vec![Action::Send(packet.encode())]
    }

    /// The bound address is in use by another host (an ARP probe got an
    /// answer): tells the server with a DHCPDECLINE and starts over after
    /// [`DECLINE_WAIT_MS`].
    pub fn decline(&mut self, now: u64, lease: &Lease, why: &str) -> Vec<Action> {
        // RFC 2131 table 5: 50 and 54 must be there, 55/57/60 must not.
        let mut p = Packet::request(self.xid, self.cfg.mac.0);
        p.options
            .push(opt::MESSAGE_TYPE, &[MessageType::Decline as u8]);
        let mut client_id = vec![1u8];
        client_id.extend_from_slice(&self.cfg.mac.0);
        p.options.push(opt::CLIENT_ID, &client_id);
        p.options
            .push(opt::REQUESTED_IP, &lease.address.addr.octets());
        p.options.push(opt::SERVER_ID, &lease.server_id.octets());
        p.options.push(opt::MESSAGE, why.as_bytes());
        self.restart();
        self.declines = self.declines.saturating_add(1);
        self.next_tx_ms = Some(now.saturating_add(DECLINE_WAIT_MS));
        vec![Action::Send(p.encode())]
    }

    pub fn declines(&self) -> u32 {
        self.declines
    }

    fn restart(&mut self) {
        self.state = State::Selecting;
        self.xid = self.random() as u32;
        self.attempt = 0;
        self.next_tx_ms = None;
    }

    fn base(&self, kind: MessageType, secs: u16) -> Packet {
        base_packet(&self.cfg, self.xid, kind, secs)
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
                    self.offers_seen = self.offers_seen.saturating_add(1);
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
                self.offers_seen = self.offers_seen.saturating_add(1);
                self.bind(&p, src, now, None)
            }
            (State::Requesting { offer, .. }, MessageType::Ack) => {
                let offer = offer.as_ref().clone();
                self.bind(&p, src, now, Some(&offer))
            }
            (State::Requesting { offer, .. }, MessageType::Nak) => {
                // Without option 54 the IP source must be the server we asked.
                if p.options.addr(opt::SERVER_ID).unwrap_or(src) != offer.server_id {
                    return vec![Action::Dropped(format!(
                        "NAK from {src}, not the server we asked"
                    ))];
                }
                let why = p
                    .options
                    .text(opt::MESSAGE)
                    .unwrap_or_else(|| "no reason given".to_owned());
                self.restart();
                self.naks = self.naks.saturating_add(1);
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

/// Option 26 unless below IPv4's minimum of 68. The floor for a usable
/// MTU (576) is applied with the NIC's own limits when the lease is
/// configured (`net::choose_mtu`).
fn mtu_of(o: &super::packet::Options, warnings: &mut Vec<String>) -> Option<u16> {
    o.u16(opt::MTU).filter(|m| {
        let ok = *m >= 68;
        if !ok {
            warnings.push(format!("option 26 (MTU) {m} is below 68; ignored"));
        }
        ok
    })
}

/// The default router and the other routes. RFC 3442: when option 121 is
/// present, option 3 is ignored.
fn routes_of(
    o: &super::packet::Options,
    routers: &[Ipv4Addr],
    warnings: &mut Vec<String>,
) -> (Option<Ipv4Addr>, Vec<Route>) {
    match o.get(opt::CLASSLESS_ROUTES).map(classless_routes) {
        Some(Ok(all)) => {
            let default = all
                .iter()
                .find(|r| r.dest.prefix == 0)
                .and_then(|r| r.gateway);
            (
                default,
                all.into_iter().filter(|r| r.dest.prefix > 0).collect(),
            )
        }
        Some(Err(e)) => {
            warnings.push(format!(
                "option 121 (classless routes): {e}; using option 3"
            ));
            (routers.first().copied(), Vec::new())
        }
        None => (routers.first().copied(), Vec::new()),
    }
}

/// A server's reply to `request`: for fakes, tests, the fuzzer and the
/// lab's rogue server (the `test-support` feature), never in /init.
#[cfg(any(test, feature = "test-support"))]
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
    p.options = super::packet::Options::default();
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

    /// A Rapid Commit ACK (no OFFER before it) answering `discover`, with
    /// the options `extra` after the Rapid Commit one.
    fn rapid_ack(discover: &[u8], extra: &[(u8, &[u8])]) -> Vec<u8> {
        let mut opts: Vec<(u8, &[u8])> = vec![(opt::RAPID_COMMIT, &[])];
        opts.extend_from_slice(extra);
        reply_for(discover, MessageType::Ack, ADDR, SERVER, &opts).unwrap()
    }

    /// A client whose carrier just came up, and the DISCOVER it sent.
    fn discovering(rapid: bool) -> (Client, Vec<u8>) {
        let mut c = client(rapid);
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        (c, d)
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
        for (gap, base) in gaps
            .iter()
            .zip([250u64, 500, 1000, 2000, 4000, 8000, 16000, 16000, 16000])
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

    /// A storm: clients powered on together (same instant, seeds from
    /// their MACs) must not retransmit in step. Each schedule doubles
    /// (RFC 2131 4.1) within its ±20 %; across 100 seeds every
    /// retransmit is spread over most of its window.
    #[test]
    fn retransmits_of_a_storm_do_not_synchronise() {
        let schedule = |seed: u64| {
            let mut c = Client::new(
                ClientConfig {
                    mac: MAC,
                    hostname: None,
                    vendor_class: "netinit".into(),
                    rapid_commit: true,
                },
                seed,
            );
            let mut at = Vec::new();
            c.carrier(0, true);
            for _ in 0..6 {
                let now = c.next_wakeup().unwrap();
                at.push(now);
                c.poll(now);
            }
            at
        };
        let all: Vec<Vec<u64>> = (0..100u64)
            .map(|i| schedule(0x5254_0077_0000 + i * 0x1_0000))
            .collect();
        for at in &all {
            let gaps: Vec<u64> = std::iter::once(at[0])
                .chain(at.windows(2).map(|w| w[1] - w[0]))
                .collect();
            for (gap, base) in gaps.iter().zip([250u64, 500, 1000, 2000, 4000, 8000]) {
                assert!((base * 4 / 5..=base * 6 / 5).contains(gap), "{gaps:?}");
            }
        }
        for k in 0..6 {
            let mut times: Vec<u64> = all.iter().map(|a| a[k]).collect();
            times.sort_unstable();
            times.dedup();
            // 100 clients, at least 30 distinct instants for every retransmit.
            assert!(times.len() >= 30, "retransmit {k}: {times:?}");
            let spread = times[times.len() - 1] - times[0];
            let base = [250u64, 750, 1750, 3750, 7750, 15750][k];
            assert!(spread * 4 >= base / 5, "retransmit {k} spread {spread} ms");
        }
        // Injected randomness: the same seed gives the same schedule.
        assert_eq!(schedule(7), schedule(7));
    }

    #[test]
    fn offer_then_ack_binds_with_every_option() {
        let (mut c, d) = discovering(false);
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
        let (mut c, d) = discovering(true);
        let ack = rapid_ack(&d, &[(opt::LEASE_TIME, &[0, 0, 0, 60])]);
        let out = c.receive(20, SERVER, &ack);
        assert!(matches!(out.as_slice(), [Action::Bound(l)] if l.lease_secs == 60));
        // Without rapid commit offered, an unsolicited ACK is ignored.
        let (mut c, d) = discovering(false);
        let ack = rapid_ack(&d, &[]);
        assert!(c.receive(20, SERVER, &ack).is_empty());
    }

    #[test]
    fn nak_restarts_with_a_new_xid() {
        let (mut c, d) = discovering(false);
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
        assert_eq!(times[0], 0);
        assert!((200..=300).contains(&times[1]), "{times:?}");
        assert!(
            (times[1] + 400..=times[1] + 600).contains(&times[2]),
            "{times:?}"
        );
        // Down: nothing is sent, however long it lasts.
        assert!(c.carrier(4000, false).is_empty());
        assert!(!c.has_carrier());
        assert_eq!(c.next_wakeup(), None);
        assert!(c.poll(60_000).is_empty());
        // Up again: a DISCOVER at once, a new transaction, 250 ms next.
        let again = sent(&c.carrier(60_500, true)).remove(0);
        assert_eq!(again.options.message_type(), Some(MessageType::Discover));
        assert_ne!(again.xid, first.xid);
        assert!(
            (60_700..=60_800).contains(&c.next_wakeup().unwrap()),
            "{:?}",
            c.next_wakeup()
        );
        // The same report twice is not a change.
        assert!(c.carrier(60_600, true).is_empty());
        // The secs field still counts from the very first DISCOVER.
        assert_eq!(again.secs, 60);
    }

    #[test]
    fn carrier_loss_while_requesting_goes_back_to_discover() {
        let (mut c, d) = discovering(false);
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
        let (mut c, d) = discovering(true);
        let ack = rapid_ack(&d, &[]);
        assert!(matches!(c.receive(5, SERVER, &ack)[..], [Action::Bound(_)]));
        assert!(c.carrier(10, false).is_empty());
        assert!(c.carrier(20, true).is_empty());
        assert!(c.is_bound());
    }

    #[test]
    fn silent_server_after_offer_means_start_over() {
        let (mut c, d) = discovering(false);
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
        let (mut c, d) = discovering(false);
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
        let (mut c, d) = discovering(false);
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let req = sent(&c.receive(10, SERVER, &offer)).remove(0).encode();
        let rogue = Ipv4Addr::new(10, 77, 0, 66);
        let ack = reply_for(&req, MessageType::Ack, ADDR, rogue, &[]).unwrap();
        assert!(
            matches!(&c.receive(11, rogue, &ack)[..], [Action::Dropped(r)] if r.contains("but we asked 10.77.0.1"))
        );
        assert!(!c.is_bound());
    }

    /// Offers, requests and returns what the server's ACK with `extra` gives.
    fn ack_with(extra: &[(u8, &[u8])]) -> Vec<Action> {
        let (mut c, d) = discovering(false);
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let req = sent(&c.receive(10, SERVER, &offer)).remove(0).encode();
        let ack = reply_for(&req, MessageType::Ack, ADDR, SERVER, extra).unwrap();
        c.receive(11, SERVER, &ack)
    }

    #[test]
    fn a_malformed_lease_time_is_an_error_not_an_infinite_lease() {
        for (code, name) in [(opt::LEASE_TIME, "51"), (opt::T1, "58"), (opt::T2, "59")] {
            let out = ack_with(&[(code, &[0, 0, 1])]);
            assert!(
                matches!(&out[..], [Action::Dropped(r)] if r.contains(&format!("option {name}"))),
                "{out:?}"
            );
        }
    }

    #[test]
    fn t1_below_t2_below_lease_is_enforced() {
        let lease = |extra: &[(u8, &[u8])]| match ack_with(extra).remove(0) {
            Action::Bound(l) => *l,
            other => panic!("{other:?}"),
        };
        // (T1, T2) sent with a 100 s lease, the (T1, T2) taken, and the
        // timer a warning names (None: no warning).
        type Case = (Option<(u32, u32)>, (u32, u32), Option<&'static str>);
        let cases: [Case; 6] = [
            (None, (50, 87), None),
            // A timer of 0 would renew at once after every reply.
            (Some((0, 0)), (50, 87), Some("T2")),
            (Some((0, 60)), (50, 60), Some("T1")),
            // T2 beyond the lease, T1 beyond T2: both fall back to the RFC defaults.
            (Some((90, 200)), (50, 87), Some("T2")),
            (Some((80, 70)), (50, 70), Some("T1")),
            // Good values are kept.
            (Some((30, 60)), (30, 60), None),
        ];
        for (sent, want, warning) in cases {
            let lease_time = 100u32.to_be_bytes();
            let mut opts: Vec<(u8, &[u8])> = vec![(opt::LEASE_TIME, &lease_time)];
            let timers = sent.map(|(t1, t2)| (t1.to_be_bytes(), t2.to_be_bytes()));
            if let Some((t1, t2)) = &timers {
                opts.extend([(opt::T1, &t1[..]), (opt::T2, &t2[..])]);
            }
            let l = lease(&opts);
            assert_eq!((l.t1_secs, l.t2_secs), want, "{sent:?}");
            match warning {
                Some(timer) => assert!(
                    l.warnings.iter().any(|w| w.contains(timer)),
                    "{sent:?}: {:?}",
                    l.warnings
                ),
                None => assert!(l.warnings.is_empty(), "{sent:?}: {:?}", l.warnings),
            }
        }
    }

    #[test]
    fn a_nak_without_server_id_counts_only_from_the_chosen_server() {
        let (mut c, d) = discovering(false);
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let req = sent(&c.receive(10, SERVER, &offer)).remove(0).encode();
        let rogue = Ipv4Addr::new(10, 77, 0, 66);
        let mut nak = Packet::decode(
            &reply_for(&req, MessageType::Nak, Ipv4Addr::UNSPECIFIED, rogue, &[]).unwrap(),
        )
        .unwrap();
        nak.options.0.retain(|(c, _)| *c != opt::SERVER_ID);
        let out = c.receive(11, rogue, &nak.encode());
        assert!(
            matches!(&out[..], [Action::Dropped(r)] if r.contains("not the server we asked")),
            "{out:?}"
        );
        assert_eq!(c.naks(), 0);
        // The same NAK from the chosen server counts.
        let out = c.receive(12, SERVER, &nak.encode());
        assert!(matches!(out[0], Action::Nak(_)), "{out:?}");
    }

    #[test]
    fn classless_static_routes_replace_the_router_option() {
        let bound = |extra: &[(u8, &[u8])]| match ack_with(extra).remove(0) {
            Action::Bound(l) => *l,
            other => panic!("{other:?}"),
        };
        // 10.99.0.0/16 via 10.77.0.254, 192.168.5.0/24 on-link, default via 10.77.0.1.
        let routes: &[u8] = &[
            16, 10, 99, 10, 77, 0, 254, 24, 192, 168, 5, 0, 0, 0, 0, 0, 10, 77, 0, 1,
        ];
        let l = bound(&[
            (opt::CLASSLESS_ROUTES, routes),
            (opt::ROUTER, &[10, 77, 0, 9]),
        ]);
        // RFC 3442: with option 121, option 3 is ignored.
        assert_eq!(l.router, Some(Ipv4Addr::new(10, 77, 0, 1)));
        let shown: Vec<String> = l.routes.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            ["10.99.0.0/16 via 10.77.0.254", "192.168.5.0/24 on-link"]
        );
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        // Malformed (a prefix over 32, a truncated entry): a warning, option 3 is used.
        for bad in [
            &[33u8, 1, 2, 3, 4, 5, 6, 7, 8, 9][..],
            &[24, 10, 99, 0, 10, 77][..],
        ] {
            let l = bound(&[(opt::CLASSLESS_ROUTES, bad), (opt::ROUTER, &[10, 77, 0, 9])]);
            assert_eq!(l.router, Some(Ipv4Addr::new(10, 77, 0, 9)));
            assert!(l.routes.is_empty());
            assert!(
                l.warnings.iter().any(|w| w.contains("option 121")),
                "{:?}",
                l.warnings
            );
        }
        // Asked for, before option 3 as RFC 3442 recommends.
        let pos = |c| REQUESTED.iter().position(|&x| x == c);
        assert!(pos(opt::CLASSLESS_ROUTES) < pos(opt::ROUTER));
    }

    #[test]
    fn counters_saturate() {
        let mut c = client(false);
        c.naks = u32::MAX;
        c.offers_seen = u32::MAX;
        let d = sent(&c.carrier(0, true)).remove(0).encode();
        let offer = reply_for(&d, MessageType::Offer, ADDR, SERVER, &[]).unwrap();
        let req = sent(&c.receive(10, SERVER, &offer)).remove(0).encode();
        assert_eq!(c.offers_seen(), u32::MAX);
        let nak = reply_for(&req, MessageType::Nak, ADDR, SERVER, &[]).unwrap();
        assert!(matches!(c.receive(11, SERVER, &nak)[0], Action::Nak(_)));
        assert_eq!(c.naks(), u32::MAX);
    }

    #[test]
    fn weird_options_become_warnings_not_failures() {
        let (mut c, d) = discovering(true);
        let ack = rapid_ack(
            &d,
            &[
                (opt::SUBNET_MASK, &[255, 0, 255, 0]),
                (opt::DNS, &[1, 2, 3]),
                (opt::MTU, &[0, 10]),
                (opt::SEARCH, &[0xc0, 0]),
            ],
        );
        let out = c.receive(1, SERVER, &ack);
        let Some(Action::Bound(l)) = out.first() else {
            panic!("{out:?}")
        };
        assert_eq!(l.address.prefix, 8);
        assert!(l.dns.is_empty() && l.mtu.is_none() && l.search.is_empty());
        assert_eq!(l.warnings.len(), 4, "{:?}", l.warnings);
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
