//! The scenario table: each is a boot the lab runs and judges.

use crate::lab::SERVER;

/// A NIC in a scenario: QEMU model and whether it reaches the servers.
#[derive(Debug, Clone, Copy)]
pub struct NicSpec {
    pub model: &'static str,
    pub live: bool,
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
    /// A local disk root booted by the distribution's initrd with netinit
    /// installed: its /sbin/init prints this exact `NETINIT-LOCAL` line,
    /// and netinit printed nothing.
    Local(&'static str),
}

impl Expect {
    /// The `lab.*` words the checker root reads.
    pub fn lab_words(&self) -> &[(&'static str, String)] {
        match self {
            Expect::Pass { lab } | Expect::PassOrFail { lab } => lab,
            Expect::Lease(inner) | Expect::Break(inner) => inner.lab_words(),
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

pub(crate) fn nic(model: &'static str) -> NicSpec {
    NicSpec { model, live: true }
}

fn dead(model: &'static str) -> NicSpec {
    NicSpec { model, live: false }
}

pub(crate) fn pass(words: &[(&'static str, &str)]) -> Expect {
    Expect::Pass {
        lab: words.iter().map(|(k, v)| (*k, v.to_string())).collect(),
    }
}

/// Every scenario, in the order they run.
pub fn all() -> Vec<Scenario> {
    let mut all = base();
    all.extend(crate::root_scenarios::all());
    let first = all.len();
    all.extend(crate::dracut_scenarios::all(first));
    all.extend(crate::pkg_scenarios::all());
    all.extend(crate::faults::scenarios());
    all.extend(crate::forms_scenarios::all());
    let first = all.len();
    all.extend(crate::live_scenarios::all(first));
    all.extend(crate::lease::scenarios());
    all
}

fn base() -> Vec<Scenario> {
    let s = SERVER;
    vec![
        Scenario {
            name: "pxe-casper-e1000",
            what: "real PXE: iPXE -> pxelinux.0 -> kernel + netinit initrd, casper layout, BOOTIF from IPAPPEND 2",
            nics: vec![nic("e1000")],
            pxe: true,
            cmdline: format!("boot=casper netboot=nfs nfsroot={s}:/export/casper ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("dns", "1"),
                ("hostname", "lab-pxe-casper-e1000"),
                ("managers", "1"),
                ("medium", "/cdrom"),
            ]),
            timeout_secs: 180,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "live-boot-virtio",
            what: "direct boot, virtio-net found by modalias (virtio_pci first), live-boot layout",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!("boot=live netboot=nfs nfsroot={s}:/export/live ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("dns", "1"),
                ("hostname", "lab-live-boot-virtio"),
                ("managers", "1"),
                ("medium", "/run/live/medium"),
            ]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "diskless-rtl8139",
            what: "Arch-wiki diskless: plain read-write NFSv3 root, rtl8139 (8139too refuses the C+ chip, 8139cp drives it)",
            nics: vec![nic("rtl8139")],
            pxe: false,
            cmdline: format!("root=/dev/nfs nfsroot={s}:/export/diskless-rtl8139,v3 ip=::::::dhcp"),
            diskless: Some("diskless-rtl8139".into()),
            root_path: None,
            expect: pass(&[
                ("root", "nfs"),
                ("proto", "dhcp"),
                ("vers", "3"),
                ("hostname", "lab-diskless-rtl8139"),
            ]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "linomad-e1000e-static",
            what: "linomad sys= with two stacked squashfs modules, static ip= with a CIDR prefix, e1000e",
            nics: vec![nic("e1000e")],
            pxe: false,
            cmdline: format!(
                "sys={s}:/export/linomad ip=10.77.0.60:{s}:{s}:24:lab-linomad::off:{s}"
            ),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("root", "overlay"),
                ("proto", "none"),
                ("layers", "2"),
                ("dns", "1"),
                ("hostname", "lab-linomad"),
            ]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "bootif-second-nic",
            what: "two NICs, only the second reaches the server; BOOTIF= names it",
            nics: vec![dead("e1000"), nic("e1000")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/live ip=dhcp BOOTIF=01-52-54-00-77-04-01"
            ),
            diskless: None,
            root_path: None,
            expect: pass(&[("root", "overlay"), ("proto", "dhcp"), ("dev", "eth1")]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "two-nics-race",
            what: "two NICs, only the second reaches the server, no BOOTIF: DHCP on both, first lease wins",
            nics: vec![dead("virtio-net-pci"), nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!("boot=live netboot=nfs nfsroot={s}:/export/live ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: pass(&[("root", "overlay"), ("proto", "dhcp"), ("dev", "eth1")]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "rootpath-from-dhcp",
            what: "root=/dev/nfs with no nfsroot=: server and path from DHCP option 17",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: "root=/dev/nfs ip=dhcp".into(),
            diskless: Some("diskless-rootpath".into()),
            root_path: Some(format!("{s}:/export/diskless-rootpath")),
            expect: pass(&[("root", "nfs"), ("proto", "dhcp")]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "nfsv42-virtio",
            what: "NFSv4.2 root (ganesha Protocols 3, 4)",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!("root=/dev/nfs nfsroot={s}:/export/diskless-v42,vers=4.2 ip=dhcp"),
            diskless: Some("diskless-v42".into()),
            root_path: None,
            expect: pass(&[("root", "nfs4"), ("proto", "dhcp"), ("vers", "4.2")]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "fail-wrong-nfs-path",
            what: "a wrong NFS path ends at once with the reason and a hint",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!("boot=live netboot=nfs nfsroot={s}:/export/nope ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: Expect::Fail {
                step: "nfs",
                contains: "10.77.0.1:/export/nope",
            },
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "fail-no-dhcp",
            what: "no DHCP server on the segment ends within netinit.dhcp_timeout with the reason",
            nics: vec![dead("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/live ip=dhcp netinit.dhcp_timeout=8"
            ),
            diskless: None,
            root_path: None,
            expect: Expect::Fail {
                step: "dhcp",
                contains: "no DHCP lease after 8 s: eth0 (carrier, 0 offers)",
            },
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "fail-rescue-shell",
            what: "a failure with /bin/sh in the initrd: the reason, a working rescue shell, and a retry when it exits",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/nope ip=dhcp netinit.shell=1"
            ),
            diskless: None,
            root_path: None,
            expect: Expect::Rescue {
                step: "nfs",
                contains: "10.77.0.1:/export/nope",
            },
            timeout_secs: 180,
            initrd: Initrd::NetinitShell,
        },
        Scenario {
            name: "initramfs-tools-hook",
            what: "Debian's mkinitramfs with netinit's hook: boot=netinit, netinit mount-root, initramfs-tools switches root",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=netinit netboot=nfs nfsroot={s}:/export/live netinit.layout=live ip=dhcp"
            ),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("dns", "1"),
                ("hostname", "lab-initramfs-tools-hook"),
                ("managers", "1"),
                ("medium", "/run/live/medium"),
            ]),
            timeout_secs: 180,
            initrd: Initrd::InitramfsTools,
        },
        Scenario {
            name: "realsys-networkmanager",
            what: "a real Debian (systemd) booted over NFS with NetworkManager: link and NFS survive it starting, and 60 s more",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/realsys ip=dhcp init=/lib/systemd/systemd systemd.mask=systemd-networkd.service lab.realsys=nm"
            ),
            diskless: None,
            root_path: None,
            expect: Expect::RealSys,
            timeout_secs: 420,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "realsys-networkd",
            what: "the same real Debian with systemd-networkd (KeepConfiguration=yes, same DHCP client id)",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/realsys ip=dhcp init=/lib/systemd/systemd systemd.mask=NetworkManager.service lab.realsys=networkd"
            ),
            diskless: None,
            root_path: None,
            expect: Expect::RealSys,
            timeout_secs: 420,
            initrd: Initrd::Netinit,
        },
    ]
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
        Expect::Lease(inner) => {
            let guest = judge_expect(inner, console, exited)?;
            let keeper = crate::lease::judge_keeper(console)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_macs_are_unique() {
        let all = all();
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(Scenario::mac(4, 1), "52:54:00:77:04:01");
        // bootif-second-nic's BOOTIF must name its own second NIC.
        let (i, b) = all
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == "bootif-second-nic")
            .unwrap();
        assert!(b.cmdline.contains(&format!(
            "BOOTIF=01-{}",
            Scenario::mac(i, 1).replace(':', "-")
        )));
        for s in &all {
            assert!(
                s.hostname().len() <= 63
                    && s.hostname()
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-'),
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn judging() {
        let all = all();
        let pass_s = &all[1];
        let ok = "x\nNETINIT-CHECK {\"result\":\"pass\",\"root_fs\":\"overlay\",\"device\":\"eth0\",\"address\":\"10.77.0.100\",\"proto\":\"dhcp\",\"failures\":\"\"}\n";
        assert_eq!(
            judge(pass_s, ok, true),
            Ok("overlay 10.77.0.100 on eth0".into())
        );
        let bad = ok
            .replace("\"pass\"", "\"fail\"")
            .replace("\"failures\":\"\"", "\"failures\":\"address\"");
        assert_eq!(
            judge(pass_s, &bad, true),
            Err("checker failed: address".into())
        );
        assert!(
            judge(pass_s, "[ 1.0] netinit: FAILED at nfs: x\n", true)
                .unwrap_err()
                .contains("FAILED at nfs")
        );
        let fail_s = all.iter().find(|s| s.name == "fail-no-dhcp").unwrap();
        let line = "[ 9.0] netinit: FAILED at dhcp: no DHCP lease after 8 s: eth0 (carrier, 0 offers) (hint: x)\n";
        assert!(judge(fail_s, line, true).is_ok());
        assert_eq!(
            judge(fail_s, line, false),
            Err("printed the reason but did not power off (netinit.reboot=0)".into())
        );
        assert_eq!(
            judge(fail_s, "", false),
            Err("timed out without a FAILED line (a hang)".into())
        );
    }

    #[test]
    fn judging_the_debug_break() {
        let all = all();
        let s = all.iter().find(|s| s.name == "break-before-nfs").unwrap();
        assert_eq!(s.console_input().len(), 1);
        let brk = "[ 5.0] netinit: nfs: break before nfs: starting /bin/sh; exit it to go on\n";
        let typed = "/ # echo BREAK-$((6*7)); exit\n";
        let exit = "[ 5.1] netinit: nfs: shell exited; going on with nfs\n";
        let mounted = "[ 6.0] netinit: nfs: mounted 10.77.0.1:/export/live on /run/netinit/nfs\n";
        let check = "NETINIT-CHECK {\"result\":\"pass\",\"root_fs\":\"overlay\",\"device\":\"eth0\",\"address\":\"10.77.0.100\",\"proto\":\"dhcp\",\"failures\":\"\"}\n";
        let full = format!("{brk}{typed}BREAK-42\n{exit}{mounted}{check}");
        assert!(judge(s, &full, true).is_ok(), "{:?}", judge(s, &full, true));
        // The echoed command alone, or the answer after the mount, fails.
        let echo_only = format!("{brk}{typed}{exit}{mounted}{check}");
        assert!(judge(s, &echo_only, true).is_err());
        let late = format!("{brk}{typed}{exit}{mounted}BREAK-42\n{check}");
        assert!(judge(s, &late, true).is_err());
        let no_check = format!("{brk}{typed}BREAK-42\n{exit}{mounted}");
        assert!(judge(s, &no_check, true).is_err());
    }

    #[test]
    fn judging_the_rescue_shell() {
        let all = all();
        let s = all.iter().find(|s| s.name == "fail-rescue-shell").unwrap();
        assert_eq!(s.console_input().len(), 2);
        let failed = "[ 3.0] netinit: FAILED at nfs: mount 10.77.0.1:/export/nope: EACCES\n";
        let shell =
            "[ 3.1] netinit: init: starting rescue shell /bin/sh; exit it to retry the boot\n";
        let typed = "~ # echo RESCUE-$((6*7)); exit\n";
        let retry = "[ 4.0] netinit: init: rescue shell exited; retrying the boot\n";
        let full = format!("{failed}{shell}{typed}RESCUE-42\n{retry}{failed}{shell}");
        assert!(judge(s, &full, true).is_ok(), "{:?}", judge(s, &full, true));
        // The echoed command alone is not an answer.
        let echo_only = format!("{failed}{shell}{typed}{retry}{failed}{shell}");
        assert_eq!(
            judge(s, &echo_only, true),
            Err("the shell never answered RESCUE-42".into())
        );
        let no_retry = format!("{failed}{shell}{typed}RESCUE-42\n");
        assert_eq!(
            judge(s, &no_retry, true),
            Err("leaving the shell did not retry the boot".into())
        );
        assert_eq!(
            judge(s, &full, false),
            Err("the second rescue shell did not power off".into())
        );
        assert_eq!(
            judge(s, failed, true),
            Err("no rescue shell offered".into())
        );
        assert!(
            judge(s, "[ 3.0] netinit: FAILED at dhcp: no lease\n", true)
                .unwrap_err()
                .starts_with("failed at the wrong step: dhcp")
        );
    }
}
