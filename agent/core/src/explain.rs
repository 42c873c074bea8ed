//! Renders a [`BootPlan`] for people and as JSON (`netinit explain`).

use std::fmt::Write as _;

use crate::config::RootPathDialect;
use crate::json::Json;
use crate::plan::{
    BootPlan, LiveLayout, NetMethod, NetworkPlan, NfsVersion, OverlaySize, RootKind, RootPlan,
    ServerSource,
};

/// The plan as JSON. Key names are a stable interface (docs/cmdline.md).
pub fn to_json(plan: &BootPlan) -> Json {
    let network = links_json(network_json(&plan.network), &plan.network);
    let root = root_json(plan.root.as_ref(), plan.fetch.is_some());
    let transport = transport_json(plan);
    let live = Json::object()
        .with("layout", plan.live.layout.as_str())
        .with("base_dir", plan.live.base_dir.clone())
        .with("module", plan.live.module.clone())
        .with("medium", plan.live.layout.medium_path())
        .with("session", session(plan));
    let overlay_size = match plan.overlay.size {
        OverlaySize::Percent(p) => Json::from(format!("{p}%")),
        OverlaySize::Bytes(b) => Json::from(b),
    };
    Json::object()
        .with("network", network)
        .with("modules", plan.modules.clone())
        .with(
            "module_params",
            plan.module_params
                .iter()
                .map(|m| format!("{}.{}", m.module, m.param))
                .collect::<Vec<_>>(),
        )
        .with("root", root)
        .with("transport", transport)
        .with("live", live)
        .with(
            "overlay",
            Json::object()
                .with("size", overlay_size)
                .with("nfs_root", plan.overlay.nfs_root)
                .with("tmpfs_extra", plan.overlay.tmpfs_extra.clone()),
        )
        .with("toram", plan.toram)
        .with("init", plan.init.clone())
        .with("init_args", plan.init_args.clone())
        .with(
            "failure",
            Json::object()
                .with("shell", plan.failure.shell)
                .with("reboot_after_secs", plan.failure.reboot_after_secs),
        )
        .with(
            "timeouts",
            Json::object()
                .with("carrier_secs", plan.timeouts.carrier_secs)
                .with("dhcp_secs", plan.timeouts.dhcp_secs)
                .with("nfs_secs", plan.timeouts.nfs_secs)
                .with("link_secs", plan.timeouts.link_secs),
        )
        .with("quiet", plan.quiet)
        .with("lease_keeper", plan.lease_keeper)
        .with(
            "breaks",
            plan.breaks.iter().map(|b| b.as_str()).collect::<Vec<_>>(),
        )
        .with("notes", plan.notes.clone())
}

/// The boot interface's keys of the `network` object.
fn network_json(n: &NetworkPlan) -> Json {
    Json::object()
        .with("method", n.method.as_str())
        .with("device", n.device.clone())
        .with("bootif", n.bootif.map(|m| m.to_string()))
        .with("address", n.address.map(|a| a.to_string()))
        .with("gateway", n.gateway)
        .with("server", n.server)
        .with("hostname", n.hostname.clone())
        .with("dns", n.dns.clone())
        .with("ntp", n.ntp.clone())
        .with("mtu", n.mtu)
        .with("autoconf", n.autoconf.map(|a| a.as_str()))
        .with(
            "ifnames",
            n.ifnames
                .iter()
                .fold(Json::object(), |o, i| o.with(&i.name, i.mac.to_string())),
        )
        .with("peerdns", n.peerdns)
        .with("ipv6", n.ipv6.map(|m| m.as_str()))
}

/// The `network` object's VLANs, bonds, routes and further interfaces.
fn links_json(network: Json, n: &NetworkPlan) -> Json {
    network
        .with(
            "vlans",
            n.vlans
                .iter()
                .map(|v| {
                    Json::object()
                        .with("name", v.name.clone())
                        .with("parent", v.parent.clone())
                        .with("id", u32::from(v.id))
                })
                .collect::<Vec<_>>(),
        )
        .with(
            "bonds",
            n.bonds
                .iter()
                .map(|b| {
                    Json::object()
                        .with("name", b.name.clone())
                        .with("slaves", b.slaves.clone())
                        .with("options", b.option_words())
                        .with("mtu", b.mtu)
                })
                .collect::<Vec<_>>(),
        )
        .with(
            "routes",
            n.routes
                .iter()
                .map(|r| {
                    Json::object()
                        .with("dest", format!("{}/{}", r.dest.network(), r.dest.prefix))
                        .with("gateway", r.gateway)
                        .with("device", r.device.clone())
                })
                .collect::<Vec<_>>(),
        )
        .with(
            "more",
            n.more
                .iter()
                .map(|m| {
                    Json::object()
                        .with("device", m.device.clone())
                        .with("method", m.method.as_str())
                        .with("address", m.address.map(|a| a.to_string()))
                        .with("gateway", m.gateway)
                        .with("mtu", m.mtu)
                })
                .collect::<Vec<_>>(),
        )
}

/// The top-level `transport` object: how the root arrives.
fn transport_json(plan: &BootPlan) -> Json {
    match &plan.fetch {
        Some(f) => Json::object()
            .with("kind", "http")
            .with("source", f.source.as_str())
            .with(
                "urls",
                f.urls.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            )
            .with("sha256", f.sha256.map(|d| crate::sha256::hex(&d)))
            .with(
                "verify",
                if f.sha256.is_some() {
                    "cmdline"
                } else {
                    "sums-file"
                },
            )
            .with("conns", f.conns)
            .with("stall_secs", f.stall_secs),
        None => Json::object()
            .with(
                "kind",
                plan.root.as_ref().map_or("none", |r| r.kind.as_str()),
            )
            // The cmdline parameter that named the root.
            .with("source", plan.root.as_ref().map(|r| r.source)),
    }
}

/// casper's session words; set up only for a casper image with
/// /etc/casper.conf, so `null` for other layouts.
fn session(plan: &BootPlan) -> Json {
    if plan.live.layout != crate::plan::LiveLayout::Casper {
        return Json::Null;
    }
    let w = &plan.casper;
    Json::object()
        .with("username", w.username.clone())
        .with("userfullname", w.userfullname.clone())
        .with("hostname", w.hostname.clone())
        .with("autologin", !w.noautologin)
}

/// The `root` object; a plan without a network root keeps every key, null.
fn root_json(r: Option<&RootPlan>, http: bool) -> Json {
    let Some(r) = r else {
        return Json::object()
            .with("kind", if http { "http" } else { "none" })
            .with("server", Json::Null)
            .with("server_family", Json::Null)
            .with("server_source", Json::Null)
            .with("path", Json::Null)
            .with("nbd", Json::Null)
            .with("servers", Vec::<String>::new())
            .with("server_attempts", Json::Null)
            .with("options", Vec::<String>::new())
            .with("nfs_version", Json::Null)
            .with("dialect", Json::Null);
    };
    let nfs = r.kind == RootKind::Nfs;
    // The plan's words: a server from DHCP is not known yet.
    let source = match r.server {
        Some((_, ServerSource::IpParam)) => "ip",
        Some(_) => "cmdline",
        None => "dhcp",
    };
    Json::object()
        .with("kind", r.kind.as_str())
        .with("server", r.server.map(|(s, _)| s))
        .with(
            "server_family",
            r.server
                .map(|(s, _)| if s.is_ipv6() { "ipv6" } else { "ipv4" }),
        )
        .with("server_source", source)
        .with("path", r.path.clone())
        .with("nbd", r.nbd.as_ref().map(nbd_json))
        .with(
            "servers",
            r.servers.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .with("server_attempts", r.server_attempts)
        .with("options", r.options.clone())
        .with("nfs_version", nfs.then(|| r.nfs_version.as_str()))
        .with(
            "dialect",
            nfs.then_some(match r.dialect {
                RootPathDialect::Kernel => "kernel",
                RootPathDialect::Dracut => "dracut",
            }),
        )
}

fn nbd_json(s: &crate::nbd::NbdSpec) -> Json {
    Json::object()
        .with("server", s.server)
        .with("port", u32::from(s.port))
        .with("export", s.export.clone())
        .with("fstype", s.fstype.clone())
        .with("fs_options", s.fs_options.clone())
        .with("read_only", s.read_only)
        .with("client_options", s.client_options.clone())
}

/// A short plan for a person, one aspect per line.
pub fn describe(plan: &BootPlan) -> String {
    let mut out = String::new();
    describe_network(&mut out, plan);
    let mut modules = "by modalias (coldplug)".to_owned();
    if !plan.modules.is_empty() {
        let _ = write!(modules, ", plus {}", plan.modules.join(" "));
    }
    line(&mut out, "modules", &modules);
    line(&mut out, "root", &describe_root(plan));
    describe_servers(&mut out, plan);
    describe_live(&mut out, plan);
    describe_boot(&mut out, plan);
    out
}

/// The network, the NIC renames, the hostname and the DNS servers.
fn describe_network(out: &mut String, plan: &BootPlan) {
    let n = &plan.network;
    let nics = match (&n.device, n.bootif) {
        (Some(dev), _) => format!("on {dev}"),
        (None, Some(mac)) => format!("on the NIC with MAC {mac} (BOOTIF)"),
        (None, None) if n.method == NetMethod::Static => {
            "on the first Ethernet NIC with carrier".to_owned()
        }
        (None, None) => "on every Ethernet NIC at once, first lease wins".to_owned(),
    };
    let net = match n.method {
        NetMethod::Dhcp => format!("DHCP {nics}"),
        NetMethod::Static => {
            let addr = n.address.map(|a| a.to_string()).unwrap_or_default();
            let via = n.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
            format!("static {addr}{via} {nics}, no DHCP")
        }
        NetMethod::Off => "not configured".to_owned(),
    };
    line(out, "network", &net);
    describe_links(out, n);
    for i in &n.ifnames {
        line(
            out,
            "rename",
            &format!("the NIC with MAC {} becomes {} before use", i.mac, i.name),
        );
    }
    if let Some(h) = &n.hostname {
        line(out, "hostname", h);
    }
    match (n.dns.is_empty(), n.peerdns) {
        (false, true) if n.method == NetMethod::Dhcp => {
            line(out, "dns", &format!("{}, then DHCP's", join(&n.dns)))
        }
        (false, true) => line(out, "dns", &join(&n.dns)),
        (false, false) => line(out, "dns", &format!("{} only (rd.peerdns=0)", join(&n.dns))),
        (true, false) => line(out, "dns", "none: DHCP's are not used (rd.peerdns=0)"),
        (true, true) => {}
    }
}

/// What the network section adds beyond the boot interface: IPv6, bonds,
/// VLANs, further `ip=` interfaces and routes.
fn describe_links(out: &mut String, n: &NetworkPlan) {
    if let Some(m) = n.ipv6 {
        let how = match m {
            crate::ipconf::Ipv6Mode::Auto6 => "SLAAC from router advertisements",
            crate::ipconf::Ipv6Mode::Dhcp6 => {
                "DHCPv6 (address, DNS, search), the router from its RA"
            }
        };
        line(out, "ipv6", &format!("{how}, after DAD"));
    }
    for b in &n.bonds {
        let opts = b.option_words().join(",");
        line(
            out,
            "bond",
            &format!("{} over {} ({opts})", b.name, b.slaves.join(",")),
        );
    }
    for v in &n.vlans {
        line(
            out,
            "vlan",
            &format!("{} on {}, id {}", v.name, v.parent, v.id),
        );
    }
    for m in &n.more {
        let addr = m.address.map(|a| format!(" {a}")).unwrap_or_default();
        line(
            out,
            "also",
            &format!("{} {}{addr}", m.device, m.method.as_str()),
        );
    }
    for r in &n.routes {
        line(out, "route", &r.to_string());
    }
}

/// The root (NFS with what DHCP will fill in, NBD, or an HTTP image).
fn describe_root(plan: &BootPlan) -> String {
    match (&plan.root, &plan.fetch) {
        (None, Some(f)) => describe_fetch(f),
        (None, None) => "none (no network root on the cmdline)".to_owned(),
        (Some(RootPlan { nbd: Some(s), .. }), _) => format!(
            "NBD {}:{} export '{}', {}{}",
            s.server,
            s.port,
            s.export,
            s.fstype
                .as_deref()
                .unwrap_or("filesystem from its superblock"),
            if s.read_only { ", read-only" } else { "" }
        ),
        (Some(r), _) => {
            let server = match r.server {
                Some((s, ServerSource::IpParam)) => format!("{s} (from ip=)"),
                // Bracketed as the cmdline and the mount write it.
                Some((std::net::IpAddr::V6(s), _)) => format!("[{s}]"),
                Some((s, _)) => s.to_string(),
                None => "SERVER-from-DHCP".to_owned(),
            };
            let path = r
                .path
                .clone()
                .unwrap_or_else(|| "PATH-from-DHCP-root-path".to_owned());
            let version = match r.nfs_version {
                NfsVersion::V3 => "NFSv3".to_owned(),
                v => format!("NFSv{}", v.as_str()),
            };
            let opts = if r.options.is_empty() {
                String::new()
            } else {
                format!(", options {}", r.options.join(","))
            };
            format!("{version} {server}:{path}{opts}")
        }
    }
}

/// The HTTP image: its URLs, the connections, what it is checked against.
fn describe_fetch(f: &crate::fetch::FetchPlan) -> String {
    let urls: Vec<String> = f.urls.iter().map(|u| u.to_string()).collect();
    let check = match f.sha256 {
        Some(d) => format!("sha256 {} from the cmdline", crate::sha256::hex(&d)),
        None => "SHA256SUMS beside it if any (detects corruption only)".to_owned(),
    };
    format!(
        "HTTP ({}=) {} into RAM, {} connection(s), checked against {check}",
        f.source.as_str().trim_end_matches(['=', ':']),
        urls.join(" then "),
        f.conns
    )
}

/// The NFS server list, when `netinit.nfs_servers=` gives one.
fn describe_servers(out: &mut String, plan: &BootPlan) {
    if let Some(r) = plan.root.as_ref().filter(|r| !r.servers.is_empty()) {
        let list: Vec<String> = r.servers.iter().map(|s| s.to_string()).collect();
        line(
            out,
            "servers",
            &format!(
                "{}, in that order, {} attempt(s) each (netinit.nfs_servers)",
                list.join(", then "),
                r.server_attempts
            ),
        );
    }
}

/// The live image, where its medium appears, and the overlay.
fn describe_live(out: &mut String, plan: &BootPlan) {
    let live = match (&plan.live.base_dir, plan.live.layout) {
        (_, LiveLayout::Plain) if plan.overlay.nfs_root => {
            "none: the NFS root is mounted read-only, writes go to a tmpfs overlay".to_owned()
        }
        (_, LiveLayout::Plain) if plan.root.is_some() => {
            "none: the NFS root is mounted read-write".to_owned()
        }
        (_, LiveLayout::Plain) => "none".to_owned(),
        (Some(dir), layout) => format!("{} images under {dir}/", layout.as_str()),
        (None, layout) => format!("{} images in the NFS folder", layout.as_str()),
    };
    line(out, "live", &live);
    if let Some(m) = plan.live.layout.medium_path() {
        let at = if plan.fetch.is_some() {
            "the fetched ISO at /run/netinit/iso (a squashfs: its tmpfs /run/netinit/http)"
        } else {
            "the NFS export at /run/netinit/nfs"
        };
        line(out, "medium", &format!("{at}, also at {m}"));
    }
    if plan.live.layout != LiveLayout::Plain || plan.overlay.nfs_root {
        let toram = if plan.toram {
            ", copied to RAM first (toram)"
        } else {
            ""
        };
        line(
            out,
            "overlay",
            &format!("tmpfs of {}{toram}", plan.overlay.size),
        );
    }
}

/// The init, the failure policy, breaks, the lease, time budgets, notes.
fn describe_boot(out: &mut String, plan: &BootPlan) {
    let args = if plan.init_args.is_empty() {
        String::new()
    } else {
        format!(" {}", plan.init_args.join(" "))
    };
    line(out, "init", &format!("{}{args}", plan.init));
    let fail = match (plan.failure.shell, plan.failure.reboot_after_secs) {
        (true, 0) => "rescue shell if the initrd has /bin/sh, else power off".to_owned(),
        (true, s) => format!("rescue shell if the initrd has /bin/sh, else reboot after {s} s"),
        (false, 0) => "power off".to_owned(),
        (false, s) => format!("reboot after {s} s"),
    };
    line(out, "on failure", &fail);
    if !plan.breaks.is_empty() {
        let names: Vec<&str> = plan.breaks.iter().map(|b| b.as_str()).collect();
        line(
            out,
            "break",
            &format!(
                "a shell (if the initrd has /bin/sh) before: {}; exit it to go on",
                names.join(", ")
            ),
        );
    }
    if plan.network.method == NetMethod::Dhcp {
        let lease = if plan.lease_keeper {
            "renewed after boot by @netinit-lease until a DHCP client of the booted system takes over"
        } else {
            "not renewed by netinit after boot (netinit.lease_keeper=0)"
        };
        line(out, "lease", lease);
    }
    if plan.network.ipv6 == Some(crate::ipconf::Ipv6Mode::Dhcp6) {
        let lease = if plan.lease_keeper {
            "renewed after boot by @netinit-lease6 until a DHCPv6 client of the booted system takes over"
        } else {
            "not renewed by netinit after boot (netinit.lease_keeper=0)"
        };
        line(out, "lease6", lease);
    }
    let t = plan.timeouts;
    let mut timeouts = format!(
        "carrier {} s, DHCP {} s, NFS {} s",
        t.carrier_secs, t.dhcp_secs, t.nfs_secs
    );
    if t.link_secs > 0 {
        let _ = write!(timeouts, ", a NIC to appear {} s", t.link_secs);
    }
    line(out, "timeouts", &timeouts);
    for note in &plan.notes {
        line(out, "note", note);
    }
}

fn line(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "{:<11} {text}", format!("{label}:"));
}

fn join(addrs: &[std::net::Ipv4Addr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::from_cmdline;

    #[test]
    fn json_has_the_documented_keys() {
        let plan = from_cmdline("boot=casper netboot=nfs ip=dhcp BOOTIF=01-52-54-00-12-34-56 netinit.modules=nfsv3 -- single").unwrap();
        let json = to_json(&plan).to_string();
        for key in [
            r#""method":"dhcp""#,
            r#""device":null"#,
            r#""bootif":"52:54:00:12:34:56""#,
            r#""address":null"#,
            r#""kind":"nfs""#,
            r#""server":null"#,
            r#""server_source":"dhcp""#,
            r#""path":null"#,
            r#""options":[]"#,
            r#""layout":"casper""#,
            r#""modules":["nfsv3"]"#,
            r#""init":"/sbin/init""#,
            r#""init_args":["single"]"#,
            r#""size":"50%""#,
        ] {
            assert!(json.contains(key), "{key} not in {json}");
        }
    }

    /// A DHCPv6 lease has its own keeper; SLAAC has no lease to keep.
    #[test]
    fn describe_the_dhcp6_keeper() {
        let with = |cmdline: &str| describe(&from_cmdline(cmdline).unwrap());
        let line = "lease6:     renewed after boot by @netinit-lease6 until a DHCPv6 client \
                    of the booted system takes over\n";
        assert!(with("ip=dhcp6 root=nfs:[fd00::1]:/r").contains(line));
        assert!(with("ip=dhcp,dhcp6 root=/dev/nfs nfsroot=10.0.0.1:/r").contains(line));
        let off = with("ip=dhcp6 root=nfs:[fd00::1]:/r netinit.lease_keeper=0");
        assert!(
            off.contains(
                "lease6:     not renewed by netinit after boot (netinit.lease_keeper=0)\n"
            ),
            "{off}"
        );
        assert!(!with("ip=auto6 root=nfs:[fd00::1]:/r").contains("lease6:"));
    }

    /// An IPv6 server is shown bracketed, as it is written and mounted.
    #[test]
    fn describe_ipv6_root() {
        let text = describe(
            &from_cmdline("ip=auto6 root=/dev/nfs nfsroot=[fd00::1]:/export/root,vers=4.2")
                .unwrap(),
        );
        assert!(
            text.contains("root:       NFSv4.2 [fd00::1]:/export/root, options vers=4.2\n"),
            "{text}"
        );
    }

    /// dracut's words in the human output: the rename, DNS without DHCP's,
    /// the overlay over a read-only NFS root, the mapped budgets, the notes.
    #[test]
    fn describe_dracut_words() {
        let text = describe(
            &from_cmdline(
                "root=nfs:10.77.0.3:/srv/root:vers=4.2 rd.overlay=tmpfs:size=512M ifname=bootnet:52:54:00:12:34:56 \
                 ip=bootnet:dhcp rd.peerdns=0 nameserver=10.77.0.9 rd.net.timeout.dhcp=20 rd.net.dhcp.retry=3 \
                 rd.net.timeout.carrier=5 rd.retry=120 rd.net.timeout.iflink=30 netinit.reboot=0 netinit.shell=0",
            )
            .unwrap(),
        );
        assert_eq!(
            text,
            "network:    DHCP on bootnet\n\
             rename:     the NIC with MAC 52:54:00:12:34:56 becomes bootnet before use\n\
             dns:        10.77.0.9 only (rd.peerdns=0)\n\
             modules:    by modalias (coldplug)\n\
             root:       NFSv4.2 10.77.0.3:/srv/root, options vers=4.2\n\
             live:       none: the NFS root is mounted read-only, writes go to a tmpfs overlay\n\
             overlay:    tmpfs of 512 MiB\n\
             init:       /sbin/init\n\
             on failure: power off\n\
             lease:      renewed after boot by @netinit-lease until a DHCP client of the booted system takes over\n\
             timeouts:   carrier 5 s, DHCP 60 s, NFS 120 s, a NIC to appear 30 s\n"
        );
        let json = to_json(
            &from_cmdline("root=dhcp ifname=bootnet:52:54:00:12:34:56 rd.peerdns=0").unwrap(),
        )
        .to_string();
        for key in [
            r#""ifnames":{"bootnet":"52:54:00:12:34:56"}"#,
            r#""peerdns":false"#,
            r#""dialect":"dracut""#,
            r#""nfs_root":false"#,
        ] {
            assert!(json.contains(key), "{key} not in {json}");
        }
    }

    #[test]
    fn describe_reads_well() {
        let text = describe(&from_cmdline("sys=10.77.0.1:/export/sys ip=10.77.0.50::10.77.0.1:24 netinit.reboot=0 netinit.shell=0").unwrap());
        assert_eq!(
            text,
            "network:    static 10.77.0.50/24 via 10.77.0.1 on the first Ethernet NIC with carrier, no DHCP\n\
             modules:    by modalias (coldplug)\n\
             root:       NFSv3 10.77.0.1:/export/sys\n\
             live:       linomad images in the NFS folder\n\
             overlay:    tmpfs of 50% of RAM\n\
             init:       /sbin/init\n\
             on failure: power off\n\
             timeouts:   carrier 15 s, DHCP 90 s, NFS 60 s\n"
        );
    }
}
