//! dracut's virtual links and routes: `vlan=`, `bond=`, `rd.route=`
//! (dracut.cmdline(7)). Pure parsers; the links are made over netlink by
//! the shell, before DHCP, so the boot interface can be a VLAN or a bond.

use std::net::Ipv4Addr;

use crate::ipconf::prefix_of;
use crate::net::Ipv4Cidr;

/// `vlan=<name>:<parent>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vlan {
    pub name: String,
    pub parent: String,
    /// 1-4094, read from the name.
    pub id: u16,
}

/// One bonding option, as the kernel's netlink attribute wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondValue {
    Num(u32),
    /// `primary=`: a slave's name, turned into its index at run time.
    Link(String),
    /// `arp_ip_target=` (dracut separates several with `;`).
    Addrs(Vec<Ipv4Addr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondOpt {
    /// The bonding driver's name for it (`mode`, `miimon`, …).
    pub name: &'static str,
    pub value: BondValue,
}

/// `bond=<name>[:<slaves>[:<options>[:<mtu>]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bond {
    pub name: String,
    pub slaves: Vec<String>,
    pub options: Vec<BondOpt>,
    pub mtu: Option<u16>,
}

impl Bond {
    /// The `mode` option's number (0, balance-rr, when not given).
    pub fn mode(&self) -> u32 {
        self.options
            .iter()
            .find_map(|o| match (o.name, &o.value) {
                ("mode", BondValue::Num(n)) => Some(*n),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The options as `name=value` words, in the cmdline's form.
    pub fn option_words(&self) -> Vec<String> {
        self.options.iter().map(BondOpt::to_string).collect()
    }
}

impl std::fmt::Display for BondOpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            BondValue::Num(n) => match bond_option(self.name).and_then(|o| o.3.get(*n as usize)) {
                Some(word) => write!(f, "{}={word}", self.name),
                None => write!(f, "{}={n}", self.name),
            },
            BondValue::Link(l) => write!(f, "{}={l}", self.name),
            BondValue::Addrs(a) => {
                let a: Vec<String> = a.iter().map(|a| a.to_string()).collect();
                write!(f, "{}={}", self.name, a.join(";"))
            }
        }
    }
}

/// How an option's value is sent: a u8 or a u32 attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    U8,
    U32,
}

/// (name, IFLA_BOND_* attribute, width, value names in number order).
type BondOptionSpec = (&'static str, u16, Width, &'static [&'static str]);

/// The bonding options netinit passes through (linux/if_link.h).
pub const BOND_OPTIONS: &[BondOptionSpec] = &[
    (
        "mode",
        1,
        Width::U8,
        &[
            "balance-rr",
            "active-backup",
            "balance-xor",
            "broadcast",
            "802.3ad",
            "balance-tlb",
            "balance-alb",
        ],
    ),
    ("miimon", 3, Width::U32, &[]),
    ("updelay", 4, Width::U32, &[]),
    ("downdelay", 5, Width::U32, &[]),
    ("use_carrier", 6, Width::U8, &[]),
    ("arp_interval", 7, Width::U32, &[]),
    ("arp_ip_target", 8, Width::U32, &[]),
    (
        "arp_validate",
        9,
        Width::U32,
        &[
            "none",
            "active",
            "backup",
            "all",
            "filter",
            "filter_active",
            "filter_backup",
        ],
    ),
    ("arp_all_targets", 10, Width::U32, &["any", "all"]),
    ("primary", 11, Width::U32, &[]),
    (
        "primary_reselect",
        12,
        Width::U8,
        &["always", "better", "failure"],
    ),
    (
        "fail_over_mac",
        13,
        Width::U8,
        &["none", "active", "follow"],
    ),
    (
        "xmit_hash_policy",
        14,
        Width::U8,
        &[
            "layer2",
            "layer3+4",
            "layer2+3",
            "encap2+3",
            "encap3+4",
            "vlan+srcmac",
        ],
    ),
    ("resend_igmp", 15, Width::U32, &[]),
    ("num_grat_arp", 16, Width::U8, &[]),
    ("all_slaves_active", 17, Width::U8, &[]),
    ("min_links", 18, Width::U32, &[]),
    ("lp_interval", 19, Width::U32, &[]),
    ("packets_per_slave", 20, Width::U32, &[]),
    ("lacp_rate", 21, Width::U8, &["slow", "fast"]),
    (
        "ad_select",
        22,
        Width::U8,
        &["stable", "bandwidth", "count"],
    ),
];

pub fn bond_option(name: &str) -> Option<&'static BondOptionSpec> {
    BOND_OPTIONS.iter().find(|o| o.0 == name)
}

/// An interface name the kernel takes (IFNAMSIZ 16 with the NUL).
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name.contains(['/', ':', ','])
        || name.contains(char::is_whitespace)
    {
        return Err(format!(
            "'{name}' is not an interface name (1-15 characters, no '/', ':' or ',')"
        ));
    }
    Ok(())
}

/// The VLAN id in a name, the four ways dracut reads it: `vlan0005`,
/// `vlan5`, `eth0.0005`, `eth0.5`.
pub fn vlan_id(name: &str) -> Result<u16, String> {
    let digits = match name.rsplit_once('.') {
        Some((_, d)) => d,
        None => name.strip_prefix("vlan").unwrap_or(""),
    };
    match digits.parse::<u16>() {
        Ok(id) if digits.bytes().all(|b| b.is_ascii_digit()) && (1..=4094).contains(&id) => Ok(id),
        _ => Err(format!(
            "'{name}' names no VLAN id 1-4094 (want vlan<id> or <parent>.<id>, e.g. eth0.100)"
        )),
    }
}

/// `vlan=<name>:<parent>`.
pub fn parse_vlan(value: &str) -> Result<Vlan, String> {
    let Some((name, parent)) = value.split_once(':') else {
        return Err(format!("'{value}' is not <name>:<parent>"));
    };
    check_ifname(name)?;
    check_ifname(parent)?;
    let id = vlan_id(name)?;
    if name == parent {
        return Err(format!("'{name}' cannot be its own parent"));
    }
    Ok(Vlan {
        name: name.to_owned(),
        parent: parent.to_owned(),
        id,
    })
}

/// `bond=<name>[:<slaves>[:<options>[:<mtu>]]]`; the bare word is
/// `bond0:eth0,eth1:mode=balance-rr`, as in dracut.
pub fn parse_bond(value: Option<&str>) -> Result<Bond, String> {
    let mut f = value.unwrap_or("").split(':');
    let name = f.next().filter(|n| !n.is_empty()).unwrap_or("bond0");
    check_ifname(name)?;
    let slaves: Vec<String> = match f.next().filter(|s| !s.is_empty()) {
        Some(s) => s.split(',').map(str::to_owned).collect(),
        None => vec!["eth0".into(), "eth1".into()],
    };
    for (i, s) in slaves.iter().enumerate() {
        check_ifname(s)?;
        if s == name || slaves[..i].contains(s) {
            return Err(format!("slave '{s}' is listed twice or is the bond itself"));
        }
    }
    let mut options: Vec<BondOpt> = Vec::new();
    for word in f.next().unwrap_or("").split([',', ' ']) {
        if word.is_empty() {
            continue;
        }
        let opt = parse_bond_option(word)?;
        options.retain(|o| o.name != opt.name);
        options.push(opt);
    }
    if let Some(BondValue::Link(p)) = options
        .iter()
        .find(|o| o.name == "primary")
        .map(|o| &o.value)
    {
        if !slaves.contains(p) {
            return Err(format!("primary '{p}' is not one of the slaves"));
        }
    }
    let mtu = match f.next().filter(|m| !m.is_empty()) {
        Some(m) => Some(
            m.parse::<u16>()
                .ok()
                .filter(|n| *n >= 68)
                .ok_or_else(|| format!("mtu '{m}' is not a number 68-65535"))?,
        ),
        None => None,
    };
    if f.next().is_some() {
        return Err("more than 4 fields (name:slaves:options:mtu)".into());
    }
    Ok(Bond {
        name: name.to_owned(),
        slaves,
        options,
        mtu,
    })
}

fn parse_bond_option(word: &str) -> Result<BondOpt, String> {
    let Some((key, v)) = word.split_once('=') else {
        return Err(format!("option '{word}' is not name=value"));
    };
    let Some(&(name, _, width, names)) = bond_option(key) else {
        let known: Vec<&str> = BOND_OPTIONS.iter().map(|o| o.0).collect();
        return Err(format!("option '{key}' is not one of {}", known.join(", ")));
    };
    let value = match name {
        "primary" => {
            check_ifname(v)?;
            BondValue::Link(v.to_owned())
        }
        "arp_ip_target" => {
            let addrs = v
                .split(';')
                .map(|a| a.parse::<Ipv4Addr>())
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .filter(|a| (1..=16).contains(&a.len()))
                .ok_or_else(|| {
                    format!("arp_ip_target '{v}' is not 1-16 IPv4 addresses separated by ';'")
                })?;
            BondValue::Addrs(addrs)
        }
        _ => {
            let n = match names.iter().position(|n| *n == v) {
                Some(i) => i as u32,
                None => v.parse::<u32>().map_err(|_| {
                    let want = if names.is_empty() {
                        "a number".to_owned()
                    } else {
                        names.join("|")
                    };
                    format!("{name} '{v}' is not {want}")
                })?,
            };
            let max = match (names.len(), width) {
                (0, Width::U8) => 255,
                (0, Width::U32) => u32::MAX,
                (k, _) => k as u32 - 1,
            };
            if n > max {
                return Err(format!("{name} '{v}' is out of range (0-{max})"));
            }
            BondValue::Num(n)
        }
    };
    Ok(BondOpt { name, value })
}

/// `rd.route=<net>/<netmask>:<gateway>[:<interface>]`; an empty gateway
/// is an on-link route, which then needs the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticRoute {
    pub dest: Ipv4Cidr,
    pub gateway: Option<Ipv4Addr>,
    pub device: Option<String>,
}

impl std::fmt::Display for StaticRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.dest.network(), self.dest.prefix)?;
        match self.gateway {
            Some(g) => write!(f, " via {g}")?,
            None => f.write_str(" on-link")?,
        }
        if let Some(d) = &self.device {
            write!(f, " dev {d}")?;
        }
        Ok(())
    }
}

pub fn parse_route(value: &str) -> Result<StaticRoute, String> {
    if value.starts_with('[') {
        return Err("IPv6 routes are not supported here (IPv4 only)".into());
    }
    let mut f = value.split(':');
    let net = f.next().unwrap_or("");
    let gw = f.next().unwrap_or("");
    let dev = f.next().filter(|d| !d.is_empty());
    if f.next().is_some() {
        return Err(format!(
            "'{value}' has more than 3 fields (net/prefix:gateway:interface)"
        ));
    }
    let Some((addr, mask)) = net.split_once('/') else {
        return Err(format!("'{net}' is not <net>/<prefix>"));
    };
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("'{addr}' is not an IPv4 network"))?;
    let prefix = match mask.parse::<u8>() {
        Ok(p) if p <= 32 => Some(p),
        Ok(_) => None,
        Err(_) => mask.parse::<Ipv4Addr>().ok().and_then(prefix_of),
    }
    .ok_or_else(|| format!("'{mask}' is not a prefix length or netmask"))?;
    let dest = Ipv4Cidr { addr, prefix };
    if dest.network() != addr {
        return Err(format!(
            "'{net}' has host bits set (the network is {}/{prefix})",
            dest.network()
        ));
    }
    let gateway = match gw {
        "" => None,
        g => Some(
            g.parse::<Ipv4Addr>()
                .map_err(|_| format!("gateway '{g}' is not an IPv4 address"))?,
        ),
    };
    if let Some(d) = dev {
        check_ifname(d)?;
    }
    if gateway.is_none() && dev.is_none() {
        return Err(format!("'{value}' has neither a gateway nor an interface"));
    }
    Ok(StaticRoute {
        dest,
        gateway,
        device: dev.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vlan_names() {
        for (value, id, parent) in [
            ("eth0.100:eth0", 100, "eth0"),
            ("eth0.0005:eth0", 5, "eth0"),
            ("vlan0005:ens3", 5, "ens3"),
            ("vlan100:bond0", 100, "bond0"),
            ("bond0.4094:bond0", 4094, "bond0"),
        ] {
            let v = parse_vlan(value).unwrap();
            assert_eq!((v.id, v.parent.as_str()), (id, parent), "{value}");
        }
        for (value, want) in [
            ("eth0.100", "is not <name>:<parent>"),
            ("eth0.0:eth0", "names no VLAN id"),
            ("eth0.4095:eth0", "names no VLAN id"),
            ("mgmt:eth0", "names no VLAN id"),
            ("vlan+5:eth0", "names no VLAN id"),
            ("vlan5:", "is not an interface name"),
            ("vlan5:vlan5", "its own parent"),
        ] {
            let e = parse_vlan(value).unwrap_err();
            assert!(e.contains(want), "{value}: {e}");
        }
    }

    #[test]
    fn bonds() {
        let b = parse_bond(None).unwrap();
        assert_eq!((b.name.as_str(), b.slaves.len(), b.mode()), ("bond0", 2, 0));
        let b = parse_bond(Some(
            "bond0:eth0,eth1:mode=active-backup,miimon=100,primary=eth1:9000",
        ))
        .unwrap();
        assert_eq!(b.slaves, ["eth0", "eth1"]);
        assert_eq!(b.mode(), 1);
        assert_eq!(b.mtu, Some(9000));
        assert_eq!(
            b.option_words(),
            ["mode=active-backup", "miimon=100", "primary=eth1"]
        );
        let b = parse_bond(Some(
            "bond1:ens3,ens4:mode=802.3ad,lacp_rate=fast,xmit_hash_policy=layer3+4,arp_ip_target=10.0.0.1;10.0.0.2",
        ))
        .unwrap();
        assert_eq!(b.mode(), 4);
        assert_eq!(
            b.option_words(),
            [
                "mode=802.3ad",
                "lacp_rate=fast",
                "xmit_hash_policy=layer3+4",
                "arp_ip_target=10.0.0.1;10.0.0.2"
            ]
        );
        // Numbers as the driver also takes them; a repeated option: the last wins.
        let b = parse_bond(Some("bond0:eth0:mode=4,mode=1")).unwrap();
        assert_eq!(b.options.len(), 1);
        assert_eq!(b.mode(), 1);
        for (value, want) in [
            ("bond0:eth0:mode=fast", "mode 'fast' is not balance-rr|"),
            ("bond0:eth0:mode=7", "out of range (0-6)"),
            ("bond0:eth0:speed=10", "option 'speed' is not one of mode,"),
            ("bond0:eth0:miimon", "is not name=value"),
            (
                "bond0:eth0:primary=eth1",
                "primary 'eth1' is not one of the slaves",
            ),
            ("bond0:eth0,eth0", "listed twice"),
            ("bond0:eth0::60", "mtu '60'"),
            ("bond0:eth0:arp_ip_target=x", "arp_ip_target 'x'"),
            ("bond0:eth0::1500:x", "more than 4 fields"),
        ] {
            let e = parse_bond(Some(value)).unwrap_err();
            assert!(e.contains(want), "{value}: {e}");
        }
    }

    #[test]
    fn routes() {
        let r = parse_route("192.168.200.0/24:192.168.100.222:ens10").unwrap();
        assert_eq!(
            r.to_string(),
            "192.168.200.0/24 via 192.168.100.222 dev ens10"
        );
        let r = parse_route("10.9.0.0/255.255.0.0:10.0.0.1").unwrap();
        assert_eq!(r.to_string(), "10.9.0.0/16 via 10.0.0.1");
        let r = parse_route("192.168.200.0/24::ens10").unwrap();
        assert_eq!(r.to_string(), "192.168.200.0/24 on-link dev ens10");
        for (value, want) in [
            ("192.168.200.1/24:10.0.0.1", "host bits set"),
            ("192.168.200.0:10.0.0.1", "is not <net>/<prefix>"),
            ("192.168.200.0/33:10.0.0.1", "not a prefix length"),
            ("192.168.200.0/24:gw", "gateway 'gw'"),
            ("192.168.200.0/24:", "neither a gateway nor an interface"),
            ("[2001:db8::/64]:[2001:db8::1]", "IPv6"),
            ("10.0.0.0/8:10.0.0.1:eth0:x", "more than 3 fields"),
        ] {
            let e = parse_route(value).unwrap_err();
            assert!(e.contains(want), "{value}: {e}");
        }
    }

    proptest! {
        #[test]
        fn never_panic(text in "\\PC{0,60}") {
            let _ = parse_vlan(&text);
            let _ = parse_bond(Some(&text));
            let _ = parse_route(&text);
        }

        /// A VLAN written in any of dracut's four name styles reads back its id.
        #[test]
        fn vlan_styles(id in 1u16..=4094, pad in any::<bool>(), dotted in any::<bool>()) {
            let digits = if pad { format!("{id:04}") } else { id.to_string() };
            let name = if dotted { format!("eth0.{digits}") } else { format!("vlan{digits}") };
            let v = parse_vlan(&format!("{name}:eth0")).unwrap();
            prop_assert_eq!(v.id, id);
        }

        /// Any route in canonical form prints back as it was written.
        #[test]
        fn route_round_trip(net: [u8; 4], prefix in 0u8..=32, gw: [u8; 4], dev in proptest::option::of("[a-z]{1,5}[0-9]")) {
            let dest = Ipv4Cidr { addr: Ipv4Addr::from(net), prefix }.network();
            let text = format!("{dest}/{prefix}:{}{}", Ipv4Addr::from(gw), dev.as_ref().map(|d| format!(":{d}")).unwrap_or_default());
            let r = parse_route(&text).unwrap();
            let want = format!("{dest}/{prefix} via {}{}", Ipv4Addr::from(gw), dev.map(|d| format!(" dev {d}")).unwrap_or_default());
            prop_assert_eq!(r.to_string(), want);
        }

        /// Options printed by a parsed bond parse back to the same bond.
        #[test]
        fn bond_options_round_trip(mode in 0u32..7, miimon in proptest::option::of(0u32..10_000), rate in proptest::option::of(0u32..2)) {
            let mut words = vec![format!("mode={mode}")];
            if let Some(m) = miimon { words.push(format!("miimon={m}")); }
            if let Some(r) = rate { words.push(format!("lacp_rate={r}")); }
            let b = parse_bond(Some(&format!("bond0:eth0,eth1:{}", words.join(",")))).unwrap();
            let again = parse_bond(Some(&format!("bond0:eth0,eth1:{}", b.option_words().join(",")))).unwrap();
            prop_assert_eq!(b, again);
        }
    }
}
