//! The DHCP driver: every candidate NIC at once, first valid lease wins.
//!
//! One loop polls all NICs' packet sockets with the earliest deadline of
//! their state machines. A NIC joins as soon as it has carrier; one that
//! never gets carrier within the carrier budget drops out without
//! delaying the others. The losers are left up but unconfigured.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use netinit_core::dhcp::udp;
use netinit_core::dhcp::{Action, Client, ClientConfig};
use netinit_core::net::NetState;
use netinit_core::plan::BootPlan;
use netinit_sys::netlink::{LinkInfo, Netlink};
use netinit_sys::packet::{PacketSocket, wait_readable};

use super::link;
use crate::step::{Step, StepError};
use crate::{info, warn};

/// Logged drops per NIC before we go quiet (a flood must not flood the console).
const MAX_DROP_LOGS: u32 = 5;

struct Nic {
    link: LinkInfo,
    socket: Option<PacketSocket>,
    client: Client,
    /// Milliseconds from the start at which carrier was seen.
    carrier_at: Option<u64>,
    gave_up: bool,
    drops: u32,
}

/// Runs DHCP on `candidates` until one binds; configures it and returns its state.
pub fn run(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    candidates: &[LinkInfo],
) -> Result<NetState, StepError> {
    let start = Instant::now();
    let now = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let budget = u64::from(plan.timeouts.dhcp_secs) * 1000;
    let carrier_budget = u64::from(plan.timeouts.carrier_secs) * 1000;
    let seed = seed();
    let mut nics: Vec<Nic> = candidates
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mac = l.mac.unwrap_or(netinit_core::net::MacAddr([0; 6]));
            let cfg = ClientConfig {
                mac,
                hostname: plan.network.hostname.clone(),
                vendor_class: "netinit".into(),
                rapid_commit: true,
            };
            let socket = match PacketSocket::open(l.index, &l.name) {
                Ok(s) => Some(s),
                Err(e) => {
                    warn!(Step::Dhcp, "{e}");
                    None
                }
            };
            Nic {
                link: l.clone(),
                socket,
                client: Client::new(
                    cfg,
                    seed ^ mac_bits(mac) ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9),
                ),
                carrier_at: None,
                gave_up: false,
                drops: 0,
            }
        })
        .collect();
    if nics.iter().all(|n| n.socket.is_none()) {
        return Err(
            StepError::new(Step::Dhcp, "no packet socket could be opened on any NIC")
                .hint("is CONFIG_PACKET enabled? (netinit check-kernel)"),
        );
    }
    let mut buf = vec![0u8; 2048];
    loop {
        let t = now();
        refresh_carrier(nl, &mut nics, t, carrier_budget)?;
        if t >= budget || nics.iter().all(|n| n.gave_up || n.socket.is_none()) {
            return Err(summary(&nics, plan));
        }
        for nic in nics.iter_mut().filter(|n| n.carrier_at.is_some()) {
            let actions = nic.client.poll(t);
            if let Some(done) = handle(nic, actions) {
                return finish(nl, nic, done, t);
            }
        }
        // Sleep until a client is due, a carrier check is due, or a packet comes.
        let mut wake = budget;
        for n in nics.iter().filter(|n| n.carrier_at.is_some()) {
            wake = wake.min(n.client.next_wakeup().unwrap_or(budget));
        }
        if nics.iter().any(|n| n.carrier_at.is_none() && !n.gave_up) {
            wake = wake.min(t + link::CARRIER_POLL.as_millis() as u64);
        }
        let active: Vec<&Nic> = nics.iter().filter(|n| n.socket.is_some()).collect();
        let sockets: Vec<&PacketSocket> = active.iter().filter_map(|n| n.socket.as_ref()).collect();
        let ready = wait_readable(
            &sockets,
            Duration::from_millis(wake.saturating_sub(now()).max(1)),
        )
        .map_err(|e| StepError::new(Step::Dhcp, e))?;
        let ready_idx: Vec<u32> = active
            .iter()
            .zip(ready)
            .filter(|(_, r)| *r)
            .map(|(n, _)| n.link.index)
            .collect();
        for nic in nics
            .iter_mut()
            .filter(|n| ready_idx.contains(&n.link.index))
        {
            while let Some(len) = recv(nic, &mut buf) {
                let Some(frame) = buf.get(..len) else { break };
                let Ok((src, payload)) = udp::unwrap(frame) else {
                    continue;
                };
                let t = now();
                let actions = nic.client.receive(t, src, payload);
                if let Some(done) = handle(nic, actions) {
                    return finish(nl, nic, done, t);
                }
            }
        }
    }
}

fn recv(nic: &Nic, buf: &mut [u8]) -> Option<usize> {
    match nic.socket.as_ref()?.recv(buf) {
        Ok(n) => n,
        Err(e) => {
            warn!(Step::Dhcp, "{e}");
            None
        }
    }
}

/// Marks NICs that got carrier, and gives up on those past the carrier budget.
fn refresh_carrier(
    nl: &mut dyn Netlink,
    nics: &mut [Nic],
    t: u64,
    budget: u64,
) -> Result<(), StepError> {
    if nics.iter().all(|n| n.carrier_at.is_some() || n.gave_up) {
        return Ok(());
    }
    let links = nl.links().map_err(|e| StepError::new(Step::Dhcp, e))?;
    for nic in nics
        .iter_mut()
        .filter(|n| n.carrier_at.is_none() && !n.gave_up)
    {
        if links.iter().any(|l| l.index == nic.link.index && l.carrier) {
            nic.carrier_at = Some(t);
            info!(
                Step::Dhcp,
                "{}: carrier after {t} ms, DISCOVER xid {:#010x}",
                nic.link.name,
                nic.client.xid()
            );
        } else if t >= budget {
            nic.gave_up = true;
            warn!(
                Step::Dhcp,
                "{}: no carrier after {} s; not waiting for it",
                nic.link.name,
                budget / 1000
            );
        }
    }
    Ok(())
}

/// Carries out actions; returns the lease if one bound.
fn handle(nic: &mut Nic, actions: Vec<Action>) -> Option<netinit_core::dhcp::Lease> {
    for a in actions {
        match a {
            Action::Send(payload) => {
                let datagram = udp::wrap(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, &payload);
                if let Some(Err(e)) = nic.socket.as_ref().map(|s| s.broadcast(&datagram)) {
                    warn!(Step::Dhcp, "{e}");
                }
            }
            Action::Bound(lease) => return Some(*lease),
            Action::Dropped(why) => {
                nic.drops += 1;
                if nic.drops <= MAX_DROP_LOGS {
                    warn!(Step::Dhcp, "{}: dropped: {why}", nic.link.name);
                }
            }
            Action::Nak(why) => warn!(Step::Dhcp, "{}: {why}; starting over", nic.link.name),
        }
    }
    None
}

fn finish(
    nl: &mut dyn Netlink,
    nic: &Nic,
    lease: netinit_core::dhcp::Lease,
    t: u64,
) -> Result<NetState, StepError> {
    for w in &lease.warnings {
        warn!(Step::Dhcp, "{}: {w}", nic.link.name);
    }
    let mac = nic.link.mac.unwrap_or(netinit_core::net::MacAddr([0; 6]));
    let state = lease.to_net_state(&nic.link.name, nic.link.index, mac);
    let since_carrier = t.saturating_sub(nic.carrier_at.unwrap_or(0));
    info!(
        Step::Dhcp,
        "{}: lease {} from {} in {since_carrier} ms after carrier",
        nic.link.name,
        state.address,
        lease.server_id
    );
    link::apply(nl, Step::Dhcp, &state)?;
    Ok(state)
}

/// The one-line failure: every NIC, its carrier state and the offers seen.
fn summary(nics: &[Nic], plan: &BootPlan) -> StepError {
    let per_nic: Vec<String> = nics
        .iter()
        .map(|n| {
            let state = match (&n.socket, n.carrier_at) {
                (None, _) => "no socket".to_owned(),
                (_, None) => "no carrier".to_owned(),
                (_, Some(_)) => {
                    let drops = if n.drops > 0 {
                        format!(", {} dropped", n.drops)
                    } else {
                        String::new()
                    };
                    format!("carrier, {} offers{drops}", n.client.offers_seen())
                }
            };
            format!("{} ({state})", n.link.name)
        })
        .collect();
    let any_carrier = nics.iter().any(|n| n.carrier_at.is_some());
    let (what, hint) = if any_carrier {
        (
            format!("no DHCP lease after {} s", plan.timeouts.dhcp_secs),
            "is a DHCP server on this segment? raise netinit.dhcp_timeout= for slow spanning tree",
        )
    } else {
        (
            format!(
                "no carrier on any NIC after {} s",
                plan.timeouts.carrier_secs
            ),
            "check the cable/switch port, or raise netinit.carrier_timeout=",
        )
    };
    StepError::new(Step::Dhcp, format_args!("{what}: {}", per_nic.join(", "))).hint(hint)
}

/// Identical VMs booted at the same instant still differ by MAC.
fn mac_bits(mac: netinit_core::net::MacAddr) -> u64 {
    mac.0.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Seeds xids and jitter; needs to differ between machines and boots, not
/// to be secret. Early boot may have no entropy, so no getrandom.
fn seed() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let nanos = (ts.tv_sec as u64).wrapping_mul(1_000_000_007) ^ ts.tv_nsec as u64;
    let pid = u64::from(
        rustix::process::getpid()
            .as_raw_nonzero()
            .get()
            .unsigned_abs(),
    );
    nanos.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ pid.rotate_left(32)
}
