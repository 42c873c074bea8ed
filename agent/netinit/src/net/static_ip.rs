//! Static `ip=`: configure from the cmdline alone, with no DHCP traffic.

use std::time::Duration;

use netinit_core::net::{NetState, Proto};
use netinit_core::plan::BootPlan;
use netinit_sys::Clock;
use netinit_sys::netlink::{LinkInfo, Netlink};
use netinit_sys::packet::ArpProbe;

use super::link;
use crate::step::{Step, StepError};

/// Picks the NIC (the pinned one, else the first with carrier) and applies
/// the plan's address, gateway and MTU.
pub fn configure(
    nl: &mut dyn Netlink,
    clock: &mut dyn Clock,
    arp: &mut dyn ArpProbe,
    plan: &BootPlan,
    candidates: &[LinkInfo],
) -> Result<NetState, StepError> {
    let n = &plan.network;
    let address = n
        .address
        .ok_or_else(|| StepError::new(Step::Static, "static ip= without a client address"))?;
    let timeout = Duration::from_secs(u64::from(plan.timeouts.carrier_secs));
    let chosen = match link::wait_any_carrier(nl, clock, candidates, timeout)? {
        Some(l) => l,
        None => {
            let names: Vec<&str> = candidates.iter().map(|l| l.name.as_str()).collect();
            return Err(StepError::new(
                Step::Static,
                format_args!(
                    "no carrier on {} after {} s",
                    names.join(", "),
                    plan.timeouts.carrier_secs
                ),
            )
            .hint("check the cable/switch port, or raise netinit.carrier_timeout="));
        }
    };
    if let Some(mac) = chosen.mac {
        match arp.probe(chosen.index, mac, address.addr) {
            Ok(None) => {}
            Ok(Some(holder)) => {
                return Err(StepError::new(
                    Step::Static,
                    format_args!(
                        "{} on {} is already in use by {holder}",
                        address.addr, chosen.name
                    ),
                )
                .hint(
                    "ip= names an address another host has: fix the cmdline, or find that host",
                ));
            }
            Err(e) => crate::warn!(Step::Static, "{e} (address not checked for conflicts)"),
        }
    }
    let state = NetState {
        ipv6: None,
        interface: chosen.name.clone(),
        ifindex: chosen.index,
        mac: chosen.mac.unwrap_or(netinit_core::net::MacAddr([0; 6])),
        proto: Proto::Static,
        address,
        broadcast: Some(address.broadcast()),
        gateway: n.gateway,
        routes: vec![],
        server_id: None,
        next_server: n.server,
        dns: n.dns.clone(),
        domain: None,
        search: Vec::new(),
        hostname: n.hostname.clone(),
        root_path: None,
        bootfile: None,
        mtu: n.mtu,
        ntp: n.ntp.clone(),
        lease: None,
    };
    link::apply(nl, Step::Static, &state)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::link::fake::*;
    use crate::testing::FakeClock;

    #[test]
    fn static_goes_on_the_first_nic_with_carrier() {
        let mut nl = FakeNetlink {
            links: vec![eth(2, "eth0", 1), eth(3, "eth1", 2)],
            carrier_after: vec![(3, 0)],
            ..Default::default()
        };
        let plan = netinit_core::plan::from_cmdline(
            "ip=10.77.0.50:10.77.0.1:10.77.0.1:24::::10.77.0.2 sys=10.77.0.1:/s",
        )
        .unwrap();
        let links = nl.links.clone();
        let state = configure(
            &mut nl,
            &mut FakeClock::default(),
            &mut Arp(None),
            &plan,
            &links,
        )
        .unwrap();
        assert_eq!(state.interface, "eth1");
        assert_eq!(state.next_server, Some([10, 77, 0, 1].into()));
        assert_eq!(state.dns, [std::net::Ipv4Addr::new(10, 77, 0, 2)]);
        assert_eq!(
            nl.calls,
            [
                "addr 3 10.77.0.50/24 brd 10.77.0.255",
                "route 3 via 10.77.0.1"
            ]
        );
    }

    struct Arp(Option<netinit_core::net::MacAddr>);
    impl ArpProbe for Arp {
        fn probe(
            &mut self,
            _: u32,
            _: netinit_core::net::MacAddr,
            _: std::net::Ipv4Addr,
        ) -> netinit_sys::Result<Option<netinit_core::net::MacAddr>> {
            Ok(self.0)
        }
    }

    #[test]
    fn a_static_address_in_use_is_a_clear_failure() {
        let mut nl = FakeNetlink {
            links: vec![eth(2, "eth0", 1)],
            carrier_after: vec![(2, 0)],
            ..Default::default()
        };
        let plan = netinit_core::plan::from_cmdline("ip=10.77.0.50:::24").unwrap();
        let links = nl.links.clone();
        let holder = netinit_core::net::MacAddr([2, 0, 0, 0, 0, 0x99]);
        let e = configure(
            &mut nl,
            &mut FakeClock::default(),
            &mut Arp(Some(holder)),
            &plan,
            &links,
        )
        .unwrap_err();
        assert_eq!(e.step, Step::Static);
        assert_eq!(
            e.to_string(),
            "10.77.0.50 on eth0 is already in use by 02:00:00:00:00:99 \
             (hint: ip= names an address another host has: fix the cmdline, or find that host)"
        );
        assert!(nl.calls.is_empty(), "nothing configured: {:?}", nl.calls);
    }

    #[test]
    fn no_carrier_is_a_clear_failure() {
        let mut nl = FakeNetlink {
            links: vec![eth(2, "eth0", 1)],
            ..Default::default()
        };
        let plan = netinit_core::plan::from_cmdline("ip=10.77.0.50:::24 netinit.carrier_timeout=1")
            .unwrap();
        let links = nl.links.clone();
        let e = configure(
            &mut nl,
            &mut FakeClock::default(),
            &mut Arp(None),
            &plan,
            &links,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no carrier on eth0 after 1 s (hint: check the cable/switch port, or raise netinit.carrier_timeout=)"
        );
        assert!(nl.calls.is_empty(), "nothing configured");
    }
}
