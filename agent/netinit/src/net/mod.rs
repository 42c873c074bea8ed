//! The network phase: modules → links → DHCP or static `ip=`.
//!
//! The link is never set down and an address is never flushed: the root
//! filesystem will ride on this interface.

pub mod dhcp;
pub mod link;
pub mod modules;
pub mod netdev;
pub mod preload;
pub mod static_ip;
pub mod v6;

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
    if plan.network.method == NetMethod::Off && plan.network.ipv6.is_none() {
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
    let mut state = match plan.network.method {
        NetMethod::Static => timed(Step::Static, || {
            static_ip::configure(
                &mut nl,
                &mut clock,
                &mut netinit_sys::packet::RawArp,
                plan,
                &candidates,
            )
        })?,
        NetMethod::Off => ipv6_only(&candidates)?,
        _ => timed(Step::Dhcp, || dhcp::run(&mut nl, plan, &candidates))?,
    };
    if let Some(mode) = plan.network.ipv6 {
        // IPv6 rides on the NIC IPv4 chose (or the first one, IPv6 alone).
        let link = candidates
            .iter()
            .find(|l| l.index == state.ifindex)
            .ok_or_else(|| StepError::new(Step::Dhcp, "the IPv4 NIC vanished"))?;
        let budget = u64::from(plan.timeouts.dhcp_secs) * 1000;
        match timed(Step::Dhcp, || {
            v6::configure(&mut nl, &mut clock, link, mode, budget)
        }) {
            Ok(net6) => {
                let (a, p, m) = (net6.address, net6.prefix, net6.method);
                info!(Step::Dhcp, "{} {a}/{p} ({m})", link.name);
                state.ipv6 = Some(net6);
            }
            // Dual stack: a root on IPv4 rides on it, which works; IPv6
            // alone, or a root on an IPv6 server, has nothing else to boot on.
            Err(e) if plan.network.method != NetMethod::Off && !plan.root_over_ipv6() => {
                crate::warn!(Step::Dhcp, "IPv6 not configured, going on with IPv4: {e}");
            }
            Err(e) => return Err(e),
        }
    }
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
    netdev::more_and_routes(&mut nl, plan, &state)?;
    Ok(state)
}

/// IPv6 alone: the first candidate NIC, no IPv4 address (0.0.0.0/0).
fn ipv6_only(candidates: &[netinit_sys::netlink::LinkInfo]) -> Result<NetState, StepError> {
    let l = candidates
        .first()
        .ok_or_else(|| StepError::new(Step::Dhcp, "no NIC for IPv6"))?;
    Ok(NetState {
        interface: l.name.clone(),
        ifindex: l.index,
        mac: l.mac.unwrap_or(netinit_core::net::MacAddr([0; 6])),
        proto: netinit_core::net::Proto::Static,
        address: netinit_core::net::Ipv4Cidr {
            addr: std::net::Ipv4Addr::UNSPECIFIED,
            prefix: 0,
        },
        broadcast: None,
        gateway: None,
        routes: Vec::new(),
        server_id: None,
        next_server: None,
        dns: Vec::new(),
        domain: None,
        search: Vec::new(),
        hostname: None,
        root_path: None,
        bootfile: None,
        mtu: None,
        ntp: Vec::new(),
        lease: None,
        ipv6: None,
    })
}

/// One line for the log: what the machine now is on the network.
pub fn describe(s: &NetState) -> String {
    let mut out = format!("{} {}", s.interface, s.mac);
    if !s.address.addr.is_unspecified() {
        out.push_str(&format!(" {}", s.address));
    }
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
    if let Some(v6) = &s.ipv6 {
        out.push_str(&format!(", {}/{} ({})", v6.address, v6.prefix, v6.method));
        if let Some(gw) = v6.gateway {
            out.push_str(&format!(" via {gw}"));
        }
    }
    out
}
