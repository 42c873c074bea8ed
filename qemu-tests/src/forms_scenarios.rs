//! Cmdline forms people still type: a systemd predictable name in `ip=`
//! (the NIC is eth0 to the kernel), and casper's upper-case words with
//! `nfsroot=auto` and `ip=frommedia`, the root coming from DHCP's
//! root-path. Appended to the table by `scenarios::all`, before the lease
//! scenarios.

use crate::lab::SERVER;
use crate::scenario::{Expect, Initrd, NicSpec, Scenario};
use crate::scenario::{one_virtio, pass};

pub fn all() -> Vec<Scenario> {
    let s = SERVER;
    vec![
        Scenario {
            name: "predictable-enp0s3",
            what: "ip=enp0s3:dhcp: the virtio NIC in PCI slot 3 is eth0 to the kernel; netinit computes \
                   systemd's name from sysfs and renames it before use; the live-boot medium at /run/live/medium",
            // The PCI slot is what the name is made of.
            nics: vec![NicSpec {
                model: "virtio-net-pci,addr=3",
                live: true,
            }],
            pxe: false,
            cmdline: format!("boot=live netboot=nfs nfsroot={s}:/export/live ip=enp0s3:dhcp"),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("dev", "enp0s3"),
                ("medium", "/run/live/medium"),
            ]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "casper-nfsroot-auto",
            what: "Ubuntu's older netboot words: NETBOOT=nfs NFSROOT=auto ip=frommedia; server and path \
                   from DHCP's root-path; the medium at /cdrom",
            nics: vec![NicSpec {
                model: "e1000",
                live: true,
            }],
            pxe: false,
            cmdline: "boot=casper NETBOOT=nfs NFSROOT=auto ip=frommedia".to_owned(),
            diskless: None,
            root_path: Some(format!("{s}:/export/casper")),
            expect: pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("server", s),
                ("medium", "/cdrom"),
                ("hostname", "lab-casper-nfsroot-auto"),
            ]),
            timeout_secs: 120,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "break-before-nfs",
            what: "netinit.break=nfs with a busybox initrd: a debug shell after DHCP, before the NFS mount; \
                   the lab types a command into it, leaves it, and the boot goes on to pass",
            nics: one_virtio(),
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/live ip=dhcp netinit.break=nfs"
            ),
            diskless: None,
            root_path: None,
            expect: Expect::Break(Box::new(pass(&[("root", "overlay"), ("proto", "dhcp")]))),
            timeout_secs: 120,
            initrd: Initrd::NetinitShell,
        },
    ]
}
