//! `netinit-lab bench` (issue 8): netinit against Debian live-boot and
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
use crate::util::{run, workspace};

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
}

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
        }
    }
    s
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
fn render(contenders: &[Contender], samples: &[Vec<Sample>]) -> String {
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
    for (c, s) in contenders.iter().zip(samples).skip(1) {
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
    out.push_str(&verdicts(contenders, samples));
    out
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

/// The targets, each met or not; where one is missed, the
/// costliest netinit step (kernel → /init is the kernel's, not ours).
fn verdicts(contenders: &[Contender], samples: &[Vec<Sample>]) -> String {
    let (Some(ours), Some(c0)) = (samples.first(), contenders.first()) else {
        return String::new();
    };
    let mut out = String::from("\nTargets:\n");
    let mut missed = false;
    for (c, s) in contenders.iter().zip(samples).skip(1) {
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

/// Builds (or finds cached) the peers' initrds; returns their directory.
fn peers() -> Result<PathBuf, String> {
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
    let peer_dir = peers()?;
    let work = crate::work_dir()?;
    let chosen = vec![(0, scenario.clone())];
    let p = crate::prepare(&chosen, &work, false)?;
    let base = "console=ttyS0 panic=-1 printk.time=1";
    // live-boot and netinit read the same words; dracut has its own.
    let live = format!("boot=live netboot=nfs nfsroot={SERVER}:/export/live ip=dhcp");
    let contenders = vec![
        Contender {
            name: "netinit",
            initrd: p.initrd.clone(),
            cmdline: crate::full_cmdline(&scenario, false),
            size: sizes(&p.initrd)?,
        },
        Contender {
            name: "live-boot",
            initrd: peer_dir.join("live-boot.img"),
            cmdline: format!("{base} {live}"),
            size: sizes(&peer_dir.join("live-boot.img"))?,
        },
        Contender {
            name: "dracut",
            initrd: peer_dir.join("dracut.img"),
            cmdline: format!(
                "{base} root=live:nfs://{SERVER}/export/live/live/filesystem.squashfs rd.live.image rd.live.overlay.overlayfs=1 ip=dhcp rd.neednet=1 rd.shell=0"
            ),
            size: sizes(&peer_dir.join("dracut.img"))?,
        },
    ];
    for name in &a.only {
        if !contenders.iter().any(|c| c.name == name) {
            return Err(format!(
                "--only {name}: no such initrd (netinit, live-boot or dracut)"
            ));
        }
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
    let nics = crate::vm_nics(0, &scenario);
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
    let logs = work.join("logs");
    for round in 1..=a.boots.max(1) {
        for (c, got) in contenders.iter().zip(samples.iter_mut()) {
            let log = logs.join(format!("bench-{}-{round}.console", c.name));
            let start = Start::Direct {
                vmlinux: p.kernel.vmlinux.clone(),
                initrd: c.initrd.clone(),
                cmdline: c.cmdline.clone(),
            };
            let console = qemu::boot(
                &p.lab,
                &nics,
                &start,
                Duration::from_secs(300),
                &log,
                false,
                &[],
            )?;
            let s = measure(&console.text, console.wall.as_secs_f64());
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
    println!("- peer initrds: {}\n", peer_dir.display());
    print!("{}", render(&contenders, &samples));
    let ok = samples
        .iter()
        .all(|s| s.iter().all(|x| x.to_root().is_some()));
    if a.keep || !ok {
        println!("\nlogs: {}", logs.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
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
        let md = render(&contenders, &samples);
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
        let md2 = render(&contenders[..2], &[samples[0].clone(), vec![stalled]]);
        assert!(
            md2.contains("live-boot: met (20.0×; 4.8× to the exec of the root's init, below 10×)"),
            "{md2}"
        );
        assert!(md2.contains("costliest step is nfs"), "{md2}");
        assert!(md.contains("peak RSS at most 8 MiB: met (812 kB)"), "{md}");
        assert!(md.contains("costliest step is nfs (600 ms median)"), "{md}");
        // One peer alone (--only live-boot): its row, no ratios or targets.
        let alone = render(&contenders[1..2], &samples[1..2]);
        assert!(alone.contains("| live-boot | 1/1 | 26.00 s"), "{alone}");
        assert!(
            !alone.contains("faster") && !alone.contains("Targets"),
            "{alone}"
        );
    }
}
