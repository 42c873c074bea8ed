//! The scenario catalog: each is a boot the lab runs and judges. The
//! types and the judge are in `scenario.rs`; the other `*_scenarios`
//! tables and `faults`/`lease` add theirs through `all()`.

use crate::lab::SERVER;
// Re-exported so the catalog's users need one import.
pub use crate::scenario::{Expect, Initrd, NicSpec, Scenario, dead, judge, nic, pass};

/// Every scenario, in the order they run.
pub fn all() -> Vec<Scenario> {
    let mut all = base();
    all.extend(crate::root_scenarios::all());
    let first = all.len();
    all.extend(crate::dracut_scenarios::all(first));
    all.extend(crate::pkg_scenarios::all());
    all.extend(crate::faults::scenarios());
    all.extend(crate::forms_scenarios::all());
    all.extend(crate::v6_scenarios::all());
    all.extend(crate::http_scenarios::all());
    let first = all.len();
    all.extend(crate::live_scenarios::all(first));
    all.extend(crate::l2_scenarios::all());
    all.extend(crate::transport_scenarios::all());
    let first = all.len();
    all.extend(crate::hook_scenarios::all(first));
    // Last: they restart dnsmasq.
    all.extend(crate::lease::scenarios());
    all
}

// The base table spells each boot out whole on purpose (alike rows are the
// point of a table: each reads and diffs alone); kinds of many alike rows
// have constructors (`netinit_boot`, the fault matrix, `menu_boot`).
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
