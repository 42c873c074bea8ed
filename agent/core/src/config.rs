//! Typed parameters: every cmdline dialect netinit accepts, each parsed in
//! exactly one place. [`Config::parse`] reads the tokenized cmdline;
//! the planner ([`crate::plan`]) decides what it means as a whole.
//!
//! Dialects: the kernel (`ip=`, `nfsroot=`, `root=/dev/nfs`, `init=`),
//! dracut (`root=nfs:…`, `root=nfs4:…`, `root=SERVER:/path`, `root=dhcp`,
//! `ip=<dev>:dhcp`, `nameserver=`, `ifname=`, `rd.overlay`, `rd.net.*`,
//! `rd.neednet`, `rd.peerdns`, `rd.retry`), casper and live-boot (`boot=`, `netboot=nfs`,
//! `live-media-path=`, `module=`, `layerfs-path=`, `nfsopts=`, `ethdevice=`, `toram`,
//! `overlay-size=`), archiso (`archiso_nfs_srv=`, `archisobasedir=`,
//! `archiso_nfs_opt=`), linomad (`sys=`), pxelinux (`BOOTIF=`), and our
//! own `netinit.*` namespace. Everything else is kept and ignored.

use std::net::{IpAddr, Ipv4Addr};

use crate::cmdline::{Cmdline, Param};
use crate::ipconf::{IpParam, parse_ip};
use crate::net::MacAddr;
use crate::netdev::{Bond, StaticRoute, Vlan, check_ifname, parse_bond, parse_route, parse_vlan};
use crate::size::{OverlaySize, parse_size};

/// A cmdline parameter that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The parameter at fault, e.g. `nfsroot`.
    pub param: String,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=: {}", self.param, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// The live image layout to look for on the mounted root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveLayout {
    Casper,
    LiveBoot,
    Archiso,
    Linomad,
    /// No live image: the NFS export is the root (Arch diskless).
    Plain,
}

impl LiveLayout {
    /// Where the distribution's userland looks for the boot medium (an
    /// installer, live-config, archiso's services): the NFS export is
    /// also mounted there. A path under /run lives in the initramfs's
    /// /run, which moves into the new root; others are in the new root.
    pub fn medium_path(self) -> Option<&'static str> {
        match self {
            LiveLayout::Casper => Some("/cdrom"),
            LiveLayout::LiveBoot => Some("/run/live/medium"),
            LiveLayout::Archiso => Some("/run/archiso/bootmnt"),
            // linomad's userland looks for no medium: its modules are the root.
            LiveLayout::Linomad | LiveLayout::Plain => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LiveLayout::Casper => "casper",
            LiveLayout::LiveBoot => "live-boot",
            LiveLayout::Archiso => "archiso",
            LiveLayout::Linomad => "linomad",
            LiveLayout::Plain => "none",
        }
    }
}

/// A step netinit can stop before for a debug shell; the names are
/// netinit's step names (the log's `<step>: done in` lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakPoint {
    Modules,
    Link,
    /// Address configuration, by DHCP or static.
    Dhcp,
    Nfs,
    Handoff,
    SwitchRoot,
}

impl BreakPoint {
    pub const ALL: [BreakPoint; 6] = [
        BreakPoint::Modules,
        BreakPoint::Link,
        BreakPoint::Dhcp,
        BreakPoint::Nfs,
        BreakPoint::Handoff,
        BreakPoint::SwitchRoot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BreakPoint::Modules => "modules",
            BreakPoint::Link => "link",
            BreakPoint::Dhcp => "dhcp",
            BreakPoint::Nfs => "nfs",
            BreakPoint::Handoff => "handoff",
            BreakPoint::SwitchRoot => "switch_root",
        }
    }
}

/// `module.param=value` from the cmdline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleParam {
    /// Module name, normalised (`-` → `_`).
    pub module: String,
    /// `param=value`, as finit_module wants it.
    pub param: String,
}

/// An NFS location: `[server:]path` plus options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsSpec {
    /// An IPv4 address, or an IPv6 one written in brackets (`[fd00::1]`).
    pub server: Option<IpAddr>,
    pub path: String,
    pub options: Vec<String>,
}

/// What `root=` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootParam {
    /// `root=/dev/nfs`: the kernel's way to say "NFS root, see nfsroot=".
    DevNfs,
    /// dracut's `root=nfs:…` / `root=nfs4:…` (the bool is `nfs4`), and
    /// its legacy `root=[SERVER:]/path[:options]`.
    Nfs(NfsSpec, bool),
    /// dracut's `root=dhcp`: the root path comes from DHCP option 17.
    Dhcp,
    /// dracut's `root=nbd:SERVER:PORT[/EXPORT][:fstype[:rootflags]]`.
    Nbd(crate::nbd::NbdSpec),
    /// Anything else (a local device): not a network root.
    Other(String),
}

/// The `netinit.*` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetinitParams {
    pub modules: Vec<String>,
    pub overlay_size: Option<OverlaySize>,
    pub reboot: Option<u32>,
    pub shell: Option<bool>,
    pub carrier_timeout: Option<u32>,
    pub dhcp_timeout: Option<u32>,
    pub nfs_timeout: Option<u32>,
    /// `netinit.module_jobs=`: modules loaded at once.
    pub module_jobs: Option<u32>,
    /// `netinit.layout=`: the live layout when `boot=` is taken (hook mode
    /// uses `boot=netinit`).
    pub layout: Option<LiveLayout>,
    /// `netinit.lease_keeper=0` turns the lease keeper off.
    pub lease_keeper: Option<bool>,
    /// `netinit.overlay=0|1`: a read-only NFS root under a tmpfs overlay.
    pub overlay: Option<bool>,
    /// `netinit.nfs_servers=IP[,IP…]`: NFS servers tried in order.
    pub nfs_servers: Vec<IpAddr>,
    /// `netinit.nfs_attempts=N`: mount attempts per listed server.
    pub nfs_attempts: Option<u32>,
}

/// dracut's `rd.*` network and root knobs, mapped onto ours by the planner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DracutParams {
    /// `rd.overlay`, `rd.overlay=tmpfs:…` (or a device we can't use).
    pub overlay: Option<bool>,
    pub overlay_size: Option<OverlaySize>,
    /// `nr_blocks=` / `nr_inodes=` from `rd.overlay=tmpfs:…`.
    pub overlay_tmpfs: Vec<String>,
    /// `rd.net.timeout.dhcp=`: seconds per DHCP attempt.
    pub dhcp_timeout: Option<u32>,
    /// `rd.net.dhcp.retry=`: DHCP attempts.
    pub dhcp_retry: Option<u32>,
    pub carrier_timeout: Option<u32>,
    pub iflink_timeout: Option<u32>,
    /// `rd.retry=`: how long the root is retried.
    pub retry: Option<u32>,
    pub neednet: Option<bool>,
    pub peerdns: Option<bool>,
}

/// `ifname=<name>:<mac>`: the NIC with `mac` is renamed `name` before use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfName {
    pub name: String,
    pub mac: MacAddr,
}

/// The typed cmdline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub ip: Option<IpParam>,
    pub nfsroot: Option<NfsSpec>,
    pub root: Option<RootParam>,
    /// `boot=` (casper, live, netinit, …), lowercased.
    pub boot: Option<String>,
    /// `netboot=` (nfs), lowercased.
    pub netboot: Option<String>,
    /// casper / live-boot `live-media-path=`.
    pub live_media_path: Option<String>,
    /// live-boot `module=`.
    pub live_module: Option<String>,
    /// casper `layerfs-path=` (layered Ubuntu images).
    pub layerfs_path: Option<String>,
    /// live-boot `nfsopts=`.
    pub nfsopts: Vec<String>,
    /// live-boot `ethdevice=`.
    pub ethdevice: Option<String>,
    /// linomad `sys=SERVER:PATH`.
    pub sys: Option<NfsSpec>,
    /// archiso `archiso_nfs_srv=SERVER:PATH` (+ `archiso_nfs_opt=`).
    pub archiso_nfs: Option<NfsSpec>,
    pub archisobasedir: Option<String>,
    pub bootif: Option<MacAddr>,
    pub init: Option<String>,
    pub toram: bool,
    pub quiet: bool,
    /// dracut `nameserver=` (repeatable).
    pub nameservers: Vec<Ipv4Addr>,
    /// dracut `ifname=` (repeatable).
    pub ifnames: Vec<IfName>,
    pub dracut: DracutParams,
    /// Remarks about accepted words that change nothing (shown by explain).
    pub notes: Vec<String>,
    pub netinit: NetinitParams,
    pub module_params: Vec<ModuleParam>,
    pub init_args: Vec<String>,
    /// `nfsroot=auto` (casper): server and path from DHCP's root-path.
    pub nfsroot_auto: bool,
    /// `ip=frommedia` (casper): keep the medium's own network setup.
    pub ip_frommedia: bool,
    /// initramfs-tools' `break=` and `netinit.break=`: rescue shells
    /// before these steps.
    pub breaks: Vec<BreakPoint>,
    /// More `ip=` words, each naming another interface than `ip`'s.
    pub more_ips: Vec<IpParam>,
    /// dracut `bootdev=`: which `ip=` interface is the boot one.
    pub bootdev: Option<String>,
    /// dracut `vlan=`, `bond=`, `rd.route=` (repeatable).
    pub vlans: Vec<Vlan>,
    pub bonds: Vec<Bond>,
    pub routes: Vec<StaticRoute>,
    /// An image over HTTP: `url=`, `fetch=`, `root=live:`,
    /// `archiso_http_srv=`, `netinit.mirror=`, `netinit.sha256=`.
    pub http: HttpParams,
    /// Words we don't interpret; they belong to the kernel or the real init.
    pub unknown: Vec<Param>,
}

pub(crate) fn err(param: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        param: param.to_owned(),
        reason: reason.into(),
    }
}

/// A number of seconds in `min..=max`.
fn seconds(p: &Param, min: u32, max: u32) -> Result<u32, ConfigError> {
    let v = need_value(p)?;
    match v.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(err(
            &p.key,
            format!("'{v}' is not a number of seconds ({min}-{max})"),
        )),
    }
}

/// An on/off word; the bare key means on.
fn switch(p: &Param) -> Result<bool, ConfigError> {
    match p.value.as_deref() {
        None | Some("1" | "yes" | "on" | "true") => Ok(true),
        Some("0" | "no" | "off" | "false") => Ok(false),
        Some(v) => Err(err(&p.key, format!("'{v}' is not 0 or 1"))),
    }
}

fn need_value(p: &Param) -> Result<&str, ConfigError> {
    p.value
        .as_deref()
        .ok_or_else(|| err(&p.key, "needs a value"))
}

impl Config {
    /// Reads every parameter we know; the last occurrence of a key wins,
    /// except repeatable ones (`nameserver=`, module params).
    pub fn parse(cmdline: &Cmdline) -> Result<Config, ConfigError> {
        let mut c = Config {
            init_args: cmdline.init_args.clone(),
            ..Config::default()
        };
        for p in &cmdline.params {
            c.apply(p)?;
        }
        Ok(c)
    }

    fn apply(&mut self, p: &Param) -> Result<(), ConfigError> {
        if self.http.apply(p)? || self.apply_net(p)? {
            return Ok(());
        }
        let key = p.key.as_str();
        match key {
            // The upper-case words are how older Ubuntu netboot pages spell
            // them: the kernel hands unknown KEY=value words to init as
            // environment, where casper's scripts read $NETBOOT and $NFSROOT.
            "nfsroot" | "NFSROOT" if p.value.as_deref() == Some("auto") => {
                self.nfsroot = None;
                self.nfsroot_auto = true;
            }
            "nfsroot" | "NFSROOT" => {
                self.nfsroot = Some(parse_nfsroot(need_value(p)?).map_err(|r| err(key, r))?);
                self.nfsroot_auto = false;
            }
            "NETBOOT" => self.netboot = Some(need_value(p)?.to_ascii_lowercase()),
            "NFSOPTS" => self.nfsopts = split_options(need_value(p)?.trim_start_matches("-o")),
            "break" => {
                self.breaks = parse_break(p.value.as_deref(), false).map_err(|r| err(key, r))?
            }
            "root" => self.root = Some(parse_root(need_value(p)?)?),
            "boot" => self.boot = Some(need_value(p)?.to_ascii_lowercase()),
            "netboot" => self.netboot = Some(need_value(p)?.to_ascii_lowercase()),
            "live-media-path" => {
                self.live_media_path = Some(rel_dir("live-media-path", need_value(p)?)?)
            }
            "module" => self.live_module = Some(file_name("module", need_value(p)?)?),
            "layerfs-path" => self.layerfs_path = Some(file_name("layerfs-path", need_value(p)?)?),
            "nfsopts" => self.nfsopts = split_options(need_value(p)?),
            "ethdevice" => self.ethdevice = Some(need_value(p)?.to_owned()),
            "sys" => {
                self.sys = Some(parse_server_path(need_value(p)?, true).map_err(|r| err("sys", r))?)
            }
            "archiso_nfs_srv" | "archiso_nfs_opt" => self.apply_archiso(p)?,
            "archisobasedir" => {
                self.archisobasedir = Some(rel_dir("archisobasedir", need_value(p)?)?)
            }
            "BOOTIF" => self.bootif = Some(parse_bootif(need_value(p)?)?),
            "init" => {
                let v = need_value(p)?;
                if !v.starts_with('/') {
                    return Err(err("init", format!("'{v}' is not an absolute path")));
                }
                self.init = Some(v.to_owned());
            }
            "toram" => self.toram = true,
            "quiet" => self.quiet = true,
            "nameserver" => {
                let v = need_value(p)?;
                self.nameservers.push(
                    v.parse()
                        .map_err(|_| err("nameserver", format!("'{v}' is not an IPv4 address")))?,
                );
            }
            "overlay-size" => {
                self.netinit.overlay_size =
                    Some(parse_size(need_value(p)?).map_err(|r| err(key, r))?)
            }
            "ifname" => {
                let ifname = parse_ifname(need_value(p)?).map_err(|r| err(key, r))?;
                self.ifnames
                    .retain(|i| i.name != ifname.name && i.mac != ifname.mac);
                self.ifnames.push(ifname);
            }
            _ if key.starts_with("rd.") => self.apply_dracut(p)?,
            _ if key.starts_with("netinit.") => self.apply_netinit(p)?,
            _ if is_module_param(key) => self.module_params.push(module_param(p)),
            _ => self.unknown.push(p.clone()),
        }
        Ok(())
    }

    /// The interface words: `ip=`, `bootdev=`, `vlan=`, `bond=`; false for
    /// any other word.
    fn apply_net(&mut self, p: &Param) -> Result<bool, ConfigError> {
        let key = p.key.as_str();
        match key {
            // An empty `ip=` is casper's spelling of `ip=frommedia`.
            "ip" if matches!(p.value.as_deref(), Some("frommedia" | "")) => {
                self.ip = None;
                self.ip_frommedia = true;
            }
            "ip" => {
                let new = parse_ip(need_value(p)?).map_err(|r| err("ip", r))?;
                self.ip_frommedia = false;
                // dracut: one ip= per interface; a word for the same (or
                // no) interface replaces the earlier one.
                match (
                    self.ip.as_ref().and_then(|o| o.device.as_ref()),
                    &new.device,
                ) {
                    (Some(old), Some(dev)) if old != dev => {
                        self.more_ips.retain(|o| o.device.as_ref() != Some(dev));
                        self.more_ips.push(new);
                    }
                    _ => self.ip = Some(new),
                }
            }
            "bootdev" => {
                let v = need_value(p)?;
                check_ifname(v).map_err(|r| err(key, r))?;
                self.bootdev = Some(v.to_owned());
            }
            "vlan" => {
                let v = parse_vlan(need_value(p)?).map_err(|r| err(key, r))?;
                self.vlans.retain(|o| o.name != v.name);
                self.vlans.push(v);
            }
            "bond" => {
                let b = parse_bond(p.value.as_deref()).map_err(|r| err(key, r))?;
                self.bonds.retain(|o| o.name != b.name);
                self.bonds.push(b);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// dracut's `rd.*` words. The ones netinit has no use for are kept as
    /// unknown (never as module parameters of a module named `rd`).
    /// archiso's server and its options come in two words, in either order.
    fn apply_archiso(&mut self, p: &Param) -> Result<(), ConfigError> {
        if p.key == "archiso_nfs_srv" {
            let spec =
                parse_server_path(need_value(p)?, true).map_err(|r| err("archiso_nfs_srv", r))?;
            let options = self
                .archiso_nfs
                .take()
                .map(|s| s.options)
                .unwrap_or_default();
            self.archiso_nfs = Some(NfsSpec { options, ..spec });
            return Ok(());
        }
        let options = split_options(need_value(p)?);
        match &mut self.archiso_nfs {
            Some(spec) => spec.options = options,
            None => {
                self.archiso_nfs = Some(NfsSpec {
                    server: None,
                    path: String::new(),
                    options,
                })
            }
        }
        Ok(())
    }

    fn apply_dracut(&mut self, p: &Param) -> Result<(), ConfigError> {
        let key = p.key.as_str();
        let d = &mut self.dracut;
        let secs = |max: u32, min: u32| seconds(p, min, max);
        match key {
            "rd.overlay" | "rd.live.overlay" | "rd.live.overlay.overlayfs" => {
                let v = p.value.as_deref().unwrap_or("1");
                match parse_rd_overlay(v).map_err(|r| err(key, r))? {
                    RdOverlay::Off => d.overlay = Some(false),
                    RdOverlay::Tmpfs { size, extra } => {
                        d.overlay = Some(true);
                        if size.is_some() {
                            d.overlay_size = size;
                        }
                        d.overlay_tmpfs = extra;
                    }
                    RdOverlay::Device(dev) => {
                        d.overlay = Some(true);
                        self.notes.push(format!(
                            "{key}={dev}: a persistent overlay on a local device is not supported; writes go to RAM"
                        ));
                    }
                }
            }
            "rd.net.timeout.dhcp" => d.dhcp_timeout = Some(secs(86_400, 1)?),
            "rd.net.dhcp.retry" => {
                let v = need_value(p)?;
                d.dhcp_retry = Some(match v.parse::<u32>() {
                    Ok(n) if (1..=100).contains(&n) => n,
                    _ => return Err(err(key, format!("'{v}' is not a count (1-100)"))),
                });
            }
            "rd.net.timeout.carrier" => d.carrier_timeout = Some(secs(3_600, 1)?),
            "rd.net.timeout.iflink" => d.iflink_timeout = Some(secs(3_600, 1)?),
            "rd.net.timeout.ifup"
            | "rd.net.timeout.route"
            | "rd.net.timeout.ipv6dad"
            | "rd.net.timeout.ipv6auto" => {
                secs(86_400, 0)?;
                self.notes.push(format!(
                    "{key}= is accepted and has no effect (netinit sets the address and route itself, without waiting for them)"
                ));
            }
            "rd.route" => {
                let r = parse_route(need_value(p)?).map_err(|r| err(key, r))?;
                self.routes.push(r);
            }
            "rd.retry" => d.retry = Some(secs(86_400, 1)?),
            "rd.neednet" => d.neednet = Some(switch(p)?),
            "rd.peerdns" => d.peerdns = Some(switch(p)?),
            _ => self.unknown.push(p.clone()),
        }
        Ok(())
    }

    fn apply_netinit(&mut self, p: &Param) -> Result<(), ConfigError> {
        let key = p.key.as_str();
        let n = &mut self.netinit;
        let secs = |max: u32, min: u32| seconds(p, min, max);
        match key {
            "netinit.modules" => {
                n.modules = parse_module_list(need_value(p)?).map_err(|r| err(key, r))?
            }
            "netinit.overlay_size" => {
                n.overlay_size = Some(parse_size(need_value(p)?).map_err(|r| err(key, r))?)
            }
            "netinit.reboot" => n.reboot = Some(secs(86_400, 0)?),
            "netinit.carrier_timeout" => n.carrier_timeout = Some(secs(3_600, 1)?),
            "netinit.dhcp_timeout" => n.dhcp_timeout = Some(secs(86_400, 1)?),
            "netinit.nfs_timeout" => n.nfs_timeout = Some(secs(86_400, 1)?),
            "netinit.module_jobs" => {
                let v = need_value(p)?;
                n.module_jobs = Some(match v.parse::<u32>() {
                    Ok(j) if (1..=64).contains(&j) => j,
                    _ => return Err(err(key, format!("'{v}' is not a number from 1 to 64"))),
                })
            }
            "netinit.layout" => {
                n.layout = Some(match need_value(p)? {
                    "casper" => LiveLayout::Casper,
                    "live" | "live-boot" => LiveLayout::LiveBoot,
                    "archiso" => LiveLayout::Archiso,
                    "linomad" => LiveLayout::Linomad,
                    "none" => LiveLayout::Plain,
                    v => {
                        return Err(err(
                            key,
                            format!("'{v}' is not casper, live, archiso, linomad or none"),
                        ));
                    }
                })
            }
            "netinit.overlay" => n.overlay = Some(switch(p)?),
            "netinit.nfs_servers" => {
                n.nfs_servers = parse_server_list(need_value(p)?).map_err(|r| err(key, r))?
            }
            "netinit.nfs_attempts" => {
                let v = need_value(p)?;
                n.nfs_attempts = Some(match v.parse::<u32>() {
                    Ok(a) if (1..=100).contains(&a) => a,
                    _ => return Err(err(key, format!("'{v}' is not a number from 1 to 100"))),
                })
            }
            "netinit.shell" => n.shell = Some(switch(p)?),
            "netinit.lease_keeper" => n.lease_keeper = Some(switch(p)?),
            "netinit.break" => {
                self.breaks = parse_break(p.value.as_deref(), true).map_err(|r| err(key, r))?
            }
            _ => {
                return Err(err(
                    key,
                    "unknown netinit parameter (known: netinit.modules, netinit.overlay_size, netinit.reboot, \
                     netinit.shell, netinit.carrier_timeout, netinit.dhcp_timeout, netinit.nfs_timeout, netinit.module_jobs, \
                     netinit.layout, netinit.overlay, netinit.lease_keeper, netinit.break, netinit.mirror, \
                     netinit.sha256, netinit.http_conns, netinit.http_timeout, netinit.nfs_servers, \
                     netinit.nfs_attempts)",
                ));
            }
        }
        Ok(())
    }
}

/// initramfs-tools' `break=` names (`top`, `modules`, `premount`,
/// `mount`, `mountroot`, `bottom`, `init`; the bare word is `premount`),
/// or with `netinit` netinit's own step names. A comma separates several.
pub fn parse_break(value: Option<&str>, netinit: bool) -> Result<Vec<BreakPoint>, String> {
    use BreakPoint::*;
    let bare = vec![if netinit { Modules } else { Link }];
    let Some(value) = value.filter(|v| !v.trim_matches([',', ' ']).is_empty()) else {
        return Ok(bare);
    };
    let mut out = Vec::new();
    for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let point = match (word, netinit) {
            ("top" | "modules", false) => Modules,
            // Before the network: initramfs-tools' premount scripts run
            // before it configures the network in its mount phase.
            ("premount", false) => Link,
            ("mount", false) => Nfs,
            ("mountroot" | "bottom", false) => Handoff,
            ("init", false) => SwitchRoot,
            (w, true) => match BreakPoint::ALL.iter().find(|b| b.as_str() == w) {
                Some(b) => *b,
                None if w == "static" || w == "network" => Dhcp,
                None => {
                    return Err(format!(
                        "'{w}' is not a step netinit can stop before (one of: {})",
                        BreakPoint::ALL.map(|b| b.as_str()).join(", ")
                    ));
                }
            },
            (w, false) => {
                return Err(format!(
                    "'{w}' is not one of top, modules, premount, mount, mountroot, bottom, init"
                ));
            }
        };
        if !out.contains(&point) {
            out.push(point);
        }
    }
    Ok(out)
}

/// `nfsroot=[<server-ip>:]<root-dir>[,<nfs-options>]`.
pub fn parse_nfsroot(value: &str) -> Result<NfsSpec, String> {
    let (location, options) = match value.split_once(',') {
        Some((l, o)) => (l, split_options(o)),
        None => (value, Vec::new()),
    };
    let spec = parse_server_path(location, false)?;
    Ok(NfsSpec { options, ..spec })
}

/// `[server:]/path`; `need_server` for dialects whose server is mandatory.
fn parse_server_path(text: &str, need_server: bool) -> Result<NfsSpec, String> {
    refuse_bare_v6(text)?;
    let (server, path) = match split_bracketed(text) {
        Some((s, p)) => (Some(s), p),
        None => match text.split_once(':') {
            // A colon only separates a server when it comes before the path.
            Some((s, p)) if !s.contains('/') => (Some(s), p),
            _ => (None, text),
        },
    };
    let server = match server {
        Some(s) => Some(parse_server(s)?),
        None if need_server => return Err(format!("'{text}' needs SERVER:PATH")),
        None => None,
    };
    if !path.starts_with('/') {
        return Err(format!("path '{path}' is not absolute"));
    }
    Ok(NfsSpec {
        server,
        path: path.to_owned(),
        options: Vec::new(),
    })
}

/// An IPv6 server before `:/` without brackets: its colons would split it.
fn refuse_bare_v6(text: &str) -> Result<(), String> {
    let server = text.find(":/").and_then(|i| text.get(..i)).unwrap_or("");
    match server.parse::<std::net::Ipv6Addr>() {
        Ok(_) => Err(format!(
            "server '{server}' is IPv6: write it in brackets, [{server}]:/path"
        )),
        Err(_) => Ok(()),
    }
}

/// `[v6]:rest` split after the bracket: the address's own colons do not
/// separate anything. `None` when `text` does not start with `[`.
fn split_bracketed(text: &str) -> Option<(&str, &str)> {
    let end = text.strip_prefix('[')?.find(']')? + 2;
    let (server, rest) = text.split_at(end);
    Some((server, rest.strip_prefix(':').unwrap_or(rest)))
}

/// `IP[,IP…]`: at most 8, no repeats. IPv6 servers may be bare or in brackets.
pub fn parse_server_list(text: &str) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    for s in text.split(',') {
        let s = s.trim();
        let ip = match s.parse::<std::net::Ipv6Addr>() {
            Ok(v6) => IpAddr::V6(v6),
            Err(_) => parse_server(s)?,
        };
        if out.contains(&ip) {
            return Err(format!("server {ip} is listed twice"));
        }
        out.push(ip);
    }
    if out.len() > 8 {
        return Err(format!("{} servers (at most 8)", out.len()));
    }
    Ok(out)
}

/// An IPv4 address, or an IPv6 one in brackets (`[fd00::1]`), as the
/// kernel's and dracut's NFS forms write it.
pub fn parse_server(s: &str) -> Result<IpAddr, String> {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| format!("server '{s}' is not an IPv6 address"));
    }
    s.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| {
        if s.is_empty() {
            "the server before ':' is empty".to_owned()
        } else {
            format!(
                "server '{s}' is not an IPv4 address or a bracketed IPv6 one like [fd00::1] (there is no DNS before the root is mounted)"
            )
        }
    })
}

/// `root=`: `/dev/nfs`, `nfs:…`, `nfs4:…`, `dhcp`, dracut's legacy
/// `[SERVER:]/path[:options]`, or a local device.
fn parse_root(value: &str) -> Result<RootParam, ConfigError> {
    match value {
        "/dev/nfs" => return Ok(RootParam::DevNfs),
        "dhcp" => return Ok(RootParam::Dhcp),
        "dhcp6" => {
            return Err(err(
                "root",
                "'dhcp6' needs DHCPv6's root-path, which netinit does not read yet (use root=dhcp ip=dhcp,dhcp6)",
            ));
        }
        _ => {}
    }
    if let Some(rest) = value.strip_prefix("nbd:") {
        return crate::nbd::parse_nbd_root(rest)
            .map(RootParam::Nbd)
            .map_err(|r| err("root", r));
    }
    let (rest, nfs4) = match (value.strip_prefix("nfs4:"), value.strip_prefix("nfs:")) {
        (Some(r), _) => (r, true),
        (None, Some(r)) => (r, false),
        // dracut's legacy forms: a path that is not a device, or an
        // address followed by `:/`.
        (None, None) if is_legacy_nfs_root(value) => (value, false),
        (None, None) => return Ok(RootParam::Other(value.to_owned())),
    };
    let spec = parse_dracut_nfs(rest).map_err(|r| err("root", r))?;
    Ok(RootParam::Nfs(spec, nfs4))
}

/// dracut takes `root=/srv/x` and `root=10.0.0.1:/srv/x` as NFS; `/dev/…`
/// stays a device.
fn is_legacy_nfs_root(value: &str) -> bool {
    if value.starts_with("/dev/") {
        return false;
    }
    value.starts_with('/')
        || ((value.starts_with(|c: char| c.is_ascii_digit()) || value.starts_with('['))
            && value.contains(":/"))
}

/// dracut's `[<server-ip>:]<root-dir>[:<nfs-options>]`, where the options
/// may also follow the path after a `,` (the kernel's way). An empty
/// server (`nfs::/path`) means "from DHCP".
pub fn parse_dracut_nfs(text: &str) -> Result<NfsSpec, String> {
    // RFC 2224 (`nfs://server[:port]/path`), which dracut also reads.
    if let Some(url) = text.strip_prefix("//") {
        let (host, path) = url.split_at(url.find('/').unwrap_or(url.len()));
        let host = host.strip_suffix(':').unwrap_or(host);
        let (server, port) = match host.rsplit_once(':') {
            Some((s, p))
                if !p.is_empty()
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && (!s.starts_with('[') || s.ends_with(']')) =>
            {
                (s, Some(p))
            }
            _ => (host, None),
        };
        if path.is_empty() {
            return Err(format!("'nfs:{text}' has no path (want nfs://SERVER/path)"));
        }
        return Ok(NfsSpec {
            server: Some(parse_server(server)?),
            path: path.to_owned(),
            options: port.map(|p| vec![format!("port={p}")]).unwrap_or_default(),
        });
    }
    refuse_bare_v6(text)?;
    let (server, rest) = match split_bracketed(text) {
        Some((s, rest)) => (Some(s), rest),
        None => match text.find(":/") {
            Some(i) => (text.get(..i), text.get(i + 1..).unwrap_or("")),
            None => (None, text),
        },
    };
    // Anaconda's `nfs:<options>:<server>:/path`: options before the server
    // (an IPv6 server keeps its brackets, so its colons stay its own).
    let (server, anaconda_opts) = match server.filter(|s| !s.starts_with('[')) {
        Some(s) => match s.rsplit_once(':') {
            Some((opts, s)) => (Some(s), opts),
            None => (Some(s), ""),
        },
        None => (server, ""),
    };
    let server = match server {
        Some("") | None => None,
        Some(s) => Some(parse_server(s)?),
    };
    let (path, colon_opts) = rest.split_once(':').unwrap_or((rest, ""));
    let (path, comma_opts) = path.split_once(',').unwrap_or((path, ""));
    if !path.starts_with('/') {
        return Err(format!(
            "path '{path}' is not absolute (want [SERVER:]/path[:options])"
        ));
    }
    let mut options = split_options(anaconda_opts);
    options.extend(split_options(comma_opts));
    options.extend(split_options(colon_opts));
    Ok(NfsSpec {
        server,
        path: path.to_owned(),
        options,
    })
}

/// The dialect a DHCP root-path (option 17) is read in: the cmdline form
/// that asked for it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootPathDialect {
    /// nfsroot.rst: `[server:]path[,options]`; a `:` after the path is part of it.
    Kernel,
    /// dracut.cmdline(7): `[nfs:|nfs4:][server:]path[,|:options]`.
    Dracut,
}

/// A DHCP root-path. Both dialects accept dracut's `nfs:` / `nfs4:`
/// prefix (no server is named `nfs`); the bool is `nfs4`.
pub fn parse_root_path(text: &str, dialect: RootPathDialect) -> Result<(NfsSpec, bool), String> {
    let (rest, nfs4) = match (text.strip_prefix("nfs4:"), text.strip_prefix("nfs:")) {
        (Some(r), _) => (r, true),
        (None, Some(r)) => (r, false),
        (None, None) => (text, false),
    };
    let spec = match dialect {
        // A URL is never a kernel path, whatever the form that asked.
        RootPathDialect::Kernel if !rest.starts_with("//") => parse_nfsroot(rest)?,
        _ => parse_dracut_nfs(rest)?,
    };
    Ok((spec, nfs4))
}

/// `ifname=<name>:<mac>`; the MAC has colons of its own.
pub fn parse_ifname(value: &str) -> Result<IfName, String> {
    let Some((name, mac)) = value.split_once(':') else {
        return Err(format!("'{value}' is not <name>:<mac>"));
    };
    // IFNAMSIZ is 16 with the NUL; '/' and ':' have meanings in sysfs and aliases.
    if name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return Err(format!(
            "'{name}' is not an interface name (1-15 characters, no '/' or ':')"
        ));
    }
    let mac: MacAddr = mac.parse()?;
    Ok(IfName {
        name: name.to_owned(),
        mac,
    })
}

/// What `rd.overlay=` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdOverlay {
    Off,
    /// `1`, or `tmpfs:[size=…][,nr_blocks=…][,nr_inodes=…]`.
    Tmpfs {
        size: Option<OverlaySize>,
        /// `nr_blocks=` / `nr_inodes=`, passed to tmpfs as they are.
        extra: Vec<String>,
    },
    /// A persistent overlay on a device (`LABEL=`, `UUID=`, `/dev/…`).
    Device(String),
}

/// `rd.overlay`'s value (the bare word means `1`).
pub fn parse_rd_overlay(value: &str) -> Result<RdOverlay, String> {
    match value {
        "1" | "yes" | "on" | "true" | "tmpfs" | "tmpfs:" => {
            return Ok(RdOverlay::Tmpfs {
                size: None,
                extra: Vec::new(),
            });
        }
        "0" | "no" | "off" | "false" | "none" => return Ok(RdOverlay::Off),
        _ => {}
    }
    let Some(opts) = value.strip_prefix("tmpfs:") else {
        return Ok(RdOverlay::Device(value.to_owned()));
    };
    let mut size = None;
    let mut extra = Vec::new();
    for o in split_options(opts) {
        match o.split_once('=') {
            Some(("size", v)) => size = Some(parse_size(v)?),
            Some(("nr_blocks" | "nr_inodes", v))
                if !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                extra.push(o.clone())
            }
            _ => {
                return Err(format!(
                    "'{o}' is not one of size=, nr_blocks=, nr_inodes= (rd.overlay=tmpfs:size=4G)"
                ));
            }
        }
    }
    Ok(RdOverlay::Tmpfs { size, extra })
}

fn split_options(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

/// pxelinux `BOOTIF=01-aa-bb-cc-dd-ee-ff` (ARP type 1, Ethernet).
pub fn parse_bootif(value: &str) -> Result<MacAddr, ConfigError> {
    let parts: Vec<&str> = value.split('-').collect();
    let mac = match parts.as_slice() {
        [ty, rest @ ..] if rest.len() == 6 => {
            if *ty != "01" {
                return Err(err(
                    "BOOTIF",
                    format!("hardware type '{ty}' is not Ethernet (01)"),
                ));
            }
            rest.join("-")
        }
        _ if parts.len() == 6 => value.to_owned(),
        _ => {
            return Err(err(
                "BOOTIF",
                format!("'{value}' is not 01-aa-bb-cc-dd-ee-ff"),
            ));
        }
    };
    mac.parse().map_err(|e: String| err("BOOTIF", e))
}

/// `nfsv3:e1000e:8139too` or `nfsv3,e1000e`; `-` and `_` are the same.
pub fn parse_module_list(value: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for name in value
        .split([':', ','])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!("'{name}' is not a module name"));
        }
        let name = crate::kmod::normalize(name);
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// `e1000e.InterruptThrottleRate=3000` style: a module name, a dot, a param.
fn is_module_param(key: &str) -> bool {
    match key.split_once('.') {
        Some((module, param)) => {
            !module.is_empty()
                && !param.is_empty()
                && module
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    }
}

fn module_param(p: &Param) -> ModuleParam {
    let (module, param) = p.key.split_once('.').unwrap_or((p.key.as_str(), ""));
    let param = match &p.value {
        Some(v) if v.contains(char::is_whitespace) => format!("{param}=\"{v}\""),
        Some(v) => format!("{param}={v}"),
        None => param.to_owned(),
    };
    ModuleParam {
        module: crate::kmod::normalize(module),
        param,
    }
}

/// A folder relative to the media root: no `..`, no leading `/` needed.
/// A file name inside the image folder: no path separators, no `..`.
fn file_name(param: &str, value: &str) -> Result<String, ConfigError> {
    if value.is_empty() || value.contains('/') || value == "." || value == ".." {
        return Err(err(
            param,
            format!("'{value}' is not a file name in the image folder"),
        ));
    }
    Ok(value.to_owned())
}

fn rel_dir(param: &str, value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim_matches('/');
    if trimmed.is_empty() || trimmed.split('/').any(|c| c == ".." || c.is_empty()) {
        return Err(err(
            param,
            format!("'{value}' is not a folder below the image root"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The HTTP fetch's raw words, checked in [`crate::fetch::plan_fetch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpParams {
    pub fetch: Option<String>,
    pub dracut_live: Option<String>,
    pub archiso_srv: Option<String>,
    pub url: Option<String>,
    pub mirrors: Vec<String>,
    pub sha256: Option<[u8; 32]>,
    pub conns: Option<u32>,
    pub timeout: Option<u32>,
}

impl HttpParams {
    /// Takes the words this module owns; `false` for any other key.
    pub fn apply(&mut self, p: &Param) -> Result<bool, ConfigError> {
        let key = p.key.as_str();
        let value = || {
            p.value
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| err(key, "needs a value"))
        };
        let number = |min: u32, max: u32| {
            let v = value()?;
            v.parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| err(key, format!("'{v}' is not a number from {min} to {max}")))
        };
        match key {
            "fetch" => self.fetch = Some(value()?),
            "url" => self.url = Some(value()?),
            "archiso_http_srv" => self.archiso_srv = Some(value()?),
            "netinit.mirror" => self.mirrors.push(value()?),
            "netinit.sha256" => {
                let v = value()?;
                self.sha256 = Some(crate::sha256::parse_hex(&v).ok_or_else(|| {
                    err(
                        key,
                        format!("'{v}' is not 64 hex digits (sha256sum's output)"),
                    )
                })?);
            }
            "netinit.http_conns" => self.conns = Some(number(1, 16)?),
            "netinit.http_timeout" => self.timeout = Some(number(1, 3600)?),
            "root" => match p.value.as_deref().and_then(|v| v.strip_prefix("live:")) {
                Some(u) => self.dracut_live = Some(u.to_owned()),
                None => return Ok(false),
            },
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(&Cmdline::parse(text))
    }

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A server address, of either family.
    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn casper_forms() {
        // Ubuntu's older netboot pages spell casper's words in upper case.
        let c = parse("boot=casper NETBOOT=nfs NFSROOT=10.0.0.1:/srv/ubuntu NFSOPTS=-overs=3,ro")
            .unwrap();
        assert_eq!(c.netboot.as_deref(), Some("nfs"));
        assert_eq!(
            c.nfsroot.as_ref().map(|s| s.path.as_str()),
            Some("/srv/ubuntu")
        );
        assert_eq!(c.nfsopts, ["vers=3", "ro"]);
        for (text, auto, server) in [
            ("nfsroot=auto", true, None),
            ("NFSROOT=auto", true, None),
            (
                "nfsroot=auto nfsroot=10.0.0.1:/x",
                false,
                Some(ip("10.0.0.1")),
            ),
            ("nfsroot=10.0.0.1:/x nfsroot=auto", true, None),
        ] {
            let c = parse(text).unwrap();
            assert_eq!(c.nfsroot_auto, auto, "{text}");
            assert_eq!(c.nfsroot.and_then(|s| s.server), server, "{text}");
        }
        for (text, frommedia, has_ip) in [
            ("ip=frommedia", true, false),
            ("ip=", true, false),
            ("ip=frommedia ip=dhcp", false, true),
            ("ip=dhcp ip=frommedia", true, false),
        ] {
            let c = parse(text).unwrap();
            assert_eq!(c.ip_frommedia, frommedia, "{text}");
            assert_eq!(c.ip.is_some(), has_ip, "{text}");
        }
        assert_eq!(parse("NETBOOT").unwrap_err().param, "NETBOOT");
        assert!(
            parse("NFSROOT=srv:/x")
                .unwrap_err()
                .reason
                .contains("not an IPv4")
        );
    }

    #[test]
    fn break_forms() {
        use BreakPoint::*;
        for (text, want) in [
            ("break", vec![Link]),
            ("break=", vec![Link]),
            ("break=top", vec![Modules]),
            ("break=modules", vec![Modules]),
            ("break=premount", vec![Link]),
            ("break=mount", vec![Nfs]),
            ("break=mountroot", vec![Handoff]),
            ("break=bottom", vec![Handoff]),
            ("break=init", vec![SwitchRoot]),
            ("break=top,mount,init", vec![Modules, Nfs, SwitchRoot]),
            ("break=mountroot,bottom", vec![Handoff]),
            ("netinit.break=nfs", vec![Nfs]),
            ("netinit.break", vec![Modules]),
            ("netinit.break=link,dhcp", vec![Link, Dhcp]),
            ("netinit.break=static", vec![Dhcp]),
            ("netinit.break=switch_root", vec![SwitchRoot]),
            ("netinit.break=handoff", vec![Handoff]),
            ("break=init netinit.break=modules", vec![Modules]),
        ] {
            assert_eq!(parse(text).unwrap().breaks, want, "{text}");
        }
        for (text, want) in [
            ("break=nfs", "not one of top, modules, premount"),
            (
                "netinit.break=premount",
                "not a step netinit can stop before",
            ),
            (
                "netinit.break=squashfs",
                "one of: modules, link, dhcp, nfs, handoff, switch_root",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.reason.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn nfsroot_forms() {
        let cases = [
            ("10.0.0.1:/srv/nfs", Some("10.0.0.1"), "/srv/nfs", vec![]),
            ("/srv/nfs", None, "/srv/nfs", vec![]),
            (
                "10.0.0.1:/arch,v3,rsize=16384",
                Some("10.0.0.1"),
                "/arch",
                vec!["v3", "rsize=16384"],
            ),
            (
                "/tftpboot/%s,vers=4.2",
                None,
                "/tftpboot/%s",
                vec!["vers=4.2"],
            ),
            ("/a:b", None, "/a:b", vec![]),
            // IPv6: the server in brackets, its colons its own.
            ("[fd00::1]:/export", Some("fd00::1"), "/export", vec![]),
            (
                "[2001:db8::10]:/srv/nfs,vers=4.2,ro",
                Some("2001:db8::10"),
                "/srv/nfs",
                vec!["vers=4.2", "ro"],
            ),
            (
                "[::ffff:10.0.0.1]:/x",
                Some("::ffff:10.0.0.1"),
                "/x",
                vec![],
            ),
        ];
        for (text, server, path, options) in cases {
            let got = parse_nfsroot(text).unwrap();
            assert_eq!(got.server, server.map(ip), "{text}");
            assert_eq!(got.path, path, "{text}");
            assert_eq!(got.options, options, "{text}");
        }
        for (text, want) in [
            ("nfs.example.com:/x", "not an IPv4 address"),
            ("10.0.0.1:srv", "not absolute"),
            (":/x", "empty"),
            ("", "not absolute"),
            (
                "fd00::1:/x",
                "server 'fd00::1' is IPv6: write it in brackets",
            ),
            ("[fd00::1:/x", "not an IPv4 address or a bracketed IPv6 one"),
            (
                "[nfs.example.com]:/x",
                "'[nfs.example.com]' is not an IPv6 address",
            ),
            ("[fd00::1]:x", "not absolute"),
        ] {
            assert!(parse_nfsroot(text).unwrap_err().contains(want), "{text}");
        }
    }

    #[test]
    fn root_forms() {
        use RootParam::*;
        let spec = |server: Option<&str>, path: &str, opts: &[&str]| NfsSpec {
            server: server.map(ip),
            path: path.into(),
            options: opts.iter().map(|s| s.to_string()).collect(),
        };
        for (text, want) in [
            ("/dev/nfs", DevNfs),
            ("dhcp", Dhcp),
            ("/dev/sda1", Other("/dev/sda1".into())),
            ("UUID=abcd", Other("UUID=abcd".into())),
            (
                "nfs:10.0.0.1:/srv/root",
                Nfs(spec(Some("10.0.0.1"), "/srv/root", &[]), false),
            ),
            (
                "nfs:10.0.0.1:/srv/root:vers=3,ro",
                Nfs(
                    spec(Some("10.0.0.1"), "/srv/root", &["vers=3", "ro"]),
                    false,
                ),
            ),
            (
                "nfs4:10.0.0.1:/srv/root",
                Nfs(spec(Some("10.0.0.1"), "/srv/root", &[]), true),
            ),
            ("nfs:/srv/root", Nfs(spec(None, "/srv/root", &[]), false)),
            (
                "nfs:/srv/root:nolock",
                Nfs(spec(None, "/srv/root", &["nolock"]), false),
            ),
        ] {
            assert_eq!(parse_root(text), Ok(want), "root={text}");
        }
        assert!(
            parse_root("nfs:srv:/x")
                .unwrap_err()
                .reason
                .contains("not an IPv4")
        );
        assert!(
            parse_root("nfs:10.0.0.1:x")
                .unwrap_err()
                .reason
                .contains("not absolute")
        );
    }

    /// Every NFS root form dracut.cmdline(7) documents.
    #[test]
    fn dracut_root_forms() {
        use RootParam::*;
        let spec = |server: Option<&str>, path: &str, opts: &[&str]| NfsSpec {
            server: server.map(ip),
            path: path.into(),
            options: opts.iter().map(|s| s.to_string()).collect(),
        };
        for (text, want) in [
            // root=[<server-ip>:]<root-dir>[:<nfs-options>] (legacy, no prefix)
            (
                "10.0.0.1:/srv/root",
                Nfs(spec(Some("10.0.0.1"), "/srv/root", &[]), false),
            ),
            (
                "10.0.0.1:/srv/root:vers=3,ro",
                Nfs(
                    spec(Some("10.0.0.1"), "/srv/root", &["vers=3", "ro"]),
                    false,
                ),
            ),
            (
                "10.0.0.1:/srv/root,vers=3,ro",
                Nfs(
                    spec(Some("10.0.0.1"), "/srv/root", &["vers=3", "ro"]),
                    false,
                ),
            ),
            ("/srv/root", Nfs(spec(None, "/srv/root", &[]), false)),
            (
                "/srv/root:nolock",
                Nfs(spec(None, "/srv/root", &["nolock"]), false),
            ),
            ("/dev/sda1", Other("/dev/sda1".into())),
            ("LABEL=root", Other("LABEL=root".into())),
            // nfs: / nfs4: with and without a server, options after ':' or ','
            ("nfs::/srv/root", Nfs(spec(None, "/srv/root", &[]), false)),
            (
                "nfs:10.0.0.1:/srv/root,sec=sys",
                Nfs(spec(Some("10.0.0.1"), "/srv/root", &["sec=sys"]), false),
            ),
            (
                "nfs4:10.0.0.1:/srv/root:sec=krb5:krb5i",
                Nfs(
                    spec(Some("10.0.0.1"), "/srv/root", &["sec=krb5:krb5i"]),
                    true,
                ),
            ),
            ("nfs4:/srv/root", Nfs(spec(None, "/srv/root", &[]), true)),
            // Forms dracut's nfs-lib also reads: RFC 2224 URLs and Anaconda's options-first.
            (
                "nfs://10.0.0.1/srv/root",
                Nfs(spec(Some("10.0.0.1"), "/srv/root", &[]), false),
            ),
            (
                "nfs://10.0.0.1:2049/srv/root",
                Nfs(spec(Some("10.0.0.1"), "/srv/root", &["port=2049"]), false),
            ),
            (
                "nfs://10.0.0.1:/srv/root",
                Nfs(spec(Some("10.0.0.1"), "/srv/root", &[]), false),
            ),
            (
                "nfs:vers=3,ro:10.0.0.1:/srv/root",
                Nfs(
                    spec(Some("10.0.0.1"), "/srv/root", &["vers=3", "ro"]),
                    false,
                ),
            ),
            // IPv6 servers in brackets, in every form that names a server.
            (
                "nfs:[fd00::1]:/srv/root",
                Nfs(spec(Some("fd00::1"), "/srv/root", &[]), false),
            ),
            (
                "nfs4:[fd00::1]:/srv/root:vers=4.2",
                Nfs(spec(Some("fd00::1"), "/srv/root", &["vers=4.2"]), true),
            ),
            (
                "[2001:db8::5]:/srv/root,ro",
                Nfs(spec(Some("2001:db8::5"), "/srv/root", &["ro"]), false),
            ),
            (
                "nfs://[fd00::1]/srv/root",
                Nfs(spec(Some("fd00::1"), "/srv/root", &[]), false),
            ),
            (
                "nfs://[fd00::1]:2049/srv/root",
                Nfs(spec(Some("fd00::1"), "/srv/root", &["port=2049"]), false),
            ),
        ] {
            assert_eq!(parse_root(text), Ok(want), "root={text}");
        }
        for (text, want) in [
            ("dhcp6", "'dhcp6' needs DHCPv6"),
            ("nfs:[fd00::zz]:/srv", "'[fd00::zz]' is not an IPv6 address"),
            (
                "nfs:[fd00::1:/srv",
                "is not an IPv4 address or a bracketed IPv6",
            ),
            (
                "nfs:fd00::1:/srv",
                "server 'fd00::1' is IPv6: write it in brackets, [fd00::1]:/path",
            ),
            ("nfs:[10.0.0.1]:/srv", "'[10.0.0.1]' is not an IPv6 address"),
            ("nfs:[fd00::1]srv", "is not absolute"),
            ("nfs:srv:/x", "server 'srv' is not an IPv4 address"),
            ("nfs:srv", "path 'srv' is not absolute"),
            ("nfs://10.0.0.1", "has no path"),
            (
                "nfs://fileserver/srv",
                "server 'fileserver' is not an IPv4 address",
            ),
        ] {
            let e = parse_root(text).unwrap_err().reason;
            assert!(e.contains(want), "root={text}: {e}");
        }
    }

    /// DHCP option 17 in both dialects: the kernel's keeps a `:` in the
    /// path, dracut's starts the options there.
    #[test]
    fn root_path_forms() {
        use RootPathDialect::*;
        for (text, dialect, server, path, options, nfs4) in [
            (
                "10.0.0.3:/srv/root",
                Dracut,
                Some("10.0.0.3"),
                "/srv/root",
                vec![],
                false,
            ),
            (
                "10.0.0.3:/srv/root,vers=3",
                Kernel,
                Some("10.0.0.3"),
                "/srv/root",
                vec!["vers=3"],
                false,
            ),
            (
                "10.0.0.3:/srv/root,vers=3",
                Dracut,
                Some("10.0.0.3"),
                "/srv/root",
                vec!["vers=3"],
                false,
            ),
            (
                "nfs:10.0.0.3:/srv/root:rsize=8192",
                Dracut,
                Some("10.0.0.3"),
                "/srv/root",
                vec!["rsize=8192"],
                false,
            ),
            (
                "nfs:10.0.0.3:/srv/root:rsize=8192",
                Kernel,
                Some("10.0.0.3"),
                "/srv/root:rsize=8192",
                vec![],
                false,
            ),
            (
                "nfs4:10.0.0.3:/srv/root,sec=sys",
                Dracut,
                Some("10.0.0.3"),
                "/srv/root",
                vec!["sec=sys"],
                true,
            ),
            (
                "nfs4:10.0.0.3:/srv/root,sec=sys",
                Kernel,
                Some("10.0.0.3"),
                "/srv/root",
                vec!["sec=sys"],
                true,
            ),
            ("/srv/root", Dracut, None, "/srv/root", vec![], false),
            ("nfs:/srv/root", Kernel, None, "/srv/root", vec![], false),
            (
                "nfs://10.0.0.3/srv/root",
                Kernel,
                Some("10.0.0.3"),
                "/srv/root",
                vec![],
                false,
            ),
        ] {
            let (spec, v4) = parse_root_path(text, dialect).unwrap();
            assert_eq!(
                (spec.server, spec.path.as_str(), spec.options, v4),
                (
                    server.map(ip),
                    path,
                    options.iter().map(|s| s.to_string()).collect(),
                    nfs4
                ),
                "{text} ({dialect:?})"
            );
        }
        assert!(
            parse_root_path("nfs:srv:/x", Dracut)
                .unwrap_err()
                .contains("'srv'")
        );
    }

    #[test]
    fn ifname_and_rd_words() {
        let c = parse("ifname=bootnet:52:54:00:12:34:56 ifname=lan1:52-54-00-12-34-57 ifname=bootnet:52:54:00:12:34:58").unwrap();
        let got: Vec<(String, String)> = c
            .ifnames
            .iter()
            .map(|i| (i.name.clone(), i.mac.to_string()))
            .collect();
        // A name given twice: the last one wins.
        assert_eq!(
            got,
            [
                ("lan1".to_string(), "52:54:00:12:34:57".to_string()),
                ("bootnet".to_string(), "52:54:00:12:34:58".to_string())
            ]
        );
        for (text, want) in [
            ("ifname=bootnet", "ifname=: 'bootnet' is not <name>:<mac>"),
            (
                "ifname=:52:54:00:12:34:56",
                "ifname=: '' is not an interface name",
            ),
            (
                "ifname=averyveryverylongname:52:54:00:12:34:56",
                "is not an interface name",
            ),
            ("ifname=a/b:52:54:00:12:34:56", "is not an interface name"),
            ("ifname=bootnet:52:54:00", "is not a MAC address"),
            (
                "rd.net.timeout.dhcp=soon",
                "rd.net.timeout.dhcp=: 'soon' is not a number of seconds",
            ),
            (
                "rd.net.dhcp.retry=0",
                "rd.net.dhcp.retry=: '0' is not a count (1-100)",
            ),
            ("rd.peerdns=maybe", "rd.peerdns=: 'maybe' is not 0 or 1"),
            (
                "rd.overlay=tmpfs:size=lots",
                "rd.overlay=: 'lots' is not a size",
            ),
            (
                "rd.overlay=tmpfs:mode=0700",
                "rd.overlay=: 'mode=0700' is not one of size=",
            ),
            (
                "netinit.overlay=maybe",
                "netinit.overlay=: 'maybe' is not 0 or 1",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let c = parse("rd.overlay=tmpfs:size=25%,nr_inodes=100000 rd.net.timeout.dhcp=20 rd.net.dhcp.retry=3 rd.net.timeout.carrier=5 rd.net.timeout.iflink=30 rd.retry=120 rd.neednet=1 rd.peerdns=0 rd.shell rd.overlay.reset=1").unwrap();
        let d = &c.dracut;
        assert_eq!(
            (d.overlay, d.overlay_size, d.overlay_tmpfs.clone()),
            (
                Some(true),
                Some(OverlaySize::Percent(25)),
                vec!["nr_inodes=100000".to_string()]
            )
        );
        assert_eq!(
            (
                d.dhcp_timeout,
                d.dhcp_retry,
                d.carrier_timeout,
                d.iflink_timeout,
                d.retry
            ),
            (Some(20), Some(3), Some(5), Some(30), Some(120))
        );
        assert_eq!((d.neednet, d.peerdns), (Some(true), Some(false)));
        // rd.* words we don't use are not module parameters of a module "rd".
        assert!(c.module_params.is_empty());
        let unknown: Vec<&str> = c.unknown.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(unknown, ["rd.shell", "rd.overlay.reset"]);
        for (v, want) in [
            (
                "1",
                RdOverlay::Tmpfs {
                    size: None,
                    extra: vec![],
                },
            ),
            (
                "tmpfs:size=4G",
                RdOverlay::Tmpfs {
                    size: Some(OverlaySize::Bytes(4 << 30)),
                    extra: vec![],
                },
            ),
            ("0", RdOverlay::Off),
            ("none", RdOverlay::Off),
            ("LABEL=persist", RdOverlay::Device("LABEL=persist".into())),
        ] {
            assert_eq!(parse_rd_overlay(v), Ok(want), "{v}");
        }
        let c = parse("rd.overlay=UUID=1234").unwrap();
        assert!(
            c.notes[0].contains("not supported; writes go to RAM"),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn bootif_forms() {
        let mac: MacAddr = "aa:bb:cc:dd:ee:ff".parse().unwrap();
        assert_eq!(parse_bootif("01-aa-bb-cc-dd-ee-ff"), Ok(mac));
        assert_eq!(parse_bootif("01-AA-BB-CC-DD-EE-FF"), Ok(mac));
        assert_eq!(parse_bootif("aa-bb-cc-dd-ee-ff"), Ok(mac));
        for (bad, want) in [
            ("06-aa-bb-cc-dd-ee-ff", "hardware type '06' is not Ethernet"),
            ("01-aa-bb-cc", "is not 01-aa-bb"),
            ("01-aa-bb-cc-dd-ee-gg", "not a MAC address"),
            ("", "is not 01-aa"),
        ] {
            let e = parse_bootif(bad).unwrap_err();
            assert_eq!(e.param, "BOOTIF");
            assert!(e.reason.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn module_lists_and_params() {
        assert_eq!(
            parse_module_list("nfsv3:e1000e:8139too:atl1c:alx").unwrap(),
            ["nfsv3", "e1000e", "8139too", "atl1c", "alx"]
        );
        assert_eq!(
            parse_module_list("virtio-net,virtio_net,,squashfs").unwrap(),
            ["virtio_net", "squashfs"]
        );
        assert!(parse_module_list("e1000e;rm").is_err());
        let c = parse("e1000e.InterruptThrottleRate=3000 virtio-net.napi_tx=1 snd.x printk.time=1")
            .unwrap();
        let params: Vec<(String, String)> = c
            .module_params
            .into_iter()
            .map(|m| (m.module, m.param))
            .collect();
        assert_eq!(
            params,
            [
                (
                    "e1000e".to_string(),
                    "InterruptThrottleRate=3000".to_string()
                ),
                ("virtio_net".into(), "napi_tx=1".into()),
                ("snd".into(), "x".into()),
                ("printk".into(), "time=1".into()),
            ]
        );
    }

    #[test]
    fn netinit_namespace() {
        let c = parse(
            "netinit.modules=nfsv3:e1000e netinit.overlay_size=2G netinit.reboot=0 netinit.shell=0 \
             netinit.dhcp_timeout=300 netinit.carrier_timeout=5 netinit.nfs_timeout=120 netinit.overlay \
             netinit.lease_keeper=0 netinit.module_jobs=2 netinit.nfs_servers=10.0.0.2,10.0.0.1,fd00::2,[fd00::3] \
             netinit.nfs_attempts=4",
        )
        .unwrap();
        assert_eq!(
            c.netinit,
            NetinitParams {
                modules: vec!["nfsv3".into(), "e1000e".into()],
                overlay_size: Some(OverlaySize::Bytes(2 << 30)),
                reboot: Some(0),
                shell: Some(false),
                carrier_timeout: Some(5),
                dhcp_timeout: Some(300),
                nfs_timeout: Some(120),
                module_jobs: Some(2),
                layout: None,
                lease_keeper: Some(false),
                overlay: Some(true),
                nfs_servers: vec![ip("10.0.0.2"), ip("10.0.0.1"), ip("fd00::2"), ip("fd00::3")],
                nfs_attempts: Some(4),
            }
        );
        for (text, want) in [
            (
                "netinit.modles=x",
                "netinit.modles=: unknown netinit parameter",
            ),
            (
                "netinit.nfs_servers=10.0.0.1,10.0.0.1",
                "netinit.nfs_servers=: server 10.0.0.1 is listed twice",
            ),
            (
                "netinit.nfs_servers=10.0.0.1,files",
                "netinit.nfs_servers=: server 'files' is not an IPv4 address",
            ),
            (
                "netinit.nfs_attempts=0",
                "netinit.nfs_attempts=: '0' is not a number from 1 to 100",
            ),
            (
                "netinit.reboot=soon",
                "netinit.reboot=: 'soon' is not a number of seconds (0-86400)",
            ),
            (
                "netinit.dhcp_timeout=0",
                "netinit.dhcp_timeout=: '0' is not a number of seconds (1-86400)",
            ),
            (
                "netinit.lease_keeper=2",
                "netinit.lease_keeper=: '2' is not 0 or 1",
            ),
            (
                "netinit.shell=maybe",
                "netinit.shell=: 'maybe' is not 0 or 1",
            ),
            (
                "netinit.overlay_size=lots",
                "netinit.overlay_size=: 'lots' is not a size",
            ),
            ("netinit.modules", "netinit.modules=: needs a value"),
        ] {
            assert!(
                parse(text).unwrap_err().to_string().starts_with(want),
                "{text}: {}",
                parse(text).unwrap_err()
            );
        }
    }

    #[test]
    fn dialect_words() {
        let c = parse(
            "boot=Casper netboot=NFS live-media-path=/casper/ module=standard nfsopts=nolock,vers=3 ethdevice=eth1 \
             toram=filesystem.squashfs quiet nameserver=10.0.0.2 nameserver=10.0.0.3 overlay-size=80% init=/bin/bash \
             splash BOOT_IMAGE=/vmlinuz -- single",
        )
        .unwrap();
        assert_eq!(c.boot.as_deref(), Some("casper"));
        assert_eq!(c.netboot.as_deref(), Some("nfs"));
        assert_eq!(c.live_media_path.as_deref(), Some("casper"));
        assert_eq!(c.live_module.as_deref(), Some("standard"));
        assert_eq!(c.nfsopts, ["nolock", "vers=3"]);
        assert_eq!(c.ethdevice.as_deref(), Some("eth1"));
        assert!(c.toram && c.quiet);
        assert_eq!(c.nameservers, [a("10.0.0.2"), a("10.0.0.3")]);
        assert_eq!(c.netinit.overlay_size, Some(OverlaySize::Percent(80)));
        assert_eq!(c.init.as_deref(), Some("/bin/bash"));
        assert_eq!(c.init_args, ["single"]);
        let unknown: Vec<&str> = c.unknown.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(unknown, ["splash", "BOOT_IMAGE"]);
    }

    #[test]
    fn archiso_and_sys() {
        let c = parse("archiso_nfs_opt=vers=4.2 archiso_nfs_srv=10.0.0.1:/run/archiso/bootmnt archisobasedir=arch").unwrap();
        let spec = c.archiso_nfs.unwrap();
        assert_eq!(
            (spec.server, spec.path.as_str(), spec.options),
            (
                Some(ip("10.0.0.1")),
                "/run/archiso/bootmnt",
                vec!["vers=4.2".to_string()]
            )
        );
        let c = parse("sys=10.77.0.1:/export/linomad/sys").unwrap();
        assert_eq!(c.sys.unwrap().path, "/export/linomad/sys");
        assert!(
            parse("sys=/export/sys")
                .unwrap_err()
                .to_string()
                .contains("needs SERVER:PATH")
        );
        assert!(parse("live-media-path=../etc").is_err());
        assert!(
            parse("init=sbin/init")
                .unwrap_err()
                .to_string()
                .contains("not an absolute path")
        );
    }

    /// Any server address, IPv4 or IPv6.
    fn any_server() -> impl Strategy<Value = std::net::IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(std::net::IpAddr::from),
            any::<[u16; 8]>().prop_map(std::net::IpAddr::from),
        ]
    }

    /// A server as the cmdline writes it: IPv6 in brackets.
    fn written(server: std::net::IpAddr) -> String {
        match server {
            std::net::IpAddr::V4(a) => a.to_string(),
            std::net::IpAddr::V6(a) => format!("[{a}]"),
        }
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        /// Any list of break words either parses to known steps, each
        /// once, or names the word at fault.
        #[test]
        fn break_lists(words in proptest::collection::vec("[a-z_]{0,10}", 0..5), netinit: bool) {
            let value = words.join(",");
            match parse_break(Some(&value), netinit) {
                Ok(points) => {
                    prop_assert!(!points.is_empty());
                    for (i, p) in points.iter().enumerate() {
                        prop_assert!(!points[i + 1..].contains(p));
                    }
                }
                Err(e) => {
                    let named = words.iter().any(|w| e.contains(&format!("'{w}'")));
                    prop_assert!(named, "{}", e);
                }
            }
        }

        /// The kernel's `nfsroot=SERVER:/path,opts` reads back as written,
        /// an IPv6 server in brackets; the same text after dracut's
        /// `root=nfs:` names the same server and path.
        #[test]
        fn nfsroot_round_trips(
            server in any_server(),
            path in "(/[a-z0-9._-]{1,8}){1,3}",
            options in proptest::collection::vec("[a-z]{1,6}(=[a-z0-9.]{1,5})?", 0..4),
        ) {
            let mut text = format!("{}:{path}", written(server));
            for o in &options {
                text.push(',');
                text.push_str(o);
            }
            let spec = parse_nfsroot(&text).unwrap();
            prop_assert_eq!(&spec, &NfsSpec { server: Some(server), path: path.clone(), options });
            let Ok(RootParam::Nfs(dracut, false)) = parse_root(&format!("nfs:{text}")) else {
                return Err(TestCaseError::fail(format!("root=nfs:{text}")));
            };
            prop_assert_eq!((dracut.server, dracut.path), (Some(server), path));
        }

        /// casper's upper-case words mean what the lower-case ones do.
        #[test]
        fn upper_case_casper_words(server: [u8; 4], path in "(/[a-z0-9._-]{1,8}){1,3}") {
            let server = Ipv4Addr::from(server);
            let lower = parse(&format!("boot=casper netboot=nfs nfsroot={server}:{path}")).unwrap();
            let upper = parse(&format!("boot=casper NETBOOT=nfs NFSROOT={server}:{path}")).unwrap();
            prop_assert_eq!(lower, upper);
        }

        /// Any server, path and option list written in dracut's syntax,
        /// with either separator and with or without a prefix, reads back
        /// as written.
        #[test]
        fn dracut_forms_round_trip(
            server in proptest::option::of(any_server()),
            path in "(/[a-z0-9._%-]{1,8}){1,3}",
            options in proptest::collection::vec("[a-z]{1,6}(=[a-z0-9.]{1,5})?", 0..4),
            comma in any::<bool>(),
            prefix in proptest::sample::select(vec!["", "nfs:", "nfs4:"]),
        ) {
            let mut text = format!("{}{}", server.map(|s| format!("{}:", written(s))).unwrap_or_default(), path);
            if !options.is_empty() {
                text.push(if comma { ',' } else { ':' });
                text.push_str(&options.join(","));
            }
            let (spec, v4) = parse_root_path(&format!("{prefix}{text}"), RootPathDialect::Dracut).unwrap();
            prop_assert_eq!(v4, prefix == "nfs4:");
            prop_assert_eq!(&spec, &NfsSpec { server, path: path.clone(), options: options.clone() });
            if server.is_some() || !prefix.is_empty() {
                let root = parse_root(&format!("{prefix}{text}")).unwrap();
                prop_assert_eq!(root, RootParam::Nfs(spec, prefix == "nfs4:"));
            }
        }

        #[test]
        fn value_parsers_never_panic(text in "\\PC{0,40}") {
            let _ = parse_dracut_nfs(&text);
            let _ = parse_root_path(&text, RootPathDialect::Kernel);
            let _ = parse_root_path(&text, RootPathDialect::Dracut);
            let _ = parse_ifname(&text);
            let _ = parse_rd_overlay(&text);
        }

        #[test]
        fn never_panics_on_known_keys(
            key in proptest::sample::select(vec!["ip", "nfsroot", "root", "sys", "BOOTIF", "archiso_nfs_srv", "netinit.modules", "overlay-size", "init", "nameserver", "netinit.reboot", "ifname", "rd.overlay", "rd.net.timeout.dhcp", "rd.net.dhcp.retry", "rd.retry", "rd.peerdns", "netinit.overlay", "NETBOOT", "NFSROOT", "NFSOPTS", "break", "netinit.break", "vlan", "bond", "rd.route", "bootdev"]),
            value in "[0-9a-zA-Z:/.,%=_-]{0,40}",
        ) {
            let _ = parse(&format!("{key}={value}"));
        }
    }
}
