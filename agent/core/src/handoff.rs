//! What the booted system needs to take over the network without ever
//! taking the root's link down: renderers for every file netinit writes.
//! Pure; `netinit/src/root/handoff.rs` decides where they go.
//!
//! The address has an infinite lifetime (see
//! docs/decisions/0008-lease-expiry.md), so nothing here depends on a
//! client renewing in time; networkd and netplan are still told to keep
//! renewing the same lease with the same client id.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::net::{NetState, Proto};
use crate::netdev::{Bond, Vlan};
use crate::plan::ResolvedRoot;

/// klibc's quoting: single quotes, with `'` and `!` escaped git-style.
fn quote(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        match c {
            '\'' | '!' => {
                out.push_str("'\\");
                out.push(c);
                out.push('\'');
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn addr_or_zero(a: Option<Ipv4Addr>) -> String {
    a.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string()
}

/// `/run/net-IFACE.conf` exactly as klibc's ipconfig writes it; Debian's
/// and Ubuntu's initramfs-tools, casper and live-boot source this file.
pub fn klibc_net_conf(s: &NetState, root: Option<&ResolvedRoot>, uptime_secs: u64) -> String {
    let proto = match s.proto {
        Proto::Dhcp => "dhcp",
        Proto::Static => "none",
    };
    let fields: [(&str, String); 17] = [
        ("DEVICE", s.interface.clone()),
        ("PROTO", proto.to_owned()),
        ("IPV4ADDR", s.address.addr.to_string()),
        (
            "IPV4BROADCAST",
            s.broadcast
                .unwrap_or_else(|| s.address.broadcast())
                .to_string(),
        ),
        ("IPV4NETMASK", s.address.netmask().to_string()),
        ("IPV4GATEWAY", addr_or_zero(s.gateway)),
        ("IPV4DNS0", addr_or_zero(s.dns.first().copied())),
        ("IPV4DNS1", addr_or_zero(s.dns.get(1).copied())),
        ("HOSTNAME", s.hostname.clone().unwrap_or_default()),
        ("DNSDOMAIN", s.domain.clone().unwrap_or_default()),
        ("NISDOMAIN", String::new()),
        (
            "ROOTSERVER",
            // klibc's file is IPv4 only, and its readers paste ROOTSERVER
            // before `:path`: an IPv6 root server is left to the plan.
            addr_or_zero(
                root.and_then(|r| match r.server {
                    std::net::IpAddr::V4(a) => Some(a),
                    std::net::IpAddr::V6(_) => None,
                })
                .or(s.next_server)
                .or(s.server_id),
            ),
        ),
        (
            "ROOTPATH",
            root.map(|r| r.path.clone())
                .or_else(|| s.root_path.clone())
                .unwrap_or_default(),
        ),
        ("filename", s.bootfile.clone().unwrap_or_default()),
        ("UPTIME", uptime_secs.to_string()),
        (
            "DHCPLEASETIME",
            s.lease.map_or(0, |l| l.lease_secs).to_string(),
        ),
        ("DOMAINSEARCH", s.search.join(" ")),
    ];
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}\n", quote(v)))
        .collect()
}

/// `/run/net6-IFACE.conf` with the keys Ubuntu's initramfs-tools writes
/// after DHCPv6 (and cloud-init reads). IPV6PROTO is `dhcp6` or, for
/// SLAAC, `none`: readers know only `none`, `dhcp` and `dhcp6`, and `none`
/// (a fixed address) is what keeps the address in place.
pub fn klibc_net6_conf(s: &NetState) -> Option<String> {
    let v6 = s.ipv6.as_ref()?;
    let dns = |i: usize| v6.dns.get(i).map(|d| d.to_string()).unwrap_or_default();
    let proto = if v6.method == "dhcp6" {
        "dhcp6"
    } else {
        "none"
    };
    let fields: [(&str, String); 9] = [
        ("DEVICE6", s.interface.clone()),
        ("IPV6PROTO", proto.to_owned()),
        ("IPV6ADDR", v6.address.to_string()),
        ("IPV6NETMASK", v6.prefix.to_string()),
        ("IPV6DNS0", dns(0)),
        ("IPV6DNS1", dns(1)),
        ("IPV6DOMAINSEARCH", v6.search.join(" ")),
        ("HOSTNAME", s.hostname.clone().unwrap_or_default()),
        ("DNSDOMAIN", s.domain.clone().unwrap_or_default()),
    ];
    Some(
        fields
            .iter()
            .map(|(k, v)| format!("{k}={}\n", quote(v)))
            .collect(),
    )
}

pub use crate::net::valid_hostname;

/// Whether a DNS domain from DHCP may go on resolv.conf's `search` line:
/// at most 253 bytes of dot-separated labels of letters, digits, `-` and
/// `_`. Anything else (spaces, `;`, a server's garbage) would add words or
/// break the line for every resolver in the booted system.
pub fn valid_domain(name: &str) -> bool {
    name.len() <= 253
        && !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `/etc/resolv.conf`; `None` when there is nothing to say. Domains that
/// are not [`valid_domain`] are left out.
pub fn resolv_conf(s: &NetState) -> Option<String> {
    let mut candidates: Vec<&str> = if s.search.is_empty() {
        s.domain.iter().map(String::as_str).collect()
    } else {
        s.search.iter().map(String::as_str).collect()
    };
    let v6 = s.ipv6.as_ref();
    for d in v6.iter().flat_map(|v| v.search.iter()) {
        if !candidates.contains(&d.as_str()) {
            candidates.push(d);
        }
    }
    let search: Vec<&str> = candidates.into_iter().filter(|d| valid_domain(d)).collect();
    // IPv4 servers first, then IPv6; resolvers read at most three.
    let dns: Vec<String> = s
        .dns
        .iter()
        .map(|d| d.to_string())
        .chain(v6.iter().flat_map(|v| v.dns.iter().map(|d| d.to_string())))
        .take(3)
        .collect();
    if dns.is_empty() && search.is_empty() {
        return None;
    }
    let mut out = String::from("# written by netinit from the boot-time network configuration\n");
    if !search.is_empty() {
        let _ = writeln!(out, "search {}", search.join(" "));
    }
    for d in dns {
        let _ = writeln!(out, "nameserver {d}");
    }
    Some(out)
}

/// NetworkManager: leave the root interface alone. `unmanaged` is the
/// only setting that guarantees NM never deconfigures it (a keep-config
/// profile still lets NM restart the device on a profile change).
pub fn networkmanager_conf(s: &NetState) -> String {
    format!(
        "# written by netinit: {iface} carries the root filesystem; NetworkManager must not touch it.\n\
         [keyfile]\nunmanaged-devices=mac:{mac};interface-name:{iface}\n",
        iface = s.interface,
        mac = s.mac
    )
}

/// systemd-networkd: adopt the interface, keep what netinit configured,
/// and renew the same lease (same client id: the MAC, as netinit sent).
pub fn networkd_unit(s: &NetState) -> String {
    let mut out = format!(
        "# written by netinit: {iface} carries the root filesystem.\n\
         [Match]\nMACAddress={mac}\n\n[Link]\nRequiredForOnline=yes\n\n[Network]\nKeepConfiguration=yes\n\
         # A carrier blip must not drop the address under the root.\nIgnoreCarrierLoss=yes\n",
        iface = s.interface,
        mac = s.mac
    );
    let v6 = s.ipv6.as_ref().map(|v| v.method);
    if v6.is_some() {
        out.push_str("IPv6AcceptRA=yes\n");
    }
    if v6 == Some("dhcp6") && s.proto == Proto::Static {
        out.push_str("DHCP=ipv6\n");
    }
    match s.proto {
        Proto::Dhcp => {
            let which = if v6 == Some("dhcp6") { "yes" } else { "ipv4" };
            let _ = writeln!(
                out,
                "DHCP={which}\n\n[DHCPv4]\nClientIdentifier=mac\n# Never release the lease: the root is on this address.\nSendRelease=no"
            );
        }
        // IPv6 alone: no IPv4 address to pin.
        Proto::Static if s.address.addr.is_unspecified() => {}
        Proto::Static => {
            let _ = writeln!(out, "Address={}", s.address);
            if let Some(gw) = s.gateway {
                let _ = writeln!(out, "Gateway={gw}");
            }
            for d in &s.dns {
                let _ = writeln!(out, "DNS={d}");
            }
        }
    }
    out
}

/// netplan: `critical: true` tells the generated backend never to take
/// the interface down. The id is the interface name, as Ubuntu's own
/// initramfs-tools writes it, so netplan merges it with the distribution's
/// definition of the same interface instead of racing it.
pub fn netplan_yaml(s: &NetState) -> String {
    let mut out = format!(
        "# written by netinit: {iface} carries the root filesystem.\nnetwork:\n  version: 2\n  ethernets:\n    {id}:\n      match:\n        macaddress: \"{mac}\"\n      critical: true\n",
        iface = s.interface.replace(char::is_control, "?"),
        id = yaml_key(&s.interface),
        mac = s.mac
    );
    match s.ipv6.as_ref().map(|v| v.method) {
        Some("dhcp6") => out.push_str("      dhcp6: true\n      accept-ra: true\n"),
        Some(_) => out.push_str("      accept-ra: true\n"),
        None => {}
    }
    match s.proto {
        Proto::Dhcp => out.push_str("      dhcp4: true\n      dhcp-identifier: mac\n"),
        Proto::Static if s.address.addr.is_unspecified() => {}
        Proto::Static => {
            let _ = writeln!(out, "      addresses: [\"{}\"]", s.address);
            if let Some(gw) = s.gateway {
                let _ = writeln!(
                    out,
                    "      routes:\n        - to: default\n          via: {gw}"
                );
            }
            if !s.dns.is_empty() {
                let dns: Vec<String> = s.dns.iter().map(|d| d.to_string()).collect();
                let _ = writeln!(
                    out,
                    "      nameservers:\n        addresses: [{}]",
                    dns.join(", ")
                );
            }
        }
    }
    out
}

/// The bond and VLAN under a boot interface that netinit made: the VLAN
/// (if the interface is one), then the bond (the interface, or the
/// VLAN's parent). Empty for a plain NIC.
pub fn lower_links<'a>(
    iface: &str,
    vlans: &'a [Vlan],
    bonds: &'a [Bond],
) -> (Option<&'a Vlan>, Option<&'a Bond>) {
    let vlan = vlans.iter().find(|v| v.name == iface);
    let under = vlan.map_or(iface, |v| v.parent.as_str());
    (vlan, bonds.iter().find(|b| b.name == under))
}

/// systemd-networkd files for a boot interface that is a VLAN or a bond,
/// as (file name, text): the `.netdev`s that name what netinit made
/// (networkd adopts a netdev that already exists and keeps it up), the
/// lower links' `.network`s, and the boot interface's own unit matched
/// by name, since a bond's slaves and a VLAN's parent share its MAC.
pub fn networkd_links(s: &NetState, vlans: &[Vlan], bonds: &[Bond]) -> Vec<(String, String)> {
    let (vlan, bond) = lower_links(&s.interface, vlans, bonds);
    if vlan.is_none() && bond.is_none() {
        return Vec::new();
    }
    let head = "# written by netinit: the root filesystem rides on this link.\n";
    let mut out = Vec::new();
    let mut unit = |name: &str, ext: &str, body: String| {
        out.push((format!("10-netinit-{name}.{ext}"), format!("{head}{body}")));
    };
    if let Some(b) = bond {
        unit(&b.name, "netdev", bond_netdev(b));
        let primary = b.options.iter().find_map(|o| match &o.value {
            crate::netdev::BondValue::Link(l) => Some(l.as_str()),
            _ => None,
        });
        for sl in &b.slaves {
            let mut body = format!("[Match]\nName={sl}\n\n[Network]\nBond={}\n", b.name);
            if primary == Some(sl.as_str()) {
                body.push_str("PrimarySlave=yes\n");
            }
            unit(sl, "network", body);
        }
    }
    if let Some(v) = vlan {
        unit(
            &v.name,
            "netdev",
            format!(
                "[NetDev]\nName={}\nKind=vlan\n\n[VLAN]\nId={}\n",
                v.name, v.id
            ),
        );
        let mut body = format!(
            "[Match]\nName={}\n\n[Network]\nVLAN={}\nKeepConfiguration=yes\nIgnoreCarrierLoss=yes\n",
            v.parent, v.name
        );
        if bond.is_none() {
            body.push_str("LinkLocalAddressing=no\n");
        }
        unit(&v.parent, "network", body);
    }
    let main = networkd_unit(s).replacen(
        &format!("MACAddress={}", s.mac),
        &format!("Name={}", s.interface),
        1,
    );
    out.push((format!("10-netinit-{}.network", s.interface), main));
    out
}

/// A bond's `.netdev`: its options under networkd's names (the ones
/// networkd has no key for are left out), and its MTU.
fn bond_netdev(b: &Bond) -> String {
    let mut dev = format!("[NetDev]\nName={}\nKind=bond\n\n[Bond]\n", b.name);
    for o in &b.options {
        let text = o.to_string();
        let v = text.split_once('=').map_or("", |x| x.1);
        let key = match o.name {
            "mode" => "Mode",
            "miimon" => "MIIMonitorSec",
            "updelay" => "UpDelaySec",
            "downdelay" => "DownDelaySec",
            "lacp_rate" => "LACPTransmitRate",
            "xmit_hash_policy" => "TransmitHashPolicy",
            "ad_select" => "AdSelect",
            "fail_over_mac" => "FailOverMACPolicy",
            "min_links" => "MinLinks",
            "primary_reselect" => "PrimaryReselectPolicy",
            "arp_interval" => "ARPIntervalSec",
            "arp_validate" => "ARPValidate",
            "arp_all_targets" => "ARPAllTargets",
            "arp_ip_target" => "ARPIPTargets",
            _ => continue,
        };
        let v = match o.name {
            "miimon" | "updelay" | "downdelay" | "arp_interval" => format!("{v}ms"),
            "arp_ip_target" => v.replace(';', " "),
            _ => v.to_owned(),
        };
        let _ = writeln!(dev, "{key}={v}");
    }
    if let Some(m) = b.mtu {
        let _ = write!(dev, "\n[Link]\nMTUBytes={m}\n");
    }
    dev
}

/// netplan for a boot interface that is a VLAN or a bond: the slaves or
/// parent under `ethernets`, the bond under `bonds`, the VLAN under
/// `vlans`, the boot interface `critical` with its address as
/// [`netplan_yaml`] writes it. `None` for a plain NIC.
pub fn netplan_links_yaml(s: &NetState, vlans: &[Vlan], bonds: &[Bond]) -> Option<String> {
    let (vlan, bond) = lower_links(&s.interface, vlans, bonds);
    if vlan.is_none() && bond.is_none() {
        return None;
    }
    // The address part of the plain rendering, re-indented under its new key.
    let plain = netplan_yaml(s);
    let addr_part = plain
        .split_once("      critical: true\n")
        .map_or("", |x| x.1);
    let mut out = format!(
        "# written by netinit: {} carries the root filesystem.\nnetwork:\n  version: 2\n  ethernets:\n",
        s.interface.replace(char::is_control, "?")
    );
    let ethernets: Vec<&str> = match (bond, vlan) {
        (Some(b), _) => b.slaves.iter().map(String::as_str).collect(),
        (None, Some(v)) => vec![v.parent.as_str()],
        (None, None) => Vec::new(),
    };
    for e in ethernets {
        let _ = writeln!(out, "    {}: {{}}", yaml_key(e));
    }
    let boot = |out: &mut String| {
        out.push_str("      critical: true\n");
        out.push_str(addr_part);
    };
    if let Some(b) = bond {
        let _ = write!(
            out,
            "  bonds:\n    {}:\n      interfaces: [",
            yaml_key(&b.name)
        );
        let sl: Vec<String> = b.slaves.iter().map(|x| yaml_key(x)).collect();
        let _ = writeln!(out, "{}]", sl.join(", "));
        let params: Vec<String> = b
            .options
            .iter()
            .filter_map(|o| {
                let text = o.to_string();
                let (k, v) = text.split_once('=')?;
                let key = match k {
                    "mode" | "primary" => k.to_owned(),
                    "miimon" => "mii-monitor-interval".to_owned(),
                    "lacp_rate" => "lacp-rate".to_owned(),
                    "xmit_hash_policy" => "transmit-hash-policy".to_owned(),
                    "updelay" => "up-delay".to_owned(),
                    "downdelay" => "down-delay".to_owned(),
                    "min_links" => "min-links".to_owned(),
                    "ad_select" => "ad-select".to_owned(),
                    _ => return None,
                };
                Some(format!("        {key}: \"{v}\"\n"))
            })
            .collect();
        if !params.is_empty() {
            out.push_str("      parameters:\n");
            out.extend(params);
        }
        if let Some(m) = b.mtu {
            let _ = writeln!(out, "      mtu: {m}");
        }
        if vlan.is_none() {
            boot(&mut out);
        }
    }
    if let Some(v) = vlan {
        let _ = write!(
            out,
            "  vlans:\n    {}:\n      id: {}\n      link: {}\n",
            yaml_key(&v.name),
            v.id,
            yaml_key(&v.parent)
        );
        boot(&mut out);
    }
    Some(out)
}

/// A YAML mapping key for an interface name: plain when it is ordinary,
/// else double-quoted. The kernel allows names like `*x` or `a#b`, which a
/// plain scalar would turn into an alias or a comment, and `0.` or `on`,
/// which a YAML 1.1 reader would take for a number or a boolean.
fn yaml_key(name: &str) -> String {
    const NOT_STRINGS: [&str; 11] = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !NOT_STRINGS.contains(&name.to_ascii_lowercase().as_str())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if plain {
        return name.to_owned();
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// ifupdown: `manual`, so `ifup -a` / `ifdown -a` leave it configured.
pub fn ifupdown_stanza(s: &NetState) -> String {
    format!(
        "# written by netinit: {iface} carries the root filesystem; ifupdown must not touch it.\niface {iface} inet manual\n",
        iface = s.interface
    )
}

/// dhcpcd (Arch's default DHCP client): `denyinterfaces IFACE` in
/// /etc/dhcpcd.conf, the ArchWiki's fix for NFS roots. dhcpcd then skips
/// the interface when it discovers interfaces, and refuses it when named
/// on its command line (`dhcpcd@IFACE.service`: "interface has an invalid
/// configuration"). dhcpcd has no drop-in directory, so the file itself
/// is edited. `None`: already denied, nothing to write.
pub fn dhcpcd_conf(existing: Option<&str>, iface: &str) -> Option<String> {
    let text = existing.unwrap_or("");
    let denied = text.lines().any(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some("denyinterfaces") && w.any(|p| p == iface)
    });
    if denied {
        return None;
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let _ = write!(
        out,
        "# written by netinit: {iface} carries the root filesystem; dhcpcd must not touch it.\ndenyinterfaces {iface}\n"
    );
    Some(out)
}

/// connman's own blacklist when main.conf doesn't set one (connman 1.41).
/// Setting the key replaces it, so it is kept.
pub const CONNMAN_DEFAULT_BLACKLIST: &str = "vmnet,vboxnet,virbr,ifb,ve-,vb-";

/// connman: add IFACE to `NetworkInterfaceBlacklist` in the `[General]`
/// group of /etc/connman/main.conf (connman reads no drop-ins). Entries
/// are name prefixes. `None`: already listed.
pub fn connman_main_conf(existing: Option<&str>, iface: &str) -> Option<String> {
    let text = existing.unwrap_or("");
    let note = format!(
        "# written by netinit: {iface} carries the root filesystem; connman must not touch it."
    );
    let mut out = Vec::new();
    let mut group = String::new();
    let mut done = false;
    let mut saw_general = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            // Leaving [General] without the key: add it before the next group.
            if group == "General" && !done {
                out.push(note.clone());
                out.push(format!(
                    "NetworkInterfaceBlacklist = {CONNMAN_DEFAULT_BLACKLIST},{iface}"
                ));
                done = true;
            }
            group = t[1..t.len() - 1].trim().to_owned();
            saw_general |= group == "General";
            out.push(line.to_owned());
            continue;
        }
        if group == "General" && !done {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == "NetworkInterfaceBlacklist" {
                    let list: Vec<&str> = v
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .collect();
                    if list.contains(&iface) {
                        return None;
                    }
                    let mut list = list.join(",");
                    if !list.is_empty() {
                        list.push(',');
                    }
                    out.push(note.clone());
                    out.push(format!("NetworkInterfaceBlacklist = {list}{iface}"));
                    done = true;
                    continue;
                }
            }
        }
        out.push(line.to_owned());
    }
    if !done {
        if !saw_general {
            out.push("[General]".to_owned());
        }
        out.push(note);
        out.push(format!(
            "NetworkInterfaceBlacklist = {CONNMAN_DEFAULT_BLACKLIST},{iface}"
        ));
    }
    let mut s = out.join("\n");
    s.push('\n');
    Some(s)
}

/// netctl leaves an interface alone unless a profile for it is started
/// (an enabled `netctl@PROFILE`, `netctl-ifplugd@IFACE` or
/// `netctl-auto@IFACE`); stopping one flushes the address and sets the
/// link down. A runtime drop-in (under /run, so the root is not edited)
/// keeps such units from starting while netinit's state file exists.
pub fn netctl_dropin(iface: &str) -> String {
    format!(
        "# written by netinit: {iface} carries the root filesystem; netctl must not take it down.\n\
         [Unit]\nConditionPathExists=!/run/netinit/net.json\n"
    )
}

/// The netctl profiles (name, text) whose `Interface=` is `iface`.
pub fn netctl_profiles_for<'a>(profiles: &'a [(String, String)], iface: &str) -> Vec<&'a str> {
    profiles
        .iter()
        .filter(|(_, text)| {
            text.lines().any(|l| {
                l.trim()
                    .strip_prefix("Interface=")
                    .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"'))
                    == Some(iface)
            })
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// A unit instance name as `systemd-escape` writes it (netctl enables
/// `netctl@$(systemd-escape PROFILE).service`).
pub fn systemd_escape(s: &str) -> String {
    let mut out = String::new();
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i == 0 => out.push_str("\\x2e"),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b':' | b'_' | b'.' => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// Whether an ifupdown interfaces file already has a stanza for `iface`
/// (adding a second one makes ifupdown refuse the whole file).
pub fn ifupdown_mentions(interfaces: &str, iface: &str) -> bool {
    interfaces.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        matches!(w.as_slice(), ["iface", name, ..] if *name == iface)
    })
}

/// Whether an ifupdown interfaces file sources `interfaces.d`.
pub fn ifupdown_sources_dir(interfaces: &str) -> bool {
    interfaces.lines().any(|l| {
        let l = l.trim();
        (l.starts_with("source ") || l.starts_with("source-directory "))
            && l.contains("interfaces.d")
    })
}

#[cfg(test)]
mod tests {
    // Goldens per renderer and per state: each spells its whole file, so
    // tests that look alike are meant to.
    use super::*;

    use crate::net::{LeaseTimes, MacAddr};
    use crate::plan::NfsVersion;
    use proptest::prelude::*;

    fn dhcp_state() -> NetState {
        NetState {
            mac: MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            broadcast: Some(Ipv4Addr::new(10, 77, 0, 255)),
            gateway: Some(Ipv4Addr::new(10, 77, 0, 1)),
            server_id: Some(Ipv4Addr::new(10, 77, 0, 1)),
            next_server: Some(Ipv4Addr::new(10, 77, 0, 1)),
            dns: vec![Ipv4Addr::new(10, 77, 0, 2)],
            domain: Some("lab.test".into()),
            search: vec!["lab.test".into(), "example.test".into()],
            hostname: Some("node'1".into()),
            root_path: Some("/export/casper".into()),
            bootfile: Some("pxelinux.0".into()),
            lease: Some(LeaseTimes {
                lease_secs: 3600,
                t1_secs: 1800,
                t2_secs: 3150,
                bound_at_ms: 1200,
            }),
            ..crate::fixtures::net_state()
        }
    }

    #[test]
    fn klibc_format_golden() {
        let root = ResolvedRoot {
            server: Ipv4Addr::new(10, 77, 0, 1).into(),
            path: "/export/casper".into(),
            options: vec![],
            version: NfsVersion::V3,
            server_from: crate::plan::ServerSource::Cmdline,
            options_from: Vec::new(),
            refused: Vec::new(),
            servers: Vec::new(),
        };
        assert_eq!(
            klibc_net_conf(&dhcp_state(), Some(&root), 3),
            "DEVICE='eth0'\nPROTO='dhcp'\nIPV4ADDR='10.77.0.100'\nIPV4BROADCAST='10.77.0.255'\nIPV4NETMASK='255.255.255.0'\n\
             IPV4GATEWAY='10.77.0.1'\nIPV4DNS0='10.77.0.2'\nIPV4DNS1='0.0.0.0'\nHOSTNAME='node'\\''1'\nDNSDOMAIN='lab.test'\n\
             NISDOMAIN=''\nROOTSERVER='10.77.0.1'\nROOTPATH='/export/casper'\nfilename='pxelinux.0'\nUPTIME='3'\n\
             DHCPLEASETIME='3600'\nDOMAINSEARCH='lab.test example.test'\n"
        );
    }

    #[test]
    fn klibc_conf_is_valid_shell() {
        let mut s = dhcp_state();
        s.hostname = Some("we!rd'name".into());
        let text = klibc_net_conf(&s, None, 0);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{text}\nprintf %s \"$HOSTNAME|$PROTO|$ROOTPATH\""))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "we!rd'name|dhcp|/export/casper"
        );
    }

    fn dual_stack() -> NetState {
        let mut s = dhcp_state();
        s.ipv6 = Some(crate::net::Net6 {
            method: "dhcp6",
            address: "fd00:77::150".parse().unwrap(),
            prefix: 128,
            gateway: Some("fe80::1".parse().unwrap()),
            dns: vec!["fd00:77::1".parse().unwrap()],
            search: vec!["v6.example".into(), "bad domain".into()],
            bootfile_url: None,
            valid_secs: 7200,
            preferred_secs: 3600,
            lease: None,
        });
        s
    }

    #[test]
    fn ipv6_hand_off() {
        assert_eq!(klibc_net6_conf(&dhcp_state()), None);
        let s = dual_stack();
        let text = klibc_net6_conf(&s).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{text}\nprintf %s \"$DEVICE6|$IPV6PROTO|$IPV6ADDR|$IPV6NETMASK|$IPV6DNS0|$IPV6DOMAINSEARCH\""
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "eth0|dhcp6|fd00:77::150|128|fd00:77::1|v6.example bad domain"
        );
        let r = resolv_conf(&s).unwrap();
        assert!(
            r.contains("nameserver 10.77.0.2\nnameserver fd00:77::1\n"),
            "{r}"
        );
        assert!(r.contains(" v6.example\n") && !r.contains("bad"), "{r}");
        let n = networkd_unit(&s);
        assert!(
            n.contains("IPv6AcceptRA=yes\n") && n.contains("DHCP=yes\n"),
            "{n}"
        );
        let mut only6 = static_state();
        only6.address.addr = Ipv4Addr::UNSPECIFIED;
        only6.address.prefix = 0;
        only6.gateway = None;
        only6.ipv6 = s.ipv6.clone();
        let n = networkd_unit(&only6);
        assert!(n.contains("DHCP=ipv6\n") && !n.contains("0.0.0.0"), "{n}");
        let y = netplan_yaml(&only6);
        assert!(y.contains("dhcp6: true") && !y.contains("0.0.0.0"), "{y}");
    }

    #[test]
    fn hostnames() {
        for ok in ["node1", "node-1.lab.test", "a", &"a".repeat(64)] {
            assert!(valid_hostname(ok), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            "-a",
            "a b",
            "a/b",
            "ä",
            &"a".repeat(65),
        ] {
            assert!(!valid_hostname(bad), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Whatever DHCP sends, sourcing the klibc file gives the values back.
        #[test]
        fn klibc_conf_round_trips_through_sh(
            hostname in "[^\\x00]{0,16}",
            domain in "[ -~]{0,16}",
        ) {
            let mut s = dhcp_state();
            s.hostname = Some(hostname.clone());
            s.domain = Some(domain.clone());
            let text = klibc_net_conf(&s, None, 0);
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{text}\nprintf '%s\\0%s' \"$HOSTNAME\" \"$DNSDOMAIN\""))
                .output()
                .unwrap();
            prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            prop_assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{hostname}\0{domain}"));
        }
    }

    /// The variables a file defines when sourced by the system's sh
    /// (dash on Debian): exported names and values, minus sh's own.
    fn sourced(text: &str) -> Vec<(String, String)> {
        let dir = std::env::temp_dir().join(format!(
            "netinit-klibc-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("net-eth0.conf");
        std::fs::write(&file, text).unwrap();
        // NUL-separated `set -a` exports: values may hold newlines.
        let env = |script: &str| {
            let out = std::process::Command::new("env")
                .args(["-i", "sh", "-c", script, "sh"])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            text.split('\0')
                .filter(|kv| !kv.is_empty())
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        };
        let base = env("exec env -0");
        let all = env("set -a; . \"$1\"; exec env -0");
        std::fs::remove_dir_all(&dir).unwrap();
        let mut vars: Vec<_> = all.into_iter().filter(|kv| !base.contains(kv)).collect();
        vars.sort();
        vars
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Hostile DHCP text (shell metacharacters, quotes, newlines) sourced
        /// by a real sh defines exactly klibc's 17 variables, with the
        /// values as given, and runs nothing.
        #[test]
        fn klibc_conf_defines_exactly_its_keys(
            hostname in "[^\\x00]{0,24}",
            domain in "[^\\x00]{0,24}",
            root_path in "[^\\x00]{0,24}",
            search in proptest::collection::vec("[^\\x00 ]{1,8}", 0..3),
        ) {
            let mut s = dhcp_state();
            s.hostname = Some(hostname.clone());
            s.domain = Some(domain.clone());
            s.root_path = Some(root_path.clone());
            s.search = search.clone();
            let vars = sourced(&klibc_net_conf(&s, None, 9));
            let mut want = vec![
                ("DEVICE", "eth0".to_owned()),
                ("PROTO", "dhcp".into()),
                ("IPV4ADDR", "10.77.0.100".into()),
                ("IPV4BROADCAST", "10.77.0.255".into()),
                ("IPV4NETMASK", "255.255.255.0".into()),
                ("IPV4GATEWAY", "10.77.0.1".into()),
                ("IPV4DNS0", "10.77.0.2".into()),
                ("IPV4DNS1", "0.0.0.0".into()),
                ("HOSTNAME", hostname),
                ("DNSDOMAIN", domain),
                ("NISDOMAIN", String::new()),
                ("ROOTSERVER", "10.77.0.1".into()),
                ("ROOTPATH", root_path),
                ("filename", "pxelinux.0".into()),
                ("UPTIME", "9".into()),
                ("DHCPLEASETIME", "3600".into()),
                ("DOMAINSEARCH", search.join(" ")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Vec<_>>();
            want.sort();
            prop_assert_eq!(vars, want);
        }
    }

    /// netplan's YAML, loaded by PyYAML (libyaml, as netplan itself uses),
    /// as canonical JSON.
    fn yaml_as_json(text: &str) -> String {
        use std::io::Write as _;
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn netplan_yaml_parses() {
        assert_eq!(
            yaml_as_json(&netplan_yaml(&dhcp_state())),
            r#"{"network": {"ethernets": {"eth0": {"critical": true, "dhcp-identifier": "mac", "dhcp4": true, "match": {"macaddress": "52:54:00:12:34:56"}}}, "version": 2}}"#
        );
        assert_eq!(
            yaml_as_json(&netplan_yaml(&static_state())),
            r#"{"network": {"ethernets": {"eth0": {"addresses": ["10.77.0.100/24"], "critical": true, "match": {"macaddress": "52:54:00:12:34:56"}, "nameservers": {"addresses": ["10.77.0.2"]}, "routes": [{"to": "default", "via": "10.77.0.1"}]}}, "version": 2}}"#
        );
    }

    /// Names a YAML 1.1 reader would take for a number, a boolean or null
    /// are quoted, so the key reads back as the name.
    #[test]
    fn netplan_keys_that_look_like_other_scalars_stay_strings() {
        for name in ["0.", "123", "1e5", "on", "No", "null", "eth0"] {
            let mut s = dhcp_state();
            s.interface = name.into();
            let json = yaml_as_json(&netplan_yaml(&s));
            assert!(
                json.contains(&format!("{{\"{name}\": {{")),
                "{name} -> {json}"
            );
        }
        assert_eq!(yaml_key("eth0"), "eth0");
        assert_eq!(yaml_key("0."), "\"0.\"");
    }

    #[test]
    fn bond_and_vlan_hand_off() {
        use crate::netdev::{parse_bond, parse_vlan};
        let bonds = [parse_bond(Some(
            "bond0:eth0,eth1:mode=active-backup,miimon=100,primary=eth1",
        ))
        .unwrap()];
        let vlans = [parse_vlan("bond0.100:bond0").unwrap()];
        let mut s = dhcp_state();
        s.interface = "bond0.100".into();
        let files = networkd_links(&s, &vlans, &bonds);
        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "10-netinit-bond0.netdev",
                "10-netinit-eth0.network",
                "10-netinit-eth1.network",
                "10-netinit-bond0.100.netdev",
                "10-netinit-bond0.network",
                "10-netinit-bond0.100.network"
            ]
        );
        assert!(files[0].1.ends_with("[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\n"), "{}", files[0].1);
        assert!(files[2].1.ends_with("Bond=bond0\nPrimarySlave=yes\n"));
        assert!(files[3].1.ends_with("[VLAN]\nId=100\n"));
        assert!(
            files[4]
                .1
                .contains("[Match]\nName=bond0\n\n[Network]\nVLAN=bond0.100\n")
        );
        assert!(files[5].1.contains("[Match]\nName=bond0.100\n"));
        assert!(!files[5].1.contains("MACAddress"));
        assert_eq!(
            yaml_as_json(&netplan_links_yaml(&s, &vlans, &bonds).unwrap()),
            r#"{"network": {"bonds": {"bond0": {"interfaces": ["eth0", "eth1"], "parameters": {"mii-monitor-interval": "100", "mode": "active-backup", "primary": "eth1"}}}, "ethernets": {"eth0": {}, "eth1": {}}, "version": 2, "vlans": {"bond0.100": {"critical": true, "dhcp-identifier": "mac", "dhcp4": true, "id": 100, "link": "bond0"}}}}"#
        );
        // A bond as the boot interface, statically: the address goes on the bond.
        let mut st = static_state();
        st.interface = "bond0".into();
        assert_eq!(
            yaml_as_json(&netplan_links_yaml(&st, &[], &bonds).unwrap()),
            r#"{"network": {"bonds": {"bond0": {"addresses": ["10.77.0.100/24"], "critical": true, "interfaces": ["eth0", "eth1"], "nameservers": {"addresses": ["10.77.0.2"]}, "parameters": {"mii-monitor-interval": "100", "mode": "active-backup", "primary": "eth1"}, "routes": [{"to": "default", "via": "10.77.0.1"}]}}, "ethernets": {"eth0": {}, "eth1": {}}, "version": 2}}"#
        );
        // A plain NIC: nothing beyond the usual files.
        assert!(networkd_links(&dhcp_state(), &vlans, &bonds).is_empty());
        assert!(netplan_links_yaml(&dhcp_state(), &vlans, &bonds).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any name the kernel accepts for an interface (1-15 bytes, no
        /// `/`, `:` or whitespace) stays one key of `ethernets`.
        #[test]
        fn netplan_yaml_parses_for_any_interface_name(name in "[!-9;-~]{1,15}") {
            prop_assume!(name != "." && name != "..");
            let mut s = dhcp_state();
            s.interface = name.clone();
            let json = yaml_as_json(&netplan_yaml(&s));
            let key = format!("{{\"{}\": {{\"critical\"", name.replace('\\', "\\\\").replace('"', "\\\""));
            prop_assert!(json.contains(&key), "{} -> {}", name, json);
        }
    }

    #[test]
    fn resolv() {
        assert_eq!(
            resolv_conf(&dhcp_state()).unwrap(),
            "# written by netinit from the boot-time network configuration\nsearch lab.test example.test\nnameserver 10.77.0.2\n"
        );
        let mut s = dhcp_state();
        s.dns.clear();
        s.search.clear();
        s.domain = None;
        assert_eq!(resolv_conf(&s), None);
    }

    /// Found by the `lease` fuzz target: a domain name of spaces made a
    /// `search` line with no domain; one with spaces inside adds words.
    #[test]
    fn resolv_leaves_out_hostile_domains() {
        let mut s = dhcp_state();
        s.search.clear();
        s.domain = Some("  ".into());
        assert_eq!(
            resolv_conf(&s).unwrap(),
            "# written by netinit from the boot-time network configuration\nnameserver 10.77.0.2\n"
        );
        s.search = vec![
            "ok.test".into(),
            "evil.test options ndots:15".into(),
            "x;y".into(),
        ];
        assert_eq!(
            resolv_conf(&s).unwrap(),
            "# written by netinit from the boot-time network configuration\nsearch ok.test\nnameserver 10.77.0.2\n"
        );
        s.dns.clear();
        s.search = vec!["a b".into()];
        assert_eq!(resolv_conf(&s), None);
        assert!(valid_domain("lab.test") && valid_domain("my_host-1.x"));
        assert!(!valid_domain("") && !valid_domain("a..b") && !valid_domain(&"a".repeat(64)));
    }

    fn static_state() -> NetState {
        NetState {
            proto: Proto::Static,
            lease: None,
            ..dhcp_state()
        }
    }

    /// (renderer, state, golden output)
    type Golden = (
        &'static str,
        fn(&NetState) -> String,
        fn() -> NetState,
        &'static str,
    );

    // Each golden file is written out whole, so dhcp and static rows of one
    // renderer repeat lines on purpose: a row reads and diffs alone.
    const GOLDEN: &[Golden] = &[
        (
            "NetworkManager",
            networkmanager_conf,
            dhcp_state,
            "# written by netinit: eth0 carries the root filesystem; NetworkManager must not touch it.
[keyfile]
unmanaged-devices=mac:52:54:00:12:34:56;interface-name:eth0
",
        ),
        (
            "networkd dhcp",
            networkd_unit,
            dhcp_state,
            "# written by netinit: eth0 carries the root filesystem.
[Match]
MACAddress=52:54:00:12:34:56

[Link]
RequiredForOnline=yes

[Network]
KeepConfiguration=yes
# A carrier blip must not drop the address under the root.
IgnoreCarrierLoss=yes
DHCP=ipv4

[DHCPv4]
ClientIdentifier=mac
# Never release the lease: the root is on this address.
SendRelease=no
",
        ),
        (
            "networkd static",
            networkd_unit,
            static_state,
            "# written by netinit: eth0 carries the root filesystem.
[Match]
MACAddress=52:54:00:12:34:56

[Link]
RequiredForOnline=yes

[Network]
KeepConfiguration=yes
# A carrier blip must not drop the address under the root.
IgnoreCarrierLoss=yes
Address=10.77.0.100/24
Gateway=10.77.0.1
DNS=10.77.0.2
",
        ),
        (
            "netplan dhcp",
            netplan_yaml,
            dhcp_state,
            "# written by netinit: eth0 carries the root filesystem.
network:
  version: 2
  ethernets:
    eth0:
      match:
        macaddress: \"52:54:00:12:34:56\"
      critical: true
      dhcp4: true
      dhcp-identifier: mac
",
        ),
        (
            "netplan static",
            netplan_yaml,
            static_state,
            "# written by netinit: eth0 carries the root filesystem.
network:
  version: 2
  ethernets:
    eth0:
      match:
        macaddress: \"52:54:00:12:34:56\"
      critical: true
      addresses: [\"10.77.0.100/24\"]
      routes:
        - to: default
          via: 10.77.0.1
      nameservers:
        addresses: [10.77.0.2]
",
        ),
        (
            "ifupdown",
            ifupdown_stanza,
            dhcp_state,
            "# written by netinit: eth0 carries the root filesystem; ifupdown must not touch it.
iface eth0 inet manual
",
        ),
    ];

    #[test]
    fn manager_configs_golden() {
        for (name, render, state, want) in GOLDEN {
            assert_eq!(render(&state()), *want, "{name}");
        }
    }

    #[test]
    fn dhcpcd_denies_the_interface_once() {
        let arch = "# A sample configuration for dhcpcd.\nhostname\nduid\noption rapid_commit";
        let out = dhcpcd_conf(Some(arch), "eth0").unwrap();
        assert!(out.starts_with(arch), "{out}");
        assert!(out.ends_with("\ndenyinterfaces eth0\n"), "{out}");
        assert_eq!(dhcpcd_conf(Some(&out), "eth0"), None);
        assert_eq!(
            dhcpcd_conf(Some("denyinterfaces wlan0 eth0\n"), "eth0"),
            None
        );
        assert!(
            dhcpcd_conf(None, "enp1s0")
                .unwrap()
                .contains("denyinterfaces enp1s0\n")
        );
    }

    #[test]
    fn connman_blacklist_is_extended_keeping_the_defaults() {
        let get = |text: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix("NetworkInterfaceBlacklist = "))
                .unwrap()
                .to_owned()
        };
        // No file, or no [General]: the defaults plus the interface.
        let out = connman_main_conf(None, "eth0").unwrap();
        assert!(out.starts_with("[General]\n"), "{out}");
        assert_eq!(get(&out), "vmnet,vboxnet,virbr,ifb,ve-,vb-,eth0");
        // An existing list is extended, other keys and groups kept.
        let conf = "[General]\nAllowHostnameUpdates = false\nNetworkInterfaceBlacklist = vmnet, docker\n\n[Other]\nX=1\n";
        let out = connman_main_conf(Some(conf), "eth0").unwrap();
        assert_eq!(get(&out), "vmnet,docker,eth0");
        assert!(out.contains("AllowHostnameUpdates = false\n") && out.contains("[Other]\nX=1\n"));
        assert_eq!(connman_main_conf(Some(&out), "eth0"), None);
        // [General] without the key: it is added inside [General].
        let out = connman_main_conf(
            Some("[General]\nPreferredTechnologies=ethernet\n[Foo]\n"),
            "eth0",
        )
        .unwrap();
        let general = out.split("[Foo]").next().unwrap();
        assert!(general.contains("NetworkInterfaceBlacklist = "), "{out}");
    }

    #[test]
    fn netctl_profiles_and_unit_names() {
        let profiles = vec![
            (
                "eth0-dhcp".to_owned(),
                "Description='x'\nInterface=eth0\nConnection=ethernet\nIP=dhcp\n".to_owned(),
            ),
            ("wifi".to_owned(), "Interface=wlan0\n".to_owned()),
            ("quoted".to_owned(), "Interface=\"eth0\"\n".to_owned()),
        ];
        assert_eq!(
            netctl_profiles_for(&profiles, "eth0"),
            ["eth0-dhcp", "quoted"]
        );
        assert_eq!(systemd_escape("eth0-dhcp"), "eth0\\x2ddhcp");
        assert_eq!(systemd_escape("a b/c"), "a\\x20b-c");
        assert!(netctl_dropin("eth0").contains("ConditionPathExists=!/run/netinit/net.json\n"));
    }

    #[test]
    fn ifupdown_file_checks() {
        assert!(ifupdown_mentions(
            "auto lo\niface lo inet loopback\n  iface eth0 inet dhcp\n",
            "eth0"
        ));
        assert!(!ifupdown_mentions("iface eth01 inet dhcp\n", "eth0"));
        assert!(!ifupdown_mentions("# iface eth0 inet dhcp\n", "eth0"));
        assert!(ifupdown_sources_dir("source /etc/network/interfaces.d/*\n"));
        assert!(ifupdown_sources_dir("source-directory interfaces.d\n"));
        assert!(!ifupdown_sources_dir(
            "# source /etc/network/interfaces.d/*\n"
        ));
    }
}
