//! What the lease keeper is told, and how it tells another DHCP client
//! is at work on its interface. Pure: the process is in `netinit`.
//!
//! The keeper is started as `@netinit-lease key=value…` (the `@` is
//! systemd's mark for a process that must survive until the root is
//! unmounted); the words are the whole hand-over, so `ps` shows what it
//! holds.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::net::Ipv4Cidr;
use crate::net::{LeaseTimes, MacAddr, NetState};

/// `argv[0]` of the keeper process.
pub const ARGV0: &str = "@netinit-lease";
/// `argv[0]` of the DHCPv6 keeper process.
pub const ARGV0_6: &str = "@netinit-lease6";
/// UDP port of DHCP clients.
const CLIENT_PORT: u16 = 68;
/// UDP port of DHCPv6 clients.
const CLIENT_PORT6: u16 = 546;

/// The lease the keeper keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub interface: String,
    pub ifindex: u32,
    pub mac: MacAddr,
    pub address: Ipv4Cidr,
    pub server: Ipv4Addr,
    /// `bound_at_ms` is on CLOCK_BOOTTIME, the keeper's clock.
    pub times: LeaseTimes,
    pub hostname: Option<String>,
}

impl Held {
    /// The lease to keep, if there is one to keep: DHCP with a finite lease.
    /// `bound_at_ms` must already be on CLOCK_BOOTTIME.
    pub fn from_state(s: &NetState) -> Option<Held> {
        let times = s.lease.filter(|l| l.lease_secs != u32::MAX)?;
        Some(Held {
            interface: s.interface.clone(),
            ifindex: s.ifindex,
            mac: s.mac,
            address: s.address,
            server: s.server_id?,
            times,
            hostname: None,
        })
    }

    /// The argument words after `argv[0]`.
    pub fn to_args(&self) -> Vec<String> {
        let t = &self.times;
        let mut v = vec![
            format!("iface={}", self.interface),
            format!("ifindex={}", self.ifindex),
            format!("mac={}", self.mac),
            format!("addr={}", self.address),
            format!("server={}", self.server),
        ];
        v.extend(times_args(t));
        if let Some(h) = &self.hostname {
            v.push(format!("hostname={h}"));
        }
        v
    }

    /// Parses the words [`Held::to_args`] wrote.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Held, ArgError> {
        let w = Words(args);
        let addr_text = w.get("addr")?;
        let address = parse_cidr(&addr_text)
            .ok_or_else(|| ArgError(format!("addr={addr_text} is not ADDRESS/PREFIX")))?;
        let server_text = w.get("server")?;
        let server = server_text
            .parse()
            .map_err(|_| ArgError(format!("server={server_text} is not an IPv4 address")))?;
        Ok(Held {
            interface: w.interface()?,
            ifindex: w.u32("ifindex")?,
            mac: w.mac()?,
            address,
            server,
            times: w.times()?,
            hostname: w.get("hostname").ok().filter(|h| !h.is_empty()),
        })
    }
}

/// `key=value` words, as both keepers read them.
struct Words<'a, S>(&'a [S]);

impl<S: AsRef<str>> Words<'_, S> {
    fn get(&self, key: &str) -> Result<String, ArgError> {
        self.0
            .iter()
            .find_map(|a| a.as_ref().strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
            .ok_or_else(|| ArgError(format!("missing {key}=")))
    }

    fn num(&self, key: &str) -> Result<u64, ArgError> {
        let v = self.get(key)?;
        v.parse()
            .map_err(|_| ArgError(format!("{key}={v} is not a number")))
    }

    fn u32(&self, key: &str) -> Result<u32, ArgError> {
        let v = self.num(key)?;
        u32::try_from(v).map_err(|_| ArgError(format!("{key}={v} is out of range")))
    }

    fn interface(&self) -> Result<String, ArgError> {
        let interface = self.get("iface")?;
        if interface.is_empty() || interface.len() > 15 || interface.contains('/') {
            return Err(ArgError(format!(
                "iface={interface} is not an interface name"
            )));
        }
        Ok(interface)
    }

    fn mac(&self) -> Result<MacAddr, ArgError> {
        let text = self.get("mac")?;
        text.parse()
            .ok()
            .ok_or_else(|| ArgError(format!("mac={text} is not a MAC address")))
    }

    fn times(&self) -> Result<LeaseTimes, ArgError> {
        Ok(LeaseTimes {
            lease_secs: self.u32("lease")?,
            t1_secs: self.u32("t1")?,
            t2_secs: self.u32("t2")?,
            bound_at_ms: self.num("bound")?,
        })
    }
}

/// The lease-time words both keepers write.
fn times_args(t: &LeaseTimes) -> [String; 4] {
    [
        format!("lease={}", t.lease_secs),
        format!("t1={}", t.t1_secs),
        format!("t2={}", t.t2_secs),
        format!("bound={}", t.bound_at_ms),
    ]
}

/// The DHCPv6 lease the IPv6 keeper (`@netinit-lease6`) keeps: one
/// address of one IA_NA, renewed with the server that granted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held6 {
    pub interface: String,
    pub ifindex: u32,
    /// The client DUID is DUID-LL from this MAC, as at boot.
    pub mac: MacAddr,
    pub iaid: u32,
    pub address: Ipv6Addr,
    pub server_duid: Vec<u8>,
    /// `lease_secs` is the valid lifetime; `bound_at_ms` on CLOCK_BOOTTIME.
    pub times: LeaseTimes,
}

/// A DUID is at most 128 bytes after its 2-byte type (RFC 8415 11.1).
const MAX_DUID: usize = 130;

impl Held6 {
    /// The DHCPv6 lease to keep, if there is one: a finite valid lifetime.
    pub fn from_state(s: &NetState) -> Option<Held6> {
        let v6 = s.ipv6.as_ref()?;
        let b = v6
            .lease
            .as_ref()
            .filter(|b| b.times.lease_secs != u32::MAX && !b.server_duid.is_empty())?;
        Some(Held6 {
            interface: s.interface.clone(),
            ifindex: s.ifindex,
            mac: s.mac,
            iaid: b.iaid,
            address: v6.address,
            server_duid: b.server_duid.clone(),
            times: b.times,
        })
    }

    /// The argument words after `argv[0]`; the DUID in hex.
    pub fn to_args(&self) -> Vec<String> {
        let duid: String = self
            .server_duid
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut v = vec![
            format!("iface={}", self.interface),
            format!("ifindex={}", self.ifindex),
            format!("mac={}", self.mac),
            format!("iaid={}", self.iaid),
            format!("addr={}", self.address),
            format!("duid={duid}"),
        ];
        v.extend(times_args(&self.times));
        v
    }

    /// Parses the words [`Held6::to_args`] wrote.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Held6, ArgError> {
        let w = Words(args);
        let addr_text = w.get("addr")?;
        let address = addr_text
            .parse()
            .map_err(|_| ArgError(format!("addr={addr_text} is not an IPv6 address")))?;
        let duid_text = w.get("duid")?;
        let server_duid = parse_hex(&duid_text)
            .filter(|d| !d.is_empty() && d.len() <= MAX_DUID)
            .ok_or_else(|| ArgError(format!("duid={duid_text} is not a DUID in hex")))?;
        Ok(Held6 {
            interface: w.interface()?,
            ifindex: w.u32("ifindex")?,
            mac: w.mac()?,
            iaid: w.u32("iaid")?,
            address,
            server_duid,
            times: w.times()?,
        })
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_cidr(s: &str) -> Option<Ipv4Cidr> {
    let (addr, prefix) = s.split_once('/')?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    Some(Ipv4Cidr {
        addr: addr.parse().ok()?,
        prefix,
    })
}

/// A malformed keeper argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

/// Inodes of the UDP sockets in `table` (the text of /proc/net/udp) that
/// a DHCP client would hold for `ours`: local port 68 on our address or
/// on the wildcard address. A running DHCP client keeps one while bound,
/// to hear its renewals; the keeper holds none of its own between sends.
pub fn dhcp_client_sockets(table: &str, ours: Ipv4Addr) -> Vec<u64> {
    udp_sockets(table, CLIENT_PORT, |a| {
        let a = Ipv4Addr::from(<[u8; 4]>::try_from(a).ok()?);
        Some(a == ours || a.is_unspecified())
    })
}

/// The same for DHCPv6 in /proc/net/udp6: local port 546 on our address,
/// the wildcard or a link-local address (where DHCPv6 clients bind). The
/// caller leaves out its own socket's inode.
pub fn dhcp6_client_sockets(table: &str, ours: Ipv6Addr) -> Vec<u64> {
    udp_sockets(table, CLIENT_PORT6, |a| {
        let a = Ipv6Addr::from(<[u8; 16]>::try_from(a).ok()?);
        Some(a == ours || a.is_unspecified() || a.segments()[0] & 0xffc0 == 0xfe80)
    })
}

/// Inodes of the sockets in a /proc/net/udp{,6} table on local `port`
/// whose address `mine` accepts.
fn udp_sockets(table: &str, port: u16, mine: impl Fn(&[u8]) -> Option<bool>) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let local = f.nth(1)?;
            let inode = f.nth(7)?.parse::<u64>().ok()?;
            let (hex, p) = local.split_once(':')?;
            // The kernel prints the address as native-endian u32 words.
            if hex.len() % 8 != 0 || !hex.is_ascii() {
                return None;
            }
            let mut addr = Vec::with_capacity(hex.len() / 2);
            for i in (0..hex.len()).step_by(8) {
                let word = u32::from_str_radix(hex.get(i..i + 8)?, 16).ok()?;
                addr.extend_from_slice(&word.to_ne_bytes());
            }
            let ok = u16::from_str_radix(p, 16).ok()? == port && mine(&addr)? && inode != 0;
            ok.then_some(inode)
        })
        .collect()
}

/// The socket inode behind a `/proc/PID/fd/N` link target, `socket:[N]`.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn held() -> Held {
        let mut h = crate::fixtures::held();
        h.times.bound_at_ms = 4321;
        h.hostname = Some("node1".into());
        h
    }

    #[test]
    fn args_round_trip_and_read_like_a_ps_line() {
        let h = held();
        let args = h.to_args();
        assert_eq!(
            args.join(" "),
            "iface=eth0 ifindex=2 mac=52:54:00:77:00:01 addr=10.77.0.100/24 \
             server=10.77.0.1 lease=120 t1=60 t2=105 bound=4321 hostname=node1"
        );
        assert_eq!(Held::parse(&args), Ok(h));
    }

    #[test]
    fn bad_args_name_the_word() {
        let mut args = held().to_args();
        args.retain(|a| !a.starts_with("server="));
        assert_eq!(Held::parse(&args).unwrap_err().0, "missing server=");
        let cases = [
            ("addr=10.77.0.100", "addr=10.77.0.100 is not ADDRESS/PREFIX"),
            ("lease=-1", "lease=-1 is not a number"),
            ("t1=4294967296", "t1=4294967296 is out of range"),
            ("mac=zz", "mac=zz is not a MAC address"),
            ("iface=../x", "iface=../x is not an interface name"),
        ];
        for (word, why) in cases {
            let key = word.split('=').next().unwrap_or("");
            let mut args = held().to_args();
            args.retain(|a| !a.starts_with(&format!("{key}=")));
            args.insert(0, word.to_owned());
            assert_eq!(Held::parse(&args).unwrap_err().0, why, "{word}");
        }
    }

    #[test]
    fn only_finite_dhcp_leases_are_kept() {
        let mut s = crate::net::NetState {
            mac: MacAddr([2; 6]),
            address: held().address,
            server_id: Some(Ipv4Addr::new(10, 77, 0, 1)),
            lease: Some(held().times),
            ..crate::fixtures::net_state()
        };
        assert_eq!(
            Held::from_state(&s).map(|h| h.server),
            Some(s.server_id.unwrap())
        );
        s.lease = Some(LeaseTimes {
            lease_secs: u32::MAX,
            ..held().times
        });
        assert_eq!(Held::from_state(&s), None);
        s.lease = None;
        assert_eq!(Held::from_state(&s), None);
    }

    /// Lines as a Linux x86-64 host prints them.
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 20001 2 0000000000000000 0
  102: 644D4D0A:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20002 2 0000000000000000 0
  103: 654D4D0A:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20003 2 0000000000000000 0
  104: 644D4D0A:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 20004 2 0000000000000000 0
  garbage line
";

    #[test]
    fn finds_dhcp_client_sockets_on_our_address_or_any() {
        if cfg!(target_endian = "little") {
            let ours = Ipv4Addr::new(10, 77, 77, 100);
            assert_eq!(dhcp_client_sockets(UDP, ours), vec![20001, 20002]);
        }
        assert_eq!(socket_inode("socket:[20002]"), Some(20002));
        assert_eq!(socket_inode("pipe:[20002]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }

    fn held6() -> Held6 {
        let mut h = crate::fixtures::held6();
        h.times = LeaseTimes {
            lease_secs: 7200,
            t1_secs: 1800,
            t2_secs: 2880,
            bound_at_ms: 4321,
        };
        h
    }

    #[test]
    fn dhcp6_args_round_trip_and_name_the_bad_word() {
        let h = held6();
        let args = h.to_args();
        assert_eq!(
            args.join(" "),
            "iface=eth0 ifindex=2 mac=52:54:00:77:00:01 iaid=2 addr=fd77::150 \
             duid=00030001020000000001 lease=7200 t1=1800 t2=2880 bound=4321"
        );
        assert_eq!(Held6::parse(&args), Ok(h));
        let cases = [
            ("addr=10.0.0.1", "addr=10.0.0.1 is not an IPv6 address"),
            ("duid=0", "duid=0 is not a DUID in hex"),
            ("duid=", "duid= is not a DUID in hex"),
            ("duid=zz", "duid=zz is not a DUID in hex"),
            ("iaid=4294967296", "iaid=4294967296 is out of range"),
            ("bound=x", "bound=x is not a number"),
        ];
        for (word, why) in cases {
            let key = word.split('=').next().unwrap_or("");
            let mut args = held6().to_args();
            args.retain(|a| !a.starts_with(&format!("{key}=")));
            args.insert(0, word.to_owned());
            assert_eq!(Held6::parse(&args).unwrap_err().0, why, "{word}");
        }
        let mut args = held6().to_args();
        args.retain(|a| !a.starts_with("iaid="));
        assert_eq!(Held6::parse(&args).unwrap_err().0, "missing iaid=");
    }

    #[test]
    fn only_finite_dhcp6_leases_are_kept() {
        let bound = crate::net::Bound6 {
            server_duid: held6().server_duid,
            iaid: 2,
            times: held6().times,
        };
        let net6 = crate::net::Net6 {
            method: "dhcp6",
            address: held6().address,
            prefix: 128,
            gateway: None,
            dns: Vec::new(),
            search: Vec::new(),
            bootfile_url: None,
            valid_secs: 7200,
            preferred_secs: 3600,
            lease: Some(bound.clone()),
        };
        let mut s = crate::net::NetState {
            interface: "eth0".into(),
            ifindex: 2,
            mac: held6().mac,
            ipv6: Some(net6.clone()),
            ..crate::fixtures::net_state()
        };
        assert_eq!(Held6::from_state(&s), Some(held6()));
        let forever = LeaseTimes {
            lease_secs: u32::MAX,
            ..bound.times
        };
        for lease in [
            None,
            Some(crate::net::Bound6 {
                times: forever,
                ..bound.clone()
            }),
        ] {
            s.ipv6 = Some(crate::net::Net6 {
                lease,
                ..net6.clone()
            });
            assert_eq!(Held6::from_state(&s), None);
        }
        s.ipv6 = None;
        assert_eq!(Held6::from_state(&s), None);
    }

    /// /proc/net/udp6 as a Linux x86-64 host prints it: the wildcard, a
    /// link-local (fe80::5054:ff:fe77:1), a global other than ours, and
    /// the DHCPv6 server port.
    const UDP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  10: 00000000000000000000000000000000:0222 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 30001 2 0000000000000000 0
  11: 000080FE00000000FF005450010077FE:0222 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 30002 2 0000000000000000 0
  12: 000077FD000000000000000051010000:0222 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 30003 2 0000000000000000 0
  13: 00000000000000000000000000000000:0223 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 30004 2 0000000000000000 0
  14: 0000:0222 x x x x x x x 30005
";

    #[test]
    fn finds_dhcp6_client_sockets() {
        if cfg!(target_endian = "little") {
            let ours: Ipv6Addr = "fd77::150".parse().unwrap();
            assert_eq!(dhcp6_client_sockets(UDP6, ours), vec![30001, 30002]);
            let ours: Ipv6Addr = "fd77::151".parse().unwrap();
            assert_eq!(dhcp6_client_sockets(UDP6, ours), vec![30001, 30002, 30003]);
        }
        // IPv4 rows never match the IPv6 reader, nor the reverse.
        assert!(dhcp6_client_sockets(UDP, Ipv6Addr::UNSPECIFIED).is_empty());
        assert!(dhcp_client_sockets(UDP6, Ipv4Addr::UNSPECIFIED).is_empty());
    }

    proptest! {
        #[test]
        fn any_held6_lease_round_trips(
            ifindex in any::<u32>(), iaid in any::<u32>(), mac in any::<[u8; 6]>(),
            addr in any::<[u8; 16]>(), duid in proptest::collection::vec(any::<u8>(), 1..=130),
            lease in any::<u32>(), t1 in any::<u32>(), t2 in any::<u32>(), bound in any::<u64>(),
            name in "[a-z][a-z0-9]{0,14}",
        ) {
            let h = Held6 {
                interface: name,
                ifindex,
                mac: MacAddr(mac),
                iaid,
                address: Ipv6Addr::from(addr),
                server_duid: duid,
                times: LeaseTimes { lease_secs: lease, t1_secs: t1, t2_secs: t2, bound_at_ms: bound },
            };
            prop_assert_eq!(Held6::parse(&h.to_args()), Ok(h));
        }

        #[test]
        fn parsers_never_panic(text in ".{0,300}", words in proptest::collection::vec(".{0,40}", 0..12)) {
            let _ = dhcp_client_sockets(&text, Ipv4Addr::new(10, 0, 0, 1));
            let _ = socket_inode(&text);
            let _ = Held::parse(&words);
            let _ = Held6::parse(&words);
            let _ = dhcp6_client_sockets(&text, Ipv6Addr::UNSPECIFIED);
        }

        #[test]
        fn any_held_lease_round_trips(
            ifindex in any::<u32>(), mac in any::<[u8; 6]>(), addr in any::<[u8; 4]>(),
            prefix in 0u8..=32, server in any::<[u8; 4]>(), lease in any::<u32>(),
            t1 in any::<u32>(), t2 in any::<u32>(), bound in any::<u64>(),
            name in "[a-z][a-z0-9]{0,14}",
        ) {
            let h = Held {
                interface: name,
                ifindex,
                mac: MacAddr(mac),
                address: Ipv4Cidr { addr: Ipv4Addr::from(addr), prefix },
                server: Ipv4Addr::from(server),
                times: LeaseTimes { lease_secs: lease, t1_secs: t1, t2_secs: t2, bound_at_ms: bound },
                hostname: None,
            };
            prop_assert_eq!(Held::parse(&h.to_args()), Ok(h));
        }
    }
}
