//! dracut's `bond=` and `vlan=`: the links are made as soon as their
//! lower links exist, before DHCP, so the boot interface can be one.
//! Nothing here takes a link down: a slave is enslaved while it is still
//! down, as the kernel wants, and the bond then opens it.

use netinit_core::plan::BootPlan;
use netinit_sys::netlink::{LinkInfo, Netlink};

use crate::step::{Step, StepError};
use crate::{info, warn};

/// Whether a bond or VLAN of the plan is still missing from `links`.
pub fn pending(plan: &BootPlan, links: &[LinkInfo]) -> bool {
    let n = &plan.network;
    let have = |name: &str| links.iter().any(|l| l.name == name);
    n.bonds.iter().any(|b| !have(&b.name)) || n.vlans.iter().any(|v| !have(&v.name))
}

/// Makes what of the plan's bonds and VLANs can be made now (`late`:
/// a bond without its missing slaves); the links afterwards, and whether
/// it made something.
pub fn make_pending(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    links: Vec<LinkInfo>,
    late: bool,
) -> Result<(Vec<LinkInfo>, bool), StepError> {
    if !pending(plan, &links) || !make(nl, plan, &links, late)? {
        return Ok((links, false));
    }
    let links = nl.links().map_err(|e| StepError::new(Step::Link, e))?;
    Ok((links, true))
}

/// Makes the bonds whose slaves are all present (or, once `late`, any of
/// them) and the VLANs whose parent is. True when it made something.
fn make(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    links: &[LinkInfo],
    late: bool,
) -> Result<bool, StepError> {
    let mut made = false;
    for b in &plan.network.bonds {
        made |= make_bond(nl, b, links, late)?;
    }
    for v in &plan.network.vlans {
        made |= make_vlan(nl, v, links)?;
    }
    Ok(made)
}

/// One bond, unless it exists or (before `late`) a slave is missing;
/// its present slaves are enslaved while down. True when it made it.
fn make_bond(
    nl: &mut dyn Netlink,
    b: &netinit_core::netdev::Bond,
    links: &[LinkInfo],
    late: bool,
) -> Result<bool, StepError> {
    let err = |e| StepError::new(Step::Link, e);
    let find = |name: &str| links.iter().find(|l| l.name == name);
    if find(&b.name).is_some() {
        return Ok(false);
    }
    let present: Vec<&LinkInfo> = b.slaves.iter().filter_map(|s| find(s)).collect();
    if present.is_empty() || (present.len() < b.slaves.len() && !late) {
        return Ok(false);
    }
    let primary = b.options.iter().find_map(|o| match &o.value {
        netinit_core::netdev::BondValue::Link(p) => find(p).map(|l| l.index),
        _ => None,
    });
    nl.create_bond(b, primary)
        .map_err(|e| err(e).hint("is the bonding module in the initrd? (CONFIG_BONDING)"))?;
    let Some(master) = nl
        .links()
        .map_err(err)?
        .into_iter()
        .find(|l| l.name == b.name)
    else {
        return Err(StepError::new(
            Step::Link,
            format_args!("bond {} was made but is not listed", b.name),
        ));
    };
    for s in &present {
        if s.up {
            // Enslaving wants it down, which netinit never does.
            warn!(
                Step::Link,
                "{} is already up: not enslaved to {}", s.name, b.name
            );
            continue;
        }
        nl.set_master(s.index, master.index).map_err(err)?;
    }
    for s in b.slaves.iter().filter(|s| find(s).is_none()) {
        warn!(
            Step::Link,
            "bond {}: slave {s} is not there; going on without it", b.name
        );
    }
    let names: Vec<&str> = present.iter().map(|l| l.name.as_str()).collect();
    info!(
        Step::Link,
        "bond {} over {} ({})",
        b.name,
        names.join(","),
        b.option_words().join(",")
    );
    Ok(true)
}

/// One VLAN, unless it exists or its parent does not (yet); the parent
/// is brought up first. True when it made it.
fn make_vlan(
    nl: &mut dyn Netlink,
    v: &netinit_core::netdev::Vlan,
    links: &[LinkInfo],
) -> Result<bool, StepError> {
    let err = |e| StepError::new(Step::Link, e);
    let find = |name: &str| links.iter().find(|l| l.name == name);
    if find(&v.name).is_some() {
        return Ok(false);
    }
    let Some(parent) = find(&v.parent) else {
        return Ok(false);
    };
    if !parent.up {
        nl.set_up(parent.index).map_err(err)?;
    }
    nl.create_vlan(&v.name, parent.index, v.id)
        .map_err(|e| err(e).hint("is the 8021q module in the initrd? (CONFIG_VLAN_8021Q)"))?;
    info!(Step::Link, "VLAN {} (id {}) on {}", v.name, v.id, v.parent);
    Ok(true)
}

/// The interfaces of further `ip=` words, then `rd.route=`. The boot
/// interface's default route stays the default route.
pub fn more_and_routes(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    boot: &netinit_core::net::NetState,
) -> Result<(), StepError> {
    let n = &plan.network;
    if n.more.is_empty() && n.routes.is_empty() {
        return Ok(());
    }
    let mut subnets = vec![(boot.ifindex, boot.address)];
    for m in &n.more {
        more_one(nl, plan, boot, m, &mut subnets)?;
    }
    // A DHCP lease on another interface may have replaced it.
    if let Some(gw) = boot.gateway {
        if !n.more.is_empty() {
            nl.add_default_route(boot.ifindex, gw)
                .map_err(|e| StepError::new(Step::Dhcp, e))?;
        }
    }
    add_routes(nl, &n.routes, boot, &subnets)
}

/// One further interface: up, then its static address (and a default
/// route if the boot interface has none) or a DHCP lease; a lease that
/// fails is a warning, it is not the boot interface.
fn more_one(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    boot: &netinit_core::net::NetState,
    m: &netinit_core::plan::IfPlan,
    subnets: &mut Vec<(u32, netinit_core::net::Ipv4Cidr)>,
) -> Result<(), StepError> {
    use netinit_core::plan::NetMethod;
    let step = if m.method == NetMethod::Static {
        Step::Static
    } else {
        Step::Dhcp
    };
    let links = nl.links().map_err(|e| StepError::new(step, e))?;
    let Some(link) = links.into_iter().find(|l| l.name == m.device) else {
        warn!(step, "ip=…{}…: no such interface, skipped", m.device);
        return Ok(());
    };
    if !link.up {
        nl.set_up(link.index).map_err(|e| StepError::new(step, e))?;
    }
    match (m.method, m.address) {
        (NetMethod::Static, Some(cidr)) => {
            if let Some(mtu) = m.mtu {
                if let Err(e) = nl.set_mtu(link.index, u32::from(mtu)) {
                    warn!(step, "{e}");
                }
            }
            nl.add_address(link.index, cidr, Some(cidr.broadcast()))
                .map_err(|e| StepError::new(step, e))?;
            if let (None, Some(gw)) = (boot.gateway, m.gateway) {
                nl.add_default_route(link.index, gw)
                    .map_err(|e| StepError::new(step, e))?;
            }
            info!(step, "{} {cidr}", m.device);
            subnets.push((link.index, cidr));
        }
        (NetMethod::Dhcp, _) => {
            let mut p = plan.clone();
            p.network.device = Some(m.device.clone());
            p.network.bootif = None;
            p.network.mtu = m.mtu;
            match super::dhcp::run(nl, &p, &[link]) {
                Ok(s) => {
                    info!(step, "{} {}", s.interface, s.address);
                    subnets.push((s.ifindex, s.address));
                }
                Err(e) => warn!(step, "{}: {e} (not the boot interface: going on)", m.device),
            }
        }
        _ => {}
    }
    Ok(())
}

/// `rd.route=`: on its named interface, else on the one whose subnet
/// holds the gateway, else on the boot interface.
fn add_routes(
    nl: &mut dyn Netlink,
    routes: &[netinit_core::netdev::StaticRoute],
    boot: &netinit_core::net::NetState,
    subnets: &[(u32, netinit_core::net::Ipv4Cidr)],
) -> Result<(), StepError> {
    for r in routes {
        let index = match &r.device {
            Some(d) => nl
                .links()
                .map_err(|e| StepError::new(Step::Link, e))?
                .into_iter()
                .find(|l| &l.name == d)
                .map(|l| l.index)
                .ok_or_else(|| {
                    StepError::new(Step::Link, format_args!("rd.route={r}: no interface {d}"))
                })?,
            // The interface whose subnet holds the gateway, else the boot one.
            None => subnets
                .iter()
                .find(|(_, c)| r.gateway.is_some_and(|g| c.contains(g)))
                .map_or(boot.ifindex, |(i, _)| *i),
        };
        let dest = netinit_core::net::Ipv4Cidr {
            addr: r.dest.network(),
            prefix: r.dest.prefix,
        };
        nl.add_route(index, dest, r.gateway).map_err(|e| {
            StepError::new(Step::Link, e)
                .hint("is the gateway inside the subnet of an interface netinit configured?")
        })?;
        info!(Step::Link, "route {r}");
    }
    Ok(())
}
