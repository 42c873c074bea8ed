//! Router advertisements (RFC 4861 4.2) and SLAAC (RFC 4862): the parser,
//! the router solicitation, the EUI-64 address, and a sans-IO solicitor
//! that retransmits RS until an RA with a usable prefix arrives.
//!
//! Input is the ICMPv6 message as a raw ICMPv6 socket hands it over
//! (from the type byte). The hop limit of 255 and the link-local source
//! (RFC 4861 6.1.2) are checked by [`Solicitor::receive`], which gets them
//! from the caller.

use std::net::Ipv6Addr;

use super::packet::{addr6, be16, be32};
use crate::dhcp::packet::{DecodeError, decode_search};
use crate::net::MacAddr;

pub const ROUTER_SOLICIT: u8 = 133;
pub const ROUTER_ADVERT: u8 = 134;
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub prefix: Ipv6Addr,
    pub len: u8,
    pub on_link: bool,
    pub autonomous: bool,
    pub valid_secs: u32,
    pub preferred_secs: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterAdvert {
    pub hop_limit: u8,
    /// M: addresses from DHCPv6.
    pub managed: bool,
    /// O: other configuration from DHCPv6.
    pub other: bool,
    /// Seconds; 0 means "not a default router".
    pub router_lifetime: u16,
    pub reachable_ms: u32,
    pub retrans_ms: u32,
    pub source_mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    pub prefixes: Vec<Prefix>,
    pub rdnss: Vec<Ipv6Addr>,
    pub dnssl: Vec<String>,
}

mod opt {
    pub const SOURCE_LL: u8 = 1;
    pub const PREFIX: u8 = 3;
    pub const MTU: u8 = 5;
    pub const RDNSS: u8 = 25;
    pub const DNSSL: u8 = 31;
}

fn bad(s: String) -> DecodeError {
    DecodeError(s)
}

/// RDNSS servers in one option: 1 + 2 × 127 = 255 units.
const MAX_RDNSS_PER_OPTION: usize = 127;
/// DNSSL name bytes in one option: 255 units less the 8-byte header.
const MAX_DNSSL_NAME_BYTES: usize = 254 * 8;

/// Appends one DNSSL option holding `names` (encoded, at most
/// [`MAX_DNSSL_NAME_BYTES`]), zero-padded to 8 bytes; empties `names`.
fn dnssl_option(b: &mut Vec<u8>, names: &mut Vec<u8>) {
    names.resize(names.len().div_ceil(8) * 8, 0);
    b.extend_from_slice(&[opt::DNSSL, (1 + names.len() / 8) as u8, 0, 0]);
    b.extend_from_slice(&600u32.to_be_bytes());
    b.append(names);
}

impl RouterAdvert {
    /// Parses an RA. Unknown options are skipped (RFC 4861 4.6); a
    /// malformed known option fails the whole RA, which the RFC asks for
    /// zero-length options and which is the safe choice for the rest.
    pub fn parse(b: &[u8]) -> Result<RouterAdvert, DecodeError> {
        if b.len() < 16 {
            return Err(bad(format!("{} bytes, shorter than an RA", b.len())));
        }
        if b[0] != ROUTER_ADVERT || b[1] != 0 {
            return Err(bad(format!(
                "ICMPv6 type {} code {}, not an RA",
                b[0], b[1]
            )));
        }
        let mut ra = RouterAdvert {
            hop_limit: b[4],
            managed: b[5] & 0x80 != 0,
            other: b[5] & 0x40 != 0,
            router_lifetime: be16(b, 6).unwrap_or(0),
            reachable_ms: be32(b, 8).unwrap_or(0),
            retrans_ms: be32(b, 12).unwrap_or(0),
            ..RouterAdvert::default()
        };
        let mut rest = &b[16..];
        while !rest.is_empty() {
            let (Some(&kind), Some(&units)) = (rest.first(), rest.get(1)) else {
                return Err(bad("truncated option header".into()));
            };
            let len = usize::from(units) * 8;
            if len == 0 {
                return Err(bad(format!("option {kind} has length 0")));
            }
            let Some(d) = rest.get(..len) else {
                return Err(bad(format!(
                    "option {kind} claims {len} bytes, {} are left",
                    rest.len()
                )));
            };
            match kind {
                opt::SOURCE_LL if len == 8 => {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(&d[2..8]);
                    ra.source_mac = Some(MacAddr(m));
                }
                opt::PREFIX => {
                    let (true, Some(prefix)) = (len == 32, addr6(d, 16)) else {
                        return Err(bad(format!("prefix option of {len} bytes, not 32")));
                    };
                    if d[2] > 128 {
                        return Err(bad(format!("prefix length {} is over 128", d[2])));
                    }
                    ra.prefixes.push(Prefix {
                        prefix,
                        len: d[2],
                        on_link: d[3] & 0x80 != 0,
                        autonomous: d[3] & 0x40 != 0,
                        valid_secs: be32(d, 4).unwrap_or(0),
                        preferred_secs: be32(d, 8).unwrap_or(0),
                    });
                }
                opt::MTU if len == 8 => ra.mtu = be32(d, 4),
                opt::RDNSS if len >= 24 && (len - 8) % 16 == 0 => {
                    // A zero lifetime withdraws the servers.
                    let live = be32(d, 4) != Some(0);
                    let n = if live { (len - 8) / 16 } else { 0 };
                    ra.rdnss.extend((0..n).filter_map(|i| addr6(d, 8 + 16 * i)));
                }
                opt::DNSSL if len >= 16 => {
                    let names = decode_search(&d[8..])?;
                    if be32(d, 4) != Some(0) {
                        ra.dnssl.extend(names);
                    }
                }
                opt::MTU | opt::RDNSS | opt::DNSSL => {
                    return Err(bad(format!("option {kind} of {len} bytes is malformed")));
                }
                _ => {}
            }
            rest = &rest[len..];
        }
        Ok(ra)
    }

    /// The RA as a router would send it (checksum left 0: the kernel or
    /// the test fills it in). Used by tests and the fuzz round trip.
    /// RDNSS and DNSSL get a lifetime of 600 s; names are written uncompressed.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![ROUTER_ADVERT, 0, 0, 0, self.hop_limit];
        b.push(u8::from(self.managed) << 7 | u8::from(self.other) << 6);
        b.extend_from_slice(&self.router_lifetime.to_be_bytes());
        b.extend_from_slice(&self.reachable_ms.to_be_bytes());
        b.extend_from_slice(&self.retrans_ms.to_be_bytes());
        if let Some(m) = self.source_mac {
            b.extend_from_slice(&[opt::SOURCE_LL, 1]);
            b.extend_from_slice(&m.0);
        }
        if let Some(mtu) = self.mtu {
            b.extend_from_slice(&[opt::MTU, 1, 0, 0]);
            b.extend_from_slice(&mtu.to_be_bytes());
        }
        for p in &self.prefixes {
            let flags = u8::from(p.on_link) << 7 | u8::from(p.autonomous) << 6;
            b.extend_from_slice(&[opt::PREFIX, 4, p.len, flags]);
            b.extend_from_slice(&p.valid_secs.to_be_bytes());
            b.extend_from_slice(&p.preferred_secs.to_be_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(&p.prefix.octets());
        }
        // An option's length is one byte of 8-byte units: servers and
        // names that don't fit in one option go on in the next one, as
        // parse() collects them across options.
        for chunk in self.rdnss.chunks(MAX_RDNSS_PER_OPTION) {
            b.extend_from_slice(&[opt::RDNSS, (1 + 2 * chunk.len()) as u8, 0, 0]);
            b.extend_from_slice(&600u32.to_be_bytes());
            for a in chunk {
                b.extend_from_slice(&a.octets());
            }
        }
        let mut names = Vec::new();
        for n in &self.dnssl {
            // Not a DNS name (RFC 1035: labels up to 63 bytes, names up to
            // 255), as pointers can make one: left out.
            if n.split('.').any(|l| l.len() > 63) {
                continue;
            }
            let mut wire = Vec::new();
            for label in n.split('.') {
                wire.push(label.len() as u8);
                wire.extend_from_slice(label.as_bytes());
            }
            wire.push(0);
            if wire.len() > 255 {
                continue;
            }
            if !names.is_empty() && names.len() + wire.len() > MAX_DNSSL_NAME_BYTES {
                dnssl_option(&mut b, &mut names);
            }
            names.extend_from_slice(&wire);
        }
        if !names.is_empty() {
            dnssl_option(&mut b, &mut names);
        }
        b
    }

    /// The addresses SLAAC forms for `mac`: /64 prefixes with A set and a
    /// non-zero valid lifetime (RFC 4862 5.5.3), with their lifetimes.
    pub fn slaac(&self, mac: MacAddr) -> Vec<(Ipv6Addr, Prefix)> {
        self.prefixes
            .iter()
            .filter(|p| {
                p.autonomous
                    && p.len == 64
                    && p.valid_secs > 0
                    && p.preferred_secs <= p.valid_secs
                    && !p.prefix.segments()[0].eq(&0xfe80)
            })
            .map(|p| (eui64(p.prefix, mac), p.clone()))
            .collect()
    }
}

/// The modified EUI-64 address (RFC 4291 2.5.1) in the /64 `prefix`: the
/// same one the kernel forms with its default addr_gen_mode.
pub fn eui64(prefix: Ipv6Addr, mac: MacAddr) -> Ipv6Addr {
    let mut o = prefix.octets();
    let m = mac.0;
    o[8..].copy_from_slice(&[m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]);
    Ipv6Addr::from(o)
}

/// A router solicitation with the source link-layer option.
pub fn router_solicitation(mac: MacAddr) -> Vec<u8> {
    let mut b = vec![ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0, opt::SOURCE_LL, 1];
    b.extend_from_slice(&mac.0);
    b
}

/// RS delays (ms): RFC 4861 says 4 s apart, at most 3; a boot asks faster
/// and keeps asking (RFC 7559 allows continuing with back-off).
const RS_SCHEDULE_MS: [u64; 5] = [1000, 2000, 4000, 8000, 16000];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this ICMPv6 message to ff02::2 with hop limit 255.
    Send(Vec<u8>),
    /// An RA with at least one SLAAC prefix, and where it came from.
    Advert(Box<RouterAdvert>, Ipv6Addr),
    Dropped(String),
}

/// Sends RS until a usable RA arrives; sans-IO like the DHCP clients.
#[derive(Debug)]
pub struct Solicitor {
    mac: MacAddr,
    /// RAs with only the M flag are usable too (ip=dhcp6 waits for the
    /// router's on-link prefix and default route).
    need_slaac: bool,
    next_tx_ms: Option<u64>,
    attempt: usize,
    done: bool,
}

impl Solicitor {
    pub fn new(mac: MacAddr, need_slaac: bool) -> Solicitor {
        Solicitor {
            mac,
            need_slaac,
            next_tx_ms: Some(0),
            attempt: 0,
            done: false,
        }
    }

    pub fn next_wakeup(&self) -> Option<u64> {
        self.next_tx_ms.filter(|_| !self.done)
    }

    pub fn poll(&mut self, now: u64) -> Vec<Action> {
        match self.next_wakeup() {
            Some(t) if now >= t => {
                let wait = RS_SCHEDULE_MS
                    .get(self.attempt)
                    .or(RS_SCHEDULE_MS.last())
                    .copied()
                    .unwrap_or(4000);
                self.attempt = self.attempt.saturating_add(1);
                self.next_tx_ms = Some(now.saturating_add(wait));
                vec![Action::Send(router_solicitation(self.mac))]
            }
            _ => Vec::new(),
        }
    }

    /// One ICMPv6 message from `src`, received with `hop_limit`.
    pub fn receive(&mut self, src: Ipv6Addr, hop_limit: u8, msg: &[u8]) -> Vec<Action> {
        if self.done || msg.first() != Some(&ROUTER_ADVERT) {
            return Vec::new();
        }
        if hop_limit != 255 || src.segments()[0] != 0xfe80 {
            return vec![Action::Dropped(format!(
                "RA from {src} hop limit {hop_limit}: not from an on-link router"
            ))];
        }
        match RouterAdvert::parse(msg) {
            Err(e) => vec![Action::Dropped(format!("RA from {src}: {e}"))],
            Ok(ra) if self.need_slaac && ra.slaac(self.mac).is_empty() => vec![Action::Dropped(
                format!("RA from {src} has no prefix for autoconfiguration (A flag, /64)"),
            )],
            Ok(ra) => {
                self.done = true;
                vec![Action::Advert(Box::new(ra), src)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]);

    fn sample() -> RouterAdvert {
        RouterAdvert {
            hop_limit: 64,
            managed: true,
            other: true,
            router_lifetime: 1800,
            source_mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            mtu: Some(1500),
            prefixes: vec![Prefix {
                prefix: "fd00:77::".parse().unwrap(),
                len: 64,
                on_link: true,
                autonomous: true,
                valid_secs: 86400,
                preferred_secs: 14400,
            }],
            rdnss: vec!["fd00:77::1".parse().unwrap()],
            dnssl: vec!["lab.example".into(), "example".into()],
            ..RouterAdvert::default()
        }
    }

    #[test]
    fn round_trip_and_slaac() {
        let ra = sample();
        let wire = ra.encode();
        assert_eq!(wire.len() % 8, 0);
        assert_eq!(RouterAdvert::parse(&wire).unwrap(), ra);
        let got = ra.slaac(MAC);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].0,
            "fd00:77::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
    }

    /// Found by the `ra` fuzz target: names that compression pointers
    /// make long overflowed the DNSSL option's one-byte length in
    /// `encode`, and the RA it wrote did not parse ("option 253 has length 0").
    /// Servers and names that don't fit one option now go on in the next.
    #[test]
    fn many_servers_and_long_names_round_trip() {
        let ra = RouterAdvert {
            rdnss: (0..300u16)
                .map(|i| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i))
                .collect(),
            dnssl: (0..40)
                .map(|i| format!("{}.n{i}.example", "a".repeat(60)))
                .collect(),
            ..sample()
        };
        let wire = ra.encode();
        assert_eq!(wire.len() % 8, 0);
        assert_eq!(RouterAdvert::parse(&wire).unwrap(), ra);
        // A name no DNS allows is left out, not written corrupt.
        let long = RouterAdvert {
            dnssl: vec![vec!["a"; 200].join("."), "ok.example".into()],
            ..sample()
        };
        let again = RouterAdvert::parse(&long.encode()).unwrap();
        assert_eq!(again.dnssl, ["ok.example"]);
        let crash = include_bytes!("../../../fuzz/seeds/ra/regress-dnssl-length-overflow");
        let parsed = RouterAdvert::parse(crash).unwrap();
        let again = RouterAdvert::parse(&parsed.encode()).unwrap();
        assert_eq!(again.rdnss, parsed.rdnss);
    }

    #[test]
    fn slaac_skips_what_rfc4862_skips() {
        let mut ra = sample();
        let p = ra.prefixes[0].clone();
        ra.prefixes = vec![
            Prefix {
                autonomous: false,
                ..p.clone()
            },
            Prefix {
                len: 56,
                ..p.clone()
            },
            Prefix {
                valid_secs: 0,
                ..p.clone()
            },
            Prefix {
                preferred_secs: 90000,
                ..p.clone()
            },
            Prefix {
                prefix: "fe80::".parse().unwrap(),
                ..p
            },
        ];
        assert!(ra.slaac(MAC).is_empty());
    }

    #[test]
    fn refuses_malformed() {
        let wire = sample().encode();
        for (bytes, want) in [
            (wire[..10].to_vec(), "shorter than an RA"),
            ([&[135u8, 0], &wire[2..]].concat(), "not an RA"),
            ([&wire[..], &[3, 0]].concat(), "length 0"),
            ([&wire[..], &[3, 4, 0]].concat(), "claims 32 bytes"),
            ([&wire[..], &[3, 1, 0, 0, 0, 0, 0, 0]].concat(), "not 32"),
            (
                [
                    &wire[..],
                    &[25, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                ]
                .concat(),
                "malformed",
            ),
        ] {
            let e = RouterAdvert::parse(&bytes).unwrap_err();
            assert!(e.0.contains(want), "{want}: {e}");
        }
        // Unknown options are skipped; zero lifetimes withdraw DNS data.
        let mut w = sample().encode();
        w.extend_from_slice(&[200, 1, 9, 9, 9, 9, 9, 9]);
        assert!(RouterAdvert::parse(&w).is_ok());
        let mut r = RouterAdvert {
            rdnss: vec![Ipv6Addr::LOCALHOST],
            ..RouterAdvert::default()
        }
        .encode();
        r[20..24].copy_from_slice(&[0; 4]);
        assert!(RouterAdvert::parse(&r).unwrap().rdnss.is_empty());
    }

    #[test]
    fn solicitor_schedule_and_checks() {
        let mut s = Solicitor::new(MAC, true);
        let out = s.poll(0);
        assert_eq!(out, vec![Action::Send(router_solicitation(MAC))]);
        assert_eq!(router_solicitation(MAC).len(), 16);
        assert!(s.poll(999).is_empty());
        assert_eq!(s.poll(1000).len(), 1);
        assert_eq!(s.next_wakeup(), Some(3000));
        let ll: Ipv6Addr = "fe80::1".parse().unwrap();
        let wire = sample().encode();
        assert!(
            matches!(&s.receive(ll, 64, &wire)[..], [Action::Dropped(e)] if e.contains("hop limit"))
        );
        assert!(matches!(
            &s.receive("fd00::1".parse().unwrap(), 255, &wire)[..],
            [Action::Dropped(_)]
        ));
        let no_a = RouterAdvert {
            prefixes: vec![],
            ..sample()
        }
        .encode();
        assert!(
            matches!(&s.receive(ll, 255, &no_a)[..], [Action::Dropped(e)] if e.contains("no prefix"))
        );
        assert!(matches!(&s.receive(ll, 255, &wire)[..], [Action::Advert(_, src)] if *src == ll));
        assert_eq!(s.next_wakeup(), None);
        // For DHCPv6, an RA without SLAAC prefixes is still the router.
        let mut s = Solicitor::new(MAC, false);
        assert!(matches!(
            &s.receive(ll, 255, &no_a)[..],
            [Action::Advert(..)]
        ));
    }

    proptest! {
        #[test]
        fn parse_encode_parse_is_stable(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = vec![ROUTER_ADVERT, 0, 0, 0];
            b.extend_from_slice(&body);
            if let Ok(ra) = RouterAdvert::parse(&b) {
                let again = RouterAdvert::parse(&ra.encode());
                prop_assert!(again.is_ok());
                let again = again.unwrap();
                prop_assert_eq!(again.prefixes, ra.prefixes);
                prop_assert_eq!(again.mtu, ra.mtu);
            }
        }
    }
}
