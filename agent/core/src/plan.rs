//! The boot plan: what netinit will do, decided before it does anything.
//!
//! [`plan`] is one pure function from the parsed cmdline ([`Config`]) to a
//! [`BootPlan`]. Whatever the cmdline leaves open (the NFS server, the root
//! path) is marked as coming from DHCP and resolved later by
//! [`BootPlan::resolve_root`], also pure, once the lease is known.

use std::net::{IpAddr, Ipv4Addr};

use crate::cmdline::Cmdline;
pub use crate::config::{BreakPoint, LiveLayout, ModuleParam};
use crate::config::{Config, ConfigError, IfName, NfsSpec, RootParam, RootPathDialect};
use crate::ipconf::{Autoconf, IpParam, Ipv6Mode, classful_prefix};
pub use crate::live::LivePlan;
use crate::net::{Ipv4Cidr, MacAddr, NetState};
use crate::netdev::{Bond, StaticRoute, Vlan};
pub use crate::size::OverlaySize;

/// Everything the executor needs, in the order it needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootPlan {
    pub network: NetworkPlan,
    /// Extra modules from `netinit.modules=` (normalised, `-` → `_`),
    /// loaded in addition to modalias coldplug.
    pub modules: Vec<String>,
    /// `module.param=value` words from the cmdline, for finit_module.
    pub module_params: Vec<ModuleParam>,
    /// The network root; `None` when the cmdline names none.
    pub root: Option<RootPlan>,
    /// The image over HTTP into RAM, when the cmdline names one (then
    /// `root` is `None`: there is no NFS root).
    pub fetch: Option<crate::fetch::FetchPlan>,
    pub live: LivePlan,
    pub overlay: OverlayPlan,
    /// Copy the live image(s) into RAM before mounting (`toram`).
    pub toram: bool,
    /// The init to exec in the new root (`init=`), default `/sbin/init`.
    pub init: String,
    /// Words after `--` on the cmdline. As PID 1 the executor uses its real
    /// argv instead, which the kernel already computed.
    pub init_args: Vec<String>,
    pub failure: FailurePolicy,
    pub timeouts: Timeouts,
    /// Modules loaded at once (`netinit.module_jobs=`, default 1): more
    /// only pays where concurrent loads scale, see docs/benchmarks.md.
    pub module_jobs: u32,
    /// `quiet`: only warnings and errors on the console.
    pub quiet: bool,
    /// Start the lease keeper at switch_root (`netinit.lease_keeper=0`
    /// turns it off).
    pub lease_keeper: bool,
    /// Rescue shells before these steps (`break=`, `netinit.break=`).
    pub breaks: Vec<BreakPoint>,
    /// Non-fatal remarks about the cmdline, shown by `explain` and logged.
    pub notes: Vec<String>,
    /// casper's session words (`username=`, `hostname=`, …), used when the
    /// root is a casper image with /etc/casper.conf.
    pub casper: crate::casper::Words,
}

/// How the network comes up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    pub method: NetMethod,
    /// The `ip=` device field (or dracut's `ip=<dev>:dhcp`): pins one NIC.
    pub device: Option<String>,
    /// pxelinux `BOOTIF=`: pins the NIC with this MAC.
    pub bootif: Option<MacAddr>,
    /// Static address with prefix.
    pub address: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Addr>,
    /// The `ip=` server field (`<server-ip>`).
    pub server: Option<Ipv4Addr>,
    pub hostname: Option<String>,
    pub dns: Vec<Ipv4Addr>,
    pub ntp: Vec<Ipv4Addr>,
    /// The raw `ip=` autoconf word, kept for `explain`.
    pub autoconf: Option<Autoconf>,
    /// dracut's `ip=…:<mtu>`; overrides DHCP option 26.
    pub mtu: Option<u16>,
    /// dracut's `ifname=<name>:<mac>`: renames done before any NIC is used.
    pub ifnames: Vec<IfName>,
    /// Use DNS servers from DHCP (dracut's `rd.peerdns=0` turns it off).
    pub peerdns: bool,
    /// IPv6 beside (or instead of) IPv4: `ip=dhcp6`, `ip=auto6`.
    pub ipv6: Option<Ipv6Mode>,
    /// dracut's `vlan=` and `bond=`: links made before DHCP.
    pub vlans: Vec<Vlan>,
    pub bonds: Vec<Bond>,
    /// dracut's `rd.route=`, added once every interface is configured.
    pub routes: Vec<StaticRoute>,
    /// Interfaces of further `ip=` words, configured after the boot one.
    pub more: Vec<IfPlan>,
}

/// Another interface from its own `ip=` word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfPlan {
    pub device: String,
    pub method: NetMethod,
    pub address: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Addr>,
    pub mtu: Option<u16>,
}

impl NetworkPlan {
    /// The DNS servers the booted system gets: the cmdline's first
    /// (`nameserver=`, `ip=`), then DHCP's unless `rd.peerdns=0`.
    pub fn dns_for(&self, from_dhcp: &[Ipv4Addr]) -> Vec<Ipv4Addr> {
        let mut dns = self.dns.clone();
        if self.peerdns {
            dns.extend(from_dhcp.iter().filter(|d| !self.dns.contains(d)));
        }
        dns
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMethod {
    Dhcp,
    Static,
    /// No network (`ip=off`, or nothing on the cmdline needs one).
    Off,
}

impl NetMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            NetMethod::Dhcp => "dhcp",
            NetMethod::Static => "static",
            NetMethod::Off => "none",
        }
    }
}

/// Where the root filesystem comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPlan {
    pub kind: RootKind,
    /// The NFS server the cmdline names, and where. `None`: resolved from
    /// DHCP at runtime (see [`resolve_root`]).
    pub server: Option<(IpAddr, ServerSource)>,
    /// Export path. `None` means "take it from DHCP option 17".
    pub path: Option<String>,
    /// NFS mount options as the user wrote them (`v3`, `rsize=16384`, …).
    pub options: Vec<String>,
    /// `nfs4:` or `vers=4*` asked for NFSv4.
    pub nfs_version: NfsVersion,
    /// How DHCP's root-path is read and where a missing server comes from:
    /// the kernel's rules for its own forms, dracut's for dracut's.
    pub dialect: RootPathDialect,
    /// `root=/dev/nfs` with no path anywhere mounts `/tftpboot/%s`
    /// (nfsroot.rst and dracut agree).
    pub tftpboot_default: bool,
    /// The NBD export, for [`RootKind::Nbd`].
    pub nbd: Option<crate::nbd::NbdSpec>,
    /// The cmdline parameter that named the root (`nfsroot`, `root`,
    /// `sys`, `archiso_nfs_srv`).
    pub source: &'static str,
    /// `netinit.nfs_servers=`: NFS servers tried in order (they replace
    /// any other server); empty for the usual single server.
    pub servers: Vec<IpAddr>,
    /// Mount attempts per server of `servers` (`netinit.nfs_attempts=`).
    pub server_attempts: u32,
}

/// Mount attempts per server of a `netinit.nfs_servers=` list: one retry
/// for a hiccup, then the next server.
pub const DEFAULT_SERVER_ATTEMPTS: u32 = 2;

/// The transport the root comes over; another kind (a block device over
/// the network, an image over HTTP) adds a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Nfs,
    /// A block device over NBD (`root=nbd:`).
    Nbd,
}

impl RootKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RootKind::Nfs => "nfs",
            RootKind::Nbd => "nbd",
        }
    }
}

/// Where the NFS server's address came from: the plan records the
/// cmdline's two, [`resolve_root`] adds DHCP's three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSource {
    /// `nfsroot=SERVER:…`, `root=nfs:SERVER:…`, `sys=SERVER:…`, `archiso_nfs_srv=`.
    Cmdline,
    /// The `ip=` server field.
    IpParam,
    /// A server named in DHCP's root-path (option 17).
    DhcpRootPath,
    /// DHCP's next-server (siaddr).
    DhcpNextServer,
    /// The DHCP server id (option 54).
    DhcpServer,
    /// `netinit.nfs_servers=`, tried in order.
    ServerList,
}

impl ServerSource {
    /// As the log names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerSource::Cmdline => "cmdline",
            ServerSource::IpParam => "ip=",
            ServerSource::DhcpRootPath => "DHCP root-path",
            ServerSource::ServerList => "netinit.nfs_servers",
            ServerSource::DhcpNextServer => "DHCP next-server",
            ServerSource::DhcpServer => "DHCP server",
        }
    }
}

impl std::fmt::Display for ServerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NfsVersion {
    /// The default: NFSv3 (`nolock`, `proto=tcp`).
    V3,
    /// NFSv4 with an optional minor version (`vers=4.2` → `Some(2)`).
    V4(Option<u8>),
}

/// The module that mounts NFS of this version (it pulls in `nfs` and the
/// rest of the chain through modules.dep).
pub fn nfs_module(version: NfsVersion) -> &'static str {
    match version {
        NfsVersion::V3 => "nfsv3",
        NfsVersion::V4(_) => "nfsv4",
    }
}

/// The modules the root phase will need, known before the network is up,
/// so they can load while the link and DHCP wait. A prediction: a
/// root-path from DHCP may still change the NFS version, and each root
/// step loads whatever is missing itself. Another root kind (a block
/// device over the network, an ISO image) adds its own list here.
pub fn root_modules(plan: &BootPlan) -> Vec<&'static str> {
    let mut out = Vec::new();
    if plan.fetch.is_some() {
        return vec!["loop", "isofs", "squashfs", "overlay"];
    }
    match plan.root.as_ref().map(|r| (r.kind, r.nbd.as_ref())) {
        Some((RootKind::Nfs, _)) => {
            let version = plan.root.as_ref().map_or(NfsVersion::V3, |r| r.nfs_version);
            out.extend(["nfs", nfs_module(version)]);
        }
        Some((RootKind::Nbd, spec)) => {
            out.push("nbd");
            match spec.and_then(|s| s.fstype.as_deref()) {
                Some("ext4") => out.push("ext4"),
                Some("squashfs") => out.extend(["squashfs", "overlay"]),
                _ => {}
            }
        }
        None => {}
    }
    if plan.live.layout != LiveLayout::Plain {
        out.extend(["loop", "squashfs", "overlay"]);
    } else if plan.overlay.nfs_root {
        out.push("overlay");
    }
    out
}

/// The writable layer over a live image, or over a read-only NFS root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayPlan {
    pub size: OverlaySize,
    /// A plain NFS root mounted read-only under a tmpfs upper layer, so
    /// one export serves many clients (`netinit.overlay=1`, dracut's
    /// `rd.overlay`). Live layouts always have an overlay.
    pub nfs_root: bool,
    /// More tmpfs options (`nr_inodes=`, `nr_blocks=` from `rd.overlay=tmpfs:…`).
    pub tmpfs_extra: Vec<String>,
}

/// What PID 1 does after `FAILED at …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Start `/bin/sh` when the initrd has one (`netinit.shell=0` disables).
    pub shell: bool,
    /// Seconds before reboot when there is no shell; 0 powers off at once
    /// (`netinit.reboot=`).
    pub reboot_after_secs: u32,
}

impl FailurePolicy {
    /// Before the cmdline is read, and whatever it leaves unsaid.
    pub const DEFAULT: FailurePolicy = FailurePolicy {
        shell: true,
        reboot_after_secs: 30,
    };
}

/// Time budgets, all overridable from the cmdline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Per-NIC wait for carrier (`netinit.carrier_timeout=`).
    pub carrier_secs: u32,
    /// Total DHCP budget across all NICs (`netinit.dhcp_timeout=`).
    pub dhcp_secs: u32,
    /// Total NFS mount retry budget (`netinit.nfs_timeout=`).
    pub nfs_secs: u32,
    /// How long to wait for a usable NIC to appear (dracut's
    /// `rd.net.timeout.iflink=`); 0: take what is there after coldplug.
    pub link_secs: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            carrier_secs: 15,
            dhcp_secs: 90,
            nfs_secs: 60,
            link_secs: 0,
        }
    }
}

/// A cmdline that parses but cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The parameter at fault, e.g. `nfsroot`.
    pub param: String,
    pub reason: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=: {}", self.param, self.reason)
    }
}

impl std::error::Error for PlanError {}

impl From<ConfigError> for PlanError {
    fn from(e: ConfigError) -> Self {
        PlanError {
            param: e.param,
            reason: e.reason,
        }
    }
}

fn err(param: &str, reason: impl Into<String>) -> PlanError {
    crate::config::err(param, reason).into()
}

/// Tokenizes, parses and plans a cmdline in one go.
pub fn from_cmdline(text: &str) -> Result<BootPlan, PlanError> {
    plan(&Config::parse(&Cmdline::parse(text))?)
}

/// Turns the parsed cmdline into a plan. Pure.
pub fn plan(c: &Config) -> Result<BootPlan, PlanError> {
    let mut notes = c.notes.clone();
    let fetch = crate::fetch::plan_fetch(
        &c.http,
        c.archisobasedir.as_deref(),
        c.live_media_path.as_deref(),
        &mut notes,
    )?;
    let (root, live, fetch) = match fetch {
        Some((f, live)) => (None, live, Some(f)),
        None => {
            let (root, live) = plan_root(c, &mut notes)?;
            (root, live, None)
        }
    };
    let network_root = root.is_some() || fetch.is_some();
    let network = plan_network(c, network_root, &mut notes)?;
    let families = RootFamilies::of(root.as_ref(), fetch.as_ref());
    if network_root && network.method == NetMethod::Off && (families.v4 || network.ipv6.is_none()) {
        return Err(network_off(&network, root.as_ref(), fetch.is_some()));
    }
    if let (Some(server), None) = (families.v6, network.ipv6) {
        return Err(err(
            "ip",
            format!(
                "the root server {server} is IPv6, but no ip= word asks for IPv6: add auto6 or dhcp6 (ip=auto6, or ip=dhcp,auto6 for dual stack)"
            ),
        ));
    }
    if !c.netinit.nfs_servers.is_empty() && root.as_ref().is_none_or(|r| r.kind != RootKind::Nfs) {
        notes.push("netinit.nfs_servers has no effect: the root is not on NFS".to_owned());
    }
    if c.toram && live.layout == LiveLayout::Plain {
        notes.push("toram has no effect without a live image".to_owned());
    }
    let overlay = plan_overlay(c, root.is_some(), &live, &mut notes);
    let timeouts = plan_timeouts(c);
    let (modules, module_params) = link_modules(c, &network);
    Ok(BootPlan {
        network,
        modules,
        module_params,
        root,
        fetch,
        live,
        overlay,
        toram: c.toram,
        init: c.init.clone().unwrap_or_else(|| "/sbin/init".to_owned()),
        init_args: c.init_args.clone(),
        failure: FailurePolicy {
            shell: c.netinit.shell.unwrap_or(FailurePolicy::DEFAULT.shell),
            reboot_after_secs: c
                .netinit
                .reboot
                .unwrap_or(FailurePolicy::DEFAULT.reboot_after_secs),
        },
        module_jobs: c.netinit.module_jobs.unwrap_or(1),
        timeouts,
        quiet: c.quiet,
        lease_keeper: c.netinit.lease_keeper.unwrap_or(true),
        breaks: c.breaks.clone(),
        notes,
        casper: crate::casper::Words::from_params(&c.unknown),
    })
}

/// Which address families the root's servers are in, as far as the
/// cmdline names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RootFamilies {
    /// An IPv4 server, or one left to DHCP (only DHCPv4 names a root
    /// server: next-server, root-path).
    v4: bool,
    /// The first IPv6 server named.
    v6: Option<std::net::Ipv6Addr>,
}

impl RootFamilies {
    fn of(root: Option<&RootPlan>, fetch: Option<&crate::fetch::FetchPlan>) -> RootFamilies {
        let mut servers: Vec<Option<IpAddr>> = Vec::new();
        if let Some(r) = root {
            servers.push(r.server.map(|(s, _)| s));
            servers.extend(r.servers.iter().copied().map(Some));
        }
        if let Some(f) = fetch {
            servers.extend(f.urls.iter().map(|u| Some(u.host)));
        }
        RootFamilies {
            v4: servers.iter().any(|s| !matches!(s, Some(IpAddr::V6(_)))),
            v6: servers.iter().find_map(|s| match s {
                Some(IpAddr::V6(a)) => Some(*a),
                _ => None,
            }),
        }
    }
}

impl BootPlan {
    /// The root's server is reached over IPv6 (a bracketed literal on the
    /// cmdline), so IPv6 failing fails the boot even with IPv4 up.
    pub fn root_over_ipv6(&self) -> bool {
        RootFamilies::of(self.root.as_ref(), self.fetch.as_ref())
            .v6
            .is_some()
    }
}

/// The refusal of a network root with the network off: it names the
/// transport, and IPv6 alone (which names no root server by itself).
fn network_off(network: &NetworkPlan, root: Option<&RootPlan>, http: bool) -> PlanError {
    let over = match (http, root) {
        (true, _) => "HTTP",
        (false, Some(r)) if r.kind == RootKind::Nbd => "NBD",
        _ => "NFS",
    };
    if let Some(v6) = network.ipv6 {
        let v6 = v6.as_str();
        let how = match over {
            "NBD" => "an NBD root needs IPv4",
            "HTTP" => {
                "over IPv6 alone every URL's host must be an IPv6 literal (http://[fd00::1]/…)"
            }
            _ => {
                "over IPv6 alone the NFS server must be an IPv6 literal (nfsroot=[fd00::1]:/path), as only DHCPv4 names one"
            }
        };
        return err("ip", format!("ip={v6}: {how}; or add IPv4 (ip=dhcp,{v6})"));
    }
    err(
        "ip",
        format!("the network is off (ip=off/none) but the root is on {over}"),
    )
}

/// The cmdline's modules plus what VLANs and bonds need, and bonding's
/// parameters.
fn link_modules(c: &Config, network: &NetworkPlan) -> (Vec<String>, Vec<ModuleParam>) {
    let mut modules = c.netinit.modules.clone();
    for (needed, m) in [
        (!network.vlans.is_empty(), "8021q"),
        (!network.bonds.is_empty(), "bonding"),
    ] {
        if needed && !modules.iter().any(|x| x == m) {
            modules.push(m.to_owned());
        }
    }
    let mut module_params = c.module_params.clone();
    // Loading bonding makes a bond0 of its own unless told not to (dracut
    // says the same); netinit makes the bonds the cmdline names.
    if !network.bonds.is_empty()
        && !module_params
            .iter()
            .any(|m| m.module == "bonding" && m.param.starts_with("max_bonds="))
    {
        module_params.push(ModuleParam {
            module: "bonding".into(),
            param: "max_bonds=0".into(),
        });
    }
    (modules, module_params)
}

/// `netinit.overlay` wins over `rd.overlay`; `netinit.overlay_size` over
/// `rd.overlay=tmpfs:size=`.
fn plan_overlay(
    c: &Config,
    network_root: bool,
    live: &LivePlan,
    notes: &mut Vec<String>,
) -> OverlayPlan {
    let asked = c.netinit.overlay.or(c.dracut.overlay).unwrap_or(false);
    let nfs_root = asked && network_root && live.layout == LiveLayout::Plain;
    if asked && network_root && !nfs_root {
        notes.push(format!(
            "the {} image always gets a tmpfs overlay; netinit.overlay / rd.overlay change nothing",
            live.layout.as_str()
        ));
    } else if asked && !network_root {
        notes.push(
            "netinit.overlay / rd.overlay: there is no network root to put it over".to_owned(),
        );
    }
    OverlayPlan {
        size: c
            .netinit
            .overlay_size
            .or(c.dracut.overlay_size)
            .unwrap_or(OverlaySize::Percent(50)),
        nfs_root,
        tmpfs_extra: c.dracut.overlay_tmpfs.clone(),
    }
}

/// Our `netinit.*` budgets win; dracut's knobs fill in the rest.
fn plan_timeouts(c: &Config) -> Timeouts {
    let d = &c.dracut;
    let defaults = Timeouts::default();
    // dracut runs DHCP `retry` times with `timeout` seconds each; netinit
    // has one budget across all NICs, so it gets the product.
    let dracut_dhcp = match (d.dhcp_timeout, d.dhcp_retry) {
        (None, None) => None,
        (t, r) => Some(
            t.unwrap_or(defaults.dhcp_secs)
                .saturating_mul(r.unwrap_or(1))
                .min(86_400),
        ),
    };
    Timeouts {
        carrier_secs: c
            .netinit
            .carrier_timeout
            .or(d.carrier_timeout)
            .unwrap_or(defaults.carrier_secs),
        dhcp_secs: c
            .netinit
            .dhcp_timeout
            .or(dracut_dhcp)
            .unwrap_or(defaults.dhcp_secs),
        nfs_secs: c
            .netinit
            .nfs_timeout
            .or(d.retry)
            .unwrap_or(defaults.nfs_secs),
        link_secs: d.iflink_timeout.unwrap_or(defaults.link_secs),
    }
}

fn plan_network(
    c: &Config,
    network_root: bool,
    notes: &mut Vec<String>,
) -> Result<NetworkPlan, PlanError> {
    let (ip, more_ips) = boot_ip(c);
    let mut ip = ip.unwrap_or_default();
    let mut more = Vec::new();
    for m in &more_ips {
        more.push(plan_more(m, notes)?);
    }
    // A VLAN or bond is made to carry the boot: it is the boot interface
    // unless an ip= word names one; a VLAN sits on top of a bond.
    if ip.device.is_none() {
        ip.device = c
            .vlans
            .first()
            .map(|v| v.name.clone())
            .or_else(|| c.bonds.first().map(|b| b.name.clone()));
    }
    check_links(c, notes)?;
    let neednet = c.dracut.neednet.unwrap_or(false);
    if c.dracut.neednet == Some(false) {
        notes.push(
            "rd.neednet=0 is accepted; a network root still brings the network up".to_owned(),
        );
    }
    let method = net_method(c, &ip, network_root, neednet, notes)?;
    let address = match (method, ip.client) {
        (NetMethod::Static, Some(addr)) => {
            let prefix = ip.prefix.unwrap_or_else(|| {
                let p = classful_prefix(addr);
                notes.push(format!("ip=: no netmask, using the class default /{p}"));
                p
            });
            if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
                return Err(err(
                    "ip",
                    format!("field 1 (client-ip) '{addr}' is not a host address"),
                ));
            }
            Some(Ipv4Cidr { addr, prefix })
        }
        _ => None,
    };
    if let (Some(cidr), Some(gw)) = (address, ip.gateway) {
        if !same_subnet(cidr, gw) {
            notes.push(format!("ip=: gateway {gw} is outside {cidr}"));
        }
    }
    let device = ip.device.clone().or_else(|| c.ethdevice.clone());
    device_notes(c, device.as_deref(), notes);
    let mut dns = ip.dns.clone();
    dns.extend(c.nameservers.iter().filter(|d| !ip.dns.contains(d)));
    ifname_notes(c, device.as_deref(), notes);
    Ok(NetworkPlan {
        method,
        device,
        bootif: c.bootif.or(ip.mac),
        address,
        gateway: ip.gateway,
        server: ip.server,
        hostname: ip.hostname,
        dns,
        ntp: ip.ntp,
        autoconf: ip.autoconf,
        mtu: ip.mtu,
        ifnames: c.ifnames.clone(),
        peerdns: c.dracut.peerdns.unwrap_or(true),
        ipv6: ip.ipv6,
        vlans: c.vlans.clone(),
        bonds: c.bonds.clone(),
        routes: c.routes.clone(),
        more,
    })
}

/// DHCP, static or off, from `ip=` and whether anything needs the network.
fn net_method(
    c: &Config,
    ip: &crate::ipconf::IpParam,
    network_root: bool,
    neednet: bool,
    notes: &mut Vec<String>,
) -> Result<NetMethod, PlanError> {
    Ok(match (c.ip.is_some(), ip.autoconf, ip.client) {
        // No ip= at all: DHCP if anything needs the network (as casper and dracut do).
        (false, _, _) => {
            if network_root || neednet {
                NetMethod::Dhcp
            } else {
                NetMethod::Off
            }
        }
        (true, Some(Autoconf::Off), Some(_)) | (true, None, Some(_)) => NetMethod::Static,
        (true, Some(Autoconf::Off), None) => NetMethod::Off,
        (true, Some(Autoconf::Rarp), _) => {
            return Err(err("ip", "autoconf 'rarp' is not supported (use dhcp)"));
        }
        (true, Some(a @ (Autoconf::Bootp | Autoconf::Both)), _) => {
            notes.push(format!(
                "ip=…{}: BOOTP servers are asked with DHCP",
                a.as_str()
            ));
            NetMethod::Dhcp
        }
        (true, _, _) => NetMethod::Dhcp,
    })
}

/// Remarks on the pinned device: BOOTIF beside it, a predictable name,
/// `ip=frommedia`.
fn device_notes(c: &Config, device: Option<&str>, notes: &mut Vec<String>) {
    if let (Some(dev), Some(mac)) = (device, c.bootif) {
        notes.push(format!(
            "both a device ({dev}) and BOOTIF={mac} pin the NIC; the device must have that MAC"
        ));
    }
    if let Some(dev) = device.filter(|d| crate::netname::is_predictable_name(d)) {
        if !c.ifnames.iter().any(|i| i.name == dev) {
            notes.push(format!(
                "{dev} is a predictable name: unless a NIC already has it, netinit finds the PCI NIC systemd would call {dev} from sysfs and renames it before use"
            ));
        }
    }
    if c.ip_frommedia {
        notes.push(
            "ip=frommedia: casper keeps the network configuration on the medium; a netboot needs the network before the medium, so netinit uses DHCP; the hand-off only adds what keeps the booted system from taking the root's link down"
                .to_owned(),
        );
    }
}

/// Remarks on `ifname=`: kernel-style names, and BOOTIF naming another MAC.
fn ifname_notes(c: &Config, device: Option<&str>, notes: &mut Vec<String>) {
    for i in &c.ifnames {
        if is_kernel_name(&i.name) {
            notes.push(format!(
                "ifname={}:{}: a kernel-style name may clash with another NIC's; dracut advises e.g. 'bootnet'",
                i.name, i.mac
            ));
        }
    }
    if let (Some(dev), false) = (device, c.ifnames.is_empty()) {
        if let Some(i) = c.ifnames.iter().find(|i| i.name == dev) {
            if c.bootif.is_some_and(|b| b != i.mac) {
                notes.push(format!(
                    "{dev} is ifname={}:{}, but BOOTIF names another MAC",
                    i.name, i.mac
                ));
            }
        }
    }
}

/// The boot `ip=` word and the others: `bootdev=` picks, else the first.
fn boot_ip(c: &Config) -> (Option<IpParam>, Vec<IpParam>) {
    let mut all: Vec<IpParam> = c.ip.iter().chain(&c.more_ips).cloned().collect();
    let at = c
        .bootdev
        .as_ref()
        .and_then(|b| all.iter().position(|i| i.device.as_ref() == Some(b)))
        .unwrap_or(0);
    if all.is_empty() {
        return (None, all);
    }
    let boot = all.remove(at);
    (Some(boot), all)
}

fn plan_more(ip: &IpParam, notes: &mut Vec<String>) -> Result<IfPlan, PlanError> {
    let device = ip.device.clone().unwrap_or_default();
    let (method, address) = match (ip.autoconf, ip.client) {
        (Some(Autoconf::Off) | None, Some(addr)) => {
            let prefix = ip.prefix.unwrap_or_else(|| classful_prefix(addr));
            (NetMethod::Static, Some(Ipv4Cidr { addr, prefix }))
        }
        (Some(Autoconf::Off), None) => (NetMethod::Off, None),
        (Some(Autoconf::Rarp), _) => {
            return Err(err("ip", "autoconf 'rarp' is not supported (use dhcp)"));
        }
        _ => (NetMethod::Dhcp, None),
    };
    if ip.server.is_some() || ip.hostname.is_some() || !ip.dns.is_empty() {
        notes.push(format!(
            "ip=…{device}…: server, hostname and DNS come from the boot interface's ip= only"
        ));
    }
    Ok(IfPlan {
        device,
        method,
        address,
        gateway: ip.gateway,
        mtu: ip.mtu,
    })
}

/// A slave may be in one bond and carries no VLAN or address of its own;
/// a VLAN's parent and a bond's name must not clash.
fn check_links(c: &Config, notes: &mut Vec<String>) -> Result<(), PlanError> {
    let mut slaves: Vec<&str> = Vec::new();
    for b in &c.bonds {
        for s in &b.slaves {
            if slaves.contains(&s.as_str()) || c.bonds.iter().any(|o| &o.name == s) {
                return Err(err(
                    "bond",
                    format!("'{s}' is a slave of two bonds, or a bond"),
                ));
            }
            slaves.push(s);
        }
    }
    for v in &c.vlans {
        if slaves.contains(&v.parent.as_str()) {
            return Err(err(
                "vlan",
                format!(
                    "{}: the parent {} is a bond slave (put the VLAN on the bond)",
                    v.name, v.parent
                ),
            ));
        }
        if let Some(b) = c.bonds.iter().find(|b| b.name == v.name) {
            return Err(err("vlan", format!("{} is also a bond", b.name)));
        }
    }
    let devices =
        c.ip.iter()
            .chain(&c.more_ips)
            .filter_map(|i| i.device.as_deref());
    for d in devices {
        if slaves.contains(&d) {
            return Err(err(
                "ip",
                format!("{d} is a bond slave; configure the bond instead"),
            ));
        }
    }
    for r in &c.routes {
        if let Some(d) = &r.device {
            let known =
                c.ip.iter()
                    .chain(&c.more_ips)
                    .any(|i| i.device.as_ref() == Some(d))
                    || c.vlans.iter().any(|v| &v.name == d)
                    || c.bonds.iter().any(|b| &b.name == d);
            if !known && c.ip.as_ref().is_some_and(|i| i.device.is_some()) {
                notes.push(format!("rd.route={r}: {d} is configured by no ip= word"));
            }
        }
    }
    Ok(())
}

/// `eth0`, `wlan1`: names the kernel itself hands out.
fn is_kernel_name(name: &str) -> bool {
    ["eth", "wlan", "ib"].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn same_subnet(cidr: Ipv4Cidr, other: Ipv4Addr) -> bool {
    let mask = u32::from(cidr.netmask());
    u32::from(cidr.addr) & mask == u32::from(other) & mask
}

/// Which dialect names the NFS root, in priority order.
fn plan_root(
    c: &Config,
    notes: &mut Vec<String>,
) -> Result<(Option<RootPlan>, LivePlan), PlanError> {
    if let Some(netboot) = c.netboot.as_deref() {
        if netboot != "nfs" {
            return Err(err(
                "netboot",
                format!("'{netboot}' is not supported (netinit boots from NFS: netboot=nfs)"),
            ));
        }
    }
    let boot = boot_layout(c).unwrap_or(LivePlan {
        layout: LiveLayout::Plain,
        base_dir: None,
        module: None,
    });
    match root_source(c, boot, notes) {
        (Some(RootSource::Nfs(spec, nfs4, source)), live) => {
            Ok((Some(nfs_root(c, spec, nfs4, source, notes)?), live))
        }
        (Some(RootSource::Nbd(spec)), live) => Ok((Some(nbd_root(spec)), live)),
        (None, live) => Ok((None, live)),
    }
}

/// The live layout `boot=` (or `netinit.layout=`) asks for, if any.
fn boot_layout(c: &Config) -> Option<LivePlan> {
    let boot_word = match c.netinit.layout {
        Some(LiveLayout::Casper) => Some("casper"),
        Some(LiveLayout::LiveBoot) => Some("live"),
        _ => c.boot.as_deref(),
    };
    match boot_word {
        Some("casper") => Some(LivePlan {
            layout: LiveLayout::Casper,
            base_dir: Some(
                c.live_media_path
                    .clone()
                    .unwrap_or_else(|| "casper".to_owned()),
            ),
            module: c.layerfs_path.clone(),
        }),
        Some("live") => Some(LivePlan {
            layout: LiveLayout::LiveBoot,
            base_dir: Some(
                c.live_media_path
                    .clone()
                    .unwrap_or_else(|| "live".to_owned()),
            ),
            module: c.live_module.clone(),
        }),
        _ => match c.netinit.layout {
            Some(LiveLayout::Archiso) => Some(LivePlan {
                layout: LiveLayout::Archiso,
                base_dir: Some(
                    c.archisobasedir
                        .clone()
                        .unwrap_or_else(|| "arch".to_owned()),
                ),
                module: None,
            }),
            Some(LiveLayout::Linomad) => Some(LivePlan {
                layout: LiveLayout::Linomad,
                base_dir: None,
                module: None,
            }),
            _ => None,
        },
    }
}

/// The parameter that names the network root, in the kernel's order;
/// `None` when there is no network root. With the live layout the root
/// implies (`boot` unless the parameter fixes one).
enum RootSource<'c> {
    /// The NFS spec it gives (`None`: all from DHCP), whether it said
    /// `nfs4:`, and its name.
    Nfs(Option<&'c NfsSpec>, bool, &'static str),
    /// `root=nbd:`.
    Nbd(&'c crate::nbd::NbdSpec),
}

fn root_source<'c>(
    c: &'c Config,
    boot: LivePlan,
    notes: &mut Vec<String>,
) -> (Option<RootSource<'c>>, LivePlan) {
    if let Some(sys) = &c.sys {
        let live = LivePlan {
            layout: LiveLayout::Linomad,
            base_dir: None,
            module: None,
        };
        (Some(RootSource::Nfs(Some(sys), false, "sys")), live)
    } else if let Some(arch) = c.archiso_nfs.as_ref().filter(|s| !s.path.is_empty()) {
        let base = c
            .archisobasedir
            .clone()
            .unwrap_or_else(|| "arch".to_owned());
        let live = LivePlan {
            layout: LiveLayout::Archiso,
            base_dir: Some(base),
            module: None,
        };
        (
            Some(RootSource::Nfs(Some(arch), false, "archiso_nfs_srv")),
            live,
        )
    } else {
        match &c.root {
            Some(RootParam::Nfs(spec, nfs4)) => {
                (Some(RootSource::Nfs(Some(spec), *nfs4, "root")), boot)
            }
            Some(RootParam::DevNfs) => (
                Some(RootSource::Nfs(c.nfsroot.as_ref(), false, "nfsroot")),
                boot,
            ),
            Some(RootParam::Nbd(spec)) => (Some(RootSource::Nbd(spec)), boot),
            Some(RootParam::Dhcp) => {
                if c.nfsroot.is_some() {
                    notes.push(
                            "nfsroot= is ignored with root=dhcp: the root comes from DHCP's root-path (dracut reads nfsroot= only with root=/dev/nfs)"
                                .to_owned(),
                        );
                }
                (Some(RootSource::Nfs(None, false, "root")), boot)
            }
            Some(RootParam::Other(dev))
                if c.netboot.is_none() && c.nfsroot.is_none() && !c.nfsroot_auto =>
            {
                notes.push(format!("root={dev} is not a network root"));
                (None, boot)
            }
            _ if c.netboot.is_some() => (
                Some(RootSource::Nfs(c.nfsroot.as_ref(), false, "nfsroot")),
                boot,
            ),
            _ if c.nfsroot.is_some() || c.nfsroot_auto => {
                notes.push(
                    "nfsroot= without root=/dev/nfs or netboot=nfs: taken as an NFS root"
                        .to_owned(),
                );
                (
                    Some(RootSource::Nfs(c.nfsroot.as_ref(), false, "nfsroot")),
                    boot,
                )
            }
            _ => (None, boot),
        }
    }
}

/// The NFS root from the parameter `source` names.
fn nfs_root(
    c: &Config,
    spec: Option<&NfsSpec>,
    nfs4: bool,
    source: &'static str,
    notes: &mut Vec<String>,
) -> Result<RootPlan, PlanError> {
    let mut options: Vec<String> = spec.map(|s| s.options.clone()).unwrap_or_default();
    options.extend(c.nfsopts.iter().cloned());
    let base = if nfs4 {
        NfsVersion::V4(None)
    } else {
        NfsVersion::V3
    };
    let nfs_version = nfs_version(&options, base).map_err(|r| err(source, r))?;
    let dialect = match c.root {
        Some(RootParam::Nfs(..) | RootParam::Dhcp) if source == "root" => RootPathDialect::Dracut,
        _ => RootPathDialect::Kernel,
    };
    // With root=dhcp the root-path is the root, and a server it names
    // comes before the ip= field (resolved later).
    let ip_server = match c.root {
        Some(RootParam::Dhcp) if source == "root" => None,
        _ => c.ip.as_ref().and_then(|i| i.server),
    };
    let listed = c.netinit.nfs_servers.first().copied();
    let server = match (spec.and_then(|s| s.server), ip_server) {
        (Some(s), _) => Some((s, ServerSource::Cmdline)),
        (None, Some(s)) => Some((IpAddr::V4(s), ServerSource::IpParam)),
        (None, None) => None,
    };
    let server = listed.map(|s| (s, ServerSource::ServerList)).or(server);
    let root = RootPlan {
        kind: RootKind::Nfs,
        server,
        path: spec.map(|s| s.path.clone()),
        options,
        nfs_version,
        dialect,
        tftpboot_default: c.root == Some(RootParam::DevNfs)
            && source == "nfsroot"
            && !c.nfsroot_auto,
        nbd: None,
        source,
        servers: c.netinit.nfs_servers.clone(),
        server_attempts: c.netinit.nfs_attempts.unwrap_or(DEFAULT_SERVER_ATTEMPTS),
    };
    if c.nfsroot_auto && source == "nfsroot" {
        notes.push(
            "nfsroot=auto: the NFS server and path come from DHCP (root-path, option 17; the server also from next-server or the DHCP server)"
                .to_owned(),
        );
    } else if c.nfsroot_auto {
        notes.push(format!("nfsroot=auto is ignored: {source}= names the root"));
    }
    Ok(root)
}

fn nbd_root(spec: &crate::nbd::NbdSpec) -> RootPlan {
    RootPlan {
        kind: RootKind::Nbd,
        server: Some((IpAddr::V4(spec.server), ServerSource::Cmdline)),
        path: Some(spec.export.clone()),
        options: Vec::new(),
        nfs_version: NfsVersion::V3,
        dialect: RootPathDialect::Kernel,
        tftpboot_default: false,
        nbd: Some(spec.clone()),
        source: "root",
        servers: Vec::new(),
        server_attempts: DEFAULT_SERVER_ATTEMPTS,
    }
}

/// The NFS version the options ask for; the last version word wins.
pub fn nfs_version(options: &[String], base: NfsVersion) -> Result<NfsVersion, String> {
    let mut version = base;
    for o in options {
        let v = match o.as_str() {
            "v2" => "2",
            "v3" => "3",
            "v4" => "4",
            _ => match o.split_once('=') {
                Some(("vers" | "nfsvers", v)) => v,
                _ => continue,
            },
        };
        version = match v {
            "3" => NfsVersion::V3,
            "4" => NfsVersion::V4(None),
            "4.0" => NfsVersion::V4(Some(0)),
            "4.1" => NfsVersion::V4(Some(1)),
            "4.2" => NfsVersion::V4(Some(2)),
            "2" => return Err("NFSv2 is not supported (use v3 or vers=4.2)".to_owned()),
            other => {
                return Err(format!(
                    "NFS version '{other}' is not one of 3, 4, 4.0, 4.1, 4.2"
                ));
            }
        };
    }
    Ok(version)
}

impl NfsVersion {
    /// `3`, `4`, `4.2`.
    pub fn as_str(self) -> String {
        match self {
            NfsVersion::V3 => "3".to_owned(),
            NfsVersion::V4(None) => "4".to_owned(),
            NfsVersion::V4(Some(m)) => format!("4.{m}"),
        }
    }
}

/// The NFS root, fully resolved once the network is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRoot {
    /// IPv4, or IPv6 when the cmdline named a bracketed literal.
    pub server: IpAddr,
    pub path: String,
    /// The user's options (root-path's first, then the cmdline's, so the
    /// cmdline wins, as in the kernel).
    pub options: Vec<String>,
    pub version: NfsVersion,
    /// Where the server came from, for the log line.
    pub server_from: ServerSource,
    /// Where each of `options` came from (`DHCP root-path` or `cmdline`).
    pub options_from: Vec<&'static str>,
    /// Options from DHCP that were not used, and why; for the log.
    pub refused: Vec<String>,
    /// `netinit.nfs_servers=`, tried in order (`server` is the first);
    /// empty for a single server.
    pub servers: Vec<IpAddr>,
}

/// Fills in what the cmdline left open from the network state. Pure.
///
/// The kernel's forms (`nfsroot=`, `root=/dev/nfs`, `netboot=nfs`, `sys=`,
/// …) take the server from the cmdline, then the `ip=` server field, then a
/// server named in DHCP's root-path (option 17), then DHCP's next-server
/// (siaddr), then the DHCP server id. dracut's forms follow
/// dracut.cmdline(7): `root=nfs:/path` without a server takes the `ip=`
/// field, next-server, the server id, and only then the root-path's server;
/// with `root=dhcp` the root-path is the root, so its server comes first.
/// Path: the cmdline, then root-path, then (`root=/dev/nfs` only) the
/// documented `/tftpboot/%s`. `%s` is the client address (nfsroot.rst), or
/// in dracut's forms the hostname when there is one (dracut).
pub fn resolve_root(plan: &BootPlan, net: &NetState) -> Result<ResolvedRoot, PlanError> {
    let Some(root) = &plan.root else {
        return Err(err(
            "root",
            "no network root on the cmdline (give nfsroot=, root=/dev/nfs, root=nfs:…, netboot=nfs, sys= or archiso_nfs_srv=)",
        ));
    };
    if root.kind != RootKind::Nfs {
        return Err(err("root", "the root is not on NFS"));
    }
    let dhcp_root = match net
        .root_path
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => Some(
            crate::config::parse_root_path(text, root.dialect)
                .map_err(|r| err("root-path (DHCP option 17)", r))?,
        ),
        None => None,
    };
    let dracut = root.dialect == RootPathDialect::Dracut;
    let Some((server, server_from)) = choose_server(plan, root, net, dhcp_root.as_ref()) else {
        return Err(err(
            "nfsroot",
            "no NFS server: give nfsroot=SERVER:/path or the ip= server field",
        ));
    };
    let path = match (&root.path, &dhcp_root) {
        (Some(p), _) => p.clone(),
        (None, Some((d, _))) => d.path.clone(),
        (None, None) if root.tftpboot_default => "/tftpboot/%s".to_owned(),
        (None, None) => {
            return Err(err(
                "nfsroot",
                "no NFS path: give nfsroot=[SERVER:]/path, or have DHCP send root-path (option 17)",
            ));
        }
    };
    let node = match (&net.hostname, &plan.network.hostname) {
        (Some(h), _) | (None, Some(h)) if dracut => h.clone(),
        _ => net.address.addr.to_string(),
    };
    let path = path.replace("%s", &node);
    let rp_nfs4 = dhcp_root.as_ref().is_some_and(|(_, v4)| *v4);
    let dhcp_options: Vec<String> = dhcp_root.map(|(d, _)| d.options).unwrap_or_default();
    let (options, options_from, refused) = merge_options(plan, root, dhcp_options);
    let base = if rp_nfs4 && root.nfs_version == NfsVersion::V3 {
        NfsVersion::V4(None)
    } else {
        root.nfs_version
    };
    let version = nfs_version(&options, base).map_err(|r| err("root-path (DHCP option 17)", r))?;
    Ok(ResolvedRoot {
        server,
        path,
        options,
        version,
        server_from,
        options_from,
        refused,
        servers: root.servers.clone(),
    })
}

/// The NFS server, from the first source in the dialect's order that has one.
fn choose_server(
    plan: &BootPlan,
    root: &RootPlan,
    net: &NetState,
    dhcp_root: Option<&(NfsSpec, bool)>,
) -> Option<(IpAddr, ServerSource)> {
    let from = |source| move |a| (a, source);
    let from4 = |source| move |a: Ipv4Addr| (IpAddr::V4(a), source);
    let rp_server = dhcp_root
        .and_then(|(d, _)| d.server)
        .map(from(ServerSource::DhcpRootPath));
    let next_server = net
        .next_server
        .filter(|a| !a.is_unspecified())
        .map(from4(ServerSource::DhcpNextServer));
    let server_id = net.server_id.map(from4(ServerSource::DhcpServer));
    let candidates = if root.dialect != RootPathDialect::Dracut {
        [root.server, rp_server, next_server, server_id]
    } else if root.path.is_none() {
        let ip_field = plan.network.server.map(from4(ServerSource::IpParam));
        [rp_server, ip_field, next_server, server_id]
    } else {
        [root.server, next_server, server_id, rp_server]
    };
    // netinit.nfs_servers= comes first: its first server is the one tried first.
    let listed = root
        .servers
        .first()
        .copied()
        .map(from(ServerSource::ServerList));
    listed
        .into_iter()
        .chain(candidates.into_iter().flatten())
        .next()
}

/// The mount options: root-path's first, then the cmdline's (which win);
/// where each came from; and the DHCP ones refused for a read-write root.
fn merge_options(
    plan: &BootPlan,
    root: &RootPlan,
    dhcp_options: Vec<String>,
) -> (Vec<String>, Vec<&'static str>, Vec<String>) {
    // A live medium, or a root under an overlay, is mounted read-only; a
    // plain root unless `ro` (the last of ro/rw wins).
    let read_only = plan.live.layout != LiveLayout::Plain
        || plan.overlay.nfs_root
        || dhcp_options
            .iter()
            .chain(&root.options)
            .rev()
            .find(|o| *o == "ro" || *o == "rw")
            .is_some_and(|o| o == "ro");
    let key = |o: &str| o.split_once('=').map_or(o, |(k, _)| k).to_owned();
    let asked: Vec<String> = root.options.iter().map(|o| key(o)).collect();
    let mut options = Vec::new();
    let mut options_from = Vec::new();
    let mut refused = Vec::new();
    for o in dhcp_options {
        if let Some(why) = risky_for_rw(&o).filter(|_| !read_only && !asked.contains(&key(&o))) {
            refused.push(format!(
                "root-path option '{o}' from DHCP ignored: {why} for a read-write root \
                 (put it on the cmdline, e.g. nfsroot=…,{o}, to use it)"
            ));
            continue;
        }
        options.push(o);
        options_from.push("DHCP root-path");
    }
    for o in &root.options {
        options.push(o.clone());
        options_from.push("cmdline");
    }
    (options, options_from, refused)
}

/// Timeouts below this (tenths of a second, 5 s) make a read-write
/// root give up on writes during a short server hiccup.
const MIN_SAFE_TIMEO: u32 = 50;

/// Why a root-path option from DHCP (anyone who can answer DHCP on the
/// segment) must not decide alone how a read-write root behaves: `soft`
/// and a tiny `timeo` turn a server hiccup into lost writes, `addr=`
/// sends the root to another host than the one named.
fn risky_for_rw(option: &str) -> Option<&'static str> {
    let (k, v) = option.split_once('=').unwrap_or((option, ""));
    match k {
        "soft" | "softerr" => Some("soft mounts lose writes when the server is slow"),
        "timeo" if v.parse::<u32>().map_or(true, |t| t < MIN_SAFE_TIMEO) => {
            Some("a timeout under 5 s loses writes when the server is slow")
        }
        "addr" => Some("it would send the root to another address than the server named"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    fn root_of(plan: &BootPlan) -> &RootPlan {
        plan.root.as_ref().expect("a network root")
    }

    fn server_of(plan: &BootPlan) -> Option<IpAddr> {
        plan.root.as_ref().and_then(|r| r.server).map(|(s, _)| s)
    }

    fn path_of(plan: &BootPlan) -> Option<&str> {
        plan.root.as_ref().and_then(|r| r.path.as_deref())
    }

    use super::*;

    use proptest::prelude::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A server address, of either family.
    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    fn p(text: &str) -> BootPlan {
        from_cmdline(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// (cmdline, method, layout, server, path, base_dir)
    #[test]
    fn real_append_lines() {
        type Row = (
            &'static str,
            NetMethod,
            LiveLayout,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let rows: &[Row] = &[
            // Ubuntu netboot (casper), from pxelinux.cfg/default on the Ubuntu wiki.
            (
                "initrd=casper/initrd boot=casper netboot=nfs nfsroot=192.168.1.2:/srv/ubuntu ip=dhcp quiet splash ---",
                NetMethod::Dhcp,
                LiveLayout::Casper,
                Some("192.168.1.2"),
                Some("/srv/ubuntu"),
                Some("casper"),
            ),
            // Debian live (live-boot).
            (
                "boot=live netboot=nfs nfsroot=10.0.0.1:/srv/debian-live components quiet splash",
                NetMethod::Dhcp,
                LiveLayout::LiveBoot,
                Some("10.0.0.1"),
                Some("/srv/debian-live"),
                Some("live"),
            ),
            // Arch wiki diskless.
            (
                "root=/dev/nfs nfsroot=10.0.0.1:/arch,v3,rsize=16384 ip=::::::dhcp",
                NetMethod::Dhcp,
                LiveLayout::Plain,
                Some("10.0.0.1"),
                Some("/arch"),
                None,
            ),
            // linomad with a static ip= and a CIDR prefix.
            (
                "sys=10.77.0.1:/export/linomad ip=10.77.0.50:10.77.0.1:10.77.0.1:24",
                NetMethod::Static,
                LiveLayout::Linomad,
                Some("10.77.0.1"),
                Some("/export/linomad"),
                None,
            ),
            // archiso PXE (NFS).
            (
                "archisobasedir=arch archiso_nfs_srv=10.0.0.1:/run/archiso/bootmnt ip=:::::eth0:dhcp",
                NetMethod::Dhcp,
                LiveLayout::Archiso,
                Some("10.0.0.1"),
                Some("/run/archiso/bootmnt"),
                Some("arch"),
            ),
            // Root path only from DHCP.
            (
                "root=/dev/nfs ip=dhcp",
                NetMethod::Dhcp,
                LiveLayout::Plain,
                None,
                None,
                None,
            ),
            (
                "boot=casper netboot=nfs",
                NetMethod::Dhcp,
                LiveLayout::Casper,
                None,
                None,
                Some("casper"),
            ),
            (
                "root=dhcp",
                NetMethod::Dhcp,
                LiveLayout::Plain,
                None,
                None,
                None,
            ),
            // dracut.
            (
                "root=nfs:10.0.0.1:/srv/root:vers=4.2 ip=enp1s0:dhcp",
                NetMethod::Dhcp,
                LiveLayout::Plain,
                Some("10.0.0.1"),
                Some("/srv/root"),
                None,
            ),
            // Not a network boot at all.
            (
                "root=/dev/sda1 ro quiet",
                NetMethod::Off,
                LiveLayout::Plain,
                None,
                None,
                None,
            ),
            ("", NetMethod::Off, LiveLayout::Plain, None, None, None),
        ];
        for (text, method, layout, server, path, base) in rows {
            let plan = p(text);
            assert_eq!(plan.network.method, *method, "{text}");
            assert_eq!(plan.live.layout, *layout, "{text}");
            assert_eq!(server_of(&plan), server.map(ip), "{text}");
            assert_eq!(path_of(&plan), *path, "{text}");
            assert_eq!(plan.live.base_dir.as_deref(), *base, "{text}");
        }
    }

    #[test]
    fn hook_mode_layout_comes_from_netinit_layout() {
        for (text, layout, base) in [
            (
                "boot=netinit netboot=nfs nfsroot=10.77.0.1:/export/live netinit.layout=live",
                LiveLayout::LiveBoot,
                Some("live"),
            ),
            (
                "boot=netinit netboot=nfs nfsroot=10.77.0.1:/c netinit.layout=casper",
                LiveLayout::Casper,
                Some("casper"),
            ),
            (
                "boot=netinit root=/dev/nfs nfsroot=10.77.0.1:/a netinit.layout=archiso",
                LiveLayout::Archiso,
                Some("arch"),
            ),
            (
                "boot=netinit root=/dev/nfs nfsroot=10.77.0.1:/s netinit.layout=linomad",
                LiveLayout::Linomad,
                None,
            ),
            (
                "boot=netinit root=/dev/nfs nfsroot=10.77.0.1:/d",
                LiveLayout::Plain,
                None,
            ),
        ] {
            let plan = p(text);
            assert_eq!(
                (plan.live.layout, plan.live.base_dir.as_deref()),
                (layout, base),
                "{text}"
            );
            assert_eq!(root_of(&plan).kind, RootKind::Nfs, "{text}");
        }
        assert!(
            from_cmdline("netinit.layout=zfs")
                .unwrap_err()
                .to_string()
                .contains("'zfs' is not casper")
        );
    }

    #[test]
    fn defaults() {
        let plan = p("root=/dev/nfs nfsroot=10.0.0.1:/x");
        assert_eq!(plan.init, "/sbin/init");
        assert_eq!(plan.overlay.size, OverlaySize::Percent(50));
        assert_eq!(
            plan.failure,
            FailurePolicy {
                shell: true,
                reboot_after_secs: 30
            }
        );
        assert_eq!(plan.timeouts, Timeouts::default());
        assert_eq!(root_of(&plan).nfs_version, NfsVersion::V3);
        assert_eq!(
            root_of(&plan).server.map(|(_, s)| s),
            Some(ServerSource::Cmdline)
        );
        assert!(plan.modules.is_empty());
    }

    #[test]
    fn several_ip_words_vlans_bonds_routes() {
        // Same or no device: the last word wins, as before.
        let n =
            p("ip=eth0:dhcp ip=eth0:off root=/dev/nfs nfsroot=10.0.0.1:/x ip=10.0.0.5::::::off")
                .network;
        assert_eq!((n.method, n.more.len()), (NetMethod::Static, 0));
        // Different devices: one interface each; the first boots.
        let n =
            p("ip=eth0:dhcp ip=10.1.0.5:::16::eth1:off ip=eth2:dhcp ip=eth2:off root=dhcp").network;
        assert_eq!(n.device.as_deref(), Some("eth0"));
        let more: Vec<(&str, NetMethod)> = n
            .more
            .iter()
            .map(|m| (m.device.as_str(), m.method))
            .collect();
        assert_eq!(
            more,
            [("eth1", NetMethod::Static), ("eth2", NetMethod::Off)]
        );
        assert_eq!(n.more[0].address.map(|a| a.prefix), Some(16));
        // bootdev= picks another word as the boot one.
        let n = p("ip=eth0:dhcp ip=eth1:dhcp bootdev=eth1 root=dhcp").network;
        assert_eq!(n.device.as_deref(), Some("eth1"));
        assert_eq!(n.more[0].device, "eth0");
        // A VLAN (else a bond) is the boot interface when no ip= names one; the modules come along.
        let plan = p("bond vlan=bond0.7:bond0 rd.route=10.9.0.0/16:10.0.0.1 root=dhcp");
        assert_eq!(plan.network.device.as_deref(), Some("bond0.7"));
        assert_eq!(plan.modules, ["8021q", "bonding"]);
        assert_eq!(plan.module_params[0].param, "max_bonds=0");
        assert_eq!(
            plan.network.routes[0].to_string(),
            "10.9.0.0/16 via 10.0.0.1"
        );
        for (text, want) in [
            (
                "bond=bond0:eth0,eth1 bond=bond1:eth1,eth2 root=dhcp",
                "bond=: 'eth1' is a slave of two bonds",
            ),
            (
                "bond=bond0:eth0,eth1 vlan=eth0.5:eth0 root=dhcp",
                "vlan=: eth0.5: the parent eth0 is a bond slave",
            ),
            (
                "bond=bond0:eth0,eth1 ip=eth1:dhcp root=dhcp",
                "ip=: eth1 is a bond slave",
            ),
            (
                "bond=vlan5:eth0,eth1 vlan=vlan5:eth2 root=dhcp",
                "vlan=: vlan5 is also a bond",
            ),
        ] {
            let e = from_cmdline(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn static_network() {
        let plan = p(
            "ip=10.0.0.5:10.0.0.1:10.0.0.254:255.255.255.0:node5:eth0:off:10.0.0.2 nameserver=10.0.0.3 root=/dev/nfs nfsroot=/srv/%s",
        );
        let n = &plan.network;
        assert_eq!(n.method, NetMethod::Static);
        assert_eq!(
            n.address,
            Some(Ipv4Cidr {
                addr: a("10.0.0.5"),
                prefix: 24
            })
        );
        assert_eq!(
            (n.gateway, n.server),
            (Some(a("10.0.0.254")), Some(a("10.0.0.1")))
        );
        assert_eq!(n.hostname.as_deref(), Some("node5"));
        assert_eq!(n.device.as_deref(), Some("eth0"));
        assert_eq!(n.dns, [a("10.0.0.2"), a("10.0.0.3")]);
        // nfsroot without a server: the ip= server field.
        assert_eq!(
            root_of(&plan).server,
            Some((ip("10.0.0.1"), ServerSource::IpParam))
        );
        let plan = p("ip=10.1.2.3::::::");
        assert_eq!(plan.network.address.map(|c| c.prefix), Some(8));
        assert!(plan.notes.iter().any(|n| n.contains("class default /8")));
    }

    #[test]
    fn nfs_versions() {
        for (text, want) in [
            ("root=nfs4:10.0.0.1:/r", NfsVersion::V4(None)),
            ("root=nfs4:10.0.0.1:/r:vers=4.1", NfsVersion::V4(Some(1))),
            (
                "nfsroot=10.0.0.1:/r,vers=4.2 root=/dev/nfs",
                NfsVersion::V4(Some(2)),
            ),
            ("nfsroot=10.0.0.1:/r,v4,v3 root=/dev/nfs", NfsVersion::V3),
            (
                "boot=live netboot=nfs nfsroot=10.0.0.1:/r nfsopts=nfsvers=4",
                NfsVersion::V4(None),
            ),
        ] {
            assert_eq!(root_of(&p(text)).nfs_version, want, "{text}");
        }
        assert!(
            from_cmdline("root=/dev/nfs nfsroot=10.0.0.1:/r,vers=2")
                .unwrap_err()
                .to_string()
                .contains("NFSv2")
        );
        assert!(
            from_cmdline("root=/dev/nfs nfsroot=10.0.0.1:/r,vers=5")
                .unwrap_err()
                .to_string()
                .contains("'5'")
        );
    }

    #[test]
    fn plan_errors() {
        for (text, want) in [
            (
                "ip=off root=/dev/nfs nfsroot=10.0.0.1:/x",
                "ip=: the network is off",
            ),
            ("ip=rarp", "ip=: autoconf 'rarp' is not supported"),
            (
                "netboot=cifs boot=casper",
                "netboot=: 'cifs' is not supported",
            ),
            (
                "ip=255.255.255.255::::::",
                "ip=: field 1 (client-ip) '255.255.255.255' is not a host address",
            ),
            (
                "ip=10.0.0.5:::255.0.255.0",
                "ip=: field 4 (netmask) '255.0.255.0' is not a valid mask",
            ),
            (
                "nfsroot=srv:/x",
                "nfsroot=: server 'srv' is not an IPv4 address",
            ),
            (
                "BOOTIF=01-aa-bb",
                "BOOTIF=: '01-aa-bb' is not 01-aa-bb-cc-dd-ee-ff",
            ),
        ] {
            let e = from_cmdline(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    fn net(root_path: Option<&str>, next: Option<&str>, sid: Option<&str>) -> NetState {
        NetState {
            server_id: sid.map(a),
            next_server: next.map(a),
            root_path: root_path.map(str::to_owned),
            ..crate::fixtures::net_state()
        }
    }

    /// A root on an IPv6 literal: IPv6 alone is enough, IPv4 alone is
    /// refused, and the server resolves without DHCP. A server left to
    /// DHCP still needs IPv4 (only DHCPv4 names one).
    #[test]
    fn roots_over_ipv6() {
        let six: IpAddr = ip("fd00::1");
        for (text, method, v6) in [
            (
                "ip=auto6 nfsroot=[fd00::1]:/export",
                NetMethod::Off,
                Ipv6Mode::Auto6,
            ),
            (
                "ip=dhcp6 root=nfs:[fd00::1]:/export",
                NetMethod::Off,
                Ipv6Mode::Dhcp6,
            ),
            (
                "boot=casper netboot=nfs nfsroot=[fd00::1]:/export ip=dhcp,auto6",
                NetMethod::Dhcp,
                Ipv6Mode::Auto6,
            ),
            (
                "root=[fd00::1]:/export ip=eth0:auto6",
                NetMethod::Off,
                Ipv6Mode::Auto6,
            ),
            (
                "root=/dev/nfs nfsroot=10.0.0.1:/export netinit.nfs_servers=[fd00::1] ip=dhcp,dhcp6",
                NetMethod::Dhcp,
                Ipv6Mode::Dhcp6,
            ),
        ] {
            let plan = p(text);
            assert_eq!(
                (plan.network.method, plan.network.ipv6),
                (method, Some(v6)),
                "{text}"
            );
            assert_eq!(server_of(&plan), Some(six), "{text}");
            assert!(plan.root_over_ipv6(), "{text}");
            let r = resolve_root(&plan, &net(None, Some("10.77.0.2"), None)).unwrap();
            assert_eq!((r.server, r.path.as_str()), (six, "/export"), "{text}");
        }
        for text in [
            "boot=casper url=http://[fd00::1]/u.iso ip=auto6",
            "root=live:http://[fd00::1]:8080/r.squashfs ip=dhcp6",
        ] {
            let plan = p(text);
            assert_eq!(plan.network.method, NetMethod::Off, "{text}");
            assert!(plan.root_over_ipv6(), "{text}");
        }
        assert!(!p("root=/dev/nfs nfsroot=10.0.0.1:/x ip=dhcp,auto6").root_over_ipv6());
        for (text, want) in [
            (
                "nfsroot=[fd00::1]:/export",
                "ip=: the root server fd00::1 is IPv6, but no ip= word asks for IPv6",
            ),
            (
                "root=nfs:[fd00::1]:/export ip=dhcp",
                "ip=: the root server fd00::1 is IPv6",
            ),
            (
                "url=http://[fd00::1]/u.iso boot=casper ip=dhcp",
                "ip=: the root server fd00::1 is IPv6",
            ),
            (
                "root=/dev/nfs ip=auto6",
                "ip=: ip=auto6: over IPv6 alone the NFS server must be an IPv6 literal (nfsroot=[fd00::1]:/path)",
            ),
            (
                "nfsroot=[fd00::1]:/x netinit.nfs_servers=[fd00::1],10.0.0.2 ip=dhcp6",
                "ip=: ip=dhcp6: over IPv6 alone the NFS server must be an IPv6 literal",
            ),
            (
                "boot=casper url=http://[fd00::1]/u.iso netinit.mirror=http://10.0.0.2/u.iso ip=auto6",
                "ip=: ip=auto6: over IPv6 alone every URL's host must be an IPv6 literal",
            ),
            (
                "root=nbd:10.0.0.1:10809 ip=dhcp6",
                "ip=: ip=dhcp6: an NBD root needs IPv4",
            ),
        ] {
            let e = from_cmdline(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    /// casper's `nfsroot=auto`, `ip=frommedia` and upper-case words.
    #[test]
    fn casper_forms_plan() {
        let rp = net(Some("10.77.0.9:/export/ubuntu"), Some("10.77.0.2"), None);
        let no_path = net(None, Some("10.77.0.2"), None);
        for text in [
            "boot=casper netboot=nfs nfsroot=auto ip=dhcp",
            "boot=casper NETBOOT=nfs NFSROOT=auto",
            "boot=casper root=/dev/nfs nfsroot=auto ip=frommedia",
            "boot=casper nfsroot=auto",
        ] {
            let plan = p(text);
            assert_eq!(plan.network.method, NetMethod::Dhcp, "{text}");
            assert_eq!(plan.live.layout, LiveLayout::Casper, "{text}");
            assert_eq!((server_of(&plan), path_of(&plan)), (None, None), "{text}");
            assert!(
                plan.notes.iter().any(|n| n.starts_with("nfsroot=auto:")),
                "{text}: {:?}",
                plan.notes
            );
            let r = resolve_root(&plan, &rp).unwrap();
            assert_eq!(
                (r.server, r.path.as_str()),
                (ip("10.77.0.9"), "/export/ubuntu"),
                "{text}"
            );
            // No root-path: auto never falls back to /tftpboot/%s.
            let e = resolve_root(&plan, &no_path).unwrap_err();
            assert!(e.reason.contains("no NFS path"), "{text}: {e}");
        }
        let plan = p("boot=casper netboot=nfs nfsroot=10.0.0.1:/x ip=frommedia");
        assert_eq!(plan.network.method, NetMethod::Dhcp);
        assert!(plan.notes.iter().any(|n| n.starts_with("ip=frommedia:")));
        let plan = p("boot=casper NETBOOT=nfs NFSROOT=10.0.0.1:/srv/ubuntu");
        assert_eq!(server_of(&plan), Some(ip("10.0.0.1")));
        assert_eq!(path_of(&plan), Some("/srv/ubuntu"));
        // A predictable device name is noted; a kernel name is not.
        let plan = p("root=/dev/nfs nfsroot=10.0.0.1:/x ip=enp0s3:dhcp");
        assert_eq!(plan.network.device.as_deref(), Some("enp0s3"));
        assert!(plan.notes.iter().any(|n| n.contains("predictable name")));
        let plan = p("root=/dev/nfs nfsroot=10.0.0.1:/x ip=eth0:dhcp");
        assert!(!plan.notes.iter().any(|n| n.contains("predictable name")));
        assert_eq!(
            p("root=/dev/nfs nfsroot=10.0.0.1:/x break=mount").breaks,
            [BreakPoint::Nfs]
        );
    }

    #[test]
    fn resolve_precedence() {
        let srv = |text: &str, n: &NetState| {
            resolve_root(&p(text), n)
                .map(|r| (r.server.to_string(), r.path, r.server_from.as_str()))
        };
        let full = net(
            Some("10.77.0.9:/export/rp,vers=4.2"),
            Some("10.77.0.2"),
            Some("10.77.0.3"),
        );
        assert_eq!(
            srv("root=/dev/nfs nfsroot=10.77.0.1:/x", &full),
            Ok(("10.77.0.1".into(), "/x".into(), "cmdline"))
        );
        assert_eq!(
            srv("root=/dev/nfs nfsroot=/x ip=:10.77.0.4:::::dhcp", &full),
            Ok(("10.77.0.4".into(), "/x".into(), "ip="))
        );
        assert_eq!(
            srv("root=/dev/nfs", &full),
            Ok(("10.77.0.9".into(), "/export/rp".into(), "DHCP root-path"))
        );
        let no_rp_server = net(Some("/export/rp"), Some("10.77.0.2"), Some("10.77.0.3"));
        assert_eq!(
            srv("root=/dev/nfs", &no_rp_server),
            Ok(("10.77.0.2".into(), "/export/rp".into(), "DHCP next-server"))
        );
        let sid_only = net(Some("/export/rp"), Some("0.0.0.0"), Some("10.77.0.3"));
        assert_eq!(
            srv("boot=casper netboot=nfs", &sid_only),
            Ok(("10.77.0.3".into(), "/export/rp".into(), "DHCP server"))
        );
        // %s is the client address.
        assert_eq!(
            srv("root=/dev/nfs nfsroot=10.77.0.1:/clients/%s", &full)
                .unwrap()
                .1,
            "/clients/10.77.0.100"
        );
        // Version and options: root-path's first, the cmdline's win.
        let r = resolve_root(&p("root=/dev/nfs"), &full).unwrap();
        assert_eq!(r.version, NfsVersion::V4(Some(2)));
        let e = from_cmdline("root=/dev/nfs nfsroot=,v3")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "nfsroot=: path '' is not absolute");
    }

    /// dracut's forms against next-server 10.77.0.2, server id 10.77.0.1
    /// and a root-path naming 10.77.0.3: (cmdline, root-path, server,
    /// where from, path, options, version).
    #[test]
    fn resolve_dracut_forms() {
        type Row = (
            &'static str,
            Option<&'static str>,
            &'static str,
            &'static str,
            &'static str,
            &'static [&'static str],
            &'static str,
        );
        let rows: &[Row] = &[
            // A missing server: next-server first, the root-path's last; the cmdline's path stays.
            (
                "root=nfs:/export/a",
                Some("10.77.0.3:/export/rp"),
                "10.77.0.2",
                "DHCP next-server",
                "/export/a",
                &[],
                "3",
            ),
            (
                "root=/export/a:vers=4.2",
                Some("10.77.0.3:/export/rp"),
                "10.77.0.2",
                "DHCP next-server",
                "/export/a",
                &["vers=4.2"],
                "4.2",
            ),
            (
                "root=nfs::/export/a ip=:10.77.0.4:::::dhcp",
                None,
                "10.77.0.4",
                "ip=",
                "/export/a",
                &[],
                "3",
            ),
            (
                "root=10.77.0.9:/export/a,rsize=8192",
                Some("10.77.0.3:/export/rp"),
                "10.77.0.9",
                "cmdline",
                "/export/a",
                &["rsize=8192"],
                "3",
            ),
            // root=dhcp: the root-path is the root, with its prefix and either separator.
            (
                "root=dhcp",
                Some("nfs4:10.77.0.3:/export/rp:vers=4.2,sec=sys"),
                "10.77.0.3",
                "DHCP root-path",
                "/export/rp",
                &["vers=4.2", "sec=sys"],
                "4.2",
            ),
            (
                "root=dhcp",
                Some("nfs4:10.77.0.3:/export/rp"),
                "10.77.0.3",
                "DHCP root-path",
                "/export/rp",
                &[],
                "4",
            ),
            (
                "root=dhcp",
                Some("nfs:10.77.0.3:/export/rp,vers=3"),
                "10.77.0.3",
                "DHCP root-path",
                "/export/rp",
                &["vers=3"],
                "3",
            ),
            (
                "root=dhcp ip=:10.77.0.4:::::dhcp",
                Some("10.77.0.3:/export/rp"),
                "10.77.0.3",
                "DHCP root-path",
                "/export/rp",
                &[],
                "3",
            ),
            (
                "root=dhcp ip=:10.77.0.4:::::dhcp",
                Some("/export/rp"),
                "10.77.0.4",
                "ip=",
                "/export/rp",
                &[],
                "3",
            ),
            (
                "root=dhcp",
                Some("/export/rp:ro"),
                "10.77.0.2",
                "DHCP next-server",
                "/export/rp",
                &["ro"],
                "3",
            ),
            // The kernel's form reads the same root-path its own way.
            (
                "root=/dev/nfs",
                Some("nfs:10.77.0.3:/export/rp:ro"),
                "10.77.0.3",
                "DHCP root-path",
                "/export/rp:ro",
                &[],
                "3",
            ),
            (
                "root=/dev/nfs nfsroot=/export/a",
                Some("10.77.0.3:/export/rp,vers=4.2"),
                "10.77.0.3",
                "DHCP root-path",
                "/export/a",
                &["vers=4.2"],
                "4.2",
            ),
        ];
        for (text, rp, server, from, path, options, vers) in rows {
            let r = resolve_root(&p(text), &net(*rp, Some("10.77.0.2"), Some("10.77.0.1")))
                .unwrap_or_else(|e| panic!("{text} / {rp:?}: {e}"));
            assert_eq!(
                (
                    r.server.to_string().as_str(),
                    r.server_from.as_str(),
                    r.path.as_str(),
                    r.options.clone(),
                    r.version.as_str()
                ),
                (
                    *server,
                    *from,
                    *path,
                    options.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
                    vers.to_string()
                ),
                "{text} / {rp:?}"
            );
        }
        // No next-server: the DHCP server id.
        let r = resolve_root(
            &p("root=nfs:/export/a"),
            &net(None, None, Some("10.77.0.1")),
        )
        .unwrap();
        assert_eq!(
            (r.server.to_string(), r.server_from.as_str()),
            ("10.77.0.1".into(), "DHCP server")
        );
        // %s: the hostname in dracut's forms, the address in the kernel's.
        let mut n = net(None, None, Some("10.77.0.1"));
        n.hostname = Some("node7".into());
        assert_eq!(
            resolve_root(&p("root=nfs:/clients/%s"), &n).unwrap().path,
            "/clients/node7"
        );
        assert_eq!(
            resolve_root(&p("root=/dev/nfs nfsroot=/clients/%s"), &n)
                .unwrap()
                .path,
            "/clients/10.77.0.100"
        );
    }

    #[test]
    fn dracut_knobs_map_onto_ours() {
        // (cmdline, carrier, dhcp, nfs)
        for (text, carrier, dhcp, nfs) in [
            ("root=dhcp rd.net.timeout.carrier=5", 5, 90, 60),
            (
                "root=dhcp rd.net.timeout.dhcp=20 rd.net.dhcp.retry=3",
                15,
                60,
                60,
            ),
            ("root=dhcp rd.net.dhcp.retry=2", 15, 180, 60),
            ("root=dhcp rd.net.timeout.dhcp=30", 15, 30, 60),
            ("root=dhcp rd.retry=300", 15, 90, 300),
            // Ours win, whatever the order.
            (
                "root=dhcp netinit.dhcp_timeout=10 rd.net.timeout.dhcp=20 rd.retry=5 netinit.nfs_timeout=7",
                15,
                10,
                7,
            ),
        ] {
            let t = p(text).timeouts;
            assert_eq!(
                (t.carrier_secs, t.dhcp_secs, t.nfs_secs),
                (carrier, dhcp, nfs),
                "{text}"
            );
        }
        let plan = p("root=dhcp rd.net.timeout.iflink=30 rd.net.timeout.ifup=5");
        assert_eq!(plan.timeouts.link_secs, 30);
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(plan.notes[0].starts_with("rd.net.timeout.ifup= is accepted and has no effect"));
        // rd.neednet=1: the network comes up without a network root.
        assert_eq!(p("rd.neednet=1").network.method, NetMethod::Dhcp);
        assert_eq!(p("root=/dev/sda1").network.method, NetMethod::Off);
        // rd.peerdns=0: only the cmdline's servers.
        let dhcp = [a("10.77.0.1"), a("10.77.0.5")];
        let n = p("root=dhcp nameserver=10.77.0.5 nameserver=10.77.0.9").network;
        assert_eq!(
            n.dns_for(&dhcp),
            [a("10.77.0.5"), a("10.77.0.9"), a("10.77.0.1")]
        );
        let n = p("root=dhcp nameserver=10.77.0.9 rd.peerdns=0").network;
        assert_eq!(n.dns_for(&dhcp), [a("10.77.0.9")]);
        // ifname= then ip=<name>:dhcp.
        let n = p("root=dhcp ifname=bootnet:52:54:00:00:00:02 ip=bootnet:dhcp").network;
        assert_eq!(n.device.as_deref(), Some("bootnet"));
        assert_eq!(n.ifnames[0].mac.to_string(), "52:54:00:00:00:02");
        assert!(
            p("root=dhcp ifname=eth3:52:54:00:00:00:02").notes[0].contains("kernel-style name")
        );
    }

    #[test]
    fn overlay_on_an_nfs_root() {
        // (cmdline, nfs_root, size)
        for (text, on, size) in [
            (
                "root=nfs:10.0.0.1:/srv rd.overlay",
                true,
                OverlaySize::Percent(50),
            ),
            (
                "root=nfs:10.0.0.1:/srv rd.overlay=tmpfs:size=512M",
                true,
                OverlaySize::Bytes(512 << 20),
            ),
            (
                "root=/dev/nfs nfsroot=10.0.0.1:/srv netinit.overlay=1 netinit.overlay_size=25%",
                true,
                OverlaySize::Percent(25),
            ),
            (
                "root=nfs:10.0.0.1:/srv rd.overlay netinit.overlay=0",
                false,
                OverlaySize::Percent(50),
            ),
            ("root=nfs:10.0.0.1:/srv", false, OverlaySize::Percent(50)),
            // A live image has its overlay anyway.
            (
                "boot=casper netboot=nfs nfsroot=10.0.0.1:/srv netinit.overlay=1",
                false,
                OverlaySize::Percent(50),
            ),
        ] {
            let plan = p(text);
            assert_eq!(
                (plan.overlay.nfs_root, plan.overlay.size),
                (on, size),
                "{text}"
            );
        }
        assert!(
            p("boot=casper netboot=nfs nfsroot=10.0.0.1:/srv rd.overlay").notes[0]
                .contains("always gets a tmpfs overlay")
        );
        assert!(p("rd.overlay").notes[0].contains("no network root"));
    }

    #[test]
    fn risky_root_path_options_from_dhcp_need_the_cmdline_for_a_rw_root() {
        let rp = net(
            Some("10.77.0.9:/export/rp,soft,timeo=5,addr=10.66.0.1,rsize=8192,timeo=600"),
            None,
            None,
        );
        // A read-write NFS root: a DHCP server may not make it soft,
        // nearly time-out-free or point it at another address.
        let r = resolve_root(&p("root=/dev/nfs"), &rp).unwrap();
        assert_eq!(r.options, ["rsize=8192", "timeo=600"]);
        assert_eq!(r.options_from, ["DHCP root-path", "DHCP root-path"]);
        assert_eq!(r.refused.len(), 3, "{:?}", r.refused);
        assert!(r.refused[0].contains("'soft'"), "{:?}", r.refused);
        assert!(r.refused.iter().all(|w| w.contains("read-write")));
        // The cmdline asks for soft: the DHCP one is accepted too.
        let r = resolve_root(&p("root=/dev/nfs nfsroot=/export/rp,soft"), &rp).unwrap();
        assert_eq!(r.options, ["soft", "rsize=8192", "timeo=600", "soft"]);
        assert_eq!(
            r.options_from,
            [
                "DHCP root-path",
                "DHCP root-path",
                "DHCP root-path",
                "cmdline"
            ]
        );
        assert_eq!(r.refused.len(), 2);
        // A read-only root, or a live medium (mounted read-only), takes them.
        let r = resolve_root(&p("root=/dev/nfs nfsroot=/export/rp,ro"), &rp).unwrap();
        assert!(r.refused.is_empty(), "{:?}", r.refused);
        let r = resolve_root(&p("boot=casper netboot=nfs"), &rp).unwrap();
        assert!(r.refused.is_empty(), "{:?}", r.refused);
        assert_eq!(r.options.len(), 5);
    }

    #[test]
    fn resolve_failures_say_what_is_missing() {
        let bare = net(None, None, None);
        let e = resolve_root(&p("root=/dev/nfs"), &bare)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no NFS server"), "{e}");
        let e = resolve_root(&p("root=dhcp"), &net(None, None, Some("10.0.0.1")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no NFS path"), "{e}");
        // root=/dev/nfs alone: the path both nfsroot.rst and dracut document.
        let r = resolve_root(&p("root=/dev/nfs"), &net(None, None, Some("10.0.0.1"))).unwrap();
        assert_eq!(r.path, "/tftpboot/10.77.0.100");
        let e = resolve_root(&p("root=/dev/sda1"), &bare)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no network root"), "{e}");
        let e = resolve_root(&p("root=/dev/nfs"), &net(Some("server:/x"), None, None))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("root-path (DHCP option 17)=: server 'server'"),
            "{e}"
        );
    }

    proptest! {
        #[test]
        fn planning_never_panics(text in "\\PC*") {
            let _ = from_cmdline(&text);
        }

        #[test]
        fn planning_never_panics_on_plausible_words(words in proptest::collection::vec(
            (proptest::sample::select(vec!["ip", "nfsroot", "root", "boot", "netboot", "sys", "BOOTIF", "toram", "archiso_nfs_srv", "netinit.modules", "nfsopts", "init", "ifname", "rd.overlay", "rd.net.dhcp.retry", "rd.net.timeout.dhcp", "rd.neednet", "netinit.overlay"]),
             "[0-9a-z:/.,%=-]{0,24}"), 0..6)) {
            let text: Vec<String> = words.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if let Ok(plan) = from_cmdline(&text.join(" ")) {
                let _ = resolve_root(&plan, &net(Some("10.0.0.1:/r"), None, None));
            }
        }
    }

    #[test]
    fn root_modules_follow_root_kind_version_and_layout() {
        let m = |text: &str| root_modules(&from_cmdline(text).unwrap());
        assert_eq!(
            m("boot=live netboot=nfs nfsroot=10.0.0.1:/x ip=dhcp"),
            ["nfs", "nfsv3", "loop", "squashfs", "overlay"]
        );
        assert_eq!(
            m("root=/dev/nfs nfsroot=10.0.0.1:/x,vers=4.2 ip=dhcp"),
            ["nfs", "nfsv4"]
        );
        assert!(m("quiet").is_empty());
    }
}
