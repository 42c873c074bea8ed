//! Distribution initrds with netinit's hooks in them, built by the
//! distributions' own generators in Debian chroots and booted: Debian's
//! stock live-boot initrd (mkinitramfs) without and with the network-only
//! hook, and local disk roots through each generator's initrd, where the
//! hooks must stay out. Appended to the table by `scenarios::all()`.

use std::path::{Path, PathBuf};

use crate::debian::{self, Recipe};
use crate::kernel::Kernel;
use crate::lab::SERVER;
use crate::scenario::Distro;
use crate::scenario::one_virtio;
use crate::scenario::{Expect, Initrd, NicSpec, Scenario};
use crate::util::{private_mount_ns_sh, run, workspace};

/// Debian's dracut-core .deb: the lab's package cache (the benchmark's
/// peers put it there), else `apt-get download`. Only dracut-core: the
/// `dracut` package conflicts with initramfs-tools, which the chroot has.
fn dracut_deb() -> Result<PathBuf, String> {
    let dir = crate::util::cache_dir().join("debs");
    let find = || -> Option<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("dracut-core_") && n.ends_with(".deb"))
            })
            .collect();
        v.sort();
        v.pop()
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(std::process::Command::new("apt-get")
        .args(["download", "-q", "dracut-core"])
        .current_dir(&dir))
    .map_err(|e| format!("apt-get download dracut-core: {e}"))?;
    find().ok_or_else(|| "apt-get download left no dracut-core .deb".into())
}

/// Debian's dracut (dracut-core installed with dpkg in an overlay over
/// the cached bookworm root, which has its udev, kmod and cpio), with
/// netinit's module copied to /usr/lib/dracut/modules.d as docs/hooks.md
/// says; a shell-init initrd of dracut's base, its block root support and
/// netinit.
fn dracut_initrd(k: &Kernel, work: &Path, out: &Path) -> Result<(), String> {
    let root = debian::root(&liveboot_recipe())?;
    let deb = dracut_deb()?;
    let prelude = chroot_prelude("netinit-dracut", &root, &work.join("dracut-hook"), k)?;
    let module = workspace().join("initramfs-hooks/dracut/95netinit");
    let agent = workspace().join("target/x86_64-unknown-linux-musl/release/netinit");
    let script = format!(
        "{prelude}cp {deb} \"$m/tmp/dracut-core.deb\"
chroot \"$m\" dpkg -i --force-depends /tmp/dracut-core.deb >/dev/null
cp -r {module} \"$m/usr/lib/dracut/modules.d/\"
install -m755 {a} \"$m/usr/sbin/netinit\"
chroot \"$m\" dracut --no-hostonly --force --compress zstd --modules 'base rootfs-block kernel-modules netinit' \\
  --add-drivers 'virtio_blk virtio_pci ext4' --kver {kver} /tmp/initrd.img
cp \"$m/tmp/initrd.img\" {out}
",
        kver = k.kver,
        module = sh_quote(&module),
        deb = sh_quote(&deb),
        a = sh_quote(&agent),
        out = sh_quote(out),
    );
    eprintln!("netinit-lab: Debian's dracut with netinit's module (--add netinit)");
    run_chroot_script(&script).map_err(|e| format!("dracut in its chroot: {e}"))?;
    Ok(())
}

/// bookworm with live-boot and initramfs-tools, set up as live-boot
/// documents for netboot (MODULES=netboot); no kernel: the lab's kernel's
/// modules are bound in when an initrd is built.
pub fn liveboot_recipe() -> Recipe {
    Recipe {
        name: "liveboot",
        include: [
            "live-boot",
            "live-boot-initramfs-tools",
            "initramfs-tools",
            "busybox",
            "klibc-utils",
            "zstd",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![],
        // virtio_blk and ext4 for the local-disk boot (netboot has no block drivers).
        setup: "sed -i 's/^MODULES=.*/MODULES=netboot/' /etc/initramfs-tools/initramfs.conf; grep -q '^MODULES=netboot' /etc/initramfs-tools/initramfs.conf; printf 'virtio_blk\\next4\\n' >> /etc/initramfs-tools/modules".into(),
    }
}

/// The start of a script that builds an initrd in a chroot: `$m` is an
/// overlay named `name` over the cached Debian `root` (the writes go to
/// `dir`), with the lab kernel's modules and config inside and /proc,
/// /sys and /dev mounted.
fn chroot_prelude(name: &str, root: &Path, dir: &Path, k: &Kernel) -> Result<String, String> {
    for sub in ["upper", "ovwork", "merged"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(format!(
        "set -e
m={merged}
mount -t overlay {name} -o lowerdir={root},upperdir={upper},workdir={ovwork} \"$m\"
mkdir -p \"$m/lib/modules/{kver}\" \"$m/boot\"
mount --bind {modules} \"$m/lib/modules/{kver}\"
cp {config} \"$m/boot/\"
mount -t proc proc \"$m/proc\"; mount -t sysfs sysfs \"$m/sys\"; mount --rbind /dev \"$m/dev\"
",
        merged = sh_quote(&dir.join("merged")),
        root = sh_quote(root),
        upper = sh_quote(&dir.join("upper")),
        ovwork = sh_quote(&dir.join("ovwork")),
        kver = k.kver,
        modules = sh_quote(&k.tree.join("lib/modules").join(&k.kver)),
        config = sh_quote(&k.tree.join(format!("boot/config-{}", k.kver))),
    ))
}

/// Runs a chroot script from [`chroot_prelude`] in a private mount
/// namespace (its mounts vanish with it), niced, with a full PATH.
fn run_chroot_script(script: &str) -> Result<String, String> {
    run(private_mount_ns_sh("nice -n 10 sh -c \"$0\"")
        .arg(script)
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ))
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// mkinitramfs in an overlay over the cached live-boot root, with the
/// lab's kernel modules at /lib/modules/KVER; `hook`: netinit's
/// initramfs-tools files installed as the README says first.
fn mkinitramfs_liveboot(k: &Kernel, hook: bool, work: &Path, out: &Path) -> Result<(), String> {
    let root = debian::root(&liveboot_recipe())?;
    let d = work.join(if hook {
        "liveboot-hook"
    } else {
        "liveboot-stock"
    });
    let prelude = chroot_prelude("netinit-liveboot", &root, &d, k)?;
    let hooks = workspace().join("initramfs-hooks/initramfs-tools");
    let agent = workspace().join("target/x86_64-unknown-linux-musl/release/netinit");
    let install = if hook {
        format!(
            "install -m755 {h}/hooks/netinit \"$m/etc/initramfs-tools/hooks/netinit\"
install -m644 {h}/scripts/netinit \"$m/etc/initramfs-tools/scripts/netinit\"
mkdir -p \"$m/etc/initramfs-tools/scripts/init-premount\"
install -m755 {h}/scripts/init-premount/netinit \"$m/etc/initramfs-tools/scripts/init-premount/netinit\"
install -m755 {a} \"$m/usr/sbin/netinit\"
",
            h = sh_quote(&hooks),
            a = sh_quote(&agent)
        )
    } else {
        String::new()
    };
    let script = format!(
        "{prelude}{install}chroot \"$m\" mkinitramfs -o /tmp/initrd.img {kver}
cp \"$m/tmp/initrd.img\" {out}
",
        kver = k.kver,
        out = sh_quote(out),
    );
    eprintln!(
        "netinit-lab: Debian live-boot initrd with mkinitramfs ({})",
        if hook { "with netinit's hook" } else { "stock" }
    );
    run_chroot_script(&script).map_err(|e| format!("mkinitramfs in the live-boot chroot: {e}"))?;
    Ok(())
}

/// Arch's mkinitcpio source, a test input kept outside the repository
/// (`$NETINIT_MKINITCPIO_TARBALL`, else `shared/third-party/` beside the
/// checkout or its parent): absent on a fresh clone.
pub fn mkinitcpio_tarball() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETINIT_MKINITCPIO_TARBALL") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let ws = workspace();
    ["..", "../.."]
        .iter()
        .map(|up| ws.join(up).join("shared/third-party/mkinitcpio-41.tar.gz"))
        .find(|p| p.is_file())
}

/// Why a scenario cannot run here (printed as a SKIP line), if so.
pub fn skip_reason(s: &Scenario) -> Option<String> {
    match s.initrd {
        Initrd::Distro(Distro::Mkinitcpio | Distro::MkinitcpioLocal)
            if mkinitcpio_tarball().is_none() =>
        {
            Some("no mkinitcpio-41.tar.gz in ../shared/third-party (or $NETINIT_MKINITCPIO_TARBALL): Arch's mkinitcpio is not packaged in Debian".into())
        }
        _ => None,
    }
}

/// The chroot mkinitcpio runs in: what Arch's mkinitcpio package depends
/// on, from Debian (bash is essential; bsdtar writes the archive;
/// busybox-static stands in for mkinitcpio-busybox; udev and kmod for the
/// udev and modconf hooks; zstd compresses).
pub fn mkinitcpio_recipe() -> Recipe {
    Recipe {
        name: "mkinitcpio-host",
        include: ["kmod", "udev", "zstd", "libarchive-tools", "busybox-static"]
            .map(String::from)
            .to_vec(),
        files: vec![],
        setup: "command -v bsdtar && test -x /bin/busybox".into(),
    }
}

/// The placeholders meson fills in when mkinitcpio is installed.
/// Debian keeps blkid and switch_root in /usr/sbin, which Arch merged
/// into /usr/bin: mkinitcpio's PATH gets both.
const MKINITCPIO_SED: &str = "s|@INITCPIO_LIBDIR@|/usr/lib/initcpio|g; s|@INITCPIO_SYSCONFDIR@|/etc/initcpio|g; s|@SYSCONFDIR@|/etc|g; s|@BINDIR@|/usr/bin:/usr/sbin|g; s|@VERSION@|41|g; s|@UDEVD_PATH@|/usr/lib/systemd/systemd-udevd|g; s|@TMPFILES_PATH@||g";

/// mkinitcpio 41, unpacked from the tarball and installed as meson would
/// into an overlay over the cached chroot, with netinit's hooks in
/// /etc/initcpio as docs/hooks.md says; HOOKS=(base udev modconf netinit).
fn mkinitcpio_initrd(k: &Kernel, tarball: &Path, work: &Path, out: &Path) -> Result<(), String> {
    let root = debian::root(&mkinitcpio_recipe())?;
    let d = work.join("mkinitcpio");
    for sub in ["upper", "ovwork", "merged"] {
        std::fs::create_dir_all(d.join(sub)).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let hooks = workspace().join("initramfs-hooks/mkinitcpio");
    let agent = workspace().join("target/x86_64-unknown-linux-musl/release/netinit");
    let inside = format!(
        "set -e
cd /tmp/mk
sed -i -e '{MKINITCPIO_SED}' mkinitcpio functions init init_functions shutdown install/* hooks/*
mkdir -p /usr/lib/initcpio /etc/initcpio/hooks /etc/initcpio/install /etc/mkinitcpio.conf.d
cp functions init init_functions shutdown /usr/lib/initcpio/
cp -r install hooks udev /usr/lib/initcpio/
install -m755 mkinitcpio /usr/bin/mkinitcpio
# Arch's paths for what the udev hook copies; Debian has them elsewhere.
[ -e /usr/lib/libkmod.so.2 ] || ln -s x86_64-linux-gnu/libkmod.so.2 /usr/lib/libkmod.so.2
[ -e /etc/udev/hwdb.bin ] || cp /usr/lib/udev/hwdb.bin /etc/udev/hwdb.bin
printf '%s\\n' 'MODULES=(virtio_blk virtio_pci ext4)' 'HOOKS=(base udev modconf netinit)' 'COMPRESSION=zstd' > /etc/mkinitcpio-netinit.conf
mkinitcpio -c /etc/mkinitcpio-netinit.conf -r / -k {kver} -g /tmp/initrd.img
"
    , kver = k.kver);
    let script = format!(
        "set -e
m={merged}
mount -t overlay netinit-mkinitcpio -o lowerdir={root},upperdir={upper},workdir={ovwork} \"$m\"
mkdir -p \"$m/lib/modules/{kver}\" \"$m/tmp/mk\"
mount --bind {modules} \"$m/lib/modules/{kver}\"
mount -t proc proc \"$m/proc\"; mount -t sysfs sysfs \"$m/sys\"; mount --rbind /dev \"$m/dev\"
tar -xzf {tarball} -C \"$m/tmp/mk\" --strip-components=1
install -D -m644 {hooks}/install/netinit \"$m/etc/initcpio/install/netinit\"
install -D -m644 {hooks}/hooks/netinit \"$m/etc/initcpio/hooks/netinit\"
install -m755 {a} \"$m/usr/bin/netinit\"
install -D -m755 \"$m/bin/busybox\" \"$m/usr/lib/initcpio/busybox\"
chroot \"$m\" /bin/bash -c \"$1\"
cp \"$m/tmp/initrd.img\" {out}
",
        merged = sh_quote(&d.join("merged")),
        root = sh_quote(&root),
        upper = sh_quote(&d.join("upper")),
        ovwork = sh_quote(&d.join("ovwork")),
        kver = k.kver,
        modules = sh_quote(&k.tree.join("lib/modules").join(&k.kver)),
        tarball = sh_quote(tarball),
        hooks = sh_quote(&hooks),
        a = sh_quote(&agent),
        out = sh_quote(out),
    );
    eprintln!(
        "netinit-lab: Arch's mkinitcpio 41 with netinit's hook (HOOKS=(base udev modconf netinit))"
    );
    run(private_mount_ns_sh("nice -n 10 sh -c \"$0\" \"$0\" \"$1\"")
        .arg(&script)
        .arg(&inside)
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ))
    .map_err(|e| format!("mkinitcpio in its chroot: {e}"))?;
    Ok(())
}

/// What `prepare` built: each initrd these scenarios boot.
#[derive(Debug, Default)]
pub struct Built {
    initrds: Vec<(Distro, PathBuf)>,
    /// Each local scenario's own copy of the disk (QEMU locks an image
    /// for writing; two VMs at once cannot share one).
    disks: Vec<(&'static str, PathBuf)>,
}

/// Builds the initrds (and the local disk) the chosen scenarios need.
pub fn prepare(k: &Kernel, chosen: &[(usize, Scenario)], work: &Path) -> Result<Built, String> {
    let wanted: Vec<Distro> = Distro::ALL
        .into_iter()
        .filter(|d| {
            chosen
                .iter()
                .any(|(_, s)| s.initrd == Initrd::Distro(*d) && skip_reason(s).is_none())
        })
        .collect();
    let mut built = Built::default();
    for d in &wanted {
        let out = work.join(d.file());
        if !out.exists() {
            match d {
                Distro::LiveBootStock => mkinitramfs_liveboot(k, false, work, &out)?,
                Distro::LiveBootHook | Distro::LiveBootHookLocal => {
                    mkinitramfs_liveboot(k, true, work, &out)?
                }
                Distro::Dracut | Distro::DracutLocal => dracut_initrd(k, work, &out)?,
                Distro::Mkinitcpio | Distro::MkinitcpioLocal => {
                    let tarball = mkinitcpio_tarball().ok_or("no mkinitcpio tarball")?;
                    mkinitcpio_initrd(k, &tarball, work, &out)?
                }
                Distro::LiveBootAppend => {
                    let stock = work.join(Distro::LiveBootStock.file());
                    if !stock.exists() {
                        mkinitramfs_liveboot(k, false, work, &stock)?;
                    }
                    let o = run(std::process::Command::new(
                        workspace().join("target/release/netinit-mkinitrd"),
                    )
                    .arg("--append-to")
                    .arg(&stock)
                    .arg("--network-only")
                    .arg("--agent")
                    .arg(workspace().join("target/x86_64-unknown-linux-musl/release/netinit"))
                    .arg("-o")
                    .arg(&out));
                    o.map_err(|e| format!("netinit-mkinitrd --append-to --network-only: {e}"))?;
                }
            }
        }
        built.initrds.push((*d, out));
    }
    if wanted.iter().any(|d| d.local()) {
        let dir = work.join("hook-local");
        let disk = crate::debpkg::local_disk(&dir)?;
        for (_, s) in chosen {
            if matches!(s.initrd, Initrd::Distro(d) if d.local()) {
                let own = dir.join(format!("{}.ext4", s.name));
                std::fs::copy(&disk, &own).map_err(|e| format!("{}: {e}", own.display()))?;
                built.disks.push((s.name, own));
            }
        }
    }
    Ok(built)
}

/// How to start a scenario of this module; `None` for others.
pub fn start(
    built: &Built,
    k: &Kernel,
    s: &Scenario,
    cmdline: String,
) -> Option<crate::qemu::Start> {
    let Initrd::Distro(d) = s.initrd else {
        return None;
    };
    let initrd = built.initrds.iter().find(|(x, _)| *x == d)?.1.clone();
    Some(crate::qemu::Start::Installed {
        kernel: k.vmlinux.clone(),
        initrd,
        cmdline,
        disk: built
            .disks
            .iter()
            .find(|(n, _)| *n == s.name)
            .map(|(_, p)| p.clone()),
    })
}

fn two_nics() -> Vec<NicSpec> {
    vec![
        NicSpec {
            model: "virtio-net-pci",
            live: false,
        },
        NicSpec {
            model: "virtio-net-pci",
            live: true,
        },
    ]
}

/// Debian's live-boot with netinit configuring the second NIC (BOOTIF):
/// live-boot finds the medium and builds the overlay.
fn live_boot_bootif(
    name: &'static str,
    what: &'static str,
    cmdline: String,
    distro: Distro,
) -> Scenario {
    Scenario {
        name,
        what,
        nics: two_nics(),
        pxe: false,
        cmdline,
        diskless: None,
        root_path: None,
        expect: Expect::DistroNet {
            lab: vec![
                ("root", "overlay".into()),
                ("proto", "dhcp".into()),
                // udev's name for the second virtio NIC (slot 3).
                ("dev", "ens3".into()),
                ("medium", "/run/live/medium".into()),
                ("distro", "1".into()),
            ],
        },
        timeout_secs: 180,
        initrd: Initrd::Distro(distro),
    }
}

/// `first` is the index the first of these gets in the whole table (the
/// MACs, and so `BOOTIF=`, depend on it).
pub fn all(first: usize) -> Vec<Scenario> {
    let s = SERVER;
    let bootif = |i: usize| {
        format!(
            "BOOTIF=01-{}",
            Scenario::mac(first + i, 1).replace(':', "-")
        )
    };
    let live = format!("boot=live netboot=nfs nfsroot={s}:/export/live");
    let one = || one_virtio();
    vec![
        Scenario {
            name: "live-boot-stock-two-nics",
            what: "reference: Debian's stock live-boot initrd (mkinitramfs), two NICs, the first dead, no BOOTIF: live-boot's ipconfig times out on the first for 15 s before it tries the second (cut off after that)",
            nics: two_nics(),
            pxe: false,
            cmdline: format!("{live} ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: Expect::Reference(&[
                "IP-Config: ens2 hardware address",
                "IP-Config: no response after 15 secs - giving up",
                "IP-Config: ens3 hardware address",
            ]),
            timeout_secs: 130,
            initrd: Initrd::Distro(Distro::LiveBootStock),
        },
        live_boot_bootif(
            "live-boot-netinit-bootif",
            "the same live-boot initrd with netinit's network-only hook: netinit configures the BOOTIF NIC in init-premount, live-boot mounts the medium and the overlay and switches root",
            format!("{live} ip=dhcp {}", bootif(1)),
            Distro::LiveBootHook,
        ),
        live_boot_bootif(
            "live-boot-appended-bootif",
            "the stock live-boot initrd with netinit-mkinitrd --append-to --network-only (no mkinitramfs): booted as live-boot-netinit-bootif",
            format!("{live} ip=dhcp {}", bootif(2)),
            Distro::LiveBootAppend,
        ),
        Scenario {
            name: "live-boot-netinit-local",
            what: "the hook's live-boot initrd boots a local virtio-blk ext4 root (root=/dev/vda): netinit stays out",
            nics: one_virtio(),
            pxe: false,
            cmdline: "root=/dev/vda ro".into(),
            diskless: None,
            root_path: None,
            expect: Expect::Local("root=/dev/vda:ext4 addrs=0 netconf=0 run_netinit=0"),
            timeout_secs: 150,
            initrd: Initrd::Distro(Distro::LiveBootHookLocal),
        },
        Scenario {
            name: "mkinitcpio-netinit-diskless",
            what: "Arch's mkinitcpio 41 (in a bookworm chroot, busybox-static for mkinitcpio-busybox, libarchive-tools' bsdtar) with HOOKS=(base udev modconf netinit): the Arch-wiki diskless cmdline; no wait for /dev/nfs",
            nics: one(),
            pxe: false,
            cmdline: format!("root=/dev/nfs nfsroot={s}:/export/arch,v3,rsize=16384 ip=::::::dhcp"),
            diskless: Some("arch".into()),
            root_path: None,
            expect: Expect::Without {
                inner: Box::new(crate::scenario::pass(&[
                    ("root", "nfs"),
                    ("proto", "dhcp"),
                    ("vers", "3"),
                    ("opts", "rsize=16384"),
                ])),
                // mkinitcpio's poll_device line for a block device.
                forbid: "for device /dev/nfs",
            },
            timeout_secs: 200,
            initrd: Initrd::Distro(Distro::Mkinitcpio),
        },
        Scenario {
            name: "mkinitcpio-netinit-live",
            what: "the same mkinitcpio initrd, archiso layout over NFS: netinit mounts the image and overlay on /new_root",
            nics: one(),
            pxe: false,
            cmdline: format!("archisobasedir=arch archiso_nfs_srv={s}:/export/archiso ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: crate::scenario::pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("medium", "/run/archiso/bootmnt"),
            ]),
            timeout_secs: 200,
            initrd: Initrd::Distro(Distro::Mkinitcpio),
        },
        Scenario {
            name: "mkinitcpio-netinit-local",
            what: "the same mkinitcpio initrd boots a local virtio-blk ext4 root (root=/dev/vda): mkinitcpio's own mount handler, netinit stays out",
            nics: one(),
            pxe: false,
            // Debian's busybox-static runs its own modprobe from ash (Arch's
            // mkinitcpio-busybox has none), which needs the text modules.dep
            // mkinitcpio leaves out, so MODULES= is not loaded; with a named
            // type the kernel asks kmod's modprobe for ext4 itself.
            cmdline: "root=/dev/vda rootfstype=ext4 ro".into(),
            diskless: None,
            root_path: None,
            expect: Expect::Local("root=/dev/vda:ext4 addrs=0 netconf=0 run_netinit=0"),
            timeout_secs: 200,
            initrd: Initrd::Distro(Distro::MkinitcpioLocal),
        },
        Scenario {
            name: "dracut-netinit-diskless",
            what: "Debian's dracut with netinit's module (base, rootfs-block, netinit): root=/dev/nfs nfsroot= ip=dhcp; dracut neither dies on root= nor waits for /dev/nfs",
            nics: one(),
            pxe: false,
            cmdline: format!(
                "root=/dev/nfs nfsroot={s}:/export/dracut-netinit-diskless,v3 ip=dhcp"
            ),
            diskless: Some("dracut-netinit-diskless".into()),
            root_path: None,
            expect: crate::scenario::pass(&[("root", "nfs"), ("proto", "dhcp"), ("vers", "3")]),
            timeout_secs: 200,
            initrd: Initrd::Distro(Distro::Dracut),
        },
        Scenario {
            name: "dracut-netinit-live",
            what: "the same dracut initrd, live-boot layout (boot=live netboot=nfs, no root=): netinit mounts the image and overlay on dracut's /sysroot",
            nics: one(),
            pxe: false,
            cmdline: format!("{live} ip=dhcp"),
            diskless: None,
            root_path: None,
            expect: crate::scenario::pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("medium", "/run/live/medium"),
            ]),
            timeout_secs: 200,
            initrd: Initrd::Distro(Distro::Dracut),
        },
        Scenario {
            name: "dracut-netinit-local",
            what: "the same dracut initrd boots a local virtio-blk ext4 root (root=/dev/vda): netinit stays out",
            nics: one(),
            pxe: false,
            cmdline: "root=/dev/vda ro".into(),
            diskless: None,
            root_path: None,
            expect: Expect::Local("root=/dev/vda:ext4 addrs=0 netconf=0 run_netinit=0"),
            timeout_secs: 200,
            initrd: Initrd::Distro(Distro::DracutLocal),
        },
    ]
}

#[cfg(test)]
mod tests {
    use crate::scenarios::{all, judge};

    #[test]
    fn judging_the_reference_and_the_network_only_hook() {
        let all = all();
        let stock = all
            .iter()
            .find(|s| s.name == "live-boot-stock-two-nics")
            .unwrap();
        let stall = "IP-Config: ens2 hardware address 52:54\nIP-Config: no response after 15 secs - giving up\nIP-Config: ens3 hardware address 52:54\n";
        assert!(judge(stock, stall, false).is_ok());
        // Out of order, or the second NIC never tried: not the stall.
        let swapped = "IP-Config: ens3 hardware address\nIP-Config: ens2 hardware address\nIP-Config: no response after 15 secs - giving up\n";
        assert!(judge(stock, swapped, false).is_err());
        assert!(judge(stock, "", true).is_err());

        let hook = all
            .iter()
            .find(|s| s.name == "live-boot-netinit-bootif")
            .unwrap();
        let wrote = "[ 3.0] netinit: handoff: wrote /run/net-ens3.conf, /run/netinit/net.json\n";
        let check = "NETINIT-CHECK {\"result\":\"pass\",\"root_fs\":\"overlay\",\"device\":\"ens3\",\"address\":\"10.77.0.100\",\"proto\":\"dhcp\",\"failures\":\"\"}\n";
        let good = format!("{wrote}netinit configured ens3 already; ipconfig not run\n{check}");
        assert!(
            judge(hook, &good, true).is_ok(),
            "{:?}",
            judge(hook, &good, true)
        );
        let again = format!("{wrote}IP-Config: ens3 hardware address 52:54\n{check}");
        assert!(
            judge(hook, &again, true)
                .unwrap_err()
                .starts_with("ipconfig ran after netinit")
        );
        assert!(judge(hook, check, true).is_err());
    }
}
