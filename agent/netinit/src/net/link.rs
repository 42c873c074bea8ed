//! Links over rtnetlink: bring up lo and the candidate NICs, wait for
//! carrier, and apply the chosen configuration. Nothing here sets a link
//! down or removes an address (the `Netlink` trait cannot).

use std::time::Duration;

use std::net::Ipv4Addr;

use netinit_core::config::IfName;
use netinit_core::net::Ipv4Cidr;
use netinit_core::net::NetState;
use netinit_core::plan::BootPlan;
use netinit_sys::Clock;
use netinit_sys::netlink::{LinkInfo, Netlink};

use super::modules::Modules;
use crate::step::{Step, StepError};
use crate::{info, warn};

/// How often carrier is re-read while waiting.
pub const CARRIER_POLL: Duration = Duration::from_millis(10);
/// While no NIC the plan can use exists: how often links are listed,
/// drivers are loaded again for new devices, and a progress line says so.
const NIC_POLL: Duration = Duration::from_millis(100);
const NIC_RESCAN: Duration = Duration::from_millis(500);
const NIC_PROGRESS: Duration = Duration::from_secs(2);

/// Brings up lo and the NICs the plan may use; returns those NICs.
/// While it waits for a NIC, `modules` loads drivers for devices that
/// appeared since.
pub fn prepare(
    nl: &mut dyn Netlink,
    clock: &mut dyn Clock,
    plan: &BootPlan,
    modules: &mut dyn Modules,
) -> Result<Vec<LinkInfo>, StepError> {
    // rd.net.timeout.iflink= bounds the wait for a NIC; else the carrier budget does.
    let secs = match plan.timeouts.link_secs {
        0 => plan.timeouts.carrier_secs,
        s => s,
    };
    let timeout = Duration::from_secs(u64::from(secs));
    let start = clock.now_ms();
    let mut lo_done = false;
    let mut next_rescan = Duration::ZERO;
    let mut next_progress = Duration::ZERO;
    let (links, candidates) = loop {
        // A slave that never shows up must not keep the bond from
        // being made: halfway through the wait, take what is there.
        let late = Duration::from_millis(clock.now_ms().saturating_sub(start)) >= timeout / 2;
        let links = current_links(nl, plan, late, &mut lo_done)?;
        match pick(&links, plan) {
            Ok(c) => break (links, c),
            // USB NICs, Hyper-V's netvsc, async probes and a BOOTIF NIC
            // whose driver is still binding appear late: keep loading
            // drivers and looking, within the carrier budget.
            Err(mut e) => {
                let waited = Duration::from_millis(clock.now_ms().saturating_sub(start));
                if waited >= timeout {
                    e.reason = e.reason.replacen(
                        " (present:",
                        &format!(" after {} s (present:", timeout.as_secs()),
                        1,
                    );
                    return Err(e);
                }
                if waited >= next_progress {
                    info!(
                        Step::Link,
                        "waiting for a NIC ({}): {} of {} s",
                        e.reason,
                        waited.as_secs(),
                        timeout.as_secs()
                    );
                    next_progress = waited + NIC_PROGRESS;
                }
                if waited >= next_rescan {
                    modules.rescan();
                    next_rescan = waited + NIC_RESCAN;
                }
                clock.sleep_ms(ms(NIC_POLL));
            }
        }
    };
    // Links the boot interface does not need (for another ip= word).
    let mut links = links;
    loop {
        let (now, made) = super::netdev::make_pending(nl, plan, links, true)?;
        links = now;
        if !made {
            break;
        }
    }
    for want in &plan.network.ifnames {
        if !links.iter().any(|l| l.mac == Some(want.mac)) {
            warn!(
                Step::Link,
                "ifname={}:{}: no NIC has that MAC", want.name, want.mac
            );
        }
    }
    bring_up(nl, candidates)
}

/// The links after this round's renames, bonds and VLANs (`late`: make a
/// bond without its missing slaves); lo is brought up the first time.
fn current_links(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    late: bool,
    lo_done: &mut bool,
) -> Result<Vec<LinkInfo>, StepError> {
    let mut links = nl.links().map_err(|e| StepError::new(Step::Link, e))?;
    if !plan.network.ifnames.is_empty() {
        rename(nl, &links, &plan.network.ifnames)?;
        links = nl.links().map_err(|e| StepError::new(Step::Link, e))?;
    }
    if let Some(dev) = &plan.network.device {
        if predictable_rename(nl, &links, dev, &mut netinit_sys::host::pci_facts)? {
            links = nl.links().map_err(|e| StepError::new(Step::Link, e))?;
        }
    }
    let (links, _) = super::netdev::make_pending(nl, plan, links, late)?;
    if !*lo_done {
        *lo_done = true;
        for lo in links.iter().filter(|l| l.loopback && !l.up) {
            if let Err(e) = nl.set_up(lo.index) {
                warn!(Step::Link, "{e}");
            }
        }
    }
    Ok(links)
}

/// dracut's `ifname=`: each NIC with a listed MAC gets its name while it
/// is still down (the kernel refuses to rename a link that is up).
fn rename(nl: &mut dyn Netlink, links: &[LinkInfo], ifnames: &[IfName]) -> Result<(), StepError> {
    for want in ifnames {
        // A MAC not (yet) present is reported once the wait is over.
        let Some(link) = links.iter().find(|l| l.mac == Some(want.mac)) else {
            continue;
        };
        if link.name == want.name {
            continue;
        }
        if link.up {
            // Renaming would mean setting it down, which netinit never does.
            warn!(
                Step::Link,
                "ifname={}:{}: {} is already up, keeping its name", want.name, want.mac, link.name
            );
            continue;
        }
        nl.set_name(link.index, &want.name).map_err(|e| {
            StepError::new(Step::Link, e).hint(format!(
                "is another NIC already called {}? pick a name the kernel does not use (e.g. bootnet)",
                want.name
            ))
        })?;
        info!(
            Step::Link,
            "renamed {} ({}) to {}", link.name, want.mac, want.name
        );
    }
    Ok(())
}

/// The NIC systemd would call `dev` (`enp0s3`, `ens3`, `eno1`), found from
/// sysfs facts when no NIC has that name, gets it while still down, so
/// the booted system sees the name it expects. True when one was renamed.
fn predictable_rename(
    nl: &mut dyn Netlink,
    links: &[LinkInfo],
    dev: &str,
    facts_of: &mut dyn FnMut(&str) -> Option<netinit_core::netname::PciFacts>,
) -> Result<bool, StepError> {
    use netinit_core::netname::{is_predictable_name, predictable_names};
    if !is_predictable_name(dev) || links.iter().any(|l| l.name == dev) {
        return Ok(false);
    }
    let Some(link) = links
        .iter()
        .filter(|l| l.ethernet && !l.loopback)
        .find(|l| {
            facts_of(&l.name).is_some_and(|f| predictable_names(&f).iter().any(|n| n == dev))
        })
    else {
        return Ok(false);
    };
    if link.up {
        warn!(
            Step::Link,
            "{} is what systemd calls {dev}, but it is already up: keeping its name", link.name
        );
        return Ok(false);
    }
    nl.set_name(link.index, dev)
        .map_err(|e| StepError::new(Step::Link, e))?;
    info!(
        Step::Link,
        "renamed {} to {dev}, the name systemd gives it (PCI path/slot)", link.name
    );
    Ok(true)
}

/// The Ethernet links the plan allows: all of them, or the one pinned by
/// the `ip=` device field / `ethdevice=` and/or `BOOTIF=`.
pub fn pick(links: &[LinkInfo], plan: &BootPlan) -> Result<Vec<LinkInfo>, StepError> {
    let ether: Vec<&LinkInfo> = links.iter().filter(|l| l.ethernet && !l.loopback).collect();
    let present = || {
        let all: Vec<String> = ether
            .iter()
            .map(|l| {
                format!(
                    "{} {}",
                    l.name,
                    l.mac.map(|m| m.to_string()).unwrap_or_default()
                )
            })
            .collect();
        if all.is_empty() {
            "none".to_owned()
        } else {
            all.join(", ")
        }
    };
    let chosen: Vec<LinkInfo> = ether
        .iter()
        .filter(|l| plan.network.device.as_ref().is_none_or(|d| &l.name == d))
        .filter(|l| plan.network.bootif.is_none_or(|m| l.mac == Some(m)))
        .map(|l| (*l).clone())
        .collect();
    if !chosen.is_empty() {
        return Ok(chosen);
    }
    let pin = match (&plan.network.device, plan.network.bootif) {
        (Some(d), Some(m)) => format!("no NIC named {d} with MAC {m}"),
        (Some(d), None) => format!("no NIC named {d}"),
        (None, Some(m)) => format!("no NIC with MAC {m} (BOOTIF)"),
        (None, None) => "no Ethernet NIC found".to_owned(),
    };
    Err(StepError::new(Step::Link, format_args!("{pin} (present: {})", present()))
        .hint("is the NIC's driver in the initrd? see the modules lines above, or add it with netinit.modules="))
}

/// Sets the candidates up (those not up yet); fails only when none is.
fn bring_up(nl: &mut dyn Netlink, candidates: Vec<LinkInfo>) -> Result<Vec<LinkInfo>, StepError> {
    let mut up = Vec::new();
    let mut errors = Vec::new();
    for link in candidates {
        match if link.up {
            Ok(())
        } else {
            nl.set_up(link.index)
        } {
            Ok(()) => up.push(link),
            Err(e) => {
                warn!(Step::Link, "{e}");
                errors.push(e.to_string());
            }
        }
    }
    if up.is_empty() {
        return Err(StepError::new(
            Step::Link,
            format_args!("could not bring any NIC up: {}", errors.join("; ")),
        ));
    }
    let names: Vec<&str> = up.iter().map(|l| l.name.as_str()).collect();
    info!(Step::Link, "up: {}", names.join(" "));
    Ok(up)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Waits until one of `links` has carrier; returns it, or `None` after
/// `timeout`. Used by static configuration; DHCP watches carrier itself.
pub fn wait_any_carrier(
    nl: &mut dyn Netlink,
    clock: &mut dyn Clock,
    links: &[LinkInfo],
    timeout: Duration,
) -> Result<Option<LinkInfo>, StepError> {
    let start = clock.now_ms();
    loop {
        let now = nl.links().map_err(|e| StepError::new(Step::Link, e))?;
        // Keep the caller's preference order.
        if let Some(l) = links
            .iter()
            .find_map(|c| now.iter().find(|l| l.index == c.index && l.carrier))
        {
            return Ok(Some(l.clone()));
        }
        if clock.now_ms().saturating_sub(start) >= ms(timeout) {
            return Ok(None);
        }
        clock.sleep_ms(ms(CARRIER_POLL));
    }
}

/// Sets MTU, address (+ broadcast) and default route from `state`.
pub fn apply(nl: &mut dyn Netlink, step: Step, state: &NetState) -> Result<(), StepError> {
    if let Some(mtu) = state.mtu {
        // A NIC that can't take the MTU still works at its default one.
        if let Err(e) = nl.set_mtu(state.ifindex, u32::from(mtu)) {
            warn!(step, "{e} (keeping the NIC's MTU)");
        }
    }
    nl.add_address(state.ifindex, state.address, state.broadcast)
        .map_err(|e| StepError::new(step, e))?;
    let idx = state.ifindex;
    // A gateway outside the address's subnet (a /32 lease, a classless
    // route's router) is reachable only once a host route says it is on
    // this link; the kernel refuses the route otherwise (ENETUNREACH).
    let mut on_link = Vec::new();
    let mut reach = |nl: &mut dyn Netlink, gw: Ipv4Addr| -> Result<(), StepError> {
        if state.address.contains(gw) || on_link.contains(&gw) {
            return Ok(());
        }
        on_link.push(gw);
        let host = Ipv4Cidr {
            addr: gw,
            prefix: 32,
        };
        nl.add_route(idx, host, None)
            .map_err(|e| StepError::new(step, e))
    };
    for r in &state.routes {
        if let Some(gw) = r.gateway {
            reach(nl, gw)?;
        }
        if let Err(e) = nl.add_route(idx, r.dest, r.gateway) {
            // A static route beyond the default one is not worth the boot.
            warn!(step, "{e} (route {r} skipped)");
        }
    }
    if let Some(gw) = state.gateway {
        reach(nl, gw)?;
        nl.add_default_route(idx, gw).map_err(|e| {
            StepError::new(step, e).hint("is the gateway inside the address's subnet?")
        })?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod fake {
    //! A recording Netlink fake (youki style): queued link states, every call logged.
    use super::*;
    use netinit_core::net::Ipv4Cidr;
    use netinit_core::net::MacAddr;
    use std::net::Ipv4Addr;

    #[derive(Debug, Default)]
    pub struct FakeNetlink {
        pub links: Vec<LinkInfo>,
        pub calls: Vec<String>,
        /// Calls to `links()` before carrier appears on each index.
        pub carrier_after: Vec<(u32, usize)>,
        /// Calls to `links()` before the link with each index exists.
        pub appear_after: Vec<(u32, usize)>,
        pub polls: usize,
        /// Links that only show up after this many calls to `links()`
        /// (a USB NIC, Hyper-V's netvsc, an async probe).
        pub late: Vec<(usize, LinkInfo)>,
    }

    pub fn eth(index: u32, name: &str, last: u8) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            mac: Some(MacAddr([0x52, 0x54, 0, 0, 0, last])),
            up: false,
            carrier: false,
            mtu: 1500,
            max_mtu: 1500,
            loopback: false,
            ethernet: true,
        }
    }

    pub fn lo() -> LinkInfo {
        LinkInfo {
            index: 1,
            name: "lo".into(),
            mac: None,
            up: false,
            carrier: false,
            mtu: 65536,
            max_mtu: 0,
            loopback: true,
            ethernet: false,
        }
    }

    impl Netlink for FakeNetlink {
        fn links(&mut self) -> netinit_sys::Result<Vec<LinkInfo>> {
            self.polls += 1;
            let polls = self.polls;
            let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.late)
                .into_iter()
                .partition(|(after, _)| polls > *after);
            self.late = later;
            self.links.extend(now.into_iter().map(|(_, l)| l));
            for l in &mut self.links {
                if self
                    .carrier_after
                    .iter()
                    .any(|(i, after)| *i == l.index && polls > *after)
                {
                    l.carrier = true;
                }
            }
            Ok(self
                .links
                .iter()
                .filter(|l| {
                    !self
                        .appear_after
                        .iter()
                        .any(|(i, after)| *i == l.index && polls <= *after)
                })
                .cloned()
                .collect())
        }
        fn set_up(&mut self, index: u32) -> netinit_sys::Result<()> {
            self.calls.push(format!("up {index}"));
            Ok(())
        }
        fn set_mtu(&mut self, index: u32, mtu: u32) -> netinit_sys::Result<()> {
            self.calls.push(format!("mtu {index} {mtu}"));
            Ok(())
        }
        fn set_name(&mut self, index: u32, name: &str) -> netinit_sys::Result<()> {
            self.calls.push(format!("name {index} {name}"));
            if let Some(l) = self.links.iter_mut().find(|l| l.index == index) {
                l.name = name.to_owned();
            }
            Ok(())
        }
        fn add_address(
            &mut self,
            index: u32,
            addr: Ipv4Cidr,
            brd: Option<Ipv4Addr>,
        ) -> netinit_sys::Result<()> {
            self.calls.push(format!(
                "addr {index} {addr} brd {}",
                brd.map(|b| b.to_string()).unwrap_or_default()
            ));
            Ok(())
        }
        fn add_default_route(&mut self, index: u32, gw: Ipv4Addr) -> netinit_sys::Result<()> {
            self.calls.push(format!("route {index} via {gw}"));
            Ok(())
        }
        fn add_route(
            &mut self,
            index: u32,
            dest: Ipv4Cidr,
            gw: Option<Ipv4Addr>,
        ) -> netinit_sys::Result<()> {
            let via = gw.map_or_else(|| "on-link".to_owned(), |g| format!("via {g}"));
            self.calls.push(format!("route {index} {dest} {via}"));
            Ok(())
        }
        fn addresses(
            &mut self,
            _index: u32,
        ) -> netinit_sys::Result<Vec<netinit_sys::netlink::Addr>> {
            Ok(Vec::new())
        }
        fn create_vlan(&mut self, name: &str, parent: u32, id: u16) -> netinit_sys::Result<()> {
            self.calls.push(format!("vlan {name} on {parent} id {id}"));
            let index = 100 + self.links.len() as u32;
            self.links.push(eth(index, name, index as u8));
            Ok(())
        }
        fn create_bond(
            &mut self,
            bond: &netinit_core::netdev::Bond,
            primary: Option<u32>,
        ) -> netinit_sys::Result<()> {
            let opts = bond.option_words().join(",");
            self.calls
                .push(format!("bond {} {opts} primary {primary:?}", bond.name));
            let index = 100 + self.links.len() as u32;
            self.links.push(eth(index, &bond.name, index as u8));
            Ok(())
        }
        fn set_master(&mut self, index: u32, master: u32) -> netinit_sys::Result<()> {
            let down = self.links.iter().any(|l| l.index == index && !l.up);
            self.calls.push(format!(
                "master {index} {master}{}",
                if down { "" } else { " (up!)" }
            ));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::*;
    use super::*;
    use crate::testing::FakeClock;

    /// Counts rescans; loads nothing.
    #[derive(Default)]
    struct Rescans(u32);

    impl Modules for Rescans {
        fn rescan(&mut self) {
            self.0 += 1;
        }
        fn ensure(&mut self, _: Step, _: &[&str]) {}
    }

    fn plan(text: &str) -> BootPlan {
        netinit_core::plan::from_cmdline(text).unwrap()
    }

    #[test]
    fn makes_a_bond_then_a_vlan_on_it_and_boots_from_the_vlan() {
        let mut nl = FakeNetlink {
            links: vec![lo(), eth(2, "eth0", 1), eth(3, "eth1", 2)],
            ..Default::default()
        };
        let p = plan(
            "bond=bond0:eth0,eth1:mode=active-backup,primary=eth1 vlan=bond0.7:bond0 root=/dev/nfs",
        );
        let got = prepare(
            &mut nl,
            &mut FakeClock::default(),
            &p,
            &mut Rescans::default(),
        )
        .unwrap();
        let names: Vec<&str> = got.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["bond0.7"]);
        // Slaves enslaved while down, the bond up before its VLAN is made.
        assert_eq!(
            nl.calls,
            [
                "bond bond0 mode=active-backup,primary=eth1 primary Some(3)",
                "master 2 103",
                "master 3 103",
                "up 1",
                "up 103",
                "vlan bond0.7 on 103 id 7",
                "up 104"
            ]
        );
    }

    #[test]
    fn a_bond_waits_for_a_late_slave_then_goes_on_without_it() {
        let mut nl = FakeNetlink {
            links: vec![lo(), eth(2, "eth0", 1)],
            ..Default::default()
        };
        let mut p = plan("bond=bond0:eth0,eth1 root=/dev/nfs");
        p.timeouts.carrier_secs = 1;
        let mut clock = FakeClock::default();
        prepare(&mut nl, &mut clock, &p, &mut Rescans::default()).unwrap();
        assert!(clock.now_ms >= 500, "waited {} ms for eth1", clock.now_ms);
        assert_eq!(
            nl.calls[..3],
            [
                "up 1".to_string(),
                "bond bond0  primary None".into(),
                "master 2 102".into()
            ]
        );
        assert!(nl.polls > 3, "waited for eth1: {} polls", nl.polls);
    }

    #[test]
    fn brings_up_lo_and_every_nic() {
        let mut nl = FakeNetlink {
            links: vec![lo(), eth(2, "eth0", 1), eth(3, "eth1", 2)],
            ..Default::default()
        };
        let got = prepare(
            &mut nl,
            &mut FakeClock::default(),
            &plan("ip=dhcp root=/dev/nfs"),
            &mut Rescans::default(),
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(nl.calls, ["up 1", "up 2", "up 3"]);
    }

    #[test]
    fn a_late_nic_is_waited_for_with_rescans() {
        let mut nl = FakeNetlink {
            links: vec![lo()],
            late: vec![(3, eth(4, "eth0", 1))],
            ..Default::default()
        };
        let mut rescans = Rescans::default();
        let got = prepare(
            &mut nl,
            &mut FakeClock::default(),
            &plan("ip=dhcp BOOTIF=01-52-54-00-00-00-01 netinit.carrier_timeout=5"),
            &mut rescans,
        )
        .unwrap();
        assert_eq!(got[0].name, "eth0");
        assert!(rescans.0 >= 1, "drivers rescanned while waiting");
        assert!(nl.calls.contains(&"up 4".to_owned()), "{:?}", nl.calls);
    }

    #[test]
    fn no_nic_ever_fails_at_the_carrier_timeout() {
        let mut nl = FakeNetlink {
            links: vec![lo()],
            ..Default::default()
        };
        let mut clock = FakeClock::default();
        let e = prepare(
            &mut nl,
            &mut clock,
            &plan("ip=dhcp netinit.carrier_timeout=1"),
            &mut Rescans::default(),
        )
        .unwrap_err();
        assert!((1000..3000).contains(&clock.now_ms), "{}", clock.now_ms);
        assert!(
            e.reason
                .starts_with("no Ethernet NIC found after 1 s (present: none)"),
            "{e}"
        );
    }

    #[test]
    fn ifname_renames_before_up_and_ip_device_follows() {
        let mut nl = FakeNetlink {
            links: vec![lo(), eth(2, "eth0", 1), eth(3, "eth1", 2)],
            ..Default::default()
        };
        let got = prepare(&mut nl, &mut FakeClock::default(),
            &plan("root=dhcp ifname=bootnet:52:54:00:00:00:02 ifname=spare:52:54:00:00:00:09 ip=bootnet:dhcp"),
            &mut Rescans::default(),
        )
        .unwrap();
        assert_eq!(nl.calls, ["name 3 bootnet", "up 1", "up 3"]);
        assert_eq!(
            got.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["bootnet"]
        );
        // Already up: never set down to rename; the pin then says what is there.
        let mut up = eth(2, "eth0", 1);
        up.up = true;
        let mut nl = FakeNetlink {
            links: vec![up],
            ..Default::default()
        };
        let e = prepare(&mut nl, &mut FakeClock::default(),
            &plan("root=dhcp ifname=bootnet:52:54:00:00:00:01 ip=bootnet:dhcp netinit.carrier_timeout=1"),
            &mut Rescans::default(),
        )
        .unwrap_err();
        assert!(nl.calls.is_empty(), "{:?}", nl.calls);
        assert!(
            e.reason
                .starts_with("no NIC named bootnet after 1 s (present: eth0 52:54:00:00:00:01)"),
            "{e}"
        );
    }

    #[test]
    fn iflink_timeout_waits_for_a_late_nic_and_says_how_long_it_waited() {
        let mut nl = FakeNetlink {
            links: vec![lo(), eth(2, "eth0", 1)],
            appear_after: vec![(2, 3)],
            ..Default::default()
        };
        let got = prepare(
            &mut nl,
            &mut FakeClock::default(),
            &plan("root=dhcp rd.net.timeout.iflink=5"),
            &mut Rescans::default(),
        )
        .unwrap();
        assert_eq!(got[0].name, "eth0");
        assert_eq!(nl.polls, 4);
        let mut nl = FakeNetlink {
            links: vec![lo()],
            ..Default::default()
        };
        let e = prepare(
            &mut nl,
            &mut FakeClock::default(),
            &plan("root=dhcp rd.net.timeout.iflink=1"),
            &mut Rescans::default(),
        )
        .unwrap_err();
        assert_eq!(e.reason, "no Ethernet NIC found after 1 s (present: none)");
    }

    #[test]
    fn a_predictable_name_finds_and_renames_its_nic() {
        use netinit_core::netname::PciFacts;
        let links = vec![lo(), eth(2, "eth0", 1), eth(3, "eth1", 2)];
        let mut nl = FakeNetlink::default();
        let mut facts = |name: &str| {
            let slot = if name == "eth1" { 4 } else { 3 };
            Some(PciFacts {
                slot,
                ..PciFacts::default()
            })
        };
        assert!(predictable_rename(&mut nl, &links, "enp0s4", &mut facts).unwrap());
        assert_eq!(nl.calls, ["name 3 enp0s4"]);
        // A kernel name, a present name, or no match: nothing happens.
        let mut nl = FakeNetlink::default();
        for dev in ["eth1", "enp0s9"] {
            assert!(!predictable_rename(&mut nl, &links, dev, &mut facts).unwrap());
        }
        let mut none = |_: &str| None;
        assert!(!predictable_rename(&mut nl, &links, "enp0s3", &mut none).unwrap());
        assert!(nl.calls.is_empty());
    }

    #[test]
    fn pins_by_bootif_or_device() {
        let links = vec![lo(), eth(2, "eth0", 1), eth(3, "eth1", 2)];
        let by_mac = pick(&links, &plan("BOOTIF=01-52-54-00-00-00-02 ip=dhcp")).unwrap();
        assert_eq!(
            by_mac.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["eth1"]
        );
        let by_name = pick(&links, &plan("ip=eth0:dhcp")).unwrap();
        assert_eq!(by_name[0].name, "eth0");
        let e = pick(&links, &plan("BOOTIF=01-52-54-00-00-00-09 ip=dhcp")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no NIC with MAC 52:54:00:00:00:09 (BOOTIF) (present: eth0 52:54:00:00:00:01, eth1 52:54:00:00:00:02) \
             (hint: is the NIC's driver in the initrd? see the modules lines above, or add it with netinit.modules=)"
        );
        let e = pick(&[lo()], &plan("ip=dhcp")).unwrap_err();
        assert!(
            e.reason
                .starts_with("no Ethernet NIC found (present: none)")
        );
    }

    #[test]
    fn apply_never_removes_anything() {
        let mut nl = FakeNetlink::default();
        let lease = netinit_core::dhcp::Lease {
            mtu: Some(1400),
            ..netinit_core::fixtures::lease()
        };
        let state = lease.to_net_state("eth0", 2, netinit_core::net::MacAddr([2, 0, 0, 0, 0, 1]));
        apply(&mut nl, Step::Dhcp, &state).unwrap();
        assert_eq!(
            nl.calls,
            [
                "mtu 2 1400",
                "addr 2 10.77.0.100/24 brd 10.77.0.255",
                "route 2 via 10.77.0.1"
            ]
        );
    }

    fn cidr(a: [u8; 4], prefix: u8) -> netinit_core::net::Ipv4Cidr {
        netinit_core::net::Ipv4Cidr {
            addr: a.into(),
            prefix,
        }
    }

    #[test]
    fn a_gateway_off_the_subnet_gets_an_on_link_route_first() {
        let mut nl = FakeNetlink::default();
        let mut state = netinit_core::dhcp::Lease {
            address: cidr([10, 77, 0, 100], 32),
            ..netinit_core::fixtures::lease()
        }
        .to_net_state("eth0", 2, netinit_core::net::MacAddr([2, 0, 0, 0, 0, 1]));
        // A /32 lease (cloud style): the router is reachable only on-link.
        apply(&mut nl, Step::Dhcp, &state).unwrap();
        assert_eq!(
            nl.calls,
            [
                "addr 2 10.77.0.100/32 brd 10.77.0.100",
                "route 2 10.77.0.1/32 on-link",
                "route 2 via 10.77.0.1"
            ]
        );
        // Classless routes, one via a gateway outside the subnet.
        state.address.prefix = 24;
        state.broadcast = None;
        state.routes = vec![
            netinit_core::net::Route {
                dest: cidr([10, 99, 0, 0], 16),
                gateway: Some([10, 77, 0, 254].into()),
            },
            netinit_core::net::Route {
                dest: cidr([172, 16, 0, 0], 12),
                gateway: Some([192, 168, 9, 1].into()),
            },
            netinit_core::net::Route {
                dest: cidr([192, 168, 5, 0], 24),
                gateway: None,
            },
        ];
        let mut nl = FakeNetlink::default();
        apply(&mut nl, Step::Dhcp, &state).unwrap();
        assert_eq!(
            nl.calls,
            [
                "addr 2 10.77.0.100/24 brd ",
                "route 2 10.99.0.0/16 via 10.77.0.254",
                "route 2 192.168.9.1/32 on-link",
                "route 2 172.16.0.0/12 via 192.168.9.1",
                "route 2 192.168.5.0/24 on-link",
                "route 2 via 10.77.0.1"
            ]
        );
    }

    #[test]
    fn carrier_wait_keeps_preference_and_times_out() {
        let mut nl = FakeNetlink {
            links: vec![eth(2, "eth0", 1), eth(3, "eth1", 2)],
            carrier_after: vec![(3, 2)],
            ..Default::default()
        };
        let links = nl.links.clone();
        let got = wait_any_carrier(
            &mut nl,
            &mut FakeClock::default(),
            &links,
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(got.map(|l| l.name), Some("eth1".to_string()));
        let mut nl = FakeNetlink {
            links: vec![eth(2, "eth0", 1)],
            ..Default::default()
        };
        let links = nl.links.clone();
        assert_eq!(
            wait_any_carrier(
                &mut nl,
                &mut FakeClock::default(),
                &links,
                Duration::from_millis(30)
            )
            .unwrap(),
            None
        );
    }
}
