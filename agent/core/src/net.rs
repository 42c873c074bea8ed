//! Network value types shared by the planner, the DHCP client and the
//! hand-off writer.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 address with its prefix length. Displays as `A.B.C.D/P`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// The network address (host bits cleared).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & u32::from(self.netmask()))
    }

    /// Whether `a` is inside this subnet (on-link for an address with this prefix).
    pub fn contains(self, a: Ipv4Addr) -> bool {
        u32::from(a) & u32::from(self.netmask()) == u32::from(self.network())
    }

    /// The netmask for the prefix (prefix is clamped to 32).
    pub fn netmask(self) -> Ipv4Addr {
        let p = u32::from(self.prefix.min(32));
        let bits = if p == 0 { 0 } else { u32::MAX << (32 - p) };
        Ipv4Addr::from(bits)
    }

    /// The directed broadcast address of the subnet.
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !u32::from(self.netmask()))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An Ethernet MAC address. Displays lowercase with colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// Accepts `aa:bb:cc:dd:ee:ff` and `aa-bb-cc-dd-ee-ff`, any case.
impl FromStr for MacAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(format!("'{s}' is not a MAC address (want 6 hex octets)"));
        }
        let mut mac = [0u8; 6];
        for (slot, part) in mac.iter_mut().zip(&parts) {
            if part.len() != 2 {
                return Err(format!("'{s}' is not a MAC address (octet '{part}')"));
            }
            *slot = u8::from_str_radix(part, 16)
                .map_err(|_| format!("'{s}' is not a MAC address (octet '{part}')"))?;
        }
        Ok(MacAddr(mac))
    }
}

/// How an interface got its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Dhcp,
    Static,
}

impl Proto {
    /// The word `netinit net --json` uses (klibc's `PROTO=` says `none`
    /// for static; the hand-off writer has its own word).
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Dhcp => "dhcp",
            Proto::Static => "static",
        }
    }
}

/// DHCP lease timers, in seconds from the moment the lease was bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    pub lease_secs: u32,
    pub t1_secs: u32,
    pub t2_secs: u32,
    /// Monotonic milliseconds at which the ACK arrived.
    pub bound_at_ms: u64,
}

/// A static route (DHCP option 121). `gateway: None` is on-link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dest: Ipv4Cidr,
    pub gateway: Option<Ipv4Addr>,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.gateway {
            Some(g) => write!(f, "{} via {g}", self.dest),
            None => write!(f, "{} on-link", self.dest),
        }
    }
}

/// The configured network, as the network phase leaves it. The hand-off
/// files and `netinit net --json` are rendered from this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetState {
    pub interface: String,
    pub ifindex: u32,
    pub mac: MacAddr,
    pub proto: Proto,
    pub address: Ipv4Cidr,
    pub broadcast: Option<Ipv4Addr>,
    pub gateway: Option<Ipv4Addr>,
    /// Classless static routes besides the default one (option 121).
    pub routes: Vec<Route>,
    pub server_id: Option<Ipv4Addr>,
    pub next_server: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    pub search: Vec<String>,
    pub hostname: Option<String>,
    pub root_path: Option<String>,
    pub bootfile: Option<String>,
    pub mtu: Option<u16>,
    pub ntp: Vec<Ipv4Addr>,
    pub lease: Option<LeaseTimes>,
    /// IPv6 on the same interface (`ip=auto6`, `ip=dhcp6`).
    pub ipv6: Option<Net6>,
}

/// The IPv6 configuration, after DAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Net6 {
    /// `auto6` or `dhcp6`.
    pub method: &'static str,
    pub address: Ipv6Addr,
    /// 64 from SLAAC; 128 from DHCPv6 (the on-link prefix is the RA's).
    pub prefix: u8,
    /// The router's link-local address, from its RA.
    pub gateway: Option<Ipv6Addr>,
    pub dns: Vec<Ipv6Addr>,
    pub search: Vec<String>,
    /// DHCPv6 option 59.
    pub bootfile_url: Option<String>,
    pub valid_secs: u32,
    pub preferred_secs: u32,
    /// What the DHCPv6 lease keeper needs; `None` for SLAAC.
    pub lease: Option<Bound6>,
}

/// A DHCPv6 lease as the keeper renews it: who granted it, for which IA,
/// and its timers (`lease_secs` is the valid lifetime; `bound_at_ms` is
/// on CLOCK_BOOTTIME, the keeper's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound6 {
    pub server_duid: Vec<u8>,
    pub iaid: u32,
    pub times: LeaseTimes,
}

impl Net6 {
    pub fn to_json(&self) -> crate::json::Json {
        use crate::json::Json;
        Json::object()
            .with("method", self.method)
            .with("address", format!("{}/{}", self.address, self.prefix))
            .with("gateway", self.gateway.map(|g| g.to_string()))
            .with(
                "dns",
                self.dns.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            )
            .with("search", self.search.clone())
            .with("bootfile_url", self.bootfile_url.clone())
            .with("valid_seconds", self.valid_secs)
            .with("preferred_seconds", self.preferred_secs)
    }
}

impl NetState {
    /// Our address in `server`'s family (NFSv4's `clientaddr=`); the
    /// unspecified one when that family is not configured.
    pub fn client_addr_for(&self, server: std::net::IpAddr) -> std::net::IpAddr {
        match server {
            std::net::IpAddr::V4(_) => self.address.addr.into(),
            std::net::IpAddr::V6(_) => self
                .ipv6
                .as_ref()
                .map_or(std::net::Ipv6Addr::UNSPECIFIED, |v6| v6.address)
                .into(),
        }
    }

    /// `netinit net --json`: the configured network.
    pub fn to_json(&self, elapsed_ms: u64) -> crate::json::Json {
        use crate::json::Json;
        Json::object()
            .with("interface", self.interface.clone())
            .with("mac", self.mac.to_string())
            .with("proto", self.proto.as_str())
            .with("address", self.address.to_string())
            .with("broadcast", self.broadcast)
            .with("gateway", self.gateway)
            .with(
                "routes",
                self.routes
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>(),
            )
            .with("server_id", self.server_id)
            .with("next_server", self.next_server)
            .with("dns", self.dns.clone())
            .with("domain", self.domain.clone())
            .with("search", self.search.clone())
            .with("hostname", self.hostname.clone())
            .with("root_path", self.root_path.clone())
            .with("bootfile", self.bootfile.clone())
            .with("mtu", self.mtu)
            .with("ntp", self.ntp.clone())
            .with("lease_seconds", self.lease.map(|l| l.lease_secs))
            .with("t1_seconds", self.lease.map(|l| l.t1_secs))
            .with("t2_seconds", self.lease.map(|l| l.t2_secs))
            .with("ipv6", self.ipv6.as_ref().map(Net6::to_json))
            .with("elapsed_ms", elapsed_ms)
    }
}

/// The smallest MTU every IPv4 host must accept reassembled (RFC 791,
/// RFC 1122). A DHCP MTU below it is a server mistake that would choke
/// NFS; the IPv4 floor of 68 is too permissive for a root filesystem.
pub const MIN_DHCP_MTU: u16 = 576;

/// Where the MTU comes from: the cmdline (`ip=…:<mtu>`) wins over DHCP
/// option 26; a DHCP value below 576 or above what the NIC can take is
/// ignored with a warning. `nic_max` is the kernel's IFLA_MAX_MTU (0 or
/// `None` when the driver doesn't say).
pub fn choose_mtu(
    cmdline: Option<u16>,
    dhcp: Option<u16>,
    nic_max: Option<u32>,
) -> (Option<u16>, Option<String>) {
    if let Some(m) = cmdline {
        let note = dhcp
            .filter(|d| *d != m)
            .map(|d| format!("MTU {m} from ip= overrides DHCP option 26 ({d})"));
        return (Some(m), note);
    }
    let Some(m) = dhcp else {
        return (None, None);
    };
    if m < MIN_DHCP_MTU {
        return (
            None,
            Some(format!(
                "DHCP option 26 (MTU) {m} is below {MIN_DHCP_MTU}; ignored, keeping the NIC's MTU"
            )),
        );
    }
    if let Some(max) = nic_max.filter(|&x| x > 0 && u32::from(m) > x) {
        return (
            None,
            Some(format!(
                "DHCP option 26 (MTU) {m} is above the NIC's maximum {max}; ignored, keeping the NIC's MTU"
            )),
        );
    }
    (Some(m), None)
}

/// Whether a hostname from DHCP or `ip=` is safe to write to
/// /etc/hostname and to set: 1 to 64 bytes (the kernel's limit) of
/// letters, digits and `-` in dot-separated labels (the characters
/// `ip=`'s hostname field accepts, and systemd's rule).
pub fn valid_hostname(name: &str) -> bool {
    name.len() <= 64
        && !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_helpers() {
        let c = Ipv4Cidr {
            addr: Ipv4Addr::new(10, 77, 0, 5),
            prefix: 24,
        };
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 77, 0, 255));
        assert_eq!(c.to_string(), "10.77.0.5/24");
        let z = Ipv4Cidr {
            addr: Ipv4Addr::new(1, 2, 3, 4),
            prefix: 0,
        };
        assert_eq!(z.netmask(), Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn mtu_cmdline_wins_and_bad_dhcp_values_are_ignored() {
        let t = |c, d, max| choose_mtu(c, d, max);
        assert_eq!(t(None, None, Some(9000)), (None, None));
        assert_eq!(t(None, Some(1400), Some(9000)), (Some(1400), None));
        assert_eq!(t(None, Some(576), None), (Some(576), None));
        assert_eq!(t(None, Some(9000), Some(0)), (Some(9000), None));
        let (m, w) = t(Some(1450), Some(9000), Some(1500));
        assert_eq!(m, Some(1450));
        assert!(w.unwrap().contains("from ip= overrides"));
        assert_eq!(t(Some(1450), None, None), (Some(1450), None));
        let (m, w) = t(None, Some(575), Some(1500));
        assert_eq!(m, None);
        assert!(w.unwrap().contains("below 576"));
        let (m, w) = t(None, Some(9000), Some(1500));
        assert_eq!(m, None);
        assert!(w.unwrap().contains("above the NIC's maximum 1500"));
    }

    #[test]
    fn mac_forms() {
        let want = MacAddr([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f]);
        assert_eq!("AA-BB-CC-DD-EE-0F".parse::<MacAddr>(), Ok(want));
        assert_eq!("aa:bb:cc:dd:ee:0f".parse::<MacAddr>(), Ok(want));
        assert_eq!(want.to_string(), "aa:bb:cc:dd:ee:0f");
        for bad in [
            "",
            "aa:bb",
            "aa:bb:cc:dd:ee:fg",
            "aaa:bb:cc:dd:ee:ff",
            "aa:bb:cc:dd:ee:ff:00",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }
}
