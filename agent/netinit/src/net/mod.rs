//! The network phase: modules → links → DHCP or static `ip=`.
//!
//! The link is never set down and an address is never flushed: the root
//! filesystem will ride on this interface.

pub mod dhcp;
pub mod link;
pub mod modules;
pub mod preload;
pub mod static_ip;

use std::process::ExitCode;
use std::time::Instant;

use netinit_core::net::NetState;
use netinit_core::plan::{self, BootPlan, BreakPoint, NetMethod, RootKind};
use netinit_sys::netlink::RtNetlink;

use crate::cli::{self, Spec};
use crate::info;
use crate::log::timed;
use crate::step::{Step, StepError};
pub use preload::Preload;

/// Loads drivers, brings links up and configures the boot interface.
pub fn bring_up(plan: &BootPlan) -> Result<NetState, StepError> {
    network_on(plan)?;
    load_drivers(plan)?;
    configure(plan)
}

/// As [`bring_up`], and starts loading the root phase's modules in the
/// background so they load while the link and DHCP wait. With more than
/// one module job they start at once, beside the NIC drivers; with one,
/// after them, so the NIC starts negotiating first.
pub fn bring_up_for_root(plan: &BootPlan) -> Result<(NetState, Preload), StepError> {
    network_on(plan)?;
    let jobs = modules::jobs(plan);
    let early = (jobs > 1).then(|| Preload::start(plan, jobs));
    load_drivers(plan)?;
    let preload = early.unwrap_or_else(|| Preload::start(plan, jobs));
    Ok((configure(plan)?, preload))
}

/// The NIC drivers (a `break=` before them stops first).
fn load_drivers(plan: &BootPlan) -> Result<(), StepError> {
    crate::pid1::debug_break(plan, BreakPoint::Modules);
    timed(Step::Modules, || modules::load(plan)).map(drop)
}

fn network_on(plan: &BootPlan) -> Result<(), StepError> {
    if plan.network.method == NetMethod::None {
        return Err(StepError::new(
            Step::Link,
            "the network is off: no ip= method and no network root on the cmdline",
        )
        .hint("add ip=dhcp and an NFS root (nfsroot=, root=/dev/nfs, netboot=nfs, sys=)"));
    }
    Ok(())
}

/// Links up, then DHCP or static `ip=`.
fn configure(plan: &BootPlan) -> Result<NetState, StepError> {
    crate::pid1::debug_break(plan, BreakPoint::Link);
    let mut nl = RtNetlink::open().map_err(|e| StepError::new(Step::Link, e))?;
    let mut rescan = || {
        if let Err(e) = modules::load(plan) {
            crate::warn!(Step::Modules, "{e}");
        }
    };
    let candidates = timed(Step::Link, || link::prepare(&mut nl, plan, &mut rescan))?;
    crate::pid1::debug_break(plan, BreakPoint::Dhcp);
    let state = match plan.network.method {
        NetMethod::Static => timed(Step::Static, || {
            static_ip::configure(&mut nl, &mut netinit_sys::packet::RawArp, plan, &candidates)
        })?,
        _ => timed(Step::Dhcp, || dhcp::run(&mut nl, plan, &candidates))?,
    };
    let state = NetState {
        dns: plan.network.dns_for(&state.dns),
        ..state
    };
    let step = if plan.network.method == NetMethod::Static {
        Step::Static
    } else {
        Step::Dhcp
    };
    info!(step, "{}", describe(&state));
    Ok(state)
}

/// One line for the log: what the machine now is on the network.
fn describe(s: &NetState) -> String {
    let mut out = format!("{} {} {}", s.interface, s.mac, s.address);
    if let Some(gw) = s.gateway {
        out.push_str(&format!(" via {gw}"));
    }
    if let Some(sid) = s.server_id {
        out.push_str(&format!(", server {sid}"));
    }
    if let Some(rp) = &s.root_path {
        out.push_str(&format!(", root-path {rp}"));
    }
    if let Some(l) = s.lease {
        out.push_str(&format!(", lease {} s", l.lease_secs));
    }
    out
}

const SPEC: Spec = Spec {
    name: "net",
    flags: &["json", "hook"],
    valued: &["cmdline"],
    min_positional: 0,
    max_positional: 0,
    help: "\
Usage: netinit net [--json] [--hook] [--cmdline STRING]

Runs netinit's network phase in the current network namespace, exactly as
at boot: load NIC drivers by modalias (when /lib/modules/$(uname -r)
exists), bring up lo and the candidate NICs, then DHCP on all of them at
once (first lease wins) or the static ip= configuration. Prints the result.

Options:
  --cmdline STRING  use this cmdline instead of /proc/cmdline
  --json            print the configuration as JSON
  --hook            network-only hook mode, for an initrd whose own scripts
                    mount the root: do nothing unless the cmdline asks for
                    a network root; else write /run/net-IFACE.conf (klibc
                    ipconfig's format, which the distribution's scripts read)
                    and /run/netinit/net.json, and print DEVICE=IFACE

Exit status: 0 configured (or, with --hook, nothing to do), 1 the network
phase failed (one line says which NICs were tried, their carrier state and
the offers seen), 2 bad usage.",
};

/// `netinit net [--json] [--cmdline STRING]`.
pub fn main(args: &[String]) -> ExitCode {
    cli::run(&SPEC, args, |p| {
        let text = match cli::cmdline_source(p) {
            Ok(t) => t,
            Err(msg) => return cli::usage_error(&format!("net: {msg}")),
        };
        let plan = match plan::from_cmdline(&text) {
            Ok(plan) => plan,
            Err(e) => return cli::usage_error(&e.to_string()),
        };
        let hook = p.flag("hook");
        // A local boot stays as the distribution does it: no network.
        if hook && plan.root.kind == RootKind::None {
            return ExitCode::SUCCESS;
        }
        // A cmdline without a network root (e.g. a workstation's) still
        // means "try DHCP" here.
        let mut plan = plan;
        if plan.network.method == NetMethod::None && plan.network.autoconf.is_none() {
            plan.network.method = NetMethod::Dhcp;
        }
        let start = Instant::now();
        match bring_up(&plan) {
            Ok(state) => {
                let elapsed = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
                if hook {
                    return match hook_handoff(&state) {
                        Ok(()) => {
                            println!("DEVICE={}", state.interface);
                            ExitCode::SUCCESS
                        }
                        Err(e) => {
                            crate::log::failed(e.step, &e);
                            ExitCode::from(1)
                        }
                    };
                }
                if p.flag("json") {
                    print!("{}", state.to_json(elapsed).to_pretty());
                } else {
                    println!("{}", describe(&state));
                }
                ExitCode::SUCCESS
            }
            Err(e) if hook => {
                crate::log::failed(e.step, &e);
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("netinit: net: FAILED at {}: {e}", e.step);
                ExitCode::from(1)
            }
        }
    })
}

/// The files a distribution's own boot script reads instead of running
/// ipconfig again: klibc's /run/net-IFACE.conf (initramfs-tools'
/// configure_networking, live-boot and casper source it) and netinit's
/// /run/netinit/net.json.
fn hook_handoff(state: &NetState) -> Result<(), StepError> {
    use netinit_sys::mount::{Files, Linux};
    let err = |e| StepError::new(Step::Handoff, e);
    let mut sys = Linux;
    let conf = format!("/run/net-{}.conf", state.interface);
    let text = netinit_core::handoff::klibc_net_conf(state, None, netinit_sys::host::uptime_secs());
    sys.write(std::path::Path::new(&conf), &text).map_err(err)?;
    sys.write(
        std::path::Path::new("/run/netinit/net.json"),
        &state.to_json(0).to_pretty(),
    )
    .map_err(err)?;
    info!(Step::Handoff, "wrote {conf}, /run/netinit/net.json");
    Ok(())
}
