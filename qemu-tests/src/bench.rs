//! `netinit-lab bench`: netinit against Debian live-boot and
//! dracut, on the same Debian kernel, the same squashfs over the same NFS
//! export, the same virtio-net NIC, each with its own cmdline dialect.
//! Boots are interleaved (A B C A B C …) so drift hits all three alike.
//!
//! The number that matters is the time from the kernel's "Run /init as
//! init process" line to the switched root's first words (its init prints
//! `/proc/uptime` first thing): both are on the kernel's clock, so QEMU's
//! start-up and the kernel's own boot cancel out.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use argh::FromArgs;

use crate::lab::SERVER;
use crate::qemu::{self, Start};
use crate::report::{self, Phases};
use crate::util::{build_static, keep_or_remove, run, workspace};

/// Benchmark netinit against Debian live-boot and dracut (builds the peers' initrds once, cached).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "bench")]
pub struct BenchArgs {
    /// boots per initrd (default 5), interleaved A B C A B C …
    #[argh(option, default = "5")]
    boots: usize,
    /// keep the work directory (every console log) after the run
    #[argh(switch)]
    keep: bool,
    /// boot only this initrd (netinit, live-boot or dracut; repeatable), for
    /// looking into one of them; ratios need netinit and a peer
    #[argh(option)]
    only: Vec<String>,
    /// extra kernel cmdline words for every boot, e.g. tracing options
    #[argh(option, default = "String::new()")]
    append: String,
    /// guest CPUs (-smp, default 1)
    #[argh(option, default = "1")]
    smp: u32,
    /// start every NIC without carrier and give it carrier this many
    /// seconds after /init starts (a slow switch port), e.g. 2
    #[argh(option)]
    carrier_delay: Option<f64>,
}

/// The floor: netinit's initrd with a minimal /init that replays netinit's
/// module loads and mounts in sequence (`qemu-tests/floor`).
const FLOOR: &str = "floor";
/// The floor's fixed address: below the lab's DHCP range, unused by the lab.
const FLOOR_ADDR: &str = "10.77.0.99/24";

/// One initrd under test and how it is told where the root is.
#[derive(Debug, Clone)]
struct Contender {
    name: &'static str,
    initrd: PathBuf,
    cmdline: String,
    /// Compressed and uncompressed bytes.
    size: (u64, u64),
}

/// What one boot's console shows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sample {
    /// Kernel timestamp of "Run /init as init process".
    pub init_at: Option<f64>,
    /// Kernel timestamp of the exec of the root's /sbin/init: the Debian
    /// kernel's TOMOYO prints one line on the first exec of /sbin/init,
    /// whichever initrd does it.
    pub exec_at: Option<f64>,
    /// The switched root's `NETINIT-MARK uptime=`.
    pub mark: Option<f64>,
    /// netinit's peak RSS, logged just before exec.
    pub hwm_kib: Option<u64>,
    /// netinit's own per-step times.
    pub phases: Phases,
    /// Modules netinit loaded, in its log's order (for the floor).
    pub modules: Vec<String>,
    /// QEMU's wall time, seconds.
    pub wall: f64,
}

impl Sample {
    /// /init → the switched root's first words, in seconds.
    pub fn to_root(&self) -> Option<f64> {
        Some(self.mark? - self.init_at?)
    }

    /// /init → the exec of the root's init (the hand-off itself).
    pub fn to_exec(&self) -> Option<f64> {
        Some(self.exec_at? - self.init_at?)
    }
}

/// One number out of a boot: to the root, or to the exec.
type Measure = fn(&Sample) -> Option<f64>;

/// Printed by the kernel (TOMOYO) when /sbin/init is first executed.
const EXEC_LINE: &str = "Not activating Mandatory Access Control as /sbin/tomoyo-init";

/// `[    1.234567] rest` → 1.234567.
fn stamp(line: &str) -> Option<f64> {
    let rest = line.trim_start().strip_prefix('[')?;
    rest.split_once(']')?.0.trim().parse().ok()
}

/// Reads one console log.
pub fn measure(console: &str, wall: f64) -> Sample {
    let mut s = Sample {
        phases: report::parse(console),
        wall,
        ..Sample::default()
    };
    for line in console.lines() {
        if s.init_at.is_none() && line.contains("Run /init as init process") {
            s.init_at = stamp(line);
        } else if s.exec_at.is_none() && line.contains(EXEC_LINE) {
            s.exec_at = stamp(line);
        } else if let Some(up) = line.trim().strip_prefix("NETINIT-MARK uptime=") {
            s.mark = s.mark.or(up.trim().parse().ok());
        } else if let Some((_, kib)) = line.split_once("peak RSS (VmHWM) ") {
            s.hwm_kib = kib.trim_end_matches(" kB").trim().parse().ok();
        } else if let Some(names) = loaded_modules(line) {
            s.modules.extend(names);
        }
    }
    s
}

/// The module names a netinit log line says it loaded: coldplug rounds,
/// the background load of the root modules, and a root step's own loads.
fn loaded_modules(line: &str) -> Option<Vec<String>> {
    let (_, rest) = line.split_once("netinit: ")?;
    let list = if let Some((_, r)) = rest.split_once("came up: ") {
        r.rsplit_once(" (")?.0
    } else if let Some((_, r)) = rest.split_once(" new devices, loaded ") {
        r.split(", ").next()?
    } else {
        rest.split_once(": loaded ")?.1
    };
    if list == "nothing" || list == "nothing new" {
        return Some(Vec::new());
    }
    Some(list.split_whitespace().map(str::to_owned).collect())
}

/// Median, min and max; `None` for no values.
pub fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[0], v[n - 1]))
}

fn fmt_spread(values: &[f64], unit: &str) -> String {
    match spread(values) {
        Some((m, lo, hi)) => format!("{m:.2} {unit} ({lo:.2}–{hi:.2})"),
        None => "–".into(),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / 1_048_576.0)
}

/// One measure over every boot that has it.
fn values(samples: &[Sample], f: Measure) -> Vec<f64> {
    samples.iter().filter_map(f).collect()
}

fn median(samples: &[Sample], f: Measure) -> Option<f64> {
    spread(&values(samples, f)).map(|m| m.0)
}

/// The results, as Markdown (readable on a terminal too).
fn render(contenders: &[Contender], samples: &[Vec<Sample>], carrier_delay: Option<f64>) -> String {
    let mut out = String::from(
        "| initrd | boots ok | /init → switched root: median (min–max) | /init → exec of its init | QEMU wall: median (min–max) | initrd compressed | uncompressed | peak RSS |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (c, s) in contenders.iter().zip(samples) {
        let ok = values(s, Sample::to_root);
        let walls: Vec<f64> = s
            .iter()
            .filter(|x| x.to_root().is_some())
            .map(|x| x.wall)
            .collect();
        let hwm = s.iter().filter_map(|x| x.hwm_kib).max();
        let execs = values(s, Sample::to_exec);
        out.push_str(&format!(
            "| {} | {}/{} | {} | {} | {} | {} | {} | {} |\n",
            c.name,
            ok.len(),
            s.len(),
            fmt_spread(&ok, "s"),
            fmt_spread(&execs, "s"),
            fmt_spread(&walls, "s"),
            mib(c.size.0),
            mib(c.size.1),
            hwm.map_or_else(|| "–".into(), |k| format!("{:.2} MiB", k as f64 / 1024.0)),
        ));
    }
    let measures: [(Measure, &str); 2] = [
        (Sample::to_root, "to the switched root"),
        (Sample::to_exec, "to the exec of the root's init"),
    ];
    // Ratios and targets are netinit's; a peer alone (--only) gets the table.
    if contenders.first().map(|c| c.name) != Some("netinit") {
        return out;
    }
    out.push('\n');
    let Some(ours) = samples.first() else {
        return out;
    };
    for (c, s) in peers_of(contenders, samples) {
        for (f, what) in measures {
            if let (Some(ours), Some(theirs)) = (median(ours, f), median(s, f)) {
                out.push_str(&format!(
                    "- netinit/{}: {:.3} (netinit is {:.1}× faster {what})\n",
                    c.name,
                    ours / theirs,
                    theirs / ours
                ));
            }
        }
    }
    out.push_str(&verdicts(contenders, samples, carrier_delay));
    out
}

/// The peers' rows (not netinit's, not the floor's).
fn peers_of<'a>(
    contenders: &'a [Contender],
    samples: &'a [Vec<Sample>],
) -> impl Iterator<Item = (&'a Contender, &'a Vec<Sample>)> {
    contenders
        .iter()
        .zip(samples)
        .skip(1)
        .filter(|(c, _)| c.name != FLOOR)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// netinit's median per step, in boot order.
fn phase_medians(samples: &[Sample]) -> Vec<(&'static str, f64)> {
    report::PHASES
        .iter()
        .filter_map(|ph| {
            let v: Vec<f64> = samples
                .iter()
                .filter_map(|s| s.phases.ms.get(*ph).map(|&ms| ms as f64))
                .collect();
            spread(&v).map(|m| (*ph, m.0))
        })
        .collect()
}

/// The speed targets (10× and 20× the peers, within 100 ms of the
/// floor), each met or not; where one is missed, the
/// costliest netinit step (kernel → /init is the kernel's, not ours).
fn verdicts(
    contenders: &[Contender],
    samples: &[Vec<Sample>],
    carrier_delay: Option<f64>,
) -> String {
    let (Some(ours), Some(c0)) = (samples.first(), contenders.first()) else {
        return String::new();
    };
    let mut out = String::from("\nTargets:\n");
    let mut missed = false;
    for (c, s) in peers_of(contenders, samples) {
        if let (Some(o), Some(t)) = (median(ours, Sample::to_root), median(s, Sample::to_root)) {
            let ok = t >= 10.0 * o;
            missed |= !ok;
            out.push_str(&format!(
                "- at least 10× faster than {}: {} ({:.1}×",
                c.name,
                if ok { "met" } else { "MISSED" },
                t / o
            ));
            // The hand-off alone, without the root's start: a peer's stall
            // after its exec shows as a gap between the two, and a ratio
            // that only holds with the stall is not a target met.
            if let (Some(o), Some(t)) = (median(ours, Sample::to_exec), median(s, Sample::to_exec))
            {
                let ok = t >= 10.0 * o;
                missed |= !ok;
                out.push_str(&format!(
                    "; {:.1}× to the exec of the root's init{}",
                    t / o,
                    if ok { "" } else { ", below 10×" }
                ));
            }
            out.push_str(")\n");
        }
    }
    // To the exec, in one run: 10× live-boot and 20× dracut.
    for (c, s) in peers_of(contenders, samples) {
        let want = if c.name == "dracut" { 20.0 } else { 10.0 };
        if let (Some(o), Some(t)) = (median(ours, Sample::to_exec), median(s, Sample::to_exec)) {
            let ok = t >= want * o;
            missed |= !ok;
            out.push_str(&format!(
                "- to the exec, at least {want:.0}× faster than {}: {} ({:.1}×)\n",
                c.name,
                met(ok),
                t / o
            ));
        }
    }
    let floor = contenders
        .iter()
        .zip(samples)
        .find(|(c, _)| c.name == FLOOR)
        .map(|(_, s)| s);
    if let (Some(o), Some(f)) = (
        median(ours, Sample::to_exec),
        floor.and_then(|f| median(f, Sample::to_exec)),
    ) {
        let above = (o - f) * 1000.0;
        let ok = above <= 100.0;
        missed |= !ok;
        out.push_str(&format!(
            "- to the exec, at most 100 ms above the floor: {} (netinit {o:.3} s, floor {f:.3} s: {above:+.0} ms)\n",
            met(ok)
        ));
    }
    if let (Some(d), Some(o)) = (carrier_delay, median(ours, Sample::to_exec)) {
        let ok = o <= d + 0.3;
        missed |= !ok;
        out.push_str(&format!(
            "- to the exec, at most the carrier delay + 0.3 s: {} ({o:.2} s with carrier {d} s after /init; {:+.0} ms beyond the delay)\n",
            met(ok),
            (o - d) * 1000.0
        ));
    }
    if let Some(k) = ours.iter().filter_map(|s| s.hwm_kib).max() {
        let ok = k <= 8 * 1024;
        missed |= !ok;
        out.push_str(&format!(
            "- peak RSS at most 8 MiB: {} ({} kB)\n",
            if ok { "met" } else { "MISSED" },
            k
        ));
    } else {
        missed = true;
        out.push_str("- peak RSS at most 8 MiB: unknown (no VmHWM line)\n");
    }
    let ok = c0.size.0 <= 3 * 1_048_576;
    missed |= !ok;
    out.push_str(&format!(
        "- netinit initrd at most 3 MiB: {} ({})\n",
        if ok { "met" } else { "MISSED" },
        mib(c0.size.0)
    ));
    let phases = phase_medians(ours);
    out.push_str("\nnetinit's steps (median ms): ");
    let words: Vec<String> = phases
        .iter()
        .map(|(ph, ms)| {
            let name = if *ph == "init" { "kernel→init" } else { ph };
            format!("{name} {ms:.0}")
        })
        .collect();
    out.push_str(&words.join(", "));
    out.push('\n');
    if missed {
        if let Some((ph, ms)) = phases
            .iter()
            .filter(|(ph, _)| *ph != "init")
            .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            out.push_str(&format!(
                "A target is missed on one measure at least; netinit's costliest step is {ph} ({ms:.0} ms median).\n"
            ));
        }
    }
    out
}

/// The floor's script from netinit's boot: its module loads in its order
/// (paths from `modules_dep`), a static address instead of DHCP, its NFS
/// mount with its options, the loop + squashfs, tmpfs and overlay mounts.
pub fn floor_script(console: &str, kver: &str, modules_dep: &str) -> Result<String, String> {
    let sample = measure(console, 0.0);
    let paths: std::collections::BTreeMap<String, &str> = modules_dep
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(p, _)| (netinit_core::kmod::name_from_path(p), p))
        .collect();
    let mut out = String::new();
    for m in &sample.modules {
        let path = paths
            .get(m)
            .ok_or_else(|| format!("module {m} from netinit's log is not in modules.dep"))?;
        out.push_str(&format!("mod /lib/modules/{kver}/{path}\n"));
    }
    // `mounted SRC (DATA, server from …) on TARGET`
    let (src, data) = console
        .lines()
        .find_map(|l| {
            let rest = l.split_once("netinit: nfs: mounted ")?.1;
            let (src, rest) = rest.split_once(" (")?;
            Some((
                src.to_owned(),
                rest.split_once(", server from")?.0.to_owned(),
            ))
        })
        .ok_or("netinit's log has no NFS mount line")?;
    let image = console
        .lines()
        .find_map(|l| {
            let rest = l.split_once("netinit: squashfs: ")?.1;
            rest.split_once(" on /dev/loop").map(|(i, _)| i.to_owned())
        })
        .ok_or("netinit's log has no squashfs line")?;
    let (nfs, img, ovl) = (
        "/run/netinit/nfs",
        "/run/netinit/image/0",
        "/run/netinit/overlay",
    );
    out.push_str(&format!(
        "ip eth0 {FLOOR_ADDR}\n\
         mount {src} {nfs} nfs ro {data}\n\
         loop {image} {img}\n\
         mount tmpfs {ovl} tmpfs rw size=50%,mode=0755\n\
         mkdir {ovl}/upper\n\
         mkdir {ovl}/work\n\
         mount overlay /newroot overlay rw lowerdir={img},upperdir={ovl}/upper,workdir={ovl}/work\n\
         switch /newroot /sbin/init\n"
    ));
    Ok(out)
}

/// netinit's initrd with the floor's /init and script appended (the kernel
/// unpacks concatenated archives in order; later files replace earlier).
fn floor_initrd(netinit: &Path, script: &str, work: &Path) -> Result<PathBuf, String> {
    let ws = workspace();
    build_static("netinit-floor")?;
    let dir = work.join("floor-tree");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bin = ws.join("target/x86_64-unknown-linux-musl/release/netinit-floor");
    std::fs::copy(&bin, dir.join("init")).map_err(|e| format!("{}: {e}", bin.display()))?;
    std::fs::write(dir.join("floor.conf"), script).map_err(|e| e.to_string())?;
    let cpio = work.join("floor.cpio");
    run(Command::new("sh")
        .arg("-c")
        .arg("cd \"$1\" && printf 'init\\nfloor.conf\\n' | cpio -o -H newc -R 0:0 --quiet > \"$2\"")
        .arg("floor-cpio")
        .arg(&dir)
        .arg(&cpio))?;
    let mut img = std::fs::read(netinit).map_err(|e| format!("{}: {e}", netinit.display()))?;
    // The kernel looks for the next archive's header at a 4-byte boundary.
    img.resize(img.len().next_multiple_of(4), 0);
    img.extend(std::fs::read(&cpio).map_err(|e| format!("{}: {e}", cpio.display()))?);
    let out = work.join("floor.img");
    std::fs::write(&out, img).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// Builds (or finds cached) the peers' initrds; returns their directory.
pub fn peers() -> Result<PathBuf, String> {
    let script = workspace().join("qemu-tests/debian/peers.sh");
    eprintln!("netinit-lab: peer initrds ({})", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed", script.display()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let dir = text
        .lines()
        .last()
        .map(PathBuf::from)
        .ok_or("peers.sh printed no directory")?;
    for f in ["live-boot.img", "dracut.img"] {
        if !dir.join(f).is_file() {
            return Err(format!("{} has no {f}", dir.display()));
        }
    }
    Ok(dir)
}

/// Compressed and uncompressed size, by the same reader for all three.
fn sizes(initrd: &Path) -> Result<(u64, u64), String> {
    let common = workspace().join("qemu-tests/debian/common.sh");
    let out = run(Command::new("bash")
        .arg("-c")
        .arg(". \"$1\"; initrd_sizes \"$2\"")
        .arg("sizes")
        .arg(&common)
        .arg(initrd))?;
    let mut it = out.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next()) {
        (Some(Ok(c)), Some(Ok(u))) => Ok((c, u)),
        _ => Err(format!("initrd_sizes {}: {out}", initrd.display())),
    }
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

pub fn bench(a: &BenchArgs) -> Result<bool, String> {
    let scenario = crate::scenarios::all()
        .into_iter()
        .find(|s| s.name == "live-boot-virtio")
        .ok_or("no live-boot-virtio scenario to borrow the NIC and export from")?;
    const NAMES: [&str; 4] = ["netinit", FLOOR, "live-boot", "dracut"];
    for name in &a.only {
        if !NAMES.contains(&name.as_str()) {
            return Err(format!(
                "--only {name}: no such initrd (netinit, floor, live-boot or dracut)"
            ));
        }
    }
    let chosen = |name: &str| a.only.is_empty() || a.only.iter().any(|n| n == name);
    if chosen(FLOOR) && !chosen("netinit") {
        return Err("--only floor needs --only netinit too: the floor replays its boot".into());
    }
    // Built (about 8 minutes) only when a peer is to boot.
    let peer_dir = if chosen("live-boot") || chosen("dracut") {
        Some(peers()?)
    } else {
        None
    };
    let work = crate::work_dir()?;
    let chosen_scenario = vec![(0, scenario.clone())];
    let p = crate::prepare(&chosen_scenario, &work, false)?;
    let base = "console=ttyS0 panic=-1 printk.time=1";
    // live-boot and netinit read the same words; dracut has its own.
    let live = format!("boot=live netboot=nfs nfsroot={SERVER}:/export/live ip=dhcp");
    let mut contenders = vec![
        Contender {
            name: "netinit",
            initrd: p.initrd.clone(),
            cmdline: crate::full_cmdline(&scenario, false),
            size: sizes(&p.initrd)?,
        },
        // Its initrd is made from netinit's first boot (see below).
        Contender {
            name: FLOOR,
            initrd: work.join("floor.img"),
            cmdline: crate::full_cmdline(&scenario, false),
            size: (0, 0),
        },
    ];
    if let Some(dir) = &peer_dir {
        contenders.push(Contender {
            name: "live-boot",
            initrd: dir.join("live-boot.img"),
            cmdline: format!("{base} {live}"),
            size: sizes(&dir.join("live-boot.img"))?,
        });
        contenders.push(Contender {
            name: "dracut",
            initrd: dir.join("dracut.img"),
            cmdline: format!(
                "{base} root=live:nfs://{SERVER}/export/live/live/filesystem.squashfs rd.live.image rd.live.overlay.overlayfs=1 ip=dhcp rd.neednet=1 rd.shell=0"
            ),
            size: sizes(&dir.join("dracut.img"))?,
        });
    }
    let contenders: Vec<Contender> = contenders
        .into_iter()
        .filter(|c| a.only.is_empty() || a.only.iter().any(|n| n == c.name))
        .map(|mut c| {
            if !a.append.is_empty() {
                c.cmdline = format!("{} {}", c.cmdline, a.append);
            }
            c
        })
        .collect();
    let mut contenders = contenders;
    let nics = crate::vm_nics(0, &scenario);
    let opts = qemu::Opts {
        smp: a.smp,
        mem_mib: qemu::DEFAULT_MEM_MIB,
        carrier_after: a.carrier_delay.map(|d| {
            (
                "Run /init as init process",
                Duration::from_secs_f64(d.max(0.0)),
            )
        }),
    };
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
    let logs = work.join("logs");
    let mut floor_ready = false;
    for round in 1..=a.boots.max(1) {
        for (c, got) in contenders.iter_mut().zip(samples.iter_mut()) {
            if c.name == FLOOR && !floor_ready {
                eprintln!("netinit-lab: bench: no floor without a netinit boot to replay");
                got.push(Sample::default());
                continue;
            }
            let log = logs.join(format!("bench-{}-{round}.console", c.name));
            let start = Start::Direct {
                vmlinux: p.kernel.vmlinux.clone(),
                initrd: c.initrd.clone(),
                cmdline: c.cmdline.clone(),
            };
            let console = qemu::boot_with(
                &p.lab,
                &nics,
                &start,
                Duration::from_secs(300),
                &log,
                false,
                &[],
                &opts,
            )?;
            let s = measure(&console.text, console.wall.as_secs_f64());
            if c.name == "netinit" && !floor_ready && s.to_exec().is_some() {
                let dep = p
                    .kernel
                    .tree
                    .join("lib/modules")
                    .join(&p.kernel.kver)
                    .join("modules.dep");
                let dep =
                    std::fs::read_to_string(&dep).map_err(|e| format!("{}: {e}", dep.display()))?;
                let script = floor_script(&console.text, &p.kernel.kver, &dep)?;
                floor_initrd(&p.initrd, &script, &work)?;
                floor_ready = true;
            }
            match s.to_root() {
                Some(t) => eprintln!(
                    "netinit-lab: bench {round}/{} {}: /init → root {t:.2} s, wall {:.1} s",
                    a.boots, c.name, s.wall
                ),
                None => eprintln!(
                    "netinit-lab: bench {round}/{} {}: no marker (console: {})",
                    a.boots,
                    c.name,
                    log.display()
                ),
            }
            got.push(s);
        }
    }
    drop(p);
    if let Some(c) = contenders.iter_mut().find(|c| c.name == FLOOR) {
        c.size = sizes(&c.initrd).unwrap_or((0, 0));
    }
    let date = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let args: Vec<String> = std::env::args().collect();
    println!("\n## {date}\n");
    println!(
        "Command: `{}` (on {} cores, QEMU TCG, {})\n",
        args.join(" "),
        first_line("nproc", &[]),
        first_line("qemu-system-x86_64", &["--version"])
    );
    for c in &contenders {
        println!("- {}: `{}`", c.name, c.cmdline);
    }
    if let Some(dir) = &peer_dir {
        println!("- peer initrds: {}", dir.display());
    }
    println!(
        "- guest: {} vCPU{}{}\n",
        a.smp,
        if a.smp == 1 { "" } else { "s" },
        a.carrier_delay
            .map(|d| format!(", carrier {d} s after /init starts"))
            .unwrap_or_default()
    );
    print!("{}", render(&contenders, &samples, a.carrier_delay));
    let ok = samples
        .iter()
        .all(|s| s.iter().all(|x| x.to_root().is_some()));
    keep_or_remove(a.keep || !ok, &work, &logs);
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETINIT: &str = "\
[    1.500000] Run /init as init process
[    1.600000] netinit: init: netinit 0.1.0 started at 1.59 s
[    1.900000] netinit: modules: done in 300 ms
[    2.000000] netinit: dhcp: done in 50 ms
[    2.600000] netinit: nfs: done in 600 ms
[    2.700000] netinit: switch_root: peak RSS (VmHWM) 812 kB
[    2.700100] netinit: switch_root: exec /sbin/init
[    2.750000] Not activating Mandatory Access Control as /sbin/tomoyo-init does not exist.
NETINIT-MARK uptime=2.80
";

    #[test]
    fn measures_a_console() {
        let s = measure(NETINIT, 4.5);
        assert_eq!(s.init_at, Some(1.5));
        assert_eq!(s.mark, Some(2.8));
        assert_eq!(s.hwm_kib, Some(812));
        assert!((s.to_root().unwrap() - 1.3).abs() < 1e-9);
        assert!((s.to_exec().unwrap() - 1.25).abs() < 1e-9);
        assert_eq!(s.phases.ms["nfs"], 600);
        // A peer: no netinit lines, no RSS; a failed boot: no marker.
        let peer = measure(
            "[ 1.25] Run /init as init process\nNETINIT-MARK uptime=20.25\n",
            30.0,
        );
        assert_eq!(peer.to_root(), Some(19.0));
        assert_eq!(peer.hwm_kib, None);
        assert_eq!(
            measure("[ 1.0] Run /init as init process\n", 1.0).to_root(),
            None
        );
    }

    #[test]
    fn spreads() {
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]), Some((2.5, 1.0, 4.0)));
        assert_eq!(spread(&[f64::NAN, 1.0]), Some((1.0, 1.0, 1.0)));
    }

    #[test]
    fn renders_ratios_and_targets() {
        let c = |name, size| Contender {
            name,
            initrd: PathBuf::new(),
            cmdline: String::new(),
            size,
        };
        let contenders = vec![
            c("netinit", (2_000_000, 5_000_000)),
            c("live-boot", (30_000_000, 60_000_000)),
            c("dracut", (20_000_000, 50_000_000)),
        ];
        let ours = measure(NETINIT, 4.0);
        let peer = |t: f64| Sample {
            init_at: Some(1.0),
            exec_at: Some(1.0 + t / 2.0),
            mark: Some(1.0 + t),
            wall: t + 3.0,
            ..Sample::default()
        };
        let samples = vec![vec![ours.clone(), ours], vec![peer(26.0)], vec![peer(6.5)]];
        let md = render(&contenders, &samples, None);
        assert!(
            md.contains("| netinit | 2/2 | 1.30 s (1.30–1.30) | 1.25 s (1.25–1.25) |"),
            "{md}"
        );
        assert!(md.contains("| 0.79 MiB |"), "{md}");
        assert!(
            md.contains("netinit/live-boot: 0.050 (netinit is 20.0× faster to the switched root)")
                && md.contains(
                    "netinit/live-boot: 0.096 (netinit is 10.4× faster to the exec of the root's init)"
                ),
            "{md}"
        );
        assert!(
            md.contains(
                "10× faster than live-boot: met (20.0×; 10.4× to the exec of the root's init)"
            ),
            "{md}"
        );
        assert!(md.contains("10× faster than dracut: MISSED (5.0×;"), "{md}");
        // Met to the root only because of a stall after the exec: flagged.
        let stalled = Sample {
            exec_at: Some(1.0 + 6.0),
            ..peer(26.0)
        };
        let md2 = render(&contenders[..2], &[samples[0].clone(), vec![stalled]], None);
        assert!(
            md2.contains("live-boot: met (20.0×; 4.8× to the exec of the root's init, below 10×)"),
            "{md2}"
        );
        assert!(md2.contains("costliest step is nfs"), "{md2}");
        assert!(md.contains("peak RSS at most 8 MiB: met (812 kB)"), "{md}");
        assert!(md.contains("costliest step is nfs (600 ms median)"), "{md}");
        // One peer alone (--only live-boot): its row, no ratios or targets.
        let alone = render(&contenders[1..2], &samples[1..2], None);
        assert!(alone.contains("| live-boot | 1/1 | 26.00 s"), "{alone}");
        assert!(
            !alone.contains("faster") && !alone.contains("Targets"),
            "{alone}"
        );
    }

    #[test]
    fn the_floor_replays_netinits_loads_and_mounts() {
        let console = "\
[    3.4] netinit: modules: round 1: 28 new devices, loaded virtio_ring virtio_pci, 1 failed so far
[    3.5] netinit: modules: round 2: 1 new devices, loaded nothing
[    4.9] netinit: nfs: loaded in the background while the network came up: sunrpc nfs loop (1309 ms)
[    5.2] netinit: nfs: mounted 10.77.0.1:/export/live (vers=3,proto=tcp,nolock,addr=10.77.0.1, server from cmdline) on /run/netinit/nfs
[    5.3] netinit: squashfs: loaded squashfs
[    5.3] netinit: squashfs: /run/netinit/nfs/live/filesystem.squashfs on /dev/loop0 at /run/netinit/image/0
";
        let dep = "kernel/drivers/virtio/virtio_ring.ko:\nkernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko\nkernel/net/sunrpc/sunrpc.ko:\nkernel/fs/nfs/nfs.ko: kernel/net/sunrpc/sunrpc.ko\nkernel/drivers/block/loop.ko:\nkernel/fs/squashfs/squashfs.ko:\n";
        let script = floor_script(console, "6.1.0-x", dep).unwrap();
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(
            lines[..6],
            [
                "mod /lib/modules/6.1.0-x/kernel/drivers/virtio/virtio_ring.ko",
                "mod /lib/modules/6.1.0-x/kernel/drivers/virtio/virtio_pci.ko",
                "mod /lib/modules/6.1.0-x/kernel/net/sunrpc/sunrpc.ko",
                "mod /lib/modules/6.1.0-x/kernel/fs/nfs/nfs.ko",
                "mod /lib/modules/6.1.0-x/kernel/drivers/block/loop.ko",
                "mod /lib/modules/6.1.0-x/kernel/fs/squashfs/squashfs.ko",
            ]
        );
        assert_eq!(lines[6], "ip eth0 10.77.0.99/24");
        assert_eq!(
            lines[7],
            "mount 10.77.0.1:/export/live /run/netinit/nfs nfs ro vers=3,proto=tcp,nolock,addr=10.77.0.1"
        );
        assert_eq!(
            lines[8],
            "loop /run/netinit/nfs/live/filesystem.squashfs /run/netinit/image/0"
        );
        assert_eq!(lines.last(), Some(&"switch /newroot /sbin/init"));
        // A module the kernel's index doesn't know is an error, not a skip.
        assert!(floor_script(console, "6.1.0-x", "").is_err());
    }

    #[test]
    fn floor_and_carrier_verdicts() {
        let c = |name| Contender {
            name,
            initrd: PathBuf::new(),
            cmdline: String::new(),
            size: (1, 1),
        };
        let at = |exec: f64| Sample {
            init_at: Some(1.0),
            exec_at: Some(1.0 + exec),
            mark: Some(1.5 + exec),
            ..Sample::default()
        };
        let md = render(
            &[c("netinit"), c(FLOOR), c("live-boot"), c("dracut")],
            &[
                vec![at(2.25)],
                vec![at(2.2)],
                vec![at(30.0)],
                vec![at(40.0)],
            ],
            Some(2.0),
        );
        assert!(
            md.contains(
                "at most 100 ms above the floor: met (netinit 2.250 s, floor 2.200 s: +50 ms)"
            ),
            "{md}"
        );
        assert!(
            md.contains("carrier delay + 0.3 s: met (2.25 s with carrier 2 s after /init; +250 ms"),
            "{md}"
        );
        assert!(
            md.contains("at least 10× faster than live-boot: met (13.3×)"),
            "{md}"
        );
        assert!(
            md.contains("at least 20× faster than dracut: MISSED (17.8×)"),
            "{md}"
        );
        // The floor is no peer: no ratio against it.
        assert!(!md.contains("netinit/floor"), "{md}");
    }
}
