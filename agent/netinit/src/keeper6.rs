//! The DHCPv6 lease keeper: the IPv6 twin of [`crate::keeper`], started
//! the same way as `@netinit-lease6 key=value…` when the boot took a
//! DHCPv6 lease with a finite valid lifetime. It renews with RENEW at T1
//! to the server that granted the lease and REBIND at T2 to any, never
//! removes the address, holds port 546 only while an exchange is under
//! way, and steps aside for good when another DHCPv6 client works on the
//! interface or a manager sets a finite lifetime on the address.

use std::fmt;
use std::process::ExitCode;

use netinit_core::dhcp::renew::Phase;
use netinit_core::dhcp6::ClientConfig;
use netinit_core::dhcp6::renew::{Event, Renewer6};
use netinit_core::keeper::{ARGV0_6, Held6};
use netinit_core::net::NetState;
use netinit_sys::lease6::{Lease6Io, RealLease6Io};
use rustix::io::Errno;

use crate::keeper::{
    CHECK_EVERY_MS, Kmsg, Level, Log, MAX_DROP_LOGS, Stop, check_alone, exit, fail,
    spare_from_sendsigs, spawn, step_aside,
};

/// Where sysvinit's sendsigs looks for pids to spare.
const SENDSIGS_OMIT: &str = "/run/sendsigs.omit.d/netinit-lease6.pid";

/// Starts the DHCPv6 keeper for `state`'s IPv6 lease, if it has a finite
/// one. Called by PID 1 inside the new root, right before exec.
pub fn start(state: &NetState) -> Result<Option<u32>, String> {
    match Held6::from_state(state) {
        Some(held) => spawn(ARGV0_6, held.to_args()).map(Some),
        None => Ok(None),
    }
}

/// `@netinit-lease6 key=value…`: the keeper process.
pub fn main(args: &[String]) -> ExitCode {
    let mut log = Kmsg::from_env("netinit-lease6");
    let held = match Held6::parse(args.get(1..).unwrap_or(&[])) {
        Ok(h) => h,
        Err(e) => {
            log.line(Level::Crit, "?", format_args!("bad arguments: {e}"));
            return ExitCode::from(2);
        }
    };
    spare_from_sendsigs(SENDSIGS_OMIT);
    let mut io = match RealLease6Io::open(&held.interface, held.ifindex, held.address) {
        Ok(io) => io,
        Err(e) => {
            log.line(
                Level::Crit,
                &held.interface,
                format_args!("cannot keep the DHCPv6 lease: {e}; nothing renews it now"),
            );
            return ExitCode::from(1);
        }
    };
    let stop = run(&mut io, &held, &mut log);
    exit(stop, SENDSIGS_OMIT)
}

/// A DUID as the logs show it: hex, colon-separated.
struct Duid<'a>(&'a [u8]);

impl fmt::Display for Duid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            write!(f, "{}{b:02x}", if i == 0 { "" } else { ":" })?;
        }
        Ok(())
    }
}

// Like keeper.rs's `run`/`carry_out`, but over `Lease6Io`, `Renewer6` and
// DUIDs; the steps that are the same (check_alone, fail, step_aside) are shared.
/// Keeps `held` until something makes it stop.
pub fn run(io: &mut dyn Lease6Io, held: &Held6, log: &mut dyn Log) -> Stop {
    let iface = held.interface.as_str();
    let cfg = ClientConfig {
        mac: held.mac,
        iaid: held.iaid,
        rapid_commit: false,
    };
    let seed = io.seed();
    let duid = held.server_duid.clone();
    let mut r = Renewer6::new(cfg, held.address, duid, held.times, seed);
    let started = io.now_ms();
    log.line(
        Level::Info,
        iface,
        format_args!(
            "keeping {} from the DHCPv6 server {} (valid {} s, renewing in {} s); pid {}",
            held.address,
            Duid(&held.server_duid),
            held.times.lease_secs,
            r.next_wakeup()
                .map_or(0, |t| t.saturating_sub(started) / 1000),
            std::process::id()
        ),
    );
    let mut drops = 0u32;
    let mut next_check = started;
    let mut buf = vec![0u8; 2048];
    loop {
        let now = io.now_ms();
        let sending = r.next_wakeup().is_some_and(|t| t <= now);
        if now >= next_check || sending {
            if let Some(stop) = check_alone(io, iface, &held.address, log) {
                return stop;
            }
            next_check = now.saturating_add(CHECK_EVERY_MS);
        }
        for ev in r.poll(now) {
            if let Some(stop) = carry_out(io, &r, iface, ev, log, &mut drops) {
                return stop;
            }
        }
        // Renewed (or not yet due): port 546 is free for a manager.
        if r.phase() == Phase::Bound {
            io.close();
        }
        let wake = r.next_wakeup().unwrap_or(u64::MAX).min(next_check);
        let got = match io.recv(wake.saturating_sub(io.now_ms()).max(1), &mut buf) {
            Ok(g) => g,
            Err(e) => return fail(log, iface, format!("{e}")),
        };
        let Some((n, src)) = got else { continue };
        let Some(bytes) = buf.get(..n) else { continue };
        for ev in r.receive(io.now_ms(), src, bytes) {
            if let Some(stop) = carry_out(io, &r, iface, ev, log, &mut drops) {
                return stop;
            }
        }
    }
}

/// The log line for the keeper entering `phase`.
fn log_phase(log: &mut dyn Log, r: &Renewer6, iface: &str, phase: Phase) {
    let server = Duid(r.server_duid());
    match phase {
        Phase::Renewing => log.line(
            Level::Info,
            iface,
            format_args!("T1: renewing with {server}"),
        ),
        Phase::Rebinding => log.line(
            Level::Warn,
            iface,
            format_args!("T2: no answer from {server}; rebinding with any server"),
        ),
        Phase::Expired => log.line(
            Level::Crit,
            iface,
            format_args!(
                "the valid lifetime ran out with no server answering; keeping the \
                 address (the root filesystem may be on it) and asking for it again"
            ),
        ),
        Phase::Bound | Phase::Refused => {}
    }
}

fn carry_out(
    io: &mut dyn Lease6Io,
    r: &Renewer6,
    iface: &str,
    ev: Event,
    log: &mut dyn Log,
    drops: &mut u32,
) -> Option<Stop> {
    match ev {
        Event::Send(payload) => match io.send(&payload) {
            Ok(()) => {}
            Err(e) if e.errno == Errno::ADDRINUSE.raw_os_error() => {
                let why = "another DHCPv6 client holds port 546".to_owned();
                return Some(step_aside(log, iface, why));
            }
            Err(e) => log.line(Level::Warn, iface, format_args!("{e}; retrying later")),
        },
        Event::Entered(phase) => log_phase(log, r, iface, phase),
        Event::Renewed { times, moved } => {
            if moved {
                log.line(
                    Level::Warn,
                    iface,
                    format_args!("the lease moved to server {}", Duid(r.server_duid())),
                );
            }
            log.line(
                Level::Info,
                iface,
                format_args!(
                    "renewed with {}: valid {} s, T1 {} s, T2 {} s",
                    Duid(r.server_duid()),
                    times.lease_secs,
                    times.t1_secs,
                    times.t2_secs
                ),
            );
        }
        Event::Refused(why) => log.line(
            Level::Crit,
            iface,
            format_args!(
                "the server refuses the lease ({why}); keeping the address (the root \
                 filesystem may be on it) and asking for it again"
            ),
        ),
        Event::Dropped(why) => {
            *drops = drops.saturating_add(1);
            if *drops <= MAX_DROP_LOGS {
                log.line(Level::Warn, iface, format_args!("dropped: {why}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code
    use super::*;
    use crate::keeper::fake::{Host, Lines, on_host};
    use netinit_core::dhcp6::client::{no_binding_for, reply_for};
    use netinit_core::dhcp6::packet::{IaNa, Message, REBIND, RENEW, REPLY, opt};
    use netinit_sys::SysError;
    use netinit_sys::lease::AddressState;
    use std::collections::VecDeque;
    use std::net::Ipv6Addr;

    const SERVER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    /// The DUID `reply_for` answers with.
    const DUID: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 1];

    fn addr() -> Ipv6Addr {
        "fd77::150".parse().unwrap()
    }

    /// How the fake server answers each RENEW or REBIND.
    #[derive(Clone, Copy, PartialEq)]
    enum Answer {
        Reply,
        NoBinding,
        Silent,
    }

    struct Fake {
        host: Host,
        answers: VecDeque<Answer>,
        inbox: VecDeque<Vec<u8>>,
        sent: Vec<(u64, Message)>,
        /// Port 546 is bound (between the first send and `close`).
        open: bool,
        /// Milliseconds spent waiting with port 546 bound.
        held_ms: u64,
    }

    impl Fake {
        fn new(answers: &[Answer]) -> Fake {
            Fake {
                host: Host::new(),
                answers: answers.iter().copied().collect(),
                inbox: VecDeque::new(),
                sent: Vec::new(),
                open: false,
                held_ms: 0,
            }
        }
    }

    impl Lease6Io for Fake {
        fn now_ms(&self) -> u64 {
            self.now
        }
        fn seed(&mut self) -> u64 {
            3
        }
        fn send(&mut self, payload: &[u8]) -> netinit_sys::Result<()> {
            if self.port_taken {
                return Err(SysError::new("bind", "UDP [::]:546", Errno::ADDRINUSE));
            }
            self.open = true;
            let m = Message::decode(payload).unwrap();
            let reply = match self.answers.pop_front().unwrap_or(Answer::Reply) {
                Answer::Reply => reply_for(payload, REPLY, addr(), &[]),
                Answer::NoBinding => no_binding_for(payload),
                Answer::Silent => None,
            };
            self.inbox.extend(reply);
            self.sent.push((self.now, m));
            Ok(())
        }
        fn recv(
            &mut self,
            timeout_ms: u64,
            buf: &mut [u8],
        ) -> netinit_sys::Result<Option<(usize, Ipv6Addr)>> {
            if let Some(frame) = self.inbox.pop_front() {
                self.now += 5;
                buf[..frame.len()].copy_from_slice(&frame);
                return Ok(Some((frame.len(), SERVER)));
            }
            if self.open {
                self.held_ms += timeout_ms;
            }
            self.host.idle(timeout_ms);
            Ok(None)
        }
        fn close(&mut self) {
            self.open = false;
        }
    }

    on_host!(Fake);

    /// The shared fixture: fd77::150 (`addr()`) from the server `DUID`.
    fn held() -> Held6 {
        netinit_core::fixtures::held6()
    }

    fn our_address(m: &Message) -> Option<Ipv6Addr> {
        let ia = IaNa::decode(m.options.get(opt::IA_NA)?).ok()?;
        let raw = ia.options.get(opt::IAADDR)?;
        netinit_core::dhcp6::packet::IaAddr::decode(raw)
            .ok()
            .map(|a| a.addr)
    }

    #[test]
    fn renews_at_t1_with_its_server_and_frees_the_port_between() {
        let mut io = Fake::new(&[]);
        // The fake removes the address after 2 hours, which ends the test.
        io.until = 7_200_000;
        let mut log = Lines::default();
        assert_eq!(run(&mut io, &held(), &mut log), Stop::AddressGone);
        let times: Vec<u64> = io.sent.iter().map(|(t, _)| *t / 1000).collect();
        // T1 of the boot's lease, then T1 (1800 s) of each REPLY's lease
        // (reply_for grants 3600 s preferred, T1/T2 left to the client).
        assert_eq!(times, vec![60, 1860, 3660, 5460]);
        for (_, m) in &io.sent {
            assert_eq!(m.kind, RENEW);
            assert_eq!(m.options.get(opt::SERVERID), Some(&DUID[..]));
            assert_eq!(our_address(m), Some(addr()));
        }
        assert!(log.0[0].1.contains(
            "keeping fd77::150 from the DHCPv6 server 00:03:00:01:02:00:00:00:00:01 \
             (valid 120 s, renewing in 59 s)"
        ));
        let renewed = log
            .0
            .iter()
            .filter(|(l, t)| *l == Level::Info && t.contains("renewed with 00:03:00:01"))
            .count();
        assert_eq!(renewed, 4);
        assert!(
            log.0[log.pos("renewed")]
                .1
                .contains("valid 7200 s, T1 1800 s, T2 2880 s")
        );
        // Port 546 was held only while waiting for the REPLYs, never
        // across the hours in between.
        assert_eq!(io.held_ms, 0);
        assert!(!io.open);
        assert_eq!(log.0.last().unwrap().0, Level::Crit);
    }

    #[test]
    fn silence_rebinds_at_t2_then_keeps_the_address_past_expiry() {
        let mut io = Fake::new(&[Answer::Silent; 40]);
        io.until = 400_000;
        let mut log = Lines::default();
        assert_eq!(run(&mut io, &held(), &mut log), Stop::AddressGone);
        assert!(log.pos("T1: renewing") < log.pos("T2: no answer"));
        assert!(log.pos("T2: no answer") < log.pos("the valid lifetime ran out"));
        assert_eq!(log.0[log.pos("the valid lifetime ran out")].0, Level::Crit);
        let kinds: Vec<u8> = io.sent.iter().map(|(_, m)| m.kind).collect();
        assert_eq!(kinds[0], RENEW);
        assert!(kinds.contains(&REBIND));
        // A REBIND names no server: any may answer.
        let (t, rebind) = io.sent.iter().find(|(_, m)| m.kind == REBIND).unwrap();
        assert!(*t >= 105_000);
        assert_eq!(rebind.options.get(opt::SERVERID), None);
        // While an exchange runs the port stays bound.
        assert!(io.held_ms > 0);
    }

    #[test]
    fn no_binding_is_logged_loudly_and_the_address_asked_back() {
        let mut io = Fake::new(&[Answer::NoBinding, Answer::Reply]);
        io.until = 200_000;
        let mut log = Lines::default();
        run(&mut io, &held(), &mut log);
        let refused = log.pos("the server refuses the lease");
        assert_eq!(log.0[refused].0, Level::Crit);
        assert!(log.0[refused].1.contains("no binding (gone)"));
        assert!(refused < log.pos("renewed with"));
        // RENEW, then a REBIND for the same address on the back-off.
        assert_eq!(io.sent[0].1.kind, RENEW);
        let (t, again) = &io.sent[1];
        assert_eq!((again.kind, our_address(again)), (REBIND, Some(addr())));
        assert!(*t >= 60_000 + 10_000, "{t}");
    }

    #[test]
    fn steps_aside_for_another_client_or_a_manager() {
        let mut io = Fake::new(&[]);
        io.other_at = Some((1_900_000, "systemd-network (pid 300)"));
        let mut log = Lines::default();
        assert_eq!(
            run(&mut io, &held(), &mut log),
            Stop::SteppedAside("systemd-network (pid 300) runs DHCP for fd77::150".into())
        );
        assert_eq!(io.sent.len(), 2, "renewed at 60 s and 1860 s first");

        let mut io = Fake::new(&[]);
        io.address = AddressState::Present { valid_secs: 3600 };
        let stop = run(&mut io, &held(), &mut log);
        assert!(
            matches!(stop, Stop::SteppedAside(w) if w.contains("3600 s lifetime on fd77::150"))
        );
        assert!(io.sent.is_empty());

        let mut io = Fake::new(&[]);
        io.port_taken = true;
        assert_eq!(
            run(&mut io, &held(), &mut log),
            Stop::SteppedAside("another DHCPv6 client holds port 546".into())
        );
    }

    #[test]
    fn starts_only_for_a_finite_dhcp6_lease() {
        let mut s = netinit_core::fixtures::net_state();
        assert_eq!(start(&s), Ok(None));
        s.ipv6 = Some(netinit_core::net::Net6 {
            method: "auto6",
            address: addr(),
            prefix: 64,
            gateway: None,
            dns: Vec::new(),
            search: Vec::new(),
            bootfile_url: None,
            valid_secs: 7200,
            preferred_secs: 3600,
            lease: None,
        });
        assert_eq!(start(&s), Ok(None), "SLAAC has no lease to keep");
    }
}
