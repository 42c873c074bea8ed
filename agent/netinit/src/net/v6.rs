//! IPv6 on the boot NIC: `ip=auto6` (SLAAC) and `ip=dhcp6`.
//!
//! Waits for the link-local address to pass DAD (nothing can be sent
//! from a tentative address), solicits an RA, runs DHCPv6 for `dhcp6`,
//! adds the address with its lifetimes and the default route through
//! netlink, and returns only when the new address has passed DAD. Every
//! wait is bounded by the DHCP budget; DAD by [`DAD_WAIT_MS`] more.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use netinit_core::dhcp6::ra::{self, RouterAdvert, Solicitor};
use netinit_core::dhcp6::{self, Client, ClientConfig, Lease};
use netinit_core::ipconf::Ipv6Mode;
use netinit_core::net::{MacAddr, Net6};
use netinit_core::netlink::{IFA_F_DADFAILED, IFA_F_TENTATIVE};
use netinit_sys::ip6::{Dhcp6Socket, Icmp6Socket, wait};
use netinit_sys::netlink::{LinkInfo, RtNetlink};

use crate::step::{Step, StepError};
use crate::{info, warn};

/// DAD takes about a second (one probe, RetransTimer 1 s); 5 s covers
/// a slow link without hiding a stuck one.
pub const DAD_WAIT_MS: u64 = 5000;
/// With DHCPv6 bound, how long to wait on for the router's RA (the
/// default route); the address works on-link without it.
const RA_AFTER_LEASE_MS: u64 = 3000;
const MAX_DROP_LOGS: u32 = 5;

fn err(msg: impl Into<String>) -> StepError {
    StepError::new(Step::Dhcp, msg.into())
}

/// Waits until `addr` (or, with `None`, a link-local address) is on the
/// link and no longer tentative.
fn wait_dad(
    nl: &mut RtNetlink,
    link: &LinkInfo,
    addr: Option<Ipv6Addr>,
    limit_ms: u64,
) -> Result<Ipv6Addr, StepError> {
    let t0 = Instant::now();
    let what = addr.map_or_else(|| "the link-local address".to_owned(), |a| a.to_string());
    loop {
        let addrs = nl
            .addresses6(link.index)
            .map_err(|e| StepError::new(Step::Dhcp, e))?;
        let mine = addrs.iter().find(|a| match addr {
            Some(want) => a.addr == want,
            None => a.addr.segments()[0] == 0xfe80,
        });
        match mine {
            Some(a) if a.flags & IFA_F_DADFAILED != 0 => {
                return Err(err(format!(
                    "{} on {}: duplicate address detection failed, another host has it",
                    a.addr, link.name
                ))
                .hint("two machines with the same MAC or the same DHCPv6 lease?"));
            }
            Some(a) if a.flags & IFA_F_TENTATIVE == 0 => return Ok(a.addr),
            _ => {}
        }
        if t0.elapsed() >= Duration::from_millis(limit_ms) {
            return Err(err(format!(
                "{what} on {} is still tentative (DAD) after {limit_ms} ms",
                link.name
            ))
            .hint("is IPv6 disabled on the link (sysctl disable_ipv6)?"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Configures IPv6 on `link` per `mode`, within `budget_ms`.
pub fn configure(
    nl: &mut RtNetlink,
    link: &LinkInfo,
    mode: Ipv6Mode,
    budget_ms: u64,
) -> Result<Net6, StepError> {
    let t0 = Instant::now();
    let now = || u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mac = link.mac.unwrap_or(MacAddr([0; 6]));
    let ll = wait_dad(nl, link, None, budget_ms.min(DAD_WAIT_MS + 2000))?;
    info!(Step::Dhcp, "{}: link-local {ll} ready", link.name);
    let icmp =
        Icmp6Socket::open(link.index, &link.name).map_err(|e| StepError::new(Step::Dhcp, e))?;
    let dhcp = match mode {
        Ipv6Mode::Dhcp6 => Some(
            Dhcp6Socket::open(link.index, &link.name).map_err(|e| StepError::new(Step::Dhcp, e))?,
        ),
        Ipv6Mode::Auto6 => None,
    };
    let mut solicitor = Solicitor::new(mac, mode == Ipv6Mode::Auto6);
    let seed = u64::from(u32::from_be_bytes([mac.0[2], mac.0[3], mac.0[4], mac.0[5]]))
        ^ netinit_sys::host::boottime_ms().rotate_left(17);
    let mut client = Client::new(
        ClientConfig {
            mac,
            iaid: link.index,
            rapid_commit: true,
        },
        seed,
    );
    if dhcp.is_some() {
        for a in client.carrier(now(), true) {
            send6(&dhcp, a);
        }
    }
    let mut advert: Option<(RouterAdvert, Ipv6Addr)> = None;
    let mut lease: Option<(Lease, u64)> = None;
    let mut drops = 0u32;
    let mut buf = vec![0u8; 2048];
    loop {
        let t = now();
        let done = match (mode, &advert, &lease) {
            (Ipv6Mode::Auto6, Some(_), _) => true,
            (Ipv6Mode::Dhcp6, Some(_), Some(_)) => true,
            (Ipv6Mode::Dhcp6, None, Some((_, at))) => t >= at + RA_AFTER_LEASE_MS,
            _ => false,
        };
        if done {
            break;
        }
        if t >= budget_ms {
            let missing = match (mode, &lease) {
                (Ipv6Mode::Auto6, _) => "no router advertisement with a /64 autonomous prefix",
                (Ipv6Mode::Dhcp6, None) => "no DHCPv6 lease",
                (Ipv6Mode::Dhcp6, Some(_)) => "no router advertisement",
            };
            return Err(err(format!(
                "IPv6 on {}: {missing} within {budget_ms} ms",
                link.name
            ))
            .hint(match mode {
                Ipv6Mode::Auto6 => {
                    "does the router send RAs with the A flag (dnsmasq: enable-ra, ra-stateless)?"
                }
                Ipv6Mode::Dhcp6 => {
                    "is a DHCPv6 server on the link (dnsmasq: dhcp-range=::100,::1ff)?"
                }
            }));
        }
        for a in solicitor.poll(t) {
            if let ra::Action::Send(rs) = a {
                if let Err(e) = icmp.send_rs(&rs) {
                    warn!(Step::Dhcp, "{e}");
                }
            }
        }
        if dhcp.is_some() && lease.is_none() {
            for a in client.poll(t) {
                send6(&dhcp, a);
            }
        }
        let next = [solicitor.next_wakeup(), client.next_wakeup(), Some(t + 200)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(t + 200);
        wait(
            &icmp,
            dhcp.as_ref(),
            Duration::from_millis(next.saturating_sub(t).clamp(1, 200)),
        );
        while let Ok(Some((n, src, hops))) = icmp.recv(&mut buf) {
            for a in solicitor.receive(src, hops, buf.get(..n).unwrap_or(&[])) {
                match a {
                    ra::Action::Advert(r, from) => advert = Some((*r, from)),
                    ra::Action::Dropped(why) if drops < MAX_DROP_LOGS => {
                        drops += 1;
                        warn!(Step::Dhcp, "{}: {why}", link.name);
                    }
                    _ => {}
                }
            }
        }
        if let Some(sock) = &dhcp {
            while let Ok(Some((n, src))) = sock.recv(&mut buf) {
                for a in client.receive(now(), src, buf.get(..n).unwrap_or(&[])) {
                    match a {
                        dhcp6::Action::Bound(l) => lease = Some((*l, now())),
                        dhcp6::Action::Send(_) => send6(&dhcp, a),
                        dhcp6::Action::Dropped(why) | dhcp6::Action::Nak(why)
                            if drops < MAX_DROP_LOGS =>
                        {
                            drops += 1;
                            warn!(Step::Dhcp, "{}: {why}", link.name);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let mut net = match (&lease, &advert) {
        (Some((l, _)), _) => Net6 {
            method: "dhcp6",
            address: l.address,
            prefix: 128,
            gateway: None,
            dns: l.dns.clone(),
            search: l.search.clone(),
            bootfile_url: l.bootfile_url.clone(),
            valid_secs: l.valid_secs,
            preferred_secs: l.preferred_secs,
        },
        (None, Some((r, _))) => {
            let Some((addr, p)) = r.slaac(mac).into_iter().next() else {
                return Err(err(format!(
                    "IPv6 on {}: the RA has no SLAAC prefix",
                    link.name
                )));
            };
            Net6 {
                method: "auto6",
                address: addr,
                prefix: p.len,
                gateway: None,
                dns: Vec::new(),
                search: Vec::new(),
                bootfile_url: None,
                valid_secs: p.valid_secs,
                preferred_secs: p.preferred_secs,
            }
        }
        (None, None) => return Err(err(format!("IPv6 on {}: nothing configured", link.name))),
    };
    if let Some((r, from)) = &advert {
        net.dns.extend(
            r.rdnss
                .iter()
                .filter(|d| !net.dns.contains(d))
                .copied()
                .collect::<Vec<_>>(),
        );
        net.search.extend(
            r.dnssl
                .iter()
                .filter(|d| !net.search.contains(d))
                .cloned()
                .collect::<Vec<_>>(),
        );
        if r.router_lifetime > 0 {
            net.gateway = Some(*from);
        }
    }
    // Forever in the kernel, as the IPv4 address (0008): nothing renews
    // a DHCPv6 lease after boot yet, and an address that expires under a
    // running system is worse than one the server may reassign.
    let forever = netinit_core::netlink::INFINITY_LIFE_TIME;
    nl.add_address6(link.index, net.address, net.prefix, forever, forever)
        .map_err(|e| StepError::new(Step::Dhcp, e))?;
    wait_dad(nl, link, Some(net.address), DAD_WAIT_MS)?;
    if let Some(gw) = net.gateway {
        if let Err(e) = nl.add_default_route6(link.index, gw) {
            warn!(Step::Dhcp, "{e}");
        }
    }
    Ok(net)
}

fn send6(sock: &Option<Dhcp6Socket>, a: dhcp6::Action) {
    if let (Some(s), dhcp6::Action::Send(d)) = (sock, a) {
        if let Err(e) = s.send(&d) {
            warn!(Step::Dhcp, "{e}");
        }
    }
}
