//! IPv6 on the boot NIC: `ip=auto6` (SLAAC) and `ip=dhcp6`.
//!
//! Waits for the link-local address to pass DAD (nothing can be sent
//! from a tentative address), solicits an RA, runs DHCPv6 for `dhcp6`,
//! adds the address with its lifetimes and the default route through
//! netlink, and returns only when the new address has passed DAD. Every
//! wait is bounded by the DHCP budget; DAD by [`DAD_WAIT_MS`] more.

use std::net::Ipv6Addr;
use std::time::Duration;

use netinit_core::dhcp6::ra::{self, RouterAdvert, Solicitor};
use netinit_core::dhcp6::{self, Client, ClientConfig, Lease};
use netinit_core::ipconf::Ipv6Mode;
use netinit_core::net::{Bound6, LeaseTimes, MacAddr, Net6};
use netinit_core::netlink::{IFA_F_DADFAILED, IFA_F_TENTATIVE};
use netinit_sys::Clock;
use netinit_sys::ip6::{Dhcp6Socket, Icmp6Socket, wait};
use netinit_sys::netlink::{Addresses6, LinkInfo, RtNetlink};

use crate::step::{Step, StepError};
use crate::{info, warn};

/// How often the DAD wait re-reads the addresses.
const DAD_POLL_MS: u64 = 50;
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
    nl: &mut impl Addresses6,
    clock: &mut impl Clock,
    link: &LinkInfo,
    addr: Option<Ipv6Addr>,
    limit_ms: u64,
) -> Result<Ipv6Addr, StepError> {
    let t0 = clock.now_ms();
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
        if clock.now_ms().saturating_sub(t0) >= limit_ms {
            return Err(err(format!(
                "{what} on {} is still tentative (DAD) after {limit_ms} ms",
                link.name
            ))
            .hint("is IPv6 disabled on the link (sysctl disable_ipv6)?"));
        }
        clock.sleep_ms(DAD_POLL_MS);
    }
}

/// What the exchange found: the router's RA and where it came from, and
/// a DHCPv6 lease with the time it was bound.
type Found = (Option<(RouterAdvert, Ipv6Addr)>, Option<(Lease, u64)>);

/// Time since the exchange began, on the seam's clock.
#[derive(Debug, Clone, Copy)]
struct Since(u64);

impl Since {
    fn ms(self, clock: &impl Clock) -> u64 {
        clock.now_ms().saturating_sub(self.0)
    }
}

/// Configures IPv6 on `link` per `mode`, within `budget_ms`.
pub fn configure(
    nl: &mut RtNetlink,
    clock: &mut impl Clock,
    link: &LinkInfo,
    mode: Ipv6Mode,
    budget_ms: u64,
) -> Result<Net6, StepError> {
    let t0 = Since(clock.now_ms());
    let mac = link.mac.unwrap_or(MacAddr([0; 6]));
    let ll = wait_dad(nl, clock, link, None, budget_ms.min(DAD_WAIT_MS + 2000))?;
    info!(Step::Dhcp, "{}: link-local {ll} ready", link.name);
    let (advert, lease) = exchange(clock, link, mode, mac, budget_ms, t0)?;
    let mut net = net6_from(link, mac, lease.as_ref().map(|(l, _)| l), advert.as_ref())?;
    // The keeper's clock is CLOCK_BOOTTIME: date the lease back from now.
    if let (Some(b), Some((_, at))) = (net.lease.as_mut(), &lease) {
        let ago = t0.ms(clock).saturating_sub(*at);
        b.times.bound_at_ms = netinit_sys::host::boottime_ms().saturating_sub(ago);
    }
    install(nl, clock, link, net)
}

/// Solicits an RA (and, for `dhcp6`, a DHCPv6 lease) until the mode has
/// what it needs or `budget_ms` since `t0` is spent.
fn exchange(
    clock: &impl Clock,
    link: &LinkInfo,
    mode: Ipv6Mode,
    mac: MacAddr,
    budget_ms: u64,
    t0: Since,
) -> Result<Found, StepError> {
    let mut x = Exchange::open(link, mode, mac, t0.ms(clock))?;
    loop {
        let t = t0.ms(clock);
        let done = match (mode, &x.found) {
            (Ipv6Mode::Auto6, (Some(_), _)) => true,
            (Ipv6Mode::Dhcp6, (Some(_), Some(_))) => true,
            (Ipv6Mode::Dhcp6, (None, Some((_, at)))) => t >= at + RA_AFTER_LEASE_MS,
            _ => false,
        };
        if done {
            return Ok(x.found);
        }
        if t >= budget_ms {
            return Err(timed_out(link, mode, x.found.1.is_some(), budget_ms));
        }
        x.send(t);
        x.receive(link, t0.ms(clock));
    }
}

/// The sockets and state machines of one IPv6 exchange, and what it found.
struct Exchange {
    icmp: Icmp6Socket,
    dhcp: Option<Dhcp6Socket>,
    solicitor: Solicitor,
    client: Client,
    found: Found,
    drops: u32,
    buf: Vec<u8>,
}

impl Exchange {
    fn open(link: &LinkInfo, mode: Ipv6Mode, mac: MacAddr, t: u64) -> Result<Self, StepError> {
        let icmp =
            Icmp6Socket::open(link.index, &link.name).map_err(|e| StepError::new(Step::Dhcp, e))?;
        let dhcp = match mode {
            Ipv6Mode::Dhcp6 => Some(
                Dhcp6Socket::open(link.index, &link.name)
                    .map_err(|e| StepError::new(Step::Dhcp, e))?,
            ),
            Ipv6Mode::Auto6 => None,
        };
        let solicitor = Solicitor::new(mac, mode == Ipv6Mode::Auto6);
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
            for a in client.carrier(t, true) {
                send6(&dhcp, a);
            }
        }
        Ok(Self {
            icmp,
            dhcp,
            solicitor,
            client,
            found: (None, None),
            drops: 0,
            buf: vec![0u8; 2048],
        })
    }

    /// Sends what is due at `t`, then waits (at most 200 ms) for an answer.
    fn send(&mut self, t: u64) {
        for a in self.solicitor.poll(t) {
            if let ra::Action::Send(rs) = a {
                if let Err(e) = self.icmp.send_rs(&rs) {
                    warn!(Step::Dhcp, "{e}");
                }
            }
        }
        if self.dhcp.is_some() && self.found.1.is_none() {
            for a in self.client.poll(t) {
                send6(&self.dhcp, a);
            }
        }
        let next = [
            self.solicitor.next_wakeup(),
            self.client.next_wakeup(),
            Some(t + 200),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(t + 200);
        wait(
            &self.icmp,
            self.dhcp.as_ref(),
            Duration::from_millis(next.saturating_sub(t).clamp(1, 200)),
        );
    }

    /// Reads every RA and DHCPv6 reply that has arrived by `t`.
    fn receive(&mut self, link: &LinkInfo, t: u64) {
        while let Ok(Some((n, src, hops))) = self.icmp.recv(&mut self.buf) {
            for a in self
                .solicitor
                .receive(src, hops, self.buf.get(..n).unwrap_or(&[]))
            {
                match a {
                    ra::Action::Advert(r, from) => self.found.0 = Some((*r, from)),
                    ra::Action::Dropped(why) if self.drops < MAX_DROP_LOGS => {
                        self.drops += 1;
                        warn!(Step::Dhcp, "{}: {why}", link.name);
                    }
                    _ => {}
                }
            }
        }
        let Some(sock) = &self.dhcp else {
            return;
        };
        while let Ok(Some((n, src))) = sock.recv(&mut self.buf) {
            for a in self
                .client
                .receive(t, src, self.buf.get(..n).unwrap_or(&[]))
            {
                match a {
                    dhcp6::Action::Bound(l) => self.found.1 = Some((*l, t)),
                    dhcp6::Action::Send(_) => send6(&self.dhcp, a),
                    dhcp6::Action::Dropped(why) | dhcp6::Action::Nak(why)
                        if self.drops < MAX_DROP_LOGS =>
                    {
                        self.drops += 1;
                        warn!(Step::Dhcp, "{}: {why}", link.name);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// What was missing when the budget ran out, with where to look.
fn timed_out(link: &LinkInfo, mode: Ipv6Mode, leased: bool, budget_ms: u64) -> StepError {
    let missing = match (mode, leased) {
        (Ipv6Mode::Auto6, _) => "no router advertisement with a /64 autonomous prefix",
        (Ipv6Mode::Dhcp6, false) => "no DHCPv6 lease",
        (Ipv6Mode::Dhcp6, true) => "no router advertisement",
    };
    err(format!(
        "IPv6 on {}: {missing} within {budget_ms} ms",
        link.name
    ))
    .hint(match mode {
        Ipv6Mode::Auto6 => {
            "does the router send RAs with the A flag (dnsmasq: enable-ra, ra-stateless)?"
        }
        Ipv6Mode::Dhcp6 => "is a DHCPv6 server on the link (dnsmasq: dhcp-range=::100,::1ff)?",
    })
}

/// The configuration: the lease's address, else SLAAC from the RA; the
/// RA adds its DNS, its search list and, with a lifetime, the router.
fn net6_from(
    link: &LinkInfo,
    mac: MacAddr,
    lease: Option<&Lease>,
    advert: Option<&(RouterAdvert, Ipv6Addr)>,
) -> Result<Net6, StepError> {
    let mut net = match (lease, advert) {
        (Some(l), _) => Net6 {
            method: "dhcp6",
            address: l.address,
            prefix: 128,
            gateway: None,
            dns: l.dns.clone(),
            search: l.search.clone(),
            bootfile_url: l.bootfile_url.clone(),
            valid_secs: l.valid_secs,
            preferred_secs: l.preferred_secs,
            lease: Some(Bound6 {
                server_duid: l.server_duid.clone(),
                iaid: l.iaid,
                times: LeaseTimes {
                    lease_secs: l.valid_secs,
                    t1_secs: l.t1_secs,
                    t2_secs: l.t2_secs,
                    bound_at_ms: l.bound_at_ms,
                },
            }),
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
                lease: None,
            }
        }
        (None, None) => return Err(err(format!("IPv6 on {}: nothing configured", link.name))),
    };
    if let Some((r, from)) = advert {
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
    Ok(net)
}

/// Adds the address, waits out its DAD, and adds the default route.
fn install(
    nl: &mut RtNetlink,
    clock: &mut impl Clock,
    link: &LinkInfo,
    net: Net6,
) -> Result<Net6, StepError> {
    // Forever in the kernel, as the IPv4 address (0008): the lease keeper
    // renews a DHCPv6 lease after boot, and an address that expires under
    // a running system is worse than one the server may reassign.
    let forever = netinit_core::netlink::INFINITY_LIFE_TIME;
    nl.add_address6(link.index, net.address, net.prefix, forever, forever)
        .map_err(|e| StepError::new(Step::Dhcp, e))?;
    wait_dad(nl, clock, link, Some(net.address), DAD_WAIT_MS)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeClock;
    use netinit_core::netlink::Addr6;

    /// Addresses per dump: the `n`-th call sees `dumps[n]` (the last repeats).
    struct Dumps(Vec<Vec<(Ipv6Addr, u32)>>, usize);

    impl Addresses6 for Dumps {
        fn addresses6(&mut self, index: u32) -> netinit_sys::Result<Vec<Addr6>> {
            let i = self.1.min(self.0.len().saturating_sub(1));
            self.1 += 1;
            Ok(self.0[i]
                .iter()
                .map(|&(addr, flags)| Addr6 {
                    index,
                    addr,
                    prefix: 64,
                    flags,
                    valid_secs: u32::MAX,
                })
                .collect())
        }
    }

    fn link() -> LinkInfo {
        crate::net::link::fake::eth(2, "eth0", 1)
    }

    const LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x5054, 0xff, 0xfe00, 1);
    const ULA: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x150);

    #[test]
    fn dad_waits_on_the_clock_until_the_address_settles() {
        let mut nl = Dumps(vec![vec![], vec![(LL, IFA_F_TENTATIVE)], vec![(LL, 0)]], 0);
        let mut clock = FakeClock::default();
        assert_eq!(
            wait_dad(&mut nl, &mut clock, &link(), None, 5000).unwrap(),
            LL
        );
        assert_eq!(clock.sleeps, [DAD_POLL_MS, DAD_POLL_MS]);
        // Another address than the one asked for does not count.
        let mut nl = Dumps(
            vec![
                vec![(LL, 0), (ULA, IFA_F_TENTATIVE)],
                vec![(LL, 0), (ULA, 0)],
            ],
            0,
        );
        let mut clock = FakeClock::default();
        assert_eq!(
            wait_dad(&mut nl, &mut clock, &link(), Some(ULA), 5000).unwrap(),
            ULA
        );
        assert_eq!(clock.sleeps, [DAD_POLL_MS]);
    }

    #[test]
    fn dad_fails_on_a_duplicate_or_after_its_bound() {
        let mut nl = Dumps(vec![vec![(ULA, IFA_F_TENTATIVE | IFA_F_DADFAILED)]], 0);
        let e = wait_dad(&mut nl, &mut FakeClock::default(), &link(), Some(ULA), 5000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate address detection failed"), "{e}");
        let mut nl = Dumps(vec![vec![(LL, IFA_F_TENTATIVE)]], 0);
        let mut clock = FakeClock::default();
        let e = wait_dad(&mut nl, &mut clock, &link(), None, 1000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("still tentative (DAD) after 1000 ms"), "{e}");
        // Bounded on the fake clock: 1000 ms in 50 ms polls, no real sleep.
        assert_eq!(clock.now_ms, 1000);
        assert_eq!(clock.sleeps.len(), 20);
    }
}
