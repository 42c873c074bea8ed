//! The boot plan: what netinit will do, decided before it does anything.
//!
//! [`plan`] is one pure function from the parsed cmdline ([`Config`]) to a
//! [`BootPlan`]. Whatever the cmdline leaves open (the NFS server, the root
//! path) is marked as coming from DHCP and resolved later by
//! [`BootPlan::resolve_root`], also pure, once the lease is known.

use std::net::Ipv4Addr;

use crate::config::Config;
use crate::ipconf::{Autoconf, Ipv4Cidr};
use crate::net::MacAddr;

/// Everything the executor needs, in the order it needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootPlan {
    pub network: NetworkPlan,
    /// Extra modules from `netinit.modules=` (normalised, `-` → `_`),
    /// loaded in addition to modalias coldplug.
    pub modules: Vec<String>,
    /// `module.param=value` words from the cmdline, for finit_module.
    pub module_params: Vec<ModuleParam>,
    pub root: RootPlan,
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
    /// `quiet`: only warnings and errors on the console.
    pub quiet: bool,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMethod {
    Dhcp,
    Static,
    None,
}

impl NetMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            NetMethod::Dhcp => "dhcp",
            NetMethod::Static => "static",
            NetMethod::None => "none",
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

/// Where the root filesystem comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPlan {
    pub kind: RootKind,
    /// NFS server. `None` means "resolve at runtime" (see [`ServerSource`]).
    pub server: Option<Ipv4Addr>,
    pub server_source: ServerSource,
    /// Export path. `None` means "take it from DHCP option 17".
    pub path: Option<String>,
    /// NFS mount options as the user wrote them (`v3`, `rsize=16384`, …).
    pub options: Vec<String>,
    /// `nfs4:` or `vers=4*` asked for NFSv4.
    pub nfs_version: NfsVersion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Nfs,
    None,
}

impl RootKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RootKind::Nfs => "nfs",
            RootKind::None => "none",
        }
    }
}

/// Where [`RootPlan::server`] comes from, in the kernel's precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSource {
    /// `nfsroot=SERVER:…`, `root=nfs:SERVER:…`, `sys=SERVER:…`, `archiso_nfs_srv=`.
    Cmdline,
    /// The `ip=` server field.
    IpParam,
    /// The DHCP server id / next-server, then the root-path (option 17).
    Dhcp,
}

impl ServerSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerSource::Cmdline => "cmdline",
            ServerSource::IpParam => "ip",
            ServerSource::Dhcp => "dhcp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NfsVersion {
    /// The default: NFSv3 (`nolock`, `proto=tcp`).
    V3,
    /// NFSv4 with an optional minor version (`vers=4.2` → `Some(2)`).
    V4(Option<u8>),
}

/// The live image layout to look for on the mounted root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePlan {
    pub layout: LiveLayout,
    /// Folder on the NFS root holding the image(s): `casper`, `live`,
    /// `arch` (archisobasedir), or linomad's `sys=` path tail.
    pub base_dir: Option<String>,
    /// live-boot's `filesystem.module` override / explicit image list.
    pub module: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveLayout {
    Casper,
    LiveBoot,
    Archiso,
    Linomad,
    /// A plain NFS root, mounted read-write (Arch diskless).
    None,
}

impl LiveLayout {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveLayout::Casper => "casper",
            LiveLayout::LiveBoot => "live-boot",
            LiveLayout::Archiso => "archiso",
            LiveLayout::Linomad => "linomad",
            LiveLayout::None => "none",
        }
    }
}

/// The writable layer over a live image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayPlan {
    pub size: OverlaySize,
}

/// tmpfs size for the overlay's upper layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlaySize {
    /// Percent of RAM (the default, 50, as live-boot).
    Percent(u8),
    Bytes(u64),
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

/// Time budgets, all overridable from the cmdline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Per-NIC wait for carrier (`netinit.carrier_timeout=`).
    pub carrier_secs: u32,
    /// Total DHCP budget across all NICs (`netinit.dhcp_timeout=`).
    pub dhcp_secs: u32,
    /// Total NFS mount retry budget (`netinit.nfs_timeout=`).
    pub nfs_secs: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            carrier_secs: 15,
            dhcp_secs: 90,
            nfs_secs: 60,
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

/// Turns the parsed cmdline into a plan. Pure.
pub fn plan(config: &Config) -> Result<BootPlan, PlanError> {
    let _ = config;
    Err(PlanError {
        param: "netinit".into(),
        reason: "planner not written yet".into(),
    })
}

/// Tokenizes, parses and plans a cmdline in one go.
pub fn from_cmdline(text: &str) -> Result<BootPlan, PlanError> {
    let _ = text;
    Err(PlanError {
        param: "netinit".into(),
        reason: "cmdline parser not written yet".into(),
    })
}
