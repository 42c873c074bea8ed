//! What the lease keeper is told, and how it tells another DHCP client
//! is at work on its interface. Pure: the process is in `netinit`.
//!
//! The keeper is started as `@netinit-lease key=value…` (the `@` is
//! systemd's mark for a process that must survive until the root is
//! unmounted); the words are the whole hand-over, so `ps` shows what it
//! holds.

use std::fmt;
use std::net::Ipv4Addr;

use crate::net::Ipv4Cidr;
use crate::net::{LeaseTimes, MacAddr, NetState};

/// `argv[0]` of the keeper process.
pub const ARGV0: &str = "@netinit-lease";
/// UDP port of DHCP clients.
const CLIENT_PORT: u16 = 68;

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
            format!("lease={}", t.lease_secs),
            format!("t1={}", t.t1_secs),
            format!("t2={}", t.t2_secs),
            format!("bound={}", t.bound_at_ms),
        ];
        if let Some(h) = &self.hostname {
            v.push(format!("hostname={h}"));
        }
        v
    }

    /// Parses the words [`Held::to_args`] wrote.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Held, ArgError> {
        let get = |key: &str| -> Result<String, ArgError> {
            args.iter()
                .find_map(|a| a.as_ref().strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
                .ok_or_else(|| ArgError(format!("missing {key}=")))
        };
        let num = |key: &str, v: String| -> Result<u64, ArgError> {
            v.parse()
                .map_err(|_| ArgError(format!("{key}={v} is not a number")))
        };
        let u32_of = |key: &str, v: String| -> Result<u32, ArgError> {
            u32::try_from(num(key, v.clone())?)
                .map_err(|_| ArgError(format!("{key}={v} is out of range")))
        };
        let interface = get("iface")?;
        if interface.is_empty() || interface.len() > 15 || interface.contains('/') {
            return Err(ArgError(format!(
                "iface={interface} is not an interface name"
            )));
        }
        let ifindex = u32_of("ifindex", get("ifindex")?)?;
        let mac_text = get("mac")?;
        let mac: MacAddr = mac_text
            .parse()
            .ok()
            .ok_or_else(|| ArgError(format!("mac={mac_text} is not a MAC address")))?;
        let addr_text = get("addr")?;
        let address = parse_cidr(&addr_text)
            .ok_or_else(|| ArgError(format!("addr={addr_text} is not ADDRESS/PREFIX")))?;
        let server_text = get("server")?;
        let server = server_text
            .parse()
            .map_err(|_| ArgError(format!("server={server_text} is not an IPv4 address")))?;
        let times = LeaseTimes {
            lease_secs: u32_of("lease", get("lease")?)?,
            t1_secs: u32_of("t1", get("t1")?)?,
            t2_secs: u32_of("t2", get("t2")?)?,
            bound_at_ms: num("bound", get("bound")?)?,
        };
        let hostname = get("hostname").ok().filter(|h| !h.is_empty());
        Ok(Held {
            interface,
            ifindex,
            mac,
            address,
            server,
            times,
            hostname,
        })
    }
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
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let local = f.nth(1)?;
            let inode = f.nth(7)?.parse::<u64>().ok()?;
            let (addr, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            // The kernel prints the address as a native-endian u32.
            let raw = u32::from_str_radix(addr, 16).ok()?;
            let addr = Ipv4Addr::from(raw.to_ne_bytes());
            let mine = addr == ours || addr.is_unspecified();
            (port == CLIENT_PORT && mine && inode != 0).then_some(inode)
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

    proptest! {
        #[test]
        fn parsers_never_panic(text in ".{0,300}", words in proptest::collection::vec(".{0,40}", 0..12)) {
            let _ = dhcp_client_sockets(&text, Ipv4Addr::new(10, 0, 0, 1));
            let _ = socket_inode(&text);
            let _ = Held::parse(&words);
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
