//! The lab: a network namespace with a bridge and taps, and the servers
//! (dnsmasq for DHCP+TFTP, rpcbind and nfs-ganesha for NFS) inside it,
//! with a private /run so several labs can run at once. Nothing listens
//! or sends outside the namespace.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cleanup;
use crate::roots::Export;
use crate::util::run;

pub const SERVER: &str = "10.77.0.1";
/// Two more addresses of the same servers, so a scenario can see which
/// source (next-server, root-path, server id) named the NFS server.
pub const NEXT_SERVER: &str = "10.77.0.2";
pub const ROOTPATH_SERVER: &str = "10.77.0.3";

/// A NIC to create: its tap and which bridge it hangs on.
#[derive(Debug, Clone)]
pub struct Tap {
    pub name: String,
    /// `br0` reaches the servers; `br1` is a dead segment.
    pub bridge: &'static str,
}

/// Per-MAC DHCP settings (dnsmasq tags).
#[derive(Debug, Clone)]
pub struct Host {
    pub mac: String,
    pub hostname: String,
    pub root_path: Option<String>,
    /// DHCP next-server (siaddr) for this MAC; dnsmasq's own address otherwise.
    pub next_server: Option<String>,
}

/// How dnsmasq hands out leases.
#[derive(Debug, Clone)]
pub struct Dhcp {
    /// The pool; a REQUEST for an address outside it is refused (NAK).
    pub range: &'static str,
    /// Lease time as dnsmasq reads it (its minimum is 2m).
    pub lease: &'static str,
    /// T1 in seconds, when the lab wants renewals sooner than half the lease.
    pub t1_secs: Option<u32>,
    /// dnsmasq's IPv6 range on br0: SLAAC only by default (the RA's A
    /// flag, for iPXE's sake), or a stateful DHCPv6 pool.
    pub range6: &'static str,
}

impl Default for Dhcp {
    fn default() -> Self {
        Dhcp {
            range: "10.77.0.100,10.77.0.199",
            lease: "1h",
            t1_secs: None,
            range6: "::,constructor:br0,ra-only,64",
        }
    }
}

#[derive(Debug)]
pub struct Lab {
    pub ns: String,
    pub work: PathBuf,
    holder: u32,
    daemons: Vec<u32>,
    /// dnsmasq's pid and what it was started for, so it can be restarted
    /// mid-run with the same lease file.
    dnsmasq: std::sync::Mutex<u32>,
    hosts: Vec<Host>,
}

/// The second subnet's server address (on the lab netns's loopback),
/// reached only through a route (l2_scenarios.rs).
pub const FAR_SERVER: &str = "10.78.0.1";

/// `ip` words that add the bridge `name` as every lab bridge is: no STP
/// and no forwarding delay, so a port forwards at once.
pub fn bridge(name: &str) -> [&str; 9] {
    [
        "link",
        "add",
        name,
        "type",
        "bridge",
        "stp_state",
        "0",
        "forward_delay",
        "0",
    ]
}

/// What every lab dnsmasq starts with: in the foreground as root, no
/// config file, no DNS, no pid file, DHCP on `br0` only, answering at
/// once; each server adds its ranges and options.
pub const DNSMASQ_BASE: [&str; 11] = [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--no-resolv",
    "--no-hosts",
    "--port=0",
    "--pid-file=",
    "--user=root",
    "--interface=br0",
    "--bind-interfaces",
    "--no-ping",
    "--dhcp-authoritative",
];

fn spawn(cmd: &mut Command, what: &str, log: &Path) -> Result<Child, String> {
    let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    cleanup::track_pid(child.id(), what);
    Ok(child)
}

impl Lab {
    pub fn start(
        work: &Path,
        taps: &[Tap],
        exports: &[Export],
        hosts: &[Host],
        dhcp: &Dhcp,
    ) -> Result<Lab, String> {
        let ns = format!("nilab{}", std::process::id());
        let logs = work.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        run(Command::new("ip").args(["netns", "add", &ns]))?;
        cleanup::track_netns(&ns);
        let ip = |args: &[&str]| run(Command::new("ip").arg("-n").arg(&ns).args(args)).map(drop);
        ip(&["link", "set", "lo", "up"])?;
        for br in ["br0", "br1"] {
            ip(&bridge(br))?;
            ip(&["link", "set", br, "up"])?;
        }
        ip(&["addr", "add", &format!("{SERVER}/24"), "dev", "br0"])?;
        for extra in [NEXT_SERVER, ROOTPATH_SERVER] {
            ip(&["addr", "add", &format!("{extra}/24"), "dev", "br0"])?;
        }
        // A second subnet's server, reached through a route (rd.route=).
        ip(&["addr", "add", &format!("{}/32", FAR_SERVER), "dev", "lo"])?;
        // iPXE stops waiting for DHCPv6 once it sees a router advertisement.
        ip(&["addr", "add", "fd77::1/64", "dev", "br0", "nodad"])?;
        for t in taps {
            ip(&["tuntap", "add", "name", &t.name, "mode", "tap"])?;
            ip(&["link", "set", &t.name, "master", t.bridge, "up"])?;
        }
        let mut lab = Lab {
            ns,
            work: work.to_path_buf(),
            holder: 0,
            daemons: Vec::new(),
            dnsmasq: std::sync::Mutex::new(0),
            hosts: hosts.to_vec(),
        };
        lab.start_nfs(exports)?;
        lab.restart_dnsmasq(dhcp)?;
        Ok(lab)
    }

    /// `ip netns exec NS …`
    pub fn in_ns(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c
    }

    /// A command in the netns and in the private-/run mount namespace.
    fn in_private_run(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.ns))
            .arg("-t")
            .arg(self.holder.to_string())
            .args(["-m", "--", program]);
        c
    }

    fn start_nfs(&mut self, exports: &[Export]) -> Result<(), String> {
        // rpcbind's socket and lock live in /run and are host-global; a
        // holder process owns a mount namespace with its own /run.
        let mut holder = Command::new("unshare")
            .args(["-m", "--propagation", "private", "--", "sh", "-c", "mount -t tmpfs -o mode=755 netinit-lab /run && mkdir -p /run/rpcbind && echo ready && exec sleep 100000"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("unshare: {e}"))?;
        self.holder = holder.id();
        cleanup::track_pid(self.holder, "mount-namespace holder");
        let mut line = String::new();
        let out = holder.stdout.take().ok_or("holder has no stdout")?;
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim() != "ready" {
            return Err("could not make a private /run (unshare -m)".into());
        }
        let logs = self.work.join("logs");
        let rpcbind = spawn(
            self.in_private_run("rpcbind").args(["-f", "-w"]),
            "rpcbind",
            &logs.join("rpcbind.log"),
        )?;
        self.daemons.push(rpcbind.id());
        std::thread::sleep(Duration::from_millis(200));
        let conf = self.work.join("ganesha.conf");
        std::fs::write(
            &conf,
            ganesha_conf(exports, &self.work.join("ganesha-recovery")),
        )
        .map_err(|e| e.to_string())?;
        let ganesha = spawn(
            self.in_private_run("ganesha.nfsd")
                .arg("-F")
                .arg("-f")
                .arg(&conf)
                .arg("-L")
                .arg(logs.join("ganesha.log"))
                .arg("-p")
                .arg(self.work.join("ganesha.pid")),
            "ganesha.nfsd",
            &logs.join("ganesha.out"),
        )?;
        self.daemons.push(ganesha.id());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            let out = self.in_private_run("rpcinfo").args(["-p", SERVER]).output();
            if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("mountd")) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "nfs-ganesha did not register mountd within 15 s; see {}",
            logs.join("ganesha.log").display()
        ))
    }

    /// Starts dnsmasq, stopping the one before (by its pid) if any; the
    /// lease file and the log carry over, as with a server restart.
    pub fn restart_dnsmasq(&self, dhcp: &Dhcp) -> Result<(), String> {
        let mut pid = self.dnsmasq.lock().map_err(|_| "dnsmasq lock poisoned")?;
        if *pid != 0 {
            cleanup::stop(*pid);
        }
        *pid = self.spawn_dnsmasq(dhcp)?;
        Ok(())
    }

    fn spawn_dnsmasq(&self, dhcp: &Dhcp) -> Result<u32, String> {
        let (w, hosts) = (&self.work, &self.hosts);
        let mut args: Vec<String> = DNSMASQ_BASE
            .iter()
            .chain(&[
                "--dhcp-option=option:router,10.77.0.1",
                "--dhcp-option=option:dns-server,10.77.0.1",
                "--dhcp-option=option:domain-name,lab.test",
                "--enable-tftp",
                "--dhcp-boot=pxelinux.0",
                // iPXE: don't wait for ProxyDHCP, and an RA so it stops waiting for DHCPv6.
                "--dhcp-option=encap:175,176,1b",
                "--enable-ra",
                "--log-dhcp",
            ])
            .map(|s| s.to_string())
            .collect();
        args.push(format!("--dhcp-range={}", dhcp.range6));
        args.push(format!(
            "--dhcp-range={},255.255.255.0,{}",
            dhcp.range, dhcp.lease
        ));
        if let Some(t1) = dhcp.t1_secs {
            args.push(format!("--dhcp-option=option:T1,{t1}"));
        }
        args.push(format!(
            "--dhcp-leasefile={}",
            w.join("dnsmasq.leases").display()
        ));
        args.push(format!("--tftp-root={}", w.join("tftp").display()));
        args.push(format!(
            "--log-facility={}",
            w.join("logs/dnsmasq.log").display()
        ));
        // The BIOS+UEFI boot rules of docs/server-setup.md, when written.
        let recipe = w.join("dnsmasq-recipe.conf");
        if recipe.exists() {
            args.push(format!("--conf-file={}", recipe.display()));
        }
        // Root-paths go through a file: only dnsmasq's file reader honours
        // quotes, and a root-path's options contain ','.
        let mut opts = String::new();
        for (i, h) in hosts.iter().enumerate() {
            args.push(format!("--dhcp-host={},set:h{i},{}", h.mac, h.hostname));
            if let Some(rp) = &h.root_path {
                opts.push_str(&format!("tag:h{i},17,\"{rp}\"\n"));
            }
            if let Some(ns) = &h.next_server {
                args.push(format!("--dhcp-boot=tag:h{i},pxelinux.0,lab,{ns}"));
            }
        }
        let optsfile = w.join("dnsmasq-opts");
        std::fs::write(&optsfile, opts).map_err(|e| format!("{}: {e}", optsfile.display()))?;
        args.push(format!("--dhcp-optsfile={}", optsfile.display()));
        std::fs::create_dir_all(w.join("tftp")).map_err(|e| e.to_string())?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(w.join("logs/dnsmasq.out"))
            .map_err(|e| format!("dnsmasq.out: {e}"))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .in_ns("dnsmasq")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("dnsmasq: {e}"))?;
        cleanup::track_pid(child.id(), "dnsmasq");
        std::thread::sleep(Duration::from_millis(300));
        Ok(child.id())
    }

    /// Starts another server in the namespace (e.g. nginx), stopped with
    /// the others.
    pub fn start_daemon(
        &mut self,
        program: &str,
        args: &[String],
        log: &str,
    ) -> Result<(), String> {
        let child = spawn(
            self.in_ns(program).args(args),
            program,
            &self.work.join("logs").join(log),
        )?;
        self.daemons.push(child.id());
        Ok(())
    }

    /// A server that put itself in the background (its pid from its pid
    /// file), stopped with the others.
    pub fn adopt_daemon(&mut self, pid: u32, what: &str) {
        cleanup::track_pid(pid, what);
        self.daemons.push(pid);
    }

    pub fn stop(&mut self) {
        if let Ok(mut pid) = self.dnsmasq.lock() {
            if *pid != 0 {
                cleanup::stop(*pid);
                *pid = 0;
            }
        }
        for pid in self.daemons.drain(..).rev() {
            cleanup::stop(pid);
        }
        if self.holder != 0 {
            cleanup::stop(self.holder);
            self.holder = 0;
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop();
    }
}

/// ganesha binds one address. `::` is its dual-stack socket: it serves all
/// of br0's IPv4 addresses (as mapped ones) and fd77::1, where 0.0.0.0
/// binds `::ffff:0.0.0.0` and turns IPv6 clients away.
fn ganesha_conf(exports: &[Export], recovery: &Path) -> String {
    let mut s = format!(
        "NFS_CORE_PARAM {{ Protocols = 3, 4; Bind_addr = ::; NFS_Port = 2049; MNT_Port = 20048; Enable_NLM = false; Enable_RQUOTA = false; mount_path_pseudo = true; }}\n\
         NFSV4 {{ Graceless = true; RecoveryRoot = \"{}\"; }}\n",
        recovery.display()
    );
    for (i, e) in exports.iter().enumerate() {
        s.push_str(&format!(
            "EXPORT {{ Export_Id = {}; Path = \"{}\"; Pseudo = \"{}\"; Protocols = 3, 4; Transports = TCP; Access_Type = {}; Squash = No_Root_Squash; FSAL {{ Name = VFS; }} }}\n",
            i + 1,
            e.path.display(),
            e.pseudo,
            if e.rw { "RW" } else { "RO" }
        ));
    }
    s
}
