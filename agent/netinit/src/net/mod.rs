//! The network phase: modules → links → DHCP or static `ip=`.
//!
//! The link is never set down and an address is never flushed: the root
//! filesystem will ride on this interface.

pub mod dhcp;
pub mod link;
pub mod modules;
pub mod static_ip;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use netinit_core::net::NetState;
use netinit_core::plan::{self, BootPlan, NetMethod};
use netinit_sys::netlink::{Netlink, RtNetlink};

use crate::cli::{self, Spec};
use crate::info;
use crate::log::timed;
use crate::step::{Step, StepError};

/// Loads drivers, brings links up and configures the boot interface.
pub fn bring_up(plan: &BootPlan) -> Result<NetState, StepError> {
    if plan.network.method == NetMethod::None {
        return Err(StepError::new(
            Step::Link,
            "the network is off: no ip= method and no network root on the cmdline",
        )
        .hint("add ip=dhcp and an NFS root (nfsroot=, root=/dev/nfs, netboot=nfs, sys=)"));
    }
    timed(Step::Modules, || modules::load(plan))?;
    let mut nl = RtNetlink::open().map_err(|e| StepError::new(Step::Link, e))?;
    wait_for_nic(&mut nl, plan)?;
    let candidates = timed(Step::Link, || link::prepare(&mut nl, plan))?;
    let state = match plan.network.method {
        NetMethod::Static => timed(Step::Static, || {
            static_ip::configure(&mut nl, plan, &candidates)
        })?,
        _ => timed(Step::Dhcp, || dhcp::run(&mut nl, plan, &candidates))?,
    };
    let step = if plan.network.method == NetMethod::Static {
        Step::Static
    } else {
        Step::Dhcp
    };
    info!(step, "{}", describe(&state));
    Ok(state)
}

/// How often the buses and links are looked at while no NIC is there.
const NIC_POLL: Duration = Duration::from_millis(100);

/// A NIC can appear after the coldplug: slow firmware, a hot-plugged or
/// USB adapter. While none the plan may use exists, watch for new devices
/// (loading their drivers) for up to `netinit.carrier_timeout=`; then
/// `link::prepare` says what is missing.
fn wait_for_nic(nl: &mut dyn Netlink, plan: &BootPlan) -> Result<(), StepError> {
    let budget = Duration::from_secs(u64::from(plan.timeouts.carrier_secs));
    let start = Instant::now();
    let mut devices = modules::device_aliases();
    let mut waiting = false;
    loop {
        let links = nl.links().map_err(|e| StepError::new(Step::Link, e))?;
        if link::pick(&links, plan).is_ok() {
            if waiting {
                info!(
                    Step::Link,
                    "a usable NIC appeared after {} ms",
                    start.elapsed().as_millis()
                );
            }
            return Ok(());
        }
        if start.elapsed() >= budget {
            return Ok(());
        }
        if !waiting {
            info!(
                Step::Link,
                "no usable NIC yet; waiting up to {} s for one to appear (netinit.carrier_timeout=)",
                budget.as_secs()
            );
            waiting = true;
        }
        std::thread::sleep(NIC_POLL);
        let now = modules::device_aliases();
        if now != devices {
            devices = now;
            modules::load(plan)?;
        }
    }
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
    flags: &["json"],
    valued: &["cmdline"],
    min_positional: 0,
    max_positional: 0,
    help: "\
Usage: netinit net [--json] [--cmdline STRING]

Runs netinit's network phase in the current network namespace, exactly as
at boot: load NIC drivers by modalias (when /lib/modules/$(uname -r)
exists), bring up lo and the candidate NICs, then DHCP on all of them at
once (first lease wins) or the static ip= configuration. Prints the result.

Options:
  --cmdline STRING  use this cmdline instead of /proc/cmdline
  --json            print the configuration as JSON

Exit status: 0 configured, 1 the network phase failed (one line says which
NICs were tried, their carrier state and the offers seen), 2 bad usage.",
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
                if p.flag("json") {
                    print!("{}", state.to_json(elapsed).to_pretty());
                } else {
                    println!("{}", describe(&state));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("netinit: net: FAILED at {}: {e}", e.step);
                ExitCode::from(1)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::link::fake::{FakeNetlink, eth, lo};

    /// Links that appear after a number of dumps (a hot-plugged NIC).
    struct Appearing {
        inner: FakeNetlink,
        later: Vec<(usize, netinit_sys::netlink::LinkInfo)>,
    }

    impl Netlink for Appearing {
        fn links(&mut self) -> netinit_sys::Result<Vec<netinit_sys::netlink::LinkInfo>> {
            let polls = self.inner.polls + 1;
            let (now, later): (Vec<_>, Vec<_>) =
                self.later.drain(..).partition(|(after, _)| polls > *after);
            self.later = later;
            self.inner.links.extend(now.into_iter().map(|(_, l)| l));
            self.inner.links()
        }
        fn set_up(&mut self, index: u32) -> netinit_sys::Result<()> {
            self.inner.set_up(index)
        }
        fn set_mtu(&mut self, index: u32, mtu: u32) -> netinit_sys::Result<()> {
            self.inner.set_mtu(index, mtu)
        }
        fn add_address(
            &mut self,
            index: u32,
            addr: netinit_core::ipconf::Ipv4Cidr,
            brd: Option<std::net::Ipv4Addr>,
        ) -> netinit_sys::Result<()> {
            self.inner.add_address(index, addr, brd)
        }
        fn add_default_route(
            &mut self,
            index: u32,
            gw: std::net::Ipv4Addr,
        ) -> netinit_sys::Result<()> {
            self.inner.add_default_route(index, gw)
        }
        fn addresses(
            &mut self,
            index: u32,
        ) -> netinit_sys::Result<Vec<netinit_core::ipconf::Ipv4Cidr>> {
            self.inner.addresses(index)
        }
    }

    fn plan(extra: &str) -> BootPlan {
        plan::from_cmdline(&format!(
            "root=/dev/nfs nfsroot=10.0.0.1:/srv ip=dhcp {extra}"
        ))
        .unwrap()
    }

    #[test]
    fn a_late_nic_is_waited_for() {
        let mut nl = Appearing {
            inner: FakeNetlink {
                links: vec![lo()],
                ..Default::default()
            },
            later: vec![(3, eth(2, "eth0", 1))],
        };
        let start = Instant::now();
        wait_for_nic(&mut nl, &plan("")).unwrap();
        assert_eq!(nl.inner.polls, 4);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(link::prepare(&mut nl, &plan("")).is_ok());
    }

    #[test]
    fn waiting_for_a_nic_is_bounded_by_the_carrier_timeout() {
        let mut nl = FakeNetlink {
            links: vec![lo()],
            ..Default::default()
        };
        let p = plan("netinit.carrier_timeout=1");
        let start = Instant::now();
        wait_for_nic(&mut nl, &p).unwrap();
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(3));
        let e = link::prepare(&mut nl, &p).unwrap_err();
        assert!(e.to_string().contains("no Ethernet NIC found"), "{e}");
    }

    #[test]
    fn a_present_nic_costs_no_wait() {
        let mut nl = FakeNetlink {
            links: vec![lo(), eth(2, "eth0", 1)],
            ..Default::default()
        };
        wait_for_nic(&mut nl, &plan("")).unwrap();
        assert_eq!(nl.polls, 1);
    }
}
