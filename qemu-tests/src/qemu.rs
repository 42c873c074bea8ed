//! Booting one VM under TCG and reading its serial console.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cleanup;
use crate::lab::Lab;

/// A NIC: QEMU model, MAC, and the tap it plugs into.
#[derive(Debug, Clone)]
pub struct Nic {
    pub model: &'static str,
    pub mac: String,
    pub tap: String,
    /// Instead of the tap: a UDP socket netdev on 127.0.0.1 (listen,
    /// send-to) with the fault matrix's relay between it and the tap.
    pub udp: Option<(u16, u16)>,
    /// Not present at power-on: hot-added (QMP `device_add`) this long
    /// after netinit's first console line.
    pub hotplug_after: Option<Duration>,
    /// Carrier off/on (QMP `set_link`) at these times after netinit's
    /// first console line.
    pub set_link: Vec<(Duration, bool)>,
    /// Carrier off (QMP `set_link`) once the console shows this line.
    pub off_when: Option<&'static str>,
}

/// How the VM starts: direct `-kernel` (the vmlinux, PVH entry) or PXE.
#[derive(Debug, Clone)]
pub enum Start {
    Direct {
        vmlinux: PathBuf,
        initrd: PathBuf,
        cmdline: String,
    },
    Pxe,
    /// A distribution's kernel (bzImage) and initrd, with an optional
    /// virtio-blk disk (raw image).
    Installed {
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: String,
        disk: Option<PathBuf>,
    },
    /// OVMF with this VM's variable store; `http`: OVMF's own network
    /// stack (no NIC ROM) with PXE disabled, so it falls to HTTP boot.
    Uefi {
        vars: PathBuf,
        http: bool,
    },
}

#[derive(Debug)]
pub struct Console {
    pub text: String,
    pub wall: Duration,
    /// False when the hard timeout killed QEMU.
    pub exited: bool,
}

/// Guest RAM unless a scenario says otherwise: room for `toram` copies
/// and the overlay's tmpfs of the lab's images.
pub const DEFAULT_MEM_MIB: u32 = 768;

/// What the benchmark or a scenario varies about a VM.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Guest CPUs (`-smp`).
    pub smp: u32,
    /// Guest RAM in MiB (`-m`).
    pub mem_mib: u32,
    /// Every NIC starts without carrier and gets it this long after the
    /// console shows the trigger line (QEMU monitor `set_link`), like a
    /// switch port that is slow to come up.
    pub carrier_after: Option<(&'static str, Duration)>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            smp: 1,
            mem_mib: DEFAULT_MEM_MIB,
            carrier_after: None,
        }
    }
}

/// Boots a guest: the common case of [`boot_with`], whose signature is
/// this one plus the rarer options.
pub fn boot(
    lab: &Lab,
    nics: &[Nic],
    start: &Start,
    timeout: Duration,
    log: &Path,
    interactive: bool,
    input: &[(&str, &str)],
) -> Result<Console, String> {
    boot_with(
        lab,
        nics,
        start,
        timeout,
        log,
        interactive,
        input,
        &Opts::default(),
    )
}

/// The monitor socket, and the instant the links go up.
struct LinkDelay {
    /// Kept open until QEMU exits: QEMU may drop what a closed client sent.
    monitor: std::os::unix::net::UnixStream,
    trigger: &'static str,
    delay: Duration,
    at: Option<Instant>,
    links: usize,
    done: bool,
}

impl LinkDelay {
    fn send(&mut self, what: &str) -> Result<(), String> {
        let cmds: String = (0..self.links)
            .map(|i| format!("set_link n{i} {what}\n"))
            .collect();
        self.monitor
            .write_all(cmds.as_bytes())
            .map_err(|e| format!("QEMU monitor: {e}"))
    }
}

/// QEMU creates the socket shortly after it starts.
fn connect_monitor(path: &Path) -> Result<std::os::unix::net::UnixStream, String> {
    let start = Instant::now();
    loop {
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(s) => return Ok(s),
            Err(e) if start.elapsed() > Duration::from_secs(10) => {
                return Err(format!("QEMU monitor {}: {e}", path.display()));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn boot_with(
    lab: &Lab,
    nics: &[Nic],
    start: &Start,
    timeout: Duration,
    log: &Path,
    interactive: bool,
    input: &[(&str, &str)],
    opts: &Opts,
) -> Result<Console, String> {
    let mut cmd = lab.in_ns("qemu-system-x86_64");
    let smp = opts.smp.max(1).to_string();
    let mem = opts.mem_mib.to_string();
    cmd.args([
        "-accel",
        "tcg",
        "-m",
        &mem,
        "-smp",
        &smp,
        "-nodefaults",
        "-no-reboot",
        "-display",
        "none",
    ]);
    let monitor_path = log.with_extension("monitor");
    if opts.carrier_after.is_some() {
        // Paused (-S) until the links are set down through the monitor.
        let _ = std::fs::remove_file(&monitor_path);
        cmd.arg("-S").arg("-monitor").arg(format!(
            "unix:{},server=on,wait=off",
            monitor_path.display()
        ));
    } else {
        cmd.args(["-monitor", "none"]);
    }
    cmd.args(["-serial", if interactive { "mon:stdio" } else { "stdio" }]);
    let no_rom = matches!(start, Start::Uefi { http: true, .. });
    for (i, n) in nics.iter().enumerate() {
        cmd.arg("-netdev").arg(match n.udp {
            Some((listen, peer)) => {
                format!("socket,id=n{i},udp=127.0.0.1:{peer},localaddr=127.0.0.1:{listen}")
            }
            None => format!("tap,id=n{i},ifname={},script=no,downscript=no", n.tap),
        });
        if n.hotplug_after.is_none() {
            cmd.arg("-device").arg(format!(
                "{},netdev=n{i},mac={}{}",
                n.model,
                n.mac,
                if no_rom { ",romfile=" } else { "" }
            ));
        }
    }
    // A QMP socket when a NIC is hot-added later.
    let qmp = log.with_extension("qmp");
    let mut hotplug: Vec<(Duration, String)> = Vec::new();
    for (i, n) in nics.iter().enumerate() {
        if let Some(after) = n.hotplug_after {
            hotplug.push((
                after,
                format!(
                    "{{\"execute\":\"device_add\",\"arguments\":{{\"driver\":\"{}\",\"netdev\":\"n{i}\",\"mac\":\"{}\",\"id\":\"hot{i}\"}}}}",
                    n.model, n.mac
                ),
            ));
        }
        for (after, up) in &n.set_link {
            hotplug.push((
                *after,
                format!(
                    "{{\"execute\":\"set_link\",\"arguments\":{{\"name\":\"n{i}\",\"up\":{up}}}}}"
                ),
            ));
        }
    }
    let mut off_when: Vec<(usize, &'static str)> = nics
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.off_when.map(|t| (i, t)))
        .collect();
    if !hotplug.is_empty() || !off_when.is_empty() {
        cmd.arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp.display()));
    }
    let mut hotplug = hotplug.into_iter();
    match start {
        Start::Direct {
            vmlinux,
            initrd,
            cmdline,
        } => {
            cmd.arg("-kernel")
                .arg(vmlinux)
                .arg("-initrd")
                .arg(initrd)
                .arg("-append")
                .arg(cmdline);
        }
        Start::Pxe => {
            cmd.args(["-boot", "n"]);
        }
        Start::Installed {
            kernel,
            initrd,
            cmdline,
            disk,
        } => {
            cmd.arg("-kernel")
                .arg(kernel)
                .arg("-initrd")
                .arg(initrd)
                .arg("-append")
                .arg(cmdline);
            if let Some(d) = disk {
                cmd.arg("-drive")
                    .arg(format!("file={},format=raw,if=virtio", d.display()));
            }
        }
        Start::Uefi { vars, http } => {
            cmd.arg("-drive").arg(format!(
                "if=pflash,format=raw,readonly=on,file={}",
                crate::uefi::OVMF_CODE
            ));
            cmd.arg("-drive")
                .arg(format!("if=pflash,format=raw,file={}", vars.display()));
            if *http {
                for v in ["IPv4PXESupport", "IPv6PXESupport"] {
                    cmd.arg("-fw_cfg")
                        .arg(format!("name=opt/org.tianocore/{v},string=n"));
                }
            }
        }
    }
    let begun = Instant::now();
    if interactive {
        let status = cmd
            .status()
            .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        return Ok(Console {
            text: String::new(),
            wall: begun.elapsed(),
            exited: status.code().is_some(),
        });
    }
    let mut child = cmd
        .stdin(if input.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
    cleanup::track_pid(child.id(), "qemu");
    let mut link_delay = match opts.carrier_after {
        Some((trigger, delay)) => {
            let monitor = connect_monitor(&monitor_path)?;
            // Drain the monitor's replies so it never blocks writing them.
            if let Ok(mut replies) = monitor.try_clone() {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut replies, &mut std::io::sink());
                });
            }
            let mut d = LinkDelay {
                monitor,
                trigger,
                delay,
                at: None,
                links: nics.len(),
                done: false,
            };
            d.send("off")?;
            d.monitor
                .write_all(b"cont\n")
                .map_err(|e| format!("QEMU monitor: {e}"))?;
            Some(d)
        }
        None => None,
    };
    let out = child.stdout.take().ok_or("qemu has no stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut text = String::new();
    // Typed on the serial console, each once its trigger line is seen, in order.
    let mut stdin = child.stdin.take();
    let mut script = input.iter();
    let mut next = script.next();
    let deadline = begun + timeout;
    let exited = loop {
        let mut left = deadline.saturating_duration_since(Instant::now());
        if let Some(d) = link_delay.as_mut().filter(|d| !d.done) {
            if let Some(at) = d.at {
                let until = at.saturating_duration_since(Instant::now());
                if until.is_zero() {
                    d.send("on")?;
                    d.done = true;
                    text.push_str("NETINIT-LAB carrier on\n");
                    let _ = writeln!(file, "NETINIT-LAB carrier on");
                    continue;
                }
                left = left.min(until);
            }
        }
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(d) = link_delay.as_mut() {
                    if d.at.is_none() && line.contains(d.trigger) {
                        d.at = Some(Instant::now() + d.delay);
                    }
                }
                // Serial output has CRs and sometimes escape codes from the firmware.
                let clean: String = line
                    .chars()
                    .filter(|c| *c != '\r' && *c != '\u{1b}')
                    .collect();
                let _ = writeln!(file, "{clean}");
                if clean.contains("netinit: init:") {
                    for (after, command) in hotplug.by_ref() {
                        let path = qmp.clone();
                        std::thread::spawn(move || {
                            std::thread::sleep(after);
                            if let Err(e) = qmp_command(&path, &command) {
                                eprintln!("netinit-lab: QMP {command}: {e}");
                            }
                        });
                    }
                }
                off_when.retain(|(i, trigger)| {
                    if !clean.contains(trigger) {
                        return true;
                    }
                    let command = format!(
                        "{{\"execute\":\"set_link\",\"arguments\":{{\"name\":\"n{i}\",\"up\":false}}}}"
                    );
                    match qmp_command(&qmp, &command) {
                        Ok(()) => {
                            let _ = writeln!(file, "NETINIT-LAB n{i} carrier off");
                        }
                        Err(e) => eprintln!("netinit-lab: QMP {command}: {e}"),
                    }
                    false
                });
                if let (Some((trigger, keys)), Some(w)) = (next, stdin.as_mut()) {
                    if clean.contains(trigger) {
                        // A failed write shows as a missing answer in the judge.
                        let _ = w.write_all(keys.as_bytes()).and_then(|()| w.flush());
                        next = script.next();
                    }
                }
                text.push_str(&clean);
                text.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break true,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= deadline => break false,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    };
    if exited {
        let _ = child.wait();
        cleanup::forget_pid(child.id());
    } else {
        cleanup::stop(child.id());
        let _ = child.wait();
    }
    if let Some(mut err) = child.stderr.take() {
        let mut e = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut e);
        if !e.trim().is_empty() {
            let _ = writeln!(file, "--- qemu stderr ---\n{e}");
            text.push_str(&e);
        }
    }
    Ok(Console {
        text,
        wall: begun.elapsed(),
        exited,
    })
}

/// Runs one QMP command on QEMU's monitor socket; the answer must not be
/// an error.
fn qmp_command(path: &Path, command: &str) -> Result<(), String> {
    let stream =
        std::os::unix::net::UnixStream::connect(path).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = stream;
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?; // greeting
    for c in ["{\"execute\":\"qmp_capabilities\"}", command] {
        writeln!(writer, "{c}").map_err(|e| e.to_string())?;
        line.clear();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if line.contains("\"error\"") {
            return Err(line.trim().to_owned());
        }
    }
    eprintln!("netinit-lab: QMP {command}: {}", line.trim());
    Ok(())
}
