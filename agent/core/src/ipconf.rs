//! The kernel's `ip=` parameter (Documentation/admin-guide/nfs/nfsroot.rst):
//! `ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>:<dns1-ip>:<ntp0-ip>`
//! plus the short forms `ip=dhcp` and dracut's `ip=<dev>:dhcp`.

use std::net::Ipv4Addr;

use crate::net::MacAddr;

/// The `<autoconf>` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Autoconf {
    /// `off`, `none`, `static`, or an empty field with a client address.
    Off,
    /// `on`, `any`, or empty without a client address.
    Any,
    Dhcp,
    Bootp,
    Rarp,
    Both,
}

impl Autoconf {
    /// Parses an autoconf word; `None` for anything else.
    pub fn from_word(word: &str) -> Option<Autoconf> {
        Some(match word {
            "off" | "none" | "static" => Autoconf::Off,
            "on" | "any" => Autoconf::Any,
            "dhcp" => Autoconf::Dhcp,
            "bootp" => Autoconf::Bootp,
            "rarp" => Autoconf::Rarp,
            "both" => Autoconf::Both,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Autoconf::Off => "off",
            Autoconf::Any => "any",
            Autoconf::Dhcp => "dhcp",
            Autoconf::Bootp => "bootp",
            Autoconf::Rarp => "rarp",
            Autoconf::Both => "both",
        }
    }
}

/// A parsed `ip=` value. Empty fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpParam {
    pub client: Option<Ipv4Addr>,
    pub server: Option<Ipv4Addr>,
    pub gateway: Option<Ipv4Addr>,
    /// Prefix length, from a dotted mask or a CIDR prefix.
    pub prefix: Option<u8>,
    pub hostname: Option<String>,
    pub device: Option<String>,
    /// `None` when the field is empty: the kernel then configures
    /// statically if a client address is given, else autoconfigures.
    pub autoconf: Option<Autoconf>,
    pub dns: Vec<Ipv4Addr>,
    pub ntp: Vec<Ipv4Addr>,
    /// dracut's `:<mtu>` after the autoconf field.
    pub mtu: Option<u16>,
    /// dracut's `:<macaddr>` after the MTU.
    pub mac: Option<MacAddr>,
    /// `dhcp6` or `auto6`, alone or in dracut's list (`dhcp,dhcp6`).
    pub ipv6: Option<Ipv6Mode>,
}

/// How IPv6 is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Mode {
    /// SLAAC from router advertisements.
    Auto6,
    /// Stateful DHCPv6 (the router's RA still gives the on-link prefix
    /// and the default route).
    Dhcp6,
}

impl Ipv6Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Ipv6Mode::Auto6 => "auto6",
            Ipv6Mode::Dhcp6 => "dhcp6",
        }
    }
}

const FIELD_NAMES: [&str; 10] = [
    "client-ip",
    "server-ip",
    "gw-ip",
    "netmask",
    "hostname",
    "device",
    "autoconf",
    "dns0-ip",
    "dns1-ip",
    "ntp0-ip",
];

/// Parses the value of `ip=`. The error is the text after `ip=: `.
pub fn parse_ip(value: &str) -> Result<IpParam, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(
            "empty value (want dhcp, off, or client:server:gw:mask:host:dev:autoconf)".into(),
        );
    }
    if !value.contains(':') {
        // `ip=dhcp`, also the kernel's `ip=dhcp,client-id-type,client-id`.
        let (autoconf, ipv6) = parse_autoconf(value)?;
        return Ok(IpParam {
            autoconf: Some(autoconf),
            ipv6,
            ..IpParam::default()
        });
    }
    let fields: Vec<&str> = value.split(':').collect();
    // dracut: `ip=<interface>:{dhcp|on|any|…}[:[<mtu>][:<macaddr>]]`
    if let (Some(dev), Some(word)) = (fields.first(), fields.get(1)) {
        if !dev.is_empty()
            && dev.parse::<Ipv4Addr>().is_err()
            && let Ok((autoconf, ipv6)) = parse_autoconf(word)
        {
            let mut p = IpParam {
                device: Some(check_device(dev)?),
                autoconf: Some(autoconf),
                ipv6,
                ..IpParam::default()
            };
            parse_dracut_tail(&fields[2..], 3, &mut p)?;
            return Ok(p);
        }
    }
    let mut p = IpParam::default();
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    p.client = opt_addr(field(0), 1)?;
    p.server = opt_addr(field(1), 2)?;
    p.gateway = opt_addr(field(2), 3)?;
    p.prefix = parse_mask(field(3))?;
    p.hostname = parse_hostname(field(4))?;
    p.device = if field(5).is_empty() {
        None
    } else {
        Some(check_device(field(5))?)
    };
    if !field(6).is_empty() {
        let (autoconf, ipv6) = parse_autoconf(field(6))?;
        (p.autoconf, p.ipv6) = (Some(autoconf), ipv6);
    }
    let tail = fields.get(7..).unwrap_or(&[]);
    // Kernel: dns0, dns1, ntp0. dracut instead allows `:<mtu>[:<macaddr>]`,
    // told apart by field 8 being a number rather than an address.
    let dracut_mtu = tail
        .first()
        .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if dracut_mtu {
        parse_dracut_tail(tail, 8, &mut p)?;
    } else {
        if fields.len() > 10 {
            return Err(format!("{} fields, at most 10 allowed", fields.len()));
        }
        p.dns = [opt_addr(field(7), 8)?, opt_addr(field(8), 9)?]
            .into_iter()
            .flatten()
            .collect();
        p.ntp = opt_addr(field(9), 10)?.into_iter().collect();
    }
    Ok(p)
}

/// `[<mtu>][:<macaddr>]`; the MAC itself contains colons.
fn parse_dracut_tail(tail: &[&str], first_field: usize, p: &mut IpParam) -> Result<(), String> {
    let Some((mtu, mac)) = tail.split_first() else {
        return Ok(());
    };
    if !mtu.is_empty() {
        let n: u16 = mtu
            .parse()
            .map_err(|_| format!("field {first_field} (mtu) '{mtu}' is not a number"))?;
        if !(68..=65535).contains(&n) {
            return Err(format!(
                "field {first_field} (mtu) '{mtu}' is out of range (68-65535)"
            ));
        }
        p.mtu = Some(n);
    }
    if !mac.is_empty() {
        let text = mac.join(":");
        p.mac = Some(
            text.parse()
                .map_err(|e| format!("field {} (macaddr): {e}", first_field + 1))?,
        );
    }
    Ok(())
}

/// One autoconf word, dracut's comma list of them (`dhcp,dhcp6`), or the
/// kernel's `dhcp,<client-id-type>,<client-id>` (only the first counts).
/// IPv6 words alone leave IPv4 off.
fn parse_autoconf(word: &str) -> Result<(Autoconf, Option<Ipv6Mode>), String> {
    let (mut v4, mut v6) = (None, None);
    for (i, w) in word.split(',').enumerate() {
        match (w, Autoconf::from_word(w)) {
            ("dhcp6", _) => v6 = Some(Ipv6Mode::Dhcp6),
            ("auto6", _) => v6 = v6.or(Some(Ipv6Mode::Auto6)),
            (_, Some(a)) if v4.is_none() => v4 = Some(a),
            ("either6" | "link6" | "single-dhcp" | "ibft", _) => {
                return Err(format!(
                    "autoconf '{w}' is not supported (use dhcp, dhcp6, auto6 or off)"
                ));
            }
            // The kernel's client-id fields after the first word.
            _ if i > 0 && v6.is_none() => break,
            _ => {
                return Err(format!(
                    "autoconf '{w}' is not one of off|none|static|on|any|dhcp|bootp|rarp|both|dhcp6|auto6"
                ));
            }
        }
    }
    Ok((v4.unwrap_or(Autoconf::Off), v6))
}

fn opt_addr(text: &str, field: usize) -> Result<Option<Ipv4Addr>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let name = FIELD_NAMES.get(field - 1).copied().unwrap_or("address");
    text.parse()
        .map(Some)
        .map_err(|_| format!("field {field} ({name}) '{text}' is not an IPv4 address"))
}

/// A dotted mask (contiguous ones) or a CIDR prefix length.
fn parse_mask(text: &str) -> Result<Option<u8>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let text = text.strip_prefix('/').unwrap_or(text);
    if let Ok(prefix) = text.parse::<u8>() {
        return if prefix <= 32 {
            Ok(Some(prefix))
        } else {
            Err(format!(
                "field 4 (netmask) '{text}' is not a valid prefix (0-32)"
            ))
        };
    }
    let mask: Ipv4Addr = text
        .parse()
        .map_err(|_| format!("field 4 (netmask) '{text}' is not a valid mask"))?;
    prefix_of(mask)
        .map(Some)
        .ok_or_else(|| format!("field 4 (netmask) '{text}' is not a valid mask"))
}

/// The prefix length of a contiguous netmask.
pub fn prefix_of(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// The kernel's default when no mask is given: the address class.
pub fn classful_prefix(addr: Ipv4Addr) -> u8 {
    match addr.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

fn parse_hostname(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let ok = text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(Some(text.to_owned()))
    } else {
        Err(format!(
            "field 5 (hostname) '{text}' is not a valid hostname"
        ))
    }
}

fn check_device(name: &str) -> Result<String, String> {
    // IFNAMSIZ is 16 including the NUL.
    let ok = name.len() < 16 && !name.contains(['/', ' ', '\\']) && name != "." && name != "..";
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "field 6 (device) '{name}' is not an interface name"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Ipv4Cidr;
    use proptest::prelude::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn ip_forms_table() {
        let dhcp = IpParam {
            autoconf: Some(Autoconf::Dhcp),
            ..IpParam::default()
        };
        let cases: Vec<(&str, IpParam)> = vec![
            ("dhcp", dhcp.clone()),
            ("dhcp,01,aabbcc", dhcp.clone()),
            ("::::::dhcp", dhcp.clone()),
            (
                "off",
                IpParam {
                    autoconf: Some(Autoconf::Off),
                    ..IpParam::default()
                },
            ),
            (
                "on",
                IpParam {
                    autoconf: Some(Autoconf::Any),
                    ..IpParam::default()
                },
            ),
            (
                "eth0:dhcp",
                IpParam {
                    device: Some("eth0".into()),
                    ..dhcp.clone()
                },
            ),
            (
                "enp1s0:dhcp:9000:52:54:00:12:34:56",
                IpParam {
                    device: Some("enp1s0".into()),
                    mtu: Some(9000),
                    mac: Some("52:54:00:12:34:56".parse().unwrap()),
                    ..dhcp.clone()
                },
            ),
            (
                ":::::eth1:dhcp",
                IpParam {
                    device: Some("eth1".into()),
                    ..dhcp.clone()
                },
            ),
            (
                "10.77.0.50:10.77.0.1:10.77.0.1:24",
                IpParam {
                    client: Some(a("10.77.0.50")),
                    server: Some(a("10.77.0.1")),
                    gateway: Some(a("10.77.0.1")),
                    prefix: Some(24),
                    ..IpParam::default()
                },
            ),
            (
                "10.0.0.5:10.0.0.1:10.0.0.254:255.255.0.0:node5:eth0:off:10.0.0.2:10.0.0.3:10.0.0.4",
                IpParam {
                    client: Some(a("10.0.0.5")),
                    server: Some(a("10.0.0.1")),
                    gateway: Some(a("10.0.0.254")),
                    prefix: Some(16),
                    hostname: Some("node5".into()),
                    device: Some("eth0".into()),
                    autoconf: Some(Autoconf::Off),
                    dns: vec![a("10.0.0.2"), a("10.0.0.3")],
                    ntp: vec![a("10.0.0.4")],
                    mtu: None,
                    mac: None,
                    ipv6: None,
                },
            ),
            (
                "10.0.0.5::10.0.0.1:/20:::none:1500",
                IpParam {
                    client: Some(a("10.0.0.5")),
                    gateway: Some(a("10.0.0.1")),
                    prefix: Some(20),
                    autoconf: Some(Autoconf::Off),
                    mtu: Some(1500),
                    ..IpParam::default()
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_ip(text), Ok(want), "ip={text}");
        }
    }

    #[test]
    fn ipv6_words() {
        use Ipv6Mode::*;
        for (text, v4, v6, dev) in [
            ("dhcp6", Autoconf::Off, Some(Dhcp6), None),
            ("auto6", Autoconf::Off, Some(Auto6), None),
            ("dhcp,dhcp6", Autoconf::Dhcp, Some(Dhcp6), None),
            ("auto6,dhcp", Autoconf::Dhcp, Some(Auto6), None),
            ("auto6,dhcp6", Autoconf::Off, Some(Dhcp6), None),
            ("dhcp,1,node5", Autoconf::Dhcp, None, None),
            ("eth0:dhcp6", Autoconf::Off, Some(Dhcp6), Some("eth0")),
            (
                "eth0:dhcp,auto6:1400",
                Autoconf::Dhcp,
                Some(Auto6),
                Some("eth0"),
            ),
            ("::::::dhcp6", Autoconf::Off, Some(Dhcp6), None),
        ] {
            let p = parse_ip(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (p.autoconf, p.ipv6, p.device.as_deref()),
                (Some(v4), v6, dev),
                "{text}"
            );
        }
    }

    #[test]
    fn ip_errors_name_the_field() {
        for (text, want) in [
            ("", "empty value"),
            ("dhcpx", "autoconf 'dhcpx' is not one of"),
            ("link6", "not supported"),
            ("dhcp6,nope", "autoconf 'nope'"),
            (
                "10.0.0.300::::::",
                "field 1 (client-ip) '10.0.0.300' is not an IPv4 address",
            ),
            (
                "10.0.0.5::x:24",
                "field 3 (gw-ip) 'x' is not an IPv4 address",
            ),
            (
                "10.0.0.5:::255.0.255.0",
                "field 4 (netmask) '255.0.255.0' is not a valid mask",
            ),
            (
                "10.0.0.5:::33",
                "field 4 (netmask) '33' is not a valid prefix",
            ),
            ("10.0.0.5::::bad_host", "field 5 (hostname)"),
            ("10.0.0.5:::::averyveryverylongname0", "field 6 (device)"),
            ("10.0.0.5::::::bogus", "autoconf 'bogus'"),
            (
                "1.2.3.4:::::::1.1.1.1:1.1.1.2:1.1.1.3:9",
                "11 fields, at most 10",
            ),
            ("eth0:dhcp:20", "field 3 (mtu) '20' is out of range"),
            ("eth0:dhcp::zz", "field 4 (macaddr)"),
        ] {
            let err = parse_ip(text).unwrap_err();
            assert!(err.contains(want), "ip={text}: {err}");
        }
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_of(a("255.255.255.0")), Some(24));
        assert_eq!(prefix_of(a("0.0.0.0")), Some(0));
        assert_eq!(prefix_of(a("255.255.255.255")), Some(32));
        assert_eq!(prefix_of(a("255.0.255.0")), None);
        assert_eq!(classful_prefix(a("10.1.2.3")), 8);
        assert_eq!(classful_prefix(a("172.16.0.1")), 16);
        assert_eq!(classful_prefix(a("192.168.1.1")), 24);
    }

    proptest! {
        #[test]
        fn parse_ip_never_panics(text in "\\PC*") {
            let _ = parse_ip(&text);
        }

        #[test]
        fn parse_ip_never_panics_on_field_soup(fields in proptest::collection::vec("[0-9a-z./]{0,6}", 0..13)) {
            let _ = parse_ip(&fields.join(":"));
        }

        #[test]
        fn every_contiguous_mask_round_trips(prefix in 0u8..=32) {
            let c = Ipv4Cidr { addr: Ipv4Addr::new(10, 0, 0, 1), prefix };
            prop_assert_eq!(prefix_of(c.netmask()), Some(prefix));
            let dotted = format!("10.0.0.1:::{}", c.netmask());
            prop_assert_eq!(parse_ip(&dotted).map(|p| p.prefix), Ok(Some(prefix)));
        }
    }
}
