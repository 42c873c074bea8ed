//! The Debian package, installed and booted: a debootstrapped Debian with
//! its own kernel and initramfs-tools (cached), and per run an overlay on
//! it where `apt install ./netinit_*.deb` and `update-initramfs -u` run,
//! as a user would. The initrd and kernel that come out boot a network
//! root (`boot=netinit`) and a local virtio-blk ext4 root, where the hook
//! must stay out of the way. `man netinit` is checked in the same chroot.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::debian::{self, Recipe};
use crate::util::{private_mount_ns_sh, run, workspace};

/// Debian with a kernel, initramfs-tools and man-db: what a user has.
pub fn recipe() -> Recipe {
    Recipe {
        name: "debpkg",
        include: [
            "linux-image-amd64",
            "initramfs-tools",
            "busybox",
            "zstd",
            "man-db",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![],
        setup: "echo debpkg > /etc/hostname; ls /boot/vmlinuz-* /boot/initrd.img-*".into(),
    }
}

/// What the package run produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The chroot's kernel (bzImage) and the initrd update-initramfs made.
    pub vmlinuz: PathBuf,
    pub initrd: PathBuf,
    /// An ext4 image whose /sbin/init reports how it was booted.
    pub disk: PathBuf,
}

/// The local root's /sbin/init: proves initramfs-tools mounted /dev/vda
/// itself and netinit did nothing (no address, no hand-off files).
const LOCAL_INIT: &str = r#"#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
root=$(awk '$2=="/"{print $1 ":" $3}' /proc/mounts)
addrs=$(ip -4 -o addr show | grep -vc ' lo ')
conf=$(ls /run/net-*.conf 2>/dev/null | wc -l)
if [ -e /run/netinit ]; then runnetinit=1; else runnetinit=0; fi
echo "NETINIT-LOCAL root=$root addrs=$addrs netconf=$conf run_netinit=$runnetinit"
sync
poweroff -f
"#;

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// Builds the .deb, installs it in an overlay over the cached root, runs
/// update-initramfs, checks `man netinit`, and makes the local disk.
pub fn build(work: &Path) -> Result<Built, String> {
    let root = debian::root(&recipe())?;
    eprintln!("netinit-lab: building the Debian package (scripts/build-deb.sh)");
    let ws = workspace();
    let debdir = work.join("deb");
    let out = run(Command::new(ws.join("scripts/build-deb.sh"))
        .arg(&debdir)
        .current_dir(&ws))?;
    let deb = PathBuf::from(out.lines().last().unwrap_or_default().trim());
    let deb = if deb.is_absolute() { deb } else { ws.join(deb) };
    let name = deb
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("build-deb.sh printed no .deb path: {out}"))?
        .to_owned();

    let d = work.join("debpkg");
    for sub in ["upper", "ovwork", "merged", "out"] {
        std::fs::create_dir_all(d.join(sub)).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    // In the chroot: the user's commands, then the checks on what they did.
    let inside = format!(
        "set -e
cd /tmp
apt install -y ./{name}
update-initramfs -u
kver=$(ls /lib/modules | sort -V | tail -n 1)
lsinitramfs /boot/initrd.img-$kver > /tmp/initrd.list
grep -qE '^(usr/)?sbin/netinit$' /tmp/initrd.list || {{ echo 'netinit is not in the initrd' >&2; exit 1; }}
grep -qx 'scripts/netinit' /tmp/initrd.list || {{ echo 'the boot script is not in the initrd' >&2; exit 1; }}
MANWIDTH=80 man netinit > /tmp/man.txt
grep -q 'network-boot init: DHCP, NFS root' /tmp/man.txt || {{ echo 'man netinit: unexpected page' >&2; cat /tmp/man.txt >&2; exit 1; }}
MANWIDTH=80 man 7 netinit.cmdline | grep -q 'nfsroot=' || {{ echo 'man 7 netinit.cmdline: no nfsroot=' >&2; exit 1; }}
echo \"man netinit: $(head -n 1 /tmp/man.txt | tr -s ' ')\"
echo \"kernel $kver\"
"
    );
    let script = format!(
        "set -e
m={merged}
mount -t overlay netinit-debpkg -o lowerdir={root},upperdir={upper},workdir={ovwork} \"$m\"
cp {deb} \"$m/tmp/\"
mount -t proc proc \"$m/proc\"; mount -t sysfs sysfs \"$m/sys\"; mount --rbind /dev \"$m/dev\"
chroot \"$m\" /bin/sh -c \"$0\"
kver=$(ls \"$m/lib/modules\" | sort -V | tail -n 1)
cp \"$m/boot/vmlinuz-$kver\" {out}/vmlinuz
cp \"$m/boot/initrd.img-$kver\" {out}/initrd.img
",
        merged = sh_quote(&d.join("merged")),
        root = sh_quote(&root),
        upper = sh_quote(&d.join("upper")),
        ovwork = sh_quote(&d.join("ovwork")),
        deb = sh_quote(&deb),
        out = sh_quote(&d.join("out")),
    );
    eprintln!("netinit-lab: apt install ./{name} and update-initramfs -u in a Debian chroot");
    let log = run(private_mount_ns_sh(&script)
        .arg(&inside)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ))
    .map_err(|e| format!("the package in the Debian chroot: {e}"))?;
    for l in log
        .lines()
        .filter(|l| l.starts_with("man netinit:") || l.starts_with("kernel "))
    {
        eprintln!("netinit-lab: {l}");
    }
    let disk = local_disk(&d)?;
    Ok(Built {
        vmlinuz: d.join("out/vmlinuz"),
        initrd: d.join("out/initrd.img"),
        disk,
    })
}

/// A small ext4 image (mkfs.ext4 -d) with busybox and LOCAL_INIT.
pub(crate) fn local_disk(d: &Path) -> Result<PathBuf, String> {
    let tree = d.join("local-root");
    let _ = std::fs::remove_dir_all(&tree);
    for sub in ["bin", "sbin", "proc", "sys", "dev", "run", "tmp"] {
        std::fs::create_dir_all(tree.join(sub)).map_err(|e| e.to_string())?;
    }
    std::fs::copy("/bin/busybox", tree.join("bin/busybox"))
        .map_err(|e| format!("/bin/busybox: {e} (apt-get install busybox-static)"))?;
    for applet in [
        "sh", "mount", "awk", "ip", "grep", "ls", "wc", "echo", "sync", "poweroff",
    ] {
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(applet))
            .map_err(|e| format!("symlink {applet}: {e}"))?;
    }
    std::fs::write(tree.join("sbin/init"), LOCAL_INIT).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        tree.join("sbin/init"),
        std::fs::Permissions::from_mode(0o755),
    )
    .map_err(|e| e.to_string())?;
    let img = d.join("local.ext4");
    let _ = std::fs::remove_file(&img);
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "netinit-local", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg("32M"))
    .map_err(|e| format!("mkfs.ext4 -d: {e}"))?;
    Ok(img)
}
