//! Distribution live sessions booted through netinit as /init:
//!
//! - a Debian live image built from Debian's own packages (live-boot,
//!   live-config with its systemd backend, NetworkManager) the way
//!   live-build lays one out, whose live-config makes the live user, its
//!   console autologin and the hostname after switch_root;
//! - a casper-style root (Debian with lightdm and an /etc/casper.conf), where
//!   netinit itself sets up what casper's initramfs scripts would have.
//!
//! Both roots are debootstrapped once and cached (`debian::root`); each
//! gets its checker as a second squashfs layer, so editing a checker
//! rebuilds no root. The checkers print the usual `NETINIT-CHECK` line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::debian::{self, Recipe};
use crate::lab::SERVER;
use crate::roots::{Export, checker_export, squash};
use crate::scenario::pass;
use crate::scenario::{Distro, Expect, Initrd, NicSpec, Scenario};
use crate::util::run;

/// What Debian's live images are made of (live-build's `--debian-installer
/// none` standard image, minus the desktop): the kernel, live-boot,
/// live-config with its systemd backend and the components it drives
/// (user-setup, sudo), NetworkManager.
pub fn debian_live_recipe() -> Recipe {
    Recipe {
        name: "debian-live",
        include: [
            "linux-image-amd64",
            "live-boot",
            "live-config",
            "live-config-systemd",
            "systemd-sysv",
            // debootstrap takes no alternatives: NetworkManager's
            // system bus and logind are named (as live-build's package
            // lists pull them in).
            "dbus",
            "libpam-systemd",
            "udev",
            "network-manager",
            "user-setup",
            "sudo",
            "iproute2",
            "procps",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![],
        // As live-build leaves the chroot: no hostname (live-config sets
        // one only when there is none) and an empty machine-id (a new one
        // each boot).
        setup:
            "rm -f /etc/hostname; : > /etc/machine-id; systemctl enable NetworkManager.service; \
                ls /boot/vmlinuz-*"
                .into(),
    }
}

/// The image's casper.conf, as Ubuntu's livecd-rootfs writes it (the core
/// tests' copy has Ubuntu's own values: the same file format, on purpose).
const CASPER_CONF: &str = "# This file should go in /etc/casper.conf\n\
export USERNAME=\"lab\"\n\
export USERFULLNAME=\"Lab live session user\"\n\
export HOST=\"labcasper\"\n\
export BUILD_SYSTEM=\"Ubuntu\"\n\
\n\
# USERNAME and HOSTNAME as specified above won't be honoured and will be set to\n\
# flavour string acquired at boot time, unless you set FLAVOUR to any\n\
# non-empty string.\n\
\n\
export FLAVOUR=\"Lab\"\n";

/// A root as an Ubuntu desktop image carries it, from Debian packages:
/// systemd, sudo, a display manager (lightdm, the smallest of the three
/// casper knows) and /etc/casper.conf. It boots to multi-user: no X server
/// is installed, so no GUI starts.
pub fn casper_recipe() -> Recipe {
    Recipe {
        name: "casper-session",
        include: [
            "systemd",
            "systemd-sysv",
            "libpam-systemd",
            "dbus",
            // lightdm's greeter pulls in dconf, which wants a session bus
            // (an alternative debootstrap does not resolve).
            "dbus-user-session",
            "udev",
            "sudo",
            "lightdm",
            "iproute2",
            "procps",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![("/etc/casper.conf".into(), CASPER_CONF.into(), 0o644)],
        setup:
            "rm -f /etc/hostname; : > /etc/machine-id; systemctl set-default multi-user.target; \
                ls /etc/lightdm/lightdm.conf"
                .into(),
    }
}

const DEBIAN_LIVE_CHECK: &str = include_str!("../live/netinit-live-check");
const CASPER_CHECK: &str = include_str!("../live/netinit-casper-check");
const CHECK_UNIT: &str = include_str!("../live/netinit-live-check.service");

fn uses(chosen: &[(usize, Scenario)], export: &str) -> bool {
    chosen
        .iter()
        .any(|(_, s)| s.cmdline.contains(&format!(":{export} ")))
}

/// Debootstraps (or finds cached) the roots the chosen scenarios boot,
/// before the lab starts: a root that cannot be built fails the scenarios
/// that boot it, not the whole run. Returns (scenario, reason) for those.
pub fn build_roots(chosen: &[(usize, Scenario)]) -> Vec<(&'static str, String)> {
    let mut unbuilt = Vec::new();
    for (export, recipe) in [
        ("/export/debian-live", debian_live_recipe()),
        ("/export/casper-session", casper_recipe()),
    ] {
        if !uses(chosen, export) {
            continue;
        }
        if let Err(e) = debian::root(&recipe) {
            let marker = format!(":{export} ");
            for (_, s) in chosen.iter().filter(|(_, s)| s.cmdline.contains(&marker)) {
                unbuilt.push((
                    s.name,
                    format!("its root ({}) could not be built: {e}", recipe.name),
                ));
            }
        }
    }
    unbuilt
}

/// The checker layer: `script` as /usr/local/sbin/netinit-live-check,
/// started by a unit in multi-user.target.
fn checker_layer(stage: &Path, script: &str, out: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(stage);
    let files: [(&str, &str, u32); 2] = [
        ("usr/local/sbin/netinit-live-check", script, 0o755),
        (
            "etc/systemd/system/netinit-live-check.service",
            CHECK_UNIT,
            0o644,
        ),
    ];
    for (path, contents, mode) in files {
        let p = stage.join(path);
        std::fs::create_dir_all(p.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
        std::fs::write(&p, contents).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .map_err(|e| e.to_string())?;
    }
    let wants = stage.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(
        "../netinit-live-check.service",
        wants.join("netinit-live-check.service"),
    )
    .map_err(|e| e.to_string())?;
    squash(stage, out)
}

/// The Debian live squashfs with the test kernel's modules in it: the
/// root's own when its kernel is the test kernel (the usual case: both come
/// from linux-image-amd64), else a cached copy with the test kernel's tree
/// added.
fn debian_live_image(root: &Path, kernel_tree: &Path, kver: &str) -> Result<PathBuf, String> {
    if root.join("usr/lib/modules").join(kver).is_dir() {
        return debian::squashfs(root);
    }
    let out = root.with_extension(format!("{kver}.squashfs"));
    if out.exists() {
        return Ok(out);
    }
    let stage = root.with_extension("stage");
    let _ = std::fs::remove_dir_all(&stage);
    // Hard links: the stage costs no copy of the root.
    run(Command::new("cp").arg("-al").arg(root).arg(&stage))?;
    run(Command::new("cp")
        .arg("-a")
        .arg(kernel_tree.join("lib/modules").join(kver))
        .arg(stage.join("usr/lib/modules")))?;
    debian::squash_root(&stage, &out)?;
    let _ = std::fs::remove_dir_all(&stage);
    Ok(out)
}

pub(crate) fn link_or_copy(src: &Path, dst: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dst.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(dst);
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
    }
    Ok(())
}

/// Builds the exports the chosen scenarios use (each root only when one
/// of them needs it).
pub fn exports(
    work: &Path,
    kernel: &crate::kernel::Kernel,
    chosen: &[(usize, Scenario)],
) -> Result<Vec<Export>, String> {
    let mut out = Vec::new();
    let only = b"nfs-only\n";
    if uses(chosen, "/export/debian-live") {
        let root = debian::root(&debian_live_recipe())?;
        let image = debian_live_image(&root, &kernel.tree, &kernel.kver)?;
        let dir = work.join("export/debian-live");
        link_or_copy(&image, &dir.join("live/filesystem.squashfs"))?;
        checker_layer(
            &work.join("stage/debian-live-checker"),
            DEBIAN_LIVE_CHECK,
            &dir.join("live/netinit-checker.squashfs"),
        )?;
        out.push(checker_export(dir, only, "/export/debian-live")?);
    }
    if uses(chosen, "/export/casper-session") {
        let root = debian::root(&casper_recipe())?;
        let image = debian::squashfs(&root)?;
        let dir = work.join("export/casper-session");
        // The checker is a layer on top the way Ubuntu's layered images
        // stack: `layerfs-path=filesystem.netinit-check.squashfs` names it,
        // and filesystem.squashfs is below it.
        link_or_copy(&image, &dir.join("casper/filesystem.squashfs"))?;
        checker_layer(
            &work.join("stage/casper-session-checker"),
            CASPER_CHECK,
            &dir.join("casper/filesystem.netinit-check.squashfs"),
        )?;
        std::fs::write(dir.join("nfs-only.txt"), only).map_err(|e| e.to_string())?;
        out.push(Export {
            pseudo: "/export/casper-session".into(),
            path: dir,
            rw: false,
        });
    }
    Ok(out)
}

fn nic(model: &'static str, live: bool) -> NicSpec {
    NicSpec { model, live }
}

/// Appended to the table by `scenarios::all`. BOOTIF below names the
/// second NIC of the scenario at `first + 1` (MACs follow table order).
pub fn all(first: usize) -> Vec<Scenario> {
    let s = SERVER;
    let second = Scenario::mac(first + 1, 1).replace(':', "-");
    vec![
        Scenario {
            name: "debian-live-one-nic",
            what: "a Debian live image made from Debian's packages (live-boot, live-config, \
                   NetworkManager): live-config makes user `user` with console autologin and the \
                   hostname `debian`, the medium at /run/live/medium, the NFS root reads after 60 s",
            nics: vec![nic("virtio-net-pci", true)],
            pxe: false,
            cmdline: format!("boot=live netboot=nfs nfsroot={s}:/export/debian-live ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: pass(&[("live_user", "user"), ("live_hostname", "debian")]),
            timeout_secs: 600,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "debian-live-bootif",
            what: "the same Debian live image on two NICs, only the second reaching the server, \
                   BOOTIF= naming it; live-config.hostname= and live-config.username= honoured",
            nics: vec![nic("e1000", false), nic("virtio-net-pci", true)],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/debian-live ip=dhcp \
                 BOOTIF=01-{second} live-config.hostname=netinit-live live-config.username=kim"
            ),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("live_user", "kim"),
                ("live_hostname", "netinit-live"),
                ("dev", "eth1"),
            ]),
            timeout_secs: 600,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "casper-session-lightdm",
            what: "casper's live session with netinit as /init: a root with /etc/casper.conf and \
                   lightdm; username= and hostname= override it, the full name comes from it; \
                   groups, passwordless sudo, lightdm autologin, /cdrom",
            nics: vec![nic("virtio-net-pci", true)],
            pxe: false,
            cmdline: format!(
                "boot=casper netboot=nfs nfsroot={s}:/export/casper-session ip=dhcp \
                 layerfs-path=filesystem.netinit-check.squashfs username=kim hostname=kimbox"
            ),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("live_user", "kim"),
                ("live_fullname", "Lab_live_session_user"),
                ("live_hostname", "kimbox"),
            ]),
            timeout_secs: 480,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "debian-live-hook-bootif",
            what: "the Debian live image through Debian's own live-boot initrd (mkinitramfs) with \
                   netinit's network-only hook, two NICs, only the second reaching the server, \
                   BOOTIF= naming it: live-boot mounts the medium and sets the DHCP host name, \
                   live-config's session comes up",
            nics: vec![nic("e1000", false), nic("virtio-net-pci", true)],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/debian-live ip=dhcp BOOTIF=01-{}",
                Scenario::mac(first + 3, 1).replace(':', "-")
            ),
            diskless: None,
            root_path: None,
            expect: Expect::DistroNet {
                lab: vec![
                    ("live_user", "user".into()),
                    // live-boot writes the DHCP host name from
                    // /run/net-IFACE.conf into the root's /etc/hostname (as
                    // after its own ipconfig), and live-config keeps it.
                    ("live_hostname", "lab-debian-live-hook-bootif".into()),
                    // udev's name in the initrd for the virtio NIC in slot 3.
                    ("dev", "ens3".into()),
                ],
            },
            timeout_secs: 600,
            initrd: Initrd::Distro(Distro::LiveBootHook),
        },
    ]
}

#[cfg(test)]
mod tests {
    use crate::scenarios::{Scenario, all};

    /// BOOTIF= must name the scenario's own second NIC, whatever comes
    /// before it in the table.
    #[test]
    fn bootif_names_the_second_nic() {
        let all = all();
        for name in ["debian-live-bootif", "debian-live-hook-bootif"] {
            let (i, s) = all
                .iter()
                .enumerate()
                .find(|(_, s)| s.name == name)
                .unwrap();
            let mac = Scenario::mac(i, 1).replace(':', "-");
            assert!(
                s.cmdline.contains(&format!("BOOTIF=01-{mac}")),
                "{}",
                s.cmdline
            );
            assert!(s.nics[1].live && !s.nics[0].live);
        }
    }

    #[test]
    fn each_root_is_built_only_for_its_scenarios() {
        let all: Vec<(usize, Scenario)> = all().into_iter().enumerate().collect();
        let pick = |name: &str| -> Vec<(usize, Scenario)> {
            all.iter()
                .filter(|(_, s)| s.name == name)
                .cloned()
                .collect()
        };
        assert!(super::uses(
            &pick("debian-live-one-nic"),
            "/export/debian-live"
        ));
        assert!(!super::uses(
            &pick("debian-live-one-nic"),
            "/export/casper-session"
        ));
        assert!(super::uses(
            &pick("casper-session-lightdm"),
            "/export/casper-session"
        ));
        assert!(!super::uses(
            &pick("live-boot-virtio"),
            "/export/debian-live"
        ));
    }
}
