//! Static `ip=`: configure from the cmdline alone, with no DHCP traffic.

use std::time::Duration;

use netinit_core::net::{NetState, Proto};
use netinit_core::plan::BootPlan;
use netinit_sys::netlink::{LinkInfo, Netlink};

use super::link;
use crate::step::{Step, StepError};

/// Picks the NIC (the pinned one, else the first with carrier) and applies
/// the plan's address, gateway and MTU.
pub fn configure(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    candidates: &[LinkInfo],
) -> Result<NetState, StepError> {
    let n = &plan.network;
    let address = n
        .address
        .ok_or_else(|| StepError::new(Step::Static, "static ip= without a client address"))?;
    let timeout = Duration::from_secs(u64::from(plan.timeouts.carrier_secs));
    let chosen = match link::wait_any_carrier(nl, candidates, timeout)? {
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
    let state = NetState {
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
        let state = configure(&mut nl, &plan, &links).unwrap();
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

    #[test]
    fn no_carrier_is_a_clear_failure() {
        let mut nl = FakeNetlink {
            links: vec![eth(2, "eth0", 1)],
            ..Default::default()
        };
        let plan = netinit_core::plan::from_cmdline("ip=10.77.0.50:::24 netinit.carrier_timeout=1")
            .unwrap();
        let links = nl.links.clone();
        let e = configure(&mut nl, &plan, &links).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no carrier on eth0 after 1 s (hint: check the cable/switch port, or raise netinit.carrier_timeout=)"
        );
        assert!(nl.calls.is_empty(), "nothing configured");
    }
}
