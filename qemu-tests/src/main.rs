//! netinit-lab: PXE and direct boots of netinit in QEMU against real
//! dnsmasq and nfs-ganesha, in a private network namespace.

mod bench;
mod cleanup;
mod debian;
mod debpkg;
mod dracut_scenarios;
mod faults;
mod forms_scenarios;
mod hook_scenarios;
mod http_scenarios;
mod itools;
mod kernel;
mod l2_scenarios;
mod lab;
mod lease;
mod live_scenarios;
mod pkg_scenarios;
mod prefetch;
mod qemu;
mod report;
mod root_scenarios;
mod roots;
mod scenario;
mod scenarios;
mod storm;
mod transport_scenarios;
mod uefi;
mod util;
mod v6_scenarios;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argh::FromArgs;

use crate::lab::{Host, Lab, Tap};
use crate::qemu::{Nic, Start};
use crate::scenarios::{Expect, Initrd, Scenario};
use crate::util::{run, workspace};

/// The netinit QEMU PXE lab. Needs root (network namespaces, taps).
#[derive(FromArgs, Debug)]
struct Args {
    #[argh(subcommand)]
    cmd: Cmd,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Cmd {
    Setup(SetupArgs),
    Roots(prefetch::RootsArgs),
    List(ListArgs),
    Run(RunArgs),
    Boot(BootArgs),
    Demo(DemoArgs),
    Bench(bench::BenchArgs),
    Storm(storm::StormArgs),
    Shaper(faults::ShaperArgs),
}

/// Install or check the Debian packages and fetch the Debian kernel (not installed).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "setup")]
struct SetupArgs {}

/// List the scenarios.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
struct ListArgs {}

/// Run scenarios (all by default) and print the result table; exits 1 if any fails.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "run")]
struct RunArgs {
    /// scenarios to run (default: all)
    #[argh(positional)]
    names: Vec<String>,
    /// VMs at once (default 2: this machine has 2 cores and TCG is single-threaded per VM)
    #[argh(option, default = "2")]
    jobs: usize,
    /// keep the work directory (logs, exports) after the run
    #[argh(switch)]
    keep: bool,
}

/// One ad-hoc boot with the console on the terminal, for debugging.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "boot")]
struct BootArgs {
    /// the netinit cmdline words, e.g. "boot=live netboot=nfs nfsroot=10.77.0.1:/export/live ip=dhcp"
    #[argh(option)]
    cmdline: String,
    /// QEMU NIC model (e1000, e1000e, rtl8139, virtio-net-pci)
    #[argh(option, default = "String::from(\"virtio-net-pci\")")]
    nic: String,
}

/// PXE-boot the demo live system (casper layout) with the console on this terminal.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "demo")]
struct DemoArgs {}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    cleanup::install_signal_handler();
    let _guard = cleanup::Guard;
    let result = match args.cmd {
        Cmd::Setup(_) => setup().map(|k| {
            println!(
                "netinit-lab: ready: kernel {} in {}",
                k.kver,
                k.tree.display()
            );
            true
        }),
        Cmd::Roots(a) => setup().and_then(|_| prefetch::prefetch(&a)),
        Cmd::List(_) => {
            for s in scenarios::all() {
                println!("{:<24} {:<22} {}", s.name, s.nic_label(), s.what);
            }
            Ok(true)
        }
        Cmd::Run(a) => run_scenarios(&a),
        Cmd::Boot(a) => adhoc(&a),
        Cmd::Demo(_) => demo(),
        Cmd::Bench(a) => bench::bench(&a),
        Cmd::Storm(a) => storm::storm_main(&a),
        Cmd::Shaper(a) => faults::shaper(&a),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("netinit-lab: {e}");
            ExitCode::from(2)
        }
    }
}

fn setup() -> Result<kernel::Kernel, String> {
    if !rustix_is_root() {
        return Err("needs root (network namespaces, taps, mounts)".into());
    }
    let script = workspace().join("scripts/setup.sh");
    let status = Command::new(&script)
        .status()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!("{} failed", script.display()));
    }
    kernel::ensure()
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Builds the static netinit and the builder, then the lab's initrd.
fn build_initrd(k: &kernel::Kernel, work: &Path) -> Result<PathBuf, String> {
    let ws = workspace();
    eprintln!("netinit-lab: building netinit (static) and netinit-mkinitrd");
    util::build_static("netinit")?;
    run(Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", "netinit-mkinitrd"])
        .current_dir(&ws))?;
    let out = work.join("initrd.img");
    make_initrd(k, &out, &[])?;
    Ok(out)
}

/// The lab's initrd from netinit-mkinitrd (built by `build_initrd`), with
/// `extra` options.
fn make_initrd(k: &kernel::Kernel, out: &Path, extra: &[&str]) -> Result<(), String> {
    let ws = workspace();
    let agent = ws.join("target/x86_64-unknown-linux-musl/release/netinit");
    // NICs come by modalias; the list only says which drivers the initrd carries.
    let summary = Command::new(ws.join("target/release/netinit-mkinitrd"))
        .arg("--moddir")
        .arg(&k.tree)
        .args([
            "--kver",
            &k.kver,
            "--modules",
            "@nfs,@live,@nbd,ext4,e1000,e1000e,8139too,8139cp,virtio_pci,virtio_net,bonding,8021q",
            "--agent",
        ])
        .arg(&agent)
        .args(extra)
        .arg("-o")
        .arg(out)
        .output()
        .map_err(|e| format!("netinit-mkinitrd: {e}"))?;
    let text = String::from_utf8_lossy(&summary.stderr);
    if !summary.status.success() {
        return Err(text.into_owned());
    }
    eprint!("{text}");
    Ok(())
}

fn work_dir() -> Result<PathBuf, String> {
    let w = std::env::temp_dir().join(format!("netinit-lab-{}", std::process::id()));
    std::fs::create_dir_all(&w).map_err(|e| format!("{}: {e}", w.display()))?;
    Ok(w)
}

/// The cmdline a scenario boots with.
fn full_cmdline(s: &Scenario, interactive: bool) -> String {
    let mut c = format!(
        "console=ttyS0 panic=-1 printk.time=1 netinit.reboot=0 netinit.shell=0 {}",
        http_scenarios::fill(s.cmdline.clone())
    );
    for (k, v) in s.expect.lab_words() {
        c.push_str(&format!(" lab.{k}={v}"));
    }
    if interactive {
        c.push_str(" lab.demo=1");
    }
    c
}

/// Puts pxelinux, the kernel, the initrd and a per-MAC config in the TFTP root.
fn tftp_setup(
    work: &Path,
    k: &kernel::Kernel,
    initrd: &Path,
    pxe: &[(String, String)],
) -> Result<(), String> {
    let tftp = work.join("tftp");
    std::fs::create_dir_all(tftp.join("pxelinux.cfg")).map_err(|e| e.to_string())?;
    for (src, dst) in [
        (PathBuf::from("/usr/lib/PXELINUX/pxelinux.0"), "pxelinux.0"),
        (
            PathBuf::from("/usr/lib/syslinux/modules/bios/ldlinux.c32"),
            "ldlinux.c32",
        ),
        (k.bzimage.clone(), "vmlinuz"),
        (initrd.to_path_buf(), "initrd.img"),
    ] {
        std::fs::copy(&src, tftp.join(dst)).map_err(|e| {
            format!(
                "{}: {e} (apt-get install pxelinux syslinux-common)",
                src.display()
            )
        })?;
    }
    for (mac, cmdline) in pxe {
        let name = format!("01-{}", mac.replace(':', "-"));
        let cfg = format!(
            "SERIAL 0 115200\nPROMPT 0\nTIMEOUT 0\nDEFAULT netinit\nLABEL netinit\n  KERNEL vmlinuz\n  INITRD initrd.img\n  APPEND {cmdline}\n  IPAPPEND 2\n"
        );
        std::fs::write(tftp.join("pxelinux.cfg").join(name), cfg).map_err(|e| e.to_string())?;
    }
    Ok(())
}

struct Prepared {
    kernel: kernel::Kernel,
    initrd: PathBuf,
    /// Debian's mkinitramfs + netinit hook, when a scenario needs it.
    itools: Option<PathBuf>,
    /// netinit's initrd with a /bin/sh, when a scenario needs it.
    with_shell: Option<PathBuf>,
    /// The Debian package installed in a chroot: its kernel and initrd.
    debpkg: Option<debpkg::Built>,
    /// Each UEFI scenario's OVMF variable store.
    uefi_vars: Vec<(&'static str, PathBuf)>,
    /// Distribution initrds with netinit's hooks (hook_scenarios.rs).
    distro: hook_scenarios::Built,
    lab: Lab,
}

/// Kernel, initrd, roots, TFTP and the lab for `chosen` scenarios.
fn prepare(
    chosen: &[(usize, Scenario)],
    work: &Path,
    interactive: bool,
) -> Result<Prepared, String> {
    prepare_with(chosen, work, interactive, &lab::Dhcp::default())
}

/// [`prepare`] with dnsmasq's lease settings.
fn prepare_with(
    chosen: &[(usize, Scenario)],
    work: &Path,
    interactive: bool,
    dhcp: &lab::Dhcp,
) -> Result<Prepared, String> {
    let k = setup()?;
    let initrd = build_initrd(&k, work)?;
    let mut diskless: Vec<String> = chosen
        .iter()
        .filter_map(|(_, s)| s.diskless.clone())
        .collect();
    // Guests may share one export.
    diskless.sort();
    diskless.dedup();
    let realsys = if chosen.iter().any(|(_, s)| s.needs_realsys()) {
        let root = debian::root(&debian::realsys_recipe())?;
        Some(debian::squashfs(&root)?)
    } else {
        None
    };
    let mut exports = roots::build(work, &diskless, realsys.as_deref())?;
    exports.extend(live_scenarios::exports(work, &k, chosen)?);
    exports.extend(faults::exports(work, chosen)?);
    let http = chosen.iter().any(|(_, s)| http_scenarios::is_http(s));
    let mut taps = Vec::new();
    let mut hosts = Vec::new();
    let mut pxe = Vec::new();
    for (i, s) in chosen {
        for (n, spec) in s.nics.iter().enumerate() {
            taps.push(Tap {
                name: format!("t{i}n{n}"),
                bridge: if spec.live { "br0" } else { "br1" },
            });
            let mac = Scenario::mac(*i, n);
            hosts.push(Host {
                mac: mac.clone(),
                hostname: s.hostname(),
                root_path: s.root_path.clone(),
                next_server: crate::dracut_scenarios::next_server(s.name),
            });
            if s.pxe {
                pxe.push((mac, full_cmdline(s, interactive)));
            }
        }
    }
    tftp_setup(work, &k, &initrd, &pxe)?;
    if http {
        http_scenarios::prepare(work)?;
    }
    let itools = if chosen
        .iter()
        .any(|(_, s)| s.initrd == Initrd::InitramfsTools)
    {
        let agent = workspace().join("target/x86_64-unknown-linux-musl/release/netinit");
        Some(itools::build(&k, &agent, work)?)
    } else {
        None
    };
    let with_shell = if chosen.iter().any(|(_, s)| s.initrd == Initrd::NetinitShell) {
        let out = work.join("initrd-shell.img");
        make_initrd(&k, &out, &["--shell", "/bin/busybox"])?;
        Some(out)
    } else {
        None
    };
    let debpkg = if chosen
        .iter()
        .any(|(_, s)| matches!(s.initrd, Initrd::DebPackage | Initrd::DebPackageLocal))
    {
        Some(debpkg::build(work)?)
    } else {
        None
    };
    let uefi: Vec<&(usize, Scenario)> = chosen
        .iter()
        .filter(|(_, s)| matches!(s.initrd, Initrd::UefiPxe(_) | Initrd::UefiHttp(_)))
        .collect();
    for (i, s) in chosen {
        if let Initrd::PxeMenu(label) = s.initrd {
            uefi::pxelinux_menu(
                &work.join("tftp"),
                &Scenario::mac(*i, 0),
                label,
                &full_cmdline(s, interactive),
                &k.bzimage,
                &initrd,
            )?;
        }
    }
    let mut uefi_vars = Vec::new();
    // The documented BIOS+UEFI rules; every PXE client of this run boots through them.
    if !uefi.is_empty()
        || chosen
            .iter()
            .any(|(_, s)| matches!(s.initrd, Initrd::PxeMenu(_)))
    {
        uefi::dnsmasq_rules(work)?;
    }
    if !uefi.is_empty() {
        let clients: Vec<uefi::Client> = uefi
            .iter()
            .map(|(i, s)| uefi::Client {
                mac: Scenario::mac(*i, 0),
                words: full_cmdline(s, interactive),
                entry: match s.initrd {
                    Initrd::UefiPxe(e) | Initrd::UefiHttp(e) => e,
                    _ => 0,
                },
                http: matches!(s.initrd, Initrd::UefiHttp(_)),
            })
            .collect();
        uefi::tftp_setup(&work.join("tftp"), &k.bzimage, &initrd, &clients)?;
        for (_, s) in &uefi {
            uefi_vars.push((s.name, uefi::vars_for(work, s.name)?));
        }
    }
    let distro = hook_scenarios::prepare(&k, chosen, work)?;
    let mut lab = Lab::start(work, &taps, &exports, &hosts, dhcp)?;
    if chosen
        .iter()
        .any(|(_, s)| transport_scenarios::is_nbd(s.name))
    {
        transport_scenarios::start_nbd(&mut lab, work)?;
    }
    if http
        || uefi
            .iter()
            .any(|(_, s)| matches!(s.initrd, Initrd::UefiHttp(_)))
    {
        let conf = uefi::nginx_conf(work)?;
        lab.start_daemon(
            "nginx",
            &[
                "-c".into(),
                conf.display().to_string(),
                "-e".into(),
                work.join("logs/nginx-error.log").display().to_string(),
                "-g".into(),
                "daemon off;".into(),
            ],
            "nginx.out",
        )?;
    }
    if chosen.iter().any(|(_, s)| s.name == http_scenarios::RESUME) {
        http_scenarios::start_resume_server(&lab)?;
    }
    Ok(Prepared {
        kernel: k,
        initrd,
        itools,
        with_shell,
        debpkg,
        uefi_vars,
        distro,
        lab,
    })
}

fn vm_nics(i: usize, s: &Scenario) -> Vec<Nic> {
    s.nics
        .iter()
        .enumerate()
        .map(|(n, spec)| Nic {
            model: spec.model,
            mac: Scenario::mac(i, n),
            tap: format!("t{i}n{n}"),
            udp: (n == 0 && faults::fault_of(s.name).is_some()).then(|| faults::ports(i)),
            hotplug_after: faults::fault_of(s.name)
                .filter(|f| n == 0 && f.hotplug_ms > 0)
                .map(|f| Duration::from_millis(f.hotplug_ms)),
            set_link: faults::fault_of(s.name)
                .filter(|_| n == 0)
                .map(|f| faults::carrier_flaps(&f))
                .unwrap_or_default(),
            off_when: l2_scenarios::link_off_trigger(s.name).filter(|_| n == 0),
        })
        .collect()
}

fn start_for(p: &Prepared, s: &Scenario, interactive: bool) -> Start {
    if let Some(start) =
        hook_scenarios::start(&p.distro, &p.kernel, s, full_cmdline(s, interactive))
    {
        return start;
    }
    if let (Initrd::DebPackage | Initrd::DebPackageLocal, Some(d)) = (s.initrd, &p.debpkg) {
        return Start::Installed {
            kernel: d.vmlinuz.clone(),
            initrd: d.initrd.clone(),
            cmdline: full_cmdline(s, interactive),
            disk: (s.initrd == Initrd::DebPackageLocal).then(|| d.disk.clone()),
        };
    }
    if let Initrd::UefiPxe(_) | Initrd::UefiHttp(_) = s.initrd {
        let vars = p
            .uefi_vars
            .iter()
            .find(|(n, _)| *n == s.name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        return Start::Uefi {
            vars,
            http: matches!(s.initrd, Initrd::UefiHttp(_)),
        };
    }
    if s.pxe {
        Start::Pxe
    } else {
        let initrd = match (s.initrd, &p.itools, &p.with_shell) {
            (Initrd::InitramfsTools, Some(i), _) => i.clone(),
            (Initrd::NetinitShell, _, Some(i)) => i.clone(),
            _ => p.initrd.clone(),
        };
        Start::Direct {
            vmlinux: p.kernel.vmlinux.clone(),
            initrd,
            cmdline: full_cmdline(s, interactive),
        }
    }
}

pub(crate) type Row = (String, String, String, report::Phases, f64);
/// A finished scenario: its index, table row and verdict.
type Done = (usize, Row, Result<String, String>);

fn run_scenarios(a: &RunArgs) -> Result<bool, String> {
    let all = scenarios::all();
    for n in &a.names {
        if !all.iter().any(|s| s.name == n) {
            return Err(format!("no scenario '{n}' (see 'netinit-lab list')"));
        }
    }
    let chosen: Vec<(usize, Scenario)> = all
        .into_iter()
        .enumerate()
        // No names: every scenario.
        .filter(|(_, s)| a.names.is_empty() || a.names.iter().any(|n| n == s.name))
        .collect();
    // A scenario whose outside input is missing here says so and is left out.
    let chosen: Vec<(usize, Scenario)> = chosen
        .into_iter()
        .filter(|(_, s)| match hook_scenarios::skip_reason(s) {
            Some(why) => {
                println!("SKIP {}: {why}", s.name);
                false
            }
            None => true,
        })
        .collect();
    let unbuilt = live_scenarios::build_roots(&chosen);
    let chosen: Vec<(usize, Scenario)> = chosen
        .into_iter()
        .filter(|(_, s)| !unbuilt.iter().any(|(n, _)| *n == s.name))
        .collect();
    let work = work_dir()?;
    // Lease scenarios restart dnsmasq mid-run, so they get a lab of their own.
    let (lease, normal): (Vec<_>, Vec<_>) = chosen.into_iter().partition(|(_, s)| s.is_lease());
    // DHCPv6 scenarios get a lab whose dnsmasq hands out a stateful pool.
    let (dhcp6, normal): (Vec<_>, Vec<_>) = normal
        .into_iter()
        .partition(|(_, s)| v6_scenarios::in_dhcp6_lab(s.name));
    // The shared-root guests boot together, after the rest, in the same lab.
    let (shared, normal): (Vec<_>, Vec<_>) = normal
        .into_iter()
        .partition(|(_, s)| transport_scenarios::is_shared(s.name));
    let mut rows = Vec::new();
    if !normal.is_empty() || !shared.is_empty() {
        let both: Vec<(usize, Scenario)> = normal.iter().chain(&shared).cloned().collect();
        let prepared = prepare(&both, &work, false)?;
        rows.extend(boot_all(&prepared, &normal, a.jobs, &work));
        if !shared.is_empty() {
            rows.extend(transport_scenarios::run_shared(&work, || {
                boot_all(&prepared, &shared, shared.len(), &work)
            }));
        }
    }
    if !dhcp6.is_empty() {
        let vwork = work.join("dhcp6");
        std::fs::create_dir_all(&vwork).map_err(|e| format!("{}: {e}", vwork.display()))?;
        let prepared = prepare_with(&dhcp6, &vwork, false, &v6_scenarios::dhcp6())?;
        rows.extend(boot_all(&prepared, &dhcp6, a.jobs, &vwork));
    }
    if !lease.is_empty() {
        let lwork = work.join("lease");
        std::fs::create_dir_all(&lwork).map_err(|e| format!("{}: {e}", lwork.display()))?;
        let prepared = prepare_with(&lease, &lwork, false, &lease::dhcp())?;
        rows.extend(lease::run(&prepared.lab, &lease, || {
            boot_all(&prepared, &lease, a.jobs, &lwork)
        }));
    }
    rows.sort_by_key(|(i, _, _)| *i);
    let table: Vec<Row> = rows.iter().map(|(_, r, _)| r.clone()).collect();
    println!("\n{}", report::table(&table));
    let failed: Vec<String> = rows
        .iter()
        .filter_map(|(_, r, v)| v.as_ref().err().map(|e| format!("{}: {e}", r.0)))
        .chain(unbuilt.iter().map(|(n, e)| format!("{n}: {e}")))
        .collect();
    println!(
        "{} passed, {} failed",
        rows.len() + unbuilt.len() - failed.len(),
        failed.len()
    );
    for f in &failed {
        println!("FAILED {f}");
    }
    util::keep_or_remove(a.keep || !failed.is_empty(), &work, &work.join("logs"));
    Ok(failed.is_empty())
}

/// Boots `chosen`, `jobs` VMs at a time, and judges each.
fn boot_all(
    prepared: &Prepared,
    chosen: &[(usize, Scenario)],
    jobs: usize,
    work: &Path,
) -> Vec<Done> {
    // Longest bound first: the slow live-session boots then overlap the
    // short ones instead of running alone at the end.
    let mut queue = chosen.to_vec();
    queue.sort_by_key(|(_, s)| std::cmp::Reverse(s.timeout_secs));
    let queue = Arc::new(Mutex::new(queue));
    let rows: Arc<Mutex<Vec<Done>>> = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let (queue, rows, p) = (Arc::clone(&queue), Arc::clone(&rows), prepared);
            let work = work.to_path_buf();
            scope.spawn(move || {
                while let Some((i, s)) = queue.lock().ok().and_then(|mut q| {
                    if q.is_empty() {
                        None
                    } else {
                        Some(q.remove(0))
                    }
                }) {
                    eprintln!("netinit-lab: {} ({}) ...", s.name, s.nic_label());
                    let log = work.join("logs").join(format!("{}.console", s.name));
                    let shaper = match faults::fault_of(s.name) {
                        Some(_) => Some(faults::start(&p.lab, i, s.name)),
                        None => None,
                    };
                    let outcome = match &shaper {
                        Some(Err(e)) => Err(e.clone()),
                        _ => qemu::boot_with(
                            &p.lab,
                            &vm_nics(i, &s),
                            &start_for(p, &s, false),
                            Duration::from_secs(s.timeout_secs),
                            &log,
                            false,
                            s.console_input(),
                            &qemu::Opts {
                                mem_mib: faults::mem_mib(s.name).unwrap_or(qemu::DEFAULT_MEM_MIB),
                                ..qemu::Opts::default()
                            },
                        ),
                    };
                    if let Some(Ok(pid)) = shaper {
                        // The relay runs until the VM is gone.
                        cleanup::stop(pid);
                    }
                    let (verdict, phases, wall) = match outcome {
                        Ok(c) => (
                            scenarios::judge(&s, &c.text, c.exited),
                            report::parse(&c.text),
                            c.wall.as_secs_f64(),
                        ),
                        Err(e) => (Err(e), report::Phases::default(), 0.0),
                    };
                    let label = if verdict.is_ok() { "PASS" } else { "FAIL" };
                    match &verdict {
                        Ok(d) => eprintln!("netinit-lab: {} PASS: {d}", s.name),
                        Err(e) => eprintln!(
                            "netinit-lab: {} FAIL: {e} (console: {})",
                            s.name,
                            log.display()
                        ),
                    }
                    if let Ok(mut r) = rows.lock() {
                        r.push((
                            i,
                            (
                                s.name.to_owned(),
                                s.nic_label(),
                                label.to_owned(),
                                phases,
                                wall,
                            ),
                            verdict,
                        ));
                    }
                }
            });
        }
    });
    rows.lock()
        .map(|mut r| r.drain(..).collect())
        .unwrap_or_default()
}

fn adhoc(a: &BootArgs) -> Result<bool, String> {
    let model: &'static str = match a.nic.as_str() {
        "e1000" => "e1000",
        "e1000e" => "e1000e",
        "rtl8139" => "rtl8139",
        "virtio-net-pci" | "virtio" => "virtio-net-pci",
        other => {
            return Err(format!(
                "--nic {other}: want e1000, e1000e, rtl8139 or virtio-net-pci"
            ));
        }
    };
    let s = Scenario {
        name: "adhoc",
        what: "ad-hoc boot",
        nics: vec![scenarios::NicSpec { model, live: true }],
        pxe: false,
        cmdline: a.cmdline.clone(),
        diskless: Some("diskless".into()),
        root_path: None,
        expect: Expect::Pass { lab: vec![] },
        timeout_secs: 600,
        initrd: Initrd::Netinit,
    };
    let work = work_dir()?;
    let chosen = vec![(0, s.clone())];
    let p = prepare(&chosen, &work, false)?;
    eprintln!(
        "netinit-lab: exports: /export/casper /export/live /export/linomad /export/diskless on 10.77.0.1; Ctrl-A X quits"
    );
    let start = Start::Direct {
        vmlinux: p.kernel.vmlinux.clone(),
        initrd: p.initrd.clone(),
        cmdline: format!("console=ttyS0 panic=-1 printk.time=1 {}", a.cmdline),
    };
    qemu::boot(
        &p.lab,
        &vm_nics(0, &s),
        &start,
        Duration::from_secs(s.timeout_secs),
        &work.join("adhoc.console"),
        true,
        &[],
    )?;
    eprintln!("netinit-lab: logs in {}", work.join("logs").display());
    Ok(true)
}

fn demo() -> Result<bool, String> {
    let s = scenarios::all()
        .into_iter()
        .find(|s| s.name == "pxe-casper-e1000")
        .ok_or("no demo scenario")?;
    let work = work_dir()?;
    let chosen = vec![(0, s.clone())];
    let p = prepare(&chosen, &work, true)?;
    eprintln!(
        "netinit-lab: PXE boot: iPXE -> pxelinux.0 -> Debian kernel + netinit initrd -> casper live root over NFS. Ctrl-A X quits QEMU."
    );
    qemu::boot(
        &p.lab,
        &vm_nics(0, &s),
        &Start::Pxe,
        Duration::from_secs(3600),
        &work.join("demo.console"),
        true,
        &[],
    )?;
    Ok(true)
}
