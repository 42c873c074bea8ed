//! The DHCPv6 client for one NIC (stateful, one IA_NA), sans-IO like the
//! DHCPv4 one: [`Client::carrier`], [`Client::poll`] when
//! [`Client::next_wakeup`] is due, [`Client::receive`] for every UDP
//! payload from port 547. Time and randomness come in from outside.
//!
//! Boot speed over RFC 8415's politeness: the first SOLICIT goes out at
//! once (no 0–1 s start delay) and the first usable ADVERTISE is taken
//! without waiting out the first retransmit period. Rapid Commit is asked
//! for when configured; a REPLY carrying it binds straight away.

use std::net::Ipv6Addr;

use super::packet::{
    ADVERTISE, IaAddr, IaNa, Message, Options, REPLY, REQUEST, SOLICIT, STATUS_SUCCESS, addrs, opt,
};
use crate::dhcp::packet::decode_search;
use crate::net::MacAddr;

/// Retransmit delays in ms (RFC 8415's IRT is 1 s; capped at 16 s because
/// a boot has a budget). Each gets ±10 % jitter; the last repeats.
const SCHEDULE_MS: [u64; 5] = [1000, 2000, 4000, 8000, 16000];
/// REQUESTs without an answer before starting over (REQ_MAX_RC is 10).
const MAX_REQUESTS: u32 = 4;
/// Options requested (option 6): DNS, domain list, boot-file URL.
const ORO: [u16; 3] = [opt::DNS_SERVERS, opt::DOMAIN_LIST, opt::BOOTFILE_URL];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub mac: MacAddr,
    /// The IA's id: stable per interface, so a restart asks for the same.
    pub iaid: u32,
    pub rapid_commit: bool,
}

impl ClientConfig {
    /// DUID-LL (RFC 8415 11.4): type 3, hardware type 1, the MAC. Stable
    /// across boots without storage, which a netbooting client has none of.
    pub fn duid(&self) -> Vec<u8> {
        let mut d = vec![0, 3, 0, 1];
        d.extend_from_slice(&self.mac.0);
        d
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this payload to ff02::1:2 port 547 from port 546.
    Send(Vec<u8>),
    Bound(Box<Lease>),
    Dropped(String),
    /// The server refused (a status code); we start over.
    Nak(String),
}

/// What the server gave us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// DHCPv6 assigns a bare address; the on-link prefix comes from RAs,
    /// so the address is configured as /128.
    pub address: Ipv6Addr,
    pub preferred_secs: u32,
    /// Seconds; `u32::MAX` is infinite.
    pub valid_secs: u32,
    pub t1_secs: u32,
    pub t2_secs: u32,
    pub iaid: u32,
    pub server_duid: Vec<u8>,
    /// The server's link-local source address.
    pub server_addr: Ipv6Addr,
    pub preference: u8,
    pub dns: Vec<Ipv6Addr>,
    pub search: Vec<String>,
    pub bootfile_url: Option<String>,
    pub bound_at_ms: u64,
    pub warnings: Vec<String>,
}

impl Lease {
    /// Builds a lease from an ADVERTISE or REPLY sent from `src`.
    pub fn from_message(m: &Message, src: Ipv6Addr, now_ms: u64) -> Result<Lease, String> {
        let o = &m.options;
        let server_duid = o.get(opt::SERVERID).ok_or("no server id")?.to_vec();
        if let Some((code, msg)) = o.status().filter(|(c, _)| *c != STATUS_SUCCESS) {
            return Err(format!("status {code}: {msg}"));
        }
        let ia_raw = o.get(opt::IA_NA).ok_or("no IA_NA (no address offered)")?;
        let ia = IaNa::decode(ia_raw).map_err(|e| e.0)?;
        if let Some((code, msg)) = ia.options.status().filter(|(c, _)| *c != STATUS_SUCCESS) {
            return Err(format!("IA_NA status {code}: {msg}"));
        }
        let mut warnings = Vec::new();
        let mut chosen = None;
        for raw in ia.options.all(opt::IAADDR) {
            match IaAddr::decode(raw) {
                Ok(a) if a.valid == 0 || a.preferred > a.valid => warnings.push(format!(
                    "address {} has lifetimes {}/{}; skipped",
                    a.addr, a.preferred, a.valid
                )),
                Ok(a) if !is_unicast(a.addr) => {
                    warnings.push(format!("address {} is not unicast; skipped", a.addr))
                }
                Ok(a) => {
                    chosen = Some(a);
                    break;
                }
                Err(e) => warnings.push(format!("IAADDR: {e}")),
            }
        }
        let a = chosen.ok_or("IA_NA holds no usable address")?;
        // RFC 8415 21.4: T1/T2 of 0 leave the choice to the client; it
        // takes 0.5 and 0.8 of the preferred lifetime, or of the valid
        // one when the address comes already deprecated (preferred 0),
        // where the preferred one gives timers of 0. (The renewers also
        // take a timer of 0 as absent: `dhcp::renew::sane`.)
        let (mut t1, mut t2) = (ia.t1, ia.t2);
        if t1 == 0 || t2 == 0 || t1 > t2 {
            let p = u64::from(if a.preferred == 0 {
                a.valid
            } else {
                a.preferred
            });
            t1 = u32::try_from(p / 2).unwrap_or(u32::MAX);
            t2 = u32::try_from(p * 4 / 5).unwrap_or(u32::MAX);
        }
        let dns = match o.get(opt::DNS_SERVERS) {
            None => Vec::new(),
            Some(d) => addrs(d).unwrap_or_else(|| {
                warnings.push("option 23 (DNS) is not a list of addresses; ignored".into());
                Vec::new()
            }),
        };
        let search = match o.get(opt::DOMAIN_LIST) {
            None => Vec::new(),
            Some(d) => decode_search(d).unwrap_or_else(|e| {
                warnings.push(format!("option 24 (domain list): {e}"));
                Vec::new()
            }),
        };
        let bootfile_url = o
            .get(opt::BOOTFILE_URL)
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|s| !s.is_empty() && !s.contains(|c: char| c.is_control()))
            .map(str::to_owned);
        Ok(Lease {
            address: a.addr,
            preferred_secs: a.preferred,
            valid_secs: a.valid,
            t1_secs: t1,
            t2_secs: t2,
            iaid: ia.iaid,
            server_duid,
            server_addr: src,
            preference: o
                .get(opt::PREFERENCE)
                .and_then(|d| d.first().copied())
                .unwrap_or(0),
            dns,
            search,
            bootfile_url,
            bound_at_ms: now_ms,
            warnings,
        })
    }
}

fn is_unicast(a: Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Soliciting,
    Requesting { offer: Box<Lease>, sent: u32 },
    Bound,
}

#[derive(Debug)]
pub struct Client {
    cfg: ClientConfig,
    state: State,
    xid: u32,
    rng: u64,
    start_ms: Option<u64>,
    next_tx_ms: Option<u64>,
    attempt: usize,
    link_up: bool,
}

impl Client {
    pub fn new(cfg: ClientConfig, seed: u64) -> Client {
        let mut c = Client {
            cfg,
            state: State::Soliciting,
            xid: 0,
            rng: seed | 1,
            start_ms: None,
            next_tx_ms: None,
            attempt: 0,
            link_up: false,
        };
        c.xid = c.random() as u32 & 0x00ff_ffff;
        c
    }

    pub fn xid(&self) -> u32 {
        self.xid
    }

    pub fn is_bound(&self) -> bool {
        self.state == State::Bound
    }

    // Like the DHCPv4 `Client`'s `next_wakeup`/`carrier`, but over this
    // client's own `State` and `Action`: too few lines to bridge two types.
    pub fn next_wakeup(&self) -> Option<u64> {
        match self.state {
            State::Bound => None,
            _ if !self.link_up => None,
            _ => Some(self.next_tx_ms.unwrap_or(0)),
        }
    }

    /// Carrier up sends a SOLICIT at once; a return after a loss starts a
    /// fresh exchange (an ADVERTISE from before may be stale).
    pub fn carrier(&mut self, now: u64, up: bool) -> Vec<Action> {
        if up == self.link_up {
            return Vec::new();
        }
        self.link_up = up;
        if !up || self.state == State::Bound {
            return Vec::new();
        }
        if self.start_ms.is_some() {
            self.restart();
        }
        self.next_tx_ms = Some(now);
        self.poll(now)
    }

    fn random(&mut self) -> u64 {
        crate::dhcp::xorshift64star(&mut self.rng)
    }

    fn delay(&mut self) -> u64 {
        let base = SCHEDULE_MS
            .get(self.attempt)
            .or(SCHEDULE_MS.last())
            .copied()
            .unwrap_or(1000);
        let spread = base / 10;
        base - spread + self.random() % (2 * spread + 1)
    }

    fn restart(&mut self) {
        self.state = State::Soliciting;
        self.xid = self.random() as u32 & 0x00ff_ffff;
        self.attempt = 0;
        self.start_ms = None;
        self.next_tx_ms = None;
    }

    pub fn poll(&mut self, now: u64) -> Vec<Action> {
        if self.next_wakeup().is_none_or(|t| now < t) {
            return Vec::new();
        }
        let start = *self.start_ms.get_or_insert(now);
        // Elapsed time is in hundredths of a second, saturating (21.9).
        let elapsed = u16::try_from(now.saturating_sub(start) / 10).unwrap_or(u16::MAX);
        let m = match &mut self.state {
            State::Bound => return Vec::new(),
            State::Requesting { sent, .. } if *sent >= MAX_REQUESTS => {
                self.restart();
                self.start_ms = Some(now);
                self.message(SOLICIT, 0, None)
            }
            State::Soliciting => self.message(SOLICIT, elapsed, None),
            State::Requesting { offer, sent } => {
                *sent = sent.saturating_add(1);
                let offer = offer.clone();
                self.message(REQUEST, elapsed, Some(&offer))
            }
        };
        let wait = self.delay();
        self.attempt = self.attempt.saturating_add(1);
        self.next_tx_ms = Some(now.saturating_add(wait));
        vec![Action::Send(m.encode())]
    }

    fn message(&self, kind: u8, elapsed: u16, offer: Option<&Lease>) -> Message {
        let mut m = Message::new(kind, self.xid);
        m.options.push(opt::CLIENTID, &self.cfg.duid());
        let mut ia = IaNa {
            iaid: self.cfg.iaid,
            t1: 0,
            t2: 0,
            options: Options::default(),
        };
        if let Some(o) = offer {
            m.options.push(opt::SERVERID, &o.server_duid);
            let a = IaAddr {
                addr: o.address,
                preferred: o.preferred_secs,
                valid: o.valid_secs,
                options: Options::default(),
            };
            ia.options.push(opt::IAADDR, &a.encode());
        }
        m.options.push(opt::IA_NA, &ia.encode());
        let oro: Vec<u8> = ORO.iter().flat_map(|c| c.to_be_bytes()).collect();
        m.options.push(opt::ORO, &oro);
        m.options.push(opt::ELAPSED_TIME, &elapsed.to_be_bytes());
        if kind == SOLICIT && self.cfg.rapid_commit {
            m.options.push(opt::RAPID_COMMIT, &[]);
        }
        m
    }

    /// Handles one UDP payload from `src` port 547.
    pub fn receive(&mut self, now: u64, src: Ipv6Addr, payload: &[u8]) -> Vec<Action> {
        if self.state == State::Bound {
            return Vec::new();
        }
        let m = match Message::decode(payload) {
            Ok(m) => m,
            Err(e) => return vec![Action::Dropped(format!("malformed DHCPv6 from {src}: {e}"))],
        };
        // Other clients' exchanges on the segment: ignore quietly.
        if m.xid != self.xid || m.options.get(opt::CLIENTID) != Some(&self.cfg.duid()[..]) {
            return Vec::new();
        }
        let rapid = m.options.get(opt::RAPID_COMMIT).is_some();
        match (&self.state, m.kind) {
            (State::Soliciting, ADVERTISE) => match Lease::from_message(&m, src, now) {
                Ok(offer) => {
                    self.state = State::Requesting {
                        offer: Box::new(offer),
                        sent: 0,
                    };
                    self.attempt = 0;
                    self.start_ms = Some(now);
                    self.next_tx_ms = Some(now);
                    self.poll(now)
                }
                Err(e) => vec![Action::Dropped(format!("ADVERTISE from {src}: {e}"))],
            },
            (State::Soliciting, REPLY) if rapid && self.cfg.rapid_commit => {
                self.bind(&m, src, now, None)
            }
            (State::Requesting { offer, .. }, REPLY) => {
                if m.options.get(opt::SERVERID) != Some(&offer.server_duid[..]) {
                    return vec![Action::Dropped(format!(
                        "REPLY from {src}, not the server we asked"
                    ))];
                }
                let offer = offer.as_ref().clone();
                self.bind(&m, src, now, Some(&offer))
            }
            _ => Vec::new(),
        }
    }

    fn bind(&mut self, m: &Message, src: Ipv6Addr, now: u64, offer: Option<&Lease>) -> Vec<Action> {
        match Lease::from_message(m, src, now) {
            Ok(lease) => {
                self.state = State::Bound;
                self.next_tx_ms = None;
                vec![Action::Bound(Box::new(lease))]
            }
            Err(e) if offer.is_some() => {
                // A REPLY that refuses (NoAddrsAvail, NotOnLink…): start over.
                self.restart();
                self.next_tx_ms = Some(now.saturating_add(self.delay()));
                vec![Action::Nak(format!("REPLY from {src}: {e}"))]
            }
            Err(e) => vec![Action::Dropped(format!("REPLY from {src}: {e}"))],
        }
    }
}

/// Test helper shared with the fuzz target and the driver's tests (the
/// `test-support` feature, never in /init): a server's answer of `kind` to `request`, offering `addr`.
#[cfg(any(test, feature = "test-support"))]
pub fn reply_for(
    request: &[u8],
    kind: u8,
    addr: Ipv6Addr,
    extra: &[(u16, &[u8])],
) -> Option<Vec<u8>> {
    let req = Message::decode(request).ok()?;
    let mut m = Message::new(kind, req.xid);
    m.options
        .push(opt::SERVERID, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
    m.options
        .push(opt::CLIENTID, req.options.get(opt::CLIENTID)?);
    let iaid = IaNa::decode(req.options.get(opt::IA_NA)?).ok()?.iaid;
    let a = IaAddr {
        addr,
        preferred: 3600,
        valid: 7200,
        options: Options::default(),
    };
    let ia = IaNa {
        iaid,
        t1: 0,
        t2: 0,
        options: Options(vec![(opt::IAADDR, a.encode())]),
    };
    m.options.push(opt::IA_NA, &ia.encode());
    for (c, d) in extra {
        m.options.push(*c, d);
    }
    Some(m.encode())
}

/// Test helper like [`reply_for`]: a REPLY to `request` whose IA_NA says
/// NoBinding (status 3, message "gone"), as a server that lost the lease.
#[cfg(any(test, feature = "test-support"))]
pub fn no_binding_for(request: &[u8]) -> Option<Vec<u8>> {
    let req = Message::decode(request).ok()?;
    let iaid = IaNa::decode(req.options.get(opt::IA_NA)?).ok()?.iaid;
    let mut m = Message::decode(&reply_for(request, REPLY, Ipv6Addr::UNSPECIFIED, &[])?).ok()?;
    let ia = IaNa {
        iaid,
        t1: 0,
        t2: 0,
        options: Options(vec![(opt::STATUS_CODE, b"\x00\x03gone".to_vec())]),
    };
    m.options.0.retain(|(c, _)| *c != opt::IA_NA);
    m.options.push(opt::IA_NA, &ia.encode());
    Some(m.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRV: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

    fn addr() -> Ipv6Addr {
        "fd00:77::150".parse().unwrap()
    }

    fn client(rapid: bool) -> Client {
        Client::new(
            ClientConfig {
                mac: MacAddr([0x52, 0x54, 0, 0xab, 0xcd, 1]),
                iaid: 2,
                rapid_commit: rapid,
            },
            42,
        )
    }

    fn sent(actions: &[Action]) -> Message {
        match actions {
            [Action::Send(d)] => Message::decode(d).unwrap(),
            other => panic!("want one Send, got {other:?}"),
        }
    }

    #[test]
    fn solicit_advertise_request_reply() {
        let mut c = client(false);
        let sol = sent(&c.carrier(5, true));
        assert_eq!(sol.kind, SOLICIT);
        assert_eq!(
            sol.options.get(opt::CLIENTID),
            Some(&[0, 3, 0, 1, 0x52, 0x54, 0, 0xab, 0xcd, 1][..])
        );
        assert_eq!(sol.options.get(opt::RAPID_COMMIT), None);
        assert_eq!(sol.options.get(opt::ORO), Some(&[0, 23, 0, 24, 0, 59][..]));
        assert_eq!(
            IaNa::decode(sol.options.get(opt::IA_NA).unwrap())
                .unwrap()
                .iaid,
            2
        );
        let adv = reply_for(&sol.encode(), ADVERTISE, addr(), &[]).unwrap();
        let req = sent(&c.receive(30, SRV, &adv));
        assert_eq!(req.kind, REQUEST);
        assert_eq!(req.xid, sol.xid);
        assert!(req.options.get(opt::SERVERID).is_some());
        let ia = IaNa::decode(req.options.get(opt::IA_NA).unwrap()).unwrap();
        assert_eq!(
            IaAddr::decode(ia.options.get(opt::IAADDR).unwrap())
                .unwrap()
                .addr,
            addr()
        );
        let dns = "fd00:77::1".parse::<Ipv6Addr>().unwrap().octets();
        let search = b"\x03lab\x07example\x00";
        let url = b"http://[fd00:77::1]/boot.ipxe";
        let rep = reply_for(
            &req.encode(),
            REPLY,
            addr(),
            &[
                (opt::DNS_SERVERS, &dns),
                (opt::DOMAIN_LIST, search),
                (opt::BOOTFILE_URL, url),
            ],
        )
        .unwrap();
        let out = c.receive(40, SRV, &rep);
        let [Action::Bound(l)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(l.address, addr());
        assert_eq!(
            (l.preferred_secs, l.valid_secs, l.t1_secs, l.t2_secs),
            (3600, 7200, 1800, 2880)
        );
        assert_eq!(l.dns, vec!["fd00:77::1".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(l.search, vec!["lab.example".to_owned()]);
        assert_eq!(
            l.bootfile_url.as_deref(),
            Some("http://[fd00:77::1]/boot.ipxe")
        );
        assert_eq!(l.server_addr, SRV);
        assert!(c.is_bound());
        assert_eq!(c.next_wakeup(), None);
        assert!(c.receive(50, SRV, &rep).is_empty());
    }

    #[test]
    fn timers_left_to_the_client_follow_the_lifetimes() {
        // (T1, T2, preferred, valid) sent, (T1, T2) taken.
        type Case = ((u32, u32, u32, u32), (u32, u32));
        let cases: [Case; 5] = [
            ((0, 0, 3600, 7200), (1800, 2880)),
            ((600, 900, 3600, 7200), (600, 900)),
            // Out of order: the client's own choice.
            ((900, 600, 3600, 7200), (1800, 2880)),
            // Already deprecated: the valid lifetime decides, not a
            // preferred lifetime of 0.
            ((0, 0, 0, 12152), (6076, 9721)),
            ((0, 900, 0, 1000), (500, 800)),
        ];
        for ((t1, t2, preferred, valid), want) in cases {
            let a = IaAddr {
                addr: addr(),
                preferred,
                valid,
                options: Options::default(),
            };
            let ia = IaNa {
                iaid: 2,
                t1,
                t2,
                options: Options(vec![(opt::IAADDR, a.encode())]),
            };
            let mut m = Message::new(REPLY, 7);
            m.options
                .push(opt::SERVERID, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
            m.options.push(opt::IA_NA, &ia.encode());
            let l = Lease::from_message(&m, SRV, 0).unwrap();
            assert_eq!(
                (l.t1_secs, l.t2_secs),
                want,
                "{t1} {t2} {preferred} {valid}"
            );
        }
    }

    #[test]
    fn rapid_commit_binds_at_once() {
        let mut c = client(true);
        let sol = sent(&c.carrier(0, true));
        assert_eq!(sol.options.get(opt::RAPID_COMMIT), Some(&[][..]));
        // A REPLY without rapid commit while soliciting is not a binding.
        let plain = reply_for(&sol.encode(), REPLY, addr(), &[]).unwrap();
        assert!(c.receive(1, SRV, &plain).is_empty());
        let rep = reply_for(&sol.encode(), REPLY, addr(), &[(opt::RAPID_COMMIT, &[])]).unwrap();
        assert!(matches!(&c.receive(2, SRV, &rep)[..], [Action::Bound(_)]));
    }

    #[test]
    fn ignores_other_clients_and_refuses_bad_offers() {
        let mut c = client(false);
        let sol = sent(&c.carrier(0, true));
        let mut other = sol.clone();
        other.xid ^= 1;
        let adv = reply_for(&other.encode(), ADVERTISE, addr(), &[]).unwrap();
        assert!(c.receive(1, SRV, &adv).is_empty());
        let no_addr = reply_for(
            &sol.encode(),
            ADVERTISE,
            addr(),
            &[(opt::STATUS_CODE, b"\x00\x02none")],
        )
        .unwrap();
        let out = c.receive(1, SRV, &no_addr);
        assert!(
            matches!(&out[..], [Action::Dropped(e)] if e.contains("status 2: none")),
            "{out:?}"
        );
        let mcast = reply_for(&sol.encode(), ADVERTISE, "ff02::1".parse().unwrap(), &[]).unwrap();
        let out = c.receive(1, SRV, &mcast);
        assert!(
            matches!(&out[..], [Action::Dropped(e)] if e.contains("no usable address")),
            "{out:?}"
        );
        assert!(matches!(
            &c.receive(1, SRV, &[1, 2])[..],
            [Action::Dropped(_)]
        ));
    }

    #[test]
    fn refusing_reply_starts_over() {
        let mut c = client(false);
        let sol = sent(&c.carrier(0, true));
        let adv = reply_for(&sol.encode(), ADVERTISE, addr(), &[]).unwrap();
        let req = sent(&c.receive(1, SRV, &adv));
        let nak = reply_for(
            &req.encode(),
            REPLY,
            addr(),
            &[(opt::STATUS_CODE, b"\x00\x04not on link")],
        )
        .unwrap();
        assert!(
            matches!(&c.receive(2, SRV, &nak)[..], [Action::Nak(e)] if e.contains("not on link"))
        );
        let t = c.next_wakeup().unwrap();
        assert!((902..=1102).contains(&t), "{t}");
        let again = sent(&c.poll(t));
        assert_eq!(again.kind, SOLICIT);
        assert_ne!(again.xid, sol.xid);
    }

    #[test]
    fn retransmit_schedule_and_request_limit() {
        let mut c = client(false);
        let sol = sent(&c.carrier(0, true));
        let mut times = Vec::new();
        for _ in 0..6 {
            let t = c.next_wakeup().unwrap();
            assert!(c.poll(t - 1).is_empty());
            let m = sent(&c.poll(t));
            assert_eq!(m.kind, SOLICIT);
            times.push(t);
        }
        let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        for (g, base) in gaps.iter().zip([2000u64, 4000, 8000, 16000, 16000]) {
            assert!(g.abs_diff(base) <= base / 10, "{gaps:?}");
        }
        // Elapsed time counts hundredths since the first SOLICIT.
        let m = sent(&c.poll(c.next_wakeup().unwrap()));
        let el = u16::from_be_bytes(
            m.options
                .get(opt::ELAPSED_TIME)
                .unwrap()
                .try_into()
                .unwrap(),
        );
        assert!(el > 3000, "{el}");
        // A server that advertises then goes quiet: back to SOLICIT after 4 REQUESTs.
        let adv = reply_for(&sol.encode(), ADVERTISE, addr(), &[]).unwrap();
        let mut c = client(false);
        c.carrier(0, true);
        assert_eq!(sent(&c.receive(1, SRV, &adv)).kind, REQUEST);
        for _ in 0..3 {
            assert_eq!(sent(&c.poll(c.next_wakeup().unwrap())).kind, REQUEST);
        }
        assert_eq!(sent(&c.poll(c.next_wakeup().unwrap())).kind, SOLICIT);
        // No carrier, nothing sent.
        c.carrier(100_000, false);
        assert_eq!(c.next_wakeup(), None);
        assert!(c.poll(1_000_000).is_empty());
    }

    proptest! {
        #[test]
        fn never_panics_and_binds_only_what_was_offered(data in proptest::collection::vec(any::<u8>(), 0..200), rapid: bool) {
            let mut c = client(rapid);
            let sol = sent(&c.carrier(0, true));
            for a in c.receive(1, SRV, &data) {
                if let Action::Bound(l) = a {
                    prop_assert!(is_unicast(l.address));
                    prop_assert!(l.t1_secs <= l.t2_secs);
                }
            }
            let adv = reply_for(&sol.encode(), ADVERTISE, addr(), &[]).unwrap();
            let _ = c.receive(2, SRV, &adv);
            let mut forged = Message::decode(&adv).unwrap().encode();
            forged[0] = REPLY;
            forged.extend_from_slice(&data);
            let _ = c.receive(3, SRV, &forged);
            let _ = c.poll(1_000_000);
        }
    }
}
