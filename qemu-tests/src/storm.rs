//! `netinit-lab storm`: N clients power on at once against one server.
//!
//! A lab network namespace holds a bridge, dnsmasq (DHCP only) and busybox
//! httpd serving one image file. Each client is its own network namespace
//! with one veth (`eth0`) on that bridge. All clients start together; each
//! gets a lease with the client under test (`netinit net`, ISC `dhclient`
//! or busybox `udhcpc`), then fetches the image with a plain HTTP GET
//! (busybox wget). We report how many leased, p50/p99 time to the lease
//! and to the last byte (from the common start), and the DHCP packets
//! each client sent, counted on the server's bridge (tcpdump; dnsmasq's
//! own log loses lines under load). Nothing leaves the lab's namespaces.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use argh::FromArgs;

use crate::cleanup;
use crate::util::{build_static, keep_or_remove, run, workspace};

/// Boot storm: N clients in network namespaces against one dnsmasq and one HTTP server.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "storm")]
pub struct StormArgs {
    /// clients per storm, comma-separated for a scaling run (default 100)
    #[argh(option, default = "String::from(\"100\")")]
    clients: String,
    /// DHCP client: netinit, dhclient or udhcpc (repeatable; default all three)
    #[argh(option)]
    client: Vec<String>,
    /// size of the image file fetched over HTTP, in KiB (default 4096)
    #[argh(option, default = "4096")]
    image_kib: usize,
    /// keep the work directory (per-client logs, dnsmasq's log)
    #[argh(switch)]
    keep: bool,
}

const SERVER: &str = "10.78.0.1";
/// Per client: lease, then fetch; a client that takes longer has failed.
const CLIENT_BUDGET: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Netinit,
    Dhclient,
    Udhcpc,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind, String> {
        match s {
            "netinit" => Ok(Kind::Netinit),
            "dhclient" => Ok(Kind::Dhclient),
            "udhcpc" => Ok(Kind::Udhcpc),
            _ => Err(format!("--client {s}: netinit, dhclient or udhcpc")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Netinit => "netinit",
            Kind::Dhclient => "dhclient",
            Kind::Udhcpc => "udhcpc",
        }
    }
}

/// One client's result, seconds from the common start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub lease: Option<f64>,
    pub last_byte: Option<f64>,
}

/// One storm's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub clients: usize,
    pub leased: usize,
    pub fetched: usize,
    pub lease_p50: Option<f64>,
    pub lease_p99: Option<f64>,
    pub byte_p50: Option<f64>,
    pub byte_p99: Option<f64>,
    /// Mean and max DHCP packets the server received per client.
    pub packets_mean: f64,
    pub packets_max: usize,
}

/// Nearest-rank percentile (p in 0..=100) of the values present.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v.get(rank.min(v.len()) - 1).copied()
}

/// Frames per source MAC from `tcpdump -e -nn` lines
/// (`12:00:00.000001 52:54:00:78:00:01 > ff:ff:ff:ff:ff:ff, ethertype IPv4 …`).
pub fn frames_per_mac(dump: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in dump.lines() {
        let mut words = line.split_whitespace();
        if let (Some(_), Some(mac), Some(">")) = (words.next(), words.next(), words.next()) {
            *out.entry(mac.to_owned()).or_insert(0) += 1;
        }
    }
    out
}

/// Client-sent DHCP messages per MAC, from dnsmasq's log (`DHCPDISCOVER(br0) MAC`,
/// `DHCPREQUEST(br0) IP MAC`, …): what dnsmasq processed, for comparison.
pub fn packets_per_mac(log: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some((_, rest)) = line.split_once(": DHCP") else {
            continue;
        };
        let Some((kind, args)) = rest.split_once("(") else {
            continue;
        };
        if !matches!(
            kind,
            "DISCOVER" | "REQUEST" | "DECLINE" | "RELEASE" | "INFORM"
        ) {
            continue;
        }
        let Some(mac) = args
            .split_whitespace()
            .find(|w| w.len() == 17 && w.matches(':').count() == 5)
        else {
            continue;
        };
        *out.entry(mac.to_owned()).or_insert(0) += 1;
    }
    out
}

pub fn summarise(
    outcomes: &[Outcome],
    packets: &BTreeMap<String, usize>,
    macs: &[String],
) -> Summary {
    let leases: Vec<f64> = outcomes.iter().filter_map(|o| o.lease).collect();
    let bytes: Vec<f64> = outcomes.iter().filter_map(|o| o.last_byte).collect();
    let counts: Vec<usize> = macs
        .iter()
        .map(|m| packets.get(m).copied().unwrap_or(0))
        .collect();
    Summary {
        clients: outcomes.len(),
        leased: leases.len(),
        fetched: bytes.len(),
        lease_p50: percentile(&leases, 50.0),
        lease_p99: percentile(&leases, 99.0),
        byte_p50: percentile(&bytes, 50.0),
        byte_p99: percentile(&bytes, 99.0),
        packets_mean: counts.iter().sum::<usize>() as f64 / counts.len().max(1) as f64,
        packets_max: counts.iter().copied().max().unwrap_or(0),
    }
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.2} s"))
}

fn row(kind: &str, s: &Summary, wall: f64) -> String {
    format!(
        "| {kind} | {} | {}/{} | {}/{} | {} | {} | {} | {} | {:.1} (max {}) | {wall:.1} s |\n",
        s.clients,
        s.leased,
        s.clients,
        s.fetched,
        s.clients,
        secs(s.lease_p50),
        secs(s.lease_p99),
        secs(s.byte_p50),
        secs(s.byte_p99),
        s.packets_mean,
        s.packets_max,
    )
}

const HEADER: &str = "| client | N | leased | fetched | lease p50 | lease p99 | last byte p50 | last byte p99 | DHCP packets/client | wall |\n|---|---|---|---|---|---|---|---|---|---|\n";

/// The lab namespace with the bridge and the two servers.
struct Server {
    ns: String,
    daemons: Vec<u32>,
    dnsmasq_log: PathBuf,
    capture: PathBuf,
    tcpdump: Option<u32>,
}

impl Server {
    fn start(work: &Path, tag: &str, max_clients: usize) -> Result<Server, String> {
        let ns = format!("nist{}{tag}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &ns]))?;
        cleanup::track_netns(&ns);
        let ip = |args: &[&str]| run(Command::new("ip").arg("-n").arg(&ns).args(args)).map(drop);
        ip(&["link", "set", "lo", "up"])?;
        ip(&crate::lab::bridge("br0"))?;
        ip(&["link", "set", "br0", "up"])?;
        ip(&["addr", "add", &format!("{SERVER}/16"), "dev", "br0"])?;
        let mut server = Server {
            ns,
            daemons: Vec::new(),
            dnsmasq_log: work.join(format!("dnsmasq-{tag}.log")),
            capture: work.join(format!("dhcp-{tag}.pcap")),
            tcpdump: None,
        };
        let _ = std::fs::remove_file(&server.capture);
        // Client → server DHCP on the bridge; a big buffer so a storm is not dropped.
        let tcpdump = server.spawn(
            Command::new("tcpdump")
                .args([
                    "-i",
                    "br0",
                    "-nn",
                    "-U",
                    "--immediate-mode",
                    "-B",
                    "16384",
                    "-w",
                ])
                .arg(&server.capture)
                .args(["udp", "dst", "port", "67"]),
            "tcpdump",
        )?;
        server.tcpdump = Some(tcpdump);
        let leases = work.join(format!("dnsmasq-{tag}.leases"));
        let _ = std::fs::remove_file(&leases);
        let _ = std::fs::remove_file(&server.dnsmasq_log);
        let dnsmasq = server.spawn(
            Command::new("dnsmasq")
                .args(crate::lab::DNSMASQ_BASE)
                .args([
                    "--dhcp-range=10.78.1.0,10.78.250.255,255.255.0.0,1h",
                    "--dhcp-option=option:router,10.78.0.1",
                ])
                .arg(format!("--dhcp-lease-max={}", max_clients + 100))
                .arg(format!("--dhcp-leasefile={}", leases.display()))
                .arg(format!("--log-facility={}", server.dnsmasq_log.display())),
            "dnsmasq",
        )?;
        server.daemons.push(dnsmasq);
        let www = work.join("www");
        let httpd = server.spawn(
            Command::new("busybox")
                .args(["httpd", "-f", "-p", &format!("{SERVER}:80"), "-h"])
                .arg(&www),
            "busybox httpd",
        )?;
        server.daemons.push(httpd);
        // Ready when dnsmasq has bound and httpd answers.
        let start = Instant::now();
        loop {
            let ok = Command::new("ip")
                .args([
                    "netns", "exec", &server.ns, "busybox", "wget", "-q", "-O", "-",
                ])
                .arg(format!("http://{SERVER}/ready"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            let log = std::fs::read_to_string(&server.dnsmasq_log).unwrap_or_default();
            // pcap's file header is written once tcpdump is capturing.
            let capturing = std::fs::metadata(&server.capture).is_ok_and(|m| m.len() >= 24);
            if ok && capturing && log.contains("DHCP, IP range") {
                break;
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "storm servers not ready after 10 s (tcpdump capturing: {capturing}; dnsmasq log: {})",
                    log.trim()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn spawn(&self, cmd: &mut Command, what: &str) -> Result<u32, String> {
        let mut full = Command::new("ip");
        full.args(["netns", "exec", &self.ns])
            .arg(cmd.get_program());
        full.args(cmd.get_args());
        let child = full
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{what}: {e}"))?;
        cleanup::track_pid(child.id(), what);
        Ok(child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pid) = self.tcpdump.take() {
            cleanup::stop(pid);
        }
        for pid in self.daemons.iter().rev() {
            cleanup::stop(*pid);
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// The clients' namespaces, each with `eth0` on the server's bridge.
struct Clients {
    names: Vec<String>,
    macs: Vec<String>,
}

impl Clients {
    fn create(server: &Server, n: usize) -> Result<Clients, String> {
        let names: Vec<String> = (0..n).map(|i| format!("{}c{i}", server.ns)).collect();
        let macs: Vec<String> = (0..n)
            .map(|i| format!("52:54:00:78:{:02x}:{:02x}", i >> 8, i & 0xff))
            .collect();
        let mut host = String::new();
        let mut lab = String::new();
        for (i, (name, mac)) in names.iter().zip(&macs).enumerate() {
            host.push_str(&format!("netns add {name}\n"));
            lab.push_str(&format!(
                "link add v{i} type veth peer name eth0 address {mac} netns {name}\nlink set v{i} master br0 up\n"
            ));
        }
        for name in &names {
            cleanup::track_netns(name);
        }
        batch(&[], &host)?;
        batch(&["-n", &server.ns], &lab)?;
        Ok(Clients { names, macs })
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        let del: String = self
            .names
            .iter()
            .map(|n| format!("netns del {n}\n"))
            .collect();
        let _ = batch(&[], &del);
    }
}

/// `ip [ARGS] -batch -` with `commands` on stdin.
fn batch(args: &[&str], commands: &str) -> Result<(), String> {
    crate::util::pipe(
        "ip",
        &[args, &["-batch", "-"]].concat(),
        commands.as_bytes(),
    )
    .map(drop)
}

/// The lease command of one client, in its namespace.
fn lease_command(kind: Kind, ns: &str, work: &Path, i: usize) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]);
    let file = |ext: &str| work.join(format!("c{i}.{ext}"));
    match kind {
        Kind::Netinit => {
            c.arg(workspace().join("target/x86_64-unknown-linux-musl/release/netinit"))
                .args(["net", "--cmdline", "ip=dhcp"]);
        }
        Kind::Dhclient => {
            // -1: one try (60 s, its default timeout); it forks into the
            // background once bound, so its exit is the lease.
            c.args(["dhclient", "-1", "-v", "-cf", "/dev/null", "-sf"])
                .arg(work.join("lease.sh"))
                .arg("-lf")
                .arg(file("leases"))
                .arg("-pf")
                .arg(file("pid"))
                .arg("eth0");
        }
        Kind::Udhcpc => {
            // Quit once bound (-q), fail instead of backgrounding (-n);
            // 20 DISCOVERs 3 s apart (its default spacing) for a 60 s budget.
            c.args([
                "busybox", "udhcpc", "-f", "-q", "-n", "-t", "20", "-i", "eth0", "-s",
            ])
            .arg(work.join("udhcpc.sh"));
        }
    }
    c
}

/// Both peers' hook scripts only set the address, as `netinit net` does.
const LEASE_SH: &str = "#!/bin/sh\ncase \"$reason\" in\n  PREINIT) ip link set \"$interface\" up ;;\n  BOUND|RENEW|REBIND|REBOOT) ip addr add \"$new_ip_address/$new_subnet_mask\" dev \"$interface\" ;;\nesac\nexit 0\n";
const UDHCPC_SH: &str = "#!/bin/sh\ncase \"$1\" in\n  deconfig) ip link set \"$interface\" up ;;\n  bound|renew) ip addr add \"$ip/$mask\" dev \"$interface\" ;;\nesac\nexit 0\n";

fn wait_bounded(child: &mut Child, deadline: Instant) -> Option<bool> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status.success()),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return None,
        }
    }
}

/// Runs one storm; returns its summary and wall time.
fn storm(kind: Kind, n: usize, work: &Path) -> Result<(Summary, f64), String> {
    let tag = format!("{}{n}", &kind.name()[..1]);
    let dir = work.join(format!("{}-{n}", kind.name()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // A lease file left by an earlier storm would make dhclient INIT-REBOOT
    // (one REQUEST instead of DISCOVER + REQUEST): every storm starts cold.
    for i in 0..n {
        let _ = std::fs::remove_file(work.join(format!("c{i}.leases")));
    }
    let mut server = Server::start(work, &tag, n)?;
    let clients = Clients::create(&server, n)?;
    let barrier = Arc::new(Barrier::new(n + 1));
    let start = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut handles = Vec::new();
    for (i, ns) in clients.names.iter().enumerate() {
        let (barrier, start, ns, dir) = (barrier.clone(), start.clone(), ns.clone(), dir.clone());
        let work = work.to_path_buf();
        handles.push(std::thread::spawn(move || {
            let mut lease = lease_command(kind, &ns, &work, i);
            let log = std::fs::File::create(dir.join(format!("c{i}.log"))).ok();
            let err = log.as_ref().and_then(|f| f.try_clone().ok());
            let get_err = log.as_ref().and_then(|f| f.try_clone().ok());
            lease
                .stdin(Stdio::null())
                .stdout(log.map_or_else(Stdio::null, Stdio::from))
                .stderr(err.map_or_else(Stdio::null, Stdio::from));
            barrier.wait();
            let t0 = *start.get_or_init(Instant::now);
            let deadline = t0 + CLIENT_BUDGET;
            let mut out = Outcome::default();
            let Ok(mut child) = lease.spawn() else {
                return out;
            };
            if wait_bounded(&mut child, deadline) != Some(true) {
                return out;
            }
            out.lease = Some(t0.elapsed().as_secs_f64());
            // Bounded by the deadline here: busybox 1.35's wget crashes
            // with its own timeout (-T).
            let fetched = Command::new("ip")
                .args(["netns", "exec", &ns, "busybox", "wget", "-q", "-O", "-"])
                .arg(format!("http://{SERVER}/image"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(get_err.map_or_else(Stdio::null, Stdio::from))
                .spawn()
                .ok()
                .and_then(|mut c| wait_bounded(&mut c, deadline));
            if fetched == Some(true) {
                out.last_byte = Some(t0.elapsed().as_secs_f64());
            }
            out
        }));
    }
    barrier.wait();
    let begun = Instant::now();
    let outcomes: Vec<Outcome> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_default())
        .collect();
    let wall = begun.elapsed().as_secs_f64();
    // dhclient stays in the background once bound: stop each by its pid file.
    if kind == Kind::Dhclient {
        for i in 0..n {
            if let Some(pid) = std::fs::read_to_string(work.join(format!("c{i}.pid")))
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok())
            {
                cleanup::stop(pid);
            }
            let _ = std::fs::remove_file(work.join(format!("c{i}.pid")));
        }
    }
    // Late retransmits would still count; then stop the capture (SIGTERM flushes it).
    std::thread::sleep(Duration::from_millis(300));
    if let Some(pid) = server.tcpdump.take() {
        cleanup::stop(pid);
    }
    let dump = run(Command::new("tcpdump")
        .args(["-nn", "-e", "-r"])
        .arg(&server.capture)
        .stderr(Stdio::null()))?;
    let log = std::fs::read_to_string(&server.dnsmasq_log).unwrap_or_default();
    let _ = std::fs::copy(&server.dnsmasq_log, dir.join("dnsmasq.log"));
    let _ = std::fs::copy(&server.capture, dir.join("dhcp.pcap"));
    let logged: usize = packets_per_mac(&log).values().sum();
    let summary = summarise(&outcomes, &frames_per_mac(&dump), &clients.macs);
    eprintln!(
        "netinit-lab: storm: {} DHCP frames on the bridge from the clients, {logged} in dnsmasq's log",
        (summary.packets_mean * n as f64).round()
    );
    drop(clients);
    drop(server);
    Ok((summary, wall))
}

pub fn storm_main(a: &StormArgs) -> Result<bool, String> {
    let kinds: Vec<Kind> = if a.client.is_empty() {
        vec![Kind::Netinit, Kind::Dhclient, Kind::Udhcpc]
    } else {
        a.client
            .iter()
            .map(|c| Kind::parse(c))
            .collect::<Result<_, _>>()?
    };
    let sizes: Vec<usize> = a
        .clients
        .split(',')
        .map(|n| {
            n.trim()
                .parse::<usize>()
                .map_err(|_| format!("--clients {n}: not a number"))
        })
        .collect::<Result<_, _>>()?;
    if sizes.iter().any(|&n| n == 0 || n > 1000) {
        return Err("--clients: 1 to 1000 per storm (a bridge holds 1024 ports)".into());
    }
    if kinds.contains(&Kind::Netinit) {
        eprintln!("netinit-lab: storm: building netinit (static)");
        build_static("netinit")?;
    }
    let work = crate::work_dir()?;
    let www = work.join("www");
    std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
    std::fs::write(www.join("ready"), "ok\n").map_err(|e| e.to_string())?;
    // Incompressible enough and the same for every client.
    let image: Vec<u8> = (0..a.image_kib * 1024)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    std::fs::write(www.join("image"), image).map_err(|e| e.to_string())?;
    for (name, text) in [("lease.sh", LEASE_SH), ("udhcpc.sh", UDHCPC_SH)] {
        let p = work.join(name);
        std::fs::write(&p, text).map_err(|e| e.to_string())?;
        run(Command::new("chmod").arg("755").arg(&p))?;
    }
    let mut out = String::from(HEADER);
    let mut ok = true;
    for &n in &sizes {
        for &kind in &kinds {
            eprintln!("netinit-lab: storm: {} clients with {} …", n, kind.name());
            let (s, wall) = storm(kind, n, &work)?;
            eprint!("{}", row(kind.name(), &s, wall));
            ok &= s.leased == n && s.fetched == n;
            out.push_str(&row(kind.name(), &s, wall));
        }
    }
    let date = run(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
    println!(
        "\n## Boot storm, {}\n\nImage: {} KiB over HTTP (busybox httpd, plain GET with busybox wget); dnsmasq without rapid commit; times from the common start.\n",
        date.trim(),
        a.image_kib
    );
    print!("{out}");
    keep_or_remove(a.keep || !ok, &work, &work);
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[3.0], 99.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[2.0, 1.0], 50.0), Some(1.0));
    }

    #[test]
    fn counts_frames_by_source_mac() {
        let dump = "\
14:30:00.000001 52:54:00:78:00:01 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request
14:30:00.250001 52:54:00:78:00:01 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request
14:30:00.300001 52:54:00:78:00:02 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request
";
        let f = frames_per_mac(dump);
        assert_eq!(f["52:54:00:78:00:01"], 2);
        assert_eq!(f["52:54:00:78:00:02"], 1);
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn counts_what_each_client_sent() {
        let log = "\
Dec  1 14:30:00 dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 52:54:00:78:00:01
Dec  1 14:30:00 dnsmasq-dhcp[7]: DHCPOFFER(br0) 10.78.1.5 52:54:00:78:00:01
Dec  1 14:30:00 dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 52:54:00:78:00:01
Dec  1 14:30:00 dnsmasq-dhcp[7]: DHCPREQUEST(br0) 10.78.1.5 52:54:00:78:00:01
Dec  1 14:30:00 dnsmasq-dhcp[7]: DHCPACK(br0) 10.78.1.5 52:54:00:78:00:01
Dec  1 14:30:01 dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 52:54:00:78:00:02 no address available
";
        let p = packets_per_mac(log);
        assert_eq!(p["52:54:00:78:00:01"], 3);
        assert_eq!(p["52:54:00:78:00:02"], 1);
        let macs = vec![
            "52:54:00:78:00:01".to_owned(),
            "52:54:00:78:00:02".to_owned(),
            "52:54:00:78:00:03".to_owned(),
        ];
        let outcomes = vec![
            Outcome {
                lease: Some(0.5),
                last_byte: Some(0.9),
            },
            Outcome {
                lease: Some(1.5),
                last_byte: None,
            },
            Outcome::default(),
        ];
        let s = summarise(&outcomes, &p, &macs);
        assert_eq!((s.clients, s.leased, s.fetched), (3, 2, 1));
        assert_eq!(s.lease_p99, Some(1.5));
        assert_eq!(s.packets_max, 3);
        assert!((s.packets_mean - 4.0 / 3.0).abs() < 1e-9);
        assert!(
            row("netinit", &s, 2.0).starts_with("| netinit | 3 | 2/3 | 1/3 | 0.50 s | 1.50 s |")
        );
    }
}
