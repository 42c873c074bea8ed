//! The lease keeper: a small process, started by PID 1 in the new root
//! right before it execs init, that renews the boot lease for the whole
//! uptime (see docs/decisions/0015-lease-keeper.md).
//!
//! It runs as `@netinit-lease key=value…`: systemd spares processes whose
//! argv[0] starts with `@` until the root is unmounted at shutdown, and
//! its pid goes to /run/sendsigs.omit.d/ so sysvinit's sendsigs spares it
//! too. It logs to the kernel log only. It never removes the address (the
//! I/O trait cannot), and it steps aside for good as soon as another DHCP
//! client works on the interface or a manager takes the address over.

use std::fmt;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};

use netinit_core::dhcp::ClientConfig;
use netinit_core::dhcp::renew::{Destination, Event, Phase, Renewer};
use netinit_core::dhcp::udp;
use netinit_core::keeper::{ARGV0, Held};
use netinit_core::net::NetState;
use netinit_sys::lease::{AddressState, LeaseIo, RealLeaseIo, Watch};
use rustix::io::Errno;

use crate::net::dhcp::VENDOR_CLASS;

/// How often the keeper looks for another client or manager, also
/// between renewals (a network manager can start at any time).
pub(crate) const CHECK_EVERY_MS: u64 = 15_000;
/// Logged drops before going quiet.
pub(crate) const MAX_DROP_LOGS: u32 = 5;
/// Where sysvinit's sendsigs looks for pids to spare.
const SENDSIGS_OMIT: &str = "/run/sendsigs.omit.d/netinit-lease.pid";

/// Kernel log levels used by the keeper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Crit = 2,
    Warn = 4,
    Info = 6,
}

/// Why the keeper stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Another DHCP client or a network manager took the interface.
    SteppedAside(String),
    /// The address was removed by someone else.
    AddressGone,
    /// The system failed us (socket, netlink).
    Failed(String),
}

/// Starts the keeper for `state`'s lease, if it has a finite one. Called
/// by PID 1 inside the new root, right before exec; never fatal.
pub fn start(state: &NetState, hostname: Option<&str>) -> Result<Option<u32>, String> {
    let Some(mut held) = Held::from_state(state) else {
        return Ok(None);
    };
    held.hostname = hostname.map(str::to_owned);
    spawn(ARGV0, held.to_args()).map(Some)
}

/// Re-executes this binary as `argv0 args…`, detached, in its own session.
pub(crate) fn spawn(argv0: &str, args: Vec<String>) -> Result<u32, String> {
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0(argv0)
        .args(args)
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: pre_exec runs in the forked child before exec; setsid is an
    // async-signal-safe syscall touching no memory of the parent. Its own
    // session keeps the keeper out of the console's job control.
    unsafe {
        cmd.pre_exec(|| {
            let _ = rustix::process::setsid();
            Ok(())
        })
    };
    // /proc/self/exe still names our binary after the initramfs that held
    // it was freed; the child does not wait on anything of ours.
    let child = cmd.spawn().map_err(|e| format!("start {argv0}: {e}"))?;
    Ok(child.id())
}

/// `@netinit-lease key=value…`: the keeper process.
pub fn main(args: &[String]) -> ExitCode {
    let mut log = Kmsg::from_env("netinit-lease");
    let held = match Held::parse(args.get(1..).unwrap_or(&[])) {
        Ok(h) => h,
        Err(e) => {
            log.line(Level::Crit, "?", format_args!("bad arguments: {e}"));
            return ExitCode::from(2);
        }
    };
    spare_from_sendsigs(SENDSIGS_OMIT);
    let mut io = match RealLeaseIo::open(&held.interface, held.ifindex, held.address.addr) {
        Ok(io) => io,
        Err(e) => {
            log.line(
                Level::Crit,
                &held.interface,
                format_args!("cannot keep the lease: {e}; nothing renews it now"),
            );
            return ExitCode::from(1);
        }
    };
    let stop = run(&mut io, &held, &mut log);
    exit(stop, SENDSIGS_OMIT)
}

/// The keeper's exit: its pid file gone, success only when it stepped aside.
pub(crate) fn exit(stop: Stop, omit: &str) -> ExitCode {
    let _ = std::fs::remove_file(omit);
    match stop {
        Stop::SteppedAside(_) => ExitCode::SUCCESS,
        Stop::AddressGone | Stop::Failed(_) => ExitCode::from(1),
    }
}

/// Where the keeper's lines go.
pub trait Log {
    fn line(&mut self, level: Level, interface: &str, msg: fmt::Arguments<'_>);
}

/// The kernel log, reopened per line (the kernel rate-limits per open
/// file), or stderr.
pub(crate) struct Kmsg {
    to_stderr: bool,
    tag: &'static str,
}

impl Kmsg {
    /// NETINIT_LEASE_LOG=stderr: run by hand in the foreground, or in a test.
    pub(crate) fn from_env(tag: &'static str) -> Kmsg {
        let to_stderr = std::env::var("NETINIT_LEASE_LOG").is_ok_and(|v| v == "stderr");
        Kmsg { to_stderr, tag }
    }
}

impl Log for Kmsg {
    fn line(&mut self, level: Level, interface: &str, msg: fmt::Arguments<'_>) {
        let text = format!("{}: {interface}: {msg}\n", self.tag);
        if self.to_stderr {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
            let _ = f.write_all(format!("<{}>{text}", level as u8).as_bytes());
        }
    }
}

pub(crate) fn spare_from_sendsigs(path: &str) {
    let dir = std::path::Path::new(path)
        .parent()
        .unwrap_or(std::path::Path::new("/run"));
    if std::fs::create_dir_all(dir).is_ok() {
        let _ = std::fs::write(path, format!("{}\n", std::process::id()));
    }
}

/// Keeps `held` until something makes it stop.
pub fn run(io: &mut dyn LeaseIo, held: &Held, log: &mut dyn Log) -> Stop {
    let iface = held.interface.as_str();
    let cfg = ClientConfig {
        mac: held.mac,
        hostname: held.hostname.clone(),
        vendor_class: VENDOR_CLASS.into(),
        rapid_commit: false,
    };
    let seed = io.seed();
    let mut r = Renewer::new(cfg, held.address, held.server, held.times, seed);
    let started = io.now_ms();
    log.line(
        Level::Info,
        iface,
        format_args!(
            "keeping {} from {} (lease {} s, renewing in {} s); pid {}",
            held.address,
            held.server,
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
            if let Some(stop) = check_alone(io, iface, &held.address.addr, log) {
                return stop;
            }
            next_check = now.saturating_add(CHECK_EVERY_MS);
        }
        for ev in r.poll(now) {
            if let Some(stop) = carry_out(io, &r, iface, ev, log, &mut drops) {
                return stop;
            }
        }
        let wake = r.next_wakeup().unwrap_or(u64::MAX).min(next_check);
        let frame = match io.recv(wake.saturating_sub(io.now_ms()).max(1), &mut buf) {
            Ok(f) => f,
            Err(e) => return fail(log, iface, format!("{e}")),
        };
        let Some(got) = frame else { continue };
        let Some(bytes) = buf.get(..got.len) else {
            continue;
        };
        let now = io.now_ms();
        let events = match udp::unwrap(bytes, got.checksum) {
            Ok((src, payload)) => r.receive(now, src, payload),
            Err(why) => vec![Event::Dropped(format!("frame: {why}"))],
        };
        for ev in events {
            if let Some(stop) = carry_out(io, &r, iface, ev, log, &mut drops) {
                return stop;
            }
        }
    }
}

pub(crate) fn fail(log: &mut dyn Log, iface: &str, why: String) -> Stop {
    log.line(
        Level::Crit,
        iface,
        format_args!("stopping: {why}; nothing renews the lease now"),
    );
    Stop::Failed(why)
}

/// `Some` when the keeper must stop: the address is gone, or another
/// client or manager now looks after it.
pub(crate) fn check_alone<W: Watch + ?Sized>(
    io: &mut W,
    iface: &str,
    addr: &dyn fmt::Display,
    log: &mut dyn Log,
) -> Option<Stop> {
    match io.address() {
        Ok(AddressState::Gone) => {
            log.line(
                Level::Crit,
                iface,
                format_args!("{addr} was removed by someone else; not adding it back, stopping"),
            );
            return Some(Stop::AddressGone);
        }
        Ok(AddressState::Present { valid_secs }) if valid_secs != u32::MAX => {
            let why = format!("a network manager set a {valid_secs} s lifetime on {addr}");
            return Some(step_aside(log, iface, why));
        }
        Ok(AddressState::Present { .. }) => {}
        Err(e) => return Some(fail(log, iface, format!("{e}"))),
    }
    match io.other_client() {
        Ok(Some(who)) => Some(step_aside(
            log,
            iface,
            format!("{who} runs DHCP for {addr}"),
        )),
        Ok(None) => None,
        // /proc/net/udp{,6} unreadable: carry on; the bind at send time still
        // tells an exclusive client apart.
        Err(_) => None,
    }
}

pub(crate) fn step_aside(log: &mut dyn Log, iface: &str, why: String) -> Stop {
    log.line(
        Level::Info,
        iface,
        format_args!("{why}; leaving the lease to it"),
    );
    Stop::SteppedAside(why)
}

/// The log line for the keeper entering `phase`.
fn log_phase(log: &mut dyn Log, r: &Renewer, iface: &str, phase: Phase) {
    match phase {
        Phase::Renewing => log.line(
            Level::Info,
            iface,
            format_args!("T1: renewing with {}", r.server()),
        ),
        Phase::Rebinding => log.line(
            Level::Warn,
            iface,
            format_args!(
                "T2: no answer from {}; rebinding with any server",
                r.server()
            ),
        ),
        Phase::Expired => log.line(
            Level::Crit,
            iface,
            format_args!(
                "the lease ran out with no server answering; keeping the address \
             (the root filesystem is on it) and asking for it again"
            ),
        ),
        Phase::Bound | Phase::Refused => {}
    }
}

fn carry_out(
    io: &mut dyn LeaseIo,
    r: &Renewer,
    iface: &str,
    ev: Event,
    log: &mut dyn Log,
    drops: &mut u32,
) -> Option<Stop> {
    match ev {
        Event::Send { to, payload } => {
            let dest = match to {
                Destination::Server(s) => s,
                Destination::Broadcast => Ipv4Addr::BROADCAST,
            };
            match io.send(dest, &payload) {
                Ok(()) => {}
                Err(e) if e.errno == Errno::ADDRINUSE.raw_os_error() => {
                    let why = "another DHCP client holds port 68".to_owned();
                    return Some(step_aside(log, iface, why));
                }
                Err(e) => log.line(Level::Warn, iface, format_args!("{e}; retrying later")),
            }
        }
        Event::Entered(phase) => log_phase(log, r, iface, phase),
        Event::Renewed {
            server,
            moved_from,
            times,
        } => {
            if let Some(old) = moved_from {
                log.line(
                    Level::Warn,
                    iface,
                    format_args!("the lease moved from server {old} to {server}"),
                );
            }
            log.line(
                Level::Info,
                iface,
                format_args!(
                    "renewed with {server}: lease {} s, T1 {} s, T2 {} s",
                    times.lease_secs, times.t1_secs, times.t2_secs
                ),
            );
        }
        Event::Refused { from, why } => log.line(
            Level::Crit,
            iface,
            format_args!(
                "DHCPNAK from {from} ({}): the server refuses the lease; keeping the \
                 address (the root filesystem is on it) and asking for it again",
                why
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

/// The system around a keeper under test, shared by both keepers' fakes:
/// an injected clock, the address, and another client that may appear.
#[cfg(test)]
pub(crate) mod fake {
    use super::{AddressState, Level, Log, Watch, fmt};

    pub(crate) struct Host {
        pub now: u64,
        pub address: AddressState,
        pub other: Option<String>,
        pub port_taken: bool,
        /// At this time the address disappears, which ends a test.
        pub until: u64,
        /// At this time this client appears.
        pub other_at: Option<(u64, &'static str)>,
    }

    impl Host {
        pub fn new() -> Host {
            Host {
                now: 1_000,
                address: AddressState::Present {
                    valid_secs: u32::MAX,
                },
                other: None,
                port_taken: false,
                until: u64::MAX,
                other_at: None,
            }
        }

        /// Lets `ms` pass with nothing arriving.
        pub fn idle(&mut self, ms: u64) {
            self.now += ms;
            if self.now > self.until {
                self.address = AddressState::Gone;
            }
            if let Some((at, who)) = self.other_at
                && self.now >= at
            {
                self.other = Some(who.into());
            }
        }
    }

    impl Watch for Host {
        fn address(&mut self) -> netinit_sys::Result<AddressState> {
            Ok(self.address)
        }
        fn other_client(&mut self) -> netinit_sys::Result<Option<String>> {
            Ok(self.other.clone())
        }
    }

    /// A fake with a `host: Host` field reads and watches through it.
    macro_rules! on_host {
        ($fake:ty) => {
            impl std::ops::Deref for $fake {
                type Target = $crate::keeper::fake::Host;
                fn deref(&self) -> &Self::Target {
                    &self.host
                }
            }

            impl std::ops::DerefMut for $fake {
                fn deref_mut(&mut self) -> &mut Self::Target {
                    &mut self.host
                }
            }

            impl netinit_sys::lease::Watch for $fake {
                fn address(&mut self) -> netinit_sys::Result<netinit_sys::lease::AddressState> {
                    self.host.address()
                }
                fn other_client(&mut self) -> netinit_sys::Result<Option<String>> {
                    self.host.other_client()
                }
            }
        };
    }
    pub(crate) use on_host;

    /// The keeper's log lines, kept.
    #[derive(Default)]
    pub(crate) struct Lines(pub Vec<(Level, String)>);

    impl Log for Lines {
        fn line(&mut self, level: Level, interface: &str, msg: fmt::Arguments<'_>) {
            self.0.push((level, format!("{interface}: {msg}")));
        }
    }

    impl Lines {
        /// The index of the first line holding `needle`.
        pub fn pos(&self, needle: &str) -> usize {
            self.0
                .iter()
                .position(|(_, l)| l.contains(needle))
                .unwrap_or_else(|| panic!("no line with {needle:?} in {:#?}", self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code
    use super::fake::{Host, Lines, on_host};
    use super::*;
    use netinit_core::dhcp::client::reply_for;
    use netinit_core::dhcp::packet::{MessageType, Packet, opt};
    use netinit_sys::SysError;
    use netinit_sys::packet::Received;
    use std::collections::VecDeque;

    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);

    /// How the fake server answers each REQUEST.
    #[derive(Clone, Copy, PartialEq)]
    enum Answer {
        Ack,
        Nak,
        Silent,
    }

    struct Fake {
        host: Host,
        answers: VecDeque<Answer>,
        inbox: VecDeque<Vec<u8>>,
        sent: Vec<(u64, Ipv4Addr, Packet)>,
    }

    impl Fake {
        fn new(answers: &[Answer]) -> Fake {
            Fake {
                host: Host::new(),
                answers: answers.iter().copied().collect(),
                inbox: VecDeque::new(),
                sent: Vec::new(),
            }
        }
    }

    impl LeaseIo for Fake {
        fn now_ms(&self) -> u64 {
            self.now
        }
        fn seed(&mut self) -> u64 {
            3
        }
        fn send(&mut self, to: Ipv4Addr, payload: &[u8]) -> netinit_sys::Result<()> {
            if self.port_taken {
                return Err(SysError::new("bind", "UDP", Errno::ADDRINUSE));
            }
            let p = Packet::decode(payload).unwrap();
            let answer = self.answers.pop_front().unwrap_or(Answer::Ack);
            let extra: [(u8, &[u8]); 2] = [
                (opt::SUBNET_MASK, &[255, 255, 255, 0]),
                (opt::LEASE_TIME, &120u32.to_be_bytes()),
            ];
            let reply = match answer {
                Answer::Ack => reply_for(payload, MessageType::Ack, ADDR, SERVER, &extra),
                Answer::Nak => reply_for(
                    payload,
                    MessageType::Nak,
                    Ipv4Addr::UNSPECIFIED,
                    SERVER,
                    &[(opt::MESSAGE, b"wrong network")],
                ),
                Answer::Silent => None,
            };
            if let Some(r) = reply {
                self.inbox.push_back(udp::wrap_reply(SERVER, &r));
            }
            self.sent.push((self.now, to, p));
            Ok(())
        }
        fn recv(
            &mut self,
            timeout_ms: u64,
            buf: &mut [u8],
        ) -> netinit_sys::Result<Option<Received>> {
            if let Some(frame) = self.inbox.pop_front() {
                self.now += 5;
                buf[..frame.len()].copy_from_slice(&frame);
                return Ok(Some(Received {
                    len: frame.len(),
                    checksum: udp::UdpChecksum::Verify,
                }));
            }
            self.host.idle(timeout_ms);
            Ok(None)
        }
    }

    on_host!(Fake);

    fn held() -> Held {
        netinit_core::fixtures::held()
    }

    #[test]
    fn renews_every_t1_by_unicast_for_as_long_as_it_runs() {
        let mut io = Fake::new(&[]);
        // The test ends when the fake removes the address after 10 minutes.
        io.until = 600_000;
        let mut log = Lines::default();
        assert_eq!(run(&mut io, &held(), &mut log), Stop::AddressGone);
        let times: Vec<u64> = io.sent.iter().map(|(t, _, _)| *t / 1000).collect();
        // Every 60 s after each ACK (which arrives 5 ms after the send).
        assert_eq!(times, vec![60, 120, 180, 240, 300, 360, 420, 480, 540]);
        assert!(
            io.sent
                .iter()
                .all(|(_, to, p)| *to == SERVER && p.ciaddr == ADDR)
        );
        let renewed = log
            .0
            .iter()
            .filter(|(_, l)| l.contains("renewed with 10.77.0.1: lease 120 s"))
            .count();
        assert_eq!(renewed, 9);
        assert_eq!(log.0.last().unwrap().0, Level::Crit);
        assert!(
            log.0
                .last()
                .unwrap()
                .1
                .contains("10.77.0.100 was removed by someone else")
        );
    }

    #[test]
    fn a_nak_is_logged_loudly_and_the_address_is_asked_for_again() {
        let mut io = Fake::new(&[Answer::Nak, Answer::Nak, Answer::Ack]);
        io.until = 200_000;
        let mut log = Lines::default();
        run(&mut io, &held(), &mut log);
        let nak: Vec<&(Level, String)> = log
            .0
            .iter()
            .filter(|(_, l)| l.contains("DHCPNAK"))
            .collect();
        assert_eq!(nak.len(), 2);
        assert_eq!(nak[0].0, Level::Crit);
        assert!(
            nak[0].1.contains("DHCPNAK from 10.77.0.1 (wrong network)"),
            "{}",
            nak[0].1
        );
        // Unicast renewal, then INIT-REBOOT broadcasts for our address, then bound again.
        let (_, to, first) = &io.sent[0];
        assert_eq!((*to, first.ciaddr), (SERVER, ADDR));
        let (_, to, second) = &io.sent[1];
        assert_eq!(*to, Ipv4Addr::BROADCAST);
        assert_eq!(second.options.addr(opt::REQUESTED_IP), Some(ADDR));
        assert!(log.0.iter().any(|(_, l)| l.contains("renewed with")));
    }

    #[test]
    fn silence_moves_to_rebinding_then_expiry_and_keeps_the_address() {
        let mut io = Fake::new(&[Answer::Silent; 20]);
        io.until = 400_000;
        let mut log = Lines::default();
        assert_eq!(run(&mut io, &held(), &mut log), Stop::AddressGone);
        let text: Vec<&str> = log.0.iter().map(|(_, l)| l.as_str()).collect();
        let pos = |needle: &str| text.iter().position(|l| l.contains(needle)).unwrap();
        assert!(pos("T1: renewing") < pos("T2: no answer"));
        assert!(pos("T2: no answer") < pos("the lease ran out"));
        assert!(io.sent.iter().any(|(_, to, _)| *to == Ipv4Addr::BROADCAST));
    }

    #[test]
    fn steps_aside_for_another_client_or_a_manager() {
        let mut io = Fake::new(&[]);
        io.other_at = Some((130_000, "dhclient (pid 412)"));
        let mut log = Lines::default();
        assert_eq!(
            run(&mut io, &held(), &mut log),
            Stop::SteppedAside("dhclient (pid 412) runs DHCP for 10.77.0.100".into())
        );
        // It had renewed twice before the other client came.
        assert_eq!(io.sent.len(), 2);

        let mut io = Fake::new(&[]);
        io.address = AddressState::Present { valid_secs: 300 };
        let stop = run(&mut io, &held(), &mut log);
        assert!(matches!(stop, Stop::SteppedAside(w) if w.contains("300 s lifetime")));
        assert!(io.sent.is_empty());

        let mut io = Fake::new(&[]);
        io.port_taken = true;
        let stop = run(&mut io, &held(), &mut log);
        assert_eq!(
            stop,
            Stop::SteppedAside("another DHCP client holds port 68".into())
        );
    }
}
