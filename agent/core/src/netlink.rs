//! rtnetlink messages: the few netinit sends, and the replies it reads.
//!
//! Encoding and decoding are pure; the socket lives in `netinit_sys`.
//! There is deliberately no encoder for "link down" or "delete address":
//! the root filesystem rides on the link.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::net::Ipv4Cidr;
use crate::net::MacAddr;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_EXCL: u16 = 0x200;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const AF_UNSPEC: u8 = 0;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MAX_MTU: u16 = 51;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_VLAN_ID: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
/// Duplicate address detection has not finished: not usable yet.
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// DAD found another host with the address.
pub const IFA_F_DADFAILED: u32 = 0x08;
/// `ifa_valid` of an address that never expires.
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;

pub const IFF_UP: u32 = 0x1;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_LOWER_UP: u32 = 0x1_0000;
pub const ARPHRD_ETHER: u16 = 1;

const RT_TABLE_MAIN: u8 = 254;
/// Routes we add are marked as installed at boot, like the kernel's own ipconfig.
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;

/// A link from an RTM_NEWLINK reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub flags: u32,
    /// ARPHRD_* type.
    pub kind: u16,
    pub mac: Option<MacAddr>,
    pub mtu: u32,
    /// IFLA_MAX_MTU; 0 when absent (older kernels, some drivers).
    pub max_mtu: u32,
}

/// An IPv4 address from an RTM_NEWADDR reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub cidr: Ipv4Cidr,
    /// Seconds of valid lifetime left; [`INFINITY_LIFE_TIME`] when the
    /// address never expires (or the kernel sent no IFA_CACHEINFO).
    pub valid_secs: u32,
}

/// An IPv6 address from an RTM_NEWADDR reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr6 {
    pub index: u32,
    pub addr: Ipv6Addr,
    pub prefix: u8,
    /// IFA_F_* (IFA_FLAGS when present: it has the bits above 8).
    pub flags: u32,
    /// Seconds of valid lifetime left; [`INFINITY_LIFE_TIME`] when the
    /// address never expires (or the kernel sent no IFA_CACHEINFO).
    pub valid_secs: u32,
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Link(Link),
    Addr(Addr),
    Addr6(Addr6),
    /// NLMSG_ERROR: `errno` 0 is an ACK; otherwise the positive errno.
    Ack {
        seq: u32,
        errno: i32,
    },
    Done {
        seq: u32,
    },
    /// Anything else (we skip it).
    Other {
        kind: u16,
    },
}

/// A malformed reply: lengths that don't add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed netlink reply: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A message under construction; `finish` writes the length.
struct Builder(Vec<u8>);

impl Builder {
    fn new(kind: u16, flags: u16, seq: u32) -> Self {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        Builder(b)
    }

    fn bytes(mut self, data: &[u8]) -> Self {
        self.0.extend_from_slice(data);
        self
    }

    fn attr(mut self, kind: u16, data: &[u8]) -> Self {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align4(self.0.len()), 0);
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() as u32).to_ne_bytes();
        self.0[..4].copy_from_slice(&len);
        self.0
    }
}

/// One rtattr, padded: a nest's payload is a run of these.
fn rtattr(kind: u16, data: &[u8]) -> Vec<u8> {
    Builder(Vec::new()).attr(kind, data).0
}

/// `IFLA_IFNAME` + `IFLA_LINKINFO { KIND, DATA }`: a new link of `kind`.
fn new_link(seq: u32, name: &str, kind: &str, data: &[u8]) -> Builder {
    let mut z = name.as_bytes().to_vec();
    z.push(0);
    let mut info = rtattr(IFLA_INFO_KIND, kind.as_bytes());
    info.extend(rtattr(IFLA_INFO_DATA, data));
    Builder::new(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq)
        .bytes(&ifinfo(0, 0, 0))
        .attr(IFLA_IFNAME, &z)
        .attr(IFLA_LINKINFO, &info)
}

/// `ip link add link PARENT name NAME type vlan id ID`.
pub fn new_vlan(seq: u32, name: &str, parent: u32, id: u16) -> Vec<u8> {
    new_link(seq, name, "vlan", &rtattr(IFLA_VLAN_ID, &id.to_ne_bytes()))
        .attr(IFLA_LINK, &parent.to_ne_bytes())
        .finish()
}

/// `ip link add NAME type bond OPTIONS…`; `primary` is the index of the
/// `primary=` slave.
pub fn new_bond(seq: u32, bond: &crate::netdev::Bond, primary: Option<u32>) -> Vec<u8> {
    use crate::netdev::{BondValue, Width, bond_option};
    let mut data = Vec::new();
    for o in &bond.options {
        let Some(&(_, attr, width, _)) = bond_option(o.name) else {
            continue;
        };
        match &o.value {
            BondValue::Num(n) => data.extend(match width {
                Width::U8 => rtattr(attr, &[*n as u8]),
                Width::U32 => rtattr(attr, &n.to_ne_bytes()),
            }),
            BondValue::Link(_) => {
                if let Some(i) = primary {
                    data.extend(rtattr(attr, &i.to_ne_bytes()));
                }
            }
            BondValue::Addrs(a) => {
                let mut nest = Vec::new();
                for (i, ip) in a.iter().enumerate() {
                    nest.extend(rtattr(i as u16, &ip.octets()));
                }
                data.extend(rtattr(attr, &nest));
            }
        }
    }
    let mut b = new_link(seq, &bond.name, "bond", &data);
    if let Some(m) = bond.mtu {
        b = b.attr(IFLA_MTU, &u32::from(m).to_ne_bytes());
    }
    b.finish()
}

/// `ip link set INDEX master MASTER` (the slave must be down).
pub fn set_master(seq: u32, index: u32, master: u32) -> Vec<u8> {
    Builder::new(RTM_NEWLINK, NLM_F_ACK, seq)
        .bytes(&ifinfo(index, 0, 0))
        .attr(IFLA_MASTER, &master.to_ne_bytes())
        .finish()
}

/// ifinfomsg: family, pad, type, index, flags, change.
fn ifinfo(index: u32, flags: u32, change: u32) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0] = AF_UNSPEC;
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m[12..16].copy_from_slice(&change.to_ne_bytes());
    m
}

/// Dump every link.
pub fn get_links(seq: u32) -> Vec<u8> {
    Builder::new(RTM_GETLINK, NLM_F_DUMP, seq)
        .bytes(&ifinfo(0, 0, 0))
        .finish()
}

/// Set IFF_UP on a link, touching no other flag.
pub fn set_link_up(seq: u32, index: u32) -> Vec<u8> {
    Builder::new(RTM_NEWLINK, NLM_F_ACK, seq)
        .bytes(&ifinfo(index, IFF_UP, IFF_UP))
        .finish()
}

/// Renames a link (the kernel refuses while it is up: EBUSY).
pub fn set_name(seq: u32, index: u32, name: &str) -> Vec<u8> {
    let mut z = name.as_bytes().to_vec();
    z.push(0);
    Builder::new(RTM_NEWLINK, NLM_F_ACK, seq)
        .bytes(&ifinfo(index, 0, 0))
        .attr(IFLA_IFNAME, &z)
        .finish()
}

pub fn set_mtu(seq: u32, index: u32, mtu: u32) -> Vec<u8> {
    Builder::new(RTM_NEWLINK, NLM_F_ACK, seq)
        .bytes(&ifinfo(index, 0, 0))
        .attr(IFLA_MTU, &mtu.to_ne_bytes())
        .finish()
}

/// Add (or refresh) an IPv4 address. No IFA_CACHEINFO: the kernel then
/// gives it an infinite lifetime. REPLACE makes a repeat idempotent
/// without ever removing the address.
pub fn add_address(seq: u32, index: u32, cidr: Ipv4Cidr, broadcast: Option<Ipv4Addr>) -> Vec<u8> {
    let mut m = [0u8; 8];
    m[0] = AF_INET;
    m[1] = cidr.prefix;
    m[3] = RT_SCOPE_UNIVERSE;
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    let mut b = Builder::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq)
        .bytes(&m)
        .attr(IFA_LOCAL, &cidr.addr.octets())
        .attr(IFA_ADDRESS, &cidr.addr.octets());
    if let Some(brd) = broadcast {
        b = b.attr(IFA_BROADCAST, &brd.octets());
    }
    b.finish()
}

/// Dump IPv4 addresses.
pub fn get_addresses(seq: u32) -> Vec<u8> {
    let mut m = [0u8; 8];
    m[0] = AF_INET;
    Builder::new(RTM_GETADDR, NLM_F_DUMP, seq)
        .bytes(&m)
        .finish()
}

/// Add or replace the IPv4 default route.
pub fn add_default_route(seq: u32, index: u32, gateway: Ipv4Addr) -> Vec<u8> {
    default_route(seq, AF_INET, index, &gateway.octets())
}

/// A default route of `family` via `gateway` out of link `index`, in the
/// main table, added by the boot (RTPROT_BOOT), replacing one there is.
fn default_route(seq: u32, family: u8, index: u32, gateway: &[u8]) -> Vec<u8> {
    let m = [
        family,
        0,
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        RT_SCOPE_UNIVERSE,
        RTN_UNICAST,
        0,
        0,
        0,
        0,
    ];
    Builder::new(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq)
        .bytes(&m)
        .attr(RTA_GATEWAY, gateway)
        .attr(RTA_OIF, &index.to_ne_bytes())
        .finish()
}

/// Add or replace a route to `dest`: via `gateway`, or on-link (scope
/// link, no gateway) without one, as `ip route add DEST dev IF` does.
pub fn add_route(seq: u32, index: u32, dest: Ipv4Cidr, gateway: Option<Ipv4Addr>) -> Vec<u8> {
    let scope = if gateway.is_some() {
        RT_SCOPE_UNIVERSE
    } else {
        RT_SCOPE_LINK
    };
    let m = [
        AF_INET,
        dest.prefix,
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        scope,
        RTN_UNICAST,
        0,
        0,
        0,
        0,
    ];
    let mut b = Builder::new(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq).bytes(&m);
    if dest.prefix > 0 {
        b = b.attr(RTA_DST, &dest.network().octets());
    }
    if let Some(g) = gateway {
        b = b.attr(RTA_GATEWAY, &g.octets());
    }
    b.attr(RTA_OIF, &index.to_ne_bytes()).finish()
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Iterates `(type, payload)` over rtattrs; stops at the first bad length.
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(b, 0)?);
        let kind = u16_at(b, 2)?;
        let payload = b.get(4..len)?;
        b = b.get(align4(len).min(b.len())..).unwrap_or(&[]);
        Some((kind & 0x3fff, payload))
    })
}

/// Decodes every message in one datagram.
pub fn decode(buf: &[u8]) -> Result<Vec<Message>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= NLMSG_HDRLEN {
        let bad = |what: &str| DecodeError(what.to_owned());
        let len = u32_at(rest, 0).ok_or_else(|| bad("short header"))? as usize;
        let kind = u16_at(rest, 4).ok_or_else(|| bad("short header"))?;
        let seq = u32_at(rest, 8).ok_or_else(|| bad("short header"))?;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(bad(&format!(
                "message length {len} with {} bytes left",
                rest.len()
            )));
        }
        let body = &rest[NLMSG_HDRLEN..len];
        out.push(match kind {
            NLMSG_ERROR => {
                let raw = u32_at(body, 0).ok_or_else(|| bad("short error message"))? as i32;
                Message::Ack {
                    seq,
                    errno: raw.saturating_neg(),
                }
            }
            NLMSG_DONE => Message::Done { seq },
            RTM_NEWLINK => Message::Link(decode_link(body).ok_or_else(|| bad("short ifinfomsg"))?),
            RTM_NEWADDR if body.first() == Some(&AF_INET6) => {
                Message::Addr6(decode_addr6(body).ok_or_else(|| bad("short ifaddrmsg"))?)
            }
            RTM_NEWADDR => match decode_addr(body) {
                Some(Some(a)) => Message::Addr(a),
                Some(None) => Message::Other { kind },
                None => return Err(bad("short ifaddrmsg")),
            },
            other => Message::Other { kind: other },
        });
        rest = rest.get(align4(len).min(rest.len())..).unwrap_or(&[]);
    }
    Ok(out)
}

fn decode_link(body: &[u8]) -> Option<Link> {
    let kind = u16_at(body, 2)?;
    let index = u32_at(body, 4)?;
    let flags = u32_at(body, 8)?;
    let mut link = Link {
        index,
        name: String::new(),
        flags,
        kind,
        mac: None,
        mtu: 0,
        max_mtu: 0,
    };
    for (t, data) in attrs(body.get(16..)?) {
        match t {
            IFLA_IFNAME => {
                link.name = String::from_utf8_lossy(data.split(|&b| b == 0).next().unwrap_or(&[]))
                    .into_owned()
            }
            IFLA_MTU => link.mtu = u32_at(data, 0).unwrap_or(0),
            IFLA_MAX_MTU => link.max_mtu = u32_at(data, 0).unwrap_or(0),
            IFLA_ADDRESS => {
                if let Ok(mac) = <[u8; 6]>::try_from(data) {
                    link.mac = Some(MacAddr(mac));
                }
            }
            _ => {}
        }
    }
    Some(link)
}

fn decode_addr6(body: &[u8]) -> Option<Addr6> {
    let mut a = Addr6 {
        index: u32_at(body, 4)?,
        addr: Ipv6Addr::UNSPECIFIED,
        prefix: (*body.get(1)?).min(128),
        flags: u32::from(*body.get(2)?),
        valid_secs: INFINITY_LIFE_TIME,
    };
    for (t, data) in attrs(body.get(8..)?) {
        match t {
            IFA_ADDRESS => {
                if let Ok(o) = <[u8; 16]>::try_from(data) {
                    a.addr = Ipv6Addr::from(o);
                }
            }
            IFA_FLAGS => a.flags = u32_at(data, 0).unwrap_or(a.flags),
            IFA_CACHEINFO => a.valid_secs = u32_at(data, 4).unwrap_or(INFINITY_LIFE_TIME),
            _ => {}
        }
    }
    Some(a)
}

/// Add (or refresh) an IPv6 address with its lifetimes (seconds;
/// `u32::MAX` is forever), as SLAAC or DHCPv6 gave them. The kernel runs
/// DAD on it: the caller waits for IFA_F_TENTATIVE to clear.
pub fn add_address6(
    seq: u32,
    index: u32,
    addr: Ipv6Addr,
    prefix: u8,
    valid: u32,
    preferred: u32,
) -> Vec<u8> {
    let mut m = [0u8; 8];
    m[0] = AF_INET6;
    m[1] = prefix.min(128);
    m[3] = RT_SCOPE_UNIVERSE;
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    let mut ci = [0u8; 16];
    ci[0..4].copy_from_slice(&preferred.min(valid).to_ne_bytes());
    ci[4..8].copy_from_slice(&valid.to_ne_bytes());
    Builder::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq)
        .bytes(&m)
        .attr(IFA_ADDRESS, &addr.octets())
        .attr(IFA_CACHEINFO, &ci)
        .finish()
}

/// Dump IPv6 addresses.
pub fn get_addresses6(seq: u32) -> Vec<u8> {
    let mut m = [0u8; 8];
    m[0] = AF_INET6;
    Builder::new(RTM_GETADDR, NLM_F_DUMP, seq)
        .bytes(&m)
        .finish()
}

/// Add or replace the IPv6 default route via a (link-local) router. It
/// replaces the kernel's own route from the RA, which expires with the
/// router lifetime; ours stays while the root needs it.
pub fn add_default_route6(seq: u32, index: u32, gateway: Ipv6Addr) -> Vec<u8> {
    default_route(seq, AF_INET6, index, &gateway.octets())
}

/// `None`: too short; `Some(None)`: not an IPv4 address.
fn decode_addr(body: &[u8]) -> Option<Option<Addr>> {
    let family = *body.first()?;
    let prefix = *body.get(1)?;
    let index = u32_at(body, 4)?;
    if family != AF_INET {
        return Some(None);
    }
    let mut local = None;
    let mut address = None;
    let mut valid_secs = INFINITY_LIFE_TIME;
    for (t, data) in attrs(body.get(8..)?) {
        let ip = <[u8; 4]>::try_from(data).ok().map(Ipv4Addr::from);
        match t {
            IFA_LOCAL => local = ip,
            IFA_ADDRESS => address = ip,
            // struct ifa_cacheinfo { ifa_prefered, ifa_valid, cstamp, tstamp }
            IFA_CACHEINFO => valid_secs = u32_at(data, 4).unwrap_or(INFINITY_LIFE_TIME),
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address on point-to-point links.
    Some(local.or(address).map(|addr| Addr {
        index,
        valid_secs,
        cidr: Ipv4Cidr {
            addr,
            prefix: prefix.min(32),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ipv6_address_round_trip() {
        let a: Ipv6Addr = "fd00:77::5054:ff:fe12:3456".parse().unwrap();
        let mut m = add_address6(9, 3, a, 64, 7200, 9000);
        // The kernel's dump answer has the same shape: turn the request into one.
        m[4..6].copy_from_slice(&RTM_NEWADDR.to_ne_bytes());
        let flags = (IFA_F_TENTATIVE as u8).to_ne_bytes();
        m[NLMSG_HDRLEN + 2] = flags[0];
        let got = decode(&m).unwrap();
        assert_eq!(
            got,
            vec![Message::Addr6(Addr6 {
                index: 3,
                addr: a,
                prefix: 64,
                flags: IFA_F_TENTATIVE,
                valid_secs: 7200
            })]
        );
        // Preferred never exceeds valid.
        let ci = attrs(&m[NLMSG_HDRLEN + 8..])
            .find(|(t, _)| *t == IFA_CACHEINFO)
            .unwrap()
            .1;
        assert_eq!((u32_at(ci, 0), u32_at(ci, 4)), (Some(7200), Some(7200)));
        let r = add_default_route6(1, 3, "fe80::1".parse().unwrap());
        assert_eq!(r[NLMSG_HDRLEN], AF_INET6);
        assert_eq!(get_addresses6(1)[NLMSG_HDRLEN], AF_INET6);
    }

    #[test]
    fn encodes_link_up_exactly() {
        let m = set_link_up(7, 3);
        assert_eq!(m.len(), 32);
        assert_eq!(u32_at(&m, 0), Some(32));
        assert_eq!(u16_at(&m, 4), Some(RTM_NEWLINK));
        assert_eq!(u16_at(&m, 6), Some(NLM_F_REQUEST | NLM_F_ACK));
        assert_eq!(u32_at(&m, 8), Some(7));
        assert_eq!(u32_at(&m, 20), Some(3)); // index
        assert_eq!(u32_at(&m, 24), Some(IFF_UP)); // flags
        assert_eq!(u32_at(&m, 28), Some(IFF_UP)); // change mask: only IFF_UP
    }

    fn attr_list(b: &[u8]) -> Vec<(u16, Vec<u8>)> {
        attrs(b).map(|(t, d)| (t, d.to_vec())).collect()
    }

    #[test]
    fn vlan_bond_and_master_nest_their_link_info() {
        let m = new_vlan(1, "eth0.100", 2, 100);
        assert_eq!(u32_at(&m, 0), Some(m.len() as u32));
        assert_eq!(
            u16_at(&m, 6),
            Some(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        );
        let top = attr_list(&m[32..]);
        assert_eq!(top[0], (IFLA_IFNAME, b"eth0.100\0".to_vec()));
        assert_eq!(top[2], (IFLA_LINK, 2u32.to_ne_bytes().to_vec()));
        let info = attr_list(&top[1].1);
        assert_eq!(info[0], (IFLA_INFO_KIND, b"vlan".to_vec()));
        assert_eq!(
            attr_list(&info[1].1),
            [(IFLA_VLAN_ID, 100u16.to_ne_bytes().to_vec())]
        );
        let bond = crate::netdev::parse_bond(Some(
            "bond0:eth0,eth1:mode=active-backup,miimon=100,primary=eth1,arp_ip_target=10.0.0.1;10.0.0.2:9000",
        ))
        .unwrap();
        let m = new_bond(1, &bond, Some(4));
        let top = attr_list(&m[32..]);
        assert_eq!(top[2], (IFLA_MTU, 9000u32.to_ne_bytes().to_vec()));
        let info = attr_list(&top[1].1);
        assert_eq!(info[0], (IFLA_INFO_KIND, b"bond".to_vec()));
        let data = attr_list(&info[1].1);
        assert_eq!(data[0], (1, vec![1])); // mode, a u8
        assert_eq!(data[1], (3, 100u32.to_ne_bytes().to_vec())); // miimon
        assert_eq!(data[2], (11, 4u32.to_ne_bytes().to_vec())); // primary's index
        assert_eq!(
            attr_list(&data[3].1),
            [(0, vec![10, 0, 0, 1]), (1, vec![10, 0, 0, 2])]
        );
        let m = set_master(1, 3, 7);
        assert_eq!(u32_at(&m, 20), Some(3));
        assert_eq!(
            attr_list(&m[32..]),
            [(IFLA_MASTER, 7u32.to_ne_bytes().to_vec())]
        );
    }

    #[test]
    fn address_and_route_carry_their_attributes() {
        let cidr = Ipv4Cidr {
            addr: Ipv4Addr::new(10, 77, 0, 100),
            prefix: 24,
        };
        let m = add_address(1, 2, cidr, Some(Ipv4Addr::new(10, 77, 0, 255)));
        assert_eq!(m[16], AF_INET);
        assert_eq!(m[17], 24);
        let found: Vec<(u16, Vec<u8>)> = attrs(&m[24..]).map(|(t, d)| (t, d.to_vec())).collect();
        assert_eq!(
            found,
            [
                (IFA_LOCAL, vec![10, 77, 0, 100]),
                (IFA_ADDRESS, vec![10, 77, 0, 100]),
                (IFA_BROADCAST, vec![10, 77, 0, 255])
            ]
        );
        let r = add_default_route(2, 5, Ipv4Addr::new(10, 77, 0, 1));
        let found: Vec<(u16, Vec<u8>)> = attrs(&r[28..]).map(|(t, d)| (t, d.to_vec())).collect();
        assert_eq!(
            found,
            [
                (RTA_GATEWAY, vec![10, 77, 0, 1]),
                (RTA_OIF, 5u32.to_ne_bytes().to_vec())
            ]
        );
        assert_eq!(
            u16_at(&r, 6),
            Some(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
        );
        // A classless route via a gateway, and an on-link one (scope link).
        let dest = Ipv4Cidr {
            addr: Ipv4Addr::new(10, 99, 7, 9),
            prefix: 24,
        };
        let r = add_route(3, 5, dest, Some(Ipv4Addr::new(10, 77, 0, 254)));
        assert_eq!((r[17], r[22]), (24, RT_SCOPE_UNIVERSE));
        let found: Vec<(u16, Vec<u8>)> = attrs(&r[28..]).map(|(t, d)| (t, d.to_vec())).collect();
        assert_eq!(
            found,
            [
                (RTA_DST, vec![10, 99, 7, 0]),
                (RTA_GATEWAY, vec![10, 77, 0, 254]),
                (RTA_OIF, 5u32.to_ne_bytes().to_vec())
            ]
        );
        let host = Ipv4Cidr {
            addr: Ipv4Addr::new(10, 77, 0, 1),
            prefix: 32,
        };
        let r = add_route(4, 5, host, None);
        assert_eq!((r[17], r[22]), (32, RT_SCOPE_LINK));
        let found: Vec<u16> = attrs(&r[28..]).map(|(t, _)| t).collect();
        assert_eq!(found, [RTA_DST, RTA_OIF]);
    }

    /// A reply as the kernel would write it.
    fn reply(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        Builder::new(kind, 0, seq).bytes(body).finish()
    }

    #[test]
    fn decodes_a_link_dump() {
        let link_body = Builder::new(0, 0, 0)
            .bytes(&{
                let mut m = ifinfo(2, IFF_UP | IFF_LOWER_UP, 0);
                m[2..4].copy_from_slice(&ARPHRD_ETHER.to_ne_bytes());
                m
            })
            .attr(IFLA_IFNAME, b"eth0\0")
            .attr(IFLA_MTU, &1500u32.to_ne_bytes())
            .attr(IFLA_MAX_MTU, &9216u32.to_ne_bytes())
            .attr(IFLA_ADDRESS, &[0x52, 0x54, 0, 0x12, 0x34, 0x56])
            .finish();
        let mut buf = reply(RTM_NEWLINK, 9, &link_body[NLMSG_HDRLEN..]);
        buf.extend(reply(NLMSG_DONE, 9, &[0, 0, 0, 0]));
        let msgs = decode(&buf).unwrap();
        assert_eq!(
            msgs,
            [
                Message::Link(Link {
                    index: 2,
                    name: "eth0".into(),
                    flags: IFF_UP | IFF_LOWER_UP,
                    kind: ARPHRD_ETHER,
                    mac: Some(MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56])),
                    mtu: 1500,
                    max_mtu: 9216,
                }),
                Message::Done { seq: 9 }
            ]
        );
    }

    #[test]
    fn decodes_acks_and_errors() {
        let ack = reply(NLMSG_ERROR, 4, &[0u8; 20]);
        assert_eq!(decode(&ack).unwrap(), [Message::Ack { seq: 4, errno: 0 }]);
        let mut body = (-17i32).to_ne_bytes().to_vec();
        body.extend([0u8; 16]);
        assert_eq!(
            decode(&reply(NLMSG_ERROR, 5, &body)).unwrap(),
            [Message::Ack { seq: 5, errno: 17 }]
        );
    }

    #[test]
    fn round_trips_an_address() {
        let cidr = Ipv4Cidr {
            addr: Ipv4Addr::new(192, 168, 7, 9),
            prefix: 20,
        };
        // The kernel echoes RTM_NEWADDR in the same layout we send.
        let mut m = add_address(3, 4, cidr, None);
        m[4..6].copy_from_slice(&RTM_NEWADDR.to_ne_bytes());
        assert_eq!(
            decode(&m).unwrap(),
            [Message::Addr(Addr {
                index: 4,
                cidr,
                valid_secs: INFINITY_LIFE_TIME
            })]
        );
        // A lifetime set by a DHCP client that manages the address.
        let mut cache = Vec::new();
        for v in [100u32, 120, 5, 6] {
            cache.extend_from_slice(&v.to_ne_bytes());
        }
        let mut b = Builder(m).attr(IFA_CACHEINFO, &cache).finish();
        b[4..6].copy_from_slice(&RTM_NEWADDR.to_ne_bytes());
        assert_eq!(
            decode(&b).unwrap(),
            [Message::Addr(Addr {
                index: 4,
                cidr,
                valid_secs: 120
            })]
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut m = get_links(1);
        m[0] = 200;
        assert!(decode(&m).unwrap_err().0.contains("length 200"));
        m[0] = 3;
        assert!(decode(&m).is_err());
        // A trailing fragment shorter than a header is ignored, not read.
        assert_eq!(decode(&[1, 2, 3]).unwrap(), []);
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&buf);
        }

        #[test]
        fn decode_never_panics_on_plausible_headers(kind in 0u16..30, body in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode(&reply(kind, 1, &body));
        }
    }
}
