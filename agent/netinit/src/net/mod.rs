//! The network phase: modules → links → DHCP or static `ip=`.
//!
//! The link is never set down and an address is never flushed: the root
//! filesystem will ride on this interface.

pub mod dhcp;
pub mod link;
pub mod modules;
pub mod preload;
pub mod static_ip;

use netinit_core::net::NetState;
use netinit_core::plan::{BootPlan, BreakPoint, NetMethod};
use netinit_sys::netlink::RtNetlink;

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
    crate::shell::debug_break(plan, BreakPoint::Modules);
    timed(Step::Modules, || modules::load(plan))
}

fn network_on(plan: &BootPlan) -> Result<(), StepError> {
    if plan.network.method == NetMethod::Off {
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
    crate::shell::debug_break(plan, BreakPoint::Link);
    let mut nl = RtNetlink::open().map_err(|e| StepError::new(Step::Link, e))?;
    let mut drivers = modules::Kernel {
        plan,
        preload: None,
    };
    let mut clock = netinit_sys::Linux;
    let candidates = timed(Step::Link, || {
        link::prepare(&mut nl, &mut clock, plan, &mut drivers)
    })?;
    crate::shell::debug_break(plan, BreakPoint::Dhcp);
    let state = match plan.network.method {
        NetMethod::Static => timed(Step::Static, || {
            static_ip::configure(
                &mut nl,
                &mut clock,
                &mut netinit_sys::packet::RawArp,
                plan,
                &candidates,
            )
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
pub fn describe(s: &NetState) -> String {
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
