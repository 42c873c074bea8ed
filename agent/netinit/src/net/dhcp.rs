//! The DHCP driver: every candidate NIC at once, first valid lease wins.
//!
//! One loop waits on all NICs' packet sockets until the earliest deadline
//! of their state machines. A NIC joins the moment it has carrier; one
//! that gets none within the carrier budget drops out without delaying
//! the others. Carrier keeps being watched: a NIC that loses it pauses,
//! and when it returns starts over with the fast schedule. The winner is
//! configured; the losers' sockets are closed and they are left up but
//! unconfigured.
//!
//! All I/O goes through [`DhcpIo`] and [`Netlink`], so the tests below run
//! the whole loop against a fake network on a fake clock.

use std::net::Ipv4Addr;

use netinit_core::dhcp::client::DECLINE_WAIT_MS;
use netinit_core::dhcp::udp;
use netinit_core::dhcp::{Action, Client, ClientConfig, Lease};
use netinit_core::net::{MacAddr, NetState, choose_mtu};
use netinit_core::plan::BootPlan;
use netinit_sys::netlink::{LinkInfo, Netlink};
use netinit_sys::packet::{DhcpIo, RawDhcpIo};

use super::link;
use crate::step::{Step, StepError};
use crate::{info, warn};

/// Logged drops per NIC before we go quiet (a flood must not flood the console).
const MAX_DROP_LOGS: u32 = 5;
/// Frames read from one NIC per wakeup, so a flood can't starve the timers.
const MAX_FRAMES_PER_WAKE: usize = 64;
/// Carrier re-check while every NIC has it: catches a flap in time to
/// restart DISCOVER quickly, at the cost of one netlink dump.
const CARRIER_RECHECK_MS: u64 = 500;
/// The option-60 vendor class we send.
pub const VENDOR_CLASS: &str = "netinit";

struct Nic {
    link: LinkInfo,
    mac: MacAddr,
    stage: Stage,
    client: Client,
    /// Milliseconds from the start at which carrier was first seen.
    carrier_at: Option<u64>,
    drops: u32,
}

/// Where a NIC is in the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Its packet socket could not be opened: never in the race.
    NoSocket,
    /// In the race: waiting for carrier, or talking DHCP.
    Racing,
    /// No carrier within the carrier budget: out of the race.
    GaveUp,
}

impl Nic {
    fn racing(&self) -> bool {
        self.stage == Stage::Racing
    }
}

/// A NIC for every candidate, each with its packet socket (or without,
/// logged) and its own client state machine.
fn open_nics(io: &mut dyn DhcpIo, plan: &BootPlan, candidates: &[LinkInfo]) -> Vec<Nic> {
    let seed = io.seed();
    candidates
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mac = l.mac.unwrap_or(MacAddr([0; 6]));
            let cfg = ClientConfig {
                mac,
                hostname: plan.network.hostname.clone(),
                vendor_class: VENDOR_CLASS.into(),
                rapid_commit: true,
            };
            let socket = match io.open(l.index, &l.name) {
                Ok(()) => true,
                Err(e) => {
                    warn!(Step::Dhcp, "{e}");
                    false
                }
            };
            Nic {
                link: l.clone(),
                mac,
                stage: if socket {
                    Stage::Racing
                } else {
                    Stage::NoSocket
                },
                client: Client::new(
                    cfg,
                    seed ^ mac_bits(mac) ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9),
                ),
                carrier_at: None,
                drops: 0,
            }
        })
        .collect()
}

/// Reads the NIC's waiting frames (a bounded number); a lease it binds
/// and keeps, with the time it came.
fn receive(io: &mut dyn DhcpIo, nic: &mut Nic, buf: &mut [u8], t0: u64) -> Option<(Lease, u64)> {
    for _ in 0..MAX_FRAMES_PER_WAKE {
        let r = match io.recv(nic.link.index, buf) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                warn!(Step::Dhcp, "{e}");
                break;
            }
        };
        let Some(frame) = buf.get(..r.len) else { break };
        let t = io.now_ms().saturating_sub(t0);
        let actions = match udp::unwrap(frame, r.checksum) {
            Ok((src, payload)) => nic.client.receive(t, src, payload),
            Err(why) => vec![Action::Dropped(format!("frame: {why}"))],
        };
        if let Some(lease) = handle(io, nic, actions) {
            if declined(io, nic, &lease, t) {
                break;
            }
            return Some((lease, t));
        }
    }
    None
}

/// Runs DHCP on `candidates` until one binds; configures it and returns its state.
pub fn run(
    nl: &mut dyn Netlink,
    plan: &BootPlan,
    candidates: &[LinkInfo],
) -> Result<NetState, StepError> {
    let mut state = drive(nl, &mut RawDhcpIo::new(), plan, candidates)?;
    // The lease keeper runs on CLOCK_BOOTTIME; the ACK came just now.
    if let Some(lease) = &mut state.lease {
        lease.bound_at_ms = netinit_sys::host::boottime_ms();
    }
    Ok(state)
}

/// [`run`] over any [`DhcpIo`].
pub fn drive(
    nl: &mut dyn Netlink,
    io: &mut dyn DhcpIo,
    plan: &BootPlan,
    candidates: &[LinkInfo],
) -> Result<NetState, StepError> {
    let t0 = io.now_ms();
    let budget = u64::from(plan.timeouts.dhcp_secs) * 1000;
    let carrier_budget = u64::from(plan.timeouts.carrier_secs) * 1000;
    let mut nics = open_nics(io, plan, candidates);
    if !nics.iter().any(Nic::racing) {
        return Err(
            StepError::new(Step::Dhcp, "no packet socket could be opened on any NIC")
                .hint("is CONFIG_PACKET enabled? (netinit check-kernel)"),
        );
    }
    let mut buf = vec![0u8; 2048];
    let mut next_carrier_check = 0;
    loop {
        let t = io.now_ms().saturating_sub(t0);
        // Also re-read carrier right before any transmission, so nothing
        // is sent on a link that just went down (one netlink dump each).
        let sending = nics
            .iter()
            .any(|n| n.racing() && n.client.next_wakeup().is_some_and(|w| w <= t));
        if t >= next_carrier_check || sending {
            watch_carrier(nl, io, &mut nics, t, carrier_budget)?;
            let waiting = nics.iter().any(|n| n.racing() && !n.client.has_carrier());
            next_carrier_check = t + if waiting {
                link::CARRIER_POLL.as_millis() as u64
            } else {
                CARRIER_RECHECK_MS
            };
        }
        if t >= budget || !nics.iter().any(Nic::racing) {
            return Err(summary(&nics, plan));
        }
        for i in 0..nics.len() {
            let Some(nic) = nics.get_mut(i).filter(|n| n.racing()) else {
                continue;
            };
            let actions = nic.client.poll(t);
            if let Some(lease) = handle(io, nic, actions) {
                if declined(io, nic, &lease, t) {
                    continue;
                }
                return finish(nl, io, plan, &nics, i, lease, t);
            }
        }
        // Sleep until a client is due, a carrier check is due, or a frame comes.
        let wake = nics
            .iter()
            .filter(|n| n.racing())
            .filter_map(|n| n.client.next_wakeup())
            .fold(budget.min(next_carrier_check), u64::min);
        let now = io.now_ms().saturating_sub(t0);
        let ready = io
            .wait(wake.saturating_sub(now).max(1))
            .map_err(|e| StepError::new(Step::Dhcp, e))?;
        for i in 0..nics.len() {
            let Some(nic) = nics.get_mut(i) else { continue };
            if !nic.racing() || !ready.contains(&nic.link.index) {
                continue;
            }
            if let Some((lease, t)) = receive(io, nic, &mut buf, t0) {
                return finish(nl, io, plan, &nics, i, lease, t);
            }
        }
    }
}

/// Reads carrier for every racing NIC and tells the clients what changed;
/// gives up on NICs that never got carrier within the carrier budget.
fn watch_carrier(
    nl: &mut dyn Netlink,
    io: &mut dyn DhcpIo,
    nics: &mut [Nic],
    t: u64,
    carrier_budget: u64,
) -> Result<(), StepError> {
    let links = nl.links().map_err(|e| StepError::new(Step::Dhcp, e))?;
    for nic in nics.iter_mut().filter(|n| n.racing()) {
        let up = links.iter().any(|l| l.index == nic.link.index && l.carrier);
        let name = &nic.link.name;
        match (up, nic.client.has_carrier(), nic.carrier_at) {
            (true, false, None) => {
                nic.carrier_at = Some(t);
                info!(
                    Step::Dhcp,
                    "{name}: carrier after {t} ms, DISCOVER xid {:#010x}",
                    nic.client.xid()
                );
            }
            (true, false, Some(_)) => {
                info!(Step::Dhcp, "{name}: carrier back at {t} ms; DISCOVER again");
            }
            (false, true, _) => {
                warn!(Step::Dhcp, "{name}: carrier lost at {t} ms; pausing");
            }
            (false, false, None) if t >= carrier_budget => {
                nic.stage = Stage::GaveUp;
                io.close(nic.link.index);
                warn!(
                    Step::Dhcp,
                    "{name}: no carrier after {} s; not waiting for it",
                    carrier_budget / 1000
                );
                continue;
            }
            _ => continue,
        }
        let actions = nic.client.carrier(t, up);
        // Carrier changes only ever send; they cannot bind.
        let _ = handle(io, nic, actions);
    }
    Ok(())
}

/// Carries out actions; returns the lease if one bound.
fn handle(io: &mut dyn DhcpIo, nic: &mut Nic, actions: Vec<Action>) -> Option<Lease> {
    for a in actions {
        match a {
            Action::Send(payload) => {
                let datagram = udp::wrap(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, &payload);
                if let Err(e) = io.broadcast(nic.link.index, &datagram) {
                    warn!(Step::Dhcp, "{e}");
                }
            }
            Action::Bound(lease) => return Some(*lease),
            Action::Dropped(why) => {
                nic.drops = nic.drops.saturating_add(1);
                if nic.drops <= MAX_DROP_LOGS {
                    warn!(Step::Dhcp, "{}: dropped: {why}", nic.link.name);
                }
                if nic.drops == MAX_DROP_LOGS {
                    warn!(Step::Dhcp, "{}: not logging further drops", nic.link.name);
                }
            }
            Action::Nak(why) => warn!(Step::Dhcp, "{}: {why}; starting over", nic.link.name),
        }
    }
    None
}

/// Probes a bound lease's address with ARP (RFC 5227) before it is
/// configured. If another host answers, the lease is declined and the
/// client starts over; returns true then. A probe that can't be sent is
/// a warning: the address is used unchecked, as before probing existed.
fn declined(io: &mut dyn DhcpIo, nic: &mut Nic, lease: &Lease, t: u64) -> bool {
    let addr = lease.address.addr;
    match io.probe(nic.link.index, nic.mac, addr) {
        Ok(None) => false,
        Ok(Some(holder)) => {
            warn!(
                Step::Dhcp,
                "{}: {addr} from {} is already in use by {holder}; DHCPDECLINE, starting over in {} s",
                nic.link.name,
                lease.server_id,
                DECLINE_WAIT_MS / 1000
            );
            let actions = nic
                .client
                .decline(t, lease, &format!("address in use by {holder}"));
            // A decline only sends; it cannot bind.
            let _ = handle(io, nic, actions);
            true
        }
        Err(e) => {
            warn!(Step::Dhcp, "{e} (address not checked for conflicts)");
            false
        }
    }
}

/// Closes every socket, then configures the winner.
fn finish(
    nl: &mut dyn Netlink,
    io: &mut dyn DhcpIo,
    plan: &BootPlan,
    nics: &[Nic],
    winner: usize,
    lease: Lease,
    t: u64,
) -> Result<NetState, StepError> {
    for n in nics {
        io.close(n.link.index);
    }
    let Some(nic) = nics.get(winner) else {
        return Err(StepError::new(Step::Dhcp, "internal: winner out of range"));
    };
    for w in &lease.warnings {
        warn!(Step::Dhcp, "{}: {w}", nic.link.name);
    }
    let mut state = lease.to_net_state(&nic.link.name, nic.link.index, nic.mac);
    let (mtu, why) = choose_mtu(plan.network.mtu, lease.mtu, Some(nic.link.max_mtu));
    if let Some(why) = why {
        warn!(Step::Dhcp, "{}: {why}", nic.link.name);
    }
    state.mtu = mtu;
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
            let carrier = match (n.carrier_at, n.client.has_carrier()) {
                _ if n.stage == Stage::NoSocket => "no socket",
                (None, _) => "no carrier",
                (Some(_), true) => "carrier",
                (Some(_), false) => "carrier lost",
            };
            let mut s = format!("{} ({carrier}", n.link.name);
            if n.carrier_at.is_some() {
                s.push_str(&format!(", {} offers", n.client.offers_seen()));
                if n.client.naks() > 0 {
                    s.push_str(&format!(", {} NAKs", n.client.naks()));
                }
            }
            if n.drops > 0 {
                s.push_str(&format!(", {} dropped", n.drops));
            }
            s.push(')');
            s
        })
        .collect();
    let any_carrier = nics.iter().any(|n| n.carrier_at.is_some());
    let (what, hint) = if any_carrier {
        (
            format!("no DHCP lease after {} s", plan.timeouts.dhcp_secs),
            "is a DHCP server on this segment? raise netinit.dhcp_timeout= for slow spanning tree",
        )
    } else if nics.iter().any(|n| n.stage == Stage::GaveUp) {
        (
            format!(
                "no carrier on any NIC after {} s",
                plan.timeouts.carrier_secs
            ),
            "check the cable/switch port, or raise netinit.carrier_timeout=",
        )
    } else {
        (
            format!("no DHCP lease after {} s", plan.timeouts.dhcp_secs),
            "check the cable/switch port, or raise netinit.carrier_timeout=",
        )
    };
    StepError::new(Step::Dhcp, format_args!("{what}: {}", per_nic.join(", "))).hint(hint)
}

/// Identical VMs booted at the same instant still differ by MAC.
fn mac_bits(mac: MacAddr) -> u64 {
    mac.0.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    //! The whole driver on a fake network: a clock that jumps to the next
    //! event, NICs with scripted carrier, and a tiny DHCP server per NIC.
    use super::*;
    use netinit_core::dhcp::client::reply_for;
    use netinit_core::dhcp::packet::{MessageType, Packet, opt};
    use netinit_core::dhcp::udp::UdpChecksum;
    use netinit_core::net::Ipv4Cidr;
    use netinit_sys::Clock;
    use netinit_sys::packet::Received;
    use netinit_sys::{Result as SysResult, SysError};
    use std::cell::RefCell;
    use std::rc::Rc;

    const SRV: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

    #[derive(Default)]
    struct Server {
        /// Address offered.
        yiaddr: Option<Ipv4Addr>,
        delay_ms: u64,
        /// Silent before this time (a switch port still in spanning tree).
        from_ms: u64,
        /// Answer this many REQUESTs with a NAK first.
        naks: u32,
        /// Honour Rapid Commit (dnsmasq --dhcp-rapid-commit).
        rapid_commit: bool,
        /// Answer every DISCOVER with these raw frames instead.
        garbage: Vec<Vec<u8>>,
        /// Extra options in every OFFER and ACK.
        extra: Vec<(u8, Vec<u8>)>,
    }

    struct FakeNic {
        link: LinkInfo,
        /// (from ms, carrier) in time order; no entry: no carrier.
        carrier: Vec<(u64, bool)>,
        server: Option<Server>,
        open_fails: bool,
        open: bool,
        inbox: Vec<(u64, Vec<u8>)>,
        /// (time, message type, carrier at the time) of every packet sent.
        sent: Vec<(u64, MessageType, bool)>,
    }

    impl FakeNic {
        fn carrier_at(&self, t: u64) -> bool {
            self.carrier
                .iter()
                .rev()
                .find(|(from, _)| *from <= t)
                .is_some_and(|(_, up)| *up)
        }

        fn sent_times(&self) -> Vec<u64> {
            self.sent.iter().map(|s| s.0).collect()
        }
    }

    #[derive(Default)]
    struct World {
        now: u64,
        nics: Vec<FakeNic>,
        calls: Vec<String>,
        /// Addresses another host already holds (answers ARP probes for).
        taken: Vec<Ipv4Addr>,
        probes: Vec<Ipv4Addr>,
    }

    impl World {
        fn nic(&mut self, index: u32) -> &mut FakeNic {
            self.nics
                .iter_mut()
                .find(|n| n.link.index == index)
                .unwrap()
        }
    }

    fn nic(index: u32, carrier: &[(u64, bool)], server: Option<Server>) -> FakeNic {
        FakeNic {
            link: super::link::fake::eth(index, &format!("eth{}", index - 2), index as u8),
            carrier: carrier.to_vec(),
            server,
            open_fails: false,
            open: false,
            inbox: vec![],
            sent: vec![],
        }
    }

    fn server(last: u8, delay_ms: u64) -> Option<Server> {
        Some(Server {
            yiaddr: Some(Ipv4Addr::new(10, 77, 0, last)),
            delay_ms,
            ..Default::default()
        })
    }

    fn rapid_server(last: u8, delay_ms: u64) -> Option<Server> {
        Some(Server {
            rapid_commit: true,
            ..server(last, delay_ms).unwrap()
        })
    }

    fn kinds(n: &FakeNic) -> Vec<MessageType> {
        n.sent.iter().map(|s| s.1).collect()
    }

    struct FakeNl(Rc<RefCell<World>>);
    struct FakeIo(Rc<RefCell<World>>);

    impl Netlink for FakeNl {
        fn links(&mut self) -> SysResult<Vec<LinkInfo>> {
            let w = self.0.borrow();
            Ok(w.nics
                .iter()
                .map(|n| LinkInfo {
                    carrier: n.carrier_at(w.now),
                    up: true,
                    ..n.link.clone()
                })
                .collect())
        }
        fn set_up(&mut self, index: u32) -> SysResult<()> {
            self.0.borrow_mut().calls.push(format!("up {index}"));
            Ok(())
        }
        fn set_mtu(&mut self, index: u32, mtu: u32) -> SysResult<()> {
            self.0.borrow_mut().calls.push(format!("mtu {index} {mtu}"));
            Ok(())
        }
        fn set_name(&mut self, index: u32, name: &str) -> SysResult<()> {
            self.0
                .borrow_mut()
                .calls
                .push(format!("name {index} {name}"));
            Ok(())
        }
        fn add_address(
            &mut self,
            index: u32,
            addr: Ipv4Cidr,
            _brd: Option<Ipv4Addr>,
        ) -> SysResult<()> {
            self.0
                .borrow_mut()
                .calls
                .push(format!("addr {index} {addr}"));
            Ok(())
        }
        fn add_default_route(&mut self, index: u32, gw: Ipv4Addr) -> SysResult<()> {
            self.0
                .borrow_mut()
                .calls
                .push(format!("route {index} {gw}"));
            Ok(())
        }
        fn add_route(&mut self, index: u32, dest: Ipv4Cidr, gw: Option<Ipv4Addr>) -> SysResult<()> {
            let via = gw.map_or_else(|| "on-link".to_owned(), |g| format!("via {g}"));
            self.0
                .borrow_mut()
                .calls
                .push(format!("route {index} {dest} {via}"));
            Ok(())
        }
        fn addresses(&mut self, _index: u32) -> SysResult<Vec<netinit_sys::netlink::Addr>> {
            Ok(vec![])
        }
    }

    impl netinit_sys::packet::ArpProbe for FakeIo {
        fn probe(&mut self, _: u32, _: MacAddr, ip: Ipv4Addr) -> SysResult<Option<MacAddr>> {
            let mut w = self.0.borrow_mut();
            // Instant here, so the other tests' timings stay exact.
            w.probes.push(ip);
            Ok(w.taken
                .contains(&ip)
                .then_some(MacAddr([2, 0, 0, 0, 0, 0x99])))
        }
    }

    impl DhcpIo for FakeIo {
        fn open(&mut self, ifindex: u32, _name: &str) -> SysResult<()> {
            let mut w = self.0.borrow_mut();
            let n = w.nic(ifindex);
            if n.open_fails {
                return Err(SysError::new(
                    "socket",
                    "AF_PACKET",
                    rustix::io::Errno::AFNOSUPPORT,
                ));
            }
            n.open = true;
            Ok(())
        }
        fn close(&mut self, ifindex: u32) {
            let mut w = self.0.borrow_mut();
            let n = w.nic(ifindex);
            n.open = false;
            n.inbox.clear();
        }
        fn broadcast(&mut self, ifindex: u32, datagram: &[u8]) -> SysResult<()> {
            let mut w = self.0.borrow_mut();
            let now = w.now;
            let n = w.nic(ifindex);
            assert!(n.open, "send on a closed socket");
            let p = Packet::decode(&datagram[28..]).unwrap();
            let kind = p.options.message_type().unwrap();
            let carrier = n.carrier_at(now);
            n.sent.push((now, kind, carrier));
            let Some(s) = n.server.as_mut().filter(|s| carrier && now >= s.from_ms) else {
                return Ok(());
            };
            let at = now + s.delay_ms;
            if !s.garbage.is_empty() {
                for g in s.garbage.clone() {
                    n.inbox.push((at, g));
                }
                return Ok(());
            }
            let yiaddr = s.yiaddr.unwrap_or(Ipv4Addr::UNSPECIFIED);
            let rc = s.rapid_commit && p.options.get(opt::RAPID_COMMIT).is_some();
            let (kind, extra): (_, Vec<(u8, &[u8])>) = match kind {
                MessageType::Discover if rc => (
                    MessageType::Ack,
                    vec![(opt::RAPID_COMMIT, &[]), (opt::ROUTER, &[10, 77, 0, 1])],
                ),
                MessageType::Discover => (MessageType::Offer, vec![]),
                MessageType::Decline => {
                    // dnsmasq marks a declined address and offers another.
                    s.yiaddr = s.yiaddr.map(|a| Ipv4Addr::from(u32::from(a) + 1));
                    return Ok(());
                }
                MessageType::Request if s.naks > 0 => {
                    s.naks -= 1;
                    (MessageType::Nak, vec![])
                }
                _ => (MessageType::Ack, vec![(opt::ROUTER, &[10, 77, 0, 1])]),
            };
            let mut extra = extra;
            extra.push((opt::SUBNET_MASK, &[255, 255, 255, 0]));
            if kind != MessageType::Nak {
                extra.extend(s.extra.iter().map(|(c, v)| (*c, v.as_slice())));
            }
            let reply = reply_for(&datagram[28..], kind, yiaddr, SRV, &extra).unwrap();
            n.inbox.push((at, udp::wrap_reply(SRV, &reply)));
            Ok(())
        }
        fn recv(&mut self, ifindex: u32, buf: &mut [u8]) -> SysResult<Option<Received>> {
            let mut w = self.0.borrow_mut();
            let now = w.now;
            let n = w.nic(ifindex);
            let Some(i) = n.inbox.iter().position(|(at, _)| *at <= now) else {
                return Ok(None);
            };
            let (_, frame) = n.inbox.remove(i);
            buf[..frame.len()].copy_from_slice(&frame);
            Ok(Some(Received {
                len: frame.len(),
                checksum: UdpChecksum::Verify,
            }))
        }
        fn wait(&mut self, timeout_ms: u64) -> SysResult<Vec<u32>> {
            let mut w = self.0.borrow_mut();
            let next = w
                .nics
                .iter()
                .filter(|n| n.open)
                .flat_map(|n| n.inbox.iter().map(|(at, _)| *at))
                .min();
            let deadline = w.now + timeout_ms;
            match next {
                Some(at) if at <= deadline => {
                    w.now = w.now.max(at);
                    let now = w.now;
                    Ok(w.nics
                        .iter()
                        .filter(|n| n.open && n.inbox.iter().any(|(at, _)| *at <= now))
                        .map(|n| n.link.index)
                        .collect())
                }
                _ => {
                    w.now = deadline;
                    Ok(vec![])
                }
            }
        }
        fn seed(&mut self) -> u64 {
            0x5eed
        }
    }

    impl Clock for FakeIo {
        fn now_ms(&self) -> u64 {
            self.0.borrow().now
        }
        fn sleep_ms(&mut self, ms: u64) {
            self.0.borrow_mut().now += ms;
        }
    }

    /// Runs the driver on `nics` with `cmdline`; returns the result and the world.
    fn run_world(
        cmdline: &str,
        nics: Vec<FakeNic>,
    ) -> (Result<NetState, StepError>, Rc<RefCell<World>>) {
        let world = Rc::new(RefCell::new(World {
            nics,
            ..Default::default()
        }));
        let plan = netinit_core::plan::from_cmdline(cmdline).unwrap();
        let links: Vec<LinkInfo> = world.borrow().nics.iter().map(|n| n.link.clone()).collect();
        let r = drive(
            &mut FakeNl(world.clone()),
            &mut FakeIo(world.clone()),
            &plan,
            &links,
        );
        (r, world)
    }

    #[test]
    fn lease_on_the_second_nic_when_only_it_reaches_a_server() {
        let (r, w) = run_world(
            "ip=dhcp",
            vec![
                nic(2, &[(0, true)], None),
                nic(3, &[(0, true)], rapid_server(100, 2)),
            ],
        );
        let s = r.unwrap();
        let w = w.borrow();
        assert_eq!((s.interface.as_str(), s.ifindex), ("eth1", 3));
        assert_eq!(s.address.to_string(), "10.77.0.100/24");
        // Rapid commit: one DISCOVER, bound 2 ms later.
        assert_eq!(w.now, 2);
        // Both raced; only the winner was configured; every socket is closed.
        assert_eq!(w.nics[0].sent_times(), [0]);
        assert_eq!(w.calls, ["addr 3 10.77.0.100/24", "route 3 10.77.0.1"]);
        assert!(w.nics.iter().all(|n| !n.open));
    }

    fn mtu_server(mtu: u16) -> Option<Server> {
        Some(Server {
            extra: vec![(opt::MTU, mtu.to_be_bytes().to_vec())],
            ..rapid_server(100, 1).unwrap()
        })
    }

    #[test]
    fn mtu_from_ip_wins_and_a_bad_dhcp_mtu_is_ignored() {
        let mtu_calls = |cmdline: &str, mtu: u16| {
            let (r, w) = run_world(cmdline, vec![nic(2, &[(0, true)], mtu_server(mtu))]);
            let s = r.unwrap();
            let calls: Vec<String> = w
                .borrow()
                .calls
                .iter()
                .filter(|c| c.starts_with("mtu"))
                .cloned()
                .collect();
            (s.mtu, calls)
        };
        // ip=…:<mtu> overrides option 26.
        assert_eq!(
            mtu_calls("ip=eth0:dhcp:1450", 1400),
            (Some(1450), vec!["mtu 2 1450".into()])
        );
        // A sane option 26 is used.
        assert_eq!(
            mtu_calls("ip=dhcp", 1400),
            (Some(1400), vec!["mtu 2 1400".into()])
        );
        // Below 576, or above the NIC's maximum (1500 in the fake): ignored.
        assert_eq!(mtu_calls("ip=dhcp", 300), (None, vec![]));
        assert_eq!(mtu_calls("ip=dhcp", 9000), (None, vec![]));
    }

    #[test]
    fn an_address_in_use_is_declined_and_the_next_one_taken() {
        let world = Rc::new(RefCell::new(World {
            nics: vec![nic(2, &[(0, true)], server(100, 1))],
            taken: vec![Ipv4Addr::new(10, 77, 0, 100)],
            ..Default::default()
        }));
        let plan = netinit_core::plan::from_cmdline("ip=dhcp").unwrap();
        let links: Vec<LinkInfo> = world.borrow().nics.iter().map(|n| n.link.clone()).collect();
        let s = drive(
            &mut FakeNl(world.clone()),
            &mut FakeIo(world.clone()),
            &plan,
            &links,
        )
        .unwrap();
        let w = world.borrow();
        assert_eq!(s.address.addr, Ipv4Addr::new(10, 77, 0, 101));
        assert_eq!(
            w.probes,
            [Ipv4Addr::new(10, 77, 0, 100), Ipv4Addr::new(10, 77, 0, 101)]
        );
        use MessageType::*;
        assert_eq!(
            kinds(&w.nics[0]),
            [Discover, Request, Decline, Discover, Request]
        );
        // RFC 2131: at least ten seconds between the DECLINE and the new DISCOVER.
        let sent = &w.nics[0].sent;
        assert!(
            sent[3].0 - sent[2].0 >= 10_000,
            "{:?}",
            w.nics[0].sent_times()
        );
        // The taken address was never configured.
        assert_eq!(w.calls, ["addr 2 10.77.0.101/24", "route 2 10.77.0.1"]);
    }

    #[test]
    fn first_lease_wins_and_the_slower_nic_is_left_alone() {
        let (r, w) = run_world(
            "ip=dhcp",
            vec![
                nic(2, &[(0, true)], server(100, 40)),
                nic(3, &[(0, true)], server(101, 5)),
            ],
        );
        assert_eq!(r.unwrap().interface, "eth1");
        let w = w.borrow();
        assert!(w.calls.iter().all(|c| c.contains(" 3 ")), "{:?}", w.calls);
    }

    #[test]
    fn a_nic_without_carrier_does_not_hold_up_the_others() {
        let (r, w) = run_world(
            "ip=dhcp",
            vec![
                nic(2, &[], server(100, 1)),
                nic(3, &[(300, true)], rapid_server(101, 1)),
            ],
        );
        assert_eq!(r.unwrap().interface, "eth1");
        let w = w.borrow();
        assert!(w.nics[0].sent.is_empty(), "nothing sent without carrier");
        // The first DISCOVER goes within one carrier poll of carrier.
        let first = w.nics[1].sent_times()[0];
        assert!((300..=300 + 10).contains(&first), "{first}");
        assert_eq!(w.now, first + 1);
    }

    #[test]
    fn offer_request_ack_with_every_reply_a_second_late() {
        // Like QEMU's e1000: every reply 1 s late; no rapid commit.
        let (r, w) = run_world("ip=dhcp", vec![nic(2, &[(0, true)], server(100, 1000))]);
        let s = r.unwrap();
        let w = w.borrow();
        use MessageType::*;
        // Retransmits at about 250 and 750 ms (±20 %); the first OFFER
        // lands at 1 s and is answered at once; the ACK to that REQUEST
        // lands at 2 s. The OFFERs to the retransmits (same xid) don't
        // disturb REQUESTING.
        let sent: Vec<(u64, MessageType)> =
            w.nics[0].sent[..4].iter().map(|s| (s.0, s.1)).collect();
        assert_eq!(
            sent.iter().map(|s| s.1).collect::<Vec<_>>(),
            [Discover, Discover, Discover, Request]
        );
        assert_eq!((sent[0].0, sent[3].0), (0, 1000));
        assert!((200..=300).contains(&sent[1].0), "{sent:?}");
        assert!(
            (sent[1].0 + 400..=sent[1].0 + 600).contains(&sent[2].0),
            "{sent:?}"
        );
        assert_eq!(s.lease.unwrap().bound_at_ms, 2000);
        assert_eq!(s.gateway, Some(SRV));
    }

    #[test]
    fn no_server_ends_at_the_budget_with_one_line() {
        let (r, w) = run_world(
            "ip=dhcp netinit.dhcp_timeout=3 netinit.carrier_timeout=1",
            vec![nic(2, &[(0, true)], None), nic(3, &[], None)],
        );
        let e = r.unwrap_err();
        assert_eq!(
            e.to_string(),
            "no DHCP lease after 3 s: eth0 (carrier, 0 offers), eth1 (no carrier) \
             (hint: is a DHCP server on this segment? raise netinit.dhcp_timeout= for slow spanning tree)"
        );
        let w = w.borrow();
        assert_eq!(w.now, 3000, "ends exactly at the budget");
        // 0, then gaps of ~250 ms, ~500 ms, ~1 s and ~2 s (±20 %), and no
        // more before 3 s.
        let t = w.nics[0].sent_times();
        assert_eq!(t[0], 0);
        assert!((200..=300).contains(&(t[1] - t[0])), "{t:?}");
        assert!((400..=600).contains(&(t[2] - t[1])), "{t:?}");
        assert!((800..=1200).contains(&(t[3] - t[2])), "{t:?}");
        if let Some(t4) = t.get(4) {
            assert!((1600..=2400).contains(&(t4 - t[3])), "{t:?}");
        }
        assert!(t.len() <= 5, "{t:?}");
        assert!(w.nics[1].sent.is_empty());
    }

    #[test]
    fn no_carrier_anywhere_fails_at_the_carrier_budget() {
        let (r, w) = run_world(
            "ip=dhcp netinit.carrier_timeout=2",
            vec![nic(2, &[], None), nic(3, &[], None)],
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "no carrier on any NIC after 2 s: eth0 (no carrier), eth1 (no carrier) \
             (hint: check the cable/switch port, or raise netinit.carrier_timeout=)"
        );
        let w = w.borrow();
        assert!((2000..2020).contains(&w.now), "{}", w.now);
        assert!(w.nics.iter().all(|n| n.sent.is_empty() && !n.open));
    }

    #[test]
    fn carrier_flap_restarts_discover_at_once() {
        // Carrier up, then down for 5 s (a renegotiating NIC), then up for
        // good; the server only answers from 5 s on.
        let mut flappy = nic(2, &[(0, true), (100, false), (5000, true)], server(100, 1));
        flappy.server.as_mut().unwrap().from_ms = 5000;
        let (r, w) = run_world("ip=dhcp", vec![flappy]);
        let s = r.unwrap();
        let w = w.borrow();
        let sent = &w.nics[0].sent;
        assert!(sent.iter().all(|(_, _, carrier)| *carrier), "{sent:?}");
        // Without the restart the next DISCOVER would wait for the back-off (~7.75 s).
        let back = sent.iter().find(|(t, ..)| *t >= 5000).unwrap().0;
        assert!(back <= 5010, "{sent:?}");
        // OFFER 1 ms later, REQUEST at once, ACK 1 ms after that.
        assert_eq!(s.lease.unwrap().bound_at_ms, back + 2);
    }

    #[test]
    fn a_carrier_lost_for_good_is_reported() {
        let (r, _) = run_world(
            "ip=dhcp netinit.dhcp_timeout=2",
            vec![nic(2, &[(0, true), (300, false)], None)],
        );
        assert!(
            r.unwrap_err()
                .reason
                .starts_with("no DHCP lease after 2 s: eth0 (carrier lost, 0 offers)")
        );
    }

    #[test]
    fn hostile_frames_are_dropped_and_counted() {
        let mut hostile = nic(2, &[(0, true)], server(100, 1));
        let good = udp::wrap_reply(SRV, &[0u8; 300]);
        let mut bad_sum = good.clone();
        bad_sum[40] ^= 1;
        hostile.server.as_mut().unwrap().garbage =
            vec![bad_sum, good[..30].to_vec(), udp::wrap_reply(SRV, b"short")];
        let (r, _) = run_world("ip=dhcp netinit.dhcp_timeout=1", vec![hostile]);
        let e = r.unwrap_err();
        // Three frames per DISCOVER (0, ~250, ~750 ms): all dropped, none fatal.
        assert_eq!(
            e.reason,
            "no DHCP lease after 1 s: eth0 (carrier, 0 offers, 9 dropped)"
        );
    }

    #[test]
    fn naks_restart_then_back_off_and_a_later_ack_binds() {
        let mut nakky = nic(2, &[(0, true)], server(100, 1));
        nakky.server.as_mut().unwrap().naks = 2;
        let (r, w) = run_world("ip=dhcp", vec![nakky]);
        assert_eq!(r.unwrap().address.to_string(), "10.77.0.100/24");
        let w = w.borrow();
        use MessageType::*;
        assert_eq!(
            kinds(&w.nics[0]),
            [Discover, Request, Discover, Request, Discover, Request]
        );
        // After the first NAK at once; after the second, about a second later.
        let t = w.nics[0].sent_times();
        assert_eq!(&t[..4], &[0, 1, 2, 3]);
        assert!((800..=1200).contains(&(t[4] - t[3])), "{t:?}");
    }

    #[test]
    fn a_server_that_always_naks_is_in_the_summary() {
        let mut nakky = nic(2, &[(0, true)], server(100, 1));
        nakky.server.as_mut().unwrap().naks = u32::MAX;
        let (r, _) = run_world("ip=dhcp netinit.dhcp_timeout=4", vec![nakky]);
        assert_eq!(
            r.unwrap_err().reason,
            "no DHCP lease after 4 s: eth0 (carrier, 4 offers, 4 NAKs)"
        );
    }

    #[test]
    fn no_socket_anywhere_is_an_error_with_a_hint() {
        let mut a = nic(2, &[(0, true)], None);
        a.open_fails = true;
        let (r, _) = run_world("ip=dhcp", vec![a]);
        assert_eq!(
            r.unwrap_err().to_string(),
            "no packet socket could be opened on any NIC \
             (hint: is CONFIG_PACKET enabled? (netinit check-kernel))"
        );
    }
}
