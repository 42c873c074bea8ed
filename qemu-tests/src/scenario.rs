//! What a scenario is and how its console log is judged. The catalog
//! of scenarios (`scenarios.rs` and the tables it appends) builds on this.

/// A NIC in a scenario: QEMU model and whether it reaches the servers.
#[derive(Debug, Clone, Copy)]
pub struct NicSpec {
    pub model: &'static str,
    pub live: bool,
}

/// The distro initrds the hook scenarios (hook_scenarios.rs) boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distro {
    /// Debian's live-boot initrd from mkinitramfs, nothing of netinit.
    LiveBootStock,
    /// The same recipe with netinit's initramfs-tools hook and scripts.
    LiveBootHook,
    /// The hook's initrd with a local virtio-blk ext4 root attached.
    LiveBootHookLocal,
    /// The stock initrd with `netinit-mkinitrd --append-to --network-only`.
    LiveBootAppend,
    /// Debian's dracut with netinit's module (`--add netinit`).
    Dracut,
    /// The same with a local virtio-blk ext4 root attached.
    DracutLocal,
    /// Arch's mkinitcpio 41 (the third-party tarball) in a bookworm chroot,
    /// HOOKS=(base udev modconf netinit).
    Mkinitcpio,
    /// The same with a local virtio-blk ext4 root attached.
    MkinitcpioLocal,
}

impl Distro {
    pub const ALL: [Distro; 8] = [
        Distro::Mkinitcpio,
        Distro::MkinitcpioLocal,
        Distro::LiveBootStock,
        Distro::LiveBootAppend,
        Distro::LiveBootHook,
        Distro::LiveBootHookLocal,
        Distro::Dracut,
        Distro::DracutLocal,
    ];

    pub fn file(self) -> &'static str {
        match self {
            Distro::LiveBootStock => "live-boot-stock.img",
            Distro::LiveBootHook | Distro::LiveBootHookLocal => "live-boot-netinit.img",
            Distro::LiveBootAppend => "live-boot-appended.img",
            Distro::Dracut | Distro::DracutLocal => "dracut-netinit.img",
            Distro::Mkinitcpio | Distro::MkinitcpioLocal => "mkinitcpio-netinit.img",
        }
    }

    pub fn local(self) -> bool {
        matches!(
            self,
            Distro::LiveBootHookLocal | Distro::DracutLocal | Distro::MkinitcpioLocal
        )
    }
}

/// What the boot must show.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The checker prints `"result":"pass"`; `lab` are its `lab.*` words.
    Pass { lab: Vec<(&'static str, String)> },
    /// netinit prints `FAILED at <step>:` with `contains` in the reason,
    /// and the VM powers off by itself.
    Fail {
        step: &'static str,
        contains: &'static str,
    },
    /// Either outcome of a fault: a pass as for `Pass`, or a clean
    /// failure (a `FAILED at` line and the VM powering off by itself);
    /// never a timeout.
    PassOrFail { lab: Vec<(&'static str, String)> },
    /// The real Debian system boots to multi-user with a network manager,
    /// and its `NETINIT-REALSYS` line says the link and NFS survived 60 s.
    RealSys,
    /// netinit fails at `step` with `contains` in the reason, offers the
    /// initrd's /bin/sh, which answers a command typed on the console;
    /// leaving it retries the boot, which fails again; the second shell
    /// powers off.
    Rescue {
        step: &'static str,
        contains: &'static str,
    },
    /// The inner expectation, and the lease keeper's console lines show
    /// renewals, a DHCPNAK and a renewal after it (see `lease.rs`).
    Lease(Box<Expect>),
    /// The inner expectation, after a debug shell (`netinit.break=`) that
    /// answered a command typed on the console before the boot went on.
    Break(Box<Expect>),
    /// The inner expectation, and netinit's console has a line with this text.
    Console(Box<Expect>, &'static str),
    /// The inner expectation; or, at the bound, netinit had done its part
    /// (`switch_root: exec`) and the booted system was still reading its
    /// root: under heavy loss the kernel's NFS client (TCP backoff on a
    /// hard mount) sets that pace, not netinit.
    HandedOff(Box<Expect>),
    /// The inner expectation, and `forbid` nowhere on the console (a
    /// stall the generator would print).
    Without {
        inner: Box<Expect>,
        forbid: &'static str,
    },
    /// A reference boot without netinit: these lines appear on the
    /// console in this order (how the distribution's own script stalls or
    /// fails); the boot may time out after them, which bounds its cost.
    Reference(&'static [&'static str]),
    /// A distribution's boot script mounted the root after netinit's
    /// network-only hook configured the network: the checker passes as for
    /// `Pass`, netinit wrote the hand-off, and klibc's ipconfig never ran.
    DistroNet { lab: Vec<(&'static str, String)> },
    /// A local disk root booted by the distribution's initrd with netinit
    /// installed: its /sbin/init prints this exact `NETINIT-LOCAL` line,
    /// and netinit printed nothing.
    Local(&'static str),
}

impl Expect {
    /// The `lab.*` words the checker root reads.
    pub fn lab_words(&self) -> &[(&'static str, String)] {
        match self {
            Expect::Pass { lab } | Expect::PassOrFail { lab } | Expect::DistroNet { lab } => lab,
            Expect::Lease(inner)
            | Expect::Break(inner)
            | Expect::Console(inner, _)
            | Expect::HandedOff(inner)
            | Expect::Without { inner, .. } => inner.lab_words(),
            _ => &[],
        }
    }
}

/// What the rescue scenario types, each after its trigger line, and the
/// answer only a working shell prints (the echoed command line shows
/// `$((6*7))`, not 42).
const RESCUE_INPUT: [(&str, &str); 2] = [
    ("starting rescue shell", "echo RESCUE-$((6*7)); exit\n"),
    ("starting rescue shell", "busybox poweroff -f\n"),
];
const RESCUE_ANSWER: &str = "RESCUE-42";

/// What the break scenario types into its debug shell, and the answer.
const BREAK_INPUT: [(&str, &str); 1] = [(
    "break before nfs: starting /bin/sh",
    "echo BREAK-$((6*7)); exit\n",
)];
const BREAK_ANSWER: &str = "BREAK-42";

/// Which initrd a scenario boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initrd {
    /// Built by netinit-mkinitrd: netinit is /init.
    Netinit,
    /// Built by Debian's mkinitramfs with netinit's hook (boot=netinit).
    InitramfsTools,
    /// netinit-mkinitrd's with `--shell /bin/busybox`.
    NetinitShell,
    /// The Debian package's: `apt install ./netinit_*.deb` and
    /// `update-initramfs -u` in a Debian chroot, booted with its kernel.
    DebPackage,
    /// The same initrd with a local virtio-blk ext4 root attached.
    DebPackageLocal,
    /// netinit's initrd, reached through OVMF: PXE (iPXE's EFI driver
    /// from the NIC ROM) into GRUB's EFI netboot image, whose menu is
    /// the one in docs/server-setup.md; `usize` is the menu entry.
    UefiPxe(usize),
    /// The same through OVMF's own UEFI HTTP boot (PXE off, no NIC ROM),
    /// with GRUB and the kernel fetched from the documented nginx.
    UefiHttp(usize),
    /// netinit's initrd through BIOS PXE and the documented pxelinux menu
    /// (menu.c32), booting the entry with this label.
    PxeMenu(&'static str),
    /// A distribution's initrd built by its own generator (see hook_scenarios.rs).
    Distro(Distro),
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub what: &'static str,
    pub nics: Vec<NicSpec>,
    pub pxe: bool,
    /// The dialect's own words (the lab adds console, panic and lab.* words).
    pub cmdline: String,
    /// A diskless root exported just for this scenario.
    pub diskless: Option<String>,
    /// DHCP option 17 for this scenario's MACs.
    pub root_path: Option<String>,
    pub expect: Expect,
    pub timeout_secs: u64,
    pub initrd: Initrd,
}

impl Scenario {
    /// Deterministic MACs: 52:54:00:77:<scenario>:<nic>.
    pub fn mac(index: usize, nic: usize) -> String {
        format!("52:54:00:77:{index:02x}:{nic:02x}")
    }

    pub fn hostname(&self) -> String {
        format!("lab-{}", self.name)
    }

    /// What to type on the serial console, each after its trigger line.
    pub fn console_input(&self) -> &'static [(&'static str, &'static str)] {
        match self.expect {
            Expect::Rescue { .. } => &RESCUE_INPUT,
            Expect::Break(_) => &BREAK_INPUT,
            _ => &[],
        }
    }

    pub fn nic_label(&self) -> String {
        let models: Vec<String> = self
            .nics
            .iter()
            .map(|n| {
                if n.live {
                    n.model.to_owned()
                } else {
                    format!("{}(dead)", n.model)
                }
            })
            .collect();
        models.join("+")
    }
}

pub fn nic(model: &'static str) -> NicSpec {
    NicSpec { model, live: true }
}

/// A NIC on a segment with no server.
pub fn dead(model: &'static str) -> NicSpec {
    NicSpec { model, live: false }
}

/// The lab's usual NIC: one virtio-net on the servers' bridge.
pub fn one_virtio() -> Vec<NicSpec> {
    vec![nic("virtio-net-pci")]
}

/// The usual boot: netinit's initrd, one virtio NIC, no PXE, the lab's
/// exports and DHCP as they are; a kind of scenario changes what it needs
/// with `Scenario { field, ..netinit_boot(…) }`.
pub fn netinit_boot(
    name: &'static str,
    what: &'static str,
    cmdline: String,
    expect: Expect,
    timeout_secs: u64,
) -> Scenario {
    Scenario {
        name,
        what,
        nics: one_virtio(),
        pxe: false,
        cmdline,
        diskless: None,
        root_path: None,
        expect,
        timeout_secs,
        initrd: Initrd::Netinit,
    }
}

pub fn pass(words: &[(&'static str, &str)]) -> Expect {
    Expect::Pass {
        lab: words.iter().map(|(k, v)| (*k, v.to_string())).collect(),
    }
}

impl Scenario {
    /// Needs the debootstrapped Debian root.
    pub fn needs_realsys(&self) -> bool {
        match &self.expect {
            Expect::RealSys => true,
            Expect::Lease(inner) => matches!(**inner, Expect::RealSys),
            _ => false,
        }
    }

    /// Runs in the lease lab, whose dnsmasq is restarted under it.
    pub fn is_lease(&self) -> bool {
        matches!(self.expect, Expect::Lease(_))
    }
}

/// The verdict on one console log: `Ok(detail)` or `Err(reason)`.
pub fn judge(s: &Scenario, console: &str, exited: bool) -> Result<String, String> {
    judge_expect(&s.expect, console, exited)
}

fn judge_expect(expect: &Expect, console: &str, exited: bool) -> Result<String, String> {
    let failed = console.lines().find_map(|l| {
        l.split_once("netinit: FAILED at ")
            .map(|(_, rest)| rest.to_owned())
    });
    match expect {
        Expect::Console(inner, want) => {
            let guest = judge_expect(inner, console, exited)?;
            match console
                .lines()
                .find(|l| l.contains("netinit:") && l.contains(want))
            {
                Some(l) => Ok(format!("{guest}; {}", l.trim())),
                None => Err(format!("{guest}; but no console line with '{want}'")),
            }
        }
        Expect::HandedOff(inner) => {
            let verdict = judge_expect(inner, console, exited);
            if verdict.is_ok() || exited || failed.is_some() || console.contains("NETINIT-CHECK ") {
                return verdict;
            }
            match console
                .lines()
                .find(|l| l.contains("netinit: switch_root: exec "))
            {
                Some(l) => Ok(format!(
                    "netinit handed off ({}); the booted system was still reading its root at the bound",
                    l.trim()
                )),
                None => verdict,
            }
        }
        Expect::Lease(inner) => {
            let guest = judge_expect(inner, console, exited)?;
            let keeper = judge_keeper(console)?;
            Ok(format!("{guest}; {keeper}"))
        }
        Expect::Break(inner) => {
            let guest = judge_expect(inner, console, exited)?;
            // The answer must come after the break and before the NFS mount.
            let at = |needle: &str| console.find(needle);
            // The typed line echoes `$((6*7))`; only a shell prints 42.
            let answer = format!("\n{BREAK_ANSWER}");
            match (
                at("break before nfs: starting /bin/sh"),
                at(&answer),
                at("shell exited; going on with nfs"),
                at("netinit: nfs: mounted"),
            ) {
                (Some(b), Some(a), Some(g), Some(n)) if b < a && a < g && g < n => Ok(format!(
                    "{guest}; the debug shell answered {BREAK_ANSWER} before nfs"
                )),
                (b, a, g, n) => Err(format!(
                    "debug shell before nfs: break line at {b:?}, answer at {a:?}, exit at {g:?}, mount at {n:?}"
                )),
            }
        }
        Expect::PassOrFail { .. } if failed.is_some() => {
            let f = failed.unwrap_or_default();
            if exited {
                Ok(format!("failed cleanly: {f}"))
            } else {
                Err(format!("printed '{f}' but did not power off"))
            }
        }
        Expect::Pass { .. } | Expect::PassOrFail { .. } => {
            if let Some(f) = failed {
                return Err(format!("netinit FAILED at {f}"));
            }
            let line = console
                .lines()
                .find_map(|l| l.trim().strip_prefix("NETINIT-CHECK "))
                .ok_or_else(|| {
                    if exited {
                        "the VM stopped without a NETINIT-CHECK line".to_owned()
                    } else {
                        "timed out without a NETINIT-CHECK line".to_owned()
                    }
                })?;
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("bad NETINIT-CHECK line: {e}: {line}"))?;
            if v["result"] == "pass" {
                Ok(format!(
                    "{} {} on {}",
                    v["root_fs"].as_str().unwrap_or("?"),
                    v["address"].as_str().unwrap_or("?"),
                    v["device"].as_str().unwrap_or("?")
                ))
            } else {
                Err(format!(
                    "checker failed: {}",
                    v["failures"].as_str().unwrap_or("?")
                ))
            }
        }
        Expect::RealSys => {
            if let Some(f) = failed {
                return Err(format!("netinit FAILED at {f}"));
            }
            let line = console
                .lines()
                .find_map(|l| {
                    l.split_once("NETINIT-REALSYS ")
                        .map(|(_, j)| j.trim().to_owned())
                })
                .ok_or_else(|| {
                    if exited {
                        "the system stopped without a NETINIT-REALSYS line".to_owned()
                    } else {
                        "timed out without a NETINIT-REALSYS line".to_owned()
                    }
                })?;
            let v: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| format!("bad NETINIT-REALSYS line: {e}: {line}"))?;
            let field = |k: &str| v[k].as_str().unwrap_or("?").to_owned();
            let facts = format!(
                "{} {} ({}), {} on {} {}, system {}",
                field("manager"),
                field("active"),
                field("manager_view"),
                field("address"),
                field("device"),
                field("lifetime"),
                field("system")
            );
            if v["result"] != "pass" {
                return Err(format!("{}: {facts}", field("failures")));
            }
            // The keeper renews unless a DHCP client of the booted system
            // does (NetworkManager leaves the NIC alone; networkd runs one
            // only when it decides the link needs it): exactly one renews.
            let aside = console
                .lines()
                .any(|l| l.contains("netinit-lease: ") && l.contains("leaving the lease to it"));
            match (
                field("dhcp_client").as_str(),
                field("keeper").as_str(),
                aside,
            ) {
                ("no", "running", false) => Ok(format!("{facts}, lease keeper running")),
                ("yes", "gone", true) => Ok(format!("{facts}, lease keeper stepped aside")),
                (c, k, a) => Err(format!(
                    "lease keeper {k} (stepped aside: {a}) with a DHCP client of the system: {c}: {facts}"
                )),
            }
        }
        Expect::Rescue { step, contains } => {
            let f = failed.ok_or_else(|| "no FAILED line".to_owned())?;
            failed_as(&f, step, contains)?;
            let has = |what: &str| console.lines().any(|l| l.contains(what));
            if !has("starting rescue shell /bin/sh") {
                return Err("no rescue shell offered".into());
            }
            if !console.lines().any(|l| l.trim() == RESCUE_ANSWER) {
                return Err(format!("the shell never answered {RESCUE_ANSWER}"));
            }
            if !has("rescue shell exited; retrying the boot") {
                return Err("leaving the shell did not retry the boot".into());
            }
            let fails = console
                .lines()
                .filter(|l| l.contains("netinit: FAILED at "))
                .count();
            if fails < 2 {
                return Err("the retry did not fail again with its reason".into());
            }
            if !exited {
                return Err("the second rescue shell did not power off".into());
            }
            Ok(format!("{f}; shell answered, retried, failed again"))
        }
        Expect::Without { inner, forbid } => {
            let ok = judge_expect(inner, console, exited)?;
            if let Some(l) = console.lines().find(|l| l.contains(forbid)) {
                return Err(format!("the console shows '{}'", l.trim()));
            }
            Ok(ok)
        }
        Expect::Reference(lines) => {
            let mut at = 0;
            for want in *lines {
                match console[at..].find(want) {
                    Some(i) => at += i + want.len(),
                    None => {
                        return Err(format!(
                            "no '{want}' on the console after the lines before it ({})",
                            if exited { "stopped" } else { "timed out" }
                        ));
                    }
                }
            }
            Ok(format!("as expected: {}", lines.join(" … ")))
        }
        Expect::DistroNet { lab } => {
            let checked = judge_expect(&Expect::Pass { lab: lab.clone() }, console, exited)?;
            let wrote = console
                .find("netinit: handoff: wrote /run/net-")
                .ok_or("netinit did not write /run/net-IFACE.conf")?;
            if let Some(l) = console[wrote..].lines().find(|l| l.contains("IP-Config:")) {
                return Err(format!("ipconfig ran after netinit: {}", l.trim()));
            }
            Ok(format!("{checked}; no ipconfig after netinit"))
        }
        Expect::Local(want) => {
            if let Some(l) = console.lines().find(|l| l.contains("netinit:")) {
                return Err(format!("netinit ran on a local boot: {}", l.trim()));
            }
            let got = console
                .lines()
                .find_map(|l| l.trim().strip_prefix("NETINIT-LOCAL "))
                .ok_or("no NETINIT-LOCAL line: the local root's init did not run")?;
            if got != *want {
                return Err(format!("local boot: {got}, want {want}"));
            }
            if !exited {
                return Err("the local root did not power off".into());
            }
            Ok(got.to_owned())
        }
        Expect::Fail { step, contains } => {
            let f = failed.ok_or_else(|| {
                if exited {
                    "no FAILED line".to_owned()
                } else {
                    "timed out without a FAILED line (a hang)".to_owned()
                }
            })?;
            failed_as(&f, step, contains)?;
            if !exited {
                return Err("printed the reason but did not power off (netinit.reboot=0)".into());
            }
            Ok(f)
        }
    }
}

/// A FAILED line (after `FAILED at `) names `step` and has `contains`.
fn failed_as(f: &str, step: &str, contains: &str) -> Result<(), String> {
    if !f.starts_with(&format!("{step}: ")) {
        return Err(format!("failed at the wrong step: {f}"));
    }
    if !f.contains(contains) {
        return Err(format!("reason lacks '{contains}': {f}"));
    }
    Ok(())
}

/// The keeper's own account on the console: renewals, the refusal
/// logged at crit level, and a renewal after it.
pub fn judge_keeper(console: &str) -> Result<String, String> {
    let renewed: Vec<usize> = console
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("netinit-lease: ") && l.contains(": renewed with "))
        .map(|(i, _)| i)
        .collect();
    let nak = console
        .lines()
        .position(|l| l.contains("netinit-lease: ") && l.contains(": DHCPNAK from "));
    if renewed.len() < 5 {
        return Err(format!(
            "the keeper logged {} renewals, want at least 5",
            renewed.len()
        ));
    }
    let nak = nak.ok_or("the keeper did not log the DHCPNAK")?;
    if !renewed.iter().any(|i| *i > nak) {
        return Err("no renewal after the DHCPNAK".into());
    }
    Ok(format!("keeper: {} renewals, NAK logged", renewed.len()))
}
